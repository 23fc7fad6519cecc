//! PodSecurity: namespace labels select a Pod Security Standards level per mode; `enforce`
//! refuses pods with upstream's 403, `warn` answers warnings kubectl prints, `audit` annotates
//! the audit event; workload templates only warn; a stricter enforce label warns about the
//! existing pods; defaults and exemptions come from the AdmissionConfiguration file.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::{stderr, Apiary};

const AUDIT_POLICY: &str = "\
apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: Metadata
  resources:
  - group: \"\"
    resources: [\"pods\"]
- level: None
";

/// A pod that passes restricted:latest.
const RESTRICTED_POD: &str = "\
apiVersion: v1
kind: Pod
metadata:
  name: good
spec:
  securityContext:
    runAsNonRoot: true
    seccompProfile:
      type: RuntimeDefault
  containers:
  - name: c
    image: nginx
    securityContext:
      allowPrivilegeEscalation: false
      capabilities:
        drop: [\"ALL\"]
";

fn privileged_pod(name: &str) -> String {
    format!(
        "apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  containers:
  - name: c
    image: nginx
    securityContext:
      privileged: true
"
    )
}

/// What kubectl prints for a plain `kubectl run <name>` pod at restricted:latest.
fn restricted_violations(container: &str) -> String {
    format!(
        r#"allowPrivilegeEscalation != false (container "{container}" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "{container}" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "{container}" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "{container}" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")"#
    )
}

fn namespace(a: &Apiary, name: &str, labels: &[&str]) {
    a.ok(&["create", "namespace", name]);
    if !labels.is_empty() {
        let mut args = vec!["label", "namespace", name];
        args.extend_from_slice(labels);
        a.ok(&args);
    }
}

/// The audit events of the log under the data directory, once `done` holds for one of them.
fn audit_event(a: &Apiary, done: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let path = a.data_dir().join("audit.log");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let found = text
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|e| done(e));
        if let Some(event) = found {
            return event;
        }
        assert!(Instant::now() < deadline, "no such audit event in {text}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn pod_security_enforce_warn_and_audit_at_each_level() {
    let a = Apiary::start_prepared(Vec::new(), |dir: &Path| {
        std::fs::write(dir.join("audit-policy.yaml"), AUDIT_POLICY).expect("policy");
        let config = "[audit]\npolicy_file = \"audit-policy.yaml\"\nlog_path = \"audit.log\"\n";
        std::fs::write(dir.join("config.toml"), config).expect("config");
    });

    // restricted: plain pods are refused with upstream's message; compliant ones pass.
    namespace(&a, "r", &["pod-security.kubernetes.io/enforce=restricted"]);
    let err = a.fails(&["run", "p", "-n", "r", "--image=nginx"]);
    let want = format!(
        "Error from server (Forbidden): pods \"p\" is forbidden: violates PodSecurity \"restricted:latest\": {}",
        restricted_violations("p")
    );
    assert!(err.contains(&want), "{err}");
    a.ok_stdin(&["create", "-n", "r", "-f", "-"], RESTRICTED_POD);

    // baseline at a pinned version: privileged containers are refused, plain pods pass.
    namespace(
        &a,
        "b",
        &[
            "pod-security.kubernetes.io/enforce=baseline",
            "pod-security.kubernetes.io/enforce-version=v1.30",
        ],
    );
    let out = a.kubectl_with_stdin(
        &["create", "-n", "b", "-f", "-"],
        Some(&privileged_pod("priv")),
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains(r#"pods "priv" is forbidden: violates PodSecurity "baseline:v1.30": privileged (container "c" must not set securityContext.privileged=true)"#),
        "{}",
        stderr(&out)
    );
    a.ok(&["run", "plain", "-n", "b", "--image=nginx"]);

    // privileged (no labels): anything goes, silently.
    namespace(&a, "p", &[]);
    let out = a.kubectl_with_stdin(
        &["create", "-n", "p", "-f", "-"],
        Some(&privileged_pod("priv")),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("Warning"), "{}", stderr(&out));

    // warn: the pod is created and kubectl prints the warning.
    namespace(&a, "w", &["pod-security.kubernetes.io/warn=restricted"]);
    let out = a.kubectl(&["run", "p", "-n", "w", "--image=nginx"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let want = format!(
        "Warning: would violate PodSecurity \"restricted:latest\": {}",
        restricted_violations("p")
    );
    assert!(stderr(&out).contains(&want), "{}", stderr(&out));
    namespace(&a, "wb", &["pod-security.kubernetes.io/warn=baseline"]);
    let out = a.kubectl_with_stdin(
        &["create", "-n", "wb", "-f", "-"],
        Some(&privileged_pod("priv")),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(r#"Warning: would violate PodSecurity "baseline:latest": privileged (container "c" must not set securityContext.privileged=true)"#),
        "{}",
        stderr(&out)
    );

    // audit: no warning; the audit event carries the violations and the enforced policy.
    namespace(&a, "au", &["pod-security.kubernetes.io/audit=baseline"]);
    let out = a.kubectl_with_stdin(
        &["create", "-n", "au", "-f", "-"],
        Some(&privileged_pod("audited")),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("Warning"), "{}", stderr(&out));
    let event = audit_event(&a, |e| {
        e["verb"] == "create"
            && e["objectRef"]["namespace"] == "au"
            && e["stage"] == "ResponseComplete"
    });
    let annotations = &event["annotations"];
    assert_eq!(
        annotations["pod-security.kubernetes.io/audit-violations"],
        r#"would violate PodSecurity "baseline:latest": privileged (container "c" must not set securityContext.privileged=true)"#,
        "{event}"
    );
    assert_eq!(
        annotations["pod-security.kubernetes.io/enforce-policy"], "privileged:latest",
        "{event}"
    );

    // An invalid label is refused on the namespace.
    a.ok(&["create", "namespace", "bad"]);
    let err = a.fails(&[
        "label",
        "namespace",
        "bad",
        "pod-security.kubernetes.io/enforce=strict",
    ]);
    assert!(
        err.contains(r#"Namespace "bad" is invalid: metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "strict": must be one of privileged, baseline, restricted"#),
        "{err}"
    );
}

#[test]
fn pod_security_workload_templates_and_namespace_label_changes() {
    let a = Apiary::start();
    // A Deployment's template is warned about, never enforced.
    namespace(
        &a,
        "apps",
        &[
            "pod-security.kubernetes.io/enforce=restricted",
            "pod-security.kubernetes.io/warn=restricted",
        ],
    );
    let out = a.kubectl(&["create", "deployment", "web", "-n", "apps", "--image=nginx"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let want = format!(
        "Warning: would violate PodSecurity \"restricted:latest\": {}",
        restricted_violations("nginx")
    );
    assert!(stderr(&out).contains(&want), "{}", stderr(&out));

    // Existing pods are checked when the enforce label gets stricter.
    namespace(&a, "x", &[]);
    a.ok(&["run", "one", "-n", "x", "--image=nginx"]);
    a.ok(&["run", "two", "-n", "x", "--image=nginx"]);
    a.ok_stdin(&["create", "-n", "x", "-f", "-"], &privileged_pod("priv"));
    let out = a.kubectl(&[
        "label",
        "ns",
        "x",
        "pod-security.kubernetes.io/enforce=restricted",
        "--dry-run=server",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let warnings: Vec<&str> = std::str::from_utf8(&out.stderr)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("Warning: "))
        .collect();
    assert_eq!(
        warnings,
        [
            r#"Warning: existing pods in namespace "x" violate the new PodSecurity enforce level "restricted:latest""#,
            "Warning: one (and 1 other pod): allowPrivilegeEscalation != false, unrestricted capabilities, runAsNonRoot != true, seccompProfile",
            "Warning: priv: privileged, allowPrivilegeEscalation != false, unrestricted capabilities, runAsNonRoot != true, seccompProfile",
        ]
    );
    // A dry run changes nothing; baseline only names the privileged pod.
    let labels = a.ok(&["get", "ns", "x", "-o", "jsonpath={.metadata.labels}"]);
    assert!(!labels.contains("pod-security"), "{labels}");
    let out = a.kubectl(&[
        "label",
        "ns",
        "x",
        "pod-security.kubernetes.io/enforce=baseline",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(r#"Warning: existing pods in namespace "x" violate the new PodSecurity enforce level "baseline:latest""#)
            && stderr(&out).contains("Warning: priv: privileged\n"),
        "{}",
        stderr(&out)
    );
    // Relaxing the level checks nothing.
    let out = a.kubectl(&[
        "label",
        "ns",
        "x",
        "pod-security.kubernetes.io/enforce=privileged",
        "--overwrite",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("Warning"), "{}", stderr(&out));
}

const ADMISSION_CONFIG: &str = "\
apiVersion: apiserver.config.k8s.io/v1
kind: AdmissionConfiguration
plugins:
- name: PodSecurity
  configuration:
    apiVersion: pod-security.admission.config.k8s.io/v1
    kind: PodSecurityConfiguration
    defaults:
      enforce: baseline
      warn: restricted
    exemptions:
      namespaces: [\"exempt\"]
      runtimeClasses: [\"kata\"]
";

#[test]
fn pod_security_defaults_and_exemptions_from_the_configuration_file() {
    let env = vec![(
        "APIARY_ADMISSION__CONFIG_FILE".to_string(),
        "admission.yaml".to_string(),
    )];
    let a = Apiary::start_prepared(env, |dir: &Path| {
        std::fs::write(dir.join("admission.yaml"), ADMISSION_CONFIG).expect("admission config");
    });
    // Unlabelled namespaces get the defaults: baseline enforced, restricted warned.
    namespace(&a, "plain", &[]);
    let out = a.kubectl_with_stdin(
        &["create", "-n", "plain", "-f", "-"],
        Some(&privileged_pod("priv")),
    );
    assert!(
        stderr(&out).contains(r#"pods "priv" is forbidden: violates PodSecurity "baseline:latest": privileged (container "c" must not set securityContext.privileged=true)"#),
        "{}",
        stderr(&out)
    );
    let out = a.kubectl(&["run", "p", "-n", "plain", "--image=nginx"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(r#"Warning: would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false"#),
        "{}",
        stderr(&out)
    );
    // An exempt runtime class passes (the class must exist: RuntimeClass admission).
    a.ok_stdin(
        &["create", "-f", "-"],
        "apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata:\n  name: kata\nhandler: kata\n",
    );
    let kata = privileged_pod("kata").replace("spec:\n", "spec:\n  runtimeClassName: kata\n");
    let out = a.kubectl_with_stdin(&["create", "-n", "plain", "-f", "-"], Some(&kata));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("PodSecurity"), "{}", stderr(&out));
    // An exempt namespace passes anything, and says so when labelled.
    namespace(&a, "exempt", &[]);
    a.ok_stdin(
        &["create", "-n", "exempt", "-f", "-"],
        &privileged_pod("priv"),
    );
    let out = a.kubectl(&[
        "label",
        "ns",
        "exempt",
        "pod-security.kubernetes.io/enforce=restricted",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(r#"Warning: namespace "exempt" is exempt from Pod Security, and the policy (enforce=restricted:latest) will be ignored"#),
        "{}",
        stderr(&out)
    );
}

#[test]
fn pod_security_bad_configuration_stops_start_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("admission.yaml");
    let bad = ADMISSION_CONFIG.replace("enforce: baseline", "enforce: strict");
    std::fs::write(&file, bad).expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_apiary"))
        .arg("serve")
        .arg("--listen")
        .arg(format!("127.0.0.1:{}", crate::common::free_port()))
        .arg("--data-dir")
        .arg(dir.path())
        .current_dir(dir.path())
        .env("APIARY_ADMISSION__CONFIG_FILE", &file)
        .output()
        .expect("run apiary");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("admission.config_file")
            && err.contains(r#"defaults.enforce: Invalid value: "strict": must be one of privileged, baseline, restricted"#),
        "{err}"
    );
}
