//! The delegating servers: aggregator -> core -> apiextensions -> not found.
//!
//! Each server is an axum `Router` whose fallback is the next server, as kube-apiserver chains its
//! servers by delegation: aggregator ([`aggregator`]: APIServices, proxying to extension API
//! servers) -> core ([`core`]: system endpoints, OpenAPI, discovery and the REST layer of built-in
//! resources) -> apiextensions ([`apiextensions`]: CRDs and custom resources) -> [`not_found`].
//! The discovery documents are one [`discovery::DiscoveryRegistry`] the servers share: built-in
//! groups are static, remote groups are registered by the aggregator, CRD groups by the CRD
//! controller. This module turns stores into routes; the composition root (`control_plane`)
//! builds the stores and chains the servers.

pub mod aggregator;
pub mod apiextensions;
pub mod core;
pub mod discovery;
pub mod system;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use axum::middleware::from_fn_with_state;
use axum::Router;

use crate::api::status::ApiError;
use crate::filters::authn::Authentication;
use crate::filters::handled_by::{self, mark_handled_by};
use crate::filters::metrics::Metrics;
use crate::openapi::OpenApiService;
use crate::rbac::RbacAuthorizer;
use crate::registry::stores::ResourceStores;
use crate::request::authorization::Authorization;

/// The last server of the chain: upstream's 404 Status for every path.
pub fn not_found() -> Router {
    Router::new()
        .fallback(|| async { ApiError::path_not_found() })
        .layer(from_fn_with_state(handled_by::NOT_FOUND, mark_handled_by))
}

/// What the core server serves besides the stores.
pub struct CoreServer {
    /// Set once every API is served; `/readyz` fails until then.
    pub ready: Arc<AtomicBool>,
    pub storage: Arc<dyn apiary_storage::Storage>,
    /// The request metrics `/metrics` serves.
    pub metrics: Arc<Metrics>,
    pub discovery: Arc<discovery::DiscoveryRegistry>,
    pub openapi: Arc<OpenApiService>,
    /// For the access reviews and the RBAC escalation checks.
    pub authorization: Arc<Authorization>,
    pub rbac: Arc<RbacAuthorizer>,
    /// For TokenReviews and TokenRequests.
    pub authentication: Arc<Authentication>,
    /// The dynamic admission of writes.
    pub admission: Option<Arc<crate::admission::chain::AdmissionChain>>,
}

/// The core server: system endpoints, OpenAPI, discovery and the REST layer of `stores`; what
/// none of them serves goes to `next`.
pub fn core_server(server: CoreServer, stores: Arc<ResourceStores>, next: Router) -> Router {
    let system = system::router(system::SystemState {
        ready: server.ready,
        storage: Some(server.storage),
    })
    .merge(system::metrics_router(server.metrics))
    .route_layer(from_fn_with_state(handled_by::SYSTEM, mark_handled_by));
    let openapi = crate::openapi::router(server.openapi).route_layer(from_fn_with_state(
        handled_by::CORE_OPENAPI,
        mark_handled_by,
    ));
    let discovery = discovery::router(server.discovery).route_layer(from_fn_with_state(
        handled_by::CORE_DISCOVERY,
        mark_handled_by,
    ));
    // Discovery answers `/api`, `/apis` and the group/version paths the REST router hands it (those
    // with no resource segment); what it does not know goes on to the next server.
    let discovery = discovery.fallback_service(next);
    let rest = core::router(
        core::CoreContext::new(stores)
            .with_authorization(server.authorization)
            .with_rbac(server.rbac)
            .with_authentication(server.authentication)
            .with_admission(server.admission)
            .with_delegate(discovery.clone()),
    )
    .route_layer(from_fn_with_state(handled_by::CORE_REST, mark_handled_by));
    system
        .merge(openapi)
        .merge(rest)
        .fallback_service(discovery)
}

/// The apiextensions server's router, marked for the request log.
pub fn apiextensions_server(server: Arc<apiextensions::ApiExtensionsServer>) -> Router {
    apiextensions::router(server).route_layer(from_fn_with_state(
        handled_by::APIEXTENSIONS,
        mark_handled_by,
    ))
}
