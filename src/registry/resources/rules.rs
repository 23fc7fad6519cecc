//! [`Rules`]: what is particular to one built-in resource, as upstream's strategy of it and the
//! flags of its store state it; [`RulesStrategy`]: the [`Strategy`] of a resource that has nothing
//! beyond rules.

use serde_json::Value;

use crate::api::names::NameRule;
use crate::registry::scale::ScalePaths;
use crate::registry::strategy::{
    ConnectRest, CreateRest, FieldPath, GcPolicy, StatusUpdate, Strategy, SPEC,
};
use crate::registry::validation::FieldError;

/// The update subresources of a resource besides `status` (upstream's strategies of
/// `pods/ephemeralcontainers`, `pods/resize`): which it serves, what an update of one stores
/// (new, old; `false` when not writable) and how it is validated (`None`: not one of them).
#[derive(Clone, Copy)]
pub struct SubresourceRules {
    pub serves: fn(&str) -> bool,
    pub prepare_update: fn(&str, &mut Value, &Value) -> bool,
    pub validate_update: fn(&str, &Value, &Value) -> Option<Vec<FieldError>>,
}

/// The rules of one built-in resource. A resource states what differs from [`Rules::GENERIC`].
#[derive(Clone, Copy)]
pub struct Rules {
    /// The syntax of object names (upstream's name validation function of the type).
    pub name_rule: NameRule,
    /// `metadata.generation` is kept: 1 on create, bumped when anything but metadata (and status,
    /// with a status subresource) changes.
    pub tracks_generation: bool,
    /// A PUT of a missing object creates it (`AllowCreateOnUpdate`).
    pub allow_create_on_update: bool,
    /// What a delete does to dependents when the request does not say
    /// (`DefaultGarbageCollectionPolicy`).
    pub gc_policy: GcPolicy,
    /// A delete answers the deleted object rather than a Status (`ReturnDeletedObject`).
    pub returns_deleted_object: bool,
    /// Upstream's defaulters of the type, on every create and update.
    pub defaults: fn(&mut Value),
    /// What an update does after the defaults, given the stored object (new, old): upstream's
    /// `PrepareForUpdate`.
    pub prepare_update: Option<fn(&mut Value, &Value)>,
    /// The status a create starts with, whatever the client sent.
    pub initial_status: Option<fn() -> Value>,
    /// What a create does after the defaults and the initial status (Jobs: the generated
    /// selector).
    pub after_create_defaults: Option<fn(&mut Value)>,
    /// Upstream's `Validate`.
    pub validate_create: fn(&Value) -> Vec<FieldError>,
    /// Upstream's `ValidateUpdate` (new, old); `None` validates the new object as a create.
    pub validate_update: Option<fn(&Value, &Value) -> Vec<FieldError>>,
    /// The stored object is defaulted before an update is validated against it, as upstream's
    /// decoding of stored objects defaults them (objects stored before a default existed).
    pub defaults_stored_before_update: bool,
    /// The grace period of a first delete, from the requested one (see
    /// [`Strategy::graceful_delete_period`]); `None`: the resource has no graceful deletion.
    pub graceful_delete: Option<fn(&Value, Option<i64>) -> i64>,
    /// Why a single delete of the named object is refused with a 403; `None` lets it go ahead.
    pub refuse_delete: fn(&str) -> Option<&'static str>,
    /// Where the `scale` subresource reads and writes; `None`: the resource has none.
    pub scale: Option<fn() -> ScalePaths>,
    /// What a create of the resource or of a subresource does (see [`Strategy::create_rest`]).
    pub create_rest: fn(Option<&str>) -> Option<CreateRest>,
    /// What a write of `/status` keeps from the stored object (the status strategy's
    /// `PrepareForUpdate`).
    pub status_resets: &'static [FieldPath],
    /// The status strategy's `GetResetFields` when they differ from `status_resets`.
    pub status_reset_fields: Option<&'static [FieldPath]>,
    /// The update subresources besides `status`; `None`: none.
    pub subresources: Option<SubresourceRules>,
    /// The connect subresources served (`pods/log`, `pods/exec`, ...).
    pub connect: fn(&str) -> Option<ConnectRest>,
}

fn no_defaults(_: &mut Value) {}

fn no_connect(_: &str) -> Option<ConnectRest> {
    None
}

fn no_validation(_: &Value) -> Vec<FieldError> {
    Vec::new()
}

fn deletable(_: &str) -> Option<&'static str> {
    None
}

fn store_creates(subresource: Option<&str>) -> Option<CreateRest> {
    subresource.is_none().then_some(CreateRest::Store)
}

/// What upstream's `metav1.ResetObjectMetaForStatus` keeps, with `spec`: the status write of
/// VolumeAttachments, ValidatingAdmissionPolicies and ResourceClaims takes only the status.
pub(super) const META_FOR_STATUS: &[FieldPath] = &[
    &["spec"],
    &["metadata", "labels"],
    &["metadata", "annotations"],
    &["metadata", "finalizers"],
    &["metadata", "ownerReferences"],
];

/// The initial status `{}` (Deployments, Jobs, CronJobs).
pub(super) fn empty_status() -> Value {
    serde_json::json!({})
}

/// The initial status `{replicas: 0}` (ReplicaSets, ReplicationControllers).
pub(super) fn no_replicas() -> Value {
    serde_json::json!({"replicas": 0})
}

impl Rules {
    /// Upstream's generic store and strategy.
    pub const GENERIC: Rules = Rules {
        name_rule: NameRule::Dns1123Subdomain,
        tracks_generation: false,
        allow_create_on_update: false,
        gc_policy: GcPolicy::DeleteDependents,
        returns_deleted_object: false,
        defaults: no_defaults,
        prepare_update: None,
        initial_status: None,
        after_create_defaults: None,
        validate_create: no_validation,
        validate_update: None,
        defaults_stored_before_update: false,
        graceful_delete: None,
        refuse_delete: deletable,
        scale: None,
        create_rest: store_creates,
        status_resets: SPEC,
        status_reset_fields: None,
        subresources: None,
        connect: no_connect,
    };

    /// Upstream's generic rules with generation tracking.
    pub const TRACKS_GENERATION: Rules = Rules {
        tracks_generation: true,
        ..Rules::GENERIC
    };

    /// Upstream's generic rules where a PUT of a missing object creates it.
    pub const CREATE_ON_UPDATE: Rules = Rules {
        allow_create_on_update: true,
        ..Rules::GENERIC
    };

    /// Upstream's generic rules where a delete answers the deleted object.
    pub const RETURNS_DELETED_OBJECT: Rules = Rules {
        returns_deleted_object: true,
        ..Rules::GENERIC
    };

    /// The problems of an update from `old` to `new`, as the resource's validation reports them
    /// (without defaulting `old`).
    pub fn validate_update_of(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        match self.validate_update {
            Some(validate) => validate(new, old),
            None => (self.validate_create)(new),
        }
    }

    /// The initial status of a create, when the resource has one.
    pub fn initial_status(&self) -> Option<Value> {
        self.initial_status.map(|status| status())
    }
}

impl std::fmt::Debug for Rules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rules")
            .field("name_rule", &self.name_rule)
            .field("tracks_generation", &self.tracks_generation)
            .field("allow_create_on_update", &self.allow_create_on_update)
            .field("gc_policy", &self.gc_policy)
            .field("returns_deleted_object", &self.returns_deleted_object)
            .finish_non_exhaustive()
    }
}

/// The strategy of a resource with nothing beyond its [`Rules`].
#[derive(Debug, Clone, Copy)]
pub struct RulesStrategy {
    rules: Rules,
    status_subresource: bool,
}

impl RulesStrategy {
    /// The strategy of a resource with `rules`, with or without a status subresource.
    pub fn new(rules: Rules, status_subresource: bool) -> Self {
        Self {
            rules,
            status_subresource,
        }
    }

    /// The rules it applies.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }
}

impl Strategy for RulesStrategy {
    fn name_rule(&self) -> NameRule {
        self.rules.name_rule
    }
    fn has_status_subresource(&self) -> bool {
        self.status_subresource
    }
    fn tracks_generation(&self) -> bool {
        self.rules.tracks_generation
    }
    fn allow_create_on_update(&self) -> bool {
        self.rules.allow_create_on_update
    }
    fn gc_policy(&self) -> GcPolicy {
        self.rules.gc_policy
    }
    fn returns_deleted_object(&self) -> bool {
        self.rules.returns_deleted_object
    }
    fn scale(&self) -> Option<ScalePaths> {
        self.rules.scale.map(|scale| scale())
    }
    fn refuse_delete(&self, name: &str) -> Option<&'static str> {
        (self.rules.refuse_delete)(name)
    }
    fn graceful_delete_period(&self, obj: &Value, requested: Option<i64>) -> Option<i64> {
        self.rules
            .graceful_delete
            .map(|period| period(obj, requested))
    }
    fn create_rest(&self, subresource: Option<&str>) -> Option<CreateRest> {
        (self.rules.create_rest)(subresource)
    }
    fn status_update(&self) -> StatusUpdate {
        StatusUpdate::Resets(self.rules.status_resets)
    }
    fn status_reset_fields(&self) -> &'static [FieldPath] {
        self.rules
            .status_reset_fields
            .unwrap_or(self.rules.status_resets)
    }

    fn connect_rest(&self, subresource: &str) -> Option<ConnectRest> {
        (self.rules.connect)(subresource)
    }
    fn serves_subresource(&self, subresource: &str) -> bool {
        self.rules
            .subresources
            .is_some_and(|rules| (rules.serves)(subresource))
    }
    fn prepare_for_subresource_update(
        &self,
        subresource: &str,
        new: &mut Value,
        old: &Value,
    ) -> bool {
        self.rules
            .subresources
            .is_some_and(|rules| (rules.prepare_update)(subresource, new, old))
    }
    fn validate_subresource_update(
        &self,
        subresource: &str,
        new: &Value,
        old: &Value,
    ) -> Vec<FieldError> {
        let own = self
            .rules
            .subresources
            .and_then(|rules| (rules.validate_update)(subresource, new, old));
        own.unwrap_or_else(|| self.validate_update(new, old))
    }

    /// The defaults, then the initial status, then what the resource does after them.
    fn prepare_for_create(&self, obj: &mut Value) {
        (self.rules.defaults)(obj);
        if let Some(status) = self.rules.initial_status() {
            if let Some(map) = obj.as_object_mut() {
                map.insert("status".into(), status);
            }
        }
        if let Some(after) = self.rules.after_create_defaults {
            after(obj);
        }
    }

    fn apply_defaults(&self, obj: &mut Value) {
        (self.rules.defaults)(obj);
    }

    fn after_create_admission(&self, obj: &mut Value) {
        if let Some(after) = self.rules.after_create_defaults {
            after(obj);
        }
    }

    /// The defaults (an update's body is decoded, hence defaulted, too), then what the resource
    /// does with the stored object.
    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        (self.rules.defaults)(new);
        if let Some(prepare) = self.rules.prepare_update {
            prepare(new, old);
        }
    }

    fn validate_create(&self, obj: &Value) -> Vec<FieldError> {
        (self.rules.validate_create)(obj)
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        if self.rules.defaults_stored_before_update {
            let mut old = old.clone();
            (self.rules.defaults)(&mut old);
            return self.rules.validate_update_of(new, &old);
        }
        self.rules.validate_update_of(new, old)
    }
}
