//! The `customresourcedefinitions` resource: its catalogue row and its strategy, as upstream's
//! `apiextensions-apiserver/pkg/registry/customresourcedefinition` (`strategy.go`, `etcd.go`).

use serde_json::{json, Value};

use super::cel::CelValidator;
use super::conditions::{set_condition, Condition};
use super::crd_validation;
use crate::catalog::{build, ResourceInfo};
use crate::registry::metadata::{finalizers, is_being_deleted, meta_mut, now_rfc3339};
use crate::registry::strategy::{
    DeleteAction, FieldPath, StatusUpdate, Strategy, SPEC_AND_METADATA,
};
use crate::registry::validation::FieldError;

/// The group of CRDs.
pub const GROUP: &str = "apiextensions.k8s.io";

/// The finalizer every CRD being deleted carries until its custom resources are gone.
pub const CLEANUP_FINALIZER: &str = "customresourcecleanup.apiextensions.k8s.io";

/// `apiextensions.k8s.io/v1` `customresourcedefinitions`, as upstream's discovery lists it.
pub fn crd_resource() -> ResourceInfo {
    ResourceInfo {
        short_names: build::names(&["crd", "crds"]),
        categories: build::names(&["api-extensions"]),
        subresources: vec![build::status("CustomResourceDefinition")],
        ..build::resource(
            GROUP,
            "v1",
            "CustomResourceDefinition",
            "customresourcedefinitions",
            "customresourcedefinition",
            false,
        )
    }
}

/// The storage version a CRD's `spec.versions` names (the one with `storage: true`).
pub fn storage_version(crd: &Value) -> Option<&str> {
    crd.pointer("/spec/versions")?
        .as_array()?
        .iter()
        .find(|v| v.get("storage").and_then(Value::as_bool) == Some(true))?
        .get("name")?
        .as_str()
}

/// Adds the storage version to `status.storedVersions` when it is not there yet.
fn record_storage_version(crd: &mut Value) {
    let Some(version) = storage_version(crd).map(str::to_string) else {
        return;
    };
    let Some(map) = crd.as_object_mut() else {
        return;
    };
    let status = map.entry("status").or_insert_with(|| json!({}));
    if !status.is_object() {
        *status = json!({});
    }
    let stored = status
        .as_object_mut()
        .map(|s| s.entry("storedVersions").or_insert_with(|| json!([])));
    if let Some(stored) = stored {
        if !stored.is_array() {
            *stored = json!([]);
        }
        if let Some(list) = stored.as_array_mut() {
            if !list.iter().any(|v| v.as_str() == Some(version.as_str())) {
                list.push(Value::String(version));
            }
        }
    }
}

/// Upstream's `apiextensions/v1` defaulting (`defaults.go`): `singular` is the lower-cased kind,
/// `listKind` is `<kind>List`, the conversion strategy is `None`, and a conversion webhook's
/// service port is 443.
fn apply_defaults(crd: &mut Value) {
    let Some(spec) = crd.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    if let Some(names) = spec.get_mut("names").and_then(Value::as_object_mut) {
        let kind = names
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let empty = |v: Option<&Value>| v.and_then(Value::as_str).is_none_or(str::is_empty);
        if empty(names.get("singular")) {
            names.insert("singular".into(), Value::String(kind.to_lowercase()));
        }
        if empty(names.get("listKind")) && !kind.is_empty() {
            names.insert("listKind".into(), Value::String(format!("{kind}List")));
        }
    }
    let conversion = spec
        .entry("conversion")
        .or_insert_with(|| json!({"strategy": "None"}));
    if conversion.is_null() {
        *conversion = json!({"strategy": "None"});
    }
    if let Some(service) = conversion
        .pointer_mut("/webhook/clientConfig/service")
        .and_then(Value::as_object_mut)
    {
        service.entry("port").or_insert(json!(443));
    }
}

/// The errors of the `x-kubernetes-validations` rules of every version's schema (rules that do
/// not compile, bad messages, reasons or field paths), as upstream's CRD validation reports them.
fn cel_rule_errors(crd: &Value) -> Vec<FieldError> {
    let versions = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    versions
        .iter()
        .enumerate()
        .filter_map(|(i, version)| {
            let schema = version.pointer("/schema/openAPIV3Schema")?;
            let prefix = format!("spec.versions[{i}].schema.openAPIV3Schema");
            CelValidator::compile(schema, &prefix).err()
        })
        .flatten()
        .collect()
}

/// The strategy of CRDs: upstream's validation, the status reset on create, stored versions kept
/// up to date, and the cleanup finalizer with the `Terminating` condition on delete.
#[derive(Debug, Default)]
pub struct CrdStrategy;

impl Strategy for CrdStrategy {
    fn has_status_subresource(&self) -> bool {
        true
    }

    /// Upstream's CRD status strategy: labels, annotations and owner references stay too.
    fn status_update(&self) -> StatusUpdate {
        StatusUpdate::Resets(&[
            &["spec"],
            &["metadata", "labels"],
            &["metadata", "annotations"],
            &["metadata", "ownerReferences"],
        ])
    }

    fn status_reset_fields(&self) -> &'static [FieldPath] {
        SPEC_AND_METADATA
    }

    fn tracks_generation(&self) -> bool {
        true
    }

    /// Upstream's `PrepareForCreate`: a fresh status whose `storedVersions` is the storage version.
    fn prepare_for_create(&self, obj: &mut Value) {
        apply_defaults(obj);
        if let Some(map) = obj.as_object_mut() {
            map.insert(
                "status".into(),
                json!({"acceptedNames": {"kind": "", "plural": ""}, "storedVersions": []}),
            );
        }
        record_storage_version(obj);
    }

    /// Upstream's `PrepareForUpdate` (the store has already carried the old status over).
    fn prepare_for_update(&self, new: &mut Value, _old: &Value) {
        apply_defaults(new);
        record_storage_version(new);
    }

    fn validate_create(&self, obj: &Value) -> Vec<FieldError> {
        let mut errors = crd_validation::validate_create(obj);
        errors.extend(cel_rule_errors(obj));
        errors
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        let mut errors = crd_validation::validate_update(new, old);
        errors.extend(cel_rule_errors(new));
        errors
    }

    /// Upstream's `REST.Delete`: the first delete marks the CRD (deletion timestamp, cleanup
    /// finalizer, `Terminating` condition); the finalizer controller removes the custom resources
    /// and then the finalizer, and the CRD leaves storage.
    fn begin_delete(&self, obj: &Value) -> DeleteAction {
        if is_being_deleted(obj) {
            return DeleteAction::Unchanged;
        }
        let mut marked = obj.clone();
        let mut present = finalizers(obj);
        if !present.iter().any(|f| f == CLEANUP_FINALIZER) {
            present.push(CLEANUP_FINALIZER.to_string());
        }
        let meta = meta_mut(&mut marked);
        meta.insert("deletionTimestamp".into(), Value::String(now_rfc3339()));
        meta.insert("deletionGracePeriodSeconds".into(), json!(0));
        meta.insert("finalizers".into(), json!(present));
        set_condition(
            &mut marked,
            Condition::new(
                "Terminating",
                "True",
                "InstanceDeletionPending",
                "CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon",
            ),
        );
        DeleteAction::Mark(marked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apiextensions::conditions::condition;

    fn crd() -> Value {
        json!({
            "metadata": {"name": "crontabs.stable.example.com"},
            "spec": {"group": "stable.example.com", "versions": [
                {"name": "v1beta1", "served": true, "storage": false},
                {"name": "v1", "served": true, "storage": true},
            ]},
        })
    }

    #[test]
    fn create_resets_status_to_the_storage_version() {
        let mut obj = crd();
        obj["status"] = json!({"storedVersions": ["v9"], "conditions": [{"type": "Established"}]});
        CrdStrategy.prepare_for_create(&mut obj);
        assert_eq!(obj["status"]["storedVersions"], json!(["v1"]));
        assert!(obj["status"].get("conditions").is_none());
    }

    #[test]
    fn defaults_fill_names_and_conversion() {
        let mut obj = crd();
        obj["spec"]["names"] = json!({"plural": "crontabs", "kind": "CronTab"});
        CrdStrategy.prepare_for_create(&mut obj);
        assert_eq!(obj["spec"]["names"]["singular"], "crontab");
        assert_eq!(obj["spec"]["names"]["listKind"], "CronTabList");
        assert_eq!(obj["spec"]["conversion"], json!({"strategy": "None"}));
    }

    #[test]
    fn update_appends_a_new_storage_version() {
        let mut obj = crd();
        obj["status"] = json!({"storedVersions": ["v1beta1"]});
        CrdStrategy.prepare_for_update(&mut obj, &crd());
        assert_eq!(obj["status"]["storedVersions"], json!(["v1beta1", "v1"]));
        CrdStrategy.prepare_for_update(&mut obj, &crd());
        assert_eq!(obj["status"]["storedVersions"], json!(["v1beta1", "v1"]));
    }

    #[test]
    fn delete_marks_with_the_cleanup_finalizer() {
        let DeleteAction::Mark(marked) = CrdStrategy.begin_delete(&crd()) else {
            panic!("the first delete marks the CRD");
        };
        assert_eq!(finalizers(&marked), vec![CLEANUP_FINALIZER.to_string()]);
        assert!(is_being_deleted(&marked));
        let terminating = condition(&marked, "Terminating").expect("Terminating");
        assert_eq!(terminating["reason"], "InstanceDeletionPending");
        assert_eq!(CrdStrategy.begin_delete(&marked), DeleteAction::Unchanged);
    }
}
