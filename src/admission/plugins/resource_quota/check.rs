//! Whether one write fits the quotas of its namespace, and what it charges them (upstream's
//! `CheckRequest`, without the plugin configuration's limited resources).

use serde_json::Value;

use super::evaluators::Evaluator;
use super::quantity::{
    add, less_than_or_equal, list_from_json, mask, pretty_print, remove_zeros,
    subtract_non_negative, ResourceList,
};
use super::scopes::quota_selectors;
use crate::registry::metadata::meta_str;

/// What a write does to one quota: its index among the quotas given and its new `status.used`.
#[derive(Debug, Clone, PartialEq)]
pub struct Charge {
    pub index: usize,
    pub used: ResourceList,
}

/// `generic.Matches`: the quota tracks one of the evaluator's names (in `status.hard`) and the
/// object matches every scope selector.
pub fn quota_matches(evaluator: &Evaluator, quota: &Value, obj: &Value) -> bool {
    let hard = list_from_json(quota.pointer("/status/hard"));
    !evaluator.matching_resources(hard.keys()).is_empty()
        && quota_selectors(quota)
            .iter()
            .all(|s| evaluator.matches_scope(s, obj))
}

/// Checks a create (`old` is `None`) or an update of `obj` against `quotas`. The error is
/// upstream's message, for a Forbidden. `status_subresource` writes charge without a limit.
pub fn check_request(
    evaluator: &Evaluator,
    quotas: &[Value],
    obj: &Value,
    old: Option<&Value>,
    status_subresource: bool,
) -> Result<Vec<Charge>, String> {
    let mut interesting = Vec::new();
    for (index, quota) in quotas.iter().enumerate() {
        if !quota_matches(evaluator, quota, obj) {
            continue;
        }
        let name = meta_str(quota, "name");
        let hard = list_from_json(quota.pointer("/status/hard"));
        let restricted = evaluator.matching_resources(hard.keys());
        evaluator
            .constraints(&restricted, obj)
            .map_err(|err| format!("failed quota: {name}: {err}"))?;
        let used = list_from_json(quota.pointer("/status/used"));
        if restricted.iter().any(|r| !used.contains_key(r)) {
            let mut names = restricted.clone();
            names.sort();
            return Err(format!(
                "status unknown for quota: {name}, resources: {}",
                names.join(",")
            ));
        }
        interesting.push(index);
    }
    if interesting.is_empty() {
        return Ok(Vec::new());
    }
    let input = evaluator.usage(obj);
    let negative: Vec<&String> = input
        .iter()
        .filter(|(_, q)| q.nanos < 0)
        .map(|(k, _)| k)
        .collect();
    if !negative.is_empty() {
        let names: Vec<&str> = negative.iter().map(|s| s.as_str()).collect();
        return Err(format!(
            "quota usage is negative for resource(s): {}",
            names.join(",")
        ));
    }
    // An update is charged the growth, to the quotas the old object matched too (a create on
    // update, without a resourceVersion, is charged in full).
    let mut deltas: Vec<(usize, ResourceList)> =
        interesting.iter().map(|i| (*i, input.clone())).collect();
    if let Some(old) = old.filter(|o| !meta_str(o, "resourceVersion").is_empty()) {
        let delta = subtract_non_negative(&input, &evaluator.usage(old));
        for (index, usage) in &mut deltas {
            if quota_matches(evaluator, &quotas[*index], old) {
                *usage = delta.clone();
            }
        }
    }
    let mut charges = Vec::new();
    for (index, delta) in deltas {
        let delta = remove_zeros(&delta);
        if delta.is_empty() {
            continue;
        }
        let quota = &quotas[index];
        let hard = list_from_json(quota.pointer("/status/hard"));
        let used = list_from_json(quota.pointer("/status/used"));
        let requested = mask(&delta, hard.keys());
        let new_used = add(&used, &requested);
        if !status_subresource {
            let (allowed, exceeded) = less_than_or_equal(&mask(&new_used, requested.keys()), &hard);
            if !allowed {
                return Err(format!(
                    "exceeded quota: {}, requested: {}, used: {}, limited: {}",
                    meta_str(quota, "name"),
                    pretty_print(&mask(&requested, &exceeded)),
                    pretty_print(&mask(&used, &exceeded)),
                    pretty_print(&mask(&hard, &exceeded)),
                ));
            }
        }
        if !super::quantity::equals(&new_used, &used) {
            charges.push(Charge {
                index,
                used: new_used,
            });
        }
    }
    Ok(charges)
}
