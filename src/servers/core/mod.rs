//! The core server: the REST layer of every built-in resource, as upstream's
//! `k8s.io/apiserver/pkg/endpoints` (`installer.go` and `handlers/`).
//!
//! It translates HTTP into calls on the generic [`Store`] of a resource and back:
//!
//! * [`routes`] parses `/api/v1/...` and `/apis/<group>/<version>/...` into a resource, namespace,
//!   name and subresource, and picks the verb from the method (and `?watch`);
//! * [`query`] decodes the query parameters of each verb into the store's options, with upstream's
//!   validation errors (`CreateOptions.meta.k8s.io "" is invalid: ...`);
//! * [`body`] decodes request bodies (JSON or YAML), checks `apiVersion`/`kind`, and reports unknown
//!   and duplicate fields for `fieldValidation`;
//! * [`negotiation`] chooses the response encoding from `Accept` (JSON, YAML, `as=Table`,
//!   `as=PartialObjectMetadata[List]`) and writes objects, lists and errors;
//! * [`handlers`] holds one file per verb.
//!
//! Storage semantics (metadata rules, preconditions, the status split, selectors, watch caching)
//! belong to the store; this layer never reimplements them.

pub mod binding;
pub mod body;
pub mod cached;
pub mod connect;
pub mod eviction;
pub mod handlers;
#[cfg(test)]
mod hostile_input_tests;
pub mod negotiation;
pub mod query;
pub mod reviews;
pub mod routes;
pub mod scale;
pub mod token_request;
pub mod token_review;
pub mod yaml_keys;

use std::sync::Arc;

use axum::routing::any;
use axum::Router;

use crate::rbac::RbacAuthorizer;
use crate::registry::stores::ResourceStores;
use crate::request::authorization::Authorization;

/// What the core server needs at run time.
#[derive(Clone)]
pub struct CoreContext {
    /// The stores of the served resources.
    pub stores: Arc<ResourceStores>,
    /// Where requests go whose group/version this server does not serve (the apiextensions
    /// server, then "not found"). `None` answers them with upstream's 404 Status.
    pub delegate: Option<Router>,
    /// The server's authorizers, for the access reviews and the RBAC escalation checks. `None`:
    /// everything is allowed (the reviews answer as `AlwaysAllow`, no escalation check).
    pub authorization: Option<Arc<Authorization>>,
    /// The RBAC rule resolver the escalation checks of RBAC writes use. The checks run when both
    /// this and [`Self::authorization`] are set.
    pub rbac: Option<Arc<RbacAuthorizer>>,
    /// The authenticators, for `TokenReview` and the ServiceAccount token issuer of
    /// `serviceaccounts/<name>/token`. `None`: TokenReviews authenticate nothing and the token
    /// subresource answers 405.
    pub authentication: Option<Arc<crate::filters::authn::Authentication>>,
    /// The dynamic admission of writes; `None` runs none.
    pub admission: Option<Arc<crate::admission::chain::AdmissionChain>>,
}

impl CoreContext {
    /// A context serving `stores`, answering 404 for every other group/version.
    pub fn new(stores: Arc<ResourceStores>) -> Self {
        Self {
            stores,
            delegate: None,
            authorization: None,
            rbac: None,
            authentication: None,
            admission: None,
        }
    }

    /// Runs `admission` on every write.
    pub fn with_admission(
        mut self,
        admission: Option<Arc<crate::admission::chain::AdmissionChain>>,
    ) -> Self {
        self.admission = admission;
        self
    }

    /// Answers access reviews from `authorization` and checks RBAC writes against it.
    pub fn with_authorization(mut self, authorization: Arc<Authorization>) -> Self {
        self.authorization = Some(authorization);
        self
    }

    /// Resolves the writer's rules through `rbac` when checking RBAC writes for escalation.
    pub fn with_rbac(mut self, rbac: Arc<RbacAuthorizer>) -> Self {
        self.rbac = Some(rbac);
        self
    }

    /// Answers TokenReviews and TokenRequests with `authentication`.
    pub fn with_authentication(
        mut self,
        authentication: Arc<crate::filters::authn::Authentication>,
    ) -> Self {
        self.authentication = Some(authentication);
        self
    }

    /// Sends requests for group/versions not served here to `delegate`.
    pub fn with_delegate(mut self, delegate: Router) -> Self {
        self.delegate = Some(delegate);
        self
    }
}

/// The router of the core server: every method on `/api/...` and `/apis/...`.
///
/// Paths without a resource segment (`/api`, `/api/v1`, `/apis/apps/v1`) and group/versions with
/// no store go to [`CoreContext::delegate`], so discovery and other servers can sit behind it.
pub fn router(ctx: CoreContext) -> Router {
    let state = Arc::new(ctx);
    Router::new()
        .route("/api/{*rest}", any(routes::dispatch))
        .route("/apis/{*rest}", any(routes::dispatch))
        .with_state(state)
}

#[cfg(test)]
mod tests;
