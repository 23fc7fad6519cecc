//! The structural schema rules upstream enforces on every `apiextensions.k8s.io/v1` CRD
//! version schema (`pkg/apiserver/schema/validation.go` and the list-type checks of the CRD
//! validation), checked directly on the OpenAPI v3 JSON.

use serde_json::{Map, Value};

use super::{invalid_rendered, not_supported, str_at};
use crate::registry::validation::FieldError;

/// The OpenAPI types a structural schema may declare.
const TYPES: [&str; 6] = ["array", "boolean", "integer", "number", "object", "string"];
/// The values of `x-kubernetes-list-type`, in upstream's order.
const LIST_TYPES: [&str; 3] = ["atomic", "set", "map"];

/// Where a schema node sits; the "type must not be empty" message depends on it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    Root,
    Item,
    Field,
}

/// Checks one version's `openAPIV3Schema` (at `path`); returns every violation.
pub(super) fn validate_structural(schema: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    walk(schema, path, Level::Root, &mut errs);
    errs
}

fn flag(node: &Map<String, Value>, key: &str) -> bool {
    node.get(key).and_then(Value::as_bool) == Some(true)
}

fn walk(schema: &Value, path: &str, level: Level, errs: &mut Vec<FieldError>) {
    let Some(node) = schema.as_object() else {
        return;
    };
    let schema_type = str_at(schema, "type");
    let int_or_string = flag(node, "x-kubernetes-int-or-string");
    let preserve = flag(node, "x-kubernetes-preserve-unknown-fields");
    let embedded = flag(node, "x-kubernetes-embedded-resource");

    if !schema_type.is_empty() && !TYPES.contains(&schema_type) {
        errs.push(not_supported(format!("{path}.type"), schema_type, &TYPES));
    }
    if embedded && schema_type != "object" {
        let detail = "must be object if x-kubernetes-embedded-resource is true";
        if schema_type.is_empty() {
            errs.push(FieldError::required(format!("{path}.type"), detail));
        } else {
            errs.push(FieldError::invalid(
                format!("{path}.type"),
                schema_type,
                detail,
            ));
        }
    } else if schema_type.is_empty() && !int_or_string && !preserve {
        let detail = match level {
            Level::Root => "must not be empty at the root",
            Level::Item => "must not be empty for specified array items",
            Level::Field => "must not be empty for specified object fields",
        };
        errs.push(FieldError::required(format!("{path}.type"), detail));
    }
    if level == Level::Root && !schema_type.is_empty() && schema_type != "object" {
        errs.push(FieldError::invalid(
            format!("{path}.type"),
            schema_type,
            "must be object at the root",
        ));
    }
    if node.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(false)) {
        errs.push(invalid_rendered(
            format!("{path}.x-kubernetes-preserve-unknown-fields"),
            "false".into(),
            "must be true or undefined",
        ));
    }
    if node.contains_key("$ref") {
        errs.push(FieldError::forbidden(
            format!("{path}.$ref"),
            "$ref is not supported",
        ));
    }
    if flag(node, "uniqueItems") {
        errs.push(FieldError::forbidden(
            format!("{path}.uniqueItems"),
            "uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
        ));
    }

    let properties = node.get("properties").and_then(Value::as_object);
    let additional = node.get("additionalProperties").filter(|a| !a.is_null());
    if level == Level::Root && additional.is_some() {
        errs.push(FieldError::forbidden(
            format!("{path}.additionalProperties"),
            "must not be used at the root",
        ));
    } else if properties.is_some_and(|p| !p.is_empty()) && additional.is_some() {
        errs.push(FieldError::forbidden(
            format!("{path}.additionalProperties"),
            "additionalProperties and properties are mutual exclusive",
        ));
    }

    if level == Level::Root {
        if let Some(properties) = properties {
            check_root_properties(properties, path, errs);
        }
    }
    check_list_type(node, schema_type, path, errs);

    if schema_type == "array" && !node.contains_key("items") {
        errs.push(FieldError::required(
            format!("{path}.items"),
            "must be specified",
        ));
    }
    if let Some(properties) = properties {
        for (name, child) in properties {
            walk(
                child,
                &format!("{path}.properties[{name}]"),
                Level::Field,
                errs,
            );
        }
    }
    if let Some(items) = node.get("items") {
        walk(items, &format!("{path}.items"), Level::Item, errs);
    }
    if let Some(additional) = additional.filter(|a| a.is_object()) {
        walk(
            additional,
            &format!("{path}.additionalProperties"),
            Level::Field,
            errs,
        );
    }
}

/// `kind` and `apiVersion` must be strings; `metadata` an object constraining at most `name`
/// and `generateName`.
fn check_root_properties(properties: &Map<String, Value>, path: &str, errs: &mut Vec<FieldError>) {
    for key in ["kind", "apiVersion"] {
        if let Some(prop) = properties.get(key) {
            let prop_type = str_at(prop, "type");
            if prop_type != "string" {
                errs.push(FieldError::invalid(
                    format!("{path}.properties[{key}].type"),
                    prop_type,
                    "must be string",
                ));
            }
        }
    }
    let Some(metadata) = properties.get("metadata").and_then(Value::as_object) else {
        return;
    };
    let metadata_path = format!("{path}.properties[metadata]");
    let metadata_type = metadata.get("type").and_then(Value::as_str).unwrap_or("");
    // An empty type is reported by the walk ("must not be empty for specified object fields").
    if !metadata_type.is_empty() && metadata_type != "object" {
        errs.push(FieldError::invalid(
            format!("{metadata_path}.type"),
            metadata_type,
            "must be object",
        ));
    }
    let extra_property = metadata
        .get("properties")
        .and_then(Value::as_object)
        .is_some_and(|p| p.keys().any(|k| k != "name" && k != "generateName"));
    let extra_keyword = metadata
        .keys()
        .any(|k| !matches!(k.as_str(), "type" | "properties" | "description"));
    if extra_property || extra_keyword {
        errs.push(FieldError::forbidden(
            metadata_path,
            "must not specify anything other than name and generateName, but metadata is implicitly specified",
        ));
    }
}

/// `x-kubernetes-list-type` only on arrays, `x-kubernetes-list-map-keys` only with type map.
fn check_list_type(
    node: &Map<String, Value>,
    schema_type: &str,
    path: &str,
    errs: &mut Vec<FieldError>,
) {
    let list_type = node.get("x-kubernetes-list-type").and_then(Value::as_str);
    let map_keys = node
        .get("x-kubernetes-list-map-keys")
        .and_then(Value::as_array)
        .filter(|keys| !keys.is_empty());
    if let Some(list_type) = list_type {
        if schema_type != "array" {
            errs.push(FieldError::invalid(
                format!("{path}.type"),
                schema_type,
                "must be array if x-kubernetes-list-type is specified",
            ));
        } else if !LIST_TYPES.contains(&list_type) {
            errs.push(not_supported(
                format!("{path}.x-kubernetes-list-type"),
                list_type,
                &LIST_TYPES,
            ));
        }
        if list_type == "map" && map_keys.is_none() {
            errs.push(FieldError::required(
                format!("{path}.x-kubernetes-list-map-keys"),
                "must not be empty if x-kubernetes-list-type is map",
            ));
        }
    }
    if map_keys.is_some() {
        match list_type {
            None => errs.push(FieldError::required(
                format!("{path}.x-kubernetes-list-type"),
                "must be map if x-kubernetes-list-map-keys is non-empty",
            )),
            Some("map") => {}
            Some(other) => errs.push(FieldError::invalid(
                format!("{path}.x-kubernetes-list-type"),
                other,
                "must be map if x-kubernetes-list-map-keys is non-empty",
            )),
        }
    }
}
