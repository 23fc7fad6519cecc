//! GET of one object (and of its `status` subresource), as upstream's `handlers/get.go`: its
//! `resourceVersion` as the store's [`get_with`](crate::registry::store::Store::get_with). Compact
//! JSON and protobuf are written from the object's cached bytes ([`cached`]).

use axum::response::Response;
use http::request::Parts;
use http::StatusCode;

use super::{fallback_output, respond_object, Scope};
use crate::registry::store::WatchObject;
use crate::servers::core::{cached, negotiation, query};

/// Answers the object named by `scope` in the negotiated form.
pub async fn get(scope: Scope, parts: Parts) -> Response {
    let output = match scope.output(&parts) {
        Ok(output) => output,
        Err(err) => return negotiation::respond_error(&fallback_output(&parts, &scope), err, &[]),
    };
    let opts = query::get_options(&scope.query);
    match scope
        .store
        .get_object(scope.namespace(), scope.name(), &opts)
        .await
    {
        Ok(object) => match cached::respond_object(&scope.info, &output, &object) {
            Some(response) => response,
            None => {
                let object = WatchObject::into_value(object);
                respond_object(&scope, &output, StatusCode::OK, object, &[])
            }
        },
        Err(err) => negotiation::respond_error(&output, err, &[]),
    }
}
