//! What the webhook conformance tests share: upstream's sample servers (agnhost's `webhook` and
//! `crd-conversion-webhook`, `test/images/agnhost/`) run in the test process instead of as a pod
//! behind a Service, and the test CRDs of `test/utils/crd/crd_util.go`.
//!
//! Upstream deploys the server, a Service selecting its pod, and waits for the endpoints
//! controller to pair them; here the test creates the Service and its Endpoints (the loopback
//! address of the in-process server), so Apiary reaches the server through the Service exactly
//! as kube-apiserver with `--enable-aggregator-routing` does, and verifies its certificate for
//! `<service>.<namespace>.svc` as upstream's `setupServerCert` issues it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use base64::Engine as _;
use k8s_openapi::api::core::v1::{Endpoints, Namespace, Service, ServiceAccount};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, ObjectMeta, PostParams};
use kube::core::GroupVersionKind;
use serde_json::{json, Value};

use crate::common::admission::{Answer, WebhookServer};

/// An HTTPS server running on a runtime of its own (the tests' runtime cannot start one with
/// `block_on`); stopped when dropped.
pub struct SampleServer {
    runtime: Option<tokio::runtime::Runtime>,
    pub ca_pem: String,
}

impl SampleServer {
    /// The CA bundle for a `clientConfig.caBundle` (upstream's `certCtx.signingCert`).
    pub fn ca_bundle(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.ca_pem)
    }
}

impl Drop for SampleServer {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Runs `start` on a fresh runtime from a thread outside the tests' runtime.
fn on_own_runtime<T: Send + 'static>(
    start: impl FnOnce(&tokio::runtime::Runtime) -> T + Send + 'static,
) -> (tokio::runtime::Runtime, T) {
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let started = start(&runtime);
        (runtime, started)
    })
    .join()
    .expect("start the server")
}

/// Creates Service `name` in `namespace` (upstream's: selector, `port` to the container port)
/// and the Endpoints the endpoints controller would make for its ready pod: the server at
/// `127.0.0.1:<server port>`.
async fn expose(client: &kube::Client, namespace: &str, name: &str, port: i32, server_port: u16) {
    let (labels, selector) = if name == ADMISSION_SERVICE {
        (json!({"test": "webhook"}), json!({"webhook": "true"}))
    } else {
        (
            json!({"test": "crd-webhook"}),
            json!({"crd-webhook": "true"}),
        )
    };
    let service: Service = serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {"selector": selector,
            "ports": [{"protocol": "TCP", "port": port, "targetPort": server_port}]},
    }))
    .expect("service");
    Api::<Service>::namespaced(client.clone(), namespace)
        .create(&PostParams::default(), &service)
        .await
        .expect("create the webhook service");
    let endpoints: Endpoints = serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": namespace},
        "subsets": [{"addresses": [{"ip": "127.0.0.1"}],
            "ports": [{"protocol": "TCP", "port": server_port}]}],
    }))
    .expect("endpoints");
    Api::<Endpoints>::namespaced(client.clone(), namespace)
        .create(&PostParams::default(), &endpoints)
        .await
        .expect("create the webhook endpoints");
}

/// Upstream's `serviceName` in webhook.go.
pub const ADMISSION_SERVICE: &str = "e2e-test-webhook";
/// Upstream's `serviceCRDName` in crd_conversion_webhook.go.
pub const CONVERSION_SERVICE: &str = "e2e-test-crd-conversion-webhook";

/// `deployWebhookAndService`: agnhost's admission webhook behind Service `e2e-test-webhook`
/// port `service_port` in `namespace`.
pub async fn deploy_admission_webhook(
    client: &kube::Client,
    namespace: &str,
    service_port: i32,
) -> SampleServer {
    let host = format!("{ADMISSION_SERVICE}.{namespace}.svc");
    let (runtime, server) =
        on_own_runtime(move |rt| WebhookServer::start(rt, &[host.as_str()], admit));
    expose(
        client,
        namespace,
        ADMISSION_SERVICE,
        service_port,
        server.port,
    )
    .await;
    SampleServer {
        runtime: Some(runtime),
        ca_pem: server.ca_pem,
    }
}

/// `deployCustomResourceWebhookAndService`: agnhost's CRD conversion webhook behind Service
/// `e2e-test-crd-conversion-webhook` port `service_port` in `namespace`.
pub async fn deploy_conversion_webhook(
    client: &kube::Client,
    namespace: &str,
    service_port: i32,
) -> SampleServer {
    let host = format!("{CONVERSION_SERVICE}.{namespace}.svc");
    let cert = crate::common::tls_server::serving_cert(&host);
    let ca_pem = cert.ca_pem.clone();
    let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(vec![cert.cert], cert.key)
    .expect("server config");
    let (runtime, port) = on_own_runtime(move |rt| {
        crate::common::tls_server::serve(rt, config, |request, _| async move {
            use http_body_util::BodyExt;
            let body = request
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            convert_review(&serde_json::from_slice(&body).unwrap_or_default())
        })
    });
    expose(client, namespace, CONVERSION_SERVICE, service_port, port).await;
    SampleServer {
        runtime: Some(runtime),
        ca_pem,
    }
}

fn json_patch(patch: Value) -> Answer {
    Answer::patch(patch)
}

fn gvr(request: &Value) -> (&str, &str, &str) {
    let r = &request["resource"];
    (
        r["group"].as_str().unwrap_or(""),
        r["version"].as_str().unwrap_or(""),
        r["resource"].as_str().unwrap_or(""),
    )
}

/// agnhost's `webhook` handlers by path (`main.go`), on the `request` of an AdmissionReview.
/// An unknown path answers as agnhost's mux does not (it answers 404); no test calls one.
pub fn admit(path: &str, request: &Value) -> Answer {
    let operation = request["operation"].as_str().unwrap_or("");
    // DELETE reviews carry the object in `oldObject`.
    let object = if operation == "DELETE" {
        &request["oldObject"]
    } else {
        &request["object"]
    };
    let data = |key: &str| object["data"][key].as_str().map(str::to_string);
    match path {
        "/always-allow-delay-5s" => Answer::of(
            json!({"allowed": true, "status": {"message": "this webhook allows all requests"}}),
        )
        .after(Duration::from_secs(5)),
        "/always-deny" => Answer::deny("this webhook denies all requests"),
        "/add-label" => {
            let labels = object["metadata"]["labels"]
                .as_object()
                .filter(|l| !l.is_empty());
            match labels.map(|l| l.get("added-label").and_then(Value::as_str)) {
                None => json_patch(json!([{"op": "add", "path": "/metadata/labels",
                    "value": {"added-label": "yes"}}])),
                Some(None) => json_patch(
                    json!([{"op": "add", "path": "/metadata/labels/added-label", "value": "yes"}]),
                ),
                Some(Some("yes")) => Answer::allow(),
                Some(Some(_)) => json_patch(
                    json!([{"op": "replace", "path": "/metadata/labels/added-label", "value": "yes"}]),
                ),
            }
        }
        "/pods" => {
            if gvr(request) != ("", "v1", "pods") {
                return Answer::deny("expect resource to be { v1 pods}");
            }
            let mut message = String::new();
            let mut delay = Duration::ZERO;
            match object["metadata"]["labels"]["webhook-e2e-test"].as_str() {
                Some("webhook-disallow") => message += "the pod contains unwanted label; ",
                Some("wait-forever") => {
                    message += "the pod response should not be sent; ";
                    // agnhost blocks forever; a day outlives every webhook timeout.
                    delay = Duration::from_secs(24 * 3600);
                }
                _ => {}
            }
            for container in object["spec"]["containers"].as_array().into_iter().flatten() {
                if container["name"]
                    .as_str()
                    .is_some_and(|n| n.contains("webhook-disallow"))
                {
                    message += "the pod contains unwanted container name; ";
                }
            }
            let answer = if message.is_empty() {
                Answer::allow()
            } else {
                Answer::deny(message.trim())
            };
            answer.after(delay)
        }
        "/mutating-pods" => {
            let has_init = object["spec"]["initContainers"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["name"] == "webhook-added-init-container");
            if gvr(request) == ("", "v1", "pods")
                && object["metadata"]["name"] == "webhook-to-be-mutated"
                && !has_init
            {
                json_patch(json!([{"op": "add", "path": "/spec/initContainers",
                    "value": [{"image": "webhook-added-image",
                        "name": "webhook-added-init-container", "resources": {}}]}]))
            } else {
                Answer::allow()
            }
        }
        "/configmaps" | "/custom-resource" => {
            let (denied, undeletable) = if path == "/configmaps" {
                if gvr(request) != ("", "v1", "configmaps") {
                    return Answer::deny("expect resource to be { v1 configmaps}");
                }
                (
                    "the configmap contains unwanted key and value",
                    "the configmap cannot be deleted because it contains unwanted key and value",
                )
            } else {
                (
                    "the custom resource contains unwanted data",
                    "the custom resource cannot be deleted because it contains unwanted key and value",
                )
            };
            // agnhost puts these in `status.reason`, not `status.message`.
            let deny = |reason: &str| Answer::of(json!({"allowed": false, "status": {"reason": reason}}));
            match (data("webhook-e2e-test").as_deref(), operation) {
                (Some("webhook-disallow"), "CREATE" | "UPDATE") => deny(denied),
                (Some("webhook-nondeletable"), "DELETE") => deny(undeletable),
                _ => Answer::allow(),
            }
        }
        "/mutating-configmaps" | "/mutating-custom-resource" => {
            if path == "/mutating-configmaps" && gvr(request) != ("", "v1", "configmaps") {
                return Answer::allow();
            }
            // The second patch replaces the first when both keys are there.
            if data("mutation-stage-1").as_deref() == Some("yes") {
                json_patch(
                    json!([{"op": "add", "path": "/data/mutation-stage-2", "value": "yes"}]),
                )
            } else if data("mutation-start").as_deref() == Some("yes") {
                json_patch(
                    json!([{"op": "add", "path": "/data/mutation-stage-1", "value": "yes"}]),
                )
            } else {
                Answer::allow()
            }
        }
        "/crd" => match gvr(request) {
            ("apiextensions.k8s.io", "v1" | "v1beta1", "customresourcedefinitions") => {
                if object["metadata"]["labels"]["webhook-e2e-test"] == "webhook-disallow" {
                    Answer::deny("the crd contains unwanted label")
                } else {
                    Answer::allow()
                }
            }
            other => Answer::deny(&format!(
                "expect resource to be one of [apiextensions.k8s.io/v1beta1, Resource=customresourcedefinitions, apiextensions.k8s.io/v1, Resource=customresourcedefinitions] but got {other:?}"
            )),
        },
        _ => Answer::deny("404 page not found"),
    }
}

/// agnhost's `convertExampleCRD` for one object: `stable.example.com/v1` `hostPort` to `v2`
/// `host` and `port`, and back.
fn convert_example(object: &Value, to: &str) -> Result<Value, String> {
    let mut converted = object.clone();
    let from = object["apiVersion"].as_str().unwrap_or("");
    if from == to {
        return Err(format!(
            "conversion from a version to itself should not call the webhook: {to}"
        ));
    }
    let fields = converted.as_object_mut().ok_or("not an object")?;
    match (from, to) {
        ("stable.example.com/v1", "stable.example.com/v2") => {
            if let Some(host_port) = fields.remove("hostPort") {
                let text = host_port.as_str().unwrap_or("");
                let parts: Vec<&str> = text.split(':').collect();
                if parts.len() != 2 {
                    return Err(format!("invalid hostPort value `{text}`"));
                }
                fields.insert("host".into(), parts[0].into());
                fields.insert("port".into(), parts[1].into());
            }
        }
        ("stable.example.com/v2", "stable.example.com/v1") => {
            let (host, port) = (fields.remove("host"), fields.remove("port"));
            if host.is_some() || port.is_some() {
                let part = |v: Option<Value>| v.and_then(|v| v.as_str().map(str::to_string));
                let value = format!(
                    "{}:{}",
                    part(host).unwrap_or_default(),
                    part(port).unwrap_or_default()
                );
                fields.insert("hostPort".into(), value.into());
            }
        }
        ("stable.example.com/v1" | "stable.example.com/v2", _) => {
            return Err(format!("unexpected conversion version {to:?}"))
        }
        _ => return Err(format!("unexpected conversion version {from:?}")),
    }
    fields.insert("apiVersion".into(), to.into());
    Ok(converted)
}

/// agnhost's `crd-conversion-webhook` answer to a `ConversionReview` (v1 or v1beta1).
fn convert_review(review: &Value) -> Value {
    let request = &review["request"];
    let to = request["desiredAPIVersion"].as_str().unwrap_or("");
    let converted: Result<Vec<Value>, String> = request["objects"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| convert_example(o, to))
        .collect();
    let response = match converted {
        Ok(objects) => json!({"uid": request["uid"], "convertedObjects": objects,
            "result": {"status": "Success", "metadata": {}}}),
        Err(message) => json!({"uid": request["uid"],
            "result": {"status": "Failure", "message": message, "metadata": {}}}),
    };
    json!({"apiVersion": review["apiVersion"], "kind": "ConversionReview", "response": response})
}

/// Creates a namespace `<base>-<random>` labelled `labels` (the framework's `CreateNamespace`).
pub async fn create_namespace(client: &kube::Client, base: &str, labels: Value) -> String {
    let ns: Namespace = serde_json::from_value(json!({
        "metadata": {"generateName": format!("{base}-"), "labels": labels},
    }))
    .expect("namespace");
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .expect("create a namespace")
        .metadata
        .name
        .expect("generated name")
}

/// The framework's `WaitForDefaultServiceAccountInNamespace`.
pub async fn wait_default_service_account(client: &kube::Client, namespace: &str) {
    let api: Api<ServiceAccount> = Api::namespaced(client.clone(), namespace);
    let deadline = Instant::now() + Duration::from_secs(60);
    while api.get_opt("default").await.expect("get SA").is_none() {
        assert!(Instant::now() < deadline, "no default ServiceAccount");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A CRD made for one test (`crd.TestCrd`): its name, group, kind, plural and served versions.
pub struct TestCrd {
    pub crd: CustomResourceDefinition,
    pub namespace: String,
}

impl TestCrd {
    pub fn name(&self) -> &str {
        self.crd.metadata.name.as_deref().expect("name")
    }

    pub fn group(&self) -> &str {
        &self.crd.spec.group
    }

    pub fn kind(&self) -> &str {
        &self.crd.spec.names.kind
    }

    pub fn plural(&self) -> &str {
        &self.crd.spec.names.plural
    }

    /// `servedAPIVersions`.
    pub fn served_versions(&self) -> Vec<String> {
        let versions = self.crd.spec.versions.iter();
        versions
            .filter(|v| v.served)
            .map(|v| v.name.clone())
            .collect()
    }

    /// The dynamic client of `version` in the test's namespace (`DynamicClients[version]`).
    pub fn client(&self, client: &kube::Client, version: &str) -> Api<DynamicObject> {
        let gvk = GroupVersionKind::gvk(self.group(), version, self.kind());
        let resource = ApiResource::from_gvk_with_plural(&gvk, self.plural());
        Api::namespaced_with(client.clone(), &self.namespace, &resource)
    }

    /// `testcrd.CleanUp`.
    pub async fn clean_up(&self, client: &kube::Client) {
        Api::<CustomResourceDefinition>::all(client.clone())
            .delete(self.name(), &DeleteParams::default())
            .await
            .expect("delete the CRD");
    }
}

fn random_suffix() -> String {
    (uuid::Uuid::new_v4().as_u128() % 10000).to_string()
}

/// `crd.CreateMultiVersionTestCRD`: a namespaced CRD `e2e-test-<unique>-<suffix>-crds.<group>`
/// (kind the same as the singular), `spec` merged over the generated one, created and waited
/// for until every served version lists (`CreateNewV1CustomResourceDefinitionWatchUnsafe`).
pub async fn create_multi_version_test_crd(
    client: &kube::Client,
    unique_name: &str,
    group: &str,
    spec: Value,
) -> TestCrd {
    let name = format!("e2e-test-{unique_name}-{}-crd", random_suffix());
    let mut crd = json!({
        "metadata": {"name": format!("{name}s.{group}")},
        "spec": {"group": group, "scope": "Namespaced",
            "names": {"plural": format!("{name}s"), "singular": name, "kind": name,
                "listKind": format!("{name}List")},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object",
                    "x-kubernetes-preserve-unknown-fields": true}}}]},
    });
    for (key, value) in spec.as_object().expect("spec fields") {
        crd["spec"][key] = value.clone();
    }
    let crd: CustomResourceDefinition = serde_json::from_value(crd).expect("CRD");
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let created = api
        .create(&PostParams::default(), &crd)
        .await
        .expect("create the CRD");
    let test_crd = TestCrd {
        crd: created,
        namespace: unique_name.to_string(),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = api.get(test_crd.name()).await.expect("get the CRD");
        let established = got
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .into_iter()
            .flatten()
            .any(|c| c.type_ == "Established" && c.status == "True");
        let mut served = established;
        for version in test_crd.served_versions() {
            if served {
                let list = test_crd.client(client, &version);
                served = list.list(&Default::default()).await.is_ok();
            }
        }
        if served {
            return test_crd;
        }
        assert!(Instant::now() < deadline, "CRD not established");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A label map from pairs.
pub fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The message of an API error as client-go's `err.Error()` shows it.
pub fn message(err: &kube::Error) -> String {
    match err {
        kube::Error::Api(status) => status.message.clone(),
        other => other.to_string(),
    }
}

pub fn new_object(value: Value) -> DynamicObject {
    serde_json::from_value(value).expect("object")
}

/// Wraps `meta` for typed objects built in tests.
pub fn meta(name: &str, pairs: &[(&str, &str)]) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        labels: (!pairs.is_empty()).then(|| labels(pairs)),
        ..Default::default()
    }
}

/// A request with a JSON body of `content_type` (a JSON patch, say); the decoded answer.
pub async fn request(
    client: &kube::Client,
    method: &str,
    path: &str,
    content_type: &str,
    body: &Value,
) -> kube::Result<Value> {
    let req = http::Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", content_type)
        .body(body.to_string().into_bytes())
        .expect("request");
    client.request::<Value>(req).await
}
