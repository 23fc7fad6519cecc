//! End-to-end on PostgreSQL: the database stops for 10 s while a client writes and watches.
//! Requests fail fast with a 503/504 Status, the watch ends with an error instead of stalling,
//! everything recovers without restarting Apiary, and no acknowledged write is lost.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, PostParams, WatchEvent, WatchParams};

use apiary_postgres::testing::TempPostgres;
use common::Apiary;

const OUTAGE: Duration = Duration::from_secs(10);

fn configmap(name: &str) -> ConfigMap {
    ConfigMap {
        metadata: kube::api::ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        data: Some(BTreeMap::from([("k".to_string(), name.to_string())])),
        ..Default::default()
    }
}

/// How a watch through the outage ended.
#[derive(Debug, PartialEq)]
enum WatchEnd {
    /// An ERROR event with this Status code.
    Error(u16),
    /// The response ended (the server closed the stream).
    Closed,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_database_outage_fails_fast_and_recovers_without_losing_writes() {
    let postgres = TempPostgres::start();
    let url = postgres.create_database("outage");
    let apiary = Apiary::start_with_env(vec![
        ("APIARY_STORAGE__BACKEND".into(), "postgres".into()),
        ("APIARY_STORAGE__POSTGRES__URL".into(), url),
    ]);
    // kube-rs would retry 503s itself; this test looks at every answer.
    let api: Api<ConfigMap> = Api::namespaced(apiary.client_without_retries().await, "default");

    // A watch that reports how it ended.
    let mut events = api
        .watch(&WatchParams::default().timeout(120), "0")
        .await
        .expect("watch")
        .boxed();
    let watch = tokio::spawn(async move {
        while let Some(event) = events.next().await {
            match event {
                Ok(WatchEvent::Error(status)) => {
                    return (WatchEnd::Error(status.code), Instant::now())
                }
                Ok(_) => continue,
                Err(_) => break,
            }
        }
        (WatchEnd::Closed, Instant::now())
    });

    // One writer, all along: acknowledged names, and every failure with its code and duration.
    let writer = {
        let api = api.clone();
        tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            let mut failures = Vec::new();
            let mut successes_after_failure = 0;
            let give_up = Instant::now() + Duration::from_secs(120);
            for i in 0.. {
                let name = format!("cm-{i}");
                let started = Instant::now();
                match api.create(&PostParams::default(), &configmap(&name)).await {
                    Ok(_) => {
                        acknowledged.push(name);
                        if !failures.is_empty() {
                            successes_after_failure += 1;
                            if successes_after_failure == 10 {
                                break;
                            }
                        }
                    }
                    Err(kube::Error::Api(status)) => {
                        failures.push((status.code, started.elapsed(), status.message));
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                    Err(other) => panic!("{name}: not a Status answer: {other}"),
                }
                if Instant::now() > give_up {
                    panic!("cm-{i}: no failure and recovery within 2 minutes: {failures:?}");
                }
            }
            (acknowledged, failures)
        })
    };

    tokio::time::sleep(Duration::from_secs(2)).await;
    let stop = tokio::task::spawn_blocking({
        // The cluster is shared with this blocking task for the stop and the start.
        let postgres = std::sync::Arc::new(postgres);
        move || {
            let stopped_at = Instant::now();
            postgres.stop();
            std::thread::sleep(OUTAGE);
            postgres.start_again();
            (stopped_at, postgres)
        }
    });
    let (stopped_at, postgres) = stop.await.expect("outage");
    let restarted_at = Instant::now();
    let (acknowledged, failures) = writer.await.expect("writer");

    // Requests failed during the outage, quickly, with 503 or 504 Status answers.
    assert!(
        !failures.is_empty(),
        "no request failed while the database was down"
    );
    for (code, took, message) in &failures {
        assert!(
            *code == 503 || *code == 504,
            "a failure was {code}: {message}"
        );
        assert!(
            *took < Duration::from_secs(15),
            "a failing request hung for {took:?}: {message}"
        );
    }
    // The watch ended with an error during the outage instead of stalling.
    let (end, ended_at) = tokio::time::timeout(Duration::from_secs(30), watch)
        .await
        .expect("the watch ended")
        .expect("watch task");
    assert!(
        matches!(end, WatchEnd::Error(_) | WatchEnd::Closed),
        "{end:?}"
    );
    assert!(
        ended_at >= stopped_at && ended_at <= restarted_at + Duration::from_secs(5),
        "the watch ended {:?} after the database was stopped, {:?} after it was back",
        ended_at.saturating_duration_since(stopped_at),
        ended_at.saturating_duration_since(restarted_at),
    );

    // Recovered without a restart: every acknowledged write is there, and a new watch works.
    let listed = api.list(&ListParams::default()).await.expect("list");
    let names: Vec<String> = listed
        .items
        .iter()
        .filter_map(|cm| cm.metadata.name.clone())
        .collect();
    for name in &acknowledged {
        assert!(names.contains(name), "{name} was acknowledged but is lost");
    }
    let rv = listed
        .metadata
        .resource_version
        .expect("list resourceVersion");
    let mut events = api
        .watch(&WatchParams::default().timeout(30), &rv)
        .await
        .expect("watch after recovery")
        .boxed();
    api.create(&PostParams::default(), &configmap("after"))
        .await
        .expect("create after recovery");
    loop {
        match tokio::time::timeout(Duration::from_secs(20), events.next()).await {
            Ok(Some(Ok(WatchEvent::Added(cm)))) if cm.metadata.name.as_deref() == Some("after") => {
                break
            }
            Ok(Some(Ok(_))) => continue,
            other => panic!("no event after recovery: {other:?}"),
        }
    }
    drop(postgres);
}
