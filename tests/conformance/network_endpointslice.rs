//! `test/e2e/network/endpointslice.go`: the EndpointSlice conformance tests that need only the API
//! server (the `kubernetes` service's Endpoints and EndpointSlice, which Apiary's bootstrap
//! controller maintains as kube-apiserver's does; the EndpointSlice API operations).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{Endpoints, Service};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointSlice};
use kube::api::{
    Api, DeleteParams, ListParams, ObjectList, ObjectMeta, Patch, PatchParams, PostParams,
    WatchEvent,
};
use serde_json::json;

use crate::common::Apiary;
use crate::shared_apiary::{conformance_tests, namespace};
use crate::upstream_steps::{expect_discovery, next_event, watch};

/// Upstream's `framework.TestContext.ClusterIsIPv6()`: the framework takes the cluster's IP family
/// from the `kubernetes.default` service's cluster IP.
fn cluster_is_ipv6(kubernetes: &Service) -> bool {
    kubernetes
        .spec
        .as_ref()
        .and_then(|s| s.cluster_ip.as_deref())
        .is_some_and(|ip| ip.contains(':'))
}

/// Upstream's `endpointSlicesEqual`: the Endpoints' addresses (ready and not ready) and ports
/// equal, as sets, those of the EndpointSlices of the cluster's IP family.
fn endpoint_slices_equal(
    endpoints: &Endpoints,
    slices: &ObjectList<EndpointSlice>,
    ipv6: bool,
) -> bool {
    let mut ep_addresses = BTreeSet::new();
    let mut ep_ports = BTreeSet::new();
    for subset in endpoints.subsets.iter().flatten() {
        for address in subset.addresses.iter().flatten() {
            ep_addresses.insert(address.ip.clone());
        }
        for address in subset.not_ready_addresses.iter().flatten() {
            ep_addresses.insert(address.ip.clone());
        }
        for port in subset.ports.iter().flatten() {
            ep_ports.insert(port.port);
        }
    }

    // Endpoints are single stack; only the slices of the same family compare.
    let address_type = if ipv6 { "IPv6" } else { "IPv4" };
    let mut slice_addresses = BTreeSet::new();
    let mut slice_ports = BTreeSet::new();
    for slice in &slices.items {
        if slice.address_type != address_type {
            continue;
        }
        for endpoint in &slice.endpoints {
            slice_addresses.extend(endpoint.addresses.iter().cloned());
        }
        for port in slice.ports.iter().flatten() {
            if let Some(p) = port.port {
                slice_ports.insert(p);
            }
        }
    }
    slice_addresses == ep_addresses && slice_ports == ep_ports
}

/// `[sig-network] EndpointSlice should have Endpoints and EndpointSlices pointing to API Server [Conformance]`
/// (test/e2e/network/endpointslice.go).
async fn should_have_endpoints_and_endpoint_slices_pointing_to_api_server(apiary: &Apiary) {
    let client = apiary.client().await;
    let namespace = "default";
    let name = "kubernetes";

    // verify the "kubernetes.default" service exists
    let services: Api<Service> = Api::namespaced(client.clone(), namespace);
    let kubernetes = services.get(name).await.unwrap_or_else(|e| {
        panic!(
            "error obtaining API server \"kubernetes\" Service resource on \"default\" namespace: {e}"
        )
    });

    // verify the Endpoints for the API servers exist
    let endpoints_api: Api<Endpoints> = Api::namespaced(client.clone(), namespace);
    let endpoints = endpoints_api.get(name).await.unwrap_or_else(|e| {
        panic!(
            "error obtaining API server \"kubernetes\" Endpoint resource on \"default\" namespace: {e}"
        )
    });
    let subsets = endpoints.subsets.clone().unwrap_or_default();
    assert!(
        !subsets.is_empty(),
        "Expected at least 1 subset in endpoints, got {}: {subsets:?}",
        subsets.len()
    );

    // verify the EndpointSlices for the API servers exist
    let slices_api: Api<EndpointSlice> = Api::namespaced(client.clone(), namespace);
    let slices = slices_api
        .list(&ListParams::default().labels(&format!("kubernetes.io/service-name={name}")))
        .await
        .unwrap_or_else(|e| {
            panic!(
                "error obtaining API server \"kubernetes\" EndpointSlice resource on \"default\" namespace: {e}"
            )
        });
    assert!(
        !slices.items.is_empty(),
        "Expected at least 1 EndpointSlice, got 0: {subsets:?}"
    );

    assert!(
        endpoint_slices_equal(&endpoints, &slices, cluster_is_ipv6(&kubernetes)),
        "Expected EndpointSlice to have same addresses and port as Endpoints, got {endpoints:?}: {:?}",
        slices.items
    );
}

/// `[sig-network] EndpointSlice should support creating EndpointSlice API operations [Conformance]`
/// (test/e2e/network/endpointslice.go).
async fn should_support_creating_endpoint_slice_api_operations(apiary: &Apiary) {
    let client = apiary.client().await;
    // f.UniqueName: the test namespace's name.
    let ns = namespace(&client, "endpointslice").await;
    let slices: Api<EndpointSlice> = Api::namespaced(client.clone(), &ns);
    let selector = format!("special-label={ns}");
    let selected = ListParams::default().labels(&selector);

    let template = EndpointSlice {
        metadata: ObjectMeta {
            generate_name: Some("e2e-example-ing".into()),
            labels: Some(BTreeMap::from([("special-label".into(), ns.clone())])),
            ..Default::default()
        },
        address_type: "IPv4".into(),
        endpoints: vec![
            Endpoint {
                addresses: vec!["1.2.3.4".into(), "5.6.7.8".into()],
                ..Default::default()
            },
            Endpoint {
                addresses: vec!["2.2.3.4".into(), "6.6.7.8".into()],
                ..Default::default()
            },
        ],
        ..Default::default()
    };

    // getting /apis, /apis/discovery.k8s.io, /apis/discovery.k8s.io/v1
    expect_discovery(&client, "discovery.k8s.io", "v1", &["endpointslices"]).await;

    // creating
    let pp = PostParams::default();
    slices.create(&pp, &template).await.expect("create");
    slices.create(&pp, &template).await.expect("create");
    let created = slices.create(&pp, &template).await.expect("create");
    let name = created.metadata.name.clone().expect("generated name");

    // getting
    let queried = slices.get(&name).await.expect("get");
    assert_eq!(queried.metadata.uid, created.metadata.uid);

    // listing
    let list = slices.list(&selected).await.expect("list");
    assert_eq!(list.items.len(), 3, "filtered list should have 3 items");

    // watching
    let mut events = watch(
        &slices,
        &selector,
        list.metadata.resource_version.as_deref().expect("list rv"),
    )
    .await;

    // cluster-wide listing
    let cluster: Api<EndpointSlice> = Api::all(client.clone());
    let cluster_list = cluster.list(&selected).await.expect("cluster-wide list");
    assert_eq!(
        cluster_list.items.len(),
        3,
        "filtered list should have 3 items"
    );

    // cluster-wide watching (started, then left unused, as upstream does)
    let cluster_events = watch(
        &cluster,
        &selector,
        list.metadata.resource_version.as_deref().expect("list rv"),
    )
    .await;
    drop(cluster_events);

    // patching
    let patched = slices
        .patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {"patched": "true"}}})),
        )
        .await
        .expect("patch");
    let annotation = |eps: &EndpointSlice, key: &str| {
        eps.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(key))
            .cloned()
    };
    assert_eq!(
        annotation(&patched, "patched").as_deref(),
        Some("true"),
        "patched object should have the applied annotation"
    );

    // updating (retry on conflict)
    let mut updated = None;
    for _ in 0..5 {
        let mut to_update = slices.get(&name).await.expect("get");
        to_update
            .metadata
            .annotations
            .get_or_insert_with(Default::default)
            .insert("updated".into(), "true".into());
        match slices.replace(&name, &pp, &to_update).await {
            Ok(object) => {
                updated = Some(object);
                break;
            }
            Err(kube::Error::Api(s)) if s.code == 409 => continue,
            Err(e) => panic!("update: {e}"),
        }
    }
    let updated = updated.expect("updated without a conflict");
    assert_eq!(
        annotation(&updated, "updated").as_deref(),
        Some("true"),
        "updated object should have the applied annotation"
    );

    // waiting for watch events with expected annotations
    loop {
        match next_event(&mut events).await {
            WatchEvent::Modified(eps) => {
                if annotation(&eps, "patched").as_deref() == Some("true") {
                    break;
                }
            }
            other => panic!("expected a MODIFIED event, got {other:?}"),
        }
    }
    drop(events);

    // deleting
    slices
        .delete(&name, &DeleteParams::default())
        .await
        .expect("delete");
    match slices.get(&name).await {
        Err(kube::Error::Api(s)) if s.code == 404 => {}
        other => panic!("expected 404, got {other:?}"),
    }
    let list = slices.list(&selected).await.expect("list");
    assert_eq!(list.items.len(), 2, "filtered list should have 2 items");
    for eps in &list.items {
        assert!(
            !(eps.metadata.namespace == created.metadata.namespace
                && eps.metadata.name == created.metadata.name),
            "listing after deleting createdEPS"
        );
    }

    // deleting a collection
    slices
        .delete_collection(&DeleteParams::default(), &selected)
        .await
        .expect("delete collection");
    let list = slices.list(&selected).await.expect("list");
    assert!(list.items.is_empty(), "filtered list should have 0 items");
}

conformance_tests!(rocksdb_only {
    should_have_endpoints_and_endpoint_slices_pointing_to_api_server,
    should_support_creating_endpoint_slice_api_operations,
});
