//! `test/e2e/apimachinery/garbage_collector.go`: the garbage collector conformance test that needs
//! only the API server (its pods are created directly and never scheduled).

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Container, Pod, PodSpec};
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams};
use kube::api::{Preconditions, PropagationPolicy};

use crate::common::Apiary;
use crate::shared_apiary::{conformance_tests, namespace};

const NGINX: &str = "registry.k8s.io/e2e-test-images/nginx:1.14-4";

/// Upstream's `newGCPod`.
fn gc_pod(name: &str) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        spec: Some(PodSpec {
            termination_grace_period_seconds: Some(0),
            containers: vec![Container {
                name: "nginx".into(),
                image: Some(NGINX.into()),
                ..Default::default()
            }],
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// `[sig-api-machinery] Garbage collector should not be blocked by dependency circle [Conformance]`
/// (test/e2e/apimachinery/garbage_collector.go).
async fn should_not_be_blocked_by_dependency_circle(apiary: &Apiary) {
    let client = apiary.client().await;
    let ns = namespace(&client, "gc").await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let pp = PostParams::default();
    let _pod1 = pods
        .create(&pp, &gc_pod("pod1"))
        .await
        .expect("create pod1");
    let _pod2 = pods
        .create(&pp, &gc_pod("pod2"))
        .await
        .expect("create pod2");
    let pod3 = pods
        .create(&pp, &gc_pod("pod3"))
        .await
        .expect("create pod3");

    // The circle: pod1 owned by pod3, pod2 by pod1, pod3 by pod2.
    let add_ref = |owner: &Pod| {
        serde_json::json!({"metadata": {"ownerReferences": [{
            "apiVersion": "v1", "kind": "Pod",
            "name": owner.metadata.name, "uid": owner.metadata.uid,
            "controller": true, "blockOwnerDeletion": true,
        }]}})
    };
    let patch = |name: &str, owner: &Pod| {
        let pods = pods.clone();
        let name = name.to_string();
        let body = add_ref(owner);
        async move {
            pods.patch(&name, &PatchParams::default(), &Patch::Strategic(&body))
                .await
                .unwrap_or_else(|e| {
                    panic!("failed to apply to pod {name} a strategic merge patch {body}: {e}")
                })
        }
    };
    let pod1 = patch("pod1", &pod3).await;
    let pod2 = patch("pod2", &pod1).await;
    let pod3 = patch("pod3", &pod2).await;
    for (pod, owner) in [(&pod1, &pod3), (&pod2, &pod1), (&pod3, &pod2)] {
        let refs = pod.metadata.owner_references.as_deref().unwrap_or_default();
        assert_eq!(refs.len(), 1, "{refs:?}");
        assert_eq!(Some(&refs[0].uid), owner.metadata.uid.as_ref());
    }

    // Deleting one pod in the foreground deletes them all.
    let delete = DeleteParams {
        propagation_policy: Some(PropagationPolicy::Foreground),
        preconditions: Some(Preconditions {
            uid: pod1.metadata.uid.clone(),
            resource_version: None,
        }),
        ..Default::default()
    };
    pods.delete("pod1", &delete).await.expect("delete pod1");
    let deadline = Instant::now() + Duration::from_secs(150);
    loop {
        let left = pods
            .list(&ListParams::default())
            .await
            .expect("failed to list pods");
        if left.items.is_empty() {
            break;
        }
        let names: Vec<_> = left.items.iter().map(|p| &p.metadata).collect();
        assert!(
            Instant::now() < deadline,
            "failed to wait for all pods to be deleted: pods are {names:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

conformance_tests!(rocksdb_only {
    should_not_be_blocked_by_dependency_circle,
});
