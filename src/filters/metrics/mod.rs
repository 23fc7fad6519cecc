//! Prometheus metrics with upstream's names, labels and buckets
//! (`k8s.io/apiserver/pkg/endpoints/metrics/metrics.go`), in Apiary's own [`Registry`] (never the
//! process-global default one), served as text by `GET /metrics`
//! (the system endpoints of the core server).
//!
//! * `apiserver_request_total{verb,dry_run,group,version,resource,subresource,scope,component,code}`
//! * `apiserver_request_duration_seconds{verb,dry_run,group,version,resource,subresource,scope,component}`
//!   with upstream's SLO buckets (5ms .. 60s);
//! * `apiserver_current_inflight_requests{request_kind="readOnly"|"mutating"}`, fed by the
//!   max-in-flight filter ([`Metrics::track_in_flight`]).
//!
//! [`record_requests`] is the filter that counts requests. It runs right after RequestInfo and,
//! like upstream (which instruments only its installed routes), counts:
//!
//! * every request a server route answered (the response carries a
//!   [`HandledBy`](crate::filters::handled_by::HandledBy) marker other than `not-found`), whatever its
//!   code;
//! * requests the chain dropped in self-defence: 429 (max-in-flight, upstream's
//!   `RecordDroppedRequest`) and 504 (request timeout).
//!
//! Requests rejected by authentication or authorization and paths no server knows are not counted,
//! as upstream; this also keeps unauthenticated clients from creating series at will.
//!
//! Labels follow upstream: the verb is the HTTP method made canonical (`GET` of a collection is
//! `LIST`), then `WATCH` for watches, `APPLY` for server-side apply patches, `CONNECT` for the
//! `log`/`exec`/`attach`/`portforward`/`proxy` subresources, and `other` for anything outside
//! upstream's list (so a `DELETE` of a collection is `DELETE`, a create is `POST`). The scope is
//! `resource` (named, or a create), `namespace`, `cluster`, or empty for non-resource paths, whose
//! group/version/resource/subresource labels are empty. `dry_run` is empty, the sorted distinct
//! `dryRun` values, or `invalid`.
//!
//! The duration is observed when the response body ends (or is dropped), so a watch counts for
//! as long as it streamed, as upstream measures until its handler returns.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::filters::body_guard::drop_with_body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::{HeaderMap, Method, StatusCode, Uri};
use prometheus::{
    Encoder as _, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

use crate::filters::handled_by::{HandledBy, NOT_FOUND};
use crate::request::info::RequestInfo;

/// The `component` label of everything this server serves.
pub const COMPONENT: &str = "apiserver";
/// The verb label of methods outside [`VALID_VERBS`].
pub const OTHER_VERB: &str = "other";
/// The `request_kind` of `get`, `list` and `watch` requests.
pub const READ_ONLY_KIND: &str = "readOnly";
/// The `request_kind` of every other verb.
pub const MUTATING_KIND: &str = "mutating";
/// The content type of the text exposition format.
pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Upstream's `apiserver_request_duration_seconds` buckets.
const DURATION_BUCKETS: [f64; 23] = [
    0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0,
    10.0, 15.0, 20.0, 30.0, 45.0, 60.0,
];

/// The verbs reported as themselves; any other is [`OTHER_VERB`].
const VALID_VERBS: &[&str] = &[
    "APPLY",
    "CONNECT",
    "CREATE",
    "DELETE",
    "DELETECOLLECTION",
    "GET",
    "LIST",
    "PATCH",
    "POST",
    "PROXY",
    "PUT",
    "UPDATE",
    "WATCH",
    "WATCHLIST",
];

/// Subresources whose requests are reported as `CONNECT`.
const CONNECT_SUBRESOURCES: &[&str] = &["log", "exec", "portforward", "attach", "proxy"];

/// The content type of a server-side apply patch.
const APPLY_PATCH_CONTENT_TYPE: &str = "application/apply-patch+yaml";

/// The request labels, in upstream's order (without `code`).
const REQUEST_LABELS: [&str; 8] = [
    "verb",
    "dry_run",
    "group",
    "version",
    "resource",
    "subresource",
    "scope",
    "component",
];

/// The metrics of one server, in their own registry.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    durations: HistogramVec,
    in_flight: IntGaugeVec,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// Creates and registers every metric. Fails only on an invalid metric definition.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let mut counter_labels = REQUEST_LABELS.to_vec();
        counter_labels.push("code");
        let requests = IntCounterVec::new(
            Opts::new(
                "apiserver_request_total",
                "Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.",
            ),
            &counter_labels,
        )?;
        let durations = HistogramVec::new(
            HistogramOpts::new(
                "apiserver_request_duration_seconds",
                "Response latency distribution in seconds for each verb, dry run value, group, version, resource, subresource, scope and component.",
            )
            .buckets(DURATION_BUCKETS.to_vec()),
            &REQUEST_LABELS,
        )?;
        let in_flight = IntGaugeVec::new(
            Opts::new(
                "apiserver_current_inflight_requests",
                "Maximal number of currently used inflight request limit of this apiserver per request kind in last second.",
            ),
            &["request_kind"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(durations.clone()))?;
        registry.register(Box::new(in_flight.clone()))?;
        // Both kinds are reported from the start, at 0, as upstream sets both every tick.
        for kind in [READ_ONLY_KIND, MUTATING_KIND] {
            in_flight.with_label_values(&[kind][..]).set(0);
        }
        Ok(Self {
            registry,
            requests,
            durations,
            in_flight,
        })
    }

    /// The registry, for other parts of the server to add their own metrics to.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Every metric in the Prometheus text exposition format (version 0.0.4).
    pub fn render(&self) -> Result<String, prometheus::Error> {
        let mut buffer = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buffer)?;
        String::from_utf8(buffer).map_err(|err| prometheus::Error::Msg(err.to_string()))
    }

    /// Counts one finished request and observes its duration.
    pub fn observe(&self, labels: &RequestLabels, code: u16, elapsed: Duration) {
        let values = labels.values();
        let code = code.to_string();
        let [verb, dry_run, group, version, resource, subresource, scope, component] = values;
        let with_code = [
            verb,
            dry_run,
            group,
            version,
            resource,
            subresource,
            scope,
            component,
            code.as_str(),
        ];
        self.requests.with_label_values(&with_code[..]).inc();
        self.durations
            .with_label_values(&values[..])
            .observe(elapsed.as_secs_f64());
    }

    /// Counts one request of `kind` ([`READ_ONLY_KIND`] or [`MUTATING_KIND`]) as in flight until the
    /// returned guard is dropped.
    ///
    /// Upstream reports the highest count seen in the last second; this gauge is the current
    /// count, sampled when scraped.
    pub fn track_in_flight(&self, kind: &str) -> InFlightGuard {
        let gauge = self.in_flight.with_label_values(&[kind][..]);
        gauge.inc();
        InFlightGuard { gauge }
    }
}

/// Keeps one request counted in `apiserver_current_inflight_requests`; dropping it uncounts it.
pub struct InFlightGuard {
    gauge: IntGauge,
}

impl std::fmt::Debug for InFlightGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InFlightGuard").finish_non_exhaustive()
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.gauge.dec();
    }
}

/// The labels of one request (everything but the code).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestLabels {
    pub verb: String,
    pub dry_run: String,
    pub group: String,
    pub version: String,
    pub resource: String,
    pub subresource: String,
    pub scope: &'static str,
}

impl RequestLabels {
    /// The labels of a request described by `info`.
    pub fn of(method: &Method, uri: &Uri, headers: &HeaderMap, info: &RequestInfo) -> Self {
        let (group, version, resource, subresource) = if info.is_resource_request {
            (
                info.api_group.clone(),
                info.api_version.clone(),
                info.resource.clone(),
                info.subresource.clone(),
            )
        } else {
            Default::default()
        };
        Self {
            verb: reported_verb(method, uri, headers, info),
            dry_run: clean_dry_run(uri),
            group,
            version,
            resource,
            subresource,
            scope: clean_scope(info),
        }
    }

    fn values(&self) -> [&str; 8] {
        [
            self.verb.as_str(),
            self.dry_run.as_str(),
            self.group.as_str(),
            self.version.as_str(),
            self.resource.as_str(),
            self.subresource.as_str(),
            self.scope,
            COMPONENT,
        ]
    }
}

/// Upstream's `CleanScope`: `resource` for a named request or a create, `namespace`, `cluster`,
/// or empty for a non-resource request.
pub fn clean_scope(info: &RequestInfo) -> &'static str {
    if !info.name.is_empty() || info.verb == "create" {
        "resource"
    } else if !info.namespace.is_empty() {
        "namespace"
    } else if info.is_resource_request {
        "cluster"
    } else {
        ""
    }
}

/// Upstream's `CanonicalVerb`: a `GET` or `HEAD` of anything but one resource is a `LIST`.
fn canonical_verb(method: &Method, scope: &str) -> String {
    let verb = method.as_str().to_ascii_uppercase();
    match verb.as_str() {
        "GET" | "HEAD" if scope != "resource" && !scope.is_empty() => "LIST".to_string(),
        "GET" | "HEAD" => "GET".to_string(),
        _ => verb,
    }
}

/// Upstream's `NormalizedVerb` (the `verb` of the request log): the canonical verb, then `WATCH`
/// for a `GET` with `?watch`, `APPLY` for a server-side apply patch and `CONNECT` for the
/// connect subresources. Without `info` the method alone is used.
pub fn normalized_verb(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    info: Option<&RequestInfo>,
) -> String {
    let mut verb = match info {
        Some(info) => canonical_verb(method, clean_scope(info)),
        None => method.as_str().to_string(),
    };
    if *method == Method::GET && watch_requested(uri) {
        verb = "WATCH".to_string();
    }
    if verb == "WATCHLIST" {
        verb = "WATCH".to_string();
    }
    if verb == "PATCH"
        && headers
            .get(http::header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes() == APPLY_PATCH_CONTENT_TYPE.as_bytes())
    {
        verb = "APPLY".to_string();
    }
    if let Some(info) = info {
        if info.is_resource_request && CONNECT_SUBRESOURCES.contains(&info.subresource.as_str()) {
            verb = "CONNECT".to_string();
        }
    }
    verb
}

/// The `verb` label: `WATCH` for any watch (also the legacy `/watch/` paths), else
/// [`normalized_verb`], with verbs outside upstream's list reported as [`OTHER_VERB`].
pub fn reported_verb(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    info: &RequestInfo,
) -> String {
    if info.is_resource_request && info.verb == "watch" {
        return "WATCH".to_string();
    }
    let verb = normalized_verb(method, uri, headers, Some(info));
    if VALID_VERBS.contains(&verb.as_str()) {
        verb
    } else {
        OTHER_VERB.to_string()
    }
}

/// The query parameters of `uri`, in order; an unparsable query has none.
fn query_pairs(uri: &Uri) -> Vec<(String, String)> {
    serde_urlencoded::from_str(uri.query().unwrap_or("")).unwrap_or_default()
}

/// Whether the first `watch` parameter asks for a watch (anything but `0` and `false`).
fn watch_requested(uri: &Uri) -> bool {
    query_pairs(uri)
        .into_iter()
        .find(|(key, _)| key == "watch")
        .is_some_and(|(_, value)| {
            let value = value.to_ascii_lowercase();
            value != "0" && value != "false"
        })
}

/// Upstream's `cleanDryRun`: empty without `dryRun`, `invalid` when a value is not `All`, else
/// the distinct values sorted and joined by commas.
pub fn clean_dry_run(uri: &Uri) -> String {
    if !uri.query().unwrap_or("").contains("dryRun") {
        return String::new();
    }
    let mut values: Vec<String> = query_pairs(uri)
        .into_iter()
        .filter(|(key, _)| key == "dryRun")
        .map(|(_, value)| value)
        .collect();
    if values.iter().any(|value| value != "All") {
        return "invalid".to_string();
    }
    values.sort();
    values.dedup();
    values.join(",")
}

/// Whether a finished request is counted (see the module notes).
fn is_counted(response: &Response) -> bool {
    match response.extensions().get::<HandledBy>() {
        Some(handled) => handled.server != NOT_FOUND,
        None => matches!(
            response.status(),
            StatusCode::TOO_MANY_REQUESTS | StatusCode::GATEWAY_TIMEOUT
        ),
    }
}

/// Observes one request when dropped (at the end of its response body).
struct PendingObservation {
    metrics: Arc<Metrics>,
    labels: RequestLabels,
    code: u16,
    started: Instant,
}

impl Drop for PendingObservation {
    fn drop(&mut self) {
        self.metrics
            .observe(&self.labels, self.code, self.started.elapsed());
    }
}

/// The filter: counts requests and observes their durations. It MUST run after
/// [`crate::request::info::attach_request_info`]; requests without a [`RequestInfo`] are
/// not counted.
pub async fn record_requests(
    State(metrics): State<Arc<Metrics>>,
    req: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let labels = req
        .extensions()
        .get::<RequestInfo>()
        .map(|info| RequestLabels::of(req.method(), req.uri(), req.headers(), info));
    let response = next.run(req).await;
    let Some(labels) = labels else {
        return response;
    };
    if !is_counted(&response) {
        return response;
    }
    let pending = PendingObservation {
        metrics,
        labels,
        code: response.status().as_u16(),
        started,
    };
    drop_with_body(response, pending)
}

#[cfg(test)]
mod tests;
