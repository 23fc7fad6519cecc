//! Lists: selectors, resourceVersion semantics, pagination, continue tokens, delete-collection.

use std::sync::Arc;

use serde_json::json;

use super::{configmap, configmaps, rv, Fixture};
use crate::registry::options::{DeleteOptions, ListOptions, WriteOptions};

fn names(list: &crate::registry::store::ObjectList) -> Vec<String> {
    list.items
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn list_filters_by_namespace_and_selectors() {
    let fx = Fixture::new().await;
    let store = fx.store(configmaps());
    let w = WriteOptions::default();
    store
        .create(Some("a"), configmap("one", json!({"app": "web"})), &w)
        .await
        .unwrap();
    store
        .create(Some("a"), configmap("two", json!({"app": "db"})), &w)
        .await
        .unwrap();
    let last = store
        .create(Some("b"), configmap("three", json!({"app": "web"})), &w)
        .await
        .unwrap();

    let all = store.list(None, &ListOptions::default()).await.unwrap();
    assert_eq!(names(&all), ["one", "two", "three"]);
    assert_eq!(all.resource_version, rv(&last).to_string());
    assert_eq!(all.to_value(&configmaps())["kind"], "ConfigMapList");

    let in_a = store
        .list(Some("a"), &ListOptions::default())
        .await
        .unwrap();
    assert_eq!(names(&in_a), ["one", "two"]);
    let web = ListOptions {
        label_selector: "app=web".into(),
        ..Default::default()
    };
    assert_eq!(
        names(&store.list(None, &web).await.unwrap()),
        ["one", "three"]
    );
    let by_name = ListOptions {
        field_selector: "metadata.name=two".into(),
        ..Default::default()
    };
    assert_eq!(names(&store.list(None, &by_name).await.unwrap()), ["two"]);

    let bad = ListOptions {
        label_selector: "app in web".into(),
        ..Default::default()
    };
    let err = store.list(None, &bad).await.unwrap_err();
    assert_eq!(
        (err.status.code, err.status.message.as_str()),
        (
            400,
            "unable to parse requirement: found 'web' expected: '('"
        )
    );
    let bad = ListOptions {
        field_selector: "spec.nodeName=x".into(),
        ..Default::default()
    };
    assert_eq!(
        store.list(None, &bad).await.unwrap_err().status.message,
        "field label not supported: spec.nodeName"
    );
}

#[tokio::test]
async fn resource_version_semantics() {
    let fx = Fixture::new().await;
    let store = fx.store(configmaps());
    let w = WriteOptions::default();
    let first = store
        .create(Some("a"), configmap("one", json!({})), &w)
        .await
        .unwrap();
    store
        .create(Some("a"), configmap("two", json!({})), &w)
        .await
        .unwrap();

    let exact = ListOptions {
        resource_version: rv(&first).to_string(),
        resource_version_match: "Exact".into(),
        ..Default::default()
    };
    let old = store.list(None, &exact).await.unwrap();
    assert_eq!(names(&old), ["one"]);
    assert_eq!(old.resource_version, rv(&first).to_string());

    let future = ListOptions {
        resource_version: "999999".into(),
        resource_version_match: "NotOlderThan".into(),
        ..Default::default()
    };
    let err = store.list(None, &future).await.unwrap_err();
    assert_eq!(err.status.code, 504);
    assert!(err
        .status
        .message
        .starts_with("Too large resource version: 999999, current: "));

    let any = ListOptions {
        resource_version: "0".into(),
        ..Default::default()
    };
    assert_eq!(store.list(None, &any).await.unwrap().items.len(), 2);

    let missing_rv = ListOptions {
        resource_version_match: "Exact".into(),
        ..Default::default()
    };
    assert_eq!(
        store.list(None, &missing_rv).await.unwrap_err().status.code,
        400
    );

    fx.storage.compact(rv(&first) + 1).await.unwrap();
    let err = store.list(None, &exact).await.unwrap_err();
    assert_eq!(
        (err.status.code, err.status.reason.as_str()),
        (410, "Expired")
    );
}

#[tokio::test]
async fn pagination_is_a_consistent_snapshot_under_concurrent_writes() {
    let fx = Fixture::new().await;
    let store = Arc::new(fx.store(configmaps()));
    let w = WriteOptions::default();
    for i in 0..25 {
        let labels = if i % 2 == 0 {
            json!({"even": "true"})
        } else {
            json!({})
        };
        store
            .create(Some("ns"), configmap(&format!("cm-{i:02}"), labels), &w)
            .await
            .unwrap();
    }
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            for i in 0..20 {
                store
                    .create(
                        Some("ns"),
                        configmap(&format!("late-{i:02}"), json!({})),
                        &WriteOptions::default(),
                    )
                    .await
                    .unwrap();
            }
        })
    };
    let mut opts = ListOptions {
        limit: Some(10),
        ..Default::default()
    };
    let mut seen = Vec::new();
    let mut pages = 0;
    let mut snapshot = None;
    loop {
        let page = store.list(Some("ns"), &opts).await.unwrap();
        pages += 1;
        assert!(page.items.len() <= 10);
        snapshot.get_or_insert(page.resource_version.clone());
        assert_eq!(
            Some(&page.resource_version),
            snapshot.as_ref(),
            "every page reads the first page's revision"
        );
        seen.extend(names(&page));
        match page.continue_token {
            Some(token) => opts.continue_token = token,
            None => break,
        }
    }
    writer.await.unwrap();
    let first_page_rv: i64 = snapshot.unwrap().parse().unwrap();
    let expected: Vec<String> = store
        .list(
            Some("ns"),
            &ListOptions {
                resource_version: first_page_rv.to_string(),
                resource_version_match: "Exact".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .items
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(seen, expected);
    assert!(pages >= 3);

    // With a selector, a page holds `limit` matching items when there are enough.
    let even = ListOptions {
        label_selector: "even=true".into(),
        limit: Some(5),
        ..Default::default()
    };
    let page = store.list(Some("ns"), &even).await.unwrap();
    assert_eq!(names(&page), ["cm-00", "cm-02", "cm-04", "cm-06", "cm-08"]);
    let next = ListOptions {
        continue_token: page.continue_token.unwrap(),
        ..even.clone()
    };
    let page = store.list(Some("ns"), &next).await.unwrap();
    assert_eq!(names(&page), ["cm-10", "cm-12", "cm-14", "cm-16", "cm-18"]);

    let with_rv = ListOptions {
        resource_version: "5".into(),
        ..next.clone()
    };
    assert_eq!(
        store
            .list(Some("ns"), &with_rv)
            .await
            .unwrap_err()
            .status
            .code,
        400
    );
}

#[tokio::test]
async fn compacted_continue_token_is_410_with_a_fresh_token() {
    let fx = Fixture::new().await;
    let store = fx.store(configmaps());
    let w = WriteOptions::default();
    for i in 0..4 {
        store
            .create(Some("ns"), configmap(&format!("c{i}"), json!({})), &w)
            .await
            .unwrap();
    }
    let page = store
        .list(
            None,
            &ListOptions {
                limit: Some(2),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let last = store
        .create(Some("ns"), configmap("c9", json!({})), &w)
        .await
        .unwrap();
    fx.storage.compact(rv(&last)).await.unwrap();
    let opts = ListOptions {
        limit: Some(2),
        continue_token: page.continue_token.unwrap(),
        ..Default::default()
    };
    let err = store.list(None, &opts).await.unwrap_err();
    assert_eq!(err.status.code, 410);
    assert!(err
        .status
        .message
        .starts_with("The provided continue parameter is too old"));
    let fresh = err.status.metadata["continue"]
        .as_str()
        .unwrap()
        .to_string();
    let resumed = store
        .list(
            None,
            &ListOptions {
                continue_token: fresh,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(names(&resumed), ["c2", "c3", "c9"]);
}

#[tokio::test]
async fn delete_collection_deletes_the_selection() {
    let fx = Fixture::new().await;
    let store = fx.store(configmaps());
    let w = WriteOptions::default();
    store
        .create(Some("ns"), configmap("x1", json!({"del": "yes"})), &w)
        .await
        .unwrap();
    store
        .create(Some("ns"), configmap("x2", json!({"del": "yes"})), &w)
        .await
        .unwrap();
    store
        .create(Some("ns"), configmap("keep", json!({})), &w)
        .await
        .unwrap();
    let opts = ListOptions {
        label_selector: "del=yes".into(),
        ..Default::default()
    };
    let deleted = store
        .delete_collection(Some("ns"), &opts, &DeleteOptions::default(), &w)
        .await
        .unwrap();
    assert_eq!(names(&deleted), ["x1", "x2"]);
    assert_eq!(
        names(&store.list(None, &ListOptions::default()).await.unwrap()),
        ["keep"]
    );
}
