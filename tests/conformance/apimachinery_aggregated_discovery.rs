//! `test/e2e/apimachinery/aggregated_discovery.go`: the AggregatedDiscovery conformance tests.

use std::time::{Duration, Instant};

use http_body_util::BodyExt;
use serde_json::{json, Value};

use crate::common::Apiary;
use crate::crd_fixtures::{allow_all_schema, create_crd, delete_crd, random_suffix};
use crate::shared_apiary::conformance_tests;

/// Upstream's `expectedLegacyGVR`: (group, version, resource).
const EXPECTED_LEGACY_GVR: &[(&str, &str, &str)] = &[("", "v1", "namespaces")];

/// Upstream's `expectedGVR`.
const EXPECTED_GVR: &[(&str, &str, &str)] = &[
    (
        "admissionregistration.k8s.io",
        "v1",
        "validatingwebhookconfigurations",
    ),
    ("apiextensions.k8s.io", "v1", "customresourcedefinitions"),
    ("apiregistration.k8s.io", "v1", "apiservices"),
    ("apps", "v1", "deployments"),
    ("authentication.k8s.io", "v1", "tokenreviews"),
    ("authorization.k8s.io", "v1", "selfsubjectaccessreviews"),
    ("autoscaling", "v1", "horizontalpodautoscalers"),
    ("autoscaling", "v2", "horizontalpodautoscalers"),
    ("batch", "v1", "jobs"),
    ("certificates.k8s.io", "v1", "certificatesigningrequests"),
    ("coordination.k8s.io", "v1", "leases"),
    ("discovery.k8s.io", "v1", "endpointslices"),
    ("events.k8s.io", "v1", "events"),
    ("networking.k8s.io", "v1", "ingresses"),
    ("node.k8s.io", "v1", "runtimeclasses"),
    ("policy", "v1", "poddisruptionbudgets"),
    ("scheduling.k8s.io", "v1", "priorityclasses"),
    ("storage.k8s.io", "v1", "csinodes"),
];

const AGGREGATED_ACCEPT: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// client-go's discovery `acceptDiscoveryFormats`: aggregated v2, then v2beta1, then legacy.
const CLIENT_GO_ACCEPT: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";

/// GET `path` with `accept`: the answer's Content-Type and decoded JSON body.
async fn get(client: &kube::Client, path: &str, accept: &str) -> (String, Value) {
    let request = http::Request::get(path)
        .header("accept", accept)
        .body(kube::client::Body::from(Vec::new()))
        .expect("request");
    let response = client
        .send(request)
        .await
        .unwrap_or_else(|e| panic!("Failed to get raw aggregated discovery document {path}: {e}"));
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    assert!(status.is_success(), "GET {path}: {status}");
    let json =
        serde_json::from_slice(&body).unwrap_or_else(|e| panic!("Failed to parse discovery: {e}"));
    (content_type, json)
}

/// Upstream's `isGVRPresentAPIDiscovery` on an `APIGroupDiscoveryList`.
fn is_gvr_present_api_discovery(
    list: &Value,
    (group, version, resource): (&str, &str, &str),
) -> bool {
    list["items"].as_array().into_iter().flatten().any(|g| {
        g["metadata"]["name"].as_str().unwrap_or_default() == group
            && g["versions"].as_array().into_iter().flatten().any(|v| {
                v["version"] == version
                    && v["resources"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|r| r["resource"] == resource)
            })
    })
}

/// client-go's `ContentTypeIsGVK` for the aggregated discovery v2 list: the media type's
/// parameters in any order.
fn is_aggregated_v2(content_type: &str) -> bool {
    let mut parts = content_type.split(';').map(str::trim);
    if parts.next() != Some("application/json") {
        return false;
    }
    let params: Vec<_> = parts.collect();
    ["g=apidiscovery.k8s.io", "v=v2", "as=APIGroupDiscoveryList"]
        .iter()
        .all(|p| params.contains(p))
}

/// Groups by name with their versions.
type ServerGroups = Vec<(String, Vec<String>)>;
/// The resource names of a (group, version).
type GvResources = ((String, String), Vec<String>);

/// client-go's `AggregatedDiscoveryInterface.GroupsAndMaybeResources`: `/api` and `/apis` with
/// the aggregated formats first; the groups (name, versions) and the resources per group/version,
/// `None` when the server answered with legacy discovery.
async fn groups_and_maybe_resources(
    client: &kube::Client,
) -> (ServerGroups, Option<Vec<GvResources>>) {
    let mut groups = Vec::new();
    let mut resources = Some(Vec::new());
    for path in ["/api", "/apis"] {
        let (content_type, doc) = get(client, path, CLIENT_GO_ACCEPT).await;
        if !is_aggregated_v2(&content_type) {
            resources = None;
            continue;
        }
        for group in doc["items"].as_array().into_iter().flatten() {
            let name = group["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let mut versions = Vec::new();
            for version in group["versions"].as_array().into_iter().flatten() {
                let v = version["version"].as_str().unwrap_or_default().to_string();
                let names = version["resources"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|r| r["resource"].as_str().map(String::from))
                    .collect();
                if let Some(resources) = resources.as_mut() {
                    resources.push(((name.clone(), v.clone()), names));
                }
                versions.push(v);
            }
            groups.push((name, versions));
        }
    }
    (groups, resources)
}

/// Upstream's `isGVRPresent`.
fn is_gvr_present(
    resources: &[GvResources],
    (group, version, resource): (&str, &str, &str),
) -> bool {
    resources
        .iter()
        .any(|((g, v), names)| g == group && v == version && names.iter().any(|n| n == resource))
}

/// The tests' `testcrds.group<random>.example.com` definition, namespaced, version v1 allowing
/// everything; created (waiting until it is in discovery) and returned with its group.
async fn create_test_crd(client: &kube::Client) -> (Value, String) {
    let group = format!("group{}.example.com", random_suffix());
    let crd = json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("testcrds.{group}")},
        "spec": {
            "group": group,
            "versions": [{"name": "v1", "served": true, "storage": true, "schema": allow_all_schema()}],
            "names": {"plural": "testcrds", "singular": "testcrd", "kind": "testcrd", "listKind": "testcrdList"},
            "scope": "Namespaced",
        },
    });
    let created = create_crd(client, &crd).await.expect("create the CRD");
    (created, group)
}

/// `[sig-api-machinery] AggregatedDiscovery should support raw aggregated discovery endpoint Accept headers [Conformance]`
/// (test/e2e/apimachinery/aggregated_discovery.go).
async fn should_support_raw_aggregated_discovery_endpoint_accept_headers(apiary: &Apiary) {
    let client = apiary.client().await;
    let (_, group_list) = get(&client, "/apis", AGGREGATED_ACCEPT).await;
    for &gvr in EXPECTED_GVR {
        assert!(
            is_gvr_present_api_discovery(&group_list, gvr),
            "Expected gvr {} {} {} to exist in discovery",
            gvr.0,
            gvr.1,
            gvr.2
        );
    }
    let (_, legacy) = get(&client, "/api", AGGREGATED_ACCEPT).await;
    for &gvr in EXPECTED_LEGACY_GVR {
        assert!(
            is_gvr_present_api_discovery(&legacy, gvr),
            "Expected legacy gvr api {} {} to exist in discovery",
            gvr.1,
            gvr.2
        );
    }
}

/// `[sig-api-machinery] AggregatedDiscovery should support raw aggregated discovery request for CRDs [Conformance]`
/// (test/e2e/apimachinery/aggregated_discovery.go).
async fn should_support_raw_aggregated_discovery_request_for_crds(apiary: &Apiary) {
    let client = apiary.client().await;
    let (crd, group) = create_test_crd(&client).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, group_list) = get(&client, "/apis", AGGREGATED_ACCEPT).await;
        if is_gvr_present_api_discovery(&group_list, (&group, "v1", "testcrds")) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for CustomResourceDefinition GVR to appear in Discovery"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    delete_crd(&client, &crd).await;
}

/// `[sig-api-machinery] AggregatedDiscovery should support aggregated discovery interface [Conformance]`
/// (test/e2e/apimachinery/aggregated_discovery.go).
async fn should_support_aggregated_discovery_interface(apiary: &Apiary) {
    let client = apiary.client().await;
    let (server_groups, resources) = groups_and_maybe_resources(&client).await;
    let resources = resources.expect("aggregated discovery answered with the legacy format");
    let expected: Vec<_> = EXPECTED_GVR
        .iter()
        .chain(EXPECTED_LEGACY_GVR)
        .copied()
        .collect();
    for &gvr in &expected {
        assert!(
            is_gvr_present(&resources, gvr),
            "Expected {gvr:?} to be present"
        );
    }
    for &(group, version, _) in &expected {
        assert!(
            server_groups
                .iter()
                .any(|(g, vs)| g == group && vs.iter().any(|v| v == version)),
            "Expected {group}/{version} to be present"
        );
    }
}

/// `[sig-api-machinery] AggregatedDiscovery should support aggregated discovery interface for CRDs [Conformance]`
/// (test/e2e/apimachinery/aggregated_discovery.go).
async fn should_support_aggregated_discovery_interface_for_crds(apiary: &Apiary) {
    let client = apiary.client().await;
    let (crd, group) = create_test_crd(&client).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, resources) = groups_and_maybe_resources(&client).await;
        if resources.is_some_and(|r| is_gvr_present(&r, (&group, "v1", "testcrds"))) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for CustomResourceDefinition GVR to appear in Discovery"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    delete_crd(&client, &crd).await;
}

conformance_tests!(rocksdb_only {
    should_support_aggregated_discovery_interface,
    should_support_aggregated_discovery_interface_for_crds,
    should_support_raw_aggregated_discovery_endpoint_accept_headers,
    should_support_raw_aggregated_discovery_request_for_crds,
});
