//! `fieldPath` of a validation rule: upstream's `ValidFieldPath`
//! (`apiextensions-apiserver/pkg/apiserver/schema/cel/validation.go`), which accepts a JSON path
//! of field (`.name`) and map-key (`['key']`) accessors only, and returns it in
//! `field.Path` form (`spec.ports[http]`) for error fields. Error texts are upstream's.

use serde_json::Value as Json;

/// `json_path` checked against `schema` (the schema of the node the rule is declared on), in
/// the `field.Path` string form upstream's `NormalizedRuleFieldPath` has. MUST reject any path
/// that does not name a declared property or a key of an `additionalProperties` map, with
/// upstream's error text.
pub(super) fn normalize(json_path: &str, schema: &Json) -> Result<String, String> {
    let tokens = tokenize(json_path);
    let mut tokens = tokens.iter().map(String::as_str);
    let mut path = String::new();
    let mut schema = schema;
    while let Some(token) = tokens.next() {
        match token {
            "[" => {
                let quoted = tokens.next().ok_or("unexpected end of JSON path")?;
                if quoted.len() < 2 || !quoted.starts_with('\'') || !quoted.ends_with('\'') {
                    return Err(format!("expected single quoted string but got {quoted}"));
                }
                let name = unescape_single_quoted(&quoted[1..quoted.len() - 1])
                    .map_err(|err| format!("invalid string literal: {err}"))?;
                schema = step(&mut path, schema, &name)?;
                match tokens.next() {
                    None => return Err("unexpected end of JSON path".into()),
                    Some("]") => {}
                    Some(other) => return Err(format!("expected ] but got {other}")),
                }
            }
            "." => {
                let name = tokens.next().ok_or("unexpected end of JSON path")?;
                schema = step(&mut path, schema, name)?;
            }
            other => return Err(format!("expected [ or . but got: {other}")),
        }
    }
    Ok(path)
}

/// Appends `name` to `path` (a property, or a key of an `additionalProperties` map) and returns
/// the schema it leads to.
fn step<'s>(path: &mut String, schema: &'s Json, name: &str) -> Result<&'s Json, String> {
    const INVALID: &str = "does not refer to a valid field";
    if let Some(properties) = schema.get("properties") {
        let property = properties.get(name).ok_or(INVALID)?;
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(name);
        Ok(property)
    } else if let Some(additional) = schema.get("additionalProperties") {
        path.push('[');
        path.push_str(name);
        path.push(']');
        Ok(additional)
    } else {
        Err(INVALID.into())
    }
}

/// Splits at `.`, `[` and `]` (each its own token); a token opening with `'` runs to the next
/// unescaped `'`, delimiters included.
fn tokenize(input: &str) -> Vec<String> {
    let chars: Vec<char> = input.chars().collect();
    let mut tokens = Vec::new();
    let mut start = 0;
    while start < chars.len() {
        let mut end = start;
        if chars[start] == '\'' {
            end += 1;
            while end < chars.len() && !(chars[end] == '\'' && chars[end - 1] != '\\') {
                end += 1;
            }
            end = (end + 1).min(chars.len());
        } else if matches!(chars[start], '.' | '[' | ']') {
            end += 1;
        } else {
            while end < chars.len() && !matches!(chars[end], '.' | '[' | ']') {
                end += 1;
            }
        }
        tokens.push(chars[start..end].iter().collect());
        start = end;
    }
    tokens
}

/// The escapes a single-quoted CEL string may hold in a field path.
fn unescape_single_quoted(input: &str) -> Result<String, String> {
    let mut out = String::with_capacity(input.len());
    let mut chars = input.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(directive) = chars.next() else {
            out.push('\\');
            break;
        };
        out.push(match directive {
            'a' => '\u{7}',
            'b' => '\u{8}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'v' => '\u{b}',
            '\'' => '\'',
            '\\' => '\\',
            other => return Err(format!("invalid escape char \\{other}")),
        });
    }
    Ok(out)
}
