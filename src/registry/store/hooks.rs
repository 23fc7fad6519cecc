//! Asynchronous, resource-specific work around a store's writes, given to a store when it is built
//! ([`super::StoreConfig`]):
//! * [`WriteHook`]: upstream's generic store `BeginCreate`, `BeginUpdate` and `AfterDelete` hooks
//!   (`pkg/registry/generic/registry/store.go`). Services use them to allocate ClusterIPs and
//!   NodePorts through storage;
//! * [`CreateAdmission`]: the admission plugins that change or refuse new objects of one
//!   resource (pods: ServiceAccount, DefaultTolerationSeconds, Priority).
//!
//! A store without them skips them. One hook comes with each request instead:
//! * [`RequestAdmission`]: the admission of one request (webhooks and admission policies), which
//!   the handler builds from the request's user and options and passes in
//!   [`crate::registry::options::WriteOptions::admission`].

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

/// Admission of creates of one resource. The store runs it after the strategy's
/// `prepare_for_create` and the namespace check, before name generation and validation, as
/// upstream runs mutating admission after decoding and defaulting and before `BeforeCreate`.
#[async_trait]
pub trait CreateAdmission: Send + Sync + 'static {
    /// Changes or refuses `obj`. MUST answer upstream's error (usually 403 Forbidden) when the
    /// object is refused, and leave it unchanged then.
    async fn admit(&self, obj: &mut Value) -> ApiResult<()>;
}

/// The operation admission is asked about (`CREATE`, `UPDATE`, `DELETE`, `CONNECT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AdmissionOperation {
    Create,
    Update,
    Delete,
    Connect,
}

impl AdmissionOperation {
    /// The operation as AdmissionReview and admission rules spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "CREATE",
            Self::Update => "UPDATE",
            Self::Delete => "DELETE",
            Self::Connect => "CONNECT",
        }
    }
}

/// The dynamic admission of one request, run by the store at upstream's points of a write:
/// * `mutate` on a create after the resource's built-in plugins and before the name is generated
///   and the object validated; on an update (PUT, patch, apply, subresources) with the stored
///   object as `old`, after the request's changes are applied and before the update rules and
///   validation;
/// * `validate` after the object passed validation, right before it is written (on a delete:
///   with `obj` `None` and the stored object as `old`, before it is removed or marked).
///
/// A read-modify-write retried after a conflict runs them again on the fresh object.
#[async_trait]
pub trait RequestAdmission: Send + Sync + 'static {
    /// Mutating admission. MAY change `obj`; an error refuses the write and MUST be upstream's
    /// Status for it.
    async fn mutate(
        &self,
        operation: AdmissionOperation,
        obj: &mut Value,
        old: Option<&Value>,
    ) -> ApiResult<()>;

    /// Validating admission. MUST NOT change anything; an error refuses the write.
    async fn validate(
        &self,
        operation: AdmissionOperation,
        obj: Option<&Value>,
        old: Option<&Value>,
    ) -> ApiResult<()>;
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
