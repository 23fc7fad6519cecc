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
//! * no cost estimation or runtime cost budget;
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
mod escaping;
mod evaluate;
mod field_path;
mod library;

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
        let mut errors = Vec::new();
        let at = compile::SchemaAt::root(typing);
        let root = compile::compile_node(&env, schema, &at, path_prefix, true, None, &mut errors);
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
        let mut errors = Vec::new();
        let unchanged = old == Some(new);
        evaluate::validate_node(&context, &self.root, "", new, old, unchanged, &mut errors);
        errors
    }
}
