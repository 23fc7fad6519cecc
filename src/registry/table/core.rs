//! Printers of the core group: services, endpoints, config maps, secrets, namespaces, service
//! accounts, nodes, replication controllers, pod templates, resource quotas, component statuses.
//! Pods are in `pods.rs`, events in `events.rs`, volumes in `storage.rs`.

use std::collections::BTreeSet;

use serde_json::Value;

use super::descriptions as d;
use super::fields::{
    array_at, format_labels, get, i64_at, layout_containers, len_at, name, opt_i64, quantity,
    str_at,
};
use super::{
    events, pods, storage, Column, PrintContext, Printer, Row, AGE_COLUMN, CONTAINERS_COLUMN,
    IMAGES_COLUMN, NAME_COLUMN,
};

/// The printer of core resource `plural` (`group` must be `""`).
pub(super) fn printer(group: &str, plural: &str) -> Option<Printer> {
    if !group.is_empty() {
        return None;
    }
    Some(match plural {
        "pods" => pods::PODS,
        "services" => SERVICES,
        "endpoints" => ENDPOINTS,
        "configmaps" => CONFIG_MAPS,
        "secrets" => SECRETS,
        "namespaces" => NAMESPACES,
        "serviceaccounts" => SERVICE_ACCOUNTS,
        "nodes" => NODES,
        "events" => events::CORE_EVENTS,
        "replicationcontrollers" => REPLICATION_CONTROLLERS,
        "podtemplates" => POD_TEMPLATES,
        "resourcequotas" => RESOURCE_QUOTAS,
        "componentstatuses" => COMPONENT_STATUSES,
        "persistentvolumes" => storage::PERSISTENT_VOLUMES,
        "persistentvolumeclaims" => storage::PERSISTENT_VOLUME_CLAIMS,
        _ => return None,
    })
}

/// `<none>` for an empty string.
pub(super) fn or_none(value: &str) -> String {
    if value.is_empty() {
        "<none>".to_string()
    } else {
        value.to_string()
    }
}

// ---- services ----------------------------------------------------------------------------------

const SERVICES: Printer = Printer {
    columns: &[
        NAME_COLUMN,
        Column::new("Type", "string", d::SERVICE_SPEC_TYPE),
        Column::new("Cluster-IP", "string", d::SERVICE_SPEC_CLUSTER_IP),
        Column::new("External-IP", "string", d::SERVICE_SPEC_EXTERNAL_IPS),
        Column::new("Port(s)", "string", d::SERVICE_SPEC_PORTS),
        AGE_COLUMN,
        Column::new("Selector", "string", d::SERVICE_SPEC_SELECTOR).wide(),
    ],
    print: print_service,
};

/// `spec.type`, defaulted to `ClusterIP` as every stored service is.
fn service_type(service: &Value) -> &str {
    match str_at(service, &["spec", "type"]) {
        "" => "ClusterIP",
        t => t,
    }
}

/// Load-balancer ingress points (IP, else hostname), sorted and de-duplicated, joined by `,`.
/// The server prints wide, so the list is never clipped.
pub(super) fn load_balancer_ingress(status: Option<&Value>) -> String {
    let points: BTreeSet<&str> = status
        .map(|s| array_at(s, &["ingress"]))
        .unwrap_or(&[])
        .iter()
        .filter_map(
            |ingress| match (str_at(ingress, &["ip"]), str_at(ingress, &["hostname"])) {
                ("", "") => None,
                ("", hostname) => Some(hostname),
                (ip, _) => Some(ip),
            },
        )
        .collect();
    points.into_iter().collect::<Vec<_>>().join(",")
}

fn service_external_ip(service: &Value) -> String {
    let external_ips: Vec<&str> = array_at(service, &["spec", "externalIPs"])
        .iter()
        .filter_map(Value::as_str)
        .collect();
    match service_type(service) {
        "ClusterIP" | "NodePort" => or_none(&external_ips.join(",")),
        "LoadBalancer" => {
            let lb = load_balancer_ingress(get(service, &["status", "loadBalancer"]));
            if !external_ips.is_empty() {
                let mut all: Vec<&str> = if lb.is_empty() {
                    Vec::new()
                } else {
                    lb.split(',').collect()
                };
                all.extend(external_ips);
                all.join(",")
            } else if !lb.is_empty() {
                lb
            } else {
                "<pending>".to_string()
            }
        }
        "ExternalName" => str_at(service, &["spec", "externalName"]).to_string(),
        _ => "<unknown>".to_string(),
    }
}

/// `80/TCP`, `80:30080/TCP` (with a node port), joined by `,`.
fn service_ports(service: &Value) -> String {
    array_at(service, &["spec", "ports"])
        .iter()
        .map(|port| {
            let protocol = match str_at(port, &["protocol"]) {
                "" => "TCP",
                p => p,
            };
            let number = i64_at(port, &["port"]);
            match i64_at(port, &["nodePort"]) {
                node_port if node_port > 0 => format!("{number}:{node_port}/{protocol}"),
                _ => format!("{number}/{protocol}"),
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn print_service(service: &Value, context: &PrintContext) -> Row {
    // The first of `spec.clusterIPs`; `spec.clusterIP` for objects stored before dual-stack.
    let cluster_ip = array_at(service, &["spec", "clusterIPs"])
        .first()
        .and_then(Value::as_str)
        .unwrap_or_else(|| str_at(service, &["spec", "clusterIP"]));
    Row::from(vec![
        Value::from(name(service)),
        Value::from(service_type(service)),
        Value::from(or_none(cluster_ip)),
        Value::from(service_external_ip(service)),
        Value::from(or_none(&service_ports(service))),
        Value::from(context.age(service)),
        Value::from(format_labels(get(service, &["spec", "selector"]))),
    ])
}

// ---- endpoints ---------------------------------------------------------------------------------

const ENDPOINTS: Printer = Printer {
    columns: &[
        NAME_COLUMN,
        Column::new("Endpoints", "string", d::ENDPOINTS_SUBSETS),
        AGE_COLUMN,
    ],
    print: print_endpoints,
};

/// `ip:port` (IPv6 in brackets) for the first three addresses of every port, then `+ N more...`.
fn format_endpoints(endpoints: &Value) -> String {
    let subsets = array_at(endpoints, &["subsets"]);
    if subsets.is_empty() {
        return "<none>".to_string();
    }
    const MAX: usize = 3;
    let mut list: Vec<String> = Vec::new();
    let mut count = 0usize;
    for subset in subsets {
        let addresses = array_at(subset, &["addresses"]);
        let ports = array_at(subset, &["ports"]);
        if ports.is_empty() {
            // Headless services may have no ports.
            count += addresses.len();
            for address in addresses.iter().take(MAX.saturating_sub(list.len())) {
                list.push(str_at(address, &["ip"]).to_string());
            }
            continue;
        }
        for port in ports {
            count += addresses.len();
            for address in addresses.iter().take(MAX.saturating_sub(list.len())) {
                let ip = str_at(address, &["ip"]);
                let number = i64_at(port, &["port"]);
                list.push(if ip.contains(':') {
                    format!("[{ip}]:{number}")
                } else {
                    format!("{ip}:{number}")
                });
            }
        }
    }
    let joined = list.join(",");
    if count > list.len() && list.len() == MAX {
        format!("{joined} + {} more...", count - MAX)
    } else {
        joined
    }
}

fn print_endpoints(endpoints: &Value, context: &PrintContext) -> Row {
    Row::from(vec![
        Value::from(name(endpoints)),
        Value::from(format_endpoints(endpoints)),
        Value::from(context.age(endpoints)),
    ])
}

// ---- config maps, secrets, namespaces, service accounts ----------------------------------------

const CONFIG_MAPS: Printer = Printer {
    columns: &[
        NAME_COLUMN,
        Column::new("Data", "string", d::CONFIG_MAP_DATA),
        AGE_COLUMN,
    ],
    print: |config_map, context| {
        let entries = len_at(config_map, &["data"]) + len_at(config_map, &["binaryData"]);
        Row::from(vec![
            Value::from(name(config_map)),
            Value::from(entries as i64),
            Value::from(context.age(config_map)),
        ])
    },
};

const SECRETS: Printer = Printer {
    columns: &[
        NAME_COLUMN,
        Column::new("Type", "string", d::SECRET_TYPE),
        Column::new("Data", "string", d::SECRET_DATA),
        AGE_COLUMN,
    ],
    print: |secret, context| {
        Row::from(vec![
            Value::from(name(secret)),
            Value::from(str_at(secret, &["type"])),
            Value::from(len_at(secret, &["data"]) as i64),
            Value::from(context.age(secret)),
        ])
    },
};

const NAMESPACES: Printer = Printer {
    columns: &[
        NAME_COLUMN,
        Column::new("Status", "string", "The status of the namespace"),
        AGE_COLUMN,
    ],
    print: |namespace, context| {
        Row::from(vec![
            Value::from(name(namespace)),
            Value::from(str_at(namespace, &["status", "phase"])),
            Value::from(context.age(namespace)),
        ])
    },
};

const SERVICE_ACCOUNTS: Printer = Printer {
    columns: &[
        NAME_COLUMN,
        Column::new("Secrets", "string", d::SERVICE_ACCOUNT_SECRETS),
        AGE_COLUMN,
    ],
    print: |account, context| {
        Row::from(vec![
            Value::from(name(account)),
            Value::from(len_at(account, &["secrets"]) as i64),
            Value::from(context.age(account)),
        ])
    },
};

// ---- nodes -------------------------------------------------------------------------------------

const NODES: Printer = Printer {
    columns: &[
        NAME_COLUMN,
        Column::new("Status", "string", "The status of the node"),
        Column::new("Roles", "string", "The roles of the node"),
        AGE_COLUMN,
        Column::new("Version", "string", d::NODE_INFO_KUBELET_VERSION),
        Column::new("Internal-IP", "string", d::NODE_STATUS_ADDRESSES).wide(),
        Column::new("External-IP", "string", d::NODE_STATUS_ADDRESSES).wide(),
        Column::new("OS-Image", "string", d::NODE_INFO_OS_IMAGE).wide(),
        Column::new("Kernel-Version", "string", d::NODE_INFO_KERNEL_VERSION).wide(),
        Column::new(
            "Container-Runtime",
            "string",
            d::NODE_INFO_CONTAINER_RUNTIME_VERSION,
        )
        .wide(),
    ],
    print: print_node,
};

/// Roles from `node-role.kubernetes.io/<role>` label keys and the `kubernetes.io/role` value,
/// sorted and de-duplicated.
fn node_roles(node: &Value) -> Vec<String> {
    let mut roles = BTreeSet::new();
    if let Some(labels) = get(node, &["metadata", "labels"]).and_then(Value::as_object) {
        for (key, value) in labels {
            if let Some(role) = key.strip_prefix("node-role.kubernetes.io/") {
                if !role.is_empty() {
                    roles.insert(role.to_string());
                }
            } else if key == "kubernetes.io/role" {
                if let Some(role) = value.as_str().filter(|r| !r.is_empty()) {
                    roles.insert(role.to_string());
                }
            }
        }
    }
    roles.into_iter().collect()
}

/// The first address of `address_type`, `<none>` without one.
fn node_address(node: &Value, address_type: &str) -> String {
    array_at(node, &["status", "addresses"])
        .iter()
        .find(|a| str_at(a, &["type"]) == address_type)
        .map(|a| str_at(a, &["address"]).to_string())
        .unwrap_or_else(|| "<none>".to_string())
}

fn print_node(node: &Value, context: &PrintContext) -> Row {
    // The last condition of a type wins, as upstream builds a map by type.
    let ready = array_at(node, &["status", "conditions"])
        .iter()
        .rev()
        .find(|c| str_at(c, &["type"]) == "Ready");
    let mut status = vec![match ready {
        Some(c) if str_at(c, &["status"]) == "True" => "Ready",
        Some(_) => "NotReady",
        None => "Unknown",
    }];
    if get(node, &["spec", "unschedulable"]).and_then(Value::as_bool) == Some(true) {
        status.push("SchedulingDisabled");
    }
    let info = |key: &str| match str_at(node, &["status", "nodeInfo", key]) {
        "" => "<unknown>".to_string(),
        v => v.to_string(),
    };
    Row::from(vec![
        Value::from(name(node)),
        Value::from(status.join(",")),
        Value::from(or_none(&node_roles(node).join(","))),
        Value::from(context.age(node)),
        Value::from(str_at(node, &["status", "nodeInfo", "kubeletVersion"])),
        Value::from(node_address(node, "InternalIP")),
        Value::from(node_address(node, "ExternalIP")),
        Value::from(info("osImage")),
        Value::from(info("kernelVersion")),
        Value::from(info("containerRuntimeVersion")),
    ])
}

// ---- replication controllers, pod templates ----------------------------------------------------

const REPLICATION_CONTROLLERS: Printer = Printer {
    columns: &[
        NAME_COLUMN,
        Column::new("Desired", "integer", d::RC_SPEC_REPLICAS),
        Column::new("Current", "integer", d::RC_STATUS_REPLICAS),
        Column::new("Ready", "integer", d::RC_STATUS_READY_REPLICAS),
        AGE_COLUMN,
        CONTAINERS_COLUMN,
        IMAGES_COLUMN,
        Column::new("Selector", "string", d::RC_SPEC_SELECTOR).wide(),
    ],
    print: |rc, context| {
        let (names, images) =
            layout_containers(array_at(rc, &["spec", "template", "spec", "containers"]));
        Row::from(vec![
            Value::from(name(rc)),
            Value::from(opt_i64(rc, &["spec", "replicas"]).unwrap_or(1)),
            Value::from(i64_at(rc, &["status", "replicas"])),
            Value::from(i64_at(rc, &["status", "readyReplicas"])),
            Value::from(context.age(rc)),
            Value::from(names),
            Value::from(images),
            Value::from(format_labels(get(rc, &["spec", "selector"]))),
        ])
    },
};

const POD_TEMPLATES: Printer = Printer {
    columns: &[
        NAME_COLUMN,
        Column::new(
            "Containers",
            "string",
            "Names of each container in the template.",
        ),
        Column::new(
            "Images",
            "string",
            "Images referenced by each container in the template.",
        ),
        Column::new("Pod Labels", "string", "The labels for the pod template."),
    ],
    print: |template, _| {
        let (names, images) =
            layout_containers(array_at(template, &["template", "spec", "containers"]));
        Row::from(vec![
            Value::from(name(template)),
            Value::from(names),
            Value::from(images),
            Value::from(format_labels(get(
                template,
                &["template", "metadata", "labels"],
            ))),
        ])
    },
};

// ---- resource quotas, component statuses -------------------------------------------------------

const RESOURCE_QUOTAS: Printer = Printer {
    columns: &[
        NAME_COLUMN,
        Column::new(
            "Request",
            "string",
            "Request represents a minimum amount of cpu/memory that a container may consume.",
        ),
        Column::new(
            "Limit",
            "string",
            "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.",
        ),
        AGE_COLUMN,
    ],
    print: print_resource_quota,
};

/// `resource: used/hard` for every hard limit, sorted by resource; `limits.*` ones in the Limit
/// column, the rest in Request.
fn print_resource_quota(quota: &Value, context: &PrintContext) -> Row {
    let mut requests = Vec::new();
    let mut limits = Vec::new();
    if let Some(hard) = get(quota, &["status", "hard"]).and_then(Value::as_object) {
        let mut resources: Vec<&String> = hard.keys().collect();
        resources.sort();
        for resource in resources {
            let used = quantity(get(quota, &["status", "used", resource]));
            let entry = format!("{resource}: {used}/{}", quantity(hard.get(resource)));
            let mut pieces = resource.split('.');
            let is_limit = pieces.next() == Some("limits") && pieces.next().is_some();
            if is_limit {
                limits.push(entry);
            } else {
                requests.push(entry);
            }
        }
    }
    Row::from(vec![
        Value::from(name(quota)),
        Value::from(requests.join(", ")),
        Value::from(limits.join(", ")),
        Value::from(context.age(quota)),
    ])
}

const COMPONENT_STATUSES: Printer = Printer {
    columns: &[
        NAME_COLUMN,
        Column::new("Status", "string", "Status of the component conditions"),
        Column::new("Message", "string", "Message of the component conditions"),
        Column::new("Error", "string", "Error of the component conditions"),
    ],
    print: |component, _| {
        let healthy = array_at(component, &["conditions"])
            .iter()
            .find(|c| str_at(c, &["type"]) == "Healthy");
        let (status, message, error) = match healthy {
            Some(c) => (
                if str_at(c, &["status"]) == "True" {
                    "Healthy"
                } else {
                    "Unhealthy"
                },
                str_at(c, &["message"]),
                str_at(c, &["error"]),
            ),
            None => ("Unknown", "", ""),
        };
        Row::from(vec![
            Value::from(name(component)),
            Value::from(status),
            Value::from(message),
            Value::from(error),
        ])
    },
};

#[cfg(test)]
#[path = "core_tests.rs"]
mod tests;
