//! Watches: replay from the log, then follow the in-process broadcast of committed batches.
//!
//! The watch subscribes to the broadcast *before* reading the current revision `end`. Every batch
//! above `end` was committed (and its revision stored) after that read, so it was published after
//! the subscription and arrives through the broadcast; every batch at or below `end` is in the log.
//! The stream replays the log from `after` to `end` in chunks, then takes broadcast events above
//! the last revision it delivered: no gap and no duplicate at the switch-over.
//!
//! **Progress.** The cursor means "every change at or below it was delivered". A progress stream
//! yields `Progress(cursor)` after each broadcast batch (its prefix's events first), and on a
//! request (the store's request counter moved) once its replay is done and it has taken every
//! batch already broadcast.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use apiary_storage::{Error, Event, EventKind, ProgressStream, Result, Revision, WatchItem};
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};

use crate::backend::{blocking, bounded, internal, Batch, Shared};
use crate::encoding::*;

/// Log entries read per replay step.
const CHUNK: usize = 512;

struct State {
    /// Dropped once the replay is done.
    shared: Option<Arc<Shared>>,
    prefix: Vec<u8>,
    /// Every change at or below this revision was delivered (or was outside the prefix).
    cursor: Revision,
    /// The replay runs up to here; later changes come from `rx`.
    end: Revision,
    /// The highest revision known to be committed; progress never exceeds it (a watch from a
    /// future revision reports none until the store reaches it).
    known: Revision,
    ready: VecDeque<WatchItem>,
    rx: broadcast::Receiver<Batch>,
    /// The store's progress requests; `None` once the store is gone.
    requests: Option<tokio::sync::watch::Receiver<u64>>,
    done: bool,
}

pub(crate) fn watch(
    shared: Arc<Shared>,
    events: &broadcast::Sender<Batch>,
    requests: &tokio::sync::watch::Sender<u64>,
    prefix: &[u8],
    after: Revision,
) -> Result<ProgressStream> {
    if after < 0 {
        return Err(Error::InvalidArgument(format!("negative revision {after}")));
    }
    let rx = events.subscribe();
    let requests = requests.subscribe();
    let end = shared.current.load(Ordering::SeqCst);
    let compacted = shared.compacted.load(Ordering::SeqCst);
    if after != 0 && after <= compacted {
        return Err(Error::Compacted {
            requested: after,
            compacted,
        });
    }
    let cursor = if after == 0 { end } else { after };
    let state = State {
        shared: Some(shared),
        prefix: prefix.to_vec(),
        cursor,
        end,
        known: end,
        ready: VecDeque::new(),
        rx,
        requests: Some(requests),
        done: false,
    };
    Ok(Box::pin(futures::stream::unfold(state, next)))
}

async fn next(mut st: State) -> Option<(Result<WatchItem>, State)> {
    loop {
        if let Some(item) = st.ready.pop_front() {
            return Some((Ok(item), st));
        }
        if st.done {
            return None;
        }
        // A request made during the replay stays pending in `requests` until the replay is done.
        let failed = if st.cursor < st.end {
            replay_step(&mut st).await.err()
        } else {
            st.shared = None;
            match st.requests.as_mut() {
                Some(requests) => tokio::select! {
                    biased;
                    changed = requests.changed() => match changed {
                        Ok(()) => {
                            drop(requests.borrow_and_update());
                            st.answer().err()
                        }
                        Err(_) => {
                            st.requests = None;
                            None
                        }
                    },
                    received = st.rx.recv() => st.take(received).err(),
                },
                None => {
                    let received = st.rx.recv().await;
                    st.take(received).err()
                }
            }
        };
        if let Some(err) = failed {
            st.done = true;
            return Some((Err(err), st));
        }
    }
}

impl State {
    /// Takes one broadcast result: the batch's events under the prefix, then the progress.
    fn take(&mut self, received: Result<Batch, RecvError>) -> Result<()> {
        match received {
            Ok(batch) => {
                self.apply(&batch);
                self.progress();
                Ok(())
            }
            Err(RecvError::Lagged(_)) => Err(Error::WatchLagged),
            Err(RecvError::Closed) => Err(closed()),
        }
    }

    fn apply(&mut self, batch: &Batch) {
        for event in batch.iter() {
            self.known = self.known.max(event.revision);
            if event.revision <= self.cursor {
                continue;
            }
            self.cursor = event.revision;
            if event.key.starts_with(&self.prefix) {
                self.ready.push_back(WatchItem::Event(event.clone()));
            }
        }
    }

    /// Queues `Progress(cursor)` when the store has reached the cursor.
    fn progress(&mut self) {
        if self.cursor <= self.known {
            self.ready.push_back(WatchItem::Progress(self.cursor));
        }
    }

    /// Answers a progress request: takes every batch broadcast so far, then reports the cursor.
    fn answer(&mut self) -> Result<()> {
        loop {
            match self.rx.try_recv() {
                Ok(batch) => self.apply(&batch),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Lagged(_)) => return Err(Error::WatchLagged),
                Err(TryRecvError::Closed) => return Err(closed()),
            }
        }
        self.progress();
        Ok(())
    }
}

fn closed() -> Error {
    Error::Unavailable("the rocksdb store was closed".into())
}

async fn replay_step(st: &mut State) -> Result<()> {
    let shared = st
        .shared
        .clone()
        .ok_or_else(|| Error::Internal("watch replay without a store".into()))?;
    let (prefix, cursor, end) = (st.prefix.clone(), st.cursor, st.end);
    let (events, reached) = blocking(move || read_log(&shared, &prefix, cursor, end)).await?;
    st.ready.extend(events.into_iter().map(WatchItem::Event));
    st.cursor = reached;
    Ok(())
}

/// Reads up to [`CHUNK`] log entries in `(cursor, end]`; returns the events under `prefix` and the
/// revision up to which the log was read.
fn read_log(
    shared: &Shared,
    prefix: &[u8],
    cursor: Revision,
    end: Revision,
) -> Result<(Vec<Event>, Revision)> {
    let snap = shared.db.snapshot();
    // Compaction raises `compacted` before deleting anything, so if it is still at or below the
    // cursor now, the snapshot holds every entry above the cursor.
    let compacted = shared.compacted.load(Ordering::SeqCst);
    if compacted > cursor {
        return Err(Error::Compacted {
            requested: cursor,
            compacted,
        });
    }
    let hist = shared.cf(CF_HISTORY)?;
    let value_at = |key: &[u8], rev: Revision| -> Result<bytes::Bytes> {
        let raw = snap
            .get_pinned_cf(hist, history_key(key, rev))
            .map_err(internal)?;
        let version = decode_version(raw.as_deref().ok_or_else(|| corrupt("missing history"))?)?;
        version
            .value
            .ok_or_else(|| corrupt("history (a tombstone where a value belongs)"))
    };
    let lower = be(cursor + 1);
    let mut it = snap.raw_iterator_cf_opt(
        shared.cf(CF_LOG)?,
        bounded(&lower, Some(be(end + 1).to_vec())),
    );
    it.seek(lower);
    let (mut events, mut read, mut reached) = (Vec::new(), 0, end);
    while let (Some(raw_rev), Some(raw)) = (it.key(), it.value()) {
        if read == CHUNK {
            break;
        }
        let revision = decode_meta(Some(raw_rev))?;
        let entry = decode_log(raw)?;
        read += 1;
        reached = revision;
        it.next();
        if !entry.key.starts_with(prefix) {
            continue;
        }
        let (value, prev_value) = match entry.kind {
            EventKind::Create => (value_at(&entry.key, revision)?, None),
            EventKind::Update => (
                value_at(&entry.key, revision)?,
                Some(value_at(&entry.key, entry.prev_rev)?),
            ),
            EventKind::Delete => {
                let prev = value_at(&entry.key, entry.prev_rev)?;
                (prev.clone(), Some(prev))
            }
        };
        events.push(Event {
            kind: entry.kind,
            key: entry.key,
            revision,
            value,
            prev_value,
            create_revision: entry.create_rev,
        });
    }
    it.status().map_err(internal)?;
    if read < CHUNK {
        reached = end;
    }
    Ok((events, reached))
}
