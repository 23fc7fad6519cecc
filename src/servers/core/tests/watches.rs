//! Watch streams: one newline-terminated JSON event per body frame.

use std::time::Duration;

use axum::body::Body;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

use super::*;

/// Starts a watch and returns its streaming body.
pub(super) async fn start_watch(
    api: &Api,
    uri: &str,
    accept: Option<&str>,
) -> (http::response::Parts, Body) {
    let mut request = Request::builder().uri(uri);
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    let response = api
        .router()
        .oneshot(request.body(Body::empty()).expect("request"))
        .await
        .expect("infallible");
    response.into_parts()
}

/// The next event of a watch body, as JSON; `None` when the stream ended.
pub(super) async fn next_event(body: &mut Body) -> Option<Value> {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), body.frame())
            .await
            .expect("an event in time")?;
        let frame = frame.expect("frame");
        if let Ok(data) = frame.into_data() {
            assert!(
                data.ends_with(b"\n"),
                "each frame is one newline-terminated event"
            );
            assert_eq!(
                data.iter().filter(|b| **b == b'\n').count(),
                1,
                "one event per frame"
            );
            return Some(serde_json::from_slice(&data).expect("event JSON"));
        }
    }
}

#[tokio::test]
async fn watch_streams_events() {
    let api = Api::new().await;
    let (parts, mut body) = start_watch(&api, &format!("{CM}?watch=true"), None).await;
    assert_eq!(parts.status, StatusCode::OK);
    assert_eq!(
        parts.headers.get("content-type").unwrap(),
        "application/json"
    );

    assert_eq!(
        api.post(CM, &configmap("a", json!({"k": "1"})))
            .await
            .status,
        StatusCode::CREATED
    );
    let added = next_event(&mut body).await.expect("ADDED");
    assert_eq!(added["type"], "ADDED");
    assert_eq!(added["object"]["kind"], "ConfigMap");
    assert_eq!(added["object"]["apiVersion"], "v1");
    assert_eq!(added["object"]["metadata"]["name"], "a");

    assert_eq!(
        api.patch(
            &format!("{CM}/a"),
            "application/merge-patch+json",
            &json!({"data": {"k": "2"}})
        )
        .await
        .status,
        StatusCode::OK
    );
    let modified = next_event(&mut body).await.expect("MODIFIED");
    assert_eq!(modified["type"], "MODIFIED");
    assert_eq!(modified["object"]["data"]["k"], "2");

    assert_eq!(api.delete(&format!("{CM}/a")).await.status, StatusCode::OK);
    assert_eq!(
        next_event(&mut body).await.expect("DELETED")["type"],
        "DELETED"
    );
}

#[tokio::test]
async fn legacy_watch_path_of_one_object_with_timeout() {
    let api = Api::new().await;
    assert_eq!(
        api.post(CM, &configmap("other", json!({}))).await.status,
        StatusCode::CREATED
    );
    let (parts, mut body) = start_watch(
        &api,
        "/api/v1/watch/namespaces/default/configmaps/mine?timeoutSeconds=2",
        None,
    )
    .await;
    assert_eq!(parts.status, StatusCode::OK);
    assert_eq!(
        api.post(CM, &configmap("skipped", json!({}))).await.status,
        StatusCode::CREATED
    );
    assert_eq!(
        api.post(CM, &configmap("mine", json!({}))).await.status,
        StatusCode::CREATED
    );
    let event = next_event(&mut body).await.expect("the watched object");
    assert_eq!(event["object"]["metadata"]["name"], "mine");
    assert_eq!(
        next_event(&mut body).await,
        None,
        "the stream ends at timeoutSeconds"
    );
}

/// Upstream's watch timer for a negative `timeoutSeconds` has already fired: a 200 whose
/// stream ends at once, even with initial events to send (not a 400, not an open stream).
#[tokio::test]
async fn negative_timeout_ends_the_watch_at_once() {
    let api = Api::new().await;
    assert_eq!(
        api.post(CM, &configmap("present", json!({}))).await.status,
        StatusCode::CREATED
    );
    let started = std::time::Instant::now();
    let (parts, mut body) = start_watch(
        &api,
        &format!("{CM}?watch=true&resourceVersion=0&timeoutSeconds=-5"),
        None,
    )
    .await;
    assert_eq!(parts.status, StatusCode::OK);
    assert_eq!(next_event(&mut body).await, None, "no event, stream ended");
    assert!(started.elapsed() < Duration::from_secs(5), "ended at once");
}

#[tokio::test]
async fn table_watch_sends_columns_once() {
    let api = Api::new().await;
    let accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";
    let (parts, mut body) = start_watch(&api, &format!("{CM}?watch=1"), Some(accept)).await;
    assert_eq!(parts.status, StatusCode::OK);
    for name in ["a", "b"] {
        assert_eq!(
            api.post(CM, &configmap(name, json!({}))).await.status,
            StatusCode::CREATED
        );
    }
    let first = next_event(&mut body).await.expect("first");
    assert_eq!(first["object"]["kind"], "Table");
    assert!(first["object"]["columnDefinitions"].is_array());
    assert_eq!(first["object"]["rows"][0]["cells"][0], "a");
    let second = next_event(&mut body).await.expect("second");
    assert!(second["object"]["columnDefinitions"].is_null());
    assert_eq!(second["object"]["rows"][0]["cells"][0], "b");
}

#[tokio::test]
async fn yaml_only_watch_is_406() {
    let api = Api::new().await;
    let answer = api
        .send(
            http::Method::GET,
            &format!("{CM}?watch=true"),
            &[("accept", "application/yaml")],
            "",
        )
        .await;
    assert_status(
        &answer,
        406,
        "NotAcceptable",
        // Upstream's `NegotiateOutputMediaTypeStream`: the stream types of the serializers.
        "only the following media types are accepted: application/json;stream=watch, application/vnd.kubernetes.protobuf;stream=watch",
    );
}

/// The next event of a protobuf watch: a 4-byte big-endian length, then a raw `WatchEvent`.
async fn next_protobuf_event(
    body: &mut Body,
    pending: &mut Vec<u8>,
) -> Option<k8s_rs_pb::apimachinery::pkg::apis::meta::v1::WatchEvent> {
    use ::protobuf::Message;
    loop {
        if pending.len() >= 4 {
            let len = u32::from_be_bytes([pending[0], pending[1], pending[2], pending[3]]) as usize;
            if pending.len() >= 4 + len {
                let event =
                    k8s_rs_pb::apimachinery::pkg::apis::meta::v1::WatchEvent::parse_from_bytes(
                        &pending[4..4 + len],
                    )
                    .expect("a raw WatchEvent");
                pending.drain(..4 + len);
                return Some(event);
            }
        }
        let frame = tokio::time::timeout(Duration::from_secs(10), body.frame())
            .await
            .expect("an event in time")?;
        if let Ok(data) = frame.expect("frame").into_data() {
            pending.extend_from_slice(&data);
        }
    }
}

#[tokio::test]
async fn protobuf_watch_streams_length_prefixed_events() {
    let api = Api::new().await;
    let (parts, mut body) = start_watch(
        &api,
        &format!("{CM}?watch=true"),
        Some("application/vnd.kubernetes.protobuf;stream=watch"),
    )
    .await;
    assert_eq!(parts.status, StatusCode::OK);
    assert_eq!(
        parts.headers.get("content-type").unwrap(),
        "application/vnd.kubernetes.protobuf;stream=watch"
    );
    assert_eq!(
        api.post(CM, &configmap("a", json!({"k": "1"})))
            .await
            .status,
        StatusCode::CREATED
    );
    let mut pending = Vec::new();
    let added = next_protobuf_event(&mut body, &mut pending)
        .await
        .expect("ADDED");
    assert_eq!(added.type_.as_deref(), Some("ADDED"));
    // The object is a whole protobuf body (`k8s\0` + Unknown), as upstream's embedded encoder.
    let raw = added.object.raw.clone().unwrap_or_default();
    let object = crate::catalog::protobuf::decode_object(&raw).expect("an enveloped object");
    assert_eq!(object["kind"], "ConfigMap");
    assert_eq!(object["metadata"]["name"], "a");
    assert_eq!(object["data"]["k"], "1");

    assert_eq!(api.delete(&format!("{CM}/a")).await.status, StatusCode::OK);
    let deleted = next_protobuf_event(&mut body, &mut pending)
        .await
        .expect("DELETED");
    assert_eq!(deleted.type_.as_deref(), Some("DELETED"));

    // client-go's default Accept gets protobuf too; JSON stays the default.
    let (parts, _body) = start_watch(
        &api,
        &format!("{CM}?watch=true"),
        Some("application/vnd.kubernetes.protobuf,application/json"),
    )
    .await;
    assert_eq!(
        parts.headers.get("content-type").unwrap(),
        "application/vnd.kubernetes.protobuf;stream=watch"
    );
}
