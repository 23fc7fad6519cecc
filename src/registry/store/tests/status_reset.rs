//! What a write of `/status` keeps from the stored object (each type's status strategy), and the
//! metadata an update may not change (`ValidateObjectMetaAccessorUpdate`).

use serde_json::{json, Value};

use super::{configmap, configmaps, deployments, namespaces, Fixture};
use crate::registry::options::WriteOptions;

fn status() -> WriteOptions {
    WriteOptions {
        subresource: Some("status".into()),
        ..Default::default()
    }
}

fn deployment() -> Value {
    json!({"metadata": {"name": "d", "labels": {"a": "1"}, "annotations": {"x": "1"}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "a"}},
        "template": {"metadata": {"labels": {"app": "a"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}})
}

#[tokio::test]
async fn namespace_status_write_keeps_the_requested_labels() {
    let fx = Fixture::new().await;
    let store = fx.store(namespaces());
    let created = store
        .create(
            None,
            json!({"metadata": {"name": "n"}}),
            &Default::default(),
        )
        .await
        .unwrap();
    let mut body = created.clone();
    body["metadata"]["labels"] = json!({"status": "patched"});
    body["spec"] = json!({"finalizers": []});
    body["status"]["conditions"] = json!([{"type": "StatusUpdate", "status": "True"}]);
    let (after, _) = store.update(None, "n", body, &status()).await.unwrap();
    assert_eq!(after["metadata"]["labels"], json!({"status": "patched"}));
    assert_eq!(after["spec"], created["spec"], "spec is reset");
    assert_eq!(after["status"]["conditions"][0]["type"], "StatusUpdate");
    assert_eq!(after["metadata"]["uid"], created["metadata"]["uid"]);
}

#[tokio::test]
async fn deployment_status_write_resets_spec_and_labels_only() {
    let fx = Fixture::new().await;
    let store = fx.store(deployments());
    let created = store
        .create(Some("ns"), deployment(), &Default::default())
        .await
        .unwrap();
    let mut body = created.clone();
    body["metadata"]["labels"] = json!({"a": "2"});
    body["metadata"]["annotations"] = json!({"x": "2"});
    body["spec"]["replicas"] = json!(5);
    body["status"] = json!({"replicas": 4});
    let (after, _) = store
        .update(Some("ns"), "d", body, &status())
        .await
        .unwrap();
    assert_eq!(after["metadata"]["labels"], json!({"a": "1"}));
    assert_eq!(after["metadata"]["annotations"], json!({"x": "2"}));
    assert_eq!(after["spec"]["replicas"], 1);
    assert_eq!(after["status"]["replicas"], 4);
    assert_eq!(after["metadata"]["generation"], 1);
}

#[tokio::test]
async fn update_refuses_a_changed_uid_and_new_deletion_fields() {
    let fx = Fixture::new().await;
    let store = fx.store(configmaps());
    let created = store
        .create(Some("ns"), configmap("c", json!({})), &Default::default())
        .await
        .unwrap();
    let uid = created["metadata"]["uid"].as_str().unwrap().to_string();

    // A PUT's uid is a precondition (upstream's 409 from storage).
    let mut body = created.clone();
    body["metadata"]["uid"] = json!("forged");
    let err = store
        .update(Some("ns"), "c", body, &Default::default())
        .await
        .unwrap_err();
    assert_eq!(err.status.code, 409);
    assert_eq!(
        err.status.message,
        format!(
            "Operation cannot be fulfilled on configmaps \"c\": StorageError: invalid object, \
             Code: 4, Key: /registry/configmaps/ns/c, ResourceVersion: 0, AdditionalErrorMsg: \
             Precondition failed: UID in precondition: forged, UID in object meta: {uid}"
        )
    );

    // A read-modify-write (every kind of patch) that changes it: 422, field is immutable.
    let err = store
        .guaranteed_update(Some("ns"), "c", &Default::default(), |current| {
            let mut next = current.clone();
            next["metadata"]["uid"] = json!("forged");
            Ok(next)
        })
        .await
        .unwrap_err();
    assert_eq!(err.status.code, 422);
    assert_eq!(
        err.status.message,
        "ConfigMap \"c\" is invalid: metadata.uid: Invalid value: \"forged\": field is immutable"
    );
    assert_eq!(err.status.details.unwrap().causes[0].field, "metadata.uid");

    // No uid: the stored one; a creation timestamp never changes.
    let mut body = created.clone();
    body["metadata"].as_object_mut().unwrap().remove("uid");
    body["metadata"]["creationTimestamp"] = json!("2001-01-01T00:00:00Z");
    body["data"] = json!({"k": "w"});
    let (after, _) = store
        .update(Some("ns"), "c", body, &Default::default())
        .await
        .unwrap();
    assert_eq!(after["metadata"]["uid"], json!(uid));
    assert_eq!(
        after["metadata"]["creationTimestamp"],
        created["metadata"]["creationTimestamp"]
    );

    let mut body = after.clone();
    body["metadata"]["deletionTimestamp"] = json!("2030-01-02T03:04:05Z");
    body["metadata"]["deletionGracePeriodSeconds"] = json!(30);
    let err = store
        .update(Some("ns"), "c", body, &Default::default())
        .await
        .unwrap_err();
    assert_eq!(
        err.status.message,
        "ConfigMap \"c\" is invalid: [metadata.deletionTimestamp: Invalid value: 2030-01-02 03:04:05 +0000 UTC: field is immutable, metadata.deletionGracePeriodSeconds: Invalid value: 30: field is immutable]"
    );
}

#[tokio::test]
async fn priority_class_value_is_immutable() {
    let storage = crate::registry::test_support::memory_storage();
    let store = crate::registry::test_support::builtin_store(
        &storage,
        ("scheduling.k8s.io", "v1", "priorityclasses"),
    );
    let created = store
        .create(
            None,
            json!({"metadata": {"name": "p"}, "value": 10}),
            &Default::default(),
        )
        .await
        .unwrap();
    let mut body = created.clone();
    body["value"] = json!(11);
    let err = store
        .update(None, "p", body, &Default::default())
        .await
        .unwrap_err();
    assert_eq!(err.status.code, 422);
    assert_eq!(
        err.status.message,
        "PriorityClass.scheduling.k8s.io \"p\" is invalid: value: Forbidden: may not be changed in an update."
    );
    let err = store
        .create(
            None,
            json!({"metadata": {"name": "big"}, "value": 1_000_000_001}),
            &Default::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.status.message,
        "PriorityClass.scheduling.k8s.io \"big\" is invalid: value: Forbidden: maximum allowed value of a user defined priority is 1000000000"
    );
}

#[tokio::test]
async fn ip_address_names_are_canonical_ips() {
    let storage = crate::registry::test_support::memory_storage();
    let store = crate::registry::test_support::builtin_store(
        &storage,
        ("networking.k8s.io", "v1", "ipaddresses"),
    );
    let body = |name: &str| json!({"metadata": {"name": name}, "spec": {"parentRef": {"resource": "services", "name": "s", "namespace": "default"}}});
    for name in ["2001:db8::1", "192.168.1.5"] {
        store
            .create(None, body(name), &Default::default())
            .await
            .unwrap_or_else(|e| panic!("{name}: {}", e.status.message));
    }
    for (name, detail) in [
        (
            "my-ip",
            "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
        ),
        (
            "2001:db8:0::1",
            "must be in canonical form (\"2001:db8::1\")",
        ),
        ("010.1.1.1", "must not have leading 0s"),
    ] {
        let err = store
            .create(None, body(name), &Default::default())
            .await
            .unwrap_err();
        assert_eq!(
            err.status.message,
            format!("IPAddress.networking.k8s.io \"{name}\" is invalid: metadata.name: Invalid value: \"{name}\": {detail}")
        );
    }
}

#[test]
fn pod_sysctl_names_follow_upstream() {
    let pod = |names: &[&str]| {
        let sysctls: Vec<Value> = names
            .iter()
            .map(|n| json!({"name": n, "value": "1"}))
            .collect();
        json!({"metadata": {"name": "p"}, "spec": {"restartPolicy": "Always",
            "containers": [{"name": "c", "image": "i", "imagePullPolicy": "Always",
                "terminationMessagePolicy": "File"}],
            "securityContext": {"sysctls": sysctls}}})
    };
    let errs = crate::registry::validation::pod_spec::validate_pod(&pod(&[
        "kernel.shm_rmid_forced",
        "net/ipv4/ip_forward",
        "foo-",
        "bar..",
        "kernel.shm_rmid_forced",
    ]));
    let messages: Vec<String> = errs.iter().map(ToString::to_string).collect();
    let regex = r"([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?";
    assert_eq!(
        messages,
        [
            format!("spec.securityContext.sysctls[2].name: Invalid value: \"foo-\": must have at most 253 characters and match regex {regex}"),
            format!("spec.securityContext.sysctls[3].name: Invalid value: \"bar..\": must have at most 253 characters and match regex {regex}"),
            "spec.securityContext.sysctls[4].name: Duplicate value: \"kernel.shm_rmid_forced\"".to_string(),
        ]
    );
}
