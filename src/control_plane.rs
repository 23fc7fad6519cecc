//! The composition root of the API: builds the stores of the built-in resources, the servers
//! (aggregator -> core -> apiextensions -> not found) and the in-process controllers, and starts
//! them in kube-apiserver's order. Every module below gets what it needs from here as arguments;
//! none builds what it does not own.
//!
//! [`build`] runs, in order:
//! 1. the stores, each with its strategy and the collaborators fixed when it is built
//!    ([`builtin_stores`]);
//! 2. upstream's post-start hooks that finish before the server reports ready: the system
//!    namespaces and PriorityClasses, the namespaces' defaults, the bootstrap controller's first
//!    pass, the bootstrap RBAC policy and its aggregation, and access control following RBAC;
//! 3. the servers, the CRDs stored so far served before returning;
//! 4. the controllers that run in the background, started from one list.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};

use anyhow::anyhow;
use axum::Router;
use futures::future::BoxFuture;
use futures::FutureExt as _;
use tracing::Instrument as _;

use crate::access::AccessControl;
use crate::admission::attributes::StoreLookup;
use crate::admission::chain::{AdmissionChain, Services};
use crate::admission::configurations::{ConfigurationKind, Configurations};
use crate::admission::metrics::AdmissionMetrics;
use crate::admission::plugins::{PluginSettings, Plugins};
use crate::admission::registration;
use crate::apiextensions::crd_store::{self, CrdStrategy};
use crate::catalog::{self, Catalog, ResourceInfo};
use crate::config::{BeyondWindowKind, Config, WatchCacheConfig};
use crate::controllers::apf_snapshot;
use crate::controllers::crd::CrdController;
use crate::controllers::garbage_collector::{collectable_stores, GarbageCollector};
use crate::controllers::namespace::{namespaced_stores, NamespaceController};
use crate::controllers::{
    admission_configurations, bootstrap, clusterrole_aggregation, flowcontrol,
    policy_type_checking, rbac_bootstrap, resource_quota, service_accounts, storage_protection,
    system_namespaces, system_priority_classes,
};
use crate::filters::metrics::Metrics;
use crate::filters::priority_and_fairness::seats::{ObjectCount, ObjectCounts};
use crate::filters::priority_and_fairness::FlowControl;
use crate::openapi::OpenApiService;
use crate::outbound::health::HttpsHealthz;
use crate::outbound::webhook::WebhookClient;
use crate::registry::options::ListOptions;
use crate::registry::resources::core::componentstatuses::{
    ComponentStatuses, HealthCheck, StorageHealth,
};
use crate::registry::resources::core::namespace_lifecycle::{
    NamespaceLifecycleLookup, RecentDeletes,
};
use crate::registry::resources::core::services::ip_allocator::IpRange;
use crate::registry::resources::core::services::{ServiceAllocationHook, ServiceAllocator};
use crate::registry::resources::{builtin_store, builtin_store_with_strategy};
use crate::registry::store::{BeyondWindow, CacheConfig, NamespaceLookup, Store, StoreConfig};
use crate::registry::stores::ResourceStores;
use crate::servers::aggregator::{self, Aggregator};
use crate::servers::apiextensions::ApiExtensionsServer;
use crate::servers::discovery::DiscoveryRegistry;
use crate::servers::{self, CoreServer};

/// What the control plane is built from.
#[derive(Clone)]
pub struct ControlPlaneContext {
    pub storage: Arc<dyn apiary_storage::Storage>,
    pub config: Arc<Config>,
    /// Set once every API is served; `/readyz` fails until then.
    pub ready: Arc<AtomicBool>,
    /// Authentication, authorization and audit, shared with the filter chain.
    pub access: AccessControl,
    /// The request metrics `/metrics` serves.
    pub metrics: Arc<Metrics>,
    /// The admission plugins that run, and their configurations.
    pub admission: PluginSettings,
    /// API Priority and Fairness's configuration, kept current from the flowcontrol stores;
    /// `None` when it is off.
    pub flow_control: Option<Arc<FlowControl>>,
}

/// The API group of the priority and fairness configuration.
const FLOWCONTROL_GROUP: &str = "flowcontrol.apiserver.k8s.io";

/// Builds the stores, runs the post-start hooks, builds the server chain and starts the
/// controllers. Returns the aggregator, the first server of the chain.
pub async fn build(ctx: ControlPlaneContext) -> anyhow::Result<Router> {
    let catalog = catalog::builtin();
    let BuiltinStores {
        stores,
        namespace_lookup,
        service_allocator,
        service_range,
    } = builtin_stores(&ctx, catalog)?;
    let stores = Arc::new(stores);
    let namespaces = required(&stores, "", "namespaces")?;
    let clusterroles = required(&stores, "rbac.authorization.k8s.io", "clusterroles")?;

    // Post-start hooks, in upstream's order.
    system_namespaces::ensure(&namespaces)
        .await
        .map_err(|err| anyhow!("creating the system namespaces: {err}"))?;
    if let Some(priority_classes) = stores.get("scheduling.k8s.io", "v1", "priorityclasses") {
        system_priority_classes::ensure(priority_classes)
            .await
            .map_err(|err| anyhow!("creating the system priority classes: {err}"))?;
    }
    // priority-and-fairness-config-producer: the bootstrap FlowSchemas and priority levels.
    let apf_configuration = match (
        stores.get(FLOWCONTROL_GROUP, "v1", "flowschemas"),
        stores.get(FLOWCONTROL_GROUP, "v1", "prioritylevelconfigurations"),
    ) {
        (Some(schemas), Some(levels)) => Some((schemas.clone(), levels.clone())),
        _ => None,
    };
    if let Some((schemas, levels)) = &apf_configuration {
        flowcontrol::ensure_at_start(schemas, levels)
            .await
            .map_err(|err| anyhow!("creating the priority and fairness configuration: {err}"))?;
    }
    let namespace_defaults = namespace_defaults(&ctx, &stores, &namespaces).await?;
    namespace_defaults
        .ensure_all()
        .await
        .map_err(|err| anyhow!("creating the namespaces' default ServiceAccounts: {err}"))?;
    let bootstrap =
        bootstrap::start(&ctx.config, &stores, service_allocator, service_range).await?;
    rbac_bootstrap::ensure(&stores)
        .await
        .map_err(|err| anyhow!("creating the bootstrap RBAC policy: {err:#}"))?;
    clusterrole_aggregation::aggregate_once(&clusterroles)
        .await
        .map_err(|err| anyhow!("aggregating the bootstrap ClusterRoles: {err}"))?;
    ctx.access.attach(&stores).await?;

    // The servers. One discovery registry: core serves it; the aggregator (APIServices) and the
    // CRD controller register their group/versions in it.
    let discovery = Arc::new(DiscoveryRegistry::new(
        catalog,
        Some(ctx.config.server.listen.to_string()),
    ));
    let aggregator = Aggregator::new(
        ctx.storage.clone(),
        &stores,
        discovery.clone(),
        &ctx.config.server.data_dir,
    )?;
    aggregator.start(catalog).await?;
    let openapi = builtin_openapi(catalog);
    let crds = Arc::new(Store::new(
        Arc::new(crd_store::crd_resource()),
        ctx.storage.clone(),
        Arc::new(CrdStrategy),
        StoreConfig {
            // CRDs are large (hundreds of KiB each for operators, several MiB decoded): a short
            // history, bounded in bytes too, keeps their watch's memory constant however many
            // CRDs exist. Watchers resuming from further back read storage.
            watch_history: CRD_WATCH_HISTORY,
            watch_history_bytes: CRD_WATCH_HISTORY_BYTES,
            cache: CacheConfig {
                beyond_window: BeyondWindow::Storage,
                ..cache_config(&ctx.config.storage.watch_cache)
            },
            ..StoreConfig::default()
        },
    ));
    let served = Arc::new(ServedStores {
        builtin: stores.clone(),
        custom: OnceLock::new(),
    });
    let (admission, admission_configurations) =
        admission_chain(&ctx, &stores, &namespaces, &aggregator, served.clone()).await?;
    let mut crd_stores = ResourceStores::new();
    crd_stores.insert(crds.clone());
    let extensions =
        ApiExtensionsServer::new(crd_stores, servers::not_found(), Some(admission.clone()));
    let _ = served.custom.set(extensions.clone());
    if let Some(control) = &ctx.flow_control {
        // List seats from the watch caches' object counts.
        control.set_object_counts(Arc::new(CachedCounts(served.clone())));
    }
    let crd_controller = CrdController::new(
        crds,
        namespace_lookup,
        ctx.storage.clone(),
        discovery.clone(),
        extensions.clone(),
        aggregator.clone(),
        openapi.clone(),
    );
    crd_controller
        .reconcile()
        .await
        .map_err(|err| anyhow!("serving the stored CRDs: {err}"))?;
    let core = servers::core_server(
        CoreServer {
            ready: ctx.ready.clone(),
            storage: ctx.storage.clone(),
            metrics: ctx.metrics.clone(),
            discovery,
            openapi,
            authorization: ctx.access.authorization.clone(),
            rbac: ctx.access.rbac.clone(),
            authentication: ctx.access.authentication.clone(),
            admission: Some(admission.clone()),
        },
        stores.clone(),
        servers::apiextensions_server(extensions.clone()),
    );
    let router = aggregator.router(core);

    // The controllers that run in the background.
    let (crs_of_namespaces, crs_to_collect) = (extensions.clone(), extensions);
    let namespace_contents = namespaced_stores(
        stores
            .resources()
            .filter_map(|info| stores.get(&info.group, &info.version, &info.plural)),
    );
    let policies = required(
        &stores,
        "admissionregistration.k8s.io",
        "validatingadmissionpolicies",
    )?;
    let quotas = required(&stores, "", "resourcequotas")?;
    let (claims, volumes, pods) = (
        required(&stores, "", "persistentvolumeclaims")?,
        required(&stores, "", "persistentvolumes")?,
        required(&stores, "", "pods")?,
    );
    let controllers: [(&str, BoxFuture<'static, ()>); 11] = [
        (
            "validatingadmissionpolicy-status",
            policy_type_checking::run(policies).boxed(),
        ),
        (
            "admission-configurations",
            admission_configurations::run(
                admission.configurations().clone(),
                admission_configurations,
            )
            .boxed(),
        ),
        (
            "system-namespaces",
            system_namespaces::run(namespaces.clone()).boxed(),
        ),
        (
            "namespace-defaults",
            service_accounts::run(namespace_defaults).boxed(),
        ),
        ("bootstrap", bootstrap.run().boxed()),
        (
            "clusterrole-aggregation",
            clusterrole_aggregation::run(clusterroles).boxed(),
        ),
        ("crd", crd_controller.run().boxed()),
        (
            "namespace",
            NamespaceController::new(namespaces, namespace_contents)
                .with_dynamic_contents(Arc::new(move || crs_of_namespaces.namespaced_stores()))
                .run()
                .boxed(),
        ),
        (
            "garbage-collector",
            GarbageCollector::new(collectable_stores(&stores))
                .with_dynamic_stores(Arc::new(move || {
                    collectable_stores(&crs_to_collect.serving().rest.stores)
                }))
                .run()
                .boxed(),
        ),
        (
            "resourcequota",
            resource_quota::ResourceQuotaController::new(quotas, served)
                .run()
                .boxed(),
        ),
        (
            "storage-protection",
            storage_protection::run(claims, volumes, pods).boxed(),
        ),
    ];
    for (name, controller) in controllers {
        tokio::spawn(controller.instrument(tracing::info_span!("controller", name)));
    }
    if let Some((schemas, levels)) = apf_configuration {
        let span = tracing::info_span!("controller", name = "apf-configuration");
        tokio::spawn(flowcontrol::run(schemas, levels).instrument(span));
    }
    if let Some(control) = ctx.flow_control.clone() {
        let flow_schemas = required(&stores, FLOWCONTROL_GROUP, "flowschemas")?;
        let priority_levels = required(&stores, FLOWCONTROL_GROUP, "prioritylevelconfigurations")?;
        apf_snapshot::load(&control, &flow_schemas, &priority_levels).await?;
        tokio::spawn(
            apf_snapshot::run(control, flow_schemas, priority_levels)
                .instrument(tracing::info_span!("controller", name = "apf-snapshot")),
        );
    }
    Ok(router)
}

/// The dynamic admission chain, with the configurations stored so far in effect, and the stores
/// of the four configuration resources for the controller that keeps them current.
async fn admission_chain(
    ctx: &ControlPlaneContext,
    stores: &ResourceStores,
    namespaces: &Arc<Store>,
    aggregator: &Aggregator,
    served: Arc<ServedStores>,
) -> anyhow::Result<(Arc<AdmissionChain>, Vec<(ConfigurationKind, Arc<Store>)>)> {
    let metrics = AdmissionMetrics::register(ctx.metrics.registry())
        .map_err(|err| anyhow!("registering the admission metrics: {err}"))?;
    let served: Arc<dyn StoreLookup> = served;
    let plugins = Plugins::build(&ctx.admission, &served, &ctx.access.authorization)?;
    let client = aggregator.webhook_client();
    let with_credentials = |mutating: bool| WebhookClient {
        credentials: ctx.admission.webhook_credentials(mutating).clone(),
        ..(*client).clone()
    };
    let services = Arc::new(Services {
        webhooks: with_credentials(false),
        mutating_webhooks: with_credentials(true),
        namespaces: namespaces.clone(),
        stores: served,
        metrics,
    });
    let configurations = Arc::new(Configurations::default());
    let mut followed = Vec::new();
    for (kind, plural) in ConfigurationKind::ALL {
        let store = required(stores, "admissionregistration.k8s.io", plural)?;
        let listed = store
            .list(None, &ListOptions::default())
            .await
            .map_err(|err| anyhow!("listing the {plural}: {err}"))?;
        configurations.replace(kind, &listed.items);
        followed.push((kind, store));
    }
    Ok((
        Arc::new(AdmissionChain::new(configurations, services, plugins)),
        followed,
    ))
}

/// The stores of every served resource, built-in and custom, for admission.
struct ServedStores {
    builtin: Arc<ResourceStores>,
    /// Set once the apiextensions server exists.
    custom: OnceLock<Arc<ApiExtensionsServer>>,
}

impl ServedStores {
    /// The built-in stores, then the custom resources' stores served now.
    fn each<T>(&self, mut find: impl FnMut(&ResourceStores) -> Option<T>) -> Option<T> {
        find(&self.builtin).or_else(|| {
            let custom = self.custom.get()?.serving();
            find(&custom.rest.stores)
        })
    }
}

impl StoreLookup for ServedStores {
    fn by_resource(&self, group: &str, version: &str, plural: &str) -> Option<Arc<Store>> {
        self.each(|stores| stores.get(group, version, plural).cloned())
    }

    fn by_kind(&self, group: &str, version: &str, kind: &str) -> Option<Arc<Store>> {
        self.each(|stores| {
            let info = stores.resources().find(|info| {
                info.group.as_str() == group
                    && info.version.as_str() == version
                    && info.kind.as_str() == kind
            })?;
            stores.get(group, version, &info.plural).cloned()
        })
    }

    fn versions(&self, group: &str, plural: &str) -> Vec<String> {
        let of = |stores: &ResourceStores| {
            let mut found: Vec<(bool, String)> = stores
                .resources()
                .filter(|info| info.group.as_str() == group && info.plural.as_str() == plural)
                .map(|info| (!info.storage_version, info.version.to_string()))
                .collect();
            found.sort();
            found.dedup();
            (!found.is_empty()).then(|| found.into_iter().map(|(_, v)| v).collect())
        };
        self.each(of).unwrap_or_default()
    }
}

/// Priority and fairness's object counts (upstream's object count tracker), from the watch
/// caches of the served stores: of a resource's versions, a counting cache of the storage
/// version first.
struct CachedCounts(Arc<ServedStores>);

impl std::fmt::Debug for CachedCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedCounts").finish_non_exhaustive()
    }
}

impl ObjectCounts for CachedCounts {
    fn count(&self, group: &str, resource: &str) -> ObjectCount {
        let found = self.0.each(|stores| {
            let mut served = false;
            let mut best: Option<(bool, u64)> = None;
            for info in stores.resources() {
                if info.group.as_str() != group || info.plural.as_str() != resource {
                    continue;
                }
                served = true;
                let Some(store) = stores.get(group, info.version.as_str(), resource) else {
                    continue;
                };
                if let Some(count) = store.object_count() {
                    if best.is_none_or(|(storage, _)| !storage && info.storage_version) {
                        best = Some((info.storage_version, count));
                    }
                }
            }
            served.then_some(best.map(|(_, count)| count))
        });
        match found {
            None => ObjectCount::NotServed,
            Some(None) => ObjectCount::Unknown,
            Some(Some(count)) => ObjectCount::Known(count),
        }
    }
}

/// The built-in stores, with what the bootstrap controller shares with the services store.
struct BuiltinStores {
    stores: ResourceStores,
    /// How namespaced stores look up the namespaces of creates.
    namespace_lookup: Arc<NamespaceLifecycleLookup>,
    service_allocator: Arc<ServiceAllocator>,
    service_range: IpRange,
}

/// The stores' watch cache settings from `storage.watch_cache`.
fn cache_config(config: &WatchCacheConfig) -> CacheConfig {
    CacheConfig {
        enabled: config.enabled,
        consistent_read_timeout: std::time::Duration::from_secs(
            config.consistent_read_timeout_seconds,
        ),
        beyond_window: match config.beyond_window {
            BeyondWindowKind::Expire => BeyondWindow::Expire,
            BeyondWindowKind::Storage => BeyondWindow::Storage,
        },
        ..CacheConfig::default()
    }
}

/// The recent CRD events kept for watchers resuming from a recent resourceVersion.
const CRD_WATCH_HISTORY: usize = 100;

/// The stored bytes those recent CRD events may hold.
const CRD_WATCH_HISTORY_BYTES: usize = 2 << 20;

/// One store per built-in resource, with its strategy. Namespaced stores check creates against
/// the namespaces store through its lifecycle lookup; the services store allocates ClusterIPs and
/// NodePorts through the IPAddresses store and storage. Each is built after the stores it reads.
fn builtin_stores(
    ctx: &ControlPlaneContext,
    catalog: &'static Catalog,
) -> anyhow::Result<BuiltinStores> {
    // The admission registration kinds' strategy compiles CEL, which the registry cannot name.
    let cache = cache_config(&ctx.config.storage.watch_cache);
    let build = |info: &Arc<ResourceInfo>, config: StoreConfig| {
        let config = StoreConfig {
            cache: cache.clone(),
            ..config
        };
        Arc::new(match registration::strategy_for(info) {
            Some(strategy) => {
                builtin_store_with_strategy(info, ctx.storage.clone(), strategy, config)
            }
            None => builtin_store(info, ctx.storage.clone(), config),
        })
    };
    let find = |group: &str, plural: &str| {
        catalog
            .iter()
            .find(|info| info.group == group && info.plural == plural)
            .ok_or_else(|| anyhow!("the catalogue has no {plural} resource"))
    };
    let (namespaces_info, services_info, pods_info, component_statuses_info) = (
        find("", "namespaces")?,
        find("", "services")?,
        find("", "pods")?,
        find("", "componentstatuses")?,
    );
    // The namespaces store notes the deletes asked of it, which its lookup then reads live.
    let recent_deletes = Arc::new(RecentDeletes::default());
    let namespaces = build(
        namespaces_info,
        StoreConfig {
            delete_hook: Some(recent_deletes.clone()),
            ..StoreConfig::default()
        },
    );
    let namespace_lookup = Arc::new(NamespaceLifecycleLookup::new(
        namespaces.clone(),
        recent_deletes,
    ));
    // Events expire after `server.event_ttl_seconds` (upstream's `--event-ttl`).
    let event_ttl = ctx.config.event_ttl();
    let in_namespaces = |info: &ResourceInfo| StoreConfig {
        namespaces: info
            .namespaced
            .then(|| namespace_lookup.clone() as Arc<dyn NamespaceLookup>),
        ttl: event_ttl.and_then(|ttl| crate::registry::resources::object_ttl(info, ttl)),
        ..StoreConfig::default()
    };
    let mut stores = ResourceStores::new();
    stores.insert(namespaces.clone());
    let built_later = [
        namespaces_info,
        services_info,
        pods_info,
        component_statuses_info,
    ];
    for info in catalog.iter() {
        if !built_later.iter().any(|later| Arc::ptr_eq(later, info)) {
            stores.insert(build(info, in_namespaces(info)));
        }
    }

    let config = &ctx.config.server;
    let service_range = IpRange::parse(&config.service_cidr)
        .map_err(|why| anyhow!("server.service_cidr: {why}"))?;
    let (first_port, port_count) = crate::config::parse_port_range(&config.service_node_port_range)
        .map_err(|why| anyhow!("server.service_node_port_range: {why}"))?;
    let service_allocator = Arc::new(ServiceAllocator::new(
        service_range.clone(),
        required(&stores, "networking.k8s.io", "ipaddresses")?,
        ctx.storage.clone(),
        first_port,
        port_count,
    ));
    stores.insert(build(
        services_info,
        StoreConfig {
            write_hook: Some(Arc::new(ServiceAllocationHook(service_allocator.clone()))),
            ..in_namespaces(services_info)
        },
    ));

    stores.insert(build(pods_info, in_namespaces(pods_info)));
    // Where upstream probes its scheduler (10259) and controller manager (10257); the storage
    // backend stands for etcd.
    let component_statuses = ComponentStatuses::new(
        Arc::new(HttpsHealthz::local(10259)),
        Arc::new(HttpsHealthz::local(10257)),
        vec![Arc::new(StorageHealth(ctx.storage.clone())) as Arc<dyn HealthCheck>],
    );
    stores.insert(build(
        component_statuses_info,
        StoreConfig {
            computed: Some(Arc::new(component_statuses)),
            ..StoreConfig::default()
        },
    ));
    Ok(BuiltinStores {
        stores,
        namespace_lookup,
        service_allocator,
        service_range,
    })
}

/// The store of the `v1` resource `group`/`plural`, which the control plane cannot do without.
fn required(stores: &ResourceStores, group: &str, plural: &str) -> anyhow::Result<Arc<Store>> {
    stores
        .get(group, "v1", plural)
        .cloned()
        .ok_or_else(|| anyhow!("the catalogue has no {plural} resource"))
}

/// The built-in OpenAPI documents, plus the groups of the aggregator and the apiextensions server
/// (whose types the built-in definitions describe); CRD versions are added at run time.
fn builtin_openapi(catalog: &'static Catalog) -> Arc<OpenApiService> {
    let openapi = Arc::new(OpenApiService::builtin(catalog));
    openapi.upsert_group_version(
        catalog::APIREGISTRATION_GROUP,
        "v1",
        &[&aggregator::api_services()],
        Vec::new(),
    );
    openapi.upsert_group_version(
        crd_store::GROUP,
        "v1",
        &[&crd_store::crd_resource()],
        Vec::new(),
    );
    openapi
}

/// The controller giving every namespace its `default` ServiceAccount and `kube-root-ca.crt`
/// ConfigMap (with the cluster CA when there is one).
async fn namespace_defaults(
    ctx: &ControlPlaneContext,
    stores: &ResourceStores,
    namespaces: &Arc<Store>,
) -> anyhow::Result<service_accounts::NamespaceDefaults> {
    let ca_path = ctx.config.server.data_dir.join(crate::pki::CA_CERT_FILE);
    let ca_cert_pem = match tokio::fs::read_to_string(&ca_path).await {
        Ok(pem) => Some(Arc::from(pem)),
        Err(err) => {
            tracing::warn!(path = %ca_path.display(), error = %err, "no cluster CA to publish");
            None
        }
    };
    Ok(service_accounts::NamespaceDefaults {
        namespaces: namespaces.clone(),
        service_accounts: required(stores, "", "serviceaccounts")?,
        config_maps: required(stores, "", "configmaps")?,
        ca_cert_pem,
    })
}
