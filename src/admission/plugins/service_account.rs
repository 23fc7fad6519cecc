//! ServiceAccount (`plugin/pkg/admission/serviceaccount/admission.go`): a new pod runs as a
//! ServiceAccount that exists, mounts its token and gets its image pull secrets.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Map, Value};

use async_trait::async_trait;

use super::{Call, Plugin, PluginContext};
use crate::admission::attributes::WriteRequest;
use crate::api::status::{ApiError, ApiResult, GroupResource};
use crate::config::ConfigError;
use crate::registry::admission::AdmissionOperation;
use crate::registry::metadata::{meta_str, random_name_suffix};
use crate::registry::store::Store;

/// The ServiceAccount of pods that name none.
pub const DEFAULT_SERVICE_ACCOUNT: &str = "default";
/// Where the token volume is mounted in every container.
pub const TOKEN_MOUNT_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
/// The prefix of the token volume's name (`kube-api-access-<5 random characters>`).
pub const TOKEN_VOLUME_PREFIX: &str = "kube-api-access-";
/// Upstream's `WarnOnlyBoundTokenExpirationSeconds`: one hour and seven seconds.
pub const TOKEN_EXPIRATION_SECONDS: i64 = 3607;
/// How often a missing `default` ServiceAccount is looked up before the pod is refused (the
/// controller creates it right after its namespace), and the pause between lookups.
const DEFAULT_SERVICE_ACCOUNT_ATTEMPTS: usize = 10;
/// The annotation of mirror pods (created by kubelets from static manifests).
const MIRROR_POD_ANNOTATION: &str = "kubernetes.io/config.mirror";

/// The ServiceAccount plugin, over the ServiceAccounts store.
pub struct ServiceAccountPlugin {
    service_accounts: Arc<Store>,
}

/// Builds the plugin.
pub fn build(context: &PluginContext<'_>) -> Result<Arc<dyn Plugin>, ConfigError> {
    let service_accounts = context
        .stores
        .by_resource("", "v1", "serviceaccounts")
        .ok_or_else(|| ConfigError::new("admission", "ServiceAccount needs serviceaccounts"))?;
    Ok(Arc::new(ServiceAccountPlugin { service_accounts }))
}

/// Whether `request` addresses pods themselves (no subresource).
pub(crate) fn is_pods(request: &WriteRequest) -> bool {
    request.resource.group.is_empty()
        && request.resource.resource == "pods"
        && request.subresource.is_empty()
}

pub(crate) fn pods() -> GroupResource {
    GroupResource::new("", "pods")
}

#[async_trait]
impl Plugin for ServiceAccountPlugin {
    fn handles(&self, request: &WriteRequest) -> bool {
        is_pods(request)
    }

    async fn admit(&self, call: &Call<'_>, pod: &mut Value, _old: Option<&Value>) -> ApiResult<()> {
        if call.attributes.operation != AdmissionOperation::Create {
            return Ok(());
        }
        self.service_account(pod).await
    }
}

impl ServiceAccountPlugin {
    /// The ServiceAccount plugin: `default` when the pod names none, the account must exist,
    /// its token volume is mounted unless automounting is off, its image pull secrets are copied.
    async fn service_account(&self, pod: &mut Value) -> ApiResult<()> {
        let is_mirror = pod
            .pointer("/metadata/annotations")
            .and_then(Value::as_object)
            .is_some_and(|a| a.contains_key(MIRROR_POD_ANNOTATION));
        if is_mirror {
            return Ok(());
        }
        let namespace = meta_str(pod, "namespace").to_string();
        let name = meta_str(pod, "name").to_string();
        let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else {
            return Ok(());
        };
        let account = match spec.get("serviceAccountName").and_then(Value::as_str) {
            Some(s) if !s.is_empty() => s.to_string(),
            _ => DEFAULT_SERVICE_ACCOUNT.to_string(),
        };
        spec.insert("serviceAccountName".into(), json!(account));
        spec.insert("serviceAccount".into(), json!(account));
        let Some(sa) = lookup_service_account(&self.service_accounts, &namespace, &account).await?
        else {
            return Err(ApiError::forbidden(
                &pods(),
                &name,
                &format!(
                    "error looking up service account {namespace}/{account}: serviceaccount \"{account}\" not found"
                ),
            ));
        };
        if should_automount(&sa, spec) {
            mount_token(spec);
        }
        let has_pull_secrets = spec
            .get("imagePullSecrets")
            .and_then(Value::as_array)
            .is_some_and(|l| !l.is_empty());
        if !has_pull_secrets {
            let from_account: Vec<Value> = sa
                .get("imagePullSecrets")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|s| json!({"name": s.get("name").cloned().unwrap_or(json!(""))}))
                .collect();
            if !from_account.is_empty() {
                spec.insert("imagePullSecrets".into(), Value::Array(from_account));
            }
        }
        Ok(())
    }
}

/// Looks the account up; a missing `default` account is looked up again a few times (its
/// controller creates it right after the namespace), as upstream's `getServiceAccount`.
async fn lookup_service_account(
    store: &Store,
    namespace: &str,
    name: &str,
) -> ApiResult<Option<Value>> {
    let attempts = if name == DEFAULT_SERVICE_ACCOUNT {
        DEFAULT_SERVICE_ACCOUNT_ATTEMPTS
    } else {
        1
    };
    let jitter = u64::from(uuid::Uuid::new_v4().as_bytes()[0]) % 100;
    let pause = Duration::from_millis(100 + jitter);
    for attempt in 0..attempts {
        if attempt > 0 {
            tokio::time::sleep(pause).await;
        }
        match store.get_listed(Some(namespace), name).await {
            Ok(sa) => return Ok(Some(sa)),
            Err(err) if err.status.code == 404 => continue,
            Err(err) => return Err(err),
        }
    }
    Ok(None)
}

/// Upstream's `shouldAutomount`: the pod's `automountServiceAccountToken` wins, then the
/// account's, else true.
pub(crate) fn should_automount(sa: &Value, spec: &Map<String, Value>) -> bool {
    spec.get("automountServiceAccountToken")
        .and_then(Value::as_bool)
        .or_else(|| {
            sa.get("automountServiceAccountToken")
                .and_then(Value::as_bool)
        })
        .unwrap_or(true)
}

/// The projected token volume upstream's `TokenVolumeSource` describes: the token, the cluster
/// CA from `kube-root-ca.crt`, and the namespace, mode 0644.
pub fn token_volume(name: &str) -> Value {
    json!({
        "name": name,
        "projected": {
            "defaultMode": 420,
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": TOKEN_EXPIRATION_SECONDS, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
            ],
        },
    })
}

/// Upstream's `mountServiceAccountToken`: every init container and container without a mount
/// at [`TOKEN_MOUNT_PATH`] mounts the token volume read-only; the volume (an existing
/// `kube-api-access-*` one, else a new one with a random suffix) is added when needed.
pub(crate) fn mount_token(spec: &mut Map<String, Value>) {
    let existing = spec
        .get("volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.get("name").and_then(Value::as_str))
        .find(|n| n.starts_with(TOKEN_VOLUME_PREFIX))
        .map(str::to_string);
    let has_volume = existing.is_some();
    let volume_name =
        existing.unwrap_or_else(|| format!("{TOKEN_VOLUME_PREFIX}{}", random_name_suffix()));
    let mount = json!({"name": volume_name, "readOnly": true, "mountPath": TOKEN_MOUNT_PATH});
    let mut needs_volume = false;
    for list in ["initContainers", "containers"] {
        let Some(containers) = spec.get_mut(list).and_then(Value::as_array_mut) else {
            continue;
        };
        for container in containers.iter_mut().filter_map(Value::as_object_mut) {
            let mounted = container
                .get("volumeMounts")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|m| m.get("mountPath").and_then(Value::as_str) == Some(TOKEN_MOUNT_PATH));
            if mounted {
                continue;
            }
            let mounts = container.entry("volumeMounts").or_insert_with(|| json!([]));
            if let Some(mounts) = mounts.as_array_mut() {
                mounts.push(mount.clone());
                needs_volume = true;
            }
        }
    }
    if needs_volume && !has_volume {
        let volumes = spec.entry("volumes").or_insert_with(|| json!([]));
        if let Some(volumes) = volumes.as_array_mut() {
            volumes.push(token_volume(&volume_name));
        }
    }
}
