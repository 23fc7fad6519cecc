use serde_json::{json, Value};

use super::CelValidator;
use crate::registry::validation::FieldErrorKind;

const PREFIX: &str = "spec.versions[0].schema.openAPIV3Schema";

/// A CR schema whose `spec` has `replicas`, `maxReplicas`, `name` and the given extra keywords.
fn spec_schema(spec_extra: Value) -> Value {
    let mut spec = json!({
        "type": "object",
        "properties": {
            "replicas": {"type": "integer"},
            "maxReplicas": {"type": "integer"},
            "name": {"type": "string"},
        },
    });
    for (key, value) in spec_extra.as_object().unwrap() {
        spec[key] = value.clone();
    }
    json!({"type": "object", "properties": {"spec": spec}})
}

fn compiled(schema: &Value) -> CelValidator {
    CelValidator::compile(schema, PREFIX)
        .unwrap_or_else(|errors| panic!("compile errors: {errors:?}"))
        .expect("the schema has rules")
}

/// The errors of validating `new` (and `old`), printed as upstream prints field errors.
fn errors(validator: &CelValidator, new: Value, old: Option<Value>) -> Vec<String> {
    validator
        .validate(&new, old.as_ref())
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn compile_errors(schema: &Value) -> Vec<String> {
    match CelValidator::compile(schema, PREFIX) {
        Ok(_) => panic!("expected compile errors"),
        Err(errors) => errors.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn schema_without_rules_compiles_to_none() {
    let schema = spec_schema(json!({}));
    assert!(CelValidator::compile(&schema, PREFIX).unwrap().is_none());
}

#[test]
fn root_rule_passes_and_fails() {
    let schema = json!({
        "type": "object",
        "properties": {"spec": {"type": "object", "properties": {"replicas": {"type": "integer"}}}},
        "x-kubernetes-validations": [{"rule": "self.metadata.name.startsWith('web-') && has(self.spec)"}],
    });
    let validator = compiled(&schema);
    let ok = json!({"apiVersion": "v1", "kind": "K", "metadata": {"name": "web-1", "uid": "u"}, "spec": {}});
    assert!(errors(&validator, ok, None).is_empty());
    let bad = json!({"apiVersion": "v1", "kind": "K", "metadata": {"name": "db-1"}, "spec": {}});
    assert_eq!(
        errors(&validator, bad, None),
        [
            r#"<nil>: Invalid value: "object": failed rule: self.metadata.name.startsWith('web-') && has(self.spec)"#
        ]
    );
}

#[test]
fn nested_rule_passes_and_fails_with_the_schema_type_as_value() {
    let schema = spec_schema(json!({
        "x-kubernetes-validations": [{"rule": "self.replicas <= self.maxReplicas"}],
    }));
    let validator = compiled(&schema);
    assert!(errors(
        &validator,
        json!({"spec": {"replicas": 2, "maxReplicas": 3}}),
        None
    )
    .is_empty());
    let failed = validator.validate(&json!({"spec": {"replicas": 4, "maxReplicas": 3}}), None);
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].kind, FieldErrorKind::Invalid);
    assert_eq!(failed[0].field, "spec");
    assert_eq!(
        failed[0].to_string(),
        r#"spec: Invalid value: "object": failed rule: self.replicas <= self.maxReplicas"#
    );
}

#[test]
fn rule_runs_on_every_list_item() {
    let schema = json!({
        "type": "object",
        "properties": {"spec": {"type": "object", "properties": {"hosts": {
            "type": "array", "maxItems": 64,
            "items": {"type": "string", "maxLength": 64, "x-kubernetes-validations": [{"rule": "self.matches('^[a-z.]+$')"}]},
        }}}},
    });
    let validator = compiled(&schema);
    assert!(errors(
        &validator,
        json!({"spec": {"hosts": ["a.example", "b"]}}),
        None
    )
    .is_empty());
    assert_eq!(
        errors(
            &validator,
            json!({"spec": {"hosts": ["ok", "Bad", "x", "N0"]}}),
            None
        ),
        [
            r#"spec.hosts[1]: Invalid value: "string": failed rule: self.matches('^[a-z.]+$')"#,
            r#"spec.hosts[3]: Invalid value: "string": failed rule: self.matches('^[a-z.]+$')"#,
        ]
    );
}

#[test]
fn message_replaces_the_rule_text() {
    let schema = spec_schema(json!({
        "x-kubernetes-validations": [{"rule": "self.replicas <= self.maxReplicas", "message": " replicas must not exceed maxReplicas "}],
    }));
    let validator = compiled(&schema);
    assert_eq!(
        errors(
            &validator,
            json!({"spec": {"replicas": 4, "maxReplicas": 3}}),
            None
        ),
        [r#"spec: Invalid value: "object": replicas must not exceed maxReplicas"#]
    );
}

#[test]
fn message_expression_is_used_and_falls_back_when_it_fails() {
    let schema = spec_schema(json!({
        "x-kubernetes-validations": [
            {"rule": "self.replicas <= self.maxReplicas",
             "messageExpression": "'replicas ' + string(self.replicas) + ' exceed ' + string(self.maxReplicas)"},
            {"rule": "self.replicas < 3", "message": "fewer than 3", "messageExpression": "self.name + ' is bad'"},
            {"rule": "self.replicas < 2", "messageExpression": "self.name"},
        ],
    }));
    let validator = compiled(&schema);
    // `name` is unset: the second and third message expressions fail and fall back.
    assert_eq!(
        errors(
            &validator,
            json!({"spec": {"replicas": 4, "maxReplicas": 3}}),
            None
        ),
        [
            r#"spec: Invalid value: "object": replicas 4 exceed 3"#,
            r#"spec: Invalid value: "object": fewer than 3"#,
            r#"spec: Invalid value: "object": failed rule: self.replicas < 2"#,
        ]
    );
    // An empty result falls back too.
    assert_eq!(
        errors(
            &validator,
            json!({"spec": {"replicas": 2, "maxReplicas": 3, "name": " "}}),
            None
        ),
        [r#"spec: Invalid value: "object": failed rule: self.replicas < 2"#]
    );
}

#[test]
fn reason_and_field_path_choose_the_error_kind_and_field() {
    let schema = spec_schema(json!({
        "x-kubernetes-validations": [
            {"rule": "self.replicas <= self.maxReplicas", "message": "too many", "reason": "FieldValueForbidden", "fieldPath": ".replicas"},
            {"rule": "has(self.name)", "message": "name is required", "reason": "FieldValueRequired", "fieldPath": "['name']"},
            {"rule": "self.replicas != 7", "reason": "FieldValueDuplicate"},
        ],
    }));
    let validator = compiled(&schema);
    let failed = validator.validate(&json!({"spec": {"replicas": 7, "maxReplicas": 3}}), None);
    let printed: Vec<String> = failed.iter().map(ToString::to_string).collect();
    assert_eq!(
        printed,
        [
            "spec.replicas: Forbidden: too many",
            "spec.name: Required value: name is required",
            r#"spec: Duplicate value: "object""#,
        ]
    );
    assert_eq!(failed[0].to_cause().reason, "FieldValueForbidden");
    assert_eq!(failed[2].to_cause().reason, "FieldValueDuplicate");
}

#[test]
fn transition_rule_runs_on_update_only() {
    let schema = json!({
        "type": "object",
        "properties": {"spec": {"type": "object", "properties": {"class": {
            "type": "string",
            "x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "class is immutable"}],
        }}}},
    });
    let validator = compiled(&schema);
    assert!(errors(&validator, json!({"spec": {"class": "gold"}}), None).is_empty());
    let old = json!({"spec": {"class": "gold"}});
    assert!(errors(
        &validator,
        json!({"spec": {"class": "gold"}}),
        Some(old.clone())
    )
    .is_empty());
    assert_eq!(
        errors(&validator, json!({"spec": {"class": "silver"}}), Some(old)),
        [r#"spec.class: Invalid value: "string": class is immutable"#]
    );
    // The field is new on this update: nothing to compare with.
    assert!(errors(
        &validator,
        json!({"spec": {"class": "silver"}}),
        Some(json!({"spec": {}}))
    )
    .is_empty());
}

#[test]
fn optional_old_self_runs_on_create_with_an_empty_optional() {
    let schema = spec_schema(json!({
        "x-kubernetes-validations": [{
            "rule": "oldSelf.hasValue() ? self.replicas >= oldSelf.value().replicas : self.replicas == 1",
            "message": "replicas may only grow, from 1",
            "optionalOldSelf": true,
        }],
    }));
    let validator = compiled(&schema);
    assert!(errors(&validator, json!({"spec": {"replicas": 1}}), None).is_empty());
    assert_eq!(
        errors(&validator, json!({"spec": {"replicas": 2}}), None),
        [r#"spec: Invalid value: "object": replicas may only grow, from 1"#]
    );
    let old = json!({"spec": {"replicas": 5}});
    assert!(errors(
        &validator,
        json!({"spec": {"replicas": 6}}),
        Some(old.clone())
    )
    .is_empty());
    assert_eq!(
        errors(&validator, json!({"spec": {"replicas": 4}}), Some(old)).len(),
        1
    );
}

#[test]
fn map_list_items_are_correlated_by_key_and_maps_by_entry() {
    let schema = json!({
        "type": "object",
        "properties": {"spec": {"type": "object", "properties": {
            "ports": {
                "type": "array", "maxItems": 64,
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["name"],
                "items": {
                    "type": "object",
                    "required": ["name"],
                    "properties": {"name": {"type": "string", "maxLength": 64}, "port": {"type": "integer"}},
                    "x-kubernetes-validations": [{"rule": "self.port == oldSelf.port", "message": "port is immutable"}],
                },
            },
            "labels": {
                "maxProperties": 64,
                "type": "object",
                "additionalProperties": {
                    "type": "string", "maxLength": 64,
                    "x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "labels are immutable"}],
                },
            },
        }}},
    });
    let validator = compiled(&schema);
    let old = json!({"spec": {
        "ports": [{"name": "https", "port": 443}, {"name": "http", "port": 80}],
        "labels": {"a": "1", "b": "2"},
    }});
    let new = json!({"spec": {
        "ports": [{"name": "http", "port": 8080}, {"name": "https", "port": 443}, {"name": "new", "port": 1}],
        "labels": {"a": "1", "b": "3", "c": "4"},
    }});
    // Object fields are walked in no defined order (upstream walks Go maps): compare sorted.
    let mut found = errors(&validator, new, Some(old));
    found.sort();
    assert_eq!(
        found,
        [
            r#"spec.labels[b]: Invalid value: "string": labels are immutable"#,
            r#"spec.ports[0]: Invalid value: "object": port is immutable"#,
        ]
    );
}

#[test]
fn old_self_is_a_crd_error_below_an_uncorrelated_list() {
    let schema = json!({
        "type": "object",
        "properties": {"spec": {"type": "object", "properties": {"tags": {
            "type": "array", "maxItems": 64,
            "items": {"type": "string", "maxLength": 64, "x-kubernetes-validations": [{"rule": "self == oldSelf"}]},
        }}}},
    });
    assert_eq!(
        compile_errors(&schema),
        [format!(
            r#"{PREFIX}.properties[spec].properties[tags].items.x-kubernetes-validations[0].rule: Invalid value: "self == oldSelf": oldSelf cannot be used on the uncorrelatable portion of the schema within {PREFIX}.properties[spec].properties[tags]"#
        )]
    );
}

#[test]
fn rule_that_does_not_compile_is_a_crd_error() {
    let schema = spec_schema(json!({
        "x-kubernetes-validations": [{"rule": "self.replicas >"}],
    }));
    let errors = CelValidator::compile(&schema, PREFIX).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].kind, FieldErrorKind::Invalid);
    assert_eq!(
        errors[0].field,
        format!("{PREFIX}.properties[spec].x-kubernetes-validations[0].rule")
    );
    assert_eq!(
        errors[0].value.as_deref(),
        Some(
            r#"apiextensions.ValidationRule{Rule:"self.replicas >", Message:"", MessageExpression:"", Reason:(*apiextensions.FieldValueErrorReason)(nil), FieldPath:"", OptionalOldSelf:(*bool)(nil)}"#
        )
    );
    // cel-go's `Issues.String()`: position, ANTLR's message, the line and a caret under the
    // column (the list of expected tokens is left out of the comparison).
    let detail = &errors[0].detail;
    assert!(
        detail.starts_with(
            "compilation failed: ERROR: <input>:1:16: Syntax error: mismatched input '<EOF>' expecting {"
        ),
        "{detail}"
    );
    assert!(
        detail.ends_with("}\n | self.replicas >\n | ...............^"),
        "{detail}"
    );
}

#[test]
fn rule_fields_are_checked_as_upstream() {
    let schema = spec_schema(json!({
        "x-kubernetes-validations": [
            {"rule": "  "},
            {"rule": "true", "message": "a\nb"},
            {"rule": "true", "reason": "FieldValueBad"},
            {"rule": "true", "fieldPath": ".missing"},
            {"rule": "true", "fieldPath": ".replicas[0]"},
            {"rule": "true", "messageExpression": "'a' +"},
            {"rule": "true", "optionalOldSelf": true},
        ],
    }));
    let at = |i: usize, field: &str| {
        format!("{PREFIX}.properties[spec].x-kubernetes-validations[{i}].{field}")
    };
    let errors = compile_errors(&schema);
    assert_eq!(errors.len(), 7, "{errors:#?}");
    assert_eq!(
        errors[0],
        format!("{}: Required value: rule is not specified", at(0, "rule"))
    );
    assert_eq!(
        errors[1],
        format!(
            r#"{}: Invalid value: "a\nb": message must not contain line breaks"#,
            at(1, "message")
        )
    );
    assert_eq!(
        errors[2],
        format!(
            r#"{}: Unsupported value: "FieldValueBad": supported values: "FieldValueDuplicate", "FieldValueForbidden", "FieldValueInvalid", "FieldValueRequired""#,
            at(2, "reason")
        )
    );
    assert_eq!(
        errors[3],
        format!(
            r#"{}: Invalid value: ".missing": fieldPath must be a valid path: does not refer to a valid field"#,
            at(3, "fieldPath")
        )
    );
    assert_eq!(
        errors[4],
        format!(
            r#"{}: Invalid value: ".replicas[0]": fieldPath must be a valid path: expected single quoted string but got 0"#,
            at(4, "fieldPath")
        )
    );
    assert!(
        errors[5].starts_with(&format!("{}: Invalid value: ", at(5, "messageExpression")))
            && errors[5].contains(": messageExpression compilation failed: ERROR: <input>:1:"),
        "{}",
        errors[5]
    );
    assert_eq!(
        errors[6],
        format!(
            "{}: Invalid value: true: may not be set if oldSelf is not used in rule",
            at(6, "optionalOldSelf")
        )
    );
}

#[test]
fn evaluation_errors_are_reported_as_upstream() {
    let schema = spec_schema(json!({
        "x-kubernetes-validations": [
            {"rule": "self.name == 'x'"},
            {"rule": "self.replicas / 0 == 1", "message": "never"},
            {"rule": "dyn(self.replicas) + dyn('a') == 1"},
        ],
    }));
    let validator = compiled(&schema);
    assert_eq!(
        errors(&validator, json!({"spec": {"replicas": 1}}), None),
        [
            r#"spec: Invalid value: "object": no such key: name evaluating rule: self.name == 'x'"#,
            r#"spec: Invalid value: "object": division by zero evaluating rule: never"#,
            r#"spec: Invalid value: "object": 'no such overload': call arguments did not match a supported operator, function or macro signature for rule: dyn(self.replicas) + dyn('a') == 1"#,
        ]
    );
}

#[test]
fn failed_conversions_say_what_cel_go_says() {
    let schema = spec_schema(json!({
        "x-kubernetes-validations": [
            {"rule": "int(self.text) > 0"},
            {"rule": "uint(self.text) > 0u"},
            {"rule": "double(self.text) > 0.0"},
            {"rule": "bool(self.text)"},
            {"rule": "duration(self.text) > duration('1s')"},
            {"rule": "timestamp(self.text) > timestamp('2020-01-01T00:00:00Z')"},
            {"rule": "int(self.big) > 0"},
        ],
    }));
    let schema = {
        let mut schema = schema;
        schema["properties"]["spec"]["properties"]["text"] = json!({"type": "string"});
        schema["properties"]["spec"]["properties"]["big"] = json!({"type": "number"});
        schema
    };
    let validator = compiled(&schema);
    let failures = errors(
        &validator,
        json!({"spec": {"text": "abc", "big": 1e100}}),
        None,
    );
    let cause = |target: &str, rule: &str| {
        format!(
            r#"spec: Invalid value: "object": type conversion error from 'string' to '{target}' evaluating rule: {rule}"#
        )
    };
    assert_eq!(
        failures,
        [
            cause("int", "int(self.text) > 0"),
            cause("uint", "uint(self.text) > 0u"),
            cause("double", "double(self.text) > 0.0"),
            cause("bool", "bool(self.text)"),
            cause(
                "google.protobuf.Duration",
                "duration(self.text) > duration('1s')"
            ),
            cause(
                "google.protobuf.Timestamp",
                "timestamp(self.text) > timestamp('2020-01-01T00:00:00Z')"
            ),
            r#"spec: Invalid value: "object": integer overflow evaluating rule: int(self.big) > 0"#
                .to_string(),
        ]
    );
}

#[test]
fn values_are_typed_by_the_schema() {
    let schema = json!({
        "type": "object",
        "properties": {"spec": {
            "type": "object",
            "properties": {
                "ratio": {"type": "number"},
                "port": {"x-kubernetes-int-or-string": true},
                "target": {"x-kubernetes-int-or-string": true},
                "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                "template": {"type": "object", "x-kubernetes-embedded-resource": true,
                             "properties": {"spec": {"type": "object"}}},
            },
            "x-kubernetes-validations": [
                {"rule": "self.ratio == 2.0 && self.ratio > 1.5"},
                {"rule": "self.port == 80 && self.target == 'http'"},
                {"rule": "self.extra.anything.deep == true"},
                {"rule": "self.template.kind == 'Pod' && self.template.metadata.name == 'p'"},
            ],
        }},
    });
    let validator = compiled(&schema);
    let object = json!({"spec": {
        "ratio": 2,
        "port": 80,
        "target": "http",
        "extra": {"anything": {"deep": true}},
        "template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"a": "b"}}, "spec": {}},
        "unknown": 1,
    }});
    assert_eq!(errors(&validator, object, None), Vec::<String>::new());
}

#[test]
fn library_functions_real_crds_use_are_available() {
    let schema = json!({
        "type": "object",
        "properties": {"spec": {
            "type": "object",
            "properties": {
                "name": {"type": "string", "maxLength": 64},
                "versions": {"type": "array", "maxItems": 64, "items": {"type": "integer"}},
                "rules": {"type": "array", "maxItems": 64, "items": {"type": "object", "properties": {"host": {"type": "string", "maxLength": 64}}}},
            },
            "x-kubernetes-validations": [
                {"rule": "self.name.lowerAscii() == 'web' && self.name.upperAscii() == 'WEB' && self.name.indexOf('e') == 1"},
                {"rule": "self.versions.isSorted() && self.versions.sum() == 6 && self.versions.min() == 1 && self.versions.max() == 3"},
                {"rule": "size(self.rules) == 2 && self.rules.all(r, r.host.endsWith('.io')) && self.rules.exists_one(r, r.host.contains('a'))"},
                {"rule": "self.rules.map(r, r.host).filter(h, h.startsWith('b')) == ['b.io'] && int('7') == 7 && string(7) == '7'"},
                {"rule": "self.name.size() > 10 ? false : true"},
            ],
        }},
    });
    let validator = compiled(&schema);
    let good = json!({"spec": {"name": "Web", "versions": [1, 2, 3], "rules": [{"host": "a.io"}, {"host": "b.io"}]}});
    assert_eq!(errors(&validator, good, None), Vec::<String>::new());
    let unsorted = json!({"spec": {"name": "Web", "versions": [2, 1, 3], "rules": [{"host": "a.io"}, {"host": "b.io"}]}});
    assert_eq!(
        errors(&validator, unsorted, None),
        [
            r#"spec: Invalid value: "object": failed rule: self.versions.isSorted() && self.versions.sum() == 6 && self.versions.min() == 1 && self.versions.max() == 3"#
        ]
    );
}

#[test]
fn validator_can_be_shared_between_threads() {
    fn shared<T: Send + Sync>(_: &T) {}
    let validator = compiled(&spec_schema(
        json!({"x-kubernetes-validations": [{"rule": "true"}]}),
    ));
    shared(&validator);
}

#[test]
fn undeclared_identifiers_are_crd_errors_and_declared_ones_are_not() {
    let schema = spec_schema(json!({
        "x-kubernetes-validations": [
            {"rule": "self.replicas > 0 && replicas < 3"},
            {"rule": "self.replicas > 0", "messageExpression": "'bad ' + name"},
            {"rule": "[1, 2].all(x, x > 0) && {'a': 1}.exists(k, k == 'a') && type(self.replicas) == int && strings.quote('a') == '\"a\"'"},
        ],
    }));
    let errors = CelValidator::compile(&schema, PREFIX).unwrap_err();
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert_eq!(
        errors[0].field,
        format!("{PREFIX}.properties[spec].x-kubernetes-validations[0].rule")
    );
    assert_eq!(
        errors[0].detail,
        "compilation failed: ERROR: <input>:1:22: undeclared reference to 'replicas' (in container '')\n | self.replicas > 0 && replicas < 3\n | .....................^"
    );
    assert_eq!(
        errors[1].field,
        format!("{PREFIX}.properties[spec].x-kubernetes-validations[1].messageExpression")
    );
    assert_eq!(
        errors[1].detail,
        "messageExpression compilation failed: ERROR: <input>:1:10: undeclared reference to 'name' (in container '')\n | 'bad ' + name\n | .........^"
    );
}

#[test]
fn failures_on_unchanged_values_are_ratcheted_on_update() {
    let schema = json!({
        "type": "object",
        "properties": {"spec": {"type": "object", "properties": {
            "replicas": {"type": "integer", "x-kubernetes-validations": [{"rule": "self <= 5"}]},
            "tags": {"type": "array", "items": {"type": "string", "x-kubernetes-validations": [{"rule": "self.size() <= 3"}]}},
            "name": {"type": "string"},
        }}},
    });
    let validator = compiled(&schema);
    let old = json!({"spec": {"replicas": 7, "tags": ["long-tag"], "name": "a"}});
    // Only `name` changes: the values that break the newer rules are kept as they were.
    let renamed = json!({"spec": {"replicas": 7, "tags": ["long-tag"], "name": "b"}});
    assert!(errors(&validator, renamed.clone(), Some(old.clone())).is_empty());
    // On create, and once those values change, the rules apply.
    assert_eq!(errors(&validator, renamed, None).len(), 2);
    let changed = json!({"spec": {"replicas": 8, "tags": ["long-tag", "x"], "name": "a"}});
    assert_eq!(
        errors(&validator, changed, Some(old)),
        [
            r#"spec.replicas: Invalid value: "integer": failed rule: self <= 5"#,
            r#"spec.tags[0]: Invalid value: "string": failed rule: self.size() <= 3"#,
        ]
    );
}

#[test]
fn fields_the_schema_does_not_declare_are_crd_errors() {
    let schema = json!({
        "type": "object",
        "properties": {"spec": {
            "type": "object",
            "properties": {
                "replicas": {"type": "integer"},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "template": {"type": "object", "x-kubernetes-embedded-resource": true},
            },
            "x-kubernetes-validations": [
                {"rule": "self.replicass > 0"},
                {"rule": "!has(self.template.metadata.labels)"},
                {"rule": "self.labels.anything == 'x' && self.template.metadata.name == 'p'"},
            ],
        }},
    });
    let errors = CelValidator::compile(&schema, PREFIX).unwrap_err();
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert_eq!(
        errors[0].detail,
        "compilation failed: ERROR: <input>:1:5: undefined field 'replicass'\n | self.replicass > 0\n | ....^"
    );
    assert_eq!(
        errors[1].field,
        format!("{PREFIX}.properties[spec].x-kubernetes-validations[1].rule")
    );
    assert!(
        errors[1]
            .detail
            .starts_with("compilation failed: ERROR: <input>:1:")
            && errors[1].detail.contains(": undefined field 'labels'"),
        "{}",
        errors[1].detail
    );
}

#[test]
fn rules_whose_result_is_known_not_to_be_a_bool_are_crd_errors() {
    let schema = spec_schema(json!({
        "x-kubernetes-validations": [
            {"rule": "self.replicas"},
            {"rule": "'yes'"},
            {"rule": "size(self.name)"},
            {"rule": "true"},
            {"rule": "has(self.name) ? self.name != '' : true"},
        ],
    }));
    let errors = compile_errors(&schema);
    let at = |i: usize| format!("{PREFIX}.properties[spec].x-kubernetes-validations[{i}].rule");
    assert_eq!(errors.len(), 3, "{errors:#?}");
    for (i, error) in errors.iter().enumerate() {
        assert!(
            error.starts_with(&format!(
                "{}: Invalid value: apiextensions.ValidationRule{{",
                at(i)
            )),
            "{error}"
        );
        assert!(
            error.ends_with("}: cel expression must evaluate to a bool"),
            "{error}"
        );
    }
}

#[test]
fn escaped_property_names_are_selectable() {
    // Crossplane's Usage: `has(self.of.resourceRef.__namespace__)`.
    let schema = json!({
        "type": "object",
        "properties": {"spec": {
            "type": "object",
            "properties": {
                "namespace": {"type": "string"},
                "x-y": {"type": "string"},
                "a.b": {"type": "string"},
                "__x": {"type": "string"},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            },
            "x-kubernetes-validations": [
                {"rule": "!has(self.__namespace__) || self.__namespace__ != 'kube-system'", "message": "ns"},
                {"rule": "!has(self.x__dash__y) || self.x__dash__y == 'ok'", "message": "dash"},
                {"rule": "!has(self.a__dot__b) || self.a__dot__b == 'ok'", "message": "dot"},
                {"rule": "!has(self.__underscores__x) || self.__underscores__x == 'ok'", "message": "underscores"},
                // Map keys are not escaped: they are entries, not fields.
                {"rule": "!has(self.labels) || !('x-y' in self.labels) || self.labels['x-y'] == 'ok'", "message": "map"},
            ],
        }},
    });
    let validator = compiled(&schema);
    let good = json!({"spec": {"namespace": "default", "x-y": "ok", "a.b": "ok", "__x": "ok", "labels": {"x-y": "ok"}}});
    assert_eq!(errors(&validator, good, None), Vec::<String>::new());
    let bad = json!({"spec": {"namespace": "kube-system", "x-y": "no", "a.b": "no", "__x": "no", "labels": {"x-y": "no"}}});
    let found = errors(&validator, bad, None);
    for message in ["ns", "dash", "dot", "underscores", "map"] {
        assert!(
            found.iter().any(|e| e.ends_with(&format!(": {message}"))),
            "{message} in {found:?}"
        );
    }
    // An escaped name that no property has is an undefined field.
    let unescaped = spec_schema(json!({
        "properties": {"label": {"type": "string"}},
        "x-kubernetes-validations": [{"rule": "self.x__dash__z == 'a'"}],
    }));
    let messages = compile_errors(&unescaped).join("\n");
    assert!(
        messages.contains("undefined field 'x__dash__z'"),
        "{messages}"
    );
}

#[test]
fn durations_and_timestamps() {
    // Gateway API's HTTPRoute timeouts, and formatted strings as upstream types them.
    let schema = spec_schema(json!({
        "properties": {
            "request": {"type": "string"},
            "backendRequest": {"type": "string"},
            "expires": {"type": "string", "format": "date-time"},
            "period": {"type": "string", "format": "duration"},
        },
        "x-kubernetes-validations": [
            {"rule": "!(has(self.request) && has(self.backendRequest) && duration(self.request) != duration('0s') && duration(self.backendRequest) > duration(self.request))",
             "message": "backendRequest timeout cannot be longer than request timeout"},
            {"rule": "!has(self.expires) || self.expires > timestamp('2024-01-01T00:00:00Z')", "message": "expired"},
            {"rule": "!has(self.period) || self.period >= duration('1m')", "message": "short"},
            {"rule": "!has(self.expires) || self.expires.getFullYear() < 2100", "message": "year"},
        ],
    }));
    let validator = compiled(&schema);
    let ok = json!({"spec": {"request": "10s", "backendRequest": "5s", "expires": "2030-05-01T10:00:00Z", "period": "1h30m"}});
    assert_eq!(errors(&validator, ok, None), Vec::<String>::new());
    let bad = json!({"spec": {"request": "1s", "backendRequest": "1m", "expires": "2020-05-01T10:00:00+02:00", "period": "59s"}});
    assert_eq!(
        errors(&validator, bad, None),
        vec![
            "spec: Invalid value: \"object\": backendRequest timeout cannot be longer than request timeout",
            "spec: Invalid value: \"object\": expired",
            "spec: Invalid value: \"object\": short",
        ]
    );
}

/// A CR schema whose `spec` has the string fields rules of the Kubernetes libraries take.
fn library_schema(rules: Value) -> Value {
    json!({
        "type": "object",
        "properties": {"spec": {
            "type": "object",
            "properties": {
                "address": {"type": "string", "maxLength": 64},
                "network": {"type": "string", "maxLength": 64},
                "endpoint": {"type": "string", "maxLength": 64},
                "memory": {"type": "string", "maxLength": 64},
                "version": {"type": "string", "maxLength": 64},
                "name": {"type": "string", "maxLength": 64},
                "tags": {"type": "array", "maxItems": 64, "items": {"type": "string", "maxLength": 64}},
            },
            "x-kubernetes-validations": rules,
        }},
    })
}

#[test]
fn kubernetes_libraries_are_available_to_rules() {
    let validator = compiled(&library_schema(json!([
        {"rule": "isIP(self.address) && type(ip(self.address)) == net.IP && cidr(self.network).containsIP(self.address)"},
        {"rule": "ip(self.address).family() == 4"},
        {"rule": "url(self.endpoint).getScheme() == 'https'"},
        {"rule": "quantity(self.memory).isLessThan(quantity('1Gi')) && isQuantity(self.memory)"},
        {"rule": "semver(self.version, true).major() >= 1"},
        {"rule": "!format.dns1123Label().validate(self.name).hasValue()",
         "messageExpression": "format.dns1123Label().validate(self.name).value()[0]"},
        {"rule": "sets.contains(['a', 'b', 'c'], self.tags) && self.tags.indexOf('b') >= 0 && self.name.find('[0-9]+') != ''"},
    ])));
    let good = json!({"spec": {
        "address": "10.0.0.1", "network": "10.0.0.0/8", "endpoint": "https://example.com/x",
        "memory": "512Mi", "version": "v1.2", "name": "web-1", "tags": ["b"],
    }});
    assert_eq!(errors(&validator, good, None), Vec::<String>::new());
    let bad = json!({"spec": {
        "address": "bad", "network": "10.0.0.0/8", "endpoint": "https://a:b:c/",
        "memory": "2Gi", "version": "v1.2", "name": "Web", "tags": ["d"],
    }});
    assert_eq!(
        errors(&validator, bad, None),
        [
            r#"spec: Invalid value: "object": failed rule: isIP(self.address) && type(ip(self.address)) == net.IP && cidr(self.network).containsIP(self.address)"#,
            r#"spec: Invalid value: "object": IP Address "bad" parse error during conversion from string: ParseAddr("bad"): unable to parse IP evaluating rule: ip(self.address).family() == 4"#,
            r#"spec: Invalid value: "object": URL parse error during conversion from string: parse "https://a:b:c/": invalid port ":c" after host evaluating rule: url(self.endpoint).getScheme() == 'https'"#,
            r#"spec: Invalid value: "object": failed rule: quantity(self.memory).isLessThan(quantity('1Gi')) && isQuantity(self.memory)"#,
            r#"spec: Invalid value: "object": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"#,
            r#"spec: Invalid value: "object": failed rule: sets.contains(['a', 'b', 'c'], self.tags) && self.tags.indexOf('b') >= 0 && self.name.find('[0-9]+') != ''"#,
        ]
    );
}

#[test]
fn list_functions_report_upstream_errors() {
    let validator = compiled(&library_schema(json!([
        {"rule": "self.tags.min() == 'a'"},
        {"rule": "[1, 2].sum() + self.tags.size() > 0"},
    ])));
    assert_eq!(
        errors(&validator, json!({"spec": {"tags": []}}), None),
        [
            r#"spec: Invalid value: "object": min called on empty list evaluating rule: self.tags.min() == 'a'"#
        ]
    );
}

#[test]
fn constant_patterns_that_do_not_compile_are_crd_errors() {
    let errors = compile_errors(&library_schema(json!([
        {"rule": "self.name.find(')') == ''"},
        {"rule": "self.name.findAll(self.name).size() > 0"},
        {"rule": "true", "messageExpression": "self.name.findAll('a**', 1)[0]"},
    ])));
    assert_eq!(
        errors,
        [
            format!(
                r#"{PREFIX}.properties[spec].x-kubernetes-validations[0].rule: Invalid value: apiextensions.ValidationRule{{Rule:"self.name.find(')') == ''", Message:"", MessageExpression:"", Reason:(*apiextensions.FieldValueErrorReason)(nil), FieldPath:"", OptionalOldSelf:(*bool)(nil)}}: program instantiation failed: error parsing regexp: unexpected ): `)`"#
            ),
            format!(
                r#"{PREFIX}.properties[spec].x-kubernetes-validations[2].messageExpression: Invalid value: apiextensions.ValidationRule{{Rule:"true", Message:"", MessageExpression:"self.name.findAll('a**', 1)[0]", Reason:(*apiextensions.FieldValueErrorReason)(nil), FieldPath:"", OptionalOldSelf:(*bool)(nil)}}: messageExpression instantiation failed: error parsing regexp: invalid nested repetition operator: `**`"#
            ),
        ]
    );
}

#[test]
fn library_type_names_are_declared_and_others_are_not() {
    let errors = compile_errors(&library_schema(json!([
        {"rule": "type(cidr(self.network)) == net.CIDR && type(url(self.endpoint)) == kubernetes.URL"},
        {"rule": "type(self.name) == net.Other"},
    ])));
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0].contains("x-kubernetes-validations[1].rule")
            && errors[0].contains("undeclared reference to 'net'"),
        "{errors:#?}"
    );
}

/// The `detail` of the one compile error `rule` has on the schema of [`checker_schema`].
fn checker_error(rule: &str) -> String {
    let schema = checker_schema(json!([{"rule": rule}]));
    match CelValidator::compile(&schema, PREFIX) {
        Ok(_) => panic!("{rule}: expected a compile error"),
        Err(errors) => {
            assert_eq!(errors.len(), 1, "{rule}: {errors:?}");
            errors[0].detail.clone()
        }
    }
}

/// A CR schema whose `spec` holds values of many types, with `rules` on `spec`.
fn checker_schema(rules: Value) -> Value {
    json!({
        "type": "object",
        "properties": {"spec": {
            "type": "object",
            "x-kubernetes-validations": rules,
            "properties": {
                "replicas": {"type": "integer"},
                "ratio": {"type": "number"},
                "name": {"type": "string", "maxLength": 253},
                "enabled": {"type": "boolean"},
                "timeout": {"type": "string", "format": "duration"},
                "created": {"type": "string", "format": "date-time"},
                "data": {"type": "string", "format": "byte"},
                "port": {"x-kubernetes-int-or-string": true},
                "tags": {"type": "array", "maxItems": 16, "items": {"type": "string", "maxLength": 63}},
                "labels": {"type": "object", "maxProperties": 16, "additionalProperties": {"type": "string", "maxLength": 63}},
                "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                "rules": {"type": "array", "maxItems": 16, "items": {
                    "type": "object",
                    "properties": {
                        "path": {"type": "string", "maxLength": 1024},
                        "weight": {"type": "integer"},
                        "backends": {"type": "array", "maxItems": 16, "items": {
                            "type": "object",
                            "properties": {"host": {"type": "string", "maxLength": 253}, "port": {"type": "integer"}},
                        }},
                    },
                }},
                "template": {
                    "type": "object",
                    "x-kubernetes-embedded-resource": true,
                    "x-kubernetes-preserve-unknown-fields": true,
                },
            },
        }},
    })
}

fn issue_detail(message: &str, rule: &str, column: usize) -> String {
    format!(
        "compilation failed: ERROR: <input>:1:{column}: {message}\n | {rule}\n | {}^",
        ".".repeat(column - 1)
    )
}

#[test]
fn checker_reports_undeclared_functions() {
    let rule = "self.name.frobnicate()";
    assert_eq!(
        checker_error(rule),
        issue_detail(
            "undeclared reference to 'frobnicate' (in container '')",
            rule,
            21
        )
    );
    let rule = "nosuch(self.name)";
    assert_eq!(
        checker_error(rule),
        issue_detail(
            "undeclared reference to 'nosuch' (in container '')",
            rule,
            7
        )
    );
}

#[test]
fn checker_reports_overloads_that_do_not_match() {
    for (rule, message, column) in [
        (
            "self.replicas + self.name == 1",
            "found no matching overload for '_+_' applied to '(int, string)'",
            15,
        ),
        (
            "self.ratio == 1",
            "found no matching overload for '_==_' applied to '(double, int)'",
            12,
        ),
        (
            "self.name.startsWith(1)",
            "found no matching overload for 'startsWith' applied to 'string.(int)'",
            21,
        ),
        (
            "size(self.replicas) > 0",
            "found no matching overload for 'size' applied to '(int)'",
            5,
        ),
        (
            "self.timeout > self.created",
            "found no matching overload for '_>_' applied to '(google.protobuf.Duration, google.protobuf.Timestamp)'",
            14,
        ),
        (
            "self.tags.exists(t, t > 1)",
            "found no matching overload for '_>_' applied to '(string, int)'",
            23,
        ),
        (
            "self.labels == {'a': 1}",
            "found no matching overload for '_==_' applied to '(map(string, string), map(string, int))'",
            13,
        ),
        (
            "self.data == 'x'",
            "found no matching overload for '_==_' applied to '(bytes, string)'",
            11,
        ),
        (
            "self.rules.all(r, r.backends.all(b, b.port == 'http'))",
            "found no matching overload for '_==_' applied to '(int, string)'",
            44,
        ),
        (
            "isIP(self.replicas)",
            "found no matching overload for 'isIP' applied to '(int)'",
            5,
        ),
        (
            "self.enabled == null || self.replicas == 1u",
            "found no matching overload for '_==_' applied to '(int, uint)'",
            39,
        ),
    ] {
        assert_eq!(
            checker_error(rule),
            issue_detail(message, rule, column),
            "{rule}"
        );
    }
}

#[test]
fn checker_reports_undefined_fields_and_selections_on_scalars() {
    let rule = "self.rules.all(r, r.weigth > 0)";
    assert_eq!(
        checker_error(rule),
        issue_detail("undefined field 'weigth'", rule, 20)
    );
    let rule = "self.rules[0].backends[0].hots == ''";
    assert_eq!(
        checker_error(rule),
        issue_detail("undefined field 'hots'", rule, 26)
    );
    let rule = "self.name.first == ''";
    assert_eq!(
        checker_error(rule),
        issue_detail("type 'string' does not support field selection", rule, 10)
    );
}

#[test]
fn checker_sorts_several_issues_by_position() {
    let rule = "self.nme == 'a' && foo";
    assert_eq!(
        checker_error(rule),
        format!(
            "compilation failed: ERROR: <input>:1:5: undefined field 'nme'\n | {rule}\n | ....^\nERROR: <input>:1:20: undeclared reference to 'foo' (in container '')\n | {rule}\n | ...................^"
        )
    );
}

#[test]
fn checker_result_types_must_be_bool_and_messages_strings() {
    for rule in [
        "self.replicas + 1",
        "self.tags.map(t, t)",
        "self.name.lowerAscii()",
        "quantity('1')",
    ] {
        assert_eq!(
            checker_error(rule),
            "cel expression must evaluate to a bool",
            "{rule}"
        );
    }
    let schema = checker_schema(json!([{"rule": "true", "messageExpression": "self.replicas"}]));
    let errors = compile_errors(&schema);
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].ends_with("}: messageExpression must evaluate to a string"),
        "{errors:?}"
    );
    let schema = checker_schema(json!([{"rule": "true", "messageExpression": "self.nosuch"}]));
    let errors = compile_errors(&schema);
    assert!(
        errors[0].contains(
            "}: messageExpression compilation failed: ERROR: <input>:1:5: undefined field 'nosuch'"
        ),
        "{errors:?}"
    );
}

#[test]
fn checker_accepts_valid_rules_of_real_crd_styles() {
    let rules = [
        // Gateway-style rules.
        "self.rules.all(r, r.backends.all(b, b.port >= 1 && b.port <= 65535))",
        "self.rules.all(r, !has(r.path) || r.path.startsWith('/'))",
        "self.rules.filter(r, has(r.weight)).map(r, r.weight).sum() <= 1000",
        "size(self.rules.map(r, r.path)) == size(self.rules.map(r, r.path).distinct())",
        "self.rules.exists_one(r, r.path == '/')",
        "!has(self.name) || isIP(self.name) || isURL(self.name) || self.name.matches('^[a-z]+$')",
        "!isIP(self.name) || ip(self.name).family() == 4 && !ip(self.name).isLoopback()",
        "!isCIDR(self.name) || cidr(self.name).containsIP('10.0.0.1')",
        "!isURL(self.name) || url(self.name).getScheme() in ['http', 'https']",
        "self.timeout <= duration('1h') && self.timeout > duration('0s')",
        "self.created < timestamp('2100-01-01T00:00:00Z') && self.created.getFullYear() > 2000",
        "duration(self.name) < self.timeout",
        // Istio/Crossplane-style rules.
        "self.labels.all(k, k.size() < 64 && self.labels[k].size() < 64)",
        "'app' in self.labels && self.labels['app'] != ''",
        "self.port == 80 || self.port == 'http'",
        "type(self.port) == string ? self.port.startsWith('h') : self.port > 0",
        "self.extra.anything.goes == 1",
        "has(self.template.spec) && self.template.kind == 'Pod' && self.template.metadata.name != ''",
        "self.?name.orValue('') == '' || self.name.lowerAscii() == self.name",
        "self.tags.all(t, t.size() > 0) && self.tags.join(',').size() < 100",
        "self.name.split('/').size() <= 2 && self.name.indexOf('x') < 5",
        "self.replicas * 2 > self.ratio",
        "int(self.ratio) == self.replicas && double(self.replicas) >= self.ratio",
        "string(self.replicas) + self.name != ''",
        "quantity(self.name).isLessThan(quantity('1Gi')) && isQuantity(self.name)",
        "semver(self.name).major() >= 1",
        "format.dns1123Label().validate(self.name).hasValue() == false",
        "sets.contains(self.tags, ['a']) && self.tags.isSorted()",
        "self.data.size() < 10 && string(self.data) != ''",
        "self.rules.map(r, r.backends.size()).max() < 10",
        "self.name.find('[0-9]+') != '' && self.name.findAll('a').size() >= 0",
        "self.labels.exists(k, k.startsWith('x')) || self.replicas == oldSelf.replicas",
        "self.enabled ? self.replicas > 0 : true",
        "[1, 2, 3].all(i, i > 0) && {'a': 1}.a == 1 && self.tags[0] == 'x'",
        "type(self) == type(oldSelf) && self != null",
        "lists.range(3).size() == 3 && self.tags.slice(0, 1).size() == 1",
        "optional.of(self.name).hasValue() && self.rules[?0].hasValue()",
        "self.name.charAt(0) == 'a' && self.name.substring(1).trim() != ''",
    ];
    let schema = checker_schema(Value::Array(
        rules.iter().map(|rule| json!({"rule": rule})).collect(),
    ));
    if let Err(errors) = CelValidator::compile(&schema, PREFIX) {
        panic!("valid rules refused: {errors:#?}");
    }
}

#[test]
fn checker_knows_every_function_of_the_environment() {
    use std::collections::BTreeSet;
    let known: BTreeSet<String> = super::checker::function_names()
        .into_iter()
        .map(|(name, _, _)| name)
        .collect();
    // Every function the environment declares (the cel crate's standard library, strings,
    // lists and optionals, and `library::register`), as declared there.
    let declared = [
        "!_",
        "-_",
        "@in",
        "_!=_",
        "_%_",
        "_&&_",
        "_*_",
        "_+_",
        "_-_",
        "_/_",
        "_<=_",
        "_<_",
        "_==_",
        "_>=_",
        "_>_",
        "_?_:_",
        "_[?_]",
        "_[_]",
        "_||_",
        "add",
        "asApproximateFloat",
        "asInteger",
        "bool",
        "bytes",
        "charAt",
        "cidr",
        "compareTo",
        "containsCIDR",
        "containsIP",
        "contains",
        "distinct",
        "double",
        "duration",
        "dyn",
        "endsWith",
        "family",
        "find",
        "findAll",
        "flatten",
        "format",
        "format.byte",
        "format.date",
        "format.datetime",
        "format.dns1035Label",
        "format.dns1035LabelPrefix",
        "format.dns1123Label",
        "format.dns1123LabelPrefix",
        "format.dns1123Subdomain",
        "format.dns1123SubdomainPrefix",
        "format.labelValue",
        "format.named",
        "format.qualifiedName",
        "format.uri",
        "format.uuid",
        "getDate",
        "getDayOfMonth",
        "getDayOfWeek",
        "getDayOfYear",
        "getEscapedPath",
        "getFullYear",
        "getHost",
        "getHostname",
        "getHours",
        "getMilliseconds",
        "getMinutes",
        "getMonth",
        "getPort",
        "getQuery",
        "getScheme",
        "getSeconds",
        "hasValue",
        "indexOf",
        "int",
        "ip",
        "ip.isCanonical",
        "isCIDR",
        "isGlobalUnicast",
        "isGreaterThan",
        "isIP",
        "isInteger",
        "isLessThan",
        "isLinkLocalMulticast",
        "isLinkLocalUnicast",
        "isLoopback",
        "isQuantity",
        "isSemver",
        "isSorted",
        "isURL",
        "isUnspecified",
        "join",
        "lastIndexOf",
        "lists.range",
        "lowerAscii",
        "major",
        "masked",
        "matches",
        "max",
        "min",
        "minor",
        "optional.none",
        "optional.of",
        "optional.ofNonZeroValue",
        "or",
        "orValue",
        "patch",
        "prefixLength",
        "quantity",
        "replace",
        "reverse",
        "semver",
        "sets.contains",
        "sets.equivalent",
        "sets.intersects",
        "sign",
        "size",
        "slice",
        "sort",
        "split",
        "startsWith",
        "string",
        "strings.quote",
        "sub",
        "substring",
        "sum",
        "timestamp",
        "trim",
        "type",
        "uint",
        "upperAscii",
        "url",
        "validate",
        "value",
    ];
    let declared: BTreeSet<String> = declared.iter().map(|name| name.to_string()).collect();
    assert_eq!(
        known.difference(&declared).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "checked functions the environment does not declare"
    );
    assert_eq!(
        declared.difference(&known).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "declared functions the checker does not know"
    );
    // Each non-operator function resolves in the environment: calling it with no arguments
    // fails for want of an overload, never for an unknown name.
    let env = super::compile::environment();
    let context = super::evaluate::root_context(&env);
    for name in &declared {
        if name.contains('_') || name.starts_with('@') || name.starts_with('!') {
            continue;
        }
        let global = if name.starts_with("format.") || name == "optional.none" {
            format!("{name}()")
        } else {
            format!("{name}(dyn(0), dyn(0), dyn(0), dyn(0), dyn(0))")
        };
        let member = format!("dyn(0).{name}(dyn(0), dyn(0), dyn(0), dyn(0))");
        let declared = [global, member].iter().any(|expr| {
            let program = env.compile(expr).unwrap();
            !matches!(
                program.execute(&context),
                Err(cel::ExecutionError::UndeclaredReference(_))
            )
        });
        assert!(declared, "{name} is not declared");
    }
    for expr in ["nosuch(dyn(0))", "dyn(0).nosuch(dyn(0))"] {
        let program = env.compile(expr).unwrap();
        assert!(matches!(
            program.execute(&context),
            Err(cel::ExecutionError::UndeclaredReference(_))
        ));
    }
}

#[test]
fn rules_over_the_estimated_cost_limit_are_refused() {
    // Unbounded lists of unbounded strings, compared pairwise: far over the limit.
    let schema = json!({
        "type": "object",
        "properties": {"spec": {
            "type": "object",
            "properties": {"names": {"type": "array", "items": {"type": "string"}}},
            "x-kubernetes-validations": [
                {"rule": "self.names.all(a, self.names.all(b, a == b || !a.contains(b)))"},
            ],
        }},
    });
    let errors = CelValidator::compile(&schema, PREFIX).unwrap_err();
    let expected = format!(
        "{PREFIX}.properties[spec].x-kubernetes-validations[0].rule: Forbidden: estimated rule cost exceeds budget by factor of more than 100x (try simplifying the rule, or adding maxItems, maxProperties, and maxLength where arrays, maps, and strings are declared)"
    );
    let printed: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(printed[0], expected, "{printed:#?}");
    // The CRD's total is over its limit too.
    assert!(
        printed.last().unwrap().starts_with(&format!(
            "{PREFIX}: Forbidden: x-kubernetes-validations estimated rule cost total for entire OpenAPIv3 schema exceeds budget by factor of"
        )),
        "{printed:#?}"
    );
    // With bounds the same rule is cheap enough.
    let bounded = json!({
        "type": "object",
        "properties": {"spec": {
            "type": "object",
            "properties": {"names": {
                "type": "array",
                "maxItems": 10,
                "items": {"type": "string", "maxLength": 64},
            }},
            "x-kubernetes-validations": [
                {"rule": "self.names.all(a, self.names.all(b, a == b || !a.contains(b)))"},
            ],
        }},
    });
    compiled(&bounded);
}

#[test]
fn cost_error_factor_is_formatted_as_upstream() {
    use super::cost::cost_error_message;
    let tail = "(try simplifying the rule, or adding maxItems, maxProperties, and maxLength where arrays, maps, and strings are declared)";
    assert_eq!(
        cost_error_message("estimated rule cost", 12, 10),
        format!("estimated rule cost exceeds budget by factor of 1.200000x {tail}")
    );
    assert_eq!(
        cost_error_message("estimated rule cost", 25, 10),
        format!("estimated rule cost exceeds budget by factor of 2.5x {tail}")
    );
    assert_eq!(
        cost_error_message("estimated rule cost", 1001, 10),
        format!("estimated rule cost exceeds budget by factor of more than 100x {tail}")
    );
}

#[test]
fn expensive_rules_on_big_values_are_stopped_at_runtime() {
    // Bounded enough to compile: 2000 items, but each pair is compared.
    let schema = json!({
        "type": "object",
        "properties": {"spec": {
            "type": "object",
            "properties": {
                "names": {"type": "array", "maxItems": 900, "items": {"type": "string", "maxLength": 8}},
                "replicas": {"type": "integer"},
            },
            "x-kubernetes-validations": [
                {"rule": "self.names.all(a, self.names.exists(b, a == b))"},
                {"rule": "self.replicas >= 0"},
            ],
        }},
    });
    let validator = compiled(&schema);
    // Small values run, and a cheap rule still fails as it should.
    assert_eq!(
        errors(
            &validator,
            json!({"spec": {"names": ["a", "b"], "replicas": -1}}),
            None
        ),
        [r#"spec: Invalid value: "object": failed rule: self.replicas >= 0"#]
    );
    // 900 items: 810000 comparisons, over the per-call limit.
    let names: Vec<String> = (0..900).map(|i| format!("n{i}")).collect();
    assert_eq!(
        errors(
            &validator,
            json!({"spec": {"names": names, "replicas": -1}}),
            None
        ),
        [
            r#"spec: Invalid value: "object": 'operation cancelled: actual cost limit exceeded': no further validation rules will be run due to call cost exceeds limit for rule: self.names.all(a, self.names.exists(b, a == b))"#
        ]
    );
}

#[test]
fn the_runtime_budget_is_shared_by_every_rule_of_the_object() {
    // Each rule is under the per-call limit, but 20 of them together are over the budget.
    let rules: Vec<Value> = (0..20)
        .map(|i| json!({"rule": format!("self.names.all(a, a.size() > {i})")}))
        .collect();
    let schema = json!({
        "type": "object",
        "properties": {"spec": {
            "type": "object",
            "properties": {"names": {
                "type": "array",
                "maxItems": 80000,
                "items": {"type": "string", "maxLength": 32},
            }},
            "x-kubernetes-validations": rules,
        }},
    });
    let validator = compiled(&schema);
    let many: Vec<String> = (0..80000).map(|i| format!("{i:024}")).collect();
    let printed = errors(&validator, json!({"spec": {"names": many}}), None);
    assert_eq!(
        printed,
        [
            r#"spec: Invalid value: "object": validation failed due to running out of cost budget, no further validation rules will be run"#
        ]
    );
    // Few items are within the budget.
    assert!(errors(
        &validator,
        json!({"spec": {"names": ["abcdefghijklmnopqrstu"]}}),
        None
    )
    .is_empty());
}

#[test]
fn map_keys_cost_nothing_as_upstream_estimates_them() {
    // Label-like maps with key rules, as Gateway API and Istio declare them: upstream sizes map
    // keys as 0, so the estimate stays far under the limit however long the values may be.
    let schema = json!({
        "type": "object",
        "properties": {"spec": {
            "type": "object",
            "properties": {
                "labels": {
                    "type": "object",
                    "maxProperties": 16,
                    "additionalProperties": {"type": "string", "maxLength": 4096},
                    "x-kubernetes-validations": [
                        {"rule": r#"self.all(key, key.matches(r"""^([a-z0-9]([-a-z0-9]*[a-z0-9])?/)?[A-Za-z0-9]$"""))"#},
                        {"rule": r#"self.all(key, key.split("/")[0].size() < 253)"#},
                    ],
                },
                "ports": {
                    "type": "object",
                    "maxProperties": 128,
                    "additionalProperties": {"type": "integer"},
                    "x-kubernetes-validations": [
                        {"rule": "self.all(key, 0 < self[key] && self[key] <= 65535)"},
                    ],
                },
            },
        }},
    });
    let validator = compiled(&schema);
    assert_eq!(
        errors(
            &validator,
            json!({"spec": {"labels": {"a": "x"}, "ports": {"http": 70000}}}),
            None
        ),
        [
            r#"spec.ports: Invalid value: "object": failed rule: self.all(key, 0 < self[key] && self[key] <= 65535)"#
        ]
    );
}
