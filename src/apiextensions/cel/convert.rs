//! Unstructured JSON to CEL values, typed by the structural schema, after upstream's
//! `apiextensions-apiserver/pkg/apiserver/schema/cel/model` (`SchemaDeclType`) and
//! `apiserver/pkg/cel/common/values.go` (`UnstructuredToVal`).
//!
//! * `integer` -> `int`, `number` -> `double` (an integral JSON number too), `string` ->
//!   `string`, `boolean` -> `bool`, `array` -> `list`;
//! * `object` with `properties` -> a map holding the declared properties only (unknown fields are
//!   not visible to rules); with `additionalProperties` -> a map of every entry;
//! * `x-kubernetes-int-or-string` -> `int` or `string`, whichever the value is;
//! * the resource root and `x-kubernetes-embedded-resource` objects also show `apiVersion`,
//!   `kind` and `metadata` with only `name` and `generateName`, as upstream's
//!   `WithTypeAndObjectMeta`;
//! * an object with `x-kubernetes-preserve-unknown-fields` and no properties, or a node without
//!   a type, is converted by the JSON value's own kind.
//!
//! Not done (see the module header): `format: byte`/`date-time`/`duration` stay strings.

use std::collections::HashMap;
use std::sync::Arc;

use cel::objects::{Key, Map};
use serde_json::Value as Json;

/// `value` as CEL sees it under `schema`; `is_resource_root` is true at the custom resource's
/// root and at `x-kubernetes-embedded-resource` nodes.
pub(super) fn to_cel(value: &Json, schema: &Json, is_resource_root: bool) -> cel::Value {
    if value.is_null() {
        return cel::Value::Null;
    }
    if flag(schema, "x-kubernetes-int-or-string") {
        return untyped(value);
    }
    match (schema_type(schema), value) {
        ("integer", Json::Number(n)) => match n.as_i64() {
            Some(i) => cel::Value::Int(i),
            None => cel::Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        ("number", Json::Number(n)) => cel::Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        ("array", Json::Array(items)) => {
            let item_schema = schema.get("items").unwrap_or(&Json::Null);
            let list = items
                .iter()
                .map(|item| {
                    to_cel(
                        item,
                        item_schema,
                        flag(item_schema, "x-kubernetes-embedded-resource"),
                    )
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
    schema: &Json,
    is_resource_root: bool,
) -> cel::Value {
    let properties = schema.get("properties").and_then(Json::as_object);
    let additional = schema
        .get("additionalProperties")
        .filter(|additional| additional.is_object());
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
        let property_schema = match (properties.and_then(|p| p.get(name)), additional) {
            (Some(property), _) => property,
            (None, Some(additional)) => additional,
            (None, None)
                if properties.is_none() && flag(schema, "x-kubernetes-preserve-unknown-fields") =>
            {
                entries.insert(Key::from(name.as_str()), untyped(value));
                continue;
            }
            (None, None) => continue,
        };
        let embedded = flag(property_schema, "x-kubernetes-embedded-resource");
        entries.insert(
            Key::from(name.as_str()),
            to_cel(value, property_schema, embedded),
        );
    }
    cel::Value::Map(Map::from(entries))
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
