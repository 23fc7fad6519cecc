//! Conversion of custom resources by the CRD's webhook (`spec.conversion.strategy: Webhook`), as
//! upstream's `apiextensions-apiserver/pkg/apiserver/conversion/webhook_converter.go`: the objects
//! that are not at the wanted version go in one `apiextensions.k8s.io/v1` ConversionReview; the
//! answer must carry the request's uid, `result.status: Success` and as many objects, each at the
//! wanted version; only their labels and annotations may change in `metadata`.

use std::sync::Arc;

use async_trait::async_trait;
use http::StatusCode;
use serde_json::{json, Value};

use crate::api::status::{ApiError, ApiResult};
use crate::outbound::webhook::{WebhookClient, WebhookTarget};
use crate::registry::conversion::VersionConverter;

/// The converter of one CRD's webhook.
pub struct WebhookConverter {
    target: WebhookTarget,
    ca_bundle: Option<Vec<u8>>,
    kind: String,
    client: Arc<WebhookClient>,
}

impl WebhookConverter {
    /// The converter of a `clientConfig` (`url` or `service`, and `caBundle`); `None` when it
    /// names neither (CRD validation refuses such CRDs).
    pub fn new(config: &Value, kind: &str, client: Arc<WebhookClient>) -> Option<Self> {
        let ca_bundle = config
            .get("caBundle")
            .and_then(Value::as_str)
            .filter(|b| !b.is_empty())
            .and_then(|b| {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD.decode(b).ok()
            });
        Some(Self {
            target: WebhookTarget::from_client_config(config)?,
            ca_bundle,
            kind: kind.to_string(),
            client,
        })
    }

    /// Upstream's error: `conversion webhook for <gv>, Kind=<kind> failed: <why>`, a 500.
    fn failed(&self, from: &str, why: impl std::fmt::Display) -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "",
            format!(
                "conversion webhook for {from}, Kind={} failed: {why}",
                self.kind
            ),
            None,
        )
    }
}

fn api_version(object: &Value) -> &str {
    object
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// Upstream's `restoreObjectMeta`: the converted object keeps the original metadata except its
/// labels and annotations.
fn restore_metadata(original: &Value, converted: &mut Value) {
    let mut metadata = original
        .get("metadata")
        .cloned()
        .unwrap_or_else(|| json!({}));
    for key in ["labels", "annotations"] {
        match converted.pointer(&format!("/metadata/{key}")) {
            Some(value) => metadata[key] = value.clone(),
            None => {
                if let Some(map) = metadata.as_object_mut() {
                    map.remove(key);
                }
            }
        }
    }
    converted["metadata"] = metadata;
}

#[async_trait]
impl VersionConverter for WebhookConverter {
    async fn convert(&self, mut objects: Vec<Value>, to: &str) -> ApiResult<Vec<Value>> {
        let pending: Vec<usize> = (0..objects.len())
            .filter(|&i| api_version(&objects[i]) != to)
            .collect();
        let Some(&first) = pending.first() else {
            return Ok(objects);
        };
        let from = api_version(&objects[first]).to_string();
        let uid = uuid::Uuid::new_v4().to_string();
        let review = json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "ConversionReview",
            "request": {
                "uid": uid,
                "desiredAPIVersion": to,
                "objects": pending.iter().map(|&i| objects[i].clone()).collect::<Vec<_>>(),
            },
        });
        let answer = self
            .client
            .call(&self.target, self.ca_bundle.as_deref(), &review)
            .await
            .map_err(|why| self.failed(&from, why))?;
        let response = answer
            .get("response")
            .ok_or_else(|| self.failed(&from, "no response provided"))?;
        let answered_uid = response.get("uid").and_then(Value::as_str).unwrap_or("");
        if answered_uid != uid {
            return Err(self.failed(
                &from,
                format!("expected response uid {uid:?}, got {answered_uid:?}"),
            ));
        }
        if response.pointer("/result/status").and_then(Value::as_str) != Some("Success") {
            let message = response
                .pointer("/result/message")
                .and_then(Value::as_str)
                .unwrap_or("");
            return Err(self.failed(&from, message));
        }
        let converted = response
            .get("convertedObjects")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if converted.len() != pending.len() {
            return Err(self.failed(
                &from,
                format!(
                    "returned {} objects, expected {}",
                    converted.len(),
                    pending.len()
                ),
            ));
        }
        for (&i, mut object) in pending.iter().zip(converted) {
            if api_version(&object) != to {
                return Err(self.failed(
                    &from,
                    format!(
                        "invalid converted object at index {i}: invalid apiVersion {:?}, expected {to:?}",
                        api_version(&object)
                    ),
                ));
            }
            restore_metadata(&objects[i], &mut object);
            objects[i] = object;
        }
        Ok(objects)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_labels_and_annotations_come_from_the_webhook() {
        let original = json!({"metadata": {"name": "a", "uid": "u", "labels": {"x": "1"}}});
        let mut converted = json!({"apiVersion": "g/v2", "metadata": {"name": "renamed",
            "uid": "other", "annotations": {"y": "2"}}, "spec": {}});
        restore_metadata(&original, &mut converted);
        assert_eq!(
            converted["metadata"],
            json!({"name": "a", "uid": "u", "annotations": {"y": "2"}})
        );
    }
}
