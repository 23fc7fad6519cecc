//! `test/e2e/apimachinery/discovery.go` and `server_version.go`: the Discovery and server version
//! conformance tests.

use serde_json::Value;

use crate::common::Apiary;
use crate::shared_apiary::conformance_tests;

/// GET `path` (kept as given, trailing slash included, as client-go's `AbsPath` keeps it).
async fn get(client: &kube::Client, path: &str) -> Value {
    let req = http::Request::get(path).body(Vec::new()).expect("request");
    client
        .request::<Value>(req)
        .await
        .unwrap_or_else(|e| panic!("Fail to access: {path}: {e}"))
}

/// `[sig-api-machinery] Discovery should validate PreferredVersion for each APIGroup [Conformance]`
/// (test/e2e/apimachinery/discovery.go).
async fn should_validate_preferred_version_for_each_api_group(apiary: &Apiary) {
    let client = apiary.client().await;
    let list = get(&client, "/apis/").await;
    let groups = list["groups"].as_array().expect("groups");
    assert!(!groups.is_empty(), "Missing APIGroups");
    for group in groups {
        let name = group["name"].as_str().expect("name");
        if name.ends_with(".example.com") {
            continue;
        }
        let check = get(&client, &format!("/apis/{name}/")).await;
        let versions = check["versions"].as_array().cloned().unwrap_or_default();
        assert!(!versions.is_empty(), "No version found for {name}");
        let preferred = &check["preferredVersion"]["groupVersion"];
        assert!(
            versions.iter().any(|v| v["groupVersion"] == *preferred),
            "Failed to find a valid version for PreferredVersion {preferred} in versions {versions:?}"
        );
    }
}

/// `[sig-api-machinery] Discovery should locate the groupVersion and a resource within each APIGroup [Conformance]`
/// (test/e2e/apimachinery/discovery.go).
async fn should_locate_the_group_version_and_a_resource_within_each_api_group(apiary: &Apiary) {
    let client = apiary.client().await;
    let tests = [
        ("/api", "", "v1", "namespaces"),
        (
            "/apis",
            "admissionregistration.k8s.io",
            "v1",
            "validatingwebhookconfigurations",
        ),
        (
            "/apis",
            "apiextensions.k8s.io",
            "v1",
            "customresourcedefinitions",
        ),
        ("/apis", "apiregistration.k8s.io", "v1", "apiservices"),
        ("/apis", "apps", "v1", "deployments"),
        ("/apis", "authentication.k8s.io", "v1", "tokenreviews"),
        (
            "/apis",
            "authorization.k8s.io",
            "v1",
            "selfsubjectaccessreviews",
        ),
        ("/apis", "autoscaling", "v1", "horizontalpodautoscalers"),
        ("/apis", "autoscaling", "v2", "horizontalpodautoscalers"),
        ("/apis", "batch", "v1", "jobs"),
        (
            "/apis",
            "certificates.k8s.io",
            "v1",
            "certificatesigningrequests",
        ),
        ("/apis", "coordination.k8s.io", "v1", "leases"),
        ("/apis", "discovery.k8s.io", "v1", "endpointslices"),
        ("/apis", "events.k8s.io", "v1", "events"),
        ("/apis", "networking.k8s.io", "v1", "ingresses"),
        ("/apis", "node.k8s.io", "v1", "runtimeclasses"),
        ("/apis", "policy", "v1", "poddisruptionbudgets"),
        ("/apis", "scheduling.k8s.io", "v1", "priorityclasses"),
        ("/apis", "storage.k8s.io", "v1", "csinodes"),
    ];
    for (base, group, version, resource) in tests {
        let path = if group.is_empty() {
            format!("{base}/{version}")
        } else {
            format!("{base}/{group}/{version}")
        };
        let list = get(&client, &path).await;
        let group_version = if group.is_empty() {
            version.to_string()
        } else {
            format!("{group}/{version}")
        };
        assert_eq!(list["groupVersion"], group_version.as_str(), "{path}");
        assert!(
            list["resources"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|r| r["name"] == resource),
            "Resource {resource:?} was not found inside of resourceList of {path}"
        );
    }
}

/// `[sig-api-machinery] server version should find the server version [Conformance]`
/// (test/e2e/apimachinery/server_version.go): major and minor versions are integers (the
/// minor once stripped of non-digits such as a trailing `+`).
async fn should_find_the_server_version(apiary: &Apiary) {
    let client = apiary.client().await;
    let version = get(&client, "/version").await;
    let major = version["major"].as_str().expect("major");
    let first_digit: String = major
        .chars()
        .filter(|c| ('1'..='9').contains(c))
        .take(1)
        .collect();
    assert_eq!(first_digit, major, "Major version must only be an integer");
    let minor: String = version["minor"]
        .as_str()
        .expect("minor")
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    minor
        .parse::<u32>()
        .unwrap_or_else(|e| panic!("minor version {minor:?} is not an integer: {e}"));
}

conformance_tests!(rocksdb_only {
    should_validate_preferred_version_for_each_api_group,
    should_locate_the_group_version_and_a_resource_within_each_api_group,
    should_find_the_server_version,
});
