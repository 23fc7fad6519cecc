//! The RBAC authorizer, as upstream's `plugin/pkg/auth/authorizer/rbac` over the rule resolution of
//! `pkg/registry/rbac/validation/rule.go`.
//!
//! A user's rules in a namespace are those of every ClusterRoleBinding, and of every RoleBinding of
//! that namespace, that names the user (by user name, by group, or as a service account), resolved
//! through the binding's `roleRef`. A request is allowed when one of those rules allows it
//! ([`rules::rule_allows`]); the reason names the binding, role and subject that allowed it.
//! Otherwise the answer is "no opinion", with the resolution errors (a binding to a missing role)
//! as the reason. Members of `system:masters` are allowed everything.
//!
//! Roles and bindings live in memory ([`cache`]), fed by the four stores' watches: [`RbacAuthorizer::start`]
//! spawns one informer per kind, [`RbacAuthorizer::wait_synced`] waits for their first lists. Decisions
//! take a read lock for the length of one resolution and never touch storage.

pub mod cache;
pub mod escalation;
pub mod rules;

use crate::api::go_fmt::go_quote;
use std::sync::{Arc, RwLock, RwLockReadGuard};

use crate::api::status::{ApiError, ApiResult};
use crate::registry::store::Store;
use crate::registry::stores::ResourceStores;
use crate::request::authorization::{
    Attributes, Authorized, Authorizer, NonResourceRule, ResourceRule, RulesInfo, SUPERUSER_GROUP,
};
use crate::request::user::UserInfo;
use cache::{PolicyKind, PolicySink, PolicyState};
use rules::{applies_to, rule_allows, Binding, PolicyRule, RoleRef, Subject};

/// The API group of the RBAC kinds.
pub const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// How a missing role is named in errors.
///
/// The authorizer resolves roles through listers, whose errors name the singular resource
/// (`clusterrole.rbac.authorization.k8s.io "x" not found`); the escalation checks of the RBAC
/// storage resolve them through the registry, whose errors name the plural
/// (`clusterroles.rbac.authorization.k8s.io "x" not found`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorStyle {
    Lister,
    Registry,
}

/// Upstream's `utilerrors.NewAggregate(errs).Error()`: one message alone, several (without
/// duplicates) as `[a, b]`.
pub fn aggregate(errors: &[String]) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for error in errors {
        if !seen.contains(&error.as_str()) {
            seen.push(error);
        }
    }
    match (errors.len(), seen.len()) {
        (0, _) => String::new(),
        (1, _) => errors[0].clone(),
        (_, 1) => seen[0].to_string(),
        _ => format!("[{}]", seen.join(", ")),
    }
}

/// Where a rule came from, for the "allowed by" reason (upstream's binding describers).
#[derive(Debug, Clone, Copy)]
pub struct RuleSource<'a> {
    pub binding: &'a Binding,
    pub subject: &'a Subject,
}

impl std::fmt::Display for RuleSource<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let b = self.binding;
        let subject = describe_subject(self.subject, &b.namespace);
        if b.namespace.is_empty() {
            write!(
                f,
                "ClusterRoleBinding {} of {} {} to {subject}",
                go_quote(&b.name),
                b.role_ref.kind,
                go_quote(&b.role_ref.name)
            )
        } else {
            write!(
                f,
                "RoleBinding {} of {} {} to {subject}",
                go_quote(&format!("{}/{}", b.name, b.namespace)),
                b.role_ref.kind,
                go_quote(&b.role_ref.name)
            )
        }
    }
}

fn describe_subject(subject: &Subject, binding_namespace: &str) -> String {
    if subject.kind == "ServiceAccount" {
        let namespace = if subject.namespace.is_empty() {
            binding_namespace
        } else {
            subject.namespace.as_str()
        };
        format!(
            "{} {}",
            subject.kind,
            go_quote(&format!("{}/{namespace}", subject.name))
        )
    } else {
        format!("{} {}", subject.kind, go_quote(&subject.name))
    }
}

/// What a rule visitor receives: a rule the user holds with where it comes from, or why a
/// binding's rules could not be resolved.
pub type VisitedRule<'a> = Result<(RuleSource<'a>, &'a PolicyRule), String>;

/// The RBAC authorizer and rule resolver.
#[derive(Debug)]
pub struct RbacAuthorizer {
    state: RwLock<PolicyState>,
    synced: tokio::sync::watch::Sender<u8>,
}

impl PolicySink for RbacAuthorizer {
    fn state(&self) -> &RwLock<PolicyState> {
        &self.state
    }
    fn mark_synced(&self, kind: PolicyKind) {
        self.synced.send_modify(|mask| *mask |= kind.bit());
    }
}

impl Default for RbacAuthorizer {
    fn default() -> Self {
        Self::new()
    }
}

impl RbacAuthorizer {
    /// An authorizer that knows no roles or bindings yet.
    pub fn new() -> Self {
        Self {
            state: RwLock::new(PolicyState::default()),
            synced: tokio::sync::watch::channel(0).0,
        }
    }

    /// Starts keeping the roles and bindings of `stores` (`rbac.authorization.k8s.io/v1` roles,
    /// rolebindings, clusterroles, clusterrolebindings) in memory. MUST be called inside a tokio
    /// runtime; the informers stop once the authorizer is dropped.
    pub fn start(self: &Arc<Self>, stores: &ResourceStores) -> ApiResult<()> {
        let store = |plural: &str| {
            stores
                .get(RBAC_GROUP, "v1", plural)
                .cloned()
                .ok_or_else(|| {
                    ApiError::internal(format!("{plural}.{RBAC_GROUP}/v1 is not served"))
                })
        };
        self.start_with(
            store("roles")?,
            store("rolebindings")?,
            store("clusterroles")?,
            store("clusterrolebindings")?,
        );
        Ok(())
    }

    /// [`Self::start`] with the four stores given one by one.
    pub fn start_with(
        self: &Arc<Self>,
        roles: Arc<Store>,
        role_bindings: Arc<Store>,
        cluster_roles: Arc<Store>,
        cluster_role_bindings: Arc<Store>,
    ) {
        for (store, kind) in [
            (roles, PolicyKind::Role),
            (role_bindings, PolicyKind::RoleBinding),
            (cluster_roles, PolicyKind::ClusterRole),
            (cluster_role_bindings, PolicyKind::ClusterRoleBinding),
        ] {
            tokio::spawn(cache::run_informer(Arc::downgrade(self), store, kind));
        }
    }

    /// Waits until each of the four kinds has been listed once.
    pub async fn wait_synced(&self) {
        let mut synced = self.synced.subscribe();
        // The sender lives in `self`, so the channel cannot close while we wait.
        let _ = synced
            .wait_for(|mask| *mask & PolicyKind::ALL_BITS == PolicyKind::ALL_BITS)
            .await;
    }

    /// Whether the first lists are done.
    pub fn is_synced(&self) -> bool {
        *self.synced.borrow() & PolicyKind::ALL_BITS == PolicyKind::ALL_BITS
    }

    fn read(&self) -> RwLockReadGuard<'_, PolicyState> {
        match self.state.read() {
            Ok(state) => state,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Visits the rules `user` holds in `namespace` (cluster bindings first, then the
    /// namespace's bindings), as upstream's `VisitRulesFor`. `visit` receives either a rule with
    /// its source or a resolution error, and returns `false` to stop.
    pub fn visit_rules_for(
        &self,
        user: &UserInfo,
        namespace: &str,
        style: ErrorStyle,
        visit: &mut dyn FnMut(VisitedRule<'_>) -> bool,
    ) {
        let state = self.read();
        for binding in state.cluster_role_bindings.values() {
            if !visit_binding(&state, binding, user, "", style, visit) {
                return;
            }
        }
        if namespace.is_empty() {
            return;
        }
        if let Some(bindings) = state.role_bindings.get(namespace) {
            for binding in bindings.values() {
                if !visit_binding(&state, binding, user, namespace, style, visit) {
                    return;
                }
            }
        }
    }

    /// Every rule `user` holds in `namespace`, and the resolution errors (upstream's
    /// `RulesFor`). Superusers get no extra rules here: their power comes from the authorizer.
    pub fn policy_rules_for(
        &self,
        user: &UserInfo,
        namespace: &str,
        style: ErrorStyle,
    ) -> (Vec<PolicyRule>, Vec<String>) {
        let mut rules = Vec::new();
        let mut errors = Vec::new();
        self.visit_rules_for(user, namespace, style, &mut |item| {
            match item {
                Ok((_, rule)) => rules.push(rule.clone()),
                Err(err) => errors.push(err),
            }
            true
        });
        (rules, errors)
    }

    /// The rules of the role `role_ref` names, for a binding in `binding_namespace` (upstream's
    /// `GetRoleReferenceRules`).
    pub fn role_ref_rules(
        &self,
        role_ref: &RoleRef,
        binding_namespace: &str,
        style: ErrorStyle,
    ) -> Result<Arc<[PolicyRule]>, String> {
        role_ref_rules(&self.read(), role_ref, binding_namespace, style)
    }
}

fn not_found(resource: &str, style: ErrorStyle, name: &str) -> String {
    let resource = match style {
        ErrorStyle::Lister => resource.to_string(),
        ErrorStyle::Registry => format!("{resource}s"),
    };
    format!("{resource}.{RBAC_GROUP} {} not found", go_quote(name))
}

fn role_ref_rules(
    state: &PolicyState,
    role_ref: &RoleRef,
    binding_namespace: &str,
    style: ErrorStyle,
) -> Result<Arc<[PolicyRule]>, String> {
    match role_ref.kind.as_str() {
        "Role" => state
            .roles
            .get(binding_namespace)
            .and_then(|roles| roles.get(&role_ref.name))
            .cloned()
            .ok_or_else(|| not_found("role", style, &role_ref.name)),
        "ClusterRole" => state
            .cluster_roles
            .get(&role_ref.name)
            .cloned()
            .ok_or_else(|| not_found("clusterrole", style, &role_ref.name)),
        other => Err(format!(
            "unsupported role reference kind: {}",
            go_quote(other)
        )),
    }
}

fn visit_binding(
    state: &PolicyState,
    binding: &Binding,
    user: &UserInfo,
    namespace: &str,
    style: ErrorStyle,
    visit: &mut dyn FnMut(VisitedRule<'_>) -> bool,
) -> bool {
    let Some(index) = applies_to(user, &binding.subjects, namespace) else {
        return true;
    };
    let rules = match role_ref_rules(state, &binding.role_ref, namespace, style) {
        Ok(rules) => rules,
        Err(err) => return visit(Err(err)),
    };
    let source = RuleSource {
        binding,
        subject: &binding.subjects[index],
    };
    rules.iter().all(|rule| visit(Ok((source, rule))))
}

impl Authorizer for RbacAuthorizer {
    fn name(&self) -> &'static str {
        "RBAC"
    }

    fn authorize(&self, attrs: &Attributes) -> Authorized {
        if attrs.user.in_group(SUPERUSER_GROUP) {
            return Authorized::allow("");
        }
        let mut allowed_by = None;
        let mut errors = Vec::new();
        self.visit_rules_for(
            &attrs.user,
            &attrs.namespace,
            ErrorStyle::Lister,
            &mut |item| match item {
                Ok((source, rule)) if rule_allows(attrs, rule) => {
                    allowed_by = Some(format!("RBAC: allowed by {source}"));
                    false
                }
                Ok(_) => true,
                Err(err) => {
                    errors.push(err);
                    true
                }
            },
        );
        if let Some(reason) = allowed_by {
            return Authorized::allow(reason);
        }
        if errors.is_empty() {
            Authorized::no_opinion("")
        } else {
            Authorized::no_opinion(format!("RBAC: {}", aggregate(&errors)))
        }
    }

    fn rules_for(&self, user: &UserInfo, namespace: &str) -> RulesInfo {
        let (rules, errors) = self.policy_rules_for(user, namespace, ErrorStyle::Lister);
        let mut info = RulesInfo {
            evaluation_error: aggregate(&errors),
            ..Default::default()
        };
        for rule in rules {
            if !rule.resources.is_empty() {
                info.resource_rules.push(ResourceRule {
                    verbs: rule.verbs.clone(),
                    api_groups: rule.api_groups.clone(),
                    resources: rule.resources.clone(),
                    resource_names: rule.resource_names.clone(),
                });
            }
            if !rule.non_resource_urls.is_empty() {
                info.non_resource_rules.push(NonResourceRule {
                    verbs: rule.verbs,
                    non_resource_urls: rule.non_resource_urls,
                });
            }
        }
        info
    }
}

#[cfg(test)]
pub(crate) mod test_support;
#[cfg(test)]
mod tests;
