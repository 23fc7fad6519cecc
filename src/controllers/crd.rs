//! The CRD controller: keeps what the apiextensions server serves in step with the stored CRDs.
//!
//! It keeps its own view of the CRDs from their watch ([`KnownCrd`]: each CRD without its
//! schemas, and the served versions compiled once per change of its spec or accepted names) and
//! does, level-triggered over that view after every burst of CRD events, what upstream spreads
//! over several controllers:
//! * naming and establishing ([`crate::apiextensions::names`]): `status.acceptedNames`, `NamesAccepted`,
//!   `Established` (`Installing` until the CRD is served, then True);
//! * serving: a [`Store`] per served version of every established CRD, registered with the
//!   dynamic catalogue (codec, storage version), the REST layer and discovery;
//! * finalizing (upstream's `crdFinalizer`): a CRD being deleted gets `Terminating`
//!   `InstanceDeletionInProgress`, its custom resources are deleted, then the cleanup finalizer is
//!   removed and the CRD leaves storage, and with it its paths.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::api::discovery::{APIResource, FRESHNESS_CURRENT};
use crate::api::status::ApiResult;
use crate::apiextensions::conditions::{has_condition, set_condition, Condition};
use crate::apiextensions::conversion_webhook::WebhookConverter;
use crate::apiextensions::crd_store::{CLEANUP_FINALIZER, GROUP};
use crate::apiextensions::custom_resource::{
    served_versions, CustomResourceStrategy, ServedVersion,
};
use crate::catalog::{api_service_priority, ResourceInfo};
use crate::controllers::watch_loop::{self, Observed};
use crate::openapi::{Definitions, OpenApiService};
use crate::registry::conversion::ConverterHandle;
use crate::registry::metadata::{finalizers, is_being_deleted, meta_str};
use crate::registry::options::{DeleteOptions, ListOptions, WriteOptions};
use crate::registry::resources::core::namespace_lifecycle::NamespaceLifecycleLookup;
use crate::registry::store::{NamespaceLookup, Store, StoreConfig, WatchEventType};
use crate::registry::stores::ResourceStores;
use crate::registry::table::{CustomColumns, TableConvertor};
use crate::servers::aggregator::autoregister::{self, Automanaged, CRD_PRIORITY};
use crate::servers::aggregator::Aggregator;
use crate::servers::apiextensions::ApiExtensionsServer;
use crate::servers::discovery::{DiscoveryRegistry, DiscoverySource, GroupVersionDocument};

/// Pause before retrying a failed pass or listing again after a failed watch.
const RETRY_DELAY: Duration = Duration::from_secs(1);

/// Per group/version, by plural: each resource and its definitions.
type GroupVersionSchemas =
    BTreeMap<(String, String), BTreeMap<String, (Arc<ResourceInfo>, Definitions)>>;

/// One served custom resource version, the store serving it and its OpenAPI definitions.
struct ServedStore {
    version: ServedVersion,
    store: Arc<Store>,
    definitions: Definitions,
}

/// What the controller knows of one CRD between passes.
struct KnownCrd {
    /// The CRD without its versions' schemas: what naming, establishing and finalizing read.
    summary: Arc<Value>,
    /// Its served versions, compiled from the last established state seen, with what they were
    /// compiled from: recompiled only when its uid, generation (spec) or accepted names change.
    compiled: Option<(CompiledFrom, Result<Vec<ServedVersion>, String>)>,
}

/// What a CRD's served versions depend on.
#[derive(PartialEq)]
struct CompiledFrom {
    uid: String,
    generation: i64,
    accepted_names: Value,
}

impl CompiledFrom {
    fn of(crd: &Value) -> Self {
        Self {
            uid: meta_str(crd, "uid").to_string(),
            generation: crd
                .pointer("/metadata/generation")
                .and_then(Value::as_i64)
                .unwrap_or(0),
            accepted_names: crd
                .pointer("/status/acceptedNames")
                .cloned()
                .unwrap_or(Value::Null),
        }
    }
}

/// `crd` without `spec.versions[*].schema`, the bulk of an operator's CRD.
fn summary(crd: &Value) -> Value {
    // Copies everything but the schemas, rather than copying them only to drop them.
    let without_schema = |version: &Value| match version {
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .filter(|(key, _)| key.as_str() != "schema")
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect(),
        ),
        other => other.clone(),
    };
    let Value::Object(fields) = crd else {
        return crd.clone();
    };
    let copy = |(key, value): (&String, &Value)| {
        let value = match (key.as_str(), value) {
            ("spec", Value::Object(spec)) => Value::Object(
                spec.iter()
                    .map(|(key, value)| match (key.as_str(), value) {
                        ("versions", Value::Array(versions)) => (
                            key.clone(),
                            Value::Array(versions.iter().map(without_schema).collect()),
                        ),
                        _ => (key.clone(), value.clone()),
                    })
                    .collect(),
            ),
            _ => value.clone(),
        };
        (key.clone(), value)
    };
    Value::Object(fields.iter().map(copy).collect())
}

/// Whether `crd`'s resources are served: its names are accepted or it is established.
fn servable(crd: &Value) -> bool {
    use crate::apiextensions::conditions::is_true;
    is_true(crd, "NamesAccepted") || is_true(crd, "Established")
}

/// The resourceVersion of `crd` as a number (0 when unset).
fn revision(crd: &Value) -> i64 {
    meta_str(crd, "resourceVersion").parse().unwrap_or(0)
}

/// What the controller needs.
pub struct CrdController {
    crds: Arc<Store>,
    /// How the custom resources' namespaced stores look up namespaces (and the watch cache
    /// settings of the built-in stores, from the namespaces' store).
    namespaces: Arc<NamespaceLifecycleLookup>,
    storage: Arc<dyn apiary_storage::Storage>,
    discovery: Arc<DiscoveryRegistry>,
    server: Arc<ApiExtensionsServer>,
    /// `(group, version, plural)` -> the store currently serving it.
    served: tokio::sync::Mutex<HashMap<(String, String, String), ServedStore>>,
    /// Keeps a local APIService per served group/version (upstream's `crdregistration`).
    aggregator: Arc<Aggregator>,
    /// The group/versions whose local APIService exists.
    registered: tokio::sync::Mutex<HashSet<(String, String)>>,
    /// Where the served versions' schemas are published (`/openapi/v2`, `/openapi/v3`).
    openapi: Arc<OpenApiService>,
    /// The definitions published per group/version, to publish only changes.
    published: tokio::sync::Mutex<BTreeMap<(String, String), Vec<Definitions>>>,
    /// Every CRD seen, by name, kept current by [`CrdController::observe`].
    known: std::sync::Mutex<HashMap<String, KnownCrd>>,
}

impl CrdController {
    pub fn new(
        crds: Arc<Store>,
        namespaces: Arc<NamespaceLifecycleLookup>,
        storage: Arc<dyn apiary_storage::Storage>,
        discovery: Arc<DiscoveryRegistry>,
        server: Arc<ApiExtensionsServer>,
        aggregator: Arc<Aggregator>,
        openapi: Arc<OpenApiService>,
    ) -> Arc<Self> {
        Arc::new(Self {
            crds,
            namespaces,
            storage,
            discovery,
            server,
            served: tokio::sync::Mutex::new(HashMap::new()),
            aggregator,
            registered: tokio::sync::Mutex::new(HashSet::new()),
            openapi,
            published: tokio::sync::Mutex::new(BTreeMap::new()),
            known: std::sync::Mutex::new(HashMap::new()),
        })
    }

    fn known(&self) -> std::sync::MutexGuard<'_, HashMap<String, KnownCrd>> {
        self.known
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes in a list or an event of the CRDs' watch.
    pub fn observe(&self, observed: Observed<'_>) {
        match observed {
            Observed::Listed(crds) => {
                let names: HashSet<&str> = crds.iter().map(|crd| meta_str(crd, "name")).collect();
                self.known().retain(|name, _| names.contains(name.as_str()));
                for crd in crds {
                    self.observe_crd(crd);
                }
            }
            Observed::Event(event) if event.event_type == WatchEventType::Deleted => {
                self.known().remove(meta_str(event.object(), "name"));
            }
            Observed::Event(event) => self.observe_crd(event.object()),
        }
    }

    /// Takes in a CRD's current state: its summary, and its served versions compiled when it is
    /// established and what they depend on changed. An older state than the one known (a watch
    /// event of a write this controller has already seen the result of) is ignored.
    fn observe_crd(&self, crd: &Value) {
        let name = meta_str(crd, "name");
        let mut known = self.known();
        let stale = known.get(name).is_some_and(|previous| {
            meta_str(&previous.summary, "uid") == meta_str(crd, "uid")
                && revision(&previous.summary) > revision(crd)
        });
        if stale {
            return;
        }
        let previous = known.remove(name);
        let from = CompiledFrom::of(crd);
        let compiled = match previous.and_then(|previous| previous.compiled) {
            Some((old_from, versions)) if old_from == from => Some((old_from, versions)),
            _ if servable(crd) => Some((from, served_versions(crd))),
            _ => None,
        };
        known.insert(
            name.to_string(),
            KnownCrd {
                summary: Arc::new(summary(crd)),
                compiled,
            },
        );
    }

    /// One pass over every CRD. Returns whether work is left (a CRD waits for its custom
    /// resources to go), so the caller passes again shortly.
    pub async fn reconcile(&self) -> ApiResult<bool> {
        let mut crds: Vec<Arc<Value>> = self
            .known()
            .values()
            .map(|known| known.summary.clone())
            .collect();
        crds.sort_by(|a, b| {
            meta_str(a, "creationTimestamp")
                .cmp(meta_str(b, "creationTimestamp"))
                .then_with(|| meta_str(a, "name").cmp(meta_str(b, "name")))
        });
        for i in 0..crds.len() {
            if let Some(updated) = self.accept_names(&crds, i).await? {
                self.observe_crd(&updated);
                crds[i] = Arc::new(summary(&updated));
            }
        }
        self.serve(&crds).await;
        for crd in &crds {
            if let Some(updated) = self.establish(crd).await? {
                self.observe_crd(&updated);
            }
        }
        let mut pending = false;
        for crd in crds.iter().filter(|crd| is_being_deleted(crd)) {
            pending |= !self.finalize(crd).await?;
        }
        Ok(pending)
    }

    /// Naming and establishing of `crds[i]`; the updated CRD when its status changed.
    async fn accept_names(&self, crds: &[Arc<Value>], i: usize) -> ApiResult<Option<Value>> {
        let crd = &*crds[i];
        let group = crd
            .pointer("/spec/group")
            .and_then(Value::as_str)
            .unwrap_or("");
        let others: Vec<&Value> = crds
            .iter()
            .enumerate()
            .filter(|(j, other)| {
                *j != i && other.pointer("/spec/group").and_then(Value::as_str) == Some(group)
            })
            .filter_map(|(_, other)| other.pointer("/status/acceptedNames"))
            .collect();
        let decision = crate::apiextensions::names::decide(crd, &others);
        let unchanged = crd.pointer("/status/acceptedNames") == Some(&decision.accepted_names)
            && has_condition(crd, &decision.names_accepted)
            && has_condition(crd, &decision.established);
        if unchanged {
            return Ok(None);
        }
        let name = meta_str(crd, "name").to_string();
        let resource_version = meta_str(crd, "resourceVersion").to_string();
        let status_write = WriteOptions {
            subresource: Some("status".into()),
            ..Default::default()
        };
        let result = self
            .crds
            .guaranteed_update(None, &name, &status_write, |current| {
                let mut next = current.clone();
                next["status"]["acceptedNames"] = decision.accepted_names.clone();
                set_condition(&mut next, decision.names_accepted.clone());
                set_condition(&mut next, decision.established.clone());
                Ok(next)
            })
            .await;
        match result {
            Ok(updated) => Ok(Some(updated)),
            // Deleted meanwhile: the next pass sees it gone.
            Err(err) if err.code() == http::StatusCode::NOT_FOUND => Ok(None),
            Err(err) => {
                tracing::warn!(crd = %name, %resource_version, error = %err, "CRD naming: status update failed");
                Err(err)
            }
        }
    }

    /// Upstream's establishing controller: a served CRD whose names are accepted turns
    /// `Established`. Runs after [`Self::serve`] published it, so a client that sees the
    /// condition finds its resources served here. The updated CRD when its status changed.
    async fn establish(&self, crd: &Value) -> ApiResult<Option<Value>> {
        use crate::apiextensions::conditions::is_true;
        if !is_true(crd, "NamesAccepted") || is_true(crd, "Established") {
            return Ok(None);
        }
        let served = self
            .known()
            .get(meta_str(crd, "name"))
            .is_some_and(|known| matches!(known.compiled, Some((_, Ok(_)))));
        if !served {
            return Ok(None);
        }
        let status_write = WriteOptions {
            subresource: Some("status".into()),
            ..Default::default()
        };
        let uid = meta_str(crd, "uid").to_string();
        let result = self
            .crds
            .guaranteed_update(None, meta_str(crd, "name"), &status_write, |current| {
                let mut next = current.clone();
                // Only the CRD that was served, and only while its names stay accepted.
                if meta_str(current, "uid") == uid && is_true(current, "NamesAccepted") {
                    set_condition(&mut next, crate::apiextensions::names::established());
                }
                Ok(next)
            })
            .await;
        match result {
            Ok(updated) => Ok(Some(updated)),
            Err(err) if err.code() == http::StatusCode::NOT_FOUND => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// Serves exactly the versions of CRDs whose names are accepted or that are established
    /// (upstream's CR handler), reusing unchanged stores.
    async fn serve(&self, crds: &[Arc<Value>]) {
        let mut wanted: Vec<ServedVersion> = Vec::new();
        let mut terminating = HashSet::new();
        {
            let known = self.known();
            for crd in crds {
                if !servable(crd) {
                    continue;
                }
                let Some((_, compiled)) = known
                    .get(meta_str(crd, "name"))
                    .and_then(|known| known.compiled.as_ref())
                else {
                    continue;
                };
                match compiled {
                    Ok(versions) => {
                        if is_being_deleted(crd) {
                            if let Some(first) = versions.first() {
                                terminating.insert((
                                    first.info.group.to_string(),
                                    first.info.plural.to_string(),
                                ));
                            }
                        }
                        wanted.extend(versions.iter().cloned());
                    }
                    Err(why) => tracing::warn!(
                        crd = %meta_str(crd, "name"),
                        %why,
                        "CRD not served: schema is not structural"
                    ),
                }
            }
        }
        let mut served = self.served.lock().await;
        let mut next: HashMap<(String, String, String), ServedStore> = HashMap::new();
        for version in wanted {
            let info = &version.info;
            let key = (
                info.group.to_string(),
                info.version.to_string(),
                info.plural.to_string(),
            );
            let reusable = served.remove(&key).filter(|old| {
                // The same compiled state, or a new one that serves the same way: the same
                // names, schema (defaults, pruning, rules) and published definitions.
                let custom = |info: &ResourceInfo| {
                    info.custom
                        .as_ref()
                        .map(|c| (c.storage_version.clone(), c.schema.clone()))
                };
                Arc::ptr_eq(&old.version.info, info)
                    || (old.version.info.same_names(info)
                        && custom(&old.version.info) == custom(info)
                        && old.version.schema == version.schema
                        && old.version.openapi == version.openapi
                        && old.version.definition == version.definition
                        && old.version.conversion_webhook == version.conversion_webhook)
            });
            let entry = match reusable {
                Some(old) => old,
                None => {
                    let store = self.store_for(&version);
                    let definitions = version.openapi.clone();
                    ServedStore {
                        version,
                        store,
                        definitions,
                    }
                }
            };
            next.insert(key, entry);
        }
        *served = next;
        let mut stores = ResourceStores::new();
        stores.insert(self.crds.clone());
        let mut scale = HashMap::new();
        let mut documents: BTreeMap<(String, String), Vec<APIResource>> = BTreeMap::new();
        for (key, entry) in served.iter() {
            stores.insert(entry.store.clone());
            if let Some(paths) = &entry.version.scale {
                scale.insert(key.clone(), paths.clone());
            }
            documents
                .entry((key.0.clone(), key.1.clone()))
                .or_default()
                .extend(crate::servers::discovery::resource_entries(
                    &entry.version.info,
                ));
        }
        let mut crd_resources = crate::servers::discovery::resource_entries(self.crds.info());
        crd_resources.sort_by(|a, b| a.name.cmp(&b.name));
        let crd_document = GroupVersionDocument {
            group: GROUP.to_string(),
            version: "v1".to_string(),
            priority: api_service_priority(GROUP, "v1").unwrap_or(CRD_PRIORITY),
            resources: crd_resources,
            freshness: FRESHNESS_CURRENT.into(),
        };
        let documents = std::iter::once(crd_document)
            .chain(
                documents
                    .into_iter()
                    .map(|((group, version), mut resources)| {
                        resources.sort_by(|a, b| a.name.cmp(&b.name));
                        GroupVersionDocument {
                            group,
                            version,
                            priority: CRD_PRIORITY,
                            resources,
                            freshness: FRESHNESS_CURRENT.into(),
                        }
                    }),
            )
            .collect();
        let group_versions: HashSet<(String, String)> = served
            .keys()
            .map(|(group, version, _)| (group.clone(), version.clone()))
            .collect();
        let mut schemas = GroupVersionSchemas::new();
        for ((group, version, plural), entry) in served.iter() {
            schemas
                .entry((group.clone(), version.clone()))
                .or_default()
                .insert(
                    plural.clone(),
                    (entry.version.info.clone(), entry.definitions.clone()),
                );
        }
        drop(served);
        self.publish_openapi(schemas).await;
        self.server.publish(stores, terminating, scale);
        self.discovery
            .set_source(DiscoverySource::CustomResources, documents);
        self.sync_api_services(group_versions).await;
    }

    /// Publishes the OpenAPI documents of the served group/versions whose definitions changed,
    /// and withdraws those no longer served.
    async fn publish_openapi(&self, schemas: GroupVersionSchemas) {
        let mut published = self.published.lock().await;
        for ((group, version), by_plural) in &schemas {
            let definitions: Vec<Definitions> =
                by_plural.values().map(|(_, d)| d.clone()).collect();
            let unchanged = published
                .get(&(group.clone(), version.clone()))
                .is_some_and(|old| {
                    old.len() == definitions.len()
                        && old.iter().zip(&definitions).all(|(a, b)| Arc::ptr_eq(a, b))
                });
            if unchanged {
                continue;
            }
            let resources: Vec<&ResourceInfo> =
                by_plural.values().map(|(info, _)| &**info).collect();
            self.openapi
                .upsert_group_version(group, version, &resources, definitions.clone());
            published.insert((group.clone(), version.clone()), definitions);
        }
        let gone: Vec<(String, String)> = published
            .keys()
            .filter(|key| !schemas.contains_key(*key))
            .cloned()
            .collect();
        for (group, version) in gone {
            self.openapi.remove_group_version(&group, &version);
            published.remove(&(group, version));
        }
    }

    /// One local APIService per group/version CRDs serve, and one for the CRD group itself.
    async fn sync_api_services(&self, mut wanted: HashSet<(String, String)>) {
        wanted.insert((GROUP.to_string(), "v1".to_string()));
        let mut registered = self.registered.lock().await;
        for (group, version) in &wanted {
            if registered.contains(&(group.clone(), version.clone())) {
                continue;
            }
            let (priority, managed) = match api_service_priority(group, version) {
                Some(priority) if group == GROUP => (priority, Automanaged::OnStart),
                _ => (CRD_PRIORITY, Automanaged::Sync),
            };
            let result = autoregister::ensure_local_api_service(
                &self.aggregator,
                group,
                version,
                priority,
                managed,
            )
            .await;
            match result {
                Ok(()) => {
                    registered.insert((group.clone(), version.clone()));
                }
                Err(err) => {
                    tracing::warn!(%group, %version, error = %err, "CRD APIService not registered")
                }
            }
        }
        let gone: Vec<(String, String)> = registered.difference(&wanted).cloned().collect();
        for (group, version) in gone {
            match autoregister::remove_local_api_service(&self.aggregator, &group, &version).await {
                Ok(()) => {
                    registered.remove(&(group, version));
                }
                Err(err) => {
                    tracing::warn!(%group, %version, error = %err, "CRD APIService not removed")
                }
            }
        }
    }

    /// A new store for `version`: its schema, rules, printer columns and conversion.
    fn store_for(&self, version: &ServedVersion) -> Arc<Store> {
        let info = &version.info;
        let table = match CustomColumns::from_version(&version.definition) {
            Ok(columns) => TableConvertor::custom(columns),
            Err(why) => {
                tracing::warn!(resource = %info.plural, %why, "CRD printer columns ignored");
                TableConvertor::default()
            }
        };
        let strategy = CustomResourceStrategy {
            schema: version.schema.clone(),
            rules: version.rules.clone(),
            status_subresource: info.subresource("status").is_some(),
        };
        Arc::new(Store::new(
            info.clone(),
            self.storage.clone(),
            Arc::new(strategy),
            StoreConfig {
                converter: version.conversion_webhook.as_ref().and_then(|config| {
                    let converter = WebhookConverter::new(
                        config,
                        &info.kind,
                        self.aggregator.webhook_client(),
                    )?;
                    Some(ConverterHandle(Arc::new(converter)))
                }),
                namespaces: info
                    .namespaced
                    .then(|| self.namespaces.clone() as Arc<dyn NamespaceLookup>),
                table,
                // The watch cache settings of the built-in stores (`storage.watch_cache`).
                cache: self.namespaces.store().cache_config().clone(),
                ..StoreConfig::default()
            },
        ))
    }

    /// Upstream's `crdFinalizer` for one CRD being deleted. Returns whether it is done.
    async fn finalize(&self, crd: &Value) -> ApiResult<bool> {
        let name = meta_str(crd, "name").to_string();
        if !finalizers(crd).iter().any(|f| f == CLEANUP_FINALIZER) {
            return Ok(true);
        }
        let status_write = WriteOptions {
            subresource: Some("status".into()),
            ..Default::default()
        };
        let in_progress = Condition::new(
            "Terminating",
            "True",
            "InstanceDeletionInProgress",
            "CustomResource deletion is in progress",
        );
        if !has_condition(crd, &in_progress) {
            self.crds
                .guaranteed_update(None, &name, &status_write, |current| {
                    let mut next = current.clone();
                    set_condition(&mut next, in_progress.clone());
                    Ok(next)
                })
                .await?;
        }
        // Delete the custom resources through any served version's store (they share storage);
        // a CRD that serves nothing has no instances anyone could have created through it.
        let group = crd
            .pointer("/spec/group")
            .and_then(Value::as_str)
            .unwrap_or("");
        let plural = crd
            .pointer("/status/acceptedNames/plural")
            .and_then(Value::as_str)
            .unwrap_or("");
        let store = {
            let served = self.served.lock().await;
            served
                .iter()
                .find(|((g, _, p), _)| g == group && p == plural)
                .map(|(_, entry)| entry.store.clone())
        };
        if let Some(store) = store {
            store
                .delete_collection(
                    None,
                    &ListOptions::default(),
                    &DeleteOptions::default(),
                    &WriteOptions::default(),
                )
                .await?;
            if !store
                .list(None, &ListOptions::default())
                .await?
                .items
                .is_empty()
            {
                // Instances with finalizers of their own: wait for them.
                return Ok(false);
            }
        }
        let completed = Condition::new(
            "Terminating",
            "False",
            "InstanceDeletionCompleted",
            "removed all instances",
        );
        self.crds
            .guaranteed_update(None, &name, &status_write, |current| {
                let mut next = current.clone();
                set_condition(&mut next, completed.clone());
                Ok(next)
            })
            .await?;
        self.crds
            .guaranteed_update(None, &name, &WriteOptions::default(), |current| {
                let mut next = current.clone();
                let remaining: Vec<String> = finalizers(current)
                    .into_iter()
                    .filter(|f| f != CLEANUP_FINALIZER)
                    .collect();
                next["metadata"]["finalizers"] = serde_json::json!(remaining);
                Ok(next)
            })
            .await?;
        Ok(true)
    }

    /// Runs until the task is dropped: a pass at start, then after every burst of CRD events;
    /// failed passes and pending finalizations run again after [`RETRY_DELAY`] (see
    /// [`watch_loop`]).
    pub async fn run(self: Arc<Self>) {
        let crds = self.crds.clone();
        let observer = self.clone();
        let observe = move |observed: Observed<'_>| observer.observe(observed);
        watch_loop::run_observing(crds, "CRD controller", RETRY_DELAY, observe, || {
            let controller = self.clone();
            async move {
                match controller.reconcile().await {
                    Ok(pending) => pending,
                    Err(err) => {
                        tracing::warn!(error = %err, "CRD controller: pass failed");
                        true
                    }
                }
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn a_summary_is_the_crd_without_its_schemas() {
        let crd = json!({
            "metadata": {"name": "a.b", "uid": "u"},
            "spec": {"group": "b", "names": {"plural": "a"}, "versions": [
                {"name": "v1", "served": true, "schema": {"openAPIV3Schema": {"type": "object"}}},
                {"name": "v2", "served": false},
            ]},
            "status": {"acceptedNames": {"plural": "a"}},
        });
        let mut expected = crd.clone();
        expected["spec"]["versions"][0]
            .as_object_mut()
            .unwrap()
            .remove("schema");
        assert_eq!(super::summary(&crd), expected);
    }
}
