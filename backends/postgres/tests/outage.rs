//! The database goes away for a few seconds while a watch is open and writes run: calls fail fast
//! with Unavailable or Timeout, the watch ends with an error, and after the restart the same store
//! serves again, with every acknowledged write in place. Runs on its own cluster (it stops it).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use apiary_postgres::testing::TempPostgres;
use apiary_postgres::{open, PostgresOptions};
use apiary_storage::{Error, Storage};
use bytes::Bytes;
use futures::StreamExt;

/// Far below the server's 60 s request timeout.
const FAIL_FAST: Duration = Duration::from_secs(15);

fn transient(err: &Error) -> bool {
    matches!(err, Error::Unavailable(_) | Error::Timeout(_))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_outage() {
    let pg = Arc::new(TempPostgres::start());
    let url = pg.create_database("outage");
    let store = open(PostgresOptions {
        max_connections: 8,
        connect_timeout: Duration::from_secs(2),
        statement_timeout: Duration::from_secs(5),
        poll_interval: Duration::from_millis(200),
        compaction_interval: Duration::ZERO,
        ..PostgresOptions::new(&url)
    })
    .await
    .expect("open");
    let mut stream = store.watch(b"/outage/", 0).await.expect("watch");

    // A writer that keeps creating keys, recording what was acknowledged and how long failures took.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (store, stop) = (store.clone(), stop.clone());
        tokio::spawn(async move {
            let (mut acked, mut failures, mut slowest) = (Vec::new(), 0, Duration::ZERO);
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let key = format!("/outage/{i:05}");
                let t = Instant::now();
                match store.create(key.as_bytes(), Bytes::from("v")).await {
                    Ok(rev) => acked.push((key, rev)),
                    Err(err) => {
                        assert!(transient(&err), "a write during the outage: {err}");
                        failures += 1;
                        slowest = slowest.max(t.elapsed());
                    }
                }
                i += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            (acked, failures, slowest)
        })
    };
    tokio::time::sleep(Duration::from_secs(1)).await;

    let stopped = Instant::now();
    {
        let pg = pg.clone();
        tokio::task::spawn_blocking(move || pg.stop())
            .await
            .expect("stop");
    }
    // The watch ends with an error soon after, rather than stalling.
    loop {
        match tokio::time::timeout(FAIL_FAST, stream.next()).await {
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(err))) => {
                assert!(transient(&err), "the watch ended with {err}");
                break;
            }
            Ok(None) => panic!("the watch ended without an error"),
            Err(_) => panic!("the watch stalled for {FAIL_FAST:?} with the database down"),
        }
    }
    assert!(stopped.elapsed() < FAIL_FAST, "{:?}", stopped.elapsed());
    assert!(
        tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .expect("the stream ends")
            .is_none(),
        "nothing after the error"
    );
    // Reads and new watches fail fast too.
    let t = Instant::now();
    let read = store.get(b"/outage/00000").await;
    assert!(matches!(&read, Err(e) if transient(e)), "{read:?}");
    let watch = store.watch(b"/outage/", 1).await;
    assert!(
        matches!(&watch, Err(e) if transient(e)),
        "a watch during the outage"
    );
    assert!(t.elapsed() < FAIL_FAST, "{:?}", t.elapsed());
    tokio::time::sleep(Duration::from_secs(2)).await;

    {
        let pg = pg.clone();
        tokio::task::spawn_blocking(move || pg.start_again())
            .await
            .expect("start");
    }
    // The same store serves again.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match store.get(b"/outage/00000").await {
            Ok(_) => break,
            Err(err) if transient(&err) && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(err) => panic!("after the restart: {err}"),
        }
    }
    let mut again = store
        .watch(b"/outage/", 0)
        .await
        .expect("watch after the restart");
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::Relaxed);
    let (acked, failures, slowest) = writer.await.expect("writer");
    assert!(failures > 0, "some writes fell into the outage");
    assert!(slowest < FAIL_FAST, "a failed write took {slowest:?}");
    eprintln!(
        "{} writes acknowledged, {failures} failed (slowest failure {slowest:?})",
        acked.len()
    );
    for (key, rev) in &acked {
        let kv = store
            .get(key.as_bytes())
            .await
            .expect("get")
            .kv
            .unwrap_or_else(|| panic!("acknowledged {key} is missing"));
        assert_eq!(kv.mod_revision, *rev, "{key}");
    }
    let rev = store
        .create(b"/outage/last", Bytes::from("x"))
        .await
        .expect("create after the restart");
    loop {
        let event = tokio::time::timeout(FAIL_FAST, again.next())
            .await
            .expect("an event")
            .expect("the watch goes on")
            .expect("no error");
        if event.revision == rev {
            break;
        }
    }
}
