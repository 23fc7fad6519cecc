//! Calls from the server to webhooks (CRD conversion webhooks): a JSON POST over TLS to a URL or
//! to a Service, reached through its endpoints as the aggregator reaches APIServices, with the
//! front-proxy client certificate. Upstream's `webhook.ClientConfig` (`url` or `service`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::client::conn::http1::SendRequest;
use serde_json::Value;

use super::credentials::WebhookCredentials;
use super::tls::ProxyIdentity;
use crate::registry::store::Store;

/// How long a webhook call may take (upstream's conversion webhook default).
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Where a webhook listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookTarget {
    /// `https://host[:port][/path]`.
    Url(String),
    /// A Service's endpoints, on `port` (443 by default), at `path` (`/` by default).
    Service {
        namespace: String,
        name: String,
        port: i64,
        path: String,
    },
}

impl WebhookTarget {
    /// The target of a `clientConfig` (`url` or `service`).
    pub fn from_client_config(config: &Value) -> Option<Self> {
        if let Some(url) = config.get("url").and_then(Value::as_str) {
            return Some(Self::Url(url.to_string()));
        }
        let service = config.get("service")?;
        let text = |key: &str| service.get(key).and_then(Value::as_str).unwrap_or("");
        Some(Self::Service {
            namespace: text("namespace").to_string(),
            name: text("name").to_string(),
            port: service.get("port").and_then(Value::as_i64).unwrap_or(443),
            path: match text("path") {
                "" => "/".to_string(),
                path => path.to_string(),
            },
        })
    }
}

/// `https://host[:port][/path]` -> (`host:port`, host, path).
fn split_url(url: &str) -> Result<(String, String, String), String> {
    let rest = url
        .strip_prefix("https://")
        .ok_or_else(|| format!("unsupported webhook URL {url:?}: only https is allowed"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, address) = match (authority.strip_prefix('['), authority.rsplit_once(':')) {
        // `[::1]:9443` or `[::1]`.
        (Some(v6), _) => match v6.split_once("]:") {
            Some((host, _)) => (host.to_string(), authority.to_string()),
            None => (
                v6.trim_end_matches(']').to_string(),
                format!("{authority}:443"),
            ),
        },
        (None, Some((host, _))) => (host.to_string(), authority.to_string()),
        (None, None) => (authority.to_string(), format!("{authority}:443")),
    };
    Ok((address, host, path.to_string()))
}

/// Calls webhooks, resolving Services through the core `services`, `endpoints` and
/// `discovery.k8s.io/v1` `endpointslices` stores.
#[derive(Clone)]
pub struct WebhookClient {
    pub services: Arc<Store>,
    pub endpoints: Arc<Store>,
    pub endpoint_slices: Arc<Store>,
    pub identity: Arc<ProxyIdentity>,
    /// Per-webhook credentials (admission webhooks' kubeconfig); empty: the front-proxy
    /// certificate everywhere.
    pub credentials: Arc<WebhookCredentials>,
    /// Idle connections and TLS settings kept between calls, as client-go keeps them.
    pub pool: Arc<ConnectionPool>,
}

/// Idle keep-alive connections by (address, server name, CA bundle, client identity), and the TLS
/// settings of each CA bundle and identity, so that a webhook called often costs neither a handshake nor a CA parse per
/// call.
#[derive(Default)]
pub struct ConnectionPool {
    idle: std::sync::Mutex<HashMap<ConnectionKey, Vec<SendRequest<Body>>>>,
    configs: std::sync::Mutex<HashMap<ConfigKey, Arc<rustls::ClientConfig>>>,
}

/// A TLS configuration by CA bundle and client identity.
type ConfigKey = (Option<Vec<u8>>, usize);

/// An identity by address, as the pool tells them apart.
fn identity_id(identity: &Arc<ProxyIdentity>) -> usize {
    Arc::as_ptr(identity) as usize
}

type ConnectionKey = (String, String, Option<Vec<u8>>, usize);

/// Idle connections kept per key.
const IDLE_PER_KEY: usize = 64;

impl ConnectionPool {
    fn config(
        &self,
        identity: &Arc<ProxyIdentity>,
        ca_bundle: Option<&[u8]>,
    ) -> Result<Arc<rustls::ClientConfig>, String> {
        let key = (ca_bundle.map(<[u8]>::to_vec), identity_id(identity));
        let mut configs = self.configs.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(config) = configs.get(&key) {
            return Ok(config.clone());
        }
        let config = identity.client_config(ca_bundle, false)?;
        configs.insert(key, config.clone());
        Ok(config)
    }

    /// An idle connection of `key` that is still open, if any.
    fn take(&self, key: &ConnectionKey) -> Option<SendRequest<Body>> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let senders = idle.get_mut(key)?;
        while let Some(sender) = senders.pop() {
            if !sender.is_closed() {
                return Some(sender);
            }
        }
        None
    }

    fn put(&self, key: ConnectionKey, sender: SendRequest<Body>) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let senders = idle.entry(key).or_default();
        if senders.len() < IDLE_PER_KEY {
            senders.push(sender);
        }
    }
}

/// A webhook call that got no usable answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallFailure {
    /// The HTTP status of the answer; 0 when none came (unreachable, timed out).
    pub status: u16,
    /// Why, as Go's HTTP client words it: `Post "<url>": <cause>`.
    pub message: String,
}

/// A duration in whole seconds as Go prints a `time.Duration` (`10s`, `1m0s`, `1h0m0s`).
fn go_seconds(seconds: u64) -> String {
    let (h, m, s) = (seconds / 3600, (seconds % 3600) / 60, seconds % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s}s"),
        _ => format!("{h}h{m}m{s}s"),
    }
}

impl WebhookClient {
    /// POSTs `body` as JSON to `target`, verifying its certificate against `ca_bundle` (PEM; the
    /// system has no other roots), and returns the JSON answer. Errors are worded as Go's HTTP
    /// client words them where it matters (`Post "<url>": ...`).
    pub async fn call(
        &self,
        target: &WebhookTarget,
        ca_bundle: Option<&[u8]>,
        body: &Value,
    ) -> Result<Value, String> {
        self.post(target, ca_bundle, body, CALL_TIMEOUT, false)
            .await
            .map(|(_, answer)| answer)
            .map_err(|failure| failure.message)
    }

    /// As [`WebhookClient::call`], giving up after `timeout`, and answering the HTTP status
    /// with the JSON answer. With `timeout_param`, the path carries client-go's
    /// `?timeout=<duration>` (the timeout rounded up to whole seconds), which admission
    /// webhooks read. A non-2xx answer or a body that is not JSON is a [`CallFailure`] carrying
    /// the status.
    pub async fn post(
        &self,
        target: &WebhookTarget,
        ca_bundle: Option<&[u8]>,
        body: &Value,
        timeout: Duration,
        timeout_param: bool,
    ) -> Result<(u16, Value), CallFailure> {
        let failed = |status: u16, message: String| CallFailure { status, message };
        let (address, server_name, mut path, mut shown, credential_target) = match target {
            WebhookTarget::Url(url) => {
                let (address, host, path) = split_url(url).map_err(|why| failed(0, why))?;
                let authority = url["https://".len()..].split('/').next().unwrap_or("");
                (address, host, path, url.clone(), authority.to_string())
            }
            WebhookTarget::Service {
                namespace,
                name,
                port,
                path,
            } => {
                let address = super::resolve::resolve_endpoint(
                    &self.services,
                    &self.endpoints,
                    &self.endpoint_slices,
                    namespace,
                    name,
                    *port,
                )
                .await
                .map_err(|unreachable| failed(0, unreachable.message))?;
                let host = format!("{name}.{namespace}.svc");
                let shown = format!("https://{host}:{port}{path}");
                let credential_target = format!("{host}:{port}");
                (address, host, path.clone(), shown, credential_target)
            }
        };
        if timeout_param {
            let seconds = timeout.as_secs() + u64::from(timeout.subsec_nanos() > 0);
            let query = format!("timeout={}", go_seconds(seconds));
            let separator = if path.contains('?') { '&' } else { '?' };
            path = format!("{path}{separator}{query}");
            let separator = if shown.contains('?') { '&' } else { '?' };
            shown = format!("{shown}{separator}{query}");
        }
        let in_post = |status: u16, why: String| failed(status, format!("Post {shown:?}: {why}"));
        let credential = self.credentials.for_target(&credential_target);
        let identity = credential
            .and_then(|c| c.identity.as_ref())
            .unwrap_or(&self.identity);
        let bearer = credential
            .and_then(|c| c.token.as_deref())
            .map(|token| format!("Bearer {token}"));
        let config = self
            .pool
            .config(identity, ca_bundle)
            .map_err(|why| in_post(0, why))?;
        let key: ConnectionKey = (
            address.clone(),
            server_name.clone(),
            ca_bundle.map(<[u8]>::to_vec),
            identity_id(identity),
        );
        let encoded = Bytes::from(serde_json::to_vec(body).map_err(|e| in_post(0, e.to_string()))?);
        let make_request = || {
            let mut request = http::Request::post(&path)
                .header(http::header::HOST, server_name.as_str())
                .header(http::header::CONTENT_TYPE, "application/json")
                .header(http::header::ACCEPT, "application/json");
            if let Some(bearer) = &bearer {
                request = request.header(http::header::AUTHORIZATION, bearer.as_str());
            }
            request
                .body(Body::from(encoded.clone()))
                .map_err(|e| (0, e.to_string()))
        };
        let call = async {
            // A kept connection the server closed meanwhile fails at once: retried on a new one.
            let pooled = match self.pool.take(&key) {
                Some(mut sender) => match sender.send_request(make_request()?).await {
                    Ok(response) => Some((sender, response)),
                    Err(_) => None,
                },
                None => None,
            };
            let (sender, response) = match pooled {
                Some(done) => done,
                None => {
                    let mut sender = super::tls::connect(&address, &server_name, config)
                        .await
                        .map_err(|why| (0, why))?;
                    let response = sender
                        .send_request(make_request()?)
                        .await
                        .map_err(|why| (0, why.to_string()))?;
                    (sender, response)
                }
            };
            let status = response.status();
            let bytes = response
                .into_body()
                .collect()
                .await
                .map_err(|e| (status.as_u16(), e.to_string()))?
                .to_bytes();
            self.pool.put(key.clone(), sender);
            if !status.is_success() {
                return Err((
                    status.as_u16(),
                    format!(
                        "the server responded with the status code {} but did not return more information",
                        status.as_u16()
                    ),
                ));
            }
            serde_json::from_slice(&bytes)
                .map(|answer| (status.as_u16(), answer))
                .map_err(|e| (status.as_u16(), format!("unmarshal: {e}")))
        };
        tokio::time::timeout(timeout, call)
            .await
            .map_err(|_| in_post(0, "context deadline exceeded".to_string()))?
            .map_err(|(status, why)| in_post(status, why))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_address_host_and_path() {
        assert_eq!(
            split_url("https://127.0.0.1:9443/convert").unwrap(),
            (
                "127.0.0.1:9443".into(),
                "127.0.0.1".into(),
                "/convert".into()
            )
        );
        assert_eq!(
            split_url("https://hooks.example.com").unwrap(),
            (
                "hooks.example.com:443".into(),
                "hooks.example.com".into(),
                "/".into()
            )
        );
        assert!(split_url("http://insecure").is_err());
        assert_eq!(go_seconds(10), "10s");
        assert_eq!(go_seconds(90), "1m30s");
        let target = WebhookTarget::from_client_config(
            &serde_json::json!({"service": {"namespace": "ns", "name": "hook"}}),
        );
        assert_eq!(
            target,
            Some(WebhookTarget::Service {
                namespace: "ns".into(),
                name: "hook".into(),
                port: 443,
                path: "/".into()
            })
        );
    }
}
