//! `test/e2e/apimachinery/webhook.go`: the AdmissionWebhook conformance tests that need only an
//! API server (all but "should be able to deny attaching pod", which attaches to a running pod).
//! Upstream's sample webhook (agnhost) runs in the test process behind the same Service
//! (`sample_webhooks`); the rest is upstream's: each test labels its namespace with its unique
//! name, scopes every webhook to it, and waits with marker requests until a configuration is in
//! effect.

mod configurations;
mod custom_resources;

use std::time::{Duration, Instant};

use k8s_openapi::api::admissionregistration::v1::{
    MutatingWebhookConfiguration, ValidatingWebhookConfiguration,
};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::{json, Value};

use crate::common::Apiary;
use crate::sample_webhooks::{
    create_namespace, deploy_admission_webhook, labels, message, meta,
    wait_default_service_account, SampleServer, ADMISSION_SERVICE,
};
use crate::shared_apiary::conformance_tests;
use configurations::*;
use custom_resources::*;

const SERVICE_PORT: i32 = 8443;
const PAUSE: &str = "registry.k8s.io/pause:3.10";

/// One test's `f` and `BeforeEach`: its namespace (whose name is the framework's `UniqueName`),
/// labelled `<unique>: "true"`; the markers namespace; the sample webhook behind its Service.
struct Fixture {
    client: kube::Client,
    ns: String,
    markers: String,
    server: SampleServer,
}

async fn before_each(apiary: &Apiary) -> Fixture {
    let client = apiary.client().await;
    let ns = create_namespace(
        &client,
        "webhook",
        json!({"pod-security.kubernetes.io/enforce": "baseline"}),
    )
    .await;
    wait_default_service_account(&client, &ns).await;
    // labelNamespace
    Api::<Namespace>::all(client.clone())
        .patch(
            &ns,
            &PatchParams::default(),
            &Patch::Strategic(json!({"metadata": {"labels": {ns.clone(): "true"}}})),
        )
        .await
        .expect("label the namespace");
    // createWebhookConfigurationReadyNamespace
    let markers = create_namespace(
        &client,
        "webhook-markers",
        json!({format!("{ns}-markers"): "true"}),
    )
    .await;
    let server = deploy_admission_webhook(&client, &ns, SERVICE_PORT).await;
    Fixture {
        client,
        ns,
        markers,
        server,
    }
}

fn rule(operations: &[&str], groups: &[&str], versions: &[&str], resources: &[&str]) -> Value {
    json!([{"operations": operations, "apiGroups": groups, "apiVersions": versions,
        "resources": resources}])
}

fn configmaps_rule(operations: &[&str]) -> Value {
    rule(operations, &[""], &["v1"], &["configmaps"])
}

impl Fixture {
    fn unique(&self) -> &str {
        &self.ns
    }

    fn configmaps(&self) -> Api<ConfigMap> {
        Api::namespaced(self.client.clone(), &self.ns)
    }

    fn validating(&self) -> Api<ValidatingWebhookConfiguration> {
        Api::all(self.client.clone())
    }

    fn mutating(&self) -> Api<MutatingWebhookConfiguration> {
        Api::all(self.client.clone())
    }

    /// A Service reference to the sample webhook at `path`, with its CA.
    fn client_config(&self, path: &str) -> Value {
        json!({"service": {"namespace": self.ns, "name": ADMISSION_SERVICE, "path": path,
            "port": SERVICE_PORT}, "caBundle": self.server.ca_bundle()})
    }

    /// `{<unique>: "true"}` as a selector.
    fn selector(&self) -> Value {
        json!({"matchLabels": {self.unique(): "true"}})
    }

    /// A webhook with upstream's common fields: side effects None, review versions v1 and
    /// v1beta1, scoped to this test's namespace.
    fn webhook(&self, name: &str, rules: Value, path: &str) -> Value {
        json!({"name": name, "rules": rules, "clientConfig": self.client_config(path),
            "sideEffects": "None", "admissionReviewVersions": ["v1", "v1beta1"],
            "namespaceSelector": self.selector()})
    }

    /// `newValidatingIsReadyWebhookFixture` / `newMutatingIsReadyWebhookFixture`.
    fn is_ready(&self, kind: &str) -> Value {
        json!({"name": format!("{kind}-is-webhook-configuration-ready.k8s.io"),
            "rules": configmaps_rule(&["CREATE"]),
            "clientConfig": self.client_config("/always-deny"),
            "failurePolicy": "Ignore", "sideEffects": "None",
            "admissionReviewVersions": ["v1", "v1beta1"],
            "namespaceSelector": {"matchLabels": {format!("{}-markers", self.ns): "true"}},
            "objectSelector": self.selector()})
    }

    /// `newDenyConfigMapWebhookFixture`.
    fn deny_configmap(&self) -> Value {
        let mut hook = self.webhook(
            "deny-unwanted-configmap-data.k8s.io",
            configmaps_rule(&["CREATE", "UPDATE", "DELETE"]),
            "/configmaps",
        );
        hook["namespaceSelector"]["matchExpressions"] = json!([{"key": "skip-webhook-admission",
            "operator": "NotIn", "values": ["yes"]}]);
        hook
    }

    /// `newMutateConfigMapWebhookFixture`.
    fn mutate_configmap(&self, stage: u32) -> Value {
        self.webhook(
            &format!("adding-configmap-data-stage-{stage}.k8s.io"),
            configmaps_rule(&["CREATE"]),
            "/mutating-configmaps",
        )
    }

    /// `failingWebhook`: a webhook without a CA bundle, so calls to it always fail.
    fn failing(&self, name: &str) -> Value {
        let mut hook = self.webhook(name, configmaps_rule(&["CREATE"]), "/configmaps");
        hook["clientConfig"]
            .as_object_mut()
            .expect("config")
            .remove("caBundle");
        hook.as_object_mut()
            .expect("hook")
            .remove("namespaceSelector");
        hook
    }

    /// Upstream refuses a webhook not scoped to the test (`create*WebhookConfiguration`).
    fn check_scoped(&self, config: &Value) {
        for hook in config["webhooks"].as_array().expect("webhooks") {
            let scoped = ["namespaceSelector", "objectSelector"]
                .iter()
                .any(|s| hook[s]["matchLabels"][self.unique()] == "true");
            assert!(scoped, "webhook {} is not scoped to the test", hook["name"]);
        }
    }

    async fn create_validating(
        &self,
        name: &str,
        webhooks: Vec<Value>,
    ) -> kube::Result<ValidatingWebhookConfiguration> {
        let config = json!({"metadata": {"name": name}, "webhooks": webhooks});
        self.check_scoped(&config);
        let config = serde_json::from_value(config).expect("configuration");
        self.validating()
            .create(&PostParams::default(), &config)
            .await
    }

    async fn create_mutating(
        &self,
        name: &str,
        webhooks: Vec<Value>,
    ) -> kube::Result<MutatingWebhookConfiguration> {
        let config = json!({"metadata": {"name": name}, "webhooks": webhooks});
        self.check_scoped(&config);
        let config = serde_json::from_value(config).expect("configuration");
        self.mutating()
            .create(&PostParams::default(), &config)
            .await
    }

    async fn delete_validating(&self, name: &str) {
        let _ = self
            .validating()
            .delete(name, &DeleteParams::default())
            .await;
    }

    async fn delete_mutating(&self, name: &str) {
        let _ = self.mutating().delete(name, &DeleteParams::default()).await;
    }

    /// `waitWebhookConfigurationReady`: creates marker configmaps until one is denied.
    async fn wait_ready(&self) {
        let markers: Api<ConfigMap> = Api::namespaced(self.client.clone(), &self.markers);
        poll("webhook configuration to be ready", || async {
            let name = uuid::Uuid::new_v4().to_string();
            let marker = ConfigMap {
                metadata: meta(&name, &[(self.unique(), "true")]),
                ..Default::default()
            };
            match markers.create(&PostParams::default(), &marker).await {
                Err(e) if message(&e).contains("denied") => Ok(true),
                Err(e) => Err(message(&e)),
                Ok(_) => {
                    let _ = markers.delete(&name, &DeleteParams::default()).await;
                    Ok(false)
                }
            }
        })
        .await;
    }

    /// Polls creating a non-compliant configmap until it is denied (`denied`) or admitted.
    async fn poll_non_compliant(&self, denied: bool) {
        let api = self.configmaps();
        poll("the webhook to take effect", || async {
            let cm = configmap(&uuid::Uuid::new_v4().to_string(), NON_COMPLIANT);
            match api.create(&PostParams::default(), &cm).await {
                Ok(created) => {
                    let name = created.metadata.name.expect("name");
                    api.delete(&name, &DeleteParams::default())
                        .await
                        .expect("delete the configmap");
                    Ok(!denied)
                }
                Err(e) if message(&e).contains("denied") => Ok(denied),
                Err(e) => Err(message(&e)),
            }
        })
        .await;
    }

    /// Polls creating a to-be-mutated configmap until its mutation is `mutated`.
    async fn poll_mutated(&self, mutated: bool) {
        let api = self.configmaps();
        poll("the mutation to take effect", || async {
            let cm = configmap(&uuid::Uuid::new_v4().to_string(), TO_BE_MUTATED);
            let created = api
                .create(&PostParams::default(), &cm)
                .await
                .map_err(|e| message(&e))?;
            api.delete(
                created.metadata.name.as_deref().expect("name"),
                &Default::default(),
            )
            .await
            .expect("delete the configmap");
            let has = created
                .data
                .unwrap_or_default()
                .contains_key("mutation-stage-1");
            Ok(has == mutated)
        })
        .await;
    }
}

/// `wait.PollUntilContextTimeout(100ms, 30s)`: `probe` until true; an error fails at once.
async fn poll<F, Fut>(what: &str, mut probe: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool, String>>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match probe().await {
            Ok(true) => return,
            Ok(false) => assert!(Instant::now() < deadline, "timed out waiting for {what}"),
            Err(e) => panic!("waiting for {what}: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

const NON_COMPLIANT: &[(&str, &str)] = &[("webhook-e2e-test", "webhook-disallow")];
const TO_BE_MUTATED: &[(&str, &str)] = &[("mutation-start", "yes")];

fn configmap(name: &str, data: &[(&str, &str)]) -> ConfigMap {
    ConfigMap {
        metadata: meta(name, &[]),
        data: Some(labels(data)),
        ..Default::default()
    }
}

fn pod(name: &str, labels: &[(&str, &str)], container: &str) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": crate::sample_webhooks::labels(labels)},
        "spec": {"containers": [{"name": container, "image": PAUSE}]},
    }))
    .expect("pod")
}

/// `[sig-api-machinery] AdmissionWebhook [Privileged:ClusterAdmin] should include webhook resources in discovery documents [Conformance]`
/// (test/e2e/apimachinery/webhook.go).
async fn should_include_webhook_resources_in_discovery_documents(apiary: &Apiary) {
    let f = before_each(apiary).await;
    let get = |path: &'static str| {
        let client = f.client.clone();
        async move {
            let req = http::Request::get(path).body(Vec::new()).expect("request");
            client.request::<Value>(req).await.expect(path)
        }
    };
    let groups = get("/apis").await;
    let group = groups["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .find(|g| g["name"] == "admissionregistration.k8s.io")
        .cloned()
        .expect("admissionregistration.k8s.io API group not found in /apis discovery document");
    let has_v1 = |group: &Value| {
        group["versions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|v| v["version"] == "v1")
    };
    assert!(
        has_v1(&group),
        "admissionregistration.k8s.io/v1 not in /apis: {group}"
    );

    let group = get("/apis/admissionregistration.k8s.io").await;
    assert_eq!(group["name"], "admissionregistration.k8s.io");
    assert!(has_v1(&group), "v1 not in the group document: {group}");

    let list = get("/apis/admissionregistration.k8s.io/v1").await;
    assert_eq!(list["groupVersion"], "admissionregistration.k8s.io/v1");
    let names: Vec<&str> = list["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert!(
        names.contains(&"mutatingwebhookconfigurations"),
        "{names:?}"
    );
    assert!(
        names.contains(&"validatingwebhookconfigurations"),
        "{names:?}"
    );
}

/// `[sig-api-machinery] AdmissionWebhook [Privileged:ClusterAdmin] should be able to deny pod and configmap creation [Conformance]`
/// (test/e2e/apimachinery/webhook.go).
async fn should_be_able_to_deny_pod_and_configmap_creation(apiary: &Apiary) {
    let f = before_each(apiary).await;
    // registerWebhook: deny pods, deny configmaps, a fail-open webhook that cannot be called.
    let mut fail_open = f.failing("fail-open.k8s.io");
    fail_open["failurePolicy"] = json!("Ignore");
    fail_open["namespaceSelector"] = f.selector();
    let deny_pod = f.webhook(
        "deny-unwanted-pod-container-name-and-label.k8s.io",
        rule(&["CREATE"], &[""], &["v1"], &["pods"]),
        "/pods",
    );
    let hooks = vec![
        deny_pod,
        f.deny_configmap(),
        fail_open,
        f.is_ready("validating"),
    ];
    f.create_validating(f.unique(), hooks)
        .await
        .expect("registering webhook config");
    f.wait_ready().await;

    // testWebhook
    let pods: Api<Pod> = Api::namespaced(f.client.clone(), &f.ns);
    let disallowed = pod(
        "disallowed-pod",
        &[("webhook-e2e-test", "webhook-disallow")],
        "webhook-disallow",
    );
    let err = pods
        .create(&PostParams::default(), &disallowed)
        .await
        .expect_err("the pod should have been denied");
    for expected in [
        "the pod contains unwanted container name",
        "the pod contains unwanted label",
    ] {
        assert!(message(&err).contains(expected), "{err}");
    }

    let hanging = pod(
        "hanging-pod",
        &[("webhook-e2e-test", "wait-forever")],
        "wait-forever",
    );
    let err = pods
        .create(&PostParams::default(), &hanging)
        .await
        .expect_err("the webhook should have hung");
    assert!(message(&err).contains("webhook"), "{err}");
    assert!(message(&err).contains("deadline"), "{err}");
    let err = pods.get("hanging-pod").await.expect_err("not created");
    assert!(
        matches!(&err, kube::Error::Api(s) if s.code == 404),
        "{err}"
    );

    let configmaps = f.configmaps();
    let expected = "the configmap contains unwanted key and value";
    let err = configmaps
        .create(
            &PostParams::default(),
            &configmap("disallowed-configmap", NON_COMPLIANT),
        )
        .await
        .expect_err("the configmap should have been denied");
    assert!(message(&err).contains(expected), "{err}");

    let allowed = configmap("allowed-configmap", &[("admit", "this")]);
    configmaps
        .create(&PostParams::default(), &allowed)
        .await
        .expect("create the allowed configmap");

    // updateConfigMap: get, modify, update, retried on conflicts only.
    let err = loop {
        let mut cm = configmaps.get("allowed-configmap").await.expect("get");
        cm.data
            .get_or_insert_with(Default::default)
            .insert("webhook-e2e-test".into(), "webhook-disallow".into());
        match configmaps
            .replace("allowed-configmap", &PostParams::default(), &cm)
            .await
        {
            Err(kube::Error::Api(s)) if s.code == 409 => continue,
            Err(e) => break e,
            Ok(_) => panic!("the update (PUT) should have been denied"),
        }
    };
    assert!(message(&err).contains(expected), "{err}");

    let patch = json!({"data": {"webhook-e2e-test": "webhook-disallow"}});
    let err = configmaps
        .patch(
            "allowed-configmap",
            &PatchParams::default(),
            &Patch::Strategic(patch),
        )
        .await
        .expect_err("the patch should have been denied");
    assert!(message(&err).contains(expected), "{err}");

    let skipped = create_namespace(
        &f.client,
        "exempted-namespace",
        json!({"skip-webhook-admission": "yes", f.unique(): "true"}),
    )
    .await;
    Api::<ConfigMap>::namespaced(f.client.clone(), &skipped)
        .create(
            &PostParams::default(),
            &configmap("disallowed-configmap", NON_COMPLIANT),
        )
        .await
        .expect("create the configmap in the exempted namespace");
    f.delete_validating(f.unique()).await;
}

/// `[sig-api-machinery] AdmissionWebhook [Privileged:ClusterAdmin] should unconditionally reject operations on fail closed webhook [Conformance]`
/// (test/e2e/apimachinery/webhook.go).
async fn should_unconditionally_reject_operations_on_fail_closed_webhook(apiary: &Apiary) {
    let f = before_each(apiary).await;
    let mut hook = f.failing("fail-closed.k8s.io");
    hook["failurePolicy"] = json!("Fail");
    hook["namespaceSelector"] = json!({"matchLabels": {f.unique(): "true"},
        "matchExpressions": [{"key": "fail-closed-webhook", "operator": "In", "values": ["yes"]}]});
    f.create_validating(f.unique(), vec![hook, f.is_ready("validating")])
        .await
        .expect("registering webhook config");
    f.wait_ready().await;

    let fail_ns = create_namespace(
        &f.client,
        "fail-closed-namespace",
        json!({"fail-closed-webhook": "yes", f.unique(): "true"}),
    )
    .await;
    let cm = ConfigMap {
        metadata: meta("foo", &[]),
        ..Default::default()
    };
    let err = Api::<ConfigMap>::namespaced(f.client.clone(), &fail_ns)
        .create(&PostParams::default(), &cm)
        .await
        .expect_err("the configmap should have been rejected");
    assert!(
        matches!(&err, kube::Error::Api(s) if s.code == 500 && s.reason == "InternalError"),
        "expect an internal error, got {err:?}"
    );
    f.delete_validating(f.unique()).await;
}

/// `[sig-api-machinery] AdmissionWebhook [Privileged:ClusterAdmin] should mutate configmap [Conformance]`
/// (test/e2e/apimachinery/webhook.go).
async fn should_mutate_configmap(apiary: &Apiary) {
    let f = before_each(apiary).await;
    let hooks = vec![
        f.mutate_configmap(1),
        f.mutate_configmap(2),
        f.is_ready("mutating"),
    ];
    f.create_mutating(f.unique(), hooks)
        .await
        .expect("registering mutating webhook config");
    f.wait_ready().await;

    let mutated = f
        .configmaps()
        .create(
            &PostParams::default(),
            &configmap("to-be-mutated", TO_BE_MUTATED),
        )
        .await
        .expect("create the configmap");
    let expected = labels(&[
        ("mutation-start", "yes"),
        ("mutation-stage-1", "yes"),
        ("mutation-stage-2", "yes"),
    ]);
    assert_eq!(mutated.data, Some(expected));
    f.delete_mutating(f.unique()).await;
}

/// `[sig-api-machinery] AdmissionWebhook [Privileged:ClusterAdmin] should mutate pod and apply defaults after mutation [Conformance]`
/// (test/e2e/apimachinery/webhook.go).
async fn should_mutate_pod_and_apply_defaults_after_mutation(apiary: &Apiary) {
    let f = before_each(apiary).await;
    let hook = f.webhook(
        "adding-init-container.k8s.io",
        rule(&["CREATE"], &[""], &["v1"], &["pods"]),
        "/mutating-pods",
    );
    f.create_mutating(f.unique(), vec![hook, f.is_ready("mutating")])
        .await
        .expect("registering mutating webhook config");
    f.wait_ready().await;

    let mutated = Api::<Pod>::namespaced(f.client.clone(), &f.ns)
        .create(
            &PostParams::default(),
            &pod("webhook-to-be-mutated", &[], "example"),
        )
        .await
        .expect("create the pod");
    let init = mutated
        .spec
        .expect("spec")
        .init_containers
        .unwrap_or_default();
    assert_eq!(
        init.len(),
        1,
        "expect pod to have 1 init container: {init:?}"
    );
    assert_eq!(init[0].name, "webhook-added-init-container");
    assert_eq!(init[0].termination_message_policy.as_deref(), Some("File"));
    f.delete_mutating(f.unique()).await;
}

conformance_tests!(rocksdb_only {
    should_include_webhook_resources_in_discovery_documents,
    should_be_able_to_deny_pod_and_configmap_creation,
    should_be_able_to_deny_custom_resource_creation_update_and_deletion,
    should_unconditionally_reject_operations_on_fail_closed_webhook,
    should_mutate_configmap,
    should_mutate_pod_and_apply_defaults_after_mutation,
    should_not_be_able_to_mutate_or_prevent_deletion_of_webhook_configuration_objects,
    should_mutate_custom_resource,
    should_deny_crd_creation,
    should_mutate_custom_resource_with_different_stored_version,
    should_mutate_custom_resource_with_pruning,
    should_honor_timeout,
    patching_updating_a_validating_webhook_should_work,
    patching_updating_a_mutating_webhook_should_work,
    listing_validating_webhooks_should_work,
    listing_mutating_webhooks_should_work,
    should_be_able_to_create_and_update_validating_webhook_configurations_with_match_conditions,
    should_be_able_to_create_and_update_mutating_webhook_configurations_with_match_conditions,
    should_reject_validating_webhook_configurations_with_invalid_match_conditions,
    should_reject_mutating_webhook_configurations_with_invalid_match_conditions,
    should_mutate_everything_except_skip_me_configmaps,
});
