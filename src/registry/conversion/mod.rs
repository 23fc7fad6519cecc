//! Conversion between the version a store serves and the version it stores. A store given a
//! [`VersionConverter`] (in [`StoreConfig`]: a custom resource whose CRD converts with a webhook)
//! converts every object it reads to the version it serves, and every object it writes to the
//! storage version, through it; without one, [`builtin`] converts in-process.
//!
//! [`StoreConfig`]: super::store::StoreConfig

pub mod builtin;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use crate::api::status::ApiResult;

/// Converts objects between the versions of one kind.
#[async_trait]
pub trait VersionConverter: Send + Sync + 'static {
    /// Converts `objects` to `to_api_version`.
    ///
    /// MUST return as many objects as given, in order; MUST return objects already at
    /// `to_api_version` unchanged (without calling anything); a failure is the 500 the client
    /// gets.
    async fn convert(&self, objects: Vec<Value>, to_api_version: &str) -> ApiResult<Vec<Value>>;
}

/// A shared [`VersionConverter`], as a store's configuration holds it.
#[derive(Clone)]
pub struct ConverterHandle(pub Arc<dyn VersionConverter>);

impl fmt::Debug for ConverterHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VersionConverter")
    }
}

impl ConverterHandle {
    /// Converts one object.
    pub async fn convert_one(&self, object: Value, to_api_version: &str) -> ApiResult<Value> {
        let mut converted = self.0.convert(vec![object], to_api_version).await?;
        converted.pop().ok_or_else(|| {
            crate::api::status::ApiError::internal("the converter returned no object")
        })
    }
}
