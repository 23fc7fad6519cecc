//! Escalation prevention for writes of RBAC objects, as upstream's
//! `pkg/registry/rbac/{role,clusterrole,rolebinding,clusterrolebinding}/policybased`,
//! `pkg/registry/rbac/escalation_check.go` and `pkg/registry/rbac/validation/policy_comparator.go`.
//!
//! A user may write a Role or ClusterRole only with rules the user already holds in the request's
//! namespace, unless the user is in `system:masters` or is allowed the verb `escalate` on that
//! role. A ClusterRole with an `aggregationRule` (on either side of an update) further needs
//! cluster-admin power. A user may write a binding only to a role whose rules the user holds,
//! unless the user is in `system:masters` or is allowed the verb `bind` on the referenced role.
//! Updates that only change garbage-collection fields (owner references, finalizers) pass.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use super::rules::{parse_binding, parse_rules, PolicyRule, RoleRef, ALL};
use super::{aggregate, ErrorStyle, RbacAuthorizer, RBAC_GROUP};
use crate::api::go_fmt::go_quote;
use crate::api::status::{ApiError, ApiResult};
use crate::catalog::ResourceInfo;
use crate::request::authorization::{Attributes, Authorization, SUPERUSER_GROUP};
use crate::request::user::UserInfo;

/// A write of one RBAC object, as the REST handlers see it.
#[derive(Debug, Clone, Copy)]
pub struct RbacWrite<'a> {
    /// Who writes.
    pub user: &'a UserInfo,
    /// The written resource.
    pub info: &'a ResourceInfo,
    /// The namespace of the request path (`None` for cluster-scoped kinds).
    pub namespace: Option<&'a str>,
    /// The object name of the request path (`None` for a create).
    pub url_name: Option<&'a str>,
    /// The object to be stored.
    pub object: &'a Value,
    /// The stored object an update replaces (`None` for a create, or a PUT that creates).
    pub old: Option<&'a Value>,
}

/// Whether `info` is one of the four RBAC kinds this check guards.
pub fn is_rbac_resource(info: &ResourceInfo) -> bool {
    info.group == RBAC_GROUP
        && matches!(
            info.plural.as_str(),
            "roles" | "clusterroles" | "rolebindings" | "clusterrolebindings"
        )
}

/// Checks a create or update of an RBAC object: `Ok` when it may be stored, else upstream's 403.
/// Other resources always pass.
pub fn check_rbac_write(
    authorization: &Authorization,
    rbac: &RbacAuthorizer,
    write: &RbacWrite<'_>,
) -> ApiResult<()> {
    if !is_rbac_resource(write.info) || write.user.in_group(SUPERUSER_GROUP) {
        return Ok(());
    }
    let namespace = write.namespace.unwrap_or_default();
    let gr = write.info.group_resource();
    let name = write
        .object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let forbidden = |why: &str| ApiError::forbidden(&gr, name, why);
    let only_gc_fields = write
        .old
        .is_some_and(|old| is_only_mutating_gc_fields(write.object, old));
    match write.info.plural.as_str() {
        "roles" | "clusterroles" => {
            if role_escalation_authorized(authorization, write) || only_gc_fields {
                return Ok(());
            }
            let rules = parse_rules(write.object)
                .map_err(|err| ApiError::bad_request(format!("invalid rules: {err}")))?;
            confirm_no_escalation(rbac, write.user, namespace, &rules)
                .map_err(|msg| forbidden(&msg))?;
            let aggregates =
                has_aggregation_rule(write.object) || write.old.is_some_and(has_aggregation_rule);
            if write.info.plural == "clusterroles" && aggregates {
                confirm_no_escalation(rbac, write.user, namespace, &full_authority()).map_err(
                    |_| forbidden("must have cluster-admin privileges to use the aggregationRule"),
                )?;
            }
            Ok(())
        }
        _ => {
            if only_gc_fields {
                return Ok(());
            }
            let binding = parse_binding(write.object)
                .map_err(|err| ApiError::bad_request(format!("invalid binding: {err}")))?;
            if binding_authorized(authorization, write.user, &binding.role_ref, namespace) {
                return Ok(());
            }
            let rules = rbac
                .role_ref_rules(&binding.role_ref, namespace, ErrorStyle::Registry)
                .map_err(|msg| forbidden(&msg))?;
            confirm_no_escalation(rbac, write.user, namespace, &rules)
                .map_err(|msg| forbidden(&msg))
        }
    }
}

/// Whether the user may `escalate` the written role (upstream's `RoleEscalationAuthorized`): the
/// request's group, resource, namespace and name, any version.
fn role_escalation_authorized(authorization: &Authorization, write: &RbacWrite<'_>) -> bool {
    let attrs = Attributes {
        user: write.user.clone(),
        verb: "escalate".into(),
        is_resource_request: true,
        api_group: write.info.group.to_string(),
        api_version: "*".into(),
        namespace: write.namespace.unwrap_or_default().into(),
        resource: write.info.plural.to_string(),
        name: write.url_name.unwrap_or_default().into(),
        ..Default::default()
    };
    authorization.authorize(&attrs).is_allowed()
}

/// Whether the user may `bind` the role `role_ref` names, in the binding's namespace (`""` for a
/// ClusterRoleBinding), as upstream's `BindingAuthorized`.
fn binding_authorized(
    authorization: &Authorization,
    user: &UserInfo,
    role_ref: &RoleRef,
    binding_namespace: &str,
) -> bool {
    let resource = match role_ref.kind.as_str() {
        "ClusterRole" => "clusterroles",
        "Role" => "roles",
        _ => return false,
    };
    let attrs = Attributes {
        user: user.clone(),
        verb: "bind".into(),
        is_resource_request: true,
        api_group: role_ref.api_group.clone(),
        namespace: binding_namespace.into(),
        resource: resource.into(),
        name: role_ref.name.clone(),
        ..Default::default()
    };
    authorization.authorize(&attrs).is_allowed()
}

fn has_aggregation_rule(object: &Value) -> bool {
    object
        .pointer("/aggregationRule/clusterRoleSelectors")
        .and_then(Value::as_array)
        .is_some_and(|selectors| !selectors.is_empty())
}

/// `*` on everything: what using an aggregation rule requires.
fn full_authority() -> Vec<PolicyRule> {
    let all = || vec![ALL.to_string()];
    vec![
        PolicyRule {
            verbs: all(),
            api_groups: all(),
            resources: all(),
            ..Default::default()
        },
        PolicyRule {
            verbs: all(),
            non_resource_urls: all(),
            ..Default::default()
        },
    ]
}

/// Drops nulls and empty lists, which upstream's semantic equality does not tell from absent.
fn normalized(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null() && !v.as_array().is_some_and(Vec::is_empty))
                .map(|(k, v)| (k.clone(), normalized(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(normalized).collect()),
        other => other.clone(),
    }
}

/// Whether `new` differs from `old` only in owner references, finalizers, selfLink and managed
/// fields (upstream's `IsOnlyMutatingGCFields`).
pub fn is_only_mutating_gc_fields(new: &Value, old: &Value) -> bool {
    let strip = |object: &Value| {
        let mut copy = normalized(object);
        if let Some(map) = copy.as_object_mut() {
            map.remove("apiVersion");
            map.remove("kind");
            if let Some(meta) = map.get_mut("metadata").and_then(Value::as_object_mut) {
                for field in ["ownerReferences", "finalizers", "selfLink", "managedFields"] {
                    meta.remove(field);
                }
            }
        }
        copy
    };
    strip(new) == strip(old)
}

/// Upstream's `ConfirmNoEscalation`: `Ok` when `user` holds every permission of `rules` in
/// `namespace`, else the message naming what is missing.
pub fn confirm_no_escalation(
    rbac: &RbacAuthorizer,
    user: &UserInfo,
    namespace: &str,
    rules: &[PolicyRule],
) -> Result<(), String> {
    let (owned, errors) = rbac.policy_rules_for(user, namespace, ErrorStyle::Registry);
    let missing = uncovered(&owned, rules);
    if missing.is_empty() {
        return Ok(());
    }
    let descriptions: BTreeSet<String> =
        compact_rules(missing).iter().map(compact_string).collect();
    let groups: Vec<String> = user.groups.iter().map(|g| go_quote(g)).collect();
    let mut msg = format!(
        "user {} (groups=[{}]) is attempting to grant RBAC permissions not currently held:\n{}",
        go_quote(&user.name),
        groups.join(" "),
        descriptions.into_iter().collect::<Vec<_>>().join("\n")
    );
    if !errors.is_empty() {
        msg.push_str(&format!("; resolution errors: [{}]", aggregate(&errors)));
    }
    Err(msg)
}

/// The atomic pieces of `servant` that no rule of `owner` covers (upstream's `Covers`; empty
/// means covered).
pub fn uncovered(owner: &[PolicyRule], servant: &[PolicyRule]) -> Vec<PolicyRule> {
    servant
        .iter()
        .flat_map(breakdown_rule)
        .filter(|sub| !owner.iter().any(|rule| rule_covers(rule, sub)))
        .collect()
}

/// Splits a rule into rules of one group, resource, verb and name (or one URL and verb).
pub fn breakdown_rule(rule: &PolicyRule) -> Vec<PolicyRule> {
    let one = |s: &String| vec![s.clone()];
    let mut subrules = Vec::new();
    for group in &rule.api_groups {
        for resource in &rule.resources {
            for verb in &rule.verbs {
                let base = PolicyRule {
                    api_groups: one(group),
                    resources: one(resource),
                    verbs: one(verb),
                    ..Default::default()
                };
                if rule.resource_names.is_empty() {
                    subrules.push(base);
                } else {
                    for name in &rule.resource_names {
                        subrules.push(PolicyRule {
                            resource_names: one(name),
                            ..base.clone()
                        });
                    }
                }
            }
        }
    }
    for url in &rule.non_resource_urls {
        for verb in &rule.verbs {
            subrules.push(PolicyRule {
                non_resource_urls: one(url),
                verbs: one(verb),
                ..Default::default()
            });
        }
    }
    subrules
}

fn has(set: &[String], value: &str) -> bool {
    set.iter().any(|s| s == value)
}

fn has_all(set: &[String], wanted: &[String]) -> bool {
    wanted.iter().all(|w| has(set, w))
}

fn resource_covers_all(owned: &[String], wanted: &[String]) -> bool {
    if has(owned, ALL) || has_all(owned, wanted) {
        return true;
    }
    wanted.iter().all(|path| {
        has(owned, path)
            || path
                .split_once('/')
                .is_some_and(|(_, sub)| has(owned, &format!("*/{sub}")))
    })
}

fn non_resource_url_covers(owner: &str, path: &str) -> bool {
    owner == path
        || owner
            .strip_suffix('*')
            .is_some_and(|_| path.starts_with(owner.trim_end_matches('*')))
}

fn rule_covers(owner: &PolicyRule, sub: &PolicyRule) -> bool {
    let verbs = has(&owner.verbs, ALL) || has_all(&owner.verbs, &sub.verbs);
    let groups = has(&owner.api_groups, ALL) || has_all(&owner.api_groups, &sub.api_groups);
    let resources = resource_covers_all(&owner.resources, &sub.resources);
    let urls = sub.non_resource_urls.iter().all(|path| {
        owner
            .non_resource_urls
            .iter()
            .any(|o| non_resource_url_covers(o, path))
    });
    let names = if sub.resource_names.is_empty() {
        owner.resource_names.is_empty()
    } else {
        owner.resource_names.is_empty() || has_all(&owner.resource_names, &sub.resource_names)
    };
    verbs && groups && resources && urls && names
}

/// Merges rules of one group, one resource and at most one name into one rule with all their
/// verbs (upstream's `CompactRules`).
pub fn compact_rules(rules: Vec<PolicyRule>) -> Vec<PolicyRule> {
    let mut compacted = Vec::new();
    let mut simple: Vec<PolicyRule> = Vec::new();
    let mut index: HashMap<(String, String, Option<String>), usize> = HashMap::new();
    for rule in rules {
        let is_simple = rule.resource_names.len() <= 1
            && rule.non_resource_urls.is_empty()
            && rule.api_groups.len() == 1
            && rule.resources.len() == 1;
        if !is_simple {
            compacted.push(rule);
            continue;
        }
        let key = (
            rule.api_groups[0].clone(),
            rule.resources[0].clone(),
            rule.resource_names.first().cloned(),
        );
        match index.get(&key) {
            Some(&i) => {
                for verb in rule.verbs {
                    if !simple[i].verbs.contains(&verb) {
                        simple[i].verbs.push(verb);
                    }
                }
            }
            None => {
                index.insert(key, simple.len());
                simple.push(rule);
            }
        }
    }
    compacted.extend(simple);
    compacted
}

/// Upstream's `CompactString`: `{APIGroups:["apps"], Resources:["deployments"], Verbs:["get" "list"]}`.
pub fn compact_string(rule: &PolicyRule) -> String {
    let list = |values: &[String]| {
        let quoted: Vec<String> = values.iter().map(|v| go_quote(v)).collect();
        format!("[{}]", quoted.join(" "))
    };
    let mut parts = Vec::new();
    for (label, values) in [
        ("APIGroups", &rule.api_groups),
        ("Resources", &rule.resources),
        ("NonResourceURLs", &rule.non_resource_urls),
        ("ResourceNames", &rule.resource_names),
        ("Verbs", &rule.verbs),
    ] {
        if !values.is_empty() {
            parts.push(format!("{label}:{}", list(values)));
        }
    }
    format!("{{{}}}", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules(value: Value) -> Vec<PolicyRule> {
        serde_json::from_value(value).expect("rules")
    }

    #[test]
    fn covers_exact_star_and_subresources() {
        let owner = rules(json!([
            {"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods", "*/status"]},
            {"verbs": ["*"], "apiGroups": ["apps"], "resources": ["deployments"]},
            {"verbs": ["get"], "nonResourceURLs": ["/healthz", "/logs/*"]},
        ]));
        let covered = rules(json!([
            {"verbs": ["get"], "apiGroups": [""], "resources": ["pods", "pods/status"]},
            {"verbs": ["delete", "patch"], "apiGroups": ["apps"], "resources": ["deployments"], "resourceNames": ["web"]},
            {"verbs": ["get"], "nonResourceURLs": ["/logs/kube.log", "/healthz"]},
        ]));
        assert!(uncovered(&owner, &covered).is_empty());

        let wider = rules(json!([
            {"verbs": ["get", "delete"], "apiGroups": ["", "apps"], "resources": ["pods"]},
            {"verbs": ["get"], "nonResourceURLs": ["/metrics"]},
        ]));
        let missing = uncovered(&owner, &wider);
        let mut described: Vec<String> =
            compact_rules(missing).iter().map(compact_string).collect();
        described.sort();
        assert_eq!(
            described,
            vec![
                r#"{APIGroups:[""], Resources:["pods"], Verbs:["delete"]}"#.to_string(),
                r#"{APIGroups:["apps"], Resources:["pods"], Verbs:["get" "delete"]}"#.to_string(),
                r#"{NonResourceURLs:["/metrics"], Verbs:["get"]}"#.to_string(),
            ]
        );
    }

    #[test]
    fn resource_names_need_matching_owner_names() {
        let owner = rules(json!([
            {"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"], "resourceNames": ["a"]}
        ]));
        let same = rules(json!([
            {"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"], "resourceNames": ["a"]}
        ]));
        assert!(uncovered(&owner, &same).is_empty());
        // A name-restricted owner does not cover an unrestricted rule, nor another name.
        let all = rules(json!([{"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"]}]));
        assert_eq!(uncovered(&owner, &all).len(), 1);
        let other = rules(json!([
            {"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"], "resourceNames": ["b"]}
        ]));
        assert_eq!(
            compact_string(&uncovered(&owner, &other)[0]),
            r#"{APIGroups:[""], Resources:["secrets"], ResourceNames:["b"], Verbs:["get"]}"#
        );
    }

    #[test]
    fn star_owner_covers_everything() {
        let owner = full_authority();
        let anything = rules(json!([
            {"verbs": ["escalate", "bind"], "apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"], "resourceNames": ["x"]},
            {"verbs": ["post"], "nonResourceURLs": ["/anything/at/all"]},
            {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]},
        ]));
        assert!(uncovered(&owner, &anything).is_empty());
        // `*` as a resource is only covered by `*`.
        let pods = rules(json!([{"verbs": ["*"], "apiGroups": ["*"], "resources": ["pods"]}]));
        assert_eq!(uncovered(&pods, &anything).len(), 4);
    }

    #[test]
    fn gc_only_updates() {
        let old = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": "r", "resourceVersion": "5"}, "rules": []});
        let owned = json!({"metadata": {"name": "r", "resourceVersion": "5",
            "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "c", "uid": "u"}],
            "finalizers": ["x/y"]}, "rules": null});
        assert!(is_only_mutating_gc_fields(&owned, &old));
        let more_rules = json!({"metadata": {"name": "r", "resourceVersion": "5"},
            "rules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}]});
        assert!(!is_only_mutating_gc_fields(&more_rules, &old));
    }
}

#[cfg(test)]
mod coverage_tests {
    use super::*;
    use serde_json::json;

    fn rule(v: Value) -> PolicyRule {
        PolicyRule::from_value(&v)
    }

    #[test]
    fn absent_and_empty_lists_are_equal_and_round_trip() {
        let a = rule(json!({"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}));
        let b = rule(
            json!({"apiGroups": [""], "resources": ["pods"], "resourceNames": [], "verbs": ["get"]}),
        );
        assert_eq!(a, b);
        assert_eq!(
            a.to_value(),
            json!({"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]})
        );
        let url = rule(json!({"nonResourceURLs": ["/healthz"], "verbs": ["get"]}));
        assert_eq!(
            url.to_value(),
            json!({"nonResourceURLs": ["/healthz"], "verbs": ["get"]})
        );
    }

    #[test]
    fn missing_parts_come_back_as_atomic_rules() {
        let owned = vec![rule(
            json!({"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}),
        )];
        let wanted = vec![rule(
            json!({"apiGroups": [""], "resources": ["configmaps", "pods"], "verbs": ["get", "list"]}),
        )];
        let missing: Vec<Value> = uncovered(&owned, &wanted)
            .iter()
            .map(PolicyRule::to_value)
            .collect();
        assert_eq!(
            missing,
            vec![
                json!({"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}),
                json!({"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list"]}),
            ]
        );
    }

    #[test]
    fn wildcards_cover_as_upstream() {
        let admin = vec![
            rule(json!({"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]})),
            rule(json!({"nonResourceURLs": ["*"], "verbs": ["*"]})),
        ];
        let wanted = vec![
            rule(
                json!({"apiGroups": ["apps"], "resources": ["deployments/scale"], "resourceNames": ["x"], "verbs": ["patch"]}),
            ),
            rule(json!({"nonResourceURLs": ["/metrics"], "verbs": ["get"]})),
        ];
        assert!(uncovered(&admin, &wanted).is_empty());

        let subresource_star = vec![rule(
            json!({"apiGroups": [""], "resources": ["*/status"], "verbs": ["get"]}),
        )];
        assert!(uncovered(
            &subresource_star,
            &[rule(
                json!({"apiGroups": [""], "resources": ["pods/status"], "verbs": ["get"]})
            )]
        )
        .is_empty());
        assert_eq!(
            uncovered(
                &subresource_star,
                &[rule(
                    json!({"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]})
                )]
            )
            .len(),
            1
        );

        let url_prefix = vec![rule(
            json!({"nonResourceURLs": ["/apis/*"], "verbs": ["get"]}),
        )];
        assert!(uncovered(
            &url_prefix,
            &[rule(
                json!({"nonResourceURLs": ["/apis/apps"], "verbs": ["get"]})
            )]
        )
        .is_empty());
        assert_eq!(
            uncovered(
                &url_prefix,
                &[rule(json!({"nonResourceURLs": ["/api"], "verbs": ["get"]}))]
            )
            .len(),
            1
        );
    }

    #[test]
    fn resource_names_narrow_a_rule() {
        let named = vec![rule(
            json!({"apiGroups": [""], "resources": ["leases"], "resourceNames": ["a"], "verbs": ["get"]}),
        )];
        let unnamed = rule(json!({"apiGroups": [""], "resources": ["leases"], "verbs": ["get"]}));
        assert_eq!(uncovered(&named, std::slice::from_ref(&unnamed)).len(), 1);
        assert!(uncovered(&[unnamed], &named).is_empty());
    }
}
