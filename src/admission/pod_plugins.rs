//! The admission plugins every cluster runs on new pods, in upstream's order:
//! `ServiceAccount` (`plugin/pkg/admission/serviceaccount/admission.go`),
//! `DefaultTolerationSeconds` (`plugin/pkg/admission/defaulttolerationseconds/admission.go`) and
//! `Priority` (`plugin/pkg/admission/priority/admission.go`).

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::api::status::{ApiError, ApiResult, GroupResource};
use crate::registry::metadata::{meta_str, random_name_suffix};
use crate::registry::options::ListOptions;
use crate::registry::store::hooks::CreateAdmission;
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
/// Tolerations every pod gets unless it tolerates the taint already (300 s).
const DEFAULT_TOLERATION_SECONDS: i64 = 300;
const NOT_READY_TAINT: &str = "node.kubernetes.io/not-ready";
const UNREACHABLE_TAINT: &str = "node.kubernetes.io/unreachable";
/// The annotation of mirror pods (created by kubelets from static manifests).
const MIRROR_POD_ANNOTATION: &str = "kubernetes.io/config.mirror";

/// The pod admission plugins, over the stores they read.
pub struct PodAdmission {
    service_accounts: Arc<Store>,
    /// `None` without the `scheduling.k8s.io` PriorityClasses: pods then get no priority.
    priority_classes: Option<Arc<Store>>,
}

impl std::fmt::Debug for PodAdmission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PodAdmission")
    }
}

#[async_trait::async_trait]
impl CreateAdmission for PodAdmission {
    async fn admit(&self, pod: &mut Value) -> ApiResult<()> {
        PodAdmission::admit(self, pod).await
    }
}

fn pods() -> GroupResource {
    GroupResource::new("", "pods")
}

impl PodAdmission {
    /// The plugins, reading ServiceAccounts and PriorityClasses from these stores.
    pub fn new(service_accounts: Arc<Store>, priority_classes: Option<Arc<Store>>) -> Self {
        Self {
            service_accounts,
            priority_classes,
        }
    }

    /// Admits a new pod (`pod` has its namespace set): ServiceAccount, then
    /// DefaultTolerationSeconds, then Priority. MUST answer upstream's 403 when a plugin
    /// refuses the pod.
    pub async fn admit(&self, pod: &mut Value) -> ApiResult<()> {
        self.service_account(&self.service_accounts, pod).await?;
        default_tolerations(pod);
        self.priority(pod).await
    }

    /// The ServiceAccount plugin: `default` when the pod names none, the account must exist,
    /// its token volume is mounted unless automounting is off, its image pull secrets are copied.
    async fn service_account(&self, store: &Store, pod: &mut Value) -> ApiResult<()> {
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
        let Some(sa) = lookup_service_account(store, &namespace, &account).await? else {
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

    /// The Priority plugin: a pod without `priorityClassName` gets the global default class's
    /// value (0 and `PreemptLowerPriority` when there is none); a named class must exist and
    /// its value must match a `priority` the pod gives.
    async fn priority(&self, pod: &mut Value) -> ApiResult<()> {
        let name = meta_str(pod, "name").to_string();
        let class_name = pod
            .pointer("/spec/priorityClassName")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let classes = self.priority_classes.as_ref();
        let (class_name, priority, preemption) = if class_name.is_empty() {
            let default_class = match classes {
                Some(store) => global_default_class(store).await?,
                None => None,
            };
            match default_class {
                Some(class) => (
                    meta_str(&class, "name").to_string(),
                    class.get("value").and_then(Value::as_i64).unwrap_or(0),
                    class
                        .get("preemptionPolicy")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                ),
                None => (String::new(), 0, Some("PreemptLowerPriority".to_string())),
            }
        } else {
            let found = match classes {
                Some(store) => match store.get(None, &class_name).await {
                    Ok(class) => Some(class),
                    Err(err) if err.status.code == 404 => None,
                    Err(err) => return Err(err),
                },
                None => None,
            };
            let Some(class) = found else {
                return Err(ApiError::forbidden(
                    &pods(),
                    &name,
                    &format!("no PriorityClass with name {class_name} was found"),
                ));
            };
            (
                class_name,
                class.get("value").and_then(Value::as_i64).unwrap_or(0),
                class
                    .get("preemptionPolicy")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            )
        };
        let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else {
            return Ok(());
        };
        if !class_name.is_empty() {
            spec.insert("priorityClassName".into(), json!(class_name));
        }
        if let Some(given) = spec.get("priority").and_then(Value::as_i64) {
            if given != priority {
                return Err(ApiError::forbidden(
                    &pods(),
                    &name,
                    &format!("the integer value of priority ({given}) must not be provided in pod spec; priority admission controller computed {priority} from the given PriorityClass name"),
                ));
            }
        }
        spec.insert("priority".into(), json!(priority));
        if let Some(computed) = preemption {
            if let Some(given) = spec.get("preemptionPolicy").and_then(Value::as_str) {
                if given != computed {
                    return Err(ApiError::forbidden(
                        &pods(),
                        &name,
                        &format!("the string value of PreemptionPolicy ({given}) must not be provided in pod spec; priority admission controller computed {computed} from the given PriorityClass name"),
                    ));
                }
            }
            spec.insert("preemptionPolicy".into(), json!(computed));
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
        match store.get(Some(namespace), name).await {
            Ok(sa) => return Ok(Some(sa)),
            Err(err) if err.status.code == 404 => continue,
            Err(err) => return Err(err),
        }
    }
    Ok(None)
}

/// The PriorityClass marked `globalDefault`, if any (the one with the highest value when
/// several are, as upstream picks).
async fn global_default_class(store: &Store) -> ApiResult<Option<Value>> {
    let list = store.list(None, &ListOptions::default()).await?;
    Ok(list
        .items
        .into_iter()
        .filter(|c| c.get("globalDefault").and_then(Value::as_bool) == Some(true))
        .max_by_key(|c| c.get("value").and_then(Value::as_i64).unwrap_or(0)))
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

/// The DefaultTolerationSeconds plugin: unless the pod already tolerates them, `not-ready` and
/// `unreachable` NoExecute taints are tolerated for 300 s.
pub fn default_tolerations(pod: &mut Value) {
    let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    let tolerations = spec.entry("tolerations").or_insert_with(|| json!([]));
    if !tolerations.is_array() {
        *tolerations = json!([]);
    }
    let Some(list) = tolerations.as_array_mut() else {
        return;
    };
    let tolerates = |list: &[Value], taint: &str| {
        list.iter().any(|t| {
            let key = t.get("key").and_then(Value::as_str).unwrap_or("");
            let effect = t.get("effect").and_then(Value::as_str).unwrap_or("");
            (key == taint || key.is_empty()) && (effect == "NoExecute" || effect.is_empty())
        })
    };
    for taint in [NOT_READY_TAINT, UNREACHABLE_TAINT] {
        if !tolerates(list, taint) {
            list.push(json!({
                "key": taint,
                "operator": "Exists",
                "effect": "NoExecute",
                "tolerationSeconds": DEFAULT_TOLERATION_SECONDS,
            }));
        }
    }
}
