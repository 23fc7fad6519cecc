//! The feed of a cache: a paged list at revision R, then `watch_progress(R)` into the state,
//! until the stream fails or the cache is gone.

use std::collections::BTreeMap;
use std::sync::{Arc, Weak};

use apiary_storage::{Storage, WatchItem};
use futures::StreamExt;

use super::event::CacheEvent;
use super::index::Index;
use super::pager;
use super::state::{HistoryCapacity, Phase, Shared};
use super::watch::watch_error;
use super::WatchObject;
use crate::api::status::{ApiError, ApiResult};
use crate::catalog::ResourceInfo;
use crate::registry::conversion::ConverterHandle;
use crate::registry::selectors::SelectableFields;

/// What a feed needs from its store.
pub(crate) struct Feed {
    pub info: Arc<ResourceInfo>,
    pub storage: Arc<dyn Storage>,
    pub prefix: Vec<u8>,
    pub converter: Option<ConverterHandle>,
    /// The resource's selectable fields, whose indexed ones the cache indexes.
    pub fields: SelectableFields,
    pub capacity: HistoryCapacity,
    /// The broadcast's bound: how far a watcher may fall behind.
    pub backlog: usize,
}

type Objects = BTreeMap<Arc<[u8]>, Arc<WatchObject>>;

impl Feed {
    /// Every object under the prefix, read in pages at one revision, and that revision.
    async fn initial_list(&self) -> ApiResult<(Objects, i64)> {
        let mut objects = Objects::new();
        let revision = pager::read_all(
            &self.info,
            &*self.storage,
            self.converter.as_ref(),
            &self.prefix,
            |key, obj| {
                objects.insert(Arc::from(key), obj);
            },
        )
        .await?;
        Ok((objects, revision))
    }
}

/// Marks the cache failed when its feed stops without saying why (the task was cancelled, as
/// when its runtime shuts down), so the next use starts a new feed instead of trusting a cache
/// that no longer moves.
struct Stopped {
    shared: Weak<Shared>,
    generation: u64,
}

impl Drop for Stopped {
    fn drop(&mut self) {
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        let mut state = shared.lock();
        if state.generation == self.generation
            && matches!(state.phase, Phase::Initializing | Phase::Ready)
        {
            state.fail(ApiError::service_unavailable(
                "the watch cache's storage watch stopped",
            ));
            shared.publish(&state);
        }
    }
}

/// Starts the feed of `generation` in the background.
pub(crate) fn spawn(feed: Feed, shared: Weak<Shared>, generation: u64) {
    // Moved into the task at once, so even a task that never runs fails its cache when dropped.
    let stopped = Stopped {
        shared: shared.clone(),
        generation,
    };
    tokio::spawn(run(feed, shared, generation, stopped));
}

/// Fills the cache of `generation` and keeps it current until the storage stream fails, the
/// cache is dropped or a newer generation took over.
async fn run(feed: Feed, shared: Weak<Shared>, generation: u64, _stopped: Stopped) {
    let started = async {
        let (objects, revision) = feed.initial_list().await?;
        let index = Index::build(feed.fields, &objects).await;
        let stream = feed
            .storage
            .watch_progress(&feed.prefix, revision)
            .await
            .map_err(|e| watch_error(e, &feed.info.group_resource()))?;
        Ok::<_, ApiError>((objects, index, revision, stream))
    }
    .await;
    let mut stream = {
        let Some(strong) = shared.upgrade() else {
            return;
        };
        let mut state = strong.lock();
        if state.generation != generation {
            return;
        }
        match started {
            Err(err) => {
                state.fail(err);
                strong.publish(&state);
                return;
            }
            Ok((objects, index, revision, stream)) => {
                state.install(objects, index, revision, feed.backlog);
                strong.publish(&state);
                stream
            }
        }
    };
    let resource = feed.info.group_resource();
    loop {
        let item = stream.next().await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let failure = match item {
            Some(Ok(WatchItem::Event(event))) => {
                match CacheEvent::decode(&feed.info, event, feed.converter.as_ref()).await {
                    Ok(event) => {
                        let mut state = shared.lock();
                        if state.generation != generation {
                            return;
                        }
                        state.apply(Arc::new(event), feed.capacity);
                        shared.publish(&state);
                        continue;
                    }
                    Err(err) => err,
                }
            }
            Some(Ok(WatchItem::Progress(revision))) => {
                let mut state = shared.lock();
                if state.generation != generation {
                    return;
                }
                if revision > state.revision {
                    state.revision = revision;
                    shared.publish(&state);
                }
                continue;
            }
            Some(Err(err)) => watch_error(err, &resource),
            None => ApiError::internal("the storage watch ended unexpectedly"),
        };
        let mut state = shared.lock();
        if state.generation == generation {
            state.fail(failure);
            shared.publish(&state);
        }
        return;
    }
}
