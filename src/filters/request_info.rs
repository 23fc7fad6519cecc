//! The RequestInfo filter: what the request asks, for every later filter and the handlers.

use std::sync::OnceLock;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::api::status::ApiError;
use crate::request::info::RequestInfoFactory;

/// The filter: parses the request and inserts its [`RequestInfo`] into the extensions; a path it
/// cannot parse gets 500, as upstream.
pub async fn attach_request_info(mut req: Request, next: Next) -> Response {
    // The factory's prefixes never change: built once, not per request.
    static FACTORY: OnceLock<RequestInfoFactory> = OnceLock::new();
    let factory = FACTORY.get_or_init(RequestInfoFactory::default);
    match factory.new_request_info(req.method(), req.uri()) {
        Ok(info) => {
            req.extensions_mut().insert(info);
            next.run(req).await
        }
        Err(err) => {
            ApiError::internal(format!("failed to create RequestInfo: {err}")).into_response()
        }
    }
}
