//! CertificateSigningRequests (`pkg/registry/certificates/certificates`): the generic rules with a
//! `status` subresource, plus `/approval` (upstream's `ApprovalREST`), through which an update
//! changes only `status.conditions`: approving or denying a request.

use serde_json::{json, Map, Value};

use crate::registry::metadata::now_rfc3339;
use crate::registry::resources::{Rules, RulesStrategy};
use crate::registry::strategy::Strategy;

/// CertificateSigningRequests: [`RulesStrategy`] with the `approval` subresource.
#[derive(Debug, Clone, Copy)]
pub struct CsrStrategy {
    rules: RulesStrategy,
}

impl CsrStrategy {
    /// The strategy over the generic `rules` (with the status subresource).
    pub fn new(rules: Rules) -> Self {
        Self {
            rules: RulesStrategy::new(rules, true),
        }
    }
}

/// The conditions of a CSR.
fn conditions(csr: &Value) -> Vec<Value> {
    csr.pointer("/status/conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// Upstream's `populateConditionTimestamps`: a condition without `lastUpdateTime` gets now; one
/// without `lastTransitionTime` keeps that of a stored condition of the same type and status,
/// else gets now. A condition without `status` gets `True` (upstream's defaulting).
fn populate_condition_timestamps(new: &mut [Value], old: &[Value]) {
    let now = now_rfc3339();
    let has = |c: &Map<String, Value>, field: &str| {
        c.get(field)
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty())
    };
    for condition in new.iter_mut() {
        let Some(map) = condition.as_object_mut() else {
            continue;
        };
        if !has(map, "status") {
            map.insert("status".into(), json!("True"));
        }
        if !has(map, "lastUpdateTime") {
            map.insert("lastUpdateTime".into(), json!(now));
        }
        if !has(map, "lastTransitionTime") {
            let same = old.iter().filter_map(Value::as_object).find(|o| {
                o.get("type") == map.get("type")
                    && o.get("status") == map.get("status")
                    && has(o, "lastTransitionTime")
            });
            let time = same
                .and_then(|o| o.get("lastTransitionTime").cloned())
                .unwrap_or_else(|| json!(now));
            map.insert("lastTransitionTime".into(), time);
        }
    }
}

/// The object an `/approval` update stores: the stored CSR's spec and status with the request's
/// metadata and `status.conditions` (upstream's `csrApprovalStrategy.PrepareForUpdate`).
pub fn approval_update(new: &Value, old: &Value) -> Value {
    let mut conditions_new = conditions(new);
    populate_condition_timestamps(&mut conditions_new, &conditions(old));
    let mut result = old.clone();
    if let (Some(map), Some(meta)) = (result.as_object_mut(), new.get("metadata")) {
        map.insert("metadata".into(), meta.clone());
    }
    if let Some(map) = result.as_object_mut() {
        let status = map.entry("status").or_insert_with(|| json!({}));
        if !status.is_object() {
            *status = json!({});
        }
        if let Some(status) = status.as_object_mut() {
            if conditions_new.is_empty() {
                status.remove("conditions");
            } else {
                status.insert("conditions".into(), Value::Array(conditions_new));
            }
        }
    }
    result
}

impl Strategy for CsrStrategy {
    fn name_rule(&self) -> crate::api::names::NameRule {
        self.rules.name_rule()
    }
    fn has_status_subresource(&self) -> bool {
        true
    }
    fn tracks_generation(&self) -> bool {
        self.rules.tracks_generation()
    }
    fn allow_create_on_update(&self) -> bool {
        self.rules.allow_create_on_update()
    }
    fn gc_policy(&self) -> crate::registry::strategy::GcPolicy {
        self.rules.gc_policy()
    }
    fn returns_deleted_object(&self) -> bool {
        self.rules.returns_deleted_object()
    }
    fn prepare_for_create(&self, obj: &mut Value) {
        self.rules.prepare_for_create(obj)
    }
    fn status_update(&self) -> crate::registry::strategy::StatusUpdate {
        self.rules.status_update()
    }
    fn status_reset_fields(&self) -> &'static [crate::registry::strategy::FieldPath] {
        self.rules.status_reset_fields()
    }
    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        self.rules.prepare_for_update(new, old)
    }
    fn serves_subresource(&self, subresource: &str) -> bool {
        subresource == "approval"
    }
    fn prepare_for_subresource_update(
        &self,
        subresource: &str,
        new: &mut Value,
        old: &Value,
    ) -> bool {
        if subresource != "approval" {
            return false;
        }
        *new = approval_update(new, old);
        true
    }
    fn validate_create(&self, obj: &Value) -> Vec<crate::registry::validation::FieldError> {
        self.rules.validate_create(obj)
    }
    fn validate_update(
        &self,
        new: &Value,
        old: &Value,
    ) -> Vec<crate::registry::validation::FieldError> {
        self.rules.validate_update(new, old)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approval_changes_only_conditions() {
        let old = json!({
            "metadata": {"name": "c", "resourceVersion": "3"},
            "spec": {"signerName": "example.com/s", "request": "AAA"},
            "status": {"certificate": "Q0VSVA==", "conditions": [
                {"type": "Pending", "status": "True", "lastTransitionTime": "2020-01-01T00:00:00Z"}
            ]}
        });
        let new = json!({
            "metadata": {"name": "c", "resourceVersion": "3"},
            "spec": {"signerName": "other/x", "request": "BBB"},
            "status": {"certificate": "", "conditions": [
                {"type": "Pending", "status": "True"},
                {"type": "Approved", "reason": "KubectlApprove"}
            ]}
        });
        let s = CsrStrategy::new(Rules::GENERIC);
        let mut stored = new.clone();
        assert!(s.prepare_for_subresource_update("approval", &mut stored, &old));
        assert_eq!(stored["spec"], old["spec"], "the spec stays");
        assert_eq!(
            stored["status"]["certificate"], "Q0VSVA==",
            "the certificate stays"
        );
        let conditions = stored["status"]["conditions"].as_array().unwrap();
        assert_eq!(conditions[0]["lastTransitionTime"], "2020-01-01T00:00:00Z");
        assert_eq!(conditions[1]["type"], "Approved");
        assert_eq!(conditions[1]["status"], "True");
        assert!(conditions[1]["lastUpdateTime"].is_string());
        assert!(conditions[1]["lastTransitionTime"].is_string());
        let mut other = new.clone();
        assert!(!s.prepare_for_subresource_update("finalize", &mut other, &old));
        assert!(s.serves_subresource("approval") && !s.serves_subresource("finalize"));
    }
}
