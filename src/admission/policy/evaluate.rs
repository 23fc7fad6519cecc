//! One evaluation of a compiled policy with one param (upstream's `validating/validator.go` and
//! the CEL activation of `plugin/cel`): `matchConditions`, then `validations` with their
//! messages, then `auditAnnotations`, each turned into a decision.
//!
//! `variables` are evaluated in order before the expressions, each seeing the earlier ones;
//! upstream evaluates them lazily, so a variable's error surfaces only in an expression that
//! names it (`variables.<name>`), which Apiary reproduces by the name.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::compile::{Compiled, Policy};
use super::matching::Matched;
use crate::admission::attributes::Attributes;
use crate::apiextensions::cel::expression::{Bindings, CelValue};

/// The longest message a `messageExpression` may produce (upstream's
/// `MaxEvaluatedMessageExpressionSizeBytes`).
const MAX_MESSAGE_BYTES: usize = 5 * 1024;

/// How a decision came about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Evaluation {
    Admit,
    Deny,
    Error,
}

/// The outcome of one validation (or of the match conditions, or of an audit annotation's
/// error under `Fail`).
#[derive(Debug, Clone)]
pub(super) struct Decision {
    /// Whether the decision refuses (a failed validation, or an error under `Fail`).
    pub deny: bool,
    pub evaluation: Evaluation,
    pub message: String,
    /// The validation's `reason` (`None`: `Invalid`).
    pub reason: Option<String>,
    pub elapsed: Duration,
}

impl Decision {
    fn error(ignore: bool, message: String) -> Self {
        Self {
            deny: !ignore,
            evaluation: Evaluation::Error,
            message,
            reason: None,
            elapsed: Duration::ZERO,
        }
    }

    /// The `error_type` label of the check metric, as upstream's `ErrorType`.
    pub fn error_type(&self) -> &'static str {
        if self.evaluation == Evaluation::Admit {
            "no_error"
        } else if self.message.starts_with("compilation") {
            "compile_error"
        } else {
            "invalid_error"
        }
    }
}

/// An audit annotation to publish (`Ok`), or its error (`Err`, under `Fail` only).
pub(super) type Annotation = Result<(String, String), String>;

/// The decisions of one evaluation, indexed as upstream (`expressionIndex`), and the audit
/// annotations it produced.
#[derive(Debug, Default)]
pub(super) struct Outcome {
    pub decisions: Vec<Decision>,
    pub annotations: Vec<Annotation>,
}

/// The `request` variable: upstream's AdmissionRequest for the request, with the resource and
/// kind that matched (an equivalent version's when the policy matched one).
pub(super) fn request_value(
    attributes: &Attributes,
    matched: &Matched,
    obj: Option<&Value>,
    old: Option<&Value>,
) -> Value {
    let gvk = |kind: &crate::admission::attributes::GroupVersionKind| json!({"group": kind.group, "version": kind.version, "kind": kind.kind});
    let gvr = |resource: &crate::admission::attributes::GroupVersionResource| json!({"group": resource.group, "version": resource.version, "resource": resource.resource});
    let mut request = json!({
        "uid": "",
        "kind": gvk(&matched.kind),
        "resource": gvr(&matched.resource),
        "requestKind": gvk(&attributes.kind),
        "requestResource": gvr(&attributes.resource),
        "operation": attributes.operation.as_str(),
        "userInfo": serde_json::to_value(&attributes.user).unwrap_or(Value::Null),
        "object": obj.cloned().unwrap_or(Value::Null),
        "oldObject": old.cloned().unwrap_or(Value::Null),
        "dryRun": attributes.dry_run,
        "options": attributes.options.clone().unwrap_or(Value::Null),
    });
    let fields = request.as_object_mut().expect("an object");
    let mut optional = |key: &str, value: &str| {
        if !value.is_empty() {
            fields.insert(key.to_string(), Value::from(value));
        }
    };
    optional("subResource", &attributes.subresource);
    optional("requestSubResource", &attributes.subresource);
    optional("name", &attributes.name);
    optional("namespace", &attributes.namespace);
    request
}

/// The `namespaceObject` variable: the fields of the namespace upstream exposes
/// (`CreateNamespaceObject`: metadata without managed fields and owners, spec, status).
pub(super) fn namespace_value(namespace: &Value) -> Value {
    const META: &[&str] = &[
        "name",
        "generateName",
        "namespace",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "labels",
        "annotations",
        "finalizers",
    ];
    let metadata: serde_json::Map<String, Value> = namespace
        .get("metadata")
        .and_then(Value::as_object)
        .map(|meta| {
            META.iter()
                .filter_map(|key| meta.get(*key).map(|v| (key.to_string(), v.clone())))
                .collect()
        })
        .unwrap_or_default();
    let mut value = json!({"metadata": metadata});
    for key in ["spec", "status"] {
        if let Some(part) = namespace.get(key) {
            value[key] = part.clone();
        }
    }
    value
}

/// The inputs of one evaluation.
pub(super) struct Inputs<'a> {
    pub obj: Option<&'a Value>,
    pub old: Option<&'a Value>,
    pub request: &'a Value,
    pub params: Option<&'a Value>,
    pub namespace: Option<&'a Value>,
}

/// The bindings every expression sees, and the variables that failed (by name, with the error an
/// expression naming them reports).
struct Scope {
    bindings: Bindings,
    failed: Vec<(String, String)>,
}

impl Scope {
    fn new(policy: &Policy, inputs: &Inputs<'_>) -> Self {
        let mut base = Bindings::default();
        base.json("object", inputs.obj)
            .json("oldObject", inputs.old)
            .json("request", Some(inputs.request))
            .json("namespaceObject", inputs.namespace)
            .json("authorizer", None);
        if policy.param_kind.is_some() {
            base.json("params", inputs.params);
        }
        let mut values: Vec<(String, CelValue)> = Vec::new();
        let mut failed: Vec<(String, String)> = Vec::new();
        for variable in &policy.variables {
            let outcome = match &variable.expression {
                Err(err) => Err(format!(
                    "composited variable \"{}\" fails to compile: {err}",
                    variable.name
                )),
                Ok(expression) => match names_failed(expression.source(), &failed) {
                    Some(err) => Err(format!(
                        "composited variable \"{}\" fails to evaluate: {err}",
                        variable.name
                    )),
                    None => {
                        let mut bindings = base.clone();
                        bindings.value("variables", CelValue::map(values.clone()));
                        expression.evaluate(&bindings).map_err(|err| {
                            format!(
                                "composited variable \"{}\" fails to evaluate: {err}",
                                variable.name
                            )
                        })
                    }
                },
            };
            match outcome {
                Ok(value) => values.push((variable.name.clone(), value)),
                Err(err) => failed.push((variable.name.clone(), err)),
            }
        }
        base.value("variables", CelValue::map(values));
        Self {
            bindings: base,
            failed,
        }
    }

    /// Evaluates `expression`, with upstream's error texts (`compilation error: ...`,
    /// `expression '<source>' resulted in error: ...`).
    fn evaluate(
        &self,
        expression: &Compiled,
        source: &str,
    ) -> (Result<CelValue, String>, Duration) {
        let started = Instant::now();
        let result = match expression {
            Err(err) => Err(format!("compilation error: {err}")),
            Ok(expression) => match names_failed(expression.source(), &self.failed) {
                Some(err) => Err(err.to_string()),
                None => expression.evaluate(&self.bindings),
            }
            .map_err(|err| format!("expression '{source}' resulted in error: {err}")),
        };
        (result, started.elapsed())
    }
}

/// The error of the first failed variable `source` names (`variables.<name>`).
fn names_failed<'a>(source: &str, failed: &'a [(String, String)]) -> Option<&'a str> {
    failed.iter().find_map(|(name, err)| {
        let needle = format!("variables.{name}");
        let named = source.match_indices(&needle).any(|(at, _)| {
            let before = source[..at].chars().next_back();
            let after = source[at + needle.len()..].chars().next();
            let ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
            !ident(before) && !ident(after)
        });
        named.then_some(err.as_str())
    })
}

/// Evaluates `policy` once (one param), as upstream's `validator.Validate`.
pub(super) fn evaluate(policy: &Policy, inputs: &Inputs<'_>) -> Outcome {
    let ignore = policy.ignore_failures;
    let scope = Scope::new(policy, inputs);
    if !policy.match_conditions.is_empty() {
        let mut errors = Vec::new();
        for condition in &policy.match_conditions {
            let source = condition
                .expression
                .as_ref()
                .map(|e| e.source().to_string())
                .unwrap_or_default();
            match scope.evaluate(&condition.expression, &source).0 {
                Err(err) => errors.push(err),
                Ok(value) if value.as_bool() == Some(false) => return Outcome::default(),
                Ok(_) => {}
            }
        }
        match errors.len() {
            0 => {}
            _ if ignore => return Outcome::default(),
            1 => {
                return Outcome {
                    decisions: vec![Decision::error(false, errors.remove(0))],
                    annotations: Vec::new(),
                }
            }
            _ => {
                return Outcome {
                    decisions: vec![Decision::error(false, format!("[{}]", errors.join(", ")))],
                    annotations: Vec::new(),
                }
            }
        }
    }
    let decisions = policy
        .validations
        .iter()
        .map(|validation| {
            let (result, elapsed) = scope.evaluate(&validation.expression, &validation.source);
            let mut decision = match result {
                Err(err) => Decision::error(ignore, err),
                Ok(value) if value.as_bool() == Some(true) => Decision {
                    deny: false,
                    evaluation: Evaluation::Admit,
                    message: String::new(),
                    reason: None,
                    elapsed,
                },
                Ok(_) => Decision {
                    deny: true,
                    evaluation: Evaluation::Deny,
                    message: message(&scope, validation),
                    reason: Some(
                        validation
                            .reason
                            .clone()
                            .unwrap_or_else(|| "Invalid".to_string()),
                    ),
                    elapsed,
                },
            };
            decision.elapsed = elapsed;
            decision
        })
        .collect();
    let annotations = policy
        .audit_annotations
        .iter()
        .filter_map(|annotation| {
            let (result, _) = scope.evaluate(&annotation.value, &annotation.source);
            let outcome = match result {
                Err(err) => Err(err),
                Ok(value) if value.is_null() => return None,
                Ok(value) => match value.as_str() {
                    Some(text) if text.trim().is_empty() => return None,
                    Some(text) => Ok((annotation.key.clone(), text.trim().to_string())),
                    None => Err(format!(
                        "valueExpression '{}' resulted in unsupported return type: {}. Return type must be either string or null.",
                        annotation.source,
                        type_name(&value.to_json())
                    )),
                },
            };
            match outcome {
                Err(_) if ignore => None,
                outcome => Some(outcome),
            }
        })
        .collect();
    Outcome {
        decisions,
        annotations,
    }
}

/// The message of a failed validation: its `messageExpression`'s (when it gives a one-line,
/// non-blank string short enough), else its `message`, else `failed expression: <expression>`.
fn message(scope: &Scope, validation: &super::compile::Validation) -> String {
    if let Some(expression) = &validation.message_expression {
        let source = expression
            .as_ref()
            .map(|e| e.source().to_string())
            .unwrap_or_default();
        if let Ok(value) = scope.evaluate(expression, &source).0 {
            if let Some(text) = value.as_str() {
                let text = text.trim();
                if !text.is_empty() && text.len() <= MAX_MESSAGE_BYTES && !text.contains('\n') {
                    return text.to_string();
                }
            }
        }
    }
    match validation.message.trim() {
        "" => format!("failed expression: {}", validation.source.trim()),
        message => message.to_string(),
    }
}

/// The CEL type name of a value, as cel-go prints it.
fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null_type",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "double",
        Value::Number(n) if n.is_u64() && !n.is_i64() => "uint",
        Value::Number(_) => "int",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "map",
    }
}
