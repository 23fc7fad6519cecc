//! An HTTPS health probe, as upstream's component status `HttpServer` probes the scheduler and
//! the controller manager (`pkg/probe/http`): a GET of `https://<address><path>` accepting any
//! certificate, within the probe timeout.
//!
//! * a 2xx answer is a success with the body (at most 10 KiB) as message; a 3xx a warning;
//!   any other status a failure `HTTP probe failed with statuscode: <code>`;
//! * a request that fails (refused, TLS, timeout) is a failure whose message is Go's error text
//!   `Get "<url>": <why>` (no error: upstream's prober turns errors into failures).

use async_trait::async_trait;
use axum::body::Body;
use http_body_util::BodyExt;

use super::tls;
use crate::registry::resources::core::componentstatuses::{
    HealthCheck, Probe, ProbeResult, PROBE_TIMEOUT,
};

/// The most of a body a probe reads (upstream's `maxRespBodyLength`).
const MAX_BODY: usize = 10 << 10;

/// The HTTPS health endpoint `https://<host>:<port><path>`.
pub struct HttpsHealthz {
    pub host: String,
    pub port: u16,
    pub path: String,
}

impl HttpsHealthz {
    /// `https://127.0.0.1:<port>/healthz`, where upstream expects a component on this machine.
    pub fn local(port: u16) -> Self {
        Self {
            host: "127.0.0.1".into(),
            port,
            path: "/healthz".into(),
        }
    }

    fn url(&self) -> String {
        format!("https://{}:{}{}", self.host, self.port, self.path)
    }

    async fn get(&self) -> Result<(u16, String), String> {
        let config = tls::insecure_anonymous_config()?;
        let address = format!("{}:{}", self.host, self.port);
        let mut sender = tls::connect(&address, &self.host, config).await?;
        let request = http::Request::get(self.path.as_str())
            .header(http::header::HOST, &address)
            .header(http::header::USER_AGENT, "kube-probe/1.33")
            .header(http::header::ACCEPT, "*/*")
            .body(Body::empty())
            .map_err(|err| err.to_string())?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|err| err.to_string())?;
        let code = response.status().as_u16();
        let mut body = Vec::new();
        let mut incoming = response.into_body();
        while let Some(frame) = incoming.frame().await {
            let frame = frame.map_err(|err| err.to_string())?;
            if let Some(data) = frame.data_ref() {
                body.extend_from_slice(data);
            }
            if body.len() >= MAX_BODY {
                body.truncate(MAX_BODY);
                break;
            }
        }
        Ok((code, String::from_utf8_lossy(&body).into_owned()))
    }
}

#[async_trait]
impl HealthCheck for HttpsHealthz {
    async fn check(&self) -> Probe {
        let probe = |result, message: String| Probe {
            result,
            message,
            error: String::new(),
        };
        let got =
            tokio::time::timeout(PROBE_TIMEOUT, self.get())
                .await
                .unwrap_or_else(|_| {
                    Err("context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
                    .into())
                });
        match got {
            Ok((200..=299, body)) => probe(ProbeResult::Success, body),
            Ok((300..=399, body)) => probe(ProbeResult::Warning, body),
            Ok((code, _)) => probe(
                ProbeResult::Failure,
                format!("HTTP probe failed with statuscode: {code}"),
            ),
            Err(why) => probe(
                ProbeResult::Failure,
                format!("Get \"{}\": {why}", self.url()),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_refused_connection_fails_with_gos_error_text() {
        // A port just released: nothing listens there.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let probe = HttpsHealthz::local(port).check().await;
        assert_eq!(probe.result, ProbeResult::Failure);
        assert_eq!(
            probe.message,
            format!(
                "Get \"https://127.0.0.1:{port}/healthz\": dial tcp 127.0.0.1:{port}: connect: connection refused"
            )
        );
        assert_eq!(probe.error, "");
    }
}
