//! Calls from the server to webhooks (CRD conversion webhooks): a JSON POST over TLS to a URL or
//! to a Service, reached through its endpoints as the aggregator reaches APIServices, with the
//! front-proxy client certificate. Upstream's `webhook.ClientConfig` (`url` or `service`).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use http_body_util::BodyExt;
use serde_json::Value;

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
        let (address, server_name, path, shown) = match target {
            WebhookTarget::Url(url) => {
                let (address, host, path) = split_url(url)?;
                (address, host, path, url.clone())
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
                .map_err(|unreachable| unreachable.message)?;
                let host = format!("{name}.{namespace}.svc");
                let shown = format!("https://{host}:{port}{path}");
                (address, host, path.clone(), shown)
            }
        };
        let config = self.identity.client_config(ca_bundle, false)?;
        let request = http::Request::post(&path)
            .header(http::header::HOST, server_name.as_str())
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::ACCEPT, "application/json")
            .body(Body::from(
                serde_json::to_vec(body).map_err(|e| e.to_string())?,
            ))
            .map_err(|e| e.to_string())?;
        let call = async {
            let response = super::tls::send(&address, &server_name, config, request).await?;
            let status = response.status();
            let bytes = response
                .into_body()
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes();
            if !status.is_success() {
                return Err(format!(
                    "the server responded with the status code {} but did not return more information",
                    status.as_u16()
                ));
            }
            serde_json::from_slice(&bytes).map_err(|e| format!("unmarshal: {e}"))
        };
        tokio::time::timeout(CALL_TIMEOUT, call)
            .await
            .map_err(|_| "context deadline exceeded".to_string())?
            .map_err(|why| format!("Post {shown:?}: {why}"))
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
