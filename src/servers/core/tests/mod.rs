//! HTTP-level tests of the core server: requests through [`super::router`] with
//! `tower::ServiceExt::oneshot`, over real stores on RocksDB in a temporary directory.

mod bindings;
mod crud;
mod errors;
mod formats;
mod patches;
mod rbac_writes;
mod watches;

use std::sync::Arc;

use axum::body::Body;
use axum::Router;
use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

use super::{router, CoreContext};

/// The resources the tests serve.
const SERVED: &[(&str, &str, &str)] = &[
    ("", "v1", "configmaps"),
    ("", "v1", "namespaces"),
    ("", "v1", "pods"),
    ("apps", "v1", "deployments"),
];

/// A core server over a fresh storage.
pub(super) struct Api {
    router: Router,
}

/// A response: status, headers, body bytes.
pub(super) struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    /// The body as JSON (panics with the body text when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn warnings(&self) -> Vec<String> {
        self.headers
            .get_all("warning")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_string))
            .collect()
    }
}

impl Api {
    pub async fn new() -> Self {
        let storage = crate::registry::test_support::memory_storage();
        let stores = crate::registry::test_support::builtin_stores(&storage, SERVED);
        let api = Self {
            router: router(CoreContext::new(Arc::new(stores))),
        };
        let ns = api
            .post(
                "/api/v1/namespaces",
                &json!({"metadata": {"name": "default"}}),
            )
            .await;
        assert_eq!(
            ns.status,
            StatusCode::CREATED,
            "{}",
            String::from_utf8_lossy(&ns.body)
        );
        api
    }

    /// The router, for requests the helpers do not cover (streams).
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    pub async fn send(
        &self,
        method: Method,
        uri: &str,
        headers: &[(&str, &str)],
        body: impl Into<Body>,
    ) -> Answer {
        let mut request = Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(body.into()).expect("request");
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        let (parts, body) = response.into_parts();
        let body = body.collect().await.expect("body").to_bytes();
        Answer {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }

    pub async fn get(&self, uri: &str) -> Answer {
        self.send(Method::GET, uri, &[], Body::empty()).await
    }

    pub async fn post(&self, uri: &str, body: &Value) -> Answer {
        self.send(
            Method::POST,
            uri,
            &[("content-type", "application/json")],
            body.to_string(),
        )
        .await
    }

    pub async fn put(&self, uri: &str, body: &Value) -> Answer {
        self.send(
            Method::PUT,
            uri,
            &[("content-type", "application/json")],
            body.to_string(),
        )
        .await
    }

    pub async fn patch(&self, uri: &str, content_type: &str, body: &Value) -> Answer {
        self.send(
            Method::PATCH,
            uri,
            &[("content-type", content_type)],
            body.to_string(),
        )
        .await
    }

    pub async fn delete(&self, uri: &str) -> Answer {
        self.send(Method::DELETE, uri, &[], Body::empty()).await
    }
}

/// A ConfigMap named `name` with `data`.
pub(super) fn configmap(name: &str, data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data})
}

/// A minimal valid Deployment.
pub(super) fn deployment(name: &str, replicas: i64) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]}
            }
        }
    })
}

/// Asserts a failure Status field by field.
pub(super) fn assert_status(answer: &Answer, code: u16, reason: &str, message: &str) {
    assert_eq!(
        answer.status.as_u16(),
        code,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    assert_eq!(answer.header("content-type"), Some("application/json"));
    let status = answer.json();
    assert_eq!(status["kind"], "Status");
    assert_eq!(status["apiVersion"], "v1");
    assert_eq!(status["status"], "Failure");
    assert_eq!(status["code"], code);
    assert_eq!(status["reason"], reason);
    assert_eq!(status["message"], message);
}

pub(super) const CM: &str = "/api/v1/namespaces/default/configmaps";
pub(super) const DEPLOY: &str = "/apis/apps/v1/namespaces/default/deployments";
