//! `status.typeChecking` of a ValidatingAdmissionPolicy (upstream's `validating/typechecking.go`):
//! each validation's `expression` and `messageExpression` is checked with `object` and
//! `oldObject` typed from the schema of every kind the policy's `resourceRules` name (no
//! wildcards, no subresources, at most 10 kinds), and `params` from its `paramKind`'s schema.
//!
//! Differences from upstream: `request`, `namespaceObject` and `variables` are `dyn` (upstream
//! types them), so expressions misusing them are not warned about.

use serde_json::{json, Value};

use crate::apiextensions::cel::expression::type_issues;
use crate::catalog::builtin;

/// Upstream's `maxTypesToCheck`.
const MAX_TYPES: usize = 10;

/// A group, version and kind.
type Gvk = (String, String, String);

/// The `expressionWarnings` of `policy` (`{fieldRef, warning}`), for the kinds of the built-in
/// resources its rules name; `schema_of(group, version, kind)` gives a kind's JSON schema (with
/// inline properties), `None` when unknown (the kind is then not checked). Empty when every
/// expression checks.
pub fn type_check(
    policy: &Value,
    schema_of: &dyn Fn(&str, &str, &str) -> Option<Value>,
) -> Vec<Value> {
    let kind_of = |group: &str, version: &str, plural: &str| {
        builtin()
            .lookup(group, version, plural)
            .map(|info| info.kind.to_string())
    };
    type_check_with(policy, &kind_of, schema_of)
}

/// As [`type_check`], with `kind_of(group, version, plural)` resolving resources (custom ones
/// too).
pub fn type_check_with(
    policy: &Value,
    kind_of: &dyn Fn(&str, &str, &str) -> Option<String>,
    schema_of: &dyn Fn(&str, &str, &str) -> Option<Value>,
) -> Vec<Value> {
    let spec = policy.get("spec").unwrap_or(&Value::Null);
    let kinds: Vec<(Gvk, Value)> = kinds_to_check(spec, kind_of)
        .into_iter()
        .filter_map(|gvk| schema_of(&gvk.0, &gvk.1, &gvk.2).map(|schema| (gvk, schema)))
        .collect();
    if kinds.is_empty() {
        return Vec::new();
    }
    let params = spec
        .pointer("/paramKind/apiVersion")
        .and_then(Value::as_str)
        .and_then(|api_version| {
            let kind = spec.pointer("/paramKind/kind").and_then(Value::as_str)?;
            let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
            schema_of(group, version, kind).map(|schema| (schema, kind.to_string()))
        });
    let mut warnings = Vec::new();
    let validations = spec.get("validations").and_then(Value::as_array);
    for (index, validation) in validations.into_iter().flatten().enumerate() {
        for field in ["expression", "messageExpression"] {
            let Some(source) = validation.get(field).and_then(Value::as_str) else {
                continue;
            };
            if source.is_empty() {
                continue;
            }
            let results: Vec<String> = kinds
                .iter()
                .filter_map(|((group, version, kind), schema)| {
                    let issues = check(source, schema, kind, params.as_ref())?;
                    Some(format!("{group}/{version}, Kind={kind}: {issues}\n"))
                })
                .collect();
            if !results.is_empty() {
                warnings.push(json!({
                    "fieldRef": format!("spec.validations[{index}].{field}"),
                    "warning": results.join("\n"),
                }));
            }
        }
    }
    warnings
}

/// Whether a schema is to be typed as a resource root (`metadata` limited to `name` and
/// `generateName`): only when it does not declare `metadata` itself.
fn is_root(schema: &Value) -> bool {
    schema
        .pointer("/properties/metadata/properties")
        .and_then(Value::as_object)
        .is_none_or(|properties| properties.is_empty())
}

/// The issues of `source` with `object` and `oldObject` of `schema`.
fn check(
    source: &str,
    schema: &Value,
    kind: &str,
    params: Option<&(Value, String)>,
) -> Option<String> {
    let mut typed = vec![
        ("object", schema, is_root(schema)),
        ("oldObject", schema, is_root(schema)),
    ];
    if let Some((params, _)) = params {
        typed.push(("params", params, is_root(params)));
    }
    let dynamic = ["request", "namespaceObject", "variables", "authorizer"];
    type_issues(source, &dynamic, &typed, kind)
}

/// The kinds the policy's `resourceRules` name, sorted by group, version and kind (upstream's
/// `typesToCheck`): rules with a wildcard group or version are skipped, as are wildcard and
/// subresource entries.
fn kinds_to_check(spec: &Value, kind_of: &dyn Fn(&str, &str, &str) -> Option<String>) -> Vec<Gvk> {
    let list = |rule: &Value, key: &str| -> Vec<String> {
        let mut items: Vec<String> = rule
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        items.sort();
        items
    };
    let mut kinds: Vec<Gvk> = Vec::new();
    let rules = spec
        .pointer("/matchConstraints/resourceRules")
        .and_then(Value::as_array);
    for rule in rules.into_iter().flatten() {
        let groups = list(rule, "apiGroups");
        let versions = list(rule, "apiVersions");
        if groups.iter().chain(&versions).any(|g| g.contains('*')) {
            continue;
        }
        let resources: Vec<String> = list(rule, "resources")
            .into_iter()
            .filter(|r| !r.contains(['*', '/']))
            .collect();
        for group in &groups {
            for version in &versions {
                for resource in &resources {
                    let Some(kind) = kind_of(group, version, resource) else {
                        continue;
                    };
                    let gvk = (group.clone(), version.clone(), kind);
                    if !kinds.contains(&gvk) {
                        kinds.push(gvk);
                    }
                    if kinds.len() == MAX_TYPES {
                        kinds.sort();
                        return kinds;
                    }
                }
            }
        }
    }
    kinds.sort();
    kinds
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expressions_are_checked_against_each_matched_kind() {
        let policy = json!({"spec": {
            "matchConstraints": {"resourceRules": [{"apiGroups": ["apps"], "apiVersions": ["v1"],
                "operations": ["CREATE"], "resources": ["deployments", "deployments/scale"]}]},
            "validations": [
                {"expression": "object.spec.replicas > 1", "messageExpression": "'x'"},
                {"expression": "object.spec.replicaz > 1"}]}});
        let schema = json!({"type": "object", "properties": {
            "metadata": {"type": "object", "properties": {"name": {"type": "string"}, "labels": {"type": "object", "additionalProperties": {"type": "string"}}}},
            "spec": {"type": "object", "properties": {"replicas": {"type": "integer"}}}}});
        let schema_of = |group: &str, version: &str, kind: &str| {
            (group == "apps" && version == "v1" && kind == "Deployment").then(|| schema.clone())
        };
        let warnings = type_check(&policy, &schema_of);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert_eq!(warnings[0]["fieldRef"], "spec.validations[1].expression");
        let warning = warnings[0]["warning"].as_str().unwrap();
        assert!(
            warning.starts_with("apps/v1, Kind=Deployment: ERROR: <input>:1:"),
            "{warning}"
        );
        assert!(warning.contains("undefined field 'replicaz'"), "{warning}");
        let labels = json!({"spec": {"matchConstraints": policy["spec"]["matchConstraints"],
            "validations": [{"expression": "object.metadata.labels['a'] == 'b'"}]}});
        assert!(type_check(&labels, &schema_of).is_empty());
    }
}
