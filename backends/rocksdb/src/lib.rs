//! Apiary's embedded storage backend on RocksDB.
//!
//! One process owns the database directory. The store keeps five column families (see
//! `README.md` and [`encoding`](self) for the byte layouts):
//!
//! * `kv` — the current value of every key with its create and mod revisions;
//! * `history` — every version of every key after the compacted revision, keyed by key then
//!   revision, so a list at an older revision is a range scan;
//! * `log` — one entry per revision, keyed by big-endian revision, naming the key, the kind of
//!   change and the previous version: the source of watch replay and of compaction;
//! * `meta` — the current and the compacted revision;
//! * `expiry` — one entry per write with a TTL, keyed by big-endian deadline (milliseconds since
//!   the Unix epoch) then key, valued with the write's mod revision; swept by [`expiry`](self).
//!
//! **Writes** go to one writer thread through a channel. The writer drains whatever is queued (group
//! commit), checks each write's precondition against the current state including earlier writes of
//! the same batch, gives the successful ones consecutive revisions, commits all of them in one
//! `WriteBatch` (with a synced WAL unless [`RocksDbOptions::sync`] is off), then publishes the
//! batch's events and answers the callers. An acknowledged write survives `kill -9`.
//!
//! **Reads** run on tokio's blocking pool against a RocksDB snapshot, and report the revision stored
//! in that same snapshot.
//!
//! **Watches** subscribe to the in-process broadcast of committed batches, then replay the log up
//! to the revision current at subscription, then follow the broadcast, skipping what the replay
//! already delivered. A watcher more than [`RocksDbOptions::watch_buffer`] batches behind ends with
//! [`Error::WatchLagged`](apiary_storage::Error::WatchLagged). A progress stream reports its
//! position after every batch and, on a progress request, once it has taken every batch published
//! so far.
//!
//! **Compaction** records the new compacted revision first, then deletes the superseded history
//! and the log at and below it in small batches, outside the writer. A background task keeps the
//! last [`RocksDbOptions::keep_revisions`] revisions.

mod backend;
mod compaction;
mod encoding;
mod expiry;
mod watch;
mod writer;

use std::path::PathBuf;
use std::time::Duration;

pub use backend::{open, RocksDbStorage};

/// How to open a RocksDB store. The server maps its configuration onto it:
/// `storage.rocksdb.path`, `storage.rocksdb.compaction_interval_seconds`,
/// `storage.rocksdb.keep_revisions`.
#[derive(Debug, Clone)]
pub struct RocksDbOptions {
    /// The database directory; created when missing. Default `data/rocksdb`.
    pub path: PathBuf,
    /// Sync the write-ahead log before acknowledging a write. Default `true`; turning it off trades
    /// the survival of acknowledged writes on power loss or `kill -9` for throughput.
    pub sync: bool,
    /// How often the background compaction runs. Default 60 s; `Duration::ZERO` disables it
    /// ([`RocksDbStorage::compact`](apiary_storage::Storage::compact) still works).
    pub compaction_interval: Duration,
    /// How many of the latest revisions the background compaction keeps for lists at older
    /// revisions and watches from the past. Default 10 000.
    pub keep_revisions: i64,
    /// How many committed write batches a watcher may fall behind before it is ended with
    /// `WatchLagged`. Default 1024 (each batch holds one or more writes).
    pub watch_buffer: usize,
    /// The most writes committed together in one group commit. Default 256.
    pub max_batch: usize,
    /// How often the expiry sweep deletes keys whose TTL ran out. Default 1 s; must be above zero.
    pub expiry_interval: Duration,
}

impl Default for RocksDbOptions {
    fn default() -> Self {
        Self {
            path: PathBuf::from("data/rocksdb"),
            sync: true,
            compaction_interval: Duration::from_secs(60),
            keep_revisions: 10_000,
            watch_buffer: 1024,
            max_batch: 256,
            expiry_interval: Duration::from_secs(1),
        }
    }
}

impl RocksDbOptions {
    /// Defaults with the given directory.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            ..Self::default()
        }
    }
}
