//! `apps`: the workload controllers' resources (`pkg/registry/apps/<resource>`). Each keeps its
//! generation, gets upstream's defaults and validation, starts with a zeroed status, and has a
//! `scale` subresource over `.spec.replicas` and the selector at `.spec.selector` (but
//! DaemonSets). Their selectors are immutable.

use serde_json::{json, Value};

use super::rules::{empty_status, no_replicas};
use super::Rules;
use crate::registry::defaults;
use crate::registry::scale::ScalePaths;
use crate::registry::validation::{apps, FieldError};

/// Deployments.
pub const DEPLOYMENTS: Rules = Rules {
    tracks_generation: true,
    defaults: defaults::deployment,
    initial_status: Some(empty_status),
    validate_create: apps::validate_deployment,
    validate_update: Some(validate_deployment_update),
    scale: Some(ScalePaths::workload),
    // Upstream's deployment status strategy keeps the labels too.
    status_resets: &[&["spec"], &["metadata", "labels"]],
    ..Rules::GENERIC
};

/// ReplicaSets.
pub const REPLICA_SETS: Rules = Rules {
    tracks_generation: true,
    defaults: defaults::replica_set,
    initial_status: Some(no_replicas),
    validate_create: apps::validate_replica_set,
    validate_update: Some(validate_replica_set_update),
    scale: Some(ScalePaths::workload),
    ..Rules::GENERIC
};

/// StatefulSets: only some of the spec may change; the stored object is defaulted before an
/// update is compared with it.
pub const STATEFUL_SETS: Rules = Rules {
    tracks_generation: true,
    defaults: defaults::stateful_set,
    initial_status: Some(stateful_set_status),
    validate_create: apps::validate_stateful_set,
    validate_update: Some(validate_stateful_set_update),
    defaults_stored_before_update: true,
    scale: Some(ScalePaths::workload),
    ..Rules::GENERIC
};

/// DaemonSets (no scale).
pub const DAEMON_SETS: Rules = Rules {
    tracks_generation: true,
    defaults: defaults::daemon_set,
    initial_status: Some(daemon_set_status),
    validate_create: apps::validate_daemon_set,
    validate_update: Some(validate_daemon_set_update),
    ..Rules::GENERIC
};

fn stateful_set_status() -> Value {
    json!({"availableReplicas": 0, "replicas": 0})
}

fn daemon_set_status() -> Value {
    json!({
        "currentNumberScheduled": 0,
        "desiredNumberScheduled": 0,
        "numberMisscheduled": 0,
        "numberReady": 0,
    })
}

fn validate_deployment_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = apps::validate_deployment(new);
    errs.extend(apps::immutable_selector(new, old));
    errs
}

fn validate_replica_set_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = apps::validate_replica_set(new);
    errs.extend(apps::immutable_selector(new, old));
    errs
}

fn validate_daemon_set_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = apps::validate_daemon_set(new);
    errs.extend(apps::immutable_selector(new, old));
    errs
}

fn validate_stateful_set_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = apps::validate_stateful_set(new);
    errs.extend(apps::stateful_set_update(new, old));
    errs
}
