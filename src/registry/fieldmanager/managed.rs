//! `metadata.managedFields`: decoding, the per-manager bookkeeping of an Update, the cap on
//! Update entries and the encoding, as upstream's `managedfields/internal` (`managedfields.go`,
//! `fieldmanager.go`, `managedfieldsupdater.go`, `capmanagers.go`, `stripmeta.go`).

use serde_json::{json, Map, Value};

use super::set::{FieldSet, PathElement};
use super::walk::Comparison;

/// `operation` of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Operation {
    Apply,
    Update,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Self::Apply => "Apply",
            Self::Update => "Update",
        }
    }
}

/// One managedFields entry, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub manager: String,
    pub operation: Operation,
    pub api_version: String,
    /// RFC 3339 seconds, when known.
    pub time: Option<String>,
    /// `""` for the main resource.
    pub subresource: String,
    pub fields: FieldSet,
}

impl Entry {
    /// Whether `other` names the same manager (upstream's `BuildManagerIdentifier`: manager,
    /// operation, subresource, and the apiVersion of Update entries only).
    pub fn same_manager(&self, other: &Entry) -> bool {
        self.manager == other.manager
            && self.operation == other.operation
            && self.subresource == other.subresource
            && (self.operation == Operation::Apply || self.api_version == other.api_version)
    }

    /// Upstream's manager identifier, the JSON of the entry without time and fields.
    pub fn identifier(&self) -> String {
        let mut id = format!(
            "{{\"manager\":{},\"operation\":\"{}\"",
            json!(self.manager),
            self.operation.as_str()
        );
        if self.operation == Operation::Update && !self.api_version.is_empty() {
            id.push_str(&format!(",\"apiVersion\":{}", json!(self.api_version)));
        }
        if !self.subresource.is_empty() {
            id.push_str(&format!(",\"subresource\":{}", json!(self.subresource)));
        }
        id.push('}');
        id
    }

    /// Upstream's `printManager`: `"name"`, with ` with subresource "s"` and, for updates,
    /// ` using <apiVersion>`.
    pub fn printed(&self) -> String {
        let mut out = json!(self.manager).to_string();
        if !self.subresource.is_empty() {
            out.push_str(&format!(" with subresource {}", json!(self.subresource)));
        }
        if self.operation == Operation::Update {
            out.push_str(&format!(" using {}", self.api_version));
        }
        out
    }
}

/// The decoded managedFields of an object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Managed {
    pub entries: Vec<Entry>,
}

/// Paths never tracked (upstream's `stripMetaManager`).
pub fn strip_meta(set: &mut FieldSet) {
    let mut stripped = FieldSet::new();
    for top in ["apiVersion", "kind", "metadata"] {
        stripped.insert(&[PathElement::Field(top.into())]);
    }
    for field in [
        "name",
        "namespace",
        "creationTimestamp",
        "selfLink",
        "uid",
        "clusterName",
        "generation",
        "managedFields",
        "resourceVersion",
    ] {
        stripped.insert(&[
            PathElement::Field("metadata".into()),
            PathElement::Field(field.into()),
        ]);
    }
    *set = set.difference(&stripped);
}

/// What the managedFields of an object say: `Ok(None)` when absent or null, `Err` when they are
/// not entries upstream could decode.
pub fn decode(object: &Value) -> Result<Option<Managed>, String> {
    let Some(raw) = object.pointer("/metadata/managedFields") else {
        return Ok(None);
    };
    let items = match raw {
        Value::Null => return Ok(None),
        Value::Array(items) => items,
        _ => return Err("managedFields is not a list".into()),
    };
    let mut managed = Managed::default();
    for item in items {
        let text = |name: &str| item.get(name).and_then(Value::as_str).unwrap_or_default();
        match text("fieldsType") {
            "FieldsV1" => {}
            "" => return Err("missing fieldsType in managed fields entry".into()),
            other => return Err(format!("invalid fieldsType \"{other}\"")),
        }
        let operation = match text("operation") {
            "Apply" => Operation::Apply,
            "Update" => Operation::Update,
            other => return Err(format!("invalid operation \"{other}\"")),
        };
        let fields = match item.get("fieldsV1") {
            None | Some(Value::Null) => FieldSet::new(),
            Some(value) => FieldSet::from_fields_v1(value)
                .ok_or_else(|| "error decoding FieldsV1".to_string())?,
        };
        let entry = Entry {
            manager: text("manager").to_string(),
            operation,
            api_version: text("apiVersion").to_string(),
            time: item.get("time").and_then(Value::as_str).map(str::to_string),
            subresource: text("subresource").to_string(),
            fields,
        };
        match managed.entries.iter_mut().find(|e| e.same_manager(&entry)) {
            Some(existing) => *existing = entry,
            None => managed.entries.push(entry),
        }
    }
    Ok(Some(managed))
}

/// Whether the request asks to reset managedFields: an empty list, or one empty entry.
pub fn is_reset(object: &Value) -> bool {
    match object.pointer("/metadata/managedFields") {
        Some(Value::Array(items)) => {
            items.is_empty()
                || (items.len() == 1 && items[0].as_object().is_some_and(Map::is_empty))
        }
        _ => false,
    }
}

impl Managed {
    /// Records an Update by `writer` that made `comparison`'s changes (upstream's Updater.Update
    /// behind the `managedFieldsUpdater`): every other entry loses what changed and what was
    /// removed; the writer's entry gains what changed and is re-timed when it gained anything;
    /// empty entries disappear.
    pub fn record_update(&mut self, comparison: &Comparison, writer: &Entry, now: &str) {
        let mut changed = comparison.changed();
        strip_meta(&mut changed);
        let mut removed = comparison.removed.clone();
        strip_meta(&mut removed);
        for entry in &mut self.entries {
            entry.fields = entry.fields.difference(&changed).difference(&removed);
        }
        if !changed.is_empty() {
            match self.entries.iter_mut().find(|e| e.same_manager(writer)) {
                Some(entry) => {
                    entry.fields.union_in_place(&changed);
                    entry.time = Some(now.to_string());
                }
                None => self.entries.push(Entry {
                    fields: changed,
                    time: Some(now.to_string()),
                    ..writer.clone()
                }),
            }
        }
        self.entries.retain(|e| !e.fields.is_empty());
    }

    /// Merges the oldest Update entries into `ancient-changes` entries (one per apiVersion) until
    /// at most `max` Update entries remain (upstream's `capManagersManager`).
    pub fn cap_updates(&mut self, max: usize) {
        let mut updaters: Vec<usize> = (0..self.entries.len())
            .filter(|&i| self.entries[i].operation == Operation::Update)
            .collect();
        if updaters.len() <= max {
            return;
        }
        let seconds = |e: &Entry| {
            e.time
                .as_deref()
                .and_then(|t| t.parse::<jiff::Timestamp>().ok())
                .map(|t| t.as_second())
                .unwrap_or(0)
        };
        updaters.sort_by(|&a, &b| {
            let (ea, eb) = (&self.entries[a], &self.entries[b]);
            seconds(ea)
                .cmp(&seconds(eb))
                .then_with(|| ea.identifier().cmp(&eb.identifier()))
        });
        let mut length = updaters.len();
        let mut first_of_version: Vec<(String, usize)> = Vec::new();
        let mut removed: Vec<usize> = Vec::new();
        for &index in &updaters {
            if length <= max {
                break;
            }
            let version = self.entries[index].api_version.clone();
            let bucket = Entry {
                manager: "ancient-changes".into(),
                operation: Operation::Update,
                api_version: version.clone(),
                time: None,
                subresource: String::new(),
                fields: FieldSet::new(),
            };
            match first_of_version.iter().find(|(v, _)| *v == version) {
                Some(&(_, first)) => {
                    let bucket_index =
                        match self.entries.iter().position(|e| e.same_manager(&bucket)) {
                            Some(position) => position,
                            None => {
                                // The first entry of the version becomes the bucket.
                                let entry = &mut self.entries[first];
                                entry.manager = bucket.manager.clone();
                                entry.subresource.clear();
                                first
                            }
                        };
                    let fields = self.entries[index].fields.clone();
                    let time = self.entries[index].time.clone();
                    let target = &mut self.entries[bucket_index];
                    target.fields.union_in_place(&fields);
                    target.time = time;
                    removed.push(index);
                    length -= 1;
                }
                None => first_of_version.push((version, index)),
            }
        }
        let mut index = 0;
        self.entries.retain(|_| {
            let keep = !removed.contains(&index);
            index += 1;
            keep
        });
    }

    /// Writes the entries into `object`'s metadata, sorted as upstream (operation, time, manager,
    /// apiVersion, subresource); no entries means no `managedFields`.
    pub fn encode_into(mut self, object: &mut Value) {
        let seconds = |e: &Entry| {
            e.time
                .as_deref()
                .and_then(|t| t.parse::<jiff::Timestamp>().ok())
                .map(|t| t.as_second())
                .unwrap_or(0)
        };
        self.entries.sort_by(|a, b| {
            a.operation
                .cmp(&b.operation)
                .then_with(|| seconds(a).cmp(&seconds(b)))
                .then_with(|| a.manager.cmp(&b.manager))
                .then_with(|| a.api_version.cmp(&b.api_version))
                .then_with(|| a.subresource.cmp(&b.subresource))
        });
        let Some(meta) = object
            .as_object_mut()
            .map(|o| o.entry("metadata").or_insert_with(|| json!({})))
            .and_then(Value::as_object_mut)
        else {
            return;
        };
        if self.entries.is_empty() {
            meta.remove("managedFields");
            return;
        }
        let entries: Vec<Value> = self
            .entries
            .into_iter()
            .map(|e| {
                let mut out = Map::new();
                out.insert("manager".into(), Value::String(e.manager));
                out.insert("operation".into(), Value::from(e.operation.as_str()));
                out.insert("apiVersion".into(), Value::String(e.api_version));
                if let Some(time) = e.time {
                    out.insert("time".into(), Value::String(time));
                }
                out.insert("fieldsType".into(), Value::from("FieldsV1"));
                out.insert("fieldsV1".into(), e.fields.to_fields_v1());
                if !e.subresource.is_empty() {
                    out.insert("subresource".into(), Value::String(e.subresource));
                }
                Value::Object(out)
            })
            .collect();
        meta.insert("managedFields".into(), Value::Array(entries));
    }
}
