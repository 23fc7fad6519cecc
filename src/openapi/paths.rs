//! The REST operations of a group/version, derived from the resource catalogue as kube-apiserver's
//! endpoint installer derives them: which paths exist, their operation ids, descriptions, actions,
//! parameters, bodies and responses. Rendering to OpenAPI v2 or v3 is done by [`super::v2`] and
//! [`super::v3`] from this neutral model.

use std::collections::BTreeMap;

use serde_json::Value;

use super::params::{self, Parameter};
use crate::registry::catalog::{ResourceInfo, SubresourceInfo};

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
pub(crate) const STREAM_MEDIA_TYPES: &[&str] = &["application/json", "application/json;stream=watch", "application/yaml"];
/// What PATCH consumes.
pub(crate) const PATCH_MEDIA_TYPES: &[&str] = &[
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
];
/// What log reads produce.
const LOG_MEDIA_TYPES: &[&str] = &["application/json", "application/yaml", "text/plain"];
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
    fn title(self) -> &'static str {
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
            let Some(gvks) = schema.get("x-kubernetes-group-version-kind").and_then(Value::as_array) else {
                continue;
            };
            for gvk in gvks {
                let field = |f: &str| gvk.get(f).and_then(Value::as_str).unwrap_or_default().to_string();
                by_gvk.entry((field("group"), field("version"), field("kind"))).or_insert_with(|| name.clone());
            }
        }
        Self { by_gvk }
    }

    /// Adds the kinds `definitions` describe; earlier entries win.
    pub(crate) fn extend<'a>(&mut self, definitions: impl IntoIterator<Item = (&'a String, &'a Value)>) {
        for (gvk, name) in Self::new(definitions).by_gvk {
            self.by_gvk.entry(gvk).or_insert(name);
        }
    }

    /// The definition of `group/version, Kind=kind`, if any.
    pub(crate) fn definition(&self, group: &str, version: &str, kind: &str) -> Option<&str> {
        self.by_gvk.get(&(group.to_string(), version.to_string(), kind.to_string())).map(String::as_str)
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
fn title(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The article upstream puts before a kind in descriptions: none for plurals, `an` before vowels.
fn article(kind: &str) -> &'static str {
    let plural = kind.ends_with('s') && !kind.ends_with("ss");
    match kind.chars().next() {
        _ if plural => " ",
        Some(c) if "aeiouAEIOU".contains(c) => " an ",
        _ => " a ",
    }
}

/// Names operations of one group/version: `listAppsV1NamespacedDeployment`, tag `apps_v1`.
struct Namer {
    /// `AppsV1`, `CoreV1`, `RbacAuthorizationV1`.
    infix: String,
    tag: String,
}

impl Namer {
    fn new(group: &str, version: &str) -> Self {
        let group = if group.is_empty() { "core" } else { group.trim_end_matches(".k8s.io") };
        Self {
            infix: format!("{}{}", to_operation_id(group, true), to_operation_id(version, true)),
            tag: format!("{}_{}", to_operation_id(group, false), to_operation_id(version, false)),
        }
    }

    /// `verb` + group/version + `rest` (already capitalised).
    fn id(&self, verb: &str, rest: &str) -> String {
        format!("{verb}{}{}", self.infix, to_operation_id(rest, true))
    }
}

/// Everything needed to describe one resource's operations.
struct ResourceContext<'a> {
    resource: &'a ResourceInfo,
    kinds: &'a KindIndex,
    namer: &'a Namer,
    /// `/apis/apps/v1`.
    prefix: String,
    /// `Namespaced` or empty.
    scope: &'static str,
}

impl ResourceContext<'_> {
    fn gvk(&self) -> Gvk {
        Gvk {
            group: self.resource.group.to_string(),
            version: self.resource.version.to_string(),
            kind: self.resource.kind.to_string(),
        }
    }

    fn definition(&self, group: &str, version: &str, kind: &str) -> Option<Payload> {
        self.kinds.definition(group, version, kind).map(|name| Payload::Definition(name.to_string()))
    }

    fn object(&self) -> Option<Payload> {
        self.definition(self.resource.group, self.resource.version, self.resource.kind)
    }

    fn list(&self) -> Option<Payload> {
        self.definition(self.resource.group, self.resource.version, &format!("{}List", self.resource.kind))
    }

    /// `namespaces/{namespace}/deployments` or `clusterroles`.
    fn collection_path(&self) -> String {
        if self.resource.namespaced {
            format!("namespaces/{{namespace}}/{}", self.resource.plural)
        } else {
            self.resource.plural.to_string()
        }
    }

    fn scope_params(&self) -> Vec<Parameter> {
        if self.resource.namespaced {
            vec![params::namespace()]
        } else {
            Vec::new()
        }
    }

    fn item_params(&self) -> Vec<Parameter> {
        let mut p = self.scope_params();
        p.push(params::name(self.resource.kind));
        p
    }

    #[allow(clippy::too_many_arguments)]
    fn operation(
        &self,
        method: Method,
        verb: &str,
        rest: String,
        description: String,
        action: &'static str,
        parameters: Vec<Parameter>,
        body: Option<RequestBody>,
        produces: &'static [&'static str],
        responses: Vec<Response>,
    ) -> Operation {
        Operation {
            method,
            operation_id: self.namer.id(verb, &rest),
            description,
            tag: self.namer.tag.clone(),
            action,
            gvk: Some(self.gvk()),
            parameters,
            body,
            produces,
            responses,
        }
    }
}

fn ok(payload: Option<Payload>) -> Response {
    Response { code: 200, description: "OK", payload }
}

fn created(payload: Option<Payload>) -> Response {
    Response { code: 201, description: "Created", payload }
}

fn accepted(payload: Option<Payload>) -> Response {
    Response { code: 202, description: "Accepted", payload }
}

fn unauthorized() -> Response {
    Response { code: 401, description: "Unauthorized", payload: None }
}

fn status() -> Option<Payload> {
    Some(Payload::Definition(STATUS.to_string()))
}

fn with(mut base: Vec<Parameter>, extra: Vec<Parameter>) -> Vec<Parameter> {
    base.extend(extra);
    base
}

/// Collects operations by path, keeping the first operation of a method on a path.
#[derive(Default)]
struct PathSet {
    paths: BTreeMap<String, Vec<Operation>>,
}

impl PathSet {
    fn add(&mut self, path: String, op: Operation) {
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
                let mut shared: Vec<Parameter> = operations.first().map(|o| o.parameters.clone()).unwrap_or_default();
                shared.retain(|p| operations.iter().all(|o| o.parameters.contains(p)));
                for op in &mut operations {
                    op.parameters.retain(|p| !shared.contains(p));
                    params::sort(&mut op.parameters);
                }
                params::sort(&mut shared);
                PathItem { path, parameters: shared, operations }
            })
            .collect()
    }
}

/// The paths of one group/version: every resource, subresource and verb of `resources` (all of
/// which MUST belong to that group/version), plus the resource list at `/apis/<g>/<v>/`.
pub(crate) fn group_version_paths(group: &str, version: &str, resources: &[&ResourceInfo], kinds: &KindIndex) -> Vec<PathItem> {
    let namer = Namer::new(group, version);
    let prefix = if group.is_empty() { format!("/api/{version}") } else { format!("/apis/{group}/{version}") };
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
            responses: vec![ok(Some(Payload::Definition(API_RESOURCE_LIST.to_string()))), unauthorized()],
        },
    );
    for resource in resources {
        let ctx = ResourceContext {
            resource,
            kinds,
            namer: &namer,
            prefix: prefix.clone(),
            scope: if resource.namespaced { "Namespaced" } else { "" },
        };
        add_resource(&mut set, &ctx);
        for sub in resource.subresources {
            add_subresource(&mut set, &ctx, sub);
        }
    }
    set.finish()
}

fn add_resource(set: &mut PathSet, ctx: &ResourceContext<'_>) {
    let r = ctx.resource;
    let kind = r.kind;
    let scope = ctx.scope;
    let collection = format!("{}/{}", ctx.prefix, ctx.collection_path());
    let item = format!("{collection}/{{name}}");
    let watches = r.supports("watch");
    let list_doc = |kind: &str| {
        if watches {
            format!("list or watch objects of kind {kind}")
        } else {
            format!("list objects of kind {kind}")
        }
    };
    let base = |p: Vec<Parameter>| with(vec![params::pretty()], p);
    if r.supports("list") {
        let params = base(with(ctx.scope_params(), params::list_options()));
        let responses = vec![ok(ctx.list()), unauthorized()];
        set.add(
            collection.clone(),
            ctx.operation(Method::Get, "list", format!("{scope}{kind}"), list_doc(kind), "list", params, None, STREAM_MEDIA_TYPES, responses),
        );
    }
    if r.supports("create") {
        let body = RequestBody { payload: ctx.object().unwrap_or(Payload::AnyObject), required: true, consumes: ANY_MEDIA_TYPE };
        let params = base(with(ctx.scope_params(), params::write_options()));
        let responses = vec![ok(ctx.object()), created(ctx.object()), accepted(ctx.object()), unauthorized()];
        let doc = format!("create{}{kind}", article(kind));
        set.add(
            collection.clone(),
            ctx.operation(Method::Post, "create", format!("{scope}{kind}"), doc, "post", params, Some(body), OBJECT_MEDIA_TYPES, responses),
        );
    }
    if r.supports("deletecollection") {
        let body = RequestBody { payload: Payload::Definition(DELETE_OPTIONS.to_string()), required: false, consumes: ANY_MEDIA_TYPE };
        let params = base(with(ctx.scope_params(), params::delete_collection_options()));
        let doc = format!("delete collection of {kind}");
        set.add(
            collection.clone(),
            ctx.operation(Method::Delete, "deletecollection", format!("{scope}{kind}"), doc, "deletecollection", params, Some(body), OBJECT_MEDIA_TYPES, vec![ok(status()), unauthorized()]),
        );
    }
    if r.supports("get") {
        let doc = format!("read the specified {kind}");
        set.add(
            item.clone(),
            ctx.operation(Method::Get, "read", format!("{scope}{kind}"), doc, "get", base(ctx.item_params()), None, OBJECT_MEDIA_TYPES, vec![ok(ctx.object()), unauthorized()]),
        );
    }
    if r.supports("update") {
        add_replace(set, ctx, &item, "", ctx.object(), base(ctx.item_params()));
    }
    if r.supports("patch") {
        add_patch(set, ctx, &item, "", ctx.object(), base(ctx.item_params()));
    }
    if r.supports("delete") {
        let body = RequestBody { payload: Payload::Definition(DELETE_OPTIONS.to_string()), required: false, consumes: ANY_MEDIA_TYPE };
        let params = base(with(ctx.item_params(), params::delete_options()));
        let doc = format!("delete{}{kind}", article(kind));
        set.add(
            item.clone(),
            ctx.operation(Method::Delete, "delete", format!("{scope}{kind}"), doc, "delete", params, Some(body), OBJECT_MEDIA_TYPES, vec![ok(status()), accepted(status()), unauthorized()]),
        );
    }
    if watches {
        let event = Some(Payload::Definition(WATCH_EVENT.to_string()));
        let watch_item = format!("{}/watch/{}/{{name}}", ctx.prefix, ctx.collection_path());
        let doc = format!("watch changes to an object of kind {kind}. deprecated: use the 'watch' parameter with a list operation instead, filtered to a single item with the 'fieldSelector' parameter.");
        let params = base(with(ctx.item_params(), params::list_options()));
        set.add(
            watch_item,
            ctx.operation(Method::Get, "watch", format!("{scope}{kind}"), doc, "watch", params, None, STREAM_MEDIA_TYPES, vec![ok(event.clone()), unauthorized()]),
        );
        if r.supports("list") {
            let watch_collection = format!("{}/watch/{}", ctx.prefix, ctx.collection_path());
            let doc = format!("watch individual changes to a list of {kind}. deprecated: use the 'watch' parameter with a list operation instead.");
            let params = base(with(ctx.scope_params(), params::list_options()));
            set.add(
                watch_collection,
                ctx.operation(Method::Get, "watch", format!("{scope}{kind}List"), doc.clone(), "watchlist", params, None, STREAM_MEDIA_TYPES, vec![ok(event.clone()), unauthorized()]),
            );
            if r.namespaced {
                let params = base(params::list_options());
                set.add(
                    format!("{}/watch/{}", ctx.prefix, r.plural),
                    ctx.operation(Method::Get, "watch", format!("{kind}ListForAllNamespaces"), doc, "watchlist", params, None, STREAM_MEDIA_TYPES, vec![ok(event), unauthorized()]),
                );
            }
        }
    }
    if r.namespaced && r.supports("list") {
        let params = base(params::list_options());
        set.add(
            format!("{}/{}", ctx.prefix, r.plural),
            ctx.operation(Method::Get, "list", format!("{kind}ForAllNamespaces"), list_doc(kind), "list", params, None, STREAM_MEDIA_TYPES, vec![ok(ctx.list()), unauthorized()]),
        );
    }
}

fn add_replace(set: &mut PathSet, ctx: &ResourceContext<'_>, path: &str, sub: &str, object: Option<Payload>, path_params: Vec<Parameter>) {
    let kind = ctx.resource.kind;
    let doc = if sub.is_empty() { format!("replace the specified {kind}") } else { format!("replace {sub} of the specified {kind}") };
    let body = RequestBody { payload: object.clone().unwrap_or(Payload::AnyObject), required: true, consumes: ANY_MEDIA_TYPE };
    set.add(
        path.to_string(),
        ctx.operation(
            Method::Put,
            "replace",
            format!("{}{kind}{}", ctx.scope, title(sub)),
            doc,
            "put",
            with(path_params, params::write_options()),
            Some(body),
            OBJECT_MEDIA_TYPES,
            vec![ok(object.clone()), created(object), unauthorized()],
        ),
    );
}

fn add_patch(set: &mut PathSet, ctx: &ResourceContext<'_>, path: &str, sub: &str, object: Option<Payload>, path_params: Vec<Parameter>) {
    let kind = ctx.resource.kind;
    let doc = if sub.is_empty() {
        format!("partially update the specified {kind}")
    } else {
        format!("partially update {sub} of the specified {kind}")
    };
    let body = RequestBody { payload: Payload::Definition(PATCH.to_string()), required: true, consumes: PATCH_MEDIA_TYPES };
    set.add(
        path.to_string(),
        ctx.operation(
            Method::Patch,
            "patch",
            format!("{}{kind}{}", ctx.scope, title(sub)),
            doc,
            "patch",
            with(path_params, params::patch_options()),
            Some(body),
            OBJECT_MEDIA_TYPES,
            vec![ok(object.clone()), created(object), unauthorized()],
        ),
    );
}

/// Subresources that are connections rather than objects (upstream's `Connecter`s), with the
/// HTTP methods they accept.
fn connect_methods(name: &str) -> Option<&'static [Method]> {
    const STREAM: &[Method] = &[Method::Get, Method::Post];
    const PROXY: &[Method] = &[Method::Get, Method::Put, Method::Post, Method::Delete, Method::Options, Method::Head, Method::Patch];
    match name {
        "exec" | "attach" | "portforward" => Some(STREAM),
        "proxy" => Some(PROXY),
        _ => None,
    }
}

fn add_subresource(set: &mut PathSet, ctx: &ResourceContext<'_>, sub: &SubresourceInfo) {
    let r = ctx.resource;
    let kind = r.kind;
    let scope = ctx.scope;
    let path = format!("{}/{}/{{name}}/{}", ctx.prefix, ctx.collection_path(), sub.name);
    let (sub_group, sub_version) = sub.kind_group_version(r);
    let sub_gvk = Gvk { group: sub_group.to_string(), version: sub_version.to_string(), kind: sub.kind.to_string() };
    let object = ctx.definition(sub_group, sub_version, sub.kind);
    let base = || with(vec![params::pretty()], ctx.item_params());
    let with_gvk = |mut op: Operation| {
        op.gvk = Some(sub_gvk.clone());
        op
    };
    let supports = |verb: &str| sub.verbs.contains(&verb);

    if let Some(methods) = connect_methods(sub.name) {
        let options = params::connect_options(sub.name, kind);
        for &method in methods {
            let doc = format!("connect {} requests to {} of {kind}", method.title().to_uppercase(), sub.name);
            let rest = format!("{}{scope}{kind}{}", method.title(), title(sub.name));
            let params = with(ctx.item_params(), options.clone());
            let op = ctx.operation(method, "connect", rest.clone(), doc.clone(), "connect", params, None, ANY_MEDIA_TYPE, vec![ok(Some(Payload::Text)), unauthorized()]);
            set.add(path.clone(), with_gvk(op));
            if sub.name == "proxy" {
                let params = with(with(ctx.item_params(), vec![params::proxy_path()]), options.clone());
                let op = ctx.operation(method, "connect", format!("{rest}WithPath"), doc, "connect", params, None, ANY_MEDIA_TYPE, vec![ok(Some(Payload::Text)), unauthorized()]);
                set.add(format!("{path}/{{path}}"), with_gvk(op));
            }
        }
        return;
    }
    if sub.name == "log" {
        let params = with(base(), params::connect_options("log", kind));
        let doc = format!("read log of the specified {kind}");
        let op = ctx.operation(Method::Get, "read", format!("{scope}{kind}Log"), doc, "get", params, None, LOG_MEDIA_TYPES, vec![ok(Some(Payload::Text)), unauthorized()]);
        set.add(path, op);
        return;
    }
    if supports("get") {
        let doc = format!("read {} of the specified {kind}", sub.name);
        let op = ctx.operation(Method::Get, "read", format!("{scope}{kind}{}", title(sub.name)), doc, "get", base(), None, OBJECT_MEDIA_TYPES, vec![ok(object.clone()), unauthorized()]);
        set.add(path.clone(), with_gvk(op));
    }
    if supports("create") {
        let body = RequestBody { payload: object.clone().unwrap_or(Payload::AnyObject), required: true, consumes: ANY_MEDIA_TYPE };
        let doc = format!("create {} of{}{kind}", sub.name, article(kind));
        let responses = vec![ok(object.clone()), created(object.clone()), accepted(object.clone()), unauthorized()];
        let params = with(base(), params::write_options());
        let op = ctx.operation(Method::Post, "create", format!("{scope}{kind}{}", title(sub.name)), doc, "post", params, Some(body), OBJECT_MEDIA_TYPES, responses);
        set.add(path.clone(), with_gvk(op));
    }
    if supports("update") {
        let mut inner = PathSet::default();
        add_replace(&mut inner, ctx, &path, sub.name, object.clone(), base());
        for (p, ops) in inner.paths {
            for op in ops {
                set.add(p.clone(), with_gvk(op));
            }
        }
    }
    if supports("patch") {
        let mut inner = PathSet::default();
        add_patch(&mut inner, ctx, &path, sub.name, object.clone(), base());
        for (p, ops) in inner.paths {
            for op in ops {
                set.add(p.clone(), with_gvk(op));
            }
        }
    }
}

/// Every definition name a set of paths refers to directly.
pub(crate) fn referenced_definitions(paths: &[PathItem]) -> Vec<String> {
    let mut names = std::collections::BTreeSet::new();
    for op in paths.iter().flat_map(|p| &p.operations) {
        let payloads = op.responses.iter().filter_map(|r| r.payload.as_ref()).chain(op.body.as_ref().map(|b| &b.payload));
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
            ("", "v1", "list", "NamespacedPod", "listCoreV1NamespacedPod", "core_v1"),
            ("apps", "v1", "patch", "NamespacedDeploymentScale", "patchAppsV1NamespacedDeploymentScale", "apps_v1"),
            ("rbac.authorization.k8s.io", "v1", "read", "ClusterRole", "readRbacAuthorizationV1ClusterRole", "rbacAuthorization_v1"),
            ("flowcontrol.apiserver.k8s.io", "v1", "list", "FlowSchema", "listFlowcontrolApiserverV1FlowSchema", "flowcontrolApiserver_v1"),
            ("stable.example.com", "v1beta1", "create", "NamespacedFoo", "createStableExampleComV1beta1NamespacedFoo", "stableExampleCom_v1beta1"),
        ];
        for (group, version, verb, rest, id, tag) in cases {
            let namer = Namer::new(group, version);
            assert_eq!(namer.id(verb, rest), id);
            assert_eq!(namer.tag, tag);
        }
    }

    #[test]
    fn articles_follow_upstream() {
        assert_eq!(format!("create{}Deployment", article("Deployment")), "create a Deployment");
        assert_eq!(format!("create{}Ingress", article("Ingress")), "create an Ingress");
        assert_eq!(format!("create{}Endpoints", article("Endpoints")), "create Endpoints");
        assert_eq!(format!("create{}IngressClass", article("IngressClass")), "create an IngressClass");
    }

    #[test]
    fn group_version_keys() {
        assert_eq!(group_version_key("", "v1"), "api/v1");
        assert_eq!(group_version_key("apps", "v1"), "apis/apps/v1");
    }
}
