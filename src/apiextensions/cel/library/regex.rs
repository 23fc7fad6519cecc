//! The regex library (`apiserver/pkg/cel/library/regex.go`): `<string>.find(<string>)`,
//! `<string>.findAll(<string>)` and `<string>.findAll(<string>, <int>)`.
//!
//! Patterns have Go's RE2 syntax and meaning, which Rust's `regex` mostly shares; where they
//! differ, patterns are rewritten to Go's: `\d`, `\w`, `\s` and `\b` are ASCII-only, `\Q...\E`
//! is literal text, a `{` that starts no repetition is a literal, `[` inside a class is a
//! literal, repetitions may not nest (`a**`) nor exceed 1000. Syntax errors are reported in
//! Go's words (`error parsing regexp: missing closing ): `(``), and a constant pattern that does
//! not compile is a CRD error ([`constant_pattern_errors`]), as upstream's regex optimization
//! makes it.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use cel::common::ast::{EntryExpr, Expr, IdedExpr, LiteralValue};
use cel::common::types::{CelInt, CelList, CelString};
use cel::{DeclarationError, Env, ExecutionError};
use regex_syntax::ast::{
    self, Ast, ClassAscii, ClassAsciiKind, ClassBracketed, ClassPerl, ClassPerlKind, ClassSet,
    ClassSetItem, ClassSetUnion, ErrorKind, Flag, Flags, FlagsItem, FlagsItemKind, Group,
    GroupKind, Literal, LiteralKind, RepetitionKind, RepetitionRange, SpecialLiteralKind,
};

pub(super) fn register(env: &mut Env) -> Result<(), DeclarationError> {
    cel::add_member_overload!(env, fn find: (CelString, CelString) -> Result<CelString>,
        id = "string_find_string")?;
    cel::add_member_overload!(env, fn find_all: (CelString, CelString) -> Result<CelList>,
        id = "string_find_all_string")?;
    cel::add_member_overload!(env, fn find_all_n: (CelString, CelString, CelInt) -> Result<CelList>,
        name = "findAll", id = "string_find_all_string_int")?;
    Ok(())
}

/// The pattern compiled, or upstream's runtime error for one that does not compile.
fn compile_at_runtime(function: &str, pattern: &str) -> Result<regex::Regex, ExecutionError> {
    compile_cached(pattern).map_err(|err| super::error(function, format!("Illegal regex: {err}")))
}

/// [`compile`], remembered: upstream compiles a rule's constant pattern once, not at each
/// evaluation. The cache is emptied when it holds [`MAX_CACHED_PATTERNS`].
fn compile_cached(pattern: &str) -> Result<regex::Regex, String> {
    type Cache = HashMap<String, Result<regex::Regex, String>>;
    static CACHE: LazyLock<Mutex<Cache>> = LazyLock::new(Mutex::default);
    if let Some(hit) = CACHE
        .lock()
        .ok()
        .and_then(|cache| cache.get(pattern).cloned())
    {
        return hit;
    }
    let compiled = compile(pattern);
    if let Ok(mut cache) = CACHE.lock() {
        if cache.len() >= MAX_CACHED_PATTERNS {
            cache.clear();
        }
        cache.insert(pattern.to_string(), compiled.clone());
    }
    compiled
}

/// The most compiled patterns [`compile_cached`] keeps.
const MAX_CACHED_PATTERNS: usize = 512;

/// The first match, or the empty string.
fn find(s: &CelString<'_>, pattern: &CelString<'_>) -> Result<CelString<'static>, ExecutionError> {
    let re = compile_at_runtime("find", pattern.inner())?;
    let found = re.find(s.inner()).map(|m| m.as_str()).unwrap_or("");
    Ok(CelString::from(found.to_string()))
}

fn find_all(
    s: &CelString<'_>,
    pattern: &CelString<'_>,
) -> Result<CelList<'static>, ExecutionError> {
    find_all_n(s, pattern, &CelInt::from(-1))
}

/// Go's `FindAllString(s, n)`: at most `n` matches, all of them when `n` is negative.
fn find_all_n(
    s: &CelString<'_>,
    pattern: &CelString<'_>,
    n: &CelInt,
) -> Result<CelList<'static>, ExecutionError> {
    let re = compile_at_runtime("findAll", pattern.inner())?;
    let limit = usize::try_from(*n.inner()).unwrap_or(usize::MAX);
    let found = re
        .find_iter(s.inner())
        .take(limit)
        .map(|m| m.as_str().to_string());
    Ok(super::string_list(found))
}

/// The error of the first constant pattern of a `find` or `findAll` call in `expr` that does
/// not compile, as upstream reports it when the rule's program is built
/// (`error parsing regexp: ...`, after `program instantiation failed: `).
pub(in super::super) fn constant_pattern_errors(expr: &IdedExpr) -> Option<String> {
    match &expr.expr {
        Expr::Call(call) => {
            if matches!(call.func_name.as_str(), "find" | "findAll") && call.target.is_some() {
                if let Some(Expr::Literal(LiteralValue::String(pattern))) =
                    call.args.first().map(|arg| &arg.expr)
                {
                    if let Err(err) = compile(pattern.inner()) {
                        return Some(err);
                    }
                }
            }
            call.target
                .iter()
                .map(|target| &**target)
                .chain(&call.args)
                .find_map(constant_pattern_errors)
        }
        Expr::Comprehension(c) => [
            &c.iter_range,
            &c.accu_init,
            &c.loop_cond,
            &c.loop_step,
            &c.result,
        ]
        .into_iter()
        .find_map(constant_pattern_errors),
        Expr::List(list) => list.elements.iter().find_map(constant_pattern_errors),
        Expr::Map(map) => map
            .entries
            .iter()
            .find_map(|entry| entry_errors(&entry.expr)),
        Expr::Struct(s) => s.entries.iter().find_map(|entry| entry_errors(&entry.expr)),
        Expr::Select(select) => constant_pattern_errors(&select.operand),
        Expr::Ident(_) | Expr::Literal(_) | Expr::Unspecified => None,
    }
}

fn entry_errors(entry: &EntryExpr) -> Option<String> {
    match entry {
        EntryExpr::StructField(field) => constant_pattern_errors(&field.value),
        EntryExpr::MapEntry(entry) => {
            constant_pattern_errors(&entry.key).or_else(|| constant_pattern_errors(&entry.value))
        }
    }
}

/// A Go regular expression compiled with Go's meaning, or Go's error text.
pub(super) fn compile(pattern: &str) -> Result<regex::Regex, String> {
    let rewritten = rewrite_go_syntax(pattern);
    let mut parsed = ast::parse::Parser::new()
        .parse(&rewritten)
        .map_err(|err| parse_error(pattern, &err))?;
    check_go_limits(&parsed, &rewritten)?;
    make_ascii_perl_classes(&mut parsed);
    let mut translated = String::new();
    ast::print::Printer::new()
        .print(&parsed, &mut translated)
        .map_err(|_| go_error("regexp/syntax: internal error", pattern))?;
    regex_syntax::hir::translate::Translator::new()
        .translate(&rewritten, &parsed)
        .map_err(|err| {
            let span = err.span();
            let text = &rewritten[span.start.offset..span.end.offset];
            go_error("invalid character class range", text)
        })?;
    regex::Regex::new(&translated).map_err(|_| go_error("expression too large", pattern))
}

/// `error parsing regexp: <code>: `<expr>``, Go's `syntax.Error`.
fn go_error(code: &str, expr: &str) -> String {
    format!("error parsing regexp: {code}: `{expr}`")
}

/// Go's error for a pattern Rust's parser rejects.
fn parse_error(pattern: &str, err: &ast::Error) -> String {
    let rewritten = err.pattern();
    let span = err.span();
    let text = &rewritten[span.start.offset..span.end.offset];
    match err.kind() {
        ErrorKind::GroupUnopened => go_error("unexpected )", pattern),
        ErrorKind::GroupUnclosed => go_error("missing closing )", pattern),
        ErrorKind::ClassUnclosed => go_error("missing closing ]", &rewritten[span.start.offset..]),
        ErrorKind::RepetitionMissing => go_error(
            "missing argument to repetition operator",
            repetition_operator(&rewritten[span.start.offset..]),
        ),
        ErrorKind::RepetitionCountInvalid
        | ErrorKind::RepetitionCountUnclosed
        | ErrorKind::RepetitionCountDecimalEmpty
        | ErrorKind::DecimalInvalid
        | ErrorKind::DecimalEmpty => go_error("invalid repeat count", text),
        ErrorKind::EscapeUnexpectedEof => go_error("trailing backslash at end of expression", ""),
        ErrorKind::EscapeUnrecognized | ErrorKind::UnsupportedBackreference => {
            go_error("invalid escape sequence", text)
        }
        ErrorKind::ClassRangeInvalid
        | ErrorKind::ClassRangeLiteral
        | ErrorKind::ClassEscapeInvalid
        | ErrorKind::UnicodeClassInvalid => go_error("invalid character class range", text),
        ErrorKind::NestLimitExceeded(_) => go_error("expression nests too deeply", pattern),
        ErrorKind::GroupNameEmpty
        | ErrorKind::GroupNameInvalid
        | ErrorKind::GroupNameUnexpectedEof
        | ErrorKind::GroupNameDuplicate { .. } => go_error("invalid named capture", text),
        _ => go_error("invalid or unsupported Perl syntax", text),
    }
}

/// The repetition operator `s` starts with, as Go quotes it: `*`, `+?`, `{2}`.
fn repetition_operator(s: &str) -> &str {
    let len = if s.starts_with('{') {
        s.find('}').map_or(s.len(), |end| end + 1)
    } else {
        s.chars().next().map_or(0, char::len_utf8)
    };
    let len = if s[len..].starts_with('?') {
        len + 1
    } else {
        len
    };
    &s[..len]
}

/// Rewrites the Go syntax Rust's parser reads otherwise: `\Q...\E`, a `{` that starts no Go
/// repetition, and inside classes `[` (except `[:name:]`), `&`, `~` and a second `-` in a row.
fn rewrite_go_syntax(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len());
    let mut i = 0;
    let mut in_class = false;
    // Right after `[` or `[^`, where `]` is a literal.
    let mut class_start = false;
    let mut previous_dash = false;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' {
            if !in_class && chars.get(i + 1) == Some(&'Q') {
                let rest: String = chars[i + 2..].iter().collect();
                let (literal, consumed) = match rest.find("\\E") {
                    Some(end) => (&rest[..end], rest[..end].chars().count() + 2),
                    None => (rest.as_str(), rest.chars().count()),
                };
                out.push_str(&regex_syntax::escape(literal));
                i += 2 + consumed;
                continue;
            }
            out.push(c);
            if let Some(&next) = chars.get(i + 1) {
                out.push(next);
            }
            i += 2;
            class_start = false;
            previous_dash = false;
            continue;
        }
        if in_class {
            match c {
                ']' if !class_start => in_class = false,
                '[' if chars.get(i + 1) == Some(&':') => {
                    let rest: String = chars[i..].iter().collect();
                    if let Some(end) = rest[2..].find(":]") {
                        let named = &rest[..end + 4];
                        out.push_str(named);
                        i += named.chars().count();
                        class_start = false;
                        previous_dash = false;
                        continue;
                    }
                    out.push('\\');
                }
                '[' | '&' | '~' => out.push('\\'),
                '-' if previous_dash => out.push('\\'),
                _ => {}
            }
            out.push(c);
            previous_dash = c == '-' && !previous_dash;
            class_start = false;
            i += 1;
            continue;
        }
        match c {
            '[' => {
                out.push('[');
                i += 1;
                if chars.get(i) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                in_class = true;
                class_start = true;
                previous_dash = false;
                continue;
            }
            '{' if !go_repeat_at(&chars[i..]) => out.push_str("\\{"),
            _ => out.push(c),
        }
        i += 1;
    }
    out
}

/// Whether `s` starts with what Go's `parseRepeat` takes for a repetition: `{n}`, `{n,}` or
/// `{n,m}`, numbers without leading zeros.
fn go_repeat_at(s: &[char]) -> bool {
    fn number(s: &[char]) -> Option<usize> {
        let len = s.iter().take_while(|c| c.is_ascii_digit()).count();
        if len == 0 || (len >= 2 && s[0] == '0') {
            return None;
        }
        Some(len)
    }
    let mut i = 1;
    let Some(len) = number(&s[i.min(s.len())..]) else {
        return false;
    };
    i += len;
    if s.get(i) == Some(&',') {
        i += 1;
        if s.get(i) != Some(&'}') {
            let Some(len) = number(&s[i.min(s.len())..]) else {
                return false;
            };
            i += len;
        }
    }
    s.get(i) == Some(&'}')
}

/// Go's limits Rust's parser does not have: nested repetition operators (`a**`, `a+?*`) and
/// repeat counts over 1000; flags Go lacks (`x`, `R`, `u`).
fn check_go_limits(parsed: &Ast, pattern: &str) -> Result<(), String> {
    let text = |span: &ast::Span| &pattern[span.start.offset..span.end.offset];
    let check_flags = |flags: &Flags, start: usize| -> Result<(), String> {
        for item in &flags.items {
            if let FlagsItemKind::Flag(Flag::IgnoreWhitespace | Flag::CRLF | Flag::Unicode) =
                item.kind
            {
                return Err(go_error(
                    "invalid or unsupported Perl syntax",
                    &pattern[start..item.span.end.offset],
                ));
            }
        }
        Ok(())
    };
    match parsed {
        Ast::Repetition(rep) => {
            if let Ast::Repetition(inner) = &*rep.ast {
                return Err(go_error(
                    "invalid nested repetition operator",
                    &pattern[inner.op.span.start.offset..rep.op.span.end.offset],
                ));
            }
            if let RepetitionKind::Range(range) = &rep.op.kind {
                let too_large = match range {
                    RepetitionRange::Exactly(n) | RepetitionRange::AtLeast(n) => *n > 1000,
                    RepetitionRange::Bounded(m, n) => *m > 1000 || *n > 1000,
                };
                if too_large {
                    return Err(go_error("invalid repeat count", text(&rep.op.span)));
                }
            }
            check_go_limits(&rep.ast, pattern)
        }
        Ast::Group(group) => {
            if let GroupKind::NonCapturing(flags) = &group.kind {
                check_flags(flags, group.span.start.offset)?;
            }
            check_go_limits(&group.ast, pattern)
        }
        Ast::Flags(set) => check_flags(&set.flags, set.span.start.offset),
        Ast::Alternation(alt) => alt
            .asts
            .iter()
            .try_for_each(|ast| check_go_limits(ast, pattern)),
        Ast::Concat(concat) => concat
            .asts
            .iter()
            .try_for_each(|ast| check_go_limits(ast, pattern)),
        Ast::Assertion(assertion) => match assertion.kind {
            ast::AssertionKind::StartLine
            | ast::AssertionKind::EndLine
            | ast::AssertionKind::StartText
            | ast::AssertionKind::EndText
            | ast::AssertionKind::WordBoundary
            | ast::AssertionKind::NotWordBoundary => Ok(()),
            _ => Err(go_error("invalid escape sequence", text(&assertion.span))),
        },
        _ => Ok(()),
    }
}

/// Go's Perl classes and word boundaries are ASCII: `\d` is `[0-9]`, `\w` `[0-9A-Za-z_]`, `\s`
/// `[\t\n\f\r ]`, `\b` an ASCII word boundary.
fn make_ascii_perl_classes(parsed: &mut Ast) {
    match parsed {
        Ast::ClassPerl(perl) => {
            let class = ascii_class(perl, perl.negated);
            *parsed = Ast::class_bracketed(class);
        }
        Ast::ClassBracketed(class) => ascii_class_set(&mut class.kind),
        Ast::Assertion(assertion)
            if matches!(
                assertion.kind,
                ast::AssertionKind::WordBoundary | ast::AssertionKind::NotWordBoundary
            ) =>
        {
            let span = assertion.span;
            let inner = std::mem::replace(parsed, Ast::empty(span));
            *parsed = Ast::group(Group {
                span,
                kind: GroupKind::NonCapturing(Flags {
                    span,
                    items: vec![
                        FlagsItem {
                            span,
                            kind: FlagsItemKind::Negation,
                        },
                        FlagsItem {
                            span,
                            kind: FlagsItemKind::Flag(Flag::Unicode),
                        },
                    ],
                }),
                ast: Box::new(inner),
            });
        }
        Ast::Repetition(rep) => make_ascii_perl_classes(&mut rep.ast),
        Ast::Group(group) => make_ascii_perl_classes(&mut group.ast),
        Ast::Alternation(alt) => alt.asts.iter_mut().for_each(make_ascii_perl_classes),
        Ast::Concat(concat) => concat.asts.iter_mut().for_each(make_ascii_perl_classes),
        _ => {}
    }
}

fn ascii_class_set(set: &mut ClassSet) {
    match set {
        ClassSet::Item(item) => ascii_class_item(item),
        ClassSet::BinaryOp(op) => {
            ascii_class_set(&mut op.lhs);
            ascii_class_set(&mut op.rhs);
        }
    }
}

fn ascii_class_item(item: &mut ClassSetItem) {
    match item {
        ClassSetItem::Perl(perl) if perl.negated => {
            *item = ClassSetItem::Bracketed(Box::new(ascii_class(perl, true)));
        }
        ClassSetItem::Perl(perl) => *item = ascii_items(perl),
        ClassSetItem::Bracketed(class) => ascii_class_set(&mut class.kind),
        ClassSetItem::Union(union) => union.items.iter_mut().for_each(ascii_class_item),
        _ => {}
    }
}

/// The bracketed ASCII class of a Perl class, negated when `negated`.
fn ascii_class(perl: &ClassPerl, negated: bool) -> ClassBracketed {
    ClassBracketed {
        span: perl.span,
        negated,
        kind: ClassSet::Item(ascii_items(perl)),
    }
}

/// The characters of a Perl class, unnegated, as class items.
fn ascii_items(perl: &ClassPerl) -> ClassSetItem {
    let span = perl.span;
    let ascii = |kind| {
        ClassSetItem::Ascii(ClassAscii {
            span,
            kind,
            negated: false,
        })
    };
    match perl.kind {
        ClassPerlKind::Digit => ascii(ClassAsciiKind::Digit),
        ClassPerlKind::Word => ascii(ClassAsciiKind::Word),
        ClassPerlKind::Space => {
            let literal = |c, kind| ClassSetItem::Literal(Literal { span, kind, c });
            ClassSetItem::Union(ClassSetUnion {
                span,
                items: vec![
                    literal('\t', LiteralKind::Special(SpecialLiteralKind::Tab)),
                    literal('\n', LiteralKind::Special(SpecialLiteralKind::LineFeed)),
                    literal('\x0c', LiteralKind::Special(SpecialLiteralKind::FormFeed)),
                    literal(
                        '\r',
                        LiteralKind::Special(SpecialLiteralKind::CarriageReturn),
                    ),
                    literal(' ', LiteralKind::Verbatim),
                ],
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{assert_errors, assert_true};
    use super::*;

    /// Upstream's "stdlib regex functions" cases (`apiextensions-apiserver`
    /// `validation_test.go`) and the library's documented examples.
    #[test]
    fn upstream_examples() {
        assert_true(&[
            "'this is a 123 string 456'.find('[0-9]+') == '123'",
            "'this is a 123 string 456'.find('[0-9]+') != '456'",
            "'this is a 123 string 456'.find('xyz') == ''",
            "'this is a 123 string 456'.findAll('[0-9]+') == ['123', '456']",
            "'this is a 123 string 456'.findAll('[0-9]+', 0) == []",
            "'this is a 123 string 456'.findAll('[0-9]+', 1) == ['123']",
            "'this is a 123 string 456'.findAll('[0-9]+', 2) == ['123', '456']",
            "'this is a 123 string 456'.findAll('[0-9]+', 3) == ['123', '456']",
            "'this is a 123 string 456'.findAll('[0-9]+', -1) == ['123', '456']",
            "'this is a 123 string 456'.findAll('xyz') == []",
            "'this is a 123 string 456'.findAll('xyz', 1) == []",
            "'abc 123'.find('[0-9]+') == '123'",
            "'123 abc 456'.findAll('[0-9]+', 1) == ['123']",
            // Go's empty matches: none right after a match.
            "'baaab'.findAll('a*') == ['', 'aaa', '']",
        ]);
    }

    #[test]
    fn patterns_mean_what_they_mean_in_go() {
        assert_true(&[
            r"'١٢٣ 42'.find('\\d+') == '42'",
            r"'é_x'.find('\\w+') == '_x'",
            r"'a\u00a0b'.findAll('\\s') == []",
            r"'a\u000bb'.findAll('[\\s]') == []",
            r"'éa'.find('\\ba') == 'a'",
            r"'x[y'.find('[[]') == '['",
            r"'a&&b'.find('[&]+') == '&&'",
            r"'a{1}'.find('a{') == 'a{'",
            r"'a{01}'.find('a{01}') == 'a{01}'",
            r"'aa'.find('a{2}') == 'aa'",
            r"'a.b*'.find('\\Q.b*\\E') == '.b*'",
            r"'AB'.find('[[:upper:]]+') == 'AB'",
            r"'x9'.find('[^\\D]') == '9'",
        ]);
    }

    #[test]
    fn errors_are_go_texts() {
        for (pattern, error) in [
            (")", "error parsing regexp: unexpected ): `)`"),
            ("(a", "error parsing regexp: missing closing ): `(a`"),
            ("a[bc", "error parsing regexp: missing closing ]: `[bc`"),
            (
                "*a",
                "error parsing regexp: missing argument to repetition operator: `*`",
            ),
            (
                "a|+?",
                "error parsing regexp: missing argument to repetition operator: `+?`",
            ),
            (
                "{2}",
                "error parsing regexp: missing argument to repetition operator: `{2}`",
            ),
            (
                "a**",
                "error parsing regexp: invalid nested repetition operator: `**`",
            ),
            (
                "x++",
                "error parsing regexp: invalid nested repetition operator: `++`",
            ),
            (
                "a{1001}",
                "error parsing regexp: invalid repeat count: `{1001}`",
            ),
            (
                "a{2,1}",
                "error parsing regexp: invalid repeat count: `{2,1}`",
            ),
            (
                "\\q",
                "error parsing regexp: invalid escape sequence: `\\q`",
            ),
            (
                "a\\",
                "error parsing regexp: trailing backslash at end of expression: ``",
            ),
            (
                "[z-a]",
                "error parsing regexp: invalid character class range: `z-a`",
            ),
            (
                "(?x)a",
                "error parsing regexp: invalid or unsupported Perl syntax: `(?x`",
            ),
            (
                "(?=a)",
                "error parsing regexp: invalid or unsupported Perl syntax: `(?=`",
            ),
        ] {
            assert_eq!(compile(pattern).unwrap_err(), error, "{pattern}");
        }
        assert_errors(&[(
            "'x'.find('x' + ')')",
            "Illegal regex: error parsing regexp: unexpected ): `x)`",
        )]);
    }

    #[test]
    fn constant_patterns_are_checked_when_compiling() {
        let env = super::super::super::compile::environment();
        let error = |source: &str| {
            let program = env.compile(source).unwrap();
            constant_pattern_errors(program.expression())
        };
        assert_eq!(
            error("self.str.find(')') == ''").as_deref(),
            Some("error parsing regexp: unexpected ): `)`")
        );
        assert_eq!(
            error("[1].all(x, 'a'.findAll('(', 1) == [])").as_deref(),
            Some("error parsing regexp: missing closing ): `(`")
        );
        assert_eq!(error("self.str.find(self.pattern) == ''"), None);
        assert_eq!(error("self.str.find('[a-z]') == ''"), None);
    }
}
