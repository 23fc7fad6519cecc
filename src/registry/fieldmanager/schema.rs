//! The type of each position of an object, as structured-merge-diff sees it: a scalar, a map
//! (a struct with declared fields and/or a map of values), or a list, each granular or atomic.
//!
//! Built-in kinds read our OpenAPI definitions ([`crate::catalog::definitions`]); custom resources
//! read their CRD version's `openAPIV3Schema`, with `metadata` typed as `ObjectMeta`. A position
//! neither knows is typed as upstream's deduced type: maps are granular maps of deduced values,
//! lists and scalars are atomic. List semantics follow upstream's `schemaconv`: an explicit
//! `x-kubernetes-list-type`, else a `merge` patch strategy (associative by its merge key, a set
//! without one), else atomic.

use std::sync::Arc;

use serde_json::Value;

use crate::catalog::definitions::{FieldPatchMeta, SchemaNode};
use crate::catalog::{ResourceInfo, Typing};

const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

/// The schema of one position.
#[derive(Debug, Clone)]
pub enum TypeRef {
    /// A built-in definition position, with the extensions of the property that led here.
    Builtin {
        node: SchemaNode,
        meta: Arc<FieldPatchMeta>,
    },
    /// A custom resource schema position: the version's typing tree and the steps to it
    /// (`properties`, `<name>`, `items`, `additionalProperties`).
    Custom(Arc<Typing>, Vec<String>),
    /// No schema: upstream's deduced type.
    Deduced,
}

/// How a list's items are identified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListKind {
    /// Replaced whole.
    Atomic,
    /// Items are their own identity (`v:`).
    Set,
    /// Items are identified by these key fields (`k:`).
    Map(Vec<String>),
}

/// What a position holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// A leaf.
    Scalar,
    /// A struct or map; atomic ones are replaced whole.
    Map { atomic: bool },
    /// A list.
    List(ListKind),
}

impl TypeRef {
    /// The type of a whole object of `info`'s resource.
    pub fn for_resource(info: &ResourceInfo) -> TypeRef {
        if let Some(node) = SchemaNode::for_gvk(&info.group, &info.version, &info.kind) {
            return TypeRef::Builtin {
                node,
                meta: Arc::default(),
            };
        }
        match info
            .custom
            .as_ref()
            .and_then(|custom| custom.schema.clone())
        {
            Some(schema) => TypeRef::Custom(schema, Vec::new()),
            None => TypeRef::Deduced,
        }
    }

    fn object_meta() -> TypeRef {
        match SchemaNode::definition(OBJECT_META) {
            Some(node) => TypeRef::Builtin {
                node,
                meta: Arc::default(),
            },
            None => TypeRef::Deduced,
        }
    }

    /// The custom schema at this position (following the stored steps).
    fn custom_schema<'a>(root: &'a Typing, pointer: &[String]) -> Option<&'a Typing> {
        let mut at = root;
        let mut steps = pointer.iter();
        while let Some(step) = steps.next() {
            at = match step.as_str() {
                "properties" => at.property(steps.next()?)?,
                "items" => at.items.as_deref()?,
                "additionalProperties" => at.additional_properties.as_deref()?,
                _ => return None,
            };
        }
        Some(at)
    }

    /// The shape of this position, given the value found there (deduced types follow the value).
    pub fn shape(&self, value: Option<&Value>) -> Shape {
        let deduced = || match value {
            Some(Value::Object(_)) => Shape::Map { atomic: false },
            Some(Value::Array(_)) => Shape::List(ListKind::Atomic),
            _ => Shape::Scalar,
        };
        match self {
            TypeRef::Deduced => deduced(),
            TypeRef::Builtin { node, meta } => {
                let schema = node.schema();
                match node.schema_type() {
                    Some("object") => {
                        let declared = schema.get("properties").is_some()
                            || schema
                                .get("additionalProperties")
                                .is_some_and(Value::is_object);
                        if !declared {
                            return deduced();
                        }
                        let atomic = meta.map_type == Some("atomic")
                            || schema.get("x-kubernetes-map-type").and_then(Value::as_str)
                                == Some("atomic");
                        Shape::Map { atomic }
                    }
                    Some("array") => Shape::List(list_kind(
                        meta.list_type,
                        meta.list_map_keys.iter().map(|k| k.to_string()).collect(),
                        meta.strategy,
                        meta.merge_key,
                    )),
                    Some(_) => Shape::Scalar,
                    None => deduced(),
                }
            }
            TypeRef::Custom(root, pointer) => {
                let Some(schema) = Self::custom_schema(root, pointer) else {
                    return deduced();
                };
                if schema.int_or_string {
                    return Shape::Scalar;
                }
                match schema.type_.as_str() {
                    "object" => Shape::Map {
                        atomic: schema.map_type.as_deref() == Some("atomic"),
                    },
                    "array" => {
                        let keys = schema.list_map_keys.iter().map(|k| k.to_string()).collect();
                        Shape::List(list_kind(schema.list_type.as_deref(), keys, None, None))
                    }
                    "" => deduced(),
                    _ => Shape::Scalar,
                }
            }
        }
    }

    /// The type of the field or map value `name` below this map position.
    pub fn field(&self, name: &str) -> TypeRef {
        match self {
            TypeRef::Deduced => TypeRef::Deduced,
            TypeRef::Builtin { node, .. } => match node.field(name) {
                Some(field) => TypeRef::Builtin {
                    node: field.node,
                    meta: Arc::new(field.patch_meta),
                },
                None => TypeRef::Deduced,
            },
            TypeRef::Custom(root, pointer) => {
                if pointer.is_empty() && name == "metadata" {
                    return Self::object_meta();
                }
                let Some(schema) = Self::custom_schema(root, pointer) else {
                    return TypeRef::Deduced;
                };
                if schema.embedded_resource && name == "metadata" {
                    return Self::object_meta();
                }
                let mut next = pointer.clone();
                if schema.property(name).is_some() {
                    next.extend(["properties".to_string(), name.to_string()]);
                    return TypeRef::Custom(root.clone(), next);
                }
                if schema.additional_properties.is_some() {
                    next.push("additionalProperties".to_string());
                    return TypeRef::Custom(root.clone(), next);
                }
                TypeRef::Deduced
            }
        }
    }

    /// Whether `name` is a declared field (not a map value) of this map position.
    pub fn declares_field(&self, name: &str) -> bool {
        match self {
            TypeRef::Deduced => false,
            TypeRef::Builtin { node, .. } => node
                .schema()
                .get("properties")
                .is_some_and(|p| p.get(name).is_some()),
            TypeRef::Custom(root, pointer) => {
                let type_meta = matches!(name, "apiVersion" | "kind" | "metadata");
                if pointer.is_empty() && type_meta {
                    return true;
                }
                Self::custom_schema(root, pointer).is_some_and(|s| {
                    s.property(name).is_some() || (s.embedded_resource && type_meta)
                })
            }
        }
    }

    /// Whether this is a struct that declares its fields and takes no others: a built-in one,
    /// or a custom resource schema object with properties that neither preserves unknown fields
    /// nor has `additionalProperties` (upstream's typed conversion refuses other fields there).
    pub fn is_closed_struct(&self) -> bool {
        match self {
            TypeRef::Custom(root, pointer) => Self::custom_schema(root, pointer).is_some_and(|s| {
                s.type_.as_str() == "object"
                    && s.properties.is_some()
                    && s.additional_properties.is_none()
                    && !s.preserve_unknown_fields
            }),
            _ => self.is_closed_builtin_struct(),
        }
    }

    /// Whether this is a built-in struct that declares its fields and takes no others.
    pub fn is_closed_builtin_struct(&self) -> bool {
        match self {
            TypeRef::Builtin { node, .. } => {
                node.schema().get("properties").is_some()
                    && !node
                        .schema()
                        .get("additionalProperties")
                        .is_some_and(|a| a.is_object() || a == &Value::Bool(true))
            }
            _ => false,
        }
    }

    /// Whether an empty value here disappears when the object is encoded: built-in maps of
    /// values and lists (Go's `omitempty` maps and slices).
    pub fn omits_empty(&self) -> bool {
        match self {
            TypeRef::Builtin { node, .. } => match node.schema_type() {
                Some("array") => true,
                Some("object") => {
                    node.schema().get("properties").is_none()
                        && node
                            .schema()
                            .get("additionalProperties")
                            .is_some_and(Value::is_object)
                }
                _ => false,
            },
            _ => false,
        }
    }

    /// The type of the items below this list position.
    pub fn items(&self) -> TypeRef {
        match self {
            TypeRef::Deduced => TypeRef::Deduced,
            TypeRef::Builtin { node, .. } => match node.items() {
                Some(items) => TypeRef::Builtin {
                    node: items,
                    meta: Arc::default(),
                },
                None => TypeRef::Deduced,
            },
            TypeRef::Custom(root, pointer) => {
                let mut next = pointer.clone();
                next.push("items".to_string());
                TypeRef::Custom(root.clone(), next)
            }
        }
    }
}

fn list_kind(
    list_type: Option<&str>,
    keys: Vec<String>,
    strategy: Option<&str>,
    merge_key: Option<&str>,
) -> ListKind {
    match list_type {
        Some("map") => ListKind::Map(keys),
        Some("set") => ListKind::Set,
        Some(_) => ListKind::Atomic,
        None => {
            let merges = strategy.is_some_and(|s| s.split(',').any(|one| one.trim() == "merge"));
            match (merges, merge_key) {
                (true, Some(key)) => ListKind::Map(vec![key.to_string()]),
                (true, None) => ListKind::Set,
                _ => ListKind::Atomic,
            }
        }
    }
}
