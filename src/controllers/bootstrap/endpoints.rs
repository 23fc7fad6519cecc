//! The endpoints of the `kubernetes` Service, as upstream's lease endpoint reconciler
//! (`pkg/controlplane/reconcilers/lease.go`) and its EndpointSlice adapter
//! (`endpointsadapter.go`): every replica renews a Lease in `kube-system` naming its advertised
//! address and port; the Endpoints and EndpointSlice `default/kubernetes` list the replicas whose
//! Lease has not expired.

use std::net::SocketAddr;

use serde_json::{json, Value};

use super::{Bootstrap, KUBERNETES};
use crate::api::status::ApiResult;
use crate::registry::options::{ListOptions, WriteOptions};

/// The label marking the endpoint Leases of API server replicas.
pub const LEASE_LABEL: &str = "apiary.dev/kubernetes-endpoint";
/// How long a replica's Lease lasts without renewal (upstream's master lease TTL, 15s).
pub const LEASE_DURATION_SECONDS: i64 = 15;
/// The label upstream puts on the `kubernetes` Endpoints so it is not mirrored into slices.
pub const SKIP_MIRROR_LABEL: &str = "endpointslice.kubernetes.io/skip-mirror";
/// The label naming an EndpointSlice's Service.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// The name of the Lease of the replica serving at `addr`.
pub fn lease_name(addr: &SocketAddr) -> String {
    let ip: String = addr
        .ip()
        .to_string()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!(
        "apiserver-endpoint-{}-{}",
        ip.trim_matches('-'),
        addr.port()
    )
}

/// Now as a `MicroTime` (`renewTime`).
fn now_micro() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S.%6fZ")
        .to_string()
}

/// The live endpoints of `leases` at `now`: holders whose `renewTime` plus duration is later,
/// sorted and without repeats.
pub fn live_endpoints(leases: &[Value], now: jiff::Timestamp) -> Vec<SocketAddr> {
    let mut live: Vec<SocketAddr> = leases
        .iter()
        .filter(|lease| {
            let renewed = lease
                .pointer("/spec/renewTime")
                .and_then(Value::as_str)
                .and_then(|t| t.parse::<jiff::Timestamp>().ok());
            let duration = lease
                .pointer("/spec/leaseDurationSeconds")
                .and_then(Value::as_i64)
                .unwrap_or(LEASE_DURATION_SECONDS);
            renewed.is_some_and(|t| {
                t.checked_add(jiff::SignedDuration::from_secs(duration))
                    .is_ok_and(|expiry| expiry > now)
            })
        })
        .filter_map(|lease| {
            lease
                .pointer("/spec/holderIdentity")
                .and_then(Value::as_str)
                .and_then(|h| h.parse().ok())
        })
        .collect();
    live.sort();
    live.dedup();
    live
}

/// The `kubernetes` Endpoints listing `live`: one subset per port, as upstream shapes them.
pub fn endpoints_object(live: &[SocketAddr]) -> Value {
    let mut ports: Vec<u16> = live.iter().map(SocketAddr::port).collect();
    ports.sort();
    ports.dedup();
    let subsets: Vec<Value> = ports
        .iter()
        .map(|port| {
            let addresses: Vec<Value> = live
                .iter()
                .filter(|a| a.port() == *port)
                .map(|a| json!({"ip": a.ip().to_string()}))
                .collect();
            json!({"addresses": addresses, "ports": [{"name": "https", "port": port, "protocol": "TCP"}]})
        })
        .collect();
    let mut object = json!({
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": KUBERNETES, "namespace": "default", "labels": {SKIP_MIRROR_LABEL: "true"}},
    });
    if !subsets.is_empty() {
        object["subsets"] = json!(subsets);
    }
    object
}

/// The EndpointSlice upstream's adapter derives from the Endpoints (its first subset).
pub fn endpoint_slice_object(endpoints: &Value) -> Value {
    let subset = endpoints.pointer("/subsets/0");
    let addresses: Vec<&str> = subset
        .and_then(|s| s.get("addresses"))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|a| a["ip"].as_str()).collect())
        .unwrap_or_default();
    let v6 = !addresses.is_empty() && addresses.iter().all(|a| a.contains(':'));
    let mut slice = json!({
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": KUBERNETES, "namespace": "default", "labels": {SERVICE_NAME_LABEL: KUBERNETES}},
        "addressType": if v6 { "IPv6" } else { "IPv4" },
        "endpoints": addresses
            .iter()
            .map(|ip| json!({"addresses": [ip], "conditions": {"ready": true}}))
            .collect::<Vec<_>>(),
    });
    if let Some(ports) = subset.and_then(|s| s.get("ports")) {
        slice["ports"] = ports.clone();
    }
    slice
}

/// Whether `current` already has `wanted`'s content (labels and the fields outside metadata).
fn same_content(current: &Value, wanted: &Value) -> bool {
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Some(map) = v.as_object_mut() {
            map.remove("metadata");
            map.remove("apiVersion");
            map.remove("kind");
        }
        v
    };
    current.pointer("/metadata/labels") == wanted.pointer("/metadata/labels")
        && strip(current) == strip(wanted)
}

impl Bootstrap {
    /// Renews this replica's Lease, then writes the Endpoints and EndpointSlice of the live
    /// replicas when they differ.
    pub async fn reconcile_endpoints(&self) -> ApiResult<()> {
        self.renew_lease().await?;
        let selector = ListOptions {
            label_selector: LEASE_LABEL.to_string(),
            ..Default::default()
        };
        let leases = self.leases.list(Some("kube-system"), &selector).await?;
        let live = live_endpoints(&leases.items, jiff::Timestamp::now());
        let endpoints = endpoints_object(&live);
        let slice = endpoint_slice_object(&endpoints);
        self.write_if_changed(&self.endpoints, endpoints).await?;
        self.write_if_changed(&self.endpoint_slices, slice).await
    }

    async fn renew_lease(&self) -> ApiResult<()> {
        let name = lease_name(&self.advertise);
        let lease = json!({
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": name, "namespace": "kube-system", "labels": {LEASE_LABEL: "true"}},
            "spec": {
                "holderIdentity": self.advertise.to_string(),
                "leaseDurationSeconds": LEASE_DURATION_SECONDS,
                "renewTime": now_micro(),
            },
        });
        // Leases are created on update (PUT without resourceVersion): last write wins, and each
        // replica only writes its own.
        self.leases
            .update(Some("kube-system"), &name, lease, &WriteOptions::default())
            .await
            .map(|_| ())
    }

    async fn write_if_changed(
        &self,
        store: &crate::registry::store::Store,
        wanted: Value,
    ) -> ApiResult<()> {
        match store.get(Some("default"), KUBERNETES).await {
            Ok(current) if same_content(&current, &wanted) => return Ok(()),
            Ok(_) => {}
            Err(err) if err.status.code == 404 => {}
            Err(err) => return Err(err),
        }
        store
            .update(
                Some("default"),
                KUBERNETES,
                wanted,
                &WriteOptions::default(),
            )
            .await
            .map(|_| ())
    }
}
