//! Leases for writes with a TTL, reused the way kube-apiserver's etcd3 lease manager does.
//!
//! A write with a TTL is attached to an etcd lease; when the lease expires etcd deletes the key at
//! a new revision and its watchers see the delete. Granting a lease is a Raft round trip, so the
//! last lease granted is reused by later writes whose TTL ends within its reuse window: a lease is
//! granted for `ttl + reuse` seconds (`reuse` = 5% of the TTL, at most 60 s), and a write reuses it
//! while `now + ttl` is before the lease's end and `now + ttl + reuse` after it, for at most
//! [`MAX_ATTACHED`] writes. So a key lives between its TTL and its TTL plus `reuse`.
//!
//! An update without a TTL puts the key with no lease, which detaches it from its old lease.

use std::time::{Duration, Instant};

use apiary_storage::Result;
use etcd_client::LeaseClient;

use crate::call::{Deadline, Kind};
use crate::store::Inner;

/// The most writes attached to one lease (upstream's default).
const MAX_ATTACHED: u64 = 1000;
/// The longest reuse window, in seconds.
const MAX_REUSE_SECONDS: i64 = 60;

struct Last {
    id: i64,
    ends: Instant,
    attached: u64,
}

/// The lease client and the last lease granted.
pub(crate) struct Leases {
    client: LeaseClient,
    last: tokio::sync::Mutex<Option<Last>>,
}

/// A TTL in whole seconds, rounded up, at least 1 (etcd's unit).
pub(crate) fn ttl_seconds(ttl: Duration) -> i64 {
    let whole = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2);
    let seconds = if ttl.subsec_nanos() > 0 {
        whole.saturating_add(1)
    } else {
        whole
    };
    seconds.max(1)
}

/// The reuse window of a lease for `ttl` seconds: 5% of it, at most [`MAX_REUSE_SECONDS`].
fn reuse_seconds(ttl: i64) -> i64 {
    (ttl / 20).min(MAX_REUSE_SECONDS)
}

impl Leases {
    pub(crate) fn new(client: LeaseClient) -> Self {
        Self {
            client,
            last: tokio::sync::Mutex::new(None),
        }
    }

    /// The lease a write with `ttl` attaches to: the last one when it fits, else a new one.
    pub(crate) async fn lease(
        &self,
        inner: &Inner,
        ttl: Duration,
        deadline: Deadline,
    ) -> Result<i64> {
        let ttl = ttl_seconds(ttl);
        let reuse = reuse_seconds(ttl);
        // Held across the grant, as upstream holds its lock, so concurrent writes share one lease.
        let mut last = self.last.lock().await;
        let now = Instant::now();
        let secs = |s: i64| Duration::from_secs(u64::try_from(s).unwrap_or(0));
        if let Some(prev) = last.as_mut() {
            let valid = now + secs(ttl) < prev.ends;
            let sufficient = now + secs(ttl + reuse) > prev.ends;
            if valid && sufficient && prev.attached < MAX_ATTACHED {
                prev.attached += 1;
                return Ok(prev.id);
            }
        }
        let granted = inner
            .retry(Kind::Read, deadline, || {
                let mut client = self.client.clone();
                async move { client.grant(ttl + reuse, None).await }
            })
            .await
            .map_err(|fail| fail.into_error())?
            .value;
        *last = Some(Last {
            id: granted.id(),
            ends: now + secs(ttl + reuse),
            attached: 1,
        });
        Ok(granted.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_rounds_up_to_whole_seconds() {
        assert_eq!(ttl_seconds(Duration::from_millis(1)), 1);
        assert_eq!(ttl_seconds(Duration::ZERO), 1);
        assert_eq!(ttl_seconds(Duration::from_secs(2)), 2);
        assert_eq!(ttl_seconds(Duration::from_millis(2001)), 3);
    }

    #[test]
    fn reuse_is_five_percent_up_to_a_minute() {
        assert_eq!(reuse_seconds(1), 0);
        assert_eq!(reuse_seconds(3600), 60);
        assert_eq!(reuse_seconds(600), 30);
        assert_eq!(reuse_seconds(100_000), 60);
    }
}
