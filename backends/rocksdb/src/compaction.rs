//! Compaction: dropping history at and below a revision, in small batches, outside the writer.
//!
//! `compact(C)` first persists (synced) and publishes `compacted = C`, so from then on no read or
//! watch asks for history at or below `C`. Then it walks the log from its first entry up to `C`.
//! For each entry at revision `r`: the version it superseded (`prev_rev`) is deleted from `history`
//! (a newer version at or below `C` exists now), a deletion's own tombstone is deleted too, and the
//! log entry goes. What remains in `history` for revisions at or below `C` is exactly the latest
//! version of every live key, which lists above `C` still need. Because each batch deletes its log
//! entries, the walk is idempotent and resumes after a crash ([`purge`] runs at open).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use apiary_storage::{Error, EventKind, Result, Revision};
use rocksdb::{WriteBatch, WriteOptions};

use crate::backend::{blocking, bounded, internal, Shared};
use crate::encoding::*;

/// Log entries (and their history) deleted per write.
const BATCH: usize = 1000;

pub(crate) async fn compact(shared: &Arc<Shared>, revision: Revision) -> Result<()> {
    let _one_at_a_time = shared.compaction_lock.lock().await;
    let current = shared.current.load(Ordering::SeqCst);
    if revision > current {
        return Err(Error::FutureRevision {
            requested: revision,
            current,
        });
    }
    if revision > shared.compacted.load(Ordering::SeqCst) {
        let db_shared = shared.clone();
        blocking(move || {
            let mut opts = WriteOptions::default();
            opts.set_sync(true);
            let mut wb = WriteBatch::default();
            wb.put_cf(db_shared.cf(CF_META)?, META_COMPACTED, be(revision));
            db_shared.db.write_opt(wb, &opts).map_err(internal)
        })
        .await?;
        shared.compacted.store(revision, Ordering::SeqCst);
    }
    purge(shared).await
}

/// Deletes the log and superseded history at and below the compacted revision, one batch per
/// blocking task so that other work interleaves.
pub(crate) async fn purge(shared: &Arc<Shared>) -> Result<()> {
    loop {
        let db_shared = shared.clone();
        let done = blocking(move || purge_batch(&db_shared)).await?;
        if done {
            return Ok(());
        }
        tokio::task::yield_now().await;
    }
}

/// One batch of [`purge`]; returns whether nothing at or below the compacted revision remains.
fn purge_batch(shared: &Shared) -> Result<bool> {
    let compacted = shared.compacted.load(Ordering::SeqCst);
    if compacted <= 0 {
        return Ok(true);
    }
    let (log, hist) = (shared.cf(CF_LOG)?, shared.cf(CF_HISTORY)?);
    let mut it = shared
        .db
        .raw_iterator_cf_opt(log, bounded(&be(0), Some(be(compacted + 1).to_vec())));
    it.seek_to_first();
    let mut wb = WriteBatch::default();
    let mut n = 0;
    while let (Some(raw_rev), Some(raw)) = (it.key(), it.value()) {
        if n == BATCH {
            break;
        }
        let rev = decode_meta(Some(raw_rev))?;
        let entry = decode_log(raw)?;
        if entry.prev_rev != 0 {
            wb.delete_cf(hist, history_key(&entry.key, entry.prev_rev));
        }
        if entry.kind == EventKind::Delete {
            wb.delete_cf(hist, history_key(&entry.key, rev));
        }
        wb.delete_cf(log, raw_rev);
        n += 1;
        it.next();
    }
    it.status().map_err(internal)?;
    drop(it);
    if n > 0 {
        shared.db.write(wb).map_err(internal)?;
    }
    Ok(n < BATCH)
}

/// Keeps the latest `keep_revisions` revisions, compacting every `compaction_interval`.
pub(crate) async fn background(shared: Arc<Shared>) {
    let mut ticks = tokio::time::interval(shared.opts.compaction_interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let target = shared.current.load(Ordering::SeqCst) - shared.opts.keep_revisions;
        if target > shared.compacted.load(Ordering::SeqCst) {
            match compact(&shared, target).await {
                Ok(()) => tracing::debug!(revision = target, "rocksdb compacted"),
                Err(err) => tracing::warn!(revision = target, "rocksdb compaction failed: {err}"),
            }
        }
    }
}
