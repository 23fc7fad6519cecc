//! The storage contract of Apiary.
//!
//! # The model
//!
//! Apiary stores every API object as one key/value pair in a store modelled on etcd's MVCC view, the
//! same view kube-apiserver's own storage layer is built on:
//!
//! * **Keys** are byte strings. The server lays them out as upstream does,
//!   `/registry/<group>/<resource>/<namespace>/<name>` (core group: no group segment), but a backend
//!   MUST treat them as opaque bytes: any byte may appear, and ordering is plain byte-wise
//!   (lexicographic, unsigned) comparison.
//! * **Values** are opaque bytes too (the object's JSON without `resourceVersion`).
//! * **Revision**: one `i64` per store, strictly increasing in commit order. Every successful write
//!   (create, update, delete) commits at a new revision. Revisions MUST be strictly increasing in
//!   commit order and MAY have gaps. Every read reports the store's
//!   revision at the time of the read; a list's revision becomes the list's `resourceVersion`.
//! * Each key carries its **create revision** (the revision of the write that created it) and its
//!   **mod revision** (the revision of the last write to it). The mod revision becomes the object's
//!   `resourceVersion`.
//! * **History**: a backend keeps the changes after its compacted revision, so that a list at an
//!   older revision and a watch from an older revision can be served. [`Storage::compact`] drops the
//!   history at and below a revision; asking for a revision at or below the compacted one fails with
//!   [`Error::Compacted`].
//!
//! # The watch guarantee
//!
//! A watch of a prefix from revision `N` delivers every change to a key under the prefix with a
//! revision greater than `N`, exactly once, in revision order, including changes committed by another
//! process sharing the same store (another Apiary replica). If a backend cannot keep that promise it
//! ends the stream with an error ([`Error::Compacted`] when history is gone, [`Error::WatchLagged`]
//! when the consumer did not keep up, [`Error::Unavailable`] when the backend is unreachable). It
//! never skips an event silently and never drops a slow watcher silently.
//!
//! A watch with progress ([`Storage::watch_progress`]) also yields [`WatchItem::Progress`] items:
//! positions the watch has fully delivered, the way etcd's progress notifications do. They let a
//! cache fed by the watch know how current it is even when its prefix is quiet.
//!
//! # Expiry
//!
//! A create or update may carry a time to live ([`Storage::create_with_ttl`],
//! [`Storage::update_with_ttl`]), as kube-apiserver gives Events (`--event-ttl`, an etcd lease).
//! Every backend MUST honour it:
//!
//! * A key written with a TTL is deleted by the store at or after the write's time plus the TTL,
//!   and no later than [`expiry_slack`]`(ttl)` after that while the store runs (etcd rounds the TTL
//!   up to whole seconds and shares one lease among the writes of a window of up to 5% of the TTL,
//!   as upstream's lease manager; the other backends sweep on a timer).
//! * The deletion is an ordinary delete: it commits at a new revision, lists and gets stop showing
//!   the key, and watchers see a [`EventKind::Delete`] event with the last value.
//! * Only the write that set the TTL expires: an update with a TTL replaces the old expiry, an
//!   update without a TTL clears it, and expiry never deletes a newer write of the key (the sweep
//!   compares the mod revision).
//! * A sweep never blocks writers for long: it deletes due keys in small batches.
//!
//! # Backends
//!
//! This crate depends on no backend. Each backend is its own crate under `backends/` and proves itself
//! by running the conformance suite of the [`testkit`] module (feature `testkit`) under a fresh,
//! random key prefix.

use std::fmt;
use std::pin::Pin;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::{Stream, StreamExt};

#[cfg(feature = "testkit")]
pub mod testkit;

/// The most a key written with `ttl` may outlive its deadline while the store runs (see "Expiry"
/// above): 5 s for sweeps and rounding, plus the lease reuse window (5% of the TTL, at most 60 s).
pub fn expiry_slack(ttl: Duration) -> Duration {
    Duration::from_secs(5) + (ttl / 20).min(Duration::from_secs(60))
}

/// A store revision. Valid revisions are positive; `0` means "no revision" where an API takes one.
pub type Revision = i64;

/// One stored key with its value and revisions.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyValue {
    pub key: Vec<u8>,
    pub value: Bytes,
    /// The revision of the write that created the key.
    pub create_revision: Revision,
    /// The revision of the last write to the key.
    pub mod_revision: Revision,
    /// Set by a layer that transforms values (encryption at rest) when the value was read in a
    /// form other than the one it writes now (an older key), so that an update rewrites it even
    /// when the object did not change (upstream's `stale`). Backends MUST set `false`.
    pub stale: bool,
}

impl fmt::Debug for KeyValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyValue")
            .field("key", &String::from_utf8_lossy(&self.key))
            .field("value_len", &self.value.len())
            .field("create_revision", &self.create_revision)
            .field("mod_revision", &self.mod_revision)
            .field("stale", &self.stale)
            .finish()
    }
}

/// One write of the [`Storage`] trait as a value, for backends that queue writes to a single
/// writer (group commit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOp {
    /// [`Storage::create_with_ttl`].
    Create {
        key: Vec<u8>,
        value: Bytes,
        ttl: Option<Duration>,
    },
    /// [`Storage::update_with_ttl`].
    Update {
        key: Vec<u8>,
        value: Bytes,
        expected: Revision,
        ttl: Option<Duration>,
    },
    /// [`Storage::delete`].
    Delete {
        key: Vec<u8>,
        expected: Option<Revision>,
    },
}

impl WriteOp {
    /// The key written.
    pub fn key(&self) -> &[u8] {
        match self {
            Self::Create { key, .. } | Self::Update { key, .. } | Self::Delete { key, .. } => key,
        }
    }
}

/// The answer to [`Storage::get`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetResponse {
    /// The key, or `None` when it does not exist.
    pub kv: Option<KeyValue>,
    /// The store's revision when the read was served.
    pub revision: Revision,
}

/// A range read over the keys that start with `prefix`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListRequest {
    /// Only keys starting with these bytes are returned. An empty prefix means every key.
    pub prefix: Vec<u8>,
    /// When set, the list starts at this key (inclusive). It MUST start with `prefix`.
    pub start_key: Option<Vec<u8>>,
    /// The revision to read at; `0` reads at the current revision.
    pub revision: Revision,
    /// The maximum number of keys returned; `0` means no limit.
    pub limit: usize,
    /// Asks for [`ListResponse::remaining`]: how many keys follow the page. Costs a count of the
    /// rest of the range on some backends, so callers ask only when they report it.
    pub count_remaining: bool,
}

/// The answer to [`Storage::list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListResponse {
    /// The keys in byte-wise ascending order.
    pub kvs: Vec<KeyValue>,
    /// Whether keys beyond the last one returned remain under the prefix (at the read's revision).
    pub more: bool,
    /// The revision the list was served at: the requested one, or the current one when the request
    /// asked for `0`.
    pub revision: Revision,
    /// With [`ListRequest::count_remaining`]: the number of keys under the prefix after the last
    /// one returned, at the read's revision (`0` when `more` is false). `None` when not asked.
    pub remaining: Option<usize>,
}

/// What happened to a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    Create,
    Update,
    Delete,
}

/// One change delivered by a watch.
#[derive(Clone, PartialEq, Eq)]
pub struct Event {
    pub kind: EventKind,
    pub key: Vec<u8>,
    /// The revision at which the change committed.
    pub revision: Revision,
    /// The new value; for [`EventKind::Delete`] the value the key held when it was deleted.
    pub value: Bytes,
    /// The value before the change: `None` for a create; for an update the previous value; for a
    /// delete the deleted value (the same bytes as `value`).
    pub prev_value: Option<Bytes>,
    /// The create revision of the key (of the deleted key, for a delete).
    pub create_revision: Revision,
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("kind", &self.kind)
            .field("key", &String::from_utf8_lossy(&self.key))
            .field("revision", &self.revision)
            .field("value_len", &self.value.len())
            .field("has_prev", &self.prev_value.is_some())
            .finish()
    }
}

/// A stream of changes; see the watch guarantee in the crate documentation. The stream ends after
/// yielding an error; it never ends silently while the store is healthy unless dropped by the
/// consumer.
pub type WatchStream = Pin<Box<dyn Stream<Item = Result<Event>> + Send + 'static>>;

/// One item of a watch with progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchItem {
    /// A change, as in a plain watch.
    Event(Event),
    /// Every change under the prefix with a revision at or below this one has been yielded before this item.
    Progress(Revision),
}

/// A stream of changes and progress positions; see [`Storage::watch_progress`].
pub type ProgressStream = Pin<Box<dyn Stream<Item = Result<WatchItem>> + Send + 'static>>;

/// Everything a storage operation can fail with. The server maps these to Kubernetes Status in one
/// place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The key does not exist.
    #[error("key {} not found", String::from_utf8_lossy(.key))]
    NotFound { key: Vec<u8> },
    /// A create found the key present.
    #[error("key {} already exists", String::from_utf8_lossy(.key))]
    AlreadyExists { key: Vec<u8> },
    /// A precondition on the mod revision did not hold. `actual` is the key's mod revision, or `0`
    /// when the key no longer exists.
    #[error("key {} was modified: expected revision {expected}, found {actual}", String::from_utf8_lossy(.key))]
    Conflict {
        key: Vec<u8>,
        expected: Revision,
        actual: Revision,
    },
    /// The requested revision is at or below the compacted revision: its history is gone.
    #[error("revision {requested} has been compacted (compacted revision {compacted})")]
    Compacted {
        requested: Revision,
        compacted: Revision,
    },
    /// The requested revision is newer than the store's current revision.
    #[error("revision {requested} is in the future (current revision {current})")]
    FutureRevision {
        requested: Revision,
        current: Revision,
    },
    /// A watcher fell too far behind the writers and was ended.
    #[error("watcher fell behind and was stopped")]
    WatchLagged,
    /// The backend cannot be reached or refuses service for now; a retry may succeed.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// The backend did not answer in time; the operation's outcome may be unknown.
    #[error("storage request timed out: {0}")]
    Timeout(String),
    /// The request itself is malformed (for example a start key outside the prefix).
    #[error("invalid storage request: {0}")]
    InvalidArgument(String),
    /// Anything else: corruption, a bug, an unexpected backend answer.
    #[error("storage internal error: {0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The operations every backend provides.
///
/// Implementations are shared by many tasks at once (`Arc<dyn Storage>`). No method may block the
/// async runtime: blocking engines (RocksDB) do their work on dedicated threads or through
/// `spawn_blocking`.
#[async_trait]
pub trait Storage: Send + Sync + 'static {
    /// A short name for logs and metrics: `rocksdb`, `postgres`, `etcd`.
    fn backend_name(&self) -> &'static str;

    /// Reads one key at the current revision.
    ///
    /// MUST return `kv: None` (not an error) when the key does not exist, and the store's current
    /// revision, which is at least the key's mod revision.
    async fn get(&self, key: &[u8]) -> Result<GetResponse>;

    /// Reads the keys under `req.prefix` in byte-wise order.
    ///
    /// * With `revision == 0` the read is served at the current revision, reported in the answer.
    /// * With `revision > 0` the read MUST show the keys exactly as they were at that revision (keys
    ///   created later absent, keys deleted later present, values as of then). A revision at or below
    ///   the compacted revision MUST fail with [`Error::Compacted`]; one above the current revision
    ///   MUST fail with [`Error::FutureRevision`].
    /// * `start_key` (inclusive) and `limit` page through a prefix; `more` says whether keys remain.
    ///   Reading the following pages at the first page's revision gives a consistent snapshot even
    ///   while writers run.
    /// * With `count_remaining` the answer MUST carry `remaining: Some(n)`, `n` the keys under the
    ///   prefix beyond the page at the read's revision, counted in the same snapshot as the page
    ///   (upstream's `remainingItemCount`); without it `remaining` SHOULD be `None`. Backends count
    ///   in the same round trip as the page (etcd's range count, an SQL count, the same iterator).
    async fn list(&self, req: ListRequest) -> Result<ListResponse>;

    /// Counts the keys under a prefix at the current revision.
    async fn count(&self, prefix: &[u8]) -> Result<usize>;

    /// Creates a key that does not exist, without expiry.
    ///
    /// Provided: [`Storage::create_with_ttl`] with no TTL.
    async fn create(&self, key: &[u8], value: Bytes) -> Result<Revision> {
        self.create_with_ttl(key, value, None).await
    }

    /// Creates a key that does not exist; with `ttl`, the key expires as the crate documentation's
    /// "Expiry" rules say.
    ///
    /// MUST fail with [`Error::AlreadyExists`] and write nothing when the key exists. On success
    /// returns the revision of the write, which is the key's create and mod revision.
    async fn create_with_ttl(
        &self,
        key: &[u8],
        value: Bytes,
        ttl: Option<Duration>,
    ) -> Result<Revision>;

    /// Replaces the value of an existing key, clearing any expiry it had.
    ///
    /// Provided: [`Storage::update_with_ttl`] with no TTL.
    async fn update(&self, key: &[u8], value: Bytes, expected: Revision) -> Result<Revision> {
        self.update_with_ttl(key, value, expected, None).await
    }

    /// Replaces the value of an existing key whose mod revision is `expected`; the key's expiry
    /// becomes `ttl` from now (`None`: it no longer expires).
    ///
    /// MUST fail with [`Error::NotFound`] when the key does not exist and with [`Error::Conflict`]
    /// when its mod revision differs from `expected`, writing nothing in both cases. The check and
    /// the write are atomic: of many concurrent updates with the same `expected`, exactly one
    /// succeeds. On success returns the revision of the write.
    async fn update_with_ttl(
        &self,
        key: &[u8],
        value: Bytes,
        expected: Revision,
        ttl: Option<Duration>,
    ) -> Result<Revision>;

    /// Deletes a key, optionally only if its mod revision is `expected`.
    ///
    /// MUST fail with [`Error::NotFound`] when the key does not exist and with [`Error::Conflict`]
    /// when `expected` is given and differs. On success returns the revision of the delete and the
    /// key as it was just before (its last value and revisions).
    async fn delete(&self, key: &[u8], expected: Option<Revision>) -> Result<(Revision, KeyValue)>;

    /// Watches the keys under `prefix` for changes with a revision greater than `after`.
    ///
    /// `after == 0` means "from now": changes after the current revision. A revision at or below
    /// the compacted revision (other than 0) MUST fail, either from this call or as the stream's
    /// first item, with [`Error::Compacted`]. The stream then keeps the watch guarantee of the crate
    /// documentation: every change exactly once, in revision order, or an error that ends it.
    ///
    /// Provided: [`Storage::watch_progress`] without its progress items.
    async fn watch(&self, prefix: &[u8], after: Revision) -> Result<WatchStream> {
        let stream = self.watch_progress(prefix, after).await?;
        Ok(Box::pin(stream.filter_map(|item| {
            std::future::ready(match item {
                Ok(WatchItem::Event(event)) => Some(Ok(event)),
                Ok(WatchItem::Progress(_)) => None,
                Err(err) => Some(Err(err)),
            })
        })))
    }

    /// Watches like [`Storage::watch`], with progress items between the events.
    ///
    /// The events and errors MUST follow the rules of [`Storage::watch`]. Besides:
    ///
    /// * `Progress(r)` MUST come after every change under the prefix with a revision at or below
    ///   `r`: no event with a revision `<= r` follows it.
    /// * Progress values MUST be non-decreasing and never below `after` (for `after == 0`: never
    ///   below the current revision when the watch started).
    /// * `r` MUST NOT exceed the store's current revision.
    /// * A stream MAY yield progress on its own, for example after a batch of writes outside its
    ///   prefix.
    /// * After [`Storage::request_progress`], the stream MUST yield, within about a second, a
    ///   `Progress(r)` with `r` at least the current revision observed when the request was made.
    async fn watch_progress(&self, prefix: &[u8], after: Revision) -> Result<ProgressStream>;

    /// Asks the progress streams of this store to report their position (etcd's
    /// `RequestWatchProgress`).
    ///
    /// Every progress stream opened through this handle (and, where the backend shares state
    /// between handles, through the handles sharing it) MUST then yield, within about a second, a
    /// `Progress(r)` with `r` at least the store's current revision as observed at the moment of
    /// the call, including writes committed by other processes sharing the store. So a consistent
    /// read from a cache fed by a progress stream is: read [`Storage::current_revision`] `R`, call
    /// this, and wait until the stream's progress reaches `R`. Without open streams it does
    /// nothing.
    async fn request_progress(&self) -> Result<()>;

    /// The store's current revision (the revision of the last committed write, or an initial value
    /// when nothing was written).
    async fn current_revision(&self) -> Result<Revision>;

    /// The compacted revision: history at and below it is gone. `0` when nothing was compacted.
    async fn compacted_revision(&self) -> Result<Revision>;

    /// Drops history at and below `revision`, which MUST NOT exceed the current revision (else
    /// [`Error::FutureRevision`]). Current values are never dropped. Compacting below the already
    /// compacted revision is a no-op.
    async fn compact(&self, revision: Revision) -> Result<()>;
}

/// The smallest key greater than every key starting with `prefix`, for range ends; `None` when no
/// such key exists (the prefix is empty or all `0xff`).
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::prefix_end;

    #[test]
    fn prefix_end_increments_the_last_byte_below_ff() {
        assert_eq!(prefix_end(b"/a/"), Some(b"/a0".to_vec()));
        assert_eq!(prefix_end(b"a\xff\xff"), Some(b"b".to_vec()));
        assert_eq!(prefix_end(b"\xff"), None);
        assert_eq!(prefix_end(b""), None);
    }
}
