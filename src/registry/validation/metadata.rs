//! Validation of `metadata`, as upstream's `ValidateObjectMetaAccessor`: name or generateName,
//! namespace scope, labels, annotations and finalizers.

use serde_json::Value;

use super::FieldError;
use crate::api::go_fmt::go_string_slice;
use crate::api::names::{is_qualified_name, is_valid_label_value, NameRule};

/// The largest total size of all annotations, as upstream (256 KiB).
pub const TOTAL_ANNOTATION_SIZE_LIMIT: usize = 256 * 1024;

/// The problems of `obj`'s metadata. `namespaced` says whether the resource is namespaced.
pub fn validate_object_meta(obj: &Value, rule: NameRule, namespaced: bool) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let meta = obj.get("metadata");
    let text = |field: &str| {
        meta.and_then(|m| m.get(field))
            .and_then(Value::as_str)
            .unwrap_or("")
    };

    let generate_name = text("generateName");
    if !generate_name.is_empty() {
        for msg in rule.check(generate_name, true) {
            errs.push(FieldError::invalid(
                "metadata.generateName",
                generate_name,
                msg,
            ));
        }
    }
    let name = text("name");
    if name.is_empty() {
        errs.push(FieldError::required(
            "metadata.name",
            "name or generateName is required",
        ));
    } else {
        for msg in rule.check(name, false) {
            errs.push(FieldError::invalid("metadata.name", name, msg));
        }
    }
    let namespace = text("namespace");
    if namespaced {
        if namespace.is_empty() {
            errs.push(FieldError::required("metadata.namespace", ""));
        } else {
            for msg in NameRule::Dns1123Label.check(namespace, false) {
                errs.push(FieldError::invalid("metadata.namespace", namespace, msg));
            }
        }
    } else if !namespace.is_empty() {
        errs.push(FieldError::forbidden(
            "metadata.namespace",
            "not allowed on this type",
        ));
    }

    if let Some(labels) = meta
        .and_then(|m| m.get("labels"))
        .and_then(Value::as_object)
    {
        for (key, value) in labels {
            for msg in is_qualified_name(key) {
                errs.push(FieldError::invalid("metadata.labels", key, msg));
            }
            let value = value.as_str().unwrap_or("");
            for msg in is_valid_label_value(value) {
                errs.push(FieldError::invalid("metadata.labels", value, msg));
            }
        }
    }
    if let Some(annotations) = meta
        .and_then(|m| m.get("annotations"))
        .and_then(Value::as_object)
    {
        let mut total = 0;
        for (key, value) in annotations {
            for msg in is_qualified_name(&key.to_lowercase()) {
                errs.push(FieldError::invalid("metadata.annotations", key, msg));
            }
            total += key.len() + value.as_str().map_or(0, str::len);
        }
        if total > TOTAL_ANNOTATION_SIZE_LIMIT {
            errs.push(FieldError::too_long(
                "metadata.annotations",
                format!("must have at most {TOTAL_ANNOTATION_SIZE_LIMIT} bytes"),
            ));
        }
    }
    if let Some(finalizers) = meta
        .and_then(|m| m.get("finalizers"))
        .and_then(Value::as_array)
    {
        for (i, finalizer) in finalizers.iter().enumerate() {
            let finalizer = finalizer.as_str().unwrap_or("");
            for msg in is_qualified_name(finalizer) {
                errs.push(FieldError::invalid(
                    format!("metadata.finalizers[{i}]"),
                    finalizer,
                    msg,
                ));
            }
        }
    }
    if let Some(generation) = meta
        .and_then(|m| m.get("generation"))
        .and_then(Value::as_i64)
    {
        if generation < 0 {
            errs.push(FieldError {
                kind: super::FieldErrorKind::Invalid,
                field: "metadata.generation".into(),
                value: Some(generation.to_string()),
                detail: "must be greater than or equal to 0".into(),
            });
        }
    }
    errs
}

/// The problems of an update of `old`'s metadata to `new`'s, as upstream's
/// `ValidateObjectMetaAccessorUpdate` after `rest.BeforeUpdate` kept the system fields it keeps
/// (an empty uid, the creation timestamp, a set deletion timestamp and grace period): no new
/// finalizers once being deleted; uid, deletionTimestamp and deletionGracePeriodSeconds
/// immutable.
pub fn validate_object_meta_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let field = |obj: &Value, name: &str| obj.get("metadata").and_then(|m| m.get(name)).cloned();
    let present = |v: &Option<Value>| v.as_ref().is_some_and(|v| !v.is_null());
    if present(&field(old, "deletionTimestamp")) {
        let strings = |obj: &Value| -> Vec<String> {
            field(obj, "finalizers")
                .and_then(|f| f.as_array().cloned())
                .unwrap_or_default()
                .iter()
                .filter_map(|f| f.as_str().map(str::to_string))
                .collect()
        };
        let old_finalizers = strings(old);
        let mut extra: Vec<String> = strings(new)
            .into_iter()
            .filter(|f| !old_finalizers.contains(f))
            .collect();
        extra.sort();
        extra.dedup();
        if !extra.is_empty() {
            errs.push(FieldError::forbidden(
                "metadata.finalizers",
                format!(
                    "no new finalizers can be added if the object is being deleted, found new finalizers {}",
                    go_string_slice(&extra)
                ),
            ));
        }
    }
    let text = |obj: &Value, name: &str| {
        field(obj, name)
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    };
    let (new_uid, old_uid) = (text(new, "uid"), text(old, "uid"));
    if new_uid != old_uid {
        errs.push(FieldError::invalid("metadata.uid", &new_uid, IMMUTABLE));
    }
    let (new_ts, old_ts) = (
        field(new, "deletionTimestamp").filter(|v| !v.is_null()),
        field(old, "deletionTimestamp").filter(|v| !v.is_null()),
    );
    if new_ts != old_ts {
        // A `*metav1.Time` prints as Go's `time.Time.String()`, unquoted; nil as `"null"`.
        let rendered = new_ts
            .as_ref()
            .and_then(Value::as_str)
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| {
                t.with_timezone(&chrono::Utc)
                    .format("%Y-%m-%d %H:%M:%S +0000 UTC")
                    .to_string()
            })
            .unwrap_or_else(|| "\"null\"".into());
        errs.push(FieldError::invalid_rendered(
            "metadata.deletionTimestamp",
            rendered,
            IMMUTABLE,
        ));
    }
    let (new_grace, old_grace) = (
        field(new, "deletionGracePeriodSeconds").filter(|v| !v.is_null()),
        field(old, "deletionGracePeriodSeconds").filter(|v| !v.is_null()),
    );
    if new_grace != old_grace {
        let rendered = new_grace.map_or_else(|| "\"null\"".into(), |v| v.to_string());
        errs.push(FieldError::invalid_rendered(
            "metadata.deletionGracePeriodSeconds",
            rendered,
            IMMUTABLE,
        ));
    }
    errs
}

/// Upstream's `FieldImmutableErrorMsg`.
const IMMUTABLE: &str = "field is immutable";

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reports_upstreams_field_errors() {
        let errs = validate_object_meta(
            &json!({"metadata": {"namespace": "ns"}}),
            NameRule::Dns1123Subdomain,
            true,
        );
        assert_eq!(errs.len(), 1);
        assert_eq!(
            errs[0].to_string(),
            "metadata.name: Required value: name or generateName is required"
        );

        let errs = validate_object_meta(
            &json!({"metadata": {"name": "Bad", "labels": {"-k": "v"}, "finalizers": ["a/b/c"]}}),
            NameRule::Dns1123Subdomain,
            false,
        );
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["metadata.name", "metadata.labels", "metadata.finalizers[0]"]
        );
        assert!(errs[0]
            .to_string()
            .starts_with("metadata.name: Invalid value: \"Bad\": a lowercase RFC 1123 subdomain"));
        assert_eq!(errs[0].to_cause().reason, "FieldValueInvalid");

        let errs = validate_object_meta(
            &json!({"metadata": {"name": "n", "namespace": "x"}}),
            NameRule::Dns1123Subdomain,
            false,
        );
        assert_eq!(
            errs[0].to_string(),
            "metadata.namespace: Forbidden: not allowed on this type"
        );
    }
}
