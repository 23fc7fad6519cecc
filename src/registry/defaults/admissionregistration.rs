//! `admissionregistration.k8s.io/v1` defaults (`pkg/apis/admissionregistration/v1/defaults.go`
//! and the generated walk of nested types): webhooks' failure and match policies, selectors,
//! timeout and reinvocation policy, rules' scope, services' port; policies' failure policy and
//! match resources.

use serde_json::{json, Map, Value};

use super::{child, each_object, set_default};

/// `SetDefaults_Rule` on every rule of `rules`: `scope: "*"`.
fn rules(parent: &mut Map<String, Value>, key: &str) {
    each_object(parent, key, |rule| set_default(rule, "scope", json!("*")));
}

/// `SetDefaults_ValidatingWebhook` / `SetDefaults_MutatingWebhook` and the nested defaults.
fn webhook(hook: &mut Map<String, Value>, mutating: bool) {
    set_default(hook, "failurePolicy", json!("Fail"));
    set_default(hook, "matchPolicy", json!("Equivalent"));
    set_default(hook, "namespaceSelector", json!({}));
    set_default(hook, "objectSelector", json!({}));
    set_default(hook, "timeoutSeconds", json!(10));
    if mutating {
        set_default(hook, "reinvocationPolicy", json!("Never"));
    }
    rules(hook, "rules");
    if let Some(service) = child(hook, "clientConfig").and_then(|c| child(c, "service")) {
        set_default(service, "port", json!(443));
    }
}

fn webhooks(obj: &mut Value, mutating: bool) {
    if let Some(map) = obj.as_object_mut() {
        each_object(map, "webhooks", |hook| webhook(hook, mutating));
    }
}

/// ValidatingWebhookConfigurations: every webhook's defaults.
pub fn validating_webhook_configuration(obj: &mut Value) {
    webhooks(obj, false);
}

/// MutatingWebhookConfigurations: every webhook's defaults, `reinvocationPolicy: Never` too.
pub fn mutating_webhook_configuration(obj: &mut Value) {
    webhooks(obj, true);
}

/// `SetDefaults_MatchResources` and its rules' scope.
fn match_resources(resources: &mut Map<String, Value>) {
    set_default(resources, "matchPolicy", json!("Equivalent"));
    set_default(resources, "namespaceSelector", json!({}));
    set_default(resources, "objectSelector", json!({}));
    rules(resources, "resourceRules");
    rules(resources, "excludeResourceRules");
}

/// ValidatingAdmissionPolicies: `SetDefaults_ValidatingAdmissionPolicySpec` (`failurePolicy:
/// Fail`) and the match constraints' defaults.
pub fn validating_admission_policy(obj: &mut Value) {
    let Some(spec) = obj.as_object_mut().and_then(|m| child(m, "spec")) else {
        return;
    };
    set_default(spec, "failurePolicy", json!("Fail"));
    if let Some(constraints) = child(spec, "matchConstraints") {
        match_resources(constraints);
    }
}

/// ValidatingAdmissionPolicyBindings: the match resources' defaults, when set.
pub fn validating_admission_policy_binding(obj: &mut Value) {
    let resources = obj
        .as_object_mut()
        .and_then(|m| child(m, "spec"))
        .and_then(|spec| child(spec, "matchResources"));
    if let Some(resources) = resources {
        match_resources(resources);
    }
}
