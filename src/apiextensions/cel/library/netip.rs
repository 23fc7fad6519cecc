//! IP addresses and prefixes with Go's `net/netip` semantics, which the IP and CIDR libraries
//! are defined by: `ParseAddr`, `ParsePrefix` and their error texts, `Addr.String` (RFC 5952
//! for IPv6, `::ffff:1.2.3.4` for IPv4-mapped addresses) and the address classifications.

use crate::api::go_fmt::go_quote;

/// An IPv4 or IPv6 address, without a zone (the libraries reject zones).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Addr {
    V4([u8; 4]),
    V6([u8; 16]),
}

/// `netip.ParseAddr`: the address and its zone (`fe80::1%eth0`), or Go's error text
/// (`ParseAddr("1.2.3"): IPv4 address too short`).
pub(super) fn parse_addr(s: &str) -> Result<(Addr, &str), String> {
    for c in s.bytes() {
        match c {
            b'.' => return parse_ipv4(s).map(|addr| (Addr::V4(addr), "")),
            b':' => return parse_ipv6(s),
            b'%' => return Err(addr_error(s, "missing IPv6 address", "")),
            _ => {}
        }
    }
    Err(addr_error(s, "unable to parse IP", ""))
}

/// Go's `parseAddrError.Error()`.
fn addr_error(input: &str, msg: &str, at: &str) -> String {
    if at.is_empty() {
        format!("ParseAddr({}): {msg}", go_quote(input))
    } else {
        format!(
            "ParseAddr({}): {msg} (at {})",
            go_quote(input),
            go_quote(at)
        )
    }
}

/// Go's `parseIPv4Fields` over `input[off..end]`; errors name the whole `input`.
fn parse_ipv4_fields(input: &str, off: usize, end: usize) -> Result<[u8; 4], String> {
    let s = &input.as_bytes()[off..end];
    let at = |i: usize| &input[off + i..end];
    let mut fields = [0u8; 4];
    let (mut val, mut pos, mut dig_len) = (0u32, 0usize, 0usize);
    for (i, &c) in s.iter().enumerate() {
        if c.is_ascii_digit() {
            if dig_len == 1 && val == 0 {
                return Err(addr_error(
                    input,
                    "IPv4 field has octet with leading zero",
                    "",
                ));
            }
            val = val * 10 + u32::from(c - b'0');
            dig_len += 1;
            if val > 255 {
                return Err(addr_error(input, "IPv4 field has value >255", ""));
            }
        } else if c == b'.' {
            if i == 0 || i == s.len() - 1 || s[i - 1] == b'.' {
                return Err(addr_error(
                    input,
                    "IPv4 field must have at least one digit",
                    at(i),
                ));
            }
            if pos == 3 {
                return Err(addr_error(input, "IPv4 address too long", ""));
            }
            fields[pos] = val as u8;
            pos += 1;
            val = 0;
            dig_len = 0;
        } else {
            // `at` starts at a character boundary: every byte before it is ASCII.
            return Err(addr_error(input, "unexpected character", at(i)));
        }
    }
    if pos < 3 {
        return Err(addr_error(input, "IPv4 address too short", ""));
    }
    fields[3] = val as u8;
    Ok(fields)
}

fn parse_ipv4(s: &str) -> Result<[u8; 4], String> {
    parse_ipv4_fields(s, 0, s.len())
}

/// Go's `parseIPv6`, zone included.
fn parse_ipv6(input: &str) -> Result<(Addr, &str), String> {
    let (mut s, zone) = match input.find('%') {
        Some(i) => {
            let zone = &input[i + 1..];
            if zone.is_empty() {
                return Err(addr_error(input, "zone must be a non-empty string", ""));
            }
            (&input[..i], zone)
        }
        None => (input, ""),
    };
    let mut ip = [0u8; 16];
    let mut ellipsis: Option<usize> = None;
    if s.len() >= 2 && s.starts_with("::") {
        ellipsis = Some(0);
        s = &s[2..];
        if s.is_empty() {
            return Ok((Addr::V6(ip), zone));
        }
    }
    let mut i = 0;
    while i < 16 {
        let bytes = s.as_bytes();
        let mut off = 0;
        let mut acc: u32 = 0;
        while off < bytes.len() {
            let Some(digit) = (bytes[off] as char).to_digit(16) else {
                break;
            };
            acc = (acc << 4) + digit;
            if off > 3 {
                return Err(addr_error(
                    input,
                    "each group must have 4 or less digits",
                    s,
                ));
            }
            if acc > u32::from(u16::MAX) {
                return Err(addr_error(input, "IPv6 field has value >=2^16", s));
            }
            off += 1;
        }
        if off == 0 {
            return Err(addr_error(
                input,
                "each colon-separated field must have at least one digit",
                s,
            ));
        }
        if off < bytes.len() && bytes[off] == b'.' {
            if ellipsis.is_none() && i != 12 {
                return Err(addr_error(
                    input,
                    "embedded IPv4 address must replace the final 2 fields of the address",
                    s,
                ));
            }
            if i + 4 > 16 {
                return Err(addr_error(
                    input,
                    "too many hex fields to fit an embedded IPv4 at the end of the address",
                    s,
                ));
            }
            let end = if zone.is_empty() {
                input.len()
            } else {
                input.len() - zone.len() - 1
            };
            let fields = parse_ipv4_fields(input, end - s.len(), end)?;
            ip[i..i + 4].copy_from_slice(&fields);
            s = "";
            i += 4;
            break;
        }
        ip[i] = (acc >> 8) as u8;
        ip[i + 1] = acc as u8;
        i += 2;
        s = &s[off..];
        if s.is_empty() {
            break;
        }
        if !s.starts_with(':') {
            return Err(addr_error(input, "unexpected character, want colon", s));
        } else if s.len() == 1 {
            return Err(addr_error(
                input,
                "colon must be followed by more characters",
                s,
            ));
        }
        s = &s[1..];
        if s.starts_with(':') {
            if ellipsis.is_some() {
                return Err(addr_error(input, "multiple :: in address", s));
            }
            ellipsis = Some(i);
            s = &s[1..];
            if s.is_empty() {
                break;
            }
        }
    }
    if !s.is_empty() {
        return Err(addr_error(input, "trailing garbage after address", s));
    }
    if i < 16 {
        let Some(ellipsis) = ellipsis else {
            return Err(addr_error(input, "address string too short", ""));
        };
        let n = 16 - i;
        for j in (ellipsis..i).rev() {
            ip[j + n] = ip[j];
        }
        ip[ellipsis..ellipsis + n].fill(0);
    } else if ellipsis.is_some() {
        return Err(addr_error(
            input,
            "the :: must expand to at least one field of zeros",
            "",
        ));
    }
    Ok((Addr::V6(ip), zone))
}

impl Addr {
    pub(super) fn is4(self) -> bool {
        matches!(self, Addr::V4(_))
    }

    /// An IPv4-mapped IPv6 address (`::ffff:0:0/96`).
    pub(super) fn is4in6(self) -> bool {
        matches!(self, Addr::V6(b) if b[..10].iter().all(|&x| x == 0) && b[10] == 0xff && b[11] == 0xff)
    }

    /// 32 or 128.
    pub(super) fn bit_len(self) -> u8 {
        match self {
            Addr::V4(_) => 32,
            Addr::V6(_) => 128,
        }
    }

    /// The address as a 128-bit number: IPv4 addresses in their IPv4-mapped form.
    fn as_u128(self) -> u128 {
        match self {
            Addr::V4(b) => 0xffff_0000_0000 | u128::from(u32::from_be_bytes(b)),
            Addr::V6(b) => u128::from_be_bytes(b),
        }
    }

    /// The IPv4 address of an IPv4 or IPv4-mapped address.
    fn unmapped(self) -> Addr {
        match self {
            Addr::V6(b) if self.is4in6() => Addr::V4([b[12], b[13], b[14], b[15]]),
            other => other,
        }
    }

    pub(super) fn is_unspecified(self) -> bool {
        match self {
            Addr::V4(b) => b == [0; 4],
            Addr::V6(b) => b == [0; 16],
        }
    }

    pub(super) fn is_loopback(self) -> bool {
        match self.unmapped() {
            Addr::V4(b) => b[0] == 127,
            Addr::V6(b) => u128::from_be_bytes(b) == 1,
        }
    }

    fn is_multicast(self) -> bool {
        match self.unmapped() {
            Addr::V4(b) => b[0] & 0xf0 == 0xe0,
            Addr::V6(b) => b[0] == 0xff,
        }
    }

    pub(super) fn is_link_local_multicast(self) -> bool {
        match self.unmapped() {
            Addr::V4(b) => b[0] == 224 && b[1] == 0 && b[2] == 0,
            Addr::V6(b) => u16::from_be_bytes([b[0], b[1]]) & 0xff0f == 0xff02,
        }
    }

    pub(super) fn is_link_local_unicast(self) -> bool {
        match self.unmapped() {
            Addr::V4(b) => b[0] == 169 && b[1] == 254,
            Addr::V6(b) => u16::from_be_bytes([b[0], b[1]]) & 0xffc0 == 0xfe80,
        }
    }

    /// Go's `IsGlobalUnicast`: private and unique-local addresses count too.
    pub(super) fn is_global_unicast(self) -> bool {
        let ip = self.unmapped();
        if let Addr::V4(b) = ip {
            if b == [0; 4] || b == [255; 4] {
                return false;
            }
        }
        ip != Addr::V6([0; 16])
            && !ip.is_loopback()
            && !ip.is_multicast()
            && !ip.is_link_local_unicast()
    }

    /// The address with all but its first `bits` bits cleared.
    fn masked(self, bits: u8) -> Addr {
        match self {
            Addr::V4(b) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
                Addr::V4((u32::from_be_bytes(b) & mask).to_be_bytes())
            }
            Addr::V6(b) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
                Addr::V6((u128::from_be_bytes(b) & mask).to_be_bytes())
            }
        }
    }
}

impl std::fmt::Display for Addr {
    /// Go's `Addr.String`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Addr::V4(b) => write!(f, "{}.{}.{}.{}", b[0], b[1], b[2], b[3]),
            Addr::V6(_) if self.is4in6() => write!(f, "::ffff:{}", self.unmapped()),
            Addr::V6(_) => {
                let n = self.as_u128();
                let group = |i: usize| (n >> (112 - 16 * i)) as u16;
                // The longest run of at least two zero groups, the first of equal ones.
                let (mut zero_start, mut zero_end) = (usize::MAX, usize::MAX);
                for i in 0..8 {
                    let mut j = i;
                    while j < 8 && group(j) == 0 {
                        j += 1;
                    }
                    let len = j - i;
                    let best = if zero_start == usize::MAX {
                        0
                    } else {
                        zero_end - zero_start
                    };
                    if len >= 2 && len > best {
                        (zero_start, zero_end) = (i, j);
                    }
                }
                let mut i = 0;
                while i < 8 {
                    if i == zero_start {
                        f.write_str("::")?;
                        i = zero_end;
                        if i >= 8 {
                            break;
                        }
                    } else if i > 0 {
                        f.write_str(":")?;
                    }
                    write!(f, "{:x}", group(i))?;
                    i += 1;
                }
                Ok(())
            }
        }
    }
}

/// An address prefix as `netip.Prefix` keeps it: the address as written (not masked) and the
/// prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) struct Prefix {
    pub(super) addr: Addr,
    pub(super) bits: u8,
}

/// `netip.ParsePrefix`, with Go's error texts (`netip.ParsePrefix("1.2.3.4"): no '/'`).
pub(super) fn parse_prefix(s: &str) -> Result<Prefix, String> {
    let error = |msg: &str| format!("netip.ParsePrefix({}): {msg}", go_quote(s));
    let Some(i) = s.rfind('/') else {
        return Err(error("no '/'"));
    };
    let (addr, zone) = parse_addr(&s[..i]).map_err(|e| error(&e))?;
    if !zone.is_empty() {
        return Err(error("IPv6 zones cannot be present in a prefix"));
    }
    let bits_str = &s[i + 1..];
    let bad_bits = || error(&format!("bad bits after slash: {}", go_quote(bits_str)));
    let first = bits_str.as_bytes().first().copied();
    if bits_str.len() > 1 && !matches!(first, Some(b'1'..=b'9')) {
        return Err(bad_bits());
    }
    // strconv.Atoi: an optional sign, then decimal digits.
    let digits = bits_str.strip_prefix(['+', '-']).unwrap_or(bits_str);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad_bits());
    }
    let bits: i64 = bits_str.parse().map_err(|_| bad_bits())?;
    if bits < 0 || bits > i64::from(addr.bit_len()) {
        return Err(error("prefix length out of range"));
    }
    Ok(Prefix {
        addr,
        bits: bits as u8,
    })
}

impl Prefix {
    /// The prefix with the address's host bits cleared.
    pub(super) fn masked(self) -> Prefix {
        Prefix {
            addr: self.addr.masked(self.bits),
            bits: self.bits,
        }
    }

    /// Go's `Prefix.Contains`: an address of the other family is never contained.
    pub(super) fn contains(self, addr: Addr) -> bool {
        if self.addr.is4() != addr.is4() {
            return false;
        }
        addr.masked(self.bits) == self.addr.masked(self.bits)
    }

    /// Go's `Prefix.Overlaps`.
    pub(super) fn overlaps(self, other: Prefix) -> bool {
        if self == other {
            return true;
        }
        if self.addr.is4() != other.addr.is4() {
            return false;
        }
        let min_bits = self.bits.min(other.bits);
        min_bits == 0 || self.addr.masked(min_bits) == other.addr.masked(min_bits)
    }
}

impl std::fmt::Display for Prefix {
    /// Go's `Prefix.String`: `<ip>/<bits>`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.bits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> Addr {
        parse_addr(s).unwrap().0
    }

    #[test]
    fn addresses_parse_and_print_as_go() {
        for (input, printed) in [
            ("192.168.0.1", "192.168.0.1"),
            ("2001:DB8::68", "2001:db8::68"),
            ("2001:db8:0:0:0:0:0:abcd", "2001:db8::abcd"),
            ("::", "::"),
            ("::1", "::1"),
            ("1::", "1::"),
            ("1:0:0:1:0:0:0:1", "1:0:0:1::1"),
            ("1:0:0:2:0:0:3:4", "1::2:0:0:3:4"),
            ("1:0:2:3:4:5:6:7", "1:0:2:3:4:5:6:7"),
            ("::ffff:1.2.3.4", "::ffff:1.2.3.4"),
            ("::1.2.3.4", "::102:304"),
            ("0:0:0:0:0:0:1.2.3.4", "::102:304"),
        ] {
            assert_eq!(addr(input).to_string(), printed, "{input}");
        }
        assert_eq!(parse_addr("fe80::1%eth0").unwrap().1, "eth0");
    }

    #[test]
    fn parse_errors_are_go_texts() {
        for (input, error) in [
            ("", r#"ParseAddr(""): unable to parse IP"#),
            ("bad", r#"ParseAddr("bad"): unable to parse IP"#),
            ("%eth0", r#"ParseAddr("%eth0"): missing IPv6 address"#),
            ("1.2.3", r#"ParseAddr("1.2.3"): IPv4 address too short"#),
            (
                "192.168.0.1.0",
                r#"ParseAddr("192.168.0.1.0"): IPv4 address too long"#,
            ),
            (
                "01.2.3.4",
                r#"ParseAddr("01.2.3.4"): IPv4 field has octet with leading zero"#,
            ),
            (
                "1.2.3.256",
                r#"ParseAddr("1.2.3.256"): IPv4 field has value >255"#,
            ),
            (
                "1..2.3",
                r#"ParseAddr("1..2.3"): IPv4 field must have at least one digit (at ".2.3")"#,
            ),
            (
                "1.2.3.x",
                r#"ParseAddr("1.2.3.x"): unexpected character (at "x")"#,
            ),
            (
                "2001:db8:::68",
                r#"ParseAddr("2001:db8:::68"): each colon-separated field must have at least one digit (at ":68")"#,
            ),
            (
                "1:2:3:4:5:6:7",
                r#"ParseAddr("1:2:3:4:5:6:7"): address string too short"#,
            ),
            (
                "1::2::3",
                r#"ParseAddr("1::2::3"): multiple :: in address (at ":3")"#,
            ),
            (
                "12345::",
                r#"ParseAddr("12345::"): each group must have 4 or less digits (at "12345::")"#,
            ),
            (
                "1:2:3:4:5:6:7:8:9",
                r#"ParseAddr("1:2:3:4:5:6:7:8:9"): trailing garbage after address (at "9")"#,
            ),
            (
                "1:2:3:4:5:6:7:8::",
                r#"ParseAddr("1:2:3:4:5:6:7:8::"): the :: must expand to at least one field of zeros"#,
            ),
            (
                "1:2:3:4::5:6:7:8",
                r#"ParseAddr("1:2:3:4::5:6:7:8"): the :: must expand to at least one field of zeros"#,
            ),
            (
                "fe80::1%",
                r#"ParseAddr("fe80::1%"): zone must be a non-empty string"#,
            ),
            (
                "1:2:1.2.3.4",
                r#"ParseAddr("1:2:1.2.3.4"): embedded IPv4 address must replace the final 2 fields of the address (at "1.2.3.4")"#,
            ),
            ("::1.2.3", r#"ParseAddr("::1.2.3"): IPv4 address too short"#),
            (
                "1:",
                r#"ParseAddr("1:"): colon must be followed by more characters (at ":")"#,
            ),
            (
                "1:x",
                r#"ParseAddr("1:x"): each colon-separated field must have at least one digit (at "x")"#,
            ),
            (
                "1x:",
                r#"ParseAddr("1x:"): unexpected character, want colon (at "x:")"#,
            ),
        ] {
            assert_eq!(parse_addr(input).unwrap_err(), error, "{input}");
        }
    }

    #[test]
    fn prefixes_parse_as_go() {
        let p = parse_prefix("192.168.0.1/24").unwrap();
        assert_eq!(p.to_string(), "192.168.0.1/24");
        assert_eq!(p.masked().to_string(), "192.168.0.0/24");
        assert_eq!(
            parse_prefix("2001:db8:1::/32")
                .unwrap()
                .masked()
                .to_string(),
            "2001:db8::/32"
        );
        for (input, error) in [
            ("1.2.3.4", r#"netip.ParsePrefix("1.2.3.4"): no '/'"#),
            (
                "1.2.3.4/",
                r#"netip.ParsePrefix("1.2.3.4/"): bad bits after slash: """#,
            ),
            (
                "1.2.3.4/08",
                r#"netip.ParsePrefix("1.2.3.4/08"): bad bits after slash: "08""#,
            ),
            (
                "1.2.3.4/+8",
                r#"netip.ParsePrefix("1.2.3.4/+8"): bad bits after slash: "+8""#,
            ),
            (
                "1.2.3.4/33",
                r#"netip.ParsePrefix("1.2.3.4/33"): prefix length out of range"#,
            ),
            (
                "::/129",
                r#"netip.ParsePrefix("::/129"): prefix length out of range"#,
            ),
            (
                "fe80::%eth0/64",
                r#"netip.ParsePrefix("fe80::%eth0/64"): IPv6 zones cannot be present in a prefix"#,
            ),
            (
                "1.2.3/8",
                r#"netip.ParsePrefix("1.2.3/8"): ParseAddr("1.2.3"): IPv4 address too short"#,
            ),
        ] {
            assert_eq!(parse_prefix(input).unwrap_err(), error, "{input}");
        }
    }

    #[test]
    fn containment_and_overlap_follow_go() {
        let p = parse_prefix("10.0.0.0/8").unwrap();
        assert!(p.contains(addr("10.1.2.3")));
        assert!(!p.contains(addr("11.0.0.1")));
        assert!(!p.contains(addr("::ffff:10.1.2.3")), "other family");
        let all = parse_prefix("0.0.0.0/0").unwrap();
        assert!(all.contains(addr("1.2.3.4")) && !all.contains(addr("::1")));
        assert!(p.overlaps(parse_prefix("10.2.0.0/16").unwrap()));
        assert!(!p.overlaps(parse_prefix("11.0.0.0/16").unwrap()));
        assert!(!p.overlaps(parse_prefix("::/0").unwrap()));
    }

    #[test]
    fn classifications_follow_go() {
        assert!(addr("169.254.1.1").is_link_local_unicast());
        assert!(addr("fe80::1").is_link_local_unicast());
        assert!(addr("ff02::1").is_link_local_multicast());
        assert!(!addr("ff05::1").is_link_local_multicast());
        assert!(addr("10.0.0.1").is_global_unicast());
        assert!(addr("fd00::1").is_global_unicast());
        assert!(!addr("0.0.0.0").is_global_unicast());
        assert!(!addr("::").is_global_unicast());
        assert!(!addr("224.0.0.1").is_global_unicast());
        assert!(addr("::ffff:127.0.0.1").is_loopback());
    }
}
