//! API Priority and Fairness: upstream's `WithPriorityAndFairness`
//! (`k8s.io/apiserver/pkg/server/filters/priority-and-fairness.go`), in max-in-flight's place
//! in the chain when `server.enable_priority_and_fairness` is on.
//!
//! * Long-running requests other than watches (`exec`, `proxy`, `log`...) pass untouched.
//! * Every other request is classified ([`config::FlowControl::classify`]: FlowSchema, priority
//!   level, flow), sized in seats ([`seats::estimate`]) and handed to its level's queues
//!   ([`queueset`]). Exempt levels serve at once (counted).
//! * A queued request waits at most a quarter of its deadline ([`RequestDeadline`]), or of
//!   `server.request_timeout_seconds` for a watch, and never more than a minute (upstream's
//!   `getRequestWaitContext`); then it is rejected (`time-out`).
//! * A non-watch request holds its seats until its response body ends. A watch holds its seats
//!   until its initial events are sent (upstream's watch initialization signal: a
//!   [`WatchInitSignal`] in the request's extensions, fired by the store's watcher), until the
//!   watch ends without firing it, or at most [`WATCH_INIT_LIMIT`].
//! * Every classified response carries `X-Kubernetes-PF-FlowSchema-UID` and
//!   `X-Kubernetes-PF-PriorityLevel-UID` (the mandatory built-in objects have empty uids until
//!   stored). A rejected request gets upstream's plain-text `429 Too many requests, please try
//!   again later.` with `Retry-After` from upstream's dropped-requests tracker (1 s, doubling up to
//!   32 s while a level keeps dropping, decreasing again when it stops).

pub mod config;
pub mod metrics;
pub mod queueset;
pub mod seats;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, StatusCode};

use crate::api::status::ApiError;
use crate::filters::body_guard::drop_with_body;
use crate::filters::timeout::{is_long_running, RequestDeadline};
use crate::registry::store::WatchInitSignal;
use crate::request::info::RequestInfo;
use crate::request::user::UserInfo;

pub use config::FlowControl;
use config::{Classification, Level};
use queueset::{Arrival, RejectReason};

/// The response header naming the matched FlowSchema's uid (`X-Kubernetes-PF-FlowSchema-UID`;
/// header names are sent in lower case).
pub const FLOW_SCHEMA_UID_HEADER: &str = "x-kubernetes-pf-flowschema-uid";
/// The response header naming the matched priority level's uid
/// (`X-Kubernetes-PF-PriorityLevel-UID`).
pub const PRIORITY_LEVEL_UID_HEADER: &str = "x-kubernetes-pf-prioritylevel-uid";
/// The body of upstream's 429 (Go's `http.Error` adds the newline).
const TOO_MANY_REQUESTS: &str = "Too many requests, please try again later.\n";
/// Upstream's cap on any queue wait.
const MAX_WAIT: Duration = Duration::from_secs(60);
/// The longest a watch holds its seats waiting for its initialization signal (upstream's
/// default request timeout; upstream itself waits for the signal or the handler's end).
pub const WATCH_INIT_LIMIT: Duration = Duration::from_secs(60);

/// The filter's state.
#[derive(Debug, Clone)]
pub struct PriorityAndFairness {
    pub control: Arc<FlowControl>,
    /// The wait limit of a request without a deadline (a watch): upstream passes a quarter of
    /// the request timeout.
    pub default_wait_limit: Duration,
}

/// The filter: runs after authentication and impersonation (it needs the user), before
/// authorization.
pub async fn priority_and_fairness(
    State(apf): State<PriorityAndFairness>,
    mut req: Request,
    next: Next,
) -> Response {
    let Some(info) = req.extensions().get::<RequestInfo>() else {
        return ApiError::internal("no RequestInfo found in context").into_response();
    };
    let Some(user) = req.extensions().get::<UserInfo>() else {
        return ApiError::internal("no User found in context").into_response();
    };
    let is_watch = info.verb == "watch";
    if is_long_running(info) && !is_watch {
        return next.run(req).await;
    }
    let class = apf.control.classify(user, info);
    let seats = seats::estimate(info, req.uri().query(), apf.control.counts.get());
    let wait_limit = match req.extensions().get::<RequestDeadline>() {
        Some(deadline) => deadline.remaining() / 4,
        None => apf.default_wait_limit,
    }
    .min(MAX_WAIT);
    let schema = class.flow_schema.clone();
    let level_name = class.level.name.clone();

    let admitted = admit(&apf.control, &class, seats, wait_limit).await;
    let metrics = apf.control.metrics.as_ref();
    let ticket = match admitted {
        Ok((ticket, waited)) => {
            if let Some(m) = metrics {
                m.dispatched(&level_name, &schema, waited.as_secs_f64());
            }
            ticket
        }
        Err((reason, waited)) => {
            if let Some(m) = metrics {
                m.rejected(&level_name, &schema, reason.label());
                if reason == RejectReason::TimeOut {
                    m.not_dispatched(&level_name, &schema, waited.as_secs_f64());
                }
            }
            apf.control.dropped.record(&level_name);
            let retry_after = apf.control.dropped.retry_after(&level_name);
            let mut response = too_many_requests(retry_after);
            set_headers(&mut response, &class);
            return response;
        }
    };
    let executing = metrics.map(|m| m.executing(&level_name, &schema, seats));
    let initialized = is_watch.then(|| {
        let (signal, initialized) = WatchInitSignal::new();
        req.extensions_mut().insert(signal);
        initialized
    });
    let mut response = next.run(req).await;
    set_headers(&mut response, &class);
    if let Some(initialized) = initialized {
        // The stream goes on; its seats are held until the watcher sent the initial events.
        tokio::spawn(async move {
            let _ = tokio::time::timeout(WATCH_INIT_LIMIT, initialized).await;
            drop(executing);
            drop(ticket);
        });
        return response;
    }
    drop_with_body(response, (ticket, executing))
}

/// Waits for the request's turn. `Ok`: it holds its seats in the returned ticket; `Err`: why
/// not. Both with the time spent waiting.
async fn admit(
    control: &FlowControl,
    class: &Classification,
    seats: u32,
    wait_limit: Duration,
) -> Result<(Ticket, Duration), (RejectReason, Duration)> {
    let started = Instant::now();
    let arrival = class.level.lock().queues.arrive(class.flow_hash, seats);
    match arrival {
        Arrival::Dispatched => Ok((
            Ticket::executing(class.level.clone(), None, seats),
            Duration::ZERO,
        )),
        Arrival::Rejected(reason) => Err((reason, Duration::ZERO)),
        Arrival::Queued {
            queue,
            id,
            dispatched,
        } => {
            // Dropping this future (the client went away) cancels the wait through the ticket.
            let mut ticket = Ticket {
                level: class.level.clone(),
                queue: Some(queue),
                id,
                seats,
                state: TicketState::Waiting,
            };
            let _waiting = control
                .metrics
                .as_ref()
                .map(|m| m.waiting(&class.level.name, &class.flow_schema));
            let outcome = tokio::time::timeout(wait_limit, dispatched).await;
            let waited = started.elapsed();
            match outcome {
                Ok(Ok(())) => {
                    ticket.state = TicketState::Executing;
                    return Ok((ticket, waited));
                }
                Ok(Err(_)) => {
                    // Its entry was dropped undispatched (no seats taken).
                    ticket.state = TicketState::Done;
                    return Err((RejectReason::TimeOut, waited));
                }
                Err(_) => {}
            }
            // Timed out: leave the queue, unless dispatched meanwhile.
            let removed = class.level.lock().queues.cancel(queue, id);
            if removed {
                ticket.state = TicketState::Done;
                Err((RejectReason::TimeOut, waited))
            } else {
                ticket.state = TicketState::Executing;
                Ok((ticket, waited))
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TicketState {
    Waiting,
    Executing,
    Done,
}

/// A request's place in its level: cancels the wait or frees the seats when dropped.
#[derive(Debug)]
struct Ticket {
    level: Arc<Level>,
    queue: Option<usize>,
    id: u64,
    seats: u32,
    state: TicketState,
}

impl Ticket {
    fn executing(level: Arc<Level>, queue: Option<usize>, seats: u32) -> Self {
        Self {
            level,
            queue,
            id: 0,
            seats,
            state: TicketState::Executing,
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut state = self.level.lock();
        match self.state {
            TicketState::Done => {}
            TicketState::Executing => state.queues.finish(self.queue, self.seats),
            TicketState::Waiting => {
                let removed = self.queue.is_some_and(|q| state.queues.cancel(q, self.id));
                if !removed {
                    // Dispatched as it was dropped: give the seats back.
                    state.queues.finish(self.queue, self.seats);
                }
            }
        }
    }
}

/// Sets the two classification headers.
fn set_headers(response: &mut Response, class: &Classification) {
    let headers = response.headers_mut();
    for (name, value) in [
        (PRIORITY_LEVEL_UID_HEADER, &class.level_uid),
        (FLOW_SCHEMA_UID_HEADER, &class.flow_schema_uid),
    ] {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    }
}

/// Upstream's `tooManyRequests`: plain text, as Go's `http.Error` writes it.
fn too_many_requests(retry_after: u64) -> Response {
    let mut response = (StatusCode::TOO_MANY_REQUESTS, TOO_MANY_REQUESTS).into_response();
    let headers = response.headers_mut();
    headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// Upstream's `maxRetryAfter`.
const MAX_RETRY_AFTER: u64 = 32;

/// Upstream's `droppedRequestsTracker`: the `Retry-After` of each priority level, from its
/// recent drops (per second, the last [`MAX_RETRY_AFTER`] seconds kept).
#[derive(Debug, Default)]
pub struct DroppedRequests {
    levels: Mutex<HashMap<String, DropStats>>,
}

#[derive(Debug)]
struct DropStats {
    /// `(unix second, drops)`, oldest first; the last entry is the current second.
    history: Vec<(u64, u64)>,
    retry_after: u64,
    raised_at: u64,
}

impl DroppedRequests {
    fn now() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }

    /// Records one drop of `level` now.
    pub fn record(&self, level: &str) {
        self.record_at(level, Self::now());
    }

    /// Records one drop of `level` at unix second `now`.
    pub fn record_at(&self, level: &str, now: u64) {
        let mut levels = self.levels.lock().unwrap_or_else(|p| p.into_inner());
        let stats = levels.entry(level.to_string()).or_insert(DropStats {
            history: Vec::new(),
            retry_after: 1,
            raised_at: 0,
        });
        if let Some(last) = stats.history.last_mut() {
            if last.0 == now {
                last.1 += 1;
                return;
            }
        }
        // A new second: reconsider the delay from the seconds before it.
        stats
            .history
            .retain(|(second, _)| now.saturating_sub(*second) <= MAX_RETRY_AFTER);
        let retry_after = stats.retry_after;
        let dropped: u64 = stats
            .history
            .iter()
            .filter(|(second, _)| now - second <= retry_after && *second < now)
            .map(|(_, count)| count)
            .sum();
        if now.saturating_sub(stats.raised_at) >= retry_after && dropped >= 3 * retry_after {
            stats.retry_after = (retry_after * 2).min(MAX_RETRY_AFTER);
            stats.raised_at = now;
        } else if dropped < retry_after && retry_after > 1 {
            stats.retry_after = retry_after - 1;
        }
        stats.history.push((now, 1));
    }

    /// The `Retry-After` seconds of `level`.
    pub fn retry_after(&self, level: &str) -> u64 {
        let levels = self.levels.lock().unwrap_or_else(|p| p.into_inner());
        levels.get(level).map_or(1, |s| s.retry_after)
    }
}
