//! Responses in protobuf: every body is parsed back with `k8s-rs-pb`'s generated messages (the wire
//! is valid for them), then decoded by the request path and compared with the input, as JSON and
//! through `k8s-openapi`'s types.

use std::fmt::Debug;

use ::protobuf::Message;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use super::schema::{read_tags, wire_table, KINDS};
use super::*;
use k8s_openapi::api as ko;
use k8s_rs_pb::apimachinery::pkg::apis::meta::v1 as pb_meta;

/// Encodes `object`, checks the envelope, parses the message as `P`, and checks that the request
/// path decodes it to the input's JSON and to the same `K` as the input.
fn check<P: Message, K: DeserializeOwned + PartialEq + Debug>(object: &Value) -> P {
    let body = encode_object(object).unwrap_or_else(|err| panic!("{err}: {object}"));
    assert_eq!(&body[..4], MAGIC);
    let unknown = Unknown::parse_from_bytes(&body[4..]).expect("an Unknown envelope");
    assert_eq!(
        unknown.typeMeta.apiVersion.as_deref(),
        object["apiVersion"].as_str()
    );
    assert_eq!(unknown.typeMeta.kind.as_deref(), object["kind"].as_str());
    let raw = unknown.raw.clone().unwrap_or_default();
    let message = P::parse_from_bytes(&raw).expect("valid wire for the kind's message");
    assert!(
        message
            .special_fields()
            .unknown_fields()
            .iter()
            .next()
            .is_none(),
        "fields unknown to the message: {object}"
    );
    let decoded = decode_object(&body).expect("decodes");
    same::<K>(object, &decoded);
    assert_eq!(&decoded, object, "encoded then decoded");
    message
}

fn same<K: DeserializeOwned + PartialEq + Debug>(want: &Value, got: &Value) {
    let want_typed: K = serde_json::from_value(want.clone()).expect("the input is a valid object");
    let got_typed: K = serde_json::from_value(got.clone())
        .unwrap_or_else(|err| panic!("decoded body does not parse: {err}: {got}"));
    assert_eq!(got_typed, want_typed, "decoded: {got}");
}

/// The number of field `json` of `definition` in the table.
fn number(definition: &str, json: &str) -> u32 {
    let table = wire_table();
    let index = table
        .message(definition)
        .unwrap_or_else(|| panic!("no message for {definition}"));
    table.messages[index]
        .fields
        .iter()
        .find(|f| f.json.as_deref() == Some(json))
        .unwrap_or_else(|| panic!("{definition} has no field {json}"))
        .number
}

fn metadata() -> Value {
    json!({
        "name": "web",
        "namespace": "default",
        "uid": "6b8f0c39-55a5-4a3e-9f1a-6d2f3b0c1a11",
        "resourceVersion": "42",
        "generation": 3,
        "creationTimestamp": "2024-01-01T00:00:00Z",
        "labels": {"app": "web", "tier": "front"},
        "annotations": {"note": "a b c"},
        "ownerReferences": [{
            "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-1",
            "uid": "0b1c2d3e-0000-4000-8000-000000000001",
            "controller": true, "blockOwnerDeletion": true
        }],
        "finalizers": ["example.com/keep"],
        "managedFields": [{
            "manager": "kubectl", "operation": "Update", "apiVersion": "v1",
            "time": "2024-01-01T00:00:01Z", "fieldsType": "FieldsV1",
            "fieldsV1": {"f:metadata": {"f:labels": {".": {}, "f:app": {}}}}
        }]
    })
}

#[test]
fn the_table_is_whole_and_knows_the_served_kinds() {
    assert_eq!(wire_table().unresolved(), &[] as &[String]);
    // Negotiation trusts `KINDS`: each must have its message in the table.
    for &(group, version, kind) in KINDS {
        let message = wire_table().kind_message(group, version, kind);
        assert!(message.is_some(), "{group}/{version} {kind}");
    }
    for (group, version, kind) in [
        ("", "v1", "Pod"),
        ("", "v1", "ConfigMap"),
        ("", "v1", "Secret"),
        ("", "v1", "Node"),
        ("apps", "v1", "Deployment"),
        ("coordination.k8s.io", "v1", "Lease"),
        ("events.k8s.io", "v1", "Event"),
        ("discovery.k8s.io", "v1", "EndpointSlice"),
        ("flowcontrol.apiserver.k8s.io", "v1", "FlowSchema"),
        ("", "v1", "Status"),
    ] {
        assert!(
            has_message(group, version, kind),
            "{group}/{version} {kind}"
        );
    }
    for (group, version, kind) in [
        ("example.com", "v1", "Widget"),
        ("meta.k8s.io", "v1", "Table"),
        ("meta.k8s.io", "v1", "PartialObjectMetadata"),
        ("meta.k8s.io", "v1", "PartialObjectMetadataList"),
    ] {
        assert!(
            !has_message(group, version, kind),
            "{group}/{version} {kind}"
        );
    }
}

#[test]
fn field_numbers_are_the_protos() {
    // Upstream's generated.proto: numbers do not follow declaration order.
    let meta = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
    for (field, want) in [
        ("name", 1),
        ("namespace", 3),
        ("uid", 5),
        ("resourceVersion", 6),
        ("creationTimestamp", 8),
        ("labels", 11),
        ("annotations", 12),
        ("ownerReferences", 13),
        ("finalizers", 14),
        ("managedFields", 17),
    ] {
        assert_eq!(number(meta, field), want, "ObjectMeta.{field}");
    }
    let container = "io.k8s.api.core.v1.Container";
    assert_eq!(number(container, "envFrom"), 19);
    assert_eq!(number(container, "resizePolicy"), 23);
    assert_eq!(number(container, "tty"), 18);
    assert_eq!(number("io.k8s.api.core.v1.ConfigMap", "immutable"), 4);
    assert_eq!(number("io.k8s.api.core.v1.ConfigMap", "binaryData"), 3);
    assert_eq!(number("io.k8s.api.core.v1.ServicePort", "appProtocol"), 6);
    assert_eq!(number("io.k8s.api.core.v1.Secret", "type"), 3);
    assert_eq!(
        number("io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta", "continue"),
        3
    );
    assert_eq!(
        number("io.k8s.apimachinery.pkg.apis.meta.v1.Status", "code"),
        6
    );
}

#[test]
fn a_configmap_with_full_metadata_round_trips() {
    let object = json!({
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata(),
        "immutable": true,
        "data": {"b": "2", "a": "1"},
        "binaryData": {"bin": "AAH//g=="}
    });
    let message = check::<pb::core::v1::ConfigMap, ko::core::v1::ConfigMap>(&object);
    assert_eq!(message.binaryData["bin"], vec![0u8, 1, 255, 254]);
    let entry = &message.metadata.managedFields[0];
    let raw = entry.fieldsV1.Raw.clone().unwrap_or_default();
    let fields: Value = serde_json::from_slice(&raw).expect("FieldsV1 holds JSON");
    assert_eq!(fields, metadata()["managedFields"][0]["fieldsV1"]);
    assert_eq!(
        message.metadata.creationTimestamp.seconds,
        Some(1_704_067_200)
    );
}

#[test]
fn fields_are_written_in_field_number_order() {
    let object = json!({
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata(),
        "immutable": true, "data": {"a": "1"}, "binaryData": {"b": "AA=="}
    });
    let body = encode_object(&object).expect("encodes");
    let unknown = Unknown::parse_from_bytes(&body[4..]).expect("an Unknown");
    let raw = unknown.raw.clone().unwrap_or_default();
    let tags = read_tags(&raw).expect("well formed");
    let numbers: Vec<u32> = tags.iter().map(|t| t.number).collect();
    assert_eq!(numbers, [1, 2, 3, 4]);
    let meta = read_tags(tags[0].payload).expect("well formed");
    let numbers: Vec<u32> = meta.iter().map(|t| t.number).collect();
    let mut sorted = numbers.clone();
    sorted.sort_unstable();
    assert_eq!(numbers, sorted);
    // Map entries in key order: labels `app` before `tier`.
    let labels: Vec<&[u8]> = meta
        .iter()
        .filter(|t| t.number == 11)
        .map(|t| t.payload)
        .collect();
    assert_eq!(labels.len(), 2);
    assert!(labels[0].windows(3).any(|w| w == b"app"));
}

#[test]
fn secrets_carry_raw_bytes() {
    let object = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "s", "namespace": "default"},
        "type": "Opaque", "immutable": true,
        "data": {"key": "AAH//g==", "text": "aGVsbG8="}
    });
    let message = check::<pb::core::v1::Secret, ko::core::v1::Secret>(&object);
    assert_eq!(message.data["key"], vec![0u8, 1, 255, 254]);
    assert_eq!(message.data["text"], b"hello".to_vec());
}

fn pod() -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web-0", "namespace": "default", "labels": {"app": "web"}},
        "spec": {
            "containers": [{
                "name": "app", "image": "nginx:1.25",
                "command": ["nginx"], "args": ["-g", "daemon off;"],
                "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
                "env": [
                    {"name": "A", "value": "1"},
                    {"name": "NODE", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "spec.nodeName"}}}
                ],
                "resources": {
                    "requests": {"cpu": "100m", "memory": "64Mi"},
                    "limits": {"cpu": "1", "memory": "1Gi"}
                },
                "volumeMounts": [{"name": "cache", "mountPath": "/cache"}],
                "livenessProbe": {
                    "httpGet": {"path": "/healthz", "port": "http", "scheme": "HTTP"},
                    "periodSeconds": 10, "failureThreshold": 3
                },
                "readinessProbe": {"tcpSocket": {"port": 8080}, "initialDelaySeconds": 5},
                "securityContext": {"runAsUser": 1000, "runAsNonRoot": true, "capabilities": {"drop": ["ALL"]}}
            }],
            "volumes": [
                {"name": "cache", "emptyDir": {}},
                {"name": "cfg", "configMap": {"name": "web", "items": [{"key": "a", "path": "a.conf"}], "defaultMode": 420}}
            ],
            "nodeSelector": {"disk": "ssd"},
            "tolerations": [{"key": "k", "operator": "Exists", "effect": "NoSchedule", "tolerationSeconds": 30}],
            "terminationGracePeriodSeconds": 30,
            "restartPolicy": "Always"
        },
        "status": {
            "phase": "Running", "podIP": "10.0.0.7",
            "startTime": "2024-01-01T00:00:02Z",
            "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2024-01-01T00:00:03Z"}]
        }
    })
}

#[test]
fn a_pod_round_trips_with_quantities_int_or_string_and_inlined_structs() {
    let message = check::<pb::core::v1::Pod, ko::core::v1::Pod>(&pod());
    let container = &message.spec.containers[0];
    let requests = &container.resources.requests;
    assert_eq!(requests["cpu"].string.as_deref(), Some("100m"));
    assert_eq!(requests["memory"].string.as_deref(), Some("64Mi"));
    let http = &container.livenessProbe.handler.httpGet.port;
    assert_eq!(
        (http.type_, http.strVal.as_deref()),
        (Some(1), Some("http"))
    );
    let tcp = &container.readinessProbe.handler.tcpSocket.port;
    assert_eq!((tcp.type_, tcp.intVal), (Some(0), Some(8080)));
    // `emptyDir: {}` is an empty message, present.
    assert!(message.spec.volumes[0].volumeSource.emptyDir.is_some());
    assert_eq!(
        message.spec.volumes[1].volumeSource.configMap.defaultMode,
        Some(420)
    );
}

#[test]
fn empty_maps_and_lists_are_unset_as_in_go() {
    // Go's protobuf cannot tell an empty map or list from nil; both decode as unset.
    let object = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "e", "labels": {}, "finalizers": []},
        "data": {}
    });
    let body = encode_object(&object).expect("encodes");
    let unknown = Unknown::parse_from_bytes(&body[4..]).expect("an Unknown");
    let raw = unknown.raw.clone().unwrap_or_default();
    let message = pb::core::v1::ConfigMap::parse_from_bytes(&raw).expect("valid");
    assert!(message.data.is_empty());
    assert!(message.metadata.labels.is_empty());
    let decoded = decode_object(&body).expect("decodes");
    assert_eq!(decoded["metadata"], json!({"name": "e"}));
    assert!(decoded.get("data").is_none());
}

#[test]
fn workloads_round_trip() {
    let template = json!({
        "metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [{"name": "app", "image": "nginx", "resources": {"limits": {"cpu": "250m"}}}]}
    });
    let deployment = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}]},
            "template": template,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}},
            "revisionHistoryLimit": 5
        },
        "status": {"replicas": 3, "readyReplicas": 2, "observedGeneration": 7,
            "conditions": [{"type": "Available", "status": "True", "lastUpdateTime": "2024-01-01T00:00:00Z",
                "lastTransitionTime": "2024-01-01T00:00:00Z", "reason": "MinimumReplicasAvailable", "message": "ok"}]}
    });
    let message = check::<pb::apps::v1::Deployment, ko::apps::v1::Deployment>(&deployment);
    let rolling = &message.spec.strategy.rollingUpdate;
    assert_eq!(rolling.maxSurge.strVal.as_deref(), Some("25%"));
    assert_eq!(rolling.maxUnavailable.intVal, Some(1));

    let cron_job = json!({
        "apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": {"name": "tick", "namespace": "default"},
        "spec": {"schedule": "*/5 * * * *", "suspend": true, "jobTemplate": {"spec": {
            "backoffLimit": 2, "template": template
        }}}
    });
    check::<pb::batch::v1::CronJob, ko::batch::v1::CronJob>(&cron_job);

    let revision = json!({
        "apiVersion": "apps/v1", "kind": "ControllerRevision",
        "metadata": {"name": "web-1", "namespace": "default"},
        "data": {"spec": {"template": {"metadata": {"labels": {"app": "web"}}}}},
        "revision": 2
    });
    check::<pb::apps::v1::ControllerRevision, ko::apps::v1::ControllerRevision>(&revision);

    let pdb = json!({
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"minAvailable": "50%", "selector": {"matchLabels": {"app": "web"}}}
    });
    check::<pb::policy::v1::PodDisruptionBudget, ko::policy::v1::PodDisruptionBudget>(&pdb);

    let hpa = json!({
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "minReplicas": 1, "maxReplicas": 5,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "AverageValue", "averageValue": "500m"}}}]
        }
    });
    check::<
        pb::autoscaling::v2::HorizontalPodAutoscaler,
        ko::autoscaling::v2::HorizontalPodAutoscaler,
    >(&hpa);
}

#[test]
fn cluster_objects_round_trip() {
    let node = json!({
        "apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1", "labels": {"kubernetes.io/os": "linux"}},
        "spec": {"podCIDR": "10.0.1.0/24", "podCIDRs": ["10.0.1.0/24"], "taints": [{"key": "k", "value": "v", "effect": "NoSchedule"}]},
        "status": {
            "capacity": {"cpu": "4", "memory": "16Gi", "pods": "110"},
            "allocatable": {"cpu": "3900m", "memory": "15Gi"},
            "addresses": [{"type": "InternalIP", "address": "192.168.1.10"}],
            "conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": "2024-01-01T00:00:00Z",
                "lastTransitionTime": "2024-01-01T00:00:00Z", "reason": "KubeletReady", "message": "ready"}]
        }
    });
    let message = check::<pb::core::v1::Node, ko::core::v1::Node>(&node);
    assert_eq!(
        message.status.allocatable["cpu"].string.as_deref(),
        Some("3900m")
    );

    let service = json!({
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"},
        "spec": {"type": "NodePort", "selector": {"app": "web"}, "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"],
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "nodePort": 30080, "protocol": "TCP"}],
            "sessionAffinity": "None", "ipFamilies": ["IPv4"]}
    });
    check::<pb::core::v1::Service, ko::core::v1::Service>(&service);

    let class = json!({
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "fast"},
        "provisioner": "example.com/fast", "parameters": {"type": "ssd"}, "reclaimPolicy": "Retain",
        "allowVolumeExpansion": true, "mountOptions": ["noatime"], "volumeBindingMode": "WaitForFirstConsumer"
    });
    check::<pb::storage::v1::StorageClass, ko::storage::v1::StorageClass>(&class);

    let role = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "r", "namespace": "default"},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]
    });
    check::<pb::rbac::v1::Role, ko::rbac::v1::Role>(&role);

    let review = json!({
        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "metadata": {},
        "spec": {"token": "abc", "audiences": ["api"]},
        "status": {"authenticated": true, "audiences": ["api"], "user": {
            "username": "alice", "uid": "1", "groups": ["dev"], "extra": {"scopes": ["a", "b"]}
        }}
    });
    let message =
        check::<pb::authentication::v1::TokenReview, ko::authentication::v1::TokenReview>(&review);
    assert_eq!(message.status.user.extra["scopes"].items, ["a", "b"]);
}

#[test]
fn micro_times_keep_their_microseconds() {
    let lease = json!({
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "leader", "namespace": "kube-system"},
        "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15, "leaseTransitions": 2,
            "acquireTime": "2024-01-01T00:00:00.123456Z", "renewTime": "2024-01-01T00:00:05.000001Z"}
    });
    let message = check::<pb::coordination::v1::Lease, ko::coordination::v1::Lease>(&lease);
    let acquire = &message.spec.acquireTime;
    assert_eq!(
        (acquire.seconds, acquire.nanos),
        (Some(1_704_067_200), Some(123_456_000))
    );
    assert_eq!(message.spec.renewTime.nanos, Some(1_000));

    let event = json!({
        "apiVersion": "events.k8s.io/v1", "kind": "Event",
        "metadata": {"name": "e1", "namespace": "default"},
        "eventTime": "2024-01-01T00:00:00.500000Z",
        "reportingController": "example.com/ctl", "reportingInstance": "ctl-1",
        "action": "Scale", "reason": "Scaled", "note": "scaled up", "type": "Normal",
        "regarding": {"kind": "Deployment", "namespace": "default", "name": "web", "apiVersion": "apps/v1"}
    });
    let message = check::<pb::events::v1::Event, ko::events::v1::Event>(&event);
    assert_eq!(message.eventTime.nanos, Some(500_000_000));
}

#[test]
fn the_envelope_is_gos() {
    let body = envelope("v1", "ConfigMap", &[0x0a, 0x00]);
    let mut want = b"k8s\0".to_vec();
    want.extend([0x0a, 15, 0x0a, 2, b'v', b'1', 0x12, 9]);
    want.extend(b"ConfigMap");
    want.extend([0x12, 2, 0x0a, 0x00, 0x1a, 0, 0x22, 0]);
    assert_eq!(body, want);
}

#[test]
fn lists_carry_list_meta_and_items() {
    let items = [
        json!({"metadata": {"name": "a", "namespace": "default"}, "data": {"k": "1"}}),
        json!({"metadata": {"name": "b", "namespace": "default"}}),
    ];
    let meta = json!({"resourceVersion": "42", "continue": "tok", "remainingItemCount": 5});
    let body = encode_list("v1", "ConfigMap", &meta, &items).expect("encodes");
    let unknown = Unknown::parse_from_bytes(&body[4..]).expect("an Unknown");
    assert_eq!(unknown.typeMeta.kind.as_deref(), Some("ConfigMapList"));
    assert_eq!(unknown.typeMeta.apiVersion.as_deref(), Some("v1"));
    let raw = unknown.raw.clone().unwrap_or_default();
    let list = pb::core::v1::ConfigMapList::parse_from_bytes(&raw).expect("a ConfigMapList");
    assert_eq!(list.metadata.resourceVersion.as_deref(), Some("42"));
    assert_eq!(list.metadata.continue_.as_deref(), Some("tok"));
    assert_eq!(list.metadata.remainingItemCount, Some(5));
    let names: Vec<&str> = list.items.iter().map(|i| i.metadata.name()).collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(list.items[0].data["k"], "1");
}

#[test]
fn errors_are_status_messages() {
    let status = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {},
        "status": "Failure", "message": "configmaps \"x\" not found", "reason": "NotFound",
        "details": {"name": "x", "kind": "configmaps", "causes": [{"reason": "FieldValueInvalid", "field": "spec"}]},
        "code": 404
    });
    let body = encode_object(&status).expect("encodes");
    let unknown = Unknown::parse_from_bytes(&body[4..]).expect("an Unknown");
    assert_eq!(unknown.typeMeta.kind.as_deref(), Some("Status"));
    let raw = unknown.raw.clone().unwrap_or_default();
    let message = pb_meta::Status::parse_from_bytes(&raw).expect("a Status");
    assert_eq!(message.code, Some(404));
    assert_eq!(message.reason.as_deref(), Some("NotFound"));
    assert_eq!(message.details.name.as_deref(), Some("x"));
    assert_eq!(message.details.causes[0].field.as_deref(), Some("spec"));
}

#[test]
fn watch_frames_are_length_prefixed_raw_events() {
    let object = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "w"}});
    let body = encode_object(&object).expect("encodes");
    let frame = watch_frame("ADDED", &body);
    let len = u32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]) as usize;
    assert_eq!(len, frame.len() - 4);
    let event = pb_meta::WatchEvent::parse_from_bytes(&frame[4..]).expect("a raw WatchEvent");
    assert_eq!(event.type_.as_deref(), Some("ADDED"));
    let raw = event.object.raw.clone().unwrap_or_default();
    assert_eq!(raw, body.to_vec());
    assert_eq!(
        decode_object(&raw).expect("decodes")["metadata"]["name"],
        "w"
    );
}

#[test]
fn bad_values_are_errors_not_panics() {
    let object = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"k": "%%%"}});
    assert!(encode_object(&object).unwrap_err().contains("data"));
    let object =
        json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}});
    assert!(encode_object(&object).is_err());
    let object = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": 5}});
    assert!(encode_object(&object).is_err());
}

#[test]
fn partial_object_metadata_in_both_versions() {
    use k8s_rs_pb::apimachinery::pkg::apis::meta::v1beta1;
    let one = json!({
        "kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
        "metadata": {"name": "a", "namespace": "default", "labels": {"app": "web"}}
    });
    let body = encode_body(&one).expect("encodes");
    let unknown = Unknown::parse_from_bytes(&body[4..]).expect("an Unknown");
    assert_eq!(
        unknown.typeMeta.kind.as_deref(),
        Some("PartialObjectMetadata")
    );
    let raw = unknown.raw.clone().unwrap_or_default();
    let message = pb_meta::PartialObjectMetadata::parse_from_bytes(&raw).expect("valid");
    assert_eq!(message.metadata.name(), "a");
    assert_eq!(message.metadata.labels["app"], "web");

    let list = |api_version: &str| {
        json!({
            "kind": "PartialObjectMetadataList", "apiVersion": api_version,
            "metadata": {"resourceVersion": "9"},
            "items": [
                {"kind": "PartialObjectMetadata", "apiVersion": api_version, "metadata": {"name": "a"}},
                {"kind": "PartialObjectMetadata", "apiVersion": api_version, "metadata": {"name": "b"}}
            ]
        })
    };
    let body = encode_body(&list("meta.k8s.io/v1")).expect("encodes");
    let unknown = Unknown::parse_from_bytes(&body[4..]).expect("an Unknown");
    let raw = unknown.raw.clone().unwrap_or_default();
    let message = pb_meta::PartialObjectMetadataList::parse_from_bytes(&raw).expect("valid v1");
    assert_eq!(message.metadata.resourceVersion.as_deref(), Some("9"));
    let names: Vec<&str> = message.items.iter().map(|i| i.metadata.name()).collect();
    assert_eq!(names, ["a", "b"]);

    // v1beta1 numbers its list fields the other way round: items = 1, metadata = 2.
    let body = encode_body(&list("meta.k8s.io/v1beta1")).expect("encodes");
    let unknown = Unknown::parse_from_bytes(&body[4..]).expect("an Unknown");
    let raw = unknown.raw.clone().unwrap_or_default();
    let numbers: Vec<u32> = read_tags(&raw)
        .expect("well formed")
        .iter()
        .map(|t| t.number)
        .collect();
    assert_eq!(numbers, [1, 1, 2]);
    let message =
        v1beta1::PartialObjectMetadataList::parse_from_bytes(&raw).expect("valid v1beta1");
    assert_eq!(message.metadata.resourceVersion.as_deref(), Some("9"));
    assert_eq!(message.items.len(), 2);
}

#[test]
fn lists_of_kinds_are_encoded_from_their_json() {
    let list = json!({
        "kind": "ConfigMapList", "apiVersion": "v1",
        "metadata": {"resourceVersion": "3"},
        "items": [{"metadata": {"name": "a"}, "data": {"k": "v"}}]
    });
    let body = encode_body(&list).expect("encodes");
    let unknown = Unknown::parse_from_bytes(&body[4..]).expect("an Unknown");
    assert_eq!(unknown.typeMeta.kind.as_deref(), Some("ConfigMapList"));
    let raw = unknown.raw.clone().unwrap_or_default();
    let message = pb::core::v1::ConfigMapList::parse_from_bytes(&raw).expect("valid");
    assert_eq!(message.items[0].data["k"], "v");
    let custom =
        json!({"kind": "WidgetList", "apiVersion": "example.com/v1", "metadata": {}, "items": []});
    assert!(encode_body(&custom).is_err());
}
