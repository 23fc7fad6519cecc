//! One storage call against etcd: a deadline, retries of transient failures, and the mapping of
//! etcd's errors.
//!
//! # Retries
//!
//! Every storage call gets [`request_timeout`](crate::EtcdOptions::request_timeout). Inside it each
//! attempt is bounded by a third of it (at least one second, at most what is left), so one attempt
//! stuck on a member that lost its leader (etcd keeps such a request until its own timeout) leaves
//! time for another on a healthy member; only a list, which may legitimately take long, gives its
//! first attempt the whole budget. Transient
//! failures — the connection refused or broken, `no leader`, `leader changed`, `request timed out`,
//! `too many requests` — are retried with a short exponential backoff; the balanced gRPC channel
//! spreads the attempts over the endpoints. When the deadline passes the call fails with `Timeout`
//! when the last attempt timed out or a write may have been applied, else with `Unavailable`.
//!
//! # Writes whose first attempt failed ambiguously
//!
//! A write that failed after it may have reached etcd (a broken connection, a timeout) is retried
//! with the *same* guarded transaction, so at most one of the attempts applies: once a later attempt
//! is applied, raft has settled the fate of the earlier ones (an earlier proposal is either
//! committed before it or never). If the retry succeeds, the first attempt did not apply. If the
//! retry's guard fails, the write either applied in an earlier attempt or lost to another writer;
//! the store then reads the key's history from etcd (a one-off watch from the guard's revision) to
//! tell which: the first change after `expected` is ours when it is the update (or delete) carrying
//! our bytes. When the history needed is gone (compacted) or unreachable, the call fails with
//! `Timeout` ("outcome unknown") rather than guessing. Identical bytes from two writers are taken
//! as the same write; Apiary's values carry a fresh uid and timestamps, so this does not happen in
//! practice, and if it did both writers asked for the same state.

use std::future::Future;
use std::time::{Duration, Instant};

use apiary_storage::{Error, Revision};
use etcd_client::{EventType, WatchOptions};

use crate::store::Inner;

// gRPC status codes (tonic's `Code` as i32), to avoid depending on tonic directly.
const CANCELLED: i32 = 1;
const UNKNOWN: i32 = 2;
const INVALID_ARGUMENT: i32 = 3;
const DEADLINE_EXCEEDED: i32 = 4;
const RESOURCE_EXHAUSTED: i32 = 8;
const ABORTED: i32 = 10;
const OUT_OF_RANGE: i32 = 11;
const UNAVAILABLE: i32 = 14;

/// Why one attempt failed.
#[derive(Debug, Clone)]
pub(crate) enum Fail {
    /// Worth retrying. `sent`: the request may have reached etcd, so a write's outcome is unknown.
    /// `timeout`: the failure was a timeout.
    Retry {
        msg: String,
        sent: bool,
        timeout: bool,
    },
    /// etcd: the requested revision has been compacted.
    Compacted,
    /// etcd: the requested revision is in the future.
    Future,
    /// Final.
    Fatal(Error),
}

impl Fail {
    /// The storage error, where no revision was asked for (so neither `Compacted` nor `Future`
    /// can arise).
    pub(crate) fn into_error(self) -> Error {
        match self {
            Fail::Fatal(err) => err,
            Fail::Retry { msg, .. } => Error::Unavailable(msg),
            Fail::Compacted => Error::Internal("etcd: unexpected compacted revision".into()),
            Fail::Future => Error::Internal("etcd: unexpected future revision".into()),
        }
    }
}

/// Maps an etcd client error to what the store does about it.
pub(crate) fn classify(err: etcd_client::Error) -> Fail {
    use etcd_client::Error as E;
    let status = match err {
        E::GRpcStatus(status) => status,
        E::TransportError(e) => {
            return Fail::Retry {
                msg: one_line(&e.to_string()),
                sent: false,
                timeout: false,
            }
        }
        E::IoError(e) => {
            return Fail::Retry {
                msg: one_line(&e.to_string()),
                sent: true,
                timeout: false,
            }
        }
        E::WatchError(e) => {
            return Fail::Retry {
                msg: one_line(&e),
                sent: true,
                timeout: false,
            }
        }
        E::InvalidArgs(e) => return Fail::Fatal(Error::InvalidArgument(e)),
        other => return Fail::Fatal(Error::Internal(one_line(&other.to_string()))),
    };
    let code = i32::from(status.code());
    let msg = one_line(status.message());
    if msg.contains("required revision has been compacted") {
        return Fail::Compacted;
    }
    if msg.contains("required revision is a future revision") {
        return Fail::Future;
    }
    if msg.contains("database space exceeded") {
        return Fail::Fatal(Error::Unavailable(msg));
    }
    // Refused before anything was proposed: nothing can have been applied.
    let unsent = msg.contains("no leader")
        || msg.contains("too many requests")
        || msg.contains("unhealthy cluster")
        || msg.contains("not capable")
        || msg.contains("connect")
        || msg.contains("Connection refused")
        || msg.contains("dns error");
    let timeout = code == DEADLINE_EXCEEDED || msg.contains("timed out");
    match code {
        UNAVAILABLE | UNKNOWN | CANCELLED | DEADLINE_EXCEEDED | ABORTED => Fail::Retry {
            msg,
            sent: !unsent,
            timeout,
        },
        RESOURCE_EXHAUSTED if msg.contains("too many requests") => Fail::Retry {
            msg,
            sent: false,
            timeout: false,
        },
        INVALID_ARGUMENT => Fail::Fatal(Error::InvalidArgument(msg)),
        OUT_OF_RANGE => Fail::Fatal(Error::InvalidArgument(msg)),
        _ => Fail::Fatal(Error::Internal(format!("etcd: {msg}"))),
    }
}

/// `s` with line breaks replaced, for one-line messages.
pub(crate) fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

/// Whether a storage call only reads (retried freely, `Unavailable` when nothing answered) or
/// writes (an attempt that may have been applied makes the final error `Timeout`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Read,
    Write,
}

/// A successful call: the value, and whether an earlier attempt failed after it may have reached
/// etcd (for a write: it may have been applied).
pub(crate) struct Done<T> {
    pub value: T,
    pub ambiguous: bool,
}

/// The call's time budget.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline {
    end: Instant,
    attempt: Duration,
}

impl Deadline {
    pub(crate) fn new(request_timeout: Duration) -> Self {
        Self {
            end: Instant::now() + request_timeout,
            attempt: (request_timeout / 3).max(Duration::from_secs(1)),
        }
    }

    /// A deadline whose first attempt may use all of it (for a list, which may legitimately take
    /// long).
    pub(crate) fn whole(request_timeout: Duration) -> Self {
        Self {
            end: Instant::now() + request_timeout,
            attempt: request_timeout,
        }
    }

    /// What is left.
    pub(crate) fn remaining(&self) -> Duration {
        self.end.saturating_duration_since(Instant::now())
    }

    /// The budget of the next attempt.
    fn attempt(&self) -> Duration {
        self.remaining().min(self.attempt)
    }
}

/// The first backoff between attempts; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(20);
const MAX_BACKOFF: Duration = Duration::from_millis(500);

impl Inner {
    /// Runs `op` until it succeeds, fails for good, or the deadline passes.
    pub(crate) async fn retry<T, F, Fut>(
        &self,
        kind: Kind,
        deadline: Deadline,
        mut op: F,
    ) -> Result<Done<T>, Fail>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, etcd_client::Error>>,
    {
        let mut backoff = FIRST_BACKOFF;
        let mut ambiguous = false;
        loop {
            let budget = deadline.attempt();
            let fail = match tokio::time::timeout(budget, op()).await {
                Ok(Ok(value)) => return Ok(Done { value, ambiguous }),
                Ok(Err(err)) => classify(err),
                Err(_) => Fail::Retry {
                    msg: format!("no answer within {budget:?}"),
                    sent: true,
                    timeout: true,
                },
            };
            let Fail::Retry { msg, sent, timeout } = fail else {
                return Err(fail);
            };
            ambiguous |= sent;
            if deadline.remaining() <= backoff {
                let why = format!(
                    "etcd did not answer within {:?}: {msg}",
                    self.request_timeout
                );
                return Err(Fail::Fatal(match kind {
                    Kind::Write if ambiguous => {
                        Error::Timeout(format!("{why} (the write's outcome is unknown)"))
                    }
                    _ if timeout => Error::Timeout(why),
                    _ => Error::Unavailable(why),
                }));
            }
            tracing::debug!(%msg, ?backoff, "etcd call failed; retrying");
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// The changes of one etcd key with revisions above `after`, read from etcd's history with a
    /// one-off watch: until the first change when `until == 0`, else until the first change at or
    /// above `until`. Fails (with `Timeout`, the caller's outcome being unknown) when the history is
    /// compacted or etcd does not answer in time.
    pub(crate) async fn key_history(
        &self,
        key: &[u8],
        after: Revision,
        until: Revision,
        deadline: Deadline,
    ) -> Result<Vec<etcd_client::Event>, Error> {
        let unknown =
            |why: String| Error::Timeout(format!("the write's outcome is unknown: {why}"));
        let opts = WatchOptions::new()
            .with_start_revision(after + 1)
            .with_prev_key();
        let mut client = self.watch_client.clone();
        let read = async {
            let mut stream = client
                .watch(key.to_vec(), Some(opts))
                .await
                .map_err(|e| unknown(one_line(&e.to_string())))?;
            let mut events = Vec::new();
            loop {
                let resp = match stream.message().await {
                    Ok(Some(resp)) => resp,
                    Ok(None) => return Err(unknown("the history watch ended".into())),
                    Err(e) => return Err(unknown(one_line(&e.to_string()))),
                };
                if resp.compact_revision() > 0 {
                    self.note_compacted(resp.compact_revision());
                    return Err(unknown(format!(
                        "its history was compacted at revision {}",
                        resp.compact_revision()
                    )));
                }
                if resp.canceled() {
                    return Err(unknown(resp.cancel_reason().to_string()));
                }
                for event in resp.events() {
                    let rev = event.kv().map_or(0, |kv| kv.mod_revision());
                    events.push(event.clone());
                    if until == 0 || rev >= until {
                        return Ok(events);
                    }
                }
            }
        };
        match tokio::time::timeout(deadline.remaining(), read).await {
            Ok(result) => result,
            Err(_) => Err(unknown("reading its history timed out".into())),
        }
    }
}

/// Whether `event` is a put of `value` (and, when `create`, the put that created the key).
pub(crate) fn is_put_of(event: &etcd_client::Event, value: &[u8], create: bool) -> bool {
    event.event_type() == EventType::Put
        && event.kv().is_some_and(|kv| {
            kv.value() == value && (!create || kv.create_revision() == kv.mod_revision())
        })
}
