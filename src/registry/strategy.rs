//! Per-resource hooks of the generic store, as upstream's `RESTCreateStrategy`,
//! `RESTUpdateStrategy` and `RESTDeleteStrategy`.
//!
//! The store does the generic part of every write (metadata rules, status split, generation,
//! preconditions, finalizers); a strategy adds what is particular to one resource. The strategies
//! of the built-in resources are in `registry::resources`; CRDs, custom resources and
//! APIServices have theirs beside their servers.

use serde_json::Value;

use crate::api::names::NameRule;
use crate::registry::metadata::finalizers;
use crate::registry::scale::ScalePaths;
use crate::registry::validation::FieldError;

/// What a delete does to the dependents of an object when the request does not say
/// (upstream's `DefaultGarbageCollectionPolicy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GcPolicy {
    /// Dependents are deleted (in the background).
    DeleteDependents,
    /// Dependents are orphaned: the `orphan` finalizer is added.
    OrphanDependents,
    /// The resource takes no garbage-collection finalizers at all.
    Unsupported,
}

/// What a create of a resource, or of one of its subresources, does when the generic store does
/// not serve it: upstream's REST objects of operations (`pods/binding`, `serviceaccounts/token`)
/// and of the review resources, whose creates answer without storing the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateRest {
    /// The generic store's create.
    Store,
    /// A Binding sets a pod's node (`bindings`, `pods/binding`).
    Binding,
    /// An Eviction deletes a pod unless a PodDisruptionBudget forbids it (`pods/eviction`).
    Eviction,
    /// A TokenRequest issues a ServiceAccount token (`serviceaccounts/token`).
    TokenRequest,
    /// A TokenReview authenticates a token.
    TokenReview,
    /// A SelfSubjectReview answers who the requester is.
    SelfSubjectReview,
    /// The access reviews of `authorization.k8s.io`.
    AccessReview,
}

/// What a connect subresource of a resource does (upstream's `rest.Connecter`s of pods), for
/// the subresources served as connections rather than objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectRest {
    /// `pods/log`: the container's log from the pod's kubelet.
    PodLog,
    /// `pods/exec` and `pods/attach`: a stream to a container through the pod's kubelet.
    PodStream,
    /// `pods/portforward`: a stream to the pod's ports through its kubelet.
    PodPortForward,
}

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

/// A field of an object: its keys from the root (`&["metadata", "labels"]`).
pub type FieldPath = &'static [&'static str];

/// `spec`: what most status strategies reset.
pub const SPEC: &[FieldPath] = &[&["spec"]];

/// `spec` and `metadata`: the reset fields of status strategies that keep the stored metadata.
pub const SPEC_AND_METADATA: &[FieldPath] = &[&["spec"], &["metadata"]];

/// What a write of `/status` takes from the stored object (upstream's status strategy's
/// `PrepareForUpdate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusUpdate {
    /// These fields (`["metadata"]`: all of it but managedFields); everything else comes from the
    /// request, metadata included (the store keeps the system fields of every update).
    Resets(&'static [FieldPath]),
    /// Everything but `.status` and managedFields (custom resources' status strategy).
    KeepsAllButStatus,
}

/// The per-resource behaviour of a store (`registry::store::Store`).
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

    /// What a write of `/status` keeps from the stored object. The default: `spec`.
    fn status_update(&self) -> StatusUpdate {
        StatusUpdate::Resets(SPEC)
    }

    /// The fields a write of `/status` resets, as upstream's status strategy's `GetResetFields`
    /// declares them: no manager of a status write (update or server-side apply) owns them, and
    /// an apply neither merges nor conflicts on them. The default: what
    /// [`Strategy::status_update`] resets (`spec` when it keeps all but status).
    fn status_reset_fields(&self) -> &'static [FieldPath] {
        match self.status_update() {
            StatusUpdate::Resets(fields) => fields,
            StatusUpdate::KeepsAllButStatus => SPEC,
        }
    }

    /// The fields a write of the main resource keeps from the stored object and no manager of it
    /// owns (upstream's main strategy's `GetResetFields`). The default: `status` with a status
    /// subresource, nothing otherwise.
    fn reset_fields(&self) -> &'static [FieldPath] {
        if self.has_status_subresource() {
            &[&["status"]]
        } else {
            &[]
        }
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

    /// The kind's defaults, as decoding a body applies them (upstream's defaulting funcs).
    /// Mutating admission applies them to the object a webhook patched, as upstream decodes
    /// the patched JSON. MUST be idempotent.
    fn apply_defaults(&self, _obj: &mut Value) {}

    /// What a create derives from fields mutating admission may have changed, run again after
    /// it (upstream runs `PrepareForCreate` after admission: a pod's QoS class reflects the
    /// requests LimitRanger set). MUST be idempotent.
    fn after_create_admission(&self, _obj: &mut Value) {}

    /// Resource-specific rules on update of the main resource; `old` is the stored object.
    fn prepare_for_update(&self, _new: &mut Value, _old: &Value) {}

    /// Whether the REST layer serves get, update and patch of `subresource` (besides `status`),
    /// whose updates [`Strategy::prepare_for_subresource_update`] prepares (CSRs' `approval`).
    fn serves_subresource(&self, _subresource: &str) -> bool {
        false
    }

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

    /// Validation of an update through `subresource` (neither the main resource nor `status`),
    /// upstream's subresource strategies' `ValidateUpdate`. The default: [`Strategy::validate_update`].
    fn validate_subresource_update(
        &self,
        _subresource: &str,
        new: &Value,
        old: &Value,
    ) -> Vec<FieldError> {
        self.validate_update(new, old)
    }

    /// Resource-specific validation of a new object (metadata is validated by the store).
    fn validate_create(&self, _obj: &Value) -> Vec<FieldError> {
        Vec::new()
    }

    /// Resource-specific validation of an update.
    fn validate_update(&self, _new: &Value, _old: &Value) -> Vec<FieldError> {
        Vec::new()
    }

    /// What a create of the resource (`subresource` `None`) or of one of its subresources does;
    /// `None` when that subresource takes no create. The default: the store creates the resource
    /// itself, and no subresource takes a create.
    fn create_rest(&self, subresource: Option<&str>) -> Option<CreateRest> {
        subresource.is_none().then_some(CreateRest::Store)
    }

    /// What the connect subresource `subresource` does; `None` (the default) when it is not one
    /// this server serves.
    fn connect_rest(&self, _subresource: &str) -> Option<ConnectRest> {
        None
    }

    /// What a delete does to dependents when the request does not say. The default:
    /// [`GcPolicy::DeleteDependents`].
    fn gc_policy(&self) -> GcPolicy {
        GcPolicy::DeleteDependents
    }

    /// Whether a delete that removed the object answers the object rather than a Status
    /// (upstream's `ReturnDeletedObject`). The default: a Status.
    fn returns_deleted_object(&self) -> bool {
        false
    }

    /// Where the resource's `scale` subresource reads and writes; `None` (the default): it has
    /// none.
    fn scale(&self) -> Option<ScalePaths> {
        None
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
