//! PLACEHOLDER: replaced by ValidatingAdmissionPolicy.

use std::sync::Arc;

use serde_json::Value;

use super::attributes::{Attributes, Record};
use super::chain::Services;
use crate::api::status::{ApiError, ApiResult};

/// Every policy with its bindings, compiled.
#[derive(Debug, Clone, Default)]
pub struct PolicySet {
    policies: Vec<Arc<Value>>,
}

impl PolicySet {
    /// Compiles `policies` and `bindings`.
    pub fn build(policies: &[Arc<Value>], _bindings: &[Arc<Value>]) -> Self {
        Self {
            policies: policies.to_vec(),
        }
    }

    /// Whether no policy is bound.
    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
    }
}

/// Runs the bound policies.
pub async fn validate(
    _set: &PolicySet,
    _services: &Services,
    _attributes: &Attributes,
    _record: &Record,
    _obj: Option<&Value>,
    _old: Option<&Value>,
) -> ApiResult<()> {
    Err(ApiError::internal("admission policies are not implemented"))
}
