//! Priority (`plugin/pkg/admission/priority/admission.go`): a new pod gets the priority of its
//! PriorityClass, or of the global default class.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{json, Value};

use super::service_account::{is_pods, pods};
use super::{Call, Plugin, PluginContext};
use crate::admission::attributes::WriteRequest;
use crate::api::status::{ApiError, ApiResult};
use crate::config::ConfigError;
use crate::registry::admission::AdmissionOperation;
use crate::registry::metadata::meta_str;
use crate::registry::store::Store;

/// The Priority plugin, over the PriorityClasses store.
pub struct PriorityPlugin {
    priority_classes: Arc<Store>,
}

/// Builds the plugin.
pub fn build(context: &PluginContext<'_>) -> Result<Arc<dyn Plugin>, ConfigError> {
    let priority_classes = context
        .stores
        .by_resource("scheduling.k8s.io", "v1", "priorityclasses")
        .ok_or_else(|| ConfigError::new("admission", "Priority needs priorityclasses"))?;
    Ok(Arc::new(PriorityPlugin { priority_classes }))
}

#[async_trait]
impl Plugin for PriorityPlugin {
    fn handles(&self, request: &WriteRequest) -> bool {
        is_pods(request)
    }

    async fn admit(&self, call: &Call<'_>, pod: &mut Value, _old: Option<&Value>) -> ApiResult<()> {
        if call.attributes.operation != AdmissionOperation::Create {
            return Ok(());
        }
        self.priority(pod).await
    }
}

impl PriorityPlugin {
    /// The Priority plugin: a pod without `priorityClassName` gets the global default class's
    /// value (0 and `PreemptLowerPriority` when there is none); a named class must exist and
    /// its value must match a `priority` the pod gives.
    async fn priority(&self, pod: &mut Value) -> ApiResult<()> {
        let name = meta_str(pod, "name").to_string();
        let class_name = pod
            .pointer("/spec/priorityClassName")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let classes = &self.priority_classes;
        let (class_name, priority, preemption) = if class_name.is_empty() {
            match global_default_class(classes).await? {
                Some(class) => (
                    meta_str(&class, "name").to_string(),
                    class.get("value").and_then(Value::as_i64).unwrap_or(0),
                    class
                        .get("preemptionPolicy")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                ),
                None => (String::new(), 0, Some("PreemptLowerPriority".to_string())),
            }
        } else {
            let found = match classes.get_listed(None, &class_name).await {
                Ok(class) => Some(class),
                Err(err) if err.status.code == 404 => None,
                Err(err) => return Err(err),
            };
            let Some(class) = found else {
                return Err(ApiError::forbidden(
                    &pods(),
                    &name,
                    &format!("no PriorityClass with name {class_name} was found"),
                ));
            };
            (
                class_name,
                class.get("value").and_then(Value::as_i64).unwrap_or(0),
                class
                    .get("preemptionPolicy")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            )
        };
        let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else {
            return Ok(());
        };
        if !class_name.is_empty() {
            spec.insert("priorityClassName".into(), json!(class_name));
        }
        if let Some(given) = spec.get("priority").and_then(Value::as_i64) {
            if given != priority {
                return Err(ApiError::forbidden(
                    &pods(),
                    &name,
                    &format!("the integer value of priority ({given}) must not be provided in pod spec; priority admission controller computed {priority} from the given PriorityClass name"),
                ));
            }
        }
        spec.insert("priority".into(), json!(priority));
        if let Some(computed) = preemption {
            if let Some(given) = spec.get("preemptionPolicy").and_then(Value::as_str) {
                if given != computed {
                    return Err(ApiError::forbidden(
                        &pods(),
                        &name,
                        &format!("the string value of PreemptionPolicy ({given}) must not be provided in pod spec; priority admission controller computed {computed} from the given PriorityClass name"),
                    ));
                }
            }
            spec.insert("preemptionPolicy".into(), json!(computed));
        }
        Ok(())
    }
}

/// The PriorityClass marked `globalDefault`, if any (the one with the highest value when
/// several are, as upstream picks).
async fn global_default_class(store: &Store) -> ApiResult<Option<Value>> {
    let classes = store.list_listed(None).await?;
    Ok(classes
        .into_iter()
        .filter(|c| c.get("globalDefault").and_then(Value::as_bool) == Some(true))
        .max_by_key(|c| c.get("value").and_then(Value::as_i64).unwrap_or(0)))
}
