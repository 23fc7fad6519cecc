//! The quantity library (`apiserver/pkg/cel/library/quantity.go`, since 1.28): `quantity(string)`,
//! `isQuantity(string)`, `sign(quantity)`, and the members `isInteger`, `asInteger`,
//! `asApproximateFloat`, `add` and `sub` (a quantity or an int), `isGreaterThan`, `isLessThan`,
//! `compareTo`.
//!
//! Values are exact, as `resource.Quantity` keeps them (`apimachinery/pkg/api/resource`): an
//! `int64` scaled by a power of ten while it fits, else an arbitrary-precision decimal rounded up
//! to nanos. Which of the two a value is shows, as upstream: `isInteger()` is true only of the
//! former with a non-negative scale (`quantity('1000m').isInteger()` is false), and the float of
//! `asApproximateFloat()` is computed from either as Go computes it.

use std::cmp::Ordering;
use std::sync::LazyLock;

use cel::common::types::{CelBool, CelDouble, CelInt, CelString};
use cel::common::value::Val;
use cel::{DeclarationError, Env, ExecutionError};
use num_bigint::{BigInt, Sign};
use num_traits::{ToPrimitive, Zero};

const ERR_FORMAT_WRONG: &str =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
const ERR_NUMERIC: &str = "unable to parse numeric part of quantity";
const ERR_SUFFIX: &str = "unable to parse quantity's suffix";

/// The most decimal digits an exact operation may add to align two decimals: more would take
/// unbounded memory (upstream's `inf.Dec` would try).
const MAX_ALIGNMENT_DIGITS: i64 = 100_000;

/// A quantity's amount, as `resource.Quantity` holds it.
#[derive(Clone, Debug)]
enum Amount {
    /// `int64Amount`: `value × 10^scale`.
    Int { value: i64, scale: i64 },
    /// `inf.Dec`: `unscaled × 10^-scale`.
    Dec(Dec),
}

#[derive(Clone, Debug)]
struct Dec {
    unscaled: BigInt,
    scale: i64,
}

/// A `kubernetes.Quantity` value; two are equal when they compare equal (`200M == 0.2G`).
#[derive(Clone, Debug)]
pub(super) struct Quantity(Amount);

impl PartialEq for Quantity {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

opaque_value!(Quantity, "kubernetes.Quantity");

pub(super) fn register(env: &mut Env) -> Result<(), DeclarationError> {
    env.add_type(<Quantity as Val>::cel_type().to_owned())?;
    cel::add_overload!(env, fn string_to_quantity: (CelString) -> Result<Quantity>,
        name = "quantity", id = "string_to_quantity")?;
    cel::add_overload!(env, fn is_quantity: (CelString) -> CelBool,
        name = "isQuantity", id = "is_quantity_string")?;
    cel::add_overload!(env, fn sign: (Quantity) -> CelInt, id = "quantity_sign")?;
    cel::add_member_overload!(env, fn is_greater_than: (Quantity, Quantity) -> CelBool,
        id = "quantity_is_greater_than")?;
    cel::add_member_overload!(env, fn is_less_than: (Quantity, Quantity) -> CelBool,
        id = "quantity_is_less_than")?;
    cel::add_member_overload!(env, fn compare_to: (Quantity, Quantity) -> CelInt,
        id = "quantity_compare_to")?;
    cel::add_member_overload!(env, fn as_approximate_float: (Quantity) -> CelDouble,
        id = "quantity_get_float")?;
    cel::add_member_overload!(env, fn as_integer: (Quantity) -> Result<CelInt>,
        id = "quantity_get_int")?;
    cel::add_member_overload!(env, fn is_integer: (Quantity) -> CelBool, id = "quantity_is_integer")?;
    cel::add_member_overload!(env, fn add: (Quantity, Quantity) -> Result<Quantity>,
        id = "quantity_add")?;
    cel::add_member_overload!(env, fn add_int: (Quantity, CelInt) -> Result<Quantity>,
        name = "add", id = "quantity_add_int")?;
    cel::add_member_overload!(env, fn sub: (Quantity, Quantity) -> Result<Quantity>,
        id = "quantity_sub")?;
    cel::add_member_overload!(env, fn sub_int: (Quantity, CelInt) -> Result<Quantity>,
        name = "sub", id = "quantity_sub_int")?;
    Ok(())
}

fn string_to_quantity(s: &CelString<'_>) -> Result<Quantity, ExecutionError> {
    Quantity::parse(s.inner()).map_err(|err| super::error("quantity", err))
}

fn is_quantity(s: &CelString<'_>) -> CelBool {
    CelBool::from(Quantity::parse(s.inner()).is_ok())
}

fn sign(q: &Quantity) -> CelInt {
    CelInt::from(q.sign())
}

fn is_greater_than(q: &Quantity, other: &Quantity) -> CelBool {
    CelBool::from(q.cmp(other) == Ordering::Greater)
}

fn is_less_than(q: &Quantity, other: &Quantity) -> CelBool {
    CelBool::from(q.cmp(other) == Ordering::Less)
}

fn compare_to(q: &Quantity, other: &Quantity) -> CelInt {
    CelInt::from(q.cmp(other) as i64)
}

fn as_approximate_float(q: &Quantity) -> CelDouble {
    CelDouble::from(q.as_approximate_float64())
}

fn as_integer(q: &Quantity) -> Result<CelInt, ExecutionError> {
    q.as_int64()
        .map(CelInt::from)
        .ok_or_else(|| super::error("asInteger", "cannot convert value to integer"))
}

fn is_integer(q: &Quantity) -> CelBool {
    CelBool::from(q.as_int64().is_some())
}

fn add(q: &Quantity, other: &Quantity) -> Result<Quantity, ExecutionError> {
    q.add(other).map_err(|err| super::error("add", err))
}

fn add_int(q: &Quantity, other: &CelInt) -> Result<Quantity, ExecutionError> {
    add(q, &Quantity::from_int(*other.inner()))
}

fn sub(q: &Quantity, other: &Quantity) -> Result<Quantity, ExecutionError> {
    q.sub(other).map_err(|err| super::error("sub", err))
}

fn sub_int(q: &Quantity, other: &CelInt) -> Result<Quantity, ExecutionError> {
    sub(q, &Quantity::from_int(*other.inner()))
}

/// The parts `parseQuantityString` scans: the sign, the number as written (`value`), its integer
/// digits without leading zeros (`num`), its fraction digits (`denom`) and the suffix.
struct Parts<'a> {
    positive: bool,
    value: &'a str,
    num: &'a str,
    denom: &'a str,
    suffix: &'a str,
}

/// Upstream's `parseQuantityString`, a scanner more permissive than its error message's regular
/// expression (`1.` and `.` are numbers).
fn scan(s: &str) -> Result<Parts<'_>, &'static str> {
    let b = s.as_bytes();
    let end = b.len();
    let mut parts = Parts {
        positive: true,
        value: "",
        num: "",
        denom: "",
        suffix: "",
    };
    let mut pos = 0;
    match b.first() {
        Some(b'-') => {
            parts.positive = false;
            pos += 1;
        }
        Some(b'+') => pos += 1,
        _ => {}
    }
    while pos < end && b[pos] == b'0' {
        pos += 1;
    }
    if pos >= end {
        parts.num = "0";
        parts.value = "0";
        return Ok(parts);
    }
    let num_start = pos;
    while pos < end && b[pos].is_ascii_digit() {
        pos += 1;
    }
    parts.num = &s[num_start..pos];
    if pos >= end {
        parts.value = s;
        return Ok(parts);
    }
    if parts.num.is_empty() {
        parts.num = "0";
    }
    if b[pos] == b'.' {
        pos += 1;
        let denom_start = pos;
        while pos < end && b[pos].is_ascii_digit() {
            pos += 1;
        }
        parts.denom = &s[denom_start..pos];
        if pos >= end {
            parts.value = s;
            return Ok(parts);
        }
    }
    parts.value = &s[..pos];
    let suffix_start = pos;
    while pos < end && b"eEinumkKMGTP".contains(&b[pos]) {
        pos += 1;
    }
    if pos < end && matches!(b[pos], b'-' | b'+') {
        pos += 1;
    }
    while pos < end && b[pos].is_ascii_digit() {
        pos += 1;
    }
    if pos < end {
        return Err(ERR_FORMAT_WRONG);
    }
    parts.suffix = &s[suffix_start..];
    Ok(parts)
}

#[derive(Clone, Copy, PartialEq)]
enum Format {
    Decimal,
    Binary,
}

/// Upstream's suffixer: the base and exponent of a suffix.
fn interpret(suffix: &str) -> Option<(u32, i64, Format)> {
    let (base, exponent, format) = match suffix {
        "" => (10, 0, Format::Decimal),
        "n" => (10, -9, Format::Decimal),
        "u" => (10, -6, Format::Decimal),
        "m" => (10, -3, Format::Decimal),
        "k" => (10, 3, Format::Decimal),
        "M" => (10, 6, Format::Decimal),
        "G" => (10, 9, Format::Decimal),
        "T" => (10, 12, Format::Decimal),
        "P" => (10, 15, Format::Decimal),
        "E" => (10, 18, Format::Decimal),
        "Ki" => (2, 10, Format::Binary),
        "Mi" => (2, 20, Format::Binary),
        "Gi" => (2, 30, Format::Binary),
        "Ti" => (2, 40, Format::Binary),
        "Pi" => (2, 50, Format::Binary),
        "Ei" => (2, 60, Format::Binary),
        _ => {
            let digits = suffix.strip_prefix(['e', 'E']).filter(|d| !d.is_empty())?;
            // strconv.ParseInt(.., 10, 64), then truncated to an int32 as upstream does.
            let parsed: i64 = digits.parse().ok()?;
            return Some((10, i64::from(parsed as i32), Format::Decimal));
        }
    };
    Some((base, exponent, format))
}

impl Quantity {
    /// Upstream's `ParseQuantity`, with its error texts.
    fn parse(s: &str) -> Result<Quantity, &'static str> {
        if s.is_empty() {
            return Err(ERR_FORMAT_WRONG);
        }
        if s == "0" {
            return Ok(Quantity::from_int(0));
        }
        let parts = scan(s)?;
        let (base, exponent, format) = interpret(parts.suffix).ok_or(ERR_SUFFIX)?;
        let digits = (parts.num.len() + parts.denom.len()) as i64;
        let (precision, mut scale, mantissa) = match format {
            Format::Decimal => (18 - digits, exponent, 1i64),
            Format::Binary if parts.denom.is_empty() => (
                15 - parts.num.len() as i64 - exponent * 3 / 10 - 1,
                0,
                1i64 << exponent,
            ),
            Format::Binary => (-1, 0, 1),
        };
        if precision >= 0 {
            scale -= parts.denom.len() as i64;
            if scale >= -9 {
                let shifted = format!("{}{}", parts.num, parts.denom);
                let value: i64 = shifted.parse().map_err(|_| ERR_NUMERIC)?;
                if let Some(result) = value.checked_mul(mantissa) {
                    let value = if parts.positive { result } else { -result };
                    return Ok(Quantity(Amount::Int { value, scale }));
                }
            }
        }
        let mut amount = Dec::parse(parts.value).ok_or(ERR_NUMERIC)?;
        if base == 10 {
            amount.scale -= exponent;
        } else {
            amount.unscaled <<= exponent as usize;
        }
        let negative = amount.unscaled.sign() == Sign::Minus;
        amount.unscaled = amount.unscaled.magnitude().clone().into();
        if !amount.unscaled.is_zero() {
            amount.round_up_to_nanos();
        }
        if format == Format::Binary && amount.cmp(&Dec::from_i64(i64::MAX, 0)) == Ordering::Greater
        {
            amount = Dec::from_i64(i64::MAX, 0);
        }
        if negative {
            amount.unscaled = -amount.unscaled;
        }
        Ok(Quantity(Amount::Dec(amount)))
    }

    /// `resource.NewQuantity(n, DecimalExponent)`.
    fn from_int(value: i64) -> Quantity {
        Quantity(Amount::Int { value, scale: 0 })
    }

    fn as_dec(&self) -> Dec {
        match &self.0 {
            Amount::Int { value, scale } => Dec::from_i64(*value, -scale),
            Amount::Dec(dec) => dec.clone(),
        }
    }

    fn sign(&self) -> i64 {
        match &self.0 {
            Amount::Int { value, .. } => value.signum(),
            Amount::Dec(dec) => match dec.unscaled.sign() {
                Sign::Minus => -1,
                Sign::NoSign => 0,
                Sign::Plus => 1,
            },
        }
    }

    /// `Quantity.Cmp`.
    fn cmp(&self, other: &Quantity) -> Ordering {
        match (&self.0, &other.0) {
            (
                Amount::Int {
                    value: a,
                    scale: a_scale,
                },
                Amount::Int {
                    value: b,
                    scale: b_scale,
                },
            ) => int_cmp(*a, *a_scale, *b, *b_scale)
                .unwrap_or_else(|| self.as_dec().cmp(&other.as_dec())),
            _ => self.as_dec().cmp(&other.as_dec()),
        }
    }

    /// `Quantity.AsInt64`: only an `int64Amount` at a non-negative scale converts.
    fn as_int64(&self) -> Option<i64> {
        match &self.0 {
            Amount::Int { value, scale } if *scale >= 0 => positive_scale(*value, *scale),
            _ => None,
        }
    }

    /// `Quantity.AsApproximateFloat64`.
    fn as_approximate_float64(&self) -> f64 {
        let (base, exponent) = match &self.0 {
            Amount::Int { value, scale } => (*value as f64, *scale),
            Amount::Dec(dec) => (dec.unscaled.to_f64().unwrap_or(f64::NAN), -dec.scale),
        };
        if exponent == 0 {
            base
        } else {
            base * go_pow10(exponent)
        }
    }

    /// `Quantity.Add`: exact, an `int64Amount` while the sum fits one.
    fn add(&self, other: &Quantity) -> Result<Quantity, &'static str> {
        if let (
            Amount::Int {
                value: a,
                scale: a_scale,
            },
            Amount::Int {
                value: b,
                scale: b_scale,
            },
        ) = (&self.0, &other.0)
        {
            if let Some((value, scale)) = int_add(*a, *a_scale, *b, *b_scale) {
                return Ok(Quantity(Amount::Int { value, scale }));
            }
        }
        self.as_dec()
            .add(&other.as_dec())
            .map(|d| Quantity(Amount::Dec(d)))
    }

    /// `Quantity.Sub`.
    fn sub(&self, other: &Quantity) -> Result<Quantity, &'static str> {
        if let (
            Amount::Int {
                value: a,
                scale: a_scale,
            },
            Amount::Int {
                value: b,
                scale: b_scale,
            },
        ) = (&self.0, &other.0)
        {
            if let Some((value, scale)) = int_add(*a, *a_scale, b.wrapping_neg(), *b_scale) {
                return Ok(Quantity(Amount::Int { value, scale }));
            }
        }
        let mut negated = other.as_dec();
        negated.unscaled = -negated.unscaled;
        self.as_dec()
            .add(&negated)
            .map(|d| Quantity(Amount::Dec(d)))
    }
}

/// Upstream's `positiveScaleInt64`: `base × 10^scale`, if it fits.
fn positive_scale(base: i64, scale: i64) -> Option<i64> {
    if base == 0 {
        return Some(0);
    }
    let factor = 10i64.checked_pow(u32::try_from(scale).ok()?)?;
    base.checked_mul(factor)
}

/// Upstream's `int64Amount.Add`: `None` when the sum does not fit an `int64Amount`.
fn int_add(a: i64, a_scale: i64, b: i64, b_scale: i64) -> Option<(i64, i64)> {
    if b == 0 {
        return Some((a, a_scale));
    }
    if a == 0 {
        return Some((b, b_scale));
    }
    match a_scale.cmp(&b_scale) {
        Ordering::Equal => Some((a.checked_add(b)?, a_scale)),
        Ordering::Greater => {
            let a = positive_scale(a, a_scale - b_scale)?;
            Some((a.checked_add(b)?, b_scale))
        }
        Ordering::Less => {
            let b = positive_scale(b, b_scale - a_scale)?;
            Some((a.checked_add(b)?, a_scale))
        }
    }
}

/// Upstream's `int64Amount.Cmp`; `None` where it falls back to comparing decimals.
fn int_cmp(mut a: i64, a_scale: i64, mut b: i64, b_scale: i64) -> Option<Ordering> {
    // divideByScaleInt64: exact for scale differences below 18.
    let divide = |base: i64, scale: i64| -> Option<(i64, i64)> {
        let divisor = 10i64.pow(u32::try_from(scale).ok().filter(|s| *s < 18)?);
        Some((base / divisor, base % divisor))
    };
    match a_scale.cmp(&b_scale) {
        Ordering::Equal => {}
        Ordering::Greater => {
            let (result, remainder) = divide(b, a_scale - b_scale)?;
            if result == a {
                return Some(0.cmp(&remainder));
            }
            b = result;
        }
        Ordering::Less => {
            let (result, remainder) = divide(a, b_scale - a_scale)?;
            if result == b {
                return Some(remainder.cmp(&0));
            }
            a = result;
        }
    }
    Some(a.cmp(&b))
}

impl Dec {
    fn from_i64(value: i64, scale: i64) -> Dec {
        Dec {
            unscaled: BigInt::from(value),
            scale,
        }
    }

    /// `inf.Dec.SetString`: an optional sign, digits with at most one `.`.
    fn parse(s: &str) -> Option<Dec> {
        let (negative, digits) = match s.as_bytes().first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        if int.len() + frac.len() == 0
            || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let unscaled: BigInt = format!("{int}{frac}").parse().ok()?;
        Some(Dec {
            unscaled: if negative { -unscaled } else { unscaled },
            scale: frac.len() as i64,
        })
    }

    /// The number of decimal digits of the unscaled value (1 for zero).
    fn digits(&self) -> i64 {
        self.unscaled.magnitude().to_str_radix(10).len() as i64
    }

    /// `inf.Dec.Round(.., 9, inf.RoundUp)` of a positive value: nanos, rounded away from zero.
    fn round_up_to_nanos(&mut self) {
        match self.scale.cmp(&9) {
            Ordering::Equal => {}
            Ordering::Greater => {
                let drop = self.scale - 9;
                if drop > self.digits() {
                    // Less than a nano: the smallest positive amount.
                    self.unscaled = BigInt::from(1);
                } else {
                    let divisor = BigInt::from(10).pow(drop as u32);
                    let (quotient, remainder) =
                        (&self.unscaled / &divisor, &self.unscaled % &divisor);
                    self.unscaled = if remainder.is_zero() {
                        quotient
                    } else {
                        quotient + 1
                    };
                }
                self.scale = 9;
            }
            Ordering::Less => {
                let grow = 9 - self.scale;
                // Widening changes no value; past the bound it is skipped (see the constant).
                if grow <= MAX_ALIGNMENT_DIGITS {
                    self.unscaled *= BigInt::from(10).pow(grow as u32);
                    self.scale = 9;
                }
            }
        }
    }

    /// `self` at the larger `scale`, or `None` past [`MAX_ALIGNMENT_DIGITS`].
    fn at_scale(&self, scale: i64) -> Option<BigInt> {
        let grow = scale - self.scale;
        if grow > MAX_ALIGNMENT_DIGITS {
            return None;
        }
        Some(&self.unscaled * BigInt::from(10).pow(grow as u32))
    }

    /// `inf.Dec.Add`: at the larger scale of the two.
    fn add(&self, other: &Dec) -> Result<Dec, &'static str> {
        let scale = self.scale.max(other.scale);
        let too_large = "quantities too far apart in magnitude to add exactly";
        let a = self.at_scale(scale).ok_or(too_large)?;
        let b = other.at_scale(scale).ok_or(too_large)?;
        Ok(Dec {
            unscaled: a + b,
            scale,
        })
    }

    /// `inf.Dec.Cmp`, without widening values whose magnitudes already differ.
    fn cmp(&self, other: &Dec) -> Ordering {
        let (sa, sb) = (self.unscaled.sign(), other.unscaled.sign());
        if sa != sb {
            return sa.cmp(&sb);
        }
        if sa == Sign::NoSign {
            return Ordering::Equal;
        }
        let magnitude = |d: &Dec| d.digits() - d.scale;
        let by_magnitude = magnitude(self).cmp(&magnitude(other));
        if by_magnitude != Ordering::Equal {
            return if sa == Sign::Minus {
                by_magnitude.reverse()
            } else {
                by_magnitude
            };
        }
        // Same magnitude: the scales differ by no more than the digits do.
        let scale = self.scale.max(other.scale);
        match (self.at_scale(scale), other.at_scale(scale)) {
            (Some(a), Some(b)) => a.cmp(&b),
            _ => Ordering::Equal,
        }
    }
}

/// Go's `math.Pow10`, from the same tables, so that floats round as upstream's do.
fn go_pow10(n: i64) -> f64 {
    static TABLES: LazyLock<([f64; 32], [f64; 10], [f64; 11])> = LazyLock::new(|| {
        let pow = |e: i64| format!("1e{e}").parse::<f64>().unwrap_or(0.0);
        (
            std::array::from_fn(|i| pow(i as i64)),
            std::array::from_fn(|i| pow(32 * i as i64)),
            std::array::from_fn(|i| pow(-32 * i as i64)),
        )
    });
    let (tab, pos32, neg32) = &*TABLES;
    if (0..=308).contains(&n) {
        let n = n as usize;
        pos32[n / 32] * tab[n % 32]
    } else if (-323..=0).contains(&n) {
        let n = (-n) as usize;
        neg32[n / 32] / tab[n % 32]
    } else if n > 0 {
        f64::INFINITY
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{assert_errors, assert_true, eval};
    use super::*;

    /// Upstream's `TestQuantity` cases (`quantity_test.go`), its documented examples and the
    /// apiextensions "quantity" cases.
    #[test]
    fn upstream_examples() {
        assert_true(&[
            r#"quantity("12Mi") == quantity("12582912")"#,
            r#"isQuantity("20")"#,
            r#"isQuantity("20M")"#,
            r#"isQuantity("20Mi")"#,
            r#"!isQuantity("20Mo")"#,
            r#"!isQuantity("10Mm")"#,
            r#"quantity("200M") == quantity("200M")"#,
            r#"quantity("200M") == quantity("0.2G") && quantity("0.2G") == quantity("200M")"#,
            r#"quantity("2M") == quantity("0.002G") && quantity("2000k") == quantity("2M") && quantity("0.002G") == quantity("2000k")"#,
            r#"quantity("200M") != quantity("0.3G")"#,
            r#"quantity("50M").isLessThan(quantity("50Mi"))"#,
            r#"quantity("50M").isLessThan(quantity("100M"))"#,
            r#"!quantity("100M").isLessThan(quantity("50M"))"#,
            r#"quantity("50Mi").isGreaterThan(quantity("50M"))"#,
            r#"quantity("150Mi").isGreaterThan(quantity("100Mi"))"#,
            r#"!quantity("50M").isGreaterThan(quantity("100M"))"#,
            r#"quantity("200M").compareTo(quantity("0.2G")) == 0"#,
            r#"quantity("50M").compareTo(quantity("50Mi")) == -1"#,
            r#"quantity("50Mi").compareTo(quantity("50M")) == 1"#,
            r#"quantity("50k").add(quantity("20")) == quantity("50.02k")"#,
            r#"!quantity("50k").add(20).isLessThan(quantity("50020"))"#,
            r#"quantity("50k").sub(quantity("20")) == quantity("49.98k")"#,
            r#"quantity("50k").sub(20) == quantity("49980")"#,
            r#"quantity("50k").add(20).sub(quantity("100k")).asInteger() == -49980"#,
            r#"quantity("50k").add(20).sub(quantity("100k")).sub(-50000).asInteger() == 20"#,
            r#"quantity("50k").asInteger() == 50000"#,
            r#"!quantity("9999999999999999999999999999999999999G").isInteger()"#,
            r#"quantity("50").isInteger()"#,
            r#"quantity("50.703k").asApproximateFloat() == 50703.0"#,
            r#"quantity("50000000G").isInteger()"#,
            r#"quantity("50k").isInteger()"#,
            r#"quantity("50k").sub(20000).asApproximateFloat() == 30000.0"#,
            r#"quantity("50k").add(20) == quantity("50020")"#,
            r#"isQuantity('1.3G') && isQuantity('1.3Gi') && !isQuantity('1,3G') && isQuantity('10000k')"#,
            r#"!isQuantity('200K') && !isQuantity('Three')"#,
            // Upstream's scanner takes a missing number for 0 (its doc comment says otherwise).
            r#"quantity('Mi') == quantity('0') && quantity('k') == quantity('0')"#,
            r#"sign(quantity('-1k')) == -1 && sign(quantity('0')) == 0 && sign(quantity('1n')) == 1"#,
            r#"type(quantity('1')) == kubernetes.Quantity"#,
        ]);
    }

    #[test]
    fn errors_are_upstream_texts() {
        assert_errors(&[
            (
                r#"quantity("10Mo")"#,
                "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
            ),
            (r#"quantity("10Mm")"#, "unable to parse quantity's suffix"),
            (
                r#"quantity("9999999999999999999999999999999999999G").asInteger()"#,
                "cannot convert value to integer",
            ),
            (r#"quantity("")"#, ERR_FORMAT_WRONG),
            ("isQuantity([1, 2, 3])", "no such overload"),
            ("quantity('1').sign()", "Undeclared reference to 'sign'"),
        ]);
    }

    /// The representation shows as upstream's: a milli-scaled or decimal amount is no integer.
    #[test]
    fn integers_are_int64_amounts_at_non_negative_scales() {
        assert_true(&[
            "!quantity('1000m').isInteger()",
            "quantity('1k').isInteger() && quantity('1.5k').asInteger() == 1500",
            "!quantity('0.5Ki').isInteger()",
            "!quantity('1Ei').isInteger() && quantity('1Ti').asInteger() == 1099511627776",
            "quantity('8Ei') == quantity('9223372036854775807')",
            "!quantity('9223372036854775807').add(1).isInteger()",
            "quantity('9223372036854775807').add(1).sub(1) == quantity('9223372036854775807')",
            "quantity('0.1n') == quantity('1n')",
            "quantity('-0.1n') == quantity('-1n')",
            "quantity('1e3') == quantity('1k') && quantity('1E3') == quantity('1k')",
            "quantity('.5') == quantity('500m') && quantity('1.') == quantity('1')",
            "quantity('1e1000000000').isGreaterThan(quantity('1E'))",
            "quantity('-1e1000000000').isLessThan(quantity('1n'))",
            "quantity('12345678901234567890e-3') == quantity('12345678901234567.890')",
        ]);
        assert_eq!(
            eval("quantity('1e400').asApproximateFloat()"),
            Ok(cel::Value::Float(f64::INFINITY))
        );
    }

    #[test]
    fn scanning_follows_upstream() {
        for (input, ok) in [
            ("0", true),
            ("-0", true),
            ("+1", true),
            ("1.5Gi", true),
            ("1e-3", true),
            ("1e", false),
            ("1Kii", false),
            ("1 k", false),
            ("--1", false),
            ("1.2.3", false),
        ] {
            assert_eq!(Quantity::parse(input).is_ok(), ok, "{input}");
        }
        assert_eq!(go_pow10(-9), 1e-9);
        assert_eq!(go_pow10(400), f64::INFINITY);
    }
}
