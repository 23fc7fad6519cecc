//! Which namespaces have quotas: an in-memory count per namespace, kept by a watch of the
//! ResourceQuotas store, so that the plugin's `handles` answers without storage.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures::StreamExt;
use serde_json::Value;

use crate::registry::metadata::meta_str;
use crate::registry::options::ListOptions;
use crate::registry::store::{Store, WatchEventType};

/// The number of quotas of each namespace, by `namespace/name`.
#[derive(Debug, Default)]
pub struct QuotaIndex {
    quotas: RwLock<HashMap<String, HashMap<String, ()>>>,
    /// Set once the first list is in; until then every namespace may have quotas.
    synced: AtomicBool,
}

impl QuotaIndex {
    /// Whether `namespace` may have quotas (always true before the first list).
    pub fn has_quotas(&self, namespace: &str) -> bool {
        if !self.synced.load(Ordering::Acquire) {
            return true;
        }
        let quotas = self.quotas.read().unwrap_or_else(|e| e.into_inner());
        quotas.get(namespace).is_some_and(|q| !q.is_empty())
    }

    /// Replaces the index with a fresh list.
    pub fn replace(&self, items: &[Value]) {
        let mut fresh: HashMap<String, HashMap<String, ()>> = HashMap::new();
        for quota in items {
            fresh
                .entry(meta_str(quota, "namespace").to_string())
                .or_default()
                .insert(meta_str(quota, "name").to_string(), ());
        }
        *self.quotas.write().unwrap_or_else(|e| e.into_inner()) = fresh;
        self.synced.store(true, Ordering::Release);
    }

    /// Applies one watch event.
    pub fn apply(&self, event_type: WatchEventType, quota: &Value) {
        let namespace = meta_str(quota, "namespace").to_string();
        let name = meta_str(quota, "name").to_string();
        let mut quotas = self.quotas.write().unwrap_or_else(|e| e.into_inner());
        match event_type {
            WatchEventType::Added | WatchEventType::Modified => {
                quotas.entry(namespace).or_default().insert(name, ());
            }
            WatchEventType::Deleted => {
                if let Some(names) = quotas.get_mut(&namespace) {
                    names.remove(&name);
                    if names.is_empty() {
                        quotas.remove(&namespace);
                    }
                }
            }
            WatchEventType::Bookmark | WatchEventType::Error => {}
        }
    }

    /// Follows `store` for as long as the index is used: lists, then watches; lists again
    /// when the watch ends.
    pub async fn follow(index: std::sync::Weak<QuotaIndex>, store: Arc<Store>) {
        loop {
            let list = match store.list(None, &ListOptions::default()).await {
                Ok(list) => list,
                Err(err) => {
                    tracing::warn!(error = %err, "quota index: cannot list resourcequotas");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            let Some(strong) = index.upgrade() else {
                return;
            };
            strong.replace(&list.items);
            drop(strong);
            let opts = ListOptions {
                watch: Some(true),
                resource_version: list.resource_version,
                ..Default::default()
            };
            let mut events = match store.watch(None, &opts).await {
                Ok(events) => events,
                Err(err) => {
                    tracing::warn!(error = %err, "quota index: cannot watch resourcequotas");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            while let Some(event) = events.next().await {
                if event.event_type == WatchEventType::Error {
                    break;
                }
                let Some(strong) = index.upgrade() else {
                    return;
                };
                strong.apply(event.event_type, event.object());
            }
        }
    }
}
