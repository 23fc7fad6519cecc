//! What the checks share: walking containers, reading optional fields, upstream's wording
//! helpers (`pluralize`, `joinQuote`).

use std::collections::BTreeSet;

use serde_json::Value;

use super::Violation;
use crate::api::go_fmt::go_quote;

/// The pod's init containers, containers and ephemeral containers, in that order (upstream's
/// `visitContainers`).
pub fn containers(spec: &Value) -> impl Iterator<Item = &Value> {
    ["initContainers", "containers", "ephemeralContainers"]
        .into_iter()
        .filter_map(|key| spec.get(key).and_then(Value::as_array))
        .flatten()
}

/// The field at `path`, unless absent or null.
pub fn field<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter()
        .try_fold(value, |v, key| v.get(*key))
        .filter(|v| !v.is_null())
}

/// A string field (`""` when absent).
pub fn string<'a>(value: &'a Value, path: &[&str]) -> &'a str {
    field(value, path).and_then(Value::as_str).unwrap_or("")
}

/// A container's name.
pub fn name(container: &Value) -> String {
    string(container, &["name"]).to_string()
}

/// The strings of a list field.
pub fn strings<'a>(value: &'a Value, path: &[&str]) -> Vec<&'a str> {
    field(value, path)
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// Whether the pod declares `spec.os.name: windows` (restricted checks from 1.25 skip it).
pub fn is_windows(spec: &Value) -> bool {
    string(spec, &["os", "name"]) == "windows"
}

pub fn pluralize<'a>(singular: &'a str, plural: &'a str, count: usize) -> &'a str {
    if count == 1 {
        singular
    } else {
        plural
    }
}

/// `"a", "b"`.
pub fn join_quote<S: AsRef<str>>(items: &[S]) -> String {
    items
        .iter()
        .map(|s| go_quote(s.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `container "a"` or `containers "a", "b"`.
pub fn containers_phrase<S: AsRef<str>>(names: &[S]) -> String {
    format!(
        "{} {}",
        pluralize("container", "containers", names.len()),
        join_quote(names)
    )
}

/// A sorted set's items, as upstream's `sets.String.List()`.
pub fn sorted(set: &BTreeSet<String>) -> Vec<&str> {
    set.iter().map(String::as_str).collect()
}

pub fn violation(reason: impl Into<String>, detail: impl Into<String>) -> Option<Violation> {
    Some(Violation {
        reason: reason.into(),
        detail: detail.into(),
    })
}
