//! CRDs and field validation: differences from kube-apiserver 1.33 found by real clients
//! (issue 17). See main.rs.

use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::runtime::wait::{await_condition, conditions};
use serde_json::json;

use crate::common::Apiary;

/// A namespaced CRD `<plural>.diff.example.com` serving v1 with `schema` as its root schema.
fn crd(plural: &str, kind: &str, schema: serde_json::Value) -> CustomResourceDefinition {
    serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{plural}.diff.example.com")},
        "spec": {
            "group": "diff.example.com",
            "scope": "Namespaced",
            "names": {"plural": plural, "singular": plural.trim_end_matches('s'), "kind": kind},
            "versions": [{"name": "v1", "served": true, "storage": true,
                          "schema": {"openAPIV3Schema": schema}}],
        },
    }))
    .expect("CRD")
}

fn resource(plural: &str, kind: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("diff.example.com", "v1", kind),
        plural,
    )
}

/// Upstream's naming controller leaves `Established` False (`Installing`) and its establishing
/// controller turns it True once the CR handler serves the CRD
/// (`apiextensions-apiserver/pkg/controller/status/naming_controller.go`,
/// `pkg/controller/establish`): a create right after `Established=True` never gets a 404.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crd_is_served_once_it_is_established() {
    let apiary = Apiary::start();
    let client = apiary.client_without_retries().await;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let schema = json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true});
    for i in 0..20 {
        let (plural, kind) = (format!("gadget{i}s"), format!("Gadget{i}"));
        let name = format!("{plural}.diff.example.com");
        crds.create(&PostParams::default(), &crd(&plural, &kind, schema.clone()))
            .await
            .expect("CRD created");
        tokio::time::timeout(
            Duration::from_secs(10),
            await_condition(crds.clone(), &name, conditions::is_crd_established()),
        )
        .await
        .expect("established in time")
        .expect("watch");
        let api: Api<DynamicObject> =
            Api::namespaced_with(client.clone(), "default", &resource(&plural, &kind));
        let object: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "diff.example.com/v1", "kind": kind, "metadata": {"name": "one"},
        }))
        .unwrap();
        if let Err(err) = api.create(&PostParams::default(), &object).await {
            panic!("create {i} right after Established: {err}");
        }
    }
}

/// One raw request: its status, its `Warning` texts and its body as JSON.
async fn raw(
    client: &kube::Client,
    method: &str,
    path: &str,
    content_type: &str,
    body: &str,
) -> (u16, Vec<String>, serde_json::Value) {
    let request = http::Request::builder()
        .method(method)
        .uri(path)
        .header("Content-Type", content_type)
        .body(kube::client::Body::from(body.as_bytes().to_vec()))
        .unwrap();
    let response = client.send(request).await.expect("answer");
    let status = response.status().as_u16();
    let warnings = response
        .headers()
        .get_all("warning")
        .iter()
        .map(|h| {
            let text = h.to_str().unwrap();
            let text = text.strip_prefix("299 - \"").unwrap_or(text);
            text.strip_suffix('"').unwrap_or(text).replace("\\\"", "\"")
        })
        .collect();
    let bytes = response.into_body().collect_bytes().await.expect("body");
    (
        status,
        warnings,
        serde_json::from_slice(&bytes).unwrap_or_default(),
    )
}

/// Creates the CRD and waits for it to be established.
async fn install(client: &kube::Client, crd: &CustomResourceDefinition) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.create(&PostParams::default(), crd).await.expect("CRD");
    let name = crd.metadata.name.clone().unwrap();
    tokio::time::timeout(
        Duration::from_secs(10),
        await_condition(crds, &name, conditions::is_crd_established()),
    )
    .await
    .expect("established in time")
    .expect("watch");
}

/// Upstream's CR storage decodes with the CRD's structural schema, defaults included
/// (`apiextensions-apiserver/pkg/apiserver/customresource_handler.go`, `unstructuredDefaulter`
/// of the storage codec): a default added to the schema shows on objects stored before, on get,
/// list and watch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_default_added_to_the_schema_applies_to_stored_objects() {
    use futures::StreamExt;
    use kube::api::{ListParams, Patch, PatchParams, WatchEvent, WatchParams};
    let apiary = Apiary::start();
    let client = apiary.client().await;
    let schema = |with_default: bool| {
        let mut spec = json!({"type": "object", "properties": {"a": {"type": "string"}}});
        if with_default {
            spec["properties"]["b"] = json!({"type": "string", "default": "dflt"});
        }
        json!({"type": "object", "properties": {"spec": spec}})
    };
    install(&client, &crd("defaulteds", "Defaulted", schema(false))).await;
    let api: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        "default",
        &resource("defaulteds", "Defaulted"),
    );
    let object: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "diff.example.com/v1", "kind": "Defaulted",
        "metadata": {"name": "old"}, "spec": {"a": "x"},
    }))
    .unwrap();
    api.create(&PostParams::default(), &object).await.unwrap();
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let patch = json!({"spec": {"versions": [{"name": "v1", "served": true, "storage": true,
        "schema": {"openAPIV3Schema": schema(true)}}]}});
    crds.patch(
        "defaulteds.diff.example.com",
        &PatchParams::default(),
        &Patch::Merge(&patch),
    )
    .await
    .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let got = api.get("old").await.unwrap();
        if got.data["spec"]["b"] == "dflt" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "get: {:?}", got.data);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let list = api.list(&ListParams::default()).await.unwrap();
    assert_eq!(list.items[0].data["spec"], json!({"a": "x", "b": "dflt"}));
    let mut events = api
        .watch(&WatchParams::default(), "0")
        .await
        .unwrap()
        .boxed();
    match events.next().await {
        Some(Ok(WatchEvent::Added(added))) => {
            assert_eq!(added.data["spec"], json!({"a": "x", "b": "dflt"}))
        }
        other => panic!("{other:?}"),
    }
}

/// Upstream's v2 builder publishes a kind whose root schema preserves unknown fields as
/// `type: object` only (`apiextensions-apiserver/pkg/controller/openapi/builder`,
/// `buildKubeNative` with `V2`); v3 keeps the schema.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_v2_of_a_root_preserving_unknown_fields_is_only_its_type() {
    let apiary = Apiary::start();
    let client = apiary.client().await;
    let schema = json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true,
        "description": "free form",
        "properties": {"spec": {"type": "object", "properties": {"a": {"type": "string"}}}}});
    install(&client, &crd("freeforms", "FreeForm", schema)).await;
    let name = "com.example.diff.v1.FreeForm";
    let (status, _, v2) = raw(&client, "GET", "/openapi/v2", "application/json", "").await;
    assert_eq!(status, 200);
    assert_eq!(
        v2["definitions"][name],
        json!({"type": "object", "x-kubernetes-group-version-kind":
            [{"group": "diff.example.com", "kind": "FreeForm", "version": "v1"}]})
    );
    let (status, _, v3) = raw(
        &client,
        "GET",
        "/openapi/v3/apis/diff.example.com/v1",
        "application/json",
        "",
    )
    .await;
    assert_eq!(status, 200);
    let kind = &v3["components"]["schemas"][name];
    assert_eq!(
        kind["properties"]["spec"]["properties"]["a"]["type"],
        "string"
    );
    assert_eq!(kind["x-kubernetes-preserve-unknown-fields"], true);
}

/// Strict decoding texts (`apiserver/pkg/endpoints/handlers`, sigs.k8s.io/json and
/// sigs.k8s.io/yaml, `test/integration/apiserver/field_validation_test.go`): a typed object's
/// unknown and duplicate fields in document order, a custom resource's duplicates before what
/// pruning dropped; a YAML body's repeated keys as yaml.v2 reports them, warned line by line; a
/// CR's apply with an undeclared field refused by the typed conversion.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn field_validation_texts_match_upstream() {
    let apiary = Apiary::start();
    let client = apiary.client_without_retries().await;
    let configmaps = "/api/v1/namespaces/default/configmaps";

    // A typed object: unknown and duplicate fields in document order (one JSON decoder).
    let body = r#"{"apiVersion":"v1","kind":"ConfigMap","foo":1,"metadata":{"name":"a","name":"b"},"bar":2}"#;
    let (status, _, status_body) = raw(
        &client,
        "POST",
        &format!("{configmaps}?fieldValidation=Strict"),
        "application/json",
        body,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        status_body["message"],
        "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: strict decoding error: unknown field \"foo\", duplicate field \"metadata.name\", unknown field \"bar\""
    );
    let (status, warnings, _) = raw(
        &client,
        "POST",
        &format!("{configmaps}?fieldValidation=Warn"),
        "application/json",
        body,
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(
        warnings,
        [
            "unknown field \"foo\"",
            "duplicate field \"metadata.name\"",
            "unknown field \"bar\""
        ]
    );

    // A YAML body with a repeated key: create and update.
    let yaml =
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\ndata:\n  foo: one\n  foo: two\n";
    let (status, _, status_body) = raw(
        &client,
        "POST",
        &format!("{configmaps}?fieldValidation=Strict"),
        "application/yaml",
        yaml,
    )
    .await;
    assert_eq!(status, 400, "{status_body}");
    assert_eq!(
        status_body["message"],
        "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: strict decoding error: yaml: unmarshal errors:\n  line 7: key \"foo\" already set in map"
    );
    let (status, warnings, created) = raw(
        &client,
        "POST",
        &format!("{configmaps}?fieldValidation=Warn"),
        "application/yaml",
        yaml,
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(warnings, ["line 7: key \"foo\" already set in map"]);
    assert_eq!(created["data"]["foo"], "two");
    let (status, _, status_body) = raw(
        &client,
        "PUT",
        &format!("{configmaps}/y?fieldValidation=Strict"),
        "application/yaml",
        yaml,
    )
    .await;
    assert_eq!(status, 400);
    assert!(status_body["message"].as_str().unwrap().ends_with(
        "strict decoding error: yaml: unmarshal errors:\n  line 7: key \"foo\" already set in map"
    ));

    // Server-side apply with a repeated key.
    let apply =
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ap\ndata:\n  foo: one\n  foo: two\n";
    let (status, _, status_body) = raw(
        &client,
        "PATCH",
        &format!("{configmaps}/ap?fieldManager=t&fieldValidation=Strict"),
        "application/apply-patch+yaml",
        apply,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        status_body["message"],
        "error strict decoding YAML: error converting YAML to JSON: yaml: unmarshal errors:\n  line 7: key \"foo\" already set in map"
    );
    let (status, warnings, applied) = raw(
        &client,
        "PATCH",
        &format!("{configmaps}/ap?fieldManager=t&fieldValidation=Warn"),
        "application/apply-patch+yaml",
        apply,
    )
    .await;
    assert_eq!(status, 201, "{applied}");
    assert_eq!(warnings, ["line 7: key \"foo\" already set in map"]);

    // A custom resource: apply with an unknown root field, create with a repeated key.
    let schema = json!({"type": "object", "properties": {
        "spec": {"type": "object", "properties": {"a": {"type": "string"}}}}});
    install(&client, &crd("strictos", "Stricto", schema)).await;
    let path = "/apis/diff.example.com/v1/namespaces/default/strictos";
    let config = "apiVersion: diff.example.com/v1\nkind: Stricto\nmetadata:\n  name: s\nunknownField: 1\nspec:\n  a: x\n";
    for validation in ["Strict", "Warn", "Ignore"] {
        let (status, _, status_body) = raw(
            &client,
            "PATCH",
            &format!("{path}/s?fieldManager=t&fieldValidation={validation}"),
            "application/apply-patch+yaml",
            config,
        )
        .await;
        assert_eq!(status, 500, "{validation}: {status_body}");
        assert_eq!(
            status_body["message"],
            "failed to create typed patch object (/s; diff.example.com/v1, Kind=Stricto): .unknownField: field not declared in schema"
        );
    }
    // A custom resource: the decoder's duplicates, then what pruning dropped.
    let body = r#"{"apiVersion":"diff.example.com/v1","kind":"Stricto","metadata":{"name":"j"},"spec":{"zz":1,"a":"x","a":"y"}}"#;
    let (status, _, status_body) = raw(
        &client,
        "POST",
        &format!("{path}?fieldValidation=Strict"),
        "application/json",
        body,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        status_body["message"],
        "Stricto in version \"v1\" cannot be handled as a Stricto: strict decoding error: duplicate field \"spec.a\", unknown field \"spec.zz\""
    );
    let repeated = "apiVersion: diff.example.com/v1\nkind: Stricto\nmetadata:\n  name: r\nspec:\n  a: x\n  a: y\n";
    let (status, _, status_body) = raw(
        &client,
        "POST",
        &format!("{path}?fieldValidation=Strict"),
        "application/yaml",
        repeated,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        status_body["message"],
        "Stricto in version \"v1\" cannot be handled as a Stricto: strict decoding error: yaml: unmarshal errors:\n  line 7: key \"a\" already set in map"
    );
}
