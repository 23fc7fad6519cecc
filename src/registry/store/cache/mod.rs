//! The watch cache of one resource (upstream's cacher and watch cache).
//!
//! One storage watch per resource (`Storage::watch_progress`), started in the background by the
//! first read or watch after a paged list at revision R, keeps:
//!
//! * the current objects, keyed by storage key, each decoded **once** into an [`Arc`]-shared
//!   [`WatchObject`] whose JSON is serialised at most once;
//! * a ring of recent events bounded by `StoreConfig::watch_history` and `watch_history_bytes`;
//! * the cache revision: every change at or below it is applied. It moves with each event and
//!   with the storage stream's progress reports, so a quiet resource still catches up.
//!
//! Reads (`reads.rs`): until the cache is ready every read goes to storage. A read with no
//! resourceVersion is a consistent read: served when the cache revision reaches the storage's
//! current revision (a progress request, then a wait of at most `consistent_read_timeout`), else
//! from storage. `"0"` is served as the cache is; `N` waits for the cache to reach N, else 504.
//!
//! Watches (`watch.rs`, `watcher.rs`): initial ADDED events from the cached state, resumption from
//! any revision in the ring, 410 Expired below it once events left the ring (or a storage watch,
//! per [`BeyondWindow`]; before the initial list, storage), bookmarks, selector transitions as
//! upstream's `cacheWatcher`. Events reach
//! watchers through a bounded broadcast: a watcher more than `watcher_backlog` events behind ends
//! with 410 Expired.
//!
//! A storage stream that fails ends every watcher with an ERROR event and marks the cache failed;
//! reads go to storage until the next use has filled it again.

mod dispatch;
mod event;
mod feed;
mod index;
mod reads;
mod snapshots;
mod state;
mod watch;
mod watcher;

pub(crate) use reads::{ListFreshness, Lookup};
pub(crate) use watch::WatchCache;
pub use watcher::INITIAL_EVENTS_END_ANNOTATION;

use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use futures::Stream;
use serde_json::Value;

use crate::catalog::key_order;

/// What a watch from a revision older than the cache's ring gets, once an event left the ring.
/// (A revision older than the cache's initial list, with nothing evicted yet, always reads
/// storage: the cache starts on first use, so such a revision is not too old.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BeyondWindow {
    /// 410 Expired `too old resource version: N (M)`, as upstream's watch cache.
    Expire,
    /// Its own storage watch from that revision (410 only once storage compacted it).
    Storage,
}

/// The watch cache's settings (config `storage.watch_cache.*`).
#[derive(Debug, Clone)]
pub struct CacheConfig {
    /// Serve reads and watches from the cache; `false` reads storage and gives each watch its own
    /// storage watch.
    pub enabled: bool,
    /// How long a consistent read or a read at a resourceVersion waits for the cache to catch up
    /// (upstream: 3 s); then a consistent read goes to storage and the other answers 504.
    pub consistent_read_timeout: Duration,
    /// What a watch from before the ring gets.
    pub beyond_window: BeyondWindow,
    /// How many first pages' snapshots the cache keeps for their continue tokens.
    pub snapshot_capacity: usize,
    /// How long an unused snapshot is kept; a later continue token reads storage.
    pub snapshot_ttl: Duration,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            consistent_read_timeout: Duration::from_secs(3),
            beyond_window: BeyondWindow::Expire,
            snapshot_capacity: 8,
            snapshot_ttl: Duration::from_secs(60),
        }
    }
}

/// The `type` of a watch event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WatchEventType {
    Added,
    Modified,
    Deleted,
    Bookmark,
    Error,
}

impl WatchEventType {
    /// The wire name: `ADDED`, `MODIFIED`, `DELETED`, `BOOKMARK`, `ERROR`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "ADDED",
            Self::Modified => "MODIFIED",
            Self::Deleted => "DELETED",
            Self::Bookmark => "BOOKMARK",
            Self::Error => "ERROR",
        }
    }
}

/// An object shared by every watcher that receives it: decoded once, serialised at most once.
#[derive(Debug)]
pub struct WatchObject {
    value: Value,
    json: OnceLock<Bytes>,
}

impl WatchObject {
    pub fn new(value: Value) -> Self {
        Self {
            value,
            json: OnceLock::new(),
        }
    }

    /// The object.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// The object's JSON (keys in kube-apiserver's order), computed on first use and cached.
    pub fn json(&self) -> &Bytes {
        self.json.get_or_init(|| {
            Bytes::from(serde_json::to_vec(&key_order::ordered(&self.value)).unwrap_or_default())
        })
    }
}

/// One event of an API watch.
#[derive(Debug, Clone)]
pub struct WatchEvent {
    pub event_type: WatchEventType,
    pub object: Arc<WatchObject>,
}

impl WatchEvent {
    pub fn new(event_type: WatchEventType, object: Value) -> Self {
        Self {
            event_type,
            object: Arc::new(WatchObject::new(object)),
        }
    }

    /// The object of the event.
    pub fn object(&self) -> &Value {
        self.object.value()
    }

    /// The event as one JSON document `{"type":"ADDED","object":{...}}` (no trailing newline),
    /// built from the cached object JSON without re-serialising the object.
    pub fn to_json(&self) -> Bytes {
        Bytes::from(event_json(self.event_type, self.object.json()))
    }
}

/// One watch event's JSON, `{"type":"ADDED","object":<object>}` (Go's `WatchEvent` field order),
/// around an already serialised object; no trailing newline.
pub fn event_json(event_type: WatchEventType, object: &[u8]) -> Vec<u8> {
    let kind = event_type.as_str();
    let mut out = Vec::with_capacity(object.len() + kind.len() + 23);
    out.extend_from_slice(b"{\"type\":\"");
    out.extend_from_slice(kind.as_bytes());
    out.extend_from_slice(b"\",\"object\":");
    out.extend_from_slice(object);
    out.push(b'}');
    out
}

/// The stream of an API watch. It ends after an ERROR event, at the watch's timeout, or when the
/// store shuts down.
pub type WatchEvents = Pin<Box<dyn Stream<Item = WatchEvent> + Send + 'static>>;
