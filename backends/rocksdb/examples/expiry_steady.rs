//! A measurement, not a test: Events written at a steady rate with a TTL of one simulated hour
//! over a simulated day, printing every simulated hour how many keys are live and how large the
//! database directory is. With expiry working, both level off after the first hour at about
//! `rate * ttl` keys, instead of growing all day.
//!
//! `cargo run --release -p apiary-rocksdb --example expiry_steady -- [events] [day_seconds] [writers]`
//!
//! Defaults: 1 000 000 Events over a day compressed into 240 s (a TTL of 10 s, 4 167 writes/s),
//! 16 writers, WAL sync off, background compaction every 5 s keeping 10 000 revisions.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use apiary_rocksdb::{open, RocksDbOptions};
use apiary_storage::{expiry_slack, Storage};
use bytes::Bytes;

const PREFIX: &str = "/registry/events/default/";

/// The bytes of the files directly in `dir` (RocksDB keeps its files in one directory).
fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let events: u64 = args.next().map_or(Ok(1_000_000), |s| s.parse())?;
    let day_seconds: u64 = args.next().map_or(Ok(240), |s| s.parse())?;
    let writers: u64 = args.next().map_or(Ok(16), |s| s.parse())?;
    let day = Duration::from_secs(day_seconds.max(24));
    let hour = day / 24;
    let rate = events as f64 / day.as_secs_f64();
    let dir = tempfile::tempdir()?;
    let store = open(RocksDbOptions {
        sync: false,
        compaction_interval: Duration::from_secs(5),
        keep_revisions: 10_000,
        ..RocksDbOptions::new(dir.path())
    })
    .await?;
    let value = Bytes::from(vec![b'e'; 600]);
    println!(
        "{events} events over {day:?} ({rate:.0}/s), ttl {hour:?}: expect about {:.0} live keys",
        rate * hour.as_secs_f64()
    );
    println!("hour  written  live_keys  dir_MiB");

    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|_| {
            let (store, value, next) = (store.clone(), value.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    let seq = next.fetch_add(1, Ordering::Relaxed);
                    if seq >= events {
                        return Ok::<_, apiary_storage::Error>(());
                    }
                    // Pace to the rate: event `seq` is due at `seq / rate` seconds.
                    let due = start + Duration::from_secs_f64(seq as f64 / rate);
                    tokio::time::sleep_until(due.into()).await;
                    let key = format!("{PREFIX}e{seq:08}");
                    store
                        .create_with_ttl(key.as_bytes(), value.clone(), Some(hour))
                        .await?;
                }
            })
        })
        .collect();

    let report = |h: u32, store: Arc<apiary_rocksdb::RocksDbStorage>, dir: &Path| {
        let dir = dir.to_path_buf();
        let written = next.load(Ordering::Relaxed).min(events);
        async move {
            let live = store.count(PREFIX.as_bytes()).await.unwrap_or(0);
            let mib = dir_bytes(&dir) as f64 / (1 << 20) as f64;
            println!("{h:>4}  {written:>7}  {live:>9}  {mib:>7.1}");
        }
    };
    for h in 1..=24u32 {
        tokio::time::sleep_until((start + hour * h).into()).await;
        report(h, store.clone(), dir.path()).await;
    }
    for task in tasks {
        task.await??;
    }
    // After the last TTL and the sweep's slack, nothing is left.
    tokio::time::sleep(hour + expiry_slack(hour)).await;
    report(25, store.clone(), dir.path()).await;
    println!(
        "took {:?} (hour 25: one TTL after the day)",
        start.elapsed()
    );
    Ok(())
}
