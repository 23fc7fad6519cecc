//! Expiry: the sweep of `apiary_expiry` (see `migrations/0002_expiry.sql`).
//!
//! A write with a TTL adds a row (its revision, key and deadline) in the same statement as the
//! write. Every [`PostgresOptions::expiry_interval`](crate::PostgresOptions::expiry_interval) the
//! sweep runs [`sql::EXPIRE`]: one transaction claims up to [`STEP`] due rows with
//! `FOR UPDATE SKIP LOCKED` (so replicas sweeping at once take different rows), deletes them, and
//! deletes their keys through `apiary_write` where the mod revision still matches, as ordinary
//! deletes: new revisions in commit order, `NOTIFY`, watchers see them. Deadlines use the
//! database's clock, shared by every replica. A full step is followed at once by the next.

use std::sync::Arc;

use apiary_storage::Result;
use sqlx::Row;

use crate::sql;
use crate::store::{decode_err, Inner};
use crate::writer::announce;

/// Entries claimed per transaction: small, so the write lock it takes is held briefly.
const STEP: i64 = 100;

/// One step; returns how many entries it claimed.
pub(crate) async fn sweep_once(inner: &Inner) -> Result<usize> {
    let rows = inner
        .run(sqlx::query(sql::EXPIRE).bind(STEP).fetch_all(&inner.pool))
        .await?;
    let mut newest = None;
    for row in &rows {
        let status: i16 = row.try_get(0).map_err(decode_err)?;
        let revision: Option<i64> = row.try_get(1).map_err(decode_err)?;
        if status == 0 {
            newest = newest.max(revision);
        }
    }
    if let Some(newest) = newest {
        announce(inner, newest);
    }
    Ok(rows.len())
}

/// Sweeps every `expiry_interval` until aborted (when the store is dropped).
pub(crate) async fn background(inner: Arc<Inner>) {
    let mut ticks = tokio::time::interval(inner.opts.expiry_interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        loop {
            match sweep_once(&inner).await {
                Ok(n) if n as i64 == STEP => tokio::task::yield_now().await,
                Ok(_) => break,
                Err(err) => {
                    tracing::warn!("postgres expiry sweep: {err}");
                    break;
                }
            }
        }
    }
}
