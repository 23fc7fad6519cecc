//! Printers of the `apps` group: deployments, replica sets, stateful sets, daemon sets, controller
//! revisions.

use serde_json::Value;

use super::descriptions as d;
use super::fields::{
    array_at, format_label_selector, format_labels, get, i64_at, label_selector_string,
    layout_containers, name, opt_i64, str_at,
};
use super::{
    Column, PrintContext, Printer, Row, AGE_COLUMN, CONTAINERS_COLUMN, IMAGES_COLUMN, NAME_COLUMN,
};

/// The printer of `apps` resource `plural`.
pub(super) fn printer(group: &str, plural: &str) -> Option<Printer> {
    if group != "apps" {
        return None;
    }
    Some(match plural {
        "deployments" => DEPLOYMENTS,
        "replicasets" => REPLICA_SETS,
        "statefulsets" => STATEFUL_SETS,
        "daemonsets" => DAEMON_SETS,
        "controllerrevisions" => CONTROLLER_REVISIONS,
        _ => return None,
    })
}

/// `spec.replicas`, defaulted to 1 as every stored workload is.
fn desired_replicas(workload: &Value) -> i64 {
    opt_i64(workload, &["spec", "replicas"]).unwrap_or(1)
}

/// Container names and images of the workload's pod template.
fn template_containers(workload: &Value) -> (String, String) {
    layout_containers(array_at(
        workload,
        &["spec", "template", "spec", "containers"],
    ))
}

const DEPLOYMENTS: Printer = Printer {
    columns: &[
        NAME_COLUMN,
        Column::new("Ready", "string", "Number of the pod with ready state"),
        Column::new(
            "Up-to-date",
            "string",
            d::DEPLOYMENT_STATUS_UPDATED_REPLICAS,
        ),
        Column::new(
            "Available",
            "string",
            d::DEPLOYMENT_STATUS_AVAILABLE_REPLICAS,
        ),
        AGE_COLUMN,
        CONTAINERS_COLUMN,
        IMAGES_COLUMN,
        Column::new("Selector", "string", d::DEPLOYMENT_SPEC_SELECTOR).wide(),
    ],
    print: print_deployment,
};

fn print_deployment(deployment: &Value, context: &PrintContext) -> Row {
    let (names, images) = template_containers(deployment);
    // Unlike most printers, an empty selector shows as an empty string here.
    let selector = label_selector_string(get(deployment, &["spec", "selector"]))
        .unwrap_or_else(|()| "<invalid>".to_string());
    Row::from(vec![
        Value::from(name(deployment)),
        Value::from(format!(
            "{}/{}",
            i64_at(deployment, &["status", "readyReplicas"]),
            desired_replicas(deployment)
        )),
        Value::from(i64_at(deployment, &["status", "updatedReplicas"])),
        Value::from(i64_at(deployment, &["status", "availableReplicas"])),
        Value::from(context.age(deployment)),
        Value::from(names),
        Value::from(images),
        Value::from(selector),
    ])
}

const REPLICA_SETS: Printer = Printer {
    columns: &[
        NAME_COLUMN,
        Column::new("Desired", "integer", d::RS_SPEC_REPLICAS),
        Column::new("Current", "integer", d::RS_STATUS_REPLICAS),
        Column::new("Ready", "integer", d::RS_STATUS_READY_REPLICAS),
        AGE_COLUMN,
        CONTAINERS_COLUMN,
        IMAGES_COLUMN,
        Column::new("Selector", "string", d::RS_SPEC_SELECTOR).wide(),
    ],
    print: |replica_set, context| {
        let (names, images) = template_containers(replica_set);
        Row::from(vec![
            Value::from(name(replica_set)),
            Value::from(desired_replicas(replica_set)),
            Value::from(i64_at(replica_set, &["status", "replicas"])),
            Value::from(i64_at(replica_set, &["status", "readyReplicas"])),
            Value::from(context.age(replica_set)),
            Value::from(names),
            Value::from(images),
            Value::from(format_label_selector(get(
                replica_set,
                &["spec", "selector"],
            ))),
        ])
    },
};

const STATEFUL_SETS: Printer = Printer {
    columns: &[
        NAME_COLUMN,
        Column::new("Ready", "string", "Number of the pod with ready state"),
        AGE_COLUMN,
        CONTAINERS_COLUMN,
        IMAGES_COLUMN,
    ],
    print: |stateful_set, context| {
        let (names, images) = template_containers(stateful_set);
        Row::from(vec![
            Value::from(name(stateful_set)),
            Value::from(format!(
                "{}/{}",
                i64_at(stateful_set, &["status", "readyReplicas"]),
                desired_replicas(stateful_set)
            )),
            Value::from(context.age(stateful_set)),
            Value::from(names),
            Value::from(images),
        ])
    },
};

const DAEMON_SETS: Printer = Printer {
    columns: &[
        NAME_COLUMN,
        Column::new("Desired", "integer", d::DS_STATUS_DESIRED_NUMBER_SCHEDULED),
        Column::new("Current", "integer", d::DS_STATUS_CURRENT_NUMBER_SCHEDULED),
        Column::new("Ready", "integer", d::DS_STATUS_NUMBER_READY),
        Column::new(
            "Up-to-date",
            "integer",
            d::DS_STATUS_UPDATED_NUMBER_SCHEDULED,
        ),
        Column::new("Available", "integer", d::DS_STATUS_NUMBER_AVAILABLE),
        Column::new("Node Selector", "string", d::POD_SPEC_NODE_SELECTOR),
        AGE_COLUMN,
        CONTAINERS_COLUMN,
        IMAGES_COLUMN,
        Column::new("Selector", "string", d::DS_SPEC_SELECTOR).wide(),
    ],
    print: |daemon_set, context| {
        let (names, images) = template_containers(daemon_set);
        let status = |key: &str| Value::from(i64_at(daemon_set, &["status", key]));
        Row::from(vec![
            Value::from(name(daemon_set)),
            status("desiredNumberScheduled"),
            status("currentNumberScheduled"),
            status("numberReady"),
            status("updatedNumberScheduled"),
            status("numberAvailable"),
            Value::from(format_labels(get(
                daemon_set,
                &["spec", "template", "spec", "nodeSelector"],
            ))),
            Value::from(context.age(daemon_set)),
            Value::from(names),
            Value::from(images),
            Value::from(format_label_selector(get(
                daemon_set,
                &["spec", "selector"],
            ))),
        ])
    },
};

const CONTROLLER_REVISIONS: Printer = Printer {
    columns: &[
        NAME_COLUMN,
        Column::new("Controller", "string", "Controller of the object"),
        Column::new("Revision", "string", d::CONTROLLER_REVISION_REVISION),
        AGE_COLUMN,
    ],
    print: |revision, context| {
        Row::from(vec![
            Value::from(name(revision)),
            Value::from(controller_name(revision)),
            Value::from(i64_at(revision, &["revision"])),
            Value::from(context.age(revision)),
        ])
    },
};

/// The managing controller as `kind.group/name` in lower case (`daemonset.apps/fluentd`),
/// `<none>` without a controller owner reference.
pub(super) fn controller_name(object: &Value) -> String {
    let Some(owner) = array_at(object, &["metadata", "ownerReferences"])
        .iter()
        .find(|r| get(r, &["controller"]).and_then(Value::as_bool) == Some(true))
    else {
        return "<none>".to_string();
    };
    let api_version = str_at(owner, &["apiVersion"]);
    let group = match api_version.rsplit_once('/') {
        Some((group, _version)) => group,
        None => "",
    };
    let kind = str_at(owner, &["kind"]);
    let owner_name = str_at(owner, &["name"]);
    let group_kind = match (group, kind) {
        ("", "") => return owner_name.to_string(),
        ("", kind) => kind.to_string(),
        (group, kind) => format!("{kind}.{group}"),
    };
    format!("{}/{owner_name}", group_kind.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::table::test_support::{column_names, object, table_cells};
    use serde_json::json;

    fn deployment(ready: i64) -> Value {
        object(
            "web",
            "2024-05-01T11:55:00Z",
            json!({"spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                            "template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]}}},
                   "status": {"readyReplicas": ready, "updatedReplicas": 3, "availableReplicas": ready}}),
        )
    }

    #[test]
    fn deployment_row() {
        assert_eq!(
            table_cells("apps", "v1", "deployments", &deployment(3)),
            vec![
                json!("web"),
                json!("3/3"),
                json!(3),
                json!(3),
                json!("5m"),
                json!("nginx"),
                json!("nginx:1.27"),
                json!("app=web")
            ]
        );
        let mut fresh = deployment(0);
        fresh["status"] = json!({});
        let cells = table_cells("apps", "v1", "deployments", &fresh);
        assert_eq!(&cells[1..4], &[json!("0/3"), json!(0), json!(0)]);
        assert_eq!(
            column_names("apps", "deployments"),
            [
                "Name",
                "Ready",
                "Up-to-date",
                "Available",
                "Age",
                "Containers",
                "Images",
                "Selector"
            ]
        );
    }

    #[test]
    fn replica_set_and_stateful_set_rows() {
        let rs = object(
            "web-5d4f",
            "2024-05-01T09:00:00Z",
            json!({"spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web", "pod-template-hash": "5d4f"}},
                            "template": {"spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}}},
                   "status": {"replicas": 2, "readyReplicas": 1}}),
        );
        assert_eq!(
            table_cells("apps", "v1", "replicasets", &rs),
            vec![
                json!("web-5d4f"),
                json!(2),
                json!(2),
                json!(1),
                json!("3h"),
                json!("a,b"),
                json!("x,y"),
                json!("app=web,pod-template-hash=5d4f")
            ]
        );
        let sts = object(
            "db",
            "2024-05-01T11:00:00Z",
            json!({"spec": {}, "status": {"readyReplicas": 1}}),
        );
        assert_eq!(
            table_cells("apps", "v1", "statefulsets", &sts),
            vec![
                json!("db"),
                json!("1/1"),
                json!("60m"),
                json!(""),
                json!("")
            ]
        );
    }

    #[test]
    fn daemon_set_row() {
        let ds = object(
            "fluentd",
            "2024-04-29T12:00:00Z",
            json!({"spec": {"selector": {"matchLabels": {"name": "fluentd"}},
                            "template": {"spec": {"nodeSelector": {"kubernetes.io/os": "linux"},
                                                  "containers": [{"name": "fluentd", "image": "fluentd:v1"}]}}},
                   "status": {"desiredNumberScheduled": 3, "currentNumberScheduled": 3, "numberReady": 2,
                              "updatedNumberScheduled": 3, "numberAvailable": 2}}),
        );
        assert_eq!(
            table_cells("apps", "v1", "daemonsets", &ds),
            vec![
                json!("fluentd"),
                json!(3),
                json!(3),
                json!(2),
                json!(3),
                json!(2),
                json!("kubernetes.io/os=linux"),
                json!("2d"),
                json!("fluentd"),
                json!("fluentd:v1"),
                json!("name=fluentd")
            ]
        );
    }

    #[test]
    fn controller_revision_names_its_controller() {
        let revision = object(
            "fluentd-7b9",
            "2024-05-01T11:00:00Z",
            json!({"metadata": {"ownerReferences": [
                       {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "fluentd", "controller": true}]},
                   "revision": 2}),
        );
        assert_eq!(
            table_cells("apps", "v1", "controllerrevisions", &revision),
            vec![
                json!("fluentd-7b9"),
                json!("daemonset.apps/fluentd"),
                json!(2),
                json!("60m")
            ]
        );
        let orphan = object("x", "2024-05-01T11:00:00Z", json!({"revision": 1}));
        assert_eq!(controller_name(&orphan), "<none>");
    }
}
