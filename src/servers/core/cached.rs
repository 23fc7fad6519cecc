//! Responses written from the cached bytes of shared objects ([`WatchObject`]) in the forms that
//! carry objects as they are: compact JSON and protobuf with no `as=` transform. Each object is
//! serialised at most once per format, however many lists, gets and watches carry it.
//!
//! A list is the bytes before its items, the items' bytes (joined by `,` in JSON, each a field 2
//! in protobuf) and the bytes after them, streamed in ~64 KiB chunks, so no body of the whole list
//! is built and no runtime worker encodes a large list in one poll. The bytes equal the Value
//! path's ([`negotiation::render_list`] + [`negotiation::encode`]): an item whose cached bytes are
//! not exactly its bytes in the list is written through the Value path alone. Indented JSON, YAML,
//! Tables and PartialObjectMetadata keep the Value path.

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::StreamExt;
use http::{header, StatusCode};
use serde_json::{json, Map, Value};

use super::negotiation::{self, Encoding, Output, Transform};
use crate::catalog::key_order::{self, Shape};
use crate::catalog::{protobuf, ResourceInfo};
use crate::registry::store::{ListPage, WatchObject};

/// The size a streamed chunk of a list grows to before it is sent.
const CHUNK: usize = 64 * 1024;
/// Chunks sent between two yields to the runtime.
const CHUNKS_PER_YIELD: usize = 4;
/// Items encoded between two yields while a protobuf list is measured.
const ITEMS_PER_YIELD: usize = 1024;

/// The encoding `output` is written in from cached bytes, if it is.
fn cached_encoding(output: &Output) -> Option<Encoding> {
    match (output.transform, output.encoding) {
        (Transform::None, Encoding::Json) if !output.pretty => Some(Encoding::Json),
        // Protobuf bodies have no indented form.
        (Transform::None, Encoding::Protobuf) => Some(Encoding::Protobuf),
        _ => None,
    }
}

/// The body of one object as [`negotiation::render_object`] and [`negotiation::encode`] write
/// it, from its cached bytes; `None` where the Value path answers.
pub fn object_body(info: &ResourceInfo, output: &Output, object: &WatchObject) -> Option<Bytes> {
    match cached_encoding(output)? {
        Encoding::Json => {
            // With both present, `with_type_meta` adds nothing; without them the Value path
            // orders the object by the fields it adds, which the cached bytes were not.
            let value = object.value();
            if value.get("kind").is_none() || value.get("apiVersion").is_none() {
                return None;
            }
            let json = object.json();
            let mut body = Vec::with_capacity(json.len() + 1);
            body.extend_from_slice(json);
            body.push(b'\n');
            Some(Bytes::from(body))
        }
        Encoding::Protobuf => {
            let api_version = info.api_version();
            let (api_version, kind) = object.type_meta(&api_version, info.kind.as_str())?;
            let message = object.protobuf(api_version, kind)?;
            Some(Bytes::from(protobuf::envelope(api_version, kind, message)))
        }
        Encoding::Yaml => None,
    }
}

/// A 200 answering one object from its cached bytes; `None` where the Value path answers.
pub fn respond_object(
    info: &ResourceInfo,
    output: &Output,
    object: &WatchObject,
) -> Option<Response> {
    let body = object_body(info, output, object)?;
    Some(
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, output.encoding.media_type())],
            Body::from(body),
        )
            .into_response(),
    )
}

/// A 200 answering a list page from its items' cached bytes, or the page back where the Value
/// path answers (another form, or a protobuf list that cannot be written item by item).
pub async fn respond_list(
    info: &Arc<ResourceInfo>,
    output: &Output,
    page: ListPage,
) -> Result<Response, ListPage> {
    let chunks = match cached_encoding(output) {
        Some(Encoding::Json) => json_list(info, page)?,
        Some(Encoding::Protobuf) => protobuf_list(info, page).await?,
        _ => return Err(page),
    };
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, output.encoding.media_type())],
        chunks.into_body(),
    )
        .into_response())
}

fn page_meta(page: &ListPage) -> Value {
    negotiation::page_meta(
        &page.resource_version,
        page.continue_token.as_deref(),
        page.remaining_item_count,
    )
}

/// The compact JSON of a list with no items, cut where its items go. `"items":[]` occurs once:
/// any other quote in the body is inside a string, escaped.
fn split_at_items(list: &Value) -> Option<(Vec<u8>, Vec<u8>)> {
    const ITEMS: &[u8] = b"\"items\":[]";
    let bytes = serde_json::to_vec(&key_order::ordered(list)).ok()?;
    let at = bytes.windows(ITEMS.len()).position(|w| w == ITEMS)? + ITEMS.len() - 1;
    Some((bytes[..at].to_vec(), bytes[at..].to_vec()))
}

fn json_list(info: &Arc<ResourceInfo>, page: ListPage) -> Result<Chunks, ListPage> {
    let list = negotiation::plain_list(info, page_meta(&page), Vec::new());
    let (Some((head, mut tail)), Some(items)) = (split_at_items(&list), JsonItems::new(info))
    else {
        return Err(page);
    };
    tail.push(b'\n');
    Ok(Chunks::new(head, tail, Items::Json(page.items, items)))
}

/// Writes JSON items as the Value path writes them inside their list.
struct JsonItems {
    info: Arc<ResourceInfo>,
    /// Built-in lists are typed: their items carry no `kind`/`apiVersion`.
    typed: bool,
    /// Whether cached bytes can be the items' bytes at all: the list is written in Go's order
    /// (built-in) or sorted (custom), as its items' cached JSON is.
    splice: bool,
    /// How the cached JSON of a typed item starts: `{"kind":<kind>,"apiVersion":<apiVersion>`.
    type_prefix: Vec<u8>,
    /// The bytes before and after the item of a one-item list with no metadata.
    alone: (Vec<u8>, Vec<u8>),
}

impl JsonItems {
    fn new(info: &Arc<ResourceInfo>) -> Option<Self> {
        let api_version = info.api_version();
        let typed = !info.is_custom();
        let list_kind = format!("{}List", info.kind);
        let shape =
            key_order::key_order().shape_of(&json!({"kind": list_kind, "apiVersion": api_version}));
        let splice = match shape {
            Shape::Object(_) => typed,
            Shape::Sorted => !typed,
            _ => false,
        };
        let mut type_prefix = b"{\"kind\":".to_vec();
        type_prefix.extend(serde_json::to_vec(info.kind.as_str()).ok()?);
        type_prefix.extend_from_slice(b",\"apiVersion\":");
        type_prefix.extend(serde_json::to_vec(&api_version).ok()?);
        let empty = negotiation::plain_list(info, Value::Object(Map::new()), Vec::new());
        Some(Self {
            info: info.clone(),
            typed,
            splice,
            type_prefix,
            alone: split_at_items(&empty)?,
        })
    }

    /// Writes `object` as an item of the list.
    fn write(&self, object: &WatchObject, out: &mut Vec<u8>) {
        if self.splice && self.typed {
            // Only Go's order puts `kind` first (sorted keys start with `apiVersion`), so the
            // object was ordered as its kind, which is the list's item type: dropping the two
            // leading fields gives the item's bytes.
            let json = object.json();
            if let Some(rest) = json.strip_prefix(self.type_prefix.as_slice()) {
                match rest {
                    [b',', fields @ ..] => {
                        out.push(b'{');
                        out.extend_from_slice(fields);
                        return;
                    }
                    b"}" => {
                        out.extend_from_slice(b"{}");
                        return;
                    }
                    _ => {}
                }
            }
        } else if self.splice && key_order::key_order().shape_of(object.value()) == Shape::Sorted {
            // A custom item is written as it is, sorted, in a sorted list.
            out.extend_from_slice(object.json());
            return;
        }
        self.write_alone(object.value(), out);
    }

    /// Writes `item` through the Value path: a list of it alone, cut around it.
    fn write_alone(&self, item: &Value, out: &mut Vec<u8>) {
        let list =
            negotiation::plain_list(&self.info, Value::Object(Map::new()), vec![item.clone()]);
        let bytes = serde_json::to_vec(&key_order::ordered(&list)).unwrap_or_default();
        let (head, tail) = &self.alone;
        match bytes
            .strip_prefix(head.as_slice())
            .and_then(|rest| rest.strip_suffix(tail.as_slice()))
        {
            Some(item_bytes) => out.extend_from_slice(item_bytes),
            // Not reached: items are written independently of their list.
            None => out.extend_from_slice(b"null"),
        }
    }
}

async fn protobuf_list(info: &Arc<ResourceInfo>, page: ListPage) -> Result<Chunks, ListPage> {
    let api_version = info.api_version();
    let kind = info.kind.as_str();
    let mut messages = Vec::with_capacity(page.items.len());
    let mut items_len = 0;
    let mut failed = false;
    for (i, object) in page.items.iter().enumerate() {
        if i % ITEMS_PER_YIELD == ITEMS_PER_YIELD - 1 {
            tokio::task::yield_now().await;
        }
        // The Value path writes every item as the list's kind.
        let message = match object.type_meta(&api_version, kind) {
            Some((v, k)) if v == api_version && k == kind => {
                object.protobuf(&api_version, kind).cloned()
            }
            _ => protobuf::encode_message_of(&api_version, kind, object.value())
                .ok()
                .map(Bytes::from),
        };
        let Some(message) = message else {
            failed = true;
            break;
        };
        items_len += protobuf::list_item_len(message.len());
        messages.push(message);
    }
    if failed {
        return Err(page);
    }
    match protobuf::list_parts(&api_version, kind, &page_meta(&page), items_len) {
        Ok((head, tail)) => Ok(Chunks::new(head, tail, Items::Protobuf(messages))),
        Err(_) => Err(page),
    }
}

/// The items of a list body.
enum Items {
    /// Objects written from their cached JSON.
    Json(Vec<Arc<WatchObject>>, JsonItems),
    /// Item messages, already encoded.
    Protobuf(Vec<Bytes>),
}

impl Items {
    fn len(&self) -> usize {
        match self {
            Self::Json(objects, _) => objects.len(),
            Self::Protobuf(messages) => messages.len(),
        }
    }

    fn write(&self, index: usize, out: &mut Vec<u8>) {
        match self {
            Self::Json(objects, writer) => {
                if index > 0 {
                    out.push(b',');
                }
                writer.write(&objects[index], out);
            }
            Self::Protobuf(messages) => protobuf::put_list_item(out, &messages[index]),
        }
    }
}

/// A list body cut into chunks: the head, the items, the tail.
struct Chunks {
    head: Option<Vec<u8>>,
    tail: Vec<u8>,
    items: Items,
    next: usize,
    sent: usize,
    done: bool,
}

impl Chunks {
    fn new(head: Vec<u8>, tail: Vec<u8>, items: Items) -> Self {
        Self {
            head: Some(head),
            tail,
            items,
            next: 0,
            sent: 0,
            done: false,
        }
    }

    /// The next chunk: items until it holds [`CHUNK`] bytes (the head before the first, the tail
    /// after the last); `None` once the tail was sent.
    fn next_chunk(&mut self) -> Option<Bytes> {
        if self.done {
            return None;
        }
        let mut out = self.head.take().unwrap_or_default();
        while self.next < self.items.len() && out.len() < CHUNK {
            self.items.write(self.next, &mut out);
            self.next += 1;
        }
        if self.next >= self.items.len() {
            out.extend_from_slice(&self.tail);
            self.done = true;
        }
        self.sent += 1;
        Some(Bytes::from(out))
    }

    /// The body: one buffer when the list fits one chunk, else a stream that yields to the
    /// runtime every few chunks.
    fn into_body(mut self) -> Body {
        let first = self.next_chunk().unwrap_or_default();
        if self.done {
            return Body::from(first);
        }
        let rest = futures::stream::unfold(self, |mut chunks| async move {
            if chunks.sent % CHUNKS_PER_YIELD == 0 {
                tokio::task::yield_now().await;
            }
            chunks.next_chunk().map(|chunk| (chunk, chunks))
        });
        let chunks = futures::stream::once(async move { first })
            .chain(rest)
            .map(Ok::<Bytes, Infallible>);
        Body::from_stream(chunks)
    }
}

#[cfg(test)]
#[path = "cached_tests.rs"]
mod tests;
