//! `admissionregistration.k8s.io`: webhook configurations and admission policies
//! (`pkg/registry/admissionregistration/<resource>`).
//!
//! The rules here need no CEL: generation and upstream's v1 defaults. Validation compiles CEL
//! (match conditions, validations, variables, audit annotations), so it lives in
//! `admission::registration`, whose strategy wraps these rules and which the composition root
//! gives the four stores.

use super::Rules;
use crate::registry::defaults::admissionregistration as defaults;
use crate::registry::strategy::SPEC_AND_METADATA;

/// The rules of `plural`: the configurations and policies keep their generation and take
/// upstream's defaults.
pub fn rules(plural: &str) -> Rules {
    let defaults: fn(&mut serde_json::Value) = match plural {
        "validatingwebhookconfigurations" => defaults::validating_webhook_configuration,
        "mutatingwebhookconfigurations" => defaults::mutating_webhook_configuration,
        "validatingadmissionpolicies" => defaults::validating_admission_policy,
        "validatingadmissionpolicybindings" => defaults::validating_admission_policy_binding,
        _ => return Rules::GENERIC,
    };
    let rules = Rules {
        defaults,
        defaults_stored_before_update: true,
        ..Rules::TRACKS_GENERATION
    };
    match plural {
        // The policy status strategy resets the metadata as `ResetObjectMetaForStatus`.
        "validatingadmissionpolicies" => Rules {
            status_resets: super::rules::META_FOR_STATUS,
            status_reset_fields: Some(SPEC_AND_METADATA),
            ..rules
        },
        _ => rules,
    }
}
