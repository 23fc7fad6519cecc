//! The cache of one resource: its start, and API watches served from it.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use apiary_storage::{Error as StorageError, Storage};

use super::feed::{self, Feed};
use super::flight::Flight;
use super::init::WatchInitSignal;
use super::pager;
use super::snapshots::Snapshots;
use super::state::{HistoryCapacity, Phase, Shared};
use super::watcher::{self, Subscription, WatcherPlan};
use super::{BeyondWindow, WatchEvents, WatchObject};
use crate::api::status::{ApiError, ApiResult, GroupResource};
use crate::catalog::ResourceInfo;
use crate::registry::keys::KeyLayout;
use crate::registry::options::{ListOptions, ResourceVersionMatch};
use crate::registry::selectors::Selection;
use crate::registry::store::{parse_resource_version, too_large_resource_version, StoreConfig};

/// The watch cache of one resource.
pub(crate) struct WatchCache {
    pub(super) info: Arc<ResourceInfo>,
    pub(super) storage: Arc<dyn Storage>,
    pub(super) layout: KeyLayout,
    pub(super) config: StoreConfig,
    pub(super) shared: Arc<Shared>,
    /// Consistent reads storage answered because the cache did not catch up in time.
    pub(super) fallbacks: AtomicU64,
    /// The storage's current revision for consistent reads, one fetch shared by the reads
    /// that arrived before it started.
    pub(super) revisions: Flight<Result<i64, StorageError>>,
    /// Progress requests to storage, shared the same way.
    pub(super) progress_requests: Flight<Result<(), StorageError>>,
    /// First pages' snapshots, for their continue tokens.
    pub(super) snapshots: Snapshots,
    /// Lists and initial watch states read through an index (a test hook, as upstream's
    /// `indexUsed`).
    pub(super) index_reads: AtomicU64,
    /// Pages served from a first page's snapshot (a test hook).
    pub(super) snapshot_pages: AtomicU64,
}

impl WatchCache {
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
            snapshots: Snapshots::new(config.cache.snapshot_capacity, config.cache.snapshot_ttl),
            config,
            shared: Arc::new(Shared::new()),
            fallbacks: AtomicU64::new(0),
            revisions: Flight::new(),
            progress_requests: Flight::new(),
            index_reads: AtomicU64::new(0),
            snapshot_pages: AtomicU64::new(0),
        }
    }

    /// How many consistent reads storage answered because the cache did not catch up in time.
    #[cfg(test)]
    pub fn storage_fallbacks(&self) -> u64 {
        self.fallbacks.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How many lists and initial watch states were read through an index.
    #[cfg(test)]
    pub fn index_reads(&self) -> u64 {
        self.index_reads.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How many first-page snapshots are held.
    #[cfg(test)]
    pub fn snapshots_held(&self) -> usize {
        self.snapshots.len()
    }

    /// How many pages were served from a first page's snapshot.
    #[cfg(test)]
    pub fn snapshot_pages(&self) -> u64 {
        self.snapshot_pages.load(Ordering::Relaxed)
    }

    /// How many per-value watcher channels are open.
    #[cfg(test)]
    pub fn value_channels(&self) -> usize {
        let state = self.shared.lock();
        state.dispatch.as_ref().map_or(0, |d| d.value_channels())
    }

    /// Whether reads and watches use the cache: enabled, and the objects are stored.
    pub fn enabled(&self) -> bool {
        self.config.cache.enabled && self.config.computed.is_none()
    }

    /// Whether gets and lists may be answered from the cache. Not for a version converted by a
    /// webhook: upstream converts each read, so a webhook that is down fails the read.
    pub fn serves_reads(&self) -> bool {
        self.enabled() && self.config.converter.is_none()
    }

    pub(super) fn storage_error(&self, err: StorageError) -> ApiError {
        ApiError::from_storage(err, &self.info.group_resource(), "")
    }

    /// How many objects the cache holds, while it is enabled and ready (read without locking).
    pub fn object_count(&self) -> Option<u64> {
        if !self.enabled() {
            return None;
        }
        self.shared.object_count()
    }

    /// Whether the cache serves reads now.
    pub fn is_ready(&self) -> bool {
        self.shared.current().phase == Phase::Ready
    }

    /// Starts filling the cache in the background unless it is filling or filled.
    pub fn ensure_started(&self) {
        let generation = {
            let mut state = self.shared.lock();
            if !matches!(state.phase, Phase::NotStarted | Phase::Failed) {
                return;
            }
            state.phase = Phase::Initializing;
            state.generation += 1;
            self.shared.publish(&state);
            state.generation
        };
        let feed = Feed {
            info: self.info.clone(),
            storage: self.storage.clone(),
            prefix: self.layout.resource_prefix().as_bytes().to_vec(),
            converter: self.config.converter.clone(),
            fields: self.config.fields,
            capacity: HistoryCapacity {
                events: self.config.watch_history.max(1),
                bytes: self.config.watch_history_bytes,
            },
            backlog: self.config.watcher_backlog,
        };
        feed::spawn(feed, Arc::downgrade(&self.shared), generation);
    }

    /// Starts the cache and waits until it is filled; its start's error when that failed.
    pub async fn ready(&self) -> ApiResult<()> {
        self.ensure_started();
        let mut progress = self.shared.subscribe();
        let phase = progress
            .wait_for(|p| matches!(p.phase, Phase::Ready | Phase::Failed))
            .await
            .map(|p| p.phase)
            .unwrap_or(Phase::Failed);
        if phase == Phase::Ready {
            return Ok(());
        }
        Err(self.not_ready())
    }

    /// The error of a watch that needs the cache while it is not ready.
    pub(super) fn not_ready(&self) -> ApiError {
        self.shared.lock().last_error.clone().unwrap_or_else(|| {
            ApiError::service_unavailable("the watch cache of the resource is not ready")
        })
    }

    /// An API watch of the resource, as `Store::watch`.
    pub async fn watch(
        &self,
        namespace: Option<&str>,
        opts: &ListOptions,
        init: Option<WatchInitSignal>,
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
        let send_initial = match opts.send_initial_events {
            Some(send) => send,
            None => requested.is_none_or(|rv| rv == 0),
        };
        let prefix = self.layout.list_prefix(namespace.as_deref());
        let mut plan = WatcherPlan {
            info: self.info.clone(),
            converter: self.config.converter.clone(),
            layout: self.layout.clone(),
            namespace,
            selection,
            start: 0,
            initial: Vec::new(),
            initial_events_end: opts.send_initial_events == Some(true),
            bookmarks: opts.allow_watch_bookmarks.unwrap_or(false),
            bookmark_interval: self.config.bookmark_interval,
            timeout: opts
                .timeout_seconds
                .filter(|s| *s > 0)
                .map(|s| std::time::Duration::from_secs(s as u64)),
            init,
        };
        if !self.enabled() {
            return self
                .watch_storage(plan, &prefix, send_initial, requested, version_match)
                .await;
        }
        self.ready().await?;

        // The revision the initial state must reach (upstream's
        // `waitUntilWatchCacheFreshAndForceAllEvents`).
        if send_initial {
            let wanted = match requested {
                None => Some(
                    self.current_revision()
                        .await
                        .map_err(|e| self.storage_error(e))?,
                ),
                Some(0) => None,
                Some(rv) => Some(rv),
            };
            if let Some(wanted) = wanted {
                match self.wait_fresh(wanted).await {
                    super::reads::Freshness::Fresh => {}
                    super::reads::Freshness::Behind(current) => {
                        // A legacy watch without `sendInitialEvents` starts from what the cache
                        // has; a streaming list must be at least that recent.
                        if opts.send_initial_events == Some(true) || requested.is_some() {
                            return Err(too_large_resource_version(wanted, current));
                        }
                    }
                    super::reads::Freshness::NotReady => return Err(self.not_ready()),
                }
            }
        }

        let after = {
            let mut state = self.shared.lock();
            if state.phase != Phase::Ready {
                drop(state);
                return Err(self.not_ready());
            }
            let Some(live) = state.subscribe(&plan.selection) else {
                drop(state);
                return Err(self.not_ready());
            };
            if send_initial {
                let (initial, indexed) = state.candidates(prefix.as_bytes(), &plan.selection);
                if indexed {
                    self.index_reads.fetch_add(1, Ordering::Relaxed);
                }
                plan.initial = initial.into_iter().map(|(_, obj)| obj).collect();
                plan.start = state.revision;
                let subscription = Subscription::Cache {
                    backlog: VecDeque::new(),
                    live,
                    shared: self.shared.clone(),
                    storage: self.storage.clone(),
                };
                return Ok(watcher::spawn(plan, subscription));
            }
            let after = match requested {
                Some(rv) if rv > 0 => rv,
                _ => state.revision,
            };
            let floor = state.window_floor();
            if after >= floor {
                let backlog = state
                    .history
                    .iter()
                    .filter(|e| e.revision > after)
                    .cloned()
                    .collect();
                plan.start = after;
                let subscription = Subscription::Cache {
                    backlog,
                    live,
                    shared: self.shared.clone(),
                    storage: self.storage.clone(),
                };
                return Ok(watcher::spawn(plan, subscription));
            }
            // Before the initial list with nothing evicted yet, the revision is only older than
            // this lazily started cache, not too old: storage serves it (410 once compacted).
            if state.evicted && self.config.cache.beyond_window == BeyondWindow::Expire {
                // Upstream's watch cache answers with a watch whose only event is this error.
                let err = ApiError::expired(format!("too old resource version: {after} ({floor})"));
                return Ok(watcher::error_stream(&err));
            }
            after
        };
        plan.start = after;
        let stream = self
            .storage
            .watch(prefix.as_bytes(), after)
            .await
            .map_err(|e| watch_error(e, &self.info.group_resource()))?;
        Ok(watcher::spawn(plan, Subscription::Direct(stream)))
    }

    /// A watch with the cache disabled: the initial state read from storage, then the watcher's
    /// own storage watch.
    async fn watch_storage(
        &self,
        mut plan: WatcherPlan,
        prefix: &str,
        send_initial: bool,
        requested: Option<i64>,
        version_match: Option<ResourceVersionMatch>,
    ) -> ApiResult<WatchEvents> {
        if send_initial {
            let (items, revision) = self.storage_state(prefix).await?;
            if let (Some(min), Some(ResourceVersionMatch::NotOlderThan)) =
                (requested, version_match)
            {
                if revision < min {
                    return Err(too_large_resource_version(min, revision));
                }
            }
            plan.initial = items;
            plan.start = revision;
        } else {
            plan.start = match requested {
                Some(rv) if rv > 0 => rv,
                _ => self
                    .storage
                    .current_revision()
                    .await
                    .map_err(|e| self.storage_error(e))?,
            };
        }
        let stream = self
            .storage
            .watch(prefix.as_bytes(), plan.start)
            .await
            .map_err(|e| watch_error(e, &self.info.group_resource()))?;
        Ok(watcher::spawn(plan, Subscription::Direct(stream)))
    }

    /// Every object under `prefix` as storage has it now, and the revision read at.
    async fn storage_state(&self, prefix: &str) -> ApiResult<(Vec<Arc<WatchObject>>, i64)> {
        let mut items = Vec::new();
        let revision = pager::read_all(
            &self.info,
            &*self.storage,
            self.config.converter.as_ref(),
            prefix.as_bytes(),
            |_, obj| items.push(obj),
        )
        .await?;
        Ok((items, revision))
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
pub(crate) fn watch_error(err: StorageError, resource: &GroupResource) -> ApiError {
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
