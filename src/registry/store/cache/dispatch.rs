//! Who is woken by an event (upstream's cacher `triggerFunc` and `valueWatchers`): a watcher whose
//! field selector pins an indexed field to one value listens on that value's channel, and only
//! events whose new or previous object has the value reach it; every other watcher listens on
//! the shared channel, which gets every event. Each channel is a bounded broadcast, so a watcher
//! too far behind on its channel ends with 410 as before.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::broadcast;

use super::event::{CacheEvent, CacheMessage};
use super::index::IndexValues;
use crate::api::status::ApiError;

/// How many value channels may exist before the next subscription drops those nobody listens on.
const PRUNE_AT: usize = 64;

pub(crate) struct Dispatch {
    capacity: usize,
    all: broadcast::Sender<CacheMessage>,
    /// Per indexed field (by position): value -> the channel of the watchers pinned to it.
    triggered: Vec<HashMap<Box<str>, broadcast::Sender<CacheMessage>>>,
    prune_at: usize,
}

impl Dispatch {
    /// Channels holding up to `capacity` events each, for `fields` indexed fields.
    pub fn new(capacity: usize, fields: usize) -> Self {
        let capacity = capacity.max(1);
        let (all, _) = broadcast::channel(capacity);
        Self {
            capacity,
            all,
            triggered: (0..fields).map(|_| HashMap::new()).collect(),
            prune_at: PRUNE_AT,
        }
    }

    /// A receiver of the events for a watcher pinned to `trigger` (indexed field position and
    /// value), or of every event.
    pub fn subscribe(
        &mut self,
        trigger: Option<(usize, &str)>,
    ) -> broadcast::Receiver<CacheMessage> {
        let Some((position, value)) = trigger else {
            return self.all.subscribe();
        };
        if position >= self.triggered.len() {
            return self.all.subscribe();
        }
        let count: usize = self.triggered.iter().map(HashMap::len).sum();
        if count >= self.prune_at {
            for map in &mut self.triggered {
                map.retain(|_, sender| sender.receiver_count() > 0);
            }
            let left: usize = self.triggered.iter().map(HashMap::len).sum();
            self.prune_at = PRUNE_AT.max(left * 2);
        }
        let capacity = self.capacity;
        self.triggered[position]
            .entry(Box::from(value))
            .or_insert_with(|| broadcast::channel(capacity).0)
            .subscribe()
    }

    /// Sends `event` to the shared channel and to the channels of its indexed values now and
    /// before (`now`/`before`: `None` when the object is gone, or did not exist).
    pub fn send(
        &mut self,
        event: &Arc<CacheEvent>,
        now: Option<&IndexValues>,
        before: Option<&IndexValues>,
    ) {
        // No receivers is fine: the ring keeps the event for later watchers.
        let _ = self.all.send(CacheMessage::Event(event.clone()));
        for (position, map) in self.triggered.iter_mut().enumerate() {
            if map.is_empty() {
                continue;
            }
            let new = now.and_then(|v| v.get(position));
            let old = before.and_then(|v| v.get(position));
            let values = [new, old.filter(|old| Some(*old) != new)];
            for value in values.into_iter().flatten() {
                let gone = match map.get(value) {
                    Some(sender) => sender.send(CacheMessage::Event(event.clone())).is_err(),
                    None => false,
                };
                if gone {
                    // Its last receiver went away.
                    map.remove(value);
                }
            }
        }
    }

    /// Ends every watcher with `err`.
    pub fn fail(self, err: &ApiError) {
        let _ = self.all.send(CacheMessage::Failed(err.clone()));
        for map in self.triggered {
            for sender in map.into_values() {
                let _ = sender.send(CacheMessage::Failed(err.clone()));
            }
        }
    }

    /// How many value channels exist.
    #[cfg(test)]
    pub fn value_channels(&self) -> usize {
        self.triggered.iter().map(HashMap::len).sum()
    }
}
