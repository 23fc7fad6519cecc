//! HTTP handlers of `/openapi/v2`, `/openapi/v3` and `/openapi/v3/<group-version>`, with
//! kube-openapi's negotiation and caching behaviour:
//! - the `Accept` clauses are tried in order of preference against the offered media types; none
//!   matching answers 406;
//! - every answer carries a quoted `ETag` (SHA-512 of the JSON document) and `Last-Modified`, and
//!   a matching `If-None-Match` (or a not-newer `If-Modified-Since`) answers 304;
//! - a group/version document asked for with `?hash=` of the current document is immutable
//!   (`Cache-Control: public, immutable`, `Expires` a year ahead); a stale hash answers 301 to the
//!   current URL.
//!
//! Deviation: upstream also serves the v3 documents as gnostic protobuf; Apiary serves them as JSON
//! only (kubectl asks for JSON), so a request accepting only the v3 protobuf type gets 406.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, StatusCode};

use super::{OpenApiService, ServedDocument};
use crate::api::status::ApiError;

const JSON: &str = "application/json";
const V2_PROTOBUF: &str = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";
const V2_PROTOBUF_DEPRECATED: &str = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";

/// The routes of the OpenAPI documents: `GET /openapi/v2`, `GET /openapi/v3` and
/// `GET /openapi/v3/{group-version}` (`HEAD` too).
pub fn router(service: Arc<OpenApiService>) -> Router {
    Router::new()
        .route("/openapi/v2", get(serve_v2))
        .route("/openapi/v3", get(serve_v3_index))
        .route("/openapi/v3/{*group_version}", get(serve_v3_document))
        .with_state(service)
}

/// One clause of an `Accept` header.
#[derive(Debug, Clone, PartialEq)]
struct AcceptClause {
    media_type: String,
    subtype: String,
    quality: f32,
}

/// Parses `Accept` as goautoneg does: clauses sorted by quality, then by specificity (`*/*` last).
/// An empty header accepts everything.
fn parse_accept(header: Option<&str>) -> Vec<AcceptClause> {
    let header = header
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .unwrap_or("*/*");
    let mut clauses: Vec<AcceptClause> = header
        .split(',')
        .filter_map(|clause| {
            let mut parts = clause.split(';');
            let (media_type, subtype) = parts.next()?.trim().split_once('/')?;
            let mut quality = 1.0;
            for param in parts {
                if let Some((key, value)) = param.split_once('=') {
                    if key.trim() == "q" {
                        quality = value.trim().parse().unwrap_or(0.0);
                    }
                }
            }
            Some(AcceptClause {
                media_type: media_type.trim().to_string(),
                subtype: subtype.trim().to_string(),
                quality,
            })
        })
        .filter(|c| c.quality > 0.0)
        .collect();
    let wildcards =
        |c: &AcceptClause| usize::from(c.media_type == "*") + usize::from(c.subtype == "*");
    clauses.sort_by(|a, b| {
        b.quality
            .total_cmp(&a.quality)
            .then(wildcards(a).cmp(&wildcards(b)))
    });
    clauses
}

/// The first of `offered` (full media types) the clauses accept, in clause order.
fn negotiate<'a>(headers: &HeaderMap, offered: &[&'a str]) -> Option<&'a str> {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    for clause in parse_accept(accept) {
        for candidate in offered {
            let Some((media_type, subtype)) = candidate.split_once('/') else {
                continue;
            };
            if (clause.media_type == "*" || clause.media_type == media_type)
                && (clause.subtype == "*" || clause.subtype == subtype)
            {
                return Some(candidate);
            }
        }
    }
    None
}

fn quoted(etag: &str) -> String {
    format!("\"{etag}\"")
}

fn http_date(ts: jiff::Timestamp) -> Option<HeaderValue> {
    let text = jiff::fmt::rfc2822::DateTimePrinter::new()
        .timestamp_to_rfc9110_string(&ts)
        .ok()?;
    HeaderValue::from_str(&text).ok()
}

/// Whether the request's validators say the client's copy is current (Go's `http.ServeContent`):
/// `If-None-Match` decides when present, else `If-Modified-Since` at one-second precision.
fn not_modified(headers: &HeaderMap, etag: &str, last_modified: jiff::Timestamp) -> bool {
    if let Some(value) = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        let wanted = quoted(etag);
        return value
            .split(',')
            .map(str::trim)
            .any(|tag| tag == "*" || tag.trim_start_matches("W/") == wanted);
    }
    let since = headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            jiff::fmt::rfc2822::DateTimeParser::new()
                .parse_timestamp(v)
                .ok()
        });
    since.is_some_and(|since| last_modified.as_second() <= since.as_second())
}

/// Answers `body` with its validators, or 304 when the client's copy is current.
fn serve(
    request: &HeaderMap,
    doc: &ServedDocument,
    body: Bytes,
    content_type: &str,
    mut extra: HeaderMap,
) -> Response {
    if let Ok(value) = HeaderValue::from_str(&quoted(&doc.etag)) {
        extra.insert(header::ETAG, value);
    }
    if let Some(date) = http_date(doc.last_modified) {
        extra.insert(header::LAST_MODIFIED, date);
    }
    if not_modified(request, &doc.etag, doc.last_modified) {
        return (StatusCode::NOT_MODIFIED, extra).into_response();
    }
    if let Ok(value) = HeaderValue::from_str(content_type) {
        extra.insert(header::CONTENT_TYPE, value);
    }
    (StatusCode::OK, extra, body).into_response()
}

fn vary_accept() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(header::VARY, HeaderValue::from_static("Accept"));
    headers
}

async fn serve_v2(State(service): State<Arc<OpenApiService>>, headers: HeaderMap) -> Response {
    let offered = [JSON, V2_PROTOBUF_DEPRECATED, V2_PROTOBUF];
    let Some(chosen) = negotiate(&headers, &offered) else {
        return ApiError::not_acceptable(&offered)
            .with_header(header::VARY, HeaderValue::from_static("Accept"))
            .into_response();
    };
    let snapshot = service.snapshot();
    let documents = match tokio::task::spawn_blocking(move || service.v2_documents(&snapshot)).await
    {
        Ok(documents) => documents,
        Err(err) => {
            return ApiError::internal(format!("building the OpenAPI v2 document: {err}"))
                .into_response()
        }
    };
    let (body, content_type) = if chosen == JSON {
        (documents.json.bytes.clone(), JSON)
    } else {
        (documents.protobuf.clone(), V2_PROTOBUF)
    };
    serve(&headers, &documents.json, body, content_type, vary_accept())
}

async fn serve_v3_index(
    State(service): State<Arc<OpenApiService>>,
    headers: HeaderMap,
) -> Response {
    let snapshot = service.snapshot();
    let index = snapshot.v3_index();
    serve(&headers, index, index.bytes.clone(), JSON, HeaderMap::new())
}

/// The value of `hash` in a raw query string.
fn hash_parameter(query: Option<&str>) -> Option<String> {
    let query = query?;
    serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .ok()?
        .into_iter()
        .find(|(key, _)| key == "hash")
        .map(|(_, value)| value)
        .filter(|value| !value.is_empty())
}

async fn serve_v3_document(
    State(service): State<Arc<OpenApiService>>,
    Path(group_version): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let Some(_) = negotiate(&headers, &[JSON]) else {
        return ApiError::not_acceptable(&[JSON])
            .with_header(header::VARY, HeaderValue::from_static("Accept"))
            .into_response();
    };
    let snapshot = service.snapshot();
    let Some(doc) = snapshot.v3_document(&group_version) else {
        return ApiError::path_not_found().into_response();
    };
    let mut extra = vary_accept();
    if let Some(hash) = hash_parameter(query.as_deref()) {
        if hash != doc.etag {
            let location = format!("/openapi/v3/{group_version}?hash={}", doc.etag);
            if let Ok(value) = HeaderValue::from_str(&location) {
                extra.insert(header::LOCATION, value);
            }
            return (StatusCode::MOVED_PERMANENTLY, extra).into_response();
        }
        extra.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, immutable"),
        );
        let next_year = jiff::Timestamp::now()
            .checked_add(jiff::SignedDuration::from_hours(24 * 365))
            .ok();
        if let Some(expires) = next_year.and_then(http_date) {
            extra.insert(header::EXPIRES, expires);
        }
    }
    serve(&headers, doc, doc.bytes.clone(), JSON, extra)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(header::ACCEPT, v);
        }
        headers
    }

    #[test]
    fn negotiation_follows_preference_and_specificity() {
        let offered = [JSON, V2_PROTOBUF_DEPRECATED, V2_PROTOBUF];
        let cases = [
            ("", Some(JSON)),
            ("*/*", Some(JSON)),
            ("application/json", Some(JSON)),
            (V2_PROTOBUF_DEPRECATED, Some(V2_PROTOBUF_DEPRECATED)),
            (V2_PROTOBUF, Some(V2_PROTOBUF)),
            ("application/json;q=0.5, application/com.github.proto-openapi.spec.v2@v1.0+protobuf", Some(V2_PROTOBUF_DEPRECATED)),
            ("*/*;q=0.1, application/com.github.proto-openapi.spec.v2.v1.0+protobuf", Some(V2_PROTOBUF)),
            ("text/html", None),
            ("application/json;q=0", None),
        ];
        for (header, expected) in cases {
            assert_eq!(
                negotiate(&accept(header), &offered),
                expected,
                "Accept: {header}"
            );
        }
    }

    #[test]
    fn validators_decide_not_modified() {
        let now = jiff::Timestamp::now();
        let mut headers = HeaderMap::new();
        assert!(!not_modified(&headers, "AB", now));
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"AB\""));
        assert!(not_modified(&headers, "AB", now));
        assert!(!not_modified(&headers, "CD", now));
        let mut headers = HeaderMap::new();
        if let Some(date) = http_date(now) {
            headers.insert(header::IF_MODIFIED_SINCE, date);
        }
        assert!(not_modified(&headers, "AB", now));
    }

    #[test]
    fn hash_parameter_is_read_from_the_query() {
        assert_eq!(hash_parameter(Some("hash=ABC")), Some("ABC".to_string()));
        assert_eq!(hash_parameter(Some("x=1&hash=D")), Some("D".to_string()));
        assert_eq!(hash_parameter(Some("hash=")), None);
        assert_eq!(hash_parameter(None), None);
    }
}
