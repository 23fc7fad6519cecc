//! LimitRanger, RuntimeClass, DefaultStorageClass, DefaultIngressClass,
//! StorageObjectInUseProtection and PersistentVolumeClaimResize through kubectl, with upstream's
//! messages as kubectl prints them.

use crate::common::{stderr, Apiary};

/// `kubectl create -f -` of `yaml`, which must fail; its stderr.
fn create_fails(apiary: &Apiary, yaml: &str) -> String {
    let out = apiary.kubectl_with_stdin(&["create", "-f", "-"], Some(yaml));
    assert!(
        !out.status.success(),
        "create unexpectedly succeeded: {yaml}"
    );
    stderr(&out)
}

fn create(apiary: &Apiary, yaml: &str) {
    apiary.ok_stdin(&["create", "-f", "-"], yaml);
}

fn pod(name: &str, spec_extra: &str, resources: &str) -> String {
    format!(
        "apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
{spec_extra}  containers:
  - name: app
    image: nginx
{resources}"
    )
}

fn claim(name: &str, size: &str, class: Option<&str>) -> String {
    let class = class.map_or(String::new(), |c| format!("  storageClassName: {c}\n"));
    format!(
        "apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: {name}
spec:
{class}  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: {size}
"
    )
}

const LIMIT_RANGE: &str = "apiVersion: v1
kind: LimitRange
metadata:
  name: limits
spec:
  limits:
  - type: Container
    default: {cpu: 500m, memory: 256Mi}
    defaultRequest: {cpu: 100m, memory: 128Mi}
    max: {cpu: '2'}
    min: {cpu: 50m}
  - type: PersistentVolumeClaim
    min: {storage: 1Gi}
    max: {storage: 5Gi}
";

#[test]
fn limit_ranges_default_and_bound_pods_and_claims() {
    let a = Apiary::start();
    create(&a, LIMIT_RANGE);

    create(&a, &pod("plain", "", ""));
    let yaml = a.ok(&["get", "pod", "plain", "-o", "yaml"]);
    for line in ["cpu: 100m", "memory: 128Mi", "cpu: 500m", "memory: 256Mi"] {
        assert!(yaml.contains(line), "{line} missing in:\n{yaml}");
    }
    let annotation = a.ok(&[
        "get",
        "pod",
        "plain",
        "-o",
        "jsonpath={.metadata.annotations.kubernetes\\.io/limit-ranger}",
    ]);
    assert_eq!(
        annotation,
        "LimitRanger plugin set: cpu, memory request for container app; cpu, memory limit for container app"
    );
    let resources = a.ok(&[
        "get",
        "pod",
        "plain",
        "-o",
        "jsonpath={.spec.containers[0].resources}",
    ]);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&resources).unwrap(),
        serde_json::json!({"limits": {"cpu": "500m", "memory": "256Mi"}, "requests": {"cpu": "100m", "memory": "128Mi"}})
    );
    // The QoS class is computed after admission, from the requests LimitRanger set.
    assert_eq!(
        a.ok(&["get", "pod", "plain", "-o", "jsonpath={.status.qosClass}"]),
        "Burstable"
    );

    let too_big = pod("big", "", "    resources:\n      limits: {cpu: '3'}\n");
    assert_eq!(
        create_fails(&a, &too_big).trim(),
        "Error from server (Forbidden): error when creating \"STDIN\": pods \"big\" is forbidden: maximum cpu usage per Container is 2, but limit is 3"
    );
    let both = pod(
        "both",
        "",
        "    resources:\n      requests: {cpu: 10m}\n      limits: {cpu: '3'}\n",
    );
    assert_eq!(
        create_fails(&a, &both).trim(),
        "Error from server (Forbidden): error when creating \"STDIN\": pods \"both\" is forbidden: [minimum cpu usage per Container is 50m, but request is 10m, maximum cpu usage per Container is 2, but limit is 3]"
    );
    a.fails(&["get", "pod", "big"]);

    create(&a, &claim("fits", "2Gi", Some("")));
    assert_eq!(
        create_fails(&a, &claim("huge", "10Gi", Some(""))).trim(),
        "Error from server (Forbidden): error when creating \"STDIN\": persistentvolumeclaims \"huge\" is forbidden: maximum storage usage per PersistentVolumeClaim is 5Gi, but request is 10Gi"
    );
    assert_eq!(
        create_fails(&a, &claim("tiny", "100Mi", Some(""))).trim(),
        "Error from server (Forbidden): error when creating \"STDIN\": persistentvolumeclaims \"tiny\" is forbidden: minimum storage usage per PersistentVolumeClaim is 1Gi, but request is 100Mi"
    );
    // Pod updates are not limited: the pod stays editable under a tighter range.
    a.ok(&["label", "pod", "plain", "tier=web"]);
}

#[test]
fn classes_runtime_classes_finalizers_and_resize() {
    let a = Apiary::start();
    create(
        &a,
        "apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: standard
  annotations: {storageclass.kubernetes.io/is-default-class: 'true'}
provisioner: example.com/disk
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: grows
provisioner: example.com/disk
allowVolumeExpansion: true
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: nginx
  annotations: {ingressclass.kubernetes.io/is-default-class: 'true'}
spec:
  controller: example.com/ingress
---
apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata:
  name: kata
handler: kata
overhead:
  podFixed: {cpu: 250m, memory: 120Mi}
scheduling:
  nodeSelector: {sandbox: 'true'}
  tolerations:
  - {key: sandbox, operator: Exists, effect: NoSchedule}
",
    );

    // DefaultStorageClass and StorageObjectInUseProtection.
    create(&a, &claim("data", "1Gi", None));
    let get = |args: &[&str]| a.ok(args).trim().to_string();
    assert_eq!(
        get(&[
            "get",
            "pvc",
            "data",
            "-o",
            "jsonpath={.spec.storageClassName}"
        ]),
        "standard"
    );
    assert_eq!(
        get(&[
            "get",
            "pvc",
            "data",
            "-o",
            "jsonpath={.metadata.finalizers}"
        ]),
        "[\"kubernetes.io/pvc-protection\"]"
    );
    create(&a, &claim("none", "1Gi", Some("''")));
    assert_eq!(
        get(&[
            "get",
            "pvc",
            "none",
            "-o",
            "jsonpath={.spec.storageClassName}"
        ]),
        ""
    );
    create(
        &a,
        "apiVersion: v1
kind: PersistentVolume
metadata:
  name: pv1
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  hostPath: {path: /tmp/pv1}
",
    );
    assert_eq!(
        get(&["get", "pv", "pv1", "-o", "jsonpath={.metadata.finalizers}"]),
        "[\"kubernetes.io/pv-protection\"]"
    );
    // The protection controllers: a claim a pod uses stays (Terminating) until the pod is gone;
    // an unbound volume goes at once.
    create(&a, &claim("held", "1Gi", None));
    create(
        &a,
        "apiVersion: v1
kind: Pod
metadata:
  name: user
spec:
  containers: [{name: c, image: nginx}]
  volumes: [{name: d, persistentVolumeClaim: {claimName: held}}]
",
    );
    a.ok(&["delete", "pvc", "held", "--wait=false"]);
    std::thread::sleep(std::time::Duration::from_secs(4));
    assert!(!get(&[
        "get",
        "pvc",
        "held",
        "-o",
        "jsonpath={.metadata.deletionTimestamp}"
    ])
    .is_empty());
    a.ok(&["delete", "pod", "user", "--timeout=60s"]);
    a.ok(&["delete", "pvc", "held", "--timeout=60s"]);
    a.ok(&["delete", "pv", "pv1", "--timeout=60s"]);

    // DefaultIngressClass.
    create(
        &a,
        "apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
spec:
  defaultBackend:
    service: {name: web, port: {number: 80}}
",
    );
    assert_eq!(
        get(&[
            "get",
            "ingress",
            "web",
            "-o",
            "jsonpath={.spec.ingressClassName}"
        ]),
        "nginx"
    );

    // RuntimeClass.
    create(&a, &pod("sandboxed", "  runtimeClassName: kata\n", ""));
    let overhead = get(&["get", "pod", "sandboxed", "-o", "jsonpath={.spec.overhead}"]);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&overhead).unwrap(),
        serde_json::json!({"cpu": "250m", "memory": "120Mi"})
    );
    assert_eq!(
        get(&[
            "get",
            "pod",
            "sandboxed",
            "-o",
            "jsonpath={.spec.nodeSelector.sandbox}"
        ]),
        "true"
    );
    let tolerations = get(&[
        "get",
        "pod",
        "sandboxed",
        "-o",
        "jsonpath={.spec.tolerations[*].key}",
    ]);
    assert!(
        tolerations.split(' ').any(|k| k == "sandbox"),
        "{tolerations}"
    );
    assert_eq!(
        create_fails(&a, &pod("lost", "  runtimeClassName: missing\n", "")).trim(),
        "Error from server (Forbidden): error when creating \"STDIN\": pods \"lost\" is forbidden: pod rejected: RuntimeClass \"missing\" not found"
    );
    let own_overhead = "  runtimeClassName: kata\n  overhead: {cpu: '1'}\n";
    assert_eq!(
        create_fails(&a, &pod("heavy", own_overhead, "")).trim(),
        "Error from server (Forbidden): error when creating \"STDIN\": pods \"heavy\" is forbidden: pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead"
    );
    let conflict = "  runtimeClassName: kata\n  nodeSelector: {sandbox: 'false'}\n";
    assert_eq!(
        create_fails(&a, &pod("torn", conflict, "")).trim(),
        "Error from server (Forbidden): error when creating \"STDIN\": pods \"torn\" is forbidden: conflict: runtimeClass.scheduling.nodeSelector[sandbox] = true; pod.spec.nodeSelector[sandbox] = false"
    );

    // PersistentVolumeClaimResize: bound claims grow only in an expandable class.
    create(&a, &claim("elastic", "1Gi", Some("grows")));
    let bound = r#"{"status":{"phase":"Bound"}}"#;
    for name in ["data", "elastic"] {
        a.ok(&[
            "patch",
            "pvc",
            name,
            "--subresource=status",
            "--type=merge",
            "-p",
            bound,
        ]);
    }
    let grow = r#"{"spec":{"resources":{"requests":{"storage":"2Gi"}}}}"#;
    let refused = a.fails(&["patch", "pvc", "data", "--type=merge", "-p", grow]);
    assert_eq!(
        refused.trim(),
        "Error from server (Forbidden): persistentvolumeclaims \"data\" is forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize"
    );
    a.ok(&["patch", "pvc", "elastic", "--type=merge", "-p", grow]);
    assert_eq!(
        get(&[
            "get",
            "pvc",
            "elastic",
            "-o",
            "jsonpath={.spec.resources.requests.storage}"
        ]),
        "2Gi"
    );
}
