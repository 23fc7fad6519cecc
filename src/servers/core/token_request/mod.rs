//! `POST /api/v1/namespaces/<ns>/serviceaccounts/<name>/token`: a TokenRequest, as upstream's
//! `pkg/registry/core/serviceaccount/storage/token.go`.
//!
//! In upstream's order: the body's name and namespace must match the URL (422); the
//! ServiceAccount must exist (404); `spec.audiences` defaults to the API audiences and
//! `spec.expirationSeconds` to 3600; the request is validated (at least 10 minutes, at most 2^32
//! seconds: 422); a `spec.boundObjectRef` must name an existing Pod (running as this
//! ServiceAccount), Secret or Node, with the given uid if any (409); a lifetime above
//! `auth.service_account_max_token_expiration_seconds` is shortened, with a warning. The answer
//! is 201 with the request, its `status.token` and `status.expirationTimestamp`.

use axum::body::Body;
use axum::response::Response;
use http::request::Parts;
use http::StatusCode;
use serde_json::{json, Value};

use super::body::{self, ExpectedType};
use super::handlers::{content_type, fallback_output, Scope};
use super::negotiation;
use super::query::{self, WriteKind};
use super::CoreContext;
use crate::api::status::{ApiError, ApiResult, GroupResource};
use crate::catalog::codec_for;
use crate::filters::authn::service_account::{
    now_seconds, uid_of, BoundObjects, ObjectRef, TokenIssuer,
};
use crate::registry::validation::{FieldError, FieldErrorKind};

const GROUP: &str = "authentication.k8s.io";
const KIND: &str = "TokenRequest";
/// `spec.expirationSeconds` when the request has none.
pub const DEFAULT_EXPIRATION_SECONDS: i64 = 3600;
/// The shortest lifetime a token may be requested for (10 minutes).
pub const MIN_EXPIRATION_SECONDS: i64 = 600;
/// The longest (2^32 seconds).
pub const MAX_EXPIRATION_SECONDS: i64 = 1 << 32;

/// Serves a TokenRequest for the ServiceAccount of `scope` (routes send only creates on
/// `serviceaccounts/<name>/token` here).
pub async fn create(ctx: &CoreContext, scope: Scope, parts: Parts, request_body: Body) -> Response {
    let output = match scope.output(&parts) {
        Ok(output) => output,
        Err(err) => return negotiation::respond_error(&fallback_output(&parts, &scope), err, &[]),
    };
    let issuer = ctx
        .authentication
        .as_ref()
        .and_then(|authentication| authentication.token_issuer());
    let Some(issuer) = issuer else {
        let err = super::routes::subresource_not_served(&scope.info, "token");
        return negotiation::respond_error(&output, err, &[]);
    };
    match request_token(issuer, &scope, &parts, request_body, now_seconds()).await {
        Ok((object, warnings)) => {
            negotiation::respond(&output, StatusCode::CREATED, &object, &warnings)
        }
        Err(err) => negotiation::respond_error(&output, err, &[]),
    }
}

/// Decodes, checks and answers a TokenRequest at time `now`: the object and its warnings.
async fn request_token(
    issuer: &TokenIssuer,
    scope: &Scope,
    parts: &Parts,
    request_body: Body,
    now: i64,
) -> ApiResult<(Value, Vec<String>)> {
    let format = body::input_format(content_type(parts))?;
    let bytes = body::read_body(request_body).await?;
    let params = query::write_params(&scope.query, WriteKind::Create)?;
    let expected = ExpectedType {
        group: GROUP,
        version: "v1",
        kind: KIND,
        codec: codec_for(GROUP, "v1", KIND)
            .ok_or_else(|| ApiError::internal("no codec for TokenRequest"))?,
    };
    let (object, mut warnings) =
        body::decode_with_validation(&bytes, format, &expected, params.field_validation)?;
    let namespace = scope
        .namespace()
        .ok_or_else(|| ApiError::bad_request("namespace is required"))?;
    let answer = issue(
        issuer,
        scope,
        namespace,
        scope.name(),
        &object,
        now,
        &mut warnings,
    )
    .await?;
    Ok((answer, warnings))
}

fn invalid(name: &str, error: FieldError) -> ApiError {
    ApiError::invalid(GROUP, KIND, name, vec![error.to_cause()])
}

/// The checks and the token of upstream's `TokenREST.Create`.
async fn issue(
    issuer: &TokenIssuer,
    scope: &Scope,
    namespace: &str,
    name: &str,
    request: &Value,
    now: i64,
    warnings: &mut Vec<String>,
) -> ApiResult<Value> {
    let str_at = |pointer: &str| {
        request
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_default()
    };
    let body_name = str_at("/metadata/name");
    if !body_name.is_empty() && body_name != name {
        return Err(invalid(
            name,
            FieldError::invalid(
                "metadata.name",
                body_name,
                "must match the service account name if specified",
            ),
        ));
    }
    let body_namespace = str_at("/metadata/namespace");
    if !body_namespace.is_empty() && body_namespace != namespace {
        return Err(invalid(
            name,
            FieldError::invalid(
                "metadata.namespace",
                body_namespace,
                "must match the service account namespace if specified",
            ),
        ));
    }

    let service_account = scope.store.get(Some(namespace), name).await?;
    let sa_uid = uid_of(&service_account);

    let spec = request.get("spec").cloned().unwrap_or_else(|| json!({}));
    let mut audiences: Vec<String> = spec
        .get("audiences")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    if audiences.is_empty() {
        audiences = issuer.audiences().to_vec();
    }
    let mut expiration = spec
        .get("expirationSeconds")
        .and_then(Value::as_i64)
        .unwrap_or(DEFAULT_EXPIRATION_SECONDS);
    validate_expiration(expiration)?;

    let bound_ref = spec.get("boundObjectRef").filter(|r| !r.is_null());
    let bound = match bound_ref {
        Some(reference) => bind(scope, namespace, name, reference).await?,
        None => BoundObjects::default(),
    };

    let max = issuer.max_expiration_seconds();
    if max > 0 && expiration > max {
        warnings.push(format!(
            "requested expiration of {expiration} seconds shortened to {max} seconds"
        ));
        expiration = max;
    }

    let token = issuer
        .issue(
            namespace, name, &sa_uid, &bound, expiration, &audiences, now,
        )
        .map_err(ApiError::internal)?;

    Ok(json!({
        "kind": KIND,
        "apiVersion": format!("{GROUP}/v1"),
        "metadata": {
            "name": name,
            "namespace": namespace,
            "creationTimestamp": rfc3339(now),
        },
        "spec": {
            "audiences": audiences,
            "expirationSeconds": expiration,
            "boundObjectRef": bound_ref.cloned().unwrap_or(Value::Null),
        },
        "status": {
            "token": token.token,
            "expirationTimestamp": rfc3339(now + expiration),
        },
    }))
}

/// Upstream's `ValidateTokenRequest`.
fn validate_expiration(seconds: i64) -> ApiResult<()> {
    let error = |detail: &str| FieldError {
        kind: FieldErrorKind::Invalid,
        field: "spec.expirationSeconds".into(),
        value: Some(seconds.to_string()),
        detail: detail.into(),
    };
    let mut errors = Vec::new();
    if seconds < MIN_EXPIRATION_SECONDS {
        errors.push(error("may not specify a duration less than 10 minutes"));
    }
    if seconds > MAX_EXPIRATION_SECONDS {
        errors.push(error("may not specify a duration larger than 2^32 seconds"));
    }
    if errors.is_empty() {
        return Ok(());
    }
    Err(ApiError::invalid(
        GROUP,
        KIND,
        "",
        errors.iter().map(FieldError::to_cause).collect(),
    ))
}

/// Resolves `spec.boundObjectRef`: the Pod (running as `sa_name`), Secret or Node it names.
async fn bind(
    scope: &Scope,
    namespace: &str,
    sa_name: &str,
    reference: &Value,
) -> ApiResult<BoundObjects> {
    let field = |key: &str| {
        reference
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
    };
    let (api_version, kind, name, want_uid) = (
        field("apiVersion"),
        field("kind"),
        field("name"),
        field("uid"),
    );
    let (group, version) = match api_version.split_once('/') {
        Some((group, version)) => (group, version),
        None => ("", api_version),
    };
    let get = |plural: &'static str, namespace: Option<&str>| {
        let store = scope.stores.get("", "v1", plural).cloned();
        let namespace = namespace.map(str::to_string);
        let name = name.to_string();
        async move {
            match store {
                Some(store) => store.get(namespace.as_deref(), &name).await,
                None => Err(ApiError::not_found(&GroupResource::new("", plural), &name)),
            }
        }
    };
    let mut bound = BoundObjects::default();
    let uid = match (group, kind) {
        ("", "Pod") => {
            let pod = get("pods", Some(namespace)).await?;
            let runs_as = pod
                .pointer("/spec/serviceAccountName")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if runs_as != sa_name {
                return Err(ApiError::bad_request(format!(
                    "cannot bind token for serviceaccount {} to pod running with different serviceaccount name.",
                    crate::api::go_fmt::go_quote(sa_name)
                )));
            }
            let uid = uid_of(&pod);
            bound.pod = Some(ObjectRef {
                name: name.to_string(),
                uid: uid.clone(),
            });
            let node_name = pod
                .pointer("/spec/nodeName")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if !node_name.is_empty() {
                bound.node = Some(pod_node(scope, node_name).await?);
            }
            uid
        }
        ("", "Node") => {
            let node = get("nodes", None).await?;
            let uid = uid_of(&node);
            bound.node = Some(ObjectRef {
                name: name.to_string(),
                uid: uid.clone(),
            });
            uid
        }
        ("", "Secret") => {
            let secret = get("secrets", Some(namespace)).await?;
            let uid = uid_of(&secret);
            bound.secret = Some(ObjectRef {
                name: name.to_string(),
                uid: uid.clone(),
            });
            uid
        }
        _ => {
            return Err(ApiError::bad_request(format!(
                "cannot bind token to object of type {group}/{version}, Kind={kind}"
            )))
        }
    };
    if !want_uid.is_empty() && want_uid != uid {
        return Err(ApiError::conflict(
            &GroupResource::new(group, kind),
            name,
            &format!(
                "the UID in the bound object reference ({want_uid}) does not match the UID in record. The object might have been deleted and then recreated"
            ),
        ));
    }
    Ok(bound)
}

/// The node a bound pod runs on: its name and uid, or its name alone when the Node is missing.
async fn pod_node(scope: &Scope, node_name: &str) -> ApiResult<ObjectRef> {
    let Some(nodes) = scope.stores.get("", "v1", "nodes") else {
        return Ok(ObjectRef {
            name: node_name.to_string(),
            uid: String::new(),
        });
    };
    match nodes.get(None, node_name).await {
        Ok(node) => Ok(ObjectRef {
            name: node_name.to_string(),
            uid: uid_of(&node),
        }),
        Err(err) if err.code() == StatusCode::NOT_FOUND => Ok(ObjectRef {
            name: node_name.to_string(),
            uid: String::new(),
        }),
        Err(err) => Err(ApiError::internal(err.status.message)),
    }
}

/// Unix seconds as RFC 3339 (`2006-01-02T15:04:05Z`).
fn rfc3339(seconds: i64) -> String {
    jiff::Timestamp::from_second(seconds)
        .map(|ts| ts.to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
