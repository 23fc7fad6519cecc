//! `scheduling.k8s.io`: PriorityClasses (`pkg/registry/scheduling/priorityclass`), and the system
//! classes kube-apiserver creates at start-up (values and descriptions from upstream's
//! `pkg/apis/scheduling/helpers.go`).

use serde_json::Value;

use super::Rules;
use crate::registry::defaults;
use crate::registry::validation::FieldError;

/// Upstream's `SystemCriticalPriority`: twice the highest user-definable priority.
const SYSTEM_CRITICAL_PRIORITY: i64 = 2_000_000_000;

/// The system PriorityClasses, in upstream's order: (name, value, description).
pub const SYSTEM_PRIORITY_CLASSES: [(&str, i64, &str); 2] = [
    (
        "system-node-critical",
        SYSTEM_CRITICAL_PRIORITY + 1000,
        "Used for system critical pods that must not be moved from their current node.",
    ),
    (
        "system-cluster-critical",
        SYSTEM_CRITICAL_PRIORITY,
        "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.",
    ),
];

/// PriorityClasses: `preemptionPolicy` defaults; the system classes cannot be deleted one by one
/// (upstream's REST `Delete`; deletecollection runs on the generic store and goes ahead).
pub const PRIORITY_CLASSES: Rules = Rules {
    defaults: defaults::priority_class,
    refuse_delete: refuse_system_class_delete,
    validate_create: validate_priority_class,
    validate_update: Some(validate_priority_class_update),
    ..Rules::GENERIC
};

/// Upstream's `HighestUserDefinablePriority`.
const HIGHEST_USER_DEFINABLE_PRIORITY: i64 = 1_000_000_000;

/// Upstream's `ValidatePriorityClass` (beyond metadata): `system-` names are the known system
/// classes with their value and globalDefault; other classes stay at most
/// [`HIGHEST_USER_DEFINABLE_PRIORITY`].
fn validate_priority_class(obj: &Value) -> Vec<FieldError> {
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let value = obj.get("value").and_then(Value::as_i64).unwrap_or(0);
    let global_default = obj
        .get("globalDefault")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mut errs = Vec::new();
    if name.starts_with("system-") {
        let problem = match SYSTEM_PRIORITY_CLASSES.iter().find(|(n, ..)| *n == name) {
            None => Some(format!("{name} is not a known system priority class")),
            Some((_, expected, _)) if *expected != value => {
                Some(format!("value of {name} PriorityClass must be {expected}"))
            }
            Some(_) if global_default => Some(format!(
                "globalDefault of {name} PriorityClass must be false"
            )),
            Some(_) => None,
        };
        if let Some(problem) = problem {
            errs.push(FieldError::forbidden(
                "metadata.name",
                format!("priority class names with 'system-' prefix are reserved for system use only. error: {problem}"),
            ));
        }
    } else if value > HIGHEST_USER_DEFINABLE_PRIORITY {
        errs.push(FieldError::forbidden(
            "value",
            format!("maximum allowed value of a user defined priority is {HIGHEST_USER_DEFINABLE_PRIORITY}"),
        ));
    }
    errs
}

/// Upstream's `ValidatePriorityClassUpdate`: `value` and `preemptionPolicy` never change.
fn validate_priority_class_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if new.get("value").and_then(Value::as_i64).unwrap_or(0)
        != old.get("value").and_then(Value::as_i64).unwrap_or(0)
    {
        errs.push(FieldError::forbidden(
            "value",
            "may not be changed in an update.",
        ));
    }
    let policy = |obj: &Value| {
        obj.get("preemptionPolicy")
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    if policy(new) != policy(old) {
        let rendered = policy(new).unwrap_or_else(|| "null".into());
        errs.push(FieldError::invalid(
            "preemptionPolicy",
            &rendered,
            "field is immutable",
        ));
    }
    errs
}

fn refuse_system_class_delete(name: &str) -> Option<&'static str> {
    SYSTEM_PRIORITY_CLASSES
        .iter()
        .any(|(class, ..)| *class == name)
        .then_some("this is a system priority class and cannot be deleted")
}
