//! RBAC objects as the authorizer sees them, and rule matching, as upstream's
//! `plugin/pkg/auth/authorizer/rbac/rbac.go` (`RuleAllows`) and `pkg/apis/rbac/v1/evaluation_helpers.go`.
//!
//! * A verb or API group matches when the rule lists it or `*`.
//! * A resource matches `*`, the exact `resource` (or `resource/subresource` for a subresource
//!   request), or `*/subresource`.
//! * `resourceNames` restrict a rule to requests naming one of them; a request without a name
//!   (create, list, watch, deletecollection) never matches a rule with names.
//! * A non-resource URL matches `*`, the exact path, or a prefix ending in `*`.

use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::api::json::string_list;
use crate::request::authorization::Attributes;
use crate::request::user::UserInfo;

/// `*`: every verb, group, resource or URL.
pub const ALL: &str = "*";

/// The username prefix of service accounts.
pub const SERVICE_ACCOUNT_PREFIX: &str = "system:serviceaccount:";

/// Deserializes `null` as an empty list.
fn null_as_empty<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

/// One `rbac.authorization.k8s.io/v1` PolicyRule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyRule {
    #[serde(default, deserialize_with = "null_as_empty")]
    pub verbs: Vec<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub api_groups: Vec<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub resources: Vec<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub resource_names: Vec<String>,
    #[serde(
        default,
        rename = "nonResourceURLs",
        deserialize_with = "null_as_empty"
    )]
    pub non_resource_urls: Vec<String>,
}

/// One subject of a binding.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subject {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub api_group: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub namespace: String,
}

/// The role a binding grants.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleRef {
    #[serde(default)]
    pub api_group: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
}

/// A RoleBinding or ClusterRoleBinding: its name, namespace (`""` for cluster bindings), subjects
/// and role.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Binding {
    pub name: String,
    pub namespace: String,
    pub subjects: Vec<Subject>,
    pub role_ref: RoleRef,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BindingFields {
    #[serde(default, deserialize_with = "null_as_empty")]
    subjects: Vec<Subject>,
    #[serde(default)]
    role_ref: RoleRef,
}

#[derive(Deserialize)]
struct RoleFields {
    #[serde(default, deserialize_with = "null_as_empty")]
    rules: Vec<PolicyRule>,
}

fn metadata_str<'a>(object: &'a Value, field: &str) -> &'a str {
    object
        .get("metadata")
        .and_then(|m| m.get(field))
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// The name and namespace of an object.
pub fn object_key(object: &Value) -> (String, String) {
    (
        metadata_str(object, "namespace").to_string(),
        metadata_str(object, "name").to_string(),
    )
}

/// The rules of a Role or ClusterRole object.
pub fn parse_rules(object: &Value) -> Result<Vec<PolicyRule>, serde_json::Error> {
    RoleFields::deserialize(object).map(|r| r.rules)
}

/// A RoleBinding or ClusterRoleBinding object.
pub fn parse_binding(object: &Value) -> Result<Binding, serde_json::Error> {
    let fields = BindingFields::deserialize(object)?;
    let (namespace, name) = object_key(object);
    Ok(Binding {
        name,
        namespace,
        subjects: fields.subjects,
        role_ref: fields.role_ref,
    })
}

/// The index of the first subject of `subjects` that is `user`, as upstream's `appliesTo`.
/// `namespace` is the binding's namespace: a ServiceAccount subject without a namespace means one
/// in it.
pub fn applies_to(user: &UserInfo, subjects: &[Subject], namespace: &str) -> Option<usize> {
    subjects
        .iter()
        .position(|subject| applies_to_user(user, subject, namespace))
}

fn applies_to_user(user: &UserInfo, subject: &Subject, namespace: &str) -> bool {
    match subject.kind.as_str() {
        "User" => user.name == subject.name,
        "Group" => user.in_group(&subject.name),
        "ServiceAccount" => {
            let sa_namespace = if subject.namespace.is_empty() {
                namespace
            } else {
                subject.namespace.as_str()
            };
            !sa_namespace.is_empty()
                && is_service_account_username(&user.name, sa_namespace, &subject.name)
        }
        _ => false,
    }
}

/// Whether `username` is `system:serviceaccount:<namespace>:<name>`.
fn is_service_account_username(username: &str, namespace: &str, name: &str) -> bool {
    username
        .strip_prefix(SERVICE_ACCOUNT_PREFIX)
        .and_then(|rest| rest.strip_prefix(namespace))
        .and_then(|rest| rest.strip_prefix(':'))
        == Some(name)
}

fn has(set: &[String], value: &str) -> bool {
    set.iter().any(|s| s == value)
}

/// The verb is listed, or `*` is.
pub fn verb_matches(rule: &PolicyRule, verb: &str) -> bool {
    has(&rule.verbs, ALL) || has(&rule.verbs, verb)
}

/// The API group is listed, or `*` is.
pub fn api_group_matches(rule: &PolicyRule, group: &str) -> bool {
    has(&rule.api_groups, ALL) || has(&rule.api_groups, group)
}

/// `combined` is `resource` or `resource/subresource`.
pub fn resource_matches(rule: &PolicyRule, combined: &str, subresource: &str) -> bool {
    rule.resources.iter().any(|r| {
        r == ALL
            || r == combined
            || (!subresource.is_empty()
                && r.len() == subresource.len() + 2
                && r.starts_with("*/")
                && r.ends_with(subresource))
    })
}

/// No names in the rule, or the request's name among them.
pub fn resource_name_matches(rule: &PolicyRule, name: &str) -> bool {
    rule.resource_names.is_empty() || has(&rule.resource_names, name)
}

/// `*`, the exact path, or a prefix ending in `*`.
pub fn non_resource_url_matches(rule: &PolicyRule, path: &str) -> bool {
    rule.non_resource_urls.iter().any(|url| {
        url == ALL
            || url == path
            || url
                .strip_suffix('*')
                .is_some_and(|prefix| path.starts_with(prefix.trim_end_matches('*')))
    })
}

/// Whether `rule` allows the request `attrs` (upstream's `RuleAllows`).
pub fn rule_allows(attrs: &Attributes, rule: &PolicyRule) -> bool {
    if attrs.is_resource_request {
        let combined = if attrs.subresource.is_empty() {
            attrs.resource.clone()
        } else {
            format!("{}/{}", attrs.resource, attrs.subresource)
        };
        return verb_matches(rule, &attrs.verb)
            && api_group_matches(rule, &attrs.api_group)
            && resource_matches(rule, &combined, &attrs.subresource)
            && resource_name_matches(rule, &attrs.name);
    }
    verb_matches(rule, &attrs.verb) && non_resource_url_matches(rule, &attrs.path)
}

/// The JSON form of rules, as the bootstrap policy and the aggregation controller read and write
/// them. Absent and empty lists are the same (upstream's `equality.Semantic`).
impl PolicyRule {
    /// Reads a rule from its JSON form; fields that are not lists of strings count as empty.
    pub fn from_value(rule: &Value) -> Self {
        Self {
            verbs: strings(rule, "verbs"),
            api_groups: strings(rule, "apiGroups"),
            resources: strings(rule, "resources"),
            resource_names: strings(rule, "resourceNames"),
            non_resource_urls: strings(rule, "nonResourceURLs"),
        }
    }

    /// The rules of a role object (`rules`, absent meaning none).
    pub fn list_of(role: &Value) -> Vec<Self> {
        role.get("rules")
            .and_then(Value::as_array)
            .map(|rules| rules.iter().map(Self::from_value).collect())
            .unwrap_or_default()
    }

    /// The JSON form, without empty lists (`verbs` is always present: it is required).
    pub fn to_value(&self) -> Value {
        let mut map = Map::new();
        let mut put = |key: &str, items: &[String]| {
            if !items.is_empty() {
                map.insert(key.into(), Value::from(items.to_vec()));
            }
        };
        put("apiGroups", &self.api_groups);
        put("resources", &self.resources);
        put("resourceNames", &self.resource_names);
        put("nonResourceURLs", &self.non_resource_urls);
        map.insert("verbs".into(), Value::from(self.verbs.clone()));
        Value::Object(map)
    }
}

/// A list of strings of a rule's JSON; anything else counts as empty.
fn strings(rule: &Value, key: &str) -> Vec<String> {
    string_list(rule.get(key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(value: Value) -> PolicyRule {
        serde_json::from_value(value).expect("rule")
    }

    fn request(verb: &str, group: &str, resource: &str, sub: &str, name: &str) -> Attributes {
        Attributes {
            verb: verb.into(),
            is_resource_request: true,
            api_group: group.into(),
            resource: resource.into(),
            subresource: sub.into(),
            name: name.into(),
            namespace: "default".into(),
            ..Default::default()
        }
    }

    fn path(verb: &str, path: &str) -> Attributes {
        Attributes {
            verb: verb.into(),
            path: path.into(),
            ..Default::default()
        }
    }

    #[test]
    fn resource_rules() {
        let pods =
            rule(json!({"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]}));
        assert!(rule_allows(&request("get", "", "pods", "", "p"), &pods));
        assert!(rule_allows(&request("list", "", "pods", "", ""), &pods));
        assert!(!rule_allows(&request("delete", "", "pods", "", "p"), &pods));
        assert!(!rule_allows(
            &request("get", "apps", "pods", "", "p"),
            &pods
        ));
        // A subresource needs its own entry.
        assert!(!rule_allows(&request("get", "", "pods", "log", "p"), &pods));

        let all = rule(json!({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}));
        assert!(rule_allows(
            &request("escalate", "rbac.authorization.k8s.io", "roles", "", "x"),
            &all
        ));
        assert!(rule_allows(&request("get", "", "pods", "log", "p"), &all));
    }

    #[test]
    fn subresources() {
        let log = rule(json!({"verbs": ["get"], "apiGroups": [""], "resources": ["pods/log"]}));
        assert!(rule_allows(&request("get", "", "pods", "log", "p"), &log));
        assert!(!rule_allows(&request("get", "", "pods", "", "p"), &log));
        assert!(!rule_allows(&request("get", "", "pods", "exec", "p"), &log));

        let any_status =
            rule(json!({"verbs": ["update"], "apiGroups": ["*"], "resources": ["*/status"]}));
        assert!(rule_allows(
            &request("update", "apps", "deployments", "status", "d"),
            &any_status
        ));
        assert!(!rule_allows(
            &request("update", "apps", "deployments", "", "d"),
            &any_status
        ));
        assert!(!rule_allows(
            &request("update", "apps", "deployments", "scale", "d"),
            &any_status
        ));
    }

    #[test]
    fn resource_names() {
        let named = rule(
            json!({"verbs": ["get", "list", "create"], "apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["a"]}),
        );
        assert!(rule_allows(
            &request("get", "", "configmaps", "", "a"),
            &named
        ));
        assert!(!rule_allows(
            &request("get", "", "configmaps", "", "b"),
            &named
        ));
        // Requests without a name never match a rule with names.
        assert!(!rule_allows(
            &request("list", "", "configmaps", "", ""),
            &named
        ));
        assert!(!rule_allows(
            &request("create", "", "configmaps", "", ""),
            &named
        ));
    }

    #[test]
    fn non_resource_urls() {
        let r = rule(json!({"verbs": ["get"], "nonResourceURLs": ["/healthz", "/apis/*"]}));
        assert!(rule_allows(&path("get", "/healthz"), &r));
        assert!(!rule_allows(&path("get", "/healthz/ready"), &r));
        assert!(rule_allows(&path("get", "/apis/apps/v1"), &r));
        assert!(rule_allows(&path("get", "/apis/"), &r));
        assert!(!rule_allows(&path("get", "/apis"), &r));
        assert!(!rule_allows(&path("post", "/healthz"), &r));
        let star = rule(json!({"verbs": ["*"], "nonResourceURLs": ["*"]}));
        assert!(rule_allows(&path("delete", "/anything"), &star));
        // A resource rule never allows a path.
        let pods = rule(json!({"verbs": ["get"], "apiGroups": ["*"], "resources": ["*"]}));
        assert!(!rule_allows(&path("get", "/healthz"), &pods));
    }

    #[test]
    fn subjects() {
        let alice = UserInfo {
            name: "alice".into(),
            groups: vec!["devs".into()],
            ..Default::default()
        };
        let sa = UserInfo {
            name: "system:serviceaccount:ns1:builder".into(),
            ..Default::default()
        };
        let s = |kind: &str, name: &str, ns: &str| Subject {
            kind: kind.into(),
            name: name.into(),
            namespace: ns.into(),
            ..Default::default()
        };
        assert_eq!(
            applies_to(&alice, &[s("User", "bob", ""), s("User", "alice", "")], ""),
            Some(1)
        );
        assert_eq!(applies_to(&alice, &[s("Group", "devs", "")], ""), Some(0));
        assert_eq!(applies_to(&alice, &[s("Group", "ops", "")], ""), None);
        assert_eq!(
            applies_to(&sa, &[s("ServiceAccount", "builder", "ns1")], ""),
            Some(0)
        );
        // The binding's namespace stands in for a missing subject namespace.
        assert_eq!(
            applies_to(&sa, &[s("ServiceAccount", "builder", "")], "ns1"),
            Some(0)
        );
        assert_eq!(
            applies_to(&sa, &[s("ServiceAccount", "builder", "")], ""),
            None
        );
        assert_eq!(
            applies_to(&sa, &[s("ServiceAccount", "builder", "ns2")], ""),
            None
        );
        assert_eq!(
            applies_to(&sa, &[s("ServiceAccount", "build", "ns1")], ""),
            None
        );
        // A user named like a service account is one (upstream compares the username).
        assert_eq!(
            applies_to(
                &sa,
                &[s("User", "system:serviceaccount:ns1:builder", "")],
                ""
            ),
            Some(0)
        );
    }

    #[test]
    fn parsing() {
        let binding = parse_binding(&json!({
            "metadata": {"name": "b", "namespace": "ns"},
            "subjects": [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "alice"}],
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"}
        }))
        .expect("binding");
        assert_eq!(binding.name, "b");
        assert_eq!(binding.namespace, "ns");
        assert_eq!(binding.subjects[0].name, "alice");
        assert_eq!(binding.role_ref.kind, "Role");
        let rules = parse_rules(&json!({"rules": [{"verbs": ["get"], "nonResourceURLs": ["/x"], "resourceNames": null}]}))
            .expect("rules");
        assert_eq!(rules[0].non_resource_urls, vec!["/x".to_string()]);
        assert!(parse_rules(&json!({"metadata": {"name": "empty"}}))
            .expect("no rules")
            .is_empty());
    }
}
