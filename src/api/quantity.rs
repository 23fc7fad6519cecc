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

/// How a quantity was written, which decides how it is printed back (Go's `Format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    /// `Ki`, `Mi`, ...
    BinarySI,
    /// `m`, `k`, `M`, ... or no suffix.
    DecimalSI,
    /// `e3`, `E-2`.
    DecimalExponent,
}

/// An exact decimal value `mantissa × 10^exponent`.
#[derive(Debug, Clone, Copy)]
struct Decimal {
    mantissa: i128,
    exponent: i32,
}

/// The exact value and format of a quantity text, or `None` when it does not parse (or is too
/// large to handle exactly).
fn exact(text: &str) -> Option<(Decimal, Format)> {
    let text = text.trim();
    parse(text).ok()?;
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(text.len());
    // A sign after digits belongs to an exponent suffix; the number part is the leading run.
    let (number, suffix) = text.split_at(split);
    let (negative, digits) = match number.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, number.strip_prefix('+').unwrap_or(number)),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let all: String = format!("{whole}{fraction}");
    let mut mantissa: i128 = if all.is_empty() { 0 } else { all.parse().ok()? };
    if negative {
        mantissa = -mantissa;
    }
    let mut exponent = -(fraction.len() as i32);
    let format = match suffix {
        "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei" => {
            let power = match suffix {
                "Ki" => 1,
                "Mi" => 2,
                "Gi" => 3,
                "Ti" => 4,
                "Pi" => 5,
                _ => 6,
            };
            mantissa = mantissa.checked_mul(1i128 << (10 * power))?;
            Format::BinarySI
        }
        "" => Format::DecimalSI,
        "n" | "u" | "m" | "k" | "M" | "G" | "T" | "P" | "E" => {
            exponent += match suffix {
                "n" => -9,
                "u" => -6,
                "m" => -3,
                "k" => 3,
                "M" => 6,
                "G" => 9,
                "T" => 12,
                "P" => 15,
                _ => 18,
            };
            Format::DecimalSI
        }
        _ => {
            exponent += suffix[1..].parse::<i32>().ok()?;
            Format::DecimalExponent
        }
    };
    Some((Decimal { mantissa, exponent }, format))
}

/// Rounds `value` up (away from zero) to a multiple of 10^scale, as Go's `RoundUp`.
fn round_up(value: Decimal, scale: i32) -> Option<Decimal> {
    if value.exponent >= scale {
        return Some(value);
    }
    let divisor = 10i128.checked_pow((scale - value.exponent) as u32)?;
    let quotient = value.mantissa / divisor;
    let rounded = if value.mantissa % divisor == 0 {
        quotient
    } else {
        quotient + value.mantissa.signum()
    };
    Some(Decimal {
        mantissa: rounded,
        exponent: scale,
    })
}

/// The text Go prints for a quantity (`Quantity.String()`, its canonical form): `1.5` is
/// `1500m`, `2000m` is `2`, `1024Mi` is `1Gi`, `1536Mi` stays. With `round_to_milli`, values
/// are first rounded up to milli units, as upstream's `SetDefaults_ResourceList` does.
/// `None` when the text is not a quantity.
pub fn canonical(text: &str, round_to_milli: bool) -> Option<String> {
    let (mut value, mut format) = exact(text)?;
    if round_to_milli {
        value = round_up(value, -3)?;
    }
    if value.mantissa == 0 {
        return Some("0".into());
    }
    if format == Format::BinarySI {
        let integer = if value.exponent >= 0 {
            value
                .mantissa
                .checked_mul(10i128.checked_pow(value.exponent as u32)?)
        } else {
            let divisor = 10i128.checked_pow((-value.exponent) as u32)?;
            (value.mantissa % divisor == 0).then(|| value.mantissa / divisor)
        };
        match integer {
            Some(n) if n.abs() >= 1024 => {
                let (mut n, mut power) = (n, 0);
                while power < 6 && n % 1024 == 0 {
                    n /= 1024;
                    power += 1;
                }
                let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][power];
                return Some(format!("{n}{suffix}"));
            }
            _ => format = Format::DecimalSI,
        }
    }
    let (mut mantissa, mut exponent) = (value.mantissa, value.exponent);
    while mantissa % 10 == 0 {
        mantissa /= 10;
        exponent += 1;
    }
    match exponent.rem_euclid(3) {
        1 => {
            mantissa *= 10;
            exponent -= 1;
        }
        2 => {
            mantissa *= 100;
            exponent -= 2;
        }
        _ => {}
    }
    let suffix = match (format, exponent) {
        (_, 0) => String::new(),
        (Format::DecimalSI, -9) => "n".into(),
        (Format::DecimalSI, -6) => "u".into(),
        (Format::DecimalSI, -3) => "m".into(),
        (Format::DecimalSI, 3) => "k".into(),
        (Format::DecimalSI, 6) => "M".into(),
        (Format::DecimalSI, 9) => "G".into(),
        (Format::DecimalSI, 12) => "T".into(),
        (Format::DecimalSI, 15) => "P".into(),
        (Format::DecimalSI, 18) => "E".into(),
        (_, e) => format!("e{e}"),
    };
    Some(format!("{mantissa}{suffix}"))
}

/// Replaces every quantity of a resource list (`requests`, `limits`, `hard`, ...) with its
/// canonical text rounded up to milli units (`SetDefaults_ResourceList`).
pub fn canonicalize_resource_list(list: &mut serde_json::Map<String, Value>) {
    for value in list.values_mut() {
        if let Some(text) = quantity_text(value) {
            if let Some(canonical) = canonical(&text, true) {
                *value = Value::String(canonical);
            }
        }
    }
}

/// The value in thousandths, rounded up (Go's `MilliValue`); `None` when the text is not a
/// quantity or is too large.
pub fn milli_value(text: &str) -> Option<i128> {
    let (value, _) = exact(text)?;
    let value = round_up(value, -3)?;
    let scale = 10i128.checked_pow(u32::try_from(value.exponent + 3).ok()?)?;
    value.mantissa.checked_mul(scale)
}
