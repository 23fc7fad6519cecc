//! Whole protobuf bodies, as upstream's `runtime/serializer/protobuf`: objects, lists and errors in
//! the `k8s\0` + `runtime.Unknown` envelope, and watch frames.
//!
//! - An object: `k8s\0` then `Unknown{typeMeta = 1 {apiVersion = 1, kind = 2}, raw = 2,
//!   contentEncoding = 3, contentType = 4}` whose `raw` is the object's message. Go writes the
//!   two empty strings too (`Unknown.NestedMarshalTo`); so does this.
//! - A list: the same envelope around `<Kind>List{metadata = 1 ListMeta, items = 2}`.
//! - An error: the same envelope around `Status` (`v1`, `Status`).
//! - A watch event: upstream's stream serializer is the raw serializer (no magic, no envelope)
//!   behind a length-delimited framer: a 4-byte big-endian length, then
//!   `WatchEvent{type = 1, object = 2 RawExtension{raw = 1}}` whose `raw` is the object in the full
//!   envelope (the watch's embedded encoder).

use bytes::Bytes;
use serde_json::{Map, Value};

use super::encode::{put_key, put_len, put_varint};
use super::schema::{wire_table, KINDS, LEN, LIST_META, OBJECT_META};
use super::MAGIC;

fn group_version(api_version: &str) -> (&str, &str) {
    match api_version.rsplit_once('/') {
        Some((group, version)) => (group, version),
        None => ("", api_version),
    }
}

/// Whether a kind (`apps`, `v1`, `Deployment`) has a protobuf message here: the built-in kinds of
/// the catalogue and `Status`; not custom resources, Tables or PartialObjectMetadata.
pub fn has_message(group: &str, version: &str, kind: &str) -> bool {
    let status = kind == "Status" && matches!((group, version), ("", "v1") | ("meta.k8s.io", "v1"));
    status
        || KINDS
            .iter()
            .any(|&(g, v, k)| g == group && v == version && k == kind)
}

fn type_meta(api_version: &str, kind: &str) -> Vec<u8> {
    let mut type_meta = Vec::with_capacity(api_version.len() + kind.len() + 4);
    put_len(&mut type_meta, 1, api_version.as_bytes());
    put_len(&mut type_meta, 2, kind.as_bytes());
    type_meta
}

/// `k8s\0` + `Unknown{typeMeta{apiVersion, kind}, raw}`.
pub fn envelope(api_version: &str, kind: &str, raw: &[u8]) -> Vec<u8> {
    let type_meta = type_meta(api_version, kind);
    let mut out = Vec::with_capacity(raw.len() + type_meta.len() + 20);
    out.extend_from_slice(MAGIC);
    put_len(&mut out, 1, &type_meta);
    put_len(&mut out, 2, raw);
    put_len(&mut out, 3, b"");
    put_len(&mut out, 4, b"");
    out
}

/// The message of an object of `kind` in `api_version`, without the envelope: what
/// [`encode_object`] wraps, and what a list holds per item.
pub fn encode_message_of(api_version: &str, kind: &str, object: &Value) -> Result<Vec<u8>, String> {
    let (group, version) = group_version(api_version);
    let table = wire_table();
    let index = table
        .kind_message(group, version, kind)
        .ok_or_else(|| format!("protobuf: no message for {kind} in {api_version}"))?;
    table.encode_message(index, object)
}

/// An object (with its `apiVersion` and `kind`) as a protobuf body.
pub fn encode_object(object: &Value) -> Result<Bytes, String> {
    let (Some(api_version), Some(kind)) = (
        object.get("apiVersion").and_then(Value::as_str),
        object.get("kind").and_then(Value::as_str),
    ) else {
        return Err("protobuf: the object has no apiVersion or kind".to_string());
    };
    let raw = encode_message_of(api_version, kind, object)?;
    Ok(Bytes::from(envelope(api_version, kind, &raw)))
}

/// A list of `kind` (`ConfigMap` -> `ConfigMapList`) with its `metadata` (a ListMeta's JSON) as a
/// protobuf body.
pub fn encode_list(
    api_version: &str,
    kind: &str,
    metadata: &Value,
    items: &[Value],
) -> Result<Bytes, String> {
    let (group, version) = group_version(api_version);
    let table = wire_table();
    let item = table
        .kind_message(group, version, kind)
        .ok_or_else(|| format!("protobuf: no message for {kind} in {api_version}"))?;
    let list_meta = table
        .message(LIST_META)
        .ok_or_else(|| "protobuf: no ListMeta message".to_string())?;
    let mut raw = Vec::new();
    put_len(&mut raw, 1, &table.encode_message(list_meta, metadata)?);
    for object in items {
        put_len(&mut raw, 2, &table.encode_message(item, object)?);
    }
    Ok(Bytes::from(envelope(
        api_version,
        &format!("{kind}List"),
        &raw,
    )))
}

/// The bytes [`put_list_item`] writes for an item message of `len` bytes.
pub fn list_item_len(len: usize) -> usize {
    let mut varint = 1;
    let mut rest = len >> 7;
    while rest > 0 {
        varint += 1;
        rest >>= 7;
    }
    1 + varint + len
}

/// Writes one item of a list (`items`, field 2) around its already encoded message.
pub fn put_list_item(out: &mut Vec<u8>, message: &[u8]) {
    put_len(out, 2, message);
}

/// A `<Kind>List` body of `kind` cut around its items, so that cached item messages are spliced
/// in between: `(head, tail)`, with `items_len` the sum of [`list_item_len`] over the items, each
/// written by [`put_list_item`]. `head` + items + `tail` equals what [`encode_body`] writes for the
/// list. An error when `encode_body` would not write this list item by item (the kind has no
/// message, or the list kind has its own).
pub fn list_parts(
    api_version: &str,
    kind: &str,
    metadata: &Value,
    items_len: usize,
) -> Result<(Vec<u8>, Vec<u8>), String> {
    let (group, version) = group_version(api_version);
    let table = wire_table();
    let list_kind = format!("{kind}List");
    if table.kind_message(group, version, &list_kind).is_some()
        || table.kind_message(group, version, kind).is_none()
    {
        return Err(format!(
            "protobuf: {list_kind} in {api_version} is not a list of {kind} messages"
        ));
    }
    let list_meta = table
        .message(LIST_META)
        .ok_or_else(|| "protobuf: no ListMeta message".to_string())?;
    let mut meta = Vec::new();
    put_len(&mut meta, 1, &table.encode_message(list_meta, metadata)?);
    let type_meta = type_meta(api_version, &list_kind);
    let mut head = Vec::with_capacity(meta.len() + type_meta.len() + 20);
    head.extend_from_slice(MAGIC);
    put_len(&mut head, 1, &type_meta);
    // Unknown.raw (field 2): its key and length, then the ListMeta; the items follow.
    put_key(&mut head, 2, LEN);
    put_varint(&mut head, (meta.len() + items_len) as u64);
    head.extend_from_slice(&meta);
    let mut tail = Vec::with_capacity(4);
    put_len(&mut tail, 3, b"");
    put_len(&mut tail, 4, b"");
    Ok((head, tail))
}

/// One watch frame: the 4-byte big-endian length, then a raw `WatchEvent` of `event_type`
/// (`ADDED`, `MODIFIED`, `DELETED`, `BOOKMARK`, `ERROR`) holding `object`, a whole protobuf body
/// ([`encode_object`]).
pub fn watch_frame(event_type: &str, object: &[u8]) -> Bytes {
    let mut raw_extension = Vec::with_capacity(object.len() + 6);
    put_len(&mut raw_extension, 1, object);
    let mut event = Vec::with_capacity(raw_extension.len() + event_type.len() + 8);
    put_len(&mut event, 1, event_type.as_bytes());
    put_len(&mut event, 2, &raw_extension);
    let mut frame = Vec::with_capacity(event.len() + 4);
    frame.extend_from_slice(&(event.len() as u32).to_be_bytes());
    frame.extend_from_slice(&event);
    Bytes::from(frame)
}

/// A response body as protobuf: an object or Status by its `kind`, a list (`<Kind>List` with
/// `items`) of a kind with a message, or a `PartialObjectMetadata(List)`.
pub fn encode_body(body: &Value) -> Result<Bytes, String> {
    let kind = body.get("kind").and_then(Value::as_str).unwrap_or_default();
    let api_version = body
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if matches!(kind, "PartialObjectMetadata" | "PartialObjectMetadataList")
        && matches!(api_version, "meta.k8s.io/v1" | "meta.k8s.io/v1beta1")
    {
        let raw = partial_object_metadata(body, kind, api_version == "meta.k8s.io/v1beta1")?;
        return Ok(Bytes::from(envelope(api_version, kind, &raw)));
    }
    let (group, version) = group_version(api_version);
    let table = wire_table();
    if table.kind_message(group, version, kind).is_none() {
        let item_kind = kind
            .strip_suffix("List")
            .filter(|item| table.kind_message(group, version, item).is_some());
        let items = body.get("items").and_then(Value::as_array);
        if let (Some(item_kind), Some(items)) = (item_kind, items) {
            let empty = Value::Object(Map::new());
            let metadata = body.get("metadata").unwrap_or(&empty);
            return encode_list(api_version, item_kind, metadata, items);
        }
    }
    encode_object(body)
}

/// `PartialObjectMetadata{metadata = 1 ObjectMeta}`, or its list: in `meta.k8s.io/v1`
/// `{metadata = 1 ListMeta, items = 2}`, in `v1beta1` `{items = 1, metadata = 2}` (Go writes them
/// in field-number order).
fn partial_object_metadata(body: &Value, kind: &str, v1beta1: bool) -> Result<Vec<u8>, String> {
    let table = wire_table();
    let object_meta = table
        .message(OBJECT_META)
        .ok_or_else(|| "protobuf: no ObjectMeta message".to_string())?;
    let empty = Value::Object(Map::new());
    let item = |object: &Value| -> Result<Vec<u8>, String> {
        let metadata = object.get("metadata").unwrap_or(&empty);
        let mut raw = Vec::new();
        put_len(&mut raw, 1, &table.encode_message(object_meta, metadata)?);
        Ok(raw)
    };
    if kind == "PartialObjectMetadata" {
        return item(body);
    }
    let list_meta = table
        .message(LIST_META)
        .ok_or_else(|| "protobuf: no ListMeta message".to_string())?;
    let metadata = table.encode_message(list_meta, body.get("metadata").unwrap_or(&empty))?;
    let items = body
        .get("items")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut raw = Vec::new();
    if !v1beta1 {
        put_len(&mut raw, 1, &metadata);
    }
    for object in items {
        put_len(&mut raw, if v1beta1 { 1 } else { 2 }, &item(object)?);
    }
    if v1beta1 {
        put_len(&mut raw, 2, &metadata);
    }
    Ok(raw)
}
