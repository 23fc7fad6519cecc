//! Throwaway etcd members for tests (feature `testing`): the installed `etcd` binary (or
//! `$APIARY_ETCD_BIN`) on free loopback ports, with its data in a temporary directory.
//!
//! ```ignore
//! // One member shared by every test of this test binary:
//! let etcd = apiary_etcd::testing::TempEtcd::shared();
//! let opts = apiary_etcd::EtcdOptions {
//!     prefix: apiary_etcd::testing::unique_prefix().into_bytes(),
//!     ..apiary_etcd::EtcdOptions::new(etcd.endpoints())
//! };
//! // A 3-member cluster of its own, whose members can be killed and restarted:
//! let cluster = apiary_etcd::testing::TempEtcdCluster::start(3);
//! cluster.kill(cluster.leader());
//! ```
//!
//! # No leaked processes
//!
//! Each member has a watchdog: a small `sh` process reading a pipe whose other end only this
//! process holds. When this process exits in any way (a normal end with the shared instance still
//! in its `static`, a panic, `kill -9`), the kernel closes that end; the watchdog reads end-of-file,
//! kills the member with `SIGKILL` and removes the cluster's data directory. Dropping a
//! [`TempEtcdCluster`] stops its members at once and removes the directory too.
//!
//! The helpers panic on failure (they are for tests).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long a member (or cluster) may take to become healthy.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// One etcd member for tests; see the [module documentation](self).
pub struct TempEtcd {
    cluster: TempEtcdCluster,
}

impl TempEtcd {
    /// Starts a single member and waits until it is healthy.
    pub fn start() -> Self {
        Self {
            cluster: TempEtcdCluster::start(1),
        }
    }

    /// The member shared by every test of this test binary, started on first use. Tests sharing it
    /// keep apart by key prefix ([`unique_prefix`]). It is stopped when the test binary exits.
    pub fn shared() -> &'static TempEtcd {
        static SHARED: OnceLock<TempEtcd> = OnceLock::new();
        SHARED.get_or_init(TempEtcd::start)
    }

    /// The member's client URL, as a one-element list (`http://127.0.0.1:<port>`).
    pub fn endpoints(&self) -> Vec<String> {
        self.cluster.endpoints()
    }
}

/// A key prefix no other test of any running process uses: `/t<pid>-<n>`.
pub fn unique_prefix() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "/t{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A cluster of etcd members for tests; members can be killed and restarted. Dropping it stops
/// every member and removes the data.
pub struct TempEtcdCluster {
    dir: tempfile::TempDir,
    members: Vec<Member>,
    initial_cluster: String,
    token: String,
}

struct Member {
    name: String,
    client: u16,
    peer: u16,
    running: Mutex<Option<Running>>,
}

/// A running member: the etcd process and its watchdog.
struct Running {
    etcd: Child,
    watchdog: Child,
    pipe: ChildStdin,
}

/// The watchdog: waits for a line (or end-of-file) on its stdin; at end-of-file it kills the
/// member and removes the cluster directory, on `keep` it just exits.
const WATCHDOG: &str = r#"
pid="$1"; dir="$2"
if read -r cmd; then :; else cmd=cleanup; fi
if [ "$cmd" != keep ]; then kill -9 "$pid" 2>/dev/null; rm -rf "$dir"; fi
"#;

impl TempEtcdCluster {
    /// Starts `members` members on free loopback ports and waits until the cluster is healthy.
    pub fn start(members: usize) -> Self {
        assert!(members > 0, "a cluster needs a member");
        let mut last = String::new();
        for _ in 0..3 {
            match Self::try_start(members) {
                Ok(cluster) => return cluster,
                // Most likely a port taken between choosing and binding it: choose again.
                Err(err) => last = err,
            }
        }
        panic!("could not start a {members}-member etcd cluster: {last}");
    }

    fn try_start(count: usize) -> Result<Self, String> {
        let dir = tempfile::Builder::new()
            .prefix("apiary-etcd-")
            .tempdir()
            .map_err(|e| format!("temporary directory: {e}"))?;
        let ports = free_ports(count * 2);
        let members: Vec<Member> = (0..count)
            .map(|i| Member {
                name: format!("m{i}"),
                client: ports[2 * i],
                peer: ports[2 * i + 1],
                running: Mutex::new(None),
            })
            .collect();
        let initial_cluster = members
            .iter()
            .map(|m| format!("{}=http://127.0.0.1:{}", m.name, m.peer))
            .collect::<Vec<_>>()
            .join(",");
        let token = format!(
            "apiary-{}-{}",
            std::process::id(),
            dir.path()
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        );
        let cluster = Self {
            dir,
            members,
            initial_cluster,
            token,
        };
        for i in 0..count {
            cluster.spawn(i)?;
        }
        cluster.wait_healthy_within(START_TIMEOUT)?;
        Ok(cluster)
    }

    /// The members' client URLs, in member order.
    pub fn endpoints(&self) -> Vec<String> {
        (0..self.members.len()).map(|i| self.endpoint(i)).collect()
    }

    /// The client URL of one member.
    pub fn endpoint(&self, member: usize) -> String {
        format!("http://127.0.0.1:{}", self.members[member].client)
    }

    /// Kills a member with `SIGKILL` (its data stays for [`restart`](Self::restart)). Does nothing
    /// when it is not running.
    pub fn kill(&self, member: usize) {
        let running = self.members[member]
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(running) = running {
            stop(running);
        }
    }

    /// Starts a killed member again on its ports and data, and waits until it listens (not until
    /// it is healthy: with the other members down it cannot be; see
    /// [`wait_healthy`](Self::wait_healthy)).
    pub fn restart(&self, member: usize) {
        self.spawn(member)
            .unwrap_or_else(|e| panic!("restarting etcd member {member}: {e}"));
        let addr = SocketAddr::from(([127, 0, 0, 1], self.members[member].client));
        let started = Instant::now();
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            assert!(
                started.elapsed() < START_TIMEOUT,
                "etcd member {member} did not listen within {START_TIMEOUT:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until every running member reports itself healthy (it has a leader).
    pub fn wait_healthy(&self) {
        self.wait_healthy_within(START_TIMEOUT)
            .unwrap_or_else(|e| panic!("{e}"));
    }

    /// The index of the current leader, waiting (up to 30 s) until the running members agree on
    /// one.
    pub fn leader(&self) -> usize {
        let started = Instant::now();
        loop {
            let leaders: Vec<usize> = (0..self.members.len())
                .filter(|&i| self.is_running(i))
                .filter(|&i| {
                    http_get(self.members[i].client, "/metrics")
                        .is_some_and(|m| m.lines().any(|l| l.trim() == "etcd_server_is_leader 1"))
                })
                .collect();
            if let [leader] = leaders[..] {
                return leader;
            }
            assert!(
                started.elapsed() < START_TIMEOUT,
                "no single etcd leader within {START_TIMEOUT:?}: {leaders:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn is_running(&self, member: usize) -> bool {
        let mut running = self.members[member]
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        match running.as_mut() {
            Some(r) => matches!(r.etcd.try_wait(), Ok(None)),
            None => false,
        }
    }

    fn wait_healthy_within(&self, timeout: Duration) -> Result<(), String> {
        let started = Instant::now();
        for (i, member) in self.members.iter().enumerate() {
            loop {
                if !self.is_running(i) {
                    if member.running.lock().map(|r| r.is_some()).unwrap_or(false) {
                        return Err(format!(
                            "etcd member {i} exited; see {}",
                            self.log_path(i).display()
                        ));
                    }
                    break;
                }
                if http_get(member.client, "/health").is_some_and(|b| b.contains("\"true\"")) {
                    break;
                }
                if started.elapsed() > timeout {
                    return Err(format!(
                        "etcd member {i} not healthy within {timeout:?}; see {}",
                        self.log_path(i).display()
                    ));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Ok(())
    }

    fn log_path(&self, member: usize) -> PathBuf {
        self.dir
            .path()
            .join(format!("{}.log", self.members[member].name))
    }

    fn spawn(&self, i: usize) -> Result<(), String> {
        let member = &self.members[i];
        let mut slot = member.running.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_some() {
            return Ok(());
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path(i))
            .map_err(|e| format!("log file: {e}"))?;
        let log2 = log.try_clone().map_err(|e| format!("log file: {e}"))?;
        let client = format!("http://127.0.0.1:{}", member.client);
        let peer = format!("http://127.0.0.1:{}", member.peer);
        let data = self.dir.path().join(&member.name);
        let bin = std::env::var("APIARY_ETCD_BIN").unwrap_or_else(|_| "etcd".into());
        let etcd = Command::new(&bin)
            .args(["--name", &member.name])
            .arg("--data-dir")
            .arg(&data)
            .args(["--listen-client-urls", &client])
            .args(["--advertise-client-urls", &client])
            .args(["--listen-peer-urls", &peer])
            .args(["--initial-advertise-peer-urls", &peer])
            .args(["--initial-cluster", &self.initial_cluster])
            .args(["--initial-cluster-token", &self.token])
            .args(["--initial-cluster-state", "new"])
            .args(["--heartbeat-interval", "50", "--election-timeout", "500"])
            .args(["--logger", "zap", "--log-level", "warn"])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .map_err(|e| format!("running {bin}: {e}"))?;
        let watchdog = watchdog(etcd.id(), self.dir.path());
        let (watchdog, pipe) = match watchdog {
            Ok(w) => w,
            Err(e) => {
                let mut etcd = etcd;
                let _ = etcd.kill();
                let _ = etcd.wait();
                return Err(e);
            }
        };
        *slot = Some(Running {
            etcd,
            watchdog,
            pipe,
        });
        Ok(())
    }
}

impl Drop for TempEtcdCluster {
    fn drop(&mut self) {
        for member in &self.members {
            let running = member
                .running
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take();
            if let Some(running) = running {
                stop(running);
            }
        }
    }
}

fn watchdog(pid: u32, dir: &Path) -> Result<(Child, ChildStdin), String> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(WATCHDOG)
        .arg("apiary-etcd-watchdog")
        .arg(pid.to_string())
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("starting the watchdog: {e}"))?;
    let pipe = child.stdin.take().ok_or("the watchdog has no stdin")?;
    Ok((child, pipe))
}

/// Dismisses the watchdog, then kills the member.
fn stop(mut running: Running) {
    let _ = running.pipe.write_all(b"keep\n");
    drop(running.pipe);
    let _ = running.watchdog.wait();
    let _ = running.etcd.kill();
    let _ = running.etcd.wait();
}

/// `n` distinct free loopback ports (bound together, then released).
fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind a free port"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().expect("local address").port())
        .collect()
}

/// The body of a plain HTTP GET on a loopback port, if it answers.
fn http_get(port: u16, path: &str) -> Option<String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(500)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.").then(|| body.to_string())
}
