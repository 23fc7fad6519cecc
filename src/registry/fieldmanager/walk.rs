//! The walks structured-merge-diff makes over typed values: the field set of a value
//! (`ToFieldSet`), the comparison of two values (`Compare`), the merge of an applied
//! configuration into a live object (`Merge`) and the removal of paths (`RemoveItems`).

use serde_json::{Map, Value};

use super::schema::{ListKind, Shape, TypeRef};
use super::set::{FieldSet, Path, PathElement};

/// What changed between two values: paths added, removed, and leaves whose value changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Comparison {
    pub added: FieldSet,
    pub removed: FieldSet,
    pub modified: FieldSet,
}

impl Comparison {
    /// `modified ∪ added`: what the writer takes ownership of.
    pub fn changed(&self) -> FieldSet {
        self.modified.union(&self.added)
    }
}

/// The path element of item `index` of a list of kind `kind`; `None` for atomic lists.
pub fn item_element(kind: &ListKind, item: &Value, index: usize) -> Option<PathElement> {
    match kind {
        ListKind::Atomic => None,
        ListKind::Set => Some(PathElement::Value(item.clone())),
        ListKind::Map(keys) if keys.is_empty() => Some(PathElement::Index(index)),
        ListKind::Map(keys) => {
            let mut fields: Vec<(String, Value)> = keys
                .iter()
                .filter_map(|key| match item.get(key) {
                    Some(value) => Some((key.clone(), value.clone())),
                    // Upstream's schemas default the `protocol` key of every ports list to TCP.
                    None if key == "protocol" => Some((key.clone(), Value::from("TCP"))),
                    None => None,
                })
                .collect();
            fields.sort_by(|a, b| a.0.cmp(&b.0));
            Some(PathElement::Key(fields))
        }
    }
}

/// The set of every path of `value` (upstream's `ToFieldSet`).
pub fn field_set(value: &Value, ty: &TypeRef) -> FieldSet {
    let mut set = FieldSet::new();
    collect_fields(value, ty, &mut Vec::new(), &mut set);
    set
}

fn collect_fields(value: &Value, ty: &TypeRef, path: &mut Path, set: &mut FieldSet) {
    match (ty.shape(Some(value)), value) {
        (Shape::Map { atomic: false }, Value::Object(map)) => {
            for (name, child) in map {
                if is_managed_fields(path, name) {
                    continue;
                }
                let child_type = ty.field(name);
                path.push(PathElement::Field(name.clone()));
                collect_fields(child, &child_type, path, set);
                let empty = child.is_null() || child.as_object().is_some_and(Map::is_empty);
                if empty || !ty.declares_field(name) {
                    set.insert(path);
                }
                path.pop();
            }
        }
        (Shape::List(ListKind::Atomic), _) | (Shape::Map { atomic: true }, _) => set.insert(path),
        (Shape::List(kind), Value::Array(items)) => {
            let item_type = ty.items();
            for (index, item) in items.iter().enumerate() {
                let Some(element) = item_element(&kind, item, index) else {
                    continue;
                };
                path.push(element);
                collect_fields(item, &item_type, path, set);
                set.insert(path);
                path.pop();
            }
        }
        (Shape::Scalar, _) => set.insert(path),
        // A null (or mistyped) container: its parent records it.
        _ => {}
    }
}

/// Whether `name` under `path` is `metadata.managedFields`, which is never tracked nor compared.
fn is_managed_fields(path: &[PathElement], name: &str) -> bool {
    name == "managedFields" && matches!(path, [PathElement::Field(m)] if m == "metadata")
}

fn empty_container(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => true,
        Some(Value::Object(map)) => map.is_empty(),
        Some(Value::Array(items)) => items.is_empty(),
        Some(_) => false,
    }
}

/// Whether a position is compared and merged as one leaf.
fn is_leaf(shape: &Shape, lhs: Option<&Value>, rhs: Option<&Value>) -> bool {
    let fits = |v: Option<&Value>, want_object: bool| match v {
        None | Some(Value::Null) => true,
        Some(Value::Object(_)) => want_object,
        Some(Value::Array(_)) => !want_object,
        Some(_) => false,
    };
    match shape {
        Shape::Scalar => true,
        Shape::Map { atomic } => {
            *atomic
                || !(fits(lhs, true) && fits(rhs, true))
                || (empty_container(lhs) && empty_container(rhs))
        }
        Shape::List(kind) => {
            *kind == ListKind::Atomic
                || !(fits(lhs, false) && fits(rhs, false))
                || (empty_container(lhs) && empty_container(rhs))
        }
    }
}

/// Compares `old` with `new` (upstream's `TypedValue.Compare`).
pub fn compare(old: &Value, new: &Value, ty: &TypeRef) -> Comparison {
    let mut out = Comparison::default();
    compare_at(Some(old), Some(new), ty, &mut Vec::new(), &mut out);
    out
}

fn compare_at(
    lhs: Option<&Value>,
    rhs: Option<&Value>,
    ty: &TypeRef,
    path: &mut Path,
    out: &mut Comparison,
) {
    let shape = ty.shape(rhs.or(lhs));
    if is_leaf(&shape, lhs, rhs) {
        match (lhs, rhs) {
            (None, _) => out.added.insert(path),
            (_, None) => out.removed.insert(path),
            (Some(l), Some(r)) if l != r => out.modified.insert(path),
            _ => {}
        }
        return;
    }
    match shape {
        Shape::Map { .. } => {
            let empty = Map::new();
            let left = lhs.and_then(Value::as_object).unwrap_or(&empty);
            let right = rhs.and_then(Value::as_object).unwrap_or(&empty);
            for (name, l) in left {
                if is_managed_fields(path, name) {
                    continue;
                }
                path.push(PathElement::Field(name.clone()));
                compare_at(Some(l), right.get(name), &ty.field(name), path, out);
                path.pop();
            }
            for (name, r) in right.iter().filter(|(name, _)| !left.contains_key(*name)) {
                if is_managed_fields(path, name) {
                    continue;
                }
                path.push(PathElement::Field(name.clone()));
                compare_at(None, Some(r), &ty.field(name), path, out);
                path.pop();
            }
        }
        Shape::List(kind) => {
            let item_type = ty.items();
            let left = indexed_items(&kind, lhs);
            let right = indexed_items(&kind, rhs);
            for (element, l) in &left {
                let r = right.iter().find(|(pe, _)| pe == element).map(|(_, v)| *v);
                path.push(element.clone());
                compare_at(Some(l), r, &item_type, path, out);
                path.pop();
            }
            for (element, r) in &right {
                if left.iter().any(|(pe, _)| pe == element) {
                    continue;
                }
                path.push(element.clone());
                compare_at(None, Some(r), &item_type, path, out);
                path.pop();
            }
        }
        Shape::Scalar => {}
    }
    match (lhs, rhs) {
        (None, _) => out.added.insert(path),
        (_, None) => out.removed.insert(path),
        _ => {}
    }
}

/// The items of a granular list by their path elements.
fn indexed_items<'a>(kind: &ListKind, list: Option<&'a Value>) -> Vec<(PathElement, &'a Value)> {
    list.and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| item_element(kind, item, i).map(|pe| (pe, item)))
                .collect()
        })
        .unwrap_or_default()
}

/// Merges the applied configuration `config` into `live` (upstream's `TypedValue.Merge`): the
/// configuration's values win, granular maps merge by key, granular lists by item identity
/// (live order first, then new items in the configuration's order), atomic values are replaced.
pub fn merge(live: &Value, config: &Value, ty: &TypeRef) -> Value {
    merge_at(Some(live), Some(config), ty).unwrap_or(Value::Null)
}

fn merge_at(lhs: Option<&Value>, rhs: Option<&Value>, ty: &TypeRef) -> Option<Value> {
    let (l, r) = match (lhs, rhs) {
        (None, None) => return None,
        (Some(l), None) => return Some(l.clone()),
        (None, Some(r)) => return Some(r.clone()),
        (Some(l), Some(r)) => (l, r),
    };
    let shape = ty.shape(Some(r));
    if is_leaf(&shape, lhs, rhs) {
        return Some(r.clone());
    }
    match shape {
        Shape::Map { .. } => {
            let mut out = l.as_object().cloned().unwrap_or_default();
            if let Some(right) = r.as_object() {
                for (name, value) in right {
                    let merged = merge_at(out.get(name), Some(value), &ty.field(name));
                    if let Some(merged) = merged {
                        out.insert(name.clone(), merged);
                    }
                }
            }
            Some(Value::Object(out))
        }
        Shape::List(kind) => {
            let item_type = ty.items();
            let empty = Vec::new();
            let left = l.as_array().unwrap_or(&empty);
            let right = r.as_array().unwrap_or(&empty);
            let right_indexed: Vec<(Option<PathElement>, &Value)> = right
                .iter()
                .enumerate()
                .map(|(i, item)| (item_element(&kind, item, i), item))
                .collect();
            let mut out = Vec::with_capacity(left.len().max(right.len()));
            let mut seen: Vec<PathElement> = Vec::new();
            for (i, item) in left.iter().enumerate() {
                let element = item_element(&kind, item, i);
                let matching = right_indexed
                    .iter()
                    .find(|(pe, _)| pe.is_some() && *pe == element)
                    .map(|(_, v)| *v);
                if let Some(merged) = merge_at(Some(item), matching, &item_type) {
                    out.push(merged);
                }
                if let Some(element) = element {
                    seen.push(element);
                }
            }
            for (element, item) in right_indexed {
                if element.as_ref().is_some_and(|pe| seen.contains(pe)) {
                    continue;
                }
                out.push(item.clone());
            }
            Some(Value::Array(out))
        }
        Shape::Scalar => Some(r.clone()),
    }
}

/// Removes from `value` every member path of `last` that `owned` neither holds nor holds anything
/// below (upstream's `prune`: what the applier stopped applying and nobody else owns).
pub fn prune(value: &mut Value, last: &FieldSet, owned: Option<&FieldSet>, ty: &TypeRef) {
    for element in last.elements() {
        let kept = owned.is_some_and(|o| o.is_member(element) || o.child(element).is_some());
        if last.is_member(element) && !kept {
            remove_element(value, element, ty);
            continue;
        }
        if let Some(child_last) = last.child(element) {
            let owned_child = owned.and_then(|o| o.child(element));
            let mut emptied = false;
            if let Some((child, child_type)) = child_mut(value, element, ty) {
                let was_empty = empty_container(Some(child));
                prune(child, child_last, owned_child, &child_type);
                emptied = !was_empty && empty_container(Some(child)) && child_type.omits_empty();
            }
            if emptied {
                remove_element(value, element, ty);
            }
        }
    }
}

fn child_mut<'a>(
    value: &'a mut Value,
    element: &PathElement,
    ty: &TypeRef,
) -> Option<(&'a mut Value, TypeRef)> {
    match element {
        PathElement::Field(name) => {
            let child_type = ty.field(name);
            value.get_mut(name.as_str()).map(|v| (v, child_type))
        }
        _ => {
            let Shape::List(kind) = ty.shape(Some(value)) else {
                return None;
            };
            let item_type = ty.items();
            let items = value.as_array_mut()?;
            let position = items
                .iter()
                .enumerate()
                .position(|(i, item)| item_element(&kind, item, i).as_ref() == Some(element))?;
            Some((&mut items[position], item_type))
        }
    }
}

fn remove_element(value: &mut Value, element: &PathElement, ty: &TypeRef) {
    match element {
        PathElement::Field(name) => {
            if let Some(map) = value.as_object_mut() {
                map.remove(name);
            }
        }
        _ => {
            let Shape::List(kind) = ty.shape(Some(value)) else {
                return;
            };
            if let Some(items) = value.as_array_mut() {
                let keep: Vec<bool> = items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| item_element(&kind, item, i).as_ref() != Some(element))
                    .collect();
                let mut flags = keep.into_iter();
                items.retain(|_| flags.next().unwrap_or(true));
            }
        }
    }
}

/// The paths of `value` its schema does not declare (upstream's typed conversion of an apply
/// configuration: `.spec.foo: field not declared in schema`), built-in or a CRD's structural
/// schema. Positions without a closed struct schema (maps of values, free-form, preserving
/// unknown fields or deduced) accept anything.
pub fn undeclared_fields(value: &Value, ty: &TypeRef) -> Vec<String> {
    let mut out = Vec::new();
    collect_undeclared(value, ty, &mut Vec::new(), &mut out);
    out
}

fn collect_undeclared(value: &Value, ty: &TypeRef, path: &mut Path, out: &mut Vec<String>) {
    match (ty.shape(Some(value)), value) {
        (Shape::Map { .. }, Value::Object(map)) => {
            let strict = ty.is_closed_struct();
            for (name, child) in map {
                if strict && !ty.declares_field(name) {
                    path.push(PathElement::Field(name.clone()));
                    out.push(format!(
                        "{}: field not declared in schema",
                        super::set::path_string(path)
                    ));
                    path.pop();
                    continue;
                }
                path.push(PathElement::Field(name.clone()));
                collect_undeclared(child, &ty.field(name), path, out);
                path.pop();
            }
        }
        (Shape::List(kind), Value::Array(items)) => {
            let item_type = ty.items();
            for (index, item) in items.iter().enumerate() {
                path.push(item_element(&kind, item, index).unwrap_or(PathElement::Index(index)));
                collect_undeclared(item, &item_type, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}
