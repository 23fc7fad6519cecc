//! Steps several upstream conformance tests share: the three discovery checks of the API
//! operations tests, unique names, waiting for watch events, comparing quantities.

use std::time::Duration;

use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use kube::api::{Api, WatchEvent, WatchParams};
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
