//! RBAC writes through the REST layer: the escalation checks of creates, patches and updates.

use std::sync::Arc;

use serde_json::{json, Value};

use crate::rbac::test_support::{user, users, Fixture};
use crate::request::authorization::{Authorization, Authorizer};
use crate::request::user::UserInfo;

/// Sends one request with `user` through the core server.
async fn send(
    router: &axum::Router,
    u: &UserInfo,
    method: &str,
    uri: &str,
    content_type: &str,
    body: Value,
) -> (u16, Value) {
    use tower::ServiceExt as _;
    let mut request = http::Request::builder()
        .method(method)
        .uri(uri)
        .header(http::header::CONTENT_TYPE, content_type)
        .body(axum::body::Body::from(body.to_string()))
        .expect("request");
    request.extensions_mut().insert(u.clone());
    let response = router.clone().oneshot(request).await.expect("response");
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn handlers_check_rbac_writes() {
    use crate::registry::stores::ResourceStores;
    use crate::servers::core::{router, CoreContext};
    let fx = Fixture::new().await;
    fx.role(
        "dev",
        "cm-editor",
        json!([
            {"verbs": ["get", "create"], "apiGroups": [""], "resources": ["configmaps"]},
        ]),
    )
    .await;
    fx.binding(
        Some("dev"),
        "edit-cms",
        ("Role", "cm-editor"),
        users("User", "bob"),
    )
    .await;
    let rbac = fx.started().await;
    let mut stores = ResourceStores::new();
    for store in [
        &fx.roles,
        &fx.role_bindings,
        &fx.cluster_roles,
        &fx.cluster_role_bindings,
    ] {
        stores.insert(store.clone());
    }
    let authz = Arc::new(Authorization::new(
        vec![rbac.clone() as Arc<dyn Authorizer>],
    ));
    let api = router(
        CoreContext::new(Arc::new(stores))
            .with_authorization(authz)
            .with_rbac(rbac),
    );
    let bob = user("bob", &["system:authenticated"]);
    let roles = "/apis/rbac.authorization.k8s.io/v1/namespaces/dev/roles";
    let role = |name: &str, resource: &str| {
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": name}, "rules": [{"verbs": ["get"], "apiGroups": [""], "resources": [resource]}]})
    };

    // Create: covered rules pass, others are 403 with upstream's message.
    let (status, _) = send(
        &api,
        &bob,
        "POST",
        roles,
        "application/json",
        role("ok", "configmaps"),
    )
    .await;
    assert_eq!(status, 201);
    let (status, body) = send(
        &api,
        &bob,
        "POST",
        roles,
        "application/json",
        role("bad", "secrets"),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        body["message"],
        "roles.rbac.authorization.k8s.io \"bad\" is forbidden: user \"bob\" (groups=[\"system:authenticated\"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:[\"\"], Resources:[\"secrets\"], Verbs:[\"get\"]}"
    );
    assert_eq!(
        body["details"],
        json!({"name": "bad", "group": "rbac.authorization.k8s.io", "kind": "roles"})
    );

    // Patch: checked on the patched object.
    let escalate =
        json!({"rules": [{"verbs": ["delete"], "apiGroups": [""], "resources": ["configmaps"]}]});
    let (status, body) = send(
        &api,
        &bob,
        "PATCH",
        &format!("{roles}/ok"),
        "application/merge-patch+json",
        escalate,
    )
    .await;
    assert_eq!(status, 403, "{body}");
    let gc_only = json!({"metadata": {"finalizers": ["example.com/hold"]}});
    let (status, body) = send(
        &api,
        &bob,
        "PATCH",
        &format!("{roles}/ok"),
        "application/merge-patch+json",
        gc_only,
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // Update: checked against the stored object.
    let mut replaced = body.clone();
    replaced["rules"][0]["resources"] = json!(["secrets"]);
    let (status, _) = send(
        &api,
        &bob,
        "PUT",
        &format!("{roles}/ok"),
        "application/json",
        replaced,
    )
    .await;
    assert_eq!(status, 403);
    let mut relabelled = body;
    relabelled["metadata"]["labels"] = json!({"a": "b"});
    let (status, out) = send(
        &api,
        &bob,
        "PUT",
        &format!("{roles}/ok"),
        "application/json",
        relabelled,
    )
    .await;
    assert_eq!(status, 200, "{out}");
}
