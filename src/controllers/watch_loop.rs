//! The loop of the level-triggered controllers (ClusterRole aggregation, CRDs): one pass at start,
//! then one after every burst of events of the watched store; a pass that asks for it runs again
//! after a pause (it failed, or waits on something); a failed or ended watch (e.g. 410 Expired)
//! is restarted from a fresh list.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::{FutureExt, StreamExt};

use serde_json::Value;

use crate::registry::options::ListOptions;
use crate::registry::store::{Store, WatchEvent, WatchEventType};

/// What a controller that keeps its own view of the watched objects is told, before the pass
/// that follows.
pub enum Observed<'a> {
    /// A fresh list: every object there is now (after a start or a restarted watch).
    Listed(&'a [Value]),
    /// One event of the watch (ADDED, MODIFIED or DELETED).
    Event(&'a WatchEvent),
}

/// Runs until the task is dropped. `pass` returns whether it must run again after `retry` even
/// without an event.
pub async fn run<F, Fut>(store: Arc<Store>, name: &'static str, retry: Duration, pass: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    run_observing(store, name, retry, |_| {}, pass).await
}

/// [`run`], telling `observe` every list and event first, so that a pass can work from the
/// controller's own view instead of listing.
pub async fn run_observing<O, F, Fut>(
    store: Arc<Store>,
    name: &'static str,
    retry: Duration,
    mut observe: O,
    mut pass: F,
) where
    O: FnMut(Observed<'_>),
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    loop {
        let list = match store.list(None, &ListOptions::default()).await {
            Ok(list) => list,
            Err(err) => {
                tracing::warn!(controller = name, error = %err, "cannot list");
                tokio::time::sleep(retry).await;
                continue;
            }
        };
        observe(Observed::Listed(&list.items));
        let watch_opts = ListOptions {
            watch: Some(true),
            resource_version: list.resource_version,
            ..Default::default()
        };
        let mut events = match store.watch(None, &watch_opts).await {
            Ok(events) => events,
            Err(err) => {
                tracing::warn!(controller = name, error = %err, "cannot watch");
                tokio::time::sleep(retry).await;
                continue;
            }
        };
        let mut dirty = true;
        'watch: loop {
            if dirty {
                dirty = pass().await;
            }
            let next = if dirty {
                // Run again after a pause, or sooner on the next event.
                match tokio::time::timeout(retry, events.next()).await {
                    Ok(next) => next,
                    Err(_) => continue 'watch,
                }
            } else {
                events.next().await
            };
            // Take the whole burst of events that are already here before the next pass.
            let mut pending = next;
            loop {
                match pending {
                    None => break 'watch,
                    Some(event) if event.event_type == WatchEventType::Error => {
                        tracing::info!(
                            controller = name,
                            status = %event.object(),
                            "watch ended, listing again"
                        );
                        break 'watch;
                    }
                    Some(event) => {
                        if event.event_type != WatchEventType::Bookmark {
                            observe(Observed::Event(&event));
                            dirty = true;
                        }
                    }
                }
                pending = match events.next().now_or_never() {
                    Some(next) => next,
                    None => break,
                };
            }
        }
        tokio::time::sleep(retry / 5).await;
    }
}
