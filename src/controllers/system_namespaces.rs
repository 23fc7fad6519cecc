//! The system namespaces: `default`, `kube-system`, `kube-public` and `kube-node-lease` exist after
//! the first start and are re-created if they ever go missing, as upstream's system namespaces
//! controller does.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::api::status::ApiResult;
use crate::registry::options::WriteOptions;
use crate::registry::store::Store;

/// The namespaces every cluster has, in upstream's order.
pub const SYSTEM_NAMESPACES: [&str; 4] =
    ["default", "kube-system", "kube-public", "kube-node-lease"];

/// How often the namespaces are checked after start-up (upstream: every minute).
const RECHECK_INTERVAL: Duration = Duration::from_secs(60);

/// Creates every missing system namespace. Idempotent, and safe with several replicas racing: an
/// `AlreadyExists` answer counts as success.
pub async fn ensure(namespaces: &Store) -> ApiResult<()> {
    for name in SYSTEM_NAMESPACES {
        match namespaces.get(None, name).await {
            Ok(_) => continue,
            Err(err) if err.status.code == 404 => {}
            Err(err) => return Err(err),
        }
        let object = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
        match namespaces
            .create(None, object, &WriteOptions::default())
            .await
        {
            Ok(_) => tracing::info!(namespace = name, "created system namespace"),
            Err(err) if err.status.reason == "AlreadyExists" => {}
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

/// Re-checks the system namespaces every minute until the task is dropped.
pub async fn run(namespaces: Arc<Store>) {
    loop {
        tokio::time::sleep(RECHECK_INTERVAL).await;
        if let Err(err) = ensure(&namespaces).await {
            tracing::warn!(error = %err, "could not ensure the system namespaces");
        }
    }
}
