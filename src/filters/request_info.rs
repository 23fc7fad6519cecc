//! The RequestInfo filter: what the request asks, for every later filter and the handlers.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::api::status::ApiError;
use crate::request::info::RequestInfoFactory;

/// The filter: parses the request and inserts its [`RequestInfo`] into the extensions; a path it
/// cannot parse gets 500, as upstream.
pub async fn attach_request_info(mut req: Request, next: Next) -> Response {
    match RequestInfoFactory::default().new_request_info(req.method(), req.uri()) {
        Ok(info) => {
            req.extensions_mut().insert(info);
            next.run(req).await
        }
        Err(err) => {
            ApiError::internal(format!("failed to create RequestInfo: {err}")).into_response()
        }
    }
}
