//! Webhooks: mutation, denial, selectors, match conditions, warnings, audit annotations,
//! failure policies, dry runs and invalid configurations.

use serde_json::{json, Value};

use crate::common::admission::{eventually, Answer, WebhookServer};
use crate::common::{stderr, stdout, Apiary};
use crate::*;

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
