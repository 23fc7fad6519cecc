//! The RBAC stores and users the RBAC tests (here and in the servers) share.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use super::{RbacAuthorizer, RBAC_GROUP};
use crate::catalog::{self, ResourceInfo};
use crate::registry::options::WriteOptions;
use crate::registry::resources::builtin_store;
use crate::registry::store::{Store, StoreConfig};
use crate::request::user::UserInfo;

/// The four RBAC stores over a fresh storage.
pub(crate) struct Fixture {
    pub roles: Arc<Store>,
    pub role_bindings: Arc<Store>,
    pub cluster_roles: Arc<Store>,
    pub cluster_role_bindings: Arc<Store>,
}

/// The catalogue row of the RBAC resource `plural`.
pub(crate) fn info(plural: &str) -> &'static Arc<ResourceInfo> {
    catalog::builtin()
        .lookup(RBAC_GROUP, "v1", plural)
        .expect("an RBAC resource")
}

impl Fixture {
    pub(crate) async fn new() -> Self {
        let storage = crate::registry::test_support::memory_storage();
        let store = |plural: &str| {
            let info = info(plural);
            Arc::new(builtin_store(info, storage.clone(), StoreConfig::default()))
        };
        Self {
            roles: store("roles"),
            role_bindings: store("rolebindings"),
            cluster_roles: store("clusterroles"),
            cluster_role_bindings: store("clusterrolebindings"),
        }
    }

    pub(crate) async fn started(&self) -> Arc<RbacAuthorizer> {
        let rbac = Arc::new(RbacAuthorizer::new());
        assert!(!rbac.is_synced());
        rbac.start_with(
            self.roles.clone(),
            self.role_bindings.clone(),
            self.cluster_roles.clone(),
            self.cluster_role_bindings.clone(),
        );
        tokio::time::timeout(Duration::from_secs(10), rbac.wait_synced())
            .await
            .expect("synced within 10s");
        rbac
    }

    pub(crate) async fn role(&self, ns: &str, name: &str, rules: Value) {
        let obj = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": name, "namespace": ns}, "rules": rules});
        self.roles
            .create(Some(ns), obj, &WriteOptions::default())
            .await
            .expect("role");
    }

    pub(crate) async fn cluster_role(&self, name: &str, rules: Value) {
        let obj = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": name}, "rules": rules});
        self.cluster_roles
            .create(None, obj, &WriteOptions::default())
            .await
            .expect("clusterrole");
    }

    pub(crate) async fn binding(
        &self,
        ns: Option<&str>,
        name: &str,
        role: (&str, &str),
        subjects: Value,
    ) {
        let (kind, store) = match ns {
            Some(_) => ("RoleBinding", &self.role_bindings),
            None => ("ClusterRoleBinding", &self.cluster_role_bindings),
        };
        let mut metadata = json!({"name": name});
        if let Some(ns) = ns {
            metadata["namespace"] = json!(ns);
        }
        let obj = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind,
            "metadata": metadata, "subjects": subjects,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role.0, "name": role.1}});
        store
            .create(ns, obj, &WriteOptions::default())
            .await
            .expect("binding");
    }
}

/// A user in `groups`.
pub(crate) fn user(name: &str, groups: &[&str]) -> UserInfo {
    UserInfo {
        name: name.into(),
        groups: groups.iter().map(|g| g.to_string()).collect(),
        ..Default::default()
    }
}

/// Subjects naming one `kind` (`User`, `Group`) `name`.
pub(crate) fn users(kind: &str, name: &str) -> Value {
    json!([{"kind": kind, "apiGroup": "rbac.authorization.k8s.io", "name": name}])
}
