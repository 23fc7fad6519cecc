//! Validation of `apiextensions.k8s.io/v1` CustomResourceDefinitions, as upstream's
//! `ValidateCustomResourceDefinition` and `ValidateCustomResourceDefinitionUpdate`
//! (`apiextensions-apiserver/pkg/apis/apiextensions/validation`).
//!
//! Both functions work on the CRD's JSON and return every violation found (an empty list means
//! valid); field paths and messages follow upstream so the Status a client sees matches
//! kube-apiserver. Upstream reports conversion webhook fields by their internal paths
//! (`spec.conversion.webhookClientConfig`, `spec.conversion.conversionReviewVersions`); so do we.
//!
//! The structural schema rules checked here are the subset upstream enforces on every v1 CRD
//! (types everywhere, object root, metadata restricted to name/generateName, list-type rules,
//! no `$ref`, no `uniqueItems`); the value-validation constraints inside `allOf`/`anyOf`/
//! `oneOf`/`not` are not checked here (see the schema module).

mod schema_rules;
#[cfg(test)]
mod tests;

use crate::api::go_fmt::go_quote;
use serde_json::Value;

use crate::api::names::{is_dns1035_label, is_dns1123_subdomain};
use crate::registry::validation::{FieldError, FieldErrorKind};

/// The scopes a CRD may declare.
const SCOPES: [&str; 2] = ["Cluster", "Namespaced"];
/// The printer column types, sorted as upstream lists them.
const COLUMN_TYPES: [&str; 5] = ["boolean", "date", "integer", "number", "string"];
/// The printer column formats, sorted as upstream lists them.
const COLUMN_FORMATS: [&str; 8] = [
    "byte",
    "date",
    "date-time",
    "double",
    "float",
    "int32",
    "int64",
    "password",
];
/// The conversion strategies.
const CONVERSION_STRATEGIES: [&str; 2] = ["None", "Webhook"];
/// The ConversionReview versions the server speaks.
const CONVERSION_REVIEW_VERSIONS: [&str; 2] = ["v1", "v1beta1"];

/// Validates a CRD about to be created. Returns every violation, in upstream's order.
pub fn validate_create(crd: &Value) -> Vec<FieldError> {
    let mut errs = validate_metadata_name(crd);
    errs.extend(validate_spec(spec(crd)));
    errs
}

/// Validates an update of a CRD from `old` to `new`, as upstream's
/// `ValidateCustomResourceDefinitionUpdate`: `metadata.name` immutable, every create rule on
/// `new`, `spec.scope` and `spec.names.kind` immutable once `old` is Established, `spec.group`
/// and `spec.names.plural` always immutable, then `new.status.storedVersions`.
///
/// The caller MUST have prepared `new.status` as upstream's update strategy does before calling:
/// the old status carried over on a spec update, and the new storage version appended to
/// `storedVersions` when missing. Stored versions are then checked as upstream: at least one,
/// the storage version among them, and every entry still in `spec.versions`.
pub fn validate_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let (new_name, old_name) = (name(new), name(old));
    if new_name != old_name {
        errs.push(immutable("metadata.name", new_name));
    }
    errs.extend(validate_create(new));
    let (new_spec, old_spec) = (spec(new), spec(old));
    if is_established(old) {
        if str_at(new_spec, "scope") != str_at(old_spec, "scope") {
            errs.push(immutable("spec.scope", str_at(new_spec, "scope")));
        }
        if names_field(new_spec, "kind") != names_field(old_spec, "kind") {
            errs.push(immutable("spec.names.kind", names_field(new_spec, "kind")));
        }
    }
    if str_at(new_spec, "group") != str_at(old_spec, "group") {
        errs.push(immutable("spec.group", str_at(new_spec, "group")));
    }
    if names_field(new_spec, "plural") != names_field(old_spec, "plural") {
        errs.push(immutable(
            "spec.names.plural",
            names_field(new_spec, "plural"),
        ));
    }
    errs.extend(validate_stored_versions(new));
    errs
}

/// `status.storedVersions`: not empty, holding the storage version, each entry a defined version.
fn validate_stored_versions(crd: &Value) -> Vec<FieldError> {
    const PATH: &str = "status.storedVersions";
    let stored = crd
        .pointer("/status/storedVersions")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    if stored.is_empty() {
        return vec![invalid_rendered(
            PATH,
            go_string_list(stored),
            "must have at least one stored version",
        )];
    }
    let stored_names: Vec<&str> = stored.iter().map(|v| v.as_str().unwrap_or("")).collect();
    let versions = versions(spec(crd));
    let mut errs = Vec::new();
    for version in versions {
        let name = str_at(version, "name");
        if version.get("storage").and_then(Value::as_bool) == Some(true)
            && !stored_names.contains(&name)
        {
            errs.push(invalid_rendered(
                PATH,
                version.to_string(),
                format!("must have the storage version {name}"),
            ));
        }
    }
    for (i, stored_name) in stored_names.iter().enumerate() {
        if !versions.iter().any(|v| str_at(v, "name") == *stored_name) {
            errs.push(FieldError::invalid(
                format!("{PATH}[{i}]"),
                stored_name,
                "must appear in spec.versions",
            ));
        }
    }
    errs
}

/// `spec.names.<key>`, or "".
fn names_field<'a>(spec: &'a Value, key: &str) -> &'a str {
    spec.get("names").map_or("", |names| str_at(names, key))
}

fn name(crd: &Value) -> &str {
    crd.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn spec(crd: &Value) -> &Value {
    crd.get("spec").unwrap_or(&Value::Null)
}

/// The string at `key` of an object, or "" when absent or not a string.
pub(crate) fn str_at<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or("")
}

fn versions(spec: &Value) -> &[Value] {
    spec.get("versions")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn is_established(crd: &Value) -> bool {
    crd.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|conditions| {
            conditions
                .iter()
                .any(|c| str_at(c, "type") == "Established" && str_at(c, "status") == "True")
        })
}

fn immutable(field: &str, value: &str) -> FieldError {
    FieldError::invalid(field, value, "field is immutable")
}

/// `field: Unsupported value: "value": supported values: "a", "b"`.
pub(crate) fn not_supported(
    field: impl Into<String>,
    value: &str,
    supported: &[&str],
) -> FieldError {
    let list: Vec<String> = supported.iter().map(|s| go_quote(s)).collect();
    FieldError {
        kind: FieldErrorKind::NotSupported,
        field: field.into(),
        value: Some(go_quote(value)),
        detail: format!("supported values: {}", list.join(", ")),
    }
}

/// An Invalid error whose value is already rendered (numbers, booleans, lists).
pub(crate) fn invalid_rendered(
    field: impl Into<String>,
    value: String,
    detail: impl Into<String>,
) -> FieldError {
    FieldError {
        kind: FieldErrorKind::Invalid,
        field: field.into(),
        value: Some(value),
        detail: detail.into(),
    }
}

/// A string list as Go's `%#v` prints it: `[]string{"a", "b"}`.
fn go_string_list(values: &[Value]) -> String {
    let items: Vec<String> = values
        .iter()
        .map(|v| go_quote(v.as_str().unwrap_or("")))
        .collect();
    format!("[]string{{{}}}", items.join(", "))
}

/// `metadata.name`: a DNS subdomain equal to `<spec.names.plural>.<spec.group>`.
fn validate_metadata_name(crd: &Value) -> Vec<FieldError> {
    let name = name(crd);
    if name.is_empty() {
        return vec![FieldError::required(
            "metadata.name",
            "name or generateName is required",
        )];
    }
    let mut errs: Vec<FieldError> = is_dns1123_subdomain(name)
        .into_iter()
        .map(|msg| FieldError::invalid("metadata.name", name, msg))
        .collect();
    let spec = spec(crd);
    let plural = crd
        .pointer("/spec/names/plural")
        .and_then(Value::as_str)
        .unwrap_or("");
    if name != format!("{plural}.{}", str_at(spec, "group")) {
        errs.push(FieldError::invalid(
            "metadata.name",
            name,
            "must be spec.names.plural+\".\"+spec.group",
        ));
    }
    errs
}

fn validate_spec(spec: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let group = str_at(spec, "group");
    if group.is_empty() {
        errs.push(FieldError::required("spec.group", ""));
    } else {
        let msgs = is_dns1123_subdomain(group);
        if !msgs.is_empty() {
            errs.push(FieldError::invalid("spec.group", group, msgs.join(",")));
        } else if !group.contains('.') {
            errs.push(FieldError::invalid(
                "spec.group",
                group,
                "should be a domain with at least one dot",
            ));
        }
    }

    let scope = str_at(spec, "scope");
    if scope.is_empty() {
        errs.push(FieldError::required("spec.scope", ""));
    } else if !SCOPES.contains(&scope) {
        errs.push(not_supported("spec.scope", scope, &SCOPES));
    }

    errs.extend(validate_versions(spec));
    errs.extend(validate_names(
        spec.get("names").unwrap_or(&Value::Null),
        "spec.names",
    ));
    if spec.get("preserveUnknownFields").and_then(Value::as_bool) == Some(true) {
        errs.push(invalid_rendered(
            "spec.preserveUnknownFields",
            "true".into(),
            "must be false",
        ));
    }
    errs.extend(validate_conversion(spec.get("conversion")));
    errs
}

fn validate_versions(spec: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let versions = versions(spec);
    let mut seen: Vec<&str> = Vec::new();
    let mut unique = true;
    let mut storage = 0;
    for (i, version) in versions.iter().enumerate() {
        let path = format!("spec.versions[{i}]");
        let name = str_at(version, "name");
        if seen.contains(&name) {
            unique = false;
        } else {
            seen.push(name);
        }
        let msgs = is_dns1035_label(name);
        if !msgs.is_empty() {
            errs.push(FieldError::invalid(
                format!("{path}.name"),
                name,
                msgs.join(","),
            ));
        }
        if version.get("storage").and_then(Value::as_bool) == Some(true) {
            storage += 1;
        }
        errs.extend(validate_version(version, &path));
    }
    let rendered = Value::Array(versions.to_vec()).to_string();
    if !unique {
        errs.push(invalid_rendered(
            "spec.versions",
            rendered.clone(),
            "must contain unique version names",
        ));
    }
    if storage != 1 {
        errs.push(invalid_rendered(
            "spec.versions",
            rendered,
            "must have exactly one version marked as storage version",
        ));
    }
    errs
}

/// One version's schema, subresources and printer columns.
fn validate_version(version: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    match version.pointer("/schema/openAPIV3Schema") {
        Some(schema) if schema.is_object() => errs.extend(schema_rules::validate_structural(
            schema,
            &format!("{path}.schema.openAPIV3Schema"),
        )),
        _ => errs.push(FieldError::required(
            format!("{path}.schema.openAPIV3Schema"),
            "schemas are required",
        )),
    }
    if let Some(scale) = version.pointer("/subresources/scale") {
        errs.extend(validate_scale(scale, &format!("{path}.subresources")));
    }
    if let Some(columns) = version
        .get("additionalPrinterColumns")
        .and_then(Value::as_array)
    {
        for (j, column) in columns.iter().enumerate() {
            errs.extend(validate_printer_column(
                column,
                &format!("{path}.additionalPrinterColumns[{j}]"),
            ));
        }
    }
    errs
}

/// A simple JSON path: `.a.b`.
fn validate_simple_json_path(value: &str, path: &str) -> Vec<FieldError> {
    if value.is_empty() {
        vec![FieldError::invalid(path, value, "must not be empty")]
    } else if !value.starts_with('.') {
        vec![FieldError::invalid(
            path,
            value,
            "must be a simple json path starting with .",
        )]
    } else {
        Vec::new()
    }
}

fn validate_scale(scale: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (key, prefix, detail) in [
        (
            "specReplicasPath",
            ".spec.",
            "should be a json path under .spec",
        ),
        (
            "statusReplicasPath",
            ".status.",
            "should be a json path under .status",
        ),
    ] {
        let field = format!("{path}.scale.{key}");
        let value = str_at(scale, key);
        if value.is_empty() {
            errs.push(FieldError::required(field, ""));
            continue;
        }
        let path_errs = validate_simple_json_path(value, &field);
        if !path_errs.is_empty() {
            errs.extend(path_errs);
        } else if !value.starts_with(prefix) {
            errs.push(FieldError::invalid(field, value, detail));
        }
    }
    let selector = str_at(scale, "labelSelectorPath");
    if !selector.is_empty() {
        let field = format!("{path}.scale.labelSelectorPath");
        let path_errs = validate_simple_json_path(selector, &field);
        if !path_errs.is_empty() {
            errs.extend(path_errs);
        } else if !selector.starts_with(".spec.") && !selector.starts_with(".status.") {
            errs.push(FieldError::invalid(
                field,
                selector,
                "should be a json path under either .spec or .status",
            ));
        }
    }
    errs
}

fn validate_printer_column(column: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if str_at(column, "name").is_empty() {
        errs.push(FieldError::required(format!("{path}.name"), ""));
    }
    let kind = str_at(column, "type");
    let types = format!("must be one of {}", COLUMN_TYPES.join(","));
    if kind.is_empty() {
        errs.push(FieldError::required(format!("{path}.type"), types));
    } else if !COLUMN_TYPES.contains(&kind) {
        errs.push(FieldError::invalid(format!("{path}.type"), kind, types));
    }
    let format = str_at(column, "format");
    if !format.is_empty() && !COLUMN_FORMATS.contains(&format) {
        errs.push(FieldError::invalid(
            format!("{path}.format"),
            format,
            format!("must be one of {}", COLUMN_FORMATS.join(",")),
        ));
    }
    let json_path = str_at(column, "jsonPath");
    if json_path.is_empty() {
        errs.push(FieldError::required(format!("{path}.jsonPath"), ""));
    } else {
        errs.extend(validate_simple_json_path(
            json_path,
            &format!("{path}.jsonPath"),
        ));
    }
    errs
}

fn validate_conversion(conversion: Option<&Value>) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let Some(conversion) = conversion.filter(|c| !c.is_null()) else {
        return errs;
    };
    let strategy = str_at(conversion, "strategy");
    let client_config = conversion
        .pointer("/webhook/clientConfig")
        .filter(|c| !c.is_null());
    match strategy {
        "" => errs.push(FieldError::required("spec.conversion.strategy", "")),
        "None" => {
            if client_config.is_some() {
                errs.push(FieldError::forbidden(
                    "spec.conversion.webhookClientConfig",
                    "should not be set when strategy is not set to Webhook",
                ));
            }
            if conversion
                .pointer("/webhook/conversionReviewVersions")
                .and_then(Value::as_array)
                .is_some_and(|v| !v.is_empty())
            {
                errs.push(FieldError::forbidden(
                    "spec.conversion.conversionReviewVersions",
                    "should not be set when strategy is not set to Webhook",
                ));
            }
        }
        "Webhook" => {
            match client_config {
                None => errs.push(FieldError::required(
                    "spec.conversion.webhookClientConfig",
                    "required when strategy is set to Webhook",
                )),
                Some(config) => {
                    let has_url = config.get("url").is_some_and(|u| !u.is_null());
                    let has_service = config.get("service").is_some_and(|s| !s.is_null());
                    if has_url == has_service {
                        errs.push(FieldError::required(
                            "spec.conversion.webhookClientConfig",
                            "exactly one of url or service is required",
                        ));
                    }
                }
            }
            errs.extend(validate_conversion_review_versions(
                conversion
                    .pointer("/webhook/conversionReviewVersions")
                    .and_then(Value::as_array)
                    .map(Vec::as_slice)
                    .unwrap_or(&[]),
            ));
        }
        other => errs.push(not_supported(
            "spec.conversion.strategy",
            other,
            &CONVERSION_STRATEGIES,
        )),
    }
    errs
}

fn validate_conversion_review_versions(versions: &[Value]) -> Vec<FieldError> {
    const PATH: &str = "spec.conversion.conversionReviewVersions";
    let mut errs = Vec::new();
    if versions.is_empty() {
        errs.push(FieldError::required(PATH, ""));
        return errs;
    }
    let mut seen: Vec<&str> = Vec::new();
    let mut accepted = false;
    for (i, version) in versions.iter().enumerate() {
        let version = version.as_str().unwrap_or("");
        if seen.contains(&version) {
            errs.push(FieldError::invalid(
                format!("{PATH}[{i}]"),
                version,
                "duplicate version",
            ));
            continue;
        }
        seen.push(version);
        for msg in is_dns1035_label(version) {
            errs.push(FieldError::invalid(format!("{PATH}[{i}]"), version, msg));
        }
        accepted |= CONVERSION_REVIEW_VERSIONS.contains(&version);
    }
    if !accepted {
        errs.push(invalid_rendered(
            PATH,
            go_string_list(versions),
            format!(
                "must include at least one of {}",
                CONVERSION_REVIEW_VERSIONS.join(", ")
            ),
        ));
    }
    errs
}

/// `spec.names`: plural, singular, kind, listKind, shortNames, categories.
fn validate_names(names: &Value, path: &str) -> Vec<FieldError> {
    let mut errs: Vec<FieldError> = ["plural", "singular", "kind", "listKind"]
        .into_iter()
        .filter(|key| str_at(names, key).is_empty())
        .map(|key| FieldError::required(format!("{path}.{key}"), ""))
        .collect();
    let plural = str_at(names, "plural");
    if !plural.is_empty() {
        let msgs = is_dns1035_label(plural);
        if !msgs.is_empty() {
            errs.push(FieldError::invalid(
                format!("{path}.plural"),
                plural,
                msgs.join(","),
            ));
        }
    }
    let singular = str_at(names, "singular");
    let msgs = is_dns1035_label(singular);
    if !singular.is_empty() && !msgs.is_empty() {
        errs.push(FieldError::invalid(
            format!("{path}.singular"),
            singular,
            msgs.join(","),
        ));
    }
    let kind = str_at(names, "kind");
    let list_kind = str_at(names, "listKind");
    for (key, value) in [("kind", kind), ("listKind", list_kind)] {
        let msgs = is_dns1035_label(&value.to_lowercase());
        if !value.is_empty() && !msgs.is_empty() {
            errs.push(FieldError::invalid(
                format!("{path}.{key}"),
                value,
                format!(
                    "may have mixed case, but should otherwise match: {}",
                    msgs.join(",")
                ),
            ));
        }
    }
    if !kind.is_empty() && kind == list_kind {
        errs.push(FieldError::invalid(
            format!("{path}.listKind"),
            list_kind,
            "kind and listKind may not be the same",
        ));
    }
    for key in ["shortNames", "categories"] {
        let Some(items) = names.get(key).and_then(Value::as_array) else {
            continue;
        };
        for (i, item) in items.iter().enumerate() {
            let item = item.as_str().unwrap_or("");
            let msgs = is_dns1035_label(item);
            if !msgs.is_empty() {
                errs.push(FieldError::invalid(
                    format!("{path}.{key}[{i}]"),
                    item,
                    msgs.join(","),
                ));
            }
        }
    }
    errs
}
