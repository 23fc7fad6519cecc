//! The OpenAPI definitions of a CRD's served versions, as upstream's
//! `apiextensions-apiserver/pkg/controller/openapi/builder` publishes them: the version's schema as
//! the kind's definition (named by the reversed group, `com.example.stable.v1.CronTab`), with
//! `apiVersion`, `kind` and `metadata` described as for every object, and a list definition. The
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
    let gvk = |kind: &str| json!([{"group": info.group, "kind": kind, "version": info.version}]);
    let mut schema = schema
        .cloned()
        .unwrap_or_else(|| json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}));
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
        (kind_name.clone(), schema),
        (
            definition_name(&info.group, &info.version, &info.list_kind()),
            list,
        ),
    ])
}

/// What `/openapi/v2` publishes instead of [`definitions`]: upstream's v2 builder
/// (`buildKubeNative` with `V2`) gives a kind whose root schema preserves unknown fields no
/// properties at all, only `type: object` (so that kubectl validates nothing in it).
pub fn v2_replacements(info: &ResourceInfo, schema: Option<&Value>) -> BTreeMap<String, Value> {
    let preserves = schema
        .and_then(|schema| schema.get("x-kubernetes-preserve-unknown-fields"))
        .and_then(Value::as_bool)
        == Some(true);
    if !preserves {
        return BTreeMap::new();
    }
    let gvk = json!([{"group": info.group, "kind": info.kind, "version": info.version}]);
    BTreeMap::from([(
        definition_name(&info.group, &info.version, &info.kind),
        json!({"type": "object", "x-kubernetes-group-version-kind": gvk}),
    )])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_publishes_only_the_type_of_a_root_preserving_unknown_fields() {
        let crd = json!({
            "spec": {"group": "stable.example.com", "scope": "Namespaced",
                "versions": [{"name": "v1", "served": true, "storage": true,
                    "schema": {"openAPIV3Schema": {"type": "object",
                        "x-kubernetes-preserve-unknown-fields": true, "description": "free",
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
}
