//! ResourceQuota admission and the resource quota controller, through kubectl: upstream's
//! messages for exhausted quotas and missing requests, replenishment after deletes as
//! `kubectl describe quota` shows it, compute, storage and scoped quotas, custom resources, dry
//! runs, and two replicas on one PostgreSQL creating at once.

use std::time::{Duration, Instant};

use crate::common::{Apiary, Backend};

/// Retries `check` for up to 20 s.
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until the quota's `status.used[resource]` is `value`.
fn wait_used(a: &Apiary, namespace: &str, quota: &str, resource: &str, value: &str) {
    let path = format!("jsonpath={{.status.used.{}}}", resource.replace('.', "\\."));
    eventually(&format!("{quota} used {resource}={value}"), || {
        let out = a.kubectl(&["get", "quota", quota, "-n", namespace, "-o", &path]);
        String::from_utf8_lossy(&out.stdout) == value
    });
}

/// The `Resource Used Hard` rows of `kubectl describe quota`.
fn described(a: &Apiary, namespace: &str, quota: &str) -> Vec<Vec<String>> {
    let out = a.ok(&["describe", "quota", quota, "-n", namespace]);
    out.lines()
        .skip_while(|l| !l.starts_with("Resource"))
        .skip(2)
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

fn row(resource: &str, used: &str, hard: &str) -> Vec<String> {
    vec![resource.into(), used.into(), hard.into()]
}

fn apply(a: &Apiary, yaml: &str) -> String {
    a.ok_stdin(&["apply", "-f", "-"], yaml)
}

fn apply_fails(a: &Apiary, yaml: &str) -> String {
    let out = a.kubectl_with_stdin(&["apply", "-f", "-"], Some(yaml));
    assert!(!out.status.success(), "apply unexpectedly succeeded");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn pod(name: &str, resources: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n  containers:\n  - name: c\n    image: nginx\n{resources}"
    )
}

const OBJECT_COUNTS: &str = "apiVersion: v1
kind: ResourceQuota
metadata:
  name: object-counts
spec:
  hard:
    pods: \"2\"
    count/secrets: \"1\"
    services.nodeports: \"1\"
";

#[test]
fn exhausted_quota_refuses_with_upstreams_message_and_is_replenished_after_deletes() {
    let a = Apiary::start();
    apply(&a, OBJECT_COUNTS);
    wait_used(&a, "default", "object-counts", "pods", "0");
    assert_eq!(
        described(&a, "default", "object-counts"),
        vec![
            row("count/secrets", "0", "1"),
            row("pods", "0", "2"),
            row("services.nodeports", "0", "1"),
        ]
    );
    apply(&a, &pod("p1", ""));
    apply(&a, &pod("p2", ""));
    let err = apply_fails(&a, &pod("p3", ""));
    assert!(
        err.contains("pods \"p3\" is forbidden: exceeded quota: object-counts, requested: pods=1, used: pods=2, limited: pods=2"),
        "{err}"
    );
    a.ok(&["create", "secret", "generic", "s1", "--from-literal=a=b"]);
    let err = a.fails(&["create", "secret", "generic", "s2", "--from-literal=a=b"]);
    assert!(
        err.contains("secrets \"s2\" is forbidden: exceeded quota: object-counts, requested: count/secrets=1, used: count/secrets=1, limited: count/secrets=1"),
        "{err}"
    );
    let err = a.fails(&["create", "service", "nodeport", "np", "--tcp=80:80,443:443"]);
    assert!(
        err.contains("services \"np\" is forbidden: exceeded quota: object-counts, requested: services.nodeports=2, used: services.nodeports=0, limited: services.nodeports=1"),
        "{err}"
    );
    // Dry runs are checked but not charged.
    let err = a.fails(&["run", "p4", "--image=nginx", "--dry-run=server"]);
    assert!(err.contains("exceeded quota: object-counts"), "{err}");
    assert_eq!(
        described(&a, "default", "object-counts"),
        vec![
            row("count/secrets", "1", "1"),
            row("pods", "2", "2"),
            row("services.nodeports", "0", "1"),
        ]
    );
    // Deletes give the quota back (the controller recounts).
    a.ok(&["delete", "pod", "p1", "--grace-period=0", "--force"]);
    a.ok(&["delete", "secret", "s1"]);
    wait_used(&a, "default", "object-counts", "pods", "1");
    wait_used(&a, "default", "object-counts", "count/secrets", "0");
    assert_eq!(
        described(&a, "default", "object-counts"),
        vec![
            row("count/secrets", "0", "1"),
            row("pods", "1", "2"),
            row("services.nodeports", "0", "1"),
        ]
    );
    apply(&a, &pod("p3", ""));
    a.ok(&["create", "secret", "generic", "s2", "--from-literal=a=b"]);
    // A raised limit is taken into status.hard.
    apply(&a, &OBJECT_COUNTS.replace("pods: \"2\"", "pods: \"3\""));
    eventually("hard raised", || {
        described(&a, "default", "object-counts").contains(&row("pods", "2", "3"))
    });
    apply(&a, &pod("p4", ""));
}

#[test]
fn compute_quota_needs_requests_and_limits_and_sums_them() {
    let a = Apiary::start();
    apply(
        &a,
        "apiVersion: v1
kind: ResourceQuota
metadata:
  name: compute
spec:
  hard:
    requests.cpu: \"1\"
    requests.memory: 1Gi
    limits.memory: 2Gi
    requests.example.com/gpu: \"1\"
",
    );
    wait_used(&a, "default", "compute", "requests.cpu", "0");
    let err = apply_fails(&a, &pod("bare", ""));
    assert!(
        err.contains("pods \"bare\" is forbidden: failed quota: compute: must specify limits.memory,requests.cpu,requests.memory"),
        "{err}"
    );
    let sized = |name: &str, cpu: &str| {
        pod(
            name,
            &format!("    resources:\n      requests:\n        cpu: {cpu}\n        memory: 256Mi\n        example.com/gpu: \"1\"\n      limits:\n        memory: 512Mi\n        example.com/gpu: \"1\"\n"),
        )
    };
    apply(&a, &sized("small", "600m"));
    wait_used(&a, "default", "compute", "requests.cpu", "600m");
    let err = apply_fails(&a, &sized("big", "500m"));
    assert!(
        err.contains("pods \"big\" is forbidden: exceeded quota: compute, requested: requests.cpu=500m,requests.example.com/gpu=1, used: requests.cpu=600m,requests.example.com/gpu=1, limited: requests.cpu=1,requests.example.com/gpu=1"),
        "{err}"
    );
    assert_eq!(
        described(&a, "default", "compute"),
        vec![
            row("limits.memory", "512Mi", "2Gi"),
            row("requests.cpu", "600m", "1"),
            row("requests.example.com/gpu", "1", "1"),
            row("requests.memory", "256Mi", "1Gi"),
        ]
    );
}

#[test]
fn storage_quota_counts_claims_per_storage_class() {
    let a = Apiary::start();
    apply(
        &a,
        "apiVersion: v1
kind: ResourceQuota
metadata:
  name: storage
spec:
  hard:
    requests.storage: 3Gi
    persistentvolumeclaims: \"5\"
    gold.storageclass.storage.k8s.io/persistentvolumeclaims: \"1\"
",
    );
    wait_used(&a, "default", "storage", "requests.storage", "0");
    let claim = |name: &str, class: &str, size: &str| {
        format!(
            "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: {name}\nspec:\n  storageClassName: {class}\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: {size}\n"
        )
    };
    apply(&a, &claim("c1", "gold", "1Gi"));
    let err = apply_fails(&a, &claim("c2", "gold", "1Gi"));
    assert!(
        err.contains("persistentvolumeclaims \"c2\" is forbidden: exceeded quota: storage, requested: gold.storageclass.storage.k8s.io/persistentvolumeclaims=1, used: gold.storageclass.storage.k8s.io/persistentvolumeclaims=1, limited: gold.storageclass.storage.k8s.io/persistentvolumeclaims=1"),
        "{err}"
    );
    let err = apply_fails(&a, &claim("c3", "silver", "3Gi"));
    assert!(
        err.contains("exceeded quota: storage, requested: requests.storage=3Gi, used: requests.storage=1Gi, limited: requests.storage=3Gi"),
        "{err}"
    );
    apply(&a, &claim("c3", "silver", "2Gi"));
    assert_eq!(
        described(&a, "default", "storage"),
        vec![
            row(
                "gold.storageclass.storage.k8s.io/persistentvolumeclaims",
                "1",
                "1"
            ),
            row("persistentvolumeclaims", "2", "5"),
            row("requests.storage", "3Gi", "3Gi"),
        ]
    );
    a.ok(&["delete", "pvc", "c1", "--timeout=60s"]);
    wait_used(&a, "default", "storage", "requests.storage", "2Gi");
    apply(&a, &claim("c2", "gold", "1Gi"));
}

#[test]
fn scoped_quotas_count_only_the_pods_they_select() {
    let a = Apiary::start();
    a.ok(&["create", "priorityclass", "high", "--value=1000"]);
    apply(
        &a,
        "apiVersion: v1
kind: ResourceQuota
metadata:
  name: best-effort
spec:
  hard:
    pods: \"1\"
  scopes: [BestEffort]
---
apiVersion: v1
kind: ResourceQuota
metadata:
  name: high
spec:
  hard:
    pods: \"1\"
  scopeSelector:
    matchExpressions:
    - scopeName: PriorityClass
      operator: In
      values: [high]
",
    );
    wait_used(&a, "default", "best-effort", "pods", "0");
    wait_used(&a, "default", "high", "pods", "0");
    let burstable = "    resources:\n      requests:\n        cpu: 100m\n";
    apply(&a, &pod("be1", ""));
    let err = apply_fails(&a, &pod("be2", ""));
    assert!(
        err.contains(
            "exceeded quota: best-effort, requested: pods=1, used: pods=1, limited: pods=1"
        ),
        "{err}"
    );
    // Not BestEffort, no class: neither quota counts it.
    apply(&a, &pod("b1", burstable));
    apply(&a, &pod("b2", burstable));
    let high =
        |name: &str| pod(name, burstable).replace("spec:\n", "spec:\n  priorityClassName: high\n");
    apply(&a, &high("h1"));
    let err = apply_fails(&a, &high("h2"));
    assert!(
        err.contains("exceeded quota: high, requested: pods=1, used: pods=1, limited: pods=1"),
        "{err}"
    );
    assert_eq!(
        described(&a, "default", "high"),
        vec![row("pods", "1", "1")]
    );
    assert_eq!(
        described(&a, "default", "best-effort"),
        vec![row("pods", "1", "1")]
    );
}

#[test]
fn custom_resources_are_counted() {
    let a = Apiary::start();
    apply(
        &a,
        "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
",
    );
    eventually("widgets served", || {
        a.kubectl(&["get", "widgets"]).status.success()
    });
    apply(
        &a,
        "apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: widgets\nspec:\n  hard:\n    count/widgets.example.com: \"1\"\n",
    );
    wait_used(&a, "default", "widgets", "count/widgets.example.com", "0");
    let widget = |name: &str| {
        format!("apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: {name}\n")
    };
    apply(&a, &widget("w1"));
    let err = apply_fails(&a, &widget("w2"));
    assert!(
        err.contains("widgets.example.com \"w2\" is forbidden: exceeded quota: widgets, requested: count/widgets.example.com=1, used: count/widgets.example.com=1, limited: count/widgets.example.com=1"),
        "{err}"
    );
    a.ok(&["delete", "widget", "w1"]);
    wait_used(&a, "default", "widgets", "count/widgets.example.com", "0");
    apply(&a, &widget("w2"));
}

#[test]
fn two_replicas_on_postgres_never_admit_more_than_the_quota() {
    let a = Apiary::start_on(Backend::Postgres);
    let b = a.start_replica();
    a.ok(&["create", "namespace", "race"]);
    apply(
        &a,
        "apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: secrets\n  namespace: race\nspec:\n  hard:\n    count/secrets: \"7\"\n",
    );
    wait_used(&a, "race", "secrets", "count/secrets", "0");
    wait_used(&b, "race", "secrets", "count/secrets", "0");
    let admitted = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for writer in 0..4 {
            let replica = if writer % 2 == 0 { &a } else { &b };
            let admitted = &admitted;
            scope.spawn(move || {
                for i in 0..5 {
                    let name = format!("s-{writer}-{i}");
                    let out = replica.kubectl(&[
                        "create",
                        "secret",
                        "generic",
                        &name,
                        "-n",
                        "race",
                        "--from-literal=a=b",
                    ]);
                    if out.status.success() {
                        admitted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    } else {
                        let err = String::from_utf8_lossy(&out.stderr);
                        assert!(err.contains("exceeded quota: secrets"), "{err}");
                    }
                }
            });
        }
    });
    let admitted = admitted.into_inner();
    let stored = a.ok(&["get", "secrets", "-n", "race", "-o", "name"]);
    assert_eq!(stored.lines().count(), admitted);
    assert_eq!(admitted, 7, "the quota admits exactly its limit");
    wait_used(&b, "race", "secrets", "count/secrets", "7");
}
