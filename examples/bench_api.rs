//! Benchmark through the API: concurrent ConfigMap creates (rate, p50/p99 latency) and, optionally,
//! watch delivery delay seen through another replica.
//!
//! ```text
//! cargo build --workspace --all-targets
//! target/debug/examples/bench_api --kubeconfig A/admin.kubeconfig [--clients 32] [--seconds 10] \
//!     [--watch-kubeconfig B/admin.kubeconfig]
//! ```
//!
//! `examples/bench_api.sh` runs it on every backend next to the raw ceilings (docs/benchmarks.md).
//! Watch delay is the time from a create's acknowledgement to its ADDED event (0 when the event came
//! first), and from the create being sent to its ADDED event. With `--watch-kubeconfig` the watch
//! runs through a second server (replica B of the same store: cross-replica watch delay); without
//! it, through the first.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, ObjectMeta, PostParams, WatchEvent, WatchParams};
use tokio::sync::Mutex;

#[derive(Parser)]
struct Args {
    /// Kubeconfig of the server the creates go to.
    #[arg(long)]
    kubeconfig: PathBuf,
    /// Kubeconfig of the server the watch goes to (default: the same).
    #[arg(long)]
    watch_kubeconfig: Option<PathBuf>,
    /// Concurrent clients, each creating ConfigMaps one after another.
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// How long to create.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
}

async fn client(kubeconfig: &PathBuf) -> anyhow::Result<kube::Client> {
    let config = kube::Config::from_custom_kubeconfig(
        kube::config::Kubeconfig::read_from(kubeconfig)?,
        &Default::default(),
    )
    .await?;
    Ok(kube::Client::try_from(config)?)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let writer = client(&args.kubeconfig).await?;
    let watcher = match &args.watch_kubeconfig {
        Some(path) => client(path).await?,
        None => writer.clone(),
    };
    let namespace = format!("bench-{}", std::process::id());
    let namespaces: Api<Namespace> = Api::all(writer.clone());
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some(namespace.clone()),
            ..Default::default()
        },
        ..Default::default()
    };
    namespaces.create(&PostParams::default(), &ns).await?;

    // Arrival time of each ADDED event, by name.
    let arrived: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let watched: Api<ConfigMap> = Api::namespaced(watcher, &namespace);
    let mut stream = watched
        .watch(&WatchParams::default().timeout(290), "0")
        .await?
        .boxed();
    let watch_task = {
        let arrived = arrived.clone();
        tokio::spawn(async move {
            while let Some(event) = stream.next().await {
                if let Ok(WatchEvent::Added(cm)) = event {
                    let now = Instant::now();
                    arrived
                        .lock()
                        .await
                        .insert(cm.metadata.name.unwrap_or_default(), now);
                }
            }
        })
    };

    let api: Api<ConfigMap> = Api::namespaced(writer, &namespace);
    let data: std::collections::BTreeMap<String, String> =
        [("payload".to_string(), "x".repeat(256))].into();
    let start = Instant::now();
    let deadline = start + Duration::from_secs(args.seconds);
    let tasks: Vec<_> = (0..args.clients)
        .map(|c| {
            let (api, data) = (api.clone(), data.clone());
            tokio::spawn(async move {
                // (name, sent, acknowledged)
                let mut writes = Vec::new();
                let mut i = 0;
                while Instant::now() < deadline {
                    let name = format!("cm-{c}-{i}");
                    let cm = ConfigMap {
                        metadata: ObjectMeta {
                            name: Some(name.clone()),
                            ..Default::default()
                        },
                        data: Some(data.clone()),
                        ..Default::default()
                    };
                    let sent = Instant::now();
                    api.create(&PostParams::default(), &cm).await?;
                    writes.push((name, sent, Instant::now()));
                    i += 1;
                }
                Ok::<_, kube::Error>(writes)
            })
        })
        .collect();
    let mut writes = Vec::new();
    for task in tasks {
        writes.extend(task.await??);
    }
    let elapsed = start.elapsed();
    // Let the last events arrive.
    tokio::time::sleep(Duration::from_secs(2)).await;
    watch_task.abort();
    let arrived = arrived.lock().await;
    let mut latencies = Vec::new();
    let (mut after_ack, mut after_send, mut missing) = (Vec::new(), Vec::new(), 0);
    for (name, sent, acked) in &writes {
        latencies.push(*acked - *sent);
        match arrived.get(name) {
            Some(at) => {
                after_ack.push(at.saturating_duration_since(*acked));
                after_send.push(*at - *sent);
            }
            None => missing += 1,
        }
    }
    for list in [&mut latencies, &mut after_ack, &mut after_send] {
        list.sort();
    }
    println!(
        "creates: {} in {:.1} s = {:.0}/s with {} clients; latency p50 {} p99 {}",
        writes.len(),
        elapsed.as_secs_f64(),
        writes.len() as f64 / elapsed.as_secs_f64(),
        args.clients,
        ms(percentile(&latencies, 0.5)),
        ms(percentile(&latencies, 0.99)),
    );
    println!(
        "watch delay after ack: p50 {} p99 {}; after send: p50 {} p99 {}; {} of {} creates never seen",
        ms(percentile(&after_ack, 0.5)),
        ms(percentile(&after_ack, 0.99)),
        ms(percentile(&after_send, 0.5)),
        ms(percentile(&after_send, 0.99)),
        missing,
        writes.len(),
    );
    Ok(())
}
