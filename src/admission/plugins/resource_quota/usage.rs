//! A quota's usage computed from the objects of its namespace (upstream's `CalculateUsage`), for
//! the resource quota controller.

use std::collections::BTreeSet;

use serde_json::Value;

use super::evaluators::Evaluator;
use super::quantity::{add, list_from_json, mask, Quantity, ResourceList};
use super::scopes::quota_selectors;
use crate::admission::attributes::StoreLookup;
use crate::api::status::ApiResult;
use crate::registry::options::ListOptions;

/// The group and resource whose objects a quota resource name counts, if any.
pub fn counted_resource(name: &str) -> Option<(String, String)> {
    for (evaluator, resource) in [
        (Evaluator::Pods, "pods"),
        (Evaluator::Services, "services"),
        (Evaluator::PersistentVolumeClaims, "persistentvolumeclaims"),
    ] {
        if evaluator.tracks(name) {
            return Some((String::new(), resource.to_string()));
        }
    }
    if let Some(rest) = name.strip_prefix("count/") {
        return Some(match rest.split_once('.') {
            Some((resource, group)) => (group.to_string(), resource.to_string()),
            None => (String::new(), rest.to_string()),
        });
    }
    match name {
        "configmaps" | "secrets" | "replicationcontrollers" | "resourcequotas" => {
            Some((String::new(), name.to_string()))
        }
        _ => None,
    }
}

/// The resources whose objects the quota's `spec.hard` counts.
pub fn tracked_resources(hard: &ResourceList) -> BTreeSet<(String, String)> {
    hard.keys().filter_map(|n| counted_resource(n)).collect()
}

/// The quota's `status.hard` and `status.used` as its namespace's objects give them now. A
/// resource not served (a custom resource not yet defined) keeps its old used value, or none.
pub async fn calculate_status(
    stores: &dyn StoreLookup,
    quota: &Value,
) -> ApiResult<(ResourceList, ResourceList)> {
    let namespace = quota
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("");
    let hard = list_from_json(quota.pointer("/spec/hard"));
    let selectors = quota_selectors(quota);
    let mut observed = ResourceList::new();
    for (group, resource) in tracked_resources(&hard) {
        let evaluator = Evaluator::for_resource(&group, &resource);
        let matching = evaluator.matching_resources(hard.keys());
        let Some(version) = stores.versions(&group, &resource).into_iter().next() else {
            continue;
        };
        let Some(store) = stores.by_resource(&group, &version, &resource) else {
            continue;
        };
        let list = store.list(Some(namespace), &ListOptions::default()).await?;
        let mut stats: ResourceList = matching
            .iter()
            .map(|n| (n.clone(), Quantity::zero()))
            .collect();
        for item in &list.items {
            if selectors.iter().all(|s| evaluator.matches_scope(s, item)) {
                stats = add(&stats, &evaluator.usage(item));
            }
        }
        observed = add(&observed, &mask(&stats, &matching));
    }
    let mut used = list_from_json(quota.pointer("/status/used"));
    used.extend(observed);
    let used = mask(&used, hard.keys());
    Ok((hard, used))
}
