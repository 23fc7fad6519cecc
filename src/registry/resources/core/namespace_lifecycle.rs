//! The namespace lookup of namespaced stores' creates, as upstream's NamespaceLifecycle admission
//! (`plugin/pkg/admission/namespace/lifecycle`): the namespaces' watch cache first, storage when
//! the cache has no such namespace (it may not have seen a new one yet), and storage for 30 s
//! after this server was asked to delete a namespace the cache does not yet show terminating
//! (upstream's `forceLiveLookupCache`).
//!
//! The namespaces' store is built with [`RecentDeletes`] as its delete hook, and the lookup
//! ([`NamespaceLifecycleLookup`]) reads the same table.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::Value;

use crate::api::status::ApiResult;
use crate::registry::options::GetOptions;
use crate::registry::store::hooks::DeleteHook;
use crate::registry::store::{NamespaceLookup, Store, WatchObject};

/// How long a delete request forces live lookups of its namespace (upstream's
/// `forceLiveLookupTTL`).
const LIVE_LOOKUP_TTL: Duration = Duration::from_secs(30);

/// The names of the namespaces whose delete was requested within [`LIVE_LOOKUP_TTL`]: the
/// namespaces store's delete hook.
#[derive(Default)]
pub struct RecentDeletes(Mutex<RecentNames>);

#[derive(Default)]
struct RecentNames {
    names: HashMap<String, Instant>,
    /// The size at which expired names are dropped next (doubles, so drops stay amortised).
    prune_at: usize,
}

impl RecentDeletes {
    /// Whether a delete of `name` was requested within [`LIVE_LOOKUP_TTL`].
    pub fn contains(&self, name: &str) -> bool {
        let recent = self.0.lock().unwrap_or_else(|p| p.into_inner());
        recent
            .names
            .get(name)
            .is_some_and(|at| at.elapsed() < LIVE_LOOKUP_TTL)
    }
}

impl DeleteHook for RecentDeletes {
    fn delete_requested(&self, _namespace: Option<&str>, name: &str) {
        let now = Instant::now();
        let mut recent = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if recent.names.len() >= recent.prune_at {
            recent
                .names
                .retain(|_, at| now.duration_since(*at) < LIVE_LOOKUP_TTL);
            recent.prune_at = (recent.names.len() * 2).max(64);
        }
        recent.names.insert(name.to_string(), now);
    }
}

/// Looks namespaces up in the namespaces' store as upstream's NamespaceLifecycle does.
pub struct NamespaceLifecycleLookup {
    namespaces: Arc<Store>,
    recent_deletes: Arc<RecentDeletes>,
}

impl NamespaceLifecycleLookup {
    /// The lookup of `namespaces`, a store built with `recent_deletes` as its delete hook.
    pub fn new(namespaces: Arc<Store>, recent_deletes: Arc<RecentDeletes>) -> Self {
        Self {
            namespaces,
            recent_deletes,
        }
    }

    /// The namespaces' store.
    pub fn store(&self) -> &Arc<Store> {
        &self.namespaces
    }
}

/// `Ok(None)` for a 404.
fn found<T>(result: ApiResult<T>) -> ApiResult<Option<T>> {
    match result {
        Ok(object) => Ok(Some(object)),
        Err(err) if err.status.code == 404 => Ok(None),
        Err(err) => Err(err),
    }
}

#[async_trait]
impl NamespaceLookup for NamespaceLifecycleLookup {
    async fn namespace(&self, name: &str) -> ApiResult<Option<Value>> {
        // The cache as it is (resourceVersion "0"); storage when the cache does not serve.
        let any = GetOptions {
            resource_version: "0".into(),
        };
        if let Some(ns) = found(self.namespaces.get_object(None, name, &any).await)? {
            let terminating =
                ns.value().pointer("/status/phase").and_then(Value::as_str) == Some("Terminating");
            if terminating || !self.recent_deletes.contains(name) {
                return Ok(Some(WatchObject::into_value(ns)));
            }
        }
        // Missing, or asked to be deleted and not yet terminating there: a live read.
        found(self.namespaces.get(None, name).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_requested_delete_is_recent_for_its_name_only() {
        let recent = RecentDeletes::default();
        assert!(!recent.contains("team"));
        recent.delete_requested(None, "team");
        assert!(recent.contains("team"));
        assert!(!recent.contains("other"));
        // Pruning keeps names within the TTL.
        for i in 0..200 {
            recent.delete_requested(None, &format!("ns-{i}"));
        }
        assert!(recent.contains("team") && recent.contains("ns-0") && recent.contains("ns-199"));
    }
}
