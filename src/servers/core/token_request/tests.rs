//! TokenRequest and TokenReview over HTTP, through the core router and real stores.

use std::sync::Arc;

use axum::body::Body;
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::filters::authn::test_support::{authentication, signing_key, ISSUER};
use crate::filters::authn::Authentication;
use crate::registry::options::WriteOptions;
use crate::registry::stores::ResourceStores;
use crate::servers::core::{router, CoreContext};

struct Api {
    router: axum::Router,
    stores: Arc<ResourceStores>,
    authentication: Arc<Authentication>,
}

struct Answer {
    status: StatusCode,
    warnings: Vec<String>,
    body: Value,
}

impl Api {
    async fn new(max_expiration_seconds: i64, with_authentication: bool) -> Self {
        let stores = Arc::new(crate::registry::test_support::builtin_stores(
            &crate::registry::test_support::memory_storage(),
            &[
                ("", "v1", "serviceaccounts"),
                ("", "v1", "pods"),
                ("", "v1", "secrets"),
                ("authentication.k8s.io", "v1", "tokenreviews"),
            ],
        ));
        let authentication = Arc::new(authentication(signing_key(), None, max_expiration_seconds));
        authentication.set_object_getter(stores.clone());
        let mut ctx = CoreContext::new(stores.clone());
        if with_authentication {
            ctx = ctx.with_authentication(authentication.clone());
        }
        let api = Self {
            router: router(ctx),
            stores,
            authentication,
        };
        api.create(
            "serviceaccounts",
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "robot"}}),
        )
        .await;
        api
    }

    async fn create(&self, plural: &str, object: Value) -> Value {
        self.stores
            .get("", "v1", plural)
            .expect("served")
            .create(Some("default"), object, &WriteOptions::default())
            .await
            .expect("created")
    }

    async fn post(&self, uri: &str, body: &Value) -> Answer {
        let request = Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .expect("request");
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await.expect("body").to_bytes();
        Answer {
            status: parts.status,
            warnings: parts
                .headers
                .get_all("warning")
                .iter()
                .filter_map(|v| v.to_str().ok().map(str::to_string))
                .collect(),
            body: serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes))),
        }
    }

    async fn request_token(&self, sa: &str, spec: Value) -> Answer {
        self.post(
            &format!("/api/v1/namespaces/default/serviceaccounts/{sa}/token"),
            &json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec}),
        )
        .await
    }
}

fn seconds(timestamp: &Value) -> i64 {
    timestamp
        .as_str()
        .expect("timestamp")
        .parse::<jiff::Timestamp>()
        .expect("RFC 3339")
        .as_second()
}

#[tokio::test]
async fn kubectl_create_token_gets_a_working_token() {
    let api = Api::new(0, true).await;
    let answer = api.request_token("robot", json!({})).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    let body = &answer.body;
    assert_eq!(body["kind"], "TokenRequest");
    assert_eq!(body["apiVersion"], "authentication.k8s.io/v1");
    assert_eq!(body["metadata"]["name"], "robot");
    assert_eq!(body["metadata"]["namespace"], "default");
    assert_eq!(
        body["spec"],
        json!({"audiences": [ISSUER], "expirationSeconds": 3600, "boundObjectRef": null})
    );
    assert_eq!(
        seconds(&body["status"]["expirationTimestamp"])
            - seconds(&body["metadata"]["creationTimestamp"]),
        3600
    );
    let token = body["status"]["token"].as_str().expect("token");
    let outcome = api.authentication.review_token(token, &[]).await;
    assert!(outcome.authenticated, "{outcome:?}");
    assert_eq!(
        outcome.user.expect("user").name,
        "system:serviceaccount:default:robot"
    );

    // The same token through the TokenReview API (`kubectl create token --audience` style).
    let review = api
        .post(
            "/apis/authentication.k8s.io/v1/tokenreviews",
            &json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": token}}),
        )
        .await;
    assert_eq!(review.status, StatusCode::CREATED, "{}", review.body);
    assert_eq!(review.body["status"]["authenticated"], true);
    assert_eq!(review.body["status"]["audiences"], json!([ISSUER]));

    // --audience and --duration.
    let answer = api
        .request_token(
            "robot",
            json!({"audiences": ["vault"], "expirationSeconds": 7200}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    assert_eq!(answer.body["spec"]["audiences"], json!(["vault"]));
    assert_eq!(answer.body["spec"]["expirationSeconds"], 7200);
}

#[tokio::test]
async fn validation_and_missing_objects() {
    let api = Api::new(86400, true).await;

    let answer = api.request_token("ghost", json!({})).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(
        answer.body["message"],
        "serviceaccounts \"ghost\" not found"
    );

    let answer = api
        .request_token("robot", json!({"expirationSeconds": 60}))
        .await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        answer.body["message"],
        "TokenRequest.authentication.k8s.io \"\" is invalid: spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes"
    );
    assert_eq!(
        answer.body["details"]["causes"][0]["field"],
        "spec.expirationSeconds"
    );

    let answer = api
        .request_token("robot", json!({"expirationSeconds": 5_000_000_000_i64}))
        .await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        answer.body["message"]
            .as_str()
            .expect("message")
            .ends_with("may not specify a duration larger than 2^32 seconds"),
        "{}",
        answer.body
    );

    // Longer than auth.service_account_max_token_expiration_seconds: shortened, with a warning.
    let answer = api
        .request_token("robot", json!({"expirationSeconds": 100000}))
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    assert_eq!(answer.body["spec"]["expirationSeconds"], 86400);
    assert_eq!(answer.warnings.len(), 1, "{:?}", answer.warnings);
    assert!(
        answer.warnings[0]
            .contains("requested expiration of 100000 seconds shortened to 86400 seconds"),
        "{:?}",
        answer.warnings
    );

    let answer = api
        .post(
            "/api/v1/namespaces/default/serviceaccounts/robot/token",
            &json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "metadata": {"name": "other"}, "spec": {}}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        answer.body["message"],
        "TokenRequest.authentication.k8s.io \"robot\" is invalid: metadata.name: Invalid value: \"other\": must match the service account name if specified"
    );
}

#[tokio::test]
async fn bound_object_references() {
    let api = Api::new(0, true).await;
    let pod = api
        .create(
            "pods",
            json!({
                "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
                "spec": {"serviceAccountName": "robot", "containers": [{"name": "c", "image": "nginx"}]},
            }),
        )
        .await;
    let pod_uid = pod["metadata"]["uid"].as_str().expect("uid").to_string();
    api.create(
        "pods",
        json!({
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "other"},
            "spec": {"serviceAccountName": "default", "containers": [{"name": "c", "image": "nginx"}]},
        }),
    )
    .await;

    let bound = |kind: &str, name: &str, uid: &str| json!({"boundObjectRef": {"apiVersion": "v1", "kind": kind, "name": name, "uid": uid}});
    let answer = api
        .request_token("robot", bound("Pod", "web", &pod_uid))
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    let token = answer.body["status"]["token"].as_str().expect("token");
    let user = api
        .authentication
        .review_token(token, &[])
        .await
        .user
        .expect("authenticated");
    assert_eq!(
        user.extra["authentication.kubernetes.io/pod-name"],
        vec!["web"]
    );
    assert_eq!(
        user.extra["authentication.kubernetes.io/pod-uid"],
        vec![pod_uid.clone()]
    );

    let answer = api
        .request_token("robot", bound("Pod", "web", "stale-uid"))
        .await;
    assert_eq!(answer.status, StatusCode::CONFLICT);
    assert_eq!(
        answer.body["message"],
        "Operation cannot be fulfilled on Pod \"web\": the UID in the bound object reference (stale-uid) does not match the UID in record. The object might have been deleted and then recreated"
    );

    let answer = api.request_token("robot", bound("Pod", "other", "")).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.body["message"],
        "cannot bind token for serviceaccount \"robot\" to pod running with different serviceaccount name."
    );

    let answer = api.request_token("robot", bound("Pod", "nope", "")).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(answer.body["message"], "pods \"nope\" not found");

    let answer = api
        .request_token("robot", bound("ConfigMap", "cm", ""))
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.body["message"],
        "cannot bind token to object of type /v1, Kind=ConfigMap"
    );

    // Deleting the pod invalidates its tokens.
    api.stores
        .get("", "v1", "pods")
        .expect("served")
        .delete(
            Some("default"),
            "web",
            &crate::registry::options::DeleteOptions {
                grace_period_seconds: Some(0),
                ..Default::default()
            },
            &WriteOptions::default(),
        )
        .await
        .expect("deleted");
    let outcome = api.authentication.review_token(token, &[]).await;
    assert!(!outcome.authenticated);
    assert_eq!(
        outcome.error.as_deref(),
        Some("[invalid bearer token, service account token has been invalidated]")
    );
}

#[tokio::test]
async fn without_authentication_the_subresource_is_not_served() {
    let api = Api::new(0, false).await;
    let answer = api.request_token("robot", json!({})).await;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
    let review = api
        .post(
            "/apis/authentication.k8s.io/v1/tokenreviews",
            &json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": "x"}}),
        )
        .await;
    assert_eq!(review.status, StatusCode::CREATED);
    assert_eq!(review.body["status"], json!({"user": {}}));
}
