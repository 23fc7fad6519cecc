//! Paths and methods to handlers, as upstream's `endpoints/installer.go` lays routes out and
//! `request/requestinfo.go` reads them.
//!
//! Paths: `/api/v1/...` (core group) and `/apis/<group>/<version>/...`, then
//! `[watch/][namespaces/<ns>/]<resource>[/<name>[/<subresource>]]`. As upstream's RequestInfo,
//! `namespaces/<name>/status` and `namespaces/<name>/finalize` address the namespace itself.
//!
//! Verbs: GET is get (named) or list/watch (collection; `?watch` or a `/watch/` path); POST on a
//! collection is create; PUT and PATCH on a name are update and patch; DELETE is delete (named) or
//! deletecollection. Namespaced resources answer list/watch across namespaces without a namespace,
//! and nothing else there.
//!
//! Answers outside the handlers:
//! * a group/version with no store here, or a path without a resource -> the delegate (else 404);
//! * an unknown resource in a served group/version, a cluster-scoped resource under a namespace,
//!   a named namespaced path without namespace, or an unknown subresource -> 404 NotFound
//!   `the server could not find the requested resource`;
//! * a method the path does not take, or a verb the resource does not support -> 405
//!   `<verb> is not supported on resources of kind "<resource>"`;
//! * a subresource the catalogue lists but this server does not serve (the `proxy`
//!   subresources; what the resource's strategy neither serves, creates nor connects) -> 405
//!   MethodNotAllowed naming the subresource, never a silent success.
//!
//! Connect subresources (the strategy's `connect_rest`: pods' `log`, `exec`, `attach`,
//! `portforward`) go to [`super::connect`]; update subresources besides `status` (the
//! strategy's `serves_subresource`: `namespaces/finalize`, `pods/ephemeralcontainers`,
//! `pods/resize`, CSRs' `approval`) to the generic handlers.
//!
//! Creates of `serviceaccounts/<name>/token` go to [`super::token_request`], creates of
//! `tokenreviews` to [`super::token_review`].

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use http::{Method, StatusCode};
use percent_encoding::percent_decode_str;
use tower::ServiceExt;

use super::handlers::{self, Scope};
use super::negotiation::{self, Output};
use super::query::QueryParams;
use super::CoreContext;
use crate::api::status::{ApiError, StatusDetails};
use crate::catalog::ResourceInfo;
use crate::registry::strategy::CreateRest;

/// A request path split into its API parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedPath {
    pub group: String,
    pub version: String,
    /// A legacy `/watch/` path.
    pub watch: bool,
    pub namespace: Option<String>,
    pub resource: String,
    pub name: Option<String>,
    pub subresource: Option<String>,
    /// Segments after the subresource (`proxy/<path>`).
    pub extra: Vec<String>,
}

/// Splits a path into an API request; `None` when it names no resource (`/api`, `/apis/apps/v1`,
/// anything outside `/api` and `/apis`).
pub fn parse_path(path: &str) -> Option<ParsedPath> {
    let segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned())
        .collect();
    let (group, version, mut rest) = match segments.first().map(String::as_str) {
        Some("api") if segments.len() >= 3 => (String::new(), segments[1].clone(), &segments[2..]),
        Some("apis") if segments.len() >= 4 => {
            (segments[1].clone(), segments[2].clone(), &segments[3..])
        }
        _ => return None,
    };
    let watch = rest.first().is_some_and(|s| s == "watch");
    if watch {
        rest = &rest[1..];
    }
    let mut namespace = None;
    if rest.first().is_some_and(|s| s == "namespaces") && rest.len() > 1 {
        let is_namespace_subresource = rest
            .get(2)
            .is_some_and(|s| s == "status" || s == "finalize");
        if rest.len() > 2 && !is_namespace_subresource {
            namespace = Some(rest[1].clone());
            rest = &rest[2..];
        }
    }
    let resource = rest.first()?.clone();
    Some(ParsedPath {
        group,
        version,
        watch,
        namespace,
        resource,
        name: rest.get(1).cloned(),
        subresource: rest.get(2).cloned(),
        extra: rest.iter().skip(3).cloned().collect(),
    })
}

/// The verbs of the REST layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Get,
    List,
    Watch,
    Create,
    Update,
    Patch,
    Delete,
    DeleteCollection,
}

impl Verb {
    /// The verb as discovery and RBAC name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::List => "list",
            Self::Watch => "watch",
            Self::Create => "create",
            Self::Update => "update",
            Self::Patch => "patch",
            Self::Delete => "delete",
            Self::DeleteCollection => "deletecollection",
        }
    }
}

/// The verb a method asks for on a path; `Err` carries the verb name for a 405 when the method
/// does not fit the path (POST on a name, PUT on a collection, a watch path with anything but GET).
pub fn verb_for(method: &Method, named: bool, watch: bool) -> Result<Verb, String> {
    let verb = match *method {
        Method::GET | Method::HEAD if watch => Verb::Watch,
        Method::GET | Method::HEAD if named => Verb::Get,
        Method::GET | Method::HEAD => Verb::List,
        Method::POST => Verb::Create,
        Method::PUT => Verb::Update,
        Method::PATCH => Verb::Patch,
        Method::DELETE if named => Verb::Delete,
        Method::DELETE => Verb::DeleteCollection,
        _ => return Err(method.as_str().to_ascii_lowercase()),
    };
    let fits = match verb {
        Verb::Get | Verb::Update | Verb::Patch | Verb::Delete => named,
        Verb::List | Verb::Create | Verb::DeleteCollection => !named,
        Verb::Watch => true,
    };
    if !fits || (watch && verb != Verb::Watch) {
        return Err(verb.as_str().to_string());
    }
    Ok(verb)
}

fn method_not_allowed(info: &ResourceInfo, verb: &str) -> ApiError {
    ApiError::method_not_supported(&info.group_resource(), verb)
}

/// The 405 of a subresource the catalogue lists but this server does not serve.
pub(crate) fn subresource_not_served(info: &ResourceInfo, subresource: &str) -> ApiError {
    let gr = info.group_resource();
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "MethodNotAllowed",
        format!("the {subresource} subresource of {gr} is not supported by this server"),
        Some(StatusDetails {
            group: gr.group.clone(),
            kind: format!("{}/{subresource}", gr.resource),
            ..Default::default()
        }),
    )
}

async fn delegate(ctx: &CoreContext, request: Request) -> Response {
    match &ctx.delegate {
        Some(next) => match next.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        },
        None => negotiation::respond_error(&Output::default(), ApiError::path_not_found(), &[]),
    }
}

/// The entry point of every `/api` and `/apis` request.
pub async fn dispatch(State(ctx): State<Arc<CoreContext>>, request: Request) -> Response {
    let Some(path) = parse_path(request.uri().path()) else {
        return delegate(&ctx, request).await;
    };
    if !ctx.stores.serves_group_version(&path.group, &path.version) {
        return delegate(&ctx, request).await;
    }
    if path.subresource.as_deref() == Some("scale") && path.extra.is_empty() {
        let scale = ctx
            .stores
            .get(&path.group, &path.version, &path.resource)
            .and_then(|store| store.strategy().scale());
        if let Some(paths) = scale {
            return super::scale::serve(&ctx, &paths, path, request).await;
        }
    }
    let (parts, body) = request.into_parts();
    let query = QueryParams::parse(parts.uri.query());
    let error = |err: ApiError| negotiation::respond_error(&Output::default(), err, &[]);
    let Some(store) = ctx
        .stores
        .get(&path.group, &path.version, &path.resource)
        .cloned()
    else {
        return error(ApiError::path_not_found());
    };
    let info = store.info().clone();
    let named = path.name.is_some();
    let scope_fits = match (&path.namespace, info.namespaced) {
        (Some(_), false) => false,
        (None, true) => !named,
        _ => true,
    };
    if !scope_fits {
        return error(ApiError::path_not_found());
    }
    let verb = match verb_for(&parts.method, named, path.watch) {
        Ok(verb) => verb,
        // A POST to an object's subresource creates there (`pods/<name>/binding`,
        // `serviceaccounts/<name>/token`), as upstream's named creaters.
        Err(_) if parts.method == Method::POST && path.subresource.is_some() && !path.watch => {
            Verb::Create
        }
        Err(verb) => return error(method_not_allowed(&info, &verb)),
    };
    if path.namespace.is_none() && info.namespaced && !matches!(verb, Verb::List | Verb::Watch) {
        return error(method_not_allowed(&info, verb.as_str()));
    }
    let mut connect = None;
    if let Some(subresource) = &path.subresource {
        let Some(sub) = info.subresource(subresource) else {
            return error(ApiError::path_not_found());
        };
        // A connect subresource (`pods/log`, `pods/exec`, ...): GET or POST as listed.
        connect = store.strategy().connect_rest(subresource);
        // A subresource with its own create (`pods/binding`, `serviceaccounts/token`).
        let creates =
            verb == Verb::Create && store.strategy().create_rest(Some(subresource)).is_some();
        let served = sub.name == "status"
            || connect.is_some()
            || store.strategy().serves_subresource(subresource);
        if !(served || creates) || !path.extra.is_empty() {
            return error(subresource_not_served(&info, subresource));
        }
        if !sub.verbs.contains(&verb.as_str())
            || !(creates
                || matches!(verb, Verb::Get | Verb::Update | Verb::Patch)
                || (connect.is_some() && verb == Verb::Create))
        {
            return error(method_not_allowed(&info, verb.as_str()));
        }
    } else if !info.supports(verb.as_str()) {
        return error(method_not_allowed(&info, verb.as_str()));
    }
    let scope = Scope {
        store,
        stores: ctx.stores.clone(),
        info,
        namespace: path.namespace.clone(),
        name: path.name.clone(),
        subresource: path.subresource.clone(),
        query,
        authorization: ctx.authorization.clone(),
        rbac: ctx.rbac.clone(),
        admission: ctx.admission.clone(),
    };
    if let Some(rest) = connect {
        return super::connect::serve(scope, rest).await;
    }
    if verb == Verb::Create {
        match scope
            .store
            .strategy()
            .create_rest(path.subresource.as_deref())
        {
            Some(CreateRest::TokenRequest) => {
                return super::token_request::create(&ctx, scope, parts, body).await
            }
            Some(CreateRest::TokenReview) => {
                return super::token_review::create(&ctx, scope, parts, body).await
            }
            _ => {}
        }
    }
    serve(verb, scope, parts, body).await
}

async fn serve(verb: Verb, scope: Scope, parts: http::request::Parts, body: Body) -> Response {
    match verb {
        Verb::Get => handlers::get::get(scope, parts).await,
        Verb::List => handlers::list::list(scope, parts).await,
        Verb::Watch => handlers::watch::watch(scope, parts).await,
        Verb::Create => handlers::create::create(scope, parts, body).await,
        Verb::Update => handlers::update::update(scope, parts, body).await,
        Verb::Patch => handlers::patch::patch(scope, parts, body).await,
        Verb::Delete => handlers::delete::delete(scope, parts, body).await,
        Verb::DeleteCollection => handlers::delete::delete_collection(scope, parts, body).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(
        path: &str,
    ) -> (
        String,
        String,
        bool,
        Option<String>,
        String,
        Option<String>,
        Option<String>,
    ) {
        let p = parse_path(path).expect(path);
        (
            p.group,
            p.version,
            p.watch,
            p.namespace,
            p.resource,
            p.name,
            p.subresource,
        )
    }

    #[test]
    fn paths() {
        let s = |v: &str| v.to_string();
        assert_eq!(
            parsed("/api/v1/configmaps"),
            (s(""), s("v1"), false, None, s("configmaps"), None, None)
        );
        assert_eq!(
            parsed("/api/v1/namespaces/default/configmaps/a"),
            (
                s(""),
                s("v1"),
                false,
                Some(s("default")),
                s("configmaps"),
                Some(s("a")),
                None
            )
        );
        assert_eq!(
            parsed("/apis/apps/v1/namespaces/ns/deployments/d/status"),
            (
                s("apps"),
                s("v1"),
                false,
                Some(s("ns")),
                s("deployments"),
                Some(s("d")),
                Some(s("status"))
            )
        );
        assert_eq!(
            parsed("/api/v1/namespaces"),
            (s(""), s("v1"), false, None, s("namespaces"), None, None)
        );
        assert_eq!(
            parsed("/api/v1/namespaces/x"),
            (
                s(""),
                s("v1"),
                false,
                None,
                s("namespaces"),
                Some(s("x")),
                None
            )
        );
        assert_eq!(
            parsed("/api/v1/namespaces/x/finalize"),
            (
                s(""),
                s("v1"),
                false,
                None,
                s("namespaces"),
                Some(s("x")),
                Some(s("finalize"))
            )
        );
        assert_eq!(
            parsed("/api/v1/watch/namespaces/ns/pods/p"),
            (
                s(""),
                s("v1"),
                true,
                Some(s("ns")),
                s("pods"),
                Some(s("p")),
                None
            )
        );
        assert_eq!(
            parsed("/apis/apps/v1/watch/deployments"),
            (s("apps"), s("v1"), true, None, s("deployments"), None, None)
        );
        assert_eq!(
            parse_path("/api/v1/namespaces/ns/pods/p/proxy/a/b").map(|p| p.extra),
            Some(vec![s("a"), s("b")])
        );
        for none in [
            "/api",
            "/api/v1",
            "/apis",
            "/apis/apps",
            "/apis/apps/v1",
            "/healthz",
            "/api/v1/watch",
        ] {
            assert_eq!(parse_path(none), None, "{none}");
        }
    }

    #[test]
    fn verbs_by_method() {
        let err = |v: &str| Err(v.to_string());
        let cases: &[(Method, bool, bool, Result<Verb, String>)] = &[
            (Method::GET, true, false, Ok(Verb::Get)),
            (Method::HEAD, true, false, Ok(Verb::Get)),
            (Method::GET, false, false, Ok(Verb::List)),
            (Method::GET, false, true, Ok(Verb::Watch)),
            (Method::GET, true, true, Ok(Verb::Watch)),
            (Method::POST, false, false, Ok(Verb::Create)),
            (Method::POST, true, false, err("create")),
            (Method::PUT, true, false, Ok(Verb::Update)),
            (Method::PUT, false, false, err("update")),
            (Method::PATCH, false, false, err("patch")),
            (Method::DELETE, true, false, Ok(Verb::Delete)),
            (Method::DELETE, false, false, Ok(Verb::DeleteCollection)),
            (Method::DELETE, false, true, err("deletecollection")),
            (Method::OPTIONS, false, false, err("options")),
        ];
        for (method, named, watch, want) in cases {
            assert_eq!(
                &verb_for(method, *named, *watch),
                want,
                "{method} named={named} watch={watch}"
            );
        }
    }
}
