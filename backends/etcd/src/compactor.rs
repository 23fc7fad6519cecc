//! Periodic compaction, coordinated among replicas as kube-apiserver's `compact.go` does.
//!
//! The key `compact_rev_key` (at the root of etcd's key space, shared with kube-apiserver) holds
//! the last revision a replica set out to compact; its *version* serves as a logical clock, the
//! "compact time". Every interval each replica runs one round:
//!
//! * `Txn(If version(compact_rev_key) == my_time Then put(compact_rev_key, my_rev) Else get)`;
//! * when it succeeds, this replica won the round: its time becomes `my_time + 1` and it compacts
//!   etcd at `my_rev`, the revision it saw one interval earlier (nothing on the first round);
//! * when it fails, another replica compacted since: this replica adopts the key's version as its
//!   time (and learns the compacted revision from the value), so it wins the next round only if no
//!   other replica compacts meanwhile;
//! * either way `my_rev` becomes the revision of the transaction's answer.
//!
//! So with several replicas one compacts per interval (in failover, between one and two intervals
//! apart), and history younger than one interval is kept.

use std::sync::Arc;
use std::time::Duration;

use apiary_storage::{Error, Revision};
use etcd_client::{Compare, CompareOp, TxnOp, TxnOpResponse};

use crate::call::{Deadline, Fail, Kind};
use crate::store::{header_revision, Inner, COMPACT_REV_KEY};

/// Starts the loop; it runs until the task is aborted (when the store is dropped).
pub(crate) fn spawn(inner: Arc<Inner>, interval: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let (mut time, mut rev) = (0, 0);
        loop {
            tokio::time::sleep(interval).await;
            let (next_time, next_rev, result) = round(&inner, time, rev).await;
            (time, rev) = (next_time, next_rev);
            match result {
                Ok(Some(compacted)) => tracing::info!(compacted, "compacted etcd"),
                Ok(None) => {}
                Err(err) => tracing::warn!(%err, "etcd compaction failed"),
            }
        }
    })
}

/// One round: the new compact time and revision, and the revision compacted by this replica.
async fn round(
    inner: &Inner,
    time: i64,
    rev: Revision,
) -> (i64, Revision, Result<Option<Revision>, Error>) {
    let deadline = Deadline::new(inner.request_timeout);
    let done = inner
        .retry(Kind::Write, deadline, || {
            let mut kv = inner.kv.pick();
            let txn = etcd_client::Txn::new()
                .when([Compare::version(
                    COMPACT_REV_KEY.to_vec(),
                    CompareOp::Equal,
                    time,
                )])
                .and_then([TxnOp::put(COMPACT_REV_KEY.to_vec(), rev.to_string(), None)])
                .or_else([TxnOp::get(COMPACT_REV_KEY.to_vec(), None)]);
            async move { kv.txn(txn).await }
        })
        .await;
    let resp = match done {
        Ok(done) => done.value,
        Err(fail) => return (time, rev, Err(fail.into_error())),
    };
    let current = header_revision(resp.header());
    inner.note_seen(current);
    if !resp.succeeded() {
        // Another replica won: adopt its time, learn what it compacted.
        let kv = resp.op_responses().into_iter().find_map(|op| match op {
            TxnOpResponse::Get(get) => get.kvs().first().cloned(),
            _ => None,
        });
        let Some(kv) = kv else {
            return (time, current, Ok(None));
        };
        if let Some(compacted) = std::str::from_utf8(kv.value())
            .ok()
            .and_then(|s| s.parse::<Revision>().ok())
        {
            inner.note_compacted(compacted);
        }
        return (kv.version(), current, Ok(None));
    }
    let time = time + 1;
    if rev == 0 {
        // The first round only records the revision to compact next time.
        return (time, current, Ok(None));
    }
    let done = inner
        .retry(Kind::Write, Deadline::new(inner.request_timeout), || {
            let mut kv = inner.kv.pick();
            async move { kv.compact(rev, None).await }
        })
        .await;
    match done {
        Ok(_) => {
            inner.note_compacted(rev);
            (time, current, Ok(Some(rev)))
        }
        // Already compacted at or above `rev` (by hand, or by a replica that won meanwhile).
        Err(Fail::Compacted) => {
            inner.note_compacted(rev);
            (time, current, Ok(None))
        }
        Err(fail) => (time, current, Err(fail.into_error())),
    }
}
