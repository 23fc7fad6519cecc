//! Services: the strategy (defaults, validation, update rules) and the allocation of ClusterIPs
//! and NodePorts around the store's writes, as upstream's `pkg/registry/core/service/storage`
//! (`alloc.go`, `storage.go`). Allocations live in storage, never only in memory, so several
//! replicas on one database stay consistent: ClusterIPs as IPAddress objects
//! ([`ip_allocator`]), NodePorts as one compare-and-swapped bitmap ([`port_allocator`]).
//!
//! [`ServiceAllocator`] is the services store's [`WriteHook`]: a create allocates (and the
//! store's failure to write releases again), an update allocates what the new object adds and
//! releases what it drops once written, a delete releases everything.

pub mod ip_allocator;
pub mod port_allocator;
pub mod spec;
pub mod strategy;

use crate::api::go_fmt::go_quote;
use std::net::IpAddr;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{json, Value};

use self::ip_allocator::{AllocError, IpAllocator, IpRange, ServiceRef};
use self::port_allocator::{PortAllocator, PortRequest};
use crate::api::json::string_list;
use crate::api::status::{ApiError, ApiResult};
use crate::registry::metadata::meta_str;
use crate::registry::store::hooks::{WriteFinish, WriteHook};
use crate::registry::store::Store;
use crate::registry::validation::{FieldError, FieldErrorKind};

pub use strategy::RULES;

/// The ClusterIP and NodePort allocators of the cluster.
pub struct ServiceAllocator {
    ips: IpAllocator,
    ports: PortAllocator,
}

impl ServiceAllocator {
    /// Allocators for `service_cidr` (IPAddress objects through `ip_addresses`) and the NodePort
    /// range `first` .. `first + size - 1` (a bitmap in `storage`).
    pub fn new(
        range: IpRange,
        ip_addresses: Arc<Store>,
        storage: Arc<dyn apiary_storage::Storage>,
        first_node_port: u16,
        node_port_count: u32,
    ) -> Self {
        Self {
            ips: IpAllocator::new(range, ip_addresses),
            ports: PortAllocator::new(storage, first_node_port, node_port_count),
        }
    }

    pub fn ips(&self) -> &IpAllocator {
        &self.ips
    }

    pub fn ports(&self) -> &PortAllocator {
        &self.ports
    }

    /// Upstream's initIPFamilyFields for a single-stack cluster: `ipFamilyPolicy` (from the old
    /// object on update, `RequireDualStack` for headless Services without selector, else
    /// `SingleStack`) and `ipFamilies`.
    fn init_ip_families(&self, svc: &mut Value, old: Option<&Value>) -> ApiResult<()> {
        if spec::service_type(svc) == "ExternalName" {
            return Ok(());
        }
        let family = self.ips.range().family();
        let headless_selectorless = spec::cluster_ip(svc) == "None"
            && svc
                .pointer("/spec/selector")
                .and_then(Value::as_object)
                .is_none_or(|s| s.is_empty());
        let name = meta_str(svc, "name").to_string();
        let spec = spec_map(svc);
        if spec::str_field(spec, "ipFamilyPolicy").is_empty() {
            let policy = match old.and_then(|o| o.pointer("/spec/ipFamilyPolicy")) {
                Some(Value::String(p)) if !p.is_empty() => p.clone(),
                _ if headless_selectorless => "RequireDualStack".to_string(),
                _ => "SingleStack".to_string(),
            };
            spec.insert("ipFamilyPolicy".into(), json!(policy));
        }
        let policy = spec::str_field(spec, "ipFamilyPolicy").to_string();
        let mut families = string_list(spec.get("ipFamilies"));
        let mut errors = Vec::new();
        if headless_selectorless {
            if families.is_empty() {
                families.push(family.to_string());
            }
            if families.len() < 2 && policy != "SingleStack" {
                let other = if families[0] == "IPv4" {
                    "IPv6"
                } else {
                    "IPv4"
                };
                families.push(other.to_string());
            }
            spec.insert("ipFamilies".into(), json!(families));
            return Ok(());
        }
        if policy == "RequireDualStack" {
            errors.push(FieldError {
                kind: FieldErrorKind::Invalid,
                field: "spec.ipFamilyPolicy".into(),
                value: Some(go_quote(&policy)),
                detail: "this cluster is not configured for dual-stack services".into(),
            });
        }
        for (i, f) in families.iter().enumerate() {
            if f != family {
                errors.push(FieldError::invalid(
                    format!("spec.ipFamilies[{i}]"),
                    f,
                    "not configured on this cluster",
                ));
            }
        }
        if !errors.is_empty() {
            return Err(invalid(&name, errors));
        }
        if families.is_empty() {
            spec.insert("ipFamilies".into(), json!([family]));
        }
        Ok(())
    }

    /// Allocates the ClusterIP of a Service that needs one; answers the IPs allocated.
    async fn allocate_cluster_ip(&self, svc: &mut Value, dry_run: bool) -> ApiResult<Vec<String>> {
        if !spec::needs_cluster_ip(svc) || spec::cluster_ip(svc) == "None" {
            return Ok(Vec::new());
        }
        let owner = ServiceRef::of(svc);
        let requested = spec::cluster_ips(svc)
            .first()
            .cloned()
            .unwrap_or_else(|| spec::cluster_ip(svc).to_string());
        let ip = if requested.is_empty() {
            self.ips
                .allocate_next(&owner, dry_run)
                .await
                .map_err(|err| alloc_internal("serviceIP", &err))?
        } else {
            let parsed: IpAddr = requested.parse().map_err(|_| {
                invalid(
                    &owner.name,
                    vec![FieldError::invalid(
                        "spec.clusterIPs[0]",
                        &requested,
                        "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
                    )],
                )
            })?;
            if let Err(err) = self.ips.allocate(parsed, &owner, dry_run).await {
                if let AllocError::Api(api) = err {
                    return Err(api);
                }
                let ips = spec::cluster_ips(svc);
                let ips = if ips.is_empty() {
                    vec![requested.clone()]
                } else {
                    ips
                };
                return Err(invalid(
                    &owner.name,
                    vec![FieldError {
                        kind: FieldErrorKind::Invalid,
                        field: "spec.clusterIPs".into(),
                        value: Some(crate::api::go_fmt::go_string_slice(&ips)),
                        detail: format!("failed to allocate IP {requested}: {err}"),
                    }],
                ));
            }
            parsed
        };
        let ip = ip.to_string();
        let spec = spec_map(svc);
        spec.insert("clusterIP".into(), json!(ip));
        spec.insert("clusterIPs".into(), json!([ip]));
        Ok(if dry_run { Vec::new() } else { vec![ip] })
    }

    /// Allocates the NodePorts `svc` needs beyond those of `old` (upstream's initNodePorts and
    /// updateNodePorts); answers the ports allocated.
    async fn allocate_node_ports(
        &self,
        svc: &mut Value,
        old: Option<&Value>,
        dry_run: bool,
    ) -> ApiResult<Vec<u16>> {
        if !spec::needs_node_ports(svc) {
            return Ok(Vec::new());
        }
        let allocate_new = spec::should_allocate_node_ports(svc);
        let held = old.map(spec::node_ports).unwrap_or_default();
        let ports: Vec<(u16, u16)> = spec::ports(svc)
            .iter()
            .map(|p| {
                let number = p.get("port").and_then(Value::as_u64).unwrap_or(0) as u16;
                (number, spec::port_node_port(p))
            })
            .collect();
        // Which service ports get which request; ports sharing a port number share a NodePort.
        let mut requests: Vec<PortRequest> = Vec::new();
        let mut request_of: Vec<Option<usize>> = vec![None; ports.len()];
        for (i, (number, node_port)) in ports.iter().enumerate() {
            if *node_port != 0 {
                if held.contains(node_port) {
                    continue;
                }
                let same = requests
                    .iter()
                    .position(|r| *r == PortRequest::Specific(*node_port));
                request_of[i] = Some(same.unwrap_or_else(|| {
                    requests.push(PortRequest::Specific(*node_port));
                    requests.len() - 1
                }));
            } else if allocate_new {
                let sibling = ports[..i]
                    .iter()
                    .zip(&request_of)
                    .position(|((n, _), r)| n == number && r.is_some());
                let reused = sibling.and_then(|s| request_of[s]).or_else(|| {
                    // A later port with the same number asking for a given NodePort.
                    ports[i + 1..]
                        .iter()
                        .find(|(n, np)| n == number && *np != 0 && !held.contains(np))
                        .map(|(_, np)| {
                            requests
                                .iter()
                                .position(|r| *r == PortRequest::Specific(*np))
                                .unwrap_or_else(|| {
                                    requests.push(PortRequest::Specific(*np));
                                    requests.len() - 1
                                })
                        })
                });
                request_of[i] = Some(reused.unwrap_or_else(|| {
                    requests.push(PortRequest::Any);
                    requests.len() - 1
                }));
            }
        }
        let name = meta_str(svc, "name").to_string();
        let allocated = match self.ports.allocate(&requests, dry_run).await {
            Ok(allocated) => allocated,
            Err((_, port_allocator::PortError::Api(err))) => return Err(err),
            Err((at, err)) => {
                return Err(match requests[at] {
                    PortRequest::Any => alloc_internal("nodePort", &err),
                    PortRequest::Specific(port) => {
                        let index = request_of.iter().position(|r| *r == Some(at)).unwrap_or(0);
                        invalid(
                            &name,
                            vec![FieldError {
                                kind: FieldErrorKind::Invalid,
                                field: format!("spec.ports[{index}].nodePort"),
                                value: Some(port.to_string()),
                                detail: err.to_string(),
                            }],
                        )
                    }
                })
            }
        };
        if let Some(list) = spec_map(svc).get_mut("ports").and_then(Value::as_array_mut) {
            for (i, port) in list.iter_mut().enumerate() {
                if let (Some(Some(r)), Some(port)) = (request_of.get(i), port.as_object_mut()) {
                    port.insert("nodePort".into(), json!(allocated[*r]));
                }
            }
        }
        Ok(if dry_run { Vec::new() } else { allocated })
    }

    async fn release(&self, owner: &ServiceRef, ips: &[String], ports: &[u16]) {
        for ip in ips {
            self.ips.release(ip, owner).await;
        }
        self.ports.release(ports).await;
    }
}

/// `.spec` as a map (created when missing).
fn spec_map(svc: &mut Value) -> &mut serde_json::Map<String, Value> {
    let map = svc.as_object_mut().expect("objects are JSON objects");
    let spec = map.entry("spec").or_insert_with(|| json!({}));
    if !spec.is_object() {
        *spec = json!({});
    }
    spec.as_object_mut().expect("spec is an object")
}

fn invalid(name: &str, errors: Vec<FieldError>) -> ApiError {
    ApiError::invalid(
        "",
        "Service",
        name,
        errors.iter().map(FieldError::to_cause).collect(),
    )
}

/// Upstream's InternalError for a failed automatic allocation, e.g. `failed to allocate a
/// serviceIP: range is full`.
fn alloc_internal(what: &str, err: &dyn std::fmt::Display) -> ApiError {
    ApiError::internal(format!("failed to allocate a {what}: {err}"))
}

/// What a begun Service write holds: allocations to undo on failure, releases to do on success.
struct Allocation {
    allocator: Arc<ServiceAllocator>,
    owner: ServiceRef,
    allocated_ips: Vec<String>,
    allocated_ports: Vec<u16>,
    release_ips: Vec<String>,
    release_ports: Vec<u16>,
}

#[async_trait]
impl WriteFinish for Allocation {
    async fn finish(self: Box<Self>, written: bool) {
        if written {
            self.allocator
                .release(&self.owner, &self.release_ips, &self.release_ports)
                .await;
        } else {
            self.allocator
                .release(&self.owner, &self.allocated_ips, &self.allocated_ports)
                .await;
        }
    }
}

/// The services store's hook; wraps the shared allocator.
pub struct ServiceAllocationHook(pub Arc<ServiceAllocator>);

#[async_trait]
impl WriteHook for ServiceAllocationHook {
    async fn begin_create(
        &self,
        obj: &mut Value,
        dry_run: bool,
    ) -> ApiResult<Box<dyn WriteFinish>> {
        let alloc = &self.0;
        alloc.init_ip_families(obj, None)?;
        let ips = alloc.allocate_cluster_ip(obj, dry_run).await?;
        let owner = ServiceRef::of(obj);
        let ports = match alloc.allocate_node_ports(obj, None, dry_run).await {
            Ok(ports) => ports,
            Err(err) => {
                alloc.release(&owner, &ips, &[]).await;
                return Err(err);
            }
        };
        Ok(Box::new(Allocation {
            allocator: alloc.clone(),
            owner,
            allocated_ips: ips,
            allocated_ports: ports,
            release_ips: Vec::new(),
            release_ports: Vec::new(),
        }))
    }

    async fn begin_update(
        &self,
        old: &Value,
        new: &mut Value,
        dry_run: bool,
    ) -> ApiResult<Box<dyn WriteFinish>> {
        let alloc = &self.0;
        let owner = ServiceRef::of(old);
        alloc.init_ip_families(new, Some(old))?;
        let mut allocated_ips = Vec::new();
        let mut release_ips = Vec::new();
        let old_external = spec::service_type(old) == "ExternalName";
        let new_external = spec::service_type(new) == "ExternalName";
        if old_external && !new_external {
            allocated_ips = alloc.allocate_cluster_ip(new, dry_run).await?;
        } else if !old_external && new_external {
            release_ips = spec::allocated_ips(old);
        }
        let allocated_ports = match alloc.allocate_node_ports(new, Some(old), dry_run).await {
            Ok(ports) => ports,
            Err(err) => {
                alloc.release(&owner, &allocated_ips, &[]).await;
                return Err(err);
            }
        };
        let kept = if spec::needs_node_ports(new) {
            spec::node_ports(new)
        } else {
            Vec::new()
        };
        let release_ports = spec::node_ports(old)
            .into_iter()
            .filter(|p| !kept.contains(p))
            .collect();
        if dry_run {
            return Ok(Box::new(crate::registry::store::hooks::NothingToFinish));
        }
        Ok(Box::new(Allocation {
            allocator: alloc.clone(),
            owner,
            allocated_ips,
            allocated_ports,
            release_ips,
            release_ports,
        }))
    }

    async fn after_delete(&self, obj: &Value) {
        let owner = ServiceRef::of(obj);
        let ports = if spec::needs_node_ports(obj) {
            spec::node_ports(obj)
        } else {
            Vec::new()
        };
        self.0
            .release(&owner, &spec::allocated_ips(obj), &ports)
            .await;
    }
}

#[cfg(test)]
mod tests;
