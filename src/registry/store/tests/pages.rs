//! Continue tokens of lists whose first page came from the watch cache: the following pages come
//! from the first page's snapshot, stay one consistent list while writes go on, and equal the
//! pages storage gives for the same tokens (another replica, which holds no snapshot).

use std::sync::Arc;

use apiary_storage::Storage;
use bytes::Bytes;
use serde_json::{json, Value};

use super::{configmap, configmaps, stored_objects, wait_ready, Fixture};
use crate::registry::options::{ListOptions, WriteOptions};
use crate::registry::store::{ObjectList, Store};

fn page(token: Option<&str>, selector: &str) -> ListOptions {
    ListOptions {
        limit: Some(7),
        continue_token: token.unwrap_or_default().to_string(),
        label_selector: selector.to_string(),
        ..Default::default()
    }
}

/// Creates, updates and deletes straight in storage, so both stores see them only through
/// their storage watches.
async fn churn(store: &Store, storage: &Arc<dyn Storage>, round: usize) {
    for i in 0..5 {
        let name = format!("cm{:02}", (round * 7 + i * 11) % 60);
        let key = store.layout().object_key(Some("ns"), &name);
        match storage.get(key.as_bytes()).await.unwrap().kv {
            Some(kv) if i == 4 => {
                storage
                    .delete(key.as_bytes(), Some(kv.mod_revision))
                    .await
                    .unwrap();
            }
            Some(kv) => {
                let mut obj: Value = serde_json::from_slice(&kv.value).unwrap();
                obj["data"] = json!({"k": format!("round {round}")});
                let bytes = Bytes::from(serde_json::to_vec(&obj).unwrap());
                storage
                    .update(key.as_bytes(), bytes, kv.mod_revision)
                    .await
                    .unwrap();
            }
            None => {
                let mut obj = configmap(&name, json!({"parity": "even"}));
                obj["metadata"]["namespace"] = json!("ns");
                obj["metadata"]["uid"] = json!(format!("raw-{round}-{i}"));
                obj["metadata"]["creationTimestamp"] = json!("2026-01-01T00:00:00Z");
                let bytes = Bytes::from(serde_json::to_vec(&obj).unwrap());
                storage.create(key.as_bytes(), bytes).await.unwrap();
            }
        }
    }
}

/// Pages a list from the cache with writes between the pages; returns the pages.
async fn pages(
    store: &Store,
    storage: &Arc<dyn Storage>,
    selector: &str,
    round: &mut usize,
) -> Vec<ObjectList> {
    let mut out: Vec<ObjectList> = Vec::new();
    loop {
        let token = out.last().and_then(|p| p.continue_token.as_deref());
        if !out.is_empty() && token.is_none() {
            return out;
        }
        let list = store.list(None, &page(token, selector)).await.unwrap();
        out.push(list);
        churn(store, storage, *round).await;
        *round += 1;
    }
}

#[tokio::test]
async fn snapshot_pages_are_stable_under_writes_and_equal_storage_pages() {
    let fx = Fixture::new().await;
    let store = fx.store(configmaps());
    let w = WriteOptions::default();
    for i in 0..50 {
        let parity = if i % 2 == 0 { "even" } else { "odd" };
        store
            .create(
                Some("ns"),
                configmap(&format!("cm{i:02}"), json!({ "parity": parity })),
                &w,
            )
            .await
            .unwrap();
    }
    wait_ready(&store).await;
    let mut round = 0;

    for selector in ["", "parity=even"] {
        let served_before = store.cache.snapshot_pages();
        let listed = pages(&store, &fx.storage, selector, &mut round).await;
        assert!(listed.len() > 3, "{selector:?}: several pages");
        assert!(store.cache.snapshots_held() >= 1);
        assert_eq!(
            store.cache.snapshot_pages() - served_before,
            listed.len() as u64 - 1,
            "{selector:?}: every following page came from the snapshot"
        );
        // One list at the first page's revision, whatever was written meanwhile.
        let revision: i64 = listed[0].resource_version.parse().unwrap();
        for list in &listed {
            assert_eq!(list.resource_version, listed[0].resource_version);
        }
        let items: Vec<Value> = listed.iter().flat_map(|l| l.items.clone()).collect();
        let prefix = store.layout().resource_prefix();
        let want: Vec<Value> = stored_objects(&store, &fx.storage, prefix, revision)
            .await
            .into_iter()
            .filter(|obj| selector.is_empty() || obj["metadata"]["labels"]["parity"] == "even")
            .collect();
        assert_eq!(items, want, "{selector:?}: the list at {revision}");

        // Another replica has no snapshot: storage gives it the same pages for the same tokens.
        let replica = fx.store(configmaps());
        for (i, list) in listed.iter().enumerate().skip(1) {
            let token = listed[i - 1].continue_token.as_deref();
            let theirs = replica.list(None, &page(token, selector)).await.unwrap();
            assert_eq!(theirs.items, list.items, "{selector:?}: page {i}");
            assert_eq!(theirs.continue_token, list.continue_token, "page {i}");
            assert_eq!(
                theirs.remaining_item_count, list.remaining_item_count,
                "page {i}"
            );
            assert_eq!(theirs.resource_version, list.resource_version, "page {i}");
        }
        assert_eq!(replica.cache.snapshot_pages(), 0);
    }

    // Once storage compacted the revision, the token expires as it would without the cache.
    let first = store.list(None, &page(None, "")).await.unwrap();
    let token = first.continue_token.clone().expect("a second page");
    churn(&store, &fx.storage, round).await;
    let current = fx.storage.current_revision().await.unwrap();
    fx.storage.compact(current).await.unwrap();
    let err = store
        .list(None, &page(Some(&token), ""))
        .await
        .expect_err("a compacted continue token");
    assert_eq!(err.status.code, 410);
}
