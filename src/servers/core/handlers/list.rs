//! GET of a collection, as upstream's `ListResource`: a list, or a watch when `?watch` is set.
//! Compact JSON and protobuf lists are spliced from the items' cached bytes ([`cached`]).

use axum::response::Response;
use http::request::Parts;
use http::StatusCode;

use super::{fallback_output, Scope};
use crate::servers::core::{cached, negotiation, query};

/// Answers a list page in the negotiated form, or hands over to [`super::watch::watch`].
pub async fn list(scope: Scope, parts: Parts) -> Response {
    // A watch negotiates its own (stream) media types.
    let opts = match query::list_options(&scope.query, false) {
        Ok(opts) if opts.watch == Some(true) => {
            return super::watch::serve_watch(scope, parts, opts).await
        }
        opts => opts,
    };
    let output = match scope.output(&parts) {
        Ok(output) => output,
        Err(err) => return negotiation::respond_error(&fallback_output(&parts, &scope), err, &[]),
    };
    let opts = match opts {
        Ok(opts) => opts,
        Err(err) => return negotiation::respond_error(&output, err, &[]),
    };
    let include = match scope.include_object(&output) {
        Ok(include) => include,
        Err(err) => return negotiation::respond_error(&output, err, &[]),
    };
    let page = match scope.store.list_objects(scope.namespace(), &opts).await {
        Ok(page) => page,
        Err(err) => return negotiation::respond_error(&output, err, &[]),
    };
    let page = match cached::respond_list(&scope.info, &output, page).await {
        Ok(response) => return response,
        Err(page) => page,
    };
    let rendered = negotiation::render_list(
        &scope.info,
        scope.store.table(),
        &output,
        include,
        page.into_list(),
    );
    match rendered {
        Ok(body) => negotiation::respond(&output, StatusCode::OK, &body, &[]),
        Err(err) => negotiation::respond_error(&output, err, &[]),
    }
}
