//! Property tests of the registry's parsers of client input: label and field selectors, continue
//! tokens, and the patch engines (JSON patch, merge patch, strategic merge patch, server-side
//! apply). None may panic on any input; where a parser has a printed form, parsing what it
//! printed gives the same value back.

use std::collections::BTreeSet;

use proptest::prelude::*;
use serde_json::{json, Value};

use crate::api::test_strategies::{json_object, json_value};
use crate::registry::continue_token;
use crate::registry::patch::strategic;
use crate::registry::selectors::field::{FieldRequirement, FieldSelector};
use crate::registry::selectors::label::{LabelSelector, Operator, Requirement};

/// Cases per property: enough to find shallow crashes, small enough for every CI run.
const CASES: u32 = 256;

/// Selector text made mostly of the characters selectors give meaning to.
fn selector_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9./!=<>(), \\\\-]{0,40}",
        "(in|notin|!|=|==|!=|<|>|\\(|\\)|,| |a|b/c|x.y|1|-1|\\\\|é){0,16}",
        any::<String>(),
    ]
}

/// A label key: a name, sometimes with a DNS prefix (never the keywords `in`, `notin`).
fn label_key() -> impl Strategy<Value = String> {
    (
        prop::option::of("[a-z]{1,5}(\\.[a-z]{1,5})?"),
        "[a-z]([a-z0-9._-]{0,6}[a-z0-9])?",
    )
        .prop_filter("not a keyword", |(_, name)| name != "in" && name != "notin")
        .prop_map(|(prefix, name)| match prefix {
            Some(prefix) => format!("{prefix}/{name}"),
            None => name,
        })
}

/// A non-empty label value (never a keyword).
fn label_value() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9]([a-zA-Z0-9._-]{0,6}[a-zA-Z0-9])?"
        .prop_filter("not a keyword", |v| v != "in" && v != "notin")
}

fn label_requirement() -> impl Strategy<Value = Requirement> {
    let one = |operator: Operator| {
        (label_key(), prop_oneof![Just(String::new()), label_value()]).prop_map(
            move |(key, value)| Requirement {
                key,
                operator,
                values: BTreeSet::from([value]),
            },
        )
    };
    let many = |operator: Operator| {
        (
            label_key(),
            prop::collection::btree_set(label_value(), 1..4),
        )
            .prop_map(move |(key, values)| Requirement {
                key,
                operator,
                values,
            })
    };
    let none = |operator: Operator| {
        label_key().prop_map(move |key| Requirement {
            key,
            operator,
            values: BTreeSet::new(),
        })
    };
    let number = |operator: Operator| {
        (label_key(), 0u32..100_000).prop_map(move |(key, n)| Requirement {
            key,
            operator,
            values: BTreeSet::from([n.to_string()]),
        })
    };
    prop_oneof![
        one(Operator::Equals),
        one(Operator::DoubleEquals),
        one(Operator::NotEquals),
        many(Operator::In),
        many(Operator::NotIn),
        none(Operator::Exists),
        none(Operator::DoesNotExist),
        number(Operator::GreaterThan),
        number(Operator::LessThan),
    ]
}

/// A label selector in upstream's text form.
fn render_labels(requirements: &[Requirement]) -> String {
    let term = |r: &Requirement| {
        let values: Vec<&str> = r.values.iter().map(String::as_str).collect();
        let first = values.first().copied().unwrap_or_default();
        match r.operator {
            Operator::Equals => format!("{}={first}", r.key),
            Operator::DoubleEquals => format!("{}=={first}", r.key),
            Operator::NotEquals => format!("{}!={first}", r.key),
            Operator::In => format!("{} in ({})", r.key, values.join(",")),
            Operator::NotIn => format!("{} notin ({})", r.key, values.join(",")),
            Operator::Exists => r.key.clone(),
            Operator::DoesNotExist => format!("!{}", r.key),
            Operator::GreaterThan => format!("{}>{first}", r.key),
            Operator::LessThan => format!("{}<{first}", r.key),
        }
    };
    requirements.iter().map(term).collect::<Vec<_>>().join(",")
}

/// The fields the field-selector properties select on.
const FIELDS: &[&str] = &["metadata.name", "metadata.namespace", "spec.nodeName"];

/// The operations of JSON patch (RFC 6902).
const JSON_PATCH_OPS: &[&str] = &["add", "remove", "replace", "move", "copy", "test"];

/// A field selector value with its escapes.
fn escape_field_value(value: &str) -> String {
    let mut out = String::new();
    for c in value.chars() {
        if matches!(c, '\\' | ',' | '=' | '!') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn sorted_fields(mut requirements: Vec<FieldRequirement>) -> Vec<FieldRequirement> {
    requirements.sort_by(|a, b| {
        (&a.field, a.not_equals, &a.value).cmp(&(&b.field, b.not_equals, &b.value))
    });
    requirements
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn label_selectors_never_panic(input in selector_text()) {
        if let Ok(selector) = LabelSelector::parse(&input) {
            // Whatever parses also matches without panicking.
            let _ = selector.matches(&json!({"metadata": {"labels": {"a": "1", "b/c": "x"}}}));
        }
    }

    #[test]
    fn label_selectors_round_trip(requirements in prop::collection::vec(label_requirement(), 0..5)) {
        let text = render_labels(&requirements);
        let parsed = LabelSelector::parse(&text)
            .map_err(|err| TestCaseError::fail(format!("{text:?}: {err}")))?;
        let mut expected = requirements.clone();
        expected.sort_by(|a, b| a.key.cmp(&b.key));
        let mut got = parsed.requirements.clone();
        got.sort_by(|a, b| a.key.cmp(&b.key));
        let key = |r: &Requirement| (r.key.clone(), format!("{:?}", r.operator), r.values.clone());
        let mut expected_keys: Vec<_> = expected.iter().map(key).collect();
        let mut got_keys: Vec<_> = got.iter().map(key).collect();
        expected_keys.sort();
        got_keys.sort();
        prop_assert_eq!(got_keys, expected_keys, "{:?}", text);
        let again = LabelSelector::parse(&render_labels(&parsed.requirements))
            .map_err(TestCaseError::fail)?;
        prop_assert_eq!(again, parsed);
    }

    #[test]
    fn field_selectors_never_panic(input in selector_text()) {
        let _ = FieldSelector::parse(&input, FIELDS);
    }

    #[test]
    fn field_selectors_round_trip(
        terms in prop::collection::vec(
            (prop::sample::select(FIELDS), any::<bool>(), "\\PC{0,8}"),
            0..5,
        )
    ) {
        let text = terms
            .iter()
            .map(|(field, not_equals, value)| {
                let op = if *not_equals { "!=" } else { "=" };
                format!("{field}{op}{}", escape_field_value(value))
            })
            .collect::<Vec<_>>()
            .join(",");
        let parsed = FieldSelector::parse(&text, FIELDS)
            .map_err(|err| TestCaseError::fail(format!("{text:?}: {err}")))?;
        let expected: Vec<FieldRequirement> = terms
            .iter()
            .map(|(field, not_equals, value)| FieldRequirement {
                field: field.to_string(),
                not_equals: *not_equals,
                value: value.clone(),
            })
            .collect();
        prop_assert_eq!(sorted_fields(parsed.requirements), sorted_fields(expected), "{:?}", text);
    }

    #[test]
    fn continue_tokens_never_panic_nor_leave_the_prefix(token in prop_oneof![
        any::<String>(),
        "[A-Za-z0-9_=-]{0,64}",
        // Base64url of JSON shaped like a token, with hostile start keys.
        ("(\\.\\.|\\.|a|/|%2e|\\\\){0,8}", any::<i64>()).prop_map(|(start, rv)| {
            use base64::Engine as _;
            let json = json!({"v": "meta.k8s.io/v1", "rv": rv, "start": start}).to_string();
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
        }),
    ]) {
        let prefix = "/registry/configmaps/";
        if let Ok(decoded) = continue_token::decode(&token, prefix) {
            prop_assert!(decoded.start_key.starts_with(prefix));
            let rest = &decoded.start_key[prefix.len()..];
            prop_assert!(rest.split('/').all(|s| !s.is_empty() && s != "." && s != ".."), "{}", rest);
            prop_assert!(decoded.revision != 0);
        }
    }

    #[test]
    fn continue_tokens_round_trip(
        segments in prop::collection::vec("[a-z0-9.-]{1,8}", 1..4),
        revision in any::<i64>(),
    ) {
        prop_assume!(revision != 0);
        prop_assume!(segments.iter().all(|s| s != "." && s != ".."));
        let prefix = "/registry/configmaps/";
        let key = format!("{prefix}{}", segments.join("/"));
        let token = continue_token::encode(&key, prefix, revision)
            .map_err(|err| TestCaseError::fail(err.status.message))?;
        let decoded = continue_token::decode(&token, prefix)
            .map_err(|err| TestCaseError::fail(err.status.message))?;
        prop_assert_eq!(decoded.start_key, key);
        prop_assert_eq!(decoded.revision, revision);
    }

    #[test]
    fn json_patches_are_atomic(doc in json_object(), ops in prop::collection::vec(
        (
            prop::sample::select(JSON_PATCH_OPS),
            "(/(spec|metadata|a|0|1|-|~0|~1|name)){0,3}",
            "(/(spec|metadata|a|0|1|-|~0|~1|name)){0,3}",
            json_value(),
        ),
        0..5,
    )) {
        let ops: Vec<Value> = ops
            .into_iter()
            .map(|(op, path, from, value)| json!({"op": op, "path": path, "from": from, "value": value}))
            .collect();
        if let Ok(patch) = serde_json::from_value::<json_patch::Patch>(Value::Array(ops)) {
            let mut patched = doc.clone();
            if json_patch::patch(&mut patched, &patch.0).is_err() {
                // A failed patch leaves the document as it was.
                prop_assert_eq!(patched, doc);
            }
        }
    }

    #[test]
    fn merge_patches_are_idempotent(doc in json_value(), patch in json_value()) {
        let mut once = doc.clone();
        json_patch::merge(&mut once, &patch);
        let mut twice = once.clone();
        json_patch::merge(&mut twice, &patch);
        prop_assert_eq!(twice, once);
    }

    #[test]
    fn strategic_merge_patches_never_panic(original in json_object(), patch in json_value()) {
        for (group, version, kind) in [("apps", "v1", "Deployment"), ("", "v1", "Pod"), ("", "v1", "ConfigMap")] {
            if let Ok(patched) = strategic::apply(&original, &patch, group, version, kind) {
                prop_assert!(patched.is_object());
            }
        }
    }

    #[test]
    fn server_side_apply_never_panics(live in json_object(), spec in json_value(), metadata in json_object()) {
        let info = crate::catalog::builtin()
            .by_kind("apps", "v1", "Deployment")
            .expect("built-in kind")
            .clone();
        let request = crate::registry::fieldmanager::ApplyRequest {
            info: &info,
            manager: "fuzzer",
            force: false,
            subresource: None,
            reset_fields: &[&["status"]],
        };
        let mut config = json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": spec});
        config["metadata"] = metadata;
        config["metadata"]["name"] = json!("web");
        let mut live = live;
        live["apiVersion"] = json!("apps/v1");
        live["kind"] = json!("Deployment");
        let _ = crate::registry::fieldmanager::apply(&request, None, &config);
        let _ = crate::registry::fieldmanager::apply(&request, Some(&live), &config);
    }
}
