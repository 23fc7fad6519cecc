use serde_json::json;

use super::default_tolerations::default_tolerations;
use super::service_account::{mount_token, should_automount, TOKEN_VOLUME_PREFIX};

#[test]
fn every_container_mounts_one_token_volume() {
    let mut pod = json!({"spec": {
        "initContainers": [{"name": "i"}],
        "containers": [
            {"name": "a"},
            {"name": "b", "volumeMounts": [{"name": "own", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}]},
        ],
    }});
    let spec = pod["spec"].as_object_mut().unwrap();
    mount_token(spec);
    let volumes = pod["spec"]["volumes"].as_array().unwrap();
    assert_eq!(volumes.len(), 1);
    let name = volumes[0]["name"].as_str().unwrap();
    assert!(name.starts_with(TOKEN_VOLUME_PREFIX) && name.len() == TOKEN_VOLUME_PREFIX.len() + 5);
    assert_eq!(
        volumes[0]["projected"],
        json!({"defaultMode": 420, "sources": [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {"configMap": {"items": [{"key": "ca.crt", "path": "ca.crt"}], "name": "kube-root-ca.crt"}},
            {"downwardAPI": {"items": [{"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}, "path": "namespace"}]}},
        ]})
    );
    let mount = json!([{"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "name": name, "readOnly": true}]);
    assert_eq!(pod["spec"]["initContainers"][0]["volumeMounts"], mount);
    assert_eq!(pod["spec"]["containers"][0]["volumeMounts"], mount);
    assert_eq!(
        pod["spec"]["containers"][1]["volumeMounts"][0]["name"], "own",
        "an existing mount at the path is kept"
    );
    assert_eq!(
        pod["spec"]["containers"][1]["volumeMounts"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn automount_preference_pod_then_account() {
    let spec = |v: serde_json::Value| v.as_object().unwrap().clone();
    assert!(should_automount(&json!({}), &spec(json!({}))));
    assert!(!should_automount(
        &json!({"automountServiceAccountToken": false}),
        &spec(json!({}))
    ));
    assert!(should_automount(
        &json!({"automountServiceAccountToken": false}),
        &spec(json!({"automountServiceAccountToken": true}))
    ));
}

#[test]
fn default_tolerations_unless_tolerated() {
    let mut pod = json!({"spec": {"tolerations": [{"key": "node.kubernetes.io/unreachable", "operator": "Exists"}]}});
    default_tolerations(&mut pod);
    assert_eq!(
        pod["spec"]["tolerations"],
        json!([
            {"key": "node.kubernetes.io/unreachable", "operator": "Exists"},
            {"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists", "tolerationSeconds": 300},
        ])
    );
    let mut all = json!({"spec": {"tolerations": [{"operator": "Exists"}]}});
    default_tolerations(&mut all);
    assert_eq!(all["spec"]["tolerations"].as_array().unwrap().len(), 1);
}
