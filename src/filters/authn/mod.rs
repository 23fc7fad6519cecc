//! Authentication: upstream's `WithAuthentication` over a union of authenticators.
//!
//! [`Authentication`] holds an ordered list of [`Authenticator`]s: the client certificate, then
//! bearer tokens ([`BearerTokenAuthenticator`] over the token file of [`token_file`] and the
//! ServiceAccount tokens of [`service_account`]). The first that recognises the request's
//! credentials wins. Then:
//!
//! * a recognised user gets the group `system:authenticated` (unless it already has it or
//!   `system:unauthenticated`), is put into the request extensions as [`UserInfo`] (and into the
//!   response extensions, for the request log), and the `Authorization` header is removed before
//!   the request goes on;
//! * credentials that some authenticator rejected answer 401 `Unauthorized`, even with anonymous
//!   access on (a bearer token nobody recognises is rejected: upstream's `invalid bearer token`);
//! * no credentials at all answer 401, or with `auth.anonymous` proceed as `system:anonymous`
//!   in group `system:unauthenticated`.
//!
//! [`Authentication::from_config`] builds the whole union from the configuration;
//! [`Authentication::review_token`] answers a `TokenReview` with the same authenticators.

pub mod service_account;
#[cfg(test)]
pub(crate) mod test_support;
pub mod token_file;

use std::sync::Arc;

use async_trait::async_trait;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::api::status::ApiError;
use crate::config::{Config, ConfigError};
use crate::request::connection::ClientCertIdentity;
use crate::request::user::{UserInfo, ALL_AUTHENTICATED, ALL_UNAUTHENTICATED};

use service_account::{ObjectGetter, ServiceAccountAuthenticator, SigningKey, TokenIssuer};
use token_file::TokenFileAuthenticator;

/// Credentials were presented but are not valid (a bad token, an unknown user).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{authenticator}: {why}")]
pub struct AuthnError {
    pub authenticator: &'static str,
    pub why: String,
}

/// One way of recognising a user.
#[async_trait]
pub trait Authenticator: Send + Sync + 'static {
    /// A short name for logs: `x509`, `token-file`, `serviceaccount`.
    fn name(&self) -> &'static str;

    /// Looks at the request's credentials.
    ///
    /// MUST return `Ok(None)` when the request carries no credentials of this authenticator's
    /// kind (so the next one is tried), `Ok(Some(user))` when they are valid, and `Err` when they
    /// are present but invalid. MUST NOT consume the body.
    async fn authenticate(
        &self,
        parts: &http::request::Parts,
    ) -> Result<Option<UserInfo>, AuthnError>;
}

/// The client-certificate authenticator: the identity the TLS layer verified (CN = user,
/// O = groups), found as [`ClientCertIdentity`] in the request extensions.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClientCertAuthenticator;

#[async_trait]
impl Authenticator for ClientCertAuthenticator {
    fn name(&self) -> &'static str {
        "x509"
    }

    async fn authenticate(
        &self,
        parts: &http::request::Parts,
    ) -> Result<Option<UserInfo>, AuthnError> {
        let Some(identity) = parts.extensions.get::<ClientCertIdentity>() else {
            return Ok(None);
        };
        if identity.user.is_empty() {
            return Err(AuthnError {
                authenticator: self.name(),
                why: "the client certificate has no common name".into(),
            });
        }
        Ok(Some(UserInfo {
            name: identity.user.clone(),
            groups: identity.groups.clone(),
            ..Default::default()
        }))
    }
}

/// What a token authenticator recognised: the user, and the audiences the token is valid for
/// among those asked for (upstream's `authenticator.Response`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenResponse {
    pub user: UserInfo,
    /// Empty when the authenticator does not deal in audiences.
    pub audiences: Vec<String>,
}

/// One way of recognising a bearer token (upstream's `authenticator.Token`).
#[async_trait]
pub trait TokenAuthenticator: Send + Sync + 'static {
    /// A short name for logs: `token-file`, `serviceaccount`.
    fn name(&self) -> &'static str;

    /// Checks `token` for `audiences` (the target audiences: the API audiences for requests,
    /// `spec.audiences` for a TokenReview; empty means the API audiences).
    ///
    /// MUST return `Ok(None)` for a token that is not of this authenticator's kind (another
    /// issuer, not a JWT, unknown to the file), `Ok(Some)` when it is valid, and `Err` with
    /// upstream's message when it is of this kind but invalid (expired, bad signature, wrong
    /// audience, its ServiceAccount deleted).
    async fn authenticate_token(
        &self,
        token: &str,
        audiences: &[String],
    ) -> Result<Option<TokenResponse>, String>;
}

/// The members of `a` that are in `b`, in `a`'s order (upstream's `Audiences.Intersect`).
pub fn intersect(a: &[String], b: &[String]) -> Vec<String> {
    a.iter().filter(|x| b.contains(x)).cloned().collect()
}

/// The message of upstream's `utilerrors.NewAggregate`: one message alone, several (duplicates
/// dropped) as `[a, b]`.
fn aggregate(messages: &[String]) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for message in messages {
        if !seen.contains(&message.as_str()) {
            seen.push(message);
        }
    }
    match seen.as_slice() {
        [one] => (*one).to_string(),
        many => format!("[{}]", many.join(", ")),
    }
}

/// The error of a bearer token nobody recognised.
pub const INVALID_BEARER_TOKEN: &str = "invalid bearer token";

/// The bearer token of an `Authorization` header as upstream's `bearertoken` authenticator reads
/// it: `Bearer <token>`, the scheme in any case; no header, another scheme or an empty token is
/// no token at all.
pub fn bearer_token(headers: &http::HeaderMap) -> Option<&str> {
    let value = headers
        .get(http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .trim();
    let mut parts = value.split(' ');
    let scheme = parts.next()?;
    let token = parts.next()?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Bearer tokens (`Authorization: Bearer ...`) checked by a union of [`TokenAuthenticator`]s,
/// tried in order (upstream's `bearertoken` over a token `union`).
pub struct BearerTokenAuthenticator {
    tokens: Vec<Arc<dyn TokenAuthenticator>>,
    /// The API audiences (`AuthConfig::audiences`): a request's token must be for one of them.
    api_audiences: Vec<String>,
}

impl std::fmt::Debug for BearerTokenAuthenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.tokens.iter().map(|a| a.name()).collect();
        f.debug_struct("BearerTokenAuthenticator")
            .field("tokens", &names)
            .field("api_audiences", &self.api_audiences)
            .finish()
    }
}

impl BearerTokenAuthenticator {
    /// A union of `tokens` for requests to a server of `api_audiences`.
    pub fn new(tokens: Vec<Arc<dyn TokenAuthenticator>>, api_audiences: Vec<String>) -> Self {
        Self {
            tokens,
            api_audiences,
        }
    }

    /// Checks `token` for `audiences` with every token authenticator: the first success, or the
    /// error upstream reports (`invalid bearer token`, with the authenticators' own errors).
    pub async fn authenticate_token(
        &self,
        token: &str,
        audiences: &[String],
    ) -> Result<TokenResponse, String> {
        let mut errors = vec![INVALID_BEARER_TOKEN.to_string()];
        for authenticator in &self.tokens {
            match authenticator.authenticate_token(token, audiences).await {
                Ok(Some(response)) => return Ok(response),
                Ok(None) => {}
                Err(err) => errors.push(err),
            }
        }
        Err(aggregate(&errors))
    }
}

#[async_trait]
impl Authenticator for BearerTokenAuthenticator {
    fn name(&self) -> &'static str {
        "bearer-token"
    }

    async fn authenticate(
        &self,
        parts: &http::request::Parts,
    ) -> Result<Option<UserInfo>, AuthnError> {
        let Some(token) = bearer_token(&parts.headers) else {
            return Ok(None);
        };
        let response = self
            .authenticate_token(token, &self.api_audiences)
            .await
            .map_err(|why| AuthnError {
                authenticator: self.name(),
                why,
            })?;
        // WithAuthentication: a token for other audiences does not get into this server.
        if !self.api_audiences.is_empty()
            && !response.audiences.is_empty()
            && intersect(&self.api_audiences, &response.audiences).is_empty()
        {
            return Err(AuthnError {
                authenticator: self.name(),
                why: format!(
                    "unable to match the audience: {:?}, accepted: {:?}",
                    response.audiences, self.api_audiences
                ),
            });
        }
        Ok(Some(response.user))
    }
}

/// The answer to a `TokenReview` (its `status`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenReviewOutcome {
    pub authenticated: bool,
    /// The user (with `system:authenticated`), when authenticated.
    pub user: Option<UserInfo>,
    /// The audiences the token is valid for among those reviewed.
    pub audiences: Vec<String>,
    /// Why the token was not accepted, with upstream's wording.
    pub error: Option<String>,
}

/// The ordered union of authenticators, and whether anonymous requests are allowed.
#[derive(Clone)]
pub struct Authentication {
    authenticators: Vec<Arc<dyn Authenticator>>,
    anonymous: bool,
    /// The bearer-token union, also in `authenticators`; `TokenReview` asks it directly.
    bearer: Option<Arc<BearerTokenAuthenticator>>,
    /// The ServiceAccount authenticator, also in `bearer`, to wire its object lookup.
    service_accounts: Option<Arc<ServiceAccountAuthenticator>>,
    /// Issues ServiceAccount tokens (`serviceaccounts/<name>/token`).
    issuer: Option<Arc<TokenIssuer>>,
    /// `AuthConfig::audiences`.
    api_audiences: Vec<String>,
}

impl std::fmt::Debug for Authentication {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.authenticators.iter().map(|a| a.name()).collect();
        f.debug_struct("Authentication")
            .field("authenticators", &names)
            .field("anonymous", &self.anonymous)
            .field("bearer", &self.bearer)
            .field("api_audiences", &self.api_audiences)
            .finish()
    }
}

/// The lowest `auth.service_account_max_token_expiration_seconds` (when set), as upstream.
const MIN_MAX_TOKEN_EXPIRATION_SECONDS: u64 = 3600;
/// The highest, as upstream (2^32 seconds).
const MAX_MAX_TOKEN_EXPIRATION_SECONDS: u64 = 1 << 32;

impl Authentication {
    /// The client-certificate authenticator alone; `anonymous` is `auth.anonymous`.
    pub fn new(anonymous: bool) -> Self {
        Self::empty(anonymous).with(Arc::new(ClientCertAuthenticator))
    }

    /// No authenticators at all (tests, or a caller assembling its own list with [`Self::with`]).
    pub fn empty(anonymous: bool) -> Self {
        Self {
            authenticators: Vec::new(),
            anonymous,
            bearer: None,
            service_accounts: None,
            issuer: None,
            api_audiences: Vec::new(),
        }
    }

    /// Appends an authenticator, tried after the existing ones.
    pub fn with(mut self, authenticator: Arc<dyn Authenticator>) -> Self {
        self.authenticators.push(authenticator);
        self
    }

    /// Appends bearer-token authentication over `tokens` (tried in order) for `api_audiences`,
    /// with `issuer` issuing ServiceAccount tokens and `service_accounts` (also among `tokens`)
    /// to be wired to the stores by [`Self::set_object_getter`].
    pub fn with_bearer_tokens(
        mut self,
        tokens: Vec<Arc<dyn TokenAuthenticator>>,
        api_audiences: Vec<String>,
        service_accounts: Option<Arc<ServiceAccountAuthenticator>>,
        issuer: Option<Arc<TokenIssuer>>,
    ) -> Self {
        let bearer = Arc::new(BearerTokenAuthenticator::new(tokens, api_audiences.clone()));
        self.authenticators.push(bearer.clone());
        self.bearer = Some(bearer);
        self.service_accounts = service_accounts;
        self.issuer = issuer;
        self.api_audiences = api_audiences;
        self
    }

    /// Everything `config` asks for, in upstream's order: client certificates, then bearer
    /// tokens from `auth.token_file` (if set) and ServiceAccount tokens signed with
    /// `<server.data_dir>/sa.key` (created at first start). Reads files: call at start-up only.
    ///
    /// Errors name the setting at fault (`auth.token_file` with the line, `server.data_dir`,
    /// `auth.service_account_issuer`, `auth.service_account_max_token_expiration_seconds`).
    pub fn from_config(config: &Config) -> Result<Self, ConfigError> {
        let auth = &config.auth;
        let error = |setting: &str, message: String| ConfigError {
            setting: setting.to_string(),
            message,
        };
        if auth.service_account_issuer.is_empty() {
            return Err(error(
                "auth.service_account_issuer",
                "must not be empty: it is the issuer of ServiceAccount tokens".into(),
            ));
        }
        let max = auth.service_account_max_token_expiration_seconds;
        if max != 0
            && !(MIN_MAX_TOKEN_EXPIRATION_SECONDS..=MAX_MAX_TOKEN_EXPIRATION_SECONDS).contains(&max)
        {
            return Err(error(
                "auth.service_account_max_token_expiration_seconds",
                format!("must be 0 (no limit) or between 1 hour and 2^32 seconds, not {max}"),
            ));
        }
        let api_audiences = auth.audiences();
        let mut tokens: Vec<Arc<dyn TokenAuthenticator>> = Vec::new();
        if let Some(path) = &auth.token_file {
            let file = TokenFileAuthenticator::from_file(path, api_audiences.clone())
                .map_err(|e| error("auth.token_file", format!("{}: {e}", path.display())))?;
            tracing::info!(path = %path.display(), tokens = file.len(), "read the token file");
            tokens.push(Arc::new(file));
        }
        let pem = crate::pki::ensure_service_account_key(&config.server.data_dir)
            .map_err(|e| error("server.data_dir", e.to_string()))?;
        let key = Arc::new(SigningKey::from_pem(&pem).map_err(|e| {
            error(
                "server.data_dir",
                format!("{}: {e}", crate::pki::SA_KEY_FILE),
            )
        })?);
        let service_accounts = Arc::new(ServiceAccountAuthenticator::new(
            key.clone(),
            auth.service_account_issuer.clone(),
            api_audiences.clone(),
        ));
        tokens.push(service_accounts.clone());
        let issuer = Arc::new(TokenIssuer::new(
            key,
            auth.service_account_issuer.clone(),
            api_audiences.clone(),
            i64::try_from(max).unwrap_or(i64::MAX),
        ));
        Ok(Self::new(auth.anonymous).with_bearer_tokens(
            tokens,
            api_audiences,
            Some(service_accounts),
            Some(issuer),
        ))
    }

    /// Wires where ServiceAccount tokens find their ServiceAccount (and bound Pod, Secret, Node):
    /// call once the stores exist. Without it, ServiceAccount tokens are rejected.
    pub fn set_object_getter(&self, objects: Arc<dyn ObjectGetter>) {
        if let Some(service_accounts) = &self.service_accounts {
            service_accounts.set_lookup(objects);
        }
    }

    /// The ServiceAccount token issuer, when ServiceAccount tokens are configured.
    pub fn token_issuer(&self) -> Option<&Arc<TokenIssuer>> {
        self.issuer.as_ref()
    }

    /// The API audiences (`AuthConfig::audiences`); empty without bearer tokens.
    pub fn api_audiences(&self) -> &[String] {
        &self.api_audiences
    }

    /// Reviews `token` for `audiences` (empty: the API audiences) as upstream's TokenReview does:
    /// the request authenticators see `Authorization: Bearer <token>` and nothing else.
    pub async fn review_token(&self, token: &str, audiences: &[String]) -> TokenReviewOutcome {
        let Some(bearer) = &self.bearer else {
            return TokenReviewOutcome::default();
        };
        let audiences = if audiences.is_empty() {
            self.api_audiences.as_slice()
        } else {
            audiences
        };
        match bearer.authenticate_token(token, audiences).await {
            Ok(TokenResponse {
                mut user,
                audiences,
            }) => {
                add_authenticated_group(&mut user);
                TokenReviewOutcome {
                    authenticated: true,
                    user: Some(user),
                    audiences,
                    error: None,
                }
            }
            Err(error) => TokenReviewOutcome {
                error: Some(error),
                ..Default::default()
            },
        }
    }

    /// Authenticates a request: the user, or the 401 to answer.
    pub async fn authenticate(&self, parts: &http::request::Parts) -> Result<UserInfo, ApiError> {
        let mut errors = Vec::new();
        for authenticator in &self.authenticators {
            match authenticator.authenticate(parts).await {
                Ok(Some(mut user)) => {
                    add_authenticated_group(&mut user);
                    return Ok(user);
                }
                Ok(None) => {}
                Err(err) => errors.push(err.to_string()),
            }
        }
        if !errors.is_empty() {
            tracing::info!(errors = %errors.join("; "), "unable to authenticate the request");
            return Err(ApiError::unauthorized());
        }
        if self.anonymous {
            return Ok(UserInfo::anonymous());
        }
        Err(ApiError::unauthorized())
    }
}

/// Adds `system:authenticated` unless the user has it or `system:unauthenticated`
/// (upstream's `AuthenticatedGroupAdder`).
fn add_authenticated_group(user: &mut UserInfo) {
    if !user.in_group(ALL_AUTHENTICATED) && !user.in_group(ALL_UNAUTHENTICATED) {
        user.groups.push(ALL_AUTHENTICATED.to_string());
    }
}

/// The filter.
pub async fn authenticate(
    State(authentication): State<Arc<Authentication>>,
    req: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = req.into_parts();
    let user = match authentication.authenticate(&parts).await {
        Ok(user) => user,
        Err(err) => return err.into_response(),
    };
    parts.headers.remove(http::header::AUTHORIZATION);
    parts.extensions.insert(user.clone());
    let mut response = next.run(Request::from_parts(parts, body)).await;
    response.extensions_mut().insert(user);
    response
}

#[cfg(test)]
mod tests;
