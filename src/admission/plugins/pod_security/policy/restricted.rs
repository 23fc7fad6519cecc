//! The restricted level's own checks (`policy/check_*.go`); restricted also runs every
//! baseline check these do not override.

use std::collections::BTreeSet;

use serde_json::Value;

use super::baseline::valid_seccomp;
use super::helpers::{
    containers, containers_phrase, field, is_windows, join_quote, name, pluralize, sorted, string,
    strings, violation,
};
use super::{Check, Versioned, Violation};
use crate::admission::plugins::pod_security::api::Level;

pub static ALLOW_PRIVILEGE_ESCALATION: Check = Check {
    id: "allowPrivilegeEscalation",
    level: Level::Restricted,
    versions: &[
        Versioned {
            since: 8,
            check: allow_privilege_escalation_1_8,
            overrides: &[],
        },
        Versioned {
            since: 25,
            check: allow_privilege_escalation_1_25,
            overrides: &[],
        },
    ],
};

fn allow_privilege_escalation_1_8(_: &Value, spec: &Value) -> Option<Violation> {
    let bad: Vec<String> = containers(spec)
        .filter(|c| {
            field(c, &["securityContext", "allowPrivilegeEscalation"]).and_then(Value::as_bool)
                != Some(false)
        })
        .map(name)
        .collect();
    if bad.is_empty() {
        return None;
    }
    violation(
        "allowPrivilegeEscalation != false",
        format!(
            "{} must set securityContext.allowPrivilegeEscalation=false",
            containers_phrase(&bad)
        ),
    )
}

/// From 1.25, pods that declare `spec.os.name: windows` pass.
fn allow_privilege_escalation_1_25(metadata: &Value, spec: &Value) -> Option<Violation> {
    if is_windows(spec) {
        return None;
    }
    allow_privilege_escalation_1_8(metadata, spec)
}

pub static CAPABILITIES_RESTRICTED: Check = Check {
    id: "capabilities_restricted",
    level: Level::Restricted,
    versions: &[
        Versioned {
            since: 22,
            check: capabilities_restricted_1_22,
            overrides: &["capabilities_baseline"],
        },
        Versioned {
            since: 25,
            check: capabilities_restricted_1_25,
            overrides: &["capabilities_baseline"],
        },
    ],
};

fn capabilities_restricted_1_22(_: &Value, spec: &Value) -> Option<Violation> {
    let mut missing_drop_all = Vec::new();
    let mut adding_forbidden = Vec::new();
    let mut forbidden = BTreeSet::new();
    for c in containers(spec) {
        if field(c, &["securityContext", "capabilities"]).is_none() {
            missing_drop_all.push(name(c));
            continue;
        }
        if !strings(c, &["securityContext", "capabilities", "drop"]).contains(&"ALL") {
            missing_drop_all.push(name(c));
        }
        let mut added_forbidden = false;
        for cap in strings(c, &["securityContext", "capabilities", "add"]) {
            if cap != "NET_BIND_SERVICE" {
                added_forbidden = true;
                forbidden.insert(cap.to_string());
            }
        }
        if added_forbidden {
            adding_forbidden.push(name(c));
        }
    }
    let mut details = Vec::new();
    if !missing_drop_all.is_empty() {
        details.push(format!(
            r#"{} must set securityContext.capabilities.drop=["ALL"]"#,
            containers_phrase(&missing_drop_all)
        ));
    }
    if !adding_forbidden.is_empty() {
        details.push(format!(
            "{} must not include {} in securityContext.capabilities.add",
            containers_phrase(&adding_forbidden),
            join_quote(&sorted(&forbidden))
        ));
    }
    if details.is_empty() {
        return None;
    }
    violation("unrestricted capabilities", details.join("; "))
}

/// From 1.25, pods that declare `spec.os.name: windows` pass.
fn capabilities_restricted_1_25(metadata: &Value, spec: &Value) -> Option<Violation> {
    if is_windows(spec) {
        return None;
    }
    capabilities_restricted_1_22(metadata, spec)
}

pub static RESTRICTED_VOLUMES: Check = Check {
    id: "restrictedVolumes",
    level: Level::Restricted,
    versions: &[Versioned {
        since: 0,
        check: restricted_volumes,
        overrides: &["hostPathVolumes"],
    }],
};

const ALLOWED_VOLUME_SOURCES: &[&str] = &[
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "image",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

/// In upstream's order of precedence.
const RESTRICTED_VOLUME_SOURCES: &[&str] = &[
    "hostPath",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "nfs",
    "iscsi",
    "glusterfs",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "fc",
    "azureFile",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "portworxVolume",
    "scaleIO",
    "storageos",
];

fn restricted_volumes(_: &Value, spec: &Value) -> Option<Violation> {
    let mut bad_volumes = Vec::new();
    let mut bad_types = BTreeSet::new();
    let volumes = spec.get("volumes").and_then(Value::as_array);
    for volume in volumes.into_iter().flatten() {
        if ALLOWED_VOLUME_SOURCES
            .iter()
            .any(|s| field(volume, &[s]).is_some())
        {
            continue;
        }
        bad_volumes.push(name(volume));
        let kind = RESTRICTED_VOLUME_SOURCES
            .iter()
            .find(|s| field(volume, &[s]).is_some())
            .copied()
            .unwrap_or("unknown");
        bad_types.insert(kind.to_string());
    }
    if bad_volumes.is_empty() {
        return None;
    }
    let count = bad_volumes.len();
    violation(
        "restricted volume types",
        format!(
            "{} {} {} {} {}",
            pluralize("volume", "volumes", count),
            join_quote(&bad_volumes),
            pluralize("uses", "use", count),
            pluralize(
                "restricted volume type",
                "restricted volume types",
                bad_types.len()
            ),
            join_quote(&sorted(&bad_types))
        ),
    )
}

pub static RUN_AS_NON_ROOT: Check = Check {
    id: "runAsNonRoot",
    level: Level::Restricted,
    versions: &[Versioned {
        since: 0,
        check: run_as_non_root,
        overrides: &[],
    }],
};

fn run_as_non_root(_: &Value, spec: &Value) -> Option<Violation> {
    let mut bad_setters = Vec::new();
    let pod = field(spec, &["securityContext", "runAsNonRoot"]).and_then(Value::as_bool);
    if pod == Some(false) {
        bad_setters.push("pod".to_string());
    }
    let pod_non_root = pod == Some(true);
    let mut explicitly_bad = Vec::new();
    let mut implicitly_bad = Vec::new();
    for c in containers(spec) {
        match field(c, &["securityContext", "runAsNonRoot"]).and_then(Value::as_bool) {
            Some(false) => explicitly_bad.push(name(c)),
            Some(true) => {}
            None if !pod_non_root => implicitly_bad.push(name(c)),
            None => {}
        }
    }
    if !explicitly_bad.is_empty() {
        bad_setters.push(containers_phrase(&explicitly_bad));
    }
    if !bad_setters.is_empty() {
        return violation(
            "runAsNonRoot != true",
            format!(
                "{} must not set securityContext.runAsNonRoot=false",
                bad_setters.join(" and ")
            ),
        );
    }
    if !implicitly_bad.is_empty() {
        return violation(
            "runAsNonRoot != true",
            format!(
                "pod or {} must set securityContext.runAsNonRoot=true",
                containers_phrase(&implicitly_bad)
            ),
        );
    }
    None
}

pub static RUN_AS_USER: Check = Check {
    id: "runAsUser",
    level: Level::Restricted,
    versions: &[Versioned {
        since: 23,
        check: run_as_user,
        overrides: &[],
    }],
};

fn run_as_user(_: &Value, spec: &Value) -> Option<Violation> {
    let root =
        |v: &Value| field(v, &["securityContext", "runAsUser"]).and_then(Value::as_i64) == Some(0);
    let mut bad_setters = Vec::new();
    if root(spec) {
        bad_setters.push("pod".to_string());
    }
    let bad: Vec<String> = containers(spec).filter(|c| root(c)).map(name).collect();
    if !bad.is_empty() {
        bad_setters.push(containers_phrase(&bad));
    }
    if bad_setters.is_empty() {
        return None;
    }
    violation(
        "runAsUser=0",
        format!("{} must not set runAsUser=0", bad_setters.join(" and ")),
    )
}

pub static SECCOMP_PROFILE_RESTRICTED: Check = Check {
    id: "seccompProfile_restricted",
    level: Level::Restricted,
    versions: &[
        Versioned {
            since: 19,
            check: seccomp_profile_restricted_1_19,
            overrides: &["seccompProfile_baseline"],
        },
        Versioned {
            since: 25,
            check: seccomp_profile_restricted_1_25,
            overrides: &["seccompProfile_baseline"],
        },
    ],
};

fn seccomp_profile_restricted_1_19(_: &Value, spec: &Value) -> Option<Violation> {
    let mut bad_setters = Vec::new();
    let mut bad_values = BTreeSet::new();
    let mut pod_set = false;
    if let Some(profile) = field(spec, &["securityContext", "seccompProfile"]) {
        let kind = string(profile, &["type"]);
        if valid_seccomp(kind) {
            pod_set = true;
        } else {
            bad_setters.push("pod".to_string());
            bad_values.insert(kind.to_string());
        }
    }
    let mut explicitly_bad = Vec::new();
    let mut implicitly_bad = Vec::new();
    for c in containers(spec) {
        match field(c, &["securityContext", "seccompProfile"]) {
            Some(profile) => {
                let kind = string(profile, &["type"]);
                if !valid_seccomp(kind) {
                    explicitly_bad.push(name(c));
                    bad_values.insert(kind.to_string());
                }
            }
            None if !pod_set => implicitly_bad.push(name(c)),
            None => {}
        }
    }
    if !explicitly_bad.is_empty() {
        bad_setters.push(containers_phrase(&explicitly_bad));
    }
    if !bad_setters.is_empty() {
        return violation(
            "seccompProfile",
            format!(
                "{} must not set securityContext.seccompProfile.type to {}",
                bad_setters.join(" and "),
                join_quote(&sorted(&bad_values))
            ),
        );
    }
    if !implicitly_bad.is_empty() {
        return violation(
            "seccompProfile",
            format!(
                r#"pod or {} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost""#,
                containers_phrase(&implicitly_bad)
            ),
        );
    }
    None
}

/// From 1.25, pods that declare `spec.os.name: windows` pass.
fn seccomp_profile_restricted_1_25(metadata: &Value, spec: &Value) -> Option<Violation> {
    if is_windows(spec) {
        return None;
    }
    seccomp_profile_restricted_1_19(metadata, spec)
}
