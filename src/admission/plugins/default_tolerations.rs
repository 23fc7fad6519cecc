//! DefaultTolerationSeconds (`plugin/pkg/admission/defaulttolerationseconds/admission.go`):
//! a new pod tolerates `not-ready` and `unreachable` nodes for 300 s unless it says otherwise.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{json, Value};

use super::service_account::is_pods;
use super::{Call, Plugin, PluginContext};
use crate::admission::attributes::WriteRequest;
use crate::api::status::ApiResult;
use crate::config::ConfigError;
use crate::registry::admission::AdmissionOperation;

/// Tolerations every pod gets unless it tolerates the taint already (300 s).
const DEFAULT_TOLERATION_SECONDS: i64 = 300;
const NOT_READY_TAINT: &str = "node.kubernetes.io/not-ready";
const UNREACHABLE_TAINT: &str = "node.kubernetes.io/unreachable";

/// The DefaultTolerationSeconds plugin.
pub struct DefaultTolerationSeconds;

/// Builds the plugin.
pub fn build(_context: &PluginContext<'_>) -> Result<Arc<dyn Plugin>, ConfigError> {
    Ok(Arc::new(DefaultTolerationSeconds))
}

#[async_trait]
impl Plugin for DefaultTolerationSeconds {
    fn handles(&self, request: &WriteRequest) -> bool {
        is_pods(request)
    }

    async fn admit(&self, call: &Call<'_>, pod: &mut Value, _old: Option<&Value>) -> ApiResult<()> {
        if call.attributes.operation == AdmissionOperation::Create {
            default_tolerations(pod);
        }
        Ok(())
    }
}

/// The DefaultTolerationSeconds plugin: unless the pod already tolerates them, `not-ready` and
/// `unreachable` NoExecute taints are tolerated for 300 s.
pub fn default_tolerations(pod: &mut Value) {
    let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    let tolerations = spec.entry("tolerations").or_insert_with(|| json!([]));
    if !tolerations.is_array() {
        *tolerations = json!([]);
    }
    let Some(list) = tolerations.as_array_mut() else {
        return;
    };
    let tolerates = |list: &[Value], taint: &str| {
        list.iter().any(|t| {
            let key = t.get("key").and_then(Value::as_str).unwrap_or("");
            let effect = t.get("effect").and_then(Value::as_str).unwrap_or("");
            (key == taint || key.is_empty()) && (effect == "NoExecute" || effect.is_empty())
        })
    };
    for taint in [NOT_READY_TAINT, UNREACHABLE_TAINT] {
        if !tolerates(list, taint) {
            list.push(json!({
                "key": taint,
                "operator": "Exists",
                "effect": "NoExecute",
                "tolerationSeconds": DEFAULT_TOLERATION_SECONDS,
            }));
        }
    }
}
