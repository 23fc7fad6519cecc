//! The format library (`apiserver/pkg/cel/library/format.go`, since 1.31): named string formats,
//! `format.<name>()` and `format.named(<string>)` (an optional), and
//! `<format>.validate(<string>)`: `optional.none()` for a valid string, else the list of
//! upstream's messages.

use std::sync::LazyLock;

use cel::common::functions::Function;
use cel::common::types::{CelOptional, CelString};
use cel::common::value::{CowVal, Val};
use cel::{DeclarationError, Env, ExecutionError};
use regex::Regex;

use super::gourl;
use crate::api::names::{
    is_dns1035_label, is_dns1123_label, is_dns1123_subdomain, is_qualified_name,
    is_valid_label_value,
};

/// A `kubernetes.NamedFormat` value: one of [`FORMATS`], equal to another of the same name.
#[derive(Clone, Copy, Debug)]
pub(super) struct NamedFormat(&'static FormatDef);

impl PartialEq for NamedFormat {
    fn eq(&self, other: &Self) -> bool {
        self.0.name == other.0.name
    }
}

opaque_value!(NamedFormat, "kubernetes.NamedFormat");

#[derive(Debug)]
pub(super) struct FormatDef {
    /// The name `format.named` and `format.<key>()` know it by.
    key: &'static str,
    /// Upstream's `Format.Name`, which equality compares.
    name: &'static str,
    validate: fn(&str) -> Vec<String>,
}

/// Upstream's `ConstantFormats`.
static FORMATS: [FormatDef; 13] = [
    FormatDef {
        key: "dns1123Label",
        name: "DNS1123Label",
        validate: is_dns1123_label,
    },
    FormatDef {
        key: "dns1123Subdomain",
        name: "DNS1123Subdomain",
        validate: is_dns1123_subdomain,
    },
    FormatDef {
        key: "dns1035Label",
        name: "DNS1035Label",
        validate: is_dns1035_label,
    },
    FormatDef {
        key: "qualifiedName",
        name: "QualifiedName",
        validate: is_qualified_name,
    },
    FormatDef {
        key: "dns1123LabelPrefix",
        name: "DNS1123LabelPrefix",
        validate: dns1123_label_prefix,
    },
    FormatDef {
        key: "dns1123SubdomainPrefix",
        name: "DNS1123SubdomainPrefix",
        validate: dns1123_subdomain_prefix,
    },
    FormatDef {
        key: "dns1035LabelPrefix",
        name: "DNS1035LabelPrefix",
        validate: dns1035_label_prefix,
    },
    FormatDef {
        key: "labelValue",
        name: "LabelValue",
        validate: is_valid_label_value,
    },
    FormatDef {
        key: "uri",
        name: "URI",
        validate: uri,
    },
    FormatDef {
        key: "uuid",
        name: "uuid",
        validate: uuid,
    },
    FormatDef {
        key: "byte",
        name: "byte",
        validate: byte,
    },
    FormatDef {
        key: "date",
        name: "date",
        validate: date,
    },
    FormatDef {
        key: "datetime",
        name: "datetime",
        validate: date_time,
    },
];

/// `format.<key>()` of each of [`FORMATS`], by index.
const CONSTANTS: [Function; 13] = [
    constant::<0>,
    constant::<1>,
    constant::<2>,
    constant::<3>,
    constant::<4>,
    constant::<5>,
    constant::<6>,
    constant::<7>,
    constant::<8>,
    constant::<9>,
    constant::<10>,
    constant::<11>,
    constant::<12>,
];

pub(super) fn register(env: &mut Env) -> Result<(), DeclarationError> {
    env.add_type(<NamedFormat as Val>::cel_type().to_owned())?;
    for (def, function) in FORMATS.iter().zip(CONSTANTS) {
        let name = format!("format.{}", def.key);
        env.add_overload(&name, &name, vec![], function)?;
    }
    cel::add_overload!(env, fn named: (CelString) -> CelOptional,
        name = "format.named", id = "format-named")?;
    cel::add_member_overload!(env, fn validate: (NamedFormat, CelString) -> CelOptional,
        id = "format-validate")?;
    Ok(())
}

/// `format.<key>()` of the `I`th format.
fn constant<'b, 'v, const I: usize>(
    _args: Vec<CowVal<'b, 'v>>,
) -> Result<CowVal<'b, 'v>, ExecutionError> {
    Ok(CowVal::owned(NamedFormat(&FORMATS[I])))
}

fn named(name: &CelString<'_>) -> CelOptional<'static> {
    match FORMATS.iter().find(|def| def.key == name.inner()) {
        Some(def) => CelOptional::of(Box::new(NamedFormat(def))),
        None => CelOptional::none(),
    }
}

fn validate(format: &NamedFormat, s: &CelString<'_>) -> CelOptional<'static> {
    let errors = (format.0.validate)(s.inner());
    if errors.is_empty() {
        CelOptional::none()
    } else {
        CelOptional::of(Box::new(super::string_list(errors)))
    }
}

fn dns1123_label_prefix(s: &str) -> Vec<String> {
    is_dns1123_label(&mask_trailing_dash(s))
}

fn dns1123_subdomain_prefix(s: &str) -> Vec<String> {
    is_dns1123_subdomain(&mask_trailing_dash(s))
}

fn dns1035_label_prefix(s: &str) -> Vec<String> {
    is_dns1035_label(&mask_trailing_dash(s))
}

/// Go's `url.ParseRequestURI` error, as is.
fn uri(s: &str) -> Vec<String> {
    match gourl::parse_request_uri(s) {
        Ok(_) => Vec::new(),
        Err(err) => vec![err],
    }
}

fn uuid(s: &str) -> Vec<String> {
    invalid_unless(is_uuid(s), "does not match the UUID format")
}

fn byte(s: &str) -> Vec<String> {
    invalid_unless(is_base64(s), "invalid base64")
}

fn date(s: &str) -> Vec<String> {
    invalid_unless(is_date(s), "invalid date")
}

fn date_time(s: &str) -> Vec<String> {
    invalid_unless(is_date_time(s), "invalid datetime")
}

fn invalid_unless(valid: bool, message: &str) -> Vec<String> {
    if valid {
        Vec::new()
    } else {
        vec![message.to_string()]
    }
}

/// Upstream's `maskTrailingDash`: a name ending in `-` has its last two bytes replaced by `a`.
fn mask_trailing_dash(name: &str) -> String {
    if name.len() > 1 && name.ends_with('-') {
        let cut = name.len() - 2;
        if name.is_char_boundary(cut) {
            return format!("{}a", &name[..cut]);
        }
        // Go cuts a multi-byte character: the bytes left are no valid name, as `!` is not.
        let boundary = (0..cut)
            .rev()
            .find(|&i| name.is_char_boundary(i))
            .unwrap_or(0);
        return format!("{}{}a", &name[..boundary], "!".repeat(cut - boundary));
    }
    name.to_string()
}

/// kube-openapi's `strfmt` UUID pattern: hex groups, dashes optional, any case.
fn is_uuid(s: &str) -> bool {
    static UUID: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new("(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$")
            .expect("the UUID pattern compiles")
    });
    UUID.is_match(s)
}

/// govalidator's `IsBase64`, a pattern: standard alphabet, padded, at least one quantum.
fn is_base64(s: &str) -> bool {
    static BASE64: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$",
        )
        .expect("the base64 pattern compiles")
    });
    BASE64.is_match(s)
}

/// `strfmt.IsDate`: Go's `time.Parse("2006-01-02", s)`, a real calendar day.
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        let digits = &s[range];
        digits
            .bytes()
            .all(|d| d.is_ascii_digit())
            .then(|| digits.parse().ok())
            .flatten()
    };
    let (Some(year), Some(month), Some(day)) = (number(0..4), number(5..7), number(8..10)) else {
        return false;
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

/// `strfmt.IsDateTime`: a date, `t`, and a time checked by its pattern (case-insensitive).
fn is_date_time(s: &str) -> bool {
    static TIME: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^([0-9]{2}):([0-9]{2}):([0-9]{2})(.[0-9]+)?(z|([+-][0-9]{2}:[0-9]{2}))$")
            .expect("the time pattern compiles")
    });
    if s.len() < 4 {
        return false;
    }
    let lower = s.to_lowercase();
    let parts: Vec<&str> = lower.split('t').collect();
    if parts.len() < 2 || !is_date(parts[0]) {
        return false;
    }
    let Some(m) = TIME.captures(parts[1]) else {
        return false;
    };
    &m[1] <= "23" && &m[2] <= "59" && &m[3] <= "59"
}

#[cfg(test)]
mod tests {
    use super::super::testing::{assert_true, eval};

    fn list(items: &[&str]) -> cel::Value {
        cel::Value::List(std::sync::Arc::new(
            items
                .iter()
                .map(|s| cel::Value::String(std::sync::Arc::new(s.to_string())))
                .collect(),
        ))
    }

    /// Upstream's `TestFormat` examples that validate (`format_test.go`) and the apiextensions
    /// "format" cases.
    #[test]
    fn valid_strings_have_no_errors() {
        assert_true(&[
            r#"format.dns1123Label().validate("my-label-name") == optional.none()"#,
            r#"format.dns1123Subdomain().validate("apiextensions.k8s.io") == optional.none()"#,
            r#"format.qualifiedName().validate("apiextensions.k8s.io/v1beta1") == optional.none()"#,
            r#"format.dns1123LabelPrefix().validate("my-label-prefix-") == optional.none()"#,
            r#"format.dns1123SubdomainPrefix().validate("mysubdomain.prefix.-") == optional.none()"#,
            r#"format.dns1035LabelPrefix().validate("my-label-prefix-") == optional.none()"#,
            r#"format.uri().validate("http://example.com") == optional.none()"#,
            r#"format.uuid().validate("123e4567-e89b-12d3-a456-426614174000") == optional.none()"#,
            r#"format.byte().validate("aGVsbG8=") == optional.none()"#,
            r#"format.date().validate("2021-01-01") == optional.none()"#,
            r#"format.datetime().validate("2021-01-01T00:00:00Z") == optional.none()"#,
            r#"format.named("dns1123Label").value().validate("my-name") == optional.none()"#,
            r#"format.dns1123Label().validate("my-label-name") == optional.none()"#,
            r#"format.dns1123Subdomain().validate("example.com") == optional.none()"#,
            r#"format.dns1035Label().validate("my-label-name") == optional.none()"#,
            r#"format.qualifiedName().validate("my.name") == optional.none()"#,
            r#"format.labelValue().validate("my-cool-label-Value") == optional.none()"#,
            r#"format.date().validate("2020-02-29") == optional.none()"#,
            r#"format.datetime().validate("2020-01-01t23:59:59.123+01:00") == optional.none()"#,
            r#"format.uuid().validate("123E4567E89B12D3A456426614174000") == optional.none()"#,
            r#"!format.named("unknown").hasValue()"#,
            r#"format.dns1123Label().validate("contains a space").value()[0] == "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or \'-\', and must start and end with an alphanumeric character (e.g. \'my-name\',  or \'123-abc\', regex used for validation is \'[a-z0-9]([-a-z0-9]*[a-z0-9])?\')""#,
            r#"type(format.uri()) == kubernetes.NamedFormat"#,
        ]);
    }

    #[test]
    fn formats_are_equal_by_name() {
        let keys = [
            "dns1123Label",
            "dns1123Subdomain",
            "dns1035Label",
            "qualifiedName",
            "dns1123LabelPrefix",
            "dns1123SubdomainPrefix",
            "dns1035LabelPrefix",
            "labelValue",
            "uri",
            "uuid",
            "byte",
            "date",
            "datetime",
        ];
        for lhs in keys {
            assert_true(&[
                &format!(r#"format.named("{lhs}").hasValue()"#),
                &format!(r#"format.named("{lhs}").value() == format.{lhs}()"#),
            ]);
            for rhs in keys.iter().filter(|rhs| **rhs != lhs) {
                assert_true(&[&format!("format.{lhs}() != format.{rhs}()")]);
            }
        }
    }

    /// Upstream's `TestFormat` failures, with their messages.
    #[test]
    fn invalid_strings_have_upstream_messages() {
        let label = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
        let subdomain = r"a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
        let dns1035 = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
        for (expr, messages) in [
            (r#"format.dns1123Label().validate("contains a space")"#, vec![label]),
            (r#"format.dns1123Subdomain().validate("contains a space")"#, vec![subdomain]),
            (r#"format.dns1035Label().validate("contains a space")"#, vec![dns1035]),
            (
                r#"format.qualifiedName().validate("contains a space")"#,
                vec!["name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"],
            ),
            (r#"format.dns1123LabelPrefix().validate("contains a space-")"#, vec![label]),
            (r#"format.dns1123SubdomainPrefix().validate("contains a space-")"#, vec![subdomain]),
            (r#"format.dns1035LabelPrefix().validate("contains a space-")"#, vec![dns1035]),
            (r#"format.byte().validate("aGVsbG8")"#, vec!["invalid base64"]),
            (r#"format.date().validate("2020-01-32")"#, vec!["invalid date"]),
            (r#"format.date().validate("2021-02-29")"#, vec!["invalid date"]),
            (r#"format.datetime().validate("2020-01-32T00:00:00Z")"#, vec!["invalid datetime"]),
            (r#"format.datetime().validate("2020-01-01T24:00:00Z")"#, vec!["invalid datetime"]),
            (r#"format.uuid().validate("123e4567")"#, vec!["does not match the UUID format"]),
            (
                r#"format.uri().validate("example.com")"#,
                vec![r#"parse "example.com": invalid URI for request"#],
            ),
            (
                r#"format.labelValue().validate("my-cool-label-Value!!\n\n!!!")"#,
                vec!["a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"],
            ),
        ] {
            let optional = cel::Value::Opaque(std::sync::Arc::new(
                cel::objects::OptionalValue::of(list(&messages)),
            ));
            assert_eq!(eval(expr), Ok(optional), "{expr}");
        }
    }

    #[test]
    fn a_prefix_masks_its_last_two_bytes() {
        assert_eq!(super::mask_trailing_dash("ab-"), "aa");
        assert_eq!(super::mask_trailing_dash("-"), "-");
        assert_eq!(super::mask_trailing_dash("é-"), "!a");
    }
}
