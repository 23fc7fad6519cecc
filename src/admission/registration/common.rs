//! What webhooks and policies share in upstream's validation
//! (`pkg/apis/admissionregistration/validation/validation.go`): rules, match resources, match
//! conditions, label selectors, and the compilation of CEL expressions into field errors.

use std::collections::HashSet;

use serde_json::Value;

use crate::api::go_fmt::go_quote;
use crate::api::names::{is_qualified_name, is_valid_path_segment_name};
use crate::apiextensions::cel::expression::{Expression, ResultType};
use crate::registry::validation::label_selector::validate_label_selector;
use crate::registry::validation::FieldError;

/// The string at `obj[key]`, when present and a string.
pub(super) fn text<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    obj.get(key).and_then(Value::as_str)
}

/// Whether `obj[key]` is set (present and not null), as a Go pointer field is non-nil.
pub(super) fn is_set(obj: &Value, key: &str) -> bool {
    obj.get(key).is_some_and(|v| !v.is_null())
}

/// The items of the list at `obj[key]` (none when absent).
pub(super) fn items<'a>(obj: &'a Value, key: &str) -> &'a [Value] {
    obj.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// The strings of the list at `obj[key]`.
pub(super) fn strings<'a>(obj: &'a Value, key: &str) -> Vec<&'a str> {
    items(obj, key)
        .iter()
        .map(|v| v.as_str().unwrap_or(""))
        .collect()
}

/// Go's `%#v` of a slice of strings of type `type_name` (`[]string{"a", "b"}`).
pub(super) fn render_strings(type_name: &str, values: &[&str]) -> String {
    let body: Vec<String> = values.iter().map(|v| go_quote(v)).collect();
    format!("[]{type_name}{{{}}}", body.join(", "))
}

/// `field.NotSupported(path, value, supported)` when `obj[key]` is set and not one of
/// `supported`.
pub(super) fn check_supported(
    obj: &Value,
    key: &str,
    path: &str,
    supported: &[&str],
    errs: &mut Vec<FieldError>,
) {
    if is_set(obj, key) {
        let value = text(obj, key).unwrap_or("");
        if !supported.contains(&value) {
            errs.push(FieldError::not_supported(
                format!("{path}.{key}"),
                value,
                supported,
            ));
        }
    }
}

/// `supportedFailurePolicies`, sorted.
pub(super) const FAILURE_POLICIES: &[&str] = &["Fail", "Ignore"];
/// `supportedMatchPolicies`, sorted.
pub(super) const MATCH_POLICIES: &[&str] = &["Equivalent", "Exact"];
/// `supportedOperations`, sorted.
const OPERATIONS: &[&str] = &["*", "CONNECT", "CREATE", "DELETE", "UPDATE"];
/// `validScopes`, sorted.
const SCOPES: &[&str] = &["*", "Cluster", "Namespaced"];

/// Upstream's `validateRuleWithOperations` (subresources allowed) of `rule` at `path`.
pub(super) fn validate_rule_with_operations(rule: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let operations = strings(rule, "operations");
    if operations.is_empty() {
        errs.push(FieldError::required(format!("{path}.operations"), ""));
    }
    if operations.len() > 1 && operations.contains(&"*") {
        errs.push(FieldError::invalid_rendered(
            format!("{path}.operations"),
            render_strings("admissionregistration.OperationType", &operations),
            "if '*' is present, must not specify other operations",
        ));
    }
    for (i, operation) in operations.iter().enumerate() {
        if !OPERATIONS.contains(operation) {
            errs.push(FieldError::not_supported(
                format!("{path}.operations[{i}]"),
                operation,
                OPERATIONS,
            ));
        }
    }
    errs.extend(validate_rule(rule, path));
    errs
}

/// Upstream's `validateRule` with subresources allowed.
fn validate_rule(rule: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let groups = strings(rule, "apiGroups");
    if groups.is_empty() {
        errs.push(FieldError::required(format!("{path}.apiGroups"), ""));
    }
    if groups.len() > 1 && groups.contains(&"*") {
        errs.push(FieldError::invalid_rendered(
            format!("{path}.apiGroups"),
            render_strings("string", &groups),
            "if '*' is present, must not specify other API groups",
        ));
    }
    let versions = strings(rule, "apiVersions");
    if versions.is_empty() {
        errs.push(FieldError::required(format!("{path}.apiVersions"), ""));
    }
    if versions.len() > 1 && versions.contains(&"*") {
        errs.push(FieldError::invalid_rendered(
            format!("{path}.apiVersions"),
            render_strings("string", &versions),
            "if '*' is present, must not specify other API versions",
        ));
    }
    for (i, version) in versions.iter().enumerate() {
        if version.is_empty() {
            errs.push(FieldError::required(format!("{path}.apiVersions[{i}]"), ""));
        }
    }
    errs.extend(validate_resources(
        &strings(rule, "resources"),
        &format!("{path}.resources"),
    ));
    check_supported(rule, "scope", path, SCOPES, &mut errs);
    errs
}

/// Upstream's `validateResources`: `x`, `x/y`, `x/*`, `*/y`, `*`, `*/*`, and which exclude which.
fn validate_resources(resources: &[&str], path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if resources.is_empty() {
        errs.push(FieldError::required(path, ""));
    }
    let mut with_wildcard_subresource = HashSet::new();
    let mut subresource_with_wildcard_resource = HashSet::new();
    let mut double_wildcard = false;
    let mut single_wildcard = false;
    // As upstream, the last entry without a subresource decides.
    let mut resource_without_subresource = false;
    for (i, entry) in resources.iter().enumerate() {
        if entry.is_empty() {
            errs.push(FieldError::required(format!("{path}[{i}]"), ""));
            continue;
        }
        double_wildcard |= *entry == "*/*";
        single_wildcard |= *entry == "*";
        let Some((resource, subresource)) = entry.split_once('/') else {
            resource_without_subresource = *entry != "*";
            continue;
        };
        if with_wildcard_subresource.contains(resource) {
            errs.push(FieldError::invalid(
                format!("{path}[{i}]"),
                entry,
                format!("if '{resource}/*' is present, must not specify {entry}"),
            ));
        }
        if subresource_with_wildcard_resource.contains(subresource) {
            errs.push(FieldError::invalid(
                format!("{path}[{i}]"),
                entry,
                format!("if '*/{subresource}' is present, must not specify {entry}"),
            ));
        }
        if subresource == "*" {
            with_wildcard_subresource.insert(resource);
        }
        if resource == "*" {
            subresource_with_wildcard_resource.insert(subresource);
        }
    }
    if resources.len() > 1 && double_wildcard {
        errs.push(FieldError::invalid_rendered(
            path,
            render_strings("string", resources),
            "if '*/*' is present, must not specify other resources",
        ));
    }
    if single_wildcard && resource_without_subresource {
        errs.push(FieldError::invalid_rendered(
            path,
            render_strings("string", resources),
            "if '*' is present, must not specify other resources without subresources",
        ));
    }
    errs
}

/// Upstream's `ValidateLabelSelector` of `obj[key]` when set.
pub(super) fn validate_selector(obj: &Value, key: &str, path: &str, errs: &mut Vec<FieldError>) {
    if let Some(selector) = obj.get(key).filter(|s| s.is_object()) {
        errs.extend(validate_label_selector(selector, &format!("{path}.{key}")));
    }
}

/// Upstream's `validateMatchResources` of a policy's `matchConstraints` or a binding's
/// `matchResources`.
pub(super) fn validate_match_resources(resources: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if !is_set(resources, "matchPolicy") {
        errs.push(FieldError::required(format!("{path}.matchPolicy"), ""));
    } else {
        check_supported(resources, "matchPolicy", path, MATCH_POLICIES, &mut errs);
    }
    for key in ["namespaceSelector", "objectSelector"] {
        if !is_set(resources, key) {
            errs.push(FieldError::required(format!("{path}.{key}"), ""));
        } else {
            validate_selector(resources, key, path, &mut errs);
        }
    }
    for key in ["resourceRules", "excludeResourceRules"] {
        for (i, rule) in items(resources, key).iter().enumerate() {
            errs.extend(validate_named_rule(rule, &format!("{path}.{key}[{i}]")));
        }
    }
    errs
}

/// Upstream's `validateNamedRuleWithOperations`: resource names, then the rule.
fn validate_named_rule(rule: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut seen = HashSet::new();
    for (i, name) in strings(rule, "resourceNames").into_iter().enumerate() {
        let at = format!("{path}.resourceNames[{i}]");
        for msg in is_valid_path_segment_name(name) {
            errs.push(FieldError::invalid(&at, name, msg));
        }
        if !seen.insert(name) {
            errs.push(FieldError::duplicate(&at, name));
        }
    }
    errs.extend(validate_rule_with_operations(rule, path));
    errs
}

/// What an expression must evaluate to (upstream's `ReturnTypes` of each expression kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Returns {
    Bool,
    String,
    /// Audit annotation values: a string or null.
    StringOrNull,
    /// Variables: anything.
    Any,
}

/// The variables an expression is compiled with (upstream's `OptionalVariableDeclarations`
/// over the always-declared `object`, `oldObject`, `namespaceObject` and `request`, and the
/// composition's `variables`).
#[derive(Debug, Clone, Copy)]
pub(super) struct Declarations {
    pub params: bool,
    pub authorizer: bool,
    pub variables: bool,
}

impl Declarations {
    fn names(self) -> Vec<&'static str> {
        let mut names = vec!["object", "oldObject", "namespaceObject", "request"];
        if self.params {
            names.push("params");
        }
        if self.authorizer {
            names.push("authorizer");
        }
        if self.variables {
            names.push("variables");
        }
        names
    }
}

/// Upstream's compilation of one expression into a field error at `path`
/// (`convertCELErrorToValidationError`): `Invalid value: <shown>: compilation failed: ...` or
/// `must evaluate to bool but got string`. The checker types the declared variables `dyn`, so a
/// `dyn` result is accepted where upstream, knowing more types, may tell.
pub(super) fn compile(
    source: &str,
    shown: &str,
    declarations: Declarations,
    returns: Returns,
    path: &str,
) -> Option<FieldError> {
    let expression = match Expression::compile(source, &declarations.names(), ResultType::Any) {
        Ok(expression) => expression,
        Err(detail) if declarations.authorizer && only_authorizer_functions(&detail) => {
            return None;
        }
        Err(detail) => return Some(FieldError::invalid(path, shown, detail)),
    };
    let output = expression.output_type();
    let (accepted, expected): (&[&str], &str) = match returns {
        Returns::Any => return None,
        Returns::Bool => (&["bool"], "must evaluate to bool"),
        Returns::String => (&["string"], "must evaluate to string"),
        Returns::StringOrNull => (
            &["string", "null_type"],
            "must evaluate to one of [string null_type]",
        ),
    };
    if output == "dyn" || accepted.contains(&output) {
        return None;
    }
    Some(FieldError::invalid(
        path,
        shown,
        format!("{expected} but got {output}"),
    ))
}

/// The functions of upstream's authorizer library (`authorizer.group('apps').resource('x')
/// .check('get').allowed()`), which the checker does not know.
const AUTHORIZER_FUNCTIONS: &[&str] = &[
    "group",
    "resource",
    "subresource",
    "namespace",
    "name",
    "path",
    "serviceAccount",
    "check",
    "allowed",
    "reason",
    "errored",
    "error",
];

/// Whether every issue of a compilation is a call of an authorizer library function: the
/// expression compiles upstream, with a result this checker cannot type.
fn only_authorizer_functions(detail: &str) -> bool {
    let mut issues = detail
        .lines()
        .filter(|line| line.contains("ERROR: <input>:"));
    issues.clone().next().is_some()
        && issues.all(|issue| {
            AUTHORIZER_FUNCTIONS.iter().any(|function| {
                issue.ends_with(&format!(
                    "undeclared reference to '{function}' (in container '')"
                ))
            })
        })
}

/// Upstream's `validateMatchConditions` at `path` (a webhook's or a policy's).
pub(super) fn validate_match_conditions(
    conditions: &[Value],
    params: bool,
    path: &str,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if conditions.len() > 64 {
        errs.push(FieldError {
            kind: crate::registry::validation::FieldErrorKind::TooMany,
            field: path.to_string(),
            value: Some(conditions.len().to_string()),
            detail: "must have at most 64 items".into(),
        });
    }
    let declarations = Declarations {
        params,
        authorizer: true,
        variables: false,
    };
    let mut names = HashSet::new();
    for (i, condition) in conditions.iter().enumerate() {
        let at = format!("{path}[{i}]");
        let expression = text(condition, "expression").unwrap_or("").trim();
        if expression.is_empty() {
            errs.push(FieldError::required(format!("{at}.expression"), ""));
        } else {
            errs.extend(compile(
                expression,
                expression,
                declarations,
                Returns::Bool,
                &format!("{at}.expression"),
            ));
        }
        let name = text(condition, "name").unwrap_or("");
        if name.is_empty() {
            errs.push(FieldError::required(format!("{at}.name"), ""));
        } else {
            for msg in is_qualified_name(name) {
                errs.push(FieldError::invalid(format!("{at}.name"), name, msg));
            }
            if !names.insert(name) {
                errs.push(FieldError::duplicate(format!("{at}.name"), name));
            }
        }
    }
    errs
}
