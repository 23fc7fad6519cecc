//! Label selectors, parsed and matched as upstream's `k8s.io/apimachinery/pkg/labels/selector.go`:
//! `=`, `==`, `!=`, `in (..)`, `notin (..)`, `key` (exists), `!key` (does not exist), `>` and `<`
//! (integer comparison), joined by `,` (AND). Error texts are upstream's.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::api::go_fmt::go_quote;
use crate::api::names::{is_qualified_name, is_valid_label_value};

/// A requirement's operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Equals,
    DoubleEquals,
    NotEquals,
    In,
    NotIn,
    Exists,
    DoesNotExist,
    GreaterThan,
    LessThan,
}

/// One `key op values` term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    pub key: String,
    pub operator: Operator,
    /// The values, sorted and de-duplicated.
    pub values: BTreeSet<String>,
}

impl Requirement {
    /// Whether a label set satisfies the requirement.
    pub fn matches(&self, labels: Option<&Map<String, Value>>) -> bool {
        let value = labels
            .and_then(|l| l.get(&self.key))
            .map(|v| v.as_str().unwrap_or(""));
        match self.operator {
            Operator::Equals | Operator::DoubleEquals | Operator::In => {
                value.is_some_and(|v| self.values.contains(v))
            }
            Operator::NotEquals | Operator::NotIn => value.is_none_or(|v| !self.values.contains(v)),
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
            Operator::GreaterThan | Operator::LessThan => {
                let Some(actual) = value.and_then(|v| v.parse::<i64>().ok()) else {
                    return false;
                };
                let Some(wanted) = self
                    .values
                    .iter()
                    .next()
                    .and_then(|v| v.parse::<i64>().ok())
                else {
                    return false;
                };
                if self.operator == Operator::GreaterThan {
                    actual > wanted
                } else {
                    actual < wanted
                }
            }
        }
    }
}

/// A parsed label selector: the AND of its requirements. Empty selects everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    pub requirements: Vec<Requirement>,
}

impl LabelSelector {
    /// Parses a selector string; the error is upstream's message (the store answers it as 400).
    pub fn parse(input: &str) -> Result<Self, String> {
        let tokens = lex(input)?;
        let mut parser = Parser { tokens, pos: 0 };
        let mut requirements = parser.parse()?;
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(Self { requirements })
    }

    /// Whether the selector selects everything.
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// Whether an object's `metadata.labels` satisfy every requirement.
    pub fn matches_labels(&self, labels: Option<&Map<String, Value>>) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }

    /// Whether `obj` (an API object) is selected.
    pub fn matches(&self, obj: &Value) -> bool {
        self.is_empty()
            || self.matches_labels(obj.pointer("/metadata/labels").and_then(Value::as_object))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    End,
    Ident(String),
    In,
    NotIn,
    Bang,
    NotEquals,
    Equals,
    DoubleEquals,
    Greater,
    Less,
    OpenPar,
    ClosePar,
    Comma,
}

impl Token {
    fn literal(&self) -> &str {
        match self {
            Token::End => "",
            Token::Ident(s) => s,
            Token::In => "in",
            Token::NotIn => "notin",
            Token::Bang => "!",
            Token::NotEquals => "!=",
            Token::Equals => "=",
            Token::DoubleEquals => "==",
            Token::Greater => ">",
            Token::Less => "<",
            Token::OpenPar => "(",
            Token::ClosePar => ")",
            Token::Comma => ",",
        }
    }
}

fn is_special(c: char) -> bool {
    matches!(c, '=' | '!' | '(' | ')' | ',' | '>' | '<')
}

fn symbol(s: &str) -> Option<Token> {
    Some(match s {
        "!" => Token::Bang,
        "!=" => Token::NotEquals,
        "=" => Token::Equals,
        "==" => Token::DoubleEquals,
        ">" => Token::Greater,
        "<" => Token::Less,
        "(" => Token::OpenPar,
        ")" => Token::ClosePar,
        "," => Token::Comma,
        _ => return None,
    })
}

/// Splits the input into tokens, taking the longest known symbol at each special character.
fn lex(input: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = input.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if is_special(c) {
            let mut buffer = String::new();
            let mut best: Option<(Token, usize)> = None;
            let mut j = i;
            while j < chars.len() && is_special(chars[j]) {
                buffer.push(chars[j]);
                j += 1;
                if let Some(tok) = symbol(&buffer) {
                    best = Some((tok, j));
                } else if best.is_some() {
                    break;
                }
            }
            let Some((tok, end)) = best else {
                return Err(format!(
                    "unable to parse requirement: found '{buffer}', expected: keyword"
                ));
            };
            tokens.push(tok);
            i = end;
        } else {
            let start = i;
            while i < chars.len() && !chars[i].is_whitespace() && !is_special(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            tokens.push(match word.as_str() {
                "in" => Token::In,
                "notin" => Token::NotIn,
                _ => Token::Ident(word),
            });
        }
    }
    tokens.push(Token::End);
    Ok(tokens)
}

/// Whether `in`/`notin` are keywords (after a key) or plain identifiers (everywhere else).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    KeyAndOperator,
    Values,
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self, ctx: Context) -> Token {
        Self::in_context(
            self.tokens.get(self.pos).cloned().unwrap_or(Token::End),
            ctx,
        )
    }

    fn next(&mut self, ctx: Context) -> Token {
        let tok = self.peek(ctx);
        if self.pos < self.tokens.len() {
            self.pos += 1;
        }
        tok
    }

    fn in_context(tok: Token, ctx: Context) -> Token {
        match (ctx, tok) {
            (Context::Values, Token::In) => Token::Ident("in".into()),
            (Context::Values, Token::NotIn) => Token::Ident("notin".into()),
            (_, tok) => tok,
        }
    }

    fn parse(&mut self) -> Result<Vec<Requirement>, String> {
        let mut requirements = Vec::new();
        loop {
            match self.peek(Context::Values) {
                Token::Ident(_) | Token::Bang => {
                    let r = self
                        .requirement()
                        .map_err(|e| format!("unable to parse requirement: {e}"))?;
                    requirements.push(r);
                    match self.next(Context::Values) {
                        Token::End => return Ok(requirements),
                        Token::Comma => {
                            let after = self.peek(Context::Values);
                            if !matches!(after, Token::Ident(_) | Token::Bang) {
                                return Err(format!(
                                    "found '{}', expected: identifier after ','",
                                    after.literal()
                                ));
                            }
                        }
                        other => {
                            return Err(format!(
                                "found '{}', expected: ',' or 'end of string'",
                                other.literal()
                            ))
                        }
                    }
                }
                Token::End => return Ok(requirements),
                other => {
                    return Err(format!(
                        "found '{}', expected: !, identifier, or 'end of string'",
                        other.literal()
                    ))
                }
            }
        }
    }

    fn requirement(&mut self) -> Result<Requirement, String> {
        let mut negated = false;
        let mut tok = self.next(Context::Values);
        if tok == Token::Bang {
            negated = true;
            tok = self.next(Context::Values);
        }
        let Token::Ident(key) = tok else {
            return Err(format!("found '{}', expected: identifier", tok.literal()));
        };
        if let Some(msg) = key_error(&key) {
            return Err(msg);
        }
        let unary = matches!(self.peek(Context::Values), Token::End | Token::Comma);
        if negated || unary {
            let operator = if negated {
                Operator::DoesNotExist
            } else {
                Operator::Exists
            };
            return Ok(Requirement {
                key,
                operator,
                values: BTreeSet::new(),
            });
        }
        let operator = match self.next(Context::KeyAndOperator) {
            Token::In => Operator::In,
            Token::NotIn => Operator::NotIn,
            Token::Equals => Operator::Equals,
            Token::DoubleEquals => Operator::DoubleEquals,
            Token::NotEquals => Operator::NotEquals,
            Token::Greater => Operator::GreaterThan,
            Token::Less => Operator::LessThan,
            other => {
                return Err(format!(
                    "found '{}', expected: in, notin, =, ==, !=, gt, lt",
                    other.literal()
                ))
            }
        };
        let values = match operator {
            Operator::In | Operator::NotIn => self.value_set()?,
            _ => self.exact_value()?,
        };
        new_requirement(key, operator, values)
    }

    fn value_set(&mut self) -> Result<BTreeSet<String>, String> {
        let open = self.next(Context::Values);
        if open != Token::OpenPar {
            return Err(format!("found '{}' expected: '('", open.literal()));
        }
        match self.peek(Context::Values) {
            Token::Ident(_) | Token::Comma => {
                let set = self.identifiers()?;
                let close = self.next(Context::Values);
                if close != Token::ClosePar {
                    return Err(format!("found '{}', expected: ')'", close.literal()));
                }
                Ok(set)
            }
            Token::ClosePar => {
                self.next(Context::Values);
                Ok(BTreeSet::from([String::new()]))
            }
            other => Err(format!(
                "found '{}', expected: ',', ')' or identifier",
                other.literal()
            )),
        }
    }

    fn identifiers(&mut self) -> Result<BTreeSet<String>, String> {
        let mut set = BTreeSet::new();
        loop {
            match self.next(Context::Values) {
                Token::Ident(value) => {
                    set.insert(value);
                    match self.peek(Context::Values) {
                        Token::Comma => continue,
                        Token::ClosePar => return Ok(set),
                        other => {
                            return Err(format!(
                                "found '{}', expected: ',' or ')'",
                                other.literal()
                            ))
                        }
                    }
                }
                Token::Comma => {
                    if set.is_empty() {
                        set.insert(String::new());
                    }
                    match self.peek(Context::Values) {
                        Token::ClosePar => {
                            set.insert(String::new());
                            return Ok(set);
                        }
                        Token::Comma => {
                            self.next(Context::Values);
                            set.insert(String::new());
                        }
                        _ => {}
                    }
                }
                other => {
                    return Err(format!(
                        "found '{}', expected: ',', or identifier",
                        other.literal()
                    ))
                }
            }
        }
    }

    fn exact_value(&mut self) -> Result<BTreeSet<String>, String> {
        if matches!(self.peek(Context::Values), Token::End | Token::Comma) {
            return Ok(BTreeSet::from([String::new()]));
        }
        match self.next(Context::Values) {
            Token::Ident(value) => Ok(BTreeSet::from([value])),
            other => Err(format!("found '{}', expected: identifier", other.literal())),
        }
    }
}

fn key_error(key: &str) -> Option<String> {
    let errs = is_qualified_name(key);
    (!errs.is_empty()).then(|| {
        format!(
            "<nil>: Invalid value: {}: {}",
            go_quote(key),
            errs.join("; ")
        )
    })
}

/// Checks values against the operator, as upstream's `NewRequirement`.
fn new_requirement(
    key: String,
    operator: Operator,
    values: BTreeSet<String>,
) -> Result<Requirement, String> {
    let mut errs = Vec::new();
    if matches!(operator, Operator::GreaterThan | Operator::LessThan) {
        for (i, v) in values.iter().enumerate() {
            if v.parse::<i64>().is_err() {
                errs.push(format!(
                    "values[{i}]: Invalid value: {}: for 'Gt', 'Lt' operators, the value must be an integer",
                    go_quote(v)
                ));
            }
        }
    }
    for (i, v) in values.iter().enumerate() {
        let problems = is_valid_label_value(v);
        if !problems.is_empty() {
            errs.push(format!(
                "values[{i}][{key}]: Invalid value: {}: {}",
                go_quote(v),
                problems.join("; ")
            ));
        }
    }
    match errs.len() {
        0 => Ok(Requirement {
            key,
            operator,
            values,
        }),
        1 => Err(errs.remove(0)),
        _ => Err(format!("[{}]", errs.join(", "))),
    }
}

/// Converts a `metav1.LabelSelector` (JSON) into a selector, as upstream's
/// `LabelSelectorAsSelector`: an empty selector selects everything.
pub fn label_selector(selector: &Value) -> Result<LabelSelector, String> {
    let mut requirements = Vec::new();
    if let Some(labels) = selector.get("matchLabels").and_then(Value::as_object) {
        for (key, value) in labels {
            let value = value.as_str().unwrap_or("").to_string();
            requirements.push(Requirement {
                key: key.clone(),
                operator: Operator::Equals,
                values: BTreeSet::from([value]),
            });
        }
    }
    for expression in selector
        .get("matchExpressions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let key = expression
            .get("key")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let values: BTreeSet<String> = expression
            .get("values")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect();
        let op = expression
            .get("operator")
            .and_then(Value::as_str)
            .unwrap_or("");
        let operator = match op {
            "In" => Operator::In,
            "NotIn" => Operator::NotIn,
            "Exists" => Operator::Exists,
            "DoesNotExist" => Operator::DoesNotExist,
            other => return Err(format!("{other:?} is not a valid label selector operator")),
        };
        match operator {
            Operator::In | Operator::NotIn if values.is_empty() => {
                return Err(
                    "values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty"
                        .into(),
                )
            }
            Operator::Exists | Operator::DoesNotExist if !values.is_empty() => {
                return Err(
                    "values: Invalid value: values set must be empty for exists and does not exist"
                        .into(),
                )
            }
            _ => {}
        }
        requirements.push(Requirement {
            key,
            operator,
            values,
        });
    }
    requirements.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(LabelSelector { requirements })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn labels(v: Value) -> Value {
        json!({"metadata": {"labels": v}})
    }

    #[test]
    fn matching_table() {
        let obj = labels(json!({"app": "web", "tier": "front", "n": "5", "empty": ""}));
        let none = json!({"metadata": {}});
        let cases: &[(&str, bool, bool)] = &[
            // (selector, matches obj, matches object without labels)
            ("", true, true),
            ("app=web", true, false),
            ("app==web", true, false),
            ("app!=web", false, true),
            ("app!=db", true, true),
            ("app in (web,db)", true, false),
            ("app in (db)", false, false),
            ("app notin (db)", true, true),
            ("app notin (web, db)", false, true),
            ("app", true, false),
            ("!app", false, true),
            ("missing", false, false),
            ("!missing", true, true),
            ("n>4", true, false),
            ("n>5", false, false),
            ("n<6", true, false),
            ("app>1", false, false),
            ("app=web,tier=front", true, false),
            ("app=web,tier=back", false, false),
            ("app = web , tier in ( front )", true, false),
            ("empty=", true, false),
            ("empty in (,x)", true, false),
            ("in in (in)", false, false),
            ("example.com/key=v", false, false),
        ];
        for (input, want_obj, want_none) in cases {
            let sel = LabelSelector::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(sel.matches(&obj), *want_obj, "{input} on labelled object");
            assert_eq!(
                sel.matches(&none),
                *want_none,
                "{input} on unlabelled object"
            );
        }
    }

    #[test]
    fn parse_errors_read_as_upstreams() {
        let cases: &[(&str, &str)] = &[
            ("app in web", "unable to parse requirement: found 'web' expected: '('"),
            ("app in (a b)", "unable to parse requirement: found 'b', expected: ',' or ')'"),
            ("app in (a", "unable to parse requirement: found '', expected: ',' or ')'"),
            ("app ~ b", "unable to parse requirement: found '~', expected: in, notin, =, ==, !=, gt, lt"),
            ("app=a=b", "found '=', expected: ',' or 'end of string'"),
            ("app=a,", "found '', expected: identifier after ','"),
            (",app", "found ',', expected: !, identifier, or 'end of string'"),
            ("=x", "found '=', expected: !, identifier, or 'end of string'"),
            ("app=(x)", "unable to parse requirement: found '(', expected: identifier"),
            ("app>x", "unable to parse requirement: values[0]: Invalid value: \"x\": for 'Gt', 'Lt' operators, the value must be an integer"),
            ("app in ()x", "found 'x', expected: ',' or 'end of string'"),
            ("!", "unable to parse requirement: found '', expected: identifier"),
        ];
        for (input, want) in cases {
            let err = LabelSelector::parse(input).expect_err(input);
            assert_eq!(&err, want, "{input}");
        }
        let err = LabelSelector::parse("-bad=x").unwrap_err();
        assert!(err.starts_with("unable to parse requirement: <nil>: Invalid value: \"-bad\": name part must consist of"), "{err}");
        let err = LabelSelector::parse("a=-x").unwrap_err();
        assert!(
            err.starts_with(
                "unable to parse requirement: values[0][a]: Invalid value: \"-x\": a valid label"
            ),
            "{err}"
        );
    }

    #[test]
    fn requirements_are_sorted_by_key() {
        let sel = LabelSelector::parse("b=1,a in (y,x,x)").unwrap();
        assert_eq!(sel.requirements[0].key, "a");
        assert_eq!(
            sel.requirements[0].values.iter().collect::<Vec<_>>(),
            ["x", "y"]
        );
        assert_eq!(sel.requirements[1].operator, Operator::Equals);
    }
}
