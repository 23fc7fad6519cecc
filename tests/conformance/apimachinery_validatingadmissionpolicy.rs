//! `test/e2e/apimachinery/validatingadmissionpolicy.go`: the ValidatingAdmissionPolicy
//! conformance tests (policies bound to the test's namespace by a unique label; the policy and
//! binding API operations). Deployments are only admitted or denied, never rolled out.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::admissionregistration::v1::{
    MatchResources, NamedRuleWithOperations, ValidatingAdmissionPolicy,
    ValidatingAdmissionPolicyBinding, ValidatingAdmissionPolicyBindingSpec,
    ValidatingAdmissionPolicySpec, ValidatingAdmissionPolicyStatus, Validation, Variable,
};
use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, ReplicaSet, ReplicaSetSpec};
use k8s_openapi::api::core::v1::{Container, Namespace, PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, LabelSelector, Time};
use kube::api::{
    Api, DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams, WatchEvent,
};
use serde_json::json;

use crate::common::Apiary;
use crate::shared_apiary::{conformance_tests, namespace};
use crate::upstream_steps::{expect_discovery, get_json, next_event, suffix, watch};

const GROUP: &str = "admissionregistration.k8s.io";

/// The test's namespace, labelled `<name>: "true"` (upstream's `labelNamespace`); its name is
/// the test's unique name.
async fn labelled_namespace(client: &kube::Client) -> String {
    let ns = namespace(client, "validating-admission-policy").await;
    let patch = json!({"metadata": {"labels": {ns.clone(): "true"}}});
    Api::<Namespace>::all(client.clone())
        .patch(&ns, &PatchParams::default(), &Patch::Strategic(&patch))
        .await
        .expect("label the namespace");
    ns
}

fn unique_selector(unique: &str) -> LabelSelector {
    LabelSelector {
        match_labels: Some(BTreeMap::from([(unique.to_string(), "true".to_string())])),
        ..Default::default()
    }
}

/// Upstream's policy builder: matches deployments (CREATE and UPDATE) in the labelled namespace.
fn policy(
    name: &str,
    unique: &str,
    validations: Vec<Validation>,
    variables: Vec<Variable>,
) -> ValidatingAdmissionPolicy {
    ValidatingAdmissionPolicy {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        spec: Some(ValidatingAdmissionPolicySpec {
            match_constraints: Some(MatchResources {
                namespace_selector: Some(unique_selector(unique)),
                resource_rules: Some(vec![NamedRuleWithOperations {
                    operations: Some(vec!["CREATE".into(), "UPDATE".into()]),
                    api_groups: Some(vec!["apps".into()]),
                    api_versions: Some(vec!["v1".into()]),
                    resources: Some(vec!["deployments".into()]),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            validations: Some(validations),
            variables: (!variables.is_empty()).then_some(variables),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Upstream's `createBinding`.
fn binding(name: &str, unique: &str, policy_name: &str) -> ValidatingAdmissionPolicyBinding {
    ValidatingAdmissionPolicyBinding {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        spec: Some(ValidatingAdmissionPolicyBindingSpec {
            policy_name: Some(policy_name.into()),
            match_resources: Some(MatchResources {
                namespace_selector: Some(unique_selector(unique)),
                ..Default::default()
            }),
            validation_actions: Some(vec!["Deny".into()]),
            ..Default::default()
        }),
    }
}

fn nginx_template() -> PodTemplateSpec {
    PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(BTreeMap::from([("app".into(), "nginx".into())])),
            ..Default::default()
        }),
        spec: Some(PodSpec {
            containers: vec![Container {
                name: "nginx".into(),
                image: Some("nginx:latest".into()),
                ..Default::default()
            }],
            ..Default::default()
        }),
    }
}

fn nginx_meta(name: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        labels: Some(BTreeMap::from([("app".into(), "nginx".into())])),
        ..Default::default()
    }
}

fn nginx_selector() -> LabelSelector {
    LabelSelector {
        match_labels: Some(BTreeMap::from([("app".into(), "nginx".into())])),
        ..Default::default()
    }
}

/// Upstream's `basicDeployment`.
fn basic_deployment(name: &str, replicas: i32) -> Deployment {
    Deployment {
        metadata: nginx_meta(name),
        spec: Some(DeploymentSpec {
            replicas: Some(replicas),
            selector: nginx_selector(),
            template: nginx_template(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Upstream's `basicReplicaSet`.
fn basic_replica_set(name: &str, replicas: i32) -> ReplicaSet {
    ReplicaSet {
        metadata: nginx_meta(name),
        spec: Some(ReplicaSetSpec {
            replicas: Some(replicas),
            selector: nginx_selector(),
            template: Some(nginx_template()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Creates the policy and its binding, then the three steps both deployment tests share:
/// waiting until the marker (1 replica) is denied with 422, a deployment of `allowed_replicas`
/// admitted, a non-replicated ReplicaSet admitted.
async fn expect_policy_enforced(
    client: &kube::Client,
    unique: &str,
    policy: ValidatingAdmissionPolicy,
    allowed_replicas: i32,
) {
    let policies: Api<ValidatingAdmissionPolicy> = Api::all(client.clone());
    let bindings: Api<ValidatingAdmissionPolicyBinding> = Api::all(client.clone());
    let pp = PostParams::default();
    let policy = policies.create(&pp, &policy).await.expect("create policy");
    let policy_name = policy.metadata.name.clone().expect("name");
    let binding_name = format!("{unique}.binding.example.com");
    bindings
        .create(&pp, &binding(&binding_name, unique, &policy_name))
        .await
        .expect("create policy binding");

    let deployments: Api<Deployment> = Api::namespaced(client.clone(), unique);
    let replicasets: Api<ReplicaSet> = Api::namespaced(client.clone(), unique);
    let dp = DeleteParams::default();

    // waiting until the marker is denied
    let marker = basic_deployment("marker-deployment", 1);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let result = deployments.create(&pp, &marker).await;
        let _ = deployments.delete("marker-deployment", &dp).await;
        match result {
            Err(kube::Error::Api(s)) if s.code == 422 && s.reason == "Invalid" => break,
            Err(e) => panic!("wait for marker: {e}"),
            Ok(_) => {}
        }
        assert!(Instant::now() < deadline, "the marker was never denied");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // testing a replicated Deployment to be allowed
    let result = deployments
        .create(&pp, &basic_deployment("replicated", allowed_replicas))
        .await;
    let _ = deployments.delete("replicated", &dp).await;
    result.expect("create replicated Deployment");

    // testing a non-replicated ReplicaSet not to be denied
    let result = replicasets
        .create(&pp, &basic_replica_set("non-replicated", 1))
        .await;
    let _ = replicasets.delete("non-replicated", &dp).await;
    result.expect("create non-replicated ReplicaSet");

    // DeferCleanup
    policies
        .delete(&policy_name, &dp)
        .await
        .expect("delete policy");
    bindings
        .delete(&binding_name, &dp)
        .await
        .expect("delete binding");
}

/// `[sig-api-machinery] ValidatingAdmissionPolicy [Privileged:ClusterAdmin] should validate against a Deployment [Conformance]`
/// (test/e2e/apimachinery/validatingadmissionpolicy.go).
async fn should_validate_against_a_deployment(apiary: &Apiary) {
    let client = apiary.client().await;
    let unique = labelled_namespace(&client).await;
    let policy = policy(
        &format!("{unique}.policy.example.com"),
        &unique,
        vec![
            Validation {
                expression: "object.spec.replicas > 1".into(),
                message_expression: Some(
                    "'wants replicas > 1, got ' + object.spec.replicas".into(),
                ),
                ..Default::default()
            },
            Validation {
                expression: format!("namespaceObject.metadata.name == '{unique}'"),
                message: Some("Internal error! Other namespace should not be allowed.".into()),
                ..Default::default()
            },
        ],
        vec![],
    );
    expect_policy_enforced(&client, &unique, policy, 2).await;
}

/// `[sig-api-machinery] ValidatingAdmissionPolicy [Privileged:ClusterAdmin] should allow expressions to refer variables. [Conformance]`
/// (test/e2e/apimachinery/validatingadmissionpolicy.go).
async fn should_allow_expressions_to_refer_variables(apiary: &Apiary) {
    let client = apiary.client().await;
    let unique = labelled_namespace(&client).await;
    let validation = |expression: &str| Validation {
        expression: expression.into(),
        ..Default::default()
    };
    let variable = |name: &str, expression: &str| Variable {
        name: name.into(),
        expression: expression.into(),
    };
    let policy = policy(
        &format!("{unique}.policy.example.com"),
        &unique,
        vec![
            validation("variables.replicas > 1"),
            validation("variables.oddReplicas"),
        ],
        vec![
            variable("replicas", "object.spec.replicas"),
            variable("oddReplicas", "variables.replicas % 2 == 1"),
        ],
    );
    expect_policy_enforced(&client, &unique, policy, 3).await;
}

fn annotation(meta: &ObjectMeta, key: &str) -> Option<String> {
    meta.annotations.as_ref().and_then(|a| a.get(key)).cloned()
}

fn condition_types(policy: &ValidatingAdmissionPolicy) -> Vec<String> {
    policy
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .map(|cs| cs.iter().map(|c| c.type_.clone()).collect())
        .unwrap_or_default()
}

/// Deleted, or blocked by finalizers with a deletion timestamp.
fn gone_or_finalizing(result: kube::Result<ObjectMeta>) {
    match result {
        Ok(m)
            if m.deletion_timestamp.is_some()
                && m.finalizers.as_ref().is_some_and(|f| !f.is_empty()) => {}
        Ok(m) => panic!("expected deleted object, got {m:?}"),
        Err(kube::Error::Api(s)) if s.code == 404 => {}
        Err(e) => panic!("expected 404, got {e:?}"),
    }
}

fn without_finalizers(items: &[ObjectMeta]) -> usize {
    items
        .iter()
        .filter(|m| m.finalizers.as_ref().is_none_or(|f| f.is_empty()))
        .count()
}

fn not_finalizing(items: &[ObjectMeta]) -> usize {
    items
        .iter()
        .filter(|m| {
            !(m.deletion_timestamp.is_some()
                && m.finalizers.as_ref().is_some_and(|f| !f.is_empty()))
        })
        .count()
}

/// `[sig-api-machinery] ValidatingAdmissionPolicy [Privileged:ClusterAdmin] should support ValidatingAdmissionPolicy API operations [Conformance]`
/// (test/e2e/apimachinery/validatingadmissionpolicy.go).
async fn should_support_validating_admission_policy_api_operations(apiary: &Apiary) {
    let client = apiary.client().await;
    expect_discovery(
        &client,
        GROUP,
        "v1",
        &[
            "validatingadmissionpolicies",
            "validatingadmissionpolicies/status",
        ],
    )
    .await;

    let api: Api<ValidatingAdmissionPolicy> = Api::all(client.clone());
    let label_value = suffix();
    let label = format!("example-e2e-vap-label={label_value}");
    let selected = ListParams::default().labels(&label);
    let template = ValidatingAdmissionPolicy {
        metadata: ObjectMeta {
            generate_name: Some("e2e-example-vap-".into()),
            labels: Some(BTreeMap::from([(
                "example-e2e-vap-label".into(),
                label_value.clone(),
            )])),
            ..Default::default()
        },
        spec: Some(ValidatingAdmissionPolicySpec {
            validations: Some(vec![Validation {
                expression: "object.spec.replicas <= 100".into(),
                ..Default::default()
            }]),
            match_constraints: Some(MatchResources {
                resource_rules: Some(vec![NamedRuleWithOperations {
                    operations: Some(vec!["CREATE".into()]),
                    api_groups: Some(vec!["apps".into()]),
                    api_versions: Some(vec!["v1".into()]),
                    resources: Some(vec!["deployments".into()]),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    };

    // creating
    let pp = PostParams::default();
    api.create(&pp, &template).await.expect("create");
    api.create(&pp, &template).await.expect("create");
    let created = api.create(&pp, &template).await.expect("create");
    let name = created.metadata.name.clone().expect("generated name");

    // getting
    let read = api.get(&name).await.expect("get");
    assert_eq!(read.metadata.uid, created.metadata.uid);

    // listing, watching
    let list = api.list(&selected).await.expect("list");
    let mut events = watch(
        &api,
        &label,
        list.metadata.resource_version.as_deref().expect("rv"),
    )
    .await;

    // patching
    let patched = api
        .patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {"patched": "true"}}, "spec": {"failurePolicy": "Ignore"}})),
        )
        .await
        .expect("patch");
    assert_eq!(
        annotation(&patched.metadata, "patched").as_deref(),
        Some("true")
    );
    assert_eq!(
        patched
            .spec
            .as_ref()
            .and_then(|s| s.failure_policy.as_deref()),
        Some("Ignore"),
        "patched object should have the applied spec"
    );

    // updating (retry on conflict)
    let mut updated = None;
    for _ in 0..5 {
        let mut current = api.get(&name).await.expect("get");
        current
            .metadata
            .annotations
            .get_or_insert_with(Default::default)
            .insert("updated".into(), "true".into());
        current.spec.as_mut().expect("spec").failure_policy = Some("Fail".into());
        match api.replace(&name, &pp, &current).await {
            Ok(p) => {
                updated = Some(p);
                break;
            }
            Err(kube::Error::Api(s)) if s.code == 409 => continue,
            Err(e) => panic!("failed to update validatingadmissionpolicy {name}: {e}"),
        }
    }
    let updated = updated.expect("updated without a conflict");
    assert_eq!(
        annotation(&updated.metadata, "updated").as_deref(),
        Some("true")
    );
    assert_eq!(
        updated
            .spec
            .as_ref()
            .and_then(|s| s.failure_policy.as_deref()),
        Some("Fail"),
        "updated object should have the applied spec"
    );

    // waiting for watch events with expected annotations
    loop {
        match next_event(&mut events).await {
            WatchEvent::Modified(p)
                if annotation(&p.metadata, "patched").as_deref() == Some("true") =>
            {
                break
            }
            WatchEvent::Modified(_) => {}
            other => panic!("expected a MODIFIED event, got {other:?}"),
        }
    }
    drop(events);

    // getting /status
    let status = get_json(
        &client,
        &format!("/apis/{GROUP}/v1/validatingadmissionpolicies/{name}/status"),
    )
    .await;
    assert_eq!(status["apiVersion"], format!("{GROUP}/v1"));
    assert_eq!(status["kind"], "ValidatingAdmissionPolicy");
    assert_eq!(
        status["metadata"]["uid"].as_str(),
        created.metadata.uid.as_deref()
    );

    // patching /status
    let status_patch = json!({"status": {"conditions": [{
        "type": "PatchStatusFailed", "status": "False", "reason": "e2e",
        "message": "Set from an e2e test", "lastTransitionTime": "2024-01-01T00:00:00Z"
    }]}});
    let status_patched = api
        .patch_status(&name, &PatchParams::default(), &Patch::Merge(&status_patch))
        .await
        .expect("patch /status");
    assert!(
        condition_types(&status_patched).contains(&"PatchStatusFailed".to_string()),
        "expect the patched status exist"
    );

    // updating /status (retry on conflict)
    let mut status_updated = None;
    for _ in 0..5 {
        let mut current = api.get(&name).await.expect("get");
        current
            .status
            .get_or_insert_with(ValidatingAdmissionPolicyStatus::default)
            .conditions
            .get_or_insert_with(Vec::new)
            .push(Condition {
                type_: "StatusUpdateFailed".into(),
                status: "False".into(),
                reason: "E2E".into(),
                message: "Set from an e2e test".into(),
                last_transition_time: Time(k8s_openapi::jiff::Timestamp::now()),
                observed_generation: None,
            });
        match api.replace_status(&name, &pp, &current).await {
            Ok(p) => {
                status_updated = Some(p);
                break;
            }
            Err(kube::Error::Api(s)) if s.code == 409 => continue,
            Err(e) => panic!("failed to update status of validatingadmissionpolicy {name}: {e}"),
        }
    }
    let status_updated = status_updated.expect("status updated without a conflict");
    assert!(
        condition_types(&status_updated).contains(&"StatusUpdateFailed".to_string()),
        "expect the updated status exist"
    );

    // deleting
    api.delete(&name, &DeleteParams::default())
        .await
        .expect("delete");
    gone_or_finalizing(api.get(&name).await.map(|p| p.metadata));
    let list = api.list(&selected).await.expect("list");
    let metas: Vec<ObjectMeta> = list.items.into_iter().map(|p| p.metadata).collect();
    assert_eq!(
        without_finalizers(&metas),
        2,
        "filtered list should have 2 items"
    );

    // deleting a collection
    api.delete_collection(&DeleteParams::default(), &selected)
        .await
        .expect("delete collection");
    let list = api.list(&selected).await.expect("list");
    let metas: Vec<ObjectMeta> = list.items.into_iter().map(|p| p.metadata).collect();
    assert_eq!(
        not_finalizing(&metas),
        0,
        "filtered list should have 0 items"
    );
}

/// `[sig-api-machinery] ValidatingAdmissionPolicy [Privileged:ClusterAdmin] should support ValidatingAdmissionPolicyBinding API operations [Conformance]`
/// (test/e2e/apimachinery/validatingadmissionpolicy.go).
async fn should_support_validating_admission_policy_binding_api_operations(apiary: &Apiary) {
    let client = apiary.client().await;
    expect_discovery(&client, GROUP, "v1", &["validatingadmissionpolicybindings"]).await;

    let api: Api<ValidatingAdmissionPolicyBinding> = Api::all(client.clone());
    let label_value = suffix();
    let label = format!("example-e2e-vapb-label={label_value}");
    let selected = ListParams::default().labels(&label);
    let template = ValidatingAdmissionPolicyBinding {
        metadata: ObjectMeta {
            generate_name: Some("e2e-example-vapb-".into()),
            labels: Some(BTreeMap::from([(
                "example-e2e-vapb-label".into(),
                label_value.clone(),
            )])),
            ..Default::default()
        },
        spec: Some(ValidatingAdmissionPolicyBindingSpec {
            policy_name: Some("replicalimit-policy.example.com".into()),
            validation_actions: Some(vec!["Deny".into()]),
            ..Default::default()
        }),
    };

    // creating
    let pp = PostParams::default();
    api.create(&pp, &template).await.expect("create");
    api.create(&pp, &template).await.expect("create");
    let created = api.create(&pp, &template).await.expect("create");
    let name = created.metadata.name.clone().expect("generated name");

    // getting
    let read = api.get(&name).await.expect("get");
    assert_eq!(read.metadata.uid, created.metadata.uid);

    // listing, watching
    let list = api.list(&selected).await.expect("list");
    let mut events = watch(
        &api,
        &label,
        list.metadata.resource_version.as_deref().expect("rv"),
    )
    .await;

    // patching
    let patched = api
        .patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {"patched": "true"}}, "spec": {"validationActions": ["Warn"]}})),
        )
        .await
        .expect("patch");
    assert_eq!(
        annotation(&patched.metadata, "patched").as_deref(),
        Some("true")
    );
    assert_eq!(
        patched
            .spec
            .as_ref()
            .and_then(|s| s.validation_actions.clone()),
        Some(vec!["Warn".to_string()]),
        "patched object should have the applied spec"
    );

    // updating (retry on conflict)
    let mut updated = None;
    for _ in 0..5 {
        let mut current = api.get(&name).await.expect("get");
        current
            .metadata
            .annotations
            .get_or_insert_with(Default::default)
            .insert("updated".into(), "true".into());
        current.spec.as_mut().expect("spec").validation_actions = Some(vec!["Deny".into()]);
        match api.replace(&name, &pp, &current).await {
            Ok(b) => {
                updated = Some(b);
                break;
            }
            Err(kube::Error::Api(s)) if s.code == 409 => continue,
            Err(e) => panic!("failed to update validatingadmissionpolicybinding {name}: {e}"),
        }
    }
    let updated = updated.expect("updated without a conflict");
    assert_eq!(
        annotation(&updated.metadata, "updated").as_deref(),
        Some("true")
    );
    assert_eq!(
        updated
            .spec
            .as_ref()
            .and_then(|s| s.validation_actions.clone()),
        Some(vec!["Deny".to_string()]),
        "updated object should have the applied spec"
    );

    // waiting for watch events with expected annotations
    loop {
        match next_event(&mut events).await {
            WatchEvent::Modified(b)
                if annotation(&b.metadata, "patched").as_deref() == Some("true") =>
            {
                break
            }
            WatchEvent::Modified(_) => {}
            other => panic!("expected a MODIFIED event, got {other:?}"),
        }
    }
    drop(events);

    // deleting
    api.delete(&name, &DeleteParams::default())
        .await
        .expect("delete");
    gone_or_finalizing(api.get(&name).await.map(|b| b.metadata));
    let list = api.list(&selected).await.expect("list");
    let metas: Vec<ObjectMeta> = list.items.into_iter().map(|b| b.metadata).collect();
    assert_eq!(
        without_finalizers(&metas),
        2,
        "filtered list should have 2 items"
    );

    // deleting a collection
    api.delete_collection(&DeleteParams::default(), &selected)
        .await
        .expect("delete collection");
    let list = api.list(&selected).await.expect("list");
    let metas: Vec<ObjectMeta> = list.items.into_iter().map(|b| b.metadata).collect();
    assert_eq!(
        not_finalizing(&metas),
        0,
        "filtered list should have 0 items"
    );
}

conformance_tests!(rocksdb_only {
    should_validate_against_a_deployment,
    should_allow_expressions_to_refer_variables,
    should_support_validating_admission_policy_api_operations,
    should_support_validating_admission_policy_binding_api_operations,
});
