//! The typing part of a CRD version's schema: what telling a value's shape needs (server-side
//! apply's field sets, CEL's value types), without descriptions, validations or defaults, which
//! make up most of an operator's schema.

use serde_json::{Map, Value};

/// The keywords [`typing_schema`] keeps beside the nested schemas.
const TYPING_KEYWORDS: [&str; 8] = [
    "type",
    "format",
    "x-kubernetes-int-or-string",
    "x-kubernetes-embedded-resource",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-map-type",
];

/// `schema` with only its typing keywords, at every level of `properties`, `items` and
/// `additionalProperties`.
pub fn typing_schema(schema: &Value) -> Value {
    let Value::Object(map) = schema else {
        return schema.clone();
    };
    let mut kept = Map::new();
    for (key, value) in map {
        let value = match key.as_str() {
            "items" | "additionalProperties" => typing_schema(value),
            "properties" => match value {
                Value::Object(properties) => Value::Object(
                    properties
                        .iter()
                        .map(|(name, property)| (name.clone(), typing_schema(property)))
                        .collect(),
                ),
                other => other.clone(),
            },
            key if TYPING_KEYWORDS.contains(&key) => value.clone(),
            _ => continue,
        };
        kept.insert(key.clone(), value);
    }
    Value::Object(kept)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn keeps_types_and_list_semantics_and_drops_the_rest() {
        let schema = json!({
            "type": "object",
            "description": "A widget.",
            "required": ["spec"],
            "x-kubernetes-validations": [{"rule": "true"}],
            "properties": {
                "spec": {
                    "type": "object",
                    "default": {},
                    "properties": {
                        "ports": {
                            "type": "array",
                            "maxItems": 8,
                            "x-kubernetes-list-type": "map",
                            "x-kubernetes-list-map-keys": ["name"],
                            "items": {"type": "object", "description": "A port.",
                                "properties": {"name": {"type": "string", "pattern": "^[a-z]+$"}}},
                        },
                        "labels": {"type": "object", "x-kubernetes-map-type": "atomic",
                            "additionalProperties": {"type": "string", "maxLength": 63}},
                        "port": {"x-kubernetes-int-or-string": true, "anyOf": [{"type": "integer"}]},
                        "when": {"type": "string", "format": "date-time", "enum": ["x"]},
                    },
                },
            },
        });
        assert_eq!(
            typing_schema(&schema),
            json!({
                "type": "object",
                "properties": {
                    "spec": {
                        "type": "object",
                        "properties": {
                            "ports": {
                                "type": "array",
                                "x-kubernetes-list-type": "map",
                                "x-kubernetes-list-map-keys": ["name"],
                                "items": {"type": "object",
                                    "properties": {"name": {"type": "string"}}},
                            },
                            "labels": {"type": "object", "x-kubernetes-map-type": "atomic",
                                "additionalProperties": {"type": "string"}},
                            "port": {"x-kubernetes-int-or-string": true},
                            "when": {"type": "string", "format": "date-time"},
                        },
                    },
                },
            })
        );
    }
}
