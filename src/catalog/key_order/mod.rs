//! The order of JSON object keys in kube-apiserver's bodies, and an encoder that writes it.
//!
//! Go's `encoding/json` writes a struct's fields in declaration order and a map's keys sorted. So
//! built-in objects come out as `{"kind":..,"apiVersion":..,"metadata":{"name":..,"namespace":..},
//! "spec":..,"status":..}` (TypeMeta first, then the struct's own fields), while maps (`labels`,
//! `data`) and custom resources (unstructured objects are Go maps) come out sorted, as a
//! `serde_json::Value` writes them.
//!
//! # Source of the order
//! The protobuf definitions are generated from the Go structs and declare their fields in the
//! structs' order (field *numbers* do not follow it: later additions get new numbers, wherever they
//! sit). So [`KeyOrder`] walks every message descriptor of `k8s-rs-pb` once, alongside the OpenAPI
//! [`definitions`](super::definitions), which give the JSON names:
//! - a field the definition does not name is an embedded struct (`Volume.volumeSource`,
//!   `Probe.handler`): its own fields take its place, as Go inlines them;
//! - a JSON name that differs from the proto name (`$ref`, `x-kubernetes-list-type`) is matched
//!   ignoring case and punctuation;
//! - `kind` and `apiVersion` (TypeMeta, not in the protos) come first where the definition has them;
//! - a type with a custom JSON form (Time, Quantity, `JSONSchemaPropsOrBool`...) is written as it
//!   is, except the `...Or...` wrappers of a schema, whose object form is that schema;
//! - a `RawExtension` (a Table row's `object`) is ordered by its own `kind` and `apiVersion`;
//! - Table and its parts have no protobuf form: [`table_types`] declares them in Go's order.
//!
//! The table is immutable once built. [`ordered`] wraps a body for serde: no map is rebuilt, the
//! serializer looks each known field up in the object and writes the rest sorted after them.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::Value;

use super::definitions;

const RAW_EXTENSION: &str = "io.k8s.apimachinery.pkg.runtime.RawExtension";
const META_V1: &str = "io.k8s.apimachinery.pkg.apis.meta.v1";
/// The module of the Table types (`meta/v1` types without a protobuf form).
const TABLE_TYPES: &str = "apiary::catalog::key_order::table_types::";
const LIST_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta";

pub(super) mod probe;
mod table_types;

/// How a value is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// As `serde_json` writes it: object keys sorted (Go maps, unstructured objects, scalars).
    Sorted,
    /// An object of the type at this index of the table (each item, when the value is a list).
    Object(usize),
    /// A map whose values are objects of the type at this index; its own keys sorted.
    Values(usize),
    /// An embedded object: ordered by its own `kind` and `apiVersion`, when they are known.
    Embedded,
}

/// One field of a type, in Go's order.
#[derive(Debug)]
struct Field {
    name: String,
    shape: Shape,
}

/// One type's fields in Go's order, with their positions sorted by name for membership tests.
#[derive(Debug, Default)]
struct TypeOrder {
    fields: Vec<Field>,
    by_name: Vec<usize>,
}

impl TypeOrder {
    fn knows(&self, key: &str) -> bool {
        self.by_name
            .binary_search_by(|&i| self.fields[i].name.as_str().cmp(key))
            .is_ok()
    }
}

/// Go's field order of every built-in type, keyed by OpenAPI definition name.
#[derive(Debug)]
pub struct KeyOrder {
    types: Vec<TypeOrder>,
    by_name: HashMap<String, usize>,
    /// `kind` -> `(apiVersion, type)`: a body's type found without allocating.
    by_kind: HashMap<String, Vec<(String, usize)>>,
}

/// The table, built on first use from the protobuf descriptors and the OpenAPI definitions.
pub fn key_order() -> &'static KeyOrder {
    static ORDER: OnceLock<KeyOrder> = OnceLock::new();
    ORDER.get_or_init(KeyOrder::build)
}

/// `body` ready to serialise in kube-apiserver's key order (by its `kind` and `apiVersion`).
pub fn ordered(body: &Value) -> Ordered<'_> {
    let order = key_order();
    Ordered {
        order,
        value: body,
        shape: order.shape_of(body),
    }
}

/// Probes every served kind, the meta types and what they hold.
fn probe_all() -> probe::Probed {
    use k8s_rs_pb::api as a;
    use k8s_rs_pb::apimachinery::pkg::apis::meta::v1 as meta;
    let mut probed = probe::Probed::default();
    macro_rules! probe_all {
        ($($kind:ty),* $(,)?) => {
            $(probe::probe::<$kind>(&mut probed);)*
        };
    }
    probe_all!(
        a::core::v1::Binding,
        a::core::v1::ComponentStatus,
        a::core::v1::ConfigMap,
        a::core::v1::Endpoints,
        a::core::v1::Event,
        a::core::v1::LimitRange,
        a::core::v1::Namespace,
        a::core::v1::Node,
        a::core::v1::PersistentVolumeClaim,
        a::core::v1::PersistentVolume,
        a::core::v1::Pod,
        a::core::v1::PodTemplate,
        a::core::v1::ReplicationController,
        a::core::v1::ResourceQuota,
        a::core::v1::Secret,
        a::core::v1::ServiceAccount,
        a::core::v1::Service,
        a::apps::v1::ControllerRevision,
        a::apps::v1::DaemonSet,
        a::apps::v1::Deployment,
        a::apps::v1::ReplicaSet,
        a::apps::v1::StatefulSet,
        a::autoscaling::v1::HorizontalPodAutoscaler,
        a::autoscaling::v1::Scale,
        a::autoscaling::v2::HorizontalPodAutoscaler,
        a::batch::v1::CronJob,
        a::batch::v1::Job,
        a::policy::v1::PodDisruptionBudget,
        a::policy::v1::Eviction,
        a::events::v1::Event,
        a::authentication::v1::SelfSubjectReview,
        a::authentication::v1::TokenReview,
        a::authentication::v1::TokenRequest,
        a::authorization::v1::LocalSubjectAccessReview,
        a::authorization::v1::SelfSubjectAccessReview,
        a::authorization::v1::SelfSubjectRulesReview,
        a::authorization::v1::SubjectAccessReview,
        a::certificates::v1::CertificateSigningRequest,
        a::networking::v1::IngressClass,
        a::networking::v1::Ingress,
        a::networking::v1::IPAddress,
        a::networking::v1::NetworkPolicy,
        a::networking::v1::ServiceCIDR,
        a::rbac::v1::ClusterRoleBinding,
        a::rbac::v1::ClusterRole,
        a::rbac::v1::RoleBinding,
        a::rbac::v1::Role,
        a::storage::v1::CSIDriver,
        a::storage::v1::CSINode,
        a::storage::v1::CSIStorageCapacity,
        a::storage::v1::StorageClass,
        a::storage::v1::VolumeAttachment,
        a::admissionregistration::v1::MutatingWebhookConfiguration,
        a::admissionregistration::v1::ValidatingAdmissionPolicy,
        a::admissionregistration::v1::ValidatingAdmissionPolicyBinding,
        a::admissionregistration::v1::ValidatingWebhookConfiguration,
        a::scheduling::v1::PriorityClass,
        a::coordination::v1::Lease,
        a::node::v1::RuntimeClass,
        a::discovery::v1::EndpointSlice,
        a::flowcontrol::v1::FlowSchema,
        a::flowcontrol::v1::PriorityLevelConfiguration,
        a::apidiscovery::v2::APIGroupDiscoveryList,
        a::apidiscovery::v2beta1::APIGroupDiscoveryList,
        k8s_rs_pb::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
        k8s_rs_pb::kube_aggregator::pkg::apis::apiregistration::v1::APIService,
        meta::Status,
        meta::PartialObjectMetadataList,
        meta::APIGroupList,
        meta::APIResourceList,
        meta::APIVersions,
        meta::WatchEvent,
        table_types::Table,
    );
    probed
}

/// The OpenAPI definition name of a probed struct: `k8s_rs_pb::v1_33::api::core::v1::Pod` ->
/// `io.k8s.api.core.v1.Pod`; `apiextensions_apiserver` -> `apiextensions-apiserver`.
pub(super) fn definition_name(path: &str) -> String {
    if let Some(name) = path.strip_prefix(TABLE_TYPES) {
        return format!("{META_V1}.{name}");
    }
    let tail = path.split_once("::v1_33::").map_or(path, |(_, tail)| tail);
    format!("io.k8s.{}", tail.replace("::", ".").replace('_', "-"))
}

/// A name with case and punctuation dropped: `x-kubernetes-list-type` ~ `xKubernetesListType`.
pub(super) fn loose(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The declared properties of a definition, or `None` when it has no definition or no properties
/// (a custom JSON form).
pub(super) fn properties(name: &str) -> Option<&'static serde_json::Map<String, Value>> {
    definitions::definition(name)?
        .get("properties")?
        .as_object()
}

struct Builder {
    probed: probe::Probed,
    /// Definition name -> index into `paths` (and the table).
    index: HashMap<String, usize>,
    paths: Vec<String>,
}

impl Builder {
    /// How a field holding the struct at `path` is written.
    fn shape_of(&self, path: &str) -> Shape {
        let name = definition_name(path);
        if name == RAW_EXTENSION {
            return Shape::Embedded;
        }
        let Some(&index) = self.index.get(&name) else {
            return Shape::Sorted;
        };
        if definitions::definition(&name).is_some() && properties(&name).is_none() {
            // A custom JSON form; the `...Or...` wrappers of a schema carry it in `schema`.
            let schema = self.probed.structs.get(path).and_then(|s| {
                s.fields
                    .iter()
                    .find(|(field, _)| *field == "schema")
                    .and_then(|(_, child)| child.as_ref())
            });
            return match schema {
                Some((schema, _)) => self.shape_of(schema),
                None => Shape::Sorted,
            };
        }
        Shape::Object(index)
    }

    fn fields_of(&self, path: &str, out: &mut Vec<Field>, depth: usize) {
        let Some(recorded) = self.probed.structs.get(path) else {
            return;
        };
        let properties = properties(&definition_name(path));
        for (rust_name, child) in &recorded.fields {
            let proto_name = rust_name.trim_end_matches('_');
            let json_name = match properties {
                None => Some(proto_name.to_string()),
                Some(props) if props.contains_key(proto_name) => Some(proto_name.to_string()),
                Some(props) => {
                    let wanted = loose(proto_name);
                    props.keys().find(|key| loose(key) == wanted).cloned()
                }
            };
            let Some(json_name) = json_name else {
                // Not a JSON field of its own: an embedded struct, inlined.
                if let Some((inner, probe::Holding::Direct)) = child {
                    if depth < 4 {
                        self.fields_of(inner, out, depth + 1);
                    }
                }
                continue;
            };
            let shape = match child {
                Some((inner, probe::Holding::Direct | probe::Holding::Items)) => {
                    self.shape_of(inner)
                }
                Some((inner, probe::Holding::Values)) => match self.shape_of(inner) {
                    Shape::Object(index) => Shape::Values(index),
                    _ => Shape::Sorted,
                },
                None => Shape::Sorted,
            };
            out.push(Field {
                name: json_name,
                shape,
            });
        }
    }

    fn type_order(&self, path: &str) -> TypeOrder {
        let own = |name: &str| {
            self.probed
                .structs
                .get(path)
                .is_some_and(|s| s.fields.iter().any(|(field, _)| *field == name))
        };
        let has_type_meta = match properties(&definition_name(path)) {
            Some(props) => props.contains_key("kind") && props.contains_key("apiVersion"),
            None => own("metadata"),
        } && !own("kind");
        let mut fields = if has_type_meta {
            type_meta()
        } else {
            Vec::new()
        };
        self.fields_of(path, &mut fields, 0);
        TypeOrder::new(fields)
    }

    /// A list kind the probe did not meet (`ConfigMapList`): TypeMeta, ListMeta, items.
    fn list_order(&self, item: usize) -> Option<TypeOrder> {
        let list_meta = *self.index.get(LIST_META)?;
        let mut fields = type_meta();
        fields.push(Field {
            name: "metadata".into(),
            shape: Shape::Object(list_meta),
        });
        fields.push(Field {
            name: "items".into(),
            shape: Shape::Object(item),
        });
        Some(TypeOrder::new(fields))
    }
}

fn type_meta() -> Vec<Field> {
    ["kind", "apiVersion"]
        .into_iter()
        .map(|name| Field {
            name: name.into(),
            shape: Shape::Sorted,
        })
        .collect()
}

impl TypeOrder {
    fn new(mut fields: Vec<Field>) -> Self {
        let mut seen = std::collections::HashSet::new();
        fields.retain(|field| seen.insert(field.name.clone()));
        let mut by_name: Vec<usize> = (0..fields.len()).collect();
        by_name.sort_by(|&a, &b| fields[a].name.cmp(&fields[b].name));
        Self { fields, by_name }
    }
}

impl KeyOrder {
    fn build() -> Self {
        let probed = probe_all();
        let mut paths: Vec<String> = probed.structs.keys().cloned().collect();
        paths.sort();
        let index = paths
            .iter()
            .enumerate()
            .map(|(i, path)| (definition_name(path), i))
            .collect();
        let builder = Builder {
            probed,
            index,
            paths,
        };
        let mut types: Vec<TypeOrder> = builder
            .paths
            .iter()
            .map(|path| builder.type_order(path))
            .collect();
        let mut by_name = builder.index.clone();
        for (name, definition) in definitions::definitions() {
            if by_name.contains_key(name) || !name.ends_with("List") {
                continue;
            }
            let item = definition
                .pointer("/properties/items/items/$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix(definitions::REF_PREFIX))
                .and_then(|item| builder.index.get(item));
            if let Some(order) = item.and_then(|&item| builder.list_order(item)) {
                by_name.insert(name.clone(), types.len());
                types.push(order);
            }
        }
        let by_kind = kinds_of(&by_name);
        Self {
            types,
            by_name,
            by_kind,
        }
    }

    /// The field names of a definition in Go's order (`io.k8s.api.core.v1.Pod` -> `kind`,
    /// `apiVersion`, `metadata`, `spec`, `status`); `None` for a type the protos do not describe.
    pub fn fields(&self, definition: &str) -> Option<Vec<&str>> {
        let index = *self.by_name.get(definition)?;
        Some(
            self.types[index]
                .fields
                .iter()
                .map(|f| f.name.as_str())
                .collect(),
        )
    }

    /// How a top-level body is written, from its `kind` and `apiVersion`: a built-in kind (or a
    /// `meta.k8s.io` one: Status, Table, PartialObjectMetadata, discovery lists) in Go's order,
    /// anything else (custom resources) sorted.
    pub fn shape_of(&self, body: &Value) -> Shape {
        let (Some(kind), Some(api_version)) = (
            body.get("kind").and_then(Value::as_str),
            body.get("apiVersion").and_then(Value::as_str),
        ) else {
            return Shape::Sorted;
        };
        self.by_kind
            .get(kind)
            .and_then(|versions| versions.iter().find(|(v, _)| v == api_version))
            .map_or(Shape::Sorted, |&(_, index)| Shape::Object(index))
    }
}

/// The `(kind, apiVersion)` of each ordered type: the served kinds and lists, the `meta.k8s.io`
/// kinds (Status is also written as `v1`), and the discovery documents.
fn kinds_of(by_name: &HashMap<String, usize>) -> HashMap<String, Vec<(String, usize)>> {
    let mut by_kind: HashMap<String, Vec<(String, usize)>> = HashMap::new();
    let mut add = |kind: &str, api_version: String, index: usize| {
        let versions = by_kind.entry(kind.to_string()).or_default();
        if !versions.iter().any(|(v, _)| *v == api_version) {
            versions.push((api_version, index));
        }
    };
    for (group, version, kind, name) in definitions::kinds() {
        if let Some(&index) = by_name.get(name) {
            let api_version = match group {
                "" => version.to_string(),
                _ => format!("{group}/{version}"),
            };
            add(kind, api_version, index);
        }
    }
    for (name, &index) in by_name {
        if let Some(kind) = name.strip_prefix(&format!("{META_V1}.")) {
            for api_version in ["v1", "meta.k8s.io/v1", "meta.k8s.io/v1beta1"] {
                add(kind, api_version.to_string(), index);
            }
        } else if let Some(rest) = name.strip_prefix("io.k8s.api.apidiscovery.") {
            if let Some((version, kind)) = rest.split_once('.') {
                add(kind, format!("apidiscovery.k8s.io/{version}"), index);
            }
        }
    }
    by_kind
}

/// A JSON value with the shape it is written in; serialises without copying it.
#[derive(Clone, Copy)]
pub struct Ordered<'a> {
    order: &'a KeyOrder,
    value: &'a Value,
    shape: Shape,
}

impl<'a> Ordered<'a> {
    fn child(&self, value: &'a Value, shape: Shape) -> Self {
        Self {
            order: self.order,
            value,
            shape,
        }
    }
}

impl Serialize for Ordered<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match (self.value, self.shape) {
            (Value::Object(map), Shape::Object(index)) => {
                let order = &self.order.types[index];
                let mut out = serializer.serialize_map(Some(map.len()))?;
                let mut written = 0;
                for field in &order.fields {
                    if let Some(value) = map.get(&field.name) {
                        out.serialize_entry(&field.name, &self.child(value, field.shape))?;
                        written += 1;
                    }
                }
                if written < map.len() {
                    for (key, value) in map.iter().filter(|(key, _)| !order.knows(key)) {
                        out.serialize_entry(key, value)?;
                    }
                }
                out.end()
            }
            (Value::Object(map), Shape::Values(index)) => {
                let mut out = serializer.serialize_map(Some(map.len()))?;
                for (key, value) in map {
                    out.serialize_entry(key, &self.child(value, Shape::Object(index)))?;
                }
                out.end()
            }
            (Value::Object(_), Shape::Embedded) => self
                .child(self.value, self.order.shape_of(self.value))
                .serialize(serializer),
            (Value::Array(items), Shape::Object(_) | Shape::Embedded) => {
                let mut out = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    out.serialize_element(&self.child(item, self.shape))?;
                }
                out.end()
            }
            (value, _) => value.serialize(serializer),
        }
    }
}

#[cfg(test)]
mod tests;
