//! Apiary's benchmark tool (issue 18). `examples/bench.sh` runs it against every backend; see
//! docs/benchmarks.md.
//!
//! ```text
//! bench run --backend rocksdb --data-dir DIR --server-pid PID --out rocksdb.json [--quick]
//!     [--scenarios ceilings,writes,lists,watch,kubelet] [--postgres-url URL] [--pg-bin DIR]
//!     [--etcd-endpoint URL] [--work-dir DIR]
//! bench report results/*.json [--doc docs/benchmarks.md] [--svg docs/benchmarks.svg]
//! bench ceiling-serve --data-dir DIR      (started by `run`: the HTTPS ceiling server)
//! ```
//!
//! The load client is lean, like wrk: hyper's HTTP/1.1 connection API over tokio-rustls with the
//! admin kubeconfig's client certificate, keep-alive connections in a closed loop, status codes
//! checked and answers never decoded as JSON. Server CPU per request is the server's
//! `utime + stime` (`/proc/<pid>/stat`) across a phase divided by its requests.

mod ceilings;
mod client;
mod procfs;
mod report;
mod scenarios;
mod stats;

use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::client::Target;
use crate::procfs::CpuClock;
use crate::scenarios::Ctx;
use crate::stats::{Phase, RunResults};

#[derive(Parser)]
#[command(name = "bench", about = "Apiary's benchmark tool")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once per process: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Run the scenarios against one running server; write JSON results.
    Run(RunArgs),
    /// Write the table into the document's markers and the SVG chart from JSON results.
    Report(ReportArgs),
    /// Serve the HTTPS ceiling (a fixed 1 KiB answer) with a server's certificates.
    CeilingServe {
        #[arg(long)]
        data_dir: PathBuf,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// The server's storage backend (a label; also selects the raw ceilings).
    #[arg(long)]
    backend: String,
    /// The server's data directory: its admin.kubeconfig and certificates.
    #[arg(long)]
    data_dir: PathBuf,
    /// The kubeconfig (default: <data-dir>/admin.kubeconfig).
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// The server's process id, for its CPU time and RSS.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Where the JSON results go.
    #[arg(long)]
    out: PathBuf,
    /// The cargo profile the server was built with (recorded only).
    #[arg(long, default_value = "dev")]
    profile: String,
    /// Smaller counts and shorter phases: a check that everything runs.
    #[arg(long)]
    quick: bool,
    /// Which scenarios to run.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "ceilings,writes,lists,watch,kubelet"
    )]
    scenarios: Vec<String>,
    /// Seconds per timed phase (default 10, quick 3).
    #[arg(long)]
    seconds: Option<f64>,
    /// Connections of the closed-loop phases.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// PostgreSQL database for the raw ceilings (not the server's).
    #[arg(long)]
    postgres_url: Option<String>,
    /// Where pgbench and psql are (default: the newest /usr/lib/postgresql/*/bin).
    #[arg(long)]
    pg_bin: Option<PathBuf>,
    /// etcd client URL for the raw ceilings.
    #[arg(long)]
    etcd_endpoint: Option<String>,
    /// A directory for the raw RocksDB store (default: a temporary one).
    #[arg(long)]
    work_dir: Option<PathBuf>,
}

#[derive(clap::Args)]
struct ReportArgs {
    /// JSON results of `bench run`, one per backend.
    #[arg(required = true)]
    results: Vec<PathBuf>,
    #[arg(long, default_value = "docs/benchmarks.md")]
    doc: PathBuf,
    #[arg(long, default_value = "docs/benchmarks.svg")]
    svg: PathBuf,
}

/// Counts of one run.
struct Sizes {
    seconds: f64,
    list_sizes: Vec<u64>,
    watchers: usize,
    events: usize,
    nodes: usize,
    pods: usize,
}

impl Sizes {
    fn new(quick: bool, seconds: Option<f64>) -> Sizes {
        if quick {
            Sizes {
                seconds: seconds.unwrap_or(3.0),
                list_sizes: vec![1_000, 5_000],
                watchers: 1_000,
                events: 20,
                nodes: 100,
                pods: 300,
            }
        } else {
            Sizes {
                seconds: seconds.unwrap_or(10.0),
                list_sizes: vec![10_000, 100_000],
                watchers: 1_000,
                events: 100,
                nodes: 100,
                pods: 3_000,
            }
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Run(args) => run(args).await,
        Command::Report(args) => report(args),
        Command::CeilingServe { data_dir } => ceilings::serve(&data_dir).await,
    }
}

async fn run(args: RunArgs) -> anyhow::Result<()> {
    let sizes = Sizes::new(args.quick, args.seconds);
    let kubeconfig = args
        .kubeconfig
        .clone()
        .unwrap_or_else(|| args.data_dir.join("admin.kubeconfig"));
    let ticks = procfs::clock_ticks();
    let ctx = Ctx {
        target: Target::from_kubeconfig(&kubeconfig)?,
        server: args.server_pid.map(|pid| CpuClock::of(pid, ticks)),
        me: CpuClock::of(std::process::id(), ticks),
        duration: Duration::from_secs_f64(sizes.seconds),
        connections: args.connections,
        objects: AtomicU64::new(0),
        rss: Default::default(),
    };
    let date = jiff::Timestamp::now().to_string();
    scenarios::wait_ready(&ctx, Duration::from_secs(60)).await?;
    println!(
        "== {} ({} profile{}), server {}",
        args.backend,
        args.profile,
        if args.quick { ", quick" } else { "" },
        ctx.target.addr
    );
    ctx.record_rss("idle");
    let wanted = |name: &str| args.scenarios.iter().any(|s| s == name);
    let mut phases: Vec<Phase> = Vec::new();
    let mut failed: Vec<String> = Vec::new();
    let mut keep = |name: &str, result: anyhow::Result<Vec<Phase>>| match result {
        Ok(more) => phases.extend(more),
        Err(err) => {
            eprintln!("{name} failed: {err:#}");
            failed.push(name.to_string());
        }
    };

    if wanted("ceilings") {
        println!("-- ceilings");
        keep("raw ceilings", raw_ceilings(&args, &ctx).await);
        keep("HTTPS ceiling", ceilings::https(&ctx, &args.data_dir).await);
    }
    if wanted("writes") {
        println!("-- creates, updates, GETs");
        keep("writes", scenarios::writes::run(&ctx).await);
    }
    if wanted("lists") {
        println!("-- lists");
        keep(
            "lists",
            scenarios::lists::run(&ctx, &sizes.list_sizes).await,
        );
    }
    if wanted("watch") {
        println!("-- watch fan-out");
        let result = scenarios::watch::run(&ctx, sizes.watchers, sizes.events).await;
        keep("watch", result.map(|phase| vec![phase]));
    }
    if wanted("kubelet") {
        println!("-- kubelet mix");
        keep(
            "kubelet",
            scenarios::kubelet::run(&ctx, sizes.nodes, sizes.pods).await,
        );
    }

    let rss = ctx.rss.lock().map(|rss| rss.clone()).unwrap_or_default();
    let results = RunResults {
        backend: args.backend.clone(),
        date,
        profile: args.profile.clone(),
        quick: args.quick,
        phases,
        rss,
    };
    if let Some(dir) = args.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&args.out, serde_json::to_string_pretty(&results)?)?;
    println!("results: {}", args.out.display());
    anyhow::ensure!(failed.is_empty(), "failed: {}", failed.join(", "));
    Ok(())
}

/// `Storage::create` on the backend, and the database's own rate where there is one.
async fn raw_ceilings(args: &RunArgs, ctx: &Ctx) -> anyhow::Result<Vec<Phase>> {
    let tasks = ctx.connections;
    let label = format!("Storage::create, {tasks} tasks, 1 KiB (in the client)");
    let mut phases = Vec::new();
    match args.backend.as_str() {
        "rocksdb" => {
            let temp = tempfile::tempdir()?;
            let dir = args
                .work_dir
                .clone()
                .unwrap_or_else(|| temp.path().to_path_buf());
            let store = ceilings::rocksdb_store(&dir.join("raw-rocksdb")).await?;
            phases
                .push(ceilings::storage_create(&label, store, tasks, ctx.duration, ctx.me).await?);
        }
        "postgres" => {
            let url = args
                .postgres_url
                .as_deref()
                .ok_or_else(|| anyhow::anyhow!("--postgres-url is needed for the raw ceilings"))?;
            match ceilings::find_pg_bin(args.pg_bin.clone()) {
                Some(bin) => phases.push(ceilings::pgbench(&bin, url, tasks, ctx.duration).await?),
                None => println!("pgbench not found: no raw INSERT ceiling"),
            }
            let store = ceilings::postgres_store(url).await?;
            phases
                .push(ceilings::storage_create(&label, store, tasks, ctx.duration, ctx.me).await?);
        }
        "etcd" => {
            let endpoint = args
                .etcd_endpoint
                .as_deref()
                .ok_or_else(|| anyhow::anyhow!("--etcd-endpoint is needed for the raw ceilings"))?;
            phases.push(ceilings::etcd_put(endpoint, tasks, ctx.duration).await?);
            let store = ceilings::etcd_store(endpoint).await?;
            phases
                .push(ceilings::storage_create(&label, store, tasks, ctx.duration, ctx.me).await?);
        }
        other => println!("no raw ceiling for backend {other:?}"),
    }
    Ok(phases)
}

fn report(args: ReportArgs) -> anyhow::Result<()> {
    let mut results = Vec::new();
    for path in &args.results {
        let text = std::fs::read_to_string(path)?;
        let run: RunResults =
            serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        results.push(run);
    }
    let results = report::ordered(results);
    let doc = std::fs::read_to_string(&args.doc)?;
    // The chart is linked from inside the markers, by its path relative to the document.
    let chart = match (args.svg.parent(), args.doc.parent()) {
        (Some(a), Some(b)) if a == b => args.svg.file_name().map(PathBuf::from),
        _ => None,
    }
    .unwrap_or_else(|| args.svg.clone());
    let body = format!(
        "{}\n![Benchmark chart]({})\n",
        report::markdown(&results),
        chart.display()
    );
    let doc = report::replace_between_markers(&doc, &body)?;
    std::fs::write(&args.doc, doc)?;
    std::fs::write(&args.svg, report::svg(&results))?;
    println!("wrote {} and {}", args.doc.display(), args.svg.display());
    Ok(())
}
