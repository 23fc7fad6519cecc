//! Behaviour specific to the RocksDB backend: restarts, lagging watchers, background compaction.

use std::time::Duration;

use apiary_rocksdb::{open, RocksDbOptions};
use apiary_storage::{Error, ListRequest, Storage};
use bytes::Bytes;
use futures::StreamExt;
use tokio::time::timeout;

const T: Duration = Duration::from_secs(20);

fn opts(dir: &std::path::Path) -> RocksDbOptions {
    RocksDbOptions {
        compaction_interval: Duration::ZERO,
        ..RocksDbOptions::new(dir)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopening_keeps_values_history_and_revisions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(opts(dir.path())).await.expect("open");
    assert_eq!(
        store.current_revision().await.expect("current"),
        1,
        "a fresh store starts at 1"
    );
    let r1 = store
        .create(b"/k/a", Bytes::from_static(b"1"))
        .await
        .expect("create");
    let r2 = store
        .update(b"/k/a", Bytes::from_static(b"2"), r1)
        .await
        .expect("update");
    let r3 = store
        .create(b"/k/b", Bytes::from_static(b"b"))
        .await
        .expect("create");
    store.compact(r1).await.expect("compact");
    drop(store);

    let store = open(opts(dir.path())).await.expect("reopen");
    assert_eq!(store.current_revision().await.expect("current"), r3);
    assert_eq!(store.compacted_revision().await.expect("compacted"), r1);
    let kv = store.get(b"/k/a").await.expect("get").kv.expect("a");
    assert_eq!(
        (kv.value, kv.create_revision, kv.mod_revision),
        (Bytes::from_static(b"2"), r1, r2)
    );
    let old = store
        .list(ListRequest {
            prefix: b"/k/".to_vec(),
            revision: r2,
            ..Default::default()
        })
        .await;
    assert_eq!(
        old.expect("list at r2").kvs.len(),
        1,
        "b did not exist at r2"
    );
    let mut watch = store.watch(b"/k/", r2).await.expect("watch");
    let e = timeout(T, watch.next())
        .await
        .expect("in time")
        .expect("an event")
        .expect("no error");
    assert_eq!((e.revision, e.key), (r3, b"/k/b".to_vec()));
    let r4 = store.create(b"/k/c", Bytes::new()).await.expect("create");
    assert!(r4 > r3);
    store.verify(b"").await.expect("invariants");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lagging_watcher_gets_watch_lagged_then_ends() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(RocksDbOptions {
        watch_buffer: 2,
        sync: false,
        ..opts(dir.path())
    })
    .await
    .expect("open");
    let mut watch = store.watch(b"/w/", 0).await.expect("watch");
    let mut revs = Vec::new();
    for i in 0..10 {
        revs.push(
            store
                .create(format!("/w/{i}").as_bytes(), Bytes::new())
                .await
                .expect("create"),
        );
    }
    let mut delivered = 0;
    loop {
        match timeout(T, watch.next()).await.expect("in time") {
            Some(Ok(e)) => {
                assert_eq!(e.revision, revs[delivered], "no gap before the error");
                delivered += 1;
            }
            Some(Err(Error::WatchLagged)) => break,
            other => panic!("expected events then WatchLagged, got {other:?}"),
        }
    }
    assert!(delivered < revs.len());
    assert!(
        timeout(T, watch.next()).await.expect("in time").is_none(),
        "the stream ends after the error"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_compaction_keeps_a_window() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = RocksDbOptions {
        compaction_interval: Duration::from_millis(50),
        keep_revisions: 5,
        sync: false,
        ..RocksDbOptions::new(dir.path())
    };
    let store = open(options).await.expect("open");
    let mut rev = store
        .create(b"/c/x", Bytes::from_static(b"0"))
        .await
        .expect("create");
    for i in 1..30 {
        rev = store
            .update(b"/c/x", Bytes::from(i.to_string()), rev)
            .await
            .expect("update");
    }
    let deadline = tokio::time::Instant::now() + T;
    while store.compacted_revision().await.expect("compacted") != rev - 5 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "background compaction did not run"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let list = |revision| {
        store.list(ListRequest {
            prefix: b"/c/".to_vec(),
            revision,
            ..Default::default()
        })
    };
    assert!(matches!(list(rev - 5).await, Err(Error::Compacted { .. })));
    let kept = list(rev - 4).await.expect("inside the window");
    assert_eq!(kept.kvs[0].value, Bytes::from((29 - 4).to_string()));
    store.verify(b"").await.expect("invariants");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_open_of_the_same_directory_fails_clearly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let _store = open(opts(dir.path())).await.expect("open");
    match open(opts(dir.path())).await {
        Err(Error::Unavailable(msg)) => {
            assert!(msg.contains(&dir.path().display().to_string()), "{msg}")
        }
        Err(other) => panic!("expected Unavailable, got {other}"),
        Ok(_) => panic!("two stores on one directory"),
    }
}

/// Expiry deadlines are stored with the values: a key written with a TTL before a restart is
/// deleted after it (an ordinary delete a watcher sees), and one without a TTL stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_survives_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(opts(dir.path())).await.expect("open");
    let ttl = Duration::from_secs(1);
    let written = std::time::Instant::now();
    let created = store
        .create_with_ttl(b"/e/short", Bytes::from_static(b"x"), Some(ttl))
        .await
        .expect("create with ttl");
    let kept = store
        .create(b"/e/kept", Bytes::from_static(b"y"))
        .await
        .expect("create");
    drop(store);

    let store = open(opts(dir.path())).await.expect("reopen");
    let mut watch = store.watch(b"/e/", kept).await.expect("watch");
    let e = timeout(ttl + apiary_storage::expiry_slack(ttl) + T, watch.next())
        .await
        .expect("the key expires after the restart")
        .expect("an event")
        .expect("no error");
    assert!(written.elapsed() >= ttl);
    assert_eq!(
        (e.kind, e.key.clone(), e.create_revision),
        (
            apiary_storage::EventKind::Delete,
            b"/e/short".to_vec(),
            created
        )
    );
    assert!(e.revision > kept);
    assert_eq!(store.get(b"/e/short").await.expect("get").kv, None);
    assert!(store.get(b"/e/kept").await.expect("get").kv.is_some());
    store.verify(b"").await.expect("invariants");
}
