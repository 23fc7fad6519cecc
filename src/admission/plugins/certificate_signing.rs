//! CertificateSigning (`plugin/pkg/admission/certificates/signing/admission.go`): an update of
//! `certificatesigningrequests/status` that changes `status.certificate` needs the `sign` verb
//! on the CSR's signer.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use super::certificate_approval::{CERTIFICATES_GROUP, CSRS};
use super::common::{addresses, forbidden, is_authorized_for_signer_name, signer_name};
use super::{Call, Plugin, PluginContext};
use crate::admission::attributes::WriteRequest;
use crate::api::status::ApiResult;
use crate::config::ConfigError;
use crate::registry::admission::AdmissionOperation;
use crate::request::authorization::Authorization;

/// The CertificateSigning plugin.
pub struct CertificateSigning {
    authorization: Arc<Authorization>,
}

/// Builds the plugin.
pub fn build(context: &PluginContext<'_>) -> Result<Arc<dyn Plugin>, ConfigError> {
    Ok(Arc::new(CertificateSigning {
        authorization: context.authorization.clone(),
    }))
}

/// `status.certificate` (base64 in JSON; compared as sent).
fn certificate(csr: &Value) -> &str {
    csr.pointer("/status/certificate")
        .and_then(Value::as_str)
        .unwrap_or("")
}

#[async_trait]
impl Plugin for CertificateSigning {
    fn handles(&self, request: &WriteRequest) -> bool {
        addresses(request, CERTIFICATES_GROUP, CSRS, "status")
    }

    async fn validate(
        &self,
        call: &Call<'_>,
        obj: Option<&Value>,
        old: Option<&Value>,
    ) -> ApiResult<()> {
        if call.attributes.operation != AdmissionOperation::Update {
            return Ok(());
        }
        let (Some(csr), Some(old)) = (obj, old) else {
            return Ok(());
        };
        if certificate(csr) == certificate(old) {
            return Ok(());
        }
        // The signer of the stored CSR: a status update cannot change the spec.
        let signer = signer_name(old);
        let user = &call.attributes.user;
        if is_authorized_for_signer_name(&self.authorization, user, "sign", signer) {
            return Ok(());
        }
        Err(forbidden(
            call.attributes,
            obj,
            &format!("user not permitted to sign requests with signerName {signer:?}"),
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

    fn csr(signer: &str, certificate: &str) -> Value {
        json!({"metadata": {"name": "req"}, "spec": {"signerName": signer},
            "status": {"certificate": certificate}})
    }

    #[tokio::test]
    async fn a_new_certificate_needs_sign_on_the_stored_signer() {
        let authorization = rbac_granting("sign", &["example.com/signer"], "ann").await;
        let plugin = CertificateSigning { authorization };
        let record = Record::default();
        let on = |user: &str| {
            attributes_by(
                AdmissionOperation::Update,
                (CERTIFICATES_GROUP, CSRS, "status"),
                "CertificateSigningRequest",
                someone(user),
            )
        };
        let (ann, bob) = (on("ann"), on("bob"));
        assert!(plugin.handles(&request(&ann)));
        let old = csr("example.com/signer", "");
        let signed = csr("example.com/signer", "Q0VSVA==");
        let ann_call = Call {
            attributes: &ann,
            record: &record,
        };
        plugin
            .validate(&ann_call, Some(&signed), Some(&old))
            .await
            .expect("ann signs");
        let bob_call = Call {
            attributes: &bob,
            record: &record,
        };
        plugin
            .validate(&bob_call, Some(&old), Some(&old))
            .await
            .expect("no change of the certificate needs nothing");
        let err = plugin
            .validate(&bob_call, Some(&signed), Some(&old))
            .await
            .unwrap_err();
        assert_eq!(
            err.status.message,
            "certificatesigningrequests.certificates.k8s.io \"req\" is forbidden: user not permitted to sign requests with signerName \"example.com/signer\""
        );
        let other = csr("example.com/other", "");
        assert!(
            plugin
                .validate(&ann_call, Some(&signed), Some(&other))
                .await
                .is_err(),
            "the stored signer counts"
        );
    }
}
