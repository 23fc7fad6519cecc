//! The signatures the checker knows: every function of the environment with its parameter and
//! result types, written as a table, and how a call's argument types pick an overload.

use std::collections::HashMap;
use std::sync::LazyLock;

use super::Ty;

/// A parameter or result type of a signature: a type with type parameters `A` and `B`.
#[derive(Clone, Debug, PartialEq)]
enum Pattern {
    Bool,
    Int,
    Uint,
    Double,
    String,
    Bytes,
    Null,
    Duration,
    Timestamp,
    Dyn,
    Var(usize),
    List(Box<Pattern>),
    Map(Box<Pattern>, Box<Pattern>),
    Optional(Box<Pattern>),
    Type(Box<Pattern>),
    Opaque(&'static str),
}

/// One overload of a function.
#[derive(Debug)]
pub(super) struct Overload {
    /// Called on a target (`x.f(y)`), which is the first parameter.
    pub(super) member: bool,
    params: Vec<Pattern>,
    result: Pattern,
}

impl Overload {
    /// The result type of a call with `args`, or `None` if this overload does not take them.
    pub(super) fn apply<'s>(&self, args: &[Ty<'s>]) -> Option<Ty<'s>> {
        if args.len() != self.params.len() {
            return None;
        }
        let mut bindings: [Option<Ty<'s>>; 2] = [None, None];
        for (param, arg) in self.params.iter().zip(args) {
            if !unify(param, arg, &mut bindings) {
                return None;
            }
        }
        Some(substitute(&self.result, &bindings))
    }
}

/// Whether `ty` fits `pattern`, binding its type parameters.
fn unify<'s>(pattern: &Pattern, ty: &Ty<'s>, bindings: &mut [Option<Ty<'s>>; 2]) -> bool {
    match (pattern, ty) {
        (Pattern::Var(i), _) => match &bindings[*i] {
            None => {
                bindings[*i] = Some(ty.clone());
                true
            }
            Some(bound) => {
                if !compatible(bound, ty) {
                    return false;
                }
                if matches!(bound, Ty::Dyn | Ty::Null) {
                    bindings[*i] = Some(ty.clone());
                }
                true
            }
        },
        (_, Ty::Dyn) | (Pattern::Dyn, _) => true,
        (Pattern::Bool, Ty::Bool)
        | (Pattern::Int, Ty::Int)
        | (Pattern::Uint, Ty::Uint)
        | (Pattern::Double, Ty::Double)
        | (Pattern::String, Ty::String)
        | (Pattern::Bytes, Ty::Bytes)
        | (Pattern::Null, Ty::Null)
        | (Pattern::Duration, Ty::Duration)
        | (Pattern::Timestamp, Ty::Timestamp) => true,
        (Pattern::List(elem), Ty::List(ty)) => unify(elem, ty, bindings),
        (Pattern::Map(key, value), Ty::Map(k, v)) => {
            unify(key, k, bindings) && unify(value, v, bindings)
        }
        // Objects are taken for maps of strings, to be lenient (`size(self)`, `'a' in self`).
        (Pattern::Map(key, value), Ty::Object(_)) => {
            unify(key, &Ty::String, bindings) && unify(value, &Ty::Dyn, bindings)
        }
        (Pattern::Optional(inner), Ty::Optional(ty)) => unify(inner, ty, bindings),
        (Pattern::Type(inner), Ty::Type(ty)) => unify(inner, ty, bindings),
        (Pattern::Opaque(name), Ty::Opaque(ty)) => name == ty,
        _ => false,
    }
}

/// Whether two argument types may be the same type (for a parameter used twice, `A`).
fn compatible(a: &Ty<'_>, b: &Ty<'_>) -> bool {
    match (a, b) {
        (Ty::Dyn, _) | (_, Ty::Dyn) | (Ty::Null, _) | (_, Ty::Null) => true,
        (Ty::List(x), Ty::List(y))
        | (Ty::Optional(x), Ty::Optional(y))
        | (Ty::Type(x), Ty::Type(y)) => compatible(x, y),
        (Ty::Map(k1, v1), Ty::Map(k2, v2)) => compatible(k1, k2) && compatible(v1, v2),
        (Ty::Object(_), Ty::Object(_) | Ty::Map(..)) | (Ty::Map(..), Ty::Object(_)) => true,
        (Ty::Opaque(x), Ty::Opaque(y)) => x == y,
        _ => std::mem::discriminant(a) == std::mem::discriminant(b),
    }
}

fn substitute<'s>(pattern: &Pattern, bindings: &[Option<Ty<'s>>; 2]) -> Ty<'s> {
    match pattern {
        Pattern::Bool => Ty::Bool,
        Pattern::Int => Ty::Int,
        Pattern::Uint => Ty::Uint,
        Pattern::Double => Ty::Double,
        Pattern::String => Ty::String,
        Pattern::Bytes => Ty::Bytes,
        Pattern::Null => Ty::Null,
        Pattern::Duration => Ty::Duration,
        Pattern::Timestamp => Ty::Timestamp,
        Pattern::Dyn => Ty::Dyn,
        Pattern::Var(i) => match &bindings[*i] {
            Some(Ty::Null) | None => Ty::Dyn,
            Some(ty) => ty.clone(),
        },
        Pattern::List(elem) => Ty::List(Box::new(substitute(elem, bindings))),
        Pattern::Map(key, value) => Ty::Map(
            Box::new(substitute(key, bindings)),
            Box::new(substitute(value, bindings)),
        ),
        Pattern::Optional(inner) => Ty::Optional(Box::new(substitute(inner, bindings))),
        Pattern::Type(inner) => Ty::Type(Box::new(substitute(inner, bindings))),
        Pattern::Opaque(name) => Ty::Opaque(name),
    }
}

/// Every function of the environment rules run in ([`super::super::compile::environment`]): the
/// standard library (with cel-go's cross-type numeric comparisons, which upstream's base
/// environment enables), cel-go's strings, lists and optionals, and the Kubernetes libraries.
/// One line per overload: `g name(params) -> result` for a global function, `m name(target,
/// params) -> result` for a member one; `A` and `B` are type parameters.
const SIGNATURE_TABLE: &str = "
g _&&_(bool, bool) -> bool
g _||_(bool, bool) -> bool
g !_(bool) -> bool
g -_(int) -> int
g -_(double) -> double
g _==_(A, A) -> bool
g _!=_(A, A) -> bool
g _?_:_(bool, A, A) -> A
g @in(A, list(A)) -> bool
g @in(A, map(A, B)) -> bool
g _[_](list(A), int) -> A
g _[_](map(A, B), A) -> B
g _[?_](list(A), int) -> optional(A)
g _[?_](map(A, B), A) -> optional(B)
g _+_(int, int) -> int
g _+_(uint, uint) -> uint
g _+_(double, double) -> double
g _+_(string, string) -> string
g _+_(bytes, bytes) -> bytes
g _+_(list(A), list(A)) -> list(A)
g _+_(google.protobuf.Timestamp, google.protobuf.Duration) -> google.protobuf.Timestamp
g _+_(google.protobuf.Duration, google.protobuf.Timestamp) -> google.protobuf.Timestamp
g _+_(google.protobuf.Duration, google.protobuf.Duration) -> google.protobuf.Duration
g _-_(int, int) -> int
g _-_(uint, uint) -> uint
g _-_(double, double) -> double
g _-_(google.protobuf.Timestamp, google.protobuf.Timestamp) -> google.protobuf.Duration
g _-_(google.protobuf.Timestamp, google.protobuf.Duration) -> google.protobuf.Timestamp
g _-_(google.protobuf.Duration, google.protobuf.Duration) -> google.protobuf.Duration
g _*_(int, int) -> int
g _*_(uint, uint) -> uint
g _*_(double, double) -> double
g _/_(int, int) -> int
g _/_(uint, uint) -> uint
g _/_(double, double) -> double
g _%_(int, int) -> int
g _%_(uint, uint) -> uint
g size(string) -> int
g size(bytes) -> int
g size(list(A)) -> int
g size(map(A, B)) -> int
m size(string) -> int
m size(bytes) -> int
m size(list(A)) -> int
m size(map(A, B)) -> int
g int(int) -> int
g int(uint) -> int
g int(double) -> int
g int(string) -> int
g int(google.protobuf.Timestamp) -> int
g uint(uint) -> uint
g uint(int) -> uint
g uint(double) -> uint
g uint(string) -> uint
g double(double) -> double
g double(int) -> double
g double(uint) -> double
g double(string) -> double
g string(string) -> string
g string(bool) -> string
g string(int) -> string
g string(uint) -> string
g string(double) -> string
g string(bytes) -> string
g string(google.protobuf.Timestamp) -> string
g string(google.protobuf.Duration) -> string
g string(net.IP) -> string
g string(net.CIDR) -> string
g bytes(bytes) -> bytes
g bytes(string) -> bytes
g bool(bool) -> bool
g bool(string) -> bool
g duration(google.protobuf.Duration) -> google.protobuf.Duration
g duration(string) -> google.protobuf.Duration
g timestamp(google.protobuf.Timestamp) -> google.protobuf.Timestamp
g timestamp(string) -> google.protobuf.Timestamp
g timestamp(int) -> google.protobuf.Timestamp
g type(A) -> type(A)
g dyn(A) -> dyn
m contains(string, string) -> bool
m startsWith(string, string) -> bool
m endsWith(string, string) -> bool
m matches(string, string) -> bool
g matches(string, string) -> bool
m getFullYear(google.protobuf.Timestamp) -> int
m getFullYear(google.protobuf.Timestamp, string) -> int
m getMonth(google.protobuf.Timestamp) -> int
m getMonth(google.protobuf.Timestamp, string) -> int
m getDayOfYear(google.protobuf.Timestamp) -> int
m getDayOfYear(google.protobuf.Timestamp, string) -> int
m getDayOfMonth(google.protobuf.Timestamp) -> int
m getDayOfMonth(google.protobuf.Timestamp, string) -> int
m getDate(google.protobuf.Timestamp) -> int
m getDate(google.protobuf.Timestamp, string) -> int
m getDayOfWeek(google.protobuf.Timestamp) -> int
m getDayOfWeek(google.protobuf.Timestamp, string) -> int
m getHours(google.protobuf.Timestamp) -> int
m getHours(google.protobuf.Timestamp, string) -> int
m getMinutes(google.protobuf.Timestamp) -> int
m getMinutes(google.protobuf.Timestamp, string) -> int
m getSeconds(google.protobuf.Timestamp) -> int
m getSeconds(google.protobuf.Timestamp, string) -> int
m getMilliseconds(google.protobuf.Timestamp) -> int
m getMilliseconds(google.protobuf.Timestamp, string) -> int
m getHours(google.protobuf.Duration) -> int
m getMinutes(google.protobuf.Duration) -> int
m getSeconds(google.protobuf.Duration) -> int
m getMilliseconds(google.protobuf.Duration) -> int
m charAt(string, int) -> string
m indexOf(string, string) -> int
m indexOf(string, string, int) -> int
m lastIndexOf(string, string) -> int
m lastIndexOf(string, string, int) -> int
m lowerAscii(string) -> string
m upperAscii(string) -> string
m trim(string) -> string
m replace(string, string, string) -> string
m replace(string, string, string, int) -> string
m split(string, string) -> list(string)
m split(string, string, int) -> list(string)
m substring(string, int) -> string
m substring(string, int, int) -> string
m join(list(string)) -> string
m join(list(string), string) -> string
m format(string, list(dyn)) -> string
g strings.quote(string) -> string
m reverse(string) -> string
m slice(list(A), int, int) -> list(A)
m flatten(list(dyn)) -> list(dyn)
m flatten(list(dyn), int) -> list(dyn)
m distinct(list(A)) -> list(A)
m sort(list(A)) -> list(A)
m reverse(list(A)) -> list(A)
g lists.range(int) -> list(int)
g optional.none() -> optional(dyn)
g optional.of(A) -> optional(A)
g optional.ofNonZeroValue(A) -> optional(A)
m hasValue(optional(A)) -> bool
m value(optional(A)) -> A
m or(optional(A), optional(A)) -> optional(A)
m orValue(optional(A), A) -> A
g url(string) -> kubernetes.URL
g isURL(string) -> bool
m getScheme(kubernetes.URL) -> string
m getHost(kubernetes.URL) -> string
m getHostname(kubernetes.URL) -> string
m getPort(kubernetes.URL) -> string
m getEscapedPath(kubernetes.URL) -> string
m getQuery(kubernetes.URL) -> map(string, list(string))
m find(string, string) -> string
m findAll(string, string) -> list(string)
m findAll(string, string, int) -> list(string)
m isSorted(list(A)) -> bool
m sum(list(A)) -> A
m min(list(A)) -> A
m max(list(A)) -> A
m indexOf(list(A), A) -> int
m lastIndexOf(list(A), A) -> int
g quantity(string) -> kubernetes.Quantity
g isQuantity(string) -> bool
g sign(kubernetes.Quantity) -> int
m isGreaterThan(kubernetes.Quantity, kubernetes.Quantity) -> bool
m isLessThan(kubernetes.Quantity, kubernetes.Quantity) -> bool
m compareTo(kubernetes.Quantity, kubernetes.Quantity) -> int
m asApproximateFloat(kubernetes.Quantity) -> double
m asInteger(kubernetes.Quantity) -> int
m isInteger(kubernetes.Quantity) -> bool
m add(kubernetes.Quantity, kubernetes.Quantity) -> kubernetes.Quantity
m add(kubernetes.Quantity, int) -> kubernetes.Quantity
m sub(kubernetes.Quantity, kubernetes.Quantity) -> kubernetes.Quantity
m sub(kubernetes.Quantity, int) -> kubernetes.Quantity
g sets.contains(list(A), list(A)) -> bool
g sets.equivalent(list(A), list(A)) -> bool
g sets.intersects(list(A), list(A)) -> bool
g ip(string) -> net.IP
g isIP(string) -> bool
g ip.isCanonical(string) -> bool
m family(net.IP) -> int
m isUnspecified(net.IP) -> bool
m isLoopback(net.IP) -> bool
m isLinkLocalMulticast(net.IP) -> bool
m isLinkLocalUnicast(net.IP) -> bool
m isGlobalUnicast(net.IP) -> bool
g cidr(string) -> net.CIDR
g isCIDR(string) -> bool
m containsIP(net.CIDR, string) -> bool
m containsIP(net.CIDR, net.IP) -> bool
m containsCIDR(net.CIDR, string) -> bool
m containsCIDR(net.CIDR, net.CIDR) -> bool
m ip(net.CIDR) -> net.IP
m prefixLength(net.CIDR) -> int
m masked(net.CIDR) -> net.CIDR
g format.dns1123Label() -> kubernetes.NamedFormat
g format.dns1123Subdomain() -> kubernetes.NamedFormat
g format.dns1035Label() -> kubernetes.NamedFormat
g format.qualifiedName() -> kubernetes.NamedFormat
g format.dns1123LabelPrefix() -> kubernetes.NamedFormat
g format.dns1123SubdomainPrefix() -> kubernetes.NamedFormat
g format.dns1035LabelPrefix() -> kubernetes.NamedFormat
g format.labelValue() -> kubernetes.NamedFormat
g format.uri() -> kubernetes.NamedFormat
g format.uuid() -> kubernetes.NamedFormat
g format.byte() -> kubernetes.NamedFormat
g format.date() -> kubernetes.NamedFormat
g format.datetime() -> kubernetes.NamedFormat
g format.named(string) -> optional(kubernetes.NamedFormat)
m validate(kubernetes.NamedFormat, string) -> optional(list(string))
g semver(string) -> kubernetes.Semver
g semver(string, bool) -> kubernetes.Semver
g isSemver(string) -> bool
g isSemver(string, bool) -> bool
m isGreaterThan(kubernetes.Semver, kubernetes.Semver) -> bool
m isLessThan(kubernetes.Semver, kubernetes.Semver) -> bool
m compareTo(kubernetes.Semver, kubernetes.Semver) -> int
m major(kubernetes.Semver) -> int
m minor(kubernetes.Semver) -> int
m patch(kubernetes.Semver) -> int
";

/// The ordering operators: each of cel-go's same-type overloads, and its cross-type numeric
/// ones.
const ORDERED: [&str; 7] = [
    "bool",
    "string",
    "bytes",
    "google.protobuf.Timestamp",
    "google.protobuf.Duration",
    "int",
    "uint",
];

/// The signatures of [`SIGNATURE_TABLE`] and the ordering operators, by function name.
pub(super) static SIGNATURES: LazyLock<HashMap<String, Vec<Overload>>> = LazyLock::new(|| {
    let mut lines: Vec<String> = SIGNATURE_TABLE
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(String::from)
        .collect();
    for op in ["_<_", "_<=_", "_>_", "_>=_"] {
        for ty in ORDERED {
            lines.push(format!("g {op}({ty}, {ty}) -> bool"));
        }
        lines.push(format!("g {op}(double, double) -> bool"));
        for (a, b) in [
            ("int", "uint"),
            ("int", "double"),
            ("uint", "int"),
            ("uint", "double"),
            ("double", "int"),
            ("double", "uint"),
        ] {
            lines.push(format!("g {op}({a}, {b}) -> bool"));
        }
    }
    let mut signatures: HashMap<String, Vec<Overload>> = HashMap::new();
    for line in &lines {
        let (name, overload) = parse_signature(line);
        signatures.entry(name).or_default().push(overload);
    }
    signatures
});

/// One line of [`SIGNATURE_TABLE`].
fn parse_signature(line: &str) -> (String, Overload) {
    let line = line.trim();
    let (kind, rest) = line.split_at(2);
    let open = rest.find('(').expect("a signature has parameters");
    let name = rest[..open].to_string();
    let (params, result) = rest[open + 1..]
        .rsplit_once(") -> ")
        .expect("a signature has a result");
    let params = split_top_level(params)
        .into_iter()
        .map(parse_pattern)
        .collect();
    let overload = Overload {
        member: kind.trim() == "m",
        params,
        result: parse_pattern(result),
    };
    (name, overload)
}

/// `a, list(b), map(c, d)` split at its top-level commas.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(text[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    if !text[start..].trim().is_empty() {
        parts.push(text[start..].trim());
    }
    parts
}

fn parse_pattern(text: &str) -> Pattern {
    let text = text.trim();
    if let Some((outer, inner)) = text.strip_suffix(')').and_then(|t| t.split_once('(')) {
        let mut args = split_top_level(inner).into_iter().map(parse_pattern);
        let mut next = || Box::new(args.next().expect("a type argument"));
        return match outer {
            "list" => Pattern::List(next()),
            "map" => Pattern::Map(next(), next()),
            "optional" => Pattern::Optional(next()),
            "type" => Pattern::Type(next()),
            other => panic!("unknown type constructor {other}"),
        };
    }
    match text {
        "bool" => Pattern::Bool,
        "int" => Pattern::Int,
        "uint" => Pattern::Uint,
        "double" => Pattern::Double,
        "string" => Pattern::String,
        "bytes" => Pattern::Bytes,
        "null_type" => Pattern::Null,
        "google.protobuf.Duration" => Pattern::Duration,
        "google.protobuf.Timestamp" => Pattern::Timestamp,
        "dyn" => Pattern::Dyn,
        "A" => Pattern::Var(0),
        "B" => Pattern::Var(1),
        other => Pattern::Opaque(
            super::super::library::TYPE_NAMES
                .iter()
                .find(|known| **known == other)
                .unwrap_or_else(|| panic!("unknown type {other}")),
        ),
    }
}

/// The names of every function the checker knows, for tests.
#[cfg(test)]
pub(in crate::apiextensions::cel) fn function_names() -> Vec<(String, bool, usize)> {
    let mut names: Vec<(String, bool, usize)> = SIGNATURES
        .iter()
        .flat_map(|(name, overloads)| {
            overloads
                .iter()
                .map(move |overload| (name.clone(), overload.member, overload.params.len()))
        })
        .collect();
    names.sort();
    names.dedup();
    names
}
