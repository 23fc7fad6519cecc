//! `metav1.LabelSelector`s in validation: upstream's `ValidateLabelSelector`, whether a selector
//! matches a template's labels (`LabelSelectorAsSelector(...).Matches`), and Go's `%#v`
//! rendering of selectors and label maps that upstream's `field.Invalid` prints.

use serde_json::{Map, Value};

use super::FieldError;
use crate::api::go_fmt::go_quote;
use crate::api::names::{is_qualified_name, is_valid_label_value};
use crate::registry::selectors::label::label_selector;

/// Go's `%#v` of a `map[string]string`: `map[string]string{"a":"1", "b":"2"}` (keys sorted),
/// `map[string]string(nil)` for an absent map.
pub fn render_labels(labels: Option<&Map<String, Value>>) -> String {
    let Some(labels) = labels else {
        return "map[string]string(nil)".into();
    };
    let mut pairs: Vec<(&String, &str)> = labels
        .iter()
        .map(|(k, v)| (k, v.as_str().unwrap_or("")))
        .collect();
    pairs.sort();
    let body: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}:{}", go_quote(k), go_quote(v)))
        .collect();
    format!("map[string]string{{{}}}", body.join(", "))
}

/// Go's `%#v` of a `[]string`.
fn render_strings(values: Option<&Vec<Value>>) -> String {
    match values {
        None => "[]string(nil)".into(),
        Some(values) => {
            let body: Vec<String> = values
                .iter()
                .map(|v| go_quote(v.as_str().unwrap_or("")))
                .collect();
            format!("[]string{{{}}}", body.join(", "))
        }
    }
}

/// How upstream's `field.Invalid` prints a `*metav1.LabelSelector`: `"null"` when absent, else
/// Go's `%#v` of the struct:
/// `v1.LabelSelector{MatchLabels:map[string]string{"app":"x"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}`.
pub fn render_label_selector(selector: Option<&Value>) -> String {
    let Some(selector) = selector.filter(|s| s.is_object()) else {
        return go_quote("null");
    };
    let labels = render_labels(selector.get("matchLabels").and_then(Value::as_object));
    let expressions = match selector.get("matchExpressions").and_then(Value::as_array) {
        None => "[]v1.LabelSelectorRequirement(nil)".to_string(),
        Some(items) => {
            let body: Vec<String> = items
                .iter()
                .map(|r| {
                    let text = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("");
                    format!(
                        "v1.LabelSelectorRequirement{{Key:{}, Operator:{}, Values:{}}}",
                        go_quote(text("key")),
                        go_quote(text("operator")),
                        render_strings(r.get("values").and_then(Value::as_array))
                    )
                })
                .collect();
            format!("[]v1.LabelSelectorRequirement{{{}}}", body.join(", "))
        }
    };
    format!("v1.LabelSelector{{MatchLabels:{labels}, MatchExpressions:{expressions}}}")
}

/// Whether a selector has neither matchLabels nor matchExpressions.
pub fn is_empty_selector(selector: &Value) -> bool {
    let len = |k: &str| {
        selector
            .get(k)
            .map(|v| {
                v.as_object()
                    .map(Map::len)
                    .or_else(|| v.as_array().map(Vec::len))
                    .unwrap_or(0)
            })
            .unwrap_or(0)
    };
    len("matchLabels") + len("matchExpressions") == 0
}

/// Whether `selector` selects `labels`, as upstream's `LabelSelectorAsSelector(...).Matches`:
/// an absent selector selects nothing, an empty one everything, an unparsable one nothing.
pub fn selector_matches(selector: Option<&Value>, labels: Option<&Map<String, Value>>) -> bool {
    let Some(selector) = selector.filter(|s| s.is_object()) else {
        return false;
    };
    match label_selector(selector) {
        Ok(parsed) => parsed.matches_labels(labels),
        Err(_) => false,
    }
}

/// Upstream's `ValidateLabelSelector` (without invalid label values allowed).
pub fn validate_label_selector(selector: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let Some(labels) = selector.get("matchLabels").and_then(Value::as_object) {
        errs.extend(validate_labels(labels, &format!("{path}.matchLabels")));
    }
    let expressions = selector.get("matchExpressions").and_then(Value::as_array);
    for (i, requirement) in expressions.into_iter().flatten().enumerate() {
        let at = format!("{path}.matchExpressions[{i}]");
        let operator = requirement
            .get("operator")
            .and_then(Value::as_str)
            .unwrap_or("");
        let values = requirement
            .get("values")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        match operator {
            "In" | "NotIn" if values == 0 => errs.push(FieldError::required(
                format!("{at}.values"),
                "must be specified when `operator` is 'In' or 'NotIn'",
            )),
            "Exists" | "DoesNotExist" if values > 0 => errs.push(FieldError::forbidden(
                format!("{at}.values"),
                "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            )),
            "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
            other => errs.push(FieldError::invalid(
                format!("{at}.operator"),
                other,
                "not a valid selector operator",
            )),
        }
        let key = requirement.get("key").and_then(Value::as_str).unwrap_or("");
        for msg in is_qualified_name(key) {
            errs.push(FieldError::invalid(format!("{at}.key"), key, msg));
        }
    }
    errs
}

/// Upstream's `ValidateLabels` at `path`: qualified-name keys, label-syntax values.
pub fn validate_labels(labels: &Map<String, Value>, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (key, value) in labels {
        for msg in is_qualified_name(key) {
            errs.push(FieldError::invalid(path, key, msg));
        }
        let value = value.as_str().unwrap_or("");
        for msg in is_valid_label_value(value) {
            errs.push(FieldError::invalid(path, value, msg));
        }
    }
    errs
}
