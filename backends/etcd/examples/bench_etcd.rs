//! Write throughput for 1, 2, 4 and 8 gRPC connections: raw etcd puts (the ceiling), raw guarded
//! transactions (the create's own transaction through etcd-client) and `Storage::create` with
//! `EtcdOptions::connections` set to the same count, all from concurrent tasks, with latency
//! percentiles and a summary table for choosing `storage.etcd.connections`.
//!
//! `cargo run --release -p apiary-etcd --features testing --example bench_etcd -- [tasks] [seconds] [endpoint...]`
//!
//! Defaults: 32 tasks, 5 seconds a phase, 1 KiB values. `BENCH_ETCD_CONNECTIONS=1,4` measures
//! other counts. Without endpoints it starts a throwaway single member (`TempEtcd`). Each phase's
//! keys are deleted and etcd is compacted afterwards, so the runs do not fill etcd's quota.

use std::sync::Arc;
use std::time::{Duration, Instant};

use apiary_etcd::testing::TempEtcd;
use apiary_etcd::{open, EtcdOptions};
use apiary_storage::Storage;
use bytes::Bytes;
use etcd_client::{
    Client, CompactionOptions, Compare, CompareOp, DeleteOptions, KvClient, Txn, TxnOp,
};

/// What one phase measured.
struct Rate {
    per_second: f64,
    p50: Duration,
    p99: Duration,
}

/// Runs `op(task, i)` from `tasks` tasks for `seconds`; prints and returns the rate and latency
/// percentiles.
async fn run<F, Fut>(name: &str, tasks: usize, seconds: u64, op: F) -> Rate
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
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    let rate = Rate {
        per_second: latencies.len() as f64 / secs,
        p50: pct(0.50),
        p99: pct(0.99),
    };
    println!(
        "{name:<36} {tasks} tasks: {:>6} writes in {secs:.1}s = {:>6.0} writes/s, p50 {:>7.2?}, p99 {:>7.2?}",
        latencies.len(),
        rate.per_second,
        rate.p50,
        rate.p99,
    );
    rate
}

/// `n` etcd-client clients (one gRPC channel, so one connection, each), as etcd's benchmark tool
/// opens with `--conns`.
async fn raw_clients(endpoints: &[String], n: usize) -> Result<Vec<KvClient>, etcd_client::Error> {
    let mut kvs = Vec::with_capacity(n);
    for _ in 0..n {
        kvs.push(Client::connect(endpoints, None).await?.kv_client());
    }
    Ok(kvs)
}

/// Deletes every key under `prefix` and compacts etcd to that revision, waiting until the
/// compaction is applied.
async fn clean(kv: &mut KvClient, prefix: &str) -> Result<(), etcd_client::Error> {
    let deleted = kv
        .delete(prefix, Some(DeleteOptions::new().with_prefix()))
        .await?;
    let revision = deleted.header().map_or(0, |h| h.revision());
    if revision > 0 {
        kv.compact(revision, Some(CompactionOptions::new().with_physical()))
            .await?;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let tasks: usize = args.next().map_or(Ok(32), |s| s.parse())?;
    let seconds: u64 = args.next().map_or(Ok(5), |s| s.parse())?;
    let mut endpoints: Vec<String> = args.collect();
    let counts: Vec<usize> = match std::env::var("BENCH_ETCD_CONNECTIONS") {
        Ok(list) => list
            .split(',')
            .map(|s| s.trim().parse::<usize>())
            .collect::<Result<Vec<usize>, _>>()?,
        Err(_) => vec![1, 2, 4, 8],
    };
    let _etcd;
    if endpoints.is_empty() {
        _etcd = TempEtcd::start();
        endpoints = _etcd.endpoints();
    }
    let value = Bytes::from(vec![b'x'; 1024]);
    let run_id = std::process::id();
    let mut admin = Client::connect(&endpoints, None).await?.kv_client();
    let mut table = Vec::new();

    for &n in &counts {
        let n = n.max(1);
        let kvs = Arc::new(raw_clients(&endpoints, n).await?);

        let (clients, v) = (kvs.clone(), value.to_vec());
        let put = run(
            &format!("raw etcd put, {n} conns"),
            tasks,
            seconds,
            move |t, i| {
                let mut kv = clients[(t + i as usize) % clients.len()].clone();
                let v = v.clone();
                async move {
                    let key = format!("/bench/{run_id}/raw/{n}/{t}/{i}");
                    kv.put(key, v, None)
                        .await
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                }
            },
        )
        .await;
        clean(&mut admin, &format!("/bench/{run_id}/")).await?;

        let (clients, v) = (kvs.clone(), value.to_vec());
        let txn = run(
            &format!("raw etcd txn (create guard), {n} conns"),
            tasks,
            seconds,
            move |t, i| {
                let mut kv = clients[(t + i as usize) % clients.len()].clone();
                let v = v.clone();
                async move {
                    let key = format!("/bench/{run_id}/txn/{n}/{t}/{i}");
                    let txn = Txn::new()
                        .when([Compare::create_revision(key.clone(), CompareOp::Equal, 0)])
                        .and_then([TxnOp::put(key.clone(), v, None)])
                        .or_else([TxnOp::get(key, None)]);
                    kv.txn(txn).await.map(|_| ()).map_err(|e| e.to_string())
                }
            },
        )
        .await;
        clean(&mut admin, &format!("/bench/{run_id}/")).await?;

        let store = open(EtcdOptions {
            strip: b"/registry".to_vec(),
            prefix: b"/bench".to_vec(),
            compaction_interval: Duration::ZERO,
            connections: n,
            ..EtcdOptions::new(endpoints.clone())
        })
        .await?;
        let (s, v) = (store.clone(), value.clone());
        let create = run(
            &format!("Storage::create, {n} conns"),
            tasks,
            seconds,
            move |t, i| {
                let (s, v) = (s.clone(), v.clone());
                async move {
                    let key = format!("/registry/{run_id}/create/{n}/{t}/{i}");
                    s.create(key.as_bytes(), v)
                        .await
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                }
            },
        )
        .await;
        drop(store);
        clean(&mut admin, &format!("/bench/{run_id}/")).await?;
        table.push((n, put, txn, create));
    }

    println!();
    println!(
        "| connections | raw put/s | raw txn/s | Storage::create/s | create p50 | create p99 |"
    );
    println!("|---|---|---|---|---|---|");
    for (n, put, txn, create) in &table {
        println!(
            "| {n} | {:.0} | {:.0} | {:.0} | {:.2?} | {:.2?} |",
            put.per_second, txn.per_second, create.per_second, create.p50, create.p99
        );
    }
    Ok(())
}
