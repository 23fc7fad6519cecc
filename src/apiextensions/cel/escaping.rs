//! Property names as CEL identifiers, after upstream's `apiserver/pkg/cel/escaping.go`: a
//! property whose name is a CEL reserved word is `__{word}__` in rules (`self.__namespace__`),
//! and `__`, `.`, `-` and `/` inside a name are `__underscores__`, `__dot__`, `__dash__` and
//! `__slash__`. A name with any other character, or starting with a digit, has no identifier:
//! rules cannot select it.

/// The words CEL's lexer reserves; a property named so is selected as `__{word}__`.
const RESERVED: [&str; 21] = [
    "true",
    "false",
    "null",
    "in",
    "as",
    "break",
    "const",
    "continue",
    "else",
    "for",
    "function",
    "if",
    "import",
    "let",
    "loop",
    "package",
    "namespace",
    "return",
    "var",
    "void",
    "while",
];

/// Whether `name` is a CEL identifier: a letter or `_`, then letters, digits and `_`, and not a
/// reserved word (upstream's `isCELIdentifier`).
pub(super) fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    let head = chars
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic());
    head && chars.all(|c| c == '_' || c.is_ascii_alphanumeric()) && !RESERVED.contains(&name)
}

/// The CEL identifier of the property `name`, or `None` when it has none.
pub(super) fn escape(name: &str) -> Option<String> {
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    if RESERVED.contains(&name) {
        return Some(format!("__{name}__"));
    }
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(c) = rest.chars().next() {
        if let Some(after) = rest.strip_prefix("__") {
            out.push_str("__underscores__");
            rest = after;
            continue;
        }
        match c {
            '.' => out.push_str("__dot__"),
            '-' => out.push_str("__dash__"),
            '/' => out.push_str("__slash__"),
            c if c.is_ascii_alphanumeric() || c == '_' => out.push(c),
            _ => return None,
        }
        rest = &rest[c.len_utf8()..];
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_as_upstream() {
        // Upstream's escaping_test.go cases, as pairs of property name and identifier.
        let cases = [
            ("simple", Some("simple")),
            ("_leading_underscore", Some("_leading_underscore")),
            ("a__b", Some("a__underscores__b")),
            ("___", Some("__underscores___")),
            ("a.b", Some("a__dot__b")),
            ("a-b", Some("a__dash__b")),
            ("a/b", Some("a__slash__b")),
            ("namespace", Some("__namespace__")),
            ("true", Some("__true__")),
            (
                "x-kubernetes-list-type",
                Some("x__dash__kubernetes__dash__list__dash__type"),
            ),
            (
                "foo.example.com/bar",
                Some("foo__dot__example__dot__com__slash__bar"),
            ),
            ("1st", None),
            ("", None),
            ("a b", None),
            ("a:b", None),
            ("ünicode", None),
        ];
        for (name, want) in cases {
            assert_eq!(escape(name).as_deref(), want, "{name:?}");
        }
    }
}
