//! `test/e2e/storage/persistent_volumes.go`: the PersistentVolumes "CSI Conformance" tests (the PV
//! and PVC API operations and their status subresources; no volume is provisioned or mounted).
//!
//! Neither test waits for a claim to bind: upstream's `e2epv.CreatePVsPVCs` only creates the
//! objects, and no assertion depends on kube-controller-manager's PV controller (the phases read
//! from `/status` may be the ones the API server sets at creation, `Pending`). Confirming that a
//! deleted PV or PVC is gone relies on the `kubernetes.io/pv-protection` and `pvc-protection`
//! finalizers being removed, which kube-controller-manager's protection controllers do upstream and
//! Apiary's in-process storage protection controller does here.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    CSIPersistentVolumeSource, PersistentVolume, PersistentVolumeClaim,
    PersistentVolumeClaimCondition, PersistentVolumeClaimSpec, PersistentVolumeClaimStatus,
    PersistentVolumeSpec, PersistentVolumeStatus, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::common::Apiary;
use crate::shared_apiary::{conformance_tests, namespace};
use crate::upstream_steps::{
    eventually_none, label, patch_label_patched, retry_on_conflict, rv, PatchKind,
};

/// `e2epv.VolumeSelectorKey`.
const VOLUME_SELECTOR_KEY: &str = "e2e-pv-pool";

fn storage(size: &str) -> BTreeMap<String, Quantity> {
    BTreeMap::from([("storage".to_string(), Quantity(size.into()))])
}

/// `e2epv.MakePersistentVolume` of the tests' `PersistentVolumeConfig`: named `<ns>-<random>`,
/// labelled `e2e-pv-pool=<ns>`, of StorageClass `<ns>`, a CSI volume of `driver`.
fn make_persistent_volume(ns: &str, driver: &str, volume_handle: &str) -> PersistentVolume {
    PersistentVolume {
        metadata: ObjectMeta {
            generate_name: Some(format!("{ns}-")),
            labels: Some(BTreeMap::from([(
                VOLUME_SELECTOR_KEY.to_string(),
                ns.to_string(),
            )])),
            annotations: Some(BTreeMap::from([(
                "pv.beta.kubernetes.io/gid".to_string(),
                "777".to_string(),
            )])),
            ..Default::default()
        },
        spec: Some(PersistentVolumeSpec {
            persistent_volume_reclaim_policy: Some("Retain".into()),
            capacity: Some(storage("2Gi")),
            csi: Some(CSIPersistentVolumeSource {
                driver: driver.into(),
                volume_handle: volume_handle.into(),
                ..Default::default()
            }),
            access_modes: Some(vec!["ReadWriteOnce".into()]),
            storage_class_name: Some(ns.into()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// `e2epv.MakePersistentVolumeClaim` with `StorageClassName: &ns`.
fn make_persistent_volume_claim(ns: &str) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata: ObjectMeta {
            generate_name: Some("pvc-".into()),
            namespace: Some(ns.into()),
            ..Default::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".into()]),
            resources: Some(VolumeResourceRequirements {
                requests: Some(storage("2Gi")),
                ..Default::default()
            }),
            storage_class_name: Some(ns.into()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// `e2epv.CreatePVsPVCs(ctx, 1, 1, ..)`: one PV, then one claim (not pre-bound); their names.
async fn create_pv_pvc(
    pvs: &Api<PersistentVolume>,
    pvcs: &Api<PersistentVolumeClaim>,
    ns: &str,
    driver: &str,
    volume_handle: &str,
) -> (String, String) {
    let pv = pvs
        .create(
            &PostParams::default(),
            &make_persistent_volume(ns, driver, volume_handle),
        )
        .await
        .unwrap_or_else(|e| {
            panic!("Failed to create the requested storage resources: PV Create API error: {e}")
        });
    let pvc = pvcs
        .create(&PostParams::default(), &make_persistent_volume_claim(ns))
        .await
        .unwrap_or_else(|e| {
            panic!("Failed to create the requested storage resources: PVC Create API error: {e}")
        });
    (
        pv.metadata.name.expect("PV name"),
        pvc.metadata.name.expect("PVC name"),
    )
}

/// The `AfterEach`'s `e2epv.PVPVCMapCleanup`: deletes the claim, then the volume, a 404 being fine.
async fn cleanup(
    pvs: &Api<PersistentVolume>,
    pvcs: &Api<PersistentVolumeClaim>,
    pv_name: &str,
    pvc_name: &str,
) {
    let mut errors = Vec::new();
    match pvcs.delete(pvc_name, &DeleteParams::default()).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 404 => {}
        Err(e) => errors.push(format!("failed to delete PVC {pvc_name:?}: {e}")),
    }
    match pvs.delete(pv_name, &DeleteParams::default()).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 404 => {}
        Err(e) => errors.push(format!("failed to delete PV {pv_name:?}: {e}")),
    }
    assert!(
        errors.is_empty(),
        "AfterEach: Failed to delete 1 or more PVs/PVCs. Errors: {}",
        errors.join("; ")
    );
}

/// `[sig-storage] PersistentVolumes CSI Conformance should run through the lifecycle of a PV and a PVC [Conformance]`
/// (test/e2e/storage/persistent_volumes.go).
async fn should_run_through_the_lifecycle_of_a_pv_and_a_pvc(apiary: &Apiary) {
    let client = apiary.client().await;
    let ns = namespace(&client, "pv").await;
    let pvs: Api<PersistentVolume> = Api::all(client.clone());
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), &ns);
    let vol_selector = format!("{VOLUME_SELECTOR_KEY}={ns}");

    // Creating initial PV and PVC. Upstream configures a CSIDriver object but only uses its name
    // (`inline-driver-<uuid>`) as the volume's driver; the object is never created.
    let driver = format!("inline-driver-{}", uuid::Uuid::new_v4());
    create_pv_pvc(&pvs, &pvcs, &ns, &driver, "e2e-conformance").await;

    // Listing all PVs with the label selector
    let list = pvs
        .list(&ListParams::default().labels(&vol_selector))
        .await
        .unwrap_or_else(|e| {
            panic!("Failed to list PVs with the labelSelector: {vol_selector:?}: {e}")
        });
    assert_eq!(list.items.len(), 1, "{:?}", list.items);
    let initial_pv = list.items[0].clone();
    rv(&initial_pv);

    // Listing PVCs in the namespace
    let list = pvcs.list(&ListParams::default()).await.unwrap_or_else(|e| {
        panic!("Failed to list PVCs with the labelSelector: {vol_selector:?}: {e}")
    });
    assert_eq!(list.items.len(), 1, "{:?}", list.items);
    let initial_pvc = list.items[0].clone();
    rv(&initial_pvc);

    // Patching the PV
    let patched_pv = patch_label_patched(&pvs, &initial_pv, PatchKind::Strategic).await;
    let patched_pv_name = patched_pv.metadata.name.clone().expect("name");

    // Patching the PVC
    let patched_pvc = patch_label_patched(&pvcs, &initial_pvc, PatchKind::Strategic).await;
    let patched_pvc_name = patched_pvc.metadata.name.clone().expect("name");

    // Getting the PV
    let retrieved_pv = pvs
        .get(&patched_pv_name)
        .await
        .unwrap_or_else(|e| panic!("Failed to get PV {patched_pv_name:?}: {e}"));
    assert_eq!(retrieved_pv.metadata.uid, patched_pv.metadata.uid);
    let retrieved_pv_name = retrieved_pv.metadata.name.clone().expect("name");

    // Getting the PVC
    let retrieved_pvc = pvcs
        .get(&patched_pvc_name)
        .await
        .unwrap_or_else(|e| panic!("Failed to get PVC {patched_pvc_name:?}: {e}"));
    assert_eq!(retrieved_pvc.metadata.uid, patched_pvc.metadata.uid);
    let retrieved_pvc_name = retrieved_pvc.metadata.name.clone().expect("name");

    // Deleting the PVC and confirming its deletion (every PVC of the namespace)
    pvcs.delete(&retrieved_pvc_name, &DeleteParams::default())
        .await
        .unwrap_or_else(|e| panic!("Failed to delete PVC {retrieved_pvc_name:?}: {e}"));
    eventually_none(&pvcs, &ListParams::default(), "pvc").await;

    // Deleting the PV and confirming its deletion
    pvs.delete(&retrieved_pv_name, &DeleteParams::default())
        .await
        .unwrap_or_else(|e| panic!("Failed to delete PV {retrieved_pv_name:?}: {e}"));
    eventually_none(&pvs, &ListParams::default().labels(&vol_selector), "pv").await;

    // Recreating another PV & PVC
    let (pv_name, pvc_name) = create_pv_pvc(&pvs, &pvcs, &ns, &driver, "e2e-conformance").await;

    // Updating the PV
    let pv_selector = format!("{pv_name}=updated");
    let updated_pv = retry_on_conflict(|| {
        let pvs = pvs.clone();
        let pv_name = pv_name.clone();
        async move {
            let mut pv = pvs
                .get(&pv_name)
                .await
                .unwrap_or_else(|e| panic!("Unable to get PV {pv_name:?}: {e}"));
            pv.metadata
                .labels
                .get_or_insert_with(Default::default)
                .insert(pv_name.clone(), "updated".into());
            pvs.replace(&pv_name, &PostParams::default(), &pv).await
        }
    })
    .await
    .unwrap_or_else(|e| panic!("failed to update PV {pv_name:?}: {e}"));
    assert_eq!(
        label(&updated_pv, &pv_name).as_deref(),
        Some("updated"),
        "Checking that updated label has been applied"
    );

    // Updating the PVC
    let pvc_selector = format!("{pvc_name}=updated");
    let updated_pvc = retry_on_conflict(|| {
        let pvcs = pvcs.clone();
        let pvc_name = pvc_name.clone();
        async move {
            let mut pvc = pvcs
                .get(&pvc_name)
                .await
                .unwrap_or_else(|e| panic!("Unable to get PVC {pvc_name:?}: {e}"));
            pvc.metadata.labels = Some(BTreeMap::from([(pvc_name.clone(), "updated".into())]));
            pvcs.replace(&pvc_name, &PostParams::default(), &pvc).await
        }
    })
    .await
    .unwrap_or_else(|e| panic!("failed to update PVC {pvc_name:?}: {e}"));
    assert_eq!(
        label(&updated_pvc, &pvc_name).as_deref(),
        Some("updated"),
        "Checking that updated label has been applied"
    );

    // Listing PVCs in all namespaces with the label selector
    let all_pvcs: Api<PersistentVolumeClaim> = Api::all(client.clone());
    let list = all_pvcs
        .list(&ListParams::default().labels(&pvc_selector))
        .await
        .unwrap_or_else(|e| {
            panic!(
                "Failed to list PVCs in all namespaces with the labelSelector: {pvc_selector:?}: {e}"
            )
        });
    assert_eq!(list.items.len(), 1, "{:?}", list.items);

    // Deleting the PVC via DeleteCollection and confirming its deletion
    let selected_pvcs = ListParams::default().labels(&pvc_selector);
    pvcs.delete_collection(&DeleteParams::default(), &selected_pvcs)
        .await
        .unwrap_or_else(|e| panic!("Failed to delete PVC {pvc_name:?}: {e}"));
    eventually_none(&pvcs, &selected_pvcs, "pvc").await;

    // Deleting the PV via DeleteCollection and confirming its deletion
    let selected_pvs = ListParams::default().labels(&pv_selector);
    pvs.delete_collection(&DeleteParams::default(), &selected_pvs)
        .await
        .unwrap_or_else(|e| panic!("Failed to delete PV {pv_name:?}: {e}"));
    eventually_none(&pvs, &selected_pvs, "pv").await;

    // AfterEach
    cleanup(&pvs, &pvcs, &pv_name, &pvc_name).await;
}

/// The claim's conditions of `type_` (gstruct's `MatchElements` keyed by type, `IgnoreExtras`):
/// exactly one, whose message and reason contain the expected text.
fn expect_claim_condition(
    pvc: &PersistentVolumeClaim,
    type_: &str,
    reason: &str,
    message: &str,
    what: &str,
) {
    let conditions = pvc
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default();
    let matching: Vec<&PersistentVolumeClaimCondition> =
        conditions.iter().filter(|c| c.type_ == type_).collect();
    assert_eq!(matching.len(), 1, "{what}: {conditions:?}");
    let condition = matching[0];
    assert!(
        condition
            .message
            .as_deref()
            .unwrap_or_default()
            .contains(message)
            && condition
                .reason
                .as_deref()
                .unwrap_or_default()
                .contains(reason),
        "{what}: {condition:?}"
    );
}

/// `[sig-storage] PersistentVolumes CSI Conformance should apply changes to a pv/pvc status [Conformance]`
/// (test/e2e/storage/persistent_volumes.go).
async fn should_apply_changes_to_a_pv_pvc_status(apiary: &Apiary) {
    let client = apiary.client().await;
    let ns = namespace(&client, "pv").await;
    let pvs: Api<PersistentVolume> = Api::all(client.clone());
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), &ns);
    let vol_selector = format!("{VOLUME_SELECTOR_KEY}={ns}");

    // Creating initial PV and PVC
    let driver = format!("e2e-driver-{}", uuid::Uuid::new_v4());
    let (pv_name, pvc_name) =
        create_pv_pvc(&pvs, &pvcs, &ns, &driver, "e2e-status-conformance").await;

    // Listing all PVs with the label selector
    let list = pvs
        .list(&ListParams::default().labels(&vol_selector))
        .await
        .unwrap_or_else(|e| {
            panic!("Failed to list PVs with the labelSelector: {vol_selector:?}: {e}")
        });
    assert_eq!(list.items.len(), 1, "{:?}", list.items);
    let initial_pv = list.items[0].clone();
    let initial_pv_name = initial_pv.metadata.name.clone().expect("name");

    // Listing PVCs in the namespace
    let list = pvcs.list(&ListParams::default()).await.unwrap_or_else(|e| {
        panic!("Failed to list PVCs with the labelSelector: {vol_selector:?}: {e}")
    });
    assert_eq!(list.items.len(), 1, "{:?}", list.items);
    let initial_pvc = list.items[0].clone();
    let initial_pvc_name = initial_pvc.metadata.name.clone().expect("name");

    // Reading the PVC's status
    let retrieved_pvc = pvcs
        .get_status(&initial_pvc_name)
        .await
        .unwrap_or_else(|e| {
            panic!("Failed to fetch the status of PVC {initial_pvc_name} in namespace {ns}: {e}")
        });
    let phase = retrieved_pvc
        .status
        .as_ref()
        .and_then(|s| s.phase.clone())
        .unwrap_or_default();
    assert!(
        phase == "Pending" || phase == "Bound",
        "Checking that the PVC status has been read: {phase:?}"
    );

    // Reading the PV's status
    let retrieved_pv = pvs.get_status(&initial_pv_name).await.unwrap_or_else(|e| {
        panic!("Failed to fetch the status of PV {initial_pv_name} in namespace {ns}: {e}")
    });
    let phase = retrieved_pv
        .status
        .as_ref()
        .and_then(|s| s.phase.clone())
        .unwrap_or_default();
    assert!(
        ["Available", "Bound", "Pending"].contains(&phase.as_str()),
        "Checking that the PV status has been read: {phase:?}"
    );
    let retrieved_pv_name = retrieved_pv.metadata.name.clone().expect("name");

    // Patching the PVC's status
    let patched_pvc = pvcs
        .patch_status(
            &initial_pvc_name,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"conditions": [{
                "type": "StatusPatched",
                "status": "True",
                "reason": "E2E patchedStatus",
                "message": "Set from e2e test",
            }]}})),
        )
        .await
        .expect("Failed to patch status.");
    expect_claim_condition(
        &patched_pvc,
        "StatusPatched",
        "E2E patchedStatus",
        "Set from e2e test",
        "Checking that patched status has been applied",
    );
    let patched_pvc_name = patched_pvc.metadata.name.clone().expect("name");

    // Patching the PV's status
    let patched_pv = pvs
        .patch_status(
            &retrieved_pv_name,
            &PatchParams::default(),
            &Patch::Merge(
                json!({"status": {"message": "StatusPatched", "reason": "E2E patchStatus"}}),
            ),
        )
        .await
        .unwrap_or_else(|e| panic!("Failed to patch {retrieved_pv_name:?} status: {e}"));
    let status = patched_pv.status.clone().unwrap_or_default();
    assert_eq!(
        status.reason.as_deref(),
        Some("E2E patchStatus"),
        "Checking that patched status has been applied"
    );
    assert_eq!(
        status.message.as_deref(),
        Some("StatusPatched"),
        "Checking that patched status has been applied"
    );
    let patched_pv_name = patched_pv.metadata.name.clone().expect("name");

    // Updating the PVC's status
    let updated_pvc = retry_on_conflict(|| {
        let pvcs = pvcs.clone();
        let name = patched_pvc_name.clone();
        async move {
            let mut to_update = pvcs
                .get(&name)
                .await
                .unwrap_or_else(|e| panic!("Unable to retrieve pvc {name}: {e}"));
            to_update
                .status
                .get_or_insert_with(PersistentVolumeClaimStatus::default)
                .conditions
                .get_or_insert_with(Vec::new)
                .push(PersistentVolumeClaimCondition {
                    type_: "StatusUpdated".into(),
                    status: "True".into(),
                    reason: Some("E2E updateStatus".into()),
                    message: Some("Set from e2e test".into()),
                    ..Default::default()
                });
            pvcs.replace_status(&name, &PostParams::default(), &to_update)
                .await
        }
    })
    .await
    .expect("Failed to update status.");
    expect_claim_condition(
        &updated_pvc,
        "StatusUpdated",
        "E2E updateStatus",
        "Set from e2e test",
        "Checking that updated status has been applied",
    );

    // Updating the PV's status
    let updated_pv = retry_on_conflict(|| {
        let pvs = pvs.clone();
        let name = patched_pv_name.clone();
        async move {
            let mut to_update = pvs
                .get(&name)
                .await
                .unwrap_or_else(|e| panic!("Unable to retrieve pv {name}: {e}"));
            let status = to_update
                .status
                .get_or_insert_with(PersistentVolumeStatus::default);
            status.reason = Some("E2E updateStatus".into());
            status.message = Some("StatusUpdated".into());
            pvs.replace_status(&name, &PostParams::default(), &to_update)
                .await
        }
    })
    .await
    .expect("Failed to update status.");
    let status = updated_pv.status.clone().unwrap_or_default();
    assert_eq!(
        status.reason.as_deref(),
        Some("E2E updateStatus"),
        "Checking that updated status has been applied"
    );
    assert_eq!(
        status.message.as_deref(),
        Some("StatusUpdated"),
        "Checking that updated status has been applied"
    );

    // AfterEach
    cleanup(&pvs, &pvcs, &pv_name, &pvc_name).await;
}

conformance_tests!(rocksdb_only {
    should_apply_changes_to_a_pv_pvc_status,
    should_run_through_the_lifecycle_of_a_pv_and_a_pvc,
});
