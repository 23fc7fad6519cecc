//! Strategic merge patch (`application/strategic-merge-patch+json`), as kube-apiserver applies it.
//!
//! Semantics follow upstream's `k8s.io/apimachinery/pkg/util/strategicpatch` (`StrategicMergeMapPatch`
//! with `MergeParallelList` and `IgnoreUnmatchedNulls`), with the patch metadata read from the
//! built-in definitions ([`super::patch_meta`]):
//! - Maps merge key by key; `null` deletes a key; a value of another type replaces the old one.
//! - A map with `$patch: replace` replaces the old map; `$patch: delete` empties it. `$retainKeys`
//!   drops every old key it does not list (and every patch key must be listed).
//! - Lists are replaced, unless the field's strategy is `merge`: lists of primitives are unioned
//!   (and `$deleteFromPrimitiveList/<field>` removes values); lists of maps are merged item by item by
//!   the merge key, where an item `{"<key>": v, "$patch": "delete"}` removes the live item and an item
//!   `{"$patch": "replace"}` replaces the whole list with the patch's other items.
//! - `$setElementOrder/<field>` fixes the order of the merged list; without it, items the patch adds
//!   come before the live items (upstream's `normalizeElementOrder`).
//! - A field with `patchStrategy: replace` (`PodDisruptionBudgetSpec.selector`) is replaced whole.
//! - Where there is no schema (a kind that is not built in, an undeclared field, a free-form map), no
//!   strategy applies: the patch acts as a JSON merge patch that still honours the directives.
//!
//! Like upstream, a value the patch adds where the original had none is taken as written, directives
//! included; decoding into the typed object is what drops (or, with strict field validation, rejects)
//! them.
//!
//! Errors are [`PatchError`]s whose class is the HTTP status upstream answers with
//! (`interpretStrategicMergePatchError`): malformed directives are 400, lists of lists and
//! `$retainKeys` mismatches 422, anything else (a missing merge key, an unknown `$patch`) 500.

use serde_json::{Map, Value};

use crate::api::status::{ApiError, StatusCause, StatusDetails};

use super::patch_meta::{FieldStrategy, PatchSchema, MERGE, REPLACE};

mod order;
mod values;

use order::{
    bad_arg_type, deduplicate_scalars, element_kind, find_by_key, no_merge_key,
    normalize_element_order, partition_by_presence,
};
use values::{go_equal, go_format, GoKind};

/// The key of a patch directive in a map: `$patch`.
pub const DIRECTIVE_MARKER: &str = "$patch";
/// `$patch: delete`.
pub const DELETE_DIRECTIVE: &str = "delete";
/// `$patch: replace`.
pub const REPLACE_DIRECTIVE: &str = "replace";
/// `$patch: merge` (refused inside lists, as upstream does).
pub const MERGE_DIRECTIVE: &str = "merge";
/// The `$retainKeys` directive.
pub const RETAIN_KEYS_DIRECTIVE: &str = "$retainKeys";
/// The prefix of `$setElementOrder/<field>`.
pub const SET_ELEMENT_ORDER_PREFIX: &str = "$setElementOrder";
/// The prefix of `$deleteFromPrimitiveList/<field>`.
pub const DELETE_FROM_PRIMITIVE_LIST_PREFIX: &str = "$deleteFromPrimitiveList";

const BAD_PRIMITIVE_LIST: &str = "invalid patch format of primitive list";
const BAD_RETAIN_KEYS: &str = "invalid patch format of retainKeys";
const BAD_SET_ELEMENT_ORDER: &str = "invalid patch format of setElementOrder list";
const NO_LIST_OF_LISTS: &str = "lists of lists are not supported";

/// Why a strategic merge patch could not be applied, classed by the HTTP status upstream answers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    /// 400 `BadRequest`: a malformed document or directive.
    #[error("{0}")]
    BadRequest(String),
    /// 422 `Invalid`: lists of lists, or a patch that contradicts its `$retainKeys`.
    #[error("{0}")]
    Unprocessable(String),
    /// 500: every other failure (a missing merge key, an unknown `$patch` value, mixed list types),
    /// which upstream passes on as a plain error.
    #[error("{0}")]
    Internal(String),
}

impl From<PatchError> for ApiError {
    /// The Status upstream answers with for each class.
    fn from(error: PatchError) -> Self {
        match error {
            PatchError::BadRequest(message) => ApiError::bad_request(message),
            PatchError::Unprocessable(message) => ApiError::new(
                http::StatusCode::UNPROCESSABLE_ENTITY,
                "Invalid",
                "the server rejected our request due to an error in our request",
                Some(StatusDetails {
                    causes: vec![StatusCause {
                        reason: "UnexpectedServerResponse".into(),
                        message,
                        field: String::new(),
                    }],
                    ..Default::default()
                }),
            ),
            PatchError::Internal(message) => {
                ApiError::new(http::StatusCode::INTERNAL_SERVER_ERROR, "", message, None)
            }
        }
    }
}

/// Applies the strategic merge patch `patch` to `original`, an object of the kind
/// `group`/`version`/`kind` (core group: `""`).
///
/// `original` MUST be a JSON object. A `null` patch changes nothing; a patch that is not an object
/// fails with 400, as Go's decoding of it into a map does.
pub fn apply(
    original: &Value,
    patch: &Value,
    group: &str,
    version: &str,
    kind: &str,
) -> Result<Value, PatchError> {
    apply_with_schema(original, patch, PatchSchema::for_kind(group, version, kind))
}

/// [`apply`] with an explicit schema position (for a definition that is not a top-level kind, or for
/// no schema at all).
pub fn apply_with_schema(
    original: &Value,
    patch: &Value,
    schema: PatchSchema,
) -> Result<Value, PatchError> {
    let original_map = match original {
        Value::Object(map) => map.clone(),
        Value::Null => Map::new(),
        other => return Err(PatchError::BadRequest(unmarshal_error(other))),
    };
    let patch_map = match patch {
        Value::Object(map) => map.clone(),
        Value::Null => return Ok(Value::Object(original_map)),
        other => return Err(PatchError::BadRequest(unmarshal_error(other))),
    };
    merge_map(original_map, patch_map, schema).map(Value::Object)
}

/// Go's `json.Unmarshal` error for a non-object document decoded into a map.
fn unmarshal_error(value: &Value) -> String {
    let found = match value {
        Value::Array(_) => "array",
        Value::String(_) => "string",
        Value::Number(_) => "number",
        Value::Bool(_) => "bool",
        Value::Null | Value::Object(_) => "object",
    };
    format!("json: cannot unmarshal {found} into Go value of type map[string]interface {{}}")
}

/// `mergepatch.ErrBadPatchType`.
fn bad_patch_type(directive: &Value, map: &Map<String, Value>) -> PatchError {
    PatchError::Internal(format!(
        "unknown patch type: {} in map: {}",
        go_format(directive),
        go_format(&Value::Object(map.clone()))
    ))
}

/// The field name after a directive prefix (`$setElementOrder/containers` -> `containers`), as
/// upstream's `extractKey`.
fn directive_field<'a>(key: &'a str, prefix: &str) -> Option<&'a str> {
    let (head, field) = key.split_once('/')?;
    (head == prefix).then_some(field)
}

/// Merges `patch` into `original` (upstream's `mergeMap`).
fn merge_map(
    mut original: Map<String, Value>,
    mut patch: Map<String, Value>,
    schema: PatchSchema,
) -> Result<Map<String, Value>, PatchError> {
    if let Some(directive) = patch.get(DIRECTIVE_MARKER) {
        return match directive.as_str() {
            Some(REPLACE_DIRECTIVE) => {
                patch.remove(DIRECTIVE_MARKER);
                Ok(patch)
            }
            Some(DELETE_DIRECTIVE) => Ok(Map::new()),
            _ => Err(bad_patch_type(directive, &patch)),
        };
    }

    apply_retain_keys(&mut original, &mut patch)?;
    apply_set_element_orders(&mut original, &mut patch, schema)?;

    for (key, patch_value) in patch {
        let (field, is_delete_list) = if key.starts_with(DELETE_FROM_PRIMITIVE_LIST_PREFIX) {
            match directive_field(&key, DELETE_FROM_PRIMITIVE_LIST_PREFIX) {
                Some(field) => (field.to_string(), true),
                None => return Err(PatchError::BadRequest(BAD_PRIMITIVE_LIST.into())),
            }
        } else {
            (key, false)
        };

        if patch_value.is_null() {
            original.remove(&field);
            continue;
        }
        // Upstream takes the patch value as is when the original lacks the field; for a
        // `$deleteFromPrimitiveList` that sets the field to the list of values to delete.
        let Some(original_value) = original.remove(&field) else {
            original.insert(field, patch_value);
            continue;
        };
        if GoKind::of(&original_value) != GoKind::of(&patch_value) {
            original.insert(field, patch_value);
            continue;
        }
        let (field_schema, strategy) = schema.field(&field)?;
        let merged = match (original_value, patch_value) {
            (Value::Object(original_child), Value::Object(patch_child)) => {
                if strategy.strategy == REPLACE {
                    Value::Object(patch_child)
                } else {
                    Value::Object(merge_map(original_child, patch_child, field_schema)?)
                }
            }
            (Value::Array(original_list), Value::Array(patch_list)) => {
                Value::Array(merge_list_field(
                    original_list,
                    patch_list,
                    field_schema,
                    &strategy,
                    is_delete_list,
                )?)
            }
            (_, patch_value) => patch_value,
        };
        original.insert(field, merged);
    }
    Ok(original)
}

/// Applies `$retainKeys` (upstream's `applyRetainKeysDirective`).
fn apply_retain_keys(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
) -> Result<(), PatchError> {
    let Some(retain) = patch.remove(RETAIN_KEYS_DIRECTIVE) else {
        return Ok(());
    };
    let Value::Array(retained) = retain else {
        return Err(PatchError::BadRequest(BAD_RETAIN_KEYS.into()));
    };
    let is_retained = |key: &str| retained.iter().any(|item| item.as_str() == Some(key));
    for (key, value) in patch.iter() {
        if value.is_null()
            || key.starts_with(DELETE_FROM_PRIMITIVE_LIST_PREFIX)
            || key.starts_with(SET_ELEMENT_ORDER_PREFIX)
        {
            continue;
        }
        if !is_retained(key) {
            return Err(PatchError::BadRequest(BAD_RETAIN_KEYS.into()));
        }
    }
    original.retain(|key, _| is_retained(key));
    Ok(())
}

/// Merges each list named by a `$setElementOrder/<field>` directive and orders it (upstream's
/// `mergePatchIntoOriginal`); the merged lists leave `patch`.
fn apply_set_element_orders(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
    schema: PatchSchema,
) -> Result<(), PatchError> {
    let directive_keys: Vec<String> = patch
        .keys()
        .filter(|key| key.starts_with(SET_ELEMENT_ORDER_PREFIX))
        .cloned()
        .collect();
    for directive_key in directive_keys {
        let Some(order_value) = patch.remove(&directive_key) else {
            continue;
        };
        let order = match order_value {
            Value::Array(order) => order,
            other => return Err(bad_arg_type(GoKind::Slice, &other)),
        };
        let Some(field) = directive_field(&directive_key, SET_ELEMENT_ORDER_PREFIX) else {
            return Err(PatchError::BadRequest(BAD_SET_ELEMENT_ORDER.into()));
        };
        let original_list = take_list(original, field)?;
        let patch_list = take_list(patch, field)?;
        let (field_schema, strategy) = schema.field(field)?;
        let merge_key = strategy.merge_key.unwrap_or("");
        validate_set_order(patch_list.as_deref().unwrap_or(&[]), &order, merge_key)?;

        let live: Vec<Value> = original_list.clone().unwrap_or_default();
        let kind = element_kind([live.as_slice(), patch_list.as_deref().unwrap_or(&[])])?;
        let merged = match (original_list, patch_list) {
            (Some(original_list), None) => original_list,
            (None, Some(patch_list)) => patch_list,
            (Some(original_list), Some(patch_list)) => {
                merge_list_field(original_list, patch_list, field_schema, &strategy, false)?
            }
            (None, None) => continue,
        };
        // With no items on either side there is nothing to order (upstream fails here with "no
        // elements in any of the given slices"; an empty list is the useful answer).
        let ordered = match kind {
            Some(kind) => {
                let (patch_items, server_only) = partition_by_presence(merged, &order, merge_key)?;
                normalize_element_order(patch_items, server_only, &order, &live, merge_key, kind)?
            }
            None => merged,
        };
        original.insert(field.to_string(), Value::Array(ordered));
    }
    Ok(())
}

/// Removes and returns the list at `field`, failing when the value there is not a list.
fn take_list(map: &mut Map<String, Value>, field: &str) -> Result<Option<Vec<Value>>, PatchError> {
    match map.remove(field) {
        None => Ok(None),
        Some(Value::Array(list)) => Ok(Some(list)),
        Some(other) => Err(bad_arg_type(GoKind::Slice, &other)),
    }
}

/// Checks that the patch list's items appear in `$setElementOrder`'s relative order (upstream's
/// `validatePatchWithSetOrderList`).
fn validate_set_order(
    patch_list: &[Value],
    order: &[Value],
    merge_key: &str,
) -> Result<(), PatchError> {
    if patch_list.is_empty() || order.is_empty() {
        return Ok(());
    }
    let kept: Vec<&Value> = if merge_key.is_empty() {
        patch_list.iter().collect()
    } else {
        let mut kept = Vec::new();
        for item in patch_list {
            let Some(map) = item.as_object() else {
                return Err(bad_arg_type(GoKind::Map, item));
            };
            if map.get(DIRECTIVE_MARKER).and_then(Value::as_str) != Some(DELETE_DIRECTIVE) {
                kept.push(item);
            }
        }
        kept
    };
    let (mut patch_index, mut order_index) = (0, 0);
    while patch_index < kept.len() && order_index < order.len() {
        let item = kept[patch_index];
        if item.get(DIRECTIVE_MARKER).is_some() {
            patch_index += 1;
            continue;
        }
        if same_identity(item, &order[order_index], merge_key)? {
            patch_index += 1;
        }
        order_index += 1;
    }
    if patch_index < kept.len() && order_index >= order.len() {
        let shown = |list: &[Value]| go_format(&Value::Array(list.to_vec()));
        return Err(PatchError::Internal(format!(
            "The order in patch list:\n{}\n doesn't match {SET_ELEMENT_ORDER_PREFIX} list:\n{}\n",
            shown(patch_list),
            shown(order)
        )));
    }
    Ok(())
}

/// Whether two items are the same list member: equal values, or maps with equal merge keys
/// (upstream's `mergeKeyValueEqual`).
fn same_identity(left: &Value, right: &Value, merge_key: &str) -> Result<bool, PatchError> {
    if merge_key.is_empty() {
        return Ok(go_equal(left, right));
    }
    let Some(left_map) = left.as_object() else {
        return Err(bad_arg_type(GoKind::Map, left));
    };
    let Some(right_map) = right.as_object() else {
        return Err(bad_arg_type(GoKind::Map, right));
    };
    let Some(left_key) = left_map.get(merge_key) else {
        return Err(no_merge_key(left_map, merge_key));
    };
    let Some(right_key) = right_map.get(merge_key) else {
        return Err(no_merge_key(right_map, merge_key));
    };
    Ok(go_equal(left_key, right_key))
}

/// Merges a list field by its strategy (upstream's `mergeSliceHandler`): only `merge` merges, every
/// other strategy takes the patch list.
fn merge_list_field(
    original: Vec<Value>,
    patch: Vec<Value>,
    list_schema: PatchSchema,
    strategy: &FieldStrategy,
    is_delete_list: bool,
) -> Result<Vec<Value>, PatchError> {
    if strategy.strategy != MERGE {
        return Ok(patch);
    }
    merge_list(
        original,
        patch,
        list_schema.items(),
        strategy.merge_key.unwrap_or(""),
        is_delete_list,
    )
}

/// Merges two lists of a `merge` field (upstream's `mergeSlice`).
fn merge_list(
    original: Vec<Value>,
    patch: Vec<Value>,
    item_schema: PatchSchema,
    merge_key: &str,
    is_delete_list: bool,
) -> Result<Vec<Value>, PatchError> {
    let Some(kind) = element_kind([original.as_slice(), patch.as_slice()])? else {
        return Ok(original);
    };
    let (server_order, patch, merged) = if kind != GoKind::Map {
        if is_delete_list {
            return Ok(original
                .into_iter()
                .filter(|item| !patch.iter().any(|gone| go_equal(gone, item)))
                .collect());
        }
        let mut both = original.clone();
        both.extend(patch.iter().cloned());
        (original, patch, deduplicate_scalars(both))
    } else {
        if merge_key.is_empty() {
            let item_kind = if item_schema.is_known() {
                "struct"
            } else {
                "interface"
            };
            return Err(PatchError::Internal(format!(
                "cannot merge lists without merge key for type {item_kind}"
            )));
        }
        let (original, patch) = apply_list_directives(original, patch, merge_key)?;
        let merged = merge_list_items(original.clone(), &patch, merge_key, item_schema)?;
        (original, patch, merged)
    };
    let (patch_items, server_only) = partition_by_presence(merged, &patch, merge_key)?;
    normalize_element_order(
        patch_items,
        server_only,
        &patch,
        &server_order,
        merge_key,
        kind,
    )
}

/// Handles `$patch` items of a list of maps (upstream's `mergeSliceWithSpecialElements`): returns the
/// original list after deletions (or the patch's plain items on `replace`) and the patch's plain items
/// left to merge.
fn apply_list_directives(
    mut original: Vec<Value>,
    patch: Vec<Value>,
    merge_key: &str,
) -> Result<(Vec<Value>, Vec<Value>), PatchError> {
    let mut plain = Vec::with_capacity(patch.len());
    let mut replace = false;
    for item in patch {
        let Value::Object(map) = &item else {
            return Err(bad_arg_type(GoKind::Map, &item));
        };
        let Some(directive) = map.get(DIRECTIVE_MARKER) else {
            plain.push(item);
            continue;
        };
        match directive.as_str() {
            Some(DELETE_DIRECTIVE) => {
                let Some(key_value) = map.get(merge_key) else {
                    return Err(no_merge_key(map, merge_key));
                };
                while let Some(index) = find_by_key(&original, merge_key, key_value)? {
                    original.remove(index);
                }
            }
            Some(REPLACE_DIRECTIVE) => replace = true,
            Some(MERGE_DIRECTIVE) => {
                return Err(PatchError::Internal(
                    "merging lists cannot yet be specified in the patch".into(),
                ))
            }
            _ => return Err(bad_patch_type(directive, map)),
        }
    }
    if replace {
        Ok((plain, Vec::new()))
    } else {
        Ok((original, plain))
    }
}

/// Merges each patch item into the live item with the same merge key, or appends it (upstream's
/// `mergeSliceWithoutSpecialElements`).
fn merge_list_items(
    mut original: Vec<Value>,
    patch: &[Value],
    merge_key: &str,
    item_schema: PatchSchema,
) -> Result<Vec<Value>, PatchError> {
    for item in patch {
        let Value::Object(patch_item) = item else {
            return Err(bad_arg_type(GoKind::Map, item));
        };
        let Some(key_value) = patch_item.get(merge_key) else {
            return Err(no_merge_key(patch_item, merge_key));
        };
        match find_by_key(&original, merge_key, key_value)? {
            Some(index) => {
                let live = match std::mem::take(&mut original[index]) {
                    Value::Object(live) => live,
                    _ => Map::new(),
                };
                original[index] = Value::Object(merge_map(live, patch_item.clone(), item_schema)?);
            }
            None => original.push(item.clone()),
        }
    }
    Ok(original)
}

#[cfg(test)]
mod tests;
