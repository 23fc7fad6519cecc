//! The `apiserver_flowcontrol_*` metrics, with upstream's names, labels and buckets
//! (`k8s.io/apiserver/pkg/util/flowcontrol/metrics/metrics.go`), registered in the server's own
//! registry ([`crate::filters::metrics::Metrics::registry`]).

use prometheus::{
    HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
};

/// Upstream's `apiserver_flowcontrol_request_wait_duration_seconds` buckets.
const WAIT_BUCKETS: [f64; 13] = [
    0.0, 0.005, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0,
];

/// The flow-control metrics.
#[derive(Clone)]
pub struct ApfMetrics {
    rejected: IntCounterVec,
    dispatched: IntCounterVec,
    in_queue: IntGaugeVec,
    executing_requests: IntGaugeVec,
    executing_seats: IntGaugeVec,
    wait: HistogramVec,
    nominal_limit: IntGaugeVec,
    current_limit: IntGaugeVec,
}

impl std::fmt::Debug for ApfMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApfMetrics").finish_non_exhaustive()
    }
}

const FLOW: [&str; 2] = ["priority_level", "flow_schema"];

impl ApfMetrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let counter = |name: &str, help: &str, labels: &[&str]| {
            IntCounterVec::new(Opts::new(name, help), labels)
        };
        let gauge = |name: &str, help: &str, labels: &[&str]| {
            IntGaugeVec::new(Opts::new(name, help), labels)
        };
        let metrics = Self {
            rejected: counter(
                "apiserver_flowcontrol_rejected_requests_total",
                "Number of requests rejected by API Priority and Fairness subsystem",
                &["priority_level", "flow_schema", "reason"][..],
            )?,
            dispatched: counter(
                "apiserver_flowcontrol_dispatched_requests_total",
                "Number of requests executed by API Priority and Fairness subsystem",
                &FLOW[..],
            )?,
            in_queue: gauge(
                "apiserver_flowcontrol_current_inqueue_requests",
                "Number of requests currently pending in queues of the API Priority and Fairness subsystem",
                &FLOW[..],
            )?,
            executing_requests: gauge(
                "apiserver_flowcontrol_current_executing_requests",
                "Number of requests in initial (for a WATCH) or any (for a non-WATCH) execution stage in the API Priority and Fairness subsystem",
                &FLOW[..],
            )?,
            executing_seats: gauge(
                "apiserver_flowcontrol_current_executing_seats",
                "Concurrency (number of seats) occupied by the currently executing (initial stage for a WATCH, any stage otherwise) requests in the API Priority and Fairness subsystem",
                &FLOW[..],
            )?,
            wait: HistogramVec::new(
                HistogramOpts::new(
                    "apiserver_flowcontrol_request_wait_duration_seconds",
                    "Length of time a request spent waiting in its queue",
                )
                .buckets(WAIT_BUCKETS.to_vec()),
                &["priority_level", "flow_schema", "execute"],
            )?,
            nominal_limit: gauge(
                "apiserver_flowcontrol_nominal_limit_seats",
                "Nominal number of execution seats configured for each priority level",
                &["priority_level"][..],
            )?,
            current_limit: gauge(
                "apiserver_flowcontrol_current_limit_seats",
                "current derived number of execution seats available to each priority level",
                &["priority_level"][..],
            )?,
        };
        registry.register(Box::new(metrics.rejected.clone()))?;
        registry.register(Box::new(metrics.dispatched.clone()))?;
        registry.register(Box::new(metrics.in_queue.clone()))?;
        registry.register(Box::new(metrics.executing_requests.clone()))?;
        registry.register(Box::new(metrics.executing_seats.clone()))?;
        registry.register(Box::new(metrics.wait.clone()))?;
        registry.register(Box::new(metrics.nominal_limit.clone()))?;
        registry.register(Box::new(metrics.current_limit.clone()))?;
        Ok(metrics)
    }

    /// A level's nominal limit and, when limited, its current limit.
    pub fn set_limits(&self, level: &str, nominal: u32, current: Option<u32>) {
        self.nominal_limit
            .with_label_values(&[level][..])
            .set(i64::from(nominal));
        if let Some(current) = current {
            self.current_limit
                .with_label_values(&[level][..])
                .set(i64::from(current));
        }
    }

    /// A rejected request.
    pub fn rejected(&self, level: &str, schema: &str, reason: &str) {
        self.rejected
            .with_label_values(&[level, schema, reason][..])
            .inc();
    }

    /// A dispatched request, after waiting `waited` seconds.
    pub fn dispatched(&self, level: &str, schema: &str, waited: f64) {
        self.dispatched
            .with_label_values(&[level, schema][..])
            .inc();
        self.wait
            .with_label_values(&[level, schema, "true"][..])
            .observe(waited);
    }

    /// A request that waited `waited` seconds and was not executed.
    pub fn not_dispatched(&self, level: &str, schema: &str, waited: f64) {
        self.wait
            .with_label_values(&[level, schema, "false"][..])
            .observe(waited);
    }

    /// Counts one request waiting until the guard is dropped.
    pub fn waiting(&self, level: &str, schema: &str) -> GaugeGuard {
        GaugeGuard::new(vec![(
            self.in_queue.with_label_values(&[level, schema][..]),
            1,
        )])
    }

    /// Counts one request of `seats` executing until the guard is dropped.
    pub fn executing(&self, level: &str, schema: &str, seats: u32) -> GaugeGuard {
        GaugeGuard::new(vec![
            (
                self.executing_requests
                    .with_label_values(&[level, schema][..]),
                1,
            ),
            (
                self.executing_seats.with_label_values(&[level, schema][..]),
                i64::from(seats),
            ),
        ])
    }
}

/// Adds to gauges while alive.
pub struct GaugeGuard {
    gauges: Vec<(IntGauge, i64)>,
}

impl GaugeGuard {
    fn new(gauges: Vec<(IntGauge, i64)>) -> Self {
        for (gauge, delta) in &gauges {
            gauge.add(*delta);
        }
        Self { gauges }
    }
}

impl std::fmt::Debug for GaugeGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GaugeGuard").finish_non_exhaustive()
    }
}

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        for (gauge, delta) in &self.gauges {
            gauge.sub(*delta);
        }
    }
}
