//! The CIDR library (`apiserver/pkg/cel/library/cidr.go`, since 1.30): `cidr(string)`,
//! `isCIDR(string)`, `string(cidr)`, and the members `containsIP` (an IP or a string),
//! `containsCIDR` (a CIDR or a string), `ip`, `masked`, `prefixLength`. Prefixes parse as Go's
//! `netip.ParsePrefix`, which keeps the address as written: `cidr('10.0.0.1/8')` is valid and
//! differs from its `masked()` form.

use cel::common::types::{CelBool, CelInt, CelString};
use cel::{DeclarationError, Env, ExecutionError};

use super::ip::{parse_ip, Ip};
use super::netip::{parse_prefix, Prefix};
use crate::api::go_fmt::go_quote;

/// A `net.CIDR` value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Cidr(Prefix);

opaque_value!(Cidr, "net.CIDR");

pub(super) fn register(env: &mut Env) -> Result<(), DeclarationError> {
    env.add_type(<Cidr as cel::common::value::Val>::cel_type().to_owned())?;
    cel::add_overload!(env, fn string_to_cidr: (CelString) -> Result<Cidr>,
        name = "cidr", id = "string_to_cidr")?;
    cel::add_overload!(env, fn is_cidr: (CelString) -> CelBool, name = "isCIDR", id = "is_cidr")?;
    cel::add_overload!(env, fn cidr_to_string: (Cidr) -> CelString,
        name = "string", id = "cidr_to_string")?;
    cel::add_member_overload!(env, fn contains_ip_string: (Cidr, CelString) -> Result<CelBool>,
        name = "containsIP", id = "cidr_contains_ip_string")?;
    cel::add_member_overload!(env, fn contains_ip: (Cidr, Ip) -> CelBool,
        name = "containsIP", id = "cidr_contains_ip_ip")?;
    cel::add_member_overload!(env, fn contains_cidr_string: (Cidr, CelString) -> Result<CelBool>,
        name = "containsCIDR", id = "cidr_contains_cidr_string")?;
    cel::add_member_overload!(env, fn contains_cidr: (Cidr, Cidr) -> CelBool,
        name = "containsCIDR", id = "cidr_contains_cidr")?;
    cel::add_member_overload!(env, fn cidr_ip: (Cidr) -> Ip, name = "ip", id = "cidr_ip")?;
    cel::add_member_overload!(env, fn prefix_length: (Cidr) -> CelInt, id = "cidr_prefix_length")?;
    cel::add_member_overload!(env, fn masked: (Cidr) -> Cidr, id = "cidr_masked")?;
    Ok(())
}

/// Upstream's `parseCIDR`: Go's `netip.ParsePrefix`, without IPv4-mapped addresses.
fn parse_cidr(raw: &str) -> Result<Prefix, String> {
    let prefix = parse_prefix(raw).map_err(|err| {
        format!("network address parse error during conversion from string: {err}")
    })?;
    if prefix.addr.is4in6() {
        return Err(format!(
            "IPv4-mapped IPv6 address {} is not allowed",
            go_quote(raw)
        ));
    }
    Ok(prefix)
}

/// `cidr(string)`; upstream prefixes the text of `parseCIDR`'s errors once more.
fn string_to_cidr(s: &CelString<'_>) -> Result<Cidr, ExecutionError> {
    parse_cidr(s.inner()).map(Cidr).map_err(|err| {
        super::error(
            "cidr",
            format!("network address parse error during conversion from string: {err}"),
        )
    })
}

fn is_cidr(s: &CelString<'_>) -> CelBool {
    CelBool::from(parse_cidr(s.inner()).is_ok())
}

fn cidr_to_string(cidr: &Cidr) -> CelString<'static> {
    CelString::from(cidr.0.to_string())
}

/// `containsIP(string)`: as upstream, an address that does not parse makes the call a
/// "no such overload" error, not a parse error.
fn contains_ip_string(cidr: &Cidr, ip: &CelString<'_>) -> Result<CelBool, ExecutionError> {
    match parse_ip(ip.inner()) {
        Ok(addr) => Ok(contains_ip(cidr, &Ip(addr))),
        Err(_) => Err(ExecutionError::no_such_member_overload(
            "containsIP",
            vec!["net.CIDR".into(), "string".into()],
        )),
    }
}

fn contains_ip(cidr: &Cidr, ip: &Ip) -> CelBool {
    CelBool::from(cidr.0.contains(ip.0))
}

fn contains_cidr_string(cidr: &Cidr, other: &CelString<'_>) -> Result<CelBool, ExecutionError> {
    let other = string_to_cidr(other).map_err(|err| match err {
        ExecutionError::FunctionError { message, .. } => super::error("containsCIDR", message),
        other => other,
    })?;
    Ok(contains_cidr(cidr, &other))
}

/// Whether `other` lies within `cidr`: they overlap and `other` is at least as narrow.
fn contains_cidr(cidr: &Cidr, other: &Cidr) -> CelBool {
    CelBool::from(cidr.0.overlaps(other.0) && cidr.0.bits <= other.0.bits)
}

fn cidr_ip(cidr: &Cidr) -> Ip {
    Ip(cidr.0.addr)
}

fn prefix_length(cidr: &Cidr) -> CelInt {
    CelInt::from(i64::from(cidr.0.bits))
}

fn masked(cidr: &Cidr) -> Cidr {
    Cidr(cidr.0.masked())
}

#[cfg(test)]
mod tests {
    use super::super::testing::{assert_errors, assert_true};

    /// Upstream's `TestCIDR` cases (`cidr_test.go`) and its documented examples.
    #[test]
    fn upstream_examples() {
        assert_true(&[
            r#"cidr("192.168.0.0/24") == cidr("192.168.0.0/24")"#,
            r#"cidr("192.168.0.0/24").containsIP(ip("192.168.0.1"))"#,
            r#"!cidr("192.168.0.0/24").containsIP(ip("192.168.1.1"))"#,
            r#"cidr("192.168.0.0/24").containsIP("192.168.0.1")"#,
            r#"!cidr("192.168.0.0/24").containsIP("192.168.1.1")"#,
            r#"cidr("192.168.0.0/24").containsCIDR(cidr("192.168.0.0/25"))"#,
            r#"cidr("192.168.0.0/24").containsCIDR(cidr("192.168.0.1/32"))"#,
            r#"!cidr("192.168.0.0/24").containsCIDR(cidr("192.168.0.0/23"))"#,
            r#"!cidr("192.168.0.0/24").containsCIDR(cidr("192.169.0.1/32"))"#,
            r#"cidr("192.168.0.0/24").containsCIDR("192.168.0.0/25")"#,
            r#"!cidr("192.168.0.0/24").containsCIDR("192.168.0.0/23")"#,
            r#"cidr("192.168.0.0/24").ip() == ip("192.168.0.0")"#,
            r#"cidr("192.168.0.0/24").masked() == cidr("192.168.0.0/24")"#,
            r#"cidr("192.168.0.1/24").masked() == cidr("192.168.0.0/24")"#,
            r#"cidr("192.168.0.0/24").prefixLength() == 24"#,
            r#"cidr("2001:db8::/32") == cidr("2001:db8::/32")"#,
            r#"cidr("2001:db8::/32").containsIP(ip("2001:db8::1"))"#,
            r#"!cidr("2001:db8::/32").containsIP(ip("2001:dc8::1"))"#,
            r#"cidr("2001:db8::/32").containsIP("2001:db8::1")"#,
            r#"!cidr("2001:db8::/32").containsIP("2001:dc8::1")"#,
            r#"cidr("2001:db8::/32").containsCIDR(cidr("2001:db8::/33"))"#,
            r#"!cidr("2001:db8::/32").containsCIDR(cidr("2001:db8::/31"))"#,
            r#"cidr("2001:db8::/32").containsCIDR("2001:db8::/33")"#,
            r#"!cidr("2001:db8::/32").containsCIDR("2001:db8::/31")"#,
            r#"cidr("2001:db8::/32").ip() == ip("2001:db8::")"#,
            r#"cidr("2001:db8::/32").masked() == cidr("2001:db8::/32")"#,
            r#"cidr("2001:db8:1::/32").masked() == cidr("2001:db8::/32")"#,
            r#"cidr("2001:db8::/32").prefixLength() == 32"#,
            r#"string(cidr("192.168.0.0/24")) == "192.168.0.0/24""#,
            r#"string(cidr("192.168.0.1/24")) == "192.168.0.1/24""#,
            r#"type(cidr("192.168.0.0/24")) == net.CIDR"#,
            r#"type(cidr("2001:db8::/32").ip()) == net.IP"#,
            r#"cidr('192.168.0.0/24') == cidr('192.168.0.0/24').masked()"#,
            r#"cidr('192.168.0.1/24') != cidr('192.168.0.1/24').masked()"#,
            r#"cidr('::1/128').ip().family() == 6"#,
            r#"cidr('192.168.0.1/24').ip().family() == 4"#,
            r#"isCIDR('192.168.0.0/16') && isCIDR('::1/128')"#,
            r#"!isCIDR('192.168.0.0/33') && !isCIDR('::1/129') && !isCIDR('::ffff:1.2.3.4/120')"#,
            r#"!cidr("10.0.0.0/8").containsCIDR("::/0")"#,
        ]);
    }

    #[test]
    fn errors_are_upstream_texts() {
        assert_errors(&[
            (
                r#"cidr("192.168.0.0/")"#,
                r#"network address parse error during conversion from string: network address parse error during conversion from string: netip.ParsePrefix("192.168.0.0/"): bad bits after slash: """#,
            ),
            (
                r#"cidr("2001:db8::/")"#,
                r#"network address parse error during conversion from string: network address parse error during conversion from string: netip.ParsePrefix("2001:db8::/"): bad bits after slash: """#,
            ),
            (
                r#"cidr("::ffff:1.2.3.4/120")"#,
                r#"network address parse error during conversion from string: IPv4-mapped IPv6 address "::ffff:1.2.3.4/120" is not allowed"#,
            ),
            (
                r#"cidr("10.0.0.0/8").containsCIDR("10.0.0.0")"#,
                r#"network address parse error during conversion from string: network address parse error during conversion from string: netip.ParsePrefix("10.0.0.0"): no '/'"#,
            ),
            (
                r#"cidr("10.0.0.0/8").containsIP("::ffff:10.0.0.1")"#,
                "no such overload",
            ),
            (
                r#"cidr("10.0.0.0/8").containsIP("bad")"#,
                "no such overload",
            ),
        ]);
    }
}
