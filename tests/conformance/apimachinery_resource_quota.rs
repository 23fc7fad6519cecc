//! `test/e2e/apimachinery/resource_quota.go`: the ResourceQuota conformance tests (the quota
//! controller's `status.used`, quota admission, the API operations; pods are never run).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, Container, Pod, PodSpec, PodTemplateSpec, ReplicationController,
    ReplicationControllerSpec, ResourceQuota, ResourceQuotaSpec, ResourceQuotaStatus,
    ResourceRequirements, Secret, Service, ServicePort, ServiceSpec,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::ByteString;
use kube::api::{
    Api, DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams, PropagationPolicy,
    WatchEvent,
};
use serde_json::json;

use crate::common::Apiary;
use crate::shared_apiary::{conformance_tests, namespace};
use crate::upstream_steps::{get_json, next_event, quantity_eq, suffix, watch};

const PAUSE: &str = "registry.k8s.io/pause:3.10";
const EXTENDED_RESOURCE: &str = "example.com/dongle";
/// How long to wait for a resource quota update to occur (upstream's `resourceQuotaTimeout`).
const QUOTA_TIMEOUT: Duration = Duration::from_secs(60);
/// The interval of this transcription's polls (upstream polls each second or faster).
const POLL: Duration = Duration::from_millis(100);

type ResourceList = BTreeMap<String, Quantity>;

fn list(entries: &[(&str, &str)]) -> ResourceList {
    entries
        .iter()
        .map(|(k, v)| (k.to_string(), Quantity(v.to_string())))
        .collect()
}

fn meta(name: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        ..Default::default()
    }
}

/// Upstream's `newTestResourceQuota`.
fn test_resource_quota(name: &str) -> ResourceQuota {
    let hard = list(&[
        ("pods", "5"),
        ("services", "10"),
        ("services.nodeports", "1"),
        ("services.loadbalancers", "1"),
        ("replicationcontrollers", "10"),
        ("resourcequotas", "1"),
        ("cpu", "1"),
        ("memory", "500Mi"),
        ("configmaps", "10"),
        ("secrets", "10"),
        ("persistentvolumeclaims", "10"),
        ("requests.storage", "10Gi"),
        ("ephemeral-storage", "50Gi"),
        (
            "gold.storageclass.storage.k8s.io/persistentvolumeclaims",
            "10",
        ),
        ("gold.storageclass.storage.k8s.io/requests.storage", "10Gi"),
        ("count/replicasets.apps", "5"),
        ("requests.example.com/dongle", "3"),
    ]);
    ResourceQuota {
        metadata: meta(name),
        spec: Some(ResourceQuotaSpec {
            hard: Some(hard),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Upstream's `newTestResourceQuotaWithScope`.
fn test_resource_quota_with_scope(name: &str, scope: &str) -> ResourceQuota {
    let mut hard = list(&[("pods", "5")]);
    if scope == "Terminating" || scope == "NotTerminating" {
        hard.extend(list(&[
            ("requests.cpu", "1"),
            ("requests.memory", "500Mi"),
            ("limits.cpu", "2"),
            ("limits.memory", "1Gi"),
        ]));
    }
    ResourceQuota {
        metadata: meta(name),
        spec: Some(ResourceQuotaSpec {
            hard: Some(hard),
            scopes: Some(vec![scope.into()]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Upstream's `newTestPodForQuota`: a pod that no node can be selected for.
fn test_pod_for_quota(name: &str, requests: ResourceList, limits: ResourceList) -> Pod {
    Pod {
        metadata: meta(name),
        spec: Some(PodSpec {
            node_selector: Some(BTreeMap::from([(
                "x-test.k8s.io/unsatisfiable".into(),
                "not-schedulable".into(),
            )])),
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

/// Upstream's `newTestServiceForQuota`.
fn test_service_for_quota(name: &str, type_: &str, allocate_lb_node_ports: bool) -> Service {
    Service {
        metadata: meta(name),
        spec: Some(ServiceSpec {
            type_: Some(type_.into()),
            ports: Some(vec![ServicePort {
                port: 80,
                target_port: Some(IntOrString::Int(80)),
                ..Default::default()
            }]),
            allocate_load_balancer_node_ports: (type_ == "LoadBalancer")
                .then_some(allocate_lb_node_ports),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn pod_template(name: &str, image: &str, grace_zero: bool) -> PodTemplateSpec {
    PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(BTreeMap::from([("name".into(), name.into())])),
            ..Default::default()
        }),
        spec: Some(PodSpec {
            termination_grace_period_seconds: grace_zero.then_some(0),
            containers: vec![Container {
                name: name.into(),
                image: Some(image.into()),
                ..Default::default()
            }],
            ..Default::default()
        }),
    }
}

/// Upstream's `countResourceQuota`: the number of quotas in `ns` once it has not changed for
/// five polls.
async fn count_resource_quota(api: &Api<ResourceQuota>) -> usize {
    stable_count(
        || async {
            api.list(&ListParams::default())
                .await
                .map(|l| l.items.len())
        },
        4,
    )
    .await
}

/// Polls `count` until it returned the same value more than `unchanged_polls` times in a row.
async fn stable_count<F, Fut>(count: F, unchanged_polls: usize) -> usize
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = kube::Result<usize>>,
{
    let (mut found, mut unchanged) = (0, 0);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let n = count().await.expect("list");
        if n == found {
            unchanged += 1;
            if unchanged > unchanged_polls {
                return found;
            }
        } else {
            unchanged = 0;
            found = n;
        }
        assert!(Instant::now() < deadline, "the count did not settle");
    }
}

/// Whether `quota`'s `status.used` has each of `used` (other resources are ignored).
fn has_used(quota: &ResourceQuota, used: &ResourceList) -> bool {
    let Some(actual) = quota.status.as_ref().and_then(|s| s.used.as_ref()) else {
        return false;
    };
    used.iter()
        .all(|(k, v)| actual.get(k).is_some_and(|a| quantity_eq(&a.0, &v.0)))
}

/// Upstream's `waitForResourceQuota`: until `status.used` shows `used`.
async fn wait_for_resource_quota(api: &Api<ResourceQuota>, name: &str, used: &ResourceList) {
    let deadline = Instant::now() + QUOTA_TIMEOUT;
    loop {
        let quota = api.get(name).await.expect("get quota");
        if has_used(&quota, used) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "quota {name}: status {:?} does not have used {used:?}",
            quota.status
        );
        tokio::time::sleep(POLL).await;
    }
}

/// Upstream's `ensureResourceQuota`: `status.used` shows `used` for 10 seconds.
async fn ensure_resource_quota(api: &Api<ResourceQuota>, name: &str, used: &ResourceList) {
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end {
        let quota = api.get(name).await.expect("get quota");
        assert!(
            has_used(&quota, used),
            "quota {name}: status {:?} does not keep used {used:?}",
            quota.status
        );
        tokio::time::sleep(POLL).await;
    }
}

fn set(used: &mut ResourceList, entries: &[(&str, &str)]) {
    used.extend(list(entries));
}

struct Fixture {
    client: kube::Client,
    ns: String,
    quotas: Api<ResourceQuota>,
}

async fn fixture(apiary: &Apiary) -> Fixture {
    let client = apiary.client().await;
    let ns = namespace(&client, "resourcequota").await;
    let quotas = Api::namespaced(client.clone(), &ns);
    Fixture { client, ns, quotas }
}

impl Fixture {
    fn api<K>(&self) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
    {
        Api::namespaced(self.client.clone(), &self.ns)
    }

    /// Counts the quotas, creates upstream's test quota (with `extra` hard limits) and waits for
    /// its status: the steps most tests start with. Returns the count before.
    async fn create_test_quota(&self, extra: &[(&str, &str)], used: &[(&str, &str)]) -> usize {
        let c = count_resource_quota(&self.quotas).await;
        let mut quota = test_resource_quota("test-quota");
        let hard = quota
            .spec
            .as_mut()
            .and_then(|s| s.hard.as_mut())
            .expect("hard");
        hard.extend(list(extra));
        self.quotas
            .create(&PostParams::default(), &quota)
            .await
            .expect("create quota");
        let mut want = list(&[("resourcequotas", &(c + 1).to_string())]);
        set(&mut want, used);
        wait_for_resource_quota(&self.quotas, "test-quota", &want).await;
        c
    }
}

/// `[sig-api-machinery] ResourceQuota should create a ResourceQuota and ensure its status is promptly calculated. [Conformance]`
/// (test/e2e/apimachinery/resource_quota.go).
async fn should_create_a_resource_quota_and_ensure_its_status_is_promptly_calculated(
    apiary: &Apiary,
) {
    let f = fixture(apiary).await;
    f.create_test_quota(&[], &[]).await;
}

/// `[sig-api-machinery] ResourceQuota should create a ResourceQuota and capture the life of a service. [Conformance]`
/// (test/e2e/apimachinery/resource_quota.go).
async fn should_create_a_resource_quota_and_capture_the_life_of_a_service(apiary: &Apiary) {
    let f = fixture(apiary).await;
    let c = f.create_test_quota(&[], &[]).await;
    let services: Api<Service> = f.api();
    let pp = PostParams::default();

    services
        .create(
            &pp,
            &test_service_for_quota("test-service", "ClusterIP", false),
        )
        .await
        .expect("create a Service");
    services
        .create(
            &pp,
            &test_service_for_quota("test-service-np", "NodePort", false),
        )
        .await
        .expect("create a NodePort Service");
    services
        .create(
            &pp,
            &test_service_for_quota("test-service-lb", "LoadBalancer", true),
        )
        .await
        .expect_err("a LoadBalancer Service with NodePort exceeds the remaining quota");

    let mut used = list(&[
        ("resourcequotas", &(c + 1).to_string()),
        ("services", "2"),
        ("services.nodeports", "1"),
    ]);
    wait_for_resource_quota(&f.quotas, "test-quota", &used).await;

    for name in ["test-service", "test-service-np"] {
        services
            .delete(name, &DeleteParams::default())
            .await
            .expect("delete Service");
    }
    set(&mut used, &[("services", "0"), ("services.nodeports", "0")]);
    wait_for_resource_quota(&f.quotas, "test-quota", &used).await;
}

/// `[sig-api-machinery] ResourceQuota should create a ResourceQuota and capture the life of a secret. [Conformance]`
/// (test/e2e/apimachinery/resource_quota.go).
async fn should_create_a_resource_quota_and_capture_the_life_of_a_secret(apiary: &Apiary) {
    let f = fixture(apiary).await;
    let secrets: Api<Secret> = f.api();
    // Discovering how many secrets are in the namespace by default (stable for 5 polls).
    let found = stable_count(
        || async {
            secrets
                .list(&ListParams::default())
                .await
                .map(|l| l.items.len())
        },
        4,
    )
    .await;
    let default_secrets = found.to_string();
    let hard_secrets = (found + 1).to_string();

    f.create_test_quota(
        &[("secrets", &hard_secrets)],
        &[("secrets", &default_secrets)],
    )
    .await;

    let secret = Secret {
        metadata: meta("test-secret"),
        data: Some(BTreeMap::from([
            ("data-1".into(), ByteString(b"value-1\n".to_vec())),
            ("data-2".into(), ByteString(b"value-2\n".to_vec())),
            ("data-3".into(), ByteString(b"value-3\n".to_vec())),
        ])),
        ..Default::default()
    };
    secrets
        .create(&PostParams::default(), &secret)
        .await
        .expect("create a Secret");
    let mut used = list(&[("secrets", &hard_secrets)]);
    wait_for_resource_quota(&f.quotas, "test-quota", &used).await;

    secrets
        .delete("test-secret", &DeleteParams::default())
        .await
        .expect("delete a secret");
    set(&mut used, &[("secrets", &default_secrets)]);
    wait_for_resource_quota(&f.quotas, "test-quota", &used).await;
}

/// `[sig-api-machinery] ResourceQuota should create a ResourceQuota and capture the life of a pod. [Conformance]`
/// (test/e2e/apimachinery/resource_quota.go).
async fn should_create_a_resource_quota_and_capture_the_life_of_a_pod(apiary: &Apiary) {
    let f = fixture(apiary).await;
    let c = f.create_test_quota(&[], &[]).await;
    let pods: Api<Pod> = f.api();
    let pp = PostParams::default();

    // Creating a Pod that fits quota
    let requests = list(&[
        ("cpu", "500m"),
        ("memory", "252Mi"),
        ("ephemeral-storage", "30Gi"),
        (EXTENDED_RESOURCE, "2"),
    ]);
    let limits = list(&[(EXTENDED_RESOURCE, "2")]);
    let mut pod_to_update = pods
        .create(&pp, &test_pod_for_quota("test-pod", requests, limits))
        .await
        .expect("create a pod that fits quota");

    let mut used = list(&[
        ("resourcequotas", &(c + 1).to_string()),
        ("pods", "1"),
        ("cpu", "500m"),
        ("memory", "252Mi"),
        ("ephemeral-storage", "30Gi"),
        ("requests.example.com/dongle", "2"),
    ]);
    wait_for_resource_quota(&f.quotas, "test-quota", &used).await;

    // Not allowing a pod to be created that exceeds remaining quota
    let requests = list(&[("cpu", "600m"), ("memory", "100Mi")]);
    pods.create(
        &pp,
        &test_pod_for_quota("fail-pod", requests, ResourceList::new()),
    )
    .await
    .expect_err("a pod exceeding the remaining quota is rejected");

    // ... (validation on extended resources)
    let requests = list(&[
        ("cpu", "500m"),
        ("memory", "100Mi"),
        ("ephemeral-storage", "30Gi"),
        (EXTENDED_RESOURCE, "2"),
    ]);
    let limits = list(&[(EXTENDED_RESOURCE, "2")]);
    pods.create(
        &pp,
        &test_pod_for_quota("fail-pod-for-extended-resource", requests, limits),
    )
    .await
    .expect_err("a pod exceeding the remaining extended resource quota is rejected");

    // Ensuring a pod cannot update its resource requirements
    let requests = list(&[
        ("cpu", "100m"),
        ("memory", "100Mi"),
        ("ephemeral-storage", "10Gi"),
    ]);
    pod_to_update.spec.as_mut().expect("spec").containers[0]
        .resources
        .get_or_insert_with(Default::default)
        .requests = Some(requests);
    pods.replace("test-pod", &PostParams::default(), &pod_to_update)
        .await
        .expect_err("a pod cannot update its resource requirements");

    // Ensuring attempts to update pod resource requirements did not change quota usage
    wait_for_resource_quota(&f.quotas, "test-quota", &used).await;

    pods.delete("test-pod", &DeleteParams::default().grace_period(0))
        .await
        .expect("delete the pod");
    set(
        &mut used,
        &[
            ("pods", "0"),
            ("cpu", "0"),
            ("memory", "0"),
            ("ephemeral-storage", "0"),
            ("requests.example.com/dongle", "0"),
        ],
    );
    wait_for_resource_quota(&f.quotas, "test-quota", &used).await;
}

/// `[sig-api-machinery] ResourceQuota should create a ResourceQuota and capture the life of a configMap. [Conformance]`
/// (test/e2e/apimachinery/resource_quota.go).
async fn should_create_a_resource_quota_and_capture_the_life_of_a_config_map(apiary: &Apiary) {
    let f = fixture(apiary).await;
    let configmaps: Api<ConfigMap> = f.api();
    // The number of configmaps once stable for 16 polls.
    let found = stable_count(
        || async {
            configmaps
                .list(&ListParams::default())
                .await
                .map(|l| l.items.len())
        },
        15,
    )
    .await;
    let default_configmaps = found.to_string();
    let hard_configmaps = (found + 1).to_string();

    let c = f
        .create_test_quota(
            &[("configmaps", &hard_configmaps)],
            &[("configmaps", &default_configmaps)],
        )
        .await;

    let configmap = ConfigMap {
        metadata: meta("test-configmap"),
        data: Some(BTreeMap::from([("a".into(), "b".into())])),
        ..Default::default()
    };
    configmaps
        .create(&PostParams::default(), &configmap)
        .await
        .expect("create a ConfigMap");
    let mut used = list(&[
        ("resourcequotas", &(c + 1).to_string()),
        ("configmaps", &hard_configmaps),
    ]);
    wait_for_resource_quota(&f.quotas, "test-quota", &used).await;

    configmaps
        .delete("test-configmap", &DeleteParams::default())
        .await
        .expect("delete a ConfigMap");
    set(&mut used, &[("configmaps", &default_configmaps)]);
    wait_for_resource_quota(&f.quotas, "test-quota", &used).await;
}

/// `[sig-api-machinery] ResourceQuota should create a ResourceQuota and capture the life of a replication controller. [Conformance]`
/// (test/e2e/apimachinery/resource_quota.go).
async fn should_create_a_resource_quota_and_capture_the_life_of_a_replication_controller(
    apiary: &Apiary,
) {
    let f = fixture(apiary).await;
    f.create_test_quota(&[], &[("replicationcontrollers", "0")])
        .await;
    let rcs: Api<ReplicationController> = f.api();
    let rc = ReplicationController {
        metadata: meta("test-rc"),
        spec: Some(ReplicationControllerSpec {
            replicas: Some(0),
            selector: Some(BTreeMap::from([("name".into(), "test-rc".into())])),
            template: Some(pod_template("test-rc", "nginx", false)),
            ..Default::default()
        }),
        ..Default::default()
    };
    rcs.create(&PostParams::default(), &rc)
        .await
        .expect("create a ReplicationController");
    let mut used = list(&[("replicationcontrollers", "1")]);
    wait_for_resource_quota(&f.quotas, "test-quota", &used).await;

    rcs.delete(
        "test-rc",
        &DeleteParams {
            propagation_policy: Some(PropagationPolicy::Background),
            ..Default::default()
        },
    )
    .await
    .expect("delete a ReplicationController");
    set(&mut used, &[("replicationcontrollers", "0")]);
    wait_for_resource_quota(&f.quotas, "test-quota", &used).await;
}

/// `[sig-api-machinery] ResourceQuota should create a ResourceQuota and capture the life of a replica set. [Conformance]`
/// (test/e2e/apimachinery/resource_quota.go).
async fn should_create_a_resource_quota_and_capture_the_life_of_a_replica_set(apiary: &Apiary) {
    let f = fixture(apiary).await;
    f.create_test_quota(&[], &[("count/replicasets.apps", "0")])
        .await;
    let replicasets: Api<ReplicaSet> = f.api();
    let rs = ReplicaSet {
        metadata: meta("test-rs"),
        spec: Some(ReplicaSetSpec {
            replicas: Some(0),
            selector: LabelSelector {
                match_labels: Some(BTreeMap::from([("name".into(), "test-rs".into())])),
                ..Default::default()
            },
            template: Some(pod_template("test-rs", "nginx", true)),
            ..Default::default()
        }),
        ..Default::default()
    };
    replicasets
        .create(&PostParams::default(), &rs)
        .await
        .expect("create a ReplicaSet");
    let mut used = list(&[("count/replicasets.apps", "1")]);
    wait_for_resource_quota(&f.quotas, "test-quota", &used).await;

    replicasets
        .delete("test-rs", &DeleteParams::default())
        .await
        .expect("delete a ReplicaSet");
    set(&mut used, &[("count/replicasets.apps", "0")]);
    wait_for_resource_quota(&f.quotas, "test-quota", &used).await;
}

/// `[sig-api-machinery] ResourceQuota should verify ResourceQuota with terminating scopes. [Conformance]`
/// (test/e2e/apimachinery/resource_quota.go).
async fn should_verify_resource_quota_with_terminating_scopes(apiary: &Apiary) {
    let f = fixture(apiary).await;
    let pods: Api<Pod> = f.api();
    let pp = PostParams::default();
    let zero = [
        ("pods", "0"),
        ("requests.cpu", "0"),
        ("requests.memory", "0"),
        ("limits.cpu", "0"),
        ("limits.memory", "0"),
    ];
    let charged = [
        ("pods", "1"),
        ("requests.cpu", "500m"),
        ("requests.memory", "200Mi"),
        ("limits.cpu", "1"),
        ("limits.memory", "400Mi"),
    ];

    f.quotas
        .create(
            &pp,
            &test_resource_quota_with_scope("quota-terminating", "Terminating"),
        )
        .await
        .expect("create the terminating quota");
    let mut used = list(&[("pods", "0")]);
    wait_for_resource_quota(&f.quotas, "quota-terminating", &used).await;
    f.quotas
        .create(
            &pp,
            &test_resource_quota_with_scope("quota-not-terminating", "NotTerminating"),
        )
        .await
        .expect("create the not terminating quota");
    wait_for_resource_quota(&f.quotas, "quota-not-terminating", &used).await;

    // Creating a long running pod
    let requests = list(&[("cpu", "500m"), ("memory", "200Mi")]);
    let limits = list(&[("cpu", "1"), ("memory", "400Mi")]);
    pods.create(
        &pp,
        &test_pod_for_quota("test-pod", requests.clone(), limits.clone()),
    )
    .await
    .expect("create a long running pod");
    set(&mut used, &charged);
    wait_for_resource_quota(&f.quotas, "quota-not-terminating", &used).await;
    set(&mut used, &zero);
    ensure_resource_quota(&f.quotas, "quota-terminating", &used).await;

    pods.delete("test-pod", &DeleteParams::default().grace_period(0))
        .await
        .expect("delete the pod");
    wait_for_resource_quota(&f.quotas, "quota-not-terminating", &used).await;

    // Creating a terminating pod
    let mut pod = test_pod_for_quota("terminating-pod", requests, limits);
    pod.spec.as_mut().expect("spec").active_deadline_seconds = Some(3600);
    pods.create(&pp, &pod)
        .await
        .expect("create a terminating pod");
    set(&mut used, &charged);
    wait_for_resource_quota(&f.quotas, "quota-terminating", &used).await;
    set(&mut used, &zero);
    wait_for_resource_quota(&f.quotas, "quota-not-terminating", &used).await;
    ensure_resource_quota(&f.quotas, "quota-not-terminating", &used).await;

    pods.delete("terminating-pod", &DeleteParams::default().grace_period(0))
        .await
        .expect("delete the pod");
    wait_for_resource_quota(&f.quotas, "quota-terminating", &used).await;
}

/// `[sig-api-machinery] ResourceQuota should verify ResourceQuota with best effort scope. [Conformance]`
/// (test/e2e/apimachinery/resource_quota.go).
async fn should_verify_resource_quota_with_best_effort_scope(apiary: &Apiary) {
    let f = fixture(apiary).await;
    let pods: Api<Pod> = f.api();
    let pp = PostParams::default();
    f.quotas
        .create(
            &pp,
            &test_resource_quota_with_scope("quota-besteffort", "BestEffort"),
        )
        .await
        .expect("create the best effort quota");
    let zero = list(&[("pods", "0")]);
    let one = list(&[("pods", "1")]);
    wait_for_resource_quota(&f.quotas, "quota-besteffort", &zero).await;
    f.quotas
        .create(
            &pp,
            &test_resource_quota_with_scope("quota-not-besteffort", "NotBestEffort"),
        )
        .await
        .expect("create the not best effort quota");
    wait_for_resource_quota(&f.quotas, "quota-not-besteffort", &zero).await;

    // Creating a best-effort pod
    pods.create(
        &pp,
        &test_pod_for_quota("pfpod", ResourceList::new(), ResourceList::new()),
    )
    .await
    .expect("create a best-effort pod");
    wait_for_resource_quota(&f.quotas, "quota-besteffort", &one).await;
    wait_for_resource_quota(&f.quotas, "quota-not-besteffort", &zero).await;
    pods.delete("pfpod", &DeleteParams::default().grace_period(0))
        .await
        .expect("delete the pod");
    wait_for_resource_quota(&f.quotas, "quota-besteffort", &zero).await;

    // Creating a not best-effort pod
    let requests = list(&[("cpu", "500m"), ("memory", "200Mi")]);
    let limits = list(&[("cpu", "1"), ("memory", "400Mi")]);
    pods.create(&pp, &test_pod_for_quota("burstable-pod", requests, limits))
        .await
        .expect("create a not best-effort pod");
    wait_for_resource_quota(&f.quotas, "quota-not-besteffort", &one).await;
    wait_for_resource_quota(&f.quotas, "quota-besteffort", &zero).await;
    pods.delete("burstable-pod", &DeleteParams::default().grace_period(0))
        .await
        .expect("delete the pod");
    wait_for_resource_quota(&f.quotas, "quota-not-besteffort", &zero).await;
}

fn hard_of(quota: &ResourceQuota) -> &ResourceList {
    quota
        .spec
        .as_ref()
        .and_then(|s| s.hard.as_ref())
        .expect("spec.hard")
}

fn status_hard_of(quota: &ResourceQuota) -> ResourceList {
    quota
        .status
        .as_ref()
        .and_then(|s| s.hard.clone())
        .unwrap_or_default()
}

/// `resource.Quantity` equality of one entry (a missing entry is the zero quantity).
fn has(list: &ResourceList, key: &str, value: &str) -> bool {
    quantity_eq(list.get(key).map_or("0", |q| q.0.as_str()), value)
}

/// `apiequality.Semantic.DeepEqual` of two resource lists.
fn semantic_eq(a: &ResourceList, b: &ResourceList) -> bool {
    a.len() == b.len()
        && a.iter()
            .all(|(k, v)| b.get(k).is_some_and(|w| quantity_eq(&v.0, &w.0)))
}

fn rv(quota: &ResourceQuota) -> u64 {
    quota
        .metadata
        .resource_version
        .as_deref()
        .and_then(|rv| rv.parse().ok())
        .expect("a valid resource version")
}

/// `[sig-api-machinery] ResourceQuota should be able to update and delete ResourceQuota. [Conformance]`
/// (test/e2e/apimachinery/resource_quota.go).
async fn should_be_able_to_update_and_delete_resource_quota(apiary: &Apiary) {
    let f = fixture(apiary).await;
    let mut quota = ResourceQuota {
        metadata: meta("test-quota"),
        spec: Some(ResourceQuotaSpec {
            hard: Some(list(&[("cpu", "1"), ("memory", "500Mi")])),
            ..Default::default()
        }),
        ..Default::default()
    };
    f.quotas
        .create(&PostParams::default(), &quota)
        .await
        .expect("create a ResourceQuota");

    let got = f
        .quotas
        .get("test-quota")
        .await
        .expect("get a ResourceQuota");
    assert!(has(hard_of(&got), "cpu", "1") && has(hard_of(&got), "memory", "500Mi"));

    // Updating a ResourceQuota (the object as first built: no resourceVersion)
    quota.spec.as_mut().expect("spec").hard = Some(list(&[("cpu", "2"), ("memory", "1Gi")]));
    let updated = f
        .quotas
        .replace("test-quota", &PostParams::default(), &quota)
        .await
        .expect("update a ResourceQuota");
    assert!(has(hard_of(&updated), "cpu", "2") && has(hard_of(&updated), "memory", "1Gi"));

    let got = f
        .quotas
        .get("test-quota")
        .await
        .expect("get a ResourceQuota");
    assert!(has(hard_of(&got), "cpu", "2") && has(hard_of(&got), "memory", "1Gi"));

    f.quotas
        .delete("test-quota", &DeleteParams::default())
        .await
        .expect("delete a ResourceQuota");
    match f.quotas.get("test-quota").await {
        Err(kube::Error::Api(s)) if s.code == 404 => {}
        other => panic!("Expected `not found` error, got: {other:?}"),
    }
}

/// `[sig-api-machinery] ResourceQuota should manage the lifecycle of a ResourceQuota [Conformance]`
/// (test/e2e/apimachinery/resource_quota.go).
async fn should_manage_the_lifecycle_of_a_resource_quota(apiary: &Apiary) {
    let f = fixture(apiary).await;
    let rq_name = format!("e2e-quota-{}", &suffix()[..5]);
    let selector = format!("e2e-rq-label={rq_name}");
    let quota = ResourceQuota {
        metadata: ObjectMeta {
            name: Some(rq_name.clone()),
            labels: Some(BTreeMap::from([("e2e-rq-label".into(), rq_name.clone())])),
            ..Default::default()
        },
        spec: Some(ResourceQuotaSpec {
            hard: Some(list(&[("cpu", "1"), ("memory", "500Mi")])),
            ..Default::default()
        }),
        ..Default::default()
    };
    f.quotas
        .create(&PostParams::default(), &quota)
        .await
        .expect("create a ResourceQuota");

    let got = f.quotas.get(&rq_name).await.expect("get a ResourceQuota");
    assert!(has(hard_of(&got), "cpu", "1") && has(hard_of(&got), "memory", "500Mi"));
    rv(&got);

    let all: Api<ResourceQuota> = Api::all(f.client.clone());
    let rq = all
        .list(&ListParams::default().labels(&selector))
        .await
        .expect("list ResourceQuotas");
    assert_eq!(rq.items.len(), 1, "Failed to find ResourceQuotes {rq_name}");

    let payload = json!({"metadata": {"labels": {rq_name.clone(): "patched"}}, "spec": {"hard": {"memory": "750Mi"}}});
    let patched = f
        .quotas
        .patch(
            &rq_name,
            &PatchParams::default(),
            &Patch::Strategic(&payload),
        )
        .await
        .expect("patch the ResourceQuota");
    assert_eq!(
        patched
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(&rq_name))
            .map(String::as_str),
        Some("patched")
    );
    assert!(has(hard_of(&patched), "memory", "750Mi"));
    assert!(
        rv(&rq.items[0]) < rv(&patched),
        "patched object should have a larger resource version"
    );

    f.quotas
        .delete_collection(
            &DeleteParams::default(),
            &ListParams::default().labels(&selector),
        )
        .await
        .expect("delete a collection of ResourceQuotas");
    match f.quotas.get(&rq_name).await {
        Err(kube::Error::Api(s)) if s.code == 404 => {}
        other => panic!("Expected `not found` error, got: {other:?}"),
    }
}

/// Upstream's `watchtools.Until` from `rv` (within `PodStartShort`, 2 minutes) until a quota
/// event satisfies `done`.
async fn watch_until(
    api: &Api<ResourceQuota>,
    selector: &str,
    rv: &str,
    done: impl Fn(&ResourceQuota) -> bool,
) {
    let mut events = watch(api, selector, rv).await;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for the watch event"
        );
        match next_event(&mut events).await {
            WatchEvent::Added(q) | WatchEvent::Modified(q) | WatchEvent::Deleted(q) if done(&q) => {
                return
            }
            _ => {}
        }
    }
}

/// `[sig-api-machinery] ResourceQuota should apply changes to a resourcequota status [Conformance]`
/// (test/e2e/apimachinery/resource_quota.go).
async fn should_apply_changes_to_a_resourcequota_status(apiary: &Apiary) {
    let f = fixture(apiary).await;
    let ns = f.ns.clone();
    let rq_name = format!("e2e-rq-status-{}", &suffix()[..5]);
    let selector = format!("e2e-rq-label={rq_name}");
    let all: Api<ResourceQuota> = Api::all(f.client.clone());
    let selected = ListParams::default().labels(&selector);
    let list_rv = |l: kube::core::ObjectList<ResourceQuota>| {
        l.metadata.resource_version.expect("list resourceVersion")
    };
    let rq_list = list_rv(all.list(&selected).await.expect("list"));

    let quota = ResourceQuota {
        metadata: ObjectMeta {
            name: Some(rq_name.clone()),
            labels: Some(BTreeMap::from([("e2e-rq-label".into(), rq_name.clone())])),
            ..Default::default()
        },
        spec: Some(ResourceQuotaSpec {
            hard: Some(list(&[("cpu", "500m"), ("memory", "500Mi")])),
            ..Default::default()
        }),
        ..Default::default()
    };
    f.quotas
        .create(&PostParams::default(), &quota)
        .await
        .expect("create the ResourceQuota");
    let initial = f.quotas.get(&rq_name).await.expect("get");
    assert!(has(hard_of(&initial), "cpu", "500m"));
    assert!(has(hard_of(&initial), "memory", "500Mi"));

    // Updating the /status (retry on conflict)
    let hard_limits = hard_of(&initial).clone();
    let mut updated = None;
    for _ in 0..5 {
        let mut current = f.quotas.get(&rq_name).await.expect("get");
        current.status = Some(ResourceQuotaStatus {
            hard: Some(hard_limits.clone()),
            ..Default::default()
        });
        match f
            .quotas
            .replace_status(&rq_name, &PostParams::default(), &current)
            .await
        {
            Ok(q) => {
                updated = Some(q);
                break;
            }
            Err(kube::Error::Api(s)) if s.code == 409 => continue,
            Err(e) => panic!("Failed to update resourceQuota: {e}"),
        }
    }
    let updated = updated.expect("updated without a conflict");
    let want = hard_of(&updated).clone();
    watch_until(&f.quotas, &selector, &rq_list, |q| {
        q.metadata.name.as_deref() == Some(rq_name.as_str())
            && q.metadata.namespace.as_deref() == Some(ns.as_str())
            && semantic_eq(&status_hard_of(q), &want)
    })
    .await;

    let rq_list = list_rv(all.list(&selected).await.expect("list"));
    // Patching hard spec values for cpu & memory
    let x = f
        .quotas
        .patch(
            &rq_name,
            &PatchParams::default(),
            &Patch::Strategic(json!({"spec": {"hard": {"cpu": "1", "memory": "1Gi"}}})),
        )
        .await
        .expect("patch the ResourceQuota");
    // Patching the /status
    let patched = f
        .quotas
        .patch_status(
            &rq_name,
            &PatchParams::default(),
            &Patch::Strategic(json!({"status": {"hard": hard_of(&x)}})),
        )
        .await
        .expect("patch /status");
    let want = hard_of(&patched).clone();
    watch_until(&f.quotas, &selector, &rq_list, |q| {
        q.metadata.name.as_deref() == Some(rq_name.as_str())
            && q.metadata.namespace.as_deref() == Some(ns.as_str())
            && semantic_eq(&status_hard_of(q), &want)
    })
    .await;

    // Get the /status
    let status = get_json(
        &f.client,
        &format!("/api/v1/namespaces/{ns}/resourcequotas/{rq_name}/status"),
    )
    .await;
    let rq: ResourceQuota = serde_json::from_value(status).expect("a ResourceQuota");
    assert!(has(&status_hard_of(&rq), "cpu", "1"), "{:?}", rq.status);
    assert!(
        has(&status_hard_of(&rq), "memory", "1Gi"),
        "{:?}",
        rq.status
    );

    let rq_list = list_rv(all.list(&selected).await.expect("list"));
    // Repatching the /status before checking Spec is unchanged
    let repatched = f
        .quotas
        .patch_status(
            &rq_name,
            &PatchParams::default(),
            &Patch::Strategic(json!({"status": {"hard": {"cpu": "2", "memory": "2Gi"}}})),
        )
        .await
        .expect("repatch /status");
    assert!(has(&status_hard_of(&repatched), "cpu", "2"));
    assert!(has(&status_hard_of(&repatched), "memory", "2Gi"));
    watch_until(&f.quotas, &selector, &rq_list, |q| {
        let hard = status_hard_of(q);
        q.metadata.name.as_deref() == Some(rq_name.as_str())
            && q.metadata.namespace.as_deref() == Some(ns.as_str())
            && has(&hard, "cpu", "2")
            && has(&hard, "memory", "2Gi")
    })
    .await;

    // The controller resets the status to the spec (upstream waits up to 6 minutes for a full
    // resync).
    let deadline = Instant::now() + Duration::from_secs(6 * 60);
    loop {
        if let Ok(q) = f.quotas.get(&rq_name).await {
            let (spec, status) = (hard_of(&q), status_hard_of(&q));
            if has(
                &status,
                "cpu",
                spec.get("cpu").map_or("0", |v| v.0.as_str()),
            ) && has(&status, "cpu", "1")
                && has(&status, "memory", "1Gi")
            {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "Error waiting for ResourceQuota {rq_name} to reset its Status"
        );
        tokio::time::sleep(POLL).await;
    }
}

conformance_tests!(rocksdb_only {
    should_create_a_resource_quota_and_ensure_its_status_is_promptly_calculated,
    should_create_a_resource_quota_and_capture_the_life_of_a_service,
    should_create_a_resource_quota_and_capture_the_life_of_a_secret,
    should_create_a_resource_quota_and_capture_the_life_of_a_pod,
    should_create_a_resource_quota_and_capture_the_life_of_a_config_map,
    should_create_a_resource_quota_and_capture_the_life_of_a_replication_controller,
    should_create_a_resource_quota_and_capture_the_life_of_a_replica_set,
    should_verify_resource_quota_with_terminating_scopes,
    should_verify_resource_quota_with_best_effort_scope,
    should_be_able_to_update_and_delete_resource_quota,
    should_manage_the_lifecycle_of_a_resource_quota,
    should_apply_changes_to_a_resourcequota_status,
});
