use serde_json::json;

use super::*;

fn schema() -> Structural {
    Structural::from_value(&json!({
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": {"type": "string"},
                    "replicas": {"type": "integer", "default": 1},
                    "size": {"type": "integer", "minimum": 1},
                    "color": {"type": "string", "enum": ["red", "blue"]},
                    "opt": {"type": "string", "nullable": true, "default": "x"},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                    "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
                }
            }
        }
    }))
    .expect("schema parses")
}

fn messages(errors: &[FieldError]) -> Vec<String> {
    errors.iter().map(ToString::to_string).collect()
}

#[test]
fn wrong_type_is_reported_with_upstream_wording() {
    let errors = validate(&schema(), &json!({"spec": {"name": "a", "replicas": "x"}}));
    assert_eq!(
        messages(&errors),
        vec![
            r#"spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string""#
        ]
    );
}

#[test]
fn missing_required_field() {
    let errors = validate(&schema(), &json!({"spec": {}}));
    assert_eq!(messages(&errors), vec!["spec.name: Required value"]);
}

#[test]
fn enum_and_minimum() {
    let errors = validate(
        &schema(),
        &json!({"spec": {"name": "a", "color": "pink", "size": 0}}),
    );
    let got = messages(&errors);
    assert!(
        got.contains(
            &r#"spec.color: Unsupported value: "pink": supported values: "red", "blue""#
                .to_string()
        ),
        "{got:?}"
    );
    assert!(
        got.contains(
            &"spec.size: Invalid value: 0: spec.size in body should be greater than or equal to 1"
                .to_string()
        ),
        "{got:?}"
    );
}

#[test]
fn additional_properties_schema_validates_values() {
    let errors = validate(
        &schema(),
        &json!({"spec": {"name": "a", "labels": {"k": 1}}}),
    );
    assert_eq!(
        messages(&errors),
        vec![
            r#"spec.labels.k: Invalid value: "integer": spec.labels.k in body must be of type string: "integer""#
        ]
    );
}

#[test]
fn prune_drops_unknown_fields_but_keeps_root_meta_and_preserved() {
    let mut obj = json!({
        "apiVersion": "x/v1", "kind": "K", "metadata": {"name": "n"},
        "spec": {"name": "a", "foo": 1, "free": {"any": true}},
        "bar": 2
    });
    let mut pruned = prune(&schema(), &mut obj);
    pruned.sort();
    assert_eq!(pruned, vec!["bar".to_string(), "spec.foo".to_string()]);
    assert_eq!(obj["spec"]["free"]["any"], json!(true));
    assert_eq!(obj["metadata"]["name"], json!("n"));
    assert!(obj.get("bar").is_none());
}

#[test]
fn defaults_fill_absent_and_respect_nullable() {
    let mut obj = json!({"spec": {"name": "a", "opt": null}});
    apply_defaults(&schema(), &mut obj);
    assert_eq!(obj["spec"]["replicas"], json!(1));
    assert_eq!(obj["spec"]["opt"], Value::Null);
    let mut obj = json!({"spec": {"name": "a", "replicas": null}});
    apply_defaults(&schema(), &mut obj);
    assert_eq!(obj["spec"]["replicas"], json!(1));
}
