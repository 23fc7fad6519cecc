//! The watch cache's reads: consistent with storage after every write (also writes it did not
//! make), resourceVersion rules, and a failing feed.

use std::sync::Arc;
use std::time::Duration;

use apiary_storage::Storage;
use bytes::Bytes;
use futures::StreamExt;
use serde_json::{json, Value};

use super::{configmap, configmaps, rv, stored_objects, wait_ready, Fixture, Steps};
use crate::registry::options::{DeleteOptions, GetOptions, ListOptions, WriteOptions};
use crate::registry::store::{decode_value, CacheConfig, Store, StoreConfig, WatchEventType};

fn names(list: &crate::registry::store::ObjectList) -> Vec<String> {
    list.items
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap().to_string())
        .collect()
}

/// The object at `key` as storage has it now, decoded as the store serves it.
async fn stored(store: &Store, storage: &Arc<dyn Storage>, key: &str) -> Option<Value> {
    let kv = storage.get(key.as_bytes()).await.unwrap().kv?;
    Some(decode_value(store.info(), &kv.value, kv.mod_revision).unwrap())
}

/// A seeded sequence of creates, updates and deletes through the store, through a second store
/// over the same storage (another replica) and straight to storage; after each, a consistent
/// get of every name and a consistent list through the cache equal storage's.
async fn consistent_with_storage(storage: Arc<dyn Storage>) {
    let fx = Fixture {
        storage: storage.clone(),
    };
    let store = fx.store(configmaps());
    let replica = fx.store(configmaps());
    let w = WriteOptions::default();
    wait_ready(&store).await;

    let objects: Vec<(&str, String)> = (0..8)
        .map(|i| (if i % 2 == 0 { "a" } else { "b" }, format!("cm{i}")))
        .collect();
    let mut steps = Steps(0x5eed_cafe_f00d_0001);
    for step in 0..240 {
        let (ns, name) = &objects[steps.below(objects.len() as u64) as usize];
        let key = store.layout().object_key(Some(*ns), name);
        let current = stored(&store, &storage, &key).await;
        let writer = steps.below(3);
        match (current, writer) {
            (None, 2) => {
                let mut obj = configmap(name, json!({"step": step.to_string()}));
                obj["metadata"]["namespace"] = json!(ns);
                obj["metadata"]["uid"] = json!(format!("raw-{step}"));
                obj["metadata"]["creationTimestamp"] = json!("2026-01-01T00:00:00Z");
                let bytes = Bytes::from(serde_json::to_vec(&obj).unwrap());
                storage.create(key.as_bytes(), bytes).await.unwrap();
            }
            (None, by) => {
                let through = if by == 0 { &store } else { &replica };
                through
                    .create(Some(*ns), configmap(name, json!({})), &w)
                    .await
                    .unwrap();
            }
            (Some(_), 2) if steps.below(3) == 0 => {
                storage.delete(key.as_bytes(), None).await.unwrap();
            }
            (Some(_), 2) => {
                let kv = storage.get(key.as_bytes()).await.unwrap().kv.unwrap();
                let mut obj: Value = serde_json::from_slice(&kv.value).unwrap();
                obj["data"] = json!({"k": format!("raw {step}")});
                let bytes = Bytes::from(serde_json::to_vec(&obj).unwrap());
                storage
                    .update(key.as_bytes(), bytes, kv.mod_revision)
                    .await
                    .unwrap();
            }
            (Some(_), by) if steps.below(3) == 0 => {
                let through = if by == 0 { &store } else { &replica };
                through
                    .delete(Some(*ns), name, &DeleteOptions::default(), &w)
                    .await
                    .unwrap();
            }
            (Some(mut obj), by) => {
                let through = if by == 0 { &store } else { &replica };
                obj["data"] = json!({"k": format!("step {step}")});
                through.update(Some(*ns), name, obj, &w).await.unwrap();
            }
        }

        for (ns, name) in &objects {
            let key = store.layout().object_key(Some(*ns), name);
            let want = stored(&store, &storage, &key).await;
            let got = match store.get(Some(*ns), name).await {
                Ok(obj) => Some(obj),
                Err(err) if err.status.code == 404 => None,
                Err(err) => panic!("get {ns}/{name} at step {step}: {err:?}"),
            };
            assert_eq!(got, want, "get {ns}/{name} after step {step}");
        }
        let before = storage.current_revision().await.unwrap();
        let list = store.list(None, &ListOptions::default()).await.unwrap();
        assert_eq!(
            list.items,
            stored_objects(&store, &storage, store.layout().resource_prefix(), 0).await,
            "list after step {step}"
        );
        let at: i64 = list.resource_version.parse().unwrap();
        assert!(at >= before, "list at {at}, storage was at {before}");
    }
    assert!(store.cache.is_ready(), "the cache served throughout");
    assert_eq!(
        store.cache.storage_fallbacks(),
        0,
        "no consistent read had to go to storage"
    );
}

#[tokio::test]
async fn consistent_reads_equal_storage_on_the_memory_store() {
    consistent_with_storage(crate::registry::test_support::memory_storage()).await;
}

#[tokio::test]
async fn consistent_reads_equal_storage_on_rocksdb() {
    let dir = tempfile::tempdir().unwrap();
    let storage: Arc<dyn Storage> =
        apiary_rocksdb::open(apiary_rocksdb::RocksDbOptions::new(dir.path().join("db")))
            .await
            .unwrap();
    consistent_with_storage(storage).await;
}

fn with_timeout(timeout: Duration) -> StoreConfig {
    StoreConfig {
        cache: CacheConfig {
            consistent_read_timeout: timeout,
            ..Default::default()
        },
        ..Default::default()
    }
}

fn at(resource_version: &str) -> GetOptions {
    GetOptions {
        resource_version: resource_version.into(),
    }
}

#[tokio::test]
async fn resource_versions_of_reads_from_a_cache_behind_storage() {
    let (fx, gate) = Fixture::gated();
    // One store that would wait a minute, one that waits 300 ms.
    let patient = fx.store_with(configmaps(), with_timeout(Duration::from_secs(60)));
    let quick = fx.store_with(configmaps(), with_timeout(Duration::from_millis(300)));
    let w = WriteOptions::default();
    let old = patient
        .create(Some("ns"), configmap("old", json!({})), &w)
        .await
        .unwrap();
    wait_ready(&patient).await;
    wait_ready(&quick).await;

    // The caches stop hearing from storage; a write lands behind them.
    gate.set_open(false);
    let new = patient
        .create(Some("ns"), configmap("new", json!({})), &w)
        .await
        .unwrap();

    // resourceVersion 0: the cache as it is, without waiting (the patient store would wait 60 s).
    let any = ListOptions {
        resource_version: "0".into(),
        ..Default::default()
    };
    let list = tokio::time::timeout(Duration::from_secs(10), patient.list(None, &any))
        .await
        .expect("RV=0 does not wait")
        .unwrap();
    assert_eq!(
        names(&list),
        ["old"],
        "served by the cache, which is behind"
    );
    let got = tokio::time::timeout(
        Duration::from_secs(10),
        patient.get_with(Some("ns"), "old", &at("0")),
    )
    .await
    .expect("RV=0 does not wait")
    .unwrap();
    assert_eq!(got, old);

    // resourceVersion N above the cache: 504 once the short wait is over.
    let newer = ListOptions {
        resource_version: rv(&new).to_string(),
        resource_version_match: "NotOlderThan".into(),
        ..Default::default()
    };
    let err = quick.list(None, &newer).await.unwrap_err();
    assert_eq!(err.status.code, 504);
    assert!(
        err.status.message.starts_with(&format!(
            "Too large resource version: {}, current: ",
            rv(&new)
        )),
        "{}",
        err.status.message
    );
    let err = quick
        .get_with(Some("ns"), "new", &at(&rv(&new).to_string()))
        .await
        .unwrap_err();
    assert_eq!(err.status.code, 504);

    // A get without a resourceVersion reads storage at once, as upstream's delegator.
    assert_eq!(quick.get(Some("ns"), "new").await.unwrap(), new);
    assert_eq!(quick.cache.storage_fallbacks(), 0);
    // A consistent list goes to storage after the wait.
    let list = quick.list(None, &ListOptions::default()).await.unwrap();
    assert_eq!(names(&list), ["new", "old"]);
    assert_eq!(quick.cache.storage_fallbacks(), 1);

    // Released, the caches catch up and answer the same reads.
    gate.set_open(true);
    let list = patient.list(None, &newer).await.unwrap();
    assert_eq!(names(&list), ["new", "old"]);
    let got = patient
        .get_with(Some("ns"), "new", &at(&rv(&new).to_string()))
        .await
        .unwrap();
    assert_eq!(got, new);
    assert_eq!(patient.cache.storage_fallbacks(), 0);
}

#[tokio::test]
async fn a_failed_feed_ends_watchers_and_reads_go_to_storage_until_it_recovers() {
    let (fx, gate) = Fixture::gated();
    let store = fx.store(configmaps());
    let w = WriteOptions::default();
    let a = store
        .create(Some("ns"), configmap("a", json!({})), &w)
        .await
        .unwrap();
    wait_ready(&store).await;
    let from_a = ListOptions {
        resource_version: rv(&a).to_string(),
        ..Default::default()
    };
    let mut watcher = store.watch(None, &from_a).await.unwrap();

    gate.set_refuse(true);
    gate.break_streams();
    let event = tokio::time::timeout(Duration::from_secs(10), watcher.next())
        .await
        .expect("an event within 10s")
        .expect("the ERROR event");
    assert_eq!(event.event_type, WatchEventType::Error);
    let end = tokio::time::timeout(Duration::from_secs(10), watcher.next())
        .await
        .expect("the stream ends");
    assert!(end.is_none(), "nothing after the ERROR event");

    // While the cache cannot start again, reads go to storage and watches fail.
    let b = store
        .create(Some("ns"), configmap("b", json!({})), &w)
        .await
        .unwrap();
    assert_eq!(store.get(Some("ns"), "b").await.unwrap(), b);
    let list = store.list(None, &ListOptions::default()).await.unwrap();
    assert_eq!(names(&list), ["a", "b"]);
    assert!(!store.cache.is_ready());
    assert!(store.watch(None, &ListOptions::default()).await.is_err());

    // Allowed again, the next read starts it; watches are served from it.
    gate.set_refuse(false);
    wait_ready(&store).await;
    let from_b = ListOptions {
        resource_version: rv(&b).to_string(),
        ..Default::default()
    };
    let mut watcher = store.watch(None, &from_b).await.unwrap();
    let c = store
        .create(Some("ns"), configmap("c", json!({})), &w)
        .await
        .unwrap();
    let event = tokio::time::timeout(Duration::from_secs(10), watcher.next())
        .await
        .expect("an event within 10s")
        .expect("the stream is open");
    assert_eq!(event.event_type, WatchEventType::Added);
    assert_eq!(event.object(), &c);
    assert_eq!(store.get(Some("ns"), "c").await.unwrap(), c);
}

/// Concurrent consistent lists share the storage's current-revision fetches, and a list that
/// starts after a write completed never takes a revision read before that write.
#[tokio::test]
async fn consistent_lists_share_revision_fetches_started_after_they_arrived() {
    let (fx, gate) = Fixture::gated();
    let store = Arc::new(fx.store_with(configmaps(), with_timeout(Duration::from_millis(500))));
    let w = WriteOptions::default();
    store
        .create(Some("ns"), configmap("old", json!({})), &w)
        .await
        .unwrap();
    wait_ready(&store).await;
    // Each fetch answers 300 ms after it read the revision.
    gate.set_revision_delay(Duration::from_millis(300));

    // 32 lists at once: the first starts a fetch, the others arrived after it started and
    // share the next one.
    let before = gate.revision_calls();
    let consistent = ListOptions::default();
    let lists = (0..32).map(|_| store.list(None, &consistent));
    for list in futures::future::join_all(lists).await {
        assert_eq!(names(&list.unwrap()), ["old"]);
    }
    let fetches = gate.revision_calls() - before;
    assert!(
        fetches <= 2,
        "{fetches} current-revision fetches for 32 concurrent lists"
    );

    // A list's fetch has read the revision; then a write completes that the cache does not
    // hear about.
    gate.set_open(false);
    let before = gate.revision_calls();
    let early = tokio::spawn({
        let store = store.clone();
        async move { store.list(None, &ListOptions::default()).await }
    });
    for _ in 0..1000 {
        if gate.revision_calls() > before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(gate.revision_calls() > before, "the early list fetched");
    let new = store
        .create(Some("ns"), configmap("new", json!({})), &w)
        .await
        .unwrap();
    // A list started now must not join the fetch in flight (its revision is older than the
    // write): it waits for a fetch of its own, which the held-back cache does not reach, so
    // storage answers.
    let fallbacks = store.cache.storage_fallbacks();
    let list = store.list(None, &ListOptions::default()).await.unwrap();
    assert_eq!(names(&list), ["new", "old"]);
    let at: i64 = list.resource_version.parse().unwrap();
    assert!(at >= rv(&new), "list at {at}, the write at {}", rv(&new));
    assert_eq!(store.cache.storage_fallbacks(), fallbacks + 1);
    // The early list arrived before the write: either answer is right for it.
    early.await.unwrap().unwrap();
    gate.set_open(true);
}
