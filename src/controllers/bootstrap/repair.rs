//! The allocation repair passes, as upstream's `ipallocator/controller/repairip.go` (ClusterIPs
//! and their IPAddress objects) and `portallocator/controller/repair.go` (the NodePort bitmap).
//! Both are safe with several replicas running them at once: IPAddresses are created with
//! AlreadyExists and deleted with a resourceVersion precondition, the bitmap is written by
//! compare-and-swap against the revision it was read at (a lost race retries the pass).

use std::collections::HashMap;
use std::net::IpAddr;

use serde_json::Value;

use super::Bootstrap;
use crate::api::status::{ApiError, ApiResult};
use crate::registry::metadata::meta_str;
use crate::registry::options::{DeleteOptions, ListOptions, Preconditions, WriteOptions};
use crate::registry::resources::core::services::ip_allocator::{
    ip_address_object, references, ServiceRef, LABEL_IP_FAMILY, LABEL_MANAGED_BY,
    MANAGED_BY_ALLOCATOR,
};
use crate::registry::resources::core::services::port_allocator::PortBitmap;
use crate::registry::resources::core::services::spec;

/// How long an IPAddress without its Service is left alone: the Service may still be being
/// created (upstream: 60 seconds, the default request timeout).
pub const IP_ADDRESS_GRACE_SECONDS: i64 = 60;
/// Repair passes a leaked NodePort survives before it is freed (upstream's
/// `numRepairsBeforeLeakCleanup`).
pub const REPAIRS_BEFORE_LEAK_CLEANUP: u32 = 3;
/// Passes of the NodePort repair retried after losing a compare-and-swap.
const NODE_PORT_REPAIR_ATTEMPTS: usize = 3;

/// What the ClusterIP repair decides for one IPAddress managed by the allocator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IpAddressVerdict {
    /// The IPAddress matches its Service.
    Keep,
    /// Its Service is gone but the IPAddress is younger than the grace period.
    Wait,
    /// Delete it; the log line says why (upstream's wording).
    Delete(String),
}

/// Decides the fate of an IPAddress given its parent Service (`None`: not found) and its age in
/// seconds, as upstream's `syncIPAddress`.
pub fn judge_ip_address(
    ip_address: &Value,
    parent: Option<&Value>,
    age_seconds: i64,
) -> IpAddressVerdict {
    let name = meta_str(ip_address, "name");
    let reference = ip_address
        .pointer("/spec/parentRef")
        .cloned()
        .unwrap_or(Value::Null);
    let field = |f: &str| reference.get(f).and_then(Value::as_str).unwrap_or("");
    if !field("group").is_empty() || field("resource") != "services" {
        return IpAddressVerdict::Delete(format!(
            "IPAddress {name} appears to have been modified, not referencing a Service {reference}: cleaning up"
        ));
    }
    let Some(svc) = parent else {
        if age_seconds > IP_ADDRESS_GRACE_SECONDS {
            return IpAddressVerdict::Delete(format!(
                "IPAddress {name} appears to have leaked: cleaning up"
            ));
        }
        return IpAddressVerdict::Wait;
    };
    if spec::allocated_ips(svc).iter().any(|ip| ip == name) {
        return IpAddressVerdict::Keep;
    }
    IpAddressVerdict::Delete(format!(
        "the IPAddress: {name} for Service {}/{} has a wrong reference {reference}; cleaning up",
        meta_str(svc, "name"),
        meta_str(svc, "namespace"),
    ))
}

/// Seconds since `creationTimestamp` (0 when unreadable).
fn age_seconds(obj: &Value) -> i64 {
    meta_str(obj, "creationTimestamp")
        .parse::<jiff::Timestamp>()
        .map(|created| jiff::Timestamp::now().as_second() - created.as_second())
        .unwrap_or(0)
}

fn has_allocator_labels(ip_address: &Value, family: &str) -> bool {
    let label = |key: &str| {
        ip_address
            .pointer("/metadata/labels")
            .and_then(|l| l.get(key))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    label(LABEL_MANAGED_BY) == MANAGED_BY_ALLOCATOR && label(LABEL_IP_FAMILY) == family
}

/// Checks every Service's ClusterIP against its IPAddress (creating or re-creating it), then every
/// allocator-managed IPAddress against its Service (deleting leaks after the grace period).
pub async fn repair_cluster_ips(b: &Bootstrap) -> ApiResult<()> {
    let services = b.services.list(None, &ListOptions::default()).await?.items;
    let family = b.range.family();
    for svc in &services {
        let owner = ServiceRef::of(svc);
        for ip in spec::allocated_ips(svc) {
            let Ok(addr) = ip.parse::<IpAddr>() else {
                tracing::warn!("the ClusterIP {ip} for Service {}/{} is not a valid IP; please recreate Service", owner.namespace, owner.name);
                continue;
            };
            if !b.range.contains(addr) {
                tracing::warn!("the ClusterIP [{family}]: {ip} for Service {}/{} is not within any service CIDR; please recreate", owner.namespace, owner.name);
                continue;
            }
            let current = match b.ip_addresses.get(None, &ip).await {
                Ok(current) => Some(current),
                Err(err) if err.status.code == 404 => None,
                Err(err) => return Err(err),
            };
            let recreate = match &current {
                None => {
                    tracing::warn!("the ClusterIP [{family}]: {ip} for Service {}/{} is not allocated; repairing", owner.namespace, owner.name);
                    false
                }
                Some(existing) if references(existing, &owner) => {
                    if has_allocator_labels(existing, family) {
                        continue;
                    }
                    true
                }
                Some(existing) => {
                    let parent = ServiceRef {
                        namespace: existing
                            .pointer("/spec/parentRef/namespace")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string(),
                        name: existing
                            .pointer("/spec/parentRef/name")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string(),
                    };
                    let other = services.iter().find(|s| ServiceRef::of(s) == parent);
                    if other.is_some_and(|o| spec::allocated_ips(o).contains(&ip)) {
                        tracing::warn!("the cluster IP [{family}]:{ip} for service {}/{} was assigned to other services {}/{}; please recreate", owner.namespace, owner.name, parent.namespace, parent.name);
                        continue;
                    }
                    tracing::warn!("the ClusterIP [{family}]: {ip} for Service {}/{} has a wrong reference; repairing", owner.namespace, owner.name);
                    true
                }
            };
            if recreate {
                delete_ip_address(
                    b,
                    current
                        .as_ref()
                        .expect("recreate implies an existing IPAddress"),
                )
                .await?;
            }
            let object = ip_address_object(&ip, family, &owner);
            match b
                .ip_addresses
                .create(None, object, &WriteOptions::default())
                .await
            {
                Ok(_) => {}
                Err(err) if err.status.reason == "AlreadyExists" => {}
                Err(err) => return Err(err),
            }
        }
    }
    let managed = ListOptions {
        label_selector: format!("{LABEL_MANAGED_BY}={MANAGED_BY_ALLOCATOR}"),
        ..Default::default()
    };
    for ip_address in b.ip_addresses.list(None, &managed).await?.items {
        let reference = |f: &str| {
            ip_address
                .pointer(&format!("/spec/parentRef/{f}"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let parent = if reference("resource") == "services" && reference("group").is_empty() {
            match b
                .services
                .get(Some(&reference("namespace")), &reference("name"))
                .await
            {
                Ok(svc) => Some(svc),
                Err(err) if err.status.code == 404 => None,
                Err(err) => return Err(err),
            }
        } else {
            None
        };
        if let IpAddressVerdict::Delete(why) =
            judge_ip_address(&ip_address, parent.as_ref(), age_seconds(&ip_address))
        {
            tracing::warn!("{why}");
            delete_ip_address(b, &ip_address).await?;
        }
    }
    Ok(())
}

/// Deletes an IPAddress if it is still the version that was judged.
async fn delete_ip_address(b: &Bootstrap, ip_address: &Value) -> ApiResult<()> {
    let opts = DeleteOptions {
        preconditions: Some(Preconditions {
            uid: None,
            resource_version: Some(meta_str(ip_address, "resourceVersion").to_string()),
        }),
        ..Default::default()
    };
    match b
        .ip_addresses
        .delete(
            None,
            meta_str(ip_address, "name"),
            &opts,
            &WriteOptions::default(),
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(err) if err.status.code == 404 || err.status.code == 409 => Ok(()),
        Err(err) => Err(err),
    }
}

/// The NodePorts flagged as leaked, with the passes they survive still (kept between passes).
#[derive(Debug, Default)]
pub struct LeakTracker {
    leaks: HashMap<u16, u32>,
}

/// Rebuilds the NodePort bitmap from the Services, as upstream's repair: ports of Services are
/// taken (a port used twice or out of range is reported), ports only in `stored` are leaks, kept
/// until they were seen [`REPAIRS_BEFORE_LEAK_CLEANUP`] times. Answers the bitmap and the log
/// lines (upstream's wording).
pub fn rebuild_node_ports(
    stored: &PortBitmap,
    services: &[Value],
    leaks: &mut LeakTracker,
    mut rebuilt: PortBitmap,
) -> (PortBitmap, Vec<String>) {
    let mut remaining = stored.clone();
    let mut lines = Vec::new();
    let range = rebuilt.range();
    for svc in services {
        let (ns, name) = (meta_str(svc, "namespace"), meta_str(svc, "name"));
        for port in spec::node_ports(svc) {
            if !rebuilt.contains(port) {
                lines.push(format!("the port {port} for service {name}/{ns} is not within the port range {range}; please recreate"));
            } else if rebuilt.has(port) {
                lines.push(format!("the node port {port} for service {name}/{ns} was assigned to multiple services; please recreate"));
            } else {
                rebuilt.set(port);
                if remaining.has(port) {
                    remaining.clear(port);
                } else {
                    lines.push(format!(
                        "the node port {port} for service {name}/{ns} is not allocated; repairing"
                    ));
                }
                leaks.leaks.remove(&port);
            }
        }
    }
    for port in remaining.ports() {
        let count = match leaks.leaks.get(&port) {
            None => {
                lines.push(format!(
                    "the node port {port} may have leaked: flagging for later clean up"
                ));
                REPAIRS_BEFORE_LEAK_CLEANUP - 1
            }
            Some(count) => count.saturating_sub(1),
        };
        if count > 0 {
            leaks.leaks.insert(port, count);
            rebuilt.set(port);
        } else {
            leaks.leaks.remove(&port);
            lines.push(format!(
                "the node port {port} appears to have leaked: cleaning up"
            ));
        }
    }
    (rebuilt, lines)
}

/// One NodePort repair pass with a fresh leak tracker (start-up: leaks are only flagged).
pub async fn repair_node_ports(b: &Bootstrap) -> Result<(), ApiError> {
    repair_node_ports_tracking(b, &mut LeakTracker::default()).await
}

/// One NodePort repair pass: read the bitmap, list the Services, write the rebuilt bitmap if it
/// differs and nobody wrote meanwhile (else retry).
pub async fn repair_node_ports_tracking(
    b: &Bootstrap,
    leaks: &mut LeakTracker,
) -> Result<(), ApiError> {
    let ports = b.allocator.ports();
    for _ in 0..NODE_PORT_REPAIR_ATTEMPTS {
        let (stored, revision) = ports.read().await?;
        let services = b.services.list(None, &ListOptions::default()).await?.items;
        let (rebuilt, lines) = rebuild_node_ports(&stored, &services, leaks, ports.empty());
        for line in &lines {
            tracing::warn!("{line}");
        }
        if rebuilt == stored && revision.is_some() {
            return Ok(());
        }
        if ports.write(&rebuilt, revision).await? {
            return Ok(());
        }
    }
    Err(ApiError::internal(
        "the NodePort allocation kept changing during repair",
    ))
}
