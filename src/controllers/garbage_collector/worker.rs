//! The garbage collector's work items, as upstream's `attemptToDeleteItem`,
//! `processDeletingDependentsItem` and `attemptToOrphanWorker`
//! (`pkg/controller/garbagecollector/garbagecollector.go`).
//!
//! Every decision reads the object and its owners live; every write is conditional: deletes carry
//! a uid precondition, updates are read-modify-writes that give up (as done) when the object's uid
//! changed. A 404 means the work is done.

use std::collections::HashSet;

use serde_json::Value;

use super::graph::{Node, OwnerRef, Work, FOREGROUND_FINALIZER, ORPHAN_FINALIZER};
use super::State;
use crate::api::status::{ApiError, ApiResult};
use crate::registry::metadata::{finalizers, is_being_deleted, meta_mut, meta_str};
use crate::registry::options::{DeleteOptions, Preconditions, PropagationPolicy, WriteOptions};
use crate::registry::store::Store;

/// What a live read says of one owner reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OwnerState {
    /// The owner exists (or cannot be resolved, which never counts as absent).
    Solid,
    /// The owner does not exist: no object of that name, or one with another uid.
    Dangling,
    /// The owner exists and is being deleted in the foreground: it waits on this dependent.
    Waiting,
}

/// The propagation policy the collector deletes a dependent with: Foreground when an owner waits
/// on it and it has dependents of its own; otherwise what its finalizers ask for (`orphan`,
/// `foregroundDeletion`), else Background.
pub(super) fn deletion_policy(
    object: &Value,
    owner_waiting: bool,
    has_dependents: bool,
) -> PropagationPolicy {
    if owner_waiting && has_dependents {
        return PropagationPolicy::Foreground;
    }
    let present = finalizers(object);
    if present.iter().any(|f| f == ORPHAN_FINALIZER) {
        PropagationPolicy::Orphan
    } else if present.iter().any(|f| f == FOREGROUND_FINALIZER) {
        PropagationPolicy::Foreground
    } else {
        PropagationPolicy::Background
    }
}

/// `object` without the owner references whose uid is in `uids` (the field is dropped when none
/// remain); `None` when nothing changes.
pub(super) fn without_owner_refs(object: &Value, uids: &HashSet<String>) -> Option<Value> {
    let refs = object
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)?;
    let kept: Vec<Value> = refs
        .iter()
        .filter(|r| {
            r.get("uid")
                .and_then(Value::as_str)
                .is_none_or(|uid| !uids.contains(uid))
        })
        .cloned()
        .collect();
    if kept.len() == refs.len() {
        return None;
    }
    let mut next = object.clone();
    let meta = meta_mut(&mut next);
    if kept.is_empty() {
        meta.remove("ownerReferences");
    } else {
        meta.insert("ownerReferences".into(), Value::Array(kept));
    }
    Some(next)
}

/// `object` with every owner reference's `blockOwnerDeletion` false (breaks foreground cycles);
/// `None` when nothing changes.
pub(super) fn unblocked_owner_refs(object: &Value) -> Option<Value> {
    let mut next = object.clone();
    let refs = next
        .pointer_mut("/metadata/ownerReferences")
        .and_then(Value::as_array_mut)?;
    let mut changed = false;
    for r in refs.iter_mut() {
        if r.get("blockOwnerDeletion").and_then(Value::as_bool) == Some(true) {
            r["blockOwnerDeletion"] = Value::Bool(false);
            changed = true;
        }
    }
    changed.then_some(next)
}

/// `object` without the finalizer `name`; `None` when it does not carry it.
pub(super) fn without_finalizer(object: &Value, name: &str) -> Option<Value> {
    let present = finalizers(object);
    if !present.iter().any(|f| f == name) {
        return None;
    }
    let kept: Vec<Value> = present
        .into_iter()
        .filter(|f| f != name)
        .map(Value::String)
        .collect();
    let mut next = object.clone();
    let meta = meta_mut(&mut next);
    if kept.is_empty() {
        meta.remove("finalizers");
    } else {
        meta.insert("finalizers".into(), Value::Array(kept));
    }
    Some(next)
}

/// Whether an API error means the object (with the uid we meant) is gone.
fn gone(err: &ApiError) -> bool {
    err.status.code == 404
}

/// A conditional read-modify-write of the object of `node`: `change` gives the new object or
/// `None` for no change. An object that is gone or has another uid counts as done.
async fn update_node<F>(store: &Store, node: &Node, mut change: F) -> ApiResult<()>
where
    F: FnMut(&Value) -> Option<Value> + Send,
{
    let resource = store.info().group_resource();
    let result = store
        .guaranteed_update(
            node.namespace.as_deref(),
            &node.name,
            &WriteOptions::default(),
            |current| {
                if meta_str(current, "uid") != node.uid {
                    return Err(ApiError::not_found(&resource, &node.name));
                }
                Ok(change(current).unwrap_or_else(|| current.clone()))
            },
        )
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(err) if gone(&err) => Ok(()),
        Err(err) => Err(err),
    }
}

impl State {
    fn store_of(&self, node: &Node) -> Option<std::sync::Arc<Store>> {
        self.stores.get(&node.resource).cloned()
    }

    /// Reads the object of `node`; `None` (and the node forgotten) when it is gone.
    async fn read_live(&mut self, store: &Store, node: &Node) -> ApiResult<Option<Value>> {
        match store.get(node.namespace.as_deref(), &node.name).await {
            Ok(obj) if meta_str(&obj, "uid") == node.uid => Ok(Some(obj)),
            Ok(_) => {
                let work = self.graph.remove(&node.uid);
                self.enqueue(work);
                Ok(None)
            }
            Err(err) if gone(&err) => {
                let work = self.graph.remove(&node.uid);
                self.enqueue(work);
                Ok(None)
            }
            Err(err) => Err(err),
        }
    }

    /// Whether `node` has owners and every one of them is an observed object that is not
    /// deleting its dependents.
    fn owners_observed_present(&self, node: &Node) -> bool {
        !node.owners.is_empty()
            && node.owners.iter().all(|owner| {
                self.graph
                    .node(&owner.uid)
                    .is_some_and(|o| !o.deleting_dependents && o.name == owner.name)
            })
    }

    /// Upstream's `isDangling`, with a live read of the owner by name.
    async fn owner_state(&mut self, dependent: &Node, owner: &OwnerRef) -> ApiResult<OwnerState> {
        if self.absent_owners.contains(&owner.uid) {
            return Ok(OwnerState::Dangling);
        }
        let Some(store) = self
            .kinds
            .get(&(owner.group.clone(), owner.kind.clone()))
            .and_then(|key| self.stores.get(key))
            .cloned()
        else {
            // An unknown kind is never taken for an absent owner.
            return Ok(OwnerState::Solid);
        };
        let namespace = if store.info().namespaced {
            match &dependent.namespace {
                Some(ns) => Some(ns.as_str()),
                // A cluster-scoped dependent cannot have a namespaced owner.
                None => return Ok(OwnerState::Dangling),
            }
        } else {
            None
        };
        let state = match store.get(namespace, &owner.name).await {
            Ok(obj) if meta_str(&obj, "uid") == owner.uid => {
                let waiting = is_being_deleted(&obj)
                    && finalizers(&obj).iter().any(|f| f == FOREGROUND_FINALIZER);
                if waiting {
                    OwnerState::Waiting
                } else {
                    OwnerState::Solid
                }
            }
            Ok(_) => OwnerState::Dangling,
            Err(err) if gone(&err) => OwnerState::Dangling,
            Err(err) => return Err(err),
        };
        if state == OwnerState::Dangling {
            if self.absent_owners.len() >= 100_000 {
                self.absent_owners.clear();
            }
            self.absent_owners.insert(owner.uid.clone());
        }
        Ok(state)
    }

    /// Upstream's `attemptToDeleteItem`.
    pub(super) async fn attempt_to_delete(&mut self, uid: &str) -> ApiResult<()> {
        let Some(node) = self.graph.node(uid).cloned() else {
            return Ok(());
        };
        let Some(store) = self.store_of(&node) else {
            return Ok(());
        };
        if !node.deleting_dependents && self.owners_observed_present(&node) {
            // Every owner was observed and none waits on its dependents: nothing to do. Should
            // one go (or start waiting), its event queues this object again.
            return Ok(());
        }
        let Some(latest) = self.read_live(&store, &node).await? else {
            return Ok(());
        };
        if is_being_deleted(&latest) {
            if finalizers(&latest)
                .iter()
                .any(|f| f == FOREGROUND_FINALIZER)
            {
                return self.process_deleting_dependents(&store, &node).await;
            }
            return Ok(());
        }
        let owners = OwnerRef::of(&latest);
        if owners.is_empty() {
            return Ok(());
        }
        let mut solid = false;
        let mut released = HashSet::new();
        let mut waiting = false;
        for owner in &owners {
            match self.owner_state(&node, owner).await? {
                OwnerState::Solid => solid = true,
                OwnerState::Dangling => {
                    released.insert(owner.uid.clone());
                }
                OwnerState::Waiting => {
                    waiting = true;
                    released.insert(owner.uid.clone());
                }
            }
        }
        if solid {
            // Another owner keeps the object: only drop the references to absent owners and to
            // owners waiting on their dependents.
            if released.is_empty() {
                return Ok(());
            }
            tracing::debug!(
                uid,
                "garbage collector: removing references to owners going away"
            );
            return update_node(&store, &node, |current| {
                without_owner_refs(current, &released)
            })
            .await;
        }
        let dependents = self.graph.dependents(uid);
        let has_dependents = !dependents.is_empty();
        let dependent_waits = dependents.iter().any(|d| d.deleting_dependents);
        if waiting && has_dependents && dependent_waits {
            // A dependent waits on this object while an owner waits on it: unblock the owner
            // references so that the cycle cannot hold both forever.
            update_node(&store, &node, unblocked_owner_refs).await?;
        }
        let policy = deletion_policy(&latest, waiting, has_dependents);
        tracing::debug!(
            uid,
            ?policy,
            "garbage collector: deleting an object whose owners are gone"
        );
        self.delete_node(&store, &node, policy).await
    }

    /// Upstream's `processDeletingDependentsItem`: the object waits on its dependents.
    async fn process_deleting_dependents(&mut self, store: &Store, node: &Node) -> ApiResult<()> {
        let blocking: Vec<(String, bool)> = self
            .graph
            .blocking_dependents(&node.uid)
            .into_iter()
            .map(|dep| (dep.uid.clone(), dep.deleting_dependents))
            .collect();
        if blocking.is_empty() {
            tracing::debug!(uid = %node.uid, "garbage collector: dependents gone, removing foregroundDeletion");
            return update_node(store, node, |current| {
                without_finalizer(current, FOREGROUND_FINALIZER)
            })
            .await;
        }
        let work = blocking
            .into_iter()
            .filter(|(_, deleting_dependents)| !deleting_dependents)
            .map(|(uid, _)| Work::AttemptToDelete(uid))
            .collect();
        self.enqueue(work);
        Ok(())
    }

    /// Deletes the object of `node` with `policy`, on the condition that its uid is the same.
    async fn delete_node(
        &mut self,
        store: &Store,
        node: &Node,
        policy: PropagationPolicy,
    ) -> ApiResult<()> {
        let opts = DeleteOptions {
            propagation_policy: Some(policy),
            preconditions: Some(Preconditions {
                uid: Some(node.uid.clone()),
                resource_version: None,
            }),
            ..Default::default()
        };
        match store
            .delete(
                node.namespace.as_deref(),
                &node.name,
                &opts,
                &WriteOptions::default(),
            )
            .await
        {
            Ok(_) => Ok(()),
            // Gone, or replaced by another object of the same name.
            Err(err) if gone(&err) || err.status.code == 409 => Ok(()),
            Err(err) => Err(err),
        }
    }

    /// Upstream's `attemptToOrphanWorker`: removes the references to the owner `uid` from its
    /// dependents, then the owner's `orphan` finalizer.
    pub(super) async fn orphan_dependents(&mut self, uid: &str) -> ApiResult<()> {
        let Some(owner) = self.graph.node(uid).cloned() else {
            return Ok(());
        };
        let Some(owner_store) = self.store_of(&owner) else {
            return Ok(());
        };
        let dependents: Vec<Node> = self.graph.dependents(uid).into_iter().cloned().collect();
        let released: HashSet<String> = [uid.to_string()].into();
        for dependent in &dependents {
            let Some(store) = self.store_of(dependent) else {
                continue;
            };
            update_node(&store, dependent, |current| {
                without_owner_refs(current, &released)
            })
            .await?;
        }
        tracing::debug!(
            uid,
            orphaned = dependents.len(),
            "garbage collector: dependents orphaned, removing orphan"
        );
        update_node(&owner_store, &owner, |current| {
            without_finalizer(current, ORPHAN_FINALIZER)
        })
        .await
    }
}
