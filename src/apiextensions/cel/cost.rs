//! Cost estimation of rules, after cel-go's `checker/cost.go` as upstream configures it
//! (`apiextensions-apiserver/pkg/apiserver/schema/cel/compilation.go`, the limits of
//! `apiserver/pkg/apis/cel/config.go` and of the CRD validation).
//!
//! A rule's cost is estimated over its AST from the sizes of the values it reads: at compile
//! time from the schema's bounds (`maxLength`, `maxItems`, `maxProperties`, enums and formats,
//! or, where unbounded, the most a request of `MaxRequestSizeBytes` can hold, as upstream's
//! `SchemaDeclType`); before each evaluation from the actual values (string lengths, list and
//! map sizes), which bounds the evaluation's actual cost from above. The interpreter does not
//! count cost, so the runtime limits are checked against that bound.
//!
//! The costs follow cel-go's: 0 for a constant, 1 for an identifier or a selection, 10 (30) plus
//! the elements for a list (map) literal, 1 per call plus its arguments (a tenth of the sizes
//! of the strings, bytes and lists functions traverse), a comprehension's range, init and result
//! plus its range's size times its condition and step. Sizes the estimator cannot tell (results
//! of most functions) count as 1, so it may estimate less than cel-go does.

use serde_json::Value as Json;

use cel::common::ast::{EntryExpr, Expr, IdedExpr, LiteralValue};

use super::convert::{flag, schema_type};

/// `PerCallLimit`: the most one evaluation of a rule may cost.
pub(super) const PER_CALL_LIMIT: u64 = 1_000_000;
/// `RuntimeCELCostBudget`: the most every rule evaluation of one object may cost together.
pub(super) const RUNTIME_CEL_COST_BUDGET: i64 = 10_000_000;
/// `StaticEstimatedCostLimit`: the most a rule's estimated cost, times its node's cardinality,
/// may be.
pub(super) const STATIC_ESTIMATED_COST_LIMIT: u64 = 10_000_000;
/// `StaticEstimatedCRDCostLimit`: the most the estimated costs of a CRD's rules may add to.
pub(super) const STATIC_ESTIMATED_CRD_COST_LIMIT: u64 = 100_000_000;
/// `MaxRequestSizeBytes`.
pub(super) const MAX_REQUEST_SIZE_BYTES: u64 = 3 * 1024 * 1024;

/// cel-go's `StringTraversalCostFactor`.
const STRING_TRAVERSAL_COST_FACTOR: f64 = 0.1;
/// cel-go's `RegexStringLengthCostFactor`.
const REGEX_STRING_LENGTH_COST_FACTOR: f64 = 0.25;

/// Upstream's serialized sizes of formatted strings (`apiserver/pkg/cel/types.go`).
const MIN_STRING_SIZE: u64 = 2;
const MIN_BOOL_SIZE: u64 = 4;
const MIN_NUMBER_SIZE: u64 = 1;
const JSON_DATE_SIZE: u64 = 12;
const MIN_DURATION_SIZE_JSON: u64 = 4;
const MAX_DURATION_SIZE_JSON: u64 = 32;
const MIN_DATETIME_SIZE_JSON: u64 = 21;
const MAX_DATETIME_SIZE_JSON: u64 = 37;

/// What is known of a value's size: a schema's bounds, actual values, or a size alone.
#[derive(Clone)]
pub(super) enum Shape<'a> {
    /// Values of a schema (`true`: at a resource root).
    Schema(&'a Json, bool),
    /// Any of these values.
    Values(Vec<&'a Json>),
    /// A value of at most this size, of unknown structure.
    Sized(u64),
    Unknown,
}

impl<'a> Shape<'a> {
    /// The most characters, bytes, items or entries the value has.
    fn size(&self) -> Option<u64> {
        match self {
            Shape::Schema(schema, _) => max_elements(schema),
            Shape::Values(values) => values.iter().map(|value| value_size(value)).max(),
            Shape::Sized(size) => Some(*size),
            Shape::Unknown => None,
        }
    }

    fn field(&self, name: &str) -> Shape<'a> {
        match self {
            Shape::Schema(schema, root) => {
                if *root && matches!(name, "apiVersion" | "kind") {
                    return Shape::Sized(MAX_REQUEST_SIZE_BYTES - 2);
                }
                if *root && name == "metadata" {
                    return Shape::Unknown;
                }
                if let Some(additional) = additional(schema) {
                    return Shape::Schema(
                        additional,
                        flag(additional, "x-kubernetes-embedded-resource"),
                    );
                }
                schema
                    .get("properties")
                    .and_then(Json::as_object)
                    .and_then(|properties| {
                        properties.iter().find(|(property, _)| {
                            super::escaping::escape(property).as_deref() == Some(name)
                        })
                    })
                    .map_or(Shape::Unknown, |(_, property)| {
                        Shape::Schema(property, flag(property, "x-kubernetes-embedded-resource"))
                    })
            }
            Shape::Values(values) => Shape::Values(
                values
                    .iter()
                    .filter_map(|value| {
                        value.get(name).or_else(|| {
                            // Escaped property names (`__namespace__`) select the plain key.
                            value.as_object()?.iter().find_map(|(key, value)| {
                                (super::escaping::escape(key).as_deref() == Some(name))
                                    .then_some(value)
                            })
                        })
                    })
                    .collect(),
            ),
            Shape::Sized(_) | Shape::Unknown => Shape::Unknown,
        }
    }

    /// A list's items or a map's values.
    fn elem(&self) -> Shape<'a> {
        match self {
            Shape::Schema(schema, _) => {
                let elem = schema
                    .get("items")
                    .filter(|items| items.is_object())
                    .or_else(|| additional(schema));
                elem.map_or(Shape::Unknown, |elem| {
                    Shape::Schema(elem, flag(elem, "x-kubernetes-embedded-resource"))
                })
            }
            Shape::Values(values) => Shape::Values(
                values
                    .iter()
                    .flat_map(|value| match value {
                        Json::Array(items) => items.iter().collect::<Vec<_>>(),
                        Json::Object(map) => map.values().collect(),
                        _ => Vec::new(),
                    })
                    .collect(),
            ),
            Shape::Sized(_) | Shape::Unknown => Shape::Unknown,
        }
    }

    /// A map's keys.
    fn key(&self) -> Shape<'a> {
        match self {
            // Upstream's map keys are `StringType`, whose `MaxElements` is 0: their size is
            // estimated as 0 (apiextensions' `sizeEstimator`, `@keys`).
            Shape::Schema(..) => Shape::Sized(0),
            Shape::Values(values) => Shape::Sized(
                values
                    .iter()
                    .filter_map(|value| value.as_object())
                    .flat_map(|map| map.keys().map(|key| key.len() as u64))
                    .max()
                    .unwrap_or(0),
            ),
            Shape::Sized(_) | Shape::Unknown => Shape::Unknown,
        }
    }

    fn is_map(&self) -> bool {
        match self {
            Shape::Schema(schema, _) => schema_type(schema) == "object",
            Shape::Values(values) => values.first().is_some_and(|value| value.is_object()),
            _ => false,
        }
    }
}

fn additional(schema: &Json) -> Option<&Json> {
    schema
        .get("additionalProperties")
        .filter(|additional| additional.is_object())
}

/// The size of an actual value: a string's length in bytes, a list's or map's entries.
fn value_size(value: &Json) -> u64 {
    match value {
        Json::String(s) => s.len() as u64,
        Json::Array(items) => items.len() as u64,
        Json::Object(map) => map.len() as u64,
        _ => 1,
    }
}

/// Upstream's `MaxElements` of a schema's values (`SchemaDeclType`).
pub(super) fn max_elements(schema: &Json) -> Option<u64> {
    let number = |key: &str| {
        schema
            .get(key)
            .and_then(Json::as_i64)
            .map(|n| n.max(0) as u64)
    };
    let unbounded_string = || match schema.get("format").and_then(Json::as_str) {
        Some("duration") => MAX_DURATION_SIZE_JSON,
        Some("date") => JSON_DATE_SIZE,
        Some("date-time") => MAX_DATETIME_SIZE_JSON,
        _ => MAX_REQUEST_SIZE_BYTES - 2,
    };
    if flag(schema, "x-kubernetes-int-or-string") {
        return Some(number("maxLength").map_or(MAX_REQUEST_SIZE_BYTES - 2, |max| max * 4));
    }
    match schema_type(schema) {
        "string" => {
            if schema.get("format").and_then(Json::as_str) == Some("byte") {
                return Some(number("maxLength").unwrap_or(MAX_REQUEST_SIZE_BYTES - 2));
            }
            if let Some(max) = number("maxLength") {
                return Some(max * 4);
            }
            if let Some(values) = schema.get("enum").and_then(Json::as_array) {
                return Some(
                    values
                        .iter()
                        .filter_map(Json::as_str)
                        .map(|s| s.len() as u64)
                        .max()
                        .unwrap_or(0),
                );
            }
            Some(unbounded_string())
        }
        "array" => {
            let items = schema.get("items").filter(|items| items.is_object())?;
            Some(number("maxItems").unwrap_or((MAX_REQUEST_SIZE_BYTES - 2) / (min_size(items) + 1)))
        }
        "object" => {
            let additional = additional(schema)?;
            Some(
                number("maxProperties")
                    .unwrap_or((MAX_REQUEST_SIZE_BYTES - 2) / (min_size(additional) + 6)),
            )
        }
        _ => None,
    }
}

/// Upstream's `MinSerializedSize` of a schema's values.
pub(super) fn min_size(schema: &Json) -> u64 {
    if flag(schema, "x-kubernetes-int-or-string") {
        return 1;
    }
    match schema_type(schema) {
        "string" => match schema.get("format").and_then(Json::as_str) {
            Some("duration") => MIN_DURATION_SIZE_JSON,
            Some("date") => JSON_DATE_SIZE,
            Some("date-time") => MIN_DATETIME_SIZE_JSON,
            _ => MIN_STRING_SIZE,
        },
        "boolean" => MIN_BOOL_SIZE,
        "integer" | "number" => MIN_NUMBER_SIZE,
        "array" => 2,
        "object" if additional(schema).is_some() => 2,
        "object" => {
            let required: Vec<&str> = schema
                .get("required")
                .and_then(Json::as_array)
                .map(|names| names.iter().filter_map(Json::as_str).collect())
                .unwrap_or_default();
            let properties = schema.get("properties").and_then(Json::as_object);
            2 + properties
                .into_iter()
                .flatten()
                .filter(|(name, property)| {
                    required.contains(&name.as_str()) && property.get("default").is_none()
                })
                .map(|(name, property)| name.len() as u64 + min_size(property) + 4)
                .sum::<u64>()
        }
        _ => 1,
    }
}

/// Upstream's `maxCardinality`: how often values of `min_size` fit in a request.
pub(super) fn max_cardinality(min_size: u64) -> u64 {
    MAX_REQUEST_SIZE_BYTES / (min_size + 1)
}

/// The estimated most `expr` costs with `self` (and `oldSelf`) of shape `self_shape`.
pub(super) fn estimate(expr: &IdedExpr, self_shape: Shape<'_>, old_shape: Shape<'_>) -> u64 {
    let mut estimator = Estimator {
        scope: vec![("self".into(), self_shape), ("oldSelf".into(), old_shape)],
    };
    estimator.cost(expr).0
}

struct Estimator<'a> {
    scope: Vec<(String, Shape<'a>)>,
}

fn traversal(size: Option<u64>) -> u64 {
    (size.unwrap_or(1) as f64 * STRING_TRAVERSAL_COST_FACTOR).ceil() as u64
}

impl<'a> Estimator<'a> {
    /// The cost of `expr`, and the shape of its value.
    fn cost(&mut self, expr: &IdedExpr) -> (u64, Shape<'a>) {
        match &expr.expr {
            Expr::Literal(literal) => {
                let size = match literal {
                    LiteralValue::String(s) => s.len() as u64,
                    LiteralValue::Bytes(b) => b.len() as u64,
                    _ => 1,
                };
                (0, Shape::Sized(size))
            }
            Expr::Ident(name) => {
                let shape = self
                    .scope
                    .iter()
                    .rev()
                    .find(|(declared, _)| declared == name)
                    .map_or(Shape::Unknown, |(_, shape)| shape.clone());
                (1, shape)
            }
            Expr::Select(select) => {
                let (cost, operand) = self.cost(&select.operand);
                let shape = if select.test {
                    Shape::Sized(1)
                } else {
                    operand.field(&select.field)
                };
                (cost.saturating_add(1), shape)
            }
            Expr::List(list) => {
                let mut cost: u64 = 10;
                for element in &list.elements {
                    cost = cost.saturating_add(self.cost(element).0);
                }
                (cost, Shape::Sized(list.elements.len() as u64))
            }
            Expr::Map(map) => {
                let mut cost: u64 = 30;
                for entry in &map.entries {
                    if let EntryExpr::MapEntry(entry) = &entry.expr {
                        cost = cost
                            .saturating_add(self.cost(&entry.key).0)
                            .saturating_add(self.cost(&entry.value).0);
                    }
                }
                (cost, Shape::Sized(map.entries.len() as u64))
            }
            Expr::Struct(structure) => {
                let mut cost: u64 = 40;
                for entry in &structure.entries {
                    if let EntryExpr::StructField(field) = &entry.expr {
                        cost = cost.saturating_add(self.cost(&field.value).0);
                    }
                }
                (cost, Shape::Unknown)
            }
            Expr::Comprehension(comprehension) => {
                let (range_cost, range) = self.cost(&comprehension.iter_range);
                let (init_cost, _) = self.cost(&comprehension.accu_init);
                let (first, second) = if range.is_map() {
                    (range.key(), range.elem())
                } else if comprehension.iter_var2.is_some() {
                    (Shape::Sized(1), range.elem())
                } else {
                    (range.elem(), Shape::Unknown)
                };
                let depth = self.scope.len();
                self.scope.push((comprehension.iter_var.clone(), first));
                if let Some(second_var) = &comprehension.iter_var2 {
                    self.scope.push((second_var.clone(), second));
                }
                self.scope
                    .push((comprehension.accu_var.clone(), Shape::Unknown));
                let (cond_cost, _) = self.cost(&comprehension.loop_cond);
                let (step_cost, _) = self.cost(&comprehension.loop_step);
                // `map` and `filter` results are at most as long as their range.
                self.scope.pop();
                self.scope.push((
                    comprehension.accu_var.clone(),
                    range.size().map_or(Shape::Unknown, Shape::Sized),
                ));
                let (result_cost, result) = self.cost(&comprehension.result);
                self.scope.truncate(depth);
                let iterations = range.size().unwrap_or(1);
                let cost = range_cost
                    .saturating_add(init_cost)
                    .saturating_add(result_cost)
                    .saturating_add(iterations.saturating_mul(cond_cost.saturating_add(step_cost)));
                (cost, result)
            }
            Expr::Call(call) => self.call(call),
            Expr::Unspecified => (0, Shape::Unknown),
        }
    }

    fn call(&mut self, call: &cel::common::ast::CallExpr) -> (u64, Shape<'a>) {
        let name = call.func_name.as_str();
        let mut costs = Vec::new();
        let mut shapes = Vec::new();
        if let Some(target) = call.target.as_deref() {
            // A namespace (`optional.of`) costs nothing.
            let is_namespace = matches!(&target.expr, Expr::Ident(ns)
                if !self.scope.iter().any(|(declared, _)| declared == ns));
            if !is_namespace {
                let (cost, shape) = self.cost(target);
                costs.push(cost);
                shapes.push(shape);
            }
        }
        for arg in &call.args {
            let (cost, shape) = self.cost(arg);
            costs.push(cost);
            shapes.push(shape);
        }
        let sizes: Vec<Option<u64>> = shapes.iter().map(Shape::size).collect();
        let sum_args = costs
            .iter()
            .fold(0u64, |sum, cost| sum.saturating_add(*cost));
        match name {
            "_&&_" | "_||_" => return (sum_args, Shape::Sized(1)),
            "_?_:_" => {
                let branches = costs
                    .get(1)
                    .copied()
                    .unwrap_or(0)
                    .max(costs.get(2).copied().unwrap_or(0));
                let shape = shapes.get(1).cloned().unwrap_or(Shape::Unknown);
                return (
                    costs.first().copied().unwrap_or(0).saturating_add(branches),
                    shape,
                );
            }
            "_[_]" | "_[?_]" => {
                let shape = shapes.first().map_or(Shape::Unknown, Shape::elem);
                return (sum_args.saturating_add(1), shape);
            }
            "_?._" => {
                let field = match call.args.get(1).map(|arg| &arg.expr) {
                    Some(Expr::Literal(LiteralValue::String(field))) => shapes
                        .first()
                        .map_or(Shape::Unknown, |shape| shape.field(field)),
                    _ => Shape::Unknown,
                };
                return (sum_args.saturating_add(1), field);
            }
            _ => {}
        }
        let size = |i: usize| sizes.get(i).copied().flatten();
        let total_size = || {
            sizes
                .iter()
                .map(|size| size.unwrap_or(1))
                .fold(0u64, u64::saturating_add)
        };
        let (call_cost, shape) = match name {
            "_==_" | "_!=_" | "_<_" | "_<=_" | "_>_" | "_>=_" => (
                1 + traversal(size(0).min(size(1)).or(size(0))),
                Shape::Sized(1),
            ),
            "_+_" => (
                1 + traversal(Some(total_size())),
                Shape::Sized(total_size()),
            ),
            "@in" => {
                let container = shapes.get(1);
                let cost = if container.is_some_and(Shape::is_map) {
                    1
                } else {
                    size(1).unwrap_or(1)
                };
                (cost, Shape::Sized(1))
            }
            "matches" | "find" | "findAll" => {
                let string = size(0).unwrap_or(1);
                let regex = size(1).unwrap_or(1);
                let string_cost =
                    ((1 + string) as f64 * STRING_TRAVERSAL_COST_FACTOR).ceil() as u64;
                let regex_cost = (regex as f64 * REGEX_STRING_LENGTH_COST_FACTOR).ceil() as u64;
                (
                    string_cost.saturating_mul(regex_cost).max(1),
                    Shape::Sized(string),
                )
            }
            // cel-go: a prefix or suffix test traverses its argument; `contains` both strings.
            "startsWith" | "endsWith" => (1 + traversal(size(1)), Shape::Sized(1)),
            "contains" => (
                1 + traversal(Some(
                    size(0).unwrap_or(1).saturating_mul(size(1).unwrap_or(1)),
                )),
                Shape::Sized(1),
            ),
            "lowerAscii" | "upperAscii" | "trim" | "replace" | "split" | "substring" | "charAt"
            | "indexOf" | "lastIndexOf" | "join" | "reverse" | "url" | "isURL" | "ip" | "isIP"
            | "cidr" | "isCIDR" | "quantity" | "isQuantity" | "semver" | "isSemver" | "string"
            | "bytes" | "format" | "validate" | "strings.quote" => (
                1 + traversal(Some(total_size())),
                Shape::Sized(size(0).unwrap_or(1)),
            ),
            "isSorted" | "sum" | "min" | "max" | "distinct" | "sort" | "flatten" | "slice" => {
                let n = size(0).unwrap_or(1);
                let cost = if matches!(name, "distinct" | "sort") {
                    n.saturating_mul(n.max(1))
                } else {
                    n
                };
                (
                    1u64.saturating_add(cost),
                    shapes.first().cloned().unwrap_or(Shape::Unknown),
                )
            }
            "sets.contains" | "sets.equivalent" | "sets.intersects" => (
                1u64.saturating_add(size(0).unwrap_or(1).saturating_mul(size(1).unwrap_or(1))),
                Shape::Sized(1),
            ),
            "lists.range" => (1, Shape::Unknown),
            "size" => (1, Shape::Sized(1)),
            "value" | "orValue" | "or" | "dyn" | "optional.of" | "optional.ofNonZeroValue" => {
                (1, shapes.first().cloned().unwrap_or(Shape::Unknown))
            }
            _ => (1, Shape::Unknown),
        };
        (sum_args.saturating_add(call_cost), shape)
    }
}

/// Upstream's `getCostErrorMessage`.
pub(super) fn cost_error_message(cost_name: &str, cost: u64, limit: u64) -> String {
    let factor = cost as f64 / limit as f64;
    let factor = if factor > 100.0 {
        "more than 100x".to_string()
    } else if factor < 1.5 {
        format!("{factor:.6}x")
    } else {
        format!("{factor:.1}x")
    };
    format!("{cost_name} exceeds budget by factor of {factor} (try simplifying the rule, or adding maxItems, maxProperties, and maxLength where arrays, maps, and strings are declared)")
}
