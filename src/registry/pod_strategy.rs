//! Pods: the parts of upstream's pod strategy (`pkg/registry/core/pod/strategy.go`) that shape what
//! a client sees right after a create: a new pod's status is reset to phase `Pending` with its QoS
//! class, whatever the client sent, as kube-apiserver does before any kubelet reports on it.

use std::sync::Arc;

use futures::future::BoxFuture;
use serde_json::{json, Value};

use super::catalog::ResourceInfo;
use super::strategy::{DefaultStrategy, Strategy};
use crate::admission::pod::PodAdmission;
use crate::api::status::ApiResult;
use crate::registry::store::Store;
use crate::registry::validation::names::NameRule;
use crate::registry::validation::FieldError;

/// The pod strategy: the generic rules, pod defaults and validation, the pod admission plugins,
/// and the create-time status.
#[derive(Debug)]
pub struct PodStrategy {
    base: DefaultStrategy,
    admission: PodAdmission,
}

impl PodStrategy {
    pub fn new(info: &ResourceInfo) -> Self {
        Self {
            base: DefaultStrategy::for_resource(info),
            admission: PodAdmission::default(),
        }
    }
}

impl Strategy for PodStrategy {
    fn name_rule(&self) -> NameRule {
        self.base.name_rule()
    }
    fn has_status_subresource(&self) -> bool {
        self.base.has_status_subresource()
    }
    fn tracks_generation(&self) -> bool {
        self.base.tracks_generation()
    }
    fn allow_create_on_update(&self) -> bool {
        self.base.allow_create_on_update()
    }
    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        self.base.prepare_for_update(new, old);
    }
    fn validate_create(&self, obj: &Value) -> Vec<FieldError> {
        self.base.validate_create(obj)
    }
    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        self.base.validate_update(new, old)
    }
    fn admit_create<'a>(&'a self, obj: &'a mut Value) -> BoxFuture<'a, ApiResult<()>> {
        Box::pin(self.admission.admit(obj))
    }
    fn connect(&self, stores: &dyn Fn(&str, &str) -> Option<Arc<Store>>) {
        if let Some(service_accounts) = stores("", "serviceaccounts") {
            self.admission.connect(
                service_accounts,
                stores("scheduling.k8s.io", "priorityclasses"),
            );
        }
    }
    /// Pod defaults, then the status of a new pod (its QoS class follows the defaulted
    /// requests).
    fn prepare_for_create(&self, obj: &mut Value) {
        self.base.prepare_for_create(obj);
        let qos = qos_class(obj);
        if let Some(map) = obj.as_object_mut() {
            map.insert(
                "status".into(),
                json!({"phase": "Pending", "qosClass": qos}),
            );
        }
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
    fn a_created_pod_is_pending_whatever_status_was_sent() {
        let strategy = PodStrategy {
            admission: PodAdmission::default(),
            base: DefaultStrategy {
                resource: ("", "pods"),
                name_rule: NameRule::Dns1123Subdomain,
                status_subresource: true,
                tracks_generation: false,
                allow_create_on_update: false,
            },
        };
        let mut obj = pod(json!({}));
        obj["status"] = json!({"phase": "Running", "podIP": "10.0.0.9"});
        strategy.prepare_for_create(&mut obj);
        assert_eq!(
            obj["status"],
            json!({"phase": "Pending", "qosClass": "BestEffort"})
        );
    }
}
