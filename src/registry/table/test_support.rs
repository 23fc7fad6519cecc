//! Shared fixtures of the printer tests: a fixed "now", objects, resource infos.

use jiff::Timestamp;
use serde_json::{json, Value};

use super::{row_table_at, to_table_at, IncludeObject, PrintContext, Printer, TableConvertor};
use crate::catalog::{builtin, ResourceInfo};

/// The instant every test measures ages to: 2024-05-01T12:00:00Z.
pub(crate) fn now() -> Timestamp {
    Timestamp::from_second(1_714_564_800).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// An object named `name`, created at `created`, with the other top-level fields of `rest`
/// (`spec`, `status`, `data`, ...). `rest` may also carry extra `metadata` fields.
pub(crate) fn object(name: &str, created: &str, rest: Value) -> Value {
    let mut object = json!({"metadata": {"name": name, "creationTimestamp": created}});
    if let Value::Object(fields) = rest {
        for (key, value) in fields {
            match (key.as_str(), value) {
                ("metadata", Value::Object(meta)) => {
                    for (k, v) in meta {
                        object["metadata"][k] = v;
                    }
                }
                (_, value) => object[key] = value,
            }
        }
    }
    object
}

/// A resource info for `group`/`version` `plural` of `kind`: a clone of a built-in catalogue row
/// with those names, so tests need not know every field of [`ResourceInfo`].
pub(crate) fn info(
    group: &'static str,
    version: &'static str,
    plural: &'static str,
    kind: &'static str,
) -> ResourceInfo {
    let template = builtin()
        .iter()
        .next()
        .expect("the built-in catalogue has resources");
    ResourceInfo {
        group: group.into(),
        version: version.into(),
        kind: kind.into(),
        plural: plural.into(),
        ..(**template).clone()
    }
}

/// [`to_table_at`] with the built-in convertor of `info`'s resource, as its store has it.
pub(crate) fn builtin_table_at(
    info: &ResourceInfo,
    objects: &[Value],
    include: IncludeObject,
    list_meta: Option<Value>,
    now: Timestamp,
) -> Value {
    let table = TableConvertor::builtin(&info.group, &info.plural);
    to_table_at(&table, info, objects, include, list_meta, now)
}

/// [`row_table_at`] with the built-in convertor of `info`'s resource, as its store has it.
pub(crate) fn builtin_row_table_at(
    info: &ResourceInfo,
    object: &Value,
    include: IncludeObject,
    with_columns: bool,
    now: Timestamp,
) -> Value {
    let table = TableConvertor::builtin(&info.group, &info.plural);
    row_table_at(&table, info, object, include, with_columns, now)
}

/// The cells `printer` prints for `object` at version `version`, aged to [`now`].
pub(crate) fn print_cells(printer: Printer, version: &'static str, object: &Value) -> Vec<Value> {
    (printer.print)(
        object,
        &PrintContext {
            now: now(),
            version,
        },
    )
    .cells
}

/// The cells of the first row of the Table for `object` as resource `plural` in `group`.
pub(crate) fn table_cells(
    group: &'static str,
    version: &'static str,
    plural: &'static str,
    object: &Value,
) -> Vec<Value> {
    let table = builtin_table_at(
        &info(group, version, plural, "Kind"),
        std::slice::from_ref(object),
        IncludeObject::None,
        None,
        now(),
    );
    table["rows"][0]["cells"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The column names of the Table for resource `plural` in `group`.
pub(crate) fn column_names(group: &'static str, plural: &'static str) -> Vec<String> {
    let table = builtin_table_at(
        &info(group, "v1", plural, "Kind"),
        &[],
        IncludeObject::None,
        None,
        now(),
    );
    table["columnDefinitions"]
        .as_array()
        .map(|columns| {
            columns
                .iter()
                .map(|c| c["name"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}
