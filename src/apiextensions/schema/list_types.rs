//! `x-kubernetes-list-type` invariants, after upstream's
//! `apiextensions-apiserver/pkg/apiserver/schema/listtype/validation.go`
//! (`ValidateListSetsAndMaps`): a `set` has no repeated item, a `map` has no two items with the
//! same `x-kubernetes-list-map-keys` values. Children under `additionalProperties` are named
//! with Go's `Key` form (`spec.labels[k]`), as upstream.

use serde_json::{Map, Value};

use super::{AdditionalProperties, Structural};
use crate::api::go_fmt::bad_value;
use crate::registry::validation::{FieldError, FieldErrorKind};

/// Appends the list-type errors of the object `obj` at `path` (empty at the root).
pub(super) fn validate_object(
    s: &Structural,
    obj: &Map<String, Value>,
    path: &str,
    errors: &mut Vec<FieldError>,
) {
    if let Some(AdditionalProperties::Schema(extra)) = &s.additional_properties {
        for (key, value) in obj {
            validate_value(extra, value, &format!("{path}[{key}]"), errors);
        }
    }
    for (key, value) in obj {
        if let Some(prop) = s.property(key) {
            validate_value(prop, value, &super::join(path, key), errors);
        }
    }
}

fn validate_value(s: &Structural, value: &Value, path: &str, errors: &mut Vec<FieldError>) {
    match value {
        Value::Array(items) => validate_array(s, items, path, errors),
        Value::Object(obj) => validate_object(s, obj, path, errors),
        _ => {}
    }
}

fn duplicate(path: String, value: &Value) -> FieldError {
    FieldError {
        kind: FieldErrorKind::Duplicate,
        field: path,
        value: Some(bad_value(value)),
        detail: String::new(),
    }
}

fn validate_array(s: &Structural, items: &[Value], path: &str, errors: &mut Vec<FieldError>) {
    match s.list_type.as_deref() {
        Some("set") => {
            // Each repeated value is reported once, at its second occurrence.
            let mut seen: Vec<(&Value, usize)> = Vec::new();
            for (i, item) in items.iter().enumerate() {
                match seen.iter_mut().find(|(v, _)| *v == item) {
                    Some((_, times)) => {
                        *times += 1;
                        if *times == 2 {
                            errors.push(duplicate(format!("{path}[{i}]"), item));
                        }
                    }
                    None => seen.push((item, 1)),
                }
            }
        }
        Some("map") => validate_list_map(s, items, path, errors),
        _ => {}
    }
    if let Some(item_schema) = &s.items {
        for (i, item) in items.iter().enumerate() {
            validate_value(item_schema, item, &format!("{path}[{i}]"), errors);
        }
    }
}

fn validate_list_map(s: &Structural, items: &[Value], path: &str, errors: &mut Vec<FieldError>) {
    let mut shape_errors = Vec::new();
    for (i, item) in items.iter().enumerate() {
        if !(item.is_object() || item.is_null()) {
            shape_errors.push(FieldError {
                kind: FieldErrorKind::Invalid,
                field: format!("{path}[{i}]"),
                value: Some(bad_value(item)),
                detail: "must be an object for an array of list-type map".into(),
            });
        }
    }
    if !shape_errors.is_empty() {
        errors.extend(shape_errors);
        return;
    }
    let mut seen: Vec<Map<String, Value>> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let mut key = Map::new();
        for name in &s.list_map_keys {
            let value = item.get(name).cloned().or_else(|| {
                s.items
                    .as_ref()
                    .and_then(|items| items.property(name))
                    .and_then(|p| p.default.clone())
            });
            if let Some(value) = value {
                key.insert(name.clone(), value);
            }
        }
        if seen.contains(&key) {
            errors.push(duplicate(format!("{path}[{i}]"), &Value::Object(key)));
        } else {
            seen.push(key);
        }
    }
}
