//! Watches from the watch cache's window of recent events, and upstream's 410 below it.

use std::time::Duration;

use futures::StreamExt;
use serde_json::json;

use super::wait_ready;
use super::{configmap, configmaps, rv, Fixture};
use crate::registry::options::{DeleteOptions, ListOptions, WriteOptions};
use crate::registry::store::{StoreConfig, WatchEventType, WatchEvents};

type Seen = (WatchEventType, String, i64);

async fn next(events: &mut WatchEvents) -> Seen {
    let event = tokio::time::timeout(Duration::from_secs(10), events.next())
        .await
        .expect("an event within 10s")
        .expect("the stream is open");
    let object = event.object();
    let name = object["metadata"]["name"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let revision = object["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (event.event_type, name, revision)
}

fn from(rv: i64) -> ListOptions {
    ListOptions {
        resource_version: rv.to_string(),
        ..Default::default()
    }
}

#[tokio::test]
async fn watches_resume_from_every_revision_in_the_window_and_expire_below_it() {
    let fx = Fixture::new().await;
    let config = StoreConfig {
        watch_history: 5,
        ..Default::default()
    };
    let store = fx.store_with(configmaps(), config);
    let w = WriteOptions::default();
    wait_ready(&store).await;

    // Twelve writes, each its own event: creates, updates, deletes.
    let mut writes: Vec<Seen> = Vec::new();
    for i in 0..4 {
        let name = format!("w{i}");
        let made = store
            .create(Some("ns"), configmap(&name, json!({})), &w)
            .await
            .unwrap();
        writes.push((WatchEventType::Added, name, rv(&made)));
    }
    for i in 0..4 {
        let name = format!("w{i}");
        let mut obj = store.get(Some("ns"), &name).await.unwrap();
        obj["data"] = json!({"k": "changed"});
        let (updated, _) = store.update(Some("ns"), &name, obj, &w).await.unwrap();
        writes.push((WatchEventType::Modified, name, rv(&updated)));
    }
    for i in 0..4 {
        let name = format!("w{i}");
        let out = store
            .delete(Some("ns"), &name, &DeleteOptions::default(), &w)
            .await
            .unwrap();
        writes.push((WatchEventType::Deleted, name, rv(&out.object)));
    }
    // A consistent read: the cache has every write now.
    assert_eq!(
        store.get(Some("ns"), "w0").await.unwrap_err().status.code,
        404
    );

    // The ring keeps the last five events; the oldest revision to resume from is one below them.
    let floor = writes[writes.len() - 5].2 - 1;
    let last = writes[writes.len() - 1].2;
    for start in floor..=last {
        let mut events = store.watch(None, &from(start)).await.unwrap();
        let expected: Vec<Seen> = writes
            .iter()
            .filter(|(_, _, revision)| *revision > start)
            .cloned()
            .collect();
        let mut got = Vec::new();
        for _ in 0..expected.len() {
            got.push(next(&mut events).await);
        }
        assert_eq!(got, expected, "the events after {start}");
        let extra = tokio::time::timeout(Duration::from_millis(100), events.next()).await;
        assert!(extra.is_err(), "nothing else after {start}: {extra:?}");
    }

    // Below it, upstream's watch cache answers a watch whose only event is 410 Expired.
    let below = floor - 1;
    let mut events = store.watch(None, &from(below)).await.unwrap();
    let event = tokio::time::timeout(Duration::from_secs(10), events.next())
        .await
        .expect("an event within 10s")
        .expect("the ERROR event");
    assert_eq!(event.event_type, WatchEventType::Error);
    let status = event.object();
    assert_eq!(status["code"], 410);
    assert_eq!(status["reason"], "Expired");
    assert_eq!(
        status["message"],
        format!("too old resource version: {below} ({floor})")
    );
    let end = tokio::time::timeout(Duration::from_secs(10), events.next())
        .await
        .expect("the stream ends");
    assert!(end.is_none());
}

#[tokio::test]
async fn initial_events_come_from_the_cache_and_bookmarks_follow_storage_progress() {
    let fx = Fixture::new().await;
    let config = StoreConfig {
        bookmark_interval: Duration::from_millis(100),
        ..Default::default()
    };
    let store = fx.store_with(configmaps(), config);
    let leases = fx.store(super::leases());
    let w = WriteOptions::default();
    store
        .create(Some("ns"), configmap("a", json!({"app": "web"})), &w)
        .await
        .unwrap();
    store
        .create(Some("ns"), configmap("b", json!({"app": "db"})), &w)
        .await
        .unwrap();
    let opts = ListOptions {
        label_selector: "app=web".into(),
        allow_watch_bookmarks: Some(true),
        ..Default::default()
    };
    let mut events = store.watch(None, &opts).await.unwrap();
    let (kind, name, _) = next(&mut events).await;
    assert_eq!((kind, name.as_str()), (WatchEventType::Added, "a"));

    // A write to another resource only: the bookmarks ask storage for progress, so they move on.
    let lease =
        json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "l"}});
    let other = leases.create(Some("ns"), lease, &w).await.unwrap();
    let mut bookmark = 0;
    for _ in 0..50 {
        let (kind, _, revision) = next(&mut events).await;
        assert_eq!(kind, WatchEventType::Bookmark, "no other event");
        bookmark = revision;
        if bookmark >= rv(&other) {
            break;
        }
    }
    assert_eq!(bookmark, rv(&other));
}

#[tokio::test]
async fn a_watch_from_before_a_lazily_started_cache_reads_storage() {
    let fx = Fixture::new().await;
    let store = fx.store(configmaps());
    let leases = fx.store(super::leases());
    let w = WriteOptions::default();
    let first = store
        .create(Some("ns"), configmap("c0", json!({})), &w)
        .await
        .unwrap();
    // Another resource moves the revision on before this cache starts.
    let lease =
        json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "l"}});
    leases.create(Some("ns"), lease, &w).await.unwrap();
    wait_ready(&store).await;
    let made = store
        .create(Some("ns"), configmap("c1", json!({})), &w)
        .await
        .unwrap();

    // Older than the cache's initial list, nothing evicted: not too old, so storage serves it.
    let mut events = store.watch(None, &from(rv(&first))).await.unwrap();
    let (kind, name, revision) = next(&mut events).await;
    assert_eq!(
        (kind, name.as_str(), revision),
        (WatchEventType::Added, "c1", rv(&made))
    );
}
