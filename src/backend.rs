//! The one place that opens a storage backend.
//!
//! [`open`] maps `[storage]` onto the chosen engine's crate and returns it behind the storage
//! trait; nothing else in the server names a backend crate. A backend missing from this build, or
//! one that cannot be opened, is a [`BackendError`] whose `Display` is one line naming the
//! setting; start-up reports it and exits with status 2.

use std::sync::Arc;
use std::time::Duration;

use apiary_storage::Storage;

use crate::config::{BackendKind, StorageConfig};

/// The storage could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// `storage.backend` names an engine this build does not contain.
    #[error("storage.backend = \"{0}\": this backend is not available in this build yet")]
    NotAvailable(BackendKind),
    /// The engine refused its settings or could not be reached.
    #[error("{setting} = {value:?}: {why}")]
    Open {
        /// The setting most likely at fault: `storage.rocksdb.path`, `storage.postgres.url`, ...
        setting: &'static str,
        value: String,
        why: String,
    },
}

/// Opens the configured backend.
pub async fn open(cfg: &StorageConfig) -> Result<Arc<dyn Storage>, BackendError> {
    match cfg.backend {
        BackendKind::Rocksdb => open_rocksdb(cfg).await,
        kind @ (BackendKind::Postgres | BackendKind::Etcd) => Err(BackendError::NotAvailable(kind)),
    }
}

async fn open_rocksdb(cfg: &StorageConfig) -> Result<Arc<dyn Storage>, BackendError> {
    let rocksdb = &cfg.rocksdb;
    let keep_revisions = i64::try_from(rocksdb.keep_revisions).map_err(|_| BackendError::Open {
        setting: "storage.rocksdb.keep_revisions",
        value: rocksdb.keep_revisions.to_string(),
        why: "too large".into(),
    })?;
    let options = apiary_rocksdb::RocksDbOptions {
        compaction_interval: Duration::from_secs(rocksdb.compaction_interval_seconds),
        keep_revisions,
        ..apiary_rocksdb::RocksDbOptions::new(rocksdb.path.clone())
    };
    let storage = apiary_rocksdb::open(options)
        .await
        .map_err(|err| BackendError::Open {
            setting: "storage.rocksdb.path",
            value: rocksdb.path.display().to_string(),
            why: err.to_string(),
        })?;
    Ok(storage)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn backends_not_in_this_build_are_named() {
        for kind in [BackendKind::Postgres, BackendKind::Etcd] {
            let cfg = StorageConfig {
                backend: kind,
                ..Default::default()
            };
            let err = open(&cfg).await.err().expect("not available");
            assert_eq!(
                err.to_string(),
                format!(
                    "storage.backend = \"{kind}\": this backend is not available in this build yet"
                )
            );
        }
    }

    #[tokio::test]
    async fn rocksdb_opens_under_its_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cfg = StorageConfig::default();
        cfg.rocksdb.path = dir.path().join("rocksdb");
        let storage = open(&cfg).await.expect("opens");
        assert_eq!(storage.backend_name(), "rocksdb");
        storage
            .create(b"/registry/test/a", bytes::Bytes::from_static(b"{}"))
            .await
            .expect("write");
        assert!(storage.current_revision().await.expect("revision") > 0);
    }

    #[tokio::test]
    async fn an_unusable_rocksdb_path_names_the_setting() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("a-file");
        std::fs::write(&file, b"not a directory").expect("write");
        let mut cfg = StorageConfig::default();
        cfg.rocksdb.path = file.join("db");
        let err = open(&cfg).await.err().expect("fails");
        assert!(
            err.to_string().starts_with("storage.rocksdb.path = "),
            "{err}"
        );
    }
}
