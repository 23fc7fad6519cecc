//! Where a resource keeps what its `scale` subresource shows: the paths of the spec and status
//! replica counts and of the selector, and the `autoscaling/v1` Scale read from them. The built-in
//! scalable resources (Deployments, ReplicaSets, StatefulSets, ReplicationControllers) as
//! upstream's `ScaleREST`s; custom resources from the paths their CRD version names.

use serde_json::{json, Map, Value};

/// Where the selector of the Scale's status comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScaleSelector {
    /// No selector.
    None,
    /// A selector string at this path (a CRD's `labelSelectorPath`).
    Text(String),
    /// A `metav1.LabelSelector` at this path (Deployments, ReplicaSets, StatefulSets).
    LabelSelector(String),
    /// A map of labels at this path (ReplicationControllers).
    MatchLabels(String),
}

/// Where a resource keeps what its Scale shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScalePaths {
    /// `.spec.replicas`.
    pub spec_replicas: String,
    /// `.status.replicas`.
    pub status_replicas: String,
    pub selector: ScaleSelector,
}

impl ScalePaths {
    /// `.spec.replicas`, `.status.replicas` and the `metav1.LabelSelector` at `.spec.selector`
    /// (Deployments, ReplicaSets, StatefulSets).
    pub fn workload() -> Self {
        Self {
            spec_replicas: ".spec.replicas".into(),
            status_replicas: ".status.replicas".into(),
            selector: ScaleSelector::LabelSelector(".spec.selector".into()),
        }
    }

    /// `.spec.replicas`, `.status.replicas` and the label map at `.spec.selector`
    /// (ReplicationControllers).
    pub fn replication_controller() -> Self {
        Self {
            selector: ScaleSelector::MatchLabels(".spec.selector".into()),
            ..Self::workload()
        }
    }
}

/// The field names of a `.a.b.c` path.
fn segments(path: &str) -> Vec<&str> {
    path.split('.').filter(|s| !s.is_empty()).collect()
}

fn value_at<'a>(object: &'a Value, path: &str) -> Option<&'a Value> {
    segments(path)
        .into_iter()
        .try_fold(object, |value, key| value.get(key))
}

pub fn set_at(object: &mut Value, path: &str, new: Value) {
    let keys = segments(path);
    let Some((last, parents)) = keys.split_last() else {
        return;
    };
    let mut current = object;
    for key in parents {
        if !current.get(*key).is_some_and(Value::is_object) {
            if let Some(map) = current.as_object_mut() {
                map.insert((*key).to_string(), Value::Object(Map::new()));
            }
        }
        match current.get_mut(*key) {
            Some(next) => current = next,
            None => return,
        }
    }
    if let Some(map) = current.as_object_mut() {
        map.insert((*last).to_string(), new);
    }
}

/// The Scale of `object`.
pub fn to_scale(object: &Value, paths: &ScalePaths) -> Value {
    let meta = object.get("metadata").cloned().unwrap_or_default();
    let mut scale_meta = Map::new();
    for key in [
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "creationTimestamp",
    ] {
        if let Some(value) = meta.get(key) {
            scale_meta.insert(key.into(), value.clone());
        }
    }
    let replicas = |path: &str| value_at(object, path).and_then(Value::as_i64).unwrap_or(0);
    let mut status = Map::new();
    status.insert("replicas".into(), json!(replicas(&paths.status_replicas)));
    let selector = match &paths.selector {
        ScaleSelector::None => None,
        ScaleSelector::Text(path) => value_at(object, path)
            .and_then(Value::as_str)
            .map(str::to_string),
        ScaleSelector::LabelSelector(path) => {
            crate::registry::table::label_selector_string(value_at(object, path)).ok()
        }
        ScaleSelector::MatchLabels(path) => {
            let labels = value_at(object, path).cloned().unwrap_or_default();
            crate::registry::table::label_selector_string(Some(&json!({ "matchLabels": labels })))
                .ok()
        }
    };
    // `selector` is `omitempty`.
    if let Some(selector) = selector.filter(|s| !s.is_empty()) {
        status.insert("selector".into(), Value::from(selector));
    }
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": scale_meta,
        "spec": {"replicas": replicas(&paths.spec_replicas)},
        "status": status,
    })
}
