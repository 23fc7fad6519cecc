//! Resources registered at run time: the custom resources of established CRDs.
//!
//! The built-in catalogue is static; a CRD's resources come and go while the server runs. The
//! apiextensions server registers each served version here, so that [`ResourceInfo::codec`]
//! (decoding through the version's schema) and [`ResourceInfo::persistence`] (the CRD's storage
//! version) answer for custom resources as they do for built-in ones.
//!
//! [`ResourceInfo`] holds `&'static` names, so [`intern`] makes a run-time description static.
//! Interning keeps one copy of each distinct description: re-establishing the same CRD costs
//! nothing, and only a CRD changed in its names, verbs or subresources adds a few hundred bytes
//! that live until the process ends.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};

use super::{Codec, GroupVersionKind, Persistence, ResourceInfo, SubresourceInfo};

/// One custom resource version as the apiextensions server serves it.
#[derive(Debug, Clone)]
pub struct DynamicResource {
    pub info: &'static ResourceInfo,
    /// The CRD's storage version: objects are stored as `<group>/<storage_version>`.
    pub storage_version: &'static str,
    /// The codec bodies of this version decode through (pruning and defaulting by its schema).
    pub codec: Codec,
}

type Key = (String, String, String);

fn registry() -> &'static RwLock<HashMap<Key, Arc<DynamicResource>>> {
    static REGISTRY: std::sync::OnceLock<RwLock<HashMap<Key, Arc<DynamicResource>>>> =
        std::sync::OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

fn key(group: &str, version: &str, plural: &str) -> Key {
    (group.to_string(), version.to_string(), plural.to_string())
}

/// Registers (or replaces) the resource at its group, version and plural.
pub fn register(resource: DynamicResource) {
    let info = resource.info;
    registry()
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .insert(
            key(info.group, info.version, info.plural),
            Arc::new(resource),
        );
}

/// Removes the resource at `group`/`version`/`plural`, if registered.
pub fn unregister(group: &str, version: &str, plural: &str) {
    registry()
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&key(group, version, plural));
}

/// The registered resource of `info`'s group, version and plural.
pub fn lookup(info: &ResourceInfo) -> Option<Arc<DynamicResource>> {
    if crate::catalog::is_built_in_group(info.group) {
        return None;
    }
    registry()
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(&key(info.group, info.version, info.plural))
        .cloned()
}

/// How a registered resource is kept: as itself when it is the storage version, else as the
/// storage version of its group and kind.
pub(super) fn persistence(resource: &DynamicResource) -> Persistence {
    let info = resource.info;
    if resource.storage_version == info.version {
        Persistence::Stored
    } else {
        Persistence::StoredAs(GroupVersionKind {
            group: info.group,
            version: resource.storage_version,
            kind: info.kind,
        })
    }
}

/// A static copy of `s`, shared with every equal string interned before.
pub fn intern_str(s: &str) -> &'static str {
    static STRINGS: Mutex<Option<HashSet<&'static str>>> = Mutex::new(None);
    let mut strings = STRINGS.lock().unwrap_or_else(|e| e.into_inner());
    let strings = strings.get_or_insert_with(HashSet::new);
    if let Some(found) = strings.get(s) {
        return found;
    }
    let leaked: &'static str = Box::leak(s.to_string().into_boxed_str());
    strings.insert(leaked);
    leaked
}

/// A static list of interned strings, shared with every equal list interned before.
pub fn intern_strs(items: &[String]) -> &'static [&'static str] {
    static LISTS: Mutex<Vec<&'static [&'static str]>> = Mutex::new(Vec::new());
    let interned: Vec<&'static str> = items.iter().map(|s| intern_str(s)).collect();
    let mut lists = LISTS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(found) = lists.iter().find(|l| **l == interned.as_slice()) {
        return found;
    }
    let leaked: &'static [&'static str] = Box::leak(interned.into_boxed_slice());
    lists.push(leaked);
    leaked
}

/// A static copy of `info` (whose names are already interned), shared with every equal
/// description interned before.
pub fn intern(info: ResourceInfo, subresources: Vec<SubresourceInfo>) -> &'static ResourceInfo {
    static INFOS: Mutex<Vec<&'static ResourceInfo>> = Mutex::new(Vec::new());
    let mut infos = INFOS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(found) = infos.iter().find(|i| {
        ResourceInfo {
            subresources: i.subresources,
            ..info.clone()
        } == ***i
            && i.subresources == subresources.as_slice()
    }) {
        return found;
    }
    let subresources: &'static [SubresourceInfo] = Box::leak(subresources.into_boxed_slice());
    let leaked: &'static ResourceInfo = Box::leak(Box::new(ResourceInfo {
        subresources,
        ..info
    }));
    infos.push(leaked);
    leaked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(kind: &'static str) -> ResourceInfo {
        ResourceInfo {
            group: intern_str("dynamic.example.com"),
            version: "v1",
            kind,
            plural: "widgets",
            singular: "widget",
            namespaced: true,
            verbs: intern_strs(&["get".to_string(), "list".to_string()]),
            short_names: &[],
            categories: &[],
            subresources: &[],
            storage_version: true,
        }
    }

    #[test]
    fn interning_shares_equal_descriptions() {
        let a = intern(info("Widget"), Vec::new());
        let b = intern(info("Widget"), Vec::new());
        assert!(std::ptr::eq(a, b));
        let c = intern(info("Gadget"), Vec::new());
        assert!(!std::ptr::eq(a, c));
        assert_eq!(c.kind, "Gadget");
        let status = SubresourceInfo {
            name: "status",
            kind: "Widget",
            group_version: None,
            verbs: &["get"],
        };
        let d = intern(info("Widget"), vec![status.clone()]);
        assert!(!std::ptr::eq(a, d));
        assert_eq!(d.subresources, &[status][..]);
        assert!(std::ptr::eq(intern_str("abc"), intern_str("abc")));
    }

    #[test]
    fn registered_versions_report_their_storage_version() {
        let v1 = intern(info("Thing"), Vec::new());
        let v2 = intern(
            ResourceInfo {
                version: "v2",
                ..info("Thing")
            },
            Vec::new(),
        );
        for resource in [v1, v2] {
            register(DynamicResource {
                info: resource,
                storage_version: "v2",
                codec: Codec::identity(),
            });
        }
        assert_eq!(
            v1.persistence(),
            Persistence::StoredAs(GroupVersionKind {
                group: "dynamic.example.com",
                version: "v2",
                kind: "Thing"
            })
        );
        assert_eq!(v2.persistence(), Persistence::Stored);
        unregister(v1.group, v1.version, v1.plural);
        assert!(lookup(v1).is_none());
        assert_eq!(v1.persistence(), Persistence::Stored);
        unregister(v2.group, v2.version, v2.plural);
    }
}
