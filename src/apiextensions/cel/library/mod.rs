//! The Kubernetes CEL libraries of kube-apiserver 1.33's base environment
//! (`apiserver/pkg/cel/environment/base.go`), as CRD validation rules see them: upstream's
//! function names, overloads, semantics and error texts, declared on the [`Env`] so that names
//! resolve as the standard library's do.
//!
//! | library | since | file |
//! |---|---|---|
//! | URLs (`url`, `isURL`, `getHost`, ...) | 1.0 | [`urls`] |
//! | regex (`find`, `findAll`) | 1.0 | [`regex`] |
//! | lists (`isSorted`, `sum`, `min`, `max`, `indexOf`, `lastIndexOf`) | 1.0 | [`lists`] |
//! | quantity (`quantity`, `isQuantity`, `add`, `compareTo`, ...) | 1.28 | [`quantity`] |
//! | cel-go's sets (`sets.contains`, `sets.equivalent`, `sets.intersects`) | 1.29 | [`sets`] |
//! | IP (`ip`, `isIP`, `ip.isCanonical`, `family`, ...) | 1.30 | [`ip`] |
//! | CIDR (`cidr`, `isCIDR`, `containsIP`, `masked`, ...) | 1.30 | [`cidr`] |
//! | format (`format.dns1123Label()`, `format.named`, `validate`) | 1.31 | [`format`] |
//! | semver, version 1 (`semver`, `isSemver`, with `normalize`) | 1.33 | [`semver`] |
//!
//! Not here: the authorizer libraries (no `authorizer` variable in CRD rules), and cel-go's
//! two-variable comprehensions (1.32).
//!
//! Each library's values are opaque CEL types named as upstream's (`net.IP`, `net.CIDR`,
//! `kubernetes.URL`, `kubernetes.Quantity`, `kubernetes.Semver`, `kubernetes.NamedFormat`), so
//! `type(ip('::1')) == net.IP` holds; they compare with `==` as upstream's do, and have no
//! other operators.

/// Implements [`Val`](cel::common::value::Val) for a library's value type: an opaque CEL type
/// of upstream's name, equality by the Rust type's `PartialEq`, and downcasts (`StaticVal`).
macro_rules! opaque_value {
    ($rust:ty, $name:literal) => {
        impl cel::common::value::Val for $rust {
            fn get_type(&self) -> &cel::common::types::Type {
                <Self as cel::common::value::Val>::cel_type()
            }

            fn cel_type() -> &'static cel::common::types::Type {
                static TYPE: std::sync::LazyLock<cel::common::types::Type> =
                    std::sync::LazyLock::new(|| cel::common::types::Type::new_opaque_type($name));
                &TYPE
            }

            fn equals(&self, other: &dyn cel::common::value::Val) -> bool {
                other
                    .downcast_ref::<Self>()
                    .is_some_and(|other| self == other)
            }

            fn clone_as_boxed<'v>(&self) -> Box<dyn cel::common::value::Val + 'v>
            where
                Self: 'v,
            {
                Box::new(self.clone())
            }

            fn as_any(&self) -> Option<&dyn std::any::Any> {
                Some(self)
            }
        }

        impl cel::common::value::StaticVal for $rust {}
    };
}

mod cidr;
mod format;
mod gourl;
mod ip;
mod lists;
mod netip;
mod quantity;
mod regex;
mod semver;
mod sets;
mod urls;

use cel::common::types::{CelList, CelString};
use cel::common::value::{CowVal, Val};
use cel::{DeclarationError, Env, ExecutionError};

pub(super) use regex::constant_pattern_errors;

/// The qualified names of the libraries' types, which rules may name (`type(x) == net.IP`).
pub(super) const TYPE_NAMES: &[&str] = &[
    "net.IP",
    "net.CIDR",
    "kubernetes.URL",
    "kubernetes.Quantity",
    "kubernetes.Semver",
    "kubernetes.NamedFormat",
];

/// Declares every library on `env`, a standard environment with cel-go's strings and lists
/// extensions.
pub(super) fn register(env: &mut Env) -> Result<(), DeclarationError> {
    urls::register(env)?;
    regex::register(env)?;
    lists::register(env)?;
    quantity::register(env)?;
    sets::register(env)?;
    ip::register(env)?;
    cidr::register(env)?;
    format::register(env)?;
    semver::register(env)?;
    Ok(())
}

/// An error raised by a library function, shown to users as `message` alone (cel-go's
/// `types.NewErr`).
fn error(function: &str, message: impl ToString) -> ExecutionError {
    ExecutionError::function_error(function, message)
}

/// cel-go's "no such overload" for a call whose arguments a function cannot take.
fn no_such_overload(function: &str, args: &[CowVal<'_, '_>]) -> ExecutionError {
    ExecutionError::no_such_overload(
        function,
        args.iter()
            .map(|arg| arg.get_type().name().to_owned())
            .collect(),
    )
}

/// A `list(string)`.
fn string_list(items: impl IntoIterator<Item = String>) -> CelList<'static> {
    let items: Vec<Box<dyn Val>> = items
        .into_iter()
        .map(|item| Box::new(CelString::from(item)) as Box<dyn Val>)
        .collect();
    CelList::from(items)
}

#[cfg(test)]
mod testing {
    //! Evaluating expressions in the environment rules are compiled and run in.

    use super::super::{compile, evaluate};

    /// The value of `expr`, or the text of its error as a CRD rule's failure shows it
    /// (before ` evaluating rule: ...`).
    pub(super) fn eval(expr: &str) -> Result<cel::Value, String> {
        let env = compile::environment();
        let program = env
            .compile(expr)
            .unwrap_or_else(|e| panic!("{expr} does not parse: {e:?}"));
        let context = evaluate::root_context(&env);
        program
            .execute(&context)
            .map_err(|err| evaluate::error_text(&err))
    }

    /// Every expression evaluates to `true`.
    pub(super) fn assert_true(exprs: &[&str]) {
        for expr in exprs {
            assert_eq!(eval(expr), Ok(cel::Value::Bool(true)), "{expr}");
        }
    }

    /// Every expression fails with exactly its error text.
    pub(super) fn assert_errors(cases: &[(&str, &str)]) {
        for (expr, error) in cases {
            assert_eq!(eval(expr), Err(error.to_string()), "{expr}");
        }
    }
}
