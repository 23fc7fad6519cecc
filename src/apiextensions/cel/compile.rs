//! Compiling every `x-kubernetes-validations` rule of a CRD version's schema, with the CRD
//! validation errors upstream reports for them: the rule checks of
//! `apiextensions-apiserver/pkg/apis/apiextensions/validation/validation.go`
//! (`ValidateCustomResourceDefinitionOpenAPISchema`) and the compile errors of
//! `apiextensions-apiserver/pkg/apiserver/schema/cel/compilation.go` (`compileRule`).

use std::sync::{Arc, LazyLock};

use cel::{Env, ParseErrors, Program};
use serde_json::Value as Json;

use crate::catalog::Typing;

use super::convert::{flag, schema_type};
use super::cost::{self, Shape};
use super::{checker, field_path, library};
use crate::api::go_fmt::go_quote;
use crate::registry::validation::{FieldError, FieldErrorKind};

/// The reasons a rule may give, sorted as upstream's `supportedValidationReason.List()`.
const SUPPORTED_REASONS: [&str; 4] = [
    "FieldValueDuplicate",
    "FieldValueForbidden",
    "FieldValueInvalid",
    "FieldValueRequired",
];

/// The name errors give the type of `self` when it is an object. Upstream names it
/// `selfType<nanoseconds of the clock>`, changed at each compilation so that rules cannot
/// depend on it; a fixed name stands in for it here.
const SELF_TYPE_NAME: &str = "selfType0";

/// What compiling a schema's rules finds: CRD validation errors, and each rule's and message
/// expression's estimated cost (times its node's cardinality) with its field path.
#[derive(Default)]
pub(super) struct Compilation {
    pub errors: Vec<FieldError>,
    pub costs: Vec<(String, u64)>,
}

/// One compiled rule.
pub(super) struct CompiledRule {
    /// `rule` as written.
    pub rule: String,
    /// `message` as written (empty when unset).
    pub message: String,
    /// `messageExpression`, compiled, when set.
    pub message_expression: Option<Program>,
    /// The field-error kind `reason` asks for (Invalid by default).
    pub reason: FieldErrorKind,
    /// `fieldPath` in `field.Path` form (`replicas`, `ports[http]`), empty when unset.
    pub field_path: String,
    pub program: Program,
    /// The rule references `oldSelf`: a transition rule.
    pub uses_old_self: bool,
    /// `optionalOldSelf: true`: the rule runs on create too, with `oldSelf` an optional.
    pub optional_old_self: bool,
}

/// A schema node that holds rules, or has descendants that do.
pub(super) struct Node {
    /// This node's typing schema, to convert values with (only where there are rules).
    pub schema: Option<SchemaAt>,
    /// `type`: the value upstream prints in its field errors.
    pub schema_type: String,
    /// The custom resource's root or an `x-kubernetes-embedded-resource` node.
    pub is_resource_root: bool,
    pub rules: Vec<CompiledRule>,
    pub properties: Vec<(String, Node)>,
    pub items: Option<Box<Node>>,
    pub additional_properties: Option<Box<Node>>,
    /// Old map entries are correlated by key (`x-kubernetes-map-type` is not `atomic`).
    pub map_correlatable: bool,
    /// `x-kubernetes-list-map-keys` of an `x-kubernetes-list-type: map` list: the only lists
    /// whose old items are correlated.
    pub list_map_keys: Option<Vec<String>>,
}

/// A node's place in the version's typing tree, shared with the version's catalogue row: nodes
/// with rules convert values by it without a copy of their own.
#[derive(Clone)]
pub(super) struct SchemaAt {
    root: Arc<Typing>,
    /// The steps from the root: a property name, `None` for `items` and
    /// `additionalProperties` (told apart by `Step`).
    steps: Vec<Step>,
}

#[derive(Clone)]
enum Step {
    Property(String),
    Items,
    AdditionalProperties,
}

impl SchemaAt {
    pub fn root(root: Arc<Typing>) -> Self {
        Self {
            root,
            steps: Vec::new(),
        }
    }

    fn child(&self, step: Step) -> Self {
        let mut steps = self.steps.clone();
        steps.push(step);
        Self {
            root: self.root.clone(),
            steps,
        }
    }

    /// The node's typing, `None` if the tree has no such node.
    pub fn get(&self) -> Option<&Typing> {
        let mut at = &*self.root;
        for step in &self.steps {
            at = match step {
                Step::Property(name) => at.property(name)?,
                Step::Items => at.items.as_deref()?,
                Step::AdditionalProperties => at.additional_properties.as_deref()?,
            };
        }
        Some(at)
    }
}

/// The CEL environment rules are compiled and run in, built once: the standard library, cel-go's
/// strings and lists extensions, and the Kubernetes libraries of upstream's base environment
/// ([`library`]).
pub(super) fn environment() -> Arc<Env> {
    static ENVIRONMENT: LazyLock<Arc<Env>> = LazyLock::new(|| {
        let mut env = Env::stdlib();
        // The extensions and libraries declare disjoint overloads; failing here would be a bug
        // in one of them.
        env.add_extension(cel::extensions::strings)
            .and_then(|()| env.add_extension(cel::extensions::lists))
            .and_then(|()| library::register(&mut env))
            .expect("the extensions and Kubernetes libraries register on the standard environment");
        Arc::new(env)
    });
    Arc::clone(&ENVIRONMENT)
}

/// Compiles the rules of `schema` and below; `path` is the schema's field path in the CRD
/// (`spec.versions[0].schema.openAPIV3Schema`). Pushes every CRD validation error found to
/// `errors` and returns `None` for a subtree without rules.
pub(super) fn compile_node(
    env: &Env,
    schema: &Json,
    at: &SchemaAt,
    path: &str,
    uncorrelatable_within: Option<&str>,
    cardinality: Option<u64>,
    out: &mut Compilation,
) -> Option<Node> {
    // The custom resource's root, or an embedded resource.
    let is_resource_root = at.steps.is_empty() || flag(schema, "x-kubernetes-embedded-resource");
    let rules = compile_rules(
        env,
        schema,
        path,
        is_resource_root,
        uncorrelatable_within,
        cardinality,
        out,
    );
    // How often values below a list or map may occur: unbounded (`None`) without `maxItems`
    // or `maxProperties`.
    let times = |key: &str| {
        let bound = schema
            .get(key)
            .and_then(Json::as_i64)
            .map(|n| n.max(0) as u64);
        cardinality.zip(bound).map(|(c, b)| c.saturating_mul(b))
    };
    let mut properties = Vec::new();
    if let Some(declared) = schema.get("properties").and_then(Json::as_object) {
        for (name, property) in declared {
            let property_path = format!("{path}.properties[{name}]");
            if let Some(node) = compile_node(
                env,
                property,
                &at.child(Step::Property(name.clone())),
                &property_path,
                uncorrelatable_within,
                cardinality,
                out,
            ) {
                properties.push((name.clone(), node));
            }
        }
    }
    let list_type = schema.get("x-kubernetes-list-type").and_then(Json::as_str);
    let items = schema
        .get("items")
        .filter(|items| items.is_object())
        .and_then(|items| {
            // Old items are correlated only in map lists: below any other list, oldSelf is forbidden.
            let within = match (uncorrelatable_within, list_type) {
                (Some(within), _) => Some(within.to_string()),
                (None, Some("map")) => None,
                (None, _) => Some(path.to_string()),
            };
            let items_path = format!("{path}.items");
            compile_node(
                env,
                items,
                &at.child(Step::Items),
                &items_path,
                within.as_deref(),
                times("maxItems"),
                out,
            )
        });
    let additional_properties = schema
        .get("additionalProperties")
        .filter(|additional| additional.is_object())
        .and_then(|additional| {
            let additional_path = format!("{path}.additionalProperties");
            compile_node(
                env,
                additional,
                &at.child(Step::AdditionalProperties),
                &additional_path,
                uncorrelatable_within,
                times("maxProperties"),
                out,
            )
        });
    if rules.is_empty()
        && properties.is_empty()
        && items.is_none()
        && additional_properties.is_none()
    {
        return None;
    }
    let list_map_keys = (list_type == Some("map")).then(|| {
        schema
            .get("x-kubernetes-list-map-keys")
            .and_then(Json::as_array)
            .map(|keys| {
                keys.iter()
                    .filter_map(Json::as_str)
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    });
    Some(Node {
        schema: (!rules.is_empty()).then(|| at.clone()),
        schema_type: schema_type(schema).to_string(),
        is_resource_root,
        rules,
        properties,
        items: items.map(Box::new),
        additional_properties: additional_properties.map(Box::new),
        map_correlatable: schema.get("x-kubernetes-map-type").and_then(Json::as_str)
            != Some("atomic"),
        list_map_keys,
    })
}

/// The rules declared at `schema` itself, compiled; errors go to `errors`.
fn compile_rules(
    env: &Env,
    schema: &Json,
    path: &str,
    is_resource_root: bool,
    uncorrelatable_within: Option<&str>,
    cardinality: Option<u64>,
    out: &mut Compilation,
) -> Vec<CompiledRule> {
    let cardinality = cardinality.unwrap_or_else(|| cost::max_cardinality(cost::min_size(schema)));
    let Compilation { errors, costs } = out;
    let Some(declared) = schema
        .get("x-kubernetes-validations")
        .and_then(Json::as_array)
    else {
        return Vec::new();
    };
    let mut compiled = Vec::new();
    for (i, declared) in declared.iter().enumerate() {
        let rule_path = format!("{path}.x-kubernetes-validations[{i}]");
        let text = |name: &str| {
            declared
                .get(name)
                .and_then(Json::as_str)
                .unwrap_or("")
                .to_string()
        };
        let rule = text("rule");
        let message = text("message");
        let message_expression = text("messageExpression");
        let reason = declared
            .get("reason")
            .and_then(Json::as_str)
            .map(String::from);
        let field_path = text("fieldPath");
        let optional_old_self = declared.get("optionalOldSelf").and_then(Json::as_bool);
        let before = errors.len();

        let trimmed_message = message.trim();
        if rule.trim().is_empty() {
            errors.push(FieldError::required(
                format!("{rule_path}.rule"),
                "rule is not specified",
            ));
        } else if !message.is_empty() && trimmed_message.is_empty() {
            errors.push(FieldError::invalid(
                format!("{rule_path}.message"),
                &message,
                "message must be non-empty if specified",
            ));
        } else if has_newlines(trimmed_message) {
            errors.push(FieldError::invalid(
                format!("{rule_path}.message"),
                &message,
                "message must not contain line breaks",
            ));
        } else if has_newlines(rule.trim()) && trimmed_message.is_empty() {
            errors.push(FieldError::required(
                format!("{rule_path}.message"),
                "message must be specified if rule contains line breaks",
            ));
        }
        if !message_expression.is_empty() && message_expression.trim().is_empty() {
            errors.push(FieldError::required(
                format!("{rule_path}.messageExpression"),
                "messageExpression must be non-empty if specified",
            ));
        }
        let kind = match reason.as_deref() {
            None | Some("FieldValueInvalid") => FieldErrorKind::Invalid,
            Some("FieldValueForbidden") => FieldErrorKind::Forbidden,
            Some("FieldValueRequired") => FieldErrorKind::Required,
            Some("FieldValueDuplicate") => FieldErrorKind::Duplicate,
            Some(other) => {
                let supported: Vec<String> =
                    SUPPORTED_REASONS.iter().map(|r| go_quote(r)).collect();
                errors.push(FieldError {
                    kind: FieldErrorKind::NotSupported,
                    field: format!("{rule_path}.reason"),
                    value: Some(go_quote(other)),
                    detail: format!("supported values: {}", supported.join(", ")),
                });
                FieldErrorKind::Invalid
            }
        };
        let mut normalized_field_path = String::new();
        if !field_path.is_empty() && field_path.trim().is_empty() {
            errors.push(FieldError::invalid(
                format!("{rule_path}.fieldPath"),
                &field_path,
                "fieldPath must be non-empty if specified",
            ));
        }
        if has_newlines(&field_path) {
            errors.push(FieldError::invalid(
                format!("{rule_path}.fieldPath"),
                &field_path,
                "fieldPath must not contain line breaks",
            ));
        }
        if !field_path.is_empty() {
            match field_path::normalize(&field_path, schema) {
                Ok(normalized) => normalized_field_path = normalized,
                Err(err) => errors.push(FieldError::invalid(
                    format!("{rule_path}.fieldPath"),
                    &field_path,
                    format!("fieldPath must be a valid path: {err}"),
                )),
            }
        }
        if errors.len() > before {
            continue;
        }

        let go_value = || {
            go_syntax(
                &rule,
                &message,
                &message_expression,
                reason.as_deref(),
                &field_path,
                optional_old_self,
            )
        };
        let rule_error = |detail: String| FieldError {
            kind: FieldErrorKind::Invalid,
            field: format!("{rule_path}.rule"),
            value: Some(go_value()),
            detail,
        };
        let message_error = |detail: String| FieldError {
            kind: FieldErrorKind::Invalid,
            field: format!("{rule_path}.messageExpression"),
            value: Some(go_value()),
            detail,
        };
        // Upstream's order: the rule is compiled (parsed and checked), must be a bool, and is
        // instantiated; then the same for the message expression, which must be a string.
        let program = match env.compile(&rule) {
            Ok(program) => program,
            Err(parse_errors) => {
                errors.push(rule_error(format!(
                    "compilation failed: {}",
                    issues(&parse_errors, &rule)
                )));
                continue;
            }
        };
        let self_ty = checker::schema_ty(schema, is_resource_root, SELF_TYPE_NAME);
        let checked = checker::check(
            &program,
            &rule,
            self_ty.clone(),
            optional_old_self == Some(true),
        );
        if let Some(issues) = checked.issues {
            errors.push(rule_error(format!("compilation failed: {issues}")));
            continue;
        }
        if !checker::may_be(&checked.result, &checker::Ty::Bool) {
            errors.push(rule_error("cel expression must evaluate to a bool".into()));
            continue;
        }
        // Upstream compiles constant `find`/`findAll` patterns when it builds the program.
        if let Some(err) = library::constant_pattern_errors(program.expression()) {
            errors.push(rule_error(format!("program instantiation failed: {err}")));
            continue;
        }
        let shape = || Shape::Schema(schema, is_resource_root);
        let rule_cost =
            cost::estimate(program.expression(), shape(), shape()).saturating_mul(cardinality);
        costs.push((format!("{rule_path}.rule"), rule_cost));
        if rule_cost > cost::STATIC_ESTIMATED_COST_LIMIT {
            errors.push(FieldError::forbidden(
                format!("{rule_path}.rule"),
                cost::cost_error_message(
                    "estimated rule cost",
                    rule_cost,
                    cost::STATIC_ESTIMATED_COST_LIMIT,
                ),
            ));
            continue;
        }
        let message_program = if message_expression.is_empty() {
            None
        } else {
            let message_program = match env.compile(&message_expression) {
                Ok(program) => program,
                Err(parse_errors) => {
                    errors.push(message_error(format!(
                        "messageExpression compilation failed: {}",
                        issues(&parse_errors, &message_expression)
                    )));
                    continue;
                }
            };
            let checked = checker::check(
                &message_program,
                &message_expression,
                self_ty,
                optional_old_self == Some(true),
            );
            if let Some(issues) = checked.issues {
                errors.push(message_error(format!(
                    "messageExpression compilation failed: {issues}"
                )));
                continue;
            }
            if !checker::may_be(&checked.result, &checker::Ty::String) {
                errors.push(message_error(
                    "messageExpression must evaluate to a string".into(),
                ));
                continue;
            }
            if let Some(err) = library::constant_pattern_errors(message_program.expression()) {
                errors.push(message_error(format!(
                    "messageExpression instantiation failed: {err}"
                )));
                continue;
            }
            let message_cost = cost::estimate(message_program.expression(), shape(), shape())
                .saturating_mul(cardinality);
            costs.push((format!("{rule_path}.messageExpression"), message_cost));
            if message_cost > cost::STATIC_ESTIMATED_COST_LIMIT {
                errors.push(FieldError::forbidden(
                    format!("{rule_path}.messageExpression"),
                    cost::cost_error_message(
                        "estimated messageExpression cost",
                        message_cost,
                        cost::STATIC_ESTIMATED_COST_LIMIT,
                    ),
                ));
                continue;
            }
            Some(message_program)
        };
        let uses_old_self = program.references().has_variable("oldSelf");
        if uses_old_self {
            if let Some(within) = uncorrelatable_within {
                errors.push(FieldError::invalid(
                    format!("{rule_path}.rule"),
                    &rule,
                    format!("oldSelf cannot be used on the uncorrelatable portion of the schema within {within}"),
                ));
                continue;
            }
        } else if let Some(optional) = optional_old_self {
            errors.push(FieldError {
                kind: FieldErrorKind::Invalid,
                field: format!("{rule_path}.optionalOldSelf"),
                value: Some(optional.to_string()),
                detail: "may not be set if oldSelf is not used in rule".into(),
            });
            continue;
        }
        compiled.push(CompiledRule {
            rule,
            message,
            message_expression: message_program,
            reason: kind,
            field_path: normalized_field_path,
            program,
            uses_old_self,
            optional_old_self: optional_old_self.unwrap_or(false),
        });
    }
    compiled
}

/// Upstream's `hasNewlines`: `[\n\r]+` (the line breaks of CEL's grammar).
fn has_newlines(text: &str) -> bool {
    text.contains(['\n', '\r'])
}

/// Parse errors in cel-go's `Issues.String()` form, one [`issue`] each.
pub(super) fn issues(parse_errors: &ParseErrors, source: &str) -> String {
    parse_errors
        .errors
        .iter()
        .map(|error| issue(error.pos.0, error.pos.1, &error.msg, source))
        .collect::<Vec<_>>()
        .join("\n")
}

/// One issue as cel-go prints it: `ERROR: <input>:1:9: <message>`, then ` | <line>` and
/// ` | ....^` (a dot per column before the caret). `line` and `column` are 1-based.
pub(super) fn issue(line: isize, column: isize, message: &str, source: &str) -> String {
    let mut out = format!("ERROR: <input>:{line}:{column}: {message}");
    let snippet = usize::try_from(line - 1)
        .ok()
        .and_then(|index| source.split('\n').nth(index));
    if let Some(snippet) = snippet {
        let dots = usize::try_from(column - 1).unwrap_or(0);
        out.push_str(&format!("\n | {snippet}\n | {}^", ".".repeat(dots)));
    }
    out
}

/// The rule as Go's `%#v` prints upstream's internal `apiextensions.ValidationRule`, which
/// upstream passes as the invalid value of compile errors. Go prints a set pointer as its
/// address; a fixed placeholder address stands in for it here.
fn go_syntax(
    rule: &str,
    message: &str,
    message_expression: &str,
    reason: Option<&str>,
    field_path: &str,
    optional_old_self: Option<bool>,
) -> String {
    let pointer = |ty: &str, set: bool| {
        if set {
            format!("({ty})(0xc000000000)")
        } else {
            format!("({ty})(nil)")
        }
    };
    format!(
        "apiextensions.ValidationRule{{Rule:{}, Message:{}, MessageExpression:{}, Reason:{}, FieldPath:{}, OptionalOldSelf:{}}}",
        go_quote(rule),
        go_quote(message),
        go_quote(message_expression),
        pointer("*apiextensions.FieldValueErrorReason", reason.is_some()),
        go_quote(field_path),
        pointer("*bool", optional_old_self.is_some()),
    )
}
