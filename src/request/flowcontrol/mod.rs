//! API Priority and Fairness configuration as the filter reads it: the spec of a FlowSchema and of
//! a PriorityLevelConfiguration (`flowcontrol.apiserver.k8s.io/v1`), parsed from their JSON with
//! upstream's v1 defaults, and a FlowSchema's matching rules (upstream's
//! `k8s.io/apiserver/pkg/util/flowcontrol/match.go`).

use serde_json::Value;

use crate::api::json::string_list;
use crate::request::info::RequestInfo;
use crate::request::user::UserInfo;

/// The wildcard of verbs, API groups, resources, user and service account names (`*`).
pub const NAME_ALL: &str = "*";
/// The wildcard of namespaces in a resource rule.
pub const NAMESPACE_EVERY: &str = "*";
/// The wildcard of non-resource URLs.
pub const NON_RESOURCE_ALL: &str = "*";
/// The user name prefix of service accounts.
const SERVICE_ACCOUNT_PREFIX: &str = "system:serviceaccount:";

/// How requests of one FlowSchema are split into flows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Distinguisher {
    ByUser,
    ByNamespace,
}

/// Who a rule applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// A user name, or `*` for every user.
    User(String),
    /// A group name, or `*` for every group.
    Group(String),
    /// A service account; `name` may be `*` for every one in `namespace`.
    ServiceAccount { namespace: String, name: String },
}

/// A rule over resource requests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceRule {
    pub verbs: Vec<String>,
    pub api_groups: Vec<String>,
    /// Plural resource names, `resource/subresource`, or `*`.
    pub resources: Vec<String>,
    /// Whether requests without a namespace match.
    pub cluster_scope: bool,
    pub namespaces: Vec<String>,
}

/// A rule over non-resource requests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NonResourceRule {
    pub verbs: Vec<String>,
    /// Paths, `*`, or a prefix ending in `/*`.
    pub non_resource_urls: Vec<String>,
}

/// One `PolicyRulesWithSubjects`: a request matches when a subject and a rule of its kind match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyRules {
    pub subjects: Vec<Subject>,
    pub resource_rules: Vec<ResourceRule>,
    pub non_resource_rules: Vec<NonResourceRule>,
}

/// A FlowSchema as the filter classifies with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowSchemaSpec {
    pub name: String,
    pub uid: String,
    /// Lower is tried first (1 to 10000).
    pub matching_precedence: i32,
    /// The name of the PriorityLevelConfiguration.
    pub priority_level: String,
    /// `None`: all requests of the schema are one flow.
    pub distinguisher: Option<Distinguisher>,
    pub rules: Vec<PolicyRules>,
}

/// The queuing parameters of a limited level that queues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Queuing {
    pub queues: i32,
    pub hand_size: i32,
    pub queue_length_limit: i32,
}

/// A PriorityLevelConfiguration as the filter dispatches with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriorityLevelSpec {
    pub name: String,
    pub uid: String,
    /// Type `Exempt`: requests are never queued nor limited.
    pub exempt: bool,
    /// Of `limited`, or of `exempt` for an exempt level.
    pub nominal_concurrency_shares: i32,
    pub lendable_percent: i32,
    /// `None`: no limit on borrowing.
    pub borrowing_limit_percent: Option<i32>,
    /// `None`: requests over the limit are rejected (or the level is exempt).
    pub queuing: Option<Queuing>,
}

/// Upstream's v1 defaults.
const DEFAULT_NOMINAL_CONCURRENCY_SHARES: i32 = 30;
const DEFAULT_QUEUES: i32 = 64;
const DEFAULT_HAND_SIZE: i32 = 8;
const DEFAULT_QUEUE_LENGTH_LIMIT: i32 = 50;

fn str_at<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

fn i32_of(value: Option<&Value>, field: &str) -> Result<Option<i32>, String> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .and_then(|n| i32::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| format!("{field}: not a 32-bit integer: {v}")),
    }
}

fn items(value: Option<&Value>) -> &[Value] {
    value
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn parse_subject(subject: &Value) -> Result<Subject, String> {
    let kind = str_at(subject, "/kind");
    let name_in = |section: &str| -> Result<String, String> {
        subject
            .pointer(&format!("/{section}/name"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| format!("subject of kind {kind:?} without {section}.name"))
    };
    match kind {
        "User" => Ok(Subject::User(name_in("user")?)),
        "Group" => Ok(Subject::Group(name_in("group")?)),
        "ServiceAccount" => Ok(Subject::ServiceAccount {
            namespace: str_at(subject, "/serviceAccount/namespace").to_string(),
            name: name_in("serviceAccount")?,
        }),
        other => Err(format!("unknown subject kind {other:?}")),
    }
}

fn parse_rules(rules: &Value) -> Result<PolicyRules, String> {
    let subjects = items(rules.get("subjects"))
        .iter()
        .map(parse_subject)
        .collect::<Result<Vec<_>, _>>()?;
    let resource_rules = items(rules.get("resourceRules"))
        .iter()
        .map(|rule| ResourceRule {
            verbs: string_list(rule.get("verbs")),
            api_groups: string_list(rule.get("apiGroups")),
            resources: string_list(rule.get("resources")),
            cluster_scope: rule
                .get("clusterScope")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            namespaces: string_list(rule.get("namespaces")),
        })
        .collect();
    let non_resource_rules = items(rules.get("nonResourceRules"))
        .iter()
        .map(|rule| NonResourceRule {
            verbs: string_list(rule.get("verbs")),
            non_resource_urls: string_list(rule.get("nonResourceURLs")),
        })
        .collect();
    Ok(PolicyRules {
        subjects,
        resource_rules,
        non_resource_rules,
    })
}

/// Parses a FlowSchema object (its metadata and spec).
pub fn parse_flow_schema(object: &Value) -> Result<FlowSchemaSpec, String> {
    let spec = object
        .get("spec")
        .filter(|s| s.is_object())
        .ok_or("FlowSchema without a spec")?;
    let priority_level = str_at(spec, "/priorityLevelConfiguration/name");
    if priority_level.is_empty() {
        return Err("spec.priorityLevelConfiguration.name is required".into());
    }
    // Upstream defaults matchingPrecedence to 1000.
    let matching_precedence =
        i32_of(spec.get("matchingPrecedence"), "spec.matchingPrecedence")?.unwrap_or(1000);
    let distinguisher = match spec.pointer("/distinguisherMethod/type") {
        None | Some(Value::Null) => None,
        Some(Value::String(t)) if t == "ByUser" => Some(Distinguisher::ByUser),
        Some(Value::String(t)) if t == "ByNamespace" => Some(Distinguisher::ByNamespace),
        Some(other) => return Err(format!("unknown distinguisherMethod.type {other}")),
    };
    let rules = items(spec.get("rules"))
        .iter()
        .map(parse_rules)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(FlowSchemaSpec {
        name: str_at(object, "/metadata/name").to_string(),
        uid: str_at(object, "/metadata/uid").to_string(),
        matching_precedence,
        priority_level: priority_level.to_string(),
        distinguisher,
        rules,
    })
}

/// Parses a PriorityLevelConfiguration object (its metadata and spec).
pub fn parse_priority_level(object: &Value) -> Result<PriorityLevelSpec, String> {
    let spec = object
        .get("spec")
        .filter(|s| s.is_object())
        .ok_or("PriorityLevelConfiguration without a spec")?;
    let name = str_at(object, "/metadata/name").to_string();
    let uid = str_at(object, "/metadata/uid").to_string();
    match str_at(spec, "/type") {
        "Exempt" => {
            let exempt = spec.get("exempt");
            let field = |key: &str| i32_of(exempt.and_then(|e| e.get(key)), key);
            Ok(PriorityLevelSpec {
                name,
                uid,
                exempt: true,
                nominal_concurrency_shares: field("nominalConcurrencyShares")?.unwrap_or(0),
                lendable_percent: field("lendablePercent")?.unwrap_or(0),
                borrowing_limit_percent: None,
                queuing: None,
            })
        }
        "Limited" => {
            let limited = spec
                .get("limited")
                .filter(|l| l.is_object())
                .ok_or("type Limited without spec.limited")?;
            let field = |key: &str| i32_of(limited.get(key), key);
            let queuing = match str_at(limited, "/limitResponse/type") {
                "Queue" => {
                    let q = limited.pointer("/limitResponse/queuing");
                    let param = |key: &str| i32_of(q.and_then(|q| q.get(key)), key);
                    Some(Queuing {
                        queues: param("queues")?.unwrap_or(DEFAULT_QUEUES),
                        hand_size: param("handSize")?.unwrap_or(DEFAULT_HAND_SIZE),
                        queue_length_limit: param("queueLengthLimit")?
                            .unwrap_or(DEFAULT_QUEUE_LENGTH_LIMIT),
                    })
                }
                "Reject" => None,
                other => return Err(format!("unknown limitResponse.type {other:?}")),
            };
            Ok(PriorityLevelSpec {
                name,
                uid,
                exempt: false,
                nominal_concurrency_shares: field("nominalConcurrencyShares")?
                    .unwrap_or(DEFAULT_NOMINAL_CONCURRENCY_SHARES),
                lendable_percent: field("lendablePercent")?.unwrap_or(0),
                borrowing_limit_percent: field("borrowingLimitPercent")?,
                queuing,
            })
        }
        other => Err(format!("unknown spec.type {other:?}")),
    }
}

/// Whether `list` is the wildcard alone or holds `value` (as upstream's `containsString`:
/// validation allows the wildcard only as the sole member).
fn contains(list: &[String], value: &str, wildcard: &str) -> bool {
    (list.len() == 1 && list[0] == wildcard) || list.iter().any(|item| item == value)
}

/// Whether `user_name` is a service account's of `namespace`
/// (`system:serviceaccount:<namespace>:<name>`).
fn service_account_in_namespace(namespace: &str, user_name: &str) -> bool {
    user_name
        .strip_prefix(SERVICE_ACCOUNT_PREFIX)
        .and_then(|rest| rest.strip_prefix(namespace))
        .is_some_and(|rest| rest.starts_with(':'))
}

impl Subject {
    pub fn matches(&self, user: &UserInfo) -> bool {
        match self {
            Subject::User(name) => name == NAME_ALL || *name == user.name,
            Subject::Group(group) => group == NAME_ALL || user.in_group(group),
            Subject::ServiceAccount { namespace, name } if name == NAME_ALL => {
                service_account_in_namespace(namespace, &user.name)
            }
            Subject::ServiceAccount { namespace, name } => {
                user.name == format!("{SERVICE_ACCOUNT_PREFIX}{namespace}:{name}")
            }
        }
    }
}

impl ResourceRule {
    pub fn matches(&self, info: &RequestInfo) -> bool {
        let resource = if info.subresource.is_empty() {
            info.resource.clone()
        } else {
            format!("{}/{}", info.resource, info.subresource)
        };
        let namespace_matches = if info.namespace.is_empty() {
            self.cluster_scope
        } else {
            contains(&self.namespaces, &info.namespace, NAMESPACE_EVERY)
        };
        contains(&self.verbs, &info.verb, NAME_ALL)
            && contains(&self.api_groups, &info.api_group, NAME_ALL)
            && contains(&self.resources, &resource, NAME_ALL)
            && namespace_matches
    }
}

/// Whether `path` is matched by one of `urls`: `*`, the path itself, or a prefix of it that
/// ends at a `/` (a trailing `*` dropped): `/healthz` and `/healthz/*` both match `/healthz/etcd`.
fn non_resource_url_matches(path: &str, urls: &[String]) -> bool {
    urls.iter().any(|url| {
        if url == NON_RESOURCE_ALL || url == path {
            return true;
        }
        let mut prefix = url.strip_suffix('*').unwrap_or(url.as_str()).to_string();
        if !prefix.ends_with('/') {
            prefix.push('/');
        }
        path.starts_with(&prefix)
    })
}

impl NonResourceRule {
    pub fn matches(&self, info: &RequestInfo) -> bool {
        contains(&self.verbs, &info.verb, NAME_ALL)
            && non_resource_url_matches(&info.path, &self.non_resource_urls)
    }
}

impl PolicyRules {
    /// A subject matches the user and, for a resource request, a resource rule, else a
    /// non-resource rule.
    pub fn matches(&self, user: &UserInfo, info: &RequestInfo) -> bool {
        if !self.subjects.iter().any(|subject| subject.matches(user)) {
            return false;
        }
        if info.is_resource_request {
            self.resource_rules.iter().any(|rule| rule.matches(info))
        } else {
            self.non_resource_rules
                .iter()
                .any(|rule| rule.matches(info))
        }
    }
}

impl FlowSchemaSpec {
    /// Whether one of the schema's rules matches the request.
    pub fn matches(&self, user: &UserInfo, info: &RequestInfo) -> bool {
        self.rules.iter().any(|rules| rules.matches(user, info))
    }
}

#[cfg(test)]
mod tests;
