//! Throwaway PostgreSQL clusters for tests (feature `testing`).
//!
//! [`TempPostgres::start`] runs `initdb` into a temporary directory and starts a server on a free
//! loopback port (trust authentication, user `postgres`, its own unix socket directory), using
//! the newest `/usr/lib/postgresql/<version>/bin` (or `initdb` and `pg_ctl` on `PATH`). When the
//! test runs as root, the cluster runs as the `postgres` user. [`TempPostgres::shared`] is one
//! cluster per test binary; a watchdog process stops it and removes its directory once the test
//! binary has exited, however it exits.
//!
//! ```no_run
//! use apiary_postgres::testing::TempPostgres;
//! let url = TempPostgres::shared().create_database("my_test"); // a fresh database
//! ```

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};

/// A PostgreSQL cluster in a temporary directory. Dropping it stops the server (immediately) and
/// removes the directory.
pub struct TempPostgres {
    root: PathBuf,
    bin: PathBuf,
    port: u16,
    /// `postgres`' uid and gid when the cluster runs as that user (the test runs as root).
    owner: Option<(u32, u32)>,
    watchdog: Mutex<Option<Child>>,
}

/// The watchdog: once the process with pid `$1` is gone, an immediate shutdown of
/// the cluster in `$2`, then the removal of directory `$3`.
const WATCHDOG: &str = r#"
while kill -0 "$1" 2>/dev/null; do sleep 1; done
if [ -f "$2/postmaster.pid" ]; then kill -QUIT "$(head -n 1 "$2/postmaster.pid")" 2>/dev/null; fi
i=0
while [ -f "$2/postmaster.pid" ] && [ $i -lt 20 ]; do sleep 0.5; i=$((i+1)); done
rm -rf "$3"
"#;

impl TempPostgres {
    /// Creates and starts a new cluster. Panics (with the server log) when it cannot.
    pub fn start() -> Self {
        let bin = find_bin();
        let root = tempfile::Builder::new()
            .prefix("apiary-pg-")
            .tempdir()
            .expect("a temporary directory")
            .keep();
        let owner = if is_root() {
            let owner = postgres_user();
            std::os::unix::fs::chown(&root, Some(owner.0), Some(owner.1))
                .expect("give the cluster directory to postgres");
            Some(owner)
        } else {
            None
        };
        let pg = TempPostgres {
            root,
            bin,
            port: free_port(),
            owner,
            watchdog: Mutex::new(None),
        };
        // The watchdog first, so the directory goes away even if initdb fails.
        pg.spawn_watchdog();
        let data = pg.data();
        pg.run_tool(
            "initdb",
            &[
                "-D",
                data.to_str().expect("a UTF-8 path"),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        );
        std::fs::create_dir_all(pg.root.join("sock")).expect("socket directory");
        if let Some((uid, gid)) = pg.owner {
            std::os::unix::fs::chown(pg.root.join("sock"), Some(uid), Some(gid))
                .expect("give the socket directory to postgres");
        }
        pg.start_again();
        pg
    }

    /// One cluster for the whole test binary, started on first use. It is never dropped: the
    /// watchdog stops it after the process exits.
    pub fn shared() -> &'static TempPostgres {
        static SHARED: OnceLock<TempPostgres> = OnceLock::new();
        SHARED.get_or_init(TempPostgres::start)
    }

    /// The server's port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of the `postgres` database (user `postgres`, no password).
    pub fn url(&self) -> String {
        self.database_url("postgres")
    }

    /// The URL of database `name` on this cluster.
    pub fn database_url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// Creates the database `name` (letters, digits and `_`, at most 63) and returns its URL.
    /// Panics if it exists or cannot be created.
    pub fn create_database(&self, name: &str) -> String {
        assert!(
            !name.is_empty()
                && name.len() <= 63
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'),
            "database name {name:?}: use letters, digits and _"
        );
        let port = self.port.to_string();
        let out = Command::new(self.bin.join("createdb"))
            .args(["-h", "127.0.0.1", "-p", &port, "-U", "postgres", name])
            .output()
            .expect("run createdb");
        check("createdb", &out, None);
        self.database_url(name)
    }

    /// Stops the server (fast shutdown: sessions are ended); [`start_again`](Self::start_again)
    /// brings it back on the same port with the same data.
    pub fn stop(&self) {
        let data = self.data();
        self.run_tool(
            "pg_ctl",
            &[
                "-D",
                data.to_str().expect("path"),
                "-m",
                "fast",
                "-w",
                "stop",
            ],
        );
    }

    /// Starts the (stopped) server, waiting until it accepts connections.
    pub fn start_again(&self) {
        let data = self.data();
        let log = self.root.join("postgres.log");
        let sock = self.root.join("sock");
        let opts = format!(
            "-p {} -h 127.0.0.1 -k {} -c max_connections=400 -c shared_buffers=64MB",
            self.port,
            sock.display()
        );
        let mut cmd = self.tool("pg_ctl");
        cmd.args([
            "-D",
            data.to_str().expect("path"),
            "-l",
            log.to_str().expect("path"),
            "-o",
            &opts,
            "-w",
            "-t",
            "60",
            "start",
        ]);
        let out = run(cmd, "pg_ctl start");
        check("pg_ctl start", &out, Some(&log));
    }

    fn data(&self) -> PathBuf {
        self.root.join("data")
    }

    /// A command for a PostgreSQL tool, run as `postgres` when the cluster belongs to it.
    fn tool(&self, name: &str) -> Command {
        let path = self.bin.join(name);
        let mut cmd = if self.owner.is_some() {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(path);
            cmd
        } else {
            Command::new(path)
        };
        // pg_ctl's server must not inherit the test's stdout (a test harness waits for it).
        cmd.stdin(Stdio::null()).current_dir(&self.root);
        cmd
    }

    fn run_tool(&self, name: &str, args: &[&str]) {
        let mut cmd = self.tool(name);
        cmd.args(args);
        let out = run(cmd, name);
        check(name, &out, Some(&self.root.join("postgres.log")));
    }

    fn spawn_watchdog(&self) {
        let child = Command::new("sh")
            .arg("-c")
            .arg(WATCHDOG)
            .arg("apiary-pg-watchdog")
            .arg(std::process::id().to_string())
            .arg(self.data())
            .arg(&self.root)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group: a Ctrl-C to the test does not stop the cleanup.
            .process_group(0)
            .spawn()
            .expect("start the watchdog");
        *self.watchdog.lock().expect("watchdog") = Some(child);
    }
}

impl Drop for TempPostgres {
    fn drop(&mut self) {
        let data = self.data();
        if data.join("postmaster.pid").exists() {
            let mut cmd = self.tool("pg_ctl");
            cmd.args([
                "-D",
                data.to_str().unwrap_or_default(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ]);
            let _ = cmd.stdout(Stdio::null()).stderr(Stdio::null()).status();
        }
        let _ = std::fs::remove_dir_all(&self.root);
        if let Some(mut child) = self.watchdog.lock().ok().and_then(|mut w| w.take()) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn run(mut cmd: Command, what: &str) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"))
}

fn check(what: &str, out: &Output, log: Option<&Path>) {
    if out.status.success() {
        return;
    }
    let log = log
        .and_then(|log| std::fs::read_to_string(log).ok())
        .unwrap_or_default();
    panic!(
        "{what} failed ({}):\n{}{}\n{log}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The newest `/usr/lib/postgresql/<version>/bin` with `initdb` and `pg_ctl`, else the directory
/// of `initdb` on `PATH`.
fn find_bin() -> PathBuf {
    let mut best: Option<(u32, PathBuf)> = None;
    if let Ok(dirs) = std::fs::read_dir("/usr/lib/postgresql") {
        for dir in dirs.flatten() {
            let bin = dir.path().join("bin");
            let version = dir.file_name().to_string_lossy().parse::<u32>().ok();
            if let Some(version) = version {
                if bin.join("initdb").exists()
                    && bin.join("pg_ctl").exists()
                    && best.as_ref().is_none_or(|(v, _)| version > *v)
                {
                    best = Some((version, bin));
                }
            }
        }
    }
    if let Some((_, bin)) = best {
        return bin;
    }
    std::env::var_os("PATH")
        .and_then(|path| std::env::split_paths(&path).find(|dir| dir.join("initdb").exists()))
        .expect("PostgreSQL's initdb and pg_ctl (/usr/lib/postgresql/*/bin or PATH)")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
        .unwrap_or(false)
}

/// The uid and gid of the `postgres` user.
fn postgres_user() -> (u32, u32) {
    let passwd = std::fs::read_to_string("/etc/passwd").expect("read /etc/passwd");
    passwd
        .lines()
        .find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            (fields.first() == Some(&"postgres") && fields.len() > 3)
                .then(|| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))
                .flatten()
        })
        .expect("a postgres user to run the cluster as (tests run as root)")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}
