//! End-to-end test harness: starts the real `apiary` binary on a free loopback port with a fresh
//! data directory, waits until it is ready, and drives it with the real `kubectl` and with kube-rs.
#![allow(dead_code)]

pub mod admission;
pub mod curl;
pub mod tls_server;

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A running `apiary serve` process, killed on drop.
pub struct Apiary {
    pub child: Child,
    pub dir: tempfile::TempDir,
    pub addr: String,
    pub env: Vec<(String, String)>,
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// The storage an end-to-end test runs Apiary on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded default, in the test's data directory.
    Rocksdb,
    /// A fresh database on the test binary's throwaway PostgreSQL cluster.
    Postgres,
    /// A fresh key prefix on the test binary's throwaway etcd member.
    Etcd,
}

static STORE_SEQ: AtomicUsize = AtomicUsize::new(0);

impl Backend {
    /// The `APIARY_STORAGE__*` settings of a store no other test uses.
    pub fn fresh_store_env(self) -> Vec<(String, String)> {
        let unique = format!(
            "t{}_{}",
            std::process::id(),
            STORE_SEQ.fetch_add(1, Ordering::Relaxed)
        );
        match self {
            Backend::Rocksdb => Vec::new(),
            Backend::Postgres => {
                let url = apiary_postgres::testing::TempPostgres::shared().create_database(&unique);
                vec![
                    ("APIARY_STORAGE__BACKEND".into(), "postgres".into()),
                    ("APIARY_STORAGE__POSTGRES__URL".into(), url),
                ]
            }
            Backend::Etcd => {
                let endpoints = apiary_etcd::testing::TempEtcd::shared().endpoints();
                vec![
                    ("APIARY_STORAGE__BACKEND".into(), "etcd".into()),
                    (
                        "APIARY_STORAGE__ETCD__ENDPOINTS".into(),
                        format!(
                            "[{}]",
                            endpoints
                                .iter()
                                .map(|e| format!("{e:?}"))
                                .collect::<Vec<_>>()
                                .join(",")
                        ),
                    ),
                    ("APIARY_STORAGE__ETCD__PREFIX".into(), format!("/{unique}")),
                ]
            }
        }
    }
}

impl Apiary {
    /// Starts Apiary on the default (RocksDB) backend.
    pub fn start() -> Self {
        Self::start_with_env(Vec::new())
    }

    /// Starts Apiary on a fresh store of `backend`.
    pub fn start_on(backend: Backend) -> Self {
        Self::start_with_env(backend.fresh_store_env())
    }

    /// Starts a second replica serving the same store as `self`, with the same cluster CA (as an
    /// operator sets up replicas behind one load balancer), so one kubeconfig works for both.
    pub fn start_replica(&self) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        // The cluster CA, the key ServiceAccount tokens are signed with (so each replica
        // accepts the other's tokens) and the front-proxy CA (one CA for extension servers to trust).
        for file in [
            "ca.crt",
            "ca.key",
            "sa.key",
            "front-proxy-ca.crt",
            "front-proxy-ca.key",
        ] {
            std::fs::copy(self.dir.path().join(file), dir.path().join(file)).expect("copy CA");
        }
        let addr = format!("127.0.0.1:{}", free_port());
        let env = self.env.clone();
        let child = spawn(dir.path(), &addr, &env);
        let apiary = Apiary {
            child,
            dir,
            addr,
            env,
        };
        apiary.wait_ready();
        apiary
    }

    /// Starts Apiary with extra `APIARY_*` environment settings.
    pub fn start_with_env(env: Vec<(String, String)>) -> Self {
        Self::start_prepared(env, |_| {})
    }

    /// Starts Apiary after `prepare` has written what it needs into the data directory, which is
    /// also the working directory: a `config.toml` there is read, and relative paths in it
    /// resolve there.
    pub fn start_prepared(env: Vec<(String, String)>, prepare: impl FnOnce(&Path)) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        prepare(dir.path());
        let addr = format!("127.0.0.1:{}", free_port());
        let child = spawn(dir.path(), &addr, &env);
        let apiary = Apiary {
            child,
            dir,
            addr,
            env,
        };
        apiary.wait_ready();
        apiary
    }

    /// Stops the process with SIGKILL and starts it again on the same data directory and port.
    pub fn kill_and_restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child = spawn(self.dir.path(), &self.addr, &self.env);
        self.wait_ready();
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("admin.kubeconfig")
    }

    /// `https://<addr>`.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// Writes a kubeconfig that presents `token` as a bearer token (no client certificate) and
    /// returns its path.
    pub fn token_kubeconfig(&self, name: &str, token: &str) -> PathBuf {
        let path = self.dir.path().join(format!("{name}.kubeconfig"));
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: apiary\n  cluster:\n    server: {}\n    certificate-authority: {}\nusers:\n- name: {name}\n  user:\n    token: {token}\ncontexts:\n- name: {name}\n  context:\n    cluster: apiary\n    user: {name}\n    namespace: default\ncurrent-context: {name}\n",
            self.url(),
            self.dir.path().join("ca.crt").display(),
        );
        std::fs::write(&path, text).expect("write kubeconfig");
        path
    }

    /// Runs kubectl with `kubeconfig` instead of the admin's.
    pub fn kubectl_with(&self, kubeconfig: &Path, args: &[&str]) -> Output {
        let mut all = vec!["--kubeconfig", kubeconfig.to_str().expect("utf-8 path")];
        all.extend_from_slice(args);
        Command::new(kubectl_path())
            .args(&all)
            .stdin(Stdio::null())
            .output()
            .expect("run kubectl")
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if self.kubeconfig().exists() {
                let out = self.kubectl(&["get", "--raw", "/readyz"]);
                if out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "ok" {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "apiary did not become ready at {}",
                self.addr
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `kubectl <args> -w --output-watch-events -o json`, each watch event passed through `map`
    /// on a reader thread; the receiver ends when kubectl does.
    pub fn kubectl_watch<T: Send + 'static>(
        &self,
        args: &[&str],
        map: impl Fn(&serde_json::Value) -> T + Send + 'static,
    ) -> (Child, std::sync::mpsc::Receiver<T>) {
        let mut child = Command::new(kubectl_path())
            .arg("--kubeconfig")
            .arg(self.kubeconfig())
            .args(args)
            .args(["-w", "--output-watch-events", "-o", "json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("kubectl -w");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let reader = std::io::BufReader::new(stdout);
            for event in serde_json::Deserializer::from_reader(reader).into_iter() {
                let Ok(event) = event else { break };
                if tx.send(map(&event)).is_err() {
                    break;
                }
            }
        });
        (child, rx)
    }

    /// Runs `kubectl --kubeconfig <admin> args...`.
    pub fn kubectl(&self, args: &[&str]) -> Output {
        self.kubectl_with_stdin(args, None)
    }

    /// Runs kubectl with the given standard input (for `-f -`).
    pub fn kubectl_with_stdin(&self, args: &[&str], stdin: Option<&str>) -> Output {
        self.kubectl_cmd(args, stdin, &[])
    }

    /// Runs kubectl with extra environment variables (e.g. `EDITOR`).
    pub fn kubectl_cmd(&self, args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(kubectl_path());
        cmd.arg("--kubeconfig").arg(self.kubeconfig()).args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("run kubectl");
        if let Some(input) = stdin {
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(input.as_bytes())
                .expect("write stdin");
        }
        child.wait_with_output().expect("kubectl output")
    }

    /// Runs kubectl and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        assert!(
            out.status.success(),
            "kubectl {:?} failed: {}{}",
            args,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs kubectl with stdin and asserts success; returns stdout.
    pub fn ok_stdin(&self, args: &[&str], stdin: &str) -> String {
        let out = self.kubectl_with_stdin(args, Some(stdin));
        assert!(
            out.status.success(),
            "kubectl {:?} failed: {}{}",
            args,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs kubectl, asserts failure; returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        assert!(
            !out.status.success(),
            "kubectl {:?} unexpectedly succeeded: {}",
            args,
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// A kube-rs client authenticated with the admin certificate.
    pub async fn client(&self) -> kube::Client {
        kube::Client::try_from(self.client_config().await).expect("kube client")
    }

    /// A kube-rs client that does not retry 429/503/504 answers itself, for tests that look at
    /// every answer.
    pub async fn client_without_retries(&self) -> kube::Client {
        let mut config = self.client_config().await;
        config.default_retry = false;
        kube::Client::try_from(config).expect("kube client")
    }

    async fn client_config(&self) -> kube::Config {
        let kubeconfig =
            kube::config::Kubeconfig::read_from(self.kubeconfig()).expect("kubeconfig");
        kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
            .await
            .expect("kube config")
    }
}

impl Drop for Apiary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(dir: &Path, addr: &str, env: &[(String, String)]) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("apiary.log"))
        .expect("log file");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_apiary"));
    cmd.arg("serve")
        .arg("--listen")
        .arg(addr)
        .arg("--data-dir")
        .arg(dir)
        .current_dir(dir)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log"))
        .stderr(log);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("start apiary")
}

/// The kubectl under test: `$KUBECTL`, else `/usr/bin/kubectl` (a dispatcher picking the client
/// nearest the server's version), else `kubectl` from PATH.
pub fn kubectl_path() -> PathBuf {
    if let Ok(path) = std::env::var("KUBECTL") {
        return PathBuf::from(path);
    }
    let dispatcher = PathBuf::from("/usr/bin/kubectl");
    if dispatcher.exists() {
        return dispatcher;
    }
    PathBuf::from("kubectl")
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}
