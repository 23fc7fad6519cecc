//! `test/e2e/scheduling/limit_range.go`: the LimitRange conformance tests (LimitRanger admission
//! defaults and bounds; the pods are only created, never run).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{
    Container, LimitRange, LimitRangeItem, LimitRangeSpec, Pod, PodSpec, ResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::api::{
    Api, DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams, WatchEvent,
};
use serde_json::json;

use crate::common::Apiary;
use crate::shared_apiary::{conformance_tests, namespace};
use crate::upstream_steps::{next_event, quantity_eq, suffix, watch};

const PAUSE: &str = "registry.k8s.io/pause:3.10";

type ResourceList = BTreeMap<String, Quantity>;

/// Upstream's `getResourceList`: cpu, memory and ephemeral-storage, each only when given.
fn resources(cpu: &str, memory: &str, ephemeral_storage: &str) -> ResourceList {
    [
        ("cpu", cpu),
        ("memory", memory),
        ("ephemeral-storage", ephemeral_storage),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .map(|(k, v)| (k.to_string(), Quantity(v.to_string())))
    .collect()
}

/// Upstream's `equalResourceList`: the same names with equal quantities.
fn equal_resource_list(
    expected: &ResourceList,
    actual: Option<&ResourceList>,
) -> Result<(), String> {
    let empty = ResourceList::new();
    let actual = actual.unwrap_or(&empty);
    for (k, v) in expected {
        match actual.get(k) {
            Some(a) if quantity_eq(&v.0, &a.0) => {}
            a => return Err(format!("resource {k} expected {} actual {a:?}", v.0)),
        }
    }
    for (k, v) in actual {
        if !expected.contains_key(k) {
            return Err(format!("resource {k} expected none actual {}", v.0));
        }
    }
    Ok(())
}

/// Upstream's `equalResourceRequirement`.
fn equal_resource_requirement(
    requests: &ResourceList,
    limits: &ResourceList,
    actual: Option<&ResourceRequirements>,
) -> Result<(), String> {
    equal_resource_list(requests, actual.and_then(|r| r.requests.as_ref()))?;
    equal_resource_list(limits, actual.and_then(|r| r.limits.as_ref()))
}

/// Upstream's `newLimitRange` (one Container item).
fn limit_range(
    name: &str,
    labels: BTreeMap<String, String>,
    min: ResourceList,
    max: ResourceList,
    default_limit: ResourceList,
    default_request: ResourceList,
) -> LimitRange {
    LimitRange {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(labels),
            ..Default::default()
        },
        spec: Some(LimitRangeSpec {
            limits: vec![LimitRangeItem {
                type_: "Container".into(),
                min: Some(min),
                max: Some(max),
                default: Some(default_limit),
                default_request: Some(default_request),
                max_limit_request_ratio: Some(ResourceList::new()),
            }],
        }),
    }
}

/// Upstream's `newTestPod`.
fn test_pod(name: &str, requests: ResourceList, limits: ResourceList) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        spec: Some(PodSpec {
            containers: vec![Container {
                name: "pause".into(),
                image: Some(PAUSE.into()),
                resources: Some(ResourceRequirements {
                    requests: Some(requests),
                    limits: Some(limits),
                    ..Default::default()
                }),
                ..Default::default()
            }],
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn check_pod(pod: &Pod, requests: &ResourceList, limits: &ResourceList) {
    for container in &pod.spec.as_ref().expect("spec").containers {
        if let Err(e) = equal_resource_requirement(requests, limits, container.resources.as_ref()) {
            panic!("Pod {pod:?} does not have the expected requirements: {e}");
        }
    }
}

/// `[sig-scheduling] LimitRange should create a LimitRange with defaults and ensure pod has those defaults applied. [Conformance]`
/// (test/e2e/scheduling/limit_range.go).
async fn should_create_a_limit_range_with_defaults_and_ensure_pod_has_those_defaults_applied(
    apiary: &Apiary,
) {
    let client = apiary.client().await;
    let ns = namespace(&client, "limitrange").await;
    let ranges: Api<LimitRange> = Api::namespaced(client.clone(), &ns);
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let pp = PostParams::default();

    // Creating a LimitRange
    let min = resources("50m", "100Mi", "100Gi");
    let max = resources("500m", "500Mi", "500Gi");
    let default_limit = resources("500m", "500Mi", "500Gi");
    let default_request = resources("100m", "200Mi", "200Gi");
    let value = suffix();
    let lr = limit_range(
        "limit-range",
        BTreeMap::from([("time".into(), value.clone())]),
        min,
        max,
        default_limit.clone(),
        default_request.clone(),
    );

    // Setting up watch
    let selector = format!("time={value}");
    let list = ranges
        .list(&ListParams::default().labels(&selector))
        .await
        .expect("failed to query for limitRanges");
    assert!(list.items.is_empty());
    let mut events = watch(
        &ranges,
        &selector,
        list.metadata.resource_version.as_deref().expect("rv"),
    )
    .await;

    // Submitting a LimitRange
    let lr = ranges.create(&pp, &lr).await.expect("create LimitRange");

    // Verifying LimitRange creation was observed
    match next_event(&mut events).await {
        WatchEvent::Added(_) => {}
        other => panic!("Failed to observe limitRange creation : {other:?}"),
    }
    drop(events);

    // Fetching the LimitRange to ensure it has proper values
    let name = lr.metadata.name.clone().expect("name");
    let mut lr = ranges.get(&name).await.expect("get LimitRange");
    let item = &lr.spec.as_ref().expect("spec").limits[0];
    equal_resource_list(&default_request, item.default_request.as_ref()).expect("defaultRequest");
    equal_resource_list(&default_limit, item.default.as_ref()).expect("default");

    // Creating a Pod with no resource requirements
    let pod = pods
        .create(
            &pp,
            &test_pod("pod-no-resources", ResourceList::new(), ResourceList::new()),
        )
        .await
        .expect("create pod");
    // Ensuring Pod has resource requirements applied from LimitRange
    let pod = pods
        .get(pod.metadata.name.as_deref().expect("name"))
        .await
        .expect("get pod");
    check_pod(&pod, &default_request, &default_limit);

    // Creating a Pod with partial resource requirements
    let pod = pods
        .create(
            &pp,
            &test_pod(
                "pod-partial-resources",
                resources("", "150Mi", "150Gi"),
                resources("300m", "", ""),
            ),
        )
        .await
        .expect("create pod");
    // Ensuring Pod has merged resource requirements applied from LimitRange: a limit without a
    // request defaults the request to the limit.
    let pod = pods
        .get(pod.metadata.name.as_deref().expect("name"))
        .await
        .expect("get pod");
    check_pod(
        &pod,
        &resources("300m", "150Mi", "150Gi"),
        &resources("300m", "500Mi", "500Gi"),
    );

    // Failing to create a Pod with less than min resources
    pods.create(
        &pp,
        &test_pod(
            "pfpod",
            resources("10m", "50Mi", "50Gi"),
            ResourceList::new(),
        ),
    )
    .await
    .expect_err("a pod below min is rejected");
    // Failing to create a Pod with more than max resources
    pods.create(
        &pp,
        &test_pod(
            "pfpod",
            resources("600m", "600Mi", "600Gi"),
            ResourceList::new(),
        ),
    )
    .await
    .expect_err("a pod above max is rejected");

    // Updating a LimitRange
    let new_min = resources("9m", "49Mi", "49Gi");
    lr.spec.as_mut().expect("spec").limits[0].min = Some(new_min.clone());
    let lr = ranges
        .replace(&name, &pp, &lr)
        .await
        .expect("update LimitRange");

    // Verifying LimitRange updating is effective (poll up to 20 s)
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got = ranges.get(&name).await.expect("get LimitRange");
        let min = got.spec.as_ref().expect("spec").limits[0].min.clone();
        if min.as_ref() == Some(&new_min) {
            break;
        }
        assert!(Instant::now() < deadline, "min not updated: {min:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Creating a Pod with less than former min resources
    pods.create(
        &pp,
        &test_pod(
            "pfpod",
            resources("10m", "50Mi", "50Gi"),
            ResourceList::new(),
        ),
    )
    .await
    .expect("a pod above the new min is admitted");
    // Failing to create a Pod with more than max resources
    pods.create(
        &pp,
        &test_pod(
            "pfpod",
            resources("600m", "600Mi", "600Gi"),
            ResourceList::new(),
        ),
    )
    .await
    .expect_err("a pod above max is rejected");

    // Deleting a LimitRange
    ranges
        .delete(
            lr.metadata.name.as_deref().expect("name"),
            &DeleteParams {
                grace_period_seconds: Some(30),
                ..Default::default()
            },
        )
        .await
        .expect("delete LimitRange");

    // Verifying the LimitRange was deleted (e2eservice.RespondingTimeout: 2 minutes)
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let list = ranges
            .list(&ListParams::default())
            .await
            .expect("list LimitRanges");
        if list.items.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "LimitRange not deleted");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Creating a Pod with more than former max resources (retried up to 30 s, upstream allows
    // for the plugin's live-lookup cache)
    let pod = test_pod(
        "pfpod2",
        resources("600m", "600Mi", "600Gi"),
        ResourceList::new(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match pods.create(&pp, &pod).await {
            Ok(_) => break,
            Err(e) => assert!(Instant::now() < deadline, "create pod: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// `[sig-scheduling] LimitRange should list, patch and delete a LimitRange by collection [Conformance]`
/// (test/e2e/scheduling/limit_range.go).
async fn should_list_patch_and_delete_a_limit_range_by_collection(apiary: &Apiary) {
    let client = apiary.client().await;
    let ns = namespace(&client, "limitrange").await;
    let ranges: Api<LimitRange> = Api::namespaced(client.clone(), &ns);
    let lr_name = format!("e2e-limitrange-{}", &suffix()[..5]);
    let e2e_selector = format!("e2e-test={lr_name}");
    let patched_selector = format!("{lr_name}=patched");

    let lr = limit_range(
        &lr_name,
        BTreeMap::from([
            ("e2e-test".into(), lr_name.clone()),
            (lr_name.clone(), "created".into()),
        ]),
        resources("50m", "100Mi", "100Gi"),
        resources("500m", "500Mi", "500Gi"),
        resources("500m", "500Mi", "500Gi"),
        resources("100m", "200Mi", "200Gi"),
    );

    // Creating LimitRange in the test namespace
    let pp = PostParams::default();
    let created = ranges
        .create(&pp, &lr)
        .await
        .unwrap_or_else(|e| panic!("Failed to create limitRange {lr_name}: {e}"));

    // Creating another limitRange in another namespace
    let other_ns = namespace(&client, &lr_name).await;
    Api::<LimitRange>::namespaced(client.clone(), &other_ns)
        .create(&pp, &lr)
        .await
        .unwrap_or_else(|e| panic!("Failed to create limitRange {lr_name} in {other_ns}: {e}"));

    // Listing all LimitRanges with the label
    let all: Api<LimitRange> = Api::all(client.clone());
    let list = all
        .list(&ListParams::default().labels(&e2e_selector))
        .await
        .expect("Failed to list any limitRanges");
    assert_eq!(
        list.items.len(),
        2,
        "Failed to find the correct limitRange count"
    );

    // Patching the LimitRange in the test namespace
    let new_min = resources("9m", "49Mi", "49Gi");
    let mut limits = created.spec.clone().expect("spec").limits;
    limits[0].min = Some(new_min.clone());
    let payload = json!({
        "metadata": {
            "creationTimestamp": created.metadata.creation_timestamp,
            "labels": {lr_name.clone(): "patched"},
        },
        "spec": {"limits": limits},
    });
    let patched = ranges
        .patch(
            &lr_name,
            &PatchParams::default(),
            &Patch::Strategic(&payload),
        )
        .await
        .unwrap_or_else(|e| panic!("Failed to patch limitRange {lr_name}: {e}"));
    assert_eq!(
        patched
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(&lr_name))
            .map(String::as_str),
        Some("patched"),
        "{lr_name:?} label didn't have value 'patched' for this limitRange. Current labels: {:?}",
        patched.metadata.labels
    );
    let patched_min = patched.spec.as_ref().expect("spec").limits[0].min.as_ref();
    equal_resource_list(&new_min, patched_min).unwrap_or_else(|e| {
        panic!("LimitRange does not have the correct min limitRange. Currently is {patched_min:?}: {e}")
    });

    // Delete LimitRange by Collection with the patched label
    ranges
        .delete_collection(
            &DeleteParams::default(),
            &ListParams::default().labels(&patched_selector),
        )
        .await
        .expect("failed to delete the LimitRange by Collection");

    // Confirm that the limitRange has been deleted (poll up to 10 s)
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let list = ranges
            .list(&ListParams::default().labels(&patched_selector))
            .await
            .expect("list LimitRanges");
        if list.items.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "failed to count the required limitRanges"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Confirm that a single LimitRange still exists with the e2e label
    let list = all
        .list(&ListParams::default().labels(&e2e_selector))
        .await
        .expect("Failed to list any limitRanges");
    assert_eq!(
        list.items.len(),
        1,
        "Failed to find the correct limitRange count"
    );
}

conformance_tests!(rocksdb_only {
    should_create_a_limit_range_with_defaults_and_ensure_pod_has_those_defaults_applied,
    should_list_patch_and_delete_a_limit_range_by_collection,
});
