//! The pods' update subresources (`pkg/registry/core/pod/strategy.go`):
//! `ephemeralcontainers` (upstream's `podEphemeralContainersStrategy`, validated as
//! `ValidatePodEphemeralContainersUpdate`) and `resize` (`podResizeStrategy`,
//! `ValidatePodResize`, InPlacePodVerticalScaling being on by default in 1.33). Both store the
//! old pod with only their fields taken from the request, as `ResetObjectMetaForStatus` keeps
//! the stored metadata.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::pods::qos_class;
use crate::registry::defaults;
use crate::registry::metadata::meta_mut;
use crate::registry::validation::pod_spec::{list, text, validate_container, validate_pod_spec};
use crate::registry::validation::FieldError;

/// The subresources pods serve besides `status` (`binding` and `eviction` take creates).
pub const UPDATE_SUBRESOURCES: &[&str] = &["ephemeralcontainers", "resize"];

/// The subresource of the write a Binding makes to its pod.
pub const BINDING_WRITE: &str = "binding";

/// The annotation of a static pod's mirror.
const MIRROR_POD_ANNOTATION: &str = "kubernetes.io/config.mirror";

/// Whether pods serve get, update and patch of `subresource`.
pub fn serves(subresource: &str) -> bool {
    UPDATE_SUBRESOURCES.contains(&subresource)
}

/// The stored pod `old` with the request's resourceVersion precondition and managedFields.
fn old_with_request_meta(new: &Value, old: &Value) -> Value {
    let mut result = old.clone();
    for field in ["resourceVersion", "managedFields"] {
        match new.pointer(&format!("/metadata/{field}")) {
            Some(v) => meta_mut(&mut result).insert(field.into(), v.clone()),
            None => meta_mut(&mut result).remove(field),
        };
    }
    result
}

fn spec_mut(pod: &mut Value) -> Option<&mut Map<String, Value>> {
    pod.get_mut("spec").and_then(Value::as_object_mut)
}

/// What an update of `subresource` stores; `false` when pods take no update there.
pub fn prepare_update(subresource: &str, new: &mut Value, old: &Value) -> bool {
    match subresource {
        // The server's own write for a Binding (never served to PUT or PATCH): the pod as the
        // binding built it from the stored one, as upstream writes it to storage directly.
        BINDING_WRITE => true,
        "ephemeralcontainers" => {
            // Request bodies are defaulted on decode upstream.
            defaults::pod(new);
            let requested = new.pointer("/spec/ephemeralContainers").cloned();
            let mut result = old_with_request_meta(new, old);
            if let Some(spec) = spec_mut(&mut result) {
                match requested {
                    Some(list) if !list.is_null() => {
                        spec.insert("ephemeralContainers".into(), list)
                    }
                    _ => spec.remove("ephemeralContainers"),
                };
            }
            *new = result;
            true
        }
        "resize" => {
            defaults::pod(new);
            if let Some(result) = resize_update(new, old) {
                *new = result;
            }
            true
        }
        _ => false,
    }
}

/// Upstream's `dropNonResizeUpdates`: the stored pod with each container's `resources` and
/// `resizePolicy` from the request; `None` (the request kept as it is, for validation to
/// refuse) when containers were added, removed, renamed or reordered.
fn resize_update(new: &Value, old: &Value) -> Option<Value> {
    let mut result = old_with_request_meta(new, old);
    for key in ["containers", "initContainers"] {
        let (requested, stored) = (list(&new["spec"], key), list(&old["spec"], key));
        if requested.len() != stored.len() {
            return None;
        }
        let merged: Vec<Value> = requested
            .iter()
            .zip(stored)
            .map(|(req, old)| {
                if text(req, "name") != text(old, "name") {
                    return None;
                }
                let mut container = old.clone();
                let map = container.as_object_mut()?;
                for field in ["resources", "resizePolicy"] {
                    match req.get(field) {
                        Some(v) => map.insert(field.into(), v.clone()),
                        None => map.remove(field),
                    };
                }
                Some(container)
            })
            .collect::<Option<_>>()?;
        if !stored.is_empty() {
            spec_mut(&mut result)?.insert(key.into(), Value::Array(merged));
        }
    }
    Some(result)
}

/// Validation of an update of `subresource`; `None` when it is not one of the pods'.
pub fn validate_update(subresource: &str, new: &Value, old: &Value) -> Option<Vec<FieldError>> {
    match subresource {
        BINDING_WRITE => Some(Vec::new()),
        "ephemeralcontainers" => Some(validate_ephemeral_containers_update(new, old)),
        "resize" => Some(validate_resize(new, old)),
        _ => None,
    }
}

fn is_mirror_pod(pod: &Value) -> bool {
    pod.pointer("/metadata/annotations")
        .and_then(Value::as_object)
        .is_some_and(|a| a.contains_key(MIRROR_POD_ANNOTATION))
}

/// Whether a container field holds its zero value (absent, null, empty).
fn is_zero(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => true,
        Some(Value::Object(map)) => map.values().all(|v| is_zero(Some(v))),
        Some(Value::Array(items)) => items.is_empty(),
        Some(Value::String(s)) => s.is_empty(),
        Some(Value::Bool(b)) => !b,
        Some(Value::Number(n)) => n.as_f64() == Some(0.0),
    }
}

/// The container fields an ephemeral container may not set, in upstream's struct order
/// (`allowedEphemeralContainerFields`).
const EPHEMERAL_FORBIDDEN_FIELDS: &[&str] = &[
    "ports",
    "resources",
    "resizePolicy",
    "restartPolicy",
    "livenessProbe",
    "readinessProbe",
    "startupProbe",
    "lifecycle",
];

/// Upstream's `validateEphemeralContainers`.
fn validate_ephemeral_containers(spec: &Value, errs: &mut Vec<FieldError>) {
    let volumes: HashSet<&str> = list(spec, "volumes")
        .iter()
        .map(|v| text(v, "name"))
        .collect();
    let others: HashSet<&str> = ["containers", "initContainers"]
        .iter()
        .flat_map(|key| list(spec, key))
        .map(|c| text(c, "name"))
        .collect();
    let mut all = others.clone();
    for (i, container) in list(spec, "ephemeralContainers").iter().enumerate() {
        let at = format!("spec.ephemeralContainers[{i}]");
        validate_container(container, &at, &volumes, errs);
        let name = text(container, "name");
        if !all.insert(name) {
            errs.push(FieldError::duplicate(format!("{at}.name"), name));
        }
        let target = text(container, "targetContainerName");
        if !target.is_empty() && !others.contains(target) {
            errs.push(FieldError::not_found(
                format!("{at}.targetContainerName"),
                target,
            ));
        }
        for field in EPHEMERAL_FORBIDDEN_FIELDS {
            if !is_zero(container.get(*field)) {
                errs.push(FieldError::forbidden(
                    format!("{at}.{field}"),
                    "cannot be set for an Ephemeral Container",
                ));
            }
        }
        for (j, mount) in list(container, "volumeMounts").iter().enumerate() {
            for field in ["subPath", "subPathExpr"] {
                if !text(mount, field).is_empty() {
                    errs.push(FieldError::forbidden(
                        format!("{at}.volumeMounts[{j}].{field}"),
                        "cannot be set for an Ephemeral Container",
                    ));
                }
            }
        }
    }
}

/// Upstream's `ValidatePodEphemeralContainersUpdate`: the new pod's spec is valid, and the
/// existing ephemeral containers are neither removed nor changed.
pub fn validate_ephemeral_containers_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let empty = Value::Object(Map::new());
    let spec = new.get("spec").unwrap_or(&empty);
    let mut errs = validate_pod_spec(spec, "spec");
    validate_ephemeral_containers(spec, &mut errs);
    if is_mirror_pod(old) {
        return vec![FieldError::forbidden(
            "",
            "static pods do not support ephemeral containers",
        )];
    }
    let requested = list(spec, "ephemeralContainers");
    for existing in list(&old["spec"], "ephemeralContainers") {
        let name = text(existing, "name");
        match requested.iter().find(|c| text(c, "name") == name) {
            None => errs.push(FieldError::forbidden(
                "spec.ephemeralContainers",
                format!("existing ephemeral containers {name:?} may not be removed\n"),
            )),
            Some(now) if now != existing => errs.push(FieldError::forbidden(
                format!("spec.ephemeralContainers.{name}"),
                format!(
                    "existing ephemeral containers {name:?} may not be changed\n{}",
                    crate::registry::validation::pod_spec::field_diff(
                        "core.EphemeralContainer",
                        existing,
                        now
                    )
                ),
            )),
            Some(_) => {}
        }
    }
    errs
}

/// Whether `old` names a resource `new` no longer has (`resourcesRemoved`).
fn resources_removed(new: Option<&Value>, old: Option<&Value>) -> bool {
    let keys = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    };
    let now = keys(new);
    keys(old).iter().any(|k| !now.contains(k))
}

/// Upstream's `isPodResizeRequestSupported`: the first running container reports resources.
fn resize_supported(pod: &Value) -> bool {
    list(
        pod.get("status").unwrap_or(&Value::Null),
        "containerStatuses",
    )
    .iter()
    .find(|c| c.pointer("/state/running").is_some())
    .is_none_or(|c| c.get("resources").is_some())
}

/// The container with `resources` reduced to what may not change on resize (all but cpu and
/// memory) and `resizePolicy` dropped.
fn fixed_part(container: &Value) -> Value {
    let mut fixed = container.clone();
    if let Some(map) = fixed.as_object_mut() {
        map.remove("resizePolicy");
        if let Some(resources) = map.get_mut("resources").and_then(Value::as_object_mut) {
            for section in ["requests", "limits"] {
                if let Some(list) = resources.get_mut(section).and_then(Value::as_object_mut) {
                    list.remove("cpu");
                    list.remove("memory");
                    if list.is_empty() {
                        resources.remove(section);
                    }
                }
            }
            if resources.is_empty() {
                map.remove("resources");
            }
        }
    }
    fixed
}

/// Upstream's `ValidatePodResize` (1.33): the spec is valid, the QoS class stays, containers
/// keep their number, names and order, requests and limits are not removed, and only cpu and
/// memory change.
pub fn validate_resize(new: &Value, old: &Value) -> Vec<FieldError> {
    let empty = Value::Object(Map::new());
    let (new_spec, old_spec) = (
        new.get("spec").unwrap_or(&empty),
        old.get("spec").unwrap_or(&empty),
    );
    let mut errs = validate_pod_spec(new_spec, "spec");
    if is_mirror_pod(old) {
        return vec![FieldError::forbidden("", "static pods cannot be resized")];
    }
    if old_spec.pointer("/os/name").and_then(Value::as_str) == Some("windows") {
        return vec![FieldError::forbidden("", "windows pods cannot be resized")];
    }
    let old_qos = old
        .pointer("/status/qosClass")
        .and_then(Value::as_str)
        .unwrap_or_else(|| qos_class(old));
    if old_qos != qos_class(new) {
        let shown = new
            .pointer("/status/qosClass")
            .and_then(Value::as_str)
            .unwrap_or("");
        errs.push(FieldError::invalid(
            "spec",
            shown,
            "Pod QOS Class may not change as a result of resizing",
        ));
    }
    if !resize_supported(old) {
        errs.push(FieldError::forbidden(
            "spec",
            "Pod running on node without support for resize",
        ));
    }
    let mut ordered = true;
    for key in ["containers", "initContainers"] {
        let (now, before) = (list(new_spec, key), list(old_spec, key));
        if now.len() != before.len() {
            errs.push(FieldError::forbidden(
                format!("spec.{key}"),
                "containers may not be added or removed on resize",
            ));
            ordered = false;
            continue;
        }
        for (i, (n, o)) in now.iter().zip(before).enumerate() {
            if text(n, "name") != text(o, "name") {
                errs.push(FieldError::forbidden(
                    format!("spec.{key}[{i}].name"),
                    "containers may not be renamed or reordered on resize",
                ));
                ordered = false;
            }
        }
    }
    if !ordered {
        return errs;
    }
    for key in ["initContainers", "containers"] {
        for (i, (n, o)) in list(new_spec, key)
            .iter()
            .zip(list(old_spec, key))
            .enumerate()
        {
            if key == "initContainers" && text(o, "restartPolicy") != "Always" {
                continue;
            }
            for (section, what) in [("requests", "requests"), ("limits", "limits")] {
                let path = format!("/resources/{section}");
                if resources_removed(n.pointer(&path), o.pointer(&path)) {
                    errs.push(FieldError::forbidden(
                        format!("spec.{key}[{i}].resources.{section}"),
                        format!("resource {what} cannot be removed"),
                    ));
                }
            }
        }
    }
    let fixed = |spec: &Value| {
        let mut spec = spec.clone();
        if let Some(map) = spec.as_object_mut() {
            for key in ["containers", "initContainers"] {
                if let Some(items) = map.get_mut(key).and_then(Value::as_array_mut) {
                    for item in items.iter_mut() {
                        *item = fixed_part(item);
                    }
                }
            }
        }
        spec
    };
    if fixed(new_spec) != fixed(old_spec) {
        errs.push(FieldError::forbidden(
            "spec",
            "only cpu and memory resources are mutable",
        ));
    }
    errs
}
