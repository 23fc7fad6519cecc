//! One storage event, decoded once and shared by the cached state, the ring and every watcher.

use std::sync::{Arc, OnceLock};

use apiary_storage::{Event, EventKind};
use bytes::Bytes;

use super::{EventFrames, WatchEvent, WatchEventType, WatchObject};
use crate::api::status::{ApiError, ApiResult};
use crate::catalog::ResourceInfo;
use crate::registry::conversion::ConverterHandle;
use crate::registry::store::{decode_converted, decode_value};

/// One storage event, decoded once.
#[derive(Debug)]
pub(crate) struct CacheEvent {
    /// The resource (at the version served) the event is decoded for.
    info: Arc<ResourceInfo>,
    pub kind: EventKind,
    pub revision: i64,
    pub key: Arc<[u8]>,
    /// The object after the change; for a delete, the deleted object. Its resourceVersion is the
    /// event's revision.
    pub object: Arc<WatchObject>,
    prev_bytes: Option<Bytes>,
    prev: OnceLock<Option<Arc<WatchObject>>>,
    /// The stored bytes the event carried (object and previous state): what the ring's byte
    /// bound counts.
    pub stored_size: usize,
    /// The frames of the event as it is ([`CacheEvent::shared`]), built once for every watcher.
    frames: Arc<EventFrames>,
}

impl CacheEvent {
    /// Decodes a storage event (resourceVersion = the event's revision).
    /// Objects go through `converter` when the store has one; the previous state is then
    /// converted at once (a conversion is a call that cannot wait for first use).
    pub async fn decode(
        info: &Arc<ResourceInfo>,
        event: Event,
        converter: Option<&ConverterHandle>,
    ) -> ApiResult<Self> {
        let stored_size = event.value.len() + event.prev_value.as_ref().map_or(0, |p| p.len());
        let source = match event.kind {
            EventKind::Delete => event.prev_value.as_ref().unwrap_or(&event.value),
            _ => &event.value,
        };
        let object = Arc::new(WatchObject::new(
            decode_converted(info, converter, source, event.revision).await?,
        ));
        let (prev_bytes, prev) = match (event.kind, event.prev_value) {
            // For a delete the previous state is the object itself.
            (EventKind::Delete, _) => (None, OnceLock::from(Some(object.clone()))),
            (_, Some(bytes)) if converter.is_some() => {
                let prev = decode_converted(info, converter, &bytes, event.revision).await?;
                (None, OnceLock::from(Some(Arc::new(WatchObject::new(prev)))))
            }
            (_, prev_value) => (prev_value, OnceLock::new()),
        };
        Ok(Self {
            info: info.clone(),
            kind: event.kind,
            revision: event.revision,
            key: Arc::from(event.key),
            object,
            prev_bytes,
            prev,
            stored_size,
            frames: Arc::default(),
        })
    }

    /// The watch event type of the change as it is: ADDED, MODIFIED or DELETED.
    pub fn event_type(&self) -> WatchEventType {
        match self.kind {
            EventKind::Create => WatchEventType::Added,
            EventKind::Update => WatchEventType::Modified,
            EventKind::Delete => WatchEventType::Deleted,
        }
    }

    /// The event as it is ([`event_type`](Self::event_type) and `object`), with
    /// frames shared by every watcher it is sent to.
    pub fn shared(&self) -> WatchEvent {
        WatchEvent::with_frames(self.event_type(), self.object.clone(), self.frames.clone())
    }

    /// The state before the change (with the event's resourceVersion, as upstream sends it in a
    /// DELETED event of an object leaving a selection); decoded on first use.
    pub fn prev(&self) -> Option<&Arc<WatchObject>> {
        self.prev
            .get_or_init(|| {
                let bytes = self.prev_bytes.as_ref()?;
                decode_value(&self.info, bytes, self.revision)
                    .ok()
                    .map(|v| Arc::new(WatchObject::new(v)))
            })
            .as_ref()
    }
}

/// What the broadcast to watchers carries.
#[derive(Debug, Clone)]
pub(crate) enum CacheMessage {
    Event(Arc<CacheEvent>),
    /// The storage watch failed; every watcher ends with this error.
    Failed(ApiError),
}
