//! ValidatingAdmissionPolicy (`admissionregistration.k8s.io/v1`): CEL validations that bindings
//! apply to requests, as kube-apiserver 1.33's `validating` policy plugin.
//!
//! * [`compile`]: policies and bindings read and compiled once per configuration change;
//! * [`matching`]: `matchConstraints` and a binding's `matchResources`;
//! * [`params`]: a binding's params (`paramKind`, `paramRef`);
//! * [`evaluate`]: one evaluation of a policy, as decisions;
//! * [`typecheck`]: `status.typeChecking` warnings of a policy.
//!
//! This module dispatches (upstream's `dispatcher.go`): for each policy that matches, each of its
//! bindings that matches, each param, it evaluates the policy and applies the binding's
//! `validationActions` (Deny, Warn, Audit) to the failed validations. Differences from upstream:
//! the object is evaluated as the request gives it when the policy matched an equivalent version
//! (no conversion; `request.kind`/`request.resource` do name the matched version); `authorizer`
//! is bound to `null`; no runtime cost budget is enforced.

mod compile;
mod evaluate;
mod matching;
mod params;
pub mod typecheck;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Instant;

use http::StatusCode;
use serde_json::Value;

use super::attributes::{Attributes, Record};
use super::chain::Services;
use crate::api::status::{ApiError, ApiResult, GroupResource, StatusCause};
use compile::{Binding, Policy};
use evaluate::{Decision, Evaluation, Inputs};
use matching::Request;

pub use typecheck::{type_check, type_check_with};

/// The audit annotation of failed validations under the `Audit` action.
const VALIDATION_FAILURE_ANNOTATION: &str = "validation.policy.admission.k8s.io/validation_failure";

/// The longest audit annotation value published (longer ones are cut).
const MAX_ANNOTATION_VALUE: usize = 10 * 1024;

/// A policy with the bindings that refer to it, sorted by name.
#[derive(Debug)]
struct Hook {
    policy: Policy,
    bindings: Vec<Binding>,
}

/// Every policy with its bindings, compiled. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct PolicySet {
    hooks: Arc<Vec<Hook>>,
}

impl PolicySet {
    /// Compiles `policies` and `bindings` (stored objects). Every expression is compiled here,
    /// once; one that does not compile is kept as its error. Policies without a binding and
    /// bindings of missing policies are left out. Never fails.
    pub fn build(policies: &[Arc<Value>], bindings: &[Arc<Value>]) -> Self {
        let mut bindings: Vec<Binding> = bindings.iter().map(|b| compile::binding(b)).collect();
        bindings.sort_by(|a, b| a.name.cmp(&b.name));
        let mut policies: Vec<&Arc<Value>> = policies.iter().collect();
        policies.sort_by(|a, b| {
            crate::registry::metadata::meta_str(a, "name")
                .cmp(crate::registry::metadata::meta_str(b, "name"))
        });
        let mut hooks = Vec::new();
        for object in policies {
            let name = crate::registry::metadata::meta_str(object, "name");
            let (own, rest): (Vec<Binding>, Vec<Binding>) =
                bindings.into_iter().partition(|b| b.policy_name == name);
            bindings = rest;
            if own.is_empty() {
                continue;
            }
            hooks.push(Hook {
                policy: compile::policy(object),
                bindings: own,
            });
        }
        Self {
            hooks: Arc::new(hooks),
        }
    }

    /// Whether no binding refers to an existing policy.
    pub fn is_empty(&self) -> bool {
        self.hooks.is_empty()
    }
}

/// Whether the request is about the policies' own configuration, which upstream exempts from
/// policies to avoid locking them out.
fn exempt(attributes: &Attributes) -> bool {
    attributes.resource.group == "admissionregistration.k8s.io"
        && matches!(
            attributes.resource.resource.as_str(),
            "validatingadmissionpolicies"
                | "validatingadmissionpolicybindings"
                | "mutatingadmissionpolicies"
                | "mutatingadmissionpolicybindings"
        )
}

/// A refusal, with the policy and binding that made it.
struct Denial<'a> {
    policy: &'a str,
    binding: Option<&'a str>,
    message: String,
    reason: Option<String>,
}

/// Runs the bound policies on a validating admission call (`obj` the new object, `None` on
/// deletes; `old` the stored one, `None` on creates). Warnings and audit annotations go to
/// `record`. MUST refuse with upstream's error (403-style message, the failed validation's
/// reason and code) when a validation under `Deny`, or an error under `failurePolicy: Fail`,
/// refuses the request; the first refusal wins.
pub async fn validate(
    set: &PolicySet,
    services: &Services,
    attributes: &Attributes,
    record: &Record,
    obj: Option<&Value>,
    old: Option<&Value>,
) -> ApiResult<()> {
    if set.is_empty() || exempt(attributes) {
        return Ok(());
    }
    let mut request = Request::new(services, attributes, obj, old);
    let mut denials: Vec<Denial<'_>> = Vec::new();
    for hook in set.hooks.iter() {
        let policy = &hook.policy;
        let Some(constraints) = &policy.match_constraints else {
            continue;
        };
        // Upstream drops a policy's own matching errors: the policy then does not match.
        let Ok(Some(matched)) = matching::matches(constraints, &mut request).await else {
            continue;
        };
        let store = match &policy.param_kind {
            None => None,
            Some(kind) => match params::param_store(services, kind) {
                Ok(store) => Some(store),
                Err(err) => {
                    if !policy.ignore_failures {
                        denials.push(Denial {
                            policy: &policy.name,
                            binding: None,
                            message: format!("failed to configure policy: {err}"),
                            reason: None,
                        });
                    }
                    continue;
                }
            },
        };
        let request_value = evaluate::request_value(attributes, &matched, obj, old);
        let mut annotations: Vec<(String, Vec<String>)> = Vec::new();
        for binding in &hook.bindings {
            let started = Instant::now();
            let mut checked = Check::default();
            let binding_error = |message: String| {
                (!policy.ignore_failures).then(|| Denial {
                    policy: &policy.name,
                    binding: Some(&binding.name),
                    message: format!("failed to configure binding: {message}"),
                    reason: None,
                })
            };
            if let Some(criteria) = &binding.match_resources {
                match matching::matches(criteria, &mut request).await {
                    Ok(Some(_)) => {}
                    Ok(None) => continue,
                    Err(err) => {
                        denials.extend(binding_error(err.status.message));
                        checked.configuration_error(policy.ignore_failures);
                        checked.observe(services, policy, binding, started);
                        continue;
                    }
                }
            }
            let params = match params::collect(
                store.as_ref(),
                binding.param_ref.as_ref(),
                &attributes.namespace,
            )
            .await
            {
                Ok(params) => params,
                Err(err) => {
                    denials.extend(binding_error(err));
                    checked.configuration_error(policy.ignore_failures);
                    checked.observe(services, policy, binding, started);
                    continue;
                }
            };
            let namespace = if attributes.namespace.is_empty() || request.is_namespace() {
                None
            } else {
                Some(evaluate::namespace_value(
                    &request.namespace(&attributes.namespace).await?,
                ))
            };
            for param in &params {
                let inputs = Inputs {
                    obj,
                    old,
                    request: &request_value,
                    params: param.as_ref(),
                    namespace: namespace.as_ref(),
                };
                let outcome = evaluate::evaluate(policy, &inputs);
                for (index, decision) in outcome.decisions.iter().enumerate() {
                    checked.decision(decision, binding);
                    if !decision.deny {
                        continue;
                    }
                    for action in &binding.actions {
                        match action.as_str() {
                            "Deny" => denials.push(Denial {
                                policy: &policy.name,
                                binding: Some(&binding.name),
                                message: decision.message.clone(),
                                reason: decision.reason.clone(),
                            }),
                            "Warn" => record.warn(format!(
                                "Validation failed for ValidatingAdmissionPolicy '{}' with binding '{}': {}",
                                policy.name, binding.name, decision.message
                            )),
                            "Audit" => audit_failure(record, policy, binding, index, decision),
                            _ => {}
                        }
                    }
                }
                for annotation in outcome.annotations {
                    match annotation {
                        Ok((key, mut value)) => {
                            if value.len() > MAX_ANNOTATION_VALUE {
                                let mut cut = MAX_ANNOTATION_VALUE;
                                while !value.is_char_boundary(cut) {
                                    cut -= 1;
                                }
                                value.truncate(cut);
                            }
                            collect_annotation(&mut annotations, key, value);
                        }
                        Err(message) => {
                            checked.denied("deny", "invalid_error");
                            denials.push(Denial {
                                policy: &policy.name,
                                binding: Some(&binding.name),
                                message,
                                reason: None,
                            });
                        }
                    }
                }
            }
            checked.observe(services, policy, binding, started);
        }
        for (key, values) in annotations {
            record.annotate(format!("{}/{key}", policy.name), values.join(", "));
        }
    }
    match denials.into_iter().next() {
        None => Ok(()),
        Some(denial) => Err(refusal(attributes, obj, denial)),
    }
}

/// Adds a value of an audit annotation of a policy, once per distinct value.
fn collect_annotation(annotations: &mut Vec<(String, Vec<String>)>, key: String, value: String) {
    match annotations.iter_mut().find(|(k, _)| *k == key) {
        Some((_, values)) => {
            if !values.contains(&value) {
                values.push(value);
            }
        }
        None => annotations.push((key, vec![value])),
    }
}

/// Publishes a failed validation under the `Audit` action (upstream's
/// `publishValidationFailureAnnotation`); a second failure of the request keeps the first, as
/// upstream's audit annotations refuse to be overwritten.
fn audit_failure(
    record: &Record,
    policy: &Policy,
    binding: &Binding,
    index: usize,
    decision: &Decision,
) {
    if record
        .annotations()
        .iter()
        .any(|(key, _)| key == VALIDATION_FAILURE_ANNOTATION)
    {
        return;
    }
    let quote = |text: &str| serde_json::to_string(text).unwrap_or_default();
    let actions = serde_json::to_string(&binding.actions).unwrap_or_default();
    let value = format!(
        "[{{\"message\":{},\"policy\":{},\"binding\":{},\"expressionIndex\":{index},\"validationActions\":{actions}}}]",
        quote(&decision.message),
        quote(&policy.name),
        quote(&binding.name),
    );
    record.annotate(VALIDATION_FAILURE_ANNOTATION, value);
}

/// The error of a refusal, as upstream: `admission.NewForbidden` of the message, with the
/// reason and code of the failed validation (`Invalid`, 422, by default) and a cause carrying the
/// message.
fn refusal(attributes: &Attributes, obj: Option<&Value>, denial: Denial<'_>) -> ApiError {
    let message = match denial.binding {
        Some(binding) => format!(
            "ValidatingAdmissionPolicy '{}' with binding '{binding}' denied request: {}",
            denial.policy, denial.message
        ),
        None => format!(
            "ValidatingAdmissionPolicy '{}' denied request: {}",
            denial.policy, denial.message
        ),
    };
    let resource = GroupResource::new(
        attributes.resource.group.clone(),
        attributes.resource.resource.clone(),
    );
    let name = matching::object_name(attributes, obj);
    let mut err = ApiError::forbidden(&resource, &name, &message);
    let reason = denial.reason.unwrap_or_else(|| "Invalid".to_string());
    let code = match reason.as_str() {
        "Forbidden" => StatusCode::FORBIDDEN,
        "Unauthorized" => StatusCode::UNAUTHORIZED,
        "RequestEntityTooLarge" => StatusCode::PAYLOAD_TOO_LARGE,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    err.status.reason = reason;
    err.status.code = code.as_u16();
    if let Some(details) = err.status.details.as_mut() {
        details.causes.push(StatusCause {
            message,
            ..Default::default()
        });
    }
    err
}

/// What one binding check observed, for `apiserver_validating_admission_policy_check_*`.
#[derive(Debug, Default)]
struct Check {
    /// The enforcement actions taken, in the binding's order.
    actions: Vec<&'static str>,
    error_type: Option<&'static str>,
}

impl Check {
    fn denied(&mut self, action: &'static str, error_type: &'static str) {
        if !self.actions.contains(&action) {
            self.actions.push(action);
        }
        self.error_type.get_or_insert(error_type);
    }

    fn configuration_error(&mut self, ignored: bool) {
        if ignored {
            self.error_type.get_or_insert("invalid_error");
        } else {
            self.denied("deny", "invalid_error");
        }
    }

    fn decision(&mut self, decision: &Decision, binding: &Binding) {
        if !decision.deny {
            if decision.evaluation == Evaluation::Error {
                self.error_type.get_or_insert(decision.error_type());
            }
            return;
        }
        for action in &binding.actions {
            let action = match action.as_str() {
                "Deny" => "deny",
                "Warn" => "warn",
                "Audit" => "audit",
                _ => continue,
            };
            self.denied(action, decision.error_type());
        }
    }

    fn observe(&self, services: &Services, policy: &Policy, binding: &Binding, started: Instant) {
        let actions = if self.actions.is_empty() {
            "allow".to_string()
        } else {
            self.actions.join(",")
        };
        services.metrics.policy_check(
            &policy.name,
            &binding.name,
            self.error_type.unwrap_or("no_error"),
            &actions,
            started.elapsed(),
        );
    }
}
