//! `scheduling.k8s.io`: PriorityClasses (`pkg/registry/scheduling/priorityclass`), and the system
//! classes kube-apiserver creates at start-up (values and descriptions from upstream's
//! `pkg/apis/scheduling/helpers.go`).

use super::Rules;
use crate::registry::defaults;

/// Upstream's `SystemCriticalPriority`: twice the highest user-definable priority.
const SYSTEM_CRITICAL_PRIORITY: i64 = 2_000_000_000;

/// The system PriorityClasses, in upstream's order: (name, value, description).
pub const SYSTEM_PRIORITY_CLASSES: [(&str, i64, &str); 2] = [
    (
        "system-node-critical",
        SYSTEM_CRITICAL_PRIORITY + 1000,
        "Used for system critical pods that must not be moved from their current node.",
    ),
    (
        "system-cluster-critical",
        SYSTEM_CRITICAL_PRIORITY,
        "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.",
    ),
];

/// PriorityClasses: `preemptionPolicy` defaults; the system classes cannot be deleted one by one
/// (upstream's REST `Delete`; deletecollection runs on the generic store and goes ahead).
pub const PRIORITY_CLASSES: Rules = Rules {
    defaults: defaults::priority_class,
    refuse_delete: refuse_system_class_delete,
    ..Rules::GENERIC
};

fn refuse_system_class_delete(name: &str) -> Option<&'static str> {
    SYSTEM_PRIORITY_CLASSES
        .iter()
        .any(|(class, ..)| *class == name)
        .then_some("this is a system priority class and cannot be deleted")
}
