//! `test/e2e/network/service.go`: the Services conformance tests that need only the API server
//! (no kube-proxy, no endpoints controller).

use std::collections::BTreeMap;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{
    EndpointAddress, EndpointPort, EndpointSubset, Endpoints, Service, ServicePort, ServiceSpec,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::{
    Api, DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams, WatchEvent,
    WatchParams,
};
use serde_json::json;

use crate::common::Apiary;
use crate::shared_apiary::{conformance_tests, namespace};

fn suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .subsec_nanos();
    format!("{:05x}", nanos & 0xfffff)
}

/// `[sig-network] Services should provide secure master service [Conformance]`
/// (test/e2e/network/service.go).
async fn should_provide_secure_master_service(apiary: &Apiary) {
    let client = apiary.client().await;
    let services: Api<Service> = Api::namespaced(client, "default");
    services
        .get("kubernetes")
        .await
        .expect("the kubernetes service");
}

/// `[sig-network] Services should find a service from listing all namespaces [Conformance]`
/// (test/e2e/network/service.go).
async fn should_find_a_service_from_listing_all_namespaces(apiary: &Apiary) {
    let client = apiary.client().await;
    let services: Api<Service> = Api::all(client);
    let list = services
        .list(&ListParams::default())
        .await
        .expect("list services");
    assert!(
        list.items.iter().any(|s| {
            s.metadata.name.as_deref() == Some("kubernetes")
                && s.metadata.namespace.as_deref() == Some("default")
        }),
        "failed to find the kubernetes service in the default namespace"
    );
}

/// `[sig-network] Services should delete a collection of services [Conformance]`
/// (test/e2e/network/service.go).
async fn should_delete_a_collection_of_services(apiary: &Apiary) {
    let client = apiary.client().await;
    let ns = namespace(&client, "services").await;
    let services: Api<Service> = Api::namespaced(client, &ns);
    let tests = [
        (format!("e2e-svc-a-{}", suffix()), "delete", 8001),
        (format!("e2e-svc-b-{}", suffix()), "delete", 8002),
        (format!("e2e-svc-c-{}", suffix()), "keep", 8003),
    ];
    for (name, label, port) in &tests {
        let svc = Service {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                labels: Some(BTreeMap::from([(
                    "e2e-test-service".into(),
                    label.to_string(),
                )])),
                ..Default::default()
            },
            spec: Some(ServiceSpec {
                type_: Some("ClusterIP".into()),
                ports: Some(vec![ServicePort {
                    name: Some("http".into()),
                    protocol: Some("TCP".into()),
                    port: *port,
                    target_port: Some(IntOrString::Int(*port)),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        };
        services
            .create(&PostParams::default(), &svc)
            .await
            .expect("create service");
    }
    let list = services
        .list(&ListParams::default())
        .await
        .expect("list services");
    assert_eq!(
        list.items.len(),
        3,
        "Required count of services out of sync"
    );

    services
        .delete_collection(
            &DeleteParams::default(),
            &ListParams::default().labels("e2e-test-service=delete"),
        )
        .await
        .expect("delete the service collection");
    let list = services
        .list(&ListParams::default())
        .await
        .expect("list services");
    assert_eq!(
        list.items.len(),
        1,
        "Required count of services out of sync"
    );
}

/// `[sig-network] Services should test the lifecycle of an Endpoint [Conformance]`
/// (test/e2e/network/service.go).
async fn should_test_the_lifecycle_of_an_endpoint(apiary: &Apiary) {
    let client = apiary.client().await;
    let ns = namespace(&client, "services").await;
    let endpoints: Api<Endpoints> = Api::namespaced(client.clone(), &ns);
    let all: Api<Endpoints> = Api::all(client);
    let name = "testservice";
    let selector = "test-endpoint-static=true";
    let watch_params = WatchParams {
        label_selector: Some(selector.into()),
        bookmarks: false,
        ..Default::default()
    };
    // Upstream's `watchtools.Until`: a watch from `rv` until `done` holds, within 30 s.
    let until = |rv: String, done: fn(&WatchEvent<Endpoints>) -> bool| {
        let endpoints = endpoints.clone();
        let watch_params = watch_params.clone();
        async move {
            let stream = endpoints
                .watch(&watch_params, &rv)
                .await
                .expect("watch endpoints");
            let mut stream = stream.boxed();
            tokio::time::timeout(Duration::from_secs(30), async {
                while let Some(event) = stream.try_next().await.expect("watch event") {
                    if done(&event) {
                        return;
                    }
                }
                panic!("watch closed");
            })
            .await
            .expect("timed out waiting for the watch event");
        }
    };

    let list = endpoints
        .list(&ListParams::default().labels(selector))
        .await
        .expect("list endpoints");
    let created = Endpoints {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(BTreeMap::from([(
                "test-endpoint-static".into(),
                "true".into(),
            )])),
            ..Default::default()
        },
        subsets: Some(vec![EndpointSubset {
            addresses: Some(vec![EndpointAddress {
                ip: "10.0.0.24".into(),
                ..Default::default()
            }]),
            ports: Some(vec![EndpointPort {
                name: Some("http".into()),
                port: 80,
                protocol: Some("TCP".into()),
                ..Default::default()
            }]),
            ..Default::default()
        }]),
    };
    endpoints
        .create(&PostParams::default(), &created)
        .await
        .expect("create an Endpoint");
    until(
        list.metadata.resource_version.clone().expect("rv"),
        |event| {
            matches!(event, WatchEvent::Added(e)
                if e.metadata.labels.as_ref().is_some_and(|l| l.get("test-endpoint-static").map(String::as_str) == Some("true")))
        },
    )
    .await;

    let list = all
        .list(&ListParams::default().labels(selector))
        .await
        .expect("list all Endpoints");
    let mut found = list
        .items
        .iter()
        .find(|e| {
            e.metadata.name.as_deref() == Some(name) && e.metadata.namespace.as_deref() == Some(&ns)
        })
        .expect("the Endpoint is listed")
        .clone();

    found
        .metadata
        .labels
        .get_or_insert_with(Default::default)
        .insert("test-service".into(), "updated".into());
    endpoints
        .replace(name, &PostParams::default(), &found)
        .await
        .expect("update the Endpoint");
    let got = endpoints.get(name).await.expect("fetch the Endpoint");
    assert_eq!(
        got.metadata.labels.unwrap_or_default()["test-service"],
        "updated"
    );

    let patch = json!({
        "metadata": {"labels": {"test-service": "patched"}},
        "subsets": [{"addresses": [{"ip": "10.0.0.25"}], "ports": [{"name": "http-test", "port": 8080}]}],
    });
    endpoints
        .patch(name, &PatchParams::default(), &Patch::Strategic(&patch))
        .await
        .expect("patch the Endpoint");
    let got = endpoints.get(name).await.expect("fetch the Endpoint");
    assert_eq!(
        got.metadata.labels.unwrap_or_default()["test-service"],
        "patched"
    );
    let subset = &got.subsets.expect("subsets")[0];
    assert_eq!(
        subset.addresses.as_ref().expect("addresses")[0].ip,
        "10.0.0.25"
    );
    let port = &subset.ports.as_ref().expect("ports")[0];
    assert_eq!(port.name.as_deref(), Some("http-test"));
    assert_eq!(port.port, 8080);

    endpoints
        .delete_collection(
            &DeleteParams::default(),
            &ListParams::default().labels(selector),
        )
        .await
        .expect("delete the Endpoint by collection");
    until(
        list.metadata.resource_version.clone().expect("rv"),
        |event| {
            matches!(event, WatchEvent::Deleted(e)
                if e.metadata.labels.as_ref().is_some_and(|l| l.get("test-endpoint-static").map(String::as_str) == Some("true")))
        },
    )
    .await;
    endpoints.get(name).await.expect_err("the Endpoint is gone");
}

conformance_tests!(rocksdb_only {
    should_provide_secure_master_service,
    should_find_a_service_from_listing_all_namespaces,
    should_delete_a_collection_of_services,
    should_test_the_lifecycle_of_an_endpoint,
});
