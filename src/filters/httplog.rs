//! The request log, as upstream's `httplog` (`k8s.io/apiserver/pkg/server/httplog`).
//!
//! [`log_request`] writes one `info` event per request (target `apiary::http`) when the response
//! body ends, with upstream's fields in upstream's order:
//!
//! ```text
//! HTTP verb="LIST" URI="/api/v1/pods?limit=500" latency="1.2ms" userAgent="kubectl/v1.33.0" audit-ID="..." srcIP="127.0.0.1:53412" user="alice" resp=200
//! ```
//!
//! `verb` is upstream's normalized verb ([`crate::filters::metrics::normalized_verb`]), `latency` a Go
//! duration, strings quoted as Go's `%q`. `user` (the authenticated requester, not a field of
//! upstream's line) comes before `resp` as upstream's added key/value pairs do; when the requester
//! impersonated someone, `addedInfo` says who acts as whom, as upstream's impersonation filter adds.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::filters::body_guard::drop_with_body;
use crate::filters::handled_by::TARGET;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

use crate::api::go_fmt::go_quote;
use crate::filters::audit_id::AuditId;
use crate::filters::impersonation::Impersonation;
use crate::request::connection::PeerAddr;
use crate::request::info::RequestInfoFactory;
use crate::request::user::UserInfo;

/// Upstream truncates audit IDs in logs to this many characters.
const MAX_AUDIT_ID_LENGTH: usize = 64;

/// One line of the request log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogEntry {
    pub verb: String,
    /// The path and query as the client sent them.
    pub uri: String,
    pub latency: Duration,
    pub user_agent: String,
    pub audit_id: String,
    pub src_ip: Option<SocketAddr>,
    /// The authenticated requester's name; empty when authentication did not run or failed.
    pub user: String,
    pub status: u16,
    /// `<requester> is acting as <user>` for an impersonated request.
    pub added_info: Option<String>,
}

impl LogEntry {
    /// The line, fields as upstream's `klog` renders them.
    pub fn format(&self) -> String {
        let audit_id: String = self.audit_id.chars().take(MAX_AUDIT_ID_LENGTH).collect();
        let src_ip = self.src_ip.map(|addr| addr.to_string()).unwrap_or_default();
        let mut line = format!(
            "HTTP verb={} URI={} latency={} userAgent={} audit-ID={} srcIP={} user={} resp={}",
            go_quote(&self.verb),
            go_quote(&self.uri),
            go_quote(&go_duration(self.latency)),
            go_quote(&self.user_agent),
            go_quote(&audit_id),
            go_quote(&src_ip),
            go_quote(&self.user),
            self.status,
        );
        if let Some(info) = &self.added_info {
            line.push_str(" addedInfo=");
            line.push_str(&go_quote(info));
        }
        line
    }
}

/// Writes the log line when dropped (at the end of the response body).
struct PendingLine {
    entry: LogEntry,
    started: Instant,
}

impl Drop for PendingLine {
    fn drop(&mut self) {
        self.entry.latency = self.started.elapsed();
        tracing::info!(target: TARGET, "{}", self.entry.format());
    }
}

/// The filter: one log line per request. It runs outside panic recovery (so a panicked request
/// is logged with its 500) and therefore before RequestInfo; it parses the path itself for the
/// verb, only when the line is going to be written.
pub async fn log_request(req: Request, next: Next) -> Response {
    if !tracing::enabled!(target: TARGET, tracing::Level::INFO) {
        return next.run(req).await;
    }
    let started = Instant::now();
    let info = RequestInfoFactory::default()
        .new_request_info(req.method(), req.uri())
        .ok();
    let verb = crate::filters::metrics::normalized_verb(
        req.method(),
        req.uri(),
        req.headers(),
        info.as_ref(),
    );
    let uri = req
        .uri()
        .path_and_query()
        .map(|pq| pq.as_str().to_string())
        .unwrap_or_else(|| req.uri().to_string());
    let user_agent = req
        .headers()
        .get(http::header::USER_AGENT)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    let audit_id = req
        .extensions()
        .get::<AuditId>()
        .map(|id| id.0.clone())
        .unwrap_or_default();
    let src_ip = req.extensions().get::<PeerAddr>().map(|peer| peer.0);

    let response = next.run(req).await;

    let user = response
        .extensions()
        .get::<UserInfo>()
        .map(|u| u.name.clone())
        .unwrap_or_default();
    let added_info = response.extensions().get::<Impersonation>().map(|i| {
        format!(
            "{} is acting as {}",
            go_user_info(&i.requester),
            go_user_info(&i.impersonated)
        )
    });
    let pending = PendingLine {
        entry: LogEntry {
            verb,
            uri,
            latency: Duration::ZERO,
            user_agent,
            audit_id,
            src_ip,
            user,
            status: response.status().as_u16(),
            added_info,
        },
        started,
    };
    drop_with_body(response, pending)
}

/// A duration as Go's `time.Duration.String`: `812ns`, `1.5µs`, `2.000001ms`, `1.5s`, `1m0s`,
/// `1h2m3.5s`.
pub fn go_duration(d: Duration) -> String {
    crate::catalog::go_duration::format_go_duration(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// A user as Go's `%v` prints upstream's `*user.DefaultInfo`: `&{name uid [groups] map[k:[v]]}`.
pub fn go_user_info(user: &UserInfo) -> String {
    let extra: Vec<String> = user
        .extra
        .iter()
        .map(|(key, values)| format!("{key}:[{}]", values.join(" ")))
        .collect();
    format!(
        "&{{{} {} [{}] map[{}]}}",
        user.name,
        user.uid,
        user.groups.join(" "),
        extra.join(" ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filters::handled_by::{
        mark_handled_by, HandledBy, CORE_DISCOVERY, CORE_REST, NOT_FOUND,
    };
    use axum::body::Body;
    use std::collections::BTreeMap;

    #[test]
    fn line_has_upstreams_fields_in_order() {
        let entry = LogEntry {
            verb: "LIST".into(),
            uri: "/api/v1/pods?limit=500".into(),
            latency: Duration::from_micros(1500),
            user_agent: "kubectl/v1.33.0 (linux/amd64)".into(),
            audit_id: "a".repeat(70),
            src_ip: Some("127.0.0.1:53412".parse().expect("address")),
            user: "alice".into(),
            status: 200,
            added_info: None,
        };
        assert_eq!(
            entry.format(),
            format!(
                "HTTP verb=\"LIST\" URI=\"/api/v1/pods?limit=500\" latency=\"1.5ms\" \
                 userAgent=\"kubectl/v1.33.0 (linux/amd64)\" audit-ID=\"{}\" \
                 srcIP=\"127.0.0.1:53412\" user=\"alice\" resp=200",
                "a".repeat(64)
            )
        );

        let entry = LogEntry {
            verb: "GET".into(),
            uri: "/x\"y".into(),
            status: 403,
            added_info: Some("a is acting as b".into()),
            ..Default::default()
        };
        assert_eq!(
            entry.format(),
            "HTTP verb=\"GET\" URI=\"/x\\\"y\" latency=\"0s\" userAgent=\"\" audit-ID=\"\" \
             srcIP=\"\" user=\"\" resp=403 addedInfo=\"a is acting as b\""
        );
    }

    #[test]
    fn go_formats() {
        assert_eq!(go_duration(Duration::from_nanos(812)), "812ns");
        assert_eq!(go_duration(Duration::from_nanos(1_500)), "1.5µs");
        assert_eq!(go_duration(Duration::from_nanos(2_000_001)), "2.000001ms");
        assert_eq!(go_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(go_duration(Duration::from_secs(60)), "1m0s");
        assert_eq!(go_duration(Duration::from_millis(3_723_500)), "1h2m3.5s");
        assert_eq!(go_quote("a\"b\\c\nd\u{1}"), "\"a\\\"b\\\\c\\nd\\x01\"");
        let user = UserInfo {
            name: "bob".into(),
            uid: String::new(),
            groups: vec!["g1".into(), "system:authenticated".into()],
            extra: BTreeMap::from([("scopes".to_string(), vec!["a".into(), "b".into()])]),
        };
        assert_eq!(
            go_user_info(&user),
            "&{bob  [g1 system:authenticated] map[scopes:[a b]]}"
        );
    }

    /// A writer the test subscriber logs into.
    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("lock").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn one_line_per_request_when_the_body_is_done() {
        use tower::ServiceExt as _;

        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_max_level(tracing::Level::INFO)
            .with_ansi(false)
            .finish();
        let _default = tracing::subscriber::set_default(subscriber);

        let app = axum::Router::new()
            .fallback(|| async {
                let mut response = Response::new(Body::from("hello"));
                *response.status_mut() = http::StatusCode::CREATED;
                response.extensions_mut().insert(UserInfo {
                    name: "alice".into(),
                    ..Default::default()
                });
                response.extensions_mut().insert(Impersonation {
                    requester: UserInfo {
                        name: "alice".into(),
                        ..Default::default()
                    },
                    impersonated: UserInfo {
                        name: "bob".into(),
                        groups: vec!["system:authenticated".into()],
                        ..Default::default()
                    },
                });
                response
            })
            .layer(axum::middleware::from_fn(log_request));
        let mut request = Request::post("/api/v1/namespaces/a/configmaps?dryRun=All")
            .header(http::header::USER_AGENT, "kubectl/v1.33.0")
            .body(Body::empty())
            .expect("request");
        request
            .extensions_mut()
            .insert(AuditId("0b2c-audit".into()));
        request
            .extensions_mut()
            .insert(PeerAddr("10.0.0.7:40000".parse().expect("address")));
        let response = app.oneshot(request).await.expect("infallible");
        assert!(
            captured.0.lock().expect("lock").is_empty(),
            "logged before the body was done"
        );
        axum::body::to_bytes(response.into_body(), 1024)
            .await
            .expect("body");
        let logged = String::from_utf8(captured.0.lock().expect("lock").clone()).expect("utf-8");
        assert_eq!(logged.lines().count(), 1, "{logged}");
        assert!(logged.contains(" INFO apiary::http: HTTP verb=\"POST\" URI=\"/api/v1/namespaces/a/configmaps?dryRun=All\" latency=\""), "{logged}");
        assert!(
            logged.contains(
                "userAgent=\"kubectl/v1.33.0\" audit-ID=\"0b2c-audit\" srcIP=\"10.0.0.7:40000\" user=\"alice\" resp=201 addedInfo=\"&{alice  [] map[]} is acting as &{bob  [system:authenticated] map[]}\""
            ),
            "{logged}"
        );
    }

    #[tokio::test]
    async fn the_innermost_server_marks_the_response() {
        use axum::middleware::from_fn_with_state;
        use tower::ServiceExt as _;

        let not_found = axum::Router::new()
            .fallback(|| async { http::StatusCode::NOT_FOUND })
            .layer(from_fn_with_state(NOT_FOUND, mark_handled_by));
        let inner = axum::Router::new()
            .route(
                "/apis/{group}",
                axum::routing::get(|| async { "discovery" }),
            )
            .route_layer(from_fn_with_state(CORE_DISCOVERY, mark_handled_by))
            .fallback_service(not_found);
        let delegate = inner.clone();
        let outer = axum::Router::new()
            .route(
                "/apis/{*rest}",
                axum::routing::get(move |req: Request| {
                    let delegate = delegate.clone();
                    async move { delegate.oneshot(req).await.expect("infallible") }
                }),
            )
            .route_layer(from_fn_with_state(CORE_REST, mark_handled_by))
            .fallback_service(inner);

        let handled = |uri: &'static str| {
            let outer = outer.clone();
            async move {
                let response = outer
                    .oneshot(Request::get(uri).body(Body::empty()).expect("request"))
                    .await
                    .expect("infallible");
                response.extensions().get::<HandledBy>().cloned()
            }
        };
        assert_eq!(
            handled("/apis/apps").await,
            Some(HandledBy {
                server: CORE_DISCOVERY
            })
        );
        assert_eq!(
            handled("/apis/apps/v1/x").await.map(|h| h.server),
            Some(NOT_FOUND)
        );
        assert_eq!(handled("/nowhere").await.map(|h| h.server), Some(NOT_FOUND));
    }
}
