//! Validation of the admission registration kinds (`admissionregistration.k8s.io/v1`
//! MutatingWebhookConfiguration, ValidatingWebhookConfiguration, ValidatingAdmissionPolicy and
//! ValidatingAdmissionPolicyBinding), as upstream's
//! `pkg/apis/admissionregistration/validation` and the strategies of
//! `pkg/registry/admissionregistration/<resource>`.
//!
//! The validation compiles CEL (match conditions, validations, message expressions, variables,
//! audit annotations), which the registry may not name; so the [`RegistrationStrategy`] is here
//! and wraps the registry's rules of these kinds (generation, upstream's v1 defaults), and the
//! composition root gives it to their stores ([`strategy_for`]).

mod common;
pub mod policies;
pub mod webhooks;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use serde_json::Value;

use crate::api::names::NameRule;
use crate::catalog::ResourceInfo;
use crate::registry::resources::{admissionregistration, RulesStrategy};
use crate::registry::scale::ScalePaths;
use crate::registry::strategy::{CreateRest, GcPolicy, Strategy};
use crate::registry::validation::FieldError;

/// The group of the kinds.
pub const GROUP: &str = "admissionregistration.k8s.io";

/// The kinds this module validates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    MutatingWebhookConfiguration,
    ValidatingWebhookConfiguration,
    ValidatingAdmissionPolicy,
    ValidatingAdmissionPolicyBinding,
}

impl Kind {
    /// The kind served as `plural`.
    pub fn of_plural(plural: &str) -> Option<Self> {
        Some(match plural {
            "mutatingwebhookconfigurations" => Self::MutatingWebhookConfiguration,
            "validatingwebhookconfigurations" => Self::ValidatingWebhookConfiguration,
            "validatingadmissionpolicies" => Self::ValidatingAdmissionPolicy,
            "validatingadmissionpolicybindings" => Self::ValidatingAdmissionPolicyBinding,
            _ => return None,
        })
    }

    /// Upstream's `Validate`.
    pub fn validate_create(self, obj: &Value) -> Vec<FieldError> {
        match self {
            Self::MutatingWebhookConfiguration => webhooks::validate_create(obj, true),
            Self::ValidatingWebhookConfiguration => webhooks::validate_create(obj, false),
            Self::ValidatingAdmissionPolicy => policies::validate_policy_create(obj),
            Self::ValidatingAdmissionPolicyBinding => policies::validate_binding(obj),
        }
    }

    /// Upstream's `ValidateUpdate` (`old` defaulted, as upstream decodes stored objects).
    pub fn validate_update(self, new: &Value, old: &Value) -> Vec<FieldError> {
        match self {
            Self::MutatingWebhookConfiguration => webhooks::validate_update(new, old, true),
            Self::ValidatingWebhookConfiguration => webhooks::validate_update(new, old, false),
            Self::ValidatingAdmissionPolicy => policies::validate_policy_update(new, old),
            Self::ValidatingAdmissionPolicyBinding => policies::validate_binding(new),
        }
    }
}

/// The strategy of one of the four kinds: the registry's rules of it, and its validation.
#[derive(Debug, Clone, Copy)]
pub struct RegistrationStrategy {
    kind: Kind,
    rules: RulesStrategy,
}

impl RegistrationStrategy {
    /// The strategy of `kind` (served as `plural`), with or without a status subresource.
    pub fn new(kind: Kind, plural: &str, status_subresource: bool) -> Self {
        Self {
            kind,
            rules: RulesStrategy::new(admissionregistration::rules(plural), status_subresource),
        }
    }
}

/// The strategy of the built-in resource `info` when it is one of the four kinds.
pub fn strategy_for(info: &ResourceInfo) -> Option<Arc<dyn Strategy>> {
    if info.group != GROUP {
        return None;
    }
    let kind = Kind::of_plural(&info.plural)?;
    let status = info.subresource("status").is_some();
    Some(Arc::new(RegistrationStrategy::new(
        kind,
        &info.plural,
        status,
    )))
}

impl Strategy for RegistrationStrategy {
    fn name_rule(&self) -> NameRule {
        self.rules.name_rule()
    }
    fn has_status_subresource(&self) -> bool {
        self.rules.has_status_subresource()
    }
    fn tracks_generation(&self) -> bool {
        self.rules.tracks_generation()
    }
    fn allow_create_on_update(&self) -> bool {
        self.rules.allow_create_on_update()
    }
    fn gc_policy(&self) -> GcPolicy {
        self.rules.gc_policy()
    }
    fn returns_deleted_object(&self) -> bool {
        self.rules.returns_deleted_object()
    }
    fn scale(&self) -> Option<ScalePaths> {
        self.rules.scale()
    }
    fn refuse_delete(&self, name: &str) -> Option<&'static str> {
        self.rules.refuse_delete(name)
    }
    fn graceful_delete_period(&self, obj: &Value, requested: Option<i64>) -> Option<i64> {
        self.rules.graceful_delete_period(obj, requested)
    }
    fn create_rest(&self, subresource: Option<&str>) -> Option<CreateRest> {
        self.rules.create_rest(subresource)
    }
    fn prepare_for_create(&self, obj: &mut Value) {
        self.rules.prepare_for_create(obj);
    }
    fn status_update(&self) -> crate::registry::strategy::StatusUpdate {
        self.rules.status_update()
    }
    fn status_reset_fields(&self) -> &'static [crate::registry::strategy::FieldPath] {
        self.rules.status_reset_fields()
    }
    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        self.rules.prepare_for_update(new, old);
    }
    fn validate_create(&self, obj: &Value) -> Vec<FieldError> {
        self.kind.validate_create(obj)
    }
    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        let mut old = old.clone();
        (self.rules.rules().defaults)(&mut old);
        self.kind.validate_update(new, &old)
    }
}
