//! OpenAPI 3.0 documents, one per group/version, as served under `/openapi/v3/<path>`.
//!
//! Each document holds the paths of its group/version and, under `components.schemas`, the
//! transitive closure of the definitions those paths refer to. Definitions arrive in OpenAPI v2
//! form (`#/definitions/` references); they are converted as kube-openapi converts them: references
//! move to `#/components/schemas/`, a reference with sibling keywords (a description, a default) is
//! wrapped in `allOf`, and `IntOrString` and `Quantity` become `oneOf` their JSON types.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use super::params::Parameter;
use super::paths::{Operation, PathItem, Payload};

const V2_PREFIX: &str = "#/definitions/";
const V3_PREFIX: &str = "#/components/schemas/";
const INT_OR_STRING: &str = "io.k8s.apimachinery.pkg.util.intstr.IntOrString";
const QUANTITY: &str = "io.k8s.apimachinery.pkg.api.resource.Quantity";

/// The OpenAPI 3.0 document of one group/version: `paths` rendered from `paths`, schemas taken
/// from `definitions` (v2 form). References to definitions absent from `definitions` are left as
/// they are (dangling) rather than failing the whole document.
pub(crate) fn document<'a>(
    paths: &[PathItem],
    definitions: &dyn Fn(&str) -> Option<&'a Value>,
    server_version: &str,
) -> Value {
    let roots = super::paths::referenced_definitions(paths);
    let schemas: Map<String, Value> = closure(&roots, definitions)
        .into_iter()
        .filter_map(|name| {
            definitions(&name).map(|schema| (name.clone(), convert_definition(&name, schema)))
        })
        .collect();
    let rendered: Map<String, Value> = paths
        .iter()
        .map(|p| (p.path.clone(), path_item(p)))
        .collect();
    json!({
        "openapi": "3.0.0",
        "info": { "title": "Kubernetes", "version": server_version },
        "paths": rendered,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "BearerToken": {
                    "description": "Bearer Token authentication",
                    "in": "header",
                    "name": "authorization",
                    "type": "apiKey"
                }
            }
        }
    })
}

/// The names of `roots` and of every definition they reach through `$ref`s.
pub(crate) fn closure<'a>(
    roots: &[String],
    definitions: &dyn Fn(&str) -> Option<&'a Value>,
) -> BTreeSet<String> {
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut pending: Vec<String> = roots.to_vec();
    while let Some(name) = pending.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        if let Some(schema) = definitions(&name) {
            collect_refs(schema, &mut |target| {
                if !seen.contains(target) {
                    pending.push(target.to_string());
                }
            });
        }
    }
    seen
}

/// Calls `found` with the definition name of every `#/definitions/` reference inside `schema`.
fn collect_refs(schema: &Value, found: &mut impl FnMut(&str)) {
    match schema {
        Value::Object(map) => {
            for (key, value) in map {
                if key == "$ref" {
                    if let Some(target) = value.as_str().and_then(|r| r.strip_prefix(V2_PREFIX)) {
                        found(target);
                    }
                } else if !is_opaque_keyword(key) {
                    collect_refs(value, found);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_refs(item, found)),
        _ => {}
    }
}

/// Keywords whose values are data, not schemas: never rewritten nor searched for references.
fn is_opaque_keyword(key: &str) -> bool {
    matches!(key, "default" | "example" | "enum") || key.starts_with("x-")
}

/// One definition in v3 form.
pub(crate) fn convert_definition(name: &str, schema: &Value) -> Value {
    let mut converted = convert_schema(schema);
    let one_of = match name {
        INT_OR_STRING => Some(["integer", "string"]),
        QUANTITY => Some(["string", "number"]),
        _ => None,
    };
    if let (Some(types), Value::Object(map)) = (one_of, &mut converted) {
        if !map.contains_key("oneOf") {
            map.remove("type");
            map.insert(
                "oneOf".into(),
                Value::Array(types.iter().map(|t| json!({ "type": t })).collect()),
            );
        }
    }
    converted
}

/// A v2 schema in v3 form: `$ref`s rewritten, and wrapped in `allOf` when they have siblings.
pub(crate) fn convert_schema(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => {
            let mut out = Map::with_capacity(map.len());
            let mut reference = None;
            for (key, value) in map {
                if key == "$ref" {
                    let target = value.as_str().map(|r| match r.strip_prefix(V2_PREFIX) {
                        Some(name) => format!("{V3_PREFIX}{name}"),
                        None => r.to_string(),
                    });
                    reference = Some(target.map(Value::String).unwrap_or_else(|| value.clone()));
                } else if is_opaque_keyword(key) {
                    out.insert(key.clone(), value.clone());
                } else {
                    out.insert(key.clone(), convert_schema(value));
                }
            }
            if let Some(reference) = reference {
                if out.is_empty() {
                    out.insert("$ref".into(), reference);
                } else {
                    out.insert("allOf".into(), json!([{ "$ref": reference }]));
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(convert_schema).collect()),
        other => other.clone(),
    }
}

fn payload_schema(payload: &Payload) -> Value {
    match payload {
        Payload::Definition(name) => json!({ "$ref": format!("{V3_PREFIX}{name}") }),
        Payload::Text => json!({ "type": "string" }),
        Payload::AnyObject => json!({ "type": "object" }),
    }
}

fn content(payload: &Payload, media_types: &[&str]) -> Value {
    let schema = payload_schema(payload);
    Value::Object(
        media_types
            .iter()
            .map(|mt| (mt.to_string(), json!({ "schema": schema })))
            .collect(),
    )
}

fn parameter(p: &Parameter) -> Value {
    let mut out = json!({
        "description": p.description,
        "in": p.location.as_str(),
        "name": p.name,
        "schema": { "type": p.json_type, "uniqueItems": true }
    });
    if p.required {
        out["required"] = Value::Bool(true);
    }
    out
}

fn operation(op: &Operation) -> Value {
    let mut out = Map::new();
    out.insert("description".into(), Value::String(op.description.clone()));
    out.insert("operationId".into(), Value::String(op.operation_id.clone()));
    if !op.parameters.is_empty() {
        out.insert(
            "parameters".into(),
            Value::Array(op.parameters.iter().map(parameter).collect()),
        );
    }
    if let Some(body) = &op.body {
        let mut request = json!({ "content": content(&body.payload, body.consumes) });
        if body.required {
            request["required"] = Value::Bool(true);
        }
        out.insert("requestBody".into(), request);
    }
    let responses: Map<String, Value> = op
        .responses
        .iter()
        .map(|r| {
            let mut response = json!({ "description": r.description });
            if let Some(payload) = &r.payload {
                response["content"] = content(payload, op.produces);
            }
            (r.code.to_string(), response)
        })
        .collect();
    out.insert("responses".into(), Value::Object(responses));
    out.insert("tags".into(), json!([op.tag]));
    if !op.action.is_empty() {
        out.insert(
            "x-kubernetes-action".into(),
            Value::String(op.action.to_string()),
        );
    }
    if let Some(gvk) = &op.gvk {
        out.insert("x-kubernetes-group-version-kind".into(), gvk.to_json());
    }
    Value::Object(out)
}

fn path_item(item: &PathItem) -> Value {
    let mut out = Map::new();
    for op in &item.operations {
        out.insert(op.method.key().to_string(), operation(op));
    }
    if !item.parameters.is_empty() {
        out.insert(
            "parameters".into(),
            Value::Array(item.parameters.iter().map(parameter).collect()),
        );
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn refs_with_siblings_are_wrapped_in_all_of() {
        let cases = [
            (
                json!({ "$ref": "#/definitions/A" }),
                json!({ "$ref": "#/components/schemas/A" }),
            ),
            (
                json!({ "$ref": "#/definitions/A", "description": "d", "default": {} }),
                json!({ "allOf": [{ "$ref": "#/components/schemas/A" }], "description": "d", "default": {} }),
            ),
            (
                json!({ "type": "array", "items": { "$ref": "#/definitions/B", "default": {} } }),
                json!({ "type": "array", "items": { "allOf": [{ "$ref": "#/components/schemas/B" }], "default": {} } }),
            ),
            (
                json!({ "type": "object", "additionalProperties": { "$ref": "#/definitions/C" } }),
                json!({ "type": "object", "additionalProperties": { "$ref": "#/components/schemas/C" } }),
            ),
            // Data keywords are left alone, even when they look like schemas.
            (
                json!({ "default": { "$ref": "#/definitions/A", "x": 1 } }),
                json!({ "default": { "$ref": "#/definitions/A", "x": 1 } }),
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(convert_schema(&input), expected, "{input}");
        }
    }

    #[test]
    fn int_or_string_and_quantity_become_one_of() {
        let ios = convert_definition(
            INT_OR_STRING,
            &json!({ "type": "string", "format": "int-or-string", "description": "d" }),
        );
        assert_eq!(
            ios,
            json!({ "format": "int-or-string", "description": "d", "oneOf": [{ "type": "integer" }, { "type": "string" }] })
        );
        let q = convert_definition(QUANTITY, &json!({ "type": "string", "description": "q" }));
        assert_eq!(
            q,
            json!({ "description": "q", "oneOf": [{ "type": "string" }, { "type": "number" }] })
        );
    }

    #[test]
    fn closure_follows_refs_transitively() {
        let defs: BTreeMap<String, Value> = [
            (
                "A".to_string(),
                json!({ "properties": { "b": { "$ref": "#/definitions/B" } } }),
            ),
            (
                "B".to_string(),
                json!({ "items": { "$ref": "#/definitions/C" } }),
            ),
            ("C".to_string(), json!({ "type": "string" })),
            ("D".to_string(), json!({ "type": "string" })),
        ]
        .into_iter()
        .collect();
        let names: Vec<String> = closure(&["A".to_string()], &|n| defs.get(n))
            .into_iter()
            .collect();
        assert_eq!(names, ["A", "B", "C"]);
    }
}
