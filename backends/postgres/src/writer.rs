//! The group-commit writer: one queue per store; each transaction applies every write queued at
//! the time (up to `max_batch`) with one call of `apiary_write`.
//!
//! Up to `write_pipeline` groups (default 1) are in flight at once; meanwhile the next group fills
//! up. Groups serialise inside PostgreSQL on the revision row (see the crate documentation), so
//! with 2 the second group waits there, ready to run the moment the first commits, instead of a
//! round trip away — worth it only against a distant database.

use std::sync::Arc;
use std::time::Duration;

use apiary_storage::{Error, KeyValue, Result, Revision, WriteOp};
use bytes::Bytes;
use sqlx::postgres::PgRow;
use sqlx::Row;
use tokio::sync::{mpsc, oneshot, Semaphore};

use crate::sql;
use crate::store::{decode_err, Inner};

/// A successful write: its revision and, for a delete, the key as it was.
pub(crate) struct Outcome {
    pub revision: Revision,
    pub prior: Option<KeyValue>,
}

/// A queued write and where its answer goes.
pub(crate) struct Request {
    op: WriteOp,
    reply: oneshot::Sender<Result<Outcome>>,
}

/// Starts the writer task of a store; it ends when the returned sender is dropped, after finishing
/// what is queued.
pub(crate) fn start(inner: Arc<Inner>) -> mpsc::Sender<Request> {
    let (tx, rx) = mpsc::channel(inner.opts.max_batch.saturating_mul(4).max(16));
    tokio::spawn(run(inner, rx));
    tx
}

/// Queues a write and waits for its outcome.
pub(crate) async fn submit(writes: &mpsc::Sender<Request>, op: WriteOp) -> Result<Outcome> {
    let (reply, answer) = oneshot::channel();
    writes
        .send(Request { op, reply })
        .await
        .map_err(|_| Error::Unavailable("the postgres store was closed".into()))?;
    answer
        .await
        .map_err(|_| Error::Internal("postgres: the writer dropped a write".into()))?
}

async fn run(inner: Arc<Inner>, mut queue: mpsc::Receiver<Request>) {
    let slots = Arc::new(Semaphore::new(inner.opts.write_pipeline));
    loop {
        // Wait for a free slot first: the group fills up meanwhile.
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let Some(first) = queue.recv().await else {
            return;
        };
        let mut group = vec![first];
        while group.len() < inner.opts.max_batch {
            match queue.try_recv() {
                Ok(request) => group.push(request),
                Err(_) => break,
            }
        }
        let inner = inner.clone();
        tokio::spawn(async move {
            commit(&inner, group).await;
            drop(slot);
        });
    }
}

/// Applies a group in one transaction and answers every caller.
async fn commit(inner: &Inner, group: Vec<Request>) {
    let n = group.len();
    let (mut ops, mut keys, mut values, mut expected, mut ttls) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for request in &group {
        let (op, value, exp, ttl): (i16, &[u8], Option<Revision>, Option<Duration>) =
            match &request.op {
                WriteOp::Create { value, ttl, .. } => (1, value, None, *ttl),
                WriteOp::Update {
                    value,
                    expected,
                    ttl,
                    ..
                } => (2, value, Some(*expected), *ttl),
                WriteOp::Delete { expected, .. } => (3, &[], *expected, None),
            };
        ops.push(op);
        keys.push(request.op.key());
        values.push(value);
        expected.push(exp);
        ttls.push(ttl.map(|ttl| i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX)));
    }
    let rows = inner
        .run(
            sqlx::query(sql::WRITE)
                .bind(ops)
                .bind(keys)
                .bind(values)
                .bind(expected)
                .bind(ttls)
                .fetch_all(&inner.pool),
        )
        .await;
    if let Err(Error::Internal(_) | Error::InvalidArgument(_)) = &rows {
        if n > 1 {
            // The statement failed (for example a key too long for the index) and rolled the
            // whole group back: nothing was written. Apply each write alone, so only the one at
            // fault fails. (Connection trouble is Unavailable or Timeout: never retried here,
            // since the group may have committed.)
            for request in group {
                Box::pin(commit(inner, vec![request])).await;
            }
            return;
        }
    }
    let rows = rows.and_then(|rows| {
        if rows.len() == n {
            Ok(rows)
        } else {
            Err(Error::Internal(format!(
                "postgres: {} answers to {n} writes",
                rows.len()
            )))
        }
    });
    let rows = match rows {
        Ok(rows) => rows,
        Err(err) => {
            for request in group {
                let _ = request.reply.send(Err(err.clone()));
            }
            return;
        }
    };
    let outcomes: Vec<Result<Outcome>> = group
        .iter()
        .zip(&rows)
        .enumerate()
        .map(|(i, (request, row))| {
            let index: i32 = row.try_get(0).map_err(decode_err)?;
            if index as usize != i + 1 {
                return Err(Error::Internal(format!(
                    "postgres: answer {index} in place {}",
                    i + 1
                )));
            }
            outcome(&request.op, row)
        })
        .collect();
    // Wake the watch tailer before answering, so a caller's next watch finds it moving.
    let newest = outcomes
        .iter()
        .filter_map(|o| o.as_ref().ok().map(|o| o.revision))
        .max();
    if let Some(newest) = newest {
        announce(inner, newest);
    }
    for (request, outcome) in group.into_iter().zip(outcomes) {
        let _ = request.reply.send(outcome);
    }
}

/// Tells the watch tailer that `revision` is committed.
pub(crate) fn announce(inner: &Inner, revision: Revision) {
    inner.committed.send_if_modified(|known| {
        let newer = revision > *known;
        if newer {
            *known = revision;
        }
        newer
    });
}

/// Reads one answer row of `apiary_write`.
fn outcome(op: &WriteOp, row: &PgRow) -> Result<Outcome> {
    let status: i16 = row.try_get(1).map_err(decode_err)?;
    let revision: Option<i64> = row.try_get(2).map_err(decode_err)?;
    let key = op.key().to_vec();
    match status {
        0 => {
            let revision = revision
                .ok_or_else(|| Error::Internal("postgres: a write without a revision".into()))?;
            let prior = match op {
                WriteOp::Delete { .. } => Some(KeyValue {
                    stale: false,
                    key,
                    value: Bytes::from(
                        row.try_get::<Option<Vec<u8>>, _>(5)
                            .map_err(decode_err)?
                            .ok_or_else(|| {
                                Error::Internal("postgres: the deleted value is missing".into())
                            })?,
                    ),
                    create_revision: row.try_get(3).map_err(decode_err)?,
                    mod_revision: row.try_get(4).map_err(decode_err)?,
                }),
                _ => None,
            };
            Ok(Outcome { revision, prior })
        }
        1 => Err(Error::AlreadyExists { key }),
        2 => Err(Error::NotFound { key }),
        3 => Err(Error::Conflict {
            key,
            expected: match op {
                WriteOp::Update { expected, .. } => *expected,
                WriteOp::Delete { expected, .. } => expected.unwrap_or(0),
                WriteOp::Create { .. } => 0,
            },
            actual: row.try_get(4).map_err(decode_err)?,
        }),
        other => Err(Error::Internal(format!(
            "postgres: unknown write status {other}"
        ))),
    }
}
