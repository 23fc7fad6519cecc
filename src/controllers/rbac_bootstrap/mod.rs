//! The bootstrap RBAC policy, reconciled at every start as upstream's `rbac/bootstrap-roles`
//! post-start hook (`pkg/registry/rbac/rest/storage_rbac.go` with `pkg/registry/rbac/reconciliation`).
//!
//! For each object of [`policy`]:
//! - missing: it is created as the policy has it;
//! - present with annotation `rbac.authorization.kubernetes.io/autoupdate: "false"`: left alone;
//! - present otherwise: the policy's missing labels, annotations, rules (as single-verb rules, as
//!   upstream adds them), aggregation selectors and subjects are added. Nothing a user added is
//!   removed, with upstream's two exceptions: an `aggregationRule` on a role the policy does not
//!   aggregate is dropped, and a binding whose `roleRef` differs is deleted and re-created (a
//!   `roleRef` cannot be updated). The rules of aggregated roles are left to the aggregation
//!   controller (`controllers::clusterrole_aggregation`).
//!
//! [`ensure`] is idempotent (a second run writes nothing) and safe when several replicas start at
//! once on one database: a create that finds the object already there, a stale update and a
//! delete that finds it gone all make it look again.

pub mod policy;

use anyhow::Context;
use serde_json::{Map, Value};

use crate::api::status::ApiResult;
use crate::registry::metadata::meta_str;
use crate::registry::options::{DeleteOptions, Preconditions, WriteOptions};
use crate::registry::store::Store;
use crate::registry::stores::ResourceStores;

pub use crate::rbac::rules::PolicyRule;

/// How many times one object is looked at again after losing a race with another writer.
const MAX_ATTEMPTS: usize = 10;

/// Creates or reconciles every ClusterRole, then every ClusterRoleBinding of the bootstrap policy.
///
/// MUST be idempotent; MUST NOT touch an object annotated `autoupdate: "false"`; MUST NOT remove
/// rules or subjects. Fails when the RBAC stores are not served or a write keeps failing.
pub async fn ensure(stores: &ResourceStores) -> anyhow::Result<()> {
    let roles = stores
        .get(policy::RBAC_GROUP, "v1", "clusterroles")
        .context("the rbac.authorization.k8s.io/v1 clusterroles store is not served")?;
    let bindings = stores
        .get(policy::RBAC_GROUP, "v1", "clusterrolebindings")
        .context("the rbac.authorization.k8s.io/v1 clusterrolebindings store is not served")?;
    for role in policy::cluster_roles() {
        let name = policy::object_name(&role).to_string();
        reconcile(roles, &role, reconcile_role)
            .await
            .with_context(|| format!("reconciling bootstrap clusterrole {name}"))?;
    }
    for binding in policy::cluster_role_bindings() {
        let name = policy::object_name(&binding).to_string();
        reconcile(bindings, &binding, reconcile_binding)
            .await
            .with_context(|| format!("reconciling bootstrap clusterrolebinding {name}"))?;
    }
    Ok(())
}

/// What reconciling one existing object against the policy calls for.
#[derive(Debug, Clone, PartialEq)]
enum Reconciled {
    /// It already has everything.
    Nothing,
    /// It lacks something but is annotated `autoupdate: "false"`.
    Protected,
    /// Write this object (the existing one with what was missing added).
    Update(Value),
    /// Delete it and create the expected object (a binding to another role).
    Recreate,
}

/// What the policy object `expected` asks of the stored `existing` one.
type Compute = fn(existing: &Value, expected: &Value) -> Reconciled;

fn is_protected(existing: &Value) -> bool {
    existing
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(policy::AUTOUPDATE_ANNOTATION))
        .and_then(Value::as_str)
        == Some("false")
}

/// Adds the entries of `expected`'s `metadata.<field>` that `obj` lacks (existing values win, as
/// upstream's `merge(expected, existing)`). Returns whether anything was added.
fn merge_string_map(obj: &mut Value, expected: &Value, field: &str) -> bool {
    let Some(wanted) = expected
        .pointer(&format!("/metadata/{field}"))
        .and_then(Value::as_object)
    else {
        return false;
    };
    let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) else {
        return false;
    };
    let entry = meta
        .entry(field.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    let Some(current) = entry.as_object_mut() else {
        return false;
    };
    let mut changed = false;
    for (key, value) in wanted {
        if !current.contains_key(key) {
            current.insert(key.clone(), value.clone());
            changed = true;
        }
    }
    changed
}

/// Merges labels and annotations; returns whether anything changed.
fn merge_metadata(obj: &mut Value, expected: &Value) -> bool {
    let annotations = merge_string_map(obj, expected, "annotations");
    let labels = merge_string_map(obj, expected, "labels");
    annotations || labels
}

fn selectors(role: &Value) -> Option<Vec<Value>> {
    let rule = role.get("aggregationRule").filter(|r| !r.is_null())?;
    Some(
        rule.get("clusterRoleSelectors")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default(),
    )
}

/// upstream's `computeReconciledRole` in its union mode (extra permissions are kept).
fn reconcile_role(existing: &Value, expected: &Value) -> Reconciled {
    let mut result = existing.clone();
    let mut changed = merge_metadata(&mut result, expected);

    let missing = crate::rbac::escalation::uncovered(
        &PolicyRule::list_of(existing),
        &PolicyRule::list_of(expected),
    );
    if !missing.is_empty() {
        let mut all = existing
            .get("rules")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        all.extend(missing.iter().map(PolicyRule::to_value));
        result["rules"] = Value::Array(all);
        changed = true;
    }

    match (selectors(expected), selectors(existing)) {
        (None, Some(_)) => {
            // The policy does not aggregate this role: upstream drops the aggregation.
            if let Some(obj) = result.as_object_mut() {
                obj.remove("aggregationRule");
            }
            changed = true;
        }
        (Some(wanted), current) => {
            let mut current = current.unwrap_or_default();
            let missing: Vec<Value> = wanted
                .into_iter()
                .filter(|selector| !current.contains(selector))
                .collect();
            if !missing.is_empty() {
                current.extend(missing);
                result["aggregationRule"] = serde_json::json!({"clusterRoleSelectors": current});
                changed = true;
            }
        }
        (None, None) => {}
    }

    decide(existing, result, changed)
}

fn decide(existing: &Value, result: Value, changed: bool) -> Reconciled {
    match (changed, is_protected(existing)) {
        (false, _) => Reconciled::Nothing,
        (true, true) => Reconciled::Protected,
        (true, false) => Reconciled::Update(result),
    }
}

/// upstream's `computeReconciledRoleBinding` in its union mode (extra subjects are kept).
fn reconcile_binding(existing: &Value, expected: &Value) -> Reconciled {
    if existing.get("roleRef") != expected.get("roleRef") {
        return if is_protected(existing) {
            Reconciled::Protected
        } else {
            Reconciled::Recreate
        };
    }
    let mut result = existing.clone();
    let mut changed = merge_metadata(&mut result, expected);
    let mut subjects = existing
        .get("subjects")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut added = false;
    for subject in expected
        .get("subjects")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if !subjects.iter().any(|s| same_subject(s, subject)) {
            subjects.push(subject.clone());
            added = true;
        }
    }
    if added {
        result["subjects"] = Value::Array(subjects);
        changed = true;
    }
    decide(existing, result, changed)
}

/// Subjects are equal when kind, apiGroup, name and namespace are (absent equals empty).
fn same_subject(a: &Value, b: &Value) -> bool {
    let field = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).unwrap_or("").to_string();
    ["kind", "apiGroup", "name", "namespace"]
        .iter()
        .all(|key| field(a, key) == field(b, key))
}

/// Brings one stored object in line with `expected`, retrying when another writer got there first.
async fn reconcile(store: &Store, expected: &Value, compute: Compute) -> ApiResult<()> {
    let name = policy::object_name(expected);
    let write = WriteOptions::default();
    let mut last_error = None;
    for _ in 0..MAX_ATTEMPTS {
        let existing = match store.get(None, name).await {
            Ok(existing) => existing,
            Err(err) if err.status.code == 404 => {
                match store.create(None, expected.clone(), &write).await {
                    Ok(_) => {
                        tracing::info!(resource = %store.info().plural, name, "created bootstrap RBAC object");
                        return Ok(());
                    }
                    Err(err) if err.status.reason == "AlreadyExists" => {
                        last_error = Some(err);
                        continue;
                    }
                    Err(err) => return Err(err),
                }
            }
            Err(err) => return Err(err),
        };
        match compute(&existing, expected) {
            Reconciled::Nothing => return Ok(()),
            Reconciled::Protected => {
                tracing::warn!(resource = %store.info().plural, name,
                    "skipped reconcile-protected bootstrap RBAC object that differs from the policy");
                return Ok(());
            }
            Reconciled::Update(_) => {
                let result = store
                    .guaranteed_update(None, name, &write, |current| {
                        Ok(match compute(current, expected) {
                            Reconciled::Update(next) => next,
                            _ => current.clone(),
                        })
                    })
                    .await;
                match result {
                    Ok(_) => {
                        tracing::info!(resource = %store.info().plural, name,
                            "added missing bootstrap RBAC permissions");
                        return Ok(());
                    }
                    Err(err) if err.status.code == 404 || err.status.code == 409 => {
                        last_error = Some(err);
                    }
                    Err(err) => return Err(err),
                }
            }
            Reconciled::Recreate => {
                let delete = DeleteOptions {
                    preconditions: Some(Preconditions {
                        uid: None,
                        resource_version: Some(meta_str(&existing, "resourceVersion").to_string()),
                    }),
                    ..Default::default()
                };
                match store.delete(None, name, &delete, &write).await {
                    Ok(_) => {
                        tracing::info!(resource = %store.info().plural, name,
                            "deleting bootstrap RBAC binding to re-create it with its roleRef");
                    }
                    Err(err) if err.status.code == 404 || err.status.code == 409 => {
                        last_error = Some(err);
                    }
                    Err(err) => return Err(err),
                }
            }
        }
    }
    Err(last_error.unwrap_or_else(|| {
        crate::api::status::ApiError::internal(format!(
            "could not reconcile {name} after {MAX_ATTEMPTS} attempts"
        ))
    }))
}

#[cfg(test)]
pub(crate) mod tests;
