//! ClusterTrustBundleAttest (`plugin/pkg/admission/certificates/ctbattest/admission.go`): a
//! ClusterTrustBundle with a `spec.signerName` needs the `attest` verb on that signer.
//!
//! Apiary serves no ClusterTrustBundles (`certificates.k8s.io/v1beta1` is off by default in
//! 1.33, like the `ClusterTrustBundle` feature gate), so no request reaches this plugin today;
//! it acts as upstream's once the resource is served.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use super::certificate_approval::CERTIFICATES_GROUP;
use super::common::{addresses, forbidden, is_authorized_for_signer_name, signer_name};
use super::{Call, Plugin, PluginContext};
use crate::admission::attributes::WriteRequest;
use crate::api::status::ApiResult;
use crate::config::ConfigError;
use crate::registry::admission::AdmissionOperation;
use crate::request::authorization::Authorization;

/// The ClusterTrustBundleAttest plugin.
pub struct ClusterTrustBundleAttest {
    authorization: Arc<Authorization>,
}

/// Builds the plugin.
pub fn build(context: &PluginContext<'_>) -> Result<Arc<dyn Plugin>, ConfigError> {
    Ok(Arc::new(ClusterTrustBundleAttest {
        authorization: context.authorization.clone(),
    }))
}

/// Whether an update changes only what the garbage collector writes (upstream's
/// `rbac.IsOnlyMutatingGCFields`: owner references and finalizers).
fn only_gc_fields_change(new: &Value, old: &Value) -> bool {
    let strip = |obj: &Value| {
        let mut obj = obj.clone();
        if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
            for field in [
                "ownerReferences",
                "finalizers",
                "resourceVersion",
                "managedFields",
            ] {
                meta.remove(field);
            }
        }
        obj
    };
    strip(new) == strip(old)
}

#[async_trait]
impl Plugin for ClusterTrustBundleAttest {
    fn handles(&self, request: &WriteRequest) -> bool {
        addresses(request, CERTIFICATES_GROUP, "clustertrustbundles", "")
    }

    async fn validate(
        &self,
        call: &Call<'_>,
        obj: Option<&Value>,
        old: Option<&Value>,
    ) -> ApiResult<()> {
        let Some(bundle) = obj else {
            return Ok(());
        };
        let signer = signer_name(bundle);
        if signer.is_empty() {
            return Ok(());
        }
        if call.attributes.operation == AdmissionOperation::Update
            && old.is_some_and(|old| only_gc_fields_change(bundle, old))
        {
            return Ok(());
        }
        let user = &call.attributes.user;
        if is_authorized_for_signer_name(&self.authorization, user, "attest", signer) {
            return Ok(());
        }
        Err(forbidden(
            call.attributes,
            obj,
            &format!("user not permitted to attest for signerName {signer:?}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::admission::attributes::Record;
    use crate::admission::plugins::common::testing::{
        attributes_by, rbac_granting, request, someone,
    };

    #[tokio::test]
    async fn a_signer_bundle_needs_attest() {
        let authorization = rbac_granting("attest", &["example.com/*"], "ann").await;
        let plugin = ClusterTrustBundleAttest { authorization };
        let record = Record::default();
        let on = |user: &str, op| {
            attributes_by(
                op,
                (CERTIFICATES_GROUP, "clustertrustbundles", ""),
                "ClusterTrustBundle",
                someone(user),
            )
        };
        let (ann, bob) = (
            on("ann", AdmissionOperation::Create),
            on("bob", AdmissionOperation::Create),
        );
        assert!(plugin.handles(&request(&ann)));
        let bundle = json!({"metadata": {"name": "example.com:s:b"}, "spec": {"signerName": "example.com/s"}});
        let ann_call = Call {
            attributes: &ann,
            record: &record,
        };
        plugin
            .validate(&ann_call, Some(&bundle), None)
            .await
            .expect("ann attests");
        let bob_call = Call {
            attributes: &bob,
            record: &record,
        };
        let err = plugin
            .validate(&bob_call, Some(&bundle), None)
            .await
            .unwrap_err();
        assert_eq!(
            err.status.message,
            "clustertrustbundles.certificates.k8s.io \"example.com:s:b\" is forbidden: user not permitted to attest for signerName \"example.com/s\""
        );
        let unsigned = json!({"metadata": {"name": "b"}, "spec": {}});
        plugin
            .validate(&bob_call, Some(&unsigned), None)
            .await
            .expect("no signer");
        let update = on("bob", AdmissionOperation::Update);
        let update_call = Call {
            attributes: &update,
            record: &record,
        };
        let mut owned = bundle.clone();
        owned["metadata"]["finalizers"] = json!(["x/y"]);
        plugin
            .validate(&update_call, Some(&owned), Some(&bundle))
            .await
            .expect("garbage-collection fields only");
    }
}
