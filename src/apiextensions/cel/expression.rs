//! Standalone CEL expressions over named variables, as admission compiles them (webhook
//! `matchConditions`, ValidatingAdmissionPolicy `validations`, `variables`, `matchConditions`,
//! `auditAnnotations`): upstream's `k8s.io/apiserver/pkg/admission/plugin/cel` `compile.go`.
//!
//! The variables are declared `dyn` (upstream declares `object`, `oldObject`, `params` and
//! `namespaceObject` `dyn` too, and types `request`); values are bound from JSON by their own
//! kinds ([`super::convert::untyped`]). The environment is the one of CRD rules.

use std::sync::Arc;

use cel::{Context, Env, Program};
use serde_json::Value as Json;

use super::checker::{self, Ty};
use super::{compile, evaluate};

/// Whether `name` is a CEL identifier (the names of a policy's `variables`).
pub fn is_identifier(name: &str) -> bool {
    super::escaping::is_identifier(name)
}

/// What an expression must evaluate to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultType {
    Bool,
    String,
    /// Anything (`variables`).
    Any,
}

/// A compiled expression.
pub struct Expression {
    env: Arc<Env>,
    program: Program,
    source: String,
    /// The type the checker inferred for the result, as cel-go prints it (`bool`, `dyn`).
    output_type: String,
}

impl std::fmt::Debug for Expression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Expression").field(&self.source).finish()
    }
}

/// A value an expression evaluated to.
#[derive(Debug, Clone)]
pub struct CelValue(cel::Value);

impl CelValue {
    /// The value when it is a bool.
    pub fn as_bool(&self) -> Option<bool> {
        match &self.0 {
            cel::Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The value when it is a string.
    pub fn as_str(&self) -> Option<&str> {
        match &self.0 {
            cel::Value::String(s) => Some(s.as_str()),
            _ => None,
        }
    }

    /// Whether the value is `null`.
    pub fn is_null(&self) -> bool {
        matches!(self.0, cel::Value::Null)
    }

    /// The value as JSON (for values JSON can hold; others as their CEL text).
    pub fn to_json(&self) -> Json {
        to_json(&self.0)
    }

    /// The value bound from JSON.
    pub fn from_json(value: &Json) -> Self {
        Self(super::convert::untyped(value))
    }

    /// A map of named values (`variables`).
    pub fn map(entries: Vec<(String, CelValue)>) -> Self {
        let entries: std::collections::HashMap<cel::objects::Key, cel::Value> = entries
            .into_iter()
            .map(|(name, value)| (cel::objects::Key::from(name), value.0))
            .collect();
        Self(cel::Value::Map(cel::objects::Map::from(entries)))
    }
}

fn to_json(value: &cel::Value) -> Json {
    match value {
        cel::Value::Null => Json::Null,
        cel::Value::Bool(b) => Json::Bool(*b),
        cel::Value::Int(i) => Json::from(*i),
        cel::Value::UInt(u) => Json::from(*u),
        cel::Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        cel::Value::String(s) => Json::String(s.to_string()),
        cel::Value::List(items) => Json::Array(items.iter().map(to_json).collect()),
        cel::Value::Map(map) => Json::Object(
            map.map
                .iter()
                .map(|(key, value)| (key_text(key), to_json(value)))
                .collect(),
        ),
        other => Json::String(format!("{other:?}")),
    }
}

fn key_text(key: &cel::objects::Key) -> String {
    match key {
        cel::objects::Key::String(s) => s.to_string(),
        cel::objects::Key::Int(i) => i.to_string(),
        cel::objects::Key::Uint(u) => u.to_string(),
        cel::objects::Key::Bool(b) => b.to_string(),
    }
}

/// The values of an evaluation's variables.
#[derive(Debug, Clone, Default)]
pub struct Bindings {
    values: Vec<(String, cel::Value)>,
}

impl Bindings {
    /// Binds `name` to `value` (JSON `null` when absent, as upstream binds a missing object).
    pub fn json(&mut self, name: &str, value: Option<&Json>) -> &mut Self {
        let value = value.map_or(cel::Value::Null, super::convert::untyped);
        self.values.push((name.to_string(), value));
        self
    }

    /// Binds `name` to an evaluated value.
    pub fn value(&mut self, name: &str, value: CelValue) -> &mut Self {
        self.values.push((name.to_string(), value.0));
        self
    }
}

impl Expression {
    /// Compiles `source` with `variables` declared. MUST refuse, with upstream's detail
    /// (`compilation failed: ERROR: <input>:1:1: undeclared reference to 'x' (in container
    /// '')` and its source lines; `must evaluate to bool`), an expression that does not parse,
    /// names an undeclared variable or function, or is certain to evaluate to another type
    /// than `result`.
    pub fn compile(source: &str, variables: &[&str], result: ResultType) -> Result<Self, String> {
        let env = compile::environment();
        let program = env.compile(source).map_err(|errors| {
            format!("compilation failed: {}", compile::issues(&errors, source))
        })?;
        let scope = variables
            .iter()
            .map(|name| (name.to_string(), Ty::Dyn))
            .collect();
        let checked = checker::check_in_scope(&program, source, scope);
        if let Some(issues) = checked.issues {
            return Err(format!("compilation failed: {issues}"));
        }
        let (expected, name) = match result {
            ResultType::Bool => (Ty::Bool, "bool"),
            ResultType::String => (Ty::String, "string"),
            ResultType::Any => (Ty::Dyn, ""),
        };
        if result != ResultType::Any && !checker::may_be(&checked.result, &expected) {
            return Err(format!("must evaluate to {name}"));
        }
        Ok(Self {
            env,
            program,
            source: source.to_string(),
            output_type: checked.result.to_string(),
        })
    }

    /// The type of the result as far as the checker can tell, as cel-go prints it (`bool`,
    /// `string`, `list(int)`; `dyn` when it cannot tell).
    pub fn output_type(&self) -> &str {
        &self.output_type
    }

    /// The expression as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Evaluates the expression. Errors are cel-go's texts (`no such key: x`, `no such
    /// overload`).
    pub fn evaluate(&self, bindings: &Bindings) -> Result<CelValue, String> {
        let mut context = Context::with_env(Arc::clone(&self.env));
        for (name, value) in &bindings.values {
            context.add_variable_from_value(name.clone(), value.clone());
        }
        self.program
            .execute(&context)
            .map(CelValue)
            .map_err(|err| evaluate::error_message(&err))
    }
}

/// Type-checks `source` as ValidatingAdmissionPolicy type checking does (upstream's
/// `typechecking.go`): each of `typed` is typed from its JSON schema (`root`: a resource root,
/// whose `metadata` shows only `name` and `generateName`), named `type_name` in errors; each of
/// `dynamic` is `dyn`. Returns cel-go's issues (`ERROR: <input>:1:8: undefined field 'x'` and
/// the source lines), or `None` when the expression checks.
pub fn type_issues(
    source: &str,
    dynamic: &[&str],
    typed: &[(&str, &Json, bool)],
    type_name: &str,
) -> Option<String> {
    let env = compile::environment();
    let program = match env.compile(source) {
        Ok(program) => program,
        Err(errors) => return Some(compile::issues(&errors, source)),
    };
    let mut scope: Vec<(String, Ty)> = dynamic
        .iter()
        .map(|name| (name.to_string(), Ty::Dyn))
        .collect();
    for (name, schema, root) in typed {
        scope.push((
            name.to_string(),
            checker::schema_ty(schema, *root, type_name),
        ));
    }
    checker::check_in_scope(&program, source, scope).issues
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn undeclared_variables_and_wrong_results_are_refused() {
        let err = Expression::compile("x > 1", &["object"], ResultType::Bool).unwrap_err();
        assert!(
            err.starts_with(
                "compilation failed: ERROR: <input>:1:1: undeclared reference to 'x' (in container '')"
            ),
            "{err}"
        );
        let err = Expression::compile("'a'", &["object"], ResultType::Bool).unwrap_err();
        assert_eq!(err, "must evaluate to bool");
        assert!(Expression::compile("object.spec.x", &["object"], ResultType::Bool).is_ok());
    }

    #[test]
    fn expressions_evaluate_over_json() {
        let rule = Expression::compile(
            "object.spec.replicas > params.data.min",
            &["object", "params"],
            ResultType::Bool,
        )
        .unwrap();
        let mut bindings = Bindings::default();
        bindings
            .json("object", Some(&json!({"spec": {"replicas": 1}})))
            .json("params", Some(&json!({"data": {"min": 2}})));
        assert_eq!(rule.evaluate(&bindings).unwrap().as_bool(), Some(false));
        let missing = Expression::compile("object.spec.x == 1", &["object"], ResultType::Bool)
            .unwrap()
            .evaluate(&bindings)
            .unwrap_err();
        assert_eq!(missing, "no such key: x");
    }
}
