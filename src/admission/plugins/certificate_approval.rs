//! CertificateApproval (`plugin/pkg/admission/certificates/approval/admission.go`): approving or
//! denying a CertificateSigningRequest (an update of `certificatesigningrequests/approval`)
//! needs the `approve` verb on the CSR's signer.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use super::common::{addresses, forbidden, is_authorized_for_signer_name, signer_name};
use super::{Call, Plugin, PluginContext};
use crate::admission::attributes::WriteRequest;
use crate::api::status::ApiResult;
use crate::config::ConfigError;
use crate::registry::admission::AdmissionOperation;
use crate::request::authorization::Authorization;

/// The group of CertificateSigningRequests and signers.
pub const CERTIFICATES_GROUP: &str = "certificates.k8s.io";
/// The plural of CertificateSigningRequests.
pub const CSRS: &str = "certificatesigningrequests";

/// The CertificateApproval plugin.
pub struct CertificateApproval {
    authorization: Arc<Authorization>,
}

/// Builds the plugin.
pub fn build(context: &PluginContext<'_>) -> Result<Arc<dyn Plugin>, ConfigError> {
    Ok(Arc::new(CertificateApproval {
        authorization: context.authorization.clone(),
    }))
}

#[async_trait]
impl Plugin for CertificateApproval {
    fn handles(&self, request: &WriteRequest) -> bool {
        addresses(request, CERTIFICATES_GROUP, CSRS, "approval")
    }

    async fn validate(
        &self,
        call: &Call<'_>,
        obj: Option<&Value>,
        _old: Option<&Value>,
    ) -> ApiResult<()> {
        if call.attributes.operation != AdmissionOperation::Update {
            return Ok(());
        }
        let Some(csr) = obj else {
            return Ok(());
        };
        let signer = signer_name(csr);
        let user = &call.attributes.user;
        if is_authorized_for_signer_name(&self.authorization, user, "approve", signer) {
            return Ok(());
        }
        Err(forbidden(
            call.attributes,
            obj,
            &format!("user not permitted to approve requests with signerName {signer:?}"),
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

    fn csr(signer: &str) -> Value {
        json!({"metadata": {"name": "req"}, "spec": {"signerName": signer}})
    }

    #[tokio::test]
    async fn approval_needs_approve_on_the_signer_or_its_domain() {
        let authorization =
            rbac_granting("approve", &["example.com/*", "other.io/one"], "ann").await;
        let plugin = CertificateApproval { authorization };
        let on = |user: &str, op| {
            attributes_by(
                op,
                (CERTIFICATES_GROUP, CSRS, "approval"),
                "CertificateSigningRequest",
                someone(user),
            )
        };
        let record = Record::default();
        let ann = on("ann", AdmissionOperation::Update);
        assert!(plugin.handles(&request(&ann)));
        let call = Call {
            attributes: &ann,
            record: &record,
        };
        for allowed in ["example.com/anything", "other.io/one"] {
            let obj = csr(allowed);
            plugin
                .validate(&call, Some(&obj), Some(&obj))
                .await
                .expect(allowed);
        }
        let obj = csr("other.io/two");
        let err = plugin
            .validate(&call, Some(&obj), Some(&obj))
            .await
            .unwrap_err();
        assert_eq!(err.status.code, 403);
        assert_eq!(
            err.status.message,
            "certificatesigningrequests.certificates.k8s.io \"req\" is forbidden: user not permitted to approve requests with signerName \"other.io/two\""
        );
        let bob = on("bob", AdmissionOperation::Update);
        let call = Call {
            attributes: &bob,
            record: &record,
        };
        let obj = csr("example.com/anything");
        assert!(plugin
            .validate(&call, Some(&obj), Some(&obj))
            .await
            .is_err());

        let main = attributes_by(
            AdmissionOperation::Update,
            (CERTIFICATES_GROUP, CSRS, ""),
            "CertificateSigningRequest",
            someone("bob"),
        );
        assert!(
            !plugin.handles(&request(&main)),
            "only the approval subresource"
        );
    }
}
