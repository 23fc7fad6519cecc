//! `Binding`: assigning a pod to a node, as upstream's `BindingREST` (`POST .../bindings` and
//! `POST .../pods/<name>/binding`). The pod gets `spec.nodeName` and a `PodScheduled` condition;
//! a pod already assigned or being deleted cannot be bound. The answer is a `Success` Status.

use serde_json::{json, Value};

use crate::api::status::{ApiError, ApiResult, GroupResource, Status, StatusCause};
use crate::registry::metadata::now_rfc3339;
use crate::registry::options::WriteOptions;
use crate::registry::store::Store;

/// Binds the pod named by `binding.metadata.name` in `namespace` to `binding.target`.
pub async fn bind(
    pods: &Store,
    namespace: &str,
    binding: &Value,
    write: &WriteOptions,
) -> ApiResult<Status> {
    let name = binding
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let target_kind = binding
        .pointer("/target/kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let node = binding
        .pointer("/target/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let mut causes = Vec::new();
    if !target_kind.is_empty() && target_kind != "Node" {
        causes.push(StatusCause {
            reason: "FieldValueNotSupported".into(),
            message: format!("Unsupported value: \"{target_kind}\": supported values: \"Node\""),
            field: "target.kind".into(),
        });
    }
    if node.is_empty() {
        causes.push(StatusCause {
            reason: "FieldValueRequired".into(),
            message: "Required value".into(),
            field: "target.name".into(),
        });
    }
    if !causes.is_empty() {
        return Err(ApiError::invalid("", "Binding", &name, causes));
    }
    let annotations = binding.pointer("/metadata/annotations").cloned();
    let pods_resource = GroupResource::new("", "pods/binding");
    pods.guaranteed_update(Some(namespace), &name, write, |pod| {
        if pod
            .pointer("/metadata/deletionTimestamp")
            .is_some_and(|t| !t.is_null())
        {
            return Err(ApiError::conflict(
                &pods_resource,
                &name,
                "pod is being deleted, cannot be assigned to a host",
            ));
        }
        let assigned = pod
            .pointer("/spec/nodeName")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !assigned.is_empty() {
            return Err(ApiError::conflict(
                &pods_resource,
                &name,
                &format!("pod {name} is already assigned to node \"{assigned}\""),
            ));
        }
        let mut next = pod.clone();
        next["spec"]["nodeName"] = Value::String(node.clone());
        if let Some(Value::Object(extra)) = &annotations {
            let metadata = &mut next["metadata"];
            if !metadata["annotations"].is_object() {
                metadata["annotations"] = json!({});
            }
            for (key, value) in extra {
                metadata["annotations"][key] = value.clone();
            }
        }
        Ok(next)
    })
    .await?;
    // The status is its own subresource: the condition is a second write.
    let status_write = WriteOptions {
        subresource: Some("status".into()),
        ..write.clone()
    };
    pods.guaranteed_update(Some(namespace), &name, &status_write, |pod| {
        let mut next = pod.clone();
        let condition = json!({"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": now_rfc3339()});
        let conditions = &mut next["status"]["conditions"];
        match conditions.as_array_mut() {
            Some(list) => {
                list.retain(|c| c["type"] != "PodScheduled");
                list.push(condition);
            }
            None => *conditions = json!([condition]),
        }
        Ok(next)
    })
    .await?;
    let mut status = Status::success(None);
    status.code = 201;
    Ok(status)
}
