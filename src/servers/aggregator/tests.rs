//! Unit tests of the aggregator: validation, header rewriting, endpoint resolution, conditions,
//! and the whole flow against an in-process HTTPS extension server.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use futures::StreamExt;
use http::{HeaderMap, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

use super::autoregister::{self, Automanaged, AUTOMANAGED_LABEL, CRD_PRIORITY};
use super::available::{self, with_condition, Availability};
use super::proxy::{escape_extra_key, set_auth_proxy_headers};
use super::validation::validate_api_service;
use super::*;
use crate::catalog;
use crate::outbound::resolve::{endpoint_address, endpoint_slice_address};
use crate::registry::options::{ListOptions, WriteOptions};
use crate::request::user::UserInfo;

fn remote(name: &str, group: &str, version: &str) -> Value {
    json!({
        "apiVersion": "apiregistration.k8s.io/v1",
        "kind": "APIService",
        "metadata": {"name": name},
        "spec": {
            "group": group, "version": version,
            "groupPriorityMinimum": 1000, "versionPriority": 15,
            "service": {"namespace": "ext", "name": "api", "port": 443},
            "insecureSkipTLSVerify": true,
        },
    })
}

fn messages(obj: &Value) -> Vec<String> {
    validate_api_service(obj)
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn validation_matches_upstream_messages() {
    assert!(messages(&remote("v1.example.com", "example.com", "v1")).is_empty());
    assert_eq!(
        messages(&remote("wrong", "example.com", "v1")),
        vec![
            "metadata.name: Invalid value: \"wrong\": must be `spec.version+\".\"+spec.group`: \"v1.example.com\""
        ]
    );
    let mut bad = remote("v2.", "", "v2");
    bad["spec"]["groupPriorityMinimum"] = json!(0);
    bad["spec"]["versionPriority"] = json!(1001);
    assert_eq!(
        messages(&bad),
        vec![
            "spec.group: Required value: only v1 may have an empty group and it better be legacy kube",
            "spec.groupPriorityMinimum: Invalid value: 0: must be positive and less than 20000",
            "spec.versionPriority: Invalid value: 1001: must be positive and less than 1000",
        ]
    );
    let mut both = remote("v1.example.com", "example.com", "v1");
    both["spec"]["caBundle"] = json!("YWJj");
    both["spec"]["service"] = json!({"port": 443});
    assert_eq!(
        messages(&both),
        vec![
            "spec.service.namespace: Required value",
            "spec.service.name: Required value",
            "spec.insecureSkipTLSVerify: Invalid value: true: may not be true if caBundle is present",
        ]
    );
    let mut local = remote("v1.example.com", "example.com", "v1");
    local["spec"]["service"] = Value::Null;
    local["spec"]["caBundle"] = json!("YWJj");
    assert_eq!(
        messages(&local),
        vec![
            "spec.caBundle: Invalid value: \"3 bytes\": local APIServices may not have a caBundle",
            "spec.insecureSkipTLSVerify: Invalid value: true: local APIServices may not have insecureSkipTLSVerify",
        ]
    );
}

#[test]
fn auth_proxy_headers_replace_credentials_and_escape_extra_keys() {
    assert_eq!(escape_extra_key("scopes"), "scopes");
    assert_eq!(
        escape_extra_key("example.org/foo%bar"),
        "example.org%2Ffoo%25bar"
    );
    let mut headers = HeaderMap::new();
    headers.insert("authorization", "Bearer secret".parse().unwrap());
    headers.insert("x-remote-user", "mallory".parse().unwrap());
    headers.insert("x-remote-extra-evil", "x".parse().unwrap());
    headers.insert("connection", "keep-alive".parse().unwrap());
    headers.insert("accept", "application/json".parse().unwrap());
    let user = UserInfo {
        name: "alice".into(),
        uid: "42".into(),
        groups: vec!["devs".into(), "system:authenticated".into()],
        extra: BTreeMap::from([(
            "example.org/scope".to_string(),
            vec!["a".into(), "b".into()],
        )]),
    };
    set_auth_proxy_headers(&mut headers, &user);
    assert!(headers.get("authorization").is_none());
    assert!(headers.get("connection").is_none());
    assert!(headers.get("x-remote-extra-evil").is_none());
    assert_eq!(headers.get("accept").unwrap(), "application/json");
    let all = |name: &str| -> Vec<String> {
        headers
            .get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(all("x-remote-user"), vec!["alice"]);
    assert_eq!(all("x-remote-group"), vec!["devs", "system:authenticated"]);
    assert_eq!(all("x-remote-extra-example.org%2Fscope"), vec!["a", "b"]);
}

#[test]
fn endpoint_address_picks_the_named_port() {
    let endpoints = json!({"subsets": [
        {"addresses": [{"ip": "10.0.0.1"}], "ports": [{"name": "metrics", "port": 9090}]},
        {"addresses": [{"ip": "fd00::1"}], "ports": [{"name": "https", "port": 6443}]},
    ]});
    assert_eq!(
        endpoint_address(&endpoints, "https").as_deref(),
        Some("[fd00::1]:6443")
    );
    assert_eq!(endpoint_address(&endpoints, "").as_deref(), None);
    let unnamed =
        json!({"subsets": [{"addresses": [{"ip": "127.0.0.1"}], "ports": [{"port": 8443}]}]});
    assert_eq!(
        endpoint_address(&unnamed, "").as_deref(),
        Some("127.0.0.1:8443")
    );
}

#[test]
fn endpoint_slice_address_skips_unready_endpoints() {
    let slice = json!({
        "addressType": "IPv4",
        "endpoints": [
            {"addresses": ["10.0.0.9"], "conditions": {"ready": false}},
            {"addresses": ["10.0.0.10"], "conditions": {}},
        ],
        "ports": [{"name": "https", "port": 6443}],
    });
    assert_eq!(
        endpoint_slice_address(&slice, "https").as_deref(),
        Some("10.0.0.10:6443")
    );
    assert_eq!(endpoint_slice_address(&slice, "http"), None);
}

#[test]
fn conditions_change_only_when_the_availability_does() {
    let passed = Availability {
        status: "True",
        reason: "Passed",
        message: "all checks passed".into(),
    };
    let first = with_condition(&remote("v1.a.io", "a.io", "v1"), &passed).expect("new condition");
    assert_eq!(first["status"]["conditions"][0]["reason"], "Passed");
    assert!(with_condition(&first, &passed).is_none());
    let mut aged = first.clone();
    aged["status"]["conditions"][0]["lastTransitionTime"] = json!("2020-01-01T00:00:00Z");
    let failed = Availability {
        status: "True",
        reason: "Local",
        message: "Local APIServices are always available".into(),
    };
    let same_status = with_condition(&aged, &failed).expect("reason changed");
    assert_eq!(
        same_status["status"]["conditions"][0]["lastTransitionTime"],
        "2020-01-01T00:00:00Z"
    );
    let down = Availability {
        status: "False",
        reason: "ServiceNotFound",
        message: "x".into(),
    };
    let flipped = with_condition(&aged, &down).expect("status changed");
    assert_ne!(
        flipped["status"]["conditions"][0]["lastTransitionTime"],
        "2020-01-01T00:00:00Z"
    );
}

#[test]
fn group_version_of_aggregated_paths() {
    assert_eq!(
        aggregated_group_version("/apis/metrics.k8s.io/v1beta1/nodes"),
        Some(("metrics.k8s.io".into(), "v1beta1".into()))
    );
    assert_eq!(
        aggregated_group_version("/apis/metrics.k8s.io/v1beta1"),
        Some(("metrics.k8s.io".into(), "v1beta1".into()))
    );
    assert_eq!(aggregated_group_version("/apis/metrics.k8s.io"), None);
    assert_eq!(aggregated_group_version("/api/v1/pods"), None);
}

#[test]
fn authentication_config_names_the_request_headers() {
    let data = authentication_config::config_data("FRONT", Some("CLUSTER"));
    assert_eq!(data["requestheader-client-ca-file"], "FRONT");
    assert_eq!(data["client-ca-file"], "CLUSTER");
    assert_eq!(
        data["requestheader-username-headers"],
        "[\"X-Remote-User\"]"
    );
    assert_eq!(data["requestheader-group-headers"], "[\"X-Remote-Group\"]");
    assert_eq!(
        data["requestheader-extra-headers-prefix"],
        "[\"X-Remote-Extra-\"]"
    );
    assert_eq!(
        data["requestheader-allowed-names"],
        "[\"front-proxy-client\"]"
    );
}

// ---- the whole flow, against stores on RocksDB and an in-process HTTPS extension server ----

struct Fixture {
    aggregator: Arc<Aggregator>,
    stores: ResourceStores,
    discovery: Arc<DiscoveryRegistry>,
    dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    // The front-proxy certificates go to a data directory.
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = crate::registry::test_support::memory_storage();
    let stores = crate::registry::test_support::builtin_stores(
        &storage,
        &[
            ("", "v1", "services"),
            ("", "v1", "endpoints"),
            ("", "v1", "configmaps"),
            ("", "v1", "namespaces"),
            ("discovery.k8s.io", "v1", "endpointslices"),
        ],
    );
    let discovery = Arc::new(DiscoveryRegistry::new(catalog::builtin(), None));
    let aggregator =
        Aggregator::new(storage, &stores, discovery.clone(), dir.path()).expect("aggregator");
    Fixture {
        aggregator,
        stores,
        discovery,
        dir,
    }
}

/// What the extension server saw of one request.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    headers: HeaderMap,
    client_cert: bool,
}

/// A small HTTPS extension API server for `wardle.example.com/v1alpha1` (`flunders`), serving a
/// certificate for `api.ext.svc` signed by its own CA; answers the CA (PEM) and its address.
async fn extension_server(seen: Arc<Mutex<Vec<Seen>>>) -> (String, String) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, &ca_key);
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["api.ext.svc".to_string()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(Arc::new(AnyClientCert))
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            let seen = seen.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let client_cert = tls.get_ref().1.peer_certificates().is_some();
                let service = hyper::service::service_fn(move |request: http::Request<_>| {
                    let seen = seen.clone();
                    async move {
                        seen.lock().unwrap().push(Seen {
                            path: request.uri().path().to_string(),
                            headers: request.headers().clone(),
                            client_cert,
                        });
                        let watch = request.uri().query() == Some("watch=true");
                        let body = match request.uri().path() {
                            "/apis/wardle.example.com/v1alpha1" => json!({
                                "kind": "APIResourceList", "apiVersion": "v1",
                                "groupVersion": "wardle.example.com/v1alpha1",
                                "resources": [{"name": "flunders", "singularName": "flunder",
                                    "namespaced": true, "kind": "Flunder",
                                    "verbs": ["get", "list"]}],
                            }),
                            _ => {
                                json!({"kind": "FlunderList", "apiVersion": "wardle.example.com/v1alpha1",
                                "metadata": {}, "items": []})
                            }
                        };
                        // A watch sends one event and then stays open: only a streaming proxy
                        // passes the event on.
                        let body: BoxBody<bytes::Bytes, std::convert::Infallible> = if watch {
                            let event = http_body::Frame::data(bytes::Bytes::from_static(
                                b"{\"type\":\"ADDED\"}\n",
                            ));
                            let events = futures::stream::once(async move {
                                Ok::<_, std::convert::Infallible>(event)
                            })
                            .chain(futures::stream::pending());
                            BodyExt::boxed(http_body_util::StreamBody::new(events))
                        } else {
                            BodyExt::boxed(http_body_util::Full::new(bytes::Bytes::from(
                                body.to_string(),
                            )))
                        };
                        Ok::<_, std::convert::Infallible>(
                            http::Response::builder()
                                .header("content-type", "application/json")
                                .body(body)
                                .unwrap(),
                        )
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    (ca_cert.pem(), address)
}

/// Requests a client certificate and accepts any (the test records whether one came).
#[derive(Debug)]
struct AnyClientCert;

impl rustls::server::danger::ClientCertVerifier for AnyClientCert {
    fn root_hint_subjects(&self) -> &[rustls::DistinguishedName] {
        &[]
    }
    fn verify_client_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::server::danger::ClientCertVerified, rustls::Error> {
        Ok(rustls::server::danger::ClientCertVerified::assertion())
    }
    fn client_auth_mandatory(&self) -> bool {
        false
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &rustls::crypto::ring::default_provider().signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &rustls::crypto::ring::default_provider().signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        rustls::crypto::ring::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

async fn condition(fixture: &Fixture, name: &str) -> (String, String, String) {
    let obj = fixture
        .aggregator
        .api_services()
        .get(None, name)
        .await
        .expect("apiservice");
    let c = obj["status"]["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "Available"))
        .cloned()
        .unwrap_or_default();
    let s = |f: &str| c[f].as_str().unwrap_or("").to_string();
    (s("status"), s("reason"), s("message"))
}

async fn request(router: &Router, path: &str) -> (StatusCode, String) {
    let mut request = Request::builder()
        .uri(path)
        .header("authorization", "Bearer secret")
        .header("x-remote-user", "mallory")
        .body(Body::empty())
        .unwrap();
    request.extensions_mut().insert(UserInfo {
        name: "kubernetes-admin".into(),
        groups: vec!["system:masters".into(), "system:authenticated".into()],
        ..Default::default()
    });
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn local_api_services_are_registered_and_available() {
    let f = fixture().await;
    autoregister::ensure_builtin(&f.aggregator, catalog::builtin())
        .await
        .expect("autoregister");
    available::sync_all(&f.aggregator).await;
    let core = f.aggregator.api_services().get(None, "v1.").await.unwrap();
    assert_eq!(core["spec"]["groupPriorityMinimum"], 18000);
    assert_eq!(core["metadata"]["labels"][AUTOMANAGED_LABEL], "onstart");
    let apps = f
        .aggregator
        .api_services()
        .get(None, "v1.apps")
        .await
        .unwrap();
    assert_eq!(apps["spec"]["group"], "apps");
    assert_eq!(
        condition(&f, "v1.apps").await,
        (
            "True".into(),
            "Local".into(),
            "Local APIServices are always available".into()
        )
    );
    // CRD group/versions come and go; user-made APIServices are never removed.
    autoregister::ensure_local_api_service(
        &f.aggregator,
        "stable.example.com",
        "v1",
        CRD_PRIORITY,
        Automanaged::Sync,
    )
    .await
    .unwrap();
    let crd = f
        .aggregator
        .api_services()
        .get(None, "v1.stable.example.com")
        .await
        .unwrap();
    assert_eq!(crd["metadata"]["labels"][AUTOMANAGED_LABEL], "true");
    autoregister::remove_local_api_service(&f.aggregator, "stable.example.com", "v1")
        .await
        .unwrap();
    assert!(f
        .aggregator
        .api_services()
        .get(None, "v1.stable.example.com")
        .await
        .is_err());
    let mut user_made = remote("v1.user.example.com", "user.example.com", "v1");
    user_made["spec"]["service"] = Value::Null;
    user_made["spec"]["insecureSkipTLSVerify"] = Value::Null;
    f.aggregator
        .api_services()
        .create(None, user_made, &WriteOptions::default())
        .await
        .unwrap();
    autoregister::remove_local_api_service(&f.aggregator, "user.example.com", "v1")
        .await
        .unwrap();
    assert!(f
        .aggregator
        .api_services()
        .get(None, "v1.user.example.com")
        .await
        .is_ok());
}

#[tokio::test]
async fn remote_api_service_is_checked_discovered_and_proxied() {
    let f = fixture().await;
    f.aggregator.register_own_group();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (ca_pem, address) = extension_server(seen.clone()).await;
    let (ip, port) = address.rsplit_once(':').unwrap();
    let port: i64 = port.parse().unwrap();
    use base64::Engine as _;
    let mut api_service = remote(
        "v1alpha1.wardle.example.com",
        "wardle.example.com",
        "v1alpha1",
    );
    api_service["spec"]["insecureSkipTLSVerify"] = Value::Null;
    api_service["spec"]["caBundle"] =
        json!(base64::engine::general_purpose::STANDARD.encode(ca_pem.as_bytes()));
    f.aggregator
        .api_services()
        .create(None, api_service, &WriteOptions::default())
        .await
        .unwrap();
    let router = f.aggregator.router(crate::servers::not_found());

    // No Service yet.
    available::sync_all(&f.aggregator).await;
    assert!(f.aggregator.references_service("ext", "api"));
    assert!(!f.aggregator.references_service("ext", "other"));
    assert_eq!(
        condition(&f, "v1alpha1.wardle.example.com").await,
        (
            "False".into(),
            "ServiceNotFound".into(),
            "service/api in \"ext\" is not present".into()
        )
    );
    let (status, body) = request(&router, "/apis/wardle.example.com/v1alpha1/flunders").await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, "service unavailable\n")
    );

    let services = f.stores.get("", "v1", "services").unwrap();
    services
        .create(
            Some("ext"),
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api", "namespace": "ext"},
                "spec": {"ports": [{"name": "https", "port": 443, "targetPort": port}]}}),
            &WriteOptions::default(),
        )
        .await
        .unwrap();
    available::sync_all(&f.aggregator).await;
    assert_eq!(
        condition(&f, "v1alpha1.wardle.example.com").await.1,
        "EndpointsNotFound"
    );
    let slices = f
        .stores
        .get("discovery.k8s.io", "v1", "endpointslices")
        .unwrap();
    slices
        .create(
            Some("ext"),
            json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                "metadata": {"name": "api-abc", "namespace": "ext",
                    "labels": {"kubernetes.io/service-name": "api"}},
                "addressType": "IPv4",
                "endpoints": [{"addresses": [ip], "conditions": {"ready": false}}],
                "ports": [{"name": "https", "port": port}]}),
            &WriteOptions::default(),
        )
        .await
        .unwrap();
    available::sync_all(&f.aggregator).await;
    assert_eq!(
        condition(&f, "v1alpha1.wardle.example.com").await,
        (
            "False".into(),
            "MissingEndpoints".into(),
            "endpoints for service/api in \"ext\" have no addresses with port name \"https\""
                .into()
        )
    );
    let endpoints = f.stores.get("", "v1", "endpoints").unwrap();
    endpoints
        .create(
            Some("ext"),
            json!({"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "api", "namespace": "ext"},
                "subsets": [{"addresses": [{"ip": ip}], "ports": [{"name": "https", "port": port}]}]}),
            &WriteOptions::default(),
        )
        .await
        .unwrap();
    available::sync_all(&f.aggregator).await;
    assert_eq!(
        condition(&f, "v1alpha1.wardle.example.com").await,
        ("True".into(), "Passed".into(), "all checks passed".into())
    );
    let snapshot = f.discovery.snapshot();
    let version = snapshot
        .version("wardle.example.com", "v1alpha1")
        .expect("discovered");
    assert_eq!(version.resources[0].name, "flunders");
    assert!(snapshot.version(APIREGISTRATION_GROUP, "v1").is_some());
    let check = seen.lock().unwrap().last().cloned().unwrap();
    assert_eq!(check.headers["x-remote-user"], "system:kube-aggregator");

    let (status, body) = request(
        &router,
        "/apis/wardle.example.com/v1alpha1/flunders?limit=1",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("FlunderList"), "{body}");
    let proxied = seen.lock().unwrap().last().cloned().unwrap();
    assert_eq!(proxied.path, "/apis/wardle.example.com/v1alpha1/flunders");
    assert!(proxied.client_cert);
    assert!(proxied.headers.get("authorization").is_none());
    assert_eq!(
        proxied
            .headers
            .get_all("x-remote-user")
            .iter()
            .collect::<Vec<_>>(),
        vec!["kubernetes-admin"]
    );
    assert_eq!(
        proxied
            .headers
            .get_all("x-remote-group")
            .iter()
            .collect::<Vec<_>>(),
        vec!["system:masters", "system:authenticated"]
    );

    // Watches stream: the first event arrives while the response is still open.
    let mut watch = Request::builder()
        .uri("/apis/wardle.example.com/v1alpha1/flunders?watch=true")
        .body(Body::empty())
        .unwrap();
    watch.extensions_mut().insert(UserInfo {
        name: "kubernetes-admin".into(),
        ..Default::default()
    });
    let response = router.clone().oneshot(watch).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    let first = tokio::time::timeout(Duration::from_secs(5), body.frame())
        .await
        .expect("the first event arrives before the watch ends")
        .expect("a frame")
        .expect("no error");
    assert_eq!(
        first.into_data().expect("data").as_ref(),
        b"{\"type\":\"ADDED\"}\n"
    );
    drop(body);

    // The APIService itself is served through the REST layer.
    let (status, body) = request(
        &router,
        "/apis/apiregistration.k8s.io/v1/apiservices/v1alpha1.wardle.example.com",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("\"Passed\""), "{body}");

    // The endpoint goes away: the check fails and requests get 503.
    endpoints
        .update(
            Some("ext"),
            "api",
            json!({"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "api", "namespace": "ext"},
                "subsets": [{"addresses": [{"ip": "127.0.0.1"}], "ports": [{"name": "https", "port": 1}]}]}),
            &WriteOptions::default(),
        )
        .await
        .unwrap();
    available::sync_all(&f.aggregator).await;
    let (status, reason, message) = condition(&f, "v1alpha1.wardle.example.com").await;
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "FailedDiscoveryCheck")
    );
    assert!(
        message.starts_with("failing or missing response from https://127.0.0.1:1/apis/wardle.example.com/v1alpha1: "),
        "{message}"
    );
    let (status, body) = request(&router, "/apis/wardle.example.com/v1alpha1/flunders").await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, "service unavailable\n")
    );
    let stale = f.discovery.snapshot();
    assert_eq!(
        stale
            .version("wardle.example.com", "v1alpha1")
            .unwrap()
            .freshness,
        "Stale"
    );

    // Deleting the APIService removes its discovery and routes.
    f.aggregator
        .api_services()
        .delete(
            None,
            "v1alpha1.wardle.example.com",
            &Default::default(),
            &WriteOptions::default(),
        )
        .await
        .unwrap();
    available::sync_all(&f.aggregator).await;
    assert!(f
        .discovery
        .snapshot()
        .version("wardle.example.com", "v1alpha1")
        .is_none());
    let (status, _) = request(&router, "/apis/wardle.example.com/v1alpha1/flunders").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let listed = f
        .aggregator
        .api_services()
        .list(None, &ListOptions::default())
        .await
        .unwrap();
    assert!(listed.items.is_empty());
    drop(f.dir);
}
