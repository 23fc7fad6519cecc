//! Read helpers over a Service's JSON: the fields the strategy, the allocators and the repair
//! loops look at, with upstream's predicates (`needsClusterIP`, `needsNodePort`).

use serde_json::{Map, Value};

use crate::api::json::string_list;

/// A string field of a map (`""` when missing or not a string).
pub fn str_field<'a>(map: &'a Map<String, Value>, field: &str) -> &'a str {
    map.get(field).and_then(Value::as_str).unwrap_or("")
}

/// `spec.type` (`""` when unset).
pub fn service_type(svc: &Value) -> &str {
    svc.pointer("/spec/type")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// `spec.clusterIP`.
pub fn cluster_ip(svc: &Value) -> &str {
    svc.pointer("/spec/clusterIP")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// `spec.clusterIPs`.
pub fn cluster_ips(svc: &Value) -> Vec<String> {
    string_list(svc.pointer("/spec/clusterIPs"))
}

/// `spec.ports`, the entries that are objects.
pub fn ports(svc: &Value) -> Vec<&Map<String, Value>> {
    svc.pointer("/spec/ports")
        .and_then(Value::as_array)
        .map(|ports| ports.iter().filter_map(Value::as_object).collect())
        .unwrap_or_default()
}

/// A port's `nodePort` (0 when unset or not a port number).
pub fn port_node_port(port: &Map<String, Value>) -> u16 {
    port.get("nodePort")
        .and_then(Value::as_u64)
        .and_then(|n| u16::try_from(n).ok())
        .unwrap_or(0)
}

/// Every non-zero `nodePort` of the Service, in port order, without repeats.
pub fn node_ports(svc: &Value) -> Vec<u16> {
    let mut out = Vec::new();
    for port in ports(svc) {
        let n = port_node_port(port);
        if n != 0 && !out.contains(&n) {
            out.push(n);
        }
    }
    out
}

/// Upstream's `needsClusterIP`: every type but ExternalName.
pub fn needs_cluster_ip(svc: &Value) -> bool {
    service_type(svc) != "ExternalName"
}

/// Upstream's `needsNodePort`: NodePort and LoadBalancer.
pub fn needs_node_ports(svc: &Value) -> bool {
    matches!(service_type(svc), "NodePort" | "LoadBalancer")
}

/// Whether new NodePorts are allocated for ports without one (upstream's
/// `shouldAllocateNodePorts`): NodePort always, LoadBalancer unless
/// `allocateLoadBalancerNodePorts: false`.
pub fn should_allocate_node_ports(svc: &Value) -> bool {
    match service_type(svc) {
        "NodePort" => true,
        "LoadBalancer" => svc
            .pointer("/spec/allocateLoadBalancerNodePorts")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        _ => false,
    }
}

/// The ClusterIPs the Service holds in the allocator: none for ExternalName and headless.
pub fn allocated_ips(svc: &Value) -> Vec<String> {
    if !needs_cluster_ip(svc) {
        return Vec::new();
    }
    cluster_ips(svc)
        .into_iter()
        .filter(|ip| !ip.is_empty() && ip != "None")
        .collect()
}
