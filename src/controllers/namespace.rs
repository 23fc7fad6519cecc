//! The namespace controller: empties a namespace that is being deleted, then finalizes it.
//!
//! Deleting a namespace only marks it (`deletionTimestamp`, phase `Terminating`), because it carries
//! the `kubernetes` finalizer in `spec.finalizers`. This controller, like upstream's
//! `pkg/controller/namespace`, then deletes every namespaced object in it, resource by resource, and
//! once nothing remains removes the `kubernetes` finalizer through the `finalize` subresource; the
//! store removes the namespace when no finalizer is left. Objects held by their own finalizers keep
//! the namespace `Terminating` until they go; the controller looks again every few seconds.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use serde_json::Value;

use crate::api::status::ApiResult;
use crate::registry::options::{DeleteOptions, ListOptions, WriteOptions};
use crate::registry::store::Store;

/// The finalizer that keeps a namespace until its content is gone.
pub const KUBERNETES_FINALIZER: &str = "kubernetes";

/// How long to wait before looking again at a namespace whose content is not gone yet, and the
/// period of the full re-scan that catches anything a watch missed.
const RETRY_INTERVAL: Duration = Duration::from_secs(2);
const RESYNC_INTERVAL: Duration = Duration::from_secs(30);

/// The controller's view of the cluster: the namespaces store and one store per namespaced resource.
pub struct NamespaceController {
    namespaces: Arc<Store>,
    /// One store per namespaced resource (its storage version only, so no resource is emptied twice).
    contents: Vec<Arc<Store>>,
    /// The stores of resources served at run time (custom resources), asked at every sync.
    dynamic: Option<DynamicContents>,
}

/// Gives the stores of namespaced resources served at run time, one per resource.
pub type DynamicContents = Arc<dyn Fn() -> Vec<Arc<Store>> + Send + Sync>;

impl NamespaceController {
    pub fn new(namespaces: Arc<Store>, contents: Vec<Arc<Store>>) -> Self {
        Self {
            namespaces,
            contents,
            dynamic: None,
        }
    }

    /// Also empties the stores `dynamic` gives (custom resources) when a namespace goes.
    pub fn with_dynamic_contents(mut self, dynamic: DynamicContents) -> Self {
        self.dynamic = Some(dynamic);
        self
    }

    /// Runs until the task is dropped: reacts to namespace events at once and re-scans periodically.
    pub async fn run(self) {
        loop {
            let watch_opts = ListOptions {
                watch: Some(true),
                ..Default::default()
            };
            let mut events = match self.namespaces.watch(None, &watch_opts).await {
                Ok(events) => events,
                Err(err) => {
                    tracing::warn!(error = %err, "namespace controller: cannot watch namespaces");
                    tokio::time::sleep(RETRY_INTERVAL).await;
                    continue;
                }
            };
            let mut pending = self.sync_all().await;
            let mut tick = tokio::time::interval(if pending {
                RETRY_INTERVAL
            } else {
                RESYNC_INTERVAL
            });
            tick.tick().await;
            loop {
                tokio::select! {
                    event = events.next() => match event {
                        Some(event) => {
                            if is_terminating(event.object()) {
                                pending |= !self.sync_one(event.object()).await;
                            }
                        }
                        None => break,
                    },
                    _ = tick.tick() => {
                        let was_pending = pending;
                        pending = self.sync_all().await;
                        if pending != was_pending {
                            tick = tokio::time::interval(if pending { RETRY_INTERVAL } else { RESYNC_INTERVAL });
                            tick.tick().await;
                        }
                    }
                }
            }
        }
    }

    /// Processes every terminating namespace; returns whether any is still waiting for content to go.
    async fn sync_all(&self) -> bool {
        let list = match self.namespaces.list(None, &ListOptions::default()).await {
            Ok(list) => list,
            Err(err) => {
                tracing::warn!(error = %err, "namespace controller: cannot list namespaces");
                return true;
            }
        };
        let mut pending = false;
        for namespace in list.items.iter().filter(|ns| is_terminating(ns)) {
            pending |= !self.sync_one(namespace).await;
        }
        pending
    }

    /// Empties and finalizes one terminating namespace; returns whether it is done.
    async fn sync_one(&self, namespace: &Value) -> bool {
        let Some(name) = namespace.pointer("/metadata/name").and_then(Value::as_str) else {
            return true;
        };
        if !has_kubernetes_finalizer(namespace) {
            return true;
        }
        match self.delete_content(name).await {
            Ok(0) => {}
            Ok(remaining) => {
                tracing::debug!(
                    namespace = name,
                    remaining,
                    "namespace content not gone yet"
                );
                return false;
            }
            Err(err) => {
                tracing::warn!(namespace = name, error = %err, "namespace controller: deleting content failed");
                return false;
            }
        }
        match self.finalize(name).await {
            Ok(()) => {
                tracing::info!(namespace = name, "namespace finalized");
                true
            }
            Err(err) if err.status.code == 404 => true,
            Err(err) => {
                tracing::warn!(namespace = name, error = %err, "namespace controller: finalize failed");
                false
            }
        }
    }

    /// Deletes every object in the namespace; returns how many are still there (held by finalizers).
    async fn delete_content(&self, namespace: &str) -> ApiResult<usize> {
        let mut remaining = 0;
        let dynamic = self
            .dynamic
            .as_ref()
            .map(|stores| stores())
            .unwrap_or_default();
        for store in self.contents.iter().chain(&dynamic) {
            let list = store.list(Some(namespace), &ListOptions::default()).await?;
            if list.items.is_empty() {
                continue;
            }
            let options = DeleteOptions::default();
            let write = WriteOptions::default();
            for item in &list.items {
                let Some(name) = item.pointer("/metadata/name").and_then(Value::as_str) else {
                    continue;
                };
                match store.delete(Some(namespace), name, &options, &write).await {
                    Ok(outcome) if outcome.deleted => {}
                    Ok(_) => remaining += 1,
                    Err(err) if err.status.code == 404 => {}
                    Err(err) => return Err(err),
                }
            }
        }
        Ok(remaining)
    }

    /// Removes the `kubernetes` finalizer through the `finalize` subresource.
    async fn finalize(&self, namespace: &str) -> ApiResult<()> {
        let write = WriteOptions {
            subresource: Some("finalize".into()),
            ..Default::default()
        };
        self.namespaces
            .guaranteed_update(None, namespace, &write, |current| {
                let mut next = current.clone();
                if let Some(finalizers) = next
                    .pointer_mut("/spec/finalizers")
                    .and_then(Value::as_array_mut)
                {
                    finalizers.retain(|f| f.as_str() != Some(KUBERNETES_FINALIZER));
                }
                Ok(next)
            })
            .await
            .map(|_| ())
    }
}

/// The stores whose objects live in namespaces, one per resource (storage versions only).
pub fn namespaced_stores<'a>(stores: impl Iterator<Item = &'a Arc<Store>>) -> Vec<Arc<Store>> {
    let mut seen = HashSet::new();
    let mut out: Vec<Arc<Store>> = stores
        .filter(|store| store.info().namespaced && store.info().storage_version)
        .filter(|store| seen.insert((store.info().group.clone(), store.info().plural.clone())))
        .cloned()
        .collect();
    out.sort_by(|a, b| {
        (&a.info().group, &a.info().plural).cmp(&(&b.info().group, &b.info().plural))
    });
    out
}

fn is_terminating(namespace: &Value) -> bool {
    namespace
        .pointer("/metadata/deletionTimestamp")
        .is_some_and(|ts| !ts.is_null())
}

fn has_kubernetes_finalizer(namespace: &Value) -> bool {
    namespace
        .pointer("/spec/finalizers")
        .and_then(Value::as_array)
        .is_some_and(|list| {
            list.iter()
                .any(|f| f.as_str() == Some(KUBERNETES_FINALIZER))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn terminating_needs_a_deletion_timestamp() {
        assert!(is_terminating(
            &json!({"metadata": {"deletionTimestamp": "2026-01-01T00:00:00Z"}})
        ));
        assert!(!is_terminating(&json!({"metadata": {"name": "x"}})));
        assert!(!is_terminating(
            &json!({"metadata": {"deletionTimestamp": null}})
        ));
    }

    #[test]
    fn finalizer_is_read_from_spec() {
        assert!(has_kubernetes_finalizer(
            &json!({"spec": {"finalizers": ["kubernetes"]}})
        ));
        assert!(!has_kubernetes_finalizer(
            &json!({"spec": {"finalizers": []}})
        ));
        assert!(!has_kubernetes_finalizer(
            &json!({"metadata": {"finalizers": ["kubernetes"]}})
        ));
    }
}
