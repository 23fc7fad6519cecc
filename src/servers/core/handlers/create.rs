//! POST to a collection, as upstream's `handlers/create.go`.

use axum::body::Body;
use axum::response::Response;
use http::request::Parts;
use http::StatusCode;

use super::admission::options_object;
use super::{content_type, fallback_output, respond_object, Scope};
use crate::api::status::ApiResult;
use crate::registry::strategy::CreateRest;
use crate::servers::core::body::{self, ExpectedType};
use crate::servers::core::negotiation;
use crate::servers::core::query::{self, WriteKind};

/// Decodes the body, creates the object and answers it with 201 (also for dry runs, as
/// upstream), with a `Warning` per unknown or duplicate field under `fieldValidation=Warn`.
pub async fn create(scope: Scope, parts: Parts, request_body: Body) -> Response {
    let output = match scope.output(&parts) {
        Ok(output) => output,
        Err(err) => return negotiation::respond_error(&fallback_output(&parts, &scope), err, &[]),
    };
    let mut warnings = Vec::new();
    match create_object(&scope, &parts, request_body, &mut warnings).await {
        Ok(object) => respond_object(&scope, &output, StatusCode::CREATED, object, &warnings),
        Err(err) => negotiation::respond_error(&output, err, &warnings),
    }
}

/// Creates the object; `warnings` gets the decoder's and admission's warnings, also when the
/// create fails.
async fn create_object(
    scope: &Scope,
    parts: &Parts,
    request_body: Body,
    warnings: &mut Vec<String>,
) -> ApiResult<serde_json::Value> {
    let format = body::input_format(content_type(parts))?;
    let bytes = body::read_body(request_body).await?;
    let mut params = query::write_params(&scope.query, WriteKind::Create)?;
    // Upstream's managerOrUserAgent: the manager recorded in managedFields.
    let user_agent = parts
        .headers
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    params.write.field_manager = crate::registry::fieldmanager::manager_or_user_agent(
        &params.write.field_manager,
        user_agent,
    );
    let rest = scope
        .store
        .strategy()
        .create_rest(scope.subresource.as_deref());
    // `pods/<name>/binding` takes a Binding, not a Pod.
    let pod_binding = rest == Some(CreateRest::Binding) && scope.subresource.is_some();
    let expected = if pod_binding {
        ExpectedType {
            group: "",
            version: "v1",
            kind: "Binding",
            codec: crate::catalog::codec_for("", "v1", "Binding")
                .ok_or_else(|| crate::api::status::ApiError::internal("no codec for Binding"))?,
        }
    } else {
        ExpectedType::of(&scope.info)
    };
    if rest == Some(CreateRest::Eviction) {
        return create_eviction(scope, parts, &bytes, format, &mut params, warnings).await;
    }
    let (object, decode_warnings) =
        body::decode_with_validation(&bytes, format, &expected, params.field_validation)?;
    warnings.extend(decode_warnings);
    match rest {
        Some(CreateRest::Binding) => {
            return create_binding(scope, parts, object, &mut params, warnings, pod_binding).await;
        }
        Some(CreateRest::SelfSubjectReview | CreateRest::AccessReview) => {
            let user = parts.extensions.get::<crate::request::user::UserInfo>();
            let answer = crate::servers::core::reviews::review(
                &scope.info,
                object,
                user,
                scope.namespace(),
                scope.authorization.as_deref(),
            )
            .unwrap_or_else(|| {
                Err(crate::api::status::ApiError::internal(format!(
                    "no review for {}",
                    scope.info.kind
                )))
            });
            return answer;
        }
        _ => {}
    }
    scope.check_rbac_write(parts, &object, None)?;
    let options = options_object("CreateOptions", &params.write, &[]);
    let admission = scope.admission(parts, &mut params.write, options, None);
    let created = scope
        .store
        .create(scope.namespace(), object, &params.write)
        .await;
    admission.finish(parts, warnings);
    created
}

/// A Binding (top-level `bindings`, or `pods/<name>/binding` whose URL names the pod), admitted
/// as a create with the Binding as its object; the pod's own write is the server's.
async fn create_binding(
    scope: &Scope,
    parts: &Parts,
    mut object: serde_json::Value,
    params: &mut query::WriteParams,
    warnings: &mut Vec<String>,
    pod_binding: bool,
) -> ApiResult<serde_json::Value> {
    use crate::api::status::ApiError;
    if pod_binding {
        let in_body = object
            .pointer("/metadata/name")
            .and_then(serde_json::Value::as_str);
        if in_body != scope.name.as_deref() {
            return Err(ApiError::bad_request(
                "name in URL does not match name in Binding object",
            ));
        }
    }
    let kind = pod_binding.then(|| crate::admission::attributes::GroupVersionKind {
        group: String::new(),
        version: "v1".into(),
        kind: "Binding".into(),
    });
    admit_as_is(scope, parts, params, warnings, &mut object, kind).await?;
    let pods = scope
        .stores
        .get("", "v1", "pods")
        .ok_or_else(|| ApiError::internal("pods are not served"))?;
    let namespace = scope.namespace().unwrap_or_default();
    let status =
        crate::servers::core::binding::bind(pods, namespace, &object, params.write.dry_run).await?;
    serde_json::to_value(status).map_err(ApiError::internal)
}

/// Admits the create of `object`, a request's own kind that is not stored as it is (a Binding,
/// an Eviction): `kind` names it when it is a subresource of another kind's resource.
async fn admit_as_is(
    scope: &Scope,
    parts: &Parts,
    params: &mut query::WriteParams,
    warnings: &mut Vec<String>,
    object: &mut serde_json::Value,
    kind: Option<crate::admission::attributes::GroupVersionKind>,
) -> ApiResult<()> {
    let view = kind.map(|kind| {
        let view: std::sync::Arc<dyn crate::admission::attributes::SubresourceView> =
            std::sync::Arc::new(crate::admission::attributes::AsIs);
        (kind, view)
    });
    let options = options_object("CreateOptions", &params.write, &[]);
    let admission = scope.admission(parts, &mut params.write, options, view);
    let admitted = async {
        if let Some(admit) = params.write.admission.clone() {
            use crate::registry::admission::AdmissionOperation::Create;
            admit.mutate(Create, object, None).await?;
            admit.validate(Create, Some(object), None).await?;
        }
        Ok::<_, crate::api::status::ApiError>(())
    }
    .await;
    admission.finish(parts, warnings);
    admitted
}

/// An Eviction of the pod the URL names (`policy/v1`, or `policy/v1beta1` as older clients
/// send), admitted as `pods/eviction` with the Eviction as its object.
async fn create_eviction(
    scope: &Scope,
    parts: &Parts,
    bytes: &[u8],
    format: body::InputFormat,
    params: &mut query::WriteParams,
    warnings: &mut Vec<String>,
) -> ApiResult<serde_json::Value> {
    use crate::api::status::ApiError;
    // policy/v1beta1 Evictions have v1's schema: read as v1 (the admission sees the version sent).
    let mut version = "v1";
    let mut owned = None;
    if format != body::InputFormat::Protobuf {
        if let Ok(mut doc) = body::parse_document(bytes, format) {
            if doc.get("apiVersion").and_then(serde_json::Value::as_str) == Some("policy/v1beta1") {
                version = "v1beta1";
                doc["apiVersion"] = "policy/v1".into();
                owned = Some(serde_json::to_vec(&doc).map_err(ApiError::internal)?);
            }
        }
    }
    let (bytes, format) = match &owned {
        Some(json) => (json.as_slice(), body::InputFormat::Json),
        None => (bytes, format),
    };
    let expected = ExpectedType {
        group: "policy",
        version: "v1",
        kind: "Eviction",
        codec: crate::catalog::codec_for("policy", "v1", "Eviction")
            .ok_or_else(|| ApiError::internal("no codec for Eviction"))?,
    };
    let (mut eviction, decode_warnings) =
        body::decode_with_validation(bytes, format, &expected, params.field_validation)?;
    warnings.extend(decode_warnings);
    if version == "v1beta1" {
        eviction["apiVersion"] = "policy/v1beta1".into();
    }
    let in_body = eviction
        .pointer("/metadata/name")
        .and_then(serde_json::Value::as_str);
    if in_body != scope.name.as_deref() {
        return Err(ApiError::bad_request(
            "name in URL does not match name in Eviction object",
        ));
    }
    let raw = crate::servers::core::eviction::raw_delete_options(&eviction)?;
    let (delete, delete_write) = query::delete_options(raw)?;
    params.write.dry_run |= delete_write.dry_run;
    let kind = crate::admission::attributes::GroupVersionKind {
        group: "policy".into(),
        version: version.into(),
        kind: "Eviction".into(),
    };
    admit_as_is(scope, parts, params, warnings, &mut eviction, Some(kind)).await?;
    // The pod's own delete is the server's write, not admitted again as the eviction.
    let write = crate::registry::options::WriteOptions {
        dry_run: params.write.dry_run,
        ..Default::default()
    };
    let stores = &scope.stores;
    let pods = stores
        .get("", "v1", "pods")
        .ok_or_else(|| ApiError::internal("pods are not served"))?;
    let pdbs = stores
        .get("policy", "v1", "poddisruptionbudgets")
        .ok_or_else(|| ApiError::internal("poddisruptionbudgets are not served"))?;
    let namespace = scope.namespace().unwrap_or_default();
    let name = scope.name.as_deref().unwrap_or_default();
    let status =
        crate::servers::core::eviction::evict(pods, pdbs, namespace, name, delete, &write).await?;
    serde_json::to_value(status).map_err(ApiError::internal)
}
