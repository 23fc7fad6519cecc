//! The bootstrap controller, as kube-apiserver's `pkg/controlplane/controller/kubernetesservice`,
//! `defaultservicecidr` and the lease endpoint reconciler, plus the Service allocation repair loops
//! (`pkg/registry/core/service/ipallocator/controller/repairip.go`,
//! `portallocator/controller/repair.go`):
//!
//! * the default ServiceCIDR `kubernetes` holding `server.service_cidr`;
//! * the `default/kubernetes` Service: ClusterIP = first IP of the range, port 443 `https`
//!   targeting this replica's serving port;
//! * its Endpoints and EndpointSlice `kubernetes`, listing every live replica: each replica
//!   renews a Lease in `kube-system` with its advertise address and port ([`endpoints`]);
//! * ClusterIP and NodePort repair at start-up and every three minutes ([`repair`]).
//!
//! Every write goes through the stores with preconditions or AlreadyExists, so replicas sharing
//! one database can all run it.

pub mod endpoints;
pub mod repair;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use crate::api::status::ApiResult;
use crate::registry::options::WriteOptions;
use crate::registry::resources::core::services::ip_allocator::IpRange;
use crate::registry::resources::core::services::ServiceAllocator;
use crate::registry::store::Store;
use crate::registry::stores::ResourceStores;

/// The name of the default Service, its Endpoints, EndpointSlice and the default ServiceCIDR.
pub const KUBERNETES: &str = "kubernetes";
/// How often the Service, the Lease and the endpoints are reconciled (upstream's
/// `EndpointReconcilerInterval`, 10s).
pub const RECONCILE_INTERVAL: Duration = Duration::from_secs(10);
/// How often the allocations are repaired (upstream: every 3 minutes).
pub const REPAIR_INTERVAL: Duration = Duration::from_secs(180);

/// The stores and settings the controller works with.
#[derive(Clone)]
pub struct Bootstrap {
    pub services: Arc<Store>,
    pub endpoints: Arc<Store>,
    pub endpoint_slices: Arc<Store>,
    pub leases: Arc<Store>,
    pub service_cidrs: Arc<Store>,
    pub ip_addresses: Arc<Store>,
    pub allocator: Arc<ServiceAllocator>,
    pub range: IpRange,
    /// This replica's advertised address and serving port.
    pub advertise: SocketAddr,
}

impl Bootstrap {
    /// Everything once, in upstream's order: the ServiceCIDR, the repair passes, the Service, this
    /// replica's Lease and the endpoints. Start-up fails only if the endpoints cannot be written;
    /// a Service that cannot be made yet (its IP still held by a leaked IPAddress that the repair
    /// loop frees after its grace period) is retried by [`Bootstrap::run`], as upstream's
    /// controller retries.
    pub async fn ensure(&self) -> ApiResult<()> {
        if let Err(err) = self.ensure_service_cidr().await {
            tracing::warn!(error = %err, "could not ensure the default ServiceCIDR");
        }
        self.repair().await;
        if let Err(err) = self.ensure_kubernetes_service().await {
            tracing::warn!(error = %err, "could not create the kubernetes Service; retrying");
        }
        self.reconcile_endpoints().await
    }

    /// Both repair passes; failures are logged and retried at the next period.
    pub async fn repair(&self) {
        if let Err(err) = repair::repair_cluster_ips(self).await {
            tracing::warn!(error = %err, "the ClusterIP repair pass failed");
        }
        if let Err(err) = repair::repair_node_ports(self).await {
            tracing::warn!(error = %err, "the NodePort repair pass failed");
        }
    }

    /// Runs the periodic loops until the task is dropped.
    pub async fn run(self) {
        let repairer = self.clone();
        tokio::spawn(async move {
            let mut leaks = repair::LeakTracker::default();
            loop {
                tokio::time::sleep(REPAIR_INTERVAL).await;
                if let Err(err) = repair::repair_cluster_ips(&repairer).await {
                    tracing::warn!(error = %err, "the ClusterIP repair pass failed");
                }
                if let Err(err) = repair::repair_node_ports_tracking(&repairer, &mut leaks).await {
                    tracing::warn!(error = %err, "the NodePort repair pass failed");
                }
            }
        });
        loop {
            tokio::time::sleep(RECONCILE_INTERVAL).await;
            if let Err(err) = self.ensure_service_cidr().await {
                tracing::warn!(error = %err, "could not ensure the default ServiceCIDR");
            }
            if let Err(err) = self.ensure_kubernetes_service().await {
                tracing::warn!(error = %err, "could not ensure the kubernetes Service");
            }
            if let Err(err) = self.reconcile_endpoints().await {
                tracing::warn!(error = %err, "could not reconcile the kubernetes endpoints");
            }
        }
    }

    /// Creates the default ServiceCIDR when missing and marks it Ready, as upstream's
    /// `kubernetes-service-cidr-controller`.
    pub async fn ensure_service_cidr(&self) -> ApiResult<()> {
        let current = match self.service_cidrs.get(None, KUBERNETES).await {
            Ok(current) => current,
            Err(err) if err.status.code == 404 => {
                let object = json!({
                    "apiVersion": "networking.k8s.io/v1",
                    "kind": "ServiceCIDR",
                    "metadata": {"name": KUBERNETES},
                    "spec": {"cidrs": [self.range.cidr()]},
                });
                match self
                    .service_cidrs
                    .create(None, object, &WriteOptions::default())
                    .await
                {
                    Ok(created) => created,
                    Err(err) if err.status.reason == "AlreadyExists" => {
                        self.service_cidrs.get(None, KUBERNETES).await?
                    }
                    Err(err) => return Err(err),
                }
            }
            Err(err) => return Err(err),
        };
        let ready = current
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .is_some_and(|c| {
                c.iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            });
        if ready {
            return Ok(());
        }
        let opts = WriteOptions {
            subresource: Some("status".into()),
            ..Default::default()
        };
        self.service_cidrs
            .guaranteed_update(None, KUBERNETES, &opts, |current| {
                let mut next = current.clone();
                next["status"] = json!({"conditions": [{
                    "type": "Ready",
                    "status": "True",
                    "lastTransitionTime": crate::registry::metadata::now_rfc3339(),
                    "message": "Kubernetes default Service CIDR is ready",
                }]});
                Ok(next)
            })
            .await
            .map(|_| ())
    }

    /// The `default/kubernetes` Service as upstream's `CreateOrUpdateMasterServiceIfNeeded`
    /// creates it.
    pub fn kubernetes_service(&self) -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": KUBERNETES,
                "namespace": "default",
                "labels": {"component": "apiserver", "provider": "kubernetes"},
            },
            "spec": {
                "type": "ClusterIP",
                "clusterIP": self.range.first_ip().to_string(),
                "sessionAffinity": "None",
                "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": self.advertise.port()}],
            },
        })
    }

    /// Creates the `kubernetes` Service when missing; an existing one keeps its targetPort
    /// (replicas may serve on different ports) but gets its type and `https` port back.
    pub async fn ensure_kubernetes_service(&self) -> ApiResult<()> {
        let current = match self.services.get(Some("default"), KUBERNETES).await {
            Ok(current) => current,
            Err(err) if err.status.code == 404 => {
                return match self
                    .services
                    .create(
                        Some("default"),
                        self.kubernetes_service(),
                        &WriteOptions::default(),
                    )
                    .await
                {
                    Ok(_) => {
                        tracing::info!("created the default/kubernetes Service");
                        Ok(())
                    }
                    Err(err) if err.status.reason == "AlreadyExists" => Ok(()),
                    Err(err) => Err(err),
                };
            }
            Err(err) => return Err(err),
        };
        let https_ok = current
            .pointer("/spec/ports")
            .and_then(Value::as_array)
            .is_some_and(|ports| {
                ports.len() == 1
                    && ports[0]["name"] == "https"
                    && ports[0]["port"] == 443
                    && ports[0]["protocol"] == "TCP"
            });
        if https_ok && current.pointer("/spec/type") == Some(&json!("ClusterIP")) {
            return Ok(());
        }
        let wanted = self.kubernetes_service();
        self.services
            .guaranteed_update(
                Some("default"),
                KUBERNETES,
                &WriteOptions::default(),
                |current| {
                    let mut next = current.clone();
                    next["spec"]["type"] = wanted["spec"]["type"].clone();
                    next["spec"]["ports"] = wanted["spec"]["ports"].clone();
                    Ok(next)
                },
            )
            .await
            .map(|_| ())
    }
}

/// The bootstrap controller over `stores`, allocating with `allocator` (the services store's
/// write hook) in `range`. Runs the bootstrap once (normally the `kubernetes` Service exists when
/// this returns); the periodic loops are [`Bootstrap::run`].
pub async fn start(
    config: &crate::config::Config,
    stores: &ResourceStores,
    allocator: Arc<ServiceAllocator>,
    range: IpRange,
) -> anyhow::Result<Bootstrap> {
    let store = |group: &str, plural: &str| {
        stores
            .get(group, "v1", plural)
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("the catalogue has no {plural} resource"))
    };
    let bootstrap = Bootstrap {
        services: store("", "services")?,
        endpoints: store("", "endpoints")?,
        endpoint_slices: store("discovery.k8s.io", "endpointslices")?,
        leases: store("coordination.k8s.io", "leases")?,
        service_cidrs: store("networking.k8s.io", "servicecidrs")?,
        ip_addresses: store("networking.k8s.io", "ipaddresses")?,
        allocator,
        range,
        advertise: advertise_address(config),
    };
    bootstrap
        .ensure()
        .await
        .map_err(|err| anyhow::anyhow!("writing the kubernetes endpoints: {err}"))?;
    Ok(bootstrap)
}

/// The advertised endpoint of this replica: `server.advertise_address` (or the listen IP) and
/// the listen port.
pub fn advertise_address(config: &crate::config::Config) -> SocketAddr {
    let ip: IpAddr = config
        .advertise_ip()
        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
    SocketAddr::new(ip, config.server.listen.port())
}

#[cfg(test)]
mod tests;
