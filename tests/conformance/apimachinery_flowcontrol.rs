//! `test/e2e/apimachinery/flowcontrol.go`: the API priority and fairness conformance tests (the
//! FlowSchema and PriorityLevelConfiguration API operations).

use std::collections::BTreeMap;
use std::fmt::Debug;

use k8s_openapi::api::flowcontrol::v1::{
    FlowDistinguisherMethod, FlowSchema, FlowSchemaCondition, FlowSchemaSpec, FlowSchemaStatus,
    LimitResponse, LimitedPriorityLevelConfiguration, NonResourcePolicyRule,
    PolicyRulesWithSubjects, PriorityLevelConfiguration, PriorityLevelConfigurationCondition,
    PriorityLevelConfigurationReference, PriorityLevelConfigurationSpec,
    PriorityLevelConfigurationStatus, Subject, UserSubject,
};
use kube::api::{
    Api, DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams, WatchEvent,
};
use kube::Resource;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

use crate::common::Apiary;
use crate::shared_apiary::conformance_tests;
use crate::upstream_steps::{expect_discovery, get_json, next_event, suffix, watch};

const GROUP: &str = "flowcontrol.apiserver.k8s.io";

/// What differs between the FlowSchema and the PriorityLevelConfiguration test.
struct Case<K> {
    resource: &'static str,
    kind: &'static str,
    label_key: &'static str,
    template: fn(ObjectMeta) -> K,
    patch: Value,
    /// The patched spec field's value.
    patched_spec: fn(&K) -> Option<i32>,
    patched_value: i32,
    /// Sets the updated spec field's value.
    update_spec: fn(&mut K, i32),
    updated_value: i32,
    /// The status condition types.
    condition_types: fn(&K) -> Vec<String>,
    /// Appends upstream's `StatusUpdateFailed` condition.
    add_condition: fn(&mut K),
}

fn rv(object: &impl Resource) -> u64 {
    object
        .meta()
        .resource_version
        .as_deref()
        .and_then(|rv| rv.parse().ok())
        .expect("a valid resource version")
}

async fn api_operations<K>(apiary: &Apiary, case: Case<K>)
where
    K: Resource<DynamicType = ()> + Clone + Debug + DeserializeOwned + Serialize + Send + 'static,
{
    let client = apiary.client().await;
    expect_discovery(
        &client,
        GROUP,
        "v1",
        &[case.resource, &format!("{}/status", case.resource)],
    )
    .await;

    let api: Api<K> = Api::all(client.clone());
    let label_value = suffix();
    let label = format!("{}={label_value}", case.label_key);
    let selected = ListParams::default().labels(&label);
    let template = (case.template)(ObjectMeta {
        generate_name: Some(format!(
            "e2e-example-{}-",
            if case.kind == "FlowSchema" {
                "fs"
            } else {
                "pl"
            }
        )),
        labels: Some(BTreeMap::from([(
            case.label_key.to_string(),
            label_value.clone(),
        )])),
        ..Default::default()
    });

    // creating
    let pp = PostParams::default();
    api.create(&pp, &template).await.expect("create");
    api.create(&pp, &template).await.expect("create");
    let created = api.create(&pp, &template).await.expect("create");
    let name = created.meta().name.clone().expect("generated name");

    // getting
    let read = api.get(&name).await.expect("get");
    assert_eq!(read.meta().uid, created.meta().uid);
    rv(&read);

    // listing
    let list = api.list(&selected).await.expect("list");
    assert_eq!(list.items.len(), 3, "filtered list should have 3 items");

    // watching
    let mut events = watch(
        &api,
        &label,
        list.metadata.resource_version.as_deref().expect("list rv"),
    )
    .await;

    // patching
    let patched = api
        .patch(&name, &PatchParams::default(), &Patch::Merge(&case.patch))
        .await
        .expect("patch");
    assert_eq!(
        patched
            .meta()
            .annotations
            .as_ref()
            .and_then(|a| a.get("patched"))
            .map(String::as_str),
        Some("true"),
        "patched object should have the applied annotation"
    );
    assert_eq!(
        (case.patched_spec)(&patched),
        Some(case.patched_value),
        "patched object should have the applied spec"
    );
    assert!(
        rv(&created) < rv(&patched),
        "patched object should have a larger resource version"
    );

    // updating (retry on conflict)
    let mut updated = None;
    for _ in 0..5 {
        let mut current = api.get(&name).await.expect("get");
        current
            .meta_mut()
            .annotations
            .get_or_insert_with(Default::default)
            .insert("updated".into(), "true".into());
        (case.update_spec)(&mut current, case.updated_value);
        match api.replace(&name, &pp, &current).await {
            Ok(object) => {
                updated = Some(object);
                break;
            }
            Err(kube::Error::Api(s)) if s.code == 409 => continue,
            Err(e) => panic!("failed to update {} {name}: {e}", case.kind),
        }
    }
    let updated = updated.expect("updated without a conflict");
    assert_eq!(
        updated
            .meta()
            .annotations
            .as_ref()
            .and_then(|a| a.get("updated"))
            .map(String::as_str),
        Some("true"),
        "updated object should have the applied annotation"
    );
    assert_eq!(
        (case.patched_spec)(&updated),
        Some(case.updated_value),
        "updated object should have the applied spec"
    );

    // waiting for watch events with expected annotations
    loop {
        match next_event(&mut events).await {
            WatchEvent::Modified(object) => {
                let annotations = object.meta().annotations.clone().unwrap_or_default();
                if annotations.get("patched").map(String::as_str) == Some("true") {
                    break;
                }
            }
            other => panic!("expected a MODIFIED event, got {other:?}"),
        }
    }
    drop(events);

    // getting /status
    let status_read = get_json(
        &client,
        &format!("/apis/{GROUP}/v1/{}/{name}/status", case.resource),
    )
    .await;
    assert_eq!(status_read["apiVersion"], format!("{GROUP}/v1"));
    assert_eq!(status_read["kind"], case.kind);
    assert_eq!(
        status_read["metadata"]["uid"].as_str(),
        created.meta().uid.as_deref()
    );

    // patching /status
    let status_patch = json!({"status": {"conditions": [
        {"type": "PatchStatusFailed", "status": "False", "reason": "e2e"}
    ]}});
    let status_patched = api
        .patch_status(&name, &PatchParams::default(), &Patch::Merge(&status_patch))
        .await
        .expect("patch /status");
    assert!(
        (case.condition_types)(&status_patched).contains(&"PatchStatusFailed".to_string()),
        "{:?}",
        (case.condition_types)(&status_patched)
    );

    // updating /status (retry on conflict)
    let mut status_updated = None;
    for _ in 0..5 {
        let mut current = api.get(&name).await.expect("get");
        (case.add_condition)(&mut current);
        match api.replace_status(&name, &pp, &current).await {
            Ok(object) => {
                status_updated = Some(object);
                break;
            }
            Err(kube::Error::Api(s)) if s.code == 409 => continue,
            Err(e) => panic!("failed to update status of {} {name}: {e}", case.kind),
        }
    }
    let status_updated = status_updated.expect("status updated without a conflict");
    assert!(
        (case.condition_types)(&status_updated).contains(&"StatusUpdateFailed".to_string()),
        "{:?}",
        (case.condition_types)(&status_updated)
    );

    // deleting
    api.delete(&name, &DeleteParams::default())
        .await
        .expect("delete");
    match api.get(&name).await {
        Err(kube::Error::Api(s)) if s.code == 404 => {}
        other => panic!("expected 404, got {other:?}"),
    }
    let list = api.list(&selected).await.expect("list");
    assert_eq!(list.items.len(), 2, "filtered list should have 2 items");

    // deleting a collection
    api.delete_collection(&DeleteParams::default(), &selected)
        .await
        .expect("delete collection");
    let list = api.list(&selected).await.expect("list");
    assert!(list.items.is_empty(), "filtered list should have 0 items");
}

/// `[sig-api-machinery] API priority and fairness should support FlowSchema API operations [Conformance]`
/// (test/e2e/apimachinery/flowcontrol.go).
async fn should_support_flow_schema_api_operations(apiary: &Apiary) {
    api_operations(
        apiary,
        Case::<FlowSchema> {
            resource: "flowschemas",
            kind: "FlowSchema",
            label_key: "example-e2e-fs-label",
            template: |metadata| FlowSchema {
                metadata,
                spec: Some(FlowSchemaSpec {
                    matching_precedence: Some(10000),
                    priority_level_configuration: PriorityLevelConfigurationReference {
                        name: "global-default".into(),
                    },
                    distinguisher_method: Some(FlowDistinguisherMethod {
                        type_: "ByUser".into(),
                    }),
                    rules: Some(vec![PolicyRulesWithSubjects {
                        subjects: vec![Subject {
                            kind: "User".into(),
                            user: Some(UserSubject {
                                name: "example-e2e-non-existent-user".into(),
                            }),
                            ..Default::default()
                        }],
                        non_resource_rules: Some(vec![NonResourcePolicyRule {
                            verbs: vec!["*".into()],
                            non_resource_urls: vec!["*".into()],
                        }]),
                        ..Default::default()
                    }]),
                }),
                ..Default::default()
            },
            patch: json!({"metadata": {"annotations": {"patched": "true"}}, "spec": {"matchingPrecedence": 9999}}),
            patched_spec: |fs| fs.spec.as_ref().and_then(|s| s.matching_precedence),
            patched_value: 9999,
            update_spec: |fs, value| {
                fs.spec.as_mut().expect("spec").matching_precedence = Some(value);
            },
            updated_value: 9000,
            condition_types: |fs| {
                let conditions = fs.status.as_ref().and_then(|s| s.conditions.clone());
                conditions
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|c| c.type_)
                    .collect()
            },
            add_condition: |fs| {
                fs.status
                    .get_or_insert_with(FlowSchemaStatus::default)
                    .conditions
                    .get_or_insert_with(Vec::new)
                    .push(FlowSchemaCondition {
                        type_: Some("StatusUpdateFailed".into()),
                        status: Some("False".into()),
                        reason: Some("E2E".into()),
                        message: Some("Set from an e2e test".into()),
                        ..Default::default()
                    });
            },
        },
    )
    .await;
}

/// `[sig-api-machinery] API priority and fairness should support PriorityLevelConfiguration API operations [Conformance]`
/// (test/e2e/apimachinery/flowcontrol.go).
async fn should_support_priority_level_configuration_api_operations(apiary: &Apiary) {
    api_operations(
        apiary,
        Case::<PriorityLevelConfiguration> {
            resource: "prioritylevelconfigurations",
            kind: "PriorityLevelConfiguration",
            label_key: "example-e2e-pl-label",
            template: |metadata| PriorityLevelConfiguration {
                metadata,
                spec: Some(PriorityLevelConfigurationSpec {
                    type_: "Limited".into(),
                    limited: Some(LimitedPriorityLevelConfiguration {
                        nominal_concurrency_shares: Some(2),
                        limit_response: Some(LimitResponse {
                            type_: "Reject".into(),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            },
            patch: json!({"metadata": {"annotations": {"patched": "true"}}, "spec": {"limited": {"nominalConcurrencyShares": 4}}}),
            patched_spec: |pl| {
                pl.spec
                    .as_ref()
                    .and_then(|s| s.limited.as_ref())
                    .and_then(|l| l.nominal_concurrency_shares)
            },
            patched_value: 4,
            update_spec: |pl, value| {
                pl.spec
                    .as_mut()
                    .and_then(|s| s.limited.as_mut())
                    .expect("spec.limited")
                    .nominal_concurrency_shares = Some(value);
            },
            updated_value: 6,
            condition_types: |pl| {
                let conditions = pl.status.as_ref().and_then(|s| s.conditions.clone());
                conditions
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|c| c.type_)
                    .collect()
            },
            add_condition: |pl| {
                pl.status
                    .get_or_insert_with(PriorityLevelConfigurationStatus::default)
                    .conditions
                    .get_or_insert_with(Vec::new)
                    .push(PriorityLevelConfigurationCondition {
                        type_: Some("StatusUpdateFailed".into()),
                        status: Some("False".into()),
                        reason: Some("E2E".into()),
                        message: Some("Set from an e2e test".into()),
                        ..Default::default()
                    });
            },
        },
    )
    .await;
}

conformance_tests!(rocksdb_only {
    should_support_flow_schema_api_operations,
    should_support_priority_level_configuration_api_operations,
});
