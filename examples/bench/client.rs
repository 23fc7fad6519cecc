//! A lean HTTPS client: hyper's HTTP/1.1 connection API over tokio-rustls, with the client
//! certificate of an admin kubeconfig. One `Conn` is one keep-alive connection; answers are read
//! whole but never parsed as JSON (a few byte scans pick out a resourceVersion or a token).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context as _};
use base64::Engine as _;
use bytes::Bytes;
use http::{header, Method, Request, StatusCode};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// Where to connect and with which TLS identity.
#[derive(Clone)]
pub struct Target {
    pub addr: SocketAddr,
    /// `host:port`, for the Host header.
    authority: String,
    server_name: ServerName<'static>,
    tls: Arc<rustls::ClientConfig>,
}

/// The parts of a kubeconfig the client uses (its first cluster and user).
pub struct Kubeconfig {
    pub server: String,
    pub ca_pem: Vec<u8>,
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
}

impl Kubeconfig {
    pub fn parse(text: &str) -> anyhow::Result<Kubeconfig> {
        let doc: serde_json::Value = serde_yaml::from_str(text).context("kubeconfig YAML")?;
        let text_at = |pointer: &str| {
            doc.pointer(pointer)
                .and_then(serde_json::Value::as_str)
                .ok_or_else(|| anyhow!("the kubeconfig has no {pointer}"))
        };
        let decode = |pointer: &str| -> anyhow::Result<Vec<u8>> {
            base64::engine::general_purpose::STANDARD
                .decode(text_at(pointer)?)
                .with_context(|| format!("base64 of {pointer}"))
        };
        Ok(Kubeconfig {
            server: text_at("/clusters/0/cluster/server")?.to_string(),
            ca_pem: decode("/clusters/0/cluster/certificate-authority-data")?,
            cert_pem: decode("/users/0/user/client-certificate-data")?,
            key_pem: decode("/users/0/user/client-key-data")?,
        })
    }
}

/// `https://host:port` to a socket address (IP hosts only, as Apiary writes them).
pub fn parse_server(server: &str) -> anyhow::Result<SocketAddr> {
    let Some(authority) = server.strip_prefix("https://") else {
        bail!("the server {server:?} is not an https:// URL");
    };
    authority
        .trim_end_matches('/')
        .parse()
        .with_context(|| format!("the server {server:?} is not https://<ip>:<port>"))
}

impl Target {
    pub fn from_kubeconfig(path: &Path) -> anyhow::Result<Target> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let config = Kubeconfig::parse(&text)?;
        let addr = parse_server(&config.server)?;

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_pemfile::certs(&mut config.ca_pem.as_slice()) {
            roots.add(cert.context("the CA certificate")?)?;
        }
        let chain: Vec<CertificateDer<'static>> =
            rustls_pemfile::certs(&mut config.cert_pem.as_slice())
                .collect::<Result<_, _>>()
                .context("the client certificate")?;
        let key = rustls_pemfile::private_key(&mut config.key_pem.as_slice())
            .context("the client key")?
            .ok_or_else(|| anyhow!("the kubeconfig's client key holds no key"))?;
        let mut tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)?;
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Target {
            addr,
            authority: addr.to_string(),
            server_name: ServerName::from(addr.ip()),
            tls: Arc::new(tls),
        })
    }

    /// The same identity against another server of the same CA (the HTTPS ceiling).
    pub fn with_addr(&self, addr: SocketAddr) -> Target {
        Target {
            addr,
            authority: addr.to_string(),
            server_name: ServerName::from(addr.ip()),
            tls: self.tls.clone(),
        }
    }

    /// Opens a keep-alive HTTP/1.1 connection.
    pub async fn connect(&self) -> anyhow::Result<Conn> {
        let tcp = TcpStream::connect(self.addr)
            .await
            .with_context(|| format!("connecting to {}", self.addr))?;
        tcp.set_nodelay(true)?;
        let tls = TlsConnector::from(self.tls.clone())
            .connect(self.server_name.clone(), tcp)
            .await
            .context("TLS handshake")?;
        let (sender, connection) =
            hyper::client::conn::http1::handshake::<_, Full<Bytes>>(TokioIo::new(tls)).await?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(Conn {
            sender,
            authority: self.authority.clone(),
        })
    }
}

/// One keep-alive connection; one request at a time.
pub struct Conn {
    sender: SendRequest<Full<Bytes>>,
    authority: String,
}

impl Conn {
    fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<Bytes>,
    ) -> anyhow::Result<Request<Full<Bytes>>> {
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, self.authority.as_str())
            .header(header::ACCEPT, "application/json");
        if body.is_some() {
            builder = builder.header(header::CONTENT_TYPE, "application/json");
        }
        Ok(builder.body(Full::new(body.unwrap_or_default()))?)
    }

    /// Sends a request and reads the whole answer.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Bytes>,
    ) -> anyhow::Result<(StatusCode, Bytes)> {
        let request = self.request(method, path, body)?;
        self.sender.ready().await?;
        let response = self.sender.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }

    /// Sends a request and returns the answer's body unread (a watch).
    pub async fn open_stream(
        &mut self,
        method: Method,
        path: &str,
    ) -> anyhow::Result<(StatusCode, Incoming)> {
        let request = self.request(method, path, None)?;
        self.sender.ready().await?;
        let response = self.sender.send_request(request).await?;
        Ok((response.status(), response.into_body()))
    }
}

/// Where `needle` first occurs in `haystack`.
pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || needle.len() > haystack.len() {
        return None;
    }
    let first = needle[0];
    let last_start = haystack.len() - needle.len();
    let mut at = 0;
    while at <= last_start {
        let offset = haystack[at..=last_start].iter().position(|b| *b == first)?;
        at += offset;
        if haystack[at..at + needle.len()] == *needle {
            return Some(at);
        }
        at += 1;
    }
    None
}

/// How often `needle` occurs in `haystack`, without overlaps.
pub fn count(haystack: &[u8], needle: &[u8]) -> usize {
    let mut total = 0;
    let mut rest = haystack;
    while let Some(at) = find(rest, needle) {
        total += 1;
        rest = &rest[at + needle.len()..];
    }
    total
}

/// The JSON string that follows the first `"key":"` (no escapes expected: resourceVersions,
/// continue tokens, object names).
pub fn string_after<'a>(haystack: &'a [u8], key: &str) -> Option<&'a str> {
    let pattern = format!("\"{key}\":\"");
    let start = find(haystack, pattern.as_bytes())? + pattern.len();
    let len = haystack[start..].iter().position(|b| *b == b'"')?;
    std::str::from_utf8(&haystack[start..start + len]).ok()
}

/// The number after the first `prefix` (e.g. the 42 of a name `fan-42`).
pub fn number_after(haystack: &[u8], prefix: &[u8]) -> Option<usize> {
    let start = find(haystack, prefix)? + prefix.len();
    let digits = haystack[start..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    std::str::from_utf8(&haystack[start..start + digits])
        .ok()?
        .parse()
        .ok()
}

/// Splits complete lines (a watch stream's events) off the front of `buffer`.
pub fn take_lines(buffer: &mut Vec<u8>) -> Vec<Vec<u8>> {
    let mut lines = Vec::new();
    while let Some(end) = buffer.iter().position(|b| *b == b'\n') {
        let rest = buffer.split_off(end + 1);
        let mut line = std::mem::replace(buffer, rest);
        line.pop();
        if !line.is_empty() {
            lines.push(line);
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_and_count() {
        assert_eq!(find(b"abcabc", b"ca"), Some(2));
        assert_eq!(find(b"abc", b"abcd"), None);
        assert_eq!(find(b"aab", b"ab"), Some(1));
        assert_eq!(find(b"abc", b""), None);
        assert_eq!(count(b"x\"p\":\"1\" \"p\":\"2\"", b"\"p\":\""), 2);
        assert_eq!(count(b"aaaa", b"aa"), 2);
    }

    #[test]
    fn strings_and_numbers_are_scanned() {
        let object = br#"{"metadata":{"name":"fan-42","resourceVersion":"1077"},"data":{}}"#;
        assert_eq!(string_after(object, "resourceVersion"), Some("1077"));
        assert_eq!(string_after(object, "continue"), None);
        assert_eq!(number_after(object, b"\"name\":\"fan-"), Some(42));
        assert_eq!(
            number_after(b"\"name\":\"fan-x\"", b"\"name\":\"fan-"),
            None
        );
    }

    #[test]
    fn lines_are_split_and_the_rest_kept() {
        let mut buffer = b"{\"a\":1}\n{\"b\":2}\n{\"c\"".to_vec();
        let lines = take_lines(&mut buffer);
        assert_eq!(lines, vec![b"{\"a\":1}".to_vec(), b"{\"b\":2}".to_vec()]);
        assert_eq!(buffer, b"{\"c\"".to_vec());
        buffer.extend_from_slice(b":3}\n");
        assert_eq!(take_lines(&mut buffer), vec![b"{\"c\":3}".to_vec()]);
        assert!(buffer.is_empty());
    }

    #[test]
    fn the_kubeconfig_apiary_writes_is_read() {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: apiary\n  cluster:\n    server: https://127.0.0.1:16443\n    certificate-authority-data: {}\nusers:\n- name: admin\n  user:\n    client-certificate-data: {}\n    client-key-data: {}\n",
            b64("CA"),
            b64("CERT"),
            b64("KEY")
        );
        let config = Kubeconfig::parse(&text).expect("parse");
        assert_eq!(config.server, "https://127.0.0.1:16443");
        assert_eq!(config.ca_pem, b"CA");
        assert_eq!(config.key_pem, b"KEY");
        assert_eq!(
            parse_server(&config.server).expect("addr"),
            "127.0.0.1:16443".parse::<SocketAddr>().expect("addr")
        );
        assert!(parse_server("http://127.0.0.1:1").is_err());
        assert!(parse_server("https://localhost:1").is_err());
    }
}
