//! GET of one object (and of its `status` subresource), as upstream's `handlers/get.go`: its
//! `resourceVersion` as the store's [`get_with`](crate::registry::store::Store::get_with).

use axum::response::Response;
use http::request::Parts;
use http::StatusCode;

use super::{fallback_output, respond_object, Scope};
use crate::servers::core::{negotiation, query};

/// Answers the object named by `scope` in the negotiated form.
pub async fn get(scope: Scope, parts: Parts) -> Response {
    let output = match scope.output(&parts) {
        Ok(output) => output,
        Err(err) => return negotiation::respond_error(&fallback_output(&parts, &scope), err, &[]),
    };
    let opts = query::get_options(&scope.query);
    match scope
        .store
        .get_with(scope.namespace(), scope.name(), &opts)
        .await
    {
        Ok(object) => respond_object(&scope, &output, StatusCode::OK, object, &[]),
        Err(err) => negotiation::respond_error(&output, err, &[]),
    }
}
