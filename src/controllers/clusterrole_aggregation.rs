//! The ClusterRole aggregation controller, as upstream's `pkg/controller/clusterroleaggregation`.
//!
//! A ClusterRole with an `aggregationRule` gets as `rules` the union of the rules of every other
//! ClusterRole matched by any of its `clusterRoleSelectors` (label selectors: `matchLabels` and
//! `matchExpressions`). The order is upstream's: selector by selector, the matching roles sorted by
//! name, each rule appended unless an equal rule is already there. A role is written only when its
//! rules change.
//!
//! [`run`] watches ClusterRoles and recomputes on every change (a burst of events is handled in one
//! pass); when the watch ends or fails (e.g. 410 Expired) it lists again and starts a new watch.
//! [`aggregate_once`] is one complete pass, repeated until nothing changes so that chained
//! aggregation (`view` into `edit` into `admin`) is complete when it returns: start-up calls it
//! before reporting ready.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::api::status::{ApiError, ApiResult};
use crate::controllers::watch_loop;
use crate::rbac::rules::PolicyRule;
use crate::registry::options::{ListOptions, WriteOptions};
use crate::registry::selectors::label::label_selector;
use crate::registry::store::Store;

/// The field manager of the controller's writes, as upstream's.
pub const FIELD_MANAGER: &str = "clusterrole-aggregation-controller";

/// Passes of [`aggregate_once`] before giving up on reaching a fixed point (a cycle of aggregated
/// roles selecting each other still converges: rules only grow up to the union).
const MAX_PASSES: usize = 16;
/// Pause before listing again after the watch failed, and before retrying a failed pass.
const RETRY_DELAY: Duration = Duration::from_millis(500);

fn name_of(role: &Value) -> &str {
    role.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// The aggregated rules of `role` over `roles` (sorted by name), or `None` when `role` has no
/// `aggregationRule`. A selector that does not parse fails the role, as upstream.
fn aggregated_rules(role: &Value, roles: &[Value]) -> Option<Result<Vec<PolicyRule>, String>> {
    let rule = role.get("aggregationRule").filter(|r| !r.is_null())?;
    let name = name_of(role);
    let mut out: Vec<PolicyRule> = Vec::new();
    for selector in rule
        .get("clusterRoleSelectors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let selector = match label_selector(selector) {
            Ok(selector) => selector,
            Err(err) => return Some(Err(err)),
        };
        for other in roles
            .iter()
            .filter(|r| name_of(r) != name && selector.matches(r))
        {
            for candidate in PolicyRule::list_of(other) {
                if !out.contains(&candidate) {
                    out.push(candidate);
                }
            }
        }
    }
    Some(Ok(out))
}

/// Writes `rules` into the ClusterRole `name` unless it lost its `aggregationRule` meanwhile.
async fn write_rules(store: &Store, name: &str, rules: &[PolicyRule]) -> ApiResult<Value> {
    let opts = WriteOptions {
        field_manager: FIELD_MANAGER.into(),
        ..Default::default()
    };
    let rules_value = Value::Array(rules.iter().map(PolicyRule::to_value).collect());
    store
        .guaranteed_update(None, name, &opts, |current| {
            let mut next = current.clone();
            if current.get("aggregationRule").is_some_and(|r| !r.is_null()) {
                next["rules"] = rules_value.clone();
            }
            Ok(next)
        })
        .await
}

/// One complete aggregation: lists the ClusterRoles and updates every aggregated role whose rules
/// differ, repeating until a pass changes nothing. Returns the first error after trying every role.
pub async fn aggregate_once(clusterroles: &Store) -> ApiResult<()> {
    let mut roles = clusterroles
        .list(None, &ListOptions::default())
        .await?
        .items;
    roles.sort_by(|a, b| name_of(a).cmp(name_of(b)));
    let mut first_error: Option<ApiError> = None;
    for _ in 0..MAX_PASSES {
        let mut changed = false;
        for index in 0..roles.len() {
            let Some(result) = aggregated_rules(&roles[index], &roles) else {
                continue;
            };
            let name = name_of(&roles[index]).to_string();
            let rules = match result {
                Ok(rules) => rules,
                Err(err) => {
                    tracing::warn!(clusterrole = %name, error = %err, "invalid aggregationRule");
                    continue;
                }
            };
            if PolicyRule::list_of(&roles[index]) == rules {
                continue;
            }
            match write_rules(clusterroles, &name, &rules).await {
                Ok(stored) => {
                    tracing::debug!(clusterrole = %name, rules = rules.len(), "aggregated rules");
                    roles[index] = stored;
                    changed = true;
                }
                // Deleted meanwhile: its deletion is an event of its own.
                Err(err) if err.status.code == 404 => {}
                Err(err) => {
                    tracing::warn!(clusterrole = %name, error = %err, "could not aggregate rules");
                    first_error.get_or_insert(err);
                }
            }
        }
        if !changed {
            break;
        }
    }
    match first_error {
        Some(err) => Err(err),
        None => Ok(()),
    }
}

/// Runs the controller until the task is dropped: one pass at start, then one after every burst of
/// ClusterRole events; a failed pass is retried shortly (see [`watch_loop`]).
pub async fn run(clusterroles: Arc<Store>) {
    let store = clusterroles.clone();
    watch_loop::run(clusterroles, "clusterrole aggregation", RETRY_DELAY, || {
        let store = store.clone();
        async move { aggregate_once(&store).await.is_err() }
    })
    .await
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use serde_json::{json, Value};

    use super::*;
    use crate::controllers::rbac_bootstrap::{ensure, tests::RbacStores};
    use crate::registry::options::DeleteOptions;

    fn rules_of(role: &Value) -> Vec<Value> {
        PolicyRule::list_of(role)
            .iter()
            .map(PolicyRule::to_value)
            .collect()
    }

    fn foo_role(name: &str, labels: Value, resource: &str) -> Value {
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": name, "labels": labels},
            "rules": [{"apiGroups": ["example.com"], "resources": [resource], "verbs": ["get"]}],
        })
    }

    /// Polls `name` until `done` holds for it, for at most `limit`.
    async fn wait_for(
        store: &Store,
        name: &str,
        limit: Duration,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let start = Instant::now();
        loop {
            let role = store.get(None, name).await.expect("get");
            if done(&role) {
                return role;
            }
            assert!(
                start.elapsed() < limit,
                "{name} did not reach the state within {limit:?}: {role}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    #[test]
    fn label_selectors_convert_as_upstream() {
        let selector = label_selector(&json!({
            "matchLabels": {"a": "1"},
            "matchExpressions": [
                {"key": "b", "operator": "In", "values": ["x", "y"]},
                {"key": "c", "operator": "DoesNotExist"},
            ],
        }))
        .expect("valid");
        let with = |labels: Value| json!({"metadata": {"labels": labels}});
        assert!(selector.matches(&with(json!({"a": "1", "b": "y"}))));
        assert!(!selector.matches(&with(json!({"a": "1", "b": "z"}))));
        assert!(!selector.matches(&with(json!({"a": "1", "b": "x", "c": ""}))));
        assert!(label_selector(&json!({}))
            .expect("empty")
            .matches(&with(json!({}))));
        assert_eq!(
            label_selector(&json!({"matchExpressions": [{"key": "b", "operator": "Like"}]}))
                .unwrap_err(),
            "\"Like\" is not a valid label selector operator"
        );
    }

    #[test]
    fn rules_are_the_ordered_union_of_the_selected_roles() {
        let agg = json!({
            "metadata": {"name": "agg"},
            "aggregationRule": {"clusterRoleSelectors": [
                {"matchLabels": {"x": "true"}},
                {"matchLabels": {"y": "true"}},
            ]},
        });
        let rule = |r: &str| json!({"apiGroups": [""], "resources": [r], "verbs": ["get"]});
        let roles = vec![
            agg.clone(),
            json!({"metadata": {"name": "b", "labels": {"x": "true"}}, "rules": [rule("pods"), rule("secrets")]}),
            json!({"metadata": {"name": "a", "labels": {"x": "true", "y": "true"}}, "rules": [rule("secrets")]}),
            json!({"metadata": {"name": "c", "labels": {"y": "true"}}, "rules": [rule("nodes"), rule("pods")]}),
            json!({"metadata": {"name": "d"}, "rules": [rule("leases")]}),
        ];
        let mut sorted = roles;
        sorted.sort_by(|a, b| name_of(a).cmp(name_of(b)));
        let rules: Vec<Value> = aggregated_rules(&agg, &sorted)
            .expect("aggregated")
            .expect("valid")
            .iter()
            .map(PolicyRule::to_value)
            .collect();
        assert_eq!(rules, vec![rule("secrets"), rule("pods"), rule("nodes")]);
        let plain = sorted.iter().find(|r| name_of(r) == "b").expect("b");
        assert!(aggregated_rules(plain, &sorted).is_none());
    }

    #[tokio::test]
    async fn aggregate_once_fills_admin_edit_and_view() {
        let fx = RbacStores::new().await;
        ensure(&fx.registry).await.expect("ensure");
        aggregate_once(&fx.roles).await.expect("aggregate");

        let view = fx.roles.get(None, "view").await.expect("view");
        let expected_view = fx
            .roles
            .get(None, "system:aggregate-to-view")
            .await
            .expect("source");
        assert_eq!(rules_of(&view), rules_of(&expected_view));
        assert!(rules_of(&view).contains(&json!({
            "apiGroups": [""],
            "resources": ["configmaps", "endpoints", "persistentvolumeclaims", "persistentvolumeclaims/status",
                "pods", "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts",
                "services", "services/status"],
            "verbs": ["get", "list", "watch"],
        })));

        // edit = aggregate-to-edit's rules, then view's (name order).
        let edit = fx.roles.get(None, "edit").await.expect("edit");
        let admin = fx.roles.get(None, "admin").await.expect("admin");
        let to_edit = fx
            .roles
            .get(None, "system:aggregate-to-edit")
            .await
            .expect("to-edit");
        let to_admin = fx
            .roles
            .get(None, "system:aggregate-to-admin")
            .await
            .expect("to-admin");
        let mut edit_expected = rules_of(&to_edit);
        edit_expected.extend(rules_of(&view));
        assert_eq!(rules_of(&edit), edit_expected);
        // Matching roles are taken in name order: `edit` sorts before `system:aggregate-to-admin`.
        let mut admin_expected = rules_of(&edit);
        admin_expected.extend(rules_of(&to_admin));
        assert_eq!(rules_of(&admin), admin_expected);

        // A second pass writes nothing.
        let before = fx
            .roles
            .list(None, &ListOptions::default())
            .await
            .expect("list")
            .resource_version;
        aggregate_once(&fx.roles).await.expect("again");
        let after = fx
            .roles
            .list(None, &ListOptions::default())
            .await
            .expect("list")
            .resource_version;
        assert_eq!(before, after);
    }

    #[tokio::test]
    async fn the_controller_follows_creates_updates_and_deletes() {
        let fx = RbacStores::new().await;
        ensure(&fx.registry).await.expect("ensure");
        let controller = tokio::spawn(run(fx.roles.clone()));
        let limit = Duration::from_secs(2);
        let foo_rule =
            json!({"apiGroups": ["example.com"], "resources": ["foos"], "verbs": ["get"]});
        let view = wait_for(&fx.roles, "view", limit, |r| !rules_of(r).is_empty()).await;
        assert!(!rules_of(&view).contains(&foo_rule));

        let w = WriteOptions::default();
        fx.roles
            .create(
                None,
                foo_role(
                    "foo-viewer",
                    json!({"rbac.authorization.k8s.io/aggregate-to-view": "true"}),
                    "foos",
                ),
                &w,
            )
            .await
            .expect("create");
        wait_for(&fx.roles, "view", limit, |r| {
            rules_of(r).contains(&foo_rule)
        })
        .await;
        // Chained: view is aggregated into edit, edit into admin.
        wait_for(&fx.roles, "admin", limit, |r| {
            rules_of(r).contains(&foo_rule)
        })
        .await;

        let bar_rule =
            json!({"apiGroups": ["example.com"], "resources": ["bars"], "verbs": ["get"]});
        fx.roles
            .guaranteed_update(None, "foo-viewer", &w, |current| {
                let mut next = current.clone();
                next["rules"] = json!([bar_rule.clone()]);
                Ok(next)
            })
            .await
            .expect("update");
        wait_for(&fx.roles, "view", limit, |r| {
            let rules = rules_of(r);
            rules.contains(&bar_rule) && !rules.contains(&foo_rule)
        })
        .await;

        fx.roles
            .delete(None, "foo-viewer", &DeleteOptions::default(), &w)
            .await
            .expect("delete");
        let view = wait_for(&fx.roles, "view", limit, |r| {
            !rules_of(r).contains(&bar_rule)
        })
        .await;
        let source = fx
            .roles
            .get(None, "system:aggregate-to-view")
            .await
            .expect("source");
        assert_eq!(rules_of(&view), rules_of(&source));
        wait_for(&fx.roles, "admin", limit, |r| {
            !rules_of(r).contains(&bar_rule)
        })
        .await;
        controller.abort();
    }
}
