//! Workloads: `SetDefaults_Deployment`, `SetDefaults_ReplicaSet`, `SetDefaults_StatefulSet`,
//! `SetDefaults_DaemonSet` (`pkg/apis/apps/v1/defaults.go`), `SetDefaults_Job`,
//! `SetDefaults_CronJob` (`pkg/apis/batch/v1/defaults.go`), `SetDefaults_ReplicationController`
//! (`pkg/apis/core/v1/defaults.go`), and the job strategy's generated selector
//! (`pkg/registry/batch/job/strategy.go`).

use serde_json::{json, Map, Value};

use super::pod_spec::{pod_template, template_metadata};
use super::{child, each_object, object_entry, persistent_volume_claim_spec, set_default};
use crate::registry::metadata::meta_str;

/// The label of a job's pods naming their job (and its legacy form).
pub const JOB_NAME_LABELS: [&str; 2] = ["job-name", "batch.kubernetes.io/job-name"];
/// The label of a job's pods carrying their job's uid (legacy form first).
pub const CONTROLLER_UID_LABELS: [&str; 2] =
    ["controller-uid", "batch.kubernetes.io/controller-uid"];

fn spec_of(obj: &mut Value) -> Option<&mut Map<String, Value>> {
    obj.as_object_mut().and_then(|m| object_entry(m, "spec"))
}

fn template_of(spec: &mut Map<String, Value>) {
    if let Some(template) = spec.get_mut("template") {
        pod_template(template);
    } else {
        spec.insert("template".into(), json!({}));
        if let Some(template) = spec.get_mut("template") {
            pod_template(template);
        }
    }
}

/// Deployments: replicas 1, `RollingUpdate` with 25%/25%, history 10, progress deadline 600 s.
pub fn deployment(obj: &mut Value) {
    let Some(spec) = spec_of(obj) else {
        return;
    };
    set_default(spec, "replicas", json!(1));
    if let Some(strategy) = object_entry(spec, "strategy") {
        set_default(strategy, "type", json!("RollingUpdate"));
        if strategy.get("type").and_then(Value::as_str) == Some("RollingUpdate") {
            if let Some(rolling) = object_entry(strategy, "rollingUpdate") {
                set_default(rolling, "maxUnavailable", json!("25%"));
                set_default(rolling, "maxSurge", json!("25%"));
            }
        }
    }
    set_default(spec, "revisionHistoryLimit", json!(10));
    set_default(spec, "progressDeadlineSeconds", json!(600));
    template_of(spec);
}

/// ReplicaSets: replicas 1.
pub fn replica_set(obj: &mut Value) {
    let Some(spec) = spec_of(obj) else {
        return;
    };
    set_default(spec, "replicas", json!(1));
    template_of(spec);
}

/// StatefulSets: `OrderedReady`, `RollingUpdate` with partition 0, PVC retention `Retain`,
/// replicas 1, history 10; claim templates as PVCs.
pub fn stateful_set(obj: &mut Value) {
    let Some(spec) = spec_of(obj) else {
        return;
    };
    set_default(spec, "podManagementPolicy", json!("OrderedReady"));
    if let Some(update) = object_entry(spec, "updateStrategy") {
        if update.get("type").is_none_or(Value::is_null) {
            update.insert("type".into(), json!("RollingUpdate"));
            set_default(update, "rollingUpdate", json!({}));
        }
        if update.get("type").and_then(Value::as_str) == Some("RollingUpdate") {
            if let Some(rolling) = child(update, "rollingUpdate") {
                set_default(rolling, "partition", json!(0));
            }
        }
    }
    if let Some(retention) = object_entry(spec, "persistentVolumeClaimRetentionPolicy") {
        set_default(retention, "whenDeleted", json!("Retain"));
        set_default(retention, "whenScaled", json!("Retain"));
    }
    set_default(spec, "replicas", json!(1));
    set_default(spec, "revisionHistoryLimit", json!(10));
    template_of(spec);
    each_object(spec, "volumeClaimTemplates", |claim| {
        set_default(claim, "apiVersion", json!("v1"));
        set_default(claim, "kind", json!("PersistentVolumeClaim"));
        template_metadata(claim);
        if let Some(claim_spec) = object_entry(claim, "spec") {
            persistent_volume_claim_spec(claim_spec);
        }
        if let Some(status) = object_entry(claim, "status") {
            set_default(status, "phase", json!("Pending"));
        }
    });
}

/// DaemonSets: `RollingUpdate` with maxUnavailable 1 and maxSurge 0, history 10.
pub fn daemon_set(obj: &mut Value) {
    let Some(spec) = spec_of(obj) else {
        return;
    };
    if let Some(update) = object_entry(spec, "updateStrategy") {
        set_default(update, "type", json!("RollingUpdate"));
        if update.get("type").and_then(Value::as_str) == Some("RollingUpdate") {
            if let Some(rolling) = object_entry(update, "rollingUpdate") {
                set_default(rolling, "maxUnavailable", json!(1));
                set_default(rolling, "maxSurge", json!(0));
            }
        }
    }
    set_default(spec, "revisionHistoryLimit", json!(10));
    template_of(spec);
}

/// ReplicationControllers: selector and labels from the template's labels, replicas 1.
pub fn replication_controller(obj: &mut Value) {
    let Some(map) = obj.as_object_mut() else {
        return;
    };
    let template_labels = map
        .get("spec")
        .and_then(|s| s.pointer("/template/metadata/labels"))
        .and_then(Value::as_object)
        .cloned();
    if let Some(labels) = template_labels {
        if let Some(spec) = object_entry(map, "spec") {
            let empty = spec
                .get("selector")
                .and_then(Value::as_object)
                .is_none_or(Map::is_empty);
            if empty {
                spec.insert("selector".into(), Value::Object(labels.clone()));
            }
        }
        labels_default(map, labels);
    }
    let Some(spec) = object_entry(map, "spec") else {
        return;
    };
    set_default(spec, "replicas", json!(1));
    if let Some(template) = spec.get_mut("template").filter(|t| t.is_object()) {
        pod_template(template);
    }
}

/// `metadata.labels = labels` when the object has no labels.
fn labels_default(map: &mut Map<String, Value>, labels: Map<String, Value>) {
    if let Some(meta) = object_entry(map, "metadata") {
        let empty = meta
            .get("labels")
            .and_then(Value::as_object)
            .is_none_or(Map::is_empty);
        if empty {
            meta.insert("labels".into(), Value::Object(labels));
        }
    }
}

/// Jobs: completions and parallelism 1, backoffLimit 6, `NonIndexed`, not suspended,
/// `manualSelector: false`, pod replacement policy, labels from the template's labels.
pub fn job(obj: &mut Value) {
    let Some(map) = obj.as_object_mut() else {
        return;
    };
    let template_labels = map
        .get("spec")
        .and_then(|s| s.pointer("/template/metadata/labels"))
        .and_then(Value::as_object)
        .cloned();
    if let Some(labels) = template_labels {
        labels_default(map, labels);
    }
    let Some(spec) = object_entry(map, "spec") else {
        return;
    };
    job_spec(spec);
}

/// The defaults of a Job's spec (used for Jobs only: a CronJob's job template keeps its spec as
/// given, as upstream's defaulter works on the Job object).
fn job_spec(spec: &mut Map<String, Value>) {
    let unset = |spec: &Map<String, Value>, key: &str| spec.get(key).is_none_or(Value::is_null);
    if unset(spec, "completions") && unset(spec, "parallelism") {
        spec.insert("completions".into(), json!(1));
    }
    set_default(spec, "parallelism", json!(1));
    if unset(spec, "backoffLimit") {
        let limit = if unset(spec, "backoffLimitPerIndex") {
            6
        } else {
            i32::MAX as i64
        };
        spec.insert("backoffLimit".into(), json!(limit));
    }
    set_default(spec, "completionMode", json!("NonIndexed"));
    set_default(spec, "suspend", json!(false));
    set_default(spec, "manualSelector", json!(false));
    let replacement = if unset(spec, "podFailurePolicy") {
        "TerminatingOrFailed"
    } else {
        "Failed"
    };
    set_default(spec, "podReplacementPolicy", json!(replacement));
    if let Some(policy) = child(spec, "podFailurePolicy") {
        each_object(policy, "rules", |rule| {
            each_object(rule, "onPodConditions", |condition| {
                set_default(condition, "status", json!("True"));
            });
        });
    }
    template_of(spec);
}

/// The job strategy's `generateSelector` on create, unless `spec.manualSelector` is true: the
/// template gets the job-name and controller-uid labels (legacy and `batch.kubernetes.io/`
/// forms, unless set), and the selector matches `batch.kubernetes.io/controller-uid`. Needs
/// `metadata.name` and `metadata.uid` set.
pub fn job_generated_selector(obj: &mut Value) {
    if obj.pointer("/spec/manualSelector").and_then(Value::as_bool) == Some(true) {
        return;
    }
    let name = meta_str(obj, "name").to_string();
    let uid = meta_str(obj, "uid").to_string();
    let Some(spec) = spec_of(obj) else {
        return;
    };
    if let Some(labels) = object_entry(spec, "template")
        .and_then(|t| object_entry(t, "metadata"))
        .and_then(|m| object_entry(m, "labels"))
    {
        for key in JOB_NAME_LABELS {
            labels.entry(key).or_insert_with(|| json!(name));
        }
        for key in CONTROLLER_UID_LABELS {
            labels.entry(key).or_insert_with(|| json!(uid));
        }
    }
    if let Some(match_labels) =
        object_entry(spec, "selector").and_then(|s| object_entry(s, "matchLabels"))
    {
        match_labels
            .entry(CONTROLLER_UID_LABELS[1])
            .or_insert_with(|| json!(uid));
    }
}

/// CronJobs: `Allow`, not suspended, history limits 3 and 1; the job template's metadata and
/// pod template as Go prints them.
pub fn cron_job(obj: &mut Value) {
    let Some(spec) = spec_of(obj) else {
        return;
    };
    set_default(spec, "concurrencyPolicy", json!("Allow"));
    set_default(spec, "suspend", json!(false));
    set_default(spec, "successfulJobsHistoryLimit", json!(3));
    set_default(spec, "failedJobsHistoryLimit", json!(1));
    if let Some(job_template) = object_entry(spec, "jobTemplate") {
        template_metadata(job_template);
        if let Some(job_spec) = object_entry(job_template, "spec") {
            template_of(job_spec);
        }
    }
}
