//! Property-test strategies shared by the hostile-input tests of every layer: arbitrary JSON
//! documents whose keys include the names Kubernetes objects and patch directives use, so
//! generated documents reach the interesting paths of the code under test.

use proptest::prelude::*;
use serde_json::{Map, Value};

/// API field names and strategic merge patch directives.
const KEYS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "name",
    "namespace",
    "labels",
    "annotations",
    "uid",
    "finalizers",
    "ownerReferences",
    "spec",
    "status",
    "replicas",
    "selector",
    "matchLabels",
    "template",
    "containers",
    "image",
    "ports",
    "containerPort",
    "protocol",
    "env",
    "value",
    "args",
    "data",
    "$patch",
    "$retainKeys",
    "$setElementOrder/containers",
    "$setElementOrder/ports",
    "$deleteFromPrimitiveList/args",
    "$deleteFromPrimitiveList/finalizers",
];

/// Integers at the edges.
const EDGE_INTEGERS: &[i64] = &[0, 1, -1, i64::MIN, i64::MAX];

/// Strings with a meaning somewhere (`$patch` values, a port protocol).
const WORDS: &[&str] = &["delete", "replace", "merge", "", "nginx", "TCP"];

/// Object keys: API field names, strategic merge patch directives, and short random names.
pub fn json_key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(KEYS).prop_map(str::to_string),
        1 => "[a-z$/]{0,4}",
    ]
}

/// Leaves: null, booleans, integers (extremes included), finite floats and short strings
/// (among them the values of the `$patch` directive).
pub fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        prop::sample::select(EDGE_INTEGERS).prop_map(Value::from),
        (-1.0e6f64..1.0e6).prop_map(Value::from),
        prop::sample::select(WORDS).prop_map(Value::from),
        "[a-z0-9 ./-]{0,6}".prop_map(Value::from),
    ]
}

/// Any JSON value, up to four levels deep.
pub fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(4, 48, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(json_key(), inner, 0..5)
                .prop_map(|map| Value::Object(map.into_iter().collect::<Map<String, Value>>())),
        ]
    })
}

/// A JSON object (the shape of API objects and patches).
pub fn json_object() -> impl Strategy<Value = Value> {
    prop::collection::btree_map(json_key(), json_value(), 0..6)
        .prop_map(|map| Value::Object(map.into_iter().collect::<Map<String, Value>>()))
}
