//! `Binding`: assigning a pod to a node, as upstream's `BindingREST` (`POST .../bindings` and
//! `POST .../pods/<name>/binding`). One write gives the pod `spec.nodeName`, the binding's
//! annotations and a `PodScheduled` condition; a pod already assigned, gated or being deleted
//! cannot be bound. The answer is a `Success` Status.

use serde_json::{json, Value};

use crate::api::status::{ApiError, ApiResult, GroupResource, Status, StatusCause};
use crate::registry::metadata::now_rfc3339;
use crate::registry::options::WriteOptions;
use crate::registry::resources::core::pod_subresources;
use crate::registry::store::Store;

/// Binds the pod named by `binding.metadata.name` in `namespace` to `binding.target`. The
/// binding's `metadata.uid` and `resourceVersion`, when set, are preconditions on the pod.
pub async fn bind(
    pods: &Store,
    namespace: &str,
    binding: &Value,
    dry_run: bool,
) -> ApiResult<Status> {
    let text = |path: &str| {
        binding
            .pointer(path)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let (name, target_kind, node) = (
        text("/metadata/name"),
        text("/target/kind"),
        text("/target/name"),
    );
    let (uid, resource_version) = (text("/metadata/uid"), text("/metadata/resourceVersion"));
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
    let binding_resource = GroupResource::new("", "pods/binding");
    let pods_resource = GroupResource::new("", "pods");
    let key = pods.layout().object_key(Some(namespace), &name);
    // Upstream writes the pod straight to storage: no update strategy, no managedFields.
    let write = WriteOptions {
        dry_run,
        subresource: Some(pod_subresources::BINDING_WRITE.into()),
        ..Default::default()
    };
    pods.guaranteed_update(Some(namespace), &name, &write, |pod| {
        let meta = |field: &str| {
            pod.pointer(&format!("/metadata/{field}"))
                .and_then(Value::as_str)
                .unwrap_or_default()
        };
        for (field, wanted) in [("UID", &uid), ("ResourceVersion", &resource_version)] {
            let stored = meta(if field == "UID" {
                "uid"
            } else {
                "resourceVersion"
            });
            if !wanted.is_empty() && wanted != stored {
                return Err(ApiError::precondition_failed(
                    &pods_resource,
                    &name,
                    &key,
                    field,
                    wanted,
                    stored,
                ));
            }
        }
        if pod
            .pointer("/metadata/deletionTimestamp")
            .is_some_and(|t| !t.is_null())
        {
            return Err(ApiError::conflict(
                &binding_resource,
                &name,
                &format!("pod {name} is being deleted, cannot be assigned to a host"),
            ));
        }
        let assigned = pod
            .pointer("/spec/nodeName")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !assigned.is_empty() {
            return Err(ApiError::conflict(
                &binding_resource,
                &name,
                &format!("pod {name} is already assigned to node \"{assigned}\""),
            ));
        }
        if pod
            .pointer("/spec/schedulingGates")
            .and_then(Value::as_array)
            .is_some_and(|gates| !gates.is_empty())
        {
            return Err(ApiError::conflict(
                &binding_resource,
                &name,
                &format!("pod {name} has non-empty .spec.schedulingGates"),
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
        set_scheduled(&mut next);
        Ok(next)
    })
    .await?;
    let mut status = Status::success(None);
    status.code = 201;
    Ok(status)
}

/// Upstream's `UpdatePodCondition` with `PodScheduled=True`: the condition replaces any earlier
/// one, keeping its transition time only when its status was already `True`.
fn set_scheduled(pod: &mut Value) {
    if !pod["status"].is_object() {
        pod["status"] = json!({});
    }
    let conditions = &mut pod["status"]["conditions"];
    if !conditions.is_array() {
        *conditions = json!([]);
    }
    let Some(list) = conditions.as_array_mut() else {
        return;
    };
    let mut condition = json!({
        "type": "PodScheduled", "status": "True", "lastProbeTime": null,
        "lastTransitionTime": now_rfc3339()
    });
    match list.iter_mut().find(|c| c["type"] == "PodScheduled") {
        Some(existing) => {
            if existing["status"] == "True" {
                condition["lastTransitionTime"] = existing["lastTransitionTime"].clone();
            }
            *existing = condition;
        }
        None => list.push(condition),
    }
}
