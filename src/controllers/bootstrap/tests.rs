use serde_json::json;

use super::endpoints::{endpoint_slice_object, endpoints_object, lease_name, live_endpoints};
use super::repair::{judge_ip_address, rebuild_node_ports, IpAddressVerdict, LeakTracker};
use crate::registry::resources::core::services::port_allocator::PortBitmap;

#[test]
fn expired_leases_drop_out() {
    let now: jiff::Timestamp = "2026-01-01T00:00:30Z".parse().unwrap();
    let lease = |holder: &str, renewed: &str| json!({"spec": {"holderIdentity": holder, "leaseDurationSeconds": 15, "renewTime": renewed}});
    let leases = vec![
        lease("10.1.0.2:6443", "2026-01-01T00:00:20.000000Z"),
        lease("10.1.0.1:6443", "2026-01-01T00:00:25.500000Z"),
        lease("10.1.0.3:6443", "2026-01-01T00:00:10.000000Z"),
        lease("10.1.0.1:6443", "2026-01-01T00:00:29.000000Z"),
    ];
    let live = live_endpoints(&leases, now);
    let live: Vec<String> = live.iter().map(ToString::to_string).collect();
    assert_eq!(live, ["10.1.0.1:6443", "10.1.0.2:6443"]);
    assert_eq!(
        lease_name(&"127.0.0.1:6443".parse().unwrap()),
        "apiserver-endpoint-127-0-0-1-6443"
    );
}

#[test]
fn endpoints_and_slice_as_upstream() {
    let live = vec![
        "10.1.0.1:6443".parse().unwrap(),
        "10.1.0.2:6443".parse().unwrap(),
    ];
    let endpoints = endpoints_object(&live);
    assert_eq!(
        endpoints["subsets"],
        json!([{"addresses": [{"ip": "10.1.0.1"}, {"ip": "10.1.0.2"}],
                "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}]}])
    );
    assert_eq!(
        endpoints["metadata"]["labels"],
        json!({"endpointslice.kubernetes.io/skip-mirror": "true"})
    );
    let slice = endpoint_slice_object(&endpoints);
    assert_eq!(slice["addressType"], "IPv4");
    assert_eq!(
        slice["metadata"]["labels"],
        json!({"kubernetes.io/service-name": "kubernetes"})
    );
    assert_eq!(
        slice["endpoints"],
        json!([{"addresses": ["10.1.0.1"], "conditions": {"ready": true}},
               {"addresses": ["10.1.0.2"], "conditions": {"ready": true}}])
    );
    assert_eq!(slice["ports"], endpoints["subsets"][0]["ports"]);
}

#[test]
fn ip_address_judgement() {
    let ip = json!({"metadata": {"name": "10.0.0.7"}, "spec": {"parentRef": {"resource": "services", "namespace": "default", "name": "web"}}});
    let web = json!({"metadata": {"name": "web", "namespace": "default"}, "spec": {"type": "ClusterIP", "clusterIPs": ["10.0.0.7"]}});
    assert_eq!(
        judge_ip_address(&ip, Some(&web), 1000),
        IpAddressVerdict::Keep
    );
    assert_eq!(judge_ip_address(&ip, None, 30), IpAddressVerdict::Wait);
    assert_eq!(
        judge_ip_address(&ip, None, 61),
        IpAddressVerdict::Delete("IPAddress 10.0.0.7 appears to have leaked: cleaning up".into())
    );
    let other = json!({"metadata": {"name": "web", "namespace": "default"}, "spec": {"type": "ClusterIP", "clusterIPs": ["10.0.0.8"]}});
    assert!(matches!(
        judge_ip_address(&ip, Some(&other), 0),
        IpAddressVerdict::Delete(why) if why.starts_with("the IPAddress: 10.0.0.7 for Service web/default has a wrong reference")
    ));
    let not_a_service = json!({"metadata": {"name": "10.0.0.9"}, "spec": {"parentRef": {"group": "gateway.networking.k8s.io", "resource": "gateways", "name": "g"}}});
    assert!(matches!(
        judge_ip_address(&not_a_service, None, 0),
        IpAddressVerdict::Delete(why) if why.starts_with("IPAddress 10.0.0.9 appears to have been modified")
    ));
}

#[test]
fn node_port_repair_frees_leaks_on_the_third_pass() {
    let svc = |name: &str, port: u16| json!({"metadata": {"name": name, "namespace": "ns"}, "spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": port}]}});
    let mut stored = PortBitmap::new(30000, 100);
    stored.set(30001);
    stored.set(30050); // leaked: no Service has it
    let services = vec![
        svc("a", 30001),
        svc("b", 30002),
        svc("c", 30002),
        svc("d", 40000),
    ];
    let mut leaks = LeakTracker::default();
    let (first, lines) =
        rebuild_node_ports(&stored, &services, &mut leaks, PortBitmap::new(30000, 100));
    assert_eq!(first.ports(), vec![30001, 30002, 30050]);
    assert_eq!(
        lines,
        vec![
            "the node port 30002 for service b/ns is not allocated; repairing",
            "the node port 30002 for service c/ns was assigned to multiple services; please recreate",
            "the port 40000 for service d/ns is not within the port range 30000-30099; please recreate",
            "the node port 30050 may have leaked: flagging for later clean up",
        ]
    );
    let (second, _) =
        rebuild_node_ports(&first, &services, &mut leaks, PortBitmap::new(30000, 100));
    assert!(second.has(30050), "still held on the second pass");
    let (third, lines) =
        rebuild_node_ports(&second, &services, &mut leaks, PortBitmap::new(30000, 100));
    assert_eq!(third.ports(), vec![30001, 30002]);
    assert_eq!(
        lines.last().map(String::as_str),
        Some("the node port 30050 appears to have leaked: cleaning up")
    );
}
