//! End-to-end: dynamic admission in the real `apiary` binary, against kube-apiserver 1.33's
//! behaviour: mutating and validating admission webhooks (HTTPS servers in the test process,
//! reached by URL or through a Service and its Endpoints) and ValidatingAdmissionPolicies,
//! driven by kubectl and kube-rs. Expected messages are upstream's: `ToStatusErr` and
//! `ErrCallingWebhook` (apiserver/pkg/admission/plugin/webhook), the policy dispatcher's
//! `ValidatingAdmissionPolicy '<p>' with binding '<b>' denied request: ...` behind
//! `admission.NewForbidden` with reason Invalid, and kubectl's error printing (`Error from server
//! (<reason>): ...`, `The <resource> "<name>" is invalid: <field>: <message>` for Invalid).
//!
//! Configurations take effect a moment after they are stored (as upstream's informers), so each
//! step first polls a probe request until the configuration shows, then asserts exactly.

#[path = "../common/mod.rs"]
mod common;
mod policies;
mod webhooks;
mod webhooks_more;

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

use common::admission::{eventually, WebhookServer};
use common::{stderr, stdout, Apiary};

pub(crate) const AUDIT_POLICY: &str = "\
apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: None
  nonResourceURLs: [\"/readyz\", \"/livez*\", \"/healthz*\"]
- level: RequestResponse
  resources:
  - group: \"\"
    resources: [\"configmaps\"]
- level: Metadata
";

/// Starts Apiary with an audit log at `audit/audit.log`.
pub(crate) fn start_audited() -> Apiary {
    Apiary::start_prepared(Vec::new(), |dir: &Path| {
        std::fs::write(dir.join("audit-policy.yaml"), AUDIT_POLICY).expect("policy");
        std::fs::write(
            dir.join("config.toml"),
            "[audit]\npolicy_file = \"audit-policy.yaml\"\nlog_path = \"audit/audit.log\"\n",
        )
        .expect("config");
    })
}

pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// The `ResponseComplete` audit event of the create of `name` in `namespace`, once written.
pub(crate) fn audit_event_of_create(apiary: &Apiary, namespace: &str, name: &str) -> Option<Value> {
    let text =
        std::fs::read_to_string(apiary.data_dir().join("audit/audit.log")).unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|e| {
            e["stage"] == "ResponseComplete"
                && e["verb"] == "create"
                && e["objectRef"]["namespace"] == namespace
                && (e["objectRef"]["name"] == name
                    || e["requestObject"]["metadata"]["name"] == name
                    || e["responseObject"]["metadata"]["name"] == name)
        })
}

/// Polls (up to 5 s, the log is written off the request path) for the audit event of a create.
pub(crate) fn wait_audit_event_of_create(apiary: &Apiary, namespace: &str, name: &str) -> Value {
    let mut found = None;
    eventually(&format!("the audit event of {namespace}/{name}"), 5, || {
        found = audit_event_of_create(apiary, namespace, name);
        found.as_ref().map(|_| ()).ok_or_else(|| "none".to_string())
    });
    found.expect("event")
}

/// Creates `object` (JSON) with `kubectl create -f -`; asserts success.
pub(crate) fn create(apiary: &Apiary, object: &Value) -> String {
    apiary.ok_stdin(&["create", "-f", "-"], &object.to_string())
}

/// Runs `kubectl create -f -` with `object`; returns (success, stdout, stderr).
pub(crate) fn try_create(
    apiary: &Apiary,
    object: &Value,
    extra: &[&str],
) -> (bool, String, String) {
    let mut args = vec!["create", "-f", "-"];
    args.extend_from_slice(extra);
    let out = apiary.kubectl_with_stdin(&args, Some(&object.to_string()));
    (out.status.success(), stdout(&out), stderr(&out))
}

pub(crate) fn namespace(apiary: &Apiary, name: &str, labels: Value) {
    create(
        apiary,
        &json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": labels}}),
    );
}

pub(crate) fn configmap(name: &str, namespace: &str, labels: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "data": {"key": "value"}})
}

pub(crate) fn deployment(name: &str, namespace: &str, replicas: i64, labels: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {"replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}})
}

pub(crate) fn rules(groups: &[&str], resources: &[&str], operations: &[&str]) -> Value {
    json!([{"apiGroups": groups, "apiVersions": ["*"], "operations": operations,
        "resources": resources}])
}

/// A webhook called by URL at `path` of `server`, for namespaces labelled `namespace_labels`.
pub(crate) fn hook(
    server: &WebhookServer,
    name: &str,
    path: &str,
    rules: Value,
    namespace_labels: Value,
) -> Value {
    json!({
        "name": name,
        "admissionReviewVersions": ["v1"],
        "sideEffects": "None",
        "timeoutSeconds": 5,
        "clientConfig": {"url": server.url(path), "caBundle": server.ca_bundle()},
        "rules": rules,
        "namespaceSelector": {"matchLabels": namespace_labels},
    })
}

pub(crate) fn configuration(kind: &str, name: &str, webhooks: Vec<Value>) -> Value {
    json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": kind,
        "metadata": {"name": name}, "webhooks": webhooks})
}

/// The last review received at `path` for the object named `name`.
pub(crate) fn review_of(server: &WebhookServer, path: &str, name: &str) -> Value {
    server
        .reviews_at(path)
        .into_iter()
        .rev()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no review of {name} at {path}"))
}

pub(crate) fn gvk(group: &str, version: &str, kind: &str) -> Value {
    json!({"group": group, "version": version, "kind": kind})
}

pub(crate) fn gvr(group: &str, version: &str, resource: &str) -> Value {
    json!({"group": group, "version": version, "resource": resource})
}
