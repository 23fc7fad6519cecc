//! The built-in operations that store nothing: a create answers the reviewed object with its
//! `status` filled in, as upstream's `selfsubjectreview`, `*subjectaccessreview` and
//! `selfsubjectrulesreview` REST storages do.
//!
//! `TokenReview` is answered by [`super::token_review`].
//!
//! Authorization is not in the filter chain yet, so every authenticated request is allowed: the
//! access reviews answer what the server really does (upstream's `AlwaysAllow` authorizer: allowed,
//! no reason; rules: everything). They change with the authorizer.

use serde_json::{json, Value};

use crate::api::status::{ApiError, ApiResult};
use crate::filters::authn::UserInfo;
use crate::registry::catalog::ResourceInfo;

/// Answers a create of an operation resource; `None` when `info` is not one this module serves.
pub fn review(
    info: &ResourceInfo,
    mut object: Value,
    user: Option<&UserInfo>,
) -> Option<ApiResult<Value>> {
    let status = match (info.group, info.kind) {
        ("authentication.k8s.io", "SelfSubjectReview") => match user {
            Some(user) => json!({"userInfo": user}),
            None => return Some(Err(ApiError::internal("no user in the request"))),
        },
        (
            "authorization.k8s.io",
            "SelfSubjectAccessReview" | "SubjectAccessReview" | "LocalSubjectAccessReview",
        ) => json!({"allowed": true}),
        ("authorization.k8s.io", "SelfSubjectRulesReview") => json!({
            "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
            "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
            "incomplete": false,
        }),
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
    use crate::registry::catalog;

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
        let answer = review(info, body, Some(&user))
            .expect("served")
            .expect("ok");
        assert_eq!(
            answer["status"]["userInfo"],
            json!({"username": "kubernetes-admin", "groups": ["system:masters", "system:authenticated"]})
        );
    }

    #[test]
    fn access_reviews_follow_the_always_allow_authorizer() {
        let info = catalog::builtin()
            .lookup("authorization.k8s.io", "v1", "selfsubjectaccessreviews")
            .expect("row");
        let body = json!({"spec": {"resourceAttributes": {"verb": "get", "resource": "pods"}}});
        let answer = review(info, body, None).expect("served").expect("ok");
        assert_eq!(answer["status"], json!({"allowed": true}));
        let configmaps = catalog::builtin()
            .lookup("", "v1", "configmaps")
            .expect("row");
        assert!(review(configmaps, json!({}), None).is_none());
    }
}
