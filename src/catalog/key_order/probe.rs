//! Reads the field order of `k8s-rs-pb`'s message structs through their derived `Deserialize`.
//!
//! The structs declare their fields in the `.proto` order (which is Go's), and serde's derive hands
//! that list to `deserialize_struct`. The crate's descriptors cannot be used for this: their
//! generated `file_descriptor()` functions name themselves as their own dependencies and deadlock.
//!
//! [`Probe`] is a deserializer that answers every request with a harmless value, recording each
//! struct it is asked for (its full Rust path, from the derived visitor's type name), its fields,
//! and for each field the struct it holds, directly, as list items or as map values.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// How a field holds a struct.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::catalog) enum Holding {
    Direct,
    Items,
    Values,
}

/// A recorded struct: its fields in declaration order, each with the struct it holds, if any.
#[derive(Debug, Default)]
pub(in crate::catalog) struct Recorded {
    pub fields: Vec<(&'static str, Option<(String, Holding)>)>,
}

/// Every struct met while probing, by Rust path (`k8s_rs_pb::v1_33::api::core::v1::Pod`).
#[derive(Default)]
pub(in crate::catalog) struct Probed {
    pub structs: HashMap<String, Recorded>,
}

/// The field being filled: its struct and position, and what the value turned out to be.
struct Slot {
    owner: String,
    field: usize,
    holding: Holding,
    touched: bool,
}

#[derive(Default)]
struct State {
    probed: Probed,
    slots: Vec<Slot>,
}

#[derive(Debug)]
pub(in crate::catalog) struct ProbeError(String);

impl fmt::Display for ProbeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ProbeError {}

impl de::Error for ProbeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self(msg.to_string())
    }
}

/// Probes `T` and everything it holds into `into`.
pub(in crate::catalog) fn probe<'de, T: serde::Deserialize<'de>>(into: &mut Probed) {
    let state = RefCell::new(State {
        probed: std::mem::take(into),
        slots: Vec::new(),
    });
    // A failure only means a value the probe could not fake; what was recorded stays.
    let _ = T::deserialize(Probe { state: &state });
    *into = state.into_inner().probed;
}

/// Probes `T` as [`probe`] does and keeps the value built: every struct met for the first time in
/// `into` has each of its fields set (a list to one item, a map to one entry); a struct met before
/// is empty. `None` when some value could not be faked.
pub(in crate::catalog) fn instance<'de, T: serde::Deserialize<'de>>(
    into: &mut Probed,
) -> Option<T> {
    let state = RefCell::new(State {
        probed: std::mem::take(into),
        slots: Vec::new(),
    });
    let value = T::deserialize(Probe { state: &state }).ok();
    *into = state.into_inner().probed;
    value
}

/// The Rust path of the struct a derived visitor builds: `<impl Deserialize for PATH>::...`.
fn struct_path<V>(name: &'static str) -> String {
    let visitor = std::any::type_name::<V>();
    visitor
        .split_once(" for ")
        .and_then(|(_, rest)| rest.split_once(">::deserialize"))
        .map(|(path, _)| path.to_string())
        .unwrap_or_else(|| name.to_string())
}

/// A sample string every string-typed field accepts (Time parses it, Quantity keeps it).
const SAMPLE: &str = "1970-01-01T00:00:00Z";

#[derive(Clone, Copy)]
struct Probe<'s> {
    state: &'s RefCell<State>,
}

impl Probe<'_> {
    /// Notes how the current slot's value holds what comes next.
    fn hold(&self, holding: Holding) {
        if let Some(slot) = self.state.borrow_mut().slots.last_mut() {
            if !slot.touched {
                slot.holding = holding;
                slot.touched = true;
            }
        }
    }
}

macro_rules! scalar {
    ($($method:ident => $visit:ident($value:expr)),* $(,)?) => {
        $(fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ProbeError> {
            visitor.$visit($value)
        })*
    };
}

impl<'de> Deserializer<'de> for Probe<'_> {
    type Error = ProbeError;

    scalar! {
        deserialize_any => visit_str(SAMPLE),
        deserialize_bool => visit_bool(false),
        deserialize_i8 => visit_i8(0),
        deserialize_i16 => visit_i16(0),
        deserialize_i32 => visit_i32(0),
        deserialize_i64 => visit_i64(0),
        deserialize_u8 => visit_u8(0),
        deserialize_u16 => visit_u16(0),
        deserialize_u32 => visit_u32(0),
        deserialize_u64 => visit_u64(0),
        deserialize_f32 => visit_f32(0.0),
        deserialize_f64 => visit_f64(0.0),
        deserialize_char => visit_char('a'),
        deserialize_str => visit_str(SAMPLE),
        deserialize_string => visit_str(SAMPLE),
        deserialize_bytes => visit_bytes(&[]),
        deserialize_byte_buf => visit_bytes(&[]),
        deserialize_identifier => visit_str(SAMPLE),
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ProbeError> {
        visitor.visit_unit()
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ProbeError> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ProbeError> {
        visitor.visit_unit()
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ProbeError> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ProbeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ProbeError> {
        self.hold(Holding::Items);
        visitor.visit_seq(OneItem {
            probe: self,
            done: false,
        })
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ProbeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ProbeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ProbeError> {
        self.hold(Holding::Values);
        visitor.visit_map(Fields {
            probe: self,
            owner: None,
            keys: &["k"],
            next: 0,
        })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ProbeError> {
        let path = struct_path::<V>(name);
        let known = {
            let mut state = self.state.borrow_mut();
            if let Some(slot) = state.slots.last_mut() {
                let (owner, field, holding) = (slot.owner.clone(), slot.field, slot.holding);
                slot.touched = true;
                if let Some(recorded) = state.probed.structs.get_mut(&owner) {
                    if let Some(entry) = recorded.fields.get_mut(field) {
                        entry.1.get_or_insert((path.clone(), holding));
                    }
                }
            }
            let known = state.probed.structs.contains_key(&path);
            if !known {
                state.probed.structs.insert(
                    path.clone(),
                    Recorded {
                        fields: fields.iter().map(|f| (*f, None)).collect(),
                    },
                );
            }
            known
        };
        let keys: &'static [&'static str] = if known { &[] } else { fields };
        visitor.visit_map(Fields {
            probe: self,
            owner: Some(path),
            keys,
            next: 0,
        })
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, ProbeError> {
        Err(de::Error::custom("enums are not probed"))
    }
}

/// A list of one probed item.
struct OneItem<'s> {
    probe: Probe<'s>,
    done: bool,
}

impl<'de> SeqAccess<'de> for OneItem<'_> {
    type Error = ProbeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, ProbeError> {
        if std::mem::replace(&mut self.done, true) {
            return Ok(None);
        }
        seed.deserialize(self.probe).map(Some)
    }
}

/// The fields of a struct being probed (or the one entry of a map).
struct Fields<'s> {
    probe: Probe<'s>,
    owner: Option<String>,
    keys: &'static [&'static str],
    next: usize,
}

impl<'de> MapAccess<'de> for Fields<'_> {
    type Error = ProbeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ProbeError> {
        let Some(key) = self.keys.get(self.next) else {
            return Ok(None);
        };
        seed.deserialize(de::value::BorrowedStrDeserializer::<ProbeError>::new(key))
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, ProbeError> {
        let field = self.next;
        self.next += 1;
        let Some(owner) = self.owner.clone() else {
            return seed.deserialize(self.probe);
        };
        self.probe.state.borrow_mut().slots.push(Slot {
            owner,
            field,
            holding: Holding::Direct,
            touched: false,
        });
        let value = seed.deserialize(self.probe);
        self.probe.state.borrow_mut().slots.pop();
        value
    }
}
