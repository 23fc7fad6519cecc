//! The `Audit-Id` of a request: upstream's `WithAuditInit`.
//!
//! Every response carries an `Audit-Id` header: the request's own `Audit-ID` header when it sent
//! a usable one, otherwise a new UUID. The id is also put into the request extensions as
//! [`AuditId`], so logs (and, later, audit events) of the request can name it.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http::{HeaderName, HeaderValue};

/// The request and response header carrying the audit id.
pub const AUDIT_ID_HEADER: HeaderName = HeaderName::from_static("audit-id");

/// The audit id of a request, in its extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditId(pub String);

impl std::fmt::Display for AuditId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The audit id for a request with these headers: the client's non-empty printable `Audit-ID`,
/// or a new UUID.
pub fn audit_id_for(headers: &http::HeaderMap) -> AuditId {
    headers
        .get(&AUDIT_ID_HEADER)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .map(|value| AuditId(value.to_string()))
        .unwrap_or_else(|| AuditId(uuid::Uuid::new_v4().to_string()))
}

/// The filter: assigns the audit id and echoes it in the response.
pub async fn assign_audit_id(mut req: Request, next: Next) -> Response {
    let id = audit_id_for(req.headers());
    let header = HeaderValue::from_str(&id.0).ok();
    req.extensions_mut().insert(id);
    let mut response = next.run(req).await;
    if let Some(header) = header {
        response.headers_mut().insert(AUDIT_ID_HEADER, header);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use tower::ServiceExt as _;

    fn app() -> axum::Router {
        axum::Router::new()
            .route(
                "/",
                axum::routing::get(
                    |axum::Extension(id): axum::Extension<AuditId>| async move { id.0 },
                ),
            )
            .layer(axum::middleware::from_fn(assign_audit_id))
    }

    #[tokio::test]
    async fn generates_a_uuid_when_the_client_sent_none() {
        let response = app()
            .oneshot(Request::get("/").body(Body::empty()).expect("request"))
            .await
            .expect("response");
        let header = response
            .headers()
            .get("Audit-Id")
            .expect("header")
            .to_str()
            .expect("ascii")
            .to_string();
        assert!(uuid::Uuid::parse_str(&header).is_ok(), "{header} is a uuid");
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .expect("body");
        assert_eq!(body, header.as_bytes(), "the handler sees the same id");
    }

    #[tokio::test]
    async fn echoes_the_clients_audit_id() {
        let request = Request::get("/")
            .header("Audit-ID", "my-id-1")
            .body(Body::empty())
            .expect("request");
        let response = app().oneshot(request).await.expect("response");
        assert_eq!(
            response.headers().get("audit-id").map(|v| v.as_bytes()),
            Some(&b"my-id-1"[..])
        );

        let request = Request::get("/")
            .header("Audit-ID", "")
            .body(Body::empty())
            .expect("request");
        let response = app().oneshot(request).await.expect("response");
        assert_ne!(
            response.headers().get("audit-id").map(|v| v.as_bytes()),
            Some(&b""[..])
        );
    }
}
