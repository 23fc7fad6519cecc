//! The Pod Security Standards checks (`pod-security-admission/policy`): each check has an id, a
//! level and versions; a level at a version runs the newest version of every check of that level
//! (restricted includes baseline's, less the ones it overrides), in upstream's order: baseline
//! checks by id, then restricted checks by id.

mod baseline;
mod helpers;
mod restricted;

use serde_json::Value;

pub use self::baseline::SECCOMP_CONTAINER_ANNOTATION_PREFIX;
use super::api::{Level, LevelVersion, Version};

/// What one check found wrong: upstream's `ForbiddenReason` and `ForbiddenDetail`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub reason: String,
    pub detail: String,
}

/// A check of one version: the pod's metadata and spec in, a violation out.
pub type CheckFn = fn(&Value, &Value) -> Option<Violation>;

/// One version of a check, in force from `v1.<since>`, overriding the baseline checks named.
pub struct Versioned {
    pub since: u32,
    pub check: CheckFn,
    pub overrides: &'static [&'static str],
}

pub struct Check {
    pub id: &'static str,
    pub level: Level,
    /// Oldest first.
    pub versions: &'static [Versioned],
}

/// Every check, baseline first, each level's by id (upstream sorts the ids bytewise).
fn checks() -> [&'static Check; 17] {
    [
        &baseline::APP_ARMOR_PROFILE,
        &baseline::CAPABILITIES_BASELINE,
        &baseline::HOST_NAMESPACES,
        &baseline::HOST_PATH_VOLUMES,
        &baseline::HOST_PORTS,
        &baseline::PRIVILEGED,
        &baseline::PROC_MOUNT,
        &baseline::SE_LINUX_OPTIONS,
        &baseline::SECCOMP_PROFILE_BASELINE,
        &baseline::SYSCTLS,
        &baseline::WINDOWS_HOST_PROCESS,
        &restricted::ALLOW_PRIVILEGE_ESCALATION,
        &restricted::CAPABILITIES_RESTRICTED,
        &restricted::RESTRICTED_VOLUMES,
        &restricted::RUN_AS_NON_ROOT,
        &restricted::RUN_AS_USER,
        &restricted::SECCOMP_PROFILE_RESTRICTED,
    ]
}

/// The newest minor version any check has: `latest` and newer versions evaluate as this one.
pub fn max_minor() -> u32 {
    checks()
        .iter()
        .filter_map(|c| c.versions.last().map(|v| v.since))
        .max()
        .unwrap_or(0)
}

/// The version of `check` in force at minor `minor`, if any.
fn version_at(check: &Check, minor: u32) -> Option<&Versioned> {
    check.versions.iter().rev().find(|v| v.since <= minor)
}

/// Upstream's `EvaluatePod`: the violations of the pod (`metadata`, `spec`) against `lv`.
pub fn evaluate(lv: LevelVersion, metadata: &Value, spec: &Value) -> Vec<Violation> {
    if lv.level == Level::Privileged {
        return Vec::new();
    }
    let max = max_minor();
    let minor = match lv.version {
        Version::Minor(minor) => minor.min(max),
        Version::Latest => max,
    };
    let all = checks();
    let active: Vec<(&Check, &Versioned)> = all
        .iter()
        .filter(|c| c.level <= lv.level)
        .filter_map(|c| version_at(c, minor).map(|v| (*c, v)))
        .collect();
    let overridden: Vec<&str> = if lv.level == Level::Restricted {
        active
            .iter()
            .filter(|(c, _)| c.level == Level::Restricted)
            .flat_map(|(_, v)| v.overrides.iter().copied())
            .collect()
    } else {
        Vec::new()
    };
    active
        .into_iter()
        .filter(|(c, _)| !(c.level == Level::Baseline && overridden.contains(&c.id)))
        .filter_map(|(_, v)| (v.check)(metadata, spec))
        .collect()
}

/// Upstream's `AggregateCheckResult`: the violations of one evaluation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Aggregate {
    pub violations: Vec<Violation>,
}

impl Aggregate {
    pub fn allowed(&self) -> bool {
        self.violations.is_empty()
    }

    /// `reason, reason`.
    pub fn forbidden_reason(&self) -> String {
        self.violations
            .iter()
            .map(|v| v.reason.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `reason (detail), reason (detail)`.
    pub fn forbidden_detail(&self) -> String {
        self.violations
            .iter()
            .map(|v| {
                if v.detail.is_empty() {
                    v.reason.clone()
                } else {
                    format!("{} ({})", v.reason, v.detail)
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Evaluates and aggregates.
pub fn aggregate(lv: LevelVersion, metadata: &Value, spec: &Value) -> Aggregate {
    Aggregate {
        violations: evaluate(lv, metadata, spec),
    }
}
