//! Exact quantities for quota arithmetic (`resource.Quantity` as quota uses it): values in
//! nano-units, rounded up on parse as upstream rounds to nanos, kept with their format so that
//! sums print as upstream prints them (`500m`, `192Mi`, `2`), and resource lists (upstream's
//! `quota.Add`, `Mask`, `LessThanOrEqual`...).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

const NANO: i128 = 1_000_000_000;

/// How a quantity prints (upstream's `resource.Format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    DecimalSI,
    BinarySI,
    DecimalExponent,
}

/// A quantity: `nanos` billionths of a unit.
#[derive(Debug, Clone, Copy)]
pub struct Quantity {
    pub nanos: i128,
    pub format: Format,
}

impl PartialEq for Quantity {
    fn eq(&self, other: &Self) -> bool {
        self.nanos == other.nanos
    }
}

impl Quantity {
    /// A plain count (`resource.NewQuantity(n, DecimalSI)`).
    pub fn count(n: i64) -> Self {
        Self {
            nanos: i128::from(n) * NANO,
            format: Format::DecimalSI,
        }
    }

    /// A zero (`resource.Quantity{Format: DecimalSI}`).
    pub fn zero() -> Self {
        Self::count(0)
    }

    /// Parses `text` as upstream's `ParseQuantity` (the message is upstream's on a bad one).
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        // The syntax and its messages are the API's; the value is computed exactly here.
        crate::api::quantity::parse(text)?;
        let text = text.trim();
        let bytes = text.as_bytes();
        let mut pos = usize::from(matches!(bytes.first(), Some(b'+') | Some(b'-')));
        while pos < bytes.len() && (bytes[pos].is_ascii_digit() || bytes[pos] == b'.') {
            pos += 1;
        }
        let (number, suffix) = text.split_at(pos);
        let negative = number.starts_with('-');
        let digits = number.trim_start_matches(['+', '-']);
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        let too_large = "quantity too large";
        let mut mantissa: i128 = 0;
        for b in whole.bytes().chain(fraction.bytes()) {
            mantissa = mantissa
                .checked_mul(10)
                .and_then(|m| m.checked_add(i128::from(b - b'0')))
                .ok_or(too_large)?;
        }
        // value = mantissa × 10^-fraction × multiplier; nanos = value × 10^9.
        let (format, numerator, mut exponent): (Format, i128, i32) = match suffix {
            "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei" => {
                let power = match suffix {
                    "Ki" => 1,
                    "Mi" => 2,
                    "Gi" => 3,
                    "Ti" => 4,
                    "Pi" => 5,
                    _ => 6,
                };
                (Format::BinarySI, 1024i128.pow(power), 0)
            }
            "" => (Format::DecimalSI, 1, 0),
            "n" => (Format::DecimalSI, 1, -9),
            "u" => (Format::DecimalSI, 1, -6),
            "m" => (Format::DecimalSI, 1, -3),
            "k" => (Format::DecimalSI, 1, 3),
            "M" => (Format::DecimalSI, 1, 6),
            "G" => (Format::DecimalSI, 1, 9),
            "T" => (Format::DecimalSI, 1, 12),
            "P" => (Format::DecimalSI, 1, 15),
            "E" => (Format::DecimalSI, 1, 18),
            _ => {
                let e: i32 = suffix[1..]
                    .parse()
                    .map_err(|_| crate::api::quantity::SUFFIX)?;
                (Format::DecimalExponent, 1, e)
            }
        };
        exponent += 9 - fraction.len() as i32;
        let mut nanos = mantissa.checked_mul(numerator).ok_or(too_large)?;
        if exponent >= 0 {
            let scale = 10i128.checked_pow(exponent as u32).ok_or(too_large)?;
            nanos = nanos.checked_mul(scale).ok_or(too_large)?;
        } else {
            // Below a nano: round up, as upstream does.
            let scale = 10i128.checked_pow((-exponent) as u32).unwrap_or(i128::MAX);
            let rounded = nanos / scale + i128::from(nanos % scale != 0);
            nanos = if nanos == 0 { 0 } else { rounded };
        }
        Ok(Self {
            nanos: if negative { -nanos } else { nanos },
            format,
        })
    }

    /// Parses a quantity value of an object (a string, or a number as its text).
    pub fn from_json(value: &Value) -> Option<Self> {
        crate::api::quantity::quantity_text(value).and_then(|t| Self::parse(&t).ok())
    }

    /// `q.Add(y)`: the sum keeps this quantity's format, or takes `other`'s when this is zero.
    pub fn plus(self, other: Self) -> Self {
        Self {
            nanos: self.nanos.saturating_add(other.nanos),
            format: if self.nanos == 0 {
                other.format
            } else {
                self.format
            },
        }
    }

    /// `q.Sub(y)`.
    pub fn minus(self, other: Self) -> Self {
        Self {
            nanos: self.nanos.saturating_sub(other.nanos),
            format: if self.nanos == 0 {
                other.format
            } else {
                self.format
            },
        }
    }

    /// Rounds up to a whole unit (`RoundUp(0)`).
    pub fn round_up_to_units(self) -> Self {
        let rest = self.nanos.rem_euclid(NANO);
        Self {
            nanos: if rest == 0 {
                self.nanos
            } else {
                self.nanos - rest + NANO
            },
            format: self.format,
        }
    }

    pub fn is_zero(&self) -> bool {
        self.nanos == 0
    }
}

impl std::fmt::Display for Quantity {
    /// Upstream's canonical form (`Quantity.String()`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.nanos == 0 {
            return f.write_str("0");
        }
        let mut format = self.format;
        if format == Format::BinarySI && (self.nanos.abs() < 1024 * NANO || self.nanos % NANO != 0)
        {
            format = Format::DecimalSI;
        }
        if format == Format::BinarySI {
            let mut units = self.nanos / NANO;
            let mut power = 0;
            while power < 6 && units % 1024 == 0 {
                units /= 1024;
                power += 1;
            }
            let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][power];
            return write!(f, "{units}{suffix}");
        }
        let mut mantissa = self.nanos;
        let mut exponent: i32 = -9;
        while mantissa % 10 == 0 {
            mantissa /= 10;
            exponent += 1;
        }
        let extra = exponent.rem_euclid(3);
        exponent -= extra;
        mantissa *= 10i128.pow(extra as u32);
        let suffix = match (format, exponent) {
            (_, 0) => String::new(),
            (Format::DecimalExponent, e) => format!("e{e}"),
            (_, -9) => "n".into(),
            (_, -6) => "u".into(),
            (_, -3) => "m".into(),
            (_, 3) => "k".into(),
            (_, 6) => "M".into(),
            (_, 9) => "G".into(),
            (_, 12) => "T".into(),
            (_, 15) => "P".into(),
            (_, 18) => "E".into(),
            (_, e) => format!("e{e}"),
        };
        write!(f, "{mantissa}{suffix}")
    }
}

/// A `ResourceList`: quantities by resource name, in name order.
pub type ResourceList = BTreeMap<String, Quantity>;

/// Reads a `ResourceList` of an object (quantities that do not parse are skipped: validation
/// refuses them before they are stored).
pub fn list_from_json(value: Option<&Value>) -> ResourceList {
    value
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), Quantity::from_json(v)?)))
        .collect()
}

/// A `ResourceList` as JSON, each quantity in its canonical form.
pub fn list_to_json(list: &ResourceList) -> Value {
    Value::Object(
        list.iter()
            .map(|(k, q)| (k.clone(), Value::String(q.to_string())))
            .collect::<Map<_, _>>(),
    )
}

/// `quota.Add`.
pub fn add(a: &ResourceList, b: &ResourceList) -> ResourceList {
    let mut result = a.clone();
    for (key, value) in b {
        result
            .entry(key.clone())
            .and_modify(|q| *q = q.plus(*value))
            .or_insert(*value);
    }
    result
}

/// `quota.SubtractWithNonNegativeResult`.
pub fn subtract_non_negative(a: &ResourceList, b: &ResourceList) -> ResourceList {
    let mut result = ResourceList::new();
    for (key, value) in a {
        let mut q = match b.get(key) {
            Some(other) => value.minus(*other),
            None => *value,
        };
        if q.nanos < 0 {
            q.nanos = 0;
        }
        result.insert(key.clone(), q);
    }
    for key in b.keys() {
        result.entry(key.clone()).or_insert_with(Quantity::zero);
    }
    result
}

/// `quota.Mask`: only the entries named in `names`.
pub fn mask<'a>(list: &ResourceList, names: impl IntoIterator<Item = &'a String>) -> ResourceList {
    names
        .into_iter()
        .filter_map(|n| Some((n.clone(), *list.get(n)?)))
        .collect()
}

/// `quota.LessThanOrEqual`: whether every entry of `a` that `b` limits is within it, and the
/// names of those that are not.
pub fn less_than_or_equal(a: &ResourceList, b: &ResourceList) -> (bool, Vec<String>) {
    let exceeded: Vec<String> = b
        .iter()
        .filter(|(key, limit)| a.get(*key).is_some_and(|q| q.nanos > limit.nanos))
        .map(|(key, _)| key.clone())
        .collect();
    (exceeded.is_empty(), exceeded)
}

/// `quota.RemoveZeros`.
pub fn remove_zeros(list: &ResourceList) -> ResourceList {
    list.iter()
        .filter(|(_, q)| !q.is_zero())
        .map(|(k, q)| (k.clone(), *q))
        .collect()
}

/// `quota.Equals`: the same names with equal quantities.
pub fn equals(a: &ResourceList, b: &ResourceList) -> bool {
    a.len() == b.len() && a.iter().all(|(k, q)| b.get(k) == Some(q))
}

/// Upstream's `prettyPrint`: `name=quantity` pairs in name order, joined by commas.
pub fn pretty_print(list: &ResourceList) -> String {
    list.iter()
        .map(|(k, q)| format!("{k}={q}"))
        .collect::<Vec<_>>()
        .join(",")
}
