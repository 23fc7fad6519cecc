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

mod common;

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

use common::admission::{eventually, Answer, WebhookServer};
use common::{stderr, stdout, Apiary};

const AUDIT_POLICY: &str = "\
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
fn start_audited() -> Apiary {
    Apiary::start_prepared(Vec::new(), |dir: &Path| {
        std::fs::write(dir.join("audit-policy.yaml"), AUDIT_POLICY).expect("policy");
        std::fs::write(
            dir.join("config.toml"),
            "[audit]\npolicy_file = \"audit-policy.yaml\"\nlog_path = \"audit/audit.log\"\n",
        )
        .expect("config");
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// The `ResponseComplete` audit event of the create of `name` in `namespace`, once written.
fn audit_event_of_create(apiary: &Apiary, namespace: &str, name: &str) -> Option<Value> {
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
fn wait_audit_event_of_create(apiary: &Apiary, namespace: &str, name: &str) -> Value {
    let mut found = None;
    eventually(&format!("the audit event of {namespace}/{name}"), 5, || {
        found = audit_event_of_create(apiary, namespace, name);
        found.as_ref().map(|_| ()).ok_or_else(|| "none".to_string())
    });
    found.expect("event")
}

/// Creates `object` (JSON) with `kubectl create -f -`; asserts success.
fn create(apiary: &Apiary, object: &Value) -> String {
    apiary.ok_stdin(&["create", "-f", "-"], &object.to_string())
}

/// Runs `kubectl create -f -` with `object`; returns (success, stdout, stderr).
fn try_create(apiary: &Apiary, object: &Value, extra: &[&str]) -> (bool, String, String) {
    let mut args = vec!["create", "-f", "-"];
    args.extend_from_slice(extra);
    let out = apiary.kubectl_with_stdin(&args, Some(&object.to_string()));
    (out.status.success(), stdout(&out), stderr(&out))
}

fn namespace(apiary: &Apiary, name: &str, labels: Value) {
    create(
        apiary,
        &json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": labels}}),
    );
}

fn configmap(name: &str, namespace: &str, labels: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "data": {"key": "value"}})
}

fn deployment(name: &str, namespace: &str, replicas: i64, labels: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {"replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}})
}

fn rules(groups: &[&str], resources: &[&str], operations: &[&str]) -> Value {
    json!([{"apiGroups": groups, "apiVersions": ["*"], "operations": operations,
        "resources": resources}])
}

/// A webhook called by URL at `path` of `server`, for namespaces labelled `namespace_labels`.
fn hook(
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

fn configuration(kind: &str, name: &str, webhooks: Vec<Value>) -> Value {
    json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": kind,
        "metadata": {"name": name}, "webhooks": webhooks})
}

/// The last review received at `path` for the object named `name`.
fn review_of(server: &WebhookServer, path: &str, name: &str) -> Value {
    server
        .reviews_at(path)
        .into_iter()
        .rev()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no review of {name} at {path}"))
}

fn gvk(group: &str, version: &str, kind: &str) -> Value {
    json!({"group": group, "version": version, "kind": kind})
}

fn gvr(group: &str, version: &str, resource: &str) -> Value {
    json!({"group": group, "version": version, "resource": resource})
}

/// Webhooks 1, 2, 4, 5, 9 and 10 of the brief: a mutating webhook by URL (with the
/// AdmissionReview it receives, on create and on update), a validating webhook behind a Service,
/// namespace and object selectors, a match condition, warnings, and audit annotations.
#[test]
fn webhooks_mutate_deny_select_warn_and_annotate() {
    let apiary = start_audited();
    let runtime = runtime();
    let server = WebhookServer::start(&runtime, &["webhook.hooks.svc"], |path, request| {
        let name = request["name"].as_str().unwrap_or("");
        let labels = &request["object"]["metadata"]["labels"];
        match path {
            "/mutate" => {
                let patch = if labels.is_object() {
                    json!([{"op": "add", "path": "/metadata/labels/mutated", "value": "yes"}])
                } else {
                    json!([{"op": "add", "path": "/metadata/labels", "value": {"mutated": "yes"}}])
                };
                let mut answer = Answer::patch(patch);
                answer.response["auditAnnotations"] = json!({"decision": "labelled"});
                answer
            }
            "/deny" if name.starts_with("bad-") => {
                Answer::deny("configmaps named bad-* are not allowed")
            }
            "/select" => Answer::deny("selected by both selectors"),
            "/condition" => Answer::deny("the match condition let this through"),
            "/warn" => Answer::of(json!({"allowed": true,
                "warnings": ["configmap seen by the warn webhook"]})),
            _ => Answer::allow(),
        }
    });
    for (ns, labels) in [
        ("hooks", json!({})),
        ("mut", json!({"e2e": "mutate"})),
        ("deny", json!({"e2e": "deny"})),
        ("sel-on", json!({"admission": "on"})),
        ("sel-off", json!({})),
        ("cond", json!({"e2e": "cond"})),
        ("warn", json!({"e2e": "warn"})),
    ] {
        namespace(&apiary, ns, labels);
    }

    // 1. A mutating webhook by URL adds a label with a JSONPatch.
    create(
        &apiary,
        &configuration(
            "MutatingWebhookConfiguration",
            "add-label",
            vec![hook(
                &server,
                "add-label.example.com",
                "/mutate",
                rules(&[""], &["configmaps"], &["CREATE", "UPDATE"]),
                json!({"e2e": "mutate"}),
            )],
        ),
    );
    let mut i = 0;
    eventually("the mutating webhook takes effect", 10, || {
        i += 1;
        let name = format!("probe-{i}");
        apiary.ok(&["create", "configmap", &name, "-n", "mut"]);
        let label = apiary.ok(&[
            "get",
            "configmap",
            &name,
            "-n",
            "mut",
            "-o",
            "jsonpath={.metadata.labels.mutated}",
        ]);
        (label == "yes").then_some(()).ok_or(label)
    });
    assert_eq!(
        apiary.ok(&[
            "create",
            "configmap",
            "settings",
            "-n",
            "mut",
            "--from-literal=color=blue"
        ]),
        "configmap/settings created\n"
    );
    assert_eq!(
        apiary.ok(&[
            "get",
            "configmap",
            "settings",
            "-n",
            "mut",
            "-o",
            "jsonpath={.metadata.labels.mutated}"
        ]),
        "yes"
    );
    let review = review_of(&server, "/mutate", "settings");
    assert!(
        review["uid"].as_str().is_some_and(|u| !u.is_empty()),
        "{review}"
    );
    assert_eq!(review["kind"], gvk("", "v1", "ConfigMap"), "{review}");
    assert_eq!(review["resource"], gvr("", "v1", "configmaps"), "{review}");
    assert_eq!(
        review["requestKind"],
        gvk("", "v1", "ConfigMap"),
        "{review}"
    );
    assert_eq!(
        review["requestResource"],
        gvr("", "v1", "configmaps"),
        "{review}"
    );
    assert!(review["subResource"].is_null(), "{review}");
    assert_eq!(review["name"], "settings", "{review}");
    assert_eq!(review["namespace"], "mut", "{review}");
    assert_eq!(review["operation"], "CREATE", "{review}");
    assert_eq!(
        review["userInfo"]["username"], "kubernetes-admin",
        "{review}"
    );
    assert_eq!(review["object"]["kind"], "ConfigMap", "{review}");
    assert_eq!(
        review["object"]["data"],
        json!({"color": "blue"}),
        "{review}"
    );
    assert!(review["oldObject"].is_null(), "{review}");
    assert_eq!(review["dryRun"], false, "{review}");
    assert_eq!(
        review["options"]["apiVersion"], "meta.k8s.io/v1",
        "{review}"
    );
    assert_eq!(review["options"]["kind"], "CreateOptions", "{review}");
    assert_eq!(
        review["options"]["fieldManager"], "kubectl-create",
        "{review}"
    );
    // An update (kubectl label patches): UPDATE, with the old object and UpdateOptions.
    apiary.ok(&["label", "configmap", "settings", "-n", "mut", "tier=gold"]);
    let update = server
        .reviews_at("/mutate")
        .into_iter()
        .rev()
        .find(|r| r["name"] == "settings" && r["operation"] == "UPDATE")
        .expect("the update was reviewed");
    assert_eq!(
        update["object"]["metadata"]["labels"]["tier"], "gold",
        "{update}"
    );
    assert_eq!(
        update["oldObject"]["metadata"]["labels"],
        json!({"mutated": "yes"})
    );
    assert_eq!(
        update["options"]["fieldManager"], "kubectl-label",
        "{update}"
    );
    // 10. The webhook's audit annotations, and the mutation annotation, in the audit event.
    let event = wait_audit_event_of_create(&apiary, "mut", "settings");
    assert_eq!(
        event["annotations"]["add-label.example.com/decision"], "labelled",
        "{event}"
    );
    let mutation: Value = serde_json::from_str(
        event["annotations"]["mutation.webhook.admission.k8s.io/round_0_index_0"]
            .as_str()
            .unwrap_or_else(|| panic!("no mutation annotation: {event}")),
    )
    .expect("JSON");
    assert_eq!(
        mutation,
        json!({"configuration": "add-label", "webhook": "add-label.example.com", "mutated": true})
    );

    // 2. A validating webhook behind a Service + Endpoints denies with a message.
    let service = json!({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "webhook", "namespace": "hooks"},
            "spec": {"ports": [{"name": "https", "port": 443, "targetPort": server.port}]}},
        {"apiVersion": "v1", "kind": "Endpoints",
            "metadata": {"name": "webhook", "namespace": "hooks"},
            "subsets": [{"addresses": [{"ip": "127.0.0.1"}],
                "ports": [{"name": "https", "port": server.port}]}]},
    ]});
    create(&apiary, &service);
    let mut deny = hook(
        &server,
        "deny.example.com",
        "/deny",
        rules(&[""], &["configmaps"], &["CREATE"]),
        json!({"e2e": "deny"}),
    );
    deny["clientConfig"] = json!({
        "service": {"namespace": "hooks", "name": "webhook", "path": "/deny", "port": 443},
        "caBundle": server.ca_bundle(),
    });
    create(
        &apiary,
        &configuration("ValidatingWebhookConfiguration", "deny", vec![deny]),
    );
    let mut i = 0;
    eventually("the validating webhook takes effect", 10, || {
        i += 1;
        let out = apiary.kubectl(&[
            "create",
            "configmap",
            &format!("bad-probe-{i}"),
            "-n",
            "deny",
        ]);
        let err = stderr(&out);
        (!out.status.success() && err.contains("denied the request"))
            .then_some(())
            .ok_or(err)
    });
    assert_eq!(
        apiary.fails(&["create", "configmap", "bad-one", "-n", "deny"]),
        "error: failed to create configmap: admission webhook \"deny.example.com\" denied the request: configmaps named bad-* are not allowed\n"
    );
    assert_eq!(
        apiary.ok(&["create", "configmap", "good-one", "-n", "deny"]),
        "configmap/good-one created\n"
    );
    assert_eq!(
        apiary.fails(&["get", "configmap", "bad-one", "-n", "deny"]),
        "Error from server (NotFound): configmaps \"bad-one\" not found\n"
    );

    // 4. namespaceSelector and objectSelector: only labelled objects in labelled namespaces.
    let mut select = hook(
        &server,
        "select.example.com",
        "/select",
        rules(&[""], &["configmaps"], &["CREATE"]),
        json!({"admission": "on"}),
    );
    select["objectSelector"] = json!({"matchLabels": {"check": "yes"}});
    create(
        &apiary,
        &configuration("ValidatingWebhookConfiguration", "select", vec![select]),
    );
    let mut i = 0;
    eventually("the selecting webhook takes effect", 10, || {
        i += 1;
        let probe = configmap(&format!("probe-{i}"), "sel-on", json!({"check": "yes"}));
        let (ok, _, err) = try_create(&apiary, &probe, &[]);
        (!ok).then_some(()).ok_or(err)
    });
    let (ok, _, err) = try_create(
        &apiary,
        &configmap("checked", "sel-on", json!({"check": "yes"})),
        &[],
    );
    assert!(!ok);
    assert_eq!(
        err,
        "Error from server: error when creating \"STDIN\": admission webhook \"select.example.com\" denied the request: selected by both selectors\n"
    );
    create(&apiary, &configmap("unlabelled", "sel-on", json!({})));
    create(
        &apiary,
        &configmap("check-no", "sel-on", json!({"check": "no"})),
    );
    create(
        &apiary,
        &configmap("elsewhere", "sel-off", json!({"check": "yes"})),
    );
    for review in server.reviews_at("/select") {
        assert_eq!(review["namespace"], "sel-on", "{review}");
        assert_eq!(review["object"]["metadata"]["labels"]["check"], "yes");
    }

    // 5. A match condition skips the call.
    let mut condition = hook(
        &server,
        "condition.example.com",
        "/condition",
        rules(&[""], &["configmaps"], &["CREATE"]),
        json!({"e2e": "cond"}),
    );
    condition["matchConditions"] = json!([{"name": "not-skip-me",
        "expression": "object.metadata.name != 'skip-me'"}]);
    create(
        &apiary,
        &configuration(
            "ValidatingWebhookConfiguration",
            "condition",
            vec![condition],
        ),
    );
    let mut i = 0;
    eventually("the match-condition webhook takes effect", 10, || {
        i += 1;
        let out = apiary.kubectl(&["create", "configmap", &format!("probe-{i}"), "-n", "cond"]);
        (!out.status.success()).then_some(()).ok_or(stderr(&out))
    });
    assert_eq!(
        apiary.ok(&["create", "configmap", "skip-me", "-n", "cond"]),
        "configmap/skip-me created\n"
    );
    assert_eq!(
        apiary.fails(&["create", "configmap", "caught", "-n", "cond"]),
        "error: failed to create configmap: admission webhook \"condition.example.com\" denied the request: the match condition let this through\n"
    );
    assert!(server
        .reviews_at("/condition")
        .iter()
        .all(|r| r["name"] != "skip-me"));

    // 9. Webhook warnings are printed by kubectl.
    create(
        &apiary,
        &configuration(
            "ValidatingWebhookConfiguration",
            "warn",
            vec![hook(
                &server,
                "warn.example.com",
                "/warn",
                rules(&[""], &["configmaps"], &["CREATE"]),
                json!({"e2e": "warn"}),
            )],
        ),
    );
    let mut i = 0;
    eventually("the warning webhook takes effect", 10, || {
        i += 1;
        let out = apiary.kubectl(&["create", "configmap", &format!("probe-{i}"), "-n", "warn"]);
        let err = stderr(&out);
        err.contains("Warning:").then_some(()).ok_or(err)
    });
    let out = apiary.kubectl(&["create", "configmap", "noted", "-n", "warn"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "configmap/noted created\n");
    assert_eq!(
        stderr(&out),
        "Warning: configmap seen by the warn webhook\n"
    );
    // A patch is admitted as an UPDATE with UpdateOptions (upstream's patchToUpdateOptions).
    assert_eq!(update["options"]["kind"], "UpdateOptions", "{update}");
}

/// 3, 6 and 11: failurePolicy Fail and Ignore with the webhook down and too slow, server-side
/// dry runs, and configurations upstream refuses (side effects, a match condition that does not
/// compile).
#[test]
fn webhook_failure_policies_dry_run_and_invalid_configurations() {
    let apiary = Apiary::start();
    let runtime = runtime();
    let server = WebhookServer::start(&runtime, &[], |path, _| match path {
        "/slow" => Answer::allow().after(Duration::from_secs(3)),
        _ => Answer::allow(),
    });
    let closed = common::free_port();
    for ns in [
        "probe",
        "down-fail",
        "down-ignore",
        "slow-fail",
        "slow-ignore",
    ] {
        namespace(&apiary, &format!("fp-{ns}"), json!({"fp": ns}));
    }
    namespace(&apiary, "dry", json!({"e2e": "dry"}));

    let cm_rules = rules(&[""], &["configmaps"], &["CREATE"]);
    // 6. Dry runs. In admissionregistration.k8s.io/v1 (the only version served since 1.22) a
    // webhook must declare sideEffects None or NoneOnDryRun: `Unknown` (which kube-apiserver
    // would refuse to call on a dry run: "does not support dry run") is refused at creation.
    let mut unknown = hook(
        &server,
        "unknown.example.com",
        "/dry",
        cm_rules.clone(),
        json!({"e2e": "dry"}),
    );
    unknown["sideEffects"] = json!("Unknown");
    let (ok, _, err) = try_create(
        &apiary,
        &configuration(
            "ValidatingWebhookConfiguration",
            "unknown-effects",
            vec![unknown],
        ),
        &[],
    );
    assert!(!ok);
    assert_eq!(
        err,
        "The ValidatingWebhookConfiguration \"unknown-effects\" is invalid: webhooks[0].sideEffects: Unsupported value: \"Unknown\": supported values: \"None\", \"NoneOnDryRun\"\n"
    );
    // 11. A match condition that does not compile: 422 with the CEL compiler's message.
    let mut bad = hook(
        &server,
        "bad.example.com",
        "/dry",
        cm_rules.clone(),
        json!({"e2e": "dry"}),
    );
    bad["matchConditions"] = json!([{"name": "broken", "expression": "foo == 1"}]);
    let (ok, _, err) = try_create(
        &apiary,
        &configuration("ValidatingWebhookConfiguration", "bad-condition", vec![bad]),
        &["-v=6"],
    );
    assert!(!ok);
    assert!(err.contains("422 Unprocessable Entity"), "{err}");
    assert!(
        err.contains("The ValidatingWebhookConfiguration \"bad-condition\" is invalid: webhooks[0].matchConditions[0].expression: Invalid value: \"foo == 1\": compilation failed: ERROR: <input>:1:1: undeclared reference to 'foo' (in container '')"),
        "{err}"
    );

    let mut seen = hook(
        &server,
        "seen.example.com",
        "/seen",
        cm_rules.clone(),
        json!({}),
    );
    seen["namespaceSelector"] = json!({"matchExpressions": [{"key": "fp", "operator": "Exists"}]});
    let mut hooks = vec![seen];
    for (name, path, policy) in [
        ("down-fail", "/down", "Fail"),
        ("down-ignore", "/down", "Ignore"),
        ("slow-fail", "/slow", "Fail"),
        ("slow-ignore", "/slow", "Ignore"),
    ] {
        let mut h = hook(
            &server,
            &format!("{name}.example.com"),
            path,
            cm_rules.clone(),
            json!({"fp": name}),
        );
        h["failurePolicy"] = json!(policy);
        h["timeoutSeconds"] = json!(1);
        if path == "/down" {
            h["clientConfig"]["url"] = json!(format!("https://127.0.0.1:{closed}/down"));
        }
        hooks.push(h);
    }
    create(
        &apiary,
        &configuration("ValidatingWebhookConfiguration", "failures", hooks),
    );
    let mut i = 0;
    eventually("the failure-policy webhooks take effect", 10, || {
        i += 1;
        let name = format!("probe-{i}");
        apiary.ok(&["create", "configmap", &name, "-n", "fp-probe"]);
        server
            .reviews_at("/seen")
            .iter()
            .any(|r| r["name"] == name.as_str())
            .then_some(())
            .ok_or_else(|| "not seen".to_string())
    });
    // Down: Fail refuses with upstream's internal error, Ignore lets the request through.
    let (ok, _, err) = try_create(&apiary, &configmap("down", "fp-down-fail", json!({})), &[]);
    assert!(!ok);
    let expected = format!(
        "Error from server (InternalError): error when creating \"STDIN\": Internal error occurred: failed calling webhook \"down-fail.example.com\": failed to call webhook: Post \"https://127.0.0.1:{closed}/down?timeout=1s\": "
    );
    assert!(
        err.starts_with(&expected),
        "expected {expected}…, got {err}"
    );
    assert_eq!(
        apiary.ok(&["create", "configmap", "down", "-n", "fp-down-ignore"]),
        "configmap/down created\n"
    );
    // Slower than its timeoutSeconds: the same.
    let (ok, _, err) = try_create(&apiary, &configmap("slow", "fp-slow-fail", json!({})), &[]);
    assert!(!ok);
    let expected = format!(
        "Error from server (InternalError): error when creating \"STDIN\": Internal error occurred: failed calling webhook \"slow-fail.example.com\": failed to call webhook: Post \"https://127.0.0.1:{}/slow?timeout=1s\": ",
        server.port
    );
    assert!(
        err.starts_with(&expected),
        "expected {expected}…, got {err}"
    );
    assert_eq!(
        apiary.ok(&["create", "configmap", "slow", "-n", "fp-slow-ignore"]),
        "configmap/slow created\n"
    );
    assert_eq!(
        apiary.fails(&["get", "configmap", "slow", "-n", "fp-slow-fail"]),
        "Error from server (NotFound): configmaps \"slow\" not found\n"
    );

    // 6. sideEffects None: called with dryRun true, and nothing is stored.
    create(
        &apiary,
        &configuration(
            "ValidatingWebhookConfiguration",
            "dry",
            vec![hook(
                &server,
                "dry.example.com",
                "/dry",
                cm_rules.clone(),
                json!({"e2e": "dry"}),
            )],
        ),
    );
    let mut i = 0;
    eventually("the dry-run webhook takes effect", 10, || {
        i += 1;
        let name = format!("probe-{i}");
        apiary.ok(&["create", "configmap", &name, "-n", "dry"]);
        server
            .reviews_at("/dry")
            .iter()
            .any(|r| r["name"] == name.as_str())
            .then_some(())
            .ok_or_else(|| "not seen".to_string())
    });
    assert_eq!(
        apiary.ok(&[
            "create",
            "configmap",
            "dry-one",
            "-n",
            "dry",
            "--dry-run=server"
        ]),
        "configmap/dry-one created (server dry run)\n"
    );
    let review = review_of(&server, "/dry", "dry-one");
    assert_eq!(review["dryRun"], true, "{review}");
    assert_eq!(review["options"]["dryRun"], json!(["All"]), "{review}");
    assert_eq!(
        apiary.fails(&["get", "configmap", "dry-one", "-n", "dry"]),
        "Error from server (NotFound): configmaps \"dry-one\" not found\n"
    );
}

/// 7 and 8: reinvocation of a mutating webhook, a webhook on a custom resource, and webhooks on
/// the `pods/status` and `deployments/scale` subresources.
#[test]
fn webhook_reinvocation_custom_resources_and_subresources() {
    let apiary = Apiary::start();
    let runtime = runtime();
    let server = WebhookServer::start(&runtime, &[], |path, request| {
        let object = &request["object"];
        let labels = &object["metadata"]["labels"];
        match path {
            "/a" if labels["b"].is_string() && labels["a"].is_null() => {
                Answer::patch(json!([{"op": "add", "path": "/metadata/labels/a", "value": "yes"}]))
            }
            "/b" if !labels.is_object() => Answer::patch(
                json!([{"op": "add", "path": "/metadata/labels", "value": {"b": "yes"}}]),
            ),
            "/b" if labels["b"].is_null() => {
                Answer::patch(json!([{"op": "add", "path": "/metadata/labels/b", "value": "yes"}]))
            }
            "/crontab" if object["spec"]["image"] == "denied-by-webhook" => {
                Answer::deny("image denied-by-webhook is refused")
            }
            "/pod-status" if object["status"]["message"] == "refused" => {
                Answer::deny("status message refused")
            }
            "/scale" if object["spec"]["replicas"].as_i64().unwrap_or(0) > 5 => {
                Answer::deny("at most 5 replicas")
            }
            _ => Answer::allow(),
        }
    });
    namespace(&apiary, "reinvoke", json!({"e2e": "reinvoke"}));
    namespace(&apiary, "crd", json!({"e2e": "crd"}));
    namespace(&apiary, "subres", json!({"e2e": "subres"}));

    // 7. Reinvocation: a (IfNeeded) adds its label only once b's is there; b comes after it.
    let cm_rules = rules(&[""], &["configmaps"], &["CREATE"]);
    let mut a = hook(
        &server,
        "label-a.example.com",
        "/a",
        cm_rules.clone(),
        json!({"e2e": "reinvoke"}),
    );
    a["reinvocationPolicy"] = json!("IfNeeded");
    let b = hook(
        &server,
        "label-b.example.com",
        "/b",
        cm_rules,
        json!({"e2e": "reinvoke"}),
    );
    create(
        &apiary,
        &configuration("MutatingWebhookConfiguration", "reinvoke", vec![a, b]),
    );
    let mut i = 0;
    eventually("the reinvoked webhooks take effect", 10, || {
        i += 1;
        let name = format!("probe-{i}");
        apiary.ok(&["create", "configmap", &name, "-n", "reinvoke"]);
        let b = apiary.ok(&[
            "get",
            "configmap",
            &name,
            "-n",
            "reinvoke",
            "-o",
            "jsonpath={.metadata.labels.b}",
        ]);
        (b == "yes").then_some(()).ok_or(b)
    });
    apiary.ok(&["create", "configmap", "twice", "-n", "reinvoke"]);
    assert_eq!(
        apiary.ok(&[
            "get",
            "configmap",
            "twice",
            "-n",
            "reinvoke",
            "-o",
            "jsonpath={.metadata.labels.a},{.metadata.labels.b}"
        ]),
        "yes,yes"
    );
    let calls_a: Vec<Value> = server
        .reviews_at("/a")
        .into_iter()
        .filter(|r| r["name"] == "twice")
        .collect();
    let calls_b = server
        .reviews_at("/b")
        .into_iter()
        .filter(|r| r["name"] == "twice")
        .count();
    assert_eq!(calls_a.len(), 2, "{calls_a:?}");
    assert_eq!(calls_b, 1);
    assert!(calls_a[0]["object"]["metadata"]["labels"]["b"].is_null());
    assert_eq!(calls_a[1]["object"]["metadata"]["labels"]["b"], "yes");

    // 8a. A webhook on a custom resource.
    apiary.ok_stdin(
        &["apply", "-f", "-"],
        include_str!("fixtures/crontabs.crd.yaml"),
    );
    apiary.ok(&[
        "wait",
        "--for=condition=Established",
        "--timeout=10s",
        "crd/crontabs.stable.example.com",
    ]);
    create(
        &apiary,
        &configuration(
            "ValidatingWebhookConfiguration",
            "crontabs",
            vec![hook(
                &server,
                "crontab.example.com",
                "/crontab",
                rules(
                    &["stable.example.com"],
                    &["crontabs"],
                    &["CREATE", "UPDATE"],
                ),
                json!({"e2e": "crd"}),
            )],
        ),
    );
    let crontab = |name: &str, image: &str| {
        json!({"apiVersion": "stable.example.com/v1", "kind": "CronTab",
            "metadata": {"name": name, "namespace": "crd"},
            "spec": {"cronSpec": "* * * * */5", "image": image}})
    };
    let mut i = 0;
    eventually("the custom resource webhook takes effect", 10, || {
        i += 1;
        let (ok, _, err) = try_create(
            &apiary,
            &crontab(&format!("probe-{i}"), "denied-by-webhook"),
            &[],
        );
        (!ok).then_some(()).ok_or(err)
    });
    let (ok, _, err) = try_create(&apiary, &crontab("refused", "denied-by-webhook"), &[]);
    assert!(!ok);
    assert_eq!(
        err,
        "Error from server: error when creating \"STDIN\": admission webhook \"crontab.example.com\" denied the request: image denied-by-webhook is refused\n"
    );
    assert_eq!(
        create(&apiary, &crontab("accepted", "nginx")),
        "crontab.stable.example.com/accepted created\n"
    );
    let review = review_of(&server, "/crontab", "accepted");
    assert_eq!(
        review["kind"],
        gvk("stable.example.com", "v1", "CronTab"),
        "{review}"
    );
    assert_eq!(
        review["resource"],
        gvr("stable.example.com", "v1", "crontabs"),
        "{review}"
    );
    assert_eq!(review["operation"], "CREATE", "{review}");
    assert_eq!(
        review["object"]["spec"]["cronSpec"], "* * * * */5",
        "{review}"
    );

    // 8b. pods/status: an UPDATE with subResource status.
    create(
        &apiary,
        &configuration(
            "ValidatingWebhookConfiguration",
            "pod-status",
            vec![hook(
                &server,
                "pod-status.example.com",
                "/pod-status",
                rules(&[""], &["pods/status"], &["UPDATE"]),
                json!({"e2e": "subres"}),
            )],
        ),
    );
    create(
        &apiary,
        &json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "subres"},
            "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}),
    );
    let patch_status = |message: &str| {
        apiary.kubectl(&[
            "patch",
            "pod",
            "p",
            "-n",
            "subres",
            "--subresource=status",
            "--type=merge",
            "-p",
            &json!({"status": {"message": message}}).to_string(),
        ])
    };
    eventually("the pods/status webhook takes effect", 10, || {
        let out = patch_status("refused");
        (!out.status.success()).then_some(()).ok_or(stdout(&out))
    });
    let out = patch_status("refused");
    assert!(!out.status.success());
    assert_eq!(
        stderr(&out),
        "Error from server: admission webhook \"pod-status.example.com\" denied the request: status message refused\n"
    );
    let out = patch_status("hello");
    assert!(out.status.success(), "{}", stderr(&out));
    let review = server
        .reviews_at("/pod-status")
        .into_iter()
        .rev()
        .find(|r| r["object"]["status"]["message"] == "hello")
        .expect("the status update was reviewed");
    assert_eq!(review["operation"], "UPDATE", "{review}");
    assert_eq!(review["subResource"], "status", "{review}");
    assert_eq!(review["requestSubResource"], "status", "{review}");
    assert_eq!(review["kind"], gvk("", "v1", "Pod"), "{review}");
    assert_eq!(review["resource"], gvr("", "v1", "pods"), "{review}");
    assert_eq!(review["name"], "p", "{review}");
    assert_eq!(review["namespace"], "subres", "{review}");
    assert_eq!(review["oldObject"]["kind"], "Pod", "{review}");
    assert_ne!(
        review["oldObject"]["status"]["message"], "hello",
        "{review}"
    );
    assert_eq!(
        apiary.ok(&[
            "get",
            "pod",
            "p",
            "-n",
            "subres",
            "-o",
            "jsonpath={.status.message}"
        ]),
        "hello"
    );

    // 8c. deployments/scale: kubectl scale sends an autoscaling/v1 Scale.
    create(
        &apiary,
        &configuration(
            "ValidatingWebhookConfiguration",
            "scale",
            vec![hook(
                &server,
                "scale.example.com",
                "/scale",
                rules(&["apps"], &["deployments/scale"], &["UPDATE"]),
                json!({"e2e": "subres"}),
            )],
        ),
    );
    create(&apiary, &deployment("web", "subres", 1, json!({})));
    eventually("the deployments/scale webhook takes effect", 10, || {
        let out = apiary.kubectl(&["scale", "deployment", "web", "-n", "subres", "--replicas=7"]);
        (!out.status.success()).then_some(()).ok_or(stdout(&out))
    });
    assert_eq!(
        apiary.ok(&["scale", "deployment", "web", "-n", "subres", "--replicas=3"]),
        "deployment.apps/web scaled\n"
    );
    let review = server
        .reviews_at("/scale")
        .into_iter()
        .rev()
        .find(|r| r["object"]["spec"]["replicas"] == 3)
        .expect("the scale was reviewed");
    assert_eq!(
        review["kind"],
        gvk("autoscaling", "v1", "Scale"),
        "{review}"
    );
    assert_eq!(
        review["resource"],
        gvr("apps", "v1", "deployments"),
        "{review}"
    );
    assert_eq!(review["subResource"], "scale", "{review}");
    assert_eq!(
        review["requestKind"],
        gvk("autoscaling", "v1", "Scale"),
        "{review}"
    );
    assert_eq!(
        review["requestResource"],
        gvr("apps", "v1", "deployments"),
        "{review}"
    );
    assert_eq!(review["requestSubResource"], "scale", "{review}");
    assert_eq!(review["operation"], "UPDATE", "{review}");
    assert_eq!(review["name"], "web", "{review}");
    assert_eq!(review["object"]["apiVersion"], "autoscaling/v1", "{review}");
    assert_eq!(review["object"]["kind"], "Scale", "{review}");
    assert_eq!(review["oldObject"]["kind"], "Scale", "{review}");
    assert_eq!(review["oldObject"]["spec"]["replicas"], 1, "{review}");
    assert_eq!(
        apiary.fails(&["scale", "deployment", "web", "-n", "subres", "--replicas=7"]),
        "Error from server: admission webhook \"scale.example.com\" denied the request: at most 5 replicas\n"
    );
    assert_eq!(
        apiary.ok(&[
            "get",
            "deployment",
            "web",
            "-n",
            "subres",
            "-o",
            "jsonpath={.spec.replicas}"
        ]),
        "3"
    );
}

fn max_replicas_binding(
    name: &str,
    param: &str,
    not_found: &str,
    actions: &[&str],
    ns_label: &str,
) -> Value {
    json!({"apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name},
        "spec": {"policyName": "max-replicas",
            "paramRef": {"name": param, "namespace": "vap", "parameterNotFoundAction": not_found},
            "validationActions": actions,
            "matchResources": {"namespaceSelector": {"matchLabels": {"e2e": ns_label}}}}})
}

/// 12 to 15: ValidatingAdmissionPolicy with a ConfigMap param: Deny, Warn and Audit actions,
/// a missing param under Allow and Deny, and policies whose expressions do not compile or
/// type-check.
#[test]
fn validating_admission_policies() {
    let apiary = start_audited();
    namespace(&apiary, "vap", json!({}));
    for ns in [
        "vap-deny",
        "vap-warn",
        "vap-audit",
        "vap-allow",
        "vap-missing",
    ] {
        namespace(&apiary, ns, json!({"e2e": ns}));
    }
    apiary.ok(&[
        "create",
        "configmap",
        "limits",
        "-n",
        "vap",
        "--from-literal=maxReplicas=3",
    ]);
    create(
        &apiary,
        &json!({"apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": "max-replicas"},
            "spec": {"failurePolicy": "Fail",
                "paramKind": {"apiVersion": "v1", "kind": "ConfigMap"},
                "matchConstraints": {"resourceRules": [{"apiGroups": ["apps"],
                    "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"],
                    "resources": ["deployments"]}]},
                "validations": [{"expression": "object.spec.replicas <= int(params.data.maxReplicas)",
                    "message": "replicas must be no greater than maxReplicas"}]}}),
    );
    for binding in [
        max_replicas_binding(
            "max-replicas-binding",
            "limits",
            "Deny",
            &["Deny"],
            "vap-deny",
        ),
        max_replicas_binding("max-replicas-warn", "limits", "Deny", &["Warn"], "vap-warn"),
        max_replicas_binding(
            "max-replicas-audit",
            "limits",
            "Deny",
            &["Audit"],
            "vap-audit",
        ),
        max_replicas_binding("missing-allow", "absent", "Allow", &["Deny"], "vap-allow"),
        max_replicas_binding(
            "missing-deny",
            "absent-too",
            "Deny",
            &["Deny"],
            "vap-missing",
        ),
    ] {
        create(&apiary, &binding);
    }

    // 15. An expression that does not compile (undeclared variable) is refused with 422.
    let policy = |name: &str, expression: &str| {
        json!({"apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": name},
            "spec": {"matchConstraints": {"resourceRules": [{"apiGroups": ["apps"],
                    "apiVersions": ["v1"], "operations": ["CREATE"],
                    "resources": ["deployments"]}]},
                "validations": [{"expression": expression}]}})
    };
    let (ok, _, err) = try_create(&apiary, &policy("broken", "replicas > 1"), &["-v=6"]);
    assert!(!ok);
    assert!(err.contains("422 Unprocessable Entity"), "{err}");
    assert!(
        err.contains("The ValidatingAdmissionPolicy \"broken\" is invalid: spec.validations[0].expression: Invalid value: \"replicas > 1\": compilation failed: ERROR: <input>:1:1: undeclared reference to 'replicas' (in container '')"),
        "{err}"
    );
    // One that compiles but does not type-check against Deployments is stored, and its
    // status.typeChecking reports the field it does not know.
    assert_eq!(
        create(&apiary, &policy("typo", "object.spec.replicaz > 1")),
        "validatingadmissionpolicy.admissionregistration.k8s.io/typo created\n"
    );
    eventually("the type-checking warning", 10, || {
        let status = apiary.ok(&[
            "get",
            "validatingadmissionpolicy",
            "typo",
            "-o",
            "jsonpath={.status.typeChecking.expressionWarnings[0].fieldRef}|{.status.typeChecking.expressionWarnings[0].warning}",
        ]);
        (status.starts_with(
            "spec.validations[0].expression|apps/v1, Kind=Deployment: ERROR: <input>:1:",
        ) && status.contains("undefined field 'replicaz'"))
        .then_some(())
        .ok_or(status)
    });

    // 12. Deny: over the limit refused with upstream's message, within it created.
    let mut i = 0;
    eventually("the Deny binding takes effect", 10, || {
        i += 1;
        let (ok, _, err) = try_create(
            &apiary,
            &deployment(&format!("probe-{i}"), "vap-deny", 9, json!({})),
            &[],
        );
        (!ok).then_some(()).ok_or(err)
    });
    let (ok, _, err) = try_create(
        &apiary,
        &deployment("big", "vap-deny", 4, json!({})),
        &["-v=6"],
    );
    assert!(!ok);
    assert!(err.contains("422 Unprocessable Entity"), "{err}");
    assert!(
        err.ends_with("The deployments \"big\" is invalid: : ValidatingAdmissionPolicy 'max-replicas' with binding 'max-replicas-binding' denied request: replicas must be no greater than maxReplicas\n"),
        "{err}"
    );
    assert_eq!(
        create(&apiary, &deployment("small", "vap-deny", 3, json!({}))),
        "deployment.apps/small created\n"
    );

    // 13. Warn: the warning is printed and the object created.
    let warning = "Warning: Validation failed for ValidatingAdmissionPolicy 'max-replicas' with binding 'max-replicas-warn': replicas must be no greater than maxReplicas\n";
    let mut i = 0;
    eventually("the Warn binding takes effect", 10, || {
        i += 1;
        let (ok, _, err) = try_create(
            &apiary,
            &deployment(&format!("probe-{i}"), "vap-warn", 9, json!({})),
            &[],
        );
        (ok && err.contains("Warning:")).then_some(()).ok_or(err)
    });
    let (ok, out, err) = try_create(
        &apiary,
        &deployment("warned", "vap-warn", 9, json!({})),
        &[],
    );
    assert!(ok, "{err}");
    assert_eq!(out, "deployment.apps/warned created\n");
    assert_eq!(err, warning);

    // 13. Audit: the audit event carries the validation failure.
    let mut i = 0;
    let mut last = Value::Null;
    eventually("the Audit binding takes effect", 10, || {
        i += 1;
        let name = format!("probe-{i}");
        create(&apiary, &deployment(&name, "vap-audit", 9, json!({})));
        last = wait_audit_event_of_create(&apiary, "vap-audit", &name);
        last["annotations"]["validation.policy.admission.k8s.io/validation_failure"]
            .is_string()
            .then_some(())
            .ok_or_else(|| last.to_string())
    });
    let failure: Value = serde_json::from_str(
        last["annotations"]["validation.policy.admission.k8s.io/validation_failure"]
            .as_str()
            .expect("annotation"),
    )
    .expect("JSON");
    assert_eq!(
        failure,
        json!([{"message": "replicas must be no greater than maxReplicas",
            "policy": "max-replicas", "binding": "max-replicas-audit",
            "expressionIndex": 0, "validationActions": ["Audit"]}])
    );

    // 14. A missing param: Deny refuses, Allow lets the request through.
    let mut i = 0;
    eventually("the missing-param Deny binding takes effect", 10, || {
        i += 1;
        let (ok, _, err) = try_create(
            &apiary,
            &deployment(&format!("probe-{i}"), "vap-missing", 1, json!({})),
            &[],
        );
        (!ok).then_some(()).ok_or(err)
    });
    let (ok, _, err) = try_create(
        &apiary,
        &deployment("no-params", "vap-missing", 1, json!({})),
        &[],
    );
    assert!(!ok);
    assert_eq!(
        err,
        "The deployments \"no-params\" is invalid: : ValidatingAdmissionPolicy 'max-replicas' with binding 'missing-deny' denied request: failed to configure binding: no params found for policy binding with `Deny` parameterNotFoundAction\n"
    );
    assert_eq!(
        create(&apiary, &deployment("free", "vap-allow", 9, json!({}))),
        "deployment.apps/free created\n"
    );
    // Once the param exists, the Allow binding validates against it.
    apiary.ok(&[
        "create",
        "configmap",
        "absent",
        "-n",
        "vap",
        "--from-literal=maxReplicas=1",
    ]);
    let mut i = 0;
    eventually("the param of the Allow binding takes effect", 10, || {
        i += 1;
        let (ok, _, err) = try_create(
            &apiary,
            &deployment(&format!("probe-{i}"), "vap-allow", 9, json!({})),
            &[],
        );
        (!ok).then_some(()).ok_or(err)
    });
    let (ok, _, err) = try_create(
        &apiary,
        &deployment("bounded", "vap-allow", 2, json!({})),
        &[],
    );
    assert!(!ok);
    assert_eq!(
        err,
        "The deployments \"bounded\" is invalid: : ValidatingAdmissionPolicy 'max-replicas' with binding 'missing-allow' denied request: replicas must be no greater than maxReplicas\n"
    );
}

/// 16: with kube-rs, a Gatekeeper-style policy (Deployments need an `owner` label) and a
/// Kyverno-style validating webhook (no `:latest` images): `Api::create` gets upstream's status.
#[test]
fn kube_rs_sees_policy_and_webhook_denials() {
    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::core::v1::Pod;
    use kube::api::{Api, PostParams};

    let apiary = Apiary::start();
    let runtime = runtime();
    const KYVERNO_MESSAGE: &str = "\n\npolicy Pod/kube-rs/latest for resource violation: \n\ndisallow-latest-tag:\n  validate-image-tag: 'validation error: Using a mutable image tag e.g. ''latest'' is not allowed. rule validate-image-tag failed at path /spec/containers/0/image/'\n";
    let server = WebhookServer::start(&runtime, &[], |_, request| {
        let latest = request["object"]["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| {
                c["image"]
                    .as_str()
                    .is_some_and(|i| i.ends_with(":latest") || !i.contains(':'))
            });
        if latest {
            Answer::deny(KYVERNO_MESSAGE)
        } else {
            Answer::allow()
        }
    });
    namespace(&apiary, "kube-rs", json!({"e2e": "kube-rs"}));
    create(
        &apiary,
        &json!({"apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": "require-owner"},
            "spec": {"failurePolicy": "Fail",
                "matchConstraints": {"resourceRules": [{"apiGroups": ["apps"],
                    "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"],
                    "resources": ["deployments"]}]},
                "validations": [{"expression": "has(object.metadata.labels) && 'owner' in object.metadata.labels",
                    "message": "Deployments must carry an owner label"}]}}),
    );
    create(
        &apiary,
        &json!({"apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": "require-owner-binding"},
            "spec": {"policyName": "require-owner", "validationActions": ["Deny"],
                "matchResources": {"namespaceSelector": {"matchLabels": {"e2e": "kube-rs"}}}}}),
    );
    let mut kyverno = hook(
        &server,
        "validate.kyverno.svc-fail",
        "/kyverno",
        rules(&[""], &["pods"], &["CREATE", "UPDATE"]),
        json!({"e2e": "kube-rs"}),
    );
    kyverno["failurePolicy"] = json!("Fail");
    create(
        &apiary,
        &configuration(
            "ValidatingWebhookConfiguration",
            "kyverno-resource-validating-webhook-cfg",
            vec![kyverno],
        ),
    );
    let mut i = 0;
    eventually("the policy takes effect", 10, || {
        i += 1;
        let out = apiary.kubectl(&[
            "create",
            "deployment",
            &format!("probe-{i}"),
            "--image=nginx:1.27",
            "-n",
            "kube-rs",
        ]);
        (!out.status.success()).then_some(()).ok_or(stdout(&out))
    });
    runtime.block_on(async {
        let client = apiary.client().await;
        let deployments: Api<Deployment> = Api::namespaced(client, "kube-rs");
        let unowned: Deployment =
            serde_json::from_value(deployment("unowned", "kube-rs", 1, json!({}))).expect("deployment");
        match deployments.create(&PostParams::default(), &unowned).await {
            Err(kube::Error::Api(status)) => {
                assert_eq!(status.code, 422, "{status:?}");
                assert_eq!(status.reason, "Invalid", "{status:?}");
                assert_eq!(
                    status.message,
                    "deployments.apps \"unowned\" is forbidden: ValidatingAdmissionPolicy 'require-owner' with binding 'require-owner-binding' denied request: Deployments must carry an owner label"
                );
                let details = status.details.as_ref().expect("details");
                assert_eq!(details.name, "unowned");
                assert_eq!(details.group, "apps");
                assert_eq!(details.kind, "deployments");
            }
            other => panic!("expected a 422 from the policy, got {other:?}"),
        }
        let owned: Deployment =
            serde_json::from_value(deployment("owned", "kube-rs", 1, json!({"owner": "team-a"})))
                .expect("deployment");
        let created = deployments
            .create(&PostParams::default(), &owned)
            .await
            .expect("a Deployment with an owner is admitted");
        assert_eq!(created.metadata.name.as_deref(), Some("owned"));

    });

    let mut i = 0;
    eventually("the webhook takes effect", 10, || {
        i += 1;
        let out = apiary.kubectl(&[
            "run",
            &format!("probe-{i}"),
            "--image=nginx:latest",
            "-n",
            "kube-rs",
        ]);
        (!out.status.success()).then_some(()).ok_or(stdout(&out))
    });
    runtime.block_on(async {
        let pods: Api<Pod> = Api::namespaced(apiary.client().await, "kube-rs");
        let pod = |name: &str, image: &str| -> Pod {
            serde_json::from_value(json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "namespace": "kube-rs"},
                "spec": {"containers": [{"name": "app", "image": image}]}}))
            .expect("pod")
        };
        match pods.create(&PostParams::default(), &pod("latest", "nginx:latest")).await {
            Err(kube::Error::Api(status)) => {
                assert_eq!(status.code, 400, "{status:?}");
                assert_eq!(status.reason, "", "{status:?}");
                assert_eq!(status.status, Some(kube::core::response::StatusSummary::Failure));
                assert_eq!(
                    status.message,
                    format!("admission webhook \"validate.kyverno.svc-fail\" denied the request: {KYVERNO_MESSAGE}")
                );
            }
            other => panic!("expected the webhook's denial, got {other:?}"),
        }
        pods.create(&PostParams::default(), &pod("pinned", "nginx:1.27"))
            .await
            .expect("a pinned image is admitted");
    });
}
