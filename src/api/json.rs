//! Reading typed values out of untyped JSON objects.

use serde_json::Value;

/// The strings of a JSON array; non-strings are skipped, and anything but an array (or nothing)
/// reads as empty.
pub fn string_list(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::string_list;

    #[test]
    fn strings_of_an_array_and_empty_otherwise() {
        let list = json!(["a", 1, "b", null]);
        assert_eq!(string_list(Some(&list)), ["a", "b"]);
        assert!(string_list(Some(&json!("a"))).is_empty());
        assert!(string_list(None).is_empty());
    }
}
