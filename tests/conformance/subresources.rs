//! See main.rs. Subresources listed in discovery are served as kube-apiserver 1.33 serves them
//! (issue 17): `pods/ephemeralcontainers` and `pods/resize` (`pkg/registry/core/pod/strategy.go`
//! `podEphemeralContainersStrategy`, `podResizeStrategy`), `namespaces/finalize`
//! (`pkg/registry/core/namespace/storage` FinalizeREST).

use crate::common::Apiary;

const POD: &str = "apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web}
spec:
  containers:
  - name: c
    image: nginx:1.27
    resources:
      requests: {cpu: 100m, memory: 100Mi}
      limits: {cpu: 200m, memory: 200Mi}
";

fn with_pod() -> Apiary {
    let apiary = Apiary::start();
    apiary.ok_stdin(&["create", "-f", "-"], POD);
    apiary
}

/// What `kubectl debug` writes: a strategic merge patch of `pods/ephemeralcontainers`.
#[test]
fn kubectl_debug_adds_an_ephemeral_container() {
    let apiary = with_pod();
    apiary.ok(&[
        "debug",
        "web",
        "--image=busybox",
        "--attach=false",
        "-c",
        "dbg",
        "--",
        "sleep",
        "1d",
    ]);
    let got = apiary.ok(&[
        "get",
        "pod",
        "web",
        "-o",
        "jsonpath={.spec.ephemeralContainers[*].name} {.spec.ephemeralContainers[0].imagePullPolicy} {.spec.ephemeralContainers[0].terminationMessagePolicy}",
    ]);
    assert_eq!(got, "dbg Always File");
    // The subresource's GET answers the pod.
    let raw = apiary.ok(&[
        "get",
        "--raw",
        "/api/v1/namespaces/default/pods/web/ephemeralcontainers",
    ]);
    assert!(
        raw.contains("\"kind\":\"Pod\"") && raw.contains("\"dbg\""),
        "{raw}"
    );
}

#[test]
fn ephemeral_containers_follow_upstreams_rules() {
    let apiary = with_pod();
    let add = r#"{"metadata":{"labels":{"sneaky":"yes"}},"spec":{"containers":[{"name":"c","image":"nginx:2"}],"ephemeralContainers":[{"name":"dbg","image":"busybox","stdin":true,"tty":true}]}}"#;
    apiary.ok(&[
        "patch",
        "pod",
        "web",
        "--subresource=ephemeralcontainers",
        "-p",
        add,
    ]);
    let got = apiary.ok(&[
        "get",
        "pod",
        "web",
        "-o",
        "jsonpath={.metadata.labels} {.spec.containers[0].image} {.spec.ephemeralContainers[0].name}",
    ]);
    assert_eq!(
        got, r#"{"app":"web"} nginx:1.27 dbg"#,
        "only spec.ephemeralContainers changes"
    );

    let removed = apiary.fails(&[
        "patch",
        "pod",
        "web",
        "--subresource=ephemeralcontainers",
        "--type=json",
        "-p",
        r#"[{"op":"remove","path":"/spec/ephemeralContainers/0"}]"#,
    ]);
    assert!(
        removed.contains(r#"The Pod "web" is invalid: spec.ephemeralContainers: Forbidden: existing ephemeral containers "dbg" may not be removed"#),
        "{removed}"
    );
    let changed = apiary.fails(&[
        "patch",
        "pod",
        "web",
        "--subresource=ephemeralcontainers",
        "--type=json",
        "-p",
        r#"[{"op":"replace","path":"/spec/ephemeralContainers/0/image","value":"alpine"}]"#,
    ]);
    assert!(
        changed.contains(r#"spec.ephemeralContainers.dbg: Forbidden: existing ephemeral containers "dbg" may not be changed"#),
        "{changed}"
    );
    let bad = apiary.fails(&[
        "patch",
        "pod",
        "web",
        "--subresource=ephemeralcontainers",
        "-p",
        r#"{"spec":{"ephemeralContainers":[{"name":"c","image":"busybox","ports":[{"containerPort":80}],"targetContainerName":"nope"}]}}"#,
    ]);
    // A strategic merge patch puts new list items first, as upstream's.
    for want in [
        r#"spec.ephemeralContainers[0].name: Duplicate value: "c""#,
        r#"spec.ephemeralContainers[0].targetContainerName: Not found: "nope""#,
        "spec.ephemeralContainers[0].ports: Forbidden: cannot be set for an Ephemeral Container",
    ] {
        assert!(bad.contains(want), "{want} in {bad}");
    }
    // The main resource still refuses them.
    let main = apiary.fails(&[
        "patch",
        "pod",
        "web",
        "-p",
        r#"{"spec":{"ephemeralContainers":[{"name":"dbg2","image":"busybox"}]}}"#,
    ]);
    assert!(
        main.contains("pod updates may not change fields other than"),
        "{main}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn kube_rs_patches_ephemeral_containers() {
    use k8s_openapi::api::core::v1::Pod;
    use kube::api::{Api, Patch, PatchParams};
    let apiary = with_pod();
    let pods: Api<Pod> = Api::namespaced(apiary.client().await, "default");
    let patch = serde_json::json!({"spec": {"ephemeralContainers": [
        {"name": "dbg", "image": "busybox", "command": ["sh"]}
    ]}});
    let pod = pods
        .patch_ephemeral_containers("web", &PatchParams::default(), &Patch::Strategic(patch))
        .await
        .expect("patch ephemeralcontainers");
    let ephemeral = pod.spec.unwrap().ephemeral_containers.unwrap();
    assert_eq!(ephemeral[0].name, "dbg");
    let got = pods.get_ephemeral_containers("web").await.expect("get");
    assert_eq!(got.spec.unwrap().ephemeral_containers.unwrap().len(), 1);
}

#[test]
fn resize_changes_only_container_resources() {
    let apiary = with_pod();
    apiary.ok(&[
        "patch",
        "pod",
        "web",
        "--subresource=resize",
        "-p",
        r#"{"metadata":{"labels":{"sneaky":"yes"}},"spec":{"activeDeadlineSeconds":5,"containers":[{"name":"c","image":"nginx:2","resources":{"requests":{"cpu":"150m"}}}]}}"#,
    ]);
    let got = apiary.ok(&[
        "get",
        "pod",
        "web",
        "-o",
        "jsonpath={.spec.containers[0].resources.requests.cpu} {.spec.containers[0].image} {.metadata.labels} {.spec.activeDeadlineSeconds} {.status.qosClass}",
    ]);
    assert_eq!(got, r#"150m nginx:1.27 {"app":"web"}  Burstable"#);

    let qos = apiary.fails(&[
        "patch",
        "pod",
        "web",
        "--subresource=resize",
        "-p",
        r#"{"spec":{"containers":[{"name":"c","resources":{"requests":{"cpu":"200m","memory":"200Mi"}}}]}}"#,
    ]);
    assert!(
        qos.contains(r#"The Pod "web" is invalid: spec: Invalid value: "Burstable": Pod QOS Class may not change as a result of resizing"#),
        "{qos}"
    );
    let removed = apiary.fails(&[
        "patch",
        "pod",
        "web",
        "--subresource=resize",
        "--type=json",
        "-p",
        r#"[{"op":"remove","path":"/spec/containers/0/resources/limits"}]"#,
    ]);
    assert!(
        removed.contains(
            "spec.containers[0].resources.limits: Forbidden: resource limits cannot be removed"
        ),
        "{removed}"
    );
    let other = apiary.fails(&[
        "patch",
        "pod",
        "web",
        "--subresource=resize",
        "-p",
        r#"{"spec":{"containers":[{"name":"c","resources":{"requests":{"ephemeral-storage":"1Gi"}}}]}}"#,
    ]);
    assert!(
        other.contains("spec: Forbidden: only cpu and memory resources are mutable"),
        "{other}"
    );
    let raw = apiary.ok(&["get", "--raw", "/api/v1/namespaces/default/pods/web/resize"]);
    assert!(raw.contains("\"150m\""), "{raw}");
}

#[test]
fn finalize_changes_only_spec_finalizers() {
    let apiary = Apiary::start();
    apiary.ok(&["create", "namespace", "held"]);
    let put = |finalizers: &str| {
        let body = format!(
            r#"{{"apiVersion":"v1","kind":"Namespace","metadata":{{"name":"held","labels":{{"sneaky":"yes"}}}},"spec":{{"finalizers":{finalizers}}}}}"#
        );
        apiary.ok_stdin(
            &[
                "replace",
                "--raw",
                "/api/v1/namespaces/held/finalize",
                "-f",
                "-",
            ],
            &body,
        )
    };
    let out = put(r#"["kubernetes","example.com/hold"]"#);
    assert!(out.contains("example.com/hold"), "{out}");
    let labels = apiary.ok(&["get", "ns", "held", "-o", "jsonpath={.metadata.labels}"]);
    assert!(!labels.contains("sneaky"), "{labels}");
    apiary.ok(&["delete", "ns", "held", "--wait=false"]);
    // The namespace controller removes `kubernetes`; the other finalizer keeps it terminating.
    let mut spec = String::new();
    for _ in 0..100 {
        spec = apiary.ok(&[
            "get",
            "ns",
            "held",
            "-o",
            "jsonpath={.spec.finalizers} {.status.phase}",
        ]);
        if spec == r#"["example.com/hold"] Terminating"# {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(spec, r#"["example.com/hold"] Terminating"#);
    put("[]");
    for _ in 0..100 {
        let out = apiary.kubectl(&["get", "ns", "held"]);
        if !out.status.success() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("the namespace stayed after its finalizers were removed");
}

fn evict(apiary: &Apiary, pod: &str, version: &str) -> std::process::Output {
    let body = format!(
        r#"{{"apiVersion":"policy/{version}","kind":"Eviction","metadata":{{"name":"{pod}"}}}}"#
    );
    apiary.kubectl_with_stdin(
        &[
            "create",
            "--raw",
            &format!("/api/v1/namespaces/default/pods/{pod}/eviction"),
            "-f",
            "-",
        ],
        Some(&body),
    )
}

/// A running, ready pod (Apiary has no kubelet to report it) and a budget selecting it whose
/// status (written by upstream's disruption controller, which Apiary does not run) is `status`.
fn running_pod_with_budget(apiary: &Apiary, status: &str) {
    apiary.ok(&[
        "patch",
        "pod",
        "web",
        "--subresource=status",
        "-p",
        r#"{"status":{"phase":"Running","conditions":[{"type":"Ready","status":"True"}]}}"#,
    ]);
    apiary.ok_stdin(
        &["create", "-f", "-"],
        "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: pdb}\nspec:\n  minAvailable: 1\n  selector: {matchLabels: {app: web}}\n",
    );
    apiary.ok(&[
        "patch",
        "pdb",
        "pdb",
        "--subresource=status",
        "--type=merge",
        "-p",
        status,
    ]);
}

#[test]
fn eviction_without_a_budget_deletes_the_pod() {
    let apiary = with_pod();
    let out = evict(&apiary, "web", "v1");
    assert!(out.status.success(), "{}", crate::common::stderr(&out));
    let body: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("a Status answers the eviction");
    assert_eq!(
        body,
        serde_json::json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"})
    );
    assert!(!apiary.kubectl(&["get", "pod", "web"]).status.success());
    // policy/v1beta1 Evictions too; a pod that does not exist is a 404.
    apiary.ok_stdin(&["create", "-f", "-"], POD);
    let beta = evict(&apiary, "web", "v1beta1");
    assert!(beta.status.success(), "{}", crate::common::stderr(&beta));
    let missing = evict(&apiary, "web", "v1");
    assert!(
        crate::common::stderr(&missing).contains(r#"pods "web" not found"#),
        "{}",
        crate::common::stderr(&missing)
    );
    let mismatch = apiary.kubectl_with_stdin(
        &[
            "create",
            "--raw",
            "/api/v1/namespaces/default/pods/other/eviction",
            "-f",
            "-",
        ],
        Some(r#"{"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":"web"}}"#),
    );
    assert!(
        crate::common::stderr(&mismatch)
            .contains("name in URL does not match name in Eviction object"),
        "{}",
        crate::common::stderr(&mismatch)
    );
}

#[test]
fn a_budget_without_allowed_disruptions_refuses_with_429() {
    let apiary = with_pod();
    running_pod_with_budget(
        &apiary,
        r#"{"status":{"observedGeneration":1,"disruptionsAllowed":0,"currentHealthy":1,"desiredHealthy":1,"expectedPods":1}}"#,
    );
    let out = evict(&apiary, "web", "v1");
    let err = crate::common::stderr(&out);
    assert!(
        err.contains("Error from server (TooManyRequests): Cannot evict pod as it would violate the pod's disruption budget."),
        "{err}"
    );
    apiary.ok(&["get", "pod", "web"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_429_carries_the_disruption_budget_cause() {
    use k8s_openapi::api::core::v1::Pod;
    use kube::api::{Api, EvictParams};
    let apiary = with_pod();
    // The budget's status has not caught up with its generation yet.
    running_pod_with_budget(&apiary, r#"{"status":{"observedGeneration":0}}"#);
    let pods: Api<Pod> = Api::namespaced(apiary.client_without_retries().await, "default");
    let Err(kube::Error::Api(status)) = pods.evict("web", &EvictParams::default()).await else {
        panic!("the eviction is refused");
    };
    assert_eq!(status.code, 429);
    assert_eq!(status.reason, "TooManyRequests");
    assert_eq!(
        status.message,
        "Cannot evict pod as it would violate the pod's disruption budget."
    );
    let cause = &status.details.expect("details").causes[0];
    assert_eq!(cause.reason, "DisruptionBudget");
    assert_eq!(
        cause.message,
        "The disruption budget pdb is still being processed by the server."
    );
}

#[test]
fn an_allowed_disruption_is_taken_from_the_budget() {
    let apiary = with_pod();
    running_pod_with_budget(
        &apiary,
        r#"{"status":{"observedGeneration":1,"disruptionsAllowed":1,"currentHealthy":2,"desiredHealthy":1,"expectedPods":2}}"#,
    );
    let out = evict(&apiary, "web", "v1");
    assert!(out.status.success(), "{}", crate::common::stderr(&out));
    let pdb = apiary.ok(&[
        "get",
        "pdb",
        "pdb",
        "-o",
        "jsonpath={.status.disruptionsAllowed} {.status.disruptedPods.web} {.status.conditions[0].type} {.status.conditions[0].status} {.status.conditions[0].reason}",
    ]);
    let parts: Vec<&str> = pdb.split(' ').collect();
    assert_eq!(parts[0], "0", "{pdb}");
    assert!(
        parts[1].ends_with('Z'),
        "the pod is recorded as disrupted: {pdb}"
    );
    assert_eq!(
        &parts[2..],
        ["DisruptionAllowed", "False", "InsufficientPods"]
    );
    // The pod is not bound to a node: its delete takes no grace period.
    assert!(!apiary.kubectl(&["get", "pod", "web"]).status.success());
}

#[test]
fn connect_subresources_of_a_pod_without_a_node() {
    let apiary = with_pod();
    // The log of a pod no node runs is empty (upstream streams nothing: 204).
    assert_eq!(apiary.ok(&["logs", "web"]), "");
    assert_eq!(apiary.ok(&["logs", "web", "-c", "c", "--tail=5"]), "");
    let invalid = apiary.fails(&[
        "get",
        "--raw",
        "/api/v1/namespaces/default/pods/web/log?tailLines=-2&limitBytes=0",
    ]);
    // kubectl lists a 422's causes one per line.
    assert!(
        invalid.contains(
            "The PodLogOptions \"web\" is invalid: \n* tailLines: Invalid value: -2: must be greater than or equal to 0\n* limitBytes: Invalid value: 0: must be greater than 0"
        ),
        "{invalid}"
    );
    let wrong = apiary.fails(&["logs", "web", "-c", "nope"]);
    assert!(
        wrong.contains("container nope is not valid for pod web"),
        "{wrong}"
    );
    for args in [&["exec", "web", "--", "ls"][..], &["attach", "web"][..]] {
        let err = apiary.fails(args);
        assert!(
            err.contains("pod web does not have a host assigned"),
            "{args:?}: {err}"
        );
    }
    // kubectl port-forward checks the pod's phase itself before it asks the server.
    let err = apiary.fails(&["port-forward", "pod/web", "18080:80"]);
    assert!(
        err.contains("unable to forward port because pod is not running. Current status=Pending"),
        "{err}"
    );
    let raw = apiary.kubectl(&[
        "create",
        "--raw",
        "/api/v1/namespaces/default/pods/web/exec?command=ls&stdout=true",
        "-f",
        "-",
    ]);
    let err = crate::common::stderr(&raw);
    assert!(
        err.contains("Error from server (BadRequest): pod web does not have a host assigned"),
        "{err}"
    );
}

#[test]
fn connect_subresources_need_the_pods_node() {
    let apiary = with_pod();
    apiary.ok_stdin(
        &[
            "create",
            "--raw",
            "/api/v1/namespaces/default/pods/web/binding",
            "-f",
            "-",
        ],
        r#"{"apiVersion":"v1","kind":"Binding","metadata":{"name":"web"},"target":{"kind":"Node","name":"n1"}}"#,
    );
    let missing = apiary.fails(&["logs", "web"]);
    assert!(
        missing.contains(r#"Error from server (NotFound): nodes "n1" not found"#),
        "{missing}"
    );
    apiary.ok_stdin(
        &["create", "-f", "-"],
        "apiVersion: v1\nkind: Node\nmetadata: {name: n1}\n",
    );
    let no_address = apiary.fails(&["logs", "web"]);
    assert!(
        no_address.contains("no preferred addresses found; known addresses: []"),
        "{no_address}"
    );
}
