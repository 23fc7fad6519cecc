//! LimitRanger (`plugin/pkg/admission/limitranger/admission.go`): the LimitRanges of the
//! namespace give new pods' containers default requests and limits, and bound what pods and
//! PersistentVolumeClaims may ask for.

mod constraints;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{json, Map, Value};

use self::constraints::{
    max_constraint, max_request_constraint, min_constraint, pod_total, ratio_constraint, resources,
    Resources,
};
use super::common::{forbidden, list_all};
use super::{Call, Plugin, PluginContext};
use crate::admission::attributes::{Attributes, WriteRequest};
use crate::api::quantity::{canonical, quantity_text};
use crate::api::status::ApiResult;
use crate::config::ConfigError;
use crate::registry::admission::AdmissionOperation;
use crate::registry::store::Store;

/// The annotation naming what the plugin defaulted.
pub const ANNOTATION: &str = "kubernetes.io/limit-ranger";

/// The LimitRanger plugin, over the LimitRanges store.
pub struct LimitRangerPlugin {
    limit_ranges: Arc<Store>,
}

/// Builds the plugin.
pub fn build(context: &PluginContext<'_>) -> Result<Arc<dyn Plugin>, ConfigError> {
    let limit_ranges = context
        .stores
        .by_resource("", "v1", "limitranges")
        .ok_or_else(|| ConfigError::new("admission", "LimitRanger needs limitranges"))?;
    Ok(Arc::new(LimitRangerPlugin { limit_ranges }))
}

/// What the plugin acts on (upstream's `SupportsAttributes`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Pod,
    Claim,
}

fn target(attributes: &Attributes) -> Option<Target> {
    let operation = attributes.operation;
    if !matches!(
        operation,
        AdmissionOperation::Create | AdmissionOperation::Update
    ) || !attributes.resource.group.is_empty()
    {
        return None;
    }
    let resource = attributes.resource.resource.as_str();
    match (resource, attributes.subresource.as_str()) {
        // In-place resize changes container resources.
        ("pods", "resize") if operation == AdmissionOperation::Update => Some(Target::Pod),
        // Containers are immutable, so pod updates are not limited.
        ("pods", "") if operation == AdmissionOperation::Create => Some(Target::Pod),
        ("persistentvolumeclaims", "") => Some(Target::Claim),
        _ => None,
    }
}

#[async_trait]
impl Plugin for LimitRangerPlugin {
    fn handles(&self, request: &WriteRequest) -> bool {
        request.resource.group.is_empty()
            && matches!(
                (
                    request.resource.resource.as_str(),
                    request.subresource.as_str()
                ),
                ("pods", "") | ("pods", "resize") | ("persistentvolumeclaims", "")
            )
    }

    async fn admit(&self, call: &Call<'_>, obj: &mut Value, old: Option<&Value>) -> ApiResult<()> {
        if target(call.attributes) != Some(Target::Pod) || is_deleting(old) {
            return Ok(());
        }
        for limit_range in self.limit_ranges(call.attributes, obj).await? {
            set_defaults(&limit_range, obj);
        }
        Ok(())
    }

    async fn validate(
        &self,
        call: &Call<'_>,
        obj: Option<&Value>,
        old: Option<&Value>,
    ) -> ApiResult<()> {
        let (Some(target), Some(obj)) = (target(call.attributes), obj) else {
            return Ok(());
        };
        if is_deleting(old) {
            return Ok(());
        }
        for limit_range in self.limit_ranges(call.attributes, obj).await? {
            let errors = match target {
                Target::Pod => validate_pod(&limit_range, obj),
                Target::Claim => validate_claim(&limit_range, obj),
            };
            if let Some(message) = aggregate(errors) {
                return Err(forbidden(call.attributes, Some(obj), &message));
            }
        }
        Ok(())
    }
}

/// Objects being deleted are left alone.
fn is_deleting(old: Option<&Value>) -> bool {
    old.and_then(|o| o.pointer("/metadata/deletionTimestamp"))
        .is_some_and(|t| !t.is_null())
}

impl LimitRangerPlugin {
    /// The LimitRanges of the request's namespace, with upstream's decoding defaults.
    async fn limit_ranges(&self, attributes: &Attributes, obj: &Value) -> ApiResult<Vec<Value>> {
        let namespace = attributes.namespace.as_str();
        let items = list_all(&self.limit_ranges, Some(namespace))
            .await
            .map_err(|err| forbidden(attributes, Some(obj), &err.status.message))?;
        Ok(items.into_iter().map(with_item_defaults).collect())
    }
}

/// `SetDefaults_LimitRangeItem`, which upstream applies when it decodes a LimitRange: for
/// Container items a missing `default` is `max`, a missing `defaultRequest` is `default`, else
/// `min`.
fn with_item_defaults(mut limit_range: Value) -> Value {
    let items = limit_range
        .pointer_mut("/spec/limits")
        .and_then(Value::as_array_mut);
    for item in items.into_iter().flatten() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        if item.get("type").and_then(Value::as_str) != Some("Container") {
            continue;
        }
        let fill = |item: &mut Map<String, Value>, into: &str, from: &str| {
            let source = item.get(from).and_then(Value::as_object).cloned();
            let target = item.entry(into).or_insert_with(|| json!({}));
            if let (Some(source), Some(target)) = (source, target.as_object_mut()) {
                for (name, value) in source {
                    target.entry(name).or_insert(value);
                }
            }
        };
        fill(item, "default", "max");
        fill(item, "defaultRequest", "default");
        fill(item, "defaultRequest", "min");
    }
    limit_range
}

/// The limit items of a LimitRange of type `kind`.
fn items<'a>(limit_range: &'a Value, kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    limit_range
        .pointer("/spec/limits")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(move |item| item.get("type").and_then(Value::as_str) == Some(kind))
}

/// `PodMutateLimitFunc`: containers and init containers get the Container items' `default`
/// limits and `defaultRequest` requests they lack, and the pod an annotation saying so.
pub fn set_defaults(limit_range: &Value, pod: &mut Value) {
    let (mut requests, mut limits) = (Map::new(), Map::new());
    for item in items(limit_range, "Container") {
        let copy = |into: &mut Map<String, Value>, field: &str| {
            for (name, value) in item
                .get(field)
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                let text = quantity_text(value).and_then(|t| canonical(&t, false));
                into.insert(
                    name.clone(),
                    text.map_or_else(|| value.clone(), Value::String),
                );
            }
        };
        copy(&mut requests, "defaultRequest");
        copy(&mut limits, "default");
    }
    let mut notes = Vec::new();
    for (key, prefix) in [
        ("containers", "container"),
        ("initContainers", "init container"),
    ] {
        let containers = pod
            .pointer_mut(&format!("/spec/{key}"))
            .and_then(Value::as_array_mut);
        for container in containers.into_iter().flatten() {
            let name = container
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let set_limits = fill_missing(container, "limits", &limits);
            let set_requests = fill_missing(container, "requests", &requests);
            if !set_requests.is_empty() {
                notes.push(format!(
                    "{} request for {prefix} {name}",
                    set_requests.join(", ")
                ));
            }
            if !set_limits.is_empty() {
                notes.push(format!(
                    "{} limit for {prefix} {name}",
                    set_limits.join(", ")
                ));
            }
        }
    }
    if notes.is_empty() {
        return;
    }
    let Some(metadata) = pod.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let annotations = metadata.entry("annotations").or_insert_with(|| json!({}));
    if annotations.is_null() {
        *annotations = json!({});
    }
    if let Some(annotations) = annotations.as_object_mut() {
        let value = format!("LimitRanger plugin set: {}", notes.join("; "));
        annotations.insert(ANNOTATION.into(), Value::String(value));
    }
}

/// Adds the `defaults` the container's `resources.<field>` lacks; the names added, sorted.
fn fill_missing(container: &mut Value, field: &str, defaults: &Map<String, Value>) -> Vec<String> {
    let Some(container) = container.as_object_mut() else {
        return Vec::new();
    };
    let missing: Vec<(&String, &Value)> = defaults
        .iter()
        .filter(|(name, _)| {
            container
                .get("resources")
                .and_then(|r| r.get(field))
                .and_then(|list| list.get(name.as_str()))
                .is_none()
        })
        .collect();
    if missing.is_empty() {
        return Vec::new();
    }
    let resources = container.entry("resources").or_insert_with(|| json!({}));
    if !resources.is_object() {
        *resources = json!({});
    }
    let list = resources
        .as_object_mut()
        .map(|r| r.entry(field).or_insert_with(|| json!({})));
    let Some(list) = list else {
        return Vec::new();
    };
    if !list.is_object() {
        *list = json!({});
    }
    let mut names = Vec::new();
    if let Some(list) = list.as_object_mut() {
        for (name, value) in missing {
            list.insert(name.clone(), value.clone());
            names.push(name.clone());
        }
    }
    names.sort();
    names
}

/// Checks `requests`/`limits` against one limit item of type `kind`, in upstream's order: all
/// of `min`, then `max`, then `maxLimitRequestRatio`.
fn check(
    item: &Value,
    kind: &str,
    requests: &Resources,
    limits: &Resources,
    errors: &mut Vec<String>,
) {
    for (name, enforced) in resources(item.get("min")) {
        errors.extend(min_constraint(kind, &name, &enforced, requests, limits));
    }
    for (name, enforced) in resources(item.get("max")) {
        errors.extend(max_constraint(kind, &name, &enforced, requests, limits));
    }
    for (name, enforced) in resources(item.get("maxLimitRequestRatio")) {
        errors.extend(ratio_constraint(kind, &name, &enforced, requests, limits));
    }
}

/// `PodValidateLimitFunc`: each container and init container against the Container items, the
/// pod's totals against the Pod items.
pub fn validate_pod(limit_range: &Value, pod: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    let all = limit_range
        .pointer("/spec/limits")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    for item in all {
        match item.get("type").and_then(Value::as_str) {
            Some("Container") => {
                for key in ["containers", "initContainers"] {
                    let containers = pod
                        .pointer(&format!("/spec/{key}"))
                        .and_then(Value::as_array);
                    for container in containers.into_iter().flatten() {
                        let requests = resources(container.pointer("/resources/requests"));
                        let limits = resources(container.pointer("/resources/limits"));
                        check(item, "Container", &requests, &limits, &mut errors);
                    }
                }
            }
            Some("Pod") => {
                let requests = pod_total(pod, "requests");
                let limits = pod_total(pod, "limits");
                check(item, "Pod", &requests, &limits, &mut errors);
            }
            _ => {}
        }
    }
    errors
}

/// `PersistentVolumeClaimValidateLimitFunc`: the claim's storage requests against the
/// PersistentVolumeClaim items' `min` and `max`.
pub fn validate_claim(limit_range: &Value, claim: &Value) -> Vec<String> {
    let kind = "PersistentVolumeClaim";
    let requests = resources(claim.pointer("/spec/resources/requests"));
    let mut errors = Vec::new();
    for item in items(limit_range, kind) {
        for (name, enforced) in resources(item.get("min")) {
            errors.extend(min_constraint(
                kind,
                &name,
                &enforced,
                &requests,
                &Resources::new(),
            ));
        }
        for (name, enforced) in resources(item.get("max")) {
            errors.extend(max_request_constraint(kind, &name, &enforced, &requests));
        }
    }
    errors
}

/// `utilerrors.NewAggregate(errs).Error()`: one message alone, several (duplicates dropped)
/// in brackets; `None` for none.
pub fn aggregate(errors: Vec<String>) -> Option<String> {
    match errors.len() {
        0 => None,
        1 => errors.into_iter().next(),
        _ => {
            let mut seen: Vec<String> = Vec::new();
            for error in errors {
                if !seen.contains(&error) {
                    seen.push(error);
                }
            }
            let joined = seen.join(", ");
            Some(if seen.len() == 1 {
                joined
            } else {
                format!("[{joined}]")
            })
        }
    }
}
