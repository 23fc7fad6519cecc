//! The lists library (`apiserver/pkg/cel/library/lists.go`): the list members `isSorted`, `sum`,
//! `min`, `max`, `indexOf` and `lastIndexOf`.
//!
//! Upstream declares `sum` for lists of `int`, `uint`, `double` and `duration`, and `isSorted`,
//! `min`, `max` for lists of comparable types; its checker rejects the others. Here the element
//! types are checked when the function runs: a list of other elements is a "no such overload"
//! error. (`duration`s are not values here: the environment has no `duration` type.)

use std::cmp::Ordering;

use cel::common::traits::Iterable;
use cel::common::types::{CelBool, CelInt, Kind, DYN_TYPE, LIST_TYPE};
use cel::common::value::{CowVal, Val};
use cel::{DeclarationError, Env, ExecutionError};

pub(super) fn register(env: &mut Env) -> Result<(), DeclarationError> {
    env.add_member_overload(
        "isSorted",
        "list_is_sorted_bool",
        LIST_TYPE,
        vec![],
        is_sorted,
    )?;
    env.add_member_overload("sum", "list_sum", LIST_TYPE, vec![], sum)?;
    env.add_member_overload("min", "list_min", LIST_TYPE, vec![], min)?;
    env.add_member_overload("max", "list_max", LIST_TYPE, vec![], max)?;
    env.add_member_overload(
        "indexOf",
        "list_a_index_of_int",
        LIST_TYPE,
        vec![DYN_TYPE],
        index_of,
    )?;
    env.add_member_overload(
        "lastIndexOf",
        "list_a_last_index_of_int",
        LIST_TYPE,
        vec![DYN_TYPE],
        last_index_of,
    )?;
    Ok(())
}

/// The elements of the receiver, a list.
fn elements<'b, 'v>(
    function: &str,
    list: &'b (dyn Val + 'v),
) -> Result<Vec<&'b (dyn Val + 'v)>, ExecutionError> {
    let iterable: &(dyn Iterable + 'v) = list.as_iterable().ok_or_else(|| {
        ExecutionError::no_such_member_overload(function, vec![list.get_type().name().into()])
    })?;
    let mut items = iterable.iter();
    let mut elements = Vec::new();
    while let Some(item) = items.next() {
        elements.push(item);
    }
    Ok(elements)
}

/// The receiver of a member function without arguments.
fn receiver<'b, 'v>(
    function: &str,
    args: Vec<CowVal<'b, 'v>>,
) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let [list]: [CowVal<'b, 'v>; 1] = args
        .try_into()
        .map_err(|args: Vec<_>| super::no_such_overload(function, &args))?;
    Ok(list)
}

/// Whether values of this kind are comparable, as upstream's `comparableTypes`.
fn comparable(value: &dyn Val) -> bool {
    matches!(
        value.get_type().kind(),
        Kind::Int
            | Kind::UInt
            | Kind::Double
            | Kind::Boolean
            | Kind::Duration
            | Kind::Timestamp
            | Kind::String
            | Kind::Bytes
    )
}

/// `a` compared to `b`; elements of no comparable type are "no such overload".
fn compare(function: &str, a: &dyn Val, b: &dyn Val) -> Result<Ordering, ExecutionError> {
    let overload = || {
        ExecutionError::no_such_member_overload(
            function,
            vec!["list".into(), a.get_type().name().into()],
        )
    };
    if !comparable(a) || !comparable(b) {
        return Err(overload());
    }
    a.as_comparer().ok_or_else(overload)?.compare(b)
}

/// `list.isSorted()`: each element is at most the next.
fn is_sorted<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let list = receiver("isSorted", args)?;
    let elements = elements("isSorted", &*list)?;
    for pair in elements.windows(2) {
        if compare("isSorted", pair[0], pair[1])? == Ordering::Greater {
            return Ok(CowVal::owned(CelBool::from(false)));
        }
    }
    if let [single] = elements.as_slice() {
        compare("isSorted", *single, *single)?;
    }
    Ok(CowVal::owned(CelBool::from(true)))
}

/// `list.sum()`: the sum of ints, uints or doubles; `0` for an empty list.
fn sum<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let list = receiver("sum", args)?;
    let elements = elements("sum", &*list)?;
    let Some((first, rest)) = elements.split_first() else {
        return Ok(CowVal::owned(CelInt::from(0)));
    };
    let summable = |value: &dyn Val| {
        matches!(
            value.get_type().kind(),
            Kind::Int | Kind::UInt | Kind::Double | Kind::Duration
        )
    };
    let overload = |value: &dyn Val| {
        ExecutionError::no_such_member_overload(
            "sum",
            vec!["list".into(), value.get_type().name().into()],
        )
    };
    if !summable(*first) {
        return Err(overload(*first));
    }
    let mut total: Box<dyn Val + 'v> = first.clone_as_boxed();
    for element in rest {
        if element.get_type() != first.get_type() {
            return Err(overload(*element));
        }
        let adder = total.as_adder().ok_or_else(|| overload(*element))?;
        let next = adder.add(*element)?.into_owned();
        total = next;
    }
    Ok(CowVal::Owned(total))
}

/// `list.min()`: the least element, the first of equal ones; an error for an empty list.
fn min<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    extreme("min", args, Ordering::Greater)
}

/// `list.max()`: the greatest element, the first of equal ones; an error for an empty list.
fn max<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    extreme("max", args, Ordering::Less)
}

/// The element that the current best compares `replace_when` to, in turn.
fn extreme<'b, 'v>(
    function: &str,
    args: Vec<CowVal<'b, 'v>>,
    replace_when: Ordering,
) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let list = receiver(function, args)?;
    let elements = elements(function, &*list)?;
    let Some((&first, rest)) = elements.split_first() else {
        return Err(super::error(
            function,
            format!("{function} called on empty list"),
        ));
    };
    let mut best = first;
    compare(function, best, best)?;
    for &element in rest {
        if compare(function, best, element)? == replace_when {
            best = element;
        }
    }
    Ok(CowVal::Owned(best.clone_as_boxed()))
}

/// The receiver and the argument of `indexOf` and `lastIndexOf`.
fn list_and_item<'b, 'v>(
    function: &str,
    args: Vec<CowVal<'b, 'v>>,
) -> Result<[CowVal<'b, 'v>; 2], ExecutionError> {
    args.try_into()
        .map_err(|args: Vec<_>| super::no_such_overload(function, &args))
}

/// `list.indexOf(x)`: the index of the first element equal to `x`, or -1.
fn index_of<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let [list, item] = list_and_item("indexOf", args)?;
    let elements = elements("indexOf", &*list)?;
    let index = elements.iter().position(|element| element.equals(&*item));
    Ok(CowVal::owned(CelInt::from(index.map_or(-1, |i| i as i64))))
}

/// `list.lastIndexOf(x)`: the index of the last element equal to `x`, or -1.
fn last_index_of<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let [list, item] = list_and_item("lastIndexOf", args)?;
    let elements = elements("lastIndexOf", &*list)?;
    let index = elements.iter().rposition(|element| element.equals(&*item));
    Ok(CowVal::owned(CelInt::from(index.map_or(-1, |i| i as i64))))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{assert_errors, assert_true, eval};

    /// Upstream's "stdlib list functions" cases (`apiextensions-apiserver` `validation_test.go`)
    /// on the types this environment has.
    #[test]
    fn upstream_examples() {
        assert_true(&[
            "[1, 2, 2, 3].sum() == 8",
            "[1, 2, 2, 3].min() == 1",
            "[1, 2, 2, 3].max() == 3",
            "[].sum() == 0",
            "[1, 2, 2, 3].isSorted()",
            "[].isSorted()",
            "[2, 1].isSorted() == false",
            "[1, 2, 2, 3].indexOf(2) == 1",
            "[1, 2, 2, 3].lastIndexOf(2) == 2",
            "[1, 2, 2, 3].indexOf(10) == -1",
            "[1, 2, 2, 3].lastIndexOf(10) == -1",
            "[1.0, 2.0, 2.0, 3.0].sum() == 8.0",
            "[1.0, 2.0, 2.0, 3.0].min() == 1.0",
            "[1.0, 2.0, 2.0, 3.0].max() == 3.0",
            "[1.0, 2.0, 2.0, 3.0].isSorted()",
            "[2.0, 1.0].isSorted() == false",
            "[1.0, 2.0, 2.0, 3.0].indexOf(2.0) == 1",
            "[1.0, 2.0, 2.0, 3.0].lastIndexOf(2.0) == 2",
            "[1.0, 2.0, 2.0, 3.0].indexOf(10.0) == -1",
            "[1u, 2u].sum() == 3u",
            "['a', 'b', 'b', 'c'].min() == 'a'",
            "['a', 'b', 'b', 'c'].max() == 'c'",
            "['a', 'b', 'b', 'c'].isSorted()",
            "['b', 'a'].isSorted() == false",
            "['a', 'b', 'b', 'c'].indexOf('b') == 1",
            "['a', 'b', 'b', 'c'].lastIndexOf('b') == 2",
            "['a', 'b', 'b', 'c'].indexOf('x') == -1",
            "[[1], [2]].indexOf([1]) == 0",
            "[{'a': 1}, {'b': 2}].lastIndexOf({'b': 2}) == 1",
            "([0] + []).min() == 0",
            "dyn([]).sum() == 0",
            "dyn([1, 2]).sum() == 3",
            "dyn([1.0, 2.0]).sum() == 3.0",
            "[true, false].min() == false && [b'a', b'b'].max() == b'b'",
        ]);
    }

    #[test]
    fn errors_are_upstream_texts() {
        assert_errors(&[
            ("[].min() == 1", "min called on empty list"),
            ("[].max() == 3", "max called on empty list"),
            ("['a', 'b'].sum() == 'c'", "no such overload"),
            ("[[1], [2]].min() == [1]", "no such overload"),
            ("[{'a': 1}, {'b': 2}].max() == {'b': 2}", "no such overload"),
            ("[[1]].isSorted()", "no such overload"),
            ("[1, 2.0].sum() == 3.0", "no such overload"),
            ("[9223372036854775807, 1].sum() == 0", "integer overflow"),
        ]);
    }

    #[test]
    fn the_first_of_equal_elements_is_kept() {
        assert_eq!(eval("[1, 1.0].min()"), Ok(cel::Value::Int(1)));
        assert_eq!(eval("[1.0, 1].max()"), Ok(cel::Value::Float(1.0)));
    }
}
