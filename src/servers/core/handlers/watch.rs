//! Watches, as upstream's `serveWatch` (`handlers/watch.go`): a chunked stream of
//! newline-delimited JSON events `{"type":"ADDED","object":{...}}`, one body frame per event; or,
//! for a protobuf `Accept` on a built-in kind, length-prefixed raw `WatchEvent` messages
//! ([`protobuf::watch_frame`]) under `Content-Type: application/vnd.kubernetes.protobuf;stream=watch`.
//!
//! * `Content-Type: application/json`; on HTTP/1.1 the server frames the body with
//!   `Transfer-Encoding: chunked` (HTTP/2 has its own framing, where that header is forbidden).
//! * The stream ends cleanly after `timeoutSeconds`, at once when it is negative, or, without it
//!   (or `0`), after a random time between the minimum request timeout (1800 s) and twice that,
//!   as upstream spreads reconnections.
//! * Objects are answered in the negotiated form: as they are (the event's frame, built once and
//!   shared by every watcher), as
//!   `PartialObjectMetadata`, or as a one-row Table whose column definitions only the first event
//!   carries. ERROR events (a Status) and BOOKMARK events pass through untransformed.
//! * A watch of one object (`/watch/.../<name>`) is a watch with `fieldSelector=metadata.name=<name>`;
//!   another name in an explicit field selector is a 400, as upstream.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::StreamExt;
use http::request::Parts;
use http::{header, StatusCode};
use serde_json::{json, Value};

use super::{accept, Scope};
use crate::api::status::{ApiError, ApiResult};
use crate::catalog::{key_order, protobuf, ResourceInfo};
use crate::registry::options::ListOptions;
use crate::registry::store::{event_json, WatchEvent, WatchEventType, WatchInitSignal};
use crate::registry::table::{self, IncludeObject, TableConvertor};
use crate::servers::core::negotiation::{self, Encoding, Output, Transform};
use crate::servers::core::query;

/// Upstream's default `--min-request-timeout`.
pub const MIN_REQUEST_TIMEOUT: Duration = Duration::from_secs(1800);

/// A watch reached through a legacy `/watch/` path.
pub async fn watch(scope: Scope, parts: Parts) -> Response {
    match query::list_options(&scope.query, true) {
        Ok(opts) => serve_watch(scope, parts, opts).await,
        Err(err) => negotiation::respond_error(&Output::default(), err, &[]),
    }
}

/// The watch timeout, as upstream's `getWatchTimeout`: `timeoutSeconds` when positive; zero (the
/// stream ends at once) when negative; unset or `0`, a random duration in
/// [`MIN_REQUEST_TIMEOUT`, 2 x `MIN_REQUEST_TIMEOUT`).
pub fn watch_timeout(timeout_seconds: Option<i64>) -> Duration {
    match timeout_seconds {
        Some(seconds) if seconds > 0 => Duration::from_secs(seconds.unsigned_abs()),
        Some(seconds) if seconds < 0 => Duration::ZERO,
        _ => {
            let fraction = (uuid::Uuid::new_v4().as_u128() % 1_000_000) as f64 / 1_000_000.0;
            MIN_REQUEST_TIMEOUT.mul_f64(1.0 + fraction)
        }
    }
}

/// The exact `metadata.name` a field selector requires, if it has such a term.
fn selected_name(selector: &str) -> Option<&str> {
    selector.split(',').map(str::trim).find_map(|term| {
        let (field, value) = term.split_once("==").or_else(|| term.split_once('='))?;
        (field.trim() == "metadata.name" && !field.ends_with('!')).then_some(value.trim())
    })
}

/// Narrows a watch of a named object to that object, as upstream's `ListResource`.
fn select_name(opts: &mut ListOptions, name: &str) -> ApiResult<()> {
    if opts.field_selector.trim().is_empty() {
        opts.field_selector = format!("metadata.name={name}");
        return Ok(());
    }
    match selected_name(&opts.field_selector) {
        Some(selected) if selected == name => Ok(()),
        _ => Err(ApiError::bad_request(
            "fieldSelector metadata.name doesn't match requested name",
        )),
    }
}

/// Serves a watch with already-decoded list options.
pub async fn serve_watch(scope: Scope, parts: Parts, mut opts: ListOptions) -> Response {
    let pretty = scope.pretty(&parts);
    let output = match negotiation::negotiate_with(
        accept(&parts),
        true,
        pretty,
        true,
        scope.serves_protobuf(),
    ) {
        Ok(output) => output,
        Err(err) => {
            return negotiation::respond_error(
                &Output {
                    pretty,
                    ..Output::default()
                },
                err,
                &[],
            )
        }
    };
    let include = match scope.include_object(&output) {
        Ok(include) => include,
        Err(err) => return negotiation::respond_error(&output, err, &[]),
    };
    if let Some(name) = scope.name.as_deref() {
        if let Err(err) = select_name(&mut opts, name) {
            return negotiation::respond_error(&output, err, &[]);
        }
    }
    let timeout = watch_timeout(opts.timeout_seconds);
    // Priority and fairness's signal, fired by the watcher after its initial events.
    let init = parts.extensions.get::<WatchInitSignal>().cloned();
    let events = match scope
        .store
        .watch_signalling(scope.namespace(), &opts, init)
        .await
    {
        Ok(events) => events,
        Err(err) => return negotiation::respond_error(&output, err, &[]),
    };
    let mut encoder = EventEncoder {
        table: scope.store.table().clone(),
        api_version: scope.info.api_version(),
        info: scope.info,
        encoding: output.encoding,
        transform: output.transform,
        include,
        first_object: true,
    };
    // An elapsed timeout (a negative `timeoutSeconds`) ends the stream before its first event, as
    // upstream's already-fired timer does; the watch was still started, so its errors show.
    let events = if timeout.is_zero() {
        futures::stream::empty().boxed()
    } else {
        events.boxed()
    };
    let frames = events
        .map(move |event| Ok::<Bytes, Infallible>(encoder.encode(&event)))
        .take_until(tokio::time::sleep(timeout));
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, output.encoding.stream_media_type())],
        Body::from_stream(frames),
    )
        .into_response()
}

/// Turns events into newline-terminated JSON frames in the negotiated form.
struct EventEncoder {
    info: Arc<ResourceInfo>,
    /// `info`'s apiVersion.
    api_version: String,
    table: TableConvertor,
    encoding: Encoding,
    transform: Transform,
    include: IncludeObject,
    /// Whether no object has been sent yet (Tables carry their columns only then).
    first_object: bool,
}

impl EventEncoder {
    fn encode(&mut self, event: &WatchEvent) -> Bytes {
        if self.encoding == Encoding::Protobuf {
            // Negotiation never pairs protobuf with a Table.
            return self.protobuf_frame(event);
        }
        let is_error = event.event_type == WatchEventType::Error;
        let is_bookmark = event.event_type == WatchEventType::Bookmark;
        let object = match self.transform {
            // A Status, or a bookmark in a Table watch, goes out as it is.
            _ if is_error => return Self::cached_frame(event),
            Transform::Table { .. } if is_bookmark => return Self::cached_frame(event),
            // PartialObjectMetadataList cannot convert single objects: upstream sends them as they are.
            Transform::None | Transform::PartialObjectMetadataList { .. } => {
                if event.object().get("kind").is_some()
                    && event.object().get("apiVersion").is_some()
                {
                    return Self::cached_frame(event);
                }
                negotiation::with_type_meta(&self.info, event.object().clone())
            }
            Transform::PartialObjectMetadata { version } => json!({
                "kind": "PartialObjectMetadata",
                "apiVersion": format!("meta.k8s.io/{version}"),
                "metadata": event.object().get("metadata").cloned().unwrap_or_else(|| json!({})),
            }),
            Transform::Table { version } => {
                let object = negotiation::with_type_meta(&self.info, event.object().clone());
                let mut table = table::row_table(
                    &self.table,
                    &self.info,
                    &object,
                    self.include,
                    self.first_object,
                );
                self.first_object = false;
                if version != "v1" {
                    table["apiVersion"] = Value::from(format!("meta.k8s.io/{version}"));
                }
                table
            }
        };
        let object = serde_json::to_vec(&key_order::ordered(&object)).unwrap_or_default();
        let mut frame = event_json(event.event_type, &object);
        frame.push(b'\n');
        Bytes::from(frame)
    }

    /// A protobuf frame: the object (or its PartialObjectMetadata) in its full envelope inside a
    /// raw `WatchEvent`. An object that cannot be encoded becomes an ERROR event with an
    /// internal-error Status.
    fn protobuf_frame(&self, event: &WatchEvent) -> Bytes {
        let is_error = event.event_type == WatchEventType::Error;
        let whole = is_error || !matches!(self.transform, Transform::PartialObjectMetadata { .. });
        if whole {
            // The event's own frame, built once and shared by every watcher.
            if let Some(frame) = event.protobuf_frame(&self.api_version, self.info.kind.as_str()) {
                return frame;
            }
        }
        let object = match self.transform {
            Transform::PartialObjectMetadata { version } if !is_error => json!({
                "kind": "PartialObjectMetadata",
                "apiVersion": format!("meta.k8s.io/{version}"),
                "metadata": event.object().get("metadata").cloned().unwrap_or_else(|| json!({})),
            }),
            _ => negotiation::with_type_meta(&self.info, event.object().clone()),
        };
        match protobuf::encode_body(&object) {
            Ok(body) => protobuf::watch_frame(event.event_type.as_str(), &body),
            Err(err) => {
                let status =
                    serde_json::to_value(&ApiError::internal(err).status).unwrap_or(Value::Null);
                match protobuf::encode_object(&status) {
                    Ok(body) => protobuf::watch_frame(WatchEventType::Error.as_str(), &body),
                    Err(_) => Bytes::new(),
                }
            }
        }
    }

    /// The event's own JSON, newline-terminated: its object serialised once, and the frame built
    /// once for every watcher of the same cache event.
    fn cached_frame(event: &WatchEvent) -> Bytes {
        event.json_frame()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts() {
        assert_eq!(watch_timeout(Some(5)), Duration::from_secs(5));
        for _ in 0..20 {
            let random = watch_timeout(None);
            assert!(
                random >= MIN_REQUEST_TIMEOUT && random < MIN_REQUEST_TIMEOUT * 2,
                "{random:?}"
            );
        }
        assert!(watch_timeout(Some(0)) >= MIN_REQUEST_TIMEOUT);
        assert_eq!(watch_timeout(Some(-1)), Duration::ZERO);
    }

    #[test]
    fn named_watches_select_the_name() {
        let mut opts = ListOptions::default();
        select_name(&mut opts, "a").expect("empty selector");
        assert_eq!(opts.field_selector, "metadata.name=a");
        let mut opts = ListOptions {
            field_selector: "metadata.name==a,status.phase=Running".into(),
            ..Default::default()
        };
        select_name(&mut opts, "a").expect("same name");
        let mut opts = ListOptions {
            field_selector: "metadata.name=b".into(),
            ..Default::default()
        };
        assert_eq!(
            select_name(&mut opts, "a").unwrap_err().status.message,
            "fieldSelector metadata.name doesn't match requested name"
        );
        let mut opts = ListOptions {
            field_selector: "metadata.name!=a".into(),
            ..Default::default()
        };
        assert!(select_name(&mut opts, "a").is_err());
    }
}
