//! Writes that start from the watch cache's object (a suggestion) while the cache is behind
//! storage, and namespace lookups that miss in the cache: the answers are storage's.

use std::sync::Arc;

use apiary_storage::Storage;
use bytes::Bytes;
use serde_json::{json, Value};

use super::wait_ready;
use super::{configmap, configmaps, namespaces_with_lookup, rv, Fixture};
use crate::registry::options::{DeleteOptions, GetOptions, Preconditions, WriteOptions};
use crate::registry::store::{Store, StoreConfig};

/// Replaces the data of the stored ConfigMap at `key` straight in storage (behind every
/// cache's back); answers the new revision.
async fn write_behind(storage: &Arc<dyn Storage>, key: &str, data: Value) -> i64 {
    let kv = storage
        .get(key.as_bytes())
        .await
        .unwrap()
        .kv
        .expect("stored");
    let mut stored: Value = serde_json::from_slice(&kv.value).unwrap();
    stored["data"] = data;
    let bytes = Bytes::from(serde_json::to_vec(&stored).unwrap());
    storage
        .update(key.as_bytes(), bytes, kv.mod_revision)
        .await
        .unwrap()
}

/// The revision of the object the cache holds at `key` (the suggestion a write would take).
fn cached_rv(store: &Store, key: &str) -> Option<i64> {
    store.cache.peek(key.as_bytes()).map(|obj| rv(obj.value()))
}

fn stale_message(name: &str) -> String {
    format!("Operation cannot be fulfilled on configmaps \"{name}\": the object has been modified; please apply your changes to the latest version and try again")
}

#[tokio::test]
async fn a_stale_suggestion_gives_storage_answers() {
    let (fx, gate) = Fixture::gated();
    let storage = fx.storage.clone();
    let store = fx.store(configmaps());
    let w = WriteOptions::default();
    let created = store
        .create(Some("ns"), configmap("a", json!({})), &w)
        .await
        .unwrap();
    let rv1 = rv(&created);
    wait_ready(&store).await;
    let key = store.layout().object_key(Some("ns"), "a");
    assert_eq!(cached_rv(&store, &key), Some(rv1));

    // The cache stops hearing from storage; a write lands behind its back.
    gate.set_open(false);
    let rv2 = write_behind(&storage, &key, json!({"k": "behind"})).await;
    assert_eq!(cached_rv(&store, &key), Some(rv1), "the cache is behind");

    // The old resourceVersion: a 409, as storage has moved on.
    let mut body = created.clone();
    body["data"] = json!({"k": "old"});
    let err = store.update(Some("ns"), "a", body, &w).await.unwrap_err();
    assert_eq!(err.status.code, 409);
    assert_eq!(err.status.message, stale_message("a"));

    // An unconditional update equal to the cached object is not a no-op: storage differs.
    let mut body = created.clone();
    body["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("resourceVersion");
    let (written, was_created) = store.update(Some("ns"), "a", body, &w).await.unwrap();
    assert!(!was_created);
    let rv3 = rv(&written);
    assert!(rv3 > rv2, "{rv3} > {rv2}");
    assert_eq!(written["data"], json!({"k": "v"}));
    let kv = storage.get(key.as_bytes()).await.unwrap().kv.unwrap();
    assert_eq!(kv.mod_revision, rv3);

    // The current resourceVersion, which the cache has not seen: the update succeeds.
    let mut body = written.clone();
    body["data"] = json!({"k": "new"});
    let (updated, _) = store.update(Some("ns"), "a", body, &w).await.unwrap();
    let rv4 = rv(&updated);
    assert!(rv4 > rv3);
    assert_eq!(updated["data"], json!({"k": "new"}));

    // A read-modify-write retries from storage's object after the stale one conflicts.
    let rv5 = write_behind(&storage, &key, json!({"k": "behind again"})).await;
    let patched = store
        .guaranteed_update(Some("ns"), "a", &w, |current| {
            let mut next = current.clone();
            next["data"]["extra"] = json!("x");
            Ok(next)
        })
        .await
        .unwrap();
    assert!(rv(&patched) > rv5);
    assert_eq!(patched["data"], json!({"k": "behind again", "extra": "x"}));
    let rv6 = rv(&patched);
    assert_eq!(cached_rv(&store, &key), Some(rv1), "still behind");

    // Delete preconditions are checked against storage's object.
    let precondition = |rv: i64| DeleteOptions {
        preconditions: Some(Preconditions {
            uid: None,
            resource_version: Some(rv.to_string()),
        }),
        ..Default::default()
    };
    let err = store
        .delete(Some("ns"), "a", &precondition(rv1), &w)
        .await
        .unwrap_err();
    assert_eq!(err.status.code, 409);
    assert_eq!(
        err.status.message,
        format!("Operation cannot be fulfilled on ConfigMap \"a\": the ResourceVersion in the precondition ({rv1}) does not match the ResourceVersion in record ({rv6}). The object might have been modified")
    );
    let out = store
        .delete(Some("ns"), "a", &precondition(rv6), &w)
        .await
        .unwrap();
    assert!(out.deleted);
    assert!(storage.get(key.as_bytes()).await.unwrap().kv.is_none());
    gate.set_open(true);
}

/// A stored Namespace as the namespaces store would write it.
fn namespace_bytes(name: &str, phase: &str) -> Bytes {
    Bytes::from(
        serde_json::to_vec(&json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": name, "uid": format!("uid-{name}"), "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": phase},
        }))
        .unwrap(),
    )
}

#[tokio::test]
async fn namespace_lookups_miss_in_the_cache_then_ask_storage() {
    let (fx, gate) = Fixture::gated();
    let storage = fx.storage.clone();
    let (namespaces, lookup) = namespaces_with_lookup(&fx);
    let configmaps = fx.store_with(
        configmaps(),
        StoreConfig {
            namespaces: Some(lookup),
            ..StoreConfig::default()
        },
    );
    let w = WriteOptions::default();
    namespaces
        .create(None, json!({"metadata": {"name": "team"}}), &w)
        .await
        .unwrap();
    wait_ready(&namespaces).await;
    gate.set_open(false);

    // A namespace created straight in storage, which the cache has not seen.
    let key = namespaces.layout().object_key(None, "fresh");
    storage
        .create(key.as_bytes(), namespace_bytes("fresh", "Active"))
        .await
        .unwrap();
    assert!(namespaces.cache.peek(key.as_bytes()).is_none());
    configmaps
        .create(Some("fresh"), configmap("a", json!({})), &w)
        .await
        .expect("the live lookup finds the namespace");
    let err = configmaps
        .create(Some("nope"), configmap("a", json!({})), &w)
        .await
        .unwrap_err();
    assert_eq!(
        (err.status.code, err.status.message.as_str()),
        (404, "namespaces \"nope\" not found")
    );

    // A namespace this server was asked to delete is looked up live while the cache still
    // shows it active.
    let out = namespaces
        .delete(None, "team", &DeleteOptions::default(), &w)
        .await
        .unwrap();
    assert_eq!(out.object["status"]["phase"], "Terminating");
    let team = namespaces.layout().object_key(None, "team");
    let cached = namespaces.cache.peek(team.as_bytes()).expect("cached");
    assert_eq!(cached.value()["status"]["phase"], "Active");
    let err = configmaps
        .create(Some("team"), configmap("b", json!({})), &w)
        .await
        .unwrap_err();
    assert_eq!(err.status.code, 403);
    assert_eq!(
        err.status.message,
        "configmaps \"b\" is forbidden: unable to create new content in namespace team because it is being terminated"
    );
    gate.set_open(true);
}

/// A ConfigMap `ns/a` created through a store over gated memory storage, whose cache holds it.
async fn configmap_a_cached() -> (Fixture, Arc<super::gate::Gate>, Store) {
    let (fx, gate) = Fixture::gated();
    let store = fx.store(configmaps());
    store
        .create(
            Some("ns"),
            configmap("a", json!({})),
            &WriteOptions::default(),
        )
        .await
        .unwrap();
    wait_ready(&store).await;
    (fx, gate, store)
}

#[tokio::test]
async fn listed_reads_take_the_cache_and_ask_storage_only_on_a_miss() {
    let (fx, gate, store) = configmap_a_cached().await;
    let storage = fx.storage.clone();
    gate.set_open(false);

    // A write behind the cache: a lister still sees the cached state, a plain get storage's.
    let key = store.layout().object_key(Some("ns"), "a");
    write_behind(&storage, &key, json!({"k": "behind"})).await;
    let listed = store.get_listed(Some("ns"), "a").await.unwrap();
    assert_eq!(listed["data"], json!({"k": "v"}), "{listed}");
    let live = store.get(Some("ns"), "a").await.unwrap();
    assert_eq!(live["data"]["k"], "behind");
    let items = store.list_listed(Some("ns")).await.unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["data"], json!({"k": "v"}));

    // Objects the cache has not seen: a lister misses, so storage answers.
    let unseen = Bytes::from(
        serde_json::to_vec(&json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "b", "namespace": "other"}}))
        .unwrap(),
    );
    let key_b = store.layout().object_key(Some("other"), "b");
    storage.create(key_b.as_bytes(), unseen).await.unwrap();
    assert!(store.cache.peek(key_b.as_bytes()).is_none());
    let found = store.get_listed(Some("other"), "b").await.unwrap();
    assert_eq!(found["metadata"]["name"], "b");
    let names: Vec<_> = store
        .list_listed(Some("other"))
        .await
        .unwrap()
        .iter()
        .map(|o| o["metadata"]["name"].clone())
        .collect();
    assert_eq!(names, [json!("b")]);
    let missing = store.get_listed(Some("other"), "nope").await.unwrap_err();
    assert_eq!(missing.status.code, 404);
}

#[tokio::test]
async fn a_get_from_storage_answers_the_cached_object_of_the_same_revision() {
    let (fx, gate, store) = configmap_a_cached().await;
    let storage = fx.storage.clone();
    let key = store.layout().object_key(Some("ns"), "a");
    let latest = GetOptions::default();
    let got = store.get_object(Some("ns"), "a", &latest).await.unwrap();
    let cached = store.cache.peek(key.as_bytes()).expect("cached");
    assert!(
        Arc::ptr_eq(&got, &cached),
        "the same revision shares the cached object"
    );

    // Storage moved on behind the cache: the get answers storage's object.
    gate.set_open(false);
    let rv2 = write_behind(&storage, &key, json!({"k": "behind"})).await;
    let got = store.get_object(Some("ns"), "a", &latest).await.unwrap();
    assert_eq!(got.value()["data"]["k"], "behind");
    assert_eq!(rv(got.value()), rv2);
    assert!(!Arc::ptr_eq(
        &got,
        &store.cache.peek(key.as_bytes()).unwrap()
    ));
}
