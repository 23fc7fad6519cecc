//! The AdmissionWebhook conformance tests on custom resources and CRDs.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::{json, Value};

use super::{before_each, rule, Fixture, NON_COMPLIANT};
use crate::common::Apiary;
use crate::sample_webhooks::{
    create_multi_version_test_crd, labels, message, new_object, request, TestCrd,
};

/// `crd.CreateTestCRD`: group `webhook.example.com`, version v1 allowing everything.
async fn create_test_crd(f: &Fixture) -> TestCrd {
    create_multi_version_test_crd(&f.client, f.unique(), "webhook.example.com", json!({})).await
}

/// `createAdmissionWebhookMultiVersionTestCRDWithV1Storage`: v1 (storage) and v2, each with
/// `schema` (upstream's default allows everything).
async fn create_v1_storage_crd(f: &Fixture, schema: Value, extra: Value) -> TestCrd {
    let version = |name: &str, storage: bool| {
        json!({"name": name, "served": true, "storage": storage,
            "schema": {"openAPIV3Schema": schema}})
    };
    let mut spec = json!({"versions": [version("v1", true), version("v2", false)]});
    for (key, value) in extra.as_object().expect("fields") {
        spec[key] = value.clone();
    }
    create_multi_version_test_crd(&f.client, f.unique(), "webhook.example.com", spec).await
}

fn allow_all() -> Value {
    json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true})
}

/// A rule for `operations` on the test CRD's resource at its served versions.
fn crd_rule(crd: &TestCrd, operations: &[&str]) -> Value {
    let versions = crd.served_versions();
    let versions: Vec<&str> = versions.iter().map(String::as_str).collect();
    rule(operations, &[crd.group()], &versions, &[crd.plural()])
}

fn custom_resource(crd: &TestCrd, name: &str, data: &[(&str, &str)]) -> DynamicObject {
    new_object(json!({
        "kind": crd.kind(), "apiVersion": format!("{}/{}", crd.group(), crd.crd.spec.versions[0].name),
        "metadata": {"name": name, "namespace": crd.namespace},
        "data": labels(data),
    }))
}

/// `updateCustomResource`: get, modify `data`, update, retried on conflicts only.
async fn update_custom_resource(
    api: &Api<DynamicObject>,
    name: &str,
    value: &str,
) -> kube::Result<DynamicObject> {
    loop {
        let mut cr = api.get(name).await?;
        cr.data["data"]["webhook-e2e-test"] = json!(value);
        match api.replace(name, &PostParams::default(), &cr).await {
            Err(kube::Error::Api(s)) if s.code == 409 => continue,
            other => return other,
        }
    }
}

/// `[sig-api-machinery] AdmissionWebhook [Privileged:ClusterAdmin] should be able to deny custom resource creation, update and deletion [Conformance]`
/// (test/e2e/apimachinery/webhook.go).
pub(super) async fn should_be_able_to_deny_custom_resource_creation_update_and_deletion(
    apiary: &Apiary,
) {
    let f = before_each(apiary).await;
    let crd = create_test_crd(&f).await;
    let hook = f.webhook(
        "deny-unwanted-custom-resource-data.k8s.io",
        crd_rule(&crd, &["CREATE", "UPDATE", "DELETE"]),
        "/custom-resource",
    );
    f.create_validating(f.unique(), vec![hook, f.is_ready("validating")])
        .await
        .expect("registering custom resource webhook config");
    f.wait_ready().await;
    let api = crd.client(&f.client, "v1");

    // testCustomResourceWebhook
    let cr = custom_resource(&crd, "cr-instance-1", NON_COMPLIANT);
    let err = api
        .create(&PostParams::default(), &cr)
        .await
        .expect_err("the custom resource should have been denied");
    let expected = "the custom resource contains unwanted data";
    assert!(message(&err).contains(expected), "{err}");

    // testBlockingCustomResourceUpdateDeletion
    let cr = custom_resource(
        &crd,
        "cr-instance-2",
        &[("webhook-e2e-test", "webhook-nondeletable")],
    );
    api.create(&PostParams::default(), &cr)
        .await
        .expect("create cr-instance-2");
    let err = update_custom_resource(&api, "cr-instance-2", "webhook-disallow")
        .await
        .expect_err("the update should have been denied");
    assert!(message(&err).contains(expected), "{err}");
    let err = api
        .delete("cr-instance-2", &DeleteParams::default())
        .await
        .expect_err("the deletion should have been denied");
    assert!(
        message(&err).contains(
            "the custom resource cannot be deleted because it contains unwanted key and value"
        ),
        "{err}"
    );
    update_custom_resource(&api, "cr-instance-2", "webhook-allow")
        .await
        .expect("update the custom resource");
    api.delete("cr-instance-2", &DeleteParams::default())
        .await
        .expect("delete the updated custom resource");
    f.delete_validating(f.unique()).await;
    crd.clean_up(&f.client).await;
}

/// `registerMutatingWebhookForCustomResource`: stage 1 on create and update, stage 2 on create.
async fn register_mutating_webhook_for_custom_resource(f: &Fixture, crd: &TestCrd) {
    let stage = |n: u32, operations: &[&str]| {
        f.webhook(
            &format!("mutate-custom-resource-data-stage-{n}.k8s.io"),
            crd_rule(crd, operations),
            "/mutating-custom-resource",
        )
    };
    let hooks = vec![
        stage(1, &["CREATE", "UPDATE"]),
        stage(2, &["CREATE"]),
        f.is_ready("mutating"),
    ];
    f.create_mutating(f.unique(), hooks)
        .await
        .expect("registering custom resource webhook config");
    f.wait_ready().await;
}

/// `testMutatingCustomResourceWebhook`.
async fn test_mutating_custom_resource_webhook(f: &Fixture, crd: &TestCrd, prune: bool) {
    let cr = custom_resource(crd, "cr-instance-1", &[("mutation-start", "yes")]);
    let mutated = crd
        .client(&f.client, "v1")
        .create(&PostParams::default(), &cr)
        .await
        .expect("create the custom resource");
    let mut expected = json!({"mutation-start": "yes", "mutation-stage-1": "yes"});
    if !prune {
        expected["mutation-stage-2"] = json!("yes");
    }
    assert_eq!(mutated.data["data"], expected);
}

/// `[sig-api-machinery] AdmissionWebhook [Privileged:ClusterAdmin] should mutate custom resource [Conformance]`
/// (test/e2e/apimachinery/webhook.go).
pub(super) async fn should_mutate_custom_resource(apiary: &Apiary) {
    let f = before_each(apiary).await;
    let crd = create_test_crd(&f).await;
    register_mutating_webhook_for_custom_resource(&f, &crd).await;
    test_mutating_custom_resource_webhook(&f, &crd, false).await;
    f.delete_mutating(f.unique()).await;
    crd.clean_up(&f.client).await;
}

/// `[sig-api-machinery] AdmissionWebhook [Privileged:ClusterAdmin] should mutate custom resource with pruning [Conformance]`
/// (test/e2e/apimachinery/webhook.go).
pub(super) async fn should_mutate_custom_resource_with_pruning(apiary: &Apiary) {
    let f = before_each(apiary).await;
    // mutation-stage-2 is left out of the schema, so it is pruned.
    let schema = json!({"type": "object", "properties": {"data": {"type": "object",
        "properties": {"mutation-start": {"type": "string"},
            "mutation-stage-1": {"type": "string"}}}}});
    let crd = create_v1_storage_crd(&f, schema, json!({"preserveUnknownFields": false})).await;
    register_mutating_webhook_for_custom_resource(&f, &crd).await;
    test_mutating_custom_resource_webhook(&f, &crd, true).await;
    f.delete_mutating(f.unique()).await;
    crd.clean_up(&f.client).await;
}

/// `[sig-api-machinery] AdmissionWebhook [Privileged:ClusterAdmin] should mutate custom resource with different stored version [Conformance]`
/// (test/e2e/apimachinery/webhook.go).
pub(super) async fn should_mutate_custom_resource_with_different_stored_version(apiary: &Apiary) {
    let f = before_each(apiary).await;
    let crd = create_v1_storage_crd(&f, allow_all(), json!({})).await;
    register_mutating_webhook_for_custom_resource(&f, &crd).await;

    // testMultiVersionCustomResourceWebhook
    let cr = custom_resource(&crd, "cr-instance-1", &[("mutation-start", "yes")]);
    crd.client(&f.client, "v1")
        .create(&PostParams::default(), &cr)
        .await
        .expect("create the custom resource");
    let version = |name: &str, storage: bool| {
        json!({"name": name, "storage": storage, "served": true,
            "schema": {"openAPIV3Schema": {"x-kubernetes-preserve-unknown-fields": true,
                "type": "object"}}})
    };
    let v2_storage = json!({"spec": {"versions": [version("v1", false), version("v2", true)]}});
    Api::<CustomResourceDefinition>::all(f.client.clone())
        .patch(
            crd.name(),
            &PatchParams::default(),
            &Patch::Strategic(v2_storage),
        )
        .await
        .expect("patch the CRD to store v2");
    let path = format!(
        "/apis/{}/v2/namespaces/{}/{}/cr-instance-1",
        crd.group(),
        f.ns,
        crd.plural()
    );
    let dummy = json!([{"op": "add", "path": "/dummy", "value": "test"}]);
    let mutated = request(
        &f.client,
        "PATCH",
        &path,
        "application/json-patch+json",
        &dummy,
    )
    .await
    .expect("patch the custom resource at v2");
    assert_eq!(
        mutated["data"],
        json!({"mutation-start": "yes", "mutation-stage-1": "yes", "mutation-stage-2": "yes"})
    );
    assert_eq!(mutated["dummy"], "test");
    f.delete_mutating(f.unique()).await;
    crd.clean_up(&f.client).await;
}

/// `[sig-api-machinery] AdmissionWebhook [Privileged:ClusterAdmin] should deny crd creation [Conformance]`
/// (test/e2e/apimachinery/webhook.go).
pub(super) async fn should_deny_crd_creation(apiary: &Apiary) {
    let f = before_each(apiary).await;
    // registerValidatingWebhookForCRD: CRDs labelled for this test, with an object selector.
    let mut hook = f.webhook(
        "deny-crd-with-unwanted-label.k8s.io",
        rule(
            &["CREATE"],
            &["apiextensions.k8s.io"],
            &["*"],
            &["customresourcedefinitions"],
        ),
        "/crd",
    );
    let object = hook
        .as_object_mut()
        .expect("hook")
        .remove("namespaceSelector")
        .expect("selector");
    hook["objectSelector"] = object;
    f.create_validating(f.unique(), vec![hook, f.is_ready("validating")])
        .await
        .expect("registering crd webhook config");
    f.wait_ready().await;

    // testCRDDenyWebhook (the framework's BaseName is "webhook")
    let name = "e2e-test-webhook-deny-crd";
    let kind = "E2e-test-webhook-deny-crd";
    let crd: CustomResourceDefinition = serde_json::from_value(json!({
        "metadata": {"name": format!("{name}s.webhook.example.com"),
            "labels": {f.unique(): "true", "webhook-e2e-test": "webhook-disallow"}},
        "spec": {"group": "webhook.example.com", "scope": "Namespaced",
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": allow_all()}}],
            "names": {"singular": name, "kind": kind, "listKind": format!("{kind}List"),
                "plural": format!("{name}s")}},
    }))
    .expect("CRD");
    let err = Api::<CustomResourceDefinition>::all(f.client.clone())
        .create(&PostParams::default(), &crd)
        .await
        .expect_err("the CRD should have been denied");
    assert!(
        message(&err).contains("the crd contains unwanted label"),
        "{err}"
    );
    f.delete_validating(f.unique()).await;
}
