//! Health and version endpoints: `/healthz`, `/livez`, `/readyz` (and `/<endpoint>/<check>`), and
//! `/version`, as kube-apiserver serves them.
//!
//! * `GET /readyz` answers 200 `ok` when every check passes; otherwise 500 with one line per check
//!   (`[+]ping ok`, `[-]apis-installed failed: reason withheld`) and `readyz check failed`.
//! * `?verbose` lists the checks on success too, ending in `readyz check passed`;
//!   `?exclude=<check>` (repeatable) skips a check.
//! * `GET /readyz/<check>` runs one check: `ok`, or 500 `internal server error: <why>`.
//! * `/readyz` includes `apis-installed`, which fails until the shared ready flag is set.
//! * `GET /metrics` ([`metrics_router`]) answers the Prometheus text exposition format.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{header, HeaderValue, StatusCode};

use crate::api::status::ApiError;
use crate::api::version::VersionInfo;
use crate::filters::metrics::{Metrics, TEXT_CONTENT_TYPE};

/// How long the storage check may take.
const STORAGE_CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// What the endpoints look at.
#[derive(Clone)]
pub struct SystemState {
    /// Set once every API is installed and served; `/readyz` fails until then.
    pub ready: Arc<AtomicBool>,
    /// The storage, checked by `/healthz` and `/readyz`; `None` skips the check.
    pub storage: Option<Arc<dyn apiary_storage::Storage>>,
}

/// The three health endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Healthz,
    Livez,
    Readyz,
}

impl Endpoint {
    fn name(self) -> &'static str {
        match self {
            Self::Healthz => "healthz",
            Self::Livez => "livez",
            Self::Readyz => "readyz",
        }
    }

    /// The checks of the endpoint, in the order they are reported.
    fn checks(self) -> &'static [Check] {
        match self {
            Self::Healthz => &[Check::Ping, Check::Log, Check::Storage],
            Self::Livez => &[Check::Ping, Check::Log],
            Self::Readyz => &[
                Check::Ping,
                Check::Log,
                Check::Storage,
                Check::ApisInstalled,
            ],
        }
    }
}

/// One named health check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    /// Always passes: the server answers.
    Ping,
    /// Always passes: logging works (upstream checks that log flushing is not stuck).
    Log,
    /// The storage answers `current_revision` in time.
    Storage,
    /// The ready flag is set.
    ApisInstalled,
}

impl Check {
    fn name(self) -> &'static str {
        match self {
            Self::Ping => "ping",
            Self::Log => "log",
            Self::Storage => "storage",
            Self::ApisInstalled => "apis-installed",
        }
    }

    async fn run(self, state: &SystemState) -> Result<(), String> {
        match self {
            Self::Ping | Self::Log => Ok(()),
            Self::Storage => {
                let Some(storage) = &state.storage else {
                    return Ok(());
                };
                match tokio::time::timeout(STORAGE_CHECK_TIMEOUT, storage.current_revision()).await
                {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(err)) => Err(err.to_string()),
                    Err(_) => Err(format!("no answer within {STORAGE_CHECK_TIMEOUT:?}")),
                }
            }
            Self::ApisInstalled => {
                if state.ready.load(Ordering::Acquire) {
                    Ok(())
                } else {
                    Err("not all APIs are installed yet".into())
                }
            }
        }
    }
}

/// The routes of `/healthz`, `/livez`, `/readyz` (with `/<check>` and `/ping`) and `/version`.
pub fn router(state: SystemState) -> axum::Router {
    let mut router = axum::Router::new().route("/version", get(version));
    for endpoint in [Endpoint::Healthz, Endpoint::Livez, Endpoint::Readyz] {
        router = router
            .route(
                &format!("/{}", endpoint.name()),
                get(
                    move |State(state): State<SystemState>, RawQuery(query): RawQuery| async move {
                        all_checks(endpoint, &state, query.as_deref()).await
                    },
                ),
            )
            .route(
                &format!("/{}/{{check}}", endpoint.name()),
                get(
                    move |State(state): State<SystemState>, Path(check): Path<String>| async move {
                        one_check(endpoint, &state, &check).await
                    },
                ),
            );
    }
    router.with_state(state)
}

fn text(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
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

async fn all_checks(endpoint: Endpoint, state: &SystemState, query: Option<&str>) -> Response {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query.unwrap_or("")).unwrap_or_default();
    let verbose = pairs.iter().any(|(key, _)| key == "verbose");
    let mut excluded: Vec<String> = pairs
        .iter()
        .filter(|(key, _)| key == "exclude")
        .map(|(_, value)| value.clone())
        .collect();

    let mut report = String::new();
    let mut failed = Vec::new();
    for check in endpoint.checks() {
        if let Some(pos) = excluded.iter().position(|name| name == check.name()) {
            excluded.remove(pos);
            report.push_str(&format!("[+]{} excluded: ok\n", check.name()));
            continue;
        }
        match check.run(state).await {
            Ok(()) => report.push_str(&format!("[+]{} ok\n", check.name())),
            Err(why) => {
                // The reason stays in the log: these endpoints are readable by anyone.
                report.push_str(&format!("[-]{} failed: reason withheld\n", check.name()));
                tracing::debug!(check = check.name(), endpoint = endpoint.name(), reason = %why, "health check failed");
                failed.push(check.name());
            }
        }
    }
    if !excluded.is_empty() {
        let quoted: Vec<String> = excluded.iter().map(|name| format!("{name:?}")).collect();
        report.push_str(&format!(
            "warn: some health checks cannot be excluded: no matches for {}\n",
            quoted.join(",")
        ));
    }
    if !failed.is_empty() {
        tracing::info!(endpoint = endpoint.name(), failed = %failed.join(","), "health check failed");
        return text(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("{report}{} check failed\n", endpoint.name()),
        );
    }
    if !verbose {
        return text(StatusCode::OK, "ok".to_string());
    }
    text(
        StatusCode::OK,
        format!("{report}{} check passed\n", endpoint.name()),
    )
}

async fn one_check(endpoint: Endpoint, state: &SystemState, name: &str) -> Response {
    let Some(check) = endpoint.checks().iter().find(|check| check.name() == name) else {
        return ApiError::path_not_found().into_response();
    };
    match check.run(state).await {
        Ok(()) => text(StatusCode::OK, "ok".to_string()),
        Err(why) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("internal server error: {why}\n"),
        ),
    }
}

/// `/metrics`: every metric of `metrics` in the text exposition format. Like upstream's
/// Prometheus handler it answers any method; authorization of the path is the authorization
/// filter's.
pub fn metrics_router(metrics: Arc<Metrics>) -> axum::Router {
    axum::Router::new()
        .route("/metrics", axum::routing::any(serve_metrics))
        .with_state(metrics)
}

async fn serve_metrics(State(metrics): State<Arc<Metrics>>) -> Response {
    match metrics.render() {
        Ok(text) => ([(header::CONTENT_TYPE, TEXT_CONTENT_TYPE)], text).into_response(),
        Err(err) => ApiError::internal(err).into_response(),
    }
}

async fn version() -> Response {
    // Upstream writes this document indented by two spaces.
    match serde_json::to_string_pretty(&VersionInfo::current()) {
        Ok(body) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(err) => ApiError::internal(err).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use tower::ServiceExt as _;

    fn state(ready: bool) -> SystemState {
        SystemState {
            ready: Arc::new(AtomicBool::new(ready)),
            storage: None,
        }
    }

    async fn get(router: axum::Router, url: &str) -> (u16, String, String) {
        let response = router
            .oneshot(
                http::Request::get(url)
                    .body(Body::empty())
                    .expect("request"),
            )
            .await
            .expect("response");
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let body = axum::body::to_bytes(response.into_body(), 8192)
            .await
            .expect("body");
        (
            status,
            content_type,
            String::from_utf8_lossy(&body).into_owned(),
        )
    }

    #[tokio::test]
    async fn metrics_endpoint_serves_the_text_format() {
        let metrics = Arc::new(Metrics::new().expect("metrics"));
        let (status, content_type, body) = get(metrics_router(metrics), "/metrics").await;
        assert_eq!(status, 200);
        assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
        assert!(
            body.contains("# TYPE apiserver_current_inflight_requests gauge"),
            "{body}"
        );
        assert!(
            body.contains(r#"apiserver_current_inflight_requests{request_kind="readOnly"} 0"#),
            "{body}"
        );
    }

    #[tokio::test]
    async fn health_endpoints() {
        let r = router(state(true));
        for url in ["/healthz", "/livez", "/readyz"] {
            let (status, content_type, body) = get(r.clone(), url).await;
            assert_eq!((status, body.as_str()), (200, "ok"), "{url}");
            assert_eq!(content_type, "text/plain; charset=utf-8");
        }
        for url in [
            "/healthz/ping",
            "/livez/ping",
            "/readyz/ping",
            "/readyz/apis-installed",
            "/healthz/log",
        ] {
            assert_eq!(get(r.clone(), url).await.2, "ok", "{url}");
        }
        let (status, _, body) = get(r.clone(), "/readyz?verbose").await;
        assert_eq!(status, 200);
        assert_eq!(
            body,
            "[+]ping ok\n[+]log ok\n[+]storage ok\n[+]apis-installed ok\nreadyz check passed\n"
        );
        let (_, _, body) = get(r.clone(), "/livez?verbose&exclude=log&exclude=nope").await;
        assert_eq!(
            body,
            "[+]ping ok\n[+]log excluded: ok\nwarn: some health checks cannot be excluded: no matches for \"nope\"\nlivez check passed\n"
        );
        let (status, _, _) = get(r, "/readyz/nope").await;
        assert_eq!(status, 404);
    }

    #[tokio::test]
    async fn readyz_fails_until_the_ready_flag_is_set() {
        let s = state(false);
        let r = router(s.clone());
        let (status, _, body) = get(r.clone(), "/readyz").await;
        assert_eq!(status, 500);
        assert_eq!(body, "[+]ping ok\n[+]log ok\n[+]storage ok\n[-]apis-installed failed: reason withheld\nreadyz check failed\n");
        let (status, _, body) = get(r.clone(), "/readyz/apis-installed").await;
        assert_eq!(
            (status, body.as_str()),
            (
                500,
                "internal server error: not all APIs are installed yet\n"
            )
        );
        assert_eq!(
            get(r.clone(), "/livez").await.0,
            200,
            "liveness does not wait for readiness"
        );
        assert_eq!(
            get(r.clone(), "/readyz?exclude=apis-installed").await.0,
            200
        );

        s.ready.store(true, Ordering::Release);
        assert_eq!(get(r, "/readyz").await.0, 200);
    }

    #[tokio::test]
    async fn version_document() {
        let (status, content_type, body) = get(router(state(true)), "/version").await;
        assert_eq!(status, 200);
        assert_eq!(content_type, "application/json");
        let keys: Vec<String> = body
            .lines()
            .filter_map(|line| {
                line.trim()
                    .strip_prefix('"')
                    .and_then(|l| l.split('"').next())
                    .map(str::to_string)
            })
            .collect();
        assert_eq!(
            keys,
            [
                "major",
                "minor",
                "emulationMajor",
                "emulationMinor",
                "minCompatibilityMajor",
                "minCompatibilityMinor",
                "gitVersion",
                "gitCommit",
                "gitTreeState",
                "buildDate",
                "goVersion",
                "compiler",
                "platform"
            ]
        );
        let doc: serde_json::Value = serde_json::from_str(&body).expect("json");
        assert_eq!(doc["major"], "1");
        assert_eq!(doc["minor"], "33");
        assert_eq!(doc["gitVersion"], "v1.33.0");
        assert!(doc["platform"].as_str().unwrap_or_default().contains('/'));
    }
}
