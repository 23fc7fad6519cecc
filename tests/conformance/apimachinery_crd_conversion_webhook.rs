//! `test/e2e/apimachinery/crd_conversion_webhook.go`: the CustomResourceConversionWebhook
//! conformance tests. Upstream's sample conversion webhook (agnhost `crd-conversion-webhook`)
//! runs in the test process behind the same Service (`sample_webhooks`).

use std::time::{Duration, Instant};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, DynamicObject, PostParams};
use serde_json::{json, Value};

use crate::common::Apiary;
use crate::sample_webhooks::{
    create_multi_version_test_crd, deploy_conversion_webhook, new_object, SampleServer, TestCrd,
    CONVERSION_SERVICE,
};
use crate::shared_apiary::{conformance_tests, namespace};

const SERVICE_PORT: i32 = 9443;

/// `apiVersions` (v1 stored) or `alternativeAPIVersions` (v2 stored).
fn versions(v2_storage: bool) -> Value {
    json!([
        {"name": "v1", "served": true, "storage": !v2_storage,
            "schema": {"openAPIV3Schema": {"type": "object",
                "properties": {"hostPort": {"type": "string"}}}}},
        {"name": "v2", "served": true, "storage": v2_storage,
            "schema": {"openAPIV3Schema": {"type": "object",
                "properties": {"host": {"type": "string"}, "port": {"type": "string"}}}}},
    ])
}

/// `BeforeEach` and the CRD both tests create: the namespace (named as the framework's
/// `UniqueName`), the conversion webhook behind its Service, and a `stable.example.com` CRD
/// converting through it.
async fn before_each(apiary: &Apiary) -> (kube::Client, SampleServer, TestCrd) {
    let client = apiary.client().await;
    let ns = namespace(&client, "crd-webhook").await;
    let server = deploy_conversion_webhook(&client, &ns, SERVICE_PORT).await;
    let spec = json!({
        "versions": versions(false),
        "conversion": {"strategy": "Webhook", "webhook": {
            "clientConfig": {"caBundle": server.ca_bundle(), "service": {"namespace": ns,
                "name": CONVERSION_SERVICE, "path": "/crdconvert", "port": SERVICE_PORT}},
            "conversionReviewVersions": ["v1", "v1beta1"]}},
        "preserveUnknownFields": false,
    });
    let crd = create_multi_version_test_crd(&client, &ns, "stable.example.com", spec).await;
    wait_webhook_conversion_ready(&client, &crd, "v2").await;
    (client, server, crd)
}

/// `waitWebhookConversionReady`: creates stub objects at `version` (which needs conversion)
/// until one is created.
async fn wait_webhook_conversion_ready(client: &kube::Client, crd: &TestCrd, version: &str) {
    let api = crd.client(client, version);
    let deadline = Instant::now() + Duration::from_secs(30);
    let stub = new_object(json!({
        "kind": crd.kind(), "apiVersion": format!("{}/{version}", crd.group()),
        "metadata": {"name": crd.namespace, "namespace": crd.namespace},
    }));
    while let Err(e) = api.create(&PostParams::default(), &stub).await {
        assert!(
            Instant::now() < deadline,
            "conversion never succeeded during setup: {e}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    api.delete(&crd.namespace, &DeleteParams::default())
        .await
        .expect("cleaning up stub object");
}

fn v1_instance(crd: &TestCrd, name: &str) -> DynamicObject {
    new_object(json!({
        "kind": crd.kind(), "apiVersion": format!("{}/v1", crd.group()),
        "metadata": {"name": name, "namespace": crd.namespace},
        "hostPort": "localhost:8080",
    }))
}

/// `verifyV1Object`.
fn verify_v1_object(crd: &TestCrd, obj: &DynamicObject) {
    let types = obj.types.as_ref().expect("types");
    assert_eq!(types.api_version, format!("{}/v1", crd.group()));
    assert_eq!(obj.data["hostPort"], "localhost:8080", "{obj:?}");
    assert!(obj.data.get("host").is_none(), "{obj:?}");
    assert!(obj.data.get("port").is_none(), "{obj:?}");
}

/// `verifyV2Object`.
fn verify_v2_object(crd: &TestCrd, obj: &DynamicObject) {
    let types = obj.types.as_ref().expect("types");
    assert_eq!(types.api_version, format!("{}/v2", crd.group()));
    assert!(obj.data.get("hostPort").is_none(), "{obj:?}");
    assert_eq!(obj.data["host"], "localhost", "{obj:?}");
    assert_eq!(obj.data["port"], "8080", "{obj:?}");
}

/// `[sig-api-machinery] CustomResourceConversionWebhook [Privileged:ClusterAdmin] should be able to convert from CR v1 to CR v2 [Conformance]`
/// (test/e2e/apimachinery/crd_conversion_webhook.go).
async fn should_be_able_to_convert_from_cr_v1_to_cr_v2(apiary: &Apiary) {
    let (client, _server, crd) = before_each(apiary).await;
    // testCustomResourceConversionWebhook
    crd.client(&client, "v1")
        .create(&PostParams::default(), &v1_instance(&crd, "cr-instance-1"))
        .await
        .expect("create the v1 custom resource");
    let v2 = crd
        .client(&client, "v2")
        .get("cr-instance-1")
        .await
        .expect("Getting v2 of custom resource");
    verify_v2_object(&crd, &v2);
    crd.clean_up(&client).await;
}

/// `[sig-api-machinery] CustomResourceConversionWebhook [Privileged:ClusterAdmin] should be able to convert a non homogeneous list of CRs [Conformance]`
/// (test/e2e/apimachinery/crd_conversion_webhook.go).
async fn should_be_able_to_convert_a_non_homogeneous_list_of_crs(apiary: &Apiary) {
    let (client, _server, crd) = before_each(apiary).await;
    // testCRListConversion
    let v1 = crd.client(&client, "v1");
    v1.create(&PostParams::default(), &v1_instance(&crd, "cr-instance-1"))
        .await
        .expect("create cr-instance-1");
    // UpdateV1CustomResourceDefinitionWithRetry: store v2 from now on.
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    loop {
        let mut got = crds.get(crd.name()).await.expect("get the CRD");
        got.spec.versions = serde_json::from_value(versions(true)).expect("versions");
        match crds.replace(crd.name(), &PostParams::default(), &got).await {
            Err(kube::Error::Api(s)) if s.code == 409 => continue,
            result => {
                result.expect("update the CRD");
                break;
            }
        }
    }
    // Retried: upstream tolerates errors while the versions' handlers are replaced.
    let mut created = Err(String::new());
    for _ in 0..5 {
        created = v1
            .create(&PostParams::default(), &v1_instance(&crd, "cr-instance-2"))
            .await
            .map_err(|e| e.to_string());
        if created.is_ok() {
            break;
        }
    }
    created.expect("create cr-instance-2");

    for (version, verify) in [
        ("v1", verify_v1_object as fn(&TestCrd, &DynamicObject)),
        ("v2", verify_v2_object),
    ] {
        let list = crd
            .client(&client, version)
            .list(&Default::default())
            .await
            .expect("List CRs");
        let mut names: Vec<&str> = list
            .items
            .iter()
            .filter_map(|o| o.metadata.name.as_deref())
            .collect();
        names.sort();
        assert_eq!(names, ["cr-instance-1", "cr-instance-2"], "{version}");
        for item in &list.items {
            verify(&crd, item);
        }
    }
    crd.clean_up(&client).await;
}

conformance_tests!(rocksdb_only {
    should_be_able_to_convert_from_cr_v1_to_cr_v2,
    should_be_able_to_convert_a_non_homogeneous_list_of_crs,
});
