//! The API Priority and Fairness configuration controller, as kube-apiserver's
//! `priority-and-fairness-config-producer` post-start hook (`pkg/registry/flowcontrol/ensurer`)
//! and the status part of its config consumer (`apf_controller.go`).
//!
//! [`ensure`] keeps the [`bootstrap`] objects, suggested ones first, then mandatory ones, then
//! removes objects the bootstrap no longer has:
//! - A missing object is always (re)created, with `apf.kubernetes.io/autoupdate-spec: "true"`.
//! - A mandatory object always gets the bootstrap spec back, and the annotation `"true"`.
//! - A suggested object gets the bootstrap spec while its annotation parses as true (Go's
//!   `strconv.ParseBool`); without a valid annotation it counts as true only at generation 1
//!   (never edited), and the annotation is then written with that decision. `"false"` leaves it
//!   alone.
//! - An object whose name is in no bootstrap list but that has the annotation set to true is
//!   deleted (a configuration upstream dropped).
//!
//! [`run`] repeats [`ensure`] every minute, as upstream, and keeps every FlowSchema's `Dangling`
//! condition: `True` (`NotFound`) when it names a PriorityLevelConfiguration that does not
//! exist, else `False` (`Found`), following both resources' watches.

pub mod bootstrap;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use crate::api::status::ApiResult;
use crate::controllers::watch_loop;
use crate::registry::metadata::{meta_str, now_rfc3339};
use crate::registry::options::{DeleteOptions, ListOptions, Preconditions, WriteOptions};
use crate::registry::store::Store;
use crate::request::flowcontrol::{parse_flow_schema, parse_priority_level};

/// The annotation that says whether the server keeps an object's spec up to date.
pub const AUTOUPDATE_ANNOTATION: &str = "apf.kubernetes.io/autoupdate-spec";
/// The field manager of the ensurer's writes.
pub const ENSURER_FIELD_MANAGER: &str = "api-priority-and-fairness-config-producer-v1";
/// The field manager of the status writes, as upstream's config consumer.
pub const STATUS_FIELD_MANAGER: &str = "api-priority-and-fairness-config-consumer-v1";
/// The FlowSchema condition type of a missing priority level.
pub const DANGLING: &str = "Dangling";

/// How often the bootstrap configuration is ensured again, as upstream.
const ENSURE_PERIOD: Duration = Duration::from_secs(60);
/// Tries of [`ensure_at_start`].
const START_ATTEMPTS: u32 = 10;
/// The pause before a failed status pass or start-up ensure runs again.
const RETRY: Duration = Duration::from_secs(1);

/// The two kinds kept: their specs are compared through the parsed model, so that values the
/// store defaults or encodes differently do not count as a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    FlowSchema,
    PriorityLevel,
}

impl Kind {
    fn same_spec(self, a: &Value, b: &Value) -> bool {
        // Name and uid are metadata: compare the spec alone.
        let spec_only = |object: &Value| json!({"spec": object.get("spec").cloned()});
        let (a, b) = (spec_only(a), spec_only(b));
        match self {
            Kind::FlowSchema => match (parse_flow_schema(&a), parse_flow_schema(&b)) {
                (Ok(a), Ok(b)) => a == b,
                _ => false,
            },
            Kind::PriorityLevel => match (parse_priority_level(&a), parse_priority_level(&b)) {
                (Ok(a), Ok(b)) => a == b,
                _ => false,
            },
        }
    }
}

/// Go's `strconv.ParseBool`.
fn parse_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

fn annotation(object: &Value) -> Option<&str> {
    object
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(AUTOUPDATE_ANNOTATION))
        .and_then(Value::as_str)
}

/// Whether a suggested object's spec is kept up to date: its annotation, else whether it was
/// never edited (generation 1).
fn should_update_spec(object: &Value) -> bool {
    match annotation(object).and_then(parse_bool) {
        Some(auto) => auto,
        None => {
            object
                .pointer("/metadata/generation")
                .and_then(Value::as_i64)
                == Some(1)
        }
    }
}

/// The object `current` should become, or `None` when it is up to date. `mandatory` objects
/// always get the bootstrap spec.
fn updated(kind: Kind, mandatory: bool, bootstrap: &Value, current: &Value) -> Option<Value> {
    let auto = mandatory || should_update_spec(current);
    let update_annotation = annotation(current).and_then(parse_bool) != Some(auto);
    let spec_changed = auto && !kind.same_spec(bootstrap, current);
    if !(update_annotation || spec_changed) {
        return None;
    }
    let mut next = current.clone();
    if update_annotation {
        next["metadata"]["annotations"][AUTOUPDATE_ANNOTATION] = json!(auto.to_string());
    }
    if spec_changed {
        next["spec"] = bootstrap["spec"].clone();
    }
    Some(next)
}

fn ensurer_options() -> WriteOptions {
    WriteOptions {
        field_manager: ENSURER_FIELD_MANAGER.into(),
        ..WriteOptions::default()
    }
}

/// Creates `bootstrap` when missing, else brings it up to date per the strategy.
async fn ensure_object(
    store: &Store,
    kind: Kind,
    mandatory: bool,
    bootstrap: &Value,
) -> ApiResult<()> {
    let name = meta_str(bootstrap, "name");
    let current = match store.get(None, name).await {
        Ok(current) => current,
        Err(err) if err.status.code == 404 => {
            return match store
                .create(None, bootstrap.clone(), &ensurer_options())
                .await
            {
                Ok(_) => {
                    tracing::info!(
                        ?kind,
                        object = name,
                        mandatory,
                        "created APF bootstrap object"
                    );
                    Ok(())
                }
                Err(err) if err.status.reason == "AlreadyExists" => Ok(()),
                Err(err) => Err(err),
            };
        }
        Err(err) => return Err(err),
    };
    if updated(kind, mandatory, bootstrap, &current).is_none() {
        return Ok(());
    }
    store
        .guaranteed_update(None, name, &ensurer_options(), |current| {
            Ok(updated(kind, mandatory, bootstrap, current).unwrap_or_else(|| current.clone()))
        })
        .await?;
    tracing::info!(
        ?kind,
        object = name,
        mandatory,
        "updated APF bootstrap object"
    );
    Ok(())
}

/// Deletes the objects of `store` not named in `wanted` whose annotation says true.
async fn remove_unwanted(store: &Store, kind: Kind, wanted: &BTreeSet<String>) -> ApiResult<()> {
    let objects = store.list(None, &ListOptions::default()).await?.items;
    for object in objects {
        let name = meta_str(&object, "name");
        if wanted.contains(name) || annotation(&object).and_then(parse_bool) != Some(true) {
            continue;
        }
        let opts = DeleteOptions {
            preconditions: Some(Preconditions {
                uid: None,
                resource_version: Some(meta_str(&object, "resourceVersion").to_string()),
            }),
            ..DeleteOptions::default()
        };
        match store.delete(None, name, &opts, &ensurer_options()).await {
            Ok(_) => tracing::info!(
                ?kind,
                object = name,
                "deleted APF object dropped from bootstrap"
            ),
            Err(err) if err.status.code == 404 => {}
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

fn names(objects: &[Value]) -> impl Iterator<Item = String> + '_ {
    objects.iter().map(|o| meta_str(o, "name").to_string())
}

/// One pass of upstream's ensurer over the FlowSchemas and PriorityLevelConfigurations stores.
pub async fn ensure(flow_schemas: &Store, priority_levels: &Store) -> ApiResult<()> {
    let (mandatory_levels, suggested_levels) = (
        bootstrap::mandatory_priority_levels(),
        bootstrap::suggested_priority_levels(),
    );
    let (mandatory_schemas, suggested_schemas) = (
        bootstrap::mandatory_flow_schemas(),
        bootstrap::suggested_flow_schemas(),
    );
    for (mandatory, levels, schemas) in [
        (false, &suggested_levels, &suggested_schemas),
        (true, &mandatory_levels, &mandatory_schemas),
    ] {
        for level in levels {
            ensure_object(priority_levels, Kind::PriorityLevel, mandatory, level).await?;
        }
        for schema in schemas {
            ensure_object(flow_schemas, Kind::FlowSchema, mandatory, schema).await?;
        }
    }
    let wanted_levels: BTreeSet<String> = names(&mandatory_levels)
        .chain(names(&suggested_levels))
        .collect();
    let wanted_schemas: BTreeSet<String> = names(&mandatory_schemas)
        .chain(names(&suggested_schemas))
        .collect();
    remove_unwanted(flow_schemas, Kind::FlowSchema, &wanted_schemas).await?;
    remove_unwanted(priority_levels, Kind::PriorityLevel, &wanted_levels).await?;
    Ok(())
}

/// [`ensure`] at start-up, tried every second up to [`START_ATTEMPTS`] times (another replica
/// may be writing the same objects), as upstream's hook polls before it gives up.
pub async fn ensure_at_start(flow_schemas: &Store, priority_levels: &Store) -> ApiResult<()> {
    let mut attempt = 1;
    loop {
        match ensure(flow_schemas, priority_levels).await {
            Ok(()) => return Ok(()),
            Err(err) if attempt < START_ATTEMPTS => {
                tracing::warn!(error = %err, attempt, "APF bootstrap ensurer failed, retrying");
                attempt += 1;
                tokio::time::sleep(RETRY).await;
            }
            Err(err) => return Err(err),
        }
    }
}

/// The `Dangling` condition a FlowSchema should have (without `lastTransitionTime`), given the
/// names of the existing priority levels.
fn dangling_condition(schema: &Value, levels: &BTreeSet<String>) -> Value {
    let level = schema
        .pointer("/spec/priorityLevelConfiguration/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    if levels.contains(level) {
        json!({
            "type": DANGLING,
            "status": "False",
            "reason": "Found",
            "message": format!(
                "This FlowSchema references the PriorityLevelConfiguration object named {level:?} and it exists"
            ),
        })
    } else {
        json!({
            "type": DANGLING,
            "status": "True",
            "reason": "NotFound",
            "message": format!(
                "This FlowSchema references the PriorityLevelConfiguration object named {level:?} but there is no such object"
            ),
        })
    }
}

/// The schema's conditions with `desired` in place of its `Dangling` condition, or `None` when
/// that condition already has the same status, reason and message.
fn with_dangling(schema: &Value, desired: &Value) -> Option<Vec<Value>> {
    let mut conditions: Vec<Value> = schema
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let position = conditions.iter().position(|c| c["type"] == DANGLING);
    if let Some(index) = position {
        let old = &conditions[index];
        if ["status", "reason", "message"]
            .iter()
            .all(|key| old.get(*key) == desired.get(*key))
        {
            return None;
        }
    }
    let mut condition = desired.clone();
    condition["lastTransitionTime"] = json!(now_rfc3339());
    match position {
        Some(index) => conditions[index] = condition,
        None => conditions.push(condition),
    }
    Some(conditions)
}

/// Writes every FlowSchema's `Dangling` condition that is out of date; whether to retry.
pub async fn update_dangling(flow_schemas: &Store, priority_levels: &Store) -> bool {
    let lists = (
        flow_schemas.list(None, &ListOptions::default()).await,
        priority_levels.list(None, &ListOptions::default()).await,
    );
    let (schemas, levels) = match lists {
        (Ok(schemas), Ok(levels)) => (schemas.items, levels.items),
        (Err(err), _) | (_, Err(err)) => {
            tracing::warn!(error = %err, "cannot list the APF configuration");
            return true;
        }
    };
    let levels: BTreeSet<String> = names(&levels).collect();
    let opts = WriteOptions {
        field_manager: STATUS_FIELD_MANAGER.into(),
        subresource: Some("status".into()),
        ..WriteOptions::default()
    };
    let mut retry = false;
    for schema in schemas {
        if with_dangling(&schema, &dangling_condition(&schema, &levels)).is_none() {
            continue;
        }
        let name = meta_str(&schema, "name").to_string();
        let written = flow_schemas
            .guaranteed_update(None, &name, &opts, |current| {
                let mut next = current.clone();
                if let Some(conditions) =
                    with_dangling(current, &dangling_condition(current, &levels))
                {
                    next["status"]["conditions"] = Value::Array(conditions);
                }
                Ok(next)
            })
            .await;
        if let Err(err) = written {
            if err.status.code != 404 {
                tracing::warn!(flow_schema = %name, error = %err, "cannot write the Dangling condition");
                retry = true;
            }
        }
    }
    retry
}

/// Runs until the task is dropped: [`ensure`] every minute (start-up ensured once already), and
/// the `Dangling` conditions after every change of either resource.
pub async fn run(flow_schemas: Arc<Store>, priority_levels: Arc<Store>) {
    let periodic = {
        let (schemas, levels) = (flow_schemas.clone(), priority_levels.clone());
        async move {
            loop {
                tokio::time::sleep(ENSURE_PERIOD).await;
                if let Err(err) = ensure(&schemas, &levels).await {
                    tracing::warn!(error = %err, "APF bootstrap ensurer failed, will retry");
                }
            }
        }
    };
    let on_change = |watched: Arc<Store>, name: &'static str| {
        let (schemas, levels) = (flow_schemas.clone(), priority_levels.clone());
        watch_loop::run(watched, name, RETRY, move || {
            let (schemas, levels) = (schemas.clone(), levels.clone());
            async move { update_dangling(&schemas, &levels).await }
        })
    };
    let schemas_watch = on_change(flow_schemas.clone(), "apf-flowschemas");
    let levels_watch = on_change(priority_levels.clone(), "apf-prioritylevels");
    futures::join!(periodic, schemas_watch, levels_watch);
}
