//! What kube-controller-manager gives every namespace and clients take for granted: the
//! `default` ServiceAccount (upstream's serviceaccounts controller,
//! `pkg/controller/serviceaccount/serviceaccounts_controller.go`) and the `kube-root-ca.crt`
//! ConfigMap holding the cluster CA under `ca.crt` (the root CA publisher,
//! `pkg/controller/certificates/rootcacertpublisher/publisher.go`).
//!
//! [`ensure_all`] gives every active namespace both objects (start-up runs it before the server
//! reports ready). [`run`] keeps it so: a namespace that appears gets them at once, a deleted
//! `default` ServiceAccount is re-created, a deleted or altered `kube-root-ca.crt` is restored.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use serde_json::{json, Value};

use crate::api::status::ApiResult;
use crate::registry::metadata::meta_str;
use crate::registry::options::{ListOptions, WriteOptions};
use crate::registry::store::{Store, WatchEventType};

/// The ServiceAccount every namespace has.
pub const DEFAULT_SERVICE_ACCOUNT: &str = "default";
/// The ConfigMap with the cluster CA in every namespace.
pub const ROOT_CA_CONFIG_MAP: &str = "kube-root-ca.crt";
/// The key of the CA certificate in [`ROOT_CA_CONFIG_MAP`].
pub const ROOT_CA_KEY: &str = "ca.crt";
/// The annotation upstream's publisher puts on the ConfigMap.
const DESCRIPTION_ANNOTATION: &str = "kubernetes.io/description";
const DESCRIPTION: &str = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.";
/// Pause before watching again after a watch failed.
const RETRY_DELAY: Duration = Duration::from_millis(500);

/// The stores the controller writes and the CA it publishes.
#[derive(Clone)]
pub struct NamespaceDefaults {
    pub namespaces: Arc<Store>,
    pub service_accounts: Arc<Store>,
    pub config_maps: Arc<Store>,
    /// The cluster CA certificate (PEM), `data_dir/ca.crt`; no ConfigMap is published without.
    pub ca_cert_pem: Option<Arc<str>>,
}

fn is_active(namespace: &Value) -> bool {
    namespace.pointer("/status/phase").and_then(Value::as_str) != Some("Terminating")
        && meta_str(namespace, "deletionTimestamp").is_empty()
}

/// Whether an error only means the object raced with another writer or the namespace is going
/// away: nothing to report.
fn benign(err: &crate::api::status::ApiError) -> bool {
    matches!(
        err.status.reason.as_str(),
        "AlreadyExists" | "Conflict" | "Forbidden" | "NotFound"
    )
}

impl NamespaceDefaults {
    /// Creates what `namespace` misses: the `default` ServiceAccount, the root CA ConfigMap
    /// (and restores the ConfigMap's data when it differs). MUST be idempotent and safe with
    /// several replicas racing.
    pub async fn ensure_namespace(&self, namespace: &str) -> ApiResult<()> {
        let write = WriteOptions::default();
        match self
            .service_accounts
            .get(Some(namespace), DEFAULT_SERVICE_ACCOUNT)
            .await
        {
            Ok(_) => {}
            Err(err) if err.status.code == 404 => {
                let sa = json!({
                    "apiVersion": "v1",
                    "kind": "ServiceAccount",
                    "metadata": {"name": DEFAULT_SERVICE_ACCOUNT, "namespace": namespace},
                });
                if let Err(err) = self
                    .service_accounts
                    .create(Some(namespace), sa, &write)
                    .await
                {
                    if !benign(&err) {
                        return Err(err);
                    }
                }
            }
            Err(err) => return Err(err),
        }
        let Some(ca_cert_pem) = &self.ca_cert_pem else {
            return Ok(());
        };
        let data = json!({ROOT_CA_KEY: &**ca_cert_pem});
        match self
            .config_maps
            .get(Some(namespace), ROOT_CA_CONFIG_MAP)
            .await
        {
            Ok(current) if current.get("data") == Some(&data) => Ok(()),
            Ok(mut current) => {
                if let Some(map) = current.as_object_mut() {
                    map.insert("data".into(), data);
                }
                match self
                    .config_maps
                    .update(Some(namespace), ROOT_CA_CONFIG_MAP, current, &write)
                    .await
                {
                    Err(err) if !benign(&err) => Err(err),
                    _ => Ok(()),
                }
            }
            Err(err) if err.status.code == 404 => {
                let config_map = json!({
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {
                        "name": ROOT_CA_CONFIG_MAP,
                        "namespace": namespace,
                        "annotations": {DESCRIPTION_ANNOTATION: DESCRIPTION},
                    },
                    "data": data,
                });
                match self
                    .config_maps
                    .create(Some(namespace), config_map, &write)
                    .await
                {
                    Err(err) if !benign(&err) => Err(err),
                    _ => Ok(()),
                }
            }
            Err(err) => Err(err),
        }
    }

    /// [`Self::ensure_namespace`] for every active namespace.
    pub async fn ensure_all(&self) -> ApiResult<()> {
        let list = self.namespaces.list(None, &ListOptions::default()).await?;
        for namespace in list.items.iter().filter(|ns| is_active(ns)) {
            self.ensure_namespace(meta_str(namespace, "name")).await?;
        }
        Ok(())
    }
}

/// Which namespace an event of one of the watched stores asks to check, if any.
type Trigger = fn(WatchEventType, &Value) -> Option<String>;

fn namespace_trigger(kind: WatchEventType, ns: &Value) -> Option<String> {
    let relevant = matches!(kind, WatchEventType::Added | WatchEventType::Modified);
    (relevant && is_active(ns)).then(|| meta_str(ns, "name").to_string())
}

fn service_account_trigger(kind: WatchEventType, sa: &Value) -> Option<String> {
    (kind == WatchEventType::Deleted && meta_str(sa, "name") == DEFAULT_SERVICE_ACCOUNT)
        .then(|| meta_str(sa, "namespace").to_string())
}

fn config_map_trigger(kind: WatchEventType, cm: &Value) -> Option<String> {
    let relevant = matches!(kind, WatchEventType::Deleted | WatchEventType::Modified);
    (relevant && meta_str(cm, "name") == ROOT_CA_CONFIG_MAP)
        .then(|| meta_str(cm, "namespace").to_string())
}

/// Keeps every namespace's defaults until the task is dropped.
pub async fn run(controller: NamespaceDefaults) {
    let watched: [(Arc<Store>, Trigger); 3] = [
        (controller.namespaces.clone(), namespace_trigger),
        (controller.service_accounts.clone(), service_account_trigger),
        (controller.config_maps.clone(), config_map_trigger),
    ];
    let tasks = watched
        .into_iter()
        .map(|(store, trigger)| follow(controller.clone(), store, trigger));
    futures::future::join_all(tasks).await;
}

/// Watches `store` and ensures the namespace each relevant event names; after a failed or
/// ended watch, checks every namespace and watches again.
async fn follow(controller: NamespaceDefaults, store: Arc<Store>, trigger: Trigger) {
    loop {
        let list = match store
            .list(
                None,
                &ListOptions {
                    limit: Some(1),
                    ..Default::default()
                },
            )
            .await
        {
            Ok(list) => list,
            Err(err) => {
                tracing::warn!(error = %err, "namespace defaults: cannot list");
                tokio::time::sleep(RETRY_DELAY).await;
                continue;
            }
        };
        if let Err(err) = controller.ensure_all().await {
            tracing::warn!(error = %err, "namespace defaults: pass failed");
        }
        let options = ListOptions {
            watch: Some(true),
            resource_version: list.resource_version,
            ..Default::default()
        };
        let mut events = match store.watch(None, &options).await {
            Ok(events) => events,
            Err(err) => {
                tracing::warn!(error = %err, "namespace defaults: cannot watch");
                tokio::time::sleep(RETRY_DELAY).await;
                continue;
            }
        };
        while let Some(event) = events.next().await {
            if event.event_type == WatchEventType::Error {
                break;
            }
            let Some(namespace) = trigger(event.event_type, event.object()) else {
                continue;
            };
            if let Err(err) = controller.ensure_namespace(&namespace).await {
                tracing::warn!(namespace, error = %err, "namespace defaults: cannot ensure");
            }
        }
        tokio::time::sleep(RETRY_DELAY).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_relevant_events_trigger_a_check() {
        let ns = json!({"metadata": {"name": "team"}, "status": {"phase": "Active"}});
        assert_eq!(
            namespace_trigger(WatchEventType::Added, &ns).as_deref(),
            Some("team")
        );
        let terminating = json!({"metadata": {"name": "team"}, "status": {"phase": "Terminating"}});
        assert_eq!(
            namespace_trigger(WatchEventType::Modified, &terminating),
            None
        );
        assert_eq!(namespace_trigger(WatchEventType::Deleted, &ns), None);

        let sa = json!({"metadata": {"name": "default", "namespace": "team"}});
        assert_eq!(
            service_account_trigger(WatchEventType::Deleted, &sa).as_deref(),
            Some("team")
        );
        assert_eq!(service_account_trigger(WatchEventType::Modified, &sa), None);
        let other = json!({"metadata": {"name": "robot", "namespace": "team"}});
        assert_eq!(
            service_account_trigger(WatchEventType::Deleted, &other),
            None
        );

        let cm = json!({"metadata": {"name": ROOT_CA_CONFIG_MAP, "namespace": "team"}});
        assert_eq!(
            config_map_trigger(WatchEventType::Modified, &cm).as_deref(),
            Some("team")
        );
        assert_eq!(config_map_trigger(WatchEventType::Added, &cm), None);
    }
}
