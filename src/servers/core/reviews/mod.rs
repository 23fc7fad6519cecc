//! The built-in operations that store nothing: a create answers the reviewed object with its
//! `status` filled in, as upstream's `selfsubjectreview`, `*subjectaccessreview` and
//! `selfsubjectrulesreview` REST storages do.
//!
//! `TokenReview` is answered by [`super::token_review`].
//!
//! The access reviews ask the server's [`Authorization`] union (the one the authorization filter
//! uses) and answer `status.allowed` / `denied` / `reason`; `SelfSubjectRulesReview` answers the
//! union's rules for the caller in `spec.namespace`. Without a configured authorization the server
//! allows everything, and the reviews say so (upstream's `AlwaysAllow`).

use serde_json::{json, Value};

use crate::api::status::{ApiError, ApiResult};
use crate::catalog::ResourceInfo;
use crate::request::authorization::Authorization;
use crate::request::user::UserInfo;

mod access;

/// Answers a create of an operation resource; `None` when `info` is not one this module serves.
///
/// `namespace` is the request path's namespace (for `LocalSubjectAccessReview`); `authorization`
/// the server's authorizers (`None`: everything is allowed).
pub fn review(
    info: &ResourceInfo,
    mut object: Value,
    user: Option<&UserInfo>,
    namespace: Option<&str>,
    authorization: Option<&Authorization>,
) -> Option<ApiResult<Value>> {
    let status = match (info.group.as_str(), info.kind.as_str()) {
        ("authentication.k8s.io", "SelfSubjectReview") => match user {
            Some(user) => json!({"userInfo": user}),
            None => return Some(Err(ApiError::internal("no user in the request"))),
        },
        ("authorization.k8s.io", kind) => {
            return access::review(kind, object, user, namespace, authorization)
        }
        _ => return None,
    };
    if let Some(map) = object.as_object_mut() {
        let metadata = map.entry("metadata").or_insert_with(|| json!({}));
        if let Some(metadata) = metadata.as_object_mut() {
            metadata.insert("creationTimestamp".into(), Value::Null);
        }
        map.insert("status".into(), status);
    }
    Some(Ok(object))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog;

    #[test]
    fn self_subject_review_reports_the_caller() {
        let info = catalog::builtin()
            .lookup("authentication.k8s.io", "v1", "selfsubjectreviews")
            .expect("row");
        let user = UserInfo {
            name: "kubernetes-admin".into(),
            uid: String::new(),
            groups: vec!["system:masters".into(), "system:authenticated".into()],
            extra: Default::default(),
        };
        let body = json!({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"});
        let answer = review(info, body, Some(&user), None, None)
            .expect("served")
            .expect("ok");
        assert_eq!(
            answer["status"]["userInfo"],
            json!({"username": "kubernetes-admin", "groups": ["system:masters", "system:authenticated"]})
        );
    }

    #[test]
    fn other_resources_are_not_reviews() {
        let configmaps = catalog::builtin()
            .lookup("", "v1", "configmaps")
            .expect("row");
        assert!(review(configmaps, json!({}), None, None, None).is_none());
    }
}
