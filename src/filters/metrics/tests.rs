use super::*;
use crate::filters::handled_by::{mark_handled_by, CORE_REST};
use crate::filters::request_info::attach_request_info;
use axum::body::Body;
use axum::middleware::{from_fn, from_fn_with_state};
use tower::ServiceExt as _;

fn info(method: &str, uri: &str) -> RequestInfo {
    crate::request::info::RequestInfoFactory::default()
        .new_request_info(&method.parse().expect("method"), &uri.parse().expect("uri"))
        .expect("request info")
}

fn labels(method: &str, uri: &str, content_type: Option<&str>) -> RequestLabels {
    let mut headers = HeaderMap::new();
    if let Some(ct) = content_type {
        headers.insert(http::header::CONTENT_TYPE, ct.parse().expect("header"));
    }
    RequestLabels::of(
        &method.parse().expect("method"),
        &uri.parse().expect("uri"),
        &headers,
        &info(method, uri),
    )
}

#[test]
fn verbs_and_scopes_as_upstream() {
    let cases = [
        (
            "GET",
            "/api/v1/namespaces/a/pods",
            None,
            "LIST",
            "namespace",
        ),
        ("GET", "/api/v1/pods", None, "LIST", "cluster"),
        (
            "GET",
            "/api/v1/namespaces/a/pods/p",
            None,
            "GET",
            "resource",
        ),
        (
            "HEAD",
            "/api/v1/namespaces/a/pods/p",
            None,
            "GET",
            "resource",
        ),
        (
            "GET",
            "/api/v1/namespaces/a/pods?watch=true",
            None,
            "WATCH",
            "namespace",
        ),
        (
            "GET",
            "/api/v1/watch/namespaces/a/pods",
            None,
            "WATCH",
            "namespace",
        ),
        (
            "GET",
            "/api/v1/namespaces/a/pods/p?watch=1",
            None,
            "WATCH",
            "resource",
        ),
        ("GET", "/api/v1/pods?watch=false", None, "LIST", "cluster"),
        (
            "POST",
            "/api/v1/namespaces/a/pods",
            None,
            "POST",
            "resource",
        ),
        (
            "PUT",
            "/api/v1/namespaces/a/pods/p",
            None,
            "PUT",
            "resource",
        ),
        (
            "PATCH",
            "/api/v1/namespaces/a/pods/p",
            Some("application/merge-patch+json"),
            "PATCH",
            "resource",
        ),
        (
            "PATCH",
            "/api/v1/namespaces/a/pods/p",
            Some("application/apply-patch+yaml"),
            "APPLY",
            "resource",
        ),
        (
            "DELETE",
            "/api/v1/namespaces/a/pods/p",
            None,
            "DELETE",
            "resource",
        ),
        (
            "DELETE",
            "/api/v1/namespaces/a/pods",
            None,
            "DELETE",
            "namespace",
        ),
        (
            "GET",
            "/api/v1/namespaces/a/pods/p/log",
            None,
            "CONNECT",
            "resource",
        ),
        (
            "POST",
            "/api/v1/namespaces/a/pods/p/exec",
            None,
            "CONNECT",
            "resource",
        ),
        ("OPTIONS", "/api/v1/pods", None, "other", "cluster"),
        ("GET", "/healthz", None, "GET", ""),
    ];
    for (method, uri, ct, verb, scope) in cases {
        let l = labels(method, uri, ct);
        assert_eq!((l.verb.as_str(), l.scope), (verb, scope), "{method} {uri}");
    }
    let l = labels(
        "GET",
        "/apis/apps/v1/namespaces/a/deployments/d/scale",
        None,
    );
    assert_eq!(
        (
            l.group.as_str(),
            l.version.as_str(),
            l.resource.as_str(),
            l.subresource.as_str()
        ),
        ("apps", "v1", "deployments", "scale")
    );
    // Non-resource requests carry no group/version/resource labels.
    let l = labels("GET", "/readyz/ping", None);
    assert_eq!(
        l,
        RequestLabels {
            verb: "GET".into(),
            ..Default::default()
        }
    );
}

#[test]
fn dry_run_values() {
    let dry_run = |uri: &str| clean_dry_run(&uri.parse().expect("uri"));
    assert_eq!(dry_run("/api/v1/pods"), "");
    assert_eq!(dry_run("/api/v1/pods?dryRun=All"), "All");
    assert_eq!(dry_run("/api/v1/pods?dryRun=All&dryRun=All"), "All");
    assert_eq!(dry_run("/api/v1/pods?dryRun=Some"), "invalid");
}

/// request info -> metrics -> a handler that answers `code` through a server route.
fn app(metrics: Arc<Metrics>) -> axum::Router {
    axum::Router::new()
        .route(
            "/api/{*rest}",
            axum::routing::any(|req: Request| async move {
                let code = match req.uri().query() {
                    Some("fail") => StatusCode::CONFLICT,
                    _ => StatusCode::OK,
                };
                (code, "body")
            }),
        )
        .route_layer(from_fn_with_state(CORE_REST, mark_handled_by))
        .fallback(|| async { StatusCode::NOT_FOUND })
        .layer(from_fn_with_state(metrics, record_requests))
        .layer(from_fn(attach_request_info))
}

async fn send(app: &axum::Router, method: &str, uri: &str) {
    let response = app
        .clone()
        .oneshot(
            Request::builder()
                .method(method)
                .uri(uri)
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("infallible");
    axum::body::to_bytes(response.into_body(), 1024)
        .await
        .expect("body");
}

#[tokio::test]
async fn requests_are_counted_with_their_labels() {
    let metrics = Arc::new(Metrics::new().expect("metrics"));
    let app = app(metrics.clone());
    send(&app, "GET", "/api/v1/namespaces/a/configmaps").await;
    send(&app, "GET", "/api/v1/namespaces/a/configmaps").await;
    send(&app, "POST", "/api/v1/namespaces/a/configmaps?fail").await;
    send(&app, "PUT", "/api/v1/namespaces/a/configmaps/c?dryRun=All").await;
    // Not served by a route: not counted.
    send(&app, "GET", "/nowhere").await;

    let text = metrics.render().expect("render");
    assert!(text.contains(
        r#"apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="configmaps",scope="namespace",subresource="",verb="LIST",version="v1"} 2"#
    ), "{text}");
    assert!(text.contains(
        r#"apiserver_request_total{code="409",component="apiserver",dry_run="",group="",resource="configmaps",scope="resource",subresource="",verb="POST",version="v1"} 1"#
    ), "{text}");
    assert!(text.contains(
        r#"apiserver_request_total{code="200",component="apiserver",dry_run="All",group="",resource="configmaps",scope="resource",subresource="",verb="PUT",version="v1"} 1"#
    ), "{text}");
    assert!(text.contains(
        r#"apiserver_request_duration_seconds_count{component="apiserver",dry_run="",group="",resource="configmaps",scope="namespace",subresource="",verb="LIST",version="v1"} 2"#
    ), "{text}");
    assert!(
        text.contains(r#"le="0.005""#) && text.contains(r#"le="60""#),
        "{text}"
    );
    assert!(!text.contains("nowhere"), "{text}");
    assert_eq!(
        text.matches("apiserver_request_total{").count(),
        3,
        "{text}"
    );
}

#[tokio::test]
async fn in_flight_gauge_follows_its_guards() {
    let metrics = Metrics::new().expect("metrics");
    let text = metrics.render().expect("render");
    assert!(
        text.contains(r#"apiserver_current_inflight_requests{request_kind="readOnly"} 0"#),
        "{text}"
    );
    assert!(
        text.contains(r#"apiserver_current_inflight_requests{request_kind="mutating"} 0"#),
        "{text}"
    );
    let a = metrics.track_in_flight(READ_ONLY_KIND);
    let _b = metrics.track_in_flight(READ_ONLY_KIND);
    let _c = metrics.track_in_flight(MUTATING_KIND);
    drop(a);
    let text = metrics.render().expect("render");
    assert!(
        text.contains(r#"apiserver_current_inflight_requests{request_kind="readOnly"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"apiserver_current_inflight_requests{request_kind="mutating"} 1"#),
        "{text}"
    );
}
