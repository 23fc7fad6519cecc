//! AlwaysPullImages (`plugin/pkg/admission/alwayspullimages/admission.go`): every container of a
//! pod (init, regular and ephemeral) pulls its image each time it starts, so that a pod can only
//! use an image its pull credentials allow. Its validating half refuses a pod whose containers
//! do not say `Always` (after a webhook changed them). Updates that bring no new image are left
//! alone.

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use http::StatusCode;
use serde_json::Value;

use super::common::forbidden;
use super::service_account::is_pods;
use super::{Call, Plugin, PluginContext};
use crate::admission::attributes::WriteRequest;
use crate::api::status::{ApiError, ApiResult};
use crate::config::ConfigError;
use crate::registry::admission::AdmissionOperation;

/// The container lists of a pod spec, in upstream's `VisitContainersWithPath` order.
const CONTAINER_LISTS: [&str; 3] = ["initContainers", "containers", "ephemeralContainers"];

/// The AlwaysPullImages plugin.
pub struct AlwaysPullImages;

/// Builds the plugin.
pub fn build(_context: &PluginContext<'_>) -> Result<Arc<dyn Plugin>, ConfigError> {
    Ok(Arc::new(AlwaysPullImages))
}

/// Every container of `pod` with its field path (`spec.containers[0]`).
fn containers(pod: &Value) -> Vec<(String, &Value)> {
    let mut all = Vec::new();
    for list in CONTAINER_LISTS {
        let items = pod
            .pointer(&format!("/spec/{list}"))
            .and_then(Value::as_array);
        for (i, container) in items.into_iter().flatten().enumerate() {
            all.push((format!("spec.{list}[{i}]"), container));
        }
    }
    all
}

/// Sets `imagePullPolicy: Always` on every container of `pod`.
pub fn pull_always(pod: &mut Value) {
    for list in CONTAINER_LISTS {
        let items = pod
            .pointer_mut(&format!("/spec/{list}"))
            .and_then(Value::as_array_mut);
        for container in items.into_iter().flatten() {
            if let Some(container) = container.as_object_mut() {
                container.insert("imagePullPolicy".into(), "Always".into());
            }
        }
    }
}

/// Upstream's `shouldIgnore` beyond the resource: an update whose images were all used before.
fn update_without_new_images(call: &Call<'_>, pod: &Value, old: Option<&Value>) -> bool {
    if call.attributes.operation != AdmissionOperation::Update {
        return false;
    }
    let Some(old) = old else {
        return false;
    };
    let image = |c: &Value| {
        c.get("image")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let before: HashSet<String> = containers(old).into_iter().map(|(_, c)| image(c)).collect();
    containers(pod)
        .into_iter()
        .all(|(_, c)| before.contains(&image(c)))
}

/// The refusals of containers that do not pull always, as upstream's aggregate of Forbidden
/// errors (not a Status: upstream answers it as a 500 with the aggregate's message).
pub fn check_pull_always(call: &Call<'_>, pod: &Value) -> ApiResult<()> {
    let mut messages = Vec::new();
    for (path, container) in containers(pod) {
        let policy = container
            .get("imagePullPolicy")
            .and_then(Value::as_str)
            .unwrap_or("");
        if policy != "Always" {
            let why = format!(
                "{path}.imagePullPolicy: Unsupported value: {policy:?}: supported values: \"Always\""
            );
            messages.push(forbidden(call.attributes, Some(pod), &why).status.message);
        }
    }
    if messages.is_empty() {
        return Ok(());
    }
    Err(aggregate(&messages))
}

/// Upstream's `utilerrors.NewAggregate` as the API server answers it: a 500 with reason
/// `Unknown` (empty) and the joined messages.
fn aggregate(messages: &[String]) -> ApiError {
    let message = match messages {
        [one] => one.clone(),
        many => format!("[{}]", many.join(", ")),
    };
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "", message, None)
}

#[async_trait]
impl Plugin for AlwaysPullImages {
    fn handles(&self, request: &WriteRequest) -> bool {
        is_pods(request)
    }

    async fn admit(&self, call: &Call<'_>, pod: &mut Value, old: Option<&Value>) -> ApiResult<()> {
        if update_without_new_images(call, pod, old) {
            return Ok(());
        }
        pull_always(pod);
        Ok(())
    }

    async fn validate(
        &self,
        call: &Call<'_>,
        obj: Option<&Value>,
        old: Option<&Value>,
    ) -> ApiResult<()> {
        let Some(pod) = obj else {
            return Ok(());
        };
        if !matches!(
            call.attributes.operation,
            AdmissionOperation::Create | AdmissionOperation::Update
        ) || update_without_new_images(call, pod, old)
        {
            return Ok(());
        }
        check_pull_always(call, pod)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::admission::attributes::Record;
    use crate::admission::plugins::common::testing::{attributes_by, request, someone};

    fn pod(image: &str, policy: &str) -> Value {
        json!({"metadata": {"name": "p"}, "spec": {
            "initContainers": [{"name": "i", "image": "init", "imagePullPolicy": policy}],
            "containers": [{"name": "c", "image": image, "imagePullPolicy": policy}],
            "ephemeralContainers": [{"name": "e", "image": "debug"}],
        }})
    }

    #[tokio::test]
    async fn every_container_pulls_always() {
        let plugin = AlwaysPullImages;
        let record = Record::default();
        let create = attributes_by(
            AdmissionOperation::Create,
            ("", "pods", ""),
            "Pod",
            someone("ann"),
        );
        assert!(plugin.handles(&request(&create)));
        let call = Call {
            attributes: &create,
            record: &record,
        };
        let mut new = pod("app:1", "IfNotPresent");
        plugin.admit(&call, &mut new, None).await.unwrap();
        for list in CONTAINER_LISTS {
            assert_eq!(new["spec"][list][0]["imagePullPolicy"], "Always", "{list}");
        }
        plugin
            .validate(&call, Some(&new), None)
            .await
            .expect("all Always");

        let update = attributes_by(
            AdmissionOperation::Update,
            ("", "pods", ""),
            "Pod",
            someone("ann"),
        );
        let call = Call {
            attributes: &update,
            record: &record,
        };
        let old = pod("app:1", "Never");
        let mut same = pod("app:1", "Never");
        plugin.admit(&call, &mut same, Some(&old)).await.unwrap();
        assert_eq!(same, old, "an update without new images is left alone");
        plugin
            .validate(&call, Some(&same), Some(&old))
            .await
            .expect("no new image");
        let mut newer = pod("app:2", "Never");
        plugin.admit(&call, &mut newer, Some(&old)).await.unwrap();
        assert_eq!(
            newer["spec"]["initContainers"][0]["imagePullPolicy"],
            "Always"
        );

        let err = plugin
            .validate(&call, Some(&pod("app:2", "Never")), Some(&old))
            .await
            .unwrap_err();
        assert_eq!(err.status.code, 500);
        assert_eq!(
            err.status.message,
            "[pods \"p\" is forbidden: spec.initContainers[0].imagePullPolicy: Unsupported value: \"Never\": supported values: \"Always\", pods \"p\" is forbidden: spec.containers[0].imagePullPolicy: Unsupported value: \"Never\": supported values: \"Always\", pods \"p\" is forbidden: spec.ephemeralContainers[0].imagePullPolicy: Unsupported value: \"\": supported values: \"Always\"]"
        );
    }
}
