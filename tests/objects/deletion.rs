//! Deletion: finalizers, propagation policies, the garbage collector and `kubectl wait`.
//!
//! There is no deployment or replicaset controller: each test builds the family a cluster's
//! controllers would (Deployment -> ReplicaSet -> 2 Pods, each dependent naming its owner's uid
//! with `controller: true` and `blockOwnerDeletion: true`) and watches what deletion does to it.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{kubectl_path, stderr, stdout, Apiary};

fn deployment(name: &str) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  replicas: 2
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
      - name: c
        image: busybox:1.36
"#
    )
}

fn owner_ref(api_version: &str, kind: &str, name: &str, uid: &str) -> String {
    format!(
        "  ownerReferences:\n  - apiVersion: {api_version}\n    kind: {kind}\n    name: {name}\n    uid: {uid}\n    controller: true\n    blockOwnerDeletion: true\n"
    )
}

fn replicaset(name: &str, app: &str, owner_uid: &str) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: {name}
{refs}spec:
  replicas: 2
  selector:
    matchLabels: {{app: {app}}}
  template:
    metadata:
      labels: {{app: {app}}}
    spec:
      containers:
      - name: c
        image: busybox:1.36
"#,
        refs = owner_ref("apps/v1", "Deployment", app, owner_uid)
    )
}

fn pod(name: &str, app: &str, owner: Option<(&str, &str)>, extra_meta: &str) -> String {
    let refs = owner
        .map(|(rs, uid)| owner_ref("apps/v1", "ReplicaSet", rs, uid))
        .unwrap_or_default();
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  labels: {{app: {app}}}\n{extra_meta}{refs}spec:\n  containers:\n  - name: c\n    image: busybox:1.36\n"
    )
}

fn uid(apiary: &Apiary, resource: &str, name: &str) -> String {
    let uid = apiary.ok(&["get", resource, name, "-o", "jsonpath={.metadata.uid}"]);
    assert!(!uid.is_empty(), "{resource}/{name} has a uid");
    uid
}

/// Creates Deployment `app` -> ReplicaSet `<app>-rs` -> Pods `<app>-a`, `<app>-b`; `held_pod_meta`
/// goes into the metadata of `<app>-b`.
fn family(apiary: &Apiary, app: &str, held_pod_meta: &str) {
    apiary.ok_stdin(&["create", "-f", "-"], &deployment(app));
    let deployment_uid = uid(apiary, "deployment", app);
    let rs = format!("{app}-rs");
    apiary.ok_stdin(
        &["create", "-f", "-"],
        &replicaset(&rs, app, &deployment_uid),
    );
    let rs_uid = uid(apiary, "replicaset", &rs);
    for (suffix, meta) in [("a", ""), ("b", held_pod_meta)] {
        apiary.ok_stdin(
            &["create", "-f", "-"],
            &pod(&format!("{app}-{suffix}"), app, Some((&rs, &rs_uid)), meta),
        );
    }
}

/// Polls `kubectl args` until its stdout is `expected` (20 seconds at most).
fn eventually(apiary: &Apiary, args: &[&str], expected: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = apiary.kubectl(args);
        let text = stdout(&out);
        if text == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "kubectl {args:?}: still {text:?} (stderr {:?}), expected {expected:?}",
            stderr(&out)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn names(apiary: &Apiary, resources: &str) -> String {
    apiary.ok(&["get", resources, "-o", "name"])
}

#[test]
fn background_deletion_collects_the_whole_family() {
    let apiary = Apiary::start();
    family(&apiary, "web", "");
    assert_eq!(
        names(&apiary, "deployments,replicasets,pods"),
        "deployment.apps/web\nreplicaset.apps/web-rs\npod/web-a\npod/web-b\n"
    );
    assert_eq!(
        apiary.ok(&["delete", "deployment", "web"]),
        "deployment.apps \"web\" deleted\n"
    );
    apiary.ok(&[
        "wait",
        "--for=delete",
        "--timeout=20s",
        "replicaset/web-rs",
        "pod/web-a",
        "pod/web-b",
    ]);
    assert_eq!(names(&apiary, "deployments,replicasets,pods"), "");
}

#[test]
fn foreground_deletion_waits_for_blocking_dependents() {
    let apiary = Apiary::start();
    family(&apiary, "fg", "  finalizers: [example.com/hold]\n");
    assert_eq!(
        apiary.ok(&[
            "delete",
            "deployment",
            "fg",
            "--cascade=foreground",
            "--wait=false"
        ]),
        "deployment.apps \"fg\" deleted\n"
    );
    // The collector deletes the ReplicaSet in the foreground too (it has dependents), and its
    // pods; the held pod keeps both owners waiting.
    eventually(&apiary, &["get", "pods", "-o", "name"], "pod/fg-b\n");
    eventually(
        &apiary,
        &[
            "get",
            "replicaset",
            "fg-rs",
            "-o",
            "jsonpath={.metadata.finalizers}",
        ],
        "[\"foregroundDeletion\"]",
    );
    assert_eq!(
        apiary.ok(&[
            "get",
            "deployment",
            "fg",
            "-o",
            "jsonpath={.metadata.finalizers} {.metadata.deletionGracePeriodSeconds}"
        ]),
        "[\"foregroundDeletion\"] 0"
    );
    assert!(!apiary
        .ok(&[
            "get",
            "deployment",
            "fg",
            "-o",
            "jsonpath={.metadata.deletionTimestamp}"
        ])
        .is_empty());
    assert_eq!(
        apiary.ok(&[
            "get",
            "pod",
            "fg-b",
            "-o",
            "jsonpath={.metadata.finalizers}"
        ]),
        "[\"example.com/hold\"]"
    );
    assert!(!apiary
        .ok(&[
            "get",
            "pod",
            "fg-b",
            "-o",
            "jsonpath={.metadata.deletionTimestamp}"
        ])
        .is_empty());

    // Releasing the held pod lets the whole family go.
    assert_eq!(
        apiary.ok(&[
            "patch",
            "pod",
            "fg-b",
            "--type=json",
            "-p",
            r#"[{"op":"remove","path":"/metadata/finalizers"}]"#
        ]),
        "pod/fg-b patched\n"
    );
    apiary.ok(&["wait", "--for=delete", "--timeout=20s", "deployment/fg"]);
    assert_eq!(names(&apiary, "deployments,replicasets,pods"), "");
}

#[test]
fn orphan_deletion_releases_the_dependents() {
    let apiary = Apiary::start();
    family(&apiary, "orph", "");
    // kubectl waits for the deployment to go: the collector removes the references to it, then
    // the orphan finalizer.
    assert_eq!(
        apiary.ok(&["delete", "deployment", "orph", "--cascade=orphan"]),
        "deployment.apps \"orph\" deleted\n"
    );
    assert_eq!(names(&apiary, "deployments"), "");
    assert_eq!(
        apiary.ok(&[
            "get",
            "replicaset",
            "orph-rs",
            "-o",
            "jsonpath={.metadata.ownerReferences}"
        ]),
        ""
    );
    // The pods still belong to the ReplicaSet...
    assert_eq!(
        apiary.ok(&[
            "get",
            "pods",
            "-o",
            "jsonpath={range .items[*]}{.metadata.name}:{.metadata.ownerReferences[0].name} {end}"
        ]),
        "orph-a:orph-rs orph-b:orph-rs "
    );
    // ...and go with it.
    assert_eq!(
        apiary.ok(&["delete", "replicaset", "orph-rs"]),
        "replicaset.apps \"orph-rs\" deleted\n"
    );
    apiary.ok(&[
        "wait",
        "--for=delete",
        "--timeout=20s",
        "pod/orph-a",
        "pod/orph-b",
    ]);
    assert_eq!(names(&apiary, "replicasets,pods"), "");
}

#[test]
fn a_finalizer_keeps_an_object_terminating_until_removed() {
    let apiary = Apiary::start();
    apiary.ok_stdin(
        &["create", "-f", "-"],
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: held\n  finalizers: [example.com/hold]\ndata: {k: v}\n",
    );
    assert_eq!(
        apiary.ok(&["delete", "configmap", "held", "--wait=false"]),
        "configmap \"held\" deleted\n"
    );
    assert_eq!(
        apiary.ok(&[
            "get",
            "configmap",
            "held",
            "-o",
            "jsonpath={.metadata.finalizers} {.metadata.deletionGracePeriodSeconds}"
        ]),
        "[\"example.com/hold\"] 0"
    );
    let marked_at = apiary.ok(&[
        "get",
        "configmap",
        "held",
        "-o",
        "jsonpath={.metadata.deletionTimestamp}",
    ]);
    assert!(marked_at.ends_with('Z'), "{marked_at}");
    // Deleting again changes nothing.
    assert_eq!(
        apiary.ok(&["delete", "configmap", "held", "--wait=false"]),
        "configmap \"held\" deleted\n"
    );
    assert_eq!(
        apiary.ok(&[
            "get",
            "configmap",
            "held",
            "-o",
            "jsonpath={.metadata.deletionTimestamp}"
        ]),
        marked_at
    );
    assert_eq!(
        apiary.ok(&[
            "patch",
            "configmap",
            "held",
            "--type=merge",
            "-p",
            r#"{"metadata":{"finalizers":null}}"#
        ]),
        "configmap/held patched\n"
    );
    assert_eq!(
        apiary.fails(&["get", "configmap", "held"]),
        "Error from server (NotFound): configmaps \"held\" not found\n"
    );
}

#[test]
fn a_bound_pod_is_deleted_gracefully_until_forced() {
    let apiary = Apiary::start();
    apiary.ok_stdin(
        &["create", "-f", "-"],
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: bound\nspec:\n  nodeName: node-1\n  containers:\n  - name: c\n    image: busybox:1.36\n",
    );
    assert_eq!(
        apiary.ok(&["delete", "pod", "bound", "--wait=false"]),
        "pod \"bound\" deleted\n"
    );
    assert_eq!(
        apiary.ok(&[
            "get",
            "pod",
            "bound",
            "-o",
            "jsonpath={.metadata.deletionGracePeriodSeconds}"
        ]),
        "30"
    );
    let deadline = apiary.ok(&[
        "get",
        "pod",
        "bound",
        "-o",
        "jsonpath={.metadata.deletionTimestamp}",
    ]);
    assert!(deadline.ends_with('Z'), "{deadline}");
    let table = apiary.ok(&["get", "pod", "bound", "--no-headers"]);
    assert!(
        table.split_whitespace().nth(2) == Some("Terminating"),
        "{table}"
    );
    // A second delete without a shorter grace period changes nothing.
    apiary.ok(&["delete", "pod", "bound", "--wait=false"]);
    assert_eq!(
        apiary.ok(&[
            "get",
            "pod",
            "bound",
            "-o",
            "jsonpath={.metadata.deletionTimestamp} {.metadata.deletionGracePeriodSeconds}"
        ]),
        format!("{deadline} 30")
    );
    let out = apiary.kubectl(&["delete", "pod", "bound", "--grace-period=0", "--force"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "Warning: Immediate deletion does not wait for confirmation that the running resource has been terminated. The resource may continue to run on the cluster indefinitely.\n"
    );
    assert_eq!(stdout(&out), "pod \"bound\" force deleted\n");
    assert_eq!(
        apiary.fails(&["get", "pod", "bound"]),
        "Error from server (NotFound): pods \"bound\" not found\n"
    );
}

#[test]
fn kubectl_wait_for_a_condition_set_through_status() {
    let apiary = Apiary::start();
    apiary.ok_stdin(&["create", "-f", "-"], &deployment("cond"));
    let waiter = Command::new(kubectl_path())
        .arg("--kubeconfig")
        .arg(apiary.kubeconfig())
        .args([
            "wait",
            "--for=condition=Available",
            "--timeout=30s",
            "deployment/cond",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run kubectl wait");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        apiary.ok(&[
            "patch",
            "deployment",
            "cond",
            "--subresource=status",
            "--type=merge",
            "-p",
            r#"{"status":{"conditions":[{"type":"Available","status":"True","reason":"MinimumReplicasAvailable","message":"set by the test"}]}}"#
        ]),
        "deployment.apps/cond patched\n"
    );
    let out = waiter.wait_with_output().expect("kubectl wait output");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "deployment.apps/cond condition met\n");
    // Already true: answered at once.
    assert_eq!(
        apiary.ok(&[
            "wait",
            "--for=condition=Available",
            "--timeout=5s",
            "deployment/cond"
        ]),
        "deployment.apps/cond condition met\n"
    );
}

#[test]
fn the_collector_checks_owner_uids_and_rebuilds_after_a_restart() {
    let mut apiary = Apiary::start();
    family(&apiary, "late", "");
    // An owner reference naming an existing ReplicaSet with another uid: that owner is gone (it
    // was replaced), so the dependent is collected.
    let stray = pod(
        "stray",
        "late",
        Some(("late-rs", "00000000-0000-0000-0000-000000000000")),
        "",
    );
    apiary.ok_stdin(&["create", "-f", "-"], &stray);
    apiary.ok(&["wait", "--for=delete", "--timeout=20s", "pod/stray"]);
    // After a restart the collector rebuilds its graph from lists and cascades as before.
    apiary.kill_and_restart();
    assert_eq!(
        apiary.ok(&["delete", "deployment", "late"]),
        "deployment.apps \"late\" deleted\n"
    );
    apiary.ok(&[
        "wait",
        "--for=delete",
        "--timeout=20s",
        "replicaset/late-rs",
        "pod/late-a",
        "pod/late-b",
    ]);
    assert_eq!(names(&apiary, "deployments,replicasets,pods"), "");
}

#[test]
fn custom_resources_own_and_are_owned() {
    let apiary = Apiary::start();
    apiary.ok_stdin(
        &["apply", "-f", "-"],
        include_str!("../fixtures/crontabs.crd.yaml"),
    );
    apiary.ok(&[
        "wait",
        "--for=condition=Established",
        "--timeout=20s",
        "crd/crontabs.stable.example.com",
    ]);
    apiary.ok_stdin(
        &["create", "-f", "-"],
        "apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata:\n  name: nightly\nspec:\n  cronSpec: \"0 3 * * *\"\n  replicas: 1\n",
    );
    let crontab_uid = uid(&apiary, "crontab", "nightly");
    // A ConfigMap owned by the custom resource...
    apiary.ok_stdin(
        &["create", "-f", "-"],
        &format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: nightly-config\n{}data: {{k: v}}\n",
            owner_ref("stable.example.com/v1", "CronTab", "nightly", &crontab_uid)
        ),
    );
    let config_uid = uid(&apiary, "configmap", "nightly-config");
    // ...which owns another custom resource.
    apiary.ok_stdin(
        &["create", "-f", "-"],
        &format!(
            "apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata:\n  name: hourly\n{}spec:\n  cronSpec: \"0 * * * *\"\n  replicas: 1\n",
            owner_ref("v1", "ConfigMap", "nightly-config", &config_uid)
        ),
    );
    assert_eq!(
        apiary.ok(&["delete", "crontab", "nightly"]),
        "crontab.stable.example.com \"nightly\" deleted\n"
    );
    apiary.ok(&[
        "wait",
        "--for=delete",
        "--timeout=20s",
        "configmap/nightly-config",
        "crontab/hourly",
    ]);
    assert_eq!(names(&apiary, "crontabs"), "");
    assert_eq!(
        apiary.fails(&["get", "configmap", "nightly-config"]),
        "Error from server (NotFound): configmaps \"nightly-config\" not found\n"
    );
}
