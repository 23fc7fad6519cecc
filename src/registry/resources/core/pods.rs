//! Pods (`pkg/registry/core/pod/strategy.go`): defaults and validation, graceful deletion, a delete
//! answering the pod, and what a client sees right after a create: a new pod's status is reset to
//! phase `Pending` with its QoS class, whatever the client sent, as kube-apiserver does before any
//! kubelet reports on it.

use serde_json::{json, Value};

use super::pod_subresources;
use crate::registry::defaults;
use crate::registry::resources::{Rules, SubresourceRules};
use crate::registry::strategy::{ConnectRest, CreateRest};
use crate::registry::validation::pod_spec;

/// The rules of pods: defaults and validation (the stored pod defaulted before an update is
/// compared with it), a new pod's status, graceful deletion, a delete answers the pod,
/// `pods/<name>/binding` takes a Binding and `eviction` an Eviction; `ephemeralcontainers` and `resize` take updates.
pub const RULES: Rules = Rules {
    returns_deleted_object: true,
    create_rest: pod_creates,
    after_create_defaults: Some(pending_status),
    graceful_delete: Some(pod_grace_period),
    defaults: defaults::pod,
    validate_create: pod_spec::validate_pod,
    validate_update: Some(pod_spec::validate_pod_update),
    defaults_stored_before_update: true,
    // The pod status strategy: kubelets must not touch owner references (nor the deletion).
    status_resets: &[
        &["spec"],
        &["metadata", "deletionTimestamp"],
        &["metadata", "ownerReferences"],
    ],
    subresources: Some(SubresourceRules {
        serves: pod_subresources::serves,
        prepare_update: pod_subresources::prepare_update,
        validate_update: pod_subresources::validate_update,
    }),
    connect: pod_connects,
    ..Rules::GENERIC
};

/// A new pod's status: phase `Pending` with the QoS class of its (defaulted) requests.
fn pending_status(pod: &mut Value) {
    let qos = qos_class(pod);
    if let Some(map) = pod.as_object_mut() {
        map.insert(
            "status".into(),
            json!({"phase": "Pending", "qosClass": qos}),
        );
    }
}

fn pod_creates(subresource: Option<&str>) -> Option<CreateRest> {
    match subresource {
        None => Some(CreateRest::Store),
        Some("binding") => Some(CreateRest::Binding),
        Some("eviction") => Some(CreateRest::Eviction),
        Some(_) => None,
    }
}

fn pod_connects(subresource: &str) -> Option<ConnectRest> {
    match subresource {
        "log" => Some(ConnectRest::PodLog),
        "exec" | "attach" => Some(ConnectRest::PodStream),
        "portforward" => Some(ConnectRest::PodPortForward),
        _ => None,
    }
}

/// The termination grace period of a pod whose `spec.terminationGracePeriodSeconds` is unset
/// (upstream's defaulting sets it on create).
pub const DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS: i64 = 30;

/// The grace period of a pod's first delete, as upstream's pod `CheckGracefulDelete`
/// (`pkg/registry/core/pod/strategy.go`): the requested `gracePeriodSeconds`, else
/// `spec.terminationGracePeriodSeconds` (30 when unset); 0 for a pod not bound to a node
/// (`spec.nodeName` empty) or terminated (phase `Succeeded` or `Failed`); a negative result
/// becomes 1.
pub fn pod_grace_period(pod: &Value, requested: Option<i64>) -> i64 {
    let mut period = requested.unwrap_or_else(|| {
        pod.pointer("/spec/terminationGracePeriodSeconds")
            .and_then(Value::as_i64)
            .unwrap_or(DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS)
    });
    let bound = pod
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .is_some_and(|node| !node.is_empty());
    let terminated = matches!(
        pod.pointer("/status/phase").and_then(Value::as_str),
        Some("Succeeded" | "Failed")
    );
    if !bound || terminated {
        period = 0;
    }
    if period < 0 {
        1
    } else {
        period
    }
}

/// Upstream's `GetPodQOS`: `Guaranteed` when every container (init containers included) limits
/// CPU and memory with requests equal to the limits, `BestEffort` when none requests or limits
/// anything, `Burstable` otherwise.
pub fn qos_class(pod: &Value) -> &'static str {
    let containers = ["containers", "initContainers"]
        .iter()
        .filter_map(|field| {
            pod.pointer(&format!("/spec/{field}"))
                .and_then(Value::as_array)
        })
        .flatten();
    let mut any_resources = false;
    let mut guaranteed = true;
    for container in containers {
        let requests = container
            .pointer("/resources/requests")
            .and_then(Value::as_object);
        let limits = container
            .pointer("/resources/limits")
            .and_then(Value::as_object);
        let relevant = |map: Option<&serde_json::Map<String, Value>>, name: &str| {
            map.and_then(|m| m.get(name))
                .filter(|q| q.as_str() != Some("0"))
                .cloned()
        };
        for resource in ["cpu", "memory"] {
            let request = relevant(requests, resource);
            let limit = relevant(limits, resource);
            any_resources |= request.is_some() || limit.is_some();
            match (&request, &limit) {
                (_, None) => guaranteed = false,
                (Some(request), Some(limit)) if request != limit => guaranteed = false,
                _ => {}
            }
        }
    }
    match (any_resources, guaranteed) {
        (false, _) => "BestEffort",
        (true, true) => "Guaranteed",
        (true, false) => "Burstable",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::strategy::Strategy;

    fn pod(resources: Value) -> Value {
        json!({"spec": {"containers": [{"name": "c", "image": "i", "resources": resources}]}})
    }

    #[test]
    fn qos_classes_follow_requests_and_limits() {
        assert_eq!(qos_class(&pod(json!({}))), "BestEffort");
        assert_eq!(
            qos_class(&pod(json!({"requests": {"cpu": "100m"}}))),
            "Burstable"
        );
        let equal = json!({"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "1", "memory": "1Gi"}});
        assert_eq!(qos_class(&pod(equal)), "Guaranteed");
        // Limits alone default the requests to them upstream: still Guaranteed.
        assert_eq!(
            qos_class(&pod(json!({"limits": {"cpu": "1", "memory": "1Gi"}}))),
            "Guaranteed"
        );
        let unequal = json!({"limits": {"cpu": "2", "memory": "1Gi"}, "requests": {"cpu": "1", "memory": "1Gi"}});
        assert_eq!(qos_class(&pod(unequal)), "Burstable");
    }

    #[test]
    fn graceful_delete_needs_a_bound_running_pod() {
        let bound = json!({"spec": {"nodeName": "n1", "terminationGracePeriodSeconds": 45}, "status": {"phase": "Running"}});
        assert_eq!(pod_grace_period(&bound, None), 45);
        assert_eq!(pod_grace_period(&bound, Some(5)), 5);
        assert_eq!(pod_grace_period(&bound, Some(0)), 0);
        let defaulted = json!({"spec": {"nodeName": "n1"}});
        assert_eq!(pod_grace_period(&defaulted, None), 30);
        let unbound = json!({"spec": {"terminationGracePeriodSeconds": 45}});
        assert_eq!(pod_grace_period(&unbound, Some(10)), 0);
        let done = json!({"spec": {"nodeName": "n1"}, "status": {"phase": "Succeeded"}});
        assert_eq!(pod_grace_period(&done, None), 0);
    }

    #[test]
    fn a_created_pod_is_pending_whatever_status_was_sent() {
        let strategy = crate::registry::resources::RulesStrategy::new(RULES, true);
        let mut obj = pod(json!({}));
        obj["status"] = json!({"phase": "Running", "podIP": "10.0.0.9"});
        strategy.prepare_for_create(&mut obj);
        assert_eq!(
            obj["status"],
            json!({"phase": "Pending", "qosClass": "BestEffort"})
        );
    }
}
