//! The authorization model (`k8s.io/apiserver/pkg/authorization/authorizer`): what a request asks
//! ([`Attributes`]), the [`Authorizer`] contract and the union of the configured authorizers
//! ([`Authorization`]) that the authorization filter, the access reviews and the RBAC escalation
//! checks ask.
//!
//! Each request is described by [`Attributes`] (who, and what from [`RequestInfo`]); the
//! configured [`Authorizer`]s (`auth.authorization_modes`, in order) are asked until one answers
//! [`Decision::Allow`] or [`Decision::Deny`]. No opinion from all of them is a denial.
//!
//! Decisions are synchronous on purpose: authorizers keep what they decide on in memory (RBAC
//! keeps roles and bindings in a cache fed by the stores' watches), so the request path never
//! waits on storage here.

use std::sync::Arc;

use crate::request::info::RequestInfo;
use crate::request::user::UserInfo;

/// The group whose members every authorizer allows everything (upstream's
/// `user.SystemPrivilegedGroup`).
pub const SUPERUSER_GROUP: &str = "system:masters";

/// What a request asks to do, as upstream's `authorizer.AttributesRecord`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attributes {
    pub user: UserInfo,
    /// `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, `deletecollection`,
    /// `impersonate`, `escalate`, `bind`, ... or for a non-resource request the lower-case method.
    pub verb: String,
    pub is_resource_request: bool,
    /// The URL path of a non-resource request (`/healthz`, `/metrics`).
    pub path: String,
    pub api_group: String,
    pub api_version: String,
    /// Empty for cluster-scoped resources and cluster-wide lists.
    pub namespace: String,
    pub resource: String,
    pub subresource: String,
    pub name: String,
}

impl Attributes {
    /// The attributes of a request by `user` described by `info`.
    pub fn of_request(user: &UserInfo, info: &RequestInfo) -> Self {
        Self {
            user: user.clone(),
            verb: info.verb.clone(),
            is_resource_request: info.is_resource_request,
            path: info.path.clone(),
            api_group: info.api_group.clone(),
            api_version: info.api_version.clone(),
            namespace: info.namespace.clone(),
            resource: info.resource.clone(),
            subresource: info.subresource.clone(),
            name: info.name.clone(),
        }
    }
}

/// An authorizer's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Allowed; no later authorizer is asked.
    Allow,
    /// Denied; no later authorizer is asked.
    Deny,
    /// This authorizer does not decide; the next one is asked.
    NoOpinion,
}

/// A decision with the authorizer's reason (shown in Forbidden messages and access reviews).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorized {
    pub decision: Decision,
    pub reason: String,
}

impl Authorized {
    pub fn allow(reason: impl Into<String>) -> Self {
        Self {
            decision: Decision::Allow,
            reason: reason.into(),
        }
    }
    pub fn deny(reason: impl Into<String>) -> Self {
        Self {
            decision: Decision::Deny,
            reason: reason.into(),
        }
    }
    pub fn no_opinion(reason: impl Into<String>) -> Self {
        Self {
            decision: Decision::NoOpinion,
            reason: reason.into(),
        }
    }
    pub fn is_allowed(&self) -> bool {
        self.decision == Decision::Allow
    }
}

/// One resource rule a user holds (as `authorization.k8s.io/v1` `ResourceRule`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceRule {
    pub verbs: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub api_groups: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resource_names: Vec<String>,
}

/// One non-resource rule a user holds (as `authorization.k8s.io/v1` `NonResourceRule`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NonResourceRule {
    pub verbs: Vec<String>,
    #[serde(rename = "nonResourceURLs", skip_serializing_if = "Vec::is_empty")]
    pub non_resource_urls: Vec<String>,
}

/// What a user may do in a namespace: the answer of a `SelfSubjectRulesReview`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RulesInfo {
    pub resource_rules: Vec<ResourceRule>,
    pub non_resource_rules: Vec<NonResourceRule>,
    /// Some rules could not be resolved (a binding to a missing role); the lists may be short.
    pub incomplete: bool,
    pub evaluation_error: String,
}

/// One authorization mode.
pub trait Authorizer: Send + Sync + 'static {
    /// A short name for logs: `RBAC`, `AlwaysAllow`.
    fn name(&self) -> &'static str;

    /// Decides on `attrs`.
    ///
    /// MUST NOT block (no storage access, no locks held across awaits); MUST be deterministic
    /// for the state the authorizer has seen; MUST answer [`Decision::NoOpinion`] rather than
    /// [`Decision::Deny`] when it merely grants nothing, so a later mode can still allow.
    fn authorize(&self, attrs: &Attributes) -> Authorized;

    /// The rules `user` holds in `namespace` (cluster-wide ones included), for
    /// `SelfSubjectRulesReview` and `kubectl auth can-i --list`.
    fn rules_for(&self, user: &UserInfo, namespace: &str) -> RulesInfo;
}

/// The configured authorizers, in `auth.authorization_modes` order.
#[derive(Clone)]
pub struct Authorization {
    authorizers: Vec<Arc<dyn Authorizer>>,
}

impl std::fmt::Debug for Authorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.authorizers.iter().map(|a| a.name()).collect();
        f.debug_struct("Authorization")
            .field("authorizers", &names)
            .finish()
    }
}

impl Authorization {
    /// A union of `authorizers`, asked in order.
    pub fn new(authorizers: Vec<Arc<dyn Authorizer>>) -> Self {
        Self { authorizers }
    }

    /// The first decision that is not "no opinion"; the reasons of those that had none are
    /// joined as upstream's union authorizer does.
    pub fn authorize(&self, attrs: &Attributes) -> Authorized {
        let mut reasons = Vec::new();
        for authorizer in &self.authorizers {
            let answer = authorizer.authorize(attrs);
            match answer.decision {
                Decision::Allow | Decision::Deny => return answer,
                Decision::NoOpinion => {
                    if !answer.reason.is_empty() {
                        reasons.push(answer.reason);
                    }
                }
            }
        }
        Authorized::no_opinion(reasons.join("\n"))
    }

    /// The union of every authorizer's rules for `user` in `namespace`.
    pub fn rules_for(&self, user: &UserInfo, namespace: &str) -> RulesInfo {
        let mut all = RulesInfo::default();
        let mut errors = Vec::new();
        for authorizer in &self.authorizers {
            let rules = authorizer.rules_for(user, namespace);
            all.resource_rules.extend(rules.resource_rules);
            all.non_resource_rules.extend(rules.non_resource_rules);
            all.incomplete |= rules.incomplete;
            if !rules.evaluation_error.is_empty() {
                errors.push(rules.evaluation_error);
            }
        }
        all.evaluation_error = errors.join(", ");
        all
    }
}

/// `AlwaysAllow`: every request is allowed.
#[derive(Debug, Clone, Copy, Default)]
pub struct AlwaysAllow;

impl Authorizer for AlwaysAllow {
    fn name(&self) -> &'static str {
        "AlwaysAllow"
    }
    fn authorize(&self, _attrs: &Attributes) -> Authorized {
        Authorized::allow("")
    }
    fn rules_for(&self, _user: &UserInfo, _namespace: &str) -> RulesInfo {
        RulesInfo {
            resource_rules: vec![ResourceRule {
                verbs: vec!["*".into()],
                api_groups: vec!["*".into()],
                resources: vec!["*".into()],
                resource_names: Vec::new(),
            }],
            non_resource_rules: vec![NonResourceRule {
                verbs: vec!["*".into()],
                non_resource_urls: vec!["*".into()],
            }],
            incomplete: false,
            evaluation_error: String::new(),
        }
    }
}

/// `AlwaysDeny`: every request is denied.
#[derive(Debug, Clone, Copy, Default)]
pub struct AlwaysDeny;

impl Authorizer for AlwaysDeny {
    fn name(&self) -> &'static str {
        "AlwaysDeny"
    }
    fn authorize(&self, _attrs: &Attributes) -> Authorized {
        Authorized::deny("Everything is forbidden.")
    }
    fn rules_for(&self, _user: &UserInfo, _namespace: &str) -> RulesInfo {
        RulesInfo::default()
    }
}
