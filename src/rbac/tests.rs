//! The RBAC authorizer over real stores, fed by their watches.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::escalation::{check_rbac_write, RbacWrite};
use super::test_support::{user, users, Fixture};
use super::*;
use crate::catalog;
use crate::registry::options::{DeleteOptions, WriteOptions};
use crate::request::authorization::{AlwaysAllow, Authorization, Decision};

fn req(u: &UserInfo, verb: &str, group: &str, ns: &str, resource: &str, name: &str) -> Attributes {
    let (resource, subresource) = resource.split_once('/').unwrap_or((resource, ""));
    Attributes {
        user: u.clone(),
        verb: verb.into(),
        is_resource_request: true,
        api_group: group.into(),
        api_version: "v1".into(),
        namespace: ns.into(),
        resource: resource.into(),
        subresource: subresource.into(),
        name: name.into(),
        ..Default::default()
    }
}

fn path(u: &UserInfo, verb: &str, path: &str) -> Attributes {
    Attributes {
        user: u.clone(),
        verb: verb.into(),
        path: path.into(),
        ..Default::default()
    }
}

/// Polls `check` until it holds, for at most 5 seconds; answers how long it took.
async fn eventually(mut check: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !check() {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "not seen within 5s"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    started.elapsed()
}

#[tokio::test]
async fn decisions_from_bindings() {
    let fx = Fixture::new().await;
    fx.cluster_role("pod-reader", json!([
        {"verbs": ["get", "list", "watch"], "apiGroups": [""], "resources": ["pods", "pods/log"]},
        {"verbs": ["get"], "nonResourceURLs": ["/healthz", "/metrics/*"]},
    ])).await;
    fx.binding(
        None,
        "read-pods",
        ("ClusterRole", "pod-reader"),
        users("User", "alice"),
    )
    .await;
    fx.role("dev", "cm-editor", json!([
        {"verbs": ["get", "list", "create", "update"], "apiGroups": [""], "resources": ["configmaps"]},
        {"verbs": ["get", "delete"], "apiGroups": [""], "resources": ["secrets"], "resourceNames": ["one"]},
    ])).await;
    fx.binding(
        Some("dev"),
        "edit-cms",
        ("Role", "cm-editor"),
        users("Group", "devs"),
    )
    .await;
    fx.binding(
        Some("dev"),
        "read-pods-in-dev",
        ("ClusterRole", "pod-reader"),
        users("User", "bob"),
    )
    .await;
    let rbac = fx.started().await;

    let alice = user("alice", &["system:authenticated"]);
    let bob = user("bob", &["devs", "system:authenticated"]);
    let admin = user("admin", &["system:masters"]);

    // Superusers: everything, no reason.
    let answer = rbac.authorize(&req(&admin, "delete", "apps", "x", "deployments", "d"));
    assert_eq!(answer, Authorized::allow(""));
    assert!(rbac
        .authorize(&path(&admin, "post", "/anything"))
        .is_allowed());

    // A ClusterRoleBinding works in every namespace and at the cluster scope.
    let answer = rbac.authorize(&req(&alice, "get", "", "prod", "pods", "p"));
    assert_eq!(
        answer,
        Authorized::allow(
            r#"RBAC: allowed by ClusterRoleBinding "read-pods" of ClusterRole "pod-reader" to User "alice""#
        )
    );
    assert!(rbac
        .authorize(&req(&alice, "list", "", "", "pods", ""))
        .is_allowed());
    assert_eq!(
        rbac.authorize(&req(&alice, "delete", "", "prod", "pods", "p")),
        Authorized::no_opinion("")
    );
    assert!(!rbac
        .authorize(&req(&alice, "get", "apps", "prod", "pods", "p"))
        .is_allowed());

    // Subresources need their own rule.
    assert!(rbac
        .authorize(&req(&alice, "get", "", "prod", "pods/log", "p"))
        .is_allowed());
    assert!(!rbac
        .authorize(&req(&alice, "get", "", "prod", "pods/exec", "p"))
        .is_allowed());

    // Non-resource URLs.
    assert!(rbac
        .authorize(&path(&alice, "get", "/healthz"))
        .is_allowed());
    assert!(rbac
        .authorize(&path(&alice, "get", "/metrics/cadvisor"))
        .is_allowed());
    assert!(!rbac
        .authorize(&path(&alice, "get", "/metrics"))
        .is_allowed());
    assert!(!rbac
        .authorize(&path(&alice, "post", "/healthz"))
        .is_allowed());
    assert!(
        !rbac.authorize(&path(&bob, "get", "/healthz")).is_allowed(),
        "a RoleBinding grants no URLs"
    );

    // A RoleBinding only in its namespace, through a group.
    let answer = rbac.authorize(&req(&bob, "create", "", "dev", "configmaps", ""));
    assert_eq!(
        answer,
        Authorized::allow(
            r#"RBAC: allowed by RoleBinding "edit-cms/dev" of Role "cm-editor" to Group "devs""#
        )
    );
    assert!(!rbac
        .authorize(&req(&bob, "create", "", "prod", "configmaps", ""))
        .is_allowed());
    assert!(!rbac
        .authorize(&req(&bob, "list", "", "", "configmaps", ""))
        .is_allowed());
    // A RoleBinding of a ClusterRole grants it in the namespace only.
    assert_eq!(
        rbac.authorize(&req(&bob, "get", "", "dev", "pods", "p"))
            .reason,
        r#"RBAC: allowed by RoleBinding "read-pods-in-dev/dev" of ClusterRole "pod-reader" to User "bob""#
    );
    assert!(!rbac
        .authorize(&req(&bob, "get", "", "prod", "pods", "p"))
        .is_allowed());

    // Resource names.
    assert!(rbac
        .authorize(&req(&bob, "get", "", "dev", "secrets", "one"))
        .is_allowed());
    assert!(!rbac
        .authorize(&req(&bob, "get", "", "dev", "secrets", "two"))
        .is_allowed());
    assert!(!rbac
        .authorize(&req(&bob, "list", "", "dev", "secrets", ""))
        .is_allowed());

    // Rules for SelfSubjectRulesReview.
    let rules = rbac.rules_for(&bob, "dev");
    assert_eq!(rules.resource_rules.len(), 3);
    assert_eq!(rules.non_resource_rules.len(), 1);
    assert_eq!(rules.evaluation_error, "");
    assert!(rbac.rules_for(&bob, "prod").resource_rules.is_empty());
    assert_eq!(rbac.rules_for(&alice, "").resource_rules.len(), 1);
}

#[tokio::test]
async fn service_accounts_and_missing_roles() {
    let fx = Fixture::new().await;
    fx.role(
        "ci",
        "deployer",
        json!([{"verbs": ["*"], "apiGroups": ["apps"], "resources": ["deployments"]}]),
    )
    .await;
    fx.binding(
        Some("ci"),
        "builder-deploys",
        ("Role", "deployer"),
        json!([{"kind": "ServiceAccount", "name": "builder"}]),
    )
    .await;
    fx.binding(
        Some("ci"),
        "other-ns-sa",
        ("Role", "deployer"),
        json!([{"kind": "ServiceAccount", "name": "robot", "namespace": "tools"}]),
    )
    .await;
    fx.binding(
        None,
        "dangling",
        ("ClusterRole", "gone"),
        users("User", "eve"),
    )
    .await;
    fx.binding(
        Some("ci"),
        "dangling-role",
        ("Role", "nope"),
        users("User", "eve"),
    )
    .await;
    let rbac = fx.started().await;

    let builder = user(
        "system:serviceaccount:ci:builder",
        &["system:serviceaccounts"],
    );
    assert_eq!(
        rbac.authorize(&req(&builder, "patch", "apps", "ci", "deployments", "web"))
            .reason,
        r#"RBAC: allowed by RoleBinding "builder-deploys/ci" of Role "deployer" to ServiceAccount "builder/ci""#
    );
    let robot = user("system:serviceaccount:tools:robot", &[]);
    assert_eq!(
        rbac.authorize(&req(&robot, "get", "apps", "ci", "deployments", "web"))
            .reason,
        r#"RBAC: allowed by RoleBinding "other-ns-sa/ci" of Role "deployer" to ServiceAccount "robot/tools""#
    );
    let stranger = user("system:serviceaccount:other:builder", &[]);
    assert!(!rbac
        .authorize(&req(&stranger, "get", "apps", "ci", "deployments", "web"))
        .is_allowed());

    // Bindings to missing roles grant nothing and are reported.
    let eve = user("eve", &[]);
    let answer = rbac.authorize(&req(&eve, "get", "", "ci", "pods", "p"));
    assert_eq!(answer.decision, Decision::NoOpinion);
    assert_eq!(
        answer.reason,
        r#"RBAC: [clusterrole.rbac.authorization.k8s.io "gone" not found, role.rbac.authorization.k8s.io "nope" not found]"#
    );
    let answer = rbac.authorize(&req(&eve, "get", "", "", "nodes", "n"));
    assert_eq!(
        answer.reason,
        r#"RBAC: clusterrole.rbac.authorization.k8s.io "gone" not found"#
    );
    let rules = rbac.rules_for(&eve, "");
    assert!(!rules.incomplete);
    assert_eq!(
        rules.evaluation_error,
        r#"clusterrole.rbac.authorization.k8s.io "gone" not found"#
    );
}

#[tokio::test]
async fn changes_are_seen_through_the_watch() {
    let fx = Fixture::new().await;
    fx.cluster_role(
        "viewer",
        json!([{"verbs": ["get"], "apiGroups": ["*"], "resources": ["*"]}]),
    )
    .await;
    let rbac = fx.started().await;
    let frank = user("frank", &[]);
    let attrs = req(&frank, "get", "", "dev", "services", "s");
    assert!(!rbac.authorize(&attrs).is_allowed());

    fx.binding(
        Some("dev"),
        "frank-views",
        ("ClusterRole", "viewer"),
        users("User", "frank"),
    )
    .await;
    let took = eventually(|| rbac.authorize(&attrs).is_allowed()).await;
    assert!(took < Duration::from_secs(1), "binding seen after {took:?}");

    // Removing the role's rules takes the permission away.
    let mut role = fx.cluster_roles.get(None, "viewer").await.expect("role");
    role["rules"] = json!([]);
    fx.cluster_roles
        .update(None, "viewer", role, &WriteOptions::default())
        .await
        .expect("update");
    eventually(|| !rbac.authorize(&attrs).is_allowed()).await;

    // And a deleted binding grants nothing, even once the rules are back.
    fx.role(
        "dev",
        "svc",
        json!([{"verbs": ["get"], "apiGroups": [""], "resources": ["services"]}]),
    )
    .await;
    fx.binding(
        Some("dev"),
        "frank-svc",
        ("Role", "svc"),
        users("User", "frank"),
    )
    .await;
    eventually(|| rbac.authorize(&attrs).is_allowed()).await;
    fx.role_bindings
        .delete(
            Some("dev"),
            "frank-svc",
            &DeleteOptions::default(),
            &WriteOptions::default(),
        )
        .await
        .expect("delete");
    eventually(|| !rbac.authorize(&attrs).is_allowed()).await;
}

fn write<'a>(
    u: &'a UserInfo,
    plural: &str,
    ns: Option<&'a str>,
    object: &'a Value,
) -> RbacWrite<'a> {
    RbacWrite {
        user: u,
        info: super::test_support::info(plural),
        namespace: ns,
        url_name: None,
        object,
        old: None,
    }
}

#[tokio::test]
async fn escalation_prevention() {
    let fx = Fixture::new().await;
    fx.role(
        "dev",
        "cm-editor",
        json!([
            {"verbs": ["get", "list", "create"], "apiGroups": [""], "resources": ["configmaps"]},
        ]),
    )
    .await;
    fx.binding(
        Some("dev"),
        "edit-cms",
        ("Role", "cm-editor"),
        users("Group", "devs"),
    )
    .await;
    fx.cluster_role("escalator", json!([
        {"verbs": ["escalate", "create"], "apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"]},
    ])).await;
    fx.binding(
        None,
        "carol-escalates",
        ("ClusterRole", "escalator"),
        users("User", "carol"),
    )
    .await;
    fx.cluster_role(
        "secret-admin",
        json!([{"verbs": ["*"], "apiGroups": [""], "resources": ["secrets"]}]),
    )
    .await;
    fx.cluster_role("binder", json!([
        {"verbs": ["bind"], "apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"], "resourceNames": ["secret-admin"]},
    ])).await;
    fx.binding(
        None,
        "dave-binds",
        ("ClusterRole", "binder"),
        users("User", "dave"),
    )
    .await;
    let rbac = fx.started().await;
    let authz = Authorization::new(vec![rbac.clone() as Arc<dyn Authorizer>]);

    let bob = user("bob", &["devs", "system:authenticated"]);
    let role = |name: &str, rules: Value| json!({"metadata": {"name": name, "namespace": "dev"}, "rules": rules});

    // Rules the user holds: allowed.
    let held = role(
        "cm-reader",
        json!([{"verbs": ["get", "list"], "apiGroups": [""], "resources": ["configmaps"]}]),
    );
    check_rbac_write(&authz, &rbac, &write(&bob, "roles", Some("dev"), &held)).expect("covered");

    // More than the user holds: 403 naming what is missing.
    let more = role(
        "sneaky",
        json!([
            {"verbs": ["get", "delete"], "apiGroups": [""], "resources": ["configmaps", "secrets"]},
        ]),
    );
    let err = check_rbac_write(&authz, &rbac, &write(&bob, "roles", Some("dev"), &more))
        .expect_err("escalation");
    assert_eq!(err.status.code, 403);
    assert_eq!(
        err.status.message,
        "roles.rbac.authorization.k8s.io \"sneaky\" is forbidden: user \"bob\" (groups=[\"devs\" \"system:authenticated\"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:[\"\"], Resources:[\"configmaps\"], Verbs:[\"delete\"]}\n{APIGroups:[\"\"], Resources:[\"secrets\"], Verbs:[\"get\" \"delete\"]}"
    );
    // The same rules in another namespace: bob holds nothing there.
    let elsewhere = json!({"metadata": {"name": "r", "namespace": "prod"}, "rules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"]}]});
    assert!(check_rbac_write(
        &authz,
        &rbac,
        &write(&bob, "roles", Some("prod"), &elsewhere)
    )
    .is_err());

    // The escalate verb lifts the check; superusers skip it.
    let carol = user("carol", &[]);
    check_rbac_write(&authz, &rbac, &write(&carol, "roles", Some("dev"), &more)).expect("escalate");
    let admin = user("admin", &["system:masters"]);
    check_rbac_write(&authz, &rbac, &write(&admin, "roles", Some("dev"), &more))
        .expect("superuser");

    // An update that only touches owner references or finalizers passes.
    let mut gc_only = more.clone();
    gc_only["metadata"]["finalizers"] = json!(["example.com/keep"]);
    let update = RbacWrite {
        old: Some(&more),
        url_name: Some("sneaky"),
        ..write(&bob, "roles", Some("dev"), &gc_only)
    };
    check_rbac_write(&authz, &rbac, &update).expect("gc-only update");

    // ClusterRoles with an aggregation rule need everything.
    let aggregated = json!({"metadata": {"name": "agg"}, "rules": [],
        "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"a": "b"}}]}});
    let err = check_rbac_write(
        &authz,
        &rbac,
        &write(&bob, "clusterroles", None, &aggregated),
    )
    .expect_err("aggregation");
    assert_eq!(
        err.status.message,
        "clusterroles.rbac.authorization.k8s.io \"agg\" is forbidden: must have cluster-admin privileges to use the aggregationRule"
    );

    // Bindings: to a role the user holds, yes; to more, no; with `bind` on the role, yes.
    let binding = |name: &str, kind: &str, role: &str| {
        json!({"metadata": {"name": name, "namespace": "dev"},
        "subjects": users("User", "mallory"),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": role}})
    };
    let same = binding("share", "Role", "cm-editor");
    check_rbac_write(
        &authz,
        &rbac,
        &write(&bob, "rolebindings", Some("dev"), &same),
    )
    .expect("held");
    let secrets = binding("grab", "ClusterRole", "secret-admin");
    let err = check_rbac_write(
        &authz,
        &rbac,
        &write(&bob, "rolebindings", Some("dev"), &secrets),
    )
    .expect_err("not held");
    assert_eq!(
        err.status.message,
        "rolebindings.rbac.authorization.k8s.io \"grab\" is forbidden: user \"bob\" (groups=[\"devs\" \"system:authenticated\"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:[\"\"], Resources:[\"secrets\"], Verbs:[\"*\"]}"
    );
    let dave = user("dave", &[]);
    check_rbac_write(
        &authz,
        &rbac,
        &write(&dave, "rolebindings", Some("dev"), &secrets),
    )
    .expect("bind verb");
    let other = binding("grab2", "ClusterRole", "escalator");
    assert!(check_rbac_write(
        &authz,
        &rbac,
        &write(&dave, "rolebindings", Some("dev"), &other)
    )
    .is_err());
    let crb = json!({"metadata": {"name": "grab-all"}, "subjects": users("User", "mallory"),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "secret-admin"}});
    check_rbac_write(
        &authz,
        &rbac,
        &write(&dave, "clusterrolebindings", None, &crb),
    )
    .expect("bind at cluster scope");

    // A binding to a missing role is forbidden with the registry's not-found message.
    let missing = binding("b", "Role", "nope");
    let err = check_rbac_write(
        &authz,
        &rbac,
        &write(&bob, "rolebindings", Some("dev"), &missing),
    )
    .expect_err("missing");
    assert_eq!(
        err.status.message,
        "rolebindings.rbac.authorization.k8s.io \"b\" is forbidden: roles.rbac.authorization.k8s.io \"nope\" not found"
    );

    // With an AlwaysAllow union, the escalate and bind checks pass.
    let allow_all = Authorization::new(vec![Arc::new(AlwaysAllow)]);
    check_rbac_write(&allow_all, &rbac, &write(&bob, "roles", Some("dev"), &more))
        .expect("allowed");
    // Other resources are not checked.
    let cm = catalog::builtin()
        .lookup("", "v1", "configmaps")
        .expect("row");
    let any = json!({"metadata": {"name": "x"}});
    check_rbac_write(
        &authz,
        &rbac,
        &RbacWrite {
            info: cm,
            ..write(&bob, "roles", Some("dev"), &any)
        },
    )
    .expect("not rbac");
}
