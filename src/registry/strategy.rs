//! Per-resource hooks of the generic store, as upstream's `RESTCreateStrategy`,
//! `RESTUpdateStrategy` and `RESTDeleteStrategy`.
//!
//! The store does the generic part of every write (metadata rules, status split, generation,
//! preconditions, finalizers); a strategy adds what is particular to one resource. [`strategy_for`]
//! picks the built-in strategy of a resource: [`NamespaceStrategy`] for namespaces,
//! [`DefaultStrategy`] (configured from upstream's tables) for everything else.

use std::sync::Arc;

use futures::future::BoxFuture;
use serde_json::{json, Value};

use crate::api::status::ApiResult;
use crate::registry::catalog::ResourceInfo;
use crate::registry::defaults;
use crate::registry::metadata::{finalizers, meta_mut, meta_str, now_rfc3339};
use crate::registry::store::Store;
use crate::registry::validation::builtin;
use crate::registry::validation::names::NameRule;
use crate::registry::validation::FieldError;

/// What a delete request does to an existing object.
#[derive(Debug, Clone, PartialEq)]
pub enum DeleteAction {
    /// Remove the object from storage now.
    Remove,
    /// Store this updated object (deletion marked) and keep it.
    Mark(Value),
    /// Leave the object as it is (deletion already in progress) and answer it.
    Unchanged,
    /// Apply the store's generic deletion: upstream's `rest.BeforeDelete` (preconditions,
    /// graceful deletion through [`Strategy::graceful_delete_period`]) and the garbage
    /// collector's `orphan`/`foregroundDeletion` finalizers, as `genericregistry.Store.Delete`.
    Generic,
}

/// The per-resource behaviour of a [`crate::registry::store::Store`].
///
/// Every method has a default matching upstream's generic behaviour; implementations override only
/// what differs.
pub trait Strategy: Send + Sync + 'static {
    /// The syntax object names must follow.
    fn name_rule(&self) -> NameRule {
        NameRule::Dns1123Subdomain
    }

    /// Whether the resource has a `status` subresource: the main resource then cannot change
    /// `.status` and `/status` can change only `.status`.
    fn has_status_subresource(&self) -> bool {
        false
    }

    /// Whether `metadata.generation` is kept: set to 1 on create and bumped when anything but
    /// metadata (and status, with a status subresource) changes.
    fn tracks_generation(&self) -> bool {
        false
    }

    /// Whether PUT of a missing object creates it.
    fn allow_create_on_update(&self) -> bool {
        false
    }

    /// Whether an update without `metadata.resourceVersion` is accepted (last write wins).
    fn allow_unconditional_update(&self) -> bool {
        true
    }

    /// Resource-specific defaults on create (after the store set uid, timestamps, generation).
    fn prepare_for_create(&self, _obj: &mut Value) {}

    /// Resource-specific rules on update of the main resource; `old` is the stored object.
    fn prepare_for_update(&self, _new: &mut Value, _old: &Value) {}

    /// Resource-specific rules for a write to another subresource than the main one and `status`
    /// (e.g. namespaces' `finalize`). Returns `false` when the subresource is not writable.
    fn prepare_for_subresource_update(
        &self,
        _subresource: &str,
        _new: &mut Value,
        _old: &Value,
    ) -> bool {
        false
    }

    /// Admission of a create: upstream's admission plugins that change or refuse new objects of
    /// the resource (pods: ServiceAccount, DefaultTolerationSeconds, Priority). The store runs
    /// it after `prepare_for_create` and the namespace check, before name generation and
    /// validation. MUST answer upstream's error (usually 403 Forbidden) when the object is
    /// refused. The default admits everything unchanged.
    fn admit_create<'a>(&'a self, _obj: &'a mut Value) -> BoxFuture<'a, ApiResult<()>> {
        Box::pin(std::future::ready(Ok(())))
    }

    /// Called once every built-in store exists, for strategies whose admission reads other
    /// resources: `stores` finds a store by group and plural. The default needs nothing.
    fn connect(&self, _stores: &dyn Fn(&str, &str) -> Option<Arc<Store>>) {}

    /// Resource-specific validation of a new object (metadata is validated by the store).
    fn validate_create(&self, _obj: &Value) -> Vec<FieldError> {
        Vec::new()
    }

    /// Resource-specific validation of an update.
    fn validate_update(&self, _new: &Value, _old: &Value) -> Vec<FieldError> {
        Vec::new()
    }

    /// What a delete does to `obj`. The default, [`DeleteAction::Generic`], lets the store apply
    /// upstream's generic deletion; a resource whose upstream REST has its own `Delete`
    /// (namespaces, CRDs) overrides this and decides alone.
    fn begin_delete(&self, _obj: &Value) -> DeleteAction {
        DeleteAction::Generic
    }

    /// Upstream's `RESTGracefulDeleteStrategy.CheckGracefulDelete`: `None` when the resource has
    /// no graceful deletion (the default); otherwise the grace period in seconds (never negative)
    /// a first delete of `obj` gives it, from the `gracePeriodSeconds` the request asked for
    /// (`requested`, negative values already raised to 1). Only asked for objects not yet being
    /// deleted.
    fn graceful_delete_period(&self, _obj: &Value, _requested: Option<i64>) -> Option<i64> {
        None
    }

    /// Why a single delete of the object named `name` is refused with a 403, for resources whose
    /// upstream REST storage vetoes it before deleting (the system PriorityClasses); `None`
    /// lets it go ahead. Not asked by deletecollection, which upstream runs on the generic store.
    fn refuse_delete(&self, _name: &str) -> Option<&'static str> {
        None
    }

    /// Whether an object marked for deletion may now leave storage (checked after every update of
    /// a marked object). The default: no finalizers remain and no grace period is pending.
    fn ready_to_remove(&self, obj: &Value) -> bool {
        let grace = obj
            .pointer("/metadata/deletionGracePeriodSeconds")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        finalizers(obj).is_empty() && grace == 0
    }
}

/// The strategy of resources without special rules, configured by upstream's tables.
#[derive(Debug, Clone)]
pub struct DefaultStrategy {
    /// The resource's group and plural: which built-in defaults and validation apply.
    pub resource: (&'static str, &'static str),
    pub name_rule: NameRule,
    pub status_subresource: bool,
    pub tracks_generation: bool,
    pub allow_create_on_update: bool,
}

impl DefaultStrategy {
    /// The strategy of `info`'s resource, from upstream's per-type choices.
    pub fn for_resource(info: &ResourceInfo) -> Self {
        Self {
            resource: (info.group, info.plural),
            name_rule: NameRule::for_resource(info.group, info.plural),
            status_subresource: info.subresource("status").is_some(),
            tracks_generation: tracks_generation(info.group, info.plural),
            allow_create_on_update: allow_create_on_update(info.group, info.plural),
        }
    }
}

impl Strategy for DefaultStrategy {
    fn refuse_delete(&self, name: &str) -> Option<&'static str> {
        use crate::controllers::system_priority_classes::SYSTEM_PRIORITY_CLASSES;
        let system_class = self.resource == ("scheduling.k8s.io", "priorityclasses")
            && SYSTEM_PRIORITY_CLASSES
                .iter()
                .any(|(class, ..)| *class == name);
        // Upstream's `pkg/registry/scheduling/priorityclass/storage` Delete.
        system_class.then_some("this is a system priority class and cannot be deleted")
    }
    fn name_rule(&self) -> NameRule {
        self.name_rule
    }
    fn has_status_subresource(&self) -> bool {
        self.status_subresource
    }
    fn tracks_generation(&self) -> bool {
        self.tracks_generation
    }
    fn allow_create_on_update(&self) -> bool {
        self.allow_create_on_update
    }

    /// Upstream's defaults of the type, then the status its strategy starts objects with (and
    /// for Jobs the generated selector, then the labels defaulted from the template again, as
    /// upstream's read back from storage does).
    fn prepare_for_create(&self, obj: &mut Value) {
        let (group, plural) = self.resource;
        defaults::apply(group, plural, obj);
        if let Some(status) = defaults::initial_status(group, plural) {
            if let Some(map) = obj.as_object_mut() {
                map.insert("status".into(), status);
            }
        }
        if self.resource == ("batch", "jobs") {
            defaults::job_generated_selector(obj);
            defaults::job(obj);
        }
    }

    /// Upstream's defaults of the type (an update's body is decoded, hence defaulted, too).
    fn prepare_for_update(&self, new: &mut Value, _old: &Value) {
        defaults::apply(self.resource.0, self.resource.1, new);
    }

    fn validate_create(&self, obj: &Value) -> Vec<FieldError> {
        builtin::validate_create(self.resource.0, self.resource.1, obj)
    }

    /// Validation of the update. Objects stored before defaulting existed are compared as
    /// upstream compares them: defaulted on read.
    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        let (group, plural) = self.resource;
        if matches!(
            self.resource,
            ("", "pods") | ("batch", "jobs") | ("apps", "statefulsets")
        ) {
            let mut old = old.clone();
            defaults::apply(group, plural, &mut old);
            return builtin::validate_update(group, plural, new, &old);
        }
        builtin::validate_update(group, plural, new, old)
    }
}

/// Resources whose upstream strategy sets `generation = 1` on create and bumps it on spec changes.
/// Resources of groups outside kube-apiserver (custom resources, CRDs, APIServices) always do.
fn tracks_generation(group: &str, plural: &str) -> bool {
    const TRACKED: &[(&str, &str)] = &[
        ("", "replicationcontrollers"),
        ("apps", "deployments"),
        ("apps", "replicasets"),
        ("apps", "statefulsets"),
        ("apps", "daemonsets"),
        ("batch", "jobs"),
        ("batch", "cronjobs"),
        ("autoscaling", "horizontalpodautoscalers"),
        ("networking.k8s.io", "networkpolicies"),
        ("networking.k8s.io", "ingresses"),
        ("policy", "poddisruptionbudgets"),
        (
            "admissionregistration.k8s.io",
            "validatingwebhookconfigurations",
        ),
        (
            "admissionregistration.k8s.io",
            "mutatingwebhookconfigurations",
        ),
        (
            "admissionregistration.k8s.io",
            "validatingadmissionpolicies",
        ),
        (
            "admissionregistration.k8s.io",
            "validatingadmissionpolicybindings",
        ),
        ("flowcontrol.apiserver.k8s.io", "flowschemas"),
        (
            "flowcontrol.apiserver.k8s.io",
            "prioritylevelconfigurations",
        ),
        ("resource.k8s.io", "resourceclaims"),
        ("resource.k8s.io", "deviceclasses"),
    ];
    TRACKED.contains(&(group, plural)) || !crate::registry::keys::is_built_in_group(group)
}

/// Resources whose upstream strategy answers `AllowCreateOnUpdate() == true`.
fn allow_create_on_update(group: &str, plural: &str) -> bool {
    const ALLOWED: &[(&str, &str)] = &[
        ("", "endpoints"),
        ("", "events"),
        ("", "limitranges"),
        ("events.k8s.io", "events"),
        ("coordination.k8s.io", "leases"),
        ("discovery.k8s.io", "endpointslices"),
        ("rbac.authorization.k8s.io", "roles"),
        ("rbac.authorization.k8s.io", "rolebindings"),
        ("rbac.authorization.k8s.io", "clusterroles"),
        ("rbac.authorization.k8s.io", "clusterrolebindings"),
    ];
    ALLOWED.contains(&(group, plural))
}

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
        NameRule::Dns1123Label
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
}

/// The built-in strategy of a resource.
pub fn strategy_for(info: &ResourceInfo) -> Arc<dyn Strategy> {
    match (info.group, info.plural) {
        ("", "namespaces") => Arc::new(NamespaceStrategy),
        ("", "pods") => Arc::new(crate::registry::pod_strategy::PodStrategy::new(info)),
        ("", "services") => Arc::new(crate::registry::service::ServiceStrategy::new(info)),
        _ => Arc::new(DefaultStrategy::for_resource(info)),
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
    fn default_delete_is_the_stores_generic_deletion() {
        let s = DefaultStrategy {
            resource: ("", "configmaps"),
            name_rule: NameRule::Dns1123Subdomain,
            status_subresource: false,
            tracks_generation: false,
            allow_create_on_update: false,
        };
        let with = json!({"metadata": {"name": "a", "finalizers": ["example.com/f"]}});
        assert_eq!(s.begin_delete(&with), DeleteAction::Generic);
        assert_eq!(s.graceful_delete_period(&with, Some(5)), None);
        assert!(!s.ready_to_remove(&with));
        assert_eq!(s.refuse_delete("a"), None);
    }

    #[test]
    fn system_priority_classes_refuse_deletion() {
        let s = DefaultStrategy {
            resource: ("scheduling.k8s.io", "priorityclasses"),
            name_rule: NameRule::Dns1123Subdomain,
            status_subresource: false,
            tracks_generation: false,
            allow_create_on_update: false,
        };
        assert_eq!(
            s.refuse_delete("system-node-critical"),
            Some("this is a system priority class and cannot be deleted")
        );
        assert_eq!(s.refuse_delete("high"), None);
    }
}
