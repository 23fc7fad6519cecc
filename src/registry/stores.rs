//! The stores of the served resources, by group, version and plural resource name: what the
//! composition root builds, the servers route to and controllers and filters look stores up in.

use std::collections::HashMap;
use std::sync::Arc;

use crate::catalog::ResourceInfo;
use crate::registry::store::Store;

/// The stores of the served resources, keyed by group, version and plural resource name.
///
/// It is also the core server's catalogue: a resource is served exactly when its store is here.
#[derive(Default, Clone)]
pub struct ResourceStores {
    stores: HashMap<(String, String, String), Arc<Store>>,
}

impl std::fmt::Debug for ResourceStores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut keys: Vec<String> = self
            .stores
            .keys()
            .map(|(g, v, r)| format!("{g}/{v}/{r}"))
            .collect();
        keys.sort();
        f.debug_struct("ResourceStores")
            .field("resources", &keys)
            .finish()
    }
}

impl ResourceStores {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Serves `store` at the group, version and plural of its [`ResourceInfo`], replacing any
    /// store registered there before.
    pub fn insert(&mut self, store: Arc<Store>) {
        let info = store.info();
        self.stores.insert(
            (
                info.group.to_string(),
                info.version.to_string(),
                info.plural.to_string(),
            ),
            store,
        );
    }

    /// The store of `plural` in `group`/`version` (`""` for the core group).
    pub fn get(&self, group: &str, version: &str, plural: &str) -> Option<&Arc<Store>> {
        self.stores
            .get(&(group.to_string(), version.to_string(), plural.to_string()))
    }

    /// Whether any resource of `group`/`version` is served here.
    pub fn serves_group_version(&self, group: &str, version: &str) -> bool {
        self.stores
            .keys()
            .any(|(g, v, _)| g == group && v == version)
    }

    /// Every served resource, in no particular order.
    pub fn resources(&self) -> impl Iterator<Item = &Arc<ResourceInfo>> + '_ {
        self.stores.values().map(|store| store.info())
    }
}
