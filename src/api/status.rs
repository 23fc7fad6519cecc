//! `meta.k8s.io/v1` Status and the REST layer's error type.
//!
//! Every failure the API answers with is an [`ApiError`]: a Status body with upstream's `reason`,
//! `code`, `message` and `details`. Constructors mirror `k8s.io/apimachinery/pkg/api/errors`, so the
//! messages read exactly as kube-apiserver's do. Storage errors become Status in exactly one place:
//! [`ApiError::from_storage`].

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde::{Deserialize, Serialize};

/// A group and resource, as in error messages: `deployments.apps`, or `configmaps` for the core group.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GroupResource {
    pub group: String,
    pub resource: String,
}

impl GroupResource {
    pub fn new(group: impl Into<String>, resource: impl Into<String>) -> Self {
        Self {
            group: group.into(),
            resource: resource.into(),
        }
    }
}

impl std::fmt::Display for GroupResource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.group.is_empty() {
            write!(f, "{}", self.resource)
        } else {
            write!(f, "{}.{}", self.resource, self.group)
        }
    }
}

/// One cause of a Status, e.g. one invalid field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct StatusCause {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub field: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct StatusDetails {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub group: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uid: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub causes: Vec<StatusCause>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<i32>,
}

/// The `meta.k8s.io/v1` Status object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub kind: String,
    pub api_version: String,
    pub metadata: serde_json::Map<String, serde_json::Value>,
    pub status: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<StatusDetails>,
    /// Omitted when 0, as upstream's `omitempty` (a `Success` Status some REST objects return).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub code: u16,
}

fn is_zero(code: &u16) -> bool {
    *code == 0
}

impl Status {
    /// A `Success` Status, as answered by some deletes.
    pub fn success(details: Option<StatusDetails>) -> Self {
        Self {
            kind: "Status".into(),
            api_version: "v1".into(),
            metadata: Default::default(),
            status: "Success".into(),
            message: String::new(),
            reason: String::new(),
            details,
            code: 200,
        }
    }
}

/// The error of the REST layer: a failure Status with its HTTP code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// Boxed: errors travel through every `Result` of the request path, which stays small.
    pub status: Box<Status>,
    /// Extra response headers, e.g. `Retry-After`.
    pub headers: Vec<(http::HeaderName, http::HeaderValue)>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.status.reason, self.status.code, self.status.message
        )
    }
}

impl std::error::Error for ApiError {}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// A failure Status with the given code, reason, message and details.
    pub fn new(
        code: StatusCode,
        reason: &str,
        message: impl Into<String>,
        details: Option<StatusDetails>,
    ) -> Self {
        Self {
            status: Box::new(Status {
                kind: "Status".into(),
                api_version: "v1".into(),
                metadata: Default::default(),
                status: "Failure".into(),
                message: message.into(),
                reason: reason.into(),
                details,
                code: code.as_u16(),
            }),
            headers: Vec::new(),
        }
    }

    pub fn code(&self) -> StatusCode {
        StatusCode::from_u16(self.status.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    pub fn with_header(mut self, name: http::HeaderName, value: http::HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    fn details(gr: &GroupResource, name: &str) -> Option<StatusDetails> {
        Some(StatusDetails {
            name: name.to_string(),
            group: gr.group.clone(),
            kind: gr.resource.clone(),
            ..Default::default()
        })
    }

    /// 404 `NotFound`: `configmaps "x" not found`.
    pub fn not_found(gr: &GroupResource, name: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("{gr} \"{name}\" not found"),
            Self::details(gr, name),
        )
    }

    /// 409 `AlreadyExists`: `configmaps "x" already exists`.
    pub fn already_exists(gr: &GroupResource, name: &str) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "AlreadyExists",
            format!("{gr} \"{name}\" already exists"),
            Self::details(gr, name),
        )
    }

    /// 409 `Conflict`: `Operation cannot be fulfilled on configmaps "x": <why>`.
    pub fn conflict(gr: &GroupResource, name: &str, why: &str) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "Conflict",
            format!("Operation cannot be fulfilled on {gr} \"{name}\": {why}"),
            Self::details(gr, name),
        )
    }

    /// The 409 of a failed storage precondition (`field` is `UID` or `ResourceVersion`), with
    /// upstream's `StorageError` text (`storage.NewInvalidObjError` turned into a Conflict).
    pub fn precondition_failed(
        gr: &GroupResource,
        name: &str,
        key: &str,
        field: &str,
        wanted: &str,
        stored: &str,
    ) -> Self {
        Self::conflict(
            gr,
            name,
            &format!(
                "StorageError: invalid object, Code: 4, Key: {key}, ResourceVersion: 0, \
                 AdditionalErrorMsg: Precondition failed: {field} in precondition: {wanted}, \
                 {field} in object meta: {stored}"
            ),
        )
    }

    /// The 409 a stale `resourceVersion` gets on update or delete.
    pub fn stale_object(gr: &GroupResource, name: &str) -> Self {
        Self::conflict(
            gr,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    /// 422 `Invalid`: `<Kind>.<group> "name" is invalid: [cause, cause]`.
    ///
    /// `group_kind` is `Kind` for the core group and `Kind.group` otherwise; each cause's message is
    /// the full field error text (`spec.replicas: Invalid value: -1: must be greater than or equal to 0`).
    pub fn invalid(group: &str, kind: &str, name: &str, causes: Vec<StatusCause>) -> Self {
        let qualified = if group.is_empty() {
            kind.to_string()
        } else {
            format!("{kind}.{group}")
        };
        let joined: Vec<String> = causes
            .iter()
            .map(|c| {
                if c.field.is_empty() {
                    c.message.clone()
                } else {
                    format!("{}: {}", c.field, c.message)
                }
            })
            .collect();
        let message = match joined.len() {
            0 => format!("{qualified} \"{name}\" is invalid"),
            1 => format!("{qualified} \"{name}\" is invalid: {}", joined[0]),
            _ => format!("{qualified} \"{name}\" is invalid: [{}]", joined.join(", ")),
        };
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid",
            message,
            Some(StatusDetails {
                name: name.to_string(),
                group: group.to_string(),
                kind: kind.to_string(),
                causes,
                ..Default::default()
            }),
        )
    }

    /// 400 `BadRequest` with a free-form message.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BadRequest", message, None)
    }

    /// 401 `Unauthorized`.
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "Unauthorized",
            None,
        )
    }

    /// 403 `Forbidden`: `<kind> "name" is forbidden: <why>` as upstream's `NewForbidden`; with no
    /// resource (a non-resource path) `forbidden: <why>`.
    pub fn forbidden(gr: &GroupResource, name: &str, why: &str) -> Self {
        let message = if gr.group.is_empty() && gr.resource.is_empty() {
            format!("forbidden: {why}")
        } else if name.is_empty() {
            format!("{gr} is forbidden: {why}")
        } else {
            format!("{gr} \"{name}\" is forbidden: {why}")
        };
        Self::new(
            StatusCode::FORBIDDEN,
            "Forbidden",
            message,
            Self::details(gr, name),
        )
    }

    /// 404 for a path no server serves.
    pub fn path_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            "the server could not find the requested resource",
            Some(StatusDetails::default()),
        )
    }

    /// 405 `MethodNotAllowed`: `<verb> is not supported on resources of kind "<resource>"`.
    pub fn method_not_supported(gr: &GroupResource, verb: &str) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            format!("{verb} is not supported on resources of kind \"{gr}\""),
            Self::details(gr, ""),
        )
    }

    /// 406 `NotAcceptable`.
    pub fn not_acceptable(accepted: &[&str]) -> Self {
        Self::new(
            StatusCode::NOT_ACCEPTABLE,
            "NotAcceptable",
            format!(
                "only the following media types are accepted: {}",
                accepted.join(", ")
            ),
            None,
        )
    }

    /// 415 `UnsupportedMediaType`.
    pub fn unsupported_media_type(content_type: &str, accepted: &[&str]) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UnsupportedMediaType",
            format!("the body of the request was in an unknown format - accepted media types include: {}", accepted.join(", ")),
            Some(StatusDetails { causes: vec![StatusCause { reason: "UnexpectedServerResponse".into(), message: content_type.to_string(), field: String::new() }], ..Default::default() }),
        )
    }

    /// 410 `Expired` (`Gone`), as a too-old resourceVersion or continue token gets.
    pub fn expired(message: impl Into<String>) -> Self {
        Self::new(StatusCode::GONE, "Expired", message, None)
    }

    /// 429 `TooManyRequests` with `Retry-After`.
    pub fn too_many_requests(retry_after_seconds: i32) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            "Too many requests, please try again later.",
            Some(StatusDetails {
                retry_after_seconds: Some(retry_after_seconds),
                ..Default::default()
            }),
        )
        .with_header(
            http::header::RETRY_AFTER,
            http::HeaderValue::from(retry_after_seconds),
        )
    }

    /// 500 `InternalError`: `Internal error occurred: <why>`.
    pub fn internal(why: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            format!("Internal error occurred: {why}"),
            Some(StatusDetails {
                causes: vec![StatusCause {
                    message: why.to_string(),
                    ..Default::default()
                }],
                ..Default::default()
            }),
        )
    }

    /// 503 `ServiceUnavailable`.
    pub fn service_unavailable(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            message,
            None,
        )
    }

    /// 504 `Timeout`: `Timeout: <why>`, as an expired request deadline or a storage timeout.
    pub fn timeout(message: impl Into<String>, retry_after_seconds: i32) -> Self {
        Self::new(
            StatusCode::GATEWAY_TIMEOUT,
            "Timeout",
            message,
            Some(StatusDetails {
                retry_after_seconds: Some(retry_after_seconds),
                ..Default::default()
            }),
        )
    }

    /// The one mapping of storage errors to Status, for an operation on `gr`/`name`.
    pub fn from_storage(err: apiary_storage::Error, gr: &GroupResource, name: &str) -> Self {
        use apiary_storage::Error as E;
        match err {
            E::NotFound { .. } => Self::not_found(gr, name),
            E::AlreadyExists { .. } => Self::already_exists(gr, name),
            E::Conflict { .. } => Self::stale_object(gr, name),
            E::Compacted { requested, compacted } => Self::expired(format!(
                "The resourceVersion for the provided list is too old. (requested {requested}, compacted {compacted})"
            )),
            E::FutureRevision { requested, .. } => Self::timeout(
                format!("Too large resource version: {requested}, current: unknown"),
                1,
            ),
            E::WatchLagged => Self::expired("watch was ended because it fell behind; restart it from a newer resourceVersion"),
            E::Unavailable(why) => Self::service_unavailable(format!("storage is unavailable: {why}")),
            E::Timeout(why) => Self::timeout(format!("Timeout: {why}"), 1),
            E::InvalidArgument(why) => Self::bad_request(why),
            E::Internal(why) => Self::internal(why),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.status).unwrap_or_default();
        let mut response = (
            self.code(),
            [(http::header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response();
        for (name, value) in self.headers {
            response.headers_mut().insert(name, value);
        }
        response
    }
}
