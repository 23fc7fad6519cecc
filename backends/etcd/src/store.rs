//! The store: opening, key mapping, and the `Storage` operations as etcd ranges and transactions.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use apiary_storage::{
    prefix_end, Error, GetResponse, KeyValue, ListRequest, ListResponse, ProgressStream, Result,
    Revision, Storage,
};
use async_trait::async_trait;
use bytes::Bytes;
use etcd_client::{
    Compare, CompareOp, GetOptions, PutOptions, TxnOp, TxnOpResponse, TxnResponse, WatchClient,
    WatchOptions,
};

use crate::call::{is_put_of, one_line, Deadline, Done, Fail, Kind};
use crate::lease::Leases;
use crate::pool::{self, KvPool};
use crate::{compactor, EtcdOptions, OpenError};

/// The key kube-apiserver's compactor (and ours) coordinates on, at the root of etcd's key space.
pub(crate) const COMPACT_REV_KEY: &[u8] = b"compact_rev_key";

/// An open etcd store. Cheap to share (`Arc<EtcdStore>`); dropping the last handle stops its
/// background compaction. Watches keep the connection alive until they are dropped.
pub struct EtcdStore {
    inner: Arc<Inner>,
    compactor: Option<tokio::task::JoinHandle<()>>,
}

/// What the operations, the watches and the compactor share.
pub(crate) struct Inner {
    /// The KV clients, used round-robin (`pool.rs`).
    pub(crate) kv: KvPool,
    /// The client every watch runs on.
    pub(crate) watch_client: WatchClient,
    strip: Vec<u8>,
    prefix: Vec<u8>,
    pub(crate) request_timeout: std::time::Duration,
    pub(crate) watch_buffer: usize,
    /// The highest compacted revision this store knows of (its own compactions, etcd's answers and
    /// the value of `compact_rev_key`).
    compacted: AtomicI64,
    /// The highest revision seen in any response: a lower bound of the current revision.
    seen: AtomicI64,
    /// Counts progress requests; every watch task of the store answers each change.
    pub(crate) requests: tokio::sync::watch::Sender<u64>,
    /// The leases of writes with a TTL (`lease.rs`).
    leases: Leases,
}

/// Connects to etcd and checks that a member answers within
/// [`dial_timeout`](EtcdOptions::dial_timeout); starts the compaction loop unless disabled.
///
/// The store keeps [`connections`](EtcdOptions::connections) gRPC channels for reads and writes,
/// used round-robin, and one more for every watch; each is balanced over the endpoints (one
/// HTTP/2 connection per reachable member). See `pool.rs`.
pub async fn open(opts: EtcdOptions) -> Result<Arc<EtcdStore>, OpenError> {
    if opts.endpoints.is_empty() {
        return Err(OpenError::Invalid("no endpoints".into()));
    }
    let (kv, watch_client, lease_client) = pool::connect(&opts).await?;
    let inner = Arc::new(Inner {
        kv,
        watch_client,
        strip: opts.strip.clone(),
        prefix: opts.prefix.clone(),
        request_timeout: opts.request_timeout,
        watch_buffer: opts.watch_buffer.max(1),
        compacted: AtomicI64::new(0),
        seen: AtomicI64::new(0),
        requests: tokio::sync::watch::channel(0).0,
        leases: Leases::new(lease_client),
    });
    // Fail fast with one line when nothing answers.
    let started = Instant::now();
    let mut last = String::from("no answer");
    loop {
        let left = opts.dial_timeout.saturating_sub(started.elapsed());
        let mut kv = inner.kv.pick();
        let probe = kv.get(
            COMPACT_REV_KEY.to_vec(),
            Some(GetOptions::new().with_count_only()),
        );
        match tokio::time::timeout(left, probe).await {
            Ok(Ok(resp)) => {
                inner.note_seen(header_revision(resp.header()));
                break;
            }
            Ok(Err(err)) => last = one_line(&err.to_string()),
            Err(_) => {}
        }
        if started.elapsed() + std::time::Duration::from_millis(100) >= opts.dial_timeout {
            return Err(OpenError::Unreachable {
                timeout: opts.dial_timeout,
                last,
            });
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // A member answers: dial the other channels now rather than on their first calls. A failure
    // here is left to those calls' retries.
    let left = opts.dial_timeout.saturating_sub(started.elapsed());
    let warm = futures::future::join_all(inner.kv.all().map(|mut kv| async move {
        let _ = kv
            .get(
                COMPACT_REV_KEY.to_vec(),
                Some(GetOptions::new().with_count_only()),
            )
            .await;
    }));
    let _ = tokio::time::timeout(left, warm).await;
    let compactor = (!opts.compaction_interval.is_zero())
        .then(|| compactor::spawn(inner.clone(), opts.compaction_interval));
    Ok(Arc::new(EtcdStore { inner, compactor }))
}

impl Drop for EtcdStore {
    fn drop(&mut self) {
        if let Some(task) = &self.compactor {
            task.abort();
        }
    }
}

pub(crate) fn header_revision(header: Option<&etcd_client::ResponseHeader>) -> Revision {
    header.map_or(0, |h| h.revision())
}

impl Inner {
    pub(crate) fn note_seen(&self, revision: Revision) {
        self.seen.fetch_max(revision, Ordering::SeqCst);
    }

    pub(crate) fn note_compacted(&self, revision: Revision) {
        self.compacted.fetch_max(revision, Ordering::SeqCst);
    }

    pub(crate) fn known_compacted(&self) -> Revision {
        self.compacted.load(Ordering::SeqCst)
    }

    /// The etcd key of a store key: `strip` replaced by `prefix`.
    pub(crate) fn to_etcd(&self, key: &[u8]) -> Result<Vec<u8>> {
        let rest = key.strip_prefix(self.strip.as_slice()).ok_or_else(|| {
            Error::InvalidArgument(format!(
                "key {} does not start with {}",
                String::from_utf8_lossy(key),
                String::from_utf8_lossy(&self.strip)
            ))
        })?;
        let mut out = Vec::with_capacity(self.prefix.len() + rest.len());
        out.extend_from_slice(&self.prefix);
        out.extend_from_slice(rest);
        Ok(out)
    }

    /// The store key of an etcd key.
    pub(crate) fn to_store(&self, key: &[u8]) -> Result<Vec<u8>> {
        let rest = key.strip_prefix(self.prefix.as_slice()).ok_or_else(|| {
            Error::Internal(format!(
                "etcd returned key {} outside the prefix",
                String::from_utf8_lossy(key)
            ))
        })?;
        let mut out = Vec::with_capacity(self.strip.len() + rest.len());
        out.extend_from_slice(&self.strip);
        out.extend_from_slice(rest);
        Ok(out)
    }

    /// The etcd range `[key, range_end)` of the store keys starting with `prefix`.
    pub(crate) fn range_of(&self, prefix: &[u8]) -> Result<(Vec<u8>, Vec<u8>)> {
        let key = self.to_etcd(prefix)?;
        // `\0` as the range end means "to the end of the key space"; as the key, "from the start".
        let end = prefix_end(&key).unwrap_or_else(|| vec![0]);
        Ok((if key.is_empty() { vec![0] } else { key }, end))
    }

    pub(crate) fn convert(&self, kv: etcd_client::KeyValue) -> Result<KeyValue> {
        let (create_revision, mod_revision) = (kv.create_revision(), kv.mod_revision());
        let (key, value) = kv.into_key_value();
        Ok(KeyValue {
            stale: false,
            key: self.to_store(&key)?,
            value: Bytes::from(value),
            create_revision,
            mod_revision,
        })
    }

    /// Turns what ended a read into the storage error, `requested` being the revision asked for.
    pub(crate) async fn read_error(&self, fail: Fail, requested: Revision) -> Error {
        match fail {
            Fail::Compacted => Error::Compacted {
                requested,
                compacted: self.compacted_above(requested).await,
            },
            Fail::Future => Error::FutureRevision {
                requested,
                current: self
                    .current(Deadline::new(self.request_timeout))
                    .await
                    .unwrap_or(0),
            },
            Fail::Fatal(err) => err,
            Fail::Retry { msg, .. } => Error::Unavailable(msg),
        }
    }

    /// etcd's compacted revision, known to be above `requested`: what this store knows, else read
    /// from etcd (a watch from revision 1 is answered with the compacted revision).
    async fn compacted_above(&self, requested: Revision) -> Revision {
        let known = self.known_compacted();
        if known > requested {
            return known;
        }
        let probe = async {
            let opts = WatchOptions::new().with_start_revision(1);
            let mut stream = self
                .watch_client
                .clone()
                .watch(COMPACT_REV_KEY.to_vec(), Some(opts))
                .await
                .ok()?;
            loop {
                let resp = stream.message().await.ok()??;
                if resp.compact_revision() > 0 {
                    return Some(resp.compact_revision());
                }
            }
        };
        match tokio::time::timeout(self.request_timeout, probe).await {
            Ok(Some(rev)) => {
                self.note_compacted(rev);
                rev
            }
            _ => requested + 1,
        }
    }

    /// The current revision: the header revision of a cheap read.
    pub(crate) async fn current(&self, deadline: Deadline) -> Result<Revision> {
        let done = self
            .retry(Kind::Read, deadline, || {
                let mut kv = self.kv.pick();
                async move {
                    kv.get(
                        COMPACT_REV_KEY.to_vec(),
                        Some(GetOptions::new().with_count_only()),
                    )
                    .await
                }
            })
            .await;
        match done {
            Ok(done) => {
                let rev = header_revision(done.value.header());
                self.note_seen(rev);
                Ok(rev)
            }
            Err(fail) => Err(fail.into_error()),
        }
    }

    /// Runs a write transaction with retries; the answer, whether an earlier attempt may have been
    /// applied, and the response's revision.
    async fn txn(
        &self,
        deadline: Deadline,
        make: impl Fn() -> etcd_client::Txn,
    ) -> Result<(TxnResponse, bool, Revision)> {
        let done: Done<TxnResponse> = match self
            .retry(Kind::Write, deadline, || {
                let mut kv = self.kv.pick();
                let txn = make();
                async move { kv.txn(txn).await }
            })
            .await
        {
            Ok(done) => done,
            Err(fail) => return Err(self.read_error(fail, 0).await),
        };
        let rev = header_revision(done.value.header());
        self.note_seen(rev);
        Ok((done.value, done.ambiguous, rev))
    }

    /// A key's state at `revision` (`None`: absent then).
    async fn get_at(
        &self,
        key: &[u8],
        revision: Revision,
        deadline: Deadline,
    ) -> Result<Option<etcd_client::KeyValue>> {
        let done = self
            .retry(Kind::Read, deadline, || {
                let mut kv = self.kv.pick();
                let key = key.to_vec();
                async move {
                    kv.get(key, Some(GetOptions::new().with_revision(revision)))
                        .await
                }
            })
            .await;
        match done {
            Ok(done) => Ok(done.value.kvs().first().cloned()),
            // Nothing was written at a future revision.
            Err(Fail::Future) => Ok(None),
            Err(Fail::Fatal(err)) => Err(err),
            Err(_) => Err(Error::Timeout(format!(
                "the write's outcome is unknown: revision {revision} cannot be read"
            ))),
        }
    }

    /// After an ambiguous update or delete whose retry failed its guard: the change that
    /// superseded revision `expected` of `key`, when that change may have been ours (`None`: ours
    /// was certainly not applied).
    async fn superseding_change(
        &self,
        key: &[u8],
        expected: Revision,
        deadline: Deadline,
    ) -> Result<Option<(etcd_client::Event, etcd_client::KeyValue)>> {
        // Our guard could only ever hold if the key was written at `expected`.
        let Some(then) = self.get_at(key, expected, deadline).await? else {
            return Ok(None);
        };
        if then.mod_revision() != expected {
            return Ok(None);
        }
        // It was, and it has changed since (the retry's guard failed): the history has that change.
        let history = self.key_history(key, expected, 0, deadline).await?;
        Ok(history.into_iter().next().map(|event| (event, then)))
    }
}

/// The key the `Else` branch of a transaction read, if it exists.
fn else_kv(resp: &TxnResponse) -> Option<etcd_client::KeyValue> {
    resp.op_responses().into_iter().find_map(|op| match op {
        TxnOpResponse::Get(get) => get.kvs().first().cloned(),
        _ => None,
    })
}

impl EtcdStore {
    fn inner(&self) -> &Inner {
        &self.inner
    }

    fn deadline(&self) -> Deadline {
        Deadline::new(self.inner.request_timeout)
    }

    /// The put options of a write with `ttl`: attached to a lease, or none.
    async fn put_options(
        &self,
        ttl: Option<Duration>,
        deadline: Deadline,
    ) -> Result<Option<PutOptions>> {
        match ttl {
            None => Ok(None),
            Some(ttl) => {
                let inner = self.inner();
                let id = inner.leases.lease(inner, ttl, deadline).await?;
                Ok(Some(PutOptions::new().with_lease(id)))
            }
        }
    }

    /// A conditional delete of `key` (an etcd key) at mod revision `expected`.
    async fn delete_at(
        &self,
        store_key: &[u8],
        key: &[u8],
        expected: Revision,
        deadline: Deadline,
    ) -> Result<(Revision, KeyValue)> {
        let inner = self.inner();
        let (resp, ambiguous, rev) = inner
            .txn(deadline, || {
                etcd_client::Txn::new()
                    .when([
                        Compare::version(key.to_vec(), CompareOp::Greater, 0),
                        Compare::mod_revision(key.to_vec(), CompareOp::Equal, expected),
                    ])
                    .and_then([TxnOp::delete(
                        key.to_vec(),
                        Some(etcd_client::DeleteOptions::new().with_prev_key()),
                    )])
                    .or_else([TxnOp::get(key.to_vec(), None)])
            })
            .await?;
        if resp.succeeded() {
            let prev = resp.op_responses().into_iter().find_map(|op| match op {
                TxnOpResponse::Delete(del) => del.prev_kvs().first().cloned(),
                _ => None,
            });
            let prev =
                prev.ok_or_else(|| Error::Internal("etcd deleted without prev_kv".into()))?;
            return Ok((rev, inner.convert(prev)?));
        }
        let current = else_kv(&resp);
        if ambiguous {
            if let Some((event, then)) = inner.superseding_change(key, expected, deadline).await? {
                if event.event_type() == etcd_client::EventType::Delete {
                    let at = event.kv().map_or(0, |kv| kv.mod_revision());
                    return Ok((at, inner.convert(then)?));
                }
            }
        }
        Err(match current {
            None => Error::NotFound {
                key: store_key.to_vec(),
            },
            Some(kv) => Error::Conflict {
                key: store_key.to_vec(),
                expected,
                actual: kv.mod_revision(),
            },
        })
    }
}

#[async_trait]
impl Storage for EtcdStore {
    fn backend_name(&self) -> &'static str {
        "etcd"
    }

    async fn get(&self, key: &[u8]) -> Result<GetResponse> {
        let inner = self.inner();
        let etcd_key = inner.to_etcd(key)?;
        let done = inner
            .retry(Kind::Read, self.deadline(), || {
                let (mut kv, key) = (inner.kv.pick(), etcd_key.clone());
                async move { kv.get(key, None).await }
            })
            .await;
        let mut resp = match done {
            Ok(done) => done.value,
            Err(fail) => return Err(inner.read_error(fail, 0).await),
        };
        let revision = header_revision(resp.header());
        inner.note_seen(revision);
        let kv = resp.take_kvs().into_iter().next();
        Ok(GetResponse {
            kv: kv.map(|kv| inner.convert(kv)).transpose()?,
            revision,
        })
    }

    async fn list(&self, req: ListRequest) -> Result<ListResponse> {
        let inner = self.inner();
        if req.revision < 0 {
            return Err(Error::InvalidArgument(format!(
                "negative revision {}",
                req.revision
            )));
        }
        let (key, end) = inner.range_of(&req.prefix)?;
        let start = match &req.start_key {
            None => key,
            Some(start) if start.starts_with(&req.prefix) => {
                let start = inner.to_etcd(start)?;
                if start.is_empty() {
                    vec![0]
                } else {
                    start
                }
            }
            Some(start) => {
                return Err(Error::InvalidArgument(format!(
                    "start key {} is outside the prefix {}",
                    String::from_utf8_lossy(start),
                    String::from_utf8_lossy(&req.prefix)
                )))
            }
        };
        let compacted = inner.known_compacted();
        if req.revision > 0 && req.revision <= compacted {
            return Err(Error::Compacted {
                requested: req.revision,
                compacted,
            });
        }
        let mut opts = GetOptions::new().with_range(end);
        if req.revision > 0 {
            opts = opts.with_revision(req.revision);
        }
        if req.limit > 0 {
            opts = opts.with_limit(i64::try_from(req.limit).unwrap_or(i64::MAX));
        }
        let done = inner
            .retry(Kind::Read, Deadline::whole(inner.request_timeout), || {
                let (mut kv, start, opts) = (inner.kv.pick(), start.clone(), opts.clone());
                async move { kv.get(start, Some(opts)).await }
            })
            .await;
        let mut resp = match done {
            Ok(done) => done.value,
            Err(fail) => return Err(inner.read_error(fail, req.revision).await),
        };
        let current = header_revision(resp.header());
        inner.note_seen(current);
        let more = resp.more();
        // etcd counts every key of the range from the start key, whatever the limit.
        let total = usize::try_from(resp.count()).unwrap_or(0);
        let kvs = resp
            .take_kvs()
            .into_iter()
            .map(|kv| inner.convert(kv))
            .collect::<Result<Vec<_>>>()?;
        Ok(ListResponse {
            remaining: req.count_remaining.then(|| total.saturating_sub(kvs.len())),
            kvs,
            more,
            revision: if req.revision > 0 {
                req.revision
            } else {
                current
            },
        })
    }

    async fn count(&self, prefix: &[u8]) -> Result<usize> {
        let inner = self.inner();
        let (key, end) = inner.range_of(prefix)?;
        let done = inner
            .retry(Kind::Read, self.deadline(), || {
                let (mut kv, key, end) = (inner.kv.pick(), key.clone(), end.clone());
                async move {
                    kv.get(
                        key,
                        Some(GetOptions::new().with_range(end).with_count_only()),
                    )
                    .await
                }
            })
            .await;
        match done {
            Ok(done) => {
                inner.note_seen(header_revision(done.value.header()));
                Ok(usize::try_from(done.value.count()).unwrap_or(0))
            }
            Err(fail) => Err(inner.read_error(fail, 0).await),
        }
    }

    async fn create_with_ttl(
        &self,
        key: &[u8],
        value: Bytes,
        ttl: Option<Duration>,
    ) -> Result<Revision> {
        let inner = self.inner();
        let etcd_key = inner.to_etcd(key)?;
        let deadline = self.deadline();
        let put = self.put_options(ttl, deadline).await?;
        // Anything of ours is applied above this revision.
        let before = inner.seen.load(Ordering::SeqCst);
        let (resp, ambiguous, rev) = inner
            .txn(deadline, || {
                etcd_client::Txn::new()
                    .when([Compare::create_revision(
                        etcd_key.clone(),
                        CompareOp::Equal,
                        0,
                    )])
                    .and_then([TxnOp::put(etcd_key.clone(), value.to_vec(), put.clone())])
                    .or_else([TxnOp::get(etcd_key.clone(), None)])
            })
            .await?;
        if resp.succeeded() {
            return Ok(rev);
        }
        let exists = Error::AlreadyExists { key: key.to_vec() };
        let Some(current) = else_kv(&resp) else {
            return Err(exists);
        };
        if !ambiguous || current.create_revision() <= before {
            return Err(exists);
        }
        // An earlier attempt may have created the key: look for our create since `before`.
        if current.version() == 1 && current.value() == value.as_ref() {
            return Ok(current.create_revision());
        }
        let history = inner
            .key_history(&etcd_key, before, current.create_revision(), deadline)
            .await?;
        match history.iter().find(|e| is_put_of(e, &value, true)) {
            Some(ours) => Ok(ours.kv().map_or(0, |kv| kv.mod_revision())),
            None => Err(exists),
        }
    }

    async fn update_with_ttl(
        &self,
        key: &[u8],
        value: Bytes,
        expected: Revision,
        ttl: Option<Duration>,
    ) -> Result<Revision> {
        let inner = self.inner();
        let etcd_key = inner.to_etcd(key)?;
        let deadline = self.deadline();
        // Without a TTL the put carries no lease, which detaches the key from an old one.
        let put = self.put_options(ttl, deadline).await?;
        let (resp, ambiguous, rev) = inner
            .txn(deadline, || {
                etcd_client::Txn::new()
                    .when([
                        Compare::version(etcd_key.clone(), CompareOp::Greater, 0),
                        Compare::mod_revision(etcd_key.clone(), CompareOp::Equal, expected),
                    ])
                    .and_then([TxnOp::put(etcd_key.clone(), value.to_vec(), put.clone())])
                    .or_else([TxnOp::get(etcd_key.clone(), None)])
            })
            .await?;
        if resp.succeeded() {
            return Ok(rev);
        }
        let current = else_kv(&resp);
        if ambiguous && expected > 0 {
            if let Some((event, _)) = inner
                .superseding_change(&etcd_key, expected, deadline)
                .await?
            {
                if is_put_of(&event, &value, false) {
                    return Ok(event.kv().map_or(0, |kv| kv.mod_revision()));
                }
            }
        }
        Err(match current {
            None => Error::NotFound { key: key.to_vec() },
            Some(kv) => Error::Conflict {
                key: key.to_vec(),
                expected,
                actual: kv.mod_revision(),
            },
        })
    }

    async fn delete(&self, key: &[u8], expected: Option<Revision>) -> Result<(Revision, KeyValue)> {
        let inner = self.inner();
        let etcd_key = inner.to_etcd(key)?;
        let deadline = self.deadline();
        if let Some(expected) = expected {
            return self.delete_at(key, &etcd_key, expected, deadline).await;
        }
        // Unconditional: read the mod revision, then delete at it (so an ambiguous failure can be
        // resolved), again when a concurrent write got in between.
        loop {
            let current = self.get(key).await?;
            let Some(kv) = current.kv else {
                return Err(Error::NotFound { key: key.to_vec() });
            };
            match self
                .delete_at(key, &etcd_key, kv.mod_revision, deadline)
                .await
            {
                Err(Error::Conflict { .. }) if !deadline.remaining().is_zero() => continue,
                other => return other,
            }
        }
    }

    async fn watch_progress(&self, prefix: &[u8], after: Revision) -> Result<ProgressStream> {
        crate::watch::watch(self.inner.clone(), prefix, after).await
    }

    async fn request_progress(&self) -> Result<()> {
        self.inner.requests.send_modify(|n| *n = n.wrapping_add(1));
        Ok(())
    }

    async fn current_revision(&self) -> Result<Revision> {
        self.inner().current(self.deadline()).await
    }

    async fn compacted_revision(&self) -> Result<Revision> {
        let inner = self.inner();
        // What another replica's compactor (or kube-apiserver's) recorded.
        let done = inner
            .retry(Kind::Read, self.deadline(), || {
                let mut kv = inner.kv.pick();
                async move { kv.get(COMPACT_REV_KEY.to_vec(), None).await }
            })
            .await;
        match done {
            Ok(done) => {
                let recorded = done
                    .value
                    .kvs()
                    .first()
                    .and_then(|kv| std::str::from_utf8(kv.value()).ok()?.parse().ok());
                if let Some(recorded) = recorded {
                    inner.note_compacted(recorded);
                }
            }
            Err(fail) => return Err(inner.read_error(fail, 0).await),
        }
        Ok(inner.known_compacted())
    }

    async fn compact(&self, revision: Revision) -> Result<()> {
        let inner = self.inner();
        if revision <= inner.known_compacted() {
            return Ok(());
        }
        let done = inner
            .retry(Kind::Write, self.deadline(), || {
                let mut kv = inner.kv.pick();
                async move { kv.compact(revision, None).await }
            })
            .await;
        match done {
            // Compacted: etcd is compacted at or above `revision` already.
            Ok(_) | Err(Fail::Compacted) => {
                inner.note_compacted(revision);
                Ok(())
            }
            Err(fail) => Err(inner.read_error(fail, revision).await),
        }
    }
}
