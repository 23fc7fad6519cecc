//! The event printer, for core `v1` events and `events.k8s.io/v1` events alike (upstream prints both
//! from the same internal type, so both get the same columns).

use serde_json::Value;

use super::descriptions as d;
use super::fields::{name, opt_i64, str_at};
use super::{Column, PrintContext, Printer, Row};

const EVENT_COLUMNS: &[Column] = &[
    Column::new("Last Seen", "string", d::EVENT_LAST_TIMESTAMP),
    Column::new("Type", "string", d::EVENT_TYPE),
    Column::new("Reason", "string", d::EVENT_REASON),
    Column::new("Object", "string", d::EVENT_INVOLVED_OBJECT),
    Column::new("Subobject", "string", d::OBJECT_REFERENCE_FIELD_PATH).wide(),
    Column::new("Source", "string", d::EVENT_SOURCE).wide(),
    Column::new("Message", "string", d::EVENT_MESSAGE),
    Column::new("First Seen", "string", d::EVENT_FIRST_TIMESTAMP).wide(),
    Column::new("Count", "string", d::EVENT_COUNT).wide(),
    Column {
        priority: 1,
        ..super::NAME_COLUMN
    },
];

/// The printer of core `events`.
pub(super) const CORE_EVENTS: Printer = Printer {
    columns: EVENT_COLUMNS,
    print: |event, context| print_event(&EventFields::core(event), context),
};

/// The printer of `events.k8s.io` `events`. Objects whose own `apiVersion` is core `v1` (the
/// stored form) are read with the core field names.
pub(super) const EVENTS_API_EVENTS: Printer = Printer {
    columns: EVENT_COLUMNS,
    print: |event, context| {
        let fields = if str_at(event, &["apiVersion"]) == "v1" {
            EventFields::core(event)
        } else {
            EventFields::events_api(event)
        };
        print_event(&fields, context)
    },
};

/// The fields of an event the printer reads, under their core `v1` meaning.
struct EventFields<'a> {
    name: &'a str,
    first_timestamp: Option<&'a Value>,
    last_timestamp: Option<&'a Value>,
    event_time: Option<&'a Value>,
    count: Option<i64>,
    series: Option<&'a Value>,
    involved_object: Option<&'a Value>,
    event_type: &'a str,
    reason: &'a str,
    source_component: &'a str,
    source_host: &'a str,
    reporting_controller: &'a str,
    reporting_instance: &'a str,
    message: &'a str,
}

impl<'a> EventFields<'a> {
    fn core(event: &'a Value) -> Self {
        EventFields {
            name: name(event),
            first_timestamp: event.get("firstTimestamp"),
            last_timestamp: event.get("lastTimestamp"),
            event_time: event.get("eventTime"),
            count: opt_i64(event, &["count"]),
            series: event.get("series").filter(|s| s.is_object()),
            involved_object: event.get("involvedObject"),
            event_type: str_at(event, &["type"]),
            reason: str_at(event, &["reason"]),
            source_component: str_at(event, &["source", "component"]),
            source_host: str_at(event, &["source", "host"]),
            // core/v1 serves ReportingController as `reportingComponent`.
            reporting_controller: str_at(event, &["reportingComponent"]),
            reporting_instance: str_at(event, &["reportingInstance"]),
            message: str_at(event, &["message"]),
        }
    }

    /// `events.k8s.io/v1` fields, mapped as upstream's conversion to the internal type maps them.
    fn events_api(event: &'a Value) -> Self {
        EventFields {
            name: name(event),
            first_timestamp: event.get("deprecatedFirstTimestamp"),
            last_timestamp: event.get("deprecatedLastTimestamp"),
            event_time: event.get("eventTime"),
            count: opt_i64(event, &["deprecatedCount"]),
            series: event.get("series").filter(|s| s.is_object()),
            involved_object: event.get("regarding"),
            event_type: str_at(event, &["type"]),
            reason: str_at(event, &["reason"]),
            source_component: str_at(event, &["deprecatedSource", "component"]),
            source_host: str_at(event, &["deprecatedSource", "host"]),
            reporting_controller: str_at(event, &["reportingController"]),
            reporting_instance: str_at(event, &["reportingInstance"]),
            message: str_at(event, &["note"]),
        }
    }
}

fn print_event(event: &EventFields<'_>, context: &PrintContext) -> Row {
    let is_set = |ts: Option<&Value>| super::age::parse_time(ts).is_some();
    let first_seen = if is_set(event.first_timestamp) {
        context.since(event.first_timestamp)
    } else {
        context.since(event.event_time)
    };
    let mut last_seen = if is_set(event.last_timestamp) {
        context.since(event.last_timestamp)
    } else {
        first_seen.clone()
    };
    let mut count = event.count.unwrap_or(0);
    if let Some(series) = event.series {
        last_seen = context.since(series.get("lastObservedTime"));
        count = opt_i64(series, &["count"]).unwrap_or(0);
    } else if count == 0 {
        // Singleton events of the new API carry no count.
        count = 1;
    }
    let involved = event.involved_object.unwrap_or(&Value::Null);
    let kind = str_at(involved, &["kind"]).to_lowercase();
    let target = match str_at(involved, &["name"]) {
        "" => kind,
        object_name => format!("{kind}/{object_name}"),
    };
    let component = first_non_empty(event.source_component, event.reporting_controller);
    let instance = first_non_empty(event.source_host, event.reporting_instance);
    let source = if instance.is_empty() {
        component.to_string()
    } else {
        format!("{component}, {instance}")
    };
    Row::from(vec![
        Value::from(last_seen),
        Value::from(event.event_type),
        Value::from(event.reason),
        Value::from(target),
        Value::from(str_at(involved, &["fieldPath"])),
        Value::from(source),
        Value::from(event.message.trim()),
        Value::from(first_seen),
        Value::from(count),
        Value::from(event.name),
    ])
}

fn first_non_empty<'a>(first: &'a str, second: &'a str) -> &'a str {
    if first.is_empty() {
        second
    } else {
        first
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::table::test_support::{column_names, print_cells};
    use serde_json::json;

    #[test]
    fn core_event_row() {
        let event = json!({
            "metadata": {"name": "web-0.17c", "creationTimestamp": "2024-05-01T11:00:00Z"},
            "involvedObject": {"kind": "Pod", "name": "web-0", "fieldPath": "spec.containers{app}"},
            "reason": "Pulled", "type": "Normal", "message": "  Successfully pulled image\n",
            "source": {"component": "kubelet", "host": "node-1"},
            "firstTimestamp": "2024-05-01T11:50:00Z", "lastTimestamp": "2024-05-01T11:58:00Z",
            "count": 3,
        });
        assert_eq!(
            print_cells(CORE_EVENTS, "v1", &event),
            vec![
                json!("2m"),
                json!("Normal"),
                json!("Pulled"),
                json!("pod/web-0"),
                json!("spec.containers{app}"),
                json!("kubelet, node-1"),
                json!("Successfully pulled image"),
                json!("10m"),
                json!(3),
                json!("web-0.17c")
            ]
        );
    }

    #[test]
    fn new_style_event_uses_event_time_series_and_reporting_controller() {
        let event = json!({
            "metadata": {"name": "e1"},
            "involvedObject": {"kind": "Node"},
            "eventTime": "2024-05-01T11:00:00.000000Z",
            "series": {"count": 7, "lastObservedTime": "2024-05-01T11:59:30.000000Z"},
            "reportingComponent": "scheduler", "type": "Warning", "reason": "X",
        });
        let cells = print_cells(CORE_EVENTS, "v1", &event);
        assert_eq!(cells[0], json!("30s"));
        assert_eq!(cells[3], json!("node"));
        assert_eq!(cells[5], json!("scheduler"));
        assert_eq!(cells[7], json!("60m"));
        assert_eq!(cells[8], json!(7));
        // A singleton without a count counts once.
        let single =
            json!({"metadata": {"name": "e2"}, "eventTime": "2024-05-01T11:59:00.000000Z"});
        let cells = print_cells(CORE_EVENTS, "v1", &single);
        assert_eq!(cells[0], json!("60s"));
        assert_eq!(cells[8], json!(1));
    }

    #[test]
    fn events_api_fields_map_to_the_same_cells() {
        let event = json!({
            "metadata": {"name": "e3"},
            "regarding": {"kind": "Deployment", "name": "web"},
            "note": "Scaled up", "reason": "ScalingReplicaSet", "type": "Normal",
            "reportingController": "deployment-controller",
            "deprecatedFirstTimestamp": "2024-05-01T11:00:00Z",
            "deprecatedLastTimestamp": "2024-05-01T11:30:00Z", "deprecatedCount": 2,
        });
        assert_eq!(
            print_cells(EVENTS_API_EVENTS, "v1", &event),
            vec![
                json!("30m"),
                json!("Normal"),
                json!("ScalingReplicaSet"),
                json!("deployment/web"),
                json!(""),
                json!("deployment-controller"),
                json!("Scaled up"),
                json!("60m"),
                json!(2),
                json!("e3")
            ]
        );
    }

    #[test]
    fn columns_put_the_name_last_and_wide() {
        assert_eq!(
            column_names("", "events"),
            [
                "Last Seen",
                "Type",
                "Reason",
                "Object",
                "Subobject",
                "Source",
                "Message",
                "First Seen",
                "Count",
                "Name"
            ]
        );
        assert_eq!(EVENT_COLUMNS[9].priority, 1);
        assert_eq!(EVENT_COLUMNS[9].format, "name");
    }
}
