//! Running compiled rules over a custom resource, after upstream's `Validator.validate`
//! (`apiextensions-apiserver/pkg/apiserver/schema/cel/validation.go`): every rule runs with
//! `self` bound to the value at its node, for each list item and map entry below; transition
//! rules (those using `oldSelf`) run only where an old value is correlated; a failed rule is
//! reported with `message`, `messageExpression` or `failed rule: <rule>`, as upstream.

use std::sync::Arc;

use cel::objects::OptionalValue;
use cel::{Context, Env, ExecutionError};
use serde_json::Value as Json;

use super::compile::{CompiledRule, Node};
use super::convert::to_cel;
use super::cost::{self, Shape};
use crate::api::go_fmt::go_quote;
use crate::registry::validation::{FieldError, FieldErrorKind};

/// Upstream's `celconfig.MaxEvaluatedMessageExpressionSizeBytes`.
const MAX_EVALUATED_MESSAGE_EXPRESSION_SIZE_BYTES: usize = 5 * 1024;

/// What validating an object finds: its errors, and the cost budget left
/// (`RuntimeCELCostBudget` at first; negative once validation stopped).
pub(super) struct Outcome {
    pub errors: Vec<FieldError>,
    pub budget: i64,
}

/// The root context every rule runs in: the environment, whose libraries declare every
/// function rules call.
pub(super) fn root_context(env: &Arc<Env>) -> Context<'static, 'static> {
    Context::with_env(Arc::clone(env))
}

/// Validates `new` (and `old`, its correlated old value) at `node`, whose field path is `path`.
///
/// `unchanged` is upstream's ratcheting condition (`shouldRatchetError`): this value, or the
/// nearest correlated ancestor where this value is not correlated, equals its old value. The
/// failures of rules that do not use `oldSelf` are then dropped (upstream only warns).
pub(super) fn validate_node(
    context: &Context<'_, '_>,
    node: &Node,
    path: &str,
    new: &Json,
    old: Option<&Json>,
    unchanged: bool,
    errors: &mut Outcome,
) {
    if new.is_null() || errors.budget < 0 {
        return;
    }
    let old = old.filter(|old| !old.is_null());
    validate_rules(context, node, path, new, old, unchanged, errors);
    match new {
        Json::Array(items) => {
            let Some(items_node) = &node.items else {
                return;
            };
            let old_items = old.and_then(Json::as_array);
            for (i, item) in items.iter().enumerate() {
                let (old_item, item_unchanged) = match (&node.list_map_keys, old_items) {
                    (Some(keys), Some(old_items)) => {
                        let old_item = correlated_item(keys, item, old_items);
                        (old_item, old_item == Some(item))
                    }
                    (Some(_), None) => (None, false),
                    // Items of other lists are not correlated: the list's own state counts.
                    (None, _) => (None, unchanged),
                };
                let item_path = format!("{path}[{i}]");
                validate_node(
                    context,
                    items_node,
                    &item_path,
                    item,
                    old_item,
                    item_unchanged,
                    errors,
                );
            }
        }
        Json::Object(object) => {
            let old_object = old
                .and_then(Json::as_object)
                .filter(|_| node.map_correlatable);
            for (name, value) in object {
                let old_value = old_object.and_then(|old| old.get(name));
                let value_unchanged = if node.map_correlatable {
                    old_value == Some(value)
                } else {
                    unchanged
                };
                if let Some(additional) = &node.additional_properties {
                    let key_path = format!("{path}[{name}]");
                    validate_node(
                        context,
                        additional,
                        &key_path,
                        value,
                        old_value,
                        value_unchanged,
                        errors,
                    );
                }
                if let Some((_, property)) = node.properties.iter().find(|(n, _)| n == name) {
                    let child_path = child(path, name);
                    validate_node(
                        context,
                        property,
                        &child_path,
                        value,
                        old_value,
                        value_unchanged,
                        errors,
                    );
                }
            }
        }
        _ => {}
    }
}

/// The old item of a map list with the same values at every map key as `item`.
fn correlated_item<'o>(keys: &[String], item: &Json, old_items: &'o [Json]) -> Option<&'o Json> {
    old_items
        .iter()
        .find(|old| keys.iter().all(|key| old.get(key) == item.get(key)))
}

/// `path.name`, or `name` at the root.
fn child(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

fn validate_rules(
    context: &Context<'_, '_>,
    node: &Node,
    path: &str,
    new: &Json,
    old: Option<&Json>,
    unchanged: bool,
    out: &mut Outcome,
) {
    let Some(schema) = node.schema.as_ref().and_then(|at| at.get()) else {
        return;
    };
    if node.rules.is_empty() {
        return;
    }
    if out.budget <= 0 {
        out.errors.push(out_of_budget(path, node));
        out.budget = -1;
        return;
    }
    // One scope per node: `self` and `oldSelf` are converted and bound once for all its rules.
    let mut scope = context.new_inner_scope();
    scope.add_variable_from_value("self", to_cel(new, schema, node.is_resource_root));
    let uses_old_self = node.rules.iter().any(|rule| rule.uses_old_self);
    let old_value = old
        .filter(|_| uses_old_self)
        .map(|old| to_cel(old, schema, node.is_resource_root));
    if let Some(old_value) = &old_value {
        scope.add_variable_from_value("oldSelf", old_value.clone());
    }
    for rule in &node.rules {
        if rule.uses_old_self && old_value.is_none() && !rule.optional_old_self {
            continue;
        }
        let mut optional_scope = scope.new_inner_scope();
        if rule.optional_old_self {
            let optional = match &old_value {
                Some(old_value) => OptionalValue::of(old_value.clone()),
                None => OptionalValue::none(),
            };
            optional_scope
                .add_variable_from_value("oldSelf", cel::Value::Opaque(Arc::new(optional)));
        }
        // The interpreter does not count cost: an estimate over the actual sizes of the values
        // bounds it from above, and is what the limits are checked against.
        let shape = || Shape::Values(vec![new]);
        let old_shape = || old.map_or(Shape::Unknown, |old| Shape::Values(vec![old]));
        let cost = cost::estimate(rule.program.expression(), shape(), old_shape());
        if cost > cost::PER_CALL_LIMIT {
            out.errors.push(FieldError::invalid(
                path,
                &node.schema_type,
                format!(
                    "'operation cancelled: actual cost limit exceeded': no further validation rules will be run due to call cost exceeds limit for rule: {}",
                    rule_error_string(rule)
                ),
            ));
            out.budget = -1;
            return;
        }
        if cost > out.budget as u64 {
            out.errors.push(out_of_budget(path, node));
            out.budget = -1;
            return;
        }
        out.budget -= cost as i64;
        let errors = &mut out.errors;
        match rule.program.execute(&optional_scope) {
            Ok(cel::Value::Bool(true)) => {}
            Ok(_) if unchanged && !rule.uses_old_self => {}
            Ok(_) => errors.push(failed_rule_error(&scope, node, path, rule)),
            Err(err) => errors.push(FieldError::invalid(
                path,
                &node.schema_type,
                evaluation_error(&err, rule),
            )),
        }
    }
}

/// Upstream's error once the object's cost budget is spent.
fn out_of_budget(path: &str, node: &Node) -> FieldError {
    FieldError::invalid(
        path,
        &node.schema_type,
        "validation failed due to running out of cost budget, no further validation rules will be run",
    )
}

/// The error of a rule that evaluated to false: at `fieldPath` below `path` when set, with the
/// `messageExpression` result, else `message`, else `failed rule: <rule>`, and the kind
/// `reason` asks for (upstream's `fieldErrorForReason`).
fn failed_rule_error(
    scope: &Context<'_, '_>,
    node: &Node,
    path: &str,
    rule: &CompiledRule,
) -> FieldError {
    let field = if rule.field_path.is_empty() {
        path.to_string()
    } else {
        child(path, &rule.field_path)
    };
    let detail = rule
        .message_expression
        .as_ref()
        .and_then(|expression| evaluated_message(scope, expression))
        .unwrap_or_else(|| rule_message_or_default(rule));
    match rule.reason {
        FieldErrorKind::Forbidden => FieldError::forbidden(field, detail),
        FieldErrorKind::Required => FieldError::required(field, detail),
        FieldErrorKind::Duplicate => FieldError {
            kind: FieldErrorKind::Duplicate,
            field,
            value: Some(go_quote(&node.schema_type)),
            detail: String::new(),
        },
        _ => FieldError::invalid(field, &node.schema_type, detail),
    }
}

/// The `messageExpression` result, trimmed; `None` where upstream falls back to the message
/// (an evaluation error, not a string, empty, over 5 KiB, or with line breaks).
fn evaluated_message(scope: &Context<'_, '_>, expression: &cel::Program) -> Option<String> {
    let cel::Value::String(message) = expression.execute(scope).ok()? else {
        return None;
    };
    let trimmed = message.trim();
    let valid = !trimmed.is_empty()
        && trimmed.len() <= MAX_EVALUATED_MESSAGE_EXPRESSION_SIZE_BYTES
        && !trimmed.contains('\n');
    valid.then(|| trimmed.to_string())
}

/// Upstream's `ruleMessageOrDefault`.
fn rule_message_or_default(rule: &CompiledRule) -> String {
    if rule.message.is_empty() {
        format!("failed rule: {}", rule_error_string(rule))
    } else {
        rule.message.trim().to_string()
    }
}

/// Upstream's `ruleErrorString`: the message when set, else the rule.
fn rule_error_string(rule: &CompiledRule) -> String {
    if rule.message.is_empty() {
        rule.rule.trim().to_string()
    } else {
        rule.message.trim().to_string()
    }
}

/// The detail of a rule that failed to evaluate, in upstream's words: overload errors get
/// their own sentence; others are `<cel-go error> evaluating rule: <rule>`.
fn evaluation_error(err: &ExecutionError, rule: &CompiledRule) -> String {
    match error_cause(err) {
        Some(cause) => format!("{cause} evaluating rule: {}", rule_error_string(rule)),
        None => format!(
            "'no such overload': call arguments did not match a supported operator, function or macro signature for rule: {}",
            rule_error_string(rule)
        ),
    }
}

/// cel-go's text of an evaluation error (`no such key: name`, `division by zero`, a library
/// function's own message), or `None` for the overload errors upstream words apart.
fn error_cause(err: &ExecutionError) -> Option<String> {
    Some(match err {
        ExecutionError::NoSuchOverload(_)
        | ExecutionError::UnsupportedBinaryOperator(..)
        | ExecutionError::UnexpectedType { .. }
        | ExecutionError::ValuesNotComparable(..)
        | ExecutionError::UnsupportedTargetType { .. }
        | ExecutionError::NotSupportedAsMethod { .. } => return None,
        ExecutionError::NoSuchKey(key) => format!("no such key: {key}"),
        ExecutionError::DivisionByZero(_) => "division by zero".to_string(),
        ExecutionError::RemainderByZero(_) => "modulus by zero".to_string(),
        ExecutionError::Overflow(..) => "integer overflow".to_string(),
        ExecutionError::IndexOutOfBounds(index) => match index {
            cel::Value::Int(i) => format!("index out of bounds: {i}"),
            other => format!("index out of bounds: {other:?}"),
        },
        ExecutionError::FunctionError { function, message } => {
            match conversion_target(function) {
                // A string that does not parse: cel-go's `String.ConvertToType` error.
                Some(target) if !message.contains("overflow") => {
                    format!("type conversion error from 'string' to '{target}'")
                }
                // Library functions raise cel-go's own texts (`types.NewErr`).
                _ => message.clone(),
            }
        }
        other => other.to_string(),
    })
}

/// The type a conversion function converts to, by cel-go's name.
fn conversion_target(function: &str) -> Option<&'static str> {
    Some(match function {
        "int" => "int",
        "uint" => "uint",
        "double" => "double",
        "bool" => "bool",
        "duration" => "google.protobuf.Duration",
        "timestamp" => "google.protobuf.Timestamp",
        _ => return None,
    })
}

/// [`error_cause`], with `no such overload` for the overload errors.
pub(super) fn error_message(err: &ExecutionError) -> String {
    error_cause(err).unwrap_or_else(|| "no such overload".to_string())
}

/// [`error_message`], as the tests name it.
#[cfg(test)]
pub(super) fn error_text(err: &ExecutionError) -> String {
    error_cause(err).unwrap_or_else(|| "no such overload".to_string())
}
