//! `test/e2e/apimachinery/watch.go`: the Watchers conformance tests, on every backend.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::time::Duration;

use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, PostParams, WatchEvent, WatchParams};

use crate::common::Apiary;
use crate::shared_apiary::{conformance_tests, namespace};

const LABEL_KEY: &str = "watch-this-configmap";
const MULTIPLE_WATCHERS_A: &str = "multiple-watchers-A";
const MULTIPLE_WATCHERS_B: &str = "multiple-watchers-B";
const FROM_RESOURCE_VERSION: &str = "from-resource-version";
const WATCH_RESTARTED: &str = "watch-closed-and-restarted";
const TO_BE_CHANGED: &str = "label-changed-and-restored";

/// How long upstream's `expectEvent` waits.
const EXPECT: Duration = Duration::from_secs(60);
/// How long `expectNoEvent` waits (upstream: 10 s; events of one write reach every watcher
/// together, so the watchers expecting an event have already seen it when this starts).
const EXPECT_NONE: Duration = Duration::from_secs(2);

type Watch = Pin<Box<dyn Stream<Item = kube::Result<WatchEvent<ConfigMap>>> + Send>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Type {
    Added,
    Modified,
    Deleted,
}

fn event_type(event: &WatchEvent<ConfigMap>) -> Option<(Type, &ConfigMap)> {
    match event {
        WatchEvent::Added(o) => Some((Type::Added, o)),
        WatchEvent::Modified(o) => Some((Type::Modified, o)),
        WatchEvent::Deleted(o) => Some((Type::Deleted, o)),
        _ => None,
    }
}

/// Upstream's `watchConfigMaps`: a watch from `resource_version` on configmaps whose label
/// `watch-this-configmap` is one of `values`.
async fn watch_configmaps(api: &Api<ConfigMap>, resource_version: &str, values: &[&str]) -> Watch {
    let params = WatchParams {
        label_selector: Some(format!("{LABEL_KEY} in ({})", values.join(","))),
        bookmarks: false,
        ..Default::default()
    };
    api.watch(&params, resource_version)
        .await
        .expect("watch configmaps")
        .boxed()
}

/// Upstream's `waitForEvent`: reads events until one of `expect` type (equal to `object` when
/// given) arrives; `None` when `within` passes first.
async fn wait_for_event(
    watch: &mut Watch,
    expect: Type,
    object: Option<&ConfigMap>,
    within: Duration,
) -> Option<ConfigMap> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let next = tokio::time::timeout_at(deadline, watch.next()).await.ok()?;
        let event = next
            .expect("watch closed unexpectedly")
            .expect("watch event");
        let Some((kind, got)) = event_type(&event) else {
            panic!("unexpected watch event {event:?}");
        };
        if kind == expect && object.is_none_or(|o| o == got) {
            return Some(got.clone());
        }
    }
}

async fn expect_event(watch: &mut Watch, expect: Type, object: Option<&ConfigMap>) -> ConfigMap {
    match wait_for_event(watch, expect, object, EXPECT).await {
        Some(got) => got,
        None => panic!("timed out waiting for expected watch notification {expect:?} {object:?}"),
    }
}

async fn expect_no_event(watch: &mut Watch, expect: Type, object: Option<&ConfigMap>) {
    if let Some(got) = wait_for_event(watch, expect, object, EXPECT_NONE).await {
        panic!("unexpected watch notification observed: {expect:?} {got:?}");
    }
}

fn labelled(name: &str, value: &str) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(BTreeMap::from([(LABEL_KEY.into(), value.into())])),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// Upstream's `updateConfigMap`: get, mutate, update (retrying on conflicts).
async fn update_configmap(
    api: &Api<ConfigMap>,
    name: &str,
    mutate: impl Fn(&mut ConfigMap),
) -> ConfigMap {
    loop {
        let mut cm = api.get(name).await.expect("get configmap");
        mutate(&mut cm);
        match api.replace(name, &PostParams::default(), &cm).await {
            Ok(updated) => return updated,
            Err(kube::Error::Api(status)) if status.code == 409 => continue,
            Err(e) => panic!("update configmap {name}: {e}"),
        }
    }
}

fn set_data(cm: &mut ConfigMap, key: &str, value: &str) {
    cm.data
        .get_or_insert_with(Default::default)
        .insert(key.into(), value.into());
}

fn set_label(cm: &mut ConfigMap, value: &str) {
    cm.metadata
        .labels
        .get_or_insert_with(Default::default)
        .insert(LABEL_KEY.into(), value.into());
}

async fn setup(apiary: &Apiary) -> Api<ConfigMap> {
    let client = apiary.client().await;
    let ns = namespace(&client, "watch").await;
    Api::namespaced(client, &ns)
}

/// `[sig-api-machinery] Watchers should observe add, update, and delete watch notifications on configmaps [Conformance]`
/// (test/e2e/apimachinery/watch.go).
async fn should_observe_add_update_and_delete_notifications(apiary: &Apiary) {
    let api = setup(apiary).await;
    let mut watch_a = watch_configmaps(&api, "", &[MULTIPLE_WATCHERS_A]).await;
    let mut watch_b = watch_configmaps(&api, "", &[MULTIPLE_WATCHERS_B]).await;
    let mut watch_ab =
        watch_configmaps(&api, "", &[MULTIPLE_WATCHERS_A, MULTIPLE_WATCHERS_B]).await;
    let pp = PostParams::default();

    // A configmap with label A: watchers A and AB see it, B does not.
    let cm_a = api
        .create(
            &pp,
            &labelled("e2e-watch-test-configmap-a", MULTIPLE_WATCHERS_A),
        )
        .await
        .expect("create configmap A");
    expect_event(&mut watch_a, Type::Added, Some(&cm_a)).await;
    expect_event(&mut watch_ab, Type::Added, Some(&cm_a)).await;
    expect_no_event(&mut watch_b, Type::Added, Some(&cm_a)).await;

    for value in ["1", "2"] {
        let cm_a = update_configmap(&api, "e2e-watch-test-configmap-a", |cm| {
            set_data(cm, "mutation", value)
        })
        .await;
        expect_event(&mut watch_a, Type::Modified, Some(&cm_a)).await;
        expect_event(&mut watch_ab, Type::Modified, Some(&cm_a)).await;
        expect_no_event(&mut watch_b, Type::Modified, Some(&cm_a)).await;
    }

    api.delete("e2e-watch-test-configmap-a", &DeleteParams::default())
        .await
        .expect("delete configmap A");
    expect_event(&mut watch_a, Type::Deleted, None).await;
    expect_event(&mut watch_ab, Type::Deleted, None).await;
    expect_no_event(&mut watch_b, Type::Deleted, None).await;

    // A configmap with label B: watchers B and AB see it, A does not.
    let cm_b = api
        .create(
            &pp,
            &labelled("e2e-watch-test-configmap-b", MULTIPLE_WATCHERS_B),
        )
        .await
        .expect("create configmap B");
    expect_event(&mut watch_b, Type::Added, Some(&cm_b)).await;
    expect_event(&mut watch_ab, Type::Added, Some(&cm_b)).await;
    expect_no_event(&mut watch_a, Type::Added, Some(&cm_b)).await;

    api.delete("e2e-watch-test-configmap-b", &DeleteParams::default())
        .await
        .expect("delete configmap B");
    expect_event(&mut watch_b, Type::Deleted, None).await;
    expect_event(&mut watch_ab, Type::Deleted, None).await;
    expect_no_event(&mut watch_a, Type::Deleted, None).await;
}

/// `[sig-api-machinery] Watchers should be able to start watching from a specific resource version [Conformance]`
/// (test/e2e/apimachinery/watch.go).
async fn should_start_watching_from_a_specific_resource_version(apiary: &Apiary) {
    let api = setup(apiary).await;
    let name = "e2e-watch-test-resource-version";
    api.create(
        &PostParams::default(),
        &labelled(name, FROM_RESOURCE_VERSION),
    )
    .await
    .expect("create configmap");
    let first = update_configmap(&api, name, |cm| set_data(cm, "mutation", "1")).await;
    let second = update_configmap(&api, name, |cm| set_data(cm, "mutation", "2")).await;
    api.delete(name, &DeleteParams::default())
        .await
        .expect("delete configmap");

    // A watch from the first update's resource version sees only what came after it.
    let rv = first.metadata.resource_version.as_deref().expect("rv");
    let mut watch = watch_configmaps(&api, rv, &[FROM_RESOURCE_VERSION]).await;
    expect_event(&mut watch, Type::Modified, Some(&second)).await;
    expect_event(&mut watch, Type::Deleted, None).await;
}

/// `[sig-api-machinery] Watchers should be able to restart watching from the last resource version observed by the previous watch [Conformance]`
/// (test/e2e/apimachinery/watch.go).
async fn should_restart_watching_from_the_last_resource_version_observed(apiary: &Apiary) {
    let api = setup(apiary).await;
    let name = "e2e-watch-test-watch-closed";
    let mut broken = watch_configmaps(&api, "", &[WATCH_RESTARTED]).await;
    let created = api
        .create(&PostParams::default(), &labelled(name, WATCH_RESTARTED))
        .await
        .expect("create configmap");
    update_configmap(&api, name, |cm| set_data(cm, "mutation", "1")).await;

    // Close the watch once it has seen two notifications.
    expect_event(&mut broken, Type::Added, Some(&created)).await;
    let last = wait_for_event(&mut broken, Type::Modified, None, EXPECT)
        .await
        .expect("timed out waiting for second watch notification");
    drop(broken);

    let second = update_configmap(&api, name, |cm| set_data(cm, "mutation", "2")).await;
    let rv = last.metadata.resource_version.as_deref().expect("rv");
    let mut restarted = watch_configmaps(&api, rv, &[WATCH_RESTARTED]).await;
    api.delete(name, &DeleteParams::default())
        .await
        .expect("delete configmap");
    expect_event(&mut restarted, Type::Modified, Some(&second)).await;
    expect_event(&mut restarted, Type::Deleted, None).await;
}

/// `[sig-api-machinery] Watchers should observe an object deletion if it stops meeting the requirements of the selector [Conformance]`
/// (test/e2e/apimachinery/watch.go).
async fn should_observe_deletion_when_the_selector_stops_matching(apiary: &Apiary) {
    let api = setup(apiary).await;
    let name = "e2e-watch-test-label-changed";
    let mut watch = watch_configmaps(&api, "", &[TO_BE_CHANGED]).await;
    let created = api
        .create(&PostParams::default(), &labelled(name, TO_BE_CHANGED))
        .await
        .expect("create configmap");
    let first = update_configmap(&api, name, |cm| set_data(cm, "mutation", "1")).await;
    update_configmap(&api, name, |cm| set_label(cm, "wrong-value")).await;

    expect_event(&mut watch, Type::Added, Some(&created)).await;
    expect_event(&mut watch, Type::Modified, Some(&first)).await;
    expect_event(&mut watch, Type::Deleted, None).await;

    // Changes while the label does not match are not seen.
    let second = update_configmap(&api, name, |cm| set_data(cm, "mutation", "2")).await;
    expect_no_event(&mut watch, Type::Modified, Some(&second)).await;

    let restored = update_configmap(&api, name, |cm| set_label(cm, TO_BE_CHANGED)).await;
    let third = update_configmap(&api, name, |cm| set_data(cm, "mutation", "3")).await;
    api.delete(name, &DeleteParams::default())
        .await
        .expect("delete configmap");
    expect_event(&mut watch, Type::Added, Some(&restored)).await;
    expect_event(&mut watch, Type::Modified, Some(&third)).await;
    expect_event(&mut watch, Type::Deleted, None).await;
}

/// Upstream's `produceConfigMapEvents`: random creates, updates and deletes every 5 ms until
/// `stop` is set.
async fn produce_configmap_events(api: Api<ConfigMap>, stop: tokio::sync::watch::Receiver<bool>) {
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos() as u64
        | 1;
    let mut random = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    let name = |i: usize| format!("cm-{i}");
    let mut existing: Vec<usize> = Vec::new();
    let mut i = 0;
    let mut ticker = tokio::time::interval(Duration::from_millis(5));
    loop {
        ticker.tick().await;
        let op = if existing.is_empty() { 0 } else { random(3) };
        match op {
            0 => {
                let cm = ConfigMap {
                    metadata: ObjectMeta {
                        name: Some(name(i)),
                        ..Default::default()
                    },
                    ..Default::default()
                };
                api.create(&PostParams::default(), &cm)
                    .await
                    .expect("create configmap");
                existing.push(i);
                i += 1;
            }
            1 => {
                let cm = ConfigMap {
                    metadata: ObjectMeta {
                        name: Some(name(existing[random(existing.len())])),
                        ..Default::default()
                    },
                    ..Default::default()
                };
                let n = cm.metadata.name.clone().expect("name");
                api.replace(&n, &PostParams::default(), &cm)
                    .await
                    .expect("update configmap");
            }
            _ => {
                let idx = random(existing.len());
                api.delete(&name(existing[idx]), &DeleteParams::default())
                    .await
                    .expect("delete configmap");
                existing.remove(idx);
            }
        }
        if *stop.borrow() {
            return;
        }
    }
}

/// Upstream's `waitForNextConfigMapEvent` on a `RetryWatcher`: the next event's configmap.
async fn next_configmap_event(watch: &mut Watch) -> ConfigMap {
    let event = tokio::time::timeout(Duration::from_secs(10), watch.next())
        .await
        .expect("timed out waiting for watch event")
        .expect("watch closed unexpectedly")
        .expect("watch event");
    match event_type(&event) {
        Some((_, cm)) => cm.clone(),
        None => panic!("expected config map, got {event:?}"),
    }
}

/// `[sig-api-machinery] Watchers should receive events on concurrent watches in same order [Conformance]`
/// (test/e2e/apimachinery/watch.go).
async fn should_receive_events_on_concurrent_watches_in_same_order(apiary: &Apiary) {
    let api = setup(apiary).await;
    let iterations = 100;
    let list = api
        .list(&ListParams::default())
        .await
        .expect("list configmaps");
    let mut resource_version = list.metadata.resource_version.expect("list rv");

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let producer = tokio::spawn(produce_configmap_events(api.clone(), stop_rx));

    // A watch from each event's resource version; every watch sees the same versions in order.
    let mut watches: Vec<Watch> = Vec::new();
    for _ in 0..iterations {
        let params = WatchParams {
            bookmarks: false,
            ..Default::default()
        };
        let watch = api
            .watch(&params, &resource_version)
            .await
            .expect("watch configmaps")
            .boxed();
        watches.push(watch);
        resource_version = next_configmap_event(&mut watches[0])
            .await
            .metadata
            .resource_version
            .expect("rv");
        for watch in &mut watches[1..] {
            let got = next_configmap_event(watch).await.metadata.resource_version;
            assert_eq!(
                got.as_deref(),
                Some(resource_version.as_str()),
                "resource version mismatch"
            );
        }
    }
    stop_tx.send(true).expect("stop the producer");
    producer.await.expect("producer");
}

conformance_tests!(all_backends {
    should_observe_add_update_and_delete_notifications,
    should_start_watching_from_a_specific_resource_version,
    should_restart_watching_from_the_last_resource_version_observed,
    should_observe_deletion_when_the_selector_stops_matching,
    should_receive_events_on_concurrent_watches_in_same_order,
});
