//! The audit middlewares: [`audit`] (upstream's `WithAudit`) and [`audit_failed_authentication`]
//! (upstream's `WithFailedAuthenticationAudit`).
//!
//! Bodies: the request body is buffered (up to upstream's 3 MiB request limit) only for the
//! requests whose event uses it: creates and updates (their `objectRef` takes the name, uid and
//! resourceVersion of the object, as upstream's handlers do) and, at level `Request` and above,
//! patches and deletes (`requestObject`). JSON, YAML and protobuf bodies are recorded as JSON; a
//! larger or unreadable body is passed on untouched without `requestObject`. Response bodies are
//! buffered only when the request is not long-running and either the level is `RequestResponse`
//! (`responseObject`, JSON responses only) or the response may be a small Status (its `status`,
//! `message`, `reason` and `details` go into `responseStatus`). Long-running responses (watch
//! streams) are never buffered: their `ResponseComplete` is written when the stream ends.

use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use axum::body::{Body, BodyDataStream, Bytes, HttpBody as _};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine as _;
use futures::{FutureExt as _, Stream, StreamExt as _};
use serde_json::Value;

use super::event::{self, Event, EventUser, ObjectReference, ResponseStatus};
use super::policy::{Level, PolicyAttributes, Stage};
use super::{AuditContext, Auditor};
use crate::filters::audit_id::AuditId;
use crate::filters::timeout::{is_long_running, timeout_error, RequestDeadline};
use crate::request::connection::{ClientCertIdentity, PeerAddr};
use crate::request::info::{RequestInfo, RequestInfoFactory};
use crate::request::user::UserInfo;

/// The largest request body recorded (upstream's default `MaxRequestBodyBytes`, 3 MiB).
pub const MAX_REQUEST_CAPTURE_BYTES: usize = 3 * 1024 * 1024;
/// The largest response body recorded as `responseObject`.
pub const MAX_RESPONSE_CAPTURE_BYTES: usize = 32 * 1024 * 1024;
/// The largest response looked at for a Status at levels below `RequestResponse`.
pub const MAX_STATUS_CAPTURE_BYTES: usize = 64 * 1024;

/// The audit filter. Runs after authentication (and request info); the lead's chain places it
/// where upstream has `WithAudit`, before impersonation and authorization.
pub async fn audit(State(auditor): State<Arc<Auditor>>, req: Request, next: Next) -> Response {
    let fallback;
    let info = match req.extensions().get::<RequestInfo>() {
        Some(info) => info,
        None => {
            fallback = request_info_of(&req);
            &fallback
        }
    };
    let user = req.extensions().get::<UserInfo>();
    let config = auditor
        .policy()
        .evaluate(&PolicyAttributes::of_request(user, info));
    if config.level == Level::None {
        return next.run(req).await;
    }
    let long_running = is_long_running(info);
    let body_use = request_body_use(info, config.level, long_running);
    // Upstream's handlers fill `objectRef` from the decoded object of creates and updates.
    let fills_reference = matches!(info.verb.as_str(), "create" | "update");
    let event = new_event(&req, user, info, config.level);

    let context = Arc::new(AuditContext::new(config, event));
    let mut req = req;
    req.extensions_mut().insert(context.clone());
    auditor.emit(&context, Stage::RequestReceived).await;

    // Until the filter writes the final event itself, dropping this writes one (the request
    // timed out or the client went away while the handler ran).
    let mut unfinished = UnfinishedGuard {
        pending: Some((auditor.clone(), context.clone())),
        deadline: req.extensions().get::<RequestDeadline>().copied(),
    };

    if body_use != RequestBodyUse::Ignore {
        req = record_request_body(req, &context, body_use, fills_reference).await;
    }

    let response = match AssertUnwindSafe(next.run(req)).catch_unwind().await {
        Ok(response) => response,
        Err(payload) => {
            unfinished.disarm();
            let message = panic_message(payload.as_ref());
            context.with_event(|event| {
                event.response_status = Some(ResponseStatus {
                    status: "Failure".into(),
                    message: format!("APIServer panic'd: {message}"),
                    reason: "InternalError".into(),
                    code: 500,
                    ..Default::default()
                });
            });
            auditor.emit(&context, Stage::Panic).await;
            std::panic::resume_unwind(payload);
        }
    };

    unfinished.disarm();
    let code = response.status();
    context.with_event(|event| event.response_status = Some(ResponseStatus::code(code.as_u16())));
    if long_running && (code.is_success() || code.is_informational()) {
        auditor.emit(&context, Stage::ResponseStarted).await;
        let (parts, body) = response.into_parts();
        let body = Body::from_stream(CompleteOnEnd {
            inner: body.into_data_stream(),
            guard: CompletionGuard(Some((auditor, context))),
        });
        return Response::from_parts(parts, body);
    }

    let want_object = !long_running && config.level >= Level::RequestResponse;
    let response = record_response_body(response, &context, want_object).await;
    if long_running {
        auditor.emit(&context, Stage::ResponseStarted).await;
    }
    auditor.emit(&context, Stage::ResponseComplete).await;
    response
}

/// Audits requests that authentication refuses. Runs BEFORE authentication (outside it): a 401
/// that comes back without an authenticated user in the response extensions is one
/// authentication answered, and is written as one `ResponseStarted` event with the user `{}`, as
/// upstream.
pub async fn audit_failed_authentication(
    State(auditor): State<Arc<Auditor>>,
    req: Request,
    next: Next,
) -> Response {
    let fallback;
    let info = match req.extensions().get::<RequestInfo>() {
        Some(info) => info,
        None => {
            fallback = request_info_of(&req);
            &fallback
        }
    };
    let config = auditor
        .policy()
        .evaluate(&PolicyAttributes::of_request(None, info));
    if config.level == Level::None || config.omit_stages.contains(Stage::ResponseStarted) {
        return next.run(req).await;
    }
    let mut event = new_event(&req, None, info, config.level);
    event.response_status = Some(ResponseStatus {
        message: authentication_methods(&req),
        ..Default::default()
    });

    let response = next.run(req).await;
    if response.status() != http::StatusCode::UNAUTHORIZED
        || response.extensions().get::<UserInfo>().is_some()
    {
        return response;
    }
    let context = AuditContext::new(config, event);
    let response =
        record_response_body(response, &context, config.level >= Level::RequestResponse).await;
    let mut event = context.into_event();
    if let Some(status) = event.response_status.as_mut() {
        status.code = http::StatusCode::UNAUTHORIZED.as_u16();
    }
    event.stage = Stage::ResponseStarted;
    event.stage_timestamp = jiff::Timestamp::now();
    auditor.emit_event(&config, event).await;
    response
}

/// Upstream's `getAuthMethods`: which credentials the refused request carried.
pub fn authentication_methods(req: &Request) -> String {
    let mut methods = Vec::new();
    let authorization = req
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim();
    if is_basic_auth(authorization) {
        methods.push("basic");
    }
    let mut words = authorization.split(' ');
    if let (Some(scheme), Some(_)) = (words.next(), words.next()) {
        if scheme.eq_ignore_ascii_case("bearer") {
            methods.push("bearer");
        }
    }
    let query: Vec<(String, String)> =
        serde_urlencoded::from_str(req.uri().query().unwrap_or("")).unwrap_or_default();
    if query
        .iter()
        .find(|(key, _)| key == "access_token")
        .is_some_and(|(_, value)| !value.trim().is_empty())
    {
        methods.push("access_token");
    }
    if req.extensions().get::<ClientCertIdentity>().is_some() {
        methods.push("x509");
    }
    if methods.is_empty() {
        "Authentication failed, no credentials provided".to_string()
    } else {
        format!("Authentication failed, attempted: {}", methods.join(", "))
    }
}

/// Go's `Request.BasicAuth`: `Basic <base64 of user:password>`.
fn is_basic_auth(authorization: &str) -> bool {
    let Some((scheme, credentials)) = authorization.split_once(' ') else {
        return false;
    };
    scheme.eq_ignore_ascii_case("basic")
        && base64::engine::general_purpose::STANDARD
            .decode(credentials)
            .is_ok_and(|decoded| decoded.contains(&b':'))
}

/// The event fields known when the request arrives.
fn new_event(req: &Request, user: Option<&UserInfo>, info: &RequestInfo, level: Level) -> Event {
    let audit_id = req
        .extensions()
        .get::<AuditId>()
        .map(|id| id.0.clone())
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let mut event = Event::new(level, audit_id);
    event.request_uri = req.uri().path_and_query().map_or_else(
        || req.uri().path().to_string(),
        |pq| pq.as_str().to_string(),
    );
    event.verb = info.verb.clone();
    event.user = user.map(EventUser::from).unwrap_or_default();
    let peer = req.extensions().get::<PeerAddr>().map(|addr| addr.0.ip());
    event.source_ips = event::source_ips(req.headers(), peer);
    event.user_agent = event::user_agent(req.headers());
    event.object_ref = ObjectReference::of_request(info);
    event
}

/// The request info when the chain did not attach one (a filter placed before request info).
fn request_info_of(req: &Request) -> RequestInfo {
    RequestInfoFactory::default()
        .new_request_info(req.method(), req.uri())
        .unwrap_or_else(|_| RequestInfo {
            path: req.uri().path().to_string(),
            verb: req.method().as_str().to_ascii_lowercase(),
            ..Default::default()
        })
}

/// What the event takes from the request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RequestBodyUse {
    Ignore,
    /// The object's name, namespace, uid and resourceVersion for `objectRef`.
    ObjectRef,
    /// `objectRef` (creates and updates) and `requestObject`.
    Record,
}

fn request_body_use(info: &RequestInfo, level: Level, long_running: bool) -> RequestBodyUse {
    if !info.is_resource_request || long_running {
        return RequestBodyUse::Ignore;
    }
    match info.verb.as_str() {
        "create" | "update" if level >= Level::Request => RequestBodyUse::Record,
        "create" | "update" => RequestBodyUse::ObjectRef,
        "patch" | "delete" | "deletecollection" if level >= Level::Request => {
            RequestBodyUse::Record
        }
        _ => RequestBodyUse::Ignore,
    }
}

async fn record_request_body(
    req: Request,
    context: &AuditContext,
    body_use: RequestBodyUse,
    fills_reference: bool,
) -> Request {
    let (parts, body) = req.into_parts();
    let captured = capture(body, MAX_REQUEST_CAPTURE_BYTES).await;
    if let Some(bytes) = captured.bytes.as_ref().filter(|b| !b.is_empty()) {
        let content_type = parts
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if let Some(mut object) = decode_body(bytes, content_type) {
            let omit_managed_fields = context.config().omit_managed_fields;
            context.with_event(|event| {
                if fills_reference {
                    if let Some(reference) = event.object_ref.as_mut() {
                        reference.fill_from_object(&object);
                    }
                }
                if body_use == RequestBodyUse::Record {
                    if omit_managed_fields {
                        event::strip_managed_fields(&mut object);
                    }
                    event.request_object = Some(object);
                }
            });
        }
    }
    Request::from_parts(parts, captured.body)
}

/// Reads the response body when the event wants it, and puts it back.
async fn record_response_body(
    response: Response,
    context: &AuditContext,
    want_object: bool,
) -> Response {
    let content_type = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !is_json(content_type) {
        return response;
    }
    let code = response.status();
    let small = response
        .body()
        .size_hint()
        .upper()
        .is_some_and(|upper| upper <= MAX_STATUS_CAPTURE_BYTES as u64);
    let want_status = !code.is_success() || small;
    if !want_object && !want_status {
        return response;
    }
    let limit = if want_object {
        MAX_RESPONSE_CAPTURE_BYTES
    } else {
        MAX_STATUS_CAPTURE_BYTES
    };
    let (parts, body) = response.into_parts();
    let captured = capture(body, limit).await;
    if let Some(value) = captured
        .bytes
        .as_ref()
        .and_then(|bytes| serde_json::from_slice::<Value>(bytes).ok())
    {
        let omit_managed_fields = context.config().omit_managed_fields;
        context.with_event(|event| {
            if let Some(mut status) = ResponseStatus::from_status_body(&value) {
                status.code = code.as_u16();
                event.response_status = Some(status);
            }
            if want_object {
                let mut value = value;
                if omit_managed_fields {
                    event::strip_managed_fields(&mut value);
                }
                event.response_object = Some(value);
            }
        });
    }
    Response::from_parts(parts, captured.body)
}

fn base_media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn is_json(content_type: &str) -> bool {
    let base = base_media_type(content_type);
    base == "application/json" || base.ends_with("+json")
}

/// A request body as JSON: JSON (and `+json` patch types), YAML (and apply patches) or protobuf.
fn decode_body(bytes: &[u8], content_type: &str) -> Option<Value> {
    let base = base_media_type(content_type);
    match base.as_str() {
        "" | "*/*" | "application/json" => serde_json::from_slice(bytes).ok(),
        "application/yaml" | "application/apply-patch+yaml" => serde_yaml::from_slice(bytes).ok(),
        media if media == crate::catalog::protobuf::MEDIA_TYPE => {
            crate::catalog::protobuf::decode_object(bytes).ok()
        }
        media if media.ends_with("+json") => serde_json::from_slice(bytes).ok(),
        _ => None,
    }
}

/// A body read up to a limit: its bytes when complete, and a body with the same contents to pass
/// on (for a larger or failing body: what was read, then the rest or the error).
struct Captured {
    bytes: Option<Bytes>,
    body: Body,
}

async fn capture(body: Body, limit: usize) -> Captured {
    if body.size_hint().lower() > limit as u64 {
        return Captured { bytes: None, body };
    }
    let mut stream = body.into_data_stream();
    let mut chunks: Vec<Bytes> = Vec::new();
    let mut len = 0usize;
    loop {
        match stream.next().await {
            None => {
                let bytes = match chunks.len() {
                    0 => Bytes::new(),
                    1 => chunks.remove(0),
                    _ => Bytes::from(chunks.concat()),
                };
                return Captured {
                    bytes: Some(bytes.clone()),
                    body: Body::from(bytes),
                };
            }
            Some(Ok(chunk)) => {
                len += chunk.len();
                chunks.push(chunk);
                if len > limit {
                    let head = futures::stream::iter(chunks.into_iter().map(Ok::<_, axum::Error>));
                    return Captured {
                        bytes: None,
                        body: Body::from_stream(head.chain(stream)),
                    };
                }
            }
            Some(Err(err)) => {
                let head = futures::stream::iter(chunks.into_iter().map(Ok::<_, axum::Error>));
                return Captured {
                    bytes: None,
                    body: Body::from_stream(head.chain(futures::stream::iter([Err(err)]))),
                };
            }
        }
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic payload".to_string())
}

/// Writes `ResponseComplete` for a request whose handler never answered: with the 504 Status
/// the client got when the deadline passed, otherwise (the client went away) with upstream's
/// status for a request that wrote no response (200, `Connection closed early`).
struct UnfinishedGuard {
    pending: Option<(Arc<Auditor>, Arc<AuditContext>)>,
    deadline: Option<RequestDeadline>,
}

impl UnfinishedGuard {
    fn disarm(&mut self) {
        self.pending = None;
    }
}

impl Drop for UnfinishedGuard {
    fn drop(&mut self) {
        let Some((auditor, context)) = self.pending.take() else {
            return;
        };
        let timed_out = self
            .deadline
            .is_some_and(|deadline| deadline.remaining().is_zero());
        let status = if timed_out {
            let status = timeout_error().status;
            ResponseStatus {
                status: status.status,
                message: status.message,
                reason: status.reason,
                details: status
                    .details
                    .and_then(|details| serde_json::to_value(details).ok()),
                code: status.code,
                ..Default::default()
            }
        } else {
            ResponseStatus {
                status: "Success".into(),
                message: "Connection closed early".into(),
                code: 200,
                ..Default::default()
            }
        };
        context.with_event(|event| event.response_status = Some(status));
        auditor.emit_detached(&context, Stage::ResponseComplete);
    }
}

/// Writes `ResponseComplete` once: when the stream ends, fails, or is dropped unfinished.
struct CompletionGuard(Option<(Arc<Auditor>, Arc<AuditContext>)>);

impl CompletionGuard {
    fn complete(&mut self) {
        if let Some((auditor, context)) = self.0.take() {
            auditor.emit_detached(&context, Stage::ResponseComplete);
        }
    }
}

impl Drop for CompletionGuard {
    fn drop(&mut self) {
        self.complete();
    }
}

/// A long-running response body that reports its end to the audit log.
struct CompleteOnEnd {
    inner: BodyDataStream,
    guard: CompletionGuard,
}

impl Stream for CompleteOnEnd {
    type Item = Result<Bytes, axum::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let item = ready!(this.inner.poll_next_unpin(cx));
        if !matches!(item, Some(Ok(_))) {
            this.guard.complete();
        }
        Poll::Ready(item)
    }
}
