//! Apiary's etcd storage backend: the `apiary_storage::Storage` contract mapped directly onto etcd's
//! MVCC key space, the way kube-apiserver's own `etcd3` store uses it.
//!
//! * **Keys**: every key the server hands over starts with [`EtcdOptions::strip`] (`/registry`);
//!   in etcd it is stored as [`EtcdOptions::prefix`] followed by the rest, so with the defaults a
//!   ConfigMap lives at `/registry/configmaps/<namespace>/<name>`, exactly where kube-apiserver puts
//!   it. Values are stored as given.
//! * **Revisions** are etcd's: a write returns the revision in its response header, a read the
//!   header revision it was served at, and a key's create/mod revisions are etcd's.
//! * **Writes** are single transactions guarded like upstream's: create compares
//!   `create_revision == 0`, update and delete compare `mod_revision == expected`, and the `Else`
//!   branch reads the key so a failed precondition answers `AlreadyExists`, `Conflict` or
//!   `NotFound` in the same round trip.
//! * **Watches** are native etcd watches with previous values and progress notifications, one etcd
//!   watch per [`watch`](apiary_storage::Storage::watch) call, all multiplexed over the store's
//!   watch channel; a broken stream resumes from the last delivered revision (see `watch.rs`).
//! * **Connections**: reads and writes are spread round-robin over
//!   [`EtcdOptions::connections`] gRPC channels, watches run on one more (see `pool.rs`).
//! * **Failover**: every call runs under [`EtcdOptions::request_timeout`] and is retried on
//!   transient failures (member lost, no leader, connection refused). A write whose first attempt
//!   failed ambiguously is retried with the same guard, so it applies at most once, and its outcome
//!   is then established from etcd's history (see `call.rs`).
//! * **Compaction**: a background loop compacts to the revision seen one interval earlier, shared
//!   with other replicas (and kube-apiserver) through the `compact_rev_key` compare-and-swap of
//!   upstream's `compact.go`.
//!
//! See `README.md` for the details.
#![warn(missing_docs)]

mod call;
mod compactor;
mod lease;
mod pool;
mod store;
#[cfg(feature = "testing")]
pub mod testing;
mod watch;

use std::path::PathBuf;
use std::time::Duration;

pub use store::{open, EtcdStore};

/// How to open an etcd store. The server maps `[storage.etcd]` onto it.
#[derive(Debug, Clone)]
pub struct EtcdOptions {
    /// The client URLs of the etcd members, e.g. `http://127.0.0.1:2379`
    /// (`storage.etcd.endpoints`). Requests are balanced over all of them and fail over between them.
    pub endpoints: Vec<String>,
    /// The leading bytes every key handed to the store starts with; they are replaced by
    /// [`prefix`](Self::prefix) in etcd. A key (or list/watch prefix) not starting with them is an
    /// `InvalidArgument`. The server passes `/registry`. Default empty.
    pub strip: Vec<u8>,
    /// What replaces [`strip`](Self::strip) in etcd (`storage.etcd.prefix`, as kube-apiserver's
    /// `--etcd-prefix`). Default empty.
    pub prefix: Vec<u8>,
    /// A PEM CA bundle that verifies the members' certificates (enables TLS; use `https://`
    /// endpoints).
    pub ca_file: Option<PathBuf>,
    /// A PEM client certificate presented to the members, with [`key_file`](Self::key_file).
    pub cert_file: Option<PathBuf>,
    /// The PEM private key of [`cert_file`](Self::cert_file).
    pub key_file: Option<PathBuf>,
    /// How long connecting may take: [`open`] fails when no member answers within it, and each
    /// connection attempt to a member is bounded by it. Default 5 s.
    pub dial_timeout: Duration,
    /// The deadline of one storage call, retries included; past it the call fails with `Timeout`
    /// (or `Unavailable` when no member could be reached). A watch whose stream broke ends with
    /// `Unavailable` when it could not be resumed within it. Default 10 s.
    pub request_timeout: Duration,
    /// How often etcd is compacted to the revision seen one interval earlier, as kube-apiserver's
    /// `--etcd-compaction-interval`. `Duration::ZERO` disables the loop
    /// ([`compact`](apiary_storage::Storage::compact) still works). Default 5 minutes.
    pub compaction_interval: Duration,
    /// How many etcd watch responses (each the events of one or more revisions) a watcher may
    /// have waiting unconsumed before it is ended with `WatchLagged`. Default 1024.
    pub watch_buffer: usize,
    /// How many gRPC channels (each one HTTP/2 connection per member) carry reads and writes,
    /// used round-robin (`storage.etcd.connections`); watches use one more of their own. One
    /// channel funnels every call through one client task and one connection, so concurrent
    /// writes queue there; etcd's own benchmark tool spreads its clients over several
    /// connections for the same reason. `0` counts as 1. Default 4.
    pub connections: usize,
}

impl Default for EtcdOptions {
    fn default() -> Self {
        Self {
            endpoints: vec!["http://127.0.0.1:2379".into()],
            strip: Vec::new(),
            prefix: Vec::new(),
            ca_file: None,
            cert_file: None,
            key_file: None,
            dial_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
            compaction_interval: Duration::from_secs(300),
            watch_buffer: 1024,
            connections: 4,
        }
    }
}

impl EtcdOptions {
    /// Defaults with the given endpoints.
    pub fn new<S: Into<String>>(endpoints: impl IntoIterator<Item = S>) -> Self {
        Self {
            endpoints: endpoints.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }
}

/// Why [`open`] failed. Its `Display` is one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// The options are unusable (no endpoint, a bad URL, TLS settings that do not fit).
    #[error("invalid etcd options: {0}")]
    Invalid(String),
    /// A TLS file could not be read.
    #[error("cannot read {path}: {why}")]
    Tls {
        /// The file.
        path: String,
        /// The I/O error.
        why: String,
    },
    /// No member answered within [`EtcdOptions::dial_timeout`].
    #[error("no etcd endpoint answered within {timeout:?}: {last}")]
    Unreachable {
        /// The dial timeout.
        timeout: Duration,
        /// The last error seen.
        last: String,
    },
}
