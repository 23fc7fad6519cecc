//! The catalogue of served resources: what each resource is (group, version, kind, names, scope) and
//! what its storage can do (verbs, subresources). Discovery, routing, RBAC and printing all read it.
//!
//! [`builtin`] is the static catalogue of every resource a default kube-apiserver 1.33 serves: all GA
//! group/versions (1.33 enables no beta API by default), without the groups of the aggregator
//! (`apiregistration.k8s.io`) and of the extensions server (`apiextensions.k8s.io`), which register
//! their discovery themselves. Rows mirror upstream discovery exactly (`kubectl api-resources`).
//!
//! [`ResourceInfo::codec`] (and [`SubresourceInfo::codec`]) give the [`Codec`] that round-trips an
//! object through the k8s-openapi type of its kind: unknown fields are dropped and wrongly-typed ones
//! rejected, as kube-apiserver's decoding into Go structs does. (Codec and persistence are methods
//! backed by a per-kind table, not fields, so `ResourceInfo` literals written elsewhere stay valid.) [`codec::dropped_fields`] and [`codec::duplicate_fields`] report what strict field
//! validation (`fieldValidation=Strict|Warn`) must complain about.

pub mod codec;
mod data_cluster;
mod data_core;
mod data_workloads;
pub mod definitions;
pub mod go_duration;
pub mod key_order;
mod kinds;
pub mod protobuf;
#[cfg(test)]
mod tests;
mod typing;

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

pub use codec::{Codec, CodecFn, ObjectCodec};

/// A resource's group, version, kind or name: static for built-in resources, shared for the
/// custom resources a CRD defines (cheap to clone either way).
pub type Name = smol_str::SmolStr;
pub use kinds::codec_for;
pub use typing::Typing;

/// A group, version and kind, e.g. `autoscaling/v1 Scale`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GroupVersionKind {
    /// `""` for the core group.
    pub group: Name,
    pub version: Name,
    pub kind: Name,
}

/// How a resource's objects are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Persistence {
    /// Nothing is stored: the resource is an operation (`tokenreviews`, `bindings`,
    /// `selfsubjectaccessreviews`) or computed (`componentstatuses`). Discovery lists no
    /// `storageVersionHash` for it.
    Virtual,
    /// Stored as its own group/version/kind.
    Stored,
    /// Stored as another group/version/kind: `autoscaling/v1` HPAs are stored as `autoscaling/v2`,
    /// `events.k8s.io/v1` Events as core `v1` Events.
    StoredAs(GroupVersionKind),
}

/// A subresource served under a resource, e.g. `pods/status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubresourceInfo {
    /// `status`, `scale`, `log`, ...
    pub name: &'static str,
    /// The kind the subresource takes and returns (`Pod` for `pods/status`, `Scale` for `scale`).
    pub kind: Name,
    /// The group/version of that kind when it differs from the parent's (`autoscaling/v1` for Scale).
    pub group_version: Option<&'static str>,
    pub verbs: &'static [&'static str],
}

impl SubresourceInfo {
    /// The `group` and `version` of the subresource's kind, given its parent.
    pub fn kind_group_version<'a>(&'a self, parent: &'a ResourceInfo) -> (&'a str, &'a str) {
        match self.group_version {
            Some(gv) => split_group_version(gv),
            None => (&parent.group, &parent.version),
        }
    }

    /// The codec of the subresource's body kind (`Scale`, `Eviction`, `TokenRequest`, `Binding`, or
    /// the parent's kind for `status`-like subresources); `None` for connect subresources (`log`,
    /// `exec`, `attach`, `portforward`, `proxy`), whose bodies are not objects.
    pub fn codec(&self, parent: &ResourceInfo) -> Option<Codec> {
        if self.name == "log" || self.kind.ends_with("Options") {
            return None;
        }
        let (group, version) = self.kind_group_version(parent);
        match kinds::codec_for(group, version, &self.kind) {
            Some(codec) => Some(codec),
            None if self.kind == parent.kind => Some(parent.codec()),
            None => None,
        }
    }
}

/// One resource at one group/version. Built-in rows live in the static catalogue ([`builtin`]);
/// the apiextensions server builds one per served CRD version and shares it with the version's
/// store (`Arc<ResourceInfo>`), so nothing about a custom resource outlives its CRD.
#[derive(Debug, Clone)]
pub struct ResourceInfo {
    /// `""` for the core group.
    pub group: Name,
    pub version: Name,
    pub kind: Name,
    /// The plural, lower-case resource name used in paths: `deployments`.
    pub plural: Name,
    pub singular: Name,
    pub namespaced: bool,
    /// The verbs of the resource itself, as discovery lists them.
    pub verbs: &'static [&'static str],
    pub short_names: Vec<Name>,
    pub categories: Vec<Name>,
    pub subresources: Vec<SubresourceInfo>,
    /// Whether this group/version is the one objects are stored at (the preferred version).
    pub storage_version: bool,
    /// Set for a custom resource: how its CRD serves this version.
    pub custom: Option<CustomVersion>,
}

/// What a CRD decides about one served version of its custom resource.
#[derive(Debug, Clone)]
pub struct CustomVersion {
    /// The CRD's storage version: objects are stored as `<group>/<storage_version>`.
    pub storage_version: Name,
    /// The codec bodies of this version decode through (pruning and defaulting by its schema).
    pub codec: Codec,
    /// The typing part of the version's `openAPIV3Schema` (types, formats, list and map
    /// semantics; no descriptions or validations), which server-side apply types objects by.
    pub schema: Option<Arc<Typing>>,
}

impl ResourceInfo {
    /// `v1` or `apps/v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    pub fn group_resource(&self) -> crate::api::status::GroupResource {
        crate::api::status::GroupResource::new(self.group.as_str(), self.plural.as_str())
    }

    /// Whether this is a custom resource (served for a CRD).
    pub fn is_custom(&self) -> bool {
        self.custom.is_some()
    }

    /// Whether `self` and `other` name the same resource the same way: group, version, kind,
    /// names, scope, verbs and subresources (not how a CRD serves it).
    pub fn same_names(&self, other: &ResourceInfo) -> bool {
        self.group == other.group
            && self.version == other.version
            && self.kind == other.kind
            && self.plural == other.plural
            && self.singular == other.singular
            && self.namespaced == other.namespaced
            && self.verbs == other.verbs
            && self.short_names == other.short_names
            && self.categories == other.categories
            && self.subresources == other.subresources
            && self.storage_version == other.storage_version
    }

    pub fn supports(&self, verb: &str) -> bool {
        self.verbs.contains(&verb)
    }

    pub fn subresource(&self, name: &str) -> Option<&SubresourceInfo> {
        self.subresources.iter().find(|s| s.name == name)
    }

    /// The kind of this resource's lists: `DeploymentList`.
    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }

    /// Round-trips an object through the k8s-openapi type of `kind` (see [`Codec`]); for a custom
    /// resource, through the codec its CRD gave it; else the identity.
    pub fn codec(&self) -> Codec {
        match &self.custom {
            Some(custom) => custom.codec.clone(),
            None => kinds::codec_for(&self.group, &self.version, &self.kind)
                .unwrap_or(Codec::identity()),
        }
    }

    /// How objects are kept; decides the discovery `storageVersionHash`.
    pub fn persistence(&self) -> Persistence {
        match &self.custom {
            Some(custom) if custom.storage_version != self.version => {
                Persistence::StoredAs(GroupVersionKind {
                    group: self.group.clone(),
                    version: custom.storage_version.clone(),
                    kind: self.kind.clone(),
                })
            }
            Some(_) => Persistence::Stored,
            None => kinds::persistence_of(self),
        }
    }

    /// The group/version/kind objects are stored as; `None` for virtual resources.
    pub fn storage_gvk(&self) -> Option<GroupVersionKind> {
        match self.persistence() {
            Persistence::Virtual => None,
            Persistence::Stored => Some(GroupVersionKind {
                group: self.group.clone(),
                version: self.version.clone(),
                kind: self.kind.clone(),
            }),
            Persistence::StoredAs(gvk) => Some(gvk),
        }
    }

    /// The discovery `storageVersionHash` (see [`storage_version_hash`]); `None` for virtual resources.
    pub fn storage_version_hash(&self) -> Option<String> {
        self.storage_gvk()
            .map(|gvk| storage_version_hash(&gvk.group, &gvk.version, &gvk.kind))
    }
}

/// Upstream's `storageVersionHash`: the standard base64 of the first 8 bytes of the SHA-256 of
/// `<group>/<version>/<kind>` (the core group is empty: `/v1/Pod` gives `xPOwRZ+Yhw8=`).
pub fn storage_version_hash(group: &str, version: &str, kind: &str) -> String {
    use base64::Engine as _;
    let digest = ring::digest::digest(
        &ring::digest::SHA256,
        format!("{group}/{version}/{kind}").as_bytes(),
    );
    base64::engine::general_purpose::STANDARD.encode(&digest.as_ref()[..8])
}

/// Splits `apps/v1` into `("apps", "v1")` and `v1` into `("", "v1")`.
pub fn split_group_version(group_version: &str) -> (&str, &str) {
    match group_version.split_once('/') {
        Some((group, version)) => (group, version),
        None => ("", group_version),
    }
}

/// An APIService priority: groups sort by `group` (descending, ties by name), versions inside a
/// group by `version` (descending, ties by kube-aware version order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiServicePriority {
    /// `GroupPriorityMinimum`.
    pub group: i32,
    /// `VersionPriority`.
    pub version: i32,
}

/// The priority groups get when nothing better is known (upstream's default for new groups).
pub const DEFAULT_PRIORITY: ApiServicePriority = ApiServicePriority {
    group: 1000,
    version: 15,
};

/// The aggregator's own group: upstream lists it first in `/apis`, ahead of every APIService.
pub const APIREGISTRATION_GROUP: &str = "apiregistration.k8s.io";

/// kube-apiserver's APIService priorities (kube-aggregator's `apiVersionPriorities`, merged from
/// `DefaultGenericAPIServicePriorities` and kube-apiserver's own list), for the group/versions 1.33
/// can serve. The aggregator and extension servers use it when they register their groups.
const API_VERSION_PRIORITIES: &[(&str, &str, i32, i32)] = &[
    ("", "v1", 18000, 1),
    ("apps", "v1", 17800, 15),
    ("events.k8s.io", "v1", 17750, 15),
    ("events.k8s.io", "v1beta1", 17750, 5),
    ("authentication.k8s.io", "v1", 17700, 15),
    ("authentication.k8s.io", "v1beta1", 17700, 9),
    ("authentication.k8s.io", "v1alpha1", 17700, 1),
    ("authorization.k8s.io", "v1", 17600, 15),
    ("autoscaling", "v2", 17500, 30),
    ("autoscaling", "v1", 17500, 15),
    ("autoscaling", "v2beta1", 17500, 9),
    ("autoscaling", "v2beta2", 17500, 1),
    ("batch", "v1", 17400, 15),
    ("batch", "v1beta1", 17400, 9),
    ("certificates.k8s.io", "v1", 17300, 15),
    ("certificates.k8s.io", "v1beta1", 17300, 9),
    ("certificates.k8s.io", "v1alpha1", 17300, 1),
    ("networking.k8s.io", "v1", 17200, 15),
    ("networking.k8s.io", "v1beta1", 17200, 9),
    ("policy", "v1", 17100, 15),
    ("policy", "v1beta1", 17100, 9),
    ("rbac.authorization.k8s.io", "v1", 17000, 15),
    ("storage.k8s.io", "v1", 16800, 15),
    ("storage.k8s.io", "v1beta1", 16800, 9),
    ("storage.k8s.io", "v1alpha1", 16800, 1),
    ("apiextensions.k8s.io", "v1", 16700, 15),
    ("admissionregistration.k8s.io", "v1", 16700, 15),
    ("admissionregistration.k8s.io", "v1beta1", 16700, 12),
    ("admissionregistration.k8s.io", "v1alpha1", 16700, 9),
    ("scheduling.k8s.io", "v1", 16600, 15),
    ("coordination.k8s.io", "v1", 16500, 15),
    ("coordination.k8s.io", "v1beta1", 16500, 13),
    ("coordination.k8s.io", "v1alpha2", 16500, 12),
    ("node.k8s.io", "v1", 16300, 15),
    ("node.k8s.io", "v1beta1", 16300, 9),
    ("node.k8s.io", "v1alpha1", 16300, 1),
    ("discovery.k8s.io", "v1", 16200, 15),
    ("discovery.k8s.io", "v1beta1", 16200, 12),
    ("resource.k8s.io", "v1beta2", 16200, 15),
    ("resource.k8s.io", "v1beta1", 16200, 9),
    ("resource.k8s.io", "v1alpha3", 16200, 1),
    ("flowcontrol.apiserver.k8s.io", "v1", 16100, 21),
    ("flowcontrol.apiserver.k8s.io", "v1beta3", 16100, 18),
    ("internal.apiserver.k8s.io", "v1alpha1", 16000, 9),
    ("storagemigration.k8s.io", "v1alpha1", 15800, 9),
];

/// The upstream APIService priority of a built-in group/version, if it has one.
pub fn api_service_priority(group: &str, version: &str) -> Option<ApiServicePriority> {
    API_VERSION_PRIORITIES
        .iter()
        .find(|(g, v, _, _)| *g == group && *v == version)
        .map(|&(_, _, group, version)| ApiServicePriority { group, version })
}

/// One API group as discovery lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupInfo {
    /// `""` for the core group.
    pub name: Name,
    /// Served versions, in discovery order (highest priority first): the first is the preferred one.
    pub versions: Vec<Name>,
    /// The group's APIService priority (its highest `GroupPriorityMinimum`).
    pub priority: i32,
}

impl GroupInfo {
    /// The preferred version: the first of [`GroupInfo::versions`].
    pub fn preferred_version(&self) -> &str {
        self.versions.first().map_or("v1", Name::as_str)
    }
}

/// A set of resources with the lookups the server needs. Built once; read-only afterwards.
#[derive(Debug)]
pub struct Catalog {
    resources: Vec<Arc<ResourceInfo>>,
    groups: Vec<GroupInfo>,
    by_path: HashMap<(Name, Name, Name), usize>,
    by_kind: HashMap<(Name, Name, Name), usize>,
}

impl Catalog {
    /// Builds a catalogue from resource rows. Groups are ordered as upstream's `/apis` (priority
    /// descending, then name), versions by priority; rows are kept in group, version, plural order.
    ///
    /// MUST: `(group, version, plural)` and `(group, version, kind)` are unique across `rows`.
    pub fn new(rows: impl IntoIterator<Item = ResourceInfo>) -> Self {
        let mut resources: Vec<Arc<ResourceInfo>> = rows.into_iter().map(Arc::new).collect();
        let mut groups: Vec<GroupInfo> = Vec::new();
        for info in &resources {
            match groups.iter_mut().find(|g| g.name == info.group) {
                Some(group) if group.versions.contains(&info.version) => {}
                Some(group) => group.versions.push(info.version.clone()),
                None => groups.push(GroupInfo {
                    name: info.group.clone(),
                    versions: vec![info.version.clone()],
                    priority: 0,
                }),
            }
        }
        for group in &mut groups {
            let name = group.name.clone();
            let priority =
                |version: &str| api_service_priority(&name, version).unwrap_or(DEFAULT_PRIORITY);
            group.priority = group
                .versions
                .iter()
                .map(|v| priority(v).group)
                .max()
                .unwrap_or(DEFAULT_PRIORITY.group);
            group.versions.sort_by(|a, b| {
                priority(b)
                    .version
                    .cmp(&priority(a).version)
                    .then_with(|| compare_kube_versions(b, a))
            });
        }
        groups.sort_by(|a, b| group_order(&a.name, a.priority, &b.name, b.priority));
        let group_index = |name: &str| {
            groups
                .iter()
                .position(|g| g.name == name)
                .unwrap_or(usize::MAX)
        };
        let version_index = |info: &ResourceInfo| {
            groups
                .iter()
                .find(|g| g.name == info.group)
                .and_then(|g| g.versions.iter().position(|v| *v == info.version))
                .unwrap_or(usize::MAX)
        };
        resources.sort_by(|a, b| {
            group_index(&a.group)
                .cmp(&group_index(&b.group))
                .then_with(|| version_index(a).cmp(&version_index(b)))
                .then_with(|| a.plural.cmp(&b.plural))
        });
        let by_path = resources
            .iter()
            .enumerate()
            .map(|(i, r)| ((r.group.clone(), r.version.clone(), r.plural.clone()), i))
            .collect();
        let by_kind = resources
            .iter()
            .enumerate()
            .map(|(i, r)| ((r.group.clone(), r.version.clone(), r.kind.clone()), i))
            .collect();
        Self {
            resources,
            groups,
            by_path,
            by_kind,
        }
    }

    /// The resource served at `/apis/<group>/<version>/<plural>` (`/api/v1/<plural>` for `""`).
    pub fn lookup(&self, group: &str, version: &str, plural: &str) -> Option<&Arc<ResourceInfo>> {
        self.by_path
            .get(&(Name::new(group), Name::new(version), Name::new(plural)))
            .map(|&i| &self.resources[i])
    }

    /// The resource of a kind at a group/version.
    pub fn by_kind(&self, group: &str, version: &str, kind: &str) -> Option<&Arc<ResourceInfo>> {
        self.by_kind
            .get(&(Name::new(group), Name::new(version), Name::new(kind)))
            .map(|&i| &self.resources[i])
    }

    /// The resource `plural` of `group` at the group's preferred version.
    pub fn preferred(&self, group: &str, plural: &str) -> Option<&Arc<ResourceInfo>> {
        let group_info = self.group(group)?;
        group_info
            .versions
            .iter()
            .find_map(|v| self.lookup(group, v, plural))
    }

    /// Groups in upstream `/apis` order (the core group `""` first, served under `/api`).
    pub fn groups(&self) -> &[GroupInfo] {
        &self.groups
    }

    /// One group by name.
    pub fn group(&self, name: &str) -> Option<&GroupInfo> {
        self.groups.iter().find(|g| g.name == name)
    }

    /// The resources of one group/version, sorted by plural (empty when not served).
    pub fn resources<'a>(
        &'a self,
        group: &'a str,
        version: &'a str,
    ) -> impl Iterator<Item = &'a Arc<ResourceInfo>> + 'a {
        self.resources
            .iter()
            .filter(move |r| r.group == group && r.version == version)
    }

    /// Every resource, in group, version, plural order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<ResourceInfo>> + '_ {
        self.resources.iter()
    }

    /// Whether `group`/`version` is served.
    pub fn serves(&self, group: &str, version: &str) -> bool {
        self.group(group)
            .is_some_and(|g| g.versions.iter().any(|v| v == version))
    }
}

/// Upstream's group order: the aggregator's group first, then higher priority, then name.
pub fn group_order(a: &str, a_priority: i32, b: &str, b_priority: i32) -> std::cmp::Ordering {
    let rank = |name: &str| if name == APIREGISTRATION_GROUP { 0 } else { 1 };
    rank(a)
        .cmp(&rank(b))
        .then_with(|| b_priority.cmp(&a_priority))
        .then_with(|| a.cmp(b))
}

/// Kube-aware version order (`k8s.io/apimachinery/pkg/version`): GA > beta > alpha, then by major,
/// then minor; non kube-like versions sort below, lexicographically. `Greater` means "sorts first".
pub fn compare_kube_versions(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    fn parse(v: &str) -> Option<(u8, u64, u64)> {
        let rest = v.strip_prefix('v')?;
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 || rest.starts_with('0') {
            return None;
        }
        let major = rest[..digits].parse().ok()?;
        let suffix = &rest[digits..];
        if suffix.is_empty() {
            return Some((2, major, 0));
        }
        let (level, minor) = if let Some(m) = suffix.strip_prefix("beta") {
            (1, m)
        } else {
            (0, suffix.strip_prefix("alpha")?)
        };
        if minor.is_empty() || !minor.bytes().all(|c| c.is_ascii_digit()) || minor.starts_with('0')
        {
            return None;
        }
        Some((level, major, minor.parse().ok()?))
    }
    match (parse(a), parse(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Greater,
        (None, Some(_)) => Ordering::Less,
        (None, None) => b.cmp(a),
    }
}

/// The catalogue of every built-in resource a default kube-apiserver 1.33 serves (see module docs).
pub fn builtin() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| {
        Catalog::new(
            data_core::resources()
                .into_iter()
                .chain(data_workloads::resources())
                .chain(data_cluster::resources()),
        )
    })
}

/// Verb sets shared by the data files.
pub(crate) mod verbs {
    /// Every verb of a generic store.
    pub const ALL: &[&str] = &[
        "create",
        "delete",
        "deletecollection",
        "get",
        "list",
        "patch",
        "update",
        "watch",
    ];
    /// `namespaces`: no `deletecollection`.
    pub const NO_DELETE_COLLECTION: &[&str] = &[
        "create", "delete", "get", "list", "patch", "update", "watch",
    ];
    /// Operations such as reviews and bindings.
    pub const CREATE: &[&str] = &["create"];
    /// `componentstatuses`.
    pub const GET_LIST: &[&str] = &["get", "list"];
    /// `status`, `scale`, `approval`, `ephemeralcontainers`, `resize`.
    pub const GET_PATCH_UPDATE: &[&str] = &["get", "patch", "update"];
    /// `proxy` connect subresources.
    pub const PROXY: &[&str] = &["create", "delete", "get", "patch", "update"];
    /// `attach`, `exec`, `portforward`.
    pub const CREATE_GET: &[&str] = &["create", "get"];
    /// `log`.
    pub const GET: &[&str] = &["get"];
    /// `namespaces/finalize`.
    pub const UPDATE: &[&str] = &["update"];
}

/// Row constructors shared by the data files.
pub(crate) mod build {
    use super::{verbs, Name, ResourceInfo, SubresourceInfo};

    /// Names of a static list (`shortNames`, `categories`).
    pub fn names(list: &[&'static str]) -> Vec<Name> {
        list.iter().map(|name| Name::new_static(name)).collect()
    }

    /// A preferred resource with every generic verb and no short names, categories or
    /// subresources; rows override what differs with struct update syntax.
    pub fn resource(
        group: &'static str,
        version: &'static str,
        kind: &'static str,
        plural: &'static str,
        singular: &'static str,
        namespaced: bool,
    ) -> ResourceInfo {
        ResourceInfo {
            group: Name::new_static(group),
            version: Name::new_static(version),
            kind: Name::new_static(kind),
            plural: Name::new_static(plural),
            singular: Name::new_static(singular),
            namespaced,
            verbs: verbs::ALL,
            short_names: Vec::new(),
            categories: Vec::new(),
            subresources: Vec::new(),
            storage_version: true,
            custom: None,
        }
    }

    /// A `create`-only operation (reviews, bindings).
    pub fn operation(
        group: &'static str,
        version: &'static str,
        kind: &'static str,
        plural: &'static str,
        singular: &'static str,
        namespaced: bool,
    ) -> ResourceInfo {
        ResourceInfo {
            verbs: verbs::CREATE,
            ..resource(group, version, kind, plural, singular, namespaced)
        }
    }

    /// `<resource>/status` of `kind`.
    pub fn status(kind: &'static str) -> SubresourceInfo {
        SubresourceInfo {
            name: "status",
            kind: Name::new_static(kind),
            group_version: None,
            verbs: verbs::GET_PATCH_UPDATE,
        }
    }

    /// `<resource>/scale`: `autoscaling/v1` Scale.
    pub fn scale() -> SubresourceInfo {
        SubresourceInfo {
            name: "scale",
            kind: Name::new_static("Scale"),
            group_version: Some("autoscaling/v1"),
            verbs: verbs::GET_PATCH_UPDATE,
        }
    }

    /// A connect subresource (`log`, `exec`, `proxy`, ...), whose body is not an object.
    pub fn connect(
        name: &'static str,
        kind: &'static str,
        verbs: &'static [&'static str],
    ) -> SubresourceInfo {
        SubresourceInfo {
            name,
            kind: Name::new_static(kind),
            group_version: None,
            verbs,
        }
    }
}

/// Groups served by kube-apiserver itself, whose keys carry no group segment.
const BUILT_IN_GROUPS: &[&str] = &[
    "",
    "admissionregistration.k8s.io",
    "apps",
    "autoscaling",
    "batch",
    "certificates.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "events.k8s.io",
    "extensions",
    "flowcontrol.apiserver.k8s.io",
    "internal.apiserver.k8s.io",
    "networking.k8s.io",
    "node.k8s.io",
    "policy",
    "rbac.authorization.k8s.io",
    "resource.k8s.io",
    "scheduling.k8s.io",
    "storage.k8s.io",
    "storagemigration.k8s.io",
];

/// Whether `group` is served by kube-apiserver itself (its keys carry no group segment).
pub fn is_built_in_group(group: &str) -> bool {
    BUILT_IN_GROUPS.contains(&group)
}
