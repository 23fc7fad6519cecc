//! Proxying to extension API servers, as upstream's `handler_proxy.go` with
//! `client-go/transport`'s auth-proxy round tripper:
//!
//! * the request goes over HTTPS to the resolved endpoint, verified with the APIService's
//!   `caBundle` for server name `<service>.<namespace>.svc` (or not at all with
//!   `insecureSkipTLSVerify`), presenting the front-proxy client certificate;
//! * the incoming `Authorization` and every `X-Remote-*` header are dropped; the authenticated
//!   (post-impersonation) user is sent as `X-Remote-User`, one `X-Remote-Group` per group and
//!   `X-Remote-Extra-<key>` per extra value, the key percent-escaped as upstream's
//!   `headerKeyEscape`;
//! * bodies stream both ways (watches included), nothing is buffered;
//! * an unavailable APIService or an unresolvable Service answers 503 `service unavailable`, and
//!   a failed connection 503 `error trying to reach service: <error>`, both as upstream's
//!   `http.Error` writes them (plain text, not a Status).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, StatusCode};
use hyper_util::rt::TokioIo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};

use super::Aggregator;
use crate::filters::authn::UserInfo;

/// How long connecting (TCP and TLS) to an endpoint may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The headers upstream's request-header authenticator reads.
pub const REMOTE_USER_HEADER: &str = "X-Remote-User";
pub const REMOTE_GROUP_HEADER: &str = "X-Remote-Group";
pub const REMOTE_EXTRA_HEADER_PREFIX: &str = "X-Remote-Extra-";

/// Hop-by-hop headers, never forwarded (RFC 9110 section 7.6.1).
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// The client certificate the proxy presents (the front-proxy client certificate).
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

/// How to reach the APIService serving one group/version.
#[derive(Debug)]
pub struct ProxyRoute {
    /// The APIService's name.
    pub api_service: String,
    pub namespace: String,
    pub service: String,
    pub port: i64,
    /// Whether the APIService's `Available` condition is `True`.
    pub available: bool,
    /// The TLS configuration of the proxy connection, or the error building it (answered as 500).
    pub tls: Result<Arc<ClientConfig>, String>,
}

impl ProxyRoute {
    /// The server name certificates are verified for: `<service>.<namespace>.svc`.
    pub fn server_name(&self) -> String {
        format!("{}.{}.svc", self.service, self.namespace)
    }
}

/// A plain-text error as Go's `http.Error` writes it.
pub fn plain_error(code: StatusCode, message: &str) -> Response {
    (
        code,
        [
            (http::header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (http::header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        format!("{message}\n"),
    )
        .into_response()
}

/// Upstream's `headerKeyEscape`: percent-encodes (`%XX`, upper case) every byte that is not a
/// legal header-name byte (RFC 7230 token), and `%` itself.
pub fn escape_extra_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for byte in key.bytes() {
        let legal = byte.is_ascii_alphanumeric() || b"!#$&'*+-.^_`|~".contains(&byte);
        if legal {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Rewrites `headers` for the extension server: drops hop-by-hop headers, `Authorization` and
/// every `X-Remote-*` header, then asserts `user` with the request headers.
pub fn set_auth_proxy_headers(headers: &mut HeaderMap, user: &UserInfo) {
    let dropped: Vec<HeaderName> = headers
        .keys()
        .filter(|name| {
            let name = name.as_str();
            HOP_BY_HOP.contains(&name) || name == "authorization" || name.starts_with("x-remote-")
        })
        .cloned()
        .collect();
    for name in dropped {
        headers.remove(name);
    }
    let mut append = |name: String, value: &str| {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.append(name, value);
        }
    };
    append(REMOTE_USER_HEADER.to_string(), &user.name);
    for group in &user.groups {
        append(REMOTE_GROUP_HEADER.to_string(), group);
    }
    for (key, values) in &user.extra {
        for value in values {
            append(
                format!("{REMOTE_EXTRA_HEADER_PREFIX}{}", escape_extra_key(key)),
                value,
            );
        }
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
    let name = ServerName::try_from(server_name.to_string()).map_err(|err| err.to_string())?;
    let connect = async {
        let tcp = tokio::net::TcpStream::connect(address)
            .await
            .map_err(|err| format!("dial tcp {address}: {err}"))?;
        let _ = tcp.set_nodelay(true);
        tokio_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .map_err(|err| err.to_string())
    };
    let tls = tokio::time::timeout(CONNECT_TIMEOUT, connect)
        .await
        .map_err(|_| format!("dial tcp {address}: i/o timeout"))??;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|err| err.to_string())?;
    tokio::spawn(async move {
        if let Err(err) = connection.await {
            tracing::debug!(%err, "proxy connection ended");
        }
    });
    sender
        .send_request(request)
        .await
        .map_err(|err| err.to_string())
}

/// Proxies `request` to the APIService of `route` (see the module documentation).
pub async fn forward(aggregator: &Aggregator, route: &ProxyRoute, request: Request) -> Response {
    if !route.available {
        return plain_error(StatusCode::SERVICE_UNAVAILABLE, "service unavailable");
    }
    let config = match &route.tls {
        Ok(config) => config.clone(),
        Err(err) => return plain_error(StatusCode::INTERNAL_SERVER_ERROR, err),
    };
    let Some(user) = request.extensions().get::<UserInfo>().cloned() else {
        return plain_error(StatusCode::INTERNAL_SERVER_ERROR, "missing user");
    };
    let address = match super::resolve::resolve_endpoint(
        &aggregator.services,
        &aggregator.endpoints,
        &aggregator.endpoint_slices,
        &route.namespace,
        &route.service,
        route.port,
    )
    .await
    {
        Ok(address) => address,
        Err(unreachable) => {
            tracing::warn!(
                namespace = %route.namespace,
                service = %route.service,
                reason = unreachable.reason,
                "error resolving the service of an APIService"
            );
            return plain_error(StatusCode::SERVICE_UNAVAILABLE, "service unavailable");
        }
    };
    let (mut parts, body) = request.into_parts();
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|pq| pq.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let Ok(uri) = path_and_query.parse::<http::Uri>() else {
        return plain_error(StatusCode::BAD_REQUEST, "invalid request URI");
    };
    set_auth_proxy_headers(&mut parts.headers, &user);
    if let Ok(host) = HeaderValue::from_str(&address) {
        parts.headers.insert(http::header::HOST, host);
    }
    let mut outgoing = http::Request::new(body);
    *outgoing.method_mut() = parts.method;
    *outgoing.uri_mut() = uri;
    *outgoing.headers_mut() = parts.headers;
    match send(&address, &route.server_name(), config, outgoing).await {
        Ok(response) => {
            let (mut parts, body) = response.into_parts();
            for name in HOP_BY_HOP {
                parts.headers.remove(*name);
            }
            Response::from_parts(parts, Body::new(body))
        }
        Err(err) => plain_error(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!("error trying to reach service: {err}"),
        ),
    }
}
