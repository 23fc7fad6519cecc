//! `test/e2e/storage/storageclass.go` and `volume_attachment.go`: the StorageClass and
//! VolumeAttachment conformance tests (API operations and the VolumeAttachment status
//! subresource; nothing is provisioned or attached).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Node;
use k8s_openapi::api::storage::v1::{
    StorageClass, VolumeAttachment, VolumeAttachmentSource, VolumeAttachmentSpec,
    VolumeAttachmentStatus,
};
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::common::Apiary;
use crate::shared_apiary::conformance_tests;
use crate::upstream_steps::{
    eventually_none, label, patch_label_patched, rand5, retry_on_conflict, rv, PatchKind,
};

/// `[sig-storage] StorageClasses CSI Conformance should run through the lifecycle of a StorageClass [Conformance]`
/// (test/e2e/storage/storageclass.go).
async fn should_run_through_the_lifecycle_of_a_storage_class(apiary: &Apiary) {
    let client = apiary.client().await;
    let classes: Api<StorageClass> = Api::all(client.clone());
    let pp = PostParams::default();

    let initial = StorageClass {
        metadata: ObjectMeta {
            generate_name: Some("e2e-".into()),
            ..Default::default()
        },
        provisioner: "e2e-fake-provisioner".into(),
        ..Default::default()
    };

    // Creating a StorageClass
    let created = classes
        .create(&pp, &initial)
        .await
        .expect("failed to create the requested StorageClass");
    rv(&created);
    let created_name = created.metadata.name.clone().expect("generated name");

    // Get the StorageClass
    let retrieved = classes
        .get(&created_name)
        .await
        .unwrap_or_else(|e| panic!("failed to get StorageClass {created_name:?}: {e}"));
    // Patching the StorageClass
    let patched = patch_label_patched(&classes, &retrieved, PatchKind::Strategic).await;
    let patched_name = patched.metadata.name.clone().expect("name");

    // Delete the StorageClass and confirm its deletion
    classes
        .delete(&patched_name, &DeleteParams::default())
        .await
        .unwrap_or_else(|e| panic!("failed to delete StorageClass {patched_name:?}: {e}"));
    let sc_selector = format!("{patched_name}=patched");
    eventually_none(
        &classes,
        &ListParams::default().labels(&sc_selector),
        "StorageClass",
    )
    .await;

    // Create a replacement StorageClass
    let replacement = StorageClass {
        metadata: ObjectMeta {
            generate_name: Some("e2e-v2-".into()),
            ..Default::default()
        },
        provisioner: "e2e-fake-provisioner".into(),
        ..Default::default()
    };
    let replacement = classes
        .create(&pp, &replacement)
        .await
        .expect("failed to create replacement StorageClass");
    let replacement_name = replacement.metadata.name.clone().expect("generated name");

    // Updating the replacement StorageClass
    let updated = retry_on_conflict(|| {
        let classes = classes.clone();
        let name = replacement_name.clone();
        async move {
            let mut sc = classes
                .get(&name)
                .await
                .unwrap_or_else(|e| panic!("unable to get Storage {name:?}: {e}"));
            sc.metadata.labels = Some(BTreeMap::from([(name.clone(), "updated".to_string())]));
            classes.replace(&name, &PostParams::default(), &sc).await
        }
    })
    .await
    .unwrap_or_else(|e| panic!("failed to update StorageClass {replacement_name:?}: {e}"));
    assert_eq!(
        label(&updated, &replacement_name).as_deref(),
        Some("updated"),
        "checking that updated label has been applied"
    );

    // Listing all StorageClasses with the updated label
    let sc_selector = format!("{replacement_name}=updated");
    let list = classes
        .list(&ListParams::default().labels(&sc_selector))
        .await
        .unwrap_or_else(|e| {
            panic!("failed to list StorageClasses with the labelSelector: {sc_selector:?}: {e}")
        });
    assert_eq!(list.items.len(), 1, "{:?}", list.items);

    // Deleting the StorageClass via DeleteCollection and confirming its deletion
    let updated_name = updated.metadata.name.clone().expect("name");
    classes
        .delete_collection(
            &DeleteParams::default(),
            &ListParams::default().labels(&sc_selector),
        )
        .await
        .unwrap_or_else(|e| panic!("failed to delete StorageClass {updated_name:?}: {e}"));
    eventually_none(
        &classes,
        &ListParams::default().labels(&sc_selector),
        "StorageClass",
    )
    .await;
}

/// Upstream's `NewVolumeAttachment`.
fn new_volume_attachment(
    va_name: &str,
    pv_name: &str,
    node_name: &str,
    status: bool,
) -> VolumeAttachment {
    VolumeAttachment {
        metadata: ObjectMeta {
            uid: Some(va_name.into()),
            name: Some(va_name.into()),
            ..Default::default()
        },
        spec: VolumeAttachmentSpec {
            attacher: "e2e-test.storage.k8s.io".into(),
            node_name: node_name.into(),
            source: VolumeAttachmentSource {
                persistent_volume_name: Some(pv_name.into()),
                ..Default::default()
            },
        },
        status: Some(VolumeAttachmentStatus {
            attached: status,
            ..Default::default()
        }),
    }
}

/// Upstream picks a random one of the cluster's nodes. The API server does not check that a
/// VolumeAttachment's node exists, and without a kubelet no Node may be registered (upstream's
/// `rand.Intn(0)` would panic), so then a made-up node name stands in.
async fn random_node_name(client: &kube::Client) -> String {
    let nodes = Api::<Node>::all(client.clone())
        .list(&ListParams::default())
        .await
        .expect("failed to list nodes");
    if nodes.items.is_empty() {
        return format!("e2e-node-{}", rand5());
    }
    let index = uuid::Uuid::new_v4().as_u128() as usize % nodes.items.len();
    nodes.items[index].metadata.name.clone().expect("node name")
}

/// Upstream's `createVolumeAttachment`: the attachment's name and node.
async fn create_volume_attachment(client: &kube::Client) -> (String, String) {
    let rand_uid = format!("e2e-{}", rand5());
    let va_name = format!("va-{rand_uid}");
    let pv_name = format!("pv-{rand_uid}");
    let node_name = random_node_name(client).await;

    // Create the VolumeAttachment
    let va = new_volume_attachment(&va_name, &pv_name, &node_name, false);
    let created = Api::<VolumeAttachment>::all(client.clone())
        .create(&PostParams::default(), &va)
        .await
        .unwrap_or_else(|e| panic!("failed to create VolumeAttachment {va_name:?}: {e}"));
    assert_eq!(
        created.metadata.name.as_deref(),
        Some(va_name.as_str()),
        "Checking that the created VolumeAttachment has the correct name"
    );
    (va_name, node_name)
}

/// `[sig-storage] VolumeAttachment Conformance should run through the lifecycle of a VolumeAttachment [Conformance]`
/// (test/e2e/storage/volume_attachment.go).
async fn should_run_through_the_lifecycle_of_a_volume_attachment(apiary: &Apiary) {
    let client = apiary.client().await;
    let attachments: Api<VolumeAttachment> = Api::all(client.clone());

    let (first_va, node) = create_volume_attachment(&client).await;
    // Get the VolumeAttachment
    let retrieved = attachments
        .get(&first_va)
        .await
        .unwrap_or_else(|e| panic!("failed to get VolumeAttachment {first_va:?} on {node:?}: {e}"));
    assert_eq!(
        retrieved.metadata.name.as_deref(),
        Some(first_va.as_str()),
        "Checking that retrieved VolumeAttachment has the correct name"
    );
    rv(&retrieved);

    // Patch the VolumeAttachment
    let patched = patch_label_patched(&attachments, &retrieved, PatchKind::Merge).await;
    let patched_name = patched.metadata.name.clone().expect("name");

    // List VolumeAttachments with the patched label
    let patched_selector = format!("{patched_name}=patched");
    let list = attachments
        .list(&ListParams::default().labels(&patched_selector))
        .await
        .expect("failed to list VolumeAttachments");
    assert_eq!(list.items.len(), 1, "{:?}", list.items);

    // Delete the VolumeAttachment and confirm its deletion
    attachments
        .delete(&first_va, &DeleteParams::default())
        .await
        .unwrap_or_else(|e| panic!("failed to delete VolumeAttachment {first_va:?}: {e}"));
    eventually_none(
        &attachments,
        &ListParams::default().labels(&patched_selector),
        "VolumeAttachment",
    )
    .await;

    // A second and a third VolumeAttachment, each updated with the label va-e2e=updated.
    let updated_label = BTreeMap::from([("va-e2e".to_string(), "updated".to_string())]);
    let updated_selector = "va-e2e=updated";
    for _ in 0..2 {
        let (va, node) = create_volume_attachment(&client).await;
        // Update the VolumeAttachment with the label
        let updated = retry_on_conflict(|| {
            let attachments = attachments.clone();
            let va = va.clone();
            let updated_label = updated_label.clone();
            let patched_name = patched_name.clone();
            async move {
                let mut current = attachments.get(&va).await.unwrap_or_else(|e| {
                    panic!("failed to get VolumeAttachment {patched_name:?}: {e}")
                });
                current.metadata.labels = Some(updated_label);
                attachments
                    .replace(&va, &PostParams::default(), &current)
                    .await
            }
        })
        .await
        .unwrap_or_else(|e| {
            panic!("failed to update VolumeAttachment {va:?} on node {node:?}: {e}")
        });
        assert_eq!(
            label(&updated, "va-e2e").as_deref(),
            Some("updated"),
            "Checking that updated label has been applied"
        );
    }

    // DeleteCollection of VolumeAttachments with the updated label, and confirm the deletion
    attachments
        .delete_collection(
            &DeleteParams::default(),
            &ListParams::default().labels(updated_selector),
        )
        .await
        .expect("failed to delete VolumeAttachment collection");
    eventually_none(
        &attachments,
        &ListParams::default().labels(updated_selector),
        "VolumeAttachment",
    )
    .await;
}

/// `[sig-storage] VolumeAttachment Conformance should apply changes to a volumeattachment status [Conformance]`
/// (test/e2e/storage/volume_attachment.go).
async fn should_apply_changes_to_a_volumeattachment_status(apiary: &Apiary) {
    let client = apiary.client().await;
    let attachments: Api<VolumeAttachment> = Api::all(client.clone());

    let rand_uid = format!("e2e-{}", rand5());
    let va_name = format!("va-{rand_uid}");
    let pv_name = format!("pv-{rand_uid}");
    let node = random_node_name(&client).await;

    // Create the VolumeAttachment
    let initial = new_volume_attachment(&va_name, &pv_name, &node, false);
    let created = attachments
        .create(&PostParams::default(), &initial)
        .await
        .unwrap_or_else(|e| panic!("failed to create VolumeAttachment {va_name:?}: {e}"));
    assert_eq!(
        created.metadata.name.as_deref(),
        Some(va_name.as_str()),
        "Checking that the created VolumeAttachment has the correct name"
    );

    // Patch the VolumeAttachment
    let patched = attachments
        .patch(
            &va_name,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {va_name.clone(): "patched"}}})),
        )
        .await
        .unwrap_or_else(|e| panic!("failed to patch PV {va_name:?}: {e}"));
    let patched_name = patched.metadata.name.clone().expect("name");
    assert_eq!(
        label(&patched, &patched_name).as_deref(),
        Some("patched"),
        "Checking that patched label has been applied"
    );
    let patched_selector = format!("{patched_name}=patched");

    // Reading the status
    let retrieved = attachments
        .get_status(&patched_name)
        .await
        .unwrap_or_else(|e| {
            panic!("Failed to fetch the status of {patched_name:?} VolumeAttachment: {e}")
        });
    assert!(
        !retrieved.status.as_ref().is_some_and(|s| s.attached),
        "Checking that the VolumeAttachment status has been read"
    );

    // Patching the status
    let va_patched = attachments
        .patch_status(
            &patched_name,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"attached": true}})),
        )
        .await
        .expect("Failed to patch status.");
    assert!(
        va_patched.status.as_ref().is_some_and(|s| s.attached),
        "Checking that the VolumeAttachment status has been patched"
    );
    let va_patched_name = va_patched.metadata.name.clone().expect("name");

    // Updating the status
    let updated = retry_on_conflict(|| {
        let attachments = attachments.clone();
        let name = va_patched_name.clone();
        async move {
            let mut to_update = attachments
                .get(&name)
                .await
                .unwrap_or_else(|e| panic!("Unable to retrieve VolumeAttachment {name:?}: {e}"));
            to_update
                .status
                .get_or_insert_with(VolumeAttachmentStatus::default)
                .attached = false;
            attachments
                .replace_status(&name, &PostParams::default(), &to_update)
                .await
        }
    })
    .await
    .expect("Failed to update status.");
    assert!(
        !updated.status.as_ref().is_some_and(|s| s.attached),
        "Checking that the VolumeAttachment status has been updated"
    );

    // Delete the VolumeAttachment and confirm its deletion
    attachments
        .delete(&va_name, &DeleteParams::default())
        .await
        .unwrap_or_else(|e| panic!("failed to delete VolumeAttachment {va_name:?}: {e}"));
    eventually_none(
        &attachments,
        &ListParams::default().labels(&patched_selector),
        "VolumeAttachment",
    )
    .await;
}

conformance_tests!(rocksdb_only {
    should_run_through_the_lifecycle_of_a_storage_class,
    should_run_through_the_lifecycle_of_a_volume_attachment,
    should_apply_changes_to_a_volumeattachment_status,
});
