//! A rough write benchmark: N concurrent writers creating keys, sync on (group commit).
//!
//! `cargo run --release -p apiary-rocksdb --example bench_rocksdb -- [writers] [seconds] [sync]`

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use apiary_rocksdb::{open, RocksDbOptions};
use apiary_storage::Storage;
use bytes::Bytes;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let writers: usize = args.next().map_or(Ok(32), |s| s.parse())?;
    let seconds: u64 = args.next().map_or(Ok(5), |s| s.parse())?;
    let sync = args.next().is_none_or(|s| s != "nosync");
    let dir = tempfile::tempdir()?;
    let opts = RocksDbOptions {
        sync,
        compaction_interval: Duration::ZERO,
        ..RocksDbOptions::new(dir.path())
    };
    let store = open(opts).await?;
    let value = Bytes::from(vec![b'x'; 512]);
    let done = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let (store, value, done) = (store.clone(), value.clone(), done.clone());
            tokio::spawn(async move {
                let mut i = 0u64;
                while Instant::now() < deadline {
                    let key = format!("/registry/bench/{w}/{i}");
                    store.create(key.as_bytes(), value.clone()).await?;
                    done.fetch_add(1, Ordering::Relaxed);
                    i += 1;
                }
                Ok::<_, apiary_storage::Error>(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    let n = done.load(Ordering::Relaxed);
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{writers} writers, sync={sync}: {n} writes in {secs:.1}s = {:.0} writes/s",
        n as f64 / secs
    );

    let t = Instant::now();
    let list = store
        .list(apiary_storage::ListRequest {
            prefix: b"/registry/bench/".to_vec(),
            ..Default::default()
        })
        .await?;
    println!("list of {} keys: {:?}", list.kvs.len(), t.elapsed());
    Ok(())
}
