//! The ceilings the API is compared with: an HTTPS server of the same stack answering a fixed
//! 1 KiB body, `Storage::create` of each backend in this process, and the raw database rate
//! (pgbench one-row inserts, an etcd put loop).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context as _};
use apiary_storage::Storage;
use bytes::Bytes;
use http::Method;
use tokio::io::AsyncBufReadExt as _;

use crate::procfs::CpuClock;
use crate::scenarios::{closed_loop, payload, Ctx, Until, Work};
use crate::stats::{Kind, Phase};

const CEILING_PATH: &str = "/ceiling";

/// `bench ceiling-serve`: serves GET and POST of [`CEILING_PATH`] with a fixed 1 KiB body through
/// `apiary::serve::serve`, with the TLS configuration Apiary builds from the certificates in
/// `data_dir`. Prints `port <n>` once listening.
pub async fn serve(data_dir: &Path) -> anyhow::Result<()> {
    let read = |name: &str| {
        std::fs::read_to_string(data_dir.join(name))
            .with_context(|| format!("reading {}", data_dir.join(name).display()))
    };
    let pki = apiary::pki::Pki {
        data_dir: data_dir.to_path_buf(),
        ca_cert_pem: read(apiary::pki::CA_CERT_FILE)?,
        serving_cert_pem: read(apiary::pki::SERVING_CERT_FILE)?,
        serving_key_pem: read(apiary::pki::SERVING_KEY_FILE)?,
        admin_kubeconfig: data_dir.join(apiary::pki::ADMIN_KUBECONFIG_FILE),
    };
    // The server's defaults, as `apiary serve` with no `[server]` settings.
    let server = apiary::config::ServerConfig::default();
    let tls = apiary::serve::tls_config(&pki, &server)?;
    let body = Bytes::from(payload());
    let answer = move |_request: axum::body::Bytes| {
        let body = body.clone();
        async move { body }
    };
    let router = axum::Router::new().route(
        CEILING_PATH,
        axum::routing::get(answer.clone()).post(answer),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("port {}", listener.local_addr()?.port());
    apiary::serve::serve(
        listener,
        Arc::new(tls),
        router,
        apiary::serve::ConnectionLimits::from_config(&server),
        std::future::pending::<()>(),
    )
    .await?;
    Ok(())
}

/// Requests of the HTTPS ceiling.
struct Fixed {
    method: Method,
    body: Option<Bytes>,
}

impl Work for Fixed {
    fn next(&mut self, _n: u64) -> (Method, String, Option<Bytes>) {
        (
            self.method.clone(),
            CEILING_PATH.to_string(),
            self.body.clone(),
        )
    }
}

/// Starts `bench ceiling-serve` on the server's data directory and loads it like the API.
pub async fn https(ctx: &Ctx, data_dir: &Path) -> anyhow::Result<Vec<Phase>> {
    let exe = std::env::current_exe()?;
    let mut child = tokio::process::Command::new(exe)
        .arg("ceiling-serve")
        .arg("--data-dir")
        .arg(data_dir)
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("starting the HTTPS ceiling server")?;
    let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
    let mut line = String::new();
    tokio::time::timeout(
        Duration::from_secs(10),
        tokio::io::BufReader::new(stdout).read_line(&mut line),
    )
    .await
    .context("the ceiling server did not start in 10 s")??;
    let port: u16 = line
        .trim()
        .strip_prefix("port ")
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| anyhow!("the ceiling server said {line:?}"))?;
    let target = ctx
        .target
        .with_addr(SocketAddr::from(([127, 0, 0, 1], port)));
    // The ceiling server's CPU is charged, not Apiary's.
    let ceiling_ctx = Ctx {
        target: target.clone(),
        server: child
            .id()
            .map(|pid| CpuClock::of(pid, ctx.me.ticks_per_second)),
        me: ctx.me,
        duration: ctx.duration,
        connections: ctx.connections,
        objects: Default::default(),
        rss: Default::default(),
    };
    let mut phases = Vec::new();
    for (method, key, label, body) in [
        (Method::GET, "https-get", "HTTPS ceiling: GET 1 KiB", None),
        (
            Method::POST,
            "https-post",
            "HTTPS ceiling: POST 1 KiB, 1 KiB answer",
            Some(Bytes::from(payload())),
        ),
    ] {
        let works: Vec<Fixed> = (0..ctx.connections)
            .map(|_| Fixed {
                method: method.clone(),
                body: body.clone(),
            })
            .collect();
        phases.push(
            closed_loop(
                &ceiling_ctx,
                &target,
                key,
                label,
                works,
                Until::Elapsed(ctx.duration),
            )
            .await?,
        );
    }
    let _ = child.kill().await;
    Ok(phases)
}

/// `Storage::create` of 1 KiB values from `tasks` tasks for `duration`, as the backends'
/// `bench_*` examples do.
pub async fn storage_create(
    label: &str,
    store: Arc<dyn Storage>,
    tasks: usize,
    duration: Duration,
    me: CpuClock,
) -> anyhow::Result<Phase> {
    let value = Bytes::from(vec![b'x'; 1024]);
    let before = me.read();
    let start = Instant::now();
    let deadline = start + duration;
    let run = std::process::id();
    let handles: Vec<_> = (0..tasks)
        .map(|t| {
            let (store, value) = (store.clone(), value.clone());
            tokio::spawn(async move {
                let (mut latencies, mut errors) = (Vec::new(), 0u64);
                let mut i = 0u64;
                while Instant::now() < deadline {
                    let key = format!("/registry/bench-raw/{run}/{t}/{i}");
                    let began = Instant::now();
                    match store.create(key.as_bytes(), value.clone()).await {
                        Ok(_) => latencies.push(began.elapsed()),
                        Err(_) => errors += 1,
                    }
                    i += 1;
                }
                (latencies, errors)
            })
        })
        .collect();
    let (mut latencies, mut errors) = (Vec::new(), 0);
    for handle in handles {
        let (mine, failed) = handle.await?;
        latencies.extend(mine);
        errors += failed;
    }
    let mut phase = Phase::from_latencies(
        "storage-create",
        label,
        Kind::Rate,
        latencies,
        errors,
        start.elapsed(),
    );
    // The store runs in this process: its CPU is the client's.
    phase.client_cpu_us = crate::procfs::micros_per_op(before, me.read(), phase.count);
    println!("{}", phase.summary());
    Ok(phase)
}

pub async fn rocksdb_store(dir: &Path) -> anyhow::Result<Arc<dyn Storage>> {
    let options = apiary_rocksdb::RocksDbOptions {
        compaction_interval: Duration::ZERO,
        ..apiary_rocksdb::RocksDbOptions::new(dir)
    };
    let store: Arc<dyn Storage> = apiary_rocksdb::open(options).await?;
    Ok(store)
}

pub async fn postgres_store(url: &str) -> anyhow::Result<Arc<dyn Storage>> {
    let options = apiary_postgres::PostgresOptions {
        compaction_interval: Duration::ZERO,
        ..apiary_postgres::PostgresOptions::new(url)
    };
    let store: Arc<dyn Storage> = apiary_postgres::open(options).await?;
    Ok(store)
}

pub async fn etcd_store(endpoint: &str) -> anyhow::Result<Arc<dyn Storage>> {
    let options = apiary_etcd::EtcdOptions {
        strip: b"/registry".to_vec(),
        prefix: b"/bench-raw".to_vec(),
        compaction_interval: Duration::ZERO,
        ..apiary_etcd::EtcdOptions::new([endpoint])
    };
    let store: Arc<dyn Storage> = apiary_etcd::open(options).await?;
    Ok(store)
}

/// The `tps = <n>` of pgbench's output.
pub fn parse_pgbench_tps(output: &str) -> Option<f64> {
    output.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("tps = ")?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// pgbench's `latency average = <x> ms`.
pub fn parse_pgbench_latency(output: &str) -> Option<f64> {
    output.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("latency average = ")?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// One-row durable inserts of 1 KiB from 32 pgbench clients on the database at `url`.
pub async fn pgbench(
    pg_bin: &Path,
    url: &str,
    clients: usize,
    duration: Duration,
) -> anyhow::Result<Phase> {
    let psql = tokio::process::Command::new(pg_bin.join("psql"))
        .args(["-q", "-c"])
        .arg("create table if not exists raw_ins(id bigserial primary key, k text, v bytea)")
        .arg(url)
        .output()
        .await
        .context("running psql")?;
    anyhow::ensure!(
        psql.status.success(),
        "psql: {}",
        String::from_utf8_lossy(&psql.stderr)
    );
    let script = std::env::temp_dir().join(format!("bench-insert-{}.sql", std::process::id()));
    std::fs::write(
        &script,
        "insert into raw_ins(k, v) values (md5(random()::text), decode(repeat('78', 1024), 'hex'));\n",
    )?;
    let seconds = duration.as_secs().max(1);
    let output = tokio::process::Command::new(pg_bin.join("pgbench"))
        .args(["-n", "-j", "2"])
        .arg("-c")
        .arg(clients.to_string())
        .arg("-T")
        .arg(seconds.to_string())
        .arg("-f")
        .arg(&script)
        .arg(url)
        .output()
        .await
        .context("running pgbench")?;
    let _ = std::fs::remove_file(&script);
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    let tps = parse_pgbench_tps(&text).ok_or_else(|| {
        anyhow!(
            "no tps in pgbench's output: {text} {}",
            String::from_utf8_lossy(&output.stderr)
        )
    })?;
    let note = parse_pgbench_latency(&text)
        .map(|ms| format!("latency average {ms:.2} ms"))
        .unwrap_or_default();
    let phase = Phase::from_rate(
        "raw-pgbench",
        &format!("raw: pgbench one-row INSERT, {clients} clients"),
        tps,
        seconds as f64,
        note,
    );
    println!("{}", phase.summary());
    Ok(phase)
}

/// Puts of 1 KiB values from `tasks` tasks through etcd-client for `duration`.
pub async fn etcd_put(endpoint: &str, tasks: usize, duration: Duration) -> anyhow::Result<Phase> {
    let client = etcd_client::Client::connect([endpoint], None).await?;
    let value = vec![b'x'; 1024];
    let start = Instant::now();
    let deadline = start + duration;
    let run = std::process::id();
    let handles: Vec<_> = (0..tasks)
        .map(|t| {
            let (mut kv, value) = (client.kv_client(), value.clone());
            tokio::spawn(async move {
                let (mut latencies, mut errors) = (Vec::new(), 0u64);
                let mut i = 0u64;
                while Instant::now() < deadline {
                    let key = format!("/bench-put/{run}/{t}/{i}");
                    let began = Instant::now();
                    match kv.put(key, value.clone(), None).await {
                        Ok(_) => latencies.push(began.elapsed()),
                        Err(_) => errors += 1,
                    }
                    i += 1;
                }
                (latencies, errors)
            })
        })
        .collect();
    let (mut latencies, mut errors) = (Vec::new(), 0);
    for handle in handles {
        let (mine, failed) = handle.await?;
        latencies.extend(mine);
        errors += failed;
    }
    let phase = Phase::from_latencies(
        "raw-etcd-put",
        &format!("raw: etcd put (etcd-client), {tasks} tasks"),
        Kind::Rate,
        latencies,
        errors,
        start.elapsed(),
    );
    println!("{}", phase.summary());
    Ok(phase)
}

/// Where the PostgreSQL programs are: `--pg-bin`, else the newest `/usr/lib/postgresql/*/bin`.
pub fn find_pg_bin(given: Option<PathBuf>) -> Option<PathBuf> {
    if given.is_some() {
        return given;
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| entry.ok().map(|e| e.path().join("bin")))
        .filter(|bin| bin.join("pgbench").is_file())
        .collect();
    found.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    found.pop()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pgbench_output_is_parsed() {
        let output = "transaction type: ins.sql\nnumber of clients: 32\n\
            latency average = 3.355 ms\ninitial connection time = 21.9 ms\n\
            tps = 9536.123456 (without initial connection time)\n";
        assert_eq!(parse_pgbench_tps(output), Some(9536.123456));
        assert_eq!(parse_pgbench_latency(output), Some(3.355));
        assert_eq!(parse_pgbench_tps("nothing"), None);
    }
}
