//! Workloads of `apps/v1` (and ReplicationControllers), as the most-hit rules of upstream's
//! `pkg/apis/apps/validation/validation.go` and the apps strategies' `ValidateUpdate`: selectors
//! required and matching the template's labels, templates valid and restarting `Always`,
//! selectors immutable, StatefulSet spec updates limited.

use serde_json::{Map, Value};

use super::label_selector::{
    is_empty_selector, render_label_selector, render_labels, selector_matches,
    validate_label_selector,
};
use super::pod_spec::validate_pod_template;
use super::FieldError;

/// Upstream's `FieldImmutableErrorMsg`.
pub const FIELD_IMMUTABLE: &str = "field is immutable";

fn spec(obj: &Value) -> &Value {
    static EMPTY: Value = Value::Null;
    obj.get("spec").unwrap_or(&EMPTY)
}

fn non_negative(spec: &Value, key: &str, errs: &mut Vec<FieldError>) {
    if let Some(n) = spec.get(key).and_then(Value::as_i64).filter(|n| *n < 0) {
        errs.push(FieldError::invalid_rendered(
            format!("spec.{key}"),
            n.to_string(),
            "must be greater than or equal to 0",
        ));
    }
}

/// The selector rules shared by Deployments, ReplicaSets and StatefulSets: required, valid,
/// not empty (`empty selector is invalid for <what>`).
fn required_selector(spec: &Value, what: &str, errs: &mut Vec<FieldError>) {
    match spec.get("selector").filter(|s| s.is_object()) {
        None => errs.push(FieldError::required("spec.selector", "")),
        Some(selector) => {
            errs.extend(validate_label_selector(selector, "spec.selector"));
            if is_empty_selector(selector) {
                errs.push(FieldError::invalid_rendered(
                    "spec.selector",
                    render_label_selector(Some(selector)),
                    format!("empty selector is invalid for {what}"),
                ));
            }
        }
    }
}

/// `ValidatePodTemplateSpecForReplicaSet` (and its StatefulSet/DaemonSet twins): the selector
/// (unless empty) matches the template's labels, the template is valid, restarts `Always`, has
/// no `activeDeadlineSeconds`.
fn template_for_controller(spec: &Value, kind: &str, errs: &mut Vec<FieldError>) {
    let Some(template) = spec.get("template") else {
        errs.push(FieldError::required("spec.template", ""));
        return;
    };
    let selector = spec.get("selector").filter(|s| s.is_object());
    let labels = template
        .pointer("/metadata/labels")
        .and_then(Value::as_object);
    let selects_everything = selector.is_some_and(is_empty_selector);
    if !selects_everything && !selector_matches(selector, labels) {
        errs.push(template_labels_mismatch(labels));
    }
    errs.extend(validate_pod_template(Some(template), "spec.template"));
    restart_policy_always(template, errs);
    if template.pointer("/spec/activeDeadlineSeconds").is_some() {
        errs.push(FieldError::forbidden(
            "spec.template.spec.activeDeadlineSeconds",
            format!("activeDeadlineSeconds in {kind} is not Supported"),
        ));
    }
}

/// `spec.template.metadata.labels: Invalid value: map[string]string{...}: `selector` does not
/// match template `labels``.
/// Controllers' pod templates MUST restart always: upstream's NotSupported on
/// `spec.template.spec.restartPolicy` otherwise (an unset policy is defaulted to `Always` before).
fn restart_policy_always(template: &Value, errs: &mut Vec<FieldError>) {
    let restart = template
        .pointer("/spec/restartPolicy")
        .and_then(Value::as_str)
        .unwrap_or("");
    if restart != "Always" {
        errs.push(FieldError::not_supported(
            "spec.template.spec.restartPolicy",
            restart,
            &["Always"],
        ));
    }
}

pub fn template_labels_mismatch(labels: Option<&Map<String, Value>>) -> FieldError {
    FieldError::invalid_rendered(
        "spec.template.metadata.labels",
        render_labels(labels),
        "`selector` does not match template `labels`",
    )
}

/// A new or updated Deployment (`ValidateDeploymentSpec`).
pub fn validate_deployment(obj: &Value) -> Vec<FieldError> {
    let spec = spec(obj);
    let mut errs = Vec::new();
    non_negative(spec, "replicas", &mut errs);
    required_selector(spec, "deployment", &mut errs);
    template_for_controller(spec, "ReplicaSet", &mut errs);
    let strategy = spec.pointer("/strategy/type").and_then(Value::as_str);
    match strategy {
        Some("RollingUpdate") | Some("Recreate") => {}
        Some("") | None => errs.push(FieldError::required("spec.strategy.type", "")),
        Some(other) => errs.push(FieldError::not_supported(
            "spec.strategy.type",
            other,
            &["Recreate", "RollingUpdate"],
        )),
    }
    if strategy == Some("Recreate") && spec.pointer("/strategy/rollingUpdate").is_some() {
        errs.push(FieldError::forbidden(
            "spec.strategy.rollingUpdate",
            "may not be specified when strategy `type` is 'Recreate'",
        ));
    }
    non_negative(spec, "minReadySeconds", &mut errs);
    non_negative(spec, "revisionHistoryLimit", &mut errs);
    if let Some(deadline) = spec.get("progressDeadlineSeconds").and_then(Value::as_i64) {
        non_negative(spec, "progressDeadlineSeconds", &mut errs);
        let min_ready = spec
            .get("minReadySeconds")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        if deadline <= min_ready {
            errs.push(FieldError::invalid_rendered(
                "spec.progressDeadlineSeconds",
                deadline.to_string(),
                "must be greater than minReadySeconds",
            ));
        }
    }
    errs
}

/// A new or updated ReplicaSet (`ValidateReplicaSetSpec`).
pub fn validate_replica_set(obj: &Value) -> Vec<FieldError> {
    let spec = spec(obj);
    let mut errs = Vec::new();
    non_negative(spec, "replicas", &mut errs);
    non_negative(spec, "minReadySeconds", &mut errs);
    // Upstream's ReplicaSet message says "deployment" too.
    required_selector(spec, "deployment", &mut errs);
    template_for_controller(spec, "ReplicaSet", &mut errs);
    errs
}

/// A new or updated StatefulSet (`ValidateStatefulSetSpec`, its most-hit rules).
pub fn validate_stateful_set(obj: &Value) -> Vec<FieldError> {
    let spec = spec(obj);
    let mut errs = Vec::new();
    match spec.get("podManagementPolicy").and_then(Value::as_str) {
        Some("OrderedReady") | Some("Parallel") => {}
        Some("") | None => errs.push(FieldError::required("spec.podManagementPolicy", "")),
        Some(other) => errs.push(FieldError::invalid(
            "spec.podManagementPolicy",
            other,
            "must be 'OrderedReady' or 'Parallel'",
        )),
    }
    non_negative(spec, "replicas", &mut errs);
    non_negative(spec, "minReadySeconds", &mut errs);
    required_selector(spec, "statefulset", &mut errs);
    template_for_controller(spec, "StatefulSet", &mut errs);
    errs
}

/// A new or updated DaemonSet (`ValidateDaemonSetSpec`).
pub fn validate_daemon_set(obj: &Value) -> Vec<FieldError> {
    let spec = spec(obj);
    let mut errs = Vec::new();
    let selector = spec.get("selector").filter(|s| s.is_object());
    if let Some(selector) = selector {
        errs.extend(validate_label_selector(selector, "spec.selector"));
    }
    let labels = spec
        .pointer("/template/metadata/labels")
        .and_then(Value::as_object);
    let selects_everything = selector.is_some_and(is_empty_selector);
    if !selects_everything && !selector_matches(selector, labels) {
        errs.push(template_labels_mismatch(labels));
    }
    if let Some(selector) = selector.filter(|s| is_empty_selector(s)) {
        errs.push(FieldError::invalid_rendered(
            "spec.selector",
            render_label_selector(Some(selector)),
            "empty selector is invalid for daemonset",
        ));
    }
    errs.extend(validate_pod_template(spec.get("template"), "spec.template"));
    restart_policy_always(spec.get("template").unwrap_or(&Value::Null), &mut errs);
    if spec
        .pointer("/template/spec/activeDeadlineSeconds")
        .is_some()
    {
        errs.push(FieldError::forbidden(
            "spec.template.spec.activeDeadlineSeconds",
            "activeDeadlineSeconds in DaemonSet is not Supported",
        ));
    }
    non_negative(spec, "minReadySeconds", &mut errs);
    non_negative(spec, "revisionHistoryLimit", &mut errs);
    errs
}

/// A new or updated ReplicationController (`ValidateReplicationControllerSpec`): the selector
/// is a plain label map, required, matching the template's labels.
pub fn validate_replication_controller(obj: &Value) -> Vec<FieldError> {
    let spec = spec(obj);
    let mut errs = Vec::new();
    non_negative(spec, "minReadySeconds", &mut errs);
    non_negative(spec, "replicas", &mut errs);
    let selector = spec.get("selector").and_then(Value::as_object);
    match selector {
        None => errs.push(FieldError::required("spec.selector", "")),
        Some(s) if s.is_empty() => errs.push(FieldError::required("spec.selector", "")),
        Some(_) => {}
    }
    let Some(template) = spec.get("template") else {
        errs.push(FieldError::required("spec.template", ""));
        return errs;
    };
    let labels = template
        .pointer("/metadata/labels")
        .and_then(Value::as_object);
    if let Some(selector) = selector.filter(|s| !s.is_empty()) {
        let matches = selector
            .iter()
            .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v));
        if !matches {
            errs.push(template_labels_mismatch(labels));
        }
    }
    errs.extend(validate_pod_template(Some(template), "spec.template"));
    restart_policy_always(template, &mut errs);
    errs
}

/// `ValidateImmutableField` of `spec.selector` (Deployments, ReplicaSets, DaemonSets of
/// `apps/v1`).
pub fn immutable_selector(new: &Value, old: &Value) -> Option<FieldError> {
    let new_selector = new.pointer("/spec/selector");
    if new_selector == old.pointer("/spec/selector") {
        return None;
    }
    Some(FieldError::invalid_rendered(
        "spec.selector",
        render_label_selector(new_selector),
        FIELD_IMMUTABLE,
    ))
}

/// The StatefulSet spec fields an update may change.
const STATEFUL_SET_UPDATABLE: &[&str] = &[
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "revisionHistoryLimit",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
];

/// `ValidateStatefulSetUpdate`'s rule: only some spec fields may change.
pub fn stateful_set_update(new: &Value, old: &Value) -> Option<FieldError> {
    let strip = |obj: &Value| {
        let mut spec = obj.get("spec").cloned().unwrap_or(Value::Null);
        if let Some(map) = spec.as_object_mut() {
            for key in STATEFUL_SET_UPDATABLE {
                map.remove(*key);
            }
        }
        spec
    };
    if strip(new) == strip(old) {
        return None;
    }
    Some(FieldError::forbidden(
        "spec",
        "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
    ))
}
