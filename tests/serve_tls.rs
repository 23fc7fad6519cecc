//! The HTTPS listener end to end: the real binary on a free port with a fresh data directory.
//!
//! * with the admin certificate (kube-rs from the generated kubeconfig) `/version` and `/readyz`
//!   answer 200;
//! * without a client certificate (a TLS client trusting only our CA) the answer is 401 with a
//!   Status body and an `Audit-Id`;
//! * a wrong setting exits with status 2 and one line naming it;
//! * SIGTERM stops the server cleanly.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// `apiary serve` on `addr` with `dir` as data directory and working directory.
fn spawn(dir: &Path, addr: &str, env: &[(&str, &str)]) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_apiary"));
    cmd.args(["serve", "--listen", addr, "--data-dir"])
        .arg(dir)
        .current_dir(dir)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (key, value) in env {
        cmd.env(key, value);
    }
    cmd.spawn().expect("start apiary")
}

/// Kills the server when a test fails half-way.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn admin_client(dir: &Path) -> kube::Client {
    let kubeconfig =
        kube::config::Kubeconfig::read_from(dir.join("admin.kubeconfig")).expect("kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .expect("kube config");
    kube::Client::try_from(config).expect("kube client")
}

fn get(path: &str) -> http::Request<Vec<u8>> {
    http::Request::get(path).body(Vec::new()).expect("request")
}

/// A raw HTTP/1.1 GET over TLS without a client certificate; returns the status code, the
/// headers (lower-case names) and the body.
async fn get_without_certificate(
    addr: &str,
    ca_pem: &str,
    path: &str,
) -> (u16, Vec<(String, String)>, String) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut ca_pem.as_bytes()) {
        roots.add(cert.expect("ca pem")).expect("ca");
    }
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let server_name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let mut tls = connector
        .connect(server_name, tcp)
        .await
        .expect("TLS handshake without a client cert");
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    tls.write_all(request.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    // A peer closing without close_notify is fine here; keep what arrived.
    let _ = tls.read_to_end(&mut raw).await;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("a response head");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .expect("status line");
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    (status, headers, body.to_string())
}

#[tokio::test]
async fn serves_https_with_client_certificates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let addr = format!("127.0.0.1:{}", free_port());
    let mut server = Server(spawn(dir.path(), &addr, &[]));

    // Wait for the kubeconfig, then for /readyz.
    let deadline = Instant::now() + Duration::from_secs(60);
    let client = loop {
        if let Some(status) = server.0.try_wait().expect("try_wait") {
            panic!("apiary exited early with {status}");
        }
        if dir.path().join("admin.kubeconfig").exists() {
            let client = admin_client(dir.path()).await;
            if client.request_text(get("/readyz")).await.ok().as_deref() == Some("ok") {
                break client;
            }
        }
        assert!(
            Instant::now() < deadline,
            "apiary did not become ready on {addr}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    // With the admin certificate.
    let version = client
        .request_text(get("/version"))
        .await
        .expect("/version");
    let version: serde_json::Value = serde_json::from_str(&version).expect("version JSON");
    assert_eq!(version["major"], "1");
    assert_eq!(version["minor"], "33");
    assert_eq!(version["gitVersion"], "v1.33.0");
    assert_eq!(
        client.request_text(get("/readyz")).await.expect("/readyz"),
        "ok"
    );
    assert_eq!(
        client
            .request_text(get("/livez/ping"))
            .await
            .expect("/livez/ping"),
        "ok"
    );
    let verbose = client
        .request_text(get("/readyz?verbose"))
        .await
        .expect("verbose");
    assert!(verbose.ends_with("readyz check passed\n"), "{verbose}");

    // Without a client certificate: 401 with a Status body.
    let ca_pem = std::fs::read_to_string(dir.path().join("ca.crt")).expect("ca.crt");
    for path in ["/version", "/api/v1/namespaces"] {
        let (status, headers, body) = get_without_certificate(&addr, &ca_pem, path).await;
        assert_eq!(status, 401, "{path}: {body}");
        let status: serde_json::Value = serde_json::from_str(&body).expect("a Status body");
        assert_eq!(status["kind"], "Status");
        assert_eq!(status["status"], "Failure");
        assert_eq!(status["reason"], "Unauthorized");
        assert_eq!(status["code"], 401);
        assert!(
            headers.iter().any(|(name, _)| name == "audit-id"),
            "{headers:?}"
        );
    }

    // The server survives a client that gives up in the middle of the handshake.
    drop(
        tokio::net::TcpStream::connect(&addr)
            .await
            .expect("connect"),
    );
    assert_eq!(
        client
            .request_text(get("/healthz"))
            .await
            .expect("/healthz"),
        "ok"
    );

    // SIGTERM: a clean exit.
    let pid = server.0.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = server.0.try_wait().expect("try_wait") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "apiary did not stop after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "exit status after SIGTERM: {status}");

    // A second start reuses the certificates.
    let ca_before = ca_pem;
    let mut again = Server(spawn(dir.path(), &addr, &[]));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = again.0.try_wait().expect("try_wait") {
            panic!("second start exited with {status}");
        }
        let client = admin_client(dir.path()).await;
        if client.request_text(get("/readyz")).await.ok().as_deref() == Some("ok") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "second start did not become ready"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        std::fs::read_to_string(dir.path().join("ca.crt")).expect("ca.crt"),
        ca_before
    );
}

#[test]
fn wrong_settings_exit_with_status_2_and_one_line() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("APIARY_STORAGE__BACKEND", "postgres")],
            "storage.postgres.url: must be set when storage.backend = \"postgres\"",
        ),
        // Nothing listens on port 1: unreachable backends at start-up.
        (
            &[
                ("APIARY_STORAGE__BACKEND", "postgres"),
                (
                    "APIARY_STORAGE__POSTGRES__URL",
                    "postgres://apiary:pw@127.0.0.1:1/apiary",
                ),
                ("APIARY_STORAGE__POSTGRES__CONNECT_TIMEOUT_SECONDS", "2"),
            ],
            "storage.postgres.url = \"postgres://apiary:***@127.0.0.1:1/apiary\": ",
        ),
        (
            &[
                ("APIARY_STORAGE__BACKEND", "etcd"),
                (
                    "APIARY_STORAGE__ETCD__ENDPOINTS",
                    "[\"http://127.0.0.1:1\"]",
                ),
                ("APIARY_STORAGE__ETCD__DIAL_TIMEOUT_SECONDS", "2"),
            ],
            "storage.etcd.endpoints = \"http://127.0.0.1:1\": ",
        ),
        (&[("APIARY_STORAGE__BACKEND", "mysql")], "storage.backend"),
        (
            &[("APIARY_ADMISSION__ENABLE_PLUGINS", "[NoSuchPlugin]")],
            "admission.enable_plugins: unknown admission plugin \"NoSuchPlugin\"",
        ),
        (&[("APIARY_SERVER__LISTN", "127.0.0.1:1")], "server.listn"),
        (
            &[("APIARY_SERVER__TLS_CIPHER_SUITES", "[TLS_NOPE]")],
            "server.tls_cipher_suites: \"TLS_NOPE\": cipher suite not supported",
        ),
        (
            &[("APIARY_SERVER__TLS_MIN_VERSION", "VersionTLS11")],
            "server.tls_min_version: \"VersionTLS11\"",
        ),
        (
            &[("APIARY_SERVER__REQUEST_TIMEOUT_SECONDS", "soon")],
            "server.request_timeout_seconds",
        ),
    ];
    for (env, expected) in cases {
        let dir = tempfile::tempdir().expect("tempdir");
        let addr = format!("127.0.0.1:{}", free_port());
        let output = spawn(dir.path(), &addr, env)
            .wait_with_output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{env:?}: {stderr}");
        let last = stderr.lines().last().unwrap_or_default();
        assert!(
            last.starts_with("apiary: ") && last.contains(expected),
            "{env:?}: {stderr}"
        );
    }

    // An address already in use.
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let dir = tempfile::tempdir().expect("tempdir");
    let output = spawn(dir.path(), &addr, &[])
        .wait_with_output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("server.listen = \"{addr}\": cannot listen")),
        "{stderr}"
    );
}
