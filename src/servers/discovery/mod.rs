//! Discovery: `/api`, `/api/v1`, `/apis`, `/apis/<group>`, `/apis/<group>/<version>`, in the
//! legacy form and, on `/api` and `/apis`, the aggregated form (`apidiscovery.k8s.io/v2`/`v2beta1`)
//! when the `Accept` header asks for it, with upstream's ETag/304 behaviour.
//!
//! [`DiscoveryRegistry`] holds the documents: the static built-in [`Catalog`] plus group/versions
//! other servers register at run time (CRDs, APIServices) through [`DiscoveryRegistry::set_source`]
//! and friends. Each change rebuilds an immutable [`Snapshot`] and swaps it in; requests only clone
//! an `Arc`, so readers never wait on a writer's rebuild and never block the runtime.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Serialize;

use crate::api::discovery::{
    aggregate_resources, APIGroup, APIGroupDiscovery, APIGroupDiscoveryList, APIGroupList,
    APIResource, APIResourceList, APIVersionDiscovery, APIVersions, GroupMetadata,
    GroupVersionForDiscovery, ListMetadata, ServerAddressByClientCIDR, APIDISCOVERY_GROUP,
    APIGROUP_DISCOVERY_LIST_KIND, FRESHNESS_CURRENT,
};
use crate::api::status::ApiError;
use crate::catalog::{
    api_service_priority, compare_kube_versions, group_order, split_group_version,
    ApiServicePriority, Catalog, ResourceInfo, DEFAULT_PRIORITY,
};

mod negotiate;

pub use negotiate::{negotiate, AggregatedVersion, MediaType};

/// Where a group/version comes from. When two sources serve the same group/version, the lower
/// one wins, as upstream: APIServices of the aggregator, then built-ins, then CRDs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DiscoverySource {
    /// Group/versions served by the aggregator (its own group and APIServices with a service).
    Aggregator,
    /// The static catalogue; never registered dynamically.
    Builtin,
    /// Group/versions of CustomResourceDefinitions.
    CustomResources,
}

/// The discovery of one group/version registered at run time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupVersionDocument {
    pub group: String,
    pub version: String,
    /// Orders the group among groups and the version inside its group.
    pub priority: ApiServicePriority,
    /// The legacy resource list, subresources as `parent/sub` entries.
    pub resources: Vec<APIResource>,
    /// `Current` or `Stale` (aggregated discovery's `freshness`).
    pub freshness: String,
}

/// One version of a group in a [`Snapshot`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotVersion {
    pub version: String,
    pub resources: Vec<APIResource>,
    pub freshness: String,
}

/// One group in a [`Snapshot`], versions in preference order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotGroup {
    pub name: String,
    pub priority: i32,
    pub versions: Vec<SnapshotVersion>,
}

/// A pre-rendered aggregated document.
#[derive(Debug, Clone)]
struct AggregatedDocument {
    v2: Vec<u8>,
    v2beta1: Vec<u8>,
    /// Quoted, as sent in `ETag`.
    etag: String,
}

/// An immutable view of every discovery document at one moment.
#[derive(Debug)]
pub struct Snapshot {
    groups: Vec<SnapshotGroup>,
    aggregated_api: AggregatedDocument,
    aggregated_apis: AggregatedDocument,
}

impl Snapshot {
    /// Groups in `/apis` order, the core group (`""`) included first.
    pub fn groups(&self) -> &[SnapshotGroup] {
        &self.groups
    }

    /// One group by name (`""` for the core group).
    pub fn group(&self, name: &str) -> Option<&SnapshotGroup> {
        self.groups.iter().find(|g| g.name == name)
    }

    /// One group/version's resources.
    pub fn version(&self, group: &str, version: &str) -> Option<&SnapshotVersion> {
        self.group(group)?
            .versions
            .iter()
            .find(|v| v.version == version)
    }

    /// The legacy `/apis` document.
    pub fn api_group_list(&self) -> APIGroupList {
        APIGroupList {
            kind: "APIGroupList".into(),
            api_version: "v1".into(),
            groups: self
                .groups
                .iter()
                .filter(|g| !g.name.is_empty())
                .map(|g| api_group(g, false))
                .collect(),
        }
    }

    /// The legacy `/apis/<group>` document.
    pub fn api_group(&self, name: &str) -> Option<APIGroup> {
        self.group(name)
            .filter(|g| !g.name.is_empty())
            .map(|g| api_group(g, true))
    }

    /// The `/api/v1` or `/apis/<group>/<version>` document.
    pub fn api_resource_list(&self, group: &str, version: &str) -> Option<APIResourceList> {
        let served = self.version(group, version)?;
        let (api_version, group_version) = if group.is_empty() {
            (None, version.to_string())
        } else {
            (Some("v1".to_string()), format!("{group}/{version}"))
        };
        Some(APIResourceList {
            kind: "APIResourceList".into(),
            api_version,
            group_version,
            resources: served.resources.clone(),
        })
    }

    /// The aggregated document of `/api` (`core == true`) or `/apis`.
    pub fn aggregated(&self, core: bool, version: AggregatedVersion) -> APIGroupDiscoveryList {
        APIGroupDiscoveryList {
            kind: APIGROUP_DISCOVERY_LIST_KIND.into(),
            api_version: format!("{APIDISCOVERY_GROUP}/{}", version.as_str()),
            metadata: ListMetadata {},
            items: self
                .groups
                .iter()
                .filter(|g| g.name.is_empty() == core)
                .map(aggregated_group)
                .collect(),
        }
    }
}

fn api_group(group: &SnapshotGroup, standalone: bool) -> APIGroup {
    let versions: Vec<GroupVersionForDiscovery> = group
        .versions
        .iter()
        .map(|v| GroupVersionForDiscovery::new(&group.name, &v.version))
        .collect();
    APIGroup {
        kind: standalone.then(|| "APIGroup".to_string()),
        api_version: standalone.then(|| "v1".to_string()),
        name: group.name.clone(),
        preferred_version: versions.first().cloned(),
        versions,
        server_address_by_client_cidrs: Vec::new(),
    }
}

fn aggregated_group(group: &SnapshotGroup) -> APIGroupDiscovery {
    APIGroupDiscovery {
        metadata: GroupMetadata {
            name: group.name.clone(),
            creation_timestamp: None,
        },
        versions: group
            .versions
            .iter()
            .map(|v| APIVersionDiscovery {
                version: v.version.clone(),
                resources: aggregate_resources(&group.name, &v.version, &v.resources),
                freshness: v.freshness.clone(),
            })
            .collect(),
    }
}

/// The legacy discovery entries of one catalogue resource: itself, then its subresources, each as
/// upstream's installer lists them.
pub fn resource_entries(info: &ResourceInfo) -> Vec<APIResource> {
    let mut out = vec![APIResource {
        name: info.plural.to_string(),
        singular_name: info.singular.to_string(),
        namespaced: info.namespaced,
        group: String::new(),
        version: String::new(),
        kind: info.kind.to_string(),
        verbs: info.verbs.iter().map(|v| v.to_string()).collect(),
        short_names: info.short_names.iter().map(|v| v.to_string()).collect(),
        categories: info.categories.iter().map(|v| v.to_string()).collect(),
        storage_version_hash: info.storage_version_hash().unwrap_or_default(),
    }];
    for sub in &info.subresources {
        let (group, version) = sub
            .group_version
            .map(split_group_version)
            .unwrap_or(("", ""));
        out.push(APIResource {
            name: format!("{}/{}", info.plural, sub.name),
            singular_name: String::new(),
            namespaced: info.namespaced,
            group: group.to_string(),
            version: version.to_string(),
            kind: sub.kind.to_string(),
            verbs: sub.verbs.iter().map(|v| v.to_string()).collect(),
            ..APIResource::default()
        });
    }
    out
}

/// The discovery documents of the server, updatable at run time.
#[derive(Debug)]
pub struct DiscoveryRegistry {
    catalog: &'static Catalog,
    server_address: Option<String>,
    dynamic: Mutex<BTreeMap<(DiscoverySource, String, String), GroupVersionDocument>>,
    snapshot: RwLock<Arc<Snapshot>>,
}

impl DiscoveryRegistry {
    /// A registry serving `catalog`. `server_address` (`host:port`) is what `/api` advertises in
    /// `serverAddressByClientCIDRs`; `None` advertises the request's `Host`.
    pub fn new(catalog: &'static Catalog, server_address: Option<String>) -> Self {
        let snapshot = build_snapshot(catalog, &BTreeMap::new());
        Self {
            catalog,
            server_address,
            dynamic: Mutex::new(BTreeMap::new()),
            snapshot: RwLock::new(Arc::new(snapshot)),
        }
    }

    /// The current documents. Cheap: clones an `Arc`.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Replaces every group/version of `source` with `documents` (upstream's `SetGroups`).
    pub fn set_source(&self, source: DiscoverySource, documents: Vec<GroupVersionDocument>) {
        self.update(|dynamic| {
            dynamic.retain(|(s, _, _), _| *s != source);
            for doc in documents {
                dynamic.insert((source, doc.group.clone(), doc.version.clone()), doc);
            }
        });
    }

    /// Adds or replaces one group/version of `source`.
    pub fn add_group_version(&self, source: DiscoverySource, document: GroupVersionDocument) {
        self.update(|dynamic| {
            dynamic.insert(
                (source, document.group.clone(), document.version.clone()),
                document,
            );
        });
    }

    /// Removes one group/version of `source`; other sources' documents stay.
    pub fn remove_group_version(&self, source: DiscoverySource, group: &str, version: &str) {
        self.update(|dynamic| {
            dynamic.remove(&(source, group.to_string(), version.to_string()));
        });
    }

    /// Removes every version of `group` registered by `source`.
    pub fn remove_group(&self, source: DiscoverySource, group: &str) {
        self.update(|dynamic| dynamic.retain(|(s, g, _), _| !(*s == source && g == group)));
    }

    fn update(
        &self,
        change: impl FnOnce(&mut BTreeMap<(DiscoverySource, String, String), GroupVersionDocument>),
    ) {
        let mut dynamic = self.dynamic.lock().unwrap_or_else(|e| e.into_inner());
        change(&mut dynamic);
        let snapshot = Arc::new(build_snapshot(self.catalog, &dynamic));
        *self.snapshot.write().unwrap_or_else(|e| e.into_inner()) = snapshot;
    }
}

fn build_snapshot(
    catalog: &'static Catalog,
    dynamic: &BTreeMap<(DiscoverySource, String, String), GroupVersionDocument>,
) -> Snapshot {
    // (group, version) -> (source, priority, version document); the lowest source wins.
    let mut chosen: BTreeMap<
        (String, String),
        (DiscoverySource, ApiServicePriority, SnapshotVersion),
    > = BTreeMap::new();
    for group in catalog.groups() {
        for version in &group.versions {
            let mut resources: Vec<APIResource> = catalog
                .resources(&group.name, version)
                .flat_map(|info| resource_entries(info))
                .collect();
            resources.sort_by(|a, b| a.name.cmp(&b.name));
            let priority = api_service_priority(&group.name, version).unwrap_or(DEFAULT_PRIORITY);
            let doc = SnapshotVersion {
                version: version.to_string(),
                resources,
                freshness: FRESHNESS_CURRENT.into(),
            };
            chosen.insert(
                (group.name.to_string(), version.to_string()),
                (DiscoverySource::Builtin, priority, doc),
            );
        }
    }
    for ((source, group, version), doc) in dynamic {
        let key = (group.clone(), version.clone());
        if chosen
            .get(&key)
            .is_some_and(|(existing, _, _)| existing <= source)
        {
            continue;
        }
        let version_doc = SnapshotVersion {
            version: version.clone(),
            resources: doc.resources.clone(),
            freshness: doc.freshness.clone(),
        };
        chosen.insert(key, (*source, doc.priority, version_doc));
    }
    let mut groups: Vec<(SnapshotGroup, Vec<i32>)> = Vec::new();
    for ((group, _), (_, priority, version)) in chosen {
        match groups.iter_mut().find(|(g, _)| g.name == group) {
            Some((g, version_priorities)) => {
                g.priority = g.priority.max(priority.group);
                g.versions.push(version);
                version_priorities.push(priority.version);
            }
            None => groups.push((
                SnapshotGroup {
                    name: group,
                    priority: priority.group,
                    versions: vec![version],
                },
                vec![priority.version],
            )),
        }
    }
    let mut groups: Vec<SnapshotGroup> = groups
        .into_iter()
        .map(|(mut group, version_priorities)| {
            let mut ranked: Vec<(i32, SnapshotVersion)> =
                version_priorities.into_iter().zip(group.versions).collect();
            ranked.sort_by(|(pa, a), (pb, b)| {
                pb.cmp(pa)
                    .then_with(|| compare_kube_versions(&b.version, &a.version))
            });
            group.versions = ranked.into_iter().map(|(_, v)| v).collect();
            group
        })
        .collect();
    groups.sort_by(|a, b| group_order(&a.name, a.priority, &b.name, b.priority));
    let mut snapshot = Snapshot {
        groups,
        aggregated_api: AggregatedDocument {
            v2: Vec::new(),
            v2beta1: Vec::new(),
            etag: String::new(),
        },
        aggregated_apis: AggregatedDocument {
            v2: Vec::new(),
            v2beta1: Vec::new(),
            etag: String::new(),
        },
    };
    snapshot.aggregated_api = render_aggregated(&snapshot, true);
    snapshot.aggregated_apis = render_aggregated(&snapshot, false);
    snapshot
}

fn render_aggregated(snapshot: &Snapshot, core: bool) -> AggregatedDocument {
    let v2 =
        serde_json::to_vec(&snapshot.aggregated(core, AggregatedVersion::V2)).unwrap_or_default();
    let v2beta1 = serde_json::to_vec(&snapshot.aggregated(core, AggregatedVersion::V2Beta1))
        .unwrap_or_default();
    // Upstream hashes the v2 object whatever version is served: SHA-512, upper-case hex, quoted.
    let digest = ring::digest::digest(&ring::digest::SHA512, &v2);
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02X}")).collect();
    AggregatedDocument {
        v2,
        v2beta1,
        etag: format!("\"{hex}\""),
    }
}

/// The discovery routes, served from `registry`. Each path also answers with a trailing slash,
/// as upstream's (the aggregator's `/apis/<group>/`, go-restful's group/version web services):
/// client-go keeps the slash of a base path that ends with one.
pub fn router(registry: Arc<DiscoveryRegistry>) -> Router {
    Router::new()
        .route("/api", get(get_api))
        .route("/api/", get(get_api))
        .route("/api/{version}", get(get_core_version))
        .route("/api/{version}/", get(get_core_version))
        .route("/apis", get(get_apis))
        .route("/apis/", get(get_apis))
        .route("/apis/{group}", get(get_group))
        .route("/apis/{group}/", get(get_group))
        .route("/apis/{group}/{version}", get(get_group_version))
        .route("/apis/{group}/{version}/", get(get_group_version))
        .with_state(registry)
}

type Shared = State<Arc<DiscoveryRegistry>>;

async fn get_api(State(registry): Shared, headers: HeaderMap) -> Response {
    let snapshot = registry.snapshot();
    match negotiate(headers.get(header::ACCEPT), true) {
        Some(MediaType::Aggregated { version, yaml }) => aggregated_response(
            &snapshot,
            &snapshot.aggregated_api,
            true,
            version,
            yaml,
            &headers,
        ),
        Some(media) => {
            let address = registry.server_address.clone().unwrap_or_else(|| {
                headers
                    .get(header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or("localhost")
                    .to_string()
            });
            let versions = snapshot
                .group("")
                .map(|g| g.versions.iter().map(|v| v.version.clone()).collect());
            let document = APIVersions {
                kind: "APIVersions".into(),
                versions: versions.unwrap_or_default(),
                server_address_by_client_cidrs: vec![ServerAddressByClientCIDR {
                    client_cidr: "0.0.0.0/0".into(),
                    server_address: address,
                }],
            };
            write(media, &document)
        }
        None => not_acceptable(),
    }
}

async fn get_apis(State(registry): Shared, headers: HeaderMap) -> Response {
    let snapshot = registry.snapshot();
    match negotiate(headers.get(header::ACCEPT), true) {
        Some(MediaType::Aggregated { version, yaml }) => aggregated_response(
            &snapshot,
            &snapshot.aggregated_apis,
            false,
            version,
            yaml,
            &headers,
        ),
        Some(media) => write(media, &snapshot.api_group_list()),
        None => not_acceptable(),
    }
}

/// The path's segments after the leading `/api` or `/apis`. Read from the URI rather than with
/// `Path`: a request delegated by the REST router still carries that router's path parameters.
fn path_segments(uri: &Uri) -> Vec<String> {
    uri.path()
        .split('/')
        .filter(|s| !s.is_empty())
        .skip(1)
        .map(str::to_string)
        .collect()
}

async fn get_core_version(State(registry): Shared, uri: Uri, headers: HeaderMap) -> Response {
    let version = path_segments(&uri).pop().unwrap_or_default();
    legacy(
        registry.snapshot().api_resource_list("", &version),
        &headers,
    )
}

async fn get_group(State(registry): Shared, uri: Uri, headers: HeaderMap) -> Response {
    let group = path_segments(&uri).pop().unwrap_or_default();
    legacy(registry.snapshot().api_group(&group), &headers)
}

async fn get_group_version(State(registry): Shared, uri: Uri, headers: HeaderMap) -> Response {
    let mut segments = path_segments(&uri);
    let version = segments.pop().unwrap_or_default();
    let group = segments.pop().unwrap_or_default();
    let document = if group.is_empty() {
        None
    } else {
        registry.snapshot().api_resource_list(&group, &version)
    };
    legacy(document, &headers)
}

fn legacy<T: Serialize>(document: Option<T>, headers: &HeaderMap) -> Response {
    let Some(document) = document else {
        return ApiError::path_not_found().into_response();
    };
    match negotiate(headers.get(header::ACCEPT), false) {
        Some(media) => write(media, &document),
        None => not_acceptable(),
    }
}

fn not_acceptable() -> Response {
    ApiError::not_acceptable(&["application/json", "application/yaml"]).into_response()
}

fn write<T: Serialize>(media: MediaType, document: &T) -> Response {
    let (content_type, body) = match media {
        MediaType::Yaml => match serde_yaml::to_string(document) {
            Ok(text) => ("application/yaml", text.into_bytes()),
            Err(err) => return ApiError::internal(err).into_response(),
        },
        _ => match serde_json::to_vec(document) {
            Ok(bytes) => ("application/json", bytes),
            Err(err) => return ApiError::internal(err).into_response(),
        },
    };
    (StatusCode::OK, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

fn aggregated_response(
    snapshot: &Snapshot,
    document: &AggregatedDocument,
    core: bool,
    version: AggregatedVersion,
    yaml: bool,
    headers: &HeaderMap,
) -> Response {
    let base = if yaml {
        "application/yaml"
    } else {
        "application/json"
    };
    let content_type = format!(
        "{base};g={APIDISCOVERY_GROUP};v={};as={APIGROUP_DISCOVERY_LIST_KIND}",
        version.as_str()
    );
    let mut response = if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == document.etag.as_bytes())
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let body = if yaml {
            match serde_yaml::to_string(&snapshot.aggregated(core, version)) {
                Ok(text) => text.into_bytes(),
                Err(err) => return ApiError::internal(err).into_response(),
            }
        } else {
            match version {
                AggregatedVersion::V2 => document.v2.clone(),
                AggregatedVersion::V2Beta1 => document.v2beta1.clone(),
            }
        };
        let mut ok = (StatusCode::OK, body).into_response();
        if let Ok(value) = HeaderValue::from_str(&content_type) {
            ok.headers_mut().insert(header::CONTENT_TYPE, value);
        }
        ok
    };
    let headers_out = response.headers_mut();
    if let Ok(etag) = HeaderValue::from_str(&document.etag) {
        headers_out.insert(header::ETAG, etag);
    }
    headers_out.insert(header::VARY, HeaderValue::from_static("Accept"));
    headers_out.insert(header::CACHE_CONTROL, HeaderValue::from_static("public"));
    response
}

#[cfg(test)]
mod tests;
