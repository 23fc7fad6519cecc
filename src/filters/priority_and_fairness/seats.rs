//! The work estimate of a request in seats, after upstream's `request/width.go`,
//! `list_work_estimator.go` and `mutating_work_estimator.go`.
//!
//! * A list occupies one seat per 100 objects it is expected to process, at least 1 and at most
//!   [`MAXIMUM_SEATS`]. The expected count is the stored count of the resource when an
//!   [`ObjectCounts`] source knows it (capped by `limit` when the list is not served from the
//!   cache, as upstream), else `limit` when given; without either it is [`MAXIMUM_SEATS`], as
//!   upstream answers an unknown count.
//! * A `get` by name, a watch and every mutating request occupy 1 seat. Upstream also keeps a
//!   mutating request's seats for a while after it ends when many watchers will receive the
//!   change; that extra latency is not modelled here.

use std::sync::Arc;

use crate::request::info::RequestInfo;

/// Upstream's `minimumSeats`.
pub const MINIMUM_SEATS: u32 = 1;
/// The maximum seats of one request (upstream's `maximumSeats` default for lists).
pub const MAXIMUM_SEATS: u32 = 10;
/// Upstream's `objectsPerSeat`.
const OBJECTS_PER_SEAT: u64 = 100;

/// A cheap source of the number of stored objects of a resource (upstream's storage object
/// count tracker).
pub trait ObjectCounts: Send + Sync + std::fmt::Debug {
    /// The count of stored `resource` objects of `group`, when known.
    fn count(&self, group: &str, resource: &str) -> Option<u64>;
}

/// The seats of the request described by `info` with query string `query`.
pub fn estimate(
    info: &RequestInfo,
    query: Option<&str>,
    counts: Option<&Arc<dyn ObjectCounts>>,
) -> u32 {
    if !info.is_resource_request || info.verb != "list" {
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
    let limit = param("limit")
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|l| *l > 0);
    // A list with an empty resourceVersion reads storage and stops at `limit`; one served from the
    // cache walks every object of the resource before paginating.
    let from_storage = param("resourceVersion").is_none_or(str::is_empty);
    let stored = counts.and_then(|c| c.count(&info.api_group, &info.resource));
    let expected = match (stored, limit) {
        (Some(count), Some(limit)) if from_storage => count.min(limit),
        (Some(count), _) => count,
        (None, Some(limit)) => limit,
        (None, None) => return MAXIMUM_SEATS,
    };
    seats_for(expected)
}

/// One seat per [`OBJECTS_PER_SEAT`] objects, rounded up, within the bounds.
fn seats_for(objects: u64) -> u32 {
    let seats = objects.div_ceil(OBJECTS_PER_SEAT);
    u32::try_from(seats)
        .unwrap_or(MAXIMUM_SEATS)
        .clamp(MINIMUM_SEATS, MAXIMUM_SEATS)
}
