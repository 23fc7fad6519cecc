//! PATCH of one object or of its `status`, as upstream's `handlers/patch.go`.
//!
//! * `Content-Type` picks the patch type: `application/json-patch+json` (RFC 6902),
//!   `application/merge-patch+json` (RFC 7386), `application/strategic-merge-patch+json` (not for
//!   custom resources) or server-side apply (`application/apply-patch+yaml`, a YAML or JSON
//!   configuration merged by [`crate::registry::fieldmanager::apply`]). Anything else is a 415 listing the
//!   accepted types in upstream's order.
//! * Apply requires `fieldManager` and is the only patch that may say `force`; applying to a
//!   missing object creates it (201), as upstream's patcher does.
//! * The patch is applied inside the store's `guaranteed_update`, so it is re-applied to the fresh
//!   object after a conflict; a `metadata.resourceVersion` the patch sets is a precondition (409 when
//!   stale, decided by the store). A missing object is a 404.
//! * Errors as upstream: an undecodable patch is a 400; a JSON patch whose operation fails (a `test`
//!   included) is a 422 `the server rejected our request due to an error in our request`; a result
//!   that does not decode as the kind is a 422 ` "" is invalid: patch: Invalid value: ...`, also used
//!   for unknown fields under `fieldValidation=Strict` (warnings under `Warn`).

use axum::body::Body;
use axum::response::Response;
use http::request::Parts;
use http::StatusCode;
use serde_json::Value;

use super::admission::options_object;
use super::{check_name, content_type, fallback_output, respond_object, Scope};
use crate::api::go_fmt::go_quote;
use crate::api::status::{ApiError, ApiResult, StatusCause, StatusDetails};
use crate::catalog::codec::{
    dropped_fields, duplicate_field_message, duplicate_fields, unknown_field_message,
};
use crate::servers::core::body;
use crate::servers::core::negotiation;
use crate::servers::core::query::{self, FieldValidation, WriteKind};

/// `application/json-patch+json`.
pub const JSON_PATCH: &str = "application/json-patch+json";
/// `application/merge-patch+json`.
pub const MERGE_PATCH: &str = "application/merge-patch+json";
/// `application/strategic-merge-patch+json`.
pub const STRATEGIC_MERGE_PATCH: &str = "application/strategic-merge-patch+json";
/// `application/apply-patch+yaml`: server-side apply.
pub const APPLY_PATCH: &str = "application/apply-patch+yaml";
/// The patch types served, in upstream's order (`installer.go`).
pub const ACCEPTED_PATCH_TYPES: &[&str] =
    &[JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, APPLY_PATCH];
/// The patch types of custom resources (apiextensions' `crdHandler`).
pub const CUSTOM_RESOURCE_PATCH_TYPES: &[&str] = &[JSON_PATCH, MERGE_PATCH, APPLY_PATCH];

/// The most operations one JSON patch may hold, as upstream.
const MAX_JSON_PATCH_OPERATIONS: usize = 10_000;

/// A decoded patch document.
enum PatchDocument {
    Json(json_patch::Patch),
    Merge(Value),
    Strategic(Value),
    /// A server-side apply configuration, by its manager, with `force`.
    Apply {
        config: Value,
        manager: String,
        force: bool,
        /// yaml.v2's strict errors of the configuration's repeated keys.
        repeated_keys: Vec<String>,
    },
}

/// Upstream's `NewGenericServerResponse(422, ...)`: reason Invalid with the cause as
/// `UnexpectedServerResponse`.
fn rejected(why: impl Into<String>) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "Invalid",
        "the server rejected our request due to an error in our request",
        Some(StatusDetails {
            causes: vec![StatusCause {
                reason: "UnexpectedServerResponse".into(),
                message: why.into(),
                field: String::new(),
            }],
            ..Default::default()
        }),
    )
}

/// The 422 of a patched object that does not decode: ` "" is invalid: patch: Invalid value: <value>: <why>`.
fn invalid_patch(rendered_value: &str, why: &str) -> ApiError {
    ApiError::invalid(
        "",
        "",
        "",
        vec![StatusCause {
            reason: "FieldValueInvalid".into(),
            message: format!("Invalid value: {rendered_value}: {why}"),
            field: "patch".into(),
        }],
    )
}

/// Renders JSON as Go's `fmt.Sprintf("%+v", map[string]interface{})`, as upstream quotes a
/// strategic merge patch in errors.
fn go_value(value: &Value) -> String {
    match value {
        Value::Null => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(go_value).collect::<Vec<_>>().join(" ")
        ),
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let entries: Vec<String> = keys
                .iter()
                .map(|k| format!("{k}:{}", go_value(&map[k.as_str()])))
                .collect();
            format!("map[{}]", entries.join(" "))
        }
    }
}

fn decode_patch(
    content_type: &str,
    bytes: &[u8],
    validation: FieldValidation,
) -> ApiResult<(PatchDocument, Vec<String>)> {
    let strict = validation != FieldValidation::Ignore;
    let decoding_error = |err: serde_json::Error| {
        if strict {
            ApiError::bad_request(format!("error decoding patch: {err}"))
        } else {
            ApiError::bad_request(err.to_string())
        }
    };
    let duplicates = || -> Vec<String> {
        if strict {
            duplicate_fields(bytes)
                .unwrap_or_default()
                .iter()
                .map(|p| duplicate_field_message(p))
                .collect()
        } else {
            Vec::new()
        }
    };
    match content_type {
        JSON_PATCH => {
            let patch: json_patch::Patch = serde_json::from_slice(bytes).map_err(decoding_error)?;
            if patch.0.len() > MAX_JSON_PATCH_OPERATIONS {
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "RequestEntityTooLarge",
                    format!(
                        "Request entity too large: The allowed maximum operations in a JSON patch is {MAX_JSON_PATCH_OPERATIONS}, got {}",
                        patch.0.len()
                    ),
                    None,
                ));
            }
            Ok((PatchDocument::Json(patch), Vec::new()))
        }
        MERGE_PATCH => {
            let patch: Value = serde_json::from_slice(bytes).map_err(|err| {
                if strict {
                    decoding_error(err)
                } else {
                    ApiError::bad_request("Invalid JSON Patch")
                }
            })?;
            Ok((PatchDocument::Merge(patch), duplicates()))
        }
        _ => {
            let patch: Value =
                serde_json::from_slice(bytes).map_err(|e| ApiError::bad_request(e.to_string()))?;
            Ok((PatchDocument::Strategic(patch), duplicates()))
        }
    }
}

/// The options of an apply: those of any patch, `force` allowed, and `fieldManager` required
/// (upstream's `ValidatePatchOptions`: `fieldManager: Required value: is required for apply patch`
/// first among the errors).
fn apply_params(parts: &Parts) -> ApiResult<query::WriteParams> {
    let without_force: Vec<(String, String)> = parts
        .uri
        .query()
        .map(|raw| serde_urlencoded::from_str::<Vec<(String, String)>>(raw).unwrap_or_default())
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| k != "force")
        .collect();
    let raw = serde_urlencoded::to_string(&without_force).unwrap_or_default();
    let query = query::QueryParams::parse(Some(&raw));
    let parsed = query::write_params(&query, WriteKind::Patch);
    if !query.string("fieldManager").is_empty() {
        return parsed;
    }
    let mut causes = vec![StatusCause {
        reason: "FieldValueRequired".into(),
        message: "Required value: is required for apply patch".into(),
        field: "fieldManager".into(),
    }];
    if let Err(err) = parsed {
        causes.extend(err.status.details.map(|d| d.causes).unwrap_or_default());
    }
    Err(ApiError::invalid("meta.k8s.io", "PatchOptions", "", causes))
}

/// Reads an apply configuration: YAML (JSON included) holding one object.
fn decode_apply(
    bytes: &[u8],
    manager: String,
    force: bool,
) -> ApiResult<(PatchDocument, Vec<String>)> {
    let config = match body::parse_document(bytes, body::InputFormat::Yaml) {
        // An empty document is an empty object, as Go's YAML decoding into a map.
        Ok(Value::Null) => Value::Object(Default::default()),
        Ok(config) => config,
        Err(why) => return Err(ApiError::bad_request(format!("error decoding YAML: {why}"))),
    };
    let go_type = match &config {
        Value::Array(_) => Some("array"),
        Value::String(_) => Some("string"),
        Value::Number(_) => Some("number"),
        Value::Bool(_) => Some("bool"),
        Value::Object(_) | Value::Null => None,
    };
    if let Some(go_type) = go_type {
        return Err(ApiError::bad_request(format!(
            "error decoding YAML: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {go_type} into Go value of type map[string]interface {{}}"
        )));
    }
    Ok((
        PatchDocument::Apply {
            config,
            manager,
            force,
            repeated_keys: body::yaml_keys_of(bytes),
        },
        Vec::new(),
    ))
}

/// The strategic merge of `patch` into `current`, for the kind of `scope`.
fn strategic_merge(scope: &Scope, current: &Value, patch: &Value) -> ApiResult<Value> {
    let info = &scope.info;
    crate::registry::patch::strategic::apply(current, patch, &info.group, &info.version, &info.kind)
        .map_err(ApiError::from)
}

/// Applies one patch to the current object and decodes the result as the kind.
struct Patcher<'a> {
    scope: &'a Scope,
    document: PatchDocument,
    /// Strict errors of the patch document itself (duplicate fields).
    patch_errors: Vec<String>,
    validation: FieldValidation,
    /// The warnings of the last attempt.
    warnings: Vec<String>,
}

impl Patcher<'_> {
    /// Patches `current` (for an apply, `None` when the object does not exist yet).
    fn apply(&mut self, current: Option<&Value>) -> ApiResult<Value> {
        self.warnings.clear();
        let live = current;
        let current = negotiation::with_type_meta(
            &self.scope.info,
            current.cloned().unwrap_or_else(|| serde_json::json!({})),
        );
        let mut yaml_warnings = Vec::new();
        let patched = match &self.document {
            PatchDocument::Json(patch) => {
                let mut doc = current;
                json_patch::patch(&mut doc, &patch.0).map_err(|err| rejected(err.to_string()))?;
                doc
            }
            PatchDocument::Merge(patch) => {
                let mut doc = current;
                json_patch::merge(&mut doc, patch);
                doc
            }
            PatchDocument::Strategic(patch) => strategic_merge(self.scope, &current, patch)?,
            PatchDocument::Apply {
                config,
                manager,
                force,
                repeated_keys,
            } => {
                let strategy = self.scope.store.strategy();
                let request = crate::registry::fieldmanager::ApplyRequest {
                    info: &self.scope.info,
                    manager,
                    force: *force,
                    subresource: self.scope.subresource.as_deref(),
                    reset_fields: match self.scope.subresource.as_deref() {
                        None => strategy.reset_fields(),
                        Some("status") => strategy.status_reset_fields(),
                        Some(_) => &[],
                    },
                };
                let applied = crate::registry::fieldmanager::apply(
                    &request,
                    live.is_some().then_some(&current),
                    config,
                )?;
                // Upstream strict-decodes the configuration after applying it.
                if !repeated_keys.is_empty() {
                    match self.validation {
                        FieldValidation::Strict => {
                            return Err(ApiError::bad_request(format!(
                                "error strict decoding YAML: error converting YAML to JSON: {}",
                                body::unmarshal_errors(repeated_keys)
                            )))
                        }
                        FieldValidation::Warn => yaml_warnings = repeated_keys.clone(),
                        FieldValidation::Ignore => {}
                    }
                }
                applied
            }
        };
        let rendered = || match &self.document {
            PatchDocument::Strategic(patch) => go_quote(&go_value(patch)),
            _ => go_quote(&serde_json::to_string(&patched).unwrap_or_default()),
        };
        if !patched.is_object() {
            return Err(invalid_patch(
                &rendered(),
                "the patched document is not an object",
            ));
        }
        let decoded = self
            .scope
            .info
            .codec()
            .round_trip(patched.clone())
            .map_err(|err| invalid_patch(&rendered(), &err.to_string()))?;
        let mut field_errors = self.patch_errors.clone();
        if self.validation != FieldValidation::Ignore {
            field_errors.extend(
                dropped_fields(&patched, &decoded)
                    .iter()
                    .map(|p| unknown_field_message(p)),
            );
        }
        if !field_errors.is_empty() {
            match self.validation {
                FieldValidation::Ignore => {}
                FieldValidation::Warn => self.warnings = field_errors,
                FieldValidation::Strict => {
                    return Err(invalid_patch(
                        &rendered(),
                        &format!("strict decoding error: {}", field_errors.join(", ")),
                    ))
                }
            }
        }
        self.warnings.extend(yaml_warnings);
        check_name(&decoded, self.scope.name(), self.scope.namespace())?;
        Ok(decoded)
    }
}

/// Patches the object named by `scope`.
pub async fn patch(scope: Scope, parts: Parts, request_body: Body) -> Response {
    let patch_type = body::base_media_type(content_type(&parts).unwrap_or_default());
    // Custom resources have no patch strategies: upstream refuses strategic merge patches on them.
    let accepted = if scope.info.is_custom() {
        CUSTOM_RESOURCE_PATCH_TYPES
    } else {
        ACCEPTED_PATCH_TYPES
    };
    if !accepted.contains(&patch_type.as_str()) {
        let err = body::unsupported_media_type(accepted);
        return negotiation::respond_error(&fallback_output(&parts, &scope), err, &[]);
    }
    let output = match scope.output(&parts) {
        Ok(output) => output,
        Err(err) => return negotiation::respond_error(&fallback_output(&parts, &scope), err, &[]),
    };
    let result = async {
        let bytes = body::read_body(request_body).await?;
        let mut params = if patch_type == APPLY_PATCH {
            apply_params(&parts)?
        } else {
            query::write_params(&scope.query, WriteKind::Patch)?
        };
        params.write.subresource = scope.subresource.clone();
        let (document, patch_errors) = if patch_type == APPLY_PATCH {
            // The apply records managedFields itself: the store must not track it as an Update.
            let manager = std::mem::take(&mut params.write.field_manager);
            let force = scope.query.boolean("force").unwrap_or(false);
            decode_apply(&bytes, manager, force)?
        } else {
            let user_agent = parts
                .headers
                .get(http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok());
            params.write.field_manager = crate::registry::fieldmanager::manager_or_user_agent(
                &params.write.field_manager,
                user_agent,
            );
            decode_patch(&patch_type, &bytes, params.field_validation)?
        };
        let is_apply = matches!(document, PatchDocument::Apply { .. });
        // Upstream's patchToUpdateOptions: admission sees the patch as an update.
        let mut options = options_object("UpdateOptions", &params.write, &[]);
        if let PatchDocument::Apply { manager, .. } = &document {
            options["fieldManager"] = serde_json::Value::from(manager.as_str());
        }
        let admission = scope.admission(&parts, &mut params.write, options, None);
        let mut patcher = Patcher {
            scope: &scope,
            document,
            patch_errors,
            validation: params.field_validation,
            warnings: Vec::new(),
        };
        let updated = scope
            .store
            .guaranteed_update(scope.namespace(), scope.name(), &params.write, |current| {
                let patched = patcher.apply(Some(current))?;
                scope.check_rbac_write(&parts, &patched, Some(current))?;
                Ok(patched)
            })
            .await;
        let result = match updated {
            Err(err) if is_apply && err.status.code == 404 && scope.subresource.is_none() => {
                let object = patcher.apply(None)?;
                scope.check_rbac_write(&parts, &object, None)?;
                let created = scope
                    .store
                    .create(scope.namespace(), object, &params.write)
                    .await;
                created.map(|created| (created, StatusCode::CREATED))
            }
            Err(err) => Err(err),
            Ok(object) => Ok((object, StatusCode::OK)),
        };
        let mut warnings = std::mem::take(&mut patcher.warnings);
        admission.finish(&parts, &mut warnings);
        Ok::<_, ApiError>((result, warnings))
    }
    .await;
    match result {
        Ok((Ok((object, status)), warnings)) => {
            respond_object(&scope, &output, status, object, &warnings)
        }
        Ok((Err(err), warnings)) => negotiation::respond_error(&output, err, &warnings),
        Err(err) => negotiation::respond_error(&output, err, &[]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn go_rendering_of_patch_maps() {
        let patch = json!({"spec": {"replicas": 2, "foo": "x"}, "a": [1, null, true]});
        assert_eq!(
            go_value(&patch),
            "map[a:[1 <nil> true] spec:map[foo:x replicas:2]]"
        );
    }

    #[test]
    fn patch_decoding_errors() {
        let err = decode_patch(JSON_PATCH, b"{", FieldValidation::Strict)
            .err()
            .expect("bad json");
        assert_eq!(err.status.code, 400);
        assert!(
            err.status.message.starts_with("error decoding patch: "),
            "{}",
            err.status.message
        );
        let err = decode_patch(MERGE_PATCH, b"{", FieldValidation::Ignore)
            .err()
            .expect("bad json");
        assert_eq!(err.status.message, "Invalid JSON Patch");
        let (_, errors) =
            decode_patch(MERGE_PATCH, br#"{"a":1,"a":2}"#, FieldValidation::Warn).expect("decodes");
        assert_eq!(errors, vec!["duplicate field \"a\"".to_string()]);
    }

    #[test]
    fn rejected_patches_are_generic_422s() {
        let err = rejected("testing value /data/a failed");
        assert_eq!(err.status.code, 422);
        assert_eq!(err.status.reason, "Invalid");
        assert_eq!(
            err.status.message,
            "the server rejected our request due to an error in our request"
        );
        let details = err.status.details.expect("details");
        assert_eq!(details.causes[0].reason, "UnexpectedServerResponse");
    }
}
