//! Helpers shared by several plugins: upstream's `admission.NewForbidden`, the certificate
//! plugins' `IsAuthorizedForSignerName` (`plugin/pkg/admission/certificates/util.go`), reading a
//! whole store, and picking the default class among StorageClasses or IngressClasses.

use serde_json::Value;

use crate::admission::attributes::Attributes;
use crate::api::status::{ApiError, ApiResult, GroupResource};
use crate::registry::metadata::meta_str;
use crate::registry::store::Store;
use crate::request::authorization::{Attributes as AuthzAttributes, Authorization};
use crate::request::user::UserInfo;

/// Upstream's `admission.NewForbidden`: 403 on the request's resource, naming the request's
/// object (a create's `generateName` before the name is generated, else `Unknown`).
pub fn forbidden(attributes: &Attributes, obj: Option<&Value>, why: &str) -> ApiError {
    let resource = GroupResource::new(
        attributes.resource.group.clone(),
        attributes.resource.resource.clone(),
    );
    let name = if !attributes.name.is_empty() {
        attributes.name.as_str()
    } else {
        match obj {
            Some(obj) if !meta_str(obj, "name").is_empty() => meta_str(obj, "name"),
            Some(obj) if !meta_str(obj, "generateName").is_empty() => meta_str(obj, "generateName"),
            _ => "Unknown",
        }
    };
    ApiError::forbidden(&resource, name, why)
}

/// Whether `user` may `verb` (`approve`, `sign`, `attest`) on the synthetic resource
/// `certificates.k8s.io` `signers` named `signer_name`, or on `<domain>/*` for its domain part.
pub fn is_authorized_for_signer_name(
    authorization: &Authorization,
    user: &UserInfo,
    verb: &str,
    signer_name: &str,
) -> bool {
    let ask = |name: String| {
        authorization
            .authorize(&AuthzAttributes {
                user: user.clone(),
                verb: verb.to_string(),
                is_resource_request: true,
                api_group: "certificates.k8s.io".into(),
                api_version: "*".into(),
                resource: "signers".into(),
                name,
                ..Default::default()
            })
            .is_allowed()
    };
    if ask(signer_name.to_string()) {
        return true;
    }
    let domain = signer_name.split('/').next().unwrap_or("");
    ask(format!("{domain}/*"))
}

/// Whether `request` addresses `group`/`resource` with `subresource` (empty: the main resource).
pub fn addresses(
    request: &crate::admission::attributes::WriteRequest,
    group: &str,
    resource: &str,
    subresource: &str,
) -> bool {
    request.resource.group == group
        && request.resource.resource == resource
        && request.subresource == subresource
}

/// `spec.signerName` of a CSR or ClusterTrustBundle.
pub fn signer_name(obj: &Value) -> &str {
    obj.pointer("/spec/signerName")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// Every object of `store` in `namespace` (all namespaces for `None`), as a lister sees them.
pub async fn list_all(store: &Store, namespace: Option<&str>) -> ApiResult<Vec<Value>> {
    store.list_listed(namespace).await
}

/// The default class among `classes` (those `is_default` accepts): the newest by
/// `creationTimestamp`, then the first by name, as upstream picks among several.
pub fn newest_default(classes: Vec<Value>, is_default: impl Fn(&Value) -> bool) -> Option<Value> {
    let mut defaults: Vec<Value> = classes.into_iter().filter(|c| is_default(c)).collect();
    defaults.sort_by(|a, b| {
        let created = |c: &Value| meta_str(c, "creationTimestamp").to_string();
        created(b)
            .cmp(&created(a))
            .then_with(|| meta_str(a, "name").cmp(meta_str(b, "name")))
    });
    defaults.into_iter().next()
}

/// Whether the object's annotation `key` is `"true"`.
pub fn annotation_is_true(obj: &Value, key: &str) -> bool {
    obj.pointer("/metadata/annotations")
        .and_then(|a| a.get(key))
        .and_then(Value::as_str)
        == Some("true")
}

#[cfg(test)]
pub(crate) mod testing {
    //! Real stores on the in-memory reference store, and attributes of a call.

    use std::sync::Arc;

    use serde_json::Value;

    use serde_json::json;

    use crate::admission::attributes::{
        Attributes, GroupVersionKind, GroupVersionResource, StoreLookup, WriteRequest,
    };
    use crate::rbac::test_support::{users, Fixture};
    use crate::registry::admission::AdmissionOperation;
    use crate::registry::options::WriteOptions;
    use crate::registry::store::Store;
    use crate::registry::test_support::{builtin_store, memory_storage};
    use crate::request::authorization::Authorization;
    use crate::request::user::UserInfo;

    /// Stores of built-in resources, looked up by resource.
    pub struct Lookup(pub Vec<Arc<Store>>);

    impl StoreLookup for Lookup {
        fn by_resource(&self, group: &str, version: &str, plural: &str) -> Option<Arc<Store>> {
            self.0
                .iter()
                .find(|s| {
                    let info = s.info();
                    info.group == group && info.version == version && info.plural == plural
                })
                .cloned()
        }

        fn by_kind(&self, group: &str, version: &str, kind: &str) -> Option<Arc<Store>> {
            self.0
                .iter()
                .find(|s| {
                    let info = s.info();
                    info.group == group && info.version == version && info.kind == kind
                })
                .cloned()
        }

        fn versions(&self, group: &str, plural: &str) -> Vec<String> {
            self.0
                .iter()
                .filter(|s| s.info().group == group && s.info().plural == plural)
                .map(|s| s.info().version.to_string())
                .collect()
        }
    }

    /// The stores of `resources` (group, version, plural) over one fresh in-memory storage.
    pub fn stores(resources: &[(&str, &str, &str)]) -> Arc<dyn StoreLookup> {
        let storage = memory_storage();
        let stores = resources
            .iter()
            .map(|resource| builtin_store(&storage, *resource))
            .collect();
        Arc::new(Lookup(stores))
    }

    /// Creates `obj` in the store of `group`/`version`/`plural`.
    pub async fn create(
        stores: &Arc<dyn StoreLookup>,
        (group, version, plural): (&str, &str, &str),
        obj: Value,
    ) -> Value {
        let store = stores.by_resource(group, version, plural).expect("store");
        let namespace = obj
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .map(str::to_string);
        store
            .create(namespace.as_deref(), obj, &WriteOptions::default())
            .await
            .expect("create")
    }

    /// The attributes of a call on `group`/`resource` (`subresource`) in `namespace`.
    pub fn attributes(
        operation: AdmissionOperation,
        (group, resource, subresource): (&str, &str, &str),
        namespace: &str,
        name: &str,
    ) -> Attributes {
        Attributes {
            operation,
            resource: GroupVersionResource {
                group: group.into(),
                version: "v1".into(),
                resource: resource.into(),
            },
            subresource: subresource.into(),
            kind: GroupVersionKind::default(),
            namespaced: !namespace.is_empty(),
            namespace: namespace.into(),
            name: name.into(),
            user: UserInfo::default(),
            dry_run: false,
            options: None,
        }
    }

    /// The attributes of a cluster-wide call on `group`/`resource`/`subresource` (kind `kind`)
    /// by `user`.
    pub fn attributes_by(
        operation: AdmissionOperation,
        (group, resource, subresource): (&str, &str, &str),
        kind: &str,
        user: UserInfo,
    ) -> Attributes {
        Attributes {
            kind: GroupVersionKind {
                group: group.into(),
                version: "v1".into(),
                kind: kind.into(),
            },
            user,
            ..attributes(operation, (group, resource, subresource), "", "")
        }
    }

    /// The request of `attributes` (what [`crate::admission::plugins::Plugin::handles`] sees).
    pub fn request(attributes: &Attributes) -> WriteRequest {
        WriteRequest {
            resource: attributes.resource.clone(),
            subresource: attributes.subresource.clone(),
            kind: attributes.kind.clone(),
            namespaced: attributes.namespaced,
            namespace: attributes.namespace.clone(),
            name: attributes.name.clone(),
            user: attributes.user.clone(),
            dry_run: attributes.dry_run,
            options: None,
            view: None,
        }
    }

    /// Real RBAC (over in-memory stores) in which the user `name` may `verb` the `signers`
    /// named `signer_names`, and nothing else.
    pub async fn rbac_granting(
        verb: &str,
        signer_names: &[&str],
        name: &str,
    ) -> Arc<Authorization> {
        let fixture = Fixture::new().await;
        fixture
            .cluster_role(
                "signer",
                json!([{"verbs": [verb], "apiGroups": ["certificates.k8s.io"],
                    "resources": ["signers"], "resourceNames": signer_names}]),
            )
            .await;
        fixture
            .binding(
                None,
                "signer",
                ("ClusterRole", "signer"),
                users("User", name),
            )
            .await;
        let rbac = fixture.started().await;
        // The informers deliver the role and binding after the first lists.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let authorization = Arc::new(Authorization::new(vec![rbac]));
        while authorization
            .rules_for(&someone(name), "")
            .resource_rules
            .is_empty()
        {
            assert!(std::time::Instant::now() < deadline, "RBAC not synced");
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        authorization
    }

    /// A user in no group.
    pub fn someone(name: &str) -> UserInfo {
        UserInfo {
            name: name.into(),
            ..Default::default()
        }
    }
}
