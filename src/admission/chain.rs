//! The admission chain of a request, in upstream's order (kube-apiserver 1.33's
//! `AllOrderedPlugins`, [`super::plugins::ORDER`]; the enabled ones run).
//!
//! Mutating admission, on creates and updates ([`RequestScope::mutating`]):
//! 1. the built-in plugins' mutating halves, in order (LimitRanger, ServiceAccount, Priority,
//!    DefaultTolerationSeconds, DefaultStorageClass, RuntimeClass...);
//! 2. MutatingAdmissionWebhook ([`webhook::mutate`]).
//!
//! Then the resource's own validation (the store), then validating admission
//! ([`RequestScope::validating`]):
//! 3. the built-in plugins' validating halves, in order (PodSecurity, the certificate plugins...);
//! 4. ValidatingAdmissionPolicy ([`policy::validate`]);
//! 5. ValidatingAdmissionWebhook ([`webhook::validate`]);
//! 6. the plugins upstream runs last (ResourceQuota).
//!
//! NamespaceLifecycle's check of creates runs in the store, before all of these. The store calls
//! [`RequestScope`] (a [`RequestAdmission`]) at upstream's points of each write; the handler builds
//! it per request with [`AdmissionChain::request`], which answers `None` when no plugin, webhook
//! or policy handles the request, so that such a write costs nothing.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use serde_json::Value;

use super::attributes::{Attributes, Record, StoreLookup, WriteRequest};
use super::configurations::{Configurations, Snapshot};
use super::metrics::AdmissionMetrics;
use super::plugins::{Call, Plugin, Plugins};
use super::{policy, webhook};
use crate::api::status::ApiResult;
use crate::outbound::webhook::WebhookClient;
use crate::registry::admission::{AdmissionOperation, RequestAdmission};
use crate::registry::metadata::meta_str;
use crate::registry::store::Store;

/// What the steps of dynamic admission call on: webhooks, namespaces (for namespace selectors
/// and `namespaceObject`), any resource's store (params, conversions), metrics.
pub struct Services {
    /// The client of validating webhooks.
    pub webhooks: WebhookClient,
    /// The client of mutating webhooks (its own credentials, as upstream's plugins have).
    pub mutating_webhooks: WebhookClient,
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
    plugins: Arc<Plugins>,
}

impl AdmissionChain {
    pub fn new(
        configurations: Arc<Configurations>,
        services: Arc<Services>,
        plugins: Plugins,
    ) -> Self {
        Self {
            configurations,
            services,
            plugins: Arc::new(plugins),
        }
    }

    /// The configurations the chain runs.
    pub fn configurations(&self) -> &Arc<Configurations> {
        &self.configurations
    }

    /// The admission of one write; `None` when no enabled plugin handles it and no webhook or
    /// policy is configured.
    pub fn request(&self, request: WriteRequest) -> Option<Arc<RequestScope>> {
        let snapshot = self.configurations.current();
        let plugins = &self.plugins;
        let handling = |list: &[Arc<dyn Plugin>]| -> Vec<Arc<dyn Plugin>> {
            list.iter()
                .filter(|plugin| plugin.handles(&request))
                .cloned()
                .collect()
        };
        let early = handling(&plugins.early);
        let late = handling(&plugins.late);
        let dynamic = (plugins.mutating_webhooks && !snapshot.mutating.is_empty())
            || (plugins.validating_policies && !snapshot.policies.is_empty())
            || (plugins.validating_webhooks && !snapshot.validating.is_empty());
        if !dynamic && early.is_empty() && late.is_empty() {
            return None;
        }
        Some(Arc::new(RequestScope {
            snapshot,
            services: self.services.clone(),
            plugins: plugins.clone(),
            early,
            late,
            request,
            record: Record::default(),
        }))
    }
}

/// The admission of one request.
pub struct RequestScope {
    snapshot: Arc<Snapshot>,
    services: Arc<Services>,
    plugins: Arc<Plugins>,
    /// The built-in plugins handling this request, before and after the webhooks.
    early: Vec<Arc<dyn Plugin>>,
    late: Vec<Arc<dyn Plugin>>,
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
    /// Mutating admission, in order: the built-in plugins, then the mutating webhooks.
    async fn mutating(
        &self,
        attributes: &Attributes,
        obj: &mut Value,
        old: Option<&Value>,
    ) -> ApiResult<()> {
        let call = Call {
            attributes,
            record: &self.record,
        };
        for plugin in &self.early {
            plugin.admit(&call, obj, old).await?;
        }
        if self.plugins.mutating_webhooks {
            let mutating = &self.snapshot.mutating;
            webhook::mutate(mutating, &self.services, attributes, &self.record, obj, old).await?;
        }
        Ok(())
    }

    /// Validating admission, in order: the built-in plugins, the policies, the validating
    /// webhooks, then the plugins upstream runs last.
    async fn validating(
        &self,
        attributes: &Attributes,
        obj: Option<&Value>,
        old: Option<&Value>,
    ) -> ApiResult<()> {
        let services = &self.services;
        let record = &self.record;
        let call = Call { attributes, record };
        for plugin in &self.early {
            plugin.validate(&call, obj, old).await?;
        }
        if self.plugins.validating_policies {
            let policies = &self.snapshot.policies;
            policy::validate(policies, services, attributes, record, obj, old).await?;
        }
        if self.plugins.validating_webhooks {
            let validating = &self.snapshot.validating;
            webhook::validate(validating, services, attributes, record, obj, old).await?;
        }
        for plugin in &self.late {
            plugin.validate(&call, obj, old).await?;
        }
        Ok(())
    }
}
