//! Namespaces (`pkg/registry/core/namespace`): `spec.finalizers` contains `kubernetes`,
//! `status.phase` is `Active` then `Terminating`; `/finalize` changes only `spec.finalizers`; a
//! namespace leaves storage once it is terminating with no `spec.finalizers` and no
//! `metadata.finalizers`. Names are DNS labels, and a delete answers the namespace.

use serde_json::{json, Value};

use crate::api::names::NameRule;
use crate::registry::metadata::{finalizers, meta_mut, meta_str, now_rfc3339};
use crate::registry::resources::Rules;
use crate::registry::strategy::{DeleteAction, Strategy};

/// The rules namespaces share with the generic ones.
pub const RULES: Rules = Rules {
    name_rule: NameRule::Dns1123Label,
    returns_deleted_object: true,
    ..Rules::GENERIC
};

/// The namespaces that may not be deleted (upstream NamespaceLifecycle's immortal namespaces).
pub const IMMORTAL_NAMESPACES: &[&str] = &["default", "kube-system", "kube-public"];

/// The `kubernetes` finalizer every namespace carries until its content is gone.
pub const NAMESPACE_FINALIZER: &str = "kubernetes";
/// The label upstream puts on every namespace with its own name.
pub const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// Namespaces: `spec.finalizers` contains `kubernetes`, `status.phase` is `Active` then
/// `Terminating`; `/finalize` changes only `spec.finalizers`; a namespace leaves storage once it is
/// terminating with no `spec.finalizers` and no `metadata.finalizers`.
#[derive(Debug, Clone, Default)]
pub struct NamespaceStrategy;

fn set_name_label(obj: &mut Value) {
    let name = meta_str(obj, "name").to_string();
    let meta = meta_mut(obj);
    let labels = meta.entry("labels").or_insert_with(|| json!({}));
    if !labels.is_object() {
        *labels = json!({});
    }
    if let Some(labels) = labels.as_object_mut() {
        labels.insert(NAMESPACE_NAME_LABEL.into(), Value::String(name));
    }
}

fn spec_finalizers(obj: &Value) -> Vec<Value> {
    obj.pointer("/spec/finalizers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn set_field(obj: &mut Value, section: &str, field: &str, value: Value) {
    if let Some(map) = obj.as_object_mut() {
        let section = map.entry(section).or_insert_with(|| json!({}));
        if !section.is_object() {
            *section = json!({});
        }
        if let Some(section) = section.as_object_mut() {
            section.insert(field.into(), value);
        }
    }
}

impl Strategy for NamespaceStrategy {
    fn name_rule(&self) -> NameRule {
        RULES.name_rule
    }
    fn returns_deleted_object(&self) -> bool {
        RULES.returns_deleted_object
    }
    fn has_status_subresource(&self) -> bool {
        true
    }

    fn prepare_for_create(&self, obj: &mut Value) {
        if let Some(map) = obj.as_object_mut() {
            map.insert("status".into(), json!({"phase": "Active"}));
        }
        let mut list = spec_finalizers(obj);
        if !list.iter().any(|f| f == NAMESPACE_FINALIZER) {
            list.push(Value::String(NAMESPACE_FINALIZER.into()));
        }
        set_field(obj, "spec", "finalizers", Value::Array(list));
        set_name_label(obj);
    }

    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        set_field(
            new,
            "spec",
            "finalizers",
            Value::Array(spec_finalizers(old)),
        );
        set_name_label(new);
    }

    fn serves_subresource(&self, subresource: &str) -> bool {
        subresource == "finalize"
    }

    fn prepare_for_subresource_update(
        &self,
        subresource: &str,
        new: &mut Value,
        old: &Value,
    ) -> bool {
        if subresource != "finalize" {
            return false;
        }
        let list = spec_finalizers(new);
        let mut result = old.clone();
        if let Some(meta) = new.get("metadata").cloned() {
            // Keep the request's resourceVersion (precondition) and managedFields.
            for field in ["resourceVersion", "managedFields"] {
                match meta.get(field) {
                    Some(v) => meta_mut(&mut result).insert(field.into(), v.clone()),
                    None => meta_mut(&mut result).remove(field),
                };
            }
        }
        set_field(&mut result, "spec", "finalizers", Value::Array(list));
        *new = result;
        true
    }

    fn begin_delete(&self, obj: &Value) -> DeleteAction {
        if meta_str(obj, "deletionTimestamp").is_empty() {
            let mut marked = obj.clone();
            meta_mut(&mut marked).insert("deletionTimestamp".into(), Value::String(now_rfc3339()));
            meta_mut(&mut marked).insert("deletionGracePeriodSeconds".into(), json!(0));
            set_field(&mut marked, "status", "phase", json!("Terminating"));
            return DeleteAction::Mark(marked);
        }
        if self.ready_to_remove(obj) {
            DeleteAction::Remove
        } else {
            DeleteAction::Unchanged
        }
    }

    fn ready_to_remove(&self, obj: &Value) -> bool {
        spec_finalizers(obj).is_empty() && finalizers(obj).is_empty()
    }

    /// NamespaceLifecycle's delete half: the immortal namespaces stay (namespaces have no
    /// deletecollection, so every delete passes here).
    fn refuse_delete(&self, name: &str) -> Option<&'static str> {
        IMMORTAL_NAMESPACES
            .contains(&name)
            .then_some("this namespace may not be deleted")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_lifecycle_hooks() {
        let s = NamespaceStrategy;
        let mut ns = json!({"metadata": {"name": "a"}, "spec": {"finalizers": ["x/y"]}, "status": {"phase": "Bogus"}});
        s.prepare_for_create(&mut ns);
        assert_eq!(ns["spec"]["finalizers"], json!(["x/y", "kubernetes"]));
        assert_eq!(ns["status"]["phase"], "Active");
        assert_eq!(ns["metadata"]["labels"][NAMESPACE_NAME_LABEL], "a");

        let DeleteAction::Mark(marked) = s.begin_delete(&ns) else {
            panic!("first delete marks")
        };
        assert_eq!(marked["status"]["phase"], "Terminating");
        assert_eq!(s.begin_delete(&marked), DeleteAction::Unchanged);

        let mut finalize = json!({"metadata": {"name": "a", "resourceVersion": "5"}, "spec": {"finalizers": []}, "status": {"phase": "Active"}});
        assert!(s.serves_subresource("finalize") && !s.serves_subresource("status"));
        assert!(s.prepare_for_subresource_update("finalize", &mut finalize, &marked));
        assert_eq!(
            finalize["status"]["phase"], "Terminating",
            "finalize keeps everything but spec.finalizers"
        );
        assert_eq!(finalize["metadata"]["resourceVersion"], "5");
        assert!(s.ready_to_remove(&finalize));
        assert_eq!(s.begin_delete(&finalize), DeleteAction::Remove);
    }

    #[test]
    fn immortal_namespaces_refuse_deletion() {
        let s = NamespaceStrategy;
        for name in ["default", "kube-system", "kube-public"] {
            assert_eq!(
                s.refuse_delete(name),
                Some("this namespace may not be deleted")
            );
        }
        assert_eq!(s.refuse_delete("kube-node-lease"), None);
        assert_eq!(s.refuse_delete("team"), None);
    }
}
