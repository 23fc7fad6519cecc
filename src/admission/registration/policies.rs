//! Validation of ValidatingAdmissionPolicies and their bindings, as upstream's
//! `validateValidatingAdmissionPolicy`, `validateValidatingAdmissionPolicyBinding` and their
//! `...Update` variants.

use std::collections::HashSet;

use serde_json::Value;

use super::common::{
    check_supported, compile, is_set, items, render_strings, strings, text,
    validate_match_conditions, validate_match_resources, validate_selector, Declarations, Returns,
    FAILURE_POLICIES,
};
use crate::api::go_fmt::go_quote;
use crate::api::names::{
    is_dns1035_label, is_dns1123_subdomain, is_qualified_name, is_valid_path_segment_name,
};
use crate::registry::validation::FieldError;

/// `supportedValidationPolicyReason`, sorted.
const REASONS: &[&str] = &["Forbidden", "Invalid", "RequestEntityTooLarge"];
/// `validValidationActions`, sorted.
const VALIDATION_ACTIONS: &[&str] = &["Audit", "Deny", "Warn"];
/// `maxAuditAnnotations`.
const MAX_AUDIT_ANNOTATIONS: usize = 20;
/// `maxAuditAnnotationValueExpressionLength`.
const MAX_AUDIT_ANNOTATION_VALUE_EXPRESSION_LENGTH: usize = 5 * 1024;

/// The problems of a new policy.
pub fn validate_policy_create(obj: &Value) -> Vec<FieldError> {
    validate_policy(obj, false)
}

/// The problems of an update of a policy: its match conditions are not compiled again when
/// neither they nor `paramKind` changed.
pub fn validate_policy_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let spec = |obj: &Value, key: &str| obj.pointer(&format!("/spec/{key}")).cloned();
    let ignore = spec(new, "paramKind") == spec(old, "paramKind")
        && spec(new, "matchConditions") == spec(old, "matchConditions");
    validate_policy(new, ignore)
}

fn validate_policy(obj: &Value, ignore_match_conditions: bool) -> Vec<FieldError> {
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let mut errs = Vec::new();
    let path = "spec";
    if !is_set(spec, "failurePolicy") {
        errs.push(FieldError::required("spec.failurePolicy", ""));
    } else {
        check_supported(spec, "failurePolicy", path, FAILURE_POLICIES, &mut errs);
    }
    let has_params = is_set(spec, "paramKind");
    if let Some(kind) = spec.get("paramKind").filter(|k| !k.is_null()) {
        errs.extend(validate_param_kind(kind, "spec.paramKind"));
    }
    match spec.get("matchConstraints").filter(|c| !c.is_null()) {
        None => errs.push(FieldError::required("spec.matchConstraints", "")),
        Some(constraints) => {
            errs.extend(validate_match_resources(
                constraints,
                "spec.matchConstraints",
            ));
            if items(constraints, "resourceRules").is_empty() {
                errs.push(FieldError::required(
                    "spec.matchConstraints.resourceRules",
                    "",
                ));
            }
        }
    }
    if !ignore_match_conditions {
        errs.extend(validate_match_conditions(
            items(spec, "matchConditions"),
            has_params,
            "spec.matchConditions",
        ));
    }
    let variables = items(spec, "variables");
    let composition = !variables.is_empty();
    let declarations = Declarations {
        params: has_params,
        authorizer: true,
        variables: composition,
    };
    for (i, variable) in variables.iter().enumerate() {
        errs.extend(validate_variable(
            variable,
            declarations,
            &format!("spec.variables[{i}]"),
        ));
    }
    let validations = items(spec, "validations");
    let annotations = items(spec, "auditAnnotations");
    if validations.is_empty() && annotations.is_empty() {
        for key in ["validations", "auditAnnotations"] {
            errs.push(FieldError::required(
                format!("spec.{key}"),
                "validations or auditAnnotations must contain at least one item",
            ));
        }
        return errs;
    }
    for (i, validation) in validations.iter().enumerate() {
        errs.extend(validate_validation(
            validation,
            declarations,
            &format!("spec.validations[{i}]"),
        ));
    }
    if annotations.len() > MAX_AUDIT_ANNOTATIONS {
        errs.push(FieldError::invalid_rendered(
            "spec.auditAnnotations",
            render_audit_annotations(annotations),
            format!("must not have more than {MAX_AUDIT_ANNOTATIONS} auditAnnotations"),
        ));
    }
    let mut keys = HashSet::new();
    for (i, annotation) in annotations.iter().enumerate() {
        let at = format!("spec.auditAnnotations[{i}]");
        errs.extend(validate_audit_annotation(
            annotation,
            name,
            declarations,
            &at,
        ));
        let key = text(annotation, "key").unwrap_or("");
        if !keys.insert(key) {
            errs.push(FieldError::duplicate(format!("{at}.key"), key));
        }
    }
    errs
}

/// Go's `%#v` of `[]admissionregistration.AuditAnnotation`.
fn render_audit_annotations(annotations: &[Value]) -> String {
    let body: Vec<String> = annotations
        .iter()
        .map(|a| {
            format!(
                "admissionregistration.AuditAnnotation{{Key:{}, ValueExpression:{}}}",
                go_quote(text(a, "key").unwrap_or("")),
                go_quote(text(a, "valueExpression").unwrap_or(""))
            )
        })
        .collect();
    format!(
        "[]admissionregistration.AuditAnnotation{{{}}}",
        body.join(", ")
    )
}

/// Upstream's `parseGroupVersion`: `Err` for more than one `/`.
fn parse_group_version(gv: &str) -> Result<(&str, &str), String> {
    if gv.is_empty() || gv == "/" {
        return Ok(("", ""));
    }
    match gv.matches('/').count() {
        0 => Ok(("", gv)),
        1 => Ok(gv.split_once('/').unwrap_or(("", gv))),
        _ => Err(format!("unexpected GroupVersion string: {gv}")),
    }
}

/// Upstream's `validateParamKind`.
fn validate_param_kind(kind: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let api_version = text(kind, "apiVersion").unwrap_or("");
    let at = format!("{path}.apiVersion");
    if api_version.is_empty() {
        errs.push(FieldError::required(&at, ""));
    } else {
        match parse_group_version(api_version) {
            Err(why) => errs.push(FieldError::invalid(&at, api_version, why)),
            Ok((group, version)) => {
                if !group.is_empty() {
                    let problems = is_dns1123_subdomain(group);
                    if !problems.is_empty() {
                        errs.push(FieldError::invalid(&at, group, problems.join(",")));
                    }
                }
                if version.is_empty() {
                    errs.push(FieldError::invalid(
                        &at,
                        api_version,
                        "version must be specified",
                    ));
                } else {
                    let problems = is_dns1035_label(version);
                    if !problems.is_empty() {
                        errs.push(FieldError::invalid(&at, version, problems.join(",")));
                    }
                }
            }
        }
    }
    let kind_name = text(kind, "kind").unwrap_or("");
    if kind_name.is_empty() {
        errs.push(FieldError::required(format!("{path}.kind"), ""));
    } else {
        let problems = is_dns1035_label(&kind_name.to_lowercase());
        if !problems.is_empty() {
            errs.push(FieldError::invalid(
                format!("{path}.kind"),
                kind_name,
                format!(
                    "may have mixed case, but should otherwise match: {}",
                    problems.join(",")
                ),
            ));
        }
    }
    errs
}

/// Upstream's `validateVariable`.
fn validate_variable(variable: &Value, declarations: Declarations, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let name = text(variable, "name").unwrap_or("");
    if name.trim().is_empty() {
        errs.push(FieldError::required(
            format!("{path}.name"),
            "name is not specified",
        ));
    } else if !crate::apiextensions::cel::expression::is_identifier(name) {
        errs.push(FieldError::invalid(
            format!("{path}.name"),
            name,
            "name is not a valid CEL identifier",
        ));
    }
    let expression = text(variable, "expression").unwrap_or("");
    if expression.trim().is_empty() {
        errs.push(FieldError::required(
            format!("{path}.expression"),
            "expression is not specified",
        ));
    } else {
        errs.extend(compile(
            expression,
            expression,
            declarations,
            Returns::Any,
            &format!("{path}.expression"),
        ));
    }
    errs
}

/// Upstream's `validateValidation`.
fn validate_validation(
    validation: &Value,
    declarations: Declarations,
    path: &str,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let expression = text(validation, "expression").unwrap_or("");
    if expression.trim().is_empty() {
        errs.push(FieldError::required(
            format!("{path}.expression"),
            "expression is not specified",
        ));
    } else {
        errs.extend(compile(
            expression,
            expression,
            declarations,
            Returns::Bool,
            &format!("{path}.expression"),
        ));
    }
    let message_expression = text(validation, "messageExpression").unwrap_or("");
    if !message_expression.is_empty() && message_expression.trim().is_empty() {
        errs.push(FieldError::invalid(
            format!("{path}.messageExpression"),
            message_expression,
            "must be non-empty if specified",
        ));
    } else if !message_expression.trim().is_empty() {
        // Message expressions see params as match conditions do, and no authorizer.
        let message_declarations = Declarations {
            authorizer: false,
            ..declarations
        };
        errs.extend(compile(
            message_expression,
            message_expression,
            message_declarations,
            Returns::String,
            &format!("{path}.messageExpression"),
        ));
    }
    let message = text(validation, "message").unwrap_or("");
    let trimmed = message.trim();
    if !message.is_empty() && trimmed.is_empty() {
        errs.push(FieldError::invalid(
            format!("{path}.message"),
            message,
            "message must be non-empty if specified",
        ));
    } else if trimmed.contains(['\n', '\r']) {
        errs.push(FieldError::invalid(
            format!("{path}.message"),
            message,
            "message must not contain line breaks",
        ));
    }
    check_supported(validation, "reason", path, REASONS, &mut errs);
    errs
}

/// Upstream's `validateAuditAnnotation` of a policy named `policy`.
fn validate_audit_annotation(
    annotation: &Value,
    policy: &str,
    declarations: Declarations,
    path: &str,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let key = text(annotation, "key").unwrap_or("");
    if policy.is_empty() {
        errs.push(FieldError::invalid(
            format!("{path}.key"),
            key,
            "requires metadata.name be non-empty",
        ));
    } else {
        let qualified = format!("{policy}/{key}");
        for msg in is_qualified_name(&qualified) {
            errs.push(FieldError::invalid(format!("{path}.key"), &qualified, msg));
        }
    }
    let value_expression = text(annotation, "valueExpression").unwrap_or("");
    let trimmed = value_expression.trim();
    let at = format!("{path}.valueExpression");
    if trimmed.is_empty() {
        errs.push(FieldError::required(
            &at,
            "valueExpression is not specified",
        ));
    } else if trimmed.len() > MAX_AUDIT_ANNOTATION_VALUE_EXPRESSION_LENGTH {
        errs.push(FieldError::required(
            &at,
            format!(
                "must not exceed {MAX_AUDIT_ANNOTATION_VALUE_EXPRESSION_LENGTH} bytes in length"
            ),
        ));
    } else {
        errs.extend(compile(
            trimmed,
            value_expression,
            declarations,
            Returns::StringOrNull,
            &at,
        ));
    }
    errs
}

/// The problems of a binding, new or updated (upstream validates an update as a create).
pub fn validate_binding(obj: &Value) -> Vec<FieldError> {
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    let mut errs = Vec::new();
    let policy = text(spec, "policyName").unwrap_or("");
    if policy.is_empty() {
        errs.push(FieldError::required("spec.policyName", ""));
    } else {
        for msg in is_dns1123_subdomain(policy) {
            errs.push(FieldError::invalid("spec.policyName", policy, msg));
        }
    }
    if let Some(param_ref) = spec.get("paramRef").filter(|p| !p.is_null()) {
        errs.extend(validate_param_ref(param_ref, "spec.paramRef"));
    }
    if let Some(resources) = spec.get("matchResources").filter(|r| !r.is_null()) {
        // Upstream's path, misspelt as it is.
        errs.extend(validate_match_resources(resources, "spec.matchResouces"));
    }
    errs.extend(validate_validation_actions(
        &strings(spec, "validationActions"),
        "spec.validationActions",
    ));
    errs
}

/// Upstream's `validateParamRef`.
fn validate_param_ref(param_ref: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let name = text(param_ref, "name").unwrap_or("");
    let has_selector = is_set(param_ref, "selector");
    const EXCLUSIVE: &str = "name and selector are mutually exclusive";
    if !name.is_empty() {
        for msg in is_valid_path_segment_name(name) {
            errs.push(FieldError::invalid(format!("{path}.name"), name, msg));
        }
        if has_selector {
            errs.push(FieldError::forbidden(format!("{path}.name"), EXCLUSIVE));
        }
    }
    if has_selector {
        validate_selector(param_ref, "selector", path, &mut errs);
        if !name.is_empty() {
            errs.push(FieldError::forbidden(format!("{path}.selector"), EXCLUSIVE));
        }
    }
    if name.is_empty() && !has_selector {
        errs.push(FieldError::required(
            path,
            "one of name or selector must be specified",
        ));
    }
    let action = text(param_ref, "parameterNotFoundAction").unwrap_or("");
    if action.is_empty() {
        errs.push(FieldError::required(
            format!("{path}.parameterNotFoundAction"),
            "",
        ));
    } else if action != "Deny" && action != "Allow" {
        errs.push(FieldError::not_supported(
            format!("{path}.parameterNotFoundAction"),
            action,
            &["Deny", "Allow"],
        ));
    }
    errs
}

/// Upstream's `validateValidationActions`.
fn validate_validation_actions(actions: &[&str], path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut seen = HashSet::new();
    for (i, action) in actions.iter().enumerate() {
        if !VALIDATION_ACTIONS.contains(action) {
            errs.push(FieldError::not_supported(
                format!("{path}[{i}]"),
                action,
                VALIDATION_ACTIONS,
            ));
        }
        if !seen.insert(*action) {
            errs.push(FieldError::duplicate(format!("{path}[{i}]"), action));
        }
    }
    if seen.contains("Deny") && seen.contains("Warn") {
        errs.push(FieldError::invalid_rendered(
            path,
            render_strings("admissionregistration.ValidationAction", actions),
            "must not contain both Deny and Warn (repeating the same validation failure information in the API response and headers serves no purpose)",
        ));
    }
    if seen.is_empty() {
        errs.push(FieldError::required(
            path,
            "at least one validation action is required",
        ));
    }
    errs
}
