//! What a quota counts of each resource (`pkg/quota/v1/evaluator/core` and
//! `apiserver/pkg/quota/v1/generic`): the resource names an evaluator tracks, an object's usage,
//! scope matching and the pod constraints.

use std::collections::BTreeSet;

use serde_json::Value;

use super::quantity::{add, list_from_json, Quantity, ResourceList};
use super::scopes::{pod_matches_scope, Selector};

/// The suffix of the per-StorageClass names (`gold.storageclass.storage.k8s.io/requests.storage`).
pub const STORAGE_CLASS_SUFFIX: &str = ".storageclass.storage.k8s.io/";

/// The pod resources quota tracks by name.
const POD_RESOURCES: &[&str] = &[
    "count/pods",
    "cpu",
    "memory",
    "ephemeral-storage",
    "requests.cpu",
    "requests.memory",
    "requests.ephemeral-storage",
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
    "pods",
];

/// The pod resources every container must request or limit when a quota tracks them.
const VALIDATION_SET: &[&str] = &[
    "cpu",
    "memory",
    "requests.cpu",
    "requests.memory",
    "limits.cpu",
    "limits.memory",
];

const SERVICE_RESOURCES: &[&str] = &[
    "count/services",
    "services",
    "services.loadbalancers",
    "services.nodeports",
];

/// The evaluator of one group/resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Evaluator {
    Pods,
    Services,
    PersistentVolumeClaims,
    /// Any other resource: its object count, and the legacy name of some core ones.
    Count {
        name: String,
        alias: Option<&'static str>,
    },
}

/// `count/<resource>` for the core group, `count/<resource>.<group>` otherwise.
pub fn object_count_name(group: &str, resource: &str) -> String {
    if group.is_empty() {
        format!("count/{resource}")
    } else {
        format!("count/{resource}.{group}")
    }
}

/// Whether `name` is an extended resource (`example.com/gpu`): qualified by a domain that is not
/// `kubernetes.io`, and not a `requests.` name.
pub fn is_extended_resource(name: &str) -> bool {
    name.contains('/') && !name.contains("kubernetes.io/") && !name.starts_with("requests.")
}

impl Evaluator {
    /// The evaluator of `group`/`resource`.
    pub fn for_resource(group: &str, resource: &str) -> Self {
        match (group, resource) {
            ("", "pods") => Self::Pods,
            ("", "services") => Self::Services,
            ("", "persistentvolumeclaims") => Self::PersistentVolumeClaims,
            _ => {
                let alias = match (group, resource) {
                    ("", "configmaps") => Some("configmaps"),
                    ("", "secrets") => Some("secrets"),
                    ("", "replicationcontrollers") => Some("replicationcontrollers"),
                    ("", "resourcequotas") => Some("resourcequotas"),
                    _ => None,
                };
                Self::Count {
                    name: object_count_name(group, resource),
                    alias,
                }
            }
        }
    }

    /// The evaluators a quota with these hard names needs, besides object counts.
    pub fn builtins() -> [Self; 3] {
        [Self::Pods, Self::Services, Self::PersistentVolumeClaims]
    }

    /// Whether the evaluator acts on this operation (`Handles`).
    pub fn handles_create_only(&self) -> bool {
        matches!(self, Self::Pods | Self::Count { .. })
    }

    /// Whether it tracks the resource name `name`.
    pub fn tracks(&self, name: &str) -> bool {
        match self {
            Self::Pods => {
                POD_RESOURCES.contains(&name)
                    || name.starts_with("hugepages-")
                    || name.starts_with("requests.hugepages-")
                    || name
                        .strip_prefix("requests.")
                        .is_some_and(is_extended_resource)
            }
            Self::Services => SERVICE_RESOURCES.contains(&name),
            Self::PersistentVolumeClaims => {
                matches!(
                    name,
                    "count/persistentvolumeclaims" | "persistentvolumeclaims" | "requests.storage"
                ) || name
                    .split_once(STORAGE_CLASS_SUFFIX)
                    .is_some_and(|(_, r)| r == "persistentvolumeclaims" || r == "requests.storage")
            }
            Self::Count { name: count, alias } => name == count || Some(name) == *alias,
        }
    }

    /// `MatchingResources`: the names of `names` it tracks.
    pub fn matching_resources<'a>(
        &self,
        names: impl IntoIterator<Item = &'a String>,
    ) -> Vec<String> {
        names
            .into_iter()
            .filter(|n| self.tracks(n))
            .cloned()
            .collect()
    }

    /// Whether the object matches a scope selector; only pods have scopes.
    pub fn matches_scope(&self, selector: &Selector, obj: &Value) -> bool {
        match self {
            Self::Pods => pod_matches_scope(selector, obj),
            _ => false,
        }
    }

    /// The object's usage.
    pub fn usage(&self, obj: &Value) -> ResourceList {
        match self {
            Self::Pods => pod_usage(obj),
            Self::Services => service_usage(obj),
            Self::PersistentVolumeClaims => pvc_usage(obj),
            Self::Count { name, alias } => {
                let mut usage = ResourceList::new();
                usage.insert(name.clone(), Quantity::count(1));
                if let Some(alias) = alias {
                    usage.insert(alias.to_string(), Quantity::count(1));
                }
                usage
            }
        }
    }

    /// `Constraints`: a pod's containers must each request or limit the cpu and memory names a
    /// matching quota tracks; the error is upstream's `must specify <names>`.
    pub fn constraints(&self, required: &[String], obj: &Value) -> Result<(), String> {
        if *self != Self::Pods {
            return Ok(());
        }
        let required: BTreeSet<&str> = required
            .iter()
            .map(String::as_str)
            .filter(|n| VALIDATION_SET.contains(n))
            .collect();
        let mut missing = BTreeSet::new();
        for container in containers(obj, &["containers", "initContainers"]) {
            let requests = list_from_json(container.pointer("/resources/requests"));
            let limits = list_from_json(container.pointer("/resources/limits"));
            let usage = compute_usage(&requests, &limits);
            for name in &required {
                if !usage.contains_key(*name) {
                    missing.insert(*name);
                }
            }
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "must specify {}",
                missing.into_iter().collect::<Vec<_>>().join(",")
            ))
        }
    }
}

fn containers<'a>(obj: &'a Value, lists: &[&str]) -> Vec<&'a Value> {
    lists
        .iter()
        .filter_map(|l| obj.pointer(&format!("/spec/{l}")).and_then(Value::as_array))
        .flatten()
        .collect()
}

/// Whether a pod counts against compute quota: not Succeeded or Failed (`QuotaV1Pod`).
pub fn pod_counts(pod: &Value) -> bool {
    !matches!(
        pod.pointer("/status/phase").and_then(Value::as_str),
        Some("Succeeded") | Some("Failed")
    )
}

/// `PodUsageFunc`: `count/pods` always; the compute usage of a pod that is not terminal.
pub fn pod_usage(pod: &Value) -> ResourceList {
    let mut result = ResourceList::new();
    result.insert("count/pods".into(), Quantity::count(1));
    if !pod_counts(pod) {
        return result;
    }
    let (requests, limits) = pod_requests_and_limits(pod);
    add(&result, &compute_usage(&requests, &limits))
}

/// `podComputeUsageHelper`: the quota names of a pod's (or container's) requests and limits.
fn compute_usage(requests: &ResourceList, limits: &ResourceList) -> ResourceList {
    let mut result = ResourceList::new();
    result.insert("pods".into(), Quantity::count(1));
    for name in ["cpu", "memory", "ephemeral-storage"] {
        if let Some(q) = requests.get(name) {
            result.insert(name.into(), *q);
            result.insert(format!("requests.{name}"), *q);
        }
        if let Some(q) = limits.get(name) {
            result.insert(format!("limits.{name}"), *q);
        }
    }
    for (name, q) in requests {
        if name.starts_with("hugepages-") {
            result.insert(name.clone(), *q);
            result.insert(format!("requests.{name}"), *q);
        }
        if is_extended_resource(name) {
            result.insert(format!("requests.{name}"), *q);
        }
    }
    result
}

fn max_into(into: &mut ResourceList, other: &ResourceList) {
    for (name, q) in other {
        match into.get(name) {
            Some(current) if current.nanos >= q.nanos => {}
            _ => {
                into.insert(name.clone(), *q);
            }
        }
    }
}

/// `resourcehelper.PodRequests` and `PodLimits`: the containers' sum, at least each init
/// container's (sidecars, `restartPolicy: Always`, run alongside), plus the pod overhead (to
/// every request, and to the limits that are set).
pub fn pod_requests_and_limits(pod: &Value) -> (ResourceList, ResourceList) {
    let mut totals = Vec::new();
    for field in ["requests", "limits"] {
        let of = |c: &Value| list_from_json(c.pointer(&format!("/resources/{field}")));
        let mut sum = ResourceList::new();
        for c in containers(pod, &["containers"]) {
            sum = add(&sum, &of(c));
        }
        let mut sidecars = ResourceList::new();
        let mut init_max = ResourceList::new();
        for c in containers(pod, &["initContainers"]) {
            let own = of(c);
            let effective = if c.get("restartPolicy").and_then(Value::as_str) == Some("Always") {
                sum = add(&sum, &own);
                sidecars = add(&sidecars, &own);
                sidecars.clone()
            } else {
                add(&own, &sidecars)
            };
            max_into(&mut init_max, &effective);
        }
        max_into(&mut sum, &init_max);
        let overhead = list_from_json(pod.pointer("/spec/overhead"));
        if field == "requests" {
            sum = add(&sum, &overhead);
        } else {
            for (name, q) in &overhead {
                if let Some(limit) = sum.get_mut(name) {
                    *limit = limit.plus(*q);
                }
            }
        }
        totals.push(sum);
    }
    let limits = totals.pop().unwrap_or_default();
    let requests = totals.pop().unwrap_or_default();
    (requests, limits)
}

/// `ServiceUsageFunc`: counts, node ports of NodePort and LoadBalancer services, load balancers.
pub fn service_usage(svc: &Value) -> ResourceList {
    let mut result = ResourceList::new();
    result.insert("count/services".into(), Quantity::count(1));
    result.insert("services".into(), Quantity::count(1));
    let ports = svc
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    match svc.pointer("/spec/type").and_then(Value::as_str) {
        Some("NodePort") => {
            result.insert(
                "services.nodeports".into(),
                Quantity::count(ports.len() as i64),
            );
        }
        Some("LoadBalancer") => {
            let allocate = svc
                .pointer("/spec/allocateLoadBalancerNodePorts")
                .and_then(Value::as_bool);
            let node_ports = if allocate == Some(false) {
                ports
                    .iter()
                    .filter(|p| p.get("nodePort").and_then(Value::as_i64).unwrap_or(0) != 0)
                    .count()
            } else {
                ports.len()
            };
            result.insert(
                "services.nodeports".into(),
                Quantity::count(node_ports as i64),
            );
            result.insert("services.loadbalancers".into(), Quantity::count(1));
        }
        _ => {}
    }
    result
}

/// The claim's StorageClass: `spec.storageClassName`, else the beta annotation.
fn claim_class(pvc: &Value) -> String {
    let annotation = pvc
        .pointer("/metadata/annotations/volume.beta.kubernetes.io~1storage-class")
        .and_then(Value::as_str);
    annotation
        .or_else(|| {
            pvc.pointer("/spec/storageClassName")
                .and_then(Value::as_str)
        })
        .unwrap_or("")
        .to_string()
}

/// `pvcEvaluator.Usage`: counts and requested storage, overall and per StorageClass; the
/// storage is the request rounded up to whole bytes, or the allocated size when larger.
pub fn pvc_usage(pvc: &Value) -> ResourceList {
    let mut result = ResourceList::new();
    let class = claim_class(pvc);
    result.insert("persistentvolumeclaims".into(), Quantity::count(1));
    result.insert("count/persistentvolumeclaims".into(), Quantity::count(1));
    if !class.is_empty() {
        result.insert(
            format!("{class}{STORAGE_CLASS_SUFFIX}persistentvolumeclaims"),
            Quantity::count(1),
        );
    }
    let mut storage = pvc
        .pointer("/spec/resources/requests/storage")
        .and_then(Quantity::from_json)
        .map(Quantity::round_up_to_units);
    if let Some(allocated) = pvc
        .pointer("/status/allocatedResources/storage")
        .and_then(Quantity::from_json)
    {
        if storage.is_none_or(|s| allocated.nanos > s.nanos) {
            storage = Some(allocated.round_up_to_units());
        }
    }
    if let Some(storage) = storage {
        result.insert("requests.storage".into(), storage);
        if !class.is_empty() {
            result.insert(
                format!("{class}{STORAGE_CLASS_SUFFIX}requests.storage"),
                storage,
            );
        }
    }
    result
}
