//! A static type checker for CRD rules, after cel-go's `checker` package: it infers the type of
//! every expression of a parsed rule, with `self` and `oldSelf` typed from the rule's schema node
//! (as upstream's `SchemaDeclType`), and reports cel-go's errors:
//!
//! * `undeclared reference to 'foo' (in container '')`, for unknown identifiers and functions;
//! * `undefined field 'foo'`, for fields an object's schema does not declare;
//! * `type 'int' does not support field selection`;
//! * `found no matching overload for '_+_' applied to '(int, string)'` (a member call prints its
//!   target first: `'string.(int)'`).
//!
//! The checker is never stricter than it is certain to be: `dyn` matches anything, and whatever
//! it cannot type precisely (int-or-string, preserve-unknown-fields, untyped nodes, objects
//! without declared properties) is `dyn`. A member call may also resolve to a global overload
//! taking its target first, as the interpreter allows.

use std::collections::HashMap;
use std::fmt;
use std::sync::LazyLock;

use cel::common::ast::{EntryExpr, Expr, IdedExpr, LiteralValue};
use cel::Program;
use serde_json::Value as Json;

use super::convert::{flag, schema_type};

/// A CEL type as the checker infers it.
#[derive(Clone, Debug)]
pub(super) enum Ty<'s> {
    Bool,
    Int,
    Uint,
    Double,
    String,
    Bytes,
    Null,
    Duration,
    Timestamp,
    List(Box<Ty<'s>>),
    Map(Box<Ty<'s>>, Box<Ty<'s>>),
    /// An object of a schema with declared `properties` (or a resource root).
    Object(Object<'s>),
    Optional(Box<Ty<'s>>),
    /// A type value: `type(x)`, `int`, `net.IP`.
    Type(Box<Ty<'s>>),
    /// A library's opaque type (`net.IP`, `kubernetes.Quantity`, ...).
    Opaque(&'static str),
    Dyn,
}

/// A schema node whose fields are known.
#[derive(Clone, Debug)]
pub(super) struct Object<'s> {
    pub schema: &'s Json,
    pub is_resource_root: bool,
    /// The type's name as errors print it (upstream names the root `selfType<nanoseconds>`).
    pub name: String,
}

impl fmt::Display for Ty<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ty::Bool => f.write_str("bool"),
            Ty::Int => f.write_str("int"),
            Ty::Uint => f.write_str("uint"),
            Ty::Double => f.write_str("double"),
            Ty::String => f.write_str("string"),
            Ty::Bytes => f.write_str("bytes"),
            Ty::Null => f.write_str("null_type"),
            Ty::Duration => f.write_str("google.protobuf.Duration"),
            Ty::Timestamp => f.write_str("google.protobuf.Timestamp"),
            Ty::List(elem) => write!(f, "list({elem})"),
            Ty::Map(key, value) => write!(f, "map({key}, {value})"),
            Ty::Object(object) => f.write_str(&object.name),
            Ty::Optional(inner) => write!(f, "optional_type({inner})"),
            Ty::Type(inner) => write!(f, "type({inner})"),
            Ty::Opaque(name) => f.write_str(name),
            Ty::Dyn => f.write_str("dyn"),
        }
    }
}

/// `metadata` of a resource as rules see it: `name` and `generateName` only.
static RESOURCE_METADATA: LazyLock<Json> = LazyLock::new(|| {
    serde_json::json!({
        "type": "object",
        "properties": {"name": {"type": "string"}, "generateName": {"type": "string"}},
    })
});

/// The CEL type of values of `schema` (upstream's `SchemaDeclType`), named `name` in errors.
pub(super) fn schema_ty<'s>(schema: &'s Json, is_resource_root: bool, name: &str) -> Ty<'s> {
    if flag(schema, "x-kubernetes-int-or-string") {
        return Ty::Dyn;
    }
    let object = || {
        Ty::Object(Object {
            schema,
            is_resource_root,
            name: name.to_string(),
        })
    };
    match schema_type(schema) {
        "boolean" => Ty::Bool,
        "integer" => Ty::Int,
        "number" => Ty::Double,
        "string" => match schema.get("format").and_then(Json::as_str) {
            Some("byte") => Ty::Bytes,
            Some("duration") => Ty::Duration,
            Some("date" | "date-time") => Ty::Timestamp,
            _ => Ty::String,
        },
        "array" => match schema.get("items").filter(|items| items.is_object()) {
            Some(items) => Ty::List(Box::new(schema_ty(
                items,
                flag(items, "x-kubernetes-embedded-resource"),
                &format!("{name}.@idx"),
            ))),
            None => Ty::Dyn,
        },
        "object" => {
            if let Some(additional) = schema
                .get("additionalProperties")
                .filter(|additional| additional.is_object())
            {
                let value = schema_ty(
                    additional,
                    flag(additional, "x-kubernetes-embedded-resource"),
                    &format!("{name}.@elem"),
                );
                return Ty::Map(Box::new(Ty::String), Box::new(value));
            }
            if is_resource_root || schema.get("properties").is_some_and(Json::is_object) {
                object()
            } else {
                Ty::Dyn
            }
        }
        _ if is_resource_root => object(),
        _ => Ty::Dyn,
    }
}

impl<'s> Object<'s> {
    /// The type of field `name` (escaped as rules spell it); `None` when undeclared.
    fn field(&self, name: &str) -> Option<Ty<'s>> {
        let child_name = format!("{}.{name}", self.name);
        if self.is_resource_root {
            match name {
                "apiVersion" | "kind" => return Some(Ty::String),
                "metadata" => {
                    return Some(Ty::Object(Object {
                        schema: &RESOURCE_METADATA,
                        is_resource_root: false,
                        name: child_name,
                    }))
                }
                _ => {}
            }
        }
        let Some(properties) = self.schema.get("properties").and_then(Json::as_object) else {
            // A resource root without declared properties: not checked.
            return Some(Ty::Dyn);
        };
        properties
            .iter()
            .find(|(property, _)| super::escaping::escape(property).as_deref() == Some(name))
            .map(|(_, property)| {
                schema_ty(
                    property,
                    flag(property, "x-kubernetes-embedded-resource"),
                    &child_name,
                )
            })
    }
}

/// The result of checking one expression.
pub(super) struct Checked<'s> {
    /// The type of the whole expression.
    pub result: Ty<'s>,
    /// Errors in cel-go's issue form, sorted by position, joined by newlines; `None` if none.
    pub issues: Option<String>,
}

/// Type-checks `program` (parsed from `source`) with `self` of type `self_ty` and `oldSelf` of
/// the same type (an optional of it with `optionalOldSelf`).
pub(super) fn check<'s>(
    program: &Program,
    source: &str,
    self_ty: Ty<'s>,
    optional_old_self: bool,
) -> Checked<'s> {
    let old_self = if optional_old_self {
        Ty::Optional(Box::new(self_ty.clone()))
    } else {
        self_ty.clone()
    };
    let mut checker = Checker {
        scope: vec![("self".into(), self_ty), ("oldSelf".into(), old_self)],
        errors: Vec::new(),
    };
    let result = checker.expr(program.expression());
    let mut located: Vec<(usize, String)> = checker
        .errors
        .into_iter()
        .map(|(id, message)| {
            let offset = program
                .source_info()
                .offset_for(id)
                .map_or(usize::MAX, |(start, _)| start as usize);
            (offset, message)
        })
        .collect();
    located.sort_by_key(|(offset, _)| *offset);
    let issues: Vec<String> = located
        .into_iter()
        .map(|(offset, message)| {
            if offset == usize::MAX {
                return format!("ERROR: <input>:-1:0: {message}");
            }
            let (line, column) = line_and_column(source, offset);
            super::compile::issue(line, column, &message, source)
        })
        .collect();
    Checked {
        result,
        issues: (!issues.is_empty()).then(|| issues.join("\n")),
    }
}

/// The 1-based line and column of the character at `offset`.
fn line_and_column(source: &str, offset: usize) -> (isize, isize) {
    let mut line = 1;
    let mut column = 1;
    for c in source.chars().take(offset) {
        if c == '\n' {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
    }
    (line, column)
}

/// Whether the checker's result type `ty` may be `expected` (`dyn` may be anything).
pub(super) fn may_be(ty: &Ty<'_>, expected: &Ty<'_>) -> bool {
    matches!(ty, Ty::Dyn) || std::mem::discriminant(ty) == std::mem::discriminant(expected)
}

struct Checker<'s> {
    scope: Vec<(String, Ty<'s>)>,
    errors: Vec<(u64, String)>,
}

/// Type names CEL resolves as identifiers (`type(x) == string`).
fn type_name(name: &str) -> Option<Ty<'static>> {
    Some(match name {
        "bool" => Ty::Bool,
        "bytes" => Ty::Bytes,
        "double" => Ty::Double,
        "dyn" => Ty::Dyn,
        "int" => Ty::Int,
        "list" => Ty::List(Box::new(Ty::Dyn)),
        "map" => Ty::Map(Box::new(Ty::Dyn), Box::new(Ty::Dyn)),
        "null_type" => Ty::Null,
        "string" => Ty::String,
        "type" => Ty::Type(Box::new(Ty::Dyn)),
        "uint" => Ty::Uint,
        "google.protobuf.Duration" => Ty::Duration,
        "google.protobuf.Timestamp" => Ty::Timestamp,
        _ => {
            let opaque = super::library::TYPE_NAMES
                .iter()
                .find(|known| **known == name)?;
            Ty::Opaque(opaque)
        }
    })
}

/// The dotted name a chain of selections from an identifier spells (`net.IP`).
fn qualified_name(expr: &IdedExpr) -> Option<String> {
    match &expr.expr {
        Expr::Ident(name) => Some(name.clone()),
        Expr::Select(select) if !select.test => {
            qualified_name(&select.operand).map(|operand| format!("{operand}.{}", select.field))
        }
        _ => None,
    }
}

impl<'s> Checker<'s> {
    fn lookup(&self, name: &str) -> Option<&Ty<'s>> {
        self.scope
            .iter()
            .rev()
            .find(|(declared, _)| declared == name)
            .map(|(_, ty)| ty)
    }

    fn error(&mut self, id: u64, message: String) {
        self.errors.push((id, message));
    }

    fn expr(&mut self, expr: &IdedExpr) -> Ty<'s> {
        self.infer(expr)
    }

    fn infer(&mut self, expr: &IdedExpr) -> Ty<'s> {
        match &expr.expr {
            Expr::Literal(literal) => match literal {
                LiteralValue::Boolean(_) => Ty::Bool,
                LiteralValue::Bytes(_) => Ty::Bytes,
                LiteralValue::Double(_) => Ty::Double,
                LiteralValue::Int(_) => Ty::Int,
                LiteralValue::Null => Ty::Null,
                LiteralValue::String(_) => Ty::String,
                LiteralValue::UInt(_) => Ty::Uint,
            },
            Expr::Ident(name) => {
                if let Some(ty) = self.lookup(name) {
                    return ty.clone();
                }
                if let Some(ty) = type_name(name) {
                    return Ty::Type(Box::new(ty));
                }
                if !name.starts_with('@') {
                    self.error(
                        expr.id,
                        format!("undeclared reference to '{name}' (in container '')"),
                    );
                }
                Ty::Dyn
            }
            Expr::Select(select) => {
                if !select.test {
                    // A library type's qualified name (`net.IP`), unless its root is a variable.
                    if let Some(name) = qualified_name(expr) {
                        let root = name.split('.').next().unwrap_or_default();
                        if self.lookup(root).is_none() {
                            if let Some(ty) = type_name(&name) {
                                return Ty::Type(Box::new(ty));
                            }
                        }
                    }
                }
                let operand = self.expr(&select.operand);
                let field = self.select(expr.id, &operand, &select.field);
                if select.test {
                    Ty::Bool
                } else {
                    field
                }
            }
            Expr::Call(call) => self.call(expr.id, call),
            Expr::List(list) => {
                let mut elem: Option<Ty<'s>> = None;
                for (i, element) in list.elements.iter().enumerate() {
                    let mut ty = self.expr(element);
                    if list.optional_indices.contains(&i) {
                        ty = match ty {
                            Ty::Optional(inner) => *inner,
                            other => other,
                        };
                    }
                    elem = Some(match elem {
                        None => ty,
                        Some(previous) => join(previous, ty),
                    });
                }
                Ty::List(Box::new(elem.unwrap_or(Ty::Dyn)))
            }
            Expr::Map(map) => {
                let mut key_ty: Option<Ty<'s>> = None;
                let mut value_ty: Option<Ty<'s>> = None;
                for entry in &map.entries {
                    if let EntryExpr::MapEntry(entry) = &entry.expr {
                        let key = self.expr(&entry.key);
                        let mut value = self.expr(&entry.value);
                        if entry.optional {
                            if let Ty::Optional(inner) = value {
                                value = *inner;
                            }
                        }
                        key_ty = Some(key_ty.map_or(key.clone(), |previous| join(previous, key)));
                        value_ty =
                            Some(value_ty.map_or(value.clone(), |previous| join(previous, value)));
                    }
                }
                Ty::Map(
                    Box::new(key_ty.unwrap_or(Ty::Dyn)),
                    Box::new(value_ty.unwrap_or(Ty::Dyn)),
                )
            }
            Expr::Struct(structure) => {
                for entry in &structure.entries {
                    match &entry.expr {
                        EntryExpr::StructField(field) => {
                            self.expr(&field.value);
                        }
                        EntryExpr::MapEntry(entry) => {
                            self.expr(&entry.key);
                            self.expr(&entry.value);
                        }
                    }
                }
                Ty::Dyn
            }
            Expr::Comprehension(comprehension) => {
                let range = self.expr(&comprehension.iter_range);
                let (first, second) = match (&range, comprehension.iter_var2.is_some()) {
                    (Ty::List(elem), false) => ((**elem).clone(), Ty::Dyn),
                    (Ty::List(elem), true) => (Ty::Int, (**elem).clone()),
                    (Ty::Map(key, value), _) => ((**key).clone(), (**value).clone()),
                    (Ty::Object(_), _) => (Ty::String, Ty::Dyn),
                    _ => (Ty::Dyn, Ty::Dyn),
                };
                let init = self.expr(&comprehension.accu_init);
                let depth = self.scope.len();
                self.scope.push((comprehension.iter_var.clone(), first));
                if let Some(second_var) = &comprehension.iter_var2 {
                    self.scope.push((second_var.clone(), second));
                }
                self.scope
                    .push((comprehension.accu_var.clone(), init.clone()));
                self.expr(&comprehension.loop_cond);
                let step = self.expr(&comprehension.loop_step);
                // An empty list accumulator (`map`, `filter`) takes the step's element type.
                let accu = match (&init, step) {
                    (Ty::List(elem), step @ Ty::List(_)) if matches!(**elem, Ty::Dyn) => step,
                    _ => init,
                };
                self.scope.truncate(depth);
                self.scope.push((comprehension.accu_var.clone(), accu));
                let result = self.expr(&comprehension.result);
                self.scope.truncate(depth);
                result
            }
            Expr::Unspecified => Ty::Dyn,
        }
    }

    /// The type of `operand.field`.
    fn select(&mut self, id: u64, operand: &Ty<'s>, field: &str) -> Ty<'s> {
        match operand {
            Ty::Object(object) => match object.field(field) {
                Some(ty) => ty,
                None => {
                    self.error(id, format!("undefined field '{field}'"));
                    Ty::Dyn
                }
            },
            Ty::Map(_, value) => (**value).clone(),
            Ty::Dyn | Ty::Null => Ty::Dyn,
            other => {
                self.error(
                    id,
                    format!("type '{other}' does not support field selection"),
                );
                Ty::Dyn
            }
        }
    }

    fn call(&mut self, id: u64, call: &cel::common::ast::CallExpr) -> Ty<'s> {
        let name = call.func_name.as_str();
        // `a.?b`: the field of an object, map or optional of one, as an optional.
        if name == "_?._" && call.args.len() == 2 {
            let operand = self.expr(&call.args[0]);
            let Expr::Literal(LiteralValue::String(field)) = &call.args[1].expr else {
                return Ty::Optional(Box::new(Ty::Dyn));
            };
            let inner = match operand {
                Ty::Optional(inner) => *inner,
                other => other,
            };
            let field = self.select(id, &inner, field);
            return Ty::Optional(Box::new(field));
        }
        // A call on a bare identifier that is no variable names a namespaced function
        // (`optional.of(x)`, `sets.contains(a, b)`).
        let mut qualified = None;
        let mut target = None;
        if let Some(t) = call.target.as_deref() {
            match &t.expr {
                Expr::Ident(namespace) if self.lookup(namespace).is_none() => {
                    qualified = Some(format!("{namespace}.{name}"));
                }
                _ => target = Some(self.expr(t)),
            }
        }
        let args: Vec<Ty<'s>> = call.args.iter().map(|arg| self.expr(arg)).collect();
        let name = qualified.as_deref().unwrap_or(name);
        if name.starts_with('@') {
            return match name {
                "@not_strictly_false" => Ty::Bool,
                _ => Ty::Dyn,
            };
        }
        let Some(overloads) = SIGNATURES.get(name) else {
            self.error(
                id,
                format!("undeclared reference to '{name}' (in container '')"),
            );
            return Ty::Dyn;
        };
        let mut all_args = Vec::with_capacity(args.len() + 1);
        all_args.extend(target.iter().cloned());
        all_args.extend(args);
        let is_member = target.is_some();
        // Member overloads first for member calls; a member call may also resolve to a global
        // overload taking its target first, as the interpreter allows.
        let candidates = overloads
            .iter()
            .filter(|overload| overload.member == is_member)
            .chain(
                overloads
                    .iter()
                    .filter(|overload| is_member && !overload.member),
            );
        let mut results = Vec::new();
        for overload in candidates {
            if let Some(result) = overload.apply(&all_args) {
                results.push(result);
            }
        }
        match results.len() {
            0 => {
                let types: Vec<String> = all_args.iter().map(ToString::to_string).collect();
                let signature = if is_member {
                    format!("{}.({})", types[0], types[1..].join(", "))
                } else {
                    format!("({})", types.join(", "))
                };
                self.error(
                    id,
                    format!("found no matching overload for '{name}' applied to '{signature}'"),
                );
                Ty::Dyn
            }
            // Several overloads match (dyn arguments): their common result, else dyn.
            _ => results.into_iter().reduce(join).unwrap_or(Ty::Dyn),
        }
    }
}

/// The type both `a` and `b` are: the more specific if they agree, else `dyn`.
fn join<'s>(a: Ty<'s>, b: Ty<'s>) -> Ty<'s> {
    match (a, b) {
        (Ty::Dyn, _) | (_, Ty::Dyn) => Ty::Dyn,
        (Ty::List(x), Ty::List(y)) => Ty::List(Box::new(join(*x, *y))),
        (Ty::Map(k1, v1), Ty::Map(k2, v2)) => {
            Ty::Map(Box::new(join(*k1, *k2)), Box::new(join(*v1, *v2)))
        }
        (Ty::Optional(x), Ty::Optional(y)) => Ty::Optional(Box::new(join(*x, *y))),
        (Ty::Type(x), Ty::Type(y)) => Ty::Type(Box::new(join(*x, *y))),
        (Ty::Object(x), Ty::Object(y)) if std::ptr::eq(x.schema, y.schema) => Ty::Object(x),
        (Ty::Opaque(x), Ty::Opaque(y)) if x == y => Ty::Opaque(x),
        (a, b)
            if std::mem::discriminant(&a) == std::mem::discriminant(&b)
                && !matches!(a, Ty::Object(_) | Ty::Opaque(_)) =>
        {
            a
        }
        _ => Ty::Dyn,
    }
}

/// A parameter or result type of a signature: a type with type parameters `A` and `B`.
#[derive(Clone, Debug, PartialEq)]
enum Pattern {
    Bool,
    Int,
    Uint,
    Double,
    String,
    Bytes,
    Null,
    Duration,
    Timestamp,
    Dyn,
    Var(usize),
    List(Box<Pattern>),
    Map(Box<Pattern>, Box<Pattern>),
    Optional(Box<Pattern>),
    Type(Box<Pattern>),
    Opaque(&'static str),
}

/// One overload of a function.
#[derive(Debug)]
struct Overload {
    /// Called on a target (`x.f(y)`), which is the first parameter.
    member: bool,
    params: Vec<Pattern>,
    result: Pattern,
}

impl Overload {
    /// The result type of a call with `args`, or `None` if this overload does not take them.
    fn apply<'s>(&self, args: &[Ty<'s>]) -> Option<Ty<'s>> {
        if args.len() != self.params.len() {
            return None;
        }
        let mut bindings: [Option<Ty<'s>>; 2] = [None, None];
        for (param, arg) in self.params.iter().zip(args) {
            if !unify(param, arg, &mut bindings) {
                return None;
            }
        }
        Some(substitute(&self.result, &bindings))
    }
}

/// Whether `ty` fits `pattern`, binding its type parameters.
fn unify<'s>(pattern: &Pattern, ty: &Ty<'s>, bindings: &mut [Option<Ty<'s>>; 2]) -> bool {
    match (pattern, ty) {
        (Pattern::Var(i), _) => match &bindings[*i] {
            None => {
                bindings[*i] = Some(ty.clone());
                true
            }
            Some(bound) => {
                if !compatible(bound, ty) {
                    return false;
                }
                if matches!(bound, Ty::Dyn | Ty::Null) {
                    bindings[*i] = Some(ty.clone());
                }
                true
            }
        },
        (_, Ty::Dyn) | (Pattern::Dyn, _) => true,
        (Pattern::Bool, Ty::Bool)
        | (Pattern::Int, Ty::Int)
        | (Pattern::Uint, Ty::Uint)
        | (Pattern::Double, Ty::Double)
        | (Pattern::String, Ty::String)
        | (Pattern::Bytes, Ty::Bytes)
        | (Pattern::Null, Ty::Null)
        | (Pattern::Duration, Ty::Duration)
        | (Pattern::Timestamp, Ty::Timestamp) => true,
        (Pattern::List(elem), Ty::List(ty)) => unify(elem, ty, bindings),
        (Pattern::Map(key, value), Ty::Map(k, v)) => {
            unify(key, k, bindings) && unify(value, v, bindings)
        }
        // Objects are taken for maps of strings, to be lenient (`size(self)`, `'a' in self`).
        (Pattern::Map(key, value), Ty::Object(_)) => {
            unify(key, &Ty::String, bindings) && unify(value, &Ty::Dyn, bindings)
        }
        (Pattern::Optional(inner), Ty::Optional(ty)) => unify(inner, ty, bindings),
        (Pattern::Type(inner), Ty::Type(ty)) => unify(inner, ty, bindings),
        (Pattern::Opaque(name), Ty::Opaque(ty)) => name == ty,
        _ => false,
    }
}

/// Whether two argument types may be the same type (for a parameter used twice, `A`).
fn compatible(a: &Ty<'_>, b: &Ty<'_>) -> bool {
    match (a, b) {
        (Ty::Dyn, _) | (_, Ty::Dyn) | (Ty::Null, _) | (_, Ty::Null) => true,
        (Ty::List(x), Ty::List(y))
        | (Ty::Optional(x), Ty::Optional(y))
        | (Ty::Type(x), Ty::Type(y)) => compatible(x, y),
        (Ty::Map(k1, v1), Ty::Map(k2, v2)) => compatible(k1, k2) && compatible(v1, v2),
        (Ty::Object(_), Ty::Object(_) | Ty::Map(..)) | (Ty::Map(..), Ty::Object(_)) => true,
        (Ty::Opaque(x), Ty::Opaque(y)) => x == y,
        _ => std::mem::discriminant(a) == std::mem::discriminant(b),
    }
}

fn substitute<'s>(pattern: &Pattern, bindings: &[Option<Ty<'s>>; 2]) -> Ty<'s> {
    match pattern {
        Pattern::Bool => Ty::Bool,
        Pattern::Int => Ty::Int,
        Pattern::Uint => Ty::Uint,
        Pattern::Double => Ty::Double,
        Pattern::String => Ty::String,
        Pattern::Bytes => Ty::Bytes,
        Pattern::Null => Ty::Null,
        Pattern::Duration => Ty::Duration,
        Pattern::Timestamp => Ty::Timestamp,
        Pattern::Dyn => Ty::Dyn,
        Pattern::Var(i) => match &bindings[*i] {
            Some(Ty::Null) | None => Ty::Dyn,
            Some(ty) => ty.clone(),
        },
        Pattern::List(elem) => Ty::List(Box::new(substitute(elem, bindings))),
        Pattern::Map(key, value) => Ty::Map(
            Box::new(substitute(key, bindings)),
            Box::new(substitute(value, bindings)),
        ),
        Pattern::Optional(inner) => Ty::Optional(Box::new(substitute(inner, bindings))),
        Pattern::Type(inner) => Ty::Type(Box::new(substitute(inner, bindings))),
        Pattern::Opaque(name) => Ty::Opaque(name),
    }
}

/// Every function of the environment rules run in ([`super::compile::environment`]): the
/// standard library (with cel-go's cross-type numeric comparisons, which upstream's base
/// environment enables), cel-go's strings, lists and optionals, and the Kubernetes libraries.
/// One line per overload: `g name(params) -> result` for a global function, `m name(target,
/// params) -> result` for a member one; `A` and `B` are type parameters.
const SIGNATURE_TABLE: &str = "
g _&&_(bool, bool) -> bool
g _||_(bool, bool) -> bool
g !_(bool) -> bool
g -_(int) -> int
g -_(double) -> double
g _==_(A, A) -> bool
g _!=_(A, A) -> bool
g _?_:_(bool, A, A) -> A
g @in(A, list(A)) -> bool
g @in(A, map(A, B)) -> bool
g _[_](list(A), int) -> A
g _[_](map(A, B), A) -> B
g _[?_](list(A), int) -> optional(A)
g _[?_](map(A, B), A) -> optional(B)
g _+_(int, int) -> int
g _+_(uint, uint) -> uint
g _+_(double, double) -> double
g _+_(string, string) -> string
g _+_(bytes, bytes) -> bytes
g _+_(list(A), list(A)) -> list(A)
g _+_(google.protobuf.Timestamp, google.protobuf.Duration) -> google.protobuf.Timestamp
g _+_(google.protobuf.Duration, google.protobuf.Timestamp) -> google.protobuf.Timestamp
g _+_(google.protobuf.Duration, google.protobuf.Duration) -> google.protobuf.Duration
g _-_(int, int) -> int
g _-_(uint, uint) -> uint
g _-_(double, double) -> double
g _-_(google.protobuf.Timestamp, google.protobuf.Timestamp) -> google.protobuf.Duration
g _-_(google.protobuf.Timestamp, google.protobuf.Duration) -> google.protobuf.Timestamp
g _-_(google.protobuf.Duration, google.protobuf.Duration) -> google.protobuf.Duration
g _*_(int, int) -> int
g _*_(uint, uint) -> uint
g _*_(double, double) -> double
g _/_(int, int) -> int
g _/_(uint, uint) -> uint
g _/_(double, double) -> double
g _%_(int, int) -> int
g _%_(uint, uint) -> uint
g size(string) -> int
g size(bytes) -> int
g size(list(A)) -> int
g size(map(A, B)) -> int
m size(string) -> int
m size(bytes) -> int
m size(list(A)) -> int
m size(map(A, B)) -> int
g int(int) -> int
g int(uint) -> int
g int(double) -> int
g int(string) -> int
g int(google.protobuf.Timestamp) -> int
g uint(uint) -> uint
g uint(int) -> uint
g uint(double) -> uint
g uint(string) -> uint
g double(double) -> double
g double(int) -> double
g double(uint) -> double
g double(string) -> double
g string(string) -> string
g string(bool) -> string
g string(int) -> string
g string(uint) -> string
g string(double) -> string
g string(bytes) -> string
g string(google.protobuf.Timestamp) -> string
g string(google.protobuf.Duration) -> string
g string(net.IP) -> string
g string(net.CIDR) -> string
g bytes(bytes) -> bytes
g bytes(string) -> bytes
g bool(bool) -> bool
g bool(string) -> bool
g duration(google.protobuf.Duration) -> google.protobuf.Duration
g duration(string) -> google.protobuf.Duration
g timestamp(google.protobuf.Timestamp) -> google.protobuf.Timestamp
g timestamp(string) -> google.protobuf.Timestamp
g timestamp(int) -> google.protobuf.Timestamp
g type(A) -> type(A)
g dyn(A) -> dyn
m contains(string, string) -> bool
m startsWith(string, string) -> bool
m endsWith(string, string) -> bool
m matches(string, string) -> bool
g matches(string, string) -> bool
m getFullYear(google.protobuf.Timestamp) -> int
m getFullYear(google.protobuf.Timestamp, string) -> int
m getMonth(google.protobuf.Timestamp) -> int
m getMonth(google.protobuf.Timestamp, string) -> int
m getDayOfYear(google.protobuf.Timestamp) -> int
m getDayOfYear(google.protobuf.Timestamp, string) -> int
m getDayOfMonth(google.protobuf.Timestamp) -> int
m getDayOfMonth(google.protobuf.Timestamp, string) -> int
m getDate(google.protobuf.Timestamp) -> int
m getDate(google.protobuf.Timestamp, string) -> int
m getDayOfWeek(google.protobuf.Timestamp) -> int
m getDayOfWeek(google.protobuf.Timestamp, string) -> int
m getHours(google.protobuf.Timestamp) -> int
m getHours(google.protobuf.Timestamp, string) -> int
m getMinutes(google.protobuf.Timestamp) -> int
m getMinutes(google.protobuf.Timestamp, string) -> int
m getSeconds(google.protobuf.Timestamp) -> int
m getSeconds(google.protobuf.Timestamp, string) -> int
m getMilliseconds(google.protobuf.Timestamp) -> int
m getMilliseconds(google.protobuf.Timestamp, string) -> int
m getHours(google.protobuf.Duration) -> int
m getMinutes(google.protobuf.Duration) -> int
m getSeconds(google.protobuf.Duration) -> int
m getMilliseconds(google.protobuf.Duration) -> int
m charAt(string, int) -> string
m indexOf(string, string) -> int
m indexOf(string, string, int) -> int
m lastIndexOf(string, string) -> int
m lastIndexOf(string, string, int) -> int
m lowerAscii(string) -> string
m upperAscii(string) -> string
m trim(string) -> string
m replace(string, string, string) -> string
m replace(string, string, string, int) -> string
m split(string, string) -> list(string)
m split(string, string, int) -> list(string)
m substring(string, int) -> string
m substring(string, int, int) -> string
m join(list(string)) -> string
m join(list(string), string) -> string
m format(string, list(dyn)) -> string
g strings.quote(string) -> string
m reverse(string) -> string
m slice(list(A), int, int) -> list(A)
m flatten(list(dyn)) -> list(dyn)
m flatten(list(dyn), int) -> list(dyn)
m distinct(list(A)) -> list(A)
m sort(list(A)) -> list(A)
m reverse(list(A)) -> list(A)
g lists.range(int) -> list(int)
g optional.none() -> optional(dyn)
g optional.of(A) -> optional(A)
g optional.ofNonZeroValue(A) -> optional(A)
m hasValue(optional(A)) -> bool
m value(optional(A)) -> A
m or(optional(A), optional(A)) -> optional(A)
m orValue(optional(A), A) -> A
g url(string) -> kubernetes.URL
g isURL(string) -> bool
m getScheme(kubernetes.URL) -> string
m getHost(kubernetes.URL) -> string
m getHostname(kubernetes.URL) -> string
m getPort(kubernetes.URL) -> string
m getEscapedPath(kubernetes.URL) -> string
m getQuery(kubernetes.URL) -> map(string, list(string))
m find(string, string) -> string
m findAll(string, string) -> list(string)
m findAll(string, string, int) -> list(string)
m isSorted(list(A)) -> bool
m sum(list(A)) -> A
m min(list(A)) -> A
m max(list(A)) -> A
m indexOf(list(A), A) -> int
m lastIndexOf(list(A), A) -> int
g quantity(string) -> kubernetes.Quantity
g isQuantity(string) -> bool
g sign(kubernetes.Quantity) -> int
m isGreaterThan(kubernetes.Quantity, kubernetes.Quantity) -> bool
m isLessThan(kubernetes.Quantity, kubernetes.Quantity) -> bool
m compareTo(kubernetes.Quantity, kubernetes.Quantity) -> int
m asApproximateFloat(kubernetes.Quantity) -> double
m asInteger(kubernetes.Quantity) -> int
m isInteger(kubernetes.Quantity) -> bool
m add(kubernetes.Quantity, kubernetes.Quantity) -> kubernetes.Quantity
m add(kubernetes.Quantity, int) -> kubernetes.Quantity
m sub(kubernetes.Quantity, kubernetes.Quantity) -> kubernetes.Quantity
m sub(kubernetes.Quantity, int) -> kubernetes.Quantity
g sets.contains(list(A), list(A)) -> bool
g sets.equivalent(list(A), list(A)) -> bool
g sets.intersects(list(A), list(A)) -> bool
g ip(string) -> net.IP
g isIP(string) -> bool
g ip.isCanonical(string) -> bool
m family(net.IP) -> int
m isUnspecified(net.IP) -> bool
m isLoopback(net.IP) -> bool
m isLinkLocalMulticast(net.IP) -> bool
m isLinkLocalUnicast(net.IP) -> bool
m isGlobalUnicast(net.IP) -> bool
g cidr(string) -> net.CIDR
g isCIDR(string) -> bool
m containsIP(net.CIDR, string) -> bool
m containsIP(net.CIDR, net.IP) -> bool
m containsCIDR(net.CIDR, string) -> bool
m containsCIDR(net.CIDR, net.CIDR) -> bool
m ip(net.CIDR) -> net.IP
m prefixLength(net.CIDR) -> int
m masked(net.CIDR) -> net.CIDR
g format.dns1123Label() -> kubernetes.NamedFormat
g format.dns1123Subdomain() -> kubernetes.NamedFormat
g format.dns1035Label() -> kubernetes.NamedFormat
g format.qualifiedName() -> kubernetes.NamedFormat
g format.dns1123LabelPrefix() -> kubernetes.NamedFormat
g format.dns1123SubdomainPrefix() -> kubernetes.NamedFormat
g format.dns1035LabelPrefix() -> kubernetes.NamedFormat
g format.labelValue() -> kubernetes.NamedFormat
g format.uri() -> kubernetes.NamedFormat
g format.uuid() -> kubernetes.NamedFormat
g format.byte() -> kubernetes.NamedFormat
g format.date() -> kubernetes.NamedFormat
g format.datetime() -> kubernetes.NamedFormat
g format.named(string) -> optional(kubernetes.NamedFormat)
m validate(kubernetes.NamedFormat, string) -> optional(list(string))
g semver(string) -> kubernetes.Semver
g semver(string, bool) -> kubernetes.Semver
g isSemver(string) -> bool
g isSemver(string, bool) -> bool
m isGreaterThan(kubernetes.Semver, kubernetes.Semver) -> bool
m isLessThan(kubernetes.Semver, kubernetes.Semver) -> bool
m compareTo(kubernetes.Semver, kubernetes.Semver) -> int
m major(kubernetes.Semver) -> int
m minor(kubernetes.Semver) -> int
m patch(kubernetes.Semver) -> int
";

/// The ordering operators: each of cel-go's same-type overloads, and its cross-type numeric
/// ones.
const ORDERED: [&str; 7] = [
    "bool",
    "string",
    "bytes",
    "google.protobuf.Timestamp",
    "google.protobuf.Duration",
    "int",
    "uint",
];

/// The signatures of [`SIGNATURE_TABLE`] and the ordering operators, by function name.
static SIGNATURES: LazyLock<HashMap<String, Vec<Overload>>> = LazyLock::new(|| {
    let mut lines: Vec<String> = SIGNATURE_TABLE
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(String::from)
        .collect();
    for op in ["_<_", "_<=_", "_>_", "_>=_"] {
        for ty in ORDERED {
            lines.push(format!("g {op}({ty}, {ty}) -> bool"));
        }
        lines.push(format!("g {op}(double, double) -> bool"));
        for (a, b) in [
            ("int", "uint"),
            ("int", "double"),
            ("uint", "int"),
            ("uint", "double"),
            ("double", "int"),
            ("double", "uint"),
        ] {
            lines.push(format!("g {op}({a}, {b}) -> bool"));
        }
    }
    let mut signatures: HashMap<String, Vec<Overload>> = HashMap::new();
    for line in &lines {
        let (name, overload) = parse_signature(line);
        signatures.entry(name).or_default().push(overload);
    }
    signatures
});

/// One line of [`SIGNATURE_TABLE`].
fn parse_signature(line: &str) -> (String, Overload) {
    let line = line.trim();
    let (kind, rest) = line.split_at(2);
    let open = rest.find('(').expect("a signature has parameters");
    let name = rest[..open].to_string();
    let (params, result) = rest[open + 1..]
        .rsplit_once(") -> ")
        .expect("a signature has a result");
    let params = split_top_level(params)
        .into_iter()
        .map(parse_pattern)
        .collect();
    let overload = Overload {
        member: kind.trim() == "m",
        params,
        result: parse_pattern(result),
    };
    (name, overload)
}

/// `a, list(b), map(c, d)` split at its top-level commas.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(text[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    if !text[start..].trim().is_empty() {
        parts.push(text[start..].trim());
    }
    parts
}

fn parse_pattern(text: &str) -> Pattern {
    let text = text.trim();
    if let Some((outer, inner)) = text.strip_suffix(')').and_then(|t| t.split_once('(')) {
        let mut args = split_top_level(inner).into_iter().map(parse_pattern);
        let mut next = || Box::new(args.next().expect("a type argument"));
        return match outer {
            "list" => Pattern::List(next()),
            "map" => Pattern::Map(next(), next()),
            "optional" => Pattern::Optional(next()),
            "type" => Pattern::Type(next()),
            other => panic!("unknown type constructor {other}"),
        };
    }
    match text {
        "bool" => Pattern::Bool,
        "int" => Pattern::Int,
        "uint" => Pattern::Uint,
        "double" => Pattern::Double,
        "string" => Pattern::String,
        "bytes" => Pattern::Bytes,
        "null_type" => Pattern::Null,
        "google.protobuf.Duration" => Pattern::Duration,
        "google.protobuf.Timestamp" => Pattern::Timestamp,
        "dyn" => Pattern::Dyn,
        "A" => Pattern::Var(0),
        "B" => Pattern::Var(1),
        other => Pattern::Opaque(
            super::library::TYPE_NAMES
                .iter()
                .find(|known| **known == other)
                .unwrap_or_else(|| panic!("unknown type {other}")),
        ),
    }
}

/// The names of every function the checker knows, for tests.
#[cfg(test)]
pub(super) fn function_names() -> Vec<(String, bool, usize)> {
    let mut names: Vec<(String, bool, usize)> = SIGNATURES
        .iter()
        .flat_map(|(name, overloads)| {
            overloads
                .iter()
                .map(move |overload| (name.clone(), overload.member, overload.params.len()))
        })
        .collect();
    names.sort();
    names.dedup();
    names
}
