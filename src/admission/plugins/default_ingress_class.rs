//! DefaultIngressClass (`plugin/pkg/admission/network/defaultingressclass/admission.go`): an
//! Ingress created without a class (field or legacy annotation) gets the default IngressClass.

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

/// The annotation marking the default IngressClass.
pub const IS_DEFAULT: &str = "ingressclass.kubernetes.io/is-default-class";
/// The legacy annotation naming an Ingress's class.
pub const LEGACY_CLASS: &str = "kubernetes.io/ingress.class";

/// The DefaultIngressClass plugin, over the IngressClasses store.
pub struct DefaultIngressClassPlugin {
    ingress_classes: Arc<Store>,
}

/// Builds the plugin.
pub fn build(context: &PluginContext<'_>) -> Result<Arc<dyn Plugin>, ConfigError> {
    let ingress_classes = context
        .stores
        .by_resource("networking.k8s.io", "v1", "ingressclasses")
        .ok_or_else(|| ConfigError::new("admission", "DefaultIngressClass needs ingressclasses"))?;
    Ok(Arc::new(DefaultIngressClassPlugin { ingress_classes }))
}

/// Whether the Ingress names its class.
pub fn has_class(ingress: &Value) -> bool {
    let annotated = ingress
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(LEGACY_CLASS))
        .is_some();
    annotated
        || ingress
            .pointer("/spec/ingressClassName")
            .is_some_and(|c| !c.is_null())
}

#[async_trait]
impl Plugin for DefaultIngressClassPlugin {
    fn handles(&self, request: &WriteRequest) -> bool {
        request.resource.group == "networking.k8s.io"
            && request.resource.resource == "ingresses"
            && request.subresource.is_empty()
    }

    async fn admit(
        &self,
        call: &Call<'_>,
        ingress: &mut Value,
        _old: Option<&Value>,
    ) -> ApiResult<()> {
        if call.attributes.operation != AdmissionOperation::Create || has_class(ingress) {
            return Ok(());
        }
        let classes = list_all(&self.ingress_classes, None)
            .await
            .map_err(|err| forbidden(call.attributes, Some(ingress), &err.status.message))?;
        let Some(class) = newest_default(classes, |c| annotation_is_true(c, IS_DEFAULT)) else {
            return Ok(());
        };
        let name = meta_str(&class, "name").to_string();
        if let Some(spec) = ingress.get_mut("spec").and_then(Value::as_object_mut) {
            spec.insert("ingressClassName".into(), Value::String(name));
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

    const CLASSES: (&str, &str, &str) = ("networking.k8s.io", "v1", "ingressclasses");

    #[tokio::test]
    async fn ingresses_without_class_get_the_newest_default() {
        let stores = stores(&[CLASSES]);
        for (name, default) in [("a", "true"), ("b", "true"), ("c", "false")] {
            let class = json!({"metadata": {"name": name, "annotations": {IS_DEFAULT: default}}, "spec": {"controller": "x/y"}});
            create(&stores, CLASSES, class).await;
        }
        let plugin = DefaultIngressClassPlugin {
            ingress_classes: stores.by_resource(CLASSES.0, CLASSES.1, CLASSES.2).unwrap(),
        };
        let record = Record::default();
        let attributes = attributes(
            AdmissionOperation::Create,
            ("networking.k8s.io", "ingresses", ""),
            "ns",
            "i",
        );
        let call = Call {
            attributes: &attributes,
            record: &record,
        };
        let mut ingress = json!({"metadata": {"name": "i"}, "spec": {}});
        plugin.admit(&call, &mut ingress, None).await.unwrap();
        // Created within the same second: the first by name.
        assert_eq!(ingress["spec"]["ingressClassName"], "a");

        let mut legacy =
            json!({"metadata": {"name": "i", "annotations": {LEGACY_CLASS: "nginx"}}, "spec": {}});
        plugin.admit(&call, &mut legacy, None).await.unwrap();
        assert!(legacy["spec"].get("ingressClassName").is_none());

        let mut named = json!({"metadata": {"name": "i"}, "spec": {"ingressClassName": "own"}});
        plugin.admit(&call, &mut named, None).await.unwrap();
        assert_eq!(named["spec"]["ingressClassName"], "own");
    }
}
