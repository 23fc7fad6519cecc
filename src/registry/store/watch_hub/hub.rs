//! The hub: the one storage watch of a resource, its ring of recent events and the broadcast to
//! API watchers.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, OnceLock};

use apiary_storage::{Error as StorageError, Event, EventKind, ListRequest, Storage, WatchStream};
use bytes::Bytes;
use futures::StreamExt;
use serde_json::Value;
use tokio::sync::broadcast;

use super::watcher::{self, WatcherPlan};
use super::{WatchEvents, WatchObject};
use crate::api::status::{ApiError, ApiResult};
use crate::catalog::ResourceInfo;
use crate::registry::conversion::ConverterHandle;
use crate::registry::keys::KeyLayout;
use crate::registry::options::{ListOptions, ResourceVersionMatch};
use crate::registry::selectors::Selection;
use crate::registry::store::{
    decode_converted, decode_value, parse_resource_version, too_large_resource_version, StoreConfig,
};

/// One storage event, decoded once and shared by every watcher.
#[derive(Debug)]
pub(crate) struct HubEvent {
    /// The resource (at the version served) the event is decoded for.
    info: Arc<ResourceInfo>,
    pub kind: EventKind,
    pub revision: i64,
    pub key: Vec<u8>,
    /// The object after the change; for a delete, the deleted object. Its resourceVersion is the
    /// event's revision.
    pub object: Arc<WatchObject>,
    prev_bytes: Option<Bytes>,
    prev: OnceLock<Option<Arc<WatchObject>>>,
    /// The stored bytes the event carried (object and previous state): what the history's
    /// byte bound counts.
    stored_size: usize,
}

impl HubEvent {
    /// Decodes a storage event (resourceVersion = the event's revision).
    /// Objects go through `converter` when the store has one; the previous state is then
    /// converted at once (a conversion is a call that cannot wait for first use).
    pub async fn decode(
        info: &Arc<ResourceInfo>,
        event: Event,
        converter: Option<&ConverterHandle>,
    ) -> ApiResult<Self> {
        let stored_size = event.value.len() + event.prev_value.as_ref().map_or(0, |p| p.len());
        let source = match event.kind {
            EventKind::Delete => event.prev_value.as_ref().unwrap_or(&event.value),
            _ => &event.value,
        };
        let object = Arc::new(WatchObject::new(
            decode_converted(info, converter, source, event.revision).await?,
        ));
        let (prev_bytes, prev) = match (event.kind, event.prev_value) {
            // For a delete the previous state is the object itself.
            (EventKind::Delete, _) => (None, OnceLock::from(Some(object.clone()))),
            (_, Some(bytes)) if converter.is_some() => {
                let prev = decode_converted(info, converter, &bytes, event.revision).await?;
                (None, OnceLock::from(Some(Arc::new(WatchObject::new(prev)))))
            }
            (_, prev_value) => (prev_value, OnceLock::new()),
        };
        Ok(Self {
            info: info.clone(),
            kind: event.kind,
            revision: event.revision,
            key: event.key,
            object,
            prev_bytes,
            prev,
            stored_size,
        })
    }

    /// The state before the change (with the event's resourceVersion, as upstream sends it in a
    /// DELETED event of an object leaving a selection); decoded on first use.
    pub fn prev(&self) -> Option<&Arc<WatchObject>> {
        self.prev
            .get_or_init(|| {
                let bytes = self.prev_bytes.as_ref()?;
                decode_value(&self.info, bytes, self.revision)
                    .ok()
                    .map(|v| Arc::new(WatchObject::new(v)))
            })
            .as_ref()
    }
}

/// What the broadcast carries.
#[derive(Debug, Clone)]
pub(crate) enum HubMessage {
    Event(Arc<HubEvent>),
    /// The storage watch failed; every watcher ends with this error.
    Failed(ApiError),
}

/// Where a watcher's events come from.
pub(crate) enum Subscription {
    /// The shared watch: the buffered events after the start revision, then the broadcast.
    Hub {
        backlog: VecDeque<Arc<HubEvent>>,
        live: broadcast::Receiver<HubMessage>,
        hub: Arc<HubShared>,
    },
    /// A watcher's own storage watch, for a start revision older than the ring.
    Direct(WatchStream),
}

#[derive(Default)]
struct HubState {
    sender: Option<broadcast::Sender<HubMessage>>,
    /// Every event with a revision above this one is in `history`.
    window_start: i64,
    history: VecDeque<Arc<HubEvent>>,
    /// The stored bytes of the events in `history`.
    history_bytes: usize,
    /// The revision up to which every event has been broadcast.
    progress: i64,
}

/// The state shared between the hub, its pump task and the watchers.
pub(crate) struct HubShared {
    state: Mutex<HubState>,
}

impl HubShared {
    fn lock(&self) -> std::sync::MutexGuard<'_, HubState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The revision up to which every event of the resource has been broadcast.
    pub fn progress(&self) -> i64 {
        self.lock().progress
    }
}

/// The shared watch of one resource.
pub(crate) struct WatchHub {
    info: Arc<ResourceInfo>,
    storage: Arc<dyn Storage>,
    layout: KeyLayout,
    config: StoreConfig,
    shared: Arc<HubShared>,
    /// Serialises starts of the storage watch.
    start_lock: tokio::sync::Mutex<()>,
}

impl WatchHub {
    pub fn new(
        info: Arc<ResourceInfo>,
        storage: Arc<dyn Storage>,
        layout: KeyLayout,
        config: StoreConfig,
    ) -> Self {
        Self {
            info,
            storage,
            layout,
            config,
            shared: Arc::new(HubShared {
                state: Mutex::new(HubState::default()),
            }),
            start_lock: tokio::sync::Mutex::new(()),
        }
    }

    fn storage_error(&self, err: StorageError) -> ApiError {
        ApiError::from_storage(err, &self.info.group_resource(), "")
    }

    /// Starts the storage watch unless it runs.
    async fn ensure_started(&self) -> ApiResult<()> {
        if self.shared.lock().sender.is_some() {
            return Ok(());
        }
        let _guard = self.start_lock.lock().await;
        if self.shared.lock().sender.is_some() {
            return Ok(());
        }
        let revision = self
            .storage
            .current_revision()
            .await
            .map_err(|e| self.storage_error(e))?;
        let stream = self
            .storage
            .watch(self.layout.resource_prefix().as_bytes(), revision)
            .await
            .map_err(|e| self.storage_error(e))?;
        let (sender, _) = broadcast::channel(self.config.watcher_backlog.max(1));
        {
            let mut state = self.shared.lock();
            state.sender = Some(sender);
            state.window_start = revision;
            state.progress = revision;
            state.history.clear();
            state.history_bytes = 0;
        }
        let shared = Arc::downgrade(&self.shared);
        let capacity = HistoryCapacity {
            events: self.config.watch_history.max(1),
            bytes: self.config.watch_history_bytes,
        };
        tokio::spawn(pump(
            stream,
            shared,
            capacity,
            self.info.clone(),
            self.config.converter.clone(),
        ));
        Ok(())
    }

    /// Subscribes to the events with a revision above `after`.
    async fn subscribe(&self, after: i64) -> ApiResult<Subscription> {
        self.ensure_started().await?;
        {
            let state = self.shared.lock();
            if let Some(sender) = &state.sender {
                if after >= state.window_start {
                    let backlog = state
                        .history
                        .iter()
                        .filter(|e| e.revision > after)
                        .cloned()
                        .collect();
                    return Ok(Subscription::Hub {
                        backlog,
                        live: sender.subscribe(),
                        hub: self.shared.clone(),
                    });
                }
            }
        }
        match self
            .storage
            .watch(self.layout.resource_prefix().as_bytes(), after)
            .await
        {
            Ok(stream) => Ok(Subscription::Direct(stream)),
            Err(err) => Err(watch_error(err, &self.info.group_resource())),
        }
    }

    /// The current objects under `prefix` that `selection` selects, and the revision they were read at.
    async fn current_state(
        &self,
        prefix: &str,
        selection: &Selection,
    ) -> ApiResult<(Vec<Value>, i64)> {
        const PAGE: usize = 500;
        let mut items = Vec::new();
        let mut start = prefix.as_bytes().to_vec();
        let mut revision = 0;
        loop {
            let request = ListRequest {
                prefix: prefix.as_bytes().to_vec(),
                start_key: Some(start.clone()),
                revision,
                limit: PAGE,
                count_remaining: false,
            };
            let resp = self
                .storage
                .list(request)
                .await
                .map_err(|e| self.storage_error(e))?;
            revision = resp.revision;
            for kv in &resp.kvs {
                let obj = decode_converted(
                    &self.info,
                    self.config.converter.as_ref(),
                    &kv.value,
                    kv.mod_revision,
                )
                .await?;
                if selection.matches(&obj) {
                    items.push(obj);
                }
            }
            match resp.kvs.last() {
                Some(last) if resp.more => {
                    start = last.key.clone();
                    start.push(0);
                }
                _ => return Ok((items, revision)),
            }
        }
    }

    /// An API watch of the resource, as `Store::watch`.
    pub async fn watch(
        &self,
        namespace: Option<&str>,
        opts: &ListOptions,
    ) -> ApiResult<WatchEvents> {
        let selection = Selection::parse(
            self.config.fields,
            &opts.label_selector,
            &opts.field_selector,
        )?;
        let version_match = watch_version_match(opts)?;
        let requested = parse_resource_version(&opts.resource_version)?;
        let namespace = namespace
            .filter(|ns| self.info.namespaced && !ns.is_empty())
            .map(str::to_string);

        // The hub runs before any initial list, so the list's revision is inside its window.
        self.ensure_started().await?;
        let send_initial = match opts.send_initial_events {
            Some(send) => send,
            None => requested.is_none_or(|rv| rv == 0),
        };
        let (initial, start) = if send_initial {
            let prefix = self.layout.list_prefix(namespace.as_deref());
            let (items, revision) = self.current_state(&prefix, &selection).await?;
            if let (Some(min), Some(ResourceVersionMatch::NotOlderThan)) =
                (requested, version_match)
            {
                if revision < min {
                    return Err(too_large_resource_version(min, revision));
                }
            }
            (items, revision)
        } else {
            let start = match requested {
                Some(rv) if rv > 0 => rv,
                _ => self
                    .storage
                    .current_revision()
                    .await
                    .map_err(|e| self.storage_error(e))?,
            };
            (Vec::new(), start)
        };
        let subscription = self.subscribe(start).await?;
        let plan = WatcherPlan {
            info: self.info.clone(),
            converter: self.config.converter.clone(),
            layout: self.layout.clone(),
            namespace,
            selection,
            start,
            initial,
            initial_events_end: opts.send_initial_events == Some(true),
            bookmarks: opts.allow_watch_bookmarks.unwrap_or(false),
            bookmark_interval: self.config.bookmark_interval,
            timeout: opts
                .timeout_seconds
                .filter(|s| *s > 0)
                .map(|s| std::time::Duration::from_secs(s as u64)),
        };
        Ok(watcher::spawn(plan, subscription))
    }
}

/// Validates resourceVersionMatch / sendInitialEvents of a watch, with upstream's messages.
fn watch_version_match(opts: &ListOptions) -> ApiResult<Option<ResourceVersionMatch>> {
    let parsed = match opts.resource_version_match.as_str() {
        "" => None,
        "NotOlderThan" => Some(ResourceVersionMatch::NotOlderThan),
        "Exact" => Some(ResourceVersionMatch::Exact),
        other => {
            return Err(ApiError::bad_request(format!(
                "resourceVersionMatch: Unsupported value: \"{other}\": supported values: \"Exact\", \"NotOlderThan\", \"\""
            )))
        }
    };
    match (opts.send_initial_events, parsed) {
        (Some(_), Some(ResourceVersionMatch::NotOlderThan)) => {
            if opts.allow_watch_bookmarks != Some(true) {
                return Err(ApiError::bad_request(
                    "allowWatchBookmarks: Forbidden: sendInitialEvents requires setting allowWatchBookmarks to true",
                ));
            }
            Ok(parsed)
        }
        (Some(_), _) => Err(ApiError::bad_request(
            "resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
        )),
        (None, Some(_)) => Err(ApiError::bad_request(
            "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
        )),
        (None, None) => Ok(None),
    }
}

/// A failed watch start: a compacted revision is upstream's watch 410 text; the rest maps as usual.
pub(crate) fn watch_error(
    err: StorageError,
    resource: &crate::api::status::GroupResource,
) -> ApiError {
    match err {
        StorageError::Compacted {
            requested,
            compacted,
        } => ApiError::expired(format!(
            "too old resource version: {requested} ({compacted})"
        )),
        other => ApiError::from_storage(other, resource, ""),
    }
}

/// Decodes the storage watch into the ring and the broadcast until it fails or the hub is gone.
/// How much of the recent past the ring keeps: at most `events` events, and no more stored
/// bytes than `bytes` (but always the newest event).
#[derive(Clone, Copy)]
struct HistoryCapacity {
    events: usize,
    bytes: usize,
}

async fn pump(
    mut stream: WatchStream,
    shared: std::sync::Weak<HubShared>,
    capacity: HistoryCapacity,
    info: Arc<ResourceInfo>,
    converter: Option<ConverterHandle>,
) {
    let resource = info.group_resource();
    loop {
        let item = stream.next().await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let message = match item {
            Some(Ok(event)) => match HubEvent::decode(&info, event, converter.as_ref()).await {
                Ok(event) => HubMessage::Event(Arc::new(event)),
                Err(err) => HubMessage::Failed(err),
            },
            Some(Err(err)) => HubMessage::Failed(watch_error(err, &resource)),
            None => HubMessage::Failed(ApiError::internal("the storage watch ended unexpectedly")),
        };
        let mut state = shared.lock();
        match message {
            HubMessage::Event(event) => {
                state.progress = event.revision;
                state.history_bytes += event.stored_size;
                state.history.push_back(event.clone());
                while state.history.len() > capacity.events
                    || (state.history_bytes > capacity.bytes && state.history.len() > 1)
                {
                    if let Some(evicted) = state.history.pop_front() {
                        state.window_start = evicted.revision;
                        state.history_bytes -= evicted.stored_size;
                    }
                }
                if let Some(sender) = &state.sender {
                    // No receivers is fine: the ring keeps the event for later watchers.
                    let _ = sender.send(HubMessage::Event(event));
                }
            }
            failed @ HubMessage::Failed(_) => {
                if let Some(sender) = state.sender.take() {
                    let _ = sender.send(failed);
                }
                state.history.clear();
                state.history_bytes = 0;
                return;
            }
        }
    }
}
