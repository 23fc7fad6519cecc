//! Quota scopes (`spec.scopes`, `spec.scopeSelector`) and how a pod matches them
//! (`podMatchesScopeFunc`).

use serde_json::Value;

use super::evaluators::pod_requests_and_limits;

/// One `ScopedResourceSelectorRequirement`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    pub scope: String,
    pub operator: String,
    pub values: Vec<String>,
}

/// The quota's scopes as `Exists` selectors, then its scope selector's expressions
/// (`getScopeSelectorsFromQuota`).
pub fn quota_selectors(quota: &Value) -> Vec<Selector> {
    let mut selectors: Vec<Selector> = quota
        .pointer("/spec/scopes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|scope| Selector {
            scope: scope.to_string(),
            operator: "Exists".into(),
            values: Vec::new(),
        })
        .collect();
    let expressions = quota
        .pointer("/spec/scopeSelector/matchExpressions")
        .and_then(Value::as_array);
    for expression in expressions.into_iter().flatten() {
        let text = |f: &str| expression.get(f).and_then(Value::as_str).unwrap_or("");
        selectors.push(Selector {
            scope: text("scopeName").to_string(),
            operator: text("operator").to_string(),
            values: expression
                .get("values")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
        });
    }
    selectors
}

/// A pod with `activeDeadlineSeconds >= 0` is Terminating.
fn is_terminating(pod: &Value) -> bool {
    pod.pointer("/spec/activeDeadlineSeconds")
        .and_then(Value::as_i64)
        .is_some_and(|s| s >= 0)
}

/// A BestEffort pod requests and limits no cpu or memory in any container (its QoS class).
pub fn is_best_effort(pod: &Value) -> bool {
    let (requests, limits) = pod_requests_and_limits(pod);
    ["cpu", "memory"].iter().all(|name| {
        requests.get(*name).is_none_or(|q| q.is_zero())
            && limits.get(*name).is_none_or(|q| q.is_zero())
    })
}

/// Whether a pod's affinity terms select namespaces (`namespaces` or `namespaceSelector`).
fn uses_cross_namespace_affinity(pod: &Value) -> bool {
    let mut terms = Vec::new();
    for kind in ["podAffinity", "podAntiAffinity"] {
        let Some(affinity) = pod.pointer(&format!("/spec/affinity/{kind}")) else {
            continue;
        };
        let required = affinity
            .get("requiredDuringSchedulingIgnoredDuringExecution")
            .and_then(Value::as_array);
        terms.extend(required.into_iter().flatten());
        let preferred = affinity
            .get("preferredDuringSchedulingIgnoredDuringExecution")
            .and_then(Value::as_array);
        terms.extend(
            preferred
                .into_iter()
                .flatten()
                .filter_map(|p| p.get("podAffinityTerm")),
        );
    }
    terms.iter().any(|term| {
        term.get("namespaceSelector").is_some_and(|s| !s.is_null())
            || term
                .get("namespaces")
                .and_then(Value::as_array)
                .is_some_and(|n| !n.is_empty())
    })
}

/// Whether a pod matches one selector.
pub fn pod_matches_scope(selector: &Selector, pod: &Value) -> bool {
    match selector.scope.as_str() {
        "Terminating" => is_terminating(pod),
        "NotTerminating" => !is_terminating(pod),
        "BestEffort" => is_best_effort(pod),
        "NotBestEffort" => !is_best_effort(pod),
        "PriorityClass" => {
            let class = pod
                .pointer("/spec/priorityClassName")
                .and_then(Value::as_str)
                .unwrap_or("");
            // As upstream's label selector over {PriorityClass: <the pod's class>}: the key
            // is always present, so DoesNotExist never matches.
            match selector.operator.as_str() {
                "Exists" => !class.is_empty(),
                "In" => selector.values.iter().any(|v| v == class),
                "NotIn" => !selector.values.iter().any(|v| v == class),
                _ => false,
            }
        }
        "CrossNamespacePodAffinity" => uses_cross_namespace_affinity(pod),
        _ => false,
    }
}
