//! The REST operations of a group/version, derived from the resource catalogue as kube-apiserver's
//! endpoint installer derives them: which paths exist, their operation ids, descriptions, actions,
//! parameters, bodies and responses. Rendering to OpenAPI v2 or v3 is done by [`super::v2`] and
//! [`super::v3`] from this neutral model.

use std::collections::BTreeMap;

use serde_json::Value;

use super::operations::{add_resource, add_subresource, ok, unauthorized, ResourceContext};
use super::params::{self, Parameter};
use crate::catalog::ResourceInfo;

/// `io.k8s.apimachinery.pkg.apis.meta.v1.Status`, the result of deletes.
pub(crate) const STATUS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Status";
/// The body of DELETE.
pub(crate) const DELETE_OPTIONS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions";
/// The body of PATCH.
pub(crate) const PATCH: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch";
/// One event of a watch stream.
pub(crate) const WATCH_EVENT: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent";
/// The answer of `GET /apis/<group>/<version>/`.
pub(crate) const API_RESOURCE_LIST: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList";

/// The media types object operations answer with (we serve JSON and YAML).
pub(crate) const OBJECT_MEDIA_TYPES: &[&str] = &["application/json", "application/yaml"];
/// The media types of list and watch operations: the object types plus the watch stream.
pub(crate) const STREAM_MEDIA_TYPES: &[&str] = &[
    "application/json",
    "application/json;stream=watch",
    "application/yaml",
];
/// What PATCH consumes.
pub(crate) const PATCH_MEDIA_TYPES: &[&str] = &[
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
];
/// What PATCH of a custom resource consumes (no strategic merge patch).
pub(crate) const CUSTOM_RESOURCE_PATCH_MEDIA_TYPES: &[&str] = &[
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
];
/// What log reads produce.
pub(crate) const LOG_MEDIA_TYPES: &[&str] = &["application/json", "application/yaml", "text/plain"];
/// Connect and proxy operations take and give anything.
pub(crate) const ANY_MEDIA_TYPE: &[&str] = &["*/*"];

/// The HTTP method of an operation; the order is that of OpenAPI path items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Method {
    Get,
    Put,
    Post,
    Delete,
    Options,
    Head,
    Patch,
}

impl Method {
    /// The path-item key: `get`, `put`, ...
    pub(crate) fn key(self) -> &'static str {
        match self {
            Method::Get => "get",
            Method::Put => "put",
            Method::Post => "post",
            Method::Delete => "delete",
            Method::Options => "options",
            Method::Head => "head",
            Method::Patch => "patch",
        }
    }

    /// `Get`, as connect and proxy operation ids spell it.
    pub(super) fn title(self) -> &'static str {
        match self {
            Method::Get => "Get",
            Method::Put => "Put",
            Method::Post => "Post",
            Method::Delete => "Delete",
            Method::Options => "Options",
            Method::Head => "Head",
            Method::Patch => "Patch",
        }
    }
}

/// A group, version and kind, as the `x-kubernetes-group-version-kind` extension carries it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Gvk {
    pub group: String,
    pub version: String,
    pub kind: String,
}

impl Gvk {
    pub(crate) fn to_json(&self) -> Value {
        serde_json::json!({ "group": self.group, "kind": self.kind, "version": self.version })
    }
}

/// What a body or a response carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Payload {
    /// A definition, by name (`io.k8s.api.apps.v1.Deployment`).
    Definition(String),
    /// Free text (logs, connect streams).
    Text,
    /// An object of no known definition.
    AnyObject,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Response {
    pub code: u16,
    pub description: &'static str,
    pub payload: Option<Payload>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RequestBody {
    pub payload: Payload,
    pub required: bool,
    pub consumes: &'static [&'static str],
}

/// One operation of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Operation {
    pub method: Method,
    pub operation_id: String,
    pub description: String,
    pub tag: String,
    /// `x-kubernetes-action`: get, list, put, patch, post, delete, deletecollection, watch,
    /// watchlist, connect.
    pub action: &'static str,
    pub gvk: Option<Gvk>,
    pub parameters: Vec<Parameter>,
    pub body: Option<RequestBody>,
    pub produces: &'static [&'static str],
    pub responses: Vec<Response>,
}

/// A path with its operations; `parameters` are those every operation shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PathItem {
    pub path: String,
    pub parameters: Vec<Parameter>,
    pub operations: Vec<Operation>,
}

/// Which definition describes each group/version/kind, read from the definitions'
/// `x-kubernetes-group-version-kind` extensions.
#[derive(Debug, Default, Clone)]
pub(crate) struct KindIndex {
    by_gvk: BTreeMap<(String, String, String), String>,
}

impl KindIndex {
    /// Indexes every definition that names its group/version/kind(s).
    pub(crate) fn new<'a>(definitions: impl IntoIterator<Item = (&'a String, &'a Value)>) -> Self {
        let mut by_gvk = BTreeMap::new();
        for (name, schema) in definitions {
            let Some(gvks) = schema
                .get("x-kubernetes-group-version-kind")
                .and_then(Value::as_array)
            else {
                continue;
            };
            for gvk in gvks {
                let field = |f: &str| {
                    gvk.get(f)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string()
                };
                by_gvk
                    .entry((field("group"), field("version"), field("kind")))
                    .or_insert_with(|| name.clone());
            }
        }
        Self { by_gvk }
    }

    /// Adds the kinds `definitions` describe; earlier entries win.
    pub(crate) fn extend<'a>(
        &mut self,
        definitions: impl IntoIterator<Item = (&'a String, &'a Value)>,
    ) {
        for (gvk, name) in Self::new(definitions).by_gvk {
            self.by_gvk.entry(gvk).or_insert(name);
        }
    }

    /// The definition of `group/version, Kind=kind`, if any.
    pub(crate) fn definition(&self, group: &str, version: &str, kind: &str) -> Option<&str> {
        self.by_gvk
            .get(&(group.to_string(), version.to_string(), kind.to_string()))
            .map(String::as_str)
    }
}

/// The key of a group/version in `/openapi/v3`: `api/v1` or `apis/apps/v1`.
pub(crate) fn group_version_key(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// Upstream's `ToValidOperationID`: drops punctuation, capitalising the letter after it.
fn to_operation_id(s: &str, capitalize_first: bool) -> String {
    let mut out = String::with_capacity(s.len());
    let mut capitalize = capitalize_first;
    for (i, c) in s.chars().enumerate() {
        if c.is_alphabetic() || c == '_' || (i != 0 && c.is_ascii_digit()) {
            if capitalize {
                out.extend(c.to_uppercase());
                capitalize = false;
            } else {
                out.push(c);
            }
        } else {
            capitalize = true;
        }
    }
    out
}

/// `strings.Title` of a single lower-case word: `status` -> `Status`.
pub(super) fn title(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The article upstream puts before a kind in descriptions: none for plurals, `an` before vowels.
pub(super) fn article(kind: &str) -> &'static str {
    let plural = kind.ends_with('s') && !kind.ends_with("ss");
    match kind.chars().next() {
        _ if plural => " ",
        Some(c) if "aeiouAEIOU".contains(c) => " an ",
        _ => " a ",
    }
}

/// Names operations of one group/version: `listAppsV1NamespacedDeployment`, tag `apps_v1`.
pub(super) struct Namer {
    /// `AppsV1`, `CoreV1`, `RbacAuthorizationV1`.
    infix: String,
    pub(super) tag: String,
}

impl Namer {
    fn new(group: &str, version: &str) -> Self {
        let group = if group.is_empty() {
            "core"
        } else {
            group.trim_end_matches(".k8s.io")
        };
        Self {
            infix: format!(
                "{}{}",
                to_operation_id(group, true),
                to_operation_id(version, true)
            ),
            tag: format!(
                "{}_{}",
                to_operation_id(group, false),
                to_operation_id(version, false)
            ),
        }
    }

    /// `verb` + group/version + `rest` (already capitalised).
    pub(super) fn id(&self, verb: &str, rest: &str) -> String {
        format!("{verb}{}{}", self.infix, to_operation_id(rest, true))
    }
}

/// Collects operations by path, keeping the first operation of a method on a path.
#[derive(Default)]
pub(super) struct PathSet {
    pub(super) paths: BTreeMap<String, Vec<Operation>>,
}

impl PathSet {
    pub(super) fn add(&mut self, path: String, op: Operation) {
        let ops = self.paths.entry(path).or_default();
        if !ops.iter().any(|o| o.method == op.method) {
            ops.push(op);
        }
    }

    /// Moves the parameters all operations of a path share to the path, and sorts everything.
    fn finish(self) -> Vec<PathItem> {
        self.paths
            .into_iter()
            .map(|(path, mut operations)| {
                operations.sort_by_key(|o| o.method);
                let mut shared: Vec<Parameter> = operations
                    .first()
                    .map(|o| o.parameters.clone())
                    .unwrap_or_default();
                shared.retain(|p| operations.iter().all(|o| o.parameters.contains(p)));
                for op in &mut operations {
                    op.parameters.retain(|p| !shared.contains(p));
                    params::sort(&mut op.parameters);
                }
                params::sort(&mut shared);
                PathItem {
                    path,
                    parameters: shared,
                    operations,
                }
            })
            .collect()
    }
}

/// The paths of one group/version: every resource, subresource and verb of `resources` (all of
/// which MUST belong to that group/version), plus the resource list at `/apis/<g>/<v>/`.
pub(crate) fn group_version_paths(
    group: &str,
    version: &str,
    resources: &[&ResourceInfo],
    kinds: &KindIndex,
) -> Vec<PathItem> {
    let namer = Namer::new(group, version);
    let prefix = if group.is_empty() {
        format!("/api/{version}")
    } else {
        format!("/apis/{group}/{version}")
    };
    let mut set = PathSet::default();
    set.add(
        format!("{prefix}/"),
        Operation {
            method: Method::Get,
            operation_id: namer.id("get", "APIResources"),
            description: "get available resources".to_string(),
            tag: namer.tag.clone(),
            action: "",
            gvk: None,
            parameters: Vec::new(),
            body: None,
            produces: OBJECT_MEDIA_TYPES,
            responses: vec![
                ok(Some(Payload::Definition(API_RESOURCE_LIST.to_string()))),
                unauthorized(),
            ],
        },
    );
    for resource in resources {
        let ctx = ResourceContext {
            resource,
            kinds,
            namer: &namer,
            prefix: prefix.clone(),
            scope: if resource.namespaced {
                "Namespaced"
            } else {
                ""
            },
        };
        add_resource(&mut set, &ctx);
        for sub in &resource.subresources {
            add_subresource(&mut set, &ctx, sub);
        }
    }
    set.finish()
}

/// Every definition name a set of paths refers to directly.
pub(crate) fn referenced_definitions(paths: &[PathItem]) -> Vec<String> {
    let mut names = std::collections::BTreeSet::new();
    for op in paths.iter().flat_map(|p| &p.operations) {
        let payloads = op
            .responses
            .iter()
            .filter_map(|r| r.payload.as_ref())
            .chain(op.body.as_ref().map(|b| &b.payload));
        for payload in payloads {
            if let Payload::Definition(name) = payload {
                names.insert(name.clone());
            }
        }
    }
    names.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_ids_follow_upstream() {
        let cases = [
            (
                "",
                "v1",
                "list",
                "NamespacedPod",
                "listCoreV1NamespacedPod",
                "core_v1",
            ),
            (
                "apps",
                "v1",
                "patch",
                "NamespacedDeploymentScale",
                "patchAppsV1NamespacedDeploymentScale",
                "apps_v1",
            ),
            (
                "rbac.authorization.k8s.io",
                "v1",
                "read",
                "ClusterRole",
                "readRbacAuthorizationV1ClusterRole",
                "rbacAuthorization_v1",
            ),
            (
                "flowcontrol.apiserver.k8s.io",
                "v1",
                "list",
                "FlowSchema",
                "listFlowcontrolApiserverV1FlowSchema",
                "flowcontrolApiserver_v1",
            ),
            (
                "stable.example.com",
                "v1beta1",
                "create",
                "NamespacedFoo",
                "createStableExampleComV1beta1NamespacedFoo",
                "stableExampleCom_v1beta1",
            ),
        ];
        for (group, version, verb, rest, id, tag) in cases {
            let namer = Namer::new(group, version);
            assert_eq!(namer.id(verb, rest), id);
            assert_eq!(namer.tag, tag);
        }
    }

    #[test]
    fn articles_follow_upstream() {
        assert_eq!(
            format!("create{}Deployment", article("Deployment")),
            "create a Deployment"
        );
        assert_eq!(
            format!("create{}Ingress", article("Ingress")),
            "create an Ingress"
        );
        assert_eq!(
            format!("create{}Endpoints", article("Endpoints")),
            "create Endpoints"
        );
        assert_eq!(
            format!("create{}IngressClass", article("IngressClass")),
            "create an IngressClass"
        );
    }

    #[test]
    fn group_version_keys() {
        assert_eq!(group_version_key("", "v1"), "api/v1");
        assert_eq!(group_version_key("apps", "v1"), "apis/apps/v1");
    }
}
