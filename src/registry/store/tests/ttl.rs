//! A store with a TTL (Events' `server.event_ttl_seconds`) writes every create and update with it:
//! the object disappears after the TTL (watchers see DELETED, gets answer 404), an update starts
//! the TTL again, and a store without one keeps its objects.

use std::time::{Duration, Instant};

use serde_json::json;

use super::{configmap, configmaps, leases, next, rv, Fixture};
use crate::registry::options::{ListOptions, WriteOptions};
use crate::registry::store::{StoreConfig, WatchEventType};

const TTL: Duration = Duration::from_secs(1);

#[tokio::test]
async fn objects_of_a_store_with_a_ttl_expire_and_updates_renew_it() {
    let fx = Fixture::new().await;
    let store = fx.store_with(
        configmaps(),
        StoreConfig {
            ttl: Some(TTL),
            ..StoreConfig::default()
        },
    );
    let plain = fx.store(leases());
    let w = WriteOptions::default();
    let lease = json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "stays"}, "spec": {}});
    plain.create(Some("ns"), lease, &w).await.unwrap();

    let start = Instant::now();
    let a = store
        .create(Some("ns"), configmap("a", json!({})), &w)
        .await
        .unwrap();
    let b = store
        .create(Some("ns"), configmap("b", json!({})), &w)
        .await
        .unwrap();
    let from = ListOptions {
        resource_version: rv(&a).to_string(),
        ..Default::default()
    };
    let mut events = store.watch(Some("ns"), &from).await.unwrap();
    let (kind, name, _) = next(&mut events).await;
    assert_eq!((kind, name.as_str()), (WatchEventType::Added, "b"));

    // An update of b before its deadline starts its TTL again.
    tokio::time::sleep_until((start + TTL * 8 / 10).into()).await;
    let mut renewed = b.clone();
    renewed["data"] = json!({"k": "renewed"});
    store.update(Some("ns"), "b", renewed, &w).await.unwrap();
    let (kind, name, _) = next(&mut events).await;
    assert_eq!((kind, name.as_str()), (WatchEventType::Modified, "b"));

    let (kind, name, _) = next(&mut events).await;
    assert_eq!(
        (kind, name.as_str()),
        (WatchEventType::Deleted, "a"),
        "a expires first"
    );
    assert!(start.elapsed() >= TTL);
    let err = store.get(Some("ns"), "a").await.unwrap_err();
    assert_eq!(err.status.code, 404);

    // a's deadline has passed; b's, renewed at 0.8 s, has not.
    tokio::time::sleep_until((start + TTL * 14 / 10).into()).await;
    assert!(
        fx.storage
            .get(b"/registry/configmaps/ns/b")
            .await
            .unwrap()
            .kv
            .is_some(),
        "the update renewed b's TTL"
    );
    let (kind, name, _) = next(&mut events).await;
    assert_eq!((kind, name.as_str()), (WatchEventType::Deleted, "b"));
    assert!(start.elapsed() >= TTL * 18 / 10);
    assert_eq!(
        store.get(Some("ns"), "b").await.unwrap_err().status.code,
        404
    );
    plain
        .get(Some("ns"), "stays")
        .await
        .expect("no TTL, no expiry");
}
