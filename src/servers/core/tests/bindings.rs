//! Bindings: one write assigns the pod, as upstream's `BindingREST`.

use http::StatusCode;
use serde_json::{json, Value};

use super::watches::{next_event, start_watch};
use super::*;

const PODS: &str = "/api/v1/namespaces/default/pods";

fn pod(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]}})
}

fn binding(name: &str, node: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Binding", "metadata": {"name": name},
        "target": {"kind": "Node", "name": node}})
}

async fn created(api: &Api, body: &Value) -> Value {
    let answer = api.post(PODS, body).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.json());
    answer.json()
}

#[tokio::test]
async fn a_binding_is_one_write_with_node_annotations_and_condition() {
    let api = Api::new().await;
    let pod = created(&api, &pod("p1")).await;
    let rv = pod["metadata"]["resourceVersion"].as_str().unwrap();
    let (_, mut all) = start_watch(
        &api,
        &format!("{PODS}?watch=true&resourceVersion={rv}"),
        None,
    )
    .await;
    let (_, mut node) = start_watch(
        &api,
        &format!("{PODS}?watch=true&fieldSelector=spec.nodeName%3Dn1"),
        None,
    )
    .await;

    let mut body = binding("p1", "n1");
    body["metadata"]["annotations"] = json!({"scheduler/who": "test"});
    let answer = api.post(&format!("{PODS}/p1/binding"), &body).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.json());
    assert_eq!(answer.json()["status"], "Success");

    // The node's watcher sees the pod arrive once, already scheduled.
    let added = next_event(&mut node).await.expect("ADDED");
    assert_eq!(added["type"], "ADDED");
    assert_eq!(added["object"]["spec"]["nodeName"], "n1");
    let conditions = added["object"]["status"]["conditions"].as_array().unwrap();
    let scheduled: Vec<_> = conditions
        .iter()
        .filter(|c| c["type"] == "PodScheduled")
        .collect();
    assert_eq!(scheduled.len(), 1, "{conditions:?}");
    assert_eq!(scheduled[0]["status"], "True");
    assert_eq!(
        added["object"]["metadata"]["annotations"]["scheduler/who"],
        "test"
    );
    // Upstream writes the pod to storage directly: no managedFields entry for the binding.
    let managers = added["object"]["metadata"]["managedFields"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        managers.iter().all(|m| m["subresource"] != "binding"),
        "{managers:?}"
    );

    // Every pod watcher sees one MODIFIED for the binding, then the next write.
    let bound = next_event(&mut all).await.expect("MODIFIED");
    assert_eq!(bound["type"], "MODIFIED");
    assert_eq!(bound["object"]["spec"]["nodeName"], "n1");
    let labelled = api
        .patch(
            &format!("{PODS}/p1"),
            "application/merge-patch+json",
            &json!({"metadata": {"labels": {"after": "binding"}}}),
        )
        .await;
    assert_eq!(labelled.status, StatusCode::OK);
    let next = next_event(&mut all).await.expect("the label write");
    assert_eq!(
        next["object"]["metadata"]["labels"]["after"], "binding",
        "{next}"
    );
}

#[tokio::test]
async fn bindings_conflict_as_upstreams() {
    let api = Api::new().await;
    let stored = created(&api, &pod("p1")).await;
    let uid = stored["metadata"]["uid"].as_str().unwrap().to_string();

    let mut wrong_uid = binding("p1", "n1");
    wrong_uid["metadata"]["uid"] = json!("not-the-uid");
    let answer = api.post(&format!("{PODS}/p1/binding"), &wrong_uid).await;
    assert_eq!(answer.status, StatusCode::CONFLICT);
    let message = answer.json()["message"].as_str().unwrap().to_string();
    assert!(
        message.starts_with(
            "Operation cannot be fulfilled on pods \"p1\": StorageError: invalid object"
        ) && message.ends_with(&format!(
            "Precondition failed: UID in precondition: not-the-uid, UID in object meta: {uid}"
        )),
        "{message}"
    );

    let mut gated = pod("p2");
    gated["spec"]["schedulingGates"] = json!([{"name": "wait"}]);
    created(&api, &gated).await;
    let answer = api
        .post(&format!("{PODS}/p2/binding"), &binding("p2", "n1"))
        .await;
    assert_eq!(answer.status, StatusCode::CONFLICT);
    assert_eq!(
        answer.json()["message"],
        "Operation cannot be fulfilled on pods/binding \"p2\": pod p2 has non-empty .spec.schedulingGates"
    );

    let mut right = binding("p1", "n1");
    right["metadata"]["uid"] = json!(uid);
    assert_eq!(
        api.post(&format!("{PODS}/p1/binding"), &right).await.status,
        StatusCode::CREATED
    );
    let again = api
        .post(&format!("{PODS}/p1/binding"), &binding("p1", "n2"))
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(
        again.json()["message"],
        "Operation cannot be fulfilled on pods/binding \"p1\": pod p1 is already assigned to node \"n1\""
    );
    let pod = api.get(&format!("{PODS}/p1")).await.json();
    assert_eq!(pod["spec"]["nodeName"], "n1");
}
