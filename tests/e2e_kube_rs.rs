//! End-to-end: the real `apiary` binary driven by kube-rs.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::runtime::watcher;

use common::Apiary;

fn configmap(name: &str, value: &str) -> ConfigMap {
    ConfigMap {
        metadata: kube::api::ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        data: Some(BTreeMap::from([("k".to_string(), value.to_string())])),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configmaps_crud_and_watcher_sees_each_change_once() {
    let apiary = Apiary::start();
    let client = apiary.client().await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let stream = watcher(api.clone(), watcher::Config::default());
    let watch_task = tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        while let Some(event) = stream.next().await {
            if let Ok(event) = event {
                if tx.send(event).is_err() {
                    break;
                }
            }
        }
    });
    // The watcher's initial list completes before we write.
    loop {
        match tokio::time::timeout(Duration::from_secs(20), rx.recv())
            .await
            .expect("initial events")
        {
            Some(watcher::Event::InitDone) => break,
            Some(_) => continue,
            None => panic!("watcher ended"),
        }
    }

    let created = api
        .create(&PostParams::default(), &configmap("a", "1"))
        .await
        .expect("create");
    let fetched = api.get("a").await.expect("get");
    assert_eq!(
        fetched
            .data
            .as_ref()
            .and_then(|d| d.get("k"))
            .map(String::as_str),
        Some("1")
    );
    assert_eq!(
        fetched.metadata.resource_version,
        created.metadata.resource_version
    );

    let listed = api.list(&ListParams::default()).await.expect("list");
    let names: Vec<&str> = listed
        .items
        .iter()
        .filter_map(|cm| cm.metadata.name.as_deref())
        .collect();
    // Every namespace also holds the cluster CA's ConfigMap, as upstream's.
    assert_eq!(names, ["a", "kube-root-ca.crt"]);

    let mut changed = fetched.clone();
    changed.data = Some(BTreeMap::from([("k".to_string(), "2".to_string())]));
    let replaced = api
        .replace("a", &PostParams::default(), &changed)
        .await
        .expect("replace");
    let stale = api.replace("a", &PostParams::default(), &changed).await;
    match stale {
        Err(kube::Error::Api(status)) => {
            assert_eq!((status.code, status.reason.as_str()), (409, "Conflict"))
        }
        other => panic!("stale replace should conflict, got {other:?}"),
    }
    api.delete("a", &DeleteParams::default())
        .await
        .expect("delete");

    // Apply (create), apply (replace), delete: each seen exactly once, in order, with the
    // resourceVersions the writes returned.
    let mut seen = Vec::new();
    while seen.len() < 3 {
        match tokio::time::timeout(Duration::from_secs(20), rx.recv())
            .await
            .expect("watch event")
        {
            Some(watcher::Event::Apply(cm)) => seen.push((
                "apply",
                cm.metadata.resource_version.clone().unwrap_or_default(),
            )),
            Some(watcher::Event::Delete(cm)) => seen.push((
                "delete",
                cm.metadata.resource_version.clone().unwrap_or_default(),
            )),
            Some(other) => panic!("unexpected watcher event {other:?}"),
            None => panic!("watcher ended"),
        }
    }
    assert_eq!(
        seen[0],
        (
            "apply",
            created
                .metadata
                .resource_version
                .clone()
                .unwrap_or_default()
        )
    );
    assert_eq!(
        seen[1],
        (
            "apply",
            replaced
                .metadata
                .resource_version
                .clone()
                .unwrap_or_default()
        )
    );
    assert_eq!(seen[2].0, "delete");
    assert!(
        tokio::time::timeout(Duration::from_millis(500), rx.recv())
            .await
            .is_err(),
        "no event after the delete"
    );
    watch_task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_without_credentials_are_unauthorized() {
    let apiary = Apiary::start();
    let kubeconfig = kube::config::Kubeconfig::read_from(apiary.kubeconfig()).expect("kubeconfig");
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .expect("config");
    config.auth_info = Default::default();
    let client = kube::Client::try_from(config).expect("client");
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    match api.list(&ListParams::default()).await {
        Err(kube::Error::Api(status)) => {
            assert_eq!(
                (status.code, status.reason.as_str(), status.message.as_str()),
                (401, "Unauthorized", "Unauthorized")
            )
        }
        other => panic!("a request without credentials must be refused with 401, got {other:?}"),
    }
}
