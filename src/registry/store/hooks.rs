//! Resource-specific work around a store's writes, given to a store when it is built
//! ([`super::StoreConfig`]):
//! * [`WriteHook`]: upstream's generic store `BeginCreate`, `BeginUpdate` and `AfterDelete` hooks
//!   (`pkg/registry/generic/registry/store.go`). Services use them to allocate ClusterIPs and
//!   NodePorts through storage.
//! * [`DeleteHook`]: told of each delete request before the store tries it, as an admission
//!   plugin sees a DELETE first. The namespaces' lifecycle notes them to look namespaces up live.
//!
//! A store without one skips it. Admission comes with each request instead
//! ([`crate::registry::admission::RequestAdmission`]).

use async_trait::async_trait;
use serde_json::Value;

use crate::api::status::ApiResult;

/// The write hook of one store.
#[async_trait]
pub trait WriteHook: Send + Sync + 'static {
    /// Runs on a validated new object right before it is written. It MAY change the object (fill
    /// allocated values) and MUST NOT reserve anything when `dry_run`. An error fails the create
    /// with it. The returned [`WriteFinish`] is called exactly once with the outcome.
    async fn begin_create(&self, obj: &mut Value, dry_run: bool)
        -> ApiResult<Box<dyn WriteFinish>>;

    /// As [`WriteHook::begin_create`], for an update of the stored `old` to `new` (main resource
    /// and subresources alike).
    async fn begin_update(
        &self,
        old: &Value,
        new: &mut Value,
        dry_run: bool,
    ) -> ApiResult<Box<dyn WriteFinish>>;

    /// Runs after `obj` left storage (not for dry runs).
    async fn after_delete(&self, obj: &Value);
}

/// The delete hook of one store.
pub trait DeleteHook: Send + Sync + 'static {
    /// A delete of `name` (in `namespace`) was requested and the strategy did not refuse it.
    /// Runs before the store reads the object, whatever the delete's outcome; MUST NOT block.
    fn delete_requested(&self, namespace: Option<&str>, name: &str);
}

/// What a begun write does once its outcome is known.
#[async_trait]
pub trait WriteFinish: Send {
    /// `written`: whether the object reached storage. MUST undo what the begin step reserved when
    /// `false`, and complete what it deferred (releases) when `true`.
    async fn finish(self: Box<Self>, written: bool);
}

/// A [`WriteFinish`] with nothing to do.
pub struct NothingToFinish;

#[async_trait]
impl WriteFinish for NothingToFinish {
    async fn finish(self: Box<Self>, _written: bool) {}
}

/// Calls `finish` (when there is one) with the outcome.
pub(super) async fn finish(finish: Option<Box<dyn WriteFinish>>, written: bool) {
    if let Some(finish) = finish {
        finish.finish(written).await;
    }
}
