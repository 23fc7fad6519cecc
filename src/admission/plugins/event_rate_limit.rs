//! EventRateLimit (`plugin/pkg/admission/eventratelimit/`): creates and updates of core Events
//! are limited by token buckets, per server, namespace, user or event source and object, as the
//! plugin's `eventratelimit.admission.k8s.io/v1alpha1` `Configuration` says. A request over a
//! limit gets a 429. Each plugin instance keeps its own buckets (no process-global state).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_trait::async_trait;
use http::StatusCode;
use serde_json::Value;

use super::{Call, Plugin, PluginContext};
use crate::admission::attributes::{Attributes, WriteRequest};
use crate::api::status::{ApiError, ApiResult};
use crate::config::ConfigError;
use crate::registry::admission::AdmissionOperation;

/// The configuration's API version and kind.
const API_VERSION: &str = "eventratelimit.admission.k8s.io/v1alpha1";
const KIND: &str = "Configuration";
/// The LRU size of a limit that gives none (upstream's `defaultCacheSize`).
const DEFAULT_CACHE_SIZE: usize = 4096;
const SETTING: &str = "admission.config_file";

/// What a limit's buckets are keyed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitType {
    /// One bucket for the whole server.
    Server,
    /// One bucket per namespace.
    Namespace,
    /// One bucket per user name.
    User,
    /// One bucket per event source and involved object.
    SourceAndObject,
}

impl LimitType {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "Server" => LimitType::Server,
            "Namespace" => LimitType::Namespace,
            "User" => LimitType::User,
            "SourceAndObject" => LimitType::SourceAndObject,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            LimitType::Server => "Server",
            LimitType::Namespace => "Namespace",
            LimitType::User => "User",
            LimitType::SourceAndObject => "SourceAndObject",
        }
    }

    /// The bucket key of a request (upstream's key functions).
    fn key(self, attributes: &Attributes, event: &Value) -> String {
        match self {
            LimitType::Server => String::new(),
            LimitType::Namespace => attributes.namespace.clone(),
            LimitType::User => attributes.user.name.clone(),
            LimitType::SourceAndObject => {
                let field = |path: &str| event.pointer(path).and_then(Value::as_str).unwrap_or("");
                [
                    "/source/component",
                    "/source/host",
                    "/involvedObject/kind",
                    "/involvedObject/namespace",
                    "/involvedObject/name",
                    "/involvedObject/uid",
                    "/involvedObject/apiVersion",
                ]
                .iter()
                .map(|path| field(path))
                .collect()
            }
        }
    }
}

/// A token bucket: full (`burst` tokens) at first, refilled at `qps` tokens a second.
#[derive(Debug, Clone)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// The buckets of one limit, the least recently used dropped beyond `capacity`.
#[derive(Debug)]
struct Buckets {
    capacity: usize,
    tick: u64,
    entries: HashMap<String, (Bucket, u64)>,
    /// Keys by last use.
    order: BTreeMap<u64, String>,
}

/// One configured limit.
#[derive(Debug)]
pub struct Limit {
    kind: LimitType,
    qps: f64,
    burst: f64,
    buckets: Mutex<Buckets>,
}

impl Limit {
    /// A limit of `kind`: `qps` tokens a second, at most `burst`, `capacity` keys remembered.
    pub fn new(kind: LimitType, qps: f64, burst: f64, capacity: usize) -> Self {
        Self {
            kind,
            qps,
            burst,
            buckets: Mutex::new(Buckets {
                capacity: capacity.max(1),
                tick: 0,
                entries: HashMap::new(),
                order: BTreeMap::new(),
            }),
        }
    }

    /// Takes a token from the bucket of `key` at `now`; `false` when it has none.
    pub fn try_accept(&self, key: &str, now: Instant) -> bool {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let buckets = &mut *buckets;
        buckets.tick += 1;
        let tick = buckets.tick;
        let bucket = match buckets.entries.remove(key) {
            Some((bucket, used)) => {
                buckets.order.remove(&used);
                bucket
            }
            None => {
                if buckets.entries.len() >= buckets.capacity {
                    if let Some((_, oldest)) = buckets.order.pop_first() {
                        buckets.entries.remove(&oldest);
                    }
                }
                Bucket {
                    tokens: self.burst,
                    updated: now,
                }
            }
        };
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        let mut bucket = Bucket {
            tokens: (bucket.tokens + elapsed * self.qps).min(self.burst),
            updated: now.max(bucket.updated),
        };
        let allowed = bucket.tokens >= 1.0;
        if allowed {
            bucket.tokens -= 1.0;
        }
        buckets.entries.insert(key.to_string(), (bucket, tick));
        buckets.order.insert(tick, key.to_string());
        allowed
    }

    /// How many keys it remembers.
    pub fn remembered(&self) -> usize {
        let buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        buckets.entries.len()
    }
}

/// The EventRateLimit plugin: its limits, in the configuration's order.
#[derive(Debug)]
pub struct EventRateLimit {
    limits: Vec<Limit>,
}

/// Builds the plugin from its configuration, which upstream requires.
pub fn build(context: &PluginContext<'_>) -> Result<Arc<dyn Plugin>, ConfigError> {
    let configuration = context.configuration.ok_or_else(|| {
        ConfigError::new(
            SETTING,
            format!("EventRateLimit needs a configuration: an {API_VERSION} {KIND} in the AdmissionConfiguration"),
        )
    })?;
    Ok(Arc::new(EventRateLimit::from_configuration(configuration)?))
}

impl EventRateLimit {
    /// Reads and validates a `Configuration` as upstream's `ValidateConfiguration`.
    pub fn from_configuration(configuration: &Value) -> Result<Self, ConfigError> {
        let fail = |why: String| ConfigError::new(SETTING, format!("EventRateLimit: {why}"));
        let api_version = configuration
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("");
        let kind = configuration
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or("");
        if api_version != API_VERSION || kind != KIND {
            return Err(fail(format!(
                "expected {API_VERSION} {KIND}, got {api_version} {kind}"
            )));
        }
        let entries = configuration
            .get("limits")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if entries.is_empty() {
            return Err(fail(
                "limits: Invalid value: null: must not be empty".into(),
            ));
        }
        let mut errors = Vec::new();
        let mut limits = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            let number = |field: &str| entry.get(field).and_then(Value::as_i64).unwrap_or(0);
            let type_name = entry.get("type").and_then(Value::as_str).unwrap_or("");
            let kind = LimitType::parse(type_name);
            if kind.is_none() {
                errors.push(format!("limits[{i}].type: Unsupported value: {type_name:?}: supported values: \"Namespace\", \"Server\", \"SourceAndObject\", \"User\""));
            }
            let (qps, burst, cache_size) = (number("qps"), number("burst"), number("cacheSize"));
            if burst <= 0 {
                errors.push(format!(
                    "limits[{i}].burst: Invalid value: {burst}: must be positive"
                ));
            }
            if qps <= 0 {
                errors.push(format!(
                    "limits[{i}].qps: Invalid value: {qps}: must be positive"
                ));
            }
            if kind != Some(LimitType::Server) && cache_size < 0 {
                errors.push(format!(
                    "limits[{i}].cacheSize: Invalid value: {cache_size}: must not be negative"
                ));
            }
            if let Some(kind) = kind {
                let capacity = match (kind, cache_size) {
                    (LimitType::Server, _) => 1,
                    (_, size) if size > 0 => size as usize,
                    _ => DEFAULT_CACHE_SIZE,
                };
                limits.push(Limit::new(kind, qps as f64, burst as f64, capacity));
            }
        }
        match errors.len() {
            0 => Ok(Self { limits }),
            1 => Err(fail(errors.remove(0))),
            _ => Err(fail(format!("[{}]", errors.join(", ")))),
        }
    }

    /// Every limit takes a token (even after one refused, as upstream); the last refusal wins.
    pub fn accept(&self, attributes: &Attributes, event: &Value, now: Instant) -> ApiResult<()> {
        let mut refusal = None;
        for limit in &self.limits {
            let key = limit.kind.key(attributes, event);
            if !limit.try_accept(&key, now) {
                refusal = Some(too_many_requests(&format!(
                    "limit reached on type {} for key {key}",
                    limit.kind.name()
                )));
            }
        }
        refusal.map_or(Ok(()), Err)
    }
}

/// Upstream's `NewTooManyRequestsError`: a 429 without `Retry-After`.
fn too_many_requests(message: &str) -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "TooManyRequests",
        format!("Too many requests: {message}"),
        None,
    )
}

#[async_trait]
impl Plugin for EventRateLimit {
    fn handles(&self, request: &WriteRequest) -> bool {
        request.kind.group.is_empty() && request.kind.kind == "Event"
    }

    async fn validate(
        &self,
        call: &Call<'_>,
        obj: Option<&Value>,
        _old: Option<&Value>,
    ) -> ApiResult<()> {
        let attributes = call.attributes;
        // Dry runs write nothing, so they are not limited.
        if attributes.dry_run
            || !matches!(
                attributes.operation,
                AdmissionOperation::Create | AdmissionOperation::Update
            )
        {
            return Ok(());
        }
        let event = obj.unwrap_or(&Value::Null);
        self.accept(attributes, event, Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::admission::plugins::common::testing::{attributes_by, request, someone};

    fn configuration(limits: Value) -> Value {
        json!({"apiVersion": API_VERSION, "kind": KIND, "limits": limits})
    }

    #[test]
    fn configurations_are_validated() {
        let err = |c: Value| {
            EventRateLimit::from_configuration(&c)
                .unwrap_err()
                .to_string()
        };
        assert!(err(configuration(json!([])))
            .contains("limits: Invalid value: null: must not be empty"));
        let bad = err(configuration(
            json!([{"type": "Pod", "qps": 0, "burst": 1}]),
        ));
        assert!(bad.contains("admission.config_file"), "{bad}");
        assert!(
            bad.contains("limits[0].type: Unsupported value: \"Pod\""),
            "{bad}"
        );
        assert!(
            bad.contains("limits[0].qps: Invalid value: 0: must be positive"),
            "{bad}"
        );
        assert!(err(json!({"kind": "Configuration"}))
            .contains("expected eventratelimit.admission.k8s.io/v1alpha1 Configuration"));
        let ok = EventRateLimit::from_configuration(&configuration(json!([
            {"type": "Server", "qps": 1, "burst": 2},
            {"type": "User", "qps": 1, "burst": 2, "cacheSize": 10},
        ])))
        .unwrap();
        assert_eq!(ok.limits.len(), 2);
    }

    #[test]
    fn buckets_refill_and_the_least_recently_used_key_goes() {
        let limit = Limit::new(LimitType::Namespace, 2.0, 3.0, 2);
        let start = Instant::now();
        for _ in 0..3 {
            assert!(limit.try_accept("a", start));
        }
        assert!(!limit.try_accept("a", start), "burst spent");
        assert!(
            limit.try_accept("a", start + Duration::from_millis(500)),
            "one token a half second"
        );
        assert!(!limit.try_accept("a", start + Duration::from_millis(500)));
        assert!(limit.try_accept("b", start));
        assert!(limit.try_accept("c", start), "a is dropped");
        assert_eq!(limit.remembered(), 2);
        for _ in 0..3 {
            assert!(
                limit.try_accept("a", start + Duration::from_millis(500)),
                "a starts full again"
            );
        }
    }

    #[test]
    fn the_last_refusal_is_answered_with_429() {
        let plugin = EventRateLimit::from_configuration(&configuration(json!([
            {"type": "Namespace", "qps": 1, "burst": 1},
            {"type": "User", "qps": 1, "burst": 2},
        ])))
        .unwrap();
        let mut attrs = attributes_by(
            AdmissionOperation::Create,
            ("", "events", ""),
            "Event",
            someone("ann"),
        );
        attrs.namespace = "team".into();
        assert!(plugin.handles(&request(&attrs)));
        let now = Instant::now();
        let event = json!({});
        plugin.accept(&attrs, &event, now).unwrap();
        let err = plugin.accept(&attrs, &event, now).unwrap_err();
        assert_eq!(err.status.code, 429);
        assert_eq!(err.status.reason, "TooManyRequests");
        assert_eq!(
            err.status.message,
            "Too many requests: limit reached on type Namespace for key team"
        );
        let err = plugin.accept(&attrs, &event, now).unwrap_err();
        assert_eq!(
            err.status.message,
            "Too many requests: limit reached on type User for key ann"
        );
        let mut other = attributes_by(
            AdmissionOperation::Create,
            ("events.k8s.io", "events", ""),
            "Event",
            someone("ann"),
        );
        other.namespace = "team".into();
        assert!(!plugin.handles(&request(&other)), "only core Events");
    }

    #[test]
    fn source_and_object_keys() {
        let attrs = attributes_by(
            AdmissionOperation::Create,
            ("", "events", ""),
            "Event",
            someone("ann"),
        );
        let event = json!({"source": {"component": "kubelet", "host": "n1"},
            "involvedObject": {"kind": "Pod", "namespace": "ns", "name": "p", "uid": "u", "apiVersion": "v1"}});
        assert_eq!(
            LimitType::SourceAndObject.key(&attrs, &event),
            "kubeletn1Podnspuv1"
        );
        assert_eq!(LimitType::Server.key(&attrs, &event), "");
    }
}
