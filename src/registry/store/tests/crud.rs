//! Create, get, update, patch, delete, finalizers, dry run, namespaces.

use std::sync::Arc;

use serde_json::{json, Value};

use super::{configmap, configmaps, deployments, leases, namespaces_with_lookup, rv, Fixture};
use crate::registry::options::{DeleteOptions, Preconditions, WriteOptions};
use crate::registry::store::StoreConfig;

fn write() -> WriteOptions {
    WriteOptions::default()
}

/// A Deployment spec that passes the built-in validation.
fn deployment_spec(replicas: i64) -> Value {
    json!({"replicas": replicas, "selector": {"matchLabels": {"app": "a"}},
        "template": {"metadata": {"labels": {"app": "a"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}})
}

#[tokio::test]
async fn create_sets_system_metadata_and_stores_without_resource_version() {
    let fx = Fixture::new().await;
    let store = fx.store(configmaps());
    let created = store
        .create(Some("default"), configmap("a", json!({})), &write())
        .await
        .unwrap();
    assert_eq!(created["metadata"]["namespace"], "default");
    assert_eq!(created["metadata"]["uid"].as_str().unwrap().len(), 36);
    assert!(created["metadata"]["creationTimestamp"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
    assert!(created["metadata"].get("generation").is_none());
    let raw = fx
        .storage
        .get(b"/registry/configmaps/default/a")
        .await
        .unwrap()
        .kv
        .unwrap();
    let stored: Value = serde_json::from_slice(&raw.value).unwrap();
    assert!(stored["metadata"].get("resourceVersion").is_none());
    assert_eq!(rv(&created), raw.mod_revision);
    let got = store.get(Some("default"), "a").await.unwrap();
    assert_eq!(got, created);

    let err = store
        .create(Some("default"), configmap("a", json!({})), &write())
        .await
        .unwrap_err();
    assert_eq!(
        (err.status.code, err.status.message.as_str()),
        (409, "configmaps \"a\" already exists")
    );
    let err = store.get(Some("default"), "nope").await.unwrap_err();
    assert_eq!(err.status.message, "configmaps \"nope\" not found");
}

#[tokio::test]
async fn create_rejects_bad_input_as_upstream() {
    let fx = Fixture::new().await;
    let store = fx.store(deployments());
    let cases: Vec<(Value, u16, &str)> = vec![
        (
            json!({"apiVersion": "apps/v2", "kind": "Deployment", "metadata": {"name": "d"}}),
            400,
            "the API version in the data (apps/v2) does not match the expected API version (apps/v1)",
        ),
        (
            json!({"metadata": {"name": "d", "namespace": "other"}}),
            400,
            "the namespace of the provided object does not match the namespace sent on the request",
        ),
        (
            json!({"metadata": {"name": "d", "resourceVersion": "5"}}),
            400,
            "resourceVersion should not be set on objects to be created",
        ),
        (
            json!({"metadata": {}, "spec": deployment_spec(1)}),
            422,
            "Deployment.apps \"\" is invalid: metadata.name: Required value: name or generateName is required",
        ),
    ];
    for (body, code, message) in cases {
        let err = store
            .create(Some("default"), body, &write())
            .await
            .unwrap_err();
        assert_eq!(
            (err.status.code, err.status.message.as_str()),
            (code, message)
        );
    }
    let err = store
        .create(
            Some("default"),
            json!({"metadata": {"name": "Bad_Name"}, "spec": deployment_spec(1)}),
            &write(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status.code, 422);
    assert!(err.status.message.starts_with(
        "Deployment.apps \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain"
    ));
    let cause = &err.status.details.as_ref().unwrap().causes[0];
    assert_eq!(
        (cause.reason.as_str(), cause.field.as_str()),
        ("FieldValueInvalid", "metadata.name")
    );
}

#[tokio::test]
async fn generate_name_and_generation_and_dry_run() {
    let fx = Fixture::new().await;
    let store = fx.store(deployments());
    let body = json!({"metadata": {"generateName": "web-"}, "spec": deployment_spec(1), "status": {"replicas": 9}});
    let created = store
        .create(Some("ns"), body.clone(), &write())
        .await
        .unwrap();
    let name = created["metadata"]["name"].as_str().unwrap();
    assert!(name.starts_with("web-") && name.len() == 9, "{name}");
    assert_eq!(created["metadata"]["generation"], 1);
    assert_eq!(
        created["status"],
        json!({}),
        "status is reset on create of a resource with /status"
    );

    let dry = WriteOptions {
        dry_run: true,
        ..Default::default()
    };
    let would = store
        .create(
            Some("ns"),
            json!({"metadata": {"name": "dry"}, "spec": deployment_spec(1)}),
            &dry,
        )
        .await
        .unwrap();
    assert!(would["metadata"].get("resourceVersion").is_none());
    assert_eq!(
        store.get(Some("ns"), "dry").await.unwrap_err().status.code,
        404
    );
}

#[tokio::test]
async fn update_conflicts_noops_and_status_split() {
    let fx = Fixture::new().await;
    let store = fx.store(deployments());
    let created = store
        .create(
            Some("ns"),
            json!({"metadata": {"name": "d"}, "spec": deployment_spec(1)}),
            &write(),
        )
        .await
        .unwrap();

    // A no-op update writes nothing.
    let (same, created_flag) = store
        .update(Some("ns"), "d", created.clone(), &write())
        .await
        .unwrap();
    assert!(!created_flag);
    assert_eq!(rv(&same), rv(&created));

    // A spec change bumps generation; a status change through the main resource is ignored.
    let mut next = created.clone();
    next["spec"]["replicas"] = json!(3);
    next["status"] = json!({"replicas": 7});
    next["metadata"]["uid"] = json!("forged");
    let err = store
        .update(Some("ns"), "d", next.clone(), &write())
        .await
        .unwrap_err();
    assert_eq!(
        err.status.code, 409,
        "a PUT's uid is a precondition, as upstream"
    );
    assert!(err
        .status
        .message
        .contains("Precondition failed: UID in precondition: forged"));
    next["metadata"]["uid"] = created["metadata"]["uid"].clone();
    let (updated, _) = store.update(Some("ns"), "d", next, &write()).await.unwrap();
    assert_eq!(updated["metadata"]["generation"], 2);
    assert_eq!(updated["status"], json!({}), "the stored status is kept");
    assert_eq!(updated["metadata"]["uid"], created["metadata"]["uid"]);
    assert!(rv(&updated) > rv(&created));

    // The stale resourceVersion is a 409.
    let err = store
        .update(Some("ns"), "d", created.clone(), &write())
        .await
        .unwrap_err();
    assert_eq!(err.status.code, 409);
    assert!(err.status.message.ends_with("the object has been modified; please apply your changes to the latest version and try again"));

    // /status changes only status.
    let status = WriteOptions {
        subresource: Some("status".into()),
        ..Default::default()
    };
    let mut body = updated.clone();
    body["status"] = json!({"replicas": 3});
    body["spec"]["replicas"] = json!(100);
    let (after, _) = store.update(Some("ns"), "d", body, &status).await.unwrap();
    assert_eq!(after["status"]["replicas"], 3);
    assert_eq!(after["spec"]["replicas"], 3);
    assert_eq!(after["metadata"]["generation"], 2);

    // Unconditional update (no resourceVersion) is accepted.
    let mut body = after.clone();
    body["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("resourceVersion");
    body["spec"]["replicas"] = json!(4);
    let (after, _) = store.update(Some("ns"), "d", body, &write()).await.unwrap();
    assert_eq!(after["status"]["replicas"], 3, "main update keeps status");

    let err = store
        .update(Some("ns"), "other", after.clone(), &write())
        .await
        .unwrap_err();
    assert_eq!(
        err.status.message,
        "the name of the object (d) does not match the name on the URL (other)"
    );
    let mut missing = after.clone();
    missing["metadata"]["name"] = json!("missing");
    assert_eq!(
        store
            .update(Some("ns"), "missing", missing, &write())
            .await
            .unwrap_err()
            .status
            .code,
        404
    );
}

#[tokio::test]
async fn create_on_update_where_upstream_allows_it() {
    let fx = Fixture::new().await;
    let store = fx.store(leases());
    let body = json!({"metadata": {"name": "l"}, "spec": {"holderIdentity": "a"}});
    let (obj, created) = store.update(Some("ns"), "l", body, &write()).await.unwrap();
    assert!(created);
    assert_eq!(obj["kind"], "Lease");
}

#[tokio::test]
async fn guaranteed_update_retries_concurrent_writers() {
    let fx = Fixture::new().await;
    let store = Arc::new(fx.store(configmaps()));
    store
        .create(
            Some("ns"),
            json!({"metadata": {"name": "c"}, "data": {"n": "0"}}),
            &write(),
        )
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .guaranteed_update(Some("ns"), "c", &WriteOptions::default(), |cur| {
                    let mut next = cur.clone();
                    let n: i64 = cur["data"]["n"].as_str().unwrap().parse().unwrap();
                    next["data"]["n"] = json!((n + 1).to_string());
                    Ok(next)
                })
                .await
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(store.get(Some("ns"), "c").await.unwrap()["data"]["n"], "8");
    let err = store
        .guaranteed_update(Some("ns"), "c", &write(), |cur| {
            let mut next = cur.clone();
            next["metadata"]["resourceVersion"] = json!("1");
            Ok(next)
        })
        .await
        .unwrap_err();
    assert_eq!(err.status.code, 409);
}

#[tokio::test]
async fn delete_preconditions_finalizers_and_dry_run() {
    let fx = Fixture::new().await;
    let store = fx.store(configmaps());
    let created = store
        .create(Some("ns"), configmap("a", json!({})), &write())
        .await
        .unwrap();

    let wrong_uid = DeleteOptions {
        preconditions: Some(Preconditions {
            uid: Some("x".into()),
            resource_version: None,
        }),
        ..Default::default()
    };
    let err = store
        .delete(Some("ns"), "a", &wrong_uid, &write())
        .await
        .unwrap_err();
    assert_eq!(err.status.code, 409);
    assert!(err
        .status
        .message
        .contains("the UID in the precondition (x) does not match the UID in record ("));
    let wrong_rv = DeleteOptions {
        preconditions: Some(Preconditions {
            uid: None,
            resource_version: Some("1".into()),
        }),
        ..Default::default()
    };
    let err = store
        .delete(Some("ns"), "a", &wrong_rv, &write())
        .await
        .unwrap_err();
    assert!(err
        .status
        .message
        .contains("the ResourceVersion in the precondition (1) does not match the ResourceVersion in record ("));

    let dry = WriteOptions {
        dry_run: true,
        ..Default::default()
    };
    assert!(
        store
            .delete(Some("ns"), "a", &DeleteOptions::default(), &dry)
            .await
            .unwrap()
            .deleted
    );
    store.get(Some("ns"), "a").await.unwrap();

    let out = store
        .delete(Some("ns"), "a", &DeleteOptions::default(), &write())
        .await
        .unwrap();
    assert!(out.deleted);
    assert!(
        rv(&out.object) > rv(&created),
        "the deleted object carries the delete's revision"
    );
    assert_eq!(
        store.get(Some("ns"), "a").await.unwrap_err().status.code,
        404
    );

    // With a finalizer: marked, then removed when the last finalizer goes.
    let mut body = configmap("f", json!({}));
    body["metadata"]["finalizers"] = json!(["example.com/hold"]);
    store.create(Some("ns"), body, &write()).await.unwrap();
    let out = store
        .delete(Some("ns"), "f", &DeleteOptions::default(), &write())
        .await
        .unwrap();
    assert!(!out.deleted);
    assert!(out.object["metadata"]["deletionTimestamp"].is_string());
    assert_eq!(out.object["metadata"]["deletionGracePeriodSeconds"], 0);
    let again = store
        .delete(Some("ns"), "f", &DeleteOptions::default(), &write())
        .await
        .unwrap();
    assert_eq!(
        again.object, out.object,
        "a second delete leaves the marked object as is"
    );
    let mut cleared = out.object.clone();
    cleared["metadata"]["finalizers"] = json!([]);
    store
        .update(Some("ns"), "f", cleared, &write())
        .await
        .unwrap();
    assert_eq!(
        store.get(Some("ns"), "f").await.unwrap_err().status.code,
        404
    );
}

#[tokio::test]
async fn namespace_lifecycle_and_admission() {
    let fx = Fixture::new().await;
    let (namespaces, lookup) = namespaces_with_lookup(&fx);
    let configmaps = fx.store_with(
        configmaps(),
        StoreConfig {
            namespaces: Some(lookup),
            ..StoreConfig::default()
        },
    );

    let err = configmaps
        .create(Some("team"), configmap("a", json!({})), &write())
        .await
        .unwrap_err();
    assert_eq!(
        (err.status.code, err.status.message.as_str()),
        (404, "namespaces \"team\" not found")
    );

    let ns = namespaces
        .create(None, json!({"metadata": {"name": "team"}}), &write())
        .await
        .unwrap();
    assert_eq!(ns["spec"]["finalizers"], json!(["kubernetes"]));
    assert_eq!(ns["status"]["phase"], "Active");
    assert_eq!(
        ns["metadata"]["labels"]["kubernetes.io/metadata.name"],
        "team"
    );
    let err = namespaces
        .create(None, json!({"metadata": {"name": "a.b"}}), &write())
        .await
        .unwrap_err();
    assert!(err
        .status
        .message
        .contains("metadata.name: Invalid value: \"a.b\": must not contain dots"));
    configmaps
        .create(Some("team"), configmap("a", json!({})), &write())
        .await
        .unwrap();

    let out = namespaces
        .delete(None, "team", &DeleteOptions::default(), &write())
        .await
        .unwrap();
    assert!(!out.deleted);
    assert_eq!(out.object["status"]["phase"], "Terminating");
    let err = configmaps
        .create(Some("team"), configmap("b", json!({})), &write())
        .await
        .unwrap_err();
    assert_eq!(err.status.code, 403);
    assert_eq!(
        err.status.message,
        "configmaps \"b\" is forbidden: unable to create new content in namespace team because it is being terminated"
    );
    assert_eq!(
        err.status.details.unwrap().causes[0].reason,
        "NamespaceTerminating"
    );

    namespaces.finalize_namespace("team").await.unwrap();
    assert_eq!(
        namespaces.get(None, "team").await.unwrap_err().status.code,
        404
    );
}
