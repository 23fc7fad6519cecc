//! The generic store: one per resource, over the storage trait, as upstream's
//! `pkg/registry/generic/registry/store.go`. Handlers speak to it in objects (`serde_json::Value`)
//! and options; it owns keys, metadata rules (uid, creationTimestamp, generation, generateName,
//! resourceVersion), preconditions, the status subresource split, namespace checks and the shared
//! watch of its resource.
//!
//! What the store MUST do, whatever the resource:
//! * every read sets `metadata.resourceVersion` from the storage revision of the key, and every
//!   list the list's revision; writes never store it;
//! * create fails with 409 AlreadyExists, update and delete with preconditions fail with 409
//!   Conflict, never overwriting a newer object; `guaranteed_update` retries on conflicts up to
//!   [`StoreConfig::max_update_retries`];
//! * the per-resource rules come from the [`Strategy`] and the collaborators of [`StoreConfig`]
//!   (namespace lookup, write and delete hooks), all fixed when the store is built;
//! * `status` writes change only `.status` and main-resource writes leave it alone when the
//!   strategy has a status subresource ([`WriteOptions::subresource`] selects the write);
//! * one shared watch per store: every watcher sees every change after its resourceVersion once,
//!   in order, or its stream ends with 410 Expired;
//! * gets and lists keep upstream's resourceVersion rules whether the store's watch cache
//!   ([`cache`]) or storage answers them: no resourceVersion is the most recent state.
//!
//! Storage layout and wire rules: keys as [`crate::registry::keys`]; values are the object's JSON
//! without `metadata.resourceVersion`, which every read sets from the key's mod revision.

pub mod cache;
mod delete;
pub mod hooks;
mod list;
mod write;

pub(crate) use list::too_large_resource_version;

use std::sync::Arc;
use std::time::Duration;

use apiary_storage::{KeyValue, Storage};
use async_trait::async_trait;
use bytes::Bytes;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{json, Map, Value};

use crate::api::status::{ApiError, ApiResult, GroupResource};
use crate::catalog::{Persistence, ResourceInfo};
use crate::registry::conversion::ConverterHandle;
use crate::registry::keys::KeyLayout;
use crate::registry::metadata::{meta_mut, meta_str};
use crate::registry::options::{DeleteOptions, GetOptions, ListOptions, WriteOptions};
use crate::registry::selectors::SelectableFields;
pub use crate::registry::store::cache::{
    event_json, BeyondWindow, CacheConfig, EventFrames, WatchEvent, WatchEventType, WatchEvents,
    WatchInitSignal, WatchObject,
};
use crate::registry::store::cache::{Lookup, WatchCache};
use crate::registry::strategy::Strategy;
use crate::registry::table::TableConvertor;

/// One page of a list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ObjectList {
    /// The items, each with its `metadata.resourceVersion` set.
    pub items: Vec<Value>,
    /// The list's `metadata.resourceVersion`: the revision the list was read at.
    pub resource_version: String,
    /// `metadata.continue`: set when more items remain.
    pub continue_token: Option<String>,
    /// `metadata.remainingItemCount`, when known.
    pub remaining_item_count: Option<i64>,
}

impl ObjectList {
    /// The list as a `<Kind>List` object of `info`'s resource.
    pub fn to_value(&self, info: &ResourceInfo) -> Value {
        let mut metadata = Map::new();
        if !self.resource_version.is_empty() {
            metadata.insert(
                "resourceVersion".into(),
                Value::String(self.resource_version.clone()),
            );
        }
        if let Some(token) = &self.continue_token {
            metadata.insert("continue".into(), Value::String(token.clone()));
        }
        if let Some(remaining) = self.remaining_item_count {
            metadata.insert("remainingItemCount".into(), json!(remaining));
        }
        json!({
            "kind": format!("{}List", info.kind),
            "apiVersion": info.api_version(),
            "metadata": metadata,
            "items": self.items,
        })
    }
}

/// One page of a list whose items are the shared objects (of the watch cache, when it answered):
/// what responses render from each item's cached bytes.
#[derive(Debug, Clone, Default)]
pub struct ListPage {
    /// The items, each with its `metadata.resourceVersion` set.
    pub items: Vec<Arc<WatchObject>>,
    /// The list's `metadata.resourceVersion`: the revision the list was read at.
    pub resource_version: String,
    /// `metadata.continue`: set when more items remain.
    pub continue_token: Option<String>,
    /// `metadata.remainingItemCount`, when known.
    pub remaining_item_count: Option<i64>,
}

impl ListPage {
    /// The page with its items as values (cloned where the cache shares them).
    pub fn into_list(self) -> ObjectList {
        ObjectList {
            items: self
                .items
                .into_iter()
                .map(WatchObject::into_value)
                .collect(),
            resource_version: self.resource_version,
            continue_token: self.continue_token,
            remaining_item_count: self.remaining_item_count,
        }
    }
}

/// What a delete did.
#[derive(Debug, Clone, PartialEq)]
pub struct DeleteOutcome {
    /// The deleted object (its last state, with the resourceVersion of the delete), or the object
    /// marked for deletion.
    pub object: Value,
    /// `true` when the object is gone; `false` when it was only marked (`deletionTimestamp` set)
    /// because finalizers remain.
    pub deleted: bool,
}

/// Tunables of a store and its shared watch, and the collaborators fixed when it is built.
#[derive(Clone)]
pub struct StoreConfig {
    /// Recent events kept for watchers that start from a recent resourceVersion.
    pub watch_history: usize,
    /// The most stored bytes (objects and previous states) those recent events may hold; the
    /// oldest go first beyond it. Bounds what a watch of large objects (CRDs) keeps in memory.
    pub watch_history_bytes: usize,
    /// Events a watcher may fall behind by before it is ended with 410 Expired.
    pub watcher_backlog: usize,
    /// The period of BOOKMARK events for watchers that allow them (upstream: about a minute).
    pub bookmark_interval: Duration,
    /// How many times a read-modify-write retries on a concurrent write before answering 409.
    pub max_update_retries: usize,
    /// Converts objects between the served and the stored version when that is not done
    /// in-process (custom resources of a CRD with conversion webhooks).
    pub converter: Option<ConverterHandle>,
    /// Where a namespaced store checks that the namespace of a create exists and is not
    /// terminating (the namespaces' lifecycle lookup); `None` checks nothing.
    pub namespaces: Option<Arc<dyn NamespaceLookup>>,
    /// Asynchronous work around writes (Service allocation); `None` has none.
    pub write_hook: Option<Arc<dyn hooks::WriteHook>>,
    /// Told of each delete request before it is tried (the namespaces' lifecycle); `None`: no
    /// one.
    pub delete_hook: Option<Arc<dyn hooks::DeleteHook>>,
    /// How the resource's objects print as Tables.
    pub table: TableConvertor,
    /// The fields a field selector may name, and how they read.
    pub fields: SelectableFields,
    /// Where gets and lists of a resource whose objects are computed rather than stored are
    /// answered (`componentstatuses`); `None`: from storage.
    pub computed: Option<Arc<dyn ComputedReads>>,
    /// The watch cache (never used when `computed` is set).
    pub cache: CacheConfig,
    /// How long the resource's objects live after their last create or update before the storage
    /// deletes them (upstream's `TTLFunc`: Events, `--event-ttl`); `None`: forever. A delete
    /// that only marks the object (finalizers, grace period) writes it without one, as upstream.
    pub ttl: Option<Duration>,
}

impl std::fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreConfig")
            .field("watch_history", &self.watch_history)
            .field("watch_history_bytes", &self.watch_history_bytes)
            .field("watcher_backlog", &self.watcher_backlog)
            .field("bookmark_interval", &self.bookmark_interval)
            .field("max_update_retries", &self.max_update_retries)
            .field("converter", &self.converter)
            .field("namespaces", &self.namespaces.is_some())
            .field("write_hook", &self.write_hook.is_some())
            .field("delete_hook", &self.delete_hook.is_some())
            .field("computed", &self.computed.is_some())
            .field("cache", &self.cache)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            watch_history: 4096,
            watch_history_bytes: 64 << 20,
            watcher_backlog: 1024,
            bookmark_interval: Duration::from_secs(60),
            max_update_retries: 32,
            converter: None,
            namespaces: None,
            write_hook: None,
            delete_hook: None,
            table: TableConvertor::default(),
            fields: SelectableFields::COMMON,
            computed: None,
            cache: CacheConfig::default(),
            ttl: None,
        }
    }
}

/// The reads of a resource whose objects are computed on each request instead of stored
/// (upstream's REST storages that are only a `rest.Getter` and a `rest.Lister`, such as
/// `componentstatuses`). Its objects have no resourceVersion; the store applies selectors.
#[async_trait]
pub trait ComputedReads: Send + Sync + 'static {
    /// The object `name`; MUST answer 404 when there is none.
    async fn get(&self, name: &str) -> ApiResult<Value>;
    /// Every object.
    async fn list(&self) -> ApiResult<Vec<Value>>;
}

/// Looks up namespaces for creates into them (upstream's NamespaceLifecycle admission; the
/// namespaces' lifecycle lookup in `registry::resources::core` implements it).
#[async_trait]
pub trait NamespaceLookup: Send + Sync + 'static {
    /// The namespace object, or `None` when it does not exist.
    async fn namespace(&self, name: &str) -> ApiResult<Option<Value>>;
}

/// The generic store of one resource.
pub struct Store {
    info: Arc<ResourceInfo>,
    storage: Arc<dyn Storage>,
    strategy: Arc<dyn Strategy>,
    layout: KeyLayout,
    resource: GroupResource,
    cache: WatchCache,
    config: StoreConfig,
}

impl Store {
    /// A store of `info`'s resource over `storage`, with `strategy`'s per-resource rules.
    pub fn new(
        info: Arc<ResourceInfo>,
        storage: Arc<dyn Storage>,
        strategy: Arc<dyn Strategy>,
        config: StoreConfig,
    ) -> Self {
        let layout = KeyLayout::for_resource(&info);
        let cache = WatchCache::new(
            info.clone(),
            storage.clone(),
            layout.clone(),
            config.clone(),
        );
        Self {
            resource: info.group_resource(),
            info,
            storage,
            strategy,
            layout,
            cache,
            config,
        }
    }

    /// Runs the write hook's `after_delete` on an object that left storage.
    async fn after_delete_hook(&self, obj: &Value) {
        if let Some(hook) = &self.config.write_hook {
            hook.after_delete(obj).await;
        }
    }

    pub fn info(&self) -> &Arc<ResourceInfo> {
        &self.info
    }

    /// How many objects the store holds, as its watch cache knows it now (`None` while the
    /// cache is disabled or not ready): a cheap count for priority and fairness.
    pub fn object_count(&self) -> Option<u64> {
        self.cache.object_count()
    }

    /// The store's watch cache settings.
    pub fn cache_config(&self) -> &CacheConfig {
        &self.config.cache
    }

    /// How the resource's objects print as Tables.
    pub fn table(&self) -> &TableConvertor {
        &self.config.table
    }

    /// The key layout of the resource.
    pub fn layout(&self) -> &KeyLayout {
        &self.layout
    }

    /// The strategy of the resource.
    pub fn strategy(&self) -> &Arc<dyn Strategy> {
        &self.strategy
    }

    /// `obj`, as `from` (a store of another version of this resource) serves it, converted to
    /// the version this store serves: through this store's converter when it has one, else
    /// in-process through the storage form. Admission uses it for webhooks matched in another
    /// version (`matchPolicy: Equivalent`).
    pub async fn convert_from(&self, from: &Store, obj: Value) -> ApiResult<Value> {
        if let Some(converter) = &self.config.converter {
            return converter.convert_one(obj, &self.info.api_version()).await;
        }
        let stored = crate::registry::conversion::builtin::to_storage(&from.info, obj);
        Ok(crate::registry::conversion::builtin::to_served(
            &self.info, stored,
        ))
    }

    /// An object a mutating webhook patched, decoded as upstream decodes the patched JSON into
    /// the kind's type: unknown fields dropped (a custom resource's schema prunes them), then
    /// the kind's defaults. An object that does not decode is an internal error, as upstream's.
    pub fn decode_patched(&self, obj: Value) -> ApiResult<Value> {
        let mut decoded = self
            .info
            .codec()
            .round_trip(obj)
            .map_err(ApiError::internal)?;
        self.strategy.apply_defaults(&mut decoded);
        Ok(decoded)
    }

    /// Reads the most recent state of one object (a consistent read).
    pub async fn get(&self, namespace: Option<&str>, name: &str) -> ApiResult<Value> {
        self.get_with(namespace, name, &GetOptions::default()).await
    }

    /// Reads one object with upstream's resourceVersion rules: unset, the most recent state;
    /// `"0"`, any state (the cache as it is); `N`, a state at least as new as N, else 504.
    pub async fn get_with(
        &self,
        namespace: Option<&str>,
        name: &str,
        opts: &GetOptions,
    ) -> ApiResult<Value> {
        self.get_object(namespace, name, opts)
            .await
            .map(WatchObject::into_value)
    }

    /// [`get_with`](Self::get_with), answering the shared object (the watch cache's, when it
    /// answered), whose serialised forms are cached.
    pub async fn get_object(
        &self,
        namespace: Option<&str>,
        name: &str,
        opts: &GetOptions,
    ) -> ApiResult<Arc<WatchObject>> {
        if let Some(computed) = &self.config.computed {
            return Ok(Arc::new(WatchObject::new(computed.get(name).await?)));
        }
        let requested = parse_resource_version(&opts.resource_version)?;
        let key = self.layout.object_key(namespace, name);
        match self.cache.get(key.as_bytes(), requested).await? {
            Lookup::Found(obj) => return Ok(obj),
            Lookup::Missing => return Err(ApiError::not_found(&self.resource, name)),
            Lookup::Storage => {}
        }
        let resp = self
            .storage
            .get(key.as_bytes())
            .await
            .map_err(|e| self.storage_error(e, name))?;
        if let Some(min) = requested.filter(|rv| *rv > 0) {
            if resp.revision < min {
                return Err(too_large_resource_version(min, resp.revision));
            }
        }
        let Some(kv) = resp.kv else {
            return Err(ApiError::not_found(&self.resource, name));
        };
        // The cache's copy at the same revision is the same object, already encoded.
        if let Some(cached) = self.cache.peek(key.as_bytes()) {
            if meta_str(cached.value(), "resourceVersion")
                .parse::<i64>()
                .ok()
                == Some(kv.mod_revision)
            {
                return Ok(cached);
            }
        }
        Ok(Arc::new(WatchObject::new(self.decode(&kv).await?)))
    }

    /// Lists objects; see the module [`list`] for the resourceVersion and paging rules.
    pub async fn list(&self, namespace: Option<&str>, opts: &ListOptions) -> ApiResult<ObjectList> {
        self.list_objects(namespace, opts)
            .await
            .map(ListPage::into_list)
    }

    /// What an informer's lister answers, as upstream's admission plugins read: the watch cache
    /// as it is (resourceVersion "0"), then storage when the cache has no such object (it may not
    /// have seen a new one yet).
    pub async fn get_listed(&self, namespace: Option<&str>, name: &str) -> ApiResult<Value> {
        let cached = GetOptions {
            resource_version: "0".into(),
        };
        match self.get_with(namespace, name, &cached).await {
            Err(err) if err.status.code == 404 => self.get(namespace, name).await,
            found => found,
        }
    }

    /// Every object in `namespace` as a lister sees them (the cache as it is); storage when the
    /// cache has none, as upstream's plugins look up live when their lister is empty.
    pub async fn list_listed(&self, namespace: Option<&str>) -> ApiResult<Vec<Value>> {
        let cached = ListOptions {
            resource_version: "0".into(),
            ..ListOptions::default()
        };
        let items = self.list(namespace, &cached).await?.items;
        if !items.is_empty() {
            return Ok(items);
        }
        Ok(self.list(namespace, &ListOptions::default()).await?.items)
    }

    /// [`list`](Self::list), answering the shared objects (the watch cache's, when it answered),
    /// whose serialised forms are cached.
    pub async fn list_objects(
        &self,
        namespace: Option<&str>,
        opts: &ListOptions,
    ) -> ApiResult<ListPage> {
        match &self.config.computed {
            Some(computed) => list::list_computed(self, computed.as_ref(), opts).await,
            None => list::list(self, namespace, opts).await,
        }
    }

    /// Creates an object (POST).
    pub async fn create(
        &self,
        namespace: Option<&str>,
        obj: Value,
        opts: &WriteOptions,
    ) -> ApiResult<Value> {
        write::create(self, namespace, obj, opts).await
    }

    /// PUT: returns the object and whether it was created (201) rather than updated (200).
    pub async fn update(
        &self,
        namespace: Option<&str>,
        name: &str,
        obj: Value,
        opts: &WriteOptions,
    ) -> ApiResult<(Value, bool)> {
        write::update(self, namespace, name, obj, opts).await
    }

    /// Read-modify-write with retry on conflict (PATCH, controllers): `mutate` receives the current
    /// object and returns the new one; a resourceVersion in the result that differs from the
    /// current one gives 409. A missing object gives 404.
    pub async fn guaranteed_update<F>(
        &self,
        namespace: Option<&str>,
        name: &str,
        opts: &WriteOptions,
        mutate: F,
    ) -> ApiResult<Value>
    where
        F: FnMut(&Value) -> ApiResult<Value> + Send,
    {
        write::guaranteed_update(self, namespace, name, opts, mutate).await
    }

    /// Deletes an object, or marks it for deletion when finalizers remain; a delete the strategy
    /// refuses is a 403.
    pub async fn delete(
        &self,
        namespace: Option<&str>,
        name: &str,
        opts: &DeleteOptions,
        write: &WriteOptions,
    ) -> ApiResult<DeleteOutcome> {
        if let Some(why) = self.strategy.refuse_delete(name) {
            return Err(ApiError::forbidden(&self.resource, name, why));
        }
        if let Some(hook) = &self.config.delete_hook {
            hook.delete_requested(namespace, name);
        }
        delete::delete(self, namespace, name, opts, write).await
    }

    /// Deletes every selected object (each as [`Store::delete`]); answers the deleted objects.
    pub async fn delete_collection(
        &self,
        namespace: Option<&str>,
        list: &ListOptions,
        opts: &DeleteOptions,
        write: &WriteOptions,
    ) -> ApiResult<ObjectList> {
        delete::delete_collection(self, namespace, list, opts, write).await
    }

    /// Watches the resource (in `namespace`, when given) through its watch cache.
    pub async fn watch(
        &self,
        namespace: Option<&str>,
        opts: &ListOptions,
    ) -> ApiResult<WatchEvents> {
        self.cache.watch(namespace, opts, None).await
    }

    /// [`watch`](Self::watch) that fires `init` once the initial events are sent (priority and
    /// fairness holds the request's seats until then).
    pub async fn watch_signalling(
        &self,
        namespace: Option<&str>,
        opts: &ListOptions,
        init: Option<WatchInitSignal>,
    ) -> ApiResult<WatchEvents> {
        self.cache.watch(namespace, opts, init).await
    }

    /// Completes a namespace's deletion once its content is gone: removes `spec.finalizers`
    /// through the `finalize` path, which deletes the namespace when no finalizer remains.
    /// Only meaningful on the namespaces' store.
    pub async fn finalize_namespace(&self, name: &str) -> ApiResult<Value> {
        let opts = WriteOptions {
            subresource: Some("finalize".into()),
            ..Default::default()
        };
        self.guaranteed_update(None, name, &opts, |current| {
            let mut next = current.clone();
            if let Some(spec) = next.get_mut("spec").and_then(Value::as_object_mut) {
                spec.insert("finalizers".into(), json!([]));
            }
            Ok(next)
        })
        .await
    }

    // ---- helpers shared by the submodules ----

    fn storage_error(&self, err: apiary_storage::Error, name: &str) -> ApiError {
        ApiError::from_storage(err, &self.resource, name)
    }

    /// Decodes a stored value and sets its resourceVersion to the key's mod revision.
    async fn decode(&self, kv: &KeyValue) -> ApiResult<Value> {
        decode_converted(
            &self.info,
            self.config.converter.as_ref(),
            &kv.value,
            kv.mod_revision,
        )
        .await
    }

    /// Serialises an object for storage (in the version it is stored as), without
    /// `metadata.resourceVersion`.
    async fn encode(&self, obj: &Value) -> ApiResult<Bytes> {
        // A copy only when a conversion applies (virtual and same-version objects are stored
        // as they are).
        let converted = match &self.config.converter {
            Some(converter) => match self.info.storage_gvk() {
                Some(gvk) => {
                    let to = if gvk.group.is_empty() {
                        gvk.version.to_string()
                    } else {
                        format!("{}/{}", gvk.group, gvk.version)
                    };
                    Some(converter.convert_one(obj.clone(), &to).await?)
                }
                None => None,
            },
            None => match self.info.persistence() {
                Persistence::StoredAs(_) => Some(crate::registry::conversion::builtin::to_storage(
                    &self.info,
                    obj.clone(),
                )),
                Persistence::Stored | Persistence::Virtual => None,
            },
        };
        serde_json::to_vec(&WithoutResourceVersion(converted.as_ref().unwrap_or(obj)))
            .map(Bytes::from)
            .map_err(ApiError::internal)
    }
}

/// Serialises an object as serde_json serialises it, but without `metadata.resourceVersion`.
struct WithoutResourceVersion<'a>(&'a Value);

impl Serialize for WithoutResourceVersion<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Value::Object(map) = self.0 else {
            return self.0.serialize(serializer);
        };
        let mut out = serializer.serialize_map(Some(map.len()))?;
        for (key, value) in map {
            match value {
                Value::Object(meta) if key == "metadata" => {
                    out.serialize_entry(key, &MetadataWithoutResourceVersion(meta))?
                }
                _ => out.serialize_entry(key, value)?,
            }
        }
        out.end()
    }
}

/// An object's metadata without `resourceVersion`, serialised as a JSON object.
struct MetadataWithoutResourceVersion<'a>(&'a Map<String, Value>);

impl Serialize for MetadataWithoutResourceVersion<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(
            self.0
                .iter()
                .filter(|(k, _)| k.as_str() != "resourceVersion"),
        )
    }
}

/// Decodes stored bytes into an object as `info`'s version serves it, with
/// `metadata.resourceVersion` = `revision`.
pub(crate) fn decode_value(info: &ResourceInfo, bytes: &[u8], revision: i64) -> ApiResult<Value> {
    let stored: Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::internal(format!("unable to decode stored object: {e}")))?;
    let mut obj = crate::registry::conversion::builtin::to_served(info, stored);
    from_storage(info, &mut obj);
    meta_mut(&mut obj).insert(
        "resourceVersion".into(),
        Value::String(revision.to_string()),
    );
    Ok(obj)
}

/// What decoding from storage applies to a custom resource: pruning and defaulting by its
/// version's schema (upstream's CR storage codec, so a default added to the CRD shows on get,
/// list and watch of objects stored before). Upstream defaults by the storage version's schema
/// before converting; this applies the served version's after converting.
fn from_storage(info: &ResourceInfo, obj: &mut Value) {
    if let Some(custom) = &info.custom {
        custom.codec.decode_stored(obj);
    }
}

/// [`decode_value`], converting through `converter` when the store has one.
pub(crate) async fn decode_converted(
    info: &ResourceInfo,
    converter: Option<&ConverterHandle>,
    bytes: &[u8],
    revision: i64,
) -> ApiResult<Value> {
    let Some(converter) = converter else {
        return decode_value(info, bytes, revision);
    };
    let stored: Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::internal(format!("unable to decode stored object: {e}")))?;
    let mut obj = converter.convert_one(stored, &info.api_version()).await?;
    from_storage(info, &mut obj);
    meta_mut(&mut obj).insert(
        "resourceVersion".into(),
        Value::String(revision.to_string()),
    );
    Ok(obj)
}

/// Parses a resourceVersion of a request: empty -> `None`; a non-negative integer -> `Some`;
/// anything else -> 400.
pub(crate) fn parse_resource_version(rv: &str) -> ApiResult<Option<i64>> {
    if rv.is_empty() {
        return Ok(None);
    }
    rv.parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .map(Some)
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "resourceVersion: Invalid value: {}: invalid resource version",
                crate::api::go_fmt::go_quote(rv)
            ))
        })
}

/// The namespace an object names in its metadata (`""` when none).
pub(crate) fn object_namespace(obj: &Value) -> &str {
    meta_str(obj, "namespace")
}

#[cfg(test)]
mod tests;
