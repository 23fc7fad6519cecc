//! End-to-end: the aggregator in the real `apiary` binary, with a small HTTPS extension API
//! server in the test process, driven by kubectl.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use http::HeaderMap;
use serde_json::json;

use common::{stderr, stdout, Apiary};

const GROUP: &str = "wardle.example.com";
const VERSION: &str = "v1alpha1";
const API_SERVICE: &str = "v1alpha1.wardle.example.com";

/// What the extension server saw of one request.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    headers: HeaderMap,
    /// Whether the client presented a certificate (verified against the front-proxy CA).
    client_cert: bool,
}

/// Starts the extension server on `runtime`: TLS for `api.ext.svc` from its own CA, client
/// certificates verified against `front_proxy_ca_pem` (optional, so their absence shows);
/// answers `/apis/<group>/<version>` discovery with `flunders`, and a list with one flunder for
/// anything else. Returns its CA (PEM) and port.
fn start_extension_server(
    runtime: &tokio::runtime::Runtime,
    front_proxy_ca_pem: &str,
    seen: Arc<Mutex<Vec<Seen>>>,
) -> (String, u16) {
    let cert = common::tls_server::serving_cert("api.ext.svc");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for ca in rustls_pemfile::certs(&mut front_proxy_ca_pem.as_bytes()) {
        roots.add(ca.expect("front-proxy CA")).expect("add root");
    }
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .allow_unauthenticated()
    .build()
    .expect("verifier");
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![cert.cert], cert.key)
        .expect("server config");
    let port = common::tls_server::serve(runtime, config, move |request, client_cert| {
        let seen = seen.clone();
        async move {
            let path = request.uri().path().to_string();
            seen.lock().expect("lock").push(Seen {
                path: path.clone(),
                headers: request.headers().clone(),
                client_cert,
            });
            if path == format!("/apis/{GROUP}/{VERSION}") {
                json!({
                    "kind": "APIResourceList", "apiVersion": "v1",
                    "groupVersion": format!("{GROUP}/{VERSION}"),
                    "resources": [{"name": "flunders", "singularName": "flunder",
                        "namespaced": true, "kind": "Flunder",
                        "verbs": ["get", "list"]}],
                })
            } else {
                json!({"kind": "FlunderList", "apiVersion": format!("{GROUP}/{VERSION}"),
                    "metadata": {"resourceVersion": "1"},
                    "items": [{"kind": "Flunder", "apiVersion": format!("{GROUP}/{VERSION}"),
                        "metadata": {"name": "my-flunder", "namespace": "default",
                            "creationTimestamp": "2024-01-01T00:00:00Z"}}]})
            }
        }
    });
    (cert.ca_pem, port)
}

fn available(apiary: &Apiary) -> String {
    let out = apiary.kubectl(&[
        "get",
        "apiservice",
        API_SERVICE,
        "-o",
        "jsonpath={.status.conditions[?(@.type==\"Available\")].status}/{.status.conditions[?(@.type==\"Available\")].reason}",
    ]);
    stdout(&out).trim().to_string()
}

fn wait_for_available(apiary: &Apiary, wanted: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let now = available(apiary);
        if now.starts_with(wanted) {
            return now;
        }
        assert!(
            Instant::now() < deadline,
            "APIService never became {wanted}: {now}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn extension_api_server_is_discovered_and_proxied() {
    let apiary = Apiary::start();
    let front_proxy_ca = std::fs::read_to_string(apiary.data_dir().join("front-proxy-ca.crt"))
        .expect("front-proxy CA");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (ca_pem, port) = start_extension_server(&runtime, &front_proxy_ca, seen.clone());

    // The built-in group/versions are local APIServices.
    let local = apiary.ok(&["get", "apiservices"]);
    assert!(local.contains("v1.apps"), "{local}");
    assert!(local.contains("Local"), "{local}");
    let cm = apiary.ok(&[
        "get",
        "configmap",
        "-n",
        "kube-system",
        "extension-apiserver-authentication",
        "-o",
        "jsonpath={.data.requestheader-username-headers}",
    ]);
    assert_eq!(cm, "[\"X-Remote-User\"]");

    let ca_bundle = base64::engine::general_purpose::STANDARD.encode(ca_pem.as_bytes());
    let manifest = format!(
        r#"apiVersion: v1
kind: Namespace
metadata:
  name: ext
---
apiVersion: v1
kind: Service
metadata:
  name: api
  namespace: ext
spec:
  ports:
  - name: https
    port: 443
    targetPort: {port}
---
apiVersion: v1
kind: Endpoints
metadata:
  name: api
  namespace: ext
subsets:
- addresses:
  - ip: 127.0.0.1
  ports:
  - name: https
    port: {port}
---
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata:
  name: {API_SERVICE}
spec:
  group: {GROUP}
  version: {VERSION}
  groupPriorityMinimum: 1000
  versionPriority: 15
  service:
    namespace: ext
    name: api
  caBundle: {ca_bundle}
"#
    );
    apiary.ok_stdin(&["apply", "-f", "-"], &manifest);
    assert_eq!(wait_for_available(&apiary, "True"), "True/Passed");

    let cache = tempfile::tempdir().expect("cache dir");
    let cache_env = [("KUBECACHEDIR", cache.path().to_str().expect("utf-8"))];
    let kubectl_ok = |args: &[&str]| {
        let out = apiary.kubectl_cmd(args, None, &cache_env);
        assert!(
            out.status.success(),
            "kubectl {args:?} failed: {}{}",
            stdout(&out),
            stderr(&out)
        );
        stdout(&out)
    };
    let raw = kubectl_ok(&["get", "--raw", &format!("/apis/{GROUP}/{VERSION}")]);
    assert!(raw.contains("\"flunders\""), "{raw}");
    let groups = kubectl_ok(&["get", "--raw", "/apis"]);
    assert!(groups.contains(GROUP), "{groups}");
    let resources = kubectl_ok(&["api-resources", "--api-group", GROUP]);
    assert!(resources.contains("flunders"), "{resources}");
    let flunders = kubectl_ok(&["get", "flunders", "-n", "default"]);
    assert!(flunders.contains("my-flunder"), "{flunders}");

    let proxied: Vec<Seen> = seen
        .lock()
        .expect("lock")
        .iter()
        .filter(|s| s.path == format!("/apis/{GROUP}/{VERSION}/namespaces/default/flunders"))
        .cloned()
        .collect();
    let request = proxied.last().expect("the list was proxied");
    assert!(
        request.client_cert,
        "the front-proxy certificate was presented"
    );
    assert!(request.headers.get("authorization").is_none());
    let values = |name: &str| -> Vec<String> {
        request
            .headers
            .get_all(name)
            .iter()
            .map(|v| v.to_str().expect("ascii").to_string())
            .collect()
    };
    assert_eq!(values("x-remote-user"), vec!["kubernetes-admin"]);
    let groups = values("x-remote-group");
    assert!(groups.contains(&"system:masters".to_string()), "{groups:?}");
    assert!(
        groups.contains(&"system:authenticated".to_string()),
        "{groups:?}"
    );

    // The extension server stops: the APIService becomes unavailable and requests get 503.
    runtime.shutdown_background();
    let down = wait_for_available(&apiary, "False");
    assert_eq!(down, "False/FailedDiscoveryCheck");
    let out = apiary.kubectl_cmd(
        &[
            "get",
            "--raw",
            &format!("/apis/{GROUP}/{VERSION}/namespaces/default/flunders"),
        ],
        None,
        &cache_env,
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("ServiceUnavailable") || err.contains("503"),
        "{err}"
    );
}
