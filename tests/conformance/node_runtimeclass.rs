//! `test/e2e/common/node/runtimeclass.go`: the RuntimeClass conformance tests that need only the
//! API server (RuntimeClass admission rejects pods naming a missing class; the API operations).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Container, Pod, PodSpec};
use k8s_openapi::api::node::v1::RuntimeClass;
use kube::api::{
    Api, DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams, WatchEvent,
};
use serde_json::json;

use crate::common::Apiary;
use crate::shared_apiary::{conformance_tests, namespace};
use crate::upstream_steps::{expect_discovery, next_event, watch};

const BUSYBOX: &str = "registry.k8s.io/e2e-test-images/busybox:1.37.0-1";

/// Upstream's `runtimeclasstest.NewRuntimeClass`.
fn runtime_class(name: &str, handler: &str) -> RuntimeClass {
    RuntimeClass {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        handler: handler.into(),
        ..Default::default()
    }
}

/// Upstream's `e2eruntimeclass.NewRuntimeClassPod`.
fn runtime_class_pod(runtime_class_name: &str) -> Pod {
    Pod {
        metadata: ObjectMeta {
            generate_name: Some(format!("test-runtimeclass-{runtime_class_name}-")),
            ..Default::default()
        },
        spec: Some(PodSpec {
            runtime_class_name: Some(runtime_class_name.into()),
            containers: vec![Container {
                name: "test".into(),
                image: Some(BUSYBOX.into()),
                command: Some(vec!["true".into()]),
                ..Default::default()
            }],
            restart_policy: Some("Never".into()),
            automount_service_account_token: Some(false),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Upstream's `expectPodRejection`: a dry-run create of the pod must be Forbidden.
async fn expect_pod_rejection(
    client: &kube::Client,
    ns: &str,
    rc_name: &str,
) -> Result<(), String> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let pp = PostParams {
        dry_run: true,
        ..Default::default()
    };
    match pods.create(&pp, &runtime_class_pod(rc_name)).await {
        Ok(_) => Err("should get forbidden error".into()),
        Err(kube::Error::Api(s)) if s.code == 403 => Ok(()),
        Err(e) => Err(e.to_string()),
    }
}

/// `[sig-node] RuntimeClass should reject a Pod requesting a non-existent RuntimeClass [NodeConformance] [Conformance]`
/// (test/e2e/common/node/runtimeclass.go).
async fn should_reject_a_pod_requesting_a_non_existent_runtime_class(apiary: &Apiary) {
    let client = apiary.client().await;
    let ns = namespace(&client, "runtimeclass").await;
    let rc_name = format!("{ns}-nonexistent");
    expect_pod_rejection(&client, &ns, &rc_name)
        .await
        .expect("unexpected error for pod rejection");
}

/// `[sig-node] RuntimeClass should reject a Pod requesting a deleted RuntimeClass [NodeConformance] [Conformance]`
/// (test/e2e/common/node/runtimeclass.go).
async fn should_reject_a_pod_requesting_a_deleted_runtime_class(apiary: &Apiary) {
    let client = apiary.client().await;
    let ns = namespace(&client, "runtimeclass").await;
    let classes: Api<RuntimeClass> = Api::all(client.clone());
    // createRuntimeClass: a "namespaced" name.
    let rc_name = format!("{ns}-delete-me");
    classes
        .create(&PostParams::default(), &runtime_class(&rc_name, "runc"))
        .await
        .expect("failed to create RuntimeClass resource");

    classes
        .delete(&rc_name, &DeleteParams::default())
        .await
        .expect("failed to delete RuntimeClass resource");
    // Waiting for the RuntimeClass to disappear (within a minute).
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match classes.get(&rc_name).await {
            Err(kube::Error::Api(s)) if s.code == 404 => break,
            Err(e) => panic!("get RuntimeClass: {e}"),
            Ok(_) => {}
        }
        assert!(
            Instant::now() < deadline,
            "the RuntimeClass did not disappear"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Eventually (ContainerStatusRetryTimeout, 5 minutes) the pod is rejected.
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        match expect_pod_rejection(&client, &ns, &rc_name).await {
            Ok(()) => break,
            Err(e) => assert!(Instant::now() < deadline, "pod not rejected: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `[sig-node] RuntimeClass should support RuntimeClasses API operations [Conformance]`
/// (test/e2e/common/node/runtimeclass.go).
async fn should_support_runtime_classes_api_operations(apiary: &Apiary) {
    let client = apiary.client().await;
    // f.UniqueName: the test namespace's name.
    let unique = namespace(&client, "runtimeclass").await;
    let classes: Api<RuntimeClass> = Api::all(client.clone());
    let labelled = |handler: &str, name: &str| {
        let mut rc = runtime_class(&format!("{unique}-{name}"), &format!("{unique}-{handler}"));
        rc.metadata.labels = Some(BTreeMap::from([("test".into(), unique.clone())]));
        rc
    };
    let rc = labelled("handler", "conformance-runtime-class");
    let rc2 = labelled("handler2", "conformance-runtime-class2");
    let rc3 = labelled("handler3", "conformance-runtime-class3");
    let selector = format!("test={unique}");
    let selected = ListParams::default().labels(&selector);

    expect_discovery(&client, "node.k8s.io", "v1", &["runtimeclasses"]).await;

    // creating
    let pp = PostParams::default();
    let created = classes.create(&pp, &rc).await.expect("create");
    match classes.create(&pp, &rc).await {
        Err(kube::Error::Api(s)) if s.code == 409 && s.reason == "AlreadyExists" => {}
        other => panic!("expected 409, got {other:?}"),
    }
    classes.create(&pp, &rc2).await.expect("create");

    // watching (no resource version: the existing objects come first, as ADDED events)
    let mut events = watch(&classes, &selector, "").await;

    // added for a watch
    classes.create(&pp, &rc3).await.expect("create");

    // getting
    let name = created.metadata.name.clone().expect("name");
    let got = classes.get(&name).await.expect("get");
    assert_eq!(got.metadata.uid, created.metadata.uid);

    // listing
    let list = classes.list(&selected).await.expect("list");
    assert_eq!(list.items.len(), 3, "filtered list should have 3 items");

    // patching
    let patched = classes
        .patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {"patched": "true"}}})),
        )
        .await
        .expect("patch");
    let annotation = |rc: &RuntimeClass, key: &str| {
        rc.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(key))
            .cloned()
    };
    assert_eq!(
        annotation(&patched, "patched").as_deref(),
        Some("true"),
        "patched object should have the applied annotation"
    );

    // updating
    let mut to_update = patched.clone();
    to_update
        .metadata
        .annotations
        .get_or_insert_with(Default::default)
        .insert("updated".into(), "true".into());
    let updated = classes
        .replace(&name, &pp, &to_update)
        .await
        .expect("update");
    assert_eq!(
        annotation(&updated, "updated").as_deref(),
        Some("true"),
        "updated object should have the applied annotation"
    );

    // waiting for watch events with expected annotations: upstream's loop ends at the first
    // ADDED or MODIFIED event carrying one of the annotations.
    loop {
        match next_event(&mut events).await {
            WatchEvent::Added(_) => break,
            WatchEvent::Modified(rc)
                if annotation(&rc, "patched").as_deref() == Some("true")
                    || annotation(&rc, "updated").as_deref() == Some("true") =>
            {
                break;
            }
            _ => {}
        }
    }
    drop(events);

    // deleting
    classes
        .delete(&name, &DeleteParams::default())
        .await
        .expect("delete");
    match classes.get(&name).await {
        Err(kube::Error::Api(s)) if s.code == 404 => {}
        other => panic!("expected 404, got {other:?}"),
    }
    let list = classes.list(&selected).await.expect("list");
    assert_eq!(list.items.len(), 2, "filtered list should have 2 items");

    // deleting a collection
    classes
        .delete_collection(&DeleteParams::default(), &selected)
        .await
        .expect("delete collection");
    let list = classes.list(&selected).await.expect("list");
    assert!(list.items.is_empty(), "filtered list should have 0 items");
}

conformance_tests!(rocksdb_only {
    should_reject_a_pod_requesting_a_non_existent_runtime_class,
    should_reject_a_pod_requesting_a_deleted_runtime_class,
    should_support_runtime_classes_api_operations,
});
