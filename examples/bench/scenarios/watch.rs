//! Watch fan-out: W watchers of one namespace's ConfigMaps, each on its own connection, then E
//! creates at about 10 per second. The delivery delay of an event to a watcher is its arrival time
//! minus the time its create was sent.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, StatusCode};
use http_body_util::BodyExt as _;
use hyper::body::Incoming;

use super::{configmap, ensure_namespace, Ctx};
use crate::client::{number_after, take_lines, Conn};
use crate::report::thousands;
use crate::stats::{Kind, Phase};

const NAMESPACE: &str = "bench-fan";
const NAME_PREFIX: &[u8] = b"\"name\":\"fan-";
/// The start of an ADDED event's line.
pub const ADDED: &[&[u8]] = &[b"{\"type\":\"ADDED\""];

/// Reads a watch until it has seen `expected` events of `kind` or `stop` fires; returns each
/// event's number (from `number_prefix`) and arrival time.
pub async fn follow(
    body: Incoming,
    kinds: &'static [&'static [u8]],
    number_prefix: &'static [u8],
    expected: usize,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Vec<(usize, Instant)> {
    let mut body = Box::pin(body);
    let mut buffer = Vec::new();
    let mut seen = Vec::with_capacity(expected);
    while seen.len() < expected {
        tokio::select! {
            frame = body.frame() => {
                let Some(Ok(frame)) = frame else { break };
                let Ok(data) = frame.into_data() else { continue };
                let now = Instant::now();
                buffer.extend_from_slice(&data);
                for line in take_lines(&mut buffer) {
                    if !kinds.iter().any(|kind| line.starts_with(kind)) {
                        continue;
                    }
                    if let Some(n) = number_after(&line, number_prefix) {
                        seen.push((n, now));
                    }
                }
            }
            _ = stop.changed() => break,
        }
    }
    seen
}

/// Opens a watch of each path, each on a new connection (handshakes 50 at a time); returns the
/// connections (to keep them open) and the watches' bodies.
pub async fn open_watches(
    ctx: &Ctx,
    paths: Vec<String>,
) -> anyhow::Result<(Vec<Conn>, Vec<Incoming>)> {
    let mut conns = ctx.connect_many(paths.len()).await?;
    let mut bodies = Vec::with_capacity(paths.len());
    // The requests go out one after another; each waits only for its answer's headers.
    for (conn, path) in conns.iter_mut().zip(&paths) {
        let (status, body) = conn.open_stream(Method::GET, path).await?;
        anyhow::ensure!(status == StatusCode::OK, "watch {path}: {status}");
        bodies.push(body);
    }
    Ok((conns, bodies))
}

pub async fn run(ctx: &Ctx, watchers: usize, events: usize) -> anyhow::Result<Phase> {
    let mut sender = ctx.target.connect().await?;
    ensure_namespace(&mut sender, NAMESPACE).await?;
    let path = format!("/api/v1/namespaces/{NAMESPACE}/configmaps?watch=1&timeoutSeconds=1800");
    let (conns, bodies) = open_watches(ctx, vec![path; watchers]).await?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let readers: Vec<_> = bodies
        .into_iter()
        .map(|body| tokio::spawn(follow(body, ADDED, NAME_PREFIX, events, stop_rx.clone())))
        .collect();
    ctx.record_rss(&format!("{} watchers open", thousands(watchers as u64)));
    // Let every watch settle on the server before the first event.
    tokio::time::sleep(Duration::from_secs(1)).await;

    let mark = ctx.cpu_mark();
    let start = Instant::now();
    let mut sent: Vec<Option<Instant>> = vec![None; events];
    let mut ticker = tokio::time::interval(Duration::from_millis(100));
    let body_payload = "x".repeat(256);
    let mut send_errors = 0u64;
    for (i, slot) in sent.iter_mut().enumerate() {
        ticker.tick().await;
        let name = format!("fan-{i}");
        let body: Bytes = configmap(NAMESPACE, &name, None, &body_payload);
        let path = format!("/api/v1/namespaces/{NAMESPACE}/configmaps");
        let at = Instant::now();
        match sender.send(Method::POST, &path, Some(body)).await {
            Ok((status, _)) if status.is_success() => *slot = Some(at),
            Ok((status, answer)) => {
                send_errors += 1;
                eprintln!(
                    "watch: create {name}: {status} {}",
                    String::from_utf8_lossy(&answer)
                );
            }
            Err(err) => {
                send_errors += 1;
                eprintln!("watch: create {name}: {err:#}");
                sender = ctx.target.connect().await?;
            }
        }
    }
    // Readers end when they have every event; stragglers are stopped after 5 s.
    let stopper = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(5)).await;
        let _ = stop_tx.send(true);
    });
    let results = futures::future::join_all(readers).await;
    stopper.abort();
    let elapsed = start.elapsed();
    drop(conns);

    let mut delays = Vec::with_capacity(watchers * events);
    let mut unknown = 0u64;
    for result in results {
        for (n, at) in result? {
            match sent.get(n).copied().flatten() {
                Some(sent_at) => delays.push(at.saturating_duration_since(sent_at)),
                None => unknown += 1,
            }
        }
    }
    let delivered_events = events as u64 - send_errors;
    let expected = watchers as u64 * delivered_events;
    let missing = expected.saturating_sub(delays.len() as u64);
    let mut phase = Phase::from_latencies(
        "watch-fanout",
        &format!(
            "watch fan-out: {} watchers, {} events at 10/s",
            thousands(watchers as u64),
            events
        ),
        Kind::Delay,
        delays,
        missing,
        elapsed,
    );
    ctx.charge_cpu(&mark, &mut phase);
    phase.note = format!(
        "{} of {} deliveries; {send_errors} failed creates; {unknown} unknown events; CPU per delivery",
        thousands(phase.count),
        thousands(expected)
    );
    ctx.objects
        .fetch_add(delivered_events, std::sync::atomic::Ordering::Relaxed);
    println!("{}", phase.summary());
    Ok(phase)
}
