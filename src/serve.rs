//! The HTTPS listener.
//!
//! * TLS by rustls (ring), ALPN `h2` and `http/1.1`; hyper's automatic builder serves HTTP/1.1 and
//!   HTTP/2 (kubectl speaks h2), with upgrades (for exec/attach later) and streamed bodies
//!   (watches) on both.
//! * Client certificates are optional. A presented certificate MUST chain to our CA (with the
//!   clientAuth usage) or the handshake fails; a verified one becomes a [`ClientCertIdentity`] in
//!   the extensions of every request on the connection, for the authentication filter.
//! * A failed handshake is logged at debug level and affects only its connection.
//! * Limits as Go's server under kube-apiserver: request heads up to 1 MiB (`MaxHeaderBytes`;
//!   beyond it HTTP/1.1 gets 431 and HTTP/2 a stream error), 90 s to send them on an idle or
//!   new HTTP/1.1 connection (`IdleTimeout`), 100 concurrent HTTP/2 streams per connection unless
//!   `server.http2_max_streams_per_connection` says otherwise, and a GOAWAY for a client that
//!   resets streams faster than they are served (HTTP/2 rapid reset).
//! * TLS versions and cipher suites from `server.tls_min_version`/`server.tls_cipher_suites`.
//! * [`serve`] stops accepting when `shutdown` completes, lets open connections finish for a grace
//!   period (long-running watches are cut after it), then returns.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use crate::pki::Pki;
use crate::request::connection::{ClientCertIdentity, PeerAddr};

/// How long a client has to complete the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long open connections may finish their requests after shutdown starts.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// The largest request head (request line and headers), as Go's `DefaultMaxHeaderBytes` that
/// kube-apiserver sets (1 MiB); Go allows 4 KiB of slack over it.
pub const MAX_HEADER_BYTES: usize = (1 << 20) + 4096;
/// How long an HTTP/1.1 connection may wait for a complete request head. hyper runs one timer
/// from the moment it waits for a head, so this is both Go's `IdleTimeout` (90 s, which
/// upstream sets) for an idle keep-alive connection and the bound on a slow head (upstream's
/// `ReadHeaderTimeout` is 32 s once the first byte arrived).
const READ_HEADER_TIMEOUT: Duration = Duration::from_secs(90);
/// Upstream's default of `--http2-max-streams-per-connection` (0 there means this).
pub const DEFAULT_HTTP2_MAX_STREAMS: u32 = 100;
/// Streams a client may reset before they are accepted before the connection is ended with a
/// GOAWAY (HTTP/2 rapid reset, CVE-2023-44487; h2's own default, set here on purpose).
const MAX_PENDING_ACCEPT_RESET_STREAMS: usize = 20;
/// Streams the server may reset because of a client's protocol errors before it ends the
/// connection (RUSTSEC-2024-0003; hyper's default, set here on purpose).
const MAX_LOCAL_ERROR_RESET_STREAMS: usize = 1024;

/// The listener's settings from `[server]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Concurrent HTTP/2 streams per connection.
    pub http2_max_streams: u32,
}

impl ConnectionLimits {
    /// The limits `server` asks for (0 streams: upstream's default).
    pub fn from_config(server: &crate::config::ServerConfig) -> Self {
        Self {
            http2_max_streams: match server.http2_max_streams_per_connection {
                0 => DEFAULT_HTTP2_MAX_STREAMS,
                n => n,
            },
        }
    }
}

/// Why TLS could not be configured.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error("reading {what}: {why}")]
    Pem { what: &'static str, why: String },
    #[error("{0}")]
    Rustls(#[from] rustls::Error),
    #[error("client certificate verifier: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
    /// A TLS setting (`server.tls_*`) that cannot be served.
    #[error("{setting}: {why}")]
    Setting { setting: &'static str, why: String },
}

/// The rustls configuration for our certificates: serving certificate and key, optional client
/// certificates verified against our CA, ALPN `h2` then `http/1.1`; the protocol versions and
/// cipher suites `server` allows (`server.tls_min_version`, `server.tls_cipher_suites`).
pub fn tls_config(
    pki: &Pki,
    server: &crate::config::ServerConfig,
) -> Result<rustls::ServerConfig, TlsSetupError> {
    let versions =
        crate::config::tls::protocol_versions(&server.tls_min_version).map_err(|why| {
            TlsSetupError::Setting {
                setting: "server.tls_min_version",
                why,
            }
        })?;
    let mut provider = rustls::crypto::ring::default_provider();
    let suites = crate::config::tls::cipher_suites(&server.tls_cipher_suites).map_err(|why| {
        TlsSetupError::Setting {
            setting: "server.tls_cipher_suites",
            why,
        }
    })?;
    if let Some(suites) = suites {
        provider.cipher_suites = suites;
    }
    let provider = Arc::new(provider);

    let mut roots = rustls::RootCertStore::empty();
    for ca in pem_certificates(&pki.ca_cert_pem, "the CA certificate")? {
        roots.add(ca)?;
    }
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .allow_unauthenticated()
    .build()?;

    let chain = pem_certificates(&pki.serving_cert_pem, "the serving certificate")?;
    let key = pem_private_key(&pki.serving_key_pem, "the serving key")?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// Reads the private key of a PEM document (PKCS#8, SEC1 or PKCS#1).
fn pem_private_key(pem: &str, what: &'static str) -> Result<PrivateKeyDer<'static>, TlsSetupError> {
    let mut reader = pem.as_bytes();
    rustls_pemfile::private_key(&mut reader)
        .map_err(|e| TlsSetupError::Pem {
            what,
            why: e.to_string(),
        })?
        .ok_or(TlsSetupError::Pem {
            what,
            why: "no private key found".into(),
        })
}

fn pem_certificates(
    pem: &str,
    what: &'static str,
) -> Result<Vec<CertificateDer<'static>>, TlsSetupError> {
    let mut reader = pem.as_bytes();
    let certs = rustls_pemfile::certs(&mut reader)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsSetupError::Pem {
            what,
            why: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsSetupError::Pem {
            what,
            why: "no certificate found".into(),
        });
    }
    Ok(certs)
}

/// Serves `app` over TLS on `listener` until `shutdown` completes.
///
/// Each connection is its own task; a failing connection never stops the loop. After `shutdown`
/// the listener is closed, connections are asked to finish (HTTP/2 GOAWAY, HTTP/1.1 close after
/// the current response) and any still open after [`SHUTDOWN_GRACE`] are dropped.
pub async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    app: axum::Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let acceptor = TlsAcceptor::from(tls);
    let builder = connection_builder(limits);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);

    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => {
                let (tcp, peer) = match accepted {
                    Ok(conn) => conn,
                    Err(err) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        tracing::warn!(error = %err, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let _ = tcp.set_nodelay(true);
                connections.spawn(serve_connection(
                    tcp,
                    peer,
                    acceptor.clone(),
                    builder.clone(),
                    app.clone(),
                    stop_rx.clone(),
                ));
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }

    drop(listener);
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::info!(
            open = connections.len(),
            "closing connections still open after the grace period"
        );
        connections.shutdown().await;
    }
    Ok(())
}

/// The HTTP/1.1 and HTTP/2 settings of every connection (see the module's limits).
fn connection_builder(
    limits: ConnectionLimits,
) -> hyper_util::server::conn::auto::Builder<TokioExecutor> {
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    // HTTP/1.1: a head beyond the read buffer is answered 431 by hyper (a URI beyond the http
    // crate's 64 KiB limit, 414).
    builder
        .http1()
        .max_buf_size(MAX_HEADER_BYTES)
        .timer(TokioTimer::new())
        .header_read_timeout(READ_HEADER_TIMEOUT);
    builder
        .http2()
        .max_header_list_size(MAX_HEADER_BYTES as u32)
        .max_concurrent_streams(limits.http2_max_streams)
        .max_pending_accept_reset_streams(MAX_PENDING_ACCEPT_RESET_STREAMS)
        .max_local_error_reset_streams(MAX_LOCAL_ERROR_RESET_STREAMS);
    builder
}

/// One connection: TLS handshake, then HTTP until the client leaves or shutdown asks it to.
async fn serve_connection(
    tcp: tokio::net::TcpStream,
    peer: SocketAddr,
    acceptor: TlsAcceptor,
    builder: hyper_util::server::conn::auto::Builder<TokioExecutor>,
    app: axum::Router,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(err)) => {
            tracing::debug!(peer = %peer, error = %err, "TLS handshake failed");
            return;
        }
        Err(_) => {
            tracing::debug!(peer = %peer, "TLS handshake timed out");
            return;
        }
    };
    let identity = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|chain| chain.first())
        .and_then(|leaf| ClientCertIdentity::from_der(leaf));

    let service = tower::ServiceExt::map_request(
        app,
        move |mut req: http::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(PeerAddr(peer));
            if let Some(identity) = &identity {
                req.extensions_mut().insert(identity.clone());
            }
            req
        },
    );
    let service = hyper_util::service::TowerToHyperService::new(service);
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(tls), service);
    tokio::pin!(connection);

    let result = tokio::select! {
        result = connection.as_mut() => result,
        _ = stop.changed() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(err) = result {
        tracing::debug!(peer = %peer, error = %err, "connection ended with an error");
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("received SIGINT, shutting down"),
        () = terminate => tracing::info!("received SIGTERM, shutting down"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_is_read_from_the_admin_certificate() {
        let dir = tempfile::tempdir().expect("tempdir");
        crate::pki::ensure(dir.path(), "127.0.0.1:6443".parse().expect("addr")).expect("pki");
        let pem = std::fs::read_to_string(dir.path().join(crate::pki::ADMIN_CERT_FILE))
            .expect("admin cert");
        let der = pem_certificates(&pem, "admin").expect("der").remove(0);
        let identity = ClientCertIdentity::from_der(&der).expect("identity");
        assert_eq!(identity.user, crate::pki::ADMIN_USER);
        assert_eq!(identity.groups, vec![crate::pki::ADMIN_GROUP.to_string()]);
    }

    #[test]
    fn tls_config_builds_from_fresh_certificates() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pki =
            crate::pki::ensure(dir.path(), "127.0.0.1:6443".parse().expect("addr")).expect("pki");
        let config = tls_config(&pki, &Default::default()).expect("tls config");
        assert_eq!(
            config.alpn_protocols,
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        );
    }

    #[test]
    fn tls_settings_shape_the_config_or_name_themselves() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pki =
            crate::pki::ensure(dir.path(), "127.0.0.1:6443".parse().expect("addr")).expect("pki");
        let server = crate::config::ServerConfig {
            tls_min_version: "VersionTLS13".into(),
            tls_cipher_suites: vec!["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256".into()],
            ..Default::default()
        };
        let config = tls_config(&pki, &server).expect("tls config");
        let suites = &config.crypto_provider().cipher_suites;
        assert!(suites.iter().any(|s| s.tls13().is_some()));
        assert_eq!(suites.iter().filter(|s| s.tls13().is_none()).count(), 1);

        let server = crate::config::ServerConfig {
            tls_cipher_suites: vec!["TLS_RSA_WITH_RC4_128_SHA".into()],
            ..Default::default()
        };
        let err = tls_config(&pki, &server).unwrap_err().to_string();
        assert!(
            err.starts_with("server.tls_cipher_suites: \"TLS_RSA_WITH_RC4_128_SHA\""),
            "{err}"
        );
    }

    #[test]
    fn limits_default_to_upstreams() {
        let limits = ConnectionLimits::from_config(&Default::default());
        assert_eq!(limits.http2_max_streams, 100);
        let server = crate::config::ServerConfig {
            http2_max_streams_per_connection: 1000,
            ..Default::default()
        };
        assert_eq!(
            ConnectionLimits::from_config(&server).http2_max_streams,
            1000
        );
    }
}
