//! Structural schemas of custom resources, after upstream's
//! `apiextensions-apiserver/pkg/apiserver/schema`: a [`Structural`] tree parsed from a CRD
//! version's `schema.openAPIV3Schema`, [`validate`] (OpenAPI v3 value validation with upstream's
//! field paths and wording), [`prune`] (unknown fields dropped) and [`apply_defaults`].
//!
//! Enforced by [`validate`], with kube-openapi's messages (`pkg/validation/errors/schema.go`)
//! and upstream's field-error kinds: `type` (and `x-kubernetes-int-or-string`, `nullable`),
//! `enum`, `required`, `minimum`/`maximum` (and exclusive), `multipleOf`, `minLength`/
//! `maxLength`, `pattern` (Go RE2 semantics: `\d`, `\w`, `\s`, `\b` are ASCII), `format`
//! (upstream's supported set, see `formats.rs`; others ignored), `minItems`/`maxItems`,
//! `minProperties`/`maxProperties`, `additionalProperties` schemas, `allOf`/`anyOf`/`oneOf`/
//! `not`, the `apiVersion`/`kind` of `x-kubernetes-embedded-resource` objects and the
//! `x-kubernetes-list-type` `set`/`map` duplicate checks.
//!
//! NOT enforced yet: the `metadata` of embedded resources (upstream runs ObjectMeta validation
//! on it), `x-kubernetes-validations` (CEL; elsewhere), ratcheting of unchanged fields on
//! update, and the root `metadata` coercion (`schemaobjectmeta.Coerce`). For `anyOf`/`oneOf`
//! failures upstream reports the errors of the alternative with the most passing checks; here,
//! of the alternative with the fewest errors (the first on a tie). Upstream's structural-schema
//! rules live in `crate::apiextensions::crd_validation` instead.

use serde_json::{Map, Value};

use crate::registry::validation::FieldError;

mod embedded;
mod formats;
mod list_types;
mod validate;

/// A `pattern` compiled once by [`Structural::from_value`]: the regex, or why it does not
/// compile (then every value fails, with upstream's "but pattern is invalid" message).
#[derive(Debug, Clone)]
pub struct CompiledPattern {
    pub regex: Option<regex::Regex>,
    pub error: Option<String>,
}

impl PartialEq for CompiledPattern {
    fn eq(&self, other: &Self) -> bool {
        self.regex.as_ref().map(regex::Regex::as_str)
            == other.regex.as_ref().map(regex::Regex::as_str)
            && self.error == other.error
    }
}

impl CompiledPattern {
    /// Compiles an ECMA-style `pattern` with Go's RE2 semantics, which upstream uses: `\d`, `\w`,
    /// `\s` and `\b` are ASCII-only there, so they are rewritten to ASCII classes here.
    pub fn new(pattern: &str) -> Self {
        match regex::Regex::new(&go_regex(pattern)) {
            Ok(regex) => Self {
                regex: Some(regex),
                error: None,
            },
            Err(err) => Self {
                regex: None,
                error: Some(err.to_string()),
            },
        }
    }
}

/// Rewrites Perl classes to Go's ASCII meaning (`\d` is `[0-9]`, not any Unicode digit).
fn go_regex(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    let mut class_start = false;
    while let Some(c) = chars.next() {
        let at_class_start = class_start;
        class_start = false;
        match c {
            '\\' => {
                let Some(next) = chars.next() else {
                    out.push('\\');
                    break;
                };
                let replacement = match (in_class, next) {
                    (true, 'd') => Some("0-9"),
                    (true, 'w') => Some("0-9A-Za-z_"),
                    (true, 's') => Some("\\t\\n\\f\\r "),
                    (false, 'd') => Some("[0-9]"),
                    (false, 'D') => Some("[^0-9]"),
                    (false, 'w') => Some("[0-9A-Za-z_]"),
                    (false, 'W') => Some("[^0-9A-Za-z_]"),
                    (false, 's') => Some("[\\t\\n\\f\\r ]"),
                    (false, 'S') => Some("[^\\t\\n\\f\\r ]"),
                    (false, 'b') => Some("(?-u:\\b)"),
                    (false, 'B') => Some("(?-u:\\B)"),
                    _ => None,
                };
                match replacement {
                    Some(r) => out.push_str(r),
                    None => {
                        out.push('\\');
                        out.push(next);
                    }
                }
            }
            '[' if !in_class => {
                in_class = true;
                class_start = true;
                out.push(c);
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
            }
            ']' if in_class && !at_class_start => {
                in_class = false;
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

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
    /// `pattern`, compiled by [`Structural::from_value`].
    pub compiled_pattern: Option<CompiledPattern>,
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
            compiled_pattern: str_of(obj, "pattern")?.map(|p| CompiledPattern::new(&p)),
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

/// Validates a custom resource `value` against `schema` as upstream's CR strategy does: the
/// OpenAPI value validation of the whole object (`ValidateCustomResource`), then the
/// embedded-resource checks (`apiVersion`/`kind` of `x-kubernetes-embedded-resource` objects),
/// then the `x-kubernetes-list-type` set/map duplicate checks. The root path is empty (fields
/// are reported as `spec.replicas`). Errors come in upstream's order per node: type,
/// allOf/anyOf/oneOf/not, string (maxLength, minLength, pattern), format, number (multipleOf,
/// minimum, maximum), items then minItems/maxItems, enum, then object (min/maxProperties,
/// additionalProperties, properties in key order, required).
pub fn validate(schema: &Structural, value: &Value) -> Vec<FieldError> {
    let mut errors = validate::validate_root(schema, value);
    if let Value::Object(obj) = value {
        embedded::validate_object(schema, obj, "", &mut errors);
        list_types::validate_object(schema, obj, "", &mut errors);
    }
    errors
}

/// The warnings (or, under `fieldValidation=Strict`, the error causes) upstream reports for the
/// paths [`prune`] returns: `unknown field "spec.foo"`, one per path, in the same order.
/// Upstream's CR handler words them exactly so for both (`Warn` sends them as warnings; `Strict`
/// fails the request with a BadRequest whose message is `strict decoding error: ` followed by
/// these joined with `, `).
pub fn unknown_field_messages(pruned: &[String]) -> Vec<String> {
    pruned
        .iter()
        .map(|path| format!("unknown field {}", crate::api::go_fmt::go_quote(path)))
        .collect()
}

/// Removes fields the schema does not know, in place, and returns their paths
/// (upstream warns `unknown field "spec.foo"`). At the root `apiVersion`, `kind` and `metadata`
/// are always kept; under `x-kubernetes-preserve-unknown-fields` nothing is pruned; embedded
/// resources keep their `apiVersion`, `kind` and `metadata`.
///
/// Like upstream's CR handler (`structuraldefaulting.PruneNonNullableNullsWithoutDefaults`
/// right after pruning), it also removes properties whose value is `null` when the property is
/// neither nullable nor defaulted; those are not reported.
pub fn prune(schema: &Structural, value: &mut Value) -> Vec<String> {
    let mut pruned = Vec::new();
    prune_at(schema, value, "", true, &mut pruned);
    prune_non_nullable_nulls(schema, value);
    pruned
}

fn prune_non_nullable_nulls(schema: &Structural, value: &mut Value) {
    match value {
        Value::Object(obj) => {
            obj.retain(|key, v| {
                !(v.is_null()
                    && schema
                        .property(key)
                        .is_some_and(|p| p.default.is_none() && !p.nullable))
            });
            for (key, child) in obj.iter_mut() {
                if let Some(prop) = schema.property(key) {
                    prune_non_nullable_nulls(prop, child);
                } else if let Some(AdditionalProperties::Schema(extra)) =
                    &schema.additional_properties
                {
                    prune_non_nullable_nulls(extra, child);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item) = &schema.items {
                for v in items.iter_mut() {
                    prune_non_nullable_nulls(item, v);
                }
            }
        }
        _ => {}
    }
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
                // A resource's own apiVersion, kind and metadata are never pruned by its schema
                // (metadata is decoded as ObjectMeta instead), whatever the schema says of them.
                if keep_meta && matches!(key.as_str(), "apiVersion" | "kind" | "metadata") {
                } else if let Some(prop) = s.property(key) {
                    prune_at(prop, child, &child_path, false, pruned);
                } else if let Some(AdditionalProperties::Schema(extra)) = &s.additional_properties {
                    prune_at(extra, child, &child_path, false, pruned);
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
/// default gets it; a property, item or additionalProperties value that is `null` gets it unless
/// its schema is nullable; defaults apply inside items and additionalProperties too.
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
                    if child.is_null() && !extra.nullable {
                        if let Some(default) = &extra.default {
                            *child = default.clone();
                        }
                    }
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
