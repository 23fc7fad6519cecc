use std::sync::Arc;

use axum::body::Body;
use http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

use super::*;
use crate::catalog::builtin;

const V2: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
const V2BETA1: &str = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList";
const KUBECTL_ACCEPT: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";

fn registry() -> Arc<DiscoveryRegistry> {
    Arc::new(DiscoveryRegistry::new(
        builtin(),
        Some("10.0.0.1:6443".into()),
    ))
}

struct Reply {
    status: StatusCode,
    headers: http::HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
    fn header(&self, name: header::HeaderName) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

async fn call(
    registry: &Arc<DiscoveryRegistry>,
    path: &str,
    headers: &[(header::HeaderName, &str)],
) -> Reply {
    let mut request = Request::builder().uri(path);
    for (name, value) in headers {
        request = request.header(name, *value);
    }
    let response = router(registry.clone())
        .oneshot(request.body(Body::empty()).expect("request"))
        .await
        .expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
        .to_vec();
    Reply {
        status,
        headers,
        body,
    }
}

async fn get(path: &str) -> Reply {
    call(&registry(), path, &[]).await
}

#[tokio::test]
async fn api_lists_core_versions_and_server_address() {
    let reply = get("/api").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header(header::CONTENT_TYPE), "application/json");
    assert_eq!(
        reply.json(),
        json!({"kind": "APIVersions", "versions": ["v1"],
               "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "10.0.0.1:6443"}]})
    );
    let by_host = DiscoveryRegistry::new(builtin(), None);
    let reply = call(
        &Arc::new(by_host),
        "/api",
        &[(header::HOST, "example:6443")],
    )
    .await;
    assert_eq!(
        reply.json()["serverAddressByClientCIDRs"][0]["serverAddress"],
        "example:6443"
    );
}

#[tokio::test]
async fn apis_lists_groups_in_upstream_order() {
    let body = get("/apis").await.json();
    assert_eq!(
        (body["kind"].as_str(), body["apiVersion"].as_str()),
        (Some("APIGroupList"), Some("v1"))
    );
    let groups = body["groups"].as_array().expect("groups");
    assert_eq!(groups[0]["name"], "apps");
    assert_eq!(groups.len(), 17);
    assert!(groups[0].get("kind").is_none());
    let autoscaling = groups
        .iter()
        .find(|g| g["name"] == "autoscaling")
        .expect("autoscaling");
    assert_eq!(
        *autoscaling,
        json!({"name": "autoscaling",
               "versions": [{"groupVersion": "autoscaling/v2", "version": "v2"}, {"groupVersion": "autoscaling/v1", "version": "v1"}],
               "preferredVersion": {"groupVersion": "autoscaling/v2", "version": "v2"}})
    );
    assert_eq!(get("/apis/").await.json(), body);
}

#[tokio::test]
async fn api_group_document() {
    let body = get("/apis/apps").await.json();
    assert_eq!(
        body,
        json!({"kind": "APIGroup", "apiVersion": "v1", "name": "apps",
               "versions": [{"groupVersion": "apps/v1", "version": "v1"}],
               "preferredVersion": {"groupVersion": "apps/v1", "version": "v1"}})
    );
}

#[tokio::test]
async fn resource_lists_match_upstream_shape() {
    let core = get("/api/v1").await.json();
    assert_eq!(core["kind"], "APIResourceList");
    assert!(core.get("apiVersion").is_none());
    assert_eq!(core["groupVersion"], "v1");
    let resources = core["resources"].as_array().expect("resources");
    assert_eq!(
        resources[0],
        json!({"name": "bindings", "singularName": "binding", "namespaced": true, "kind": "Binding", "verbs": ["create"]})
    );
    let pods = resources
        .iter()
        .find(|r| r["name"] == "pods")
        .expect("pods");
    assert_eq!(
        *pods,
        json!({"name": "pods", "singularName": "pod", "namespaced": true, "kind": "Pod",
               "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
               "shortNames": ["po"], "categories": ["all"], "storageVersionHash": "xPOwRZ+Yhw8="})
    );
    let eviction = resources
        .iter()
        .find(|r| r["name"] == "pods/eviction")
        .expect("eviction");
    assert_eq!(
        *eviction,
        json!({"name": "pods/eviction", "singularName": "", "namespaced": true, "group": "policy", "version": "v1",
               "kind": "Eviction", "verbs": ["create"]})
    );
    let names: Vec<&str> = resources
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted);
    assert!(names
        .windows(2)
        .any(|w| w == ["pods/status", "podtemplates"]));

    let apps = get("/apis/apps/v1").await.json();
    assert_eq!(
        (apps["apiVersion"].as_str(), apps["groupVersion"].as_str()),
        (Some("v1"), Some("apps/v1"))
    );
    let scale = apps["resources"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["name"] == "deployments/scale").cloned());
    assert_eq!(
        scale,
        Some(
            json!({"name": "deployments/scale", "singularName": "", "namespaced": true, "group": "autoscaling",
                    "version": "v1", "kind": "Scale", "verbs": ["get", "patch", "update"]})
        )
    );
}

#[tokio::test]
async fn unknown_groups_and_versions_are_404() {
    for path in [
        "/apis/nope",
        "/apis/nope/v1",
        "/apis/apps/v2",
        "/api/v2",
        "/apis/batch/v1beta1",
    ] {
        let reply = get(path).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        let body = reply.json();
        assert_eq!(
            (
                body["kind"].as_str(),
                body["reason"].as_str(),
                body["code"].as_i64()
            ),
            (Some("Status"), Some("NotFound"), Some(404))
        );
    }
}

#[tokio::test]
async fn aggregated_discovery_content_negotiation() {
    let registry = registry();
    let cases: &[(&str, Option<&str>)] = &[
        (V2, Some(V2)),
        (V2BETA1, Some(V2BETA1)),
        (KUBECTL_ACCEPT, Some(V2)),
        ("application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json", Some(V2BETA1)),
        ("application/json;q=0.9,application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList", Some(V2)),
        ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList;q=0.5,application/json", None),
        ("application/json;g=meta.k8s.io;v=v1;as=Table,application/json", None),
        ("application/json;g=apidiscovery.k8s.io;v=v3;as=APIGroupDiscoveryList,application/json", None),
        ("application/json, */*", None),
        ("*/*", None),
    ];
    for &(accept, aggregated) in cases {
        for path in ["/api", "/apis"] {
            let reply = call(&registry, path, &[(header::ACCEPT, accept)]).await;
            assert_eq!(reply.status, StatusCode::OK, "{accept}");
            match aggregated {
                Some(content_type) => {
                    assert_eq!(reply.header(header::CONTENT_TYPE), content_type, "{accept}");
                    assert_eq!(reply.json()["kind"], "APIGroupDiscoveryList", "{accept}");
                    assert!(!reply.header(header::ETAG).is_empty());
                    assert_eq!(reply.header(header::VARY), "Accept");
                }
                None => {
                    assert_eq!(
                        reply.header(header::CONTENT_TYPE),
                        "application/json",
                        "{accept}"
                    );
                    assert_ne!(reply.json()["kind"], "APIGroupDiscoveryList", "{accept}");
                }
            }
        }
    }
    let yaml = call(
        &registry,
        "/apis/apps",
        &[(header::ACCEPT, "application/yaml")],
    )
    .await;
    assert_eq!(yaml.header(header::CONTENT_TYPE), "application/yaml");
    assert!(String::from_utf8_lossy(&yaml.body).contains("kind: APIGroup"));
    let refused = call(
        &registry,
        "/apis/apps/v1",
        &[(header::ACCEPT, "application/vnd.kubernetes.protobuf")],
    )
    .await;
    assert_eq!(refused.status, StatusCode::NOT_ACCEPTABLE);
    let aggregated_on_group = call(&registry, "/apis/apps/v1", &[(header::ACCEPT, V2)]).await;
    assert_eq!(aggregated_on_group.status, StatusCode::NOT_ACCEPTABLE);
}

#[tokio::test]
async fn aggregated_documents_have_upstream_shape() {
    let registry = registry();
    let core = call(&registry, "/api", &[(header::ACCEPT, V2)])
        .await
        .json();
    assert_eq!(core["apiVersion"], "apidiscovery.k8s.io/v2");
    assert_eq!(core["metadata"], json!({}));
    let items = core["items"].as_array().expect("items");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["metadata"], json!({"creationTimestamp": null}));
    let version = &items[0]["versions"][0];
    assert_eq!(
        (version["version"].as_str(), version["freshness"].as_str()),
        (Some("v1"), Some("Current"))
    );
    let pods = version["resources"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["resource"] == "pods").cloned())
        .expect("pods");
    assert_eq!(
        pods["responseKind"],
        json!({"group": "", "version": "v1", "kind": "Pod"})
    );
    assert_eq!(
        (pods["scope"].as_str(), pods["singularResource"].as_str()),
        (Some("Namespaced"), Some("pod"))
    );
    let subresources = pods["subresources"].as_array().expect("subresources");
    assert_eq!(subresources.len(), 10);
    let eviction = subresources
        .iter()
        .find(|s| s["subresource"] == "eviction")
        .expect("eviction");
    assert_eq!(
        *eviction,
        json!({"subresource": "eviction", "responseKind": {"group": "policy", "version": "v1", "kind": "Eviction"}, "verbs": ["create"]})
    );
    assert!(version["resources"].as_array().is_some_and(|r| r
        .iter()
        .all(|r| !r["resource"].as_str().unwrap_or("/").contains('/'))));

    let apis = call(&registry, "/apis", &[(header::ACCEPT, V2BETA1)])
        .await
        .json();
    assert_eq!(apis["apiVersion"], "apidiscovery.k8s.io/v2beta1");
    let names: Vec<&str> = apis["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|g| g["metadata"]["name"].as_str())
        .collect();
    assert_eq!(names.first(), Some(&"apps"));
    assert_eq!(names.len(), 17);
    let autoscaling = apis["items"].as_array().and_then(|i| {
        i.iter()
            .find(|g| g["metadata"]["name"] == "autoscaling")
            .cloned()
    });
    let versions: Vec<Value> = autoscaling.expect("autoscaling")["versions"]
        .as_array()
        .expect("versions")
        .iter()
        .map(|v| v["version"].clone())
        .collect();
    assert_eq!(versions, [json!("v2"), json!("v1")]);
    let deployments = apis["items"][0]["versions"][0]["resources"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["resource"] == "deployments").cloned())
        .expect("deployments");
    assert_eq!(
        deployments["responseKind"],
        json!({"group": "apps", "version": "v1", "kind": "Deployment"})
    );
    assert_eq!(deployments["shortNames"], json!(["deploy"]));
    assert_eq!(deployments["categories"], json!(["all"]));
}

#[tokio::test]
async fn etag_and_not_modified() {
    let registry = registry();
    let first = call(&registry, "/apis", &[(header::ACCEPT, V2)]).await;
    let etag = first.header(header::ETAG).to_string();
    assert!(
        etag.starts_with('"') && etag.ends_with('"') && etag.len() == 130,
        "{etag}"
    );
    assert_eq!(first.header(header::CACHE_CONTROL), "public");
    let cached = call(
        &registry,
        "/apis",
        &[(header::ACCEPT, V2), (header::IF_NONE_MATCH, &etag)],
    )
    .await;
    assert_eq!(cached.status, StatusCode::NOT_MODIFIED);
    assert!(cached.body.is_empty());
    assert_eq!(cached.header(header::ETAG), etag);
    let stale = call(
        &registry,
        "/apis",
        &[(header::ACCEPT, V2), (header::IF_NONE_MATCH, "\"other\"")],
    )
    .await;
    assert_eq!(stale.status, StatusCode::OK);
    let core = call(&registry, "/api", &[(header::ACCEPT, V2)]).await;
    assert_ne!(core.header(header::ETAG), etag);
}

fn widget_document(version: &str, priority: i32) -> GroupVersionDocument {
    GroupVersionDocument {
        group: "example.com".into(),
        version: version.into(),
        priority: ApiServicePriority {
            group: 1000,
            version: priority,
        },
        resources: vec![
            APIResource {
                name: "widgets".into(),
                singular_name: "widget".into(),
                namespaced: true,
                kind: "Widget".into(),
                verbs: vec!["get".into(), "list".into()],
                ..APIResource::default()
            },
            APIResource {
                name: "widgets/status".into(),
                namespaced: true,
                kind: "Widget".into(),
                verbs: vec!["get".into()],
                ..APIResource::default()
            },
        ],
        freshness: FRESHNESS_CURRENT.into(),
    }
}

#[tokio::test]
async fn dynamic_groups_are_served_and_change_the_etag() {
    let registry = registry();
    let before = call(&registry, "/apis", &[(header::ACCEPT, V2)])
        .await
        .header(header::ETAG)
        .to_string();
    registry.set_source(
        DiscoverySource::CustomResources,
        vec![widget_document("v1", 100), widget_document("v1beta1", 200)],
    );

    let group = get_with(&registry, "/apis/example.com").await.json();
    assert_eq!(group["preferredVersion"]["version"], "v1beta1");
    let list = get_with(&registry, "/apis/example.com/v1").await.json();
    assert_eq!(list["resources"][1]["name"], "widgets/status");
    let apis = get_with(&registry, "/apis").await.json();
    assert_eq!(
        apis["groups"]
            .as_array()
            .and_then(|g| g.last())
            .map(|g| g["name"].clone()),
        Some(json!("example.com"))
    );

    let after = call(&registry, "/apis", &[(header::ACCEPT, V2)]).await;
    assert_ne!(after.header(header::ETAG), before);
    let items = after.json()["items"].clone();
    let widgets = items
        .as_array()
        .and_then(|i| i.last().cloned())
        .expect("example.com");
    assert_eq!(
        widgets["versions"][0]["resources"][0]["subresources"][0]["subresource"],
        "status"
    );

    // A CRD cannot shadow a built-in group/version; an aggregated APIService can.
    let mut shadow = widget_document("v1", 15);
    shadow.group = "apps".into();
    registry.add_group_version(DiscoverySource::CustomResources, shadow.clone());
    assert!(
        get_with(&registry, "/apis/apps/v1").await.json()["resources"]
            .as_array()
            .is_some_and(|r| r.len() > 2)
    );
    registry.add_group_version(DiscoverySource::Aggregator, shadow);
    assert_eq!(
        get_with(&registry, "/apis/apps/v1").await.json()["resources"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    registry.remove_group_version(DiscoverySource::Aggregator, "apps", "v1");
    assert!(
        get_with(&registry, "/apis/apps/v1").await.json()["resources"]
            .as_array()
            .is_some_and(|r| r.len() > 2)
    );

    registry.remove_group(DiscoverySource::CustomResources, "example.com");
    assert_eq!(
        get_with(&registry, "/apis/example.com").await.status,
        StatusCode::NOT_FOUND
    );
}

async fn get_with(registry: &Arc<DiscoveryRegistry>, path: &str) -> Reply {
    call(registry, path, &[]).await
}

#[test]
fn negotiation_table() {
    let n = |accept: &str, aggregated: bool| {
        negotiate(
            Some(&http::HeaderValue::from_str(accept).expect("header")),
            aggregated,
        )
    };
    assert_eq!(negotiate(None, true), Some(MediaType::Json));
    assert_eq!(n("", true), Some(MediaType::Json));
    assert_eq!(n("application/yaml", false), Some(MediaType::Yaml));
    assert_eq!(n("text/html", false), None);
    assert_eq!(
        n("text/html, application/*;q=0.1", false),
        Some(MediaType::Json)
    );
    assert_eq!(n("application/json;q=0", false), None);
    assert_eq!(n(V2, false), None);
    assert_eq!(
        n(V2, true),
        Some(MediaType::Aggregated {
            version: AggregatedVersion::V2,
            yaml: false
        })
    );
    assert_eq!(n("application/json;stream=watch", false), None);
    assert_eq!(n("application/json;pretty=1", false), Some(MediaType::Json));
}

#[tokio::test]
async fn paths_with_a_trailing_slash_answer_as_without() {
    for path in ["/api", "/api/v1", "/apis", "/apis/apps", "/apis/apps/v1"] {
        let plain = get(path).await;
        let slashed = get(&format!("{path}/")).await;
        assert_eq!(plain.status, StatusCode::OK, "{path}");
        assert_eq!(slashed.status, StatusCode::OK, "{path}/");
        assert_eq!(slashed.json(), plain.json(), "{path}/");
    }
    assert_eq!(get("/apis/nope/").await.status, StatusCode::NOT_FOUND);
    assert_eq!(get("/apis/apps/v2/").await.status, StatusCode::NOT_FOUND);
}
