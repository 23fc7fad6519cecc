//! Crash safety through the API: writers running, `kill -9`, restart, every acknowledged write is
//! there.

mod common;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, PostParams};

use common::Apiary;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_kill_9() {
    let mut apiary = Apiary::start();
    let client = apiary.client().await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let acknowledged = Arc::new(Mutex::new(BTreeSet::new()));

    let mut writers = Vec::new();
    for writer in 0..4 {
        let api = api.clone();
        let acknowledged = acknowledged.clone();
        writers.push(tokio::spawn(async move {
            for i in 0.. {
                let name = format!("w{writer}-{i:05}");
                let cm = ConfigMap {
                    metadata: kube::api::ObjectMeta {
                        name: Some(name.clone()),
                        ..Default::default()
                    },
                    ..Default::default()
                };
                match api.create(&PostParams::default(), &cm).await {
                    Ok(created) => {
                        let rv = created.metadata.resource_version.unwrap_or_default();
                        acknowledged.lock().expect("lock").insert((name, rv));
                    }
                    Err(_) => break,
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before = acknowledged.lock().expect("lock").len();
    assert!(before > 0, "the writers made progress before the kill");

    tokio::task::block_in_place(|| apiary.kill_and_restart());
    for writer in writers {
        let _ = tokio::time::timeout(Duration::from_secs(30), writer).await;
    }

    let client = apiary.client().await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let stored: BTreeSet<(String, String)> = api
        .list(&ListParams::default())
        .await
        .expect("list after restart")
        .items
        .into_iter()
        .map(|cm| {
            (
                cm.metadata.name.unwrap_or_default(),
                cm.metadata.resource_version.unwrap_or_default(),
            )
        })
        .collect();
    let acknowledged = acknowledged.lock().expect("lock").clone();
    let missing: Vec<_> = acknowledged.difference(&stored).collect();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged writes lost: {:?}",
        missing.len(),
        acknowledged.len(),
        &missing[..missing.len().min(5)]
    );
}
