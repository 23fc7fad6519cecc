//! `test/e2e/storage/csi_inline.go`, `csi_node.go` and `csistoragecapacity.go`: the CSIDriver,
//! CSIVolumeSource-in-pods, CSINode and CSIStorageCapacity conformance tests (API operations only;
//! no driver runs and no pod is started).

use std::collections::BTreeMap;
use std::fmt::Debug;

use k8s_openapi::api::core::v1::{CSIVolumeSource, Container, Pod, PodSpec, Volume, VolumeMount};
use k8s_openapi::api::storage::v1::{CSIDriver, CSIDriverSpec, CSINode, CSIStorageCapacity};
use kube::api::{
    Api, DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams, WatchEvent,
};
use kube::Resource;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::common::Apiary;
use crate::shared_apiary::{conformance_tests, namespace};
use crate::upstream_steps::{
    annotation, eventually_none, expect_discovery, label, next_event, rand5, retry_on_conflict, rv,
    watch,
};

/// `imageutils.GetE2EImage(imageutils.BusyBox)` in 1.33.
const BUSYBOX_IMAGE: &str = "registry.k8s.io/e2e-test-images/busybox:1.37.0-1";

fn expect_already_exists<T: Debug>(result: kube::Result<T>) {
    match result {
        Err(kube::Error::Api(s)) if s.code == 409 && s.reason == "AlreadyExists" => {}
        other => panic!("expected 409, got {other:?}"),
    }
}

/// The deletion check upstream repeats: the object is gone (404) or has a deletion timestamp.
async fn expect_deleted<K>(api: &Api<K>, name: &str, kind: &str)
where
    K: Resource + Clone + DeserializeOwned + Debug,
{
    match api.get(name).await {
        Err(kube::Error::Api(s)) if s.code == 404 => {}
        Err(e) => panic!("expected 404, got {e:?}"),
        Ok(object) if object.meta().deletion_timestamp.is_some() => {}
        Ok(object) => panic!(
            "{kind} should have been deleted or have DeletionTimestamp, but instead got: {object:?}"
        ),
    }
}

fn csi_driver(labels: &BTreeMap<String, String>, modes: &[&str]) -> CSIDriver {
    CSIDriver {
        metadata: ObjectMeta {
            name: Some(format!("inline-driver-{}", uuid::Uuid::new_v4())),
            labels: Some(labels.clone()),
            ..Default::default()
        },
        spec: CSIDriverSpec {
            volume_lifecycle_modes: Some(modes.iter().map(|m| m.to_string()).collect()),
            fs_group_policy: Some("ReadWriteOnceWithFSType".into()),
            ..Default::default()
        },
    }
}

/// `[sig-storage] CSIInlineVolumes should run through the lifecycle of a CSIDriver [Conformance]`
/// (test/e2e/storage/csi_inline.go).
async fn should_run_through_the_lifecycle_of_a_csi_driver(apiary: &Apiary) {
    let client = apiary.client().await;
    // f.UniqueName: the test namespace's name.
    let unique = namespace(&client, "csiinlinevolumes").await;
    let drivers: Api<CSIDriver> = Api::all(client.clone());
    let driver_label = BTreeMap::from([("e2e-test".to_string(), unique.clone())]);
    let driver_selector = format!("e2e-test={unique}");

    // A driver that supports only Ephemeral, one that supports both.
    let driver1 = csi_driver(&driver_label, &["Ephemeral"]);
    let driver2 = csi_driver(&driver_label, &["Persistent", "Ephemeral"]);

    // Creating two CSIDrivers
    let pp = PostParams::default();
    let created1 = drivers
        .create(&pp, &driver1)
        .await
        .expect("Failed to create first CSIDriver");
    let created2 = drivers
        .create(&pp, &driver2)
        .await
        .expect("Failed to create second CSIDriver");
    expect_already_exists(drivers.create(&pp, &driver1).await);
    let name1 = created1.metadata.name.clone().expect("name");
    let name2 = created2.metadata.name.clone().expect("name");

    // Getting both
    let retrieved1 = drivers
        .get(&name1)
        .await
        .unwrap_or_else(|e| panic!("Failed to get CSIDriver {name1:?}: {e}"));
    assert_eq!(retrieved1.metadata.uid, created1.metadata.uid);
    let retrieved2 = drivers
        .get(&name2)
        .await
        .unwrap_or_else(|e| panic!("Failed to get CSIDriver {name2:?}: {e}"));
    assert_eq!(retrieved2.metadata.uid, created2.metadata.uid);

    // Patching the second CSIDriver
    let patched = drivers
        .patch(
            &name2,
            &PatchParams::default(),
            &Patch::Strategic(json!({"metadata": {"labels": {name2.clone(): "patched"}}})),
        )
        .await
        .unwrap_or_else(|e| panic!("failed to patch CSIDriver {name2:?}: {e}"));
    assert!(
        label(&patched, &name2).is_some_and(|v| v.contains("patched")),
        "Checking that patched label has been applied: {:?}",
        patched.metadata.labels
    );

    // Updating the second CSIDriver
    let updated = retry_on_conflict(|| {
        let drivers = drivers.clone();
        let name2 = name2.clone();
        async move {
            let mut driver = drivers
                .get(&name2)
                .await
                .unwrap_or_else(|e| panic!("Unable to get CSIDriver {name2:?}: {e}"));
            driver
                .metadata
                .labels
                .get_or_insert_with(Default::default)
                .insert(name2.clone(), "updated".into());
            drivers
                .replace(&name2, &PostParams::default(), &driver)
                .await
        }
    })
    .await
    .unwrap_or_else(|e| panic!("failed to update CSIDriver {name2:?}: {e}"));
    assert!(
        label(&updated, &name2).is_some_and(|v| v.contains("updated")),
        "Checking that updated label has been applied: {:?}",
        updated.metadata.labels
    );

    // Listing all CSIDrivers with the label selector
    let list = drivers
        .list(&ListParams::default().labels(&driver_selector))
        .await
        .unwrap_or_else(|e| {
            panic!("Failed to list all CSIDrivers with the labelSelector {driver_selector:?}: {e}")
        });
    assert_eq!(
        list.items.len(),
        2,
        "filtered list should have 2 items, got: {:?}",
        list.items
    );

    // Deleting the first CSIDriver and confirming it
    drivers
        .delete(&name1, &DeleteParams::default())
        .await
        .unwrap_or_else(|e| panic!("Failed to delete CSIDriver {name1:?}: {e}"));
    expect_deleted(&drivers, &name1, "CSIDriver").await;

    // Deleting the second CSIDriver via DeleteCollection and confirming it
    drivers
        .delete_collection(
            &DeleteParams::default(),
            &ListParams::default().labels(&format!("{name2}=updated")),
        )
        .await
        .unwrap_or_else(|e| panic!("Failed to delete CSIDriver {name2:?}: {e}"));
    expect_deleted(&drivers, &name2, "CSIDriver").await;
}

/// `[sig-storage] CSIInlineVolumes should support CSIVolumeSource in Pod API [Conformance]`
/// (test/e2e/storage/csi_inline.go).
async fn should_support_csi_volume_source_in_pod_api(apiary: &Apiary) {
    let client = apiary.client().await;
    let ns = namespace(&client, "csiinlinevolumes").await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);

    // A fake driver name: the pod is only created, read, patched and deleted.
    let driver_name = "e2e.example.com";
    let pod_name = "pod-csi-inline-volumes";
    let vol1 = "csi-inline-vol1";
    let vol2 = "csi-inline-vol2";

    // A pod with two CSI inline volumes.
    let pod = Pod {
        metadata: ObjectMeta {
            name: Some(pod_name.into()),
            ..Default::default()
        },
        spec: Some(PodSpec {
            volumes: Some(vec![
                Volume {
                    name: vol1.into(),
                    csi: Some(CSIVolumeSource {
                        driver: driver_name.into(),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                Volume {
                    name: vol2.into(),
                    csi: Some(CSIVolumeSource {
                        driver: driver_name.into(),
                        fs_type: Some("ext4".into()),
                        read_only: Some(true),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            ]),
            containers: vec![Container {
                name: pod_name.into(),
                image: Some(BUSYBOX_IMAGE.into()),
                command: Some(vec!["sh".into(), "-c".into(), "ls /mnt/*".into()]),
                volume_mounts: Some(vec![
                    VolumeMount {
                        name: vol1.into(),
                        mount_path: "/mnt/vol1".into(),
                        ..Default::default()
                    },
                    VolumeMount {
                        name: vol2.into(),
                        mount_path: "/mnt/vol2".into(),
                        ..Default::default()
                    },
                ]),
                ..Default::default()
            }],
            ..Default::default()
        }),
        ..Default::default()
    };

    // creating
    let pp = PostParams::default();
    let created = pods.create(&pp, &pod).await.expect("create");
    expect_already_exists(pods.create(&pp, &pod).await);

    // getting
    let retrieved = pods.get(pod_name).await.expect("get");
    assert_eq!(retrieved.metadata.uid, created.metadata.uid);

    // listing in namespace
    let list = pods.list(&ListParams::default()).await.expect("list");
    assert_eq!(
        list.items.len(),
        1,
        "list should have 1 items, got: {:?}",
        list.items
    );

    // patching
    let patched = pods
        .patch(
            pod_name,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {"patched": "true"}}})),
        )
        .await
        .expect("patch");
    assert_eq!(
        annotation(&patched, "patched").as_deref(),
        Some("true"),
        "patched object should have the applied annotation"
    );

    // deleting
    pods.delete(pod_name, &DeleteParams::default())
        .await
        .expect("delete");
    expect_deleted(&pods, pod_name, "Pod").await;
}

/// `[sig-storage] CSINodes CSI Conformance should run through the lifecycle of a csinode [Conformance]`
/// (test/e2e/storage/csi_node.go).
async fn should_run_through_the_lifecycle_of_a_csinode(apiary: &Apiary) {
    let client = apiary.client().await;
    let csi_nodes: Api<CSINode> = Api::all(client.clone());
    let pp = PostParams::default();

    let initial = CSINode {
        metadata: ObjectMeta {
            name: Some(format!("e2e-csinode-{}", rand5())),
            ..Default::default()
        },
        ..Default::default()
    };
    let initial_name = initial.metadata.name.clone().expect("name");

    // Creating initial csiNode
    let csi_node = csi_nodes
        .create(&pp, &initial)
        .await
        .unwrap_or_else(|e| panic!("failed to create csiNode {initial_name:?}: {e}"));
    rv(&csi_node);
    let name = csi_node.metadata.name.clone().expect("name");

    // Getting initial csiNode
    let retrieved = csi_nodes
        .get(&initial_name)
        .await
        .unwrap_or_else(|e| panic!("Failed to retrieve csiNode {initial_name:?}: {e}"));
    assert_eq!(
        retrieved.metadata.name.as_deref(),
        Some(name.as_str()),
        "Checking that the retrieved name has been found"
    );

    // Patching initial csiNode
    let patched = csi_nodes
        .patch(
            &name,
            &PatchParams::default(),
            &Patch::Strategic(json!({"metadata": {"labels": {name.clone(): "patched"}}})),
        )
        .await
        .unwrap_or_else(|e| panic!("Failed to patch csiNode {name:?}: {e}"));
    assert_eq!(
        label(&patched, &name).as_deref(),
        Some("patched"),
        "Checking that patched label has been applied"
    );
    assert!(
        rv(&csi_node) < rv(&patched),
        "patched object should have a larger resource version"
    );

    // Listing csiNodes with the patched label
    let patched_selector = format!("{name}=patched");
    let list = csi_nodes
        .list(&ListParams::default().labels(&patched_selector))
        .await
        .expect("failed to list csiNodes");
    assert_eq!(list.items.len(), 1, "{:?}", list.items);

    // Delete initial csiNode and confirm its deletion
    csi_nodes
        .delete(&name, &DeleteParams::default())
        .await
        .unwrap_or_else(|e| panic!("failed to delete csiNode {initial_name:?}: {e}"));
    eventually_none(
        &csi_nodes,
        &ListParams::default().labels(&patched_selector),
        "CSINode",
    )
    .await;

    let replacement = CSINode {
        metadata: ObjectMeta {
            name: Some(format!("e2e-csinode-{}", rand5())),
            ..Default::default()
        },
        ..Default::default()
    };
    let replacement_name = replacement.metadata.name.clone().expect("name");

    // Creating replacement csiNode
    let second = csi_nodes
        .create(&pp, &replacement)
        .await
        .unwrap_or_else(|e| panic!("failed to create csiNode {replacement_name:?}: {e}"));
    let second_name = second.metadata.name.clone().expect("name");

    // Getting replacement csiNode
    let retrieved = csi_nodes
        .get(&second_name)
        .await
        .unwrap_or_else(|e| panic!("Failed to retrieve CSINode {replacement_name:?}: {e}"));
    assert_eq!(
        retrieved.metadata.name.as_deref(),
        Some(second_name.as_str()),
        "Checking that the retrieved name has been found"
    );
    let retrieved_name = retrieved.metadata.name.clone().expect("name");

    // Updating replacement csiNode
    let updated = retry_on_conflict(|| {
        let csi_nodes = csi_nodes.clone();
        let retrieved_name = retrieved_name.clone();
        let replacement_name = replacement_name.clone();
        async move {
            let mut current = csi_nodes
                .get(&retrieved_name)
                .await
                .unwrap_or_else(|e| panic!("Unable to get {replacement_name:?}: {e}"));
            current.metadata.labels = Some(BTreeMap::from([(
                replacement_name.clone(),
                "updated".to_string(),
            )]));
            csi_nodes
                .replace(&retrieved_name, &PostParams::default(), &current)
                .await
        }
    })
    .await
    .unwrap_or_else(|e| panic!("failed to update {replacement_name:?}: {e}"));
    assert_eq!(
        label(&updated, &second_name).as_deref(),
        Some("updated"),
        "Checking that updated label has been applied"
    );

    // DeleteCollection of CSINodes with the updated label, and confirm the deletion
    let updated_selector = format!("{retrieved_name}=updated");
    csi_nodes
        .delete_collection(
            &DeleteParams::default(),
            &ListParams::default().labels(&updated_selector),
        )
        .await
        .expect("failed to delete csiNode Colllection");
    eventually_none(
        &csi_nodes,
        &ListParams::default().labels(&updated_selector),
        "CSINode",
    )
    .await;
}

/// `[sig-storage] CSIStorageCapacity should support CSIStorageCapacities API operations [Conformance]`
/// (test/e2e/storage/csistoragecapacity.go).
async fn should_support_csi_storage_capacities_api_operations(apiary: &Apiary) {
    let client = apiary.client().await;
    // f.UniqueName: the test namespace's name.
    let ns = namespace(&client, "csistoragecapacity").await;
    let unique = ns.clone();
    let cscs: Api<CSIStorageCapacity> = Api::namespaced(client.clone(), &ns);
    let cscs_all: Api<CSIStorageCapacity> = Api::all(client.clone());

    // The fictional StorageClass for these objects; all of them carry test=<unique>.
    let sc_name = "e2e.example.com";
    let new_csc = |name_suffix: &str| CSIStorageCapacity {
        metadata: ObjectMeta {
            name: Some(format!("{unique}{name_suffix}")),
            labels: Some(BTreeMap::from([("test".to_string(), unique.clone())])),
            ..Default::default()
        },
        storage_class_name: sc_name.into(),
        ..Default::default()
    };
    let csc = new_csc("-csc1");
    let csc2 = new_csc("-csc2");
    let csc3 = new_csc("-csc3");
    let selector = format!("test={unique}");
    let selected = ListParams::default().labels(&selector);

    // Discovery
    expect_discovery(&client, "storage.k8s.io", "v1", &["csistoragecapacities"]).await;

    // creating
    let pp = PostParams::default();
    let created = cscs.create(&pp, &csc).await.expect("create");
    expect_already_exists(cscs.create(&pp, &csc).await);
    cscs.create(&pp, &csc2).await.expect("create");

    // watching, in the namespace and across namespaces (no resource version: the existing
    // objects come first, as ADDED events)
    let mut watch_ns = watch(&cscs, &selector, "").await;
    let mut watch_all = watch(&cscs_all, &selector, "").await;

    // added for a watch
    cscs.create(&pp, &csc3).await.expect("create");

    // getting
    let name = created.metadata.name.clone().expect("name");
    let gotten = cscs.get(&name).await.expect("get");
    assert_eq!(gotten.metadata.uid, created.metadata.uid);
    rv(&gotten);

    // listing in namespace
    let list = cscs.list(&selected).await.expect("list");
    assert_eq!(
        list.items.len(),
        3,
        "filtered list should have 3 items, got: {:?}",
        list.items
    );

    // listing across namespaces
    let list = cscs_all.list(&selected).await.expect("list");
    assert_eq!(
        list.items.len(),
        3,
        "filtered list should have 3 items, got: {:?}",
        list.items
    );

    // patching
    let patched = cscs
        .patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {"patched": "true"}}})),
        )
        .await
        .expect("patch");
    assert_eq!(
        annotation(&patched, "patched").as_deref(),
        Some("true"),
        "patched object should have the applied annotation"
    );
    assert!(
        rv(&created) < rv(&patched),
        "patched object should have a larger resource version"
    );

    // updating
    let mut to_update = patched.clone();
    to_update
        .metadata
        .annotations
        .get_or_insert_with(Default::default)
        .insert("updated".into(), "true".into());
    let updated = cscs.replace(&name, &pp, &to_update).await.expect("update");
    assert_eq!(
        annotation(&updated, "updated").as_deref(),
        Some("true"),
        "updated object should have the applied annotation"
    );

    // Waiting for watch events with expected annotations: upstream's loop ends at the first
    // ADDED event or MODIFIED event carrying one of the annotations.
    for (kind, events) in [
        ("in namespace", &mut watch_ns),
        ("across namespace", &mut watch_all),
    ] {
        loop {
            match next_event(events).await {
                WatchEvent::Added(_) => break,
                WatchEvent::Modified(watched)
                    if annotation(&watched, "patched").as_deref() == Some("true")
                        || annotation(&watched, "updated").as_deref() == Some("true") =>
                {
                    break;
                }
                WatchEvent::Error(e) => panic!("{kind}: watch error {e:?}"),
                _ => {}
            }
        }
    }
    drop(watch_ns);
    drop(watch_all);

    // deleting
    cscs.delete(&name, &DeleteParams::default())
        .await
        .expect("delete");
    let min = 2;
    let mut max = min;
    match cscs.get(&name).await {
        Err(kube::Error::Api(s)) if s.code == 404 => {}
        Err(e) => panic!("expected 404, got {e:?}"),
        Ok(c)
            if c.metadata.deletion_timestamp.is_some()
                && c.metadata.finalizers.as_ref().is_some_and(|f| !f.is_empty()) =>
        {
            // Held back by a finalizer; it may still go before the list below.
            max += 1;
        }
        Ok(c) => panic!(
            "CSIStorageCapacitity should have been deleted or have DeletionTimestamp and Finalizers, but instead got: {c:?}"
        ),
    }
    let list = cscs.list(&selected).await.expect("list");
    let actual = list.items.len();
    assert!(
        (min..=max).contains(&actual),
        "expected <= {max} and >= {min} remaining CSIStorageCapacity objects, got {actual}: {:?}",
        list.items
    );

    // deleting a collection
    cscs.delete_collection(&DeleteParams::default(), &selected)
        .await
        .expect("delete collection");
    let list = cscs.list(&selected).await.expect("list");
    for c in &list.items {
        // Any remaining object is marked for deletion and only held back by a finalizer.
        assert!(
            c.metadata.deletion_timestamp.is_some()
                && c.metadata.finalizers.as_ref().is_some_and(|f| !f.is_empty()),
            "CSIStorageCapacity should have been deleted or have DeletionTimestamp and Finalizers, but instead got: {c:?}"
        );
    }
}

conformance_tests!(rocksdb_only {
    should_run_through_the_lifecycle_of_a_csi_driver,
    should_support_csi_volume_source_in_pod_api,
    should_run_through_the_lifecycle_of_a_csinode,
    should_support_csi_storage_capacities_api_operations,
});
