//! Helpers for the authentication tests: real stores over RocksDB in a temporary directory, and
//! an authentication setup with a fresh ServiceAccount key.

use std::sync::Arc;
use std::time::Duration;

use super::service_account::{ServiceAccountAuthenticator, SigningKey, TokenIssuer};
use super::{Authentication, TokenAuthenticator};
use crate::registry::catalog::builtin;
use crate::registry::store::{Store, StoreConfig};
use crate::registry::strategy::strategy_for;
use crate::servers::core::StoreRegistry;

/// The issuer the tests use.
pub const ISSUER: &str = "https://kubernetes.default.svc.cluster.local";

/// The API audiences the tests use.
pub fn api_audiences() -> Vec<String> {
    vec![ISSUER.to_string()]
}

/// Stores of the resources `resources` (group, version, plural) over RocksDB in `dir`.
pub async fn rocksdb_stores(
    dir: &std::path::Path,
    resources: &[(&str, &str, &str)],
) -> Arc<StoreRegistry> {
    let options = apiary_rocksdb::RocksDbOptions {
        sync: false,
        compaction_interval: Duration::ZERO,
        ..apiary_rocksdb::RocksDbOptions::new(dir.join("db"))
    };
    let storage: Arc<dyn apiary_storage::Storage> =
        apiary_rocksdb::open(options).await.expect("open rocksdb");
    let mut stores = StoreRegistry::new();
    for (group, version, plural) in resources {
        let info = builtin()
            .lookup(group, version, plural)
            .expect("built-in resource");
        stores.insert(Arc::new(Store::new(
            info,
            storage.clone(),
            strategy_for(info),
            StoreConfig::default(),
        )));
    }
    Arc::new(stores)
}

/// A fresh signing key.
pub fn signing_key() -> Arc<SigningKey> {
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
    Arc::new(SigningKey::from_pem(&pair.serialize_pem()).expect("loads"))
}

/// Bearer-token authentication with ServiceAccount tokens signed by `key` (and optionally the
/// token file text `token_file`), capped at `max_expiration_seconds`.
pub fn authentication(
    key: Arc<SigningKey>,
    token_file: Option<&str>,
    max_expiration_seconds: i64,
) -> Authentication {
    let mut tokens: Vec<Arc<dyn TokenAuthenticator>> = Vec::new();
    if let Some(text) = token_file {
        tokens.push(Arc::new(
            super::token_file::TokenFileAuthenticator::parse(text, api_audiences())
                .expect("token file"),
        ));
    }
    let service_accounts = Arc::new(ServiceAccountAuthenticator::new(
        key.clone(),
        ISSUER.to_string(),
        api_audiences(),
    ));
    tokens.push(service_accounts.clone());
    let issuer = Arc::new(TokenIssuer::new(
        key,
        ISSUER.to_string(),
        api_audiences(),
        max_expiration_seconds,
    ));
    Authentication::new(false).with_bearer_tokens(
        tokens,
        api_audiences(),
        Some(service_accounts),
        Some(issuer),
    )
}
