//! The pod printer: READY, STATUS (upstream's status-reason logic), RESTARTS, AGE, and the wide IP,
//! NODE, NOMINATED NODE, READINESS GATES.

use jiff::Timestamp;
use serde_json::{json, Value};

use super::age::parse_time;
use super::descriptions as d;
use super::fields::{array_at, bool_at, get, i64_at, is_deleting, name, opt_bool, opt_str, str_at};
use super::{Column, PrintContext, Printer, Row, AGE_COLUMN, NAME_COLUMN};

/// Upstream's pod columns.
const POD_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    Column::new(
        "Ready",
        "string",
        "The aggregate readiness state of this pod for accepting traffic.",
    ),
    Column::new(
        "Status",
        "string",
        "The aggregate status of the containers in this pod.",
    ),
    Column::new(
        "Restarts",
        "string",
        "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
    ),
    AGE_COLUMN,
    Column::new("IP", "string", d::POD_STATUS_POD_IP).wide(),
    Column::new("Node", "string", d::POD_SPEC_NODE_NAME).wide(),
    Column::new("Nominated Node", "string", d::POD_STATUS_NOMINATED_NODE_NAME).wide(),
    Column::new("Readiness Gates", "string", d::POD_SPEC_READINESS_GATES).wide(),
];

/// The printer of `pods`.
pub(super) const PODS: Printer = Printer {
    columns: POD_COLUMNS,
    print: print_pod,
};

/// The kubelet's `status.reason` for pods on a node that stopped reporting.
const NODE_UNREACHABLE_POD_REASON: &str = "NodeLost";

/// The present (non-null) state object `key` (`waiting`, `running`, `terminated`) under `state`.
fn state<'a>(container_status: &'a Value, field: &str, key: &str) -> Option<&'a Value> {
    get(container_status, &[field, key]).filter(|v| v.is_object())
}

/// Keeps the later of `current` and the `lastState.terminated.finishedAt` of `container_status`.
fn later_restart(current: Option<Timestamp>, container_status: &Value) -> Option<Timestamp> {
    let finished = state(container_status, "lastState", "terminated")
        .and_then(|terminated| parse_time(terminated.get("finishedAt")));
    match (current, finished) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// The reason shown for a terminated container without a reason: `Signal:N` or `ExitCode:N`.
fn terminated_without_reason(terminated: &Value) -> String {
    let signal = i64_at(terminated, &["signal"]);
    if signal != 0 {
        format!("Signal:{signal}")
    } else {
        format!("ExitCode:{}", i64_at(terminated, &["exitCode"]))
    }
}

/// Whether the init container `name` of `pod` is a sidecar (`restartPolicy: Always`).
fn is_restartable_init_container(pod: &Value, name: &str) -> bool {
    array_at(pod, &["spec", "initContainers"])
        .iter()
        .find(|c| str_at(c, &["name"]) == name)
        .is_some_and(|c| str_at(c, &["restartPolicy"]) == "Always")
}

fn condition_status<'a>(pod: &'a Value, condition_type: &str) -> Option<&'a str> {
    array_at(pod, &["status", "conditions"])
        .iter()
        .find(|c| str_at(c, &["type"]) == condition_type)
        .map(|c| str_at(c, &["status"]))
}

fn print_pod(pod: &Value, context: &PrintContext) -> Row {
    let status = pod.get("status").unwrap_or(&Value::Null);
    let init_containers = array_at(pod, &["spec", "initContainers"]);
    let mut restarts: i64 = 0;
    let mut restartable_init_restarts: i64 = 0;
    let mut total_containers = array_at(pod, &["spec", "containers"]).len();
    let mut ready_containers = 0usize;
    let mut last_restart: Option<Timestamp> = None;
    let mut last_restartable_init_restart: Option<Timestamp> = None;

    let phase = str_at(status, &["phase"]);
    let mut reason = match str_at(status, &["reason"]) {
        "" => phase.to_string(),
        r => r.to_string(),
    };
    for condition in array_at(status, &["conditions"]) {
        if str_at(condition, &["type"]) == "PodScheduled"
            && str_at(condition, &["reason"]) == "SchedulingGated"
        {
            reason = "SchedulingGated".to_string();
        }
    }

    let conditions = match phase {
        "Succeeded" => vec![json!({
            "type": "Completed", "status": "True", "reason": "Succeeded",
            "message": "The pod has completed successfully.",
        })],
        "Failed" => vec![json!({
            "type": "Completed", "status": "True", "reason": "Failed",
            "message": "The pod failed.",
        })],
        _ => Vec::new(),
    };

    total_containers += init_containers
        .iter()
        .filter(|c| str_at(c, &["restartPolicy"]) == "Always")
        .count();

    let mut initializing = false;
    for (index, container) in array_at(status, &["initContainerStatuses"])
        .iter()
        .enumerate()
    {
        let restart_count = i64_at(container, &["restartCount"]);
        restarts += restart_count;
        last_restart = later_restart(last_restart, container);
        let restartable = is_restartable_init_container(pod, str_at(container, &["name"]));
        if restartable {
            restartable_init_restarts += restart_count;
            last_restartable_init_restart = later_restart(last_restartable_init_restart, container);
        }
        let terminated = state(container, "state", "terminated");
        let waiting = state(container, "state", "waiting");
        if terminated.is_some_and(|t| i64_at(t, &["exitCode"]) == 0) {
            continue;
        }
        if restartable && opt_bool(container, &["started"]) == Some(true) {
            if bool_at(container, &["ready"]) {
                ready_containers += 1;
            }
            continue;
        }
        if let Some(terminated) = terminated {
            reason = match str_at(terminated, &["reason"]) {
                "" => format!("Init:{}", terminated_without_reason(terminated)),
                r => format!("Init:{r}"),
            };
        } else if let Some(waiting_reason) = waiting
            .map(|w| str_at(w, &["reason"]))
            .filter(|r| !r.is_empty() && *r != "PodInitializing")
        {
            reason = format!("Init:{waiting_reason}");
        } else {
            reason = format!("Init:{index}/{}", init_containers.len());
        }
        initializing = true;
        break;
    }

    if !initializing || condition_status(pod, "Initialized") == Some("True") {
        restarts = restartable_init_restarts;
        last_restart = last_restartable_init_restart;
        let mut has_running = false;
        for container in array_at(status, &["containerStatuses"]).iter().rev() {
            restarts += i64_at(container, &["restartCount"]);
            last_restart = later_restart(last_restart, container);
            let waiting_reason =
                state(container, "state", "waiting").map(|w| str_at(w, &["reason"]));
            let terminated = state(container, "state", "terminated");
            if let Some(r) = waiting_reason.filter(|r| !r.is_empty()) {
                reason = r.to_string();
            } else if let Some(terminated) = terminated {
                reason = match str_at(terminated, &["reason"]) {
                    "" => terminated_without_reason(terminated),
                    r => r.to_string(),
                };
            } else if bool_at(container, &["ready"])
                && state(container, "state", "running").is_some()
            {
                has_running = true;
                ready_containers += 1;
            }
        }
        // A pod whose finished containers say "Completed" is still running while one runs.
        if reason == "Completed" && has_running {
            reason = if condition_status(pod, "Ready") == Some("True") {
                "Running".to_string()
            } else {
                "NotReady".to_string()
            };
        }
    }

    if is_deleting(pod) && str_at(status, &["reason"]) == NODE_UNREACHABLE_POD_REASON {
        reason = "Unknown".to_string();
    } else if is_deleting(pod) && phase != "Failed" && phase != "Succeeded" {
        reason = "Terminating".to_string();
    }

    let restarts_cell = match last_restart {
        Some(at) if restarts != 0 => {
            format!(
                "{restarts} ({} ago)",
                super::age::human_duration(context.now.duration_since(at))
            )
        }
        _ => restarts.to_string(),
    };

    let pod_ip = pod_ip(status);
    let or_none = |s: &str| {
        if s.is_empty() {
            "<none>".to_string()
        } else {
            s.to_string()
        }
    };
    let cells = vec![
        Value::from(name(pod)),
        Value::from(format!("{ready_containers}/{total_containers}")),
        Value::from(reason),
        Value::from(restarts_cell),
        Value::from(context.age(pod)),
        Value::from(or_none(pod_ip)),
        Value::from(or_none(str_at(pod, &["spec", "nodeName"]))),
        Value::from(or_none(str_at(status, &["nominatedNodeName"]))),
        Value::from(readiness_gates(pod)),
    ];
    Row { cells, conditions }
}

/// The pod's primary IP as upstream's internal type holds it: `status.podIP` wins over
/// `status.podIPs[0]` (the v1 -> internal conversion rule), empty when neither is set.
fn pod_ip(status: &Value) -> &str {
    match str_at(status, &["podIP"]) {
        "" => array_at(status, &["podIPs"])
            .first()
            .and_then(|ip| opt_str(ip, &["ip"]))
            .unwrap_or(""),
        ip => ip,
    }
}

/// `true/total` readiness gates whose condition is `True`, `<none>` without gates.
fn readiness_gates(pod: &Value) -> String {
    let gates = array_at(pod, &["spec", "readinessGates"]);
    if gates.is_empty() {
        return "<none>".to_string();
    }
    let satisfied = gates
        .iter()
        .filter(|gate| condition_status(pod, str_at(gate, &["conditionType"])) == Some("True"))
        .count();
    format!("{satisfied}/{}", gates.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::table::test_support::{now, object};
    use serde_json::json;

    fn pod(spec: Value, status: Value) -> Value {
        object(
            "web-0",
            "2024-05-01T11:55:00Z",
            json!({"spec": spec, "status": status}),
        )
    }

    fn cells(pod: &Value) -> Vec<Value> {
        print_pod(
            pod,
            &PrintContext {
                now: now(),
                version: "v1",
            },
        )
        .cells
    }

    fn status_and_ready(pod: &Value) -> (String, String) {
        let c = cells(pod);
        (
            c[2].as_str().unwrap_or("").into(),
            c[1].as_str().unwrap_or("").into(),
        )
    }

    fn one_container() -> Value {
        json!({"containers": [{"name": "app", "image": "nginx"}]})
    }

    #[test]
    fn running_pod_full_row() {
        let p = pod(
            json!({"containers": [{"name": "app"}], "nodeName": "node-1"}),
            json!({"phase": "Running", "podIP": "10.0.0.5",
                   "conditions": [{"type": "Ready", "status": "True"}],
                   "containerStatuses": [{"name": "app", "ready": true, "restartCount": 0,
                                          "state": {"running": {"startedAt": "2024-05-01T11:55:10Z"}}}]}),
        );
        assert_eq!(
            cells(&p),
            vec![
                json!("web-0"),
                json!("1/1"),
                json!("Running"),
                json!("0"),
                json!("5m"),
                json!("10.0.0.5"),
                json!("node-1"),
                json!("<none>"),
                json!("<none>")
            ]
        );
    }

    #[test]
    fn pending_pod_without_status_shows_phase_and_none_cells() {
        let p = pod(one_container(), json!({"phase": "Pending"}));
        assert_eq!(
            cells(&p),
            vec![
                json!("web-0"),
                json!("0/1"),
                json!("Pending"),
                json!("0"),
                json!("5m"),
                json!("<none>"),
                json!("<none>"),
                json!("<none>"),
                json!("<none>")
            ]
        );
    }

    #[test]
    fn status_reasons() {
        let waiting = |reason: &str| {
            pod(
                one_container(),
                json!({"phase": "Pending", "containerStatuses": [
                    {"name": "app", "ready": false, "state": {"waiting": {"reason": reason}}}]}),
            )
        };
        assert_eq!(
            status_and_ready(&waiting("ContainerCreating")).0,
            "ContainerCreating"
        );
        assert_eq!(
            status_and_ready(&waiting("CrashLoopBackOff")).0,
            "CrashLoopBackOff"
        );
        assert_eq!(
            status_and_ready(&waiting("ImagePullBackOff")).0,
            "ImagePullBackOff"
        );

        let completed = pod(
            one_container(),
            json!({"phase": "Succeeded", "containerStatuses": [
                {"name": "app", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}),
        );
        assert_eq!(
            status_and_ready(&completed),
            ("Completed".into(), "0/1".into())
        );

        let signal = pod(
            one_container(),
            json!({"phase": "Failed", "containerStatuses": [
                {"name": "app", "state": {"terminated": {"exitCode": 137, "signal": 9}}}]}),
        );
        assert_eq!(status_and_ready(&signal).0, "Signal:9");
        let exit = pod(
            one_container(),
            json!({"phase": "Failed", "containerStatuses": [
                {"name": "app", "state": {"terminated": {"exitCode": 3}}}]}),
        );
        assert_eq!(status_and_ready(&exit).0, "ExitCode:3");

        let evicted = pod(
            one_container(),
            json!({"phase": "Failed", "reason": "Evicted"}),
        );
        assert_eq!(status_and_ready(&evicted).0, "Evicted");

        let gated = pod(
            one_container(),
            json!({"phase": "Pending", "conditions": [
                {"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]}),
        );
        assert_eq!(status_and_ready(&gated).0, "SchedulingGated");
    }

    #[test]
    fn completed_with_a_running_container_is_running_or_not_ready() {
        let status = |ready_condition: &str| {
            json!({"phase": "Running",
                   "conditions": [{"type": "Ready", "status": ready_condition}],
                   "containerStatuses": [
                       {"name": "a", "ready": true, "state": {"running": {}}},
                       {"name": "b", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]})
        };
        let spec = json!({"containers": [{"name": "a"}, {"name": "b"}]});
        assert_eq!(
            status_and_ready(&pod(spec.clone(), status("True"))),
            ("Running".into(), "1/2".into())
        );
        assert_eq!(status_and_ready(&pod(spec, status("False"))).0, "NotReady");
    }

    #[test]
    fn init_container_reasons() {
        let spec = json!({"initContainers": [{"name": "i1"}, {"name": "i2"}], "containers": [{"name": "app"}]});
        let with_init = |statuses: Value| {
            pod(
                spec.clone(),
                json!({"phase": "Pending", "initContainerStatuses": statuses}),
            )
        };

        let first_running = with_init(
            json!([{"name": "i1", "state": {"running": {}}}, {"name": "i2", "state": {"waiting": {"reason": "PodInitializing"}}}]),
        );
        assert_eq!(
            status_and_ready(&first_running),
            ("Init:0/2".into(), "0/1".into())
        );

        let second = with_init(json!([
            {"name": "i1", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
            {"name": "i2", "state": {"waiting": {"reason": "PodInitializing"}}}]));
        assert_eq!(status_and_ready(&second).0, "Init:1/2");

        let crash = with_init(
            json!([{"name": "i1", "restartCount": 3, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]),
        );
        assert_eq!(status_and_ready(&crash).0, "Init:CrashLoopBackOff");
        assert_eq!(cells(&crash)[3], json!("3"));

        let failed = with_init(
            json!([{"name": "i1", "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}]),
        );
        assert_eq!(status_and_ready(&failed).0, "Init:Error");
        let signal = with_init(
            json!([{"name": "i1", "state": {"terminated": {"exitCode": 1, "signal": 15}}}]),
        );
        assert_eq!(status_and_ready(&signal).0, "Init:Signal:15");
        let exit = with_init(json!([{"name": "i1", "state": {"terminated": {"exitCode": 2}}}]));
        assert_eq!(status_and_ready(&exit).0, "Init:ExitCode:2");
    }

    #[test]
    fn sidecar_init_containers_count_as_containers() {
        let spec = json!({"initContainers": [{"name": "proxy", "restartPolicy": "Always"}], "containers": [{"name": "app"}]});
        let p = pod(
            spec,
            json!({"phase": "Running",
                   "conditions": [{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": "True"}],
                   "initContainerStatuses": [{"name": "proxy", "started": true, "ready": true, "restartCount": 2,
                       "lastState": {"terminated": {"finishedAt": "2024-05-01T11:58:00Z"}},
                       "state": {"running": {}}}],
                   "containerStatuses": [{"name": "app", "ready": true, "restartCount": 1,
                       "lastState": {"terminated": {"finishedAt": "2024-05-01T11:57:00Z"}},
                       "state": {"running": {}}}]}),
        );
        let c = cells(&p);
        assert_eq!(c[1], json!("2/2"));
        assert_eq!(c[2], json!("Running"));
        assert_eq!(c[3], json!("3 (2m ago)"));
    }

    #[test]
    fn restarts_show_the_last_restart() {
        let p = pod(
            one_container(),
            json!({"phase": "Running", "containerStatuses": [
                {"name": "app", "ready": true, "restartCount": 4, "state": {"running": {}},
                 "lastState": {"terminated": {"exitCode": 1, "finishedAt": "2024-05-01T11:57:00Z"}}}]}),
        );
        assert_eq!(cells(&p)[3], json!("4 (3m ago)"));
        // Restarts without a recorded termination time are just a count.
        let p = pod(
            one_container(),
            json!({"phase": "Running", "containerStatuses": [
                {"name": "app", "restartCount": 2, "state": {"running": {}}}]}),
        );
        assert_eq!(cells(&p)[3], json!("2"));
    }

    #[test]
    fn deletion_shows_terminating_or_unknown() {
        let mut p = pod(one_container(), json!({"phase": "Running"}));
        p["metadata"]["deletionTimestamp"] = json!("2024-05-01T11:59:00Z");
        assert_eq!(status_and_ready(&p).0, "Terminating");
        p["status"]["reason"] = json!("NodeLost");
        assert_eq!(status_and_ready(&p).0, "Unknown");
        let mut done = pod(one_container(), json!({"phase": "Succeeded"}));
        done["metadata"]["deletionTimestamp"] = json!("2024-05-01T11:59:00Z");
        assert_eq!(status_and_ready(&done).0, "Succeeded");
    }

    #[test]
    fn finished_pods_carry_a_completed_row_condition() {
        let ctx = PrintContext {
            now: now(),
            version: "v1",
        };
        let row = print_pod(&pod(one_container(), json!({"phase": "Succeeded"})), &ctx);
        assert_eq!(
            row.conditions,
            vec![
                json!({"type": "Completed", "status": "True", "reason": "Succeeded",
                        "message": "The pod has completed successfully."})
            ]
        );
        let row = print_pod(&pod(one_container(), json!({"phase": "Failed"})), &ctx);
        assert_eq!(row.conditions[0]["reason"], json!("Failed"));
        let row = print_pod(&pod(one_container(), json!({"phase": "Running"})), &ctx);
        assert!(row.conditions.is_empty());
    }

    #[test]
    fn wide_cells() {
        let p = pod(
            json!({"containers": [{"name": "app"}], "nodeName": "n1",
                   "readinessGates": [{"conditionType": "a"}, {"conditionType": "b"}]}),
            json!({"phase": "Running", "podIPs": [{"ip": "fd00::1"}], "nominatedNodeName": "n2",
                   "conditions": [{"type": "a", "status": "True"}, {"type": "b", "status": "False"}]}),
        );
        let c = cells(&p);
        assert_eq!(
            &c[5..],
            &[json!("fd00::1"), json!("n1"), json!("n2"), json!("1/2")]
        );
        let both = json!({"podIP": "10.1.1.1", "podIPs": [{"ip": "10.9.9.9"}]});
        assert_eq!(pod_ip(&both), "10.1.1.1");
    }
}
