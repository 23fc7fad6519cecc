//! The admission configurations in effect: every MutatingWebhookConfiguration,
//! ValidatingWebhookConfiguration, ValidatingAdmissionPolicy and binding, compiled, as one
//! snapshot the request path reads without listing or locking for long. A controller keeps it
//! current from the watches of the four resources (upstream's configuration managers, fed by
//! informers), so a change takes effect a moment after it is stored, as upstream.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use serde_json::Value;

use super::policy::PolicySet;
use super::webhook::{self, Webhook};
use crate::registry::metadata::meta_str;

/// The four kinds of admission configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConfigurationKind {
    MutatingWebhooks,
    ValidatingWebhooks,
    Policies,
    PolicyBindings,
}

impl ConfigurationKind {
    /// Every kind, with its resource (`admissionregistration.k8s.io/v1`).
    pub const ALL: [(ConfigurationKind, &'static str); 4] = [
        (Self::MutatingWebhooks, "mutatingwebhookconfigurations"),
        (Self::ValidatingWebhooks, "validatingwebhookconfigurations"),
        (Self::Policies, "validatingadmissionpolicies"),
        (Self::PolicyBindings, "validatingadmissionpolicybindings"),
    ];
}

/// What admission runs, compiled.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Mutating webhooks, in upstream's order: configurations sorted by name, webhooks in the
    /// order each configuration lists them.
    pub mutating: Vec<Arc<Webhook>>,
    /// Validating webhooks, in the same order.
    pub validating: Vec<Arc<Webhook>>,
    /// The policies and their bindings.
    pub policies: PolicySet,
}

impl Snapshot {
    /// Whether nothing is configured (requests then skip dynamic admission).
    pub fn is_empty(&self) -> bool {
        self.mutating.is_empty() && self.validating.is_empty() && self.policies.is_empty()
    }
}

/// The snapshot in effect, and the objects it was built from.
#[derive(Debug, Default)]
pub struct Configurations {
    snapshot: RwLock<Arc<Snapshot>>,
    /// The objects of each kind by name, as last published.
    objects: RwLock<BTreeMap<ConfigurationKind, BTreeMap<String, Arc<Value>>>>,
}

impl Configurations {
    /// The snapshot in effect now.
    pub fn current(&self) -> Arc<Snapshot> {
        self.snapshot
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Replaces every object of `kind` (after a list) and rebuilds what changed.
    pub fn replace(&self, kind: ConfigurationKind, objects: &[Value]) {
        let by_name = objects
            .iter()
            .map(|obj| (meta_str(obj, "name").to_string(), Arc::new(obj.clone())))
            .collect();
        self.objects
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(kind, by_name);
        self.rebuild(kind);
    }

    /// Puts (`Some`) or removes (`None`) one object of `kind` and rebuilds what changed.
    pub fn apply(&self, kind: ConfigurationKind, name: &str, object: Option<&Value>) {
        {
            let mut objects = self.objects.write().unwrap_or_else(|e| e.into_inner());
            let of_kind = objects.entry(kind).or_default();
            match object {
                Some(obj) => of_kind.insert(name.to_string(), Arc::new(obj.clone())),
                None => of_kind.remove(name),
            };
        }
        self.rebuild(kind);
    }

    /// Rebuilds the snapshot's part that `kind` feeds; the other parts are shared.
    fn rebuild(&self, kind: ConfigurationKind) {
        let objects = self.objects.read().unwrap_or_else(|e| e.into_inner());
        let of = |kind: ConfigurationKind| -> Vec<Arc<Value>> {
            objects
                .get(&kind)
                .map(|m| m.values().cloned().collect())
                .unwrap_or_default()
        };
        let current = self.current();
        let webhooks = |kind: ConfigurationKind, mutating: bool| -> Vec<Arc<Webhook>> {
            of(kind)
                .iter()
                .flat_map(|config| webhook::compile_configuration(config, mutating))
                .collect()
        };
        let next = Snapshot {
            mutating: if kind == ConfigurationKind::MutatingWebhooks {
                webhooks(kind, true)
            } else {
                current.mutating.clone()
            },
            validating: if kind == ConfigurationKind::ValidatingWebhooks {
                webhooks(kind, false)
            } else {
                current.validating.clone()
            },
            policies: if matches!(
                kind,
                ConfigurationKind::Policies | ConfigurationKind::PolicyBindings
            ) {
                PolicySet::build(
                    &of(ConfigurationKind::Policies),
                    &of(ConfigurationKind::PolicyBindings),
                )
            } else {
                current.policies.clone()
            },
        };
        drop(objects);
        *self.snapshot.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(next);
    }
}
