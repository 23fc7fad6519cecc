//! A storage wrapper whose progress streams a test can hold back, break or refuse, to put a
//! watch cache behind storage or make its feed fail; it also counts and slows down reads of the
//! current revision.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use apiary_storage::{
    Error, GetResponse, KeyValue, ListRequest, ListResponse, ProgressStream, Result, Revision,
    Storage, WatchStream,
};
use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use tokio::sync::{broadcast, watch};

pub(super) struct Gate {
    inner: Arc<dyn Storage>,
    /// Progress streams deliver while this is `true`.
    open: watch::Sender<bool>,
    /// Ends every open progress stream with an error.
    breaker: broadcast::Sender<()>,
    /// `watch_progress` fails while set.
    refuse: AtomicBool,
    /// Calls of `current_revision`.
    revision_calls: AtomicU64,
    /// Milliseconds `current_revision` holds its answer after reading it.
    revision_delay_ms: AtomicU64,
}

impl Gate {
    pub fn new(inner: Arc<dyn Storage>) -> Arc<Self> {
        let (open, _) = watch::channel(true);
        let (breaker, _) = broadcast::channel(4);
        Arc::new(Self {
            inner,
            open,
            breaker,
            refuse: AtomicBool::new(false),
            revision_calls: AtomicU64::new(0),
            revision_delay_ms: AtomicU64::new(0),
        })
    }

    /// How many times `current_revision` was called.
    pub fn revision_calls(&self) -> u64 {
        self.revision_calls.load(Ordering::SeqCst)
    }

    /// Makes `current_revision` answer `delay` after it read the revision, as a slow round
    /// trip whose answer is already old when it arrives.
    pub fn set_revision_delay(&self, delay: Duration) {
        self.revision_delay_ms
            .store(delay.as_millis() as u64, Ordering::SeqCst);
    }

    /// Holds back (`false`) or releases (`true`) what the progress streams deliver.
    pub fn set_open(&self, open: bool) {
        self.open.send_replace(open);
    }

    /// Ends every open progress stream with an Unavailable error.
    pub fn break_streams(&self) {
        let _ = self.breaker.send(());
    }

    /// Makes new progress streams fail to start (`true`) or start again (`false`).
    pub fn set_refuse(&self, refuse: bool) {
        self.refuse.store(refuse, Ordering::SeqCst);
    }
}

/// The next item of `inner`, but only while the gate is open; an error once broken.
async fn gated_next(
    inner: &mut ProgressStream,
    open: &mut watch::Receiver<bool>,
    breaker: &mut broadcast::Receiver<()>,
) -> Option<Result<apiary_storage::WatchItem>> {
    loop {
        let opened = async { open.wait_for(|o| *o).await.is_ok() }.await;
        if !opened {
            return None;
        }
        tokio::select! {
            // A closed gate wins over an item that is ready at the same time.
            biased;
            _ = breaker.recv() => {
                return Some(Err(Error::Unavailable("the test broke the watch".into())));
            }
            closed = async { open.wait_for(|o| !*o).await.is_ok() } => {
                if !closed {
                    return None;
                }
            }
            item = inner.next() => return item,
        }
    }
}

#[async_trait]
impl Storage for Gate {
    fn backend_name(&self) -> &'static str {
        self.inner.backend_name()
    }

    async fn get(&self, key: &[u8]) -> Result<GetResponse> {
        self.inner.get(key).await
    }

    async fn list(&self, req: ListRequest) -> Result<ListResponse> {
        self.inner.list(req).await
    }

    async fn count(&self, prefix: &[u8]) -> Result<usize> {
        self.inner.count(prefix).await
    }

    async fn create_with_ttl(
        &self,
        key: &[u8],
        value: Bytes,
        ttl: Option<Duration>,
    ) -> Result<Revision> {
        self.inner.create_with_ttl(key, value, ttl).await
    }

    async fn update_with_ttl(
        &self,
        key: &[u8],
        value: Bytes,
        expected: Revision,
        ttl: Option<Duration>,
    ) -> Result<Revision> {
        self.inner.update_with_ttl(key, value, expected, ttl).await
    }

    async fn delete(&self, key: &[u8], expected: Option<Revision>) -> Result<(Revision, KeyValue)> {
        self.inner.delete(key, expected).await
    }

    async fn watch(&self, prefix: &[u8], after: Revision) -> Result<WatchStream> {
        self.inner.watch(prefix, after).await
    }

    async fn watch_progress(&self, prefix: &[u8], after: Revision) -> Result<ProgressStream> {
        if self.refuse.load(Ordering::SeqCst) {
            return Err(Error::Unavailable("the test refuses watches".into()));
        }
        let inner = self.inner.watch_progress(prefix, after).await?;
        let state = (
            inner,
            self.open.subscribe(),
            self.breaker.subscribe(),
            false,
        );
        let stream = futures::stream::unfold(
            state,
            |(mut inner, mut open, mut breaker, ended)| async move {
                if ended {
                    return None;
                }
                let item = gated_next(&mut inner, &mut open, &mut breaker).await?;
                let ended = item.is_err();
                Some((item, (inner, open, breaker, ended)))
            },
        );
        Ok(Box::pin(stream))
    }

    async fn request_progress(&self) -> Result<()> {
        self.inner.request_progress().await
    }

    async fn current_revision(&self) -> Result<Revision> {
        self.revision_calls.fetch_add(1, Ordering::SeqCst);
        let revision = self.inner.current_revision().await?;
        let delay = self.revision_delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        Ok(revision)
    }

    async fn compacted_revision(&self) -> Result<Revision> {
        self.inner.compacted_revision().await
    }

    async fn compact(&self, revision: Revision) -> Result<()> {
        self.inner.compact(revision).await
    }
}
