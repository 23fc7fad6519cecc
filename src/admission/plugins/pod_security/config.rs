//! The plugin's configuration: a `pod-security.admission.config.k8s.io/v1`
//! `PodSecurityConfiguration` (`admission/api/v1`): defaults for namespaces without labels, and
//! exempt usernames, runtime classes and namespaces.

use std::collections::HashSet;

use serde_json::Value;

use super::api::{Level, LevelVersion, Policy, Version};

const API_VERSIONS: &[&str] = &[
    "pod-security.admission.config.k8s.io/v1",
    "pod-security.admission.config.k8s.io/v1beta1",
    "pod-security.admission.config.k8s.io/v1alpha1",
];

/// The parsed configuration; upstream's defaults (all `privileged:latest`, no exemptions)
/// when the AdmissionConfiguration gives none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Configuration {
    pub defaults: Policy,
    pub exempt_usernames: HashSet<String>,
    pub exempt_runtime_classes: HashSet<String>,
    pub exempt_namespaces: HashSet<String>,
}

impl Default for Configuration {
    fn default() -> Self {
        Self {
            defaults: Policy::PRIVILEGED,
            exempt_usernames: HashSet::new(),
            exempt_runtime_classes: HashSet::new(),
            exempt_namespaces: HashSet::new(),
        }
    }
}

impl Configuration {
    /// Parses and validates `value`; the error lists every problem.
    pub fn parse(value: Option<&Value>) -> Result<Self, String> {
        let mut config = Configuration::default();
        let Some(value) = value else {
            return Ok(config);
        };
        let Some(object) = value.as_object() else {
            return Err("PodSecurity configuration must be an object".into());
        };
        let api_version = object.get("apiVersion").and_then(Value::as_str);
        let kind = object.get("kind").and_then(Value::as_str);
        if kind != Some("PodSecurityConfiguration")
            || !api_version.is_some_and(|v| API_VERSIONS.contains(&v))
        {
            return Err(format!(
                "expected pod-security.admission.config.k8s.io/v1 PodSecurityConfiguration, got {} {}",
                api_version.unwrap_or(""),
                kind.unwrap_or("")
            ));
        }
        let mut errors = Vec::new();
        for key in object.keys() {
            if !["apiVersion", "kind", "defaults", "exemptions"].contains(&key.as_str()) {
                errors.push(format!("unknown field \"{key}\""));
            }
        }
        let defaults = object.get("defaults").unwrap_or(&Value::Null);
        let modes = [
            ("enforce", &mut config.defaults.enforce),
            ("audit", &mut config.defaults.audit),
            ("warn", &mut config.defaults.warn),
        ];
        for (mode, level_version) in modes {
            *level_version = parse_mode(defaults, mode, &mut errors);
        }
        if let Some(defaults) = defaults.as_object() {
            const KNOWN: &[&str] = &[
                "enforce",
                "enforce-version",
                "audit",
                "audit-version",
                "warn",
                "warn-version",
            ];
            for key in defaults.keys().filter(|k| !KNOWN.contains(&k.as_str())) {
                errors.push(format!("defaults: unknown field \"{key}\""));
            }
        }
        let exemptions = object.get("exemptions").unwrap_or(&Value::Null);
        config.exempt_usernames = string_set(exemptions, "usernames", &mut errors);
        config.exempt_runtime_classes = string_set(exemptions, "runtimeClasses", &mut errors);
        config.exempt_namespaces = string_set(exemptions, "namespaces", &mut errors);
        if errors.is_empty() {
            Ok(config)
        } else {
            Err(errors.join(", "))
        }
    }
}

/// `defaults.<mode>` and `defaults.<mode>-version` (each defaults to `privileged`/`latest`).
fn parse_mode(defaults: &Value, mode: &str, errors: &mut Vec<String>) -> LevelVersion {
    let mut level_version = LevelVersion::PRIVILEGED_LATEST;
    if let Some(level) = defaults.get(mode).filter(|v| !v.is_null()) {
        match level.as_str().map(Level::parse) {
            Some(Ok(level)) => level_version.level = level,
            _ => errors.push(format!(
                "defaults.{mode}: Invalid value: {level}: must be one of privileged, baseline, restricted"
            )),
        }
    }
    let key = format!("{mode}-version");
    if let Some(version) = defaults.get(&key).filter(|v| !v.is_null()) {
        match version.as_str().map(Version::parse) {
            Some(Ok(version)) => level_version.version = version,
            _ => errors.push(format!(
                "defaults.{key}: Invalid value: {version}: must be \"latest\" or \"v1.x\""
            )),
        }
    }
    level_version
}

/// `exemptions.<key>`: a list of distinct, non-empty strings.
fn string_set(exemptions: &Value, key: &str, errors: &mut Vec<String>) -> HashSet<String> {
    let mut set = HashSet::new();
    let Some(list) = exemptions.get(key).filter(|v| !v.is_null()) else {
        return set;
    };
    let Some(items) = list.as_array() else {
        errors.push(format!("exemptions.{key}: must be a list of strings"));
        return set;
    };
    for (i, item) in items.iter().enumerate() {
        match item.as_str() {
            Some("") => errors.push(format!(
                "exemptions.{key}[{i}]: Invalid value: \"\": must be non-empty"
            )),
            Some(s) if !set.insert(s.to_string()) => {
                errors.push(format!("exemptions.{key}[{i}]: Duplicate value: \"{s}\""))
            }
            Some(_) => {}
            None => errors.push(format!("exemptions.{key}[{i}]: must be a string")),
        }
    }
    set
}
