//! PodSecurity (`staging/src/k8s.io/pod-security-admission`, wired by
//! `plugin/pkg/admission/security/podsecurity`): pods are checked against the Pod Security
//! Standards level their namespace's `pod-security.kubernetes.io/*` labels name.
//!
//! - pods (create, update of what the checks read, `ephemeralcontainers`): `enforce` refuses
//!   with 403, `audit` records audit annotations, `warn` answers warnings;
//! - pod templates of workloads: `audit` and `warn` only, never enforced;
//! - namespaces: labels must parse; a stricter `enforce` label warns about the existing pods
//!   that violate it.
//!
//! Defaults and exemptions come from the plugin's `PodSecurityConfiguration`.

pub mod api;
mod config;
pub mod policy;

#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::Value;

use self::api::{
    labels_of, policy_to_evaluate, Level, LevelVersion, Policy, ANNOTATION_PREFIX,
    AUDIT_LEVEL_LABEL, AUDIT_VERSION_LABEL, AUDIT_VIOLATIONS_ANNOTATION,
    ENFORCED_POLICY_ANNOTATION, ENFORCE_LEVEL_LABEL, ENFORCE_VERSION_LABEL, ERROR_ANNOTATION,
    EXEMPT_ANNOTATION, WARN_LEVEL_LABEL, WARN_VERSION_LABEL,
};
pub use self::config::Configuration;
use self::policy::{aggregate, Aggregate};
use super::{Call, Plugin, PluginContext};
use crate::admission::attributes::{Record, WriteRequest};
use crate::api::status::{ApiError, ApiResult, GroupResource};
use crate::config::ConfigError;
use crate::registry::admission::AdmissionOperation;
use crate::registry::metadata::meta_str;
use crate::registry::options::ListOptions;
use crate::registry::store::Store;
use crate::registry::validation::FieldError;

/// Upstream's `defaultNamespaceMaxPodsToCheck` and `defaultNamespacePodCheckTimeout`.
pub const NAMESPACE_MAX_PODS_TO_CHECK: usize = 3000;
pub const NAMESPACE_POD_CHECK_TIMEOUT: Duration = Duration::from_secs(1);

/// The workload resources whose pod templates are checked (upstream's `DefaultPodSpecExtractor`).
const POD_CONTROLLERS: &[(&str, &str)] = &[
    ("", "podtemplates"),
    ("", "replicationcontrollers"),
    ("apps", "replicasets"),
    ("apps", "deployments"),
    ("apps", "statefulsets"),
    ("apps", "daemonsets"),
    ("batch", "jobs"),
    ("batch", "cronjobs"),
];

/// The PodSecurity plugin.
pub struct PodSecurityPlugin {
    namespaces: Arc<Store>,
    pods: Arc<Store>,
    config: Configuration,
    /// How long the pods of a namespace are checked when its enforce label changes.
    pod_check_timeout: Duration,
}

/// Builds the plugin from its `PodSecurityConfiguration`.
pub fn build(context: &PluginContext<'_>) -> Result<Arc<dyn Plugin>, ConfigError> {
    let config = Configuration::parse(context.configuration).map_err(|why| {
        ConfigError::new(
            "admission.config_file",
            format!("invalid PodSecurity configuration: {why}"),
        )
    })?;
    let store = |plural: &str| {
        context
            .stores
            .by_resource("", "v1", plural)
            .ok_or_else(|| ConfigError::new("admission", format!("PodSecurity needs {plural}")))
    };
    Ok(Arc::new(PodSecurityPlugin::new(
        store("namespaces")?,
        store("pods")?,
        config,
    )))
}

#[async_trait]
impl Plugin for PodSecurityPlugin {
    fn handles(&self, request: &WriteRequest) -> bool {
        let group = request.resource.group.as_str();
        let resource = request.resource.resource.as_str();
        let subresource = request.subresource.as_str();
        match (group, resource) {
            ("", "pods") => subresource.is_empty() || subresource == "ephemeralcontainers",
            _ => subresource.is_empty() && is_handled_resource(group, resource),
        }
    }

    async fn validate(
        &self,
        call: &Call<'_>,
        obj: Option<&Value>,
        old: Option<&Value>,
    ) -> ApiResult<()> {
        let attributes = call.attributes;
        if !matches!(
            attributes.operation,
            AdmissionOperation::Create | AdmissionOperation::Update
        ) {
            return Ok(());
        }
        let Some(obj) = obj else {
            return Ok(());
        };
        match (
            attributes.resource.group.as_str(),
            attributes.resource.resource.as_str(),
        ) {
            ("", "namespaces") => self.validate_namespace(call, obj, old).await,
            ("", "pods") => self.validate_pod(call, obj, old).await,
            _ => self.validate_pod_controller(call, obj).await,
        }
    }
}

fn is_handled_resource(group: &str, resource: &str) -> bool {
    (group.is_empty() && resource == "namespaces") || POD_CONTROLLERS.contains(&(group, resource))
}

fn annotate(record: &Record, key: &str, value: impl Into<String>) {
    record.annotate(format!("{ANNOTATION_PREFIX}{key}"), value);
}

impl PodSecurityPlugin {
    pub fn new(namespaces: Arc<Store>, pods: Arc<Store>, config: Configuration) -> Self {
        Self {
            namespaces,
            pods,
            config,
            pod_check_timeout: NAMESPACE_POD_CHECK_TIMEOUT,
        }
    }

    fn exempt_namespace(&self, namespace: &str) -> bool {
        !namespace.is_empty() && self.config.exempt_namespaces.contains(namespace)
    }

    fn exempt_user(&self, user: &str) -> bool {
        !user.is_empty() && self.config.exempt_usernames.contains(user)
    }

    fn exempt_runtime_class(&self, spec: &Value) -> bool {
        let class = spec
            .get("runtimeClassName")
            .and_then(Value::as_str)
            .unwrap_or("");
        !class.is_empty() && self.config.exempt_runtime_classes.contains(class)
    }

    fn policy_to_evaluate(&self, namespace: &Value) -> (Policy, Vec<FieldError>) {
        policy_to_evaluate(Some(&labels_of(namespace)), self.config.defaults)
    }

    /// Upstream's `ValidateNamespace`.
    async fn validate_namespace(
        &self,
        call: &Call<'_>,
        namespace: &Value,
        old: Option<&Value>,
    ) -> ApiResult<()> {
        let name = meta_str(namespace, "name");
        let (new_policy, new_errors) = self.policy_to_evaluate(namespace);
        let invalid = |errors: &[FieldError]| {
            let causes = errors.iter().map(FieldError::to_cause).collect();
            Err(ApiError::invalid("", "Namespace", name, causes))
        };
        let exempt_warning = || {
            if let Some(warning) = self.exempt_namespace_warning(name, &new_policy, namespace) {
                call.record.warn(warning);
            }
        };
        let Some(old) = old.filter(|_| call.attributes.operation == AdmissionOperation::Update)
        else {
            if !new_errors.is_empty() {
                return invalid(&new_errors);
            }
            if self.exempt_namespace(name) {
                exempt_warning();
            }
            return Ok(());
        };
        let (old_policy, old_errors) = self.policy_to_evaluate(old);
        if !new_errors.is_empty() && (old_errors.is_empty() || new_errors != old_errors) {
            return invalid(&new_errors);
        }
        let (new, old) = (new_policy.enforce, old_policy.enforce);
        if new == old
            || new.level == Level::Privileged
            || (new.version == old.version && new.level <= old.level)
        {
            return Ok(());
        }
        if self.exempt_namespace(name) {
            exempt_warning();
            return Ok(());
        }
        for warning in self.evaluate_pods_in_namespace(name, new).await {
            call.record.warn(warning);
        }
        Ok(())
    }

    /// Upstream's `exemptNamespaceWarning`: the non-privileged modes the labels set.
    fn exempt_namespace_warning(
        &self,
        name: &str,
        policy: &Policy,
        namespace: &Value,
    ) -> Option<String> {
        if policy.fully_privileged() || policy.equivalent(&self.config.defaults) {
            return None;
        }
        let labels = labels_of(namespace);
        let modes = [
            (
                "enforce",
                policy.enforce,
                ENFORCE_LEVEL_LABEL,
                ENFORCE_VERSION_LABEL,
            ),
            (
                "audit",
                policy.audit,
                AUDIT_LEVEL_LABEL,
                AUDIT_VERSION_LABEL,
            ),
            ("warn", policy.warn, WARN_LEVEL_LABEL, WARN_VERSION_LABEL),
        ];
        let parts: Vec<String> = modes
            .into_iter()
            .filter(|(_, lv, level, version)| {
                lv.level != Level::Privileged
                    && (labels.contains_key(*level) || labels.contains_key(*version))
            })
            .map(|(mode, lv, _, _)| format!("{mode}={lv}"))
            .collect();
        Some(format!(
            "namespace {name:?} is exempt from Pod Security, and the policy ({}) will be ignored",
            parts.join(", ")
        ))
    }

    /// Upstream's `EvaluatePodsInNamespace`: warnings for the existing pods that violate the
    /// new enforce level, one line per distinct violation, within a time and count limit.
    pub async fn evaluate_pods_in_namespace(
        &self,
        namespace: &str,
        enforce: LevelVersion,
    ) -> Vec<String> {
        let deadline = Instant::now() + self.pod_check_timeout;
        let listed = tokio::time::timeout(
            self.pod_check_timeout,
            self.pods.list(Some(namespace), &ListOptions::default()),
        )
        .await;
        let Ok(Ok(list)) = listed else {
            return vec!["failed to list pods while checking new PodSecurity enforce level".into()];
        };
        let mut pods = self.prioritize_pods(list.items);
        let total = pods.len();
        pods.truncate(NAMESPACE_MAX_PODS_TO_CHECK);
        let mut checked = pods.len();
        // (violations, first pod name by name order, pod count), in first-seen order.
        let mut seen: Vec<(String, String, usize)> = Vec::new();
        for (i, pod) in pods.iter().enumerate() {
            let empty = Value::Null;
            let metadata = pod.get("metadata").unwrap_or(&empty);
            let spec = pod.get("spec").unwrap_or(&empty);
            let result = aggregate(enforce, metadata, spec);
            if !result.allowed() {
                let reason = result.forbidden_reason();
                let pod_name = meta_str(pod, "name");
                match seen.iter_mut().find(|(r, _, _)| *r == reason) {
                    Some((_, first, count)) => {
                        if pod_name < first.as_str() {
                            *first = pod_name.to_string();
                        }
                        *count += 1;
                    }
                    None => seen.push((reason, pod_name.to_string(), 1)),
                }
            }
            if Instant::now() >= deadline {
                checked = i + 1;
                break;
            }
        }
        let mut warnings = Vec::new();
        if checked < total {
            warnings.push(format!(
                "new PodSecurity enforce level only checked against the first {checked} of {total} existing pods"
            ));
        }
        if !seen.is_empty() {
            warnings.push(format!(
                "existing pods in namespace {namespace:?} violate the new PodSecurity enforce level \"{enforce}\""
            ));
        }
        let mut pod_warnings: Vec<String> = seen
            .into_iter()
            .map(|(reason, pod, count)| match count {
                1 => format!("{pod}: {reason}"),
                2 => format!("{pod} (and 1 other pod): {reason}"),
                n => format!("{pod} (and {} other pods): {reason}", n - 1),
            })
            .collect();
        pod_warnings.sort();
        warnings.extend(pod_warnings);
        warnings
    }

    /// Upstream's `prioritizePods`: exempt runtime classes dropped, then one pod per
    /// controller first, the other replicas after.
    fn prioritize_pods(&self, pods: Vec<Value>) -> Vec<Value> {
        let mut first = Vec::with_capacity(pods.len());
        let mut duplicates = Vec::new();
        let mut controllers = HashSet::new();
        for pod in pods {
            let empty = Value::Null;
            if self.exempt_runtime_class(pod.get("spec").unwrap_or(&empty)) {
                continue;
            }
            let controller = pod
                .pointer("/metadata/ownerReferences")
                .and_then(Value::as_array)
                .and_then(|refs| {
                    refs.iter()
                        .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
                })
                .and_then(|r| r.get("uid").and_then(Value::as_str))
                .map(str::to_string);
            match controller {
                Some(uid) if !controllers.insert(uid.clone()) => duplicates.push(pod),
                _ => first.push(pod),
            }
        }
        first.extend(duplicates);
        first
    }

    /// The namespace of the request, for its labels.
    async fn namespace(&self, name: &str) -> ApiResult<Value> {
        self.namespaces.get_listed(None, name).await
    }

    /// Upstream's `ValidatePod`.
    async fn validate_pod(
        &self,
        call: &Call<'_>,
        pod: &Value,
        old: Option<&Value>,
    ) -> ApiResult<()> {
        let attributes = call.attributes;
        if self.exempt_namespace(&attributes.namespace) {
            annotate(call.record, EXEMPT_ANNOTATION, "namespace");
            return Ok(());
        }
        if self.exempt_user(&attributes.user.name) {
            annotate(call.record, EXEMPT_ANNOTATION, "user");
            return Ok(());
        }
        let Ok(namespace) = self.namespace(&attributes.namespace).await else {
            return Err(ApiError::internal(format!(
                "failed to lookup namespace {:?}",
                attributes.namespace
            )));
        };
        let (policy, errors) = self.policy_to_evaluate(&namespace);
        if errors.is_empty() && policy.fully_privileged() {
            let privileged = LevelVersion::PRIVILEGED_LATEST.to_string();
            annotate(call.record, ENFORCED_POLICY_ANNOTATION, privileged);
            return Ok(());
        }
        if attributes.operation == AdmissionOperation::Update {
            if let Some(old) = old {
                if !is_significant_pod_update(pod, old) {
                    return Ok(());
                }
            }
        }
        let empty = Value::Null;
        let metadata = pod.get("metadata").unwrap_or(&empty);
        let spec = pod.get("spec").unwrap_or(&empty);
        self.evaluate_pod(call, &policy, &errors, metadata, spec, true)
    }

    /// Upstream's `ValidatePodController`: the template's audit and warn, never enforce.
    async fn validate_pod_controller(&self, call: &Call<'_>, obj: &Value) -> ApiResult<()> {
        let attributes = call.attributes;
        if self.exempt_namespace(&attributes.namespace) {
            annotate(call.record, EXEMPT_ANNOTATION, "namespace");
            return Ok(());
        }
        if self.exempt_user(&attributes.user.name) {
            annotate(call.record, EXEMPT_ANNOTATION, "user");
            return Ok(());
        }
        let namespace = match self.namespace(&attributes.namespace).await {
            Ok(namespace) => namespace,
            Err(err) => {
                let why = format!(
                    "failed to lookup namespace {:?}: {}",
                    attributes.namespace, err.status.message
                );
                annotate(call.record, ERROR_ANNOTATION, why);
                return Ok(());
            }
        };
        let (policy, errors) = self.policy_to_evaluate(&namespace);
        if errors.is_empty()
            && policy.warn.level == Level::Privileged
            && policy.audit.level == Level::Privileged
        {
            return Ok(());
        }
        let Some(template) = pod_template(&attributes.resource.resource, obj) else {
            return Ok(());
        };
        let empty = Value::Null;
        let metadata = template.get("metadata").unwrap_or(&empty);
        let spec = template.get("spec").unwrap_or(&empty);
        self.evaluate_pod(call, &policy, &errors, metadata, spec, false)
    }

    /// Upstream's `EvaluatePod`: enforce (when `enforce`), audit and warn, each level and
    /// version evaluated once.
    fn evaluate_pod(
        &self,
        call: &Call<'_>,
        policy: &Policy,
        errors: &[FieldError],
        metadata: &Value,
        spec: &Value,
        enforce: bool,
    ) -> ApiResult<()> {
        let record = call.record;
        if self.exempt_runtime_class(spec) {
            annotate(record, EXEMPT_ANNOTATION, "runtimeClass");
            return Ok(());
        }
        if !errors.is_empty() {
            let why = format!("Failed to parse policy: {}", api::aggregate(errors));
            annotate(record, ERROR_ANNOTATION, why);
        }
        let mut cache: Vec<(LevelVersion, Aggregate)> = Vec::new();
        let mut evaluate = |lv: LevelVersion| -> Aggregate {
            if let Some((_, result)) = cache.iter().find(|(cached, _)| *cached == lv) {
                return result.clone();
            }
            let result = aggregate(lv, metadata, spec);
            cache.push((lv, result.clone()));
            result
        };
        let mut denied = None;
        if enforce {
            annotate(
                record,
                ENFORCED_POLICY_ANNOTATION,
                policy.enforce.to_string(),
            );
            let result = evaluate(policy.enforce);
            if !result.allowed() {
                let attributes = call.attributes;
                let resource = &attributes.resource;
                let why = format!(
                    "violates PodSecurity \"{}\": {}",
                    policy.enforce,
                    result.forbidden_detail()
                );
                denied = Some(ApiError::forbidden(
                    &GroupResource::new(resource.group.clone(), resource.resource.clone()),
                    &attributes.name,
                    &why,
                ));
            }
        }
        let audit = evaluate(policy.audit);
        if !audit.allowed() {
            let violations = format!(
                "would violate PodSecurity \"{}\": {}",
                policy.audit,
                audit.forbidden_detail()
            );
            annotate(record, AUDIT_VIOLATIONS_ANNOTATION, violations);
        }
        if let Some(denied) = denied {
            return Err(denied);
        }
        let warn = evaluate(policy.warn);
        if !warn.allowed() {
            record.warn(format!(
                "would violate PodSecurity \"{}\": {}",
                policy.warn,
                warn.forbidden_detail()
            ));
        }
        Ok(())
    }
}

/// The pod template of a workload object (`None` when it has none).
fn pod_template<'a>(resource: &str, obj: &'a Value) -> Option<&'a Value> {
    let template = match resource {
        "podtemplates" => obj.get("template"),
        "cronjobs" => obj.pointer("/spec/jobTemplate/spec/template"),
        _ => obj.pointer("/spec/template"),
    };
    template.filter(|t| !t.is_null())
}

/// Upstream's `isSignificantPodUpdate`: whether an update changed what the checks read that a
/// pod update may change (images, containers' seccomp annotations, containers added).
pub fn is_significant_pod_update(pod: &Value, old: &Value) -> bool {
    let annotation = |pod: &Value, key: &str| -> Option<String> {
        pod.pointer("/metadata/annotations")
            .and_then(|a| a.get(key))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let list = |pod: &'_ Value, key: &str| -> Vec<Value> {
        pod.pointer(&format!("/spec/{key}"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let container_changed = |c: &Value, o: &Value| {
        let image = |c: &Value| c.get("image").and_then(Value::as_str).map(str::to_string);
        if image(c) != image(o) {
            return true;
        }
        let key = format!(
            "{}{}",
            policy::SECCOMP_CONTAINER_ANNOTATION_PREFIX,
            c.get("name").and_then(Value::as_str).unwrap_or("")
        );
        annotation(pod, &key) != annotation(old, &key)
    };
    for key in ["containers", "initContainers"] {
        let (new, previous) = (list(pod, key), list(old, key));
        if new.len() != previous.len() {
            return true;
        }
        if new
            .iter()
            .zip(&previous)
            .any(|(c, o)| container_changed(c, o))
        {
            return true;
        }
    }
    let previous = list(old, "ephemeralContainers");
    list(pod, "ephemeralContainers").iter().any(|c| {
        let name = c.get("name");
        match previous.iter().find(|o| o.get("name") == name) {
            None => true,
            Some(o) => container_changed(c, o),
        }
    })
}
