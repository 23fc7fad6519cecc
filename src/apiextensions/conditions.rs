//! CRD status conditions (`NamesAccepted`, `Established`, `Terminating`), set as upstream's
//! `apiextensions-apiserver/pkg/apihelpers` `SetCRDCondition` does.

use serde_json::{json, Value};

use crate::registry::metadata::now_rfc3339;

/// One condition to set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub type_: &'static str,
    /// `True`, `False` or `Unknown`.
    pub status: &'static str,
    pub reason: String,
    pub message: String,
}

impl Condition {
    pub fn new(
        type_: &'static str,
        status: &'static str,
        reason: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            type_,
            status,
            reason: reason.into(),
            message: message.into(),
        }
    }
}

/// The condition of `type_` in `crd.status.conditions`.
pub fn condition<'a>(crd: &'a Value, type_: &str) -> Option<&'a Value> {
    crd.pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(type_))
}

/// Whether the condition of `type_` is `True`.
pub fn is_true(crd: &Value, type_: &str) -> bool {
    condition(crd, type_)
        .and_then(|c| c.get("status"))
        .and_then(Value::as_str)
        == Some("True")
}

/// Whether `crd` already has `wanted` (same status, reason and message).
pub fn has_condition(crd: &Value, wanted: &Condition) -> bool {
    condition(crd, wanted.type_).is_some_and(|c| {
        c.get("status").and_then(Value::as_str) == Some(wanted.status)
            && c.get("reason").and_then(Value::as_str) == Some(wanted.reason.as_str())
            && c.get("message").and_then(Value::as_str) == Some(wanted.message.as_str())
    })
}

/// Sets `wanted` in `crd.status.conditions`: a new condition is appended; an existing one takes
/// the new status, reason and message, and its `lastTransitionTime` moves to now only when the
/// status changes.
pub fn set_condition(crd: &mut Value, wanted: Condition) {
    let Some(map) = crd.as_object_mut() else {
        return;
    };
    let status = map.entry("status").or_insert_with(|| json!({}));
    if !status.is_object() {
        *status = json!({});
    }
    let Some(status) = status.as_object_mut() else {
        return;
    };
    let conditions = status
        .entry("conditions")
        .or_insert_with(|| Value::Array(Vec::new()));
    if !conditions.is_array() {
        *conditions = Value::Array(Vec::new());
    }
    let Some(list) = conditions.as_array_mut() else {
        return;
    };
    let existing = list
        .iter_mut()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(wanted.type_));
    match existing {
        Some(found) => {
            if found.get("status").and_then(Value::as_str) != Some(wanted.status) {
                found["lastTransitionTime"] = Value::String(now_rfc3339());
            }
            found["status"] = Value::from(wanted.status);
            found["reason"] = Value::from(wanted.reason);
            found["message"] = Value::from(wanted.message);
        }
        None => list.push(json!({
            "type": wanted.type_,
            "status": wanted.status,
            "lastTransitionTime": now_rfc3339(),
            "reason": wanted.reason,
            "message": wanted.message,
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transition_time_moves_only_with_the_status() {
        let mut crd = json!({});
        set_condition(
            &mut crd,
            Condition::new("Established", "False", "Installing", "installing"),
        );
        crd["status"]["conditions"][0]["lastTransitionTime"] = json!("2020-01-01T00:00:00Z");
        set_condition(
            &mut crd,
            Condition::new("Established", "False", "Other", "still installing"),
        );
        let c = condition(&crd, "Established").unwrap();
        assert_eq!(c["lastTransitionTime"], "2020-01-01T00:00:00Z");
        assert_eq!(c["reason"], "Other");
        assert!(!is_true(&crd, "Established"));
        set_condition(
            &mut crd,
            Condition::new("Established", "True", "InitialNamesAccepted", "ok"),
        );
        let c = condition(&crd, "Established").unwrap();
        assert_ne!(c["lastTransitionTime"], "2020-01-01T00:00:00Z");
        assert!(is_true(&crd, "Established"));
        assert_eq!(crd["status"]["conditions"].as_array().unwrap().len(), 1);
    }
}
