//! Typed round trips of JSON objects, and the strict-decoding reports built on them.
//!
//! kube-apiserver decodes every body into the Go struct of its kind: fields the struct does not know
//! are dropped, fields of the wrong type fail the request. [`Codec`] does the same through the
//! k8s-openapi (v1_33) type of the kind. With `fieldValidation=Strict` upstream rejects unknown and
//! duplicate fields (`strict decoding error: unknown field "spec.foo", duplicate field "x"`); with
//! `Warn` it returns them as warnings. [`dropped_fields`], [`duplicate_fields`] and
//! [`unknown_field_message`]/[`duplicate_field_message`] give exactly those paths and messages.

use std::collections::HashSet;
use std::fmt::{self, Write as _};
use std::sync::Arc;

use serde::de::{DeserializeOwned, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Serialize;
use serde_json::Value;

/// The function behind a [`Codec`].
pub type CodecFn = fn(Value) -> Result<Value, serde_json::Error>;

/// The in-place form of a [`CodecFn`] (see [`Codec::decode_from`]).
type DecodeFn = fn(&mut Value) -> Result<Value, serde_json::Error>;

/// Round-trips an object through a typed k8s-openapi struct, or through a run-time
/// [`ObjectCodec`] (a custom resource's structural schema).
///
/// Contract of [`Codec::round_trip`]:
/// - MUST fill a missing, null or empty `apiVersion`/`kind` with the type's own (as upstream's
///   decoder defaults them from the endpoint), and MUST fail when they name another type (callers
///   that want upstream's mismatch messages check before calling).
/// - MUST drop fields the type does not know, at any depth, and fail on wrongly-typed values
///   (a string for an integer, invalid base64 for bytes, a bad timestamp, ...).
/// - MUST keep free-form maps (labels, annotations, data) and embedded raw JSON as they are.
#[derive(Clone)]
pub struct Codec(CodecImpl);

#[derive(Clone)]
enum CodecImpl {
    Typed(CodecFn, DecodeFn),
    Object(Arc<dyn ObjectCodec>),
}

/// A codec built at run time: custom resources decode through their CRD version's schema
/// (upstream prunes unknown fields and applies defaults while decoding). Implementations follow
/// [`Codec`]'s contract for what their schema knows.
pub trait ObjectCodec: Send + Sync + 'static {
    /// Decodes `object` as the type knows it: unknown fields dropped, defaults applied.
    fn round_trip(&self, object: Value) -> Result<Value, serde_json::Error>;

    /// Applies to an object read from storage what upstream's storage decoder applies to it:
    /// for a custom resource, pruning and defaulting by the schema as it is now (a default added
    /// after the object was written shows on read). SHOULD leave `metadata` alone and MUST NOT
    /// fail. The default does nothing.
    fn decode_stored(&self, _object: &mut Value) {}
}

impl Codec {
    /// The codec of k8s-openapi type `T`.
    pub const fn of<T>() -> Self
    where
        T: k8s_openapi::Resource + DeserializeOwned + Serialize,
    {
        Codec(CodecImpl::Typed(round_trip::<T>, decode_from::<T>))
    }

    /// A codec that returns its input unchanged (for kinds without a typed struct).
    pub const fn identity() -> Self {
        Codec(CodecImpl::Typed(identity, identity_from))
    }

    /// A codec backed by a run-time [`ObjectCodec`].
    pub fn object(codec: Arc<dyn ObjectCodec>) -> Self {
        Codec(CodecImpl::Object(codec))
    }

    /// [`ObjectCodec::from_storage`]; nothing for typed codecs (their stored form is complete).
    pub fn decode_stored(&self, object: &mut Value) {
        if let CodecImpl::Object(codec) = &self.0 {
            codec.decode_stored(object);
        }
    }

    /// Whether unknown fields are pruned after the JSON decoding (a custom resource's schema), not
    /// found by the JSON decoder itself (a typed struct): upstream then lists the decoder's
    /// duplicate fields before the unknown ones, instead of all in document order.
    pub fn prunes_after_decoding(&self) -> bool {
        matches!(self.0, CodecImpl::Object(_))
    }

    /// Decodes `object` into the typed struct and encodes it back.
    pub fn round_trip(&self, object: Value) -> Result<Value, serde_json::Error> {
        match &self.0 {
            CodecImpl::Typed(f, _) => f(object),
            CodecImpl::Object(codec) => codec.round_trip(object),
        }
    }

    /// [`Codec::round_trip`] of a document the caller keeps, without copying it for typed codecs:
    /// the typed struct is read from `document`, which only gets the missing `apiVersion`/`kind`
    /// the round trip fills in (so [`dropped_fields`] of it and the answer is unchanged).
    pub fn decode_from(&self, document: &mut Value) -> Result<Value, serde_json::Error> {
        match &self.0 {
            CodecImpl::Typed(_, f) => f(document),
            CodecImpl::Object(codec) => codec.round_trip(document.clone()),
        }
    }
}

impl PartialEq for Codec {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (CodecImpl::Typed(a, _), CodecImpl::Typed(b, _)) => std::ptr::fn_addr_eq(*a, *b),
            (CodecImpl::Object(a), CodecImpl::Object(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl Eq for Codec {}

impl fmt::Debug for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Codec")
    }
}

fn identity(object: Value) -> Result<Value, serde_json::Error> {
    Ok(object)
}

fn identity_from(object: &mut Value) -> Result<Value, serde_json::Error> {
    Ok(object.clone())
}

/// Fills a missing, null or empty `apiVersion`/`kind` of an object with the given ones (the
/// first rule of [`Codec`]'s contract).
pub fn fill_type_meta(map: &mut serde_json::Map<String, Value>, api_version: &str, kind: &str) {
    for (key, default) in [("apiVersion", api_version), ("kind", kind)] {
        let missing = match map.get(key) {
            None | Some(Value::Null) => true,
            Some(Value::String(s)) => s.is_empty(),
            Some(_) => false,
        };
        if missing {
            map.insert(key.to_string(), Value::String(default.to_string()));
        }
    }
}

fn round_trip<T>(mut object: Value) -> Result<Value, serde_json::Error>
where
    T: k8s_openapi::Resource + DeserializeOwned + Serialize,
{
    if let Value::Object(map) = &mut object {
        fill_type_meta(map, T::API_VERSION, T::KIND);
    }
    let zero_times = fill_zero_condition_times(&mut object);
    let typed: T = serde_json::from_value(object)?;
    let mut decoded = serde_json::to_value(&typed)?;
    restore_zero_condition_times(&mut decoded, &zero_times);
    check_quantities(T::KIND, &decoded)?;
    Ok(decoded)
}

fn decode_from<T>(object: &mut Value) -> Result<Value, serde_json::Error>
where
    T: k8s_openapi::Resource + DeserializeOwned + Serialize,
{
    if let Value::Object(map) = object {
        fill_type_meta(map, T::API_VERSION, T::KIND);
    }
    if lacks_condition_times(object) {
        // Rare: the zero times are filled into a copy, so `object` keeps what was sent.
        return round_trip::<T>(object.clone());
    }
    let typed: T = <T as serde::Deserialize>::deserialize(&*object)?;
    let decoded = serde_json::to_value(&typed)?;
    check_quantities(T::KIND, &decoded)?;
    Ok(decoded)
}

/// Whether [`fill_zero_condition_times`] would fill anything in.
fn lacks_condition_times(object: &Value) -> bool {
    let Some(Value::Array(conditions)) = object.pointer("/status/conditions") else {
        return false;
    };
    conditions.iter().any(|condition| {
        condition.as_object().is_some_and(|fields| {
            matches!(fields.get("lastTransitionTime"), None | Some(Value::Null))
        })
    })
}

/// Go's zero `metav1.Time`, which Go writes as `null`.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// Upstream decodes a condition's missing or `null` `lastTransitionTime` as the zero time (Go's
/// `metav1.Time` is a struct, not a pointer), where k8s-openapi's `Condition` requires a
/// timestamp: such entries of `status.conditions` get the zero time for the typed decode.
/// Answers their indexes.
fn fill_zero_condition_times(object: &mut Value) -> Vec<usize> {
    let Some(Value::Array(conditions)) = object.pointer_mut("/status/conditions") else {
        return Vec::new();
    };
    let mut filled = Vec::new();
    for (index, condition) in conditions.iter_mut().enumerate() {
        let Value::Object(fields) = condition else {
            continue;
        };
        if matches!(fields.get("lastTransitionTime"), None | Some(Value::Null)) {
            fields.insert("lastTransitionTime".into(), ZERO_TIME.into());
            filled.push(index);
        }
    }
    filled
}

/// Writes the zero times [`fill_zero_condition_times`] filled in as Go writes them: `null`.
fn restore_zero_condition_times(object: &mut Value, filled: &[usize]) {
    if filled.is_empty() {
        return;
    }
    let Some(Value::Array(conditions)) = object.pointer_mut("/status/conditions") else {
        return;
    };
    for index in filled {
        if let Some(Value::Object(fields)) = conditions.get_mut(*index) {
            if let Some(time) = fields.get_mut("lastTransitionTime") {
                *time = Value::Null;
            }
        }
    }
}

/// Upstream decodes resource quantities into `resource.Quantity`, which refuses text that is not
/// a quantity (`quantities must match the regular expression ...`); k8s-openapi keeps them as
/// strings, so the quantities of the kinds users write them in are parsed here.
fn check_quantities(kind: &str, object: &Value) -> Result<(), serde_json::Error> {
    use crate::api::quantity::{first_pod_spec_error, parse, quantity_text};
    let pod_spec = match kind {
        "Pod" => object.get("spec"),
        "PodTemplate" => object.pointer("/template/spec"),
        "Deployment"
        | "ReplicaSet"
        | "StatefulSet"
        | "DaemonSet"
        | "Job"
        | "ReplicationController" => object.pointer("/spec/template/spec"),
        "CronJob" => object.pointer("/spec/jobTemplate/spec/template/spec"),
        _ => None,
    };
    let error = match kind {
        "PersistentVolumeClaim" => ["requests", "limits"]
            .iter()
            .filter_map(|k| object.pointer(&format!("/spec/resources/{k}")))
            .filter_map(Value::as_object)
            .flat_map(|m| m.values())
            .filter_map(quantity_text)
            .find_map(|text| parse(&text).err()),
        "ResourceQuota" => object
            .pointer("/spec/hard")
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|m| m.values())
            .filter_map(quantity_text)
            .find_map(|text| parse(&text).err()),
        _ => pod_spec.and_then(first_pod_spec_error),
    };
    match error {
        Some(message) => Err(serde::de::Error::custom(message)),
        None => Ok(()),
    }
}

/// The paths of fields present in `before` but gone from `after` (its round trip), in upstream's
/// notation: `spec.foo`, `spec.containers[0].bar`, `metadata.baz`.
///
/// Fields whose value was `null` are not reported: a null known field also vanishes in a round trip.
pub fn dropped_fields(before: &Value, after: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut path = String::new();
    walk_dropped(before, after, &mut path, &mut out);
    out
}

fn walk_dropped(before: &Value, after: &Value, path: &mut String, out: &mut Vec<String>) {
    match (before, after) {
        (Value::Object(b), Value::Object(a)) => {
            for (key, value) in b {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                match a.get(key) {
                    Some(kept) => walk_dropped(value, kept, path, out),
                    None if !value.is_null() => out.push(path.clone()),
                    None => {}
                }
                path.truncate(len);
            }
        }
        (Value::Array(b), Value::Array(a)) => {
            for (i, (value, kept)) in b.iter().zip(a).enumerate() {
                let len = path.len();
                let _ = write!(path, "[{i}]");
                walk_dropped(value, kept, path, out);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// Upstream's text for one unknown field: `unknown field "spec.foo"`.
pub fn unknown_field_message(path: &str) -> String {
    format!("unknown field \"{path}\"")
}

/// Upstream's text for one duplicate field: `duplicate field "metadata.name"`.
pub fn duplicate_field_message(path: &str) -> String {
    format!("duplicate field \"{path}\"")
}

/// The paths of keys that appear more than once in the same JSON object of `body`, in document
/// order (`metadata.name`, `spec.containers[0].image`). A body that is not valid JSON gives an error.
pub fn duplicate_fields(body: &[u8]) -> Result<Vec<String>, serde_json::Error> {
    Ok(key_occurrences(body)?
        .into_iter()
        .filter(|(_, repeat)| *repeat)
        .map(|(path, _)| path)
        .collect())
}

/// The scalar visits of a `Visitor<Value = ()>` that only walks the keys of a document: every
/// scalar is accepted and skipped.
macro_rules! accept_scalars {
    () => {
        fn visit_bool<E>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
    };
}
pub(crate) use accept_scalars;

/// Parses a JSON document as `serde_json::from_slice` does (a repeated key: the last wins), and
/// tells whether any object of it repeats a key.
pub fn parse_json_document(body: &[u8]) -> Result<(Value, bool), serde_json::Error> {
    let mut repeats = false;
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = ValueScan {
        repeats: &mut repeats,
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok((value, repeats))
}

/// Builds a JSON value as serde_json's own `Value` visitor does, noting repeated keys.
struct ValueScan<'a> {
    repeats: &'a mut bool,
}

impl<'de> DeserializeSeed<'de> for ValueScan<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueScan<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any valid JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        self.deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(ValueScan {
            repeats: &mut *self.repeats,
        })? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut values = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(ValueScan {
                repeats: &mut *self.repeats,
            })?;
            if values.insert(key, value).is_some() {
                *self.repeats = true;
            }
        }
        Ok(Value::Object(values))
    }
}

/// Every key of every JSON object of `body` in document order, as its path and whether it
/// repeats an earlier key of the same object. A body that is not valid JSON gives an error.
pub fn key_occurrences(body: &[u8]) -> Result<Vec<(String, bool)>, serde_json::Error> {
    let mut out = Vec::new();
    let mut de = serde_json::Deserializer::from_slice(body);
    DuplicateScan {
        path: String::new(),
        out: &mut out,
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok(out)
}

/// Walks any JSON value, recording its keys under `path`.
struct DuplicateScan<'a> {
    path: String,
    out: &'a mut Vec<(String, bool)>,
}

impl<'de> DeserializeSeed<'de> for DuplicateScan<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl DuplicateScan<'_> {
    fn child(&mut self, segment: &str, is_index: bool) -> DuplicateScan<'_> {
        let path = if is_index {
            format!("{}{segment}", self.path)
        } else if self.path.is_empty() {
            segment.to_string()
        } else {
            format!("{}.{segment}", self.path)
        };
        DuplicateScan {
            path,
            out: self.out,
        }
    }
}

impl<'de> Visitor<'de> for DuplicateScan<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    accept_scalars!();

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0usize;
        loop {
            let segment = format!("[{index}]");
            if seq.next_element_seed(self.child(&segment, true))?.is_none() {
                return Ok(());
            }
            index += 1;
        }
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let child = self.child(&key, false);
            let repeat = !seen.insert(key);
            child.out.push((child.path.clone(), repeat));
            map.next_value_seed(child)?;
        }
        Ok(())
    }
}
