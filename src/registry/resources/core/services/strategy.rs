//! The Service strategy: upstream's defaults (`pkg/apis/core/v1/defaults.go` SetDefaults_Service),
//! the update preparation of `pkg/registry/core/service/strategy.go` (NormalizeClusterIPs,
//! dropTypeDependentFields) and `storage/storage.go` (patchAllocatedValues), and the parts of
//! `pkg/apis/core/validation` ValidateService / ValidateServiceUpdate that users hit.

use serde_json::{json, Map, Value};

use super::spec;
use crate::api::go_fmt::{go_quote, go_string_slice};
use crate::api::json::string_list;
use crate::api::names::{is_dns1123_label, is_qualified_name, is_valid_label_value, NameRule};
use crate::registry::resources::Rules;
use crate::registry::validation::{FieldError, FieldErrorKind};

/// Upstream's `DefaultClientIPServiceAffinitySeconds` (three hours).
const DEFAULT_CLIENT_IP_AFFINITY_SECONDS: i64 = 10800;

/// The rules of Services: names are DNS-1035 labels, upstream's defaults, the update preparation
/// that keeps allocated values, validation, and a delete answers the Service.
pub const RULES: Rules = Rules {
    name_rule: NameRule::Dns1035Label,
    returns_deleted_object: true,
    defaults: set_defaults,
    initial_status: Some(empty_status),
    after_create_defaults: Some(cluster_ips_of_cluster_ip),
    prepare_update: Some(prepare_update),
    validate_create: validate_service,
    validate_update: Some(validate_update),
    ..Rules::GENERIC
};

/// `clusterIPs` from a lone `clusterIP`, as upstream's `PrepareForCreate`.
fn cluster_ips_of_cluster_ip(obj: &mut Value) {
    let spec = spec_mut(obj);
    let ip = spec.get("clusterIP").and_then(Value::as_str).unwrap_or("");
    if !ip.is_empty() && string_list(spec.get("clusterIPs")).is_empty() {
        let ips = json!([ip]);
        spec.insert("clusterIPs".into(), ips);
    }
}

/// An empty status, as a new Service has (`status: {loadBalancer: {}}` on the wire).
fn empty_status() -> Value {
    json!({"loadBalancer": {}})
}

/// Upstream's `PrepareForUpdate` and `patchAllocatedValues`.
fn prepare_update(new: &mut Value, old: &Value) {
    normalize_cluster_ips(new, old);
    patch_allocated_values(new, old);
    drop_type_dependent_fields(new, old);
}

fn validate_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let mut errors = validate_cluster_ips_update(new, old);
    errors.extend(validate_service(new));
    errors
}

/// `.spec` as a map, created when missing.
fn spec_mut(obj: &mut Value) -> &mut Map<String, Value> {
    let map = obj.as_object_mut().expect("objects are JSON objects");
    let spec = map.entry("spec").or_insert_with(|| json!({}));
    if !spec.is_object() {
        *spec = json!({});
    }
    spec.as_object_mut().expect("spec was just made an object")
}

/// Upstream's SetDefaults_Service.
pub fn set_defaults(obj: &mut Value) {
    let spec = spec_mut(obj);
    let affinity = spec
        .get("sessionAffinity")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    match affinity.as_str() {
        "" | "None" => {
            spec.insert("sessionAffinity".into(), json!("None"));
            spec.remove("sessionAffinityConfig");
        }
        "ClientIP"
            if spec
                .get("sessionAffinityConfig")
                .and_then(|c| c.pointer("/clientIP/timeoutSeconds"))
                .is_none() =>
        {
            spec.insert(
                "sessionAffinityConfig".into(),
                json!({"clientIP": {"timeoutSeconds": DEFAULT_CLIENT_IP_AFFINITY_SECONDS}}),
            );
        }
        _ => {}
    }
    if spec::str_field(spec, "type").is_empty() {
        spec.insert("type".into(), json!("ClusterIP"));
    }
    if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
        for port in ports.iter_mut().filter_map(Value::as_object_mut) {
            if spec::str_field(port, "protocol").is_empty() {
                port.insert("protocol".into(), json!("TCP"));
            }
            let unset = match port.get("targetPort") {
                None | Some(Value::Null) => true,
                Some(Value::Number(n)) => n.as_i64() == Some(0),
                Some(Value::String(s)) => s.is_empty(),
                Some(_) => false,
            };
            if unset {
                let number = port.get("port").cloned().unwrap_or(json!(0));
                port.insert("targetPort".into(), number);
            }
        }
    }
    let kind = spec::str_field(spec, "type").to_string();
    let has_external_ips = !string_list(spec.get("externalIPs")).is_empty();
    let externally_accessible =
        kind == "NodePort" || kind == "LoadBalancer" || (kind == "ClusterIP" && has_external_ips);
    if externally_accessible && spec::str_field(spec, "externalTrafficPolicy").is_empty() {
        spec.insert("externalTrafficPolicy".into(), json!("Cluster"));
    }
    if matches!(kind.as_str(), "NodePort" | "LoadBalancer" | "ClusterIP")
        && spec.get("internalTrafficPolicy").is_none_or(Value::is_null)
    {
        spec.insert("internalTrafficPolicy".into(), json!("Cluster"));
    }
    if kind == "LoadBalancer"
        && spec
            .get("allocateLoadBalancerNodePorts")
            .is_none_or(Value::is_null)
    {
        spec.insert("allocateLoadBalancerNodePorts".into(), json!(true));
    }
}

/// Upstream's NormalizeClusterIPs for an update: keeps `clusterIP` and `clusterIPs` consistent
/// when a client sent only one of them.
fn normalize_cluster_ips(new: &mut Value, old: &Value) {
    let old_ip = spec::cluster_ip(old).to_string();
    let old_ips = spec::cluster_ips(old);
    let spec = spec_mut(new);
    let new_ip = spec::str_field(spec, "clusterIP").to_string();
    let mut new_ips = string_list(spec.get("clusterIPs"));
    if !old_ips.is_empty() && new_ips.is_empty() && old_ip == new_ip {
        new_ips = old_ips.clone();
        spec.insert("clusterIPs".into(), json!(new_ips));
    }
    if old_ip != new_ip {
        if !old_ip.is_empty() && new_ip.is_empty() && new_ips == old_ips {
            spec.remove("clusterIPs");
            new_ips.clear();
        }
        if new_ips == old_ips {
            spec.insert("clusterIPs".into(), json!([new_ip]));
        }
    }
}

/// Upstream's patchAllocatedValues: values the server allocated and the client left out of an
/// update (clusterIP, clusterIPs, nodePorts by port name) are kept.
fn patch_allocated_values(new: &mut Value, old: &Value) {
    if spec::needs_cluster_ip(old) && spec::needs_cluster_ip(new) {
        let old_ip = spec::cluster_ip(old).to_string();
        let old_ips = spec::cluster_ips(old);
        let spec = spec_mut(new);
        if spec::str_field(spec, "clusterIP").is_empty() && !old_ip.is_empty() {
            spec.insert("clusterIP".into(), json!(old_ip));
        }
        if string_list(spec.get("clusterIPs")).is_empty() && !old_ips.is_empty() {
            spec.insert("clusterIPs".into(), json!(old_ips));
        }
    }
    if spec::needs_node_ports(old) && spec::needs_node_ports(new) {
        let old_ports = spec::node_ports(old);
        let new_ports = spec::node_ports(new);
        let used: Vec<u16> = old_ports
            .iter()
            .copied()
            .filter(|p| new_ports.contains(p))
            .collect();
        let by_name: Vec<(String, u16)> = spec::ports(old)
            .iter()
            .map(|p| {
                (
                    spec::str_field(p, "name").to_string(),
                    spec::port_node_port(p),
                )
            })
            .collect();
        if let Some(ports) = spec_mut(new).get_mut("ports").and_then(Value::as_array_mut) {
            for port in ports.iter_mut().filter_map(Value::as_object_mut) {
                if spec::port_node_port(port) != 0 {
                    continue;
                }
                let name = spec::str_field(port, "name");
                let old_value = by_name
                    .iter()
                    .find(|(n, _)| n == name)
                    .map_or(0, |(_, p)| *p);
                if old_value != 0 && !used.contains(&old_value) {
                    port.insert("nodePort".into(), json!(old_value));
                }
            }
        }
    }
}

/// Upstream's dropTypeDependentFields: a type change wipes what the old type had allocated,
/// unless the client changed those fields itself.
fn drop_type_dependent_fields(new: &mut Value, old: &Value) {
    if spec::needs_cluster_ip(old) && !spec::needs_cluster_ip(new) {
        let same_ips = spec::cluster_ip(old) == spec::cluster_ip(new)
            && spec::cluster_ips(old) == spec::cluster_ips(new);
        let same = |field: &str| old.pointer(field) == new.pointer(field);
        let same_families = same("/spec/ipFamilies");
        let same_policy = same("/spec/ipFamilyPolicy");
        let spec = spec_mut(new);
        if same_ips {
            spec.remove("clusterIP");
            spec.remove("clusterIPs");
        }
        if same_families {
            spec.remove("ipFamilies");
        }
        if same_policy {
            spec.remove("ipFamilyPolicy");
        }
    }
    if spec::needs_node_ports(old)
        && !spec::needs_node_ports(new)
        && spec::node_ports(old) == spec::node_ports(new)
    {
        if let Some(ports) = spec_mut(new).get_mut("ports").and_then(Value::as_array_mut) {
            for port in ports.iter_mut().filter_map(Value::as_object_mut) {
                port.remove("nodePort");
            }
        }
    }
    // Upstream: internalTrafficPolicy applies to every type but ExternalName.
    if spec::needs_cluster_ip(old)
        && !spec::needs_cluster_ip(new)
        && old.pointer("/spec/internalTrafficPolicy") == new.pointer("/spec/internalTrafficPolicy")
    {
        spec_mut(new).remove("internalTrafficPolicy");
    }
    let needs_policy = |svc: &Value| {
        matches!(spec::service_type(svc), "NodePort" | "LoadBalancer")
            || !string_list(svc.pointer("/spec/externalIPs")).is_empty()
    };
    if needs_policy(old)
        && !needs_policy(new)
        && old.pointer("/spec/externalTrafficPolicy") == new.pointer("/spec/externalTrafficPolicy")
    {
        spec_mut(new).remove("externalTrafficPolicy");
    }
    if spec::service_type(old) == "LoadBalancer" && spec::service_type(new) != "LoadBalancer" {
        if let Some(map) = new.as_object_mut() {
            map.insert("status".into(), json!({"loadBalancer": {}}));
        }
    }
}

/// A field error whose value is printed as given (numbers, Go slices), not quoted.
fn invalid_raw(field: String, value: String, detail: &str) -> FieldError {
    FieldError {
        kind: FieldErrorKind::Invalid,
        field,
        value: Some(value),
        detail: detail.to_string(),
    }
}

fn unsupported(field: &str, value: &str, supported: &[&str]) -> FieldError {
    let list: Vec<String> = supported.iter().map(|s| go_quote(s)).collect();
    FieldError {
        kind: FieldErrorKind::NotSupported,
        field: field.to_string(),
        value: Some(go_quote(value)),
        detail: format!("supported values: {}", list.join(", ")),
    }
}

const PORT_RANGE_MESSAGE: &str = "must be between 1 and 65535, inclusive";

/// The parts of upstream's ValidateService that users hit.
pub fn validate_service(obj: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let kind = spec::service_type(obj);
    const TYPES: &[&str] = &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];
    if !TYPES.contains(&kind) {
        errors.push(unsupported("spec.type", kind, TYPES));
    }
    let affinity = obj
        .pointer("/spec/sessionAffinity")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !["ClientIP", "None"].contains(&affinity) {
        errors.push(unsupported(
            "spec.sessionAffinity",
            affinity,
            &["ClientIP", "None"],
        ));
    }
    let headless = spec::cluster_ip(obj) == "None";
    let ports = spec::ports(obj);
    if kind == "ExternalName" {
        if obj
            .pointer("/spec/externalName")
            .and_then(Value::as_str)
            .unwrap_or("")
            .is_empty()
        {
            errors.push(FieldError::required("spec.externalName", ""));
        }
    } else if ports.is_empty() && !headless {
        errors.push(FieldError::required("spec.ports", ""));
    }
    let mut names: Vec<&str> = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        let path = format!("spec.ports[{i}]");
        let name = spec::str_field(port, "name");
        if name.is_empty() {
            if ports.len() > 1 {
                errors.push(FieldError::required(format!("{path}.name"), ""));
            }
        } else {
            for message in is_dns1123_label(name) {
                errors.push(FieldError::invalid(format!("{path}.name"), name, message));
            }
            if names.contains(&name) {
                errors.push(FieldError {
                    kind: FieldErrorKind::Duplicate,
                    field: format!("{path}.name"),
                    value: Some(go_quote(name)),
                    detail: String::new(),
                });
            }
            names.push(name);
        }
        let number = port.get("port").and_then(Value::as_i64).unwrap_or(0);
        if !(1..=65535).contains(&number) {
            errors.push(invalid_raw(
                format!("{path}.port"),
                number.to_string(),
                PORT_RANGE_MESSAGE,
            ));
        }
        let protocol = spec::str_field(port, "protocol");
        const PROTOCOLS: &[&str] = &["SCTP", "TCP", "UDP"];
        if !PROTOCOLS.contains(&protocol) {
            errors.push(unsupported(
                &format!("{path}.protocol"),
                protocol,
                PROTOCOLS,
            ));
        }
        if let Some(target) = port.get("targetPort").and_then(Value::as_i64) {
            if !(1..=65535).contains(&target) {
                errors.push(invalid_raw(
                    format!("{path}.targetPort"),
                    target.to_string(),
                    PORT_RANGE_MESSAGE,
                ));
            }
        }
        let node_port = port.get("nodePort").and_then(Value::as_i64).unwrap_or(0);
        if node_port != 0 && kind == "ClusterIP" {
            errors.push(FieldError::forbidden(
                format!("{path}.nodePort"),
                "may not be used when `type` is 'ClusterIP'",
            ));
        } else if !(0..=65535).contains(&node_port) {
            errors.push(invalid_raw(
                format!("{path}.nodePort"),
                node_port.to_string(),
                PORT_RANGE_MESSAGE,
            ));
        }
    }
    if let Some(selector) = obj.pointer("/spec/selector").and_then(Value::as_object) {
        for (key, value) in selector {
            for message in is_qualified_name(key) {
                errors.push(FieldError::invalid("spec.selector", key, message));
            }
            let value = value.as_str().unwrap_or("");
            for message in is_valid_label_value(value) {
                errors.push(FieldError::invalid("spec.selector", value, message));
            }
        }
    }
    if kind != "ExternalName" {
        let ips = spec::cluster_ips(obj);
        for (i, ip) in ips.iter().enumerate() {
            if ip == "None" && i == 0 {
                continue;
            }
            if ip.parse::<std::net::IpAddr>().is_err() {
                errors.push(FieldError::invalid(
                    format!("spec.clusterIPs[{i}]"),
                    ip,
                    "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
                ));
            }
        }
    }
    errors
}

/// Upstream's validateUpgradeDowngradeClusterIPs for single-stack Services: an allocated
/// ClusterIP never changes.
fn validate_cluster_ips_update(new: &Value, old: &Value) -> Vec<FieldError> {
    if spec::service_type(new) == "ExternalName" || spec::service_type(old) == "ExternalName" {
        return Vec::new();
    }
    let (old_ips, new_ips) = (spec::cluster_ips(old), spec::cluster_ips(new));
    let headless = |ips: &[String]| ips.first().is_some_and(|ip| ip == "None");
    if headless(&old_ips) && headless(&new_ips) {
        return Vec::new();
    }
    let mut errors = Vec::new();
    if old_ips.len() == new_ips.len() {
        for (i, ip) in old_ips.iter().enumerate() {
            if *ip != new_ips[i] {
                errors.push(invalid_raw(
                    format!("spec.clusterIPs[{i}]"),
                    go_string_slice(&new_ips),
                    "may not change once set",
                ));
            }
        }
    } else if new_ips.is_empty() && !old_ips.is_empty() {
        errors.push(invalid_raw(
            "spec.clusterIPs[0]".to_string(),
            go_string_slice(&new_ips),
            "primary clusterIP can not be unset",
        ));
    }
    errors
}
