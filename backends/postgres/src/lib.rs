//! Apiary's PostgreSQL storage backend: several Apiary replicas sharing one database.
//!
//! The schema (`migrations/` at the repository root, applied by [`open`]) has four tables:
//!
//! * `apiary_log` — one row per revision: the key, its value (none for a delete), its create
//!   revision and the revision it replaced. It is both the history (lists at older revisions) and
//!   the event log watches replay.
//! * `apiary_kv` — the live keys with their create and mod revisions; the value is the log row at
//!   the mod revision. Keys are `bytea`, so ordering is byte-wise and a prefix is an index range.
//! * `apiary_meta` — the current revision (the *write lock* row), the compacted revision and the
//!   compaction progress.
//! * `apiary_expiry` — one row per write with a TTL (its revision, key and deadline), swept by a
//!   background task that deletes due keys whose mod revision still matches (`expiry.rs`).
//!
//! **Commit order.** Every write transaction first locks the `revision` row of `apiary_meta` and
//! only then picks its revision (`revision + 1`), keeping the lock until it commits. The next writer
//! (of any replica) gets the row only after that commit is visible, so revisions become visible in
//! revision order: a reader that sees revision `N` sees every revision below it, and a watcher
//! reading `revision > last_seen` can never skip a write that commits later with a smaller one.
//!
//! **Group commit.** Writes of one replica go through one queue: a writer takes what is queued (up
//! to [`PostgresOptions::max_batch`]) and applies it with one call of the SQL function
//! `apiary_write` — one round trip and one WAL flush for the whole group; the next group fills up
//! while one commits ([`PostgresOptions::write_pipeline`] allows more groups in flight).
//!
//! **Watches.** `apiary_write` sends `NOTIFY apiary_events, '<revision>'` with the commit. One
//! `LISTEN` connection per store wakes one *tailer* task, which reads the log after its position
//! and broadcasts the events in-process to every watcher of the store; it also polls every
//! [`PostgresOptions::poll_interval`] in case a notification was lost. A watcher replays the log
//! from its start revision, then follows the broadcast. See `README.md` for the details.
//!
//! **Compaction** raises the compacted revision first, then deletes superseded versions and
//! delete markers at or below it in small transactions; a background task keeps the last
//! [`PostgresOptions::keep_revisions`] revisions.

mod compaction;
mod expiry;
pub mod sql;
mod store;
#[cfg(feature = "testing")]
pub mod testing;
mod watch;
mod writer;

use std::time::Duration;

pub use store::{open, PostgresStore};

/// How to open a PostgreSQL store. The server maps `[storage.postgres]` onto it.
#[derive(Debug, Clone)]
pub struct PostgresOptions {
    /// The connection URL, e.g. `postgres://apiary:secret@localhost:5432/apiary`
    /// (`storage.postgres.url`). No default worth using: set it.
    pub url: String,
    /// The size of this replica's connection pool (`storage.postgres.max_connections`). One more
    /// connection is held for `LISTEN`. Default 32.
    pub max_connections: u32,
    /// How long opening a connection, or waiting for a free one, may take
    /// (`storage.postgres.connect_timeout_seconds`). Past it a call fails with `Unavailable`, so
    /// with the database down calls fail fast instead of hanging. Default 5 s.
    pub connect_timeout: Duration,
    /// PostgreSQL's `statement_timeout` for this store's statements; a statement running longer
    /// fails with `Timeout`. Default 30 s.
    pub statement_timeout: Duration,
    /// How often the background compaction runs (`storage.postgres.compaction_interval_seconds`).
    /// `Duration::ZERO` disables it ([`compact`](apiary_storage::Storage::compact) still works).
    /// Default 300 s.
    pub compaction_interval: Duration,
    /// How many of the latest revisions the background compaction keeps for lists at older
    /// revisions and watches from the past (`storage.postgres.keep_revisions`). Default 10 000.
    pub keep_revisions: i64,
    /// How often the watch tailer reads the log even without a notification (a fallback for a lost
    /// `NOTIFY` or a reconnecting listener). Default 1 s.
    pub poll_interval: Duration,
    /// How many broadcast messages (each one or more events) a watcher may fall behind before it
    /// is ended with `WatchLagged`. Default 256.
    pub watch_buffer: usize,
    /// The most writes applied together in one transaction. Default 256.
    pub max_batch: usize,
    /// How many write transactions of this replica may be in flight at once. Default 1: groups
    /// are formed while one commits, which measured best against a local server; 2 hides the
    /// round trip to a distant database (the next group waits for the write lock inside it).
    pub write_pipeline: usize,
    /// How often the expiry sweep deletes keys whose TTL ran out. Default 1 s; must be above zero.
    pub expiry_interval: Duration,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            url: "postgres://localhost/apiary".into(),
            max_connections: 32,
            connect_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(30),
            compaction_interval: Duration::from_secs(300),
            keep_revisions: 10_000,
            poll_interval: Duration::from_secs(1),
            watch_buffer: 256,
            max_batch: 256,
            write_pipeline: 1,
            expiry_interval: Duration::from_secs(1),
        }
    }
}

impl PostgresOptions {
    /// Defaults with the given connection URL.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            ..Self::default()
        }
    }
}

/// Why [`open`] failed. `Display` is one line, without the URL (callers name the setting and show
/// the URL with its password hidden).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// An option is out of range, or the URL does not parse.
    #[error("invalid options: {0}")]
    InvalidOptions(String),
    /// The database could not be reached or refused the login.
    #[error("cannot connect: {0}")]
    Connect(String),
    /// Applying the schema failed.
    #[error("cannot apply the schema: {0}")]
    Migrate(String),
}
