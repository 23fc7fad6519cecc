//! `test/e2e/instrumentation/events.go`: the events.k8s.io/v1 Events API conformance tests.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Event as CoreEvent, ObjectReference};
use k8s_openapi::api::events::v1::{Event, EventSeries};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::common::Apiary;
use crate::shared_apiary::{conformance_tests, namespace};

fn micro_time(unix_seconds: i64) -> MicroTime {
    MicroTime(Timestamp::from_second(unix_seconds).expect("timestamp"))
}

/// Upstream's `newTestEvent`.
fn new_test_event(ns: &str, name: &str, label: &str) -> Event {
    Event {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(BTreeMap::from([(label.into(), "true".into())])),
            ..Default::default()
        },
        regarding: Some(ObjectReference {
            namespace: Some(ns.into()),
            ..Default::default()
        }),
        event_time: Some(micro_time(1505828956)),
        note: Some(format!("This is {name}")),
        action: Some("Do".into()),
        reason: Some("Test".into()),
        type_: Some("Normal".into()),
        reporting_controller: Some("test-controller".into()),
        reporting_instance: Some("test-node".into()),
        ..Default::default()
    }
}

/// Upstream's `eventExistsInList`: whether `api`'s list selected by `testevent-constant=true`
/// holds `ns/name`.
async fn event_exists_in_list(api: &Api<Event>, ns: &str, name: &str) -> bool {
    let list = api
        .list(&ListParams::default().labels("testevent-constant=true"))
        .await
        .expect("failed to list events");
    list.items.iter().any(|e| {
        e.metadata.name.as_deref() == Some(name) && e.metadata.namespace.as_deref() == Some(ns)
    })
}

/// `[sig-instrumentation] Events API should ensure that an event can be fetched, patched, deleted, and listed [Conformance]`
/// (test/e2e/instrumentation/events.go).
async fn should_ensure_that_an_event_can_be_fetched_patched_deleted_and_listed(apiary: &Apiary) {
    let client = apiary.client().await;
    let ns = namespace(&client, "events").await;
    let core_client: Api<CoreEvent> = Api::namespaced(client.clone(), &ns);
    let api: Api<Event> = Api::namespaced(client.clone(), &ns);
    let all_namespaces: Api<Event> = Api::all(client.clone());
    let name = "event-test";

    // creating a test event
    api.create(
        &PostParams::default(),
        &new_test_event(&ns, name, "testevent-constant"),
    )
    .await
    .expect("failed to create test event");

    // listing events in all namespaces
    assert!(
        event_exists_in_list(&all_namespaces, &ns, name).await,
        "Failed to find test event {name} in namespace {ns}, in list with cluster scope"
    );
    // listing events in test namespace
    assert!(
        event_exists_in_list(&api, &ns, name).await,
        "Failed to find test event {name} in namespace {ns}, in list with namespace scope"
    );

    // listing events with field selection filtering on source
    let filtered = core_client
        .list(&ListParams::default().fields("source=test-controller"))
        .await
        .expect("failed to get filtered list");
    assert!(
        filtered.items.len() == 1 && filtered.items[0].metadata.name.as_deref() == Some(name),
        "expected single event, got {:?}",
        filtered.items
    );

    // listing events with field selection filtering on reportingController
    let filtered = api
        .list(&ListParams::default().fields("reportingController=test-controller"))
        .await
        .expect("failed to get filtered list");
    assert!(
        filtered.items.len() == 1 && filtered.items[0].metadata.name.as_deref() == Some(name),
        "expected single event, got {:?}",
        filtered.items
    );

    // getting the test event
    let mut test_event = api.get(name).await.expect("failed to get test event");

    // patching the test event: the two-way strategic merge patch from the event to the event
    // with a series, as upstream computes it
    let event_series = EventSeries {
        count: 2,
        last_observed_time: micro_time(1505828951),
    };
    let patch = json!({"series": {"count": 2, "lastObservedTime": "2017-09-19T13:49:11.000000Z"}});
    api.patch(name, &PatchParams::default(), &Patch::Strategic(patch))
        .await
        .expect("failed to patch the test event");

    // getting the test event
    let mut event = api.get(name).await.expect("failed to get test event");
    event.metadata.resource_version = None;
    test_event.metadata.resource_version = None;
    event.metadata.managed_fields = None;
    test_event.metadata.managed_fields = None;
    test_event.series = Some(event_series);
    assert_eq!(test_event, event, "test event wasn't properly patched");

    // updating the test event
    test_event.series = Some(EventSeries {
        count: 100,
        last_observed_time: micro_time(1505828956),
    });
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

    // listing events in all namespaces
    assert!(
        !event_exists_in_list(&all_namespaces, &ns, name).await,
        "Should not have found test event {name} in namespace {ns}, in list with cluster scope after deletion"
    );
    // listing events in test namespace
    assert!(
        !event_exists_in_list(&api, &ns, name).await,
        "Should not have found test event {name} in namespace {ns}, in list with namespace scope after deletion"
    );
}

/// `[sig-instrumentation] Events API should delete a collection of events [Conformance]`
/// (test/e2e/instrumentation/events.go).
async fn should_delete_a_collection_of_events(apiary: &Apiary) {
    let client = apiary.client().await;
    let ns = namespace(&client, "events").await;
    let api: Api<Event> = Api::namespaced(client, &ns);
    let names = ["test-event-1", "test-event-2", "test-event-3"];

    // Create set of events
    for name in names {
        api.create(
            &PostParams::default(),
            &new_test_event(&ns, name, "testevent-set"),
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
        "unexpected event list: {list:?}"
    );

    // delete a list of events
    api.delete_collection(&DeleteParams::default(), &selected)
        .await
        .expect("failed to delete the test event");

    // check that the list of events matches the requested quantity
    let list = api
        .list(&selected)
        .await
        .expect("failed to get a list of events");
    assert_eq!(list.items.len(), 0, "unexpected event list: {list:?}");
}

conformance_tests!(rocksdb_only {
    should_ensure_that_an_event_can_be_fetched_patched_deleted_and_listed,
    should_delete_a_collection_of_events,
});
