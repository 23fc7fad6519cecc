//! The authorization filter: upstream's `WithAuthorization`
//! (`k8s.io/apiserver/pkg/endpoints/filters/authorization.go`).
//!
//! The request's [`Attributes`] (from the [`UserInfo`] and [`RequestInfo`] extensions) go to the
//! [`Authorization`] union. Allowed requests go on; anything else is answered with a 403 Forbidden
//! Status worded as upstream's `responsewriters.Forbidden`:
//!
//! ```text
//! configmaps is forbidden: User "alice" cannot list resource "configmaps" in API group "" in the namespace "default"
//! nodes "n1" is forbidden: User "alice" cannot get resource "nodes" in API group "" at the cluster scope
//! pods "p" is forbidden: User "alice" cannot get resource "pods/log" in API group "" in the namespace "default"
//! forbidden: User "alice" cannot get path "/metrics"
//! ```
//!
//! followed by `: <reason>` when the authorizer gave one.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::api::go_fmt::go_quote;
use crate::api::status::{ApiError, GroupResource};
use crate::filters::audit::{AuditContext, DECISION_ANNOTATION, REASON_ANNOTATION};
use crate::request::authorization::{Attributes, Authorization};
use crate::request::info::RequestInfo;
use crate::request::user::UserInfo;

/// Escapes what could read as HTML, as upstream's sanitizer does to the message.
fn sanitize(message: &str) -> String {
    message
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Upstream's `forbiddenMessage`.
fn forbidden_message(attrs: &Attributes) -> String {
    let user = go_quote(&attrs.user.name);
    if !attrs.is_resource_request {
        return format!(
            "User {user} cannot {} path {}",
            attrs.verb,
            go_quote(&attrs.path)
        );
    }
    let resource = if attrs.subresource.is_empty() {
        attrs.resource.clone()
    } else {
        format!("{}/{}", attrs.resource, attrs.subresource)
    };
    let scope = if attrs.namespace.is_empty() {
        "at the cluster scope".to_string()
    } else {
        format!("in the namespace {}", go_quote(&attrs.namespace))
    };
    format!(
        "User {user} cannot {} resource {} in API group {} {scope}",
        attrs.verb,
        go_quote(&resource),
        go_quote(&attrs.api_group)
    )
}

/// The 403 of a request that was not allowed, with the authorizer's `reason` (may be empty).
pub fn forbidden(attrs: &Attributes, reason: &str) -> ApiError {
    let message = sanitize(&forbidden_message(attrs));
    let why = if reason.is_empty() {
        message
    } else {
        format!("{message}: {reason}")
    };
    let gr = GroupResource::new(attrs.api_group.clone(), attrs.resource.clone());
    ApiError::forbidden(&gr, &attrs.name, &why)
}

/// The filter. It needs [`RequestInfo`] in the extensions (a 500 without it, as upstream) and
/// reads the [`UserInfo`] authentication put there.
pub async fn authorize(
    State(authorization): State<Arc<Authorization>>,
    req: Request,
    next: Next,
) -> Response {
    let Some(info) = req.extensions().get::<RequestInfo>() else {
        return ApiError::internal("no RequestInfo found in the context").into_response();
    };
    let user = req
        .extensions()
        .get::<UserInfo>()
        .cloned()
        .unwrap_or_default();
    let attrs = Attributes::of_request(&user, info);
    let decision = authorization.authorize(&attrs);
    if let Some(audit) = req.extensions().get::<Arc<AuditContext>>() {
        let verdict = if decision.is_allowed() {
            "allow"
        } else {
            "forbid"
        };
        audit.add_annotation(DECISION_ANNOTATION, verdict);
        audit.add_annotation(REASON_ANNOTATION, decision.reason.clone());
    }
    if decision.is_allowed() {
        return next.run(req).await;
    }
    tracing::debug!(
        user = %attrs.user.name,
        verb = %attrs.verb,
        resource = %attrs.resource,
        path = %attrs.path,
        reason = %decision.reason,
        "request forbidden"
    );
    forbidden(&attrs, &decision.reason).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::authorization::{
        AlwaysAllow, AlwaysDeny, Authorized, Authorizer, RulesInfo,
    };
    use axum::body::Body;
    use tower::ServiceExt as _;

    fn alice() -> UserInfo {
        UserInfo {
            name: "alice".into(),
            groups: vec!["system:authenticated".into()],
            ..Default::default()
        }
    }

    fn resource(verb: &str, group: &str, ns: &str, res: &str, sub: &str, name: &str) -> Attributes {
        Attributes {
            user: alice(),
            verb: verb.into(),
            is_resource_request: true,
            api_group: group.into(),
            api_version: "v1".into(),
            namespace: ns.into(),
            resource: res.into(),
            subresource: sub.into(),
            name: name.into(),
            ..Default::default()
        }
    }

    #[test]
    fn messages() {
        let cases = [
            (
                resource("list", "", "default", "configmaps", "", ""),
                "",
                r#"configmaps is forbidden: User "alice" cannot list resource "configmaps" in API group "" in the namespace "default""#,
            ),
            (
                resource("get", "", "", "nodes", "", "n1"),
                "",
                r#"nodes "n1" is forbidden: User "alice" cannot get resource "nodes" in API group "" at the cluster scope"#,
            ),
            (
                resource("get", "", "default", "pods", "log", "p"),
                "",
                r#"pods "p" is forbidden: User "alice" cannot get resource "pods/log" in API group "" in the namespace "default""#,
            ),
            (
                resource("create", "apps", "prod", "deployments", "", ""),
                "",
                r#"deployments.apps is forbidden: User "alice" cannot create resource "deployments" in API group "apps" in the namespace "prod""#,
            ),
            (
                resource(
                    "list",
                    "rbac.authorization.k8s.io",
                    "",
                    "clusterroles",
                    "",
                    "",
                ),
                r#"RBAC: clusterrole.rbac.authorization.k8s.io "gone" not found"#,
                r#"clusterroles.rbac.authorization.k8s.io is forbidden: User "alice" cannot list resource "clusterroles" in API group "rbac.authorization.k8s.io" at the cluster scope: RBAC: clusterrole.rbac.authorization.k8s.io "gone" not found"#,
            ),
            (
                Attributes {
                    user: alice(),
                    verb: "get".into(),
                    path: "/metrics".into(),
                    ..Default::default()
                },
                "",
                r#"forbidden: User "alice" cannot get path "/metrics""#,
            ),
            (
                Attributes {
                    user: alice(),
                    verb: "get".into(),
                    path: "/<script>".into(),
                    ..Default::default()
                },
                "",
                r#"forbidden: User "alice" cannot get path "/&lt;script&gt;""#,
            ),
        ];
        for (attrs, reason, want) in cases {
            let err = forbidden(&attrs, reason);
            assert_eq!(err.status.code, 403);
            assert_eq!(err.status.reason, "Forbidden");
            assert_eq!(err.status.message, want);
        }
        let details = forbidden(
            &resource("get", "apps", "ns", "deployments", "scale", "d"),
            "",
        )
        .status
        .details
        .expect("details");
        assert_eq!(
            (
                details.name.as_str(),
                details.group.as_str(),
                details.kind.as_str()
            ),
            ("d", "apps", "deployments")
        );
    }

    /// Allows only `get` and says why it has no opinion on the rest.
    struct OnlyGet;
    impl Authorizer for OnlyGet {
        fn name(&self) -> &'static str {
            "OnlyGet"
        }
        fn authorize(&self, attrs: &Attributes) -> Authorized {
            if attrs.verb == "get" {
                Authorized::allow("")
            } else {
                Authorized::no_opinion("only get")
            }
        }
        fn rules_for(&self, _user: &UserInfo, _namespace: &str) -> RulesInfo {
            RulesInfo::default()
        }
    }

    async fn call(authorization: Authorization, method: &str, user: bool) -> (u16, String) {
        let app = axum::Router::new()
            .route(
                "/api/v1/namespaces/{ns}/pods",
                axum::routing::any(|| async { "through" }),
            )
            .layer(axum::middleware::from_fn_with_state(
                Arc::new(authorization),
                authorize,
            ));
        let mut request = Request::builder()
            .method(method)
            .uri("/api/v1/namespaces/default/pods")
            .body(Body::empty())
            .expect("request");
        let info = crate::request::info::RequestInfo {
            is_resource_request: true,
            path: "/api/v1/namespaces/default/pods".into(),
            verb: if method == "GET" { "get" } else { "create" }.into(),
            api_prefix: "api".into(),
            api_version: "v1".into(),
            namespace: "default".into(),
            resource: "pods".into(),
            ..Default::default()
        };
        request.extensions_mut().insert(info);
        if user {
            request.extensions_mut().insert(alice());
        }
        let response = app.oneshot(request).await.expect("response");
        let status = response.status().as_u16();
        let body = axum::body::to_bytes(response.into_body(), 8192)
            .await
            .expect("body");
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn filter_decisions() {
        let (status, body) = call(
            Authorization::new(vec![Arc::new(AlwaysAllow)]),
            "POST",
            true,
        )
        .await;
        assert_eq!((status, body.as_str()), (200, "through"));

        let (status, body) = call(Authorization::new(vec![Arc::new(OnlyGet)]), "GET", true).await;
        assert_eq!((status, body.as_str()), (200, "through"));

        let (status, body) = call(Authorization::new(vec![Arc::new(OnlyGet)]), "POST", true).await;
        assert_eq!(status, 403);
        let status_body: serde_json::Value = serde_json::from_str(&body).expect("json");
        assert_eq!(
            status_body["message"],
            r#"pods is forbidden: User "alice" cannot create resource "pods" in API group "" in the namespace "default": only get"#
        );
        assert_eq!(status_body["details"], serde_json::json!({"kind": "pods"}));

        // No authorizer has an opinion: denied; a Deny stops the union.
        let (status, _) = call(Authorization::new(Vec::new()), "GET", true).await;
        assert_eq!(status, 403);
        let (status, body) = call(
            Authorization::new(vec![Arc::new(AlwaysDeny), Arc::new(AlwaysAllow)]),
            "GET",
            false,
        )
        .await;
        assert_eq!(status, 403);
        assert!(
            body.contains(r#"User \"\" cannot get resource \"pods\" in API group \"\" in the namespace \"default\": Everything is forbidden."#),
            "{body}"
        );
    }
}
