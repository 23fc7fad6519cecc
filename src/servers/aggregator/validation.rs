//! The APIService strategy: defaults and validation as upstream's
//! `k8s.io/kube-aggregator/pkg/apis/apiregistration/validation/validation.go` (messages byte for
//! byte) and `pkg/registry/apiservice/strategy.go`.

use serde_json::{json, Value};

use crate::api::names::{is_dns1035_label, is_dns1123_subdomain, NameRule};
use crate::registry::strategy::{FieldPath, StatusUpdate, Strategy, SPEC_AND_METADATA};
use crate::registry::validation::{FieldError, FieldErrorKind};

/// The port `spec.service.port` defaults to (upstream's v1 defaulting).
pub const DEFAULT_SERVICE_PORT: i64 = 443;

/// The store strategy of `apiservices`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiServiceStrategy;

impl Strategy for ApiServiceStrategy {
    /// Names are checked by [`validate_api_service`] (only a path segment, and `<version>.<group>`),
    /// so the store checks only the path-segment rule.
    fn name_rule(&self) -> NameRule {
        NameRule::PathSegment
    }
    fn has_status_subresource(&self) -> bool {
        true
    }
    /// Upstream's APIService status strategy keeps the stored labels, annotations, finalizers
    /// and owner references.
    fn status_update(&self) -> StatusUpdate {
        StatusUpdate::Resets(&[
            &["spec"],
            &["metadata", "labels"],
            &["metadata", "annotations"],
            &["metadata", "finalizers"],
            &["metadata", "ownerReferences"],
        ])
    }
    fn status_reset_fields(&self) -> &'static [FieldPath] {
        SPEC_AND_METADATA
    }
    /// As every resource served outside kube-apiserver's own groups.
    fn tracks_generation(&self) -> bool {
        true
    }
    fn allow_create_on_update(&self) -> bool {
        false
    }
    fn prepare_for_create(&self, obj: &mut Value) {
        default_service_port(obj);
    }
    fn prepare_for_update(&self, new: &mut Value, _old: &Value) {
        default_service_port(new);
    }
    fn validate_create(&self, obj: &Value) -> Vec<FieldError> {
        validate_api_service(obj)
    }
    fn validate_update(&self, new: &Value, _old: &Value) -> Vec<FieldError> {
        validate_api_service(new)
    }
}

/// Sets `spec.service.port` to 443 when a service is given without a port.
pub fn default_service_port(obj: &mut Value) {
    if let Some(service) = obj
        .pointer_mut("/spec/service")
        .and_then(Value::as_object_mut)
    {
        service
            .entry("port")
            .or_insert_with(|| json!(DEFAULT_SERVICE_PORT));
    }
}

fn spec_str<'a>(obj: &'a Value, field: &str) -> &'a str {
    obj.pointer(&format!("/spec/{field}"))
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn invalid_number(field: &str, value: i64, detail: &str) -> FieldError {
    FieldError {
        kind: FieldErrorKind::Invalid,
        field: field.to_string(),
        value: Some(value.to_string()),
        detail: detail.to_string(),
    }
}

fn invalid_bool(field: &str, value: bool, detail: &str) -> FieldError {
    FieldError {
        kind: FieldErrorKind::Invalid,
        field: field.to_string(),
        value: Some(value.to_string()),
        detail: detail.to_string(),
    }
}

/// The length in bytes of the decoded `spec.caBundle` (base64 in JSON); 0 when absent.
fn ca_bundle_len(obj: &Value) -> usize {
    use base64::Engine as _;
    let encoded = spec_str(obj, "caBundle");
    base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map(|bytes| bytes.len())
        .unwrap_or(encoded.len())
}

/// Upstream's `ValidateAPIService` (metadata aside, which the store checks): the name MUST be
/// `<spec.version>.<spec.group>`, the group a DNS-1123 subdomain (empty only for `v1`), the
/// version a DNS-1035 label, `groupPriorityMinimum` in 1..=20000, `versionPriority` in 1..=1000;
/// a local APIService (no `spec.service`) MUST NOT have a `caBundle` or `insecureSkipTLSVerify`;
/// a service needs a namespace and a name, and `insecureSkipTLSVerify` excludes a `caBundle`.
pub fn validate_api_service(obj: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let group = spec_str(obj, "group");
    let version = spec_str(obj, "version");
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let required_name = format!("{version}.{group}");
    if !name.is_empty() && name != required_name {
        errors.push(FieldError::invalid(
            "metadata.name",
            name,
            format!("must be `spec.version+\".\"+spec.group`: {required_name:?}"),
        ));
    }
    if group.is_empty() && version != "v1" {
        errors.push(FieldError::required(
            "spec.group",
            "only v1 may have an empty group and it better be legacy kube",
        ));
    }
    if !group.is_empty() {
        for problem in is_dns1123_subdomain(group) {
            errors.push(FieldError::invalid("spec.group", group, problem));
        }
    }
    for problem in is_dns1035_label(version) {
        errors.push(FieldError::invalid("spec.version", version, problem));
    }
    let group_priority = obj
        .pointer("/spec/groupPriorityMinimum")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    if group_priority <= 0 || group_priority > 20000 {
        errors.push(invalid_number(
            "spec.groupPriorityMinimum",
            group_priority,
            "must be positive and less than 20000",
        ));
    }
    let version_priority = obj
        .pointer("/spec/versionPriority")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    if version_priority <= 0 || version_priority > 1000 {
        errors.push(invalid_number(
            "spec.versionPriority",
            version_priority,
            "must be positive and less than 1000",
        ));
    }
    let insecure = obj
        .pointer("/spec/insecureSkipTLSVerify")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let ca_len = ca_bundle_len(obj);
    let service = obj.pointer("/spec/service").filter(|s| !s.is_null());
    let Some(service) = service else {
        if ca_len != 0 {
            errors.push(FieldError::invalid(
                "spec.caBundle",
                &format!("{ca_len} bytes"),
                "local APIServices may not have a caBundle",
            ));
        }
        if insecure {
            errors.push(invalid_bool(
                "spec.insecureSkipTLSVerify",
                insecure,
                "local APIServices may not have insecureSkipTLSVerify",
            ));
        }
        return errors;
    };
    let service_field = |field: &str| service.get(field).and_then(Value::as_str).unwrap_or("");
    if service_field("namespace").is_empty() {
        errors.push(FieldError::required("spec.service.namespace", ""));
    }
    if service_field("name").is_empty() {
        errors.push(FieldError::required("spec.service.name", ""));
    }
    if insecure && ca_len > 0 {
        errors.push(invalid_bool(
            "spec.insecureSkipTLSVerify",
            insecure,
            "may not be true if caBundle is present",
        ));
    }
    errors
}
