//! Benchmark of CRDs at scale: installs generated CRDs with operator-sized schemas (nested
//! objects, lists, enums, long descriptions and CEL rules, a few hundred KiB each) in batches,
//! and reports per batch the time until every CRD of the batch is Established and served, the
//! mean time per CRD, and the server's resident memory afterwards.
//!
//! ```text
//! cargo build --workspace --all-targets
//! target/debug/examples/bench_crds --kubeconfig D/admin.kubeconfig --pid <apiary pid> \
//!     [--batches 10,90,400] [--fields 120]
//! ```
//!
//! Batches are cumulative: `10,90,400` measures after 10, 100 and 500 CRDs. CRDs are created one
//! after another, as `kubectl apply` of a directory does.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Parser;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, DynamicObject, PostParams};
use serde_json::{json, Map, Value};

#[derive(Parser)]
struct Args {
    /// Kubeconfig of the server.
    #[arg(long)]
    kubeconfig: PathBuf,
    /// The server's process id, whose resident memory is read from `/proc`.
    #[arg(long)]
    pid: u32,
    /// How many CRDs each batch adds.
    #[arg(long, value_delimiter = ',', default_value = "10,90,400")]
    batches: Vec<usize>,
    /// Properties per generated object level (the schema size grows with it).
    #[arg(long, default_value_t = 120)]
    fields: usize,
}

/// A long description, as generated CRDs carry (most of their size).
fn description(n: usize) -> String {
    format!(
        "Field {n} configures one aspect of the managed resource. When unset, the provider's \
         default applies; see the provider documentation for the accepted values, how changes are \
         rolled out, and which combinations with sibling fields are rejected by the API."
    )
}

/// An object schema with `fields` properties of every common kind; `depth` more levels below.
fn object_schema(fields: usize, depth: usize) -> Value {
    let mut properties = Map::new();
    for i in 0..fields {
        let schema = match i % 6 {
            0 => json!({"type": "string", "maxLength": 253, "description": description(i)}),
            1 => {
                json!({"type": "integer", "format": "int64", "minimum": 0, "description": description(i)})
            }
            2 => json!({"type": "boolean", "description": description(i)}),
            3 => {
                json!({"type": "string", "enum": ["Always", "IfNotPresent", "Never"], "description": description(i)})
            }
            4 => json!({"type": "array", "maxItems": 64, "description": description(i),
                        "items": {"type": "object", "required": ["name"],
                                  "properties": {"name": {"type": "string", "maxLength": 63}, "value": {"type": "string"}}},
                        "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]}),
            _ if depth > 0 => object_schema(fields / 4, depth - 1),
            _ => {
                json!({"type": "object", "additionalProperties": {"type": "string"}, "description": description(i)})
            }
        };
        properties.insert(format!("field{i}"), schema);
    }
    let mut schema = json!({"type": "object", "properties": properties});
    if fields >= 3 {
        schema["x-kubernetes-validations"] = json!([
            {"rule": "!has(self.field0) || self.field0.size() <= 200", "message": "field0 is too long"},
            {"rule": "!has(self.field1) || !has(self.field2) || self.field1 > 0 || !self.field2",
             "message": "field2 needs field1"},
        ]);
    }
    schema
}

/// The `n`th generated CRD: `Thing<n>` in `bench<n % 20>.crds.apiary.dev`, two served versions.
fn generated_crd(n: usize, fields: usize) -> Value {
    let version = |name: &str, storage: bool| {
        json!({"name": name, "served": true, "storage": storage,
               "subresources": {"status": {}},
               "additionalPrinterColumns": [{"name": "Ready", "type": "string", "jsonPath": ".status.ready"}],
               "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                   "spec": object_schema(fields, 2),
                   "status": {"type": "object", "properties": {"ready": {"type": "string"}}}}}}})
    };
    json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("things{n}.bench{}.crds.apiary.dev", n % 20)},
        "spec": {"group": format!("bench{}.crds.apiary.dev", n % 20), "scope": "Namespaced",
            "names": {"plural": format!("things{n}"), "kind": format!("Thing{n}")},
            "versions": [version("v1beta1", false), version("v1", true)]},
    })
}

/// The server's resident set size in MiB.
fn rss_mib(pid: u32) -> anyhow::Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no VmRSS in /proc/{pid}/status"))?;
    Ok(kib / 1024.0)
}

/// Waits until the `n`th CRD's custom resources can be listed.
async fn wait_served(client: &kube::Client, n: usize) -> anyhow::Result<()> {
    let group = format!("bench{}.crds.apiary.dev", n % 20);
    let resource = ApiResource {
        api_version: format!("{group}/v1"),
        group,
        version: "v1".into(),
        kind: format!("Thing{n}"),
        plural: format!("things{n}"),
    };
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
    let deadline = Instant::now() + Duration::from_secs(120);
    while api.list(&Default::default()).await.is_err() {
        anyhow::ensure!(
            Instant::now() < deadline,
            "things{n} not served after 120 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let config = kube::Config::from_custom_kubeconfig(
        kube::config::Kubeconfig::read_from(&args.kubeconfig)?,
        &Default::default(),
    )
    .await?;
    let client = kube::Client::try_from(config)?;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let size = serde_json::to_vec(&generated_crd(0, args.fields))?.len();
    println!(
        "generated CRDs: {:.0} KiB of JSON each; RSS before: {:.0} MiB",
        size as f64 / 1024.0,
        rss_mib(args.pid)?
    );
    let mut installed = 0;
    for batch in &args.batches {
        let started = Instant::now();
        let mut slowest = Duration::ZERO;
        for n in installed..installed + batch {
            let one = Instant::now();
            let crd: CustomResourceDefinition =
                serde_json::from_value(generated_crd(n, args.fields))?;
            crds.create(&PostParams::default(), &crd).await?;
            wait_served(&client, n).await?;
            slowest = slowest.max(one.elapsed());
        }
        installed += batch;
        let elapsed = started.elapsed();
        tokio::time::sleep(Duration::from_secs(2)).await;
        println!(
            "{installed} CRDs: batch of {batch} in {:.1} s ({:.0} ms per CRD, slowest {:.0} ms); RSS {:.0} MiB",
            elapsed.as_secs_f64(),
            elapsed.as_secs_f64() * 1000.0 / *batch as f64,
            slowest.as_secs_f64() * 1000.0,
            rss_mib(args.pid)?
        );
    }
    Ok(())
}
