//! The admission metrics of upstream (`k8s.io/apiserver/pkg/admission/metrics/metrics.go` and
//! the ValidatingAdmissionPolicy's `validating/metrics`), with its names, labels and buckets,
//! registered in the server's own registry.

use std::time::Duration;

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};

/// The admission metrics.
#[derive(Clone)]
pub struct AdmissionMetrics {
    step_duration: HistogramVec,
    controller_duration: HistogramVec,
    webhook_duration: HistogramVec,
    webhook_rejections: IntCounterVec,
    webhook_requests: IntCounterVec,
    policy_checks: IntCounterVec,
    policy_duration: HistogramVec,
}

impl std::fmt::Debug for AdmissionMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdmissionMetrics").finish_non_exhaustive()
    }
}

/// `admit` for mutating steps and webhooks, `validate` for validating ones.
pub fn step_type(mutating: bool) -> &'static str {
    if mutating {
        "admit"
    } else {
        "validate"
    }
}

fn histogram(
    name: &str,
    help: &str,
    buckets: &[f64],
    labels: &[&str],
) -> Result<HistogramVec, prometheus::Error> {
    HistogramVec::new(
        HistogramOpts::new(name, help).buckets(buckets.to_vec()),
        labels,
    )
}

impl AdmissionMetrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let step_duration = histogram(
            "apiserver_admission_step_admission_duration_seconds",
            "Admission sub-step latency histogram in seconds, broken out for each operation and API resource and step type (validate or admit).",
            &[0.005, 0.025, 0.1, 0.5, 1.0, 2.5],
            &["type", "operation", "rejected"],
        )?;
        let controller_duration = histogram(
            "apiserver_admission_controller_admission_duration_seconds",
            "Admission controller latency histogram in seconds, identified by name and broken out for each operation and API resource and type (validate or admit).",
            &[0.005, 0.025, 0.1, 0.5, 1.0, 2.5],
            &["name", "type", "operation", "rejected"],
        )?;
        let webhook_duration = histogram(
            "apiserver_admission_webhook_admission_duration_seconds",
            "Admission webhook latency histogram in seconds, identified by name and broken out for each operation and API resource and type (validate or admit).",
            &[0.005, 0.025, 0.1, 0.5, 1.0, 2.5, 10.0, 25.0],
            &["name", "type", "operation", "rejected"],
        )?;
        let webhook_rejections = IntCounterVec::new(
            Opts::new(
                "apiserver_admission_webhook_rejection_count",
                "Admission webhook rejection count, identified by name and broken out for each admission type (validating or admit) and operation. Additional labels specify an error type (calling_webhook_error or apiserver_internal_error if an error occurred; no_error otherwise) and optionally a non-zero rejection code if the webhook rejects the request with an HTTP status code (honored by the apiserver when the code is greater or equal to 400). Codes greater than 600 are truncated to 600, to keep the metrics cardinality bounded.",
            ),
            &["name", "type", "operation", "error_type", "rejection_code"],
        )?;
        let webhook_requests = IntCounterVec::new(
            Opts::new(
                "apiserver_admission_webhook_request_total",
                "Admission webhook request total, identified by name and broken out for each admission type (validating or mutating) and operation. Additional labels specify whether the request was rejected or not and an HTTP status code. Codes greater than 600 are truncated to 600, to keep the metrics cardinality bounded.",
            ),
            &["name", "type", "operation", "code", "rejected"],
        )?;
        let policy_checks = IntCounterVec::new(
            Opts::new(
                "apiserver_validating_admission_policy_check_total",
                "Validation admission policy check total, labeled by policy and further identified by binding and enforcement action taken.",
            ),
            &["policy", "policy_binding", "error_type", "enforcement_action"],
        )?;
        let policy_duration = histogram(
            "apiserver_validating_admission_policy_check_duration_seconds",
            "Validation admission latency for individual validation expressions in seconds, labeled by policy and further including binding and enforcement action taken.",
            &[0.0000005, 0.001, 0.01, 0.1, 1.0],
            &["policy", "policy_binding", "error_type", "enforcement_action"],
        )?;
        registry.register(Box::new(step_duration.clone()))?;
        registry.register(Box::new(controller_duration.clone()))?;
        registry.register(Box::new(webhook_duration.clone()))?;
        registry.register(Box::new(webhook_rejections.clone()))?;
        registry.register(Box::new(webhook_requests.clone()))?;
        registry.register(Box::new(policy_checks.clone()))?;
        registry.register(Box::new(policy_duration.clone()))?;
        Ok(Self {
            step_duration,
            controller_duration,
            webhook_duration,
            webhook_rejections,
            webhook_requests,
            policy_checks,
            policy_duration,
        })
    }

    /// Metrics in a registry of their own (tests).
    pub fn unregistered() -> Self {
        Self::register(&Registry::new()).expect("admission metric definitions are valid")
    }

    /// One admission step (all mutating or all validating admission of a request).
    pub fn observe_step(&self, mutating: bool, operation: &str, rejected: bool, took: Duration) {
        self.step_duration
            .with_label_values(&[step_type(mutating), operation, bool_label(rejected)])
            .observe(took.as_secs_f64());
    }

    /// One admission controller (plugin) of a step.
    pub fn observe_controller(
        &self,
        name: &str,
        mutating: bool,
        operation: &str,
        rejected: bool,
        took: Duration,
    ) {
        self.controller_duration
            .with_label_values(&[name, step_type(mutating), operation, bool_label(rejected)])
            .observe(took.as_secs_f64());
    }

    /// One webhook call: its latency, its request count by HTTP `code` (0 when no answer came).
    pub fn observe_webhook(
        &self,
        name: &str,
        mutating: bool,
        operation: &str,
        rejected: bool,
        code: u16,
        took: Duration,
    ) {
        let kind = step_type(mutating);
        let rejected = bool_label(rejected);
        self.webhook_duration
            .with_label_values(&[name, kind, operation, rejected])
            .observe(took.as_secs_f64());
        let code = code.min(600).to_string();
        self.webhook_requests
            .with_label_values(&[name, kind, operation, code.as_str(), rejected])
            .inc();
    }

    /// A request a webhook refused (`error_type` `no_error`, with its `code`) or that failed
    /// closed because calling it failed (`calling_webhook_error`, code 0) or the server failed
    /// around the call (`apiserver_internal_error`).
    pub fn webhook_rejection(
        &self,
        name: &str,
        mutating: bool,
        operation: &str,
        error_type: &str,
        code: u16,
    ) {
        let code = code.min(600).to_string();
        self.webhook_rejections
            .with_label_values(&[
                name,
                step_type(mutating),
                operation,
                error_type,
                code.as_str(),
            ])
            .inc();
    }

    /// One check of a policy binding: `error_type` `no_error`, `compile_error`,
    /// `invalid_error`; `enforcement_action` `allow`, `deny`, `warn`, `audit` (comma-joined
    /// when several).
    pub fn policy_check(
        &self,
        policy: &str,
        binding: &str,
        error_type: &str,
        enforcement_action: &str,
        took: Duration,
    ) {
        let labels = [policy, binding, error_type, enforcement_action];
        self.policy_checks.with_label_values(&labels).inc();
        self.policy_duration
            .with_label_values(&labels)
            .observe(took.as_secs_f64());
    }
}

fn bool_label(value: bool) -> &'static str {
    if value {
        "true"
    } else {
        "false"
    }
}
