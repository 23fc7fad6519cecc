//! Strategic merge patch behaviour, case by case, from upstream's documented semantics
//! (`api-conventions.md` "Strategic Merge Patch", the `preserve-order-in-strategic-merge-patch`
//! design, the kubectl patch tutorial) and from patches that `kubectl apply/edit/label/annotate`
//! send.

use serde_json::{json, Value};

use super::*;

/// A kind: `(group, version, kind)`.
type Gvk = (&'static str, &'static str, &'static str);

/// `(name, kind, original, patch, expected)`.
type Case = (&'static str, Gvk, Value, Value, Value);

/// `(name, kind, original, patch, expected error)`.
type ErrorCase = (&'static str, Gvk, Value, Value, PatchError);

const POD: Gvk = ("", "v1", "Pod");
const DEPLOYMENT: Gvk = ("apps", "v1", "Deployment");
const SERVICE: Gvk = ("", "v1", "Service");
const CONFIG_MAP: Gvk = ("", "v1", "ConfigMap");
const NODE: Gvk = ("", "v1", "Node");
const PDB: Gvk = ("policy", "v1", "PodDisruptionBudget");
const WIDGET: Gvk = ("example.com", "v1", "Widget");

fn pod(containers: Value) -> Value {
    json!({ "apiVersion": "v1", "kind": "Pod", "metadata": { "name": "p" }, "spec": { "containers": containers } })
}

fn deployment(pod_spec: Value) -> Value {
    json!({ "spec": { "replicas": 1, "template": { "metadata": { "labels": { "app": "x" } }, "spec": pod_spec } } })
}

fn success_cases() -> Vec<Case> {
    vec![
        (
            "kubectl label adds and changes labels",
            CONFIG_MAP,
            json!({ "metadata": { "name": "c", "labels": { "a": "1", "b": "2" } }, "data": { "k": "v" } }),
            json!({ "metadata": { "labels": { "b": "3", "c": "4" } } }),
            json!({ "metadata": { "name": "c", "labels": { "a": "1", "b": "3", "c": "4" } }, "data": { "k": "v" } }),
        ),
        (
            "kubectl label key- deletes with null",
            CONFIG_MAP,
            json!({ "metadata": { "labels": { "a": "1", "b": "2" } } }),
            json!({ "metadata": { "labels": { "a": null } } }),
            json!({ "metadata": { "labels": { "b": "2" } } }),
        ),
        (
            "kubectl annotate adds an annotation map",
            CONFIG_MAP,
            json!({ "metadata": { "name": "c" } }),
            json!({ "metadata": { "annotations": { "note": "hi" } } }),
            json!({ "metadata": { "name": "c", "annotations": { "note": "hi" } } }),
        ),
        (
            "null for an absent key is ignored",
            CONFIG_MAP,
            json!({ "data": { "k": "v" } }),
            json!({ "data": { "missing": null }, "binaryData": null }),
            json!({ "data": { "k": "v" } }),
        ),
        (
            "a value of another type replaces",
            CONFIG_MAP,
            json!({ "data": { "k": "v" } }),
            json!({ "data": "oops" }),
            json!({ "data": "oops" }),
        ),
        (
            "containers merge by name",
            POD,
            pod(json!([{ "name": "a", "image": "a:1" }, { "name": "b", "image": "b:1" }])),
            json!({ "spec": { "containers": [{ "name": "b", "image": "b:2" }] } }),
            pod(json!([{ "name": "a", "image": "a:1" }, { "name": "b", "image": "b:2" }])),
        ),
        (
            "a new container goes first without $setElementOrder",
            POD,
            pod(json!([{ "name": "a", "image": "a:1" }])),
            json!({ "spec": { "containers": [{ "name": "z", "image": "z:1" }] } }),
            pod(json!([{ "name": "z", "image": "z:1" }, { "name": "a", "image": "a:1" }])),
        ),
        (
            "$setElementOrder places a new container",
            POD,
            pod(json!([{ "name": "a", "image": "a:1" }, { "name": "b", "image": "b:1" }])),
            json!({ "spec": {
                "$setElementOrder/containers": [{ "name": "a" }, { "name": "z" }, { "name": "b" }],
                "containers": [{ "name": "z", "image": "z:1" }]
            } }),
            pod(
                json!([{ "name": "a", "image": "a:1" }, { "name": "z", "image": "z:1" }, { "name": "b", "image": "b:1" }]),
            ),
        ),
        (
            "$setElementOrder alone reorders",
            POD,
            pod(json!([{ "name": "a" }, { "name": "b" }, { "name": "c" }])),
            json!({ "spec": { "$setElementOrder/containers": [{ "name": "c" }, { "name": "b" }, { "name": "a" }] } }),
            pod(json!([{ "name": "c" }, { "name": "b" }, { "name": "a" }])),
        ),
        (
            "$patch: delete removes a container",
            POD,
            pod(json!([{ "name": "a" }, { "name": "b" }])),
            json!({ "spec": { "containers": [{ "name": "a", "$patch": "delete" }] } }),
            pod(json!([{ "name": "b" }])),
        ),
        (
            "$patch: replace in a list replaces the list",
            POD,
            pod(json!([{ "name": "a", "image": "a:1" }, { "name": "b" }])),
            json!({ "spec": { "containers": [{ "name": "c", "image": "c:1" }, { "$patch": "replace" }] } }),
            pod(json!([{ "name": "c", "image": "c:1" }])),
        ),
        (
            "env merges by name inside a container",
            POD,
            pod(
                json!([{ "name": "a", "env": [{ "name": "X", "value": "1" }, { "name": "Y", "value": "2" }] }]),
            ),
            json!({ "spec": { "containers": [{ "name": "a", "env": [{ "name": "Y", "value": "3" }] }] } }),
            pod(
                json!([{ "name": "a", "env": [{ "name": "X", "value": "1" }, { "name": "Y", "value": "3" }] }]),
            ),
        ),
        (
            "kubectl apply removes an env entry dropped from the manifest",
            DEPLOYMENT,
            deployment(json!({ "containers": [{ "name": "app", "image": "app:1",
                "env": [{ "name": "A", "value": "1" }, { "name": "B", "value": "2" }] }] })),
            json!({ "spec": { "template": { "spec": {
                "$setElementOrder/containers": [{ "name": "app" }],
                "containers": [{ "name": "app",
                    "$setElementOrder/env": [{ "name": "A" }],
                    "env": [{ "name": "B", "$patch": "delete" }] }]
            } } } }),
            deployment(
                json!({ "containers": [{ "name": "app", "image": "app:1", "env": [{ "name": "A", "value": "1" }] }] }),
            ),
        ),
        (
            "kubectl apply removes a field with null",
            DEPLOYMENT,
            deployment(
                json!({ "containers": [{ "name": "app", "image": "app:1", "imagePullPolicy": "Always" }] }),
            ),
            json!({ "spec": { "template": { "spec": {
                "$setElementOrder/containers": [{ "name": "app" }],
                "containers": [{ "name": "app", "imagePullPolicy": null }]
            } } } }),
            deployment(json!({ "containers": [{ "name": "app", "image": "app:1" }] })),
        ),
        (
            "container ports merge by containerPort",
            POD,
            pod(
                json!([{ "name": "a", "ports": [{ "containerPort": 80, "name": "http" }, { "containerPort": 443 }] }]),
            ),
            json!({ "spec": { "containers": [{ "name": "a", "ports": [{ "containerPort": 80, "protocol": "TCP" }] }] } }),
            pod(
                json!([{ "name": "a", "ports": [{ "containerPort": 80, "name": "http", "protocol": "TCP" }, { "containerPort": 443 }] }]),
            ),
        ),
        (
            "volumeMounts merge by mountPath",
            POD,
            pod(json!([{ "name": "a", "volumeMounts": [{ "mountPath": "/a", "name": "v1" }] }])),
            json!({ "spec": { "containers": [{ "name": "a", "volumeMounts": [{ "mountPath": "/a", "readOnly": true }] }] } }),
            pod(
                json!([{ "name": "a", "volumeMounts": [{ "mountPath": "/a", "name": "v1", "readOnly": true }] }]),
            ),
        ),
        (
            "service ports merge by port",
            SERVICE,
            json!({ "spec": { "ports": [{ "port": 80, "targetPort": 8080 }, { "port": 443, "targetPort": 8443 }] } }),
            json!({ "spec": { "ports": [{ "port": 80, "targetPort": 9090 }] } }),
            json!({ "spec": { "ports": [{ "port": 80, "targetPort": 9090 }, { "port": 443, "targetPort": 8443 }] } }),
        ),
        (
            "$retainKeys drops rollingUpdate on a switch to Recreate",
            DEPLOYMENT,
            json!({ "spec": { "strategy": { "type": "RollingUpdate", "rollingUpdate": { "maxSurge": "25%" } } } }),
            json!({ "spec": { "strategy": { "$retainKeys": ["type"], "type": "Recreate" } } }),
            json!({ "spec": { "strategy": { "type": "Recreate" } } }),
        ),
        (
            "without $retainKeys the strategy map merges",
            DEPLOYMENT,
            json!({ "spec": { "strategy": { "type": "RollingUpdate", "rollingUpdate": { "maxSurge": "25%" } } } }),
            json!({ "spec": { "strategy": { "type": "Recreate" } } }),
            json!({ "spec": { "strategy": { "type": "Recreate", "rollingUpdate": { "maxSurge": "25%" } } } }),
        ),
        (
            "volumes merge by name and honour $retainKeys",
            POD,
            json!({ "spec": { "volumes": [{ "name": "v", "emptyDir": {} }, { "name": "w", "emptyDir": {} }] } }),
            json!({ "spec": { "volumes": [{ "$retainKeys": ["configMap", "name"], "name": "v", "configMap": { "name": "cm" } }] } }),
            json!({ "spec": { "volumes": [{ "name": "v", "configMap": { "name": "cm" } }, { "name": "w", "emptyDir": {} }] } }),
        ),
        (
            "finalizers union as a set, new values first",
            CONFIG_MAP,
            json!({ "metadata": { "finalizers": ["a", "b"] } }),
            json!({ "metadata": { "finalizers": ["c", "a"] } }),
            json!({ "metadata": { "finalizers": ["c", "a", "b"] } }),
        ),
        (
            "$deleteFromPrimitiveList removes finalizers",
            CONFIG_MAP,
            json!({ "metadata": { "finalizers": ["a", "b", "c"] } }),
            json!({ "metadata": { "$deleteFromPrimitiveList/finalizers": ["b"] } }),
            json!({ "metadata": { "finalizers": ["a", "c"] } }),
        ),
        (
            "$setElementOrder orders a primitive list with deletions",
            CONFIG_MAP,
            json!({ "metadata": { "finalizers": ["a", "b", "c"] } }),
            json!({ "metadata": {
                "$setElementOrder/finalizers": ["c", "a", "d"],
                "$deleteFromPrimitiveList/finalizers": ["b"],
                "finalizers": ["d"]
            } }),
            json!({ "metadata": { "finalizers": ["c", "a", "d"] } }),
        ),
        (
            "ownerReferences merge by uid",
            CONFIG_MAP,
            json!({ "metadata": { "ownerReferences": [{ "uid": "1", "name": "x" }] } }),
            json!({ "metadata": { "ownerReferences": [{ "uid": "1", "controller": true }] } }),
            json!({ "metadata": { "ownerReferences": [{ "uid": "1", "name": "x", "controller": true }] } }),
        ),
        (
            "tolerations are atomic and replaced",
            POD,
            json!({ "spec": { "tolerations": [{ "key": "a" }, { "key": "b" }] } }),
            json!({ "spec": { "tolerations": [{ "key": "c" }] } }),
            json!({ "spec": { "tolerations": [{ "key": "c" }] } }),
        ),
        (
            "container args are replaced",
            POD,
            pod(json!([{ "name": "a", "args": ["x", "y"] }])),
            json!({ "spec": { "containers": [{ "name": "a", "args": ["z"] }] } }),
            pod(json!([{ "name": "a", "args": ["z"] }])),
        ),
        (
            "$patch: replace on a map replaces it",
            CONFIG_MAP,
            json!({ "data": { "a": "1", "b": "2" } }),
            json!({ "data": { "$patch": "replace", "c": "3" } }),
            json!({ "data": { "c": "3" } }),
        ),
        (
            "$patch: delete on a map empties it",
            CONFIG_MAP,
            json!({ "data": { "a": "1" }, "metadata": { "name": "c" } }),
            json!({ "data": { "$patch": "delete" } }),
            json!({ "data": {}, "metadata": { "name": "c" } }),
        ),
        (
            "patchStrategy replace on PDB selector",
            PDB,
            json!({ "spec": { "selector": { "matchLabels": { "a": "1" } } } }),
            json!({ "spec": { "selector": { "matchLabels": { "b": "2" } } } }),
            json!({ "spec": { "selector": { "matchLabels": { "b": "2" } } } }),
        ),
        (
            "node addresses merge by type",
            NODE,
            json!({ "status": { "addresses": [{ "type": "InternalIP", "address": "10.0.0.1" }, { "type": "Hostname", "address": "n" }] } }),
            json!({ "status": { "addresses": [{ "type": "InternalIP", "address": "10.0.0.2" }] } }),
            json!({ "status": { "addresses": [{ "type": "InternalIP", "address": "10.0.0.2" }, { "type": "Hostname", "address": "n" }] } }),
        ),
        (
            "status conditions merge by type",
            POD,
            json!({ "status": { "conditions": [{ "type": "Ready", "status": "False" }, { "type": "Initialized", "status": "True" }] } }),
            json!({ "status": { "conditions": [{ "type": "Ready", "status": "True" }] } }),
            json!({ "status": { "conditions": [{ "type": "Ready", "status": "True" }, { "type": "Initialized", "status": "True" }] } }),
        ),
        (
            "nested pod template in a Deployment merges containers and keeps the rest",
            DEPLOYMENT,
            deployment(
                json!({ "containers": [{ "name": "app", "image": "app:1" }, { "name": "side", "image": "s:1" }], "restartPolicy": "Always" }),
            ),
            json!({ "spec": { "replicas": 3, "template": { "spec": { "containers": [{ "name": "app", "image": "app:2" }] } } } }),
            json!({ "spec": { "replicas": 3, "template": { "metadata": { "labels": { "app": "x" } }, "spec": {
                "containers": [{ "name": "app", "image": "app:2" }, { "name": "side", "image": "s:1" }], "restartPolicy": "Always" } } } }),
        ),
        (
            "a list the original lacks is taken from the patch",
            POD,
            pod(json!([{ "name": "a" }])),
            json!({ "spec": { "initContainers": [{ "name": "init" }] } }),
            json!({ "apiVersion": "v1", "kind": "Pod", "metadata": { "name": "p" },
                "spec": { "containers": [{ "name": "a" }], "initContainers": [{ "name": "init" }] } }),
        ),
        (
            "unknown kinds patch like a JSON merge patch",
            WIDGET,
            json!({ "spec": { "items": [{ "name": "a" }], "size": 1, "keep": true } }),
            json!({ "spec": { "items": [{ "name": "b" }], "size": null } }),
            json!({ "spec": { "items": [{ "name": "b" }], "keep": true } }),
        ),
        (
            "a null patch changes nothing",
            CONFIG_MAP,
            json!({ "data": { "a": "1" } }),
            Value::Null,
            json!({ "data": { "a": "1" } }),
        ),
    ]
}

#[test]
fn strategic_merge_patch_table() {
    let cases = success_cases();
    assert!(cases.len() >= 30, "the table should keep at least 30 cases");
    for (name, (group, version, kind), original, patch, expected) in cases {
        match apply(&original, &patch, group, version, kind) {
            Ok(actual) => assert_eq!(actual, expected, "case: {name}"),
            Err(error) => panic!("case {name}: unexpected error {error}"),
        }
    }
}

#[test]
fn malformed_patches_fail_like_upstream() {
    let cases: Vec<ErrorCase> = vec![
        (
            "patch key outside $retainKeys",
            DEPLOYMENT,
            json!({ "spec": { "strategy": { "type": "RollingUpdate" } } }),
            json!({ "spec": { "strategy": { "$retainKeys": ["type"], "type": "Recreate", "rollingUpdate": {} } } }),
            PatchError::BadRequest("invalid patch format of retainKeys".into()),
        ),
        (
            "$retainKeys not a list",
            DEPLOYMENT,
            json!({ "spec": { "strategy": {} } }),
            json!({ "spec": { "strategy": { "$retainKeys": "type" } } }),
            PatchError::BadRequest("invalid patch format of retainKeys".into()),
        ),
        (
            "list item without its merge key",
            POD,
            pod(json!([{ "name": "a" }])),
            json!({ "spec": { "containers": [{ "image": "x" }] } }),
            PatchError::Internal("map: map[image:x] does not contain declared merge key: name".into()),
        ),
        (
            "unknown $patch value in a map",
            CONFIG_MAP,
            json!({ "data": { "a": "1" } }),
            json!({ "data": { "$patch": "frobnicate" } }),
            PatchError::Internal("unknown patch type: frobnicate in map: map[$patch:frobnicate]".into()),
        ),
        (
            "$patch: merge in a list",
            POD,
            pod(json!([{ "name": "a" }])),
            json!({ "spec": { "containers": [{ "name": "a", "$patch": "merge" }] } }),
            PatchError::Internal("merging lists cannot yet be specified in the patch".into()),
        ),
        (
            "lists of lists",
            CONFIG_MAP,
            json!({ "metadata": { "finalizers": [] } }),
            json!({ "metadata": { "finalizers": [["b"]] } }),
            PatchError::Unprocessable("lists of lists are not supported".into()),
        ),
        (
            "a patch that is not an object",
            CONFIG_MAP,
            json!({}),
            json!([1]),
            PatchError::BadRequest("json: cannot unmarshal array into Go value of type map[string]interface {}".into()),
        ),
        (
            "a malformed $deleteFromPrimitiveList key",
            CONFIG_MAP,
            json!({ "metadata": {} }),
            json!({ "metadata": { "$deleteFromPrimitiveListfinalizers": ["a"] } }),
            PatchError::BadRequest("invalid patch format of primitive list".into()),
        ),
        (
            "a patch list out of $setElementOrder's order",
            POD,
            pod(json!([{ "name": "a" }, { "name": "b" }])),
            json!({ "spec": { "$setElementOrder/containers": [{ "name": "a" }, { "name": "b" }],
                "containers": [{ "name": "b" }, { "name": "a" }] } }),
            PatchError::Internal(
                "The order in patch list:\n[map[name:b] map[name:a]]\n doesn't match $setElementOrder list:\n[map[name:a] map[name:b]]\n"
                    .into(),
            ),
        ),
    ];
    for (name, (group, version, kind), original, patch, expected) in cases {
        assert_eq!(
            apply(&original, &patch, group, version, kind),
            Err(expected),
            "case: {name}"
        );
    }
}

#[test]
fn errors_map_to_upstream_statuses() {
    let bad: ApiError = PatchError::BadRequest("invalid patch format of retainKeys".into()).into();
    assert_eq!(
        (bad.status.code, bad.status.reason.as_str()),
        (400, "BadRequest")
    );
    let invalid: ApiError = PatchError::Unprocessable(NO_LIST_OF_LISTS.into()).into();
    assert_eq!(
        (invalid.status.code, invalid.status.reason.as_str()),
        (422, "Invalid")
    );
    let causes = invalid
        .status
        .details
        .map(|details| details.causes)
        .unwrap_or_default();
    assert_eq!(
        causes.first().map(|cause| cause.message.as_str()),
        Some(NO_LIST_OF_LISTS)
    );
    let internal: ApiError = PatchError::Internal("boom".into()).into();
    assert_eq!(
        (internal.status.code, internal.status.message.as_str()),
        (500, "boom")
    );
}

#[test]
fn inputs_are_not_mutated() {
    let original = pod(json!([{ "name": "a", "image": "a:1" }]));
    let patch = json!({ "spec": { "containers": [{ "name": "a", "image": "a:2" }] } });
    let (original_before, patch_before) = (original.clone(), patch.clone());
    let result = apply(&original, &patch, "", "v1", "Pod").expect("patch applies");
    assert_eq!(result["spec"]["containers"][0]["image"], "a:2");
    assert_eq!((original, patch), (original_before, patch_before));
}
