//! The semver library at version 1 (`apiserver/pkg/cel/library/semverlib.go`, in the base
//! environment since 1.33): `semver(string)`, `semver(string, bool)`, `isSemver(string)`,
//! `isSemver(string, bool)` (with `true`, `v1`, `1.2` and `01.02.03` are normalized first), and
//! the members `major`, `minor`, `patch`, `isGreaterThan`, `isLessThan`, `compareTo`. Versions
//! parse as `github.com/blang/semver/v4`'s `Parse`, with its error texts, and compare by
//! precedence (build metadata is checked, then ignored).

use std::cmp::Ordering;

use cel::common::types::{CelBool, CelInt, CelString};
use cel::common::value::Val;
use cel::{DeclarationError, Env, ExecutionError};

use crate::api::go_fmt::go_quote;

/// A `kubernetes.Semver` value; two are equal when neither takes precedence.
#[derive(Clone, Debug)]
pub(super) struct Semver {
    major: u64,
    minor: u64,
    patch: u64,
    pre: Vec<PreRelease>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum PreRelease {
    Number(u64),
    Text(String),
}

impl PartialEq for Semver {
    fn eq(&self, other: &Self) -> bool {
        self.compare(other) == Ordering::Equal
    }
}

opaque_value!(Semver, "kubernetes.Semver");

pub(super) fn register(env: &mut Env) -> Result<(), DeclarationError> {
    env.add_type(<Semver as Val>::cel_type().to_owned())?;
    cel::add_overload!(env, fn string_to_semver: (CelString) -> Result<Semver>,
        name = "semver", id = "string_to_semver")?;
    cel::add_overload!(env, fn string_bool_to_semver: (CelString, CelBool) -> Result<Semver>,
        name = "semver", id = "string_bool_to_semver")?;
    cel::add_overload!(env, fn is_semver: (CelString) -> CelBool,
        name = "isSemver", id = "is_semver_string")?;
    cel::add_overload!(env, fn is_semver_normalize: (CelString, CelBool) -> CelBool,
        name = "isSemver", id = "is_semver_string_bool")?;
    cel::add_member_overload!(env, fn is_greater_than: (Semver, Semver) -> CelBool,
        id = "semver_is_greater_than")?;
    cel::add_member_overload!(env, fn is_less_than: (Semver, Semver) -> CelBool,
        id = "semver_is_less_than")?;
    cel::add_member_overload!(env, fn compare_to: (Semver, Semver) -> CelInt,
        id = "semver_compare_to")?;
    cel::add_member_overload!(env, fn major: (Semver) -> CelInt, id = "semver_major")?;
    cel::add_member_overload!(env, fn minor: (Semver) -> CelInt, id = "semver_minor")?;
    cel::add_member_overload!(env, fn patch: (Semver) -> CelInt, id = "semver_patch")?;
    Ok(())
}

fn string_to_semver(s: &CelString<'_>) -> Result<Semver, ExecutionError> {
    Semver::parse(s.inner()).map_err(|err| super::error("semver", err))
}

fn string_bool_to_semver(s: &CelString<'_>, normalize: &CelBool) -> Result<Semver, ExecutionError> {
    parse_maybe_normalized(s.inner(), *normalize.inner()).map_err(|err| super::error("semver", err))
}

fn is_semver(s: &CelString<'_>) -> CelBool {
    CelBool::from(Semver::parse(s.inner()).is_ok())
}

fn is_semver_normalize(s: &CelString<'_>, normalize: &CelBool) -> CelBool {
    CelBool::from(parse_maybe_normalized(s.inner(), *normalize.inner()).is_ok())
}

fn is_greater_than(v: &Semver, other: &Semver) -> CelBool {
    CelBool::from(v.compare(other) == Ordering::Greater)
}

fn is_less_than(v: &Semver, other: &Semver) -> CelBool {
    CelBool::from(v.compare(other) == Ordering::Less)
}

fn compare_to(v: &Semver, other: &Semver) -> CelInt {
    CelInt::from(v.compare(other) as i64)
}

/// The version numbers are Go `uint64`s converted to CEL's `int` as upstream converts them.
fn major(v: &Semver) -> CelInt {
    CelInt::from(v.major as i64)
}

fn minor(v: &Semver) -> CelInt {
    CelInt::from(v.minor as i64)
}

fn patch(v: &Semver) -> CelInt {
    CelInt::from(v.patch as i64)
}

fn parse_maybe_normalized(s: &str, normalize: bool) -> Result<Semver, String> {
    if normalize {
        normalize_and_parse(s)
    } else {
        Semver::parse(s)
    }
}

/// Upstream's `normalizeAndParse`: without a leading `v`, leading zeros removed, a missing minor
/// and patch version added.
fn normalize_and_parse(s: &str) -> Result<Semver, String> {
    let s = s.strip_prefix('v').unwrap_or(s);
    let mut parts: Vec<String> = s.splitn(3, '.').map(String::from).collect();
    for part in &mut parts {
        if part.len() > 1 {
            let trimmed = part.trim_start_matches('0');
            *part = if trimmed.as_bytes().first().is_some_and(u8::is_ascii_digit) {
                trimmed.to_string()
            } else {
                format!("0{trimmed}")
            };
        }
    }
    if parts.len() < 3 {
        if parts.last().is_some_and(|last| last.contains(['+', '-'])) {
            return Err("short version cannot contain PreRelease/Build meta data".into());
        }
        parts.resize(3, "0".into());
    }
    Semver::parse(&parts.join("."))
}

/// blang/semver's `containsOnly` of its `alphanum` set.
fn alphanumeric(s: &str) -> bool {
    s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

fn numeric(s: &str) -> bool {
    s.chars().all(|c| c.is_ascii_digit())
}

fn has_leading_zeroes(s: &str) -> bool {
    s.len() > 1 && s.starts_with('0')
}

/// Go's `strconv.ParseUint(s, 10, 64)` of digits, with its error texts.
fn parse_uint(s: &str) -> Result<u64, String> {
    if s.is_empty() {
        return Err(format!(
            "strconv.ParseUint: parsing {}: invalid syntax",
            go_quote(s)
        ));
    }
    s.parse().map_err(|_| {
        format!(
            "strconv.ParseUint: parsing {}: value out of range",
            go_quote(s)
        )
    })
}

impl Semver {
    /// blang/semver's `Parse`.
    fn parse(s: &str) -> Result<Semver, String> {
        if s.is_empty() {
            return Err("Version string empty".into());
        }
        let parts: Vec<&str> = s.splitn(3, '.').collect();
        let [major, minor, rest] = parts.as_slice() else {
            return Err("No Major.Minor.Patch elements found".into());
        };
        let number = |part: &str, name: &str, capitalized: &str| -> Result<u64, String> {
            if !numeric(part) {
                return Err(format!(
                    "Invalid character(s) found in {name} number {}",
                    go_quote(part)
                ));
            }
            if has_leading_zeroes(part) {
                return Err(format!(
                    "{capitalized} number must not contain leading zeroes {}",
                    go_quote(part)
                ));
            }
            parse_uint(part)
        };
        let major = number(major, "major", "Major")?;
        let minor = number(minor, "minor", "Minor")?;
        let mut patch_str = *rest;
        let mut build: Vec<&str> = Vec::new();
        if let Some(i) = patch_str.find('+') {
            build = patch_str[i + 1..].split('.').collect();
            patch_str = &patch_str[..i];
        }
        let mut prerelease: Vec<&str> = Vec::new();
        if let Some(i) = patch_str.find('-') {
            prerelease = patch_str[i + 1..].split('.').collect();
            patch_str = &patch_str[..i];
        }
        let patch = number(patch_str, "patch", "Patch")?;
        let pre = prerelease
            .into_iter()
            .map(PreRelease::parse)
            .collect::<Result<Vec<_>, _>>()?;
        for part in &build {
            if part.is_empty() {
                return Err("Build meta data is empty".into());
            }
            if !alphanumeric(part) {
                return Err(format!(
                    "Invalid character(s) found in build meta data {}",
                    go_quote(part)
                ));
            }
        }
        Ok(Semver {
            major,
            minor,
            patch,
            pre,
        })
    }

    /// blang/semver's `Compare`: by numbers, then a release over its pre-releases, then the
    /// pre-release parts in turn.
    fn compare(&self, other: &Semver) -> Ordering {
        let numbers =
            (self.major, self.minor, self.patch).cmp(&(other.major, other.minor, other.patch));
        if numbers != Ordering::Equal {
            return numbers;
        }
        match (self.pre.is_empty(), other.pre.is_empty()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => {
                for (a, b) in self.pre.iter().zip(&other.pre) {
                    let ordering = a.compare(b);
                    if ordering != Ordering::Equal {
                        return ordering;
                    }
                }
                self.pre.len().cmp(&other.pre.len())
            }
        }
    }
}

impl PreRelease {
    /// blang/semver's `NewPRVersion`.
    fn parse(s: &str) -> Result<PreRelease, String> {
        if s.is_empty() {
            return Err("Prerelease is empty".into());
        }
        if numeric(s) {
            if has_leading_zeroes(s) {
                return Err(format!(
                    "Numeric PreRelease version must not contain leading zeroes {}",
                    go_quote(s)
                ));
            }
            return parse_uint(s).map(PreRelease::Number);
        }
        if alphanumeric(s) {
            return Ok(PreRelease::Text(s.to_string()));
        }
        Err(format!(
            "Invalid character(s) found in prerelease {}",
            go_quote(s)
        ))
    }

    /// Numbers before text; numbers by value, text by bytes.
    fn compare(&self, other: &PreRelease) -> Ordering {
        match (self, other) {
            (PreRelease::Number(a), PreRelease::Number(b)) => a.cmp(b),
            (PreRelease::Number(_), PreRelease::Text(_)) => Ordering::Less,
            (PreRelease::Text(_), PreRelease::Number(_)) => Ordering::Greater,
            (PreRelease::Text(a), PreRelease::Text(b)) => a.cmp(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{assert_errors, assert_true};

    /// Upstream's `TestSemver` cases (`semver_test.go`) and the library's documented examples.
    #[test]
    fn upstream_examples() {
        assert_true(&[
            r#"semver("1.2.3") == semver("1.2.3")"#,
            r#"isSemver("1.2.3-beta.1+build.1")"#,
            r#"!isSemver("")"#,
            r#"!isSemver("v1.0.0")"#,
            r#"!isSemver(" 1.0.0")"#,
            r#"!isSemver("1. 0.0")"#,
            r#"!isSemver("1.0.0 ")"#,
            r#"!isSemver("01.01.01")"#,
            r#"!isSemver("1")"#,
            r#"!isSemver("1.1")"#,
            r#"!isSemver("", true)"#,
            r#"!isSemver(" 1.0.0", true)"#,
            r#"!isSemver("1. 0.0", true)"#,
            r#"!isSemver("1.0.0 ", true)"#,
            r#"isSemver("v1.0.0", true)"#,
            r#"isSemver("01.01.01", true)"#,
            r#"isSemver("1", true)"#,
            r#"isSemver("1.1", true)"#,
            r#"isSemver("1.1", false) == false"#,
            r#"semver("v01.01", true) == semver("1.1.0")"#,
            r#"semver("1.2.3") != semver("1.0.0")"#,
            r#"semver("1.0.0").isLessThan(semver("1.2.3"))"#,
            r#"!semver("1.0.0").isLessThan(semver("1.0.0"))"#,
            r#"semver("1.2.3").isGreaterThan(semver("1.0.0"))"#,
            r#"!semver("1.0.0").isGreaterThan(semver("1.0.0"))"#,
            r#"semver("1.2.3").compareTo(semver("1.2.3")) == 0"#,
            r#"semver("1.0.0").compareTo(semver("1.2.3")) == -1"#,
            r#"semver("1.2.3").compareTo(semver("1.0.0")) == 1"#,
            r#"semver("1.2.3").major() == 1"#,
            r#"semver("1.2.3").minor() == 2"#,
            r#"semver("1.2.3").patch() == 3"#,
            r#"semver('1.0.0', true) == semver('1.0.0')"#,
            r#"semver('1.0', true) == semver('1.0.0') && semver('01.01.01', true) == semver('1.1.1')"#,
            r#"type(semver('1.0.0')) == kubernetes.Semver"#,
        ]);
    }

    /// Precedence as semver.org orders its example.
    #[test]
    fn pre_releases_order_as_the_spec() {
        let ordered = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
        ];
        for pair in ordered.windows(2) {
            assert_true(&[&format!(
                "semver('{}').isLessThan(semver('{}'))",
                pair[0], pair[1]
            )]);
        }
        assert_true(&["semver('1.0.0+a') == semver('1.0.0+b')"]);
    }

    #[test]
    fn errors_are_upstream_texts() {
        assert_errors(&[
            (r#"semver("v1.0")"#, "No Major.Minor.Patch elements found"),
            (r#"semver("")"#, "Version string empty"),
            (
                r#"semver("01.0.0")"#,
                r#"Major number must not contain leading zeroes "01""#,
            ),
            (
                r#"semver("1.x.0")"#,
                r#"Invalid character(s) found in minor number "x""#,
            ),
            (
                r#"semver("1.0.0-01")"#,
                r#"Numeric PreRelease version must not contain leading zeroes "01""#,
            ),
            (r#"semver("1.0.0-a..b")"#, "Prerelease is empty"),
            (r#"semver("1.0.0+")"#, "Build meta data is empty"),
            (
                r#"semver("1.0.0+a_b")"#,
                r#"Invalid character(s) found in build meta data "a_b""#,
            ),
            (
                r#"semver(".1.0")"#,
                r#"strconv.ParseUint: parsing "": invalid syntax"#,
            ),
            (
                r#"semver("99999999999999999999.0.0")"#,
                r#"strconv.ParseUint: parsing "99999999999999999999": value out of range"#,
            ),
            (
                r#"semver("1-rc", true)"#,
                "short version cannot contain PreRelease/Build meta data",
            ),
            ("isSemver([1, 2, 3])", "no such overload"),
        ]);
    }
}
