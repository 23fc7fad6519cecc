//! The watch cache of one resource (upstream's cacher and watch cache).
//!
//! One storage watch per resource (`Storage::watch_progress`), started in the background by the
//! first read or watch after a paged list at revision R, keeps:
//!
//! * the current objects, keyed by storage key, each decoded **once** into an [`Arc`]-shared
//!   [`WatchObject`] whose JSON and protobuf message are each serialised at most once;
//! * a ring of recent events bounded by `StoreConfig::watch_history` and `watch_history_bytes`;
//! * the cache revision: every change at or below it is applied. It moves with each event and
//!   with the storage stream's progress reports, so a quiet resource still catches up.
//!
//! Reads (`reads.rs`): until the cache is ready every read goes to storage, and so does a get
//! with no resourceVersion (as upstream). A list with no resourceVersion is a consistent read:
//! served when the cache revision reaches the storage's
//! current revision (a progress request, then a wait of at most `consistent_read_timeout`), else
//! from storage. Concurrent reads share their current-revision fetches and progress requests,
//! joining only calls that started after they arrived (`flight.rs`). `"0"` is served as the
//! cache is; `N` waits for the cache to reach N, else 504.
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
mod flight;
mod index;
mod init;
mod pager;
mod reads;
mod snapshots;
mod state;
mod watch;
mod watcher;

pub use init::WatchInitSignal;
pub(crate) use reads::{ListFreshness, Lookup};
pub(crate) use watch::WatchCache;
pub use watcher::INITIAL_EVENTS_END_ANNOTATION;

use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use futures::Stream;
use serde_json::Value;

use crate::catalog::{key_order, protobuf};

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

/// An object shared by every watcher and list that sends it: decoded once, and serialised at most
/// once per wire format (JSON, protobuf message), however many responses carry it.
#[derive(Debug)]
pub struct WatchObject {
    value: Value,
    json: OnceLock<Bytes>,
    protobuf: OnceLock<Option<Bytes>>,
}

impl WatchObject {
    pub fn new(value: Value) -> Self {
        Self {
            value,
            json: OnceLock::new(),
            protobuf: OnceLock::new(),
        }
    }

    /// The object.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// The object, cloned only when another holder shares it.
    pub fn into_value(this: Arc<Self>) -> Value {
        match Arc::try_unwrap(this) {
            Ok(object) => object.value,
            Err(shared) => shared.value.clone(),
        }
    }

    /// The object's JSON (keys in kube-apiserver's order), computed on first use and cached.
    pub fn json(&self) -> &Bytes {
        self.json.get_or_init(|| {
            Bytes::from(serde_json::to_vec(&key_order::ordered(&self.value)).unwrap_or_default())
        })
    }

    /// The `(apiVersion, kind)` the object is encoded as: its own, or the given ones where it has
    /// none (as a response adds them); `None` when it has one that is not a string.
    pub fn type_meta<'a>(
        &'a self,
        api_version: &'a str,
        kind: &'a str,
    ) -> Option<(&'a str, &'a str)> {
        let own = |key: &str, default: &'a str| match self.value.get(key) {
            None => Some(default),
            Some(value) => value.as_str(),
        };
        Some((own("apiVersion", api_version)?, own("kind", kind)?))
    }

    /// The object's protobuf message (without the `k8s\0` envelope) for its
    /// [`type_meta`](Self::type_meta), computed on first use and cached. An object belongs to one
    /// resource, so every call names the same type. `None` when the type has no message or the
    /// object does not fit it.
    pub fn protobuf(&self, api_version: &str, kind: &str) -> Option<&Bytes> {
        self.protobuf
            .get_or_init(|| {
                let (api_version, kind) = self.type_meta(api_version, kind)?;
                protobuf::encode_message_of(api_version, kind, &self.value)
                    .ok()
                    .map(Bytes::from)
            })
            .as_ref()
    }
}

/// The wire frames of one event, built once and shared by every watcher that sends the event as
/// it is (no Table, no PartialObjectMetadata).
#[derive(Debug, Default)]
pub struct EventFrames {
    json: OnceLock<Bytes>,
    protobuf: OnceLock<Option<Bytes>>,
}

/// One event of an API watch.
#[derive(Debug, Clone)]
pub struct WatchEvent {
    pub event_type: WatchEventType,
    pub object: Arc<WatchObject>,
    /// The frames shared with the other watchers of the same cache event; `None` builds them for
    /// this watcher alone.
    frames: Option<Arc<EventFrames>>,
}

impl WatchEvent {
    pub fn new(event_type: WatchEventType, object: Value) -> Self {
        Self::of(event_type, Arc::new(WatchObject::new(object)))
    }

    /// An event of an already shared object.
    pub fn of(event_type: WatchEventType, object: Arc<WatchObject>) -> Self {
        Self {
            event_type,
            object,
            frames: None,
        }
    }

    /// An event whose frames are shared with every other event built from the same `frames`
    /// (all of them MUST carry the same type and object).
    pub(crate) fn with_frames(
        event_type: WatchEventType,
        object: Arc<WatchObject>,
        frames: Arc<EventFrames>,
    ) -> Self {
        Self {
            event_type,
            object,
            frames: Some(frames),
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

    /// The event's JSON watch frame: [`to_json`](Self::to_json) and a newline. Built once per
    /// shared event; each watcher gets a clone of the same bytes.
    pub fn json_frame(&self) -> Bytes {
        let build = || {
            let mut frame = event_json(self.event_type, self.object.json());
            frame.push(b'\n');
            Bytes::from(frame)
        };
        match &self.frames {
            Some(frames) => frames.json.get_or_init(build).clone(),
            None => build(),
        }
    }

    /// The event's protobuf watch frame ([`protobuf::watch_frame`] around the enveloped object),
    /// typed by the object's own `apiVersion`/`kind` or else the given ones. Built once per
    /// shared event. `None` when the object has no protobuf form.
    pub fn protobuf_frame(&self, api_version: &str, kind: &str) -> Option<Bytes> {
        let build = || {
            let (api_version, kind) = self.object.type_meta(api_version, kind)?;
            let message = self.object.protobuf(api_version, kind)?;
            let body = protobuf::envelope(api_version, kind, message);
            Some(protobuf::watch_frame(self.event_type.as_str(), &body))
        };
        match &self.frames {
            Some(frames) => frames.protobuf.get_or_init(build).clone(),
            None => build(),
        }
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
