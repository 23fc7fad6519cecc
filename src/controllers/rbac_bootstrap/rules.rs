//! RBAC policy rules as values to compare: parsing from JSON, semantic equality (an absent list
//! equals an empty one, as upstream's `equality.Semantic`), and upstream's coverage check
//! (`pkg/registry/rbac/validation`: `Covers`, `BreakdownRule`, `ruleCovers`), which decides which
//! rules of the bootstrap policy a stored role is missing.

use serde_json::{Map, Value};

/// One `PolicyRule` of a Role or ClusterRole. Absent and empty lists are the same.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyRule {
    pub verbs: Vec<String>,
    pub api_groups: Vec<String>,
    pub resources: Vec<String>,
    pub resource_names: Vec<String>,
    pub non_resource_urls: Vec<String>,
}

const ALL: &str = "*";

fn strings(rule: &Value, key: &str) -> Vec<String> {
    rule.get(key)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn has(set: &[String], item: &str) -> bool {
    set.iter().any(|s| s == item)
}

fn has_all(set: &[String], items: &[String]) -> bool {
    items.iter().all(|item| has(set, item))
}

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

    /// Splits the rule into rules of one verb, one group, one resource and at most one resource
    /// name, or one URL and one verb, in upstream's order (`BreakdownRule`).
    fn breakdown(&self) -> Vec<PolicyRule> {
        let one = |s: &String| vec![s.clone()];
        let mut out = Vec::new();
        for group in &self.api_groups {
            for resource in &self.resources {
                for verb in &self.verbs {
                    let base = PolicyRule {
                        verbs: one(verb),
                        api_groups: one(group),
                        resources: one(resource),
                        ..Default::default()
                    };
                    if self.resource_names.is_empty() {
                        out.push(base);
                    } else {
                        out.extend(self.resource_names.iter().map(|name| PolicyRule {
                            resource_names: one(name),
                            ..base.clone()
                        }));
                    }
                }
            }
        }
        for url in &self.non_resource_urls {
            for verb in &self.verbs {
                out.push(PolicyRule {
                    verbs: one(verb),
                    non_resource_urls: one(url),
                    ..Default::default()
                });
            }
        }
        out
    }

    /// Whether this rule allows everything `sub` allows (upstream's `ruleCovers`).
    fn covers(&self, sub: &PolicyRule) -> bool {
        let verbs = has(&self.verbs, ALL) || has_all(&self.verbs, &sub.verbs);
        let groups = has(&self.api_groups, ALL) || has_all(&self.api_groups, &sub.api_groups);
        let resources = resources_cover(&self.resources, &sub.resources);
        let urls = sub.non_resource_urls.iter().all(|url| {
            self.non_resource_urls
                .iter()
                .any(|own| url_covers(own, url))
        });
        let names = self.resource_names.is_empty()
            || (!sub.resource_names.is_empty()
                && has_all(&self.resource_names, &sub.resource_names));
        verbs && groups && resources && urls && names
    }
}

/// upstream's `resourceCoversAll`: `*`, an exact match, or `*/<subresource>` for a subresource.
fn resources_cover(own: &[String], wanted: &[String]) -> bool {
    if has(own, ALL) {
        return true;
    }
    wanted.iter().all(|path| {
        if has(own, path) {
            return true;
        }
        match path.split_once('/') {
            Some((_, subresource)) => has(own, &format!("*/{subresource}")),
            None => false,
        }
    })
}

/// upstream's `nonResourceURLCovers`: exact, or a prefix ending in `*`.
fn url_covers(own: &str, wanted: &str) -> bool {
    own == wanted
        || own
            .strip_suffix('*')
            .is_some_and(|prefix| wanted.starts_with(prefix))
}

/// The parts of `wanted` that no rule of `owned` allows, as single-verb rules in upstream's order
/// (`validation.Covers`). Empty when `owned` covers `wanted`.
pub fn uncovered(owned: &[PolicyRule], wanted: &[PolicyRule]) -> Vec<PolicyRule> {
    wanted
        .iter()
        .flat_map(PolicyRule::breakdown)
        .filter(|sub| !owned.iter().any(|own| own.covers(sub)))
        .collect()
}

#[cfg(test)]
mod tests {
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
