//! The fixture of registry-level unit tests: stores of built-in resources over the storage crate's
//! in-memory reference store (`apiary_storage::testkit::memory`), which passes the conformance
//! suite like every backend. RocksDB stays in its own crate's tests and in the end-to-end tests.

use std::sync::Arc;

use apiary_storage::testkit::memory::MemoryStorage;
use apiary_storage::Storage;

use crate::catalog::builtin;
use crate::registry::resources;
use crate::registry::store::{Store, StoreConfig};
use crate::registry::stores::ResourceStores;

/// A fresh, empty storage.
pub fn memory_storage() -> Arc<dyn Storage> {
    MemoryStorage::new()
}

/// The store of the built-in resource `group`/`version`/`plural` over `storage`, with its
/// strategy and `config`.
pub fn builtin_store_with(
    storage: &Arc<dyn Storage>,
    (group, version, plural): (&str, &str, &str),
    config: StoreConfig,
) -> Arc<Store> {
    let info = builtin()
        .lookup(group, version, plural)
        .unwrap_or_else(|| panic!("no built-in {group}/{version}/{plural}"));
    Arc::new(resources::builtin_store(info, storage.clone(), config))
}

/// The store of the built-in resource `group`/`version`/`plural` over `storage`.
pub fn builtin_store(storage: &Arc<dyn Storage>, resource: (&str, &str, &str)) -> Arc<Store> {
    builtin_store_with(storage, resource, StoreConfig::default())
}

/// The stores of `resources` (group, version, plural) over `storage`.
pub fn builtin_stores(
    storage: &Arc<dyn Storage>,
    resources: &[(&str, &str, &str)],
) -> ResourceStores {
    let mut stores = ResourceStores::new();
    for resource in resources {
        stores.insert(builtin_store(storage, *resource));
    }
    stores
}
