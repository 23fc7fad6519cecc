//! `test/e2e/apimachinery/custom_resource_definition.go` and `crd_watch.go`: the
//! CustomResourceDefinition conformance tests, on every backend.

use std::time::{Duration, Instant};

use futures::{Stream, StreamExt};
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, Patch, PatchParams};
use kube::api::{PostParams, WatchEvent, WatchParams};
use serde_json::{json, Value};

use crate::common::Apiary;
use crate::shared_apiary::conformance_tests;

/// A raw request with a JSON body; the decoded JSON answer.
async fn request(
    client: &kube::Client,
    method: &str,
    path: &str,
    content_type: &str,
    body: Option<&Value>,
) -> kube::Result<Value> {
    let req = http::Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", content_type)
        .body(body.map(|b| b.to_string().into_bytes()).unwrap_or_default())
        .expect("request");
    client.request::<Value>(req).await
}

const CRDS: &str = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
const JSON: &str = "application/json";

/// A random lowercase suffix.
fn random_suffix() -> String {
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos() as u64
        ^ (std::process::id() as u64) << 32;
    (0..5)
        .map(|_| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (b'a' + ((seed >> 33) % 26) as u8) as char
        })
        .collect()
}

/// Upstream's `fixtures.NewRandomNameV1CustomResourceDefinition`: `foo<random>s.mygroup.example.com`,
/// version v1beta1 with a schema allowing everything.
fn random_crd(scope: &str) -> Value {
    let name = format!("foo{}", random_suffix());
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{name}s.mygroup.example.com")},
        "spec": {
            "group": "mygroup.example.com",
            "versions": [{
                "name": "v1beta1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
            }],
            "names": {"plural": format!("{name}s"), "singular": name, "kind": name, "listKind": format!("{name}List")},
            "scope": scope,
        },
    })
}

/// Upstream's `fixtures.NewNoxuV1CustomResourceDefinition`.
fn noxu_crd(scope: &str) -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "noxus.mygroup.example.com"},
        "spec": {
            "group": "mygroup.example.com",
            "versions": [{
                "name": "v1beta1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
            }],
            "names": {
                "plural": "noxus", "singular": "nonenglishnoxu", "kind": "WishIHadChosenNoxu",
                "shortNames": ["foo", "bar", "abc", "def"], "listKind": "NoxuItemList",
                "categories": ["all"],
            },
            "scope": scope,
        },
    })
}

/// Upstream's `fixtures.CreateNewV1CustomResourceDefinition`: creates the definition and waits
/// until it is established and its resource is served.
async fn create_crd(client: &kube::Client, crd: &Value) -> Value {
    let created = request(client, "POST", CRDS, JSON, Some(crd))
        .await
        .expect("create CRD");
    let name = created["metadata"]["name"]
        .as_str()
        .expect("name")
        .to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = request(client, "GET", &format!("{CRDS}/{name}"), JSON, None)
            .await
            .expect("get CRD");
        let established = got["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["type"] == "Established" && c["status"] == "True");
        let plural = got["spec"]["names"]["plural"].as_str().expect("plural");
        let served = request(
            client,
            "GET",
            &format!("/apis/mygroup.example.com/v1beta1/{plural}"),
            JSON,
            None,
        )
        .await
        .is_ok();
        if established && served {
            return created;
        }
        assert!(Instant::now() < deadline, "CRD {name} not established");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn delete_crd(client: &kube::Client, name: &str) {
    request(client, "DELETE", &format!("{CRDS}/{name}"), JSON, None)
        .await
        .expect("delete CRD");
}

/// `[sig-api-machinery] CustomResourceDefinition resources [Privileged:ClusterAdmin] Simple CustomResourceDefinition creating/deleting custom resource definition objects works [Conformance]`
/// (test/e2e/apimachinery/custom_resource_definition.go).
async fn creating_and_deleting_crds_works(apiary: &Apiary) {
    let client = apiary.client().await;
    let crd = create_crd(&client, &random_crd("Namespaced")).await;
    delete_crd(&client, crd["metadata"]["name"].as_str().expect("name")).await;
}

/// `[sig-api-machinery] CustomResourceDefinition resources [Privileged:ClusterAdmin] Simple CustomResourceDefinition listing custom resource definition objects works [Conformance]`
/// (test/e2e/apimachinery/custom_resource_definition.go).
async fn listing_crds_works(apiary: &Apiary) {
    let client = apiary.client().await;
    let uuid = format!("{}-{}", random_suffix(), std::process::id());
    let mut created = Vec::new();
    for _ in 0..10 {
        let mut crd = random_crd("Cluster");
        crd["metadata"]["labels"] = json!({"e2e-list-test-uuid": uuid});
        created.push(create_crd(&client, &crd).await);
    }
    // One without the label, which the selector must not match.
    let unlabelled = create_crd(&client, &random_crd("Cluster")).await;

    let selector = format!("{CRDS}?labelSelector=e2e-list-test-uuid%3D{uuid}");
    let list = request(&client, "GET", &selector, JSON, None)
        .await
        .expect("list CRDs");
    let items = list["items"].as_array().expect("items");
    assert_eq!(items.len(), 10);
    for expected in &created {
        let found = items
            .iter()
            .find(|i| i["metadata"]["name"] == expected["metadata"]["name"])
            .unwrap_or_else(|| panic!("{} not listed", expected["metadata"]["name"]));
        assert_eq!(found["spec"], expected["spec"]);
    }

    // Upstream's `fixtures.DeleteV1CustomResourceDefinitions`: delete the collection and wait
    // until it is gone (the definitions' cleanup finalizer runs first).
    request(&client, "DELETE", &selector, JSON, None)
        .await
        .expect("delete the labelled CRDs");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let list = request(&client, "GET", &selector, JSON, None)
            .await
            .expect("list CRDs");
        if list["items"].as_array().map(Vec::len) == Some(0) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "labelled CRDs not deleted: {list}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // The unlabelled one remains.
    let name = unlabelled["metadata"]["name"].as_str().expect("name");
    request(&client, "GET", &format!("{CRDS}/{name}"), JSON, None)
        .await
        .expect("getting remaining CustomResourceDefinition");
    delete_crd(&client, name).await;
}

/// Upstream's `expectCondition`: a condition equal to one with only `message` set.
fn has_condition_message(crd: &Value, message: &str) -> bool {
    let empty = |v: &Value| v.is_null() || *v == "";
    crd["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| {
            c["message"] == message
                && empty(&c["type"])
                && empty(&c["status"])
                && empty(&c["reason"])
                && c["lastTransitionTime"].is_null()
        })
}

/// `[sig-api-machinery] CustomResourceDefinition resources [Privileged:ClusterAdmin] Simple CustomResourceDefinition getting/updating/patching custom resource definition status sub-resource works [Conformance]`
/// (test/e2e/apimachinery/custom_resource_definition.go).
async fn crd_status_subresource_works(apiary: &Apiary) {
    let client = apiary.client().await;
    let crd = create_crd(&client, &random_crd("Cluster")).await;
    let name = crd["metadata"]["name"].as_str().expect("name").to_string();
    let status_path = format!("{CRDS}/{name}/status");

    // Update: append a condition with message "updated" (retrying on conflicts).
    let mut updated = None;
    for _ in 0..5 {
        let mut current = request(&client, "GET", &status_path, JSON, None)
            .await
            .expect("get CRD status");
        assert_eq!(current["spec"], crd["spec"], "status sub-resource spec");
        let conditions = current["status"]["conditions"].take();
        let mut conditions = conditions.as_array().cloned().unwrap_or_default();
        conditions.push(json!({"message": "updated"}));
        current["status"]["conditions"] = Value::Array(conditions);
        match request(&client, "PUT", &status_path, JSON, Some(&current)).await {
            Ok(crd) => {
                updated = Some(crd);
                break;
            }
            Err(kube::Error::Api(s)) if s.code == 409 => continue,
            Err(e) => panic!("update CRD status: {e}"),
        }
    }
    let updated = updated.expect("status update without conflict");
    assert!(has_condition_message(&updated, "updated"), "{updated}");

    // Patch: replace the conditions with one with message "patched".
    let patch =
        json!([{"op": "add", "path": "/status/conditions", "value": [{"message": "patched"}]}]);
    let patched = request(
        &client,
        "PATCH",
        &status_path,
        "application/json-patch+json",
        Some(&patch),
    )
    .await
    .expect("patch CRD status");
    assert!(has_condition_message(&updated, "updated"), "{updated}");
    assert!(has_condition_message(&patched, "patched"), "{patched}");
    delete_crd(&client, &name).await;
}

/// `[sig-api-machinery] CustomResourceDefinition resources [Privileged:ClusterAdmin] should include custom resource definition resources in discovery documents [Conformance]`
/// (test/e2e/apimachinery/custom_resource_definition.go).
async fn crd_resources_are_in_discovery_documents(apiary: &Apiary) {
    let client = apiary.client().await;
    let groups = request(&client, "GET", "/apis", JSON, None)
        .await
        .expect("/apis");
    let group = groups["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .find(|g| g["name"] == "apiextensions.k8s.io")
        .expect("apiextensions.k8s.io in /apis")
        .clone();
    assert_eq!(
        group["preferredVersion"]["groupVersion"],
        "apiextensions.k8s.io/v1"
    );
    assert!(group["versions"]
        .as_array()
        .expect("versions")
        .iter()
        .any(|v| v["groupVersion"] == "apiextensions.k8s.io/v1"));

    let group = request(&client, "GET", "/apis/apiextensions.k8s.io", JSON, None)
        .await
        .expect("/apis/apiextensions.k8s.io");
    assert_eq!(group["name"], "apiextensions.k8s.io");
    assert!(group["versions"]
        .as_array()
        .expect("versions")
        .iter()
        .any(|v| v["groupVersion"] == "apiextensions.k8s.io/v1"));
    assert_eq!(
        group["preferredVersion"]["groupVersion"],
        "apiextensions.k8s.io/v1"
    );

    let resources = request(&client, "GET", "/apis/apiextensions.k8s.io/v1", JSON, None)
        .await
        .expect("/apis/apiextensions.k8s.io/v1");
    assert_eq!(resources["groupVersion"], "apiextensions.k8s.io/v1");
    assert!(resources["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .any(|r| r["name"] == "customresourcedefinitions"));
}

/// `[sig-api-machinery] CustomResourceDefinition resources [Privileged:ClusterAdmin] custom resource defaulting for requests and from storage works [Conformance]`
/// (test/e2e/apimachinery/custom_resource_definition.go).
async fn custom_resource_defaulting_for_requests_and_from_storage_works(apiary: &Apiary) {
    let client = apiary.client().await;
    let mut crd = random_crd("Cluster");
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"] =
        json!({"a": {"type": "string"}, "b": {"type": "string"}});
    let crd = create_crd(&client, &crd).await;
    let name = crd["metadata"]["name"].as_str().expect("name").to_string();
    let plural = crd["spec"]["names"]["plural"].as_str().expect("plural");
    let kind = crd["spec"]["names"]["kind"].as_str().expect("kind");
    let crs = format!("/apis/mygroup.example.com/v1beta1/{plural}");
    let cr = |name: &str| json!({"apiVersion": "mygroup.example.com/v1beta1", "kind": kind, "metadata": {"name": name}});
    let name1 = format!("cr-1{}", random_suffix());
    request(&client, "POST", &crs, JSON, Some(&cr(&name1)))
        .await
        .expect("creating CR");

    // Default a to "A": the stored CR is defaulted on read.
    let patch = json!([{"op": "add", "path": "/spec/versions/0/schema/openAPIV3Schema/properties/a/default", "value": "A"}]);
    request(
        &client,
        "PATCH",
        &format!("{CRDS}/{name}"),
        "application/json-patch+json",
        Some(&patch),
    )
    .await
    .expect("setting default for a to \"A\" in schema");
    let poll = |path: String, check: fn(&Value) -> Result<bool, String>| {
        let client = client.clone();
        async move {
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let got = request(&client, "GET", &path, JSON, None)
                    .await
                    .expect("get CR");
                match check(&got) {
                    Ok(true) => return,
                    Ok(false) => {}
                    Err(e) => panic!("{e}"),
                }
                assert!(Instant::now() < deadline, "timed out: {got}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    poll(format!("{crs}/{name1}"), |cr| match &cr["a"] {
        Value::Null => Ok(false),
        a if a == "A" => Ok(true),
        a => Err(format!("expected a:\"A\", but got a:{a}")),
    })
    .await;

    // A new CR is defaulted on create.
    let name2 = format!("cr-2{}", random_suffix());
    let created = request(&client, "POST", &crs, JSON, Some(&cr(&name2)))
        .await
        .expect("creating CR");
    assert_eq!(created["a"], "A", "\"a\" is defaulted to \"A\"");

    // Drop a's default, default b to "B": b is defaulted on read, the stored a stays.
    let patch = json!([
        {"op": "remove", "path": "/spec/versions/0/schema/openAPIV3Schema/properties/a/default"},
        {"op": "add", "path": "/spec/versions/0/schema/openAPIV3Schema/properties/b/default", "value": "B"},
    ]);
    request(
        &client,
        "PATCH",
        &format!("{CRDS}/{name}"),
        "application/json-patch+json",
        Some(&patch),
    )
    .await
    .expect("setting default for b to \"B\" and remove default for a");
    poll(format!("{crs}/{name2}"), |cr| {
        match &cr["b"] {
            Value::Null => return Ok(false),
            b if b != "B" => return Err(format!("expected b:\"B\", but got b:{b}")),
            _ => {}
        }
        match &cr["a"] {
            Value::Null => Err("expected a:\"A\" to be unchanged, but it was removed".into()),
            a if a != "A" => Err(format!(
                "expected a:\"A\" to be unchanged, but it changed to {a}"
            )),
            _ => Ok(true),
        }
    })
    .await;
    delete_crd(&client, &name).await;
}

type CrWatch =
    std::pin::Pin<Box<dyn Stream<Item = kube::Result<WatchEvent<DynamicObject>>> + Send>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Type {
    Added,
    Modified,
    Deleted,
}

/// `crd_watch.go`'s `waitForEvent`: an event of `expect` type (equal to `object` when given)
/// within `within`.
async fn wait_for_event(
    watch: &mut CrWatch,
    expect: Type,
    object: Option<&Value>,
    within: Duration,
) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let Ok(next) = tokio::time::timeout_at(deadline, watch.next()).await else {
            return false;
        };
        let event = next
            .expect("watch closed unexpectedly")
            .expect("watch event");
        let (kind, got) = match event {
            WatchEvent::Added(o) => (Type::Added, o),
            WatchEvent::Modified(o) => (Type::Modified, o),
            WatchEvent::Deleted(o) => (Type::Deleted, o),
            other => panic!("unexpected watch event {other:?}"),
        };
        let got = serde_json::to_value(&got).expect("json");
        if kind == expect && object.is_none_or(|o| *o == got) {
            return true;
        }
    }
}

async fn expect_event(watch: &mut CrWatch, expect: Type, object: Option<&Value>) {
    assert!(
        wait_for_event(watch, expect, object, Duration::from_secs(60)).await,
        "timed out waiting for {expect:?}"
    );
}

async fn expect_no_event(watch: &mut CrWatch, expect: Type, object: Option<&Value>) {
    assert!(
        !wait_for_event(watch, expect, object, Duration::from_secs(2)).await,
        "unexpected {expect:?}"
    );
}

/// `[sig-api-machinery] CustomResourceDefinition Watch [Privileged:ClusterAdmin] CustomResourceDefinition Watch watch on custom resource definition objects [Conformance]`
/// (test/e2e/apimachinery/crd_watch.go).
async fn watch_on_custom_resource_definition_objects(apiary: &Apiary) {
    let client = apiary.client().await;
    let crd = create_crd(&client, &noxu_crd("Cluster")).await;
    let resource = ApiResource {
        group: "mygroup.example.com".into(),
        version: "v1beta1".into(),
        api_version: "mygroup.example.com/v1beta1".into(),
        kind: "WishIHadChosenNoxu".into(),
        plural: "noxus".into(),
    };
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
    let watch_named = |name: &'static str| {
        let api = api.clone();
        async move {
            let params = WatchParams {
                field_selector: Some(format!("metadata.name={name}")),
                bookmarks: false,
                ..Default::default()
            };
            api.watch(&params, "").await.expect("watch CRs").boxed()
        }
    };
    let mut watch_a: CrWatch = watch_named("name1").await;
    let mut watch_b: CrWatch = watch_named("name2").await;

    // Upstream's `fixtures.NewNoxuInstance`.
    let instance = |name: &str| -> DynamicObject {
        serde_json::from_value(json!({
            "apiVersion": "mygroup.example.com/v1beta1",
            "kind": "WishIHadChosenNoxu",
            "metadata": {"name": name},
            "content": {"key": "value"},
            "num": {"num1": 9223372036854775807_i64, "num2": 1000000},
        }))
        .expect("instance")
    };
    let pp = PostParams::default();
    let cr_a = api
        .create(&pp, &instance("name1"))
        .await
        .expect("create name1");
    let cr_a = serde_json::to_value(&cr_a).expect("json");
    expect_event(&mut watch_a, Type::Added, Some(&cr_a)).await;
    expect_no_event(&mut watch_b, Type::Added, Some(&cr_a)).await;

    let cr_b = api
        .create(&pp, &instance("name2"))
        .await
        .expect("create name2");
    let cr_b = serde_json::to_value(&cr_b).expect("json");
    expect_event(&mut watch_b, Type::Added, Some(&cr_b)).await;
    expect_no_event(&mut watch_a, Type::Added, Some(&cr_b)).await;

    let patch = json!({"dummy": "test"});
    api.patch("name1", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("patch name1");
    expect_event(&mut watch_a, Type::Modified, None).await;
    expect_no_event(&mut watch_b, Type::Modified, None).await;

    api.patch("name2", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("patch name2");
    expect_event(&mut watch_b, Type::Modified, None).await;
    expect_no_event(&mut watch_a, Type::Modified, None).await;

    api.delete("name1", &DeleteParams::default())
        .await
        .expect("delete name1");
    expect_event(&mut watch_a, Type::Deleted, None).await;
    expect_no_event(&mut watch_b, Type::Deleted, None).await;

    api.delete("name2", &DeleteParams::default())
        .await
        .expect("delete name2");
    expect_event(&mut watch_b, Type::Deleted, None).await;
    expect_no_event(&mut watch_a, Type::Deleted, None).await;

    delete_crd(&client, crd["metadata"]["name"].as_str().expect("name")).await;
}

conformance_tests!(all_backends {
    creating_and_deleting_crds_works,
    listing_crds_works,
    crd_status_subresource_works,
    crd_resources_are_in_discovery_documents,
    custom_resource_defaulting_for_requests_and_from_storage_works,
    watch_on_custom_resource_definition_objects,
});
