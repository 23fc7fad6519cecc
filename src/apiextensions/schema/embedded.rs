//! `x-kubernetes-embedded-resource` checks, after upstream's
//! `apiextensions-apiserver/pkg/apiserver/schema/objectmeta/validation.go`
//! (`validateEmbeddedResource`): an embedded object needs a string `apiVersion` that parses as a
//! group/version and a string `kind` that is a DNS-1035 label once lower-cased; its `metadata`
//! is validated as ObjectMeta (names as path segments, namespace optional).

use serde_json::{Map, Value};

use super::{AdditionalProperties, Structural};
use crate::api::go_fmt::bad_value;
use crate::api::go_fmt::go_quote;
use crate::api::names::{is_dns1035_label, NameRule};
use crate::registry::validation::metadata::validate_object_meta;
use crate::registry::validation::FieldError;

/// Appends the embedded-resource errors below the object `obj` at `path` (the root itself is
/// not an embedded resource).
pub(super) fn validate_object(
    s: &Structural,
    obj: &Map<String, Value>,
    path: &str,
    errors: &mut Vec<FieldError>,
) {
    for (key, value) in obj {
        if let Some(prop) = s.property(key) {
            validate_value(prop, value, &super::join(path, key), errors);
        } else if let Some(AdditionalProperties::Schema(extra)) = &s.additional_properties {
            validate_value(extra, value, &format!("{path}[{key}]"), errors);
        }
    }
}

fn validate_value(s: &Structural, value: &Value, path: &str, errors: &mut Vec<FieldError>) {
    match value {
        Value::Object(obj) => {
            if s.embedded_resource {
                validate_embedded(obj, path, errors);
            }
            validate_object(s, obj, path, errors);
        }
        Value::Array(items) => {
            if let Some(item) = &s.items {
                for (i, v) in items.iter().enumerate() {
                    validate_value(item, v, &format!("{path}[{i}]"), errors);
                }
            }
        }
        _ => {}
    }
}

fn invalid(field: String, value: String, detail: impl Into<String>) -> FieldError {
    FieldError {
        kind: crate::registry::validation::FieldErrorKind::Invalid,
        field,
        value: Some(value),
        detail: detail.into(),
    }
}

fn validate_embedded(obj: &Map<String, Value>, path: &str, errors: &mut Vec<FieldError>) {
    let api_version_path = super::join(path, "apiVersion");
    let kind_path = super::join(path, "kind");
    if !obj.contains_key("apiVersion") {
        errors.push(FieldError::required(api_version_path.clone(), ""));
    }
    if !obj.contains_key("kind") {
        errors.push(FieldError::required(kind_path.clone(), ""));
    }
    match obj.get("apiVersion") {
        None => {}
        Some(Value::String(v)) if v.is_empty() => {
            errors.push(invalid(api_version_path, go_quote(v), "must not be empty"));
        }
        Some(Value::String(v)) if v.matches('/').count() > 1 => {
            errors.push(invalid(
                api_version_path,
                go_quote(v),
                format!("unexpected GroupVersion string: {v}"),
            ));
        }
        Some(Value::String(_)) => {}
        Some(other) => errors.push(invalid(
            api_version_path,
            bad_value(other),
            "must be a string",
        )),
    }
    match obj.get("kind") {
        None => {}
        Some(Value::String(v)) if v.is_empty() => {
            errors.push(invalid(kind_path, go_quote(v), "must not be empty"));
        }
        Some(Value::String(v)) => {
            let problems = is_dns1035_label(&v.to_lowercase());
            if !problems.is_empty() {
                errors.push(invalid(
                    kind_path,
                    go_quote(v),
                    format!(
                        "may have mixed case, but should otherwise match: {}",
                        problems.join(",")
                    ),
                ));
            }
        }
        Some(other) => errors.push(invalid(kind_path, bad_value(other), "must be a string")),
    }
    if let Some(meta) = obj.get("metadata") {
        validate_metadata(meta, path, errors);
    }
}

/// Go's `encoding/json` name of a JSON value's type in "cannot unmarshal" errors.
fn go_json_type(value: &Value) -> &'static str {
    match value {
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Null | Value::Object(_) => "object",
    }
}

/// The embedded `metadata`, as upstream: a missing name is filled with a placeholder, the
/// object is namespaced when it names a namespace, and names must be valid path segments.
fn validate_metadata(meta: &Value, path: &str, errors: &mut Vec<FieldError>) {
    let meta_path = super::join(path, "metadata");
    let mut meta = match meta {
        Value::Null => Map::new(),
        Value::Object(map) => map.clone(),
        other => {
            errors.push(invalid(
                meta_path,
                bad_value(other),
                format!(
                    "json: cannot unmarshal {} into Go value of type v1.ObjectMeta",
                    go_json_type(other)
                ),
            ));
            return;
        }
    };
    if meta
        .get("name")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        meta.insert("name".into(), Value::from("fakename"));
    }
    let namespaced = meta
        .get("namespace")
        .and_then(Value::as_str)
        .is_some_and(|ns| !ns.is_empty());
    let wrapped = serde_json::json!({ "metadata": meta });
    for mut error in validate_object_meta(&wrapped, NameRule::PathSegment, namespaced) {
        error.field = super::join(path, &error.field);
        errors.push(error);
    }
}
