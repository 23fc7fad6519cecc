//! Swagger 2.0 JSON -> gnostic `openapi.v2.Document`, following gnostic's `ParseDocument`.

use serde_json::{Map, Value};

use super::proto::*;

fn string(map: &Map<String, Value>, key: &str) -> String {
    map.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn strings(map: &Map<String, Value>, key: &str) -> Vec<String> {
    match map.get(key) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

fn boolean(map: &Map<String, Value>, key: &str) -> bool {
    map.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn float(map: &Map<String, Value>, key: &str) -> f64 {
    map.get(key).and_then(Value::as_f64).unwrap_or(0.0)
}

fn integer(map: &Map<String, Value>, key: &str) -> i64 {
    map.get(key).and_then(Value::as_i64).unwrap_or(0)
}

/// A JSON value as gnostic's `Any`: its YAML text.
fn any(value: &Value) -> Any {
    Any {
        yaml: serde_yaml::to_string(value).unwrap_or_else(|_| value.to_string()),
    }
}

fn optional_any(map: &Map<String, Value>, key: &str) -> Option<Any> {
    map.get(key).map(any)
}

/// Every `x-` key of an object, in key order.
fn vendor_extensions(map: &Map<String, Value>) -> Vec<NamedAny> {
    map.iter()
        .filter(|(k, _)| k.starts_with("x-"))
        .map(|(k, v)| NamedAny {
            name: k.clone(),
            value: Some(any(v)),
        })
        .collect()
}

/// Converts a Swagger 2.0 JSON document to the gnostic message.
pub fn document_from_json(json: &Value) -> Document {
    let doc = object(json);
    let info = doc.get("info").map(|info| {
        let info = object(info);
        Info {
            title: string(info, "title"),
            version: string(info, "version"),
            description: string(info, "description"),
            vendor_extension: vendor_extensions(info),
        }
    });
    let paths = doc.get("paths").map(|paths| {
        let paths = object(paths);
        Paths {
            vendor_extension: vendor_extensions(paths),
            path: paths
                .iter()
                .filter(|(k, _)| !k.starts_with("x-"))
                .map(|(name, item)| NamedPathItem {
                    name: name.clone(),
                    value: Some(path_item(object(item))),
                })
                .collect(),
        }
    });
    let definitions = doc.get("definitions").map(|defs| Definitions {
        additional_properties: object(defs)
            .iter()
            .map(|(name, s)| NamedSchema {
                name: name.clone(),
                value: Some(schema(s)),
            })
            .collect(),
    });
    let parameters = doc.get("parameters").map(|params| ParameterDefinitions {
        additional_properties: object(params)
            .iter()
            .filter_map(|(name, p)| {
                parameter(object(p)).map(|value| NamedParameter {
                    name: name.clone(),
                    value: Some(value),
                })
            })
            .collect(),
    });
    let security = match doc.get("security") {
        Some(Value::Array(reqs)) => reqs
            .iter()
            .map(|r| security_requirement(object(r)))
            .collect(),
        _ => Vec::new(),
    };
    let security_definitions = doc
        .get("securityDefinitions")
        .map(|defs| SecurityDefinitions {
            additional_properties: object(defs)
                .iter()
                .filter_map(|(name, d)| {
                    let d = object(d);
                    (d.get("type").and_then(Value::as_str) == Some("apiKey")).then(|| {
                        NamedSecurityDefinitionsItem {
                            name: name.clone(),
                            value: Some(SecurityDefinitionsItem {
                                oneof: Some(SecurityDefinitionsKind::ApiKeySecurity(
                                    ApiKeySecurity {
                                        r#type: string(d, "type"),
                                        name: string(d, "name"),
                                        r#in: string(d, "in"),
                                        description: string(d, "description"),
                                        vendor_extension: vendor_extensions(d),
                                    },
                                )),
                            }),
                        }
                    })
                })
                .collect(),
        });
    Document {
        swagger: string(doc, "swagger"),
        info,
        host: string(doc, "host"),
        base_path: string(doc, "basePath"),
        schemes: strings(doc, "schemes"),
        consumes: strings(doc, "consumes"),
        produces: strings(doc, "produces"),
        paths,
        definitions,
        parameters,
        security,
        security_definitions,
        vendor_extension: vendor_extensions(doc),
    }
}

fn security_requirement(req: &Map<String, Value>) -> SecurityRequirement {
    SecurityRequirement {
        additional_properties: req
            .iter()
            .map(|(name, scopes)| NamedStringArray {
                name: name.clone(),
                value: Some(StringArray {
                    value: scopes
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(Value::as_str)
                                .map(str::to_string)
                                .collect()
                        })
                        .unwrap_or_default(),
                }),
            })
            .collect(),
    }
}

fn path_item(item: &Map<String, Value>) -> PathItem {
    let op = |key: &str| item.get(key).map(|o| operation(object(o)));
    PathItem {
        r#ref: string(item, "$ref"),
        get: op("get"),
        put: op("put"),
        post: op("post"),
        delete: op("delete"),
        options: op("options"),
        head: op("head"),
        patch: op("patch"),
        parameters: parameters_items(item.get("parameters")),
        vendor_extension: vendor_extensions(item),
    }
}

fn parameters_items(params: Option<&Value>) -> Vec<ParametersItem> {
    let Some(Value::Array(params)) = params else {
        return Vec::new();
    };
    params
        .iter()
        .filter_map(|p| {
            let p = object(p);
            if let Some(reference) = p.get("$ref").and_then(Value::as_str) {
                return Some(ParametersItem {
                    oneof: Some(ParametersItemKind::JsonReference(JsonReference {
                        r#ref: reference.to_string(),
                        description: string(p, "description"),
                    })),
                });
            }
            parameter(p).map(|param| ParametersItem {
                oneof: Some(ParametersItemKind::Parameter(param)),
            })
        })
        .collect()
}

/// A parameter object; `None` for locations a Kubernetes document never uses (header, formData).
fn parameter(p: &Map<String, Value>) -> Option<Parameter> {
    let kind = match p.get("in").and_then(Value::as_str)? {
        "body" => ParameterKind::BodyParameter(BodyParameter {
            description: string(p, "description"),
            name: string(p, "name"),
            r#in: "body".to_string(),
            required: boolean(p, "required"),
            schema: p.get("schema").map(schema),
            vendor_extension: vendor_extensions(p),
        }),
        "query" => ParameterKind::NonBodyParameter(NonBodyParameter {
            oneof: Some(NonBodyParameterKind::QueryParameterSubSchema(
                QueryParameterSubSchema {
                    required: boolean(p, "required"),
                    r#in: "query".to_string(),
                    description: string(p, "description"),
                    name: string(p, "name"),
                    r#type: string(p, "type"),
                    format: string(p, "format"),
                    unique_items: boolean(p, "uniqueItems"),
                    vendor_extension: vendor_extensions(p),
                },
            )),
        }),
        "path" => ParameterKind::NonBodyParameter(NonBodyParameter {
            oneof: Some(NonBodyParameterKind::PathParameterSubSchema(
                PathParameterSubSchema {
                    required: boolean(p, "required"),
                    r#in: "path".to_string(),
                    description: string(p, "description"),
                    name: string(p, "name"),
                    r#type: string(p, "type"),
                    format: string(p, "format"),
                    unique_items: boolean(p, "uniqueItems"),
                    vendor_extension: vendor_extensions(p),
                },
            )),
        }),
        _ => return None,
    };
    Some(Parameter { oneof: Some(kind) })
}

fn operation(op: &Map<String, Value>) -> Operation {
    let responses = op.get("responses").map(|responses| {
        let responses = object(responses);
        Responses {
            response_code: responses
                .iter()
                .filter(|(k, _)| !k.starts_with("x-"))
                .map(|(code, r)| {
                    let r = object(r);
                    let value = match r.get("$ref").and_then(Value::as_str) {
                        Some(reference) => ResponseValueKind::JsonReference(JsonReference {
                            r#ref: reference.to_string(),
                            description: string(r, "description"),
                        }),
                        None => ResponseValueKind::Response(Response {
                            description: string(r, "description"),
                            schema: r.get("schema").map(|s| SchemaItem {
                                oneof: Some(SchemaItemKind::Schema(schema(s))),
                            }),
                            vendor_extension: vendor_extensions(r),
                        }),
                    };
                    NamedResponseValue {
                        name: code.clone(),
                        value: Some(ResponseValue { oneof: Some(value) }),
                    }
                })
                .collect(),
            vendor_extension: vendor_extensions(responses),
        }
    });
    Operation {
        tags: strings(op, "tags"),
        summary: string(op, "summary"),
        description: string(op, "description"),
        operation_id: string(op, "operationId"),
        produces: strings(op, "produces"),
        consumes: strings(op, "consumes"),
        parameters: parameters_items(op.get("parameters")),
        responses,
        schemes: strings(op, "schemes"),
        deprecated: boolean(op, "deprecated"),
        vendor_extension: vendor_extensions(op),
    }
}

/// A JSON schema object as `openapi.v2.Schema`.
pub(crate) fn schema(value: &Value) -> Schema {
    let s = object(value);
    let additional_properties = s.get("additionalProperties").map(|ap| {
        let kind = match ap {
            Value::Bool(b) => AdditionalPropertiesKind::Boolean(*b),
            other => AdditionalPropertiesKind::Schema(schema(other)),
        };
        Box::new(AdditionalPropertiesItem { oneof: Some(kind) })
    });
    let items = s.get("items").map(|items| ItemsItem {
        schema: match items {
            Value::Array(list) => list.iter().map(schema).collect(),
            single => vec![schema(single)],
        },
    });
    let properties = s.get("properties").map(|props| Properties {
        additional_properties: object(props)
            .iter()
            .map(|(name, p)| NamedSchema {
                name: name.clone(),
                value: Some(schema(p)),
            })
            .collect(),
    });
    Schema {
        r#ref: string(s, "$ref"),
        format: string(s, "format"),
        title: string(s, "title"),
        description: string(s, "description"),
        default: optional_any(s, "default"),
        multiple_of: float(s, "multipleOf"),
        maximum: float(s, "maximum"),
        exclusive_maximum: boolean(s, "exclusiveMaximum"),
        minimum: float(s, "minimum"),
        exclusive_minimum: boolean(s, "exclusiveMinimum"),
        max_length: integer(s, "maxLength"),
        min_length: integer(s, "minLength"),
        pattern: string(s, "pattern"),
        max_items: integer(s, "maxItems"),
        min_items: integer(s, "minItems"),
        unique_items: boolean(s, "uniqueItems"),
        max_properties: integer(s, "maxProperties"),
        min_properties: integer(s, "minProperties"),
        required: strings(s, "required"),
        r#enum: s
            .get("enum")
            .and_then(Value::as_array)
            .map(|e| e.iter().map(any).collect())
            .unwrap_or_default(),
        additional_properties,
        r#type: s.get("type").map(|_| TypeItem {
            value: strings(s, "type"),
        }),
        items,
        all_of: s
            .get("allOf")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(schema).collect())
            .unwrap_or_default(),
        properties,
        read_only: boolean(s, "readOnly"),
        example: optional_any(s, "example"),
        vendor_extension: vendor_extensions(s),
    }
}

#[cfg(test)]
mod tests {
    use prost::Message;
    use serde_json::json;

    use super::*;

    #[test]
    fn schema_keeps_refs_types_and_extensions() {
        let s = schema(&json!({
            "type": "object",
            "required": ["spec"],
            "properties": {
                "spec": { "$ref": "#/definitions/X", "description": "d" },
                "list": { "type": "array", "items": { "type": "string" }, "x-kubernetes-patch-strategy": "merge" },
                "labels": { "type": "object", "additionalProperties": { "type": "string" } }
            },
            "x-kubernetes-group-version-kind": [{ "group": "apps", "kind": "Deployment", "version": "v1" }]
        }));
        assert_eq!(
            s.r#type.as_ref().map(|t| t.value.clone()),
            Some(vec!["object".to_string()])
        );
        let props = s
            .properties
            .as_ref()
            .map(|p| p.additional_properties.clone())
            .unwrap_or_default();
        let names: Vec<&str> = props.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["labels", "list", "spec"]);
        assert_eq!(
            props[2].value.as_ref().map(|v| v.r#ref.as_str()),
            Some("#/definitions/X")
        );
        let list = props[1].value.clone().unwrap_or_default();
        assert_eq!(list.vendor_extension[0].name, "x-kubernetes-patch-strategy");
        assert_eq!(
            list.vendor_extension[0]
                .value
                .as_ref()
                .map(|a| a.yaml.trim()),
            Some("merge")
        );
        let gvk_yaml = s.vendor_extension[0].value.clone().unwrap_or_default().yaml;
        let parsed: Vec<std::collections::BTreeMap<String, String>> =
            serde_yaml::from_str(&gvk_yaml).unwrap_or_default();
        assert_eq!(parsed[0]["kind"], "Deployment");
        // Encoding and decoding gives the same message back.
        let decoded = Schema::decode(s.encode_to_vec().as_slice()).ok();
        assert_eq!(decoded.as_ref(), Some(&s));
    }
}
