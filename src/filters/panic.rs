//! Panic recovery: upstream's `WithPanicRecovery`.
//!
//! A handler that panics while producing its response answers 500 with a Status; the panic is
//! logged with the request's audit id, method and path, and the server keeps serving. (Panics in
//! tasks the handler spawned, or while a streamed body is being sent, are not caught here; the
//! connection task ends instead.)

use std::panic::AssertUnwindSafe;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::FutureExt as _;

use super::audit_id::AuditId;
use crate::api::status::ApiError;

/// What the client is told; the details are in the server log.
pub const PANIC_MESSAGE: &str =
    "This request caused apiserver to panic. Look in the logs for details.";

/// The filter: runs the rest of the chain, turning a panic into a 500 Status.
pub async fn recover_panics(req: Request, next: Next) -> Response {
    let audit_id = req
        .extensions()
        .get::<AuditId>()
        .map(|id| id.0.clone())
        .unwrap_or_default();
    let method = req.method().clone();
    let uri = req.uri().clone();
    match AssertUnwindSafe(next.run(req)).catch_unwind().await {
        Ok(response) => response,
        Err(payload) => {
            let reason = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic payload".to_string());
            tracing::error!(audit_id = %audit_id, method = %method, uri = %uri, panic = %reason, "handler panicked");
            ApiError::internal(PANIC_MESSAGE).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use tower::ServiceExt as _;

    #[tokio::test]
    async fn a_panicking_handler_answers_500_and_the_router_keeps_serving() {
        async fn boom() -> &'static str {
            panic!("boom")
        }
        let app = axum::Router::new()
            .route("/boom", axum::routing::get(boom))
            .route("/fine", axum::routing::get(|| async { "fine" }))
            .layer(axum::middleware::from_fn(recover_panics));

        let response = app
            .clone()
            .oneshot(Request::get("/boom").body(Body::empty()).expect("req"))
            .await
            .expect("resp");
        assert_eq!(response.status(), http::StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .expect("body");
        let status: serde_json::Value = serde_json::from_slice(&body).expect("a Status");
        assert_eq!(status["kind"], "Status");
        assert_eq!(status["reason"], "InternalError");
        assert!(status["message"]
            .as_str()
            .unwrap_or_default()
            .contains(PANIC_MESSAGE));

        let response = app
            .oneshot(Request::get("/fine").body(Body::empty()).expect("req"))
            .await
            .expect("resp");
        assert_eq!(response.status(), http::StatusCode::OK);
    }
}
