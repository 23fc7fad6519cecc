//! Snapshots of first pages for their continue tokens (upstream's cache snapshots behind
//! `ListFromCacheSnapshot`): a first page from the cache that has more keeps the ordered objects
//! it was cut from, at the page's revision, so the following pages are read from memory with the
//! same answer storage would give at that revision. A small LRU, bounded in count and by the time
//! since last use; a token with no snapshot here (another replica's, or an old one) reads storage.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::state::Entry;

/// What a snapshot was taken for: the list's key prefix, the revision, and the indexed term its
/// objects were read through (`None`: every object under the prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SnapshotKey {
    pub prefix: String,
    pub revision: i64,
    pub term: Option<(String, String)>,
}

struct Held {
    key: SnapshotKey,
    entries: Arc<[Entry]>,
    used: Instant,
}

pub(crate) struct Snapshots {
    capacity: usize,
    ttl: Duration,
    /// Most recently used last.
    held: Mutex<VecDeque<Held>>,
}

impl Snapshots {
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        Self {
            capacity,
            ttl,
            held: Mutex::new(VecDeque::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Held>> {
        self.held
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Keeps `entries` for `key`, dropping the least recently used beyond the capacity.
    pub fn insert(&self, key: SnapshotKey, entries: Arc<[Entry]>) {
        if self.capacity == 0 || self.ttl.is_zero() {
            return;
        }
        let now = Instant::now();
        let mut held = self.lock();
        held.retain(|h| h.key != key && now.duration_since(h.used) < self.ttl);
        held.push_back(Held {
            key,
            entries,
            used: now,
        });
        while held.len() > self.capacity {
            held.pop_front();
        }
    }

    /// The snapshot taken for `key`, if still held; marks it used.
    pub fn get(&self, key: &SnapshotKey) -> Option<Arc<[Entry]>> {
        let now = Instant::now();
        let mut held = self.lock();
        held.retain(|h| now.duration_since(h.used) < self.ttl);
        let at = held.iter().position(|h| &h.key == key)?;
        let mut found = held.remove(at)?;
        found.used = now;
        let entries = found.entries.clone();
        held.push_back(found);
        Some(entries)
    }

    /// How many snapshots are held.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(revision: i64) -> SnapshotKey {
        SnapshotKey {
            prefix: "/registry/pods/".into(),
            revision,
            term: None,
        }
    }

    #[test]
    fn bounded_by_count_and_recent_use() {
        let snapshots = Snapshots::new(2, Duration::from_secs(60));
        let empty: Arc<[Entry]> = Arc::from(Vec::new());
        snapshots.insert(key(1), empty.clone());
        snapshots.insert(key(2), empty.clone());
        assert!(snapshots.get(&key(1)).is_some());
        // 2 is now the least recently used.
        snapshots.insert(key(3), empty.clone());
        assert!(snapshots.get(&key(2)).is_none());
        assert!(snapshots.get(&key(1)).is_some());
        assert!(snapshots.get(&key(3)).is_some());
        let other = SnapshotKey {
            term: Some(("spec.nodeName".into(), "n1".into())),
            ..key(3)
        };
        assert!(snapshots.get(&other).is_none());
        assert_eq!(snapshots.len(), 2);

        let short = Snapshots::new(4, Duration::from_millis(1));
        short.insert(key(1), empty);
        std::thread::sleep(Duration::from_millis(5));
        assert!(short.get(&key(1)).is_none());
    }
}
