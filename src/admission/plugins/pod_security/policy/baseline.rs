//! The baseline level's checks (`policy/check_*.go`), each with upstream's reason and detail.

use std::collections::BTreeSet;

use serde_json::Value;

use super::helpers::{
    containers, containers_phrase, field, join_quote, name, pluralize, sorted, string, strings,
    violation,
};
use super::{Check, Versioned, Violation};
use crate::admission::plugins::pod_security::api::Level;
use crate::api::go_fmt::go_quote;

const fn v1_0(check: super::CheckFn) -> Versioned {
    Versioned {
        since: 0,
        check,
        overrides: &[],
    }
}

/// The `pod` and `container(s) ...` that set something forbidden, as one phrase.
fn setters(pod: bool, bad_containers: &[String]) -> Vec<String> {
    let mut setters = Vec::new();
    if pod {
        setters.push("pod".to_string());
    }
    if !bad_containers.is_empty() {
        setters.push(containers_phrase(bad_containers));
    }
    setters
}

pub static APP_ARMOR_PROFILE: Check = Check {
    id: "appArmorProfile",
    level: Level::Baseline,
    versions: &[v1_0(app_armor_profile)],
};

const APP_ARMOR_ANNOTATION_PREFIX: &str = "container.apparmor.security.beta.kubernetes.io/";

fn allowed_app_armor_type(profile: &Value) -> Option<String> {
    let kind = string(profile, &["type"]);
    (!matches!(kind, "RuntimeDefault" | "Localhost")).then(|| kind.to_string())
}

fn app_armor_profile(metadata: &Value, spec: &Value) -> Option<Violation> {
    let mut bad_values = BTreeSet::new();
    let pod_profile = field(spec, &["securityContext", "appArmorProfile"]);
    let pod_bad = pod_profile.and_then(allowed_app_armor_type);
    let pod = pod_bad.is_some();
    bad_values.extend(pod_bad);
    let mut bad_containers = Vec::new();
    for c in containers(spec) {
        if let Some(bad) =
            field(c, &["securityContext", "appArmorProfile"]).and_then(allowed_app_armor_type)
        {
            bad_containers.push(name(c));
            bad_values.insert(bad);
        }
    }
    let mut bad_setters = setters(pod, &bad_containers);
    let mut bad_value_list: Vec<String> = bad_values.into_iter().collect();
    let mut annotations: Vec<String> = field(metadata, &["annotations"])
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.starts_with(APP_ARMOR_ANNOTATION_PREFIX))
        .filter_map(|(k, v)| {
            let v = v.as_str().unwrap_or("");
            let allowed = v.is_empty() || v == "runtime/default" || v.starts_with("localhost/");
            (!allowed).then(|| format!("{k}={}", go_quote(v)))
        })
        .collect();
    if !annotations.is_empty() {
        annotations.sort();
        bad_setters.push(pluralize("annotation", "annotations", annotations.len()).to_string());
        bad_value_list.extend(annotations);
    }
    if bad_setters.is_empty() {
        return None;
    }
    violation(
        pluralize(
            "forbidden AppArmor profile",
            "forbidden AppArmor profiles",
            bad_value_list.len(),
        ),
        format!(
            "{} must not set AppArmor profile type to {}",
            bad_setters.join(" and "),
            join_quote(&bad_value_list)
        ),
    )
}

pub static CAPABILITIES_BASELINE: Check = Check {
    id: "capabilities_baseline",
    level: Level::Baseline,
    versions: &[v1_0(capabilities_baseline)],
};

const DEFAULT_CAPABILITIES: &[&str] = &[
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

fn capabilities_baseline(_: &Value, spec: &Value) -> Option<Violation> {
    let mut bad_containers = Vec::new();
    let mut non_default = BTreeSet::new();
    for c in containers(spec) {
        let added = strings(c, &["securityContext", "capabilities", "add"]);
        let mut valid = true;
        for cap in added {
            if !DEFAULT_CAPABILITIES.contains(&cap) {
                valid = false;
                non_default.insert(cap.to_string());
            }
        }
        if !valid {
            bad_containers.push(name(c));
        }
    }
    if bad_containers.is_empty() {
        return None;
    }
    violation(
        "non-default capabilities",
        format!(
            "{} must not include {} in securityContext.capabilities.add",
            containers_phrase(&bad_containers),
            join_quote(&sorted(&non_default))
        ),
    )
}

pub static HOST_NAMESPACES: Check = Check {
    id: "hostNamespaces",
    level: Level::Baseline,
    versions: &[v1_0(host_namespaces)],
};

fn host_namespaces(_: &Value, spec: &Value) -> Option<Violation> {
    let set: Vec<String> = ["hostNetwork", "hostPID", "hostIPC"]
        .into_iter()
        .filter(|key| spec.get(*key).and_then(Value::as_bool) == Some(true))
        .map(|key| format!("{key}=true"))
        .collect();
    if set.is_empty() {
        return None;
    }
    violation("host namespaces", set.join(", "))
}

fn volumes(spec: &Value) -> impl Iterator<Item = &Value> {
    spec.get("volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

pub static HOST_PATH_VOLUMES: Check = Check {
    id: "hostPathVolumes",
    level: Level::Baseline,
    versions: &[v1_0(host_path_volumes)],
};

fn host_path_volumes(_: &Value, spec: &Value) -> Option<Violation> {
    let names: Vec<String> = volumes(spec)
        .filter(|v| field(v, &["hostPath"]).is_some())
        .map(name)
        .collect();
    if names.is_empty() {
        return None;
    }
    violation(
        "hostPath volumes",
        format!(
            "{} {}",
            pluralize("volume", "volumes", names.len()),
            join_quote(&names)
        ),
    )
}

pub static HOST_PORTS: Check = Check {
    id: "hostPorts",
    level: Level::Baseline,
    versions: &[v1_0(host_ports)],
};

fn host_ports(_: &Value, spec: &Value) -> Option<Violation> {
    let mut bad_containers = Vec::new();
    let mut ports = BTreeSet::new();
    for c in containers(spec) {
        let mut valid = true;
        for port in c
            .get("ports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let host_port = port.get("hostPort").and_then(Value::as_i64).unwrap_or(0);
            if host_port != 0 {
                valid = false;
                ports.insert(host_port.to_string());
            }
        }
        if !valid {
            bad_containers.push(name(c));
        }
    }
    if bad_containers.is_empty() {
        return None;
    }
    let count = bad_containers.len();
    violation(
        "hostPort",
        format!(
            "{} {} {} {}",
            containers_phrase(&bad_containers),
            pluralize("uses", "use", count),
            pluralize("hostPort", "hostPorts", ports.len()),
            sorted(&ports).join(", ")
        ),
    )
}

pub static PRIVILEGED: Check = Check {
    id: "privileged",
    level: Level::Baseline,
    versions: &[v1_0(privileged)],
};

fn privileged(_: &Value, spec: &Value) -> Option<Violation> {
    let bad: Vec<String> = containers(spec)
        .filter(|c| {
            field(c, &["securityContext", "privileged"]).and_then(Value::as_bool) == Some(true)
        })
        .map(name)
        .collect();
    if bad.is_empty() {
        return None;
    }
    violation(
        "privileged",
        format!(
            "{} must not set securityContext.privileged=true",
            containers_phrase(&bad)
        ),
    )
}

pub static PROC_MOUNT: Check = Check {
    id: "procMount",
    level: Level::Baseline,
    versions: &[v1_0(proc_mount)],
};

fn proc_mount(_: &Value, spec: &Value) -> Option<Violation> {
    let mut bad = Vec::new();
    let mut types = BTreeSet::new();
    for c in containers(spec) {
        if let Some(mount) = field(c, &["securityContext", "procMount"]) {
            let mount = mount.as_str().unwrap_or("");
            if mount != "Default" {
                bad.push(name(c));
                types.insert(mount.to_string());
            }
        }
    }
    if bad.is_empty() {
        return None;
    }
    violation(
        "procMount",
        format!(
            "{} must not set securityContext.procMount to {}",
            containers_phrase(&bad),
            join_quote(&sorted(&types))
        ),
    )
}

pub static SE_LINUX_OPTIONS: Check = Check {
    id: "seLinuxOptions",
    level: Level::Baseline,
    versions: &[v1_0(se_linux_options)],
};

const SELINUX_TYPES: &[&str] = &["", "container_t", "container_init_t", "container_kvm_t"];

fn se_linux_options(_: &Value, spec: &Value) -> Option<Violation> {
    let mut bad_types = BTreeSet::new();
    let (mut set_user, mut set_role) = (false, false);
    let mut valid = |options: &Value| {
        let mut ok = true;
        let kind = string(options, &["type"]);
        if !SELINUX_TYPES.contains(&kind) {
            ok = false;
            bad_types.insert(kind.to_string());
        }
        if !string(options, &["user"]).is_empty() {
            ok = false;
            set_user = true;
        }
        if !string(options, &["role"]).is_empty() {
            ok = false;
            set_role = true;
        }
        ok
    };
    let pod = field(spec, &["securityContext", "seLinuxOptions"]).is_some_and(|o| !valid(o));
    let bad_containers: Vec<String> = containers(spec)
        .filter(|c| field(c, &["securityContext", "seLinuxOptions"]).is_some_and(|o| !valid(o)))
        .map(name)
        .collect();
    let bad_setters = setters(pod, &bad_containers);
    if bad_setters.is_empty() {
        return None;
    }
    let mut bad_data = Vec::new();
    if !bad_types.is_empty() {
        bad_data.push(format!(
            "{} {}",
            pluralize("type", "types", bad_types.len()),
            join_quote(&sorted(&bad_types))
        ));
    }
    if set_user {
        bad_data.push("user may not be set".to_string());
    }
    if set_role {
        bad_data.push("role may not be set".to_string());
    }
    violation(
        "seLinuxOptions",
        format!(
            "{} set forbidden securityContext.seLinuxOptions: {}",
            bad_setters.join(" and "),
            bad_data.join("; ")
        ),
    )
}

pub static SECCOMP_PROFILE_BASELINE: Check = Check {
    id: "seccompProfile_baseline",
    level: Level::Baseline,
    versions: &[
        v1_0(seccomp_profile_baseline_1_0),
        Versioned {
            since: 19,
            check: seccomp_profile_baseline_1_19,
            overrides: &[],
        },
    ],
};

pub const SECCOMP_POD_ANNOTATION: &str = "seccomp.security.alpha.kubernetes.io/pod";
pub const SECCOMP_CONTAINER_ANNOTATION_PREFIX: &str =
    "container.seccomp.security.alpha.kubernetes.io/";

/// Whether a seccomp profile type is `RuntimeDefault` or `Localhost`.
pub fn valid_seccomp(kind: &str) -> bool {
    matches!(kind, "RuntimeDefault" | "Localhost")
}

fn seccomp_profile_baseline_1_0(metadata: &Value, spec: &Value) -> Option<Violation> {
    let annotations = field(metadata, &["annotations"]);
    let mut forbidden = BTreeSet::new();
    let mut check = |key: &str| {
        if let Some(value) = annotations.and_then(|a| a.get(key)) {
            let value = value.as_str().unwrap_or("");
            let valid = matches!(value, "runtime/default" | "docker/default")
                || value.starts_with("localhost/");
            if !valid {
                forbidden.insert(format!("{key}={}", go_quote(value)));
            }
        }
    };
    check(SECCOMP_POD_ANNOTATION);
    for c in containers(spec) {
        check(&format!("{SECCOMP_CONTAINER_ANNOTATION_PREFIX}{}", name(c)));
    }
    if forbidden.is_empty() {
        return None;
    }
    violation(
        "seccompProfile",
        format!(
            "forbidden {} {}",
            pluralize("annotation", "annotations", forbidden.len()),
            sorted(&forbidden).join(", ")
        ),
    )
}

fn seccomp_profile_baseline_1_19(_: &Value, spec: &Value) -> Option<Violation> {
    let mut bad_values = BTreeSet::new();
    let mut bad = |profile: Option<&Value>| match profile {
        Some(p) if !valid_seccomp(string(p, &["type"])) => {
            bad_values.insert(string(p, &["type"]).to_string());
            true
        }
        _ => false,
    };
    let pod = bad(field(spec, &["securityContext", "seccompProfile"]));
    let bad_containers: Vec<String> = containers(spec)
        .filter(|c| bad(field(c, &["securityContext", "seccompProfile"])))
        .map(name)
        .collect();
    let bad_setters = setters(pod, &bad_containers);
    if bad_setters.is_empty() {
        return None;
    }
    violation(
        "seccompProfile",
        format!(
            "{} must not set securityContext.seccompProfile.type to {}",
            bad_setters.join(" and "),
            join_quote(&sorted(&bad_values))
        ),
    )
}

pub static SYSCTLS: Check = Check {
    id: "sysctls",
    level: Level::Baseline,
    versions: &[
        v1_0(sysctls_1_0),
        Versioned {
            since: 27,
            check: sysctls_1_27,
            overrides: &[],
        },
        Versioned {
            since: 29,
            check: sysctls_1_29,
            overrides: &[],
        },
        Versioned {
            since: 32,
            check: sysctls_1_32,
            overrides: &[],
        },
    ],
};

/// The safe sysctls, each with the minor version that allowed it.
const SAFE_SYSCTLS: &[(&str, u32)] = &[
    ("kernel.shm_rmid_forced", 0),
    ("net.ipv4.ip_local_port_range", 0),
    ("net.ipv4.tcp_syncookies", 0),
    ("net.ipv4.ping_group_range", 0),
    ("net.ipv4.ip_unprivileged_port_start", 0),
    ("net.ipv4.ip_local_reserved_ports", 27),
    ("net.ipv4.tcp_keepalive_time", 29),
    ("net.ipv4.tcp_fin_timeout", 29),
    ("net.ipv4.tcp_keepalive_intvl", 29),
    ("net.ipv4.tcp_keepalive_probes", 29),
    ("net.ipv4.tcp_rmem", 32),
    ("net.ipv4.tcp_wmem", 32),
];

fn sysctls_since(spec: &Value, minor: u32) -> Option<Violation> {
    let forbidden: Vec<&str> = field(spec, &["securityContext", "sysctls"])
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|s| string(s, &["name"]))
        .filter(|n| {
            !SAFE_SYSCTLS
                .iter()
                .any(|(safe, v)| safe == n && *v <= minor)
        })
        .collect();
    if forbidden.is_empty() {
        return None;
    }
    violation("forbidden sysctls", forbidden.join(", "))
}

fn sysctls_1_0(_: &Value, spec: &Value) -> Option<Violation> {
    sysctls_since(spec, 0)
}

fn sysctls_1_27(_: &Value, spec: &Value) -> Option<Violation> {
    sysctls_since(spec, 27)
}

fn sysctls_1_29(_: &Value, spec: &Value) -> Option<Violation> {
    sysctls_since(spec, 29)
}

fn sysctls_1_32(_: &Value, spec: &Value) -> Option<Violation> {
    sysctls_since(spec, 32)
}

pub static WINDOWS_HOST_PROCESS: Check = Check {
    id: "windowsHostProcess",
    level: Level::Baseline,
    versions: &[v1_0(windows_host_process)],
};

fn windows_host_process(_: &Value, spec: &Value) -> Option<Violation> {
    let host_process = |v: &Value| {
        field(v, &["securityContext", "windowsOptions", "hostProcess"]).and_then(Value::as_bool)
            == Some(true)
    };
    let bad_containers: Vec<String> = containers(spec)
        .filter(|c| host_process(c))
        .map(name)
        .collect();
    let bad_setters = setters(host_process(spec), &bad_containers);
    if bad_setters.is_empty() {
        return None;
    }
    violation(
        "hostProcess",
        format!(
            "{} must not set securityContext.windowsOptions.hostProcess=true",
            bad_setters.join(" and ")
        ),
    )
}
