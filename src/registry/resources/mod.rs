//! Every built-in resource's rules, in one place per resource, fixed when its store is built: what
//! upstream keeps in `pkg/registry/<group>/<resource>/strategy.go` and in the flags of the
//! resource's `Store` (`ReturnDeletedObject`, the garbage-collection policy, the scale
//! subresource).
//!
//! A resource's [`Rules`] (names, generation, create on update, defaults, initial status,
//! validation, deletion, the REST of its creates) are a constant in its group's module ([`core`], [`apps`], [`batch`],
//! ...); a resource with more to say has its own file there ([`core::pods`],
//! [`core::services`]), and namespaces, whose deletion is their own, their own [`Strategy`]
//! ([`core::namespaces`]). [`rules_of`] and
//! [`strategy_for`] are the table of the built-in resources: the one place the registry tells
//! resources apart by name, as upstream's storage providers do when they build each store
//! ([`builtin_store`]: the strategy and the table printer). The generic store and the HTTP
//! handlers ask a store and know no resource by name.

pub mod admissionregistration;
pub mod apps;
pub mod authentication;
pub mod authorization;
pub mod batch;
pub mod certificates;
pub mod core;
pub mod networking;
pub mod policy;
pub mod rbac;
mod rules;
pub mod scheduling;

#[cfg(test)]
mod tests;

use std::sync::Arc;

pub use rules::{Rules, RulesStrategy, SubresourceRules};

use apiary_storage::Storage;

use crate::catalog::ResourceInfo;
use crate::registry::selectors::SelectableFields;
use crate::registry::store::{Store, StoreConfig};
use crate::registry::strategy::{Strategy, SPEC, SPEC_AND_METADATA};
use crate::registry::table::TableConvertor;

/// The store of the built-in resource `info` over `storage`: its strategy, table printer and
/// selectable fields, with `config`'s collaborators.
pub fn builtin_store(
    info: &Arc<ResourceInfo>,
    storage: Arc<dyn Storage>,
    config: StoreConfig,
) -> Store {
    builtin_store_with_strategy(info, storage, strategy_for(info), config)
}

/// The store of the built-in resource `info` with `strategy` instead of [`strategy_for`]'s: for
/// the resources whose strategy needs what the registry cannot name (the admission
/// registration kinds, whose validation compiles CEL), given by the composition root.
pub fn builtin_store_with_strategy(
    info: &Arc<ResourceInfo>,
    storage: Arc<dyn Storage>,
    strategy: Arc<dyn Strategy>,
    config: StoreConfig,
) -> Store {
    Store::new(
        info.clone(),
        storage,
        strategy,
        StoreConfig {
            table: TableConvertor::builtin(&info.group, &info.plural),
            fields: SelectableFields::builtin(&info.group, &info.plural),
            ..config
        },
    )
}

/// The strategy of the built-in resource `info`.
pub fn strategy_for(info: &ResourceInfo) -> Arc<dyn Strategy> {
    let status = info.subresource("status").is_some();
    let rules = rules_of(&info.group, &info.plural);
    match (info.group.as_str(), info.plural.as_str()) {
        ("", "namespaces") => Arc::new(core::namespaces::NamespaceStrategy),
        ("certificates.k8s.io", "certificatesigningrequests") => {
            Arc::new(certificates::CsrStrategy::new(rules))
        }
        _ => Arc::new(RulesStrategy::new(rules, status)),
    }
}

/// How long the objects of the built-in resource `info` live after their last write
/// ([`StoreConfig::ttl`]), given the configured Event TTL (`server.event_ttl_seconds`): Events, core
/// and `events.k8s.io` (one store of `/registry/events/`), expire as upstream's event storage's
/// `TTLFunc` has them, on create and on every update; nothing else does.
pub fn object_ttl(
    info: &ResourceInfo,
    event_ttl: std::time::Duration,
) -> Option<std::time::Duration> {
    match (info.group.as_str(), info.plural.as_str()) {
        ("", "events") | ("events.k8s.io", "events") => Some(event_ttl),
        _ => None,
    }
}

/// The rules of the built-in resource `group`/`plural` ([`Rules::GENERIC`] for those upstream
/// gives nothing particular).
pub fn rules_of(group: &str, plural: &str) -> Rules {
    match (group, plural) {
        ("", "bindings") => core::BINDINGS,
        ("", "configmaps") => core::CONFIG_MAPS,
        ("", "endpoints") => core::ENDPOINTS,
        ("", "events") => core::EVENTS,
        ("", "limitranges") => core::LIMIT_RANGES,
        ("", "namespaces") => core::namespaces::RULES,
        ("", "persistentvolumeclaims") => core::PERSISTENT_VOLUME_CLAIMS,
        ("", "persistentvolumes") => core::PERSISTENT_VOLUMES,
        ("", "pods") => core::pods::RULES,
        ("", "podtemplates") => core::POD_TEMPLATES,
        ("", "replicationcontrollers") => core::REPLICATION_CONTROLLERS,
        ("", "resourcequotas") => core::RESOURCE_QUOTAS,
        ("", "secrets") => core::SECRETS,
        ("", "serviceaccounts") => core::SERVICE_ACCOUNTS,
        ("", "services") => core::services::RULES,
        ("admissionregistration.k8s.io", plural) => admissionregistration::rules(plural),
        ("authentication.k8s.io", "selfsubjectreviews") => authentication::SELF_SUBJECT_REVIEWS,
        ("authentication.k8s.io", "tokenreviews") => authentication::TOKEN_REVIEWS,
        ("authorization.k8s.io", _) => authorization::ACCESS_REVIEWS,
        ("apps", "daemonsets") => apps::DAEMON_SETS,
        ("apps", "deployments") => apps::DEPLOYMENTS,
        ("apps", "replicasets") => apps::REPLICA_SETS,
        ("apps", "statefulsets") => apps::STATEFUL_SETS,
        ("autoscaling", "horizontalpodautoscalers") => Rules::TRACKS_GENERATION,
        ("batch", "cronjobs") => batch::CRON_JOBS,
        ("batch", "jobs") => batch::JOBS,
        ("coordination.k8s.io", "leases") => Rules::CREATE_ON_UPDATE,
        ("discovery.k8s.io", "endpointslices") => Rules::CREATE_ON_UPDATE,
        ("events.k8s.io", "events") => core::EVENTS,
        // Their status strategies keep the stored metadata whole.
        ("flowcontrol.apiserver.k8s.io", "flowschemas" | "prioritylevelconfigurations") => Rules {
            status_resets: SPEC_AND_METADATA,
            ..Rules::TRACKS_GENERATION
        },
        ("networking.k8s.io", "ingresses") => Rules::TRACKS_GENERATION,
        ("networking.k8s.io", "ipaddresses") => networking::IP_ADDRESSES,
        ("networking.k8s.io", "networkpolicies") => networking::NETWORK_POLICIES,
        ("policy", "poddisruptionbudgets") => policy::POD_DISRUPTION_BUDGETS,
        ("rbac.authorization.k8s.io", _) => rbac::RULES,
        ("resource.k8s.io", "resourceclaims") => Rules {
            status_resets: rules::META_FOR_STATUS,
            status_reset_fields: Some(SPEC),
            ..Rules::TRACKS_GENERATION
        },
        ("resource.k8s.io", "deviceclasses") => Rules::TRACKS_GENERATION,
        ("scheduling.k8s.io", "priorityclasses") => scheduling::PRIORITY_CLASSES,
        ("storage.k8s.io", "storageclasses") => Rules::RETURNS_DELETED_OBJECT,
        ("storage.k8s.io", "volumeattachments") => Rules {
            status_resets: rules::META_FOR_STATUS,
            status_reset_fields: Some(SPEC_AND_METADATA),
            ..Rules::GENERIC
        },
        _ => Rules::GENERIC,
    }
}
