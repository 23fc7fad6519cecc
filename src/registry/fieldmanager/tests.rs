//! Unit tests of field management: FieldsV1, set operations, merges by list type, conflicts.

use serde_json::{json, Value};
use std::sync::Arc;

use super::managed::{self, Entry, Managed, Operation};
use super::set::{path_string, FieldSet, PathElement};
use super::walk;
use super::*;

fn field(name: &str) -> PathElement {
    PathElement::Field(name.into())
}

fn info(group: &str, version: &str, kind: &str) -> Arc<ResourceInfo> {
    crate::catalog::builtin()
        .by_kind(group, version, kind)
        .expect("built-in kind")
        .clone()
}

fn deployment_type() -> TypeRef {
    TypeRef::for_resource(&info("apps", "v1", "Deployment"))
}

fn deployment(replicas: i64) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "nginx", "image": "nginx", "ports": [{"containerPort": 80}]}]}
            }
        }
    })
}

fn entries(object: &Value) -> Vec<Value> {
    object["metadata"]["managedFields"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn apply_as(manager: &str, live: Option<&Value>, config: &Value, force: bool) -> ApiResult<Value> {
    let request = ApplyRequest {
        info: &info("apps", "v1", "Deployment"),
        manager,
        force,
        subresource: None,
        reset_fields: &[&["status"]],
    };
    apply(&request, live, config)
}

#[test]
fn applied_deployment_fields_v1_is_upstreams() {
    let mut set = walk::field_set(&deployment(2), &deployment_type());
    managed::strip_meta(&mut set);
    assert_eq!(
        set.to_fields_v1(),
        json!({
            "f:metadata": {"f:labels": {"f:app": {}}},
            "f:spec": {
                "f:replicas": {},
                "f:selector": {},
                "f:template": {
                    "f:metadata": {"f:labels": {"f:app": {}}},
                    "f:spec": {"f:containers": {"k:{\"name\":\"nginx\"}": {
                        ".": {}, "f:image": {}, "f:name": {},
                        "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}}}
                    }}}
                }
            }
        })
    );
}

#[test]
fn fields_v1_round_trips_and_set_operations() {
    let encoded = json!({
        "f:a": {}, "f:b": {".": {}, "f:c": {}}, "f:l": {"v:\"x\"": {}, "i:3": {}}
    });
    let set = FieldSet::from_fields_v1(&encoded).expect("decodes");
    assert_eq!(set.to_fields_v1(), encoded);
    assert!(set.has(&[field("b")]));
    assert!(set.has(&[field("b"), field("c")]));
    assert!(!set.has(&[field("l")]));
    assert!(set.has(&[field("l"), PathElement::Index(3)]));
    let mut other = FieldSet::new();
    other.insert(&[field("b"), field("c")]);
    other.insert(&[field("z")]);
    assert_eq!(
        set.difference(&other).to_fields_v1(),
        json!({"f:a": {}, "f:b": {}, "f:l": {"v:\"x\"": {}, "i:3": {}}})
    );
    assert_eq!(
        set.intersection(&other).to_fields_v1(),
        json!({"f:b": {"f:c": {}}})
    );
    assert!(set.union(&other).has(&[field("z")]));
    assert!(FieldSet::from_fields_v1(&json!({"x:bad": {}})).is_none());
    assert_eq!(
        path_string(&[
            field("spec"),
            PathElement::Key(vec![("name".into(), json!("web"))]),
            PathElement::Value(json!("a")),
            PathElement::Index(0),
        ]),
        ".spec[name=\"web\"][=\"a\"][0]"
    );
}

#[test]
fn created_objects_own_added_maps_with_a_dot() {
    let cm_info = info("", "v1", "ConfigMap");
    let mut object = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "cfg", "namespace": "default", "labels": {"a": "b"}},
        "data": {"k": "v"}
    });
    track_update(&cm_info, None, &mut object, "kubectl-create", None);
    let managed = entries(&object);
    assert_eq!(managed.len(), 1);
    assert_eq!(managed[0]["manager"], "kubectl-create");
    assert_eq!(managed[0]["operation"], "Update");
    assert_eq!(managed[0]["apiVersion"], "v1");
    assert_eq!(
        managed[0]["fieldsV1"],
        json!({"f:data": {".": {}, "f:k": {}}, "f:metadata": {"f:labels": {".": {}, "f:a": {}}}})
    );
    // A second writer changing one key takes it; the first keeps the rest.
    let old = object.clone();
    let mut new = object.clone();
    new["data"]["k"] = json!("w");
    new["data"]["n"] = json!("x");
    track_update(&cm_info, Some(&old), &mut new, "editor", None);
    let managed = entries(&new);
    assert_eq!(managed.len(), 2);
    let editor = managed.iter().find(|e| e["manager"] == "editor").unwrap();
    assert_eq!(
        editor["fieldsV1"],
        json!({"f:data": {"f:k": {}, "f:n": {}}})
    );
    let creator = managed
        .iter()
        .find(|e| e["manager"] == "kubectl-create")
        .unwrap();
    assert_eq!(
        creator["fieldsV1"],
        json!({"f:data": {}, "f:metadata": {"f:labels": {".": {}, "f:a": {}}}})
    );
    // An explicit empty list resets the entries.
    let mut reset = new.clone();
    reset["metadata"]["managedFields"] = json!([]);
    track_update(&cm_info, Some(&new), &mut reset, "editor", None);
    assert!(reset["metadata"].get("managedFields").is_none());
    // Invalid entries are replaced by the live ones.
    let mut invalid = new.clone();
    invalid["metadata"]["managedFields"] = json!([{"manager": "x", "operation": "Update"}]);
    track_update(&cm_info, Some(&new), &mut invalid, "editor", None);
    assert_eq!(entries(&invalid).len(), 2);
}

#[test]
fn created_workloads_do_not_add_their_value_structs() {
    let mut object = deployment(1);
    track_update(
        &info("apps", "v1", "Deployment"),
        None,
        &mut object,
        "kubectl-create",
        None,
    );
    let fields = &entries(&object)[0]["fieldsV1"];
    assert_eq!(
        fields["f:spec"]["f:template"],
        json!({
            "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
            "f:spec": {"f:containers": {"k:{\"name\":\"nginx\"}": {
                ".": {}, "f:image": {}, "f:name": {},
                "f:ports": {".": {}, "k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}}}
            }}}
        })
    );
}

#[test]
fn merge_follows_list_types() {
    let ty = deployment_type();
    let mut live = deployment(1);
    live["spec"]["template"]["spec"]["containers"] = json!([
        {"name": "a", "image": "x", "args": ["1", "2"]},
        {"name": "b", "image": "y"}
    ]);
    live["metadata"]["finalizers"] = json!(["f1"]);
    let config = json!({
        "metadata": {"finalizers": ["f2"]},
        "spec": {"template": {"spec": {"containers": [{"name": "a", "image": "z", "args": ["3"]}, {"name": "c"}]}}}
    });
    let merged = walk::merge(&live, &config, &ty);
    assert_eq!(
        merged["spec"]["template"]["spec"]["containers"],
        json!([
            {"name": "a", "image": "z", "args": ["3"]},
            {"name": "b", "image": "y"},
            {"name": "c"}
        ])
    );
    assert_eq!(merged["metadata"]["finalizers"], json!(["f1", "f2"]));
    assert_eq!(merged["spec"]["replicas"], json!(1));
    // An atomic struct (LabelSelector) is replaced whole.
    let merged = walk::merge(
        &live,
        &json!({"spec": {"selector": {"matchExpressions": []}}}),
        &ty,
    );
    assert_eq!(merged["spec"]["selector"], json!({"matchExpressions": []}));
}

#[test]
fn apply_creates_then_conflicts_then_forces() {
    let created = apply_as("kubectl", None, &deployment(2), false).expect("applies");
    let managed = entries(&created);
    assert_eq!(managed.len(), 1);
    assert_eq!(managed[0]["manager"], "kubectl");
    assert_eq!(managed[0]["operation"], "Apply");
    assert!(managed[0]["time"].is_string());

    // Another manager applying the same value shares it; a different one conflicts.
    let shared = apply_as("same", Some(&created), &deployment(2), false).expect("no conflict");
    assert_eq!(entries(&shared).len(), 2);
    let err = apply_as("other", Some(&created), &deployment(3), false).unwrap_err();
    assert_eq!(err.status.code, 409);
    assert_eq!(err.status.reason, "Conflict");
    assert_eq!(
        err.status.message,
        "Apply failed with 1 conflict: conflict with \"kubectl\": .spec.replicas"
    );
    let causes = err.status.details.unwrap().causes;
    assert_eq!(causes.len(), 1);
    assert_eq!(causes[0].reason, "FieldManagerConflict");
    assert_eq!(causes[0].message, "conflict with \"kubectl\"");
    assert_eq!(causes[0].field, ".spec.replicas");

    let forced = apply_as("other", Some(&created), &deployment(3), true).expect("forced");
    assert_eq!(forced["spec"]["replicas"], json!(3));
    let managed = entries(&forced);
    let kubectl = managed.iter().find(|e| e["manager"] == "kubectl").unwrap();
    assert!(kubectl["fieldsV1"]["f:spec"].get("f:replicas").is_none());
    let other = managed.iter().find(|e| e["manager"] == "other").unwrap();
    assert!(other["fieldsV1"]["f:spec"].get("f:replicas").is_some());
}

#[test]
fn update_managers_conflict_with_their_api_version() {
    let d_info = info("apps", "v1", "Deployment");
    let mut live = deployment(1);
    track_update(&d_info, None, &mut live, "mgr", None);
    let mut config = deployment(5);
    config["metadata"]["labels"]["app"] = json!("other");
    let err = apply_as("applier", Some(&live), &config, false).unwrap_err();
    assert_eq!(
        err.status.message,
        "Apply failed with 2 conflicts: conflicts with \"mgr\" using apps/v1:\n- .metadata.labels.app\n- .spec.replicas"
    );
    assert_eq!(
        err.status.details.unwrap().causes[1].message,
        "conflict with \"mgr\" using apps/v1"
    );
}

#[test]
fn fields_no_longer_applied_are_removed_unless_owned() {
    let mut config = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"a": "1", "b": "2"}}
    });
    let first = apply_as("kubectl", None, &config, false).expect("applies");
    config["metadata"]["labels"]
        .as_object_mut()
        .unwrap()
        .remove("b");
    let second = apply_as("kubectl", Some(&first), &config, false).expect("applies");
    assert_eq!(second["metadata"]["labels"], json!({"a": "1"}));
    // Owned by another manager too: kept.
    let mut both = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"a": "1", "b": "2"}}
    });
    let first = apply_as("kubectl", None, &both, false).expect("applies");
    let shared = apply_as("other", Some(&first), &both, false).expect("shares");
    both["metadata"]["labels"]
        .as_object_mut()
        .unwrap()
        .remove("b");
    let after = apply_as("kubectl", Some(&shared), &both, false).expect("applies");
    assert_eq!(after["metadata"]["labels"], json!({"a": "1", "b": "2"}));
}

#[test]
fn kubectl_takes_fields_of_its_last_applied_configuration() {
    let d_info = info("apps", "v1", "Deployment");
    let mut live = deployment(1);
    let last = serde_json::to_string(&deployment(1)).unwrap();
    live["metadata"]["annotations"] = json!({ LAST_APPLIED_ANNOTATION: last });
    track_update(&d_info, None, &mut live, "kubectl-client-side-apply", None);
    let err = apply_as("someone", Some(&live), &deployment(2), false).unwrap_err();
    assert_eq!(err.status.code, 409);
    let applied = apply_as("kubectl", Some(&live), &deployment(2), false).expect("migrates");
    assert_eq!(applied["spec"]["replicas"], json!(2));
    let annotation = applied["metadata"]["annotations"][LAST_APPLIED_ANNOTATION]
        .as_str()
        .unwrap();
    assert!(annotation.ends_with('\n'));
    let rewritten: Value = serde_json::from_str(annotation).unwrap();
    assert_eq!(rewritten["spec"]["replicas"], json!(2));
}

#[test]
fn objects_without_managed_fields_are_owned_before_first_apply() {
    let live = deployment(1);
    let err = apply_as("kubectl", Some(&live), &deployment(2), false).unwrap_err();
    assert_eq!(
        err.status.message,
        "Apply failed with 1 conflict: conflict with \"before-first-apply\" using apps/v1: .spec.replicas"
    );
}

#[test]
fn apply_configurations_are_checked() {
    let mut config = deployment(1);
    config["metadata"]["managedFields"] = json!([]);
    let err = apply_as("kubectl", None, &config, false).unwrap_err();
    assert_eq!(err.status.message, "metadata.managedFields must be nil");
    let mut config = deployment(1);
    config["apiVersion"] = json!("apps/v1beta1");
    let err = apply_as("kubectl", None, &config, false).unwrap_err();
    assert_eq!(err.status.code, 400);
    assert_eq!(
        err.status.message,
        "invalid object type: apps/v1beta1, Kind=Deployment"
    );
    let err = apply_as("kubectl", None, &json!({"kind": "Deployment"}), false).unwrap_err();
    assert_eq!(
        err.status.message,
        "invalid object type: /, Kind=Deployment"
    );
}

#[test]
fn undeclared_fields_of_built_in_kinds_are_refused() {
    let mut config = deployment(1);
    config["metadata"]["namespace"] = json!("default");
    config["spec"]["foo"] = json!(1);
    config["spec"]["template"]["spec"]["containers"][0]["bar"] = json!(true);
    config["metadata"]["labels"]["any-key"] = json!("fine");
    let err = apply_as("kubectl", None, &config, false).unwrap_err();
    assert_eq!(err.status.code, 500);
    assert_eq!(
        err.status.message,
        "failed to create typed patch object (default/web; apps/v1, Kind=Deployment): errors:\n  .spec.foo: field not declared in schema\n  .spec.template.spec.containers[name=\"nginx\"].bar: field not declared in schema"
    );
}

#[test]
fn update_entries_are_capped_into_ancient_changes() {
    let mut managed = Managed::default();
    for i in 0..11 {
        let mut fields = FieldSet::new();
        fields.insert(&[field(&format!("f{i}"))]);
        managed.entries.push(Entry {
            manager: format!("m{i:02}"),
            operation: Operation::Update,
            api_version: "v1".into(),
            time: Some(format!("2024-01-01T00:00:{i:02}Z")),
            subresource: String::new(),
            fields,
        });
    }
    managed.cap_updates(MAX_UPDATE_MANAGERS);
    assert_eq!(managed.entries.len(), 10);
    let ancient = managed
        .entries
        .iter()
        .find(|e| e.manager == "ancient-changes")
        .expect("bucket");
    assert!(ancient.fields.has(&[field("f0")]) && ancient.fields.has(&[field("f1")]));
    assert_eq!(ancient.time.as_deref(), Some("2024-01-01T00:00:01Z"));
}

#[test]
fn default_manager_is_the_user_agent_prefix() {
    assert_eq!(
        manager_or_user_agent("", Some("kubectl/v1.33.0 (linux/amd64) kubernetes/abc")),
        "kubectl"
    );
    assert_eq!(manager_or_user_agent("mine", Some("kubectl/v1")), "mine");
    assert_eq!(manager_or_user_agent("", None), "");
    assert_eq!(manager_or_user_agent("", Some(&"x".repeat(200))).len(), 128);
}

#[test]
fn status_apply_leaves_reset_fields_unowned() {
    let live = apply_as("creator", None, &deployment(2), false).unwrap();
    let mut config = deployment(9);
    config["metadata"]["labels"] = json!({"app": "web", "extra": "x"});
    config["metadata"]["annotations"] = json!({"note": "n"});
    config["status"] = json!({"replicas": 3});
    let request = ApplyRequest {
        info: &info("apps", "v1", "Deployment"),
        manager: "status-writer",
        force: false,
        subresource: Some("status"),
        reset_fields: &[&["spec"], &["metadata", "labels"]],
    };
    let applied = apply(&request, Some(&live), &config).unwrap();
    assert_eq!(applied["spec"]["replicas"], 2, "spec is not merged");
    assert_eq!(applied["metadata"]["labels"], json!({"app": "web"}));
    assert_eq!(applied["metadata"]["annotations"], json!({"note": "n"}));
    let entry = entries(&applied)
        .into_iter()
        .find(|e| e["manager"] == "status-writer")
        .unwrap();
    assert_eq!(entry["subresource"], "status");
    assert_eq!(
        entry["fieldsV1"],
        json!({"f:metadata": {"f:annotations": {"f:note": {}}}, "f:status": {"f:replicas": {}}})
    );
}
