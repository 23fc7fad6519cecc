//! The shared watch of one resource (upstream's cacher fan-out).
//!
//! One storage watch per resource, started lazily by the first API watcher, feeds every API watcher
//! of the resource:
//!
//! * each storage event is decoded **once** (resourceVersion injected) into an [`Arc`]-shared
//!   [`WatchObject`] whose JSON is serialised at most once, however many watchers send it;
//! * a ring of recent events serves watchers that start from a recent resourceVersion; an older
//!   one gets its own storage watch (410 Expired when that history is compacted);
//! * events reach watchers through a bounded broadcast: a watcher that falls more than
//!   `watcher_backlog` events behind is ended with an ERROR event (410 Expired) instead of slowing
//!   the others;
//! * per watcher: namespace and selector filtering with upstream's transitions (starts matching ->
//!   ADDED, stops matching -> DELETED with the previous state, keeps matching -> MODIFIED), synthetic
//!   ADDED events of the current state for resourceVersion "" and "0", `sendInitialEvents` with the
//!   `k8s.io/initial-events-end` BOOKMARK, periodic BOOKMARKs, and `timeoutSeconds`.
//!
//! A storage watch that fails (backend unavailable, lagged) ends every API watcher with an ERROR
//! event; the next API watcher starts a fresh storage watch.

mod hub;
mod watcher;

pub(crate) use hub::WatchHub;

use std::pin::Pin;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use futures::Stream;
use serde_json::Value;

use crate::catalog::key_order;

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
