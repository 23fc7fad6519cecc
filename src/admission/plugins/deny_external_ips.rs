//! DenyServiceExternalIPs (`plugin/pkg/admission/network/denyserviceexternalips/admission.go`):
//! no Service may start using an external IP; IPs an updated Service already had may stay.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use super::common::{addresses, forbidden};
use super::{Call, Plugin, PluginContext};
use crate::admission::attributes::WriteRequest;
use crate::api::status::ApiResult;
use crate::config::ConfigError;
use crate::registry::admission::AdmissionOperation;

/// The DenyServiceExternalIPs plugin.
pub struct DenyServiceExternalIps;

/// Builds the plugin.
pub fn build(_context: &PluginContext<'_>) -> Result<Arc<dyn Plugin>, ConfigError> {
    Ok(Arc::new(DenyServiceExternalIps))
}

fn external_ips(service: &Value) -> Vec<&str> {
    service
        .pointer("/spec/externalIPs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

/// Whether every external IP of `new` was already one of `old`'s.
pub fn no_new_external_ips(new: &Value, old: Option<&Value>) -> bool {
    let wanted = external_ips(new);
    if wanted.is_empty() {
        return true;
    }
    let Some(old) = old else {
        return false;
    };
    let had = external_ips(old);
    wanted.iter().all(|ip| had.contains(ip))
}

#[async_trait]
impl Plugin for DenyServiceExternalIps {
    fn handles(&self, request: &WriteRequest) -> bool {
        addresses(request, "", "services", "")
    }

    async fn validate(
        &self,
        call: &Call<'_>,
        obj: Option<&Value>,
        old: Option<&Value>,
    ) -> ApiResult<()> {
        if !matches!(
            call.attributes.operation,
            AdmissionOperation::Create | AdmissionOperation::Update
        ) {
            return Ok(());
        }
        let Some(service) = obj else {
            return Ok(());
        };
        if no_new_external_ips(service, old) {
            return Ok(());
        }
        Err(forbidden(
            call.attributes,
            obj,
            "Use of external IPs is denied by admission control",
        ))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::admission::attributes::Record;
    use crate::admission::plugins::common::testing::{attributes_by, request, someone};

    fn service(ips: &[&str]) -> Value {
        json!({"metadata": {"name": "web"}, "spec": {"externalIPs": ips}})
    }

    #[tokio::test]
    async fn only_known_external_ips_pass() {
        let plugin = DenyServiceExternalIps;
        let record = Record::default();
        let create = attributes_by(
            AdmissionOperation::Create,
            ("", "services", ""),
            "Service",
            someone("ann"),
        );
        assert!(plugin.handles(&request(&create)));
        let call = Call {
            attributes: &create,
            record: &record,
        };
        plugin
            .validate(&call, Some(&service(&[])), None)
            .await
            .expect("none");
        let err = plugin
            .validate(&call, Some(&service(&["1.2.3.4"])), None)
            .await
            .unwrap_err();
        assert_eq!(err.status.code, 403);
        assert_eq!(
            err.status.message,
            "services \"web\" is forbidden: Use of external IPs is denied by admission control"
        );
        let update = attributes_by(
            AdmissionOperation::Update,
            ("", "services", ""),
            "Service",
            someone("ann"),
        );
        let call = Call {
            attributes: &update,
            record: &record,
        };
        let old = service(&["1.2.3.4", "5.6.7.8"]);
        plugin
            .validate(&call, Some(&service(&["5.6.7.8"])), Some(&old))
            .await
            .expect("a subset");
        assert!(plugin
            .validate(&call, Some(&service(&["9.9.9.9"])), Some(&old))
            .await
            .is_err());
    }
}
