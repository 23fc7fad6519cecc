//! DELETE of one object or of a collection, as upstream's `handlers/delete.go`.
//!
//! DeleteOptions come from the body when there is one (`DeleteOptions` of `meta.k8s.io/v1`, or of
//! the resource's group/version, in JSON or YAML), else from the query. The answer to a delete is,
//! as upstream's generic store decides it:
//! * the object is gone and the resource does not return deleted objects -> 200 Status `Success`
//!   with `details` {name, group, kind: <plural>, uid};
//! * the object is gone and the resource returns deleted objects (pods, services, namespaces,
//!   serviceaccounts, storageclasses) -> 200 with the object;
//! * the object is only marked for deletion (finalizers, graceful deletion) -> the object, with 200,
//!   or 202 when `orphanDependents: false` was asked for.

use axum::body::Body;
use axum::response::Response;
use http::request::Parts;
use http::StatusCode;
use serde_json::{json, Value};

use super::{content_type, fallback_output, respond_object, Scope};
use crate::api::status::{ApiError, ApiResult};
use crate::registry::options::{DeleteOptions, Preconditions, WriteOptions};
use crate::servers::core::body;
use crate::servers::core::negotiation;
use crate::servers::core::query::{self, RawDeleteOptions};

/// Reads DeleteOptions from a non-empty body.
fn options_from_body(scope: &Scope, parts: &Parts, bytes: &[u8]) -> ApiResult<RawDeleteOptions> {
    let format = body::input_format(content_type(parts))?;
    let document = body::parse_document(bytes, format)
        .map_err(|why| ApiError::bad_request(format!("couldn't get version/kind; {why}")))?;
    let Value::Object(map) = document else {
        return Err(ApiError::bad_request(
            "couldn't get version/kind; json parse error: the body is not an object",
        ));
    };
    let kind = map
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("DeleteOptions");
    let api_version = map
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("meta.k8s.io/v1");
    if !kind.is_empty() && kind != "DeleteOptions" {
        return Err(ApiError::bad_request(format!(
            "no kind \"{kind}\" is registered for version \"{api_version}\" in scheme \"k8s.io/apimachinery/pkg/apis/meta/internalversion/scheme/scheme.go\""
        )));
    }
    let valid_versions = ["", "v1", "meta.k8s.io/v1", "meta.k8s.io/v1beta1"];
    if !valid_versions.contains(&api_version) && api_version != scope.info.api_version() {
        return Err(ApiError::bad_request(format!(
            "no kind \"DeleteOptions\" is registered for version \"{api_version}\" in scheme \"k8s.io/apimachinery/pkg/apis/meta/internalversion/scheme/scheme.go\""
        )));
    }
    let bad = |field: &str, err: serde_json::Error| {
        ApiError::bad_request(format!(
            "DeleteOptions in version \"v1\" cannot be handled as a DeleteOptions: {field}: {err}"
        ))
    };
    let field = |name: &str| map.get(name).filter(|v| !v.is_null()).cloned();
    Ok(RawDeleteOptions {
        grace_period_seconds: field("gracePeriodSeconds")
            .map(serde_json::from_value)
            .transpose()
            .map_err(|e| bad("gracePeriodSeconds", e))?,
        orphan_dependents: field("orphanDependents")
            .map(serde_json::from_value)
            .transpose()
            .map_err(|e| bad("orphanDependents", e))?,
        propagation_policy: field("propagationPolicy")
            .map(serde_json::from_value)
            .transpose()
            .map_err(|e| bad("propagationPolicy", e))?,
        dry_run: field("dryRun")
            .map(serde_json::from_value)
            .transpose()
            .map_err(|e| bad("dryRun", e))?
            .unwrap_or_default(),
        preconditions: field("preconditions")
            .map(serde_json::from_value::<Preconditions>)
            .transpose()
            .map_err(|e| bad("preconditions", e))?,
    })
}

/// DeleteOptions from the body, or from the query when the body is empty; validated.
async fn delete_options(
    scope: &Scope,
    parts: &Parts,
    request_body: Body,
) -> ApiResult<(DeleteOptions, WriteOptions)> {
    let bytes = body::read_body(request_body).await?;
    let raw = if bytes.iter().all(u8::is_ascii_whitespace) {
        query::raw_delete_options(&scope.query)?
    } else {
        options_from_body(scope, parts, &bytes)?
    };
    query::delete_options(raw)
}

/// Deletes the object named by `scope`.
pub async fn delete(scope: Scope, parts: Parts, request_body: Body) -> Response {
    let output = match scope.output(&parts) {
        Ok(output) => output,
        Err(err) => return negotiation::respond_error(&fallback_output(&parts, &scope), err, &[]),
    };
    let mut warnings = Vec::new();
    let result = async {
        let (opts, mut write) = delete_options(&scope, &parts, request_body).await?;
        let admission = scope.admission(&parts, &mut write, delete_options_object(&opts), None);
        let outcome = scope
            .store
            .delete(scope.namespace(), scope.name(), &opts, &write)
            .await;
        admission.finish(&parts, &mut warnings);
        Ok::<_, ApiError>((opts, outcome?))
    }
    .await;
    let (opts, outcome) = match result {
        Ok(done) => done,
        Err(err) => return negotiation::respond_error(&output, err, &warnings),
    };
    if outcome.deleted && !scope.store.strategy().returns_deleted_object() {
        let metadata = outcome.object.get("metadata");
        let text = |key: &str| {
            metadata
                .and_then(|m| m.get(key))
                .and_then(Value::as_str)
                .unwrap_or_default()
        };
        let mut details = json!({"name": text("name"), "kind": scope.info.plural});
        if !scope.info.group.is_empty() {
            details["group"] = Value::from(scope.info.group.as_str());
        }
        if !text("uid").is_empty() {
            details["uid"] = Value::from(text("uid"));
        }
        let status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": details,
        });
        return respond_object(&scope, &output, StatusCode::OK, status, &warnings);
    }
    let status = if !outcome.deleted && opts.orphan_dependents == Some(false) {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    respond_object(&scope, &output, status, outcome.object, &warnings)
}

/// The DeleteOptions admission sees.
fn delete_options_object(opts: &DeleteOptions) -> Value {
    let mut object = serde_json::to_value(opts).unwrap_or_else(|_| json!({}));
    if let Some(map) = object.as_object_mut() {
        map.retain(|_, v| !v.is_null() && v != &json!([]));
        map.insert("kind".into(), Value::from("DeleteOptions"));
        map.insert("apiVersion".into(), Value::from("meta.k8s.io/v1"));
    }
    object
}

/// Deletes the objects of a collection that match the list options; answers the deleted list.
pub async fn delete_collection(scope: Scope, parts: Parts, request_body: Body) -> Response {
    let output = match scope.output(&parts) {
        Ok(output) => output,
        Err(err) => return negotiation::respond_error(&fallback_output(&parts, &scope), err, &[]),
    };
    let mut warnings = Vec::new();
    let result = async {
        let list_opts = query::list_options(&scope.query, false)?;
        let (opts, mut write) = delete_options(&scope, &parts, request_body).await?;
        let include = scope.include_object(&output)?;
        let admission = scope.admission(&parts, &mut write, delete_options_object(&opts), None);
        let list = scope
            .store
            .delete_collection(scope.namespace(), &list_opts, &opts, &write)
            .await;
        admission.finish(&parts, &mut warnings);
        negotiation::render_list(&scope.info, scope.store.table(), &output, include, list?)
    }
    .await;
    match result {
        Ok(body) => negotiation::respond(&output, StatusCode::OK, &body, &warnings),
        Err(err) => negotiation::respond_error(&output, err, &warnings),
    }
}
