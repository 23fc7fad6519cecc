//! MutatingAdmissionWebhook and ValidatingAdmissionWebhook, as upstream's
//! `k8s.io/apiserver/pkg/admission/plugin/webhook`:
//! * [`compile_configuration`] turns a Mutating/ValidatingWebhookConfiguration into [`Webhook`]s
//!   (selectors parsed, `matchConditions` compiled, defaults filled);
//! * [`matching`] decides whether a webhook is called for a request, and in which version;
//! * [`review`] builds the AdmissionReview sent and checks the one answered;
//! * [`dispatch`] calls them: mutating webhooks in order (with reinvocation), validating ones
//!   in parallel, each under its `failurePolicy`.

mod dispatch;

pub use dispatch::{mutate, validate};
mod matching;
mod review;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use serde_json::Value;

use crate::api::json::string_list;
use crate::apiextensions::cel::expression::{Expression, ResultType};
use crate::outbound::webhook::WebhookTarget;
use crate::registry::metadata::meta_str;
use crate::registry::selectors::label::{label_selector, LabelSelector};

/// The variables `matchConditions` are compiled with (upstream's webhook filter).
const CONDITION_VARIABLES: &[&str] = &["object", "oldObject", "request", "authorizer"];

/// One rule of a webhook (`rules[]`: operations and the resources they apply to).
#[derive(Debug, Clone, Default)]
pub(crate) struct Rule {
    pub operations: Vec<String>,
    pub api_groups: Vec<String>,
    pub api_versions: Vec<String>,
    pub resources: Vec<String>,
    /// `Cluster`, `Namespaced` or `*` (the default).
    pub scope: String,
}

/// One `matchConditions[]` entry, compiled (or the reason it did not compile, which upstream
/// treats as an evaluation error at match time).
#[derive(Debug)]
pub(crate) struct MatchCondition {
    pub name: String,
    pub expression: Result<Expression, String>,
    pub source: String,
}

/// One webhook of a configuration, compiled.
#[derive(Debug)]
pub struct Webhook {
    pub name: String,
    /// The configuration object it belongs to.
    pub configuration: String,
    pub(crate) mutating: bool,
    pub(crate) rules: Vec<Rule>,
    pub(crate) namespace_selector: Result<LabelSelector, String>,
    pub(crate) object_selector: Result<LabelSelector, String>,
    /// `matchPolicy: Equivalent` (the default) rather than `Exact`.
    pub(crate) equivalent: bool,
    pub(crate) match_conditions: Vec<MatchCondition>,
    /// `None` when `clientConfig` names neither a URL nor a Service.
    pub(crate) target: Option<WebhookTarget>,
    /// `clientConfig.caBundle`, decoded to PEM bytes.
    pub(crate) ca_bundle: Option<Vec<u8>>,
    pub(crate) timeout: Duration,
    pub(crate) review_versions: Vec<String>,
    pub(crate) side_effects: String,
    /// `failurePolicy: Ignore` (the default is `Fail`).
    pub(crate) fail_open: bool,
    /// `reinvocationPolicy: IfNeeded` (mutating webhooks; the default is `Never`).
    pub(crate) reinvoke_if_needed: bool,
}

fn selector(value: Option<&Value>) -> Result<LabelSelector, String> {
    match value {
        Some(value) if !value.is_null() => label_selector(value),
        _ => Ok(LabelSelector::default()),
    }
}

impl Webhook {
    /// Compiles one `webhooks[]` entry of configuration `configuration`.
    fn compile(configuration: &str, hook: &Value, mutating: bool) -> Self {
        let text = |key: &str| hook.get(key).and_then(Value::as_str).unwrap_or("");
        let rules = hook
            .get("rules")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|rule| Rule {
                operations: string_list(rule.get("operations")),
                api_groups: string_list(rule.get("apiGroups")),
                api_versions: string_list(rule.get("apiVersions")),
                resources: string_list(rule.get("resources")),
                scope: rule
                    .get("scope")
                    .and_then(Value::as_str)
                    .unwrap_or("*")
                    .to_string(),
            })
            .collect();
        let match_conditions = hook
            .get("matchConditions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|condition| {
                let source = condition
                    .get("expression")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                MatchCondition {
                    name: text_field(condition, "name"),
                    expression: Expression::compile(&source, CONDITION_VARIABLES, ResultType::Bool),
                    source,
                }
            })
            .collect();
        let client_config = hook.get("clientConfig").cloned().unwrap_or(Value::Null);
        let ca_bundle = client_config
            .get("caBundle")
            .and_then(Value::as_str)
            .filter(|b| !b.is_empty())
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok());
        let timeout = hook
            .get("timeoutSeconds")
            .and_then(Value::as_u64)
            .unwrap_or(10);
        let review_versions = match string_list(hook.get("admissionReviewVersions")) {
            versions if versions.is_empty() => vec!["v1".to_string(), "v1beta1".to_string()],
            versions => versions,
        };
        Self {
            name: text("name").to_string(),
            configuration: configuration.to_string(),
            mutating,
            rules,
            namespace_selector: selector(hook.get("namespaceSelector")),
            object_selector: selector(hook.get("objectSelector")),
            equivalent: text("matchPolicy") != "Exact",
            match_conditions,
            target: WebhookTarget::from_client_config(&client_config),
            ca_bundle,
            timeout: Duration::from_secs(timeout),
            review_versions,
            side_effects: text("sideEffects").to_string(),
            fail_open: text("failurePolicy") == "Ignore",
            reinvoke_if_needed: mutating && text("reinvocationPolicy") == "IfNeeded",
        }
    }
}

/// The string `value[key]`, empty when absent.
fn text_field(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

/// The webhooks of one configuration object, compiled, in its order. `config` is a
/// Mutating- (`mutating`) or ValidatingWebhookConfiguration as stored (validated and defaulted);
/// missing fields take upstream's defaults all the same.
pub fn compile_configuration(config: &Value, mutating: bool) -> Vec<Arc<Webhook>> {
    let configuration = meta_str(config, "name");
    config
        .get("webhooks")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|hook| Arc::new(Webhook::compile(configuration, hook, mutating)))
        .collect()
}
