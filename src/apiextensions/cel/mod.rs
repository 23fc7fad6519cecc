//! CEL validation rules of custom resources (`x-kubernetes-validations`), after upstream's
//! `apiextensions-apiserver/pkg/apiserver/schema/cel` (`compilation.go`, `validation.go`) and
//! the rule checks of `apiextensions-apiserver/pkg/apis/apiextensions/validation/validation.go`.
//!
//! [`CelValidator::compile`] compiles every rule of a CRD version's `openAPIV3Schema` once (at
//! the root, under `properties`, `items` and `additionalProperties`), reporting CRD validation
//! errors with upstream's paths and texts; [`CelValidator::validate`] runs them over a custom
//! resource on create (`old` is `None`) and update.
//!
//! Supported: the CEL standard library and macros (`has`, `all`, `exists`, `exists_one`, `map`,
//! `filter`), `matches`, cel-go's strings extension (`lowerAscii`, `upperAscii`, `indexOf`,
//! `lastIndexOf`, `replace`, `split`, `substring`, `trim`, `join`, `format`, ...), the lists
//! extension (`slice`, `flatten`, `distinct`, `sort`, ...), and the Kubernetes libraries of
//! kube-apiserver 1.33's base environment (`library`): URLs, regex (`find`, `findAll`), lists
//! (`isSorted`, `sum`, `min`, `max`, `indexOf`, `lastIndexOf`), quantity, cel-go's sets, IP,
//! CIDR, format and semver; `duration` and `timestamp` with their methods (`format:
//! date-time`/`date` values are timestamps, `duration` values durations, `byte` values bytes);
//! property names escaped as upstream (`self.__namespace__`, `self.x__dash__y`); `message`,
//! `messageExpression`, `reason`, `fieldPath`, transition rules with `oldSelf` (map entries and
//! `x-kubernetes-list-type: map` items correlated by key), `optionalOldSelf`, and ratcheting (a
//! rule without `oldSelf` does not fail an update that leaves its value unchanged).
//!
//! NOT DONE (differences from upstream):
//! * rules are type-checked ([`checker`]) with cel-go's error texts, but the checker is lenient
//!   where it cannot be certain: int-or-string, preserve-unknown-fields and untyped values, and
//!   objects without declared `properties` (upstream: objects with no fields, whose fields are
//!   undefined), are `dyn`; objects also pass where maps are expected (`size(self)`, `'a' in
//!   self`, `self['a']`), which upstream refuses; `null` matches any type in `==`/`!=`; a rule
//!   whose result is `dyn` is accepted (upstream requires exactly `bool`, and `string` for
//!   `messageExpression`); a member call may resolve to a global overload; struct literals are
//!   not checked. Object types print as `selfType0.spec...` where upstream's root name is
//!   `selfType<clock nanoseconds>`;
//! * one environment for new and stored rules: upstream 1.33 compiles rules a CRD write adds
//!   against its compatibility version's environment (1.32 by default), which lacks the semver
//!   library, so it rejects new rules calling `semver`/`isSemver` that this accepts;
//! * costs ([`cost`]) are estimated after cel-go's estimator but not identically: sizes the
//!   estimator cannot tell (results of most functions, `metadata`) count as 1 where cel-go
//!   counts them unbounded, the costs of the Kubernetes libraries' functions are approximated
//!   (a tenth of the strings they read, a list's size for list functions, its square for
//!   `sort`/`distinct`, the product of sizes for `sets`), and upstream's per-expression cost
//!   check is not suppressed for versions whose schema did not change on update. Estimates
//!   over the limits are refused with upstream's messages (`StaticEstimatedCostLimit` per
//!   expression times its node's cardinality, `StaticEstimatedCRDCostLimit` for the CRD);
//! * runtime cost is not counted (the interpreter cannot): before each evaluation, the rule's
//!   cost is estimated over the actual sizes of `self` and `oldSelf` (string lengths, list and
//!   map sizes), an upper bound of its actual cost, and the rule is not run when that is over
//!   `PerCallLimit`, or over what is left of the object's `RuntimeCELCostBudget` (which the
//!   estimates are taken from), with upstream's errors. `messageExpression` evaluations are
//!   not charged to the budget;
//! * rules under `allOf` are not run; ratcheted failures (unchanged values) are dropped, not
//!   returned as warnings;
//! * `sum`, `min` and `max` do not take lists of durations or timestamps; cel-go's two-variable
//!   comprehensions (`all(k, v, ...)`, `transformList`, ...; base environment 1.32) and the
//!   authorizer libraries (no `authorizer` in CRD rules) are missing;
//! * `matches` keeps the `regex` crate's meaning and errors (Unicode `\d`, `\w`, `\s`, `\b`; an
//!   invalid constant pattern fails at runtime), where `find`/`findAll` follow Go's; URLs
//!   follow Go 1.24's `net/url` without its later security fixes for bracketed hosts;
//!   quantities whose decimal scales lie over 100000 digits apart fail to add, where upstream
//!   computes (or exhausts memory computing) the exact result;
//! * compile-error texts follow cel-go's form, but the parser's own wording of syntax errors
//!   may differ from cel-go's.

mod checker;
mod compile;
mod convert;
mod cost;
mod escaping;
mod evaluate;
pub mod expression;
mod field_path;
mod library;

#[cfg(test)]
mod hostile_input_tests;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use cel::Env;

use crate::catalog::Typing;
use serde_json::Value as Json;

use crate::registry::validation::FieldError;

/// The compiled `x-kubernetes-validations` rules of one CRD version's schema.
pub struct CelValidator {
    env: Arc<Env>,
    root: compile::Node,
}

impl std::fmt::Debug for CelValidator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CelValidator").finish_non_exhaustive()
    }
}

impl CelValidator {
    /// Compiles every rule of `schema` (a CRD version's `schema.openAPIV3Schema`), whose field
    /// path in the CRD is `path_prefix` (`spec.versions[0].schema.openAPIV3Schema`).
    ///
    /// MUST return `Ok(None)` when the schema has no rule, and every CRD validation error the
    /// rules have (paths such as
    /// `spec.versions[0].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule`)
    /// when any has one. Rules are parsed here once, never per request.
    pub fn compile(
        schema: &Json,
        path_prefix: &str,
    ) -> Result<Option<CelValidator>, Vec<FieldError>> {
        let typing = Arc::new(Typing::from_schema(schema));
        Self::compile_sharing(schema, typing, path_prefix)
    }

    /// [`CelValidator::compile`], converting values by `typing`, the schema's typing tree shared
    /// with whoever else keeps it.
    pub fn compile_sharing(
        schema: &Json,
        typing: Arc<Typing>,
        path_prefix: &str,
    ) -> Result<Option<CelValidator>, Vec<FieldError>> {
        let env = compile::environment();
        let mut out = compile::Compilation::default();
        let at = compile::SchemaAt::root(typing);
        let root = compile::compile_node(&env, schema, &at, path_prefix, None, Some(1), &mut out);
        let mut errors = out.errors;
        errors.extend(total_cost_errors(&out.costs, path_prefix));
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(root.map(|root| CelValidator { env, root }))
    }

    /// Runs every rule over `new`, a custom resource after pruning and defaulting; `old` is the
    /// stored object on update, `None` on create.
    ///
    /// MUST bind `self` to the value at each rule's node (each list item and map entry below a
    /// list or map), skip transition rules where no old value correlates (on create, new map
    /// entries, new map-list items, any item of other lists) unless `optionalOldSelf`, and
    /// report failures as upstream: root errors have an empty field (printed `<nil>`), others
    /// paths such as `spec.ports[0]`. On update, failures of rules without `oldSelf` on values
    /// that did not change are dropped (upstream's ratcheting, which returns them as warnings).
    pub fn validate(&self, new: &Json, old: Option<&Json>) -> Vec<FieldError> {
        let context = evaluate::root_context(&self.env);
        let mut out = evaluate::Outcome {
            errors: Vec::new(),
            budget: cost::RUNTIME_CEL_COST_BUDGET,
        };
        let unchanged = old == Some(new);
        evaluate::validate_node(&context, &self.root, "", new, old, unchanged, &mut out);
        out.errors
    }
}

/// Upstream's check of the CRD's total estimated cost (`TotalCost`): over
/// `StaticEstimatedCRDCostLimit`, the (at most 4) most expensive expressions, of those costing
/// 1% of the per-expression limit or more, are each forbidden, then the schema itself.
fn total_cost_errors(costs: &[(String, u64)], path_prefix: &str) -> Vec<FieldError> {
    let total = costs
        .iter()
        .fold(0u64, |total, (_, cost)| total.saturating_add(*cost));
    if total <= cost::STATIC_ESTIMATED_CRD_COST_LIMIT {
        return Vec::new();
    }
    let mut expensive: Vec<&(String, u64)> = costs
        .iter()
        .filter(|(_, cost)| *cost >= cost::STATIC_ESTIMATED_COST_LIMIT / 100)
        .collect();
    expensive.sort_by_key(|(_, cost)| std::cmp::Reverse(*cost));
    expensive.truncate(4);
    let mut errors: Vec<FieldError> = expensive
        .into_iter()
        .map(|(path, _)| {
            FieldError::forbidden(
                path.clone(),
                "contributed to estimated rule cost total exceeding cost limit for entire OpenAPIv3 schema",
            )
        })
        .collect();
    errors.push(FieldError::forbidden(
        path_prefix.to_string(),
        cost::cost_error_message(
            "x-kubernetes-validations estimated rule cost total for entire OpenAPIv3 schema",
            total,
            cost::STATIC_ESTIMATED_CRD_COST_LIMIT,
        ),
    ));
    errors
}
