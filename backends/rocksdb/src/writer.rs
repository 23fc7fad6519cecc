//! The single writer with group commit.
//!
//! Callers queue writes on a bounded channel. The writer thread takes the first queued write,
//! drains up to `max_batch - 1` more without waiting, and commits them together: it checks every
//! precondition against the current state (including the effect of earlier writes in the same
//! batch), numbers the writes that pass with consecutive revisions, puts them and the new current
//! revision into one `WriteBatch`, writes it (WAL synced when `sync` is on), stores the new current
//! revision in memory, publishes the events to watchers, and only then answers the callers.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;

use apiary_storage::{Error, Event, EventKind, KeyValue, Result, Revision, WriteOp};
use rocksdb::{WriteBatch, WriteOptions};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::backend::{internal, Batch, Shared};
use crate::encoding::*;

/// The outcome of a write: its revision and, for a delete, the key as it was.
type Outcome = Result<(Revision, Option<KeyValue>)>;

struct Request {
    op: WriteOp,
    reply: oneshot::Sender<Outcome>,
}

/// The handle to the writer thread. Dropping it closes the queue and waits for the thread.
pub(crate) struct Writer {
    queue: Option<mpsc::Sender<Request>>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    pub fn start(shared: Arc<Shared>, events: broadcast::Sender<Batch>) -> Result<Self> {
        let (queue, rx) = mpsc::channel(shared.opts.max_batch * 4);
        let thread = std::thread::Builder::new()
            .name("apiary-rocksdb-writer".into())
            .spawn(move || run(&shared, rx, &events))
            .map_err(|e| Error::Internal(format!("cannot start the rocksdb writer: {e}")))?;
        Ok(Self {
            queue: Some(queue),
            thread: Some(thread),
        })
    }

    pub async fn submit(&self, op: WriteOp) -> Outcome {
        let closed = || Error::Unavailable("the rocksdb writer has stopped".into());
        let queue = self.queue.as_ref().ok_or_else(closed)?;
        let (reply, answer) = oneshot::channel();
        queue
            .send(Request { op, reply })
            .await
            .map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.queue.take();
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!("the rocksdb writer thread panicked");
            }
        }
    }
}

fn run(shared: &Shared, mut rx: mpsc::Receiver<Request>, events: &broadcast::Sender<Batch>) {
    let max = shared.opts.max_batch;
    let mut batch = Vec::with_capacity(max);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < max {
            match rx.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        commit(shared, &mut batch, events);
    }
}

/// What the batch has done to a key so far: its state after the batch's earlier writes.
type Overlay = HashMap<Vec<u8>, Option<Current>>;

fn commit(shared: &Shared, batch: &mut Vec<Request>, events: &broadcast::Sender<Batch>) {
    let mut outcomes: Vec<Outcome> = Vec::with_capacity(batch.len());
    let mut published = Vec::new();
    let mut earliest = i64::MAX;
    let prepared = prepare(shared, batch, &mut outcomes, &mut published, &mut earliest);
    let result = prepared.and_then(|(wb, last)| {
        if published.is_empty() {
            return Ok(None);
        }
        let mut opts = WriteOptions::default();
        opts.set_sync(shared.opts.sync);
        shared
            .db
            .write_opt(wb, &opts)
            .map_err(|e| Error::Unavailable(format!("rocksdb write failed: {e}")))?;
        Ok(Some(last))
    });
    match result {
        Ok(Some(last)) => {
            shared.current.store(last, Ordering::SeqCst);
            // After the commit, so a sweep that finds no due entry cannot hide this one.
            shared.next_expiry.fetch_min(earliest, Ordering::SeqCst);
            // No receivers is fine: nobody watches.
            let _ = events.send(Arc::new(published));
        }
        Ok(None) => {}
        Err(err) => {
            // Nothing was written: every write that passed its check fails with the cause.
            for outcome in &mut outcomes {
                if outcome.is_ok() {
                    *outcome = Err(err.clone());
                }
            }
            outcomes.resize_with(batch.len(), || Err(err.clone()));
        }
    }
    for (request, outcome) in batch.drain(..).zip(outcomes) {
        let _ = request.reply.send(outcome);
    }
}

/// Checks the batch's preconditions and builds its `WriteBatch`; returns it with the last revision.
fn prepare(
    shared: &Shared,
    batch: &[Request],
    outcomes: &mut Vec<Outcome>,
    published: &mut Vec<Event>,
    earliest: &mut i64,
) -> Result<(WriteBatch, Revision)> {
    let (kv_cf, hist_cf, log_cf, meta_cf, expiry_cf) = (
        shared.cf(CF_KV)?,
        shared.cf(CF_HISTORY)?,
        shared.cf(CF_LOG)?,
        shared.cf(CF_META)?,
        shared.cf(CF_EXPIRY)?,
    );
    let mut overlay = Overlay::new();
    let mut wb = WriteBatch::default();
    let mut rev = shared.current.load(Ordering::SeqCst);
    for Request { op, .. } in batch {
        let key = op.key();
        let current = match overlay.get(key) {
            Some(state) => state.clone(),
            None => shared
                .db
                .get_cf(kv_cf, key)
                .map_err(internal)?
                .map(|raw| decode_current(&raw))
                .transpose()?,
        };
        if let Err(err) = check(op, current.as_ref()) {
            outcomes.push(Err(err));
            continue;
        }
        rev += 1;
        let (kind, value, prev) = match op {
            WriteOp::Create { value, .. } => (EventKind::Create, value.clone(), None),
            WriteOp::Update { value, .. } => (EventKind::Update, value.clone(), current),
            WriteOp::Delete { .. } => {
                let prev = current
                    .ok_or_else(|| Error::Internal("delete without a current value".into()))?;
                (EventKind::Delete, prev.value.clone(), Some(prev))
            }
        };
        let create_rev = prev.as_ref().map_or(rev, |p| p.create_rev);
        let entry = LogEntry {
            kind,
            create_rev,
            prev_rev: prev.as_ref().map_or(0, |p| p.mod_rev),
            key: key.to_vec(),
        };
        wb.put_cf(log_cf, be(rev), encode_log(&entry));
        // An expiry names this write's revision; a later write or delete of the key makes it stale.
        if let WriteOp::Create { ttl: Some(ttl), .. } | WriteOp::Update { ttl: Some(ttl), .. } = op
        {
            let deadline = crate::expiry::deadline_ms(*ttl);
            *earliest = (*earliest).min(deadline);
            wb.put_cf(expiry_cf, crate::expiry::index_key(deadline, key), be(rev));
        }
        if kind == EventKind::Delete {
            wb.delete_cf(kv_cf, key);
            wb.put_cf(
                hist_cf,
                history_key(key, rev),
                encode_version(create_rev, None),
            );
            overlay.insert(key.to_vec(), None);
        } else {
            wb.put_cf(kv_cf, key, encode_current(create_rev, rev, &value));
            wb.put_cf(
                hist_cf,
                history_key(key, rev),
                encode_version(create_rev, Some(&value)),
            );
            overlay.insert(
                key.to_vec(),
                Some(Current {
                    create_rev,
                    mod_rev: rev,
                    value: value.clone(),
                }),
            );
        }
        let prior = match (kind, &prev) {
            (EventKind::Delete, Some(p)) => Some(KeyValue {
                stale: false,
                key: key.to_vec(),
                value: p.value.clone(),
                create_revision: p.create_rev,
                mod_revision: p.mod_rev,
            }),
            _ => None,
        };
        outcomes.push(Ok((rev, prior)));
        published.push(Event {
            kind,
            key: key.to_vec(),
            revision: rev,
            value,
            prev_value: prev.map(|p| p.value),
            create_revision: create_rev,
        });
    }
    wb.put_cf(meta_cf, META_CURRENT, be(rev));
    Ok((wb, rev))
}

/// The precondition of `op` against the key's current state.
fn check(op: &WriteOp, current: Option<&Current>) -> Result<()> {
    let key = || op.key().to_vec();
    match (op, current) {
        (WriteOp::Create { .. }, Some(_)) => Err(Error::AlreadyExists { key: key() }),
        (WriteOp::Create { .. }, None) => Ok(()),
        (WriteOp::Update { .. } | WriteOp::Delete { .. }, None) => {
            Err(Error::NotFound { key: key() })
        }
        (WriteOp::Update { expected, .. }, Some(cur))
        | (
            WriteOp::Delete {
                expected: Some(expected),
                ..
            },
            Some(cur),
        ) if *expected != cur.mod_rev => Err(Error::Conflict {
            key: key(),
            expected: *expected,
            actual: cur.mod_rev,
        }),
        (WriteOp::Update { .. } | WriteOp::Delete { .. }, Some(_)) => Ok(()),
    }
}
