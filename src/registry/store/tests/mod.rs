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
mod watches;

use std::sync::Arc;

use apiary_storage::Storage;
use serde_json::{json, Value};

use super::{NamespaceLookup, Store, StoreConfig};
use crate::catalog::build::{names, resource};
use crate::catalog::{Name, ResourceInfo, SubresourceInfo};
use crate::registry::resources::core::namespace_lifecycle::{
    NamespaceLifecycleLookup, RecentDeletes,
};
use crate::registry::resources::strategy_for;

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
    pub async fn new() -> Self {
        Self {
            storage: crate::registry::test_support::memory_storage(),
        }
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
