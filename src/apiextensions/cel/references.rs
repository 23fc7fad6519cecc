//! The static checks done on compiled rules, two of cel-go's checker's: every identifier must
//! be declared (`undeclared reference to 'foo' (in container '')`), and every field selected
//! from `self` must be declared by the schema (`undefined field 'foo'`); and a rule whose result
//! type can be told without a checker must be a bool. Rules may name `self`
//! and `oldSelf`, the variables of the macros around them, and type names; an identifier that is
//! the target of a call (`optional.none()`, `strings.quote(s)`) is a namespace, not a variable.

use cel::common::ast::{EntryExpr, Expr, IdedExpr, LiteralValue};
use cel::Program;
use serde_json::Value as Json;

use super::convert::{flag, schema_type};

/// Type names CEL resolves as identifiers (`type(x) == string`).
const TYPE_NAMES: [&str; 11] = [
    "bool",
    "bytes",
    "double",
    "dyn",
    "int",
    "list",
    "map",
    "null_type",
    "string",
    "type",
    "uint",
];

/// Every undeclared identifier of `program`, in cel-go's issue form (one per line, with the
/// snippet and caret), or `None` when all are declared.
pub(super) fn undeclared_references(program: &Program, source: &str) -> Option<String> {
    let mut scope = vec!["self".to_string(), "oldSelf".to_string()];
    let mut undeclared = Vec::new();
    walk(program.expression(), &mut scope, &mut undeclared);
    if undeclared.is_empty() {
        return None;
    }
    let issues: Vec<String> = undeclared
        .into_iter()
        .map(|(id, name)| {
            let message = format!("undeclared reference to '{name}' (in container '')");
            match program.source_info().offset_for(id) {
                Some((start, _)) => {
                    let (line, column) = line_and_column(source, start as usize);
                    super::compile::issue(line, column, &message, source)
                }
                None => format!("ERROR: <input>:-1:0: {message}"),
            }
        })
        .collect();
    Some(issues.join("\n"))
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

fn walk(expr: &IdedExpr, scope: &mut Vec<String>, undeclared: &mut Vec<(u64, String)>) {
    match &expr.expr {
        Expr::Ident(name) => {
            let declared = scope.iter().any(|declared| declared == name)
                || TYPE_NAMES.contains(&name.as_str())
                || name.starts_with('@');
            if !declared {
                undeclared.push((expr.id, name.clone()));
            }
        }
        Expr::Call(call) => {
            // A bare identifier as the target is taken for a namespace and not checked.
            if let Some(target) = call.target.as_deref() {
                if !matches!(target.expr, Expr::Ident(_)) {
                    walk(target, scope, undeclared);
                }
            }
            for arg in &call.args {
                walk(arg, scope, undeclared);
            }
        }
        Expr::Comprehension(comprehension) => {
            walk(&comprehension.iter_range, scope, undeclared);
            walk(&comprehension.accu_init, scope, undeclared);
            let depth = scope.len();
            scope.push(comprehension.iter_var.clone());
            if let Some(second) = &comprehension.iter_var2 {
                scope.push(second.clone());
            }
            scope.push(comprehension.accu_var.clone());
            walk(&comprehension.loop_cond, scope, undeclared);
            walk(&comprehension.loop_step, scope, undeclared);
            walk(&comprehension.result, scope, undeclared);
            scope.truncate(depth);
        }
        Expr::List(list) => {
            for element in &list.elements {
                walk(element, scope, undeclared);
            }
        }
        Expr::Map(map) => {
            for entry in &map.entries {
                walk_entry(&entry.expr, scope, undeclared);
            }
        }
        Expr::Struct(structure) => {
            for entry in &structure.entries {
                walk_entry(&entry.expr, scope, undeclared);
            }
        }
        Expr::Select(select) => {
            // A library type's qualified name (`net.IP`) is declared.
            let is_type_name = qualified_name(expr)
                .is_some_and(|name| super::library::TYPE_NAMES.contains(&name.as_str()));
            if !is_type_name {
                walk(&select.operand, scope, undeclared);
            }
        }
        Expr::Literal(_) | Expr::Unspecified => {}
    }
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

fn walk_entry(entry: &EntryExpr, scope: &mut Vec<String>, undeclared: &mut Vec<(u64, String)>) {
    match entry {
        EntryExpr::StructField(field) => walk(&field.value, scope, undeclared),
        EntryExpr::MapEntry(entry) => {
            walk(&entry.key, scope, undeclared);
            walk(&entry.value, scope, undeclared);
        }
    }
}

/// Every selection of a field that the schema does not declare (`self.spec.replicass`), in
/// cel-go's issue form (`undefined field 'replicass'`), or `None`. Only chains of field
/// selections from `self`/`oldSelf` through objects with declared `properties` are checked: maps
/// (`additionalProperties`), untyped and preserve-unknown-fields values are not.
pub(super) fn undefined_fields(
    program: &Program,
    source: &str,
    schema: &Json,
    is_resource_root: bool,
) -> Option<String> {
    let mut undefined = Vec::new();
    visit_selects(program.expression(), &mut |select_id, chain| {
        let Some((last, parents)) = chain.split_last() else {
            return;
        };
        let mut current = TypedNode {
            schema,
            is_resource_root,
        };
        for field in parents {
            match current.field(field) {
                FieldLookup::Declared(next) => current = next,
                FieldLookup::Undefined | FieldLookup::Unchecked => return,
            }
        }
        if let FieldLookup::Undefined = current.field(last) {
            undefined.push((select_id, (*last).to_string()));
        }
    });
    if undefined.is_empty() {
        return None;
    }
    let issues: Vec<String> = undefined
        .into_iter()
        .map(|(id, name)| {
            let message = format!("undefined field '{name}'");
            match program.source_info().offset_for(id) {
                Some((start, _)) => {
                    let (line, column) = line_and_column(source, start as usize);
                    super::compile::issue(line, column, &message, source)
                }
                None => format!("ERROR: <input>:-1:0: {message}"),
            }
        })
        .collect();
    Some(issues.join("\n"))
}

/// A schema node as a rule sees it.
#[derive(Clone, Copy)]
struct TypedNode<'s> {
    schema: &'s Json,
    is_resource_root: bool,
}

enum FieldLookup<'s> {
    Declared(TypedNode<'s>),
    Undefined,
    /// A map key, or a value whose fields are not declared: not checked.
    Unchecked,
}

/// `metadata` of a resource as rules see it: `name` and `generateName` only.
static RESOURCE_METADATA: std::sync::LazyLock<Json> = std::sync::LazyLock::new(|| {
    serde_json::json!({
        "type": "object",
        "properties": {"name": {"type": "string"}, "generateName": {"type": "string"}},
    })
});

/// A string-typed schema, for `apiVersion` and `kind` of a resource.
static STRING_SCHEMA: std::sync::LazyLock<Json> =
    std::sync::LazyLock::new(|| serde_json::json!({"type": "string"}));

impl<'s> TypedNode<'s> {
    fn field(self, name: &str) -> FieldLookup<'s> {
        let plain = |schema: &'s Json| {
            FieldLookup::Declared(TypedNode {
                schema,
                is_resource_root: flag(schema, "x-kubernetes-embedded-resource"),
            })
        };
        if self.is_resource_root {
            match name {
                "apiVersion" | "kind" => return plain(&STRING_SCHEMA),
                "metadata" => return plain(&RESOURCE_METADATA),
                _ => {}
            }
        }
        if flag(self.schema, "x-kubernetes-int-or-string") {
            return FieldLookup::Unchecked;
        }
        let properties = self.schema.get("properties").and_then(Json::as_object);
        match properties {
            Some(properties) if schema_type(self.schema) == "object" => {
                // Rules select properties by their escaped names (`__namespace__`).
                let declared = properties.iter().find(|(property, _)| {
                    super::escaping::escape(property).as_deref() == Some(name)
                });
                match declared {
                    Some((_, property)) => plain(property),
                    None => FieldLookup::Undefined,
                }
            }
            _ => FieldLookup::Unchecked,
        }
    }
}

/// Calls `check` with the id and the field chain (`["spec", "replicas"]`) of every selection
/// rooted at `self` or `oldSelf`.
fn visit_selects(expr: &IdedExpr, check: &mut dyn FnMut(u64, &[&str])) {
    match &expr.expr {
        Expr::Select(select) => {
            let mut chain = vec![select.field.as_str()];
            let mut operand = &select.operand.expr;
            while let Expr::Select(inner) = operand {
                chain.push(inner.field.as_str());
                operand = &inner.operand.expr;
            }
            if matches!(operand, Expr::Ident(root) if root == "self" || root == "oldSelf") {
                chain.reverse();
                check(expr.id, &chain);
            }
            visit_selects(&select.operand, check);
        }
        Expr::Call(call) => {
            if let Some(target) = call.target.as_deref() {
                visit_selects(target, check);
            }
            for arg in &call.args {
                visit_selects(arg, check);
            }
        }
        Expr::Comprehension(comprehension) => {
            for part in [
                &comprehension.iter_range,
                &comprehension.accu_init,
                &comprehension.loop_cond,
                &comprehension.loop_step,
                &comprehension.result,
            ] {
                visit_selects(part, check);
            }
        }
        Expr::List(list) => {
            for element in &list.elements {
                visit_selects(element, check);
            }
        }
        Expr::Map(map) => {
            for entry in &map.entries {
                if let EntryExpr::MapEntry(entry) = &entry.expr {
                    visit_selects(&entry.key, check);
                    visit_selects(&entry.value, check);
                }
            }
        }
        Expr::Struct(_) | Expr::Ident(_) | Expr::Literal(_) | Expr::Unspecified => {}
    }
}

/// The CEL type a rule's result is known to have without a type checker, for the forms that
/// tell it: literals, `self` and fields selected from it, `has()`, `size()`, comparisons and
/// logical operators. `None` when the form does not tell.
pub(super) fn known_result_type(
    program: &Program,
    schema: &Json,
    is_resource_root: bool,
) -> Option<&'static str> {
    let expr = program.expression();
    match &expr.expr {
        Expr::Literal(literal) => Some(match literal {
            LiteralValue::Boolean(_) => "bool",
            LiteralValue::Bytes(_) => "bytes",
            LiteralValue::Double(_) => "double",
            LiteralValue::Int(_) => "int",
            LiteralValue::Null => "null_type",
            LiteralValue::String(_) => "string",
            LiteralValue::UInt(_) => "uint",
        }),
        Expr::List(_) => Some("list"),
        Expr::Map(_) => Some("map"),
        Expr::Call(call) => match call.func_name.as_str() {
            "_==_" | "_!=_" | "_<_" | "_<=_" | "_>_" | "_>=_" | "_&&_" | "_||_" | "!_" | "@in"
            | "startsWith" | "endsWith" | "contains" | "matches" => Some("bool"),
            "size" => Some("int"),
            _ => None,
        },
        Expr::Select(select) if select.test => Some("bool"),
        Expr::Ident(name) if name == "self" || name == "oldSelf" => {
            cel_type_of(schema, is_resource_root)
        }
        Expr::Select(_) => {
            let mut found = None;
            visit_selects(expr, &mut |id, chain| {
                if id != expr.id {
                    return;
                }
                let mut current = TypedNode {
                    schema,
                    is_resource_root,
                };
                for field in chain {
                    match current.field(field) {
                        FieldLookup::Declared(next) => current = next,
                        FieldLookup::Undefined | FieldLookup::Unchecked => return,
                    }
                }
                found = cel_type_of(current.schema, current.is_resource_root);
            });
            found
        }
        _ => None,
    }
}

/// The CEL type values of `schema` have, when its `type` fixes one.
fn cel_type_of(schema: &Json, is_resource_root: bool) -> Option<&'static str> {
    if flag(schema, "x-kubernetes-int-or-string") {
        return None;
    }
    match schema_type(schema) {
        "boolean" => Some("bool"),
        "integer" => Some("int"),
        "number" => Some("double"),
        "string" => Some("string"),
        "array" => Some("list"),
        "object" => Some("map"),
        _ if is_resource_root => Some("map"),
        _ => None,
    }
}
