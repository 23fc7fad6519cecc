//! The IP library (`apiserver/pkg/cel/library/ip.go`, since 1.30): `ip(string)`,
//! `isIP(string)`, `ip.isCanonical(string)`, `string(ip)`, and the members `family`,
//! `isUnspecified`, `isLoopback`, `isLinkLocalMulticast`, `isLinkLocalUnicast`,
//! `isGlobalUnicast`. Addresses parse as Go's `netip.ParseAddr`; IPv4-mapped IPv6 addresses and
//! zones are refused.

use cel::common::types::{CelBool, CelInt, CelString};
use cel::{DeclarationError, Env, ExecutionError};

use super::netip::{parse_addr, Addr};
use crate::api::go_fmt::go_quote;

/// A `net.IP` value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Ip(pub(super) Addr);

opaque_value!(Ip, "net.IP");

pub(super) fn register(env: &mut Env) -> Result<(), DeclarationError> {
    env.add_type(<Ip as cel::common::value::Val>::cel_type().to_owned())?;
    cel::add_overload!(env, fn string_to_ip: (CelString) -> Result<Ip>, name = "ip", id = "string_to_ip")?;
    cel::add_overload!(env, fn is_ip: (CelString) -> CelBool, name = "isIP", id = "is_ip")?;
    cel::add_overload!(env, fn ip_is_canonical: (CelString) -> Result<CelBool>,
        name = "ip.isCanonical", id = "ip_is_canonical")?;
    cel::add_overload!(env, fn ip_to_string: (Ip) -> CelString, name = "string", id = "ip_to_string")?;
    cel::add_member_overload!(env, fn family: (Ip) -> CelInt, id = "ip_family")?;
    cel::add_member_overload!(env, fn is_unspecified: (Ip) -> CelBool, id = "ip_is_unspecified")?;
    cel::add_member_overload!(env, fn is_loopback: (Ip) -> CelBool, id = "ip_is_loopback")?;
    cel::add_member_overload!(env, fn is_link_local_multicast: (Ip) -> CelBool,
        id = "ip_is_link_local_multicast")?;
    cel::add_member_overload!(env, fn is_link_local_unicast: (Ip) -> CelBool,
        id = "ip_is_link_local_unicast")?;
    cel::add_member_overload!(env, fn is_global_unicast: (Ip) -> CelBool,
        id = "ip_is_global_unicast")?;
    Ok(())
}

/// Upstream's `parseIPAddr`: Go's `netip.ParseAddr`, without zones or IPv4-mapped addresses.
pub(super) fn parse_ip(raw: &str) -> Result<Addr, String> {
    let (addr, zone) = parse_addr(raw).map_err(|err| {
        format!(
            "IP Address {} parse error during conversion from string: {err}",
            go_quote(raw)
        )
    })?;
    if !zone.is_empty() {
        return Err(format!(
            "IP address {} with zone value is not allowed",
            go_quote(raw)
        ));
    }
    if addr.is4in6() {
        return Err(format!(
            "IPv4-mapped IPv6 address {} is not allowed",
            go_quote(raw)
        ));
    }
    Ok(addr)
}

pub(super) fn string_to_ip(s: &CelString<'_>) -> Result<Ip, ExecutionError> {
    parse_ip(s.inner())
        .map(Ip)
        .map_err(|err| super::error("ip", err))
}

fn is_ip(s: &CelString<'_>) -> CelBool {
    CelBool::from(parse_ip(s.inner()).is_ok())
}

/// Whether the address is written as Go prints it (`Addr.String`), its one canonical form.
fn ip_is_canonical(s: &CelString<'_>) -> Result<CelBool, ExecutionError> {
    let addr = parse_ip(s.inner()).map_err(|err| super::error("ip.isCanonical", err))?;
    Ok(CelBool::from(addr.to_string() == s.inner()))
}

fn ip_to_string(ip: &Ip) -> CelString<'static> {
    CelString::from(ip.0.to_string())
}

fn family(ip: &Ip) -> CelInt {
    CelInt::from(if ip.0.is4() { 4 } else { 6 })
}

fn is_unspecified(ip: &Ip) -> CelBool {
    CelBool::from(ip.0.is_unspecified())
}

fn is_loopback(ip: &Ip) -> CelBool {
    CelBool::from(ip.0.is_loopback())
}

fn is_link_local_multicast(ip: &Ip) -> CelBool {
    CelBool::from(ip.0.is_link_local_multicast())
}

fn is_link_local_unicast(ip: &Ip) -> CelBool {
    CelBool::from(ip.0.is_link_local_unicast())
}

fn is_global_unicast(ip: &Ip) -> CelBool {
    CelBool::from(ip.0.is_global_unicast())
}

#[cfg(test)]
mod tests {
    use super::super::testing::{assert_errors, assert_true, eval};

    /// Upstream's `TestIP` cases (`ip_test.go`) and its documented examples.
    #[test]
    fn upstream_examples() {
        assert_true(&[
            r#"ip("192.168.0.1") == ip("192.168.0.1")"#,
            r#"isIP("192.168.0.1")"#,
            r#"!isIP("192.168.0.1.0")"#,
            r#"ip.isCanonical("127.0.0.1")"#,
            r#"ip("192.168.0.1").family() == 4"#,
            r#"ip("0.0.0.0").isUnspecified()"#,
            r#"!ip("127.0.0.1").isUnspecified()"#,
            r#"ip("127.0.0.1").isLoopback()"#,
            r#"!ip("1.2.3.4").isLoopback()"#,
            r#"ip("224.0.0.1").isLinkLocalMulticast()"#,
            r#"!ip("224.0.1.1").isLinkLocalMulticast()"#,
            r#"ip("169.254.169.254").isLinkLocalUnicast()"#,
            r#"!ip("192.168.0.1").isLinkLocalUnicast()"#,
            r#"ip("192.168.0.1").isGlobalUnicast()"#,
            r#"!ip("255.255.255.255").isGlobalUnicast()"#,
            r#"ip("2001:db8::68") == ip("2001:DB8::68")"#,
            r#"isIP("2001:db8::68")"#,
            r#"!isIP("2001:db8:::68")"#,
            r#"ip.isCanonical("2001:db8::68")"#,
            r#"!ip.isCanonical("2001:DB8::68")"#,
            r#"!ip.isCanonical("2001:db8::0:0:0:abcd")"#,
            r#"ip("2001:db8::68").family() == 6"#,
            r#"ip("::").isUnspecified()"#,
            r#"!ip("::1").isUnspecified()"#,
            r#"ip("::1").isLoopback()"#,
            r#"!ip("2001:db8::abcd").isLoopback()"#,
            r#"ip("ff02::1").isLinkLocalMulticast()"#,
            r#"!ip("fd00::1").isLinkLocalMulticast()"#,
            r#"ip("fe80::1").isLinkLocalUnicast()"#,
            r#"!ip("fd80::1").isLinkLocalUnicast()"#,
            r#"ip("2001:db8::abcd").isGlobalUnicast()"#,
            r#"!ip("ff00::1").isGlobalUnicast()"#,
            r#"string(ip("192.168.0.1")) == "192.168.0.1""#,
            r#"string(ip("2001:DB8:0:0::1")) == "2001:db8::1""#,
            r#"type(ip("192.168.0.1")) == net.IP"#,
            r#"ip("127.0.0.1") != ip("127.0.0.2")"#,
            r#"!isIP("::ffff:1.2.3.4") && !isIP("fe80::1%eth0") && !isIP("127.0.0.01")"#,
        ]);
    }

    #[test]
    fn errors_are_upstream_texts() {
        assert_errors(&[
            (
                r#"ip("192.168.0.1.0")"#,
                r#"IP Address "192.168.0.1.0" parse error during conversion from string: ParseAddr("192.168.0.1.0"): IPv4 address too long"#,
            ),
            (
                r#"ip.isCanonical("127.0.0.1.0")"#,
                r#"IP Address "127.0.0.1.0" parse error during conversion from string: ParseAddr("127.0.0.1.0"): IPv4 address too long"#,
            ),
            (
                r#"ip("2001:db8:::68")"#,
                r#"IP Address "2001:db8:::68" parse error during conversion from string: ParseAddr("2001:db8:::68"): each colon-separated field must have at least one digit (at ":68")"#,
            ),
            (
                r#"ip.isCanonical("2001:db8:::68")"#,
                r#"IP Address "2001:db8:::68" parse error during conversion from string: ParseAddr("2001:db8:::68"): each colon-separated field must have at least one digit (at ":68")"#,
            ),
            (
                "ip('bad')",
                r#"IP Address "bad" parse error during conversion from string: ParseAddr("bad"): unable to parse IP"#,
            ),
            (
                "ip('fe80::1%eth0')",
                r#"IP address "fe80::1%eth0" with zone value is not allowed"#,
            ),
            (
                "ip('::ffff:1.2.3.4')",
                r#"IPv4-mapped IPv6 address "::ffff:1.2.3.4" is not allowed"#,
            ),
            ("isIP(1)", "no such overload"),
            (r#"isIP(cidr("192.168.0.0/24"))"#, "no such overload"),
        ]);
    }

    #[test]
    fn an_ip_is_not_a_string() {
        assert_eq!(eval("ip('::1') == '::1'"), Ok(cel::Value::Bool(false)));
        assert!(eval("ip('::1')").is_err(), "an opaque value is no result");
    }
}
