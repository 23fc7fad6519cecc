//! Repeated keys in YAML bodies, as upstream sees them. Upstream converts YAML with
//! sigs.k8s.io/yaml: a lenient conversion keeps the last of repeated keys, and the strict one
//! (for `fieldValidation` Strict or Warn) reports each repeat as yaml.v2 does,
//! `line 5: key "foo" already set in map`, under `yaml: unmarshal errors:`.
//!
//! serde_yaml refuses repeated keys and reports only the line of the mapping holding them, so
//! [`repeated_keys`] finds them with a scan that stops at each new repeat and then locates the
//! repeated key's line from the mapping's position (block mappings: the n-th line at the
//! mapping's indentation; flow mappings: the mapping's line).

use std::collections::HashMap;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};

/// yaml.v2's header of its strict errors.
pub const UNMARSHAL_ERRORS: &str = "yaml: unmarshal errors:";

/// Parses a YAML document into JSON, keeping the last value of a repeated key (upstream's
/// lenient conversion). Fails as serde_yaml does on anything else.
pub fn parse_last_wins(bytes: &[u8]) -> Result<serde_yaml::Value, serde_yaml::Error> {
    LastWins.deserialize(serde_yaml::Deserializer::from_slice(bytes))
}

/// The repeated keys of a YAML document, as yaml.v2's strict errors: `line N: key "k" already
/// set in map`, one per repeat, in the order yaml.v2 reports them (each after its value is
/// decoded, so repeats nested in that value come first; the line is the value's). Empty when
/// there are none (or the document does not parse; its parse error is reported elsewhere).
pub fn repeated_keys(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let mut known: HashMap<(usize, usize), usize> = HashMap::new();
    // Each pass stops at the first repeat not yet located; a document has few. The pass that
    // goes through lists them all in yaml.v2's order.
    for _ in 0..100 {
        let mut scan = Scan {
            known: &known,
            mappings: 0,
            finished: Vec::new(),
        };
        let err = match (&mut scan).deserialize(serde_yaml::Deserializer::from_str(&text)) {
            Ok(()) => {
                return scan
                    .finished
                    .into_iter()
                    .map(|(at, key)| format!("line {}: key {key} already set in map", known[&at]))
                    .collect();
            }
            Err(err) => err,
        };
        let message = err.to_string();
        let (Some(found), Some(location)) = (Found::parse(&message), err.location()) else {
            break;
        };
        let line = key_line(&text, location.line(), location.column(), found.position);
        known.insert((found.mapping, found.position), value_line(&text, line));
    }
    Vec::new()
}

/// The marker a scan fails with: `\u{1}<mapping> <position>\u{1}`.
struct Found {
    mapping: usize,
    position: usize,
}

impl Found {
    fn message(&self) -> String {
        format!("\u{1}{} {}\u{1}", self.mapping, self.position)
    }

    fn parse(message: &str) -> Option<Self> {
        let start = message.find('\u{1}')? + 1;
        let end = start + message[start..].find('\u{1}')?;
        let (mapping, position) = message[start..end].split_once(' ')?;
        Some(Self {
            mapping: mapping.parse().ok()?,
            position: position.parse().ok()?,
        })
    }
}

/// The 1-based line of the value of the block mapping key on `line`: the next line with content
/// when the key's line ends after its `:` (a nested block), else that line.
fn value_line(text: &str, line: usize) -> usize {
    let lines: Vec<&str> = text.lines().collect();
    let Some(key) = lines.get(line.saturating_sub(1)) else {
        return line;
    };
    let key = key.split(" #").next().unwrap_or_default().trim_end();
    if !key.ends_with(':') {
        return line;
    }
    lines
        .iter()
        .enumerate()
        .skip(line)
        .find(|(_, l)| {
            let t = l.trim_start();
            !t.is_empty() && !t.starts_with('#')
        })
        .map_or(line, |(i, _)| i + 1)
}

/// The 1-based line of the `position`-th key of the mapping starting at `line`/`column`
/// (1-based, as serde_yaml reports them).
fn key_line(text: &str, line: usize, column: usize, position: usize) -> usize {
    let lines: Vec<&str> = text.lines().collect();
    let Some(first) = lines.get(line.saturating_sub(1)) else {
        return line;
    };
    let indent = column.saturating_sub(1);
    if first
        .get(indent..)
        .is_some_and(|rest| rest.starts_with('{'))
    {
        return line;
    }
    let mut seen = 0;
    for (i, text) in lines.iter().enumerate().skip(line) {
        let trimmed = text.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let at = text.len() - trimmed.len();
        if at < indent || trimmed.starts_with("---") || trimmed.starts_with("...") {
            break;
        }
        if at == indent && !trimmed.starts_with("- ") && trimmed != "-" {
            seen += 1;
            if seen == position {
                return i + 1;
            }
        }
    }
    line
}

/// Walks a document, failing at the first repeated key not in `known` (mapping number, key
/// position) with a [`Found`] marker.
struct Scan<'a> {
    known: &'a HashMap<(usize, usize), usize>,
    /// Mappings entered so far, in document order.
    mappings: usize,
    /// The known repeats (mapping number, key position) and their keys, as their values end.
    finished: Vec<((usize, usize), String)>,
}

impl<'de> DeserializeSeed<'de> for &mut Scan<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for &mut Scan<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    crate::catalog::codec::accept_scalars!();
    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
    fn visit_enum<A: serde::de::EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
        use serde::de::VariantAccess;
        let (_, variant): (serde::de::IgnoredAny, _) = data.variant()?;
        variant.newtype_variant_seed(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(&mut *self)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mapping = self.mappings;
        self.mappings += 1;
        let mut keys: Vec<String> = Vec::new();
        while let Some(key) = map.next_key::<serde_yaml::Value>()? {
            // As Go's `%#v` shows the key: strings quoted, numbers and booleans bare.
            let text = match &key {
                serde_yaml::Value::String(s) => crate::api::go_fmt::go_quote(s),
                serde_yaml::Value::Number(n) => n.to_string(),
                serde_yaml::Value::Bool(b) => b.to_string(),
                _ => String::new(),
            };
            let position = keys.len();
            let repeat = !text.is_empty() && keys.contains(&text);
            if repeat && !self.known.contains_key(&(mapping, position)) {
                let found = Found { mapping, position };
                return Err(A::Error::custom(found.message()));
            }
            keys.push(text.clone());
            map.next_value_seed(&mut *self)?;
            if repeat {
                self.finished.push(((mapping, position), text));
            }
        }
        Ok(())
    }
}

/// Builds a `serde_yaml::Value`, a repeated key's last value winning.
struct LastWins;

impl<'de> DeserializeSeed<'de> for LastWins {
    type Value = serde_yaml::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for LastWins {
    type Value = serde_yaml::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(serde_yaml::Value::Null)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(serde_yaml::Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(LastWins)? {
            items.push(item);
        }
        Ok(serde_yaml::Value::Sequence(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut mapping = serde_yaml::Mapping::new();
        while let Some(key) = map.next_key_seed(LastWins)? {
            let value = map.next_value_seed(LastWins)?;
            mapping.insert(key, value);
        }
        Ok(serde_yaml::Value::Mapping(mapping))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_are_reported_with_the_line_of_the_later_key() {
        let doc = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  foo: x\n  # c\n  bar: |\n    text\n  foo: y\n";
        assert_eq!(
            repeated_keys(doc.as_bytes()),
            ["line 10: key \"foo\" already set in map"]
        );
        let parsed = parse_last_wins(doc.as_bytes()).unwrap();
        assert_eq!(parsed["data"]["foo"], serde_yaml::Value::from("y"));
    }

    #[test]
    fn upstreams_deployment_body() {
        // test/integration/apiserver/field_validation_test.go, invalidBodyYAML.
        let doc = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: dupename\n  name: d\n  unknownMeta: metaVal\n  labels:\n    app: nginx\nspec:\n  unknown1: val1\n  unknownDupe: valDupe\n  unknownDupe: valDupe2\n  paused: true\n  paused: false\n  selector:\n    matchLabels:\n      app: nginx\n  template:\n    metadata:\n      labels:\n        app: nginx\n    spec:\n      containers:\n      - name: nginx\n        image: nginx:latest\n        unknownNested: val1\n        imagePullPolicy: Always\n        imagePullPolicy: Never";
        assert_eq!(
            repeated_keys(doc.as_bytes()),
            [
                "line 5: key \"name\" already set in map",
                "line 12: key \"unknownDupe\" already set in map",
                "line 14: key \"paused\" already set in map",
                "line 28: key \"imagePullPolicy\" already set in map",
            ]
        );
    }

    #[test]
    fn every_repeat_after_its_value_as_yaml_v2() {
        // yaml.v2 reports a repeat once its value is decoded: repeats nested in it come first.
        let doc = "a: 1\nb:\n- n: 1\n  n: 2\na: 3\nc: {p: 1, p: 2}\n";
        assert_eq!(
            repeated_keys(doc.as_bytes()),
            [
                "line 4: key \"n\" already set in map",
                "line 5: key \"a\" already set in map",
                "line 6: key \"p\" already set in map",
            ]
        );
        assert!(repeated_keys(b"a: 1\nb: 2\n").is_empty());
    }

    #[test]
    fn each_later_occurrence_once_at_the_line_of_its_value() {
        assert_eq!(
            repeated_keys(b"a: 1\na: 2\na: 3\n"),
            [
                "line 2: key \"a\" already set in map",
                "line 3: key \"a\" already set in map",
            ]
        );
        assert_eq!(
            repeated_keys(b"true: 1\ntrue: 2\n"),
            ["line 2: key true already set in map"]
        );
        assert_eq!(
            repeated_keys(b"a:\n  x: 1\na:\n  # c\n  x: 1\n  x: 2\n"),
            [
                "line 6: key \"x\" already set in map",
                "line 5: key \"a\" already set in map",
            ]
        );
    }
}
