//! Jobs and CronJobs, as the most-hit rules of upstream's
//! `pkg/apis/batch/validation/validation.go`: the generated selector, the selector matching the
//! template, restart policy `OnFailure` or `Never`, and the immutable fields of a Job.

use serde_json::Value;

use super::apps::{template_labels_mismatch, FIELD_IMMUTABLE};
use super::label_selector::{render_label_selector, selector_matches, validate_label_selector};
use super::pod_spec::validate_pod_template;
use super::FieldError;
use crate::registry::defaults::CONTROLLER_UID_LABELS;
use crate::registry::metadata::meta_str;

fn non_negative(spec: &Value, key: &str, errs: &mut Vec<FieldError>) {
    if let Some(n) = spec.get(key).and_then(Value::as_i64).filter(|n| *n < 0) {
        errs.push(FieldError::invalid_rendered(
            format!("spec.{key}"),
            n.to_string(),
            "must be greater than or equal to 0",
        ));
    }
}

/// A new Job (`ValidateJob`): the generated selector, then the spec.
pub fn validate_job(obj: &Value) -> Vec<FieldError> {
    let mut errs = generated_selector(obj);
    errs.extend(validate_job_spec(obj));
    errs
}

/// `validateGeneratedSelector`: without `manualSelector: true`, the selector must be exactly
/// the one the server generated (`batch.kubernetes.io/controller-uid: <uid>`).
fn generated_selector(obj: &Value) -> Vec<FieldError> {
    if obj.pointer("/spec/manualSelector").and_then(Value::as_bool) == Some(true) {
        return Vec::new();
    }
    let Some(selector) = obj.pointer("/spec/selector") else {
        return Vec::new();
    };
    let expected = serde_json::json!({
        "matchLabels": {CONTROLLER_UID_LABELS[1]: meta_str(obj, "uid")}
    });
    if selector == &expected {
        return Vec::new();
    }
    vec![FieldError::invalid_rendered(
        "spec.selector",
        render_label_selector(Some(selector)),
        "`selector` not auto-generated",
    )]
}

/// `validateJobSpec`'s most-hit rules.
fn validate_job_spec(obj: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let Some(spec) = obj.get("spec") else {
        errs.push(FieldError::required("spec.selector", ""));
        return errs;
    };
    for key in [
        "parallelism",
        "completions",
        "activeDeadlineSeconds",
        "backoffLimit",
    ] {
        non_negative(spec, key, &mut errs);
    }
    let selector = spec.get("selector").filter(|s| s.is_object());
    match selector {
        None => errs.push(FieldError::required("spec.selector", "")),
        Some(selector) => errs.extend(validate_label_selector(selector, "spec.selector")),
    }
    let labels = spec
        .pointer("/template/metadata/labels")
        .and_then(Value::as_object);
    if selector.is_some() && !selector_matches(selector, labels) {
        errs.push(template_labels_mismatch(labels));
    }
    errs.extend(validate_pod_template(spec.get("template"), "spec.template"));
    errs.extend(job_restart_policy(
        spec.get("template"),
        "spec.template.spec.restartPolicy",
    ));
    errs
}

/// A Job template's restart policy must be `OnFailure` or `Never`.
fn job_restart_policy(template: Option<&Value>, path: &str) -> Option<FieldError> {
    let restart = template
        .and_then(|t| t.pointer("/spec/restartPolicy"))
        .and_then(Value::as_str)
        .unwrap_or("");
    match restart {
        "OnFailure" | "Never" => None,
        "Always" | "" => Some(FieldError::required(
            path,
            "valid values: \"OnFailure\", \"Never\"",
        )),
        other => Some(FieldError::not_supported(
            path,
            other,
            &["OnFailure", "Never"],
        )),
    }
}

/// An updated Job (`ValidateJobSpecUpdate`): the spec is valid; completions (of a non-indexed
/// job), selector, template and completion mode are immutable.
pub fn validate_job_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = validate_job_spec(new);
    let indexed = new.pointer("/spec/completionMode").and_then(Value::as_str) == Some("Indexed");
    let new_completions = new.pointer("/spec/completions");
    if !indexed && new_completions != old.pointer("/spec/completions") {
        let rendered = new_completions
            .and_then(Value::as_i64)
            .map_or_else(|| "\"null\"".to_string(), |n| n.to_string());
        errs.push(FieldError::invalid_rendered(
            "spec.completions",
            rendered,
            FIELD_IMMUTABLE,
        ));
    }
    let new_selector = new.pointer("/spec/selector");
    if new_selector != old.pointer("/spec/selector") {
        errs.push(FieldError::invalid_rendered(
            "spec.selector",
            render_label_selector(new_selector),
            FIELD_IMMUTABLE,
        ));
    }
    if new.pointer("/spec/template") != old.pointer("/spec/template") {
        errs.push(FieldError::invalid_rendered(
            "spec.template",
            render_pod_template(),
            FIELD_IMMUTABLE,
        ));
    }
    let new_mode = new.pointer("/spec/completionMode");
    if new_mode != old.pointer("/spec/completionMode") {
        let mode = new_mode.and_then(Value::as_str).unwrap_or("null");
        errs.push(FieldError::invalid(
            "spec.completionMode",
            mode,
            FIELD_IMMUTABLE,
        ));
    }
    errs
}

/// Upstream prints the whole internal `core.PodTemplateSpec` with Go's `%#v` (pointer fields
/// as memory addresses, so never reproducible); Apiary prints the type with its fields elided.
fn render_pod_template() -> String {
    "core.PodTemplateSpec{ObjectMeta:v1.ObjectMeta{...}, Spec:core.PodSpec{...}}".into()
}

/// A new or updated CronJob: the schedule is required, the job template's selector matches,
/// its restart policy is `OnFailure` or `Never`.
pub fn validate_cron_job(obj: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let schedule = obj
        .pointer("/spec/schedule")
        .and_then(Value::as_str)
        .unwrap_or("");
    if schedule.is_empty() {
        errs.push(FieldError::required("spec.schedule", ""));
    }
    match obj
        .pointer("/spec/concurrencyPolicy")
        .and_then(Value::as_str)
    {
        Some("Allow") | Some("Forbid") | Some("Replace") => {}
        Some("") | None => errs.push(FieldError::required("spec.concurrencyPolicy", "")),
        Some(other) => errs.push(FieldError::not_supported(
            "spec.concurrencyPolicy",
            other,
            &["Allow", "Forbid", "Replace"],
        )),
    }
    let template = obj.pointer("/spec/jobTemplate/spec/template");
    errs.extend(validate_pod_template(
        template,
        "spec.jobTemplate.spec.template",
    ));
    errs.extend(job_restart_policy(
        template,
        "spec.jobTemplate.spec.template.spec.restartPolicy",
    ));
    errs
}
