//! Byte layouts of the column families (see the README for the overview).
//!
//! * `kv`:      `key` -> `be(create_rev) be(mod_rev) value`
//! * `history`: `esc(key) 0x00 0x01 be(rev)` -> `be(create_rev) flag value` (flag 0: put, 1: delete)
//! * `log`:     `be(rev)` -> `kind be(create_rev) be(prev_rev) key` (`prev_rev` 0 for a create)
//! * `meta`:    `current` / `compacted` -> `be(rev)`
//! * `expiry`:  `be(deadline_ms) key` -> `be(mod_rev)` (see `expiry.rs`)
//!
//! `esc` doubles as an order-preserving, prefix-free escape: each `0x00` byte becomes `0x00 0xff`
//! and the key ends with `0x00 0x01`. So history entries sort by key (byte-wise), then revision, and
//! the entries of every key starting with `p` are exactly those starting with `esc(p)` (no
//! terminator).

use apiary_storage::{Error, EventKind, Result, Revision};

pub(crate) const CF_KV: &str = "kv";
pub(crate) const CF_HISTORY: &str = "history";
pub(crate) const CF_LOG: &str = "log";
pub(crate) const CF_META: &str = "meta";
pub(crate) const CF_EXPIRY: &str = "expiry";
pub(crate) const META_CURRENT: &[u8] = b"current";
pub(crate) const META_COMPACTED: &[u8] = b"compacted";

pub(crate) fn be(rev: Revision) -> [u8; 8] {
    rev.to_be_bytes()
}

fn read_rev(bytes: &[u8], what: &str) -> Result<Revision> {
    let raw: [u8; 8] = bytes
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| corrupt(what))?;
    Ok(Revision::from_be_bytes(raw))
}

pub(crate) fn corrupt(what: &str) -> Error {
    Error::Internal(format!("rocksdb: corrupt {what} entry"))
}

/// A revision stored in `meta` (absent means 0).
pub(crate) fn decode_meta(value: Option<&[u8]>) -> Result<Revision> {
    value.map_or(Ok(0), |v| read_rev(v, "meta"))
}

/// The current state of a key (`kv` value).
#[derive(Clone, Debug)]
pub(crate) struct Current {
    pub create_rev: Revision,
    pub mod_rev: Revision,
    pub value: bytes::Bytes,
}

pub(crate) fn encode_current(create_rev: Revision, mod_rev: Revision, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + value.len());
    out.extend_from_slice(&be(create_rev));
    out.extend_from_slice(&be(mod_rev));
    out.extend_from_slice(value);
    out
}

pub(crate) fn decode_current(bytes: &[u8]) -> Result<Current> {
    Ok(Current {
        create_rev: read_rev(bytes, "kv")?,
        mod_rev: read_rev(bytes.get(8..).unwrap_or_default(), "kv")?,
        value: bytes::Bytes::copy_from_slice(&bytes[16..]),
    })
}

/// `esc(key)` without the terminator: the history prefix of every key starting with `key`.
pub(crate) fn escape(key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.len() + 10);
    for &byte in key {
        out.push(byte);
        if byte == 0 {
            out.push(0xff);
        }
    }
    out
}

/// The `history` key of `key` at `rev`.
pub(crate) fn history_key(key: &[u8], rev: Revision) -> Vec<u8> {
    let mut out = escape(key);
    out.extend_from_slice(&[0x00, 0x01]);
    out.extend_from_slice(&be(rev));
    out
}

/// Splits a `history` key into the user key and the revision.
pub(crate) fn decode_history_key(bytes: &[u8]) -> Result<(Vec<u8>, Revision)> {
    let mut key = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1)) {
            (0, Some(0xff)) => key.push(0),
            (0, Some(0x01)) => return Ok((key, read_rev(&bytes[i + 2..], "history key")?)),
            (0, _) => return Err(corrupt("history key")),
            (byte, _) => {
                key.push(byte);
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    Err(corrupt("history key"))
}

/// One `history` value: the key's create revision and its value, or a deletion.
pub(crate) struct Version {
    pub create_rev: Revision,
    /// `None` for a deletion (tombstone).
    pub value: Option<bytes::Bytes>,
}

pub(crate) fn encode_version(create_rev: Revision, value: Option<&[u8]>) -> Vec<u8> {
    let mut out = Vec::with_capacity(9 + value.map_or(0, <[u8]>::len));
    out.extend_from_slice(&be(create_rev));
    out.push(u8::from(value.is_none()));
    out.extend_from_slice(value.unwrap_or_default());
    out
}

pub(crate) fn decode_version(bytes: &[u8]) -> Result<Version> {
    let create_rev = read_rev(bytes, "history")?;
    match bytes.get(8) {
        Some(0) => Ok(Version {
            create_rev,
            value: Some(bytes::Bytes::copy_from_slice(&bytes[9..])),
        }),
        Some(1) => Ok(Version {
            create_rev,
            value: None,
        }),
        _ => Err(corrupt("history")),
    }
}

/// One `log` entry: what happened at a revision. Values live in `history`.
#[derive(Clone, Debug)]
pub(crate) struct LogEntry {
    pub kind: EventKind,
    pub create_rev: Revision,
    /// The mod revision the key had before this write; 0 for a create.
    pub prev_rev: Revision,
    pub key: Vec<u8>,
}

pub(crate) fn encode_log(entry: &LogEntry) -> Vec<u8> {
    let mut out = Vec::with_capacity(17 + entry.key.len());
    out.push(match entry.kind {
        EventKind::Create => 0,
        EventKind::Update => 1,
        EventKind::Delete => 2,
    });
    out.extend_from_slice(&be(entry.create_rev));
    out.extend_from_slice(&be(entry.prev_rev));
    out.extend_from_slice(&entry.key);
    out
}

pub(crate) fn decode_log(bytes: &[u8]) -> Result<LogEntry> {
    let kind = match bytes.first() {
        Some(0) => EventKind::Create,
        Some(1) => EventKind::Update,
        Some(2) => EventKind::Delete,
        _ => return Err(corrupt("log")),
    };
    if bytes.len() < 17 {
        return Err(corrupt("log"));
    }
    Ok(LogEntry {
        kind,
        create_rev: read_rev(&bytes[1..], "log")?,
        prev_rev: read_rev(&bytes[9..], "log")?,
        key: bytes[17..].to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_keys_sort_by_key_then_revision() {
        let keys: [&[u8]; 6] = [b"", b"\x00", b"\x00\x00", b"\x00\x01", b"a", b"a\x00b"];
        let mut encoded = Vec::new();
        for key in keys {
            for rev in [1, 2, 300] {
                encoded.push((history_key(key, rev), key.to_vec(), rev));
            }
        }
        let mut sorted = encoded.clone();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            sorted, encoded,
            "encoded order must be (key, revision) order"
        );
        for (enc, key, rev) in encoded {
            assert_eq!(
                decode_history_key(&enc).expect("decode"),
                (key.clone(), rev)
            );
            assert!(enc.starts_with(&escape(&key)));
        }
        assert!(!history_key(b"a0", 1).starts_with(&escape(b"a/")));
    }

    #[test]
    fn values_round_trip() {
        let c = decode_current(&encode_current(3, 7, b"xyz")).expect("current");
        assert_eq!((c.create_rev, c.mod_rev, &c.value[..]), (3, 7, &b"xyz"[..]));
        let v = decode_version(&encode_version(3, None)).expect("tombstone");
        assert!(v.value.is_none());
        let entry = LogEntry {
            kind: EventKind::Update,
            create_rev: 2,
            prev_rev: 5,
            key: b"k\x00".to_vec(),
        };
        let back = decode_log(&encode_log(&entry)).expect("log");
        assert_eq!(
            (back.kind, back.create_rev, back.prev_rev, back.key),
            (entry.kind, 2, 5, entry.key)
        );
        assert!(decode_log(b"\x01short").is_err());
    }
}
