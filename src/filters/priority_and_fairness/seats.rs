//! The work estimate of a request in seats, after upstream's `request/width.go`,
//! `list_work_estimator.go` (count-based, as 1.33) and `mutating_work_estimator.go`.
//!
//! * A list, and a watch with `sendInitialEvents=true` (upstream's `WatchList`), occupies one seat
//!   per [`OBJECTS_PER_SEAT`] objects it is expected to process, at least [`MINIMUM_SEATS`] and
//!   at most [`MAXIMUM_SEATS`]. With `n` objects stored and `limit` (`n` when unset or larger):
//!   served from the watch cache, `n`; from storage with a label or field selector, `n + limit`;
//!   from storage otherwise, `2 * limit`. A resource without a count (not served here, as an
//!   aggregated API) takes the minimum; a count not known now (upstream's stale count) the
//!   maximum.
//! * Every other request occupies 1 seat. Mutating requests too: upstream 1.33's
//!   `mutatingWorkEstimator` returns 1 initial seat and no extra seats or latency before its
//!   watch fan-out formula (the formula is disabled there until it is tuned).

use std::sync::Arc;

use crate::request::info::RequestInfo;

/// Upstream's `minimumSeats`.
pub const MINIMUM_SEATS: u32 = 1;
/// Upstream's `maximumSeatsLimit` (the most seats one list takes).
pub const MAXIMUM_SEATS: u32 = 10;
/// Upstream's `objectsPerSeat`.
const OBJECTS_PER_SEAT: u64 = 100;

/// What an [`ObjectCounts`] source knows of a resource (upstream's object count tracker
/// answers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectCount {
    /// The number of stored objects.
    Known(u64),
    /// Served here but not counted now (upstream's `ObjectCountStaleErr`).
    Unknown,
    /// Not a resource stored here (upstream's `ObjectCountNotFoundErr`).
    NotServed,
}

/// A cheap source of the number of stored objects of a resource (upstream's storage object
/// count tracker).
pub trait ObjectCounts: Send + Sync + std::fmt::Debug {
    /// The count of stored `resource` objects of `group`.
    fn count(&self, group: &str, resource: &str) -> ObjectCount;
}

/// The seats of the request described by `info` with query string `query`.
pub fn estimate(
    info: &RequestInfo,
    query: Option<&str>,
    counts: Option<&Arc<dyn ObjectCounts>>,
) -> u32 {
    if !info.is_resource_request {
        return MINIMUM_SEATS;
    }
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query.unwrap_or("")).unwrap_or_default();
    let param = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    match info.verb.as_str() {
        "list" => {}
        // Only a watch that starts with a list's contents costs as a list.
        "watch" if param("sendInitialEvents") == Some("true") => {}
        _ => return MINIMUM_SEATS,
    }
    // Upstream returns the maximum for options that fail to decode.
    let limit = match param("limit").map(str::parse::<i64>) {
        None => 0,
        Some(Ok(limit)) => limit,
        Some(Err(_)) => return MAXIMUM_SEATS,
    };
    let from_cache = info.verb == "watch"
        || !from_storage(
            param("resourceVersion").unwrap_or(""),
            param("resourceVersionMatch").unwrap_or(""),
            param("continue").unwrap_or(""),
            limit,
        );
    let stored = match counts.map(|c| c.count(&info.api_group, &info.resource)) {
        Some(ObjectCount::Known(count)) => count,
        Some(ObjectCount::NotServed) => return MINIMUM_SEATS,
        Some(ObjectCount::Unknown) | None => return MAXIMUM_SEATS,
    };
    let limited = match u64::try_from(limit) {
        Ok(limit) if limit > 0 && limit < stored => limit,
        _ => stored,
    };
    let selects = !param("labelSelector").unwrap_or("").is_empty()
        || !param("fieldSelector").unwrap_or("").is_empty();
    let objects = if from_cache {
        stored
    } else if selects {
        stored.saturating_add(limited)
    } else {
        limited.saturating_mul(2)
    };
    seats_for(objects)
}

/// Whether upstream's cacher delegates the list to storage (`delegator.ShouldDelegateList` with
/// consistent reads served from the cache, as Apiary's watch cache serves them, and no
/// snapshots for continuations).
fn from_storage(
    resource_version: &str,
    version_match: &str,
    continue_token: &str,
    limit: i64,
) -> bool {
    match version_match {
        "Exact" => true,
        "NotOlderThan" => false,
        // A legacy exact read, or a continuation.
        "" => {
            (limit > 0 && !resource_version.is_empty() && resource_version != "0")
                || !continue_token.is_empty()
        }
        _ => true,
    }
}

/// One seat per [`OBJECTS_PER_SEAT`] objects, rounded up, within the bounds.
fn seats_for(objects: u64) -> u32 {
    let seats = objects.div_ceil(OBJECTS_PER_SEAT);
    u32::try_from(seats)
        .unwrap_or(MAXIMUM_SEATS)
        .clamp(MINIMUM_SEATS, MAXIMUM_SEATS)
}
