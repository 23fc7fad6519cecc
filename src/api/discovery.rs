//! Discovery documents: `meta.k8s.io/v1` APIVersions, APIGroupList, APIGroup and APIResourceList,
//! and `apidiscovery.k8s.io/v2` (and `v2beta1`) APIGroupDiscoveryList, the aggregated form.
//!
//! Field names, order and omission rules follow the Go types (`omitempty` fields are skipped when
//! empty), so the JSON reads as kube-apiserver's. Every type also deserializes, for servers that
//! read the discovery documents of aggregated API servers.

use serde::{Deserialize, Serialize};

/// `GET /api`: the versions of the core group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct APIVersions {
    /// Always `APIVersions`; upstream writes no `apiVersion` on this document.
    pub kind: String,
    pub versions: Vec<String>,
    #[serde(rename = "serverAddressByClientCIDRs")]
    pub server_address_by_client_cidrs: Vec<ServerAddressByClientCIDR>,
}

/// Which server address a client in a CIDR should use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerAddressByClientCIDR {
    #[serde(rename = "clientCIDR")]
    pub client_cidr: String,
    pub server_address: String,
}

/// `GET /apis`: every group but the core one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct APIGroupList {
    pub kind: String,
    pub api_version: String,
    pub groups: Vec<APIGroup>,
}

/// One group: inside an [`APIGroupList`] without `kind`/`apiVersion`, and as `GET /apis/<group>`
/// with `kind: APIGroup, apiVersion: v1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct APIGroup {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    pub name: String,
    pub versions: Vec<GroupVersionForDiscovery>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_version: Option<GroupVersionForDiscovery>,
    #[serde(
        rename = "serverAddressByClientCIDRs",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub server_address_by_client_cidrs: Vec<ServerAddressByClientCIDR>,
}

/// `{"groupVersion": "apps/v1", "version": "v1"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupVersionForDiscovery {
    pub group_version: String,
    pub version: String,
}

impl GroupVersionForDiscovery {
    /// The entry for `version` of `group` (`""` for the core group).
    pub fn new(group: &str, version: &str) -> Self {
        let group_version = if group.is_empty() {
            version.to_string()
        } else {
            format!("{group}/{version}")
        };
        Self {
            group_version,
            version: version.to_string(),
        }
    }
}

/// `GET /api/v1` or `GET /apis/<group>/<version>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct APIResourceList {
    pub kind: String,
    /// `v1` for named groups; upstream writes none for the core group's list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    pub group_version: String,
    pub resources: Vec<APIResource>,
}

/// One resource or subresource (`pods/status`) of an [`APIResourceList`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct APIResource {
    pub name: String,
    /// Empty for subresources; always written.
    #[serde(default)]
    pub singular_name: String,
    pub namespaced: bool,
    /// Set only when the kind's group differs from the list's (`autoscaling` for `*/scale`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub group: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version: String,
    pub kind: String,
    #[serde(default)]
    pub verbs: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub short_names: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub storage_version_hash: String,
}

/// The aggregated discovery group/version names of the list kind.
pub const APIDISCOVERY_GROUP: &str = "apidiscovery.k8s.io";
/// The kind clients ask for in `Accept: ...;as=APIGroupDiscoveryList`.
pub const APIGROUP_DISCOVERY_LIST_KIND: &str = "APIGroupDiscoveryList";

/// Aggregated discovery (`GET /api` or `/apis` with the aggregated media type).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct APIGroupDiscoveryList {
    pub kind: String,
    /// `apidiscovery.k8s.io/v2` or `apidiscovery.k8s.io/v2beta1` (same shape).
    pub api_version: String,
    #[serde(default)]
    pub metadata: ListMetadata,
    pub items: Vec<APIGroupDiscovery>,
}

/// The (always empty) list metadata of an [`APIGroupDiscoveryList`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ListMetadata {}

/// One group in aggregated discovery; the core group has an empty name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct APIGroupDiscovery {
    #[serde(default)]
    pub metadata: GroupMetadata,
    /// Versions in preference order: the first is the preferred version.
    #[serde(default)]
    pub versions: Vec<APIVersionDiscovery>,
}

/// The object metadata of an [`APIGroupDiscovery`]: only `name` matters. Upstream writes the zero
/// `creationTimestamp` as `null`, and so do we.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct GroupMetadata {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default)]
    pub creation_timestamp: Option<String>,
}

/// One version of a group in aggregated discovery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct APIVersionDiscovery {
    pub version: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<APIResourceDiscovery>,
    /// `Current`, or `Stale` when an aggregated server's document could not be refreshed.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub freshness: String,
}

/// `Current`: the document is up to date.
pub const FRESHNESS_CURRENT: &str = "Current";
/// `Stale`: the document could not be refreshed.
pub const FRESHNESS_STALE: &str = "Stale";

/// One resource in aggregated discovery, with its subresources folded in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct APIResourceDiscovery {
    pub resource: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_kind: Option<GroupVersionKind>,
    /// `Namespaced` or `Cluster`.
    pub scope: String,
    #[serde(default)]
    pub singular_resource: String,
    #[serde(default)]
    pub verbs: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub short_names: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subresources: Vec<APISubresourceDiscovery>,
}

/// `Namespaced` scope.
pub const SCOPE_NAMESPACED: &str = "Namespaced";
/// `Cluster` scope.
pub const SCOPE_CLUSTER: &str = "Cluster";

/// One subresource in aggregated discovery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct APISubresourceDiscovery {
    pub subresource: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_kind: Option<GroupVersionKind>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accepted_types: Vec<GroupVersionKind>,
    #[serde(default)]
    pub verbs: Vec<String>,
}

/// `meta/v1` GroupVersionKind, every field always written (`"group": ""` for the core group).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct GroupVersionKind {
    #[serde(default)]
    pub group: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub kind: String,
}

/// Folds a legacy resource list (subresources as `parent/sub` entries) into aggregated form, as
/// upstream's `ConvertGroupVersionIntoToDiscovery`: resources keep their order, subresources are
/// attached to their parent in order, and a kind's empty group/version default to the list's.
pub fn aggregate_resources(
    group: &str,
    version: &str,
    list: &[APIResource],
) -> Vec<APIResourceDiscovery> {
    let scope = |namespaced: bool| {
        if namespaced {
            SCOPE_NAMESPACED
        } else {
            SCOPE_CLUSTER
        }
        .to_string()
    };
    let kind_of = |r: &APIResource| GroupVersionKind {
        group: if r.group.is_empty() && r.version.is_empty() {
            group.to_string()
        } else {
            r.group.clone()
        },
        version: if r.version.is_empty() {
            version.to_string()
        } else {
            r.version.clone()
        },
        kind: r.kind.clone(),
    };
    let mut out: Vec<APIResourceDiscovery> = list
        .iter()
        .filter(|r| !r.name.contains('/'))
        .map(|r| APIResourceDiscovery {
            resource: r.name.clone(),
            response_kind: Some(kind_of(r)),
            scope: scope(r.namespaced),
            singular_resource: r.singular_name.clone(),
            verbs: r.verbs.clone(),
            short_names: r.short_names.clone(),
            categories: r.categories.clone(),
            subresources: Vec::new(),
        })
        .collect();
    for r in list {
        let Some((parent, sub)) = r.name.split_once('/') else {
            continue;
        };
        let index = match out.iter().position(|p| p.resource == parent) {
            Some(i) => i,
            None => {
                out.push(APIResourceDiscovery {
                    resource: parent.to_string(),
                    response_kind: Some(GroupVersionKind::default()),
                    scope: scope(r.namespaced),
                    singular_resource: String::new(),
                    verbs: Vec::new(),
                    short_names: Vec::new(),
                    categories: Vec::new(),
                    subresources: Vec::new(),
                });
                out.len() - 1
            }
        };
        let response_kind = if r.kind.is_empty() {
            GroupVersionKind::default()
        } else {
            kind_of(r)
        };
        out[index].subresources.push(APISubresourceDiscovery {
            subresource: sub.to_string(),
            response_kind: Some(response_kind),
            accepted_types: Vec::new(),
            verbs: r.verbs.clone(),
        });
    }
    out
}
