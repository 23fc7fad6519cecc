//! A ValidatingAdmissionPolicy and its bindings, read and compiled once when the configuration
//! changes (upstream's `validating/plugin.go` `compilePolicy` and the policy source). An
//! expression that fails to compile is kept as its error, which the policy's `failurePolicy`
//! handles at request time as upstream (`compilation error: ...`).

use serde_json::Value;

use crate::api::json::string_list;
use crate::apiextensions::cel::expression::{Expression, ResultType};
use crate::registry::selectors::label::{label_selector, LabelSelector};

/// A compiled expression, or upstream's detail of why it does not compile.
pub(super) type Compiled = Result<Expression, String>;

/// The variables every policy expression may name. `authorizer` is declared so that expressions
/// naming it compile, but it is bound to `null`: Apiary has no CEL authorizer library yet.
const VARIABLES: &[&str] = &[
    "object",
    "oldObject",
    "request",
    "namespaceObject",
    "variables",
    "authorizer",
];

/// The same without `authorizer` (`messageExpression`s, as upstream declares them).
const MESSAGE_VARIABLES: &[&str] = &[
    "object",
    "oldObject",
    "request",
    "namespaceObject",
    "variables",
];

/// One rule of `resourceRules` or `excludeResourceRules`.
#[derive(Debug, Default)]
pub(super) struct Rule {
    pub operations: Vec<String>,
    pub api_groups: Vec<String>,
    pub api_versions: Vec<String>,
    pub resources: Vec<String>,
    /// `*` (or empty), `Cluster` or `Namespaced`.
    pub scope: String,
    pub resource_names: Vec<String>,
}

/// A `matchConstraints` or a binding's `matchResources`.
#[derive(Debug)]
pub(super) struct MatchResources {
    /// The parsed `namespaceSelector`, or why it does not parse.
    pub namespace_selector: Result<LabelSelector, String>,
    pub object_selector: Result<LabelSelector, String>,
    pub resource_rules: Vec<Rule>,
    pub exclude_resource_rules: Vec<Rule>,
    /// `matchPolicy: Equivalent` (the default).
    pub equivalent: bool,
}

/// `spec.paramKind`, split.
#[derive(Debug, Clone)]
pub(super) struct ParamKind {
    pub group: String,
    pub version: String,
    pub kind: String,
}

impl ParamKind {
    /// As upstream prints a GroupVersionKind: `example.com/v1, Kind=Foo`.
    pub fn shown(&self) -> String {
        let api_version = if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        };
        format!("{api_version}, Kind={}", self.kind)
    }
}

/// One `spec.validations` entry.
#[derive(Debug)]
pub(super) struct Validation {
    pub expression: Compiled,
    pub source: String,
    pub message: String,
    pub message_expression: Option<Compiled>,
    /// `Unauthorized`, `Forbidden`, `Invalid`, `RequestEntityTooLarge`; `None` means `Invalid`.
    pub reason: Option<String>,
}

/// One `spec.auditAnnotations` entry.
#[derive(Debug)]
pub(super) struct AuditAnnotation {
    pub key: String,
    pub source: String,
    pub value: Compiled,
}

/// A named expression (`spec.variables`, `spec.matchConditions`).
#[derive(Debug)]
pub(super) struct Named {
    pub name: String,
    pub expression: Compiled,
}

/// A compiled ValidatingAdmissionPolicy.
#[derive(Debug)]
pub(super) struct Policy {
    pub name: String,
    /// `failurePolicy: Ignore`.
    pub ignore_failures: bool,
    pub param_kind: Option<ParamKind>,
    /// `None` when absent: the policy then matches nothing.
    pub match_constraints: Option<MatchResources>,
    pub variables: Vec<Named>,
    pub match_conditions: Vec<Named>,
    pub validations: Vec<Validation>,
    pub audit_annotations: Vec<AuditAnnotation>,
}

/// A binding's `paramRef`.
#[derive(Debug, Clone, Default)]
pub(super) struct ParamRef {
    pub name: String,
    pub namespace: String,
    pub selector: Option<Value>,
    /// `parameterNotFoundAction: Deny`.
    pub deny_not_found: bool,
}

/// A ValidatingAdmissionPolicyBinding.
#[derive(Debug)]
pub(super) struct Binding {
    pub name: String,
    pub policy_name: String,
    /// `None`: the binding matches everything its policy matches.
    pub match_resources: Option<MatchResources>,
    pub param_ref: Option<ParamRef>,
    /// `Deny`, `Warn`, `Audit`, in the binding's order.
    pub actions: Vec<String>,
}

fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or("")
}

fn strings(value: &Value, key: &str) -> Vec<String> {
    string_list(value.get(key))
}

fn items<'a>(value: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    value
        .get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

fn rules(value: &Value, key: &str) -> Vec<Rule> {
    items(value, key)
        .map(|rule| Rule {
            operations: strings(rule, "operations"),
            api_groups: strings(rule, "apiGroups"),
            api_versions: strings(rule, "apiVersions"),
            resources: strings(rule, "resources"),
            scope: text(rule, "scope").to_string(),
            resource_names: strings(rule, "resourceNames"),
        })
        .collect()
}

fn selector(value: &Value, key: &str) -> Result<LabelSelector, String> {
    match value.get(key) {
        None | Some(Value::Null) => Ok(LabelSelector::default()),
        Some(selector) => label_selector(selector),
    }
}

/// Reads a `matchConstraints` / `matchResources` object.
pub(super) fn match_resources(value: &Value) -> MatchResources {
    MatchResources {
        namespace_selector: selector(value, "namespaceSelector"),
        object_selector: selector(value, "objectSelector"),
        resource_rules: rules(value, "resourceRules"),
        exclude_resource_rules: rules(value, "excludeResourceRules"),
        equivalent: text(value, "matchPolicy") != "Exact",
    }
}

fn compile(source: &str, variables: &[&str], with_params: bool, result: ResultType) -> Compiled {
    let mut declared: Vec<&str> = variables.to_vec();
    if with_params {
        declared.push("params");
    }
    Expression::compile(source, &declared, result)
}

/// Compiles a ValidatingAdmissionPolicy object.
pub(super) fn policy(object: &Value) -> Policy {
    let spec = object.get("spec").unwrap_or(&Value::Null);
    let param_kind = spec.get("paramKind").filter(|k| k.is_object()).map(|kind| {
        let api_version = text(kind, "apiVersion");
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        ParamKind {
            group: group.to_string(),
            version: version.to_string(),
            kind: text(kind, "kind").to_string(),
        }
    });
    let params = param_kind.is_some();
    let expression = |source: &str, result| compile(source, VARIABLES, params, result);
    let named = |key: &str, result| -> Vec<Named> {
        items(spec, key)
            .map(|entry| Named {
                name: text(entry, "name").to_string(),
                expression: expression(text(entry, "expression"), result),
            })
            .collect()
    };
    let validations = items(spec, "validations")
        .map(|validation| {
            let source = text(validation, "expression");
            let message_expression = match text(validation, "messageExpression") {
                "" => None,
                message => Some(compile(
                    message,
                    MESSAGE_VARIABLES,
                    params,
                    ResultType::String,
                )),
            };
            Validation {
                expression: expression(source, ResultType::Bool),
                source: source.to_string(),
                message: text(validation, "message").to_string(),
                message_expression,
                reason: match text(validation, "reason") {
                    "" => None,
                    reason => Some(reason.to_string()),
                },
            }
        })
        .collect();
    let audit_annotations = items(spec, "auditAnnotations")
        .map(|annotation| {
            let source = text(annotation, "valueExpression");
            AuditAnnotation {
                key: text(annotation, "key").to_string(),
                source: source.to_string(),
                // String or null: checked on the value, as upstream does for `dyn` results.
                value: expression(source, ResultType::Any),
            }
        })
        .collect();
    Policy {
        name: text(object.get("metadata").unwrap_or(&Value::Null), "name").to_string(),
        ignore_failures: text(spec, "failurePolicy") == "Ignore",
        param_kind,
        match_constraints: spec
            .get("matchConstraints")
            .filter(|m| m.is_object())
            .map(match_resources),
        variables: named("variables", ResultType::Any),
        match_conditions: named("matchConditions", ResultType::Bool),
        validations,
        audit_annotations,
    }
}

/// Reads a ValidatingAdmissionPolicyBinding object.
pub(super) fn binding(object: &Value) -> Binding {
    let spec = object.get("spec").unwrap_or(&Value::Null);
    let param_ref = spec
        .get("paramRef")
        .filter(|r| r.is_object())
        .map(|r| ParamRef {
            name: text(r, "name").to_string(),
            namespace: text(r, "namespace").to_string(),
            selector: r.get("selector").filter(|s| !s.is_null()).cloned(),
            deny_not_found: text(r, "parameterNotFoundAction") == "Deny",
        });
    Binding {
        name: text(object.get("metadata").unwrap_or(&Value::Null), "name").to_string(),
        policy_name: text(spec, "policyName").to_string(),
        match_resources: spec
            .get("matchResources")
            .filter(|m| m.is_object())
            .map(match_resources),
        param_ref,
        actions: strings(spec, "validationActions"),
    }
}
