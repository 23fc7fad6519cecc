//! DefaultStorageClass (`plugin/pkg/admission/storage/storageclass/setdefault/admission.go`):
//! a PersistentVolumeClaim created without a class gets the default StorageClass.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use super::common::{annotation_is_true, forbidden, list_all, newest_default};
use super::{Call, Plugin, PluginContext};
use crate::admission::attributes::WriteRequest;
use crate::api::status::ApiResult;
use crate::config::ConfigError;
use crate::registry::admission::AdmissionOperation;
use crate::registry::metadata::meta_str;
use crate::registry::store::Store;

/// The annotation marking the default StorageClass.
pub const IS_DEFAULT: &str = "storageclass.kubernetes.io/is-default-class";
/// Its beta spelling, still honoured.
pub const BETA_IS_DEFAULT: &str = "storageclass.beta.kubernetes.io/is-default-class";
/// The beta annotation naming a claim's class.
pub const BETA_CLASS: &str = "volume.beta.kubernetes.io/storage-class";

/// The DefaultStorageClass plugin, over the StorageClasses store.
pub struct DefaultStorageClassPlugin {
    storage_classes: Arc<Store>,
}

/// Builds the plugin.
pub fn build(context: &PluginContext<'_>) -> Result<Arc<dyn Plugin>, ConfigError> {
    let storage_classes = context
        .stores
        .by_resource("storage.k8s.io", "v1", "storageclasses")
        .ok_or_else(|| ConfigError::new("admission", "DefaultStorageClass needs storageclasses"))?;
    Ok(Arc::new(DefaultStorageClassPlugin { storage_classes }))
}

/// Whether `request` addresses PersistentVolumeClaims themselves.
pub(crate) fn is_claims(request: &WriteRequest) -> bool {
    request.resource.group.is_empty()
        && request.resource.resource == "persistentvolumeclaims"
        && request.subresource.is_empty()
}

/// Whether the claim names a class (`PersistentVolumeClaimHasClass`): the beta annotation, or
/// `spec.storageClassName` set, even to `""`.
pub fn has_class(claim: &Value) -> bool {
    let annotated = claim
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(BETA_CLASS))
        .is_some();
    annotated
        || claim
            .pointer("/spec/storageClassName")
            .is_some_and(|c| !c.is_null())
}

/// The default StorageClass among `classes` (the newest of several).
pub fn default_class(classes: Vec<Value>) -> Option<Value> {
    newest_default(classes, |c| {
        annotation_is_true(c, IS_DEFAULT) || annotation_is_true(c, BETA_IS_DEFAULT)
    })
}

#[async_trait]
impl Plugin for DefaultStorageClassPlugin {
    fn handles(&self, request: &WriteRequest) -> bool {
        is_claims(request)
    }

    async fn admit(
        &self,
        call: &Call<'_>,
        claim: &mut Value,
        _old: Option<&Value>,
    ) -> ApiResult<()> {
        if call.attributes.operation != AdmissionOperation::Create || has_class(claim) {
            return Ok(());
        }
        let classes = list_all(&self.storage_classes, None)
            .await
            .map_err(|err| forbidden(call.attributes, Some(claim), &err.status.message))?;
        let Some(class) = default_class(classes) else {
            return Ok(());
        };
        let name = meta_str(&class, "name").to_string();
        if let Some(spec) = claim.get_mut("spec").and_then(Value::as_object_mut) {
            spec.insert("storageClassName".into(), Value::String(name));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::admission::attributes::Record;
    use crate::admission::plugins::common::testing::{attributes, create, stores};

    const CLASSES: (&str, &str, &str) = ("storage.k8s.io", "v1", "storageclasses");

    fn class(name: &str, created: &str, default: Option<&str>) -> Value {
        let mut class =
            json!({"metadata": {"name": name, "creationTimestamp": created}, "provisioner": "x"});
        if let Some(value) = default {
            class["metadata"]["annotations"] = json!({IS_DEFAULT: value});
        }
        class
    }

    #[test]
    fn the_newest_default_wins_then_the_first_name() {
        let picked = |classes| default_class(classes).map(|c| meta_str(&c, "name").to_string());
        assert_eq!(
            picked(vec![
                class("old", "2024-01-01T00:00:00Z", Some("true")),
                class("new", "2025-01-01T00:00:00Z", Some("true")),
                class("newest-not-default", "2026-01-01T00:00:00Z", Some("false")),
            ]),
            Some("new".into())
        );
        assert_eq!(
            picked(vec![
                class("b", "2024-01-01T00:00:00Z", Some("true")),
                class("a", "2024-01-01T00:00:00Z", Some("true")),
            ]),
            Some("a".into())
        );
        assert_eq!(picked(vec![class("a", "2024-01-01T00:00:00Z", None)]), None);
        let mut beta = class("beta", "2024-01-01T00:00:00Z", None);
        beta["metadata"]["annotations"] = json!({BETA_IS_DEFAULT: "true"});
        assert_eq!(picked(vec![beta]), Some("beta".into()));
    }

    #[tokio::test]
    async fn claims_without_class_get_the_default() {
        let stores = stores(&[CLASSES]);
        create(
            &stores,
            CLASSES,
            class("standard", "2024-01-01T00:00:00Z", Some("true")),
        )
        .await;
        let plugin = DefaultStorageClassPlugin {
            storage_classes: stores.by_resource(CLASSES.0, CLASSES.1, CLASSES.2).unwrap(),
        };
        let record = Record::default();
        let created = attributes(
            AdmissionOperation::Create,
            ("", "persistentvolumeclaims", ""),
            "ns",
            "c",
        );
        let call = Call {
            attributes: &created,
            record: &record,
        };
        let mut claim = json!({"metadata": {"name": "c"}, "spec": {}});
        plugin.admit(&call, &mut claim, None).await.unwrap();
        assert_eq!(claim["spec"]["storageClassName"], "standard");

        let mut explicit = json!({"metadata": {"name": "c"}, "spec": {"storageClassName": ""}});
        plugin.admit(&call, &mut explicit, None).await.unwrap();
        assert_eq!(
            explicit["spec"]["storageClassName"], "",
            "an empty class is a choice"
        );

        let update = attributes(
            AdmissionOperation::Update,
            ("", "persistentvolumeclaims", ""),
            "ns",
            "c",
        );
        let call = Call {
            attributes: &update,
            record: &record,
        };
        let mut updated = json!({"metadata": {"name": "c"}, "spec": {}});
        plugin.admit(&call, &mut updated, None).await.unwrap();
        assert!(
            updated["spec"].get("storageClassName").is_none(),
            "only creates"
        );
    }
}
