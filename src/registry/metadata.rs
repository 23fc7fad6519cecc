//! Small accessors for `metadata` of objects held as `serde_json::Value`.

use serde_json::{Map, Value};

/// `metadata` of `obj`, if it is an object.
pub fn meta(obj: &Value) -> Option<&Map<String, Value>> {
    obj.get("metadata").and_then(Value::as_object)
}

/// `metadata` of `obj`, created when missing (or replaced when not an object). `obj` MUST be a
/// JSON object; other values are replaced by an empty object first.
pub fn meta_mut(obj: &mut Value) -> &mut Map<String, Value> {
    if !obj.is_object() {
        *obj = Value::Object(Map::new());
    }
    let map = obj
        .as_object_mut()
        .unwrap_or_else(|| unreachable!("made an object above"));
    let entry = map
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    entry
        .as_object_mut()
        .unwrap_or_else(|| unreachable!("made an object above"))
}

/// A string field of `metadata` (`""` when absent).
pub fn meta_str<'a>(obj: &'a Value, field: &str) -> &'a str {
    meta(obj)
        .and_then(|m| m.get(field))
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// Sets a string field of `metadata`.
pub fn set_meta_str(obj: &mut Value, field: &str, value: impl Into<String>) {
    meta_mut(obj).insert(field.to_string(), Value::String(value.into()));
}

/// Removes a field of `metadata`.
pub fn remove_meta(obj: &mut Value, field: &str) -> Option<Value> {
    meta_mut(obj).remove(field)
}

/// `metadata.finalizers` as strings.
pub fn finalizers(obj: &Value) -> Vec<String> {
    meta(obj)
        .and_then(|m| m.get("finalizers"))
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|f| f.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether `metadata.deletionTimestamp` is set.
pub fn is_being_deleted(obj: &Value) -> bool {
    !meta_str(obj, "deletionTimestamp").is_empty()
}

/// The current time as upstream writes timestamps: RFC 3339, whole seconds, UTC (`...Z`).
pub fn now_rfc3339() -> String {
    let now = jiff::Timestamp::now();
    jiff::Timestamp::from_second(now.as_second())
        .map(|t| t.to_string())
        .unwrap_or_else(|_| now.to_string())
}

/// Upstream's alphabet of generated name suffixes (no vowels, no confusable characters).
const SUFFIX_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// Five random characters of upstream's alphabet, appended to `generateName`.
pub fn random_name_suffix() -> String {
    let random = uuid::Uuid::new_v4();
    random.as_bytes()[..5]
        .iter()
        .map(|b| SUFFIX_ALPHABET[*b as usize % SUFFIX_ALPHABET.len()] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn accessors() {
        let mut obj = json!({"kind": "X"});
        set_meta_str(&mut obj, "name", "a");
        assert_eq!(meta_str(&obj, "name"), "a");
        assert!(finalizers(&obj).is_empty());
        meta_mut(&mut obj).insert("finalizers".into(), json!(["a/b"]));
        assert_eq!(finalizers(&obj), ["a/b"]);
        assert!(!is_being_deleted(&obj));
        let ts = now_rfc3339();
        assert!(ts.ends_with('Z') && ts.len() == 20, "{ts}");
        let suffix = random_name_suffix();
        assert_eq!(suffix.len(), 5);
        assert!(suffix.bytes().all(|b| SUFFIX_ALPHABET.contains(&b)));
    }
}
