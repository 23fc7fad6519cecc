use serde_json::json;

use super::*;
use crate::admission::attributes::Record;
use crate::admission::plugins::common::testing::{attributes, create, stores};

const CLASSES: (&str, &str, &str) = ("node.k8s.io", "v1", "runtimeclasses");

#[test]
fn overhead_is_set_or_must_match() {
    let class =
        json!({"handler": "h", "overhead": {"podFixed": {"cpu": "250m", "memory": "120Mi"}}});
    let mut pod = json!({"spec": {}});
    set_overhead(&mut pod, &class).unwrap();
    assert_eq!(
        pod["spec"]["overhead"],
        json!({"cpu": "250m", "memory": "120Mi"})
    );
    assert_eq!(validate_overhead(&pod, Some(&class)), Ok(()));
    let mut same = json!({"spec": {"overhead": {"cpu": "0.25", "memory": "120Mi"}}});
    assert_eq!(set_overhead(&mut same, &class), Ok(()));
    let mut other = json!({"spec": {"overhead": {"cpu": "1"}}});
    assert_eq!(
        set_overhead(&mut other, &class),
        Err("pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead".into())
    );
    assert_eq!(
        validate_overhead(&other, Some(&json!({"handler": "h"}))),
        Err(
            "pod rejected: Pod Overhead set without corresponding RuntimeClass defined Overhead"
                .into()
        )
    );
    assert_eq!(validate_overhead(&json!({"spec": {}}), None), Ok(()));
}

#[test]
fn scheduling_merges_selectors_and_tolerations() {
    let class = json!({"handler": "h", "scheduling": {
        "nodeSelector": {"sandbox": "true"},
        "tolerations": [{"key": "sandbox", "operator": "Exists"}, {"key": "a", "operator": "Equal", "value": "1"}],
    }});
    let mut pod = json!({"spec": {"nodeSelector": {"zone": "z"},
        "tolerations": [{"key": "sandbox", "operator": "Equal", "value": "x"}, {"key": "a", "operator": "Equal", "value": "1"}]}});
    set_scheduling(&mut pod, &class).unwrap();
    assert_eq!(
        pod["spec"]["nodeSelector"],
        json!({"sandbox": "true", "zone": "z"})
    );
    assert_eq!(
        pod["spec"]["tolerations"],
        json!([{"key": "a", "operator": "Equal", "value": "1"}, {"key": "sandbox", "operator": "Exists"}]),
        "the pod's sandbox=x is covered by Exists; the equal one is kept once"
    );
    let mut conflicting = json!({"spec": {"nodeSelector": {"sandbox": "false"}}});
    assert_eq!(
        set_scheduling(&mut conflicting, &class),
        Err("conflict: runtimeClass.scheduling.nodeSelector[sandbox] = true; pod.spec.nodeSelector[sandbox] = false".into())
    );
}

#[tokio::test]
async fn the_plugin_looks_the_class_up() {
    let stores = stores(&[CLASSES]);
    create(
        &stores,
        CLASSES,
        json!({"metadata": {"name": "kata"}, "handler": "kata",
        "overhead": {"podFixed": {"cpu": "250m"}}}),
    )
    .await;
    let plugin = RuntimeClassPlugin {
        runtime_classes: stores.by_resource(CLASSES.0, CLASSES.1, CLASSES.2).unwrap(),
    };
    let record = Record::default();
    let created = attributes(AdmissionOperation::Create, ("", "pods", ""), "ns", "p");
    let call = Call {
        attributes: &created,
        record: &record,
    };
    let mut pod =
        json!({"metadata": {"name": "p"}, "spec": {"runtimeClassName": "kata", "containers": []}});
    plugin.admit(&call, &mut pod, None).await.unwrap();
    assert_eq!(pod["spec"]["overhead"], json!({"cpu": "250m"}));
    plugin.validate(&call, Some(&pod), None).await.unwrap();

    let mut missing = json!({"metadata": {"name": "p"}, "spec": {"runtimeClassName": "gone"}});
    let err = plugin.admit(&call, &mut missing, None).await.unwrap_err();
    assert_eq!(err.status.code, 403);
    assert_eq!(
        err.status.message,
        "pods \"p\" is forbidden: pod rejected: RuntimeClass \"gone\" not found"
    );

    let own = json!({"metadata": {"name": "p"}, "spec": {"overhead": {"cpu": "1"}}});
    let err = plugin.validate(&call, Some(&own), None).await.unwrap_err();
    assert_eq!(err.status.message, "pods \"p\" is forbidden: pod rejected: Pod Overhead set without corresponding RuntimeClass defined Overhead");
}
