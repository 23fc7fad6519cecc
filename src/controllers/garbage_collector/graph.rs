//! The garbage collector's view of ownership, as upstream's `GraphBuilder`
//! (`pkg/controller/garbagecollector/graph_builder.go`): one node per observed object (by uid)
//! with its `ownerReferences`, and for every owner uid the uids of its dependents.
//!
//! The graph is fed with what the watches observe and answers, for every change, the work it
//! causes ([`Work`]): a dependent whose owner went (or was never seen) must be looked at
//! (`attemptToDelete`), an owner that starts a foreground deletion must have its dependents
//! looked at, an owner that starts orphaning must have its dependents released
//! (`attemptToOrphan`). The graph never decides a deletion by itself: the work items verify the
//! owners with live reads.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use crate::registry::metadata::{finalizers, is_being_deleted, meta_str};

/// `metadata.finalizers` entry: delete the dependents first (upstream's
/// `metav1.FinalizerDeleteDependents`).
pub const FOREGROUND_FINALIZER: &str = "foregroundDeletion";
/// `metadata.finalizers` entry: orphan the dependents first (upstream's
/// `metav1.FinalizerOrphanDependents`).
pub const ORPHAN_FINALIZER: &str = "orphan";

/// Which watched resource an object belongs to: `(group, plural)`.
pub type ResourceKey = (String, String);

/// One `ownerReferences` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerRef {
    /// The owner's API group (from `apiVersion`; `""` for the core group).
    pub group: String,
    pub kind: String,
    pub name: String,
    pub uid: String,
    pub block_owner_deletion: bool,
}

impl OwnerRef {
    /// The owner references of `obj`, skipping malformed entries.
    pub fn of(obj: &Value) -> Vec<OwnerRef> {
        let Some(refs) = obj
            .pointer("/metadata/ownerReferences")
            .and_then(Value::as_array)
        else {
            return Vec::new();
        };
        refs.iter()
            .filter_map(|r| {
                let text = |field: &str| r.get(field).and_then(Value::as_str);
                let api_version = text("apiVersion")?;
                let group = match api_version.split_once('/') {
                    Some((group, _)) => group,
                    None => "",
                };
                Some(OwnerRef {
                    group: group.to_string(),
                    kind: text("kind")?.to_string(),
                    name: text("name")?.to_string(),
                    uid: text("uid")?.to_string(),
                    block_owner_deletion: r
                        .get("blockOwnerDeletion")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                })
            })
            .collect()
    }
}

/// An observed object, as the graph keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub resource: ResourceKey,
    pub namespace: Option<String>,
    pub name: String,
    pub uid: String,
    pub owners: Vec<OwnerRef>,
    /// `deletionTimestamp` set and the `foregroundDeletion` finalizer present.
    pub deleting_dependents: bool,
    /// `deletionTimestamp` set and the `orphan` finalizer present.
    pub orphaning: bool,
}

impl Node {
    /// The node of `obj`, observed in `resource`; `None` without a uid.
    pub fn of(resource: &ResourceKey, obj: &Value) -> Option<Node> {
        let uid = meta_str(obj, "uid");
        if uid.is_empty() {
            return None;
        }
        let namespace = meta_str(obj, "namespace");
        let deleting = is_being_deleted(obj);
        let present = if deleting {
            finalizers(obj)
        } else {
            Vec::new()
        };
        Some(Node {
            resource: resource.clone(),
            namespace: (!namespace.is_empty()).then(|| namespace.to_string()),
            name: meta_str(obj, "name").to_string(),
            uid: uid.to_string(),
            owners: OwnerRef::of(obj),
            deleting_dependents: present.iter().any(|f| f == FOREGROUND_FINALIZER),
            orphaning: present.iter().any(|f| f == ORPHAN_FINALIZER),
        })
    }
}

/// Work the garbage collector must do, by uid.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Work {
    /// Look at the object: delete it if its owners are gone, update its finalizer if it waits on
    /// its dependents (upstream's `attemptToDeleteItem`).
    AttemptToDelete(String),
    /// Remove the owner references to this object from its dependents, then its `orphan`
    /// finalizer (upstream's `attemptToOrphan`).
    Orphan(String),
}

/// The ownership graph.
#[derive(Debug, Default)]
pub struct Graph {
    nodes: HashMap<String, Node>,
    /// Owner uid -> the uids of the observed objects naming it in their `ownerReferences`
    /// (kept for owners not observed, or gone, as long as a dependent names them).
    dependents: HashMap<String, HashSet<String>>,
}

impl Graph {
    /// The node of `uid`, when observed.
    pub fn node(&self, uid: &str) -> Option<&Node> {
        self.nodes.get(uid)
    }

    /// How many objects are observed.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether no object is observed.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The observed dependents of `uid`.
    pub fn dependents(&self, uid: &str) -> Vec<&Node> {
        self.dependents
            .get(uid)
            .into_iter()
            .flatten()
            .filter_map(|dep| self.nodes.get(dep))
            .collect()
    }

    /// The dependents of `uid` whose reference to it has `blockOwnerDeletion: true`.
    pub fn blocking_dependents(&self, uid: &str) -> Vec<&Node> {
        self.dependents(uid)
            .into_iter()
            .filter(|dep| {
                dep.owners
                    .iter()
                    .any(|o| o.uid == uid && o.block_owner_deletion)
            })
            .collect()
    }

    fn enqueue_owner_if_waiting(&self, owner: &str, work: &mut Vec<Work>) {
        if self.nodes.get(owner).is_some_and(|n| n.deleting_dependents) {
            work.push(Work::AttemptToDelete(owner.to_string()));
        }
    }

    /// Records an added or modified object; returns the work it causes.
    pub fn observe(&mut self, node: Node) -> Vec<Work> {
        let mut work = Vec::new();
        let uid = node.uid.clone();
        let old = self.nodes.remove(&uid);
        let old_owners: Vec<OwnerRef> = old.as_ref().map(|o| o.owners.clone()).unwrap_or_default();
        // Owners no longer named: forget the edge; an owner waiting on its dependents may be done.
        for gone in old_owners
            .iter()
            .filter(|o| !node.owners.iter().any(|n| n.uid == o.uid))
        {
            if let Some(set) = self.dependents.get_mut(&gone.uid) {
                set.remove(&uid);
                if set.is_empty() {
                    self.dependents.remove(&gone.uid);
                }
            }
            self.enqueue_owner_if_waiting(&gone.uid, &mut work);
        }
        let mut unseen_owner = false;
        for owner in &node.owners {
            self.dependents
                .entry(owner.uid.clone())
                .or_default()
                .insert(uid.clone());
            let known_before = old_owners.contains(owner);
            if !known_before {
                // A new or changed reference (e.g. blockOwnerDeletion dropped): the owner may be
                // waiting on it.
                self.enqueue_owner_if_waiting(&owner.uid, &mut work);
            }
            if !self.nodes.contains_key(&owner.uid) && !known_before {
                unseen_owner = true;
            }
        }
        if unseen_owner {
            // An owner never observed (absent, or not listed yet): verify it with a live read.
            work.push(Work::AttemptToDelete(uid.clone()));
        }
        if node.orphaning && !old.as_ref().is_some_and(|o| o.orphaning) {
            work.push(Work::Orphan(uid.clone()));
        }
        if node.deleting_dependents && !old.as_ref().is_some_and(|o| o.deleting_dependents) {
            for dep in self.dependents.get(&uid).into_iter().flatten() {
                work.push(Work::AttemptToDelete(dep.clone()));
            }
            work.push(Work::AttemptToDelete(uid.clone()));
        }
        self.nodes.insert(uid, node);
        work
    }

    /// Records that the object `uid` is gone; returns the work it causes: its dependents must be
    /// looked at, and its owners that wait on their dependents.
    pub fn remove(&mut self, uid: &str) -> Vec<Work> {
        let mut work = Vec::new();
        let Some(node) = self.nodes.remove(uid) else {
            return work;
        };
        for dep in self.dependents.get(uid).into_iter().flatten() {
            work.push(Work::AttemptToDelete(dep.clone()));
        }
        for owner in &node.owners {
            if let Some(set) = self.dependents.get_mut(&owner.uid) {
                set.remove(uid);
                if set.is_empty() {
                    self.dependents.remove(&owner.uid);
                }
            }
            self.enqueue_owner_if_waiting(&owner.uid, &mut work);
        }
        work
    }

    /// The work of a resource whose objects are listed for the first time (a CRD just served):
    /// objects naming an owner of that `group`/`kind` that was never observed must be verified
    /// again, since the owner may have gone before it could be watched.
    pub fn unseen_owners_of_kind(&self, group: &str, kind: &str) -> Vec<Work> {
        self.nodes
            .values()
            .filter(|node| {
                node.owners
                    .iter()
                    .any(|o| o.group == group && o.kind == kind && !self.nodes.contains_key(&o.uid))
            })
            .map(|node| Work::AttemptToDelete(node.uid.clone()))
            .collect()
    }

    /// Replaces everything known of `resource` by `nodes` (a fresh list): objects not listed any
    /// more are removed, the others observed.
    pub fn replace(&mut self, resource: &ResourceKey, nodes: Vec<Node>) -> Vec<Work> {
        let listed: HashSet<&str> = nodes.iter().map(|n| n.uid.as_str()).collect();
        let gone: Vec<String> = self
            .nodes
            .values()
            .filter(|n| &n.resource == resource && !listed.contains(n.uid.as_str()))
            .map(|n| n.uid.clone())
            .collect();
        let mut work = Vec::new();
        for uid in gone {
            work.extend(self.remove(&uid));
        }
        for node in nodes {
            work.extend(self.observe(node));
        }
        work
    }
}
