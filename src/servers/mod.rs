//! The delegating servers: aggregator -> core -> apiextensions -> not found.
//!
//! Each server is an axum `Router` whose fallback is the next server, as kube-apiserver chains its
//! servers by delegation: aggregator ([`aggregator`]: APIServices, proxying to extension API
//! servers) -> core -> apiextensions ([`crate::apiextensions`]: CRDs and custom resources) -> not
//! found. The discovery documents are one [`discovery::DiscoveryRegistry`] the servers share:
//! built-in groups are static, remote groups are registered by the aggregator, CRD groups by the
//! CRD controller.

pub mod aggregator;
pub mod core;
pub mod discovery;
pub mod system;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use axum::middleware::from_fn_with_state;
use axum::Router;

use crate::access::AccessControl;
use crate::api::status::ApiError;
use crate::apiextensions::{controller, crd_store, server};
use crate::config::Config;
use crate::controllers::{
    clusterrole_aggregation, namespace, rbac_bootstrap, service_accounts, system_namespaces,
};
use crate::filters::httplog::{self, mark_handled_by};
use crate::metrics::Metrics;
use crate::registry::catalog;
use crate::registry::store::{NamespaceLookup, Store, StoreConfig};
use crate::registry::strategy::strategy_for;

/// What the servers are built from.
#[derive(Clone)]
pub struct ServerContext {
    pub storage: Arc<dyn apiary_storage::Storage>,
    pub config: Arc<Config>,
    /// Set once every API is served; `/readyz` fails until then.
    pub ready: Arc<AtomicBool>,
    /// Authentication, authorization and audit, shared with the filter chain.
    pub access: AccessControl,
    /// The request metrics `/metrics` serves.
    pub metrics: Arc<Metrics>,
}

/// Builds the server chain, creates the system namespaces and the bootstrap RBAC policy, connects
/// access control to the stores and starts the in-process controllers.
pub async fn build(ctx: ServerContext) -> anyhow::Result<Router> {
    let catalog = catalog::builtin();
    let stores = Arc::new(builtin_stores(&ctx, catalog)?);

    let namespaces = stores
        .get("", "v1", "namespaces")
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("the catalogue has no namespaces resource"))?;
    system_namespaces::ensure(&namespaces)
        .await
        .map_err(|err| anyhow::anyhow!("creating the system namespaces: {err}"))?;
    tokio::spawn(system_namespaces::run(namespaces.clone()));
    // Upstream's scheduling post-start hook: the system PriorityClasses pods may name.
    if let Some(priority_classes) = stores.get("scheduling.k8s.io", "v1", "priorityclasses") {
        crate::controllers::system_priority_classes::ensure(priority_classes)
            .await
            .map_err(|err| anyhow::anyhow!("creating the system priority classes: {err}"))?;
    }
    start_namespace_defaults(&ctx, &stores, &namespaces).await?;
    // The bootstrap controller: Service allocation, the kubernetes Service and its endpoints.
    crate::controllers::bootstrap::start(&ctx.config, ctx.storage.clone(), &stores).await?;
    let contents = namespace::namespaced_stores(
        stores
            .resources()
            .filter_map(|info| stores.get(info.group, info.version, info.plural)),
    );

    // Upstream's RBAC post-start hook: the default roles and bindings, with the aggregated roles
    // (admin, edit, view) complete before the server reports ready.
    rbac_bootstrap::ensure(&stores)
        .await
        .map_err(|err| anyhow::anyhow!("creating the bootstrap RBAC policy: {err:#}"))?;
    let clusterroles = stores
        .get("rbac.authorization.k8s.io", "v1", "clusterroles")
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("the catalogue has no clusterroles resource"))?;
    clusterrole_aggregation::aggregate_once(&clusterroles)
        .await
        .map_err(|err| anyhow::anyhow!("aggregating the bootstrap ClusterRoles: {err}"))?;
    tokio::spawn(clusterrole_aggregation::run(clusterroles));
    ctx.access.attach(&stores).await?;

    // One discovery registry: core serves it; the aggregator (APIServices) and the CRD
    // controller register their group/versions in it.
    let discovery = Arc::new(discovery::DiscoveryRegistry::new(
        catalog,
        Some(ctx.config.server.listen.to_string()),
    ));
    let aggregator = aggregator::Aggregator::new(
        ctx.storage.clone(),
        &stores,
        discovery.clone(),
        &ctx.config.server.data_dir,
    )?;
    aggregator.start(catalog).await?;
    // The built-in documents, plus the groups of the aggregator and the apiextensions server
    // (whose types the built-in definitions describe); CRD versions are added at run time.
    let openapi = Arc::new(crate::openapi::OpenApiService::builtin(catalog));
    openapi.upsert_group_version(
        catalog::APIREGISTRATION_GROUP,
        "v1",
        &[&aggregator::API_SERVICES],
        Default::default(),
    );
    openapi.upsert_group_version(
        crd_store::GROUP,
        "v1",
        &[&crd_store::CRD_RESOURCE],
        Default::default(),
    );
    let (extensions, extensions_server) = apiextensions_server(
        &ctx,
        &namespaces,
        discovery.clone(),
        aggregator.clone(),
        openapi.clone(),
    )
    .await?;
    let custom_resources = extensions_server.clone();
    tokio::spawn(
        namespace::NamespaceController::new(namespaces.clone(), contents)
            .with_dynamic_contents(Arc::new(move || custom_resources.namespaced_stores()))
            .run(),
    );
    // kube-controller-manager's garbage collector, over the built-in and the custom resources.
    let custom_stores = extensions_server.clone();
    tokio::spawn(
        crate::controllers::garbage_collector::GarbageCollector::new(
            crate::controllers::garbage_collector::collectable_stores(&stores),
        )
        .with_dynamic_stores(Arc::new(move || {
            crate::controllers::garbage_collector::collectable_stores(
                &custom_stores.serving().rest.stores,
            )
        }))
        .run(),
    );
    let core = core_server(&ctx, stores, discovery, openapi, extensions);
    Ok(aggregator.router(core))
}

/// The apiextensions server: CRDs and their custom resources. Serves the CRDs stored so far
/// before returning, then keeps up with changes in the background.
async fn apiextensions_server(
    ctx: &ServerContext,
    namespaces: &Arc<Store>,
    discovery: Arc<discovery::DiscoveryRegistry>,
    aggregator: Arc<aggregator::Aggregator>,
    openapi: Arc<crate::openapi::OpenApiService>,
) -> anyhow::Result<(Router, Arc<server::ApiExtensionsServer>)> {
    let crds = Arc::new(Store::new(
        &crd_store::CRD_RESOURCE,
        ctx.storage.clone(),
        Arc::new(crd_store::CrdStrategy),
        StoreConfig::default(),
    ));
    let mut registry = core::StoreRegistry::new();
    registry.insert(crds.clone());
    let server = server::ApiExtensionsServer::new(registry, not_found());
    let controller = controller::CrdController::new(
        crds,
        namespaces.clone(),
        ctx.storage.clone(),
        discovery,
        server.clone(),
        aggregator,
        openapi,
    );
    controller
        .reconcile()
        .await
        .map_err(|err| anyhow::anyhow!("serving the stored CRDs: {err}"))?;
    tokio::spawn(controller.run());
    let router = server::router(server.clone())
        .route_layer(from_fn_with_state(httplog::APIEXTENSIONS, mark_handled_by));
    Ok((router, server))
}

/// The last server of the chain: upstream's 404 Status for every path.
pub fn not_found() -> Router {
    Router::new()
        .fallback(|| async { ApiError::path_not_found() })
        .layer(from_fn_with_state(httplog::NOT_FOUND, mark_handled_by))
}

/// The core server: system endpoints, OpenAPI, discovery and the REST layer of built-in resources;
/// what none of them serves goes to `next`.
fn core_server(
    ctx: &ServerContext,
    stores: Arc<core::StoreRegistry>,
    discovery: Arc<discovery::DiscoveryRegistry>,
    openapi: Arc<crate::openapi::OpenApiService>,
    next: Router,
) -> Router {
    let system = system::router(system::SystemState {
        ready: ctx.ready.clone(),
        storage: Some(ctx.storage.clone()),
    })
    .merge(system::metrics_router(ctx.metrics.clone()))
    .route_layer(from_fn_with_state(httplog::SYSTEM, mark_handled_by));
    let openapi = crate::openapi::router(openapi)
        .route_layer(from_fn_with_state(httplog::CORE_OPENAPI, mark_handled_by));
    let discovery = discovery::router(discovery)
        .route_layer(from_fn_with_state(httplog::CORE_DISCOVERY, mark_handled_by));
    // Discovery answers `/api`, `/apis` and the group/version paths the REST router hands it (those
    // with no resource segment); what it does not know goes on to the next server.
    let discovery = discovery.fallback_service(next);
    let rest = core::router(
        core::CoreContext::new(stores)
            .with_authorization(ctx.access.authorization.clone())
            .with_rbac(ctx.access.rbac.clone())
            .with_authentication(ctx.access.authentication.clone())
            .with_delegate(discovery.clone()),
    )
    .route_layer(from_fn_with_state(httplog::CORE_REST, mark_handled_by));
    system
        .merge(openapi)
        .merge(rest)
        .fallback_service(discovery)
}

/// Connects the strategies' admission to the stores it reads, gives every namespace its
/// `default` ServiceAccount and `kube-root-ca.crt` ConfigMap, and keeps them so in the
/// background ([`service_accounts`]).
async fn start_namespace_defaults(
    ctx: &ServerContext,
    stores: &core::StoreRegistry,
    namespaces: &Arc<Store>,
) -> anyhow::Result<()> {
    let find = |group: &str, plural: &str| {
        stores
            .resources()
            .find(|info| info.group == group && info.plural == plural)
            .and_then(|info| stores.get(info.group, info.version, info.plural))
            .cloned()
    };
    for info in stores.resources() {
        if let Some(store) = stores.get(info.group, info.version, info.plural) {
            store.strategy().connect(&find);
        }
    }
    let (Some(service_accounts), Some(config_maps)) =
        (find("", "serviceaccounts"), find("", "configmaps"))
    else {
        return Ok(());
    };
    let ca_path = ctx.config.server.data_dir.join(crate::pki::CA_CERT_FILE);
    let ca_cert_pem = match tokio::fs::read_to_string(&ca_path).await {
        Ok(pem) => Some(Arc::from(pem)),
        Err(err) => {
            tracing::warn!(path = %ca_path.display(), error = %err, "no cluster CA to publish");
            None
        }
    };
    let controller = service_accounts::NamespaceDefaults {
        namespaces: namespaces.clone(),
        service_accounts,
        config_maps,
        ca_cert_pem,
    };
    controller.ensure_all().await.map_err(|err| {
        anyhow::anyhow!("creating the namespaces' default ServiceAccounts: {err}")
    })?;
    tokio::spawn(service_accounts::run(controller));
    Ok(())
}

/// One store per built-in resource, with namespaced creates checked against the namespaces store.
fn builtin_stores(
    ctx: &ServerContext,
    catalog: &'static catalog::Catalog,
) -> anyhow::Result<core::StoreRegistry> {
    let mut registry = core::StoreRegistry::new();
    let mut all = Vec::new();
    for info in catalog.iter() {
        let store = Arc::new(Store::new(
            info,
            ctx.storage.clone(),
            strategy_for(info),
            StoreConfig::default(),
        ));
        all.push(store.clone());
        registry.insert(store);
    }
    let namespaces = registry
        .get("", "v1", "namespaces")
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("the catalogue has no namespaces resource"))?;
    for store in all.iter().filter(|s| s.info().namespaced) {
        store.set_namespace_lookup(namespaces.clone() as Arc<dyn NamespaceLookup>);
    }
    Ok(registry)
}
