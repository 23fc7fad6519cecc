//! Authentication: upstream's `WithAuthentication` over a union of authenticators.
//!
//! [`Authentication`] holds an ordered list of [`Authenticator`]s (today the client certificate;
//! later a token file and ServiceAccount tokens). The first that recognises the request's
//! credentials wins. Then:
//!
//! * a recognised user gets the group `system:authenticated` (unless it already has it or
//!   `system:unauthenticated`), is put into the request extensions as [`UserInfo`] (and into the
//!   response extensions, for the request log), and the `Authorization` header is removed before
//!   the request goes on;
//! * credentials that some authenticator rejected answer 401 `Unauthorized`, even with anonymous
//!   access on;
//! * no credentials at all answer 401, or with `auth.anonymous` proceed as `system:anonymous`
//!   in group `system:unauthenticated`.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::api::status::ApiError;
use crate::serve::ClientCertIdentity;

/// The group every authenticated user is in.
pub const ALL_AUTHENTICATED: &str = "system:authenticated";
/// The group of anonymous requests.
pub const ALL_UNAUTHENTICATED: &str = "system:unauthenticated";
/// The user of anonymous requests.
pub const ANONYMOUS_USER: &str = "system:anonymous";

/// Who is making a request (upstream's `user.Info`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UserInfo {
    /// The user name: `kubernetes-admin`, `system:serviceaccount:ns:sa`.
    #[serde(rename = "username")]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uid: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, Vec<String>>,
}

impl UserInfo {
    /// The anonymous user.
    pub fn anonymous() -> Self {
        Self {
            name: ANONYMOUS_USER.to_string(),
            groups: vec![ALL_UNAUTHENTICATED.to_string()],
            ..Default::default()
        }
    }

    /// Whether the user is in `group`.
    pub fn in_group(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group)
    }
}

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

/// The ordered union of authenticators, and whether anonymous requests are allowed.
#[derive(Clone)]
pub struct Authentication {
    authenticators: Vec<Arc<dyn Authenticator>>,
    anonymous: bool,
}

impl std::fmt::Debug for Authentication {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.authenticators.iter().map(|a| a.name()).collect();
        f.debug_struct("Authentication")
            .field("authenticators", &names)
            .field("anonymous", &self.anonymous)
            .finish()
    }
}

impl Authentication {
    /// The client-certificate authenticator alone; `anonymous` is `auth.anonymous`.
    pub fn new(anonymous: bool) -> Self {
        Self {
            authenticators: vec![Arc::new(ClientCertAuthenticator)],
            anonymous,
        }
    }

    /// No authenticators at all (tests, or a caller assembling its own list with [`Self::with`]).
    pub fn empty(anonymous: bool) -> Self {
        Self {
            authenticators: Vec::new(),
            anonymous,
        }
    }

    /// Appends an authenticator, tried after the existing ones.
    pub fn with(mut self, authenticator: Arc<dyn Authenticator>) -> Self {
        self.authenticators.push(authenticator);
        self
    }

    /// Authenticates a request: the user, or the 401 to answer.
    pub async fn authenticate(&self, parts: &http::request::Parts) -> Result<UserInfo, ApiError> {
        let mut errors = Vec::new();
        for authenticator in &self.authenticators {
            match authenticator.authenticate(parts).await {
                Ok(Some(mut user)) => {
                    if !user.in_group(ALL_AUTHENTICATED) && !user.in_group(ALL_UNAUTHENTICATED) {
                        user.groups.push(ALL_AUTHENTICATED.to_string());
                    }
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
mod tests {
    use super::*;
    use axum::body::Body;
    use tower::ServiceExt as _;

    /// Accepts `Authorization: Bearer good` as user `token-user`; rejects other bearer tokens.
    struct TestTokens;

    #[async_trait]
    impl Authenticator for TestTokens {
        fn name(&self) -> &'static str {
            "test-token"
        }
        async fn authenticate(
            &self,
            parts: &http::request::Parts,
        ) -> Result<Option<UserInfo>, AuthnError> {
            let Some(value) = parts.headers.get(http::header::AUTHORIZATION) else {
                return Ok(None);
            };
            match value.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")) {
                Some("good") => Ok(Some(UserInfo {
                    name: "token-user".into(),
                    ..Default::default()
                })),
                _ => Err(AuthnError {
                    authenticator: self.name(),
                    why: "invalid bearer token".into(),
                }),
            }
        }
    }

    fn app(authentication: Authentication) -> axum::Router {
        axum::Router::new()
            .route(
                "/",
                axum::routing::get(|req: Request| async move {
                    let user = req
                        .extensions()
                        .get::<UserInfo>()
                        .cloned()
                        .unwrap_or_default();
                    let saw_authorization = req.headers().contains_key(http::header::AUTHORIZATION);
                    format!(
                        "{}|{}|{}",
                        user.name,
                        user.groups.join(","),
                        saw_authorization
                    )
                }),
            )
            .layer(axum::middleware::from_fn_with_state(
                Arc::new(authentication),
                authenticate,
            ))
    }

    async fn call(
        app: axum::Router,
        cert: Option<ClientCertIdentity>,
        token: Option<&str>,
    ) -> (u16, String) {
        let mut request = Request::get("/");
        if let Some(token) = token {
            request = request.header(http::header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let mut request = request.body(Body::empty()).expect("request");
        if let Some(cert) = cert {
            request.extensions_mut().insert(cert);
        }
        let response = app.oneshot(request).await.expect("response");
        let status = response.status().as_u16();
        let body = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .expect("body");
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    fn admin() -> ClientCertIdentity {
        ClientCertIdentity {
            user: "kubernetes-admin".into(),
            groups: vec!["system:masters".into()],
        }
    }

    #[tokio::test]
    async fn outcomes() {
        let with_tokens = || Authentication::new(false).with(Arc::new(TestTokens));
        let unauthorized = r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}"#;

        // A certificate: its user, its groups and system:authenticated.
        let (status, body) = call(app(with_tokens()), Some(admin()), None).await;
        assert_eq!(
            (status, body.as_str()),
            (
                200,
                "kubernetes-admin|system:masters,system:authenticated|false"
            )
        );

        // The first success wins: the certificate comes before the token.
        let (status, body) = call(app(with_tokens()), Some(admin()), Some("good")).await;
        assert_eq!(
            (status, body.as_str()),
            (
                200,
                "kubernetes-admin|system:masters,system:authenticated|false"
            )
        );

        // A token, and the Authorization header does not reach the handler.
        let (status, body) = call(app(with_tokens()), None, Some("good")).await;
        assert_eq!(
            (status, body.as_str()),
            (200, "token-user|system:authenticated|false")
        );

        // Nothing: 401 with a Status.
        let (status, body) = call(app(with_tokens()), None, None).await;
        assert_eq!((status, body.as_str()), (401, unauthorized));

        // Bad credentials: 401, even with anonymous access on.
        let (status, _) = call(
            app(Authentication::new(true).with(Arc::new(TestTokens))),
            None,
            Some("bad"),
        )
        .await;
        assert_eq!(status, 401);

        // Nothing with anonymous access on: system:anonymous.
        let (status, body) = call(app(Authentication::new(true)), None, None).await;
        assert_eq!(
            (status, body.as_str()),
            (200, "system:anonymous|system:unauthenticated|false")
        );

        // A certificate that already carries system:authenticated does not get it twice.
        let cert = ClientCertIdentity {
            user: "u".into(),
            groups: vec![ALL_AUTHENTICATED.into()],
        };
        let (_, body) = call(app(Authentication::new(false)), Some(cert), None).await;
        assert_eq!(body, "u|system:authenticated|false");
    }
}
