//! Expiry: keys written with a TTL are deleted at or after their deadline as ordinary deletes,
//! only the latest write's TTL counts, and many due keys are swept while writers go on.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;

use super::{op, Ctx};
use crate::{expiry_slack, Event, EventKind, Revision, WatchStream};

/// The TTL the cases write with.
const TTL: Duration = Duration::from_secs(1);
/// Extra time for a loaded test machine on top of the contract's slack.
const MARGIN: Duration = Duration::from_secs(3);

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

/// The latest moment a key written at `written` with `ttl` may still exist.
fn latest(written: Instant, ttl: Duration) -> Instant {
    written + ttl + expiry_slack(ttl) + MARGIN
}

async fn watch(ctx: &Ctx, after: Revision) -> WatchStream {
    op("watch", ctx.store.watch(&ctx.prefix, after))
        .await
        .expect("watch")
}

/// A revision to watch the case's prefix from: a write of its own (above any compacted revision,
/// even in a store shared with a case that just compacted).
async fn marker(ctx: &Ctx) -> Revision {
    op("marker", ctx.store.create(&ctx.key("marker"), b("m")))
        .await
        .expect("create the marker")
}

/// The next event before `until`; `None` when none came by then. Panics on a watch error or end.
async fn event_until(stream: &mut WatchStream, until: Instant) -> Option<Event> {
    let left = until.saturating_duration_since(Instant::now());
    match tokio::time::timeout(left, stream.next()).await {
        Err(_) => None,
        Ok(Some(Ok(event))) => Some(event),
        Ok(Some(Err(err))) => panic!("expiry watch failed: {err}"),
        Ok(None) => panic!("expiry watch ended"),
    }
}

/// A key created with a TTL disappears at or after its deadline, within the slack: watchers see
/// an ordinary delete with the last value at a new revision, gets and lists stop showing it, and
/// a key without a TTL stays.
pub async fn expiry_deletes_key(ctx: Ctx) {
    let (short, keep) = (ctx.key("short"), ctx.key("keep"));
    let before = Instant::now();
    let created = op(
        "create with ttl",
        ctx.store.create_with_ttl(&short, b("v1"), Some(TTL)),
    )
    .await
    .expect("create with ttl");
    let kept = op("create", ctx.store.create(&keep, b("k")))
        .await
        .expect("create");
    let mut stream = watch(&ctx, kept).await;
    let event = event_until(&mut stream, latest(before, TTL))
        .await
        .unwrap_or_else(|| panic!("the key did not expire within {TTL:?} plus the slack"));
    let seen = before.elapsed();
    assert!(
        seen >= TTL,
        "the key expired after {seen:?}, before its TTL of {TTL:?}"
    );
    assert_eq!(
        (event.kind, event.key.clone(), event.value.clone()),
        (EventKind::Delete, short.clone(), b("v1")),
        "expiry must be an ordinary delete of the expired key"
    );
    assert_eq!(event.prev_value, Some(b("v1")));
    assert_eq!(event.create_revision, created);
    assert!(
        event.revision > kept,
        "the delete commits at a new revision"
    );

    let got = op("get", ctx.store.get(&short)).await.expect("get");
    assert_eq!(got.kv, None, "an expired key must be gone");
    assert!(got.revision >= event.revision);
    let list = op(
        "list",
        ctx.store.list(crate::ListRequest {
            prefix: ctx.prefix.clone(),
            ..Default::default()
        }),
    )
    .await
    .expect("list");
    let keys: Vec<_> = list.kvs.iter().map(|kv| kv.key.clone()).collect();
    assert_eq!(
        keys,
        vec![keep.clone()],
        "only the key without a TTL remains"
    );
    assert_eq!(list.kvs[0].mod_revision, kept);
}

/// Only the latest write's TTL counts: an update without a TTL clears the expiry, an update with a
/// longer TTL extends it, an update with a shorter one brings it forward, and a key deleted and
/// created again without a TTL stays. Expiry never deletes a newer write.
pub async fn expiry_follows_the_latest_write(ctx: Ctx) {
    let long = Duration::from_secs(120);
    let k = |name: &str| ctx.key(name);
    let start = marker(&ctx).await;
    let create = |name: &'static str, ttl: Option<Duration>| {
        let (store, key) = (ctx.store.clone(), k(name));
        async move {
            op("create", store.create_with_ttl(&key, b("v1"), ttl))
                .await
                .unwrap_or_else(|err| panic!("create {name}: {err}"))
        }
    };
    let update = |name: &'static str, expected: Revision, ttl: Option<Duration>| {
        let (store, key) = (ctx.store.clone(), k(name));
        async move {
            op(
                "update",
                store.update_with_ttl(&key, b("v2"), expected, ttl),
            )
            .await
            .unwrap_or_else(|err| panic!("update {name}: {err}"))
        }
    };
    let r = create("cleared", Some(TTL)).await;
    let cleared = update("cleared", r, None).await;
    let r = create("extended", Some(TTL)).await;
    let extended = update("extended", r, Some(long)).await;
    let r = create("shortened", Some(long)).await;
    update("shortened", r, Some(TTL)).await;
    create("recreated", Some(TTL)).await;
    op("delete", ctx.store.delete(&k("recreated"), None))
        .await
        .expect("delete recreated");
    let recreated = create("recreated", None).await;
    let r = create("plain-update", None).await;
    let plain = op("update", ctx.store.update(&k("plain-update"), b("v2"), r))
        .await
        .expect("update plain-update");

    // Wait past the deadline of every short TTL above plus the slack, collecting what expires.
    let mut stream = watch(&ctx, start).await;
    let until = latest(Instant::now(), TTL);
    let mut deletes: BTreeMap<Vec<u8>, usize> = BTreeMap::new();
    while let Some(event) = event_until(&mut stream, until).await {
        if event.kind == EventKind::Delete {
            *deletes.entry(event.key).or_default() += 1;
        }
    }
    let expected: BTreeMap<Vec<u8>, usize> = [(k("recreated"), 1), (k("shortened"), 1)].into();
    assert_eq!(
        deletes, expected,
        "only the explicit delete and the shortened TTL may delete keys"
    );
    for (name, revision) in [
        ("cleared", cleared),
        ("extended", extended),
        ("recreated", recreated),
        ("plain-update", plain),
    ] {
        let kv = op("get", ctx.store.get(&k(name)))
            .await
            .expect("get")
            .kv
            .unwrap_or_else(|| panic!("{name} must not expire"));
        assert_eq!(kv.mod_revision, revision, "{name} is the latest write");
    }
    let shortened = op("get", ctx.store.get(&k("shortened")))
        .await
        .expect("get");
    assert_eq!(shortened.kv, None, "an update with a shorter TTL expires");
}

/// Many keys due at once are all deleted, each exactly once, while writes to other keys go on.
pub async fn expiry_sweeps_many_keys(ctx: Ctx) {
    // More than one sweep batch of every backend (100 to 128), few enough not to flood the
    // watchers of cases running beside it on a shared store.
    const KEYS: usize = 150;
    let start = marker(&ctx).await;
    let writes = futures::stream::iter(0..KEYS).map(|i| {
        let (store, key) = (ctx.store.clone(), ctx.key(format!("many/{i:04}")));
        async move {
            op(
                "create with ttl",
                store.create_with_ttl(&key, b("x"), Some(TTL)),
            )
            .await
            .expect("create with ttl")
        }
    });
    writes.buffer_unordered(16).collect::<Vec<_>>().await;
    let written = Instant::now();
    // Watched from before the creates, opened only now: a watcher that does not read while the
    // creates run may be ended as lagging (the watch guarantee), so the history is replayed to
    // a reader instead.
    let mut stream = watch(&ctx, start).await;

    // A writer keeps writing an unrelated key while the sweep runs.
    let other = ctx.key("other");
    let mut other_rev = op("create", ctx.store.create(&other, b("0")))
        .await
        .expect("create other");
    let until = latest(written, TTL);
    let mut deleted: BTreeMap<Vec<u8>, usize> = BTreeMap::new();
    while deleted.len() < KEYS || deleted.values().any(|n| *n != 1) {
        let tick = (Instant::now() + Duration::from_millis(200)).min(until);
        match event_until(&mut stream, tick).await {
            Some(event) if event.kind == EventKind::Delete => {
                *deleted.entry(event.key).or_default() += 1;
            }
            Some(_) => {}
            None if Instant::now() >= until => break,
            None => {
                other_rev = op("update other", ctx.store.update(&other, b("n"), other_rev))
                    .await
                    .expect("a writer must go on while keys expire");
            }
        }
    }
    assert_eq!(
        deleted.len(),
        KEYS,
        "every key with a TTL expires within the slack ({} of {KEYS} did)",
        deleted.len()
    );
    assert!(
        deleted.values().all(|n| *n == 1),
        "each key is deleted once"
    );
    let left = op("count", ctx.store.count(&ctx.key("many/")))
        .await
        .expect("count");
    assert_eq!(left, 0, "no expired key remains");
    let kv = op("get other", ctx.store.get(&other))
        .await
        .expect("get")
        .kv
        .expect("the key without a TTL stays");
    assert_eq!(kv.mod_revision, other_rev);
}
