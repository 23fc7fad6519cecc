//! Store tests against the real RocksDB backend in a temporary directory.

mod crud;
mod lists;
mod watches;

use std::sync::Arc;

use apiary_storage::Storage;
use serde_json::{json, Value};

use super::{Store, StoreConfig};
use crate::catalog::{ResourceInfo, SubresourceInfo};
use crate::registry::resources::strategy_for;

const VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];
const STATUS: &[SubresourceInfo] = &[SubresourceInfo {
    name: "status",
    kind: "",
    group_version: None,
    verbs: &["get", "patch", "update"],
}];

pub(super) static CONFIGMAPS: ResourceInfo = ResourceInfo {
    group: "",
    version: "v1",
    kind: "ConfigMap",
    plural: "configmaps",
    singular: "configmap",
    namespaced: true,
    verbs: VERBS,
    short_names: &["cm"],
    categories: &[],
    subresources: &[],
    storage_version: true,
};

pub(super) static DEPLOYMENTS: ResourceInfo = ResourceInfo {
    group: "apps",
    version: "v1",
    kind: "Deployment",
    plural: "deployments",
    singular: "deployment",
    namespaced: true,
    verbs: VERBS,
    short_names: &["deploy"],
    categories: &["all"],
    subresources: STATUS,
    storage_version: true,
};

pub(super) static LEASES: ResourceInfo = ResourceInfo {
    group: "coordination.k8s.io",
    version: "v1",
    kind: "Lease",
    plural: "leases",
    singular: "lease",
    namespaced: true,
    verbs: VERBS,
    short_names: &[],
    categories: &[],
    subresources: &[],
    storage_version: true,
};

pub(super) static NAMESPACES: ResourceInfo = ResourceInfo {
    group: "",
    version: "v1",
    kind: "Namespace",
    plural: "namespaces",
    singular: "namespace",
    namespaced: false,
    verbs: &[
        "create", "delete", "get", "list", "patch", "update", "watch",
    ],
    short_names: &["ns"],
    categories: &[],
    subresources: STATUS,
    storage_version: true,
};

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

    pub fn store(&self, info: &'static ResourceInfo) -> Store {
        self.store_with(info, StoreConfig::default())
    }

    pub fn store_with(&self, info: &'static ResourceInfo, config: StoreConfig) -> Store {
        Store::new(info, self.storage.clone(), strategy_for(info), config)
    }
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
