//! Tests of the core-group printers.

use super::*;
use crate::registry::table::test_support::{column_names, object, print_cells, table_cells};
use serde_json::json;

#[test]
fn service_rows() {
    let cluster_ip = object(
        "web",
        "2024-05-01T11:55:00Z",
        json!({"spec": {"type": "ClusterIP", "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"],
                        "ports": [{"port": 80, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}],
                        "selector": {"app": "web"}}}),
    );
    assert_eq!(
        table_cells("", "v1", "services", &cluster_ip),
        vec![
            json!("web"),
            json!("ClusterIP"),
            json!("10.96.0.10"),
            json!("<none>"),
            json!("80/TCP,53/UDP"),
            json!("5m"),
            json!("app=web")
        ]
    );
    let node_port = object(
        "np",
        "2024-05-01T11:55:00Z",
        json!({"spec": {"type": "NodePort", "clusterIPs": ["10.96.1.1"], "externalIPs": ["192.0.2.1"],
                        "ports": [{"port": 80, "nodePort": 30080}]}}),
    );
    assert_eq!(
        &table_cells("", "v1", "services", &node_port)[1..5],
        &[
            json!("NodePort"),
            json!("10.96.1.1"),
            json!("192.0.2.1"),
            json!("80:30080/TCP")
        ]
    );
    let headless = object(
        "db",
        "2024-05-01T11:55:00Z",
        json!({"spec": {"clusterIP": "None"}}),
    );
    assert_eq!(
        &table_cells("", "v1", "services", &headless)[1..5],
        &[
            json!("ClusterIP"),
            json!("None"),
            json!("<none>"),
            json!("<none>")
        ]
    );
}

#[test]
fn service_external_ips_by_type() {
    let lb = |status: Value, external: Value| {
        object(
            "lb",
            "2024-05-01T11:55:00Z",
            json!({"spec": {"type": "LoadBalancer", "externalIPs": external}, "status": status}),
        )
    };
    assert_eq!(service_external_ip(&lb(json!({}), json!([]))), "<pending>");
    assert_eq!(
        service_external_ip(&lb(
            json!({"loadBalancer": {"ingress": [{"ip": "203.0.113.9"}, {"hostname": "a.elb.example.com"}, {"ip": "203.0.113.9"}]}}),
            json!([])
        )),
        "203.0.113.9,a.elb.example.com"
    );
    assert_eq!(
        service_external_ip(&lb(
            json!({"loadBalancer": {"ingress": [{"ip": "203.0.113.9"}]}}),
            json!(["192.0.2.7"])
        )),
        "203.0.113.9,192.0.2.7"
    );
    let external_name = json!({"spec": {"type": "ExternalName", "externalName": "db.example.com"}});
    assert_eq!(service_external_ip(&external_name), "db.example.com");
    assert_eq!(
        service_external_ip(&json!({"spec": {"type": "Weird"}})),
        "<unknown>"
    );
}

#[test]
fn endpoints_cell() {
    let endpoints = object(
        "web",
        "2024-05-01T11:00:00Z",
        json!({"subsets": [{"addresses": [{"ip": "10.0.0.1"}, {"ip": "fd00::2"}], "ports": [{"port": 8080}]},
                           {"addresses": [{"ip": "10.0.0.3"}, {"ip": "10.0.0.4"}], "ports": [{"port": 8080}]}]}),
    );
    assert_eq!(
        table_cells("", "v1", "endpoints", &endpoints),
        vec![
            json!("web"),
            json!("10.0.0.1:8080,[fd00::2]:8080,10.0.0.3:8080 + 1 more..."),
            json!("60m")
        ]
    );
    let headless = json!({"subsets": [{"addresses": [{"ip": "10.0.0.1"}]}]});
    assert_eq!(format_endpoints(&headless), "10.0.0.1");
    assert_eq!(format_endpoints(&json!({})), "<none>");
}

#[test]
fn config_map_secret_namespace_service_account_rows() {
    let cm = object(
        "cfg",
        "2024-05-01T11:59:55Z",
        json!({"data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}}),
    );
    assert_eq!(
        table_cells("", "v1", "configmaps", &cm),
        vec![json!("cfg"), json!(3), json!("5s")]
    );
    let secret = object(
        "tls",
        "2024-05-01T11:00:00Z",
        json!({"type": "kubernetes.io/tls", "data": {"tls.crt": "", "tls.key": ""}}),
    );
    assert_eq!(
        table_cells("", "v1", "secrets", &secret),
        vec![
            json!("tls"),
            json!("kubernetes.io/tls"),
            json!(2),
            json!("60m")
        ]
    );
    let ns = object(
        "default",
        "2024-04-01T12:00:00Z",
        json!({"status": {"phase": "Active"}}),
    );
    assert_eq!(
        table_cells("", "v1", "namespaces", &ns),
        vec![json!("default"), json!("Active"), json!("30d")]
    );
    let sa = object("default", "2024-05-01T11:00:00Z", json!({}));
    assert_eq!(
        table_cells("", "v1", "serviceaccounts", &sa),
        vec![json!("default"), json!(0), json!("60m")]
    );
}

#[test]
fn node_rows() {
    let node = object(
        "node-1",
        "2024-04-21T12:00:00Z",
        json!({"metadata": {"labels": {"node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/": "",
                                       "kubernetes.io/role": "worker", "kubernetes.io/hostname": "node-1"}},
               "spec": {"unschedulable": true},
               "status": {"conditions": [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "True"}],
                          "addresses": [{"type": "InternalIP", "address": "172.18.0.2"}, {"type": "Hostname", "address": "node-1"}],
                          "nodeInfo": {"kubeletVersion": "v1.33.1", "osImage": "Debian GNU/Linux 12",
                                       "kernelVersion": "6.1.0", "containerRuntimeVersion": "containerd://2.0.0"}}}),
    );
    assert_eq!(
        table_cells("", "v1", "nodes", &node),
        vec![
            json!("node-1"),
            json!("Ready,SchedulingDisabled"),
            json!("control-plane,worker"),
            json!("10d"),
            json!("v1.33.1"),
            json!("172.18.0.2"),
            json!("<none>"),
            json!("Debian GNU/Linux 12"),
            json!("6.1.0"),
            json!("containerd://2.0.0")
        ]
    );
    let bare = object(
        "n2",
        "2024-05-01T11:00:00Z",
        json!({"status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}}),
    );
    let cells = print_cells(NODES, "v1", &bare);
    assert_eq!(&cells[1..3], &[json!("NotReady"), json!("<none>")]);
    assert_eq!(
        &cells[7..],
        &[json!("<unknown>"), json!("<unknown>"), json!("<unknown>")]
    );
    let unknown = object("n3", "2024-05-01T11:00:00Z", json!({}));
    assert_eq!(print_cells(NODES, "v1", &unknown)[1], json!("Unknown"));
}

#[test]
fn replication_controller_and_pod_template_rows() {
    let rc = object(
        "frontend",
        "2024-05-01T11:00:00Z",
        json!({"spec": {"replicas": 3, "selector": {"app": "fe"},
                        "template": {"spec": {"containers": [{"name": "php", "image": "php:8"}]}}},
               "status": {"replicas": 3, "readyReplicas": 2}}),
    );
    assert_eq!(
        table_cells("", "v1", "replicationcontrollers", &rc),
        vec![
            json!("frontend"),
            json!(3),
            json!(3),
            json!(2),
            json!("60m"),
            json!("php"),
            json!("php:8"),
            json!("app=fe")
        ]
    );
    let template = object(
        "tmpl",
        "2024-05-01T11:00:00Z",
        json!({"template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}),
    );
    assert_eq!(
        table_cells("", "v1", "podtemplates", &template),
        vec![json!("tmpl"), json!("c"), json!("i"), json!("a=b")]
    );
}

#[test]
fn resource_quota_splits_requests_and_limits() {
    let quota = object(
        "compute",
        "2024-05-01T11:00:00Z",
        json!({"status": {"hard": {"requests.cpu": "1", "limits.memory": "2Gi", "pods": "10", "limits.cpu": "2"},
                          "used": {"requests.cpu": "500m", "pods": "3"}}}),
    );
    assert_eq!(
        table_cells("", "v1", "resourcequotas", &quota),
        vec![
            json!("compute"),
            json!("pods: 3/10, requests.cpu: 500m/1"),
            json!("limits.cpu: 0/2, limits.memory: 0/2Gi"),
            json!("60m")
        ]
    );
}

#[test]
fn component_status_row() {
    let healthy = json!({"metadata": {"name": "etcd-0"}, "conditions": [{"type": "Healthy", "status": "True", "message": "ok"}]});
    assert_eq!(
        print_cells(COMPONENT_STATUSES, "v1", &healthy),
        vec![json!("etcd-0"), json!("Healthy"), json!("ok"), json!("")]
    );
}

#[test]
fn core_column_names() {
    assert_eq!(
        column_names("", "services"),
        [
            "Name",
            "Type",
            "Cluster-IP",
            "External-IP",
            "Port(s)",
            "Age",
            "Selector"
        ]
    );
    assert_eq!(
        column_names("", "pods"),
        [
            "Name",
            "Ready",
            "Status",
            "Restarts",
            "Age",
            "IP",
            "Node",
            "Nominated Node",
            "Readiness Gates"
        ]
    );
    assert_eq!(column_names("", "configmaps"), ["Name", "Data", "Age"]);
    assert!(printer("apps", "pods").is_none());
}
