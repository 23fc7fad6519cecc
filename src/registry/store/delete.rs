//! Delete and delete-collection, as the generic store's `Delete`/`DeleteCollection`.
//!
//! Preconditions (`uid`, `resourceVersion`) are checked against the stored object with upstream's
//! messages. The strategy decides between removal and marking (finalizers); an object already marked
//! is answered unchanged. Propagation policies are accepted and validated; the orphan and
//! foreground finalizers are not added, because no garbage collector runs yet that would remove them.

use apiary_storage::Error as StorageError;
use serde_json::Value;

use super::{ObjectList, Store};
use crate::api::status::{ApiError, ApiResult};
use crate::registry::metadata::{meta_mut, meta_str};
use crate::registry::options::{DeleteOptions, ListOptions, WriteOptions};
use crate::registry::strategy::DeleteAction;

use super::DeleteOutcome;

fn check_preconditions(
    store: &Store,
    obj: &Value,
    name: &str,
    opts: &DeleteOptions,
) -> ApiResult<()> {
    let Some(pre) = &opts.preconditions else {
        return Ok(());
    };
    if let Some(uid) = pre.uid.as_deref() {
        let actual = meta_str(obj, "uid");
        if uid != actual {
            return Err(ApiError::conflict(
                &store.resource,
                name,
                &format!(
                    "Precondition failed: UID in precondition: {uid}, UID in object meta: {actual}"
                ),
            ));
        }
    }
    if let Some(rv) = pre.resource_version.as_deref() {
        let actual = meta_str(obj, "resourceVersion");
        if rv != actual {
            return Err(ApiError::conflict(
                &store.resource,
                name,
                &format!(
                    "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {actual}"
                ),
            ));
        }
    }
    Ok(())
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
    for _ in 0..store.config.max_update_retries {
        let current = store
            .storage
            .get(key.as_bytes())
            .await
            .map_err(|e| store.storage_error(e, name))?;
        let Some(kv) = current.kv else {
            return Err(ApiError::not_found(&store.resource, name));
        };
        let obj = store.decode(&kv).await?;
        check_preconditions(store, &obj, name, opts)?;
        let mut action = store.strategy.begin_delete(&obj);
        if let DeleteAction::Mark(marked) = &action {
            if store.strategy.ready_to_remove(marked) {
                action = DeleteAction::Remove;
            }
        }
        match action {
            DeleteAction::Unchanged => {
                return Ok(DeleteOutcome {
                    object: obj,
                    deleted: false,
                })
            }
            DeleteAction::Remove => {
                if dry_run {
                    return Ok(DeleteOutcome {
                        object: obj,
                        deleted: true,
                    });
                }
                match store
                    .storage
                    .delete(key.as_bytes(), Some(kv.mod_revision))
                    .await
                {
                    Ok((revision, _)) => {
                        store.after_delete_hook(&obj).await;
                        let mut object = obj;
                        meta_mut(&mut object).insert(
                            "resourceVersion".into(),
                            Value::String(revision.to_string()),
                        );
                        return Ok(DeleteOutcome {
                            object,
                            deleted: true,
                        });
                    }
                    Err(StorageError::Conflict { .. }) => continue,
                    Err(err) => return Err(store.storage_error(err, name)),
                }
            }
            DeleteAction::Mark(marked) => {
                if dry_run {
                    return Ok(DeleteOutcome {
                        object: marked,
                        deleted: false,
                    });
                }
                let bytes = store.encode(&marked).await?;
                match store
                    .storage
                    .update(key.as_bytes(), bytes, kv.mod_revision)
                    .await
                {
                    Ok(revision) => {
                        let mut object = marked;
                        meta_mut(&mut object).insert(
                            "resourceVersion".into(),
                            Value::String(revision.to_string()),
                        );
                        return Ok(DeleteOutcome {
                            object,
                            deleted: false,
                        });
                    }
                    Err(StorageError::Conflict { .. }) => continue,
                    Err(err) => return Err(store.storage_error(err, name)),
                }
            }
        }
    }
    Err(ApiError::stale_object(&store.resource, name))
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
