//! Delete and delete-collection, as upstream's generic store `Delete`/`DeleteCollection`
//! (`staging/src/k8s.io/apiserver/pkg/registry/generic/registry/store.go`) with
//! `rest.BeforeDelete` (`staging/src/k8s.io/apiserver/pkg/registry/rest/delete.go`).
//!
//! A strategy either decides a delete alone ([`DeleteAction::Remove`], [`DeleteAction::Mark`],
//! [`DeleteAction::Unchanged`]: namespaces, CRDs) or asks for the generic deletion
//! ([`DeleteAction::Generic`]), which [`plan_generic_delete`] decides:
//! * preconditions (`uid`, `resourceVersion`) are checked with `BeforeDelete`'s messages;
//! * graceful deletion (pods, through [`Strategy::graceful_delete_period`]): the first delete sets
//!   `deletionTimestamp = now + grace` and `deletionGracePeriodSeconds = grace`; a later delete may
//!   only shorten the grace period, else it is answered unchanged;
//! * the garbage collector's finalizers: `orphan` or `foregroundDeletion` are added or removed as
//!   the request's `propagationPolicy`/`orphanDependents`, the finalizers present and the
//!   resource's default policy ([`Strategy::gc_policy`]) say (`deletionFinalizersForGarbageCollection`);
//! * an object with finalizers left is marked (`markAsDeleting`: `deletionTimestamp` now unless
//!   already earlier, `deletionGracePeriodSeconds` 0) and kept; otherwise it is removed.
//!
//! Upstream writes a graceful delete with grace 0 as an update before removing the object; here
//! such an object is removed at once (one write instead of two, the same end state).

use apiary_storage::Error as StorageError;
use serde_json::{json, Value};

use super::write::{Current, Recheck};
use super::{ObjectList, Store};
use crate::api::status::{ApiError, ApiResult, GroupResource};
use crate::registry::admission::AdmissionOperation;
use crate::registry::metadata::{finalizers, is_being_deleted, meta_mut, meta_str};
use crate::registry::options::{DeleteOptions, ListOptions, PropagationPolicy, WriteOptions};
use crate::registry::strategy::{DeleteAction, GcPolicy, Strategy};

use super::DeleteOutcome;

/// The finalizer that makes the garbage collector orphan an object's dependents before it goes.
pub const ORPHAN_FINALIZER: &str = "orphan";
/// The finalizer that makes the garbage collector delete an object's dependents before it goes.
pub const FOREGROUND_FINALIZER: &str = "foregroundDeletion";

/// What the generic deletion does to an object.
#[derive(Debug, Clone, PartialEq)]
pub enum DeletePlan {
    /// Remove the object from storage now.
    Remove,
    /// Store this object (deletion marked, finalizers updated) and keep it.
    Keep(Value),
    /// A graceful deletion is already pending: answer the object unchanged.
    Pending,
}

/// Upstream's `shouldOrphanDependents` and `shouldDeleteDependents`: whether the `orphan` and the
/// `foregroundDeletion` finalizer belong on the object, from (highest priority first) the
/// request's options, the finalizers present, the resource's default policy.
fn wanted_gc_finalizers(
    present: &[String],
    opts: &DeleteOptions,
    policy: GcPolicy,
) -> (bool, bool) {
    if policy == GcPolicy::Unsupported {
        return (false, false);
    }
    if let Some(orphan) = opts.orphan_dependents {
        return (orphan, false);
    }
    match opts.propagation_policy {
        Some(PropagationPolicy::Orphan) => return (true, false),
        Some(PropagationPolicy::Foreground) => return (false, true),
        Some(PropagationPolicy::Background) => return (false, false),
        None => {}
    }
    for finalizer in present {
        match finalizer.as_str() {
            ORPHAN_FINALIZER => return (true, false),
            FOREGROUND_FINALIZER => return (false, true),
            _ => {}
        }
    }
    (policy == GcPolicy::OrphanDependents, false)
}

/// Upstream's `deletionFinalizersForGarbageCollection`: the new finalizer list when the
/// garbage-collection finalizers must change (others are kept in order; `orphan` then
/// `foregroundDeletion` are appended as wanted), `None` when the set stays the same.
pub fn gc_finalizers_update(
    present: &[String],
    opts: &DeleteOptions,
    policy: GcPolicy,
) -> Option<Vec<String>> {
    let (orphan, foreground) = wanted_gc_finalizers(present, opts, policy);
    let mut next: Vec<String> = present
        .iter()
        .filter(|f| *f != ORPHAN_FINALIZER && *f != FOREGROUND_FINALIZER)
        .cloned()
        .collect();
    if orphan {
        next.push(ORPHAN_FINALIZER.to_string());
    }
    if foreground {
        next.push(FOREGROUND_FINALIZER.to_string());
    }
    let same_set =
        next.iter().all(|f| present.contains(f)) && present.iter().all(|f| next.contains(f));
    (!same_set).then_some(next)
}

/// A timestamp `seconds` after (or before) `now`, written as upstream writes them.
fn timestamp_plus(now: jiff::Timestamp, seconds: i64) -> String {
    jiff::Timestamp::from_second(now.as_second().saturating_add(seconds))
        .map(|t| t.to_string())
        .unwrap_or_else(|_| now.to_string())
}

fn parse_timestamp(text: &str) -> Option<jiff::Timestamp> {
    text.parse().ok()
}

fn bump_generation(obj: &mut Value) {
    let generation = obj
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    if generation > 0 {
        meta_mut(obj).insert("generation".into(), json!(generation + 1));
    }
}

/// Upstream's `markAsDeleting`: the generation is bumped on the first mark, `deletionTimestamp`
/// becomes `now` unless it is already earlier, `deletionGracePeriodSeconds` 0.
fn mark_as_deleting(obj: &mut Value, now: jiff::Timestamp) {
    let existing = meta_str(obj, "deletionTimestamp").to_string();
    if existing.is_empty() {
        bump_generation(obj);
    }
    let later = parse_timestamp(&existing).is_none_or(|ts| ts > now);
    let meta = meta_mut(obj);
    if later {
        meta.insert(
            "deletionTimestamp".into(),
            Value::String(timestamp_plus(now, 0)),
        );
    }
    meta.insert("deletionGracePeriodSeconds".into(), json!(0));
}

/// The generic deletion of `obj` (the stored object) for a delete with `opts`, as upstream's
/// `rest.BeforeDelete` followed by the generic store's `Delete`. `policy` is the resource's
/// default garbage-collection policy; `now` the time of the request. Preconditions are not
/// checked here (see [`check_preconditions`]).
pub fn plan_generic_delete(
    strategy: &dyn Strategy,
    obj: &Value,
    opts: &DeleteOptions,
    policy: GcPolicy,
    now: jiff::Timestamp,
) -> DeletePlan {
    // Negative grace periods count as 1 second on the delete path.
    let requested = opts.grace_period_seconds.map(|g| if g < 0 { 1 } else { g });
    let present = finalizers(obj);
    let update = gc_finalizers_update(&present, opts, policy);
    if present.is_empty() && update.is_none() && !is_being_deleted(obj) {
        // The common case, decided without copying the object: nothing holds it and no grace
        // period applies.
        match strategy.graceful_delete_period(obj, requested) {
            None | Some(0) => return DeletePlan::Remove,
            Some(_) => {}
        }
    }
    let mut next = obj.clone();
    if next
        .pointer("/metadata/deletionGracePeriodSeconds")
        .and_then(Value::as_i64)
        .is_some_and(|g| g < 0)
    {
        meta_mut(&mut next).insert("deletionGracePeriodSeconds".into(), json!(1));
    }
    let mut graceful = false;
    let mut last_grace = 0;
    if let Some(period) = strategy.graceful_delete_period(obj, requested) {
        if is_being_deleted(obj) {
            let existing = next
                .pointer("/metadata/deletionGracePeriodSeconds")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            if existing != 0 {
                // Only a shorter grace period may be asked for.
                let Some(shorter) = requested.filter(|r| *r < existing) else {
                    return DeletePlan::Pending;
                };
                let Some(ts) = parse_timestamp(meta_str(obj, "deletionTimestamp")) else {
                    return DeletePlan::Pending;
                };
                let meta = meta_mut(&mut next);
                meta.insert(
                    "deletionTimestamp".into(),
                    Value::String(timestamp_plus(ts, shorter - existing)),
                );
                meta.insert("deletionGracePeriodSeconds".into(), json!(shorter));
                graceful = true;
                last_grace = shorter;
            }
        } else {
            let meta = meta_mut(&mut next);
            meta.insert(
                "deletionTimestamp".into(),
                Value::String(timestamp_plus(now, period)),
            );
            meta.insert("deletionGracePeriodSeconds".into(), json!(period));
            bump_generation(&mut next);
            graceful = true;
            last_grace = period;
        }
    }
    if !graceful && present.is_empty() && update.is_none() {
        return DeletePlan::Remove;
    }
    let pending_finalizers = match update {
        Some(list) => {
            let pending = !list.is_empty();
            if pending {
                meta_mut(&mut next).insert("finalizers".into(), json!(list));
            } else {
                meta_mut(&mut next).remove("finalizers");
            }
            pending
        }
        None => !present.is_empty(),
    };
    if !graceful {
        if !pending_finalizers {
            return DeletePlan::Remove;
        }
        mark_as_deleting(&mut next, now);
        return DeletePlan::Keep(next);
    }
    if pending_finalizers || last_grace > 0 {
        DeletePlan::Keep(next)
    } else {
        DeletePlan::Remove
    }
}

/// `BeforeDelete`'s precondition check: 409 Conflict, on the object's kind, when the `uid` or
/// `resourceVersion` of the request's preconditions differ from the stored object's.
pub fn check_preconditions(
    group: &str,
    kind: &str,
    obj: &Value,
    opts: &DeleteOptions,
) -> ApiResult<()> {
    let Some(pre) = &opts.preconditions else {
        return Ok(());
    };
    let name = meta_str(obj, "name");
    let on = GroupResource::new(group, kind);
    if let Some(uid) = pre.uid.as_deref() {
        let actual = meta_str(obj, "uid");
        if uid != actual {
            return Err(ApiError::conflict(
                &on,
                name,
                &format!(
                    "the UID in the precondition ({uid}) does not match the UID in record ({actual}). The object might have been deleted and then recreated"
                ),
            ));
        }
    }
    if let Some(rv) = pre.resource_version.as_deref() {
        let actual = meta_str(obj, "resourceVersion");
        if rv != actual {
            return Err(ApiError::conflict(
                &on,
                name,
                &format!(
                    "the ResourceVersion in the precondition ({rv}) does not match the ResourceVersion in record ({actual}). The object might have been modified"
                ),
            ));
        }
    }
    Ok(())
}

/// The plan of a delete of `obj` in `store`: the strategy's own decision, or the generic one.
fn plan(store: &Store, obj: &Value, opts: &DeleteOptions) -> DeletePlan {
    match store.strategy.begin_delete(obj) {
        DeleteAction::Generic => plan_generic_delete(
            store.strategy.as_ref(),
            obj,
            opts,
            store.strategy.gc_policy(),
            jiff::Timestamp::now(),
        ),
        DeleteAction::Remove => DeletePlan::Remove,
        DeleteAction::Unchanged => DeletePlan::Pending,
        DeleteAction::Mark(marked) if store.strategy.ready_to_remove(&marked) => DeletePlan::Remove,
        DeleteAction::Mark(marked) => DeletePlan::Keep(marked),
    }
}

fn with_resource_version(mut object: Value, revision: i64) -> Value {
    meta_mut(&mut object).insert(
        "resourceVersion".into(),
        Value::String(revision.to_string()),
    );
    object
}

pub(super) async fn delete(
    store: &Store,
    namespace: Option<&str>,
    name: &str,
    opts: &DeleteOptions,
    write: &WriteOptions,
) -> ApiResult<DeleteOutcome> {
    opts.effective_propagation()?;
    let dry_run = write.dry_run || opts.dry_run.iter().any(|d| d == "All");
    let key = store.layout.object_key(namespace, name);
    // A state already read from storage to start the next attempt from.
    let mut next: Option<Option<Current>> = None;
    for _ in 0..store.config.max_update_retries {
        let state = match next.take() {
            Some(state) => state,
            None => store.current(&key, name, true).await?,
        };
        let Some(cur) = state else {
            return Err(ApiError::not_found(&store.resource, name));
        };
        let attempt = async {
            check_preconditions(&store.info.group, &store.info.kind, &cur.object, opts)?;
            let planned = plan(store, &cur.object, opts);
            if !matches!(planned, DeletePlan::Pending) {
                admit_delete(write, &cur.object).await?;
            }
            Ok::<DeletePlan, ApiError>(planned)
        }
        .await;
        // An error or an answer without a storage write holds only if storage agrees with a
        // suggested object (upstream refreshes a cached object before returning either).
        let unwritten = match &attempt {
            Ok(DeletePlan::Pending) | Err(_) => true,
            Ok(DeletePlan::Keep(marked)) => dry_run || *marked == cur.object,
            Ok(DeletePlan::Remove) => dry_run,
        };
        if unwritten {
            if let Recheck::Moved(fresh) = store.recheck(&key, name, &cur).await? {
                next = Some(fresh);
                continue;
            }
        }
        let planned = attempt?;
        let (revision, confirmed, obj) = (cur.revision, cur.confirmed, cur.object);
        // A concurrent write won, or a suggested object is gone: retry from storage.
        let retry = |err: &StorageError| match err {
            StorageError::Conflict { .. } => true,
            StorageError::NotFound { .. } => !confirmed,
            _ => false,
        };
        match planned {
            DeletePlan::Pending => {
                return Ok(DeleteOutcome {
                    object: obj,
                    deleted: false,
                })
            }
            DeletePlan::Keep(marked) if marked == obj => {
                // Nothing changes (e.g. a repeated delete of an object held by finalizers).
                return Ok(DeleteOutcome {
                    object: obj,
                    deleted: false,
                });
            }
            DeletePlan::Remove => {
                if dry_run {
                    return Ok(DeleteOutcome {
                        object: obj,
                        deleted: true,
                    });
                }
                match store.storage.delete(key.as_bytes(), Some(revision)).await {
                    Ok((revision, _)) => {
                        store.after_delete_hook(&obj).await;
                        return Ok(DeleteOutcome {
                            object: with_resource_version(obj, revision),
                            deleted: true,
                        });
                    }
                    Err(err) if retry(&err) => {
                        next = Some(store.current(&key, name, false).await?);
                    }
                    Err(err) => return Err(store.storage_error(err, name)),
                }
            }
            DeletePlan::Keep(marked) => {
                if dry_run {
                    return Ok(DeleteOutcome {
                        object: marked,
                        deleted: false,
                    });
                }
                let bytes = store.encode(&marked).await?;
                match store.storage.update(key.as_bytes(), bytes, revision).await {
                    Ok(revision) => {
                        return Ok(DeleteOutcome {
                            object: with_resource_version(marked, revision),
                            deleted: false,
                        });
                    }
                    Err(err) if retry(&err) => {
                        next = Some(store.current(&key, name, false).await?);
                    }
                    Err(err) => return Err(store.storage_error(err, name)),
                }
            }
        }
    }
    Err(ApiError::stale_object(&store.resource, name))
}

/// The request's validating admission of deleting the stored `obj` (upstream's
/// `deleteValidation`, run before the object is removed or marked).
async fn admit_delete(write: &WriteOptions, obj: &Value) -> ApiResult<()> {
    match &write.admission {
        Some(admission) => {
            admission
                .validate(AdmissionOperation::Delete, None, Some(obj))
                .await
        }
        None => Ok(()),
    }
}

pub(super) async fn delete_collection(
    store: &Store,
    namespace: Option<&str>,
    list_opts: &ListOptions,
    opts: &DeleteOptions,
    write: &WriteOptions,
) -> ApiResult<ObjectList> {
    opts.effective_propagation()?;
    let mut unpaged = list_opts.clone();
    unpaged.limit = None;
    unpaged.continue_token.clear();
    let listed = store.list(namespace, &unpaged).await?;
    let mut items = Vec::with_capacity(listed.items.len());
    for item in listed.items {
        let name = meta_str(&item, "name").to_string();
        let ns = meta_str(&item, "namespace").to_string();
        let ns = (!ns.is_empty()).then_some(ns.as_str());
        match delete(store, ns, &name, opts, write).await {
            Ok(outcome) => items.push(outcome.object),
            // Deleted concurrently: nothing left to do for it.
            Err(err) if err.status.code == 404 => {}
            Err(err) => return Err(err),
        }
    }
    Ok(ObjectList {
        items,
        resource_version: listed.resource_version,
        continue_token: None,
        remaining_item_count: None,
    })
}

#[cfg(test)]
mod tests;
