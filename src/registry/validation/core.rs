//! ConfigMaps and Secrets, as upstream's `ValidateConfigMap`, `ValidateConfigMapUpdate`,
//! `ValidateSecret` and `ValidateSecretUpdate` (`pkg/apis/core/validation/validation.go`).

use serde_json::Value;

use super::apps::FIELD_IMMUTABLE;
use super::FieldError;
use crate::api::names::is_config_map_key;

/// The message of a change to an immutable ConfigMap or Secret.
const IMMUTABLE_WHEN_SET: &str = "field is immutable when `immutable` is set";

fn keys_of<'a>(obj: &'a Value, field: &str) -> impl Iterator<Item = &'a String> {
    obj.get(field)
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|m| m.keys())
}

/// Keys of `data` (and `binaryData`) follow `IsConfigMapKey`; a key may not be in both.
fn validate_keys(obj: &Value, fields: &[&str]) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for field in fields {
        for key in keys_of(obj, field) {
            for msg in is_config_map_key(key) {
                errs.push(FieldError::invalid(format!("{field}[{key}]"), key, msg));
            }
        }
    }
    errs
}

/// A new or updated ConfigMap.
pub fn validate_config_map(obj: &Value) -> Vec<FieldError> {
    let mut errs = validate_keys(obj, &["data", "binaryData"]);
    let binary: Vec<&String> = keys_of(obj, "binaryData").collect();
    for key in keys_of(obj, "data") {
        if binary.contains(&key) {
            errs.push(FieldError::invalid(
                format!("data[{key}]"),
                key,
                "duplicate of key present in binaryData",
            ));
        }
    }
    errs
}

fn is_immutable(obj: &Value) -> bool {
    obj.get("immutable").and_then(Value::as_bool) == Some(true)
}

/// An updated ConfigMap: once `immutable: true`, neither it nor the data may change.
pub fn validate_config_map_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = validate_config_map(new);
    if is_immutable(old) {
        if !is_immutable(new) {
            errs.push(FieldError::forbidden("immutable", IMMUTABLE_WHEN_SET));
        }
        for field in ["data", "binaryData"] {
            if new.get(field) != old.get(field) {
                errs.push(FieldError::forbidden(field, IMMUTABLE_WHEN_SET));
            }
        }
    }
    errs
}

/// A new or updated Secret: key syntax and the keys its type requires.
pub fn validate_secret(obj: &Value) -> Vec<FieldError> {
    let mut errs = validate_keys(obj, &["data"]);
    let has = |key: &str| obj.pointer(&format!("/data/{key}")).is_some();
    match obj.get("type").and_then(Value::as_str).unwrap_or("") {
        "kubernetes.io/tls" => {
            for key in ["tls.key", "tls.crt"] {
                if !has(key) {
                    errs.push(FieldError::required(format!("data[{key}]"), ""));
                }
            }
        }
        "kubernetes.io/dockerconfigjson" if !has(".dockerconfigjson") => {
            errs.push(FieldError::required("data[.dockerconfigjson]", ""));
        }
        "kubernetes.io/dockercfg" if !has(".dockercfg") => {
            errs.push(FieldError::required("data[.dockercfg]", ""));
        }
        "kubernetes.io/service-account-token" => {
            let annotated = obj
                .pointer("/metadata/annotations")
                .and_then(|a| a.get("kubernetes.io/service-account.name"))
                .and_then(Value::as_str)
                .is_some_and(|s| !s.is_empty());
            if !annotated {
                errs.push(FieldError::required(
                    "metadata.annotations[kubernetes.io/service-account.name]",
                    "",
                ));
            }
        }
        _ => {}
    }
    errs
}

/// An updated Secret: the type never changes; once `immutable: true`, neither it nor the data.
pub fn validate_secret_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = validate_secret(new);
    let new_type = new.get("type").and_then(Value::as_str).unwrap_or("");
    if Some(new_type) != old.get("type").and_then(Value::as_str) {
        errs.push(FieldError::invalid("type", new_type, FIELD_IMMUTABLE));
    }
    if is_immutable(old) {
        if !is_immutable(new) {
            errs.push(FieldError::forbidden("immutable", IMMUTABLE_WHEN_SET));
        }
        if new.get("data") != old.get("data") {
            errs.push(FieldError::forbidden("data", IMMUTABLE_WHEN_SET));
        }
    }
    errs
}
