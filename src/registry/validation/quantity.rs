//! Resource quantities (`resource.Quantity` of `k8s.io/apimachinery/pkg/api/resource`):
//! parsing with upstream's error messages, and comparison.

use serde_json::Value;

/// Upstream's `ErrFormatWrong`.
pub const FORMAT_WRONG: &str =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
/// Upstream's `ErrNumeric`.
pub const NUMERIC: &str = "unable to parse numeric part of quantity";
/// Upstream's `ErrSuffix`.
pub const SUFFIX: &str = "unable to parse quantity's suffix";

/// A parsed quantity: its value as a float (exact for the values resources use) and its sign.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Quantity(pub f64);

/// Parses a quantity as upstream's `ParseQuantity`; the error is upstream's message.
pub fn parse(text: &str) -> Result<Quantity, &'static str> {
    let text = text.trim();
    if text.is_empty() {
        return Err(FORMAT_WRONG);
    }
    let bytes = text.as_bytes();
    let mut pos = 0;
    if matches!(bytes.first(), Some(b'+') | Some(b'-')) {
        pos = 1;
    }
    let number_start = pos;
    while pos < bytes.len() && (bytes[pos].is_ascii_digit() || bytes[pos] == b'.') {
        pos += 1;
    }
    if pos == number_start {
        return Err(FORMAT_WRONG);
    }
    let number = &text[..pos];
    let suffix = &text[pos..];
    // The regular expression's suffix part: letters of [eEinumkKMGTP], then an optional signed
    // integer.
    let letters_end = suffix
        .find(|c: char| !"eEinumkKMGTP".contains(c))
        .unwrap_or(suffix.len());
    let rest = &suffix[letters_end..];
    let rest_digits = rest.strip_prefix(['+', '-']).unwrap_or(rest);
    if !rest_digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FORMAT_WRONG);
    }
    if number.matches('.').count() > 1 || number.ends_with(['+', '-']) {
        return Err(NUMERIC);
    }
    let value: f64 = number.parse().map_err(|_| NUMERIC)?;
    let multiplier = suffix_multiplier(suffix).ok_or(SUFFIX)?;
    Ok(Quantity(value * multiplier))
}

/// The multiplier of a quantity suffix: binary (`Ki`..`Ei`), decimal (`n`..`E`) or a decimal
/// exponent (`e3`, `E-2`).
fn suffix_multiplier(suffix: &str) -> Option<f64> {
    let binary = |power: i32| Some(1024f64.powi(power));
    let decimal = |power: i32| Some(10f64.powi(power));
    match suffix {
        "" => decimal(0),
        "Ki" => binary(1),
        "Mi" => binary(2),
        "Gi" => binary(3),
        "Ti" => binary(4),
        "Pi" => binary(5),
        "Ei" => binary(6),
        "n" => decimal(-9),
        "u" => decimal(-6),
        "m" => decimal(-3),
        "k" => decimal(3),
        "M" => decimal(6),
        "G" => decimal(9),
        "T" => decimal(12),
        "P" => decimal(15),
        "E" => decimal(18),
        _ => {
            let exponent = suffix.strip_prefix(['e', 'E'])?;
            let exponent: i32 = exponent.parse().ok()?;
            decimal(exponent)
        }
    }
}

/// The text of a quantity value in an object (a JSON string; numbers are accepted as their
/// text, as upstream's decoder does).
pub fn quantity_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The first invalid quantity message among the quantity maps of a pod spec (containers' and
/// init containers' requests and limits, `overhead`) and of `emptyDir.sizeLimit`, for the
/// codec's decode check.
pub fn first_pod_spec_error(spec: &Value) -> Option<&'static str> {
    let mut texts: Vec<&Value> = Vec::new();
    for list in ["containers", "initContainers", "ephemeralContainers"] {
        for container in spec
            .get(list)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            for kind in ["requests", "limits"] {
                if let Some(map) = container
                    .pointer(&format!("/resources/{kind}"))
                    .and_then(Value::as_object)
                {
                    texts.extend(map.values());
                }
            }
        }
    }
    if let Some(map) = spec.get("overhead").and_then(Value::as_object) {
        texts.extend(map.values());
    }
    for volume in spec
        .get("volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(limit) = volume.pointer("/emptyDir/sizeLimit") {
            texts.push(limit);
        }
    }
    texts
        .into_iter()
        .filter_map(quantity_text)
        .find_map(|text| parse(&text).err())
}
