//! The one static check done on compiled rules: every identifier must be declared, as cel-go's
//! checker requires (`undeclared reference to 'foo' (in container '')`). Rules may name `self`
//! and `oldSelf`, the variables of the macros around them, and type names; an identifier that is
//! the target of a call (`optional.none()`, `strings.quote(s)`) is a namespace, not a variable.

use cel::common::ast::{EntryExpr, Expr, IdedExpr};
use cel::Program;

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
        Expr::Select(select) => walk(&select.operand, scope, undeclared),
        Expr::Literal(_) | Expr::Unspecified => {}
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
