//! The availability controller: the `Available` condition of every APIService, the proxy routes
//! and the discovery documents of remote group/versions, as upstream's
//! `pkg/controllers/status/remote/remote_available_controller.go` (reasons and messages byte for
//! byte), `pkg/controllers/status/local` (`Local`) and the aggregated discovery manager.
//!
//! [`run`] re-checks every APIService when an APIService changes, when a Service an APIService
//! points at or its Endpoints change (through the stores' watches), and every
//! [`RESYNC_PERIOD`]. A check of a remote APIService
//! resolves its Service ([`super::resolve`]) and GETs `/apis/<group>/<version>` from the
//! endpoint (any certificate accepted, the front-proxy client certificate presented, as user
//! `system:kube-aggregator` in `system:masters`); the APIResourceList answered is what discovery
//! then lists for the group/version. Statuses are written only when the condition changes.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use futures::StreamExt;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tokio::sync::Notify;

use super::proxy::{self, ProxyRoute};
use super::Aggregator;
use crate::api::discovery::{APIResourceList, FRESHNESS_CURRENT, FRESHNESS_STALE};
use crate::catalog::ApiServicePriority;
use crate::outbound::resolve::{resolve_endpoint, Unreachable};
use crate::registry::metadata::now_rfc3339;
use crate::registry::options::{ListOptions, WriteOptions};
use crate::registry::store::Store;
use crate::servers::discovery::{DiscoverySource, GroupVersionDocument};

/// How often every APIService is re-checked without any change.
pub const RESYNC_PERIOD: Duration = Duration::from_secs(5);
/// How long the discovery check of a remote APIService may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);
/// Pause before watching a store again after its watch failed.
const RETRY_DELAY: Duration = Duration::from_millis(500);

/// The user the availability check asserts (upstream's `system:kube-aggregator` in
/// `system:masters`).
const CHECK_USER: &str = "system:kube-aggregator";
const CHECK_GROUP: &str = "system:masters";

/// The `Available` condition an APIService should have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Availability {
    /// `True`, `False` or `Unknown`.
    pub status: &'static str,
    pub reason: &'static str,
    pub message: String,
}

impl From<Unreachable> for Availability {
    fn from(value: Unreachable) -> Self {
        Self {
            status: value.status,
            reason: value.reason,
            message: value.message,
        }
    }
}

/// The `spec.service` of an APIService: namespace, name, port (443 when unset).
fn service_of(api_service: &Value) -> Option<(String, String, i64)> {
    let service = api_service
        .pointer("/spec/service")
        .filter(|s| !s.is_null())?;
    let field = |name: &str| {
        service
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let port = service
        .get("port")
        .and_then(Value::as_i64)
        .unwrap_or(super::validation::DEFAULT_SERVICE_PORT);
    Some((field("namespace"), field("name"), port))
}

fn spec_str<'a>(api_service: &'a Value, field: &str) -> &'a str {
    api_service
        .pointer(&format!("/spec/{field}"))
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn name_of(api_service: &Value) -> &str {
    api_service
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// The discovery path of an APIService: `/api/<version>` for `v1.`, else
/// `/apis/<group>/<version>`.
pub fn discovery_path(api_service: &Value) -> String {
    if name_of(api_service) == "v1." {
        format!("/api/{}", spec_str(api_service, "version"))
    } else {
        format!(
            "/apis/{}/{}",
            spec_str(api_service, "group"),
            spec_str(api_service, "version")
        )
    }
}

/// Checks one APIService: `Local` for one without a service; otherwise the Service, its
/// Endpoints and a discovery GET, answering the discovery document on success.
pub async fn check(
    aggregator: &Aggregator,
    api_service: &Value,
) -> (Availability, Option<APIResourceList>) {
    let Some((namespace, name, port)) = service_of(api_service) else {
        return (
            Availability {
                status: "True",
                reason: "Local",
                message: "Local APIServices are always available".into(),
            },
            None,
        );
    };
    let address = match resolve_endpoint(
        &aggregator.services,
        &aggregator.endpoints,
        &aggregator.endpoint_slices,
        &namespace,
        &name,
        port,
    )
    .await
    {
        Ok(address) => address,
        Err(unreachable) => return (unreachable.into(), None),
    };
    let url = format!("https://{address}{}", discovery_path(api_service));
    let failed = |message: String| Availability {
        status: "False",
        reason: "FailedDiscoveryCheck",
        message,
    };
    let config = match aggregator.identity.client_config(None, true) {
        Ok(config) => config,
        Err(err) => {
            return (
                failed(format!("failing or missing response from {url}: {err}")),
                None,
            )
        }
    };
    let mut request = http::Request::new(Body::empty());
    *request.uri_mut() = match discovery_path(api_service).parse() {
        Ok(uri) => uri,
        Err(err) => {
            return (
                failed(format!("failing or missing response from {url}: {err}")),
                None,
            )
        }
    };
    let headers = request.headers_mut();
    for (header, value) in [
        ("host", address.as_str()),
        ("accept", "application/json"),
        (proxy::REMOTE_USER_HEADER, CHECK_USER),
        (proxy::REMOTE_GROUP_HEADER, CHECK_GROUP),
    ] {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(header.as_bytes()),
            http::HeaderValue::from_str(value),
        ) {
            headers.insert(name, value);
        }
    }
    let server_name = format!("{name}.{namespace}.svc");
    let fetch = async {
        let response = crate::outbound::tls::send(&address, &server_name, config, request)
            .await
            .map_err(|err| format!("failing or missing response from {url}: {err}"))?;
        let status = response.status();
        if !status.is_success() && !status.is_redirection() {
            return Err(format!("bad status from {url}: {}", status.as_u16()));
        }
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|err| format!("failing or missing response from {url}: {err}"))?
            .to_bytes();
        Ok(serde_json::from_slice::<APIResourceList>(&body).ok())
    };
    match tokio::time::timeout(CHECK_TIMEOUT, fetch).await {
        Err(_) => (failed(format!("timed out waiting for {url}")), None),
        Ok(Err(message)) => (failed(message), None),
        Ok(Ok(resources)) => (
            Availability {
                status: "True",
                reason: "Passed",
                message: "all checks passed".into(),
            },
            resources,
        ),
    }
}

/// `api_service` with its `Available` condition set to `availability`; `None` when the
/// condition already says exactly that. `lastTransitionTime` changes only with the status.
pub fn with_condition(api_service: &Value, availability: &Availability) -> Option<Value> {
    let conditions = api_service
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let existing = conditions
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some("Available"));
    let field = |c: &Value, name: &str| {
        c.get(name)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    if let Some(existing) = existing {
        if field(existing, "status") == availability.status
            && field(existing, "reason") == availability.reason
            && field(existing, "message") == availability.message
        {
            return None;
        }
    }
    let transition = existing
        .filter(|c| field(c, "status") == availability.status)
        .and_then(|c| c.get("lastTransitionTime").cloned())
        .unwrap_or_else(|| Value::String(now_rfc3339()));
    let condition = json!({
        "type": "Available",
        "status": availability.status,
        "lastTransitionTime": transition,
        "reason": availability.reason,
        "message": availability.message,
    });
    let mut next_conditions: Vec<Value> = conditions
        .into_iter()
        .filter(|c| c.get("type").and_then(Value::as_str) != Some("Available"))
        .collect();
    next_conditions.push(condition);
    let mut updated = api_service.clone();
    if let Some(object) = updated.as_object_mut() {
        object.insert("status".into(), json!({ "conditions": next_conditions }));
    }
    Some(updated)
}

async fn write_condition(store: &Store, name: &str, availability: &Availability) {
    let opts = WriteOptions {
        subresource: Some("status".into()),
        ..Default::default()
    };
    let result = store
        .guaranteed_update(None, name, &opts, |current| {
            Ok(with_condition(current, availability).unwrap_or_else(|| current.clone()))
        })
        .await;
    if let Err(err) = result {
        tracing::warn!(apiservice = name, error = %err.status.message, "updating APIService status");
    }
}

/// One pass: checks every APIService, writes changed conditions, and replaces the proxy routes
/// and the remote discovery documents.
pub async fn sync_all(aggregator: &Aggregator) {
    let list = match aggregator
        .api_services
        .list(None, &ListOptions::default())
        .await
    {
        Ok(list) => list,
        Err(err) => {
            tracing::warn!(error = %err.status.message, "listing APIServices");
            return;
        }
    };
    let mut routes = HashMap::new();
    let mut documents = Vec::new();
    let referenced: HashSet<(String, String)> = list
        .items
        .iter()
        .filter_map(service_of)
        .map(|(namespace, name, _)| (namespace, name))
        .collect();
    *aggregator
        .referenced_services
        .write()
        .unwrap_or_else(|e| e.into_inner()) = referenced;
    for api_service in &list.items {
        let (availability, resources) = check(aggregator, api_service).await;
        let name = name_of(api_service);
        if with_condition(api_service, &availability).is_some() {
            write_condition(&aggregator.api_services, name, &availability).await;
        }
        let Some((namespace, service, port)) = service_of(api_service) else {
            continue;
        };
        let group = spec_str(api_service, "group").to_string();
        let version = spec_str(api_service, "version").to_string();
        let ca_bundle = ca_bundle(api_service);
        let insecure = api_service
            .pointer("/spec/insecureSkipTLSVerify")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let route = ProxyRoute {
            api_service: name.to_string(),
            namespace,
            service,
            port,
            available: availability.status == "True",
            tls: aggregator
                .identity
                .client_config(ca_bundle.as_deref(), insecure),
        };
        routes.insert((group.clone(), version.clone()), Arc::new(route));
        let priority = ApiServicePriority {
            group: spec_i32(api_service, "groupPriorityMinimum"),
            version: spec_i32(api_service, "versionPriority"),
        };
        documents.push((group, version, priority, resources));
    }
    *aggregator.routes.write().unwrap_or_else(|e| e.into_inner()) = routes;
    update_discovery(aggregator, documents);
}

fn spec_i32(api_service: &Value, field: &str) -> i32 {
    api_service
        .pointer(&format!("/spec/{field}"))
        .and_then(Value::as_i64)
        .and_then(|v| i32::try_from(v).ok())
        .unwrap_or(0)
}

/// The decoded `spec.caBundle` (base64 in JSON).
fn ca_bundle(api_service: &Value) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let encoded = spec_str(api_service, "caBundle");
    if encoded.is_empty() {
        return None;
    }
    Some(
        base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap_or_else(|_| encoded.as_bytes().to_vec()),
    )
}

/// Registers the remote group/versions in discovery: freshly fetched documents as `Current`;
/// for an unavailable APIService, the last known resources (or none) as `Stale`. Group/versions
/// no longer served by an APIService are removed.
fn update_discovery(
    aggregator: &Aggregator,
    documents: Vec<(String, String, ApiServicePriority, Option<APIResourceList>)>,
) {
    let mut registered = aggregator
        .registered
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let snapshot = aggregator.discovery.snapshot();
    let mut current = BTreeSet::new();
    for (group, version, priority, resources) in documents {
        let (resources, freshness) = match resources {
            Some(list) => (list.resources, FRESHNESS_CURRENT),
            None => {
                let known = registered
                    .contains(&(group.clone(), version.clone()))
                    .then(|| snapshot.version(&group, &version))
                    .flatten()
                    .map(|v| v.resources.clone())
                    .unwrap_or_default();
                (known, FRESHNESS_STALE)
            }
        };
        aggregator.discovery.add_group_version(
            DiscoverySource::Aggregator,
            GroupVersionDocument {
                group: group.clone(),
                version: version.clone(),
                priority,
                resources,
                freshness: freshness.to_string(),
            },
        );
        current.insert((group, version));
    }
    for (group, version) in registered.difference(&current) {
        aggregator
            .discovery
            .remove_group_version(DiscoverySource::Aggregator, group, version);
    }
    *registered = current;
}

/// Runs the controller forever (see the module documentation).
pub async fn run(aggregator: Arc<Aggregator>) {
    let trigger = Arc::new(Notify::new());
    tokio::spawn(notify_on_change(
        aggregator.api_services.clone(),
        trigger.clone(),
        None,
    ));
    for store in [
        aggregator.services.clone(),
        aggregator.endpoints.clone(),
        aggregator.endpoint_slices.clone(),
    ] {
        tokio::spawn(notify_on_change(
            store,
            trigger.clone(),
            Some(aggregator.clone()),
        ));
    }
    loop {
        tokio::select! {
            _ = trigger.notified() => {}
            _ = tokio::time::sleep(RESYNC_PERIOD) => {}
        }
        sync_all(&aggregator).await;
    }
}

/// Wakes `trigger` on the events of `store`'s watch (with `services_of`, only on events of
/// objects named as, or EndpointSlices labelled for, a Service some APIService points at),
/// watching again when the watch ends.
async fn notify_on_change(
    store: Arc<Store>,
    trigger: Arc<Notify>,
    services_of: Option<Arc<Aggregator>>,
) {
    loop {
        match store.watch(None, &ListOptions::default()).await {
            Ok(mut events) => {
                while let Some(event) = events.next().await {
                    let object = event.object();
                    let relevant = services_of.as_ref().is_none_or(|aggregator| {
                        let meta = |field: &str| {
                            object
                                .pointer(&format!("/metadata/{field}"))
                                .and_then(Value::as_str)
                                .unwrap_or("")
                        };
                        let slice_service = object
                            .pointer("/metadata/labels")
                            .and_then(|labels| {
                                labels.get(crate::outbound::resolve::SERVICE_NAME_LABEL)
                            })
                            .and_then(Value::as_str)
                            .unwrap_or("");
                        aggregator.references_service(meta("namespace"), meta("name"))
                            || aggregator.references_service(meta("namespace"), slice_service)
                    });
                    if relevant {
                        trigger.notify_one();
                    }
                }
            }
            Err(err) => {
                tracing::debug!(resource = %store.info().plural, error = %err.status.message, "watch failed");
            }
        }
        tokio::time::sleep(RETRY_DELAY).await;
    }
}
