//! The resource quota controller of kube-controller-manager (`pkg/controller/resourcequota`):
//! sets each quota's `status.hard` from its spec and computes `status.used` from the objects
//! of its namespace when the quota is created or its spec changes, again when a tracked object
//! is deleted or a pod finishes (replenishment), and for every quota each resync period.
//!
//! Status writes go through `/status` with the read resourceVersion and are recomputed on a
//! conflict, so replicas running this controller side by side, and the admission plugin's
//! charges, never overwrite each other blindly.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::admission::attributes::StoreLookup;
use crate::admission::plugins::resource_quota::evaluators::pod_counts;
use crate::admission::plugins::resource_quota::quantity::{equals, list_from_json};
use crate::admission::plugins::resource_quota::usage::{calculate_status, tracked_resources};
use crate::admission::plugins::resource_quota::write_status;
use crate::registry::metadata::meta_str;
use crate::registry::options::ListOptions;
use crate::registry::store::{Store, WatchEventType};

/// Upstream's default `--resource-quota-sync-period`.
pub const RESYNC_PERIOD: Duration = Duration::from_secs(5 * 60);
/// The pause before listing or watching again after a failure.
const RETRY: Duration = Duration::from_secs(1);

/// The controller, over the ResourceQuotas store and every served resource.
pub struct ResourceQuotaController {
    quotas: Arc<Store>,
    stores: Arc<dyn StoreLookup>,
    resync: Duration,
}

/// Whether the quota's status does not reflect its spec yet: `status.hard` differs from
/// `spec.hard`, or `status.used` lacks one of its names.
pub fn needs_sync(quota: &Value) -> bool {
    let hard = list_from_json(quota.pointer("/spec/hard"));
    let status_hard = list_from_json(quota.pointer("/status/hard"));
    let used = list_from_json(quota.pointer("/status/used"));
    quota.pointer("/status/used").is_none()
        || !equals(&hard, &status_hard)
        || hard.keys().any(|k| !used.contains_key(k))
}

impl ResourceQuotaController {
    pub fn new(quotas: Arc<Store>, stores: Arc<dyn StoreLookup>) -> Self {
        Self {
            quotas,
            stores,
            resync: RESYNC_PERIOD,
        }
    }

    /// Runs until the task is dropped.
    pub async fn run(self) {
        let (dirty, mut pending) = mpsc::unbounded_channel::<String>();
        let this = Arc::new(self);
        let watcher = tokio::spawn(this.clone().follow_quotas(dirty.clone()));
        let mut resync = tokio::time::interval(this.resync);
        resync.tick().await;
        loop {
            let mut namespaces = BTreeSet::new();
            tokio::select! {
                next = pending.recv() => match next {
                    Some(namespace) => {
                        namespaces.insert(namespace);
                    }
                    None => break,
                },
                _ = resync.tick() => match this.quotas.list(None, &ListOptions::default()).await {
                    Ok(list) => namespaces.extend(
                        list.items.iter().map(|q| meta_str(q, "namespace").to_string()),
                    ),
                    Err(err) => tracing::warn!(error = %err, "cannot list resourcequotas"),
                },
            }
            // Take the burst that is already queued, one sync per namespace.
            while let Ok(namespace) = pending.try_recv() {
                namespaces.insert(namespace);
            }
            for namespace in namespaces {
                if !this.sync_namespace(&namespace).await {
                    let dirty = dirty.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(RETRY).await;
                        let _ = dirty.send(namespace);
                    });
                }
            }
        }
        watcher.abort();
    }

    /// Syncs every quota of `namespace`; false when one failed and must be tried again.
    async fn sync_namespace(&self, namespace: &str) -> bool {
        let list = match self
            .quotas
            .list(Some(namespace), &ListOptions::default())
            .await
        {
            Ok(list) => list,
            Err(err) => {
                tracing::warn!(namespace, error = %err, "cannot list resourcequotas");
                return false;
            }
        };
        let mut ok = true;
        for quota in list.items {
            let name = meta_str(&quota, "name").to_string();
            if let Err(err) = self.sync_quota(quota).await {
                tracing::warn!(namespace, quota = name, error = %err, "cannot sync quota");
                ok = false;
            }
        }
        ok
    }

    /// Recomputes one quota's status and writes it when it changed, retrying on conflicts
    /// with the quota read again.
    async fn sync_quota(&self, mut quota: Value) -> crate::api::status::ApiResult<()> {
        let namespace = meta_str(&quota, "namespace").to_string();
        let name = meta_str(&quota, "name").to_string();
        let mut attempts = 0;
        loop {
            let (hard, used) = calculate_status(self.stores.as_ref(), &quota).await?;
            let old_hard = list_from_json(quota.pointer("/status/hard"));
            let old_used = list_from_json(quota.pointer("/status/used"));
            let unchanged = quota.pointer("/status/hard").is_some()
                && quota.pointer("/status/used").is_some()
                && equals(&hard, &old_hard)
                && equals(&used, &old_used);
            if unchanged {
                return Ok(());
            }
            match write_status(&self.quotas, &quota, Some(&hard), &used).await {
                Ok(_) => return Ok(()),
                Err(err) if err.status.code == 404 => return Ok(()),
                Err(err) if err.status.code == 409 && attempts < 10 => {
                    attempts += 1;
                    quota = match self.quotas.get(Some(&namespace), &name).await {
                        Ok(fresh) => fresh,
                        Err(err) if err.status.code == 404 => return Ok(()),
                        Err(err) => return Err(err),
                    };
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// Follows the quotas: queues the namespaces of quotas whose status is behind their spec
    /// (all of them at start), and keeps one monitor per resource a quota tracks.
    async fn follow_quotas(self: Arc<Self>, dirty: mpsc::UnboundedSender<String>) {
        let mut monitors: HashMap<(String, String), JoinHandle<()>> = HashMap::new();
        let mut first = true;
        loop {
            let list = match self.quotas.list(None, &ListOptions::default()).await {
                Ok(list) => list,
                Err(err) => {
                    tracing::warn!(error = %err, "cannot list resourcequotas");
                    tokio::time::sleep(RETRY).await;
                    continue;
                }
            };
            for quota in &list.items {
                self.ensure_monitors(&mut monitors, quota, &dirty);
                if first || needs_sync(quota) {
                    let _ = dirty.send(meta_str(quota, "namespace").to_string());
                }
            }
            first = false;
            let opts = ListOptions {
                resource_version: list.resource_version,
                ..Default::default()
            };
            let mut events = match self.quotas.watch(None, &opts).await {
                Ok(events) => events,
                Err(err) => {
                    tracing::warn!(error = %err, "cannot watch resourcequotas");
                    tokio::time::sleep(RETRY).await;
                    continue;
                }
            };
            while let Some(event) = events.next().await {
                match event.event_type {
                    WatchEventType::Error => break,
                    WatchEventType::Added | WatchEventType::Modified => {
                        let quota = event.object();
                        self.ensure_monitors(&mut monitors, quota, &dirty);
                        if needs_sync(quota) {
                            let _ = dirty.send(meta_str(quota, "namespace").to_string());
                        }
                    }
                    _ => {}
                }
            }
            tokio::time::sleep(RETRY / 5).await;
        }
    }

    /// Starts a monitor for each resource `quota` tracks that has none yet.
    fn ensure_monitors(
        &self,
        monitors: &mut HashMap<(String, String), JoinHandle<()>>,
        quota: &Value,
        dirty: &mpsc::UnboundedSender<String>,
    ) {
        let hard = list_from_json(quota.pointer("/spec/hard"));
        for resource in tracked_resources(&hard) {
            if monitors.contains_key(&resource) {
                continue;
            }
            let task = tokio::spawn(monitor(
                self.stores.clone(),
                resource.clone(),
                dirty.clone(),
            ));
            monitors.insert(resource, task);
        }
    }
}

/// Watches one resource in every namespace and queues the namespace of each deleted object and
/// of each pod that reached Succeeded or Failed. A resource not served yet (a custom resource
/// defined later) is looked up again until it is.
async fn monitor(
    stores: Arc<dyn StoreLookup>,
    (group, resource): (String, String),
    dirty: mpsc::UnboundedSender<String>,
) {
    let is_pods = group.is_empty() && resource == "pods";
    loop {
        let store = stores
            .versions(&group, &resource)
            .into_iter()
            .next()
            .and_then(|version| stores.by_resource(&group, &version, &resource));
        let Some(store) = store else {
            tokio::time::sleep(Duration::from_secs(5)).await;
            continue;
        };
        let first = ListOptions {
            limit: Some(1),
            ..Default::default()
        };
        let from = match store.list(None, &first).await {
            Ok(list) => list.resource_version,
            Err(err) => {
                tracing::warn!(resource, error = %err, "quota monitor cannot list");
                tokio::time::sleep(RETRY).await;
                continue;
            }
        };
        let opts = ListOptions {
            resource_version: from,
            ..Default::default()
        };
        let mut events = match store.watch(None, &opts).await {
            Ok(events) => events,
            Err(err) => {
                tracing::warn!(resource, error = %err, "quota monitor cannot watch");
                tokio::time::sleep(RETRY).await;
                continue;
            }
        };
        // A replenishment missed while the watch was down is caught by the resync.
        while let Some(event) = events.next().await {
            let replenish = match event.event_type {
                WatchEventType::Error => break,
                WatchEventType::Deleted => true,
                WatchEventType::Modified => is_pods && !pod_counts(event.object()),
                _ => false,
            };
            if replenish {
                let namespace = meta_str(event.object(), "namespace");
                if !namespace.is_empty() && dirty.send(namespace.to_string()).is_err() {
                    return;
                }
            }
        }
        tokio::time::sleep(RETRY / 5).await;
    }
}
