use serde_json::json;

use super::*;

fn fields(definition: &str) -> Vec<&'static str> {
    key_order()
        .fields(definition)
        .unwrap_or_else(|| panic!("no order for {definition}"))
}

fn encode(body: &Value) -> String {
    serde_json::to_string(&ordered(body)).expect("encodes")
}

#[test]
fn kinds_start_with_type_meta_then_the_struct_fields() {
    assert_eq!(
        fields("io.k8s.api.core.v1.Pod"),
        ["kind", "apiVersion", "metadata", "spec", "status"]
    );
    assert_eq!(
        fields("io.k8s.api.core.v1.ConfigMapList"),
        ["kind", "apiVersion", "metadata", "items"]
    );
    assert_eq!(
        fields("io.k8s.apimachinery.pkg.apis.meta.v1.Status"),
        [
            "kind",
            "apiVersion",
            "metadata",
            "status",
            "message",
            "reason",
            "details",
            "code"
        ]
    );
}

#[test]
fn object_meta_follows_the_go_struct() {
    assert_eq!(
        fields("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"),
        [
            "name",
            "generateName",
            "namespace",
            "selfLink",
            "uid",
            "resourceVersion",
            "generation",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "labels",
            "annotations",
            "ownerReferences",
            "finalizers",
            "managedFields",
        ]
    );
    // TypeMeta-like fields of a plain struct keep their own place.
    assert_eq!(
        fields("io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference"),
        [
            "apiVersion",
            "kind",
            "name",
            "uid",
            "controller",
            "blockOwnerDeletion"
        ]
    );
}

#[test]
fn declaration_order_wins_over_field_numbers() {
    // envFrom (19) sits between ports (6) and env (7) in the Go struct.
    assert_eq!(
        fields("io.k8s.api.core.v1.Container")[..9],
        [
            "name",
            "image",
            "command",
            "args",
            "workingDir",
            "ports",
            "envFrom",
            "env",
            "resources"
        ]
    );
}

#[test]
fn embedded_structs_are_inlined() {
    let volume = fields("io.k8s.api.core.v1.Volume");
    assert_eq!(volume[..3], ["name", "hostPath", "emptyDir"]);
    assert!(!volume.contains(&"volumeSource"));
    let probe = fields("io.k8s.api.core.v1.Probe");
    assert_eq!(probe[..4], ["exec", "httpGet", "tcpSocket", "grpc"]);
    assert_eq!(probe[4], "initialDelaySeconds");
    let ephemeral = fields("io.k8s.api.core.v1.EphemeralContainer");
    assert_eq!(ephemeral[..2], ["name", "image"]);
    assert_eq!(ephemeral.last(), Some(&"targetContainerName"));
}

#[test]
fn json_names_that_differ_from_proto_names_are_matched() {
    let schema = fields("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps");
    assert_eq!(
        schema[..5],
        ["id", "$schema", "$ref", "description", "type"]
    );
    assert!(schema.contains(&"x-kubernetes-preserve-unknown-fields"));
}

#[test]
fn every_property_of_a_described_definition_has_a_place() {
    let mut missing = Vec::new();
    for (name, definition) in definitions::definitions() {
        let (Some(order), Some(props)) = (
            key_order().fields(name),
            definition.get("properties").and_then(Value::as_object),
        ) else {
            continue;
        };
        for property in props.keys() {
            if !order.contains(&property.as_str()) {
                missing.push(format!("{name}.{property}"));
            }
        }
    }
    assert!(missing.is_empty(), "{missing:?}");
}

#[test]
fn built_in_objects_are_written_in_go_order_and_maps_sorted() {
    let cm = json!({
        "apiVersion": "v1",
        "data": {"b": "2", "a": "1"},
        "kind": "ConfigMap",
        "metadata": {"uid": "u", "name": "cfg", "namespace": "default", "labels": {"z": "1", "a": "2"}},
    });
    assert_eq!(
        encode(&cm),
        r#"{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"cfg","namespace":"default","uid":"u","labels":{"a":"2","z":"1"}},"data":{"a":"1","b":"2"}}"#
    );
    let list = json!({
        "apiVersion": "v1", "items": [{"metadata": {"uid": "u", "name": "a"}, "data": {}}],
        "kind": "ConfigMapList", "metadata": {"resourceVersion": "5"},
    });
    assert_eq!(
        encode(&list),
        r#"{"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":"5"},"items":[{"metadata":{"name":"a","uid":"u"},"data":{}}]}"#
    );
}

#[test]
fn custom_resources_and_unknown_keys_stay_sorted() {
    let cr = json!({"kind": "Foo", "apiVersion": "example.com/v1", "spec": {"b": 1, "a": 2}, "metadata": {"uid": "u", "name": "x"}});
    assert_eq!(
        encode(&cr),
        r#"{"apiVersion":"example.com/v1","kind":"Foo","metadata":{"name":"x","uid":"u"},"spec":{"a":2,"b":1}}"#
    );
    let odd = json!({"kind": "ConfigMap", "apiVersion": "v1", "zz": 1, "aa": 2, "data": {}});
    assert_eq!(
        encode(&odd),
        r#"{"kind":"ConfigMap","apiVersion":"v1","data":{},"aa":2,"zz":1}"#
    );
}

#[test]
fn status_tables_and_schemas_follow_their_structs() {
    let status = json!({
        "apiVersion": "v1", "code": 409, "details": {"kind": "configmaps", "name": "cfg"},
        "kind": "Status", "message": "m", "metadata": {}, "reason": "AlreadyExists", "status": "Failure",
    });
    assert_eq!(
        encode(&status),
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"m","reason":"AlreadyExists","details":{"name":"cfg","kind":"configmaps"},"code":409}"#
    );
    let crd_schema = json!({"kind": "CustomResourceDefinition", "apiVersion": "apiextensions.k8s.io/v1",
        "spec": {"versions": [{"schema": {"openAPIV3Schema": {"type": "object", "properties": {"b": {"type": "string", "description": "d"}},
            "items": {"type": "integer", "description": "i"}, "additionalProperties": true}}, "name": "v1"}]}});
    assert_eq!(
        encode(&crd_schema),
        r#"{"kind":"CustomResourceDefinition","apiVersion":"apiextensions.k8s.io/v1","spec":{"versions":[{"name":"v1","schema":{"openAPIV3Schema":{"type":"object","items":{"description":"i","type":"integer"},"properties":{"b":{"description":"d","type":"string"}},"additionalProperties":true}}}]}}"#
    );
}

/// Encode cost of a list of 500 pods, sorted (before) vs Go order (after): `cargo test --lib
/// key_order::tests::encode_cost -- --ignored --nocapture` (a release build for real numbers).
#[test]
#[ignore]
fn encode_cost() {
    let items: Vec<Value> = (0..500)
        .map(|i| {
            json!({
                "metadata": {
                    "name": format!("pod-{i}"), "namespace": "default",
                    "uid": "6c2b2f3e-4d3c-4b7a-9a53-1f0e8c1d2a3b", "resourceVersion": format!("{}", 1000 + i),
                    "creationTimestamp": "2026-12-07T05:00:00Z", "labels": {"app": "bench", "tier": "x"},
                    "managedFields": [{"manager": "kubectl-create", "operation": "Update", "apiVersion": "v1",
                        "time": "2026-12-07T05:00:00Z", "fieldsType": "FieldsV1",
                        "fieldsV1": {"f:spec": {"f:containers": {"k:{\"name\":\"c\"}": {".": {}, "f:image": {}, "f:name": {}}}}}}],
                },
                "spec": {
                    "containers": [{"name": "c", "image": "nginx:1.27", "ports": [{"containerPort": 80, "protocol": "TCP"}],
                        "env": [{"name": "A", "value": "1"}], "resources": {"requests": {"cpu": "100m"}},
                        "volumeMounts": [{"name": "kube-api-access", "mountPath": "/var/run/secrets", "readOnly": true}],
                        "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
                        "imagePullPolicy": "IfNotPresent"}],
                    "volumes": [{"name": "kube-api-access", "projected": {"defaultMode": 420,
                        "sources": [{"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}}]}}],
                    "restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
                    "serviceAccountName": "default", "schedulerName": "default-scheduler", "priority": 0,
                    "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}],
                    "enableServiceLinks": true, "preemptionPolicy": "PreemptLowerPriority",
                },
                "status": {"phase": "Pending", "qosClass": "Burstable"},
            })
        })
        .collect();
    let list = json!({"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "1"}, "items": items});
    let _ = key_order();
    let rounds = 50;
    let time = |f: &dyn Fn() -> usize| {
        let start = std::time::Instant::now();
        let mut bytes = 0;
        for _ in 0..rounds {
            bytes = f();
        }
        (start.elapsed() / rounds, bytes)
    };
    let (sorted, sorted_bytes) = time(&|| serde_json::to_vec(&list).expect("encodes").len());
    let (ordered_time, ordered_bytes) =
        time(&|| serde_json::to_vec(&ordered(&list)).expect("encodes").len());
    assert_eq!(sorted_bytes, ordered_bytes);
    println!("500 pods ({sorted_bytes} bytes): sorted {sorted:?}, Go order {ordered_time:?}");
}

/// Tables (no protobuf form, `+protobuf=false`) follow the structs of `table_types`.
#[test]
fn tables_follow_their_structs() {
    let table = json!({
        "apiVersion": "meta.k8s.io/v1", "kind": "Table", "metadata": {"resourceVersion": "1"},
        "columnDefinitions": [{"type": "string", "name": "Name", "priority": 0, "format": "name", "description": "d"}],
        "rows": [{"object": {"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata", "metadata": {"uid": "u", "name": "a"}}, "cells": ["a"]}],
    });
    assert_eq!(
        encode(&table),
        r#"{"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":{"resourceVersion":"1"},"columnDefinitions":[{"name":"Name","type":"string","format":"name","description":"d","priority":0}],"rows":[{"cells":["a"],"object":{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{"name":"a","uid":"u"}}}]}"#
    );
}
