//! Kubernetes' protobuf wire format for built-in types: request bodies decoded here, responses
//! encoded by [`encode_object`], [`encode_list`] and [`watch_frame`].
//!
//! kubectl's typed clients (`kubectl create configmap|deployment|namespace|secret|...`) send
//! `application/vnd.kubernetes.protobuf`: the four bytes `k8s\0`, then a `runtime.Unknown` message
//! whose `typeMeta` names the kind and whose `raw` holds the object's own protobuf message. This
//! module turns such a body into the object's JSON, with exactly the meaning upstream's decoding into
//! Go structs gives it, so the rest of the request path sees the same object a JSON client would send.
//!
//! `schema` learns each message's field numbers once from the `k8s-rs-pb` crate (1.33 protos);
//! `decode` reads request bodies into JSON and `encode` writes responses from JSON, both through
//! that table (never through `k8s-rs-pb`'s serde, which rewrites quantities and keeps `MicroTime`
//! in whole seconds).
//!
//! A kind the table could not learn falls back to `k8s-rs-pb`'s message and serde, whose JSON is
//! normalised with the OpenAPI definitions: unset fields (`null`) and empty lists (which protobuf
//! cannot tell from unset) are dropped, `bytes` fields become base64 strings, and
//! `FieldsV1`/`RawExtension` become the JSON documents they carry.

use ::protobuf::Message;
use base64::Engine;
use serde_json::{Map, Value};

use crate::catalog::definitions::SchemaNode;

mod decode;
mod encode;
mod envelope;
#[cfg(test)]
mod hostile_input_tests;
mod schema;

pub use envelope::{
    encode_body, encode_list, encode_message_of, encode_object, envelope, has_message,
    list_item_len, list_parts, put_list_item, watch_frame,
};
use k8s_rs_pb::api as pb;
#[cfg(test)]
use k8s_rs_pb::apimachinery::pkg::runtime::Unknown;
pub use schema::{wire_table, WireTable};

/// The media type of protobuf bodies.
pub const MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// The prefix of every protobuf-encoded Kubernetes object.
const MAGIC: &[u8; 4] = b"k8s\0";

const FIELDS_V1: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1";
const RAW_EXTENSION: &str = "io.k8s.apimachinery.pkg.runtime.RawExtension";
const TIME: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Time";
const MICRO_TIME: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime";
/// How `k8s-rs-pb` renders a `Time` message with neither field set. Go writes its zero time
/// (an unset `creationTimestamp`) as exactly that empty message, and reads it back as unset; a
/// real instant always carries its fields. So this value is an unset time, not the epoch.
const UNSET_TIME: &str = "1970-01-01T00:00:00Z";

/// Decodes a protobuf body into the object's JSON (with `apiVersion` and `kind` from the envelope).
///
/// The error is the reason text for upstream's 400 (`the object provided is unrecognized ...`).
pub fn decode_object(bytes: &[u8]) -> Result<Value, String> {
    let body = bytes.strip_prefix(MAGIC).ok_or_else(|| {
        "provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]"
            .to_string()
    })?;
    let envelope = decode::read_envelope(body)?;
    if !envelope.content_encoding.is_empty() {
        return Err(format!(
            "unsupported content encoding {:?}",
            envelope.content_encoding
        ));
    }
    let (api_version, kind) = (envelope.api_version, envelope.kind);
    let (group, version) = match api_version.rsplit_once('/') {
        Some((group, version)) => (group, version),
        None => ("", api_version.as_str()),
    };
    let table = wire_table();
    let mut object = match table.kind_message(group, version, &kind) {
        Some(index) => table.decode_message(index, envelope.raw)?,
        // A kind the table could not learn: `k8s-rs-pb`'s message and serde, normalised.
        None => {
            let mut object =
                decode_kind(group, version, &kind, envelope.raw).ok_or_else(|| {
                    format!("no kind \"{kind}\" is registered for version \"{api_version}\"")
                })??;
            normalize(&mut object, SchemaNode::for_gvk(group, version, &kind));
            object
        }
    };
    if let Value::Object(map) = &mut object {
        map.insert("apiVersion".into(), Value::String(api_version));
        map.insert("kind".into(), Value::String(kind));
    }
    Ok(object)
}

/// Whether a `Content-Type` names the protobuf media type.
pub fn is_protobuf(base_media_type: &str) -> bool {
    base_media_type == MEDIA_TYPE
}

fn decode<M: Message + serde::Serialize>(raw: &[u8]) -> Result<Value, String> {
    let message = M::parse_from_bytes(raw).map_err(|err| format!("protobuf: {err}"))?;
    serde_json::to_value(&message).map_err(|err| format!("protobuf: {err}"))
}

/// The message of every built-in kind a request body may carry (the catalogue's kinds).
fn decode_kind(
    group: &str,
    version: &str,
    kind: &str,
    raw: &[u8],
) -> Option<Result<Value, String>> {
    Some(match (group, version, kind) {
        ("", "v1", "Binding") => decode::<pb::core::v1::Binding>(raw),
        ("", "v1", "ComponentStatus") => decode::<pb::core::v1::ComponentStatus>(raw),
        ("", "v1", "ConfigMap") => decode::<pb::core::v1::ConfigMap>(raw),
        ("", "v1", "Endpoints") => decode::<pb::core::v1::Endpoints>(raw),
        ("", "v1", "Event") => decode::<pb::core::v1::Event>(raw),
        ("", "v1", "LimitRange") => decode::<pb::core::v1::LimitRange>(raw),
        ("", "v1", "Namespace") => decode::<pb::core::v1::Namespace>(raw),
        ("", "v1", "Node") => decode::<pb::core::v1::Node>(raw),
        ("", "v1", "PersistentVolumeClaim") => decode::<pb::core::v1::PersistentVolumeClaim>(raw),
        ("", "v1", "PersistentVolume") => decode::<pb::core::v1::PersistentVolume>(raw),
        ("", "v1", "Pod") => decode::<pb::core::v1::Pod>(raw),
        ("", "v1", "PodTemplate") => decode::<pb::core::v1::PodTemplate>(raw),
        ("", "v1", "ReplicationController") => decode::<pb::core::v1::ReplicationController>(raw),
        ("", "v1", "ResourceQuota") => decode::<pb::core::v1::ResourceQuota>(raw),
        ("", "v1", "Secret") => decode::<pb::core::v1::Secret>(raw),
        ("", "v1", "ServiceAccount") => decode::<pb::core::v1::ServiceAccount>(raw),
        ("", "v1", "Service") => decode::<pb::core::v1::Service>(raw),
        ("apps", "v1", "ControllerRevision") => decode::<pb::apps::v1::ControllerRevision>(raw),
        ("apps", "v1", "DaemonSet") => decode::<pb::apps::v1::DaemonSet>(raw),
        ("apps", "v1", "Deployment") => decode::<pb::apps::v1::Deployment>(raw),
        ("apps", "v1", "ReplicaSet") => decode::<pb::apps::v1::ReplicaSet>(raw),
        ("apps", "v1", "StatefulSet") => decode::<pb::apps::v1::StatefulSet>(raw),
        ("autoscaling", "v1", "HorizontalPodAutoscaler") => {
            decode::<pb::autoscaling::v1::HorizontalPodAutoscaler>(raw)
        }
        ("autoscaling", "v1", "Scale") => decode::<pb::autoscaling::v1::Scale>(raw),
        ("autoscaling", "v2", "HorizontalPodAutoscaler") => {
            decode::<pb::autoscaling::v2::HorizontalPodAutoscaler>(raw)
        }
        ("batch", "v1", "CronJob") => decode::<pb::batch::v1::CronJob>(raw),
        ("batch", "v1", "Job") => decode::<pb::batch::v1::Job>(raw),
        ("policy", "v1", "PodDisruptionBudget") => {
            decode::<pb::policy::v1::PodDisruptionBudget>(raw)
        }
        ("policy", "v1", "Eviction") => decode::<pb::policy::v1::Eviction>(raw),
        ("events.k8s.io", "v1", "Event") => decode::<pb::events::v1::Event>(raw),
        ("authentication.k8s.io", "v1", "SelfSubjectReview") => {
            decode::<pb::authentication::v1::SelfSubjectReview>(raw)
        }
        ("authentication.k8s.io", "v1", "TokenReview") => {
            decode::<pb::authentication::v1::TokenReview>(raw)
        }
        ("authentication.k8s.io", "v1", "TokenRequest") => {
            decode::<pb::authentication::v1::TokenRequest>(raw)
        }
        ("authorization.k8s.io", "v1", "LocalSubjectAccessReview") => {
            decode::<pb::authorization::v1::LocalSubjectAccessReview>(raw)
        }
        ("authorization.k8s.io", "v1", "SelfSubjectAccessReview") => {
            decode::<pb::authorization::v1::SelfSubjectAccessReview>(raw)
        }
        ("authorization.k8s.io", "v1", "SelfSubjectRulesReview") => {
            decode::<pb::authorization::v1::SelfSubjectRulesReview>(raw)
        }
        ("authorization.k8s.io", "v1", "SubjectAccessReview") => {
            decode::<pb::authorization::v1::SubjectAccessReview>(raw)
        }
        ("certificates.k8s.io", "v1", "CertificateSigningRequest") => {
            decode::<pb::certificates::v1::CertificateSigningRequest>(raw)
        }
        ("networking.k8s.io", "v1", "IngressClass") => {
            decode::<pb::networking::v1::IngressClass>(raw)
        }
        ("networking.k8s.io", "v1", "Ingress") => decode::<pb::networking::v1::Ingress>(raw),
        ("networking.k8s.io", "v1", "IPAddress") => decode::<pb::networking::v1::IPAddress>(raw),
        ("networking.k8s.io", "v1", "NetworkPolicy") => {
            decode::<pb::networking::v1::NetworkPolicy>(raw)
        }
        ("networking.k8s.io", "v1", "ServiceCIDR") => {
            decode::<pb::networking::v1::ServiceCIDR>(raw)
        }
        ("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding") => {
            decode::<pb::rbac::v1::ClusterRoleBinding>(raw)
        }
        ("rbac.authorization.k8s.io", "v1", "ClusterRole") => {
            decode::<pb::rbac::v1::ClusterRole>(raw)
        }
        ("rbac.authorization.k8s.io", "v1", "RoleBinding") => {
            decode::<pb::rbac::v1::RoleBinding>(raw)
        }
        ("rbac.authorization.k8s.io", "v1", "Role") => decode::<pb::rbac::v1::Role>(raw),
        ("storage.k8s.io", "v1", "CSIDriver") => decode::<pb::storage::v1::CSIDriver>(raw),
        ("storage.k8s.io", "v1", "CSINode") => decode::<pb::storage::v1::CSINode>(raw),
        ("storage.k8s.io", "v1", "CSIStorageCapacity") => {
            decode::<pb::storage::v1::CSIStorageCapacity>(raw)
        }
        ("storage.k8s.io", "v1", "StorageClass") => decode::<pb::storage::v1::StorageClass>(raw),
        ("storage.k8s.io", "v1", "VolumeAttachment") => {
            decode::<pb::storage::v1::VolumeAttachment>(raw)
        }
        ("admissionregistration.k8s.io", "v1", "MutatingWebhookConfiguration") => {
            decode::<pb::admissionregistration::v1::MutatingWebhookConfiguration>(raw)
        }
        ("admissionregistration.k8s.io", "v1", "ValidatingAdmissionPolicy") => {
            decode::<pb::admissionregistration::v1::ValidatingAdmissionPolicy>(raw)
        }
        ("admissionregistration.k8s.io", "v1", "ValidatingAdmissionPolicyBinding") => {
            decode::<pb::admissionregistration::v1::ValidatingAdmissionPolicyBinding>(raw)
        }
        ("admissionregistration.k8s.io", "v1", "ValidatingWebhookConfiguration") => {
            decode::<pb::admissionregistration::v1::ValidatingWebhookConfiguration>(raw)
        }
        ("scheduling.k8s.io", "v1", "PriorityClass") => {
            decode::<pb::scheduling::v1::PriorityClass>(raw)
        }
        ("coordination.k8s.io", "v1", "Lease") => decode::<pb::coordination::v1::Lease>(raw),
        ("node.k8s.io", "v1", "RuntimeClass") => decode::<pb::node::v1::RuntimeClass>(raw),
        ("discovery.k8s.io", "v1", "EndpointSlice") => {
            decode::<pb::discovery::v1::EndpointSlice>(raw)
        }
        ("flowcontrol.apiserver.k8s.io", "v1", "FlowSchema") => {
            decode::<pb::flowcontrol::v1::FlowSchema>(raw)
        }
        ("flowcontrol.apiserver.k8s.io", "v1", "PriorityLevelConfiguration") => {
            decode::<pb::flowcontrol::v1::PriorityLevelConfiguration>(raw)
        }
        _ => return None,
    })
}

/// Brings serde's rendering of a message to Kubernetes' JSON, guided by the schema when known.
fn normalize(value: &mut Value, schema: Option<SchemaNode>) {
    let name = schema.and_then(|s| s.name());
    if matches!(name, Some(FIELDS_V1) | Some(RAW_EXTENSION)) {
        if let Some(document) = raw_document(value) {
            *value = document;
            return;
        }
    }
    // A message wrapping one list (`ExtraValue{items}`) whose JSON is the list itself.
    if schema.and_then(|s| s.schema_type()) == Some("array") {
        let wrapped = value
            .as_object()
            .filter(|map| map.len() == 1)
            .and_then(|map| map.get("items"))
            .filter(|items| items.is_array())
            .cloned();
        if let Some(items) = wrapped {
            *value = items;
        }
    }
    if name == Some(MICRO_TIME) {
        if let Some(text) = micro_time(value) {
            *value = Value::String(text);
            return;
        }
    }
    match value {
        Value::Object(map) => {
            inline_embedded(map, schema);
            map.retain(|_, v| !v.is_null() && !v.as_array().is_some_and(Vec::is_empty));
            // rust-protobuf names fields that are Rust keywords `type_`; no Kubernetes JSON field
            // ends in an underscore.
            let renamed: Vec<String> = map.keys().filter(|k| k.ends_with('_')).cloned().collect();
            for key in renamed {
                if let Some(v) = map.remove(&key) {
                    map.insert(key.trim_end_matches('_').to_string(), v);
                }
            }
            let required: Vec<&str> = schema
                .and_then(|s| s.schema().get("required"))
                .and_then(Value::as_array)
                .map(|list| list.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            map.retain(|key, v| !is_omitted_zero(key, v, &required, schema));
            let mut empty_maps = Vec::new();
            for (key, child) in map.iter_mut() {
                let child_schema = schema.and_then(|s| s.field(key)).map(|f| f.node);
                // A required time (TokenRequest's status.expirationTimestamp) keeps its value:
                // the typed decoding after this needs one, and the server sets it anyway.
                if child_schema.and_then(|s| s.name()) == Some(TIME)
                    && child == UNSET_TIME
                    && !required.contains(&key.as_str())
                {
                    empty_maps.push(key.clone());
                    continue;
                }
                normalize(child, child_schema);
                // A protobuf map cannot tell empty from unset: Go decodes both as nil, which JSON
                // omits. An empty message (`emptyDir: {}`) is kept.
                if child.as_object().is_some_and(Map::is_empty)
                    && child_schema.is_some_and(is_map_schema)
                {
                    empty_maps.push(key.clone());
                }
            }
            for key in empty_maps {
                map.remove(&key);
            }
        }
        Value::Array(items) => {
            let is_bytes = schema
                .is_some_and(|s| s.schema().get("format").and_then(Value::as_str) == Some("byte"));
            if is_bytes {
                if let Some(bytes) = as_bytes(items) {
                    *value = Value::String(base64::engine::general_purpose::STANDARD.encode(bytes));
                    return;
                }
            }
            let item_schema = schema.and_then(|s| s.items());
            for item in items.iter_mut() {
                normalize(item, item_schema);
            }
        }
        _ => {}
    }
}

/// Moves the fields of embedded structs (`Volume.volumeSource`, `Probe.handler`: a key the schema
/// does not declare, holding an object) into the object, as Go's JSON inlines them.
fn inline_embedded(map: &mut Map<String, Value>, schema: Option<SchemaNode>) {
    let Some(properties) = schema
        .and_then(|s| s.schema().get("properties"))
        .and_then(Value::as_object)
    else {
        return;
    };
    // An embedded struct may itself embed one; a few rounds cover every built-in type.
    for _ in 0..4 {
        let embedded: Vec<String> = map
            .iter()
            .filter(|(key, value)| value.is_object() && !properties.contains_key(key.as_str()))
            .map(|(key, _)| key.clone())
            .collect();
        if embedded.is_empty() {
            return;
        }
        for key in embedded {
            if let Some(Value::Object(inner)) = map.remove(&key) {
                for (field, value) in inner {
                    map.entry(field).or_insert(value);
                }
            }
        }
    }
}

/// A `MicroTime` message (`{"seconds": .., "nanos": ..}` from serde) as Go's JSON writes it:
/// RFC 3339 with microseconds, in UTC.
fn micro_time(value: &Value) -> Option<String> {
    let seconds = value.get("seconds")?.as_i64()?;
    let nanos = value.get("nanos").and_then(Value::as_i64).unwrap_or(0);
    let time =
        chrono::DateTime::<chrono::Utc>::from_timestamp(seconds, u32::try_from(nanos).ok()?)?;
    Some(time.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
}

/// Fields whose Go type is a pointer, so that an explicit zero (`replicas: 0`, `runAsUser: 0`,
/// `suspend: false`, `storageClassName: ""`) means something and survives decoding upstream.
///
/// Go's protobuf marshaller writes every non-pointer scalar, zero or not, and upstream's JSON then
/// omits the zero ones (`omitempty`); the wire cannot tell the two apart, the Go types can. Until a
/// table generated from the Go types replaces it, this list names the pointer fields a request body
/// plausibly sets to zero; every other zero scalar outside the schema's `required` list is dropped.
const POINTER_FIELDS: &[&str] = &[
    "activeDeadlineSeconds",
    "allocateLoadBalancerNodePorts",
    "allowPrivilegeEscalation",
    "automountServiceAccountToken",
    "backoffLimit",
    "backoffLimitPerIndex",
    "completions",
    "defaultMode",
    "enableServiceLinks",
    "expirationSeconds",
    "failedJobsHistoryLimit",
    "fsGroup",
    "hostUsers",
    "immutable",
    "maxFailedIndexes",
    "mode",
    "optional",
    "parallelism",
    "priority",
    "privileged",
    "progressDeadlineSeconds",
    "readOnlyRootFilesystem",
    "replicas",
    "revisionHistoryLimit",
    "runAsGroup",
    "runAsNonRoot",
    "runAsUser",
    "setHostnameAsFQDN",
    "shareProcessNamespace",
    "startingDeadlineSeconds",
    "storageClassName",
    "successfulJobsHistoryLimit",
    "suspend",
    "terminationGracePeriodSeconds",
    "ttlSecondsAfterFinished",
];

/// Whether `value` is the zero of a non-pointer scalar that upstream's JSON would omit.
fn is_omitted_zero(
    key: &str,
    value: &Value,
    required: &[&str],
    schema: Option<SchemaNode>,
) -> bool {
    let zero = match value {
        Value::String(s) => s.is_empty(),
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        _ => false,
    };
    if !zero || required.contains(&key) || POINTER_FIELDS.contains(&key) {
        return false;
    }
    // An int-or-string (`minAvailable: 0`, `targetPort: 0`) is a pointer or required where it matters.
    let int_or_string = schema.and_then(|s| s.field(key)).is_some_and(|f| {
        f.node.schema().get("format").and_then(Value::as_str) == Some("int-or-string")
    });
    !int_or_string
}

/// Whether a schema is a map (`additionalProperties` without declared properties).
fn is_map_schema(schema: SchemaNode) -> bool {
    let schema = schema.schema();
    schema.get("additionalProperties").is_some() && schema.get("properties").is_none()
}

/// The JSON document inside a `FieldsV1`/`RawExtension` message (`{"raw": [bytes]}`).
fn raw_document(value: &Value) -> Option<Value> {
    let map: &Map<String, Value> = value.as_object()?;
    let bytes = as_bytes(map.get("raw").or_else(|| map.get("Raw"))?.as_array()?)?;
    serde_json::from_slice(&bytes).ok()
}

fn as_bytes(items: &[Value]) -> Option<Vec<u8>> {
    items
        .iter()
        .map(|v| v.as_u64().and_then(|n| u8::try_from(n).ok()))
        .collect()
}

#[cfg(test)]
mod round_trip;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn envelope(api_version: &str, kind: &str, raw: Vec<u8>) -> Vec<u8> {
        let mut unknown = Unknown::new();
        unknown.typeMeta.mut_or_insert_default().apiVersion = Some(api_version.into());
        unknown.typeMeta.mut_or_insert_default().kind = Some(kind.into());
        unknown.raw = Some(raw);
        let mut out = MAGIC.to_vec();
        out.extend(unknown.write_to_bytes().expect("encode"));
        out
    }

    #[test]
    fn a_configmap_decodes_to_its_json() {
        let mut cm = pb::core::v1::ConfigMap::new();
        cm.metadata.mut_or_insert_default().name = Some("cfg".into());
        cm.data.insert("a".into(), "1".into());
        cm.binaryData.insert("b".into(), vec![0, 1, 2]);
        let body = envelope("v1", "ConfigMap", cm.write_to_bytes().expect("encode"));
        let object = decode_object(&body).expect("decodes");
        assert_eq!(object["apiVersion"], "v1");
        assert_eq!(object["kind"], "ConfigMap");
        assert_eq!(object["metadata"], json!({"name": "cfg"}));
        assert_eq!(object["data"], json!({"a": "1"}));
        assert_eq!(object["binaryData"], json!({"b": "AAEC"}));
    }

    #[test]
    fn a_deployment_keeps_int_or_string_and_nested_lists() {
        let mut deployment = pb::apps::v1::Deployment::new();
        deployment.metadata.mut_or_insert_default().name = Some("web".into());
        let spec = deployment.spec.mut_or_insert_default();
        spec.replicas = Some(2);
        spec.strategy.mut_or_insert_default().type_ = Some("Recreate".into());
        let mut container = pb::core::v1::Container::new();
        container.name = Some("nginx".into());
        container.image = Some("nginx".into());
        spec.template
            .mut_or_insert_default()
            .spec
            .mut_or_insert_default()
            .containers
            .push(container);
        let body = envelope(
            "apps/v1",
            "Deployment",
            deployment.write_to_bytes().expect("encode"),
        );
        let object = decode_object(&body).expect("decodes");
        assert_eq!(object["spec"]["replicas"], 2);
        assert_eq!(object["spec"]["strategy"], json!({"type": "Recreate"}));
        assert_eq!(
            object["spec"]["template"]["spec"]["containers"],
            json!([{"name": "nginx", "image": "nginx"}])
        );
    }

    #[test]
    fn zero_scalars_are_dropped_unless_they_mean_something() {
        let mut service = pb::core::v1::Service::new();
        service.metadata.mut_or_insert_default().name = Some("np".into());
        service.metadata.mut_or_insert_default().generateName = Some(String::new());
        let spec = service.spec.mut_or_insert_default();
        spec.type_ = Some("NodePort".into());
        spec.clusterIP = Some(String::new());
        spec.publishNotReadyAddresses = Some(false);
        let mut port = pb::core::v1::ServicePort::new();
        port.port = Some(80);
        port.nodePort = Some(0);
        spec.ports.push(port);
        let body = envelope("v1", "Service", service.write_to_bytes().expect("encode"));
        let object = decode_object(&body).expect("decodes");
        assert_eq!(object["metadata"], json!({"name": "np"}));
        assert_eq!(
            object["spec"],
            json!({"type": "NodePort", "ports": [{"port": 80}]})
        );

        let mut deployment = pb::apps::v1::Deployment::new();
        deployment.spec.mut_or_insert_default().replicas = Some(0);
        let body = envelope(
            "apps/v1",
            "Deployment",
            deployment.write_to_bytes().expect("encode"),
        );
        assert_eq!(
            decode_object(&body).expect("decodes")["spec"]["replicas"],
            0
        );
    }

    #[test]
    fn an_unset_time_stays_unset_and_a_real_one_is_kept() {
        // Go writes an unset creationTimestamp as an empty Time message (kubectl's access
        // reviews carry one); it must not become the epoch.
        let mut review = pb::authorization::v1::SelfSubjectAccessReview::new();
        review.metadata.mut_or_insert_default().creationTimestamp =
            protobuf::MessageField::some(Default::default());
        let body = envelope(
            "authorization.k8s.io/v1",
            "SelfSubjectAccessReview",
            review.write_to_bytes().expect("encode"),
        );
        let object = decode_object(&body).expect("decodes");
        assert!(
            object.get("metadata").is_none_or(|m| m == &json!({})),
            "{object}"
        );

        let mut cm = pb::core::v1::ConfigMap::new();
        let meta = cm.metadata.mut_or_insert_default();
        meta.name = Some("cfg".into());
        let stamp = meta.creationTimestamp.mut_or_insert_default();
        stamp.seconds = Some(1_704_067_200);
        stamp.nanos = Some(0);
        let body = envelope("v1", "ConfigMap", cm.write_to_bytes().expect("encode"));
        let object = decode_object(&body).expect("decodes");
        assert_eq!(
            object["metadata"],
            json!({"name": "cfg", "creationTimestamp": "2024-01-01T00:00:00Z"})
        );
    }

    #[test]
    fn int_or_string_is_read_by_its_type_as_go_writes_it() {
        // Go writes type, intVal and strVal, whichever the type.
        let mut service = pb::core::v1::Service::new();
        service.metadata.mut_or_insert_default().name = Some("s".into());
        let spec = service.spec.mut_or_insert_default();
        for (name, type_, int_val, str_val) in [("named", 1, 0, "http"), ("numbered", 0, 8080, "")]
        {
            let mut port = pb::core::v1::ServicePort::new();
            port.name = Some(name.into());
            port.port = Some(80);
            let target = port.targetPort.mut_or_insert_default();
            target.type_ = Some(type_);
            target.intVal = Some(int_val);
            target.strVal = Some(str_val.into());
            spec.ports.push(port);
        }
        let body = envelope("v1", "Service", service.write_to_bytes().expect("encode"));
        let object = decode_object(&body).expect("decodes");
        assert_eq!(object["spec"]["ports"][0]["targetPort"], "http");
        assert_eq!(object["spec"]["ports"][1]["targetPort"], 8080);
    }

    #[test]
    fn bad_bodies_are_reported() {
        assert!(decode_object(b"{}")
            .unwrap_err()
            .contains("expected prefix"));
        let body = envelope("v1", "Nope", Vec::new());
        assert_eq!(
            decode_object(&body).unwrap_err(),
            "no kind \"Nope\" is registered for version \"v1\""
        );
        let mut garbage = MAGIC.to_vec();
        garbage.extend([0xff, 0xff, 0xff]);
        assert!(decode_object(&garbage)
            .unwrap_err()
            .starts_with("protobuf:"));
    }
}
