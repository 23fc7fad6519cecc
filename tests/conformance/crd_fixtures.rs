//! Upstream's CRD test fixtures (`apiextensions-apiserver/test/integration/fixtures` and
//! `test/utils/crd`) for the transcribed tests that create CustomResourceDefinitions.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub const CRDS: &str = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";

/// A raw request with an optional body of `content_type`: the decoded JSON answer.
pub async fn request(
    client: &kube::Client,
    method: &str,
    path: &str,
    content_type: &str,
    body: Option<Vec<u8>>,
) -> kube::Result<Value> {
    let req = http::Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", content_type)
        .body(body.unwrap_or_default())
        .expect("request");
    client.request::<Value>(req).await
}

/// A raw JSON request.
pub async fn json_request(
    client: &kube::Client,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> kube::Result<Value> {
    let body = body.map(|b| b.to_string().into_bytes());
    request(client, method, path, "application/json", body).await
}

/// Five random lowercase letters (upstream's `names.SimpleNameGenerator` suffix).
pub fn random_suffix() -> String {
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos() as u64
        ^ (u64::from(std::process::id()) << 32)
        ^ SEQ
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (0..5)
        .map(|_| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (b'a' + ((seed >> 33) % 26) as u8) as char
        })
        .collect()
}

/// `fixtures.AllowAllSchema`.
pub fn allow_all_schema() -> Value {
    json!({"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}})
}

/// `fixtures.NewRandomNameMultipleVersionCustomResourceDefinition`: `foo<random>as` in
/// `mygroup.example.com`, versions v1beta1 (served) and v1 (served, storage), both with a status
/// sub-resource and a schema allowing everything.
pub fn random_name_multiple_version_crd(scope: &str) -> Value {
    let name = format!("foo{}a", random_suffix());
    let version = |v: &str, storage: bool| {
        json!({
            "name": v, "served": true, "storage": storage,
            "subresources": {"status": {}},
            "schema": allow_all_schema(),
        })
    };
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{name}s.mygroup.example.com")},
        "spec": {
            "group": "mygroup.example.com",
            "versions": [version("v1beta1", false), version("v1", true)],
            "names": {"plural": format!("{name}s"), "singular": name, "kind": name, "listKind": format!("{name}List")},
            "scope": scope,
        },
    })
}

/// Whether discovery of `group/version` lists `plural` (`existsInDiscoveryV1`).
async fn exists_in_discovery(
    client: &kube::Client,
    group: &str,
    version: &str,
    plural: &str,
) -> bool {
    match json_request(client, "GET", &format!("/apis/{group}/{version}"), None).await {
        Ok(list) => list["resources"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|r| r["name"] == plural),
        Err(_) => false,
    }
}

fn served_versions(crd: &Value) -> Vec<String> {
    crd["spec"]["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| v["served"] == true)
        .filter_map(|v| v["name"].as_str().map(String::from))
        .collect()
}

/// `fixtures.CreateNewV1CustomResourceDefinitionWatchUnsafe`: creates the definition and waits
/// until every served version's resource is in discovery; the created definition.
pub async fn create_crd(client: &kube::Client, crd: &Value) -> kube::Result<Value> {
    let created = json_request(client, "POST", CRDS, Some(crd)).await?;
    let group = created["spec"]["group"].as_str().expect("group");
    let plural = created["spec"]["names"]["plural"].as_str().expect("plural");
    for version in served_versions(&created) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !exists_in_discovery(client, group, &version, plural).await {
            assert!(
                Instant::now() < deadline,
                "{plural}.{group}/{version} not in discovery"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(created)
}

/// `fixtures.DeleteV1CustomResourceDefinition`: deletes the definition and waits until none of
/// its served versions is in discovery.
pub async fn delete_crd(client: &kube::Client, crd: &Value) {
    let name = crd["metadata"]["name"].as_str().expect("name");
    json_request(client, "DELETE", &format!("{CRDS}/{name}"), None)
        .await
        .unwrap_or_else(|e| panic!("failed to delete CustomResourceDefinition({name}): {e}"));
    let group = crd["spec"]["group"].as_str().expect("group");
    let plural = crd["spec"]["names"]["plural"].as_str().expect("plural");
    for version in served_versions(crd) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while exists_in_discovery(client, group, &version, plural).await {
            assert!(
                Instant::now() < deadline,
                "{plural}.{group}/{version} still in discovery"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
