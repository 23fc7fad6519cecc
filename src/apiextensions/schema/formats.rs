//! String formats a custom resource's schema may check, after upstream's
//! `apiextensions-apiserver/pkg/apiserver/validation/formats.go` (`supportedFormats`: every other
//! format is stripped before validation, so it is ignored) and the checks of kube-openapi's
//! `pkg/validation/strfmt/default.go` registry.
//!
//! Upstream normalizes a format name by removing `-` (`date-time` is `datetime`). Numeric formats
//! (`int32`, `int64`, `float`, `double`) are NOT in upstream's supported set: they are ignored.

use std::net::IpAddr;
use std::sync::OnceLock;

use regex::Regex;

/// The formats upstream validates, normalized (no `-`).
const SUPPORTED: &[&str] = &[
    "bsonobjectid",
    "uri",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "cidr",
    "mac",
    "uuid",
    "uuid3",
    "uuid4",
    "uuid5",
    "isbn",
    "isbn10",
    "isbn13",
    "creditcard",
    "ssn",
    "hexcolor",
    "rgbcolor",
    "byte",
    "password",
    "date",
    "duration",
    "datetime",
];

/// The normalized name of `format` when upstream validates it, `None` when it is ignored.
pub(super) fn supported(format: &str) -> Option<String> {
    let normalized = format.replace('-', "");
    SUPPORTED
        .contains(&normalized.as_str())
        .then_some(normalized)
}

fn regex(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).expect("built-in format pattern compiles"))
}

macro_rules! pattern {
    ($name:ident, $re:expr) => {
        fn $name() -> &'static Regex {
            static CELL: OnceLock<Regex> = OnceLock::new();
            regex(&CELL, $re)
        }
    };
}

pattern!(
    hostname_re,
    r"^([a-zA-Z0-9\p{S}\p{L}]((-?[a-zA-Z0-9\p{S}\p{L}]{0,62})?)|([a-zA-Z0-9\p{S}\p{L}](([a-zA-Z0-9-\p{S}\p{L}]{0,61}[a-zA-Z0-9\p{S}\p{L}])?)(\.)){1,}([a-zA-Z0-9\p{S}\p{L}])(-?[a-zA-Z0-9\p{S}\p{L}]){1,62})$"
);
pattern!(
    uuid_re,
    r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$"
);
pattern!(
    uuid3_re,
    r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}$"
);
pattern!(
    uuid4_re,
    r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$"
);
pattern!(
    uuid5_re,
    r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$"
);
pattern!(
    base64_re,
    r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$"
);
pattern!(hexcolor_re, r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$");
pattern!(
    rgbcolor_re,
    r"^rgb\(\s*(0|[1-9]\d?|1\d\d?|2[0-4]\d|25[0-5])\s*,\s*(0|[1-9]\d?|1\d\d?|2[0-4]\d|25[0-5])\s*,\s*(0|[1-9]\d?|1\d\d?|2[0-4]\d|25[0-5])\s*\)$"
);
pattern!(ssn_re, r"^\d{3}[- ]?\d{2}[- ]?\d{4}$");
pattern!(
    creditcard_re,
    r"^(?:4[0-9]{12}(?:[0-9]{3})?|5[1-5][0-9]{14}|(222[1-9]|22[3-9][0-9]|2[3-6][0-9]{2}|27[01][0-9]|2720)[0-9]{12}|6(?:011|5[0-9][0-9])[0-9]{12}|3[47][0-9]{13}|3(?:0[0-5]|[68][0-9])[0-9]{11}|(?:2131|1800|35\d{3})\d{11}|6[27][0-9]{14})$"
);
pattern!(
    email_re,
    r"^(?:[^<>@\s]*<)?[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.\[\]:-]+>?$"
);
pattern!(
    datetime_re,
    r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}):(\d{2})(:(\d{2})(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?$"
);
pattern!(
    go_duration_re,
    r"^[-+]?(0|((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+)$"
);
pattern!(
    unit_duration_re,
    r"^(\d+)\s*(ns|nanoseconds?|us|µs|mcs|microseconds?|ms|milliseconds?|s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?|w|wks?|weeks?)$"
);
pattern!(uri_scheme_re, r"^[A-Za-z][A-Za-z0-9+.-]*:");

/// Whether `value` is valid for the supported, normalized `format`. MUST accept exactly what
/// upstream's registry accepts for the formats where that is a plain rule (uuid, colors, ssn,
/// base64, dates, ips, cidrs, macs); uri, email and duration follow Go's parsers closely.
pub(super) fn is_valid(format: &str, value: &str) -> bool {
    match format {
        "bsonobjectid" => value.len() == 24 && value.chars().all(|c| c.is_ascii_hexdigit()),
        "uri" => is_request_uri(value),
        "email" => email_re().is_match(value),
        "hostname" => {
            hostname_re().is_match(value)
                && value.len() <= 255
                && value.split('.').all(|label| label.len() <= 63)
        }
        "ipv4" => (value.parse::<IpAddr>().is_ok() && value.contains('.')) || is_mapped_v4(value),
        "ipv6" => value.parse::<IpAddr>().is_ok() && value.contains(':'),
        "cidr" => is_cidr(value),
        "mac" => is_mac(value),
        "uuid" => uuid_re().is_match(value),
        "uuid3" => uuid3_re().is_match(value),
        "uuid4" => uuid4_re().is_match(value),
        "uuid5" => uuid5_re().is_match(value),
        "isbn" => is_isbn10(value) || is_isbn13(value),
        "isbn10" => is_isbn10(value),
        "isbn13" => is_isbn13(value),
        "creditcard" => is_credit_card(value),
        "ssn" => value.len() == 11 && ssn_re().is_match(value),
        "hexcolor" => hexcolor_re().is_match(value),
        "rgbcolor" => rgbcolor_re().is_match(value),
        "byte" => base64_re().is_match(value),
        "password" => true,
        "date" => is_date(value),
        "datetime" => is_datetime(value),
        "duration" => go_duration_re().is_match(value) || unit_duration_re().is_match(value),
        _ => true,
    }
}

/// Go's `net.ParseIP` accepts IPv4-mapped IPv6 (`::ffff:1.2.3.4`); govalidator's `IsIPv4` then
/// only asks for a `.`.
fn is_mapped_v4(value: &str) -> bool {
    value.contains('.') && value.parse::<std::net::Ipv6Addr>().is_ok()
}

/// govalidator's `IsRequestURI`: Go's `url.ParseRequestURI` succeeds, which needs an absolute
/// URI (`scheme:...`) or an absolute path, and no spaces or control characters.
fn is_request_uri(value: &str) -> bool {
    if value.is_empty() || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    value.starts_with('/') || uri_scheme_re().is_match(value)
}

fn is_cidr(value: &str) -> bool {
    let Some((ip, bits)) = value.split_once('/') else {
        return false;
    };
    let Ok(bits) = bits.parse::<u8>() else {
        return false;
    };
    if bits.to_string().len() != value.len() - ip.len() - 1 {
        return false;
    }
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V4(_)) => bits <= 32,
        Ok(IpAddr::V6(_)) => bits <= 128,
        Err(_) => false,
    }
}

/// Go's `net.ParseMAC`: 6, 8 or 20 octets as `xx:xx:..`, `xx-xx-..` or `xxxx.xxxx.xxxx`.
fn is_mac(value: &str) -> bool {
    let octets_ok = |n: usize| matches!(n, 6 | 8 | 20);
    for sep in [':', '-'] {
        if value.contains(sep) {
            let parts: Vec<&str> = value.split(sep).collect();
            return octets_ok(parts.len())
                && parts
                    .iter()
                    .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit()));
        }
    }
    if value.contains('.') {
        let parts: Vec<&str> = value.split('.').collect();
        return octets_ok(parts.len() * 2)
            && parts
                .iter()
                .all(|p| p.len() == 4 && p.chars().all(|c| c.is_ascii_hexdigit()));
    }
    false
}

fn without_separators(value: &str) -> String {
    value.chars().filter(|c| *c != ' ' && *c != '-').collect()
}

fn is_isbn10(value: &str) -> bool {
    let digits = without_separators(value);
    let bytes = digits.as_bytes();
    if bytes.len() != 10
        || !bytes[..9].iter().all(u8::is_ascii_digit)
        || !(bytes[9].is_ascii_digit() || bytes[9] == b'X')
    {
        return false;
    }
    let mut sum = 0u32;
    for (i, b) in bytes[..9].iter().enumerate() {
        sum += (i as u32 + 1) * u32::from(b - b'0');
    }
    let last = if bytes[9] == b'X' {
        10
    } else {
        u32::from(bytes[9] - b'0')
    };
    sum += 10 * last;
    sum % 11 == 0
}

fn is_isbn13(value: &str) -> bool {
    let digits = without_separators(value);
    let bytes = digits.as_bytes();
    if bytes.len() != 13 || !bytes.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let mut sum = 0u32;
    for (i, b) in bytes[..12].iter().enumerate() {
        let factor = if i % 2 == 0 { 1 } else { 3 };
        sum += factor * u32::from(b - b'0');
    }
    (10 - sum % 10) % 10 == u32::from(bytes[12] - b'0')
}

/// govalidator's `IsCreditCard`: the digits (other characters dropped) match a card pattern
/// and pass the Luhn check.
fn is_credit_card(value: &str) -> bool {
    let digits: String = value.chars().filter(char::is_ascii_digit).collect();
    if !creditcard_re().is_match(&digits) {
        return false;
    }
    let mut sum = 0u32;
    let mut double = false;
    for b in digits.bytes().rev() {
        let mut d = u32::from(b - b'0');
        if double {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
        double = !double;
    }
    sum % 10 == 0
}

/// A `full-date` of RFC 3339 (`2006-01-02`), a real calendar day.
fn is_date(value: &str) -> bool {
    let bytes = value.as_bytes();
    bytes.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && value.parse::<jiff::civil::Date>().is_ok()
}

/// A date-time as strfmt's `ParseDateTime` accepts it (RFC 3339 and its ISO 8601 variants):
/// a real date, a time of day, optional seconds and fraction, optional zone.
fn is_datetime(value: &str) -> bool {
    let Some(caps) = datetime_re().captures(value) else {
        return false;
    };
    let field = |i: usize| {
        caps.get(i)
            .map_or(0, |m| m.as_str().parse::<u32>().unwrap_or(99))
    };
    is_date(&caps[1]) && field(2) < 24 && field(3) < 60 && field(5) < 60
}
