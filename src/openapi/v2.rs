//! The OpenAPI v2 (Swagger 2.0) document served at `/openapi/v2`: every path of every served
//! group/version, and every definition.
//!
//! Parameters are written inline in each operation (upstream factors the shared ones into the
//! top-level `parameters` section under hashed names; clients such as kubectl's query-parameter
//! verifier read both forms).

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::params::{Location, Parameter};
use super::paths::{Operation, PathItem, Payload};

const V2_PREFIX: &str = "#/definitions/";

/// The rendered v2 path items of some paths, keyed by path.
pub(crate) fn path_items(paths: &[PathItem]) -> BTreeMap<String, Value> {
    paths
        .iter()
        .map(|p| (p.path.clone(), path_item(p)))
        .collect()
}

/// The whole v2 document from rendered path items and v2 definitions.
pub(crate) fn document<'a>(
    paths: impl IntoIterator<Item = (&'a String, &'a Value)>,
    definitions: impl IntoIterator<Item = (&'a String, &'a Value)>,
    server_version: &str,
) -> Value {
    let paths: Map<String, Value> = paths
        .into_iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let definitions: Map<String, Value> = definitions
        .into_iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    json!({
        "swagger": "2.0",
        "info": { "title": "Kubernetes", "version": server_version },
        "paths": paths,
        "definitions": definitions,
        "security": [{ "BearerToken": [] }],
        "securityDefinitions": {
            "BearerToken": {
                "description": "Bearer Token authentication",
                "in": "header",
                "name": "authorization",
                "type": "apiKey"
            }
        }
    })
}

fn payload_schema(payload: &Payload) -> Value {
    match payload {
        Payload::Definition(name) => json!({ "$ref": format!("{V2_PREFIX}{name}") }),
        Payload::Text => json!({ "type": "string" }),
        Payload::AnyObject => json!({ "type": "object" }),
    }
}

fn parameter(p: &Parameter) -> Value {
    let mut out = json!({
        "description": p.description,
        "in": p.location.as_str(),
        "name": p.name,
        "type": p.json_type,
        "uniqueItems": true
    });
    if p.required || p.location == Location::Path {
        out["required"] = Value::Bool(true);
    }
    out
}

fn operation(op: &Operation) -> Value {
    let mut out = Map::new();
    let mut parameters = Vec::new();
    if let Some(body) = &op.body {
        out.insert("consumes".into(), json!(body.consumes));
        let mut param =
            json!({ "in": "body", "name": "body", "schema": payload_schema(&body.payload) });
        if body.required {
            param["required"] = Value::Bool(true);
        }
        parameters.push(param);
        out.insert("x-codegen-request-body-name".into(), json!("body"));
    } else if op.action == "connect" {
        out.insert("consumes".into(), json!(["*/*"]));
    }
    parameters.extend(op.parameters.iter().map(parameter));
    out.insert("description".into(), Value::String(op.description.clone()));
    out.insert("operationId".into(), Value::String(op.operation_id.clone()));
    if !parameters.is_empty() {
        out.insert("parameters".into(), Value::Array(parameters));
    }
    out.insert("produces".into(), json!(op.produces));
    let responses: Map<String, Value> = op
        .responses
        .iter()
        .map(|r| {
            let mut response = json!({ "description": r.description });
            if let Some(payload) = &r.payload {
                response["schema"] = payload_schema(payload);
            }
            (r.code.to_string(), response)
        })
        .collect();
    out.insert("responses".into(), Value::Object(responses));
    out.insert("schemes".into(), json!(["https"]));
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
    use super::*;
    use crate::openapi::paths::{Method, RequestBody, Response, PATCH_MEDIA_TYPES};

    #[test]
    fn patch_operation_has_body_and_inline_query_parameters() {
        let op = Operation {
            method: Method::Patch,
            operation_id: "patchAppsV1NamespacedDeployment".into(),
            description: "partially update the specified Deployment".into(),
            tag: "apps_v1".into(),
            action: "patch",
            gvk: None,
            parameters: crate::openapi::params::patch_options(),
            body: Some(RequestBody {
                payload: Payload::Definition("io.k8s.apimachinery.pkg.apis.meta.v1.Patch".into()),
                required: true,
                consumes: PATCH_MEDIA_TYPES,
            }),
            produces: &["application/json"],
            responses: vec![Response {
                code: 200,
                description: "OK",
                payload: Some(Payload::Text),
            }],
        };
        let rendered = operation(&op);
        let params = rendered["parameters"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(params[0]["in"], "body");
        assert_eq!(
            params[0]["schema"]["$ref"],
            "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Patch"
        );
        assert!(params
            .iter()
            .any(|p| p["name"] == "fieldValidation" && p["in"] == "query"));
        assert_eq!(rendered["consumes"], json!(PATCH_MEDIA_TYPES));
        assert_eq!(rendered["responses"]["200"]["schema"]["type"], "string");
    }
}
