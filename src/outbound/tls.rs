//! TLS connections from the server to endpoints in the cluster, presenting the front-proxy client
//! certificate: the aggregator's proxy and availability checks, and webhook calls.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use hyper_util::rt::TokioIo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};

/// How long connecting (TCP and TLS) to an endpoint may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The client certificate the server presents (the front-proxy client certificate).
#[derive(Debug)]
pub struct ProxyIdentity {
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl ProxyIdentity {
    /// Parses a PEM certificate chain and PEM private key.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self, String> {
        let certs = rustls_pemfile::certs(&mut cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|err| err.to_string())?;
        if certs.is_empty() {
            return Err("no certificate in the PEM".into());
        }
        let key = rustls_pemfile::private_key(&mut key_pem.as_bytes())
            .map_err(|err| err.to_string())?
            .ok_or_else(|| "no private key in the PEM".to_string())?;
        Ok(Self { certs, key })
    }

    /// A TLS client configuration presenting this identity, verifying servers against
    /// `ca_bundle` (PEM), or not at all when `insecure`.
    ///
    /// MUST fail, with client-go's wording, when `ca_bundle` holds no certificate.
    pub fn client_config(
        &self,
        ca_bundle: Option<&[u8]>,
        insecure: bool,
    ) -> Result<Arc<ClientConfig>, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|err| err.to_string())?;
        let builder = if insecure {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(NoVerification(provider)))
        } else {
            let mut roots = rustls::RootCertStore::empty();
            if let Some(bundle) = ca_bundle.filter(|b| !b.is_empty()) {
                let certs = rustls_pemfile::certs(&mut &bundle[..])
                    .collect::<Result<Vec<_>, _>>()
                    .unwrap_or_default();
                if certs.is_empty() {
                    return Err(
                        "unable to load root certificates: unable to parse bytes as PEM block"
                            .into(),
                    );
                }
                for cert in certs {
                    roots.add(cert).map_err(|err| err.to_string())?;
                }
            }
            builder.with_root_certificates(roots)
        };
        let mut config = builder
            .with_client_auth_cert(self.certs.clone(), self.key.clone_key())
            .map_err(|err| err.to_string())?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

/// A TLS client configuration presenting no certificate and accepting any server's (Go's
/// `tls.Config{InsecureSkipVerify: true}`, as upstream's component status probes use).
pub fn insecure_anonymous_config() -> Result<Arc<ClientConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|err| err.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(NoVerification(provider)))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Accepts any server certificate (`insecureSkipTLSVerify`, and upstream's availability check),
/// still checking handshake signatures.
#[derive(Debug)]
struct NoVerification(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A connection error as Go's `net` package words it (`connect: connection refused`).
fn dial_error(err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::ConnectionRefused => "connect: connection refused".into(),
        std::io::ErrorKind::ConnectionReset => "connect: connection reset by peer".into(),
        std::io::ErrorKind::HostUnreachable => "connect: no route to host".into(),
        std::io::ErrorKind::NetworkUnreachable => "connect: network is unreachable".into(),
        _ => err.to_string(),
    }
}

/// Sends `request` (origin-form URI) to `address` over TLS with `config`, verifying the
/// certificate for `server_name`; the response body streams from the connection.
pub async fn send(
    address: &str,
    server_name: &str,
    config: Arc<ClientConfig>,
    request: http::Request<Body>,
) -> Result<http::Response<hyper::body::Incoming>, String> {
    let mut sender = connect(address, server_name, config).await?;
    sender
        .send_request(request)
        .await
        .map_err(|err| err.to_string())
}

/// Opens an HTTP/1.1 connection over TLS to `address`, verifying the certificate for
/// `server_name`; requests go through the returned sender, one at a time.
pub async fn connect(
    address: &str,
    server_name: &str,
    config: Arc<ClientConfig>,
) -> Result<hyper::client::conn::http1::SendRequest<Body>, String> {
    let name = ServerName::try_from(server_name.to_string()).map_err(|err| err.to_string())?;
    let connect = async {
        let tcp = tokio::net::TcpStream::connect(address)
            .await
            .map_err(|err| format!("dial tcp {address}: {}", dial_error(&err)))?;
        let _ = tcp.set_nodelay(true);
        tokio_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .map_err(|err| err.to_string())
    };
    let tls = tokio::time::timeout(CONNECT_TIMEOUT, connect)
        .await
        .map_err(|_| format!("dial tcp {address}: i/o timeout"))??;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|err| err.to_string())?;
    tokio::spawn(async move {
        if let Err(err) = connection.await {
            tracing::debug!(%err, "proxy connection ended");
        }
    });
    Ok(sender)
}
