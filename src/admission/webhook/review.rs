//! The AdmissionReview a webhook is sent and the answer it gives (upstream's
//! `webhook/request/admissionreview.go` and `webhook/errors/statuserror.go`).

use std::collections::BTreeMap;

use base64::Engine;
use http::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};

use super::matching::Invocation;
use crate::admission::attributes::Attributes;
use crate::api::status::{ApiError, StatusDetails};

/// The AdmissionReview versions the server sends, in no particular preference: a webhook's
/// `admissionReviewVersions` order decides.
const SUPPORTED: &[&str] = &["v1", "v1beta1"];

/// The first of the webhook's `admissionReviewVersions` the server supports.
pub(crate) fn review_version(versions: &[String]) -> Result<&'static str, String> {
    versions
        .iter()
        .find_map(|v| SUPPORTED.iter().find(|s| **s == v.as_str()).copied())
        .ok_or_else(|| {
            "webhook does not accept known AdmissionReview versions (v1, v1beta1)".to_string()
        })
}

/// The `request` of an AdmissionReview (the same fields in `v1` and `v1beta1`): `kind` and
/// `resource` as the webhook matched them, `requestKind` and `requestResource` as the request
/// named them; `object` and `oldObject` null when absent.
pub(crate) fn admission_request(
    uid: &str,
    attributes: &Attributes,
    invocation: &Invocation,
    object: Option<&Value>,
    old: Option<&Value>,
) -> Value {
    let gvk = |group: &str, version: &str, kind: &str| json!({"group": group, "version": version, "kind": kind});
    let gvr = |group: &str, version: &str, resource: &str| json!({"group": group, "version": version, "resource": resource});
    let mut request = json!({
        "uid": uid,
        "kind": gvk(&invocation.kind.group, &invocation.kind.version, &invocation.kind.kind),
        "resource": gvr(
            &invocation.resource.group,
            &invocation.resource.version,
            &invocation.resource.resource,
        ),
        "requestKind": gvk(&attributes.kind.group, &attributes.kind.version, &attributes.kind.kind),
        "requestResource": gvr(
            &attributes.resource.group,
            &attributes.resource.version,
            &attributes.resource.resource,
        ),
        "operation": attributes.operation.as_str(),
        "userInfo": serde_json::to_value(&attributes.user).unwrap_or_else(|_| json!({})),
        "object": object.cloned().unwrap_or(Value::Null),
        "oldObject": old.cloned().unwrap_or(Value::Null),
        "dryRun": attributes.dry_run,
        "options": attributes.options.clone().unwrap_or(Value::Null),
    });
    let map = request.as_object_mut().expect("a JSON object");
    let mut optional = |key: &str, value: &str| {
        if !value.is_empty() {
            map.insert(key.to_string(), Value::String(value.to_string()));
        }
    };
    optional("subResource", &attributes.subresource);
    optional("requestSubResource", &attributes.subresource);
    optional("name", &attributes.name);
    optional("namespace", &attributes.namespace);
    request
}

/// An AdmissionReview of `version` carrying `request`.
pub(crate) fn review(version: &str, request: Value) -> Value {
    json!({
        "apiVersion": format!("admission.k8s.io/{version}"),
        "kind": "AdmissionReview",
        "request": request,
    })
}

/// A webhook's `response`, checked.
#[derive(Debug, Default)]
pub(crate) struct Response {
    pub allowed: bool,
    /// The decoded `patch` (mutating webhooks only), with its type (`JSONPatch`).
    pub patch: Option<(Vec<u8>, String)>,
    /// The `status` (upstream's `Result`) given with a denial.
    pub result: Option<Value>,
    pub warnings: Vec<String>,
    pub audit_annotations: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Wire {
    #[serde(default)]
    uid: String,
    #[serde(default)]
    allowed: bool,
    #[serde(default)]
    status: Option<Value>,
    #[serde(default)]
    patch: Option<String>,
    #[serde(default)]
    patch_type: Option<String>,
    #[serde(default)]
    audit_annotations: Option<BTreeMap<String, String>>,
    #[serde(default)]
    warnings: Option<Vec<String>>,
}

/// Checks the AdmissionReview a webhook answered to a `version` review of `uid`, with
/// upstream's reasons: the response must be there; in `v1` its uid must be `uid` and its kind
/// `admission.k8s.io/v1` `AdmissionReview` (`v1beta1` checks neither); a mutating webhook gives
/// `patch` and `patchType` together, a validating one neither. `Err` is the reason, which the
/// caller reports as an invalid response.
pub(crate) fn verify(
    uid: &str,
    version: &str,
    mutating: bool,
    answer: &Value,
) -> Result<Response, String> {
    let Some(response) = answer.get("response").filter(|r| !r.is_null()) else {
        return Err("webhook response was absent".into());
    };
    let wire: Wire = serde_json::from_value(response.clone()).map_err(|e| e.to_string())?;
    let patch = match wire.patch.as_deref().filter(|p| !p.is_empty()) {
        Some(text) => Some(
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|e| format!("illegal base64 data in response.patch: {e}"))?,
        ),
        None => None,
    };
    let patch = if version == "v1" {
        if wire.uid != uid {
            return Err(format!("expected response.uid={uid:?}, got {:?}", wire.uid));
        }
        let text = |key: &str| answer.get(key).and_then(Value::as_str).unwrap_or("");
        let (group, api_version) = match text("apiVersion").split_once('/') {
            Some((group, version)) => (group, version),
            None => ("", text("apiVersion")),
        };
        if (group, api_version, text("kind")) != ("admission.k8s.io", "v1", "AdmissionReview") {
            return Err(format!(
                "expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got {group}/{api_version}, Kind={}",
                text("kind")
            ));
        }
        if mutating {
            match (patch, wire.patch_type) {
                (Some(_), None) => {
                    return Err("webhook returned response.patch but not response.patchType".into())
                }
                (None, Some(_)) => {
                    return Err("webhook returned response.patchType but not response.patch".into())
                }
                (Some(_), Some(kind)) if kind.is_empty() => {
                    return Err(format!(
                        "webhook returned invalid response.patchType of {kind:?}"
                    ))
                }
                (Some(patch), Some(kind)) => Some((patch, kind)),
                (None, None) => None,
            }
        } else if patch.is_some() {
            return Err("validating webhook may not return response.patch".into());
        } else if wire.patch_type.is_some() {
            return Err("validating webhook may not return response.patchType".into());
        } else {
            None
        }
    } else {
        // v1beta1 never checked the patch type: a patch is a JSON patch.
        patch
            .filter(|_| mutating)
            .map(|patch| (patch, "JSONPatch".to_string()))
    };
    Ok(Response {
        allowed: wire.allowed,
        patch,
        result: wire.status,
        warnings: wire.warnings.unwrap_or_default(),
        audit_annotations: wire.audit_annotations.unwrap_or_default(),
    })
}

/// The error of a webhook's denial (upstream's `ToStatusErr`): the webhook's status, its code at
/// least 400, its message `admission webhook "<name>" denied the request: <message>` (or `:
/// <reason>`, or ` without explanation`).
pub(crate) fn denial(webhook: &str, result: Option<&Value>) -> ApiError {
    let empty = Value::Null;
    let result = result.unwrap_or(&empty);
    let text = |key: &str| result.get(key).and_then(Value::as_str).unwrap_or("");
    let denied = format!("admission webhook {webhook:?} denied the request");
    let message = match (text("message"), text("reason")) {
        ("", "") => format!("{denied} without explanation"),
        ("", reason) => format!("{denied}: {reason}"),
        (message, _) => format!("{denied}: {message}"),
    };
    let code = result
        .get("code")
        .and_then(Value::as_u64)
        .unwrap_or(0)
        .clamp(400, 999) as u16;
    let details = result
        .get("details")
        .and_then(|d| serde_json::from_value::<StatusDetails>(d.clone()).ok());
    let mut error = ApiError::new(StatusCode::BAD_REQUEST, text("reason"), message, details);
    error.status.code = code;
    error
}

/// The error of a dry run reaching a webhook with side effects (upstream's
/// `NewDryRunUnsupportedErr`): 400 BadRequest.
pub(crate) fn dry_run_unsupported(webhook: &str) -> ApiError {
    ApiError::bad_request(format!(
        "admission webhook {webhook:?} does not support dry run"
    ))
}
