//! `pods/<name>/eviction`: a `policy/v1` (or `v1beta1`) Eviction deletes the pod unless a
//! PodDisruptionBudget forbids it, as upstream's `EvictionREST`
//! (`pkg/registry/core/pod/storage/eviction.go`):
//! * a pod that is terminal, pending or already being deleted is deleted without looking at
//!   budgets;
//! * otherwise the budgets of its namespace whose (non-empty) selector matches the pod decide:
//!   none -> delete; more than one -> a 500 Status; one whose status lags its generation -> 429
//!   `... is still being processed by the server.`; one allowing no disruption -> 429 with a
//!   `DisruptionBudget` cause; else `status.disruptionsAllowed` is decremented, the pod recorded
//!   in `status.disruptedPods`, and the pod deleted. An unready pod is deleted without a
//!   decrement when the budget's `unhealthyPodEvictionPolicy` is `AlwaysAllow`, or when the
//!   budget is currently met.
//!
//! Before the delete the pod gets the `DisruptionTarget` condition (as 1.33, whose
//! PodDisruptionConditions is on). The answer is a `Success` Status (201). Budgets' status is
//! written by upstream's disruption controller, which Apiary does not run: a budget's
//! `status` is whatever clients wrote.

use serde_json::{json, Value};

use crate::api::status::{ApiError, ApiResult, GroupResource, StatusCause, StatusDetails};
use crate::registry::metadata::{meta_str, now_rfc3339};
use crate::registry::options::{DeleteOptions, ListOptions, Preconditions, WriteOptions};
use crate::registry::selectors::label::label_selector;
use crate::registry::store::Store;
use crate::servers::core::query::RawDeleteOptions;

/// How often a conflicting read-modify-write is retried (upstream's `EvictionsRetry` steps).
const RETRIES: usize = 5;
/// Upstream's `MaxDisruptedPodSize`.
const MAX_DISRUPTED_PODS: usize = 2000;
const TOO_MANY: &str = "Cannot evict pod as it would violate the pod's disruption budget.";

/// The 429 of a budget that forbids the eviction, with upstream's `DisruptionBudget` cause.
fn too_many_requests(cause: String) -> ApiError {
    ApiError::new(
        http::StatusCode::TOO_MANY_REQUESTS,
        "TooManyRequests",
        TOO_MANY,
        Some(StatusDetails {
            causes: vec![StatusCause {
                reason: "DisruptionBudget".into(),
                message: cause,
                field: String::new(),
            }],
            ..Default::default()
        }),
    )
}

fn still_processed(pdb: &str) -> ApiError {
    too_many_requests(format!(
        "The disruption budget {pdb} is still being processed by the server."
    ))
}

fn phase(pod: &Value) -> &str {
    pod.pointer("/status/phase")
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn being_deleted(pod: &Value) -> bool {
    pod.pointer("/metadata/deletionTimestamp")
        .is_some_and(|t| !t.is_null())
}

/// Upstream's `canIgnorePDB`.
fn can_ignore_budgets(pod: &Value) -> bool {
    matches!(phase(pod), "Succeeded" | "Failed" | "Pending") || being_deleted(pod)
}

/// Upstream's `shouldEnforceResourceVersion`.
fn enforce_resource_version(pod: &Value) -> bool {
    !(matches!(phase(pod), "Succeeded" | "Failed") || being_deleted(pod))
}

/// Upstream's `IsPodReady`.
fn is_ready(pod: &Value) -> bool {
    pod.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|c| {
            c.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
}

fn int(obj: &Value, pointer: &str) -> i64 {
    obj.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

fn with_resource_version(opts: &DeleteOptions, rv: &str) -> DeleteOptions {
    let mut opts = opts.clone();
    let mut pre = opts.preconditions.take().unwrap_or(Preconditions {
        uid: None,
        resource_version: None,
    });
    pre.resource_version = Some(rv.to_string());
    opts.preconditions = Some(pre);
    opts
}

fn rv_unset(opts: &DeleteOptions) -> bool {
    opts.preconditions
        .as_ref()
        .is_none_or(|p| p.resource_version.is_none())
}

/// The budgets of the pod's namespace whose selector selects it (an empty or invalid selector
/// selects nothing).
async fn budgets_of(pdbs: &Store, pod: &Value) -> ApiResult<Vec<Value>> {
    let namespace = meta_str(pod, "namespace");
    let list = pdbs.list(Some(namespace), &ListOptions::default()).await?;
    let labels = pod.pointer("/metadata/labels").and_then(Value::as_object);
    Ok(list
        .items
        .into_iter()
        .filter(|pdb| {
            let Some(selector) = pdb.pointer("/spec/selector").filter(|s| !s.is_null()) else {
                return false;
            };
            match label_selector(selector) {
                Ok(sel) => !sel.is_empty() && sel.matches_labels(labels),
                Err(_) => false,
            }
        })
        .collect())
}

/// Upstream's `UpdateDisruptionAllowedCondition`.
fn set_disruption_allowed_condition(pdb: &mut Value) {
    let allowed = int(pdb, "/status/disruptionsAllowed") > 0;
    let (status, reason) = if allowed {
        ("True", "SufficientPods")
    } else {
        ("False", "InsufficientPods")
    };
    let observed = int(pdb, "/status/observedGeneration");
    let conditions = pdb["status"]
        .as_object_mut()
        .map(|s| s.entry("conditions").or_insert_with(|| json!([])));
    let Some(Value::Array(conditions)) = conditions else {
        return;
    };
    match conditions
        .iter_mut()
        .find(|c| c["type"] == "DisruptionAllowed")
    {
        Some(c) => {
            if c["status"] != status {
                c["lastTransitionTime"] = json!(now_rfc3339());
            }
            c["status"] = json!(status);
            c["reason"] = json!(reason);
            c["observedGeneration"] = json!(observed);
        }
        None => conditions.push(json!({
            "type": "DisruptionAllowed", "status": status, "reason": reason,
            "observedGeneration": observed, "lastTransitionTime": now_rfc3339(), "message": "",
        })),
    }
}

/// Upstream's `checkAndDecrement`: refuses, or takes one disruption from the budget (written
/// unless `dry_run`).
async fn check_and_decrement(
    pdbs: &Store,
    pod_name: &str,
    mut pdb: Value,
    dry_run: bool,
) -> ApiResult<()> {
    let name = meta_str(&pdb, "name").to_string();
    let gr = GroupResource::new("policy", "poddisruptionbudget");
    if int(&pdb, "/status/observedGeneration") < int(&pdb, "/metadata/generation") {
        return Err(still_processed(&name));
    }
    let allowed = int(&pdb, "/status/disruptionsAllowed");
    if allowed < 0 {
        return Err(ApiError::forbidden(
            &gr,
            &name,
            "pdb disruptions allowed is negative",
        ));
    }
    let disrupted = pdb
        .pointer("/status/disruptedPods")
        .and_then(Value::as_object)
        .map_or(0, |m| m.len());
    if disrupted > MAX_DISRUPTED_PODS {
        return Err(ApiError::forbidden(
            &gr,
            &name,
            "DisruptedPods map too big - too many evictions not confirmed by PDB controller",
        ));
    }
    if allowed == 0 {
        return Err(too_many_requests(format!(
            "The disruption budget {name} needs {} healthy pods and has {} currently",
            int(&pdb, "/status/desiredHealthy"),
            int(&pdb, "/status/currentHealthy")
        )));
    }
    if !pdb["status"].is_object() {
        pdb["status"] = json!({});
    }
    pdb["status"]["disruptionsAllowed"] = json!(allowed - 1);
    if allowed - 1 == 0 {
        set_disruption_allowed_condition(&mut pdb);
    }
    if dry_run {
        return Ok(());
    }
    let status = pdb["status"].as_object_mut().expect("status object");
    let pods = status.entry("disruptedPods").or_insert_with(|| json!({}));
    if !pods.is_object() {
        *pods = json!({});
    }
    pods[pod_name] = json!(now_rfc3339());
    let write = WriteOptions {
        subresource: Some("status".into()),
        ..WriteOptions::default()
    };
    let namespace = meta_str(&pdb, "namespace").to_string();
    pdbs.update(Some(&namespace), &name, pdb, &write)
        .await
        .map(|_| ())
}

/// Upstream's `addConditionAndDeletePod`: the pod gets the `DisruptionTarget` condition
/// (unless a dry run), then is deleted with `opts`.
async fn condition_and_delete(
    pods: &Store,
    namespace: &str,
    name: &str,
    mut opts: DeleteOptions,
    write: &WriteOptions,
) -> ApiResult<()> {
    if !write.dry_run {
        let status_write = WriteOptions {
            subresource: Some("status".into()),
            ..WriteOptions::default()
        };
        let pre = opts.preconditions.clone();
        let gr = GroupResource::new("", "Pod");
        let updated = pods
            .guaranteed_update(Some(namespace), name, &status_write, |pod| {
                if let Some(pre) = &pre {
                    let uid = meta_str(pod, "uid");
                    if pre.uid.as_deref().is_some_and(|u| !u.is_empty() && u != uid) {
                        return Err(ApiError::conflict(&gr, name, &format!(
                            "the UID in the precondition ({}) does not match the UID in record ({uid}). The object might have been deleted and then recreated",
                            pre.uid.as_deref().unwrap_or_default()
                        )));
                    }
                    let rv = meta_str(pod, "resourceVersion");
                    if let Some(want) = pre.resource_version.as_deref().filter(|w| *w != rv) {
                        return Err(ApiError::conflict(&gr, name, &format!(
                            "the ResourceVersion in the precondition ({want}) does not match the ResourceVersion in record ({rv}). The object might have been modified"
                        )));
                    }
                }
                let mut pod = pod.clone();
                add_disruption_target(&mut pod);
                Ok(pod)
            })
            .await?;
        if !rv_unset(&opts) {
            opts = with_resource_version(&opts, meta_str(&updated, "resourceVersion"));
        }
    }
    pods.delete(Some(namespace), name, &opts, write).await?;
    Ok(())
}

/// Upstream's `UpdatePodCondition` with the eviction's `DisruptionTarget` condition.
fn add_disruption_target(pod: &mut Value) {
    if !pod["status"].is_object() {
        pod["status"] = json!({});
    }
    let conditions = pod["status"]
        .as_object_mut()
        .map(|s| s.entry("conditions").or_insert_with(|| json!([])));
    let Some(Value::Array(conditions)) = conditions else {
        return;
    };
    let now = now_rfc3339();
    let wanted = json!({
        "type": "DisruptionTarget", "status": "True",
        "reason": "EvictionByEvictionAPI", "message": "Eviction API: evicting",
        "lastTransitionTime": now, "lastProbeTime": null,
    });
    match conditions
        .iter_mut()
        .find(|c| c["type"] == "DisruptionTarget")
    {
        Some(c) => {
            if c["status"] == "True" {
                c["lastTransitionTime"] = c["lastTransitionTime"].clone();
            } else {
                c["lastTransitionTime"] = json!(now);
            }
            c["status"] = json!("True");
            c["reason"] = wanted["reason"].clone();
            c["message"] = wanted["message"].clone();
        }
        None => conditions.push(wanted),
    }
}

/// Evicts the pod `name` in `namespace` with `opts` (the Eviction's deleteOptions, validated);
/// answers the Status upstream answers.
pub async fn evict(
    pods: &Store,
    pdbs: &Store,
    namespace: &str,
    name: &str,
    opts: DeleteOptions,
    write: &WriteOptions,
) -> ApiResult<crate::api::status::Status> {
    let retry_conflicts = rv_unset(&opts);
    let mut attempt = 0;
    let pod = loop {
        attempt += 1;
        let pod = pods.get(Some(namespace), name).await?;
        if !can_ignore_budgets(&pod) {
            break pod;
        }
        let mut delete = opts.clone();
        if enforce_resource_version(&pod) && rv_unset(&opts) {
            delete = with_resource_version(&opts, meta_str(&pod, "resourceVersion"));
        }
        match condition_and_delete(pods, namespace, name, delete, write).await {
            Ok(()) => return Ok(success()),
            Err(err)
                if err.code() == http::StatusCode::CONFLICT
                    && retry_conflicts
                    && attempt < RETRIES =>
            {
                continue
            }
            Err(err) => return Err(err),
        }
    };
    let budgets = budgets_of(pdbs, &pod).await?;
    if budgets.len() > 1 {
        return Err(ApiError::new(
            http::StatusCode::INTERNAL_SERVER_ERROR,
            "",
            "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
            None,
        ));
    }
    let mut pin_version = false;
    let mut pdb_name = String::new();
    if let Some(pdb) = budgets.into_iter().next() {
        pdb_name = meta_str(&pdb, "name").to_string();
        let always_allow = pdb
            .pointer("/spec/unhealthyPodEvictionPolicy")
            .and_then(Value::as_str)
            == Some("AlwaysAllow");
        let met = int(&pdb, "/status/currentHealthy") >= int(&pdb, "/status/desiredHealthy")
            && int(&pdb, "/status/desiredHealthy") > 0;
        if !is_ready(&pod) && (always_allow || met) {
            pin_version = true;
        } else {
            let mut pdb = pdb;
            let mut tries = 0;
            loop {
                tries += 1;
                match check_and_decrement(pdbs, name, pdb.clone(), write.dry_run).await {
                    Ok(()) => break,
                    Err(err) if err.code() == http::StatusCode::CONFLICT && tries < RETRIES => {
                        pdb = pdbs.get(Some(namespace), &pdb_name).await?;
                    }
                    Err(err) if err.code() == http::StatusCode::CONFLICT => {
                        return Err(ApiError::timeout(
                            format!(
                                "couldn't update PodDisruptionBudget {pdb_name:?} due to conflicts"
                            ),
                            10,
                        ));
                    }
                    Err(err) => return Err(err),
                }
            }
        }
    }
    let delete = if pin_version {
        with_resource_version(&opts, meta_str(&pod, "resourceVersion"))
    } else {
        opts.clone()
    };
    match condition_and_delete(pods, namespace, name, delete, write).await {
        Ok(()) => Ok(success()),
        Err(err) if err.code() == http::StatusCode::CONFLICT && pin_version && rv_unset(&opts) => {
            Err(still_processed(&pdb_name))
        }
        Err(err) => Err(err),
    }
}

/// The Eviction's `deleteOptions` (already decoded against the Eviction's schema).
pub fn raw_delete_options(eviction: &Value) -> ApiResult<RawDeleteOptions> {
    let Some(opts) = eviction.get("deleteOptions").filter(|o| o.is_object()) else {
        return Ok(RawDeleteOptions::default());
    };
    let bad = |err: serde_json::Error| {
        ApiError::bad_request(format!(
            "Eviction in version \"v1\" cannot be handled as a Eviction: deleteOptions: {err}"
        ))
    };
    let field = |name: &str| opts.get(name).filter(|v| !v.is_null()).cloned();
    Ok(RawDeleteOptions {
        grace_period_seconds: field("gracePeriodSeconds")
            .map(serde_json::from_value)
            .transpose()
            .map_err(bad)?,
        orphan_dependents: field("orphanDependents")
            .map(serde_json::from_value)
            .transpose()
            .map_err(bad)?,
        propagation_policy: field("propagationPolicy")
            .map(serde_json::from_value)
            .transpose()
            .map_err(bad)?,
        dry_run: field("dryRun")
            .map(serde_json::from_value)
            .transpose()
            .map_err(bad)?
            .unwrap_or_default(),
        preconditions: field("preconditions")
            .map(serde_json::from_value::<Preconditions>)
            .transpose()
            .map_err(bad)?,
    })
}

/// Upstream's `&metav1.Status{Status: Success}` (no code).
fn success() -> crate::api::status::Status {
    let mut status = crate::api::status::Status::success(None);
    status.code = 0;
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_are_skipped_for_pending_terminal_and_deleted_pods() {
        for phase in ["Pending", "Succeeded", "Failed"] {
            assert!(can_ignore_budgets(&json!({"status": {"phase": phase}})));
        }
        assert!(!can_ignore_budgets(
            &json!({"status": {"phase": "Running"}})
        ));
        let deleting = json!({"metadata": {"deletionTimestamp": "2020-01-01T00:00:00Z"}, "status": {"phase": "Running"}});
        assert!(can_ignore_budgets(&deleting));
        assert!(!enforce_resource_version(&deleting));
        assert!(enforce_resource_version(
            &json!({"status": {"phase": "Pending"}})
        ));
    }

    #[test]
    fn the_last_allowed_disruption_sets_the_condition() {
        let mut pdb = json!({"status": {"disruptionsAllowed": 0, "observedGeneration": 2}});
        set_disruption_allowed_condition(&mut pdb);
        let c = &pdb["status"]["conditions"][0];
        assert_eq!(
            (&c["type"], &c["status"], &c["reason"]),
            (
                &json!("DisruptionAllowed"),
                &json!("False"),
                &json!("InsufficientPods")
            )
        );
        assert_eq!(c["observedGeneration"], 2);
    }

    #[test]
    fn the_refusal_is_upstreams_429() {
        let err = still_processed("pdb");
        assert_eq!(err.code(), http::StatusCode::TOO_MANY_REQUESTS);
        let body = serde_json::to_value(&err.status).unwrap();
        assert_eq!(body["message"], TOO_MANY);
        assert_eq!(body["details"]["causes"][0]["reason"], "DisruptionBudget");
        assert_eq!(
            body["details"]["causes"][0]["message"],
            "The disruption budget pdb is still being processed by the server."
        );
    }
}
