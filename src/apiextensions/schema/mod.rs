//! Structural schemas of custom resources, after upstream's
//! `apiextensions-apiserver/pkg/apiserver/schema`: a [`Structural`] tree parsed from a CRD
//! version's `schema.openAPIV3Schema`, [`validate`] (OpenAPI v3 value validation with upstream's
//! field paths and wording), [`prune`] (unknown fields dropped) and [`apply_defaults`].
//!
//! NOT COMPLETE (issue 6, first step; nothing serves custom resources yet): `pattern`, `format`,
//! `anyOf`/`oneOf`/`not` and the `x-kubernetes-list-type` set/map checks are parsed but not
//! enforced; only the type, required, enum and minimum messages are checked against upstream's
//! wording (the others need checking against kube-openapi `pkg/validation/errors`); upstream's
//! structural-schema rules live in `crate::apiextensions::crd_validation` instead.

use serde_json::{Map, Value};

use crate::registry::validation::{FieldError, FieldErrorKind};

/// `additionalProperties`: a schema for every other key, or a boolean.
#[derive(Debug, Clone, PartialEq)]
pub enum AdditionalProperties {
    /// `true`/`false`.
    Allowed(bool),
    /// A schema every other key's value MUST match.
    Schema(Box<Structural>),
}

/// One node of a structural schema. Only the keywords listed here are kept; other keywords
/// (description, title, ...) are ignored by [`Structural::from_value`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Structural {
    /// `type`: object, array, string, integer, number, boolean (empty when unset).
    pub type_: String,
    /// `properties`, in the schema's order.
    pub properties: Vec<(String, Structural)>,
    pub additional_properties: Option<AdditionalProperties>,
    pub items: Option<Box<Structural>>,
    pub required: Vec<String>,
    pub enum_: Vec<Value>,
    pub pattern: Option<String>,
    pub minimum: Option<f64>,
    pub exclusive_minimum: bool,
    pub maximum: Option<f64>,
    pub exclusive_maximum: bool,
    pub min_length: Option<u64>,
    pub max_length: Option<u64>,
    pub min_items: Option<u64>,
    pub max_items: Option<u64>,
    pub min_properties: Option<u64>,
    pub max_properties: Option<u64>,
    pub multiple_of: Option<f64>,
    pub format: Option<String>,
    pub nullable: bool,
    pub default: Option<Value>,
    pub int_or_string: bool,
    pub preserve_unknown_fields: bool,
    pub embedded_resource: bool,
    pub list_type: Option<String>,
    pub list_map_keys: Vec<String>,
    /// allOf/anyOf/oneOf/not: value validations only, as upstream.
    pub all_of: Vec<Structural>,
    pub any_of: Vec<Structural>,
    pub one_of: Vec<Structural>,
    pub not: Option<Box<Structural>>,
}

fn u64_of(obj: &Map<String, Value>, key: &str) -> Result<Option<u64>, String> {
    match obj.get(key) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| format!("{key} must be a non-negative integer")),
    }
}

fn f64_of(obj: &Map<String, Value>, key: &str) -> Result<Option<f64>, String> {
    match obj.get(key) {
        None => Ok(None),
        Some(v) => v
            .as_f64()
            .map(Some)
            .ok_or_else(|| format!("{key} must be a number")),
    }
}

fn bool_of(obj: &Map<String, Value>, key: &str) -> Result<bool, String> {
    match obj.get(key) {
        None => Ok(false),
        Some(v) => v
            .as_bool()
            .ok_or_else(|| format!("{key} must be a boolean")),
    }
}

fn str_of(obj: &Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match obj.get(key) {
        None => Ok(None),
        Some(v) => v
            .as_str()
            .map(|s| Some(s.to_string()))
            .ok_or_else(|| format!("{key} must be a string")),
    }
}

fn strings_of(obj: &Map<String, Value>, key: &str) -> Result<Vec<String>, String> {
    match obj.get(key) {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("{key} must be a list of strings"))
            })
            .collect(),
        Some(_) => Err(format!("{key} must be a list of strings")),
    }
}

fn schemas_of(obj: &Map<String, Value>, key: &str) -> Result<Vec<Structural>, String> {
    match obj.get(key) {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items.iter().map(Structural::from_value).collect(),
        Some(_) => Err(format!("{key} must be a list of schemas")),
    }
}

impl Structural {
    /// Parses an `openAPIV3Schema` JSON object. Errors name the offending keyword.
    pub fn from_value(value: &Value) -> Result<Self, String> {
        let obj = value
            .as_object()
            .ok_or_else(|| "schema must be an object".to_string())?;
        let mut properties = Vec::new();
        if let Some(props) = obj.get("properties") {
            let props = props
                .as_object()
                .ok_or_else(|| "properties must be an object".to_string())?;
            for (name, schema) in props {
                let parsed =
                    Self::from_value(schema).map_err(|e| format!("properties[{name}]: {e}"))?;
                properties.push((name.clone(), parsed));
            }
        }
        let additional_properties = match obj.get("additionalProperties") {
            None => None,
            Some(Value::Bool(b)) => Some(AdditionalProperties::Allowed(*b)),
            Some(schema) => Some(AdditionalProperties::Schema(Box::new(
                Self::from_value(schema).map_err(|e| format!("additionalProperties: {e}"))?,
            ))),
        };
        let items = match obj.get("items") {
            None => None,
            Some(schema) => Some(Box::new(
                Self::from_value(schema).map_err(|e| format!("items: {e}"))?,
            )),
        };
        let enum_ = match obj.get("enum") {
            None => Vec::new(),
            Some(Value::Array(values)) => values.clone(),
            Some(_) => return Err("enum must be a list".into()),
        };
        let not = match obj.get("not") {
            None => None,
            Some(schema) => Some(Box::new(Self::from_value(schema)?)),
        };
        Ok(Self {
            type_: str_of(obj, "type")?.unwrap_or_default(),
            properties,
            additional_properties,
            items,
            required: strings_of(obj, "required")?,
            enum_,
            pattern: str_of(obj, "pattern")?,
            minimum: f64_of(obj, "minimum")?,
            exclusive_minimum: bool_of(obj, "exclusiveMinimum")?,
            maximum: f64_of(obj, "maximum")?,
            exclusive_maximum: bool_of(obj, "exclusiveMaximum")?,
            min_length: u64_of(obj, "minLength")?,
            max_length: u64_of(obj, "maxLength")?,
            min_items: u64_of(obj, "minItems")?,
            max_items: u64_of(obj, "maxItems")?,
            min_properties: u64_of(obj, "minProperties")?,
            max_properties: u64_of(obj, "maxProperties")?,
            multiple_of: f64_of(obj, "multipleOf")?,
            format: str_of(obj, "format")?,
            nullable: bool_of(obj, "nullable")?,
            default: obj.get("default").cloned(),
            int_or_string: bool_of(obj, "x-kubernetes-int-or-string")?,
            preserve_unknown_fields: bool_of(obj, "x-kubernetes-preserve-unknown-fields")?,
            embedded_resource: bool_of(obj, "x-kubernetes-embedded-resource")?,
            list_type: str_of(obj, "x-kubernetes-list-type")?,
            list_map_keys: strings_of(obj, "x-kubernetes-list-map-keys")?,
            all_of: schemas_of(obj, "allOf")?,
            any_of: schemas_of(obj, "anyOf")?,
            one_of: schemas_of(obj, "oneOf")?,
            not,
        })
    }

    fn property(&self, name: &str) -> Option<&Structural> {
        self.properties
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s)
    }
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

/// The JSON type name upstream's type check reports for a value.
fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_matches(ty: &str, value: &Value) -> bool {
    match ty {
        "" => true,
        "integer" => {
            matches!(value, Value::Number(n) if n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0))
        }
        "number" => value.is_number(),
        other => type_name(value) == other,
    }
}

fn invalid_raw(field: &str, value: String, detail: String) -> FieldError {
    FieldError {
        kind: FieldErrorKind::Invalid,
        field: field.to_string(),
        value: Some(value),
        detail,
    }
}

/// Formats a number as Go prints it in these messages (`1`, `1.5`).
fn num(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

/// Validates `value` against `schema`; the root path is empty (a custom resource's fields are
/// reported as `spec.replicas`). Errors come in upstream's order per node: type, then
/// value validations, then children.
pub fn validate(schema: &Structural, value: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    validate_at(schema, value, "", &mut errors);
    errors
}

fn validate_at(s: &Structural, value: &Value, path: &str, errors: &mut Vec<FieldError>) {
    let shown = if path.is_empty() { "body" } else { path };
    if value.is_null() {
        if s.nullable || s.type_.is_empty() {
            return;
        }
        errors.push(invalid_raw(
            path,
            "\"null\"".into(),
            format!("{shown} in body must be of type {}: \"null\"", s.type_),
        ));
        return;
    }
    if s.int_or_string {
        if !(value.is_string() || type_matches("integer", value)) {
            let actual = type_name(value);
            errors.push(invalid_raw(
                path,
                format!("\"{actual}\""),
                format!("{shown} in body must be of type integer,string: \"{actual}\""),
            ));
            return;
        }
    } else if !type_matches(&s.type_, value) {
        let actual = type_name(value);
        errors.push(invalid_raw(
            path,
            format!("\"{actual}\""),
            format!("{shown} in body must be of type {}: \"{actual}\"", s.type_),
        ));
        return;
    }
    if !s.enum_.is_empty() && !s.enum_.contains(value) {
        let supported: Vec<String> = s.enum_.iter().map(Value::to_string).collect();
        errors.push(FieldError {
            kind: FieldErrorKind::NotSupported,
            field: path.to_string(),
            value: Some(value.to_string()),
            detail: format!("supported values: {}", supported.join(", ")),
        });
    }
    match value {
        Value::Number(n) => {
            let f = n.as_f64().unwrap_or_default();
            if let Some(min) = s.minimum {
                if (s.exclusive_minimum && f <= min) || f < min {
                    let op = if s.exclusive_minimum {
                        "greater than"
                    } else {
                        "greater than or equal to"
                    };
                    errors.push(invalid_raw(
                        path,
                        num(f),
                        format!("{shown} in body should be {op} {}", num(min)),
                    ));
                }
            }
            if let Some(max) = s.maximum {
                if (s.exclusive_maximum && f >= max) || f > max {
                    let op = if s.exclusive_maximum {
                        "less than"
                    } else {
                        "less than or equal to"
                    };
                    errors.push(invalid_raw(
                        path,
                        num(f),
                        format!("{shown} in body should be {op} {}", num(max)),
                    ));
                }
            }
            if let Some(m) = s.multiple_of {
                if m != 0.0 && (f / m).fract() != 0.0 {
                    errors.push(invalid_raw(
                        path,
                        num(f),
                        format!("{shown} in body should be a multiple of {}", num(m)),
                    ));
                }
            }
        }
        Value::String(text) => {
            let len = text.chars().count() as u64;
            if let Some(min) = s.min_length {
                if len < min {
                    errors.push(invalid_raw(
                        path,
                        crate::registry::validation::quote(text),
                        format!("{shown} in body should be at least {min} chars long"),
                    ));
                }
            }
            if let Some(max) = s.max_length {
                if len > max {
                    errors.push(FieldError::too_long(
                        path,
                        format!("may not be more than {max} bytes"),
                    ));
                }
            }
        }
        Value::Array(items) => {
            let len = items.len() as u64;
            if let Some(min) = s.min_items {
                if len < min {
                    errors.push(invalid_raw(
                        path,
                        len.to_string(),
                        format!("{shown} in body should have at least {min} items"),
                    ));
                }
            }
            if let Some(max) = s.max_items {
                if len > max {
                    errors.push(FieldError::too_long(
                        path,
                        format!("must have at most {max} items"),
                    ));
                }
            }
            if let Some(item) = &s.items {
                for (i, v) in items.iter().enumerate() {
                    validate_at(item, v, &format!("{path}[{i}]"), errors);
                }
            }
        }
        Value::Object(obj) => {
            let len = obj.len() as u64;
            if let Some(min) = s.min_properties {
                if len < min {
                    errors.push(invalid_raw(
                        path,
                        len.to_string(),
                        format!("{shown} in body should have at least {min} properties"),
                    ));
                }
            }
            if let Some(max) = s.max_properties {
                if len > max {
                    errors.push(FieldError::too_long(
                        path,
                        format!("must have at most {max} properties"),
                    ));
                }
            }
            for name in &s.required {
                if !obj.contains_key(name) {
                    errors.push(FieldError::required(join(path, name), ""));
                }
            }
            for (key, v) in obj {
                let child = join(path, key);
                if let Some(prop) = s.property(key) {
                    validate_at(prop, v, &child, errors);
                } else if let Some(AdditionalProperties::Schema(extra)) = &s.additional_properties {
                    validate_at(extra, v, &child, errors);
                }
            }
        }
        _ => {}
    }
    for sub in &s.all_of {
        validate_at(sub, value, path, errors);
    }
}

/// Removes fields the schema does not know, in place, and returns their paths
/// (upstream warns `unknown field "spec.foo"`). At the root `apiVersion`, `kind` and `metadata`
/// are always kept; under `x-kubernetes-preserve-unknown-fields` nothing is pruned; embedded
/// resources keep their `apiVersion`, `kind` and `metadata`.
pub fn prune(schema: &Structural, value: &mut Value) -> Vec<String> {
    let mut pruned = Vec::new();
    prune_at(schema, value, "", true, &mut pruned);
    pruned
}

fn prune_at(
    s: &Structural,
    value: &mut Value,
    path: &str,
    keep_meta: bool,
    pruned: &mut Vec<String>,
) {
    match value {
        Value::Object(obj) => {
            let keep_meta = keep_meta || s.embedded_resource;
            let mut unknown = Vec::new();
            for (key, child) in obj.iter_mut() {
                let child_path = join(path, key);
                if let Some(prop) = s.property(key) {
                    prune_at(prop, child, &child_path, false, pruned);
                } else if let Some(AdditionalProperties::Schema(extra)) = &s.additional_properties {
                    prune_at(extra, child, &child_path, false, pruned);
                } else if keep_meta && matches!(key.as_str(), "apiVersion" | "kind" | "metadata") {
                } else if !s.preserve_unknown_fields
                    && !matches!(
                        s.additional_properties,
                        Some(AdditionalProperties::Allowed(true))
                    )
                {
                    unknown.push(key.clone());
                }
            }
            for key in unknown {
                obj.remove(&key);
                pruned.push(join(path, &key));
            }
        }
        Value::Array(items) => {
            if let Some(item) = &s.items {
                for (i, v) in items.iter_mut().enumerate() {
                    prune_at(item, v, &format!("{path}[{i}]"), false, pruned);
                }
            }
        }
        _ => {}
    }
}

/// Applies defaults in place, as upstream's `defaulting.Default`: an absent property with a
/// default gets it; a property that is `null` gets it unless the property is nullable; defaults
/// apply inside items and additionalProperties too.
pub fn apply_defaults(schema: &Structural, value: &mut Value) {
    match value {
        Value::Object(obj) => {
            for (name, prop) in &schema.properties {
                if let Some(default) = &prop.default {
                    match obj.get(name) {
                        None => {
                            obj.insert(name.clone(), default.clone());
                        }
                        Some(Value::Null) if !prop.nullable => {
                            obj.insert(name.clone(), default.clone());
                        }
                        _ => {}
                    }
                }
            }
            for (key, child) in obj.iter_mut() {
                if let Some(prop) = schema.property(key) {
                    apply_defaults(prop, child);
                } else if let Some(AdditionalProperties::Schema(extra)) =
                    &schema.additional_properties
                {
                    apply_defaults(extra, child);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item) = &schema.items {
                for v in items.iter_mut() {
                    if v.is_null() && !item.nullable {
                        if let Some(default) = &item.default {
                            *v = default.clone();
                        }
                    }
                    apply_defaults(item, v);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests;
