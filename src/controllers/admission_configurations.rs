//! Keeps the admission configurations in effect ([`Configurations`]) current from the watches
//! of the four resources that hold them, as upstream's webhook and policy configuration
//! managers follow their informers.

use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;

use crate::admission::configurations::{ConfigurationKind, Configurations};
use crate::controllers::watch_loop::{self, Observed};
use crate::registry::metadata::meta_str;
use crate::registry::store::{Store, WatchEventType};

/// The pause before a failed list is tried again.
const RETRY: Duration = Duration::from_secs(1);

/// Follows each `(kind, store)` until the task is dropped.
pub async fn run(
    configurations: Arc<Configurations>,
    stores: Vec<(ConfigurationKind, Arc<Store>)>,
) {
    let followers = stores.into_iter().map(|(kind, store)| {
        let configurations = configurations.clone();
        watch_loop::run_observing(
            store,
            "admission-configurations",
            RETRY,
            move |observed| match observed {
                Observed::Listed(objects) => configurations.replace(kind, objects),
                Observed::Event(event) => {
                    let object = event.object.value();
                    let name = meta_str(object, "name");
                    match event.event_type {
                        WatchEventType::Added | WatchEventType::Modified => {
                            configurations.apply(kind, name, Some(object))
                        }
                        WatchEventType::Deleted => configurations.apply(kind, name, None),
                        WatchEventType::Bookmark | WatchEventType::Error => {}
                    }
                }
            },
            || async { false },
        )
    });
    join_all(followers).await;
}
