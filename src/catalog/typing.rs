//! The typing part of a custom resource version's schema: what telling a value's shape needs
//! (server-side apply's field sets, CEL's value types), as a compact tree. Descriptions,
//! validations and defaults, most of an operator's schema, are not kept, and neither is the JSON
//! form, whose one-entry maps cost far more than these nodes.

use serde_json::Value;

use super::Name;

/// One node of a schema's typing tree.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Typing {
    /// `type` (empty when unset).
    pub type_: Name,
    pub format: Option<Name>,
    pub int_or_string: bool,
    pub embedded_resource: bool,
    pub preserve_unknown_fields: bool,
    /// `x-kubernetes-list-type`.
    pub list_type: Option<Name>,
    /// `x-kubernetes-list-map-keys`.
    pub list_map_keys: Vec<Name>,
    /// `x-kubernetes-map-type`.
    pub map_type: Option<Name>,
    /// `properties`, sorted by name; `None` when the schema declares none.
    pub properties: Option<Vec<(Name, Typing)>>,
    pub items: Option<Box<Typing>>,
    /// `additionalProperties` when it is a schema.
    pub additional_properties: Option<Box<Typing>>,
}

impl Typing {
    /// The typing tree of a JSON schema (`openAPIV3Schema`).
    pub fn from_schema(schema: &Value) -> Typing {
        let text = |key: &str| schema.get(key).and_then(Value::as_str).map(Name::new);
        let flag = |key: &str| schema.get(key).and_then(Value::as_bool).unwrap_or(false);
        let nested = |key: &str| {
            schema
                .get(key)
                .filter(|nested| nested.is_object())
                .map(|nested| Box::new(Typing::from_schema(nested)))
        };
        let properties = schema
            .get("properties")
            .and_then(Value::as_object)
            .map(|properties| {
                let mut properties: Vec<(Name, Typing)> = properties
                    .iter()
                    .map(|(name, property)| (Name::new(name), Typing::from_schema(property)))
                    .collect();
                properties.sort_by(|a, b| a.0.cmp(&b.0));
                properties
            });
        Typing {
            type_: text("type").unwrap_or_default(),
            format: text("format"),
            int_or_string: flag("x-kubernetes-int-or-string"),
            embedded_resource: flag("x-kubernetes-embedded-resource"),
            preserve_unknown_fields: flag("x-kubernetes-preserve-unknown-fields"),
            list_type: text("x-kubernetes-list-type"),
            list_map_keys: schema
                .get("x-kubernetes-list-map-keys")
                .and_then(Value::as_array)
                .map(|keys| {
                    keys.iter()
                        .filter_map(Value::as_str)
                        .map(Name::new)
                        .collect()
                })
                .unwrap_or_default(),
            map_type: text("x-kubernetes-map-type"),
            properties,
            items: nested("items"),
            additional_properties: nested("additionalProperties"),
        }
    }

    /// The declared property `name`.
    pub fn property(&self, name: &str) -> Option<&Typing> {
        let properties = self.properties.as_ref()?;
        properties
            .binary_search_by(|(declared, _)| declared.as_str().cmp(name))
            .ok()
            .map(|i| &properties[i].1)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn keeps_types_and_list_semantics_and_drops_the_rest() {
        let typing = Typing::from_schema(&json!({
            "type": "object",
            "description": "A widget.",
            "properties": {
                "spec": {
                    "type": "object",
                    "properties": {
                        "ports": {
                            "type": "array",
                            "x-kubernetes-list-type": "map",
                            "x-kubernetes-list-map-keys": ["name", "protocol"],
                            "items": {"type": "object",
                                "properties": {"name": {"type": "string", "pattern": "^[a-z]+$"}}},
                        },
                        "labels": {"type": "object", "x-kubernetes-map-type": "atomic",
                            "additionalProperties": {"type": "string", "maxLength": 63}},
                        "port": {"x-kubernetes-int-or-string": true},
                        "when": {"type": "string", "format": "date-time"},
                        "any": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                    },
                },
            },
        }));
        let spec = typing.property("spec").unwrap();
        let ports = spec.property("ports").unwrap();
        assert_eq!(ports.list_type.as_deref(), Some("map"));
        assert_eq!(ports.list_map_keys, ["name", "protocol"]);
        let item = ports.items.as_deref().unwrap();
        assert_eq!(item.property("name").unwrap().type_, "string");
        let labels = spec.property("labels").unwrap();
        assert_eq!(labels.map_type.as_deref(), Some("atomic"));
        assert_eq!(
            labels.additional_properties.as_deref().unwrap().type_,
            "string"
        );
        assert!(spec.property("port").unwrap().int_or_string);
        assert_eq!(
            spec.property("when").unwrap().format.as_deref(),
            Some("date-time")
        );
        assert!(spec.property("any").unwrap().preserve_unknown_fields);
        assert!(spec.property("missing").is_none());
        assert!(typing.items.is_none() && typing.properties.is_some());
        assert!(labels.properties.is_none());
    }
}
