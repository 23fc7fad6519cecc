//! See main.rs. `componentstatuses` as kube-apiserver 1.33 computes them
//! (`pkg/registry/core/componentstatus/rest.go`, `pkg/registry/core/rest/storage_core.go`):
//! `scheduler` and `controller-manager` probed at `https://127.0.0.1:10259/healthz` and
//! `:10257/healthz` (nothing listens there: unhealthy with Go's dial error), the storage as
//! `etcd-0`; read-only.

use crate::common::Apiary;

#[test]
fn kubectl_gets_component_statuses() {
    let apiary = Apiary::start();
    let table = apiary.ok(&["get", "componentstatuses"]);
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].split_whitespace().collect::<Vec<_>>() == ["NAME", "STATUS", "MESSAGE", "ERROR"],
        "{table}"
    );
    let row = |name: &str| {
        lines
            .iter()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no {name} in {table}"))
            .split_whitespace()
            .collect::<Vec<_>>()
    };
    assert_eq!(row("etcd-0"), ["etcd-0", "Healthy", "ok"]);
    assert_eq!(
        row("scheduler").join(" "),
        "scheduler Unhealthy Get \"https://127.0.0.1:10259/healthz\": dial tcp 127.0.0.1:10259: connect: connection refused"
    );
    assert_eq!(
        row("controller-manager").join(" "),
        "controller-manager Unhealthy Get \"https://127.0.0.1:10257/healthz\": dial tcp 127.0.0.1:10257: connect: connection refused"
    );
    assert_eq!(lines.len(), 4, "{table}");

    let one = apiary.ok(&["get", "cs", "etcd-0", "-o", "json"]);
    let one: serde_json::Value = serde_json::from_str(&one).unwrap();
    assert_eq!(one["kind"], "ComponentStatus");
    assert_eq!(one["metadata"]["name"], "etcd-0");
    assert_eq!(
        one["conditions"],
        serde_json::json!([{"type": "Healthy", "status": "True", "message": "ok"}])
    );
    // Selectors filter the computed list.
    let selected = apiary.ok(&[
        "get",
        "cs",
        "--field-selector",
        "metadata.name=etcd-0",
        "-o",
        "name",
    ]);
    assert_eq!(selected.trim(), "componentstatus/etcd-0");

    let missing = apiary.fails(&["get", "cs", "etcd-1"]);
    assert!(
        missing.contains(r#"Error from server (NotFound): componentstatus "etcd-1" not found"#),
        "{missing}"
    );
    let create = apiary.kubectl_with_stdin(
        &["create", "-f", "-"],
        Some("apiVersion: v1\nkind: ComponentStatus\nmetadata: {name: mine}\nconditions: []\n"),
    );
    let err = crate::common::stderr(&create);
    assert!(
        err.contains("Error from server (MethodNotAllowed)"),
        "{err}"
    );
    assert!(!apiary.kubectl(&["delete", "cs", "etcd-0"]).status.success());
}

#[tokio::test(flavor = "multi_thread")]
async fn kube_rs_reads_component_statuses_and_records_events() {
    use k8s_openapi::api::core::v1::ComponentStatus;
    use k8s_openapi::api::events::v1::Event as K8sEvent;
    use kube::api::{Api, ListParams};
    use kube::runtime::events::{Event, EventType, Recorder, Reporter};
    use kube::Resource as _;

    let apiary = Apiary::start();
    let client = apiary.client().await;
    let statuses: Api<ComponentStatus> = Api::all(client.clone());
    let list = statuses.list(&ListParams::default()).await.unwrap();
    let mut names: Vec<String> = list
        .items
        .iter()
        .map(|cs| cs.metadata.name.clone().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["controller-manager", "etcd-0", "scheduler"]);
    let etcd = statuses.get("etcd-0").await.unwrap();
    let condition = &etcd.conditions.as_ref().unwrap()[0];
    assert_eq!(
        (condition.type_.as_str(), condition.status.as_str()),
        ("Healthy", "True")
    );
    let kube::Error::Api(status) = statuses.get("nope").await.unwrap_err() else {
        panic!("a status");
    };
    assert_eq!(status.code, 404);

    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: "conformance".into(),
            instance: None,
        },
    );
    let reference = etcd.object_ref(&());
    recorder
        .publish(
            &Event {
                type_: EventType::Normal,
                reason: "Probed".into(),
                note: Some("etcd-0 is healthy".into()),
                action: "Probe".into(),
                secondary: None,
            },
            &reference,
        )
        .await
        .unwrap();
    let events: Api<K8sEvent> = Api::namespaced(client, "default");
    let events = events.list(&ListParams::default()).await.unwrap();
    let event = events
        .items
        .iter()
        .find(|e| e.reason.as_deref() == Some("Probed"))
        .expect("the recorded event");
    assert_eq!(
        event.regarding.as_ref().unwrap().kind.as_deref(),
        Some("ComponentStatus")
    );
    assert_eq!(event.reporting_controller.as_deref(), Some("conformance"));
}
