//! kube-controller-manager's PVC and PV protection controllers, the other half of the
//! StorageObjectInUseProtection admission plugin: a deleted claim loses its
//! `kubernetes.io/pvc-protection` finalizer once no pod that has not terminated uses it, and a
//! deleted volume loses `kubernetes.io/pv-protection` once no claim is bound to it.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::watch_loop;
use crate::api::status::ApiResult;
use crate::registry::metadata::meta_str;
use crate::registry::options::{ListOptions, WriteOptions};
use crate::registry::store::Store;

const CLAIM_FINALIZER: &str = "kubernetes.io/pvc-protection";
const VOLUME_FINALIZER: &str = "kubernetes.io/pv-protection";

/// How soon a claim still in use (or a failed pass) is looked at again: pods going away do not
/// wake the loop.
const RECHECK: Duration = Duration::from_secs(3);

/// Runs both controllers until the task is dropped.
pub async fn run(claims: Arc<Store>, volumes: Arc<Store>, pods: Arc<Store>) {
    let claim_store = claims.clone();
    let claims_loop = watch_loop::run(claims, "pvc protection", RECHECK, move || {
        let (claims, pods) = (claim_store.clone(), pods.clone());
        async move { release_claims(&claims, &pods).await.unwrap_or(true) }
    });
    let volume_store = volumes.clone();
    let volumes_loop = watch_loop::run(volumes, "pv protection", RECHECK, move || {
        let volumes = volume_store.clone();
        async move { release_volumes(&volumes).await.unwrap_or(true) }
    });
    tokio::join!(claims_loop, volumes_loop);
}

fn deleted_with(obj: &Value, finalizer: &str) -> bool {
    let meta = &obj["metadata"];
    meta.get("deletionTimestamp").is_some_and(|t| !t.is_null())
        && meta["finalizers"]
            .as_array()
            .is_some_and(|list| list.iter().any(|f| f == finalizer))
}

/// Removes `finalizer` from the stored object (compare-and-swap, retried on conflict).
async fn remove_finalizer(store: &Store, obj: &Value, finalizer: &str) -> ApiResult<()> {
    let namespace = meta_str(obj, "namespace");
    let namespace = (!namespace.is_empty()).then_some(namespace);
    let opts = WriteOptions::default();
    store
        .guaranteed_update(namespace, meta_str(obj, "name"), &opts, |current| {
            let mut next = current.clone();
            if let Some(list) = next
                .pointer_mut("/metadata/finalizers")
                .and_then(Value::as_array_mut)
            {
                list.retain(|f| f != finalizer);
            }
            Ok(next)
        })
        .await
        .map(|_| ())
}

/// Whether `pod` has not terminated and mounts the claim `name` (directly, or as the generic
/// ephemeral volume `<pod>-<volume>`).
fn uses_claim(pod: &Value, name: &str) -> bool {
    let phase = pod.pointer("/status/phase").and_then(Value::as_str);
    if matches!(phase, Some("Succeeded" | "Failed")) {
        return false;
    }
    let pod_name = meta_str(pod, "name");
    pod.pointer("/spec/volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|volume| {
            let direct = volume.pointer("/persistentVolumeClaim/claimName") == Some(&name.into());
            let ephemeral = volume.get("ephemeral").is_some()
                && format!("{pod_name}-{}", volume["name"].as_str().unwrap_or("")) == name;
            direct || ephemeral
        })
}

/// One pass over the claims; answers whether a claim is still held by a pod.
async fn release_claims(claims: &Store, pods: &Store) -> ApiResult<bool> {
    let all = claims.list(None, &ListOptions::default()).await?.items;
    let mut held = false;
    for claim in all.iter().filter(|c| deleted_with(c, CLAIM_FINALIZER)) {
        let namespace = meta_str(claim, "namespace");
        let in_namespace = pods.list(Some(namespace), &ListOptions::default()).await?;
        if in_namespace
            .items
            .iter()
            .any(|pod| uses_claim(pod, meta_str(claim, "name")))
        {
            held = true;
            continue;
        }
        remove_finalizer(claims, claim, CLAIM_FINALIZER).await?;
    }
    Ok(held)
}

/// One pass over the volumes; answers whether a volume is still bound.
async fn release_volumes(volumes: &Store) -> ApiResult<bool> {
    let all = volumes.list(None, &ListOptions::default()).await?.items;
    let mut held = false;
    for volume in all.iter().filter(|v| deleted_with(v, VOLUME_FINALIZER)) {
        if volume.pointer("/status/phase").and_then(Value::as_str) == Some("Bound") {
            held = true;
            continue;
        }
        remove_finalizer(volumes, volume, VOLUME_FINALIZER).await?;
    }
    Ok(held)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn claims_are_held_by_running_pods_only() {
        let pod = |phase: &str| {
            json!({"metadata": {"name": "web"}, "status": {"phase": phase}, "spec": {"volumes": [
                {"name": "data", "persistentVolumeClaim": {"claimName": "data-claim"}},
                {"name": "scratch", "ephemeral": {"volumeClaimTemplate": {}}},
            ]}})
        };
        assert!(uses_claim(&pod("Running"), "data-claim"));
        assert!(uses_claim(&pod("Pending"), "web-scratch"));
        assert!(!uses_claim(&pod("Running"), "other"));
        assert!(!uses_claim(&pod("Succeeded"), "data-claim"));
        let deleted = json!({"metadata": {"deletionTimestamp": "2026-01-01T00:00:00Z",
            "finalizers": [CLAIM_FINALIZER]}});
        assert!(deleted_with(&deleted, CLAIM_FINALIZER));
        assert!(!deleted_with(
            &json!({"metadata": {"finalizers": [CLAIM_FINALIZER]}}),
            CLAIM_FINALIZER
        ));
    }
}
