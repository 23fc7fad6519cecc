//! The system PriorityClasses ([`SYSTEM_PRIORITY_CLASSES`]): `system-node-critical` and
//! `system-cluster-critical` exist after start-up, as kube-apiserver's
//! `scheduling/bootstrap-system-priority-classes` post-start hook creates them, so pods naming
//! them pass the Priority admission plugin.

use serde_json::{json, Value};

use crate::api::status::ApiResult;
use crate::registry::options::WriteOptions;
use crate::registry::resources::scheduling::SYSTEM_PRIORITY_CLASSES;
use crate::registry::store::Store;

/// The PriorityClass object of one system class (defaults are the store's).
fn priority_class(name: &str, value: i64, description: &str) -> Value {
    json!({
        "apiVersion": "scheduling.k8s.io/v1",
        "kind": "PriorityClass",
        "metadata": {"name": name},
        "value": value,
        "description": description,
    })
}

/// Creates every missing system PriorityClass in `priority_classes` (the
/// `scheduling.k8s.io/v1` store). Existing ones are left as they are, as upstream's hook does.
/// Idempotent and safe with several replicas racing: `AlreadyExists` counts as success.
pub async fn ensure(priority_classes: &Store) -> ApiResult<()> {
    for (name, value, description) in SYSTEM_PRIORITY_CLASSES {
        match priority_classes.get(None, name).await {
            Ok(_) => continue,
            Err(err) if err.status.code == 404 => {}
            Err(err) => return Err(err),
        }
        let object = priority_class(name, value, description);
        match priority_classes
            .create(None, object, &WriteOptions::default())
            .await
        {
            Ok(_) => tracing::info!(priority_class = name, "created system priority class"),
            Err(err) if err.status.reason == "AlreadyExists" => {}
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_classes_are_upstreams() {
        let [node, cluster] = SYSTEM_PRIORITY_CLASSES;
        assert_eq!((node.0, node.1), ("system-node-critical", 2_000_001_000));
        assert_eq!(
            (cluster.0, cluster.1),
            ("system-cluster-critical", 2_000_000_000)
        );
        let object = priority_class(node.0, node.1, node.2);
        assert_eq!(object["metadata"]["name"], "system-node-critical");
        assert_eq!(object["value"], 2_000_001_000_i64);
    }
}
