//! The `apiary` command: `apiary serve [--config PATH] [--listen ADDR] [--data-dir DIR]` and
//! `apiary version`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use apiary::config::{Config, Overrides};

/// mimalloc rather than glibc's malloc (docs/benchmarks.md, "Release profile": the comparison is
/// not measured yet).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A Kubernetes-compatible API server with pluggable storage.
#[derive(Debug, Parser)]
#[command(name = "apiary", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the Kubernetes API over HTTPS.
    Serve(ServeArgs),
    /// Print the version of Apiary and of the Kubernetes API it serves.
    Version,
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// The configuration file (default: ./config.toml when it exists).
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
    /// The address and port to serve on (server.listen), e.g. 127.0.0.1:6443.
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// The data directory (server.data_dir).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Version => {
            let info = apiary::api::version::VersionInfo::current();
            println!(
                "apiary {} (Kubernetes API {}, {})",
                env!("CARGO_PKG_VERSION"),
                info.git_version,
                info.platform
            );
            ExitCode::SUCCESS
        }
        Command::Serve(args) => serve(args),
    }
}

fn serve(args: ServeArgs) -> ExitCode {
    init_tracing();
    let overrides = Overrides {
        config_file: args.config,
        listen: args.listen,
        data_dir: args.data_dir,
    };
    let config = match Config::load(&overrides) {
        Ok(config) => config,
        Err(err) => return fail(&apiary::app::StartupError::from(err)),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("apiary: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(apiary::app::run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => fail(&err),
    }
}

fn fail(err: &apiary::app::StartupError) -> ExitCode {
    eprintln!("apiary: {err}");
    ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(1))
}

/// Logs to stderr, filtered by `RUST_LOG` (default `info`).
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
