//! Custom resources: the catalogue row of each served version of a CRD, the codec their bodies
//! decode through (pruning and defaulting by the version's structural schema) and their store
//! strategy (schema validation, status subresource, generation), as upstream's
//! `apiextensions-apiserver/pkg/registry/customresource` and `pkg/apiserver/customresource_handler.go`.

use std::sync::Arc;

use serde_json::Value;

use super::cel::CelValidator;
use super::schema::{self, Structural};
use crate::catalog::codec::fill_type_meta;
use crate::catalog::{
    Codec, CustomVersion, Name, ObjectCodec, ResourceInfo, SubresourceInfo, Typing,
};
use crate::openapi::{DefinitionSet, Definitions};
use crate::registry::scale::{ScalePaths, ScaleSelector};
use crate::registry::strategy::{StatusUpdate, Strategy};
use crate::registry::validation::{FieldError, FieldErrorKind};

/// The verbs of every custom resource, in upstream's discovery order.
const VERBS: &[&str] = &[
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "create",
    "update",
    "watch",
];

/// One served version of a CRD, as the apiextensions server serves it.
#[derive(Clone)]
pub struct ServedVersion {
    /// The version's catalogue row, carrying its codec and the CRD's storage version.
    pub info: Arc<ResourceInfo>,
    pub schema: Option<Arc<Structural>>,
    /// The version's `x-kubernetes-validations` rules, when it has any.
    pub rules: Option<Arc<CelValidator>>,
    pub scale: Option<ScalePaths>,
    /// The version's `spec.versions[i]` object (printer columns, deprecation) without its
    /// `schema`, which is kept once, in `info.custom`.
    pub definition: Arc<Value>,
    /// The CRD's `spec.conversion.webhook.clientConfig` when its strategy is `Webhook`.
    pub conversion_webhook: Option<Value>,
    /// The OpenAPI definitions of the version's kind and list (the one copy of its full schema
    /// kept, serialised), built once with the version.
    pub openapi: Definitions,
}

/// The string at `pointer`, `""` when absent.
pub(super) fn str_at<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// The strings of the list at `pointer`, empty when absent.
pub(super) fn strings_at(value: &Value, pointer: &str) -> Vec<String> {
    value
        .pointer(pointer)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The versions `crd` serves, named by its accepted names. Fails (with the reason) when a served
/// version's schema is not structural; CRD validation rejects such CRDs before they are stored.
pub fn served_versions(crd: &Value) -> Result<Vec<ServedVersion>, String> {
    let group = Name::new(str_at(crd, "/spec/group"));
    let namespaced = str_at(crd, "/spec/scope") == "Namespaced";
    let accepted = crd
        .pointer("/status/acceptedNames")
        .cloned()
        .unwrap_or_default();
    let kind = Name::new(str_at(&accepted, "/kind"));
    let plural = Name::new(str_at(&accepted, "/plural"));
    let singular = Name::new(str_at(&accepted, "/singular"));
    let names = |pointer| {
        strings_at(&accepted, pointer)
            .into_iter()
            .map(Name::from)
            .collect()
    };
    let short_names: Vec<Name> = names("/shortNames");
    let categories: Vec<Name> = names("/categories");
    let storage = Name::new(super::crd_store::storage_version(crd).unwrap_or(""));
    let conversion_webhook = (str_at(crd, "/spec/conversion/strategy") == "Webhook")
        .then(|| {
            crd.pointer("/spec/conversion/webhook/clientConfig")
                .cloned()
        })
        .flatten();
    let versions = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut out = Vec::new();
    for mut version in versions {
        if version.get("served").and_then(Value::as_bool) != Some(true) {
            continue;
        }
        let raw_schema = version
            .as_object_mut()
            .and_then(|version| version.remove("schema"))
            .and_then(|mut schema| schema.as_object_mut()?.remove("openAPIV3Schema"));
        let name = Name::new(str_at(&version, "/name"));
        let schema = match &raw_schema {
            Some(raw) => Some(Arc::new(
                Structural::from_value(raw).map_err(|why| format!("version {name}: {why}"))?,
            )),
            None => None,
        };
        let typing = raw_schema
            .as_ref()
            .map(|raw| Arc::new(Typing::from_schema(raw)));
        let rules = match (&raw_schema, &typing) {
            (Some(raw), Some(typing)) => {
                CelValidator::compile_sharing(raw, typing.clone(), "openAPIV3Schema")
                    .map_err(|errors| format!("version {name}: {} invalid rules", errors.len()))?
                    .map(Arc::new)
            }
            _ => None,
        };
        let mut subresources = Vec::new();
        if version.pointer("/subresources/status").is_some() {
            subresources.push(SubresourceInfo {
                name: "status",
                kind: kind.clone(),
                group_version: None,
                verbs: &["get", "patch", "update"],
            });
        }
        let scale = version
            .pointer("/subresources/scale")
            .map(|scale| ScalePaths {
                spec_replicas: str_at(scale, "/specReplicasPath").to_string(),
                status_replicas: str_at(scale, "/statusReplicasPath").to_string(),
                selector: match scale.get("labelSelectorPath").and_then(Value::as_str) {
                    Some(path) => ScaleSelector::Text(path.to_string()),
                    None => ScaleSelector::None,
                },
            });
        if scale.is_some() {
            subresources.push(SubresourceInfo {
                name: "scale",
                kind: Name::new_static("Scale"),
                group_version: Some("autoscaling/v1"),
                verbs: &["get", "patch", "update"],
            });
        }
        let codec = SchemaCodec {
            api_version: format!("{group}/{name}"),
            kind: kind.clone(),
            schema: schema.clone(),
        };
        let info = Arc::new(ResourceInfo {
            group: group.clone(),
            storage_version: name == storage,
            version: name,
            kind: kind.clone(),
            plural: plural.clone(),
            singular: singular.clone(),
            namespaced,
            verbs: VERBS,
            short_names: short_names.clone(),
            categories: categories.clone(),
            subresources,
            custom: Some(CustomVersion {
                storage_version: storage.clone(),
                codec: Codec::object(Arc::new(codec)),
                schema: typing,
            }),
        });
        let openapi = Arc::new(
            DefinitionSet::new(&super::openapi::definitions(&info, raw_schema.as_ref()))
                .with_v2(&super::openapi::v2_replacements(&info, raw_schema.as_ref())),
        );
        out.push(ServedVersion {
            info,
            schema,
            rules,
            scale,
            definition: Arc::new(version),
            conversion_webhook: conversion_webhook.clone(),
            openapi,
        });
    }
    Ok(out)
}

/// Decodes custom resource bodies as upstream's unstructured decoder with a structural schema:
/// `apiVersion`/`kind` filled in, `metadata` decoded as ObjectMeta (unknown fields dropped,
/// wrong types refused), unknown fields pruned, then defaults applied.
pub struct SchemaCodec {
    pub api_version: String,
    pub kind: Name,
    pub schema: Option<Arc<Structural>>,
}

impl ObjectCodec for SchemaCodec {
    fn round_trip(&self, mut object: Value) -> Result<Value, serde_json::Error> {
        if let Value::Object(map) = &mut object {
            fill_type_meta(map, &self.api_version, &self.kind);
            if let Some(meta) = map.get("metadata").cloned() {
                let decoded: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta =
                    serde_json::from_value(meta)?;
                map.insert("metadata".into(), serde_json::to_value(decoded)?);
            }
        }
        self.decode_stored(&mut object);
        Ok(object)
    }

    fn decode_stored(&self, object: &mut Value) {
        if let Some(schema) = &self.schema {
            schema::prune(schema, object);
            schema::apply_defaults(schema, object);
        }
    }
}

/// The store strategy of one custom resource version.
pub struct CustomResourceStrategy {
    pub schema: Option<Arc<Structural>>,
    pub rules: Option<Arc<CelValidator>>,
    pub status_subresource: bool,
}

impl CustomResourceStrategy {
    /// Upstream's order: the OpenAPI schema, then the CEL rules, unless the schema found an error
    /// that blocks them (upstream's `hasBlockingErr`: wrong type, required, enum, too long, too
    /// many); then one more error says the rules were not checked.
    fn validate(&self, obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
        let mut errors = match &self.schema {
            Some(schema) => schema::validate(schema, obj),
            None => Vec::new(),
        };
        let Some(rules) = &self.rules else {
            return errors;
        };
        let blocking = |kind: FieldErrorKind| {
            matches!(
                kind,
                FieldErrorKind::NotSupported
                    | FieldErrorKind::Required
                    | FieldErrorKind::TooLong
                    | FieldErrorKind::TooMany
                    | FieldErrorKind::TypeInvalid
            )
        };
        if errors.iter().any(|e| blocking(e.kind)) {
            errors.push(FieldError {
                kind: FieldErrorKind::Invalid,
                field: "<nil>".into(),
                value: Some("null".into()),
                detail: "some validation rules were not checked because the object was invalid; correct the existing errors to complete validation".into(),
            });
        } else {
            errors.extend(rules.validate(obj, old).into_iter().map(|mut err| {
                // A rule at the root reports the nil path, as upstream's `field.Path` prints it.
                if err.field.is_empty() {
                    err.field = "<nil>".into();
                }
                err
            }));
        }
        errors
    }
}

impl Strategy for CustomResourceStrategy {
    fn has_status_subresource(&self) -> bool {
        self.status_subresource
    }

    /// Upstream's custom resource status strategy copies the stored object but its status.
    fn status_update(&self) -> StatusUpdate {
        StatusUpdate::KeepsAllButStatus
    }

    fn tracks_generation(&self) -> bool {
        true
    }

    fn validate_create(&self, obj: &Value) -> Vec<FieldError> {
        self.validate(obj, None)
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        self.validate(new, Some(old))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn undeclared_fields_of_custom_resources_are_refused() {
        let crd = json!({
            "spec": {"group": "diff.example.com", "scope": "Namespaced",
                "versions": [{"name": "v1", "served": true, "storage": true,
                    "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                        "spec": {"type": "object", "properties": {"a": {"type": "string"},
                            "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                            "map": {"type": "object",
                                "additionalProperties": {"type": "string"}}}}}}}}]},
            "status": {"acceptedNames": {"plural": "strictos", "kind": "Stricto"}},
        });
        let versions = served_versions(&crd).unwrap();
        let ty = crate::registry::fieldmanager::TypeRef::for_resource(&versions[0].info);
        let config = json!({"apiVersion": "diff.example.com/v1", "kind": "Stricto",
            "metadata": {"name": "s"}, "unknownField": 1,
            "spec": {"a": "x", "b": 1, "free": {"any": 1}, "map": {"k": "v"}}});
        assert_eq!(
            crate::registry::fieldmanager::walk::undeclared_fields(&config, &ty),
            [
                ".spec.b: field not declared in schema",
                ".unknownField: field not declared in schema"
            ]
        );
    }

    fn crd() -> Value {
        json!({
            "metadata": {"name": "crontabs.stable.example.com"},
            "spec": {
                "group": "stable.example.com",
                "scope": "Namespaced",
                "names": {"plural": "crontabs", "kind": "CronTab"},
                "versions": [
                    {"name": "v1", "served": true, "storage": true,
                     "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                         "spec": {"type": "object", "properties": {
                             "replicas": {"type": "integer", "default": 1}}}}}},
                     "subresources": {"status": {}, "scale": {
                         "specReplicasPath": ".spec.replicas",
                         "statusReplicasPath": ".status.replicas"}}},
                    {"name": "v1beta1", "served": false, "storage": false},
                ],
            },
            "status": {"acceptedNames": {"plural": "crontabs", "singular": "crontab",
                "kind": "CronTab", "listKind": "CronTabList", "shortNames": ["ct"]}},
        })
    }

    #[test]
    fn served_versions_follow_accepted_names() {
        let versions = served_versions(&crd()).expect("structural");
        assert_eq!(versions.len(), 1, "v1beta1 is not served");
        let info = &versions[0].info;
        assert_eq!(
            (
                info.group.as_str(),
                info.version.as_str(),
                info.kind.as_str(),
                info.plural.as_str(),
                info.namespaced
            ),
            ("stable.example.com", "v1", "CronTab", "crontabs", true)
        );
        assert_eq!(info.short_names, &["ct"]);
        let subs: Vec<_> = info.subresources.iter().map(|s| s.name).collect();
        assert_eq!(subs, ["status", "scale"]);
        assert!(info.storage_version);
        assert_eq!(
            versions[0].scale.as_ref().map(|s| s.spec_replicas.as_str()),
            Some(".spec.replicas")
        );
    }

    #[test]
    fn codec_prunes_defaults_and_checks_metadata() {
        let versions = served_versions(&crd()).unwrap();
        let codec = SchemaCodec {
            api_version: "stable.example.com/v1".into(),
            kind: "CronTab".into(),
            schema: versions[0].schema.clone(),
        };
        let out = codec
            .round_trip(json!({"metadata": {"name": "a", "bogus": 1}, "spec": {"extra": true}}))
            .unwrap();
        assert_eq!(
            out,
            json!({"apiVersion": "stable.example.com/v1", "kind": "CronTab",
                   "metadata": {"name": "a"}, "spec": {"replicas": 1}})
        );
        assert!(codec.round_trip(json!({"metadata": {"name": 5}})).is_err());
    }

    #[test]
    fn objects_from_storage_get_the_defaults_of_the_schema_as_it_is_now() {
        let versions = served_versions(&crd()).unwrap();
        let codec = versions[0].info.custom.as_ref().unwrap().codec.clone();
        let mut stored = json!({"apiVersion": "stable.example.com/v1", "kind": "CronTab",
            "metadata": {"name": "a"}, "spec": {"cronSpec": "x"}});
        codec.decode_stored(&mut stored);
        // Pruned of what the schema no longer knows, defaulted with what it now defaults.
        assert_eq!(stored["spec"], json!({"replicas": 1}));
    }
}
