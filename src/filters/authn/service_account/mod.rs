//! ServiceAccount tokens: bound JWTs as upstream issues and checks them (`pkg/serviceaccount`:
//! `jwt.go`, `claims.go`).
//!
//! * [`SigningKey`]: the ECDSA P-256 key kept in `<data_dir>/sa.key` ([`crate::pki`]); its key id
//!   (`kid` header) is upstream's: the unpadded base64url SHA-256 of the public key's DER
//!   SubjectPublicKeyInfo. Replicas sharing the file accept each other's tokens.
//! * [`TokenIssuer`]: signs ES256 JWTs with upstream's claims: `iss`, `sub`
//!   (`system:serviceaccount:<ns>:<name>`), `aud` (always a list), `iat`, `nbf`, `exp`, `jti`,
//!   and `kubernetes.io: {namespace, serviceaccount: {name, uid}, pod?, secret?, node?}`.
//! * [`ServiceAccountAuthenticator`]: a [`TokenAuthenticator`]. A token that is not a JWT, or whose
//!   (unverified) `iss` is not ours, is not recognised (`Ok(None)`); then the signature, the
//!   audiences, the validity window (one minute of leeway, as go-jose) and the objects the token
//!   names (the ServiceAccount, and a bound Pod, Secret or Node, with matching uids) are checked,
//!   and every failure is an error with upstream's wording.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{intersect, TokenAuthenticator, TokenResponse};
use crate::api::go_fmt::{go_quote, go_quote_list};
use crate::request::user::UserInfo;

/// The user name prefix of ServiceAccounts.
pub const SERVICE_ACCOUNT_USER_PREFIX: &str = "system:serviceaccount:";
/// The group of every ServiceAccount.
pub const ALL_SERVICE_ACCOUNTS_GROUP: &str = "system:serviceaccounts";
/// Extra keys of ServiceAccount users, as upstream's `serviceaccount` package.
pub const POD_NAME_KEY: &str = "authentication.kubernetes.io/pod-name";
pub const POD_UID_KEY: &str = "authentication.kubernetes.io/pod-uid";
pub const NODE_NAME_KEY: &str = "authentication.kubernetes.io/node-name";
pub const NODE_UID_KEY: &str = "authentication.kubernetes.io/node-uid";
pub const CREDENTIAL_ID_KEY: &str = "authentication.kubernetes.io/credential-id";

/// go-jose's validity leeway: objects deleted, and tokens expired, less than this ago still count.
const LEEWAY_SECONDS: i64 = 60;

/// `system:serviceaccount:<ns>:<name>`.
pub fn service_account_username(namespace: &str, name: &str) -> String {
    format!("{SERVICE_ACCOUNT_USER_PREFIX}{namespace}:{name}")
}

/// The current time in Unix seconds.
pub fn now_seconds() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// Upstream's `CredentialIDForJTI`: `JTI=<jti>`, or nothing without a jti.
fn credential_id(jti: &str) -> Option<String> {
    (!jti.is_empty()).then(|| format!("JTI={jti}"))
}

/// The key ServiceAccount tokens are signed and verified with.
pub struct SigningKey {
    encoding: EncodingKey,
    decoding: DecodingKey,
    kid: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Loads a PKCS#8 PEM ECDSA P-256 private key (as [`crate::pki::ensure_service_account_key`]
    /// writes it).
    pub fn from_pem(pem: &str) -> Result<Self, String> {
        let pair = rcgen::KeyPair::from_pem(pem).map_err(|e| e.to_string())?;
        if !pair.is_compatible(&rcgen::PKCS_ECDSA_P256_SHA256) {
            return Err("the ServiceAccount signing key must be an ECDSA P-256 key".into());
        }
        let spki = rcgen::PublicKeyData::subject_public_key_info(&pair);
        let digest = ring::digest::digest(&ring::digest::SHA256, &spki);
        let kid = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref());
        let encoding = EncodingKey::from_ec_pem(pem.as_bytes()).map_err(|e| e.to_string())?;
        let decoding = DecodingKey::from_ec_pem(pair.public_key_pem().as_bytes())
            .map_err(|e| e.to_string())?;
        Ok(Self {
            encoding,
            decoding,
            kid,
        })
    }

    /// The key id of the `kid` header.
    pub fn key_id(&self) -> &str {
        &self.kid
    }
}

/// A reference to an object in the claims: `{name, uid}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectRef {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uid: String,
}

/// The private claims under `kubernetes.io`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KubernetesClaims {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    #[serde(default)]
    pub serviceaccount: ObjectRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<ObjectRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<ObjectRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<ObjectRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warnafter: Option<i64>,
}

/// The claims of a ServiceAccount token.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    #[serde(default)]
    pub iss: String,
    #[serde(default)]
    pub sub: String,
    /// Always written as a list; a single string is accepted on reading.
    #[serde(default, deserialize_with = "one_or_many")]
    pub aud: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub jti: String,
    #[serde(rename = "kubernetes.io", default)]
    pub kubernetes: KubernetesClaims,
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(de: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
        Null(()),
    }
    Ok(match OneOrMany::deserialize(de)? {
        OneOrMany::One(one) => vec![one],
        OneOrMany::Many(many) => many,
        OneOrMany::Null(()) => Vec::new(),
    })
}

/// The objects a token is bound to (at most one of pod/secret/node, plus the pod's node).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BoundObjects {
    pub pod: Option<ObjectRef>,
    pub secret: Option<ObjectRef>,
    pub node: Option<ObjectRef>,
}

/// A token just issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// The compact JWT.
    pub token: String,
    /// Its `jti`.
    pub jti: String,
    /// Its `exp`, in Unix seconds.
    pub expires_at: i64,
}

/// Issues ServiceAccount tokens (the `serviceaccounts/token` subresource).
#[derive(Debug)]
pub struct TokenIssuer {
    key: Arc<SigningKey>,
    issuer: String,
    audiences: Vec<String>,
    max_expiration_seconds: i64,
}

impl TokenIssuer {
    /// An issuer signing with `key` as `issuer`; `audiences` are the API audiences (the default
    /// of a TokenRequest); `max_expiration_seconds` caps requested lifetimes (0: no cap).
    pub fn new(
        key: Arc<SigningKey>,
        issuer: String,
        audiences: Vec<String>,
        max_expiration_seconds: i64,
    ) -> Self {
        Self {
            key,
            issuer,
            audiences,
            max_expiration_seconds,
        }
    }

    /// The API audiences: what a TokenRequest without `spec.audiences` gets.
    pub fn audiences(&self) -> &[String] {
        &self.audiences
    }

    /// `auth.service_account_max_token_expiration_seconds`; 0 means no cap.
    pub fn max_expiration_seconds(&self) -> i64 {
        self.max_expiration_seconds
    }

    /// Signs a token for ServiceAccount `namespace/name` (uid `uid`) bound to `bound`, valid from
    /// `now` for `expiration_seconds`, for `audiences`.
    #[allow(clippy::too_many_arguments)]
    pub fn issue(
        &self,
        namespace: &str,
        name: &str,
        uid: &str,
        bound: &BoundObjects,
        expiration_seconds: i64,
        audiences: &[String],
        now: i64,
    ) -> Result<IssuedToken, String> {
        if bound.secret.is_some() && (bound.pod.is_some() || bound.node.is_some()) {
            return Err("internal error, token can only be bound to one object type".into());
        }
        let jti = uuid::Uuid::new_v4().to_string();
        let expires_at = now.saturating_add(expiration_seconds);
        let claims = Claims {
            iss: self.issuer.clone(),
            sub: service_account_username(namespace, name),
            aud: audiences.to_vec(),
            exp: Some(expires_at),
            nbf: Some(now),
            iat: Some(now),
            jti: jti.clone(),
            kubernetes: KubernetesClaims {
                namespace: namespace.to_string(),
                serviceaccount: ObjectRef {
                    name: name.to_string(),
                    uid: uid.to_string(),
                },
                pod: bound.pod.clone(),
                secret: bound.secret.clone(),
                node: bound.node.clone(),
                warnafter: None,
            },
        };
        let mut header = Header::new(Algorithm::ES256);
        header.typ = None;
        header.kid = Some(self.key.kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, &self.key.encoding)
            .map_err(|e| format!("failed to generate token: {e}"))?;
        Ok(IssuedToken {
            token,
            jti,
            expires_at,
        })
    }
}

/// Reads the objects a token names. Wired after start-up, once the stores exist.
#[async_trait]
pub trait ObjectGetter: Send + Sync + 'static {
    /// The core/v1 object `resource` (`serviceaccounts`, `pods`, `secrets`, `nodes`) named
    /// `name` in `namespace` (`None` for nodes).
    ///
    /// MUST answer `Ok(None)` when it does not exist, and `Err` (a message) only when it could
    /// not be read.
    async fn get_object(
        &self,
        resource: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Option<Value>, String>;
}

#[async_trait]
impl ObjectGetter for crate::registry::stores::ResourceStores {
    async fn get_object(
        &self,
        resource: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Option<Value>, String> {
        let Some(store) = self.get("", "v1", resource) else {
            return Ok(None);
        };
        match store.get(namespace, name).await {
            Ok(object) => Ok(Some(object)),
            Err(err) if err.code() == http::StatusCode::NOT_FOUND => Ok(None),
            Err(err) => Err(err.status.message.clone()),
        }
    }
}

/// Authenticates ServiceAccount tokens issued with the same key and issuer.
pub struct ServiceAccountAuthenticator {
    key: Arc<SigningKey>,
    issuer: String,
    implicit_audiences: Vec<String>,
    objects: OnceLock<Arc<dyn ObjectGetter>>,
}

impl std::fmt::Debug for ServiceAccountAuthenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccountAuthenticator")
            .field("issuer", &self.issuer)
            .field("implicit_audiences", &self.implicit_audiences)
            .field("objects_wired", &self.objects.get().is_some())
            .finish()
    }
}

impl ServiceAccountAuthenticator {
    /// Accepts tokens signed with `key` by `issuer`; `implicit_audiences` are the API audiences.
    pub fn new(key: Arc<SigningKey>, issuer: String, implicit_audiences: Vec<String>) -> Self {
        Self {
            key,
            issuer,
            implicit_audiences,
            objects: OnceLock::new(),
        }
    }

    /// Wires where ServiceAccounts, Pods, Secrets and Nodes are read. Only the first call takes
    /// effect; until then every token of ours fails.
    pub fn set_lookup(&self, objects: Arc<dyn ObjectGetter>) {
        let _ = self.objects.set(objects);
    }

    /// Whether the unverified `iss` of `token` is ours (upstream's `hasCorrectIssuer`).
    fn has_our_issuer(&self, token: &str) -> bool {
        if token.trim_start().starts_with('{') {
            return false;
        }
        let parts: Vec<&str> = token.split('.').collect();
        if parts.len() != 3 {
            return false;
        }
        let Ok(payload) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(parts[1]) else {
            return false;
        };
        #[derive(Deserialize)]
        struct Unverified {
            #[serde(default)]
            iss: String,
        }
        serde_json::from_slice::<Unverified>(&payload).is_ok_and(|c| c.iss == self.issuer)
    }

    /// Authenticates `token` for `audiences` (empty: the API audiences) at time `now`.
    pub async fn authenticate_at(
        &self,
        token: &str,
        audiences: &[String],
        now: i64,
    ) -> Result<Option<TokenResponse>, String> {
        if !self.has_our_issuer(token) {
            return Ok(None);
        }
        let Ok(header) = jsonwebtoken::decode_header(token) else {
            return Ok(None);
        };
        if header.kid.as_deref().is_some_and(|kid| kid != self.key.kid) {
            return Err("invalid signature, no keys found".into());
        }
        let mut validation = Validation::new(Algorithm::ES256);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let claims = match jsonwebtoken::decode::<Claims>(token, &self.key.decoding, &validation) {
            Ok(data) => data.claims,
            Err(err) => {
                use jsonwebtoken::errors::ErrorKind;
                return match err.kind() {
                    ErrorKind::InvalidSignature | ErrorKind::InvalidEcdsaKey => {
                        Err("go-jose/go-jose: error in cryptographic primitive".into())
                    }
                    ErrorKind::InvalidAlgorithm => {
                        Err("go-jose/go-jose: unexpected signature algorithm".into())
                    }
                    _ => Ok(None),
                };
            }
        };
        if claims.iss != self.issuer {
            return Err(format!("token issuer {} is invalid", go_quote(&claims.iss)));
        }
        let token_audiences = if claims.aud.is_empty() {
            self.implicit_audiences.clone()
        } else {
            claims.aud.clone()
        };
        let requested = if audiences.is_empty() {
            self.implicit_audiences.as_slice()
        } else {
            audiences
        };
        let granted = intersect(&token_audiences, requested);
        if granted.is_empty() && !self.implicit_audiences.is_empty() {
            return Err(format!(
                "token audiences {} is invalid for the target audiences {}",
                go_quote_list(&token_audiences),
                go_quote_list(requested)
            ));
        }
        let user = self.validate(&claims, now).await?;
        Ok(Some(TokenResponse {
            user,
            audiences: granted,
        }))
    }

    /// Upstream's `validator.Validate`: the validity window, then the objects the token names.
    async fn validate(&self, claims: &Claims, now: i64) -> Result<UserInfo, String> {
        if claims.nbf.is_some_and(|nbf| now + LEEWAY_SECONDS < nbf) {
            return Err("service account token is not valid yet".into());
        }
        if claims.exp.is_some_and(|exp| now - LEEWAY_SECONDS > exp) {
            return Err("service account token has expired".into());
        }
        if claims.iat.is_some_and(|iat| now + LEEWAY_SECONDS < iat) {
            return Err("service account token is issued in the future".into());
        }
        let objects = self
            .objects
            .get()
            .ok_or("service account token cannot be validated before the server has started")?;
        let invalid_if_deleted_before = now - LEEWAY_SECONDS;
        let k8s = &claims.kubernetes;
        let namespace = k8s.namespace.as_str();
        let sa_ref = &k8s.serviceaccount;

        let service_account = objects
            .get_object("serviceaccounts", Some(namespace), &sa_ref.name)
            .await?
            .ok_or_else(|| format!("serviceaccounts {} not found", go_quote(&sa_ref.name)))?;
        let sa_uid = uid_of(&service_account);
        if sa_uid != sa_ref.uid {
            return Err(format!(
                "service account UID ({sa_uid}) does not match claim ({})",
                sa_ref.uid
            ));
        }
        if deleted_before(&service_account, invalid_if_deleted_before) {
            return Err(format!(
                "service account {namespace}/{} has been deleted",
                sa_ref.name
            ));
        }
        const INVALIDATED: &str = "service account token has been invalidated";

        if let Some(secret_ref) = &k8s.secret {
            let secret = objects
                .get_object("secrets", Some(namespace), &secret_ref.name)
                .await
                .ok()
                .flatten()
                .ok_or(INVALIDATED)?;
            let uid = uid_of(&secret);
            if uid != secret_ref.uid {
                return Err(format!(
                    "secret UID ({uid}) does not match service account secret ref claim ({})",
                    secret_ref.uid
                ));
            }
            if deleted_before(&secret, invalid_if_deleted_before) {
                return Err(INVALIDATED.into());
            }
        }

        let mut extra = BTreeMap::new();
        if let Some(pod_ref) = &k8s.pod {
            let pod = objects
                .get_object("pods", Some(namespace), &pod_ref.name)
                .await
                .ok()
                .flatten()
                .ok_or(INVALIDATED)?;
            let uid = uid_of(&pod);
            if uid != pod_ref.uid {
                return Err(format!(
                    "pod UID ({uid}) does not match service account pod ref claim ({})",
                    pod_ref.uid
                ));
            }
            if deleted_before(&pod, invalid_if_deleted_before) {
                return Err(INVALIDATED.into());
            }
            if !pod_ref.name.is_empty() && !pod_ref.uid.is_empty() {
                extra.insert(POD_NAME_KEY.to_string(), vec![pod_ref.name.clone()]);
                extra.insert(POD_UID_KEY.to_string(), vec![pod_ref.uid.clone()]);
            }
        }

        if let Some(node_ref) = &k8s.node {
            if k8s.pod.is_none() {
                let node = objects
                    .get_object("nodes", None, &node_ref.name)
                    .await
                    .ok()
                    .flatten()
                    .ok_or(INVALIDATED)?;
                let uid = uid_of(&node);
                if uid != node_ref.uid {
                    return Err(format!(
                        "node UID ({uid}) does not match service account node ref claim ({})",
                        node_ref.uid
                    ));
                }
                if deleted_before(&node, invalid_if_deleted_before) {
                    return Err(INVALIDATED.into());
                }
            }
            if !node_ref.name.is_empty() {
                extra.insert(NODE_NAME_KEY.to_string(), vec![node_ref.name.clone()]);
                if !node_ref.uid.is_empty() {
                    extra.insert(NODE_UID_KEY.to_string(), vec![node_ref.uid.clone()]);
                }
            }
        }
        if let Some(id) = credential_id(&claims.jti) {
            extra.insert(CREDENTIAL_ID_KEY.to_string(), vec![id]);
        }
        Ok(UserInfo {
            name: service_account_username(namespace, &sa_ref.name),
            uid: sa_ref.uid.clone(),
            groups: vec![
                ALL_SERVICE_ACCOUNTS_GROUP.to_string(),
                format!("{ALL_SERVICE_ACCOUNTS_GROUP}:{namespace}"),
            ],
            extra,
        })
    }
}

#[async_trait]
impl TokenAuthenticator for ServiceAccountAuthenticator {
    fn name(&self) -> &'static str {
        "serviceaccount"
    }

    async fn authenticate_token(
        &self,
        token: &str,
        audiences: &[String],
    ) -> Result<Option<TokenResponse>, String> {
        self.authenticate_at(token, audiences, now_seconds()).await
    }
}

/// `metadata.uid` of an object, or `""`.
pub fn uid_of(object: &Value) -> String {
    object
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// Whether the object's `deletionTimestamp` is before `limit` (Unix seconds).
fn deleted_before(object: &Value, limit: i64) -> bool {
    object
        .pointer("/metadata/deletionTimestamp")
        .and_then(Value::as_str)
        .and_then(|ts| ts.parse::<jiff::Timestamp>().ok())
        .is_some_and(|ts| ts.as_second() < limit)
}

#[cfg(test)]
mod tests;
