//! cel-go's sets extension (`ext.Sets()`, in the base environment since 1.29):
//! `sets.contains(list, list)`, `sets.equivalent(list, list)`, `sets.intersects(list, list)`,
//! with CEL's equality (`1 == 1.0`), duplicates and order ignored.

use cel::common::types::{CelBool, LIST_TYPE};
use cel::common::value::{CowVal, Val};
use cel::{DeclarationError, Env, ExecutionError};

pub(super) fn register(env: &mut Env) -> Result<(), DeclarationError> {
    env.add_overload(
        "sets.contains",
        "list_sets_contains_list",
        vec![LIST_TYPE, LIST_TYPE],
        contains,
    )?;
    env.add_overload(
        "sets.equivalent",
        "list_sets_equivalent_list",
        vec![LIST_TYPE, LIST_TYPE],
        equivalent,
    )?;
    env.add_overload(
        "sets.intersects",
        "list_sets_intersects_list",
        vec![LIST_TYPE, LIST_TYPE],
        intersects,
    )?;
    Ok(())
}

/// Whether every element of `sub` is in `list`.
fn contains_all(function: &str, list: &dyn Val, sub: &dyn Val) -> Result<bool, ExecutionError> {
    let overload = || {
        ExecutionError::no_such_overload(
            function,
            vec![list.get_type().name().into(), sub.get_type().name().into()],
        )
    };
    let container = list.as_container().ok_or_else(overload)?;
    let mut items = sub.as_iterable().ok_or_else(overload)?.iter();
    while let Some(item) = items.next() {
        if !container.contains(item)? {
            return Ok(false);
        }
    }
    Ok(true)
}

fn pair<'b, 'v>(
    function: &str,
    args: Vec<CowVal<'b, 'v>>,
) -> Result<[CowVal<'b, 'v>; 2], ExecutionError> {
    args.try_into()
        .map_err(|args: Vec<_>| super::no_such_overload(function, &args))
}

fn contains<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let [list, sub] = pair("sets.contains", args)?;
    let result = contains_all("sets.contains", &*list, &*sub)?;
    Ok(CowVal::owned(CelBool::from(result)))
}

fn equivalent<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let [a, b] = pair("sets.equivalent", args)?;
    let result =
        contains_all("sets.equivalent", &*a, &*b)? && contains_all("sets.equivalent", &*b, &*a)?;
    Ok(CowVal::owned(CelBool::from(result)))
}

/// Whether some element of `a` is in `b`.
fn intersects<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let [a, b] = pair("sets.intersects", args)?;
    let overload = || super::no_such_overload("sets.intersects", &[a.clone(), b.clone()]);
    let container = b.as_container().ok_or_else(overload)?;
    let mut items = a.as_iterable().ok_or_else(overload)?.iter();
    while let Some(item) = items.next() {
        if container.contains(item)? {
            return Ok(CowVal::owned(CelBool::from(true)));
        }
    }
    Ok(CowVal::owned(CelBool::from(false)))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{assert_errors, assert_true};

    /// cel-go's `ext/sets_test.go` cases.
    #[test]
    fn cel_go_examples() {
        assert_true(&[
            "sets.contains([], [])",
            "sets.contains([1], [])",
            "sets.contains([1], [1])",
            "sets.contains([1], [1, 1])",
            "sets.contains([1, 1], [1])",
            "sets.contains([2, 1], [1])",
            "sets.contains([1], [1.0, 1u])",
            "sets.contains([1, 2], [2u, 2.0])",
            "sets.contains([1, 2u], [2, 2.0])",
            "!sets.contains([1], [2])",
            "!sets.contains([1], [1, 2])",
            "!sets.contains([1], ['1', 1])",
            "!sets.contains([1], [1.1, 1u])",
            "sets.contains([[1], [2, 3]], [[2, 3]])",
            "!sets.contains([[1], [2], [3]], [[2, 3]])",
            "sets.contains([{'a': 1}], [{'a': 1}])",
            "sets.equivalent([], [])",
            "sets.equivalent([1], [1])",
            "sets.equivalent([1], [1, 1])",
            "sets.equivalent([1, 1, 2], [2, 2, 1])",
            "sets.equivalent([1, 1], [1])",
            "sets.equivalent([1], [1u, 1.0])",
            "sets.equivalent([1, 2, 3], [3u, 2.0, 1])",
            "!sets.equivalent([2, 1], [1])",
            "!sets.equivalent([1], [1, 2])",
            "!sets.equivalent([1, 2], [2u, 2, 2.0])",
            "!sets.equivalent([1, 2], [1u, 2, 2.3])",
            "sets.intersects([1], [1])",
            "sets.intersects([1], [1, 1])",
            "sets.intersects([1, 1], [1])",
            "sets.intersects([2, 1], [1])",
            "sets.intersects([1], [1, 2])",
            "sets.intersects([1], [1.0, 2])",
            "sets.intersects([1, 2], [2u, 2, 2.0])",
            "sets.intersects([1, 2], [1u, 2, 2.3])",
            "!sets.intersects([], [])",
            "!sets.intersects([1], [])",
            "!sets.intersects([1], [2])",
            "!sets.intersects([1], ['1', 2])",
            "!sets.intersects([1], [1.1, 2u])",
        ]);
    }

    #[test]
    fn non_lists_are_no_overload() {
        assert_errors(&[("sets.contains(1, [1])", "no such overload")]);
    }
}
