//! Watches through the shared hub: fan-out, transitions, initial events, bookmarks, 410s.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use serde_json::json;

use super::{configmap, configmaps, next, rv, Fixture};
use crate::registry::options::{DeleteOptions, ListOptions, WriteOptions};
use crate::registry::store::{
    BeyondWindow, CacheConfig, StoreConfig, WatchEventType, WatchInitSignal,
};

fn from(rv: i64) -> ListOptions {
    ListOptions {
        resource_version: rv.to_string(),
        ..Default::default()
    }
}

#[tokio::test]
async fn two_watchers_share_one_decoded_event() {
    let fx = Fixture::new().await;
    let store = fx.store(configmaps());
    let w = WriteOptions::default();
    let start = store
        .create(Some("ns"), configmap("seed", json!({})), &w)
        .await
        .unwrap();
    let mut a = store.watch(None, &from(rv(&start))).await.unwrap();
    let mut b = store.watch(Some("ns"), &from(rv(&start))).await.unwrap();
    let created = store
        .create(Some("ns"), configmap("x", json!({})), &w)
        .await
        .unwrap();

    let ea = tokio::time::timeout(Duration::from_secs(10), a.next())
        .await
        .unwrap()
        .unwrap();
    let eb = tokio::time::timeout(Duration::from_secs(10), b.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ea.event_type, WatchEventType::Added);
    assert!(
        Arc::ptr_eq(&ea.object, &eb.object),
        "one decoded object shared by both watchers"
    );
    assert_eq!(ea.object(), &created);
    let line: serde_json::Value = serde_json::from_slice(&ea.to_json()).unwrap();
    assert_eq!(line["type"], "ADDED");
    assert_eq!(line["object"], created);

    let out = store
        .delete(Some("ns"), "x", &DeleteOptions::default(), &w)
        .await
        .unwrap();
    let (kind, name, obj) = next(&mut a).await;
    assert_eq!((kind, name.as_str()), (WatchEventType::Deleted, "x"));
    assert_eq!(
        rv(&obj),
        rv(&out.object),
        "DELETED carries the delete's revision"
    );
}

#[tokio::test]
async fn selector_transitions_and_namespace_scope() {
    let fx = Fixture::new().await;
    let store = fx.store(configmaps());
    let w = WriteOptions::default();
    let start = store
        .create(Some("ns"), configmap("c", json!({"app": "db"})), &w)
        .await
        .unwrap();
    let opts = ListOptions {
        label_selector: "app=web".into(),
        ..from(rv(&start))
    };
    let mut events = store.watch(Some("ns"), &opts).await.unwrap();

    store
        .create(
            Some("other"),
            configmap("elsewhere", json!({"app": "web"})),
            &w,
        )
        .await
        .unwrap();
    let mut obj = start.clone();
    obj["metadata"]["labels"] = json!({"app": "web"});
    let (now_web, _) = store.update(Some("ns"), "c", obj, &w).await.unwrap();
    let (kind, name, _) = next(&mut events).await;
    assert_eq!(
        (kind, name.as_str()),
        (WatchEventType::Added, "c"),
        "starts matching -> ADDED"
    );

    let mut obj = now_web.clone();
    obj["data"] = json!({"k": "changed"});
    let (still, _) = store.update(Some("ns"), "c", obj, &w).await.unwrap();
    assert_eq!(next(&mut events).await.0, WatchEventType::Modified);

    let mut obj = still.clone();
    obj["metadata"]["labels"] = json!({"app": "db"});
    let (gone, _) = store.update(Some("ns"), "c", obj, &w).await.unwrap();
    let (kind, _, previous) = next(&mut events).await;
    assert_eq!(kind, WatchEventType::Deleted, "stops matching -> DELETED");
    assert_eq!(
        previous["metadata"]["labels"]["app"], "web",
        "with the previous state"
    );
    assert_eq!(rv(&previous), rv(&gone), "and the event's resourceVersion");
}

#[tokio::test]
async fn synthetic_added_then_live_and_initial_events_end() {
    let fx = Fixture::new().await;
    let store = fx.store(configmaps());
    let w = WriteOptions::default();
    store
        .create(Some("ns"), configmap("a", json!({})), &w)
        .await
        .unwrap();
    store
        .create(Some("ns"), configmap("b", json!({})), &w)
        .await
        .unwrap();

    let mut plain = store.watch(None, &ListOptions::default()).await.unwrap();
    let list = ListOptions {
        send_initial_events: Some(true),
        resource_version_match: "NotOlderThan".into(),
        allow_watch_bookmarks: Some(true),
        ..Default::default()
    };
    let mut streaming = store.watch(None, &list).await.unwrap();
    for events in [&mut plain, &mut streaming] {
        assert_eq!(next(events).await.1, "a");
        assert_eq!(next(events).await.1, "b");
    }
    let (kind, _, bookmark) = next(&mut streaming).await;
    assert_eq!(kind, WatchEventType::Bookmark);
    assert_eq!(
        bookmark["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );
    assert_eq!(bookmark["kind"], "ConfigMap");

    store
        .create(Some("ns"), configmap("c", json!({})), &w)
        .await
        .unwrap();
    assert_eq!(next(&mut plain).await.1, "c");
    assert_eq!(next(&mut streaming).await.1, "c");

    let bad = ListOptions {
        send_initial_events: Some(true),
        ..Default::default()
    };
    assert_eq!(
        store.watch(None, &bad).await.err().map(|e| e.status.code),
        Some(400)
    );
}

#[tokio::test]
async fn periodic_bookmarks_and_timeout() {
    let fx = Fixture::new().await;
    let config = StoreConfig {
        bookmark_interval: Duration::from_millis(100),
        ..Default::default()
    };
    let store = fx.store_with(configmaps(), config);
    let w = WriteOptions::default();
    let made = store
        .create(Some("ns"), configmap("a", json!({})), &w)
        .await
        .unwrap();
    let opts = ListOptions {
        allow_watch_bookmarks: Some(true),
        timeout_seconds: Some(1),
        ..from(rv(&made))
    };
    let mut events = store.watch(None, &opts).await.unwrap();
    let (kind, _, bookmark) = next(&mut events).await;
    assert_eq!(kind, WatchEventType::Bookmark);
    assert_eq!(
        bookmark["metadata"]["resourceVersion"],
        made["metadata"]["resourceVersion"]
    );
    assert!(bookmark["metadata"].get("annotations").is_none());
    // The watch ends at its timeout.
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        while events.next().await.is_some() {}
    })
    .await;
    assert!(ended.is_ok());
}

#[tokio::test]
async fn old_revisions_come_from_storage_or_expire() {
    old_revisions_beyond_the_ring(StoreConfig {
        watch_history: 2,
        cache: from_storage_beyond_the_ring(),
        ..Default::default()
    })
    .await;
}

#[tokio::test]
async fn the_ring_holds_no_more_stored_bytes_than_its_bound() {
    // Room for thousands of events, but for two ConfigMaps' bytes only.
    old_revisions_beyond_the_ring(StoreConfig {
        watch_history_bytes: 400,
        cache: from_storage_beyond_the_ring(),
        ..Default::default()
    })
    .await;
}

/// Watches from before the ring read storage (upstream's watch cache answers 410 instead:
/// `cache_window.rs` checks that default).
fn from_storage_beyond_the_ring() -> CacheConfig {
    CacheConfig {
        beyond_window: BeyondWindow::Storage,
        ..Default::default()
    }
}

/// With a ring too small for five events, a watch from before them is served by storage, and
/// once storage compacts them, it expires with 410.
async fn old_revisions_beyond_the_ring(config: StoreConfig) {
    let fx = Fixture::new().await;
    let store = fx.store_with(configmaps(), config);
    let w = WriteOptions::default();
    let first = store
        .create(Some("ns"), configmap("c0", json!({})), &w)
        .await
        .unwrap();
    // Start the hub, then push more events than its ring holds.
    let _keep = store.watch(None, &from(rv(&first))).await.unwrap();
    for i in 1..6 {
        store
            .create(Some("ns"), configmap(&format!("c{i}"), json!({})), &w)
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut old = store.watch(None, &from(rv(&first))).await.unwrap();
    for i in 1..6 {
        assert_eq!(
            next(&mut old).await.1,
            format!("c{i}"),
            "served by a direct storage watch"
        );
    }

    let last = store
        .create(Some("ns"), configmap("c9", json!({})), &w)
        .await
        .unwrap();
    fx.storage.compact(rv(&last) - 1).await.unwrap();
    let err = match store.watch(None, &from(rv(&first))).await {
        Err(err) => err,
        Ok(mut events) => {
            let (kind, _, status) = next(&mut events).await;
            assert_eq!(kind, WatchEventType::Error);
            serde_json::from_value::<crate::api::status::Status>(status)
                .map(|s| crate::api::status::ApiError {
                    status: Box::new(s),
                    headers: Vec::new(),
                })
                .unwrap()
        }
    };
    assert_eq!(err.status.code, 410);
    assert!(
        err.status.message.starts_with("too old resource version: "),
        "{}",
        err.status.message
    );
}

#[tokio::test]
async fn a_slow_watcher_is_ended_with_410_without_stalling_others() {
    let fx = Fixture::new().await;
    let config = StoreConfig {
        watcher_backlog: 16,
        ..Default::default()
    };
    let store = fx.store_with(configmaps(), config);
    let w = WriteOptions::default();
    let start = store
        .create(Some("ns"), configmap("s", json!({})), &w)
        .await
        .unwrap();
    let mut slow = store.watch(None, &from(rv(&start))).await.unwrap();
    let mut fast = store.watch(None, &from(rv(&start))).await.unwrap();
    let total = 200;
    // The fast watcher reads every event as it comes; the writer waits for it after each write,
    // so only the slow watcher (never polled) can fall behind, however loaded the machine is.
    let (seen_tx, mut seen_rx) = tokio::sync::mpsc::unbounded_channel();
    let reader = tokio::spawn(async move {
        for _ in 0..total {
            let (kind, _, _) = next(&mut fast).await;
            assert_eq!(kind, WatchEventType::Added);
            if seen_tx.send(()).is_err() {
                break;
            }
        }
    });
    for i in 0..total {
        store
            .create(Some("ns"), configmap(&format!("m{i:03}"), json!({})), &w)
            .await
            .unwrap();
        tokio::time::timeout(Duration::from_secs(10), seen_rx.recv())
            .await
            .expect("the fast watcher keeps up")
            .expect("the fast watcher is running");
    }
    reader.await.unwrap();
    let mut last = None;
    while let Ok(Some(event)) = tokio::time::timeout(Duration::from_secs(5), slow.next()).await {
        last = Some(event);
    }
    let last = last.expect("the slow watcher got events");
    assert_eq!(last.event_type, WatchEventType::Error);
    assert_eq!(last.object()["code"], 410);
}

#[tokio::test]
async fn the_watch_init_signal_fires_once_the_initial_events_are_sent() {
    let fx = Fixture::new().await;
    let store = fx.store(configmaps());
    let w = WriteOptions::default();
    // More initial objects than a watcher's outbox holds (64): the last ones are sent only as
    // the client reads.
    for i in 0..69 {
        store
            .create(Some("ns"), configmap(&format!("c{i}"), json!({})), &w)
            .await
            .unwrap();
    }
    let last = store
        .create(Some("ns"), configmap("c69", json!({})), &w)
        .await
        .unwrap();
    let (signal, mut fired) = WatchInitSignal::new();
    let mut events = store
        .watch_signalling(None, &ListOptions::default(), Some(signal))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(fired.try_recv().is_err(), "fired before the initial events");
    for _ in 0..70 {
        assert_eq!(next(&mut events).await.0, WatchEventType::Added);
    }
    tokio::time::timeout(Duration::from_secs(5), fired)
        .await
        .expect("fired after the initial events")
        .expect("fired, not dropped");

    // The ready cache counts the objects, and follows changes.
    assert_eq!(store.object_count(), Some(70));
    store
        .create(Some("ns"), configmap("one-more", json!({})), &w)
        .await
        .unwrap();
    let counted = async {
        while store.object_count() != Some(71) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), counted)
        .await
        .expect("the count follows a create");

    // A watch from a resourceVersion sends no initial events: it fires at once.
    let (signal, fired) = WatchInitSignal::new();
    let _resumed = store
        .watch_signalling(None, &from(rv(&last)), Some(signal))
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(5), fired)
        .await
        .expect("fired at once")
        .expect("fired, not dropped");
}
