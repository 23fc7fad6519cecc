//! The JSONPath subset CRD printer columns use, evaluated as `k8s.io/client-go/util/jsonpath`
//! does with `AllowMissingKeys(true)` (upstream parses a column's `jsonPath` as `{<jsonPath>}`):
//! fields (`.spec.replicas`, `['a.b']`), `*` wildcards, indexes and slices (`[0]`, `[-1]`,
//! `[1:3]`, `[*]`), recursive descent (`..name`) and filters
//! (`[?(@.type=="Ready")]`, `[?(@.ready)]`, with `==`, `!=`, `<`, `<=`, `>`, `>=`).
//! A missing key yields no result; a filter comparing values of different kinds is an error, as
//! Go's template comparison is.

use serde_json::Value;

/// One step of a parsed path.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Field(String),
    AllFields,
    Recursive,
    Index(i64),
    Slice(Option<i64>, Option<i64>),
    AllItems,
    Filter(Filter),
}

#[derive(Debug, Clone, PartialEq)]
struct Filter {
    left: Vec<Step>,
    /// `None` for an existence test (`[?(@.x)]`).
    comparison: Option<(String, Literal)>,
}

#[derive(Debug, Clone, PartialEq)]
enum Literal {
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

/// A parsed JSONPath expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct JsonPath {
    steps: Vec<Step>,
}

struct Parser<'a> {
    chars: Vec<char>,
    pos: usize,
    source: &'a str,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn error(&self) -> String {
        format!("unrecognized column definition {:?}", self.source)
    }

    fn name(&mut self) -> String {
        let mut out = String::new();
        while let Some(c) = self.peek() {
            if c == '.'
                || c == '['
                || c == ' '
                || c == ')'
                || c == '='
                || c == '!'
                || c == '<'
                || c == '>'
            {
                break;
            }
            if c == '\\' && self.chars.get(self.pos + 1).is_some() {
                out.push(self.chars[self.pos + 1]);
                self.pos += 2;
                continue;
            }
            out.push(c);
            self.pos += 1;
        }
        out
    }

    fn quoted(&mut self, quote: char) -> Result<String, String> {
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err(self.error()),
                Some('\\') => {
                    self.pos += 1;
                    let c = self.peek().ok_or_else(|| self.error())?;
                    out.push(c);
                    self.pos += 1;
                }
                Some(c) if c == quote => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    fn int(&mut self) -> Option<i64> {
        let start = self.pos;
        if self.peek() == Some('-') {
            self.pos += 1;
        }
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        if text.is_empty() || text == "-" {
            self.pos = start;
            return None;
        }
        text.parse().ok()
    }

    fn skip_spaces(&mut self) {
        while self.peek() == Some(' ') {
            self.pos += 1;
        }
    }

    /// Steps until `stop` (end of input, or the `)` of a filter).
    fn steps(&mut self, in_filter: bool) -> Result<Vec<Step>, String> {
        let mut steps = Vec::new();
        loop {
            match self.peek() {
                None => return Ok(steps),
                Some(' ' | ')' | '=' | '!' | '<' | '>') if in_filter => return Ok(steps),
                Some('.') => {
                    self.pos += 1;
                    if self.eat('.') {
                        steps.push(Step::Recursive);
                    }
                    if self.eat('*') {
                        steps.push(Step::AllFields);
                        continue;
                    }
                    if self.peek() == Some('[') {
                        continue;
                    }
                    let name = self.name();
                    if !name.is_empty() {
                        steps.push(Step::Field(name));
                    }
                }
                Some('[') => {
                    self.pos += 1;
                    steps.push(self.bracket()?);
                    if !self.eat(']') {
                        return Err(self.error());
                    }
                }
                Some(_) => return Err(self.error()),
            }
        }
    }

    fn bracket(&mut self) -> Result<Step, String> {
        match self.peek() {
            Some('*') => {
                self.pos += 1;
                Ok(Step::AllItems)
            }
            Some(q @ ('\'' | '"')) => {
                self.pos += 1;
                Ok(Step::Field(self.quoted(q)?))
            }
            Some('?') => {
                self.pos += 1;
                if !(self.eat('(') && self.eat('@')) {
                    return Err(self.error());
                }
                let left = self.steps(true)?;
                self.skip_spaces();
                let comparison = if self.peek() == Some(')') {
                    None
                } else {
                    let mut op = String::new();
                    while let Some(c @ ('=' | '!' | '<' | '>')) = self.peek() {
                        op.push(c);
                        self.pos += 1;
                    }
                    if !matches!(op.as_str(), "==" | "!=" | "<" | "<=" | ">" | ">=") {
                        return Err(self.error());
                    }
                    self.skip_spaces();
                    let literal = self.literal()?;
                    self.skip_spaces();
                    Some((op, literal))
                };
                if !self.eat(')') {
                    return Err(self.error());
                }
                Ok(Step::Filter(Filter { left, comparison }))
            }
            _ => {
                let start = self.int();
                if self.eat(':') {
                    let end = self.int();
                    Ok(Step::Slice(start, end))
                } else {
                    start.map(Step::Index).ok_or_else(|| self.error())
                }
            }
        }
    }

    fn literal(&mut self) -> Result<Literal, String> {
        match self.peek() {
            Some(q @ ('\'' | '"')) => {
                self.pos += 1;
                Ok(Literal::Text(self.quoted(q)?))
            }
            _ => {
                let start = self.pos;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
                {
                    self.pos += 1;
                }
                let text: String = self.chars[start..self.pos].iter().collect();
                match text.as_str() {
                    "true" => Ok(Literal::Bool(true)),
                    "false" => Ok(Literal::Bool(false)),
                    _ => {
                        if let Ok(i) = text.parse::<i64>() {
                            Ok(Literal::Int(i))
                        } else if let Ok(f) = text.parse::<f64>() {
                            Ok(Literal::Float(f))
                        } else {
                            Err(self.error())
                        }
                    }
                }
            }
        }
    }
}

impl JsonPath {
    /// Parses a column's `jsonPath` (with or without upstream's `{...}` wrapping). The error is
    /// upstream's `unrecognized column definition "<jsonPath>"`.
    pub(crate) fn parse(source: &str) -> Result<Self, String> {
        let inner = source
            .strip_prefix('{')
            .and_then(|s| s.strip_suffix('}'))
            .unwrap_or(source)
            .trim();
        let mut parser = Parser {
            chars: inner.chars().collect(),
            pos: 0,
            source,
        };
        let steps = parser.steps(false)?;
        Ok(Self { steps })
    }

    /// Every value the path selects in `root`, in document order; `Err` when a filter compares
    /// values of different kinds.
    pub(crate) fn find<'a>(&self, root: &'a Value) -> Result<Vec<&'a Value>, String> {
        eval(&self.steps, vec![root])
    }
}

fn descendants<'a>(value: &'a Value, out: &mut Vec<&'a Value>) {
    out.push(value);
    match value {
        Value::Object(map) => map.values().for_each(|v| descendants(v, out)),
        Value::Array(items) => items.iter().for_each(|v| descendants(v, out)),
        _ => {}
    }
}

fn eval<'a>(steps: &[Step], mut current: Vec<&'a Value>) -> Result<Vec<&'a Value>, String> {
    for step in steps {
        let mut next = Vec::new();
        for value in current {
            match (step, value) {
                (Step::Field(name), Value::Object(map)) => next.extend(map.get(name)),
                (Step::AllFields, Value::Object(map)) => next.extend(map.values()),
                (Step::Recursive, v) => descendants(v, &mut next),
                (Step::AllItems, Value::Array(items)) => next.extend(items.iter()),
                (Step::AllItems, Value::Object(map)) => next.extend(map.values()),
                (Step::Index(i), Value::Array(items)) => {
                    let len = items.len() as i64;
                    let at = if *i < 0 { len + i } else { *i };
                    if (0..len).contains(&at) {
                        next.push(&items[at as usize]);
                    }
                }
                (Step::Slice(start, end), Value::Array(items)) => {
                    let len = items.len() as i64;
                    let clamp = |v: i64| if v < 0 { (len + v).max(0) } else { v.min(len) };
                    let from = clamp(start.unwrap_or(0));
                    let to = clamp(end.unwrap_or(len));
                    if from < to {
                        next.extend(items[from as usize..to as usize].iter());
                    }
                }
                (Step::Filter(filter), Value::Array(items)) => {
                    for item in items {
                        if filter_passes(filter, item)? {
                            next.push(item);
                        }
                    }
                }
                _ => {}
            }
        }
        current = next;
    }
    Ok(current)
}

fn filter_passes(filter: &Filter, item: &Value) -> Result<bool, String> {
    let lefts = eval(&filter.left, vec![item])?;
    let Some((op, literal)) = &filter.comparison else {
        return Ok(!lefts.is_empty());
    };
    let Some(left) = lefts.first() else {
        return Ok(false);
    };
    let ordering = match (left, literal) {
        (Value::String(a), Literal::Text(b)) => a.as_str().cmp(b.as_str()),
        (Value::Bool(a), Literal::Bool(b)) if matches!(op.as_str(), "==" | "!=") => a.cmp(b),
        (Value::Number(a), Literal::Int(b)) if !a.is_f64() => a.as_i64().unwrap_or_default().cmp(b),
        (Value::Number(a), Literal::Float(b)) if a.is_f64() => a
            .as_f64()
            .unwrap_or_default()
            .partial_cmp(b)
            .ok_or_else(|| "incomparable values".to_string())?,
        _ => return Err("incompatible types for comparison".into()),
    };
    Ok(match op.as_str() {
        "==" => ordering.is_eq(),
        "!=" => ordering.is_ne(),
        "<" => ordering.is_lt(),
        "<=" => ordering.is_le(),
        ">" => ordering.is_gt(),
        _ => ordering.is_ge(),
    })
}
