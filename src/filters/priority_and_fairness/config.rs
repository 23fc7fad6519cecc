//! The configuration in effect: the FlowSchemas and priority levels, digested into a
//! [`Snapshot`] that is swapped whole (a `tokio::sync::watch` value) whenever an object changes,
//! after upstream's `apf_controller.go`.
//!
//! * FlowSchemas are tried by `matchingPrecedence`, then name; one whose priority level does not
//!   exist is ignored. The mandatory `exempt` and `catch-all` objects are supplied when missing
//!   (before any object is stored the server runs with these two only: `system:masters` exempt,
//!   everyone else on `catch-all`). A request no schema matches goes to the mandatory catch-all
//!   (upstream panics there; its configuration makes that impossible).
//! * Concurrency: the server's limit is `max_requests_inflight + max_mutating_requests_inflight`;
//!   a level's nominal limit is `ceil(server limit * shares / sum of shares)`; it may lend
//!   `round(nominal * lendablePercent / 100)` seats and borrow up to
//!   `round(nominal * borrowingLimitPercent / 100)` (unbounded when unset; exempt levels borrow
//!   nothing). Every [`REALLOCATION_PERIOD`] [`FlowControl::reallocate`] divides the sum of the
//!   nominal limits by each level's smoothed seat demand (average plus standard deviation, decaying
//!   by [`DEMAND_DECAY`] per period), within those bounds, as upstream's
//!   `computeConcurrencyAllocation`.
//! * Levels keep their queues across snapshots (looked up by name), so a configuration change
//!   does not forget waiting requests.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::watch;

use super::metrics::ApfMetrics;
use super::queueset::QueueSet;
use super::seats::ObjectCounts;
use crate::request::flowcontrol::{
    parse_flow_schema, parse_priority_level, Distinguisher, FlowSchemaSpec, PriorityLevelSpec,
};
use crate::request::info::RequestInfo;
use crate::request::user::{UserInfo, ALL_AUTHENTICATED, ALL_UNAUTHENTICATED};

/// Upstream's period of seat borrowing.
pub const REALLOCATION_PERIOD: Duration = Duration::from_secs(10);
/// Upstream's `seatDemandSmoothingFactor`.
pub const DEMAND_DECAY: f64 = 0.977;

/// The mandatory exempt level's and schema's name.
pub const EXEMPT: &str = "exempt";
/// The mandatory catch-all level's and schema's name.
pub const CATCH_ALL: &str = "catch-all";
/// The group the mandatory exempt schema matches.
const SYSTEM_MASTERS: &str = "system:masters";

/// Upstream's `MandatoryPriorityLevelConfigurationExempt` (as a built-in it has no uid).
pub fn mandatory_exempt_level() -> PriorityLevelSpec {
    PriorityLevelSpec {
        name: EXEMPT.to_string(),
        uid: String::new(),
        exempt: true,
        nominal_concurrency_shares: 0,
        lendable_percent: 0,
        borrowing_limit_percent: None,
        queuing: None,
    }
}

/// Upstream's `MandatoryPriorityLevelConfigurationCatchAll`: 5 shares, rejects without queuing.
pub fn mandatory_catch_all_level() -> PriorityLevelSpec {
    PriorityLevelSpec {
        name: CATCH_ALL.to_string(),
        uid: String::new(),
        exempt: false,
        nominal_concurrency_shares: 5,
        lendable_percent: 0,
        borrowing_limit_percent: None,
        queuing: None,
    }
}

/// How a schema's flows are told apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowKey {
    User,
    Namespace,
}

/// What a schema matches.
#[derive(Debug)]
enum Matcher {
    Stored(FlowSchemaSpec),
    /// A user in any of these groups (the mandatory schemas).
    Groups(&'static [&'static str]),
}

/// One FlowSchema in effect.
#[derive(Debug)]
pub struct Schema {
    pub name: String,
    pub uid: String,
    pub precedence: i32,
    pub level: String,
    pub flow_key: Option<FlowKey>,
    matcher: Matcher,
}

impl Schema {
    fn stored(spec: FlowSchemaSpec) -> Self {
        let flow_key = match &spec.distinguisher {
            Some(Distinguisher::ByUser) => Some(FlowKey::User),
            Some(Distinguisher::ByNamespace) => Some(FlowKey::Namespace),
            None => None,
        };
        Self {
            name: spec.name.clone(),
            uid: spec.uid.clone(),
            precedence: spec.matching_precedence,
            level: spec.priority_level.clone(),
            flow_key,
            matcher: Matcher::Stored(spec),
        }
    }

    /// Upstream's `MandatoryFlowSchemaExempt`.
    fn mandatory_exempt() -> Self {
        Self {
            name: EXEMPT.to_string(),
            uid: String::new(),
            precedence: 1,
            level: EXEMPT.to_string(),
            flow_key: None,
            matcher: Matcher::Groups(&[SYSTEM_MASTERS]),
        }
    }

    /// Upstream's `MandatoryFlowSchemaCatchAll`.
    fn mandatory_catch_all() -> Self {
        Self {
            name: CATCH_ALL.to_string(),
            uid: String::new(),
            precedence: 10000,
            level: CATCH_ALL.to_string(),
            flow_key: Some(FlowKey::User),
            matcher: Matcher::Groups(&[ALL_AUTHENTICATED, ALL_UNAUTHENTICATED]),
        }
    }

    fn matches(&self, user: &UserInfo, info: &RequestInfo) -> bool {
        match &self.matcher {
            Matcher::Stored(spec) => spec.matches(user, info),
            Matcher::Groups(groups) => groups.iter().any(|g| user.in_group(g)),
        }
    }
}

/// The hash of a flow, as upstream's `hashFlowID`: the first 8 bytes (little-endian) of the
/// SHA-256 of the schema name, a zero byte and the distinguisher.
pub fn flow_hash(schema: &str, distinguisher: &str) -> u64 {
    let mut input = Vec::with_capacity(schema.len() + 1 + distinguisher.len());
    input.extend_from_slice(schema.as_bytes());
    input.push(0);
    input.extend_from_slice(distinguisher.as_bytes());
    let digest = ring::digest::digest(&ring::digest::SHA256, &input);
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest.as_ref()[..8]);
    u64::from_le_bytes(bytes)
}

/// A priority level's runtime state; lives as long as a snapshot or a request refers to it.
#[derive(Debug)]
pub struct Level {
    pub name: String,
    state: Mutex<LevelState>,
}

/// The mutable part of a level.
#[derive(Debug)]
pub struct LevelState {
    pub spec: PriorityLevelSpec,
    /// Seats by shares.
    pub nominal: u32,
    /// Seats it keeps whatever it lends.
    pub min: u32,
    /// Seats it may reach by borrowing.
    pub max: u32,
    /// Smoothed seat demand.
    smoothed: f64,
    pub queues: QueueSet,
}

impl Level {
    /// Locks the state (never held across an await).
    pub fn lock(&self) -> std::sync::MutexGuard<'_, LevelState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether requests of this level are never limited.
    pub fn is_exempt(&self) -> bool {
        self.lock().spec.exempt
    }

    /// The level's uid.
    pub fn uid(&self) -> String {
        self.lock().spec.uid.clone()
    }
}

/// The digested configuration.
#[derive(Debug)]
pub struct Snapshot {
    /// By precedence, then name.
    schemas: Vec<Schema>,
    levels: HashMap<String, Arc<Level>>,
}

/// Where a request goes.
#[derive(Debug, Clone)]
pub struct Classification {
    pub flow_schema: String,
    pub flow_schema_uid: String,
    pub level: Arc<Level>,
    pub level_uid: String,
    pub flow_hash: u64,
}

/// The stored objects last seen, by name.
#[derive(Debug, Default)]
struct Objects {
    flow_schemas: BTreeMap<String, Value>,
    levels: BTreeMap<String, Value>,
}

/// The flow-control state shared by the filter and the controller feeding it.
#[derive(Debug)]
pub struct FlowControl {
    server_limit: u32,
    snapshot: watch::Sender<Arc<Snapshot>>,
    objects: Mutex<Objects>,
    levels: Mutex<HashMap<String, Arc<Level>>>,
    pub(super) metrics: Option<ApfMetrics>,
    /// Set once the stores exist (after the filter's state is built).
    pub(super) counts: OnceLock<Arc<dyn ObjectCounts>>,
    pub(super) dropped: super::DroppedRequests,
}

impl FlowControl {
    /// Flow control over `server_limit` seats, with the mandatory objects only, reporting to
    /// `metrics` when given.
    pub fn new(server_limit: u32, metrics: Option<ApfMetrics>) -> Self {
        let empty = Snapshot {
            schemas: Vec::new(),
            levels: HashMap::new(),
        };
        let control = Self {
            server_limit: server_limit.max(1),
            snapshot: watch::Sender::new(Arc::new(empty)),
            objects: Mutex::new(Objects::default()),
            levels: Mutex::new(HashMap::new()),
            metrics,
            counts: OnceLock::new(),
            dropped: super::DroppedRequests::default(),
        };
        control.rebuild();
        control
    }

    /// Uses `counts` to size list requests from now on (the first source set stays).
    pub fn set_object_counts(&self, counts: Arc<dyn ObjectCounts>) {
        let _ = self.counts.set(counts);
    }

    /// The server's seats.
    pub fn server_limit(&self) -> u32 {
        self.server_limit
    }

    /// The snapshot in effect.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.borrow().clone()
    }

    /// The level of that name in the snapshot in effect.
    pub fn snapshot_level(&self, name: &str) -> Option<Arc<Level>> {
        self.snapshot().levels.get(name).cloned()
    }

    fn objects(&self) -> std::sync::MutexGuard<'_, Objects> {
        self.objects.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every stored FlowSchema now (a fresh list).
    pub fn replace_flow_schemas(&self, objects: &[Value]) {
        self.objects().flow_schemas = by_name(objects);
        self.rebuild();
    }

    /// Every stored PriorityLevelConfiguration now (a fresh list).
    pub fn replace_priority_levels(&self, objects: &[Value]) {
        self.objects().levels = by_name(objects);
        self.rebuild();
    }

    /// One FlowSchema added or changed (`Some`) or deleted (`None`).
    pub fn apply_flow_schema(&self, name: &str, object: Option<&Value>) {
        apply(&mut self.objects().flow_schemas, name, object);
        self.rebuild();
    }

    /// One PriorityLevelConfiguration added or changed (`Some`) or deleted (`None`).
    pub fn apply_priority_level(&self, name: &str, object: Option<&Value>) {
        apply(&mut self.objects().levels, name, object);
        self.rebuild();
    }

    /// Digests the stored objects into a new snapshot and swaps it in.
    fn rebuild(&self) {
        let (schema_values, level_values) = {
            let objects = self.objects();
            (
                objects.flow_schemas.values().cloned().collect::<Vec<_>>(),
                objects.levels.values().cloned().collect::<Vec<_>>(),
            )
        };
        let mut specs: BTreeMap<String, PriorityLevelSpec> = BTreeMap::new();
        for value in &level_values {
            match parse_priority_level(value) {
                Ok(spec) => {
                    specs.insert(spec.name.clone(), spec);
                }
                Err(err) => tracing::warn!(error = %err, "ignoring a PriorityLevelConfiguration"),
            }
        }
        specs
            .entry(EXEMPT.to_string())
            .or_insert_with(mandatory_exempt_level);
        specs
            .entry(CATCH_ALL.to_string())
            .or_insert_with(mandatory_catch_all_level);

        let share_sum: f64 = specs
            .values()
            .map(|s| f64::from(s.nominal_concurrency_shares.max(0)))
            .sum();
        let mut levels = self.levels.lock().unwrap_or_else(|p| p.into_inner());
        levels.retain(|name, _| specs.contains_key(name));
        for (name, spec) in specs {
            let nominal = nominal_limit(
                self.server_limit,
                spec.nominal_concurrency_shares,
                share_sum,
            );
            let (min, max) = bounds(&spec, nominal, self.server_limit);
            let (queues, hand, length) = queue_shape(&spec);
            let level = levels.entry(name.clone()).or_insert_with(|| {
                let limit = if spec.exempt { u32::MAX } else { nominal };
                Arc::new(Level {
                    name: name.clone(),
                    state: Mutex::new(LevelState {
                        spec: spec.clone(),
                        nominal,
                        min,
                        max,
                        smoothed: 0.0,
                        queues: QueueSet::new(queues, hand, length, limit),
                    }),
                })
            });
            let mut state = level.lock();
            state.nominal = nominal;
            state.min = min;
            state.max = max;
            state.queues.reconfigure(queues, hand, length);
            let limit = if spec.exempt {
                u32::MAX
            } else {
                state.queues.limit().clamp(min, max.max(min))
            };
            state.spec = spec;
            state.queues.set_limit(limit);
            if let Some(metrics) = &self.metrics {
                metrics.set_limits(&name, nominal, (!state.spec.exempt).then_some(limit));
            }
        }
        let levels_now = levels.clone();
        drop(levels);

        let mut schemas: Vec<Schema> = Vec::new();
        for value in &schema_values {
            match parse_flow_schema(value) {
                Ok(spec) if levels_now.contains_key(&spec.priority_level) => {
                    schemas.push(Schema::stored(spec))
                }
                Ok(spec) => tracing::debug!(
                    flow_schema = %spec.name,
                    "ignoring a FlowSchema whose priority level does not exist"
                ),
                Err(err) => tracing::warn!(error = %err, "ignoring a FlowSchema"),
            }
        }
        if !schemas.iter().any(|s| s.name == EXEMPT) {
            schemas.push(Schema::mandatory_exempt());
        }
        if !schemas.iter().any(|s| s.name == CATCH_ALL) {
            schemas.push(Schema::mandatory_catch_all());
        }
        schemas.sort_by(|a, b| {
            a.precedence
                .cmp(&b.precedence)
                .then_with(|| a.name.cmp(&b.name))
        });
        self.snapshot.send_replace(Arc::new(Snapshot {
            schemas,
            levels: levels_now,
        }));
    }

    /// The schema, level and flow of a request.
    pub fn classify(&self, user: &UserInfo, info: &RequestInfo) -> Classification {
        let snapshot = self.snapshot();
        let found = snapshot
            .schemas
            .iter()
            .find(|s| s.matches(user, info))
            .and_then(|s| snapshot.levels.get(&s.level).map(|l| (s, l)));
        let (schema_name, schema_uid, flow_key, level) = match found {
            Some((schema, level)) => (
                schema.name.clone(),
                schema.uid.clone(),
                schema.flow_key,
                level.clone(),
            ),
            None => {
                let level = snapshot
                    .levels
                    .get(CATCH_ALL)
                    .cloned()
                    .unwrap_or_else(|| self.catch_all_level());
                (
                    CATCH_ALL.to_string(),
                    String::new(),
                    Some(FlowKey::User),
                    level,
                )
            }
        };
        let distinguisher = match flow_key {
            Some(FlowKey::User) => user.name.as_str(),
            Some(FlowKey::Namespace) => info.namespace.as_str(),
            None => "",
        };
        let flow_hash = flow_hash(&schema_name, distinguisher);
        let level_uid = level.uid();
        Classification {
            flow_schema: schema_name,
            flow_schema_uid: schema_uid,
            level,
            level_uid,
            flow_hash,
        }
    }

    /// The catch-all level of the live table (always present after a rebuild).
    fn catch_all_level(&self) -> Arc<Level> {
        let levels = self.levels.lock().unwrap_or_else(|p| p.into_inner());
        levels.get(CATCH_ALL).cloned().unwrap_or_else(|| {
            Arc::new(Level {
                name: CATCH_ALL.to_string(),
                state: Mutex::new(LevelState {
                    spec: mandatory_catch_all_level(),
                    nominal: 1,
                    min: 1,
                    max: 1,
                    smoothed: 0.0,
                    queues: QueueSet::new(0, 1, 0, 1),
                }),
            })
        })
    }

    /// The periodic seat borrowing: each level's limit from its recent seat demand.
    pub fn reallocate(&self) {
        let levels: Vec<Arc<Level>> = {
            let table = self.levels.lock().unwrap_or_else(|p| p.into_inner());
            let mut levels: Vec<_> = table.values().cloned().collect();
            levels.sort_by(|a, b| a.name.cmp(&b.name));
            levels
        };
        let mut items = Vec::with_capacity(levels.len());
        let mut required = 0.0;
        for level in &levels {
            let mut state = level.lock();
            let demand = state.queues.take_demand();
            let (min, max) = (f64::from(state.min), f64::from(state.max.max(state.min)));
            let lower = if state.spec.exempt {
                min.max(f64::from(demand.high_watermark)).min(max)
            } else {
                min
            };
            state.smoothed = (demand.average + demand.std_dev).max(state.smoothed * DEMAND_DECAY);
            items.push(AllocItem {
                lower,
                upper: max,
                target: lower.max(state.smoothed),
            });
            required += f64::from(state.nominal);
        }
        let allocs = allocate(required, &items);
        for (level, alloc) in levels.iter().zip(allocs) {
            let mut state = level.lock();
            if state.spec.exempt {
                continue;
            }
            let limit = alloc.round().max(0.0) as u32;
            state.queues.set_limit(limit);
            if let Some(metrics) = &self.metrics {
                metrics.set_limits(&level.name, state.nominal, Some(limit));
            }
        }
    }

    /// Reallocates every [`REALLOCATION_PERIOD`] until the task is dropped.
    pub async fn run_reallocation(self: Arc<Self>) {
        let mut ticks = tokio::time::interval(REALLOCATION_PERIOD);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            self.reallocate();
        }
    }
}

fn by_name(objects: &[Value]) -> BTreeMap<String, Value> {
    objects
        .iter()
        .filter_map(|o| {
            let name = o.pointer("/metadata/name")?.as_str()?;
            Some((name.to_string(), o.clone()))
        })
        .collect()
}

fn apply(map: &mut BTreeMap<String, Value>, name: &str, object: Option<&Value>) {
    match object {
        Some(object) => {
            map.insert(name.to_string(), object.clone());
        }
        None => {
            map.remove(name);
        }
    }
}

/// Upstream's `computeNominalConcurrency`: `ceil(server * shares / sum)`.
pub fn nominal_limit(server_limit: u32, shares: i32, share_sum: f64) -> u32 {
    if share_sum <= 0.0 || shares <= 0 {
        return 0;
    }
    (f64::from(server_limit) * f64::from(shares) / share_sum).ceil() as u32
}

/// The seats a level keeps (`nominal - lendable`) and may reach (`nominal + borrowing`).
pub fn bounds(spec: &PriorityLevelSpec, nominal: u32, server_limit: u32) -> (u32, u32) {
    let percent = |p: i32| (f64::from(nominal) * f64::from(p.clamp(0, 100)) / 100.0).round() as u32;
    let lendable = percent(spec.lendable_percent);
    let borrowing = if spec.exempt {
        0
    } else {
        match spec.borrowing_limit_percent {
            Some(p) => (f64::from(nominal) * f64::from(p.max(0)) / 100.0).round() as u32,
            None => server_limit,
        }
    };
    (
        nominal - lendable.min(nominal),
        nominal.saturating_add(borrowing),
    )
}

/// `(queues, hand size, queue length limit)`; `(0, 1, 0)` rejects instead of queuing.
fn queue_shape(spec: &PriorityLevelSpec) -> (usize, usize, usize) {
    if spec.exempt {
        return (0, 1, 0);
    }
    match &spec.queuing {
        Some(q) => {
            let queues = usize::try_from(q.queues.max(1)).unwrap_or(1);
            let hand = usize::try_from(q.hand_size.max(1)).unwrap_or(1).min(queues);
            let length = usize::try_from(q.queue_length_limit.max(0)).unwrap_or(0);
            (queues, hand, length)
        }
        None => (0, 1, 0),
    }
}

/// One level in the allocation problem.
#[derive(Debug, Clone, Copy)]
pub struct AllocItem {
    pub lower: f64,
    pub upper: f64,
    pub target: f64,
}

/// Upstream's `computeConcurrencyAllocation`: allocations `clamp(p * target, lower, upper)`
/// with the proportion `p` chosen so that they sum to `required` (or as near as the bounds
/// allow).
pub fn allocate(required: f64, items: &[AllocItem]) -> Vec<f64> {
    let at = |p: f64| -> Vec<f64> {
        items
            .iter()
            .map(|i| (p * i.target).clamp(i.lower, i.upper.max(i.lower)))
            .collect()
    };
    let sum = |v: &[f64]| v.iter().sum::<f64>();
    let lowest: f64 = items.iter().map(|i| i.lower).sum();
    if lowest >= required {
        return items.iter().map(|i| i.lower).collect();
    }
    let highest: f64 = items.iter().map(|i| i.upper.max(i.lower)).sum();
    if highest <= required {
        return items.iter().map(|i| i.upper.max(i.lower)).collect();
    }
    let (mut low, mut high) = (0.0_f64, 1.0_f64);
    while sum(at(high).as_slice()) < required && high < 1e12 {
        high *= 2.0;
    }
    for _ in 0..100 {
        let mid = (low + high) / 2.0;
        if sum(at(mid).as_slice()) < required {
            low = mid;
        } else {
            high = mid;
        }
    }
    at(high)
}
