//! The protobuf wire table of the built-in kinds: each message's fields with their numbers, their
//! JSON names and how their JSON value is written.
//!
//! # Source
//! `k8s-rs-pb`'s descriptors cannot be read (their `file_descriptor()` deadlocks, see
//! `key_order::probe`), so the table is learned from the generated code itself. For each kind,
//! `key_order`'s probe builds an instance in which every struct met for the first time has each of
//! its fields set (lists to one item, maps to one entry); rust-protobuf writes the fields of a
//! message in declaration order, so reading that instance's bytes back pairs the k-th declared
//! field with the k-th tag: its field number and wire type. A struct is numbered only when its tag
//! count equals its field count.
//!
//! JSON names come from the OpenAPI definitions, matched as `key_order` matches them: a field the
//! definition does not name is a Go-inlined embedded struct (`Volume.volumeSource`). The JSON form
//! of each field comes from its schema: the well-known types (`Quantity`, `Time`, `MicroTime`,
//! `Duration`, `IntOrString`, `FieldsV1`, `RawExtension`) are written by hand, `format: byte`
//! strings are bytes, maps (`additionalProperties`) are map entries.
//!
//! The table is immutable once built.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::catalog::definitions::{self, SchemaNode};
use crate::catalog::key_order::{definition_name, loose, probe, properties};

const QUANTITY: &str = "io.k8s.apimachinery.pkg.api.resource.Quantity";
const TIME: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Time";
const MICRO_TIME: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime";
const DURATION: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Duration";
const INT_OR_STRING: &str = "io.k8s.apimachinery.pkg.util.intstr.IntOrString";
const FIELDS_V1: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1";
const RAW_EXTENSION: &str = "io.k8s.apimachinery.pkg.runtime.RawExtension";
/// The `meta.k8s.io/v1` kinds with a message here (errors are answered as `Status`).
pub(super) const STATUS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Status";
pub(super) const LIST_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta";
pub(super) const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

/// Protobuf wire types.
pub(super) const VARINT: u8 = 0;
pub(super) const FIXED64: u8 = 1;
pub(super) const LEN: u8 = 2;
pub(super) const FIXED32: u8 = 5;

/// How one value (a field, each item of a list, or a map's value) is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scalar {
    /// int32 or int64: a JSON number as a varint.
    Varint,
    /// bool: a JSON boolean as a varint.
    Bool,
    /// double: a JSON number as 8 little-endian bytes.
    Fixed64,
    /// float: a JSON number as 4 little-endian bytes.
    Fixed32,
    String,
    /// A base64 JSON string, written as its bytes.
    Bytes,
    /// `Quantity{string = 1}`.
    Quantity,
    /// `Time{seconds = 1, nanos = 2}` from an RFC 3339 string (whole seconds in JSON).
    Time,
    /// `MicroTime{seconds = 1, nanos = 2}` from an RFC 3339 string with microseconds.
    MicroTime,
    /// `Duration{duration = 1}` (nanoseconds) from a Go duration string.
    Duration,
    /// `IntOrString{type = 1, intVal = 2, strVal = 3}`.
    IntOrString,
    /// `FieldsV1`/`RawExtension{raw = 1}`: the JSON document's bytes.
    RawJson,
    /// The message at this index of the table.
    Message(usize),
}

/// A field's cardinality: one value or a list (a JSON array), or a map with string keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    One(Scalar),
    Map(Scalar),
}

/// One field of a message.
#[derive(Debug)]
pub(super) struct Field {
    pub number: u32,
    /// The JSON name; `None` for an embedded struct whose fields are inlined in the parent's JSON.
    pub json: Option<String>,
    pub kind: Kind,
    /// A list: a JSON array, one tag per item (or packed, for numbers).
    pub repeated: bool,
    /// Whether upstream's JSON omits this field's zero (`omitempty` on a non-pointer scalar):
    /// false for `required` fields and for the pointer fields of [`super::POINTER_FIELDS`].
    pub omit_zero: bool,
}

/// One message: its fields in field-number order (the order Go writes them).
#[derive(Debug, Default)]
pub(super) struct MessageType {
    pub fields: Vec<Field>,
    /// A message wrapping one list (`ExtraValue{items}`) whose JSON is the list itself.
    pub wraps_list: bool,
}

/// The wire table of every built-in kind and what it holds.
#[derive(Debug)]
pub struct WireTable {
    pub(super) messages: Vec<MessageType>,
    /// OpenAPI definition name -> message.
    by_definition: HashMap<String, usize>,
    /// Rust paths of structs met but never numbered (a probe that failed).
    unresolved: Vec<String>,
}

/// The table, built on first use.
pub fn wire_table() -> &'static WireTable {
    static TABLE: OnceLock<WireTable> = OnceLock::new();
    TABLE.get_or_init(WireTable::build)
}

impl WireTable {
    /// The structs met while probing that could not be numbered; empty when the table is whole.
    pub fn unresolved(&self) -> &[String] {
        &self.unresolved
    }

    /// The message of an OpenAPI definition (`io.k8s.api.core.v1.Pod`).
    pub(super) fn message(&self, definition: &str) -> Option<usize> {
        self.by_definition.get(definition).copied()
    }

    /// The message of a kind served by the catalogue (`""`, `v1`, `Pod`); lists are not in the
    /// table, they are built from their items' message.
    pub(super) fn kind_message(&self, group: &str, version: &str, kind: &str) -> Option<usize> {
        if kind == "Status" && matches!((group, version), ("", "v1") | ("meta.k8s.io", "v1")) {
            return self.message(STATUS);
        }
        self.message(definitions::definition_for_gvk(group, version, kind)?)
    }

    fn build() -> Self {
        let mut builder = Builder::default();
        builder.probe_all();
        builder.finish()
    }
}

/// One field read back from a message: its number, wire type and payload (a length-delimited
/// payload without its length).
#[derive(Debug, Clone, Copy)]
pub(super) struct Tag<'a> {
    pub number: u32,
    pub wire: u8,
    pub payload: &'a [u8],
}

/// Reads a varint at `pos`, moving past it.
pub(super) fn read_varint(bytes: &[u8], pos: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64u32).step_by(7) {
        let byte = *bytes.get(*pos)?;
        *pos += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// The fields of a message in the order written; `None` for malformed bytes.
pub(super) fn read_tags(bytes: &[u8]) -> Option<Vec<Tag<'_>>> {
    let mut pos = 0;
    let mut tags = Vec::new();
    while pos < bytes.len() {
        let key = read_varint(bytes, &mut pos)?;
        let number = u32::try_from(key >> 3).ok()?;
        let wire = (key & 7) as u8;
        let start = pos;
        let end = match wire {
            VARINT => {
                read_varint(bytes, &mut pos)?;
                pos
            }
            FIXED64 => pos.checked_add(8)?,
            FIXED32 => pos.checked_add(4)?,
            LEN => {
                let len = usize::try_from(read_varint(bytes, &mut pos)?).ok()?;
                let body = pos;
                pos = body.checked_add(len)?;
                tags.push(Tag {
                    number,
                    wire,
                    payload: bytes.get(body..pos)?,
                });
                continue;
            }
            _ => return None,
        };
        tags.push(Tag {
            number,
            wire,
            payload: bytes.get(start..end)?,
        });
        pos = end;
    }
    Some(tags)
}

#[derive(Default)]
struct Builder {
    probed: probe::Probed,
    /// Rust path -> `(number, wire type)` of each declared field.
    numbers: HashMap<String, Vec<(u32, u8)>>,
}

/// Declares the kinds with a message: [`KINDS`] and the probing of their messages.
macro_rules! kinds {
    ($(($group:literal, $version:literal, $kind:literal, $message:ty)),* $(,)?) => {
        /// Every served kind with a protobuf message here, as `(group, version, kind)`: the
        /// catalogue's built-in kinds (not custom resources, Tables or PartialObjectMetadata).
        pub(super) const KINDS: &[(&str, &str, &str)] = &[$(($group, $version, $kind)),*];

        impl Builder {
            fn probe_all(&mut self) {
                $(self.learn::<$message>();)*
                self.learn::<k8s_rs_pb::apimachinery::pkg::apis::meta::v1::Status>();
            }
        }
    };
}

use k8s_rs_pb::api as pb;

kinds!(
    ("", "v1", "Binding", pb::core::v1::Binding),
    ("", "v1", "ComponentStatus", pb::core::v1::ComponentStatus),
    ("", "v1", "ConfigMap", pb::core::v1::ConfigMap),
    ("", "v1", "Endpoints", pb::core::v1::Endpoints),
    ("", "v1", "Event", pb::core::v1::Event),
    ("", "v1", "LimitRange", pb::core::v1::LimitRange),
    ("", "v1", "Namespace", pb::core::v1::Namespace),
    ("", "v1", "Node", pb::core::v1::Node),
    (
        "",
        "v1",
        "PersistentVolumeClaim",
        pb::core::v1::PersistentVolumeClaim
    ),
    ("", "v1", "PersistentVolume", pb::core::v1::PersistentVolume),
    ("", "v1", "Pod", pb::core::v1::Pod),
    ("", "v1", "PodTemplate", pb::core::v1::PodTemplate),
    (
        "",
        "v1",
        "ReplicationController",
        pb::core::v1::ReplicationController
    ),
    ("", "v1", "ResourceQuota", pb::core::v1::ResourceQuota),
    ("", "v1", "Secret", pb::core::v1::Secret),
    ("", "v1", "ServiceAccount", pb::core::v1::ServiceAccount),
    ("", "v1", "Service", pb::core::v1::Service),
    (
        "apps",
        "v1",
        "ControllerRevision",
        pb::apps::v1::ControllerRevision
    ),
    ("apps", "v1", "DaemonSet", pb::apps::v1::DaemonSet),
    ("apps", "v1", "Deployment", pb::apps::v1::Deployment),
    ("apps", "v1", "ReplicaSet", pb::apps::v1::ReplicaSet),
    ("apps", "v1", "StatefulSet", pb::apps::v1::StatefulSet),
    (
        "autoscaling",
        "v1",
        "HorizontalPodAutoscaler",
        pb::autoscaling::v1::HorizontalPodAutoscaler
    ),
    ("autoscaling", "v1", "Scale", pb::autoscaling::v1::Scale),
    (
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        pb::autoscaling::v2::HorizontalPodAutoscaler
    ),
    ("batch", "v1", "CronJob", pb::batch::v1::CronJob),
    ("batch", "v1", "Job", pb::batch::v1::Job),
    (
        "policy",
        "v1",
        "PodDisruptionBudget",
        pb::policy::v1::PodDisruptionBudget
    ),
    ("policy", "v1", "Eviction", pb::policy::v1::Eviction),
    ("events.k8s.io", "v1", "Event", pb::events::v1::Event),
    (
        "authentication.k8s.io",
        "v1",
        "SelfSubjectReview",
        pb::authentication::v1::SelfSubjectReview
    ),
    (
        "authentication.k8s.io",
        "v1",
        "TokenReview",
        pb::authentication::v1::TokenReview
    ),
    (
        "authentication.k8s.io",
        "v1",
        "TokenRequest",
        pb::authentication::v1::TokenRequest
    ),
    (
        "authorization.k8s.io",
        "v1",
        "LocalSubjectAccessReview",
        pb::authorization::v1::LocalSubjectAccessReview
    ),
    (
        "authorization.k8s.io",
        "v1",
        "SelfSubjectAccessReview",
        pb::authorization::v1::SelfSubjectAccessReview
    ),
    (
        "authorization.k8s.io",
        "v1",
        "SelfSubjectRulesReview",
        pb::authorization::v1::SelfSubjectRulesReview
    ),
    (
        "authorization.k8s.io",
        "v1",
        "SubjectAccessReview",
        pb::authorization::v1::SubjectAccessReview
    ),
    (
        "certificates.k8s.io",
        "v1",
        "CertificateSigningRequest",
        pb::certificates::v1::CertificateSigningRequest
    ),
    (
        "networking.k8s.io",
        "v1",
        "IngressClass",
        pb::networking::v1::IngressClass
    ),
    (
        "networking.k8s.io",
        "v1",
        "Ingress",
        pb::networking::v1::Ingress
    ),
    (
        "networking.k8s.io",
        "v1",
        "IPAddress",
        pb::networking::v1::IPAddress
    ),
    (
        "networking.k8s.io",
        "v1",
        "NetworkPolicy",
        pb::networking::v1::NetworkPolicy
    ),
    (
        "networking.k8s.io",
        "v1",
        "ServiceCIDR",
        pb::networking::v1::ServiceCIDR
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        pb::rbac::v1::ClusterRoleBinding
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRole",
        pb::rbac::v1::ClusterRole
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "RoleBinding",
        pb::rbac::v1::RoleBinding
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "Role",
        pb::rbac::v1::Role
    ),
    (
        "storage.k8s.io",
        "v1",
        "CSIDriver",
        pb::storage::v1::CSIDriver
    ),
    ("storage.k8s.io", "v1", "CSINode", pb::storage::v1::CSINode),
    (
        "storage.k8s.io",
        "v1",
        "CSIStorageCapacity",
        pb::storage::v1::CSIStorageCapacity
    ),
    (
        "storage.k8s.io",
        "v1",
        "StorageClass",
        pb::storage::v1::StorageClass
    ),
    (
        "storage.k8s.io",
        "v1",
        "VolumeAttachment",
        pb::storage::v1::VolumeAttachment
    ),
    (
        "admissionregistration.k8s.io",
        "v1",
        "MutatingWebhookConfiguration",
        pb::admissionregistration::v1::MutatingWebhookConfiguration
    ),
    (
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingAdmissionPolicy",
        pb::admissionregistration::v1::ValidatingAdmissionPolicy
    ),
    (
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingAdmissionPolicyBinding",
        pb::admissionregistration::v1::ValidatingAdmissionPolicyBinding
    ),
    (
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingWebhookConfiguration",
        pb::admissionregistration::v1::ValidatingWebhookConfiguration
    ),
    (
        "scheduling.k8s.io",
        "v1",
        "PriorityClass",
        pb::scheduling::v1::PriorityClass
    ),
    (
        "coordination.k8s.io",
        "v1",
        "Lease",
        pb::coordination::v1::Lease
    ),
    (
        "node.k8s.io",
        "v1",
        "RuntimeClass",
        pb::node::v1::RuntimeClass
    ),
    (
        "discovery.k8s.io",
        "v1",
        "EndpointSlice",
        pb::discovery::v1::EndpointSlice
    ),
    (
        "flowcontrol.apiserver.k8s.io",
        "v1",
        "FlowSchema",
        pb::flowcontrol::v1::FlowSchema
    ),
    (
        "flowcontrol.apiserver.k8s.io",
        "v1",
        "PriorityLevelConfiguration",
        pb::flowcontrol::v1::PriorityLevelConfiguration
    ),
);

impl Builder {
    /// Probes `T`, writes the instance and learns the numbers of the structs it fills.
    fn learn<T: ::protobuf::Message + serde::de::DeserializeOwned>(&mut self) {
        let Some(value) = probe::instance::<T>(&mut self.probed) else {
            return;
        };
        let Ok(bytes) = value.write_to_bytes() else {
            return;
        };
        // The probe names a struct after its derived visitor; the two spellings of the path
        // should agree, and the part after the version module is compared if they do not.
        let name = std::any::type_name::<T>();
        let tail = |path: &str| {
            path.split_once("::v1_33::")
                .map(|(_, tail)| tail.to_string())
        };
        let path = if self.probed.structs.contains_key(name) {
            Some(name.to_string())
        } else {
            let wanted = tail(name);
            self.probed
                .structs
                .keys()
                .find(|key| wanted.is_some() && tail(key.as_str()) == wanted)
                .cloned()
        };
        if let Some(path) = path {
            self.walk(&path, &bytes);
        }
    }

    /// Numbers the struct at `path` from its bytes when they hold every field, then walks the
    /// structs its fields hold.
    fn walk(&mut self, path: &str, bytes: &[u8]) {
        let Some(tags) = read_tags(bytes) else {
            return;
        };
        let Some(recorded) = self.probed.structs.get(path) else {
            return;
        };
        let children: Vec<Option<(String, probe::Holding)>> = recorded
            .fields
            .iter()
            .map(|(_, child)| child.clone())
            .collect();
        if !self.numbers.contains_key(path) && tags.len() == children.len() {
            let mut seen: Vec<u32> = tags.iter().map(|t| t.number).collect();
            seen.sort_unstable();
            seen.dedup();
            if seen.len() == tags.len() {
                let numbers = tags.iter().map(|t| (t.number, t.wire)).collect();
                self.numbers.insert(path.to_string(), numbers);
            }
        }
        let Some(numbers) = self.numbers.get(path).cloned() else {
            return;
        };
        for tag in tags.iter().filter(|t| t.wire == LEN) {
            let Some(index) = numbers.iter().position(|(n, _)| *n == tag.number) else {
                continue;
            };
            match &children[index] {
                Some((child, probe::Holding::Direct | probe::Holding::Items)) => {
                    self.walk(child, tag.payload);
                }
                Some((child, probe::Holding::Values)) => {
                    let value = read_tags(tag.payload)
                        .and_then(|entry| entry.into_iter().find(|t| t.number == 2));
                    if let Some(value) = value {
                        self.walk(child, value.payload);
                    }
                }
                None => {}
            }
        }
    }

    fn finish(self) -> WireTable {
        let mut paths: Vec<&String> = self.numbers.keys().collect();
        paths.sort();
        let index: HashMap<&str, usize> = paths
            .iter()
            .enumerate()
            .map(|(i, path)| (path.as_str(), i))
            .collect();
        let messages = paths
            .iter()
            .map(|path| self.message_type(path, &index))
            .collect();
        let by_definition = paths
            .iter()
            .enumerate()
            .map(|(i, path)| (definition_name(path), i))
            .collect();
        let mut unresolved: Vec<String> = self
            .probed
            .structs
            .keys()
            .filter(|path| !self.numbers.contains_key(*path))
            .cloned()
            .collect();
        unresolved.sort();
        WireTable {
            messages,
            by_definition,
            unresolved,
        }
    }

    fn message_type(&self, path: &str, index: &HashMap<&str, usize>) -> MessageType {
        let (Some(recorded), Some(numbers)) =
            (self.probed.structs.get(path), self.numbers.get(path))
        else {
            return MessageType::default();
        };
        let definition = definition_name(path);
        let props = properties(&definition);
        let required: Vec<&str> = SchemaNode::definition(&definition)
            .and_then(|d| d.schema().get("required"))
            .and_then(serde_json::Value::as_array)
            .map(|list| list.iter().filter_map(serde_json::Value::as_str).collect())
            .unwrap_or_default();
        let mut fields: Vec<Field> = Vec::new();
        for ((rust_name, child), &(number, wire)) in recorded.fields.iter().zip(numbers) {
            let proto_name = rust_name.trim_end_matches('_');
            let json = match props {
                None => Some(proto_name.to_string()),
                Some(props) if props.contains_key(proto_name) => Some(proto_name.to_string()),
                Some(props) => {
                    let wanted = loose(proto_name);
                    props.keys().find(|key| loose(key) == wanted).cloned()
                }
            };
            let child_index = child
                .as_ref()
                .and_then(|(child, _)| index.get(child.as_str()).copied());
            let node = json.as_deref().and_then(|name| {
                SchemaNode::definition(&definition)
                    .and_then(|d| d.field(name))
                    .map(|f| f.node)
            });
            let repeated = match child {
                Some((_, probe::Holding::Items)) => true,
                Some(_) => false,
                None => node.is_some_and(|n| n.schema_type() == Some("array")),
            };
            let omit_zero = json.as_deref().is_none_or(|name| {
                !required.contains(&name) && !super::POINTER_FIELDS.contains(&name)
            });
            let kind = match (&json, child) {
                (None, Some((_, probe::Holding::Direct))) => match child_index {
                    Some(child) => Kind::One(Scalar::Message(child)),
                    None => continue,
                },
                // A field outside the JSON form (none among the served kinds).
                (None, _) => continue,
                (Some(_), _) => {
                    match classify(node, child.as_ref().map(|c| c.1), child_index, wire) {
                        Some(kind) => kind,
                        None => continue,
                    }
                }
            };
            fields.push(Field {
                number,
                json,
                kind,
                repeated,
                omit_zero,
            });
        }
        fields.sort_by_key(|f| f.number);
        // `ExtraValue` has no definition: the OpenAPI schema inlines it as a list of strings.
        let wraps_list = props.is_none()
            && SchemaNode::definition(&definition).is_none()
            && fields.len() == 1
            && fields[0].json.as_deref() == Some("items");
        if wraps_list {
            fields[0].repeated = true;
        }
        MessageType { fields, wraps_list }
    }
}

/// The hand-written form of a well-known type, by definition name.
fn well_known(name: Option<&str>) -> Option<Scalar> {
    Some(match name? {
        QUANTITY => Scalar::Quantity,
        TIME => Scalar::Time,
        MICRO_TIME => Scalar::MicroTime,
        DURATION => Scalar::Duration,
        INT_OR_STRING => Scalar::IntOrString,
        FIELDS_V1 | RAW_EXTENSION => Scalar::RawJson,
        _ => return None,
    })
}

fn is_map(node: SchemaNode) -> bool {
    let schema = node.schema();
    schema
        .get("additionalProperties")
        .is_some_and(|v| v.is_object())
        && schema.get("properties").is_none()
}

fn is_bytes(node: SchemaNode) -> bool {
    node.schema().get("format").and_then(|f| f.as_str()) == Some("byte")
}

/// How a field is written, from its schema (`node`, when the definition is known), the struct it
/// holds (`child`, as message `child_index`), and its wire type. `None` when a struct it holds was
/// never numbered.
fn classify(
    node: Option<SchemaNode>,
    holding: Option<probe::Holding>,
    child_index: Option<usize>,
    wire: u8,
) -> Option<Kind> {
    let one = node.map(|n| {
        if n.schema_type() == Some("array") {
            n.items().unwrap_or(n)
        } else {
            n
        }
    });
    if let Some(scalar) = well_known(one.and_then(|n| n.name())) {
        return Some(Kind::One(scalar));
    }
    let map_values = one.filter(|n| is_map(*n)).and_then(|n| n.field(""));
    if map_values.is_some() || holding == Some(probe::Holding::Values) {
        let values = map_values.map(|f| f.node);
        let scalar = match well_known(values.and_then(|n| n.name())) {
            Some(scalar) => scalar,
            None if holding == Some(probe::Holding::Values) => Scalar::Message(child_index?),
            None if values.is_some_and(is_bytes) => Scalar::Bytes,
            None => Scalar::String,
        };
        return Some(Kind::Map(scalar));
    }
    if holding.is_some() {
        return Some(Kind::One(Scalar::Message(child_index?)));
    }
    Some(Kind::One(match wire {
        VARINT if one.is_some_and(|n| n.schema_type() == Some("boolean")) => Scalar::Bool,
        VARINT => Scalar::Varint,
        FIXED64 => Scalar::Fixed64,
        FIXED32 => Scalar::Fixed32,
        _ if one.is_some_and(is_bytes) => Scalar::Bytes,
        _ => Scalar::String,
    }))
}
