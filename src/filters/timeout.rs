//! Request deadline and timeout: upstream's `WithRequestDeadline` and
//! `WithTimeoutForNonLongRunningRequests`.
//!
//! * Long-running requests ([`is_long_running`]: watches, proxies, `exec`/`attach`/`log`/
//!   `portforward`) pass untouched.
//! * Every other request gets a deadline: `?timeout=<Go duration>` when it is positive and below
//!   `server.request_timeout_seconds`, otherwise that setting. The deadline is inserted into the
//!   request extensions as [`RequestDeadline`] so storage calls can honour it.
//! * A request whose response head is not ready by the deadline is answered with 504 `Timeout`
//!   (`Timeout: request did not complete within the allotted timeout`); the handler's future is
//!   dropped. A malformed `?timeout=` is 400 `BadRequest`.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::time::Instant;

use crate::api::status::ApiError;
use crate::catalog::go_duration::parse_go_duration;
use crate::request::info::RequestInfo;

/// Verbs whose requests run for long (upstream's `BasicLongRunningRequestCheck` in kube-apiserver).
const LONG_RUNNING_VERBS: &[&str] = &["watch", "proxy"];
/// Subresources whose requests run for long.
const LONG_RUNNING_SUBRESOURCES: &[&str] = &["attach", "exec", "proxy", "log", "portforward"];

/// The point by which a non-long-running request must have its answer, in its extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestDeadline(pub Instant);

impl RequestDeadline {
    /// The time left, zero when the deadline has passed.
    pub fn remaining(&self) -> Duration {
        self.0.saturating_duration_since(Instant::now())
    }
}

/// The settings of the filter.
#[derive(Debug, Clone, Copy)]
pub struct TimeoutConfig {
    /// `server.request_timeout_seconds`: the default and the maximum deadline.
    pub request_timeout: Duration,
}

/// Whether a request is exempt from the deadline.
pub fn is_long_running(info: &RequestInfo) -> bool {
    if LONG_RUNNING_VERBS.contains(&info.verb.as_str()) {
        return true;
    }
    if info.is_resource_request {
        return LONG_RUNNING_SUBRESOURCES.contains(&info.subresource.as_str());
    }
    info.path.starts_with("/debug/pprof/")
}

/// The timeout of a non-long-running request with this query string, capped at `maximum`.
pub fn request_timeout(query: Option<&str>, maximum: Duration) -> Result<Duration, ApiError> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query.unwrap_or("")).unwrap_or_default();
    let Some((_, value)) = pairs.iter().find(|(key, _)| key == "timeout") else {
        return Ok(maximum);
    };
    if value.is_empty() {
        return Ok(maximum);
    }
    let nanos = parse_go_duration(value).map_err(|why| {
        ApiError::bad_request(format!(
            "invalid timeout specified in the request URL - {why}"
        ))
    })?;
    // Zero or negative means "no timeout of my own"; more than the maximum is capped.
    match u64::try_from(nanos) {
        Ok(nanos) if nanos > 0 && Duration::from_nanos(nanos) < maximum => {
            Ok(Duration::from_nanos(nanos))
        }
        _ => Ok(maximum),
    }
}

/// The 504 a request gets when its deadline passes.
pub fn timeout_error() -> ApiError {
    let mut err = ApiError::timeout(
        "Timeout: request did not complete within the allotted timeout",
        0,
    );
    if let Some(details) = err.status.details.as_mut() {
        details.retry_after_seconds = None;
    }
    err
}

/// The filter. It needs the [`RequestInfo`] of the request (run after `attach_request_info`).
pub async fn enforce_deadline(
    State(config): State<TimeoutConfig>,
    mut req: Request,
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
    let timeout = match request_timeout(req.uri().query(), config.request_timeout) {
        Ok(timeout) => timeout,
        Err(err) => return err.into_response(),
    };
    let deadline = Instant::now() + timeout;
    req.extensions_mut().insert(RequestDeadline(deadline));
    match tokio::time::timeout_at(deadline, next.run(req)).await {
        Ok(response) => response,
        Err(_) => timeout_error().into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use tower::ServiceExt as _;

    #[test]
    fn deadline_choice() {
        let max = Duration::from_secs(60);
        assert_eq!(request_timeout(None, max).expect("ok"), max);
        assert_eq!(
            request_timeout(Some("timeout=5s"), max).expect("ok"),
            Duration::from_secs(5)
        );
        assert_eq!(
            request_timeout(Some("limit=1&timeout=250ms"), max).expect("ok"),
            Duration::from_millis(250)
        );
        assert_eq!(request_timeout(Some("timeout=0s"), max).expect("ok"), max);
        assert_eq!(request_timeout(Some("timeout=-3s"), max).expect("ok"), max);
        assert_eq!(request_timeout(Some("timeout=2h"), max).expect("ok"), max);
        let err = request_timeout(Some("timeout=soon"), max).expect_err("bad");
        assert_eq!(err.status.code, 400);
        assert_eq!(
            err.status.message,
            "invalid timeout specified in the request URL - time: invalid duration \"soon\""
        );
    }

    #[test]
    fn long_running_requests() {
        let factory = crate::request::info::RequestInfoFactory::default();
        let rows: &[(&str, &str, bool)] = &[
            ("GET", "/api/v1/pods?watch=true", true),
            ("GET", "/api/v1/watch/pods", true),
            ("GET", "/api/v1/namespaces/a/pods/p/log?follow=true", true),
            ("POST", "/api/v1/namespaces/a/pods/p/exec", true),
            ("POST", "/api/v1/namespaces/a/pods/p/attach", true),
            ("POST", "/api/v1/namespaces/a/pods/p/portforward", true),
            ("GET", "/api/v1/namespaces/a/services/s/proxy/x", true),
            ("GET", "/api/v1/proxy/nodes/n", true),
            ("GET", "/debug/pprof/profile", true),
            ("GET", "/api/v1/pods", false),
            ("GET", "/api/v1/namespaces/a/pods/p", false),
            ("PUT", "/api/v1/namespaces/a/pods/p/status", false),
            ("GET", "/healthz", false),
        ];
        for (method, url, want) in rows {
            let info = factory
                .new_request_info(&method.parse().expect("method"), &url.parse().expect("uri"))
                .expect("parses");
            assert_eq!(is_long_running(&info), *want, "{method} {url}");
        }
    }

    fn app(timeout: Duration) -> axum::Router {
        axum::Router::new()
            .route(
                "/api/v1/pods",
                axum::routing::get(|req: Request| async move {
                    let has_deadline = req.extensions().get::<RequestDeadline>().is_some();
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    format!("deadline={has_deadline}")
                }),
            )
            .layer(axum::middleware::from_fn_with_state(
                TimeoutConfig {
                    request_timeout: timeout,
                },
                enforce_deadline,
            ))
            .layer(axum::middleware::from_fn(
                crate::filters::request_info::attach_request_info,
            ))
    }

    async fn get(app: axum::Router, url: &str) -> (http::StatusCode, String) {
        let response = app
            .oneshot(Request::get(url).body(Body::empty()).expect("req"))
            .await
            .expect("resp");
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .expect("body");
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn slow_requests_time_out_with_a_status() {
        let (status, body) = get(app(Duration::from_millis(50)), "/api/v1/pods").await;
        assert_eq!(status, http::StatusCode::GATEWAY_TIMEOUT);
        let status: serde_json::Value = serde_json::from_str(&body).expect("Status");
        assert_eq!(status["reason"], "Timeout");
        assert_eq!(
            status["message"],
            "Timeout: request did not complete within the allotted timeout"
        );
        assert_eq!(status["code"], 504);

        // `?timeout=` shortens the deadline below the configured one.
        let (status, _) = get(app(Duration::from_secs(10)), "/api/v1/pods?timeout=20ms").await;
        assert_eq!(status, http::StatusCode::GATEWAY_TIMEOUT);

        let (status, body) = get(app(Duration::from_secs(10)), "/api/v1/pods").await;
        assert_eq!(
            (status, body.as_str()),
            (http::StatusCode::OK, "deadline=true")
        );

        // Watches are exempt.
        let (status, body) = get(app(Duration::from_millis(50)), "/api/v1/pods?watch=1").await;
        assert_eq!(
            (status, body.as_str()),
            (http::StatusCode::OK, "deadline=false")
        );

        let (status, _) = get(app(Duration::from_secs(10)), "/api/v1/pods?timeout=xyz").await;
        assert_eq!(status, http::StatusCode::BAD_REQUEST);
    }
}
