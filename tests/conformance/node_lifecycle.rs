//! `test/e2e/node/node_lifecycle.go`, `test/e2e/node/pods.go` and
//! `test/e2e/common/node/sysctl.go`: the node conformance tests whose subject is the API server
//! (a Node object's lifecycle, the QoS class set at pod creation, sysctl name validation).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{
    Container, Node, NodeCondition, NodeSpec, NodeStatus, Pod, PodSecurityContext, PodSpec,
    ResourceRequirements, Sysctl,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::common::Apiary;
use crate::shared_apiary::{conformance_tests, namespace};
use crate::upstream_steps::suffix;

const AGNHOST: &str = "registry.k8s.io/e2e-test-images/agnhost:2.53";
const BUSYBOX: &str = "registry.k8s.io/e2e-test-images/busybox:1.37.0-1";

fn label<'a>(node: &'a Node, key: &str) -> Option<&'a str> {
    node.metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(key))
        .map(String::as_str)
}

/// `[sig-node] Node Lifecycle should run through the lifecycle of a node [Conformance]`
/// (test/e2e/node/node_lifecycle.go).
async fn should_run_through_the_lifecycle_of_a_node(apiary: &Apiary) {
    let client = apiary.client().await;
    // The framework's test namespace (the test itself only covers cluster-scoped Nodes).
    namespace(&client, "fake-node").await;
    let nodes: Api<Node> = Api::all(client);

    // A fake node with a ready condition but unschedulable (nothing is scheduled to it).
    let name = format!("e2e-fake-node-{}", &suffix()[..5]);
    let fake_node = Node {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            ..Default::default()
        },
        spec: Some(NodeSpec {
            unschedulable: Some(true),
            ..Default::default()
        }),
        status: Some(NodeStatus {
            phase: Some("Running".into()),
            conditions: Some(vec![NodeCondition {
                status: "True".into(),
                message: Some("Set from e2e test".into()),
                reason: Some("E2E".into()),
                type_: "Ready".into(),
                ..Default::default()
            }]),
            ..Default::default()
        }),
    };

    // Create
    let created = nodes
        .create(&PostParams::default(), &fake_node)
        .await
        .unwrap_or_else(|e| panic!("failed to create node {name:?}: {e}"));
    assert_eq!(
        created.metadata.name.as_deref(),
        Some(name.as_str()),
        "Checking that the node has been created"
    );

    // Getting
    let retrieved = nodes
        .get(&name)
        .await
        .unwrap_or_else(|e| panic!("Failed to retrieve Node {name:?}: {e}"));
    assert_eq!(
        retrieved.metadata.name.as_deref(),
        Some(name.as_str()),
        "Checking that the retrieved name has been found"
    );

    // Patching
    let mut labels = serde_json::Map::new();
    labels.insert(name.clone(), json!("patched"));
    let payload = json!({"metadata": {"labels": labels}});
    let patched = nodes
        .patch(&name, &PatchParams::default(), &Patch::Strategic(&payload))
        .await
        .unwrap_or_else(|e| panic!("Failed to patch {name:?}: {e}"));
    assert_eq!(
        label(&patched, &name),
        Some("patched"),
        "Checking that patched label has been applied"
    );
    let patched_selector = format!("{name}=patched");

    // Listing nodes with the LabelSelector
    let list = nodes
        .list(&ListParams::default().labels(&patched_selector))
        .await
        .expect("failed to list nodes");
    assert_eq!(
        list.items.len(),
        1,
        "confirm that the patched node has been found"
    );

    // Updating (retry on conflict)
    let mut updated = None;
    for _ in 0..5 {
        let mut node = nodes
            .get(&name)
            .await
            .unwrap_or_else(|e| panic!("Unable to get {name:?}: {e}"));
        node.metadata
            .labels
            .get_or_insert_with(Default::default)
            .insert(name.clone(), "updated".into());
        match nodes.replace(&name, &PostParams::default(), &node).await {
            Ok(node) => {
                updated = Some(node);
                break;
            }
            Err(kube::Error::Api(s)) if s.code == 409 => continue,
            Err(e) => panic!("failed to update {name:?}: {e}"),
        }
    }
    let updated = updated.expect("updated without a conflict");
    assert_eq!(
        label(&updated, &name),
        Some("updated"),
        "Checking that updated label has been applied"
    );

    // Delete
    nodes
        .delete(&name, &DeleteParams::default())
        .await
        .expect("failed to delete node");

    // Confirm deletion (within 3 minutes)
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        match nodes.get(&name).await {
            Err(kube::Error::Api(s)) if s.code == 404 => break,
            Err(e) => panic!("nodeClient.Get returned an unexpected error: {e}"),
            Ok(_) => assert!(
                Instant::now() < deadline,
                "Timeout while waiting to confirm Node deletion: node still exists: {name}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `[sig-node] Pods Extended Pods Set QOS Class should be set on Pods with matching resource requests and limits for memory and cpu [Conformance]`
/// (test/e2e/node/pods.go).
async fn should_be_set_on_pods_with_matching_resource_requests_and_limits_for_memory_and_cpu(
    apiary: &Apiary,
) {
    let client = apiary.client().await;
    let ns = namespace(&client, "pods").await;
    let pods: Api<Pod> = Api::namespaced(client, &ns);

    // creating the pod
    let name = format!("pod-qos-class-{}", suffix());
    let resources = BTreeMap::from([
        ("cpu".to_string(), Quantity("100m".into())),
        ("memory".to_string(), Quantity("100Mi".into())),
    ]);
    let pod = Pod {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            labels: Some(BTreeMap::from([("name".into(), name.clone())])),
            ..Default::default()
        },
        spec: Some(PodSpec {
            containers: vec![Container {
                name: "agnhost".into(),
                image: Some(AGNHOST.into()),
                args: Some(vec!["pause".into()]),
                resources: Some(ResourceRequirements {
                    limits: Some(resources.clone()),
                    requests: Some(resources),
                    ..Default::default()
                }),
                ..Default::default()
            }],
            ..Default::default()
        }),
        ..Default::default()
    };

    // submitting the pod to kubernetes
    pods.create(&PostParams::default(), &pod)
        .await
        .expect("create the pod");

    // verifying QOS class is set on the pod: the API server sets it when the pod is created
    let pod = pods.get(&name).await.expect("failed to query for pod");
    assert_eq!(
        pod.status.and_then(|s| s.qos_class).as_deref(),
        Some("Guaranteed")
    );
}

/// `[sig-node] Sysctls [LinuxOnly] [NodeConformance] should reject invalid sysctls [MinimumKubeletVersion:1.21] [Conformance]`
/// (test/e2e/common/node/sysctl.go).
async fn should_reject_invalid_sysctls(apiary: &Apiary) {
    let client = apiary.client().await;
    let ns = namespace(&client, "sysctl").await;
    let pods: Api<Pod> = Api::namespaced(client, &ns);

    // Upstream's testPod with the sysctls set.
    let sysctl = |name: &str, value: &str| Sysctl {
        name: name.into(),
        value: value.into(),
    };
    let pod = Pod {
        metadata: ObjectMeta {
            name: Some(format!("sysctl-{}", suffix())),
            ..Default::default()
        },
        spec: Some(PodSpec {
            containers: vec![Container {
                name: "test-container".into(),
                image: Some(BUSYBOX.into()),
                ..Default::default()
            }],
            restart_policy: Some("Never".into()),
            security_context: Some(PodSecurityContext {
                sysctls: Some(vec![
                    sysctl("foo-", "bar"),
                    sysctl("kernel.shmmax", "100000000"),
                    sysctl("safe-and-unsafe", "100000000"),
                    sysctl("bar..", "42"),
                ]),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    };

    // Creating a pod with one valid and two invalid sysctls
    match pods.create(&PostParams::default(), &pod).await {
        Err(kube::Error::Api(s)) => {
            assert_eq!(s.code, 422, "{s:?}");
            let message = &s.message;
            assert!(message.contains(r#"Invalid value: "foo-""#), "{message}");
            assert!(message.contains(r#"Invalid value: "bar..""#), "{message}");
            assert!(!message.contains("safe-and-unsafe"), "{message}");
            assert!(!message.contains("kernel.shmmax"), "{message}");
        }
        other => panic!("expected the pod to be rejected as invalid, got {other:?}"),
    }
}

conformance_tests!(rocksdb_only {
    should_run_through_the_lifecycle_of_a_node,
    should_be_set_on_pods_with_matching_resource_requests_and_limits_for_memory_and_cpu,
    should_reject_invalid_sysctls,
});
