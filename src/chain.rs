//! The filter chain, in request order.
//!
//! [`build`] is the one place that decides which filters run and in which order. It follows
//! upstream's `DefaultBuildHandlerChain` (`k8s.io/apiserver/pkg/server/config.go`), read from the
//! outside in:
//!
//! | upstream filter | here |
//! |-----------------|------|
//! | `WithAuditInit` | [`audit_id::assign_audit_id`] |
//! | `WithHTTPLogging` | [`log_request`] (outside panic recovery, so a panicked request is logged with its 500) |
//! | `WithPanicRecovery` | [`panic::recover_panics`] |
//! | `WithRequestInfo` | [`request_info::attach_request_info`] |
//! | (`WithLatencyTrackers`, route instrumentation) | [`metrics::record_requests`] |
//! | `WithRequestDeadline` + `WithTimeoutForNonLongRunningRequests` | [`timeout::enforce_deadline`] |
//! | `WithCORS` | [`cors::cors`] (when `server.cors_allowed_origins` is set) |
//! | `WithFailedAuthenticationAudit` | [`audit::filter::audit_failed_authentication`] (when auditing) |
//! | `WithAuthentication` | [`authn::authenticate`] |
//! | `WithAudit` | [`audit::filter::audit`] (when auditing) |
//! | `WithImpersonation` | [`impersonation::impersonate`] |
//! | `WithPriorityAndFairness` / `WithMaxInFlightLimit` | [`priority_and_fairness::priority_and_fairness`] when `server.enable_priority_and_fairness`, else [`max_in_flight::limit_in_flight`] |
//! | `WithAuthorization` | [`authz::filter::authorize`] |
//!
//! A tower `ServiceBuilder` runs its layers in the order they are written, so the list below reads
//! top to bottom in request order. A new filter is one `.layer(...)` line at its place;
//! `.option_layer(...)` switches one on by configuration.

use std::sync::Arc;
use std::time::Duration;

use axum::middleware::{from_fn, from_fn_with_state};
use tower::ServiceBuilder;

use crate::filters::audit::{self, Auditor};
use crate::filters::authn::{self, Authentication};
use crate::filters::authz;
use crate::filters::cors::{self, CorsConfig};
use crate::filters::httplog::log_request;
use crate::filters::max_in_flight::{self, InFlightLimits};
use crate::filters::metrics::{self, Metrics};
use crate::filters::priority_and_fairness::{self, PriorityAndFairness};
use crate::filters::{audit_id, impersonation, panic, request_info, timeout};
use crate::request::authorization::Authorization;

/// What the filters need: settings and the shared access-control state.
#[derive(Debug, Clone)]
pub struct ChainConfig {
    /// `server.request_timeout_seconds`.
    pub request_timeout: Duration,
    /// `server.cors_allowed_origins`, compiled; `None` switches CORS off.
    pub cors: Option<Arc<CorsConfig>>,
    /// The authenticators, and whether anonymous requests are allowed (`auth.anonymous`).
    pub authentication: Arc<Authentication>,
    /// The audit policy and log; `None` when auditing is off.
    pub auditor: Option<Arc<Auditor>>,
    /// The authorizers of `auth.authorization_modes` (also asked by impersonation).
    pub authorization: Arc<Authorization>,
    /// `server.max_requests_inflight` and `server.max_mutating_requests_inflight`.
    pub in_flight: InFlightLimits,
    /// API Priority and Fairness; when set it takes max-in-flight's place, as upstream runs one
    /// or the other.
    pub priority_and_fairness: Option<PriorityAndFairness>,
    /// Request counts and latencies, served at `/metrics`.
    pub metrics: Arc<Metrics>,
}

/// Wraps `handler` (the servers) in the filter chain. Every request, whatever its path, passes
/// through every filter.
pub fn build(handler: axum::Router, cfg: &ChainConfig) -> axum::Router {
    let auditor = cfg.auditor.clone();
    let filters = ServiceBuilder::new()
        .layer(from_fn(audit_id::assign_audit_id))
        .layer(from_fn(log_request))
        .layer(from_fn(panic::recover_panics))
        .layer(from_fn(request_info::attach_request_info))
        .layer(from_fn_with_state(
            cfg.metrics.clone(),
            metrics::record_requests,
        ))
        .layer(from_fn_with_state(
            timeout::TimeoutConfig {
                request_timeout: cfg.request_timeout,
            },
            timeout::enforce_deadline,
        ))
        .option_layer(
            cfg.cors
                .clone()
                .map(|cors| from_fn_with_state(cors, cors::cors)),
        )
        .option_layer(
            auditor
                .clone()
                .map(|a| from_fn_with_state(a, audit::filter::audit_failed_authentication)),
        )
        .layer(from_fn_with_state(
            cfg.authentication.clone(),
            authn::authenticate,
        ))
        .option_layer(auditor.map(|a| from_fn_with_state(a, audit::filter::audit)))
        .layer(from_fn_with_state(
            cfg.authorization.clone(),
            impersonation::impersonate,
        ))
        .option_layer(
            cfg.priority_and_fairness
                .clone()
                .map(|apf| from_fn_with_state(apf, priority_and_fairness::priority_and_fairness)),
        )
        .option_layer(
            cfg.priority_and_fairness
                .is_none()
                .then(|| from_fn_with_state(cfg.in_flight.clone(), max_in_flight::limit_in_flight)),
        )
        .layer(from_fn_with_state(
            cfg.authorization.clone(),
            authz::authorize,
        ));
    axum::Router::new().fallback_service(filters.service(handler))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filters::audit_id::AuditId;
    use crate::filters::timeout::RequestDeadline;
    use crate::request::connection::ClientCertIdentity;
    use crate::request::info::RequestInfo;
    use crate::request::user::UserInfo;
    use axum::body::Body;
    use axum::extract::Request;
    use tower::ServiceExt as _;

    fn chain(anonymous: bool, timeout: Duration) -> axum::Router {
        async fn inspect(req: Request) -> String {
            let info = req
                .extensions()
                .get::<RequestInfo>()
                .cloned()
                .unwrap_or_default();
            let user = req
                .extensions()
                .get::<UserInfo>()
                .cloned()
                .unwrap_or_default();
            let deadline = req.extensions().get::<RequestDeadline>().is_some();
            let audit = req.extensions().get::<AuditId>().is_some();
            format!(
                "{} {} {} deadline={deadline} audit={audit}",
                info.verb, info.resource, user.name
            )
        }
        async fn slow() -> &'static str {
            tokio::time::sleep(Duration::from_millis(300)).await;
            "late"
        }
        async fn boom() -> &'static str {
            panic!("handler bug")
        }
        let handler = axum::Router::new()
            .route("/api/v1/namespaces/{ns}/pods", axum::routing::get(inspect))
            .route("/api/v1/slow", axum::routing::get(slow))
            .route("/api/v1/boom", axum::routing::get(boom));
        let cfg = ChainConfig {
            request_timeout: timeout,
            cors: None,
            authentication: Arc::new(Authentication::new(anonymous)),
            auditor: None,
            authorization: Arc::new(Authorization::new(vec![Arc::new(
                crate::request::authorization::AlwaysAllow,
            )])),
            in_flight: InFlightLimits::new(400, 200),
            priority_and_fairness: None,
            metrics: Arc::new(Metrics::new().expect("metrics")),
        };
        build(handler, &cfg)
    }

    async fn get(app: axum::Router, url: &str, cert: bool) -> (u16, Option<String>, String) {
        let mut request = Request::get(url).body(Body::empty()).expect("request");
        if cert {
            request.extensions_mut().insert(ClientCertIdentity {
                user: "alice".into(),
                groups: vec!["devs".into()],
            });
        }
        let response = app.oneshot(request).await.expect("response");
        let status = response.status().as_u16();
        let audit = response
            .headers()
            .get("audit-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = axum::body::to_bytes(response.into_body(), 8192)
            .await
            .expect("body");
        (status, audit, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn filters_run_in_order_and_fill_the_extensions() {
        let (status, audit, body) = get(
            chain(false, Duration::from_secs(5)),
            "/api/v1/namespaces/a/pods",
            true,
        )
        .await;
        assert_eq!(status, 200);
        assert!(audit.is_some());
        assert_eq!(body, "list pods alice deadline=true audit=true");

        let (_, _, body) = get(
            chain(false, Duration::from_secs(5)),
            "/api/v1/namespaces/a/pods?watch=true",
            true,
        )
        .await;
        assert_eq!(body, "watch pods alice deadline=false audit=true");
    }

    #[tokio::test]
    async fn failures_are_statuses_with_an_audit_id() {
        // No credentials: 401 from authentication, still with an Audit-Id.
        let (status, audit, body) = get(
            chain(false, Duration::from_secs(5)),
            "/api/v1/namespaces/a/pods",
            false,
        )
        .await;
        assert_eq!(status, 401);
        assert!(audit.is_some());
        assert!(body.contains("\"reason\":\"Unauthorized\""), "{body}");

        // Anonymous access on.
        let (status, _, body) = get(
            chain(true, Duration::from_secs(5)),
            "/api/v1/namespaces/a/pods",
            false,
        )
        .await;
        assert_eq!(
            (status, body.as_str()),
            (200, "list pods system:anonymous deadline=true audit=true")
        );

        // Timeout.
        let (status, audit, body) = get(
            chain(false, Duration::from_millis(50)),
            "/api/v1/slow",
            true,
        )
        .await;
        assert_eq!(status, 504);
        assert!(audit.is_some());
        assert!(body.contains("\"reason\":\"Timeout\""), "{body}");

        // Panic.
        let (status, audit, body) =
            get(chain(false, Duration::from_secs(5)), "/api/v1/boom", true).await;
        assert_eq!(status, 500);
        assert!(audit.is_some());
        assert!(body.contains("\"reason\":\"InternalError\""), "{body}");

        // Unknown paths go through the chain too (401 before anything else answers).
        let (status, _, _) = get(chain(false, Duration::from_secs(5)), "/nowhere", false).await;
        assert_eq!(status, 401);
    }
}
