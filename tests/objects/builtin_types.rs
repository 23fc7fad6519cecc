//! Defaults and validation of built-in types, and the defaulting admission plugins.
//!
//! The expected objects are what kube-apiserver 1.33 answers to the same kubectl commands
//! (no controllers running: no Deployment revision annotation, no pod status beyond the
//! strategy's `Pending`).

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{stderr, Apiary};

fn get_json(apiary: &Apiary, args: &[&str]) -> Value {
    let mut full = args.to_vec();
    full.extend(["-o", "json"]);
    serde_json::from_str(&apiary.ok(&full)).expect("kubectl -o json")
}

fn metadata_keys(obj: &Value) -> Vec<String> {
    let mut keys: Vec<String> = obj["metadata"]
        .as_object()
        .expect("metadata")
        .keys()
        .cloned()
        .collect();
    keys.sort();
    keys
}

#[test]
fn created_deployment_shows_upstreams_defaults() {
    let apiary = Apiary::start();
    apiary.ok(&["create", "deployment", "web", "--image=nginx:1.27"]);
    let deployment = get_json(&apiary, &["get", "deployment", "web"]);
    assert_eq!(
        metadata_keys(&deployment),
        [
            "creationTimestamp",
            "generation",
            "labels",
            "name",
            "namespace",
            "resourceVersion",
            "uid"
        ]
    );
    assert_eq!(deployment["metadata"]["generation"], 1);
    assert_eq!(deployment["metadata"]["labels"], json!({"app": "web"}));
    assert_eq!(
        deployment["spec"],
        json!({
            "progressDeadlineSeconds": 600,
            "replicas": 1,
            "revisionHistoryLimit": 10,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
                "type": "RollingUpdate"
            },
            "template": {
                "metadata": {"creationTimestamp": null, "labels": {"app": "web"}},
                "spec": {
                    "containers": [{
                        "image": "nginx:1.27",
                        "imagePullPolicy": "IfNotPresent",
                        "name": "nginx",
                        "resources": {},
                        "terminationMessagePath": "/dev/termination-log",
                        "terminationMessagePolicy": "File"
                    }],
                    "dnsPolicy": "ClusterFirst",
                    "restartPolicy": "Always",
                    "schedulerName": "default-scheduler",
                    "securityContext": {},
                    "terminationGracePeriodSeconds": 30
                }
            }
        })
    );
    assert_eq!(deployment["status"], json!({}));
}

#[test]
fn created_pod_shows_defaults_and_admission() {
    let apiary = Apiary::start();
    apiary.ok(&["run", "p", "--image=nginx"]);
    let pod = get_json(&apiary, &["get", "pod", "p"]);
    assert_eq!(
        metadata_keys(&pod),
        [
            "creationTimestamp",
            "labels",
            "name",
            "namespace",
            "resourceVersion",
            "uid"
        ]
    );
    assert_eq!(pod["metadata"]["labels"], json!({"run": "p"}));
    let volume = pod["spec"]["volumes"][0]["name"]
        .as_str()
        .expect("token volume")
        .to_string();
    assert!(
        volume.starts_with("kube-api-access-") && volume.len() == "kube-api-access-".len() + 5,
        "{volume}"
    );
    assert_eq!(
        pod["spec"],
        json!({
            "containers": [{
                "image": "nginx",
                "imagePullPolicy": "Always",
                "name": "p",
                "resources": {},
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File",
                "volumeMounts": [{
                    "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                    "name": volume,
                    "readOnly": true
                }]
            }],
            "dnsPolicy": "ClusterFirst",
            "enableServiceLinks": true,
            "preemptionPolicy": "PreemptLowerPriority",
            "priority": 0,
            "restartPolicy": "Always",
            "schedulerName": "default-scheduler",
            "securityContext": {},
            "serviceAccount": "default",
            "serviceAccountName": "default",
            "terminationGracePeriodSeconds": 30,
            "tolerations": [
                {"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists", "tolerationSeconds": 300},
                {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable", "operator": "Exists", "tolerationSeconds": 300}
            ],
            "volumes": [{
                "name": volume,
                "projected": {
                    "defaultMode": 420,
                    "sources": [
                        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                        {"configMap": {"items": [{"key": "ca.crt", "path": "ca.crt"}], "name": "kube-root-ca.crt"}},
                        {"downwardAPI": {"items": [{"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}, "path": "namespace"}]}}
                    ]
                }
            }]
        })
    );
    assert_eq!(
        pod["status"],
        json!({"phase": "Pending", "qosClass": "BestEffort"})
    );

    // automountServiceAccountToken: false keeps the pod free of the token volume.
    let manifest = r#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "quiet"},
        "spec": {"automountServiceAccountToken": false, "containers": [{"name": "c", "image": "busybox:1.36"}]}}"#;
    apiary.ok_stdin(&["create", "-f", "-"], manifest);
    let quiet = get_json(&apiary, &["get", "pod", "quiet"]);
    assert!(quiet["spec"].get("volumes").is_none(), "{quiet}");
    assert!(quiet["spec"]["containers"][0].get("volumeMounts").is_none());
    assert_eq!(
        quiet["spec"]["containers"][0]["imagePullPolicy"],
        "IfNotPresent"
    );
}

/// Polls `kubectl` until it succeeds with `want` (the default ServiceAccount and the root CA
/// ConfigMap are created by a controller, right after their namespace).
fn eventually(apiary: &Apiary, args: &[&str], want: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = apiary.kubectl(args);
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        if out.status.success() && text == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "kubectl {args:?}: {text}{}",
            stderr(&out)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn new_namespaces_get_default_service_account_and_root_ca() {
    let apiary = Apiary::start();
    let ca = std::fs::read_to_string(apiary.data_dir().join("ca.crt")).expect("ca.crt");
    for ns in ["default", "kube-system", "kube-public"] {
        eventually(
            &apiary,
            &["get", "serviceaccount", "default", "-n", ns, "-o", "name"],
            "serviceaccount/default\n",
        );
    }
    apiary.ok(&["create", "namespace", "team"]);
    eventually(
        &apiary,
        &[
            "get",
            "serviceaccount",
            "default",
            "-n",
            "team",
            "-o",
            "name",
        ],
        "serviceaccount/default\n",
    );
    eventually(
        &apiary,
        &[
            "get",
            "configmap",
            "kube-root-ca.crt",
            "-n",
            "team",
            "-o",
            "jsonpath={.data.ca\\.crt}",
        ],
        &ca,
    );
    // A pod right after its namespace is admitted: its default ServiceAccount exists.
    apiary.ok(&["create", "namespace", "fast"]);
    apiary.ok(&["run", "first", "--image=nginx", "-n", "fast"]);

    // Deleted, they come back.
    apiary.ok(&["delete", "serviceaccount", "default", "-n", "team"]);
    eventually(
        &apiary,
        &[
            "get",
            "serviceaccount",
            "default",
            "-n",
            "team",
            "-o",
            "name",
        ],
        "serviceaccount/default\n",
    );
    apiary.ok(&["delete", "configmap", "kube-root-ca.crt", "-n", "team"]);
    eventually(
        &apiary,
        &[
            "get",
            "configmap",
            "kube-root-ca.crt",
            "-n",
            "team",
            "-o",
            "jsonpath={.data.ca\\.crt}",
        ],
        &ca,
    );
}

#[test]
fn pod_naming_a_missing_service_account_is_forbidden() {
    let apiary = Apiary::start();
    let manifest = r#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"serviceAccountName": "robot", "containers": [{"name": "c", "image": "nginx"}]}}"#;
    let out = apiary.kubectl_with_stdin(&["create", "-f", "-"], Some(manifest));
    assert!(!out.status.success());
    assert_eq!(
        stderr(&out).trim_end(),
        "Error from server (Forbidden): error when creating \"STDIN\": pods \"p\" is forbidden: error looking up service account default/robot: serviceaccount \"robot\" not found"
    );
    apiary.ok(&["create", "serviceaccount", "robot"]);
    apiary.ok_stdin(&["create", "-f", "-"], manifest);
    let pod = get_json(&apiary, &["get", "pod", "p"]);
    assert_eq!(pod["spec"]["serviceAccountName"], "robot");
    assert_eq!(pod["spec"]["serviceAccount"], "robot");
}

/// `kubectl create -f -` of `manifest` fails with exactly `expected` on stderr.
fn rejected(apiary: &Apiary, manifest: &str, expected: &str) {
    let out = apiary.kubectl_with_stdin(&["create", "-f", "-"], Some(manifest));
    assert!(!out.status.success(), "{manifest} was accepted");
    assert_eq!(stderr(&out).trim_end(), expected, "for {manifest}");
}

fn pod_with(name: &str, container: &str) -> String {
    format!(
        r#"{{"apiVersion": "v1", "kind": "Pod", "metadata": {{"name": "{name}"}}, "spec": {{"containers": [{container}]}}}}"#
    )
}

#[test]
fn common_invalid_manifests_are_rejected_as_upstream() {
    let apiary = Apiary::start();
    rejected(
        &apiary,
        &pod_with("bad-name", r#"{"name": "Bad_Name", "image": "nginx"}"#),
        "The Pod \"bad-name\" is invalid: spec.containers[0].name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
    );
    rejected(
        &apiary,
        &pod_with("no-image", r#"{"name": "c"}"#),
        "The Pod \"no-image\" is invalid: spec.containers[0].image: Required value",
    );
    rejected(
        &apiary,
        &pod_with(
            "bad-port",
            r#"{"name": "c", "image": "nginx", "ports": [{"containerPort": 70000}]}"#,
        ),
        "The Pod \"bad-port\" is invalid: spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
    );
    rejected(
        &apiary,
        &pod_with(
            "two-errors",
            r#"{"name": "c", "ports": [{"containerPort": 70000}]}"#,
        ),
        "The Pod \"two-errors\" is invalid: \n* spec.containers[0].image: Required value\n* spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
    );
    rejected(
        &apiary,
        &pod_with(
            "bad-quantity",
            r#"{"name": "c", "image": "nginx", "resources": {"limits": {"memory": "lots"}}}"#,
        ),
        "Error from server (BadRequest): error when creating \"STDIN\": Pod in version \"v1\" cannot be handled as a Pod: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
    );
    rejected(
        &apiary,
        &pod_with(
            "greedy",
            r#"{"name": "c", "image": "nginx", "resources": {"limits": {"cpu": "1"}, "requests": {"cpu": "2"}}}"#,
        ),
        "The Pod \"greedy\" is invalid: spec.containers[0].resources.requests: Invalid value: \"2\": must be less than or equal to cpu limit of 1",
    );
    rejected(
        &apiary,
        r#"{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "mismatch"},
            "spec": {"selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "other"}},
                                  "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}"#,
        "The Deployment \"mismatch\" is invalid: spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"other\"}: `selector` does not match template `labels`",
    );
    rejected(
        &apiary,
        r#"{"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "forever"},
            "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}"#,
        "The Job \"forever\" is invalid: spec.template.spec.restartPolicy: Required value: valid values: \"OnFailure\", \"Never\"",
    );
}

#[test]
fn immutable_fields_are_refused_on_update() {
    let apiary = Apiary::start();
    apiary.ok(&["create", "deployment", "web", "--image=nginx:1.27"]);
    let out = apiary.kubectl(&[
        "patch",
        "deployment",
        "web",
        "--type=merge",
        "-p",
        r#"{"spec":{"selector":{"matchLabels":{"app":"other"}},"template":{"metadata":{"labels":{"app":"other"}}}}}"#,
    ]);
    assert!(!out.status.success());
    assert_eq!(
        stderr(&out).trim_end(),
        "The Deployment \"web\" is invalid: spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"other\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable"
    );
    // The image may change: a new generation.
    apiary.ok(&["set", "image", "deployment/web", "nginx=nginx:1.28"]);
    let deployment = get_json(&apiary, &["get", "deployment", "web"]);
    assert_eq!(deployment["metadata"]["generation"], 2);

    apiary.ok(&["create", "job", "once", "--image=busybox"]);
    let job = get_json(&apiary, &["get", "job", "once"]);
    let uid = job["metadata"]["uid"].as_str().expect("uid").to_string();
    assert_eq!(
        job["spec"]["selector"],
        json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}})
    );
    let labels = json!({"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": "once",
        "controller-uid": uid, "job-name": "once"});
    assert_eq!(job["spec"]["template"]["metadata"]["labels"], labels);
    assert_eq!(job["metadata"]["labels"], labels);
    for (field, value) in [
        ("backoffLimit", json!(6)),
        ("completionMode", json!("NonIndexed")),
        ("completions", json!(1)),
        ("manualSelector", json!(false)),
        ("parallelism", json!(1)),
        ("podReplacementPolicy", json!("TerminatingOrFailed")),
        ("suspend", json!(false)),
    ] {
        assert_eq!(job["spec"][field], value, "spec.{field}");
    }
    let out = apiary.kubectl(&[
        "patch",
        "job",
        "once",
        "--type=json",
        "-p",
        r#"[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"busybox:1.36"}]"#,
    ]);
    assert!(!out.status.success());
    let message = stderr(&out);
    // Upstream prints the whole Go struct (with memory addresses) between these two parts.
    assert!(
        message.starts_with(
            "The Job \"once\" is invalid: spec.template: Invalid value: core.PodTemplateSpec{"
        ) && message.trim_end().ends_with("}: field is immutable"),
        "{message}"
    );

    apiary.ok(&["create", "configmap", "frozen", "--from-literal=a=1"]);
    apiary.ok(&[
        "patch",
        "configmap",
        "frozen",
        "--type=merge",
        "-p",
        r#"{"immutable":true}"#,
    ]);
    let out = apiary.kubectl(&[
        "patch",
        "configmap",
        "frozen",
        "--type=merge",
        "-p",
        r#"{"data":{"a":"2"}}"#,
    ]);
    assert!(!out.status.success());
    assert_eq!(
        stderr(&out).trim_end(),
        "The ConfigMap \"frozen\" is invalid: data: Forbidden: field is immutable when `immutable` is set"
    );

    // Pods: only the image may change.
    apiary.ok(&["run", "p", "--image=nginx"]);
    apiary.ok(&["set", "image", "pod/p", "p=nginx:1.28"]);
    let out = apiary.kubectl(&[
        "patch",
        "pod",
        "p",
        "--type=json",
        "-p",
        r#"[{"op":"replace","path":"/spec/restartPolicy","value":"Never"}]"#,
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).starts_with("The Pod \"p\" is invalid: spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n"),
        "{}",
        stderr(&out)
    );
}

/// The system PriorityClasses exist from the start, as upstream's post-start hook creates them,
/// and a pod naming one gets its priority from the Priority admission plugin.
#[test]
fn system_priority_classes_exist_and_pods_may_name_them() {
    let apiary = Apiary::start();
    let table = apiary.ok(&["get", "priorityclasses"]);
    let mut lines = table.lines();
    let header: Vec<&str> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        ["NAME", "VALUE", "GLOBAL-DEFAULT", "AGE", "PREEMPTIONPOLICY"]
    );
    // The AGE column (the fourth) varies; the others are fixed.
    let rows: Vec<Vec<&str>> = lines
        .map(|line| {
            let mut cells: Vec<&str> = line.split_whitespace().collect();
            cells.remove(3);
            cells
        })
        .collect();
    assert_eq!(
        rows,
        [
            [
                "system-cluster-critical",
                "2000000000",
                "false",
                "PreemptLowerPriority"
            ],
            [
                "system-node-critical",
                "2000001000",
                "false",
                "PreemptLowerPriority"
            ],
        ]
    );
    let class = get_json(&apiary, &["get", "priorityclass", "system-node-critical"]);
    assert_eq!(
        class["description"],
        "Used for system critical pods that must not be moved from their current node."
    );
    assert_eq!(class["preemptionPolicy"], "PreemptLowerPriority");
    let manifest = r#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "critical"},
        "spec": {"priorityClassName": "system-cluster-critical",
                 "containers": [{"name": "c", "image": "nginx"}]}}"#;
    apiary.ok_stdin(&["create", "-f", "-"], manifest);
    let pod = get_json(&apiary, &["get", "pod", "critical"]);
    assert_eq!(pod["spec"]["priority"], 2_000_000_000_i64);
    assert_eq!(pod["spec"]["preemptionPolicy"], "PreemptLowerPriority");
    // As upstream, the system classes cannot be deleted; other classes can.
    assert_eq!(
        apiary
            .fails(&["delete", "priorityclass", "system-cluster-critical"])
            .trim_end(),
        "Error from server (Forbidden): priorityclasses.scheduling.k8s.io \"system-cluster-critical\" is forbidden: this is a system priority class and cannot be deleted"
    );
    apiary.ok_stdin(
        &["create", "-f", "-"],
        r#"{"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
            "metadata": {"name": "high"}, "value": 1000}"#,
    );
    assert_eq!(
        apiary.ok(&["delete", "priorityclass", "high"]).trim(),
        "priorityclass.scheduling.k8s.io \"high\" deleted"
    );
}
