//! Storage keys of API objects, laid out exactly as kube-apiserver lays them out in etcd.
//!
//! * Built-in resources (the groups compiled into kube-apiserver) live under
//!   `/registry/<prefix>/`, where `<prefix>` is the plural resource name **without** the group
//!   (`/registry/deployments/default/web`, `/registry/leases/...`), except for upstream's historic
//!   prefixes (`SpecialDefaultResourcePrefixes` in `pkg/kubeapiserver/default_storage_factory_builder.go`):
//!   nodes -> `minions`, services -> `services/specs`, endpoints -> `services/endpoints`,
//!   replicationcontrollers -> `controllers`, ingresses -> `ingress`.
//!   `events.k8s.io` events share `/registry/events/` with core events, as upstream's cohabitation.
//! * Resources of other groups — CustomResourceDefinitions, APIServices and custom resources —
//!   live under `/registry/<group>/<plural>/`, as the apiextensions and aggregator servers store them.
//! * Namespaced objects add `<namespace>/<name>`; cluster-scoped ones add `<name>`.
//!
//! Upstream's integration test `test/integration/etcd/data.go` lists the expected path of every type.

use crate::catalog::{is_built_in_group, ResourceInfo};

/// The root every key lives under.
pub const REGISTRY_ROOT: &str = "/registry";

/// Upstream's historic prefixes: (group, resource) -> prefix under `/registry/`.
const SPECIAL_PREFIXES: &[(&str, &str, &str)] = &[
    ("", "replicationcontrollers", "controllers"),
    ("", "endpoints", "services/endpoints"),
    ("", "nodes", "minions"),
    ("", "services", "services/specs"),
    ("extensions", "ingresses", "ingress"),
    ("networking.k8s.io", "ingresses", "ingress"),
];

/// The key layout of one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyLayout {
    /// `/registry/<prefix>/`, always ending in `/`.
    root: String,
    namespaced: bool,
}

impl KeyLayout {
    /// The layout of `info`'s resource.
    pub fn for_resource(info: &ResourceInfo) -> Self {
        Self::new(&info.group, &info.plural, info.namespaced)
    }

    /// The layout of a resource given by group, plural and scope.
    pub fn new(group: &str, plural: &str, namespaced: bool) -> Self {
        let prefix = SPECIAL_PREFIXES
            .iter()
            .find(|(g, r, _)| *g == group && *r == plural)
            .map(|(_, _, p)| (*p).to_string())
            .unwrap_or_else(|| {
                if is_built_in_group(group) {
                    plural.to_string()
                } else {
                    format!("{group}/{plural}")
                }
            });
        Self {
            root: format!("{REGISTRY_ROOT}/{prefix}/"),
            namespaced,
        }
    }

    /// The prefix of every object of the resource: `/registry/deployments/`.
    pub fn resource_prefix(&self) -> &str {
        &self.root
    }

    /// The prefix to list or watch: the namespace's objects (`/registry/pods/ns/`) when a namespace
    /// is given and the resource is namespaced, else every object of the resource.
    pub fn list_prefix(&self, namespace: Option<&str>) -> String {
        match namespace {
            Some(ns) if self.namespaced && !ns.is_empty() => format!("{}{ns}/", self.root),
            _ => self.root.clone(),
        }
    }

    /// The key of one object. The namespace is ignored for cluster-scoped resources.
    pub fn object_key(&self, namespace: Option<&str>, name: &str) -> String {
        match namespace {
            Some(ns) if self.namespaced => format!("{}{ns}/{name}", self.root),
            _ => format!("{}{name}", self.root),
        }
    }

    /// The namespace segment of a key of this resource (`None` for cluster-scoped resources or a
    /// key outside the resource).
    pub fn namespace_of<'k>(&self, key: &'k [u8]) -> Option<&'k str> {
        if !self.namespaced {
            return None;
        }
        let rest = key.strip_prefix(self.root.as_bytes())?;
        let end = rest.iter().position(|b| *b == b'/')?;
        std::str::from_utf8(&rest[..end]).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::KeyLayout;

    #[test]
    fn keys_follow_upstreams_etcd_paths() {
        let cases: &[(&str, &str, bool, Option<&str>, &str)] = &[
            (
                "",
                "configmaps",
                true,
                Some("ns"),
                "/registry/configmaps/ns/x",
            ),
            (
                "",
                "services",
                true,
                Some("ns"),
                "/registry/services/specs/ns/x",
            ),
            (
                "",
                "endpoints",
                true,
                Some("ns"),
                "/registry/services/endpoints/ns/x",
            ),
            ("", "nodes", false, None, "/registry/minions/x"),
            (
                "",
                "replicationcontrollers",
                true,
                Some("ns"),
                "/registry/controllers/ns/x",
            ),
            ("", "namespaces", false, None, "/registry/namespaces/x"),
            (
                "apps",
                "deployments",
                true,
                Some("ns"),
                "/registry/deployments/ns/x",
            ),
            (
                "networking.k8s.io",
                "ingresses",
                true,
                Some("ns"),
                "/registry/ingress/ns/x",
            ),
            (
                "rbac.authorization.k8s.io",
                "clusterroles",
                false,
                None,
                "/registry/clusterroles/x",
            ),
            (
                "apiextensions.k8s.io",
                "customresourcedefinitions",
                false,
                None,
                "/registry/apiextensions.k8s.io/customresourcedefinitions/x",
            ),
            (
                "stable.example.com",
                "crontabs",
                true,
                Some("ns"),
                "/registry/stable.example.com/crontabs/ns/x",
            ),
            // A namespace given for a cluster-scoped resource is ignored.
            ("", "nodes", false, Some("ns"), "/registry/minions/x"),
        ];
        for (group, plural, namespaced, ns, want) in cases {
            let layout = KeyLayout::new(group, plural, *namespaced);
            assert_eq!(layout.object_key(*ns, "x"), *want, "{group}/{plural}");
        }
    }

    #[test]
    fn list_prefix_and_namespace_of_a_key() {
        let layout = KeyLayout::new("", "pods", true);
        assert_eq!(layout.list_prefix(None), "/registry/pods/");
        assert_eq!(layout.list_prefix(Some("a")), "/registry/pods/a/");
        assert_eq!(layout.namespace_of(b"/registry/pods/a/p1"), Some("a"));
        assert_eq!(layout.namespace_of(b"/registry/other/a/p1"), None);
        let cluster = KeyLayout::new("", "nodes", false);
        assert_eq!(cluster.list_prefix(Some("a")), "/registry/minions/");
        assert_eq!(cluster.namespace_of(b"/registry/minions/n1"), None);
    }
}
