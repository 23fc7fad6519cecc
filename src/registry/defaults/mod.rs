//! Defaulting of built-in types, as upstream's defaulters (`pkg/apis/core/v1/defaults.go`,
//! `pkg/apis/apps/v1/defaults.go`, `pkg/apis/batch/v1/defaults.go`,
//! `pkg/apis/networking/v1/defaults.go`, `pkg/apis/admissionregistration/v1/defaults.go` and the generated `zz_generated.defaults.go` that walks
//! nested types: pod templates, containers, probes, ports, volumes).
//!
//! Upstream defaults every object when it is decoded: request bodies (so creates, updates and
//! patches) and values read back from storage. Apiary applies them in the strategy's create and
//! update hooks (each resource names its defaulter in its rules, `registry::resources`), so what is
//! stored is already defaulted and reads need nothing.
//!
//! Go prints some empty structs that k8s-openapi drops (`resources: {}`, a template's
//! `metadata: {creationTimestamp: null}`): the defaulters put them back where Go's serialisation
//! shows them, so `kubectl get -o yaml` prints what kube-apiserver prints.
//!
//! Contract of every defaulter here: it MUST only fill fields that are absent (or null), never
//! overwrite a value the client set, and MUST leave a value of the wrong JSON type alone
//! (the codec rejected wrongly-typed bodies before).

pub mod admissionregistration;
mod pod_spec;
mod workloads;

#[cfg(test)]
mod tests;

use serde_json::{json, Map, Value};

use crate::api::quantity::canonicalize_resource_list;

pub use pod_spec::{pod, pod_spec, pod_template};
pub use workloads::{
    cron_job, daemon_set, deployment, job, job_generated_selector, replica_set,
    replication_controller, stateful_set, CONTROLLER_UID_LABELS, JOB_NAME_LABELS,
};

/// `SetDefaults_Secret`: `type: Opaque`.
pub fn secret(obj: &mut Value) {
    if let Some(map) = obj.as_object_mut() {
        set_default(map, "type", json!("Opaque"));
    }
}

/// A PodTemplate object: its `template` defaulted as a pod template.
pub fn pod_template_object(obj: &mut Value) {
    if let Some(template) = obj.get_mut("template") {
        pod_template(template);
    }
}

/// ResourceQuotas: `spec.hard` in canonical quantities.
pub fn resource_quota(obj: &mut Value) {
    let hard = obj
        .as_object_mut()
        .and_then(|m| child(m, "spec"))
        .and_then(|s| child(s, "hard"));
    if let Some(hard) = hard {
        canonicalize_resource_list(hard);
    }
}

/// `SetDefaults_PriorityClass`: `preemptionPolicy: PreemptLowerPriority`.
pub fn priority_class(obj: &mut Value) {
    if let Some(map) = obj.as_object_mut() {
        set_default(map, "preemptionPolicy", json!("PreemptLowerPriority"));
    }
}

/// Sets `map[key] = value` when the key is absent or null.
pub(crate) fn set_default(map: &mut Map<String, Value>, key: &str, value: Value) {
    match map.get(key) {
        None | Some(Value::Null) => {
            map.insert(key.to_string(), value);
        }
        Some(_) => {}
    }
}

/// The object at `map[key]`, created empty when absent or null. `None` when the value is of
/// another type.
pub(crate) fn object_entry<'a>(
    map: &'a mut Map<String, Value>,
    key: &str,
) -> Option<&'a mut Map<String, Value>> {
    set_default(map, key, json!({}));
    map.get_mut(key).and_then(Value::as_object_mut)
}

/// Runs `f` on every object of the array at `map[key]`.
pub(crate) fn each_object(
    map: &mut Map<String, Value>,
    key: &str,
    mut f: impl FnMut(&mut Map<String, Value>),
) {
    if let Some(items) = map.get_mut(key).and_then(Value::as_array_mut) {
        for item in items.iter_mut().filter_map(Value::as_object_mut) {
            f(item);
        }
    }
}

/// The object at `map[key]` when present and an object.
pub(crate) fn child<'a>(
    map: &'a mut Map<String, Value>,
    key: &str,
) -> Option<&'a mut Map<String, Value>> {
    map.get_mut(key).and_then(Value::as_object_mut)
}

/// `SetDefaults_PersistentVolumeClaimSpec`: `volumeMode: Filesystem`.
pub(crate) fn persistent_volume_claim_spec(spec: &mut Map<String, Value>) {
    set_default(spec, "volumeMode", json!("Filesystem"));
    if let Some(resources) = child(spec, "resources") {
        for list in ["requests", "limits"] {
            if let Some(list) = child(resources, list) {
                canonicalize_resource_list(list);
            }
        }
    }
}

/// PersistentVolumeClaims: the spec's defaults and `status.phase: Pending`.
pub fn persistent_volume_claim(obj: &mut Value) {
    let Some(map) = obj.as_object_mut() else {
        return;
    };
    if let Some(spec) = object_entry(map, "spec") {
        persistent_volume_claim_spec(spec);
    }
    if let Some(status) = object_entry(map, "status") {
        set_default(status, "phase", json!("Pending"));
    }
}

/// `SetDefaults_LimitRangeItem`: a Container item's `default` limits come from `max`, its
/// `defaultRequest` from `default`, then from `min` (empty maps stay out, as Go omits them).
pub fn limit_range(obj: &mut Value) {
    let Some(limits) = obj
        .pointer_mut("/spec/limits")
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    for item in limits.iter_mut().filter_map(Value::as_object_mut) {
        if item.get("type").and_then(Value::as_str) != Some("Container") {
            continue;
        }
        let resources = |item: &Map<String, Value>, key: &str| {
            item.get(key)
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default()
        };
        let mut default = resources(item, "default");
        let mut default_request = resources(item, "defaultRequest");
        for (key, value) in resources(item, "max") {
            default.entry(key).or_insert(value);
        }
        for (key, value) in default.iter().chain(&resources(item, "min")) {
            default_request.entry(key.clone()).or_insert(value.clone());
        }
        for (key, map) in [("default", default), ("defaultRequest", default_request)] {
            if !map.is_empty() {
                item.insert(key.into(), Value::Object(map));
            }
        }
    }
}

/// `SetDefaults_PersistentVolume`: reclaim policy `Retain`, `volumeMode: Filesystem`, phase
/// `Pending`.
pub fn persistent_volume(obj: &mut Value) {
    let Some(map) = obj.as_object_mut() else {
        return;
    };
    if let Some(spec) = object_entry(map, "spec") {
        set_default(spec, "persistentVolumeReclaimPolicy", json!("Retain"));
        set_default(spec, "volumeMode", json!("Filesystem"));
    }
    if let Some(status) = object_entry(map, "status") {
        set_default(status, "phase", json!("Pending"));
    }
}

/// `SetDefaults_EndpointPort`: `protocol: TCP`.
pub fn endpoints(obj: &mut Value) {
    let Some(map) = obj.as_object_mut() else {
        return;
    };
    each_object(map, "subsets", |subset| {
        each_object(subset, "ports", |port| {
            set_default(port, "protocol", json!("TCP"));
        });
    });
}

/// `SetDefaults_NetworkPolicy` and `SetDefaults_NetworkPolicyPort`: `podSelector: {}` (a Go
/// struct), `policyTypes` `[Ingress]` (plus `Egress` with egress rules), port `protocol: TCP`.
pub fn network_policy(obj: &mut Value) {
    let Some(spec) = obj.as_object_mut().and_then(|m| object_entry(m, "spec")) else {
        return;
    };
    set_default(spec, "podSelector", json!({}));
    let has_egress = spec
        .get("egress")
        .and_then(Value::as_array)
        .is_some_and(|rules| !rules.is_empty());
    let no_types = spec
        .get("policyTypes")
        .and_then(Value::as_array)
        .is_none_or(|types| types.is_empty());
    if no_types {
        let mut types = vec![json!("Ingress")];
        if has_egress {
            types.push(json!("Egress"));
        }
        spec.insert("policyTypes".into(), Value::Array(types));
    }
    for direction in ["ingress", "egress"] {
        each_object(spec, direction, |rule| {
            each_object(rule, "ports", |port| {
                set_default(port, "protocol", json!("TCP"));
            });
        });
    }
}
