//! Golden tests: bodies written from cached bytes equal the Value path's bytes.

use std::sync::Arc;

use serde_json::{json, Value};

use super::*;
use crate::catalog::{builtin, Codec, CustomVersion};
use crate::registry::store::{WatchEvent, WatchEventType};
use crate::registry::table::{IncludeObject, TableConvertor};

fn info(group: &str, version: &str, plural: &str) -> Arc<ResourceInfo> {
    builtin()
        .lookup(group, version, plural)
        .cloned()
        .unwrap_or_else(|| panic!("no {plural}"))
}

/// A custom resource `stable.example.com/v1` CronTab (names borrowed from deployments).
fn crontabs() -> Arc<ResourceInfo> {
    let mut info = (*info("apps", "v1", "deployments")).clone();
    info.group = "stable.example.com".into();
    info.version = "v1".into();
    info.kind = "CronTab".into();
    info.plural = "crontabs".into();
    info.singular = "crontab".into();
    info.subresources = Vec::new();
    info.custom = Some(CustomVersion {
        storage_version: "v1".into(),
        codec: Codec::identity(),
        schema: None,
    });
    Arc::new(info)
}

fn meta(name: &str, rv: u32) -> Value {
    json!({"name": name, "namespace": "ns", "uid": format!("uid-{name}"), "resourceVersion": rv.to_string(),
        "labels": {"b": "2", "a": "1"}, "creationTimestamp": "2026-01-02T03:04:05Z"})
}

/// Objects of each resource: with their type, one without it, one with an unknown field.
fn objects(info: &ResourceInfo) -> Vec<Value> {
    let typed = |mut object: Value| {
        object["kind"] = Value::from(info.kind.as_str());
        object["apiVersion"] = Value::from(info.api_version());
        object
    };
    let mut objects = match info.kind.as_str() {
        "ConfigMap" => vec![
            json!({"metadata": meta("a", 5), "data": {"z": "1", "k": "v\"q"}}),
            json!({"metadata": meta("b", 6), "immutable": true, "binaryData": {"x": "AAE="}}),
        ],
        "Secret" => {
            vec![json!({"metadata": meta("s", 7), "type": "Opaque", "data": {"p": "cGFzcw=="}})]
        }
        "Service" => vec![json!({"metadata": meta("svc", 8), "spec": {
            "ports": [{"port": 80, "targetPort": "http", "protocol": "TCP"}, {"port": 443, "targetPort": 8443}],
            "selector": {"app": "web"}, "type": "ClusterIP"}})],
        "Deployment" => vec![json!({"metadata": meta("d", 9), "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{
                "name": "c", "image": "nginx", "resources": {"limits": {"cpu": "100m", "memory": "64Mi"}}}]}}},
            "status": {"replicas": 3, "readyReplicas": 2}})],
        _ => vec![
            json!({"metadata": meta("ct", 10), "spec": {"cronSpec": "* * * * *", "image": "x"}}),
        ],
    };
    objects = objects.into_iter().map(&typed).collect();
    // Without kind/apiVersion: written through the Value path.
    objects.push(json!({"metadata": meta("untyped", 11)}));
    if info.is_custom() {
        objects.push(typed(
            json!({"metadata": meta("odd", 12), "zzz": 1, "aaa": [1, 2]}),
        ));
    } else {
        // A field the type does not know comes after the known ones, sorted.
        objects.push(typed(
            json!({"metadata": meta("odd", 12), "zzz": 1, "aaa": "x"}),
        ));
    }
    objects
}

fn page(items: &[Value], continue_token: Option<&str>, remaining: Option<i64>) -> ListPage {
    ListPage {
        items: items
            .iter()
            .map(|item| Arc::new(WatchObject::new(item.clone())))
            .collect(),
        resource_version: "42".into(),
        continue_token: continue_token.map(str::to_string),
        remaining_item_count: remaining,
    }
}

fn output(encoding: Encoding) -> Output {
    Output {
        encoding,
        ..Output::default()
    }
}

/// The Value path's body of a list.
fn value_list(info: &ResourceInfo, encoding: Encoding, page: ListPage) -> Bytes {
    let body = negotiation::render_list(
        info,
        &TableConvertor::default(),
        &output(encoding),
        IncludeObject::default(),
        page.into_list(),
    )
    .expect("a plain list renders");
    negotiation::encode(&body, encoding, false).expect("the list encodes")
}

fn drain(mut chunks: Chunks) -> (Vec<u8>, usize) {
    let mut all = Vec::new();
    let mut count = 0;
    while let Some(chunk) = chunks.next_chunk() {
        all.extend_from_slice(&chunk);
        count += 1;
    }
    (all, count)
}

fn resources() -> Vec<Arc<ResourceInfo>> {
    vec![
        info("", "v1", "configmaps"),
        info("", "v1", "secrets"),
        info("", "v1", "services"),
        info("apps", "v1", "deployments"),
        crontabs(),
    ]
}

fn pages(info: &ResourceInfo) -> Vec<ListPage> {
    let items = objects(info);
    vec![
        page(&items, None, None),
        page(&items, Some("eyJydiI6NDJ9"), Some(17)),
        page(&items[..1], Some("next"), None),
        page(&[], None, None),
    ]
}

#[tokio::test]
async fn json_lists_equal_the_value_path() {
    for info in resources() {
        for list in pages(&info) {
            let want = value_list(&info, Encoding::Json, list.clone());
            let response = respond_list(&info, &output(Encoding::Json), list)
                .await
                .unwrap_or_else(|_| panic!("{}: compact JSON is spliced", info.kind));
            let got = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .expect("the body");
            assert_eq!(
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(&want),
                "{}",
                info.kind
            );
        }
    }
}

#[tokio::test]
async fn protobuf_lists_equal_the_value_path() {
    for info in resources().into_iter().filter(|info| !info.is_custom()) {
        for list in pages(&info) {
            // The untyped item is encoded as the list's kind, as the Value path encodes it.
            let want = value_list(&info, Encoding::Protobuf, list.clone());
            let response = respond_list(&info, &output(Encoding::Protobuf), list)
                .await
                .unwrap_or_else(|_| panic!("{}: protobuf is spliced", info.kind));
            let got = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .expect("the body");
            assert_eq!(got, want, "{}", info.kind);
        }
    }
    // Custom resources have no protobuf form: the Value path answers (its 406/500 rules).
    let custom = crontabs();
    let list = pages(&custom).remove(0);
    assert!(respond_list(&custom, &output(Encoding::Protobuf), list)
        .await
        .is_err());
}

#[tokio::test]
async fn other_forms_keep_the_value_path() {
    let info = info("", "v1", "configmaps");
    let forms = [
        Output {
            pretty: true,
            ..Output::default()
        },
        output(Encoding::Yaml),
        Output {
            transform: Transform::Table { version: "v1" },
            ..Output::default()
        },
        Output {
            transform: Transform::PartialObjectMetadataList { version: "v1" },
            ..Output::default()
        },
    ];
    for form in forms {
        let list = pages(&info).remove(0);
        assert!(respond_list(&info, &form, list).await.is_err(), "{form:?}");
    }
}

#[tokio::test]
async fn big_lists_stream_in_chunks_with_the_same_bytes() {
    for info in [info("", "v1", "configmaps"), crontabs()] {
        let items: Vec<Value> = (0..3000u32)
            .map(|i| {
                let mut item = objects(&info).remove(0);
                item["metadata"] = meta(&format!("item-{i:05}"), i + 1);
                item
            })
            .collect();
        let list = page(&items, Some("more"), Some(5));
        let want = value_list(&info, Encoding::Json, list.clone());
        let Ok(chunks) = json_list(&info, list.clone()) else {
            panic!("compact JSON is spliced");
        };
        let (got, count) = drain(chunks);
        assert!(count > 2, "{} chunks of {} bytes", count, got.len());
        assert_eq!(got, want.to_vec(), "{}", info.kind);
        // Through the response body, as a stream.
        let response = respond_list(&info, &output(Encoding::Json), list)
            .await
            .unwrap_or_else(|_| panic!("spliced"));
        assert!(response.headers().get(header::CONTENT_LENGTH).is_none());
        let got = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("the body");
        assert_eq!(got, want);
    }
    let info = info("", "v1", "configmaps");
    let items: Vec<Value> = (0..3000u32)
        .map(|i| {
            let mut item = objects(&info).remove(0);
            item["metadata"] = meta(&format!("item-{i:05}"), i + 1);
            item
        })
        .collect();
    let list = page(&items, None, None);
    let want = value_list(&info, Encoding::Protobuf, list.clone());
    let Ok(chunks) = protobuf_list(&info, list).await else {
        panic!("protobuf is spliced");
    };
    let (got, count) = drain(chunks);
    assert!(count > 2, "{count} chunks");
    assert_eq!(got, want.to_vec());
}

#[test]
fn objects_equal_the_value_path() {
    for info in resources() {
        for object in objects(&info) {
            let shared = WatchObject::new(object.clone());
            for encoding in [Encoding::Json, Encoding::Protobuf] {
                let form = output(encoding);
                let got = object_body(&info, &form, &shared);
                if encoding == Encoding::Protobuf && info.is_custom() {
                    assert_eq!(got, None);
                    continue;
                }
                let body = negotiation::render_object(
                    &info,
                    &TableConvertor::default(),
                    &form,
                    IncludeObject::default(),
                    object.clone(),
                )
                .expect("renders");
                let want = negotiation::encode(&body, encoding, false).expect("encodes");
                match got {
                    Some(got) => assert_eq!(got, want, "{} {object}", info.kind),
                    // Only an object without its type leaves JSON to the Value path.
                    None => assert!(
                        encoding == Encoding::Json && object.get("kind").is_none(),
                        "{} {object}",
                        info.kind
                    ),
                }
            }
        }
    }
}

#[test]
fn watch_frames_are_built_once_and_equal_the_value_path() {
    let info = info("", "v1", "configmaps");
    let object = Arc::new(WatchObject::new(objects(&info).remove(0)));
    let frames = Arc::new(crate::registry::store::EventFrames::default());
    let a = WatchEvent::with_frames(WatchEventType::Modified, object.clone(), frames.clone());
    let b = WatchEvent::with_frames(WatchEventType::Modified, object.clone(), frames);
    let api_version = info.api_version();

    let json = a.json_frame();
    assert_eq!(json.as_ptr(), b.json_frame().as_ptr(), "one JSON frame");
    let mut want = crate::registry::store::event_json(
        WatchEventType::Modified,
        &serde_json::to_vec(&crate::catalog::key_order::ordered(object.value())).unwrap(),
    );
    want.push(b'\n');
    assert_eq!(json.to_vec(), want);

    let pb = a
        .protobuf_frame(&api_version, "ConfigMap")
        .expect("a frame");
    let again = b
        .protobuf_frame(&api_version, "ConfigMap")
        .expect("a frame");
    assert_eq!(pb.as_ptr(), again.as_ptr(), "one protobuf frame");
    let body = protobuf::encode_body(&negotiation::with_type_meta(&info, object.value().clone()))
        .expect("encodes");
    assert_eq!(pb, protobuf::watch_frame("MODIFIED", &body));

    // An event of its own (a selector transition) builds its frame alone, with the same bytes.
    let own = WatchEvent::of(WatchEventType::Modified, object);
    assert_eq!(own.json_frame(), json);
    assert_ne!(own.json_frame().as_ptr(), json.as_ptr());
}

#[test]
fn typed_and_custom_items_take_their_cached_bytes() {
    // Built-in lists are written in Go's order and custom ones sorted, as their items' cached
    // JSON is; otherwise every item would take the (correct but slow) Value path.
    for info in resources() {
        let writer = JsonItems::new(&info).expect("a writer");
        assert!(writer.splice, "{}", info.kind);
        let object = WatchObject::new(objects(&info).remove(0));
        if writer.typed {
            assert!(
                object.json().starts_with(&writer.type_prefix),
                "{}: {}",
                info.kind,
                String::from_utf8_lossy(object.json())
            );
        }
    }
}

#[test]
fn list_item_lengths_match_what_is_written() {
    for len in [0, 1, 127, 128, 16_383, 16_384, 70_000] {
        let message = vec![7u8; len];
        let mut out = Vec::new();
        protobuf::put_list_item(&mut out, &message);
        assert_eq!(out.len(), protobuf::list_item_len(len), "{len}");
    }
}

/// The CRDs of `tests/fixtures/` (deep schemas, `x-kubernetes-*` keys), as stored objects.
fn fixture_crds() -> Vec<Value> {
    let texts = [
        include_str!("../../../tests/fixtures/crontabs.crd.yaml"),
        include_str!("../../../tests/fixtures/prometheusrules.crd.yaml"),
        include_str!("../../../tests/fixtures/routes.crd.yaml"),
    ];
    texts
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let mut crd: Value = serde_yaml::from_str(text).expect("a fixture parses");
            crd["metadata"]["resourceVersion"] = Value::from((i + 1).to_string());
            crd["metadata"]["uid"] = Value::from(format!("uid-{i}"));
            crd
        })
        .collect()
}

#[tokio::test]
async fn fixture_crds_equal_the_value_path() {
    let info = Arc::new(crate::apiextensions::crd_store::crd_resource());
    let crds = fixture_crds();
    for list in [
        page(&crds, None, None),
        page(&crds[1..], Some("token"), Some(1)),
    ] {
        let want = value_list(&info, Encoding::Json, list.clone());
        let Ok(chunks) = json_list(&info, list.clone()) else {
            panic!("compact JSON is spliced");
        };
        assert_eq!(
            String::from_utf8_lossy(&drain(chunks).0),
            String::from_utf8_lossy(&want)
        );

        // Protobuf: the same bytes, or the Value path's answer where it cannot encode them.
        let body = negotiation::render_list(
            &info,
            &TableConvertor::default(),
            &output(Encoding::Protobuf),
            IncludeObject::default(),
            list.clone().into_list(),
        )
        .expect("a plain list renders");
        match (
            negotiation::encode(&body, Encoding::Protobuf, false),
            protobuf_list(&info, list).await,
        ) {
            (Ok(want), Ok(chunks)) => assert_eq!(drain(chunks).0, want.to_vec()),
            (Err(_), Err(_)) => {}
            (want, got) => panic!(
                "the Value path {} but splicing {}",
                if want.is_ok() { "encodes" } else { "fails" },
                if got.is_ok() { "encodes" } else { "fails" }
            ),
        }
    }
    for crd in crds {
        let shared = WatchObject::new(crd.clone());
        let form = output(Encoding::Json);
        let body = negotiation::render_object(
            &info,
            &TableConvertor::default(),
            &form,
            IncludeObject::default(),
            crd,
        )
        .expect("renders");
        let want = negotiation::encode(&body, Encoding::Json, false).expect("encodes");
        assert_eq!(object_body(&info, &form, &shared), Some(want));
    }
}
