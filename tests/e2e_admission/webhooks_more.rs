//! Webhooks: reinvocation, custom resources and subresources.

use serde_json::{json, Value};

use crate::common::admission::{eventually, Answer, WebhookServer};
use crate::common::{stderr, stdout, Apiary};
use crate::*;

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
        include_str!("../fixtures/crontabs.crd.yaml"),
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

/// The webhook plugins' kubeconfigs from `admission.config_file`: a validating webhook whose
/// host has a user with a token is called with it; mutating webhooks have their own kubeconfig
/// (none here: no credentials). A relative `kubeConfigFile` stops start-up (exit 2).
#[test]
fn webhook_kubeconfig_credentials_from_the_admission_configuration() {
    let runtime = runtime();
    let server = WebhookServer::start(&runtime, &[], |_, _| Answer::allow());
    let port = server.port;
    let apiary = Apiary::start_prepared(Vec::new(), |dir: &std::path::Path| {
        let kubeconfig = dir.join("webhooks.kubeconfig");
        std::fs::write(
            &kubeconfig,
            format!(
                "apiVersion: v1\nkind: Config\nusers:\n- name: 127.0.0.1:{port}\n  user: {{token: s3cret}}\n- name: '*.other.svc'\n  user: {{token: not-this-one}}\n"
            ),
        )
        .expect("kubeconfig");
        std::fs::write(
            dir.join("admission.yaml"),
            format!(
                "apiVersion: apiserver.config.k8s.io/v1\nkind: AdmissionConfiguration\nplugins:\n- name: ValidatingAdmissionWebhook\n  configuration:\n    apiVersion: apiserver.config.k8s.io/v1\n    kind: WebhookAdmissionConfiguration\n    kubeConfigFile: {}\n",
                kubeconfig.display()
            ),
        )
        .expect("admission config");
        std::fs::write(
            dir.join("config.toml"),
            "[admission]\nconfig_file = \"admission.yaml\"\n",
        )
        .expect("config");
    });
    namespace(&apiary, "creds", json!({"e2e": "creds"}));
    let rules = rules(&[""], &["configmaps"], &["CREATE"]);
    let validating = hook(
        &server,
        "v.creds.example.com",
        "/validate",
        rules.clone(),
        json!({"e2e": "creds"}),
    );
    let mutating = hook(
        &server,
        "m.creds.example.com",
        "/mutate",
        rules,
        json!({"e2e": "creds"}),
    );
    create(
        &apiary,
        &configuration(
            "ValidatingWebhookConfiguration",
            "creds-v",
            vec![validating],
        ),
    );
    create(
        &apiary,
        &configuration("MutatingWebhookConfiguration", "creds-m", vec![mutating]),
    );
    let mut i = 0;
    eventually("both webhooks are called", 10, || {
        i += 1;
        create(
            &apiary,
            &configmap(&format!("probe-{i}"), "creds", json!({})),
        );
        let called =
            !server.reviews_at("/validate").is_empty() && !server.reviews_at("/mutate").is_empty();
        called.then_some(()).ok_or_else(|| "not yet".to_string())
    });
    let validating = server.authorizations_at("/validate");
    assert!(!validating.is_empty());
    assert!(
        validating
            .iter()
            .all(|a| a.as_deref() == Some("Bearer s3cret")),
        "{validating:?}"
    );
    let mutating = server.authorizations_at("/mutate");
    assert!(mutating.iter().all(Option::is_none), "{mutating:?}");
    drop(apiary);

    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("admission.yaml");
    std::fs::write(
        &file,
        "apiVersion: apiserver.config.k8s.io/v1\nkind: AdmissionConfiguration\nplugins:\n- name: MutatingAdmissionWebhook\n  configuration:\n    kind: WebhookAdmissionConfiguration\n    kubeConfigFile: relative.kubeconfig\n",
    )
    .expect("file");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_apiary"))
        .args(["serve", "--listen"])
        .arg(format!("127.0.0.1:{}", crate::common::free_port()))
        .arg("--data-dir")
        .arg(dir.path())
        .env("APIARY_ADMISSION__CONFIG_FILE", &file)
        .env("APIARY_STORAGE__BACKEND", "rocksdb")
        .output()
        .expect("run apiary");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("admission.config_file: MutatingAdmissionWebhook: kubeConfigFile \"relative.kubeconfig\" must be an absolute file path"),
        "{err}"
    );
}
