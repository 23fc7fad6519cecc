//! The order of JSON object keys in response bodies (issue 17): kube-apiserver writes built-in
//! types in Go struct field order (TypeMeta first, then `metadata` in ObjectMeta's order, then the
//! type's own fields), maps sorted by key, and custom resources (Go maps) sorted. Clients compare
//! raw bodies: the Python client's own tests expect the 409 Status byte for byte.

use http_body_util::BodyExt;

use crate::common::Apiary;

/// Asserts that each fragment occurs in `body`, in this order.
fn assert_in_order(body: &str, fragments: &[&str]) {
    let mut from = 0;
    for fragment in fragments {
        match body[from..].find(fragment) {
            Some(at) => from += at + fragment.len(),
            None => panic!("{fragment:?} not found in order in {body}"),
        }
    }
}

/// Sends a raw request and returns the status code and body.
async fn send(
    client: &kube::Client,
    method: &str,
    path: &str,
    accept: &str,
    body: &str,
) -> (u16, String) {
    let request = http::Request::builder()
        .method(method)
        .uri(path)
        .header("accept", accept)
        .header("content-type", "application/json")
        .body(body.as_bytes().to_vec().into())
        .expect("request");
    let response = client.send(request).await.expect("answer");
    let status = response.status().as_u16();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, String::from_utf8(bytes.to_vec()).expect("utf-8"))
}

const CONFIG_MAP: &str = r#"{"apiVersion":"v1","data":{"b":"2","a":"1"},"kind":"ConfigMap",
    "metadata":{"labels":{"z":"1","app":"order"},"name":"cfg","namespace":"default"}}"#;

#[tokio::test]
async fn built_in_objects_lists_and_watch_events_come_in_go_field_order() {
    let apiary = Apiary::start();
    apiary.ok_stdin(&["create", "-f", "-"], CONFIG_MAP);

    let object = apiary.ok(&["get", "--raw", "/api/v1/namespaces/default/configmaps/cfg"]);
    assert_in_order(
        &object,
        &[
            r#"{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"cfg","namespace":"default","uid":"#,
            r#","resourceVersion":"#,
            r#","creationTimestamp":"#,
            r#","labels":{"app":"order","z":"1"},"managedFields":[{"manager":"#,
            r#","operation":"Update","apiVersion":"v1","time":"#,
            r#","fieldsType":"FieldsV1","fieldsV1":{"#,
            r#"}]},"data":{"a":"1","b":"2"}}"#,
        ],
    );

    let list = apiary.ok(&[
        "get",
        "--raw",
        "/api/v1/namespaces/default/configmaps?labelSelector=app%3Dorder",
    ]);
    assert_in_order(
        &list,
        &[
            r#"{"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":"#,
            r#"},"items":[{"metadata":{"name":"cfg","namespace":"default","uid":"#,
            r#"}]},"data":{"a":"1","b":"2"}}]}"#,
        ],
    );

    let watch = apiary.ok(&[
        "get",
        "--raw",
        "/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=1&labelSelector=app%3Dorder",
    ]);
    assert_in_order(
        &watch,
        &[
            r#"{"type":"ADDED","object":{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"cfg","namespace":"default","uid":"#,
            r#"},"data":{"a":"1","b":"2"}}}"#,
        ],
    );

    let pod = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"default"},
        "spec":{"containers":[{"image":"nginx","name":"c","env":[{"value":"1","name":"A"}]}]}}"#;
    apiary.ok_stdin(&["create", "-f", "-"], pod);
    let pod = apiary.ok(&["get", "--raw", "/api/v1/namespaces/default/pods/p"]);
    assert_in_order(
        &pod,
        &[
            r#"{"kind":"Pod","apiVersion":"v1","metadata":{"name":"p","namespace":"default","uid":"#,
            r#"},"spec":{"#,
            r#""containers":[{"name":"c","image":"nginx","env":[{"name":"A","value":"1"}],"resources":{},"#,
            r#""terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File","imagePullPolicy":"Always"}],"restartPolicy":"Always","#,
            r#"},"status":{"#,
            r#""phase":"Pending""#,
        ],
    );
}

#[tokio::test]
async fn status_bodies_come_in_go_field_order() {
    let apiary = Apiary::start();
    apiary.ok_stdin(&["create", "-f", "-"], CONFIG_MAP);
    let client = apiary.client().await;

    // The Python client's test of a create conflict compares this body as it is.
    let (code, body) = send(
        &client,
        "POST",
        "/api/v1/namespaces/default/configmaps",
        "application/json",
        CONFIG_MAP,
    )
    .await;
    assert_eq!(code, 409);
    assert_eq!(
        body.trim_end(),
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"configmaps \"cfg\" already exists","reason":"AlreadyExists","details":{"name":"cfg","kind":"configmaps"},"code":409}"#
    );

    let (code, body) = send(
        &client,
        "GET",
        "/api/v1/namespaces/default/configmaps/missing",
        "application/json",
        "",
    )
    .await;
    assert_eq!(code, 404);
    assert_eq!(
        body.trim_end(),
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"configmaps \"missing\" not found","reason":"NotFound","details":{"name":"missing","kind":"configmaps"},"code":404}"#
    );
}

/// Tables (which have no protobuf form) come in Go's order too.
#[tokio::test]
async fn table_bodies_come_in_go_field_order() {
    let apiary = Apiary::start();
    apiary.ok_stdin(&["create", "-f", "-"], CONFIG_MAP);
    let client = apiary.client().await;
    let (code, body) = send(
        &client,
        "GET",
        "/api/v1/namespaces/default/configmaps?labelSelector=app%3Dorder",
        "application/json;as=Table;v=v1;g=meta.k8s.io",
        "",
    )
    .await;
    assert_eq!(code, 200, "{body}");
    assert_in_order(
        &body,
        &[
            r#"{"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":{"resourceVersion":"#,
            r#"},"columnDefinitions":[{"name":"Name","type":"string","format":"name","description":"#,
            r#""rows":[{"cells":["cfg","#,
            r#"],"object":{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{"name":"cfg","namespace":"default","uid":"#,
        ],
    );
}
