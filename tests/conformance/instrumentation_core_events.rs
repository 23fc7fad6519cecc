//! `test/e2e/instrumentation/core_events.go`: the core/v1 Events conformance tests.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Event, EventSeries, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::common::Apiary;
use crate::shared_apiary::{conformance_tests, namespace};

/// The event upstream's tests create: `name` labelled `label=true`, about the namespace.
fn test_event(ns: &str, name: &str, label: &str, message: &str) -> Event {
    Event {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(BTreeMap::from([(label.into(), "true".into())])),
            ..Default::default()
        },
        message: Some(message.into()),
        reason: Some("Test".into()),
        type_: Some("Normal".into()),
        count: Some(1),
        involved_object: ObjectReference {
            namespace: Some(ns.into()),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// Whether the cluster-wide list selected by `testevent-constant=true` holds `ns/name`.
async fn listed_in_all_namespaces(client: &kube::Client, ns: &str, name: &str) -> bool {
    let all: Api<Event> = Api::all(client.clone());
    let list = all
        .list(&ListParams::default().labels("testevent-constant=true"))
        .await
        .expect("list all events");
    list.items.iter().any(|e| {
        e.metadata.name.as_deref() == Some(name) && e.metadata.namespace.as_deref() == Some(ns)
    })
}

/// `[sig-instrumentation] Events should manage the lifecycle of an event [Conformance]`
/// (test/e2e/instrumentation/core_events.go).
async fn should_manage_the_lifecycle_of_an_event(apiary: &Apiary) {
    let client = apiary.client().await;
    let ns = namespace(&client, "events").await;
    let api: Api<Event> = Api::namespaced(client.clone(), &ns);
    let name = "event-test";

    // creating a test event
    api.create(
        &PostParams::default(),
        &test_event(&ns, name, "testevent-constant", "This is a test event"),
    )
    .await
    .expect("failed to create test event");

    // listing all events in all namespaces
    assert!(
        listed_in_all_namespaces(&client, &ns, name).await,
        "unable to find test event {name} in namespace {ns}"
    );

    // patching the test event
    let patched_message = "This is a test event - patched";
    api.patch(
        name,
        &PatchParams::default(),
        &Patch::Strategic(json!({"message": patched_message})),
    )
    .await
    .expect("failed to patch the test event");

    // fetching the test event
    let event = api.get(name).await.expect("failed to fetch the test event");
    assert_eq!(
        event.message.as_deref(),
        Some(patched_message),
        "test event message does not match patch message"
    );

    // updating the test event
    let mut test_event = api.get(name).await.expect("failed to get test event");
    test_event.series = Some(EventSeries {
        count: Some(100),
        last_observed_time: Some(MicroTime(
            Timestamp::from_second(1505828956).expect("timestamp"),
        )),
    });
    test_event.metadata.resource_version = None;
    test_event.metadata.managed_fields = None;
    api.replace(name, &PostParams::default(), &test_event)
        .await
        .expect("failed to update the test event");

    // getting the test event
    let mut event = api.get(name).await.expect("failed to get test event");
    event.metadata.resource_version = None;
    event.metadata.managed_fields = None;
    assert_eq!(test_event, event, "test event wasn't properly updated");

    // deleting the test event
    api.delete(name, &DeleteParams::default())
        .await
        .expect("failed to delete the test event");

    // listing all events in all namespaces
    assert!(
        !listed_in_all_namespaces(&client, &ns, name).await,
        "should not have found test event {name} in namespace {ns}"
    );
}

/// `[sig-instrumentation] Events should delete a collection of events [Conformance]`
/// (test/e2e/instrumentation/core_events.go).
async fn should_delete_a_collection_of_events(apiary: &Apiary) {
    let client = apiary.client().await;
    let ns = namespace(&client, "events").await;
    let api: Api<Event> = Api::namespaced(client, &ns);
    let names = ["test-event-1", "test-event-2", "test-event-3"];

    // Create set of events
    for name in names {
        let message = format!("This is {name}");
        api.create(
            &PostParams::default(),
            &test_event(&ns, name, "testevent-set", &message),
        )
        .await
        .expect("failed to create event");
    }

    // get a list of Events with a label in the current namespace
    let selected = ListParams::default().labels("testevent-set=true");
    let list = api
        .list(&selected)
        .await
        .expect("failed to get a list of events");
    assert_eq!(
        list.items.len(),
        names.len(),
        "looking for expected number of pod templates events"
    );

    // delete collection of events
    api.delete_collection(&DeleteParams::default(), &selected)
        .await
        .expect("failed to delete the test event");

    // check that the list of events matches the requested quantity
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let list = api.list(&selected).await.expect("list events");
        if list.items.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "failed to count required events: {} remain",
            list.items.len()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

conformance_tests!(rocksdb_only {
    should_manage_the_lifecycle_of_an_event,
    should_delete_a_collection_of_events,
});
