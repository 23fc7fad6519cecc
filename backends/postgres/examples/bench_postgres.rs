//! A rough write benchmark of the PostgreSQL backend against the database's own ceiling.
//!
//! `cargo run --release -p apiary-postgres --features testing --example bench_postgres -- [writers] [seconds]`
//!
//! Uses `APIARY_BENCH_URL` when set, else a throwaway cluster (`testing::TempPostgres`, fsync on);
//! `APIARY_BENCH_PIPELINE` sets [`PostgresOptions::write_pipeline`].
//! Measures, with `writers` concurrent tasks (default 32) for `seconds` each (default 5):
//! 1. raw: one-row durable `INSERT` transactions on `writers` connections (the ceiling);
//! 2. store: `create` of 512-byte values, with p50/p99 latency;
//! 3. cross-replica watch delay: a watch on a second store on the same database, from a write's
//!    acknowledgement on the first store to its event on the second — under the load of (2), and
//!    at a light load of 100 writes/s.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use apiary_postgres::{open, PostgresOptions};
use apiary_storage::Storage;
use bytes::Bytes;
use futures::StreamExt;

type Acks = Arc<Mutex<HashMap<i64, Instant>>>;
type Arrivals = Arc<Mutex<HashMap<i64, Instant>>>;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let writers: usize = args.next().map_or(Ok(32), |s| s.parse())?;
    let seconds: u64 = args.next().map_or(Ok(5), |s| s.parse())?;
    let run_for = Duration::from_secs(seconds);
    let (_cluster, url) = match std::env::var("APIARY_BENCH_URL") {
        Ok(url) => (None, url),
        Err(_) => {
            let pg = apiary_postgres::testing::TempPostgres::start();
            let url = pg.create_database("bench");
            (Some(pg), url)
        }
    };

    // 1. The ceiling: raw durable single-row INSERT transactions.
    let raw_pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(writers as u32)
        .connect(&url)
        .await?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS bench_raw (id bigserial PRIMARY KEY, key bytea, value bytea)",
    )
    .execute(&raw_pool)
    .await?;
    let value = vec![b'x'; 512];
    let done = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let (pool, value, done) = (raw_pool.clone(), value.clone(), done.clone());
            tokio::spawn(async move {
                let mut i = 0u64;
                while start.elapsed() < run_for {
                    sqlx::query("INSERT INTO bench_raw (key, value) VALUES ($1, $2)")
                        .bind(format!("/raw/{w}/{i}").into_bytes())
                        .bind(&value)
                        .execute(&pool)
                        .await?;
                    done.fetch_add(1, Ordering::Relaxed);
                    i += 1;
                }
                Ok::<_, sqlx::Error>(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    let raw_rate = done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64();
    println!("raw INSERT, {writers} connections: {raw_rate:.0} tx/s");
    raw_pool.close().await;

    // 2. store.create, watched from a second store (another replica).
    let pipeline = std::env::var("APIARY_BENCH_PIPELINE").map_or(Ok(1), |s| s.parse())?;
    let opts = PostgresOptions {
        max_connections: writers as u32,
        write_pipeline: pipeline,
        compaction_interval: Duration::ZERO,
        watch_buffer: 4096,
        ..PostgresOptions::new(url.clone())
    };
    let store = open(opts.clone()).await?;
    let replica = open(opts).await?;
    let acks: Acks = Arc::default();
    let (arrivals, watcher) = follow(&replica).await?;
    let value = Bytes::from(vec![b'x'; 512]);
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let start = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let (store, value) = (store.clone(), value.clone());
            let (acks, latencies) = (acks.clone(), latencies.clone());
            tokio::spawn(async move {
                let mut i = 0u64;
                let mut mine = Vec::new();
                while start.elapsed() < run_for {
                    let key = format!("/registry/bench/{w}/{i}");
                    let t = Instant::now();
                    let rev = store.create(key.as_bytes(), value.clone()).await?;
                    let now = Instant::now();
                    mine.push(now - t);
                    acks.lock().unwrap().insert(rev, now);
                    i += 1;
                }
                latencies.lock().unwrap().extend(mine);
                Ok::<_, apiary_storage::Error>(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let mut lat = latencies.lock().unwrap().clone();
    lat.sort();
    let rate = lat.len() as f64 / elapsed;
    println!(
        "store.create, {writers} tasks, pipeline {pipeline}: {rate:.0} writes/s ({:.0}% of raw), latency p50 {:?} p99 {:?}",
        100.0 * rate / raw_rate,
        pct(&lat, 50),
        pct(&lat, 99)
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    report("under load", &acks, &arrivals);

    // 3. Light load: 100 writes/s from one task.
    let acks: Acks = Arc::default();
    arrivals.lock().unwrap().clear();
    for i in 0..300 {
        let rev = store
            .create(format!("/registry/light/{i}").as_bytes(), value.clone())
            .await?;
        acks.lock().unwrap().insert(rev, Instant::now());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    report("at 100 writes/s", &acks, &arrivals);
    watcher.abort();

    let t = Instant::now();
    let list = store
        .list(apiary_storage::ListRequest {
            prefix: b"/registry/bench/".to_vec(),
            limit: 500,
            ..Default::default()
        })
        .await?;
    println!(
        "list of {} keys (limit 500): {:?}",
        list.kvs.len(),
        t.elapsed()
    );
    Ok(())
}

/// Watches everything on `store`, recording when each revision arrives.
async fn follow(
    store: &Arc<apiary_postgres::PostgresStore>,
) -> Result<(Arrivals, tokio::task::JoinHandle<()>), apiary_storage::Error> {
    let arrivals: Arrivals = Arc::default();
    let mut stream = store.watch(b"/registry/", 0).await?;
    let seen = arrivals.clone();
    let task = tokio::spawn(async move {
        while let Some(event) = stream.next().await {
            match event {
                Ok(e) => {
                    seen.lock().unwrap().insert(e.revision, Instant::now());
                }
                Err(err) => {
                    eprintln!("watch ended: {err}");
                    return;
                }
            }
        }
    });
    Ok((arrivals, task))
}

/// Prints the delay from acknowledgement to arrival on the other replica.
fn report(what: &str, acks: &Acks, arrivals: &Arrivals) {
    let (acks, arrivals) = (acks.lock().unwrap(), arrivals.lock().unwrap());
    let mut delays: Vec<Duration> = acks
        .iter()
        .filter_map(|(rev, ack)| {
            arrivals
                .get(rev)
                .map(|at| at.saturating_duration_since(*ack))
        })
        .collect();
    delays.sort();
    println!(
        "cross-replica watch delay {what}: {} of {} events, p50 {:?} p99 {:?} max {:?}",
        delays.len(),
        acks.len(),
        pct(&delays, 50),
        pct(&delays, 99),
        delays.last().copied().unwrap_or_default()
    );
}

fn pct(sorted: &[Duration], p: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}
