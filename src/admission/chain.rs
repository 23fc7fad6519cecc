//! The admission chain of a request, in upstream's order (kube-apiserver 1.33's
//! `AllOrderedPlugins`, of which Apiary runs the plugins named below).
//!
//! Mutating admission, on creates and updates:
//! 1. NamespaceLifecycle, ServiceAccount, Priority, DefaultTolerationSeconds: the built-in
//!    plugins, which the store of the resource runs on creates (`crate::admission::pod_plugins`);
//! 2. MutatingAdmissionWebhook ([`webhook::mutate`]).
//!
//! Then the resource's own validation (the store), then validating admission:
//! 3. ValidatingAdmissionPolicy ([`policy::validate`]);
//! 4. ValidatingAdmissionWebhook ([`webhook::validate`]).
//!
//! The store calls [`RequestScope`] (a [`RequestAdmission`]) at upstream's points of each write;
//! the handler builds it per request with [`AdmissionChain::request`], which answers `None` when
//! no webhook or policy exists at all, so that a server without any costs nothing.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use serde_json::Value;

use super::attributes::{Attributes, GroupVersionKind, GroupVersionResource, Record, StoreLookup};
use super::configurations::{Configurations, Snapshot};
use super::metrics::AdmissionMetrics;
use super::{policy, webhook};
use crate::api::status::ApiResult;
use crate::outbound::webhook::WebhookClient;
use crate::registry::admission::{AdmissionOperation, RequestAdmission};
use crate::registry::metadata::meta_str;
use crate::registry::store::Store;
use crate::request::user::UserInfo;

/// What the steps of dynamic admission call on: webhooks, namespaces (for namespace selectors
/// and `namespaceObject`), any resource's store (params, conversions), metrics.
pub struct Services {
    pub webhooks: WebhookClient,
    pub namespaces: Arc<Store>,
    pub stores: Arc<dyn StoreLookup>,
    pub metrics: AdmissionMetrics,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services").finish_non_exhaustive()
    }
}

/// The server's dynamic admission: the configurations in effect and what their steps use.
#[derive(Debug)]
pub struct AdmissionChain {
    configurations: Arc<Configurations>,
    services: Arc<Services>,
}

/// How the object of a subresource that is another kind looks to admission (`deployments/scale`
/// is admitted as an `autoscaling/v1` `Scale`).
pub trait SubresourceView: Send + Sync + 'static {
    /// The subresource's object for the stored `obj`.
    fn to_view(&self, obj: &Value) -> Value;
    /// Carries a mutated view back into `obj`.
    fn carry_back(&self, view: &Value, obj: &mut Value) -> ApiResult<()>;
}

/// What the handler knows of a write, to build its admission from.
pub struct WriteRequest {
    pub resource: GroupVersionResource,
    pub subresource: String,
    pub kind: GroupVersionKind,
    pub namespaced: bool,
    /// The namespace of the request's path (empty for cluster-scoped resources).
    pub namespace: String,
    /// The name of the request's path (empty for a create or a collection).
    pub name: String,
    pub user: UserInfo,
    pub dry_run: bool,
    pub options: Option<Value>,
    /// Set for subresources of another kind.
    pub view: Option<Arc<dyn SubresourceView>>,
}

impl AdmissionChain {
    pub fn new(configurations: Arc<Configurations>, services: Arc<Services>) -> Self {
        Self {
            configurations,
            services,
        }
    }

    /// The configurations the chain runs.
    pub fn configurations(&self) -> &Arc<Configurations> {
        &self.configurations
    }

    /// The admission of one write; `None` when no webhook or policy is configured.
    pub fn request(&self, request: WriteRequest) -> Option<Arc<RequestScope>> {
        let snapshot = self.configurations.current();
        if snapshot.is_empty() {
            return None;
        }
        Some(Arc::new(RequestScope {
            snapshot,
            services: self.services.clone(),
            request,
            record: Record::default(),
        }))
    }
}

/// The admission of one request.
pub struct RequestScope {
    snapshot: Arc<Snapshot>,
    services: Arc<Services>,
    request: WriteRequest,
    record: Record,
}

impl RequestScope {
    /// The warnings and audit annotations the request's admission recorded.
    pub fn record(&self) -> &Record {
        &self.record
    }

    /// The attributes of one call: the request's, with the name and namespace of the object
    /// (a create's generated name is still empty; a collection delete names each object).
    fn attributes(
        &self,
        operation: AdmissionOperation,
        obj: Option<&Value>,
        old: Option<&Value>,
    ) -> Attributes {
        let request = &self.request;
        let object = obj.or(old);
        let from_object = |field: &str| object.map(|o| meta_str(o, field)).unwrap_or("");
        let name = match from_object("name") {
            "" => request.name.clone(),
            name => name.to_string(),
        };
        let namespace = match from_object("namespace") {
            "" => request.namespace.clone(),
            namespace => namespace.to_string(),
        };
        Attributes {
            operation,
            resource: request.resource.clone(),
            subresource: request.subresource.clone(),
            kind: request.kind.clone(),
            namespaced: request.namespaced,
            namespace,
            name,
            user: request.user.clone(),
            dry_run: request.dry_run,
            options: request.options.clone(),
        }
    }
}

#[async_trait]
impl RequestAdmission for RequestScope {
    async fn mutate(
        &self,
        operation: AdmissionOperation,
        obj: &mut Value,
        old: Option<&Value>,
    ) -> ApiResult<()> {
        let started = Instant::now();
        let attributes = self.attributes(operation, Some(obj), old);
        let result = match &self.request.view {
            None => self.mutating(&attributes, obj, old).await,
            Some(view) => {
                let mut shown = view.to_view(obj);
                let old_shown = old.map(|old| view.to_view(old));
                match self
                    .mutating(&attributes, &mut shown, old_shown.as_ref())
                    .await
                {
                    Ok(()) => view.carry_back(&shown, obj),
                    Err(err) => Err(err),
                }
            }
        };
        let metrics = &self.services.metrics;
        metrics.observe_step(true, operation.as_str(), result.is_err(), started.elapsed());
        result
    }

    async fn validate(
        &self,
        operation: AdmissionOperation,
        obj: Option<&Value>,
        old: Option<&Value>,
    ) -> ApiResult<()> {
        let started = Instant::now();
        let attributes = self.attributes(operation, obj, old);
        let result = match &self.request.view {
            None => self.validating(&attributes, obj, old).await,
            Some(view) => {
                let shown = obj.map(|obj| view.to_view(obj));
                let old_shown = old.map(|old| view.to_view(old));
                self.validating(&attributes, shown.as_ref(), old_shown.as_ref())
                    .await
            }
        };
        let metrics = &self.services.metrics;
        metrics.observe_step(
            false,
            operation.as_str(),
            result.is_err(),
            started.elapsed(),
        );
        result
    }
}

impl RequestScope {
    /// Mutating admission after the built-in plugins: the mutating webhooks.
    async fn mutating(
        &self,
        attributes: &Attributes,
        obj: &mut Value,
        old: Option<&Value>,
    ) -> ApiResult<()> {
        let services = &self.services;
        webhook::mutate(
            &self.snapshot.mutating,
            services,
            attributes,
            &self.record,
            obj,
            old,
        )
        .await
    }

    /// Validating admission, in order: the policies, then the validating webhooks.
    async fn validating(
        &self,
        attributes: &Attributes,
        obj: Option<&Value>,
        old: Option<&Value>,
    ) -> ApiResult<()> {
        let services = &self.services;
        let record = &self.record;
        policy::validate(
            &self.snapshot.policies,
            services,
            attributes,
            record,
            obj,
            old,
        )
        .await?;
        webhook::validate(
            &self.snapshot.validating,
            services,
            attributes,
            record,
            obj,
            old,
        )
        .await
    }
}
