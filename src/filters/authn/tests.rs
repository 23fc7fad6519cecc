//! Tests of the authentication filter, the bearer-token union and [`Authentication::from_config`].

use super::*;
use crate::request::user::{UserInfo, ALL_AUTHENTICATED};
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

#[test]
fn bearer_header_parsing_follows_upstream() {
    let parse = |value: &str| {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::AUTHORIZATION,
            http::HeaderValue::from_str(value).expect("header"),
        );
        bearer_token(&headers).map(str::to_string)
    };
    assert_eq!(parse("Bearer abc"), Some("abc".into()));
    assert_eq!(parse("bearer abc"), Some("abc".into()));
    assert_eq!(parse("  BEARER abc  "), Some("abc".into()));
    assert_eq!(parse("Bearer abc def"), Some("abc".into()));
    assert_eq!(parse("Bearer"), None);
    assert_eq!(parse("Bearer  abc"), None);
    assert_eq!(parse("Basic YWxhZGRpbjpvcGVuc2VzYW1l"), None);
    assert_eq!(bearer_token(&http::HeaderMap::new()), None);
}

#[test]
fn aggregate_messages_as_upstream() {
    assert_eq!(aggregate(&["a".into()]), "a");
    assert_eq!(aggregate(&["a".into(), "b".into(), "a".into()]), "[a, b]");
}

#[tokio::test]
async fn bearer_tokens_through_the_filter() {
    let authn = || {
        test_support::authentication(
            test_support::signing_key(),
            Some("secret-token,alice,uid-a,\"devs,ops\"\n"),
            0,
        )
    };
    let (status, body) = call(app(authn()), None, Some("secret-token")).await;
    assert_eq!(
        (status, body.as_str()),
        (200, "alice|devs,ops,system:authenticated|false")
    );
    // An unknown bearer token is rejected, even with anonymous access on.
    let mut anonymous = authn();
    anonymous.anonymous = true;
    let (status, _) = call(app(anonymous.clone()), None, Some("wrong")).await;
    assert_eq!(status, 401);
    let (status, body) = call(app(anonymous), None, None).await;
    assert_eq!(
        (status, body.as_str()),
        (200, "system:anonymous|system:unauthenticated|false")
    );
    // A certificate still wins over a bad token, as it comes first.
    let (status, body) = call(app(authn()), Some(admin()), Some("wrong")).await;
    assert_eq!(
        (status, body.as_str()),
        (
            200,
            "kubernetes-admin|system:masters,system:authenticated|false"
        )
    );
}

#[test]
fn from_config_names_the_setting_at_fault() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = Config::default();
    config.server.data_dir = dir.path().join("data");

    let authentication = Authentication::from_config(&config).expect("defaults work");
    assert!(dir
        .path()
        .join("data")
        .join(crate::pki::SA_KEY_FILE)
        .is_file());
    assert!(authentication.token_issuer().is_some());
    assert_eq!(
        authentication.api_audiences(),
        ["https://kubernetes.default.svc.cluster.local".to_string()]
    );
    let names: Vec<&str> = authentication
        .authenticators
        .iter()
        .map(|a| a.name())
        .collect();
    assert_eq!(names, ["x509", "bearer-token"]);

    let tokens = dir.path().join("tokens.csv");
    std::fs::write(&tokens, "t,alice,1\nbroken\n").expect("write");
    config.auth.token_file = Some(tokens.clone());
    let err = Authentication::from_config(&config).expect_err("bad token file");
    assert_eq!(err.setting, "auth.token_file");
    assert_eq!(
        err.message,
        format!(
            "{}: line 2: must have at least 3 columns (token, user name, user uid), found 1",
            tokens.display()
        )
    );

    std::fs::write(&tokens, "t,alice,1\n").expect("write");
    config.auth.service_account_max_token_expiration_seconds = 60;
    let err = Authentication::from_config(&config).expect_err("max too small");
    assert_eq!(
        err.setting,
        "auth.service_account_max_token_expiration_seconds"
    );

    config.auth.service_account_max_token_expiration_seconds = 0;
    config.auth.service_account_issuer = String::new();
    let err = Authentication::from_config(&config).expect_err("no issuer");
    assert_eq!(err.setting, "auth.service_account_issuer");
}
