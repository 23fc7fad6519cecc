//! Protobuf wire bytes to Kubernetes JSON, guided by the [`WireTable`]: the inverse of `encode`,
//! giving the bytes the meaning upstream's decoding into Go structs and JSON encoding gives them.
//!
//! - Unknown field numbers are skipped; a known field with another wire type is an error, as are
//!   truncated or malformed bytes.
//! - A list is a JSON array (one tag per item, or packed for numbers); an empty list is absent.
//! - Go writes every non-pointer scalar, zero or not; a zero is dropped when the field's
//!   `omit_zero` says upstream's JSON omits it. List items and map values are always kept.
//! - An empty `Time`/`MicroTime` message is Go's zero time: absent (the epoch when required).
//!   `Time` keeps whole seconds (Go's `Time.Unmarshal` drops the nanoseconds); `MicroTime` is
//!   written as Go's `RFC3339Micro`.

use base64::Engine;
use serde_json::{Map, Number, Value};

use crate::catalog::go_duration::format_go_duration;

use super::schema::{
    read_tags, read_varint, Field, Kind, Scalar, Tag, WireTable, FIXED32, FIXED64, LEN, VARINT,
};

fn malformed(what: &str) -> String {
    format!("protobuf: malformed {what}")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The envelope of a body after `k8s\0`: `Unknown{typeMeta = 1 {apiVersion = 1, kind = 2},
/// raw = 2, contentEncoding = 3, contentType = 4}`.
pub(super) struct Envelope<'a> {
    pub api_version: String,
    pub kind: String,
    pub raw: &'a [u8],
    pub content_encoding: String,
}

pub(super) fn read_envelope(body: &[u8]) -> Result<Envelope<'_>, String> {
    let mut envelope = Envelope {
        api_version: String::new(),
        kind: String::new(),
        raw: &[],
        content_encoding: String::new(),
    };
    for tag in read_tags(body).ok_or_else(|| malformed("envelope"))? {
        match (tag.number, tag.wire) {
            (1, LEN) => {
                for part in read_tags(tag.payload).ok_or_else(|| malformed("typeMeta"))? {
                    match (part.number, part.wire) {
                        (1, LEN) => envelope.api_version = text(part.payload),
                        (2, LEN) => envelope.kind = text(part.payload),
                        (1 | 2, _) => return Err(malformed("typeMeta")),
                        _ => {}
                    }
                }
            }
            (2, LEN) => envelope.raw = tag.payload,
            (3, LEN) => envelope.content_encoding = text(tag.payload),
            (4, LEN) => {}
            (1..=4, _) => return Err(malformed("envelope")),
            _ => {}
        }
    }
    Ok(envelope)
}

fn expect_wire(name: &str, tag: &Tag<'_>, wire: u8) -> Result<(), String> {
    if tag.wire == wire {
        Ok(())
    } else {
        Err(format!("protobuf: {name}: wrong wire type {}", tag.wire))
    }
}

fn varint(name: &str, tag: &Tag<'_>) -> Result<u64, String> {
    expect_wire(name, tag, VARINT)?;
    let mut pos = 0;
    read_varint(tag.payload, &mut pos).ok_or_else(|| malformed(name))
}

/// A length-delimited message's fields, by number: the last varint of `number`, or 0.
fn inner_varint(tags: &[Tag<'_>], name: &str, number: u32) -> Result<u64, String> {
    let mut value = 0;
    for tag in tags.iter().filter(|t| t.number == number) {
        value = varint(name, tag)?;
    }
    Ok(value)
}

/// The last length-delimited field `number` of a message, if any.
fn inner_bytes<'a>(tags: &[Tag<'a>], name: &str, number: u32) -> Result<Option<&'a [u8]>, String> {
    let mut value = None;
    for tag in tags.iter().filter(|t| t.number == number) {
        expect_wire(name, tag, LEN)?;
        value = Some(tag.payload);
    }
    Ok(value)
}

/// A JSON number for a double: integral values as integers, as Go's JSON writes them.
fn float(name: &str, f: f64) -> Result<Value, String> {
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        return Ok(Value::from(f as i64));
    }
    Number::from_f64(f)
        .map(Value::Number)
        .ok_or_else(|| format!("protobuf: {name}: {f} is not a JSON number"))
}

/// A `Time` (whole seconds, as Go's `RFC3339`) or `MicroTime` (Go's `RFC3339Micro`), in UTC.
fn time_text(name: &str, micro: bool, seconds: i64, nanos: i64) -> Result<String, String> {
    let bad = || format!("protobuf: {name}: time out of range");
    // Go's `Time.Unmarshal` ignores `nanos`; `MicroTime`'s truncates them to microseconds (toward
    // zero) and `time.Unix` normalises them.
    let (seconds, nanos) = if micro {
        let nanos = nanos - nanos % 1_000;
        let seconds = seconds
            .checked_add(nanos.div_euclid(1_000_000_000))
            .ok_or_else(bad)?;
        let nanos = u32::try_from(nanos.rem_euclid(1_000_000_000)).map_err(|_| bad())?;
        (seconds, nanos)
    } else {
        (seconds, 0)
    };
    let time = chrono::DateTime::<chrono::Utc>::from_timestamp(seconds, nanos).ok_or_else(bad)?;
    let format = if micro {
        chrono::SecondsFormat::Micros
    } else {
        chrono::SecondsFormat::Secs
    };
    Ok(time.to_rfc3339_opts(format, true))
}

/// Whether `value` is the zero of a plain scalar (what `omitempty` omits).
fn is_zero(scalar: Scalar, value: &Value) -> bool {
    let plain = matches!(
        scalar,
        Scalar::Varint
            | Scalar::Bool
            | Scalar::Fixed64
            | Scalar::Fixed32
            | Scalar::String
            | Scalar::Bytes
    );
    plain
        && match value {
            Value::String(s) => s.is_empty(),
            Value::Bool(b) => !b,
            Value::Number(n) => n.as_f64() == Some(0.0),
            _ => false,
        }
}

impl WireTable {
    /// The JSON of the message at `index` read from `bytes`: an object, or the list of a message
    /// that wraps one (`ExtraValue`).
    pub(super) fn decode_message(&self, index: usize, bytes: &[u8]) -> Result<Value, String> {
        let message = self
            .messages
            .get(index)
            .ok_or_else(|| format!("protobuf: no message {index}"))?;
        let mut object = Map::new();
        let mut embedded: Vec<Map<String, Value>> = Vec::new();
        for tag in read_tags(bytes).ok_or_else(|| malformed("message"))? {
            let Some(field) = message.fields.iter().find(|f| f.number == tag.number) else {
                continue;
            };
            match &field.json {
                // An embedded struct: its fields are the parent's JSON fields.
                None => {
                    if let Kind::One(Scalar::Message(child)) = field.kind {
                        expect_wire("embedded struct", &tag, LEN)?;
                        if let Value::Object(inner) = self.decode_message(child, tag.payload)? {
                            embedded.push(inner);
                        }
                    }
                }
                Some(name) => self.read_field(field, name, &tag, &mut object)?,
            }
        }
        // The parent's own fields win over an embedded struct's, as in Go's JSON.
        for inner in embedded {
            for (key, value) in inner {
                object.entry(key).or_insert(value);
            }
        }
        if message.wraps_list {
            return Ok(object
                .remove("items")
                .unwrap_or_else(|| Value::Array(Vec::new())));
        }
        Ok(Value::Object(object))
    }

    fn read_field(
        &self,
        field: &Field,
        name: &str,
        tag: &Tag<'_>,
        object: &mut Map<String, Value>,
    ) -> Result<(), String> {
        match field.kind {
            Kind::Map(scalar) => {
                expect_wire(name, tag, LEN)?;
                let (key, value) = self.read_entry(scalar, name, tag.payload)?;
                let map = object
                    .entry(name.to_string())
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(map) = map {
                    map.insert(key, value);
                }
            }
            Kind::One(scalar) if field.repeated => {
                let mut items = Vec::new();
                let packable = matches!(
                    scalar,
                    Scalar::Varint | Scalar::Bool | Scalar::Fixed64 | Scalar::Fixed32
                );
                if packable && tag.wire == LEN {
                    unpack(scalar, name, tag.payload, &mut items)?;
                } else {
                    let item = self.read_scalar(scalar, name, tag)?;
                    items.push(item.unwrap_or(Value::Null));
                }
                let list = object
                    .entry(name.to_string())
                    .or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(list) = list {
                    list.extend(items);
                }
            }
            Kind::One(scalar) => {
                let value = match self.read_scalar(scalar, name, tag)? {
                    Some(value) => value,
                    // A required time keeps a value (TokenRequest's `status.expirationTimestamp`),
                    // as the request path always has: the typed decoding after this needs one.
                    None if !field.omit_zero && matches!(scalar, Scalar::Time) => {
                        Value::String(time_text(name, false, 0, 0)?)
                    }
                    None if !field.omit_zero && matches!(scalar, Scalar::MicroTime) => {
                        Value::String(time_text(name, true, 0, 0)?)
                    }
                    None => {
                        object.remove(name);
                        return Ok(());
                    }
                };
                if field.omit_zero && is_zero(scalar, &value) {
                    object.remove(name);
                    return Ok(());
                }
                // A message given twice is merged, as protobuf merges it.
                let rest = match (object.get_mut(name), value) {
                    (Some(Value::Object(old)), Value::Object(new)) => {
                        old.extend(new);
                        None
                    }
                    (_, value) => Some(value),
                };
                if let Some(value) = rest {
                    object.insert(name.to_string(), value);
                }
            }
        }
        Ok(())
    }

    /// A map entry `{key = 1, value = 2}`; a missing value is the zero of its type.
    fn read_entry(
        &self,
        scalar: Scalar,
        name: &str,
        bytes: &[u8],
    ) -> Result<(String, Value), String> {
        let mut key = String::new();
        let mut value = None;
        for part in read_tags(bytes).ok_or_else(|| malformed(name))? {
            match part.number {
                1 => {
                    expect_wire(name, &part, LEN)?;
                    key = text(part.payload);
                }
                2 => value = self.read_scalar(scalar, name, &part)?,
                _ => {}
            }
        }
        let value = match value {
            Some(value) => value,
            None => match scalar {
                Scalar::String | Scalar::Bytes => Value::String(String::new()),
                Scalar::Varint | Scalar::Fixed64 | Scalar::Fixed32 | Scalar::IntOrString => {
                    Value::from(0)
                }
                Scalar::Bool => Value::Bool(false),
                Scalar::Quantity => Value::String("0".to_string()),
                Scalar::Duration => Value::String(format_go_duration(0)),
                Scalar::Message(index) => self.decode_message(index, &[])?,
                Scalar::Time | Scalar::MicroTime | Scalar::RawJson => Value::Null,
            },
        };
        Ok((key, value))
    }

    /// One value; `None` for a value Go's JSON writes as `null` (a zero time, an empty raw
    /// document).
    fn read_scalar(
        &self,
        scalar: Scalar,
        name: &str,
        tag: &Tag<'_>,
    ) -> Result<Option<Value>, String> {
        let value = match scalar {
            Scalar::Varint => Value::from(varint(name, tag)? as i64),
            Scalar::Bool => Value::Bool(varint(name, tag)? != 0),
            Scalar::Fixed64 => {
                expect_wire(name, tag, FIXED64)?;
                let bytes: [u8; 8] = tag.payload.try_into().map_err(|_| malformed(name))?;
                float(name, f64::from_le_bytes(bytes))?
            }
            Scalar::Fixed32 => {
                expect_wire(name, tag, FIXED32)?;
                let bytes: [u8; 4] = tag.payload.try_into().map_err(|_| malformed(name))?;
                float(name, f64::from(f32::from_le_bytes(bytes)))?
            }
            Scalar::String => {
                expect_wire(name, tag, LEN)?;
                Value::String(text(tag.payload))
            }
            Scalar::Bytes => {
                expect_wire(name, tag, LEN)?;
                Value::String(base64::engine::general_purpose::STANDARD.encode(tag.payload))
            }
            Scalar::Quantity => {
                let inner = fields_of(name, tag)?;
                let string = inner_bytes(&inner, name, 1)?;
                Value::String(string.map_or_else(|| "0".to_string(), text))
            }
            Scalar::Time | Scalar::MicroTime => {
                expect_wire(name, tag, LEN)?;
                // Go writes its zero time as an empty message.
                if tag.payload.is_empty() {
                    return Ok(None);
                }
                let inner = fields_of(name, tag)?;
                let seconds = inner_varint(&inner, name, 1)? as i64;
                // `nanos` is an int32.
                let nanos = i64::from(inner_varint(&inner, name, 2)? as u32 as i32);
                let micro = scalar == Scalar::MicroTime;
                Value::String(time_text(name, micro, seconds, nanos)?)
            }
            Scalar::Duration => {
                let inner = fields_of(name, tag)?;
                Value::String(format_go_duration(inner_varint(&inner, name, 1)? as i64))
            }
            Scalar::IntOrString => {
                let inner = fields_of(name, tag)?;
                match inner_varint(&inner, name, 1)? {
                    0 => {
                        // `intVal` is an int32.
                        let int = inner_varint(&inner, name, 2)? as u32 as i32;
                        Value::from(int)
                    }
                    1 => {
                        let string = inner_bytes(&inner, name, 3)?.unwrap_or_default();
                        Value::String(text(string))
                    }
                    other => return Err(format!("protobuf: {name}: IntOrString type {other}")),
                }
            }
            Scalar::RawJson => {
                let inner = fields_of(name, tag)?;
                let raw = inner_bytes(&inner, name, 1)?.unwrap_or_default();
                if raw.is_empty() {
                    return Ok(None);
                }
                serde_json::from_slice::<Value>(raw)
                    .map_err(|err| format!("protobuf: {name}: raw is not JSON: {err}"))?
            }
            Scalar::Message(index) => {
                expect_wire(name, tag, LEN)?;
                self.decode_message(index, tag.payload)?
            }
        };
        Ok(Some(value))
    }
}

/// The fields of a length-delimited well-known message.
fn fields_of<'a>(name: &str, tag: &Tag<'a>) -> Result<Vec<Tag<'a>>, String> {
    expect_wire(name, tag, LEN)?;
    read_tags(tag.payload).ok_or_else(|| malformed(name))
}

/// The items of a packed list of numbers or booleans.
fn unpack(scalar: Scalar, name: &str, bytes: &[u8], items: &mut Vec<Value>) -> Result<(), String> {
    match scalar {
        Scalar::Varint | Scalar::Bool => {
            let mut pos = 0;
            while pos < bytes.len() {
                let n = read_varint(bytes, &mut pos).ok_or_else(|| malformed(name))?;
                items.push(if scalar == Scalar::Bool {
                    Value::Bool(n != 0)
                } else {
                    Value::from(n as i64)
                });
            }
        }
        Scalar::Fixed64 => {
            let chunks = bytes.chunks_exact(8);
            if !chunks.remainder().is_empty() {
                return Err(malformed(name));
            }
            for chunk in chunks {
                let mut word = [0u8; 8];
                word.copy_from_slice(chunk);
                items.push(float(name, f64::from_le_bytes(word))?);
            }
        }
        Scalar::Fixed32 => {
            let chunks = bytes.chunks_exact(4);
            if !chunks.remainder().is_empty() {
                return Err(malformed(name));
            }
            for chunk in chunks {
                let mut word = [0u8; 4];
                word.copy_from_slice(chunk);
                items.push(float(name, f64::from(f32::from_le_bytes(word)))?);
            }
        }
        _ => return Err(malformed(name)),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use ::protobuf::Message;
    use k8s_rs_pb::api as pb;
    use serde_json::json;

    use super::super::encode::{put_key, put_len, put_varint};
    use super::super::{decode_object, encode_message_of, encode_object, envelope, wire_table};
    use super::*;

    /// The number of field `json` of `definition` in the table.
    fn number(definition: &str, json: &str) -> u32 {
        let table = wire_table();
        let index = table.message(definition).expect(definition);
        table.messages[index]
            .fields
            .iter()
            .find(|f| f.json.as_deref() == Some(json))
            .expect(json)
            .number
    }

    fn deployment() -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
            "spec": {
                "replicas": 0,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{
                    "name": "app", "image": "nginx", "ports": [{"containerPort": 80}],
                    "resources": {"limits": {"cpu": "250m"}}
                }]}},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}}
            },
            "status": {"replicas": 1, "conditions": [{"type": "Available", "status": "True",
                "lastUpdateTime": "2024-01-01T00:00:00Z", "lastTransitionTime": "2024-01-01T00:00:00Z"}]}
        })
    }

    #[test]
    fn encoded_objects_decode_to_their_json() {
        let status = json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Failure", "message": "configmaps \"x\" not found", "reason": "NotFound",
            "details": {"name": "x", "kind": "configmaps", "causes": [{"reason": "FieldValueInvalid", "field": "spec"}]},
            "code": 404
        });
        let review = json!({
            "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "metadata": {},
            "spec": {"user": "alice", "groups": ["dev"], "extra": {"scopes": ["a", "b"]},
                "resourceAttributes": {"verb": "get", "resource": "pods", "namespace": "default"}},
            "status": {"allowed": true, "reason": "ok"}
        });
        for object in [deployment(), status, review] {
            let body = encode_object(&object).expect("encodes");
            assert_eq!(decode_object(&body).expect("decodes"), object);
        }
    }

    #[test]
    fn packed_and_unpacked_lists_read_alike() {
        let object = json!({
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"securityContext": {"supplementalGroups": [1, 2, 300]}}
        });
        let unpacked = encode_object(&object).expect("encodes");
        let mut groups = Vec::new();
        for n in [1u64, 2, 300] {
            put_varint(&mut groups, n);
        }
        let mut context = Vec::new();
        let field = number(
            "io.k8s.api.core.v1.PodSecurityContext",
            "supplementalGroups",
        );
        put_len(&mut context, field, &groups);
        let mut spec = Vec::new();
        let field = number("io.k8s.api.core.v1.PodSpec", "securityContext");
        put_len(&mut spec, field, &context);
        let mut metadata = Vec::new();
        put_len(&mut metadata, 1, b"p");
        let mut pod = Vec::new();
        put_len(
            &mut pod,
            number("io.k8s.api.core.v1.Pod", "metadata"),
            &metadata,
        );
        put_len(&mut pod, number("io.k8s.api.core.v1.Pod", "spec"), &spec);
        let packed = envelope("v1", "Pod", &pod);
        assert_eq!(decode_object(&unpacked).expect("decodes"), object);
        assert_eq!(decode_object(&packed).expect("decodes"), object);
    }

    #[test]
    fn micro_times_keep_microseconds_and_times_whole_seconds() {
        let mut lease = pb::coordination::v1::Lease::new();
        let meta = lease.metadata.mut_or_insert_default();
        meta.name = Some("leader".into());
        let stamp = meta.creationTimestamp.mut_or_insert_default();
        stamp.seconds = Some(1_704_067_200);
        stamp.nanos = Some(500_000_000);
        let acquire = lease
            .spec
            .mut_or_insert_default()
            .acquireTime
            .mut_or_insert_default();
        acquire.seconds = Some(1_704_067_200);
        acquire.nanos = Some(123_456_789);
        let body = envelope(
            "coordination.k8s.io/v1",
            "Lease",
            &lease.write_to_bytes().expect("encodes"),
        );
        let object = decode_object(&body).expect("decodes");
        assert_eq!(
            object["metadata"],
            json!({"name": "leader", "creationTimestamp": "2024-01-01T00:00:00Z"})
        );
        assert_eq!(
            object["spec"],
            json!({"acquireTime": "2024-01-01T00:00:00.123456Z"})
        );
    }

    #[test]
    fn unknown_fields_are_skipped() {
        let object = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}});
        let mut raw = encode_message_of("v1", "ConfigMap", &object).expect("encodes");
        put_key(&mut raw, 99, VARINT);
        put_varint(&mut raw, 5);
        put_len(&mut raw, 98, b"zz");
        let decoded = decode_object(&envelope("v1", "ConfigMap", &raw)).expect("decodes");
        assert_eq!(decoded, object);
    }

    #[test]
    fn truncated_bodies_are_errors() {
        let object = deployment();
        let body = encode_object(&object).expect("encodes");
        let raw = encode_message_of("apps/v1", "Deployment", &object).expect("encodes");
        // The envelope ends with two empty strings (4 bytes) after `raw`.
        let raw_end = body.len() - 4;
        for cut in raw_end - raw.len()..raw_end {
            assert!(decode_object(&body[..cut]).is_err(), "cut at {cut}");
        }
        let table = wire_table();
        let index = table
            .kind_message("apps", "v1", "Deployment")
            .expect("a message");
        assert!(table.decode_message(index, &raw[..raw.len() - 1]).is_err());
    }

    #[test]
    fn garbage_is_an_error_never_a_panic() {
        let mut long_varint = b"k8s\0".to_vec();
        long_varint.extend([0xff; 11]);
        assert!(decode_object(&long_varint).is_err());
        // `metadata` as a varint; a length past the end.
        for raw in [&[0x08u8, 0x01][..], &[0x0a, 0x05, 0x01][..]] {
            assert!(decode_object(&envelope("v1", "ConfigMap", raw)).is_err());
        }
        // A raw document that is not JSON.
        let mut data = Vec::new();
        put_len(&mut data, 1, b"{nope");
        let mut raw = Vec::new();
        let field = number("io.k8s.api.apps.v1.ControllerRevision", "data");
        put_len(&mut raw, field, &data);
        let body = envelope("apps/v1", "ControllerRevision", &raw);
        assert!(decode_object(&body).unwrap_err().contains("data"));
        // A time out of range.
        let mut time = Vec::new();
        put_key(&mut time, 1, VARINT);
        put_varint(&mut time, i64::MAX as u64);
        let mut meta = Vec::new();
        put_len(&mut meta, 8, &time);
        let mut raw = Vec::new();
        put_len(&mut raw, 1, &meta);
        assert!(decode_object(&envelope("v1", "ConfigMap", &raw)).is_err());
        // Pseudo-random bytes under a few kinds: any answer but a panic.
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        for round in 0..600 {
            let len = round % 48;
            let raw: Vec<u8> = (0..len)
                .map(|_| {
                    state = state
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1);
                    (state >> 56) as u8
                })
                .collect();
            for (api_version, kind) in [("v1", "Pod"), ("apps/v1", "Deployment"), ("v1", "Node")] {
                let _ = decode_object(&envelope(api_version, kind, &raw));
            }
        }
    }
}
