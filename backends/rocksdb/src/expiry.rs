//! Expiry: the `expiry` index and its sweep.
//!
//! The writer puts `be(deadline_ms) key -> be(mod_rev)` into the `expiry` column family in the same
//! `WriteBatch` as every create or update with a TTL, so the index and the value commit together.
//! Deadlines are wall-clock milliseconds since the Unix epoch, so they survive a restart. A later
//! write or delete of the key does not touch the old entry; it becomes stale, because the sweep
//! deletes a key only if its mod revision still equals the entry's.
//!
//! Every [`RocksDbOptions::expiry_interval`](crate::RocksDbOptions::expiry_interval), once the
//! earliest known deadline (`Shared::next_expiry`, kept in memory, lowered by the writer after each
//! commit) has passed, the sweep takes up to [`SWEEP_BATCH`] due entries, submits a conditional delete for each through the
//! writer (ordinary deletes at new revisions: the log and watchers see them, and they join the
//! writers' group commits instead of blocking them), then removes the entries it settled. A full
//! batch is followed at once by the next one.
//!
//! The entries are removed outside the writer. That is safe unless a new write of the same key
//! gets the very same deadline millisecond while its old entry is being settled, which needs a
//! write with a TTL of about zero; such a write then does not expire.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use apiary_storage::{Error, Result, Revision, WriteOp};
use rocksdb::{WriteBatch, DB};

use crate::backend::{blocking, bounded, internal, RocksDbStorage, Shared};
use crate::encoding::*;

/// The most due entries one sweep settles.
pub(crate) const SWEEP_BATCH: usize = 128;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The deadline of a write made now with `ttl`, in milliseconds since the Unix epoch.
pub(crate) fn deadline_ms(ttl: Duration) -> i64 {
    now_ms().saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX))
}

/// The `expiry` key of `key` due at `deadline`.
pub(crate) fn index_key(deadline: i64, key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + key.len());
    out.extend_from_slice(&be(deadline));
    out.extend_from_slice(key);
    out
}

/// One due entry: its index key, the key it names and the revision that set it.
struct Due {
    index: Vec<u8>,
    key: Vec<u8>,
    revision: Revision,
}

/// Up to [`SWEEP_BATCH`] entries due at or before `now`, earliest first.
fn due(shared: &Shared, now: i64) -> Result<Vec<Due>> {
    let cf = shared.cf(CF_EXPIRY)?;
    let upper = be(now.saturating_add(1)).to_vec();
    let mut it = shared.db.raw_iterator_cf_opt(cf, bounded(&[], Some(upper)));
    it.seek_to_first();
    let mut out = Vec::new();
    while let (Some(index), Some(value)) = (it.key(), it.value()) {
        if out.len() == SWEEP_BATCH {
            break;
        }
        let key = index.get(8..).ok_or_else(|| corrupt("expiry"))?.to_vec();
        out.push(Due {
            index: index.to_vec(),
            key,
            revision: decode_meta(Some(value))?,
        });
        it.next();
    }
    it.status().map_err(internal)?;
    Ok(out)
}

/// One sweep: deletes the keys of up to [`SWEEP_BATCH`] due entries whose mod revision still
/// matches, and removes the settled entries. Returns how many entries it took.
pub(crate) async fn sweep_once(store: &RocksDbStorage) -> Result<usize> {
    let shared = store.shared().clone();
    let now = now_ms();
    let entries = blocking(move || due(&shared, now)).await?;
    let taken = entries.len();
    if taken == 0 {
        return Ok(0);
    }
    let deletes = entries.iter().map(|entry| {
        store.write(WriteOp::Delete {
            key: entry.key.clone(),
            expected: Some(entry.revision),
        })
    });
    let outcomes = futures::future::join_all(deletes).await;
    let mut settled = Vec::with_capacity(taken);
    let mut failure = None;
    for (entry, outcome) in entries.into_iter().zip(outcomes) {
        match outcome {
            // Deleted, or already deleted or rewritten: the entry is done either way.
            Ok(_) | Err(Error::NotFound { .. }) | Err(Error::Conflict { .. }) => {
                settled.push(entry.index)
            }
            // Kept for the next sweep.
            Err(err) => failure = Some(err),
        }
    }
    let shared = store.shared().clone();
    blocking(move || {
        let cf = shared.cf(CF_EXPIRY)?;
        let mut wb = WriteBatch::default();
        for index in &settled {
            wb.delete_cf(cf, index);
        }
        shared.db.write(wb).map_err(internal)
    })
    .await?;
    match failure {
        Some(err) => Err(err),
        None => Ok(taken),
    }
}

/// The deadline of the earliest `expiry` entry; `i64::MAX` when there is none.
pub(crate) fn first_deadline(db: &DB) -> Result<i64> {
    let cf = db
        .cf_handle(CF_EXPIRY)
        .ok_or_else(|| Error::Internal("rocksdb: column family expiry missing".into()))?;
    let mut it = db.raw_iterator_cf(cf);
    it.seek_to_first();
    let first = match it.key() {
        Some(index) => decode_meta(Some(index))?,
        None => i64::MAX,
    };
    it.status().map_err(internal)?;
    Ok(first)
}

/// Every `interval`, once `next` (the earliest deadline that may be due) has passed, sweeps until
/// nothing due remains; ends once the store is dropped. The store is held only while sweeping.
pub(crate) async fn background(
    store: Weak<RocksDbStorage>,
    next: Arc<AtomicI64>,
    interval: Duration,
) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if now_ms() < next.load(Ordering::SeqCst) {
            if store.strong_count() == 0 {
                return;
            }
            continue;
        }
        let Some(strong) = store.upgrade() else {
            return;
        };
        // Reset first: a write committed from now on lowers it again (the writer's `fetch_min`).
        next.store(i64::MAX, Ordering::SeqCst);
        let mut failed = false;
        loop {
            match sweep_once(&strong).await {
                Ok(n) if n == SWEEP_BATCH => tokio::task::yield_now().await,
                Ok(_) => break,
                Err(err) => {
                    tracing::warn!("rocksdb expiry sweep failed: {err}");
                    failed = true;
                    break;
                }
            }
        }
        let shared = strong.shared().clone();
        let first = if failed {
            Ok(0)
        } else {
            blocking(move || first_deadline(&shared.db)).await
        };
        match first {
            Ok(first) => next.fetch_min(first, Ordering::SeqCst),
            // Try again at the next tick.
            Err(_) => next.fetch_min(0, Ordering::SeqCst),
        };
        // Not held between sweeps, so dropping the last user handle closes the store.
        drop::<Arc<RocksDbStorage>>(strong);
    }
}
