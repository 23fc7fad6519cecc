//! See main.rs. Writes of `/status` keep the request's metadata and reset only what each type's
//! status strategy resets (upstream `pkg/registry/<group>/<resource>/strategy.go`), for PUT,
//! merge PATCH and server-side apply; and validation upstream has that real clients hit (issue 17).

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, NamespaceCondition};
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{json, Value};

use crate::common::{self, Apiary};

fn condition(type_: &str, message: &str) -> NamespaceCondition {
    NamespaceCondition {
        type_: type_.into(),
        status: "True".into(),
        reason: Some("E2E".into()),
        message: Some(message.into()),
        ..Default::default()
    }
}

/// test/e2e/apimachinery/namespace.go "should apply changes to a namespace status": read, merge
/// patch and update the status; plus what the namespace status strategy keeps and resets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespace_status_read_patch_update() {
    let apiary = Apiary::start();
    let api: Api<Namespace> = Api::all(apiary.client().await);
    let ns = "status-ns";
    api.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap(),
    )
    .await
    .expect("create namespace");

    // Read namespace status.
    let read = api.get_status(ns).await.expect("get status");
    assert_eq!(read.status.unwrap().phase.as_deref(), Some("Active"));

    // Patch namespace status: the annotation in the patch stays; spec is the stored one.
    let cond = serde_json::to_value(condition("StatusPatch", "Patched by an e2e test")).unwrap();
    let patch = json!({
        "metadata": {"annotations": {"e2e-patched-ns-status": ns}, "labels": {"e2e-status": "patched"}},
        "spec": {"finalizers": []},
        "status": {"conditions": [cond]},
    });
    let patched = api
        .patch_status(ns, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("patch status");
    let annotations = patched.metadata.annotations.clone().unwrap_or_default();
    assert_eq!(
        annotations.get("e2e-patched-ns-status").map(String::as_str),
        Some(ns)
    );
    let labels = patched.metadata.labels.clone().unwrap_or_default();
    assert_eq!(
        labels.get("e2e-status").map(String::as_str),
        Some("patched")
    );
    assert_eq!(
        patched.spec.unwrap().finalizers,
        Some(vec!["kubernetes".to_string()])
    );
    let conditions = patched.status.unwrap().conditions.unwrap();
    let last = conditions.last().unwrap();
    assert_eq!(last.reason.as_deref(), Some("E2E"));
    assert_eq!(last.message.as_deref(), Some("Patched by an e2e test"));

    // Update namespace status: the new condition is last.
    let mut to_update = api.get_status(ns).await.expect("get status");
    let status = to_update.status.get_or_insert_with(Default::default);
    status
        .conditions
        .get_or_insert_with(Vec::new)
        .push(condition("StatusUpdate", "Updated by an e2e test"));
    let updated = api
        .replace_status(ns, &PostParams::default(), &to_update)
        .await
        .expect("update status");
    let conditions = updated.status.unwrap().conditions.unwrap();
    assert_eq!(conditions.len(), 2, "{conditions:?}");
    let last = conditions.last().unwrap();
    assert_eq!(last.type_, "StatusUpdate");
    assert_eq!(last.message.as_deref(), Some("Updated by an e2e test"));
    let annotations = updated.metadata.annotations.unwrap_or_default();
    assert_eq!(
        annotations.get("e2e-patched-ns-status").map(String::as_str),
        Some(ns)
    );
}

fn deployment_labels(d: &Deployment) -> Value {
    json!(d.metadata.labels)
}

fn replicas(d: &Deployment) -> (Option<i32>, Option<i32>) {
    (
        d.spec.as_ref().and_then(|s| s.replicas),
        d.status.as_ref().and_then(|s| s.replicas),
    )
}

/// Deployments' status strategy resets `spec` and `metadata.labels`: annotations sent to /status
/// stay, labels and spec do not, by PUT, merge PATCH and server-side apply; the applier owns the
/// annotation and the status, not the reset fields.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_status_keeps_annotations_and_resets_spec_and_labels() {
    let apiary = Apiary::start();
    let api: Api<Deployment> = Api::namespaced(apiary.client().await, "default");
    let created = api
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({
                "metadata": {"name": "web", "labels": {"app": "web"}},
                "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                    "template": {"metadata": {"labels": {"app": "web"}},
                        "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}}
            }))
            .unwrap(),
        )
        .await
        .expect("create deployment");
    let generation = created.metadata.generation;

    // PUT.
    let mut body = api.get_status("web").await.expect("get status");
    body.metadata.labels = Some(BTreeMap::from([("app".to_string(), "put".to_string())]));
    body.metadata.annotations = Some(BTreeMap::from([("put".to_string(), "kept".to_string())]));
    body.spec.as_mut().unwrap().replicas = Some(7);
    body.status = Some(serde_json::from_value(json!({"replicas": 5})).unwrap());
    let put = api
        .replace_status("web", &PostParams::default(), &body)
        .await
        .expect("update status");
    assert_eq!(deployment_labels(&put), json!({"app": "web"}));
    let annotations = put.metadata.annotations.clone().unwrap_or_default();
    assert_eq!(annotations.get("put").map(String::as_str), Some("kept"));
    assert_eq!(replicas(&put), (Some(1), Some(5)));
    assert_eq!(put.metadata.generation, generation, "spec did not change");

    // Merge PATCH.
    let patch = json!({
        "metadata": {"labels": {"extra": "x"}, "annotations": {"patched": "kept"}},
        "spec": {"replicas": 9},
        "status": {"replicas": 4},
    });
    let patched = api
        .patch_status("web", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("patch status");
    assert_eq!(deployment_labels(&patched), json!({"app": "web"}));
    let annotations = patched.metadata.annotations.clone().unwrap_or_default();
    assert_eq!(annotations.get("patched").map(String::as_str), Some("kept"));
    assert_eq!(annotations.get("put").map(String::as_str), Some("kept"));
    assert_eq!(replicas(&patched), (Some(1), Some(4)));

    // Server-side apply.
    let config = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"applied": "yes"}, "annotations": {"applied": "yes"}},
        "spec": {"replicas": 3},
        "status": {"replicas": 2},
    });
    let applied = api
        .patch_status(
            "web",
            &PatchParams::apply("status-applier").force(),
            &Patch::Apply(&config),
        )
        .await
        .expect("apply status");
    assert_eq!(deployment_labels(&applied), json!({"app": "web"}));
    let annotations = applied.metadata.annotations.clone().unwrap_or_default();
    assert_eq!(annotations.get("applied").map(String::as_str), Some("yes"));
    assert_eq!(replicas(&applied), (Some(1), Some(2)));
    let entry = applied
        .metadata
        .managed_fields
        .unwrap_or_default()
        .into_iter()
        .find(|e| e.manager.as_deref() == Some("status-applier"))
        .expect("the applier's entry");
    assert_eq!(entry.operation.as_deref(), Some("Apply"));
    assert_eq!(entry.subresource.as_deref(), Some("status"));
    assert_eq!(
        entry.fields_v1.unwrap().0,
        json!({"f:metadata": {"f:annotations": {"f:applied": {}}}, "f:status": {"f:replicas": {}}})
    );
}

/// Validation messages upstream gives that real clients hit, through kubectl.
#[test]
fn validation_matches_upstream_messages() {
    let api = Apiary::start();

    // A changed uid is refused, not ignored.
    api.ok(&["create", "configmap", "c", "--from-literal=k=v"]);
    let err = api.fails(&[
        "patch",
        "configmap",
        "c",
        "--type=merge",
        "-p",
        r#"{"metadata":{"uid":"forged"}}"#,
    ]);
    assert!(
        err.contains(
            r#"The ConfigMap "c" is invalid: metadata.uid: Invalid value: "forged": field is immutable"#
        ),
        "{err}"
    );

    // PriorityClass values never change.
    api.ok_stdin(
        &["create", "-f", "-"],
        r#"{"apiVersion":"scheduling.k8s.io/v1","kind":"PriorityClass","metadata":{"name":"pc"},"value":100}"#,
    );
    let err = api.fails(&[
        "patch",
        "priorityclass",
        "pc",
        "--type=merge",
        "-p",
        r#"{"value":200}"#,
    ]);
    assert!(
        err.contains(
            r#"The PriorityClass "pc" is invalid: value: Forbidden: may not be changed in an update."#
        ),
        "{err}"
    );

    // Sysctl names (after the controller made the default ServiceAccount pods are admitted with).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !api
        .kubectl(&["get", "serviceaccount", "default"])
        .status
        .success()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "no default ServiceAccount"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let pod = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"sys"},"spec":{"securityContext":{"sysctls":[{"name":"foo-","value":"1"},{"name":"bar..","value":"1"}]},"containers":[{"name":"c","image":"nginx"}]}}"#;
    let out = api.kubectl_with_stdin(&["create", "-f", "-"], Some(pod));
    assert!(!out.status.success());
    let err = common::stderr(&out);
    let regex = r"([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?";
    for (i, name) in ["foo-", "bar.."].iter().enumerate() {
        let expected = format!(
            r#"spec.securityContext.sysctls[{i}].name: Invalid value: "{name}": must have at most 253 characters and match regex {regex}"#
        );
        assert!(err.contains(&expected), "{err}");
    }

    // IPAddress names are IP addresses in canonical form.
    let ip = |name: &str| {
        format!(
            r#"{{"apiVersion":"networking.k8s.io/v1","kind":"IPAddress","metadata":{{"name":"{name}"}},"spec":{{"parentRef":{{"group":"","resource":"services","name":"s","namespace":"default"}}}}}}"#
        )
    };
    api.ok_stdin(&["create", "-f", "-"], &ip("2001:db8::1"));
    for (name, detail) in [
        (
            "my-ip",
            "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
        ),
        (
            "2001:db8:0::2",
            r#"must be in canonical form ("2001:db8::2")"#,
        ),
    ] {
        let out = api.kubectl_with_stdin(&["create", "-f", "-"], Some(&ip(name)));
        assert!(!out.status.success());
        let err = common::stderr(&out);
        let expected = format!(r#"metadata.name: Invalid value: "{name}": {detail}"#);
        assert!(err.contains(&expected), "{err}");
    }
}
