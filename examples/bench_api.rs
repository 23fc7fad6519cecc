//! Benchmark through the API: concurrent ConfigMap creates (or, with `--custom-resource`, creates of
//! a benchmark CRD's custom resources, through the apiextensions server, schema pruning and
//! validation; with `--pods`, of Pods through the built-in admission plugins) with rate and p50/p99 latency and, optionally, watch delivery delay seen through
//! another replica.
//!
//! ```text
//! cargo build --workspace --all-targets
//! target/debug/examples/bench_api --kubeconfig A/admin.kubeconfig [--clients 32] [--seconds 10] \
//!     [--watch-kubeconfig B/admin.kubeconfig] [--custom-resource] [--admission none|policy|webhook]
//!     [--pods [--governed]]
//! ```
//!
//! `examples/bench_api.sh` runs it on every backend next to the raw ceilings (docs/benchmarks.md).
//! Watch delay is the time from a create's acknowledgement to its ADDED event (0 when the event came
//! first), and from the create being sent to its ADDED event. With `--watch-kubeconfig` the watch
//! runs through a second server (replica B of the same store: cross-replica watch delay); without
//! it, through the first.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, DynamicObject, ObjectMeta, PostParams, WatchEvent, WatchParams};
use tokio::sync::Mutex;

#[derive(Parser)]
struct Args {
    /// Kubeconfig of the server the creates go to.
    #[arg(long)]
    kubeconfig: PathBuf,
    /// Kubeconfig of the server the watch goes to (default: the same).
    #[arg(long)]
    watch_kubeconfig: Option<PathBuf>,
    /// Concurrent clients, each creating ConfigMaps one after another.
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// How long to create.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Create custom resources of a benchmark CRD (installed first) instead of ConfigMaps.
    #[arg(long)]
    custom_resource: bool,
    /// Dynamic admission of the creates: `none`, `policy` (a ValidatingAdmissionPolicy and
    /// binding matching every create of the benchmark resource) or `webhook` (a validating
    /// webhook matching them, served by this process over HTTPS).
    #[arg(long, default_value = "none")]
    admission: String,
    /// Create Pods (passing the `restricted` Pod Security level) instead of ConfigMaps: the
    /// built-in plugins' path (ServiceAccount, Priority, DefaultTolerationSeconds, PodSecurity,
    /// LimitRanger, ResourceQuota...).
    #[arg(long)]
    pods: bool,
    /// With `--pods`: label the namespace `enforce=restricted` and give it a LimitRange with
    /// defaults and a ResourceQuota (large enough never to refuse), so every plugin acts.
    #[arg(long)]
    governed: bool,
}

/// A pod that passes the `restricted` Pod Security level, without resources (LimitRanger
/// defaults them when the namespace has a LimitRange).
fn bench_pod_spec() -> serde_json::Value {
    serde_json::json!({"containers": [{
        "name": "c", "image": "registry.k8s.io/pause:3.10",
        "securityContext": {"allowPrivilegeEscalation": false, "runAsNonRoot": true,
            "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}},
    }]})
}

/// Labels the namespace `enforce=restricted` and installs a LimitRange with default requests and
/// limits and a ResourceQuota on pods and compute far above what the benchmark creates.
async fn govern(client: &kube::Client, namespace: &str) -> anyhow::Result<()> {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let label = serde_json::json!({"metadata": {"labels": {
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "latest"}}});
    namespaces
        .patch(
            namespace,
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(label),
        )
        .await?;
    let objects = [
        serde_json::json!({"apiVersion": "v1", "kind": "LimitRange",
            "metadata": {"name": "bench", "namespace": namespace},
            "spec": {"limits": [{"type": "Container",
                "default": {"cpu": "100m", "memory": "64Mi"},
                "defaultRequest": {"cpu": "10m", "memory": "16Mi"}}]}}),
        serde_json::json!({"apiVersion": "v1", "kind": "ResourceQuota",
            "metadata": {"name": "bench", "namespace": namespace},
            "spec": {"hard": {"pods": "1000000", "requests.cpu": "100000",
                "requests.memory": "10000Gi", "limits.cpu": "100000", "limits.memory": "10000Gi"}}}),
    ];
    for object in objects {
        let kind = object["kind"].as_str().unwrap_or_default().to_string();
        let resource = ApiResource {
            group: String::new(),
            version: "v1".into(),
            api_version: "v1".into(),
            plural: format!("{}s", kind.to_lowercase()),
            kind,
        };
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &resource);
        let object: DynamicObject = serde_json::from_value(object)?;
        api.create(&PostParams::default(), &object).await?;
    }
    // The quota's status is computed by its controller; creates wait for it.
    let quotas: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        namespace,
        &ApiResource::erase::<k8s_openapi::api::core::v1::ResourceQuota>(&()),
    );
    for _ in 0..100 {
        let quota = quotas.get("bench").await?;
        if quota.data["status"]["used"].is_object() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("the quota's status was never computed")
}

/// The label every benchmark object carries; admission configurations match on it.
const BENCH_LABEL: &str = "apiary.dev/bench";

/// Installs what `--admission` asks for, matching creates of `resource`, and waits until it is in
/// effect (an object without the benchmark label is refused).
async fn install_admission(
    client: &kube::Client,
    kind: &str,
    resource: &ApiResource,
    namespace: &str,
) -> anyhow::Result<()> {
    let rules = serde_json::json!([{
        "apiGroups": [resource.group], "apiVersions": [resource.version],
        "operations": ["CREATE"], "resources": [resource.plural]
    }]);
    let suffix = std::process::id();
    let (api_resource, objects) = match kind {
        "none" => return Ok(()),
        "policy" => {
            let policy = serde_json::json!({
                "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
                "metadata": {"name": format!("bench-{suffix}")},
                "spec": {"matchConstraints": {"resourceRules": rules},
                    "validations": [{"expression": format!("has(object.metadata.labels) && '{BENCH_LABEL}' in object.metadata.labels")}]}
            });
            let binding = serde_json::json!({
                "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
                "metadata": {"name": format!("bench-{suffix}")},
                "spec": {"policyName": format!("bench-{suffix}"), "validationActions": ["Deny"]}
            });
            ("policy", vec![policy, binding])
        }
        "webhook" => {
            let (ca_pem, port) = start_label_webhook().await?;
            let config = serde_json::json!({
                "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
                "metadata": {"name": format!("bench-{suffix}")},
                "webhooks": [{"name": "bench.apiary.dev", "sideEffects": "None",
                    "admissionReviewVersions": ["v1"], "rules": rules,
                    "clientConfig": {"url": format!("https://127.0.0.1:{port}/validate"),
                        "caBundle": base64_encode(ca_pem.as_bytes())}}]
            });
            ("webhook", vec![config])
        }
        other => anyhow::bail!("--admission must be none, policy or webhook, not {other:?}"),
    };
    for object in objects {
        let object: DynamicObject = serde_json::from_value(object)?;
        let types = object.types.clone().unwrap_or_default();
        let (group, version) = types.api_version.split_once('/').unwrap_or(("", ""));
        let plural = format!("{}s", types.kind.to_lowercase());
        let ar = ApiResource {
            group: group.into(),
            version: version.into(),
            api_version: types.api_version.clone(),
            kind: types.kind.clone(),
            plural: plural.replace("policys", "policies"),
        };
        Api::<DynamicObject>::all_with(client.clone(), &ar)
            .create(&PostParams::default(), &object)
            .await?;
    }
    let probe: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, resource);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut unlabelled = DynamicObject::new("probe", resource);
        unlabelled.data = serde_json::json!({});
        let dry = PostParams {
            dry_run: true,
            ..Default::default()
        };
        if probe.create(&dry, &unlabelled).await.is_err() {
            println!("admission: one {api_resource} matching every create, in effect");
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the {api_resource} took no effect in 10 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Serves a validating webhook over HTTPS on a loopback port, from a CA of its own: it allows
/// objects with the benchmark label and denies the others. Returns the CA (PEM) and the port.
async fn start_label_webhook() -> anyhow::Result<(String, u16)> {
    use http_body_util::BodyExt as _;
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, &ca_key);
    let key = KeyPair::generate()?;
    let cert = CertificateParams::new(vec!["127.0.0.1".to_string()])?.signed_by(&key, &issuer)?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(
        vec![cert.der().clone()],
        rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
    )?;
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = hyper::service::service_fn(
                    |request: http::Request<hyper::body::Incoming>| async move {
                        let body = request.into_body().collect().await?.to_bytes();
                        let review: serde_json::Value =
                            serde_json::from_slice(&body).unwrap_or_default();
                        let allowed = review
                            .pointer("/request/object/metadata/labels")
                            .and_then(|labels| labels.get(BENCH_LABEL))
                            .is_some();
                        let answer = serde_json::json!({
                            "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                            "response": {"uid": review.pointer("/request/uid"), "allowed": allowed}
                        });
                        Ok::<_, hyper::Error>(http::Response::new(http_body_util::Full::new(
                            bytes::Bytes::from(answer.to_string()),
                        )))
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    Ok((ca_cert.pem(), port))
}

/// The benchmark CRD: namespaced `BenchItem`s with a schema-checked `data` map.
fn bench_crd() -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "benchitems.bench.apiary.dev"},
        "spec": {"group": "bench.apiary.dev", "scope": "Namespaced",
            "names": {"plural": "benchitems", "kind": "BenchItem"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "data": {"type": "object", "additionalProperties": {"type": "string"}}}}}}]},
    })
}

/// Installs the benchmark CRD (if missing) and waits until it is served.
async fn install_bench_crd(client: &kube::Client) -> anyhow::Result<ApiResource> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crd: CustomResourceDefinition = serde_json::from_value(bench_crd())?;
    let created = Instant::now();
    if crds.get_opt("benchitems.bench.apiary.dev").await?.is_none() {
        crds.create(&PostParams::default(), &crd).await?;
    }
    let resource = ApiResource {
        group: "bench.apiary.dev".into(),
        version: "v1".into(),
        api_version: "bench.apiary.dev/v1".into(),
        kind: "BenchItem".into(),
        plural: "benchitems".into(),
    };
    let probe: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
    let deadline = Instant::now() + Duration::from_secs(10);
    while probe.list(&Default::default()).await.is_err() {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the benchmark CRD was not served in 10 s"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    println!(
        "CRD served {} after its create was sent",
        ms(created.elapsed())
    );
    Ok(resource)
}

async fn client(kubeconfig: &PathBuf) -> anyhow::Result<kube::Client> {
    let config = kube::Config::from_custom_kubeconfig(
        kube::config::Kubeconfig::read_from(kubeconfig)?,
        &Default::default(),
    )
    .await?;
    Ok(kube::Client::try_from(config)?)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let writer = client(&args.kubeconfig).await?;
    let watcher = match &args.watch_kubeconfig {
        Some(path) => client(path).await?,
        None => writer.clone(),
    };
    let namespace = format!("bench-{}", std::process::id());
    let namespaces: Api<Namespace> = Api::all(writer.clone());
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some(namespace.clone()),
            ..Default::default()
        },
        ..Default::default()
    };
    namespaces.create(&PostParams::default(), &ns).await?;
    let resource = if args.custom_resource {
        install_bench_crd(&writer).await?
    } else if args.pods {
        if args.governed {
            govern(&writer, &namespace).await?;
        }
        ApiResource::erase::<k8s_openapi::api::core::v1::Pod>(&())
    } else {
        ApiResource::erase::<ConfigMap>(&())
    };

    install_admission(&writer, &args.admission, &resource, &namespace).await?;

    // Arrival time of each ADDED event, by name.
    let arrived: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let watched: Api<DynamicObject> = Api::namespaced_with(watcher, &namespace, &resource);
    let mut stream = watched
        .watch(&WatchParams::default().timeout(290), "0")
        .await?
        .boxed();
    let watch_task = {
        let arrived = arrived.clone();
        tokio::spawn(async move {
            while let Some(event) = stream.next().await {
                if let Ok(WatchEvent::Added(cm)) = event {
                    let now = Instant::now();
                    arrived
                        .lock()
                        .await
                        .insert(cm.metadata.name.unwrap_or_default(), now);
                }
            }
        })
    };

    let api: Api<DynamicObject> = Api::namespaced_with(writer, &namespace, &resource);
    let data = serde_json::json!({"payload": "x".repeat(256)});
    let start = Instant::now();
    let deadline = start + Duration::from_secs(args.seconds);
    let tasks: Vec<_> = (0..args.clients)
        .map(|c| {
            let (api, data, resource) = (api.clone(), data.clone(), resource.clone());
            let pods = args.pods;
            tokio::spawn(async move {
                // (name, sent, acknowledged)
                let mut writes = Vec::new();
                let mut i = 0;
                while Instant::now() < deadline {
                    let name = format!("obj-{c}-{i}");
                    let mut cm = DynamicObject::new(&name, &resource);
                    cm.data = if pods {
                        serde_json::json!({"spec": bench_pod_spec()})
                    } else {
                        serde_json::json!({"data": data.clone()})
                    };
                    cm.metadata.labels =
                        Some([(BENCH_LABEL.to_string(), "yes".to_string())].into());
                    let sent = Instant::now();
                    api.create(&PostParams::default(), &cm).await?;
                    writes.push((name, sent, Instant::now()));
                    i += 1;
                }
                Ok::<_, kube::Error>(writes)
            })
        })
        .collect();
    let mut writes = Vec::new();
    for task in tasks {
        writes.extend(task.await??);
    }
    let elapsed = start.elapsed();
    // Let the last events arrive.
    tokio::time::sleep(Duration::from_secs(2)).await;
    watch_task.abort();
    let arrived = arrived.lock().await;
    let mut latencies = Vec::new();
    let (mut after_ack, mut after_send, mut missing) = (Vec::new(), Vec::new(), 0);
    for (name, sent, acked) in &writes {
        latencies.push(*acked - *sent);
        match arrived.get(name) {
            Some(at) => {
                after_ack.push(at.saturating_duration_since(*acked));
                after_send.push(*at - *sent);
            }
            None => missing += 1,
        }
    }
    for list in [&mut latencies, &mut after_ack, &mut after_send] {
        list.sort();
    }
    println!(
        "creates: {} in {:.1} s = {:.0}/s with {} clients; latency p50 {} p99 {}",
        writes.len(),
        elapsed.as_secs_f64(),
        writes.len() as f64 / elapsed.as_secs_f64(),
        args.clients,
        ms(percentile(&latencies, 0.5)),
        ms(percentile(&latencies, 0.99)),
    );
    println!(
        "watch delay after ack: p50 {} p99 {}; after send: p50 {} p99 {}; {} of {} creates never seen",
        ms(percentile(&after_ack, 0.5)),
        ms(percentile(&after_ack, 0.99)),
        ms(percentile(&after_send, 0.5)),
        ms(percentile(&after_send, 0.99)),
        missing,
        writes.len(),
    );
    Ok(())
}
