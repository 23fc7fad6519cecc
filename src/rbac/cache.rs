//! Roles and bindings kept in memory, fed by the stores' lists and watches (upstream's shared
//! informers and listers).
//!
//! [`PolicyState`] indexes the four kinds so that resolving a user's rules in a namespace touches
//! only the cluster bindings and that namespace's bindings. [`run_informer`] keeps one kind up to
//! date: it lists the store, replaces the kind's content, then applies the watch from the list's
//! resourceVersion; when the watch fails or ends (410 Expired included) it lists again.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use futures::StreamExt;
use serde_json::Value;

use super::rules::{object_key, parse_binding, parse_rules, Binding, PolicyRule};
use crate::registry::options::ListOptions;
use crate::registry::store::{Store, WatchEventType};

/// One of the four RBAC kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    Role,
    RoleBinding,
    ClusterRole,
    ClusterRoleBinding,
}

impl PolicyKind {
    /// The bit of this kind in the "synced" mask.
    pub fn bit(self) -> u8 {
        match self {
            Self::Role => 1,
            Self::RoleBinding => 2,
            Self::ClusterRole => 4,
            Self::ClusterRoleBinding => 8,
        }
    }

    /// Every kind's bit.
    pub const ALL_BITS: u8 = 15;
}

/// The in-memory view of every Role, RoleBinding, ClusterRole and ClusterRoleBinding.
///
/// Bindings are kept in name order so that decisions (and the binding named in an "allowed by"
/// reason) do not depend on arrival order.
#[derive(Debug, Default)]
pub struct PolicyState {
    /// Roles by namespace, then name.
    pub roles: HashMap<String, HashMap<String, Arc<[PolicyRule]>>>,
    /// ClusterRoles by name.
    pub cluster_roles: HashMap<String, Arc<[PolicyRule]>>,
    /// RoleBindings by namespace, then name.
    pub role_bindings: HashMap<String, BTreeMap<String, Arc<Binding>>>,
    /// ClusterRoleBindings by name.
    pub cluster_role_bindings: BTreeMap<String, Arc<Binding>>,
}

impl PolicyState {
    /// Adds or replaces one object of `kind`. An object that does not decode is dropped (it
    /// grants nothing), as an informer would skip it.
    pub fn upsert(&mut self, kind: PolicyKind, object: &Value) {
        let (namespace, name) = object_key(object);
        match kind {
            PolicyKind::Role | PolicyKind::ClusterRole => {
                let Ok(rules) = parse_rules(object) else {
                    tracing::warn!(?kind, %namespace, %name, "undecodable RBAC role ignored");
                    self.remove(kind, object);
                    return;
                };
                let rules: Arc<[PolicyRule]> = rules.into();
                if kind == PolicyKind::Role {
                    self.roles.entry(namespace).or_default().insert(name, rules);
                } else {
                    self.cluster_roles.insert(name, rules);
                }
            }
            PolicyKind::RoleBinding | PolicyKind::ClusterRoleBinding => {
                let Ok(binding) = parse_binding(object) else {
                    tracing::warn!(?kind, %namespace, %name, "undecodable RBAC binding ignored");
                    self.remove(kind, object);
                    return;
                };
                let binding = Arc::new(binding);
                if kind == PolicyKind::RoleBinding {
                    self.role_bindings
                        .entry(namespace)
                        .or_default()
                        .insert(name, binding);
                } else {
                    self.cluster_role_bindings.insert(name, binding);
                }
            }
        }
    }

    /// Removes one object of `kind`.
    pub fn remove(&mut self, kind: PolicyKind, object: &Value) {
        let (namespace, name) = object_key(object);
        match kind {
            PolicyKind::Role => {
                if let Some(roles) = self.roles.get_mut(&namespace) {
                    roles.remove(&name);
                    if roles.is_empty() {
                        self.roles.remove(&namespace);
                    }
                }
            }
            PolicyKind::ClusterRole => {
                self.cluster_roles.remove(&name);
            }
            PolicyKind::RoleBinding => {
                if let Some(bindings) = self.role_bindings.get_mut(&namespace) {
                    bindings.remove(&name);
                    if bindings.is_empty() {
                        self.role_bindings.remove(&namespace);
                    }
                }
            }
            PolicyKind::ClusterRoleBinding => {
                self.cluster_role_bindings.remove(&name);
            }
        }
    }

    /// Replaces every object of `kind` with `objects` (after a list).
    pub fn replace(&mut self, kind: PolicyKind, objects: &[Value]) {
        match kind {
            PolicyKind::Role => self.roles.clear(),
            PolicyKind::ClusterRole => self.cluster_roles.clear(),
            PolicyKind::RoleBinding => self.role_bindings.clear(),
            PolicyKind::ClusterRoleBinding => self.cluster_role_bindings.clear(),
        }
        for object in objects {
            self.upsert(kind, object);
        }
    }
}

/// What an informer updates: the shared state and the "synced" mask.
pub trait PolicySink: Send + Sync + 'static {
    /// The state to update. Writers MUST NOT hold the lock across an await.
    fn state(&self) -> &RwLock<PolicyState>;
    /// Called after the first successful list of `kind`.
    fn mark_synced(&self, kind: PolicyKind);
}

/// The pause before listing again after a failure.
const RETRY_DELAY: Duration = Duration::from_millis(500);

/// Keeps `kind` of `sink` up to date from `store` until the sink is dropped.
pub async fn run_informer<S: PolicySink>(sink: Weak<S>, store: Arc<Store>, kind: PolicyKind) {
    loop {
        let list = match store.list(None, &ListOptions::default()).await {
            Ok(list) => list,
            Err(err) => {
                tracing::warn!(?kind, error = %err, "listing RBAC objects failed; retrying");
                tokio::time::sleep(RETRY_DELAY).await;
                if sink.strong_count() == 0 {
                    return;
                }
                continue;
            }
        };
        {
            let Some(sink) = sink.upgrade() else { return };
            match sink.state().write() {
                Ok(mut state) => state.replace(kind, &list.items),
                Err(poisoned) => poisoned.into_inner().replace(kind, &list.items),
            }
            sink.mark_synced(kind);
        }
        let opts = ListOptions {
            resource_version: list.resource_version.clone(),
            watch: Some(true),
            ..Default::default()
        };
        match store.watch(None, &opts).await {
            Ok(mut events) => {
                while let Some(event) = events.next().await {
                    let Some(sink) = sink.upgrade() else { return };
                    let mut state = match sink.state().write() {
                        Ok(state) => state,
                        Err(poisoned) => poisoned.into_inner(),
                    };
                    match event.event_type {
                        WatchEventType::Added | WatchEventType::Modified => {
                            state.upsert(kind, event.object())
                        }
                        WatchEventType::Deleted => state.remove(kind, event.object()),
                        WatchEventType::Bookmark => {}
                        WatchEventType::Error => {
                            tracing::info!(?kind, status = %event.object(), "RBAC watch ended; relisting");
                            break;
                        }
                    }
                }
            }
            Err(err) => {
                tracing::warn!(?kind, error = %err, "watching RBAC objects failed; relisting");
                tokio::time::sleep(RETRY_DELAY).await;
            }
        }
        if sink.strong_count() == 0 {
            return;
        }
    }
}
