//! CORS: upstream's `WithCORS` (`k8s.io/apiserver/pkg/server/filters/cors.go`), with
//! kube-apiserver's defaults.
//!
//! * `server.cors_allowed_origins` are regular expressions, compiled as given and matched against
//!   the whole `Origin` header **without anchoring**, exactly as upstream (Go's
//!   `regexp.MatchString`): `example\.com` also allows `https://example.com.evil.io`. Anchor the
//!   patterns (`^https://example\.com$`) to allow one origin only. (Rust's `regex` and Go's
//!   RE2 share their syntax for everything an origin pattern needs.)
//! * A request whose `Origin` matches gets `Access-Control-Allow-Origin: <origin>`, upstream's
//!   default `-Allow-Methods`, `-Allow-Headers`, `-Expose-Headers`, and
//!   `-Allow-Credentials: true`. An `OPTIONS` request from such an origin is a preflight: it is
//!   answered 204 at once, before authentication.
//! * No `Origin`, or one that matches nothing: no CORS headers, and the request (`OPTIONS`
//!   included) goes on down the chain as any other.
//! * An empty list switches the filter off.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, Method, StatusCode};
use regex::Regex;

/// Upstream's default `Access-Control-Allow-Methods`.
pub const ALLOW_METHODS: &str = "POST, GET, OPTIONS, PUT, DELETE, PATCH";
/// Upstream's default `Access-Control-Allow-Headers`.
pub const ALLOW_HEADERS: &str = "Content-Type, Content-Length, Accept-Encoding, X-CSRF-Token, Authorization, X-Requested-With, If-Modified-Since";
/// Upstream's default `Access-Control-Expose-Headers`.
pub const EXPOSE_HEADERS: &str = "Date";
/// kube-apiserver passes `"true"` as `allowCredentials`.
pub const ALLOW_CREDENTIALS: &str = "true";

/// The allowed origin patterns.
#[derive(Debug, Clone, Default)]
pub struct CorsConfig {
    allowed_origins: Vec<Regex>,
}

impl CorsConfig {
    /// Compiles `patterns` (`server.cors_allowed_origins`) as given. The configuration is
    /// validated at start-up, so an error here names the first bad pattern.
    pub fn new(patterns: &[String]) -> Result<Self, regex::Error> {
        let allowed_origins = patterns
            .iter()
            .map(|pattern| Regex::new(pattern))
            .collect::<Result<_, _>>()?;
        Ok(Self { allowed_origins })
    }

    /// Whether any pattern is configured; without one the filter passes everything through.
    pub fn is_enabled(&self) -> bool {
        !self.allowed_origins.is_empty()
    }

    /// Whether some pattern matches anywhere in `origin` (unanchored, as upstream).
    pub fn is_origin_allowed(&self, origin: &str) -> bool {
        self.allowed_origins.iter().any(|re| re.is_match(origin))
    }
}

/// Sets the CORS headers for an allowed `origin`.
fn add_cors_headers(headers: &mut http::HeaderMap, origin: HeaderValue) {
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(ALLOW_METHODS),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(ALLOW_HEADERS),
    );
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(EXPOSE_HEADERS),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
        HeaderValue::from_static(ALLOW_CREDENTIALS),
    );
}

/// The filter. It runs before authentication, so preflights need no credentials.
pub async fn cors(State(config): State<Arc<CorsConfig>>, req: Request, next: Next) -> Response {
    if !config.is_enabled() {
        return next.run(req).await;
    }
    // Go's Header.Get: the first value; an empty one is no origin.
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .filter(|value| !value.is_empty())
        .cloned();
    let Some(origin) = origin else {
        return next.run(req).await;
    };
    if !config.is_origin_allowed(&String::from_utf8_lossy(origin.as_bytes())) {
        return next.run(req).await;
    }
    if *req.method() == Method::OPTIONS {
        let mut response = StatusCode::NO_CONTENT.into_response();
        add_cors_headers(response.headers_mut(), origin);
        return response;
    }
    let mut response = next.run(req).await;
    add_cors_headers(response.headers_mut(), origin);
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::middleware::from_fn_with_state;
    use tower::ServiceExt as _;

    fn app(patterns: &[&str]) -> axum::Router {
        let patterns: Vec<String> = patterns.iter().map(|p| p.to_string()).collect();
        let config = CorsConfig::new(&patterns).expect("valid patterns");
        axum::Router::new()
            .fallback(|req: Request| async move {
                (
                    StatusCode::UNAUTHORIZED,
                    format!("reached {}", req.method()),
                )
            })
            .layer(from_fn_with_state(Arc::new(config), cors))
    }

    async fn call(app: axum::Router, method: Method, origin: Option<&str>) -> Response {
        let mut builder = Request::builder().method(method).uri("/api/v1/pods");
        if let Some(origin) = origin {
            builder = builder.header(header::ORIGIN, origin);
        }
        app.oneshot(builder.body(Body::empty()).expect("request"))
            .await
            .expect("infallible")
    }

    async fn body(response: Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .expect("body");
        String::from_utf8_lossy(&bytes).into_owned()
    }

    fn has_cors(response: &Response) -> bool {
        response
            .headers()
            .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN)
    }

    #[tokio::test]
    async fn preflight_from_an_allowed_origin_is_answered_at_once() {
        let response = call(
            app(&[r"//localhost(:|$)"]),
            Method::OPTIONS,
            Some("http://localhost:8001"),
        )
        .await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        let headers = response.headers();
        assert_eq!(
            headers["access-control-allow-origin"],
            "http://localhost:8001"
        );
        assert_eq!(
            headers["access-control-allow-methods"],
            "POST, GET, OPTIONS, PUT, DELETE, PATCH"
        );
        assert_eq!(
            headers["access-control-allow-headers"],
            "Content-Type, Content-Length, Accept-Encoding, X-CSRF-Token, Authorization, X-Requested-With, If-Modified-Since"
        );
        assert_eq!(headers["access-control-expose-headers"], "Date");
        assert_eq!(headers["access-control-allow-credentials"], "true");
        assert_eq!(body(response).await, "");
    }

    #[tokio::test]
    async fn allowed_origins_get_headers_on_normal_requests() {
        let response = call(
            app(&[r"^https://a\.example$", r"^https://b\.example$"]),
            Method::GET,
            Some("https://b.example"),
        )
        .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.headers()["access-control-allow-origin"],
            "https://b.example"
        );
        assert_eq!(body(response).await, "reached GET");
    }

    #[tokio::test]
    async fn other_origins_and_no_origin_pass_without_headers() {
        for (method, origin) in [
            (Method::GET, Some("https://evil.example")),
            (Method::OPTIONS, Some("https://evil.example")),
            (Method::OPTIONS, None),
            (Method::GET, Some("")),
        ] {
            let response = call(app(&[r"^https://a\.example$"]), method.clone(), origin).await;
            assert!(!has_cors(&response), "{method} {origin:?}");
            assert_eq!(body(response).await, format!("reached {method}"));
        }
        // No patterns: the filter is off.
        let response = call(app(&[]), Method::OPTIONS, Some("https://a.example")).await;
        assert!(!has_cors(&response));
        assert_eq!(body(response).await, "reached OPTIONS");
    }

    #[test]
    fn patterns_are_not_anchored_as_upstream() {
        let config = CorsConfig::new(&[r"a\.example".to_string()]).expect("valid");
        assert!(config.is_origin_allowed("https://a.example"));
        assert!(config.is_origin_allowed("https://a.example.evil.io"));
        assert!(!config.is_origin_allowed("https://b.example"));
        let anchored = CorsConfig::new(&[r"^https://a\.example$".to_string()]).expect("valid");
        assert!(!anchored.is_origin_allowed("https://a.example.evil.io"));
        assert!(CorsConfig::new(&["(".to_string()]).is_err());
    }
}
