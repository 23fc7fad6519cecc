//! The bootstrap controller and Service allocation (issue 7, item 5): the `kubernetes` Service,
//! its Endpoints and EndpointSlice, the default ServiceCIDR, ClusterIP and NodePort allocation
//! with upstream's defaults and errors, exhaustion, release, repair and replicas.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::common::{stderr, Apiary, Backend};

fn get_json(apiary: &Apiary, args: &[&str]) -> Value {
    let mut full = args.to_vec();
    full.extend(["-o", "json"]);
    serde_json::from_str(&apiary.ok(&full)).expect("kubectl -o json")
}

fn port_of(apiary: &Apiary) -> u16 {
    apiary.addr.rsplit(':').next().unwrap().parse().unwrap()
}

fn create_stdin_fails(apiary: &Apiary, yaml: &str) -> String {
    let out = apiary.kubectl_with_stdin(&["create", "-f", "-"], Some(yaml));
    assert!(!out.status.success(), "create should fail: {yaml}");
    stderr(&out)
}

#[test]
fn kubernetes_service_endpoints_slice_and_service_cidr() {
    let apiary = Apiary::start();
    let port = port_of(&apiary);
    let table = apiary.ok(&["get", "svc", "kubernetes"]);
    let mut lines = table.lines();
    assert_eq!(
        lines.next(),
        Some("NAME         TYPE        CLUSTER-IP   EXTERNAL-IP   PORT(S)   AGE")
    );
    let row: Vec<&str> = lines.next().expect("a row").split_whitespace().collect();
    assert_eq!(
        &row[..5],
        &["kubernetes", "ClusterIP", "10.0.0.1", "<none>", "443/TCP"]
    );

    let svc = get_json(&apiary, &["get", "svc", "kubernetes"]);
    assert_eq!(
        svc["metadata"]["labels"],
        json!({"component": "apiserver", "provider": "kubernetes"})
    );
    assert_eq!(
        svc["spec"],
        json!({
            "clusterIP": "10.0.0.1",
            "clusterIPs": ["10.0.0.1"],
            "internalTrafficPolicy": "Cluster",
            "ipFamilies": ["IPv4"],
            "ipFamilyPolicy": "SingleStack",
            "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": port}],
            "sessionAffinity": "None",
            "type": "ClusterIP",
        })
    );

    let endpoints = get_json(&apiary, &["get", "endpoints", "kubernetes"]);
    assert_eq!(
        endpoints["subsets"],
        json!([{"addresses": [{"ip": "127.0.0.1"}], "ports": [{"name": "https", "port": port, "protocol": "TCP"}]}])
    );
    assert_eq!(
        endpoints["metadata"]["labels"],
        json!({"endpointslice.kubernetes.io/skip-mirror": "true"})
    );
    let slice = get_json(
        &apiary,
        &["get", "endpointslices.discovery.k8s.io", "kubernetes"],
    );
    assert_eq!(
        slice["metadata"]["labels"],
        json!({"kubernetes.io/service-name": "kubernetes"})
    );
    assert_eq!(slice["addressType"], "IPv4");
    assert_eq!(
        slice["endpoints"],
        json!([{"addresses": ["127.0.0.1"], "conditions": {"ready": true}}])
    );
    assert_eq!(
        slice["ports"],
        json!([{"name": "https", "port": port, "protocol": "TCP"}])
    );

    let cidr = get_json(&apiary, &["get", "servicecidrs", "kubernetes"]);
    assert_eq!(cidr["spec"]["cidrs"], json!(["10.0.0.0/24"]));
    assert_eq!(cidr["status"]["conditions"][0]["type"], "Ready");
    assert_eq!(cidr["status"]["conditions"][0]["status"], "True");
    assert_eq!(
        cidr["status"]["conditions"][0]["message"],
        "Kubernetes default Service CIDR is ready"
    );

    let ip = get_json(&apiary, &["get", "ipaddresses", "10.0.0.1"]);
    assert_eq!(
        ip["spec"]["parentRef"],
        json!({"resource": "services", "namespace": "default", "name": "kubernetes"})
    );
    assert_eq!(
        ip["metadata"]["labels"],
        json!({"ipaddress.kubernetes.io/ip-family": "IPv4", "ipaddress.kubernetes.io/managed-by": "ipallocator.k8s.io"})
    );
    // The Service comes back after a restart unchanged (no second allocation).
    let mut apiary = apiary;
    apiary.kill_and_restart();
    let again = get_json(&apiary, &["get", "svc", "kubernetes"]);
    assert_eq!(again["metadata"]["uid"], svc["metadata"]["uid"]);
}

const WEB: &str = "apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector:
    app: web
  ports:
  - port: 80
    targetPort: 8080
";

#[test]
fn created_services_carry_upstream_defaults_and_errors() {
    let apiary = Apiary::start();
    apiary.ok_stdin(&["create", "-f", "-"], WEB);
    let web = get_json(&apiary, &["get", "svc", "web"]);
    let ip = web["spec"]["clusterIP"]
        .as_str()
        .expect("a ClusterIP")
        .to_string();
    let octets: Vec<u8> = ip.split('.').map(|o| o.parse().unwrap()).collect();
    assert_eq!(&octets[..3], &[10, 0, 0], "{ip} is in 10.0.0.0/24");
    assert!(octets[3] > 16 && octets[3] < 255, "{ip}: dynamic band");
    assert_eq!(
        web["spec"],
        json!({
            "clusterIP": ip,
            "clusterIPs": [ip],
            "internalTrafficPolicy": "Cluster",
            "ipFamilies": ["IPv4"],
            "ipFamilyPolicy": "SingleStack",
            "ports": [{"port": 80, "protocol": "TCP", "targetPort": 8080}],
            "selector": {"app": "web"},
            "sessionAffinity": "None",
            "type": "ClusterIP",
        })
    );
    assert_eq!(web["status"], json!({"loadBalancer": {}}));
    let mut keys: Vec<&String> = web["metadata"].as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "creationTimestamp",
            "name",
            "namespace",
            "resourceVersion",
            "uid"
        ]
    );

    apiary.ok(&["create", "service", "nodeport", "np", "--tcp=80:8080"]);
    let np = get_json(&apiary, &["get", "svc", "np"]);
    let node_port = np["spec"]["ports"][0]["nodePort"]
        .as_u64()
        .expect("a nodePort");
    assert!((30000..=32767).contains(&node_port));
    let np_ip = np["spec"]["clusterIP"].clone();
    assert_eq!(
        np["spec"],
        json!({
            "clusterIP": np_ip,
            "clusterIPs": [np_ip],
            "externalTrafficPolicy": "Cluster",
            "internalTrafficPolicy": "Cluster",
            "ipFamilies": ["IPv4"],
            "ipFamilyPolicy": "SingleStack",
            "ports": [{"name": "80-8080", "nodePort": node_port, "port": 80, "protocol": "TCP", "targetPort": 8080}],
            "selector": {"app": "np"},
            "sessionAffinity": "None",
            "type": "NodePort",
        })
    );

    apiary.ok(&[
        "create",
        "service",
        "clusterip",
        "headless",
        "--clusterip=None",
    ]);
    let headless = get_json(&apiary, &["get", "svc", "headless"]);
    assert_eq!(headless["spec"]["clusterIPs"], json!(["None"]));
    assert_eq!(headless["spec"]["ipFamilies"], json!(["IPv4"]));
    assert_eq!(headless["spec"]["ipFamilyPolicy"], "SingleStack");
    apiary.ok(&[
        "create",
        "service",
        "externalname",
        "ext",
        "--external-name=example.com",
    ]);
    let ext = get_json(&apiary, &["get", "svc", "ext"]);
    assert_eq!(
        ext["spec"],
        json!({"externalName": "example.com", "selector": {"app": "ext"}, "sessionAffinity": "None", "type": "ExternalName"}),
        "no ClusterIP, IP families or traffic policies for ExternalName"
    );
    let ip_count = |apiary: &Apiary| {
        apiary
            .ok(&["get", "ipaddresses", "--no-headers"])
            .lines()
            .count()
    };
    assert_eq!(ip_count(&apiary), 3, "kubernetes, web and np hold an IP");

    // Requested ClusterIPs: taken, outside the CIDR, the broadcast address.
    let with_ip = |name: &str, ip: &str| {
        format!("apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\nspec:\n  clusterIP: {ip}\n  ports:\n  - port: 80\n")
    };
    assert_eq!(
        create_stdin_fails(&apiary, &with_ip("taken", &ip)),
        format!("The Service \"taken\" is invalid: spec.clusterIPs: Invalid value: []string{{\"{ip}\"}}: failed to allocate IP {ip}: provided IP is already allocated\n")
    );
    assert_eq!(
        create_stdin_fails(&apiary, &with_ip("outside", "10.1.0.5")),
        "The Service \"outside\" is invalid: spec.clusterIPs: Invalid value: []string{\"10.1.0.5\"}: failed to allocate IP 10.1.0.5: the provided network does not match the current range\n"
    );
    assert_eq!(
        create_stdin_fails(&apiary, &with_ip("broadcast", "10.0.0.255")),
        "The Service \"broadcast\" is invalid: spec.clusterIPs: Invalid value: []string{\"10.0.0.255\"}: failed to allocate IP 10.0.0.255: provided IP 10.0.0.255 is not in the valid range\n"
    );
    apiary.ok_stdin(&["create", "-f", "-"], &with_ip("static", "10.0.0.10"));
    assert_eq!(
        get_json(&apiary, &["get", "svc", "static"])["spec"]["clusterIPs"],
        json!(["10.0.0.10"])
    );
    // Requested NodePorts: taken, outside the range.
    let with_node_port = |name: &str, port: u64| {
        format!("apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\nspec:\n  type: NodePort\n  ports:\n  - port: 80\n    nodePort: {port}\n")
    };
    assert_eq!(
        create_stdin_fails(&apiary, &with_node_port("np-taken", node_port)),
        format!("The Service \"np-taken\" is invalid: spec.ports[0].nodePort: Invalid value: {node_port}: provided port is already allocated\n")
    );
    assert_eq!(
        create_stdin_fails(&apiary, &with_node_port("np-outside", 8080)),
        "The Service \"np-outside\" is invalid: spec.ports[0].nodePort: Invalid value: 8080: provided port is not in the valid range. The range of valid ports is 30000-32767\n"
    );
    assert_eq!(ip_count(&apiary), 4, "failed creates leak no IPAddress");

    // A dry run allocates nothing.
    apiary.ok_stdin(
        &["create", "--dry-run=server", "-f", "-"],
        &with_ip("dry", "10.0.0.11"),
    );
    assert_eq!(ip_count(&apiary), 4);

    // Updates keep the allocation; the ClusterIP is immutable.
    apiary.ok_stdin(&["replace", "-f", "-"], &WEB.replace("8080", "9090"));
    assert_eq!(
        get_json(&apiary, &["get", "svc", "web"])["spec"]["clusterIP"],
        ip
    );
    // Another address than the allocated one (which is random, and may be 10.0.0.99).
    let other = if ip == "10.0.0.99" {
        "10.0.0.98"
    } else {
        "10.0.0.99"
    };
    assert_eq!(
        apiary.fails(&[
            "patch",
            "svc",
            "web",
            "-p",
            &format!(r#"{{"spec":{{"clusterIP":"{other}"}}}}"#)
        ]),
        format!("The Service \"web\" is invalid: spec.clusterIPs[0]: Invalid value: []string{{\"{other}\"}}: may not change once set\n")
    );
    // NodePort -> ClusterIP releases the port: another Service can take it.
    apiary.ok(&[
        "patch",
        "svc",
        "np",
        "-p",
        r#"{"spec":{"type":"ClusterIP"}}"#,
    ]);
    let np = get_json(&apiary, &["get", "svc", "np"]);
    assert!(np["spec"]["ports"][0].get("nodePort").is_none());
    assert!(np["spec"].get("externalTrafficPolicy").is_none());
    apiary.ok_stdin(
        &["create", "-f", "-"],
        &with_node_port("np-reuse", node_port),
    );
    // Deleting releases the IP.
    apiary.ok(&["delete", "svc", "web"]);
    assert_eq!(
        stderr(&apiary.kubectl(&["get", "ipaddresses", &ip])),
        format!("Error from server (NotFound): ipaddresses.networking.k8s.io \"{ip}\" not found\n")
    );
}

fn node_port_services(prefix: &str, count: usize) -> String {
    (0..count)
        .map(|i| {
            format!("---\napiVersion: v1\nkind: Service\nmetadata:\n  name: {prefix}-{i}\nspec:\n  type: NodePort\n  selector:\n    app: {prefix}\n  ports:\n  - port: 80\n")
        })
        .collect()
}

/// ClusterIPs and NodePorts of every Service except `kubernetes`.
fn allocations(apiary: &Apiary) -> (BTreeSet<String>, BTreeSet<u64>, usize) {
    let list = get_json(apiary, &["get", "svc"]);
    let items: Vec<&Value> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["metadata"]["name"] != "kubernetes")
        .collect();
    let ips = items
        .iter()
        .map(|s| s["spec"]["clusterIP"].as_str().unwrap().to_string())
        .collect();
    let ports = items
        .iter()
        .map(|s| s["spec"]["ports"][0]["nodePort"].as_u64().unwrap())
        .collect();
    (ips, ports, items.len())
}

#[test]
fn three_hundred_concurrent_node_port_services_exhaust_the_range() {
    let apiary = Apiary::start_with_env(vec![
        ("APIARY_SERVER__SERVICE_CIDR".into(), "10.96.0.0/16".into()),
        (
            "APIARY_SERVER__SERVICE_NODE_PORT_RANGE".into(),
            "30000-30299".into(),
        ),
    ]);
    assert_eq!(
        get_json(&apiary, &["get", "svc", "kubernetes"])["spec"]["clusterIP"],
        "10.96.0.1"
    );
    std::thread::scope(|scope| {
        for batch in 0..10 {
            let apiary = &apiary;
            scope.spawn(move || {
                apiary.ok_stdin(
                    &["create", "-f", "-"],
                    &node_port_services(&format!("b{batch}"), 30),
                );
            });
        }
    });
    let (ips, ports, count) = allocations(&apiary);
    assert_eq!(count, 300);
    assert_eq!(ips.len(), 300, "distinct ClusterIPs");
    assert!(ips
        .iter()
        .all(|ip| ip.starts_with("10.96.") && ip != "10.96.0.1"));
    assert_eq!(
        ports,
        (30000..30300).collect::<BTreeSet<u64>>(),
        "every port once"
    );
    assert_eq!(
        apiary
            .ok(&["get", "ipaddresses", "--no-headers"])
            .lines()
            .count(),
        301
    );

    assert_eq!(
        create_stdin_fails(&apiary, &node_port_services("extra", 1)),
        "Error from server (InternalError): error when creating \"STDIN\": Internal error occurred: failed to allocate a nodePort: range is full\n"
    );
    assert_eq!(
        apiary
            .ok(&["get", "ipaddresses", "--no-headers"])
            .lines()
            .count(),
        301,
        "the failed create released its ClusterIP"
    );

    let freed: BTreeSet<u64> = ["b0-0", "b3-7", "b9-29"]
        .iter()
        .map(|name| {
            get_json(&apiary, &["get", "svc", name])["spec"]["ports"][0]["nodePort"]
                .as_u64()
                .unwrap()
        })
        .collect();
    apiary.ok(&["delete", "svc", "b0-0", "b3-7", "b9-29"]);
    apiary.ok_stdin(&["create", "-f", "-"], &node_port_services("again", 3));
    let reused: BTreeSet<u64> = (0..3)
        .map(|i| {
            get_json(&apiary, &["get", "svc", &format!("again-{i}")])["spec"]["ports"][0]
                ["nodePort"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(reused, freed, "the freed ports are handed out again");
    let (ips, ports, count) = allocations(&apiary);
    assert_eq!((ips.len(), ports.len(), count), (300, 300, 300));
}

#[test]
fn repair_recreates_missing_and_removes_leaked_ip_addresses() {
    let mut apiary = Apiary::start();
    apiary.ok_stdin(&["create", "-f", "-"], WEB);
    let ip = get_json(&apiary, &["get", "svc", "web"])["spec"]["clusterIP"]
        .as_str()
        .unwrap()
        .to_string();
    // The Service's IPAddress goes missing, and a leaked one claims to be web's.
    apiary.ok(&["delete", "ipaddress", &ip]);
    let leaked = "apiVersion: networking.k8s.io/v1
kind: IPAddress
metadata:
  name: 10.0.0.200
  labels:
    ipaddress.kubernetes.io/ip-family: IPv4
    ipaddress.kubernetes.io/managed-by: ipallocator.k8s.io
spec:
  parentRef:
    resource: services
    namespace: default
    name: web
";
    apiary.ok_stdin(&["create", "-f", "-"], leaked);
    apiary.kill_and_restart();
    let repaired = get_json(&apiary, &["get", "ipaddress", &ip]);
    assert_eq!(repaired["spec"]["parentRef"]["name"], "web");
    assert_eq!(
        stderr(&apiary.kubectl(&["get", "ipaddress", "10.0.0.200"])),
        "Error from server (NotFound): ipaddresses.networking.k8s.io \"10.0.0.200\" not found\n"
    );
    // The repaired allocation is enforced again.
    let taken = format!("apiVersion: v1\nkind: Service\nmetadata:\n  name: copy\nspec:\n  clusterIP: {ip}\n  ports:\n  - port: 80\n");
    assert!(create_stdin_fails(&apiary, &taken).contains("provided IP is already allocated"));
}

#[test]
fn replicas_share_allocations_and_both_appear_in_the_endpoints() {
    let first = Apiary::start_on(Backend::Postgres);
    let second = first.start_replica();
    let ports: BTreeSet<u16> = [port_of(&first), port_of(&second)].into();
    // Both replicas renew their Lease; the endpoints list both within a reconcile period.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let endpoints = get_json(&first, &["get", "endpoints", "kubernetes"]);
        let listed: BTreeSet<u16> = endpoints["subsets"]
            .as_array()
            .map(|s| {
                s.iter()
                    .filter_map(|s| s["ports"][0]["port"].as_u64())
                    .map(|p| p as u16)
                    .collect()
            })
            .unwrap_or_default();
        if listed == ports {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "endpoints {endpoints}"
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    std::thread::scope(|scope| {
        for (i, replica) in [&first, &second, &first, &second].into_iter().enumerate() {
            scope.spawn(move || {
                replica.ok_stdin(
                    &["create", "-f", "-"],
                    &node_port_services(&format!("r{i}"), 20),
                );
            });
        }
    });
    let (ips, ports, count) = allocations(&second);
    assert_eq!(
        (ips.len(), ports.len(), count),
        (80, 80, 80),
        "no allocation handed out twice"
    );

    // A replica that stops renewing its Lease drops out once the Lease expires.
    let gone = port_of(&second);
    drop(second);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(45);
    loop {
        let endpoints = get_json(&first, &["get", "endpoints", "kubernetes"]);
        let listed: Vec<u64> = endpoints["subsets"]
            .as_array()
            .map(|s| {
                s.iter()
                    .filter_map(|s| s["ports"][0]["port"].as_u64())
                    .collect()
            })
            .unwrap_or_default();
        if listed == [u64::from(port_of(&first))] {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "replica on port {gone} still listed: {endpoints}"
        );
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
    let slice = get_json(
        &first,
        &["get", "endpointslices.discovery.k8s.io", "kubernetes"],
    );
    assert_eq!(
        slice["ports"],
        json!([{"name": "https", "port": port_of(&first), "protocol": "TCP"}])
    );
}
