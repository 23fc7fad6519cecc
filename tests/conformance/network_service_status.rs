//! `test/e2e/network/service.go`: the Services status lifecycle conformance test (the service
//! status subresource; no load-balancer controller is involved: the test writes the status itself).

use std::collections::BTreeMap;
use std::time::Duration;

use futures::TryStreamExt;
use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, ListParams, ObjectMeta, Patch, PatchParams,
    PostParams, WatchEvent,
};
use serde_json::{json, Value};

use crate::common::Apiary;
use crate::shared_apiary::{conformance_tests, namespace};
use crate::upstream_steps::{get_json, suffix, watch};

/// Upstream's `svcReadyTimeout`.
const SVC_READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Upstream's `watchtools.Until` from `resource_version` on the services of `services`' namespace
/// labelled `test-service-static=true`: a new watch replaying the events since that version, until
/// `done` holds for one of them, within `svcReadyTimeout`. Services are watched untyped, as the
/// condition the test writes carries a null `lastTransitionTime`, which k8s-openapi's
/// `Condition` cannot represent.
async fn until(
    services: &Api<DynamicObject>,
    resource_version: &str,
    what: &str,
    done: impl Fn(&WatchEvent<DynamicObject>) -> bool,
) {
    let mut events = watch(services, "test-service-static=true", resource_version).await;
    tokio::time::timeout(SVC_READY_TIMEOUT, async {
        while let Some(event) = events.try_next().await.expect("watch event") {
            if done(&event) {
                return;
            }
        }
        panic!("the watch closed before {what}");
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting for {what}"));
}

/// The object of an ADDED, MODIFIED or DELETED event.
fn object(event: &WatchEvent<DynamicObject>) -> Option<&DynamicObject> {
    match event {
        WatchEvent::Added(o) | WatchEvent::Modified(o) | WatchEvent::Deleted(o) => Some(o),
        _ => None,
    }
}

fn map_value<'a>(map: &'a Option<BTreeMap<String, String>>, key: &str) -> Option<&'a str> {
    map.as_ref().and_then(|m| m.get(key)).map(String::as_str)
}

/// `[sig-network] Services should complete a service status lifecycle [Conformance]`
/// (test/e2e/network/service.go).
async fn should_complete_a_service_status_lifecycle(apiary: &Apiary) {
    let client = apiary.client().await;
    let ns = namespace(&client, "services").await;
    let services: Api<Service> = Api::namespaced(client.clone(), &ns);
    let untyped: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), &ns, &ApiResource::erase::<Service>(&()));
    let name = format!("test-service-{}", &suffix()[..5]);
    let labels_flat = "test-service-static=true";

    let all: Api<Service> = Api::all(client.clone());
    let list = all
        .list(&ListParams::default().labels(labels_flat))
        .await
        .expect("failed to list Services");
    let list_rv = list.metadata.resource_version.clone().expect("list rv");

    // creating a Service
    let test_service = Service {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            labels: Some(BTreeMap::from([(
                "test-service-static".into(),
                "true".into(),
            )])),
            ..Default::default()
        },
        spec: Some(ServiceSpec {
            type_: Some("LoadBalancer".into()),
            ports: Some(vec![ServicePort {
                name: Some("http".into()),
                protocol: Some("TCP".into()),
                port: 80,
                target_port: Some(IntOrString::Int(80)),
                ..Default::default()
            }]),
            load_balancer_class: Some("example.com/internal-vip".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    services
        .create(&PostParams::default(), &test_service)
        .await
        .expect("failed to create Service");

    // watching for the Service to be added
    until(&untyped, &list_rv, "the Service to be added", |event| {
        object(event).is_some_and(|svc| {
            svc.metadata.name.as_deref() == Some(name.as_str())
                && svc.metadata.namespace.as_deref() == Some(ns.as_str())
                && map_value(&svc.metadata.labels, "test-service-static") == Some("true")
        })
    })
    .await;

    // getting /status: it decodes as a Service
    let status = get_json(
        &client,
        &format!("/api/v1/namespaces/{ns}/services/{name}/status"),
    )
    .await;
    let _: Service = serde_json::from_value(status)
        .expect("Failed to unmarshal JSON bytes to a Service object type");

    // patching the ServiceStatus
    let status_patch = json!({
        "metadata": {"annotations": {"patchedstatus": "true"}},
        "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.1"}]}},
    });
    services
        .patch_status(&name, &PatchParams::default(), &Patch::Merge(&status_patch))
        .await
        .expect("Could not patch service status");

    // watching for the Service to be patched
    until(
        &untyped,
        &list_rv,
        "the Service status to be patched",
        |event| {
            object(event).is_some_and(|svc| {
                svc.metadata.name.as_deref() == Some(name.as_str())
                    && svc.metadata.namespace.as_deref() == Some(ns.as_str())
                    && map_value(&svc.metadata.annotations, "patchedstatus") == Some("true")
            })
        },
    )
    .await;

    // updating the ServiceStatus (retry on conflict): client-go sends the appended
    // metav1.Condition with its zero `lastTransitionTime` as null.
    let mut updated = false;
    for _ in 0..5 {
        let mut to_update = untyped
            .get(&name)
            .await
            .expect("Unable to retrieve service");
        let status = to_update
            .data
            .as_object_mut()
            .expect("a service object")
            .entry("status")
            .or_insert_with(|| json!({}));
        let conditions = status
            .as_object_mut()
            .expect("status object")
            .entry("conditions")
            .or_insert_with(|| json!([]));
        conditions
            .as_array_mut()
            .expect("conditions array")
            .push(json!({
                "type": "StatusUpdate",
                "status": "True",
                "lastTransitionTime": null,
                "reason": "E2E",
                "message": "Set from e2e test",
            }));
        match untyped
            .replace_status(&name, &PostParams::default(), &to_update)
            .await
        {
            Ok(_) => {
                updated = true;
                break;
            }
            Err(kube::Error::Api(s)) if s.code == 409 => continue,
            Err(e) => panic!("Failed to UpdateStatus. {e}"),
        }
    }
    assert!(updated, "Failed to UpdateStatus: conflicts");

    // watching for the Service to be updated: upstream's check looks at the first condition only
    until(
        &untyped,
        &list_rv,
        "the Service status to be updated",
        |event| {
            let Some(svc) = object(event) else {
                return false;
            };
            if !(svc.metadata.name.as_deref() == Some(name.as_str())
                && svc.metadata.namespace.as_deref() == Some(ns.as_str())
                && map_value(&svc.metadata.annotations, "patchedstatus") == Some("true"))
            {
                return false;
            }
            let conditions = svc.data["status"]["conditions"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            conditions.first().is_some_and(|cond: &Value| {
                cond["type"] == "StatusUpdate"
                    && cond["reason"] == "E2E"
                    && cond["message"] == "Set from e2e test"
            })
        },
    )
    .await;

    // patching the service: the strategic merge patch is client-go's JSON of a Service with only
    // the label set (Go's encoding of the zero creationTimestamp, spec and status included).
    let service_patch = json!({
        "metadata": {"creationTimestamp": null, "labels": {"test-service": "patched"}},
        "spec": {},
        "status": {"loadBalancer": {}},
    });
    // (untyped: the answer carries the condition's zero lastTransitionTime as Go writes it, null,
    // which client-go decodes and k8s-openapi's typed Condition does not)
    untyped
        .patch(
            &name,
            &PatchParams::default(),
            &Patch::Strategic(&service_patch),
        )
        .await
        .expect("failed to patch service");

    // watching for the Service to be patched
    until(&untyped, &list_rv, "the Service to be patched", |event| {
        object(event).is_some_and(|svc| {
            svc.metadata.name.as_deref() == Some(name.as_str())
                && svc.metadata.namespace.as_deref() == Some(ns.as_str())
                && map_value(&svc.metadata.labels, "test-service") == Some("patched")
        })
    })
    .await;

    // deleting the service
    untyped
        .delete(&name, &DeleteParams::default())
        .await
        .expect("failed to delete the Service");

    // watching for the Service to be deleted
    until(&untyped, &list_rv, "the Service to be deleted", |event| {
        matches!(event, WatchEvent::Deleted(svc)
            if svc.metadata.name.as_deref() == Some(name.as_str())
                && svc.metadata.namespace.as_deref() == Some(ns.as_str())
                && map_value(&svc.metadata.labels, "test-service-static") == Some("true"))
    })
    .await;
}

conformance_tests!(rocksdb_only {
    should_complete_a_service_status_lifecycle,
});
