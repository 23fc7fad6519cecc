//! The admission of one request as the store sees it: the hook the handler builds from the
//! request's user and options (webhooks and admission policies) and passes in
//! `WriteOptions::admission` (`registry::options`).

use async_trait::async_trait;
use serde_json::Value;

use crate::api::status::ApiResult;

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
