//! Create, read, update, delete and list of configmaps and deployments.

use http::{Method, StatusCode};
use serde_json::json;

use super::*;

#[tokio::test]
async fn configmap_lifecycle() {
    let api = Api::new().await;
    let created = api.post(CM, &configmap("a", json!({"k": "v"}))).await;
    assert_eq!(
        created.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&created.body)
    );
    assert_eq!(created.header("content-type"), Some("application/json"));
    let object = created.json();
    assert_eq!(object["kind"], "ConfigMap");
    assert_eq!(object["apiVersion"], "v1");
    assert_eq!(object["metadata"]["namespace"], "default");
    assert!(object["metadata"]["uid"].is_string());
    let rv = object["metadata"]["resourceVersion"]
        .as_str()
        .expect("resourceVersion")
        .to_string();

    let got = api.get(&format!("{CM}/a")).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.json()["data"]["k"], "v");
    assert!(
        got.body.ends_with(b"\n"),
        "compact JSON ends with a newline"
    );

    let mut changed = got.json();
    changed["data"]["k"] = json!("w");
    let updated = api.put(&format!("{CM}/a"), &changed).await;
    assert_eq!(
        updated.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&updated.body)
    );
    assert_eq!(updated.json()["data"]["k"], "w");
    assert_ne!(updated.json()["metadata"]["resourceVersion"], json!(rv));

    // A stale resourceVersion is a 409.
    let mut stale = changed.clone();
    stale["metadata"]["resourceVersion"] = json!(rv);
    let conflict = api.put(&format!("{CM}/a"), &stale).await;
    assert_status(
        &conflict,
        409,
        "Conflict",
        "Operation cannot be fulfilled on configmaps \"a\": the object has been modified; please apply your changes to the latest version and try again",
    );

    let deleted = api.delete(&format!("{CM}/a")).await;
    assert_eq!(deleted.status, StatusCode::OK);
    let status = deleted.json();
    assert_eq!(status["kind"], "Status");
    assert_eq!(status["status"], "Success");
    assert_eq!(status["details"]["name"], "a");
    assert_eq!(status["details"]["kind"], "configmaps");
    assert_eq!(status["details"]["uid"], object["metadata"]["uid"]);

    let missing = api.get(&format!("{CM}/a")).await;
    assert_status(&missing, 404, "NotFound", "configmaps \"a\" not found");
    assert_eq!(missing.json()["details"]["name"], "a");
    assert_eq!(missing.json()["details"]["kind"], "configmaps");
}

#[tokio::test]
async fn already_exists_is_409() {
    let api = Api::new().await;
    assert_eq!(
        api.post(CM, &configmap("a", json!({}))).await.status,
        StatusCode::CREATED
    );
    let again = api.post(CM, &configmap("a", json!({}))).await;
    assert_status(
        &again,
        409,
        "AlreadyExists",
        "configmaps \"a\" already exists",
    );
}

#[tokio::test]
async fn lists_have_upstream_shape() {
    let api = Api::new().await;
    let empty = api.get(CM).await;
    assert_eq!(empty.status, StatusCode::OK);
    let list = empty.json();
    assert_eq!(list["kind"], "ConfigMapList");
    assert_eq!(list["apiVersion"], "v1");
    assert_eq!(list["items"], json!([]));
    assert!(list["metadata"]["resourceVersion"].is_string());

    for name in ["a", "b", "c"] {
        let mut cm = configmap(name, json!({}));
        cm["metadata"]["labels"] = json!({"tier": if name == "b" { "db" } else { "web" }});
        assert_eq!(api.post(CM, &cm).await.status, StatusCode::CREATED);
    }
    let list = api.get(CM).await.json();
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a", "b", "c"]);
    assert!(
        list["items"][0].get("kind").is_none(),
        "list items carry no kind, as upstream"
    );
    assert!(list["items"][0].get("apiVersion").is_none());

    let selected = api
        .get(&format!("{CM}?labelSelector=tier%3Dweb"))
        .await
        .json();
    assert_eq!(selected["items"].as_array().unwrap().len(), 2);

    let page = api.get(&format!("{CM}?limit=2")).await.json();
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let token = page["metadata"]["continue"]
        .as_str()
        .expect("continue token");
    let rest = api
        .get(&format!("{CM}?limit=2&continue={token}"))
        .await
        .json();
    assert_eq!(rest["items"][0]["metadata"]["name"], "c");

    let all = api.get("/api/v1/configmaps").await;
    assert_eq!(all.status, StatusCode::OK);
    assert_eq!(all.json()["items"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn deployment_crud_and_status() {
    let api = Api::new().await;
    let created = api.post(DEPLOY, &deployment("web", 2)).await;
    assert_eq!(
        created.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&created.body)
    );
    let object = created.json();
    assert_eq!(object["kind"], "Deployment");
    assert_eq!(object["apiVersion"], "apps/v1");
    assert_eq!(object["spec"]["replicas"], 2);

    let status = api.get(&format!("{DEPLOY}/web/status")).await;
    assert_eq!(status.status, StatusCode::OK);
    assert_eq!(status.json()["metadata"]["name"], "web");

    let mut with_status = status.json();
    with_status["status"] = json!({"replicas": 2, "observedGeneration": 1});
    with_status["spec"]["replicas"] = json!(9);
    let written = api.put(&format!("{DEPLOY}/web/status"), &with_status).await;
    assert_eq!(
        written.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&written.body)
    );
    assert_eq!(written.json()["status"]["replicas"], 2);
    assert_eq!(
        written.json()["spec"]["replicas"],
        2,
        "a status write keeps the spec"
    );

    let deleted = api.delete(&format!("{DEPLOY}/web")).await;
    assert_eq!(deleted.status, StatusCode::OK);
    assert_eq!(deleted.json()["details"]["group"], "apps");
    assert_eq!(deleted.json()["details"]["kind"], "deployments");
}

#[tokio::test]
async fn pods_return_the_deleted_object() {
    let api = Api::new().await;
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]}});
    let created = api.post("/api/v1/namespaces/default/pods", &pod).await;
    assert_eq!(
        created.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&created.body)
    );
    let deleted = api
        .delete("/api/v1/namespaces/default/pods/p?gracePeriodSeconds=0")
        .await;
    assert_eq!(
        deleted.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&deleted.body)
    );
    assert_eq!(deleted.json()["kind"], "Pod");
}

#[tokio::test]
async fn dry_run_writes_nothing() {
    let api = Api::new().await;
    let created = api
        .post(&format!("{CM}?dryRun=All"), &configmap("dry", json!({})))
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(created.json()["metadata"]["name"], "dry");
    assert_eq!(
        api.get(&format!("{CM}/dry")).await.status,
        StatusCode::NOT_FOUND
    );

    assert_eq!(
        api.post(CM, &configmap("real", json!({"a": "1"})))
            .await
            .status,
        StatusCode::CREATED
    );
    let mut changed = api.get(&format!("{CM}/real")).await.json();
    changed["data"]["a"] = json!("2");
    assert_eq!(
        api.put(&format!("{CM}/real?dryRun=All"), &changed)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        api.get(&format!("{CM}/real")).await.json()["data"]["a"],
        "1"
    );

    let dry_delete = api
        .send(
            Method::DELETE,
            &format!("{CM}/real"),
            &[("content-type", "application/json")],
            r#"{"kind":"DeleteOptions","apiVersion":"v1","dryRun":["All"]}"#,
        )
        .await;
    assert_eq!(
        dry_delete.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&dry_delete.body)
    );
    assert_eq!(api.get(&format!("{CM}/real")).await.status, StatusCode::OK);
}

#[tokio::test]
async fn delete_preconditions_and_collections() {
    let api = Api::new().await;
    let created = api.post(CM, &configmap("a", json!({}))).await.json();
    assert_eq!(
        api.post(CM, &configmap("b", json!({}))).await.status,
        StatusCode::CREATED
    );
    let wrong_uid = api
        .send(
            Method::DELETE,
            &format!("{CM}/a"),
            &[("content-type", "application/json")],
            r#"{"preconditions":{"uid":"not-it"}}"#,
        )
        .await;
    assert_eq!(
        wrong_uid.status,
        StatusCode::CONFLICT,
        "{}",
        String::from_utf8_lossy(&wrong_uid.body)
    );
    let right_uid =
        serde_json::to_string(&json!({"preconditions": {"uid": created["metadata"]["uid"]}}))
            .unwrap();
    let ok = api
        .send(
            Method::DELETE,
            &format!("{CM}/a"),
            &[("content-type", "application/json")],
            right_uid,
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK);

    let gone = api.delete(CM).await;
    assert_eq!(gone.status, StatusCode::OK);
    let list = gone.json();
    assert_eq!(list["kind"], "ConfigMapList");
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(api.get(CM).await.json()["items"], json!([]));
}
