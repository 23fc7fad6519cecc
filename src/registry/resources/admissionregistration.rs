//! `admissionregistration.k8s.io`: webhook configurations and admission policies
//! (`pkg/registry/admissionregistration/<resource>`).

use super::Rules;

/// The rules of `plural`: the configurations and policies keep their generation.
pub fn rules(plural: &str) -> Rules {
    match plural {
        "validatingwebhookconfigurations"
        | "mutatingwebhookconfigurations"
        | "validatingadmissionpolicies"
        | "validatingadmissionpolicybindings" => Rules::TRACKS_GENERATION,
        _ => Rules::GENERIC,
    }
}
