//! The audit policy: upstream's `audit.k8s.io/v1` `Policy`, its reader and its checker
//! (`k8s.io/apiserver/pkg/audit/policy/{reader,checker}.go`,
//! `k8s.io/apiserver/pkg/apis/audit/validation`).
//!
//! A policy is an ordered list of rules; the first rule that matches a request decides its
//! [`Level`] and the stages left out of the log. No match: [`Level::None`] (not audited).
//!
//! Loading follows upstream: the document (YAML or JSON) must be `apiVersion: audit.k8s.io/v1`,
//! `kind: Policy`; unknown fields are reported as a strict-decoding warning and otherwise ignored
//! (upstream falls back to lenient decoding); the rules are validated (levels, stages,
//! non-resource URLs, groups) and a policy without rules is refused.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::api::go_fmt::go_string_slice;
use crate::api::names::is_dns1123_subdomain;
use crate::request::info::RequestInfo;
use crate::request::user::UserInfo;

/// The only accepted `apiVersion` of a policy file.
pub const POLICY_API_VERSION: &str = "audit.k8s.io/v1";

/// How much of a request is recorded. Ordered: `None < Metadata < Request < RequestResponse`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Level {
    /// Not audited.
    None,
    /// Who, what, when, and the response status; no bodies.
    Metadata,
    /// Metadata and the request body.
    Request,
    /// Metadata, the request body and the response body.
    RequestResponse,
}

impl Level {
    /// The level's name, as written in policies and events.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "None",
            Self::Metadata => "Metadata",
            Self::Request => "Request",
            Self::RequestResponse => "RequestResponse",
        }
    }

    fn parse(value: &str) -> Option<Self> {
        [
            Self::None,
            Self::Metadata,
            Self::Request,
            Self::RequestResponse,
        ]
        .into_iter()
        .find(|level| level.as_str() == value)
    }
}

/// A point in the handling of a request at which an event is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Stage {
    /// As soon as the audit filter sees the request.
    RequestReceived,
    /// The response headers were sent; only for long-running requests (watch, exec, logs).
    ResponseStarted,
    /// The response is complete.
    ResponseComplete,
    /// A handler panicked.
    Panic,
}

impl Stage {
    const ALL: [Stage; 4] = [
        Self::RequestReceived,
        Self::ResponseStarted,
        Self::ResponseComplete,
        Self::Panic,
    ];

    /// The stage's name, as written in policies and events.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RequestReceived => "RequestReceived",
            Self::ResponseStarted => "ResponseStarted",
            Self::ResponseComplete => "ResponseComplete",
            Self::Panic => "Panic",
        }
    }

    fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|stage| stage.as_str() == value)
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A set of stages (the stages a rule omits).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct StageSet(u8);

impl StageSet {
    /// Whether `stage` is in the set.
    pub fn contains(self, stage: Stage) -> bool {
        self.0 & stage.bit() != 0
    }

    /// The set with `stage` added.
    pub fn with(self, stage: Stage) -> Self {
        Self(self.0 | stage.bit())
    }

    /// The union of two sets.
    pub fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }
}

impl FromIterator<Stage> for StageSet {
    fn from_iter<I: IntoIterator<Item = Stage>>(iter: I) -> Self {
        iter.into_iter()
            .fold(Self::default(), |set, stage| set.with(stage))
    }
}

/// Resources of one API group a rule applies to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupResources {
    /// The API group; empty for the core group.
    pub group: String,
    /// `pods`, `pods/log` (a subresource), `*` (everything, subresources included), `*/status`
    /// (that subresource of every resource), `pods/*` (pods and all their subresources). Empty:
    /// every resource of the group.
    pub resources: Vec<String>,
    /// Object names; empty: any.
    pub resource_names: Vec<String>,
}

/// One rule of a policy. Empty lists match anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRule {
    pub level: Level,
    pub users: Vec<String>,
    pub user_groups: Vec<String>,
    pub verbs: Vec<String>,
    pub resources: Vec<GroupResources>,
    /// Namespaces; `""` matches cluster-scoped requests.
    pub namespaces: Vec<String>,
    /// Non-resource paths, exact or with a trailing `*`.
    pub non_resource_urls: Vec<String>,
    /// The rule's own omitted stages united with the policy's.
    pub omit_stages: StageSet,
    /// Overrides the policy's `omitManagedFields` when set.
    pub omit_managed_fields: Option<bool>,
}

/// A loaded, validated policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub rules: Vec<PolicyRule>,
    /// Stages no event is written at, whatever the rule.
    pub omit_stages: StageSet,
    /// Whether request and response bodies lose `metadata.managedFields` by default.
    pub omit_managed_fields: bool,
}

/// What the policy decided for one request (upstream's `RequestAuditConfig`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestAuditConfig {
    pub level: Level,
    pub omit_stages: StageSet,
    pub omit_managed_fields: bool,
}

/// The request facts rules are matched against (a subset of authorizer attributes).
#[derive(Debug, Clone, Copy, Default)]
pub struct PolicyAttributes<'a> {
    /// The authenticated user; `None` for requests that failed authentication.
    pub user: Option<&'a UserInfo>,
    pub verb: &'a str,
    pub is_resource_request: bool,
    pub path: &'a str,
    pub api_group: &'a str,
    pub namespace: &'a str,
    pub resource: &'a str,
    pub subresource: &'a str,
    pub name: &'a str,
}

impl<'a> PolicyAttributes<'a> {
    /// The attributes of a request described by `info`, made by `user`.
    pub fn of_request(user: Option<&'a UserInfo>, info: &'a RequestInfo) -> Self {
        Self {
            user,
            verb: &info.verb,
            is_resource_request: info.is_resource_request,
            path: &info.path,
            api_group: &info.api_group,
            namespace: &info.namespace,
            resource: &info.resource,
            subresource: &info.subresource,
            name: &info.name,
        }
    }
}

impl Policy {
    /// Reads and validates a policy file. The error is upstream's text, ending in
    /// `: from file <path>` when the contents are at fault.
    pub fn load_file(path: &Path) -> Result<Self, String> {
        let bytes = std::fs::read(path)
            .map_err(|err| format!("failed to read file path {:?}: {err}", path.display()))?;
        Self::from_bytes(&bytes).map_err(|err| format!("{err}: from file {}", path.display()))
    }

    /// Decodes and validates a policy document (YAML or JSON).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err("unknown group version field /, Kind= in policy".to_string());
        }
        let document: Value = serde_yaml::from_slice(bytes)
            .map_err(|err| format!("failed decoding: error converting YAML to JSON: {err}"))?;
        let document = match document {
            Value::Null => Value::Object(Default::default()),
            other => other,
        };
        let Value::Object(fields) = &document else {
            return Err(
                "failed decoding: couldn't get version/kind; json parse error: the policy is not an object"
                    .to_string(),
            );
        };
        let api_version = fields
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("");
        let kind = fields.get("kind").and_then(Value::as_str).unwrap_or("");
        if api_version.is_empty() {
            return Err(format!(
                "unknown group version field /, Kind={kind} in policy"
            ));
        }
        if kind.is_empty() {
            return Err("failed decoding: Object 'Kind' is missing in the policy".to_string());
        }
        if api_version != POLICY_API_VERSION || kind != "Policy" {
            return Err(format!(
                "failed decoding: no kind {kind:?} is registered for version {api_version:?}"
            ));
        }

        let unknown = unknown_fields(&document);
        if !unknown.is_empty() {
            let list: Vec<String> = unknown
                .iter()
                .map(|field| format!("unknown field {field:?}"))
                .collect();
            tracing::warn!(
                "Audit policy contains errors, falling back to lenient decoding: strict decoding error: {}",
                list.join(", ")
            );
        }

        let raw: RawPolicy =
            serde_json::from_value(document).map_err(|err| format!("failed decoding: {err}"))?;
        let policy = raw.validate()?;
        if policy.rules.is_empty() {
            return Err("loaded illegal policy with 0 rules".to_string());
        }
        Ok(policy)
    }

    /// The decision for a request: the first matching rule's, or level `None`.
    pub fn evaluate(&self, attrs: &PolicyAttributes<'_>) -> RequestAuditConfig {
        for rule in &self.rules {
            if rule.matches(attrs) {
                return RequestAuditConfig {
                    level: rule.level,
                    omit_stages: rule.omit_stages,
                    omit_managed_fields: rule
                        .omit_managed_fields
                        .unwrap_or(self.omit_managed_fields),
                };
            }
        }
        RequestAuditConfig {
            level: Level::None,
            omit_stages: self.omit_stages,
            omit_managed_fields: self.omit_managed_fields,
        }
    }
}

impl PolicyRule {
    /// Whether the rule applies to a request (upstream's `ruleMatches`).
    pub fn matches(&self, attrs: &PolicyAttributes<'_>) -> bool {
        if !self.users.is_empty() {
            match attrs.user {
                Some(user) if has(&self.users, &user.name) => {}
                _ => return false,
            }
        }
        if !self.user_groups.is_empty() {
            match attrs.user {
                Some(user) if user.groups.iter().any(|g| has(&self.user_groups, g)) => {}
                _ => return false,
            }
        }
        if !self.verbs.is_empty() && !has(&self.verbs, attrs.verb) {
            return false;
        }
        if !self.namespaces.is_empty() || !self.resources.is_empty() {
            return self.matches_resource(attrs);
        }
        if !self.non_resource_urls.is_empty() {
            return !attrs.is_resource_request
                && self
                    .non_resource_urls
                    .iter()
                    .any(|spec| path_matches(attrs.path, spec));
        }
        true
    }

    fn matches_resource(&self, attrs: &PolicyAttributes<'_>) -> bool {
        if !attrs.is_resource_request {
            return false;
        }
        if !self.namespaces.is_empty() && !has(&self.namespaces, attrs.namespace) {
            return false;
        }
        if self.resources.is_empty() {
            return true;
        }
        let combined = if attrs.subresource.is_empty() {
            attrs.resource.to_string()
        } else {
            format!("{}/{}", attrs.resource, attrs.subresource)
        };
        self.resources.iter().any(|gr| {
            if gr.group != attrs.api_group {
                return false;
            }
            if gr.resources.is_empty() {
                return true;
            }
            if !gr.resource_names.is_empty() && !has(&gr.resource_names, attrs.name) {
                return false;
            }
            gr.resources.iter().any(|res| {
                res == &combined
                    || res == "*"
                    || (!attrs.subresource.is_empty()
                        && res.strip_prefix("*/") == Some(attrs.subresource))
                    || res.strip_suffix("/*") == Some(attrs.resource)
            })
        })
    }
}

fn has(list: &[String], value: &str) -> bool {
    list.iter().any(|item| item == value)
}

/// `*`, an exact path, or a prefix ending in `*`.
fn path_matches(path: &str, spec: &str) -> bool {
    spec == "*"
        || spec == path
        || (spec.ends_with('*') && path.starts_with(spec.trim_end_matches('*')))
}

// ---------------------------------------------------------------------------------------------
// Decoding and validation.

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPolicy {
    #[serde(default)]
    rules: Option<Vec<RawRule>>,
    #[serde(default)]
    omit_stages: Option<Vec<String>>,
    #[serde(default)]
    omit_managed_fields: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRule {
    #[serde(default)]
    level: Option<String>,
    #[serde(default)]
    users: Option<Vec<String>>,
    #[serde(default)]
    user_groups: Option<Vec<String>>,
    #[serde(default)]
    verbs: Option<Vec<String>>,
    #[serde(default)]
    resources: Option<Vec<RawGroupResources>>,
    #[serde(default)]
    namespaces: Option<Vec<String>>,
    #[serde(default, rename = "nonResourceURLs")]
    non_resource_urls: Option<Vec<String>>,
    #[serde(default)]
    omit_stages: Option<Vec<String>>,
    #[serde(default)]
    omit_managed_fields: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawGroupResources {
    #[serde(default)]
    group: Option<String>,
    #[serde(default)]
    resources: Option<Vec<String>>,
    #[serde(default)]
    resource_names: Option<Vec<String>>,
}

const POLICY_FIELDS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "rules",
    "omitStages",
    "omitManagedFields",
];
const RULE_FIELDS: &[&str] = &[
    "level",
    "users",
    "userGroups",
    "verbs",
    "resources",
    "namespaces",
    "nonResourceURLs",
    "omitStages",
    "omitManagedFields",
];
const GROUP_RESOURCES_FIELDS: &[&str] = &["group", "resources", "resourceNames"];

/// The fields strict decoding would reject, as paths (`rules[0].namespace`).
fn unknown_fields(document: &Value) -> Vec<String> {
    let mut unknown = Vec::new();
    let mut check = |object: &serde_json::Map<String, Value>, known: &[&str], prefix: &str| {
        for key in object.keys() {
            if !known.contains(&key.as_str()) {
                unknown.push(format!("{prefix}{key}"));
            }
        }
    };
    let Some(policy) = document.as_object() else {
        return Vec::new();
    };
    check(policy, POLICY_FIELDS, "");
    for (i, rule) in policy
        .get("rules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let Some(rule) = rule.as_object() else {
            continue;
        };
        check(rule, RULE_FIELDS, &format!("rules[{i}]."));
        for (j, gr) in rule
            .get("resources")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            if let Some(gr) = gr.as_object() {
                check(
                    gr,
                    GROUP_RESOURCES_FIELDS,
                    &format!("rules[{i}].resources[{j}]."),
                );
            }
        }
    }
    unknown
}

fn validate_stages(stages: &[String], path: &str, errs: &mut Vec<String>) -> StageSet {
    let allowed: Vec<&str> = Stage::ALL.iter().map(|s| s.as_str()).collect();
    let mut set = StageSet::default();
    for (i, stage) in stages.iter().enumerate() {
        match Stage::parse(stage) {
            Some(stage) => set = set.with(stage),
            None => errs.push(format!(
                "{path}[{i}]: Invalid value: {stage:?}: allowed stages are {}",
                allowed.join(",")
            )),
        }
    }
    set
}

impl RawPolicy {
    /// Upstream's `ValidatePolicy`; several errors are reported as one `[a, b]` aggregate.
    fn validate(self) -> Result<Policy, String> {
        let mut errs = Vec::new();
        let omit_stages = validate_stages(
            self.omit_stages.as_deref().unwrap_or_default(),
            "omitStages",
            &mut errs,
        );
        let omit_managed_fields = self.omit_managed_fields.unwrap_or(false);
        let mut rules = Vec::new();
        for (i, rule) in self.rules.unwrap_or_default().into_iter().enumerate() {
            if let Some(rule) = rule.validate(&format!("rules[{i}]"), omit_stages, &mut errs) {
                rules.push(rule);
            }
        }
        match errs.len() {
            0 => Ok(Policy {
                rules,
                omit_stages,
                omit_managed_fields,
            }),
            1 => Err(errs.remove(0)),
            _ => Err(format!("[{}]", errs.join(", "))),
        }
    }
}

impl RawRule {
    fn validate(
        self,
        path: &str,
        policy_omit_stages: StageSet,
        errs: &mut Vec<String>,
    ) -> Option<PolicyRule> {
        let level = match self.level.as_deref().unwrap_or("") {
            "" => {
                errs.push(format!("{path}.level: Required value"));
                None
            }
            value => match Level::parse(value) {
                Some(level) => Some(level),
                None => {
                    errs.push(format!(
                        "{path}.level: Unsupported value: {value:?}: supported values: \"None\", \"Metadata\", \"Request\", \"RequestResponse\""
                    ));
                    None
                }
            },
        };

        let non_resource_urls = self.non_resource_urls.unwrap_or_default();
        for (i, url) in non_resource_urls.iter().enumerate() {
            if url == "*" {
                continue;
            }
            if !url.starts_with('/') {
                errs.push(format!(
                    "{path}.nonResourceURLs[{i}]: Invalid value: {url:?}: non-resource URL rules must begin with a '/' character"
                ));
            }
            let before_last = url.char_indices().last().map_or("", |(at, _)| &url[..at]);
            if before_last.contains('*') {
                errs.push(format!(
                    "{path}.nonResourceURLs[{i}]: Invalid value: {url:?}: non-resource URL wildcards '*' must be the final character of the rule"
                ));
            }
        }

        let resources: Vec<GroupResources> = self
            .resources
            .unwrap_or_default()
            .into_iter()
            .map(|raw| GroupResources {
                group: raw.group.unwrap_or_default(),
                resources: raw.resources.unwrap_or_default(),
                resource_names: raw.resource_names.unwrap_or_default(),
            })
            .collect();
        for gr in &resources {
            if !gr.group.is_empty() {
                let msgs = is_dns1123_subdomain(&gr.group);
                if !msgs.is_empty() {
                    errs.push(format!(
                        "{path}.resources.group: Invalid value: {:?}: {}",
                        gr.group,
                        msgs.join(",")
                    ));
                }
            }
            if !gr.resource_names.is_empty() && gr.resources.is_empty() {
                errs.push(format!(
                    "{path}.resources.resourceNames: Invalid value: {}: using resourceNames requires at least one resource",
                    go_string_slice(&gr.resource_names)
                ));
            }
        }

        let omit_stages = validate_stages(
            self.omit_stages.as_deref().unwrap_or_default(),
            &format!("{path}.omitStages"),
            errs,
        );

        let namespaces = self.namespaces.unwrap_or_default();
        if !non_resource_urls.is_empty() && (!resources.is_empty() || !namespaces.is_empty()) {
            errs.push(format!(
                "{path}.nonResourceURLs: Invalid value: {}: rules cannot apply to both regular resources and non-resource URLs",
                go_string_slice(&non_resource_urls)
            ));
        }

        Some(PolicyRule {
            level: level?,
            users: self.users.unwrap_or_default(),
            user_groups: self.user_groups.unwrap_or_default(),
            verbs: self.verbs.unwrap_or_default(),
            resources,
            namespaces,
            non_resource_urls,
            omit_stages: omit_stages.union(policy_omit_stages),
            omit_managed_fields: self.omit_managed_fields,
        })
    }
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
