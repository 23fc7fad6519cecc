//! Service-level tests over the real catalogue and definitions, plus a fake CRD group.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use prost::Message;
use serde_json::{json, Value};

use super::*;
use crate::catalog;

/// Built once: generating every document takes a moment.
fn service() -> &'static OpenApiService {
    static SERVICE: OnceLock<OpenApiService> = OnceLock::new();
    SERVICE.get_or_init(|| OpenApiService::builtin(catalog::builtin()))
}

fn v3_json(key: &str) -> Value {
    let snapshot = service().snapshot();
    let doc = snapshot
        .v3_document(key)
        .map(|d| d.bytes.clone())
        .unwrap_or_default();
    serde_json::from_slice(&doc).unwrap_or(Value::Null)
}

/// Follows a `$ref` (plain or wrapped in `allOf`) to its schema in `doc`.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    let reference = schema
        .get("$ref")
        .or_else(|| schema.pointer("/allOf/0/$ref"))
        .and_then(Value::as_str);
    match reference.and_then(|r| r.strip_prefix("#/components/schemas/")) {
        Some(name) => &doc["components"]["schemas"][name],
        None => schema,
    }
}

#[test]
fn index_lists_every_served_group_version_with_its_hash() {
    let snapshot = service().snapshot();
    let index: Value = serde_json::from_slice(&snapshot.v3_index().bytes).unwrap_or(Value::Null);
    for group in catalog::builtin().groups() {
        for version in &group.versions {
            let key = paths::group_version_key(&group.name, version);
            let url = index["paths"][&key]["serverRelativeURL"]
                .as_str()
                .unwrap_or_default();
            let etag = snapshot
                .v3_document(&key)
                .map(|d| d.etag.clone())
                .unwrap_or_default();
            assert_eq!(url, format!("/openapi/v3/{key}?hash={etag}"), "{key}");
            assert_eq!(etag.len(), 128, "sha512 hex");
            assert!(etag
                .chars()
                .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()));
        }
    }
    assert!(index["paths"]["api/v1"].is_object());
    assert!(index["paths"]["apis/apps/v1"].is_object());
}

#[test]
fn apps_v1_document_explains_deployment_spec_replicas() {
    let doc = v3_json("apis/apps/v1");
    assert_eq!(doc["openapi"], "3.0.0");
    let deployment = &doc["components"]["schemas"]["io.k8s.api.apps.v1.Deployment"];
    let gvks = deployment["x-kubernetes-group-version-kind"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(gvks.contains(&json!({ "group": "apps", "kind": "Deployment", "version": "v1" })));
    let spec = resolve(&doc, &deployment["properties"]["spec"]);
    assert_eq!(spec["properties"]["replicas"]["type"], "integer");
    // Every reference of the document resolves inside it.
    let text = doc.to_string();
    for piece in text.split("\"#/components/schemas/").skip(1) {
        let name = piece.split('"').next().unwrap_or_default();
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "dangling reference {name}"
        );
    }
    assert!(!text.contains("#/definitions/"));
}

#[test]
fn deployment_operations_match_upstream() {
    let doc = v3_json("apis/apps/v1");
    let item = &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"];
    let patch = &item["patch"];
    assert_eq!(patch["operationId"], "patchAppsV1NamespacedDeployment");
    assert_eq!(patch["x-kubernetes-action"], "patch");
    assert_eq!(
        patch["x-kubernetes-group-version-kind"],
        json!({ "group": "apps", "kind": "Deployment", "version": "v1" })
    );
    let names: Vec<&str> = patch["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(
        names,
        ["dryRun", "fieldManager", "fieldValidation", "force"]
    );
    let shared: Vec<&str> = item["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(shared, ["name", "namespace", "pretty"]);
    assert_eq!(
        patch["requestBody"]["content"]["application/strategic-merge-patch+json"]["schema"]["$ref"],
        "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Patch"
    );
    let collection = &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments"];
    assert_eq!(
        collection["get"]["operationId"],
        "listAppsV1NamespacedDeployment"
    );
    assert_eq!(
        collection["post"]["operationId"],
        "createAppsV1NamespacedDeployment"
    );
    assert_eq!(
        collection["delete"]["operationId"],
        "deletecollectionAppsV1NamespacedDeployment"
    );
    assert_eq!(
        doc["paths"]["/apis/apps/v1/deployments"]["get"]["operationId"],
        "listAppsV1DeploymentForAllNamespaces"
    );
    let scale = &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"];
    assert_eq!(
        scale["put"]["operationId"],
        "replaceAppsV1NamespacedDeploymentScale"
    );
    assert_eq!(
        scale["put"]["x-kubernetes-group-version-kind"]["kind"],
        "Scale"
    );
    assert_eq!(
        scale["put"]["x-kubernetes-group-version-kind"]["group"],
        "autoscaling"
    );
    let watch = &doc["paths"]["/apis/apps/v1/watch/namespaces/{namespace}/deployments"]["get"];
    assert_eq!(watch["operationId"], "watchAppsV1NamespacedDeploymentList");
    assert_eq!(watch["x-kubernetes-action"], "watchlist");
}

#[test]
fn core_connect_and_log_operations() {
    let doc = v3_json("api/v1");
    let exec = &doc["paths"]["/api/v1/namespaces/{namespace}/pods/{name}/exec"];
    assert_eq!(
        exec["get"]["operationId"],
        "connectCoreV1GetNamespacedPodExec"
    );
    assert_eq!(
        exec["post"]["operationId"],
        "connectCoreV1PostNamespacedPodExec"
    );
    let log = &doc["paths"]["/api/v1/namespaces/{namespace}/pods/{name}/log"]["get"];
    assert_eq!(log["operationId"], "readCoreV1NamespacedPodLog");
    assert_eq!(
        log["responses"]["200"]["content"]["text/plain"]["schema"]["type"],
        "string"
    );
    let proxy = &doc["paths"]["/api/v1/namespaces/{namespace}/pods/{name}/proxy/{path}"];
    assert_eq!(
        proxy["head"]["operationId"],
        "connectCoreV1HeadNamespacedPodProxyWithPath"
    );
    assert_eq!(
        doc["paths"]["/api/v1/namespaces"]["post"]["operationId"],
        "createCoreV1Namespace"
    );
}

#[test]
fn v2_json_and_protobuf_agree() {
    let snapshot = service().snapshot();
    let documents = service().v2_documents(&snapshot);
    let json: Value = serde_json::from_slice(&documents.json.bytes).unwrap_or(Value::Null);
    assert_eq!(json["swagger"], "2.0");
    assert_eq!(
        json["info"],
        json!({ "title": "Kubernetes", "version": "v1.33.0" })
    );
    let paths = json["paths"]
        .as_object()
        .map(|p| p.len())
        .unwrap_or_default();
    let definitions = json["definitions"]
        .as_object()
        .map(|d| d.len())
        .unwrap_or_default();
    assert!(paths > 300, "{paths} paths");
    assert!(definitions > 500, "{definitions} definitions");
    assert!(
        json["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
            .is_object()
    );

    let decoded = proto::Document::decode(documents.protobuf.as_ref());
    let decoded = match decoded {
        Ok(d) => d,
        Err(err) => panic!("protobuf does not decode: {err}"),
    };
    assert_eq!(decoded.swagger, "2.0");
    assert_eq!(decoded.paths.as_ref().map(|p| p.path.len()), Some(paths));
    assert_eq!(
        decoded
            .definitions
            .as_ref()
            .map(|d| d.additional_properties.len()),
        Some(definitions)
    );
    // What kubectl's query-parameter verifier reads: the PATCH of a kind lists fieldValidation.
    let patch = decoded
        .paths
        .iter()
        .flat_map(|p| &p.path)
        .find(|p| p.name == "/apis/apps/v1/namespaces/{namespace}/deployments/{name}")
        .and_then(|p| p.value.as_ref())
        .and_then(|item| item.patch.as_ref());
    let patch = patch.cloned().unwrap_or_default();
    let gvk = patch
        .vendor_extension
        .iter()
        .find(|e| e.name == "x-kubernetes-group-version-kind");
    let gvk: BTreeMap<String, String> =
        serde_yaml::from_str(&gvk.and_then(|e| e.value.clone()).unwrap_or_default().yaml)
            .unwrap_or_default();
    assert_eq!(gvk.get("kind").map(String::as_str), Some("Deployment"));
    let has_field_validation = patch.parameters.iter().any(|p| match &p.oneof {
        Some(proto::ParametersItemKind::Parameter(proto::Parameter {
            oneof:
                Some(proto::ParameterKind::NonBodyParameter(proto::NonBodyParameter {
                    oneof: Some(proto::NonBodyParameterKind::QueryParameterSubSchema(q)),
                })),
        })) => q.name == "fieldValidation",
        _ => false,
    });
    assert!(has_field_validation);
    // Re-encoding the decoded message gives the same bytes.
    assert_eq!(decoded.encode_to_vec(), documents.protobuf.to_vec());
}

fn fake_crd_resource() -> ResourceInfo {
    let mut info = catalog::builtin()
        .lookup("apps", "v1", "deployments")
        .map(|info| (**info).clone())
        .unwrap_or_else(|| panic!("no deployments"));
    info.group = "stable.example.com".into();
    info.version = "v1".into();
    info.kind = "CronTab".into();
    info.plural = "crontabs".into();
    info.singular = "crontab".into();
    info.subresources = Vec::new();
    info
}

fn fake_crd_definitions() -> BTreeMap<String, Value> {
    let gvk =
        |kind: &str| json!([{ "group": "stable.example.com", "kind": kind, "version": "v1" }]);
    [
        (
            "com.example.stable.v1.CronTab".to_string(),
            json!({
                "type": "object",
                "properties": {
                    "metadata": { "$ref": "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" },
                    "spec": { "type": "object", "properties": { "cronSpec": { "type": "string" } } }
                },
                "x-kubernetes-group-version-kind": gvk("CronTab")
            }),
        ),
        (
            "com.example.stable.v1.CronTabList".to_string(),
            json!({
                "type": "object",
                "properties": { "items": { "type": "array", "items": { "$ref": "#/definitions/com.example.stable.v1.CronTab" } } },
                "x-kubernetes-group-version-kind": gvk("CronTabList")
            }),
        ),
    ]
    .into_iter()
    .collect()
}

#[test]
fn group_versions_are_added_and_removed_without_touching_the_others() {
    let service = OpenApiService::new(
        catalog::builtin()
            .resources("apps", "v1")
            .map(|info| &**info),
        Arc::new(crate::catalog::definitions::definitions().clone()),
        "v1.33.0",
    );
    let before = service.snapshot();
    let apps_etag = before.v3_document("apis/apps/v1").map(|d| d.etag.clone());
    assert!(apps_etag.is_some());

    let crd = fake_crd_resource();
    service.upsert_group_version(
        "stable.example.com",
        "v1",
        &[&crd],
        vec![Arc::new(DefinitionSet::new(&fake_crd_definitions()))],
    );
    let after = service.snapshot();
    assert_eq!(
        after.v3_document("apis/apps/v1").map(|d| d.etag.clone()),
        apps_etag
    );
    let keys: Vec<&str> = after.group_versions().collect();
    assert_eq!(keys, ["apis/apps/v1", "apis/stable.example.com/v1"]);
    let doc: Value = serde_json::from_slice(
        &after
            .v3_document("apis/stable.example.com/v1")
            .map(|d| d.bytes.clone())
            .unwrap_or_default(),
    )
    .unwrap_or(Value::Null);
    let patch = &doc["paths"]["/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}"]
        ["patch"];
    assert_eq!(
        patch["operationId"],
        "patchStableExampleComV1NamespacedCronTab"
    );
    assert_eq!(
        patch["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/com.example.stable.v1.CronTab"
    );
    assert!(
        doc["components"]["schemas"]["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"].is_object()
    );
    let v2 = service.v2_documents(&after);
    let v2: Value = serde_json::from_slice(&v2.json.bytes).unwrap_or(Value::Null);
    assert!(v2["definitions"]["com.example.stable.v1.CronTab"].is_object());
    assert!(v2["paths"]["/apis/stable.example.com/v1/crontabs"].is_object());

    assert!(service.remove_group_version("stable.example.com", "v1"));
    assert!(!service.remove_group_version("stable.example.com", "v1"));
    let removed = service.snapshot();
    assert!(removed.v3_document("apis/stable.example.com/v1").is_none());
    assert_eq!(removed.v3_index().bytes, before.v3_index().bytes);
}

mod http_api {
    use ::http::{header, Request, StatusCode};
    use axum::body::Body;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;

    fn apps_only() -> Arc<OpenApiService> {
        Arc::new(OpenApiService::new(
            catalog::builtin()
                .resources("apps", "v1")
                .map(|info| &**info),
            Arc::new(crate::catalog::definitions::definitions().clone()),
            "v1.33.0",
        ))
    }

    async fn call(
        service: &Arc<OpenApiService>,
        uri: &str,
        headers: &[(&str, &str)],
    ) -> (StatusCode, ::http::HeaderMap, Vec<u8>) {
        let mut request = Request::get(uri);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Body::empty()).unwrap_or_default();
        let response = match router(service.clone()).oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        let (parts, body) = response.into_parts();
        let bytes = body
            .collect()
            .await
            .map(|b| b.to_bytes().to_vec())
            .unwrap_or_default();
        (parts.status, parts.headers, bytes)
    }

    #[tokio::test]
    async fn v2_serves_json_and_protobuf_and_refuses_the_rest() {
        let service = apps_only();
        let (status, headers, body) = call(&service, "/openapi/v2", &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[header::CONTENT_TYPE], "application/json");
        assert!(headers[header::ETAG]
            .to_str()
            .unwrap_or_default()
            .starts_with('"'));
        assert_eq!(
            serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null)["swagger"],
            "2.0"
        );

        let accept = [(
            "accept",
            "application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
        )];
        let (status, headers, body) = call(&service, "/openapi/v2", &accept).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            headers[header::CONTENT_TYPE],
            "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
        );
        assert_eq!(
            proto::Document::decode(body.as_slice())
                .map(|d| d.swagger)
                .ok()
                .as_deref(),
            Some("2.0")
        );

        let (status, _, _) = call(&service, "/openapi/v2", &[("accept", "text/html")]).await;
        assert_eq!(status, StatusCode::NOT_ACCEPTABLE);
    }

    #[tokio::test]
    async fn v3_index_hash_redirect_and_caching() {
        let service = apps_only();
        let (status, headers, body) = call(&service, "/openapi/v3", &[]).await;
        assert_eq!(status, StatusCode::OK);
        let index: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let url = index["paths"]["apis/apps/v1"]["serverRelativeURL"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let etag = headers[header::ETAG]
            .to_str()
            .unwrap_or_default()
            .to_string();
        let (status, _, _) = call(&service, "/openapi/v3", &[("if-none-match", &etag)]).await;
        assert_eq!(status, StatusCode::NOT_MODIFIED);

        let (status, headers, body) = call(&service, &url, &[("accept", "application/json")]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[header::CACHE_CONTROL], "public, immutable");
        assert!(headers.contains_key(header::EXPIRES));
        assert_eq!(
            serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null)["openapi"],
            "3.0.0"
        );

        let (status, headers, _) = call(&service, "/openapi/v3/apis/apps/v1?hash=STALE", &[]).await;
        assert_eq!(status, StatusCode::MOVED_PERMANENTLY);
        assert_eq!(headers[header::LOCATION].to_str().unwrap_or_default(), url);

        let (status, headers, _) = call(&service, "/openapi/v3/apis/apps/v1", &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(!headers.contains_key(header::CACHE_CONTROL));

        let protobuf_only = [(
            "accept",
            "application/com.github.proto-openapi.spec.v3.v1.0+protobuf",
        )];
        let (status, _, _) = call(&service, "/openapi/v3/apis/apps/v1", &protobuf_only).await;
        assert_eq!(status, StatusCode::NOT_ACCEPTABLE);
        let (status, _, _) = call(&service, "/openapi/v3/apis/nope/v1", &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}
