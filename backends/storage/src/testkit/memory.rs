//! The in-memory reference store: [`MemoryStorage`].

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};
use tokio::sync::watch;

use crate::*;

/// Events a watcher may fall behind by before its stream ends with [`Error::WatchLagged`].
const WATCH_BUFFER: usize = 1024;
/// How often the expiry sweep runs.
const SWEEP_INTERVAL: Duration = Duration::from_millis(100);
/// The most keys one sweep deletes under the lock.
const SWEEP_BATCH: usize = 100;

/// A rule the store breaks on purpose, to prove the conformance suite catches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutant {
    /// A correct store.
    None,
    /// Updates ignore the expected revision.
    LostUpdate,
    /// A lagging watcher silently skips what it missed.
    SilentLag,
    /// Lists ignore the requested revision.
    ListIgnoresRevision,
    /// A progress request is answered with the revision it observed, before the events still
    /// queued for the stream.
    ProgressBeforeEvents,
    /// Progress is reported one revision beyond what the stream delivered.
    ProgressAhead,
    /// Keys written with a TTL never expire.
    NoExpiry,
    /// An update keeps the expiry of the write it replaced.
    ExpiryKeptOnUpdate,
}

#[derive(Default)]
struct State {
    revision: Revision,
    compacted: Revision,
    current: BTreeMap<Vec<u8>, KeyValue>,
    /// Every change after the compacted revision, in order.
    log: Vec<Event>,
    /// Keys with an expiry: the deadline and the mod revision of the write that set it.
    expiry: BTreeMap<Vec<u8>, (Instant, Revision)>,
}

/// The reference store: a correct, in-memory implementation of [`Storage`], for tests of code
/// above the storage trait (it passes the conformance suite like every backend). Compaction only
/// refuses reads below the compacted revision; history is kept.
pub struct MemoryStorage {
    state: Mutex<State>,
    events: broadcast::Sender<Event>,
    /// The store's revision at the last [`Storage::request_progress`]; every change wakes the
    /// progress streams.
    requests: watch::Sender<Revision>,
    mutant: Mutant,
}

impl MemoryStorage {
    /// An empty store at revision 1.
    pub fn new() -> Arc<Self> {
        Self::with(Mutant::None, WATCH_BUFFER)
    }

    /// A store that breaks `mutant`'s rule; a watcher falling more than `watch_buffer` events
    /// behind is ended with [`Error::WatchLagged`] (or, for [`Mutant::SilentLag`], skips them).
    pub fn with(mutant: Mutant, watch_buffer: usize) -> Arc<Self> {
        let (events, _) = broadcast::channel(watch_buffer);
        let state = Mutex::new(State {
            revision: 1,
            ..Default::default()
        });
        let (requests, _) = watch::channel(0);
        let store = Arc::new(Self {
            state,
            events,
            requests,
            mutant,
        });
        let weak = Arc::downgrade(&store);
        std::thread::Builder::new()
            .name("apiary-memory-expiry".into())
            .spawn(move || sweep_loop(weak))
            .expect("start the memory store's expiry sweep");
        store
    }

    /// Deletes up to [`SWEEP_BATCH`] keys whose deadline passed, as ordinary deletes, if their mod
    /// revision is still the one of the write that set the expiry. Returns how many due entries
    /// it took.
    fn sweep(&self, now: Instant) -> usize {
        let mut state = self.lock();
        let due: Vec<(Vec<u8>, Revision)> = state
            .expiry
            .iter()
            .filter(|(_, (deadline, _))| *deadline <= now)
            .take(SWEEP_BATCH)
            .map(|(key, (_, rev))| (key.clone(), *rev))
            .collect();
        let taken = due.len();
        for (key, rev) in due {
            state.expiry.remove(&key);
            let current = state.current.get(&key).map(|kv| kv.mod_revision);
            if current == Some(rev) {
                self.commit(&mut state, EventKind::Delete, &key, Bytes::new(), None);
            }
        }
        taken
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn commit(
        &self,
        state: &mut State,
        kind: EventKind,
        key: &[u8],
        value: Bytes,
        ttl: Option<Duration>,
    ) -> (Revision, Option<KeyValue>) {
        state.revision += 1;
        let rev = state.revision;
        let keep_expiry = self.mutant == Mutant::ExpiryKeptOnUpdate && kind == EventKind::Update;
        match ttl {
            Some(ttl) if self.mutant != Mutant::NoExpiry => {
                state
                    .expiry
                    .insert(key.to_vec(), (Instant::now() + ttl, rev));
            }
            _ if keep_expiry => {
                if let Some(entry) = state.expiry.get_mut(key) {
                    entry.1 = rev;
                }
            }
            _ => {
                state.expiry.remove(key);
            }
        }
        let prev = state.current.get(key).cloned();
        let create_revision = match (&prev, kind) {
            (Some(kv), EventKind::Update | EventKind::Delete) => kv.create_revision,
            _ => rev,
        };
        let event = Event {
            kind,
            key: key.to_vec(),
            revision: rev,
            value: if kind == EventKind::Delete {
                prev.as_ref().map(|kv| kv.value.clone()).unwrap_or_default()
            } else {
                value.clone()
            },
            prev_value: prev.as_ref().map(|kv| kv.value.clone()),
            create_revision,
        };
        if kind == EventKind::Delete {
            state.current.remove(key);
        } else {
            let kv = KeyValue {
                stale: false,
                key: key.to_vec(),
                value,
                create_revision,
                mod_revision: rev,
            };
            state.current.insert(key.to_vec(), kv);
        }
        state.log.push(event.clone());
        let _ = self.events.send(event);
        (rev, prev)
    }

    /// The keys under `prefix` as they were at `revision`, by undoing the later log entries.
    fn at(state: &State, prefix: &[u8], revision: Revision) -> BTreeMap<Vec<u8>, KeyValue> {
        let mut keys: BTreeMap<_, _> = state
            .current
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for e in state.log.iter().rev().take_while(|e| e.revision > revision) {
            if !e.key.starts_with(prefix) {
                continue;
            }
            match (&e.prev_value, e.kind) {
                (None, _) => {
                    keys.remove(&e.key);
                }
                (Some(prev), _) => {
                    let mod_revision = state
                        .log
                        .iter()
                        .rev()
                        .find(|p| p.key == e.key && p.revision < e.revision)
                        .map_or(0, |p| p.revision);
                    let kv = KeyValue {
                        stale: false,
                        key: e.key.clone(),
                        value: prev.clone(),
                        create_revision: e.create_revision,
                        mod_revision,
                    };
                    keys.insert(e.key.clone(), kv);
                }
            }
        }
        keys
    }
}

#[async_trait]
impl Storage for MemoryStorage {
    fn backend_name(&self) -> &'static str {
        "memory"
    }

    async fn get(&self, key: &[u8]) -> Result<GetResponse> {
        let state = self.lock();
        Ok(GetResponse {
            kv: state.current.get(key).cloned(),
            revision: state.revision,
        })
    }

    async fn list(&self, req: ListRequest) -> Result<ListResponse> {
        let state = self.lock();
        let revision = if req.revision == 0 {
            state.revision
        } else {
            req.revision
        };
        if req.revision != 0 && revision <= state.compacted {
            return Err(Error::Compacted {
                requested: revision,
                compacted: state.compacted,
            });
        }
        if revision > state.revision {
            return Err(Error::FutureRevision {
                requested: revision,
                current: state.revision,
            });
        }
        let read_at = if self.mutant == Mutant::ListIgnoresRevision {
            state.revision
        } else {
            revision
        };
        let start = req.start_key.unwrap_or_default();
        let mut kvs: Vec<_> = Self::at(&state, &req.prefix, read_at)
            .into_values()
            .filter(|kv| kv.key >= start)
            .collect();
        let total = kvs.len();
        let more = req.limit > 0 && total > req.limit;
        if more {
            kvs.truncate(req.limit);
        }
        Ok(ListResponse {
            remaining: req.count_remaining.then(|| total - kvs.len()),
            kvs,
            more,
            revision,
        })
    }

    async fn count(&self, prefix: &[u8]) -> Result<usize> {
        Ok(self
            .lock()
            .current
            .keys()
            .filter(|k| k.starts_with(prefix))
            .count())
    }

    async fn create_with_ttl(
        &self,
        key: &[u8],
        value: Bytes,
        ttl: Option<Duration>,
    ) -> Result<Revision> {
        let mut state = self.lock();
        if state.current.contains_key(key) {
            return Err(Error::AlreadyExists { key: key.to_vec() });
        }
        Ok(self
            .commit(&mut state, EventKind::Create, key, value, ttl)
            .0)
    }

    async fn update_with_ttl(
        &self,
        key: &[u8],
        value: Bytes,
        expected: Revision,
        ttl: Option<Duration>,
    ) -> Result<Revision> {
        let mut state = self.lock();
        let actual = state
            .current
            .get(key)
            .map(|kv| kv.mod_revision)
            .ok_or(Error::NotFound { key: key.to_vec() })?;
        if actual != expected && self.mutant != Mutant::LostUpdate {
            return Err(Error::Conflict {
                key: key.to_vec(),
                expected,
                actual,
            });
        }
        Ok(self
            .commit(&mut state, EventKind::Update, key, value, ttl)
            .0)
    }

    async fn delete(&self, key: &[u8], expected: Option<Revision>) -> Result<(Revision, KeyValue)> {
        let mut state = self.lock();
        let actual = state
            .current
            .get(key)
            .map(|kv| kv.mod_revision)
            .ok_or(Error::NotFound { key: key.to_vec() })?;
        if let Some(expected) = expected.filter(|e| *e != actual) {
            return Err(Error::Conflict {
                key: key.to_vec(),
                expected,
                actual,
            });
        }
        let (rev, prev) = self.commit(&mut state, EventKind::Delete, key, Bytes::new(), None);
        Ok((
            rev,
            prev.ok_or_else(|| Error::Internal("deleted nothing".into()))?,
        ))
    }

    async fn watch_progress(&self, prefix: &[u8], after: Revision) -> Result<ProgressStream> {
        let state = self.lock();
        if after != 0 && after <= state.compacted {
            return Err(Error::Compacted {
                requested: after,
                compacted: state.compacted,
            });
        }
        let floor = if after == 0 { state.revision } else { after };
        let pending: VecDeque<_> = state
            .log
            .iter()
            .filter(|e| e.revision > floor && e.key.starts_with(prefix))
            .cloned()
            .map(WatchItem::Event)
            .collect();
        // Subscribed under the lock: later commits reach `rx`, earlier ones are in `pending`.
        let live = Live {
            rx: self.events.subscribe(),
            requests: Some(self.requests.subscribe()),
            prefix: prefix.to_vec(),
            position: state.revision,
            floor,
            pending,
            done: false,
            mutant: self.mutant,
        };
        drop(state);
        Ok(Box::pin(futures::stream::unfold(live, Live::next)))
    }

    async fn request_progress(&self) -> Result<()> {
        let revision = self.lock().revision;
        self.requests.send_replace(revision);
        Ok(())
    }

    async fn current_revision(&self) -> Result<Revision> {
        Ok(self.lock().revision)
    }

    async fn compacted_revision(&self) -> Result<Revision> {
        Ok(self.lock().compacted)
    }

    async fn compact(&self, revision: Revision) -> Result<()> {
        let mut state = self.lock();
        if revision > state.revision {
            return Err(Error::FutureRevision {
                requested: revision,
                current: state.revision,
            });
        }
        if revision > state.compacted {
            state.compacted = revision;
            // The model keeps its log (it needs it to undo); compaction only refuses old reads.
        }
        Ok(())
    }
}

/// Sweeps `store` for expired keys until it is dropped.
fn sweep_loop(store: Weak<MemoryStorage>) {
    loop {
        std::thread::sleep(SWEEP_INTERVAL);
        let Some(store) = store.upgrade() else {
            return;
        };
        // Full batches: go again at once, releasing the lock in between.
        while store.sweep(Instant::now()) == SWEEP_BATCH {}
    }
}

/// A progress stream of the memory store after its replay.
struct Live {
    rx: broadcast::Receiver<Event>,
    /// `None` once the store is gone.
    requests: Option<watch::Receiver<Revision>>,
    prefix: Vec<u8>,
    /// Every change at or below this revision was taken from the log or the broadcast.
    position: Revision,
    /// The watch's start: nothing at or below it is yielded, and progress is never below it.
    floor: Revision,
    pending: VecDeque<WatchItem>,
    done: bool,
    mutant: Mutant,
}

impl Live {
    async fn next(mut self) -> Option<(Result<WatchItem>, Self)> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Some((Ok(item), self));
            }
            if self.done {
                return None;
            }
            let outcome = match self.requests.as_mut() {
                Some(requests) => tokio::select! {
                    biased;
                    changed = requests.changed() => match changed {
                        Ok(()) => {
                            let observed = *requests.borrow_and_update();
                            self.answer(observed)
                        }
                        Err(_) => {
                            self.requests = None;
                            Ok(())
                        }
                    },
                    received = self.rx.recv() => self.take(received),
                },
                None => {
                    let received = self.rx.recv().await;
                    self.take(received)
                }
            };
            if let Err(err) = outcome {
                self.done = true;
                return Some((Err(err), self));
            }
        }
    }

    /// Takes one broadcast result; `Err` ends the stream.
    fn take(&mut self, received: Result<Event, RecvError>) -> Result<()> {
        match received {
            Ok(event) => {
                self.apply(event);
                Ok(())
            }
            Err(RecvError::Lagged(_)) if self.mutant == Mutant::SilentLag => Ok(()),
            Err(RecvError::Lagged(_)) => Err(Error::WatchLagged),
            Err(RecvError::Closed) => {
                self.done = true;
                Ok(())
            }
        }
    }

    fn apply(&mut self, event: Event) {
        if event.revision <= self.position {
            return;
        }
        self.position = event.revision;
        if event.revision > self.floor && event.key.starts_with(&self.prefix) {
            self.pending.push_back(WatchItem::Event(event));
        }
    }

    /// Answers a progress request that observed revision `observed`: takes every change already
    /// broadcast (all of them up to `observed`), then reports the position.
    fn answer(&mut self, observed: Revision) -> Result<()> {
        if self.mutant == Mutant::ProgressBeforeEvents {
            self.pending
                .push_front(WatchItem::Progress(observed.max(self.floor)));
        }
        loop {
            match self.rx.try_recv() {
                Ok(event) => self.apply(event),
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
                Err(TryRecvError::Lagged(_)) if self.mutant == Mutant::SilentLag => {}
                Err(TryRecvError::Lagged(_)) => return Err(Error::WatchLagged),
            }
        }
        if self.mutant == Mutant::ProgressBeforeEvents {
            return Ok(());
        }
        let reported = if self.mutant == Mutant::ProgressAhead {
            self.position + 1
        } else {
            self.position
        };
        if self.position >= self.floor {
            self.pending.push_back(WatchItem::Progress(reported));
        }
        Ok(())
    }
}
