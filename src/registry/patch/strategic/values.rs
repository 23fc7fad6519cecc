//! JSON values seen the way upstream's Go code sees them after `json.Unmarshal` into `interface{}`:
//! every number is a `float64`, `==` compares numbers by value, and `%v` / `%s` print maps as
//! `map[k:v]`. Error messages built from these read as kube-apiserver's do.

use serde_json::Value;

/// The dynamic type of a value, as `reflect.TypeOf` tells them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum GoKind {
    Nil,
    Bool,
    Number,
    String,
    Slice,
    Map,
}

impl GoKind {
    pub(super) fn of(value: &Value) -> Self {
        match value {
            Value::Null => Self::Nil,
            Value::Bool(_) => Self::Bool,
            Value::Number(_) => Self::Number,
            Value::String(_) => Self::String,
            Value::Array(_) => Self::Slice,
            Value::Object(_) => Self::Map,
        }
    }

    /// The Go type name, as `reflect.TypeOf(v)` prints it.
    pub(super) fn type_name(self) -> &'static str {
        match self {
            Self::Nil => "%!s(<nil>)",
            Self::Bool => "bool",
            Self::Number => "float64",
            Self::String => "string",
            Self::Slice => "[]interface {}",
            Self::Map => "map[string]interface {}",
        }
    }
}

/// Go's `==` on two decoded JSON values: numbers compare as `float64`; containers compare
/// structurally (Go would panic on maps; structural equality is the useful reading).
pub(super) fn go_equal(left: &Value, right: &Value) -> bool {
    match (left, right) {
        (Value::Number(l), Value::Number(r)) => match (l.as_f64(), r.as_f64()) {
            (Some(l), Some(r)) => l == r,
            _ => l == r,
        },
        (Value::Array(l), Value::Array(r)) => {
            l.len() == r.len() && l.iter().zip(r).all(|(l, r)| go_equal(l, r))
        }
        (Value::Object(l), Value::Object(r)) => {
            l.len() == r.len()
                && l.iter()
                    .all(|(key, value)| r.get(key).is_some_and(|other| go_equal(value, other)))
        }
        _ => left == right,
    }
}

/// `fmt.Sprintf("%v", value)` for a decoded JSON value.
pub(super) fn go_format(value: &Value) -> String {
    let mut out = String::new();
    write_go(value, &mut out);
    out
}

fn write_go(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("<nil>"),
        Value::Bool(flag) => out.push_str(if *flag { "true" } else { "false" }),
        Value::Number(number) => out.push_str(&format_float(number)),
        Value::String(text) => out.push_str(text),
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(' ');
                }
                write_go(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            // Go prints map keys sorted; serde_json's map is sorted already.
            out.push_str("map[");
            for (index, (key, item)) in map.iter().enumerate() {
                if index > 0 {
                    out.push(' ');
                }
                out.push_str(key);
                out.push(':');
                write_go(item, out);
            }
            out.push(']');
        }
    }
}

/// A `float64` as `%v` prints it: shortest form, exponent from 1e21 on.
fn format_float(number: &serde_json::Number) -> String {
    let Some(float) = number.as_f64() else {
        return number.to_string();
    };
    if float.fract() == 0.0 && float.abs() < 1e21 {
        format!("{float:.0}")
    } else if float.abs() >= 1e21 {
        let text = format!("{float:e}");
        match text.split_once('e') {
            Some((mantissa, exponent)) if !exponent.starts_with('-') => {
                format!("{mantissa}e+{exponent:0>2}")
            }
            _ => text,
        }
    } else {
        float.to_string()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn formats_like_go() {
        let cases = [
            (json!({"name": "a", "port": 80}), "map[name:a port:80]"),
            (json!([1, "x", null, true]), "[1 x <nil> true]"),
            (json!(1.5), "1.5"),
            (json!(1e21), "1e+21"),
        ];
        for (value, expected) in cases {
            assert_eq!(go_format(&value), expected);
        }
    }

    #[test]
    fn numbers_compare_by_value() {
        assert!(go_equal(&json!(80), &json!(80.0)));
        assert!(!go_equal(&json!(80), &json!("80")));
        assert!(go_equal(&json!({"a": [1]}), &json!({"a": [1.0]})));
    }
}
