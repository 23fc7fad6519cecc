//! The certificate plugins (with `kubectl certificate approve`), TaintNodesByCondition, the
//! immortal namespaces, and the plugins enabled by name: AlwaysPullImages,
//! DenyServiceExternalIPs, EventRateLimit (configured through `admission.config_file`).

use std::process::{Command, Stdio};

use base64::Engine as _;
use rcgen::{CertificateParams, DnType, KeyPair};

use crate::common::{self, free_port, Apiary};

/// A base64 PEM certificate request for `CN=me, O=<organization>`.
fn csr_request(organization: &str) -> String {
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.distinguished_name.push(DnType::CommonName, "me");
    params
        .distinguished_name
        .push(DnType::OrganizationName, organization);
    let pem = params
        .serialize_request(&key)
        .expect("csr")
        .pem()
        .expect("pem");
    base64::engine::general_purpose::STANDARD.encode(pem)
}

fn csr_yaml(name: &str, signer: &str, organization: &str) -> String {
    format!(
        "apiVersion: certificates.k8s.io/v1\nkind: CertificateSigningRequest\nmetadata:\n  name: {name}\nspec:\n  signerName: {signer}\n  usages: [client auth]\n  request: {}\n",
        csr_request(organization)
    )
}

/// The types of a CSR's conditions.
fn conditions(a: &Apiary, name: &str) -> String {
    a.ok(&[
        "get",
        "csr",
        name,
        "-o",
        "jsonpath={.status.conditions[*].type}",
    ])
}

#[test]
fn certificate_approval_needs_approve_on_the_signer() {
    let a = Apiary::start();
    for name in ["by-admin", "by-robot"] {
        a.ok_stdin(
            &["create", "-f", "-"],
            &csr_yaml(name, "example.com/signer", "team"),
        );
    }
    let out = a.ok(&["certificate", "approve", "by-admin"]);
    assert!(out.contains("approved"), "{out}");
    assert_eq!(conditions(&a, "by-admin"), "Approved");

    // A user who may update the approval subresource, but not approve for the signer.
    a.ok_stdin(
        &["apply", "-f", "-"],
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: csr-updater\nrules:\n- apiGroups: [certificates.k8s.io]\n  resources: [certificatesigningrequests, certificatesigningrequests/approval]\n  verbs: [get, list, update]\n",
    );
    a.ok(&["create", "serviceaccount", "robot"]);
    a.ok(&[
        "create",
        "clusterrolebinding",
        "robot-csr-updater",
        "--clusterrole=csr-updater",
        "--serviceaccount=default:robot",
    ]);
    let token = a.ok(&["create", "token", "robot"]);
    let robot = a.token_kubeconfig("robot", token.trim());
    let out = a.kubectl_with(&robot, &["certificate", "approve", "by-robot"]);
    let stderr = common::stderr(&out);
    assert!(!out.status.success(), "{}", common::stdout(&out));
    assert!(
        stderr.contains("certificatesigningrequests.certificates.k8s.io \"by-robot\" is forbidden: user not permitted to approve requests with signerName \"example.com/signer\""),
        "{stderr}"
    );
    assert_eq!(conditions(&a, "by-robot"), "");

    // `approve` on the signer's domain is enough.
    a.ok_stdin(
        &["apply", "-f", "-"],
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: example-approver\nrules:\n- apiGroups: [certificates.k8s.io]\n  resources: [signers]\n  resourceNames: [example.com/*]\n  verbs: [approve]\n",
    );
    a.ok(&[
        "create",
        "clusterrolebinding",
        "robot-approver",
        "--clusterrole=example-approver",
        "--serviceaccount=default:robot",
    ]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let out = a.kubectl_with(&robot, &["certificate", "approve", "by-robot"]);
        if out.status.success() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{}",
            common::stderr(&out)
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(conditions(&a, "by-robot"), "Approved");

    // The approval subresource changes the conditions only.
    let spec_before = a.ok(&[
        "get",
        "csr",
        "by-robot",
        "-o",
        "jsonpath={.spec.signerName}",
    ]);
    assert_eq!(spec_before, "example.com/signer");

    // CertificateSubjectRestriction: no system:masters client certificates.
    let out = a.kubectl_with_stdin(
        &["create", "-f", "-"],
        Some(&csr_yaml(
            "masters",
            "kubernetes.io/kube-apiserver-client",
            "system:masters",
        )),
    );
    let stderr = common::stderr(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains("certificatesigningrequests.certificates.k8s.io \"masters\" is forbidden: use of kubernetes.io/kube-apiserver-client signer with system:masters group is not allowed"),
        "{stderr}"
    );
    a.ok_stdin(
        &["create", "-f", "-"],
        &csr_yaml("client", "kubernetes.io/kube-apiserver-client", "team"),
    );
}

#[test]
fn new_nodes_are_tainted_and_immortal_namespaces_stay() {
    let a = Apiary::start();
    a.ok_stdin(
        &["create", "-f", "-"],
        "apiVersion: v1\nkind: Node\nmetadata:\n  name: n1\nspec:\n  taints:\n  - key: dedicated\n    value: infra\n    effect: NoSchedule\n",
    );
    let taints = a.ok(&[
        "get",
        "node",
        "n1",
        "-o",
        "jsonpath={range .spec.taints[*]}{.key}:{.effect} {end}",
    ]);
    assert_eq!(
        taints.trim(),
        "dedicated:NoSchedule node.kubernetes.io/not-ready:NoSchedule"
    );

    for ns in ["default", "kube-system", "kube-public"] {
        let err = a.fails(&["delete", "namespace", ns]);
        assert!(
            err.contains(&format!(
                "namespaces \"{ns}\" is forbidden: this namespace may not be deleted"
            )),
            "{err}"
        );
    }
    a.ok(&["get", "namespace", "default"]);
    a.ok(&["create", "namespace", "mortal"]);
    a.ok(&["delete", "namespace", "mortal", "--wait=false"]);
}

#[test]
fn plugins_enabled_by_name() {
    let env = vec![
        (
            "APIARY_ADMISSION__ENABLE_PLUGINS".to_string(),
            "[AlwaysPullImages,DenyServiceExternalIPs,EventRateLimit]".to_string(),
        ),
        (
            "APIARY_ADMISSION__CONFIG_FILE".to_string(),
            "admission.yaml".to_string(),
        ),
    ];
    let a = Apiary::start_prepared(env, |dir| {
        std::fs::write(
            dir.join("admission.yaml"),
            "apiVersion: apiserver.config.k8s.io/v1\nkind: AdmissionConfiguration\nplugins:\n- name: EventRateLimit\n  configuration:\n    apiVersion: eventratelimit.admission.k8s.io/v1alpha1\n    kind: Configuration\n    limits:\n    - type: Namespace\n      qps: 1\n      burst: 2\n",
        )
        .expect("write admission.yaml");
    });

    // AlwaysPullImages.
    a.ok_stdin(
        &["create", "-f", "-"],
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  initContainers:\n  - name: i\n    image: busybox\n    imagePullPolicy: IfNotPresent\n  containers:\n  - name: c\n    image: nginx\n    imagePullPolicy: Never\n",
    );
    let policies = a.ok(&[
        "get",
        "pod",
        "p",
        "-o",
        "jsonpath={.spec.initContainers[*].imagePullPolicy} {.spec.containers[*].imagePullPolicy}",
    ]);
    assert_eq!(policies, "Always Always");

    // DenyServiceExternalIPs.
    let service = |ips: &str| {
        format!("apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n  - port: 80\n  externalIPs: {ips}\n")
    };
    let out = a.kubectl_with_stdin(&["create", "-f", "-"], Some(&service("[1.2.3.4]")));
    let stderr = common::stderr(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains(
            "services \"web\" is forbidden: Use of external IPs is denied by admission control"
        ),
        "{stderr}"
    );
    a.ok_stdin(&["create", "-f", "-"], &service("[]"));

    // EventRateLimit: a burst of 2 in the namespace, then 429s.
    a.ok(&["create", "namespace", "noisy"]);
    let events: String = (0..6)
        .map(|i| format!("---\napiVersion: v1\nkind: Event\nmetadata:\n  name: e{i}\n  namespace: noisy\ninvolvedObject:\n  kind: Pod\n  name: p\n  namespace: noisy\nreason: Test\nmessage: m\n"))
        .collect();
    let out = a.kubectl_with_stdin(&["create", "-f", "-"], Some(&events));
    let stderr = common::stderr(&out);
    assert!(!out.status.success(), "{}", common::stdout(&out));
    assert!(
        stderr.contains("Too many requests: limit reached on type Namespace for key noisy"),
        "{stderr}"
    );
    // Other namespaces have their own buckets.
    a.ok_stdin(
        &["create", "-f", "-"],
        "apiVersion: v1\nkind: Event\nmetadata:\n  name: calm\ninvolvedObject:\n  kind: Pod\n  name: p\nreason: Test\nmessage: m\n",
    );
}

/// `apiary serve` with `env`, which must stop start-up: exit 2 and one last line naming `setting`.
fn refused_start(env: &[(&str, &str)], expected: &[&str]) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_apiary"));
    cmd.args(["serve", "--listen", &format!("127.0.0.1:{}", free_port())])
        .arg("--data-dir")
        .arg(dir.path())
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (key, value) in env {
        cmd.env(key, value);
    }
    let output = cmd.output().expect("run apiary");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{env:?}: {stderr}");
    let last = stderr.lines().last().unwrap_or_default();
    assert!(last.starts_with("apiary: "), "{stderr}");
    for part in expected {
        assert!(last.contains(part), "{part}: {stderr}");
    }
}

#[test]
fn unknown_or_unconfigured_plugins_stop_start_up() {
    refused_start(
        &[("APIARY_ADMISSION__ENABLE_PLUGINS", "[NoSuchPlugin]")],
        &[
            "admission.enable_plugins",
            "unknown admission plugin \"NoSuchPlugin\"",
        ],
    );
    refused_start(
        &[("APIARY_ADMISSION__ENABLE_PLUGINS", "[EventRateLimit]")],
        &[
            "admission.config_file",
            "EventRateLimit needs a configuration",
        ],
    );
}
