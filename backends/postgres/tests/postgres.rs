//! PostgreSQL-specific behaviour: commit order across replicas, NOTIFY wake-ups between stores,
//! progress requests across replicas, lagging watchers, background compaction, opening (unreachable databases, concurrent schema
//! set-up) and closing. Each test has its own database on the binary's shared cluster.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use apiary_postgres::testing::TempPostgres;
use apiary_postgres::{open, PostgresOptions, PostgresStore};
use apiary_storage::{
    Error, EventKind, ListRequest, ProgressStream, Storage, WatchItem, WatchStream,
};
use bytes::Bytes;
use futures::StreamExt;

/// A fresh database on the shared cluster.
fn database(name: &str) -> String {
    TempPostgres::shared().create_database(name)
}

fn options(url: &str) -> PostgresOptions {
    PostgresOptions {
        max_connections: 8,
        compaction_interval: Duration::ZERO,
        poll_interval: Duration::from_millis(200),
        ..PostgresOptions::new(url)
    }
}

async fn store(opts: PostgresOptions) -> Arc<PostgresStore> {
    open(opts).await.expect("open postgres")
}

async fn next(stream: &mut WatchStream) -> apiary_storage::Result<apiary_storage::Event> {
    tokio::time::timeout(Duration::from_secs(20), stream.next())
        .await
        .expect("a watch event within 20 s")
        .expect("the watch goes on")
}

const REPLICAS: usize = 3;
const TASKS: usize = 12;
const WRITES: usize = 40;

/// Many concurrent writers on three stores (three replicas, each with its own connections and
/// pipelined group commits) and a watcher on a fourth: the watcher sees every revision exactly
/// once, in order, without a gap, and every acknowledged write among them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_order_across_replicas() {
    let url = database("commit_order");
    let watcher = store(PostgresOptions {
        watch_buffer: 100_000,
        ..options(&url)
    })
    .await;
    let writers: Vec<_> =
        futures::future::join_all((0..REPLICAS).map(|_| store(options(&url)))).await;
    let start = watcher.current_revision().await.expect("current");
    let mut stream = watcher.watch(b"/order/", start).await.expect("watch");
    let collector = tokio::spawn(async move {
        let mut seen = Vec::new();
        loop {
            let event = next(&mut stream).await.expect("an event");
            let end = event.key == b"/order/end";
            seen.push(event.revision);
            if end {
                return seen;
            }
        }
    });
    let tasks: Vec<_> = (0..REPLICAS * TASKS)
        .map(|t| {
            let store = writers[t % REPLICAS].clone();
            tokio::spawn(async move {
                let mut acked = Vec::new();
                for i in 0..WRITES {
                    let key = format!("/order/{t}/{}", i % 4);
                    let rev = match store.create(key.as_bytes(), Bytes::from("v")).await {
                        Ok(rev) => rev,
                        Err(Error::AlreadyExists { .. }) => {
                            let kv = store
                                .get(key.as_bytes())
                                .await
                                .expect("get")
                                .kv
                                .expect("kv");
                            store
                                .update(key.as_bytes(), Bytes::from("w"), kv.mod_revision)
                                .await
                                .expect("update")
                        }
                        Err(err) => panic!("create: {err}"),
                    };
                    acked.push(rev);
                }
                acked
            })
        })
        .collect();
    let mut acked = BTreeSet::new();
    for task in tasks {
        for rev in task.await.expect("writer") {
            assert!(acked.insert(rev), "revision {rev} acknowledged twice");
        }
    }
    let end = writers[0]
        .create(b"/order/end", Bytes::from("end"))
        .await
        .expect("end marker");
    acked.insert(end);
    let seen = collector.await.expect("collector");
    let expected: Vec<i64> = (start + 1..=end).collect();
    assert_eq!(
        seen.len(),
        expected.len(),
        "every revision from {start} to {end} exactly once"
    );
    assert_eq!(seen, expected, "in order, without gaps");
    assert_eq!(
        seen.iter().copied().collect::<BTreeSet<_>>(),
        acked,
        "exactly the acknowledged writes"
    );
}

/// A write through one store reaches a watch on another store promptly, woken by NOTIFY: the
/// watching store polls only every minute, far beyond the wait for each event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_wakes_another_store() {
    let url = database("notify");
    let slow_poll = |url: &str| PostgresOptions {
        poll_interval: Duration::from_secs(60),
        ..options(url)
    };
    let (a, b) = (store(slow_poll(&url)).await, store(slow_poll(&url)).await);
    let mut stream = b.watch(b"/notify/", 0).await.expect("watch");
    let mut delays = Vec::new();
    let mut last = 0;
    for i in 0..50 {
        let key = format!("/notify/{i}");
        let t = Instant::now();
        let rev = a
            .create(key.as_bytes(), Bytes::from("x"))
            .await
            .expect("create");
        let event = next(&mut stream).await.expect("event");
        delays.push(t.elapsed());
        assert_eq!(
            (event.kind, event.key, event.revision),
            (EventKind::Create, key.into_bytes(), rev)
        );
        assert!(rev > last);
        last = rev;
    }
    delays.sort();
    eprintln!(
        "write on A to event on B: p50 {:?}, p99 {:?}",
        delays[delays.len() / 2],
        delays[delays.len() * 99 / 100]
    );
}

/// A watcher that is not read while many writes commit ends with WatchLagged (after a gap-free
/// beginning), and the stream then ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lagging_watcher_is_ended() {
    let url = database("lagging");
    let store = store(PostgresOptions {
        watch_buffer: 2,
        ..options(&url)
    })
    .await;
    let mut stream = store.watch(b"/lag/", 0).await.expect("watch");
    let mut revisions = Vec::new();
    for i in 0..100 {
        let rev = store
            .create(format!("/lag/{i:03}").as_bytes(), Bytes::from("x"))
            .await
            .expect("create");
        revisions.push(rev);
    }
    let mut delivered = 0;
    loop {
        match next(&mut stream).await {
            Ok(event) => {
                assert_eq!(
                    event.revision, revisions[delivered],
                    "no gap before the error"
                );
                delivered += 1;
                assert!(
                    delivered < revisions.len(),
                    "a watcher 100 writes behind must lag"
                );
            }
            Err(Error::WatchLagged) => break,
            Err(err) => panic!("expected WatchLagged, got {err}"),
        }
    }
    let end = tokio::time::timeout(Duration::from_secs(5), stream.next()).await;
    assert!(matches!(end, Ok(None)), "the stream ends after WatchLagged");
}

/// The background compaction keeps the newest `keep_revisions` revisions and the current values,
/// and deletes the superseded history below them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_compaction() {
    let url = database("compaction");
    let store = store(PostgresOptions {
        compaction_interval: Duration::from_millis(200),
        keep_revisions: 10,
        ..options(&url)
    })
    .await;
    store
        .create(b"/compaction/other", Bytes::from("x"))
        .await
        .expect("create");
    store
        .delete(b"/compaction/other", None)
        .await
        .expect("delete");
    let key = b"/compaction/counter";
    let mut rev = store.create(key, Bytes::from("0")).await.expect("create");
    let first = rev;
    for i in 1..=100 {
        rev = store
            .update(key, Bytes::from(i.to_string()), rev)
            .await
            .expect("update");
    }
    let current = store.current_revision().await.expect("current");
    let deadline = Instant::now() + Duration::from_secs(20);
    let compacted = loop {
        let compacted = store.compacted_revision().await.expect("compacted");
        // The compacted revision is raised first and the history below it purged afterwards, in
        // separate transactions: wait for both.
        let purged: i64 = sqlx::query_scalar("SELECT value FROM apiary_meta WHERE name = 'purged'")
            .fetch_one(store.pool())
            .await
            .expect("purged");
        if compacted >= current - 10 && purged >= compacted {
            break compacted;
        }
        assert!(
            Instant::now() < deadline,
            "no compaction within 20 s ({compacted})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(compacted <= current - 10, "the newest window is kept");
    let kv = store
        .get(key)
        .await
        .expect("get")
        .kv
        .expect("the current value stays");
    assert_eq!(
        (kv.value, kv.mod_revision, kv.create_revision),
        (Bytes::from("100"), rev, first)
    );
    let old = store
        .list(ListRequest {
            prefix: b"/compaction/".to_vec(),
            revision: first,
            ..Default::default()
        })
        .await;
    assert!(matches!(old, Err(Error::Compacted { .. })), "{old:?}");
    // What is left of the key's history: the versions after the compacted revision, and the one
    // each of them replaced.
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM apiary_log WHERE key = $1")
        .bind(&key[..])
        .fetch_one(store.pool())
        .await
        .expect("count");
    assert!(rows <= current - compacted + 1, "{rows} versions left");
    let gone: i64 = sqlx::query_scalar("SELECT count(*) FROM apiary_log WHERE key = $1")
        .bind(&b"/compaction/other"[..])
        .fetch_one(store.pool())
        .await
        .expect("count");
    assert_eq!(
        gone, 0,
        "a deleted key's history and delete marker are gone"
    );
    store.verify(b"/compaction/").await.expect("invariants");
}

/// A write PostgreSQL rejects (a key too long for its index) fails alone; the writes grouped with
/// it into one transaction still go through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_write_fails_alone() {
    let url = database("rejected");
    let store = store(options(&url)).await;
    // 20 kB of incompressible bytes.
    let mut x: u32 = 2_463_534_242;
    let mut long = b"/rejected/".to_vec();
    long.extend((0..20_000).map(|_| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x as u8
    }));
    let mut writes: Vec<_> = (0..30)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .create(format!("/rejected/{i}").as_bytes(), Bytes::from("x"))
                    .await
            })
        })
        .collect();
    let bad = {
        let store = store.clone();
        tokio::spawn(async move { store.create(&long, Bytes::from("x")).await })
    };
    writes.push(bad);
    let mut results = Vec::new();
    for write in writes {
        results.push(write.await.expect("task"));
    }
    let rejected = results.pop().expect("the long key");
    assert!(
        matches!(rejected, Err(Error::InvalidArgument(_))),
        "{rejected:?}"
    );
    for (i, result) in results.into_iter().enumerate() {
        result.unwrap_or_else(|e| panic!("write {i}: {e}"));
    }
    assert_eq!(store.count(b"/rejected/").await.expect("count"), 30);
}

/// Opening against a port nobody listens on, or a server that never answers, fails within the
/// connect timeout with a one-line error.
#[tokio::test]
async fn open_unreachable_fails_fast() {
    let t = Instant::now();
    let err = open(PostgresOptions {
        connect_timeout: Duration::from_secs(2),
        ..PostgresOptions::new("postgres://apiary:secret@127.0.0.1:1/apiary")
    })
    .await
    .err()
    .expect("nothing listens on port 1");
    let line = err.to_string();
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "took {:?}",
        t.elapsed()
    );
    assert!(
        line.starts_with("cannot connect: ") && !line.contains('\n'),
        "{line}"
    );
    assert!(!line.contains("secret"), "{line}");

    // Accepts connections (the kernel does) but never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = silent.local_addr().expect("addr").port();
    let t = Instant::now();
    let err = open(PostgresOptions {
        connect_timeout: Duration::from_secs(1),
        ..PostgresOptions::new(format!("postgres://apiary@127.0.0.1:{port}/apiary"))
    })
    .await
    .err()
    .expect("a silent server");
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "took {:?}",
        t.elapsed()
    );
    assert_eq!(err.to_string(), "cannot connect: no answer within 1s");

    let err = open(PostgresOptions::new("mysql://nope"))
        .await
        .err()
        .expect("bad URL");
    assert!(err.to_string().starts_with("invalid options: "), "{err}");
}

/// Replicas starting at once on an empty database all apply (or find) the schema.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_opens_share_the_schema() {
    let url = database("concurrent_open");
    let stores = futures::future::join_all((0..6).map(|_| open(options(&url)))).await;
    let stores: Vec<_> = stores
        .into_iter()
        .map(|s| s.expect("every replica opens"))
        .collect();
    let rev = stores[0]
        .create(b"/open/a", Bytes::from("x"))
        .await
        .expect("create");
    let got = stores[5].get(b"/open/a").await.expect("get");
    assert_eq!(got.kv.expect("kv").mod_revision, rev);
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(stores[1].pool())
        .await
        .expect("migrations");
    let migrations = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations"))
        .expect("migrations/")
        .filter(|entry| {
            entry
                .as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "sql"))
        })
        .count();
    assert_eq!(
        applied as usize, migrations,
        "each migration is applied once"
    );
}

/// Dropping a store ends its watches with Unavailable instead of leaving them hanging.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_store_ends_watches() {
    let url = database("drop");
    let store = store(options(&url)).await;
    let mut stream = store.watch(b"/drop/", 0).await.expect("watch");
    drop(store);
    match next(&mut stream).await {
        Err(Error::Unavailable(_)) => {}
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

/// The next item of a progress watch, within `PROGRESS_WAIT`.
async fn next_item(stream: &mut ProgressStream) -> WatchItem {
    tokio::time::timeout(PROGRESS_WAIT, stream.next())
        .await
        .expect("a progress item within PROGRESS_WAIT")
        .expect("the watch goes on")
        .expect("no watch error")
}

/// How long a progress request may take to be answered in these tests ("about a second").
const PROGRESS_WAIT: Duration = Duration::from_secs(3);

/// A progress request on one store covers writes committed through another (a replica), and a
/// quiet stream answers a request although nothing was written since: the request makes the
/// store read the log through the database's current revision. Both stores poll only every
/// minute, so only the request (and NOTIFY, for the writes) can wake the watching one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_request_covers_other_replicas() {
    let url = database("progress");
    let slow_poll = |url: &str| PostgresOptions {
        poll_interval: Duration::from_secs(60),
        ..options(url)
    };
    let (a, b) = (store(slow_poll(&url)).await, store(slow_poll(&url)).await);
    let mut stream = b
        .watch_progress(b"/quiet/", 0)
        .await
        .expect("watch_progress");
    let mut progress = 0;
    for i in 0..20 {
        let key = format!("/busy/{i}");
        let rev = a
            .create(key.as_bytes(), Bytes::from("x"))
            .await
            .expect("create");
        b.request_progress().await.expect("request_progress");
        while progress < rev {
            match next_item(&mut stream).await {
                WatchItem::Progress(p) => {
                    assert!(p >= progress, "Progress({p}) after Progress({progress})");
                    progress = p;
                }
                WatchItem::Event(e) => panic!("a quiet prefix yielded {e:?}"),
            }
        }
        let current = b.current_revision().await.expect("current_revision");
        assert!(
            progress <= current,
            "Progress({progress}) above the current revision {current}"
        );
    }

    // Take what is still queued, then ask again with nothing written meanwhile.
    while let Ok(item) = tokio::time::timeout(Duration::from_millis(500), stream.next()).await {
        match item.expect("the watch goes on").expect("no watch error") {
            WatchItem::Progress(p) => progress = p,
            WatchItem::Event(e) => panic!("a quiet prefix yielded {e:?}"),
        }
    }
    let current = a.current_revision().await.expect("current_revision");
    b.request_progress().await.expect("request_progress");
    match next_item(&mut stream).await {
        WatchItem::Progress(p) => assert!(
            p >= current && p >= progress,
            "Progress({p}) on a quiet store: below {current} or {progress}"
        ),
        WatchItem::Event(e) => panic!("a quiet prefix yielded {e:?}"),
    }
}

/// Expiry with three replicas sweeping one database at once: every key written with a TTL is
/// deleted exactly once (a watcher on another replica sees one delete per key, nothing else is
/// deleted), and no expiry row is left behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_sweep_expired_keys_once() {
    const KEYS: usize = 450;
    let url = database("expiry_replicas");
    let replicas: Vec<_> = futures::future::join_all((0..REPLICAS).map(|_| {
        store(PostgresOptions {
            expiry_interval: Duration::from_millis(200),
            ..options(&url)
        })
    }))
    .await;
    let watcher = store(PostgresOptions {
        watch_buffer: 100_000,
        ..options(&url)
    })
    .await;
    let start = watcher.current_revision().await.expect("current");
    let mut stream = watcher.watch(b"/expiry/", start).await.expect("watch");
    let ttl = Duration::from_secs(1);
    let writes = futures::stream::iter(0..KEYS).map(|i| {
        let store = replicas[i % REPLICAS].clone();
        async move {
            store
                .create_with_ttl(
                    format!("/expiry/{i:04}").as_bytes(),
                    Bytes::new(),
                    Some(ttl),
                )
                .await
                .expect("create with ttl")
        }
    });
    writes.buffer_unordered(24).collect::<Vec<_>>().await;
    let kept = replicas[0]
        .create(b"/expiry/kept", Bytes::new())
        .await
        .expect("create");
    let mut deleted = BTreeSet::new();
    let until = Instant::now() + ttl + apiary_storage::expiry_slack(ttl) + Duration::from_secs(10);
    while deleted.len() < KEYS && Instant::now() < until {
        let event = next(&mut stream).await.expect("an event");
        if event.kind == EventKind::Delete {
            assert!(
                deleted.insert(event.key.clone()),
                "{} deleted twice",
                String::from_utf8_lossy(&event.key)
            );
            assert_ne!(
                event.key,
                b"/expiry/kept".to_vec(),
                "a key without TTL expired"
            );
        }
    }
    assert_eq!(deleted.len(), KEYS, "every key with a TTL expires");
    // Any duplicate delete would come right after; give it a moment.
    if let Ok(Some(event)) = tokio::time::timeout(Duration::from_secs(1), stream.next()).await {
        let event = event.expect("no error");
        panic!("an unexpected change after the sweep: {event:?}");
    }
    let kv = watcher
        .get(b"/expiry/kept")
        .await
        .expect("get")
        .kv
        .expect("kept");
    assert_eq!(kv.mod_revision, kept);
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM apiary_expiry")
        .fetch_one(watcher.pool())
        .await
        .expect("count");
    assert_eq!(left, 0, "every expiry row is settled");
    watcher.verify(b"/expiry/").await.expect("invariants");
}
