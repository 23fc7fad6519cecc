//! The version `/version` reports (upstream's `version.Info`).

use serde::Serialize;

/// The Kubernetes version Apiary serves, as `/version` reports it (upstream's `version.Info`, in
/// its field order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionInfo {
    pub major: String,
    pub minor: String,
    pub emulation_major: String,
    pub emulation_minor: String,
    pub min_compatibility_major: String,
    pub min_compatibility_minor: String,
    pub git_version: String,
    pub git_commit: String,
    pub git_tree_state: String,
    pub build_date: String,
    pub go_version: String,
    pub compiler: String,
    pub platform: String,
}

/// The Kubernetes release whose API Apiary serves.
pub const KUBERNETES_MAJOR: &str = "1";
pub const KUBERNETES_MINOR: &str = "33";
pub const KUBERNETES_GIT_VERSION: &str = "v1.33.0";

impl VersionInfo {
    /// This build's version information. `APIARY_GIT_COMMIT` and `APIARY_BUILD_DATE`, when set at
    /// compile time, fill `gitCommit` and `buildDate`.
    pub fn current() -> Self {
        Self {
            major: KUBERNETES_MAJOR.into(),
            minor: KUBERNETES_MINOR.into(),
            emulation_major: KUBERNETES_MAJOR.into(),
            emulation_minor: KUBERNETES_MINOR.into(),
            min_compatibility_major: KUBERNETES_MAJOR.into(),
            min_compatibility_minor: "32".into(),
            git_version: KUBERNETES_GIT_VERSION.into(),
            git_commit: option_env!("APIARY_GIT_COMMIT").unwrap_or("").into(),
            git_tree_state: if option_env!("APIARY_GIT_COMMIT").is_some() {
                "clean"
            } else {
                ""
            }
            .into(),
            build_date: option_env!("APIARY_BUILD_DATE")
                .unwrap_or("1970-01-01T00:00:00Z")
                .into(),
            go_version: String::new(),
            compiler: "rustc".into(),
            platform: platform(),
        }
    }
}

/// `linux/amd64`, `darwin/arm64`: Go's names for this build's target.
pub fn platform() -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    };
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    };
    format!("{os}/{arch}")
}
