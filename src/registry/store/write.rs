//! Create, update (PUT) and read-modify-write (PATCH), as upstream's `rest.BeforeCreate`,
//! `rest.BeforeUpdate` and the generic store's `Create`/`Update`.

use apiary_storage::Error as StorageError;
use serde_json::{json, Value};

use super::{object_namespace, parse_resource_version, Store};
use crate::api::status::{ApiError, ApiResult, StatusCause, StatusDetails};
use crate::registry::admission::AdmissionOperation;
use crate::registry::metadata::{
    is_being_deleted, meta, meta_mut, meta_str, now_rfc3339, random_name_suffix,
};
use crate::registry::options::WriteOptions;
use crate::registry::strategy::{FieldPath, StatusUpdate};
use crate::registry::validation::metadata::{validate_object_meta, validate_object_meta_update};
use crate::registry::validation::FieldError;

/// How many generated names a create tries before giving up on AlreadyExists.
const GENERATE_NAME_ATTEMPTS: usize = 5;

/// Metadata an update keeps from the stored object, as `rest.BeforeUpdate`: the creation
/// timestamp always; the uid when the request has none; the deletion timestamp and grace period
/// once set (other changes of them are refused by `validate_object_meta_update`).
fn keep_system_meta(new: &mut Value, old: &Value) {
    let old_meta = meta(old).cloned().unwrap_or_default();
    let new_meta = meta_mut(new);
    let set = |v: Option<&Value>| v.is_some_and(|v| !v.is_null() && v != "");
    match old_meta.get("creationTimestamp") {
        Some(v) => new_meta.insert("creationTimestamp".into(), v.clone()),
        None => new_meta.remove("creationTimestamp"),
    };
    if !set(new_meta.get("uid")) {
        match old_meta.get("uid") {
            Some(v) => new_meta.insert("uid".into(), v.clone()),
            None => new_meta.remove("uid"),
        };
    }
    if set(old_meta.get("deletionTimestamp")) {
        new_meta.insert(
            "deletionTimestamp".into(),
            old_meta["deletionTimestamp"].clone(),
        );
    }
    if set(old_meta.get("deletionGracePeriodSeconds"))
        && !set(new_meta.get("deletionGracePeriodSeconds"))
    {
        new_meta.insert(
            "deletionGracePeriodSeconds".into(),
            old_meta["deletionGracePeriodSeconds"].clone(),
        );
    }
}

impl Store {
    /// 400 unless `obj` is a JSON object whose kind/apiVersion (when given) are the resource's;
    /// then fills them in.
    fn check_type(&self, obj: &mut Value, subresource: Option<&str>) -> ApiResult<()> {
        let Some(map) = obj.as_object_mut() else {
            return Err(ApiError::bad_request(
                "the body of the request must be a JSON object",
            ));
        };
        let expected_version = self.info.api_version();
        let version = map.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        if !version.is_empty() && version != expected_version {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({version}) does not match the expected API version ({expected_version})"
            )));
        }
        let kind = map.get("kind").and_then(Value::as_str).unwrap_or("");
        // Writes of a subresource other than status (e.g. scale) are converted by their handlers.
        if !kind.is_empty() && kind != self.info.kind && subresource.is_none_or(|s| s == "status") {
            return Err(ApiError::bad_request(format!(
                "the object provided is unrecognized (must be of type {}): {kind}",
                self.info.kind
            )));
        }
        map.insert("apiVersion".into(), Value::String(expected_version));
        map.insert("kind".into(), Value::String(self.info.kind.to_string()));
        Ok(())
    }

    /// Puts the request's namespace on the object (upstream's `EnsureObjectNamespaceMatchesRequestNamespace`).
    fn ensure_namespace(
        &self,
        obj: &mut Value,
        namespace: Option<&str>,
        on_create: bool,
    ) -> ApiResult<()> {
        let request_ns = if self.info.namespaced {
            namespace.unwrap_or("")
        } else {
            ""
        };
        let object_ns = object_namespace(obj).to_string();
        if object_ns == request_ns {
            return Ok(());
        }
        if object_ns.is_empty() || request_ns.is_empty() {
            if request_ns.is_empty() {
                meta_mut(obj).remove("namespace");
            } else {
                meta_mut(obj).insert("namespace".into(), Value::String(request_ns.to_string()));
            }
            return Ok(());
        }
        Err(ApiError::bad_request(if on_create {
            "the namespace of the provided object does not match the namespace sent on the request"
                .to_string()
        } else {
            format!("the namespace of the object ({object_ns}) does not match the namespace on the URL ({request_ns})")
        }))
    }

    /// 422 with upstream's message when `errors` is not empty.
    fn invalid(&self, name: &str, errors: Vec<FieldError>) -> ApiResult<()> {
        if errors.is_empty() {
            return Ok(());
        }
        let causes: Vec<StatusCause> = errors.iter().map(FieldError::to_cause).collect();
        Err(ApiError::invalid(
            &self.info.group,
            &self.info.kind,
            name,
            causes,
        ))
    }

    /// Upstream's NamespaceLifecycle admission for creates: 404 for a missing namespace, 403 for
    /// one being terminated.
    async fn check_namespace_accepts_content(&self, namespace: &str, name: &str) -> ApiResult<()> {
        let Some(lookup) = &self.config.namespaces else {
            return Ok(());
        };
        let namespaces = crate::api::status::GroupResource::new("", "namespaces");
        let Some(ns) = lookup.namespace(namespace).await? else {
            return Err(ApiError::not_found(&namespaces, namespace));
        };
        let terminating = ns.pointer("/status/phase").and_then(Value::as_str)
            == Some("Terminating")
            || is_being_deleted(&ns);
        if terminating {
            let mut err = ApiError::forbidden(
                &self.resource,
                name,
                &format!("unable to create new content in namespace {namespace} because it is being terminated"),
            );
            let details = err
                .status
                .details
                .get_or_insert_with(StatusDetails::default);
            details.causes.push(StatusCause {
                reason: "NamespaceTerminating".into(),
                message: format!("namespace {namespace} is being terminated"),
                field: "metadata.namespace".into(),
            });
            return Err(err);
        }
        Ok(())
    }

    /// Applies the create rules to `obj` (everything but the name generation and the write).
    fn prepare_create(&self, obj: &mut Value) {
        let strategy = &self.strategy;
        if strategy.has_status_subresource() {
            if let Some(map) = obj.as_object_mut() {
                map.remove("status");
            }
        }
        let tracks_generation = strategy.tracks_generation();
        let meta = meta_mut(obj);
        for field in [
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "selfLink",
            "resourceVersion",
        ] {
            meta.remove(field);
        }
        meta.insert(
            "uid".into(),
            Value::String(uuid::Uuid::new_v4().to_string()),
        );
        meta.insert("creationTimestamp".into(), Value::String(now_rfc3339()));
        if tracks_generation {
            meta.insert("generation".into(), json!(1));
        } else {
            meta.remove("generation");
        }
        strategy.prepare_for_create(obj);
    }

    /// Builds the object an update stores, from the stored `old` and the requested `new`.
    fn prepare_update(&self, old: &Value, mut new: Value, opts: &WriteOptions) -> ApiResult<Value> {
        let name = meta_str(old, "name").to_string();
        match opts.subresource.as_deref() {
            None => {
                for path in self.strategy.reset_fields() {
                    copy_path(&mut new, old, path);
                }
                self.strategy.prepare_for_update(&mut new, old);
            }
            Some("status") => new = status_update(self.strategy.status_update(), old, new),
            Some(other) => {
                if !self
                    .strategy
                    .prepare_for_subresource_update(other, &mut new, old)
                {
                    return Err(ApiError::method_not_supported(&self.resource, "update"));
                }
            }
        }
        keep_system_meta(&mut new, old);
        let old_meta = meta(old).cloned().unwrap_or_default();
        let new_meta = meta_mut(&mut new);
        new_meta.remove("selfLink");
        match old_meta.get("generation") {
            Some(g) => new_meta.insert("generation".into(), g.clone()),
            None => new_meta.remove("generation"),
        };
        if self.strategy.tracks_generation()
            && spec_changed(old, &new, self.strategy.has_status_subresource())
        {
            let next = old_meta
                .get("generation")
                .and_then(Value::as_i64)
                .unwrap_or(0)
                + 1;
            meta_mut(&mut new).insert("generation".into(), json!(next));
        }
        // managedFields of an Update, after the store's own preparations (server-side apply
        // computes them itself and leaves `field_manager` empty).
        if !opts.field_manager.is_empty() {
            crate::registry::fieldmanager::track_update(
                &self.info,
                Some(old),
                &mut new,
                &opts.field_manager,
                opts.subresource.as_deref(),
            );
        }
        let mut errors =
            validate_object_meta(&new, self.strategy.name_rule(), self.info.namespaced);
        errors.extend(validate_object_meta_update(&new, old));
        errors.extend(match opts.subresource.as_deref() {
            None | Some("status") => self.strategy.validate_update(&new, old),
            Some(other) => self.strategy.validate_subresource_update(other, &new, old),
        });
        self.invalid(&name, errors)?;
        Ok(new)
    }

    /// The object an update stores, admitted: the request's mutating admission on `requested`,
    /// then the update rules and validation ([`Store::prepare_update`]), then its validating
    /// admission (also for a no-op update, as upstream).
    async fn admit_update(
        &self,
        old: &Value,
        mut requested: Value,
        opts: &WriteOptions,
    ) -> ApiResult<Value> {
        let Some(admission) = &opts.admission else {
            return self.prepare_update(old, requested, opts);
        };
        admission
            .mutate(AdmissionOperation::Update, &mut requested, Some(old))
            .await?;
        let new = self.prepare_update(old, requested, opts)?;
        admission
            .validate(AdmissionOperation::Update, Some(&new), Some(old))
            .await?;
        Ok(new)
    }

    /// Writes an update of `cur` to `new`. `Ok(None)` means a concurrent write won (storage
    /// Conflict, or a suggested object storage no longer has) and the caller may retry from
    /// storage. Callers confirm a suggestion before a no-op or dry-run answer.
    async fn write_update(
        &self,
        key: &str,
        cur: &Current,
        new: Value,
        opts: &WriteOptions,
    ) -> ApiResult<Option<Value>> {
        let old = &cur.object;
        let name = meta_str(old, "name").to_string();
        if !cur.stale && same_ignoring_resource_version(old, &new) {
            // A no-op: answer the stored object without a write, as upstream. A stale value
            // (read with an older encryption key) is rewritten, as upstream's GuaranteedUpdate.
            return Ok(Some(old.clone()));
        }
        let remove = is_being_deleted(&new) && self.strategy.ready_to_remove(&new);
        let mut new = new;
        let hook = match (&self.config.write_hook, remove) {
            (Some(hook), false) => Some(hook.begin_update(old, &mut new, opts.dry_run).await?),
            _ => None,
        };
        let bytes = match self.encode(&new).await {
            Ok(bytes) => bytes,
            Err(err) => {
                super::hooks::finish(hook, false).await;
                return Err(err);
            }
        };
        if opts.dry_run {
            super::hooks::finish(hook, false).await;
            return Ok(Some(new));
        }
        let result = if remove {
            self.storage
                .delete(key.as_bytes(), Some(cur.revision))
                .await
                .map(|(rev, _)| rev)
        } else {
            // A resource with a TTL gets it anew on every update (upstream's calculateTTL).
            self.storage
                .update_with_ttl(key.as_bytes(), bytes, cur.revision, self.config.ttl)
                .await
        };
        super::hooks::finish(hook, result.is_ok()).await;
        if remove && result.is_ok() {
            self.after_delete_hook(&new).await;
        }
        match result {
            Ok(revision) => {
                let mut stored = new;
                meta_mut(&mut stored).insert(
                    "resourceVersion".into(),
                    Value::String(revision.to_string()),
                );
                Ok(Some(stored))
            }
            Err(StorageError::Conflict { .. }) => Ok(None),
            Err(StorageError::NotFound { .. }) if !cur.confirmed => Ok(None),
            Err(err) => Err(self.storage_error(err, &name)),
        }
    }

    /// Whether an update of `cur` to `new` answers without a storage write (a no-op or a dry
    /// run), so that a suggested `cur` must be confirmed first.
    fn answers_unwritten(&self, cur: &Current, new: &Value, opts: &WriteOptions) -> bool {
        !cur.confirmed
            && (opts.dry_run || (!cur.stale && same_ignoring_resource_version(&cur.object, new)))
    }
}

/// Whether two objects are equal apart from `metadata.resourceVersion` (compared in place).
fn same_ignoring_resource_version(a: &Value, b: &Value) -> bool {
    let (Value::Object(a), Value::Object(b)) = (a, b) else {
        return a == b;
    };
    let without_rv = |m: &serde_json::Map<String, Value>| {
        m.iter()
            .filter(|(k, _)| k.as_str() != "resourceVersion")
            .count()
    };
    let same_meta = match (a.get("metadata"), b.get("metadata")) {
        (Some(Value::Object(ma)), Some(Value::Object(mb))) => {
            without_rv(ma) == without_rv(mb)
                && ma
                    .iter()
                    .filter(|(k, _)| k.as_str() != "resourceVersion")
                    .all(|(k, v)| mb.get(k) == Some(v))
        }
        (ma, mb) => ma == mb,
    };
    same_meta
        && a.len() == b.len()
        && a.iter()
            .filter(|(k, _)| k.as_str() != "metadata")
            .all(|(k, v)| b.get(k) == Some(v))
}

/// Copies the field at `path` of `from` into `to` (removing it when `from` has none), creating
/// the objects on the way.
fn copy_path(to: &mut Value, from: &Value, path: FieldPath) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let value = parents
        .iter()
        .chain(std::iter::once(last))
        .try_fold(from, |v, key| v.get(*key))
        .cloned();
    let mut target = to;
    for key in parents {
        let Some(map) = target.as_object_mut() else {
            return;
        };
        if value.is_none() && !map.contains_key(*key) {
            return;
        }
        target = map.entry(key.to_string()).or_insert_with(|| json!({}));
    }
    if let Some(map) = target.as_object_mut() {
        match value {
            Some(v) => map.insert(last.to_string(), v),
            None => map.remove(*last),
        };
    }
}

/// The object a write of `/status` stores, from the stored `old` and the requested `new`, as
/// the resource's status strategy says (`update`). The request's managedFields and
/// resourceVersion always stay (the store checks and replaces them).
fn status_update(update: StatusUpdate, old: &Value, new: Value) -> Value {
    let request_meta = meta(&new).cloned().unwrap_or_default();
    let mut result = match update {
        StatusUpdate::Resets(fields) => {
            let mut result = new;
            for path in fields {
                copy_path(&mut result, old, path);
            }
            result
        }
        StatusUpdate::KeepsAllButStatus => {
            let mut result = old.clone();
            copy_path(&mut result, &new, &["status"]);
            result
        }
    };
    for field in ["resourceVersion", "managedFields"] {
        match request_meta.get(field) {
            Some(v) => meta_mut(&mut result).insert(field.into(), v.clone()),
            None => meta_mut(&mut result).remove(field),
        };
    }
    result
}

/// Whether anything outside `metadata` (and `status`, with a status subresource) differs.
fn spec_changed(old: &Value, new: &Value, ignore_status: bool) -> bool {
    let (Value::Object(a), Value::Object(b)) = (old, new) else {
        return old != new;
    };
    let compared = |key: &str| key != "metadata" && !(ignore_status && key == "status");
    let count =
        |m: &serde_json::Map<String, Value>| m.keys().filter(|k| compared(k.as_str())).count();
    count(a) != count(b)
        || a.iter()
            .filter(|(k, _)| compared(k.as_str()))
            .any(|(k, v)| b.get(k) != Some(v))
}

/// The object a read-modify-write starts from, and its revision (its storage mod revision).
pub(super) struct Current {
    pub object: Value,
    pub revision: i64,
    /// Read from storage now, not suggested by the watch cache (which may be behind).
    pub confirmed: bool,
    /// Storage read the value in a form it no longer writes (`KeyValue::stale`): an update
    /// rewrites it even when the object is unchanged.
    pub stale: bool,
}

/// What storage says of a suggestion before an answer no storage write validates.
pub(super) enum Recheck {
    /// The suggestion is current: its answer stands.
    Stands,
    /// Storage has moved on: retry from its state (`None` when the object is gone).
    Moved(Option<Current>),
}

impl Store {
    /// The current object at `key`, as a read-modify-write starts from. With `suggest`, the watch
    /// cache's object when it is Ready and holds the key (upstream's `cachedExistingObject`,
    /// unconfirmed); else storage's. `None` only when storage has no object.
    pub(super) async fn current(
        &self,
        key: &str,
        name: &str,
        suggest: bool,
    ) -> ApiResult<Option<Current>> {
        if suggest {
            if let Some(cached) = self.cache.peek(key.as_bytes()) {
                let revision = meta_str(cached.value(), "resourceVersion").parse::<i64>();
                if let Ok(revision) = revision {
                    return Ok(Some(Current {
                        object: cached.value().clone(),
                        revision,
                        confirmed: false,
                        stale: false,
                    }));
                }
            }
        }
        let current = self
            .storage
            .get(key.as_bytes())
            .await
            .map_err(|e| self.storage_error(e, name))?;
        match current.kv {
            Some(kv) => {
                let object = self.decode(&kv).await?;
                Ok(Some(Current {
                    object,
                    revision: kv.mod_revision,
                    confirmed: true,
                    stale: kv.stale,
                }))
            }
            None => Ok(None),
        }
    }

    /// Confirms `cur` with a storage get when it is an unconfirmed suggestion, as upstream's
    /// `GuaranteedUpdate` refreshes a cached object before returning an error or a no-op.
    pub(super) async fn recheck(&self, key: &str, name: &str, cur: &Current) -> ApiResult<Recheck> {
        if cur.confirmed {
            return Ok(Recheck::Stands);
        }
        let fresh = self.current(key, name, false).await?;
        // A stale value goes on from storage's read, so that the update rewrites it.
        if fresh
            .as_ref()
            .is_some_and(|f| f.revision == cur.revision && !f.stale)
        {
            return Ok(Recheck::Stands);
        }
        Ok(Recheck::Moved(fresh))
    }
}

pub(super) async fn create(
    store: &Store,
    namespace: Option<&str>,
    mut obj: Value,
    opts: &WriteOptions,
) -> ApiResult<Value> {
    store.check_type(&mut obj, None)?;
    store.ensure_namespace(&mut obj, namespace, true)?;
    if !meta_str(&obj, "resourceVersion").is_empty() {
        return Err(ApiError::bad_request(
            "resourceVersion should not be set on objects to be created",
        ));
    }
    store.prepare_create(&mut obj);
    // managedFields, as upstream's create handler records them: of the decoded, defaulted object,
    // before mutating admission (fields admission adds belong to no manager).
    if !opts.field_manager.is_empty() {
        crate::registry::fieldmanager::track_update(
            &store.info,
            None,
            &mut obj,
            &opts.field_manager,
            None,
        );
    }
    // Admission, as upstream: NamespaceLifecycle first, then the request's mutating admission,
    // before the name is generated and the object validated.
    let ns = object_namespace(&obj).to_string();
    if store.info.namespaced {
        store
            .check_namespace_accepts_content(&ns, meta_str(&obj, "name"))
            .await?;
    }
    if let Some(admission) = &opts.admission {
        admission
            .mutate(AdmissionOperation::Create, &mut obj, None)
            .await?;
        store.strategy.after_create_admission(&mut obj);
    }
    let generate_name = meta_str(&obj, "generateName").to_string();
    let generated = meta_str(&obj, "name").is_empty() && !generate_name.is_empty();
    if generated {
        meta_mut(&mut obj).insert(
            "name".into(),
            Value::String(format!("{generate_name}{}", random_name_suffix())),
        );
    }
    let mut errors = validate_object_meta(&obj, store.strategy.name_rule(), store.info.namespaced);
    errors.extend(store.strategy.validate_create(&obj));
    store.invalid(meta_str(&obj, "name"), errors)?;
    if let Some(admission) = &opts.admission {
        admission
            .validate(AdmissionOperation::Create, Some(&obj), None)
            .await?;
    }
    let hook = match &store.config.write_hook {
        Some(hook) => Some(hook.begin_create(&mut obj, opts.dry_run).await?),
        None => None,
    };
    if opts.dry_run {
        super::hooks::finish(hook, false).await;
        return Ok(obj);
    }
    let result = write_new(store, &ns, obj, generated, &generate_name).await;
    super::hooks::finish(hook, result.is_ok()).await;
    result
}

/// Writes a prepared new object, retrying generated names on AlreadyExists.
async fn write_new(
    store: &Store,
    ns: &str,
    mut obj: Value,
    generated: bool,
    generate_name: &str,
) -> ApiResult<Value> {
    let attempts = if generated { GENERATE_NAME_ATTEMPTS } else { 1 };
    for attempt in 0..attempts {
        if attempt > 0 {
            meta_mut(&mut obj).insert(
                "name".into(),
                Value::String(format!("{generate_name}{}", random_name_suffix())),
            );
        }
        let name = meta_str(&obj, "name").to_string();
        let key = store.layout.object_key(Some(ns), &name);
        let bytes = store.encode(&obj).await?;
        match store
            .storage
            .create_with_ttl(key.as_bytes(), bytes, store.config.ttl)
            .await
        {
            Ok(revision) => {
                meta_mut(&mut obj).insert(
                    "resourceVersion".into(),
                    Value::String(revision.to_string()),
                );
                return Ok(obj);
            }
            Err(StorageError::AlreadyExists { .. }) if attempt + 1 < attempts => continue,
            Err(err) => return Err(store.storage_error(err, &name)),
        }
    }
    Err(ApiError::already_exists(
        &store.resource,
        meta_str(&obj, "name"),
    ))
}

pub(super) async fn update(
    store: &Store,
    namespace: Option<&str>,
    name: &str,
    mut obj: Value,
    opts: &WriteOptions,
) -> ApiResult<(Value, bool)> {
    store.check_type(&mut obj, opts.subresource.as_deref())?;
    let body_name = meta_str(&obj, "name").to_string();
    if body_name.is_empty() {
        meta_mut(&mut obj).insert("name".into(), Value::String(name.to_string()));
    } else if body_name != name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({name})"
        )));
    }
    store.ensure_namespace(&mut obj, namespace, false)?;
    let requested_rv = parse_resource_version(meta_str(&obj, "resourceVersion"))?;
    if requested_rv.is_none() && !store.strategy.allow_unconditional_update() {
        let required = FieldError::required(
            "metadata.resourceVersion",
            "must be specified for an update",
        );
        store.invalid(name, vec![required])?;
    }
    let caller = Caller::Update {
        body: &obj,
        requested_rv,
    };
    let body_uid = meta_str(&obj, "uid").to_string();
    let key = store.layout.object_key(namespace, name);
    let attempt = |cur: &Current| -> ApiResult<Value> {
        // A PUT's uid is a precondition, checked before anything else, as upstream's
        // `DefaultUpdatedObjectInfo.Preconditions` and storage's `Preconditions.Check`.
        let stored_uid = meta_str(&cur.object, "uid");
        if !body_uid.is_empty() && body_uid != stored_uid {
            return Err(ApiError::precondition_failed(
                &store.resource,
                name,
                &key,
                "UID",
                &body_uid,
                stored_uid,
            ));
        }
        if requested_rv.is_some_and(|rv| rv != cur.revision) {
            return Err(ApiError::stale_object(&store.resource, name));
        }
        Ok(obj.clone())
    };
    retry_update(store, namespace, name, opts, caller, attempt).await
}

pub(super) async fn guaranteed_update<F>(
    store: &Store,
    namespace: Option<&str>,
    name: &str,
    opts: &WriteOptions,
    mut mutate: F,
) -> ApiResult<Value>
where
    F: FnMut(&Value) -> ApiResult<Value> + Send,
{
    let attempt = |cur: &Current| -> ApiResult<Value> {
        let mut new = mutate(&cur.object)?;
        store.check_type(&mut new, opts.subresource.as_deref())?;
        let new_name = meta_str(&new, "name");
        if !new_name.is_empty() && new_name != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({new_name}) does not match the name on the URL ({name})"
            )));
        }
        meta_mut(&mut new).insert("name".into(), Value::String(name.to_string()));
        store.ensure_namespace(&mut new, namespace, false)?;
        let requested_rv = parse_resource_version(meta_str(&new, "resourceVersion"))?;
        if requested_rv.is_some_and(|rv| rv != cur.revision) {
            return Err(ApiError::stale_object(&store.resource, name));
        }
        Ok(new)
    };
    let (stored, _) =
        retry_update(store, namespace, name, opts, Caller::Guaranteed, attempt).await?;
    Ok(stored)
}

/// Where `update` and `guaranteed_update` part ways in [`retry_update`].
#[derive(Clone, Copy)]
enum Caller<'a> {
    /// PUT of `body`: a missing object is created from it when the strategy allows, and a
    /// lost write with a requested resourceVersion is a conflict.
    Update {
        body: &'a Value,
        requested_rv: Option<i64>,
    },
    /// A read-modify-write: a missing object is NotFound, and a lost write is retried.
    Guaranteed,
}

/// The retry loop of an update, as upstream's `GuaranteedUpdate`: reads the current object
/// (the watch cache's suggestion first), makes the requested object from it with `attempt`,
/// admits it, confirms a suggestion before an error or an unwritten answer, and writes it,
/// starting over from storage's state when a concurrent write won. Returns the stored object
/// and whether it was created.
async fn retry_update<F>(
    store: &Store,
    namespace: Option<&str>,
    name: &str,
    opts: &WriteOptions,
    caller: Caller<'_>,
    mut attempt: F,
) -> ApiResult<(Value, bool)>
where
    F: FnMut(&Current) -> ApiResult<Value> + Send,
{
    let lost_write_conflicts = matches!(
        caller,
        Caller::Update {
            requested_rv: Some(_),
            ..
        }
    );
    let key = store.layout.object_key(namespace, name);
    // A state already read from storage to start the next attempt from.
    let mut next: Option<Option<Current>> = None;
    for _ in 0..store.config.max_update_retries {
        let state = match next.take() {
            Some(state) => state,
            None => store.current(&key, name, true).await?,
        };
        let Some(cur) = state else {
            if let Caller::Update { body, .. } = caller {
                if store.strategy.allow_create_on_update() && opts.subresource.is_none() {
                    let mut fresh = body.clone();
                    meta_mut(&mut fresh).remove("resourceVersion");
                    return match create(store, namespace, fresh, opts).await {
                        // Lost a race with another creator: retry as an update.
                        Err(err) if err.status.reason == "AlreadyExists" => continue,
                        other => other.map(|created| (created, true)),
                    };
                }
            }
            return Err(ApiError::not_found(&store.resource, name));
        };
        let admitted = match attempt(&cur) {
            Ok(requested) => store.admit_update(&cur.object, requested, opts).await,
            Err(err) => Err(err),
        };
        let new = match admitted {
            Ok(new) if !store.answers_unwritten(&cur, &new, opts) => new,
            // An error or an unwritten answer from a suggestion: only if storage agrees.
            admitted => match store.recheck(&key, name, &cur).await? {
                Recheck::Stands => admitted?,
                Recheck::Moved(fresh) => {
                    next = Some(fresh);
                    continue;
                }
            },
        };
        match store.write_update(&key, &cur, new, opts).await? {
            Some(stored) => return Ok((stored, false)),
            None if lost_write_conflicts => {
                return Err(ApiError::stale_object(&store.resource, name))
            }
            None => next = Some(store.current(&key, name, false).await?),
        }
    }
    Err(ApiError::stale_object(&store.resource, name))
}
