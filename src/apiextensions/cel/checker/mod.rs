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

use std::fmt;
use std::sync::LazyLock;

use cel::common::ast::{EntryExpr, Expr, IdedExpr, LiteralValue};
use cel::Program;
use serde_json::Value as Json;

use super::convert::{flag, schema_type};

mod signatures;

#[cfg(test)]
pub(super) use signatures::function_names;
use signatures::SIGNATURES;

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
    check_in_scope(
        program,
        source,
        vec![("self".into(), self_ty), ("oldSelf".into(), old_self)],
    )
}

/// Type-checks `program` (parsed from `source`) with the variables of `scope` declared.
pub(super) fn check_in_scope<'s>(
    program: &Program,
    source: &str,
    scope: Vec<(String, Ty<'s>)>,
) -> Checked<'s> {
    let mut checker = Checker {
        scope,
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
