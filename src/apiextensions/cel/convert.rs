//! Unstructured JSON to CEL values, typed by the structural schema, after upstream's
//! `apiextensions-apiserver/pkg/apiserver/schema/cel/model` (`SchemaDeclType`) and
//! `apiserver/pkg/cel/common/values.go` (`UnstructuredToVal`).
//!
//! * `integer` -> `int`, `number` -> `double` (an integral JSON number too), `string` ->
//!   `string`, `boolean` -> `bool`, `array` -> `list`;
//! * `object` with `properties` -> a map holding the declared properties only (unknown fields are
//!   not visible to rules), keyed by their escaped names ([`super::escaping`]); with
//!   `additionalProperties` -> a map of every entry;
//! * `x-kubernetes-int-or-string` -> `int` or `string`, whichever the value is;
//! * the resource root and `x-kubernetes-embedded-resource` objects also show `apiVersion`,
//!   `kind` and `metadata` with only `name` and `generateName`, as upstream's
//!   `WithTypeAndObjectMeta`;
//! * an object with `x-kubernetes-preserve-unknown-fields` and no properties, or a node without
//!   a type, is converted by the JSON value's own kind.
//!
//! * `string` of `format: date-time` or `date` -> `timestamp`, `duration` -> `duration`,
//!   `byte` -> `bytes` (as upstream's `SchemaDeclType`).

use std::collections::HashMap;
use std::sync::Arc;

use cel::objects::{Key, Map};
use serde_json::Value as Json;

use crate::catalog::go_duration::parse_go_duration;
use crate::catalog::Typing;

/// `value` as CEL sees it under `schema`; `is_resource_root` is true at the custom resource's
/// root and at `x-kubernetes-embedded-resource` nodes.
pub(super) fn to_cel(value: &Json, schema: &Typing, is_resource_root: bool) -> cel::Value {
    if value.is_null() {
        return cel::Value::Null;
    }
    if schema.int_or_string {
        return untyped(value);
    }
    match (schema.type_.as_str(), value) {
        ("integer", Json::Number(n)) => match n.as_i64() {
            Some(i) => cel::Value::Int(i),
            None => cel::Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        ("number", Json::Number(n)) => cel::Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        ("string", Json::String(s)) => {
            formatted_string(s, schema).unwrap_or_else(|| untyped(value))
        }
        ("array", Json::Array(items)) => {
            let list = items
                .iter()
                .map(|item| match schema.items.as_deref() {
                    Some(item_schema) => to_cel(item, item_schema, item_schema.embedded_resource),
                    None => untyped(item),
                })
                .collect::<Vec<_>>();
            cel::Value::List(Arc::new(list))
        }
        ("object", Json::Object(object)) => object_to_cel(object, schema, is_resource_root),
        _ => untyped(value),
    }
}

fn object_to_cel(
    object: &serde_json::Map<String, Json>,
    schema: &Typing,
    is_resource_root: bool,
) -> cel::Value {
    let declares_properties = schema.properties.is_some();
    let additional = schema.additional_properties.as_deref();
    let mut entries: HashMap<Key, cel::Value> = HashMap::new();
    for (name, value) in object {
        if is_resource_root {
            match name.as_str() {
                "apiVersion" | "kind" => {
                    entries.insert(Key::from(name.as_str()), untyped(value));
                    continue;
                }
                "metadata" => {
                    entries.insert(Key::from(name.as_str()), resource_metadata(value));
                    continue;
                }
                _ => {}
            }
        }
        let (key, property_schema) = match (schema.property(name), additional) {
            // Declared properties are fields, selected by their escaped names
            // (`self.__namespace__`); a name without one is not visible.
            (Some(property), _) => match super::escaping::escape(name) {
                Some(escaped) => (Key::from(escaped), property),
                None => continue,
            },
            (None, Some(additional)) => (Key::from(name.as_str()), additional),
            (None, None) if !declares_properties && schema.preserve_unknown_fields => {
                entries.insert(Key::from(name.as_str()), untyped(value));
                continue;
            }
            (None, None) => continue,
        };
        entries.insert(
            key,
            to_cel(value, property_schema, property_schema.embedded_resource),
        );
    }
    cel::Value::Map(Map::from(entries))
}

/// A string of `format: date-time`/`date` as a `timestamp`, `duration` as a `duration`, `byte`
/// as `bytes`, as upstream's `SchemaDeclType`; `None` for other formats and for values that do
/// not parse (schema validation reports those).
fn formatted_string(s: &str, schema: &Typing) -> Option<cel::Value> {
    use base64::Engine as _;
    match schema.format.as_deref()? {
        "date-time" => chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .map(cel::Value::Timestamp),
        "date" => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()
            .and_then(|date| date.and_hms_opt(0, 0, 0))
            .map(|midnight| cel::Value::Timestamp(midnight.and_utc().fixed_offset())),
        "duration" => parse_go_duration(s)
            .ok()
            .map(|nanos| cel::Value::Duration(chrono::Duration::nanoseconds(nanos))),
        "byte" => base64::engine::general_purpose::STANDARD
            .decode(s)
            .ok()
            .map(|bytes| cel::Value::Bytes(Arc::new(bytes))),
        _ => None,
    }
}

/// `metadata` of a resource: only `name` and `generateName` are visible, as upstream.
fn resource_metadata(value: &Json) -> cel::Value {
    let Json::Object(metadata) = value else {
        return untyped(value);
    };
    let entries: HashMap<Key, cel::Value> = metadata
        .iter()
        .filter(|(name, _)| name.as_str() == "name" || name.as_str() == "generateName")
        .map(|(name, value)| (Key::from(name.as_str()), untyped(value)))
        .collect();
    cel::Value::Map(Map::from(entries))
}

/// `value` by its own JSON kind: integral numbers are `int`, others `double`.
pub(super) fn untyped(value: &Json) -> cel::Value {
    match value {
        Json::Null => cel::Value::Null,
        Json::Bool(b) => cel::Value::Bool(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => cel::Value::Int(i),
            None => cel::Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => cel::Value::String(Arc::new(s.clone())),
        Json::Array(items) => cel::Value::List(Arc::new(items.iter().map(untyped).collect())),
        Json::Object(object) => {
            let entries: HashMap<Key, cel::Value> = object
                .iter()
                .map(|(name, value)| (Key::from(name.as_str()), untyped(value)))
                .collect();
            cel::Value::Map(Map::from(entries))
        }
    }
}

/// The schema's `type` (empty when unset).
pub(super) fn schema_type(schema: &Json) -> &str {
    schema.get("type").and_then(Json::as_str).unwrap_or("")
}

/// A boolean extension such as `x-kubernetes-int-or-string`, false when unset.
pub(super) fn flag(schema: &Json, name: &str) -> bool {
    schema.get(name).and_then(Json::as_bool).unwrap_or(false)
}
