//! Proxying to extension API servers, as upstream's `handler_proxy.go` with
//! `client-go/transport`'s auth-proxy round tripper:
//!
//! * the request goes over HTTPS to the resolved endpoint, verified with the APIService's
//!   `caBundle` for server name `<service>.<namespace>.svc` (or not at all with
//!   `insecureSkipTLSVerify`), presenting the front-proxy client certificate;
//! * the incoming `Authorization` and every `X-Remote-*` header are dropped; the authenticated
//!   (post-impersonation) user is sent as `X-Remote-User`, one `X-Remote-Group` per group and
//!   `X-Remote-Extra-<key>` per extra value, the key percent-escaped as upstream's
//!   `headerKeyEscape`;
//! * bodies stream both ways (watches included), nothing is buffered;
//! * an unavailable APIService or an unresolvable Service answers 503 `service unavailable`, and
//!   a failed connection 503 `error trying to reach service: <error>`, both as upstream's
//!   `http.Error` writes them (plain text, not a Status).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, StatusCode};
use rustls::ClientConfig;

use super::Aggregator;
use crate::outbound::tls::send;
use crate::request::user::UserInfo;

/// The headers upstream's request-header authenticator reads.
pub const REMOTE_USER_HEADER: &str = "X-Remote-User";
pub const REMOTE_GROUP_HEADER: &str = "X-Remote-Group";
pub const REMOTE_EXTRA_HEADER_PREFIX: &str = "X-Remote-Extra-";

/// Hop-by-hop headers, never forwarded (RFC 9110 section 7.6.1).
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// How to reach the APIService serving one group/version.
#[derive(Debug)]
pub struct ProxyRoute {
    /// The APIService's name.
    pub api_service: String,
    pub namespace: String,
    pub service: String,
    pub port: i64,
    /// Whether the APIService's `Available` condition is `True`.
    pub available: bool,
    /// The TLS configuration of the proxy connection, or the error building it (answered as 500).
    pub tls: Result<Arc<ClientConfig>, String>,
}

impl ProxyRoute {
    /// The server name certificates are verified for: `<service>.<namespace>.svc`.
    pub fn server_name(&self) -> String {
        format!("{}.{}.svc", self.service, self.namespace)
    }
}

/// A plain-text error as Go's `http.Error` writes it.
pub fn plain_error(code: StatusCode, message: &str) -> Response {
    (
        code,
        [
            (http::header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (http::header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        format!("{message}\n"),
    )
        .into_response()
}

/// Upstream's `headerKeyEscape`: percent-encodes (`%XX`, upper case) every byte that is not a
/// legal header-name byte (RFC 7230 token), and `%` itself.
pub fn escape_extra_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for byte in key.bytes() {
        let legal = byte.is_ascii_alphanumeric() || b"!#$&'*+-.^_`|~".contains(&byte);
        if legal {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Rewrites `headers` for the extension server: drops hop-by-hop headers, `Authorization` and
/// every `X-Remote-*` header, then asserts `user` with the request headers.
pub fn set_auth_proxy_headers(headers: &mut HeaderMap, user: &UserInfo) {
    let dropped: Vec<HeaderName> = headers
        .keys()
        .filter(|name| {
            let name = name.as_str();
            HOP_BY_HOP.contains(&name) || name == "authorization" || name.starts_with("x-remote-")
        })
        .cloned()
        .collect();
    for name in dropped {
        headers.remove(name);
    }
    let mut append = |name: String, value: &str| {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.append(name, value);
        }
    };
    append(REMOTE_USER_HEADER.to_string(), &user.name);
    for group in &user.groups {
        append(REMOTE_GROUP_HEADER.to_string(), group);
    }
    for (key, values) in &user.extra {
        for value in values {
            append(
                format!("{REMOTE_EXTRA_HEADER_PREFIX}{}", escape_extra_key(key)),
                value,
            );
        }
    }
}

/// Proxies `request` to the APIService of `route` (see the module documentation).
pub async fn forward(aggregator: &Aggregator, route: &ProxyRoute, request: Request) -> Response {
    if !route.available {
        return plain_error(StatusCode::SERVICE_UNAVAILABLE, "service unavailable");
    }
    let config = match &route.tls {
        Ok(config) => config.clone(),
        Err(err) => return plain_error(StatusCode::INTERNAL_SERVER_ERROR, err),
    };
    let Some(user) = request.extensions().get::<UserInfo>().cloned() else {
        return plain_error(StatusCode::INTERNAL_SERVER_ERROR, "missing user");
    };
    let address = match crate::outbound::resolve::resolve_endpoint(
        &aggregator.services,
        &aggregator.endpoints,
        &aggregator.endpoint_slices,
        &route.namespace,
        &route.service,
        route.port,
    )
    .await
    {
        Ok(address) => address,
        Err(unreachable) => {
            tracing::warn!(
                namespace = %route.namespace,
                service = %route.service,
                reason = unreachable.reason,
                "error resolving the service of an APIService"
            );
            return plain_error(StatusCode::SERVICE_UNAVAILABLE, "service unavailable");
        }
    };
    let (mut parts, body) = request.into_parts();
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|pq| pq.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let Ok(uri) = path_and_query.parse::<http::Uri>() else {
        return plain_error(StatusCode::BAD_REQUEST, "invalid request URI");
    };
    set_auth_proxy_headers(&mut parts.headers, &user);
    if let Ok(host) = HeaderValue::from_str(&address) {
        parts.headers.insert(http::header::HOST, host);
    }
    let mut outgoing = http::Request::new(body);
    *outgoing.method_mut() = parts.method;
    *outgoing.uri_mut() = uri;
    *outgoing.headers_mut() = parts.headers;
    match send(&address, &route.server_name(), config, outgoing).await {
        Ok(response) => {
            let (mut parts, body) = response.into_parts();
            for name in HOP_BY_HOP {
                parts.headers.remove(*name);
            }
            Response::from_parts(parts, Body::new(body))
        }
        Err(err) => plain_error(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!("error trying to reach service: {err}"),
        ),
    }
}
