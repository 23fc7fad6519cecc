//! TaintNodesByCondition (`plugin/pkg/admission/nodetaint/admission.go`): a new Node gets the
//! `node.kubernetes.io/not-ready:NoSchedule` taint, which the node lifecycle controller removes
//! once the node is ready, so that nothing is scheduled onto a node before then.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{json, Value};

use super::common::addresses;
use super::{Call, Plugin, PluginContext};
use crate::admission::attributes::WriteRequest;
use crate::api::status::ApiResult;
use crate::config::ConfigError;
use crate::registry::admission::AdmissionOperation;

/// The taint of nodes that are not ready.
pub const TAINT_NODE_NOT_READY: &str = "node.kubernetes.io/not-ready";

/// The TaintNodesByCondition plugin.
pub struct TaintNodesByCondition;

/// Builds the plugin.
pub fn build(_context: &PluginContext<'_>) -> Result<Arc<dyn Plugin>, ConfigError> {
    Ok(Arc::new(TaintNodesByCondition))
}

/// Adds the not-ready `NoSchedule` taint to `node` unless a taint with its key and effect is
/// there (upstream's `MatchTaint`).
pub fn add_not_ready_taint(node: &mut Value) {
    let Some(node) = node.as_object_mut() else {
        return;
    };
    let spec = node.entry("spec").or_insert_with(|| json!({}));
    let Some(spec) = spec.as_object_mut() else {
        return;
    };
    let taints = spec.entry("taints").or_insert_with(|| json!([]));
    if !taints.is_array() {
        *taints = json!([]);
    }
    let Some(taints) = taints.as_array_mut() else {
        return;
    };
    let present = taints.iter().any(|t| {
        t.get("key").and_then(Value::as_str) == Some(TAINT_NODE_NOT_READY)
            && t.get("effect").and_then(Value::as_str) == Some("NoSchedule")
    });
    if !present {
        taints.push(json!({"key": TAINT_NODE_NOT_READY, "effect": "NoSchedule"}));
    }
}

#[async_trait]
impl Plugin for TaintNodesByCondition {
    fn handles(&self, request: &WriteRequest) -> bool {
        addresses(request, "", "nodes", "")
    }

    async fn admit(
        &self,
        call: &Call<'_>,
        node: &mut Value,
        _old: Option<&Value>,
    ) -> ApiResult<()> {
        if call.attributes.operation == AdmissionOperation::Create {
            add_not_ready_taint(node);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admission::attributes::Record;
    use crate::admission::plugins::common::testing::{attributes_by, request, someone};

    #[tokio::test]
    async fn new_nodes_are_not_ready_once() {
        let plugin = TaintNodesByCondition;
        let create = attributes_by(
            AdmissionOperation::Create,
            ("", "nodes", ""),
            "Node",
            someone("kubelet"),
        );
        assert!(plugin.handles(&request(&create)));
        let status = attributes_by(
            AdmissionOperation::Update,
            ("", "nodes", "status"),
            "Node",
            someone("kubelet"),
        );
        assert!(!plugin.handles(&request(&status)));
        let record = Record::default();
        let call = Call {
            attributes: &create,
            record: &record,
        };
        let mut node = json!({"metadata": {"name": "n"}, "spec": {"taints": [{"key": "a", "effect": "NoExecute"}]}});
        plugin.admit(&call, &mut node, None).await.unwrap();
        plugin.admit(&call, &mut node, None).await.unwrap();
        assert_eq!(
            node["spec"]["taints"],
            json!([{"key": "a", "effect": "NoExecute"}, {"key": TAINT_NODE_NOT_READY, "effect": "NoSchedule"}])
        );
        let mut bare = json!({"metadata": {"name": "n"}});
        plugin.admit(&call, &mut bare, None).await.unwrap();
        assert_eq!(bare["spec"]["taints"][0]["key"], TAINT_NODE_NOT_READY);
        let update = attributes_by(
            AdmissionOperation::Update,
            ("", "nodes", ""),
            "Node",
            someone("kubelet"),
        );
        let call = Call {
            attributes: &update,
            record: &record,
        };
        let mut updated = json!({"metadata": {"name": "n"}});
        plugin
            .admit(&call, &mut updated, Some(&bare))
            .await
            .unwrap();
        assert!(updated.get("spec").is_none(), "updates keep their taints");
    }
}
