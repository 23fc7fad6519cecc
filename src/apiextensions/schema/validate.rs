//! OpenAPI v3 value validation of one schema node, after kube-openapi's
//! `pkg/validation/validate` (`SchemaValidator`: the type, schema-props, string, format, number,
//! slice, common and object validators, in that order) with the messages of
//! `pkg/validation/errors/schema.go`, turned into field errors as upstream's
//! `apiextensions-apiserver/pkg/apiserver/validation/validation.go`
//! (`kubeOpenAPIResultToFieldErrors`) does: Required, NotSupported (enum), TooLong (maxLength),
//! TooMany (maxItems, maxProperties), TypeInvalid (type and format), Invalid (the rest; the
//! allOf/anyOf/oneOf/not messages have no field and print as `<nil>: Invalid value: ""`).

use serde_json::{Number, Value};

use super::formats;
use super::{AdditionalProperties, Structural};
use crate::api::go_fmt::go_quote;
use crate::api::go_fmt::{bad_value, go_float, go_number};
use crate::registry::validation::{FieldError, FieldErrorKind};

/// A field error at `path`; the root (empty path) is Go's nil `*field.Path`, which upstream
/// names `<nil>` (in the message and in the StatusCause's `field`).
fn error(kind: FieldErrorKind, path: &str, value: Option<String>, detail: String) -> FieldError {
    FieldError {
        kind,
        field: if path.is_empty() {
            "<nil>".to_string()
        } else {
            path.to_string()
        },
        value,
        detail,
    }
}

fn invalid(path: &str, value: String, detail: String) -> FieldError {
    error(FieldErrorKind::Invalid, path, Some(value), detail)
}

/// A kube-openapi error without a field (the composition messages).
fn composite(detail: String) -> FieldError {
    error(FieldErrorKind::Invalid, "", Some("\"\"".into()), detail)
}

fn too_many(path: &str, actual: usize, max: u64) -> FieldError {
    let noun = if max == 1 { "item" } else { "items" };
    error(
        FieldErrorKind::TooMany,
        path,
        Some(actual.to_string()),
        format!("must have at most {max} {noun}"),
    )
}

/// The JSON type kube-openapi infers for decoded data, and the Go format of numbers.
fn data_type(value: &Value) -> (&'static str, &'static str) {
    match value {
        Value::Null => ("null", ""),
        Value::Bool(_) => ("boolean", ""),
        Value::Number(n) if n.is_f64() => ("number", "float64"),
        Value::Number(_) => ("integer", "int64"),
        Value::String(_) => ("string", ""),
        Value::Array(_) => ("array", ""),
        Value::Object(_) => ("object", ""),
    }
}

/// The schema's types as kube-openapi sees them (`x-kubernetes-int-or-string` is
/// `integer,string`).
fn types(s: &Structural) -> Vec<&str> {
    if s.int_or_string {
        vec!["integer", "string"]
    } else if s.type_.is_empty() {
        Vec::new()
    } else {
        vec![s.type_.as_str()]
    }
}

/// The schema's format when upstream validates it (unsupported formats are stripped).
fn effective_format(s: &Structural) -> Option<&str> {
    s.format
        .as_deref()
        .filter(|f| formats::supported(f).is_some())
}

/// Validates `value` at `path` against `s` as kube-openapi's `SchemaValidator.Validate` does:
/// appends the errors in its order and returns the result's `MatchCount`. Upstream counts one
/// per validator that applies to the value (type only when the schema has a type or format;
/// schema-props and common always; string and format for strings; number; slice; object), one
/// more at the end, plus what the validators' own results carry: the type check 1 when it
/// passes, the schema props 1 and the counts of the alternatives they merge, the number and
/// slice validators 1 each, the slice and object validators the counts of their items and
/// properties. Null data only runs the type and enum checks, counting 1 when the type passes.
/// The anyOf/oneOf alternative whose errors are kept is the failing one with the highest count.
pub(super) fn validate_node(
    s: &Structural,
    value: &Value,
    path: &str,
    errors: &mut Vec<FieldError>,
) -> usize {
    if value.is_null() {
        let typed = check_type(s, value, path, errors);
        check_enum(s, value, path, errors);
        return usize::from(typed);
    }
    let mut count = 0;
    if !types(s).is_empty() || effective_format(s).is_some() {
        count += usize::from(check_type(s, value, path, errors)) + 1;
    }
    count += check_composition(s, value, path, errors) + 1;
    match value {
        Value::String(text) => {
            check_string(s, text, path, errors);
            count += 1;
            if effective_format(s).is_some() {
                check_format(s, text, path, errors);
                count += 1;
            }
        }
        Value::Number(n) => {
            check_number(s, n, path, errors);
            count += 2;
        }
        Value::Array(items) => count += check_array(s, items, path, errors) + 1,
        _ => {}
    }
    check_enum(s, value, path, errors);
    count += 1;
    if let Value::Object(obj) = value {
        count += check_object(s, obj, path, errors) + 1;
    }
    count + 1
}

/// The errors of [`validate_node`] at the root, each text once (kube-openapi's
/// `Result.AddErrors` drops an error whose text is already in the result; merging is
/// concatenation, so dropping the later copies of the whole list is the same).
pub(super) fn validate_root(s: &Structural, value: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    validate_node(s, value, "", &mut errors);
    let mut seen = std::collections::HashSet::new();
    errors.retain(|e| seen.insert(e.to_string()));
    errors
}

/// The errors and the match count of one alternative.
fn collect(s: &Structural, value: &Value, path: &str) -> (Vec<FieldError>, usize) {
    let mut errors = Vec::new();
    let count = validate_node(s, value, path, &mut errors);
    (errors, count)
}

fn type_error(path: &str, expected: &str, actual: &str) -> FieldError {
    error(
        FieldErrorKind::TypeInvalid,
        path,
        Some(go_quote(actual)),
        format!(
            "{path} in body must be of type {expected}: {}",
            go_quote(actual)
        ),
    )
}

/// The type check; whether it passed.
fn check_type(s: &Structural, value: &Value, path: &str, errors: &mut Vec<FieldError>) -> bool {
    let types = types(s);
    let format = effective_format(s).unwrap_or("");
    if types.is_empty() && format.is_empty() {
        return true;
    }
    if value.is_null() {
        if !types.is_empty() && !s.nullable {
            errors.push(type_error(path, &types.join(","), "null"));
            return false;
        }
        return true;
    }
    let (actual, actual_format) = data_type(value);
    let integral_float = value
        .as_f64()
        .is_some_and(|f| value.is_f64() && f.fract() == 0.0);
    let float_int = actual == "number" && integral_float && types.contains(&"integer");
    let int_float = actual == "integer" && types.contains(&"number");
    let string_or_array = value.is_string() || value.is_array();
    if !string_or_array
        && !format.is_empty()
        && !types.contains(&actual)
        && actual_format != format
        && !float_int
        && !int_float
    {
        errors.push(type_error(path, format, actual_format));
        return false;
    }
    let numeric = types.contains(&"number") || types.contains(&"integer");
    if !numeric && !format.is_empty() && string_or_array {
        return true;
    }
    if !(types.contains(&actual) || float_int || int_float) {
        errors.push(type_error(path, &types.join(","), actual));
        return false;
    }
    true
}

/// kube-openapi's schema-props validator: anyOf, oneOf, allOf, not, in that order; returns
/// its match count (1, plus the counts of the alternatives it merges: anyOf's kept failure or
/// first success, oneOf's kept failure or its one success, every allOf part; never `not`'s).
/// The failure kept is the one with the highest count, the first of equals; oneOf only weighs
/// the failures before its first success.
fn check_composition(
    s: &Structural,
    value: &Value,
    path: &str,
    errors: &mut Vec<FieldError>,
) -> usize {
    let shown = go_quote(path);
    let mut count = 0;
    if !s.any_of.is_empty() {
        let mut best: Option<(Vec<FieldError>, usize)> = None;
        let mut success = None;
        for alternative in &s.any_of {
            let (result, matched) = collect(alternative, value, path);
            if result.is_empty() {
                success = Some(matched);
                best = None;
                break;
            }
            if best.as_ref().is_none_or(|(_, b)| matched > *b) {
                best = Some((result, matched));
            }
        }
        if success.is_none() {
            errors.push(composite(format!(
                "{shown} must validate at least one schema (anyOf)"
            )));
        }
        if let Some((result, matched)) = best {
            errors.extend(result);
            count += matched;
        } else {
            count += success.unwrap_or_default();
        }
    }
    if !s.one_of.is_empty() {
        let mut best: Option<(Vec<FieldError>, usize)> = None;
        let mut first_success = None;
        let mut validated = 0;
        for alternative in &s.one_of {
            let (result, matched) = collect(alternative, value, path);
            if result.is_empty() {
                validated += 1;
                best = None;
                first_success.get_or_insert(matched);
                continue;
            }
            if validated == 0 && best.as_ref().is_none_or(|(_, b)| matched > *b) {
                best = Some((result, matched));
            }
        }
        if validated != 1 {
            let found = if validated == 0 {
                "Found none valid".to_string()
            } else {
                format!("Found {validated} valid alternatives")
            };
            errors.push(composite(format!(
                "{shown} must validate one and only one schema (oneOf). {found}"
            )));
            if let Some((result, matched)) = best {
                errors.extend(result);
                count += matched;
            }
        } else {
            count += first_success.unwrap_or_default();
        }
    }
    if !s.all_of.is_empty() {
        let mut validated = 0;
        for part in &s.all_of {
            let (result, matched) = collect(part, value, path);
            if result.is_empty() {
                validated += 1;
            }
            errors.extend(result);
            count += matched;
        }
        if validated != s.all_of.len() {
            let suffix = if validated == 0 {
                ". None validated"
            } else {
                ""
            };
            errors.push(composite(format!(
                "{shown} must validate all the schemas (allOf){suffix}"
            )));
        }
    }
    if let Some(not) = &s.not {
        if collect(not, value, path).0.is_empty() {
            errors.push(composite(format!(
                "{shown} must not validate the schema (not)"
            )));
        }
    }
    count + 1
}

/// maxLength, minLength, pattern: the first failure only, as kube-openapi's string validator.
fn check_string(s: &Structural, text: &str, path: &str, errors: &mut Vec<FieldError>) {
    let len = text.chars().count() as u64;
    if let Some(max) = s.max_length {
        if len > max {
            let unit = if max == 1 { "byte" } else { "bytes" };
            errors.push(FieldError::too_long(
                path,
                format!("may not be more than {max} {unit}"),
            ));
            return;
        }
    }
    if let Some(min) = s.min_length {
        if len < min {
            errors.push(invalid(
                path,
                go_quote(text),
                format!("{path} in body should be at least {min} chars long"),
            ));
            return;
        }
    }
    if let Some(pattern) = &s.pattern {
        let matches = match s.compiled_pattern.as_ref().and_then(|c| c.regex.as_ref()) {
            Some(regex) => regex.is_match(text),
            None => false,
        };
        if !matches {
            let shown = match s.compiled_pattern.as_ref().and_then(|c| c.error.as_ref()) {
                Some(err) => format!("{pattern}, but pattern is invalid: {err}"),
                None => pattern.clone(),
            };
            errors.push(invalid(
                path,
                go_quote(text),
                format!("{path} in body should match '{shown}'"),
            ));
        }
    }
}

fn check_format(s: &Structural, text: &str, path: &str, errors: &mut Vec<FieldError>) {
    let Some(format) = effective_format(s) else {
        return;
    };
    let normalized = formats::supported(format).unwrap_or_default();
    if !formats::is_valid(&normalized, text) {
        errors.push(error(
            FieldErrorKind::TypeInvalid,
            path,
            Some(go_quote(text)),
            format!(
                "{path} in body must be of type {format}: {}",
                go_quote(text)
            ),
        ));
    }
}

/// Whether `f` is an integer as go-openapi's `swag.IsFloat64AJSONInteger` decides (relative
/// error below 1e-9).
fn is_json_integer(f: f64) -> bool {
    if !f.is_finite() {
        return false;
    }
    let g = f.trunc();
    if f == g {
        return true;
    }
    let diff = (f - g).abs();
    diff / (f.abs() + g.abs()) < 1e-9
}

/// multipleOf, minimum, maximum, with integer data compared to bounds truncated to integers
/// (kube-openapi's `*NativeType` checks) and printed as Go prints them.
fn check_number(s: &Structural, n: &Number, path: &str, errors: &mut Vec<FieldError>) {
    let shown_value = go_number(n);
    let int_value = if n.is_f64() { None } else { n.as_i64() };
    let f = n.as_f64().unwrap_or_default();
    if let Some(factor) = s.multiple_of {
        match int_value {
            Some(i) => {
                let factor = factor as i64;
                if factor != 0 && i % factor != 0 {
                    errors.push(invalid(
                        path,
                        shown_value.clone(),
                        format!("{path} in body should be a multiple of {factor}"),
                    ));
                }
            }
            None if factor > 0.0 => {
                let mult = if factor < 1.0 {
                    1.0 / factor * f
                } else {
                    f / factor
                };
                if !is_json_integer(mult) {
                    errors.push(invalid(
                        path,
                        shown_value.clone(),
                        format!(
                            "{path} in body should be a multiple of {}",
                            go_float(factor)
                        ),
                    ));
                }
            }
            None => {}
        }
    }
    let bound = |b: f64| match int_value {
        Some(_) => ((b as i64) as f64, (b as i64).to_string()),
        None => (b, go_float(b)),
    };
    let value = int_value.map_or(f, |i| i as f64);
    if let Some(min) = s.minimum {
        let (min, shown) = bound(min);
        let fails = if s.exclusive_minimum {
            value <= min
        } else {
            value < min
        };
        if fails {
            let op = if s.exclusive_minimum {
                "greater than"
            } else {
                "greater than or equal to"
            };
            errors.push(invalid(
                path,
                shown_value.clone(),
                format!("{path} in body should be {op} {shown}"),
            ));
        }
    }
    if let Some(max) = s.maximum {
        let (max, shown) = bound(max);
        let fails = if s.exclusive_maximum {
            value >= max
        } else {
            value > max
        };
        if fails {
            let op = if s.exclusive_maximum {
                "less than"
            } else {
                "less than or equal to"
            };
            errors.push(invalid(
                path,
                shown_value,
                format!("{path} in body should be {op} {shown}"),
            ));
        }
    }
}

/// The items, minItems, maxItems; returns the slice validator's own count (its items' counts
/// and 1).
fn check_array(s: &Structural, items: &[Value], path: &str, errors: &mut Vec<FieldError>) -> usize {
    let mut count = 1;
    if let Some(item) = &s.items {
        for (i, v) in items.iter().enumerate() {
            count += validate_node(item, v, &format!("{path}[{i}]"), errors);
        }
    }
    let len = items.len() as u64;
    if let Some(min) = s.min_items {
        if len < min {
            errors.push(invalid(
                path,
                len.to_string(),
                format!("{path} in body should have at least {min} items"),
            ));
        }
    }
    if let Some(max) = s.max_items {
        if len > max {
            errors.push(too_many(path, items.len(), max));
        }
    }
    count
}

/// Whether `data` equals the enum value `allowed` after Go's conversion of `data` to the enum
/// value's type (an integer enum value matches a float truncated to it).
fn enum_matches(data: &Value, allowed: &Value) -> bool {
    match (data, allowed) {
        (Value::Number(d), Value::Number(a)) => {
            if a.is_f64() {
                d.as_f64() == a.as_f64()
            } else if d.is_f64() {
                d.as_f64().map(|f| f.trunc() as i64) == a.as_i64()
            } else {
                d == a
            }
        }
        (Value::Null, _) | (_, Value::Null) => false,
        _ => data == allowed,
    }
}

fn check_enum(s: &Structural, value: &Value, path: &str, errors: &mut Vec<FieldError>) {
    if s.enum_.is_empty() || s.enum_.iter().any(|allowed| enum_matches(value, allowed)) {
        return;
    }
    let supported: Vec<String> = s
        .enum_
        .iter()
        .map(|v| match v {
            Value::String(text) => go_quote(text),
            other => go_quote(&other.to_string()),
        })
        .collect();
    errors.push(error(
        FieldErrorKind::NotSupported,
        path,
        Some(bad_value(value)),
        format!("supported values: {}", supported.join(", ")),
    ));
}

/// min/maxProperties, additionalProperties, properties, required; returns the counts of the
/// values validated (kube-openapi's object validator adds none of its own). A property count
/// out of bounds does not stop the rest (kube-openapi since its #412, in 1.33's pin).
fn check_object(
    s: &Structural,
    obj: &serde_json::Map<String, Value>,
    path: &str,
    errors: &mut Vec<FieldError>,
) -> usize {
    let len = obj.len() as u64;
    if let Some(min) = s.min_properties {
        if len < min {
            errors.push(invalid(
                path,
                len.to_string(),
                format!("{path} in body should have at least {min} properties"),
            ));
        }
    }
    if let Some(max) = s.max_properties {
        if len > max {
            errors.push(too_many(path, obj.len(), max));
        }
    }
    let mut count = 0;
    if let Some(AdditionalProperties::Schema(extra)) = &s.additional_properties {
        for (key, v) in obj {
            if s.property(key).is_none() {
                count += validate_node(extra, v, &super::join(path, key), errors);
            }
        }
    }
    for (key, v) in obj {
        if let Some(prop) = s.property(key) {
            count += validate_node(prop, v, &super::join(path, key), errors);
        }
    }
    for name in &s.required {
        if !obj.contains_key(name) {
            errors.push(FieldError::required(super::join(path, name), ""));
        }
    }
    count
}
