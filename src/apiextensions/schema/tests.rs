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
fn root_metadata_survives_a_schema_that_declares_it_empty() {
    // Operator CRDs (controller-gen) declare `metadata: {type: object}` without properties.
    let schema = Structural::from_value(&json!({"type": "object", "properties": {
        "apiVersion": {"type": "string"}, "metadata": {"type": "object"}}}))
    .unwrap();
    let mut obj = json!({"apiVersion": "x/v1", "metadata": {"name": "n", "labels": {"a": "b"}}});
    assert!(prune(&schema, &mut obj).is_empty());
    assert_eq!(obj["metadata"], json!({"name": "n", "labels": {"a": "b"}}));
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

fn spec_schema(spec: Value) -> Structural {
    Structural::from_value(&json!({
        "type": "object",
        "properties": {"spec": spec}
    }))
    .expect("schema parses")
}

fn spec_errors(spec: Value, value: Value) -> Vec<String> {
    messages(&validate(&spec_schema(spec), &json!({ "spec": value })))
}

#[test]
fn maximum_message_matches_kubectl_output() {
    let got = spec_errors(
        json!({"type": "object", "properties": {"replicas": {"type": "integer", "maximum": 10}}}),
        json!({"replicas": 20}),
    );
    assert_eq!(
        got,
        vec!["spec.replicas: Invalid value: 20: spec.replicas in body should be less than or equal to 10"]
    );
}

#[test]
fn float_values_and_bounds_print_as_go_does() {
    let got = spec_errors(
        json!({"type": "object", "properties": {
            "ratio": {"type": "number", "minimum": 1000000.0, "multipleOf": 0.5}
        }}),
        json!({"ratio": 1.25}),
    );
    assert_eq!(
        got,
        vec![
            "spec.ratio: Invalid value: 1.25: spec.ratio in body should be a multiple of 0.5",
            "spec.ratio: Invalid value: 1.25: spec.ratio in body should be greater than or equal to 1e+06",
        ]
    );
}

#[test]
fn string_checks_stop_at_the_first_failure() {
    let spec = json!({"type": "object", "properties": {
        "name": {"type": "string", "maxLength": 3, "minLength": 2, "pattern": "^[a-z]+$"}
    }});
    assert_eq!(
        spec_errors(spec.clone(), json!({"name": "abcd9"})),
        vec!["spec.name: Too long: may not be more than 3 bytes"]
    );
    assert_eq!(
        spec_errors(spec.clone(), json!({"name": "a"})),
        vec![r#"spec.name: Invalid value: "a": spec.name in body should be at least 2 chars long"#]
    );
    assert_eq!(
        spec_errors(spec, json!({"name": "A1"})),
        vec![r#"spec.name: Invalid value: "A1": spec.name in body should match '^[a-z]+$'"#]
    );
}

#[test]
fn pattern_digit_class_is_ascii_like_go() {
    let spec =
        json!({"type": "object", "properties": {"n": {"type": "string", "pattern": "^\\d+$"}}});
    assert!(spec_errors(spec.clone(), json!({"n": "123"})).is_empty());
    // U+0663 ARABIC-INDIC DIGIT THREE is a Unicode digit but not a Go `\d`.
    assert_eq!(spec_errors(spec, json!({"n": "\u{663}"})).len(), 1);
}

#[test]
fn formats_are_checked_and_unknown_formats_ignored() {
    let spec = json!({"type": "object", "properties": {
        "mail": {"type": "string", "format": "email"},
        "when": {"type": "string", "format": "date-time"},
        "id": {"type": "string", "format": "uuid"},
        "count": {"type": "integer", "format": "int32"},
        "other": {"type": "string", "format": "no-such-format"}
    }});
    assert!(spec_errors(
        spec.clone(),
        json!({"mail": "a@b.example", "when": "2024-05-01T12:00:00Z",
               "id": "123e4567-e89b-12d3-a456-426614174000", "count": 5000000000i64, "other": "x"})
    )
    .is_empty());
    let got = spec_errors(
        spec,
        json!({"mail": "nope", "when": "2024-13-01T00:00:00Z", "id": "xyz"}),
    );
    assert_eq!(
        got,
        vec![
            r#"spec.id: Invalid value: "xyz": spec.id in body must be of type uuid: "xyz""#,
            r#"spec.mail: Invalid value: "nope": spec.mail in body must be of type email: "nope""#,
            r#"spec.when: Invalid value: "2024-13-01T00:00:00Z": spec.when in body must be of type date-time: "2024-13-01T00:00:00Z""#,
        ]
    );
    let errors = validate(
        &spec_schema(
            json!({"type": "object", "properties": {"ip": {"type": "string", "format": "ipv4"}}}),
        ),
        &json!({"spec": {"ip": "::1"}}),
    );
    assert_eq!(errors[0].to_cause().reason, "FieldValueTypeInvalid");
}

#[test]
fn composition_messages_match_kube_openapi() {
    let spec = json!({"type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
        "anyOf": [{"required": ["a"]}, {"required": ["b"]}],
        "not": {"required": ["a", "b"]}
    });
    assert_eq!(
        spec_errors(spec.clone(), json!({})),
        vec![
            r#"<nil>: Invalid value: "": "spec" must validate at least one schema (anyOf)"#,
            "spec.a: Required value",
        ]
    );
    assert_eq!(
        spec_errors(spec.clone(), json!({"a": "x", "b": "y"})),
        vec![r#"<nil>: Invalid value: "": "spec" must not validate the schema (not)"#]
    );
    let cause = validate(&spec_schema(spec), &json!({"spec": {"a": "x", "b": "y"}}))[0].to_cause();
    assert_eq!(cause.field, "<nil>");
    let one_of = json!({"type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
        "oneOf": [{"required": ["a"]}, {"required": ["b"]}]});
    assert_eq!(
        spec_errors(one_of, json!({"a": "x", "b": "y"})),
        vec![
            r#"<nil>: Invalid value: "": "spec" must validate one and only one schema (oneOf). Found 2 valid alternatives"#
        ]
    );
    let all_of = json!({"type": "object",
        "properties": {"n": {"type": "integer"}},
        "allOf": [{"properties": {"n": {"minimum": 5}}}]});
    assert_eq!(
        spec_errors(all_of, json!({"n": 1})),
        vec![
            "spec.n: Invalid value: 1: spec.n in body should be greater than or equal to 5",
            r#"<nil>: Invalid value: "": "spec" must validate all the schemas (allOf). None validated"#,
        ]
    );
}

#[test]
fn nullable_int_or_string_and_null_enum() {
    let spec = json!({"type": "object", "properties": {
        "port": {"x-kubernetes-int-or-string": true},
        "maybe": {"type": "string", "nullable": true},
        "never": {"type": "string"}
    }});
    assert!(spec_errors(spec.clone(), json!({"port": "http", "maybe": null})).is_empty());
    assert!(spec_errors(spec.clone(), json!({"port": 80})).is_empty());
    assert_eq!(
        spec_errors(spec, json!({"port": true, "never": null})),
        vec![
            r#"spec.never: Invalid value: "null": spec.never in body must be of type string: "null""#,
            r#"spec.port: Invalid value: "boolean": spec.port in body must be of type integer,string: "boolean""#,
        ]
    );
    let got = spec_errors(
        json!({"type": "object", "properties": {"n": {"type": "integer", "enum": [1, 2]}}}),
        json!({"n": 3}),
    );
    assert_eq!(
        got,
        vec![r#"spec.n: Unsupported value: 3: supported values: "1", "2""#]
    );
}

#[test]
fn max_items_and_properties_are_too_many() {
    let got = spec_errors(
        json!({"type": "object", "properties": {
            "list": {"type": "array", "maxItems": 2, "minItems": 1, "items": {"type": "string"}},
            "map": {"type": "object", "maxProperties": 1, "additionalProperties": {"type": "string"}}
        }}),
        json!({"list": ["a", "b", 3], "map": {"x": "1", "y": "2"}}),
    );
    assert_eq!(
        got,
        vec![
            r#"spec.list[2]: Invalid value: "integer": spec.list[2] in body must be of type string: "integer""#,
            "spec.list: Too many: 3: must have at most 2 items",
            "spec.map: Too many: 2: must have at most 1 item",
        ]
    );
}

#[test]
fn list_type_set_and_map_duplicates() {
    let spec = json!({"type": "object", "properties": {
        "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
        "ports": {"type": "array", "x-kubernetes-list-type": "map",
                  "x-kubernetes-list-map-keys": ["name"],
                  "items": {"type": "object", "properties": {"name": {"type": "string"}, "port": {"type": "integer"}}}}
    }});
    let errors = validate(
        &spec_schema(spec),
        &json!({"spec": {"tags": ["a", "b", "a", "a"],
                         "ports": [{"name": "http", "port": 80}, {"name": "http", "port": 81}]}}),
    );
    assert_eq!(
        messages(&errors),
        vec![
            r#"spec.ports[1]: Duplicate value: map[string]interface {}{"name":"http"}"#,
            r#"spec.tags[2]: Duplicate value: "a""#,
        ]
    );
    assert_eq!(errors[0].to_cause().reason, "FieldValueDuplicate");
}

#[test]
fn embedded_resources_need_api_version_and_kind_and_keep_metadata() {
    let spec = json!({"type": "object", "properties": {
        "template": {"type": "object", "x-kubernetes-embedded-resource": true,
                     "x-kubernetes-preserve-unknown-fields": true}
    }});
    assert_eq!(
        spec_errors(spec.clone(), json!({"template": {"kind": "Bad_Kind"}})),
        vec![
            "spec.template.apiVersion: Required value",
            r#"spec.template.kind: Invalid value: "Bad_Kind": may have mixed case, but should otherwise match: a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"#,
        ]
    );
    assert_eq!(
        spec_errors(
            spec.clone(),
            json!({"template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"labels": {"a b": "x"}}}})
        ),
        vec![
            r#"spec.template.metadata.labels: Invalid value: "a b": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"#
        ]
    );
    assert_eq!(
        spec_errors(
            spec,
            json!({"template": {"apiVersion": "v1", "kind": "Pod", "metadata": "x"}})
        ),
        vec![
            r#"spec.template.metadata: Invalid value: "x": json: cannot unmarshal string into Go value of type v1.ObjectMeta"#
        ]
    );
    let strict = spec_schema(json!({"type": "object", "properties": {
        "template": {"type": "object", "x-kubernetes-embedded-resource": true,
                     "properties": {"spec": {"type": "object"}}}
    }}));
    let mut obj = json!({"spec": {"template": {"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p"}, "spec": {}, "extra": 1}}});
    assert_eq!(
        prune(&strict, &mut obj),
        vec!["spec.template.extra".to_string()]
    );
    assert_eq!(obj["spec"]["template"]["metadata"]["name"], json!("p"));
}

#[test]
fn prune_drops_non_nullable_nulls_without_defaults() {
    let mut obj = json!({"spec": {"name": null, "opt": null, "replicas": null}});
    let pruned = prune(&schema(), &mut obj);
    assert!(pruned.is_empty(), "{pruned:?}");
    assert_eq!(obj, json!({"spec": {"opt": null, "replicas": null}}));
}

#[test]
fn unknown_field_messages_are_upstreams() {
    assert_eq!(
        unknown_field_messages(&["spec.foo".to_string(), "bar".to_string()]),
        vec![r#"unknown field "spec.foo""#, r#"unknown field "bar""#]
    );
}

/// An address-like list item: a oneOf keyed on `kind` (the IP branch wants an ipv4 or ipv6
/// `target`, the other branch that `kind` is not IP). For an IP kind with a bad target both
/// branches fail; the IP branch passes more checks (kube-openapi's MatchCount: 23 against 10)
/// and its errors are kept, though the other branch has fewer (one `not` error).
fn endpoint_list_schema() -> Value {
    json!({"type": "object", "properties": {"endpoints": {
        "type": "array",
        "items": {
            "type": "object",
            "oneOf": [
                {"properties": {
                    "kind": {"enum": ["IP"]},
                    "target": {"anyOf": [{"format": "ipv4"}, {"format": "ipv6"}]}
                }},
                {"properties": {"kind": {"not": {"enum": ["IP"]}}}}
            ],
            "properties": {
                "kind": {"type": "string", "minLength": 1},
                "target": {"type": "string", "maxLength": 64}
            }
        }
    }}})
}

#[test]
fn one_of_keeps_the_alternative_with_the_most_matches() {
    let got = spec_errors(
        endpoint_list_schema(),
        json!({"endpoints": [{"kind": "IP", "target": "10.0.0.1:80"}]}),
    );
    assert_eq!(
        got,
        vec![
            r#"<nil>: Invalid value: "": "spec.endpoints[0]" must validate one and only one schema (oneOf). Found none valid"#,
            r#"<nil>: Invalid value: "": "spec.endpoints[0].target" must validate at least one schema (anyOf)"#,
            r#"spec.endpoints[0].target: Invalid value: "10.0.0.1:80": spec.endpoints[0].target in body must be of type ipv4: "10.0.0.1:80""#,
        ]
    );
    // A valid IP (either family) and a non-IP kind each match exactly one branch.
    for endpoint in [
        json!({"kind": "IP", "target": "10.0.0.1"}),
        json!({"kind": "IP", "target": "fd00::1"}),
        json!({"kind": "Name", "target": "10.0.0.1:80"}),
    ] {
        let got = spec_errors(endpoint_list_schema(), json!({ "endpoints": [endpoint] }));
        assert!(got.is_empty(), "{got:?}");
    }
}

#[test]
fn any_of_keeps_the_most_matches_not_the_fewest_errors() {
    // The first alternative fails once (a missing field) after few checks; the second fails
    // twice but deep inside the object, after many more: upstream keeps the second's errors.
    let got = spec_errors(
        json!({"type": "object",
            "anyOf": [
                {"required": ["c"]},
                {"properties": {"a": {"type": "integer"}, "b": {"type": "string"}}}
            ],
            "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}
        }),
        json!({"a": "x", "b": 5}),
    );
    assert_eq!(
        got,
        vec![
            r#"<nil>: Invalid value: "": "spec" must validate at least one schema (anyOf)"#,
            r#"spec.a: Invalid value: "string": spec.a in body must be of type integer: "string""#,
            r#"spec.b: Invalid value: "integer": spec.b in body must be of type string: "integer""#,
        ]
    );
    // Equal counts: the first failing alternative's errors are kept.
    let got = spec_errors(
        json!({"type": "object", "properties": {"n": {"type": "string",
            "anyOf": [{"maxLength": 1}, {"minLength": 5}]}}}),
        json!({"n": "abc"}),
    );
    assert_eq!(
        got,
        vec![
            r#"<nil>: Invalid value: "": "spec.n" must validate at least one schema (anyOf)"#,
            "spec.n: Too long: may not be more than 1 byte",
        ]
    );
}

#[test]
fn identical_error_texts_are_reported_once() {
    // Both allOf parts fail with the same text; kube-openapi's result keeps it once.
    let got = spec_errors(
        json!({"type": "object", "properties": {"n": {"type": "string",
            "allOf": [{"minLength": 3}, {"minLength": 3}]}}}),
        json!({"n": "ab"}),
    );
    assert_eq!(
        got,
        vec![
            r#"spec.n: Invalid value: "ab": spec.n in body should be at least 3 chars long"#,
            r#"<nil>: Invalid value: "": "spec.n" must validate all the schemas (allOf). None validated"#,
        ]
    );
}

#[test]
fn property_count_errors_do_not_stop_the_values_checks() {
    let got = spec_errors(
        json!({"type": "object", "properties": {
            "few": {"type": "object", "minProperties": 2, "additionalProperties": {"type": "string"}},
            "many": {"type": "object", "maxProperties": 1, "required": ["z"],
                     "properties": {"x": {"type": "integer"}, "y": {"type": "integer"}}}
        }}),
        json!({"few": {"a": 1}, "many": {"x": "1", "y": 2}}),
    );
    assert_eq!(
        got,
        vec![
            "spec.few: Invalid value: 1: spec.few in body should have at least 2 properties",
            r#"spec.few.a: Invalid value: "integer": spec.few.a in body must be of type string: "integer""#,
            "spec.many: Too many: 2: must have at most 1 item",
            r#"spec.many.x: Invalid value: "string": spec.many.x in body must be of type integer: "string""#,
            "spec.many.z: Required value",
        ]
    );
}
