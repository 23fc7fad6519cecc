//! The watch cache's indexes and triggered dispatch, on pods (which index `spec.nodeName`):
//! indexed lists and initial watch states equal a full filter, and node watchers receive
//! exactly their pods' events.

use std::sync::Arc;
use std::time::Duration;

use apiary_storage::Storage;
use bytes::Bytes;
use futures::StreamExt;
use serde_json::{json, Value};

use super::{next, stored_objects, wait_ready, Fixture, Steps};
use crate::registry::options::ListOptions;
use crate::registry::selectors::{SelectableFields, Selection};
use crate::registry::store::{Store, StoreConfig, WatchEventType};

const PODS: (&str, &str, &str) = ("", "v1", "pods");

/// A pod as stored; `node` empty: not scheduled.
fn pod(ns: &str, name: &str, node: &str, phase: &str) -> Value {
    let mut spec = json!({"containers": [{"name": "c", "image": "busybox"}]});
    if !node.is_empty() {
        spec["nodeName"] = json!(node);
    }
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": ns,
            "uid": format!("uid-{ns}-{name}"),
            "creationTimestamp": "2026-01-01T00:00:00Z"
        },
        "spec": spec,
        "status": {"phase": phase}
    })
}

/// Writes `obj` straight to storage (as another replica would): created, or replacing the
/// current value.
async fn put(store: &Store, storage: &Arc<dyn Storage>, obj: &Value) {
    let ns = obj["metadata"]["namespace"].as_str().unwrap();
    let name = obj["metadata"]["name"].as_str().unwrap();
    let key = store.layout().object_key(Some(ns), name);
    let bytes = Bytes::from(serde_json::to_vec(obj).unwrap());
    match storage.get(key.as_bytes()).await.unwrap().kv {
        Some(kv) => {
            storage
                .update(key.as_bytes(), bytes, kv.mod_revision)
                .await
                .unwrap();
        }
        None => {
            storage.create(key.as_bytes(), bytes).await.unwrap();
        }
    }
}

/// What a full filter of storage's objects gives for `selector` in `ns`.
async fn filtered(
    store: &Store,
    storage: &Arc<dyn Storage>,
    ns: Option<&str>,
    selector: &str,
) -> Vec<Value> {
    let selection = Selection::parse(SelectableFields::PODS, "", selector).unwrap();
    let prefix = store.layout().list_prefix(ns);
    let mut objects = stored_objects(store, storage, &prefix, 0).await;
    objects.retain(|obj| selection.matches(obj));
    objects
}

/// A seeded sequence of writes moving pods between nodes and phases; after each batch, lists
/// and initial watch states pinning `spec.nodeName` are read through the index and equal a full
/// filter of storage.
#[tokio::test]
async fn index_answers_equal_a_full_filter() {
    let fx = Fixture::new().await;
    let storage = fx.storage.clone();
    let store = fx.builtin(PODS, StoreConfig::default());
    wait_ready(&store).await;
    let namespaces = ["a", "b", "c"];
    let nodes = ["", "n0", "n1", "n2", "n3", "n4", "n5"];
    let phases = ["Pending", "Running", "Succeeded"];
    let mut steps = Steps(0x1dea_5eed_0000_0018);
    for round in 0..20 {
        for _ in 0..15 {
            let ns = steps.pick(&namespaces);
            let name = format!("p{}", steps.below(30));
            let key = store.layout().object_key(Some(ns), &name);
            let exists = storage.get(key.as_bytes()).await.unwrap().kv.is_some();
            if exists && steps.below(4) == 0 {
                storage.delete(key.as_bytes(), None).await.unwrap();
            } else {
                let obj = pod(ns, &name, steps.pick(&nodes), steps.pick(&phases));
                put(&store, &storage, &obj).await;
            }
        }
        for _ in 0..8 {
            let ns = match steps.below(4) {
                0 => None,
                i => Some(namespaces[i as usize - 1]),
            };
            let node = steps.pick(&nodes);
            let phase = steps.pick(&phases);
            let selector = match steps.below(3) {
                0 => format!("spec.nodeName={node}"),
                1 => format!("spec.nodeName={node},status.phase={phase}"),
                _ => format!("status.phase!={phase},spec.nodeName=={node}"),
            };
            let before = store.cache.index_reads();
            let opts = ListOptions {
                field_selector: selector.clone(),
                ..Default::default()
            };
            let got = store.list(ns, &opts).await.unwrap();
            assert_eq!(
                store.cache.index_reads(),
                before + 1,
                "round {round}: {selector} in {ns:?} read through the index"
            );
            let want = filtered(&store, &storage, ns, &selector).await;
            assert_eq!(got.items, want, "round {round}: {selector} in {ns:?}");
        }
        // A list by a field that is not indexed reads every object.
        let before = store.cache.index_reads();
        let opts = ListOptions {
            field_selector: "status.phase=Running".into(),
            ..Default::default()
        };
        let got = store.list(None, &opts).await.unwrap();
        assert_eq!(store.cache.index_reads(), before);
        let want = filtered(&store, &storage, None, "status.phase=Running").await;
        assert_eq!(got.items, want, "round {round}: unindexed");

        // The initial events of a streaming watch use the index too.
        let node = steps.pick(&nodes);
        let selector = format!("spec.nodeName={node}");
        let before = store.cache.index_reads();
        let opts = ListOptions {
            field_selector: selector.clone(),
            send_initial_events: Some(true),
            allow_watch_bookmarks: Some(true),
            resource_version_match: "NotOlderThan".into(),
            ..Default::default()
        };
        let mut events = store.watch(None, &opts).await.unwrap();
        let mut added = Vec::new();
        loop {
            let (kind, _, obj) = next(&mut events).await;
            match kind {
                WatchEventType::Added => added.push(obj),
                WatchEventType::Bookmark => break,
                other => panic!("round {round}: unexpected {other:?} before the bookmark"),
            }
        }
        assert_eq!(store.cache.index_reads(), before + 1);
        let want = filtered(&store, &storage, None, &selector).await;
        assert_eq!(added, want, "round {round}: initial events of {selector}");
    }
}

/// 100 kubelet-like watchers (`spec.nodeName=node-N`) and one unfiltered watcher: each node
/// watcher receives exactly its pods' events, a pod moved between nodes is DELETED for the old
/// node's watcher and ADDED for the new one's, and the per-node channels go with their watchers.
#[tokio::test]
async fn node_watchers_receive_exactly_their_pods_events() {
    const NODES: usize = 100;
    let fx = Fixture::new().await;
    let storage = fx.storage.clone();
    let store = fx.builtin(PODS, StoreConfig::default());
    wait_ready(&store).await;
    let start = storage.current_revision().await.unwrap();
    let from = |selector: String| ListOptions {
        field_selector: selector,
        resource_version: start.to_string(),
        ..Default::default()
    };
    let mut watchers = Vec::new();
    for n in 0..NODES {
        let selector = format!("spec.nodeName=node-{n}");
        watchers.push(store.watch(None, &from(selector)).await.unwrap());
    }
    let mut all = store.watch(None, &from(String::new())).await.unwrap();
    assert_eq!(store.cache.value_channels(), NODES);

    for j in 0..3 * NODES {
        let obj = pod(
            "ns",
            &format!("pod-{j}"),
            &format!("node-{}", j % NODES),
            "Running",
        );
        put(&store, &storage, &obj).await;
    }
    // pod-0 moves from node-0 to node-1; pod-2 (node-2) is deleted.
    put(&store, &storage, &pod("ns", "pod-0", "node-1", "Running")).await;
    let key = store.layout().object_key(Some("ns"), "pod-2");
    storage.delete(key.as_bytes(), None).await.unwrap();
    // A last pod per node marks the end of each watcher's events.
    for n in 0..NODES {
        let obj = pod("ns", &format!("end-{n}"), &format!("node-{n}"), "Running");
        put(&store, &storage, &obj).await;
    }

    for (n, events) in watchers.iter_mut().enumerate() {
        let mut want: Vec<(WatchEventType, String)> = (0..3)
            .map(|k| (WatchEventType::Added, format!("pod-{}", n + k * NODES)))
            .collect();
        match n {
            0 => want.push((WatchEventType::Deleted, "pod-0".into())),
            1 => want.push((WatchEventType::Added, "pod-0".into())),
            2 => want.push((WatchEventType::Deleted, "pod-2".into())),
            _ => {}
        }
        want.push((WatchEventType::Added, format!("end-{n}")));
        let mut got = Vec::new();
        while got.last() != want.last() {
            let (kind, name, obj) = next(events).await;
            if n == 0 && kind == WatchEventType::Deleted {
                // Upstream sends the previous state of a pod leaving the selection.
                assert_eq!(obj["spec"]["nodeName"], "node-0");
            }
            got.push((kind, name));
            assert!(got.len() <= want.len(), "node-{n}: {got:?}");
        }
        assert_eq!(got, want, "node-{n}");
    }
    let total = 3 * NODES + 2 + NODES;
    for i in 0..total {
        let (kind, name, _) = next(&mut all).await;
        if i == total - 1 {
            assert_eq!(
                (kind, name),
                (WatchEventType::Added, format!("end-{}", NODES - 1))
            );
        }
    }

    // A channel goes when its last receiver went: the next event for its value drops it.
    drop(watchers);
    let mut left = store.cache.value_channels();
    for round in 0..100 {
        for n in 0..NODES {
            let phase = if round % 2 == 0 {
                "Succeeded"
            } else {
                "Running"
            };
            let obj = pod("ns", &format!("end-{n}"), &format!("node-{n}"), phase);
            put(&store, &storage, &obj).await;
        }
        // The unfiltered watcher has seen the writes, so the feed sent them.
        for _ in 0..NODES {
            next(&mut all).await;
        }
        left = store.cache.value_channels();
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(left, 0, "channels left after their watchers ended");
}

/// The lag rule holds per channel: a node watcher that falls more than `watcher_backlog` events
/// behind on its node's channel ends with 410, while another node's watcher goes on.
#[tokio::test]
async fn a_node_watcher_behind_on_its_channel_ends_with_410() {
    let fx = Fixture::new().await;
    let storage = fx.storage.clone();
    let config = StoreConfig {
        watcher_backlog: 16,
        ..Default::default()
    };
    let store = fx.builtin(PODS, config);
    wait_ready(&store).await;
    let start = storage.current_revision().await.unwrap();
    let on = |node: &str| ListOptions {
        field_selector: format!("spec.nodeName={node}"),
        resource_version: start.to_string(),
        ..Default::default()
    };
    let mut busy = store.watch(None, &on("busy")).await.unwrap();
    let mut quiet = store.watch(None, &on("quiet")).await.unwrap();
    for i in 0..200 {
        put(
            &store,
            &storage,
            &pod("ns", &format!("b{i:03}"), "busy", "Running"),
        )
        .await;
    }
    put(&store, &storage, &pod("ns", "q", "quiet", "Running")).await;
    let (kind, name, _) = next(&mut quiet).await;
    assert_eq!((kind, name.as_str()), (WatchEventType::Added, "q"));

    let mut added = 0;
    let mut last = None;
    while let Ok(Some(event)) = tokio::time::timeout(Duration::from_secs(5), busy.next()).await {
        if event.event_type == WatchEventType::Added {
            added += 1;
        }
        last = Some(event);
    }
    let last = last.expect("the busy watcher got events");
    assert_eq!(last.event_type, WatchEventType::Error);
    assert_eq!(last.object()["code"], 410);
    assert!(added < 200, "{added} events before the 410");
}
