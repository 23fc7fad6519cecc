//! End-to-end: CustomResourceDefinitions and custom resources through the real binary, driven by
//! kubectl, on the default backend (RocksDB).

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{kubectl_path, stderr, stdout, Apiary};

const CRONTABS: &str = include_str!("fixtures/crontabs.crd.yaml");
const PROMETHEUS_RULES: &str = include_str!("fixtures/prometheusrules.crd.yaml");

const CRONTAB: &str = r#"
apiVersion: stable.example.com/v1
kind: CronTab
metadata:
  name: my-cron
spec:
  cronSpec: "* * * * */5"
  replicas: 2
"#;

/// Applies the crontabs CRD and waits for it to be Established.
fn install_crontabs(apiary: &Apiary) {
    let out = apiary.ok_stdin(&["apply", "-f", "-"], CRONTABS);
    assert_eq!(
        out.trim(),
        "customresourcedefinition.apiextensions.k8s.io/crontabs.stable.example.com created"
    );
    apiary.ok(&[
        "wait",
        "--for=condition=Established",
        "--timeout=5s",
        "crd/crontabs.stable.example.com",
    ]);
}

/// Retries `check` for up to 10 s.
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn crd_is_established_served_and_discoverable() {
    let apiary = Apiary::start();
    install_crontabs(&apiary);
    let status = apiary.ok(&[
        "get",
        "crd",
        "crontabs.stable.example.com",
        "-o",
        "jsonpath={range .status.conditions[*]}{.type}={.status}/{.reason}/{.message};{end}",
    ]);
    assert_eq!(
        status,
        "NamesAccepted=True/NoConflicts/no conflicts found;\
         Established=True/InitialNamesAccepted/the initial names have been accepted;"
    );
    assert_eq!(
        apiary.ok(&[
            "get",
            "crd",
            "crontabs.stable.example.com",
            "-o",
            "jsonpath={.status.storedVersions}"
        ]),
        r#"["v1"]"#
    );
    // Both served versions are in discovery, with the short name and category.
    let resources = apiary.ok(&[
        "api-resources",
        "--api-group=stable.example.com",
        "-o",
        "wide",
    ]);
    let row: Vec<&str> = resources
        .lines()
        .find(|l| l.starts_with("crontabs"))
        .expect("crontabs in api-resources")
        .split_whitespace()
        .collect();
    assert_eq!(
        row,
        [
            "crontabs",
            "ct",
            "stable.example.com/v1",
            "true",
            "CronTab",
            "delete,deletecollection,get,list,patch,create,update,watch",
            "all"
        ]
    );
    // The aggregator lists the CRD group/version as a local APIService.
    assert_eq!(
        apiary.ok(&[
            "get",
            "apiservice",
            "v1.stable.example.com",
            "-o",
            "jsonpath={.spec.groupPriorityMinimum} {.spec.versionPriority} {.metadata.labels.kube-aggregator\\.kubernetes\\.io/automanaged}"
        ]),
        "1000 100 true"
    );
    eventually("the CRD APIService to be Available", || {
        apiary.ok(&[
            "get",
            "apiservice",
            "v1.stable.example.com",
            "-o",
            "jsonpath={.status.conditions[0].status}/{.status.conditions[0].reason}",
        ]) == "True/Local"
    });
    let legacy = apiary.ok(&["get", "--raw", "/apis/stable.example.com/v1"]);
    let legacy: serde_json::Value = serde_json::from_str(&legacy).unwrap();
    let names: Vec<&str> = legacy["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["crontabs", "crontabs/scale", "crontabs/status"]);
    // The schema is published: kubectl explain reads it from /openapi/v3.
    let explain = apiary.ok(&["explain", "crontab.spec"]);
    assert!(explain.contains("cronSpec\t<string>"), "{explain}");
    let explain = apiary.ok(&["explain", "crd.spec.names"]);
    assert!(explain.contains("plural\t<string> -required-"), "{explain}");
    let group = apiary.ok(&["get", "--raw", "/apis/stable.example.com"]);
    let group: serde_json::Value = serde_json::from_str(&group).unwrap();
    assert_eq!(group["preferredVersion"]["version"], "v1");
    assert_eq!(
        stderr(&apiary.kubectl(&["get", "crontabs"])).trim(),
        "No resources found in default namespace."
    );
    // The CRD resource itself.
    let crd_row = apiary.ok(&[
        "api-resources",
        "--api-group=apiextensions.k8s.io",
        "--no-headers",
    ]);
    let crd_row: Vec<&str> = crd_row.split_whitespace().collect();
    assert_eq!(
        crd_row,
        [
            "customresourcedefinitions",
            "crd,crds",
            "apiextensions.k8s.io/v1",
            "false",
            "CustomResourceDefinition"
        ]
    );
}

#[test]
fn custom_resources_take_every_verb() {
    let apiary = Apiary::start();
    install_crontabs(&apiary);
    assert_eq!(
        apiary.ok_stdin(&["apply", "-f", "-"], CRONTAB).trim(),
        "crontab.stable.example.com/my-cron created"
    );
    // The version's printer columns, after NAME.
    let table = apiary.ok(&["get", "ct"]);
    let mut lines = table.lines();
    let header: Vec<&str> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(header, ["NAME", "SPEC", "REPLICAS", "AGE"]);
    let row: Vec<&str> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(&row[..7], ["my-cron", "*", "*", "*", "*", "*/5", "2"]);
    // Defaults applied.
    assert_eq!(
        apiary.ok(&[
            "get",
            "ct",
            "my-cron",
            "-o",
            "jsonpath={.spec.image} {.metadata.generation}"
        ]),
        "nginx 1"
    );
    // Apply again with a change, label, merge and JSON patches.
    apiary.ok_stdin(
        &["apply", "-f", "-"],
        &CRONTAB.replace("replicas: 2", "replicas: 3"),
    );
    apiary.ok(&["label", "ct", "my-cron", "tier=web"]);
    apiary.ok(&[
        "patch",
        "ct",
        "my-cron",
        "--type=merge",
        "-p",
        r#"{"spec":{"cronSpec":"0 * * * *"}}"#,
    ]);
    apiary.ok(&[
        "patch",
        "ct",
        "my-cron",
        "--type=json",
        "-p",
        r#"[{"op":"replace","path":"/spec/image","value":"busybox"}]"#,
    ]);
    assert_eq!(
        apiary.ok(&["get", "ct", "-l", "tier=web", "-o", "jsonpath={.items[*].spec.replicas} {.items[*].spec.cronSpec} {.items[*].spec.image} {.items[*].metadata.generation}"]),
        "3 0 * * * * busybox 4"
    );
    // Strategic merge patch is refused on custom resources (415), as upstream; kubectl words it.
    let err = apiary.fails(&["patch", "ct", "my-cron", "-p", r#"{"spec":{"replicas":4}}"#]);
    assert!(
        err.starts_with("error: application/strategic-merge-patch+json is not supported by stable.example.com/v1, Kind=CronTab: the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json"),
        "{err}"
    );
    // Items of a custom resource list keep apiVersion and kind.
    let raw = apiary.ok(&[
        "get",
        "--raw",
        "/apis/stable.example.com/v1/namespaces/default/crontabs",
    ]);
    let list: serde_json::Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(list["kind"], "CronTabList");
    assert_eq!(list["items"][0]["apiVersion"], "stable.example.com/v1");
    assert_eq!(list["items"][0]["kind"], "CronTab");
    // The second served version reads the same object.
    assert_eq!(
        apiary.ok(&[
            "get",
            "crontabs.v1beta1.stable.example.com",
            "my-cron",
            "-o",
            "jsonpath={.apiVersion} {.spec.replicas}"
        ]),
        "stable.example.com/v1beta1 3"
    );
    // Pagination and all-namespace lists.
    for name in ["b", "c"] {
        apiary.ok_stdin(&["create", "-f", "-"], &CRONTAB.replace("my-cron", name));
    }
    let page = apiary.ok(&[
        "get",
        "--raw",
        "/apis/stable.example.com/v1/crontabs?limit=2",
    ]);
    let page: serde_json::Value = serde_json::from_str(&page).unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert!(page["metadata"]["continue"]
        .as_str()
        .is_some_and(|c| !c.is_empty()));
    assert_eq!(
        apiary
            .ok(&["get", "ct", "-A", "--chunk-size=1", "-o", "name"])
            .lines()
            .count(),
        3
    );
    apiary.ok(&["delete", "ct", "b"]);
    apiary.ok(&["delete", "ct", "--all"]);
    assert_eq!(
        stderr(&apiary.kubectl(&["get", "ct"])).trim(),
        "No resources found in default namespace."
    );
}

#[test]
fn schema_validation_defaults_and_pruning() {
    let apiary = Apiary::start();
    install_crontabs(&apiary);
    let too_many = CRONTAB.replace("replicas: 2", "replicas: 20");
    let out = apiary.kubectl_with_stdin(&["create", "-f", "-"], Some(&too_many));
    assert!(!out.status.success());
    assert_eq!(
        stderr(&out).trim(),
        r#"The CronTab "my-cron" is invalid: spec.replicas: Invalid value: 20: spec.replicas in body should be less than or equal to 10"#
    );
    let wrong_type = CRONTAB.replace("replicas: 2", "replicas: two");
    let out = apiary.kubectl_with_stdin(&["create", "-f", "-"], Some(&wrong_type));
    assert_eq!(
        stderr(&out).trim(),
        "The CronTab \"my-cron\" is invalid: \n\
         * spec.replicas: Invalid value: \"string\": spec.replicas in body must be of type integer: \"string\"\n\
         * <nil>: Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation"
    );
    // Unknown fields: refused under kubectl's default strict validation, pruned without it.
    let unknown = CRONTAB.replace("replicas: 2", "replicas: 2\n  color: blue");
    let out = apiary.kubectl_with_stdin(&["create", "-f", "-"], Some(&unknown));
    assert_eq!(
        stderr(&out).trim(),
        r#"Error from server (BadRequest): error when creating "STDIN": CronTab in version "v1" cannot be handled as a CronTab: strict decoding error: unknown field "spec.color""#
    );
    apiary.ok_stdin(&["create", "--validate=false", "-f", "-"], &unknown);
    assert_eq!(
        apiary.ok(&["get", "ct", "my-cron", "-o", "jsonpath={.spec}"]),
        r#"{"cronSpec":"* * * * */5","image":"nginx","replicas":2}"#
    );
    // A merge patch into a bad value is refused and leaves the object as it was.
    let err = apiary.fails(&[
        "patch",
        "ct",
        "my-cron",
        "--type=merge",
        "-p",
        r#"{"spec":{"replicas":-1}}"#,
    ]);
    assert_eq!(
        err.trim(),
        r#"The CronTab "my-cron" is invalid: spec.replicas: Invalid value: -1: spec.replicas in body should be greater than or equal to 0"#
    );
    assert_eq!(
        apiary.ok(&["get", "ct", "my-cron", "-o", "jsonpath={.spec.replicas}"]),
        "2"
    );
}

#[test]
fn cel_rules_are_enforced() {
    let apiary = Apiary::start();
    install_crontabs(&apiary);
    let out = apiary.kubectl_with_stdin(
        &["create", "-f", "-"],
        Some(&CRONTAB.replace("* * * * */5", "every minute")),
    );
    assert_eq!(
        stderr(&out).trim(),
        r#"The CronTab "my-cron" is invalid: spec.cronSpec: Invalid value: "string": cronSpec must have five fields"#
    );
    let out = apiary.kubectl_with_stdin(
        &["create", "-f", "-"],
        Some(&CRONTAB.replace("replicas: 2", "replicas: 2\n  image: forbidden")),
    );
    assert_eq!(
        stderr(&out).trim(),
        r#"The CronTab "my-cron" is invalid: spec: Invalid value: "object": image forbidden is not allowed"#
    );
    // A transition rule: set on create, immutable afterwards.
    apiary.ok_stdin(
        &["create", "-f", "-"],
        &CRONTAB.replace("replicas: 2", "replicas: 2\n  owner: alice"),
    );
    let err = apiary.fails(&[
        "patch",
        "ct",
        "my-cron",
        "--type=merge",
        "-p",
        r#"{"spec":{"owner":"bob"}}"#,
    ]);
    assert_eq!(
        err.trim(),
        r#"The CronTab "my-cron" is invalid: spec.owner: Invalid value: "string": owner is immutable"#
    );
    apiary.ok(&[
        "patch",
        "ct",
        "my-cron",
        "--type=merge",
        "-p",
        r#"{"spec":{"replicas":4}}"#,
    ]);
    // A CRD whose rule does not compile is refused.
    let broken = CRONTABS
        .replace("crontabs.stable.example.com", "brokens.stable.example.com")
        .replace("plural: crontabs", "plural: brokens")
        .replace("self == oldSelf", "self ==");
    let out = apiary.kubectl_with_stdin(&["create", "-f", "-"], Some(&broken));
    let err = stderr(&out);
    assert!(
        err.contains("spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[owner].x-kubernetes-validations[0].rule: Invalid value:")
            && err.contains("compilation failed"),
        "{err}"
    );
}

#[test]
fn status_and_scale_subresources() {
    let apiary = Apiary::start();
    install_crontabs(&apiary);
    apiary.ok_stdin(&["create", "-f", "-"], CRONTAB);
    // The main resource ignores status; /status ignores everything else.
    apiary.ok(&[
        "patch",
        "ct",
        "my-cron",
        "--type=merge",
        "-p",
        r#"{"status":{"replicas":7}}"#,
    ]);
    assert_eq!(
        apiary.ok(&["get", "ct", "my-cron", "-o", "jsonpath={.status}"]),
        ""
    );
    apiary.ok(&[
        "patch",
        "ct",
        "my-cron",
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"status":{"replicas":1,"labelSelector":"app=cron"},"spec":{"replicas":9}}"#,
    ]);
    assert_eq!(
        apiary.ok(&[
            "get",
            "ct",
            "my-cron",
            "-o",
            "jsonpath={.spec.replicas} {.status.replicas} {.metadata.generation}"
        ]),
        "2 1 1"
    );
    // kubectl scale goes through the scale subresource.
    assert_eq!(
        apiary
            .ok(&["scale", "ct", "my-cron", "--replicas=5"])
            .trim(),
        "crontab.stable.example.com/my-cron scaled"
    );
    let scale = apiary.ok(&[
        "get",
        "--raw",
        "/apis/stable.example.com/v1/namespaces/default/crontabs/my-cron/scale",
    ]);
    let scale: serde_json::Value = serde_json::from_str(&scale).unwrap();
    assert_eq!(scale["kind"], "Scale");
    assert_eq!(scale["apiVersion"], "autoscaling/v1");
    assert_eq!(scale["spec"]["replicas"], 5);
    assert_eq!(
        scale["status"],
        serde_json::json!({"replicas": 1, "selector": "app=cron"})
    );
    assert_eq!(
        apiary.ok(&[
            "get",
            "ct",
            "my-cron",
            "-o",
            "jsonpath={.spec.replicas} {.metadata.generation}"
        ]),
        "5 2"
    );
    let err = apiary.fails(&["scale", "ct", "my-cron", "--replicas=11"]);
    assert!(
        err.contains("spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10"),
        "{err}"
    );
}

#[test]
fn watch_sees_custom_resource_events() {
    let apiary = Apiary::start();
    install_crontabs(&apiary);
    let mut watch = Command::new(kubectl_path())
        .args(["--kubeconfig", apiary.kubeconfig().to_str().unwrap()])
        .args([
            "get",
            "ct",
            "--watch",
            "--output-watch-events",
            "--no-headers",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("kubectl watch");
    let lines = BufReader::new(watch.stdout.take().unwrap()).lines();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    std::thread::sleep(Duration::from_millis(500));
    apiary.ok_stdin(&["create", "-f", "-"], CRONTAB);
    apiary.ok(&["delete", "ct", "my-cron"]);
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while seen.len() < 2 && Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            // EVENT, NAME, then the printer columns.
            let words: Vec<String> = line
                .split_whitespace()
                .take(2)
                .map(str::to_string)
                .collect();
            seen.push(words.join(" "));
        }
    }
    let _ = watch.kill();
    let _ = watch.wait();
    assert_eq!(seen, ["ADDED my-cron", "DELETED my-cron"]);
}

#[test]
fn crd_deletion_removes_instances_then_paths() {
    let apiary = Apiary::start();
    install_crontabs(&apiary);
    apiary.ok_stdin(&["create", "-f", "-"], CRONTAB);
    // An instance with a finalizer keeps the CRD terminating; creates are refused meanwhile.
    apiary.ok_stdin(
        &["create", "-f", "-"],
        &CRONTAB.replace(
            "name: my-cron",
            "name: held\n  finalizers: [example.com/hold]",
        ),
    );
    apiary.ok(&[
        "delete",
        "crd",
        "crontabs.stable.example.com",
        "--wait=false",
    ]);
    eventually("the CRD to report its instance deletion", || {
        apiary.ok(&[
            "get",
            "crd",
            "crontabs.stable.example.com",
            "-o",
            "jsonpath={.status.conditions[?(@.type==\"Terminating\")].reason}",
        ]) == "InstanceDeletionInProgress"
    });
    let out = apiary.kubectl_with_stdin(
        &["create", "-f", "-"],
        Some(&CRONTAB.replace("my-cron", "late")),
    );
    assert_eq!(
        stderr(&out).trim(),
        r#"Error from server (MethodNotAllowed): error when creating "STDIN": create not allowed while custom resource definition is terminating"#
    );
    assert_eq!(
        apiary.ok(&["get", "ct", "-o", "name"]).trim(),
        "crontab.stable.example.com/held"
    );
    apiary.ok(&[
        "patch",
        "ct",
        "held",
        "--type=merge",
        "-p",
        r#"{"metadata":{"finalizers":null}}"#,
    ]);
    eventually("the CRD to be removed", || {
        !apiary
            .kubectl(&["get", "crd", "crontabs.stable.example.com"])
            .status
            .success()
    });
    eventually("the paths to be gone", || {
        stderr(&apiary.kubectl(&["get", "--raw", "/apis/stable.example.com/v1/crontabs"]))
            .contains("the server could not find the requested resource")
    });
    // Recreating the CRD starts empty.
    install_crontabs(&apiary);
    assert_eq!(
        stderr(&apiary.kubectl(&["get", "ct", "-A"])).trim(),
        "No resources found"
    );
}

#[test]
fn name_conflicts_are_reported() {
    let apiary = Apiary::start();
    install_crontabs(&apiary);
    let rival = CRONTABS
        .replace(
            "name: crontabs.stable.example.com",
            "name: rivals.stable.example.com",
        )
        .replace("plural: crontabs", "plural: rivals")
        .replace("singular: crontab", "singular: rival")
        .replace("shortNames: [ct]", "shortNames: [rv]");
    apiary.ok_stdin(&["apply", "-f", "-"], &rival);
    eventually("NamesAccepted=False", || {
        apiary.ok(&[
            "get",
            "crd",
            "rivals.stable.example.com",
            "-o",
            "jsonpath={.status.conditions[?(@.type==\"NamesAccepted\")].reason}",
        ]) == "ListKindConflict"
    });
    assert_eq!(
        apiary.ok(&["get", "crd", "rivals.stable.example.com", "-o", "jsonpath={.status.conditions[?(@.type==\"NamesAccepted\")].message} {.status.conditions[?(@.type==\"Established\")].status}"]),
        r#""CronTabList" is already in use False"#
    );
    assert!(!apiary.ok(&["api-resources"]).contains("rivals"));
}

#[test]
fn an_operator_crd_applies_and_validates() {
    let apiary = Apiary::start();
    let out = apiary.ok_stdin(&["apply", "-f", "-"], PROMETHEUS_RULES);
    assert_eq!(
        out.trim(),
        "customresourcedefinition.apiextensions.k8s.io/prometheusrules.monitoring.coreos.com created"
    );
    apiary.ok(&[
        "wait",
        "--for=condition=Established",
        "--timeout=5s",
        "crd/prometheusrules.monitoring.coreos.com",
    ]);
    let rule = r#"
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: example
spec:
  groups:
  - name: example.rules
    interval: 30s
    rules:
    - alert: HighLatency
      expr: job:request_latency_seconds:mean5m{job="api"} > 0.5
      for: 10m
      labels: {severity: page}
"#;
    assert_eq!(
        apiary.ok_stdin(&["apply", "-f", "-"], rule).trim(),
        "prometheusrule.monitoring.coreos.com/example created"
    );
    assert_eq!(
        apiary.ok(&[
            "get",
            "promrule",
            "example",
            "-o",
            "jsonpath={.spec.groups[0].rules[0].for}"
        ]),
        "10m"
    );
    let out = stdout(&apiary.kubectl(&["get", "prometheus-operator"]));
    // The category lists the rule (one resource type: plain names).
    assert!(out.lines().any(|l| l.starts_with("example ")), "{out}");
    // `expr` is required in every rule.
    let missing = rule.replace(
        "      expr: job:request_latency_seconds:mean5m{job=\"api\"} > 0.5\n",
        "",
    );
    let out = apiary.kubectl_with_stdin(
        &["apply", "-f", "-"],
        Some(&missing.replace("name: example\n", "name: other\n")),
    );
    assert!(
        stderr(&out).contains(r#"spec.groups[0].rules[0].expr: Required value"#),
        "{}",
        stderr(&out)
    );
    // `interval` must match its pattern.
    let out = apiary.kubectl_with_stdin(
        &["apply", "-f", "-"],
        Some(
            &rule
                .replace("name: example\n", "name: other\n")
                .replace("30s", "30x"),
        ),
    );
    assert_eq!(
        stderr(&out).trim(),
        r#"The PrometheusRule "other" is invalid: spec.groups[0].interval: Invalid value: "30x": spec.groups[0].interval in body should match '^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$'"#
    );
    apiary.ok(&["delete", "promrule", "example"]);
}

#[test]
fn namespace_deletion_removes_custom_resources() {
    let apiary = Apiary::start();
    install_crontabs(&apiary);
    apiary.ok(&["create", "namespace", "team"]);
    apiary.ok_stdin(&["create", "-n", "team", "-f", "-"], CRONTAB);
    apiary.ok(&["delete", "namespace", "team", "--timeout=20s"]);
    assert!(!apiary.kubectl(&["get", "ns", "team"]).status.success());
    assert_eq!(
        stderr(&apiary.kubectl(&["get", "ct", "-A"])).trim(),
        "No resources found"
    );
}

/// Starts a conversion webhook on `runtime` (TLS for `127.0.0.1` from its own CA): between `v1`
/// (`spec.cronSpec`) and `v1beta1` (`spec.schedule`). Returns its CA (PEM) and port.
fn start_conversion_webhook(runtime: &tokio::runtime::Runtime) -> (String, u16) {
    let cert = common::tls_server::serving_cert("127.0.0.1");
    let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(vec![cert.cert], cert.key)
    .expect("server config");
    let port = common::tls_server::serve(runtime, config, |request, _| async move {
        use http_body_util::BodyExt;
        let body = request
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let review: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let to = review["request"]["desiredAPIVersion"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let (from, into) = if to.ends_with("v1beta1") {
            ("cronSpec", "schedule")
        } else {
            ("schedule", "cronSpec")
        };
        let converted: Vec<serde_json::Value> = review["request"]["objects"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|mut object| {
                if let Some(spec) = object["spec"].as_object_mut() {
                    if let Some(value) = spec.remove(from) {
                        spec.insert(into.to_string(), value);
                    }
                }
                object["apiVersion"] = serde_json::Value::from(to.clone());
                object
            })
            .collect();
        serde_json::json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview",
            "response": {"uid": review["request"]["uid"], "convertedObjects": converted,
                "result": {"status": "Success"}},
        })
    });
    (cert.ca_pem, port)
}

#[test]
fn versions_convert_through_the_conversion_webhook() {
    use base64::Engine as _;
    let apiary = Apiary::start();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (ca, port) = start_conversion_webhook(&runtime);
    let crd = CRONTABS
        .replace("crontabs.stable.example.com", "hooks.stable.example.com")
        .replace("plural: crontabs", "plural: hooks")
        .replace("singular: crontab", "singular: hook")
        .replace("kind: CronTab", "kind: Hook")
        .replace("shortNames: [ct]", "shortNames: [hk]")
        .replace(
            "  versions:\n",
            &format!(
                "  conversion:\n    strategy: Webhook\n    webhook:\n      conversionReviewVersions: [v1]\n      clientConfig:\n        url: https://127.0.0.1:{port}/convert\n        caBundle: {}\n  versions:\n",
                base64::engine::general_purpose::STANDARD.encode(&ca)
            ),
        );
    apiary.ok_stdin(&["apply", "-f", "-"], &crd);
    apiary.ok(&[
        "wait",
        "--for=condition=Established",
        "--timeout=5s",
        "crd/hooks.stable.example.com",
    ]);
    // Written at the storage version, read at the other through the webhook.
    apiary.ok_stdin(
        &["create", "-f", "-"],
        &CRONTAB.replace("kind: CronTab", "kind: Hook"),
    );
    assert_eq!(
        apiary.ok(&[
            "get",
            "hooks.v1beta1.stable.example.com",
            "my-cron",
            "-o",
            "jsonpath={.apiVersion} {.spec.schedule} {.spec.cronSpec}",
        ]),
        "stable.example.com/v1beta1 * * * * */5 "
    );
    // Written at v1beta1, stored (and read) at v1.
    let beta = "apiVersion: stable.example.com/v1beta1\nkind: Hook\nmetadata:\n  name: beta\nspec:\n  schedule: \"5 * * * *\"\n";
    apiary.ok_stdin(&["create", "-f", "-"], beta);
    assert_eq!(
        apiary.ok(&[
            "get",
            "hooks.v1.stable.example.com",
            "beta",
            "-o",
            "jsonpath={.spec.cronSpec}"
        ]),
        "5 * * * *"
    );
    // Lists and watches at v1beta1 are converted too.
    assert_eq!(
        apiary.ok(&[
            "get",
            "hooks.v1beta1.stable.example.com",
            "-o",
            "jsonpath={.items[*].spec.schedule}"
        ]),
        "5 * * * * * * * * */5"
    );
    let watch = apiary.ok(&[
        "get",
        "--raw",
        "/apis/stable.example.com/v1beta1/namespaces/default/hooks?watch=true&timeoutSeconds=1",
    ]);
    assert_eq!(watch.matches("\"schedule\"").count(), 2, "{watch}");
    // A live event at v1beta1 (converted once, in the shared watch).
    let list: serde_json::Value = serde_json::from_str(&apiary.ok(&[
        "get",
        "--raw",
        "/apis/stable.example.com/v1beta1/namespaces/default/hooks",
    ]))
    .expect("list");
    let rv = list["metadata"]["resourceVersion"]
        .as_str()
        .expect("resourceVersion")
        .to_string();
    let path = format!(
        "/apis/stable.example.com/v1beta1/namespaces/default/hooks?watch=true&timeoutSeconds=3&resourceVersion={rv}"
    );
    let kubeconfig = apiary.kubeconfig();
    let live = std::thread::spawn(move || {
        Command::new(kubectl_path())
            .args([
                "--kubeconfig",
                kubeconfig.to_str().unwrap(),
                "get",
                "--raw",
                &path,
            ])
            .output()
            .expect("kubectl watch")
    });
    std::thread::sleep(Duration::from_millis(500));
    apiary.ok_stdin(
        &["create", "-f", "-"],
        &CRONTAB
            .replace("kind: CronTab", "kind: Hook")
            .replace("my-cron", "live"),
    );
    let events = stdout(&live.join().expect("watch thread"));
    let event: serde_json::Value =
        serde_json::from_str(events.lines().next().unwrap_or_default()).expect("one event");
    assert_eq!(event["type"], "ADDED");
    assert_eq!(event["object"]["apiVersion"], "stable.example.com/v1beta1");
    assert_eq!(event["object"]["spec"]["schedule"], "* * * * */5");
    // Without the webhook, the other version cannot be read: upstream's 500.
    drop(runtime);
    let err = apiary.fails(&["get", "hooks.v1beta1.stable.example.com", "my-cron"]);
    assert!(
        err.starts_with(&format!(
            "Error from server: conversion webhook for stable.example.com/v1, Kind=Hook failed: Post \"https://127.0.0.1:{port}/convert\": dial tcp 127.0.0.1:{port}:"
        )),
        "{err}"
    );
    // The storage version needs no webhook.
    apiary.ok(&["get", "hooks.v1.stable.example.com", "my-cron"]);
}

#[test]
fn cel_rules_use_kubernetes_libraries_durations_and_escaped_names() {
    let apiary = Apiary::start();
    let routes = include_str!("fixtures/routes.crd.yaml");
    apiary.ok_stdin(&["apply", "-f", "-"], routes);
    apiary.ok(&[
        "wait",
        "--for=condition=Established",
        "--timeout=5s",
        "crd/routes.gateway.example.com",
    ]);
    let route = r#"
apiVersion: gateway.example.com/v1
kind: Route
metadata:
  name: r1
spec:
  timeouts: {request: 10s, backendRequest: 2s}
  resourceRef: {name: db, namespace: default}
  hostnames: [example.com]
  sourceRanges: [10.0.0.0/8, "2001:db8::/32"]
  bufferLimit: 512Mi
  callback: https://hooks.example.com/route
  notAfter: "2030-01-01T00:00:00Z"
"#;
    assert_eq!(
        apiary.ok_stdin(&["create", "-f", "-"], route).trim(),
        "route.gateway.example.com/r1 created"
    );
    let refused = |from: &str, to: &str| {
        let out = apiary.kubectl_with_stdin(
            &["create", "-f", "-"],
            Some(&route.replace("name: r1", "name: r2").replace(from, to)),
        );
        assert!(!out.status.success(), "{to} was accepted");
        stderr(&out).trim().to_string()
    };
    assert_eq!(
        refused("backendRequest: 2s", "backendRequest: 1m"),
        r#"The Route "r2" is invalid: spec.timeouts: Invalid value: "object": backendRequest timeout cannot be longer than request timeout"#
    );
    assert_eq!(
        refused("namespace: default", "namespace: kube-system"),
        r#"The Route "r2" is invalid: spec.resourceRef: Invalid value: "object": resources in kube-system cannot be referenced"#
    );
    assert_eq!(
        refused(
            "hostnames: [example.com]",
            "hostnames: [example.com, 192.0.2.1]"
        ),
        r#"The Route "r2" is invalid: spec.hostnames: Invalid value: "array": hostnames must not be IP addresses"#
    );
    assert_eq!(
        refused("10.0.0.0/8,", "10.0.0.0/4,"),
        r#"The Route "r2" is invalid: spec.sourceRanges[0]: Invalid value: "string": must be a CIDR"#
    );
    assert_eq!(
        refused("bufferLimit: 512Mi", "bufferLimit: 2Gi"),
        r#"The Route "r2" is invalid: spec.bufferLimit: Invalid value: "string": bufferLimit must be a quantity of at most 1Gi"#
    );
    assert_eq!(
        refused("https://hooks", "http://hooks"),
        r#"The Route "r2" is invalid: spec.callback: Invalid value: "string": callback must be an https URL"#
    );
    assert_eq!(
        refused("2030-01-01T00:00:00Z", "2130-01-01T00:00:00Z"),
        r#"The Route "r2" is invalid: spec.notAfter: Invalid value: "string": notAfter must be in the 21st century"#
    );
}

/// A CRD of sieves: a bounded list of names, unique by a pairwise rule; `{rules}` replaces the
/// rules of `spec`.
fn sieves_crd(rules: &str, names_bound: &str) -> String {
    format!(
        r#"{{"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
  "metadata": {{"name": "sieves.costs.example.com"}},
  "spec": {{"group": "costs.example.com", "scope": "Namespaced",
    "names": {{"plural": "sieves", "singular": "sieve", "kind": "Sieve"}},
    "versions": [{{"name": "v1", "served": true, "storage": true,
      "schema": {{"openAPIV3Schema": {{"type": "object", "properties": {{"spec": {{
        "type": "object",
        "properties": {{
          "replicas": {{"type": "integer"}},
          "names": {{"type": "array", {names_bound} "items": {{"type": "string", "maxLength": 8}}}}
        }},
        "x-kubernetes-validations": {rules}
      }}}}}}}}}}]}}}}"#
    )
}

#[test]
fn cel_rules_are_type_checked_and_their_cost_bounded() {
    let apiary = Apiary::start();
    // A rule that does not type-check is refused with cel-go's error.
    let out = apiary.kubectl_with_stdin(
        &["create", "-f", "-"],
        Some(&sieves_crd(
            r#"[{"rule": "self.replicas + 'a' == 1"}]"#,
            r#""maxItems": 900,"#,
        )),
    );
    let err = stderr(&out);
    assert!(
        err.contains("spec.versions[0].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule: Invalid value: ")
            && err.contains("compilation failed: ERROR: <input>:1:15: found no matching overload for '_+_' applied to '(int, string)'"),
        "{err}"
    );
    // So is a rule whose estimated cost is over the limit: pairs of an unbounded list.
    let out = apiary.kubectl_with_stdin(
        &["create", "-f", "-"],
        Some(&sieves_crd(
            r#"[{"rule": "self.names.all(a, self.names.exists(b, a == b))"}]"#,
            "",
        )),
    );
    let err = stderr(&out);
    assert!(
        err.contains("spec.versions[0].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule: Forbidden: estimated rule cost exceeds budget by factor of"),
        "{err}"
    );
    apiary.fails(&["get", "crd", "sieves.costs.example.com"]);
    // Bounded, it is accepted, and runs on small lists...
    apiary.ok_stdin(
        &["create", "-f", "-"],
        &sieves_crd(
            r#"[{"rule": "self.names.all(a, self.names.exists(b, a == b))", "message": "pairs"}]"#,
            r#""maxItems": 900,"#,
        ),
    );
    apiary.ok(&[
        "wait",
        "--for=condition=Established",
        "--timeout=5s",
        "crd/sieves.costs.example.com",
    ]);
    let sieve = |names: Vec<String>| {
        serde_json::json!({"apiVersion": "costs.example.com/v1", "kind": "Sieve",
            "metadata": {"name": format!("s{}", names.len())}, "spec": {"names": names}})
        .to_string()
    };
    let small: Vec<String> = (0..3).map(|i| format!("n{i}")).collect();
    let mut created = false;
    eventually("sieves served", || {
        let out = apiary.kubectl_with_stdin(&["create", "-f", "-"], Some(&sieve(small.clone())));
        created = out.status.success();
        created || !stderr(&out).contains("the server could not find the requested resource")
    });
    assert!(created, "a small sieve is created");
    // ...but is stopped before it burns the CPU on the largest ones (named by its message).
    let large: Vec<String> = (0..900).map(|i| format!("n{i}")).collect();
    let out = apiary.kubectl_with_stdin(&["create", "-f", "-"], Some(&sieve(large)));
    assert_eq!(
        stderr(&out).trim(),
        r#"The Sieve "s900" is invalid: spec: Invalid value: "object": 'operation cancelled: actual cost limit exceeded': no further validation rules will be run due to call cost exceeds limit for rule: pairs"#
    );
}
