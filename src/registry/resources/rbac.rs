//! `rbac.authorization.k8s.io`: Roles, ClusterRoles and their bindings
//! (`pkg/registry/rbac/<resource>`): names are path segments (`system:controller:x`), and a PUT
//! of a missing object creates it.

use super::Rules;
use crate::api::names::NameRule;

/// The rules of every RBAC resource.
pub const RULES: Rules = Rules {
    name_rule: NameRule::PathSegment,
    allow_create_on_update: true,
    ..Rules::GENERIC
};
