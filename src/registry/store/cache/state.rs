//! The cached state of one resource: its objects, the ring of recent events and the revision
//! they are current at, behind one lock that is only held for pointer copies.

use std::collections::{BTreeMap, VecDeque};
use std::ops::Bound;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use apiary_storage::EventKind;
use tokio::sync::{broadcast, watch};
use tokio::time::Instant;

use super::dispatch::Dispatch;
use super::event::{CacheEvent, CacheMessage};
use super::index::Index;
use super::WatchObject;
use crate::api::status::ApiError;
use crate::registry::selectors::Selection;

/// One cached object and its storage key.
pub(crate) type Entry = (Arc<[u8]>, Arc<WatchObject>);

/// The life of a cache (upstream's `cacher` ready states).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Nothing read yet.
    NotStarted,
    /// The initial list or the start of the storage watch is running.
    Initializing,
    /// Fed by the storage watch: reads and watches are served from it.
    Ready,
    /// The storage watch failed; the next use starts again.
    Failed,
}

/// What waiters follow: the phase and the cache revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Progress {
    pub phase: Phase,
    pub revision: i64,
}

/// How much of the recent past the ring keeps: at most `events` events, and no more stored
/// bytes than `bytes` (but always the newest event).
#[derive(Debug, Clone, Copy)]
pub(crate) struct HistoryCapacity {
    pub events: usize,
    pub bytes: usize,
}

pub(crate) struct State {
    pub phase: Phase,
    /// Counts starts, so a superseded feed stops touching the state.
    pub generation: u64,
    /// The current objects by storage key (a namespace is a key range).
    pub objects: BTreeMap<Arc<[u8]>, Arc<WatchObject>>,
    /// The objects' keys by the values of their indexed fields.
    pub index: Index,
    /// Recent events, oldest first.
    pub history: VecDeque<Arc<CacheEvent>>,
    /// The stored bytes of the events in `history`.
    pub history_bytes: usize,
    /// The revision of the initial list.
    pub list_revision: i64,
    /// Whether an event left the ring since the initial list.
    pub evicted: bool,
    /// Every change at or below this revision is applied.
    pub revision: i64,
    /// The channels to the watchers, while the cache is fed.
    pub dispatch: Option<Dispatch>,
    /// Why the last start or feed failed.
    pub last_error: Option<ApiError>,
}

impl State {
    fn new() -> Self {
        Self {
            phase: Phase::NotStarted,
            generation: 0,
            objects: BTreeMap::new(),
            index: Index::default(),
            history: VecDeque::new(),
            history_bytes: 0,
            list_revision: 0,
            evicted: false,
            revision: 0,
            dispatch: None,
            last_error: None,
        }
    }

    /// Takes the initial list at `revision` (and its index) and opens the watchers' channels,
    /// each holding at most `backlog` events.
    pub fn install(
        &mut self,
        objects: BTreeMap<Arc<[u8]>, Arc<WatchObject>>,
        index: Index,
        revision: i64,
        backlog: usize,
    ) {
        self.dispatch = Some(Dispatch::new(backlog, index.field_count()));
        self.objects = objects;
        self.index = index;
        self.history.clear();
        self.history_bytes = 0;
        self.list_revision = revision;
        self.evicted = false;
        self.revision = revision;
        self.last_error = None;
        self.phase = Phase::Ready;
    }

    /// The oldest revision a watch may resume from: upstream's `oldest - 1`, where `oldest` is
    /// the first event in the ring, or the initial list's revision + 1 while nothing was evicted.
    pub fn window_floor(&self) -> i64 {
        match self.history.front() {
            Some(front) if self.evicted => front.revision - 1,
            _ => self.list_revision,
        }
    }

    /// The objects whose keys start with `prefix`, in key order.
    pub fn range(&self, prefix: &[u8]) -> Vec<Entry> {
        let from: (Bound<&[u8]>, Bound<&[u8]>) = (Bound::Included(prefix), Bound::Unbounded);
        self.objects
            .range::<[u8], _>(from)
            .take_while(|(key, _)| key.starts_with(prefix))
            .map(|(key, obj)| (key.clone(), obj.clone()))
            .collect()
    }

    /// The objects under `prefix` that `selection` may select, in key order: through an index
    /// when the selection pins an indexed field (then `true`), else the whole range. The caller
    /// still applies the selection.
    pub fn candidates(&self, prefix: &[u8], selection: &Selection) -> (Vec<Entry>, bool) {
        let pinned = selection
            .indexed_term()
            .and_then(|(field, value)| Some((self.index.position(field)?, value)));
        let Some((position, value)) = pinned else {
            return (self.range(prefix), false);
        };
        let entries = self
            .index
            .keys(position, value, prefix)
            .into_iter()
            .filter_map(|key| {
                let obj = self.objects.get(&key[..])?.clone();
                Some((key, obj))
            })
            .collect();
        (entries, true)
    }

    /// A receiver of the events for a watcher with `selection`: the channel of the indexed
    /// value it pins, or the shared one. `None` when the cache is not fed.
    pub fn subscribe(
        &mut self,
        selection: &Selection,
    ) -> Option<broadcast::Receiver<CacheMessage>> {
        let trigger = selection
            .indexed_term()
            .and_then(|(field, value)| Some((self.index.position(field)?, value)));
        self.dispatch
            .as_mut()
            .map(|dispatch| dispatch.subscribe(trigger))
    }

    /// Applies one event to the objects, the index and the ring and sends it to the watchers.
    pub fn apply(&mut self, event: Arc<CacheEvent>, capacity: HistoryCapacity) {
        let (now, before) = if self.index.is_empty() {
            (None, None)
        } else {
            let now = match event.kind {
                EventKind::Delete => None,
                EventKind::Create | EventKind::Update => {
                    Some(self.index.values_of(event.object.value()))
                }
            };
            let before = self.index.set(&event.key, now.clone());
            (now, before)
        };
        match event.kind {
            EventKind::Create | EventKind::Update => {
                self.objects.insert(event.key.clone(), event.object.clone());
            }
            EventKind::Delete => {
                self.objects.remove(&event.key[..]);
            }
        }
        self.revision = self.revision.max(event.revision);
        self.history_bytes += event.stored_size;
        self.history.push_back(event.clone());
        while self.history.len() > capacity.events.max(1)
            || (self.history_bytes > capacity.bytes && self.history.len() > 1)
        {
            if let Some(evicted) = self.history.pop_front() {
                self.history_bytes -= evicted.stored_size;
                self.evicted = true;
            }
        }
        if let Some(dispatch) = &mut self.dispatch {
            dispatch.send(&event, now.as_ref(), before.as_ref());
        }
    }

    /// Ends the feed: every watcher gets `err`, the memory is released, reads go to storage.
    pub fn fail(&mut self, err: ApiError) {
        self.phase = Phase::Failed;
        if let Some(dispatch) = self.dispatch.take() {
            dispatch.fail(&err);
        }
        self.objects = BTreeMap::new();
        self.index = Index::default();
        self.history = VecDeque::new();
        self.history_bytes = 0;
        self.last_error = Some(err);
    }
}

/// The state shared by the cache, its feed task and the watchers.
pub(crate) struct Shared {
    state: Mutex<State>,
    progress: watch::Sender<Progress>,
    /// When bookmarks last asked storage for progress.
    last_request: Mutex<Option<Instant>>,
    /// The number of objects as last published; [`UNKNOWN_COUNT`] unless ready.
    object_count: AtomicU64,
}

/// [`Shared::object_count`]'s value while the cache is not ready.
const UNKNOWN_COUNT: u64 = u64::MAX;

impl Shared {
    pub fn new() -> Self {
        let (progress, _) = watch::channel(Progress {
            phase: Phase::NotStarted,
            revision: 0,
        });
        Self {
            state: Mutex::new(State::new()),
            progress,
            last_request: Mutex::new(None),
            object_count: AtomicU64::new(UNKNOWN_COUNT),
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Tells the waiters what `state` is now; called with the lock held, so they see changes in
    /// order.
    pub fn publish(&self, state: &State) {
        let count = match state.phase {
            Phase::Ready => state.objects.len() as u64,
            _ => UNKNOWN_COUNT,
        };
        self.object_count.store(count, Ordering::Relaxed);
        self.progress.send_replace(Progress {
            phase: state.phase,
            revision: state.revision,
        });
    }

    pub fn subscribe(&self) -> watch::Receiver<Progress> {
        self.progress.subscribe()
    }

    /// The number of objects last published, when the cache was ready then.
    pub fn object_count(&self) -> Option<u64> {
        let count = self.object_count.load(Ordering::Relaxed);
        (count != UNKNOWN_COUNT).then_some(count)
    }

    /// The phase and revision last published.
    pub fn current(&self) -> Progress {
        *self.progress.borrow()
    }

    /// Whether a bookmark should ask storage for progress now: at most once per `interval` for
    /// all the cache's watchers, so quiet resources' bookmarks move on.
    pub fn progress_request_due(&self, interval: Duration) -> bool {
        let mut last = self
            .last_request
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let now = Instant::now();
        if let Some(at) = *last {
            if now.duration_since(at) < interval {
                return false;
            }
        }
        *last = Some(now);
        true
    }

    /// The cache revision: every change at or below it has been sent to the watchers.
    pub fn revision(&self) -> i64 {
        self.lock().revision
    }
}
