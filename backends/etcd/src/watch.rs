//! Watches: one native etcd watch per storage watch, with previous values and progress
//! notifications, resumed transparently when its stream breaks.
//!
//! [`watch`] establishes the etcd watch before returning (so errors and "from now" are settled by
//! the call), then a task forwards etcd's events into a bounded channel the returned stream reads:
//!
//! * **Position**: the task keeps `next`, the lowest revision not yet delivered. It advances past
//!   every delivered event and, on a progress notification, to the notified revision + 1 (etcd
//!   sends those only to a watcher that has been sent everything up to that revision), so a quiet
//!   watch resumes from a recent revision.
//! * **Resume**: when the stream breaks (a member lost, `no leader`, a connection reset) the task
//!   opens a new etcd watch from `next` on the same balanced channel, which reaches another
//!   member; events below `next` are skipped, so every change is delivered exactly once, in order.
//!   It ends the stream with `Unavailable` when no member accepted the watch for
//!   [`request_timeout`](crate::EtcdOptions::request_timeout), and with `Compacted` when `next` was
//!   compacted meanwhile.
//! * **Lag**: the channel holds [`watch_buffer`](crate::EtcdOptions::watch_buffer) etcd responses
//!   (each the events of one or more revisions; a catch-up from an old revision comes in a few large
//!   ones). When a consumer lets it fill, the task stops: the stream yields what it buffered, then
//!   `WatchLagged`. The task never waits for a consumer, so etcd is never slowed by one.
//! * **End**: the task stops when the stream is dropped, cancelling the etcd watch.
//! * **Progress**: periodic progress notifications are forwarded as `Progress`. A progress request
//!   of the store (a change of `Inner::requests`) makes the task send etcd a progress request on
//!   its etcd watch. etcd before the fix of etcd-io/etcd#15220 (3.4.23 among them) may answer it
//!   ahead of events it has already queued for the watcher, so the task asks a second time and
//!   forwards the first answer's revision only once the second answer arrives (the queued events
//!   come first in practice). A watch that starts at or below etcd's revision is caught up by
//!   etcd in the background (every 100 ms), so its first request waits [`SYNC_WAIT`]. Answers to requests never move `next`, so a premature answer cannot
//!   make the task skip an event; an event at or below a forwarded progress ends the stream with
//!   an error instead of breaking the progress rule silently.
//!
//! The server's watch hub already shares one storage watch per resource among all its API
//! watchers, so the backend does not share etcd watches again; every etcd watch is one HTTP/2
//! stream on the store's one gRPC channel.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use apiary_storage::{Error, Event, EventKind, ProgressStream, Result, Revision, WatchItem};
use bytes::Bytes;
use etcd_client::{EventType, WatchOptions};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::call::{one_line, Deadline, Fail, Kind};
use crate::store::Inner;

/// What ends a stream, handed from the task to the consumer after the buffered events.
type EndSlot = Arc<Mutex<Option<Error>>>;

/// An etcd watch that etcd confirmed, or the compacted revision it answered with.
enum Opened {
    /// The stream, and the revision of etcd when it created the watch.
    Stream(Box<etcd_client::WatchStream>, Revision),
    Compacted(Revision),
}

/// The watch id etcd answers a progress request with.
const PROGRESS_ANSWER: i64 = -1;

/// How long after opening a watch that starts in the past a progress request waits, so that
/// etcd has synced the watcher (etcd's sync loop runs every 100 ms).
const SYNC_WAIT: std::time::Duration = std::time::Duration::from_millis(300);

/// Where the task is in asking etcd for progress: each request is answered twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Asking {
    Idle,
    /// The first request is out.
    First,
    /// The second request is out; the first was answered with this revision.
    Confirm(Revision),
}

struct Task {
    inner: Arc<Inner>,
    key: Vec<u8>,
    end: Vec<u8>,
    /// The lowest revision not delivered yet.
    next: Revision,
    tx: mpsc::Sender<Vec<WatchItem>>,
    slot: EndSlot,
    /// The store's progress requests.
    requests: tokio::sync::watch::Receiver<u64>,
    asking: Asking,
    /// When the etcd progress request out now is given up (etcd may not answer it, e.g. after a
    /// resume).
    asked_until: Instant,
    /// A store request is waiting for the next round of etcd requests.
    again: bool,
    /// No round starts before this (see [`SYNC_WAIT`]).
    trust_from: Instant,
    /// An etcd progress request is to be sent before waiting again.
    send: bool,
    /// The last progress forwarded (at first the watch's start): progress never goes below it.
    reported: Revision,
}

pub(crate) async fn watch(
    inner: Arc<Inner>,
    prefix: &[u8],
    after: Revision,
) -> Result<ProgressStream> {
    if after < 0 {
        return Err(Error::InvalidArgument(format!("negative revision {after}")));
    }
    let (key, end) = inner.range_of(prefix)?;
    let compacted = inner.known_compacted();
    if after != 0 && after <= compacted {
        return Err(Error::Compacted {
            requested: after,
            compacted,
        });
    }
    let deadline = Deadline::new(inner.request_timeout);
    let after = match after {
        0 => inner.current(deadline).await?,
        after => after,
    };
    let (tx, rx) = mpsc::channel(inner.watch_buffer);
    let slot = EndSlot::default();
    let requests = inner.requests.subscribe();
    let mut task = Task {
        inner,
        key,
        end,
        next: after + 1,
        tx,
        slot: slot.clone(),
        requests,
        asking: Asking::Idle,
        asked_until: Instant::now(),
        again: false,
        trust_from: Instant::now(),
        send: false,
        reported: after,
    };
    let stream = match task.open(deadline).await {
        Ok(Opened::Stream(stream, created)) => {
            task.created(created);
            stream
        }
        Ok(Opened::Compacted(compacted)) => {
            return Err(Error::Compacted {
                requested: after,
                compacted,
            })
        }
        Err(err) => return Err(err),
    };
    tokio::spawn(task.run(stream));
    let state = Reader {
        rx,
        slot,
        batch: VecDeque::new(),
        done: false,
    };
    Ok(Box::pin(futures::stream::unfold(state, Reader::next)))
}

/// The consumer's side: batches from the task, then the error that ended it.
struct Reader {
    rx: mpsc::Receiver<Vec<WatchItem>>,
    slot: EndSlot,
    batch: VecDeque<WatchItem>,
    done: bool,
}

impl Reader {
    async fn next(mut self) -> Option<(Result<WatchItem>, Self)> {
        loop {
            if let Some(item) = self.batch.pop_front() {
                return Some((Ok(item), self));
            }
            if self.done {
                return None;
            }
            match self.rx.recv().await {
                Some(batch) => self.batch = batch.into(),
                None => {
                    self.done = true;
                    let err = self.slot.lock().ok().and_then(|mut s| s.take());
                    let err = err.unwrap_or_else(|| {
                        Error::Internal("the etcd watch task stopped unexpectedly".into())
                    });
                    return Some((Err(err), self));
                }
            }
        }
    }
}

impl Task {
    /// Opens an etcd watch from `next` and waits for etcd to confirm it, retrying until `deadline`.
    async fn open(&self, deadline: Deadline) -> Result<Opened> {
        let done = self
            .inner
            .retry(Kind::Read, deadline, || {
                let mut client = self.inner.watch_client.clone();
                let opts = WatchOptions::new()
                    .with_range(self.end.clone())
                    .with_start_revision(self.next)
                    .with_prev_key()
                    .with_progress_notify();
                let key = self.key.clone();
                async move {
                    let mut stream = client.watch(key, Some(opts)).await?;
                    match stream.message().await? {
                        Some(resp) if resp.compact_revision() > 0 => {
                            Ok(Opened::Compacted(resp.compact_revision()))
                        }
                        Some(resp) if resp.created() && !resp.canceled() => {
                            let created = resp.header().map_or(0, |h| h.revision());
                            Ok(Opened::Stream(Box::new(stream), created))
                        }
                        Some(resp) => Err(etcd_client::Error::WatchError(format!(
                            "etcd refused the watch: {}",
                            resp.cancel_reason()
                        ))),
                        None => Err(etcd_client::Error::WatchError(
                            "the watch stream closed".into(),
                        )),
                    }
                }
            })
            .await;
        match done {
            Ok(done) => {
                if let Opened::Compacted(rev) = done.value {
                    self.inner.note_compacted(rev);
                }
                Ok(done.value)
            }
            Err(Fail::Compacted) => Err(Error::Compacted {
                requested: self.next - 1,
                compacted: self.inner.known_compacted().max(self.next),
            }),
            Err(Fail::Fatal(err)) => Err(err),
            Err(fail) => Err(Error::Unavailable(format!("{fail:?}"))),
        }
    }

    /// Ends the stream with `err` after the events already buffered.
    fn finish(&self, err: Error) {
        if let Ok(mut slot) = self.slot.lock() {
            slot.get_or_insert(err);
        }
    }

    /// Notes that etcd created the watch (from `next`) at its revision `created`: a start at or
    /// below it leaves the watcher to etcd's background sync for a while.
    fn created(&mut self, created: Revision) {
        let now = Instant::now();
        self.trust_from = if self.next <= created {
            now + SYNC_WAIT
        } else {
            now
        };
    }

    async fn run(mut self, mut stream: Box<etcd_client::WatchStream>) {
        loop {
            if self.asking == Asking::Idle && self.again && Instant::now() >= self.trust_from {
                self.again = false;
                self.asking = Asking::First;
                self.send = true;
            }
            let mut broke = None;
            if self.send {
                self.send = false;
                self.asked_until = Instant::now() + self.inner.request_timeout;
                if let Err(err) = stream.request_progress().await {
                    broke = Some(one_line(&err.to_string()));
                }
            }
            if broke.is_none() {
                let asking = self.asking != Asking::Idle;
                // A request waits for `trust_from`.
                let waiting = self.asking == Asking::Idle && self.again;
                let message = tokio::select! {
                    _ = self.tx.closed() => return,
                    Ok(()) = self.requests.changed() => {
                        self.again = true;
                        continue;
                    }
                    _ = tokio::time::sleep_until(self.asked_until), if asking => {
                        // Unanswered: the round is given up; a waiting request starts another.
                        self.asking = Asking::Idle;
                        continue;
                    }
                    _ = tokio::time::sleep_until(self.trust_from), if waiting => continue,
                    message = stream.message() => message,
                };
                broke = match message {
                    Ok(Some(resp)) => match self.deliver(&resp) {
                        Ok(true) => None,
                        Ok(false) => return,
                        Err(why) => Some(why),
                    },
                    Ok(None) => Some("the watch stream ended".to_string()),
                    Err(err) => Some(one_line(&err.to_string())),
                };
            }
            let Some(why) = broke else { continue };
            tracing::debug!(%why, next = self.next, "etcd watch broke; resuming");
            if self.asking != Asking::Idle {
                // The resumed etcd watch will not answer requests sent on the old one.
                self.asking = Asking::Idle;
                self.again = true;
            }
            drop(stream);
            match self.open(Deadline::new(self.inner.request_timeout)).await {
                Ok(Opened::Stream(resumed, created)) => {
                    self.created(created);
                    stream = resumed;
                }
                Ok(Opened::Compacted(compacted)) => {
                    return self.finish(Error::Compacted {
                        requested: self.next - 1,
                        compacted,
                    })
                }
                Err(Error::Unavailable(msg) | Error::Timeout(msg)) => {
                    return self.finish(Error::Unavailable(format!(
                        "the etcd watch broke ({why}) and could not be resumed: {msg}"
                    )))
                }
                Err(err) => return self.finish(err),
            }
        }
    }

    /// Forwards one etcd response. `Ok(false)`: the stream is over (ended with an error, or its
    /// consumer is gone); `Err`: the etcd watch must be resumed.
    fn deliver(&mut self, resp: &etcd_client::WatchResponse) -> Result<bool, String> {
        if resp.compact_revision() > 0 {
            self.inner.note_compacted(resp.compact_revision());
            self.finish(Error::Compacted {
                requested: self.next - 1,
                compacted: resp.compact_revision(),
            });
            return Ok(false);
        }
        if resp.canceled() {
            return Err(format!(
                "etcd cancelled the watch: {}",
                resp.cancel_reason()
            ));
        }
        let events = resp.events();
        if events.is_empty() {
            if resp.created() {
                return Ok(true);
            }
            let Some(revision) = resp.header().map(|h| h.revision()) else {
                return Ok(true);
            };
            if resp.watch_id() != PROGRESS_ANSWER {
                // A periodic progress notification: everything up to its revision was sent.
                self.next = self.next.max(revision + 1);
                return Ok(self.forward(revision));
            }
            return Ok(match self.asking {
                Asking::First => {
                    self.asking = Asking::Confirm(revision);
                    self.send = true;
                    true
                }
                Asking::Confirm(first) => {
                    self.asking = Asking::Idle;
                    self.forward(first)
                }
                // The answer to a round given up.
                Asking::Idle => true,
            });
        }
        let mut batch = Vec::with_capacity(events.len());
        for event in events {
            let Some(kv) = event.kv() else { continue };
            if kv.mod_revision() < self.next {
                continue;
            }
            if kv.mod_revision() <= self.reported {
                self.finish(Error::Internal(format!(
                    "etcd sent the event at revision {} after reporting progress at {} \
                     (etcd-io/etcd#15220: upgrade etcd)",
                    kv.mod_revision(),
                    self.reported
                )));
                return Ok(false);
            }
            match self.convert(event) {
                Ok(event) => batch.push(event),
                Err(err) => {
                    self.finish(err);
                    return Ok(false);
                }
            }
        }
        let Some(last) = batch.last().map(|e| e.revision) else {
            return Ok(true);
        };
        let batch = batch.into_iter().map(WatchItem::Event).collect();
        match self.tx.try_send(batch) {
            Ok(()) => {
                self.next = last + 1;
                Ok(true)
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.finish(Error::WatchLagged);
                Ok(false)
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Ok(false),
        }
    }

    /// Forwards `Progress(revision)` unless below what was reported; `false`: the consumer is
    /// gone. A full buffer drops it (the consumer, far behind, learns its position later).
    fn forward(&mut self, revision: Revision) -> bool {
        if revision < self.reported {
            return true;
        }
        match self.tx.try_send(vec![WatchItem::Progress(revision)]) {
            Ok(()) => {
                self.reported = revision;
                true
            }
            Err(mpsc::error::TrySendError::Full(_)) => true,
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    fn convert(&self, event: &etcd_client::Event) -> Result<Event> {
        let kv = event
            .kv()
            .ok_or_else(|| Error::Internal("etcd event without a key".into()))?;
        let key = self.inner.to_store(kv.key())?;
        let prev = event.prev_kv();
        let prev_value = prev.map(|p| Bytes::copy_from_slice(p.value()));
        Ok(match event.event_type() {
            EventType::Put if kv.create_revision() == kv.mod_revision() => Event {
                kind: EventKind::Create,
                key,
                revision: kv.mod_revision(),
                value: Bytes::copy_from_slice(kv.value()),
                prev_value: None,
                create_revision: kv.create_revision(),
            },
            EventType::Put => Event {
                kind: EventKind::Update,
                key,
                revision: kv.mod_revision(),
                value: Bytes::copy_from_slice(kv.value()),
                prev_value,
                create_revision: kv.create_revision(),
            },
            EventType::Delete => Event {
                kind: EventKind::Delete,
                key,
                revision: kv.mod_revision(),
                value: prev_value.clone().unwrap_or_default(),
                prev_value,
                create_revision: prev.map_or(0, |p| p.create_revision()),
            },
        })
    }
}
