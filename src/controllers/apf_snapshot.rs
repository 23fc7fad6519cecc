//! Keeps API Priority and Fairness's configuration ([`FlowControl`]) current from the watches of
//! the FlowSchemas and PriorityLevelConfigurations, as upstream's APF controller follows its
//! informers, and runs its periodic seat borrowing.

use std::sync::Arc;
use std::time::Duration;

use crate::controllers::watch_loop::{self, Observed};
use crate::filters::priority_and_fairness::FlowControl;
use crate::registry::metadata::meta_str;
use crate::registry::store::{Store, WatchEventType};

/// The pause before a failed list is tried again.
const RETRY: Duration = Duration::from_secs(1);

/// Which object kind a store holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    FlowSchema,
    PriorityLevel,
}

/// Lists the current objects into `control` once (so the first requests see them).
pub async fn load(
    control: &FlowControl,
    flow_schemas: &Store,
    priority_levels: &Store,
) -> anyhow::Result<()> {
    let options = crate::registry::options::ListOptions::default();
    let levels = priority_levels
        .list(None, &options)
        .await
        .map_err(|err| anyhow::anyhow!("listing the prioritylevelconfigurations: {err}"))?;
    control.replace_priority_levels(&levels.items);
    let schemas = flow_schemas
        .list(None, &options)
        .await
        .map_err(|err| anyhow::anyhow!("listing the flowschemas: {err}"))?;
    control.replace_flow_schemas(&schemas.items);
    Ok(())
}

/// Follows both stores and reallocates seats periodically, until the task is dropped.
pub async fn run(control: Arc<FlowControl>, flow_schemas: Arc<Store>, priority_levels: Arc<Store>) {
    let follow = |kind: Kind, store: Arc<Store>| {
        let control = control.clone();
        watch_loop::run_observing(
            store,
            "apf-configuration",
            RETRY,
            move |observed| match observed {
                Observed::Listed(objects) => match kind {
                    Kind::FlowSchema => control.replace_flow_schemas(objects),
                    Kind::PriorityLevel => control.replace_priority_levels(objects),
                },
                Observed::Event(event) => {
                    let object = event.object.value();
                    let name = meta_str(object, "name");
                    let value = match event.event_type {
                        WatchEventType::Added | WatchEventType::Modified => Some(object),
                        WatchEventType::Deleted => None,
                        WatchEventType::Bookmark | WatchEventType::Error => return,
                    };
                    match kind {
                        Kind::FlowSchema => control.apply_flow_schema(name, value),
                        Kind::PriorityLevel => control.apply_priority_level(name, value),
                    }
                }
            },
            || async { false },
        )
    };
    tokio::join!(
        follow(Kind::FlowSchema, flow_schemas),
        follow(Kind::PriorityLevel, priority_levels),
        control.clone().run_reallocation(),
    );
}
