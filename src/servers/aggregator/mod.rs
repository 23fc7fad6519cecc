//! The aggregator server: `apiregistration.k8s.io/v1` APIServices and the proxy to extension API
//! servers, as upstream's `k8s.io/kube-aggregator/pkg/apiserver` (`apiserver.go`,
//! `handler_proxy.go`).
//!
//! It is the first server of the chain. It answers:
//!
//! * `/apis/apiregistration.k8s.io/v1/apiservices[...]` from its own store, through the generic
//!   REST layer ([`crate::servers::core::router`]);
//! * `/apis/<group>/<version>` and everything under it, for an APIService with `spec.service`,
//!   by proxying to an endpoint of that Service ([`proxy`]);
//! * everything else by handing it to the next server (core).
//!
//! Around it run the upstream controllers: [`available`] keeps the `Available` condition of every
//! APIService and the discovery documents of remote group/versions up to date, and
//! [`autoregister`] creates the local APIServices of the built-in group/versions.
//! [`authentication_config`] publishes kube-system's `extension-apiserver-authentication`
//! ConfigMap, which extension servers read to trust the proxy's headers.

pub mod authentication_config;
pub mod autoregister;
pub mod available;
pub mod proxy;
pub mod validation;

#[cfg(test)]
mod tests;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

use axum::extract::{Request, State};
use axum::middleware::from_fn_with_state;
use axum::response::Response;
use axum::routing::any;
use axum::Router;
use tower::ServiceExt;

use crate::api::discovery::FRESHNESS_CURRENT;
use crate::catalog::{build, ApiServicePriority, ResourceInfo, APIREGISTRATION_GROUP};
use crate::filters::handled_by::{self, mark_handled_by};
use crate::outbound::tls::ProxyIdentity;
use crate::outbound::webhook::WebhookClient;
use crate::registry::store::{Store, StoreConfig};
use crate::registry::stores::ResourceStores;
use crate::registry::table::TableConvertor;
use crate::servers::core;
use crate::servers::discovery::{
    resource_entries, DiscoveryRegistry, DiscoverySource, GroupVersionDocument,
};

/// The request-log name of the aggregator's REST layer.
pub const AGGREGATOR_REST: &str = "aggregator/rest";
/// The request-log name of proxied requests.
pub const AGGREGATOR_PROXY: &str = "aggregator/proxy";

/// `apiregistration.k8s.io/v1` `apiservices`, as upstream's discovery lists it: cluster-scoped,
/// every verb, category `api-extensions`, a `status` subresource, no short names.
pub fn api_services() -> ResourceInfo {
    ResourceInfo {
        categories: build::names(&["api-extensions"]),
        subresources: vec![build::status("APIService")],
        ..build::resource(
            APIREGISTRATION_GROUP,
            "v1",
            "APIService",
            "apiservices",
            "apiservice",
            false,
        )
    }
}

/// The discovery priority of `apiregistration.k8s.io/v1` (kube-apiserver's
/// `apiVersionPriorities`); `/apis` lists the group first whatever its priority.
pub const APIREGISTRATION_PRIORITY: ApiServicePriority = ApiServicePriority {
    group: 18000,
    version: 15,
};

/// The aggregator: its store, the stores it resolves Services with, the shared discovery
/// registry and the proxy routes of remote APIServices.
pub struct Aggregator {
    api_services: Arc<Store>,
    services: Arc<Store>,
    endpoints: Arc<Store>,
    endpoint_slices: Arc<Store>,
    configmaps: Arc<Store>,
    discovery: Arc<DiscoveryRegistry>,
    identity: Arc<ProxyIdentity>,
    /// The front-proxy CA (PEM), published for extension servers.
    front_proxy_ca_pem: String,
    /// The cluster CA (PEM), published as `client-ca-file` when present.
    client_ca_pem: Option<String>,
    /// `(group, version)` -> how to reach the APIService serving it; only APIServices with a
    /// service are here.
    routes: RwLock<HashMap<(String, String), Arc<proxy::ProxyRoute>>>,
    /// The remote group/versions registered in discovery by [`available`].
    registered: Mutex<BTreeSet<(String, String)>>,
    /// `(namespace, name)` of the Services APIServices point at: changes of these Services and
    /// of their Endpoints trigger a check.
    referenced_services: RwLock<HashSet<(String, String)>>,
}

impl std::fmt::Debug for Aggregator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Aggregator").finish_non_exhaustive()
    }
}

impl Aggregator {
    /// An aggregator storing APIServices in `storage`, resolving Services through the core
    /// `services`, `endpoints`, `discovery.k8s.io/v1` `endpointslices` (and publishing through
    /// `configmaps`) stores of `core_stores`,
    /// registering discovery in `discovery`, and proxying with the front-proxy client
    /// certificate under `data_dir` (created at first start, [`crate::pki::ensure_front_proxy`]).
    ///
    /// MUST fail when a needed core store is missing or the certificates cannot be made.
    pub fn new(
        storage: Arc<dyn apiary_storage::Storage>,
        core_stores: &ResourceStores,
        discovery: Arc<DiscoveryRegistry>,
        data_dir: &Path,
    ) -> anyhow::Result<Arc<Self>> {
        let core_store = |plural: &str| {
            core_stores
                .get("", "v1", plural)
                .cloned()
                .ok_or_else(|| anyhow::anyhow!("the core server has no {plural} store"))
        };
        let front_proxy = crate::pki::ensure_front_proxy(data_dir)
            .map_err(|err| anyhow::anyhow!("creating the front-proxy certificates: {err}"))?;
        let identity =
            ProxyIdentity::from_pem(&front_proxy.client_cert_pem, &front_proxy.client_key_pem)
                .map_err(|err| {
                    anyhow::anyhow!("loading the front-proxy client certificate: {err}")
                })?;
        let client_ca_pem = std::fs::read_to_string(data_dir.join(crate::pki::CA_CERT_FILE)).ok();
        let info = api_services();
        let table = TableConvertor::builtin(&info.group, &info.plural);
        let api_services = Arc::new(Store::new(
            Arc::new(info),
            storage,
            Arc::new(validation::ApiServiceStrategy),
            StoreConfig {
                table,
                ..StoreConfig::default()
            },
        ));
        Ok(Arc::new(Self {
            api_services,
            services: core_store("services")?,
            endpoints: core_store("endpoints")?,
            endpoint_slices: core_stores
                .get("discovery.k8s.io", "v1", "endpointslices")
                .cloned()
                .ok_or_else(|| anyhow::anyhow!("the core server has no endpointslices store"))?,
            configmaps: core_store("configmaps")?,
            discovery,
            identity: Arc::new(identity),
            front_proxy_ca_pem: front_proxy.ca_cert_pem,
            client_ca_pem,
            routes: RwLock::new(HashMap::new()),
            registered: Mutex::new(BTreeSet::new()),
            referenced_services: RwLock::new(HashSet::new()),
        }))
    }

    /// A client for webhooks, reaching Services as the aggregator reaches APIServices.
    pub fn webhook_client(&self) -> Arc<WebhookClient> {
        Arc::new(WebhookClient {
            services: self.services.clone(),
            endpoints: self.endpoints.clone(),
            endpoint_slices: self.endpoint_slices.clone(),
            identity: self.identity.clone(),
            credentials: Default::default(),
            pool: Default::default(),
        })
    }

    /// The store of `apiservices`.
    pub fn api_services(&self) -> &Arc<Store> {
        &self.api_services
    }

    /// Registers `apiregistration.k8s.io/v1` in discovery, creates the local APIServices of
    /// `catalog`'s group/versions (and of the aggregator's own group), publishes the
    /// `extension-apiserver-authentication` ConfigMap, and starts the availability controller.
    ///
    /// MUST be called once, from within a Tokio runtime, before the server reports ready.
    pub async fn start(
        self: &Arc<Self>,
        catalog: &'static crate::catalog::Catalog,
    ) -> anyhow::Result<()> {
        self.register_own_group();
        autoregister::ensure_builtin(self, catalog)
            .await
            .map_err(|err| anyhow::anyhow!("registering the local APIServices: {err}"))?;
        authentication_config::publish(self).await.map_err(|err| {
            anyhow::anyhow!("publishing extension-apiserver-authentication: {err}")
        })?;
        available::sync_all(self).await;
        tokio::spawn(available::run(self.clone()));
        Ok(())
    }

    /// Puts `apiregistration.k8s.io/v1` (`apiservices`, `apiservices/status`) into discovery.
    pub fn register_own_group(&self) {
        self.discovery.add_group_version(
            DiscoverySource::Aggregator,
            GroupVersionDocument {
                group: APIREGISTRATION_GROUP.to_string(),
                version: "v1".to_string(),
                priority: APIREGISTRATION_PRIORITY,
                resources: resource_entries(self.api_services.info()),
                freshness: FRESHNESS_CURRENT.to_string(),
            },
        );
    }

    /// The proxy route of `group`/`version`, when an APIService with a service serves it.
    pub fn route(&self, group: &str, version: &str) -> Option<Arc<proxy::ProxyRoute>> {
        self.routes
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(group.to_string(), version.to_string()))
            .cloned()
    }

    /// Whether an APIService points at Service `namespace`/`name` (as of the last check).
    pub fn references_service(&self, namespace: &str, name: &str) -> bool {
        self.referenced_services
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&(namespace.to_string(), name.to_string()))
    }

    /// The aggregator's router: APIServices and proxied group/versions here, everything else
    /// to `next`.
    pub fn router(self: &Arc<Self>, next: Router) -> Router {
        let mut stores = ResourceStores::new();
        stores.insert(self.api_services.clone());
        let rest =
            core::router(core::CoreContext::new(Arc::new(stores)).with_delegate(next.clone()))
                .route_layer(from_fn_with_state(AGGREGATOR_REST, mark_handled_by));
        let state = Arc::new(RouterState {
            aggregator: self.clone(),
            rest,
            next: next.clone(),
        });
        Router::new()
            .route("/apis/{*rest}", any(dispatch))
            .with_state(state)
            .fallback_service(next)
    }
}

struct RouterState {
    aggregator: Arc<Aggregator>,
    rest: Router,
    next: Router,
}

/// The group and version of an `/apis/<group>/<version>[/...]` path.
pub fn aggregated_group_version(path: &str) -> Option<(String, String)> {
    let mut segments = path.trim_start_matches('/').split('/');
    if segments.next()? != "apis" {
        return None;
    }
    let group = segments.next().filter(|s| !s.is_empty())?;
    let version = segments.next().filter(|s| !s.is_empty())?;
    Some((group.to_string(), version.to_string()))
}

async fn dispatch(State(state): State<Arc<RouterState>>, request: Request) -> Response {
    let target = match aggregated_group_version(request.uri().path()) {
        Some((group, _)) if group == APIREGISTRATION_GROUP => state.rest.clone(),
        Some((group, version)) => match state.aggregator.route(&group, &version) {
            Some(route) => {
                let mut response = proxy::forward(&state.aggregator, &route, request).await;
                response.extensions_mut().insert(handled_by::HandledBy {
                    server: AGGREGATOR_PROXY,
                });
                return response;
            }
            None => state.next.clone(),
        },
        None => state.next.clone(),
    };
    match target.oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}
