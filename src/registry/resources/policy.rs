//! `policy`: PodDisruptionBudgets (`pkg/registry/policy/poddisruptionbudget`).

use serde_json::{json, Value};

use super::Rules;

/// PodDisruptionBudgets: generation, and zero counts to start with.
pub const POD_DISRUPTION_BUDGETS: Rules = Rules {
    tracks_generation: true,
    initial_status: Some(no_disruptions),
    ..Rules::GENERIC
};

fn no_disruptions() -> Value {
    json!({
        "currentHealthy": 0,
        "desiredHealthy": 0,
        "disruptionsAllowed": 0,
        "expectedPods": 0,
    })
}
