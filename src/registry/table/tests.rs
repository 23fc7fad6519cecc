//! Tests of the Table envelope: metadata, column definitions, row objects, the default table and
//! watch rows.

use serde_json::{json, Value};

use super::test_support::{builtin_row_table_at, builtin_table_at, info, now, object};
use super::*;

fn deployment() -> Value {
    let mut d = object(
        "web",
        "2024-05-01T11:55:00Z",
        json!({"metadata": {"namespace": "default", "resourceVersion": "42", "uid": "u-1", "labels": {"app": "web"}},
               "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                        "template": {"spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}},
               "status": {"readyReplicas": 3, "updatedReplicas": 3, "availableReplicas": 3}}),
    );
    d["apiVersion"] = json!("apps/v1");
    d["kind"] = json!("Deployment");
    d
}

fn deployments() -> ResourceInfo {
    info("apps", "v1", "deployments", "Deployment")
}

#[test]
fn list_table_shape() {
    let table = builtin_table_at(
        &deployments(),
        &[deployment()],
        IncludeObject::Metadata,
        Some(json!({"resourceVersion": "100", "continue": "tok", "remainingItemCount": 5})),
        now(),
    );
    assert_eq!(table["kind"], "Table");
    assert_eq!(table["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(
        table["metadata"],
        json!({"resourceVersion": "100", "continue": "tok", "remainingItemCount": 5})
    );
    assert_eq!(
        table["columnDefinitions"][0],
        json!({"name": "Name", "type": "string", "format": "name", "priority": 0,
               "description": descriptions::OBJECT_META_NAME})
    );
    assert_eq!(table["columnDefinitions"][5]["priority"], 1);
    assert_eq!(table["columnDefinitions"][1]["format"], "");
    assert_eq!(
        table["rows"][0]["cells"],
        json!(["web", "3/3", 3, 3, "5m", "nginx", "nginx", "app=web"])
    );
    assert!(table["rows"][0].get("conditions").is_none());
}

#[test]
fn list_metadata_skips_empty_fields() {
    let table = builtin_table_at(
        &deployments(),
        &[],
        IncludeObject::Metadata,
        Some(json!({"resourceVersion": "7", "continue": ""})),
        now(),
    );
    assert_eq!(table["metadata"], json!({"resourceVersion": "7"}));
    assert_eq!(table["rows"], json!([]));
    let table = builtin_table_at(
        &deployments(),
        &[deployment()],
        IncludeObject::Metadata,
        None,
        now(),
    );
    assert_eq!(table["metadata"], json!({"resourceVersion": "42"}));
}

#[test]
fn include_object_modes() {
    let object = deployment();
    let row_object = |include| {
        builtin_table_at(
            &deployments(),
            std::slice::from_ref(&object),
            include,
            None,
            now(),
        )["rows"][0]["object"]
            .clone()
    };
    assert_eq!(
        row_object(IncludeObject::Metadata),
        json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": object["metadata"]})
    );
    assert_eq!(row_object(IncludeObject::Object), object);
    assert_eq!(row_object(IncludeObject::None), Value::Null);
    // The whole object always carries the resource's apiVersion and kind.
    let mut bare = object.clone();
    bare.as_object_mut().map(|m| {
        m.remove("kind");
        m.remove("apiVersion")
    });
    let table = builtin_table_at(&deployments(), &[bare], IncludeObject::Object, None, now());
    assert_eq!(table["rows"][0]["object"]["apiVersion"], "apps/v1");
    assert_eq!(table["rows"][0]["object"]["kind"], "Deployment");
}

#[test]
fn include_object_query_values() {
    assert_eq!(
        IncludeObject::from_query(None).ok(),
        Some(IncludeObject::Metadata)
    );
    assert_eq!(
        IncludeObject::from_query(Some("")).ok(),
        Some(IncludeObject::Metadata)
    );
    assert_eq!(
        IncludeObject::from_query(Some("Metadata")).ok(),
        Some(IncludeObject::Metadata)
    );
    assert_eq!(
        IncludeObject::from_query(Some("Object")).ok(),
        Some(IncludeObject::Object)
    );
    assert_eq!(
        IncludeObject::from_query(Some("None")).ok(),
        Some(IncludeObject::None)
    );
    assert!(IncludeObject::from_query(Some("object")).is_err());
}

#[test]
fn default_table_for_resources_without_a_printer() {
    let roles = info("rbac.authorization.k8s.io", "v1", "roles", "Role");
    let role = object("reader", "2024-05-01T13:00:00.5+02:00", json!({}));
    let table = builtin_table_at(
        &roles,
        &[role],
        IncludeObject::None,
        Some(json!({"resourceVersion": "9"})),
        now(),
    );
    assert_eq!(
        table["columnDefinitions"],
        json!([
            {"name": "Name", "type": "string", "format": "name", "priority": 0, "description": descriptions::OBJECT_META_NAME},
            {"name": "Created At", "type": "date", "format": "", "priority": 0,
             "description": descriptions::OBJECT_META_CREATION_TIMESTAMP}
        ])
    );
    assert_eq!(
        table["rows"],
        json!([{"cells": ["reader", "2024-05-01T11:00:00Z"], "object": null}])
    );
    // An empty default table has no rows at all, as upstream's nil slice.
    let empty = builtin_table_at(&roles, &[], IncludeObject::None, Some(json!({})), now());
    assert_eq!(empty["rows"], Value::Null);
    assert_eq!(empty["metadata"], json!({}));
}

#[test]
fn watch_rows_carry_columns_only_when_asked() {
    let first = builtin_row_table_at(
        &deployments(),
        &deployment(),
        IncludeObject::Metadata,
        true,
        now(),
    );
    assert_eq!(first["columnDefinitions"].as_array().map(Vec::len), Some(8));
    assert_eq!(first["metadata"], json!({"resourceVersion": "42"}));
    assert_eq!(first["rows"].as_array().map(Vec::len), Some(1));
    let later = builtin_row_table_at(
        &deployments(),
        &deployment(),
        IncludeObject::Metadata,
        false,
        now(),
    );
    assert_eq!(later["columnDefinitions"], Value::Null);
    assert_eq!(later["rows"][0]["cells"], first["rows"][0]["cells"]);
}

#[test]
fn finished_pod_rows_have_conditions() {
    let pods = info("", "v1", "pods", "Pod");
    let pod = object(
        "job-x",
        "2024-05-01T11:00:00Z",
        json!({"spec": {"containers": [{"name": "c"}]}, "status": {"phase": "Succeeded"}}),
    );
    let table = builtin_table_at(&pods, &[pod], IncludeObject::None, None, now());
    assert_eq!(table["rows"][0]["conditions"][0]["type"], "Completed");
    assert_eq!(table["rows"][0]["cells"][2], "Succeeded");
}

#[test]
fn flow_schemas_are_listed_in_precedence_order() {
    let schemas = info(
        "flowcontrol.apiserver.k8s.io",
        "v1",
        "flowschemas",
        "FlowSchema",
    );
    let schema = |name: &str, precedence: i64| {
        object(
            name,
            "2024-05-01T11:00:00Z",
            json!({"spec": {"matchingPrecedence": precedence}}),
        )
    };
    let table = builtin_table_at(
        &schemas,
        &[schema("b", 9000), schema("a", 1000), schema("c", 1000)],
        IncludeObject::None,
        None,
        now(),
    );
    let names: Vec<&str> = table["rows"]
        .as_array()
        .map(|rows| rows.iter().filter_map(|r| r["cells"][0].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(names, ["a", "c", "b"]);
}

#[test]
fn events_api_events_use_the_event_printer() {
    let events = info("events.k8s.io", "v1", "events", "Event");
    let event = json!({"metadata": {"name": "e"}, "regarding": {"kind": "Pod", "name": "p"}, "note": "hi",
                       "deprecatedLastTimestamp": "2024-05-01T11:59:00Z"});
    let table = builtin_table_at(&events, &[event], IncludeObject::None, None, now());
    assert_eq!(table["columnDefinitions"][0]["name"], "Last Seen");
    assert_eq!(table["rows"][0]["cells"][3], "pod/p");
    assert_eq!(table["rows"][0]["cells"][6], "hi");
    // The stored (core v1) form listed through events.k8s.io reads the core fields.
    let stored = json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e"},
                        "involvedObject": {"kind": "Node", "name": "n"}, "message": "core"});
    let table = builtin_table_at(&events, &[stored], IncludeObject::None, None, now());
    assert_eq!(table["rows"][0]["cells"][3], "node/n");
    assert_eq!(table["rows"][0]["cells"][6], "core");
}

#[test]
fn every_printer_prints_one_cell_per_column() {
    let resources: &[(&str, &str)] = &[
        ("", "pods"),
        ("", "services"),
        ("", "endpoints"),
        ("", "configmaps"),
        ("", "secrets"),
        ("", "namespaces"),
        ("", "serviceaccounts"),
        ("", "nodes"),
        ("", "events"),
        ("", "replicationcontrollers"),
        ("", "podtemplates"),
        ("", "resourcequotas"),
        ("", "componentstatuses"),
        ("", "persistentvolumes"),
        ("", "persistentvolumeclaims"),
        ("apps", "deployments"),
        ("apps", "replicasets"),
        ("apps", "statefulsets"),
        ("apps", "daemonsets"),
        ("apps", "controllerrevisions"),
        ("batch", "jobs"),
        ("batch", "cronjobs"),
        ("networking.k8s.io", "ingresses"),
        ("networking.k8s.io", "ingressclasses"),
        ("networking.k8s.io", "networkpolicies"),
        ("networking.k8s.io", "servicecidrs"),
        ("discovery.k8s.io", "endpointslices"),
        ("rbac.authorization.k8s.io", "rolebindings"),
        ("rbac.authorization.k8s.io", "clusterrolebindings"),
        ("policy", "poddisruptionbudgets"),
        ("coordination.k8s.io", "leases"),
        ("coordination.k8s.io", "leasecandidates"),
        ("scheduling.k8s.io", "priorityclasses"),
        ("node.k8s.io", "runtimeclasses"),
        ("certificates.k8s.io", "certificatesigningrequests"),
        ("certificates.k8s.io", "clustertrustbundles"),
        ("autoscaling", "horizontalpodautoscalers"),
        (
            "admissionregistration.k8s.io",
            "mutatingwebhookconfigurations",
        ),
        (
            "admissionregistration.k8s.io",
            "validatingadmissionpolicies",
        ),
        ("admissionregistration.k8s.io", "mutatingadmissionpolicies"),
        (
            "admissionregistration.k8s.io",
            "validatingadmissionpolicybindings",
        ),
        ("flowcontrol.apiserver.k8s.io", "flowschemas"),
        (
            "flowcontrol.apiserver.k8s.io",
            "prioritylevelconfigurations",
        ),
        ("storage.k8s.io", "storageclasses"),
        ("storage.k8s.io", "volumeattachments"),
        ("storage.k8s.io", "csidrivers"),
        ("storage.k8s.io", "csinodes"),
        ("storage.k8s.io", "volumeattributesclasses"),
        ("events.k8s.io", "events"),
        ("apiregistration.k8s.io", "apiservices"),
    ];
    // Upstream's IP address printer prints an age cell it defines no column for.
    let known_mismatch = [("networking.k8s.io", "ipaddresses")];
    let empty = json!({"metadata": {"name": "x"}});
    for (group, plural) in resources.iter().chain(known_mismatch.iter()) {
        let printer = printer_for(group, plural);
        assert!(printer.is_some(), "{group}/{plural} has no printer");
        if let Some(printer) = printer {
            let cells = (printer.print)(
                &empty,
                &PrintContext {
                    now: now(),
                    version: "v1",
                },
            )
            .cells;
            let expected =
                printer.columns.len() + usize::from(known_mismatch.contains(&(*group, *plural)));
            assert_eq!(cells.len(), expected, "{group}/{plural}");
            assert!(
                cells.contains(&json!("x")),
                "{group}/{plural} prints the name"
            );
        }
    }
    // Stores that register the default table.
    assert!(printer_for("rbac.authorization.k8s.io", "roles").is_none());
    assert!(printer_for("rbac.authorization.k8s.io", "clusterroles").is_none());
    assert!(printer_for("", "limitranges").is_none());
    assert!(printer_for("storage.k8s.io", "csistoragecapacities").is_none());
    assert!(printer_for("apiextensions.k8s.io", "customresourcedefinitions").is_none());
}
