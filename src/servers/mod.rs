//! The delegating servers: aggregator -> core -> apiextensions -> not found.

pub mod core;
pub mod system;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use crate::api::status::ApiError;
use crate::config::Config;

/// What the servers are built from.
#[derive(Clone)]
pub struct ServerContext {
    pub storage: Arc<dyn apiary_storage::Storage>,
    pub config: Arc<Config>,
    /// Set once every API is served; `/readyz` fails until then.
    pub ready: Arc<AtomicBool>,
}

/// The servers, innermost last: today the system endpoints, then 404 for every other path.
/// (Placeholder until the aggregator/core/apiextensions chain is wired in.)
pub async fn build(ctx: ServerContext) -> anyhow::Result<axum::Router> {
    let system = system::router(system::SystemState { ready: ctx.ready.clone(), storage: Some(ctx.storage.clone()) });
    Ok(system.fallback(|| async { ApiError::path_not_found() }))
}
