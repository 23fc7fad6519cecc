//! The horizontal pod autoscaler printer, for `autoscaling/v2` and `autoscaling/v1` objects.

use serde_json::Value;

use super::descriptions as d;
use super::fields::{array_at, get, i64_at, name, opt_i64, str_at};
use super::{Column, PrintContext, Printer, Row, AGE_COLUMN, NAME_COLUMN};

/// The printer of `autoscaling` resource `plural`.
pub(super) fn printer(group: &str, plural: &str) -> Option<Printer> {
    (group == "autoscaling" && plural == "horizontalpodautoscalers")
        .then_some(HORIZONTAL_POD_AUTOSCALERS)
}

const HORIZONTAL_POD_AUTOSCALERS: Printer = Printer {
    columns: &[
        NAME_COLUMN,
        Column::new("Reference", "string", d::HPA_SPEC_SCALE_TARGET_REF),
        Column::new("Targets", "string", d::HPA_SPEC_METRICS),
        Column::new("MinPods", "string", d::HPA_SPEC_MIN_REPLICAS),
        Column::new("MaxPods", "string", d::HPA_SPEC_MAX_REPLICAS),
        Column::new("Replicas", "string", d::HPA_STATUS_CURRENT_REPLICAS),
        AGE_COLUMN,
    ],
    print: print_horizontal_pod_autoscaler,
};

/// The CPU utilization target upstream's `autoscaling/v1` conversion assumes when none is set.
const DEFAULT_CPU_UTILIZATION: i64 = 80;

/// A quantity as `*resource.Quantity.String()` prints it: `<nil>` when absent.
fn quantity_or_nil(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => "<nil>".to_string(),
    }
}

/// The source object (`resource`, `pods`, ...) of metric status `index`, if reported.
fn status_source<'a>(statuses: &'a [Value], index: usize, key: &str) -> Option<&'a Value> {
    statuses
        .get(index)
        .and_then(|s| s.get(key))
        .filter(|s| s.is_object())
}

/// `current/target` for one metric (`average` marks an average-value target of objects and
/// external metrics).
fn format_metric(spec: &Value, statuses: &[Value], index: usize) -> String {
    const UNKNOWN: &str = "<unknown>";
    match str_at(spec, &["type"]) {
        source_type @ ("External" | "Object") => {
            let key = if source_type == "External" {
                "external"
            } else {
                "object"
            };
            let target = get(spec, &[key, "target"]).unwrap_or(&Value::Null);
            let status = status_source(statuses, index, key);
            match target.get("averageValue").filter(|v| !v.is_null()) {
                Some(average) => {
                    let current = status
                        .and_then(|s| get(s, &["current", "averageValue"]))
                        .filter(|v| !v.is_null())
                        .map_or_else(|| UNKNOWN.to_string(), |v| quantity_or_nil(Some(v)));
                    format!("{current}/{} (avg)", quantity_or_nil(Some(average)))
                }
                None => {
                    let current = status.map_or_else(
                        || UNKNOWN.to_string(),
                        |s| quantity_or_nil(get(s, &["current", "value"])),
                    );
                    format!("{current}/{}", quantity_or_nil(target.get("value")))
                }
            }
        }
        "Pods" => {
            let current = status_source(statuses, index, "pods").map_or_else(
                || UNKNOWN.to_string(),
                |s| quantity_or_nil(get(s, &["current", "averageValue"])),
            );
            format!(
                "{current}/{}",
                quantity_or_nil(get(spec, &["pods", "target", "averageValue"]))
            )
        }
        source_type @ ("Resource" | "ContainerResource") => {
            let key = if source_type == "Resource" {
                "resource"
            } else {
                "containerResource"
            };
            let source = spec.get(key).unwrap_or(&Value::Null);
            let resource_name = str_at(source, &["name"]);
            let status = status_source(statuses, index, key);
            match get(source, &["target", "averageValue"]).filter(|v| !v.is_null()) {
                Some(average) => {
                    let current = status.map_or_else(
                        || UNKNOWN.to_string(),
                        |s| quantity_or_nil(get(s, &["current", "averageValue"])),
                    );
                    format!(
                        "{resource_name}: {current}/{}",
                        quantity_or_nil(Some(average))
                    )
                }
                None => {
                    let current = status
                        .and_then(|s| opt_i64(s, &["current", "averageUtilization"]))
                        .map_or_else(|| UNKNOWN.to_string(), |u| format!("{u}%"));
                    let target = opt_i64(source, &["target", "averageUtilization"])
                        .map_or_else(|| "<auto>".to_string(), |u| format!("{u}%"));
                    format!("{resource_name}: {current}/{target}")
                }
            }
        }
        _ => "<unknown type>".to_string(),
    }
}

/// The first two metrics as `current/target`, then `+ N more...`; `<none>` without metrics.
fn format_metrics(specs: &[Value], statuses: &[Value]) -> String {
    const MAX: usize = 2;
    if specs.is_empty() {
        return "<none>".to_string();
    }
    let shown: Vec<String> = specs
        .iter()
        .take(MAX)
        .enumerate()
        .map(|(index, spec)| format_metric(spec, statuses, index))
        .collect();
    let joined = shown.join(", ");
    if specs.len() > MAX {
        format!("{joined} + {} more...", specs.len() - MAX)
    } else {
        joined
    }
}

/// The Targets cell of an `autoscaling/v1` object: its single CPU utilization target.
fn format_v1_metrics(autoscaler: &Value) -> String {
    let target = opt_i64(autoscaler, &["spec", "targetCPUUtilizationPercentage"])
        .unwrap_or(DEFAULT_CPU_UTILIZATION);
    let current = opt_i64(autoscaler, &["status", "currentCPUUtilizationPercentage"])
        .map_or_else(|| "<unknown>".to_string(), |u| format!("{u}%"));
    format!("cpu: {current}/{target}%")
}

fn print_horizontal_pod_autoscaler(autoscaler: &Value, context: &PrintContext) -> Row {
    // The object's own apiVersion wins: a caller may hand over objects in their stored (v2) form.
    let version = match str_at(autoscaler, &["apiVersion"]) {
        "" => context.version,
        api_version => api_version.rsplit('/').next().unwrap_or(api_version),
    };
    let targets = if version == "v1" {
        format_v1_metrics(autoscaler)
    } else {
        format_metrics(
            array_at(autoscaler, &["spec", "metrics"]),
            array_at(autoscaler, &["status", "currentMetrics"]),
        )
    };
    let min_pods = opt_i64(autoscaler, &["spec", "minReplicas"])
        .map_or_else(|| "<unset>".to_string(), |m| m.to_string());
    Row::from(vec![
        Value::from(name(autoscaler)),
        Value::from(format!(
            "{}/{}",
            str_at(autoscaler, &["spec", "scaleTargetRef", "kind"]),
            str_at(autoscaler, &["spec", "scaleTargetRef", "name"])
        )),
        Value::from(targets),
        Value::from(min_pods),
        Value::from(i64_at(autoscaler, &["spec", "maxReplicas"])),
        Value::from(i64_at(autoscaler, &["status", "currentReplicas"])),
        Value::from(context.age(autoscaler)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::table::test_support::{object, table_cells};
    use serde_json::json;

    #[test]
    fn v2_row_with_utilization_and_values() {
        let hpa = object(
            "web",
            "2024-05-01T11:00:00Z",
            json!({"spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 1, "maxReplicas": 10,
                            "metrics": [
                                {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}},
                                {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "500Mi"}}}]},
                   "status": {"currentReplicas": 3, "currentMetrics": [
                                {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 45, "averageValue": "120m"}}},
                                {"type": "Resource", "resource": {"name": "memory", "current": {"averageValue": "200Mi"}}}]}}),
        );
        assert_eq!(
            table_cells("autoscaling", "v2", "horizontalpodautoscalers", &hpa),
            vec![
                json!("web"),
                json!("Deployment/web"),
                json!("cpu: 45%/80%, memory: 200Mi/500Mi"),
                json!("1"),
                json!(10),
                json!(3),
                json!("60m")
            ]
        );
    }

    #[test]
    fn metrics_without_status_are_unknown_and_limited_to_two() {
        let specs = [
            json!({"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"averageValue": "1k"}}}),
            json!({"type": "External", "external": {"target": {"averageValue": "30"}}}),
            json!({"type": "Object", "object": {"target": {"value": "2"}}}),
        ];
        assert_eq!(
            format_metrics(&specs, &[]),
            "<unknown>/1k, <unknown>/30 (avg) + 1 more..."
        );
        assert_eq!(format_metrics(&specs[2..], &[]), "<unknown>/2");
        assert_eq!(
            format_metrics(&[json!({"type": "Bogus"})], &[]),
            "<unknown type>"
        );
        assert_eq!(format_metrics(&[], &[]), "<none>");
        let auto = [
            json!({"type": "ContainerResource", "containerResource": {"name": "cpu", "container": "app", "target": {}}}),
        ];
        assert_eq!(format_metrics(&auto, &[]), "cpu: <unknown>/<auto>");
    }

    #[test]
    fn v1_objects_show_their_cpu_target() {
        let hpa = object(
            "web",
            "2024-05-01T11:00:00Z",
            json!({"spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 5,
                            "targetCPUUtilizationPercentage": 50},
                   "status": {"currentReplicas": 2, "currentCPUUtilizationPercentage": 20}}),
        );
        let cells = table_cells("autoscaling", "v1", "horizontalpodautoscalers", &hpa);
        assert_eq!(&cells[2..4], &[json!("cpu: 20%/50%"), json!("<unset>")]);
        let bare = object("x", "2024-05-01T11:00:00Z", json!({"spec": {}}));
        assert_eq!(format_v1_metrics(&bare), "cpu: <unknown>/80%");
        // A stored v2 object listed through autoscaling/v1 is printed from its v2 fields.
        let mut stored = object(
            "y",
            "2024-05-01T11:00:00Z",
            json!({"spec": {"metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"averageUtilization": 60}}}]}}),
        );
        stored["apiVersion"] = json!("autoscaling/v2");
        let cells = table_cells("autoscaling", "v1", "horizontalpodautoscalers", &stored);
        assert_eq!(cells[2], json!("cpu: <unknown>/60%"));
    }
}
