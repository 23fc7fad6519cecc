//! The cache's indexes (upstream's watch cache `indexers`): for each field the resource declares
//! indexed (`SelectableFields::indexed`), the storage keys of the objects by the field's value.
//! A list or initial watch state whose field selector pins an indexed field reads only those
//! keys, then applies the full selection. Namespaces need no index: they are key ranges.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;
use std::sync::Arc;

use serde_json::Value;

use super::WatchObject;
use crate::registry::selectors::SelectableFields;

/// The values of an object's indexed fields, in `SelectableFields::indexed` order.
pub(crate) type IndexValues = Box<[Box<str>]>;

/// One indexed field's value -> the storage keys of the objects with that value.
type KeysByValue = HashMap<Box<str>, BTreeSet<Arc<[u8]>>>;

#[derive(Default)]
pub(crate) struct Index {
    fields: SelectableFields,
    /// Per indexed field: value -> keys.
    maps: Vec<KeysByValue>,
    /// Each key's indexed values, so a change unindexes without reading the previous object.
    values: HashMap<Arc<[u8]>, IndexValues>,
}

impl Index {
    /// An empty index of `fields`' indexed fields.
    pub fn new(fields: SelectableFields) -> Self {
        Self {
            fields,
            maps: fields.indexed().iter().map(|_| HashMap::new()).collect(),
            values: HashMap::new(),
        }
    }

    /// The index of `objects`, yielding to other tasks between chunks of a large resource.
    pub async fn build(
        fields: SelectableFields,
        objects: &BTreeMap<Arc<[u8]>, Arc<WatchObject>>,
    ) -> Self {
        let mut index = Self::new(fields);
        if index.maps.is_empty() {
            return index;
        }
        for (i, (key, obj)) in objects.iter().enumerate() {
            if i % 1024 == 1023 {
                tokio::task::yield_now().await;
            }
            let values = index.values_of(obj.value());
            index.set(key, Some(values));
        }
        index
    }

    /// Whether the resource has no indexed field.
    pub fn is_empty(&self) -> bool {
        self.maps.is_empty()
    }

    /// How many fields are indexed.
    pub fn field_count(&self) -> usize {
        self.maps.len()
    }

    /// The position of `field` among the indexed fields.
    pub fn position(&self, field: &str) -> Option<usize> {
        self.fields.indexed().iter().position(|f| *f == field)
    }

    /// The indexed values of `obj`.
    pub fn values_of(&self, obj: &Value) -> IndexValues {
        self.fields
            .indexed()
            .iter()
            .map(|field| self.fields.value(obj, field).into_boxed_str())
            .collect()
    }

    /// Records that `key` now has `values` (`None`: it was deleted); returns what it had.
    pub fn set(&mut self, key: &Arc<[u8]>, values: Option<IndexValues>) -> Option<IndexValues> {
        if self.maps.is_empty() {
            return None;
        }
        let previous = match &values {
            Some(values) => self.values.insert(key.clone(), values.clone()),
            None => self.values.remove(&key[..]),
        };
        if let Some(previous) = &previous {
            for (map, value) in self.maps.iter_mut().zip(previous.iter()) {
                if let Some(keys) = map.get_mut(value) {
                    keys.remove(&key[..]);
                    if keys.is_empty() {
                        map.remove(value);
                    }
                }
            }
        }
        if let Some(values) = values {
            for (map, value) in self.maps.iter_mut().zip(values.iter()) {
                map.entry(value.clone()).or_default().insert(key.clone());
            }
        }
        previous
    }

    /// The keys under `prefix` whose indexed field at `position` is `value`, in key order.
    pub fn keys(&self, position: usize, value: &str, prefix: &[u8]) -> Vec<Arc<[u8]>> {
        let Some(keys) = self.maps.get(position).and_then(|map| map.get(value)) else {
            return Vec::new();
        };
        let from: (Bound<&[u8]>, Bound<&[u8]>) = (Bound::Included(prefix), Bound::Unbounded);
        keys.range::<[u8], _>(from)
            .take_while(|key| key.starts_with(prefix))
            .cloned()
            .collect()
    }

    /// How many keys are indexed (the objects of a resource with indexed fields).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.values.len()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn key(s: &str) -> Arc<[u8]> {
        Arc::from(s.as_bytes())
    }

    #[test]
    fn follows_changes_and_ranges() {
        let mut index = Index::new(SelectableFields::PODS);
        let pos = index.position("spec.nodeName").unwrap();
        let pod = |node: &str| json!({"metadata": {"name": "p"}, "spec": {"nodeName": node}});
        let v = index.values_of(&pod("n1"));
        assert_eq!(index.set(&key("/p/a/x"), Some(v)), None);
        let v = index.values_of(&pod("n1"));
        index.set(&key("/p/b/y"), Some(v));
        let v = index.values_of(&pod("n2"));
        let before = index.set(&key("/p/a/x"), Some(v)).unwrap();
        assert_eq!(&*before[pos], "n1");
        assert_eq!(index.keys(pos, "n1", b"/p/"), vec![key("/p/b/y")]);
        assert_eq!(index.keys(pos, "n2", b"/p/a/"), vec![key("/p/a/x")]);
        assert!(index.keys(pos, "n2", b"/p/b/").is_empty());
        index.set(&key("/p/a/x"), None);
        assert!(index.keys(pos, "n2", b"/p/").is_empty());
        assert_eq!(index.len(), 1);
        // A pod with no node is indexed under "" (the scheduler's `spec.nodeName=`).
        let v = index.values_of(&json!({"metadata": {"name": "q"}}));
        index.set(&key("/p/a/q"), Some(v));
        assert_eq!(index.keys(pos, "", b"/p/"), vec![key("/p/a/q")]);
        assert!(Index::new(SelectableFields::COMMON).is_empty());
    }
}
