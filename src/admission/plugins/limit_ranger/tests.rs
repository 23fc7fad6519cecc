use serde_json::{json, Value};

use super::constraints::{pod_total, Amount};
use super::*;
use crate::admission::attributes::Record;
use crate::admission::plugins::common::testing::{attributes, create, stores};

const LIMIT_RANGES: (&str, &str, &str) = ("", "v1", "limitranges");

fn limit_range(limits: Value) -> Value {
    with_item_defaults(
        json!({"metadata": {"name": "lr", "namespace": "ns"}, "spec": {"limits": limits}}),
    )
}

fn container(name: &str, requests: Value, limits: Value) -> Value {
    json!({"name": name, "image": "i", "resources": {"requests": requests, "limits": limits}})
}

fn pod(containers: Vec<Value>) -> Value {
    json!({"metadata": {"name": "p", "namespace": "ns"}, "spec": {"containers": containers}})
}

#[test]
fn defaults_fill_what_containers_lack_and_say_so() {
    let range = limit_range(json!([{"type": "Container",
        "default": {"cpu": "500m", "memory": "256Mi"},
        "defaultRequest": {"cpu": "0.1", "memory": "128Mi"}}]));
    let mut pod = json!({"metadata": {"name": "p"}, "spec": {
        "initContainers": [{"name": "init"}],
        "containers": [{"name": "app", "resources": {"limits": {"cpu": "1"}}}],
    }});
    set_defaults(&range, &mut pod);
    assert_eq!(
        pod["spec"]["containers"][0]["resources"],
        json!({"limits": {"cpu": "1", "memory": "256Mi"}, "requests": {"cpu": "100m", "memory": "128Mi"}})
    );
    assert_eq!(
        pod["spec"]["initContainers"][0]["resources"],
        json!({"limits": {"cpu": "500m", "memory": "256Mi"}, "requests": {"cpu": "100m", "memory": "128Mi"}})
    );
    assert_eq!(
        pod["metadata"]["annotations"][ANNOTATION],
        "LimitRanger plugin set: cpu, memory request for container app; memory limit for container app; cpu, memory request for init container init; cpu, memory limit for init container init"
    );
    let mut full = pod.clone();
    full["metadata"] = json!({"name": "p"});
    set_defaults(&range, &mut full);
    assert!(
        full["metadata"].get("annotations").is_none(),
        "nothing set, no annotation"
    );
}

#[test]
fn item_defaults_follow_upstream_decoding() {
    let range =
        limit_range(json!([{"type": "Container", "max": {"cpu": "2"}, "min": {"memory": "1Mi"}}]));
    let item = &range["spec"]["limits"][0];
    assert_eq!(item["default"], json!({"cpu": "2"}));
    assert_eq!(item["defaultRequest"], json!({"cpu": "2", "memory": "1Mi"}));
}

#[test]
fn container_bounds_with_upstream_messages() {
    let range =
        limit_range(json!([{"type": "Container", "max": {"cpu": "2"}, "min": {"memory": "64Mi"}}]));
    let pod = pod(vec![container(
        "a",
        json!({"cpu": "2500m", "memory": "32Mi"}),
        json!({"cpu": "3"}),
    )]);
    assert_eq!(
        aggregate(validate_pod(&range, &pod)).unwrap(),
        "[minimum memory usage per Container is 64Mi, but request is 32Mi, maximum cpu usage per Container is 2, but limit is 3]"
    );
    let ok = pod_fixture_ok();
    assert!(validate_pod(&range, &ok).is_empty());
    let no_limit = pod_with_request_only();
    assert_eq!(
        aggregate(validate_pod(&range, &no_limit)).unwrap(),
        "maximum cpu usage per Container is 2.  No limit is specified"
    );
}

fn pod_fixture_ok() -> Value {
    pod(vec![container(
        "a",
        json!({"cpu": "1", "memory": "64Mi"}),
        json!({"cpu": "2000m"}),
    )])
}

fn pod_with_request_only() -> Value {
    pod(vec![container(
        "a",
        json!({"cpu": "1", "memory": "1Gi"}),
        json!({}),
    )])
}

#[test]
fn ratio_and_duplicates() {
    let range = limit_range(json!([{"type": "Container", "maxLimitRequestRatio": {"cpu": "2"}}]));
    let pod = pod(vec![
        container("a", json!({"cpu": "250m"}), json!({"cpu": "1"})),
        container("b", json!({"cpu": "250m"}), json!({"cpu": "1"})),
    ]);
    assert_eq!(
        aggregate(validate_pod(&range, &pod)).unwrap(),
        "cpu max limit to request ratio per Container is 2, but provided ratio is 4.000000",
        "the same message twice is said once, without brackets"
    );
    let zero = self::pod(vec![container("a", json!({}), json!({"cpu": "1"}))]);
    assert_eq!(
        validate_pod(&range, &zero),
        vec!["cpu max limit to request ratio per Container is 2, but no request is specified or request is 0".to_string()]
    );
}

#[test]
fn pod_totals_count_sidecars_and_the_largest_init_container() {
    let pod = json!({"spec": {
        "initContainers": [
            {"name": "big", "resources": {"requests": {"cpu": "3", "memory": "1Gi"}}},
            {"name": "sidecar", "restartPolicy": "Always", "resources": {"requests": {"cpu": "500m", "memory": "512Mi"}}},
        ],
        "containers": [
            {"name": "a", "resources": {"requests": {"cpu": "1", "memory": "1Gi"}}},
            {"name": "b", "resources": {"requests": {"cpu": "1"}}},
        ],
    }});
    let total = pod_total(&pod, "requests");
    assert_eq!(
        total["cpu"],
        Amount::parse("3").unwrap(),
        "the init container's 3 beats 2.5"
    );
    assert_eq!(total["memory"].text, "1536Mi");
    let range = limit_range(json!([{"type": "Pod", "max": {"cpu": "2"}}]));
    assert_eq!(
        validate_pod(&range, &pod),
        vec!["maximum cpu usage per Pod is 2.  No limit is specified".to_string()]
    );
}

#[test]
fn claims_are_bounded_by_their_storage_request() {
    let range = limit_range(
        json!([{"type": "PersistentVolumeClaim", "min": {"storage": "1Gi"}, "max": {"storage": "10Gi"}}]),
    );
    let claim = |size: &str| json!({"spec": {"resources": {"requests": {"storage": size}}}});
    assert!(validate_claim(&range, &claim("5Gi")).is_empty());
    assert_eq!(
        validate_claim(&range, &claim("20Gi")),
        vec![
            "maximum storage usage per PersistentVolumeClaim is 10Gi, but request is 20Gi"
                .to_string()
        ]
    );
    assert_eq!(
        validate_claim(&range, &claim("500Mi")),
        vec![
            "minimum storage usage per PersistentVolumeClaim is 1Gi, but request is 500Mi"
                .to_string()
        ]
    );
}

#[tokio::test]
async fn the_plugin_reads_the_namespace_limit_ranges() {
    let stores = stores(&[LIMIT_RANGES]);
    let range = json!({"metadata": {"name": "lr", "namespace": "ns"}, "spec": {"limits": [
        {"type": "Container", "max": {"cpu": "2"}, "defaultRequest": {"cpu": "100m"}},
        {"type": "PersistentVolumeClaim", "max": {"storage": "1Gi"}},
    ]}});
    create(&stores, LIMIT_RANGES, range).await;
    let other = json!({"metadata": {"name": "lr", "namespace": "other"}, "spec": {"limits": [
        {"type": "Container", "max": {"cpu": "1m"}}]}});
    create(&stores, LIMIT_RANGES, other).await;
    let plugin = LimitRangerPlugin {
        limit_ranges: stores.by_resource("", "v1", "limitranges").unwrap(),
    };
    let record = Record::default();
    let created = attributes(AdmissionOperation::Create, ("", "pods", ""), "ns", "p");
    let call = Call {
        attributes: &created,
        record: &record,
    };
    let mut pod = pod(vec![json!({"name": "a", "image": "i"})]);
    plugin.admit(&call, &mut pod, None).await.unwrap();
    assert_eq!(
        pod["spec"]["containers"][0]["resources"],
        json!({"limits": {"cpu": "2"}, "requests": {"cpu": "100m"}})
    );
    plugin.validate(&call, Some(&pod), None).await.unwrap();
    pod["spec"]["containers"][0]["resources"]["limits"]["cpu"] = json!("3");
    let err = plugin.validate(&call, Some(&pod), None).await.unwrap_err();
    assert_eq!(err.status.code, 403);
    assert_eq!(
        err.status.message,
        "pods \"p\" is forbidden: maximum cpu usage per Container is 2, but limit is 3"
    );

    // Pod updates are not limited; deleted objects neither.
    let updated = attributes(AdmissionOperation::Update, ("", "pods", ""), "ns", "p");
    let call = Call {
        attributes: &updated,
        record: &record,
    };
    plugin
        .validate(&call, Some(&pod), Some(&pod))
        .await
        .unwrap();

    // Claims are, on create and update.
    let claim = json!({"metadata": {"name": "c", "namespace": "ns"},
        "spec": {"resources": {"requests": {"storage": "2Gi"}}}});
    let claims = attributes(
        AdmissionOperation::Update,
        ("", "persistentvolumeclaims", ""),
        "ns",
        "c",
    );
    let call = Call {
        attributes: &claims,
        record: &record,
    };
    let err = plugin
        .validate(&call, Some(&claim), Some(&claim))
        .await
        .unwrap_err();
    assert_eq!(
        err.status.message,
        "persistentvolumeclaims \"c\" is forbidden: maximum storage usage per PersistentVolumeClaim is 1Gi, but request is 2Gi"
    );
    let mut deleting = claim.clone();
    deleting["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
    plugin
        .validate(&call, Some(&claim), Some(&deleting))
        .await
        .unwrap();

    // A generated name is named by its prefix.
    let generated = attributes(AdmissionOperation::Create, ("", "pods", ""), "ns", "");
    let call = Call {
        attributes: &generated,
        record: &record,
    };
    let mut unnamed = pod.clone();
    unnamed["metadata"] = json!({"generateName": "web-", "namespace": "ns"});
    let err = plugin
        .validate(&call, Some(&unnamed), None)
        .await
        .unwrap_err();
    assert!(err
        .status
        .message
        .starts_with("pods \"web-\" is forbidden: "));
}
