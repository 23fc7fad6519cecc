//! Which server answered a request. [`mark_handled_by`] is a route layer on each server's router:
//! the innermost server that answered puts a [`HandledBy`] into the response extensions and logs
//! at `debug` `satisfied by <server>` with the method and path, as upstream's directors log which
//! handler satisfied a path. The request log and the metrics filter read the marker.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

/// The tracing target of the request log and of the `satisfied by` lines.
pub const TARGET: &str = "apiary::http";

/// The REST handlers of the built-in resources.
pub const CORE_REST: &str = "core/rest";
/// `/api`, `/apis` and the group/version discovery documents.
pub const CORE_DISCOVERY: &str = "core/discovery";
/// `/openapi/v2` and `/openapi/v3`.
pub const CORE_OPENAPI: &str = "core/openapi";
/// Health, version and metrics endpoints.
pub const SYSTEM: &str = "system";
/// The last server: 404 for every path.
pub const NOT_FOUND: &str = "not-found";
/// The apiextensions server: CRDs and custom resources.
pub const APIEXTENSIONS: &str = "apiextensions";

/// Which server answered a request, in the response extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandledBy {
    /// One of [`CORE_REST`], [`CORE_DISCOVERY`], [`CORE_OPENAPI`], [`SYSTEM`], [`NOT_FOUND`].
    pub server: &'static str,
}

/// The route layer of a server named `server` (use with `from_fn_with_state(server, ...)`).
/// The innermost server wins: a server that delegated keeps the marker of the one that answered.
pub async fn mark_handled_by(
    State(server): State<&'static str>,
    req: Request,
    next: Next,
) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let mut response = next.run(req).await;
    if response.extensions().get::<HandledBy>().is_none() {
        tracing::debug!(
            target: TARGET,
            server,
            method = %method,
            path = %path,
            "satisfied by {server}"
        );
        response.extensions_mut().insert(HandledBy { server });
    }
    response
}
