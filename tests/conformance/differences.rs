//! Differences from kube-apiserver 1.33 that real clients found (issue 17): paged lists'
//! `remainingItemCount` on every backend, discovery paths with a trailing slash, watches with a
//! negative or zero `timeoutSeconds`, Tables asked of resources without a Table convertor, and the
//! core Event field selector `source` for events written through `events.k8s.io`.

use std::time::Duration;

use serde_json::Value;

use crate::common::{Apiary, Backend};

/// GET `path`: the JSON body, or the failure's (code, reason, message).
async fn get_json(client: &kube::Client, path: &str) -> Result<Value, (u16, String, String)> {
    request(client, http::Request::get(path), Vec::new()).await
}

async fn request(
    client: &kube::Client,
    builder: http::request::Builder,
    body: Vec<u8>,
) -> Result<Value, (u16, String, String)> {
    let request = builder.body(body).expect("request");
    match client.request_text(request).await {
        Ok(text) => Ok(serde_json::from_str(&text).expect("a JSON body")),
        Err(kube::Error::Api(status)) => Err((status.code, status.reason, status.message)),
        Err(other) => panic!("request failed: {other:?}"),
    }
}

/// Upstream's storage list (`etcd3/store.go` `GetList`, `storage.PrepareContinueToken`): a page
/// with more after it carries `remainingItemCount`, the items left, unless a label or field
/// selector filters the list (`pred.Empty()`); the last page carries none.
async fn remaining_item_count_on(backend: Backend) {
    let apiary = Apiary::start_on(backend);
    apiary.ok(&["create", "namespace", "paged"]);
    for i in 0..5 {
        apiary.ok(&[
            "create",
            "secret",
            "generic",
            &format!("s{i}"),
            "-n",
            "paged",
            "--from-literal=k=v",
        ]);
    }
    apiary.ok(&["label", "secret", "s0", "s1", "s2", "-n", "paged", "tier=a"]);
    let client = apiary.client().await;
    // Secrets: no controller adds any to a new namespace (unlike `kube-root-ca.crt`).
    let base = "/api/v1/namespaces/paged/secrets";
    let page = |query: String| {
        let client = client.clone();
        async move {
            get_json(&client, &format!("{base}?{query}"))
                .await
                .expect("list")
        }
    };
    let first = page("limit=2".into()).await;
    assert_eq!(first["items"].as_array().map(Vec::len), Some(2));
    assert_eq!(first["metadata"]["remainingItemCount"], 3, "{first}");
    let token = first["metadata"]["continue"].as_str().expect("continue");
    let second = page(format!("limit=2&continue={token}")).await;
    assert_eq!(second["metadata"]["remainingItemCount"], 1, "{second}");
    let token = second["metadata"]["continue"].as_str().expect("continue");
    let last = page(format!("limit=2&continue={token}")).await;
    assert_eq!(last["items"].as_array().map(Vec::len), Some(1));
    assert!(
        last["metadata"].get("remainingItemCount").is_none(),
        "{last}"
    );
    assert!(last["metadata"].get("continue").is_none(), "{last}");
    // A page of exactly the rest has nothing after it.
    let whole = page("limit=5".into()).await;
    assert!(
        whole["metadata"].get("remainingItemCount").is_none(),
        "{whole}"
    );
    // Filtered pages: upstream cannot count what matches, so it says nothing.
    for query in [
        "limit=1&labelSelector=tier%3Da",
        "limit=1&fieldSelector=metadata.name%21%3Ds4",
    ] {
        let filtered = page(query.into()).await;
        assert!(filtered["metadata"]["continue"].is_string(), "{query}");
        assert!(
            filtered["metadata"].get("remainingItemCount").is_none(),
            "{query}: {filtered}"
        );
    }
    // An empty selector is no filter.
    let empty = page("limit=4&labelSelector=".into()).await;
    assert_eq!(empty["metadata"]["remainingItemCount"], 1, "{empty}");
    // The Table of a page keeps the count (kubectl get --chunk-size).
    let table = request(
        &client,
        http::Request::get(format!("{base}?limit=3"))
            .header("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io"),
        Vec::new(),
    )
    .await
    .expect("table");
    assert_eq!(table["metadata"]["remainingItemCount"], 2, "{table}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paged_lists_report_remaining_items_on_rocksdb() {
    remaining_item_count_on(Backend::Rocksdb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paged_lists_report_remaining_items_on_postgres() {
    remaining_item_count_on(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paged_lists_report_remaining_items_on_etcd() {
    remaining_item_count_on(Backend::Etcd).await;
}

const CRD: &str = r#"{
  "apiVersion": "apiextensions.k8s.io/v1",
  "kind": "CustomResourceDefinition",
  "metadata": {"name": "widgets.slash.example.com"},
  "spec": {
    "group": "slash.example.com",
    "scope": "Namespaced",
    "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
    "versions": [{"name": "v1", "served": true, "storage": true,
                  "schema": {"openAPIV3Schema": {"type": "object"}}}]
  }
}"#;

/// Discovery with a trailing slash answers as without, through the aggregator (its
/// `/apis/<group>/` handler), the core server and the apiextensions server: client-go keeps the
/// slash of a base path that ends with one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_paths_with_a_trailing_slash() {
    let apiary = Apiary::start();
    apiary.ok_stdin(&["create", "-f", "-"], CRD);
    apiary.ok(&[
        "wait",
        "--for=condition=Established",
        "crd/widgets.slash.example.com",
        "--timeout=60s",
    ]);
    let client = apiary.client().await;
    for path in [
        "/api",
        "/api/v1",
        "/apis",
        "/apis/apps",
        "/apis/apps/v1",
        "/apis/apiregistration.k8s.io",
        "/apis/apiregistration.k8s.io/v1",
        "/apis/apiextensions.k8s.io",
        "/apis/slash.example.com",
        "/apis/slash.example.com/v1",
    ] {
        let plain = get_json(&client, path).await.expect(path);
        let slashed = get_json(&client, &format!("{path}/"))
            .await
            .unwrap_or_else(|err| panic!("{path}/: {err:?}"));
        assert_eq!(slashed, plain, "{path}/");
    }
    for path in ["/apis/nope.example.com/", "/apis/apps/v9/"] {
        let err = get_json(&client, path).await.expect_err(path);
        assert_eq!(err.0, 404, "{path}");
    }
}

/// `getWatchTimeout` (`handlers/watch.go`): a negative `timeoutSeconds` is kept, so the watch's
/// timer fires at once and the stream ends (200, no events); `0` is as unset, the server's random
/// 30-60 minute timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_timeouts_negative_and_zero() {
    let apiary = Apiary::start();
    apiary.ok(&["create", "configmap", "watched", "--from-literal=k=v"]);
    let client = apiary.client().await;
    let watch = |query: &str| {
        let request = http::Request::get(format!(
            "/api/v1/namespaces/default/configmaps?watch=1&{query}"
        ))
        .body(Vec::new())
        .expect("request");
        let client = client.clone();
        async move { client.request_text(request).await }
    };
    let ended = tokio::time::timeout(Duration::from_secs(10), watch("timeoutSeconds=-1"))
        .await
        .expect("a watch with a negative timeout ends at once")
        .expect("200");
    assert_eq!(ended, "", "no events before the timer fired");
    // Errors of the watch itself still show.
    let err = tokio::time::timeout(
        Duration::from_secs(10),
        watch("timeoutSeconds=-1&resourceVersionMatch=Exact"),
    )
    .await
    .expect("answered");
    assert!(
        matches!(&err, Err(kube::Error::Api(s)) if s.code == 422 && s.reason == "Invalid"),
        "{err:?}"
    );
    for query in ["timeoutSeconds=0", "resourceVersion=0"] {
        let open = tokio::time::timeout(Duration::from_secs(3), watch(query)).await;
        assert!(open.is_err(), "{query}: the watch stays open: {open:?}");
    }
    let short = tokio::time::timeout(Duration::from_secs(10), watch("timeoutSeconds=1"))
        .await
        .expect("ends after a second")
        .expect("200");
    assert!(short.contains("\"ADDED\""), "{short}");
}

const SSAR: &str = r#"{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectAccessReview",
  "spec":{"resourceAttributes":{"verb":"get","resource":"pods"}}}"#;
const TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io";

/// Upstream gives a Table convertor only to resources that list (and their status); the create
/// of a review has none, so `AllowsMediaTypeTransform` refuses a Table: 406, or the next clause.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tables_of_resources_without_a_convertor_are_not_acceptable() {
    let apiary = Apiary::start();
    let client = apiary.client().await;
    let post = |path: &'static str, accept: String, body: &'static str| {
        let client = client.clone();
        async move {
            request(
                &client,
                http::Request::post(path)
                    .header("Accept", accept)
                    .header("Content-Type", "application/json"),
                body.as_bytes().to_vec(),
            )
            .await
        }
    };
    let reviews = [
        (
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            SSAR,
        ),
        (
            "/apis/authentication.k8s.io/v1/tokenreviews",
            r#"{"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","spec":{"token":"x"}}"#,
        ),
        (
            "/apis/authorization.k8s.io/v1/subjectaccessreviews",
            r#"{"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview",
                "spec":{"user":"u","resourceAttributes":{"verb":"get","resource":"pods"}}}"#,
        ),
    ];
    for (path, body) in reviews {
        let err = post(path, TABLE.into(), body).await.expect_err(path);
        assert_eq!(
            err,
            (
                406,
                "NotAcceptable".into(),
                // Built-in kinds have upstream's protobuf serializer too.
                "only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf"
                    .into()
            ),
            "{path}"
        );
        let fallback = post(path, format!("{TABLE}, application/json"), body)
            .await
            .expect(path);
        assert_ne!(fallback["kind"], "Table", "{path}: {fallback}");
        assert!(fallback["status"].is_object(), "{path}: {fallback}");
    }
    // Resources that list still answer Tables, for their objects and their status.
    apiary.ok(&["create", "configmap", "tabled", "--from-literal=k=v"]);
    let table = request(
        &client,
        http::Request::get("/api/v1/namespaces/default/configmaps/tabled").header("Accept", TABLE),
        Vec::new(),
    )
    .await
    .expect("table");
    assert_eq!(table["kind"], "Table");
    apiary.ok(&["create", "deployment", "web", "--image=nginx"]);
    let table = request(
        &client,
        http::Request::get("/apis/apps/v1/namespaces/default/deployments/web/status")
            .header("Accept", TABLE),
        Vec::new(),
    )
    .await
    .expect("status table");
    assert_eq!(table["kind"], "Table");
}

/// `pkg/registry/core/event/strategy.go` `ToSelectableFields`: `source` is `source.component`,
/// else the reporting controller; so events written through `events.k8s.io/v1` (no
/// `deprecatedSource`) are found by their controller, through either API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_source_selects_the_reporting_controller() {
    let apiary = Apiary::start();
    apiary.ok_stdin(
        &["create", "-f", "-"],
        r#"{"apiVersion":"events.k8s.io/v1","kind":"Event",
            "metadata":{"name":"new-style","namespace":"default"},
            "eventTime":"2025-01-01T00:00:00.000000Z","reportingController":"example.com/ctrl",
            "reportingInstance":"ctrl-1","action":"Sync","reason":"Synced","type":"Normal",
            "regarding":{"kind":"ConfigMap","namespace":"default","name":"cm","apiVersion":"v1"},
            "note":"synced"}"#,
    );
    apiary.ok_stdin(
        &["create", "-f", "-"],
        r#"{"apiVersion":"v1","kind":"Event",
            "metadata":{"name":"old-style","namespace":"default"},
            "involvedObject":{"kind":"Pod","namespace":"default","name":"p"},
            "source":{"component":"kubelet"},"reportingComponent":"other",
            "reason":"Started","type":"Warning","message":"started","count":1,
            "firstTimestamp":"2025-01-01T00:00:00Z","lastTimestamp":"2025-01-01T00:00:00Z"}"#,
    );
    let client = apiary.client().await;
    let names = |api: &'static str, selector: &'static str| {
        let client = client.clone();
        async move {
            let path = format!("{api}/namespaces/default/events?fieldSelector={selector}");
            let list = get_json(&client, &path).await.expect(selector);
            let mut names: Vec<String> = list["items"]
                .as_array()
                .expect("items")
                .iter()
                .filter_map(|e| e["metadata"]["name"].as_str().map(str::to_string))
                .collect();
            names.sort();
            names
        }
    };
    const CORE: &str = "/api/v1";
    const EVENTS: &str = "/apis/events.k8s.io/v1";
    let cases: &[(&str, &str, &[&str])] = &[
        (CORE, "source%3Dexample.com%2Fctrl", &["new-style"]),
        (CORE, "source%3Dkubelet", &["old-style"]),
        // The reporting component of an event with a source is not its `source`.
        (CORE, "source%3Dother", &[]),
        (
            CORE,
            "reportingComponent%3Dexample.com%2Fctrl",
            &["new-style"],
        ),
        (CORE, "reportingComponent%3Dother", &["old-style"]),
        (CORE, "involvedObject.kind%3DConfigMap", &["new-style"]),
        (
            CORE,
            "involvedObject.name%3Dp,type%3DWarning",
            &["old-style"],
        ),
        (CORE, "reason%3DSynced", &["new-style"]),
        (EVENTS, "source%3Dexample.com%2Fctrl", &["new-style"]),
        (EVENTS, "source%3Dkubelet", &["old-style"]),
        (EVENTS, "reportingController%3Dother", &["old-style"]),
        (EVENTS, "regarding.kind%3DPod", &["old-style"]),
    ];
    for &(api, selector, want) in cases {
        assert_eq!(names(api, selector).await, want, "{api} {selector}");
    }
}
