//! Max in-flight: at most `server.max_requests_inflight` read-only and
//! `server.max_mutating_requests_inflight` mutating requests are served at once, as upstream's
//! `WithMaxInFlightLimit` (`k8s.io/apiserver/pkg/server/filters/maxinflight.go`):
//!
//! * `get`, `list` and `watch` count as read-only, every other verb as mutating;
//! * long-running requests ([`is_long_running`]: watches, proxies, `exec`...) are not counted;
//! * a limit of 0 means unlimited;
//! * over the limit the request is answered at once (no queueing) with upstream's plain-text
//!   `429 Too many requests, please try again later.` and `Retry-After: 1`, which client-go
//!   honours by retrying; members of `system:masters` are served anyway, as upstream lets its
//!   super-admin through.
//!
//! With [`InFlightLimits::with_metrics`], every request holding a slot is counted in
//! `apiserver_current_inflight_requests{request_kind="readOnly"|"mutating"}` while it holds it.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, StatusCode};
use tokio::sync::Semaphore;

use crate::api::status::ApiError;
use crate::filters::metrics::{Metrics, MUTATING_KIND, READ_ONLY_KIND};
use crate::filters::timeout::is_long_running;
use crate::request::info::RequestInfo;
use crate::request::user::UserInfo;

/// The group upstream never rate-limits (`user.SystemPrivilegedGroup`).
pub const SYSTEM_MASTERS: &str = "system:masters";

/// The body of upstream's 429 (Go's `http.Error` adds the newline).
const TOO_MANY_REQUESTS: &str = "Too many requests, please try again later.\n";

/// The two pools of in-flight slots; `None` is unlimited.
#[derive(Debug, Clone)]
pub struct InFlightLimits {
    read_only: Option<Arc<Semaphore>>,
    mutating: Option<Arc<Semaphore>>,
    metrics: Option<Arc<Metrics>>,
}

impl InFlightLimits {
    /// Limits of `read_only` and `mutating` requests; 0 is unlimited.
    pub fn new(read_only: u32, mutating: u32) -> Self {
        let pool = |limit: u32| (limit > 0).then(|| Arc::new(Semaphore::new(limit as usize)));
        Self {
            read_only: pool(read_only),
            mutating: pool(mutating),
            metrics: None,
        }
    }

    /// Reports the requests holding a slot in `metrics`' in-flight gauge.
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }
}

/// Whether upstream counts `verb` as read-only.
fn is_read_only(verb: &str) -> bool {
    matches!(verb, "get" | "list" | "watch")
}

/// The filter: runs after authentication (it needs the user) and before authorization.
pub async fn limit_in_flight(
    State(limits): State<InFlightLimits>,
    req: Request,
    next: Next,
) -> Response {
    let Some(info) = req.extensions().get::<RequestInfo>() else {
        return ApiError::internal(
            "no RequestInfo found in the context, handler chain must be wrong",
        )
        .into_response();
    };
    if is_long_running(info) {
        return next.run(req).await;
    }
    let (pool, kind) = if is_read_only(&info.verb) {
        (&limits.read_only, READ_ONLY_KIND)
    } else {
        (&limits.mutating, MUTATING_KIND)
    };
    let Some(pool) = pool else {
        return next.run(req).await;
    };
    match pool.clone().try_acquire_owned() {
        Ok(_slot) => {
            let _counted = limits.metrics.as_ref().map(|m| m.track_in_flight(kind));
            next.run(req).await
        }
        Err(_) => {
            let privileged = req
                .extensions()
                .get::<UserInfo>()
                .is_some_and(|user| user.in_group(SYSTEM_MASTERS));
            if privileged {
                return next.run(req).await;
            }
            too_many_requests()
        }
    }
}

fn too_many_requests() -> Response {
    let mut response = (StatusCode::TOO_MANY_REQUESTS, TOO_MANY_REQUESTS).into_response();
    let headers = response.headers_mut();
    headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::middleware::from_fn_with_state;
    use axum::routing::any;
    use std::time::Duration;
    use tokio::sync::Notify;
    use tower::ServiceExt as _;

    /// A router whose handler blocks until `release` is notified, behind the filter, with the
    /// request info and user set as the earlier filters would.
    fn app(limits: InFlightLimits, release: Arc<Notify>) -> axum::Router {
        axum::Router::new()
            .fallback(any(move || {
                let release = release.clone();
                async move {
                    release.notified().await;
                    "done"
                }
            }))
            .layer(from_fn_with_state(limits, limit_in_flight))
    }

    fn request(method: &str, path: &str, groups: &[&str]) -> http::Request<Body> {
        let mut req = http::Request::builder()
            .method(method)
            .uri(path)
            .body(Body::empty())
            .expect("request");
        let info = crate::request::info::RequestInfoFactory::default()
            .new_request_info(req.method(), req.uri())
            .expect("request info");
        req.extensions_mut().insert(info);
        req.extensions_mut().insert(UserInfo {
            name: "u".into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            ..Default::default()
        });
        req
    }

    async fn status_of(app: &axum::Router, req: http::Request<Body>) -> Response {
        tokio::time::timeout(Duration::from_secs(1), app.clone().oneshot(req))
            .await
            .expect("answered at once")
            .expect("infallible")
    }

    #[tokio::test]
    async fn a_full_pool_answers_429_with_retry_after_and_frees_slots_when_done() {
        let release = Arc::new(Notify::new());
        let app = app(InFlightLimits::new(1, 1), release.clone());
        // One read-only request holds the only read-only slot.
        let held = tokio::spawn(app.clone().oneshot(request(
            "GET",
            "/api/v1/namespaces/a/pods/p",
            &[],
        )));
        tokio::time::sleep(Duration::from_millis(50)).await;
        let rejected = status_of(&app, request("GET", "/api/v1/pods", &[])).await;
        assert_eq!(rejected.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(rejected.headers()[header::RETRY_AFTER], "1");
        let body = axum::body::to_bytes(rejected.into_body(), 1024)
            .await
            .expect("body");
        assert_eq!(&body[..], TOO_MANY_REQUESTS.as_bytes());

        // The mutating pool is separate: a create would be admitted (it then waits on the handler).
        let create = tokio::spawn(app.clone().oneshot(request(
            "POST",
            "/api/v1/namespaces/a/configmaps",
            &[],
        )));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            !create.is_finished(),
            "the create was admitted, not rejected"
        );
        // A second create is over the mutating limit.
        let rejected = status_of(
            &app,
            request("DELETE", "/api/v1/namespaces/a/configmaps/c", &[]),
        )
        .await;
        assert_eq!(rejected.status(), StatusCode::TOO_MANY_REQUESTS);

        // Release the held requests; the slots come back.
        release.notify_waiters();
        assert_eq!(held.await.unwrap().unwrap().status(), StatusCode::OK);
        assert_eq!(create.await.unwrap().unwrap().status(), StatusCode::OK);
        let again = tokio::spawn(app.clone().oneshot(request("GET", "/api/v1/pods", &[])));
        tokio::time::sleep(Duration::from_millis(50)).await;
        release.notify_waiters();
        assert_eq!(again.await.unwrap().unwrap().status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn watches_and_system_masters_are_not_limited() {
        let release = Arc::new(Notify::new());
        let app = app(InFlightLimits::new(1, 1), release.clone());
        let held = tokio::spawn(app.clone().oneshot(request("GET", "/api/v1/pods", &[])));
        tokio::time::sleep(Duration::from_millis(50)).await;
        // A watch is long-running: admitted although the pool is full.
        let watch = tokio::spawn(app.clone().oneshot(request(
            "GET",
            "/api/v1/pods?watch=true",
            &[],
        )));
        // A super-admin is admitted too.
        let admin = tokio::spawn(app.clone().oneshot(request(
            "GET",
            "/api/v1/pods",
            &[SYSTEM_MASTERS],
        )));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!watch.is_finished() && !admin.is_finished());
        release.notify_waiters();
        for task in [held, watch, admin] {
            assert_eq!(task.await.unwrap().unwrap().status(), StatusCode::OK);
        }
    }

    #[tokio::test]
    async fn requests_holding_a_slot_are_in_the_gauge() {
        let release = Arc::new(Notify::new());
        let metrics = Arc::new(Metrics::new().expect("metrics"));
        let app = app(
            InFlightLimits::new(5, 5).with_metrics(metrics.clone()),
            release.clone(),
        );
        let held = tokio::spawn(app.clone().oneshot(request("GET", "/api/v1/pods", &[])));
        let watch = tokio::spawn(app.clone().oneshot(request(
            "GET",
            "/api/v1/pods?watch=true",
            &[],
        )));
        tokio::time::sleep(Duration::from_millis(50)).await;
        let text = metrics.render().expect("render");
        // The watch is long-running: not counted.
        assert!(
            text.contains(r#"apiserver_current_inflight_requests{request_kind="readOnly"} 1"#),
            "{text}"
        );
        release.notify_waiters();
        held.await.expect("joined").expect("infallible");
        watch.await.expect("joined").expect("infallible");
        let text = metrics.render().expect("render");
        assert!(
            text.contains(r#"apiserver_current_inflight_requests{request_kind="readOnly"} 0"#),
            "{text}"
        );
    }

    #[tokio::test]
    async fn zero_means_unlimited() {
        let release = Arc::new(Notify::new());
        let app = app(InFlightLimits::new(0, 0), release.clone());
        let tasks: Vec<_> = (0..20)
            .map(|_| tokio::spawn(app.clone().oneshot(request("GET", "/api/v1/pods", &[]))))
            .collect();
        tokio::time::sleep(Duration::from_millis(50)).await;
        release.notify_waiters();
        for task in tasks {
            assert_eq!(task.await.unwrap().unwrap().status(), StatusCode::OK);
        }
    }
}
