//! Property tests of CEL validation rules on hostile expressions: any rule text compiles or is
//! refused with field errors, and a compiled rule evaluates over any object of its schema
//! (integers at their limits, odd strings, long lists) to a verdict, never a panic.

use proptest::prelude::*;
use serde_json::{json, Value};

use super::CelValidator;

const CASES: u32 = 256;

const PREFIX: &str = "spec.versions[0].schema.openAPIV3Schema";

/// Tokens of CEL and of the Kubernetes libraries; rules are made of them.
const TOKENS: &[&str] = &[
    "self",
    "oldSelf",
    ".",
    "spec",
    "replicas",
    "maxReplicas",
    "name",
    "tags",
    "labels",
    "size()",
    "+",
    "-",
    "*",
    "/",
    "%",
    "==",
    "!=",
    "<",
    ">=",
    "&&",
    "||",
    "!",
    "?",
    ":",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    "0",
    "1",
    "-1",
    "2",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551615u",
    "1.5",
    "0.0",
    "'a'",
    "'*'",
    "'[a-'",
    "\"\\\\\"",
    "b'x'",
    "null",
    "true",
    "has(",
    "all(",
    "exists(",
    "exists_one(",
    "map(",
    "filter(",
    "x",
    "in",
    "int(",
    "uint(",
    "double(",
    "string(",
    "bytes(",
    "duration(",
    "timestamp(",
    "matches(",
    "split(",
    "lowerAscii()",
    "indexOf(",
    "substring(",
    "replace(",
    "join(",
    "isSorted()",
    "sum()",
    "min()",
    "max()",
    "quantity(",
    "url(",
    "ip(",
    "cidr(",
    "isQuantity(",
    "format(",
    "'%s'",
    "type(",
    "dyn(",
    "optional.of(",
    ".?",
    "orValue(",
    "  ",
    "\n",
    "\\",
];

fn rule() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::collection::vec(prop::sample::select(TOKENS), 0..14)
            .prop_map(|tokens| tokens.concat()),
        1 => "\\PC{0,40}",
    ]
}

fn schema(rule: &str) -> Value {
    json!({
        "type": "object",
        "properties": {"spec": {
            "type": "object",
            "properties": {
                "replicas": {"type": "integer"},
                "maxReplicas": {"type": "integer"},
                "name": {"type": "string"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            },
            "x-kubernetes-validations": [{"rule": rule}],
        }},
    })
}

/// Integers at the edges of CEL's int.
const EDGE_INTEGERS: &[i64] = &[0, 1, -1, i64::MIN, i64::MAX];

fn integer() -> impl Strategy<Value = i64> {
    prop_oneof![any::<i64>(), prop::sample::select(EDGE_INTEGERS)]
}

fn spec() -> impl Strategy<Value = Value> {
    (
        integer(),
        integer(),
        "\\PC{0,12}",
        prop::collection::vec("[a-z*.%\\\\]{0,4}", 0..6),
        prop::collection::btree_map("[a-z]{1,4}", "\\PC{0,6}", 0..4),
    )
        .prop_map(|(replicas, max_replicas, name, tags, labels)| {
            json!({"replicas": replicas, "maxReplicas": max_replicas, "name": name,
                "tags": tags, "labels": labels})
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn rules_compile_or_are_refused_and_evaluate_without_panicking(
        rule in rule(),
        new in spec(),
        old in spec(),
    ) {
        let compiled = match CelValidator::compile(&schema(&rule), PREFIX) {
            Ok(compiled) => compiled,
            Err(errors) => {
                prop_assert!(!errors.is_empty());
                return Ok(());
            }
        };
        let Some(validator) = compiled else {
            return Err(TestCaseError::fail(format!("a rule compiled to nothing: {rule:?}")));
        };
        let object = |spec: &Value| {
            json!({"apiVersion": "example.com/v1", "kind": "Widget",
                "metadata": {"name": "w", "uid": "u"}, "spec": spec})
        };
        let _ = validator.validate(&object(&new), None);
        let _ = validator.validate(&object(&new), Some(&object(&old)));
    }
}
