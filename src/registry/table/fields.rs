//! Reading objects as JSON, and the small formatting helpers upstream's printers share (labels,
//! label selectors, container lists, int-or-string values).
//!
//! Every accessor is total: a missing or mistyped field reads as the Go zero value (`""`, `0`,
//! `false`, an empty list), which is what upstream's printers see after decoding into typed structs.

use serde_json::Value;

/// The value at `path` under `value`, if every step is an object holding the next key.
pub(super) fn get<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(value, |current, key| current.get(key))
}

/// The string at `path`, or `None` when absent or not a string (Go: a nil `*string`).
pub(super) fn opt_str<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    get(value, path).and_then(Value::as_str)
}

/// The string at `path`, or `""`.
pub(super) fn str_at<'a>(value: &'a Value, path: &[&str]) -> &'a str {
    opt_str(value, path).unwrap_or("")
}

/// The integer at `path`, or `None` when absent or not an integer (Go: a nil `*int32`).
pub(super) fn opt_i64(value: &Value, path: &[&str]) -> Option<i64> {
    get(value, path).and_then(Value::as_i64)
}

/// The integer at `path`, or `0`.
pub(super) fn i64_at(value: &Value, path: &[&str]) -> i64 {
    opt_i64(value, path).unwrap_or(0)
}

/// The boolean at `path`, or `None` when absent (Go: a nil `*bool`).
pub(super) fn opt_bool(value: &Value, path: &[&str]) -> Option<bool> {
    get(value, path).and_then(Value::as_bool)
}

/// The boolean at `path`, or `false`.
pub(super) fn bool_at(value: &Value, path: &[&str]) -> bool {
    opt_bool(value, path).unwrap_or(false)
}

/// The array at `path`, or an empty slice.
pub(super) fn array_at<'a>(value: &'a Value, path: &[&str]) -> &'a [Value] {
    get(value, path)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// The number of entries of the map (or list) at `path`; `0` when absent.
pub(super) fn len_at(value: &Value, path: &[&str]) -> usize {
    match get(value, path) {
        Some(Value::Object(map)) => map.len(),
        Some(Value::Array(items)) => items.len(),
        _ => 0,
    }
}

/// `metadata.name`.
pub(super) fn name(object: &Value) -> &str {
    str_at(object, &["metadata", "name"])
}

/// Whether `metadata.deletionTimestamp` is set.
pub(super) fn is_deleting(object: &Value) -> bool {
    get(object, &["metadata", "deletionTimestamp"]).is_some_and(|ts| !ts.is_null())
}

/// The value of annotation `key`, if present.
pub(super) fn annotation<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    get(object, &["metadata", "annotations", key]).and_then(Value::as_str)
}

/// Whether the condition of `condition_type` in `conditions` has status `True`. Only the first
/// condition of that type counts, as upstream's lookups do.
pub(super) fn condition_is_true(conditions: &[Value], condition_type: &str) -> bool {
    conditions
        .iter()
        .find(|c| str_at(c, &["type"]) == condition_type)
        .is_some_and(|c| str_at(c, &["status"]) == "True")
}

/// `labels.FormatLabels`: `k=v` pairs sorted by key, joined by `,`; `<none>` when empty.
pub(super) fn format_labels(labels: Option<&Value>) -> String {
    let joined = labels
        .and_then(Value::as_object)
        .map(|map| {
            // serde_json maps may keep insertion order; sort as Go's label Set does.
            let mut pairs: Vec<(&String, &str)> = map
                .iter()
                .map(|(k, v)| (k, v.as_str().unwrap_or("")))
                .collect();
            pairs.sort_by(|a, b| a.0.cmp(b.0));
            pairs
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    if joined.is_empty() {
        "<none>".to_string()
    } else {
        joined
    }
}

/// The string form of a `metav1.LabelSelector` as `labels.Selector.String()` renders it:
/// requirements sorted by key, `k=v` for match labels, `k in (a,b)`, `k notin (a,b)`, `k`, `!k` for
/// expressions; `""` for a missing or empty selector. `Err` for an unknown operator or a malformed
/// expression (upstream fails the conversion).
pub(crate) fn label_selector_string(selector: Option<&Value>) -> Result<String, ()> {
    let Some(selector) = selector.filter(|s| !s.is_null()) else {
        return Ok(String::new());
    };
    let mut requirements: Vec<(String, String)> = Vec::new();
    if let Some(labels) = selector.get("matchLabels").and_then(Value::as_object) {
        for (key, value) in labels {
            requirements.push((
                key.clone(),
                format!("{key}={}", value.as_str().unwrap_or("")),
            ));
        }
    }
    for expression in array_at(selector, &["matchExpressions"]) {
        let key = str_at(expression, &["key"]);
        let mut values: Vec<&str> = array_at(expression, &["values"])
            .iter()
            .filter_map(Value::as_str)
            .collect();
        values.sort_unstable();
        let rendered = match str_at(expression, &["operator"]) {
            "In" if !values.is_empty() => format!("{key} in ({})", values.join(",")),
            "NotIn" if !values.is_empty() => format!("{key} notin ({})", values.join(",")),
            "Exists" if values.is_empty() => key.to_string(),
            "DoesNotExist" if values.is_empty() => format!("!{key}"),
            _ => return Err(()),
        };
        requirements.push((key.to_string(), rendered));
    }
    requirements.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(requirements
        .into_iter()
        .map(|(_, rendered)| rendered)
        .collect::<Vec<_>>()
        .join(","))
}

/// `metav1.FormatLabelSelector`: the selector string, `<none>` when empty, `<error>` when invalid.
pub(super) fn format_label_selector(selector: Option<&Value>) -> String {
    match label_selector_string(selector) {
        Ok(s) if s.is_empty() => "<none>".to_string(),
        Ok(s) => s,
        Err(()) => "<error>".to_string(),
    }
}

/// `layoutContainerCells`: container names and images, each joined by `,`.
pub(super) fn layout_containers(containers: &[Value]) -> (String, String) {
    let names: Vec<&str> = containers.iter().map(|c| str_at(c, &["name"])).collect();
    let images: Vec<&str> = containers.iter().map(|c| str_at(c, &["image"])).collect();
    (names.join(","), images.join(","))
}

/// `intstr.IntOrString.String()`: the integer in decimal or the string as is.
pub(super) fn int_or_string(value: &Value) -> String {
    match value {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => String::new(),
    }
}

/// A JSON value shown as upstream's `resource.Quantity.String()` would show it: quantities are
/// stored in canonical string form, so the string itself (a bare number is printed in decimal).
pub(super) fn quantity(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => "0".to_string(),
    }
}

/// `listWithMoreString`-style joining: the first `max` items, then ` + N more...`.
pub(super) fn list_with_more(list: &[String], total: usize, max: usize, empty: &str) -> String {
    let joined = list.join(",");
    if total > max {
        format!("{joined} + {} more...", total - max)
    } else if joined.is_empty() {
        empty.to_string()
    } else {
        joined
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accessors_default_to_go_zero_values() {
        let v = json!({"a": {"b": "x", "n": 3, "t": true, "l": [1, 2], "m": {"k": 1}}});
        assert_eq!(str_at(&v, &["a", "b"]), "x");
        assert_eq!(str_at(&v, &["a", "missing"]), "");
        assert_eq!(str_at(&v, &["a", "n"]), "");
        assert_eq!(i64_at(&v, &["a", "n"]), 3);
        assert_eq!(i64_at(&v, &["a", "b"]), 0);
        assert!(bool_at(&v, &["a", "t"]));
        assert_eq!(opt_bool(&v, &["a", "x"]), None);
        assert_eq!(array_at(&v, &["a", "l"]).len(), 2);
        assert!(array_at(&v, &["nope"]).is_empty());
        assert_eq!(len_at(&v, &["a", "m"]), 1);
        assert_eq!(len_at(&v, &["a", "l"]), 2);
        assert_eq!(len_at(&v, &["a", "b"]), 0);
    }

    #[test]
    fn labels_are_sorted_and_none_when_empty() {
        assert_eq!(format_labels(Some(&json!({"b": "2", "a": "1"}))), "a=1,b=2");
        assert_eq!(format_labels(Some(&json!({}))), "<none>");
        assert_eq!(format_labels(None), "<none>");
    }

    #[test]
    fn label_selectors_render_like_upstream() {
        let cases = [
            (json!(null), "<none>"),
            (json!({}), "<none>"),
            (json!({"matchLabels": {"app": "web"}}), "app=web"),
            (
                json!({"matchLabels": {"tier": "fe", "app": "web"},
                       "matchExpressions": [{"key": "env", "operator": "In", "values": ["prod", "dev"]}]}),
                "app=web,env in (dev,prod),tier=fe",
            ),
            (
                json!({"matchExpressions": [
                    {"key": "b", "operator": "NotIn", "values": ["x"]},
                    {"key": "a", "operator": "Exists"},
                    {"key": "c", "operator": "DoesNotExist"}]}),
                "a,b notin (x),!c",
            ),
            (
                json!({"matchExpressions": [{"key": "a", "operator": "Bogus"}]}),
                "<error>",
            ),
            (
                json!({"matchExpressions": [{"key": "a", "operator": "In"}]}),
                "<error>",
            ),
        ];
        for (selector, want) in cases {
            assert_eq!(format_label_selector(Some(&selector)), want, "{selector}");
        }
        assert_eq!(label_selector_string(None), Ok(String::new()));
    }

    #[test]
    fn containers_and_int_or_string() {
        let containers = [
            json!({"name": "a", "image": "nginx"}),
            json!({"name": "b", "image": "redis:7"}),
        ];
        assert_eq!(
            layout_containers(&containers),
            ("a,b".to_string(), "nginx,redis:7".to_string())
        );
        assert_eq!(layout_containers(&[]), (String::new(), String::new()));
        assert_eq!(int_or_string(&json!(2)), "2");
        assert_eq!(int_or_string(&json!("50%")), "50%");
    }

    #[test]
    fn list_with_more_counts_the_rest() {
        let list = vec!["a".to_string(), "b".to_string(), "c".to_string()];
        assert_eq!(list_with_more(&list, 5, 3, "<unset>"), "a,b,c + 2 more...");
        assert_eq!(list_with_more(&list, 3, 3, "<unset>"), "a,b,c");
        assert_eq!(list_with_more(&[], 0, 3, "<unset>"), "<unset>");
    }
}
