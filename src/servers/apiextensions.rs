//! The apiextensions server: `apiextensions.k8s.io/v1` CustomResourceDefinitions and the custom
//! resources of established CRDs, behind the core server; what it does not serve goes to the
//! next server (upstream's 404).
//!
//! Requests read an immutable [`Serving`] snapshot (one `Arc` clone); the CRD controller
//! (`controllers::crd`) builds a new snapshot after every change of the CRDs and swaps it in.
//! Custom resources go through the same generic REST layer as built-in resources
//! ([`crate::servers::core::routes::dispatch`]); on top of it this server answers what is
//! particular to CRDs: creates refused while a CRD terminates, and the `scale` subresource.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use axum::extract::{Request, State};
use axum::response::Response;
use axum::routing::any;
use axum::Router;
use http::{Method, StatusCode};

use crate::admission::chain::AdmissionChain;
use crate::api::status::{ApiError, GroupResource, StatusDetails};
use crate::registry::scale::ScalePaths;
use crate::registry::stores::ResourceStores;
use crate::servers::core::negotiation::{self, Output};
use crate::servers::core::routes::{self, parse_path};
use crate::servers::core::scale;
use crate::servers::core::CoreContext;

/// What the server serves at one moment.
pub struct Serving {
    /// The REST layer over the CRD store and every served custom resource version.
    pub rest: Arc<CoreContext>,
    /// `(group, plural)` of CRDs being deleted: their custom resources refuse creates.
    pub terminating: HashSet<(String, String)>,
    /// The `scale` subresource of `(group, version, plural)`.
    pub scale: HashMap<(String, String, String), ScalePaths>,
}

/// The apiextensions server's shared state.
pub struct ApiExtensionsServer {
    serving: RwLock<Arc<Serving>>,
    /// Where requests this server does not serve go.
    next: Router,
    /// The dynamic admission of custom resource writes.
    admission: Option<Arc<AdmissionChain>>,
}

impl ApiExtensionsServer {
    /// A server answering `stores` (the CRD store at least), delegating the rest to `next`.
    pub fn new(
        stores: ResourceStores,
        next: Router,
        admission: Option<Arc<AdmissionChain>>,
    ) -> Arc<Self> {
        let server = Arc::new(Self {
            serving: RwLock::new(Arc::new(Serving {
                rest: Arc::new(CoreContext::new(Arc::new(ResourceStores::new()))),
                terminating: HashSet::new(),
                scale: HashMap::new(),
            })),
            next,
            admission,
        });
        server.publish(stores, HashSet::new(), HashMap::new());
        server
    }

    /// Swaps in what is served from now on.
    pub fn publish(
        &self,
        stores: ResourceStores,
        terminating: HashSet<(String, String)>,
        scale: HashMap<(String, String, String), ScalePaths>,
    ) {
        let rest = CoreContext::new(Arc::new(stores))
            .with_admission(self.admission.clone())
            .with_delegate(self.next.clone());
        let serving = Arc::new(Serving {
            rest: Arc::new(rest),
            terminating,
            scale,
        });
        *self.serving.write().unwrap_or_else(|e| e.into_inner()) = serving;
    }

    /// The stores of namespaced custom resources, one per resource (for the namespace
    /// controller, which empties a namespace before it goes).
    pub fn namespaced_stores(&self) -> Vec<Arc<crate::registry::store::Store>> {
        let serving = self.serving();
        let mut seen = HashSet::new();
        serving
            .rest
            .stores
            .resources()
            .filter(|info| info.namespaced && seen.insert((&info.group, &info.plural)))
            .filter_map(|info| {
                serving
                    .rest
                    .stores
                    .get(&info.group, &info.version, &info.plural)
            })
            .cloned()
            .collect()
    }

    /// The current snapshot.
    pub fn serving(&self) -> Arc<Serving> {
        self.serving
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// The server's router: every `/apis/...` path; anything else goes to the next server.
pub fn router(server: Arc<ApiExtensionsServer>) -> Router {
    let next = server.next.clone();
    Router::new()
        .route("/apis/{*rest}", any(dispatch))
        .with_state(server)
        .fallback_service(next)
}

/// Upstream's 405 for a create while the CRD terminates (`customresource_handler.go`).
fn terminating_create(group: &str, resource: &str) -> ApiError {
    let gr = GroupResource::new(group, resource);
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "MethodNotAllowed",
        "create not allowed while custom resource definition is terminating",
        Some(StatusDetails {
            group: gr.group.clone(),
            kind: gr.resource.clone(),
            ..Default::default()
        }),
    )
}

async fn dispatch(State(server): State<Arc<ApiExtensionsServer>>, request: Request) -> Response {
    let serving = server.serving();
    if let Some(path) = parse_path(request.uri().path()) {
        let creating = request.method() == Method::POST && path.name.is_none() && !path.watch;
        if creating
            && serving
                .terminating
                .contains(&(path.group.clone(), path.resource.clone()))
        {
            return negotiation::respond_error(
                &Output::default(),
                terminating_create(&path.group, &path.resource),
                &[],
            );
        }
        if path.subresource.as_deref() == Some("scale") && path.extra.is_empty() {
            let key = (
                path.group.clone(),
                path.version.clone(),
                path.resource.clone(),
            );
            if let Some(paths) = serving.scale.get(&key) {
                return scale::serve(&serving.rest, paths, path, request).await;
            }
        }
    }
    routes::dispatch(State(serving.rest.clone()), request).await
}
