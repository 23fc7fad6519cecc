//! CertificateSubjectRestriction (`plugin/pkg/admission/certificates/subjectrestriction/
//! admission.go`): a new CSR for the `kubernetes.io/kube-apiserver-client` signer may not ask
//! for the organization (group) `system:masters`.

use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine as _;
use serde_json::Value;
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::prelude::FromDer;

use super::certificate_approval::{CERTIFICATES_GROUP, CSRS};
use super::common::{addresses, forbidden, signer_name};
use super::{Call, Plugin, PluginContext};
use crate::admission::attributes::WriteRequest;
use crate::api::status::ApiResult;
use crate::config::ConfigError;
use crate::registry::admission::AdmissionOperation;

/// The signer of client certificates kube-apiserver trusts.
pub const KUBE_APISERVER_CLIENT_SIGNER: &str = "kubernetes.io/kube-apiserver-client";
/// The group every authorizer allows everything.
const SYSTEM_MASTERS: &str = "system:masters";

/// The CertificateSubjectRestriction plugin.
pub struct CertificateSubjectRestriction;

/// Builds the plugin.
pub fn build(_context: &PluginContext<'_>) -> Result<Arc<dyn Plugin>, ConfigError> {
    Ok(Arc::new(CertificateSubjectRestriction))
}

/// The subject organizations of `spec.request` (a base64 PEM `CERTIFICATE REQUEST`), or why it
/// does not parse (upstream's `ParseCSR`).
pub fn requested_organizations(csr: &Value) -> Result<Vec<String>, String> {
    let encoded = csr
        .pointer("/spec/request")
        .and_then(Value::as_str)
        .unwrap_or("");
    let pem_bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|err| err.to_string())?;
    let pem = match x509_parser::pem::parse_x509_pem(&pem_bytes) {
        Ok((_, pem)) if pem.label == "CERTIFICATE REQUEST" => pem,
        _ => return Err("PEM block type must be CERTIFICATE REQUEST".into()),
    };
    let (_, request) =
        X509CertificationRequest::from_der(&pem.contents).map_err(|err| err.to_string())?;
    Ok(request
        .certification_request_info
        .subject
        .iter_organization()
        .filter_map(|o| o.as_str().ok().map(str::to_string))
        .collect())
}

#[async_trait]
impl Plugin for CertificateSubjectRestriction {
    fn handles(&self, request: &WriteRequest) -> bool {
        addresses(request, CERTIFICATES_GROUP, CSRS, "")
    }

    async fn validate(
        &self,
        call: &Call<'_>,
        obj: Option<&Value>,
        _old: Option<&Value>,
    ) -> ApiResult<()> {
        if call.attributes.operation != AdmissionOperation::Create {
            return Ok(());
        }
        let Some(csr) = obj else {
            return Ok(());
        };
        if signer_name(csr) != KUBE_APISERVER_CLIENT_SIGNER {
            return Ok(());
        }
        let organizations = requested_organizations(csr).map_err(|err| {
            forbidden(call.attributes, obj, &format!("failed to parse CSR: {err}"))
        })?;
        if organizations.iter().any(|o| o == SYSTEM_MASTERS) {
            return Err(forbidden(
                call.attributes,
                obj,
                &format!(
                    "use of {KUBE_APISERVER_CLIENT_SIGNER} signer with system:masters group is not allowed"
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use rcgen::{CertificateParams, DnType, KeyPair};
    use serde_json::json;

    use super::*;
    use crate::admission::attributes::Record;
    use crate::admission::plugins::common::testing::{attributes_by, request, someone};

    fn pem_request(organization: &str) -> String {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, "me");
        params
            .distinguished_name
            .push(DnType::OrganizationName, organization);
        params.serialize_request(&key).unwrap().pem().unwrap()
    }

    fn csr(signer: &str, pem: &str) -> Value {
        let request = base64::engine::general_purpose::STANDARD.encode(pem);
        json!({"metadata": {"generateName": "csr-"}, "spec": {"signerName": signer, "request": request}})
    }

    #[tokio::test]
    async fn system_masters_for_the_client_signer_is_refused() {
        let plugin = CertificateSubjectRestriction;
        let attrs = attributes_by(
            AdmissionOperation::Create,
            (CERTIFICATES_GROUP, CSRS, ""),
            "CertificateSigningRequest",
            someone("ann"),
        );
        assert!(plugin.handles(&request(&attrs)));
        let record = Record::default();
        let call = Call {
            attributes: &attrs,
            record: &record,
        };
        let masters = pem_request("system:masters");
        let obj = csr(KUBE_APISERVER_CLIENT_SIGNER, &masters);
        assert_eq!(
            requested_organizations(&obj).unwrap(),
            vec!["system:masters"]
        );
        let err = plugin.validate(&call, Some(&obj), None).await.unwrap_err();
        assert_eq!(err.status.code, 403);
        assert_eq!(
            err.status.message,
            "certificatesigningrequests.certificates.k8s.io \"csr-\" is forbidden: use of kubernetes.io/kube-apiserver-client signer with system:masters group is not allowed"
        );
        let other_signer = csr("example.com/signer", &masters);
        plugin
            .validate(&call, Some(&other_signer), None)
            .await
            .expect("another signer");
        let team = csr(KUBE_APISERVER_CLIENT_SIGNER, &pem_request("team"));
        plugin
            .validate(&call, Some(&team), None)
            .await
            .expect("another group");
        let garbage = csr(KUBE_APISERVER_CLIENT_SIGNER, "not a pem");
        let err = plugin
            .validate(&call, Some(&garbage), None)
            .await
            .unwrap_err();
        assert!(
            err.status.message.ends_with(
                "is forbidden: failed to parse CSR: PEM block type must be CERTIFICATE REQUEST"
            ),
            "{}",
            err.status.message
        );
    }
}
