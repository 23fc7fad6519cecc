//! Gets and lists from the cache, with upstream's freshness rules (`cacher/delegator.go`,
//! `watch_cache.go` `waitUntilFreshAndBlock`). Every answer here is "served" or "ask storage".

use std::sync::atomic::Ordering;
use std::sync::Arc;

use apiary_storage::Error as StorageError;
use futures::FutureExt;

use super::snapshots::SnapshotKey;
use super::state::{Entry, Phase};
use super::watch::WatchCache;
use super::WatchObject;
use crate::api::status::{ApiError, ApiResult};
use crate::registry::continue_token;
use crate::registry::selectors::Selection;
use crate::registry::store::{too_large_resource_version, ListPage};

/// How fresh the cache is for a read.
pub(crate) enum Freshness {
    /// It has every change up to the wanted revision.
    Fresh,
    /// It did not catch up within the timeout; its revision.
    Behind(i64),
    /// It is not serving: storage answers.
    NotReady,
}

/// The answer of a get from the cache.
pub(crate) enum Lookup {
    Found(Arc<WatchObject>),
    Missing,
    /// Storage answers (the cache is not ready, or a consistent read timed out).
    Storage,
}

/// The freshness a list asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ListFreshness {
    /// resourceVersion unset: the storage's current revision.
    Consistent,
    /// `"0"`: whatever the cache holds.
    Any,
    /// `N` with NotOlderThan: at least N.
    NotOlderThan(i64),
}

/// A first page from the cache.
pub(crate) struct CachedPage {
    pub items: Vec<Arc<WatchObject>>,
    /// The cache revision the page was taken at.
    pub revision: i64,
    /// The storage key the next page starts at, when keys remain.
    pub next_key: Option<Vec<u8>>,
    /// The keys after the page, for an unfiltered page with more after it.
    pub remaining: Option<i64>,
}

impl CachedPage {
    /// The list answer of a page of a list of `prefix`; its continue token names the page's
    /// revision.
    pub fn into_list(self, prefix: &str) -> ApiResult<ListPage> {
        let continue_token = match self.next_key {
            Some(next) => {
                let next = String::from_utf8(next).map_err(ApiError::internal)?;
                Some(continue_token::encode(&next, prefix, self.revision)?)
            }
            None => None,
        };
        Ok(ListPage {
            items: self.items,
            resource_version: self.revision.to_string(),
            continue_token,
            remaining_item_count: self.remaining,
        })
    }
}

/// The page of `entries` (ordered, at `revision`) that starts at position `from`: up to `limit`
/// selected objects; the next key when entries remain after it.
async fn cut_page(
    entries: &[Entry],
    from: usize,
    selection: &Selection,
    limit: Option<usize>,
    revision: i64,
) -> CachedPage {
    let everything = selection.is_everything();
    let mut page = CachedPage {
        items: Vec::new(),
        revision,
        next_key: None,
        remaining: None,
    };
    for (i, (key, obj)) in entries.iter().enumerate().skip(from) {
        if (i - from) % 1024 == 1023 {
            // A large list: let other tasks run between the selector checks.
            tokio::task::yield_now().await;
        }
        if !everything && !selection.matches(obj.value()) {
            continue;
        }
        page.items.push(obj.clone());
        if limit.is_some_and(|l| page.items.len() >= l) {
            if i + 1 < entries.len() {
                let mut next = key.to_vec();
                next.push(0);
                page.next_key = Some(next);
                if everything {
                    page.remaining = Some((entries.len() - i - 1) as i64);
                }
            }
            break;
        }
    }
    page
}

/// The key of the snapshot a page of `prefix` at `revision` with `selection` was cut from.
fn snapshot_key(prefix: &str, revision: i64, selection: &Selection, indexed: bool) -> SnapshotKey {
    SnapshotKey {
        prefix: prefix.to_string(),
        revision,
        term: selection
            .indexed_term()
            .filter(|_| indexed)
            .map(|(field, value)| (field.to_string(), value.to_string())),
    }
}

impl WatchCache {
    /// The storage's current revision, read after this call began: one fetch shared by the
    /// concurrent reads that arrived before it started (at most two round trips each).
    pub(super) async fn current_revision(&self) -> Result<i64, StorageError> {
        let storage = self.storage.clone();
        self.revisions
            .run(move || {
                let storage = storage.clone();
                async move { storage.current_revision().await }.boxed()
            })
            .await
    }

    /// Asks storage for progress reports, or joins a request made since this call began.
    async fn request_progress(&self) -> Result<(), StorageError> {
        let storage = self.storage.clone();
        self.progress_requests
            .run(move || {
                let storage = storage.clone();
                async move { storage.request_progress().await }.boxed()
            })
            .await
    }

    /// Waits until the cache has every change at or below `wanted`, which the caller learnt
    /// before calling: asks storage for progress reports (or joins a request made since), then
    /// waits at most `consistent_read_timeout`.
    pub(super) async fn wait_fresh(&self, wanted: i64) -> Freshness {
        let mut progress = self.shared.subscribe();
        let now = *progress.borrow_and_update();
        if now.phase != Phase::Ready {
            return Freshness::NotReady;
        }
        if now.revision >= wanted {
            return Freshness::Fresh;
        }
        // A failed request leaves the wait to the timeout.
        let _ = self.request_progress().await;
        let waited = tokio::time::timeout(self.config.cache.consistent_read_timeout, async {
            progress
                .wait_for(|p| p.phase != Phase::Ready || p.revision >= wanted)
                .await
                .map(|p| *p)
        })
        .await;
        match waited {
            Ok(Ok(p)) if p.phase == Phase::Ready => Freshness::Fresh,
            Ok(_) => Freshness::NotReady,
            Err(_) => {
                let now = self.shared.current();
                if now.phase == Phase::Ready {
                    Freshness::Behind(now.revision)
                } else {
                    Freshness::NotReady
                }
            }
        }
    }

    /// Freshness for a consistent read: the storage's current revision; storage answers when the
    /// cache does not reach it in time (upstream's fallback of ConsistentListFromCache).
    async fn consistent(&self) -> Freshness {
        if !self.is_ready() {
            return Freshness::NotReady;
        }
        let current = match self.current_revision().await {
            Ok(current) => current,
            Err(_) => return Freshness::NotReady,
        };
        match self.wait_fresh(current).await {
            Freshness::Fresh => Freshness::Fresh,
            Freshness::Behind(_) => {
                self.fallbacks.fetch_add(1, Ordering::Relaxed);
                Freshness::NotReady
            }
            Freshness::NotReady => Freshness::NotReady,
        }
    }

    async fn freshness(&self, wanted: ListFreshness) -> ApiResult<bool> {
        if !self.serves_reads() {
            return Ok(false);
        }
        self.ensure_started();
        let fresh = match wanted {
            ListFreshness::Consistent => self.consistent().await,
            ListFreshness::Any if self.is_ready() => Freshness::Fresh,
            ListFreshness::Any => Freshness::NotReady,
            ListFreshness::NotOlderThan(rv) => self.wait_fresh(rv).await,
        };
        match (fresh, wanted) {
            (Freshness::Fresh, _) => Ok(true),
            (Freshness::Behind(current), ListFreshness::NotOlderThan(rv)) => {
                Err(too_large_resource_version(rv, current))
            }
            _ => Ok(false),
        }
    }

    /// A get of the object at `key`: `requested` is the parsed resourceVersion (`None` for a
    /// consistent read, `Some(0)` for any, `Some(n)` for at least n).
    pub async fn get(&self, key: &[u8], requested: Option<i64>) -> ApiResult<Lookup> {
        let wanted = match requested {
            // As upstream's delegator: a get without a resourceVersion reads storage, one round
            // trip like the current revision a consistent read from here would need anyway.
            None => return Ok(Lookup::Storage),
            Some(0) => ListFreshness::Any,
            Some(rv) => ListFreshness::NotOlderThan(rv),
        };
        if !self.freshness(wanted).await? {
            return Ok(Lookup::Storage);
        }
        let state = self.shared.lock();
        if state.phase != Phase::Ready {
            return Ok(Lookup::Storage);
        }
        Ok(match state.objects.get(key) {
            Some(obj) => Lookup::Found(obj.clone()),
            None => Lookup::Missing,
        })
    }

    /// The cached object at `key` when the cache is enabled and Ready, without starting it or
    /// waiting: a write's suggestion of the current object (upstream's `cachedExistingObject`).
    pub fn peek(&self, key: &[u8]) -> Option<Arc<WatchObject>> {
        if !self.serves_reads() {
            return None;
        }
        let state = self.shared.lock();
        if state.phase != Phase::Ready {
            return None;
        }
        state.objects.get(key).cloned()
    }

    /// The first page of a list of `prefix` from the cache, or `None` when storage answers.
    pub async fn list(
        &self,
        prefix: &str,
        selection: &Selection,
        limit: Option<usize>,
        wanted: ListFreshness,
    ) -> ApiResult<Option<CachedPage>> {
        if !self.freshness(wanted).await? {
            return Ok(None);
        }
        let (entries, index_used, revision) = {
            let state = self.shared.lock();
            if state.phase != Phase::Ready {
                return Ok(None);
            }
            let (entries, index_used) = state.candidates(prefix.as_bytes(), selection);
            (entries, index_used, state.revision)
        };
        if index_used {
            self.index_reads.fetch_add(1, Ordering::Relaxed);
        }
        let page = cut_page(&entries, 0, selection, limit, revision).await;
        if page.next_key.is_some() {
            // The following pages are cut from the same objects.
            let key = snapshot_key(prefix, revision, selection, index_used);
            self.snapshots.insert(key, Arc::from(entries));
        }
        Ok(Some(page))
    }

    /// A following page of a list of `prefix` whose first page was read at `revision`, from
    /// the snapshot of that page, starting at `start_key`; `None` when no snapshot is held here
    /// (storage then answers at that revision) or storage compacted the revision (storage
    /// answers 410).
    pub async fn continue_list(
        &self,
        prefix: &str,
        selection: &Selection,
        limit: Option<usize>,
        revision: i64,
        start_key: &[u8],
    ) -> Option<CachedPage> {
        if !self.serves_reads() || revision <= 0 {
            return None;
        }
        let indexed = snapshot_key(prefix, revision, selection, true);
        let entries = match self.snapshots.get(&indexed) {
            Some(entries) => entries,
            None if indexed.term.is_some() => {
                let whole = snapshot_key(prefix, revision, selection, false);
                self.snapshots.get(&whole)?
            }
            None => return None,
        };
        match self.storage.compacted_revision().await {
            Ok(compacted) if revision > compacted => {}
            _ => return None,
        }
        let from = entries.partition_point(|(key, _)| &key[..] < start_key);
        self.snapshot_pages.fetch_add(1, Ordering::Relaxed);
        Some(cut_page(&entries, from, selection, limit, revision).await)
    }
}
