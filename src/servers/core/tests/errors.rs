//! Error Statuses of the REST layer, checked field by field.

use axum::body::Body;
use http::{Method, StatusCode};
use serde_json::json;

use super::*;

const NOT_FOUND: &str = "the server could not find the requested resource";

#[tokio::test]
async fn unknown_paths_are_404() {
    let api = Api::new().await;
    for path in [
        "/api/v1/namespaces/default/widgets",
        "/api/v1/namespaces/default/namespaces",
        "/apis/apps/v1/configmaps",
        "/api/v1/configmaps/a",
        "/api/v1/namespaces/default/pods/p/bogus",
        "/apis/example.com/v1/things",
        "/api/v1",
    ] {
        let answer = api.get(path).await;
        assert_status(&answer, 404, "NotFound", NOT_FOUND);
    }
}

#[tokio::test]
async fn unsupported_verbs_are_405() {
    let api = Api::new().await;
    let cases = [
        (
            Method::DELETE,
            "/api/v1/namespaces",
            "deletecollection is not supported on resources of kind \"namespaces\"",
        ),
        (
            Method::POST,
            "/api/v1/configmaps",
            "create is not supported on resources of kind \"configmaps\"",
        ),
        (
            Method::POST,
            "/api/v1/namespaces/default/configmaps/a",
            "create is not supported on resources of kind \"configmaps\"",
        ),
        (
            Method::PUT,
            CM,
            "update is not supported on resources of kind \"configmaps\"",
        ),
        (
            Method::PATCH,
            DEPLOY,
            "patch is not supported on resources of kind \"deployments.apps\"",
        ),
    ];
    for (method, path, message) in cases {
        let answer = api
            .send(
                method.clone(),
                path,
                &[("content-type", "application/json")],
                "{}",
            )
            .await;
        assert_status(&answer, 405, "MethodNotAllowed", message);
    }
}

#[tokio::test]
async fn subresources_not_served_say_so() {
    let api = Api::new().await;
    // The connect subresources are served: a missing pod is a plain 404.
    for sub in ["log", "exec"] {
        let answer = api
            .get(&format!("/api/v1/namespaces/default/pods/p/{sub}"))
            .await;
        assert_status(&answer, 404, "NotFound", "pods \"p\" not found");
    }
    let proxy = api.get("/api/v1/namespaces/default/pods/p/proxy").await;
    assert_status(
        &proxy,
        405,
        "MethodNotAllowed",
        "the proxy subresource of pods is not supported by this server",
    );
    assert_eq!(proxy.json()["details"]["kind"], "pods/proxy");
    // The workloads' scale is served: a missing object is a plain 404.
    let scale = api.get(&format!("{DEPLOY}/web/scale")).await;
    assert_status(
        &scale,
        404,
        "NotFound",
        "deployments.apps \"web\" not found",
    );
    let delete_status = api.delete(&format!("{DEPLOY}/web/status")).await;
    assert_status(
        &delete_status,
        405,
        "MethodNotAllowed",
        "delete is not supported on resources of kind \"deployments.apps\"",
    );
}

#[tokio::test]
async fn bodies_in_unknown_formats_are_415() {
    let api = Api::new().await;
    let answer = api
        .send(
            Method::POST,
            CM,
            &[("content-type", "text/plain")],
            Body::from("cfg"),
        )
        .await;
    assert_status(
        &answer,
        415,
        "UnsupportedMediaType",
        "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf",
    );
}

#[tokio::test]
async fn malformed_bodies_are_400() {
    let api = Api::new().await;
    let answer = api
        .send(
            Method::POST,
            CM,
            &[("content-type", "application/json")],
            "{\"metadata\":",
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    let status = answer.json();
    assert_eq!(status["reason"], "BadRequest");
    let message = status["message"].as_str().unwrap();
    assert!(
        message.starts_with("the object provided is unrecognized (must be of type ConfigMap): couldn't get version/kind; json parse error: "),
        "{message}"
    );

    let wrong_version = api
        .post(
            DEPLOY,
            &json!({"apiVersion": "apps/v1beta1", "kind": "Deployment"}),
        )
        .await;
    assert_status(
        &wrong_version,
        400,
        "BadRequest",
        "the API version in the data (apps/v1beta1) does not match the expected API version (apps/v1)",
    );
}

#[tokio::test]
async fn invalid_objects_are_422() {
    let api = Api::new().await;
    let answer = api.post(CM, &configmap("Bad_Name", json!({}))).await;
    assert_eq!(
        answer.status.as_u16(),
        422,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let status = answer.json();
    assert_eq!(status["reason"], "Invalid");
    assert_eq!(status["details"]["kind"], "ConfigMap");
    assert_eq!(status["details"]["name"], "Bad_Name");
    assert_eq!(status["details"]["causes"][0]["field"], "metadata.name");
}

#[tokio::test]
async fn invalid_options_are_422() {
    let api = Api::new().await;
    let answer = api
        .post(&format!("{CM}?dryRun=Some"), &configmap("a", json!({})))
        .await;
    assert_status(
        &answer,
        422,
        "Invalid",
        "CreateOptions.meta.k8s.io \"\" is invalid: dryRun: Unsupported value: []string{\"Some\"}: supported values: \"All\"",
    );
    let answer = api.get(&format!("{CM}?resourceVersionMatch=Exact")).await;
    assert_status(
        &answer,
        422,
        "Invalid",
        "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided",
    );
}

#[tokio::test]
async fn name_mismatch_on_update_is_400() {
    let api = Api::new().await;
    assert_eq!(
        api.post(CM, &configmap("a", json!({}))).await.status,
        StatusCode::CREATED
    );
    let answer = api
        .put(&format!("{CM}/a"), &configmap("b", json!({})))
        .await;
    assert_status(
        &answer,
        400,
        "BadRequest",
        "the name of the object (b) does not match the name on the URL (a)",
    );
}

#[tokio::test]
async fn unservable_accept_is_406_naming_protobuf() {
    // Built-in kinds have a protobuf serializer upstream: JSON, YAML and protobuf are named.
    let api = Api::new().await;
    let answer = api
        .send(Method::GET, CM, &[("accept", "text/html")], Body::empty())
        .await;
    assert_status(
        &answer,
        406,
        "NotAcceptable",
        "only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf",
    );
    for accept in [
        "application/vnd.kubernetes.protobuf",
        "application/vnd.kubernetes.protobuf, application/json",
    ] {
        let answer = api
            .send(Method::GET, CM, &[("accept", accept)], Body::empty())
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{accept}");
        assert_eq!(
            answer.header("content-type"),
            Some("application/vnd.kubernetes.protobuf"),
            "{accept}"
        );
    }
}

#[tokio::test]
async fn field_validation_strict_and_warn() {
    let api = Api::new().await;
    let mut body = deployment("web", 1);
    body["spec"]["foo"] = json!("bar");
    let strict = api
        .post(&format!("{DEPLOY}?fieldValidation=Strict"), &body)
        .await;
    assert_status(
        &strict,
        400,
        "BadRequest",
        "Deployment in version \"v1\" cannot be handled as a Deployment: strict decoding error: unknown field \"spec.foo\"",
    );
    assert_eq!(
        api.get(&format!("{DEPLOY}/web")).await.status,
        StatusCode::NOT_FOUND
    );

    let warned = api.post(DEPLOY, &body).await;
    assert_eq!(warned.status, StatusCode::CREATED);
    assert_eq!(
        warned.warnings(),
        vec!["299 - \"unknown field \\\"spec.foo\\\"\"".to_string()]
    );
    assert!(
        warned.json()["spec"].get("foo").is_none(),
        "unknown fields are dropped"
    );

    let ignored = api
        .post(
            &format!("{CM}?fieldValidation=Ignore"),
            &json!({"metadata": {"name": "x"}, "bogus": 1}),
        )
        .await;
    assert_eq!(ignored.status, StatusCode::CREATED);
    assert!(ignored.warnings().is_empty());
}
