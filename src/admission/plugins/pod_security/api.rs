//! Levels, versions and the namespace labels of Pod Security Admission
//! (`staging/src/k8s.io/pod-security-admission/api`).

use std::collections::BTreeMap;
use std::fmt;

use crate::registry::validation::FieldError;

pub const ENFORCE_LEVEL_LABEL: &str = "pod-security.kubernetes.io/enforce";
pub const ENFORCE_VERSION_LABEL: &str = "pod-security.kubernetes.io/enforce-version";
pub const AUDIT_LEVEL_LABEL: &str = "pod-security.kubernetes.io/audit";
pub const AUDIT_VERSION_LABEL: &str = "pod-security.kubernetes.io/audit-version";
pub const WARN_LEVEL_LABEL: &str = "pod-security.kubernetes.io/warn";
pub const WARN_VERSION_LABEL: &str = "pod-security.kubernetes.io/warn-version";

/// Audit annotation keys, without upstream's `pod-security.kubernetes.io/` prefix.
pub const ANNOTATION_PREFIX: &str = "pod-security.kubernetes.io/";
pub const ENFORCED_POLICY_ANNOTATION: &str = "enforce-policy";
pub const AUDIT_VIOLATIONS_ANNOTATION: &str = "audit-violations";
pub const EXEMPT_ANNOTATION: &str = "exempt";
pub const ERROR_ANNOTATION: &str = "error";

/// A Pod Security Standards level, from the least to the most strict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Privileged,
    Baseline,
    Restricted,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Privileged => "privileged",
            Level::Baseline => "baseline",
            Level::Restricted => "restricted",
        }
    }

    /// Upstream's `ParseLevel`: an unknown level is `restricted` and an error.
    pub fn parse(level: &str) -> Result<Level, (Level, String)> {
        match level {
            "privileged" => Ok(Level::Privileged),
            "baseline" => Ok(Level::Baseline),
            "restricted" => Ok(Level::Restricted),
            _ => Err((
                Level::Restricted,
                "must be one of privileged, baseline, restricted".to_string(),
            )),
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A policy version: `v1.<minor>` or `latest` (newer than every version).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    Minor(u32),
    Latest,
}

impl Version {
    /// Upstream's `ParseVersion`: anything but `latest` or `v1.x` is `latest` and an error.
    pub fn parse(version: &str) -> Result<Version, (Version, String)> {
        if version == "latest" {
            return Ok(Version::Latest);
        }
        let invalid = || (Version::Latest, r#"must be "latest" or "v1.x""#.to_string());
        let minor = version.strip_prefix("v1.").ok_or_else(invalid)?;
        let well_formed = !minor.is_empty()
            && minor.bytes().all(|b| b.is_ascii_digit())
            && (minor == "0" || !minor.starts_with('0'));
        if !well_formed {
            return Err(invalid());
        }
        minor.parse().map(Version::Minor).map_err(|_| invalid())
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Version::Minor(minor) => write!(f, "v1.{minor}"),
            Version::Latest => f.write_str("latest"),
        }
    }
}

/// A level at a version, printed `restricted:latest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LevelVersion {
    pub level: Level,
    pub version: Version,
}

impl LevelVersion {
    pub const PRIVILEGED_LATEST: LevelVersion = LevelVersion {
        level: Level::Privileged,
        version: Version::Latest,
    };

    /// Same level, and same version unless privileged (whose version means nothing).
    fn equivalent(&self, other: &LevelVersion) -> bool {
        self.level == other.level
            && (self.level == Level::Privileged || self.version == other.version)
    }
}

impl fmt::Display for LevelVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.level, self.version)
    }
}

/// The three modes of a namespace's policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub enforce: LevelVersion,
    pub audit: LevelVersion,
    pub warn: LevelVersion,
}

impl Policy {
    pub const PRIVILEGED: Policy = Policy {
        enforce: LevelVersion::PRIVILEGED_LATEST,
        audit: LevelVersion::PRIVILEGED_LATEST,
        warn: LevelVersion::PRIVILEGED_LATEST,
    };

    pub fn fully_privileged(&self) -> bool {
        [self.enforce, self.audit, self.warn]
            .iter()
            .all(|lv| lv.level == Level::Privileged)
    }

    pub fn equivalent(&self, other: &Policy) -> bool {
        self.enforce.equivalent(&other.enforce)
            && self.audit.equivalent(&other.audit)
            && self.warn.equivalent(&other.warn)
    }
}

/// Upstream's `PolicyToEvaluate`: the namespace's labels over `defaults`. A bad enforce label
/// fails closed (`restricted`, `latest`); a bad audit or warn level fails open (`privileged`).
/// The errors are `metadata.labels[...]` field errors.
pub fn policy_to_evaluate(
    labels: Option<&BTreeMap<String, String>>,
    defaults: Policy,
) -> (Policy, Vec<FieldError>) {
    let mut policy = defaults;
    let mut errors = Vec::new();
    let Some(labels) = labels.filter(|l| !l.is_empty()) else {
        return (policy, errors);
    };
    let mut invalid = |label: &str, value: &str, why: String| {
        errors.push(FieldError::invalid(
            format!("metadata.labels[{label}]"),
            value,
            why,
        ));
    };
    let modes: [(&mut LevelVersion, &str, &str, bool); 3] = [
        (
            &mut policy.enforce,
            ENFORCE_LEVEL_LABEL,
            ENFORCE_VERSION_LABEL,
            false,
        ),
        (
            &mut policy.audit,
            AUDIT_LEVEL_LABEL,
            AUDIT_VERSION_LABEL,
            true,
        ),
        (&mut policy.warn, WARN_LEVEL_LABEL, WARN_VERSION_LABEL, true),
    ];
    for (mode, level_label, version_label, fail_open) in modes {
        if let Some(value) = labels.get(level_label) {
            mode.level = match Level::parse(value) {
                Ok(level) => level,
                Err((level, why)) => {
                    invalid(level_label, value, why);
                    if fail_open {
                        Level::Privileged
                    } else {
                        level
                    }
                }
            };
        }
        if let Some(value) = labels.get(version_label) {
            mode.version = match Version::parse(value) {
                Ok(version) => version,
                Err((version, why)) => {
                    invalid(version_label, value, why);
                    version
                }
            };
        }
    }
    (policy, errors)
}

/// The labels of a namespace object.
pub fn labels_of(namespace: &serde_json::Value) -> BTreeMap<String, String> {
    namespace
        .pointer("/metadata/labels")
        .and_then(serde_json::Value::as_object)
        .map(|labels| {
            labels
                .iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// Field errors aggregated as upstream's `ErrorList.ToAggregate().Error()` prints them.
pub fn aggregate(errors: &[FieldError]) -> String {
    match errors {
        [one] => one.to_string(),
        many => format!(
            "[{}]",
            many.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}
