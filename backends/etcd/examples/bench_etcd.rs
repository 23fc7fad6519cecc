//! Write throughput: raw etcd puts (the ceiling) against `Storage::create`, both from concurrent
//! tasks, with latency percentiles.
//!
//! `cargo run --release -p apiary-etcd --features testing --example bench_etcd -- [tasks] [seconds] [endpoint...]`
//!
//! Without endpoints it starts a throwaway single member (`TempEtcd`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use apiary_etcd::testing::TempEtcd;
use apiary_etcd::{open, EtcdOptions};
use apiary_storage::Storage;
use bytes::Bytes;

/// Runs `op(task, i)` from `tasks` tasks for `seconds`; prints the rate and latency percentiles.
async fn run<F, Fut>(name: &str, tasks: usize, seconds: u64, op: F)
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send,
{
    let op = Arc::new(op);
    let start = Instant::now();
    let deadline = start + Duration::from_secs(seconds);
    let handles: Vec<_> = (0..tasks)
        .map(|t| {
            let op = op.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut i = 0;
                while Instant::now() < deadline {
                    let began = Instant::now();
                    op(t, i).await.expect("write");
                    latencies.push(began.elapsed());
                    i += 1;
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for handle in handles {
        latencies.extend(handle.await.expect("task"));
    }
    let secs = start.elapsed().as_secs_f64();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "{name:<28} {tasks} tasks: {:>6} writes in {secs:.1}s = {:>6.0} writes/s, p50 {:>7.2?}, p99 {:>7.2?}",
        latencies.len(),
        latencies.len() as f64 / secs,
        pct(0.50),
        pct(0.99),
    );
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let tasks: usize = args.next().map_or(Ok(32), |s| s.parse())?;
    let seconds: u64 = args.next().map_or(Ok(5), |s| s.parse())?;
    let mut endpoints: Vec<String> = args.collect();
    let _etcd;
    if endpoints.is_empty() {
        _etcd = TempEtcd::start();
        endpoints = _etcd.endpoints();
    }
    let value = Bytes::from(vec![b'x'; 512]);
    let run_id = std::process::id();

    let client = etcd_client::Client::connect(&endpoints, None).await?;
    let (kv, v) = (client.kv_client(), value.to_vec());
    run("raw etcd put", tasks, seconds, move |t, i| {
        let (mut kv, v) = (kv.clone(), v.clone());
        async move {
            let key = format!("/bench/{run_id}/raw/{t}/{i}");
            kv.put(key, v, None)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
    })
    .await;

    let (kv, v) = (client.kv_client(), value.to_vec());
    run(
        "raw etcd txn (create guard)",
        tasks,
        seconds,
        move |t, i| {
            let (mut kv, v) = (kv.clone(), v.clone());
            async move {
                use etcd_client::{Compare, CompareOp, Txn, TxnOp};
                let key = format!("/bench/{run_id}/txn/{t}/{i}");
                let txn = Txn::new()
                    .when([Compare::create_revision(key.clone(), CompareOp::Equal, 0)])
                    .and_then([TxnOp::put(key.clone(), v, None)])
                    .or_else([TxnOp::get(key, None)]);
                kv.txn(txn).await.map(|_| ()).map_err(|e| e.to_string())
            }
        },
    )
    .await;

    let store = open(EtcdOptions {
        strip: b"/registry".to_vec(),
        prefix: b"/bench".to_vec(),
        compaction_interval: Duration::ZERO,
        ..EtcdOptions::new(endpoints.clone())
    })
    .await?;
    let (s, v) = (store.clone(), value.clone());
    run("Storage::create", tasks, seconds, move |t, i| {
        let (s, v) = (s.clone(), v.clone());
        async move {
            let key = format!("/registry/{run_id}/create/{t}/{i}");
            s.create(key.as_bytes(), v)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
    })
    .await;
    Ok(())
}
