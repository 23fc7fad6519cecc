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
//! // A member serving TLS that requires client certificates, with a CA and a client
//! // certificate generated for it:
//! let etcd = apiary_etcd::testing::TempEtcd::start_tls();
//! let opts = etcd.options(); // https endpoint, ca_file, cert_file, key_file
//! ```
//!
//! # TLS
//!
//! [`TempEtcd::start_tls`] generates (with `rcgen`, ECDSA P-256) a CA, a server certificate for
//! `127.0.0.1` and `localhost`, and a client certificate into the member's temporary directory,
//! and starts etcd with `--cert-file`, `--key-file`, `--trusted-ca-file` and `--client-cert-auth`
//! on an `https://127.0.0.1:<port>` client URL (peers stay plain HTTP). Its health is checked on a
//! separate plain-HTTP `--listen-metrics-urls` port. [`TestCa`] makes further CAs and
//! certificates, e.g. one the member does not trust.
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

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
};

use crate::EtcdOptions;

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

    /// Starts a single member serving TLS with client-certificate authentication; see
    /// [`TempEtcdTls`].
    pub fn start_tls() -> TempEtcdTls {
        TempEtcdTls::start()
    }
}

/// One etcd member serving its clients TLS only, and only to clients presenting a certificate
/// signed by its CA (`--client-cert-auth`). Its temporary directory holds the generated CA
/// certificate, the server's certificate and key, and a client certificate and key (CN `apiary`)
/// for the store. Dropping it stops the member and removes the directory.
pub struct TempEtcdTls {
    cluster: TempEtcdCluster,
    ca: TestCa,
}

impl TempEtcdTls {
    /// Generates the certificates, starts the member and waits until it is healthy.
    pub fn start() -> Self {
        let ca = TestCa::new("apiary-etcd test CA");
        Self {
            cluster: TempEtcdCluster::start_with(1, Some(&ca)),
            ca,
        }
    }

    /// The member shared by every test of this test binary, started on first use.
    pub fn shared() -> &'static TempEtcdTls {
        static SHARED: OnceLock<TempEtcdTls> = OnceLock::new();
        SHARED.get_or_init(TempEtcdTls::start)
    }

    /// The member's client URL, as a one-element list (`https://127.0.0.1:<port>`).
    pub fn endpoints(&self) -> Vec<String> {
        self.cluster.endpoints()
    }

    /// The PEM certificate of the CA that signed the server and client certificates.
    pub fn ca_file(&self) -> PathBuf {
        self.cluster.tls_path(CA_CERT)
    }

    /// The PEM client certificate the member accepts.
    pub fn cert_file(&self) -> PathBuf {
        self.cluster.tls_path(CLIENT_CERT)
    }

    /// The PEM private key of [`cert_file`](Self::cert_file).
    pub fn key_file(&self) -> PathBuf {
        self.cluster.tls_path(CLIENT_KEY)
    }

    /// The CA that signed the member's certificates, to issue more client certificates.
    pub fn ca(&self) -> &TestCa {
        &self.ca
    }

    /// Default options with the endpoint, the CA and the client certificate and key.
    pub fn options(&self) -> EtcdOptions {
        EtcdOptions {
            ca_file: Some(self.ca_file()),
            cert_file: Some(self.cert_file()),
            key_file: Some(self.key_file()),
            ..EtcdOptions::new(self.endpoints())
        }
    }
}

/// A throwaway certificate authority (ECDSA P-256, valid from 1975 to 4096) for TLS tests.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl TestCa {
    /// A new CA with its own key and the common name `name`.
    pub fn new(name: &str) -> Self {
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().expect("generate the CA key");
        Self {
            issuer: CertifiedIssuer::self_signed(params, key).expect("self-sign the CA"),
        }
    }

    /// The CA certificate, PEM.
    pub fn cert_pem(&self) -> String {
        self.issuer.pem()
    }

    /// Writes the CA certificate (PEM) to `path`.
    pub fn write_cert(&self, path: &Path) {
        write(path, self.cert_pem().as_bytes());
    }

    /// Issues a server certificate for `127.0.0.1` and `localhost` and writes it and its key (PEM).
    pub fn issue_server(&self, cert: &Path, key: &Path) {
        self.issue(
            "127.0.0.1",
            &["127.0.0.1", "localhost"],
            ExtendedKeyUsagePurpose::ServerAuth,
            cert,
            key,
        );
    }

    /// Issues a client certificate with the common name `name` and writes it and its key (PEM).
    pub fn issue_client(&self, name: &str, cert: &Path, key: &Path) {
        self.issue(name, &[], ExtendedKeyUsagePurpose::ClientAuth, cert, key);
    }

    fn issue(
        &self,
        name: &str,
        sans: &[&str],
        usage: ExtendedKeyUsagePurpose,
        cert: &Path,
        key: &Path,
    ) {
        let sans: Vec<String> = sans.iter().map(|s| s.to_string()).collect();
        let mut params = CertificateParams::new(sans).expect("subject alternative names");
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![usage];
        params.use_authority_key_identifier_extension = true;
        let pair = KeyPair::generate().expect("generate a key");
        let signed = params
            .signed_by(&pair, &self.issuer)
            .expect("sign a certificate");
        write(cert, signed.pem().as_bytes());
        write(key, pair.serialize_pem().as_bytes());
    }
}

fn write(path: &Path, contents: &[u8]) {
    std::fs::write(path, contents).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

/// The files of a TLS member, in `<cluster dir>/tls/`.
const CA_CERT: &str = "ca.crt";
const SERVER_CERT: &str = "server.crt";
const SERVER_KEY: &str = "server.key";
const CLIENT_CERT: &str = "client.crt";
const CLIENT_KEY: &str = "client.key";

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
    /// Whether the members serve clients TLS (the files are in `dir/tls`).
    tls: bool,
}

struct Member {
    name: String,
    client: u16,
    peer: u16,
    /// With TLS: a plain-HTTP port serving `/health` and `/metrics`.
    metrics: Option<u16>,
    running: Mutex<Option<Running>>,
}

impl Member {
    /// The port answering plain-HTTP `/health` and `/metrics`.
    fn status_port(&self) -> u16 {
        self.metrics.unwrap_or(self.client)
    }
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
        Self::start_with(members, None)
    }

    /// Starts the members, serving TLS with certificates from `tls` when given.
    fn start_with(members: usize, tls: Option<&TestCa>) -> Self {
        assert!(members > 0, "a cluster needs a member");
        let mut last = String::new();
        for _ in 0..3 {
            match Self::try_start(members, tls) {
                Ok(cluster) => return cluster,
                // Most likely a port taken between choosing and binding it: choose again.
                Err(err) => last = err,
            }
        }
        panic!("could not start a {members}-member etcd cluster: {last}");
    }

    fn try_start(count: usize, tls: Option<&TestCa>) -> Result<Self, String> {
        let dir = tempfile::Builder::new()
            .prefix("apiary-etcd-")
            .tempdir()
            .map_err(|e| format!("temporary directory: {e}"))?;
        if let Some(ca) = tls {
            let files = dir.path().join("tls");
            std::fs::create_dir(&files).map_err(|e| format!("tls directory: {e}"))?;
            ca.write_cert(&files.join(CA_CERT));
            ca.issue_server(&files.join(SERVER_CERT), &files.join(SERVER_KEY));
            ca.issue_client("apiary", &files.join(CLIENT_CERT), &files.join(CLIENT_KEY));
        }
        let per_member = if tls.is_some() { 3 } else { 2 };
        let ports = free_ports(count * per_member);
        let members: Vec<Member> = (0..count)
            .map(|i| Member {
                name: format!("m{i}"),
                client: ports[per_member * i],
                peer: ports[per_member * i + 1],
                metrics: tls.map(|_| ports[per_member * i + 2]),
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
            tls: tls.is_some(),
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

    /// The client URL of one member (`https://` when it serves TLS).
    pub fn endpoint(&self, member: usize) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.members[member].client)
    }

    fn tls_path(&self, file: &str) -> PathBuf {
        self.dir.path().join("tls").join(file)
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

    /// Freezes a member with `SIGSTOP`: its connections stay open but nothing is answered, as a
    /// stalled disk or an overloaded machine looks to clients. [`resume`](Self::resume) thaws it.
    pub fn pause(&self, member: usize) {
        self.signal(member, "-STOP");
    }

    /// Thaws a member frozen by [`pause`](Self::pause).
    pub fn resume(&self, member: usize) {
        self.signal(member, "-CONT");
    }

    fn signal(&self, member: usize, signal: &str) {
        let running = self.members[member]
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let pid = running
            .as_ref()
            .unwrap_or_else(|| panic!("etcd member {member} is not running"))
            .etcd
            .id();
        let status = Command::new("kill")
            .arg(signal)
            .arg(pid.to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill {signal} {pid} failed");
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
                    http_get(self.members[i].status_port(), "/metrics")
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
                if http_get(member.status_port(), "/health").is_some_and(|b| b.contains("\"true\""))
                {
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
        let client = self.endpoint(i);
        let peer = format!("http://127.0.0.1:{}", member.peer);
        let data = self.dir.path().join(&member.name);
        let bin = std::env::var("APIARY_ETCD_BIN").unwrap_or_else(|_| "etcd".into());
        let mut command = Command::new(&bin);
        if self.tls {
            command
                .arg("--cert-file")
                .arg(self.tls_path(SERVER_CERT))
                .arg("--key-file")
                .arg(self.tls_path(SERVER_KEY))
                .arg("--trusted-ca-file")
                .arg(self.tls_path(CA_CERT))
                .arg("--client-cert-auth");
        }
        if let Some(metrics) = member.metrics {
            command.args([
                "--listen-metrics-urls",
                &format!("http://127.0.0.1:{metrics}"),
            ]);
        }
        let etcd = command
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
