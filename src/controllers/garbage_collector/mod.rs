//! The garbage collector, as kube-controller-manager's (`pkg/controller/garbagecollector`), run
//! inside the server like the namespace controller.
//!
//! Objects name their owners in `metadata.ownerReferences` (apiVersion, kind, name, uid). The
//! collector
//! * deletes a dependent once none of its owners exists any more (an owner is verified with a live
//!   read by name; a different uid means the owner is gone), with the propagation the dependent's
//!   own finalizers ask for (Background otherwise), or Foreground when an owner waits on it;
//! * completes a foreground deletion: an owner being deleted with the `foregroundDeletion`
//!   finalizer has its dependents deleted, and loses the finalizer once no dependent with
//!   `blockOwnerDeletion: true` remains;
//! * completes an orphaning deletion: an owner being deleted with the `orphan` finalizer has the
//!   references to it removed from its dependents, then loses the finalizer.
//!
//! How: one task per collectable resource lists it and follows its shared watch (the store's
//! watch cache, so no extra storage watch when API clients watch it too), feeding a single loop
//! that keeps the ownership [`graph::Graph`] and a de-duplicated work queue, and does the work
//! ([`worker`]) once every resource is listed. Custom resources are picked up (and dropped) as
//! CRDs come and go. Nothing is polled per object. State is rebuilt from lists at every start
//! and after a broken watch; every write is conditional (uid preconditions, read-modify-write
//! retried on conflict), so several replicas on one database may run it at once.

pub mod graph;
mod worker;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::catalog::{Persistence, ResourceInfo};
use crate::registry::options::ListOptions;
use crate::registry::store::{Store, WatchEventType};
use crate::registry::stores::ResourceStores;
use graph::{Graph, Node, ResourceKey, Work};

/// Gives the stores of the resources served at run time (custom resources, CRDs).
pub type DynamicStores = Arc<dyn Fn() -> Vec<Arc<Store>> + Send + Sync>;

/// How often the set of custom resources is looked at.
const REFRESH_INTERVAL: Duration = Duration::from_secs(2);
/// The pause before a broken list or watch is tried again.
const WATCH_RETRY: Duration = Duration::from_millis(500);
/// The first and the longest pause before a failed work item is tried again.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Whether the collector watches `info`'s resource: stored (not virtual, not an alias stored as
/// another resource), its storage version, listable, watchable and deletable, and not an event
/// (upstream's `DefaultIgnoredResources`).
pub fn collectable(info: &ResourceInfo) -> bool {
    info.storage_version
        && matches!(info.persistence(), Persistence::Stored)
        && ["list", "watch", "delete"]
            .iter()
            .all(|verb| info.supports(verb))
        && !matches!(
            (info.group.as_str(), info.plural.as_str()),
            ("", "events") | ("events.k8s.io", "events")
        )
}

/// The collectable stores of `registry`, one per resource.
pub fn collectable_stores(registry: &ResourceStores) -> Vec<Arc<Store>> {
    let mut seen = HashSet::new();
    registry
        .resources()
        .filter(|info| collectable(info) && seen.insert((info.group.clone(), info.plural.clone())))
        .filter_map(|info| registry.get(&info.group, &info.version, &info.plural))
        .cloned()
        .collect()
}

fn key_of(store: &Store) -> ResourceKey {
    let info = store.info();
    (info.group.to_string(), info.plural.to_string())
}

/// What the watch tasks feed the collector's loop.
enum Feed {
    /// A fresh list of a resource.
    Replace(ResourceKey, Vec<Node>),
    /// An added or modified object.
    Observe(Node),
    /// A deleted object, by uid.
    Remove(String),
}

/// Lists `store`'s resource and follows its watch, feeding `feed`; lists again after a broken
/// watch. Ends when the collector's loop is gone.
async fn follow(store: Arc<Store>, feed: mpsc::Sender<Feed>) {
    let key = key_of(&store);
    loop {
        let list = match store.list(None, &ListOptions::default()).await {
            Ok(list) => list,
            Err(err) => {
                tracing::warn!(resource = ?key, error = %err, "garbage collector: cannot list");
                tokio::time::sleep(WATCH_RETRY).await;
                continue;
            }
        };
        let nodes = list
            .items
            .iter()
            .filter_map(|o| Node::of(&key, o))
            .collect();
        if feed.send(Feed::Replace(key.clone(), nodes)).await.is_err() {
            return;
        }
        let opts = ListOptions {
            watch: Some(true),
            resource_version: list.resource_version,
            allow_watch_bookmarks: Some(true),
            ..Default::default()
        };
        let mut events = match store.watch(None, &opts).await {
            Ok(events) => events,
            Err(err) => {
                tracing::warn!(resource = ?key, error = %err, "garbage collector: cannot watch");
                tokio::time::sleep(WATCH_RETRY).await;
                continue;
            }
        };
        while let Some(event) = events.next().await {
            let item = match event.event_type {
                WatchEventType::Added | WatchEventType::Modified => {
                    Node::of(&key, event.object()).map(Feed::Observe)
                }
                WatchEventType::Deleted => {
                    Node::of(&key, event.object()).map(|node| Feed::Remove(node.uid))
                }
                WatchEventType::Bookmark => None,
                WatchEventType::Error => break,
            };
            if let Some(item) = item {
                if feed.send(item).await.is_err() {
                    return;
                }
            }
        }
        tokio::time::sleep(WATCH_RETRY).await;
    }
}

/// The garbage collector; [`GarbageCollector::run`] runs it.
pub struct GarbageCollector {
    builtin: Vec<Arc<Store>>,
    dynamic: Option<DynamicStores>,
}

impl GarbageCollector {
    /// A collector of the resources of `stores` (the built-in ones; non-collectable stores are
    /// skipped, see [`collectable`]).
    pub fn new(stores: Vec<Arc<Store>>) -> Self {
        let mut seen = HashSet::new();
        let builtin = stores
            .into_iter()
            .filter(|s| collectable(s.info()) && seen.insert(key_of(s)))
            .collect();
        Self {
            builtin,
            dynamic: None,
        }
    }

    /// Also collects the resources `dynamic` gives, asked every few seconds.
    pub fn with_dynamic_stores(mut self, dynamic: DynamicStores) -> Self {
        self.dynamic = Some(dynamic);
        self
    }

    /// Runs until the task is dropped.
    pub async fn run(self) {
        let (feed, mut events) = mpsc::channel(4096);
        let mut state = State::default();
        for store in &self.builtin {
            state.start_watch(store.clone(), &feed, true);
        }
        let mut last_refresh = Instant::now()
            .checked_sub(REFRESH_INTERVAL)
            .unwrap_or_else(Instant::now);
        loop {
            if last_refresh.elapsed() >= REFRESH_INTERVAL {
                if let Some(dynamic) = &self.dynamic {
                    state.refresh(&self.builtin, dynamic(), &feed);
                }
                last_refresh = Instant::now();
            }
            state.requeue_due();
            while let Ok(item) = events.try_recv() {
                state.apply(item);
            }
            if state.unsynced.is_empty() {
                if let Some(work) = state.pop() {
                    state.process(work).await;
                    continue;
                }
            }
            let wake = state
                .next_retry()
                .map(|due| due.min(last_refresh + REFRESH_INTERVAL))
                .unwrap_or(last_refresh + REFRESH_INTERVAL);
            tokio::select! {
                item = events.recv() => match item {
                    Some(item) => state.apply(item),
                    None => return,
                },
                _ = tokio::time::sleep_until(wake.into()) => {}
            }
        }
    }
}

/// The collector loop's state.
#[derive(Default)]
struct State {
    graph: Graph,
    /// The watched stores by resource, and the resource of each `(group, kind)`.
    stores: HashMap<ResourceKey, Arc<Store>>,
    kinds: HashMap<(String, String), ResourceKey>,
    /// The watch task of each resource, with the store it follows.
    watchers: HashMap<ResourceKey, (Arc<Store>, JoinHandle<()>)>,
    /// Built-in resources whose first list has not arrived yet: work waits until it has.
    unsynced: HashSet<ResourceKey>,
    /// Resources whose watch task has not delivered its first list yet.
    listing: HashSet<ResourceKey>,
    queue: VecDeque<Work>,
    queued: HashSet<Work>,
    /// Failed work: when to try again, and how many failures so far.
    retries: Vec<(Instant, Work)>,
    failures: HashMap<Work, u32>,
    /// Owner uids verified absent (uids are never reused): no need to read them again.
    absent_owners: HashSet<String>,
}

impl State {
    /// Starts following `store`'s resource; with `blocking`, no work is done before its first
    /// list has arrived (the built-in resources at start).
    fn start_watch(&mut self, store: Arc<Store>, feed: &mpsc::Sender<Feed>, blocking: bool) {
        let key = key_of(&store);
        let info = store.info();
        self.kinds
            .insert((info.group.to_string(), info.kind.to_string()), key.clone());
        self.stores.insert(key.clone(), store.clone());
        if blocking {
            self.unsynced.insert(key.clone());
        }
        self.listing.insert(key.clone());
        let task = tokio::spawn(follow(store.clone(), feed.clone()));
        if let Some((_, old)) = self.watchers.insert(key, (store, task)) {
            old.abort();
        }
    }

    /// Follows the custom resources served now: new or replaced stores get a watch, resources no
    /// longer served are dropped (their objects count as gone).
    fn refresh(
        &mut self,
        builtin: &[Arc<Store>],
        dynamic: Vec<Arc<Store>>,
        feed: &mpsc::Sender<Feed>,
    ) {
        let builtin_keys: HashSet<ResourceKey> = builtin.iter().map(|s| key_of(s)).collect();
        let mut current = HashSet::new();
        for store in dynamic {
            if !collectable(store.info()) {
                continue;
            }
            let key = key_of(&store);
            if builtin_keys.contains(&key) || !current.insert(key.clone()) {
                continue;
            }
            let same = self
                .watchers
                .get(&key)
                .is_some_and(|(watched, _)| Arc::ptr_eq(watched, &store));
            if !same {
                self.start_watch(store, feed, false);
            }
        }
        let dropped: Vec<ResourceKey> = self
            .watchers
            .keys()
            .filter(|k| !builtin_keys.contains(*k) && !current.contains(*k))
            .cloned()
            .collect();
        for key in dropped {
            if let Some((store, task)) = self.watchers.remove(&key) {
                task.abort();
                let info = store.info();
                self.kinds
                    .remove(&(info.group.to_string(), info.kind.to_string()));
            }
            self.stores.remove(&key);
            self.unsynced.remove(&key);
            self.listing.remove(&key);
            let work = self.graph.replace(&key, Vec::new());
            self.enqueue(work);
        }
    }

    fn apply(&mut self, item: Feed) {
        let work = match item {
            Feed::Replace(key, nodes) => {
                if !self.stores.contains_key(&key) {
                    return;
                }
                let was_blocking = self.unsynced.remove(&key);
                let first_list = self.listing.remove(&key);
                let mut work = self.graph.replace(&key, nodes);
                if first_list {
                    let info = self.stores[&key].info();
                    work.extend(self.graph.unseen_owners_of_kind(&info.group, &info.kind));
                }
                if was_blocking && self.unsynced.is_empty() {
                    tracing::debug!(objects = self.graph.len(), "garbage collector: synced");
                }
                work
            }
            Feed::Observe(node) => {
                if !self.stores.contains_key(&node.resource) {
                    return;
                }
                self.graph.observe(node)
            }
            Feed::Remove(uid) => self.graph.remove(&uid),
        };
        self.enqueue(work);
    }

    fn enqueue(&mut self, work: Vec<Work>) {
        for item in work {
            if self.queued.insert(item.clone()) {
                self.queue.push_back(item);
            }
        }
    }

    fn pop(&mut self) -> Option<Work> {
        let work = self.queue.pop_front()?;
        self.queued.remove(&work);
        Some(work)
    }

    /// Moves failed work whose pause is over back to the queue.
    fn requeue_due(&mut self) {
        let now = Instant::now();
        let (due, waiting): (Vec<_>, Vec<_>) =
            self.retries.drain(..).partition(|(at, _)| *at <= now);
        self.retries = waiting;
        self.enqueue(due.into_iter().map(|(_, work)| work).collect());
    }

    fn next_retry(&self) -> Option<Instant> {
        self.retries.iter().map(|(at, _)| *at).min()
    }

    async fn process(&mut self, work: Work) {
        let result = match &work {
            Work::AttemptToDelete(uid) => self.attempt_to_delete(uid).await,
            Work::Orphan(uid) => self.orphan_dependents(uid).await,
        };
        match result {
            Ok(()) => {
                self.failures.remove(&work);
            }
            Err(err) => {
                let failures = self.failures.entry(work.clone()).or_insert(0);
                *failures += 1;
                let pause = FIRST_BACKOFF
                    .saturating_mul(1u32 << (*failures).min(16))
                    .min(MAX_BACKOFF);
                tracing::info!(work = ?work, error = %err, retry_in = ?pause, "garbage collector: will retry");
                self.retries.push((Instant::now() + pause, work));
            }
        }
    }
}

#[cfg(test)]
mod tests;
