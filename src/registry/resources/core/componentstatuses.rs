//! `componentstatuses`, as upstream's REST storage of them (`pkg/registry/core/componentstatus`):
//! nothing is stored; every get and list probes the components upstream lists
//! (`pkg/registry/core/rest/storage_core.go` `serversToValidate`): `scheduler`,
//! `controller-manager` and one `etcd-<n>` per storage backend.
//!
//! * each object is `{metadata: {name}, conditions: [{type: Healthy, status, message, error}]}`:
//!   `status` is `True` for a successful probe, `False` for a failed one, `Unknown` otherwise;
//!   `message` and `error` are the probe's (upstream's `getComponentStatus`);
//! * a get of another name is a 404 `componentstatus "<name>" not found`;
//! * a storage backend is healthy when it answers a read of its current revision within the
//!   probe timeout (upstream's etcd prober): message `ok`, else no message and the error.

use std::sync::Arc;
use std::time::Duration;

use apiary_storage::Storage;
use async_trait::async_trait;
use serde_json::{json, Map, Value};

use crate::api::status::{ApiError, ApiResult, GroupResource};
use crate::registry::store::ComputedReads;

/// How long one probe may take (upstream's `probeTimeOut`).
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(20);

/// The outcome of a probe (upstream's `probe.Result`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeResult {
    Success,
    /// A redirect answered: neither healthy nor unhealthy.
    Warning,
    Failure,
    Unknown,
}

/// What a health check found: its result, the message and the error of the condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub result: ProbeResult,
    pub message: String,
    pub error: String,
}

/// A component's health check (upstream's `componentstatus.Server`).
#[async_trait]
pub trait HealthCheck: Send + Sync + 'static {
    async fn check(&self) -> Probe;
}

/// The storage backend's health: a read of its current revision.
pub struct StorageHealth(pub Arc<dyn Storage>);

#[async_trait]
impl HealthCheck for StorageHealth {
    async fn check(&self) -> Probe {
        let failure = |error: String| Probe {
            result: ProbeResult::Failure,
            message: String::new(),
            error,
        };
        match tokio::time::timeout(PROBE_TIMEOUT, self.0.current_revision()).await {
            Ok(Ok(_)) => Probe {
                result: ProbeResult::Success,
                message: "ok".into(),
                error: String::new(),
            },
            Ok(Err(err)) => failure(err.to_string()),
            Err(_) => failure("context deadline exceeded".into()),
        }
    }
}

/// The REST storage of `componentstatuses`: the named components and their health checks.
pub struct ComponentStatuses {
    components: Vec<(String, Arc<dyn HealthCheck>)>,
}

impl ComponentStatuses {
    /// The components upstream lists: the scheduler, the controller manager and the storage
    /// backends, as `etcd-0`, `etcd-1`, ...
    pub fn new(
        scheduler: Arc<dyn HealthCheck>,
        controller_manager: Arc<dyn HealthCheck>,
        storages: Vec<Arc<dyn HealthCheck>>,
    ) -> Self {
        let mut components = vec![
            ("scheduler".to_string(), scheduler),
            ("controller-manager".to_string(), controller_manager),
        ];
        for (n, storage) in storages.into_iter().enumerate() {
            components.push((format!("etcd-{n}"), storage));
        }
        Self { components }
    }
}

/// The ComponentStatus `name` with the condition of `probe`.
pub fn component_status(name: &str, probe: &Probe) -> Value {
    let status = match probe.result {
        ProbeResult::Success => "True",
        ProbeResult::Failure => "False",
        ProbeResult::Warning | ProbeResult::Unknown => "Unknown",
    };
    let mut condition = Map::new();
    condition.insert("type".into(), json!("Healthy"));
    condition.insert("status".into(), json!(status));
    if !probe.message.is_empty() {
        condition.insert("message".into(), json!(probe.message));
    }
    if !probe.error.is_empty() {
        condition.insert("error".into(), json!(probe.error));
    }
    json!({
        "kind": "ComponentStatus",
        "apiVersion": "v1",
        "metadata": {"name": name, "creationTimestamp": null},
        "conditions": [condition],
    })
}

#[async_trait]
impl ComputedReads for ComponentStatuses {
    async fn get(&self, name: &str) -> ApiResult<Value> {
        let Some((_, check)) = self.components.iter().find(|(n, _)| n == name) else {
            // Upstream names the singular resource.
            return Err(ApiError::not_found(
                &GroupResource::new("", "componentstatus"),
                name,
            ));
        };
        Ok(component_status(name, &check.check().await))
    }

    /// Every component, probed concurrently.
    async fn list(&self) -> ApiResult<Vec<Value>> {
        let probes =
            futures::future::join_all(self.components.iter().map(|(_, check)| check.check())).await;
        Ok(self
            .components
            .iter()
            .zip(probes)
            .map(|((name, _), probe)| component_status(name, &probe))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(ProbeResult, &'static str, &'static str);

    #[async_trait]
    impl HealthCheck for Fixed {
        async fn check(&self) -> Probe {
            Probe {
                result: self.0,
                message: self.1.into(),
                error: self.2.into(),
            }
        }
    }

    fn statuses() -> ComponentStatuses {
        ComponentStatuses::new(
            Arc::new(Fixed(
                ProbeResult::Failure,
                "Get \"https://127.0.0.1:10259/healthz\": dial tcp 127.0.0.1:10259: connect: connection refused",
                "",
            )),
            Arc::new(Fixed(ProbeResult::Warning, "moved", "")),
            vec![
                Arc::new(Fixed(ProbeResult::Success, "ok", "")) as Arc<dyn HealthCheck>,
                Arc::new(Fixed(ProbeResult::Failure, "", "storage unavailable: down")),
            ],
        )
    }

    #[tokio::test]
    async fn lists_the_scheduler_the_controller_manager_and_each_storage() {
        let list = statuses().list().await.unwrap();
        let names: Vec<&str> = list
            .iter()
            .map(|cs| cs["metadata"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            ["scheduler", "controller-manager", "etcd-0", "etcd-1"]
        );
        assert_eq!(
            list[0]["conditions"],
            json!([{"type": "Healthy", "status": "False", "message": "Get \"https://127.0.0.1:10259/healthz\": dial tcp 127.0.0.1:10259: connect: connection refused"}])
        );
        assert_eq!(list[1]["conditions"][0]["status"], "Unknown");
        assert_eq!(
            list[2]["conditions"],
            json!([{"type": "Healthy", "status": "True", "message": "ok"}])
        );
        assert_eq!(
            list[3]["conditions"],
            json!([{"type": "Healthy", "status": "False", "error": "storage unavailable: down"}])
        );
        assert_eq!(list[2]["kind"], "ComponentStatus");
    }

    #[tokio::test]
    async fn gets_a_component_and_404s_another_name() {
        let got = statuses().get("etcd-0").await.unwrap();
        assert_eq!(got["metadata"]["name"], "etcd-0");
        assert_eq!(got["conditions"][0]["message"], "ok");
        let err = statuses().get("etcd-2").await.unwrap_err();
        assert_eq!(err.status.code, 404);
        assert_eq!(err.status.message, "componentstatus \"etcd-2\" not found");
    }

    #[tokio::test]
    async fn a_storage_that_answers_is_healthy() {
        let storage: Arc<dyn Storage> = crate::registry::test_support::memory_storage();
        let probe = StorageHealth(storage).check().await;
        assert_eq!(
            probe,
            Probe {
                result: ProbeResult::Success,
                message: "ok".into(),
                error: String::new()
            }
        );
    }
}
