//! Field management (`metadata.managedFields`) and server-side apply, as kube-apiserver 1.33's
//! `k8s.io/apimachinery/pkg/util/managedfields/internal` over `sigs.k8s.io/structured-merge-diff`.
//!
//! # Model
//! Every write names a manager. The fields of an object are paths ([`set::PathElement`]); each
//! managedFields entry (manager, operation, apiVersion, subresource) owns a [`set::FieldSet`],
//! encoded as `FieldsV1`. Types come from [`schema::TypeRef`]: built-in kinds from our OpenAPI
//! definitions, custom resources from their CRD schema, anything else deduced.
//!
//! * An **Update** (create, PUT, non-apply PATCH) never conflicts: the manager takes ownership of
//!   what it added or changed; everyone loses what changed and what was removed
//!   ([`track_update`], called by the store after its own preparations, so a reset `status` or a
//!   kept system field is not a change).
//! * An **Apply** ([`apply`]) merges the applied configuration into the live object by type
//!   ([`walk::merge`]), makes the configuration's fields the manager's set, removes what the
//!   manager applied before and nobody owns any more ([`walk::prune`]), and fails with a 409
//!   listing the fields another manager owns whose value it would change, unless forced.
//! * `kubectl`'s client-side apply migrates: an apply by `kubectl` may take fields whose
//!   `last-applied-configuration` value is still live, and keeps that annotation up to date.

pub mod managed;
pub mod schema;
pub mod set;
pub mod walk;

#[cfg(test)]
mod tests;

use http::StatusCode;
use serde_json::{json, Map, Value};

use crate::api::status::{ApiError, ApiResult, StatusCause, StatusDetails};
use crate::catalog::ResourceInfo;
use crate::registry::strategy::FieldPath;
use managed::{Entry, Managed, Operation};
pub use schema::TypeRef;
use set::{path_string, FieldSet, Path};

/// The most Update entries an object keeps (upstream's `DefaultMaxUpdateManagers`).
pub const MAX_UPDATE_MANAGERS: usize = 10;
/// The longest manager name (upstream's `FieldManagerMaxLength`).
const FIELD_MANAGER_MAX_LENGTH: usize = 128;
/// kubectl's client-side apply annotation.
pub const LAST_APPLIED_ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";
/// The manager of fields an object had before its first apply.
const BEFORE_FIRST_APPLY: &str = "before-first-apply";

/// Upstream's `managerOrUserAgent`: the request's `fieldManager`, else the User-Agent up to its
/// first `/`, without unprintable characters, cut to 128 bytes.
pub fn manager_or_user_agent(field_manager: &str, user_agent: Option<&str>) -> String {
    if !field_manager.is_empty() {
        return field_manager.to_string();
    }
    let prefix = user_agent
        .unwrap_or_default()
        .split('/')
        .next()
        .unwrap_or_default();
    let mut out = String::new();
    for c in prefix.chars() {
        if c.is_control() || (c.is_whitespace() && c != ' ') {
            continue;
        }
        if out.len() + c.len_utf8() > FIELD_MANAGER_MAX_LENGTH {
            break;
        }
        out.push(c);
    }
    out
}

/// The struct fields Go's built-in types hold by value (never `omitempty`-dropped): a zero value
/// encodes them as `{}`, so a create does not add them (no `.` in their FieldsV1).
const VALUE_STRUCT_FIELDS: &[&str] = &[
    "metadata",
    "spec",
    "status",
    "template",
    "strategy",
    "updateStrategy",
];

/// The object upstream compares a created object with: the Go zero value of a built-in kind
/// (its by-value structs as `{}`, a PodSpec's non-omitempty `containers` as null), nothing for
/// custom resources.
fn zero_object(ty: &TypeRef) -> Value {
    match ty {
        TypeRef::Builtin { .. } => zero_struct(ty, 0),
        _ => Value::Object(Map::new()),
    }
}

fn zero_struct(ty: &TypeRef, depth: usize) -> Value {
    let mut zero = Map::new();
    if depth < 6 {
        for field in VALUE_STRUCT_FIELDS {
            if !ty.declares_field(field) {
                continue;
            }
            let child = ty.field(field);
            if matches!(
                child.shape(Some(&json!({}))),
                schema::Shape::Map { atomic: false }
            ) {
                zero.insert((*field).to_string(), zero_struct(&child, depth + 1));
            }
        }
        if ty.declares_field("containers") && ty.declares_field("restartPolicy") {
            zero.insert("containers".into(), Value::Null);
        }
    }
    Value::Object(zero)
}

fn remove_managed_fields(object: &mut Value) -> Option<Value> {
    object
        .get_mut("metadata")
        .and_then(Value::as_object_mut)
        .and_then(|meta| meta.remove("managedFields"))
}

/// The entry identifying a writer of `info`'s resource.
fn writer(
    info: &ResourceInfo,
    manager: &str,
    operation: Operation,
    subresource: Option<&str>,
) -> Entry {
    Entry {
        manager: manager.to_string(),
        operation,
        api_version: info.api_version(),
        time: None,
        subresource: subresource.unwrap_or_default().to_string(),
        fields: FieldSet::new(),
    }
}

/// Records an Update of `info`'s object from `old` (`None` on create) to `new` by `manager`,
/// into `new`'s managedFields, as upstream's `FieldManager.UpdateNoErrors`:
///
/// * the entries start from `new`'s managedFields when it carries valid, non-empty ones (a main
///   resource write may edit them), an empty list or `[{}]` resets them, anything else (and any
///   subresource write) keeps `old`'s;
/// * the manager MUST own what it added or changed afterwards, and nobody MUST own what changed
///   or was removed by it; the entries stay at most [`MAX_UPDATE_MANAGERS`] Update ones.
///
/// Never fails: an object without metadata is left alone.
pub fn track_update(
    info: &ResourceInfo,
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    subresource: Option<&str>,
) {
    if !new.is_object() {
        return;
    }
    let ty = TypeRef::for_resource(info);
    let decoded_old = || {
        old.and_then(|o| managed::decode(o).ok().flatten())
            .unwrap_or_default()
    };
    let mut managed = if subresource.is_some() {
        decoded_old()
    } else if managed::is_reset(new) {
        Managed::default()
    } else {
        match managed::decode(new) {
            Ok(Some(m)) if !m.entries.is_empty() => m,
            _ => decoded_old(),
        }
    };
    remove_managed_fields(new);
    let zero;
    let before = match old {
        Some(old) => old,
        None => {
            zero = zero_object(&ty);
            &zero
        }
    };
    let comparison = walk::compare(before, new, &ty);
    let now = crate::registry::metadata::now_rfc3339();
    managed.record_update(
        &comparison,
        &writer(info, manager, Operation::Update, subresource),
        &now,
    );
    managed.cap_updates(MAX_UPDATE_MANAGERS);
    managed.encode_into(new);
}

/// One field another manager owns that an apply would change.
#[derive(Debug, Clone)]
pub struct Conflict {
    pub manager: Entry,
    pub path: Path,
}

/// Upstream's `NewConflictError`: 409 Conflict with one `FieldManagerConflict` cause per field and
/// `getConflictMessage`'s text.
pub fn conflict_error(mut conflicts: Vec<Conflict>) -> ApiError {
    conflicts.sort_by_key(|c| c.manager.identifier());
    let causes: Vec<StatusCause> = conflicts
        .iter()
        .map(|c| StatusCause {
            reason: "FieldManagerConflict".into(),
            message: format!("conflict with {}", c.manager.printed()),
            field: path_string(&c.path),
        })
        .collect();
    let message = if conflicts.len() == 1 {
        format!(
            "Apply failed with 1 conflict: conflict with {}: {}",
            conflicts[0].manager.printed(),
            path_string(&conflicts[0].path)
        )
    } else {
        let mut lines: Vec<String> = Vec::new();
        let mut current: Option<String> = None;
        for conflict in &conflicts {
            let id = conflict.manager.identifier();
            if current.as_deref() != Some(id.as_str()) {
                lines.push(format!("conflicts with {}:", conflict.manager.printed()));
                current = Some(id);
            }
            lines.push(format!("- {}", path_string(&conflict.path)));
        }
        format!(
            "Apply failed with {} conflicts: {}",
            conflicts.len(),
            lines.join("\n")
        )
    };
    ApiError::new(
        StatusCode::CONFLICT,
        "Conflict",
        message,
        Some(StatusDetails {
            causes,
            ..Default::default()
        }),
    )
}

/// A server-side apply request.
#[derive(Debug, Clone, Copy)]
pub struct ApplyRequest<'a> {
    pub info: &'a ResourceInfo,
    /// The `fieldManager` (required by the handler).
    pub manager: &'a str,
    /// `force=true`: take conflicting fields.
    pub force: bool,
    /// The subresource applied to (`status`), `None` for the main resource.
    pub subresource: Option<&'a str>,
    /// The fields the write resets (the strategy's `GetResetFields` of the main resource or of
    /// the subresource): neither merged, owned nor in conflict.
    pub reset_fields: &'a [FieldPath],
}

/// Applies `config` to `live` (`None`: the object does not exist yet) and returns the object to
/// store, with its managedFields, as upstream's `FieldManager.Apply` with the
/// `lastAppliedUpdater`, `lastAppliedManager` and `skipNonAppliedManager` layers:
///
/// * MUST refuse a configuration with fields a built-in schema does not declare (upstream's
///   500 `failed to create typed patch object (...)`);
/// * MUST refuse a configuration of another kind or apiVersion (400 `invalid object type:
///   apps/v1beta1, Kind=Deployment`) or carrying managedFields (400 `metadata.managedFields must
///   be nil`);
/// * fields another manager owns and the apply would change are a 409 ([`conflict_error`])
///   unless `force`; `kubectl` may take fields its last-applied-configuration still describes;
/// * the fields the write resets ([`ApplyRequest::reset_fields`]) are neither merged nor owned.
pub fn apply(request: &ApplyRequest<'_>, live: Option<&Value>, config: &Value) -> ApiResult<Value> {
    let info = request.info;
    let Some(config_map) = config.as_object() else {
        return Err(ApiError::bad_request(
            "the body of the request must be a JSON object",
        ));
    };
    // Upstream's versionCheckManager, then the structured merge manager's own checks.
    let text = |name: &str| {
        config_map
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
    };
    let (api_version, kind) = (text("apiVersion"), text("kind"));
    if api_version != info.api_version() || kind != info.kind {
        let (group, version) = match api_version.split_once('/') {
            Some((group, version)) => (group, version),
            None => ("", api_version),
        };
        return Err(ApiError::bad_request(format!(
            "invalid object type: {group}/{version}, Kind={kind}"
        )));
    }
    if config
        .pointer("/metadata/managedFields")
        .is_some_and(|v| !v.is_null())
    {
        return Err(ApiError::bad_request("metadata.managedFields must be nil"));
    }
    let ty = TypeRef::for_resource(info);
    let undeclared = walk::undeclared_fields(config, &ty);
    if !undeclared.is_empty() {
        return Err(typed_conversion_error(info, config, &undeclared));
    }
    let effective = without_reset_fields(config_map, request.reset_fields);
    let zero;
    let live = match live {
        Some(live) => live,
        None => {
            zero = zero_object(&ty);
            &zero
        }
    };
    let mut managed = managed::decode(live).ok().flatten().unwrap_or_default();
    let live_plain = live;
    if managed.entries.is_empty() {
        let comparison = walk::compare(&zero_object(&ty), live_plain, &ty);
        managed.record_update(
            &comparison,
            &writer(
                info,
                BEFORE_FIRST_APPLY,
                Operation::Update,
                request.subresource,
            ),
            &crate::registry::metadata::now_rfc3339(),
        );
    }
    let attempt =
        |force: bool| apply_once(request, &ty, live_plain, &effective, managed.clone(), force);
    let (mut object, result) = match attempt(request.force) {
        Ok(done) => done,
        Err(conflicts) if request.manager == "kubectl" => {
            let allowed = last_applied_fields(info, &ty, live_plain);
            let remaining: Vec<Conflict> = conflicts
                .into_iter()
                .filter(|c| !allowed.as_ref().is_some_and(|a| a.has(&c.path)))
                .collect();
            if !remaining.is_empty() {
                return Err(conflict_error(remaining));
            }
            attempt(true).map_err(conflict_error)?
        }
        Err(conflicts) => return Err(conflict_error(conflicts)),
    };
    if request.manager == "kubectl" {
        refresh_last_applied(&mut object, config);
    }
    result.encode_into(&mut object);
    Ok(object)
}

/// Upstream's failed typed conversion of an apply configuration: not a Status error, so a 500
/// with reason `""` whose message is `failed to create typed patch object (<ns>/<name>;
/// <group>/<version>, Kind=<kind>): <errors>` (several errors as `errors:` then one indented line
/// each, as structured-merge-diff's `ValidationErrors`).
fn typed_conversion_error(info: &ResourceInfo, config: &Value, errors: &[String]) -> ApiError {
    let meta = |name: &str| {
        config
            .pointer(&format!("/metadata/{name}"))
            .and_then(Value::as_str)
            .unwrap_or_default()
    };
    let detail = if errors.len() == 1 {
        errors[0].clone()
    } else {
        let mut lines = vec!["errors:".to_string()];
        lines.extend(errors.iter().map(|e| format!("  {e}")));
        lines.join("\n")
    };
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "",
        format!(
            "failed to create typed patch object ({}/{}; {}/{}, Kind={}): {detail}",
            meta("namespace"),
            meta("name"),
            info.group,
            info.version,
            info.kind
        ),
        None,
    )
}

/// The configuration without the fields the write resets (`metadata` as a whole: all of it but
/// the name and namespace that identify the object).
fn without_reset_fields(config: &Map<String, Value>, reset: &[FieldPath]) -> Value {
    let mut out = Value::Object(config.clone());
    for path in reset {
        let Some((last, parents)) = path.split_last() else {
            continue;
        };
        if path == &["metadata"] {
            if let Some(meta) = out.get_mut("metadata").and_then(Value::as_object_mut) {
                meta.retain(|k, _| k == "name" || k == "namespace");
            }
            continue;
        }
        let parent = parents.iter().try_fold(&mut out, |v, key| v.get_mut(*key));
        if let Some(map) = parent.and_then(Value::as_object_mut) {
            map.remove(*last);
        }
    }
    out
}

/// One apply attempt: the merged object and the new entries, or the conflicts.
fn apply_once(
    request: &ApplyRequest<'_>,
    ty: &TypeRef,
    live: &Value,
    config: &Value,
    mut managed: Managed,
    force: bool,
) -> Result<(Value, Managed), Vec<Conflict>> {
    let me = writer(
        request.info,
        request.manager,
        Operation::Apply,
        request.subresource,
    );
    let mut merged = walk::merge(live, config, ty);
    let mut applied = walk::field_set(config, ty);
    managed::strip_meta(&mut applied);
    let position = managed.entries.iter().position(|e| e.same_manager(&me));
    let last = position.map(|i| std::mem::take(&mut managed.entries[i].fields));
    match position {
        Some(i) => {
            let entry = &mut managed.entries[i];
            entry.fields = applied;
            entry.api_version = me.api_version.clone();
        }
        None => managed.entries.push(Entry {
            fields: applied,
            ..me.clone()
        }),
    }
    if let Some(last) = last.filter(|l| !l.is_empty()) {
        let mut owned = FieldSet::new();
        for entry in &managed.entries {
            owned.union_in_place(&entry.fields);
        }
        walk::prune(&mut merged, &last, Some(&owned), ty);
    }
    let comparison = walk::compare(live, &merged, ty);
    let mut changed = comparison.changed();
    managed::strip_meta(&mut changed);
    let mut removed = comparison.removed.clone();
    managed::strip_meta(&mut removed);
    let mut conflicts = Vec::new();
    for entry in managed.entries.iter().filter(|e| !e.same_manager(&me)) {
        for path in entry.fields.intersection(&changed).paths() {
            conflicts.push(Conflict {
                manager: Entry {
                    fields: FieldSet::new(),
                    time: None,
                    ..entry.clone()
                },
                path,
            });
        }
    }
    if !force && !conflicts.is_empty() {
        return Err(conflicts);
    }
    let noop = comparison.changed().is_empty() && comparison.removed.is_empty();
    let now = crate::registry::metadata::now_rfc3339();
    for entry in &mut managed.entries {
        if entry.same_manager(&me) {
            if !noop {
                entry.time = Some(now.clone());
            }
        } else {
            entry.fields = entry.fields.difference(&changed).difference(&removed);
        }
    }
    managed.entries.retain(|e| !e.fields.is_empty());
    Ok((merged, managed))
}

/// The fields of the live object's last-applied-configuration whose value is still live
/// (upstream's `allowedConflictsFromLastApplied`); `None` without a usable annotation.
fn last_applied_fields(info: &ResourceInfo, ty: &TypeRef, live: &Value) -> Option<FieldSet> {
    let text = live
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(LAST_APPLIED_ANNOTATION))
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())?;
    let last: Value = serde_json::from_str(text).ok()?;
    if last.get("apiVersion").and_then(Value::as_str) != Some(info.api_version().as_str()) {
        return None;
    }
    let set = walk::field_set(&last, ty);
    let comparison = walk::compare(&last, live, ty);
    Some(
        set.difference(&comparison.modified)
            .difference(&comparison.added)
            .difference(&comparison.removed),
    )
}

/// Rewrites an existing last-applied-configuration annotation of `object` to the applied
/// configuration (without that annotation), as upstream's `lastAppliedUpdater`.
fn refresh_last_applied(object: &mut Value, config: &Value) {
    let present = object
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(LAST_APPLIED_ANNOTATION))
        .and_then(Value::as_str)
        .is_some_and(|t| !t.is_empty());
    if !present {
        return;
    }
    let mut last = config.clone();
    if let Some(annotations) = last
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    {
        annotations.remove(LAST_APPLIED_ANNOTATION);
    }
    let text = format!("{}\n", serde_json::to_string(&last).unwrap_or_default());
    if let Some(annotations) = object
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    {
        annotations.insert(LAST_APPLIED_ANNOTATION.into(), Value::String(text));
    }
}
