//! `networking.k8s.io`: NetworkPolicies (`pkg/registry/networking/networkpolicy`).

use super::Rules;
use crate::registry::defaults;

/// NetworkPolicies: generation and upstream's defaults.
pub const NETWORK_POLICIES: Rules = Rules {
    tracks_generation: true,
    defaults: defaults::network_policy,
    ..Rules::GENERIC
};

/// IPAddresses: named by the canonical form of the address they allocate.
pub const IP_ADDRESSES: Rules = Rules {
    name_rule: crate::api::names::NameRule::IpAddress,
    ..Rules::GENERIC
};
