//! The core group (`/api/v1`): the rules of its resources (`pkg/registry/core/<resource>`); those
//! with more to say have their own files: [`namespaces`] (with its own strategy) and
//! [`namespace_lifecycle`] (the namespace lookup of creates), [`pods`], [`services`] (with the
//! ClusterIP and NodePort allocators).

pub mod componentstatuses;
pub mod namespace_lifecycle;
pub mod namespaces;
pub mod pod_subresources;
pub mod pods;
pub mod services;

use serde_json::{json, Value};

use super::rules::no_replicas;
use super::Rules;
use crate::registry::defaults;
use crate::registry::strategy::{CreateRest, GcPolicy};
use crate::registry::validation::{apps, core, pod_spec, FieldError};

/// Bindings: a create sets the pod's node (`pkg/registry/core/pod/storage` BindingREST).
pub const BINDINGS: Rules = Rules {
    create_rest: binding_creates,
    ..Rules::GENERIC
};

/// ConfigMaps: data keys and immutability.
pub const CONFIG_MAPS: Rules = Rules {
    validate_create: core::validate_config_map,
    validate_update: Some(core::validate_config_map_update),
    ..Rules::GENERIC
};

/// Endpoints: port protocols default to TCP; a PUT creates.
pub const ENDPOINTS: Rules = Rules {
    allow_create_on_update: true,
    defaults: defaults::endpoints,
    ..Rules::GENERIC
};

/// Events (core and `events.k8s.io`): a PUT creates; they take no garbage-collection
/// finalizers (`pkg/registry/core/event`).
pub const EVENTS: Rules = Rules {
    allow_create_on_update: true,
    gc_policy: GcPolicy::Unsupported,
    ..Rules::GENERIC
};

/// LimitRanges: a PUT creates; Container items' defaults derived from their bounds.
pub const LIMIT_RANGES: Rules = Rules {
    defaults: defaults::limit_range,
    ..Rules::CREATE_ON_UPDATE
};

/// PersistentVolumeClaims: spec defaults, and phase `Pending` to start with.
pub const PERSISTENT_VOLUME_CLAIMS: Rules = Rules {
    defaults: defaults::persistent_volume_claim,
    initial_status: Some(pending),
    ..Rules::GENERIC
};

/// PersistentVolumes: spec defaults, and phase `Pending` to start with.
pub const PERSISTENT_VOLUMES: Rules = Rules {
    defaults: defaults::persistent_volume,
    initial_status: Some(pending),
    ..Rules::GENERIC
};

/// PodTemplates: the template defaulted and validated as a pod's.
pub const POD_TEMPLATES: Rules = Rules {
    defaults: defaults::pod_template_object,
    validate_create: validate_pod_template_object,
    ..Rules::GENERIC
};

/// ReplicationControllers: generation, defaults, `status.replicas: 0`, validation; they orphan
/// their pods unless told otherwise (kept for backwards compatibility); a `scale` subresource
/// over the label map at `.spec.selector`.
pub const REPLICATION_CONTROLLERS: Rules = Rules {
    tracks_generation: true,
    gc_policy: GcPolicy::OrphanDependents,
    defaults: defaults::replication_controller,
    initial_status: Some(no_replicas),
    validate_create: apps::validate_replication_controller,
    scale: Some(crate::registry::scale::ScalePaths::replication_controller),
    ..Rules::GENERIC
};

/// ResourceQuotas: `spec.hard` in canonical quantities.
pub const RESOURCE_QUOTAS: Rules = Rules {
    defaults: defaults::resource_quota,
    ..Rules::GENERIC
};

/// Secrets: type `Opaque` by default, data keys, type rules and immutability.
pub const SECRETS: Rules = Rules {
    defaults: defaults::secret,
    validate_create: core::validate_secret,
    validate_update: Some(core::validate_secret_update),
    ..Rules::GENERIC
};

/// ServiceAccounts: a delete answers the deleted object; `serviceaccounts/<name>/token` issues a
/// token (`pkg/registry/core/serviceaccount/storage` TokenREST).
pub const SERVICE_ACCOUNTS: Rules = Rules {
    returns_deleted_object: true,
    create_rest: service_account_creates,
    ..Rules::GENERIC
};

fn binding_creates(subresource: Option<&str>) -> Option<CreateRest> {
    subresource.is_none().then_some(CreateRest::Binding)
}

fn service_account_creates(subresource: Option<&str>) -> Option<CreateRest> {
    match subresource {
        None => Some(CreateRest::Store),
        Some("token") => Some(CreateRest::TokenRequest),
        Some(_) => None,
    }
}

fn pending() -> Value {
    json!({"phase": "Pending"})
}

fn validate_pod_template_object(obj: &Value) -> Vec<FieldError> {
    pod_spec::validate_pod_template(obj.get("template"), "template")
}
