//! RuntimeClass (`plugin/pkg/admission/runtimeclass/admission.go`): a new pod naming a
//! RuntimeClass gets its `overhead` and `scheduling` (node selector and tolerations); a pod may
//! only carry an overhead its RuntimeClass defines.

#[cfg(test)]
mod tests;

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{json, Value};

use super::common::forbidden;
use super::service_account::is_pods;
use super::{Call, Plugin, PluginContext};
use crate::admission::attributes::{Attributes, WriteRequest};
use crate::api::quantity::{milli_value, quantity_text};
use crate::api::status::ApiResult;
use crate::config::ConfigError;
use crate::registry::admission::AdmissionOperation;
use crate::registry::store::Store;

/// The RuntimeClass plugin, over the RuntimeClasses store.
pub struct RuntimeClassPlugin {
    runtime_classes: Arc<Store>,
}

/// Builds the plugin.
pub fn build(context: &PluginContext<'_>) -> Result<Arc<dyn Plugin>, ConfigError> {
    let runtime_classes = context
        .stores
        .by_resource("node.k8s.io", "v1", "runtimeclasses")
        .ok_or_else(|| ConfigError::new("admission", "RuntimeClass needs runtimeclasses"))?;
    Ok(Arc::new(RuntimeClassPlugin { runtime_classes }))
}

#[async_trait]
impl Plugin for RuntimeClassPlugin {
    fn handles(&self, request: &WriteRequest) -> bool {
        is_pods(request)
    }

    async fn admit(&self, call: &Call<'_>, pod: &mut Value, _old: Option<&Value>) -> ApiResult<()> {
        if call.attributes.operation != AdmissionOperation::Create {
            return Ok(());
        }
        let Some(class) = self.runtime_class(call.attributes, pod).await? else {
            return Ok(());
        };
        set_overhead(pod, &class).map_err(|why| forbidden(call.attributes, Some(pod), &why))?;
        set_scheduling(pod, &class).map_err(|why| forbidden(call.attributes, Some(pod), &why))
    }

    async fn validate(
        &self,
        call: &Call<'_>,
        pod: Option<&Value>,
        _old: Option<&Value>,
    ) -> ApiResult<()> {
        let Some(pod) = pod else {
            return Ok(());
        };
        if call.attributes.operation != AdmissionOperation::Create {
            return Ok(());
        }
        let class = self.runtime_class(call.attributes, pod).await?;
        validate_overhead(pod, class.as_ref())
            .map_err(|why| forbidden(call.attributes, Some(pod), &why))
    }
}

impl RuntimeClassPlugin {
    /// The RuntimeClass the pod names; `None` when it names none; 403 when it is missing.
    async fn runtime_class(
        &self,
        attributes: &Attributes,
        pod: &Value,
    ) -> ApiResult<Option<Value>> {
        let Some(name) = pod
            .pointer("/spec/runtimeClassName")
            .and_then(Value::as_str)
        else {
            return Ok(None);
        };
        match self.runtime_classes.get_listed(None, name).await {
            Ok(class) => Ok(Some(class)),
            Err(err) if err.status.code == 404 => Err(forbidden(
                attributes,
                Some(pod),
                &format!("pod rejected: RuntimeClass \"{name}\" not found"),
            )),
            Err(err) => Err(err),
        }
    }
}

const OVERHEAD_MISMATCH: &str =
    "pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead";

/// The class's `overhead.podFixed`, when it defines an overhead.
fn class_overhead(class: &Value) -> Option<Value> {
    let overhead = class.get("overhead").filter(|o| !o.is_null())?;
    Some(overhead.get("podFixed").cloned().unwrap_or(Value::Null))
}

/// Whether two resource lists hold the same quantities (`Semantic.DeepEqual`: `1` equals
/// `1000m`); a missing list equals an empty one.
fn same_resources(a: &Value, b: &Value) -> bool {
    let list = |v: &Value| -> Option<Vec<(String, Option<i128>)>> {
        let map = match v {
            Value::Null => return Some(Vec::new()),
            Value::Object(map) => map,
            _ => return None,
        };
        let mut entries: Vec<_> = map
            .iter()
            .map(|(k, v)| (k.clone(), quantity_text(v).and_then(|t| milli_value(&t))))
            .collect();
        entries.sort();
        Some(entries)
    };
    list(a).is_some() && list(a) == list(b)
}

/// A non-empty `spec.overhead` of the pod.
fn pod_overhead(pod: &Value) -> Option<&Value> {
    pod.pointer("/spec/overhead")
        .filter(|o| o.as_object().is_some_and(|m| !m.is_empty()))
}

/// `setOverhead`: the pod gets the class's overhead; one it already has must match.
pub fn set_overhead(pod: &mut Value, class: &Value) -> Result<(), String> {
    let Some(fixed) = class_overhead(class) else {
        return Ok(());
    };
    if pod_overhead(pod).is_some_and(|own| !same_resources(&fixed, own)) {
        return Err(OVERHEAD_MISMATCH.into());
    }
    if let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) {
        if fixed.is_null() {
            spec.remove("overhead");
        } else {
            spec.insert("overhead".into(), fixed);
        }
    }
    Ok(())
}

/// `setScheduling`: the class's node selector joins the pod's (a different value for a key is
/// a conflict) and its tolerations are merged into the pod's.
pub fn set_scheduling(pod: &mut Value, class: &Value) -> Result<(), String> {
    let Some(scheduling) = class.get("scheduling").filter(|s| !s.is_null()) else {
        return Ok(());
    };
    let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else {
        return Ok(());
    };
    let wanted = scheduling.get("nodeSelector").and_then(Value::as_object);
    match spec.get_mut("nodeSelector").and_then(Value::as_object_mut) {
        Some(own) => {
            for (key, value) in wanted.into_iter().flatten() {
                if let Some(have) = own.get(key).filter(|have| *have != value) {
                    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
                    return Err(format!(
                        "conflict: runtimeClass.scheduling.nodeSelector[{key}] = {}; pod.spec.nodeSelector[{key}] = {}",
                        text(value),
                        text(have)
                    ));
                }
                own.insert(key.clone(), value.clone());
            }
        }
        None => {
            if let Some(wanted) = wanted {
                spec.insert("nodeSelector".into(), Value::Object(wanted.clone()));
            }
        }
    }
    let mut all: Vec<Value> = spec
        .get("tolerations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    all.extend(
        scheduling
            .get("tolerations")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default(),
    );
    let merged = merge_tolerations(&all);
    if merged.is_empty() {
        spec.remove("tolerations");
    } else {
        spec.insert("tolerations".into(), json!(merged));
    }
    Ok(())
}

/// `tolerations.MergeTolerations`: `all` without the tolerations another one covers (of equal
/// ones, the first is kept).
pub fn merge_tolerations(all: &[Value]) -> Vec<Value> {
    let mut merged: Vec<Value> = Vec::new();
    'next: for (i, t) in all.iter().enumerate() {
        if merged.iter().any(|kept| is_superset(kept, t)) {
            continue;
        }
        for later in &all[i + 1..] {
            if !same_toleration(t, later) && is_superset(later, t) {
                continue 'next;
            }
        }
        merged.push(t.clone());
    }
    merged
}

fn field<'a>(toleration: &'a Value, name: &str) -> &'a str {
    toleration.get(name).and_then(Value::as_str).unwrap_or("")
}

fn seconds(toleration: &Value) -> Option<i64> {
    toleration.get("tolerationSeconds").and_then(Value::as_i64)
}

fn same_toleration(a: &Value, b: &Value) -> bool {
    ["key", "operator", "value", "effect"]
        .iter()
        .all(|f| field(a, f) == field(b, f))
        && seconds(a) == seconds(b)
}

/// `isSuperset`: whether `ss` tolerates everything `t` does.
fn is_superset(ss: &Value, t: &Value) -> bool {
    if same_toleration(ss, t) {
        return true;
    }
    if field(t, "key") != field(ss, "key")
        && (!field(ss, "key").is_empty() || field(ss, "operator") != "Exists")
    {
        return false;
    }
    if field(t, "effect") != field(ss, "effect") && !field(ss, "effect").is_empty() {
        return false;
    }
    if field(ss, "effect") == "NoExecute" {
        if let Some(limit) = seconds(ss) {
            if seconds(t).is_none_or(|s| s > limit) {
                return false;
            }
        }
    }
    match field(ss, "operator") {
        "Equal" | "" => field(t, "operator") == "Equal" && field(t, "value") == field(ss, "value"),
        "Exists" => true,
        _ => false,
    }
}

/// `validateOverhead`: a pod's overhead must be its class's.
pub fn validate_overhead(pod: &Value, class: Option<&Value>) -> Result<(), String> {
    let Some(own) = pod_overhead(pod) else {
        return Ok(());
    };
    match class.and_then(class_overhead) {
        Some(fixed) if same_resources(&fixed, own) => Ok(()),
        Some(_) => Err(OVERHEAD_MISMATCH.into()),
        None => Err(
            "pod rejected: Pod Overhead set without corresponding RuntimeClass defined Overhead"
                .into(),
        ),
    }
}
