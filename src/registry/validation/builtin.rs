//! Which validation each built-in resource gets, on create and on update (upstream's
//! strategies' `Validate` and `ValidateUpdate`, after the store validated metadata).

use serde_json::Value;

use super::{apps, batch, core, pod, FieldError};

/// The problems of a new object of the built-in resource `group`/`plural`.
pub fn validate_create(group: &str, plural: &str, obj: &Value) -> Vec<FieldError> {
    match (group, plural) {
        ("", "pods") => pod::validate_pod(obj),
        ("", "podtemplates") => pod::validate_pod_template(obj.get("template"), "template"),
        ("", "replicationcontrollers") => apps::validate_replication_controller(obj),
        ("", "configmaps") => core::validate_config_map(obj),
        ("", "secrets") => core::validate_secret(obj),
        ("apps", "deployments") => apps::validate_deployment(obj),
        ("apps", "replicasets") => apps::validate_replica_set(obj),
        ("apps", "statefulsets") => apps::validate_stateful_set(obj),
        ("apps", "daemonsets") => apps::validate_daemon_set(obj),
        ("batch", "jobs") => batch::validate_job(obj),
        ("batch", "cronjobs") => batch::validate_cron_job(obj),
        _ => Vec::new(),
    }
}

/// The problems of an update of the built-in resource `group`/`plural` from `old` to `new`.
pub fn validate_update(group: &str, plural: &str, new: &Value, old: &Value) -> Vec<FieldError> {
    match (group, plural) {
        ("", "pods") => pod::validate_pod_update(new, old),
        ("", "configmaps") => core::validate_config_map_update(new, old),
        ("", "secrets") => core::validate_secret_update(new, old),
        ("apps", "deployments") => {
            let mut errs = apps::validate_deployment(new);
            errs.extend(apps::immutable_selector(new, old));
            errs
        }
        ("apps", "replicasets") => {
            let mut errs = apps::validate_replica_set(new);
            errs.extend(apps::immutable_selector(new, old));
            errs
        }
        ("apps", "daemonsets") => {
            let mut errs = apps::validate_daemon_set(new);
            errs.extend(apps::immutable_selector(new, old));
            errs
        }
        ("apps", "statefulsets") => {
            let mut errs = apps::validate_stateful_set(new);
            errs.extend(apps::stateful_set_update(new, old));
            errs
        }
        ("batch", "jobs") => batch::validate_job_update(new, old),
        _ => validate_create(group, plural, new),
    }
}
