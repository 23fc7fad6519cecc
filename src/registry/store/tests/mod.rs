//! Store tests against the storage crate's in-memory reference store.

mod cache;
mod cache_window;
mod crud;
mod gate;
mod indexes;
mod lists;
mod pages;
mod replicas;
mod status_reset;
mod suggestion;
mod ttl;
mod watches;

use std::sync::Arc;
use std::time::Duration;

use apiary_storage::{ListRequest, Storage};
use futures::StreamExt;
use serde_json::{json, Value};

use super::{decode_value, NamespaceLookup, Store, StoreConfig, WatchEventType, WatchEvents};
use crate::catalog::build::{names, resource};
use crate::catalog::{Name, ResourceInfo, SubresourceInfo};
use crate::registry::options::ListOptions;
use crate::registry::resources::core::namespace_lifecycle::{
    NamespaceLifecycleLookup, RecentDeletes,
};
use crate::registry::resources::strategy_for;
use gate::Gate;

fn status() -> Vec<SubresourceInfo> {
    vec![SubresourceInfo {
        name: "status",
        kind: Name::new_static(""),
        group_version: None,
        verbs: &["get", "patch", "update"],
    }]
}

pub(super) fn configmaps() -> ResourceInfo {
    ResourceInfo {
        short_names: names(&["cm"]),
        ..resource("", "v1", "ConfigMap", "configmaps", "configmap", true)
    }
}

pub(super) fn deployments() -> ResourceInfo {
    ResourceInfo {
        short_names: names(&["deploy"]),
        categories: names(&["all"]),
        subresources: status(),
        ..resource(
            "apps",
            "v1",
            "Deployment",
            "deployments",
            "deployment",
            true,
        )
    }
}

pub(super) fn leases() -> ResourceInfo {
    resource(
        "coordination.k8s.io",
        "v1",
        "Lease",
        "leases",
        "lease",
        true,
    )
}

pub(super) fn namespaces() -> ResourceInfo {
    ResourceInfo {
        verbs: &[
            "create", "delete", "get", "list", "patch", "update", "watch",
        ],
        short_names: names(&["ns"]),
        subresources: status(),
        ..resource("", "v1", "Namespace", "namespaces", "namespace", false)
    }
}

/// A fresh storage and a way to build resource stores over it.
pub(super) struct Fixture {
    pub storage: Arc<dyn Storage>,
}

impl Fixture {
    /// Over fresh memory storage.
    pub async fn new() -> Self {
        Self {
            storage: crate::registry::test_support::memory_storage(),
        }
    }

    /// Over fresh memory storage behind a [`Gate`], and the gate.
    fn gated() -> (Self, Arc<Gate>) {
        let gate = Gate::new(crate::registry::test_support::memory_storage());
        let fixture = Self {
            storage: gate.clone(),
        };
        (fixture, gate)
    }

    /// The store of the built-in resource `group`/`version`/`plural`, with its strategy and
    /// selectable fields, and `config`.
    pub fn builtin(&self, resource: (&str, &str, &str), config: StoreConfig) -> Arc<Store> {
        crate::registry::test_support::builtin_store_with(&self.storage, resource, config)
    }

    pub fn store(&self, info: ResourceInfo) -> Store {
        self.store_with(info, StoreConfig::default())
    }

    pub fn store_with(&self, info: ResourceInfo, config: StoreConfig) -> Store {
        let strategy = strategy_for(&info);
        Store::new(Arc::new(info), self.storage.clone(), strategy, config)
    }
}

/// A namespaces store over `fx`'s storage with its lifecycle lookup (the namespaces store notes
/// delete requests for it), as the control plane builds them.
pub(super) fn namespaces_with_lookup(fx: &Fixture) -> (Arc<Store>, Arc<dyn NamespaceLookup>) {
    let recent_deletes = Arc::new(RecentDeletes::default());
    let store = Arc::new(fx.store_with(
        namespaces(),
        StoreConfig {
            delete_hook: Some(recent_deletes.clone()),
            ..StoreConfig::default()
        },
    ));
    let lookup: Arc<dyn NamespaceLookup> =
        Arc::new(NamespaceLifecycleLookup::new(store.clone(), recent_deletes));
    (store, lookup)
}

pub(super) fn configmap(name: &str, labels: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels}, "data": {"k": "v"}})
}

pub(super) fn rv(obj: &Value) -> i64 {
    obj["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("resourceVersion")
}

/// Reads through `store` until its cache is ready (each read starts it when it is not).
pub(super) async fn wait_ready(store: &Store) {
    for _ in 0..1000 {
        store.list(None, &ListOptions::default()).await.unwrap();
        if store.cache.is_ready() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the watch cache did not become ready within 10s");
}

/// Every object under `prefix` as storage has it at `revision` (0: now), decoded as `store`
/// serves it.
pub(super) async fn stored_objects(
    store: &Store,
    storage: &Arc<dyn Storage>,
    prefix: &str,
    revision: i64,
) -> Vec<Value> {
    let request = ListRequest {
        prefix: prefix.as_bytes().to_vec(),
        start_key: None,
        revision,
        limit: 0,
        count_remaining: false,
    };
    let resp = storage.list(request).await.unwrap();
    resp.kvs
        .iter()
        .map(|kv| decode_value(store.info(), &kv.value, kv.mod_revision).unwrap())
        .collect()
}

/// The next event of a watch (within 10 s): its type, object name and object.
pub(super) async fn next(events: &mut WatchEvents) -> (WatchEventType, String, Value) {
    let event = tokio::time::timeout(Duration::from_secs(10), events.next())
        .await
        .expect("an event within 10s")
        .expect("the stream is open");
    let name = event.object()["metadata"]["name"]
        .as_str()
        .unwrap_or("")
        .to_string();
    (event.event_type, name, event.object().clone())
}

/// A small deterministic generator (xorshift64), so a failing sequence can be replayed.
pub(super) struct Steps(pub u64);

impl Steps {
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }

    pub fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len() as u64) as usize]
    }
}
