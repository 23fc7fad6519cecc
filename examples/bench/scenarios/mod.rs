//! The API scenarios and what they share: the run context, a closed-loop load runner (each
//! connection sends its next request when the previous answer is read, like wrk) and the objects
//! they send.

pub mod kubelet;
pub mod lists;
pub mod watch;
pub mod writes;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, StatusCode};

use crate::client::{Conn, Target};
use crate::procfs::{self, CpuClock};
use crate::stats::{Kind, Phase, Rss};

/// What every scenario needs.
pub struct Ctx {
    pub target: Target,
    /// The server process (for CPU and RSS), when known.
    pub server: Option<CpuClock>,
    /// This process.
    pub me: CpuClock,
    /// How long each timed phase runs.
    pub duration: Duration,
    /// Connections of the closed-loop phases.
    pub connections: usize,
    /// Objects created so far in this run (for RSS labels).
    pub objects: AtomicU64,
    /// RSS readings, in order.
    pub rss: std::sync::Mutex<Vec<Rss>>,
}

/// CPU readings of the server and of this process.
pub struct CpuMark {
    server: Option<Duration>,
    me: Option<Duration>,
}

impl Ctx {
    pub fn cpu_mark(&self) -> CpuMark {
        CpuMark {
            server: self.server.and_then(|clock| clock.read()),
            me: self.me.read(),
        }
    }

    /// Sets the phase's CPU per counted operation since `mark`.
    pub fn charge_cpu(&self, mark: &CpuMark, phase: &mut Phase) {
        let now = self.cpu_mark();
        phase.server_cpu_us = procfs::micros_per_op(mark.server, now.server, phase.count);
        phase.client_cpu_us = procfs::micros_per_op(mark.me, now.me, phase.count);
    }

    /// Records the server's RSS now, as `what`, with the objects created so far.
    pub fn record_rss(&self, what: &str) {
        let Some(server) = self.server else {
            return;
        };
        let Some(kib) = procfs::rss_kib(server.pid) else {
            return;
        };
        let objects = self.objects.load(Ordering::Relaxed);
        println!(
            "RSS {what} ({} objects created): {:.1} MiB",
            crate::report::thousands(objects),
            kib as f64 / 1024.0
        );
        if let Ok(mut rss) = self.rss.lock() {
            rss.push(Rss {
                label: what.to_string(),
                objects,
                kib,
            });
        }
    }

    /// Opens `n` connections, at most 50 handshakes at a time.
    pub async fn connect_many(&self, n: usize) -> anyhow::Result<Vec<Conn>> {
        use futures::StreamExt as _;
        let target = self.target.clone();
        let results: Vec<anyhow::Result<Conn>> = futures::stream::iter(0..n)
            .map(|_| {
                let target = target.clone();
                async move { target.connect().await }
            })
            .buffer_unordered(50)
            .collect()
            .await;
        results.into_iter().collect()
    }
}

/// One connection's stream of requests in a closed loop.
pub trait Work: Send + 'static {
    /// The request for ticket `n` (tickets are unique across the connections of a phase).
    fn next(&mut self, n: u64) -> (Method, String, Option<Bytes>);
    /// Whether the answer counts as a success; may keep something from it.
    fn answer(&mut self, status: StatusCode, _body: &[u8]) -> bool {
        status.is_success()
    }
}

/// When a closed-loop phase stops.
#[derive(Clone, Copy)]
pub enum Until {
    Elapsed(Duration),
    /// After this many requests in all.
    Count(u64),
}

/// Runs one `Work` per connection until `until`; latencies of successful requests make the phase.
pub async fn closed_loop<W: Work>(
    ctx: &Ctx,
    target: &Target,
    key: &str,
    label: &str,
    works: Vec<W>,
    until: Until,
) -> anyhow::Result<Phase> {
    let mut conns = Vec::with_capacity(works.len());
    for _ in 0..works.len() {
        conns.push(target.connect().await?);
    }
    let tickets = Arc::new(AtomicU64::new(0));
    let mark = ctx.cpu_mark();
    let start = Instant::now();
    let (deadline, limit) = match until {
        Until::Elapsed(d) => (Some(start + d), u64::MAX),
        Until::Count(n) => (None, n),
    };
    let mut tasks = Vec::with_capacity(works.len());
    for (mut work, mut conn) in works.into_iter().zip(conns) {
        let tickets = tickets.clone();
        let target = target.clone();
        let key = key.to_string();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            let mut reported = false;
            loop {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
                let n = tickets.fetch_add(1, Ordering::Relaxed);
                if n >= limit {
                    break;
                }
                let (method, path, body) = work.next(n);
                let began = Instant::now();
                match conn.send(method, &path, body).await {
                    Ok((status, body)) => {
                        if work.answer(status, &body) {
                            latencies.push(began.elapsed());
                        } else {
                            errors += 1;
                            if !reported {
                                reported = true;
                                let text = String::from_utf8_lossy(&body[..body.len().min(300)]);
                                eprintln!("{key}: {path} answered {status}: {text}");
                            }
                        }
                    }
                    Err(err) => {
                        errors += 1;
                        if !reported {
                            reported = true;
                            eprintln!("{key}: {path}: {err:#}");
                        }
                        // The connection may be gone: open another one.
                        match target.connect().await {
                            Ok(fresh) => conn = fresh,
                            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                        }
                    }
                }
            }
            (latencies, errors)
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (mine, failed) = task.await?;
        latencies.extend(mine);
        errors += failed;
    }
    let mut phase =
        Phase::from_latencies(key, label, Kind::Rate, latencies, errors, start.elapsed());
    ctx.charge_cpu(&mark, &mut phase);
    println!("{}", phase.summary());
    Ok(phase)
}

/// Waits until `/readyz` answers 200 (the server has started), up to `timeout`.
pub async fn wait_ready(ctx: &Ctx, timeout: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(mut conn) = ctx.target.connect().await {
            if let Ok((status, _)) = conn.send(Method::GET, "/readyz", None).await {
                if status == StatusCode::OK {
                    return Ok(());
                }
            }
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the server was not ready within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Creates `namespace` (an existing one is fine).
pub async fn ensure_namespace(conn: &mut Conn, namespace: &str) -> anyhow::Result<()> {
    let body =
        format!(r#"{{"apiVersion":"v1","kind":"Namespace","metadata":{{"name":"{namespace}"}}}}"#);
    let (status, answer) = conn
        .send(Method::POST, "/api/v1/namespaces", Some(Bytes::from(body)))
        .await?;
    if status.is_success() || status == StatusCode::CONFLICT {
        return Ok(());
    }
    anyhow::bail!(
        "creating namespace {namespace}: {status} {}",
        String::from_utf8_lossy(&answer)
    )
}

/// A ConfigMap with one `payload` entry; with `resource_version` for an update.
pub fn configmap(
    namespace: &str,
    name: &str,
    resource_version: Option<&str>,
    payload: &str,
) -> Bytes {
    let rv = resource_version
        .map(|rv| format!(r#","resourceVersion":"{rv}""#))
        .unwrap_or_default();
    Bytes::from(format!(
        r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"{name}","namespace":"{namespace}"{rv}}},"data":{{"payload":"{payload}"}}}}"#
    ))
}

/// The 1 KiB payload of benchmark ConfigMaps.
pub fn payload() -> String {
    "x".repeat(1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configmap_bodies_are_json() {
        let body = configmap("ns", "a", Some("12"), "xyz");
        let value: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(value["metadata"]["resourceVersion"], "12");
        assert_eq!(value["data"]["payload"], "xyz");
        let body = configmap("ns", "a", None, &payload());
        let value: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert!(value["metadata"].get("resourceVersion").is_none());
        assert_eq!(value["data"]["payload"].as_str().map(str::len), Some(1024));
    }
}
