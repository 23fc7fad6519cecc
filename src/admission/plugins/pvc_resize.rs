//! PersistentVolumeClaimResize (`plugin/pkg/admission/storage/persistentvolume/resize/admission.go`):
//! a claim may grow only when bound and when its StorageClass allows volume expansion.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use super::common::forbidden;
use super::default_storage_class::{is_claims, BETA_CLASS};
use super::{Call, Plugin, PluginContext};
use crate::admission::attributes::WriteRequest;
use crate::api::quantity::{milli_value, quantity_text};
use crate::api::status::ApiResult;
use crate::config::ConfigError;
use crate::registry::admission::AdmissionOperation;
use crate::registry::store::Store;

/// The PersistentVolumeClaimResize plugin, over the StorageClasses store.
pub struct ClaimResizePlugin {
    storage_classes: Arc<Store>,
}

/// Builds the plugin.
pub fn build(context: &PluginContext<'_>) -> Result<Arc<dyn Plugin>, ConfigError> {
    let storage_classes = context
        .stores
        .by_resource("storage.k8s.io", "v1", "storageclasses")
        .ok_or_else(|| {
            ConfigError::new(
                "admission",
                "PersistentVolumeClaimResize needs storageclasses",
            )
        })?;
    Ok(Arc::new(ClaimResizePlugin { storage_classes }))
}

/// The claim's requested storage in thousandths (0 when unset).
fn requested(claim: &Value) -> i128 {
    claim
        .pointer("/spec/resources/requests/storage")
        .and_then(quantity_text)
        .and_then(|t| milli_value(&t))
        .unwrap_or(0)
}

/// The claim's class (`GetPersistentVolumeClaimClass`): the beta annotation, else the field.
pub fn claim_class(claim: &Value) -> &str {
    let annotated = claim
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(BETA_CLASS))
        .and_then(Value::as_str);
    annotated
        .or_else(|| {
            claim
                .pointer("/spec/storageClassName")
                .and_then(Value::as_str)
        })
        .unwrap_or("")
}

#[async_trait]
impl Plugin for ClaimResizePlugin {
    fn handles(&self, request: &WriteRequest) -> bool {
        is_claims(request)
    }

    async fn validate(
        &self,
        call: &Call<'_>,
        claim: Option<&Value>,
        old: Option<&Value>,
    ) -> ApiResult<()> {
        let (Some(claim), Some(old)) = (claim, old) else {
            return Ok(());
        };
        if call.attributes.operation != AdmissionOperation::Update
            || requested(claim) <= requested(old)
        {
            return Ok(());
        }
        if old.pointer("/status/phase").and_then(Value::as_str) != Some("Bound") {
            let why = "Only bound persistent volume claims can be expanded";
            return Err(forbidden(call.attributes, Some(claim), why));
        }
        if !self.allows_resize(claim, old).await? {
            let why = "only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize";
            return Err(forbidden(call.attributes, Some(claim), why));
        }
        Ok(())
    }
}

impl ClaimResizePlugin {
    /// `allowResize`: the claim keeps one class, and that class has `allowVolumeExpansion`.
    async fn allows_resize(&self, claim: &Value, old: &Value) -> ApiResult<bool> {
        let class = claim_class(claim);
        if class.is_empty() || class != claim_class(old) {
            return Ok(false);
        }
        match self.storage_classes.get_listed(None, class).await {
            Ok(class) => {
                Ok(class.get("allowVolumeExpansion").and_then(Value::as_bool) == Some(true))
            }
            Err(err) if err.status.code == 404 => Ok(false),
            Err(err) => Err(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::admission::attributes::Record;
    use crate::admission::plugins::common::testing::{attributes, create, stores};

    const CLASSES: (&str, &str, &str) = ("storage.k8s.io", "v1", "storageclasses");

    fn claim(class: &str, size: &str, phase: &str) -> Value {
        json!({"metadata": {"name": "data", "namespace": "ns"},
               "spec": {"storageClassName": class, "resources": {"requests": {"storage": size}}},
               "status": {"phase": phase}})
    }

    #[tokio::test]
    async fn growing_needs_a_bound_claim_and_an_expandable_class() {
        let stores = stores(&[CLASSES]);
        create(
            &stores,
            CLASSES,
            json!({"metadata": {"name": "fixed"}, "provisioner": "x"}),
        )
        .await;
        create(&stores, CLASSES, json!({"metadata": {"name": "grows"}, "provisioner": "x", "allowVolumeExpansion": true})).await;
        let plugin = ClaimResizePlugin {
            storage_classes: stores.by_resource(CLASSES.0, CLASSES.1, CLASSES.2).unwrap(),
        };
        let record = Record::default();
        let attributes = attributes(
            AdmissionOperation::Update,
            ("", "persistentvolumeclaims", ""),
            "ns",
            "data",
        );
        let call = Call {
            attributes: &attributes,
            record: &record,
        };
        let check =
            |class: &'static str, old: &'static str, new: &'static str, phase: &'static str| {
                let plugin = &plugin;
                let call = &call;
                async move {
                    plugin
                        .validate(
                            call,
                            Some(&claim(class, new, phase)),
                            Some(&claim(class, old, phase)),
                        )
                        .await
                        .map_err(|e| e.status.message)
                }
            };
        assert_eq!(check("grows", "1Gi", "2Gi", "Bound").await, Ok(()));
        assert_eq!(
            check("fixed", "1Gi", "1024Mi", "Bound").await,
            Ok(()),
            "not growing"
        );
        assert_eq!(
            check("fixed", "2Gi", "1Gi", "Bound").await,
            Ok(()),
            "shrinking is validation's"
        );
        assert_eq!(
            check("fixed", "1Gi", "2Gi", "Bound").await,
            Err("persistentvolumeclaims \"data\" is forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize".into())
        );
        assert_eq!(
            check("missing", "1Gi", "2Gi", "Bound").await.unwrap_err(),
            "persistentvolumeclaims \"data\" is forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize"
        );
        assert_eq!(
            check("grows", "1Gi", "2Gi", "Pending").await,
            Err("persistentvolumeclaims \"data\" is forbidden: Only bound persistent volume claims can be expanded".into())
        );
    }
}
