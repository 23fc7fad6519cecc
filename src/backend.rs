//! The one place that opens a storage backend.
//!
//! [`open`] maps `[storage]` onto the chosen engine's crate and returns it behind the storage
//! trait; nothing else in the server names a backend crate. A backend that cannot be opened
//! (unreachable, misconfigured) is a [`BackendError`] whose `Display` is one line naming the
//! setting; start-up reports it and exits with status 2.

use std::sync::Arc;
use std::time::Duration;

use apiary_storage::Storage;

use crate::config::{BackendKind, StorageConfig};

/// The storage could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
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
        BackendKind::Postgres => open_postgres(cfg).await,
        BackendKind::Etcd => open_etcd(cfg).await,
    }
}

/// A revision count from the configuration as the storage's revision type.
fn revisions(setting: &'static str, value: u64) -> Result<i64, BackendError> {
    i64::try_from(value).map_err(|_| BackendError::Open {
        setting,
        value: value.to_string(),
        why: "too large".into(),
    })
}

async fn open_postgres(cfg: &StorageConfig) -> Result<Arc<dyn Storage>, BackendError> {
    let postgres = &cfg.postgres;
    let options = apiary_postgres::PostgresOptions {
        max_connections: postgres.max_connections,
        connect_timeout: Duration::from_secs(postgres.connect_timeout_seconds),
        compaction_interval: Duration::from_secs(postgres.compaction_interval_seconds),
        keep_revisions: revisions("storage.postgres.keep_revisions", postgres.keep_revisions)?,
        ..apiary_postgres::PostgresOptions::new(postgres.url.clone())
    };
    let storage = apiary_postgres::open(options)
        .await
        .map_err(|err| BackendError::Open {
            setting: "storage.postgres.url",
            value: redact_password(&postgres.url),
            why: err.to_string(),
        })?;
    Ok(storage)
}

async fn open_etcd(cfg: &StorageConfig) -> Result<Arc<dyn Storage>, BackendError> {
    let etcd = &cfg.etcd;
    let options = apiary_etcd::EtcdOptions {
        // The server's keys start with `/registry`; in etcd that root is the configured prefix.
        strip: crate::registry::keys::REGISTRY_ROOT.as_bytes().to_vec(),
        prefix: etcd.prefix.trim_end_matches('/').as_bytes().to_vec(),
        ca_file: etcd.ca_file.clone(),
        cert_file: etcd.cert_file.clone(),
        key_file: etcd.key_file.clone(),
        dial_timeout: Duration::from_secs(etcd.dial_timeout_seconds),
        request_timeout: Duration::from_secs(etcd.request_timeout_seconds),
        compaction_interval: Duration::from_secs(etcd.compaction_interval_seconds),
        connections: etcd.connections,
        ..apiary_etcd::EtcdOptions::new(etcd.endpoints.clone())
    };
    let storage = apiary_etcd::open(options)
        .await
        .map_err(|err| BackendError::Open {
            setting: "storage.etcd.endpoints",
            value: etcd.endpoints.join(","),
            why: err.to_string(),
        })?;
    Ok(storage)
}

/// The URL with its password replaced by `***`, for messages.
fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let Some((userinfo, host)) = rest.rsplit_once('@') else {
        return url.to_string();
    };
    match userinfo.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

async fn open_rocksdb(cfg: &StorageConfig) -> Result<Arc<dyn Storage>, BackendError> {
    let rocksdb = &cfg.rocksdb;
    let keep_revisions = revisions("storage.rocksdb.keep_revisions", rocksdb.keep_revisions)?;
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

    #[test]
    fn passwords_stay_out_of_messages() {
        assert_eq!(
            redact_password("postgres://apiary:s3cret@db:5432/apiary"),
            "postgres://apiary:***@db:5432/apiary"
        );
        assert_eq!(
            redact_password("postgres://apiary@db/apiary"),
            "postgres://apiary@db/apiary"
        );
        assert_eq!(redact_password("host=db"), "host=db");
    }

    #[tokio::test]
    async fn an_unreachable_postgres_names_the_setting() {
        let mut cfg = StorageConfig {
            backend: BackendKind::Postgres,
            ..Default::default()
        };
        // Nothing listens on port 1.
        cfg.postgres.url = "postgres://apiary:pw@127.0.0.1:1/apiary".into();
        cfg.postgres.connect_timeout_seconds = 2;
        let err = open(&cfg).await.err().expect("unreachable");
        let line = err.to_string();
        assert!(
            line.starts_with(
                "storage.postgres.url = \"postgres://apiary:***@127.0.0.1:1/apiary\": "
            ),
            "{line}"
        );
        assert!(!line.contains('\n'), "{line}");
    }

    #[tokio::test]
    async fn an_unreachable_etcd_names_the_setting() {
        let mut cfg = StorageConfig {
            backend: BackendKind::Etcd,
            ..Default::default()
        };
        cfg.etcd.endpoints = vec!["http://127.0.0.1:1".into()];
        cfg.etcd.dial_timeout_seconds = 2;
        let err = open(&cfg).await.err().expect("unreachable");
        let line = err.to_string();
        assert!(
            line.starts_with("storage.etcd.endpoints = \"http://127.0.0.1:1\": "),
            "{line}"
        );
        assert!(!line.contains('\n'), "{line}");
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
