//! The bootstrap policy against real stores over RocksDB in a temporary directory.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{json, Value};

use super::policy::{self, AUTOUPDATE_ANNOTATION};
use super::{ensure, reconcile_binding, reconcile_role, PolicyRule, Reconciled};
use crate::catalog::builtin;
use crate::registry::options::{ListOptions, WriteOptions};
use crate::registry::resources::builtin_store;
use crate::registry::store::{Store, StoreConfig};
use crate::registry::stores::ResourceStores;

/// The `clusterroles` and `clusterrolebindings` stores over a fresh storage.
pub(crate) struct RbacStores {
    pub registry: ResourceStores,
    pub roles: Arc<Store>,
    pub bindings: Arc<Store>,
}

impl RbacStores {
    pub(crate) async fn new() -> Self {
        let storage = crate::registry::test_support::memory_storage();
        let store = |kind: &str| {
            let info = builtin()
                .by_kind(policy::RBAC_GROUP, "v1", kind)
                .expect("rbac kinds are in the catalogue");
            Arc::new(builtin_store(info, storage.clone(), StoreConfig::default()))
        };
        let roles = store("ClusterRole");
        let bindings = store("ClusterRoleBinding");
        let mut registry = ResourceStores::new();
        registry.insert(roles.clone());
        registry.insert(bindings.clone());
        Self {
            registry,
            roles,
            bindings,
        }
    }
}

/// name -> resourceVersion of every object of a store.
async fn versions(store: &Store) -> BTreeMap<String, String> {
    store
        .list(None, &ListOptions::default())
        .await
        .expect("list")
        .items
        .iter()
        .map(|o| {
            (
                o["metadata"]["name"].as_str().unwrap_or("").to_string(),
                o["metadata"]["resourceVersion"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .collect()
}

fn rules_of(role: &Value) -> Vec<Value> {
    role["rules"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn ensure_creates_every_object_and_a_second_run_writes_nothing() {
    let fx = RbacStores::new().await;
    ensure(&fx.registry).await.expect("first ensure");

    let roles = versions(&fx.roles).await;
    let expected: Vec<String> = policy::cluster_roles()
        .iter()
        .map(|r| policy::object_name(r).to_string())
        .collect();
    assert_eq!(roles.keys().cloned().collect::<Vec<_>>(), expected);
    let bindings = versions(&fx.bindings).await;
    assert_eq!(bindings.len(), policy::cluster_role_bindings().len());

    let admin = fx.roles.get(None, "cluster-admin").await.expect("get");
    assert_eq!(
        admin["metadata"]["labels"],
        json!({"kubernetes.io/bootstrapping": "rbac-defaults"})
    );
    assert_eq!(
        admin["metadata"]["annotations"],
        json!({"rbac.authorization.kubernetes.io/autoupdate": "true"})
    );
    let binding = fx
        .bindings
        .get(None, "cluster-admin")
        .await
        .expect("binding");
    assert_eq!(
        binding["subjects"],
        json!([{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:masters"}])
    );
    assert_eq!(
        binding["roleRef"],
        json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"})
    );

    ensure(&fx.registry).await.expect("second ensure");
    assert_eq!(versions(&fx.roles).await, roles, "no role was rewritten");
    assert_eq!(
        versions(&fx.bindings).await,
        bindings,
        "no binding was rewritten"
    );
}

#[tokio::test]
async fn two_replicas_ensuring_at_once_both_succeed() {
    let fx = RbacStores::new().await;
    let (a, b) = tokio::join!(ensure(&fx.registry), ensure(&fx.registry));
    a.expect("replica a");
    b.expect("replica b");
    assert_eq!(
        versions(&fx.roles).await.len(),
        policy::cluster_roles().len()
    );
}

#[tokio::test]
async fn autoupdate_true_adds_a_removed_rule_back_and_keeps_user_rules() {
    let fx = RbacStores::new().await;
    ensure(&fx.registry).await.expect("ensure");
    let w = WriteOptions::default();
    let user_rule = json!({"apiGroups": ["example.com"], "resources": ["foos"], "verbs": ["get"]});
    fx.roles
        .guaranteed_update(None, "system:aggregate-to-view", &w, |current| {
            let mut next = current.clone();
            // Drop the rule on namespaces (the third), add one of the user's.
            let mut rules = rules_of(current);
            rules.remove(2);
            rules.push(user_rule.clone());
            next["rules"] = Value::Array(rules);
            Ok(next)
        })
        .await
        .expect("edit");

    ensure(&fx.registry).await.expect("ensure again");
    let role = fx
        .roles
        .get(None, "system:aggregate-to-view")
        .await
        .expect("get");
    let rules = rules_of(&role);
    assert!(rules.contains(&user_rule), "the user's rule is kept");
    // Missing permissions come back as single-verb rules, appended, as upstream.
    assert_eq!(
        rules[rules.len() - 3..],
        [
            json!({"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get"]}),
            json!({"apiGroups": [""], "resources": ["namespaces"], "verbs": ["list"]}),
            json!({"apiGroups": [""], "resources": ["namespaces"], "verbs": ["watch"]}),
        ]
    );
}

#[tokio::test]
async fn autoupdate_false_is_left_alone() {
    let fx = RbacStores::new().await;
    ensure(&fx.registry).await.expect("ensure");
    let w = WriteOptions::default();
    let protected = fx
        .roles
        .guaranteed_update(None, "system:discovery", &w, |current| {
            let mut next = current.clone();
            next["metadata"]["annotations"][AUTOUPDATE_ANNOTATION] = json!("false");
            next["rules"] = json!([{"nonResourceURLs": ["/version"], "verbs": ["get"]}]);
            Ok(next)
        })
        .await
        .expect("edit");
    let protected_binding = fx
        .bindings
        .guaranteed_update(None, "system:discovery", &w, |current| {
            let mut next = current.clone();
            next["metadata"]["annotations"][AUTOUPDATE_ANNOTATION] = json!("false");
            next["subjects"] = json!([]);
            Ok(next)
        })
        .await
        .expect("edit binding");

    ensure(&fx.registry).await.expect("ensure again");
    assert_eq!(
        fx.roles
            .get(None, "system:discovery")
            .await
            .expect("get role"),
        protected
    );
    assert_eq!(
        fx.bindings
            .get(None, "system:discovery")
            .await
            .expect("get binding"),
        protected_binding
    );
}

#[tokio::test]
async fn a_binding_to_another_role_is_recreated_and_missing_subjects_added() {
    let fx = RbacStores::new().await;
    let w = WriteOptions::default();
    fx.bindings
        .create(
            None,
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                "metadata": {"name": "cluster-admin"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "alice"}],
            }),
            &w,
        )
        .await
        .expect("create");
    fx.bindings
        .create(
            None,
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                "metadata": {"name": "system:public-info-viewer", "labels": {"team": "x"}},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:public-info-viewer"},
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "bob"}],
            }),
            &w,
        )
        .await
        .expect("create");

    ensure(&fx.registry).await.expect("ensure");
    let admin = fx.bindings.get(None, "cluster-admin").await.expect("get");
    assert_eq!(admin["roleRef"]["name"], "cluster-admin");
    assert_eq!(
        admin["subjects"],
        json!([{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:masters"}])
    );
    let public = fx
        .bindings
        .get(None, "system:public-info-viewer")
        .await
        .expect("get");
    assert_eq!(
        public["subjects"],
        json!([
            {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "bob"},
            {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:authenticated"},
            {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:unauthenticated"},
        ])
    );
    assert_eq!(
        public["metadata"]["labels"],
        json!({"team": "x", "kubernetes.io/bootstrapping": "rbac-defaults"})
    );
    assert_eq!(
        public["metadata"]["annotations"][AUTOUPDATE_ANNOTATION],
        "true"
    );
}

#[test]
fn reconciling_an_aggregated_role_leaves_its_rules_and_adds_missing_selectors() {
    let expected = policy::cluster_roles()
        .into_iter()
        .find(|r| policy::object_name(r) == "view")
        .expect("view");
    let mut existing = expected.clone();
    existing["rules"] = json!([{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]);
    assert_eq!(reconcile_role(&existing, &expected), Reconciled::Nothing);

    existing["aggregationRule"] =
        json!({"clusterRoleSelectors": [{"matchLabels": {"mine": "true"}}]});
    let Reconciled::Update(updated) = reconcile_role(&existing, &expected) else {
        panic!("a missing selector is an update");
    };
    assert_eq!(
        updated["aggregationRule"]["clusterRoleSelectors"],
        json!([
            {"matchLabels": {"mine": "true"}},
            {"matchLabels": {"rbac.authorization.k8s.io/aggregate-to-view": "true"}},
        ])
    );
    assert_eq!(updated["rules"], existing["rules"]);

    // A role the policy does not aggregate loses an aggregationRule, as upstream.
    let discovery = policy::cluster_roles()
        .into_iter()
        .find(|r| policy::object_name(r) == "system:discovery")
        .expect("discovery");
    let mut aggregated = discovery.clone();
    aggregated["aggregationRule"] = json!({"clusterRoleSelectors": []});
    let Reconciled::Update(updated) = reconcile_role(&aggregated, &discovery) else {
        panic!("an unexpected aggregationRule is an update");
    };
    assert!(updated.get("aggregationRule").is_none());
}

#[test]
fn a_protected_binding_to_another_role_is_not_recreated() {
    let expected = &policy::cluster_role_bindings()[0];
    let mut existing = expected.clone();
    existing["roleRef"]["name"] = json!("view");
    assert_eq!(reconcile_binding(&existing, expected), Reconciled::Recreate);
    existing["metadata"]["annotations"][AUTOUPDATE_ANNOTATION] = json!("false");
    assert_eq!(
        reconcile_binding(&existing, expected),
        Reconciled::Protected
    );
}

fn role(name: &str) -> Value {
    policy::cluster_roles()
        .into_iter()
        .find(|r| policy::object_name(r) == name)
        .unwrap_or_else(|| panic!("{name} is in the policy"))
}

#[test]
fn golden_system_discovery_and_public_info_viewer() {
    assert_eq!(
        role("system:discovery")["rules"],
        json!([{
            "nonResourceURLs": ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez",
                "/openapi", "/openapi/*", "/readyz", "/version", "/version/"],
            "verbs": ["get"],
        }])
    );
    assert_eq!(
        role("system:public-info-viewer")["rules"],
        json!([{"nonResourceURLs": ["/healthz", "/livez", "/readyz", "/version", "/version/"], "verbs": ["get"]}])
    );
    assert_eq!(
        role("system:monitoring")["rules"],
        json!([{
            "nonResourceURLs": ["/healthz", "/healthz/*", "/livez", "/livez/*", "/metrics",
                "/metrics/slis", "/readyz", "/readyz/*"],
            "verbs": ["get"],
        }])
    );
}

#[test]
fn golden_cluster_admin_basic_user_and_aggregated_roles() {
    assert_eq!(
        role("cluster-admin")["rules"],
        json!([
            {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
            {"nonResourceURLs": ["*"], "verbs": ["*"]},
        ])
    );
    assert_eq!(
        role("system:basic-user")["rules"],
        json!([
            {"apiGroups": ["authorization.k8s.io"], "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"], "verbs": ["create"]},
            {"apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"], "verbs": ["create"]},
        ])
    );
    let edit = role("edit");
    assert_eq!(
        edit["aggregationRule"],
        json!({"clusterRoleSelectors": [{"matchLabels": {"rbac.authorization.k8s.io/aggregate-to-edit": "true"}}]})
    );
    assert_eq!(
        edit["metadata"]["labels"],
        json!({"kubernetes.io/bootstrapping": "rbac-defaults", "rbac.authorization.k8s.io/aggregate-to-admin": "true"})
    );
    assert!(edit.get("rules").is_none());
    assert_eq!(
        role("system:aggregate-to-admin")["rules"],
        json!([
            {"apiGroups": ["authorization.k8s.io"], "resources": ["localsubjectaccessreviews"], "verbs": ["create"]},
            {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["rolebindings", "roles"],
             "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]},
        ])
    );
    let view_rules = PolicyRule::list_of(&role("system:aggregate-to-view"));
    assert_eq!(view_rules.len(), 10);
    assert_eq!(
        view_rules[0].to_value(),
        json!({
            "apiGroups": [""],
            "resources": ["configmaps", "endpoints", "persistentvolumeclaims", "persistentvolumeclaims/status",
                "pods", "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts",
                "services", "services/status"],
            "verbs": ["get", "list", "watch"],
        })
    );
    let edit_rules = PolicyRule::list_of(&role("system:aggregate-to-edit"));
    assert_eq!(edit_rules.len(), 13);
    assert_eq!(
        edit_rules[12].to_value(),
        json!({"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
               "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]})
    );
}

#[test]
fn golden_bindings() {
    let subjects: BTreeMap<String, Value> = policy::cluster_role_bindings()
        .iter()
        .map(|b| (policy::object_name(b).to_string(), b["subjects"].clone()))
        .collect();
    let group = |name: &str| json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": name});
    assert_eq!(subjects["cluster-admin"], json!([group("system:masters")]));
    assert_eq!(
        subjects["system:discovery"],
        json!([group("system:authenticated")])
    );
    assert_eq!(
        subjects["system:basic-user"],
        json!([group("system:authenticated")])
    );
    assert_eq!(
        subjects["system:public-info-viewer"],
        json!([
            group("system:authenticated"),
            group("system:unauthenticated")
        ])
    );
    assert_eq!(
        subjects["system:monitoring"],
        json!([group("system:monitoring")])
    );
    for binding in policy::cluster_role_bindings() {
        assert_eq!(
            binding["metadata"]["labels"]["kubernetes.io/bootstrapping"],
            "rbac-defaults"
        );
        assert_eq!(
            binding["metadata"]["annotations"][AUTOUPDATE_ANNOTATION],
            "true"
        );
        assert_eq!(binding["roleRef"]["name"], binding["metadata"]["name"]);
    }
}
