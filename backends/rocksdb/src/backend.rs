//! The store: opening, reads, and the [`Storage`] implementation that ties the writer, watches and
//! compaction together.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use apiary_storage::{
    prefix_end, Error, GetResponse, KeyValue, ListRequest, ListResponse, ProgressStream, Result,
    Revision, Storage,
};
use async_trait::async_trait;
use bytes::Bytes;
use rocksdb::{
    ColumnFamily, ColumnFamilyDescriptor, DBCompressionType, Options, ReadOptions,
    SnapshotWithThreadMode, DB,
};
use tokio::sync::broadcast;

use crate::encoding::*;
use crate::writer::Writer;
use crate::{compaction, expiry, watch, RocksDbOptions};
use apiary_storage::WriteOp;

/// A committed group of events, published to watchers in revision order.
pub(crate) type Batch = Arc<Vec<apiary_storage::Event>>;

/// What the writer, readers, watchers and compaction share.
pub(crate) struct Shared {
    pub db: DB,
    /// The revision of the last committed write; updated after the commit, before it is published.
    pub current: AtomicI64,
    /// Raised (and persisted) before any history at or below it is deleted.
    pub compacted: AtomicI64,
    pub compaction_lock: tokio::sync::Mutex<()>,
    pub opts: RocksDbOptions,
    /// The earliest expiry deadline (ms since the epoch) that may be due; `i64::MAX`: none. Kept
    /// apart from the database so the sweep can wait without holding the store open.
    pub next_expiry: Arc<AtomicI64>,
}

pub(crate) type Snapshot<'a> = SnapshotWithThreadMode<'a, DB>;

impl Shared {
    pub fn cf(&self, name: &str) -> Result<&ColumnFamily> {
        self.db
            .cf_handle(name)
            .ok_or_else(|| Error::Internal(format!("rocksdb: column family {name} missing")))
    }

    /// Reads a `meta` revision in a snapshot.
    pub fn meta(&self, snap: &Snapshot<'_>, name: &[u8]) -> Result<Revision> {
        decode_meta(
            snap.get_cf(self.cf(CF_META)?, name)
                .map_err(internal)?
                .as_deref(),
        )
    }
}

pub(crate) fn internal(err: rocksdb::Error) -> Error {
    Error::Internal(format!("rocksdb: {err}"))
}

/// Runs blocking work on tokio's blocking pool.
pub(crate) async fn blocking<T, F>(f: F) -> Result<T>
where
    F: FnOnce() -> Result<T> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Internal(format!("rocksdb task failed: {e}")))?
}

/// Read options bounded to `[lower, upper)`.
pub(crate) fn bounded(lower: &[u8], upper: Option<Vec<u8>>) -> ReadOptions {
    let mut opts = ReadOptions::default();
    opts.set_iterate_lower_bound(lower.to_vec());
    if let Some(upper) = upper {
        opts.set_iterate_upper_bound(upper);
    }
    opts
}

/// An Apiary store in a RocksDB directory. Open it with [`open`].
///
/// Dropping it stops the background compaction and the writer (waiting for the writer to finish
/// its current batch); the database closes once running reads and watch replays end.
pub struct RocksDbStorage {
    shared: Arc<Shared>,
    events: broadcast::Sender<Batch>,
    /// Counts progress requests; every progress stream of this handle answers each change.
    requests: tokio::sync::watch::Sender<u64>,
    writer: Writer,
    compactor: Option<tokio::task::AbortHandle>,
}

impl Drop for RocksDbStorage {
    fn drop(&mut self) {
        if let Some(task) = self.compactor.take() {
            task.abort();
        }
    }
}

/// Opens (creating when missing) the store at `opts.path`, starts its writer thread and, unless
/// disabled, its background compaction. Must be called within a tokio runtime.
///
/// Fails with [`Error::Unavailable`] naming the path when the directory cannot be opened (for
/// example because another process holds it).
pub async fn open(opts: RocksDbOptions) -> Result<Arc<RocksDbStorage>> {
    if opts.keep_revisions < 0
        || opts.watch_buffer == 0
        || opts.max_batch == 0
        || opts.expiry_interval.is_zero()
    {
        return Err(Error::InvalidArgument(
            "rocksdb: keep_revisions must be >= 0, watch_buffer, max_batch and expiry_interval > 0"
                .into(),
        ));
    }
    let db_opts = opts.clone();
    let shared = blocking(move || {
        let mut db_options = Options::default();
        db_options.create_if_missing(true);
        db_options.create_missing_column_families(true);
        db_options.set_compression_type(DBCompressionType::Lz4);
        db_options.set_max_background_jobs(2);
        let cfs = [CF_KV, CF_HISTORY, CF_LOG, CF_META, CF_EXPIRY].map(|name| {
            let mut cf_opts = Options::default();
            cf_opts.set_compression_type(DBCompressionType::Lz4);
            ColumnFamilyDescriptor::new(name, cf_opts)
        });
        let path = &db_opts.path;
        let db = DB::open_cf_descriptors(&db_options, path, cfs).map_err(|e| {
            Error::Unavailable(format!("cannot open rocksdb at {}: {e}", path.display()))
        })?;
        let meta = |name: &[u8]| -> Result<Revision> {
            let cf = db
                .cf_handle(CF_META)
                .ok_or_else(|| Error::Internal("meta column family missing".into()))?;
            decode_meta(db.get_cf(cf, name).map_err(internal)?.as_deref())
        };
        // A fresh store starts at revision 1 (as etcd does), so 0 keeps meaning "no revision".
        let current = meta(META_CURRENT)?.max(1);
        let compacted = meta(META_COMPACTED)?;
        let next_expiry = expiry::first_deadline(&db)?;
        Ok(Arc::new(Shared {
            db,
            current: AtomicI64::new(current),
            compacted: AtomicI64::new(compacted),
            compaction_lock: tokio::sync::Mutex::new(()),
            opts: db_opts,
            next_expiry: Arc::new(AtomicI64::new(next_expiry)),
        }))
    })
    .await?;
    // Finish a compaction interrupted by a crash.
    compaction::purge(&shared).await?;
    let (events, _) = broadcast::channel(opts.watch_buffer);
    let writer = Writer::start(shared.clone(), events.clone())?;
    let compactor = (!opts.compaction_interval.is_zero())
        .then(|| tokio::spawn(compaction::background(shared.clone())).abort_handle());
    let (requests, _) = tokio::sync::watch::channel(0);
    let store = Arc::new(RocksDbStorage {
        shared,
        events,
        requests,
        writer,
        compactor,
    });
    // Ends by itself once the store is dropped.
    tokio::spawn(expiry::background(
        Arc::downgrade(&store),
        store.shared.next_expiry.clone(),
        opts.expiry_interval,
    ));
    Ok(store)
}

impl RocksDbStorage {
    /// The options the store was opened with.
    pub fn options(&self) -> &RocksDbOptions {
        &self.shared.opts
    }

    /// Checks the store's internal invariants for the keys under `prefix`: every current value is
    /// the latest version in `history`, no revision exceeds the current one, and the persisted
    /// current revision matches the in-memory one. For tests and diagnostics; reads every key.
    pub async fn verify(&self, prefix: &[u8]) -> Result<()> {
        let shared = self.shared.clone();
        let prefix = prefix.to_vec();
        blocking(move || {
            let snap = shared.db.snapshot();
            let current = shared.meta(&snap, META_CURRENT)?;
            if current > shared.current.load(Ordering::SeqCst) {
                return Err(Error::Internal(format!(
                    "persisted revision {current} ahead of memory"
                )));
            }
            let mut it =
                snap.raw_iterator_cf_opt(shared.cf(CF_KV)?, bounded(&prefix, prefix_end(&prefix)));
            it.seek(&prefix);
            while let (Some(key), Some(value)) = (it.key(), it.value()) {
                let cur = decode_current(value)?;
                let fail = |why: &str| {
                    Error::Internal(format!("key {}: {why}", String::from_utf8_lossy(key)))
                };
                if cur.mod_rev > current || cur.create_rev > cur.mod_rev {
                    return Err(fail("revisions out of range"));
                }
                let hist_lower = history_key(key, cur.mod_rev);
                let mut hist =
                    snap.raw_iterator_cf_opt(shared.cf(CF_HISTORY)?, bounded(&hist_lower, None));
                hist.seek(&hist_lower);
                let (Some(hkey), Some(hvalue)) = (hist.key(), hist.value()) else {
                    return Err(fail("no history for the current value"));
                };
                let version = decode_version(hvalue)?;
                if hkey != hist_lower.as_slice() || version.value.as_ref() != Some(&cur.value) {
                    return Err(fail("history differs from the current value"));
                }
                if version.create_rev != cur.create_rev {
                    return Err(fail("create revision differs from history"));
                }
                hist.next();
                if let Some(next) = hist.key().map(decode_history_key).transpose()? {
                    if next.0 == key {
                        return Err(fail("history newer than the current value"));
                    }
                }
                it.next();
            }
            it.status().map_err(internal)
        })
        .await
    }

    pub(crate) async fn write(&self, op: WriteOp) -> Result<(Revision, Option<KeyValue>)> {
        self.writer.submit(op).await
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }
}

/// A list at the current revision: a scan of `kv`.
fn list_current(
    shared: &Shared,
    snap: &Snapshot<'_>,
    req: &ListRequest,
    revision: Revision,
) -> Result<ListResponse> {
    let start = req.start_key.as_deref().unwrap_or(&req.prefix);
    let mut it =
        snap.raw_iterator_cf_opt(shared.cf(CF_KV)?, bounded(start, prefix_end(&req.prefix)));
    it.seek(start);
    let mut kvs = Vec::new();
    let mut more = false;
    // Keys beyond the page, counted by the same iterator when asked.
    let mut beyond = 0;
    while let (Some(key), Some(value)) = (it.key(), it.value()) {
        if req.limit > 0 && kvs.len() == req.limit {
            more = true;
            if !req.count_remaining {
                break;
            }
            beyond += 1;
            it.next();
            continue;
        }
        let cur = decode_current(value)?;
        kvs.push(KeyValue {
            stale: false,
            key: key.to_vec(),
            value: cur.value,
            create_revision: cur.create_rev,
            mod_revision: cur.mod_rev,
        });
        it.next();
    }
    it.status().map_err(internal)?;
    Ok(ListResponse {
        kvs,
        more,
        revision,
        remaining: req.count_remaining.then_some(beyond),
    })
}

/// A list at an older revision: a scan of `history`, taking each key's latest version at or below
/// `revision` and skipping the versions above it.
fn list_history(
    shared: &Shared,
    snap: &Snapshot<'_>,
    req: &ListRequest,
    revision: Revision,
) -> Result<ListResponse> {
    let lower = escape(req.start_key.as_deref().unwrap_or(&req.prefix));
    let mut it = snap.raw_iterator_cf_opt(
        shared.cf(CF_HISTORY)?,
        bounded(&lower, prefix_end(&escape(&req.prefix))),
    );
    it.seek(&lower);
    let mut kvs = Vec::new();
    let mut more = false;
    // Keys beyond the page, counted by the same scan when asked.
    let mut beyond = 0;
    // The latest version at or below `revision` of the key being scanned.
    let mut best: Option<(Vec<u8>, Revision, Vec<u8>)> = None;
    let mut emit = |best: Option<(Vec<u8>, Revision, Vec<u8>)>,
                    kvs: &mut Vec<KeyValue>,
                    more: &mut bool|
     -> Result<()> {
        let Some((key, rev, raw)) = best else {
            return Ok(());
        };
        let Version { create_rev, value } = decode_version(&raw)?;
        if let Some(value) = value {
            if req.limit > 0 && kvs.len() == req.limit {
                *more = true;
                beyond += 1;
            } else {
                kvs.push(KeyValue {
                    stale: false,
                    key,
                    value,
                    create_revision: create_rev,
                    mod_revision: rev,
                });
            }
        }
        Ok(())
    };
    while let (Some(hkey), Some(hvalue)) = (it.key(), it.value()) {
        let (key, rev) = decode_history_key(hkey)?;
        if best.as_ref().is_some_and(|(k, ..)| *k != key) {
            emit(best.take(), &mut kvs, &mut more)?;
            if more && !req.count_remaining {
                break;
            }
        }
        if rev <= revision {
            best = Some((key, rev, hvalue.to_vec()));
            it.next();
        } else {
            // Skip the key's newer versions.
            let mut skip = history_key(&key, 0);
            let len = skip.len();
            skip[len - 8..].copy_from_slice(&[0xff; 8]);
            it.seek(&skip);
        }
    }
    it.status().map_err(internal)?;
    if !more || req.count_remaining {
        emit(best, &mut kvs, &mut more)?;
    }
    Ok(ListResponse {
        kvs,
        more,
        revision,
        remaining: req.count_remaining.then_some(beyond),
    })
}

#[async_trait]
impl Storage for RocksDbStorage {
    fn backend_name(&self) -> &'static str {
        "rocksdb"
    }

    async fn get(&self, key: &[u8]) -> Result<GetResponse> {
        let (shared, key) = (self.shared.clone(), key.to_vec());
        blocking(move || {
            let snap = shared.db.snapshot();
            let revision = shared.meta(&snap, META_CURRENT)?.max(1);
            let raw = snap
                .get_pinned_cf(shared.cf(CF_KV)?, &key)
                .map_err(internal)?;
            let kv = match raw {
                None => None,
                Some(raw) => {
                    let cur = decode_current(&raw)?;
                    Some(KeyValue {
                        stale: false,
                        key,
                        value: cur.value,
                        create_revision: cur.create_rev,
                        mod_revision: cur.mod_rev,
                    })
                }
            };
            Ok(GetResponse { kv, revision })
        })
        .await
    }

    async fn list(&self, req: ListRequest) -> Result<ListResponse> {
        if req.revision < 0 {
            return Err(Error::InvalidArgument(format!(
                "negative revision {}",
                req.revision
            )));
        }
        if let Some(start) = &req.start_key {
            if !start.starts_with(&req.prefix) {
                return Err(Error::InvalidArgument(
                    "the start key is outside the prefix".into(),
                ));
            }
        }
        let shared = self.shared.clone();
        blocking(move || {
            let snap = shared.db.snapshot();
            let current = shared.meta(&snap, META_CURRENT)?.max(1);
            if req.revision == 0 {
                return list_current(&shared, &snap, &req, current);
            }
            let compacted = shared.meta(&snap, META_COMPACTED)?;
            if req.revision <= compacted {
                return Err(Error::Compacted {
                    requested: req.revision,
                    compacted,
                });
            }
            if req.revision > current {
                return Err(Error::FutureRevision {
                    requested: req.revision,
                    current,
                });
            }
            if req.revision == current {
                return list_current(&shared, &snap, &req, current);
            }
            list_history(&shared, &snap, &req, req.revision)
        })
        .await
    }

    async fn count(&self, prefix: &[u8]) -> Result<usize> {
        let (shared, prefix) = (self.shared.clone(), prefix.to_vec());
        blocking(move || {
            let snap = shared.db.snapshot();
            let mut it =
                snap.raw_iterator_cf_opt(shared.cf(CF_KV)?, bounded(&prefix, prefix_end(&prefix)));
            it.seek(&prefix);
            let mut n = 0;
            while it.valid() {
                n += 1;
                it.next();
            }
            it.status().map_err(internal)?;
            Ok(n)
        })
        .await
    }

    async fn create_with_ttl(
        &self,
        key: &[u8],
        value: Bytes,
        ttl: Option<Duration>,
    ) -> Result<Revision> {
        Ok(self
            .write(WriteOp::Create {
                key: key.to_vec(),
                value,
                ttl,
            })
            .await?
            .0)
    }

    async fn update_with_ttl(
        &self,
        key: &[u8],
        value: Bytes,
        expected: Revision,
        ttl: Option<Duration>,
    ) -> Result<Revision> {
        Ok(self
            .write(WriteOp::Update {
                key: key.to_vec(),
                value,
                expected,
                ttl,
            })
            .await?
            .0)
    }

    async fn delete(&self, key: &[u8], expected: Option<Revision>) -> Result<(Revision, KeyValue)> {
        let (rev, prior) = self
            .write(WriteOp::Delete {
                key: key.to_vec(),
                expected,
            })
            .await?;
        Ok((
            rev,
            prior.ok_or_else(|| Error::Internal("delete returned no prior value".into()))?,
        ))
    }

    async fn watch_progress(&self, prefix: &[u8], after: Revision) -> Result<ProgressStream> {
        watch::watch(
            self.shared.clone(),
            &self.events,
            &self.requests,
            prefix,
            after,
        )
    }

    async fn request_progress(&self) -> Result<()> {
        self.requests.send_modify(|n| *n = n.wrapping_add(1));
        Ok(())
    }

    async fn current_revision(&self) -> Result<Revision> {
        Ok(self.shared.current.load(Ordering::SeqCst))
    }

    async fn compacted_revision(&self) -> Result<Revision> {
        Ok(self.shared.compacted.load(Ordering::SeqCst))
    }

    async fn compact(&self, revision: Revision) -> Result<()> {
        compaction::compact(&self.shared, revision).await
    }
}
