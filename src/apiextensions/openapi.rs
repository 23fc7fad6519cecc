//! The OpenAPI definitions of a CRD's served versions, as upstream's
//! `apiextensions-apiserver/pkg/controller/openapi/builder` publishes them: the version's schema as
//! the kind's definition (named by the reversed group, `com.example.stable.v1.CronTab`), with
//! `apiVersion`, `kind` and `metadata` described as for every object, and a list definition;
//! `/openapi/v2` gets a form stripped of what v2 cannot express ([`v2_definitions`]). The
//! [`crate::openapi::OpenApiService`] turns them into `/openapi/v3` documents and `/openapi/v2`,
//! so `kubectl explain` knows custom resources.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::catalog::ResourceInfo;

const API_VERSION_DESCRIPTION: &str = "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources";
const KIND_DESCRIPTION: &str = "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds";
const METADATA_DESCRIPTION: &str = "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";
const LIST_METADATA_DESCRIPTION: &str = "Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds";

/// `stable.example.com` -> `com.example.stable`.
fn reversed_group(group: &str) -> String {
    group.split('.').rev().collect::<Vec<_>>().join(".")
}

/// The definition name of `kind` in `group`/`version`.
pub fn definition_name(group: &str, version: &str, kind: &str) -> String {
    format!("{}.{version}.{kind}", reversed_group(group))
}

/// The definitions of one served version, `info`, whose `openAPIV3Schema` is `schema`: the kind
/// and its list.
pub fn definitions(info: &ResourceInfo, schema: Option<&Value>) -> BTreeMap<String, Value> {
    let schema = schema
        .cloned()
        .unwrap_or_else(|| json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}));
    build(info, with_object_properties(schema))
}

/// The definitions of [`definitions`] as `/openapi/v2` publishes them (upstream's
/// `buildKubeNative` with `V2`): a schema preserving unknown fields at its root is a bare object
/// (kubectl's v2 validation would refuse any field not listed), any other goes through
/// [`to_openapi_v2`].
pub fn v2_definitions(info: &ResourceInfo, schema: Option<&Value>) -> BTreeMap<String, Value> {
    let kind = match schema {
        Some(schema) if schema["x-kubernetes-preserve-unknown-fields"] != true => {
            let mut schema = schema.clone();
            to_openapi_v2(&mut schema);
            with_object_properties(schema)
        }
        _ => json!({"type": "object"}),
    };
    build(info, kind)
}

/// `schema` with `apiVersion`, `kind` and `metadata` described as for every object.
fn with_object_properties(mut schema: Value) -> Value {
    if let Some(map) = schema.as_object_mut() {
        let properties = map.entry("properties").or_insert_with(|| json!({}));
        if let Some(properties) = properties.as_object_mut() {
            properties.insert(
                "apiVersion".into(),
                json!({"type": "string", "description": API_VERSION_DESCRIPTION}),
            );
            properties.insert(
                "kind".into(),
                json!({"type": "string", "description": KIND_DESCRIPTION}),
            );
            properties.insert(
                "metadata".into(),
                json!({
                    "$ref": "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
                    "description": METADATA_DESCRIPTION,
                }),
            );
        }
    }
    schema
}

/// Upstream's `ToStructuralOpenAPIV2`, on every nested schema: junctors (`allOf`, `anyOf`,
/// `oneOf`, `not`) dropped; a nullable schema loses its type, items and properties, and is no
/// longer required by its parent; one preserving unknown fields loses its items and properties;
/// an array left without items loses its type.
pub fn to_openapi_v2(schema: &mut Value) {
    let Some(map) = schema.as_object_mut() else {
        return;
    };
    for junctor in ["allOf", "anyOf", "oneOf", "not"] {
        map.remove(junctor);
    }
    if map.remove("nullable") == Some(Value::Bool(true)) {
        for key in ["type", "items", "properties"] {
            map.remove(key);
        }
    }
    if map.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true)) {
        map.remove("items");
        map.remove("properties");
    }
    if !map.contains_key("items") && map.get("type").and_then(Value::as_str) == Some("array") {
        map.remove("type");
    }
    let nullable = |s: &Value| s.get("nullable") == Some(&Value::Bool(true));
    let nullable_properties: Vec<String> = map
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(_, s)| nullable(s))
        .map(|(name, _)| name.clone())
        .collect();
    let nullable_values = map.get("additionalProperties").is_some_and(nullable);
    if let Some(required) = map.get_mut("required").and_then(Value::as_array_mut) {
        required.retain(|r| !nullable_values && !nullable_properties.iter().any(|p| r == p));
        if required.is_empty() {
            map.remove("required");
        }
    }
    if let Some(properties) = map.get_mut("properties").and_then(Value::as_object_mut) {
        properties.values_mut().for_each(to_openapi_v2);
    }
    for key in ["items", "additionalProperties"] {
        if let Some(nested) = map.get_mut(key) {
            to_openapi_v2(nested);
        }
    }
}

/// The kind's definition `kind` (with its group/version/kind) and its list's.
fn build(info: &ResourceInfo, mut kind: Value) -> BTreeMap<String, Value> {
    let gvk = |kind: &str| json!([{"group": info.group, "kind": kind, "version": info.version}]);
    if let Some(map) = kind.as_object_mut() {
        map.insert("x-kubernetes-group-version-kind".into(), gvk(&info.kind));
    }
    let kind_name = definition_name(&info.group, &info.version, &info.kind);
    let list = json!({
        "description": format!("{}List is a list of {}", info.kind, info.kind),
        "type": "object",
        "required": ["items"],
        "properties": {
            "apiVersion": {"type": "string", "description": API_VERSION_DESCRIPTION},
            "items": {
                "type": "array",
                "description": format!("List of {}. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md", info.plural),
                "items": {"$ref": format!("#/definitions/{kind_name}")},
            },
            "kind": {"type": "string", "description": KIND_DESCRIPTION},
            "metadata": {
                "$ref": "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta",
                "description": LIST_METADATA_DESCRIPTION,
            },
        },
        "x-kubernetes-group-version-kind": gvk(&info.list_kind()),
    });
    BTreeMap::from([
        (kind_name.clone(), kind),
        (
            definition_name(&info.group, &info.version, &info.list_kind()),
            list,
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions_name_the_kind_and_its_list() {
        let crd = json!({
            "spec": {"group": "stable.example.com", "scope": "Namespaced",
                "versions": [{"name": "v1", "served": true, "storage": true,
                    "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                        "spec": {"type": "object", "properties": {"cronSpec": {"type": "string"}}}}}}}]},
            "status": {"acceptedNames": {"plural": "crontabs", "kind": "CronTab"}},
        });
        let versions = super::super::custom_resource::served_versions(&crd).unwrap();
        let defs = versions[0].openapi.decode();
        let keys: Vec<&str> = defs.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "com.example.stable.v1.CronTab",
                "com.example.stable.v1.CronTabList"
            ]
        );
        let kind = &defs["com.example.stable.v1.CronTab"];
        assert_eq!(
            kind["properties"]["metadata"]["$ref"],
            "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
        );
        assert_eq!(
            kind["properties"]["spec"]["properties"]["cronSpec"]["type"],
            "string"
        );
        assert_eq!(
            kind["x-kubernetes-group-version-kind"],
            json!([{"group": "stable.example.com", "kind": "CronTab", "version": "v1"}])
        );
        assert_eq!(
            defs["com.example.stable.v1.CronTabList"]["properties"]["items"]["items"]["$ref"],
            "#/definitions/com.example.stable.v1.CronTab"
        );
    }

    #[test]
    fn v2_definitions_of_a_schema_preserving_unknown_fields_are_a_bare_object() {
        let crd = json!({
            "spec": {"group": "stable.example.com", "scope": "Namespaced",
                "versions": [{"name": "v1", "served": true, "storage": true,
                    "schema": {"openAPIV3Schema": {"type": "object",
                        "x-kubernetes-preserve-unknown-fields": true,
                        "properties": {"spec": {"type": "object"}}}}}]},
            "status": {"acceptedNames": {"plural": "crontabs", "kind": "CronTab"}},
        });
        let versions = super::super::custom_resource::served_versions(&crd).unwrap();
        let v2 = versions[0].openapi.decode_v2();
        assert_eq!(
            v2["com.example.stable.v1.CronTab"],
            json!({"type": "object", "x-kubernetes-group-version-kind":
                [{"group": "stable.example.com", "kind": "CronTab", "version": "v1"}]})
        );
        // v3 keeps the schema.
        let v3 = versions[0].openapi.decode();
        assert_eq!(
            v3["com.example.stable.v1.CronTab"]["properties"]["spec"]["type"],
            "object"
        );
        assert!(v2.contains_key("com.example.stable.v1.CronTabList"));
    }

    #[test]
    fn to_openapi_v2_strips_what_v2_cannot_express() {
        let mut schema = json!({
            "type": "object",
            "required": ["a", "b"],
            "anyOf": [{"required": ["a"]}],
            "properties": {
                "a": {"type": "string", "nullable": true},
                "b": {"type": "object", "x-kubernetes-preserve-unknown-fields": true,
                    "properties": {"c": {"type": "string"}}},
                "d": {"type": "array", "x-kubernetes-preserve-unknown-fields": true,
                    "items": {"type": "string"}},
                "e": {"type": "array", "items": {"type": "object", "oneOf": [{"required": ["f"]}]}},
            },
        });
        to_openapi_v2(&mut schema);
        assert_eq!(
            schema,
            json!({
                "type": "object",
                "required": ["b"],
                "properties": {
                    "a": {},
                    "b": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                    "d": {"x-kubernetes-preserve-unknown-fields": true},
                    "e": {"type": "array", "items": {"type": "object"}},
                },
            })
        );
    }
}
