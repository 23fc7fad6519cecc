//! Kubernetes JSON to protobuf wire bytes, guided by the [`WireTable`].
//!
//! Fields are written in field-number order, as Go's generated marshallers write them. A field
//! absent from the JSON (or `null`) is not written; Go writes its zero, which a decoder reads the
//! same way. Map entries are written in key order, as Go sorts them.

use base64::Engine;
use serde_json::{Map, Value};

use crate::catalog::go_duration::parse_go_duration;

use super::schema::{Field, Kind, Scalar, WireTable, FIXED32, FIXED64, LEN, VARINT};

pub(super) fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

pub(super) fn put_key(out: &mut Vec<u8>, number: u32, wire: u8) {
    put_varint(out, (u64::from(number) << 3) | u64::from(wire));
}

/// A length-delimited field (string, bytes or message).
pub(super) fn put_len(out: &mut Vec<u8>, number: u32, bytes: &[u8]) {
    put_key(out, number, LEN);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// A varint field holding a signed value (int32 and int64 both sign-extend to 64 bits).
fn put_int(out: &mut Vec<u8>, number: u32, value: i64) {
    put_key(out, number, VARINT);
    put_varint(out, value as u64);
}

impl WireTable {
    /// The wire bytes of the message at `index` for the JSON object `value`.
    pub(super) fn encode_message(&self, index: usize, value: &Value) -> Result<Vec<u8>, String> {
        let Value::Object(object) = value else {
            return Err("protobuf: expected an object".to_string());
        };
        let mut out = Vec::new();
        self.write_message(index, object, &mut out)?;
        Ok(out)
    }

    fn write_message(
        &self,
        index: usize,
        object: &Map<String, Value>,
        out: &mut Vec<u8>,
    ) -> Result<(), String> {
        for field in &self.messages[index].fields {
            match &field.json {
                // An embedded struct: its fields are the parent's JSON fields.
                None => {
                    if let Kind::One(Scalar::Message(child)) = field.kind {
                        let mut inner = Vec::new();
                        self.write_message(child, object, &mut inner)?;
                        put_len(out, field.number, &inner);
                    }
                }
                Some(name) => match object.get(name) {
                    None | Some(Value::Null) => {}
                    Some(value) => self.write_field(field, name, value, out)?,
                },
            }
        }
        Ok(())
    }

    fn write_field(
        &self,
        field: &Field,
        name: &str,
        value: &Value,
        out: &mut Vec<u8>,
    ) -> Result<(), String> {
        match (field.kind, value) {
            (Kind::Map(scalar), Value::Object(map)) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                for key in keys {
                    let mut entry = Vec::new();
                    put_len(&mut entry, 1, key.as_bytes());
                    let item = &map[key.as_str()];
                    if !item.is_null() {
                        self.write_scalar(2, scalar, name, item, &mut entry)?;
                    }
                    put_len(out, field.number, &entry);
                }
                Ok(())
            }
            (Kind::Map(_), _) => Err(format!("protobuf: {name}: expected an object")),
            (Kind::One(Scalar::RawJson), _) => {
                self.write_scalar(field.number, Scalar::RawJson, name, value, out)
            }
            (Kind::One(scalar), Value::Array(items)) => {
                for item in items.iter().filter(|item| !item.is_null()) {
                    self.write_scalar(field.number, scalar, name, item, out)?;
                }
                Ok(())
            }
            (Kind::One(scalar), _) => self.write_scalar(field.number, scalar, name, value, out),
        }
    }

    fn write_scalar(
        &self,
        number: u32,
        scalar: Scalar,
        name: &str,
        value: &Value,
        out: &mut Vec<u8>,
    ) -> Result<(), String> {
        let wrong = || format!("protobuf: {name}: unexpected value {value}");
        match scalar {
            Scalar::Varint | Scalar::Bool => {
                let n = match value {
                    Value::Bool(b) => i64::from(*b),
                    Value::Number(n) => integer(n).ok_or_else(wrong)?,
                    _ => return Err(wrong()),
                };
                put_int(out, number, n);
            }
            Scalar::Fixed64 => {
                let n = value.as_f64().ok_or_else(wrong)?;
                put_key(out, number, FIXED64);
                out.extend_from_slice(&n.to_le_bytes());
            }
            Scalar::Fixed32 => {
                let n = value.as_f64().ok_or_else(wrong)? as f32;
                put_key(out, number, FIXED32);
                out.extend_from_slice(&n.to_le_bytes());
            }
            Scalar::String => put_len(out, number, value.as_str().ok_or_else(wrong)?.as_bytes()),
            Scalar::Bytes => {
                let text = value.as_str().ok_or_else(wrong)?;
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(text)
                    .map_err(|err| format!("protobuf: {name}: {err}"))?;
                put_len(out, number, &bytes);
            }
            Scalar::Quantity => {
                let text = match value {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    _ => return Err(wrong()),
                };
                let mut inner = Vec::new();
                put_len(&mut inner, 1, text.as_bytes());
                put_len(out, number, &inner);
            }
            Scalar::Time | Scalar::MicroTime => {
                let text = value.as_str().ok_or_else(wrong)?;
                let time = chrono::DateTime::parse_from_rfc3339(text)
                    .map_err(|err| format!("protobuf: {name}: {err}"))?;
                let mut inner = Vec::new();
                put_int(&mut inner, 1, time.timestamp());
                put_int(&mut inner, 2, i64::from(time.timestamp_subsec_nanos()));
                put_len(out, number, &inner);
            }
            Scalar::Duration => {
                let nanos =
                    parse_go_duration(value.as_str().ok_or_else(wrong)?).map_err(|_| wrong())?;
                let mut inner = Vec::new();
                put_int(&mut inner, 1, nanos);
                put_len(out, number, &inner);
            }
            Scalar::IntOrString => {
                // The type (0 int, 1 string) and the value it names. Go also writes the other
                // value's zero; decoders read the value the type names.
                let mut inner = Vec::new();
                match value {
                    Value::Number(n) => {
                        put_int(&mut inner, 1, 0);
                        put_int(&mut inner, 2, integer(n).ok_or_else(wrong)?);
                    }
                    Value::String(s) => {
                        put_int(&mut inner, 1, 1);
                        put_len(&mut inner, 3, s.as_bytes());
                    }
                    _ => return Err(wrong()),
                }
                put_len(out, number, &inner);
            }
            Scalar::RawJson => {
                let raw = serde_json::to_vec(value).map_err(|err| err.to_string())?;
                let mut inner = Vec::new();
                put_len(&mut inner, 1, &raw);
                put_len(out, number, &inner);
            }
            Scalar::Message(index) => {
                let mut inner = Vec::new();
                match value {
                    Value::Object(object) => self.write_message(index, object, &mut inner)?,
                    // A message wrapping one list (`ExtraValue{items}`) whose JSON is the list.
                    Value::Array(_) => match self.messages[index].fields.as_slice() {
                        [only] => self.write_field(only, name, value, &mut inner)?,
                        _ => return Err(wrong()),
                    },
                    _ => return Err(wrong()),
                }
                put_len(out, number, &inner);
            }
        }
        Ok(())
    }
}

/// A JSON number as an integer (`2.0` counts; `2.5` does not).
fn integer(n: &serde_json::Number) -> Option<i64> {
    n.as_i64()
        .or_else(|| n.as_u64().map(|u| u as i64))
        .or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.2e18)
                .map(|f| f as i64)
        })
}
