//! The OpenAPI documents: `/openapi/v2` (JSON and gnostic protobuf) and `/openapi/v3` (an index,
//! and one OpenAPI 3.0 document per group/version).
//!
//! What clients do with them (kubectl 1.33): `create`/`apply` with `--validate=strict` look for the
//! `fieldValidation` parameter on the PATCH operation of the object's kind (v3 first, then v2) to
//! decide whether the server validates fields; `explain` walks the v3 document of a group/version
//! from the schema carrying the kind's `x-kubernetes-group-version-kind`; client-side `apply` reads
//! patch strategies and merge keys from the schemas.
//!
//! # Model
//! [`OpenApiService`] holds an immutable [`Snapshot`] behind a lock. Every group/version document is
//! generated once, serialised, hashed (SHA-512, upper-case hex, as upstream's ETag and `?hash=`), and
//! served as pre-serialised bytes. Adding or removing a group/version (CRDs, at run time) builds only
//! that document and a new index, then swaps the snapshot; the v2 document, which aggregates
//! everything, is rebuilt lazily on its first request after a change.
//!
//! Sub-modules: [`paths`] derives the operations of a group/version from the catalogue (the
//! per-resource part is in [`operations`]), [`params`] holds upstream's parameter table, [`v3`] and
//! [`v2`] render documents, [`proto`] is the gnostic v2 protobuf form, [`routes`] serves them over
//! HTTP.

mod operations;
mod params;
mod paths;
pub mod proto;
mod proto_convert;
mod routes;
mod v2;
mod v3;

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock, RwLock};

use bytes::Bytes;
use serde_json::{json, Map, Value};

use crate::catalog::{Catalog, ResourceInfo};
pub use routes::router;

/// A document ready to serve: its bytes, its ETag (without quotes) and when it was built.
#[derive(Debug, Clone)]
pub struct ServedDocument {
    pub bytes: Bytes,
    /// Upper-case hex SHA-512 of `bytes`, as upstream's `computeETag`.
    pub etag: String,
    pub last_modified: jiff::Timestamp,
}

impl ServedDocument {
    fn new(bytes: Vec<u8>) -> Self {
        let etag = sha512_hex(&bytes);
        Self {
            bytes: Bytes::from(bytes),
            etag,
            last_modified: jiff::Timestamp::now(),
        }
    }

    fn json(value: &Value) -> Self {
        // Serialising a `serde_json::Value` cannot fail: its keys are strings.
        Self::new(serde_json::to_vec(value).unwrap_or_default())
    }
}

/// Upper-case hex of the SHA-512 digest of `data`.
fn sha512_hex(data: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA512, data);
    digest.as_ref().iter().map(|b| format!("{b:02X}")).collect()
}

/// The v2 document in both of its encodings.
#[derive(Debug, Clone)]
pub struct V2Documents {
    /// The JSON document; its ETag is also the protobuf's, as upstream.
    pub json: ServedDocument,
    /// The gnostic `openapi.v2.Document` protobuf encoding.
    pub protobuf: Bytes,
}

/// One group/version's documents.
#[derive(Debug)]
struct GroupVersionEntry {
    /// The OpenAPI 3.0 document.
    v3: ServedDocument,
    /// Its paths in v2 form, for the aggregated v2 document.
    v2_paths: BTreeMap<String, Value>,
    /// Definitions this group/version brings beyond the built-in ones (CRD schemas), shared with
    /// whoever built them: never copied here.
    extra_definitions: Vec<Definitions>,
}

/// A set of OpenAPI definitions, shared by reference.
pub type Definitions = Arc<DefinitionSet>;

/// OpenAPI definitions by name (v2 form), kept serialised: CRD schemas are large and mostly
/// descriptions, and are read only when a document that includes them is (re)built.
/// `/openapi/v3` publishes them as they are; `/openapi/v2` with the v2 replacements, if any.
#[derive(Debug, PartialEq)]
pub struct DefinitionSet {
    json: Bytes,
    /// Definitions `/openapi/v2` publishes instead of those of the same name.
    v2_json: Option<Bytes>,
}

impl DefinitionSet {
    pub fn new(definitions: &BTreeMap<String, Value>) -> Self {
        Self {
            json: encode(definitions),
            v2_json: None,
        }
    }

    /// The set, with `replacements` published in `/openapi/v2` instead of the definitions of
    /// the same names (upstream's CRD builder publishes less in v2 than in v3).
    pub fn with_v2(mut self, replacements: &BTreeMap<String, Value>) -> Self {
        self.v2_json = (!replacements.is_empty()).then(|| encode(replacements));
        self
    }

    /// The definitions, decoded.
    pub fn decode(&self) -> BTreeMap<String, Value> {
        serde_json::from_slice(&self.json).unwrap_or_default()
    }

    /// The definitions as `/openapi/v2` publishes them.
    pub fn decode_v2(&self) -> BTreeMap<String, Value> {
        let mut definitions = self.decode();
        if let Some(json) = &self.v2_json {
            let replacements: BTreeMap<String, Value> =
                serde_json::from_slice(json).unwrap_or_default();
            definitions.extend(replacements);
        }
        definitions
    }
}

fn encode(definitions: &BTreeMap<String, Value>) -> Bytes {
    // Serialising `serde_json::Value`s cannot fail: their keys are strings.
    Bytes::from(serde_json::to_vec(definitions).unwrap_or_default())
}

/// An immutable view of every served document.
#[derive(Debug)]
pub struct Snapshot {
    groups: BTreeMap<String, Arc<GroupVersionEntry>>,
    index: ServedDocument,
    v2: OnceLock<V2Documents>,
}

impl Snapshot {
    fn new(groups: BTreeMap<String, Arc<GroupVersionEntry>>) -> Self {
        let paths: Map<String, Value> = groups
            .iter()
            .map(|(key, entry)| {
                let url = format!("/openapi/v3/{key}?hash={}", entry.v3.etag);
                (key.clone(), json!({ "serverRelativeURL": url }))
            })
            .collect();
        let index = ServedDocument::json(&json!({ "paths": paths }));
        Self {
            groups,
            index,
            v2: OnceLock::new(),
        }
    }

    /// The `/openapi/v3` index.
    pub fn v3_index(&self) -> &ServedDocument {
        &self.index
    }

    /// The document of `key` (`api/v1`, `apis/apps/v1`), if served.
    pub fn v3_document(&self, key: &str) -> Option<&ServedDocument> {
        self.groups.get(key).map(|entry| &entry.v3)
    }

    /// The keys of every served group/version, sorted.
    pub fn group_versions(&self) -> impl Iterator<Item = &str> {
        self.groups.keys().map(String::as_str)
    }
}

/// Serves the OpenAPI documents of the built-in resources and of whatever group/versions are added
/// at run time.
///
/// Contract:
/// - Documents MUST be generated once per change, never per request.
/// - [`OpenApiService::upsert_group_version`] and [`OpenApiService::remove_group_version`] MUST leave
///   every other group/version's document (bytes and hash) untouched.
#[derive(Debug)]
pub struct OpenApiService {
    base_definitions: Arc<BTreeMap<String, Value>>,
    base_kinds: paths::KindIndex,
    server_version: String,
    snapshot: RwLock<Arc<Snapshot>>,
}

impl OpenApiService {
    /// The documents of every resource of `catalog`, with the built-in definitions.
    pub fn builtin(catalog: &Catalog) -> Self {
        Self::new(
            catalog.iter().map(|info| &**info),
            Arc::new(crate::catalog::definitions::definitions().clone()),
            crate::api::version::KUBERNETES_GIT_VERSION,
        )
    }

    /// The documents of `resources` with `definitions` (v2 form, `#/definitions/` references), whose
    /// `x-kubernetes-group-version-kind` extensions tell which definition describes each kind.
    pub fn new<'a>(
        resources: impl IntoIterator<Item = &'a ResourceInfo>,
        definitions: Arc<BTreeMap<String, Value>>,
        server_version: &str,
    ) -> Self {
        let base_kinds = paths::KindIndex::new(definitions.iter());
        let mut by_group_version: BTreeMap<(&str, &str), Vec<&ResourceInfo>> = BTreeMap::new();
        for resource in resources {
            by_group_version
                .entry((&resource.group, &resource.version))
                .or_default()
                .push(resource);
        }
        let service = Self {
            base_definitions: definitions,
            base_kinds,
            server_version: server_version.to_string(),
            snapshot: RwLock::new(Arc::new(Snapshot::new(BTreeMap::new()))),
        };
        let groups = by_group_version
            .into_iter()
            .map(|((group, version), resources)| {
                let entry = service.build_entry(group, version, &resources, Vec::new());
                (paths::group_version_key(group, version), Arc::new(entry))
            })
            .collect();
        service.replace_snapshot(Snapshot::new(groups));
        service
    }

    fn build_entry(
        &self,
        group: &str,
        version: &str,
        resources: &[&ResourceInfo],
        extra: Vec<Definitions>,
    ) -> GroupVersionEntry {
        let decoded: Vec<BTreeMap<String, Value>> = extra.iter().map(|set| set.decode()).collect();
        let mut kinds = self.base_kinds.clone();
        kinds.extend(decoded.iter().flat_map(|set| set.iter()));
        let items = paths::group_version_paths(group, version, resources, &kinds);
        let lookup = |name: &str| {
            decoded
                .iter()
                .find_map(|set| set.get(name))
                .or_else(|| self.base_definitions.get(name))
        };
        let document = v3::document(&items, &lookup, &self.server_version);
        GroupVersionEntry {
            v3: ServedDocument::json(&document),
            v2_paths: v2::path_items(&items),
            extra_definitions: extra,
        }
    }

    fn replace_snapshot(&self, snapshot: Snapshot) {
        let mut guard = self
            .snapshot
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *guard = Arc::new(snapshot);
    }

    /// The current snapshot of every document.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Adds or replaces the documents of `group/version`, served by `resources` (which MUST all be
    /// of that group/version), whose kinds are described by `definitions` on top of the built-in
    /// ones (CRD schemas, v2 form, carrying `x-kubernetes-group-version-kind`; the first set
    /// that names a definition wins).
    pub fn upsert_group_version(
        &self,
        group: &str,
        version: &str,
        resources: &[&ResourceInfo],
        definitions: Vec<Definitions>,
    ) {
        let entry = Arc::new(self.build_entry(group, version, resources, definitions));
        let key = paths::group_version_key(group, version);
        let mut guard = self
            .snapshot
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut groups = guard.groups.clone();
        groups.insert(key, entry);
        *guard = Arc::new(Snapshot::new(groups));
    }

    /// Stops serving the documents of `group/version`; false if they were not served.
    pub fn remove_group_version(&self, group: &str, version: &str) -> bool {
        let key = paths::group_version_key(group, version);
        let mut guard = self
            .snapshot
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if !guard.groups.contains_key(&key) {
            return false;
        }
        let mut groups = guard.groups.clone();
        groups.remove(&key);
        *guard = Arc::new(Snapshot::new(groups));
        true
    }

    /// The v2 document of `snapshot`, built on first use. CPU-heavy the first time (several MB):
    /// call it from a blocking context.
    pub fn v2_documents(&self, snapshot: &Snapshot) -> V2Documents {
        snapshot
            .v2
            .get_or_init(|| {
                let paths = snapshot
                    .groups
                    .values()
                    .flat_map(|entry| entry.v2_paths.iter());
                let extra: Vec<BTreeMap<String, Value>> = snapshot
                    .groups
                    .values()
                    .flat_map(|entry| entry.extra_definitions.iter().map(|set| set.decode_v2()))
                    .collect();
                let mut definitions: BTreeMap<&String, &Value> =
                    self.base_definitions.iter().collect();
                for (name, definition) in extra.iter().flat_map(|set| set.iter()) {
                    definitions.entry(name).or_insert(definition);
                }
                let document = v2::document(paths, definitions, &self.server_version);
                let protobuf = Bytes::from(proto::encode_document(&document));
                V2Documents {
                    json: ServedDocument::json(&document),
                    protobuf,
                }
            })
            .clone()
    }
}

#[cfg(test)]
mod tests;
