//! One API watcher: a task that turns its subscription into the events of one client, filtered
//! and shaped as upstream's `cacheWatcher`.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use apiary_storage::{EventKind, Storage, WatchStream};
use futures::StreamExt;
use serde_json::{json, Value};

use crate::registry::conversion::ConverterHandle;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio_stream::wrappers::ReceiverStream;

use super::event::{CacheEvent, CacheMessage};
use super::init::WatchInitSignal;
use super::state::Shared;
use super::watch::watch_error;
use super::{WatchEvent, WatchEventType, WatchEvents, WatchObject};
use crate::api::status::ApiError;
use crate::catalog::ResourceInfo;
use crate::registry::keys::KeyLayout;
use crate::registry::selectors::Selection;

/// The annotation of the BOOKMARK that ends the initial events of `sendInitialEvents=true`.
pub const INITIAL_EVENTS_END_ANNOTATION: &str = "k8s.io/initial-events-end";

/// How many events may wait between the watcher task and the client's consumer.
const OUTBOX: usize = 64;

/// How long an event may wait for room in a full outbox before the watcher is ended: upstream's
/// cacher blocks on an unresponsive watcher for at most its dispatch budget (100 ms), then closes
/// it ("Forcing watcher close due to unresponsiveness"). Here its stream then ends with the
/// ERROR of a watcher that fell behind (410), after the events already queued, so the drop is
/// never silent.
const UNRESPONSIVE_AFTER: Duration = Duration::from_millis(100);

/// Where a watcher's events come from.
pub(crate) enum Subscription {
    /// The cache: the ring's events after the start revision, then the broadcast.
    Cache {
        backlog: VecDeque<Arc<CacheEvent>>,
        live: broadcast::Receiver<CacheMessage>,
        shared: Arc<Shared>,
        /// Asked for progress by bookmarks, so they move on a quiet resource.
        storage: Arc<dyn Storage>,
    },
    /// A watcher's own storage watch, for a start revision older than the ring.
    Direct(WatchStream),
}

/// Everything one watcher needs to know.
pub(crate) struct WatcherPlan {
    pub info: Arc<ResourceInfo>,
    /// The store's converter, for events read straight from storage.
    pub converter: Option<ConverterHandle>,
    pub layout: KeyLayout,
    /// Only this namespace's objects (namespaced resources only).
    pub namespace: Option<String>,
    pub selection: Selection,
    /// Events at or below this revision are not sent (the initial state covers them).
    pub start: i64,
    /// Synthetic ADDED objects sent first, when `selection` selects them.
    pub initial: Vec<Arc<WatchObject>>,
    /// Send the `k8s.io/initial-events-end` BOOKMARK after the initial objects.
    pub initial_events_end: bool,
    /// Send periodic BOOKMARKs.
    pub bookmarks: bool,
    pub bookmark_interval: Duration,
    /// End the watch after this long.
    pub timeout: Option<Duration>,
    /// Fired once the initial events are sent (priority and fairness's watch init signal).
    pub init: Option<WatchInitSignal>,
}

impl WatcherPlan {
    fn bookmark(&self, revision: i64, initial_events_end: bool) -> WatchEvent {
        let mut metadata = json!({"resourceVersion": revision.to_string()});
        if initial_events_end {
            metadata["annotations"] = json!({INITIAL_EVENTS_END_ANNOTATION: "true"});
        }
        WatchEvent::new(
            WatchEventType::Bookmark,
            json!({"kind": self.info.kind, "apiVersion": self.info.api_version(), "metadata": metadata}),
        )
    }

    fn in_scope(&self, key: &[u8]) -> bool {
        match &self.namespace {
            Some(ns) => self.layout.namespace_of(key) == Some(ns.as_str()),
            None => true,
        }
    }

    /// The event this watcher sends for `event`, if any (upstream's selector transitions).
    fn convert(&self, event: &CacheEvent) -> Option<WatchEvent> {
        if event.revision <= self.start || !self.in_scope(&event.key) {
            return None;
        }
        let everything = self.selection.is_everything();
        let passes = |obj: &WatchObject| everything || self.selection.matches(obj.value());
        // The change as it is shares its frames with every watcher; a selector transition
        // (an update seen as ADDED, or as DELETED of the previous state) is this watcher's own.
        let own =
            |event_type, object: &Arc<WatchObject>| WatchEvent::of(event_type, object.clone());
        match event.kind {
            EventKind::Create | EventKind::Delete => passes(&event.object).then(|| event.shared()),
            EventKind::Update if everything => Some(event.shared()),
            EventKind::Update => {
                let now = passes(&event.object);
                let before = event.prev().filter(|prev| passes(prev));
                match (before, now) {
                    (Some(_), true) => Some(event.shared()),
                    (None, true) => Some(own(WatchEventType::Added, &event.object)),
                    (Some(prev), false) => Some(own(WatchEventType::Deleted, prev)),
                    (None, false) => None,
                }
            }
        }
    }
}

fn error_event(err: &ApiError) -> WatchEvent {
    WatchEvent::new(
        WatchEventType::Error,
        serde_json::to_value(&err.status).unwrap_or(Value::Null),
    )
}

/// A watch whose only event is the ERROR of `err` (upstream's `newErrWatcher`).
pub(crate) fn error_stream(err: &ApiError) -> WatchEvents {
    Box::pin(futures::stream::iter([error_event(err)]))
}

/// Sends a live event; false when the client is gone or has not made room within
/// [`UNRESPONSIVE_AFTER`] (then `tx` is still open), and the watcher must end.
async fn deliver(tx: &mpsc::Sender<WatchEvent>, event: WatchEvent) -> bool {
    match tokio::time::timeout(UNRESPONSIVE_AFTER, tx.send(event)).await {
        Ok(sent) => sent.is_ok(),
        Err(_) => false,
    }
}

/// Starts the watcher task and answers the client's stream: the outbox's events, then the
/// event the task left last (its ERROR), if any.
pub(crate) fn spawn(plan: WatcherPlan, subscription: Subscription) -> WatchEvents {
    let (tx, rx) = mpsc::channel(OUTBOX);
    let (last_tx, last_rx) = oneshot::channel();
    tokio::spawn(run(plan, subscription, tx, last_tx));
    let last = futures::stream::once(last_rx).filter_map(|sent| futures::future::ready(sent.ok()));
    Box::pin(ReceiverStream::new(rx).chain(last))
}

/// The next message of a subscription; `None` when it ended.
enum Next {
    Event(Arc<CacheEvent>),
    Failed(ApiError),
    Ended,
}

async fn next(
    subscription: &mut Subscription,
    info: &Arc<ResourceInfo>,
    converter: Option<&ConverterHandle>,
) -> Next {
    let resource = &info.group_resource();
    match subscription {
        Subscription::Cache { backlog, live, .. } => {
            if let Some(event) = backlog.pop_front() {
                return Next::Event(event);
            }
            match live.recv().await {
                Ok(CacheMessage::Event(event)) => Next::Event(event),
                Ok(CacheMessage::Failed(err)) => Next::Failed(err),
                Err(broadcast::error::RecvError::Lagged(_)) => Next::Failed(
                    ApiError::from_storage(apiary_storage::Error::WatchLagged, resource, ""),
                ),
                Err(broadcast::error::RecvError::Closed) => Next::Ended,
            }
        }
        Subscription::Direct(stream) => match stream.next().await {
            Some(Ok(event)) => match CacheEvent::decode(info, event, converter).await {
                Ok(event) => Next::Event(Arc::new(event)),
                Err(err) => Next::Failed(err),
            },
            Some(Err(err)) => Next::Failed(watch_error(err, resource)),
            None => Next::Ended,
        },
    }
}

async fn run(
    mut plan: WatcherPlan,
    mut subscription: Subscription,
    tx: mpsc::Sender<WatchEvent>,
    last: oneshot::Sender<WatchEvent>,
) {
    let deadline = tokio::time::sleep(plan.timeout.unwrap_or(Duration::from_secs(365 * 24 * 3600)));
    tokio::pin!(deadline);

    let everything = plan.selection.is_everything();
    for (i, object) in std::mem::take(&mut plan.initial).into_iter().enumerate() {
        if i % 1024 == 1023 {
            // A large initial state: let other tasks run between the selector checks.
            tokio::task::yield_now().await;
        }
        if !everything && !plan.selection.matches(object.value()) {
            continue;
        }
        let event = WatchEvent::of(WatchEventType::Added, object);
        if tx.send(event).await.is_err() {
            return;
        }
    }
    if plan.initial_events_end && tx.send(plan.bookmark(plan.start, true)).await.is_err() {
        return;
    }
    // Sent (into the outbox, as upstream's cacheWatcher signals before its sends reach the
    // client): the watch's seats may go.
    if let Some(init) = plan.init.take() {
        init.signal();
    }

    let mut seen = plan.start;
    let mut ticker = tokio::time::interval_at(
        tokio::time::Instant::now() + plan.bookmark_interval,
        plan.bookmark_interval.max(Duration::from_millis(1)),
    );
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tx.closed() => return,
            _ = &mut deadline => return,
            _ = ticker.tick(), if plan.bookmarks => {
                // With nothing queued after reading the cache revision, the watcher has seen
                // every event up to it: the feed sends each event under the lock that guards
                // the revision.
                if let Subscription::Cache { backlog, live, shared, storage } = &subscription {
                    let revision = shared.revision();
                    if backlog.is_empty() && live.is_empty() {
                        seen = seen.max(revision);
                    }
                    if shared.progress_request_due(plan.bookmark_interval) {
                        // Answered in the stream: the next bookmark carries it.
                        let storage = storage.clone();
                        tokio::spawn(async move {
                            let _ = storage.request_progress().await;
                        });
                    }
                }
                // As upstream, a bookmark never waits: it is skipped while the outbox is full.
                if let Err(mpsc::error::TrySendError::Closed(_)) =
                    tx.try_send(plan.bookmark(seen, false))
                {
                    return;
                }
            }
            message = next(&mut subscription, &plan.info, plan.converter.as_ref()) => match message {
                Next::Event(event) => {
                    seen = seen.max(event.revision);
                    if let Some(out) = plan.convert(&event) {
                        if !deliver(&tx, out).await {
                            if !tx.is_closed() {
                                let resource = plan.info.group_resource();
                                tracing::info!(
                                    resource = %resource,
                                    "forcing watcher close due to unresponsiveness: its outbox stayed full"
                                );
                                let lagged = apiary_storage::Error::WatchLagged;
                                let err = ApiError::from_storage(lagged, &resource, "");
                                let _ = last.send(error_event(&err));
                            }
                            return;
                        }
                    }
                }
                Next::Failed(err) => {
                    // After the queued events, without waiting for room.
                    let _ = last.send(error_event(&err));
                    return;
                }
                Next::Ended => return,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> WatchEvent {
        WatchEvent::new(WatchEventType::Bookmark, json!({"metadata": {}}))
    }

    #[tokio::test]
    async fn a_watcher_whose_client_does_not_read_is_ended() {
        let (tx, mut rx) = mpsc::channel(1);
        assert!(deliver(&tx, event()).await);
        // Full and never read: given up after the budget, not waited on forever.
        let started = std::time::Instant::now();
        let sent = tokio::time::timeout(Duration::from_secs(5), deliver(&tx, event()))
            .await
            .expect("deliver must give up on a full outbox");
        assert!(!sent);
        assert!(started.elapsed() >= UNRESPONSIVE_AFTER);
        // A client that makes room in time keeps its watch.
        let reader = tokio::spawn(async move {
            tokio::time::sleep(UNRESPONSIVE_AFTER / 4).await;
            let first = rx.recv().await;
            (first.is_some(), rx)
        });
        assert!(deliver(&tx, event()).await);
        let (read, mut rx) = reader.await.expect("reader");
        assert!(read);
        assert!(rx.recv().await.is_some());
        // A client that is gone ends the watcher at once.
        drop(rx);
        assert!(!deliver(&tx, event()).await);
    }
}
