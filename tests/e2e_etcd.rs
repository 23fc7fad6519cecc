//! End-to-end on etcd: objects kubectl creates sit where kube-apiserver puts them
//! (`etcdctl get --prefix /registry/configmaps/`), and killing the etcd leader of a 3-member
//! cluster in the middle of a `kubectl apply` loop loses nothing.

mod common;

use std::process::Command;

use apiary_etcd::testing::{TempEtcd, TempEtcdCluster};
use common::Apiary;

fn endpoints_env(endpoints: &[String]) -> String {
    let quoted: Vec<String> = endpoints.iter().map(|e| format!("{e:?}")).collect();
    format!("[{}]", quoted.join(","))
}

fn etcdctl(endpoints: &[String], args: &[&str]) -> String {
    let out = Command::new("etcdctl")
        .env("ETCDCTL_API", "3")
        .arg(format!("--endpoints={}", endpoints.join(",")))
        .args(args)
        .output()
        .expect("run etcdctl");
    assert!(
        out.status.success(),
        "etcdctl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn objects_live_under_the_registry_prefix_as_upstream() {
    let etcd = TempEtcd::start();
    let endpoints = etcd.endpoints();
    let apiary = Apiary::start_with_env(vec![
        ("APIARY_STORAGE__BACKEND".into(), "etcd".into()),
        (
            "APIARY_STORAGE__ETCD__ENDPOINTS".into(),
            endpoints_env(&endpoints),
        ),
    ]);
    apiary.ok(&[
        "create",
        "configmap",
        "app-config",
        "--from-literal=color=blue",
    ]);
    let keys = etcdctl(
        &endpoints,
        &["get", "--prefix", "/registry/configmaps/", "--keys-only"],
    );
    let keys: Vec<&str> = keys.lines().filter(|l| !l.is_empty()).collect();
    assert!(
        keys.contains(&"/registry/configmaps/default/app-config"),
        "{keys:?}"
    );
    let value = etcdctl(
        &endpoints,
        &[
            "get",
            "/registry/configmaps/default/app-config",
            "--print-value-only",
        ],
    );
    let object: serde_json::Value = serde_json::from_str(value.trim()).expect("JSON value");
    assert_eq!(object["data"]["color"], "blue");
    assert_eq!(object["kind"], "ConfigMap");
    // The namespaces, with upstream's keys.
    let namespaces = etcdctl(
        &endpoints,
        &["get", "--prefix", "/registry/namespaces/", "--keys-only"],
    );
    assert!(
        namespaces.contains("/registry/namespaces/kube-system"),
        "{namespaces}"
    );
    // The object's resourceVersion is etcd's mod revision of the key.
    let rv = apiary.ok(&[
        "get",
        "cm",
        "app-config",
        "-o",
        "jsonpath={.metadata.resourceVersion}",
    ]);
    let json = etcdctl(
        &endpoints,
        &[
            "get",
            "/registry/configmaps/default/app-config",
            "-w",
            "json",
        ],
    );
    let answer: serde_json::Value = serde_json::from_str(&json).expect("etcdctl json");
    assert_eq!(answer["kvs"][0]["mod_revision"].to_string(), rv);
}

#[test]
fn killing_the_etcd_leader_during_an_apply_loop_loses_nothing() {
    let cluster = TempEtcdCluster::start(3);
    let endpoints = cluster.endpoints();
    let apiary = Apiary::start_with_env(vec![
        ("APIARY_STORAGE__BACKEND".into(), "etcd".into()),
        (
            "APIARY_STORAGE__ETCD__ENDPOINTS".into(),
            endpoints_env(&endpoints),
        ),
    ]);
    let total = 40;
    let mut failed = Vec::new();
    for i in 0..total {
        if i == total / 2 {
            let leader = cluster.leader();
            cluster.kill(leader);
        }
        let manifest = format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cm-{i}}}\ndata: {{i: \"{i}\"}}\n"
        );
        let out = apiary.kubectl_with_stdin(&["apply", "-f", "-"], Some(&manifest));
        if !out.status.success() {
            failed.push((i, common::stderr(&out)));
        }
    }
    assert!(
        failed.is_empty(),
        "applies failed while the leader was lost: {failed:?}"
    );
    let names = apiary.ok(&["get", "configmaps", "-o", "name"]);
    for i in 0..total {
        assert!(
            names.lines().any(|l| l == format!("configmap/cm-{i}")),
            "cm-{i} lost:\n{names}"
        );
    }
}

#[test]
fn with_every_member_down_requests_fail_fast_and_recover() {
    let cluster = TempEtcdCluster::start(1);
    let endpoints = cluster.endpoints();
    let apiary = Apiary::start_with_env(vec![
        ("APIARY_STORAGE__BACKEND".into(), "etcd".into()),
        (
            "APIARY_STORAGE__ETCD__ENDPOINTS".into(),
            endpoints_env(&endpoints),
        ),
        (
            "APIARY_STORAGE__ETCD__REQUEST_TIMEOUT_SECONDS".into(),
            "3".into(),
        ),
    ]);
    apiary.ok(&["create", "configmap", "before", "--from-literal=k=v"]);
    cluster.kill(0);
    // kubectl prints a Status as `Error from server (<reason>)`, except `kubectl create <kind>`,
    // which prints `error: failed to create <kind>: <message>`.
    for (args, expected) in [
        (
            &["get", "configmap", "before"][..],
            "Error from server (ServiceUnavailable): storage is unavailable: ",
        ),
        (
            &["create", "configmap", "during", "--from-literal=k=v"][..],
            "error: failed to create configmap: storage is unavailable: ",
        ),
    ] {
        let started = std::time::Instant::now();
        let out = apiary.kubectl(args);
        let took = started.elapsed();
        let err = common::stderr(&out);
        assert!(!out.status.success(), "{args:?} succeeded with etcd down");
        assert!(err.starts_with(expected), "{args:?}: {err}");
        // kubectl retries a 503/504 a few times itself; each answer is bounded by the request timeout.
        assert!(
            took < std::time::Duration::from_secs(30),
            "{args:?} took {took:?}"
        );
    }
    cluster.restart(0);
    cluster.wait_healthy();
    // The same Apiary process serves again.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let out = apiary.kubectl(&["create", "configmap", "after", "--from-literal=k=v"]);
        if out.status.success() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no recovery: {}",
            common::stderr(&out)
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    let names = apiary.ok(&["get", "configmaps", "-o", "name"]);
    assert!(
        names.contains("configmap/before") && names.contains("configmap/after"),
        "{names}"
    );
}
