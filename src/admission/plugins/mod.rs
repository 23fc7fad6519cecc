//! The built-in admission plugins of kube-apiserver 1.33, by upstream's names, and which of them
//! run ([`PluginSettings`]: the defaults, `admission.enable_plugins`/`disable_plugins`, and the
//! plugins' own configurations from `admission.config_file`).
//!
//! [`ORDER`] is upstream's `AllOrderedPlugins`: the chain ([`super::chain`]) runs the enabled
//! plugins' mutating halves in this order, then their validating halves in this order. The
//! dynamic plugins (webhooks, ValidatingAdmissionPolicy) are run by the chain itself at their
//! place in the list; every other plugin is a [`Plugin`].

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use super::attributes::{Attributes, Record, StoreLookup, WriteRequest};
use crate::api::status::ApiResult;
use crate::config::{AdmissionConfig, ConfigError};
use crate::outbound::credentials::WebhookCredentials;
use crate::request::authorization::Authorization;

pub mod always_pull_images;
pub mod certificate_approval;
pub mod certificate_signing;
pub mod certificate_subject_restriction;
pub mod cluster_trust_bundle_attest;
pub mod common;
pub mod default_ingress_class;
pub mod default_storage_class;
pub mod default_tolerations;
pub mod deny_external_ips;
pub mod event_rate_limit;
pub mod limit_ranger;
pub mod pod_security;
pub mod priority;
pub mod pvc_resize;
pub mod resource_quota;
pub mod runtime_class;
pub mod service_account;
pub mod storage_protection;
pub mod taint_nodes;

#[cfg(test)]
mod tests;

/// One call of a plugin: the attributes of the write and where its warnings and audit
/// annotations go.
pub struct Call<'a> {
    pub attributes: &'a Attributes,
    pub record: &'a Record,
}

/// A built-in admission plugin (upstream's `admission.Interface` with its `MutationInterface`
/// and `ValidationInterface` halves).
#[async_trait]
pub trait Plugin: Send + Sync + 'static {
    /// Whether the plugin may change or refuse the write `request` describes (by resource,
    /// subresource, namespace). Asked once per request, before the object and the operation
    /// are known (an apply may create or update). MUST be cheap: no storage, no await. MUST
    /// answer true for every request [`Plugin::admit`] or [`Plugin::validate`] would act on;
    /// a request no plugin, webhook or policy handles skips admission altogether.
    fn handles(&self, request: &WriteRequest) -> bool;

    /// The mutating half: MAY change `obj` (for an update, `old` is the stored object). An
    /// error refuses the write and MUST be upstream's Status for it.
    async fn admit(&self, call: &Call<'_>, obj: &mut Value, old: Option<&Value>) -> ApiResult<()> {
        let _ = (call, obj, old);
        Ok(())
    }

    /// The validating half: MUST NOT change anything. `obj` is `None` on a delete.
    async fn validate(
        &self,
        call: &Call<'_>,
        obj: Option<&Value>,
        old: Option<&Value>,
    ) -> ApiResult<()> {
        let _ = (call, obj, old);
        Ok(())
    }
}

/// What plugins are built from.
pub struct PluginContext<'a> {
    /// The store of any served resource.
    pub stores: &'a Arc<dyn StoreLookup>,
    /// The server's authorizers (the certificate plugins ask them about the requester).
    pub authorization: &'a Arc<Authorization>,
    /// The plugin's `configuration` from `admission.config_file`, if it has one there.
    pub configuration: Option<&'a Value>,
}

/// Builds a plugin; a wrong configuration is a [`ConfigError`] naming `admission.config_file`.
pub type Builder = fn(&PluginContext<'_>) -> Result<Arc<dyn Plugin>, ConfigError>;

/// How Apiary runs a plugin upstream knows.
#[derive(Clone, Copy)]
pub enum Support {
    /// A [`Plugin`], built by this function.
    BuiltIn(Builder),
    /// Run by the chain itself (webhooks, ValidatingAdmissionPolicy).
    Dynamic,
    /// Always on: the store runs it (NamespaceLifecycle's check of creates).
    InStore,
    /// Known upstream, not implemented here: enabling it stops start-up.
    Missing,
}

/// One plugin of upstream's list.
#[derive(Clone, Copy)]
pub struct KnownPlugin {
    pub name: &'static str,
    /// On unless `admission.disable_plugins` names it (upstream's default set of 1.33).
    pub default_on: bool,
    pub support: Support,
}

const fn known(name: &'static str, default_on: bool, support: Support) -> KnownPlugin {
    KnownPlugin {
        name,
        default_on,
        support,
    }
}

/// The plugins run after the webhooks and policies (upstream: "webhook, resourcequota, and
/// deny plugins must go at the end").
pub const LATE: &[&str] = &["ResourceQuota", "AlwaysDeny"];

/// Upstream's `AllOrderedPlugins` (kube-apiserver 1.33), in execution order.
pub const ORDER: &[KnownPlugin] = &[
    known("AlwaysAdmit", false, Support::Missing),
    known("NamespaceAutoProvision", false, Support::Missing),
    known("NamespaceLifecycle", true, Support::InStore),
    known("NamespaceExists", false, Support::Missing),
    known("LimitPodHardAntiAffinityTopology", false, Support::Missing),
    known("LimitRanger", true, Support::BuiltIn(limit_ranger::build)),
    known(
        "ServiceAccount",
        true,
        Support::BuiltIn(service_account::build),
    ),
    known("NodeRestriction", false, Support::Missing),
    known(
        "TaintNodesByCondition",
        true,
        Support::BuiltIn(taint_nodes::build),
    ),
    known(
        "AlwaysPullImages",
        false,
        Support::BuiltIn(always_pull_images::build),
    ),
    known("ImagePolicyWebhook", false, Support::Missing),
    known("PodSecurity", true, Support::BuiltIn(pod_security::build)),
    known("PodNodeSelector", false, Support::Missing),
    known("Priority", true, Support::BuiltIn(priority::build)),
    known(
        "DefaultTolerationSeconds",
        true,
        Support::BuiltIn(default_tolerations::build),
    ),
    known("PodTolerationRestriction", false, Support::Missing),
    known(
        "EventRateLimit",
        false,
        Support::BuiltIn(event_rate_limit::build),
    ),
    known("ExtendedResourceToleration", false, Support::Missing),
    known(
        "DefaultStorageClass",
        true,
        Support::BuiltIn(default_storage_class::build),
    ),
    known(
        "StorageObjectInUseProtection",
        true,
        Support::BuiltIn(storage_protection::build),
    ),
    known(
        "OwnerReferencesPermissionEnforcement",
        false,
        Support::Missing,
    ),
    known(
        "PersistentVolumeClaimResize",
        true,
        Support::BuiltIn(pvc_resize::build),
    ),
    known("RuntimeClass", true, Support::BuiltIn(runtime_class::build)),
    known(
        "CertificateApproval",
        true,
        Support::BuiltIn(certificate_approval::build),
    ),
    known(
        "CertificateSigning",
        true,
        Support::BuiltIn(certificate_signing::build),
    ),
    known(
        "ClusterTrustBundleAttest",
        true,
        Support::BuiltIn(cluster_trust_bundle_attest::build),
    ),
    known(
        "CertificateSubjectRestriction",
        true,
        Support::BuiltIn(certificate_subject_restriction::build),
    ),
    known(
        "DefaultIngressClass",
        true,
        Support::BuiltIn(default_ingress_class::build),
    ),
    known(
        "DenyServiceExternalIPs",
        false,
        Support::BuiltIn(deny_external_ips::build),
    ),
    known("PodTopologyLabels", false, Support::Missing),
    known("MutatingAdmissionPolicy", false, Support::Missing),
    known("MutatingAdmissionWebhook", true, Support::Dynamic),
    known("ValidatingAdmissionPolicy", true, Support::Dynamic),
    known("ValidatingAdmissionWebhook", true, Support::Dynamic),
    known(
        "ResourceQuota",
        true,
        Support::BuiltIn(resource_quota::build),
    ),
    known("AlwaysDeny", false, Support::Missing),
];

/// Which plugins run, and their configurations: resolved from `[admission]` at start-up.
#[derive(Debug, Clone)]
pub struct PluginSettings {
    /// The enabled plugins, in [`ORDER`].
    enabled: Vec<KnownPlugin>,
    /// `plugins[].configuration` of the AdmissionConfiguration, by plugin name.
    configurations: HashMap<String, Value>,
    /// What mutating and validating webhooks are called with (their plugins' kubeconfigs).
    mutating_credentials: Arc<WebhookCredentials>,
    validating_credentials: Arc<WebhookCredentials>,
}

impl std::fmt::Debug for KnownPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl Default for PluginSettings {
    /// Upstream's default set, without configurations.
    fn default() -> Self {
        Self {
            enabled: ORDER.iter().copied().filter(|p| p.default_on).collect(),
            configurations: HashMap::new(),
            mutating_credentials: Arc::default(),
            validating_credentials: Arc::default(),
        }
    }
}

impl PluginSettings {
    /// Resolves `[admission]`: the default set plus `enable_plugins` minus `disable_plugins`,
    /// in upstream's order; the configuration file read. An unknown or unimplemented name, a
    /// name both enabled and disabled, or a bad file is a [`ConfigError`].
    pub fn from_config(config: &AdmissionConfig) -> Result<Self, ConfigError> {
        let lookup = |setting: &str, name: &str| -> Result<KnownPlugin, ConfigError> {
            ORDER
                .iter()
                .find(|p| p.name == name)
                .copied()
                .ok_or_else(|| {
                    ConfigError::new(
                        format!("admission.{setting}"),
                        format!("unknown admission plugin \"{name}\""),
                    )
                })
        };
        for name in &config.enable_plugins {
            let plugin = lookup("enable_plugins", name)?;
            if matches!(plugin.support, Support::Missing) {
                return Err(ConfigError::new(
                    "admission.enable_plugins",
                    format!("admission plugin \"{name}\" is not implemented by Apiary"),
                ));
            }
            if config.disable_plugins.contains(name) {
                return Err(ConfigError::new(
                    "admission.enable_plugins",
                    format!("admission plugin \"{name}\" is both enabled and disabled"),
                ));
            }
        }
        for name in &config.disable_plugins {
            let plugin = lookup("disable_plugins", name)?;
            if matches!(plugin.support, Support::InStore) {
                return Err(ConfigError::new(
                    "admission.disable_plugins",
                    format!("admission plugin \"{name}\" cannot be disabled in Apiary"),
                ));
            }
        }
        let enabled = ORDER
            .iter()
            .copied()
            .filter(|p| {
                let name = p.name.to_string();
                !config.disable_plugins.contains(&name)
                    && (config.enable_plugins.contains(&name)
                        || (p.default_on && !matches!(p.support, Support::Missing)))
            })
            .collect();
        let configurations = match &config.config_file {
            Some(path) => read_configuration_file(path)?,
            None => HashMap::new(),
        };
        let credentials = |name: &str| match configurations.get(name) {
            Some(configuration) => webhook_credentials(name, configuration),
            None => Ok(Arc::default()),
        };
        Ok(Self {
            enabled,
            mutating_credentials: credentials("MutatingAdmissionWebhook")?,
            validating_credentials: credentials("ValidatingAdmissionWebhook")?,
            configurations,
        })
    }

    /// The credentials webhooks are called with: the kubeconfig of the
    /// MutatingAdmissionWebhook (`mutating`) or ValidatingAdmissionWebhook plugin.
    pub fn webhook_credentials(&self, mutating: bool) -> &Arc<WebhookCredentials> {
        if mutating {
            &self.mutating_credentials
        } else {
            &self.validating_credentials
        }
    }

    /// Whether the plugin named `name` runs.
    pub fn is_enabled(&self, name: &str) -> bool {
        self.enabled.iter().any(|p| p.name == name)
    }

    /// The enabled plugins, in upstream's order.
    pub fn enabled(&self) -> impl Iterator<Item = &KnownPlugin> {
        self.enabled.iter()
    }

    /// The configuration of `name` from the AdmissionConfiguration.
    pub fn configuration(&self, name: &str) -> Option<&Value> {
        self.configurations.get(name)
    }
}

/// The enabled built-in plugins, built, split at the webhooks.
#[derive(Default)]
pub struct Plugins {
    /// The plugins before the webhooks and policies, in order.
    pub early: Vec<Arc<dyn Plugin>>,
    /// The plugins after them (ResourceQuota).
    pub late: Vec<Arc<dyn Plugin>>,
    pub mutating_webhooks: bool,
    pub validating_policies: bool,
    pub validating_webhooks: bool,
}

impl std::fmt::Debug for Plugins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugins")
            .field("early", &self.early.len())
            .field("late", &self.late.len())
            .finish_non_exhaustive()
    }
}

impl Plugins {
    /// Builds the enabled plugins of `settings`.
    pub fn build(
        settings: &PluginSettings,
        stores: &Arc<dyn StoreLookup>,
        authorization: &Arc<Authorization>,
    ) -> Result<Self, ConfigError> {
        let mut plugins = Plugins::default();
        for known in settings.enabled() {
            let Support::BuiltIn(build) = known.support else {
                continue;
            };
            let context = PluginContext {
                stores,
                authorization,
                configuration: settings.configuration(known.name),
            };
            let plugin = build(&context)?;
            if LATE.contains(&known.name) {
                plugins.late.push(plugin);
            } else {
                plugins.early.push(plugin);
            }
        }
        plugins.mutating_webhooks = settings.is_enabled("MutatingAdmissionWebhook");
        plugins.validating_policies = settings.is_enabled("ValidatingAdmissionPolicy");
        plugins.validating_webhooks = settings.is_enabled("ValidatingAdmissionWebhook");
        Ok(plugins)
    }
}

/// A webhook plugin's `WebhookAdmissionConfiguration`: the kubeconfig (an absolute path, as
/// upstream requires) whose users are the credentials of webhook hosts.
fn webhook_credentials(
    plugin: &str,
    configuration: &Value,
) -> Result<Arc<WebhookCredentials>, ConfigError> {
    let fail = |why: String| ConfigError::new("admission.config_file", format!("{plugin}: {why}"));
    let kind = configuration
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("");
    if kind != "WebhookAdmissionConfiguration" && kind != "WebhookAdmission" {
        return Err(fail(format!(
            "expected a WebhookAdmissionConfiguration, got kind {kind:?}"
        )));
    }
    let file = configuration
        .get("kubeConfigFile")
        .and_then(Value::as_str)
        .unwrap_or("");
    if file.is_empty() {
        return Ok(Arc::default());
    }
    if !Path::new(file).is_absolute() {
        return Err(fail(format!(
            "kubeConfigFile {file:?} must be an absolute file path"
        )));
    }
    WebhookCredentials::from_kubeconfig(Path::new(file))
        .map(Arc::new)
        .map_err(|why| fail(format!("{file}: {why}")))
}

/// Reads an `apiserver.config.k8s.io/v1` (or `v1alpha1`) `AdmissionConfiguration`: each entry of
/// `plugins` names a plugin and gives its `configuration` inline or in the file `path`
/// (relative to the configuration file).
fn read_configuration_file(path: &Path) -> Result<HashMap<String, Value>, ConfigError> {
    let setting = "admission.config_file";
    let fail = |why: String| ConfigError::new(setting, format!("{}: {why}", path.display()));
    let text = std::fs::read_to_string(path).map_err(|err| fail(err.to_string()))?;
    let file: Value = serde_yaml::from_str(&text).map_err(|err| fail(err.to_string()))?;
    let kind = file.get("kind").and_then(Value::as_str).unwrap_or("");
    let api_version = file.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let versions = [
        "apiserver.config.k8s.io/v1",
        "apiserver.config.k8s.io/v1alpha1",
        "apiserver.k8s.io/v1alpha1",
    ];
    if kind != "AdmissionConfiguration" || !versions.contains(&api_version) {
        return Err(fail(format!(
            "expected apiserver.config.k8s.io/v1 AdmissionConfiguration, got {api_version} {kind}"
        )));
    }
    let mut configurations = HashMap::new();
    let entries = file.get("plugins").and_then(Value::as_array);
    for entry in entries.into_iter().flatten() {
        let name = entry.get("name").and_then(Value::as_str).unwrap_or("");
        if !ORDER.iter().any(|p| p.name == name) {
            return Err(fail(format!("unknown admission plugin \"{name}\"")));
        }
        let configuration = match (entry.get("configuration"), entry.get("path")) {
            (Some(inline), _) if !inline.is_null() => inline.clone(),
            (_, Some(Value::String(file))) => {
                let file = path.parent().unwrap_or(Path::new(".")).join(file);
                let text = std::fs::read_to_string(&file)
                    .map_err(|err| fail(format!("{}: {err}", file.display())))?;
                serde_yaml::from_str(&text)
                    .map_err(|err| fail(format!("{}: {err}", file.display())))?
            }
            _ => continue,
        };
        configurations.insert(name.to_string(), configuration);
    }
    Ok(configurations)
}
