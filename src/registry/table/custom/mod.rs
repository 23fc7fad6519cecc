//! Tables of custom resources, after upstream's
//! `apiextensions-apiserver/pkg/registry/customresource/tableconvertor/tableconvertor.go`: the
//! `Name` column, then a CRD version's `additionalPrinterColumns` (or, when it has none, the
//! `Age` column upstream's CRD handler serves by default, `serveDefaultColumnsIfEmpty`).
//!
//! The CRD controller builds one [`CustomColumns`] per served version and gives it to the
//! version's store as its [`super::TableConvertor`].

use jiff::Timestamp;
use serde_json::{json, Value};

use super::jsonpath::JsonPath;
use super::{age, descriptions, fields, Row};

/// One printer column of a CRD version.
#[derive(Debug, Clone, PartialEq)]
struct CustomColumn {
    name: String,
    /// `integer`, `number`, `boolean`, `string` or `date`.
    kind: String,
    format: String,
    description: String,
    priority: i64,
    path: JsonPath,
}

/// The printer columns of one version of a CRD.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomColumns {
    columns: Vec<CustomColumn>,
}

fn str_field(column: &Value, key: &str) -> String {
    column
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

impl CustomColumns {
    /// Reads a CRD's `spec.versions[i]` object. Its `additionalPrinterColumns` become the
    /// columns after `Name`; when there are none, the version gets upstream's default `Age`
    /// column (`date` of `.metadata.creationTimestamp`). A column without a description gets
    /// `Custom resource definition column (in JSONPath format): <jsonPath>`. MUST fail, with
    /// upstream's `unrecognized column definition "<jsonPath>"`, when a `jsonPath` does not parse.
    pub fn from_version(version: &Value) -> Result<Self, String> {
        let declared = version
            .get("additionalPrinterColumns")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if declared.is_empty() {
            return Ok(Self {
                columns: vec![CustomColumn {
                    name: "Age".into(),
                    kind: "date".into(),
                    format: String::new(),
                    description: descriptions::OBJECT_META_CREATION_TIMESTAMP.into(),
                    priority: 0,
                    path: JsonPath::parse(".metadata.creationTimestamp")?,
                }],
            });
        }
        let mut columns = Vec::with_capacity(declared.len());
        for column in &declared {
            let json_path = str_field(column, "jsonPath");
            let path = JsonPath::parse(&json_path)
                .map_err(|_| format!("unrecognized column definition {json_path:?}"))?;
            let mut description = str_field(column, "description");
            if description.is_empty() {
                description =
                    format!("Custom resource definition column (in JSONPath format): {json_path}");
            }
            columns.push(CustomColumn {
                name: str_field(column, "name"),
                kind: str_field(column, "type"),
                format: str_field(column, "format"),
                description,
                priority: column.get("priority").and_then(Value::as_i64).unwrap_or(0),
                path,
            });
        }
        Ok(Self { columns })
    }

    /// The Table's `columnDefinitions`: `Name` (format `name`), then the custom columns.
    pub(super) fn column_definitions(&self) -> Value {
        let mut out = vec![json!({
            "name": "Name",
            "type": "string",
            "format": "name",
            "description": descriptions::OBJECT_META_NAME,
            "priority": 0,
        })];
        out.extend(self.columns.iter().map(|c| {
            json!({
                "name": c.name,
                "type": c.kind,
                "format": c.format,
                "description": c.description,
                "priority": c.priority,
            })
        }));
        Value::Array(out)
    }

    /// The row of `object`: its name, then one cell per column, dates aged to `now`.
    pub(super) fn row(&self, object: &Value, now: Timestamp) -> Row {
        let mut cells = Vec::with_capacity(self.columns.len() + 1);
        cells.push(Value::from(fields::name(object)));
        for column in &self.columns {
            let first = match column.path.find(object) {
                Ok(results) => results.first().copied(),
                Err(_) => None,
            };
            cells.push(first.map_or(Value::Null, |v| cell(&column.kind, v, now)));
        }
        Row::from(cells)
    }
}

/// A float as Go's `encoding/json` writes it: integral values without a fraction (`3`).
fn json_float(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        Value::from(f as i64)
    } else {
        Value::from(f)
    }
}

/// The text client-go's jsonpath prints for one value: strings raw, maps and lists as compact
/// JSON, numbers and booleans as Go prints them, null as `<no value>`.
fn printed(value: &Value) -> String {
    match value {
        Value::Null => "<no value>".into(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match n.as_i64() {
            Some(i) if !n.is_f64() => i.to_string(),
            _ => crate::api::go_fmt::go_float(n.as_f64().unwrap_or_default()),
        },
        other => other.to_string(),
    }
}

/// The cell for the first value a column's path selected, per the column's `type`, as
/// upstream's `cellForJSONValue` (and `PrintResults` for strings); `null` when the value does
/// not fit the type.
fn cell(kind: &str, value: &Value, now: Timestamp) -> Value {
    if kind == "string" {
        return Value::from(printed(value));
    }
    match (kind, value) {
        (_, Value::Null) => Value::Null,
        ("integer", Value::Number(n)) => match n.as_i64() {
            Some(i) if !n.is_f64() => Value::from(i),
            _ => Value::from(n.as_f64().unwrap_or_default() as i64),
        },
        ("number", Value::Number(n)) => json_float(n.as_f64().unwrap_or_default()),
        ("boolean", Value::Bool(b)) => Value::from(*b),
        ("date", Value::String(text)) => {
            if text.is_empty() {
                Value::from("<unknown>")
            } else if text.parse::<Timestamp>().is_ok() {
                Value::from(age::since(Some(value), now))
            } else {
                Value::from("<invalid>")
            }
        }
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests;
