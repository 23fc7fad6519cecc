use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::api::{policy_to_evaluate, Level, LevelVersion, Policy, Version};
use super::policy::{aggregate, max_minor};
use super::{is_significant_pod_update, pod_template, Configuration};

fn lv(level: Level, version: &str) -> LevelVersion {
    LevelVersion {
        level,
        version: Version::parse(version).unwrap(),
    }
}

/// The aggregated detail of `pod` at `level`:`version` (empty when allowed).
fn detail(level: Level, version: &str, pod: &Value) -> String {
    let empty = json!({});
    let metadata = pod.get("metadata").unwrap_or(&empty);
    let spec = pod.get("spec").unwrap_or(&empty);
    aggregate(lv(level, version), metadata, spec).forbidden_detail()
}

fn baseline(pod: &Value) -> String {
    detail(Level::Baseline, "latest", pod)
}

/// A pod that passes restricted:latest, with `patch` merged into its first container's
/// securityContext and `spec_patch` into its spec.
fn restricted_pod(container_patch: Value, spec_patch: Value) -> Value {
    let mut sc = json!({
        "allowPrivilegeEscalation": false,
        "runAsNonRoot": true,
        "seccompProfile": {"type": "RuntimeDefault"},
        "capabilities": {"drop": ["ALL"]},
    });
    merge(&mut sc, container_patch);
    let mut spec = json!({"containers": [{"name": "c", "image": "i", "securityContext": sc}]});
    merge(&mut spec, spec_patch);
    json!({"metadata": {"name": "p"}, "spec": spec})
}

fn merge(target: &mut Value, patch: Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(&k);
                } else {
                    merge(t.entry(k).or_insert(Value::Null), v);
                }
            }
        }
        (t, p) => *t = p,
    }
}

fn restricted(pod: &Value) -> String {
    detail(Level::Restricted, "latest", pod)
}

#[test]
fn privileged_allows_everything() {
    let pod = json!({"spec": {"hostNetwork": true, "containers": [{"name": "c", "securityContext": {"privileged": true}}]}});
    assert_eq!(detail(Level::Privileged, "latest", &pod), "");
}

#[test]
fn an_empty_pod_violates_restricted_in_upstream_order_and_words() {
    let pod = json!({"spec": {"containers": [{"name": "c", "image": "i"}]}});
    assert_eq!(baseline(&pod), "");
    assert_eq!(
        restricted(&pod),
        r#"allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")"#
    );
    assert_eq!(restricted(&restricted_pod(json!({}), json!({}))), "");
}

#[test]
fn reasons_join_for_namespace_warnings() {
    let pod = json!({"spec": {"hostPID": true, "containers": [{"name": "c"}]}});
    let result = aggregate(lv(Level::Restricted, "latest"), &json!({}), &pod["spec"]);
    assert_eq!(
        result.forbidden_reason(),
        "host namespaces, allowPrivilegeEscalation != false, unrestricted capabilities, runAsNonRoot != true, seccompProfile"
    );
}

#[test]
fn host_process() {
    let pod = json!({"spec": {
        "securityContext": {"windowsOptions": {"hostProcess": true}},
        "containers": [{"name": "a", "securityContext": {"windowsOptions": {"hostProcess": true}}}, {"name": "b", "securityContext": {"windowsOptions": {"hostProcess": false}}}],
    }});
    assert_eq!(
        baseline(&pod),
        r#"hostProcess (pod and container "a" must not set securityContext.windowsOptions.hostProcess=true)"#
    );
}

#[test]
fn host_namespaces() {
    let pod =
        json!({"spec": {"hostNetwork": true, "hostPID": false, "hostIPC": true, "containers": []}});
    assert_eq!(
        baseline(&pod),
        "host namespaces (hostNetwork=true, hostIPC=true)"
    );
}

#[test]
fn privileged_containers_include_init_and_ephemeral_ones() {
    let sc = json!({"privileged": true});
    let pod = json!({"spec": {
        "containers": [{"name": "c", "securityContext": sc}],
        "initContainers": [{"name": "i", "securityContext": sc}],
        "ephemeralContainers": [{"name": "e", "securityContext": sc}],
    }});
    assert_eq!(
        baseline(&pod),
        r#"privileged (containers "i", "c", "e" must not set securityContext.privileged=true)"#
    );
}

#[test]
fn capabilities_baseline_and_restricted() {
    let pod = json!({"spec": {"containers": [
        {"name": "a", "securityContext": {"capabilities": {"add": ["NET_RAW", "CHOWN", "SYS_ADMIN"]}}},
        {"name": "b", "securityContext": {"capabilities": {"add": ["KILL"]}}},
    ]}});
    assert_eq!(
        baseline(&pod),
        r#"non-default capabilities (container "a" must not include "NET_RAW", "SYS_ADMIN" in securityContext.capabilities.add)"#
    );
    // Restricted overrides the baseline check with its own.
    let pod = restricted_pod(
        json!({"capabilities": {"drop": ["NET_RAW"], "add": ["SYS_ADMIN", "NET_BIND_SERVICE"]}}),
        json!({}),
    );
    assert_eq!(
        restricted(&pod),
        r#"unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]; container "c" must not include "SYS_ADMIN" in securityContext.capabilities.add)"#
    );
    assert_eq!(
        restricted(&restricted_pod(
            json!({"capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}}),
            json!({})
        )),
        ""
    );
    // Before 1.22 restricted has only baseline's capabilities check.
    let pod = restricted_pod(json!({"capabilities": {"add": ["SYS_ADMIN"]}}), json!({}));
    assert_eq!(
        detail(Level::Restricted, "v1.21", &pod),
        r#"non-default capabilities (container "c" must not include "SYS_ADMIN" in securityContext.capabilities.add)"#
    );
}

#[test]
fn host_path_volumes_and_restricted_volume_types() {
    let pod = json!({"spec": {"containers": [], "volumes": [
        {"name": "h", "hostPath": {"path": "/"}},
        {"name": "n", "nfs": {"server": "s", "path": "/"}},
        {"name": "ok", "emptyDir": {}},
        {"name": "img", "image": {"reference": "r"}},
        {"name": "odd", "somethingNew": {}},
    ]}});
    assert_eq!(baseline(&pod), r#"hostPath volumes (volume "h")"#);
    // Restricted overrides the hostPath check with its own.
    assert_eq!(
        detail(Level::Restricted, "latest", &pod),
        r#"restricted volume types (volumes "h", "n", "odd" use restricted volume types "hostPath", "nfs", "unknown")"#
    );
    let one = restricted_pod(
        json!({}),
        json!({"volumes": [{"name": "g", "gitRepo": {}}]}),
    );
    assert_eq!(
        restricted(&one),
        r#"restricted volume types (volume "g" uses restricted volume type "gitRepo")"#
    );
}

#[test]
fn host_ports() {
    let pod = json!({"spec": {"containers": [
        {"name": "a", "ports": [{"containerPort": 80, "hostPort": 8080}, {"containerPort": 81, "hostPort": 80}]},
        {"name": "b", "ports": [{"containerPort": 80}]},
    ]}});
    assert_eq!(
        baseline(&pod),
        r#"hostPort (container "a" uses hostPorts 80, 8080)"#
    );
}

#[test]
fn app_armor_fields_and_annotations() {
    let pod = json!({
        "metadata": {"annotations": {
            "container.apparmor.security.beta.kubernetes.io/a": "unconfined",
            "container.apparmor.security.beta.kubernetes.io/b": "localhost/x",
        }},
        "spec": {
            "securityContext": {"appArmorProfile": {"type": "Unconfined"}},
            "containers": [{"name": "a", "securityContext": {"appArmorProfile": {"type": "Localhost", "localhostProfile": "x"}}}],
        },
    });
    assert_eq!(
        baseline(&pod),
        r#"forbidden AppArmor profiles (pod and annotation must not set AppArmor profile type to "Unconfined", "container.apparmor.security.beta.kubernetes.io/a=\"unconfined\"")"#
    );
}

#[test]
fn se_linux_options() {
    let pod = json!({"spec": {
        "securityContext": {"seLinuxOptions": {"user": "u"}},
        "containers": [
            {"name": "a", "securityContext": {"seLinuxOptions": {"type": "spc_t", "role": "r"}}},
            {"name": "b", "securityContext": {"seLinuxOptions": {"type": "container_t"}}},
        ],
    }});
    assert_eq!(
        baseline(&pod),
        r#"seLinuxOptions (pod and container "a" set forbidden securityContext.seLinuxOptions: type "spc_t"; user may not be set; role may not be set)"#
    );
}

#[test]
fn proc_mount() {
    let pod = json!({"spec": {"containers": [
        {"name": "a", "securityContext": {"procMount": "Unmasked"}},
        {"name": "b", "securityContext": {"procMount": "Default"}},
    ]}});
    assert_eq!(
        baseline(&pod),
        r#"procMount (container "a" must not set securityContext.procMount to "Unmasked")"#
    );
}

#[test]
fn seccomp_baseline_by_version() {
    let pod = json!({
        "metadata": {"annotations": {"seccomp.security.alpha.kubernetes.io/pod": "unconfined"}},
        "spec": {
            "securityContext": {"seccompProfile": {"type": "Unconfined"}},
            "containers": [{"name": "a", "securityContext": {"seccompProfile": {"type": "Unconfined"}}}],
        },
    });
    assert_eq!(
        detail(Level::Baseline, "v1.18", &pod),
        r#"seccompProfile (forbidden annotation seccomp.security.alpha.kubernetes.io/pod="unconfined")"#
    );
    assert_eq!(
        detail(Level::Baseline, "v1.19", &pod),
        r#"seccompProfile (pod and container "a" must not set securityContext.seccompProfile.type to "Unconfined")"#
    );
}

#[test]
fn seccomp_restricted() {
    let pod = restricted_pod(
        json!({"seccompProfile": null}),
        json!({"securityContext": {"seccompProfile": {"type": "Localhost"}}}),
    );
    assert_eq!(
        restricted(&pod),
        "",
        "the pod's profile covers its containers"
    );
    let pod = restricted_pod(json!({"seccompProfile": {"type": "Unconfined"}}), json!({}));
    assert_eq!(
        restricted(&pod),
        r#"seccompProfile (container "c" must not set securityContext.seccompProfile.type to "Unconfined")"#
    );
    // Before 1.19 restricted checks only the annotations.
    let pod = restricted_pod(json!({"seccompProfile": null}), json!({}));
    assert_eq!(detail(Level::Restricted, "v1.18", &pod), "");
}

#[test]
fn sysctls_by_version() {
    let pod = |name: &str| json!({"spec": {"securityContext": {"sysctls": [{"name": name, "value": "1"}]}, "containers": []}});
    let forbidden = |name: &str| format!("forbidden sysctls ({name})");
    let cases = [
        ("net.ipv4.ping_group_range", "v1.0", true),
        ("net.ipv4.ip_unprivileged_port_start", "v1.0", true),
        ("net.ipv4.ip_local_reserved_ports", "v1.26", false),
        ("net.ipv4.ip_local_reserved_ports", "v1.27", true),
        ("net.ipv4.tcp_keepalive_time", "v1.28", false),
        ("net.ipv4.tcp_keepalive_probes", "v1.29", true),
        ("net.ipv4.tcp_rmem", "v1.31", false),
        ("net.ipv4.tcp_wmem", "v1.32", true),
        ("net.ipv4.tcp_wmem", "latest", true),
        ("kernel.msgmax", "latest", false),
    ];
    for (name, version, allowed) in cases {
        let got = detail(Level::Baseline, version, &pod(name));
        let want = if allowed {
            String::new()
        } else {
            forbidden(name)
        };
        assert_eq!(got, want, "{name} at {version}");
    }
}

#[test]
fn allow_privilege_escalation_by_version_and_windows() {
    let pod = restricted_pod(json!({"allowPrivilegeEscalation": true}), json!({}));
    let want = r#"allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false)"#;
    assert_eq!(restricted(&pod), want);
    assert_eq!(
        detail(Level::Restricted, "v1.7", &pod),
        "",
        "the check starts at 1.8"
    );
    let windows = restricted_pod(
        json!({"allowPrivilegeEscalation": null, "capabilities": null, "seccompProfile": null}),
        json!({"os": {"name": "windows"}}),
    );
    assert_eq!(restricted(&windows), "");
    assert_eq!(
        detail(Level::Restricted, "v1.24", &windows),
        r#"allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")"#
    );
}

#[test]
fn run_as_non_root() {
    let pod = restricted_pod(
        json!({"runAsNonRoot": false}),
        json!({"securityContext": {"runAsNonRoot": false}}),
    );
    assert_eq!(
        restricted(&pod),
        r#"runAsNonRoot != true (pod and container "c" must not set securityContext.runAsNonRoot=false)"#
    );
    let pod = restricted_pod(
        json!({"runAsNonRoot": null}),
        json!({"securityContext": {"runAsNonRoot": true}}),
    );
    assert_eq!(restricted(&pod), "");
}

#[test]
fn run_as_user_by_version() {
    let pod = restricted_pod(
        json!({"runAsUser": 0}),
        json!({"securityContext": {"runAsUser": 0}}),
    );
    assert_eq!(
        restricted(&pod),
        r#"runAsUser=0 (pod and container "c" must not set runAsUser=0)"#
    );
    assert_eq!(detail(Level::Restricted, "v1.22", &pod), "");
    let pod = restricted_pod(json!({"runAsUser": 1000}), json!({}));
    assert_eq!(restricted(&pod), "");
}

#[test]
fn versions_newer_than_the_checks_evaluate_as_latest() {
    assert_eq!(max_minor(), 32);
    let pod = json!({"spec": {"securityContext": {"sysctls": [{"name": "net.ipv4.tcp_rmem"}]}, "containers": []}});
    assert_eq!(detail(Level::Baseline, "v1.40", &pod), "");
    assert_eq!(
        lv(Level::Restricted, "v1.40").to_string(),
        "restricted:v1.40"
    );
}

#[test]
fn parses_levels_and_versions_as_upstream() {
    assert_eq!(Version::parse("v1.0"), Ok(Version::Minor(0)));
    assert_eq!(Version::parse("v1.33"), Ok(Version::Minor(33)));
    for bad in ["1.33", "v1.033", "v2.0", "v1.", "latest ", ""] {
        let err = Version::parse(bad).unwrap_err();
        assert_eq!(
            err,
            (Version::Latest, r#"must be "latest" or "v1.x""#.to_string())
        );
    }
    assert_eq!(
        Level::parse("strict").unwrap_err(),
        (
            Level::Restricted,
            "must be one of privileged, baseline, restricted".to_string()
        )
    );
}

#[test]
fn policy_from_labels_fails_closed_for_enforce_and_open_for_audit_and_warn() {
    let labels: BTreeMap<String, String> = [
        ("pod-security.kubernetes.io/enforce", "bogus"),
        ("pod-security.kubernetes.io/audit", "bogus"),
        ("pod-security.kubernetes.io/warn", "baseline"),
        ("pod-security.kubernetes.io/warn-version", "v1.x"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let (policy, errors) = policy_to_evaluate(Some(&labels), Policy::PRIVILEGED);
    assert_eq!(policy.enforce.to_string(), "restricted:latest");
    assert_eq!(policy.audit.to_string(), "privileged:latest");
    assert_eq!(policy.warn.to_string(), "baseline:latest");
    let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        errors,
        [
            r#"metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "bogus": must be one of privileged, baseline, restricted"#,
            r#"metadata.labels[pod-security.kubernetes.io/audit]: Invalid value: "bogus": must be one of privileged, baseline, restricted"#,
            r#"metadata.labels[pod-security.kubernetes.io/warn-version]: Invalid value: "v1.x": must be "latest" or "v1.x""#,
        ]
    );
    let (policy, errors) = policy_to_evaluate(None, Policy::PRIVILEGED);
    assert!(errors.is_empty() && policy.fully_privileged());
}

#[test]
fn configuration_defaults_and_exemptions() {
    assert_eq!(
        Configuration::parse(None).unwrap(),
        Configuration::default()
    );
    let config = Configuration::parse(Some(&json!({
        "apiVersion": "pod-security.admission.config.k8s.io/v1",
        "kind": "PodSecurityConfiguration",
        "defaults": {"enforce": "baseline", "enforce-version": "v1.30", "warn": "restricted"},
        "exemptions": {"usernames": ["alice"], "runtimeClasses": ["kata"], "namespaces": ["kube-system"]},
    })))
    .unwrap();
    assert_eq!(config.defaults.enforce.to_string(), "baseline:v1.30");
    assert_eq!(config.defaults.audit.to_string(), "privileged:latest");
    assert_eq!(config.defaults.warn.to_string(), "restricted:latest");
    assert!(config.exempt_usernames.contains("alice"));
    assert!(config.exempt_runtime_classes.contains("kata"));
    assert!(config.exempt_namespaces.contains("kube-system"));
    let bad = Configuration::parse(Some(&json!({
        "apiVersion": "pod-security.admission.config.k8s.io/v1",
        "kind": "PodSecurityConfiguration",
        "defaults": {"enforce": "strict", "audit-version": "1.2"},
        "exemptions": {"namespaces": ["a", "a"]},
    })))
    .unwrap_err();
    assert_eq!(
        bad,
        r#"defaults.enforce: Invalid value: "strict": must be one of privileged, baseline, restricted, defaults.audit-version: Invalid value: "1.2": must be "latest" or "v1.x", exemptions.namespaces[1]: Duplicate value: "a""#
    );
    assert!(Configuration::parse(Some(&json!({"kind": "Other"}))).is_err());
}

#[test]
fn significant_pod_updates() {
    let pod = json!({"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "one"}]}});
    let mut relabelled = pod.clone();
    relabelled["metadata"]["labels"]["a"] = json!("c");
    assert!(!is_significant_pod_update(&relabelled, &pod));
    let mut image = pod.clone();
    image["spec"]["containers"][0]["image"] = json!("two");
    assert!(is_significant_pod_update(&image, &pod));
    let mut seccomp = pod.clone();
    seccomp["metadata"]["annotations"] =
        json!({"container.seccomp.security.alpha.kubernetes.io/c": "unconfined"});
    assert!(is_significant_pod_update(&seccomp, &pod));
    let mut debug = pod.clone();
    debug["spec"]["ephemeralContainers"] = json!([{"name": "debug", "image": "busybox"}]);
    assert!(is_significant_pod_update(&debug, &pod));
    assert!(!is_significant_pod_update(&debug, &debug));
}

#[test]
fn pod_templates_of_workloads() {
    let template = json!({"spec": {"containers": []}});
    let deployment = json!({"spec": {"template": template}});
    assert_eq!(pod_template("deployments", &deployment), Some(&template));
    let cronjob = json!({"spec": {"jobTemplate": {"spec": {"template": template}}}});
    assert_eq!(pod_template("cronjobs", &cronjob), Some(&template));
    let pod_template_object = json!({"template": template});
    assert_eq!(
        pod_template("podtemplates", &pod_template_object),
        Some(&template)
    );
    assert_eq!(
        pod_template("replicationcontrollers", &json!({"spec": {}})),
        None
    );
}
