//! The audit middlewares driven over a small router, events read back from the log file.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde_json::{json, Value};
use tower::ServiceExt as _;

use super::*;
use crate::api::status::{ApiError, GroupResource};
use crate::filters::audit_id::AuditId;
use crate::filters::authn::{self, Authentication};
use crate::request::connection::{ClientCertIdentity, PeerAddr};
use crate::request::info::RequestInfoFactory;

struct Harness {
    _dir: tempfile::TempDir,
    path: PathBuf,
    auditor: Arc<Auditor>,
}

impl Harness {
    fn new(policy_yaml: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("logs/audit.log");
        let policy_path = dir.path().join("policy.yaml");
        std::fs::write(&policy_path, policy_yaml).expect("write policy");
        let auditor = Auditor::from_config(&crate::config::AuditConfig {
            policy_file: Some(policy_path),
            log_path: Some(path.clone()),
            ..Default::default()
        })
        .expect("valid audit config")
        .expect("auditing on");
        Self {
            _dir: dir,
            path,
            auditor,
        }
    }

    /// The raw lines written so far.
    async fn lines(&self) -> Vec<String> {
        self.auditor.flush().await;
        std::fs::read_to_string(&self.path)
            .expect("audit log")
            .lines()
            .map(str::to_string)
            .collect()
    }

    async fn events(&self) -> Vec<Value> {
        self.lines()
            .await
            .iter()
            .map(|line| serde_json::from_str(line).expect("a JSON event"))
            .collect()
    }

    fn app(&self) -> Router {
        routes().layer(from_fn_with_state(self.auditor.clone(), audit))
    }
}

fn policy(level: &str) -> String {
    format!("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: {level}\n")
}

fn routes() -> Router {
    async fn list() -> Response {
        (
            [(http::header::CONTENT_TYPE, "application/json")],
            r#"{"kind":"ConfigMapList","apiVersion":"v1","metadata":{},"items":[]}"#,
        )
            .into_response()
    }
    async fn create(req: Request) -> Response {
        // No extractor limit: the large-body test sends more than axum's default 2 MB.
        let body = axum::body::to_bytes(req.into_body(), usize::MAX)
            .await
            .expect("body");
        let mut object: Value = serde_json::from_slice(&body).expect("json body");
        object["metadata"]["uid"] = json!("uid-1");
        object["metadata"]["managedFields"] = json!([{"manager": "kubectl"}]);
        (
            http::StatusCode::CREATED,
            [(http::header::CONTENT_TYPE, "application/json")],
            object.to_string(),
        )
            .into_response()
    }
    async fn not_found() -> Response {
        ApiError::not_found(&GroupResource::new("", "configmaps"), "missing").into_response()
    }
    async fn watch() -> Response {
        let chunks = futures::stream::iter([
            Ok::<_, std::io::Error>(Bytes::from_static(b"{\"type\":\"ADDED\"}\n")),
            Ok(Bytes::from_static(b"{\"type\":\"DELETED\"}\n")),
        ]);
        (
            [(http::header::CONTENT_TYPE, "application/json")],
            Body::from_stream(chunks),
        )
            .into_response()
    }
    async fn boom() -> &'static str {
        panic!("boom")
    }
    async fn annotate(Extension(context): Extension<Arc<AuditContext>>) -> &'static str {
        context.add_annotation(DECISION_ANNOTATION, "allow");
        context.add_annotation(REASON_ANNOTATION, "RBAC: allowed by ClusterRoleBinding");
        context.add_annotation(DECISION_ANNOTATION, "forbid");
        context.set_impersonated_user(UserInfo {
            name: "bob".into(),
            groups: vec!["system:authenticated".into()],
            ..Default::default()
        });
        "ok"
    }
    Router::new()
        .route("/api/v1/namespaces/{ns}/configmaps", get(list).post(create))
        .route("/api/v1/namespaces/{ns}/configmaps/{name}", get(not_found))
        .route("/api/v1/namespaces/{ns}/secrets", post(create))
        .route("/api/v1/namespaces/{ns}/pods", get(watch))
        .route("/boom", get(boom))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        )
        .route("/annotate", get(annotate))
}

fn alice() -> UserInfo {
    UserInfo {
        name: "alice".into(),
        groups: vec!["devs".into(), "system:authenticated".into()],
        ..Default::default()
    }
}

/// A request as the chain hands it to the audit filter: request info, user, audit id, peer.
fn request(method: &str, uri: &str, body: &str, user: Option<UserInfo>) -> Request {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header(http::header::USER_AGENT, "kubectl/v1.33.0")
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .expect("request");
    let info = RequestInfoFactory::default()
        .new_request_info(req.method(), req.uri())
        .expect("request info");
    req.extensions_mut().insert(info);
    req.extensions_mut().insert(AuditId("id-1".into()));
    req.extensions_mut()
        .insert(PeerAddr("127.0.0.1:50000".parse().expect("addr")));
    if let Some(user) = user {
        req.extensions_mut().insert(user);
    }
    req
}

async fn call(app: Router, req: Request) -> (u16, String) {
    let response = app.oneshot(req).await.expect("response");
    let status = response.status().as_u16();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn without_timestamps(line: &str) -> String {
    let re = regex::Regex::new(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z").expect("regex");
    re.replace_all(line, "TS").into_owned()
}

#[tokio::test]
async fn metadata_events_have_upstreams_exact_shape() {
    let harness = Harness::new(&policy("Metadata"));
    let (status, _) = call(
        harness.app(),
        request(
            "GET",
            "/api/v1/namespaces/default/configmaps?limit=5",
            "",
            Some(alice()),
        ),
    )
    .await;
    assert_eq!(status, 200);
    let lines = harness.lines().await;
    assert_eq!(lines.len(), 2, "{lines:#?}");
    let common = r#""requestURI":"/api/v1/namespaces/default/configmaps?limit=5","verb":"list","user":{"username":"alice","groups":["devs","system:authenticated"]},"sourceIPs":["127.0.0.1"],"userAgent":"kubectl/v1.33.0","objectRef":{"resource":"configmaps","namespace":"default","apiVersion":"v1"}"#;
    assert_eq!(
        without_timestamps(&lines[0]),
        format!(
            r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"id-1","stage":"RequestReceived",{common},"requestReceivedTimestamp":"TS","stageTimestamp":"TS"}}"#
        )
    );
    assert_eq!(
        without_timestamps(&lines[1]),
        format!(
            r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"id-1","stage":"ResponseComplete",{common},"responseStatus":{{"metadata":{{}},"code":200}},"requestReceivedTimestamp":"TS","stageTimestamp":"TS"}}"#
        )
    );
    let received: Value = serde_json::from_str(&lines[0]).expect("json");
    assert_eq!(
        received["requestReceivedTimestamp"], received["stageTimestamp"],
        "RequestReceived is stamped with the receive time"
    );
}

#[tokio::test]
async fn failures_record_the_status_fields() {
    let harness = Harness::new(&policy("Metadata"));
    let (status, _) = call(
        harness.app(),
        request(
            "GET",
            "/api/v1/namespaces/default/configmaps/missing",
            "",
            Some(alice()),
        ),
    )
    .await;
    assert_eq!(status, 404);
    let events = harness.events().await;
    assert_eq!(
        events[1]["responseStatus"],
        json!({
            "metadata": {}, "status": "Failure", "message": "configmaps \"missing\" not found",
            "reason": "NotFound", "details": {"name": "missing", "kind": "configmaps"}, "code": 404
        })
    );
    assert_eq!(events[1]["objectRef"]["name"], "missing");
    assert!(events[1].get("responseObject").is_none());
}

#[tokio::test]
async fn level_none_writes_nothing() {
    let harness = Harness::new(
        "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: None\n  resources: [{group: \"\", resources: [configmaps]}]\n- level: Metadata\n",
    );
    let app = harness.app();
    let (status, _) = call(
        app.clone(),
        request(
            "GET",
            "/api/v1/namespaces/default/configmaps",
            "",
            Some(alice()),
        ),
    )
    .await;
    assert_eq!(status, 200);
    assert!(harness.lines().await.is_empty());
    // The same auditor still audits what the policy asks for.
    call(app, request("GET", "/annotate", "", Some(alice()))).await;
    assert_eq!(harness.lines().await.len(), 2);
}

#[tokio::test]
async fn request_level_records_the_request_body_on_completion() {
    let harness = Harness::new(&policy("Request"));
    let body =
        r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cfg"},"data":{"a":"b"}}"#;
    let (status, echoed) = call(
        harness.app(),
        request(
            "POST",
            "/api/v1/namespaces/default/configmaps",
            body,
            Some(alice()),
        ),
    )
    .await;
    assert_eq!(status, 201);
    assert!(
        echoed.contains("\"data\":{\"a\":\"b\"}"),
        "the handler got the body: {echoed}"
    );
    let events = harness.events().await;
    assert_eq!(events.len(), 2);
    assert!(events[0].get("requestObject").is_none());
    assert_eq!(events[0]["objectRef"].get("name"), None);
    assert_eq!(
        events[1]["requestObject"],
        serde_json::from_str::<Value>(body).expect("json")
    );
    assert!(events[1].get("responseObject").is_none());
    assert_eq!(events[1]["objectRef"]["name"], "cfg");
    assert_eq!(events[1]["verb"], "create");
    assert_eq!(
        events[1]["responseStatus"],
        json!({"metadata": {}, "code": 201})
    );
}

#[tokio::test]
async fn metadata_level_secret_create_has_no_body() {
    let harness = Harness::new(&policy("Metadata"));
    let body = r#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"token"},"data":{"password":"c2VjcmV0LXZhbHVl"}}"#;
    let (status, _) = call(
        harness.app(),
        request(
            "POST",
            "/api/v1/namespaces/default/secrets",
            body,
            Some(alice()),
        ),
    )
    .await;
    assert_eq!(status, 201);
    let lines = harness.lines().await;
    assert_eq!(lines.len(), 2);
    for line in &lines {
        assert!(
            !line.contains("c2VjcmV0LXZhbHVl"),
            "secret data leaked: {line}"
        );
        assert!(!line.contains("requestObject") && !line.contains("responseObject"));
    }
    let complete: Value = serde_json::from_str(&lines[1]).expect("json");
    assert_eq!(
        complete["objectRef"],
        json!({"resource": "secrets", "namespace": "default", "name": "token", "apiVersion": "v1"})
    );
}

#[tokio::test]
async fn request_response_level_records_the_response_without_managed_fields() {
    let harness = Harness::new(
        "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitManagedFields: true\nrules:\n- level: RequestResponse\n",
    );
    let body = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cfg","managedFields":[{"manager":"x"}]}}"#;
    call(
        harness.app(),
        request(
            "POST",
            "/api/v1/namespaces/default/configmaps",
            body,
            Some(alice()),
        ),
    )
    .await;
    let events = harness.events().await;
    assert_eq!(
        events[1]["requestObject"],
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}})
    );
    assert_eq!(
        events[1]["responseObject"],
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "uid": "uid-1"}})
    );
    assert_eq!(events[1]["objectRef"]["name"], "cfg");
}

#[tokio::test]
async fn a_watch_has_three_stages_and_no_response_object() {
    let harness = Harness::new(&policy("RequestResponse"));
    let response = harness
        .app()
        .oneshot(request(
            "GET",
            "/api/v1/namespaces/default/pods?watch=true",
            "",
            Some(alice()),
        ))
        .await
        .expect("response");
    assert_eq!(response.status(), 200);
    let stages: Vec<Value> = harness
        .events()
        .await
        .iter()
        .map(|e| e["stage"].clone())
        .collect();
    assert_eq!(
        stages,
        vec![json!("RequestReceived"), json!("ResponseStarted")]
    );

    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    assert_eq!(&body[..], b"{\"type\":\"ADDED\"}\n{\"type\":\"DELETED\"}\n");
    let events = harness.events().await;
    assert_eq!(events.len(), 3);
    assert_eq!(events[2]["stage"], "ResponseComplete");
    assert_eq!(events[2]["verb"], "watch");
    assert_eq!(
        events[2]["responseStatus"],
        json!({"metadata": {}, "code": 200})
    );
    assert!(events.iter().all(|e| e.get("responseObject").is_none()));
}

#[tokio::test]
async fn omitted_stages_are_not_written() {
    let harness = Harness::new(
        "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n- level: Metadata\n",
    );
    call(
        harness.app(),
        request(
            "GET",
            "/api/v1/namespaces/default/configmaps",
            "",
            Some(alice()),
        ),
    )
    .await;
    let events = harness.events().await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["stage"], "ResponseComplete");
}

#[tokio::test]
async fn later_filters_add_annotations_and_the_impersonated_user() {
    let harness = Harness::new(&policy("Metadata"));
    let (status, _) = call(
        harness.app(),
        request("GET", "/annotate", "", Some(alice())),
    )
    .await;
    assert_eq!(status, 200);
    let events = harness.events().await;
    assert_eq!(
        events[1]["annotations"],
        json!({
            "authorization.k8s.io/decision": "allow",
            "authorization.k8s.io/reason": "RBAC: allowed by ClusterRoleBinding"
        })
    );
    assert_eq!(
        events[1]["impersonatedUser"],
        json!({"username": "bob", "groups": ["system:authenticated"]})
    );
    assert_eq!(events[1]["user"]["username"], "alice");
    assert!(events[1].get("objectRef").is_none(), "non-resource request");
    assert_eq!(events[1]["verb"], "get");
}

#[tokio::test]
async fn a_panic_is_audited_and_still_reaches_panic_recovery() {
    let harness = Harness::new(&policy("Metadata"));
    let app = harness
        .app()
        .layer(from_fn(crate::filters::panic::recover_panics));
    let (status, _) = call(app, request("GET", "/boom", "", Some(alice()))).await;
    assert_eq!(status, 500);
    let events = harness.events().await;
    assert_eq!(events.len(), 2);
    assert_eq!(events[1]["stage"], "Panic");
    assert_eq!(
        events[1]["responseStatus"],
        json!({
            "metadata": {}, "status": "Failure", "message": "APIServer panic'd: boom",
            "reason": "InternalError", "code": 500
        })
    );
}

#[tokio::test]
async fn failed_authentication_is_audited_once() {
    let harness = Harness::new(&policy("Metadata"));
    let app = routes()
        .layer(from_fn_with_state(harness.auditor.clone(), audit))
        .layer(from_fn_with_state(
            Arc::new(Authentication::new(false)),
            authn::authenticate,
        ))
        .layer(from_fn_with_state(
            harness.auditor.clone(),
            audit_failed_authentication,
        ));

    // No credentials: 401, one ResponseStarted event without a user.
    let (status, _) = call(
        app.clone(),
        request("GET", "/api/v1/namespaces/default/configmaps", "", None),
    )
    .await;
    assert_eq!(status, 401);
    let lines = harness.lines().await;
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert_eq!(
        without_timestamps(&lines[0]),
        r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"id-1","stage":"ResponseStarted","requestURI":"/api/v1/namespaces/default/configmaps","verb":"list","user":{},"sourceIPs":["127.0.0.1"],"userAgent":"kubectl/v1.33.0","objectRef":{"resource":"configmaps","namespace":"default","apiVersion":"v1"},"responseStatus":{"metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401},"requestReceivedTimestamp":"TS","stageTimestamp":"TS"}"#
    );

    // An authenticated request goes through the normal audit filter only.
    let mut req = request("GET", "/api/v1/namespaces/default/configmaps", "", None);
    req.extensions_mut().insert(ClientCertIdentity {
        user: "alice".into(),
        groups: vec!["devs".into()],
    });
    let (status, _) = call(app, req).await;
    assert_eq!(status, 200);
    let events = harness.events().await;
    assert_eq!(events.len(), 3);
    assert_eq!(events[1]["stage"], "RequestReceived");
    assert_eq!(events[2]["user"]["username"], "alice");
}

#[tokio::test]
async fn failed_authentication_message_names_the_attempted_methods() {
    let with = |header: Option<&str>, uri: &str, cert: bool| {
        let mut req = Request::get(uri);
        if let Some(value) = header {
            req = req.header(http::header::AUTHORIZATION, value);
        }
        let mut req = req.body(Body::empty()).expect("request");
        if cert {
            req.extensions_mut().insert(ClientCertIdentity {
                user: "u".into(),
                groups: Vec::new(),
            });
        }
        filter::authentication_methods(&req)
    };
    assert_eq!(
        with(None, "/api", false),
        "Authentication failed, no credentials provided"
    );
    assert_eq!(
        with(Some("Bearer abc"), "/api", true),
        "Authentication failed, attempted: bearer, x509"
    );
    assert_eq!(
        with(Some("Basic dXNlcjpwYXNz"), "/api?access_token=t", false),
        "Authentication failed, attempted: basic, access_token"
    );
}

#[tokio::test]
async fn failed_authentication_without_a_status_body_keeps_the_methods_message() {
    let harness = Harness::new(&policy("Metadata"));
    let app = Router::new()
        .route(
            "/api",
            get(|| async { (http::StatusCode::UNAUTHORIZED, "no") }),
        )
        .layer(from_fn_with_state(
            harness.auditor.clone(),
            audit_failed_authentication,
        ));
    let req = Request::get("/api")
        .header(http::header::AUTHORIZATION, "Bearer bad")
        .body(Body::empty())
        .expect("request");
    let (status, _) = call(app, req).await;
    assert_eq!(status, 401);
    let events = harness.events().await;
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0]["responseStatus"],
        json!({"metadata": {}, "message": "Authentication failed, attempted: bearer", "code": 401})
    );
    assert_eq!(events[0]["user"], json!({}));
}

#[tokio::test]
async fn large_request_bodies_pass_through_without_request_object() {
    let harness = Harness::new(&policy("Request"));
    let big = "x".repeat(filter::MAX_REQUEST_CAPTURE_BYTES + 10);
    let body = format!(r#"{{"metadata":{{"name":"big"}},"data":{{"a":"{big}"}}}}"#);
    let (status, echoed) = call(
        harness.app(),
        request(
            "POST",
            "/api/v1/namespaces/default/configmaps",
            &body,
            Some(alice()),
        ),
    )
    .await;
    assert_eq!(status, 201);
    assert!(echoed.len() > filter::MAX_REQUEST_CAPTURE_BYTES);
    let events = harness.events().await;
    assert!(events[1].get("requestObject").is_none());
}

#[test]
fn from_config_is_off_without_a_policy_and_names_the_setting_on_errors() {
    assert!(Auditor::from_config(&crate::config::AuditConfig::default())
        .expect("no auditing")
        .is_none());

    let dir = tempfile::tempdir().expect("tempdir");
    let policy_path = dir.path().join("policy.yaml");
    std::fs::write(
        &policy_path,
        "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Everything\n",
    )
    .expect("write");
    let err = Auditor::from_config(&crate::config::AuditConfig {
        policy_file: Some(policy_path.clone()),
        log_path: Some(dir.path().join("audit.log")),
        ..Default::default()
    })
    .expect_err("bad level");
    assert_eq!(err.setting, "audit.policy_file");
    assert!(
        err.to_string().starts_with(
            "invalid configuration: audit.policy_file: rules[0].level: Unsupported value: \"Everything\""
        ),
        "{err}"
    );
    assert!(err
        .message
        .ends_with(&format!("from file {}", policy_path.display())));

    std::fs::write(&policy_path, policy("Metadata")).expect("write");
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "").expect("write");
    let err = Auditor::from_config(&crate::config::AuditConfig {
        policy_file: Some(policy_path),
        log_path: Some(blocker.join("audit.log")),
        ..Default::default()
    })
    .expect_err("a file is in the way of the log directory");
    assert_eq!(err.setting, "audit.log_path");
}

#[tokio::test]
async fn events_are_on_disk_shortly_after_the_request_without_an_explicit_flush() {
    let harness = Harness::new(&policy("Metadata"));
    call(
        harness.app(),
        request(
            "GET",
            "/api/v1/namespaces/default/configmaps",
            "",
            Some(alice()),
        ),
    )
    .await;
    let mut lines = 0;
    for _ in 0..100 {
        lines = std::fs::read_to_string(&harness.path)
            .map(|text| text.lines().count())
            .unwrap_or(0);
        if lines == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(lines, 2);
}

#[tokio::test]
async fn a_timed_out_request_still_completes_its_event() {
    let harness = Harness::new(&policy("Metadata"));
    let app = harness.app().layer(from_fn_with_state(
        crate::filters::timeout::TimeoutConfig {
            request_timeout: Duration::from_millis(50),
        },
        crate::filters::timeout::enforce_deadline,
    ));
    let (status, _) = call(app, request("GET", "/slow", "", Some(alice()))).await;
    assert_eq!(status, 504);
    let events = harness.events().await;
    assert_eq!(events.len(), 2, "{events:#?}");
    assert_eq!(events[1]["stage"], "ResponseComplete");
    assert_eq!(events[1]["responseStatus"]["code"], 504);
    assert_eq!(events[1]["responseStatus"]["reason"], "Timeout");
}
