//! An admission webhook server for end-to-end tests: HTTPS from a CA of its own, answering
//! `admission.k8s.io/v1` `AdmissionReview`s with a closure of (path, request), and recording
//! every request it receives so tests can assert on the `AdmissionReview` fields.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

/// One `AdmissionReview` the server received: the path it was posted to and its `request`.
#[derive(Debug, Clone)]
pub struct Review {
    pub path: String,
    pub request: Value,
    /// The `Authorization` header the call came with.
    pub authorization: Option<String>,
}

/// A running webhook server (it stops with the runtime it was started on).
pub struct WebhookServer {
    pub port: u16,
    /// The CA (PEM) that signed the serving certificate.
    pub ca_pem: String,
    pub reviews: Arc<Mutex<Vec<Review>>>,
}

/// What a handler answers: the `response` fields besides `uid` (e.g. `allowed`, `status`,
/// `patch`, `warnings`, `auditAnnotations`), and how long to wait before answering.
pub struct Answer {
    pub response: Value,
    pub delay: Duration,
}

impl Answer {
    pub fn allow() -> Self {
        Self::of(json!({"allowed": true}))
    }

    pub fn deny(message: &str) -> Self {
        Self::of(json!({"allowed": false, "status": {"message": message}}))
    }

    /// Allows with a JSONPatch (`patch` is the JSON patch array).
    pub fn patch(patch: Value) -> Self {
        Self::of(json!({
            "allowed": true,
            "patchType": "JSONPatch",
            "patch": base64::engine::general_purpose::STANDARD.encode(patch.to_string()),
        }))
    }

    pub fn of(response: Value) -> Self {
        Answer {
            response,
            delay: Duration::ZERO,
        }
    }

    pub fn after(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

impl WebhookServer {
    /// Starts a server on `runtime` whose certificate is valid for 127.0.0.1 and every name in
    /// `dns_names` (e.g. `webhook.hooks.svc` for a Service), answering with `handler(path,
    /// request)`.
    pub fn start<F>(runtime: &tokio::runtime::Runtime, dns_names: &[&str], handler: F) -> Self
    where
        F: Fn(&str, &Value) -> Answer + Send + Sync + 'static,
    {
        use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
        let ca_key = KeyPair::generate().expect("key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_cert = ca_params.self_signed(&ca_key).expect("ca");
        let issuer = Issuer::new(ca_params, &ca_key);
        let key = KeyPair::generate().expect("key");
        let mut names = vec!["127.0.0.1".to_string()];
        names.extend(dns_names.iter().map(|n| n.to_string()));
        let cert = CertificateParams::new(names)
            .expect("params")
            .signed_by(&key, &issuer)
            .expect("cert");
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .expect("server config");
        let reviews = Arc::new(Mutex::new(Vec::new()));
        let handler = Arc::new(handler);
        let seen = reviews.clone();
        let port = super::tls_server::serve(runtime, config, move |request, _| {
            let (handler, seen) = (handler.clone(), seen.clone());
            async move {
                use http_body_util::BodyExt;
                let path = request.uri().path().to_string();
                let authorization = request
                    .headers()
                    .get(http::header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                let body = request
                    .into_body()
                    .collect()
                    .await
                    .map(|b| b.to_bytes())
                    .unwrap_or_default();
                let review: Value = serde_json::from_slice(&body).unwrap_or_default();
                let request = review["request"].clone();
                seen.lock().expect("lock").push(Review {
                    path: path.clone(),
                    request: request.clone(),
                    authorization,
                });
                let answer = handler(&path, &request);
                if !answer.delay.is_zero() {
                    tokio::time::sleep(answer.delay).await;
                }
                let mut response = answer.response;
                response["uid"] = request["uid"].clone();
                json!({
                    "apiVersion": "admission.k8s.io/v1",
                    "kind": "AdmissionReview",
                    "response": response,
                })
            }
        });
        WebhookServer {
            port,
            ca_pem: ca_cert.pem(),
            reviews,
        }
    }

    /// The CA bundle for a webhook's `clientConfig.caBundle`.
    pub fn ca_bundle(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.ca_pem)
    }

    /// `https://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.port)
    }

    /// The reviews received at `path` so far.
    pub fn reviews_at(&self, path: &str) -> Vec<Value> {
        self.reviews
            .lock()
            .expect("lock")
            .iter()
            .filter(|r| r.path == path)
            .map(|r| r.request.clone())
            .collect()
    }

    /// The `Authorization` headers of the calls at `path` so far.
    pub fn authorizations_at(&self, path: &str) -> Vec<Option<String>> {
        self.reviews
            .lock()
            .expect("lock")
            .iter()
            .filter(|r| r.path == path)
            .map(|r| r.authorization.clone())
            .collect()
    }

    /// Forgets the reviews received so far.
    pub fn clear(&self) {
        self.reviews.lock().expect("lock").clear();
    }
}

/// Polls `probe` every 200 ms for up to `secs` seconds until it returns true; panics with
/// `what` and the last `describe()` otherwise. Admission configurations take effect a moment
/// after they are stored, as upstream's informers do.
pub fn eventually(what: &str, secs: u64, mut probe: impl FnMut() -> Result<(), String>) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        match probe() {
            Ok(()) => return,
            Err(last) => {
                assert!(
                    Instant::now() < deadline,
                    "{what}: never happened; last: {last}"
                );
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
