//! Conversion between the version a resource is served at and the version it is stored as, for
//! the built-in resources stored as another group/version (see `Persistence::StoredAs`):
//! `autoscaling/v1` HorizontalPodAutoscalers (stored as `autoscaling/v2`) and `events.k8s.io/v1`
//! Events (stored as core `v1` Events). Everything else is stored as served and passes unchanged.
//!
//! As upstream's conversions (`pkg/apis/autoscaling/v1/conversion.go`,
//! `pkg/apis/events/v1/conversion.go`), nothing is lost in a round trip: what `autoscaling/v1`
//! cannot express travels in `autoscaling.alpha.kubernetes.io/*` annotations.

use serde_json::{json, Map, Value};

use crate::catalog::{Persistence, ResourceInfo};

const METRICS: &str = "autoscaling.alpha.kubernetes.io/metrics";
const CURRENT_METRICS: &str = "autoscaling.alpha.kubernetes.io/current-metrics";
const CONDITIONS: &str = "autoscaling.alpha.kubernetes.io/conditions";
const BEHAVIOR: &str = "autoscaling.alpha.kubernetes.io/behavior";

/// Core `v1` Event field <-> `events.k8s.io/v1` Event field.
const EVENT_FIELDS: &[(&str, &str)] = &[
    ("involvedObject", "regarding"),
    ("message", "note"),
    ("reportingComponent", "reportingController"),
    ("source", "deprecatedSource"),
    ("firstTimestamp", "deprecatedFirstTimestamp"),
    ("lastTimestamp", "deprecatedLastTimestamp"),
    ("count", "deprecatedCount"),
];

/// The stored object as `info`'s version serves it.
pub fn to_served(info: &ResourceInfo, stored: Value) -> Value {
    if !matches!(info.persistence(), Persistence::StoredAs(_)) {
        // A custom resource stored before its CRD changed storage version still carries the old
        // `apiVersion`.
        if info.is_custom() {
            let mut served = stored;
            if let Some(map) = served.as_object_mut() {
                set_type(map, info);
            }
            return served;
        }
        return stored;
    }
    match (
        info.group.as_str(),
        info.version.as_str(),
        info.kind.as_str(),
    ) {
        ("autoscaling", "v1", "HorizontalPodAutoscaler") => hpa_v2_to_v1(stored),
        ("events.k8s.io", "v1", "Event") => {
            rename_fields(stored, info, EVENT_FIELDS.iter().copied())
        }
        // Custom resources of CRDs with conversion strategy `None`: only `apiVersion` changes.
        _ => {
            let mut served = stored;
            if let Some(map) = served.as_object_mut() {
                map.insert("apiVersion".into(), Value::String(info.api_version()));
            }
            served
        }
    }
}

/// `info`'s served object as it is stored.
pub fn to_storage(info: &ResourceInfo, served: Value) -> Value {
    let Persistence::StoredAs(gvk) = info.persistence() else {
        return served;
    };
    let mut stored = match (
        info.group.as_str(),
        info.version.as_str(),
        info.kind.as_str(),
    ) {
        ("autoscaling", "v1", "HorizontalPodAutoscaler") => hpa_v1_to_v2(served),
        ("events.k8s.io", "v1", "Event") => {
            rename_fields(served, info, EVENT_FIELDS.iter().map(|(a, b)| (*b, *a)))
        }
        _ => served,
    };
    if let Some(map) = stored.as_object_mut() {
        let api_version = if gvk.group.is_empty() {
            gvk.version.to_string()
        } else {
            format!("{}/{}", gvk.group, gvk.version)
        };
        map.insert("apiVersion".into(), Value::String(api_version));
        map.insert("kind".into(), Value::String(gvk.kind.to_string()));
    }
    stored
}

fn set_type(map: &mut Map<String, Value>, info: &ResourceInfo) {
    map.insert("apiVersion".into(), Value::String(info.api_version()));
    map.insert("kind".into(), Value::String(info.kind.to_string()));
}

fn rename_fields<'a>(
    mut object: Value,
    info: &ResourceInfo,
    renames: impl Iterator<Item = (&'a str, &'a str)>,
) -> Value {
    if let Some(map) = object.as_object_mut() {
        for (from, to) in renames {
            if let Some(value) = map.remove(from) {
                map.insert(to.to_string(), value);
            }
        }
        set_type(map, info);
    }
    object
}

fn is_cpu_utilization(metric: &Value, target: &str) -> bool {
    metric["type"] == "Resource"
        && metric["resource"]["name"] == "cpu"
        && metric["resource"][target]["type"] == "Utilization"
}

fn take_annotation(map: &mut Map<String, Value>, key: &str) -> Option<Value> {
    let annotations = map
        .get_mut("metadata")?
        .get_mut("annotations")?
        .as_object_mut()?;
    let text = annotations.remove(key)?;
    if annotations.is_empty() {
        map.get_mut("metadata")
            .and_then(Value::as_object_mut)
            .map(|m| m.remove("annotations"));
    }
    serde_json::from_str(text.as_str()?).ok()
}

fn put_annotation(map: &mut Map<String, Value>, key: &str, value: &Value) {
    let metadata = map.entry("metadata").or_insert_with(|| json!({}));
    if let Some(metadata) = metadata.as_object_mut() {
        let annotations = metadata.entry("annotations").or_insert_with(|| json!({}));
        if let Some(annotations) = annotations.as_object_mut() {
            annotations.insert(key.to_string(), Value::String(value.to_string()));
        }
    }
}

fn hpa_v2_to_v1(mut object: Value) -> Value {
    let Some(map) = object.as_object_mut() else {
        return object;
    };
    let spec = map.remove("spec").unwrap_or_else(|| json!({}));
    let mut v1_spec = Map::new();
    for field in ["scaleTargetRef", "minReplicas", "maxReplicas"] {
        if let Some(value) = spec.get(field) {
            v1_spec.insert(field.into(), value.clone());
        }
    }
    let mut others = Vec::new();
    for metric in spec["metrics"].as_array().into_iter().flatten() {
        match metric["resource"]["target"]["averageUtilization"].as_i64() {
            Some(percent)
                if is_cpu_utilization(metric, "target")
                    && !v1_spec.contains_key("targetCPUUtilizationPercentage") =>
            {
                v1_spec.insert("targetCPUUtilizationPercentage".into(), json!(percent));
            }
            _ => others.push(metric.clone()),
        }
    }
    if !others.is_empty() {
        put_annotation(map, METRICS, &Value::Array(others));
    }
    if let Some(behavior) = spec.get("behavior") {
        put_annotation(map, BEHAVIOR, behavior);
    }
    map.insert("spec".into(), Value::Object(v1_spec));

    if let Some(status) = map.remove("status") {
        let mut v1_status = Map::new();
        for field in [
            "observedGeneration",
            "lastScaleTime",
            "currentReplicas",
            "desiredReplicas",
        ] {
            if let Some(value) = status.get(field) {
                v1_status.insert(field.into(), value.clone());
            }
        }
        let mut others = Vec::new();
        for metric in status["currentMetrics"].as_array().into_iter().flatten() {
            match metric["resource"]["current"]["averageUtilization"].as_i64() {
                Some(percent)
                    if metric["type"] == "Resource"
                        && metric["resource"]["name"] == "cpu"
                        && !v1_status.contains_key("currentCPUUtilizationPercentage") =>
                {
                    v1_status.insert("currentCPUUtilizationPercentage".into(), json!(percent));
                }
                _ => others.push(metric.clone()),
            }
        }
        if !others.is_empty() {
            put_annotation(map, CURRENT_METRICS, &Value::Array(others));
        }
        if let Some(conditions) = status
            .get("conditions")
            .filter(|c| c.as_array().is_some_and(|a| !a.is_empty()))
        {
            put_annotation(map, CONDITIONS, conditions);
        }
        map.insert("status".into(), Value::Object(v1_status));
    }
    map.insert("apiVersion".into(), json!("autoscaling/v1"));
    object
}

fn hpa_v1_to_v2(mut object: Value) -> Value {
    let Some(map) = object.as_object_mut() else {
        return object;
    };
    let metrics = take_annotation(map, METRICS);
    let current_metrics = take_annotation(map, CURRENT_METRICS);
    let conditions = take_annotation(map, CONDITIONS);
    let behavior = take_annotation(map, BEHAVIOR);

    let spec = map.remove("spec").unwrap_or_else(|| json!({}));
    let mut v2_spec = Map::new();
    for field in ["scaleTargetRef", "minReplicas", "maxReplicas"] {
        if let Some(value) = spec.get(field) {
            v2_spec.insert(field.into(), value.clone());
        }
    }
    let mut v2_metrics = Vec::new();
    if let Some(percent) = spec
        .get("targetCPUUtilizationPercentage")
        .filter(|p| !p.is_null())
    {
        v2_metrics.push(json!({"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": percent}}}));
    }
    v2_metrics.extend(
        metrics
            .and_then(|m| m.as_array().cloned())
            .unwrap_or_default(),
    );
    if !v2_metrics.is_empty() {
        v2_spec.insert("metrics".into(), Value::Array(v2_metrics));
    }
    if let Some(behavior) = behavior {
        v2_spec.insert("behavior".into(), behavior);
    }
    map.insert("spec".into(), Value::Object(v2_spec));

    if let Some(status) = map.remove("status") {
        let mut v2_status = Map::new();
        for field in [
            "observedGeneration",
            "lastScaleTime",
            "currentReplicas",
            "desiredReplicas",
        ] {
            if let Some(value) = status.get(field) {
                v2_status.insert(field.into(), value.clone());
            }
        }
        let mut current = Vec::new();
        if let Some(percent) = status
            .get("currentCPUUtilizationPercentage")
            .filter(|p| !p.is_null())
        {
            current.push(json!({"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": percent}}}));
        }
        current.extend(
            current_metrics
                .and_then(|m| m.as_array().cloned())
                .unwrap_or_default(),
        );
        if !current.is_empty() {
            v2_status.insert("currentMetrics".into(), Value::Array(current));
        }
        if let Some(conditions) = conditions {
            v2_status.insert("conditions".into(), conditions);
        }
        map.insert("status".into(), Value::Object(v2_status));
    }
    object
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog;

    fn info(group: &str, version: &str, plural: &str) -> std::sync::Arc<ResourceInfo> {
        catalog::builtin()
            .lookup(group, version, plural)
            .expect("catalogue row")
            .clone()
    }

    #[test]
    fn hpa_round_trips_between_v1_and_v2() {
        let v1 = info("autoscaling", "v1", "horizontalpodautoscalers");
        let stored = json!({
            "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                "minReplicas": 1, "maxReplicas": 5,
                "metrics": [
                    {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}},
                    {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "100Mi"}}}
                ]
            },
            "status": {"currentReplicas": 2, "desiredReplicas": 2}
        });
        let served = to_served(&v1, stored.clone());
        assert_eq!(served["apiVersion"], "autoscaling/v1");
        assert_eq!(served["spec"]["targetCPUUtilizationPercentage"], 50);
        assert_eq!(served["spec"]["maxReplicas"], 5);
        assert!(served["spec"].get("metrics").is_none());
        assert!(served["metadata"]["annotations"][METRICS]
            .as_str()
            .is_some_and(|m| m.contains("memory")));
        assert_eq!(
            served["status"],
            json!({"currentReplicas": 2, "desiredReplicas": 2})
        );
        assert_eq!(to_storage(&v1, served), stored);
    }

    #[test]
    fn events_k8s_io_renames_core_event_fields() {
        let events = info("events.k8s.io", "v1", "events");
        let stored = json!({
            "apiVersion": "v1", "kind": "Event", "metadata": {"name": "e"},
            "involvedObject": {"kind": "Pod", "name": "p"}, "message": "hello", "reason": "Started",
            "reportingComponent": "kubelet", "count": 3
        });
        let served = to_served(&events, stored.clone());
        assert_eq!(served["apiVersion"], "events.k8s.io/v1");
        assert_eq!(served["regarding"]["name"], "p");
        assert_eq!(served["note"], "hello");
        assert_eq!(served["reportingController"], "kubelet");
        assert_eq!(served["deprecatedCount"], 3);
        assert!(served.get("message").is_none());
        assert_eq!(to_storage(&events, served), stored);
    }

    #[test]
    fn other_resources_pass_unchanged() {
        let configmaps = info("", "v1", "configmaps");
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "1"}});
        assert_eq!(to_served(&configmaps, cm.clone()), cm);
        assert_eq!(to_storage(&configmaps, cm.clone()), cm);
    }
}
