use serde_json::{json, Value};

use super::check::{check_request, quota_matches};
use super::evaluators::{pod_usage, pvc_usage, service_usage, Evaluator};
use super::quantity::{add, list_from_json, pretty_print, Quantity, ResourceList};
use super::usage::counted_resource;

fn q(text: &str) -> Quantity {
    Quantity::parse(text).expect(text)
}

fn list(value: Value) -> ResourceList {
    list_from_json(Some(&value))
}

#[test]
fn quantities_print_in_upstream_canonical_form() {
    for (text, canonical) in [
        ("100m", "100m"),
        ("0.5", "500m"),
        ("1500", "1500"),
        ("2000", "2k"),
        ("1Gi", "1Gi"),
        ("1024Mi", "1Gi"),
        ("1536Mi", "1536Mi"),
        ("512", "512"),
        ("1e3", "1e3"),
        ("1.5Gi", "1536Mi"),
        ("0.1n", "1n"),
        ("0", "0"),
    ] {
        assert_eq!(q(text).to_string(), canonical, "{text}");
    }
    assert_eq!(q("100m").plus(q("400m")).to_string(), "500m");
    assert_eq!(q("64Mi").plus(q("64Mi")).to_string(), "128Mi");
    // A zero takes the format of what is added to it.
    assert_eq!(Quantity::zero().plus(q("1Gi")).to_string(), "1Gi");
    assert_eq!(q("1").plus(q("1")).to_string(), "2");
    assert!(Quantity::parse("1.2.3").is_err());
    assert!(Quantity::parse("abc").is_err());
}

#[test]
fn pod_usage_counts_requests_limits_overhead_hugepages_and_extended_resources() {
    let pod = json!({"spec": {
        "containers": [
            {"name": "a", "resources": {
                "requests": {"cpu": "100m", "memory": "64Mi", "hugepages-2Mi": "2Mi",
                             "example.com/gpu": "1", "ephemeral-storage": "1Gi"},
                "limits": {"cpu": "200m", "memory": "128Mi"}}},
            {"name": "b", "resources": {"requests": {"cpu": "300m"}}}
        ],
        "initContainers": [{"name": "i", "resources": {"requests": {"cpu": "1"}}}],
        "overhead": {"cpu": "10m", "memory": "1Mi"}
    }});
    let usage = pod_usage(&pod);
    let printed = pretty_print(&usage);
    assert_eq!(
        printed,
        "count/pods=1,cpu=1010m,ephemeral-storage=1Gi,hugepages-2Mi=2Mi,limits.cpu=210m,\
limits.memory=129Mi,memory=65Mi,pods=1,requests.cpu=1010m,requests.ephemeral-storage=1Gi,\
requests.example.com/gpu=1,requests.hugepages-2Mi=2Mi,requests.memory=65Mi"
    );
    let mut done = pod.clone();
    done["status"] = json!({"phase": "Succeeded"});
    assert_eq!(pretty_print(&pod_usage(&done)), "count/pods=1");
}

#[test]
fn sidecars_add_to_the_pod_requests() {
    let pod = json!({"spec": {
        "containers": [{"name": "a", "resources": {"requests": {"cpu": "100m"}}}],
        "initContainers": [
            {"name": "s", "restartPolicy": "Always", "resources": {"requests": {"cpu": "50m"}}},
            {"name": "i", "resources": {"requests": {"cpu": "100m"}}}
        ]
    }});
    assert_eq!(pod_usage(&pod)["requests.cpu"].to_string(), "150m");
}

#[test]
fn service_and_claim_usage() {
    let lb = json!({"spec": {"type": "LoadBalancer", "ports": [{"port": 80}, {"port": 443}]}});
    assert_eq!(
        pretty_print(&service_usage(&lb)),
        "count/services=1,services=1,services.loadbalancers=1,services.nodeports=2"
    );
    let np = json!({"spec": {"type": "NodePort", "ports": [{"port": 80}]}});
    assert_eq!(
        pretty_print(&service_usage(&np)),
        "count/services=1,services=1,services.nodeports=1"
    );
    let pvc = json!({"spec": {"storageClassName": "gold",
        "resources": {"requests": {"storage": "1Gi"}}}});
    assert_eq!(
        pretty_print(&pvc_usage(&pvc)),
        "count/persistentvolumeclaims=1,gold.storageclass.storage.k8s.io/persistentvolumeclaims=1,\
gold.storageclass.storage.k8s.io/requests.storage=1Gi,persistentvolumeclaims=1,requests.storage=1Gi"
    );
}

#[test]
fn resource_names_map_to_their_resources() {
    let pair = |g: &str, r: &str| Some((g.to_string(), r.to_string()));
    assert_eq!(counted_resource("requests.cpu"), pair("", "pods"));
    assert_eq!(
        counted_resource("requests.example.com/gpu"),
        pair("", "pods")
    );
    assert_eq!(counted_resource("services.nodeports"), pair("", "services"));
    assert_eq!(
        counted_resource("gold.storageclass.storage.k8s.io/requests.storage"),
        pair("", "persistentvolumeclaims")
    );
    assert_eq!(
        counted_resource("count/deployments.apps"),
        pair("apps", "deployments")
    );
    assert_eq!(
        counted_resource("count/widgets.example.com"),
        pair("example.com", "widgets")
    );
    assert_eq!(counted_resource("count/configmaps"), pair("", "configmaps"));
    assert_eq!(counted_resource("secrets"), pair("", "secrets"));
    assert_eq!(counted_resource("bogus"), None);
    let configmaps = Evaluator::for_resource("", "configmaps");
    assert_eq!(
        pretty_print(&configmaps.usage(&json!({}))),
        "configmaps=1,count/configmaps=1"
    );
}

fn quota(name: &str, hard: Value, used: Value) -> Value {
    json!({"metadata": {"name": name, "namespace": "ns", "resourceVersion": "5"},
           "spec": {"hard": hard.clone()},
           "status": {"hard": hard, "used": used}})
}

fn pod(cpu: Option<&str>) -> Value {
    let resources = match cpu {
        Some(cpu) => json!({"requests": {"cpu": cpu}, "limits": {"cpu": cpu}}),
        None => json!({}),
    };
    json!({"metadata": {"name": "p", "namespace": "ns"},
           "spec": {"containers": [{"name": "c", "resources": resources}]}})
}

#[test]
fn over_quota_is_upstreams_exceeded_message() {
    let quotas = [quota(
        "compute",
        json!({"requests.cpu": "1", "pods": "10"}),
        json!({"requests.cpu": "800m", "pods": "2"}),
    )];
    let err =
        check_request(&Evaluator::Pods, &quotas, &pod(Some("500m")), None, false).unwrap_err();
    assert_eq!(
        err,
        "exceeded quota: compute, requested: requests.cpu=500m, used: requests.cpu=800m, limited: requests.cpu=1"
    );
    let charges =
        check_request(&Evaluator::Pods, &quotas, &pod(Some("200m")), None, false).unwrap();
    assert_eq!(charges.len(), 1);
    assert_eq!(pretty_print(&charges[0].used), "pods=3,requests.cpu=1");
}

#[test]
fn compute_quota_needs_requests() {
    let quotas = [quota(
        "compute",
        json!({"requests.cpu": "1", "limits.memory": "1Gi"}),
        json!({"requests.cpu": "0", "limits.memory": "0"}),
    )];
    let err = check_request(&Evaluator::Pods, &quotas, &pod(None), None, false).unwrap_err();
    assert_eq!(
        err,
        "failed quota: compute: must specify limits.memory,requests.cpu"
    );
}

#[test]
fn quota_without_status_is_unknown() {
    let mut q = quota("fresh", json!({"pods": "1"}), json!({}));
    q["status"] = json!({"hard": {"pods": "1"}});
    let err = check_request(&Evaluator::Pods, &[q], &pod(None), None, false).unwrap_err();
    assert_eq!(err, "status unknown for quota: fresh, resources: pods");
}

#[test]
fn every_quota_of_the_namespace_is_checked() {
    let quotas = [
        quota("big", json!({"pods": "10"}), json!({"pods": "1"})),
        quota("small", json!({"pods": "1"}), json!({"pods": "1"})),
    ];
    let err = check_request(&Evaluator::Pods, &quotas, &pod(None), None, false).unwrap_err();
    assert_eq!(
        err,
        "exceeded quota: small, requested: pods=1, used: pods=1, limited: pods=1"
    );
}

#[test]
fn scopes_select_pods() {
    let mut scoped = quota("be", json!({"pods": "1"}), json!({"pods": "0"}));
    scoped["spec"]["scopes"] = json!(["BestEffort"]);
    let evaluator = Evaluator::Pods;
    assert!(quota_matches(&evaluator, &scoped, &pod(None)));
    assert!(!quota_matches(&evaluator, &scoped, &pod(Some("1"))));
    let mut terminating = scoped.clone();
    terminating["spec"]["scopes"] = json!(["Terminating"]);
    let mut deadline = pod(None);
    deadline["spec"]["activeDeadlineSeconds"] = json!(30);
    assert!(quota_matches(&evaluator, &terminating, &deadline));
    assert!(!quota_matches(&evaluator, &terminating, &pod(None)));
    let mut by_class = scoped.clone();
    by_class["spec"]["scopes"] = json!([]);
    by_class["spec"]["scopeSelector"] = json!({"matchExpressions": [
        {"scopeName": "PriorityClass", "operator": "In", "values": ["high"]}]});
    let mut high = pod(None);
    high["spec"]["priorityClassName"] = json!("high");
    assert!(quota_matches(&evaluator, &by_class, &high));
    assert!(!quota_matches(&evaluator, &by_class, &pod(None)));
    by_class["spec"]["scopeSelector"]["matchExpressions"][0]["operator"] = json!("NotIn");
    assert!(!quota_matches(&evaluator, &by_class, &high));
    assert!(quota_matches(&evaluator, &by_class, &pod(None)));
    by_class["spec"]["scopeSelector"] = json!({"matchExpressions": [
        {"scopeName": "PriorityClass", "operator": "Exists"}]});
    assert!(quota_matches(&evaluator, &by_class, &high));
    assert!(!quota_matches(&evaluator, &by_class, &pod(None)));
    // Scoped quotas track pods only.
    let configmaps = Evaluator::for_resource("", "configmaps");
    let mut counted = quota("cm", json!({"configmaps": "1"}), json!({"configmaps": "0"}));
    counted["spec"]["scopes"] = json!(["BestEffort"]);
    assert!(!quota_matches(&configmaps, &counted, &json!({})));
}

#[test]
fn updates_are_charged_their_growth() {
    let quotas = [quota(
        "storage",
        json!({"requests.storage": "10Gi"}),
        json!({"requests.storage": "4Gi"}),
    )];
    let claim = |size: &str| {
        json!({"metadata": {"name": "c", "namespace": "ns", "resourceVersion": "3"},
               "spec": {"resources": {"requests": {"storage": size}}}})
    };
    let evaluator = Evaluator::PersistentVolumeClaims;
    let charges = check_request(
        &evaluator,
        &quotas,
        &claim("6Gi"),
        Some(&claim("4Gi")),
        false,
    )
    .unwrap();
    assert_eq!(pretty_print(&charges[0].used), "requests.storage=6Gi");
    let err = check_request(
        &evaluator,
        &quotas,
        &claim("12Gi"),
        Some(&claim("4Gi")),
        false,
    )
    .unwrap_err();
    assert_eq!(
        err,
        "exceeded quota: storage, requested: requests.storage=8Gi, used: requests.storage=4Gi, limited: requests.storage=10Gi"
    );
    assert_eq!(
        add(&list(json!({"a": "1"})), &list(json!({"b": "2"}))).len(),
        2
    );
}
