//! StorageObjectInUseProtection
//! (`plugin/pkg/admission/storage/storageobjectinuseprotection/admission.go`): new
//! PersistentVolumeClaims and PersistentVolumes get the finalizer that keeps them until no pod
//! (claims) or claim (volumes) uses them.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{json, Value};

use super::{Call, Plugin, PluginContext};
use crate::admission::attributes::WriteRequest;
use crate::api::status::ApiResult;
use crate::config::ConfigError;
use crate::registry::admission::AdmissionOperation;

/// The finalizer of PersistentVolumeClaims.
pub const PVC_PROTECTION: &str = "kubernetes.io/pvc-protection";
/// The finalizer of PersistentVolumes.
pub const PV_PROTECTION: &str = "kubernetes.io/pv-protection";

/// The StorageObjectInUseProtection plugin.
pub struct StorageProtectionPlugin;

/// Builds the plugin.
pub fn build(_context: &PluginContext<'_>) -> Result<Arc<dyn Plugin>, ConfigError> {
    Ok(Arc::new(StorageProtectionPlugin))
}

/// The finalizer for objects of `resource` (core group, no subresource), if any.
fn finalizer_for(group: &str, resource: &str, subresource: &str) -> Option<&'static str> {
    match (group, resource, subresource) {
        ("", "persistentvolumeclaims", "") => Some(PVC_PROTECTION),
        ("", "persistentvolumes", "") => Some(PV_PROTECTION),
        _ => None,
    }
}

/// Adds `finalizer` to the object's finalizers unless it is there.
pub fn add_finalizer(obj: &mut Value, finalizer: &str) {
    let Some(metadata) = obj.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let finalizers = metadata.entry("finalizers").or_insert_with(|| json!([]));
    if !finalizers.is_array() {
        *finalizers = json!([]);
    }
    if let Some(list) = finalizers.as_array_mut() {
        if !list.iter().any(|f| f.as_str() == Some(finalizer)) {
            list.push(json!(finalizer));
        }
    }
}

#[async_trait]
impl Plugin for StorageProtectionPlugin {
    fn handles(&self, request: &WriteRequest) -> bool {
        let resource = &request.resource;
        finalizer_for(&resource.group, &resource.resource, &request.subresource).is_some()
    }

    async fn admit(&self, call: &Call<'_>, obj: &mut Value, _old: Option<&Value>) -> ApiResult<()> {
        let attributes = call.attributes;
        if attributes.operation != AdmissionOperation::Create {
            return Ok(());
        }
        let resource = &attributes.resource;
        if let Some(finalizer) =
            finalizer_for(&resource.group, &resource.resource, &attributes.subresource)
        {
            add_finalizer(obj, finalizer);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admission::attributes::Record;
    use crate::admission::plugins::common::testing::attributes;

    async fn admitted(operation: AdmissionOperation, resource: &str, mut obj: Value) -> Value {
        let record = Record::default();
        let attributes = attributes(operation, ("", resource, ""), "", "x");
        let call = Call {
            attributes: &attributes,
            record: &record,
        };
        StorageProtectionPlugin
            .admit(&call, &mut obj, None)
            .await
            .unwrap();
        obj
    }

    #[tokio::test]
    async fn creates_get_their_finalizer_once() {
        let claim = admitted(
            AdmissionOperation::Create,
            "persistentvolumeclaims",
            json!({"metadata": {"name": "x"}}),
        )
        .await;
        assert_eq!(claim["metadata"]["finalizers"], json!([PVC_PROTECTION]));
        let volume = admitted(
            AdmissionOperation::Create,
            "persistentvolumes",
            json!({"metadata": {"name": "x", "finalizers": ["own", PV_PROTECTION]}}),
        )
        .await;
        assert_eq!(
            volume["metadata"]["finalizers"],
            json!(["own", PV_PROTECTION])
        );
        let updated = admitted(
            AdmissionOperation::Update,
            "persistentvolumeclaims",
            json!({"metadata": {"name": "x"}}),
        )
        .await;
        assert!(
            updated["metadata"].get("finalizers").is_none(),
            "only creates"
        );
    }
}
