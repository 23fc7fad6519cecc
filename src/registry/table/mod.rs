//! Server-side printing: objects as a `meta.k8s.io/v1` `Table`, the form `kubectl get` asks for with
//! `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`.
//!
//! Each store is built with its [`TableConvertor`], one of three kinds, as upstream's:
//!
//! - resources with a printer in `pkg/printers/internalversion/printers.go` (pods, deployments,
//!   services, ...) get that printer's columns and cells. The server always prints the *wide* form:
//!   every column, priority 1 ones included; `kubectl` hides priority > 0 columns unless `-o wide`;
//! - custom resources get `Name` and their CRD version's printer columns (`custom.rs`, upstream's
//!   CRD table convertor, [`TableConvertor::custom`]);
//! - every other resource gets the default table of `rest.defaultTableConvertor`: `Name` and
//!   `Created At` (an RFC 3339 date), which kubectl shows as `NAME   CREATED AT`.
//!
//! The aggregator's `apiservices` have their own table (NAME, SERVICE, AVAILABLE, AGE), which
//! always carries its column definitions. Stores upstream gives the default table although a
//! printer exists (`csistoragecapacities`) get the default table here too.
//!
//! Each row carries the object per the `includeObject` query parameter ([`IncludeObject`]): a
//! `PartialObjectMetadata` (the default), the whole object, or nothing (`null`).
//!
//! Watches send one Table per event ([`row_table`]): the first carries the column definitions, the
//! later ones `"columnDefinitions": null`, as upstream's watch encoder turns `NoHeaders` on after the
//! first object.
//!
//! Printers read objects as plain JSON ([`serde_json::Value`]); a missing field reads as Go's zero
//! value, so a printer never fails. Ages are relative to a caller-supplied "now" in the `*_at`
//! functions, which tests use.

mod age;
mod apps;
mod autoscaling;
mod batch;
mod cluster;
mod control_plane;
mod core;
mod custom;
mod descriptions;
mod events;
mod fields;
mod jsonpath;
mod networking;
mod pods;
mod storage;

pub use age::human_duration;
pub use custom::CustomColumns;
pub(crate) use fields::label_selector_string;

use jiff::Timestamp;
use serde_json::{json, Map, Value};

use std::sync::Arc;

use crate::api::status::ApiError;
use crate::catalog::ResourceInfo;

/// What each row's `object` holds: the `includeObject` query parameter of a Table request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IncludeObject {
    /// `None`: `object` is `null`.
    None,
    /// `Metadata` (the default): a `meta.k8s.io/v1` `PartialObjectMetadata` with the object's
    /// whole `metadata`.
    #[default]
    Metadata,
    /// `Object`: the whole object, with its `apiVersion` and `kind`.
    Object,
}

impl IncludeObject {
    /// Parses the `includeObject` query parameter. Absent or empty means [`IncludeObject::Metadata`];
    /// an unknown value is a 400 BadRequest with upstream's message.
    pub fn from_query(value: Option<&str>) -> Result<Self, ApiError> {
        match value.unwrap_or("") {
            "" | "Metadata" => Ok(Self::Metadata),
            "None" => Ok(Self::None),
            "Object" => Ok(Self::Object),
            other => Err(ApiError::bad_request(format!(
                "unrecognized includeObject value: {other:?}"
            ))),
        }
    }
}

/// One column definition of a Table (`metav1.TableColumnDefinition`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Column {
    pub name: &'static str,
    /// An OpenAPI type: `string`, `integer`, `boolean`, `date`, ...
    pub kind: &'static str,
    /// `name` for the column holding the object's name, else empty.
    pub format: &'static str,
    pub description: &'static str,
    /// 0 for the standard view, 1 for columns kubectl shows only with `-o wide`.
    pub priority: i32,
}

impl Column {
    /// A standard column of `kind` (`string`, `integer`, `boolean`, `date`).
    pub(crate) const fn new(
        name: &'static str,
        kind: &'static str,
        description: &'static str,
    ) -> Self {
        Column {
            name,
            kind,
            format: "",
            description,
            priority: 0,
        }
    }

    /// The same column shown only in the wide view.
    pub(crate) const fn wide(self) -> Self {
        Column {
            priority: 1,
            ..self
        }
    }

    /// The same column marked as holding the object's name.
    pub(crate) const fn name_format(self) -> Self {
        Column {
            format: "name",
            ..self
        }
    }

    fn to_json(self) -> Value {
        json!({
            "name": self.name,
            "type": self.kind,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        })
    }
}

/// The `Name` column most printers start with.
pub(crate) const NAME_COLUMN: Column =
    Column::new("Name", "string", descriptions::OBJECT_META_NAME).name_format();
/// The `Age` column: the object's age as [`human_duration`].
pub(crate) const AGE_COLUMN: Column = Column::new(
    "Age",
    "string",
    descriptions::OBJECT_META_CREATION_TIMESTAMP,
);
/// The wide `Containers` column of workload printers.
pub(crate) const CONTAINERS_COLUMN: Column = Column::new(
    "Containers",
    "string",
    "Names of each container in the template.",
)
.wide();
/// The wide `Images` column of workload printers.
pub(crate) const IMAGES_COLUMN: Column = Column::new(
    "Images",
    "string",
    "Images referenced by each container in the template.",
)
.wide();

/// The columns of the default table (`rest.defaultTableConvertor`).
const DEFAULT_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    Column::new(
        "Created At",
        "date",
        descriptions::OBJECT_META_CREATION_TIMESTAMP,
    ),
];

/// What printers need besides the object.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PrintContext<'a> {
    /// The instant ages are measured to.
    pub now: Timestamp,
    /// The version the objects are in (`v1`, `v2`, ...), for printers whose fields moved.
    pub version: &'a str,
}

impl PrintContext<'_> {
    /// The age of `object` (`metadata.creationTimestamp`).
    pub(crate) fn age(&self, object: &Value) -> String {
        self.since(fields::get(object, &["metadata", "creationTimestamp"]))
    }

    /// The human duration from the timestamp `value` to now, `<unknown>` when unset.
    pub(crate) fn since(&self, value: Option<&Value>) -> String {
        age::since(value, self.now)
    }
}

/// The cells (and conditions) a printer produces for one object.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Row {
    /// One cell per column definition, in order.
    pub cells: Vec<Value>,
    /// `conditions` of the row (`[{type: Completed, ...}]` for finished pods), omitted when empty.
    pub conditions: Vec<Value>,
}

impl From<Vec<Value>> for Row {
    fn from(cells: Vec<Value>) -> Self {
        Row {
            cells,
            conditions: Vec::new(),
        }
    }
}

/// A resource's printer: its columns and the function that prints one object as a row.
#[derive(Clone, Copy)]
pub(crate) struct Printer {
    pub columns: &'static [Column],
    pub print: fn(&Value, &PrintContext) -> Row,
}

/// The printer upstream registers for the resource `plural` in `group`, if any.
fn printer_for(group: &str, plural: &str) -> Option<Printer> {
    core::printer(group, plural)
        .or_else(|| apps::printer(group, plural))
        .or_else(|| batch::printer(group, plural))
        .or_else(|| networking::printer(group, plural))
        .or_else(|| cluster::printer(group, plural))
        .or_else(|| {
            (group == "events.k8s.io" && plural == "events").then_some(events::EVENTS_API_EVENTS)
        })
}

/// How one resource's objects become Table rows (upstream's `rest.TableConvertor`), fixed when
/// the resource's store is built.
#[derive(Clone, Default)]
pub struct TableConvertor(Convertor);

#[derive(Clone, Default)]
enum Convertor {
    /// A built-in printer, the order it prints lists in, and whether later watch events still
    /// carry column definitions.
    Printer {
        printer: Printer,
        order: Option<fn(&Value, &Value) -> std::cmp::Ordering>,
        always_headers: bool,
    },
    /// The printer columns of a CRD version.
    Custom(Arc<CustomColumns>),
    /// Upstream's default convertor: `Name` and `Created At`.
    #[default]
    Default,
}

impl TableConvertor {
    /// The convertor upstream registers for the built-in resource `plural` in `group`: its
    /// printer, else the default one.
    pub fn builtin(group: &str, plural: &str) -> Self {
        Self(match printer_for(group, plural) {
            Some(printer) => Convertor::Printer {
                printer,
                order: control_plane::list_order(group, plural),
                always_headers: cluster::ignores_no_headers(group, plural),
            },
            None => Convertor::Default,
        })
    }

    /// The convertor of a CRD version with `columns`.
    pub fn custom(columns: CustomColumns) -> Self {
        Self(Convertor::Custom(Arc::new(columns)))
    }
}

/// The objects of a list (or the one object of a get) as a `meta.k8s.io/v1` Table, aged to now.
///
/// `list_meta` is the list's `metadata`; its `resourceVersion`, `continue` and
/// `remainingItemCount` become the Table's. Without it (a single get), the Table's
/// `resourceVersion` is the single object's.
pub fn to_table(
    table: &TableConvertor,
    info: &ResourceInfo,
    objects: &[Value],
    include: IncludeObject,
    list_meta: Option<Value>,
) -> Value {
    to_table_at(table, info, objects, include, list_meta, Timestamp::now())
}

/// [`to_table`] with ages measured to `now`.
pub fn to_table_at(
    table: &TableConvertor,
    info: &ResourceInfo,
    objects: &[Value],
    include: IncludeObject,
    list_meta: Option<Value>,
    now: Timestamp,
) -> Value {
    let metadata = match &list_meta {
        Some(list_meta) => table_list_meta(list_meta),
        None => match objects {
            [single] => object_table_meta(single),
            _ => Map::new(),
        },
    };
    build_table(table, info, objects, include, metadata, true, now)
}

/// One watch event's object as a Table with a single row, aged to now. The MUST rule of upstream's
/// watch encoding: `with_columns` is true for the first event of a watch and false for every later
/// one (those carry `"columnDefinitions": null`). The Table's `resourceVersion` is the object's.
pub fn row_table(
    table: &TableConvertor,
    info: &ResourceInfo,
    object: &Value,
    include: IncludeObject,
    with_columns: bool,
) -> Value {
    row_table_at(table, info, object, include, with_columns, Timestamp::now())
}

/// [`row_table`] with ages measured to `now`.
pub fn row_table_at(
    table: &TableConvertor,
    info: &ResourceInfo,
    object: &Value,
    include: IncludeObject,
    with_columns: bool,
    now: Timestamp,
) -> Value {
    let metadata = object_table_meta(object);
    build_table(
        table,
        info,
        std::slice::from_ref(object),
        include,
        metadata,
        with_columns,
        now,
    )
}

fn build_table(
    table: &TableConvertor,
    info: &ResourceInfo,
    objects: &[Value],
    include: IncludeObject,
    metadata: Map<String, Value>,
    with_columns: bool,
    now: Timestamp,
) -> Value {
    let context = PrintContext {
        now,
        version: &info.version,
    };
    let mut ordered: Vec<&Value> = objects.iter().collect();
    if let Convertor::Printer {
        order: Some(order), ..
    } = &table.0
    {
        ordered.sort_by(|a, b| order(a, b));
    }
    let rows: Vec<Value> = ordered
        .into_iter()
        .map(|object| {
            let row = match &table.0 {
                Convertor::Printer { printer, .. } => (printer.print)(object, &context),
                Convertor::Custom(custom) => custom.row(object, now),
                Convertor::Default => default_row(object),
            };
            row_json(info, object, row, include)
        })
        .collect();
    let always_headers = matches!(
        table.0,
        Convertor::Printer {
            always_headers: true,
            ..
        }
    );
    let column_definitions = if with_columns || always_headers {
        match &table.0 {
            Convertor::Printer { printer, .. } => {
                Value::Array(printer.columns.iter().map(|c| c.to_json()).collect())
            }
            Convertor::Custom(custom) => custom.column_definitions(),
            Convertor::Default => {
                Value::Array(DEFAULT_COLUMNS.iter().map(|c| c.to_json()).collect())
            }
        }
    } else {
        Value::Null
    };
    // The default convertor appends to a nil slice, so an empty table has `"rows": null` there;
    // printers (and the custom-resource convertor) always return a (possibly empty) list.
    let rows = if rows.is_empty() && matches!(table.0, Convertor::Default) {
        Value::Null
    } else {
        Value::Array(rows)
    };
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": column_definitions,
        "rows": rows,
    })
}

/// The default table's row: name and creation time.
fn default_row(object: &Value) -> Row {
    let created = fields::get(object, &["metadata", "creationTimestamp"]);
    Row::from(vec![
        Value::from(fields::name(object)),
        Value::from(age::rfc3339_utc(created)),
    ])
}

fn row_json(info: &ResourceInfo, object: &Value, row: Row, include: IncludeObject) -> Value {
    let mut out = Map::new();
    out.insert("cells".into(), Value::Array(row.cells));
    if !row.conditions.is_empty() {
        out.insert("conditions".into(), Value::Array(row.conditions));
    }
    out.insert("object".into(), row_object(info, object, include));
    Value::Object(out)
}

/// The `object` of a row per `include`.
fn row_object(info: &ResourceInfo, object: &Value, include: IncludeObject) -> Value {
    match include {
        IncludeObject::None => Value::Null,
        IncludeObject::Metadata => json!({
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": object.get("metadata").cloned().unwrap_or_else(|| json!({})),
        }),
        IncludeObject::Object => {
            let mut full = object.clone();
            if let Some(map) = full.as_object_mut() {
                map.insert("apiVersion".into(), Value::from(info.api_version()));
                map.insert("kind".into(), Value::from(info.kind.as_str()));
            }
            full
        }
    }
}

/// The Table's `metadata` from a list's: `resourceVersion`, `continue`, `remainingItemCount`,
/// each only when set (upstream's `omitempty`).
fn table_list_meta(list_meta: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    for key in ["resourceVersion", "continue"] {
        if let Some(value) = fields::opt_str(list_meta, &[key]).filter(|v| !v.is_empty()) {
            out.insert(key.into(), Value::from(value));
        }
    }
    if let Some(count) = fields::opt_i64(list_meta, &["remainingItemCount"]) {
        out.insert("remainingItemCount".into(), Value::from(count));
    }
    out
}

/// The Table's `metadata` for a single object: its `resourceVersion`.
fn object_table_meta(object: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    if let Some(rv) =
        fields::opt_str(object, &["metadata", "resourceVersion"]).filter(|v| !v.is_empty())
    {
        out.insert("resourceVersion".into(), Value::from(rv));
    }
    out
}

#[cfg(test)]
pub(crate) mod test_support;

#[cfg(test)]
mod tests;
