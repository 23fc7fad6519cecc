//! Helpers for the authentication tests: an authentication setup with a fresh ServiceAccount key.

use std::sync::Arc;

use super::service_account::{ServiceAccountAuthenticator, SigningKey, TokenIssuer};
use super::{Authentication, TokenAuthenticator};

/// The issuer the tests use.
pub const ISSUER: &str = "https://kubernetes.default.svc.cluster.local";

/// The API audiences the tests use.
pub fn api_audiences() -> Vec<String> {
    vec![ISSUER.to_string()]
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
