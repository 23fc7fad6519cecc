//! `test/e2e/scheduling/preemption.go`: the SchedulerPreemption conformance test that needs only
//! the API server (the PriorityClass endpoints).

use std::collections::BTreeMap;

use k8s_openapi::api::scheduling::v1::PriorityClass;
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams};
use serde_json::{Map, Value};

use crate::common::Apiary;
use crate::shared_apiary::{conformance_tests, namespace};

/// Upstream's `patchPriorityClass`: a two-way strategic merge patch from `old` to `new`, which
/// differ only in top-level scalar fields (`value`, `description`), so it holds the fields that
/// changed (null for those removed).
async fn patch_priority_class(
    classes: &Api<PriorityClass>,
    old: &PriorityClass,
    new: &PriorityClass,
) -> kube::Result<PriorityClass> {
    let old_json = serde_json::to_value(old).expect("old PriorityClass");
    let new_json = serde_json::to_value(new).expect("new PriorityClass");
    let empty = Map::new();
    let old_fields = old_json.as_object().unwrap_or(&empty);
    let new_fields = new_json.as_object().unwrap_or(&empty);
    let mut patch = Map::new();
    for (key, value) in new_fields {
        if old_fields.get(key) != Some(value) {
            patch.insert(key.clone(), value.clone());
        }
    }
    for key in old_fields.keys() {
        if !new_fields.contains_key(key) {
            patch.insert(key.clone(), Value::Null);
        }
    }
    let name = old.metadata.name.as_deref().expect("name");
    classes
        .patch(
            name,
            &PatchParams::default(),
            &Patch::Strategic(Value::Object(patch)),
        )
        .await
}

/// `[sig-scheduling] SchedulerPreemption [Serial] PriorityClass endpoints verify PriorityClass endpoints can be operated with different HTTP methods [Conformance]`
/// (test/e2e/scheduling/preemption.go).
async fn verify_priority_class_endpoints_can_be_operated_with_different_http_methods(
    apiary: &Apiary,
) {
    let client = apiary.client().await;
    // The test's namespace; its name makes this test's cluster-scoped names unique on the shared
    // server (upstream names the classes `p1`, `p2` and `sched-preemption-*-priority`).
    let unique = namespace(&client, "sched-preemption-path").await;
    let classes: Api<PriorityClass> = Api::all(client.clone());
    let pp = PostParams::default();

    // The SchedulerPreemption BeforeEach, its API-server part: the low, medium and high priority
    // classes (an existing one is fine). Adaptation: upstream then waits for the nodes to be
    // healthy and requires ready schedulable nodes, which only kubelets provide; this test uses
    // no node, so that part is left out.
    let priority_pairs = [
        (format!("{unique}-low-priority"), 1),
        (format!("{unique}-medium-priority"), 100),
        (format!("{unique}-high-priority"), 1000),
    ];
    for (name, value) in &priority_pairs {
        let pc = PriorityClass {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                ..Default::default()
            },
            value: *value,
            ..Default::default()
        };
        match classes.create(&pp, &pc).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 409 && s.reason == "AlreadyExists" => {}
            Err(e) => panic!("expected 'alreadyExists' as error, got instead: {e}"),
        }
    }

    // The PriorityClass endpoints BeforeEach: p1 and p2, labelled with the test's id.
    let test_uuid = unique.clone();
    let mut pcs = Vec::new();
    for i in 1..=2 {
        let pc = PriorityClass {
            metadata: ObjectMeta {
                name: Some(format!("{unique}-p{i}")),
                labels: Some(BTreeMap::from([("e2e".into(), test_uuid.clone())])),
                ..Default::default()
            },
            value: i,
            ..Default::default()
        };
        let created = classes
            .create(&pp, &pc)
            .await
            .unwrap_or_else(|e| panic!("Failed to create priority {unique}-p{i}/{i}: {e}"));
        pcs.push(created);
    }

    // 1. Patch/Update on immutable fields will fail.
    let mut pc_copy = pcs[0].clone();
    pc_copy.value *= 10;
    let err = patch_priority_class(&classes, &pcs[0], &pc_copy).await;
    assert!(err.is_err(), "expect a patch error on an immutable field");

    let mut pc_copy = pcs[1].clone();
    pc_copy.value *= 10;
    let name1 = pcs[1].metadata.name.clone().expect("name");
    let err = classes.replace(&name1, &pp, &pc_copy).await;
    assert!(err.is_err(), "expect an update error on an immutable field");

    // 2. Patch/Update on mutable fields will succeed.
    let new_desc = "updated description";
    let mut pc_copy = pcs[0].clone();
    pc_copy.description = Some(new_desc.into());
    patch_priority_class(&classes, &pcs[0], &pc_copy)
        .await
        .expect("patch the description");

    let mut pc_copy = pcs[1].clone();
    pc_copy.description = Some(new_desc.into());
    classes
        .replace(&name1, &pp, &pc_copy)
        .await
        .expect("update the description");

    // 3. List existing PriorityClasses.
    classes
        .list(&ListParams::default())
        .await
        .expect("list PriorityClasses");

    // 4. Verify fields of updated PriorityClasses.
    for pc in &pcs {
        let name = pc.metadata.name.as_deref().expect("name");
        let live = classes.get(name).await.expect("get PriorityClass");
        assert_eq!(live.value, pc.value);
        assert_eq!(live.description.as_deref(), Some(new_desc));
    }

    // The PriorityClass endpoints AfterEach: delete the created classes as a collection.
    classes
        .delete_collection(
            &DeleteParams::default(),
            &ListParams::default().labels(&format!("e2e={test_uuid}")),
        )
        .await
        .expect("delete the PriorityClasses");

    // The SchedulerPreemption AfterEach: delete the priority classes (errors ignored); there are
    // no nodes to restore.
    for (name, _) in &priority_pairs {
        let _ = classes
            .delete(name, &DeleteParams::default().grace_period(0))
            .await;
    }
}

conformance_tests!(rocksdb_only {
    verify_priority_class_endpoints_can_be_operated_with_different_http_methods,
});
