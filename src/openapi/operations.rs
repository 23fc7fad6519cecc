//! The operations of one resource and its subresources, as kube-apiserver's endpoint installer
//! registers them: list/create/deletecollection on the collection, read/replace/patch/delete on the
//! item, the deprecated watch paths, the all-namespaces list, and per-subresource operations
//! (object subresources such as `status` and `scale`, `log`, and the connect subresources `exec`,
//! `attach`, `portforward` and `proxy`).

use super::params::{self, Parameter};
use super::paths::{
    article, title, Gvk, KindIndex, Method, Namer, Operation, PathSet, Payload, RequestBody,
    Response, ANY_MEDIA_TYPE, CUSTOM_RESOURCE_PATCH_MEDIA_TYPES, DELETE_OPTIONS, LOG_MEDIA_TYPES,
    OBJECT_MEDIA_TYPES, PATCH, PATCH_MEDIA_TYPES, STATUS, STREAM_MEDIA_TYPES, WATCH_EVENT,
};
use crate::catalog::{ResourceInfo, SubresourceInfo};

/// Everything needed to describe one resource's operations.
pub(super) struct ResourceContext<'a> {
    pub(super) resource: &'a ResourceInfo,
    pub(super) kinds: &'a KindIndex,
    pub(super) namer: &'a Namer,
    /// `/apis/apps/v1`.
    pub(super) prefix: String,
    /// `Namespaced` or empty.
    pub(super) scope: &'static str,
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
        self.kinds
            .definition(group, version, kind)
            .map(|name| Payload::Definition(name.to_string()))
    }

    fn object(&self) -> Option<Payload> {
        self.definition(
            &self.resource.group,
            &self.resource.version,
            &self.resource.kind,
        )
    }

    fn list(&self) -> Option<Payload> {
        self.definition(
            &self.resource.group,
            &self.resource.version,
            &format!("{}List", self.resource.kind),
        )
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
        p.push(params::name(&self.resource.kind));
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

pub(super) fn ok(payload: Option<Payload>) -> Response {
    Response {
        code: 200,
        description: "OK",
        payload,
    }
}

fn created(payload: Option<Payload>) -> Response {
    Response {
        code: 201,
        description: "Created",
        payload,
    }
}

fn accepted(payload: Option<Payload>) -> Response {
    Response {
        code: 202,
        description: "Accepted",
        payload,
    }
}

pub(super) fn unauthorized() -> Response {
    Response {
        code: 401,
        description: "Unauthorized",
        payload: None,
    }
}

fn status() -> Option<Payload> {
    Some(Payload::Definition(STATUS.to_string()))
}

fn with(mut base: Vec<Parameter>, extra: Vec<Parameter>) -> Vec<Parameter> {
    base.extend(extra);
    base
}

pub(super) fn add_resource(set: &mut PathSet, ctx: &ResourceContext<'_>) {
    let r = ctx.resource;
    let kind = &r.kind;
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
            ctx.operation(
                Method::Get,
                "list",
                format!("{scope}{kind}"),
                list_doc(kind),
                "list",
                params,
                None,
                STREAM_MEDIA_TYPES,
                responses,
            ),
        );
    }
    if r.supports("create") {
        let body = RequestBody {
            payload: ctx.object().unwrap_or(Payload::AnyObject),
            required: true,
            consumes: ANY_MEDIA_TYPE,
        };
        let params = base(with(ctx.scope_params(), params::write_options()));
        let responses = vec![
            ok(ctx.object()),
            created(ctx.object()),
            accepted(ctx.object()),
            unauthorized(),
        ];
        let doc = format!("create{}{kind}", article(kind));
        set.add(
            collection.clone(),
            ctx.operation(
                Method::Post,
                "create",
                format!("{scope}{kind}"),
                doc,
                "post",
                params,
                Some(body),
                OBJECT_MEDIA_TYPES,
                responses,
            ),
        );
    }
    if r.supports("deletecollection") {
        let body = RequestBody {
            payload: Payload::Definition(DELETE_OPTIONS.to_string()),
            required: false,
            consumes: ANY_MEDIA_TYPE,
        };
        let params = base(with(
            ctx.scope_params(),
            params::delete_collection_options(),
        ));
        let doc = format!("delete collection of {kind}");
        set.add(
            collection.clone(),
            ctx.operation(
                Method::Delete,
                "deletecollection",
                format!("{scope}{kind}"),
                doc,
                "deletecollection",
                params,
                Some(body),
                OBJECT_MEDIA_TYPES,
                vec![ok(status()), unauthorized()],
            ),
        );
    }
    if r.supports("get") {
        let doc = format!("read the specified {kind}");
        set.add(
            item.clone(),
            ctx.operation(
                Method::Get,
                "read",
                format!("{scope}{kind}"),
                doc,
                "get",
                base(ctx.item_params()),
                None,
                OBJECT_MEDIA_TYPES,
                vec![ok(ctx.object()), unauthorized()],
            ),
        );
    }
    if r.supports("update") {
        add_replace(set, ctx, &item, "", ctx.object(), base(ctx.item_params()));
    }
    if r.supports("patch") {
        add_patch(set, ctx, &item, "", ctx.object(), base(ctx.item_params()));
    }
    if r.supports("delete") {
        let body = RequestBody {
            payload: Payload::Definition(DELETE_OPTIONS.to_string()),
            required: false,
            consumes: ANY_MEDIA_TYPE,
        };
        let params = base(with(ctx.item_params(), params::delete_options()));
        let doc = format!("delete{}{kind}", article(kind));
        set.add(
            item.clone(),
            ctx.operation(
                Method::Delete,
                "delete",
                format!("{scope}{kind}"),
                doc,
                "delete",
                params,
                Some(body),
                OBJECT_MEDIA_TYPES,
                vec![ok(status()), accepted(status()), unauthorized()],
            ),
        );
    }
    if watches {
        let event = Some(Payload::Definition(WATCH_EVENT.to_string()));
        let watch_item = format!("{}/watch/{}/{{name}}", ctx.prefix, ctx.collection_path());
        let doc = format!("watch changes to an object of kind {kind}. deprecated: use the 'watch' parameter with a list operation instead, filtered to a single item with the 'fieldSelector' parameter.");
        let params = base(with(ctx.item_params(), params::list_options()));
        set.add(
            watch_item,
            ctx.operation(
                Method::Get,
                "watch",
                format!("{scope}{kind}"),
                doc,
                "watch",
                params,
                None,
                STREAM_MEDIA_TYPES,
                vec![ok(event.clone()), unauthorized()],
            ),
        );
        if r.supports("list") {
            let watch_collection = format!("{}/watch/{}", ctx.prefix, ctx.collection_path());
            let doc = format!("watch individual changes to a list of {kind}. deprecated: use the 'watch' parameter with a list operation instead.");
            let params = base(with(ctx.scope_params(), params::list_options()));
            set.add(
                watch_collection,
                ctx.operation(
                    Method::Get,
                    "watch",
                    format!("{scope}{kind}List"),
                    doc.clone(),
                    "watchlist",
                    params,
                    None,
                    STREAM_MEDIA_TYPES,
                    vec![ok(event.clone()), unauthorized()],
                ),
            );
            if r.namespaced {
                let params = base(params::list_options());
                set.add(
                    format!("{}/watch/{}", ctx.prefix, r.plural),
                    ctx.operation(
                        Method::Get,
                        "watch",
                        format!("{kind}ListForAllNamespaces"),
                        doc,
                        "watchlist",
                        params,
                        None,
                        STREAM_MEDIA_TYPES,
                        vec![ok(event), unauthorized()],
                    ),
                );
            }
        }
    }
    if r.namespaced && r.supports("list") {
        let params = base(params::list_options());
        set.add(
            format!("{}/{}", ctx.prefix, r.plural),
            ctx.operation(
                Method::Get,
                "list",
                format!("{kind}ForAllNamespaces"),
                list_doc(kind),
                "list",
                params,
                None,
                STREAM_MEDIA_TYPES,
                vec![ok(ctx.list()), unauthorized()],
            ),
        );
    }
}

fn add_replace(
    set: &mut PathSet,
    ctx: &ResourceContext<'_>,
    path: &str,
    sub: &str,
    object: Option<Payload>,
    path_params: Vec<Parameter>,
) {
    let kind = &ctx.resource.kind;
    let doc = if sub.is_empty() {
        format!("replace the specified {kind}")
    } else {
        format!("replace {sub} of the specified {kind}")
    };
    let body = RequestBody {
        payload: object.clone().unwrap_or(Payload::AnyObject),
        required: true,
        consumes: ANY_MEDIA_TYPE,
    };
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

fn add_patch(
    set: &mut PathSet,
    ctx: &ResourceContext<'_>,
    path: &str,
    sub: &str,
    object: Option<Payload>,
    path_params: Vec<Parameter>,
) {
    let kind = &ctx.resource.kind;
    let doc = if sub.is_empty() {
        format!("partially update the specified {kind}")
    } else {
        format!("partially update {sub} of the specified {kind}")
    };
    // Custom resources take no strategic merge patch; clients (kubectl apply) read that here.
    let custom = ctx.resource.is_custom();
    let body = RequestBody {
        payload: Payload::Definition(PATCH.to_string()),
        required: true,
        consumes: if custom {
            CUSTOM_RESOURCE_PATCH_MEDIA_TYPES
        } else {
            PATCH_MEDIA_TYPES
        },
    };
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
    const PROXY: &[Method] = &[
        Method::Get,
        Method::Put,
        Method::Post,
        Method::Delete,
        Method::Options,
        Method::Head,
        Method::Patch,
    ];
    match name {
        "exec" | "attach" | "portforward" => Some(STREAM),
        "proxy" => Some(PROXY),
        _ => None,
    }
}

pub(super) fn add_subresource(set: &mut PathSet, ctx: &ResourceContext<'_>, sub: &SubresourceInfo) {
    let r = ctx.resource;
    let kind = &r.kind;
    let scope = ctx.scope;
    let path = format!(
        "{}/{}/{{name}}/{}",
        ctx.prefix,
        ctx.collection_path(),
        sub.name
    );
    let (sub_group, sub_version) = sub.kind_group_version(r);
    let sub_gvk = Gvk {
        group: sub_group.to_string(),
        version: sub_version.to_string(),
        kind: sub.kind.to_string(),
    };
    let object = ctx.definition(sub_group, sub_version, &sub.kind);
    let base = || with(vec![params::pretty()], ctx.item_params());
    let with_gvk = |mut op: Operation| {
        op.gvk = Some(sub_gvk.clone());
        op
    };
    let supports = |verb: &str| sub.verbs.contains(&verb);

    if let Some(methods) = connect_methods(sub.name) {
        let options = params::connect_options(sub.name, kind);
        for &method in methods {
            let doc = format!(
                "connect {} requests to {} of {kind}",
                method.title().to_uppercase(),
                sub.name
            );
            let rest = format!("{}{scope}{kind}{}", method.title(), title(sub.name));
            let params = with(ctx.item_params(), options.clone());
            let op = ctx.operation(
                method,
                "connect",
                rest.clone(),
                doc.clone(),
                "connect",
                params,
                None,
                ANY_MEDIA_TYPE,
                vec![ok(Some(Payload::Text)), unauthorized()],
            );
            set.add(path.clone(), with_gvk(op));
            if sub.name == "proxy" {
                let params = with(
                    with(ctx.item_params(), vec![params::proxy_path()]),
                    options.clone(),
                );
                let op = ctx.operation(
                    method,
                    "connect",
                    format!("{rest}WithPath"),
                    doc,
                    "connect",
                    params,
                    None,
                    ANY_MEDIA_TYPE,
                    vec![ok(Some(Payload::Text)), unauthorized()],
                );
                set.add(format!("{path}/{{path}}"), with_gvk(op));
            }
        }
        return;
    }
    if sub.name == "log" {
        let params = with(base(), params::connect_options("log", kind));
        let doc = format!("read log of the specified {kind}");
        let op = ctx.operation(
            Method::Get,
            "read",
            format!("{scope}{kind}Log"),
            doc,
            "get",
            params,
            None,
            LOG_MEDIA_TYPES,
            vec![ok(Some(Payload::Text)), unauthorized()],
        );
        set.add(path, op);
        return;
    }
    if supports("get") {
        let doc = format!("read {} of the specified {kind}", sub.name);
        let op = ctx.operation(
            Method::Get,
            "read",
            format!("{scope}{kind}{}", title(sub.name)),
            doc,
            "get",
            base(),
            None,
            OBJECT_MEDIA_TYPES,
            vec![ok(object.clone()), unauthorized()],
        );
        set.add(path.clone(), with_gvk(op));
    }
    if supports("create") {
        let body = RequestBody {
            payload: object.clone().unwrap_or(Payload::AnyObject),
            required: true,
            consumes: ANY_MEDIA_TYPE,
        };
        let doc = format!("create {} of{}{kind}", sub.name, article(kind));
        let responses = vec![
            ok(object.clone()),
            created(object.clone()),
            accepted(object.clone()),
            unauthorized(),
        ];
        let params = with(base(), params::write_options());
        let op = ctx.operation(
            Method::Post,
            "create",
            format!("{scope}{kind}{}", title(sub.name)),
            doc,
            "post",
            params,
            Some(body),
            OBJECT_MEDIA_TYPES,
            responses,
        );
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
