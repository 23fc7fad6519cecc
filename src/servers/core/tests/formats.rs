//! YAML in and out, Tables, PartialObjectMetadata, pretty printing.

use http::{Method, StatusCode};
use serde_json::{json, Value};

use super::*;

const TABLE_ACCEPT: &str =
    "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

#[tokio::test]
async fn yaml_in_and_out() {
    let api = Api::new().await;
    let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\ndata:\n  greeting: hello\n";
    let created = api
        .send(
            Method::POST,
            CM,
            &[
                ("content-type", "application/yaml"),
                ("accept", "application/yaml"),
            ],
            yaml,
        )
        .await;
    assert_eq!(
        created.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&created.body)
    );
    assert_eq!(created.header("content-type"), Some("application/yaml"));
    let parsed: Value = serde_yaml::from_slice(&created.body).expect("YAML body");
    assert_eq!(parsed["data"]["greeting"], "hello");
    assert_eq!(parsed["kind"], "ConfigMap");

    let missing = api
        .send(
            Method::GET,
            &format!("{CM}/nope"),
            &[("accept", "application/yaml")],
            "",
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.header("content-type"), Some("application/yaml"));
    let status: Value = serde_yaml::from_slice(&missing.body).expect("YAML status");
    assert_eq!(status["reason"], "NotFound");
}

#[tokio::test]
async fn tables_for_kubectl_get() {
    let api = Api::new().await;
    assert_eq!(
        api.post(DEPLOY, &deployment("web", 3)).await.status,
        StatusCode::CREATED
    );
    let answer = api
        .send(Method::GET, DEPLOY, &[("accept", TABLE_ACCEPT)], "")
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.header("content-type"), Some("application/json"));
    let table = answer.json();
    assert_eq!(table["kind"], "Table");
    assert_eq!(table["apiVersion"], "meta.k8s.io/v1");
    assert!(table["metadata"]["resourceVersion"].is_string());
    let columns: Vec<&str> = table["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(&columns[..2], ["Name", "Ready"]);
    assert_eq!(table["rows"][0]["cells"][0], "web");
    assert_eq!(table["rows"][0]["object"]["kind"], "PartialObjectMetadata");

    let with_object = api
        .send(
            Method::GET,
            &format!("{DEPLOY}/web?includeObject=Object"),
            &[("accept", TABLE_ACCEPT)],
            "",
        )
        .await;
    let table = with_object.json();
    assert_eq!(table["rows"].as_array().unwrap().len(), 1);
    assert_eq!(table["rows"][0]["object"]["kind"], "Deployment");

    let bad = api
        .send(
            Method::GET,
            &format!("{DEPLOY}?includeObject=All"),
            &[("accept", TABLE_ACCEPT)],
            "",
        )
        .await;
    assert_status(
        &bad,
        400,
        "BadRequest",
        "Unable to convert to Table as requested: includeObject: Invalid value: \"All\": must be 'Metadata', 'Object', 'None', or empty",
    );
}

#[tokio::test]
async fn partial_object_metadata() {
    let api = Api::new().await;
    assert_eq!(
        api.post(CM, &configmap("a", json!({"k": "v"})))
            .await
            .status,
        StatusCode::CREATED
    );
    let list_accept = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";
    let list = api
        .send(Method::GET, CM, &[("accept", list_accept)], "")
        .await
        .json();
    assert_eq!(list["kind"], "PartialObjectMetadataList");
    assert_eq!(list["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(list["items"][0]["kind"], "PartialObjectMetadata");
    assert_eq!(list["items"][0]["metadata"]["name"], "a");
    assert!(list["items"][0].get("data").is_none());

    let one = api
        .send(
            Method::GET,
            &format!("{CM}/a"),
            &[(
                "accept",
                "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1",
            )],
            "",
        )
        .await
        .json();
    assert_eq!(one["kind"], "PartialObjectMetadata");

    let wrong = api
        .send(
            Method::GET,
            &format!("{CM}/a"),
            &[("accept", list_accept)],
            "",
        )
        .await;
    assert_status(
        &wrong,
        406,
        "NotAcceptable",
        "you requested PartialObjectMetadataList, but the requested object is not a list (*core.ConfigMap)",
    );
}

#[tokio::test]
async fn pretty_printing() {
    let api = Api::new().await;
    assert_eq!(
        api.post(CM, &configmap("a", json!({}))).await.status,
        StatusCode::CREATED
    );
    let pretty = api.get(&format!("{CM}/a?pretty=true")).await;
    assert!(
        pretty.body.starts_with(b"{\n  \""),
        "{}",
        String::from_utf8_lossy(&pretty.body)
    );
    let curl = api
        .send(
            Method::GET,
            &format!("{CM}/a"),
            &[("user-agent", "curl/8.5.0")],
            "",
        )
        .await;
    assert!(curl.body.starts_with(b"{\n"));
}

#[tokio::test]
async fn protobuf_get_list_and_errors_for_built_in_kinds() {
    use ::protobuf::Message;
    use k8s_rs_pb::api::core::v1 as pb;
    use k8s_rs_pb::apimachinery::pkg::apis::meta::v1::Status;
    use k8s_rs_pb::apimachinery::pkg::runtime::Unknown;
    const PROTOBUF: &str = "application/vnd.kubernetes.protobuf";
    // client-go's default Accept.
    const CLIENT_GO: &str = "application/vnd.kubernetes.protobuf,application/json";
    fn envelope(body: &[u8]) -> Unknown {
        assert_eq!(&body[..4], b"k8s\0", "the protobuf magic");
        Unknown::parse_from_bytes(&body[4..]).expect("an Unknown envelope")
    }

    let api = Api::new().await;
    assert_eq!(
        api.post(CM, &configmap("a", json!({"k": "1"})))
            .await
            .status,
        StatusCode::CREATED
    );
    let one = api
        .send(
            Method::GET,
            &format!("{CM}/a"),
            &[("accept", CLIENT_GO)],
            "",
        )
        .await;
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(one.header("content-type"), Some(PROTOBUF));
    let unknown = envelope(&one.body);
    assert_eq!(unknown.typeMeta.apiVersion.as_deref(), Some("v1"));
    assert_eq!(unknown.typeMeta.kind.as_deref(), Some("ConfigMap"));
    let cm = pb::ConfigMap::parse_from_bytes(unknown.raw.as_deref().unwrap_or_default())
        .expect("a ConfigMap");
    assert_eq!(cm.metadata.name(), "a");
    assert_eq!(cm.data["k"], "1");
    assert!(cm.metadata.resourceVersion.is_some());
    assert!(cm.metadata.creationTimestamp.seconds.is_some());

    let list = api.send(Method::GET, CM, &[("accept", PROTOBUF)], "").await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.header("content-type"), Some(PROTOBUF));
    let unknown = envelope(&list.body);
    assert_eq!(unknown.typeMeta.kind.as_deref(), Some("ConfigMapList"));
    let items = pb::ConfigMapList::parse_from_bytes(unknown.raw.as_deref().unwrap_or_default())
        .expect("a ConfigMapList");
    assert!(items.metadata.resourceVersion.is_some());
    let names: Vec<&str> = items.items.iter().map(|i| i.metadata.name()).collect();
    assert_eq!(names, ["a"]);

    let missing = api
        .send(
            Method::GET,
            &format!("{CM}/nope"),
            &[("accept", CLIENT_GO)],
            "",
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.header("content-type"), Some(PROTOBUF));
    let unknown = envelope(&missing.body);
    assert_eq!(unknown.typeMeta.kind.as_deref(), Some("Status"));
    let status =
        Status::parse_from_bytes(unknown.raw.as_deref().unwrap_or_default()).expect("a Status");
    assert_eq!(status.code, Some(404));
    assert_eq!(status.reason.as_deref(), Some("NotFound"));

    // client-go's metadata informers: PartialObjectMetadataList in protobuf.
    let metadata = api
        .send(
            Method::GET,
            CM,
            &[(
                "accept",
                "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json",
            )],
            "",
        )
        .await;
    assert_eq!(metadata.status, StatusCode::OK);
    assert_eq!(metadata.header("content-type"), Some(PROTOBUF));
    let unknown = envelope(&metadata.body);
    assert_eq!(
        unknown.typeMeta.apiVersion.as_deref(),
        Some("meta.k8s.io/v1")
    );
    assert_eq!(
        unknown.typeMeta.kind.as_deref(),
        Some("PartialObjectMetadataList")
    );
    let partial =
        k8s_rs_pb::apimachinery::pkg::apis::meta::v1::PartialObjectMetadataList::parse_from_bytes(
            unknown.raw.as_deref().unwrap_or_default(),
        )
        .expect("a PartialObjectMetadataList");
    assert_eq!(partial.items[0].metadata.name(), "a");

    // Tables have no protobuf form: the next clause answers; JSON stays the default.
    let table = api
        .send(
            Method::GET,
            CM,
            &[(
                "accept",
                "application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io,application/json",
            )],
            "",
        )
        .await;
    assert_eq!(table.header("content-type"), Some("application/json"));
    assert_eq!(table.json()["kind"], "ConfigMapList");
    let plain = api.get(&format!("{CM}/a")).await;
    assert_eq!(plain.header("content-type"), Some("application/json"));
    assert_eq!(plain.json()["kind"], "ConfigMap");
}
