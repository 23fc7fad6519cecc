//! Steps several upstream conformance tests share: the three discovery checks of the API
//! operations tests, unique names, waiting for watch events, comparing quantities, reading
//! labels and resource versions, client-go's conflict retry, waiting for a list to empty.

use std::fmt::Debug;
use std::future::Future;
use std::time::{Duration, Instant};

use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use kube::api::{Api, ListParams, WatchEvent, WatchParams};
use kube::Resource;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// A short random-looking lowercase suffix (upstream's `utilrand.String`).
pub fn suffix() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .subsec_nanos();
    let mixed = (nanos ^ (std::process::id() << 20)).wrapping_add(
        COUNTER
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_mul(2_654_435_761),
    );
    format!("{mixed:08x}")
}

/// GET `path` as JSON.
pub async fn get_json(client: &kube::Client, path: &str) -> Value {
    let req = http::Request::get(path).body(Vec::new()).expect("request");
    client
        .request::<Value>(req)
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

/// Upstream's three discovery steps: `group` with `version` is in `/apis`, `version` is in
/// `/apis/<group>`, and each of `resources` is in `/apis/<group>/<version>`.
pub async fn expect_discovery(
    client: &kube::Client,
    group: &str,
    version: &str,
    resources: &[&str],
) {
    let groups = client.list_api_groups().await.expect("getting /apis");
    assert!(
        groups
            .groups
            .iter()
            .any(|g| g.name == group && g.versions.iter().any(|v| v.version == version)),
        "expected {group} API group/version, got {:?}",
        groups.groups
    );

    let api_group = get_json(client, &format!("/apis/{group}")).await;
    assert!(
        api_group["versions"]
            .as_array()
            .is_some_and(|vs| vs.iter().any(|v| v["version"] == version)),
        "expected {group} API version {version}, got {}",
        api_group["versions"]
    );

    let list = client
        .list_api_group_resources(&format!("{group}/{version}"))
        .await
        .expect("getting the group version's resources");
    for resource in resources {
        assert!(
            list.resources.iter().any(|r| r.name == *resource),
            "expected {resource}, got {:?}",
            list.resources.iter().map(|r| &r.name).collect::<Vec<_>>()
        );
    }
}

/// A watch stream of `api` with `label_selector` from `resource_version` (no bookmarks, as
/// client-go's plain watch).
pub async fn watch<K>(
    api: &Api<K>,
    label_selector: &str,
    resource_version: &str,
) -> BoxStream<'static, kube::Result<WatchEvent<K>>>
where
    K: Clone + DeserializeOwned + std::fmt::Debug + Send + 'static,
{
    let params = WatchParams {
        label_selector: Some(label_selector.into()),
        bookmarks: false,
        ..Default::default()
    };
    api.watch(&params, resource_version)
        .await
        .expect("start watch")
        .boxed()
}

/// The next event of `stream` within `wait.ForeverTestTimeout` (30 s); panics when the watch
/// closes or times out.
pub async fn next_event<K>(
    stream: &mut BoxStream<'static, kube::Result<WatchEvent<K>>>,
) -> WatchEvent<K> {
    tokio::time::timeout(Duration::from_secs(30), stream.try_next())
        .await
        .expect("timed out waiting for watch event")
        .expect("watch event")
        .expect("watch channel should not close")
}

/// Whether two quantities are equal in value (`resource.Quantity.Cmp == 0`).
pub fn quantity_eq(a: &str, b: &str) -> bool {
    match (
        apiary::api::quantity::milli_value(a),
        apiary::api::quantity::milli_value(b),
    ) {
        (Some(x), Some(y)) => x == y,
        _ => panic!("not quantities: {a:?}, {b:?}"),
    }
}

/// Upstream's `utilrand.String(5)`.
pub fn rand5() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..5].to_string()
}

/// The resource version as a number: upstream's `HaveValidResourceVersion` (and the operand of
/// `resourceversion.CompareResourceVersion`), checks later upstream versions make, as the other
/// transcriptions here do.
pub fn rv(object: &impl Resource) -> u128 {
    object
        .meta()
        .resource_version
        .as_deref()
        .and_then(|rv| rv.parse().ok())
        .expect("the resource version is not a valid integer")
}

pub fn label(object: &impl Resource, key: &str) -> Option<String> {
    object
        .meta()
        .labels
        .as_ref()
        .and_then(|l| l.get(key))
        .cloned()
}

pub fn annotation(object: &impl Resource, key: &str) -> Option<String> {
    object
        .meta()
        .annotations
        .as_ref()
        .and_then(|a| a.get(key))
        .cloned()
}

/// client-go's `retry.RetryOnConflict(retry.DefaultRetry, ..)`: up to five attempts while the
/// update conflicts.
pub async fn retry_on_conflict<T, F, Fut>(mut attempt: F) -> kube::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = kube::Result<T>>,
{
    let mut result = attempt().await;
    for _ in 1..5 {
        match &result {
            Err(kube::Error::Api(s)) if s.code == 409 => {
                tokio::time::sleep(Duration::from_millis(10)).await;
                result = attempt().await;
            }
            _ => break,
        }
    }
    result
}

/// Upstream's `Eventually(list).WithTimeout(30 * time.Second)` until the list is empty.
pub async fn eventually_none<K>(api: &Api<K>, lp: &ListParams, kind: &str)
where
    K: Resource + Clone + DeserializeOwned + Debug,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let list = api
            .list(lp)
            .await
            .unwrap_or_else(|e| panic!("failed to list {kind}: {e}"));
        let Some(first) = list.items.first() else {
            return;
        };
        assert!(
            Instant::now() < deadline,
            "Timeout while waiting to confirm deletion: Expected {kind} to be deleted, found {:?}",
            first.meta().name
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The patch type a step sends.
#[derive(Debug, Clone, Copy)]
pub enum PatchKind {
    Strategic,
    Merge,
}

/// The storage tests' "patching the object" step: labels `before` with `<its name>=patched`
/// through a patch of `kind`, then checks that the label was applied and that the resource
/// version grew. Answers the patched object.
pub async fn patch_label_patched<K>(api: &Api<K>, before: &K, kind: PatchKind) -> K
where
    K: Resource + Clone + DeserializeOwned + Debug,
{
    let name = before.meta().name.clone().expect("name");
    let body = serde_json::json!({"metadata": {"labels": {name.clone(): "patched"}}});
    let patch = match kind {
        PatchKind::Strategic => kube::api::Patch::Strategic(body),
        PatchKind::Merge => kube::api::Patch::Merge(body),
    };
    let patched = api
        .patch(&name, &kube::api::PatchParams::default(), &patch)
        .await
        .unwrap_or_else(|e| panic!("failed to patch {name:?}: {e}"));
    assert_eq!(
        label(&patched, &name).as_deref(),
        Some("patched"),
        "checking that patched label has been applied"
    );
    assert!(
        rv(before) < rv(&patched),
        "patched object should have a larger resource version"
    );
    patched
}
