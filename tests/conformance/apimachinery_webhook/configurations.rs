//! The AdmissionWebhook conformance tests on webhook configurations themselves: updating and
//! patching, listing and deleting collections, match conditions, timeouts, and the exemption of
//! configurations from webhooks.

use k8s_openapi::api::admissionregistration::v1::MatchCondition;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{DeleteParams, ListParams, PostParams};
use serde_json::{json, Value};

use super::{before_each, configmap, configmaps_rule, Fixture, TO_BE_MUTATED};
use crate::common::Apiary;
use crate::sample_webhooks::{labels, message, meta, request};

const REPLACE_OPERATIONS_WITH_CREATE: &str =
    r#"[{"op": "replace", "path": "/webhooks/0/rules/0/operations", "value": ["CREATE"]}]"#;

/// `[sig-api-machinery] AdmissionWebhook [Privileged:ClusterAdmin] patching/updating a validating webhook should work [Conformance]`
/// (test/e2e/apimachinery/webhook.go).
pub(super) async fn patching_updating_a_validating_webhook_should_work(apiary: &Apiary) {
    let f = before_each(apiary).await;
    let hooks = vec![f.deny_configmap(), f.is_ready("validating")];
    f.create_validating(f.unique(), hooks)
        .await
        .expect("Creating validating webhook configuration");
    f.wait_ready().await;
    f.poll_non_compliant(true).await;

    // Updating the rules to not include the create operation (retried on conflicts).
    loop {
        let mut hook = f.validating().get(f.unique()).await.expect("get");
        hook.webhooks.as_mut().expect("webhooks")[0]
            .rules
            .as_mut()
            .expect("rules")[0]
            .operations = Some(vec!["UPDATE".into()]);
        match f
            .validating()
            .replace(f.unique(), &PostParams::default(), &hook)
            .await
        {
            Err(kube::Error::Api(s)) if s.code == 409 => continue,
            result => {
                result.expect("Updating validating webhook configuration");
                break;
            }
        }
    }
    f.poll_non_compliant(false).await;

    let path = format!(
        "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/{}",
        f.unique()
    );
    let patch: Value = serde_json::from_str(REPLACE_OPERATIONS_WITH_CREATE).expect("patch");
    request(&f.client, "PATCH", &path, JSON_PATCH, &patch)
        .await
        .expect("Patching validating webhook configuration");
    f.poll_non_compliant(true).await;
    f.validating()
        .delete(f.unique(), &DeleteParams::default())
        .await
        .expect("Deleting validating webhook configuration");
}

const JSON_PATCH: &str = "application/json-patch+json";

/// `[sig-api-machinery] AdmissionWebhook [Privileged:ClusterAdmin] patching/updating a mutating webhook should work [Conformance]`
/// (test/e2e/apimachinery/webhook.go).
pub(super) async fn patching_updating_a_mutating_webhook_should_work(apiary: &Apiary) {
    let f = before_each(apiary).await;
    let hooks = vec![f.mutate_configmap(1), f.is_ready("mutating")];
    f.create_mutating(f.unique(), hooks)
        .await
        .expect("Creating mutating webhook configuration");
    f.wait_ready().await;

    let mut hook = f.mutating().get(f.unique()).await.expect("Getting");
    hook.webhooks.as_mut().expect("webhooks")[0]
        .rules
        .as_mut()
        .expect("rules")[0]
        .operations = Some(vec!["UPDATE".into()]);
    f.mutating()
        .replace(f.unique(), &PostParams::default(), &hook)
        .await
        .expect("Updating mutating webhook configuration");
    f.poll_mutated(false).await;

    let path = format!(
        "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/{}",
        f.unique()
    );
    let patch: Value = serde_json::from_str(REPLACE_OPERATIONS_WITH_CREATE).expect("patch");
    request(&f.client, "PATCH", &path, JSON_PATCH, &patch)
        .await
        .expect("Patching mutating webhook configuration");
    f.poll_mutated(true).await;
    f.mutating()
        .delete(f.unique(), &DeleteParams::default())
        .await
        .expect("Deleting mutating webhook configuration");
}

/// `[sig-api-machinery] AdmissionWebhook [Privileged:ClusterAdmin] listing validating webhooks should work [Conformance]`
/// (test/e2e/apimachinery/webhook.go).
pub(super) async fn listing_validating_webhooks_should_work(apiary: &Apiary) {
    let f = before_each(apiary).await;
    let test_uuid = uuid::Uuid::new_v4().to_string();
    for i in 0..10 {
        let hooks = vec![f.deny_configmap(), f.is_ready("validating")];
        let config = json!({"metadata": {"name": format!("{}-{i}", f.unique()),
            "labels": {"e2e-list-test-uuid": test_uuid}}, "webhooks": hooks});
        f.check_scoped(&config);
        let config = serde_json::from_value(config).expect("configuration");
        f.validating()
            .create(&PostParams::default(), &config)
            .await
            .expect("Creating validating webhook configuration");
    }
    let selector = ListParams::default().labels(&format!("e2e-list-test-uuid={test_uuid}"));
    let list = f.validating().list(&selector).await.expect("Listing");
    assert_eq!(list.items.len(), 10);
    f.wait_ready().await;
    f.poll_non_compliant(true).await;

    f.validating()
        .delete_collection(&DeleteParams::default(), &selector)
        .await
        .expect("Deleting collection of validating webhook configurations");
    f.poll_non_compliant(false).await;
}

/// `[sig-api-machinery] AdmissionWebhook [Privileged:ClusterAdmin] listing mutating webhooks should work [Conformance]`
/// (test/e2e/apimachinery/webhook.go).
pub(super) async fn listing_mutating_webhooks_should_work(apiary: &Apiary) {
    let f = before_each(apiary).await;
    let test_uuid = uuid::Uuid::new_v4().to_string();
    for i in 0..10 {
        let hooks = vec![f.mutate_configmap(1), f.is_ready("mutating")];
        let config = json!({"metadata": {"name": format!("{}-{i}", f.unique()),
            "labels": {"e2e-list-test-uuid": test_uuid}}, "webhooks": hooks});
        f.check_scoped(&config);
        let config = serde_json::from_value(config).expect("configuration");
        f.mutating()
            .create(&PostParams::default(), &config)
            .await
            .expect("Creating mutating webhook configuration");
    }
    let selector = ListParams::default().labels(&format!("e2e-list-test-uuid={test_uuid}"));
    let list = f.mutating().list(&selector).await.expect("Listing");
    assert_eq!(list.items.len(), 10);
    f.wait_ready().await;
    f.poll_mutated(true).await;

    f.mutating()
        .delete_collection(&DeleteParams::default(), &selector)
        .await
        .expect("Deleting collection of mutating webhook configurations");
    f.poll_mutated(false).await;
}

fn conditions(pairs: &[(&str, &str)]) -> Vec<MatchCondition> {
    pairs
        .iter()
        .map(|(name, expression)| MatchCondition {
            name: name.to_string(),
            expression: expression.to_string(),
        })
        .collect()
}

const PRODUCTION: (&str, &str) = ("expression-1", "object.metadata.namespace == 'production'");
const STAGING: (&str, &str) = ("expression-2", "object.metadata.namespace == 'staging'");
const INVALID: (&str, &str) = ("invalid-expression-1", "... [] bad expression");

/// `newValidatingWebhookWithMatchConditions`.
fn validating_with_match_conditions(f: &Fixture, conditions: &[MatchCondition]) -> Vec<Value> {
    let mut hook = f.webhook(
        "validation-webhook-with-match-conditions.k8s.io",
        configmaps_rule(&["CREATE"]),
        "/always-deny",
    );
    hook["matchPolicy"] = json!("Equivalent");
    hook["admissionReviewVersions"] = json!(["v1"]);
    hook["matchConditions"] = json!(conditions);
    vec![hook, f.is_ready("validating")]
}

/// `newMutatingWebhookWithMatchConditions`.
fn mutating_with_match_conditions(f: &Fixture, conditions: &[MatchCondition]) -> Vec<Value> {
    let mut hook = f.webhook(
        "adding-configmap-data.k8s.io",
        configmaps_rule(&["CREATE"]),
        "/mutating-configmaps",
    );
    hook["matchConditions"] = json!(conditions);
    vec![hook, f.is_ready("mutating")]
}

/// `[sig-api-machinery] AdmissionWebhook [Privileged:ClusterAdmin] should be able to create and update validating webhook configurations with match conditions [Conformance]`
/// (test/e2e/apimachinery/webhook.go).
pub(super) async fn should_be_able_to_create_and_update_validating_webhook_configurations_with_match_conditions(
    apiary: &Apiary,
) {
    let f = before_each(apiary).await;
    let initial = conditions(&[PRODUCTION]);
    let hooks = validating_with_match_conditions(&f, &initial);
    f.create_validating(f.unique(), hooks)
        .await
        .expect("create");
    let mut config = f.validating().get(f.unique()).await.expect("get");
    let webhooks = config.webhooks.as_mut().expect("webhooks");
    assert_eq!(webhooks[0].match_conditions.as_ref(), Some(&initial));

    let updated = conditions(&[PRODUCTION, STAGING]);
    webhooks[0].match_conditions = Some(updated.clone());
    f.validating()
        .replace(f.unique(), &PostParams::default(), &config)
        .await
        .expect("update");
    let config = f.validating().get(f.unique()).await.expect("get");
    let webhooks = config.webhooks.expect("webhooks");
    assert_eq!(webhooks[0].match_conditions.as_ref(), Some(&updated));
    f.validating()
        .delete(f.unique(), &DeleteParams::default())
        .await
        .expect("deleting validating webhook configuration");
}

/// `[sig-api-machinery] AdmissionWebhook [Privileged:ClusterAdmin] should be able to create and update mutating webhook configurations with match conditions [Conformance]`
/// (test/e2e/apimachinery/webhook.go).
pub(super) async fn should_be_able_to_create_and_update_mutating_webhook_configurations_with_match_conditions(
    apiary: &Apiary,
) {
    let f = before_each(apiary).await;
    let initial = conditions(&[PRODUCTION]);
    let hooks = mutating_with_match_conditions(&f, &initial);
    f.create_mutating(f.unique(), hooks).await.expect("create");
    let mut config = f.mutating().get(f.unique()).await.expect("get");
    let webhooks = config.webhooks.as_mut().expect("webhooks");
    assert_eq!(webhooks[0].match_conditions.as_ref(), Some(&initial));

    let updated = conditions(&[PRODUCTION, STAGING]);
    webhooks[0].match_conditions = Some(updated.clone());
    f.mutating()
        .replace(f.unique(), &PostParams::default(), &config)
        .await
        .expect("update");
    let config = f.mutating().get(f.unique()).await.expect("get");
    let webhooks = config.webhooks.expect("webhooks");
    assert_eq!(webhooks[0].match_conditions.as_ref(), Some(&updated));
    f.mutating()
        .delete(f.unique(), &DeleteParams::default())
        .await
        .expect("deleting mutating webhook configuration");
}

/// `[sig-api-machinery] AdmissionWebhook [Privileged:ClusterAdmin] should reject validating webhook configurations with invalid match conditions [Conformance]`
/// (test/e2e/apimachinery/webhook.go).
pub(super) async fn should_reject_validating_webhook_configurations_with_invalid_match_conditions(
    apiary: &Apiary,
) {
    let f = before_each(apiary).await;
    let hooks = validating_with_match_conditions(&f, &conditions(&[INVALID]));
    let err = f
        .create_validating(f.unique(), hooks)
        .await
        .expect_err("should have been denied by the api-server");
    assert!(message(&err).contains("compilation failed"), "{err}");
}

/// `[sig-api-machinery] AdmissionWebhook [Privileged:ClusterAdmin] should reject mutating webhook configurations with invalid match conditions [Conformance]`
/// (test/e2e/apimachinery/webhook.go).
pub(super) async fn should_reject_mutating_webhook_configurations_with_invalid_match_conditions(
    apiary: &Apiary,
) {
    let f = before_each(apiary).await;
    let hooks = mutating_with_match_conditions(&f, &conditions(&[INVALID]));
    let err = f
        .create_mutating(f.unique(), hooks)
        .await
        .expect_err("should have been denied by the api-server");
    assert!(message(&err).contains("compilation failed"), "{err}");
}

/// `[sig-api-machinery] AdmissionWebhook [Privileged:ClusterAdmin] should mutate everything except 'skip-me' configmaps [Conformance]`
/// (test/e2e/apimachinery/webhook.go).
pub(super) async fn should_mutate_everything_except_skip_me_configmaps(apiary: &Apiary) {
    let f = before_each(apiary).await;
    let mut hook = f.mutate_configmap(1);
    hook["matchConditions"] = json!(conditions(&[(
        "skip-me",
        "object.metadata.name != 'skip-me'"
    )]));
    f.create_mutating(f.unique(), vec![hook, f.is_ready("mutating")])
        .await
        .expect("registering mutating webhook config");
    f.wait_ready().await;
    f.wait_ready().await;

    let api = f.configmaps();
    let random = configmap(&uuid::Uuid::new_v4().to_string(), TO_BE_MUTATED);
    let mutated = api
        .create(&PostParams::default(), &random)
        .await
        .expect("creating configMap object");
    let expected = labels(&[("mutation-start", "yes"), ("mutation-stage-1", "yes")]);
    assert_eq!(mutated.data, Some(expected));

    let skipped = api
        .create(&PostParams::default(), &configmap("skip-me", TO_BE_MUTATED))
        .await
        .expect("creating configMap object");
    assert_eq!(skipped.data, Some(labels(TO_BE_MUTATED)));
    f.mutating()
        .delete(f.unique(), &DeleteParams::default())
        .await
        .expect("deleting mutating webhook configuration");
}

/// `registerSlowWebhook`: allows configmaps after 5 s, with `policy` and `timeout`.
async fn register_slow_webhook(f: &Fixture, policy: &str, timeout: Option<i32>) {
    let mut hook = f.webhook(
        "allow-configmap-with-delay-webhook.k8s.io",
        configmaps_rule(&["CREATE"]),
        "/always-allow-delay-5s",
    );
    hook["failurePolicy"] = json!(policy);
    if let Some(timeout) = timeout {
        hook["timeoutSeconds"] = json!(timeout);
    }
    f.create_validating(f.unique(), vec![hook, f.is_ready("validating")])
        .await
        .expect("registering slow webhook config");
    f.wait_ready().await;
}

const SLOW_CONFIGMAP: &str = "e2e-test-slow-webhook-configmap";

fn empty_configmap(name: &str) -> ConfigMap {
    ConfigMap {
        metadata: meta(name, &[]),
        ..Default::default()
    }
}

/// `testSlowWebhookTimeoutNoError`.
async fn create_and_delete_slow_configmap(f: &Fixture) {
    let api = f.configmaps();
    api.create(&PostParams::default(), &empty_configmap(SLOW_CONFIGMAP))
        .await
        .expect("create the configmap");
    api.delete(SLOW_CONFIGMAP, &DeleteParams::default())
        .await
        .expect("delete the configmap");
}

/// `[sig-api-machinery] AdmissionWebhook [Privileged:ClusterAdmin] should honor timeout [Conformance]`
/// (test/e2e/apimachinery/webhook.go).
pub(super) async fn should_honor_timeout(apiary: &Apiary) {
    let f = before_each(apiary).await;
    // Setting timeout (1s) shorter than webhook latency (5s)
    register_slow_webhook(&f, "Fail", Some(1)).await;
    let err = f
        .configmaps()
        .create(&PostParams::default(), &empty_configmap(SLOW_CONFIGMAP))
        .await
        .expect_err("should have timed out reaching the slow webhook");
    let text = message(&err);
    let is_timeout = text.contains("context deadline exceeded") || text.contains("timeout");
    assert!(
        is_timeout && text.contains("/always-allow-delay-5s?timeout=1s"),
        "expect an HTTP/dial timeout error querying the slow webhook, got: {text:?}"
    );
    f.delete_validating(f.unique()).await;

    // No error when the timeout is shorter than the latency and the failure policy is Ignore,
    // when it is longer, and when it is left out (10s in v1).
    for (policy, timeout) in [("Ignore", Some(1)), ("Fail", Some(10)), ("Fail", None)] {
        register_slow_webhook(&f, policy, timeout).await;
        create_and_delete_slow_configmap(&f).await;
        f.delete_validating(f.unique()).await;
    }
}

/// `[sig-api-machinery] AdmissionWebhook [Privileged:ClusterAdmin] should not be able to mutate or prevent deletion of webhook configuration objects [Conformance]`
/// (test/e2e/apimachinery/webhook.go).
pub(super) async fn should_not_be_able_to_mutate_or_prevent_deletion_of_webhook_configuration_objects(
    apiary: &Apiary,
) {
    let f = before_each(apiary).await;
    let blocking = format!("{}blocking", f.unique());
    let configurations = rule_on_configurations;
    // A validating webhook denying deletions of webhook configurations: never called.
    let mut deny = f.webhook(
        "deny-webhook-configuration-deletions.k8s.io",
        configurations(&["DELETE"]),
        "/always-deny",
    );
    deny["failurePolicy"] = json!("Fail");
    f.create_validating(&blocking, vec![deny, f.is_ready("validating")])
        .await
        .expect("registering webhook config");
    f.wait_ready().await;
    // A mutating webhook labelling created webhook configurations: never called.
    let mut add_label = f.webhook(
        "add-label-to-webhook-configurations.k8s.io",
        configurations(&["CREATE"]),
        "/add-label",
    );
    add_label["failurePolicy"] = json!("Fail");
    f.create_mutating(&blocking, vec![add_label, f.is_ready("mutating")])
        .await
        .expect("registering webhook config");
    f.wait_ready().await;

    // testWebhooksForWebhookConfigurations: dummies whose webhooks cannot be called.
    let dummy = |name: &str| {
        let mut hook = f.webhook(name, rule_invalid(), "");
        hook["clientConfig"]
            .as_object_mut()
            .expect("config")
            .remove("caBundle");
        hook["failurePolicy"] = json!("Ignore");
        hook
    };
    let added = |labels: &Option<std::collections::BTreeMap<String, String>>| {
        labels
            .as_ref()
            .and_then(|l| l.get("added-label"))
            .is_some_and(|v| v == "yes")
    };
    let created = f
        .create_validating(
            f.unique(),
            vec![
                dummy("dummy-validating-webhook.k8s.io"),
                f.is_ready("validating"),
            ],
        )
        .await
        .expect("registering webhook config");
    assert!(
        !added(&created.metadata.labels),
        "expected not to be mutated"
    );
    f.wait_ready().await;
    f.validating()
        .delete(f.unique(), &DeleteParams::default())
        .await
        .expect("deleting the validating webhook configuration");

    let created = f
        .create_mutating(
            f.unique(),
            vec![
                dummy("dummy-mutating-webhook.k8s.io"),
                f.is_ready("mutating"),
            ],
        )
        .await
        .expect("registering webhook config");
    assert!(
        !added(&created.metadata.labels),
        "expected not to be mutated"
    );
    f.wait_ready().await;
    f.mutating()
        .delete(f.unique(), &DeleteParams::default())
        .await
        .expect("deleting the mutating webhook configuration");
    f.delete_validating(&blocking).await;
    f.delete_mutating(&blocking).await;
}

fn rule_on_configurations(operations: &[&str]) -> Value {
    super::rule(
        operations,
        &["admissionregistration.k8s.io"],
        &["*"],
        &[
            "validatingwebhookconfigurations",
            "mutatingwebhookconfigurations",
        ],
    )
}

/// A rule that matches no real resource.
fn rule_invalid() -> Value {
    super::rule(&["CREATE"], &[""], &["v1"], &["invalid"])
}
