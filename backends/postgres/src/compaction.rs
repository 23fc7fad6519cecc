//! Compaction: raise the compacted revision, then delete superseded history at or below it in
//! small transactions, so writers (which never touch old log rows) are not held up.

use apiary_storage::{Error, Result, Revision};

use crate::sql;
use crate::store::Inner;

/// Log rows examined per compaction transaction.
const STEP: i64 = 1000;

/// Compacts the store at `revision`: reads at or below it fail with `Compacted` from now on, and
/// the versions it superseded are deleted. Also finishes an earlier compaction that was
/// interrupted (by a crash or another replica stopping).
pub(crate) async fn compact(inner: &Inner, revision: Revision) -> Result<()> {
    let raised: Option<i64> = inner
        .run(
            sqlx::query_scalar(sql::RAISE_COMPACTED)
                .bind(revision)
                .fetch_optional(&inner.pool),
        )
        .await?;
    let Some(compacted) = raised else {
        return Err(Error::FutureRevision {
            requested: revision,
            current: inner.meta("revision").await?,
        });
    };
    purge(inner, compacted).await
}

/// Deletes superseded versions and delete markers at or below `upto`, [`STEP`] log rows per
/// transaction, resuming where the last run stopped (`purged`).
async fn purge(inner: &Inner, upto: Revision) -> Result<()> {
    let mut purged = inner.meta("purged").await?;
    while purged < upto {
        let (done, deleted): (Option<i64>, i64) = inner
            .run(
                sqlx::query_as(sql::PURGE_STEP)
                    .bind(purged)
                    .bind(upto)
                    .bind(STEP)
                    .fetch_one(&inner.pool),
            )
            .await?;
        tracing::trace!("postgres compaction: {deleted} rows deleted up to {done:?}");
        let done =
            done.ok_or_else(|| Error::Internal("postgres: no compaction progress".into()))?;
        if done <= purged {
            return Err(Error::Internal(format!(
                "postgres: compaction stuck at revision {purged}"
            )));
        }
        purged = done;
    }
    Ok(())
}

/// The background compaction: every `compaction_interval`, compacts at `current - keep_revisions`.
pub(crate) async fn background(inner: std::sync::Arc<Inner>) {
    let mut ticks = tokio::time::interval(inner.opts.compaction_interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let target = match inner.meta("revision").await {
            Ok(current) => current - inner.opts.keep_revisions,
            Err(err) => {
                tracing::warn!("postgres compaction: {err}");
                continue;
            }
        };
        if target <= 0 {
            continue;
        }
        if let Err(err) = compact(&inner, target).await {
            tracing::warn!("postgres compaction at revision {target}: {err}");
        }
    }
}
