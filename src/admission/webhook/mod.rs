//! PLACEHOLDER: replaced by the webhook dispatcher.

use std::sync::Arc;

use serde_json::Value;

use super::attributes::{Attributes, Record};
use super::chain::Services;
use crate::api::status::{ApiError, ApiResult};

/// One webhook of a configuration, compiled.
#[derive(Debug)]
pub struct Webhook {
    pub name: String,
}

/// The webhooks of one configuration object, compiled, in its order.
pub fn compile_configuration(_config: &Value, _mutating: bool) -> Vec<Arc<Webhook>> {
    Vec::new()
}

/// Runs the mutating webhooks.
pub async fn mutate(
    _hooks: &[Arc<Webhook>],
    _services: &Services,
    _attributes: &Attributes,
    _record: &Record,
    _obj: &mut Value,
    _old: Option<&Value>,
) -> ApiResult<()> {
    Err(ApiError::internal("admission webhooks are not implemented"))
}

/// Runs the validating webhooks.
pub async fn validate(
    _hooks: &[Arc<Webhook>],
    _services: &Services,
    _attributes: &Attributes,
    _record: &Record,
    _obj: Option<&Value>,
    _old: Option<&Value>,
) -> ApiResult<()> {
    Err(ApiError::internal("admission webhooks are not implemented"))
}
