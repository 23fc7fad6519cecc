//! The store: opening (connection, schema, background tasks), error mapping, reads, and the
//! [`Storage`] implementation that ties the writer, watches and compaction together.

use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use apiary_storage::{
    prefix_end, Error, GetResponse, KeyValue, ListRequest, ListResponse, ProgressStream, Result,
    Revision, Storage,
};
use async_trait::async_trait;
use bytes::Bytes;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow};
use sqlx::{Connection, Row};
use tokio::sync::{broadcast, mpsc};
use tokio::task::AbortHandle;

use crate::sql::{self, Ranged};
use crate::writer;
use crate::{compaction, expiry, watch, OpenError, PostgresOptions};
use apiary_storage::WriteOp;

/// The schema, embedded at build time from `migrations/` at the repository root.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// A pooled connection idle longer than this is pinged before use, so connections a restarted
/// server dropped are replaced instead of failing a request.
const PING_IDLE: Duration = Duration::from_secs(1);

/// What the store, its writer, tailer, watch replays and compaction share.
pub(crate) struct Inner {
    pub pool: PgPool,
    pub opts: PostgresOptions,
    /// The highest revision known to be committed: this replica's writes and the payloads of
    /// `NOTIFY`. Every change (and every lost listener connection) wakes the watch tailer.
    pub committed: tokio::sync::watch::Sender<Revision>,
}

impl Inner {
    /// The longest one call may take: waiting for a connection plus the statement timeout, and a
    /// little more; past it the call fails with `Timeout` (a server that stopped answering).
    fn call_timeout(&self) -> Duration {
        self.opts.connect_timeout + self.opts.statement_timeout + Duration::from_secs(1)
    }

    /// Awaits a database call under the call timeout, mapping its error.
    pub async fn run<T>(&self, call: impl Future<Output = sqlx::Result<T>>) -> Result<T> {
        match tokio::time::timeout(self.call_timeout(), call).await {
            Ok(result) => result.map_err(map_err),
            Err(_) => Err(Error::Timeout(format!(
                "postgres: no answer within {:?}",
                self.call_timeout()
            ))),
        }
    }

    /// Like [`run`](Self::run) for a read, which is retried once when its connection turned out to
    /// be broken (for example dropped by a restarted server).
    pub async fn read<T, F, Fut>(&self, call: F) -> Result<T>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = sqlx::Result<T>>,
    {
        match tokio::time::timeout(self.call_timeout(), call()).await {
            Ok(Err(err)) if broken_connection(&err) => self.run(call()).await,
            Ok(result) => result.map_err(map_err),
            Err(_) => Err(Error::Timeout(format!(
                "postgres: no answer within {:?}",
                self.call_timeout()
            ))),
        }
    }

    /// One counter of `apiary_meta`.
    pub async fn meta(&self, name: &'static str) -> Result<Revision> {
        self.read(|| {
            sqlx::query_scalar::<_, i64>(sql::META)
                .bind(name)
                .fetch_one(&self.pool)
        })
        .await
    }
}

/// Whether an error means the connection is gone (rather than the statement failing).
fn broken_connection(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_) | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|c| c.starts_with("57P")),
        _ => false,
    }
}

/// Maps a database error onto the storage errors: connection trouble is `Unavailable` (a retry may
/// succeed), statement and lock timeouts are `Timeout`, anything else `Internal`.
pub(crate) fn map_err(err: sqlx::Error) -> Error {
    let line = || format!("postgres: {}", one_line(&err));
    match &err {
        sqlx::Error::PoolTimedOut => Error::Unavailable(
            "postgres: no database connection in time (database unreachable or pool exhausted)"
                .into(),
        ),
        sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_) => Error::Unavailable(line()),
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            match code.as_ref() {
                // query_canceled (statement_timeout), lock_not_available.
                "57014" | "55P03" => Error::Timeout(line()),
                // program_limit_exceeded: a key too long for the index (about 2.7 kB after
                // compression).
                "54000" => Error::InvalidArgument(line()),
                // serialization_failure, deadlock_detected: a retry succeeds.
                "40001" | "40P01" => Error::Unavailable(line()),
                // connection exceptions, operator intervention (shutdown, restart), insufficient
                // resources (too many connections, disk full).
                c if c.starts_with("08") || c.starts_with("57P") || c.starts_with("53") => {
                    Error::Unavailable(line())
                }
                _ => Error::Internal(line()),
            }
        }
        _ => Error::Internal(line()),
    }
}

/// An error message on one line.
pub(crate) fn one_line(err: &impl std::fmt::Display) -> String {
    err.to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A decoding failure: the schema is not what this build expects.
pub(crate) fn decode_err(err: sqlx::Error) -> Error {
    Error::Internal(format!("postgres: unexpected row: {}", one_line(&err)))
}

/// An Apiary store in a PostgreSQL database. Open it with [`open`]; several processes (replicas)
/// may open the same database at once.
///
/// Dropping it stops its listener, watch tailer and background compaction (open watches end with
/// `Unavailable`); writes already queued still complete.
pub struct PostgresStore {
    inner: Arc<Inner>,
    writes: mpsc::Sender<writer::Request>,
    events: broadcast::Sender<watch::Msg>,
    /// Counts progress requests; each change wakes the watch tailer.
    requests: tokio::sync::watch::Sender<u64>,
    tasks: Vec<AbortHandle>,
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Connects to `opts.url`, applies the schema (`migrations/`; concurrent starts are safe: the
/// migrator holds an advisory lock), and starts the store's writer, `LISTEN` connection, watch
/// tailer and (unless disabled) background compaction. Must be called within a tokio runtime.
///
/// Fails within about `opts.connect_timeout` with a one-line [`OpenError`] when the database
/// cannot be reached.
pub async fn open(opts: PostgresOptions) -> Result<Arc<PostgresStore>, OpenError> {
    if opts.keep_revisions < 0
        || opts.max_connections < 2
        || opts.watch_buffer == 0
        || opts.max_batch == 0
        || opts.write_pipeline == 0
        || opts.connect_timeout.is_zero()
        || opts.poll_interval.is_zero()
        || opts.expiry_interval.is_zero()
    {
        return Err(OpenError::InvalidOptions(
            "keep_revisions must be >= 0, max_connections >= 2, watch_buffer, max_batch, \
             write_pipeline, connect_timeout, poll_interval and expiry_interval > 0"
                .into(),
        ));
    }
    if !(opts.url.starts_with("postgres://") || opts.url.starts_with("postgresql://")) {
        return Err(OpenError::InvalidOptions(
            "the URL must start with postgres:// or postgresql://".into(),
        ));
    }
    let connect = PgConnectOptions::from_str(&opts.url)
        .map_err(|e| OpenError::InvalidOptions(format!("the URL: {}", one_line(&e))))?
        .application_name("apiary")
        .options([
            (
                "statement_timeout",
                format!("{}ms", opts.statement_timeout.as_millis().max(1)),
            ),
            // Every statement reads an index range in order with a limit, or looks up keys. A
            // bitmap scan reads the whole range and sorts it, which the planner picks when
            // statistics are stale (right after a bulk load): a page of 500 then takes 100 ms.
            ("enable_bitmapscan", "off".into()),
        ]);

    // One connection first: a clear error when the database is unreachable, and the schema.
    let mut conn = match tokio::time::timeout(
        opts.connect_timeout,
        PgConnection::connect_with(&connect),
    )
    .await
    {
        Ok(Ok(conn)) => conn,
        Ok(Err(err)) => return Err(OpenError::Connect(one_line(&err))),
        Err(_) => {
            return Err(OpenError::Connect(format!(
                "no answer within {:?}",
                opts.connect_timeout
            )))
        }
    };
    MIGRATOR
        .run(&mut conn)
        .await
        .map_err(|e| OpenError::Migrate(one_line(&e)))?;
    let current: i64 = sqlx::query_scalar(sql::META)
        .bind("revision")
        .fetch_one(&mut conn)
        .await
        .map_err(|e| OpenError::Migrate(one_line(&e)))?;
    let _ = conn.close().await;

    let pool = PgPoolOptions::new()
        .max_connections(opts.max_connections)
        .acquire_timeout(opts.connect_timeout)
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for > PING_IDLE {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
        .connect_lazy_with(connect.clone());
    // Its own pool of one, so LISTEN never waits behind requests for a connection.
    let listen_pool = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(opts.connect_timeout)
        .connect_lazy_with(connect);

    let (committed, committed_rx) = tokio::sync::watch::channel(current);
    let inner = Arc::new(Inner {
        pool,
        opts,
        committed,
    });
    let (events, _) = broadcast::channel(inner.opts.watch_buffer);
    let (requests, requests_rx) = tokio::sync::watch::channel(0);
    let mut tasks = vec![
        tokio::spawn(watch::listen(listen_pool, inner.committed.clone())).abort_handle(),
        tokio::spawn(watch::tail(
            inner.clone(),
            events.clone(),
            committed_rx,
            requests_rx,
            current,
        ))
        .abort_handle(),
    ];
    if !inner.opts.compaction_interval.is_zero() {
        tasks.push(tokio::spawn(compaction::background(inner.clone())).abort_handle());
    }
    tasks.push(tokio::spawn(expiry::background(inner.clone())).abort_handle());
    let writes = writer::start(inner.clone());
    Ok(Arc::new(PostgresStore {
        inner,
        writes,
        events,
        requests,
        tasks,
    }))
}

/// The lower and upper bound of a list: the start key (or the prefix) and the prefix's end.
fn range(req: &ListRequest) -> Result<(&[u8], Option<Vec<u8>>)> {
    if req.revision < 0 {
        return Err(Error::InvalidArgument(format!(
            "negative revision {}",
            req.revision
        )));
    }
    let lower = match &req.start_key {
        Some(start) if !start.starts_with(&req.prefix) => {
            return Err(Error::InvalidArgument(
                "the start key is outside the prefix".into(),
            ))
        }
        Some(start) => start.as_slice(),
        None => req.prefix.as_slice(),
    };
    Ok((lower, prefix_end(&req.prefix)))
}

/// Binds a range's bounds to a [`Ranged`] statement: `$1` lower, `$2` upper (unused when none).
pub(crate) fn ranged<'q>(
    stmt: &Ranged,
    lower: &'q [u8],
    upper: &'q Option<Vec<u8>>,
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    sqlx::query(stmt.get(upper.is_some()))
        .bind(lower)
        .bind(upper.as_deref())
}

/// Turns the data columns `first..first + 4` (key, create revision, mod revision, value) of
/// list rows into keys, in key order; rows without a key (no match) are skipped.
fn key_values(rows: &[PgRow], first: usize) -> Result<Vec<KeyValue>> {
    let mut kvs = Vec::with_capacity(rows.len());
    for row in rows {
        let Some(key) = row
            .try_get::<Option<Vec<u8>>, _>(first)
            .map_err(decode_err)?
        else {
            continue;
        };
        kvs.push(KeyValue {
            stale: false,
            key,
            create_revision: row.try_get(first + 1).map_err(decode_err)?,
            mod_revision: row.try_get(first + 2).map_err(decode_err)?,
            value: Bytes::from(
                row.try_get::<Option<Vec<u8>>, _>(first + 3)
                    .map_err(decode_err)?
                    .unwrap_or_default(),
            ),
        });
    }
    kvs.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(kvs)
}

impl PostgresStore {
    /// The options the store was opened with.
    pub fn options(&self) -> &PostgresOptions {
        &self.inner.opts
    }

    /// The store's connection pool, for diagnostics and tests (for example `EXPLAIN`).
    pub fn pool(&self) -> &PgPool {
        &self.inner.pool
    }

    /// Checks the store's invariants for the keys under `prefix`: every live key's row points at
    /// its latest version in the log, with the same create revision, at or below the current
    /// revision; and every key whose latest version is not a delete is live. For tests and
    /// diagnostics; reads every version under the prefix.
    pub async fn verify(&self, prefix: &[u8]) -> Result<()> {
        let upper = prefix_end(prefix);
        for (stmt, what) in [
            (&sql::VERIFY_KV, "its live row disagrees with the log"),
            (
                &sql::VERIFY_LOG,
                "its latest version is live but the key is not",
            ),
        ] {
            let bad = self
                .inner
                .read(|| ranged(stmt, prefix, &upper).fetch_optional(&self.inner.pool))
                .await?;
            if let Some(row) = bad {
                let key: Vec<u8> = row.try_get(0).map_err(decode_err)?;
                return Err(Error::Internal(format!(
                    "key {}: {what}",
                    String::from_utf8_lossy(&key)
                )));
            }
        }
        Ok(())
    }

    async fn write(&self, op: WriteOp) -> Result<writer::Outcome> {
        writer::submit(&self.writes, op).await
    }
}

#[async_trait]
impl Storage for PostgresStore {
    fn backend_name(&self) -> &'static str {
        "postgres"
    }

    async fn get(&self, key: &[u8]) -> Result<GetResponse> {
        let inner = &self.inner;
        let row = inner
            .read(|| sqlx::query(sql::GET).bind(key).fetch_one(&inner.pool))
            .await?;
        let revision: i64 = row.try_get(0).map_err(decode_err)?;
        let create: Option<i64> = row.try_get(1).map_err(decode_err)?;
        let kv = match create {
            None => None,
            Some(create_revision) => Some(KeyValue {
                stale: false,
                key: key.to_vec(),
                create_revision,
                mod_revision: row.try_get(2).map_err(decode_err)?,
                value: Bytes::from(
                    row.try_get::<Option<Vec<u8>>, _>(3)
                        .map_err(decode_err)?
                        .unwrap_or_default(),
                ),
            }),
        };
        Ok(GetResponse { kv, revision })
    }

    async fn list(&self, req: ListRequest) -> Result<ListResponse> {
        let (lower, upper) = range(&req)?;
        // One more than asked, to tell whether more remain.
        let fetch = (req.limit > 0).then(|| req.limit as i64 + 1);
        let inner = &self.inner;
        let counted = req.count_remaining;
        let (revision, mut kvs, rows) = if req.revision == 0 {
            let stmt = if counted {
                &sql::LIST_CURRENT_COUNTED
            } else {
                &sql::LIST_CURRENT
            };
            let rows = inner
                .read(|| {
                    ranged(stmt, lower, &upper)
                        .bind(fetch)
                        .fetch_all(&inner.pool)
                })
                .await?;
            let first = rows
                .first()
                .ok_or_else(|| Error::Internal("postgres: no revision row".into()))?;
            let revision = first.try_get(0).map_err(decode_err)?;
            (revision, key_values(&rows, 1)?, rows)
        } else {
            let stmt = if counted {
                &sql::LIST_AT_COUNTED
            } else {
                &sql::LIST_AT
            };
            let rows = inner
                .read(|| {
                    ranged(stmt, lower, &upper)
                        .bind(req.revision)
                        .bind(fetch)
                        .fetch_all(&inner.pool)
                })
                .await?;
            let first = rows
                .first()
                .ok_or_else(|| Error::Internal("postgres: no revision row".into()))?;
            let current: i64 = first.try_get(0).map_err(decode_err)?;
            let compacted: i64 = first.try_get(1).map_err(decode_err)?;
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
            (req.revision, key_values(&rows, 2)?, rows)
        };
        let more = req.limit > 0 && kvs.len() > req.limit;
        kvs.truncate(if req.limit > 0 { req.limit } else { kvs.len() });
        // The count of the whole range from the lower bound is the last column of every row.
        let remaining = match rows.first() {
            Some(row) if counted => {
                let total: i64 = row.try_get(row.len() - 1).map_err(decode_err)?;
                Some(
                    usize::try_from(total)
                        .unwrap_or(0)
                        .saturating_sub(kvs.len()),
                )
            }
            _ => None,
        };
        Ok(ListResponse {
            kvs,
            more,
            revision,
            remaining,
        })
    }

    async fn count(&self, prefix: &[u8]) -> Result<usize> {
        let upper = prefix_end(prefix);
        let inner = &self.inner;
        let row = inner
            .read(|| ranged(&sql::COUNT, prefix, &upper).fetch_one(&inner.pool))
            .await?;
        let n: i64 = row.try_get(0).map_err(decode_err)?;
        Ok(n as usize)
    }

    async fn create_with_ttl(
        &self,
        key: &[u8],
        value: Bytes,
        ttl: Option<Duration>,
    ) -> Result<Revision> {
        let op = WriteOp::Create {
            key: key.to_vec(),
            value,
            ttl,
        };
        Ok(self.write(op).await?.revision)
    }

    async fn update_with_ttl(
        &self,
        key: &[u8],
        value: Bytes,
        expected: Revision,
        ttl: Option<Duration>,
    ) -> Result<Revision> {
        let op = WriteOp::Update {
            key: key.to_vec(),
            value,
            expected,
            ttl,
        };
        Ok(self.write(op).await?.revision)
    }

    async fn delete(&self, key: &[u8], expected: Option<Revision>) -> Result<(Revision, KeyValue)> {
        let op = WriteOp::Delete {
            key: key.to_vec(),
            expected,
        };
        let outcome = self.write(op).await?;
        let prior = outcome
            .prior
            .ok_or_else(|| Error::Internal("postgres: a delete returned no prior value".into()))?;
        Ok((outcome.revision, prior))
    }

    async fn watch_progress(&self, prefix: &[u8], after: Revision) -> Result<ProgressStream> {
        watch::watch(self.inner.clone(), &self.events, prefix, after).await
    }

    async fn request_progress(&self) -> Result<()> {
        self.requests.send_modify(|n| *n = n.wrapping_add(1));
        Ok(())
    }

    async fn current_revision(&self) -> Result<Revision> {
        self.inner.meta("revision").await
    }

    async fn compacted_revision(&self) -> Result<Revision> {
        self.inner.meta("compacted").await
    }

    async fn compact(&self, revision: Revision) -> Result<()> {
        compaction::compact(&self.inner, revision).await
    }
}
