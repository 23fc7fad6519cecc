//! Where k8s-openapi's schemas differ from upstream's v2 document, and how we bring them back.
//!
//! Found by comparing every generated definition with upstream 1.33's `swagger.json`: apart from the
//! order of `required` lists (k8s-openapi sorts them, upstream keeps Go field order) and
//! `x-kubernetes-unions` (not carried), these rewrites leave no difference.

use std::collections::BTreeMap;

use serde_json::Value;

const INT_OR_STRING: &str = "io.k8s.apimachinery.pkg.util.intstr.IntOrString";
const QUANTITY: &str = "io.k8s.apimachinery.pkg.api.resource.Quantity";
const WATCH_EVENT: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent";
const APIEXTENSIONS: &str = "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1";

/// Definitions whose `required` list upstream writes differently from k8s-openapi, beyond `metadata`
/// (which upstream never requires): `(definition, upstream's required fields)`; empty means none.
const REQUIRED_OVERRIDES: &[(&str, &[&str])] = &[
    ("io.k8s.api.core.v1.ConfigMapEnvSource", &[]),
    ("io.k8s.api.core.v1.ConfigMapKeySelector", &["key"]),
    ("io.k8s.api.core.v1.ConfigMapProjection", &[]),
    ("io.k8s.api.core.v1.ConfigMapVolumeSource", &[]),
    ("io.k8s.api.core.v1.LocalObjectReference", &[]),
    ("io.k8s.api.core.v1.SecretEnvSource", &[]),
    ("io.k8s.api.core.v1.SecretKeySelector", &["key"]),
    ("io.k8s.api.core.v1.SecretProjection", &[]),
    ("io.k8s.api.events.v1.Event", &["eventTime"]),
    (
        "io.k8s.api.networking.v1.NetworkPolicySpec",
        &["podSelector"],
    ),
];

/// Upstream's description of `WatchEvent` and of its `object` field (k8s-openapi joins them).
const WATCH_EVENT_DESCRIPTION: &str = "Event represents a single event to a watched resource.";
const WATCH_EVENT_OBJECT_DESCRIPTION: &str = "Object is:\n * If Type is Added or Modified: the new state of the object.\n * If Type is Deleted: the state of the object immediately before deletion.\n * If Type is Error: *Status is recommended; other types may make sense\n   depending on context.";

/// Rewrites the generated definitions into upstream's form. `kinds` are the top-level kinds.
pub(super) fn apply(definitions: &mut BTreeMap<String, Value>, kinds: &[&str]) {
    // `IntOrString` and `Quantity`: upstream's v2 writes plain strings (with a format for the first).
    for (name, format) in [(INT_OR_STRING, Some("int-or-string")), (QUANTITY, None)] {
        if let Some(schema) = definitions.get_mut(name).and_then(Value::as_object_mut) {
            schema.remove("x-kubernetes-int-or-string");
            schema.insert("type".into(), Value::from("string"));
            if let Some(format) = format {
                schema.insert("format".into(), Value::from(format));
            }
        }
    }
    // The free-form apiextensions types carry only a description upstream.
    for (suffix, keyword) in [
        ("JSON", "type"),
        ("JSONSchemaPropsOrArray", "oneOf"),
        ("JSONSchemaPropsOrBool", "oneOf"),
        ("JSONSchemaPropsOrStringArray", "oneOf"),
    ] {
        if let Some(schema) = definitions
            .get_mut(&format!("{APIEXTENSIONS}.{suffix}"))
            .and_then(Value::as_object_mut)
        {
            schema.remove(keyword);
        }
    }
    if let Some(schema) = definitions.get_mut(WATCH_EVENT) {
        schema["description"] = Value::from(WATCH_EVENT_DESCRIPTION);
        if let Some(object) = schema
            .pointer_mut("/properties/object")
            .and_then(Value::as_object_mut)
        {
            object.insert(
                "description".into(),
                Value::from(WATCH_EVENT_OBJECT_DESCRIPTION),
            );
        }
    }
    for kind in kinds {
        if let Some(schema) = definitions.get_mut(*kind) {
            set_required(schema, |field| field != "metadata");
        }
    }
    for (name, required) in REQUIRED_OVERRIDES {
        if let Some(schema) = definitions.get_mut(*name).and_then(Value::as_object_mut) {
            if required.is_empty() {
                schema.remove("required");
            } else {
                schema.insert("required".into(), Value::from(required.to_vec()));
            }
        }
    }
}

/// Keeps the `required` fields that `keep` accepts, and drops an emptied list.
fn set_required(schema: &mut Value, keep: impl Fn(&str) -> bool) {
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    let Some(Value::Array(required)) = object.get_mut("required") else {
        return;
    };
    required.retain(|field| field.as_str().is_some_and(&keep));
    if required.is_empty() {
        object.remove("required");
    }
}
