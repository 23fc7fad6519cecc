//! Auditing: upstream's `WithAudit` and `WithFailedAuthenticationAudit`, the audit policy and the
//! log backend (`k8s.io/apiserver/pkg/audit`, `pkg/endpoints/filters/audit.go`).
//!
//! * [`policy`]: which requests are audited at which [`Level`], which stages are left out.
//! * [`event`]: the `audit.k8s.io/v1` `Event` written per stage.
//! * [`log_backend`]: one JSON line per event, written by a dedicated thread, rotated by size.
//! * [`filter`]: the middlewares. [`audit`] runs after authentication (it audits as the
//!   authenticated user, before impersonation); [`audit_failed_authentication`] runs before
//!   authentication and audits the requests it refuses with 401.
//!
//! While a request is audited its extensions hold an `Arc<`[`AuditContext`]`>`: later filters add
//! to the event through it (the impersonation filter sets the impersonated user, the
//! authorization filter adds its decision as annotations). No `AuditContext` in the extensions
//! means the request is not audited (auditing off, or level `None`).
//!
//! Events per request: `RequestReceived` when the filter sees it; for long-running requests
//! (watch, exec, logs) `ResponseStarted` when the response head is ready; `ResponseComplete` when
//! the response is complete (for a stream: when it ends or the client goes away); `Panic` instead
//! when a handler panics. Stages in the rule's `omitStages` are not written.

pub mod event;
pub mod filter;
#[cfg(test)]
mod hostile_input_tests;
pub mod log_backend;
pub mod policy;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

pub use event::Event;
pub use filter::{audit, audit_failed_authentication};
pub use log_backend::{LogBackend, LogTarget};
pub use policy::{Level, Policy, RequestAuditConfig, Stage};

use crate::config::{AuditConfig, ConfigError};
use crate::request::user::UserInfo;
use event::EventUser;

/// The audit annotation key of the authorization decision (`allow` or `forbid`).
pub const DECISION_ANNOTATION: &str = "authorization.k8s.io/decision";
/// The audit annotation key of the authorizer's reason.
pub const REASON_ANNOTATION: &str = "authorization.k8s.io/reason";

/// The policy and the backend: the state of both audit middlewares.
#[derive(Debug)]
pub struct Auditor {
    policy: Policy,
    backend: LogBackend,
}

impl Auditor {
    /// An auditor writing to `backend` under `policy`.
    pub fn new(policy: Policy, backend: LogBackend) -> Self {
        Self { policy, backend }
    }

    /// The auditor of `[audit]`: `None` when `audit.policy_file` is unset (auditing off). Reads
    /// the policy and opens the log (creating its directories) now, so a bad policy or an
    /// unwritable log stops start-up with an error naming the setting.
    pub fn from_config(config: &AuditConfig) -> Result<Option<Arc<Self>>, ConfigError> {
        let Some(policy_file) = &config.policy_file else {
            return Ok(None);
        };
        let Some(log_path) = &config.log_path else {
            return Err(config_error(
                "audit.log_path",
                "audit.policy_file and audit.log_path must be given together".to_string(),
            ));
        };
        let policy = Policy::load_file(policy_file)
            .map_err(|message| config_error("audit.policy_file", message))?;
        let target = if log_path == Path::new("-") {
            LogTarget::Stdout
        } else {
            LogTarget::File(log_path.clone())
        };
        let backend = LogBackend::open(
            target,
            config.log_max_size_mb.saturating_mul(1024 * 1024),
            config.log_max_backups,
        )
        .map_err(|err| config_error("audit.log_path", format!("{}: {err}", log_path.display())))?;
        Ok(Some(Arc::new(Self::new(policy, backend))))
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Waits until every event emitted so far is written and flushed.
    pub async fn flush(&self) {
        self.backend.flush().await;
    }

    /// Writes the event of `context` at `stage`, unless the stage is omitted; waits for room in
    /// the queue.
    pub(crate) async fn emit(&self, context: &AuditContext, stage: Stage) {
        if let Some(event) = context.event_at(stage) {
            self.backend.process(event).await;
        }
    }

    /// As [`Self::emit`], from a place that cannot wait (a response body being dropped).
    pub(crate) fn emit_detached(&self, context: &AuditContext, stage: Stage) {
        if let Some(event) = context.event_at(stage) {
            self.backend.process_detached(event);
        }
    }

    /// Writes a complete event (the failed-authentication path), unless its stage is omitted.
    pub(crate) async fn emit_event(&self, config: &RequestAuditConfig, event: Event) {
        if !config.omit_stages.contains(event.stage) {
            self.backend.process(event).await;
        }
    }
}

fn config_error(setting: &str, message: String) -> ConfigError {
    ConfigError {
        setting: setting.to_string(),
        message: message.replace(['\n', '\r'], " "),
    }
}

/// The audit state of one request, shared through the request extensions as
/// `Arc<AuditContext>`.
///
/// Contract for callers: the methods MAY be called from any filter or handler that runs after
/// [`audit`] and before the response is complete; later calls have no effect on events already
/// written. They never block for long (a short mutex, never held across an await).
#[derive(Debug)]
pub struct AuditContext {
    config: RequestAuditConfig,
    event: Mutex<Event>,
}

impl AuditContext {
    /// A context for an event the policy decided on.
    pub fn new(config: RequestAuditConfig, event: Event) -> Self {
        Self {
            config,
            event: Mutex::new(event),
        }
    }

    /// The level the request is audited at.
    pub fn level(&self) -> Level {
        self.config.level
    }

    /// What the policy decided for the request.
    pub fn config(&self) -> RequestAuditConfig {
        self.config
    }

    /// The audit id of the request.
    pub fn audit_id(&self) -> String {
        self.lock().audit_id.clone()
    }

    /// Adds an annotation to the event. As upstream, a key keeps its first value: setting it
    /// again to a different value is ignored with a warning.
    pub fn add_annotation(&self, key: impl Into<String>, value: impl Into<String>) {
        let (key, value) = (key.into(), value.into());
        let mut event = self.lock();
        match event.annotations.get(&key) {
            Some(existing) if *existing != value => {
                tracing::warn!(
                    audit_id = %event.audit_id,
                    "Failed to set annotations[{key:?}] to {value:?} for audit, it has already been set to {existing:?}"
                );
            }
            Some(_) => {}
            None => {
                event.annotations.insert(key, value);
            }
        }
    }

    /// The annotations added so far.
    pub fn annotations(&self) -> BTreeMap<String, String> {
        self.lock().annotations.clone()
    }

    /// Records the user the request acts as (the impersonation filter calls this).
    pub fn set_impersonated_user(&self, user: UserInfo) {
        self.lock().impersonated_user = Some(EventUser::from(&user));
    }

    /// Runs `f` on the event being built.
    pub(crate) fn with_event<R>(&self, f: impl FnOnce(&mut Event) -> R) -> R {
        f(&mut self.lock())
    }

    /// The event built so far.
    pub(crate) fn into_event(self) -> Event {
        self.event
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The event to write at `stage`, or `None` when the policy omits the stage. The terminal
    /// stages (`ResponseComplete`, `Panic`) move the request and response bodies out instead of
    /// copying them.
    fn event_at(&self, stage: Stage) -> Option<Event> {
        if self.config.omit_stages.contains(stage) {
            return None;
        }
        let mut event = self.lock();
        event.stage = stage;
        event.stage_timestamp = match stage {
            Stage::RequestReceived => event.request_received_timestamp,
            _ => jiff::Timestamp::now(),
        };
        match stage {
            Stage::ResponseComplete | Stage::Panic => {
                let mut snapshot = event.clone_without_bodies();
                snapshot.request_object = event.request_object.take();
                snapshot.response_object = event.response_object.take();
                Some(snapshot)
            }
            _ => Some(event.clone()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Event> {
        // A panic while holding the lock leaves a usable event; keep auditing.
        self.event
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Event {
    /// A copy without `requestObject` and `responseObject`.
    fn clone_without_bodies(&self) -> Self {
        Self {
            kind: self.kind,
            api_version: self.api_version,
            level: self.level,
            audit_id: self.audit_id.clone(),
            stage: self.stage,
            request_uri: self.request_uri.clone(),
            verb: self.verb.clone(),
            user: self.user.clone(),
            impersonated_user: self.impersonated_user.clone(),
            source_ips: self.source_ips.clone(),
            user_agent: self.user_agent.clone(),
            object_ref: self.object_ref.clone(),
            response_status: self.response_status.clone(),
            request_object: None,
            response_object: None,
            request_received_timestamp: self.request_received_timestamp,
            stage_timestamp: self.stage_timestamp,
            annotations: self.annotations.clone(),
        }
    }
}

#[cfg(test)]
mod tests;
