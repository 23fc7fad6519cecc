//! `test/e2e/apimachinery/namespace.go`: the Namespaces conformance tests that need no running
//! pods, on every backend.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{
    Namespace, NamespaceCondition, Service, ServicePort, ServiceSpec,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::{Api, DeleteParams, ObjectMeta, Patch, PatchParams, PostParams};

use crate::common::Apiary;
use crate::shared_apiary::{conformance_tests, namespace};

fn is_not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404)
}

/// Upstream's `retry.RetryOnConflict` around get, mutate, write.
async fn retry_on_conflict<F, Fut>(mut attempt: F) -> Namespace
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = kube::Result<Namespace>>,
{
    for _ in 0..5 {
        match attempt().await {
            Ok(ns) => return ns,
            Err(kube::Error::Api(s)) if s.code == 409 => continue,
            Err(e) => panic!("{e}"),
        }
    }
    panic!("conflicts on every attempt");
}

/// `[sig-api-machinery] Namespaces [Serial] should ensure that all services are removed when a namespace is deleted [Conformance]`
/// (test/e2e/apimachinery/namespace.go).
async fn should_remove_all_services_when_a_namespace_is_deleted(apiary: &Apiary) {
    let client = apiary.client().await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns = namespace(&client, "nsdeletetest").await;

    let services: Api<Service> = Api::namespaced(client.clone(), &ns);
    let service = Service {
        metadata: ObjectMeta {
            name: Some("test-service".into()),
            ..Default::default()
        },
        spec: Some(ServiceSpec {
            selector: Some(BTreeMap::from([
                ("foo".into(), "bar".into()),
                ("baz".into(), "blah".into()),
            ])),
            ports: Some(vec![ServicePort {
                port: 80,
                target_port: Some(IntOrString::Int(80)),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    };
    services
        .create(&PostParams::default(), &service)
        .await
        .expect("create service");

    namespaces
        .delete(&ns, &DeleteParams::default())
        .await
        .expect("delete namespace");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match namespaces.get(&ns).await {
            Err(e) if is_not_found(&e) => break,
            _ => {}
        }
        assert!(Instant::now() < deadline, "namespace {ns} was not removed");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }

    // Recreated with the same name, the namespace has no service.
    let recreated = Namespace {
        metadata: ObjectMeta {
            name: Some(ns.clone()),
            ..Default::default()
        },
        ..Default::default()
    };
    namespaces
        .create(&PostParams::default(), &recreated)
        .await
        .expect("recreate namespace");
    let err = services
        .get("test-service")
        .await
        .expect_err("the service is gone");
    assert!(is_not_found(&err), "{err}");
}

/// `[sig-api-machinery] Namespaces [Serial] should patch a Namespace [Conformance]`
/// (test/e2e/apimachinery/namespace.go).
async fn should_patch_a_namespace(apiary: &Apiary) {
    let client = apiary.client().await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns = namespace(&client, "nspatchtest").await;
    let patch = serde_json::json!({"metadata": {"labels": {"testLabel": "testValue"}}});
    namespaces
        .patch(&ns, &PatchParams::default(), &Patch::Strategic(&patch))
        .await
        .expect("patch namespace");
    let got = namespaces.get(&ns).await.expect("get namespace");
    assert_eq!(
        got.metadata.labels.unwrap_or_default().get("testLabel"),
        Some(&"testValue".to_string()),
        "namespace not patched"
    );
}

fn condition(type_: &str, message: &str) -> NamespaceCondition {
    NamespaceCondition {
        type_: type_.into(),
        status: "True".into(),
        reason: Some("E2E".into()),
        message: Some(message.into()),
        last_transition_time: None,
    }
}

/// `[sig-api-machinery] Namespaces [Serial] should apply changes to a namespace status [Conformance]`
/// (test/e2e/apimachinery/namespace.go).
async fn should_apply_changes_to_a_namespace_status(apiary: &Apiary) {
    let client = apiary.client().await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns = namespace(&client, "namespaces").await;

    let status = namespaces
        .get_status(&ns)
        .await
        .expect("read namespace status");
    assert_eq!(
        status.status.and_then(|s| s.phase).as_deref(),
        Some("Active")
    );

    let patched_condition = condition("StatusPatch", "Patched by an e2e test");
    let patch = serde_json::json!({
        "metadata": {"annotations": {"e2e-patched-ns-status": ns}},
        "status": {"conditions": [patched_condition]},
    });
    let patched = namespaces
        .patch_status(&ns, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("patch namespace status");
    assert_eq!(
        patched
            .metadata
            .annotations
            .unwrap_or_default()
            .get("e2e-patched-ns-status"),
        Some(&ns)
    );
    let conditions = patched
        .status
        .and_then(|s| s.conditions)
        .unwrap_or_default();
    assert!(
        conditions.contains(&patched_condition),
        "{conditions:?} lacks {patched_condition:?}"
    );

    let updated = retry_on_conflict(|| {
        let namespaces = namespaces.clone();
        let ns = ns.clone();
        async move {
            let mut current = namespaces.get_status(&ns).await?;
            current
                .status
                .get_or_insert_with(Default::default)
                .conditions
                .get_or_insert_with(Vec::new)
                .push(condition("StatusUpdate", "Updated by an e2e test"));
            namespaces
                .replace_status(&ns, &PostParams::default(), &current)
                .await
        }
    })
    .await;
    let conditions = updated
        .status
        .and_then(|s| s.conditions)
        .unwrap_or_default();
    let last = conditions.last().expect("a condition");
    assert_eq!(last.type_, "StatusUpdate");
    assert_eq!(last.message.as_deref(), Some("Updated by an e2e test"));
}

/// `[sig-api-machinery] Namespaces [Serial] should apply an update to a Namespace [Conformance]`
/// (test/e2e/apimachinery/namespace.go).
async fn should_apply_an_update_to_a_namespace(apiary: &Apiary) {
    let client = apiary.client().await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns = namespace(&client, "namespaces").await;
    let updated = retry_on_conflict(|| {
        let namespaces = namespaces.clone();
        let ns = ns.clone();
        async move {
            let mut current = namespaces.get(&ns).await?;
            current
                .metadata
                .labels
                .get_or_insert_with(Default::default)
                .insert(ns.clone(), "updated".into());
            namespaces
                .replace(&ns, &PostParams::default(), &current)
                .await
        }
    })
    .await;
    assert_eq!(
        updated.metadata.labels.unwrap_or_default().get(&ns),
        Some(&"updated".to_string())
    );
}

/// `[sig-api-machinery] Namespaces [Serial] should apply a finalizer to a Namespace [Conformance]`
/// (test/e2e/apimachinery/namespace.go).
async fn should_apply_a_finalizer_to_a_namespace(apiary: &Apiary) {
    const FAKE: &str = "e2e.example.com/fakeFinalizer";
    let client = apiary.client().await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns = namespace(&client, "e2e-ns").await;

    let finalize = |edit: fn(&mut Vec<String>)| {
        let namespaces = namespaces.clone();
        let ns = ns.clone();
        async move {
            let mut current = namespaces.get(&ns).await?;
            edit(
                current
                    .spec
                    .get_or_insert_with(Default::default)
                    .finalizers
                    .get_or_insert_with(Vec::new),
            );
            namespaces
                .replace_subresource("finalize", &ns, &PostParams::default(), &current)
                .await
        }
    };
    let added = retry_on_conflict(|| finalize(|f| f.push(FAKE.into()))).await;
    let finalizers = added.spec.and_then(|s| s.finalizers).unwrap_or_default();
    assert!(
        finalizers.iter().any(|f| f == FAKE),
        "{finalizers:?} lacks {FAKE}"
    );

    let removed = retry_on_conflict(|| finalize(|f| f.retain(|f| f != FAKE))).await;
    let finalizers = removed.spec.and_then(|s| s.finalizers).unwrap_or_default();
    assert!(
        !finalizers.iter().any(|f| f == FAKE),
        "{finalizers:?} still has {FAKE}"
    );
}

conformance_tests!(all_backends {
    should_remove_all_services_when_a_namespace_is_deleted,
    should_patch_a_namespace,
    should_apply_changes_to_a_namespace_status,
    should_apply_an_update_to_a_namespace,
    should_apply_a_finalizer_to_a_namespace,
});
