//! PUT of one object or of its `status`, as upstream's `handlers/update.go`.

use axum::body::Body;
use axum::response::Response;
use http::request::Parts;
use http::StatusCode;
use serde_json::Value;

use super::admission::options_object;
use super::{check_name, content_type, fallback_output, respond_object, Scope};
use crate::api::status::ApiResult;
use crate::servers::core::body::{self, ExpectedType};
use crate::servers::core::negotiation;
use crate::servers::core::query::{self, WriteKind};

/// Decodes the body, checks its name against the URL and replaces the object: 200, or 201 when
/// the store created it.
pub async fn update(scope: Scope, parts: Parts, request_body: Body) -> Response {
    let output = match scope.output(&parts) {
        Ok(output) => output,
        Err(err) => return negotiation::respond_error(&fallback_output(&parts, &scope), err, &[]),
    };
    let mut warnings = Vec::new();
    match update_object(&scope, &parts, request_body, &mut warnings).await {
        Ok((object, created)) => {
            let status = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            respond_object(&scope, &output, status, object, &warnings)
        }
        Err(err) => negotiation::respond_error(&output, err, &warnings),
    }
}

/// Replaces the object; `warnings` gets the decoder's and admission's warnings, also when the
/// update fails.
async fn update_object(
    scope: &Scope,
    parts: &Parts,
    request_body: Body,
    warnings: &mut Vec<String>,
) -> ApiResult<(Value, bool)> {
    let format = body::input_format(content_type(parts))?;
    let bytes = body::read_body(request_body).await?;
    let mut params = query::write_params(&scope.query, WriteKind::Update)?;
    params.write.subresource = scope.subresource.clone();
    // Upstream's managerOrUserAgent: the manager recorded in managedFields.
    let user_agent = parts
        .headers
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    params.write.field_manager = crate::registry::fieldmanager::manager_or_user_agent(
        &params.write.field_manager,
        user_agent,
    );
    let expected = ExpectedType::of(&scope.info);
    let (object, decode_warnings) =
        body::decode_with_validation(&bytes, format, &expected, params.field_validation)?;
    warnings.extend(decode_warnings);
    check_name(&object, scope.name(), scope.namespace())?;
    if scope.rbac.is_some() && crate::rbac::escalation::is_rbac_resource(&scope.info) {
        let old = match scope.store.get(scope.namespace(), scope.name()).await {
            Ok(old) => Some(old),
            Err(err) if err.status.code == 404 => None,
            Err(err) => return Err(err),
        };
        scope.check_rbac_write(parts, &object, old.as_ref())?;
    }
    let options = options_object("UpdateOptions", &params.write, &[]);
    let admission = scope.admission(parts, &mut params.write, options, None);
    let updated = scope
        .store
        .update(scope.namespace(), scope.name(), object, &params.write)
        .await;
    admission.finish(parts, warnings);
    updated
}
