//! Type-checks each ValidatingAdmissionPolicy against the schemas of the kinds it matches and
//! reports the result in its status, as upstream's `validatingadmissionpolicy-status-controller`:
//! `status.typeChecking.expressionWarnings` and `status.observedGeneration`, written whenever the
//! observed generation is behind. Built-in kinds are checked against their OpenAPI definitions;
//! custom resources are not checked.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::admission::policy::type_check;
use crate::catalog::definitions::{definition, definition_for_gvk, REF_PREFIX};
use crate::controllers::watch_loop;
use crate::registry::metadata::meta_str;
use crate::registry::options::{ListOptions, WriteOptions};
use crate::registry::store::Store;

/// The pause before a failed pass runs again.
const RETRY: Duration = Duration::from_secs(2);

/// Follows the policies' store until the task is dropped.
pub async fn run(policies: Arc<Store>) {
    let store = policies.clone();
    watch_loop::run(policies, "policy-type-checking", RETRY, move || {
        let store = store.clone();
        async move { pass(&store).await }
    })
    .await;
}

/// Writes the status of every policy whose observed generation is behind; whether to retry.
async fn pass(store: &Store) -> bool {
    let listed = match store.list(None, &ListOptions::default()).await {
        Ok(listed) => listed,
        Err(err) => {
            tracing::warn!(error = %err, "cannot list the ValidatingAdmissionPolicies");
            return true;
        }
    };
    let mut retry = false;
    for policy in listed.items {
        let generation = policy.pointer("/metadata/generation").cloned();
        if policy.pointer("/status/observedGeneration") == generation.as_ref() {
            continue;
        }
        let warnings = type_check(&policy, &builtin_schema);
        let name = meta_str(&policy, "name").to_string();
        let opts = WriteOptions {
            subresource: Some("status".into()),
            ..WriteOptions::default()
        };
        let written = store
            .guaranteed_update(None, &name, &opts, |current| {
                let mut next = current.clone();
                next["status"] = json!({
                    "observedGeneration": current.pointer("/metadata/generation"),
                    "typeChecking": {"expressionWarnings": warnings},
                });
                Ok(next)
            })
            .await;
        if let Err(err) = written {
            if err.status.code != 404 {
                tracing::warn!(policy = %name, error = %err, "cannot write the policy's status");
                retry = true;
            }
        }
    }
    retry
}

/// The schema of a built-in kind with its `$ref`s inlined (a definition met again below itself
/// is left untyped), as the type checker reads schemas.
fn builtin_schema(group: &str, version: &str, kind: &str) -> Option<Value> {
    let name = definition_for_gvk(group, version, kind)?;
    let mut path = HashSet::new();
    Some(inline(definition(name)?, &mut path, Some(name)))
}

fn inline<'a>(schema: &'a Value, path: &mut HashSet<&'a str>, name: Option<&'a str>) -> Value {
    if let Some(target) = schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix(REF_PREFIX))
    {
        return match definition(target) {
            Some(resolved) if !path.contains(target) => inline(resolved, path, Some(target)),
            _ => json!({}),
        };
    }
    if let Some(name) = name {
        path.insert(name);
    }
    let mut out = Map::new();
    for key in ["type", "format", "x-kubernetes-int-or-string"] {
        if let Some(value) = schema.get(key) {
            out.insert(key.into(), value.clone());
        }
    }
    if let Some(all_of) = schema.get("allOf").and_then(Value::as_array) {
        if let [only] = all_of.as_slice() {
            if let Value::Object(inner) = inline(only, path, None) {
                out.extend(inner);
            }
        }
    }
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        let inlined: Map<String, Value> = properties
            .iter()
            .map(|(key, property)| (key.clone(), inline(property, path, None)))
            .collect();
        out.insert("properties".into(), Value::Object(inlined));
    }
    for key in ["items", "additionalProperties"] {
        if let Some(child) = schema.get(key).filter(|child| child.is_object()) {
            out.insert(key.into(), inline(child, path, None));
        }
    }
    if let Some(name) = name {
        path.remove(name);
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_schemas_are_inlined_without_cycles() {
        let deployment = builtin_schema("apps", "v1", "Deployment").unwrap();
        assert_eq!(
            deployment.pointer("/properties/spec/properties/replicas/type"),
            Some(&json!("integer"))
        );
        let containers = deployment
            .pointer("/properties/spec/properties/template/properties/spec/properties/containers/items/properties/image/type");
        assert_eq!(containers, Some(&json!("string")));
        // JSONSchemaProps refers to itself: the inner reference is left untyped.
        let crd = builtin_schema("apiextensions.k8s.io", "v1", "CustomResourceDefinition").unwrap();
        assert!(crd
            .pointer("/properties/spec/properties/versions")
            .is_some());
    }

    #[test]
    fn a_misspelt_field_is_reported_against_the_schema() {
        let policy = json!({
            "metadata": {"name": "p", "generation": 1},
            "spec": {
                "matchConstraints": {"resourceRules": [{
                    "apiGroups": ["apps"], "apiVersions": ["v1"],
                    "operations": ["CREATE"], "resources": ["deployments"]
                }]},
                "validations": [{"expression": "object.spec.replica > 1"}]
            }
        });
        let warnings = type_check(&policy, &builtin_schema);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert_eq!(
            warnings[0]["fieldRef"],
            json!("spec.validations[0].expression")
        );
        let text = warnings[0]["warning"].as_str().unwrap();
        assert!(
            text.starts_with(
                "apps/v1, Kind=Deployment: ERROR: <input>:1:12: undefined field 'replica'"
            ),
            "{text}"
        );
    }
}
