//! What several built-in plugins share: upstream's `admission.NewForbidden` and the certificate
//! plugins' `IsAuthorizedForSignerName` (`plugin/pkg/admission/certificates/util.go`).

use serde_json::Value;

use super::Call;
use crate::api::status::{ApiError, GroupResource};
use crate::registry::metadata::meta_str;
use crate::request::authorization::{Attributes as AuthzAttributes, Authorization};
use crate::request::user::UserInfo;

/// Upstream's `admission.NewForbidden`: a 403 on the request's resource, naming the object by
/// its name, else its `generateName`, else `Unknown` (a delete has no object).
pub fn forbidden(call: &Call<'_>, obj: Option<&Value>, why: &str) -> ApiError {
    let resource = &call.attributes.resource;
    let gr = GroupResource::new(resource.group.clone(), resource.resource.clone());
    let name = match obj.map(|o| (meta_str(o, "name"), meta_str(o, "generateName"))) {
        Some((name, _)) if !name.is_empty() => name,
        Some((_, generate)) if !generate.is_empty() => generate,
        _ => "Unknown",
    };
    ApiError::forbidden(&gr, name, why)
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

/// What the plugins' unit tests build their calls from.
#[cfg(test)]
pub(crate) mod testing {
    use std::sync::Arc;

    use serde_json::json;

    use crate::admission::attributes::{
        Attributes, GroupVersionKind, GroupVersionResource, WriteRequest,
    };
    use crate::rbac::test_support::{users, Fixture};
    use crate::registry::admission::AdmissionOperation;
    use crate::request::authorization::Authorization;
    use crate::request::user::UserInfo;

    /// The attributes of a call on `group`/`resource`/`subresource` (kind `kind`) by `user`.
    pub fn attributes(
        operation: AdmissionOperation,
        (group, resource, subresource): (&str, &str, &str),
        kind: &str,
        user: UserInfo,
    ) -> Attributes {
        Attributes {
            operation,
            resource: GroupVersionResource {
                group: group.into(),
                version: "v1".into(),
                resource: resource.into(),
            },
            subresource: subresource.into(),
            kind: GroupVersionKind {
                group: group.into(),
                version: "v1".into(),
                kind: kind.into(),
            },
            namespaced: false,
            namespace: String::new(),
            name: String::new(),
            user,
            dry_run: false,
            options: None,
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
