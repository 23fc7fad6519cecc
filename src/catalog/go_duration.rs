//! Go's `time.ParseDuration` (and `Duration.String`, its inverse), the form of `metav1.Duration` fields, of `format: duration` strings
//! and of the `timeout` query parameter: an optional sign, then numbers with an optional fraction,
//! each followed by a unit (`300ms`, `-1.5h`, `2h45m`, `.5s`), or just `0`.

use std::fmt::Write as _;

/// 2^63: the largest magnitude a duration has while parsing (`i64::MIN`'s).
const LIMIT: u64 = 1 << 63;

/// Nanoseconds of a Go duration string, or Go's error message. As Go, each number's whole part
/// is exact and its fraction is scaled in floating point and truncated to the nanosecond; a total
/// outside `i64` is an error.
pub fn parse_go_duration(text: &str) -> Result<i64, String> {
    let invalid = || format!("time: invalid duration {}", go_quote(text));
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: u64 = 0;
    while !rest.is_empty() {
        // The number: `[0-9]*(\.[0-9]*)?` with at least one digit.
        let whole_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let whole = leading_int(&rest[..whole_len]).ok_or_else(invalid)?;
        rest = &rest[whole_len..];
        let mut fraction_len = 0;
        let mut fraction: (u64, f64) = (0, 1.0);
        if let Some(after_point) = rest.strip_prefix('.') {
            fraction_len = after_point.bytes().take_while(u8::is_ascii_digit).count();
            fraction = leading_fraction(&after_point[..fraction_len]);
            rest = &after_point[fraction_len..];
        }
        if whole_len == 0 && fraction_len == 0 {
            return Err(invalid());
        }
        // The unit: everything up to the next digit or '.'.
        let unit_len = rest
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (unit, after_unit) = rest.split_at(unit_len);
        rest = after_unit;
        if unit.is_empty() {
            return Err(format!("time: missing unit in duration {}", go_quote(text)));
        }
        let Some(scale) = unit_nanos(unit) else {
            return Err(format!(
                "time: unknown unit {} in duration {}",
                go_quote(unit),
                go_quote(text)
            ));
        };
        if whole > LIMIT / scale {
            return Err(invalid());
        }
        let mut value = whole * scale;
        let (digits, divisor) = fraction;
        if digits > 0 {
            // At most 3.6e12 (an hour), so this cannot overflow.
            value += (digits as f64 * (scale as f64 / divisor)) as u64;
            if value > LIMIT {
                return Err(invalid());
            }
        }
        // Go's sum wraps past 2^64; here that is an overflow too.
        total = total
            .checked_add(value)
            .filter(|&sum| sum <= LIMIT)
            .ok_or_else(invalid)?;
    }
    if negative {
        // Only 2^63 itself does not fit a positive i64: that is i64::MIN.
        return Ok(i64::try_from(total).map_or(i64::MIN, |magnitude| -magnitude));
    }
    i64::try_from(total).map_err(|_| invalid())
}

/// Nanoseconds of one of Go's units (`µs` is U+00B5 MICRO SIGN, `μs` U+03BC GREEK SMALL MU).
fn unit_nanos(unit: &str) -> Option<u64> {
    Some(match unit {
        "ns" => 1,
        "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60 * 1_000_000_000,
        "h" => 3600 * 1_000_000_000,
        _ => return None,
    })
}

/// Go's `leadingInt` on a run of ASCII digits: `None` past 2^63.
fn leading_int(digits: &str) -> Option<u64> {
    let mut x: u64 = 0;
    for digit in digits.bytes() {
        if x > LIMIT / 10 {
            return None;
        }
        x = x * 10 + u64::from(digit - b'0');
        if x > LIMIT {
            return None;
        }
    }
    Some(x)
}

/// Go's `leadingFraction` on a run of ASCII digits: the digits as an integer and 10 to the power
/// of their count; digits past what fits in the integer are dropped.
fn leading_fraction(digits: &str) -> (u64, f64) {
    let mut x: u64 = 0;
    let mut divisor = 1.0;
    for digit in digits.bytes() {
        if x > (LIMIT - 1) / 10 {
            break;
        }
        let next = x * 10 + u64::from(digit - b'0');
        if next > LIMIT {
            break;
        }
        x = next;
        divisor *= 10.0;
    }
    (x, divisor)
}

/// A string quoted as Go's `time` package quotes it in errors: control and non-ASCII characters
/// as `\x` escapes of their UTF-8 bytes.
fn go_quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if c < ' ' || !c.is_ascii() {
            let mut buf = [0u8; 4];
            for byte in c.encode_utf8(&mut buf).bytes() {
                let _ = write!(out, "\\x{byte:02x}");
            }
        } else {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out.push('"');
    out
}

/// A duration in Go's `time.Duration.String` form: `0s`, `1.5µs`, `300ms`, `1h2m3.5s`.
pub fn format_go_duration(nanos: i64) -> String {
    if nanos == 0 {
        return "0s".to_string();
    }
    let sign = if nanos < 0 { "-" } else { "" };
    let u = nanos.unsigned_abs();
    let body = if u < 1_000 {
        format!("{u}ns")
    } else if u < 1_000_000 {
        format!("{}\u{b5}s", fraction(u, 3))
    } else if u < 1_000_000_000 {
        format!("{}ms", fraction(u, 6))
    } else {
        let seconds = u / 1_000_000_000;
        let (hours, minutes) = (seconds / 3600, seconds / 60 % 60);
        let mut out = String::new();
        if hours > 0 {
            out.push_str(&format!("{hours}h"));
        }
        if hours > 0 || minutes > 0 {
            out.push_str(&format!("{minutes}m"));
        }
        out.push_str(&fraction(u % 60_000_000_000, 9));
        out.push('s');
        out
    };
    format!("{sign}{body}")
}

/// `value / 10^digits` with its fraction, trailing zeros dropped (`1500`, 3 -> `1.5`).
fn fraction(value: u64, digits: u32) -> String {
    let scale = 10u64.pow(digits);
    let (whole, part) = (value / scale, value % scale);
    if part == 0 {
        return whole.to_string();
    }
    let part = format!("{part:0width$}", width = digits as usize);
    format!("{whole}.{}", part.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted() {
        let ok: &[(&str, i64)] = &[
            ("0", 0),
            ("-0", 0),
            ("+0", 0),
            ("0s", 0),
            ("5s", 5_000_000_000),
            ("+5s", 5_000_000_000),
            ("-5s", -5_000_000_000),
            ("300ms", 300_000_000),
            ("1h2m3s", 3_723_000_000_000),
            ("1h2m3.5s", 3_723_500_000_000),
            ("1.5h", 5_400_000_000_000),
            ("-1.5h", -5_400_000_000_000),
            ("2h45m", 9_900_000_000_000),
            ("1m0.5s", 60_500_000_000),
            (".5s", 500_000_000),
            ("1.s", 1_000_000_000),
            ("7ns", 7),
            ("10us", 10_000),
            ("10\u{b5}s", 10_000),
            ("10\u{3bc}s", 10_000),
            ("0.29s", 290_000_000),
            // A fraction below a nanosecond is truncated, as Go does (not rounded).
            ("1.9ns", 1),
            ("0.5ns", 0),
            // Whole numbers are exact beyond f64's 2^53.
            ("9007199254740993ns", 9_007_199_254_740_993),
            ("9223372036854775807ns", i64::MAX),
            ("2562047h47m16.854775807s", i64::MAX),
            ("-9223372036854775808ns", i64::MIN),
            // Fraction digits past what fits are ignored.
            ("1.00000000000000000000000001s", 1_000_000_000),
        ];
        for (input, nanos) in ok {
            assert_eq!(parse_go_duration(input), Ok(*nanos), "{input}");
        }
    }

    #[test]
    fn rejected() {
        let bad: &[(&str, &str)] = &[
            ("", "time: invalid duration \"\""),
            ("-", "time: invalid duration \"-\""),
            ("+", "time: invalid duration \"+\""),
            ("s", "time: invalid duration \"s\""),
            ("h", "time: invalid duration \"h\""),
            ("-s", "time: invalid duration \"-s\""),
            ("abc", "time: invalid duration \"abc\""),
            (".s", "time: invalid duration \".s\""),
            (".", "time: invalid duration \".\""),
            ("+-1s", "time: invalid duration \"+-1s\""),
            ("1s-2s", "time: unknown unit \"s-\" in duration \"1s-2s\""),
            (" 1s", "time: invalid duration \" 1s\""),
            ("5", "time: missing unit in duration \"5\""),
            ("10", "time: missing unit in duration \"10\""),
            ("1h30", "time: missing unit in duration \"1h30\""),
            ("1.2.3s", "time: missing unit in duration \"1.2.3s\""),
            ("5x", "time: unknown unit \"x\" in duration \"5x\""),
            ("5d", "time: unknown unit \"d\" in duration \"5d\""),
            ("1S", "time: unknown unit \"S\" in duration \"1S\""),
            ("9999999999h", "time: invalid duration \"9999999999h\""),
            (
                "9223372036854775808ns",
                "time: invalid duration \"9223372036854775808ns\"",
            ),
            (
                "-9223372036854775809ns",
                "time: invalid duration \"-9223372036854775809ns\"",
            ),
            (
                "99999999999999999999ns",
                "time: invalid duration \"99999999999999999999ns\"",
            ),
            (
                "9223372036854775807ns1ns",
                "time: invalid duration \"9223372036854775807ns1ns\"",
            ),
            // Go's sum would wrap to 0 here.
            (
                "9223372036854775808ns9223372036854775808ns",
                "time: invalid duration \"9223372036854775808ns9223372036854775808ns\"",
            ),
            (
                "1\u{e9}",
                "time: unknown unit \"\\xc3\\xa9\" in duration \"1\\xc3\\xa9\"",
            ),
            ("\n", "time: invalid duration \"\\x0a\""),
        ];
        for (input, message) in bad {
            assert_eq!(
                parse_go_duration(input).err().as_deref(),
                Some(*message),
                "{input}"
            );
        }
    }

    #[test]
    fn durations_are_gos() {
        for (nanos, text) in [
            (0, "0s"),
            (999, "999ns"),
            (1_500, "1.5\u{b5}s"),
            (300_000_000, "300ms"),
            (1_500_000_000, "1.5s"),
            (90_000_000_000, "1m30s"),
            (3_600_000_000_000, "1h0m0s"),
            (3_723_500_000_000, "1h2m3.5s"),
            (-2_000_000_000, "-2s"),
        ] {
            assert_eq!(format_go_duration(nanos), text);
            assert_eq!(parse_go_duration(text), Ok(nanos), "{text}");
        }
    }
}
