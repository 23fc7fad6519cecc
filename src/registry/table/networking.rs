//! Printers of `networking.k8s.io` (ingresses, ingress classes, network policies, service CIDRs,
//! IP addresses) and `discovery.k8s.io` (endpoint slices).

use serde_json::Value;

use super::core::load_balancer_ingress;
use super::descriptions as d;
use super::fields::{
    array_at, format_label_selector, get, list_with_more, name, opt_i64, opt_str, str_at,
};
use super::{Column, PrintContext, Printer, Row, AGE_COLUMN, NAME_COLUMN};

/// The printer of resource `plural` in `networking.k8s.io` or `discovery.k8s.io`.
pub(super) fn printer(group: &str, plural: &str) -> Option<Printer> {
    Some(match (group, plural) {
        ("networking.k8s.io", "ingresses") => INGRESSES,
        ("networking.k8s.io", "ingressclasses") => INGRESS_CLASSES,
        ("networking.k8s.io", "networkpolicies") => NETWORK_POLICIES,
        ("networking.k8s.io", "servicecidrs") => SERVICE_CIDRS,
        ("networking.k8s.io", "ipaddresses") => IP_ADDRESSES,
        ("discovery.k8s.io", "endpointslices") => ENDPOINT_SLICES,
        _ => return None,
    })
}

const INGRESSES: Printer = Printer {
    columns: &[
        NAME_COLUMN,
        Column::new(
            "Class",
            "string",
            "The name of the IngressClass resource that should be used for additional configuration",
        ),
        Column::new(
            "Hosts",
            "string",
            "Hosts that incoming requests are matched against before the ingress rule",
        ),
        Column::new(
            "Address",
            "string",
            "Address is a list containing ingress points for the load-balancer",
        ),
        Column::new("Ports", "string", "Ports of TLS configurations that open"),
        AGE_COLUMN,
    ],
    print: print_ingress,
};

/// The first three rule hosts, then `+ N more...` (counting every rule); `*` without hosts.
fn ingress_hosts(rules: &[Value]) -> String {
    const MAX: usize = 3;
    let mut list: Vec<&str> = Vec::new();
    let mut more = false;
    for rule in rules {
        if list.len() == MAX {
            more = true;
        }
        let host = str_at(rule, &["host"]);
        if !more && !host.is_empty() {
            list.push(host);
        }
    }
    if list.is_empty() {
        return "*".to_string();
    }
    let joined = list.join(",");
    if more {
        format!("{joined} + {} more...", rules.len() - MAX)
    } else {
        joined
    }
}

fn print_ingress(ingress: &Value, context: &PrintContext) -> Row {
    let ports = if array_at(ingress, &["spec", "tls"]).is_empty() {
        "80"
    } else {
        "80, 443"
    };
    Row::from(vec![
        Value::from(name(ingress)),
        Value::from(opt_str(ingress, &["spec", "ingressClassName"]).unwrap_or("<none>")),
        Value::from(ingress_hosts(array_at(ingress, &["spec", "rules"]))),
        Value::from(load_balancer_ingress(get(
            ingress,
            &["status", "loadBalancer"],
        ))),
        Value::from(ports),
        Value::from(context.age(ingress)),
    ])
}

const INGRESS_CLASSES: Printer = Printer {
    columns: &[
        NAME_COLUMN,
        Column::new(
            "Controller",
            "string",
            "Controller that is responsible for handling this class",
        ),
        Column::new(
            "Parameters",
            "string",
            "A reference to a resource with additional parameters",
        ),
        AGE_COLUMN,
    ],
    print: |class, context| {
        let parameters = match get(class, &["spec", "parameters"]).filter(|p| p.is_object()) {
            Some(p) => {
                let kind = str_at(p, &["kind"]);
                let group = opt_str(p, &["apiGroup"])
                    .map(|g| format!(".{g}"))
                    .unwrap_or_default();
                format!("{kind}{group}/{}", str_at(p, &["name"]))
            }
            None => "<none>".to_string(),
        };
        Row::from(vec![
            Value::from(name(class)),
            Value::from(str_at(class, &["spec", "controller"])),
            Value::from(parameters),
            Value::from(context.age(class)),
        ])
    },
};

const NETWORK_POLICIES: Printer = Printer {
    columns: &[
        NAME_COLUMN,
        Column::new(
            "Pod-Selector",
            "string",
            d::NETWORK_POLICY_SPEC_POD_SELECTOR,
        ),
        AGE_COLUMN,
    ],
    print: |policy, context| {
        // `podSelector` is a struct upstream, never nil: a missing one is the empty selector.
        let selector = get(policy, &["spec", "podSelector"]).filter(|s| !s.is_null());
        let shown = match selector {
            Some(s) => format_label_selector(Some(s)),
            None => "<none>".to_string(),
        };
        Row::from(vec![
            Value::from(name(policy)),
            Value::from(shown),
            Value::from(context.age(policy)),
        ])
    },
};

const SERVICE_CIDRS: Printer = Printer {
    columns: &[
        NAME_COLUMN,
        Column::new("CIDRs", "string", d::SERVICE_CIDR_SPEC_CIDRS),
        AGE_COLUMN,
    ],
    print: |cidr, context| {
        let cidrs: Vec<&str> = array_at(cidr, &["spec", "cidrs"])
            .iter()
            .filter_map(Value::as_str)
            .collect();
        Row::from(vec![
            Value::from(name(cidr)),
            Value::from(cidrs.join(",")),
            Value::from(context.age(cidr)),
        ])
    },
};

const IP_ADDRESSES: Printer = Printer {
    columns: &[
        NAME_COLUMN,
        Column::new("ParentRef", "string", d::IP_ADDRESS_SPEC_PARENT_REF),
    ],
    // Upstream defines two columns but prints a third cell, the age; kept as is.
    print: |address, context| {
        let parent = match get(address, &["spec", "parentRef"]).filter(|p| p.is_object()) {
            Some(p) => {
                let resource = str_at(p, &["resource"]);
                let mut shown = match str_at(p, &["group"]) {
                    "" => resource.to_lowercase(),
                    group => format!("{resource}.{group}").to_lowercase(),
                };
                if let Some(namespace) = opt_str(p, &["namespace"]).filter(|n| !n.is_empty()) {
                    shown.push('/');
                    shown.push_str(namespace);
                }
                shown.push('/');
                shown.push_str(str_at(p, &["name"]));
                shown
            }
            None => "<none>".to_string(),
        };
        Row::from(vec![
            Value::from(name(address)),
            Value::from(parent),
            Value::from(context.age(address)),
        ])
    },
};

const ENDPOINT_SLICES: Printer = Printer {
    columns: &[
        NAME_COLUMN,
        Column::new("AddressType", "string", d::ENDPOINT_SLICE_ADDRESS_TYPE),
        Column::new("Ports", "string", d::ENDPOINT_SLICE_PORTS),
        Column::new("Endpoints", "string", d::ENDPOINT_SLICE_ENDPOINTS),
        AGE_COLUMN,
    ],
    print: print_endpoint_slice,
};

fn print_endpoint_slice(slice: &Value, context: &PrintContext) -> Row {
    const MAX: usize = 3;
    let ports = array_at(slice, &["ports"]);
    let shown_ports: Vec<String> = ports
        .iter()
        .take(MAX)
        .map(
            |port| match (opt_i64(port, &["port"]), opt_str(port, &["name"])) {
                (Some(number), _) => number.to_string(),
                (None, Some(port_name)) => port_name.to_string(),
                (None, None) => "*".to_string(),
            },
        )
        .collect();
    let addresses: Vec<&str> = array_at(slice, &["endpoints"])
        .iter()
        .flat_map(|endpoint| array_at(endpoint, &["addresses"]))
        .filter_map(Value::as_str)
        .collect();
    let shown_addresses: Vec<String> = addresses.iter().take(MAX).map(|a| a.to_string()).collect();
    Row::from(vec![
        Value::from(name(slice)),
        Value::from(str_at(slice, &["addressType"])),
        Value::from(list_with_more(&shown_ports, ports.len(), MAX, "<unset>")),
        Value::from(list_with_more(
            &shown_addresses,
            addresses.len(),
            MAX,
            "<unset>",
        )),
        Value::from(context.age(slice)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::table::test_support::{object, table_cells};
    use serde_json::json;

    #[test]
    fn ingress_row() {
        let ingress = object(
            "web",
            "2024-05-01T11:00:00Z",
            json!({"spec": {"ingressClassName": "nginx", "tls": [{"hosts": ["a.example.com"]}],
                            "rules": [{"host": "a.example.com"}, {"host": "b.example.com"}]},
                   "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.10"}, {"hostname": "lb.example.com"}]}}}),
        );
        assert_eq!(
            table_cells("networking.k8s.io", "v1", "ingresses", &ingress),
            vec![
                json!("web"),
                json!("nginx"),
                json!("a.example.com,b.example.com"),
                json!("192.0.2.10,lb.example.com"),
                json!("80, 443"),
                json!("60m")
            ]
        );
        let bare = object(
            "bare",
            "2024-05-01T11:00:00Z",
            json!({"spec": {"rules": [{}]}}),
        );
        assert_eq!(
            table_cells("networking.k8s.io", "v1", "ingresses", &bare)[1..5],
            [json!("<none>"), json!("*"), json!(""), json!("80")]
        );
    }

    #[test]
    fn ingress_hosts_count_the_rest() {
        let rules: Vec<Value> = ["a", "b", "c", "d", "e"]
            .iter()
            .map(|h| json!({"host": h}))
            .collect();
        assert_eq!(ingress_hosts(&rules), "a,b,c + 2 more...");
        assert_eq!(ingress_hosts(&rules[..3]), "a,b,c");
        assert_eq!(ingress_hosts(&[]), "*");
    }

    #[test]
    fn endpoint_slice_row() {
        let slice = object(
            "web-abc",
            "2024-05-01T11:59:00Z",
            json!({"addressType": "IPv4", "ports": [{"port": 80, "name": "http"}, {"name": "metrics"}, {}],
                   "endpoints": [{"addresses": ["10.0.0.1"]}, {"addresses": ["10.0.0.2", "10.0.0.3"]},
                                 {"addresses": ["10.0.0.4"]}]}),
        );
        assert_eq!(
            table_cells("discovery.k8s.io", "v1", "endpointslices", &slice),
            vec![
                json!("web-abc"),
                json!("IPv4"),
                json!("80,metrics,*"),
                json!("10.0.0.1,10.0.0.2,10.0.0.3 + 1 more..."),
                json!("60s")
            ]
        );
        let empty = object("e", "2024-05-01T11:59:00Z", json!({"addressType": "IPv6"}));
        let cells = table_cells("discovery.k8s.io", "v1", "endpointslices", &empty);
        assert_eq!(&cells[2..4], &[json!("<unset>"), json!("<unset>")]);
    }

    #[test]
    fn network_policy_and_ingress_class_rows() {
        let policy = object(
            "deny",
            "2024-05-01T11:00:00Z",
            json!({"spec": {"podSelector": {}}}),
        );
        assert_eq!(
            table_cells("networking.k8s.io", "v1", "networkpolicies", &policy),
            vec![json!("deny"), json!("<none>"), json!("60m")]
        );
        let class = object(
            "nginx",
            "2024-05-01T11:00:00Z",
            json!({"spec": {"controller": "k8s.io/ingress-nginx",
                            "parameters": {"apiGroup": "k8s.example.com", "kind": "IngressParameters", "name": "p"}}}),
        );
        assert_eq!(
            table_cells("networking.k8s.io", "v1", "ingressclasses", &class),
            vec![
                json!("nginx"),
                json!("k8s.io/ingress-nginx"),
                json!("IngressParameters.k8s.example.com/p"),
                json!("60m")
            ]
        );
    }
}
