//! The order of a merged list, as upstream's `normalizeElementOrder` sets it.
//!
//! A merged list is split into the items the patch names ("patch items") and the rest ("server-only
//! items"). Patch items take the patch's order (or `$setElementOrder`'s), server-only items keep the
//! live order, and the two are interleaved by the live order where both sides are in the live list;
//! where they are not, the patch item goes first. The result: an item the patch adds to a list lands
//! *before* the live items, unless `$setElementOrder` places it (as `kubectl apply` always does).

use serde_json::{Map, Value};

use super::values::{go_equal, go_format, GoKind};
use super::PatchError;

/// `mergepatch.ErrNoMergeKey`.
pub(super) fn no_merge_key(item: &Map<String, Value>, merge_key: &str) -> PatchError {
    PatchError::Internal(format!(
        "map: {} does not contain declared merge key: {merge_key}",
        go_format(&Value::Object(item.clone()))
    ))
}

/// `mergepatch.ErrBadArgType`.
pub(super) fn bad_arg_type(expected: GoKind, actual: &Value) -> PatchError {
    PatchError::Internal(format!(
        "expected a {}, but received a {}",
        expected.type_name(),
        GoKind::of(actual).type_name()
    ))
}

/// The value an item is identified by: its merge key's value for maps, the item itself otherwise.
/// A missing key reads as `nil`, as in Go.
fn identity<'a>(item: &'a Value, merge_key: &str, kind: GoKind) -> Option<&'a Value> {
    if kind == GoKind::Map {
        item.as_object()
            .and_then(|map| map.get(merge_key))
            .filter(|value| !value.is_null())
    } else {
        Some(item)
    }
}

/// The position of `item` in `list` by identity, as upstream's `index`.
fn index_of(list: &[Value], item: &Value, merge_key: &str, kind: GoKind) -> Option<usize> {
    let wanted = identity(item, merge_key, kind);
    list.iter().position(
        |candidate| match (identity(candidate, merge_key, kind), wanted) {
            (Some(left), Some(right)) => go_equal(left, right),
            (None, None) => true,
            _ => false,
        },
    )
}

/// Whether the map `item` carries `$patch: delete`.
fn is_delete_directive(item: &Value) -> bool {
    item.get(super::DIRECTIVE_MARKER).and_then(Value::as_str) == Some(super::DELETE_DIRECTIVE)
}

/// Checks that every item is a map holding the merge key.
fn validate_merge_key(merge_key: &str, lists: [&[Value]; 2]) -> Result<(), PatchError> {
    for item in lists.into_iter().flatten() {
        let Some(map) = item.as_object() else {
            return Err(bad_arg_type(GoKind::Map, item));
        };
        if !map.contains_key(merge_key) {
            return Err(no_merge_key(map, merge_key));
        }
    }
    Ok(())
}

/// Sorts `to_sort` by the positions of its items in `order` (upstream's `normalizeSliceOrder`);
/// `$patch: delete` items move to the end.
fn normalize_slice_order(
    to_sort: Vec<Value>,
    order: &[Value],
    merge_key: &str,
    kind: GoKind,
) -> Result<Vec<Value>, PatchError> {
    let (mut sorted, deletions): (Vec<Value>, Vec<Value>) = if kind == GoKind::Map {
        validate_merge_key(merge_key, [to_sort.as_slice(), order])?;
        to_sort
            .into_iter()
            .partition(|item| !is_delete_directive(item))
    } else {
        (to_sort, Vec::new())
    };
    // Go's `sort.SliceStable` with upstream's comparator, which calls "less" any pair of which one is
    // missing from `order`; an insertion sort reproduces it exactly for lists of up to 20 items and
    // is an ordinary stable sort whenever every item is in `order`.
    let positions: Vec<Option<usize>> = sorted
        .iter()
        .map(|item| index_of(order, item, merge_key, kind))
        .collect();
    let mut permutation: Vec<usize> = (0..sorted.len()).collect();
    let less = |left: usize, right: usize| match (positions[left], positions[right]) {
        (Some(left), Some(right)) => left < right,
        _ => true,
    };
    for current in 1..permutation.len() {
        let mut slot = current;
        while slot > 0 && less(permutation[slot], permutation[slot - 1]) {
            permutation.swap(slot, slot - 1);
            slot -= 1;
        }
    }
    let mut taken: Vec<Option<Value>> = sorted.drain(..).map(Some).collect();
    let mut result: Vec<Value> = permutation
        .into_iter()
        .filter_map(|index| taken[index].take())
        .collect();
    result.extend(deletions);
    Ok(result)
}

/// Interleaves server-only items (`left`) into patch items (`right`) by `server_order`, as
/// upstream's `mergeSortedSlice`.
fn merge_sorted(
    left: Vec<Value>,
    right: Vec<Value>,
    server_order: &[Value],
    merge_key: &str,
    kind: GoKind,
) -> Vec<Value> {
    let mut result = Vec::with_capacity(left.len() + right.len());
    let mut left = left.into_iter().peekable();
    let mut right = right.into_iter().peekable();
    loop {
        let take_left = match (left.peek(), right.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(l), Some(r)) => {
                match (
                    index_of(server_order, l, merge_key, kind),
                    index_of(server_order, r, merge_key, kind),
                ) {
                    (Some(li), Some(ri)) => li < ri,
                    _ => false,
                }
            }
        };
        let next = if take_left { left.next() } else { right.next() };
        result.extend(next);
    }
    result
}

/// Orders a merged list: `patch_items` by `patch_order`, `server_only` by `server_order`, then
/// interleaved (upstream's `normalizeElementOrder`).
pub(super) fn normalize_element_order(
    patch_items: Vec<Value>,
    server_only: Vec<Value>,
    patch_order: &[Value],
    server_order: &[Value],
    merge_key: &str,
    kind: GoKind,
) -> Result<Vec<Value>, PatchError> {
    let patch_items = normalize_slice_order(patch_items, patch_order, merge_key, kind)?;
    let server_only = normalize_slice_order(server_only, server_order, merge_key, kind)?;
    Ok(merge_sorted(
        server_only,
        patch_items,
        server_order,
        merge_key,
        kind,
    ))
}

/// Splits `merged` into the items present in `present` and the rest, by merge key for maps
/// (upstream's `partitionMapsByPresentInList`) or by value for primitives (when `merge_key` is
/// empty, `partitionPrimitivesByPresentInList`).
pub(super) fn partition_by_presence(
    merged: Vec<Value>,
    present: &[Value],
    merge_key: &str,
) -> Result<(Vec<Value>, Vec<Value>), PatchError> {
    let mut in_present = Vec::new();
    let mut absent = Vec::new();
    for item in merged {
        let found = if merge_key.is_empty() {
            present.iter().any(|candidate| go_equal(candidate, &item))
        } else {
            let Some(map) = item.as_object() else {
                return Err(bad_arg_type(GoKind::Map, &item));
            };
            let Some(key_value) = map.get(merge_key) else {
                return Err(no_merge_key(map, merge_key));
            };
            find_by_key(present, merge_key, key_value)?.is_some()
        };
        if found {
            in_present.push(item);
        } else {
            absent.push(item);
        }
    }
    Ok((in_present, absent))
}

/// The index of the first map in `list` whose `key` equals `value` (upstream's
/// `findMapInSliceBasedOnKeyValue`); every item must be a map.
pub(super) fn find_by_key(
    list: &[Value],
    key: &str,
    value: &Value,
) -> Result<Option<usize>, PatchError> {
    for (index, item) in list.iter().enumerate() {
        let Some(map) = item.as_object() else {
            return Err(PatchError::Internal(format!(
                "value for key {index} is not a map."
            )));
        };
        if map
            .get(key)
            .is_some_and(|candidate| go_equal(candidate, value))
        {
            return Ok(Some(index));
        }
    }
    Ok(None)
}

/// Removes duplicates the way upstream's `deduplicateScalars` does: a later duplicate is overwritten
/// by the last item, which is what later ordering is computed from.
pub(super) fn deduplicate_scalars(mut items: Vec<Value>) -> Vec<Value> {
    if items.is_empty() {
        return items;
    }
    let mut last = items.len() - 1;
    let mut first = 0;
    while first < last {
        let mut second = first + 1;
        while second <= last {
            if go_equal(&items[first], &items[second]) {
                items.swap(second, last);
                items.truncate(last);
                last -= 1;
            } else {
                second += 1;
            }
        }
        first += 1;
    }
    items
}

/// The common element kind of lists (upstream's `sliceElementType`): lists of lists are refused,
/// and all items must share one kind. `None` when the lists hold no items.
pub(super) fn element_kind(lists: [&[Value]; 2]) -> Result<Option<GoKind>, PatchError> {
    let mut kind = None;
    for item in lists.into_iter().flatten() {
        let current = GoKind::of(item);
        match kind {
            None if current == GoKind::Slice => {
                return Err(PatchError::Unprocessable(super::NO_LIST_OF_LISTS.into()))
            }
            None => kind = Some(current),
            Some(previous) if previous != current => {
                let shown: Vec<Value> = lists
                    .iter()
                    .map(|list| Value::Array(list.to_vec()))
                    .collect();
                return Err(PatchError::Internal(format!(
                    "list element types are not identical: {}",
                    go_format(&Value::Array(shown))
                )));
            }
            Some(_) => {}
        }
    }
    Ok(kind)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn values(value: Value) -> Vec<Value> {
        value.as_array().cloned().unwrap_or_default()
    }

    #[test]
    fn deduplication_matches_go() {
        // Go: [a b a c] -> the second `a` is overwritten by `c`.
        assert_eq!(
            deduplicate_scalars(values(json!(["a", "b", "a", "c"]))),
            values(json!(["a", "b", "c"]))
        );
        assert_eq!(
            deduplicate_scalars(values(json!(["a", "a", "b", "c"]))),
            values(json!(["a", "c", "b"]))
        );
        assert_eq!(
            deduplicate_scalars(values(json!([1, 1.0, 2]))),
            values(json!([1, 2]))
        );
    }

    #[test]
    fn new_patch_items_go_first_without_set_order() {
        let live = values(json!(["a", "b"]));
        let merged = values(json!(["a", "b", "c"]));
        let patch = values(json!(["c"]));
        let (patch_items, server_only) =
            partition_by_presence(merged, &patch, "").expect("partition");
        let ordered =
            normalize_element_order(patch_items, server_only, &patch, &live, "", GoKind::String)
                .expect("order");
        assert_eq!(ordered, values(json!(["c", "a", "b"])));
    }

    #[test]
    fn set_order_interleaves_by_live_order() {
        let live = values(json!([{"name": "a"}, {"name": "b"}, {"name": "c"}]));
        let order = values(json!([{"name": "c"}, {"name": "a"}]));
        let merged = live.clone();
        let (patch_items, server_only) =
            partition_by_presence(merged, &order, "name").expect("partition");
        let ordered =
            normalize_element_order(patch_items, server_only, &order, &live, "name", GoKind::Map)
                .expect("order");
        // `b` is not in the order list; it keeps its live place relative to `c`, which it precedes.
        assert_eq!(
            ordered,
            values(json!([{"name": "b"}, {"name": "c"}, {"name": "a"}]))
        );
    }

    #[test]
    fn element_kinds_are_checked() {
        let (empty, strings, nested, numbers) = (
            values(json!([])),
            values(json!(["a", "b"])),
            values(json!([[1]])),
            values(json!([1])),
        );
        assert_eq!(
            element_kind([empty.as_slice(), empty.as_slice()]).ok(),
            Some(None)
        );
        assert_eq!(
            element_kind([strings.as_slice(), empty.as_slice()]).ok(),
            Some(Some(GoKind::String))
        );
        assert!(matches!(
            element_kind([nested.as_slice(), empty.as_slice()]),
            Err(PatchError::Unprocessable(_))
        ));
        assert!(matches!(
            element_kind([strings.as_slice(), numbers.as_slice()]),
            Err(PatchError::Internal(_))
        ));
    }
}
