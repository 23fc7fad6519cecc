//! A kubelet-like mix: N "nodes" each watch pods with `fieldSelector=spec.nodeName=node-i` (as a
//! kubelet does), while a creator makes unbound pods and a binder binds each one
//! (`POST pods/<p>/binding`) to node `p mod N`. Measured: the delay from a bind's acknowledgement
//! to the node's ADDED or MODIFIED event, and exactness (every node sees exactly its pods).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, StatusCode};
use tokio::sync::{mpsc, Mutex};

use super::watch::{follow, open_watches};
use super::{ensure_namespace, Ctx};
use crate::report::thousands;
use crate::stats::{Kind, Phase};

const NAMESPACE: &str = "bench-kubelet";
const NAME_PREFIX: &[u8] = b"\"name\":\"kp-";
const EVENTS: &[&[u8]] = &[b"{\"type\":\"ADDED\"", b"{\"type\":\"MODIFIED\""];
/// Connections of the creator and of the binder.
const WRITERS: usize = 4;

fn pod(name: &str) -> Bytes {
    Bytes::from(format!(
        r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"{name}","namespace":"{NAMESPACE}"}},"spec":{{"containers":[{{"name":"c","image":"registry.k8s.io/pause:3.10"}}]}}}}"#
    ))
}

fn binding(name: &str, node: &str) -> Bytes {
    Bytes::from(format!(
        r#"{{"apiVersion":"v1","kind":"Binding","metadata":{{"name":"{name}","namespace":"{NAMESPACE}"}},"target":{{"apiVersion":"v1","kind":"Node","name":"{node}"}}}}"#
    ))
}

/// What the creator and binder tasks report.
#[derive(Default)]
struct Writes {
    create_latencies: Vec<Duration>,
    create_errors: u64,
    bind_latencies: Vec<Duration>,
    bind_errors: u64,
    /// Pod number -> when its binding was acknowledged.
    acked: HashMap<usize, Instant>,
}

pub async fn run(ctx: &Ctx, nodes: usize, pods: usize) -> anyhow::Result<Vec<Phase>> {
    let mut setup = ctx.target.connect().await?;
    ensure_namespace(&mut setup, NAMESPACE).await?;
    // The ServiceAccount admission plugin wants the namespace's `default` account.
    let account = format!(
        r#"{{"apiVersion":"v1","kind":"ServiceAccount","metadata":{{"name":"default","namespace":"{NAMESPACE}"}}}}"#
    );
    let (status, _) = setup
        .send(
            Method::POST,
            &format!("/api/v1/namespaces/{NAMESPACE}/serviceaccounts"),
            Some(Bytes::from(account)),
        )
        .await?;
    anyhow::ensure!(
        status.is_success() || status == StatusCode::CONFLICT,
        "creating the default ServiceAccount: {status}"
    );

    let paths: Vec<String> = (0..nodes)
        .map(|i| {
            format!(
                "/api/v1/pods?watch=1&timeoutSeconds=1800&fieldSelector=spec.nodeName%3Dnode-{i}"
            )
        })
        .collect();
    let (conns, bodies) = open_watches(ctx, paths).await?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let readers: Vec<_> = bodies
        .into_iter()
        .enumerate()
        .map(|(i, body)| {
            // Node i gets every pod p with p mod nodes == i.
            let expected = (pods + nodes - 1 - i) / nodes;
            tokio::spawn(follow(body, EVENTS, NAME_PREFIX, expected, stop_rx.clone()))
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;

    let writes = Arc::new(Mutex::new(Writes::default()));
    let (to_bind, bind_queue) = mpsc::unbounded_channel::<usize>();
    let bind_queue = Arc::new(Mutex::new(bind_queue));
    let next_pod = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mark = ctx.cpu_mark();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..WRITERS {
        let (mut conn, writes, to_bind, next_pod) = (
            ctx.target.connect().await?,
            writes.clone(),
            to_bind.clone(),
            next_pod.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let path = format!("/api/v1/namespaces/{NAMESPACE}/pods");
            loop {
                let p = next_pod.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if p >= pods {
                    break;
                }
                let began = Instant::now();
                let answer = conn
                    .send(Method::POST, &path, Some(pod(&format!("kp-{p}"))))
                    .await;
                let mut writes = writes.lock().await;
                match answer {
                    Ok((status, _)) if status.is_success() => {
                        writes.create_latencies.push(began.elapsed());
                        let _ = to_bind.send(p);
                    }
                    Ok((status, body)) => {
                        if writes.create_errors == 0 {
                            eprintln!("pod create: {status} {}", String::from_utf8_lossy(&body));
                        }
                        writes.create_errors += 1;
                    }
                    Err(_) => writes.create_errors += 1,
                }
            }
        }));
    }
    drop(to_bind);
    for _ in 0..WRITERS {
        let (mut conn, writes, bind_queue) = (
            ctx.target.connect().await?,
            writes.clone(),
            bind_queue.clone(),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let next = bind_queue.lock().await.recv().await;
                let Some(p) = next else { break };
                let path = format!("/api/v1/namespaces/{NAMESPACE}/pods/kp-{p}/binding");
                let body = binding(&format!("kp-{p}"), &format!("node-{}", p % nodes));
                let began = Instant::now();
                let answer = conn.send(Method::POST, &path, Some(body)).await;
                let acked = Instant::now();
                let mut writes = writes.lock().await;
                match answer {
                    Ok((status, _)) if status.is_success() => {
                        writes.bind_latencies.push(acked - began);
                        writes.acked.insert(p, acked);
                    }
                    Ok((status, body)) => {
                        if writes.bind_errors == 0 {
                            eprintln!("pod binding: {status} {}", String::from_utf8_lossy(&body));
                        }
                        writes.bind_errors += 1;
                    }
                    Err(_) => writes.bind_errors += 1,
                }
            }
        }));
    }
    for task in tasks {
        task.await?;
    }
    let written = start.elapsed();
    let stopper = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(5)).await;
        let _ = stop_tx.send(true);
    });
    let results = futures::future::join_all(readers).await;
    stopper.abort();
    let elapsed = start.elapsed();
    drop(conns);

    let mut writes = writes.lock().await;
    let mut delays = Vec::with_capacity(pods);
    let (mut wrong_node, mut duplicates, mut missing) = (0u64, 0u64, 0u64);
    for (node, result) in results.into_iter().enumerate() {
        let mut seen = BTreeSet::new();
        for (p, at) in result? {
            if p % nodes != node {
                wrong_node += 1;
                continue;
            }
            if !seen.insert(p) {
                duplicates += 1;
                continue;
            }
            if let Some(acked) = writes.acked.get(&p) {
                delays.push(at.saturating_duration_since(*acked));
            }
        }
        missing += writes
            .acked
            .keys()
            .filter(|p| *p % nodes == node && !seen.contains(*p))
            .count() as u64;
    }
    let exact = wrong_node == 0 && duplicates == 0 && missing == 0;

    let mut phases = Vec::new();
    let creates = std::mem::take(&mut writes.create_latencies);
    let mut create = Phase::from_latencies(
        "kubelet-create",
        "kubelet mix: create unbound pod",
        Kind::Rate,
        creates,
        writes.create_errors,
        written,
    );
    create.note = format!("{WRITERS} connections, alongside the binder");
    let binds = std::mem::take(&mut writes.bind_latencies);
    let mut bind = Phase::from_latencies(
        "kubelet-bind",
        "kubelet mix: bind pod (pods/binding)",
        Kind::Rate,
        binds,
        writes.bind_errors,
        written,
    );
    bind.note = format!("{WRITERS} connections");
    let mut delay = Phase::from_latencies(
        "kubelet-delay",
        &format!("kubelet mix: bind ack to node's event, {nodes} nodes"),
        Kind::Delay,
        delays,
        missing + wrong_node + duplicates,
        elapsed,
    );
    ctx.charge_cpu(&mark, &mut delay);
    delay.note = format!(
        "{} pods; exact: {}; {missing} missing, {wrong_node} on a wrong node, {duplicates} duplicates; CPU per pod (create + bind + event)",
        thousands(writes.acked.len() as u64),
        if exact { "yes" } else { "NO" }
    );
    ctx.objects.fetch_add(
        writes.acked.len() as u64,
        std::sync::atomic::Ordering::Relaxed,
    );
    for phase in [create, bind, delay] {
        println!("{}", phase.summary());
        phases.push(phase);
    }
    Ok(phases)
}
