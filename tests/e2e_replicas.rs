//! End-to-end: two `apiary` replicas on one PostgreSQL database. Writes through replica A are seen by
//! `kubectl get -w` and a kube-rs watcher through replica B, every event exactly once, in order,
//! with the resourceVersions A returned; `kubectl apply` through B updates an object created
//! through A.

mod common;

use std::collections::BTreeMap;
use std::sync::mpsc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, PostParams};
use kube::runtime::watcher;
use serde_json::Value;

use common::{Apiary, Backend};

const NS: &str = "replicated";

fn configmap(name: &str, value: &str) -> ConfigMap {
    ConfigMap {
        metadata: kube::api::ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        data: Some(BTreeMap::from([("k".to_string(), value.to_string())])),
        ..Default::default()
    }
}

/// One change as (event type, name, resourceVersion).
type Change = (String, String, String);

/// `kubectl get -w --output-watch-events -o json` through `apiary`, parsed into changes.
fn kubectl_watch(apiary: &Apiary) -> (std::process::Child, mpsc::Receiver<Change>) {
    apiary.kubectl_watch(&["get", "configmaps", "-n", NS], |event| {
        let meta = &event["object"]["metadata"];
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        (
            text(&event["type"]),
            text(&meta["name"]),
            text(&meta["resourceVersion"]),
        )
    })
}

/// Receives changes until `name` shows up (the sentinel), returning nothing before it.
fn wait_for(rx: &mpsc::Receiver<Change>, name: &str) {
    loop {
        let (_, seen, _) = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("no event for {name}"));
        if seen == name {
            return;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writes_through_one_replica_are_watched_through_the_other() {
    let a = Apiary::start_on(Backend::Postgres);
    let b = a.start_replica();
    a.ok(&["create", "namespace", NS]);
    // B sees A's namespace at once: one store.
    b.ok(&["get", "namespace", NS]);

    // Watchers through B: kubectl and kube-rs.
    let (mut kubectl, kubectl_rx) = kubectl_watch(&b);
    let b_api: Api<ConfigMap> = Api::namespaced(b.client().await, NS);
    let (kube_tx, kube_rx) = mpsc::channel::<Change>();
    let kube_task = tokio::spawn(async move {
        let mut stream = std::pin::pin!(watcher(b_api, watcher::Config::default()));
        while let Some(event) = stream.next().await {
            let (kind, cm) = match event {
                Ok(watcher::Event::Apply(cm)) => ("APPLY", cm),
                Ok(watcher::Event::Delete(cm)) => ("DELETE", cm),
                Ok(_) => continue,
                Err(err) => panic!("kube-rs watcher through B failed: {err}"),
            };
            let change = (
                kind.to_string(),
                cm.metadata.name.unwrap_or_default(),
                cm.metadata.resource_version.unwrap_or_default(),
            );
            if kube_tx.send(change).is_err() {
                break;
            }
        }
    });

    // A sentinel written through A tells when both watchers are live.
    let a_api: Api<ConfigMap> = Api::namespaced(a.client().await, NS);
    a_api
        .create(&PostParams::default(), &configmap("sentinel", "0"))
        .await
        .expect("create sentinel");
    wait_for(&kubectl_rx, "sentinel");
    wait_for(&kube_rx, "sentinel");

    // Four concurrent writers through A: create, update every other one, delete every third.
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let api = a_api.clone();
            tokio::spawn(async move {
                let mut changes = Vec::new();
                for i in 0..10 {
                    let name = format!("cm-{w}-{i}");
                    let created = api
                        .create(&PostParams::default(), &configmap(&name, "1"))
                        .await
                        .expect("create through A");
                    let rv = created.metadata.resource_version.clone().expect("rv");
                    changes.push(("ADDED".to_string(), name.clone(), rv));
                    if i % 2 == 0 {
                        let mut changed = created;
                        changed.data = Some(BTreeMap::from([("k".into(), "2".into())]));
                        let replaced = api
                            .replace(&name, &PostParams::default(), &changed)
                            .await
                            .expect("replace through A");
                        let rv = replaced.metadata.resource_version.expect("rv");
                        changes.push(("MODIFIED".to_string(), name.clone(), rv));
                    }
                    if i % 3 == 0 {
                        api.delete(&name, &DeleteParams::default())
                            .await
                            .expect("delete through A");
                        // The DELETED event carries the deletion's own revision.
                        changes.push(("DELETED".to_string(), name.clone(), String::new()));
                    }
                }
                changes
            })
        })
        .collect();
    let mut expected: Vec<Change> = Vec::new();
    for writer in writers {
        expected.extend(writer.await.expect("writer"));
    }
    // A last sentinel closes the sequence.
    a_api
        .create(&PostParams::default(), &configmap("the-end", "0"))
        .await
        .expect("create end sentinel");

    let collect = |rx: &mpsc::Receiver<Change>| {
        let mut seen = Vec::new();
        loop {
            let change = rx
                .recv_timeout(Duration::from_secs(30))
                .expect("every change arrives through B");
            if change.1 == "the-end" {
                return seen;
            }
            seen.push(change);
        }
    };
    let through_kubectl = collect(&kubectl_rx);
    let through_kube_rs = collect(&kube_rx);
    let _ = kubectl.kill();
    let _ = kubectl.wait();
    kube_task.abort();

    for (who, seen) in [("kubectl", &through_kubectl), ("kube-rs", &through_kube_rs)] {
        assert_eq!(seen.len(), expected.len(), "{who} saw {seen:?}");
        // In revision order: resourceVersions strictly increase.
        let revisions: Vec<i64> = seen
            .iter()
            .map(|(_, _, rv)| rv.parse().expect("numeric resourceVersion"))
            .collect();
        assert!(
            revisions.windows(2).all(|w| w[0] < w[1]),
            "{who} events out of order: {seen:?}"
        );
    }
    // Exactly the changes A acknowledged, with A's resourceVersions (deletions have their own).
    let mut acknowledged: Vec<(String, String, String)> = expected
        .iter()
        .filter(|(kind, _, _)| kind != "DELETED")
        .cloned()
        .collect();
    acknowledged.sort();
    let mut from_kubectl: Vec<Change> = through_kubectl
        .iter()
        .filter(|(kind, _, _)| kind != "DELETED")
        .cloned()
        .collect();
    from_kubectl.sort();
    assert_eq!(from_kubectl, acknowledged);
    let mut deleted: Vec<&str> = expected
        .iter()
        .filter(|(kind, _, _)| kind == "DELETED")
        .map(|(_, name, _)| name.as_str())
        .collect();
    deleted.sort();
    let mut kubectl_deleted: Vec<&str> = through_kubectl
        .iter()
        .filter(|(kind, _, _)| kind == "DELETED")
        .map(|(_, name, _)| name.as_str())
        .collect();
    kubectl_deleted.sort();
    assert_eq!(kubectl_deleted, deleted);
    // kube-rs reports the same changes (ADDED and MODIFIED as Apply) with the same versions.
    let as_kubectl: Vec<(String, String)> = through_kubectl
        .iter()
        .map(|(kind, name, rv)| {
            let kind = if kind == "DELETED" { "DELETE" } else { "APPLY" };
            (format!("{kind} {name}"), rv.clone())
        })
        .collect();
    let as_kube_rs: Vec<(String, String)> = through_kube_rs
        .iter()
        .map(|(kind, name, rv)| (format!("{kind} {name}"), rv.clone()))
        .collect();
    assert_eq!(as_kube_rs, as_kubectl);
}

const DEPLOYMENT: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default, labels: {app: web}}
spec:
  replicas: REPLICAS
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: nginx, image: nginx}]}
"#;

#[test]
fn apply_through_one_replica_updates_what_the_other_created() {
    let a = Apiary::start_on(Backend::Postgres);
    let b = a.start_replica();
    assert_eq!(
        a.ok_stdin(&["apply", "-f", "-"], &DEPLOYMENT.replace("REPLICAS", "1"))
            .trim(),
        "deployment.apps/web created"
    );
    assert_eq!(
        b.ok_stdin(&["apply", "-f", "-"], &DEPLOYMENT.replace("REPLICAS", "3"))
            .trim(),
        "deployment.apps/web configured"
    );
    assert_eq!(
        a.ok(&["get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"]),
        "3"
    );
    // Both replicas serve the same resourceVersion.
    let rv = |apiary: &Apiary| {
        apiary.ok(&[
            "get",
            "deploy",
            "web",
            "-o",
            "jsonpath={.metadata.resourceVersion}",
        ])
    };
    assert_eq!(rv(&a), rv(&b));
}

/// Access control is shared through the database: a ServiceAccount token issued through one
/// replica is accepted by the other (replicas share `sa.key`, as they share the CA), a RoleBinding
/// written through one is enforced by the other once its watch delivers it, and deleting the
/// ServiceAccount through one revokes the token on the other.
#[test]
fn tokens_and_role_bindings_work_across_replicas() {
    let a = Apiary::start_on(Backend::Postgres);
    let b = a.start_replica();
    a.ok(&["create", "namespace", NS]);
    a.ok(&["create", "serviceaccount", "robot", "-n", NS]);
    let token = a.ok(&["create", "token", "robot", "-n", NS]);
    let robot_on_b = b.token_kubeconfig("robot", token.trim());

    let out = b.kubectl_with(
        &robot_on_b,
        &[
            "auth",
            "whoami",
            "-o",
            "jsonpath={.status.userInfo.username}",
        ],
    );
    assert_eq!(
        common::stdout(&out),
        format!("system:serviceaccount:{NS}:robot"),
        "{}",
        common::stderr(&out)
    );
    let out = b.kubectl_with(&robot_on_b, &["get", "configmaps", "-n", NS]);
    assert!(
        common::stderr(&out).contains(&format!(
            "User \"system:serviceaccount:{NS}:robot\" cannot list resource \"configmaps\""
        )),
        "{}",
        common::stderr(&out)
    );

    a.ok(&[
        "create",
        "rolebinding",
        "robot-view",
        "--clusterrole=view",
        &format!("--serviceaccount={NS}:robot"),
        "-n",
        NS,
    ]);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let out = b.kubectl_with(&robot_on_b, &["get", "configmaps", "-n", NS]);
        if out.status.success() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the binding made through A never took effect on B: {}",
            common::stderr(&out)
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    a.ok(&["delete", "serviceaccount", "robot", "-n", NS]);
    let out = b.kubectl_with(&robot_on_b, &["get", "configmaps", "-n", NS]);
    assert!(
        common::stderr(&out).contains("error: You must be logged in to the server (Unauthorized)"),
        "{}",
        common::stderr(&out)
    );
}

/// A CRD created through one replica is served by the other once its CRD controller sees it, and
/// deleting it through that other replica removes the custom resources and the paths on both.
#[test]
fn crds_are_served_by_every_replica() {
    let a = Apiary::start_on(Backend::Postgres);
    let b = a.start_replica();
    a.ok_stdin(
        &["apply", "-f", "-"],
        include_str!("fixtures/crontabs.crd.yaml"),
    );
    b.ok(&[
        "wait",
        "--for=condition=Established",
        "--timeout=10s",
        "crd/crontabs.stable.example.com",
    ]);
    let mut served = false;
    for _ in 0..100 {
        if b.kubectl(&["get", "crontabs"]).status.success() {
            served = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(served, "replica B serves the CRD created through A");
    let crontab = "apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata:\n  name: shared\nspec:\n  cronSpec: \"* * * * *\"\n  replicas: 1\n";
    assert_eq!(
        b.ok_stdin(&["create", "-f", "-"], crontab).trim(),
        "crontab.stable.example.com/shared created"
    );
    assert_eq!(
        a.ok(&["get", "ct", "shared", "-o", "jsonpath={.spec.image}"]),
        "nginx",
        "defaulted through B, read through A"
    );
    b.ok(&[
        "delete",
        "crd",
        "crontabs.stable.example.com",
        "--timeout=20s",
    ]);
    for apiary in [&a, &b] {
        let mut gone = false;
        for _ in 0..100 {
            let out = apiary.kubectl(&["get", "--raw", "/apis/stable.example.com/v1/crontabs"]);
            if common::stderr(&out).contains("the server could not find the requested resource") {
                gone = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(gone, "the CRD's paths are gone on every replica");
    }
}
