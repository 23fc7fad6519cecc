//! JSON patch, merge patch, strategic merge patch and their errors.

use http::{Method, StatusCode};
use serde_json::json;

use super::*;

#[tokio::test]
async fn merge_and_json_patches() {
    let api = Api::new().await;
    assert_eq!(
        api.post(CM, &configmap("a", json!({"x": "1"})))
            .await
            .status,
        StatusCode::CREATED
    );
    let merged = api
        .patch(
            &format!("{CM}/a"),
            "application/merge-patch+json",
            &json!({"data": {"y": "2", "x": null}}),
        )
        .await;
    assert_eq!(
        merged.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&merged.body)
    );
    assert_eq!(merged.json()["data"], json!({"y": "2"}));

    let patched = api
        .patch(
            &format!("{CM}/a"),
            "application/json-patch+json",
            &json!([{"op": "test", "path": "/data/y", "value": "2"}, {"op": "add", "path": "/data/z", "value": "3"}]),
        )
        .await;
    assert_eq!(
        patched.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&patched.body)
    );
    assert_eq!(patched.json()["data"], json!({"y": "2", "z": "3"}));

    let failed = api
        .patch(
            &format!("{CM}/a"),
            "application/json-patch+json",
            &json!([{"op": "test", "path": "/data/y", "value": "9"}]),
        )
        .await;
    assert_status(
        &failed,
        422,
        "Invalid",
        "the server rejected our request due to an error in our request",
    );
    assert_eq!(
        failed.json()["details"]["causes"][0]["reason"],
        "UnexpectedServerResponse"
    );

    let bad = api
        .send(
            Method::PATCH,
            &format!("{CM}/a"),
            &[("content-type", "application/json-patch+json")],
            "{",
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn strategic_merge_patch_merges_containers_by_name() {
    let api = Api::new().await;
    assert_eq!(
        api.post(DEPLOY, &deployment("web", 1)).await.status,
        StatusCode::CREATED
    );
    let patch = json!({"spec": {"replicas": 4, "template": {"spec": {"containers": [{"name": "c", "image": "nginx:2"}]}}}});
    let answer = api
        .patch(
            &format!("{DEPLOY}/web"),
            "application/strategic-merge-patch+json",
            &patch,
        )
        .await;
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let object = answer.json();
    assert_eq!(object["spec"]["replicas"], 4);
    assert_eq!(
        object["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:2"
    );
    assert_eq!(
        object["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn patch_errors() {
    let api = Api::new().await;
    let missing = api
        .patch(
            &format!("{CM}/nope"),
            "application/merge-patch+json",
            &json!({"data": {}}),
        )
        .await;
    assert_status(&missing, 404, "NotFound", "configmaps \"nope\" not found");

    let apply = api
        .patch(
            &format!("{CM}/nope"),
            "application/apply-patch+yaml",
            &json!({}),
        )
        .await;
    assert_status(
        &apply,
        422,
        "Invalid",
        "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
    );
    let unknown = api
        .patch(
            &format!("{CM}/nope"),
            "application/apply-patch+cbor",
            &json!({}),
        )
        .await;
    assert_status(
        &unknown,
        415,
        "UnsupportedMediaType",
        "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml",
    );

    let created = api.post(CM, &configmap("a", json!({}))).await.json();
    let rv = created["metadata"]["resourceVersion"].clone();
    assert_eq!(
        api.patch(
            &format!("{CM}/a"),
            "application/merge-patch+json",
            &json!({"data": {"k": "v"}})
        )
        .await
        .status,
        StatusCode::OK
    );
    let stale = api
        .patch(
            &format!("{CM}/a"),
            "application/merge-patch+json",
            &json!({"metadata": {"resourceVersion": rv}, "data": {"k": "w"}}),
        )
        .await;
    assert_eq!(
        stale.status,
        StatusCode::CONFLICT,
        "{}",
        String::from_utf8_lossy(&stale.body)
    );

    let rename = api
        .patch(
            &format!("{CM}/a"),
            "application/merge-patch+json",
            &json!({"metadata": {"name": "b"}}),
        )
        .await;
    assert_status(
        &rename,
        400,
        "BadRequest",
        "the name of the object (b) does not match the name on the URL (a)",
    );

    let strict = api
        .patch(
            &format!("{CM}/a?fieldValidation=Strict"),
            "application/merge-patch+json",
            &json!({"bogus": 1}),
        )
        .await;
    assert_eq!(
        strict.status.as_u16(),
        422,
        "{}",
        String::from_utf8_lossy(&strict.body)
    );
    let message = strict.json()["message"].as_str().unwrap().to_string();
    assert!(
        message.starts_with(" \"\" is invalid: patch: Invalid value: \""),
        "{message}"
    );
    assert!(
        message.ends_with("strict decoding error: unknown field \"bogus\""),
        "{message}"
    );

    let warned = api
        .patch(
            &format!("{CM}/a"),
            "application/merge-patch+json",
            &json!({"bogus": 1}),
        )
        .await;
    assert_eq!(warned.status, StatusCode::OK);
    assert_eq!(
        warned.warnings(),
        vec!["299 - \"unknown field \\\"bogus\\\"\"".to_string()]
    );
}

/// Every kind of patch that changes `metadata.uid` is upstream's 422 (`ValidateObjectMetaUpdate`),
/// never a silent no-op; a PUT naming another uid is upstream's 409 precondition failure.
#[tokio::test]
async fn a_changed_uid_is_refused_by_every_write() {
    let api = Api::new().await;
    let created = api.post(CM, &configmap("u", json!({"k": "v"}))).await;
    assert_eq!(created.status, StatusCode::CREATED);
    let uid = created.json()["metadata"]["uid"]
        .as_str()
        .expect("a uid")
        .to_string();
    let patches = [
        (
            "application/merge-patch+json",
            json!({"metadata": {"uid": "forged"}}),
        ),
        (
            "application/strategic-merge-patch+json",
            json!({"metadata": {"uid": "forged"}}),
        ),
        (
            "application/json-patch+json",
            json!([{"op": "replace", "path": "/metadata/uid", "value": "forged"}]),
        ),
        (
            "application/apply-patch+yaml",
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "u", "uid": "forged"}}),
        ),
    ];
    for (content_type, patch) in patches {
        let answer = api
            .patch(&format!("{CM}/u?fieldManager=t"), content_type, &patch)
            .await;
        assert_status(
            &answer,
            422,
            "Invalid",
            "ConfigMap \"u\" is invalid: metadata.uid: Invalid value: \"forged\": field is immutable",
        );
    }
    let mut replaced = api.get(&format!("{CM}/u")).await.json();
    replaced["metadata"]["uid"] = json!("forged");
    let answer = api.put(&format!("{CM}/u"), &replaced).await;
    assert_eq!(answer.status, StatusCode::CONFLICT);
    let message = answer.json()["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        message.ends_with(&format!(
            "Precondition failed: UID in precondition: forged, UID in object meta: {uid}"
        )),
        "{message}"
    );
    let stored = api.get(&format!("{CM}/u")).await.json();
    assert_eq!(stored["metadata"]["uid"], json!(uid));
    assert_eq!(stored["data"], json!({"k": "v"}));
}
