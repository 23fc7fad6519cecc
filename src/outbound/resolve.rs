//! Finds the endpoint an APIService's Service is reached at, as kube-apiserver does with
//! `--enable-aggregator-routing` (there is no kube-proxy): the Service's port named by
//! `spec.service.port`, then an address of the core `Endpoints` object of the same name
//! carrying a port of the same name, else a ready endpoint of an EndpointSlice labelled
//! `kubernetes.io/service-name: <service>` with such a port.
//!
//! Failures carry the `Available` condition reason and message of upstream's
//! `pkg/controllers/status/remote/remote_available_controller.go` (the Endpoints-based wording of
//! the releases that read Endpoints rather than EndpointSlices).

use serde_json::Value;

use crate::registry::options::ListOptions;
use crate::registry::store::Store;

/// The label tying an EndpointSlice to its Service.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// Why a Service cannot be reached: the `Available=False` (or `Unknown`) reason and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreachable {
    /// `False`, or `Unknown` when the stores could not be read.
    pub status: &'static str,
    pub reason: &'static str,
    pub message: String,
}

/// The `host:port` of one ready address of Service `namespace`/`name` on service port `port`.
///
/// MUST answer `ServiceNotFound` for a missing Service, `ServicePortError` when the Service has
/// no port `port`, `EndpointsNotFound` when neither an Endpoints object nor an EndpointSlice
/// exists for it, and `MissingEndpoints` when no address carries the port's name.
pub async fn resolve_endpoint(
    services: &Store,
    endpoints: &Store,
    endpoint_slices: &Store,
    namespace: &str,
    name: &str,
    port: i64,
) -> Result<String, Unreachable> {
    let service = match services.get(Some(namespace), name).await {
        Ok(service) => service,
        Err(err) if err.status.code == 404 => {
            return Err(Unreachable {
                status: "False",
                reason: "ServiceNotFound",
                message: format!("service/{name} in {namespace:?} is not present"),
            })
        }
        Err(err) => {
            return Err(Unreachable {
                status: "Unknown",
                reason: "ServiceAccessError",
                message: format!(
                    "service/{name} in {namespace:?} cannot be checked due to: {}",
                    err.status.message
                ),
            })
        }
    };
    let port_name = service
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|p| p.get("port").and_then(Value::as_i64) == Some(port))
        .map(|p| {
            p.get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        });
    let Some(port_name) = port_name else {
        return Err(Unreachable {
            status: "False",
            reason: "ServicePortError",
            message: format!("service/{name} in {namespace:?} is not listening on port {port}"),
        });
    };
    let endpoints = match endpoints.get(Some(namespace), name).await {
        Ok(endpoints) => Some(endpoints),
        Err(err) if err.status.code == 404 => None,
        Err(err) => {
            return Err(Unreachable {
                status: "Unknown",
                reason: "EndpointsAccessError",
                message: format!(
                    "service/{name} in {namespace:?} cannot be checked due to: {}",
                    err.status.message
                ),
            })
        }
    };
    if let Some(address) = endpoints
        .as_ref()
        .and_then(|endpoints| endpoint_address(endpoints, &port_name))
    {
        return Ok(address);
    }
    let slices = endpoint_slices
        .list(
            Some(namespace),
            &ListOptions {
                label_selector: format!("{SERVICE_NAME_LABEL}={name}"),
                ..Default::default()
            },
        )
        .await
        .map(|list| list.items)
        .unwrap_or_default();
    if let Some(address) = slices
        .iter()
        .find_map(|slice| endpoint_slice_address(slice, &port_name))
    {
        return Ok(address);
    }
    if endpoints.is_none() && slices.is_empty() {
        return Err(Unreachable {
            status: "False",
            reason: "EndpointsNotFound",
            message: format!("cannot find endpoints for service/{name} in {namespace:?}"),
        });
    }
    Err(Unreachable {
        status: "False",
        reason: "MissingEndpoints",
        message: format!(
            "endpoints for service/{name} in {namespace:?} have no addresses with port name {port_name:?}"
        ),
    })
}

fn host_port(ip: &str, port: i64) -> String {
    if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
}

/// The first address of a ready endpoint (`conditions.ready` unset or true) of `slice`, when it
/// has a port named `port_name`, as `host:port`.
pub fn endpoint_slice_address(slice: &Value, port_name: &str) -> Option<String> {
    let port = slice
        .get("ports")
        .and_then(Value::as_array)?
        .iter()
        .find(|p| p.get("name").and_then(Value::as_str).unwrap_or("") == port_name)?
        .get("port")
        .and_then(Value::as_i64)?;
    let ip = slice
        .get("endpoints")
        .and_then(Value::as_array)?
        .iter()
        .filter(|e| {
            e.pointer("/conditions/ready")
                .and_then(Value::as_bool)
                .unwrap_or(true)
        })
        .find_map(|e| e.pointer("/addresses/0").and_then(Value::as_str))?;
    Some(host_port(ip, port))
}

/// The first ready address of `endpoints` with a port named `port_name`, as `host:port`
/// (IPv6 hosts bracketed).
pub fn endpoint_address(endpoints: &Value, port_name: &str) -> Option<String> {
    let subsets = endpoints.get("subsets").and_then(Value::as_array)?;
    subsets.iter().find_map(|subset| {
        let port = subset
            .get("ports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|p| p.get("name").and_then(Value::as_str).unwrap_or("") == port_name)?
            .get("port")
            .and_then(Value::as_i64)?;
        let ip = subset
            .get("addresses")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find_map(|a| a.get("ip").and_then(Value::as_str))?;
        Some(host_port(ip, port))
    })
}
