use std::collections::HashSet;
use std::sync::Arc;

use serde_json::{json, Value};

use super::ip_allocator::IpRange;
use super::port_allocator::{PortBitmap, PortRequest};
use super::strategy::{set_defaults, validate_service};
use super::*;
use crate::catalog;
use crate::registry::options::{DeleteOptions, WriteOptions};
use crate::registry::store::StoreConfig;
use crate::registry::strategy::Strategy;
use crate::registry::test_support;

#[test]
fn ip_range_excludes_network_and_broadcast() {
    let range = IpRange::parse("10.0.0.0/24").expect("range");
    assert_eq!(range.first_ip().to_string(), "10.0.0.1");
    assert!(!range.contains("10.0.0.0".parse().unwrap()));
    assert!(!range.contains("10.0.0.255".parse().unwrap()));
    assert!(range.contains("10.0.0.254".parse().unwrap()));
    assert!(!range.contains("10.0.1.1".parse().unwrap()));
    assert!(range.in_prefix("10.0.0.255".parse().unwrap()));
    assert!(range.in_prefix("10.0.0.0".parse().unwrap()));
    assert!(!range.in_prefix("10.0.1.0".parse().unwrap()));
    let mut taken: HashSet<_> = HashSet::new();
    for _ in 0..254 {
        let ip = range.first_free(&taken).expect("a free address");
        assert!(range.contains(ip), "{ip}");
        assert!(taken.insert(ip), "{ip} handed out twice");
    }
    assert_eq!(range.first_free(&taken), None, "the range is full");
    assert!(IpRange::parse("10.0.0.0/32").is_err());
}

#[test]
fn bitmap_round_trips_through_the_range_allocation() {
    let mut bitmap = PortBitmap::new(30000, 2768);
    for port in [30000, 30007, 30008, 31000, 32767] {
        assert!(bitmap.set(port));
    }
    assert!(!bitmap.set(29999) && !bitmap.set(32768));
    let stored = bitmap.to_range_allocation();
    assert_eq!(stored["range"], "30000-32767");
    assert_eq!(stored["kind"], "RangeAllocation");
    // Bits 0, 7 and 8 set: the low bytes of the big-endian integer are 0x01 0x81.
    let data = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        stored["data"].as_str().unwrap(),
    )
    .unwrap();
    assert_eq!(&data[data.len() - 2..], &[0x01, 0x81]);
    let back = PortBitmap::from_range_allocation(30000, 2768, &stored);
    assert_eq!(back.ports(), vec![30000, 30007, 30008, 31000, 32767]);
}

#[test]
fn bitmap_hands_out_every_port_once() {
    let mut bitmap = PortBitmap::new(30000, 300);
    let mut seen = HashSet::new();
    while let Some(port) = bitmap.free_port() {
        assert!(seen.insert(port));
        bitmap.set(port);
    }
    assert_eq!(seen.len(), 300);
}

#[test]
fn defaults_match_upstream() {
    let mut svc =
        json!({"metadata": {"name": "a"}, "spec": {"type": "NodePort", "ports": [{"port": 80}]}});
    set_defaults(&mut svc);
    assert_eq!(
        svc["spec"],
        json!({
            "type": "NodePort",
            "sessionAffinity": "None",
            "externalTrafficPolicy": "Cluster",
            "internalTrafficPolicy": "Cluster",
            "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}],
        })
    );
    let mut client_ip = json!({"spec": {"sessionAffinity": "ClientIP", "ports": [{"port": 1, "targetPort": "web"}]}});
    set_defaults(&mut client_ip);
    assert_eq!(
        client_ip["spec"]["sessionAffinityConfig"]["clientIP"]["timeoutSeconds"],
        10800
    );
    assert_eq!(client_ip["spec"]["ports"][0]["targetPort"], "web");
    assert!(client_ip["spec"].get("externalTrafficPolicy").is_none());
}

#[test]
fn validation_messages() {
    let mut svc = json!({"metadata": {"name": "a"}, "spec": {
        "type": "Bogus",
        "ports": [{"port": 0}, {"name": "x", "port": 80, "protocol": "ICMP"}, {"name": "x", "port": 81}],
        "selector": {"bad key": "v"},
    }});
    set_defaults(&mut svc);
    let messages: Vec<String> = validate_service(&svc)
        .iter()
        .map(|e| e.to_string())
        .collect();
    let qualified = &crate::api::names::is_qualified_name("bad key")[0];
    let expected: Vec<String> = vec![
        "spec.type: Unsupported value: \"Bogus\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\"".to_string(),
        "spec.ports[0].name: Required value".to_string(),
        "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive".to_string(),
        "spec.ports[0].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive".to_string(),
        "spec.ports[1].protocol: Unsupported value: \"ICMP\": supported values: \"SCTP\", \"TCP\", \"UDP\"".to_string(),
        "spec.ports[2].name: Duplicate value: \"x\"".to_string(),
        format!("spec.selector: Invalid value: \"bad key\": {qualified}"),
    ];
    assert_eq!(messages, expected);
}

#[test]
fn updates_keep_allocated_values_and_drop_them_on_type_change() {
    let info = catalog::builtin()
        .lookup("", "v1", "services")
        .expect("services");
    let strategy =
        crate::registry::resources::RulesStrategy::new(RULES, info.subresource("status").is_some());
    let old = json!({"metadata": {"name": "a"}, "spec": {
        "type": "NodePort", "clusterIP": "10.0.0.5", "clusterIPs": ["10.0.0.5"],
        "ports": [{"name": "http", "port": 80, "nodePort": 30080}],
    }});
    // A client replacing the object without the allocated values keeps them.
    let mut replaced = json!({"metadata": {"name": "a"}, "spec": {"type": "NodePort", "ports": [{"name": "http", "port": 80}]}});
    strategy.prepare_for_update(&mut replaced, &old);
    assert_eq!(replaced["spec"]["clusterIPs"], json!(["10.0.0.5"]));
    assert_eq!(replaced["spec"]["ports"][0]["nodePort"], 30080);
    assert!(strategy.validate_update(&replaced, &old).is_empty());
    // NodePort -> ClusterIP drops the NodePorts.
    let mut to_cluster_ip = old.clone();
    to_cluster_ip["spec"]["type"] = json!("ClusterIP");
    strategy.prepare_for_update(&mut to_cluster_ip, &old);
    assert!(to_cluster_ip["spec"]["ports"][0].get("nodePort").is_none());
    assert!(to_cluster_ip["spec"].get("externalTrafficPolicy").is_none());
    // Changing the ClusterIP is refused as upstream.
    let mut moved = old.clone();
    moved["spec"]["clusterIP"] = json!("10.0.0.9");
    strategy.prepare_for_update(&mut moved, &old);
    let errors: Vec<String> = strategy
        .validate_update(&moved, &old)
        .iter()
        .map(|e| e.to_string())
        .collect();
    assert_eq!(
        errors,
        vec!["spec.clusterIPs[0]: Invalid value: []string{\"10.0.0.9\"}: may not change once set"]
    );
}

struct Cluster {
    services: Arc<Store>,
    ip_addresses: Arc<Store>,
    allocator: Arc<ServiceAllocator>,
}

async fn cluster(cidr: &str, first_port: u16, ports: u32) -> Cluster {
    let storage = test_support::memory_storage();
    let ip_addresses =
        test_support::builtin_store(&storage, ("networking.k8s.io", "v1", "ipaddresses"));
    let allocator = Arc::new(ServiceAllocator::new(
        IpRange::parse(cidr).expect("cidr"),
        ip_addresses.clone(),
        storage.clone(),
        first_port,
        ports,
    ));
    let services = test_support::builtin_store_with(
        &storage,
        ("", "v1", "services"),
        StoreConfig {
            write_hook: Some(Arc::new(ServiceAllocationHook(allocator.clone()))),
            ..StoreConfig::default()
        },
    );
    Cluster {
        services,
        ip_addresses,
        allocator,
    }
}

fn node_port_service(name: &str, node_port: Option<u16>) -> Value {
    let mut port = json!({"port": 80});
    if let Some(n) = node_port {
        port["nodePort"] = json!(n);
    }
    json!({"metadata": {"name": name, "namespace": "default"}, "spec": {"type": "NodePort", "ports": [port]}})
}

#[tokio::test]
async fn allocation_exhaustion_and_release_through_the_store() {
    let c = cluster("10.0.0.0/29", 30000, 3).await;
    let opts = WriteOptions::default();
    let mut ips = HashSet::new();
    let mut ports = HashSet::new();
    for name in ["a", "b", "c"] {
        let created = c
            .services
            .create(Some("default"), node_port_service(name, None), &opts)
            .await
            .expect("create");
        assert_eq!(created["spec"]["ipFamilies"], json!(["IPv4"]));
        assert_eq!(created["spec"]["ipFamilyPolicy"], "SingleStack");
        assert!(ips.insert(created["spec"]["clusterIP"].as_str().unwrap().to_string()));
        assert!(ports.insert(created["spec"]["ports"][0]["nodePort"].as_u64().unwrap()));
        let ip = created["spec"]["clusterIP"].as_str().unwrap();
        let ip_address = c
            .ip_addresses
            .get(None, ip)
            .await
            .expect("IPAddress exists");
        assert_eq!(ip_address["spec"]["parentRef"]["name"], name);
    }
    let full = c
        .services
        .create(Some("default"), node_port_service("d", None), &opts)
        .await
        .expect_err("no NodePort left");
    assert_eq!(full.status.code, 500);
    assert_eq!(
        full.status.message,
        "Internal error occurred: failed to allocate a nodePort: range is full"
    );
    // The ClusterIP taken for the failed create was released again.
    let listed = c
        .ip_addresses
        .list(None, &Default::default())
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 3, "no leaked IPAddress");
    let taken = *ports.iter().next().unwrap() as u16;
    let conflict = c
        .services
        .create(Some("default"), node_port_service("e", Some(taken)), &opts)
        .await
        .expect_err("taken");
    assert_eq!(
        conflict.status.message,
        format!("Service \"e\" is invalid: spec.ports[0].nodePort: Invalid value: {taken}: provided port is already allocated")
    );
    let outside = c
        .services
        .create(Some("default"), node_port_service("f", Some(31000)), &opts)
        .await
        .expect_err("outside");
    assert_eq!(
        outside.status.message,
        "Service \"f\" is invalid: spec.ports[0].nodePort: Invalid value: 31000: provided port is not in the valid range. The range of valid ports is 30000-30002"
    );
    c.services
        .delete(Some("default"), "a", &DeleteOptions::default(), &opts)
        .await
        .expect("delete");
    let again = c
        .services
        .create(Some("default"), node_port_service("g", None), &opts)
        .await
        .expect("the freed port and IP are reusable");
    assert!(again["spec"]["ports"][0]["nodePort"].as_u64().is_some());
    // The /29 has 6 addresses; 3 are in use: asking for a taken one is refused as upstream.
    let used = again["spec"]["clusterIP"].as_str().unwrap().to_string();
    let mut same_ip = json!({"metadata": {"name": "h", "namespace": "default"}, "spec": {"clusterIP": used, "ports": [{"port": 80}]}});
    same_ip["spec"]["clusterIPs"] = json!([used]);
    let err = c
        .services
        .create(Some("default"), same_ip, &opts)
        .await
        .expect_err("ip taken");
    assert_eq!(
        err.status.message,
        format!("Service \"h\" is invalid: spec.clusterIPs: Invalid value: []string{{\"{used}\"}}: failed to allocate IP {used}: provided IP is already allocated")
    );
    // NodePort -> ClusterIP releases the port.
    let before = c.allocator.ports().read().await.unwrap().0.ports().len();
    c.services
        .guaranteed_update(Some("default"), "g", &opts, |current| {
            let mut next = current.clone();
            next["spec"]["type"] = json!("ClusterIP");
            Ok(next)
        })
        .await
        .expect("type change");
    let after = c.allocator.ports().read().await.unwrap().0.ports().len();
    assert_eq!(after + 1, before);
}

#[tokio::test]
async fn concurrent_allocations_are_distinct() {
    let c = Arc::new(cluster("10.96.0.0/24", 30000, 40).await);
    let mut tasks = Vec::new();
    for i in 0..40 {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            c.allocator
                .ports()
                .allocate(&[PortRequest::Any], false)
                .await
                .map_err(|(_, e)| e.to_string())
                .map(|p| p[0])
                .map(|p| (i, p))
        }));
    }
    let mut seen = HashSet::new();
    for task in tasks {
        let (_, port) = task.await.unwrap().expect("allocated");
        assert!(seen.insert(port));
    }
    let err = c
        .allocator
        .ports()
        .allocate(&[PortRequest::Any], false)
        .await
        .expect_err("full");
    assert_eq!(err.1.to_string(), "range is full");
}

#[tokio::test]
async fn external_name_round_trip_releases_and_reallocates_the_cluster_ip() {
    let c = cluster("10.0.0.0/24", 30000, 10).await;
    let opts = WriteOptions::default();
    let svc = json!({"metadata": {"name": "a", "namespace": "default"}, "spec": {"ports": [{"port": 80}]}});
    let created = c
        .services
        .create(Some("default"), svc, &opts)
        .await
        .expect("create");
    let ip = created["spec"]["clusterIP"].as_str().unwrap().to_string();
    let external = c
        .services
        .guaranteed_update(Some("default"), "a", &opts, |current| {
            let mut next = current.clone();
            next["spec"]["type"] = json!("ExternalName");
            next["spec"]["externalName"] = json!("example.com");
            Ok(next)
        })
        .await
        .expect("to ExternalName");
    assert!(external["spec"].get("clusterIP").is_none());
    assert!(external["spec"].get("ipFamilies").is_none());
    assert!(external["spec"].get("internalTrafficPolicy").is_none());
    assert_eq!(
        c.ip_addresses
            .get(None, &ip)
            .await
            .expect_err("released")
            .status
            .code,
        404
    );
    let back = c
        .services
        .guaranteed_update(Some("default"), "a", &opts, |current| {
            let mut next = current.clone();
            next["spec"]["type"] = json!("ClusterIP");
            next["spec"].as_object_mut().unwrap().remove("externalName");
            Ok(next)
        })
        .await
        .expect("back to ClusterIP");
    let again = back["spec"]["clusterIP"].as_str().expect("a new ClusterIP");
    let ip_address = c.ip_addresses.get(None, again).await.expect("allocated");
    assert_eq!(ip_address["spec"]["parentRef"]["name"], "a");
    assert_eq!(back["spec"]["ipFamilies"], json!(["IPv4"]));
    assert_eq!(back["spec"]["internalTrafficPolicy"], "Cluster");
}
