use super::*;
use crate::request::authorization::{
    AlwaysDeny, Authorized, Authorizer, NonResourceRule, ResourceRule, RulesInfo,
};

/// Allows `alice` to `get` anything in namespace `dev` and `/healthz`; names its reason.
struct Fixed;

impl Authorizer for Fixed {
    fn name(&self) -> &'static str {
        "Fixed"
    }
    fn authorize(&self, attrs: &Attributes) -> Authorized {
        let resource_ok = attrs.is_resource_request && attrs.namespace == "dev";
        let path_ok = !attrs.is_resource_request && attrs.path == "/healthz";
        if attrs.user.name == "alice" && attrs.verb == "get" && (resource_ok || path_ok) {
            Authorized::allow(format!("allowed {}", attrs.api_version))
        } else {
            Authorized::no_opinion("")
        }
    }
    fn rules_for(&self, user: &UserInfo, namespace: &str) -> RulesInfo {
        if user.name != "alice" || namespace != "dev" {
            return RulesInfo {
                evaluation_error: "nothing here".into(),
                ..Default::default()
            };
        }
        RulesInfo {
            resource_rules: vec![ResourceRule {
                verbs: vec!["get".into()],
                api_groups: vec!["*".into()],
                resources: vec!["*".into()],
                resource_names: Vec::new(),
            }],
            non_resource_rules: vec![NonResourceRule {
                verbs: vec!["get".into()],
                non_resource_urls: vec!["/healthz".into()],
            }],
            ..Default::default()
        }
    }
}

fn fixed() -> Authorization {
    Authorization::new(vec![Arc::new(Fixed)])
}

fn alice() -> UserInfo {
    UserInfo {
        name: "alice".into(),
        groups: vec!["system:authenticated".into()],
        ..Default::default()
    }
}

fn message(result: Option<ApiResult<Value>>) -> (u16, String) {
    let err = result.expect("served").expect_err("rejected");
    (err.status.code, err.status.message)
}

#[test]
fn self_subject_access_reviews() {
    let authz = fixed();
    let body = json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
        "metadata": {"creationTimestamp": null},
        "spec": {"resourceAttributes": {"namespace": "dev", "verb": "get", "resource": "pods"}}});
    let answer = review(
        "SelfSubjectAccessReview",
        body,
        Some(&alice()),
        None,
        Some(&authz),
    )
    .expect("served")
    .expect("ok");
    assert_eq!(
        answer["status"],
        json!({"allowed": true, "reason": "allowed *"})
    );
    assert_eq!(answer["spec"]["resourceAttributes"]["resource"], "pods");

    let body = json!({"spec": {"resourceAttributes": {"namespace": "prod", "verb": "get", "resource": "pods"}}});
    let answer = review(
        "SelfSubjectAccessReview",
        body,
        Some(&alice()),
        None,
        Some(&authz),
    )
    .expect("served")
    .expect("ok");
    assert_eq!(answer["status"], json!({"allowed": false}));

    let body = json!({"spec": {"nonResourceAttributes": {"path": "/healthz", "verb": "get"}}});
    let answer = review(
        "SelfSubjectAccessReview",
        body,
        Some(&alice()),
        None,
        Some(&authz),
    )
    .expect("served")
    .expect("ok");
    assert_eq!(answer["status"]["allowed"], true);

    // A Deny answers denied.
    let deny = Authorization::new(vec![Arc::new(AlwaysDeny)]);
    let body = json!({"spec": {"nonResourceAttributes": {"path": "/healthz", "verb": "get"}}});
    let answer = review(
        "SelfSubjectAccessReview",
        body,
        Some(&alice()),
        None,
        Some(&deny),
    )
    .expect("served")
    .expect("ok");
    assert_eq!(
        answer["status"],
        json!({"allowed": false, "denied": true, "reason": "Everything is forbidden."})
    );

    // Without authorization configured, everything is allowed.
    let body = json!({"spec": {"resourceAttributes": {"verb": "delete", "resource": "nodes"}}});
    let answer = review("SelfSubjectAccessReview", body, Some(&alice()), None, None)
        .expect("served")
        .expect("ok");
    assert_eq!(answer["status"], json!({"allowed": true}));
}

#[test]
fn validation_errors() {
    let authz = fixed();
    assert_eq!(
        message(review("SelfSubjectAccessReview", json!({"spec": {}}), Some(&alice()), None, Some(&authz))),
        (
            422,
            r#".authorization.k8s.io "" is invalid: spec.resourceAttributes: Invalid value: null: exactly one of nonResourceAttributes or resourceAttributes must be specified"#
                .to_string()
        )
    );
    let both = json!({"spec": {"resourceAttributes": {"verb": "get"}, "nonResourceAttributes": {"path": "/x", "verb": "get"}}});
    assert_eq!(
        message(review("SelfSubjectAccessReview", both, Some(&alice()), None, Some(&authz))),
        (
            422,
            r#".authorization.k8s.io "" is invalid: spec.nonResourceAttributes: Invalid value: authorization.NonResourceAttributes{Path:"/x", Verb:"get"}: cannot be specified in combination with resourceAttributes"#
                .to_string()
        )
    );
    assert_eq!(
        message(review("SubjectAccessReview", json!({"spec": {}}), None, None, Some(&authz))),
        (
            422,
            r#".authorization.k8s.io "" is invalid: [spec.resourceAttributes: Invalid value: null: exactly one of nonResourceAttributes or resourceAttributes must be specified, spec.user: Invalid value: "": at least one of user or group must be specified]"#
                .to_string()
        )
    );
    let named = json!({"metadata": {"name": "x"}, "spec": {"user": "a", "resourceAttributes": {"verb": "get"}}});
    let (code, msg) = message(review(
        "SubjectAccessReview",
        named,
        None,
        None,
        Some(&authz),
    ));
    assert_eq!(code, 422);
    assert!(
        msg.contains("metadata: Invalid value: ") && msg.ends_with(": must be empty"),
        "{msg}"
    );
}

#[test]
fn subject_access_reviews_use_the_spec_user() {
    let authz = fixed();
    let body = json!({"spec": {"user": "alice", "resourceAttributes": {"namespace": "dev", "verb": "get", "resource": "pods", "version": "v1"}}});
    let answer = review("SubjectAccessReview", body, None, None, Some(&authz))
        .expect("served")
        .expect("ok");
    assert_eq!(
        answer["status"],
        json!({"allowed": true, "reason": "allowed v1"})
    );
    let body = json!({"spec": {"groups": ["devs"], "resourceAttributes": {"namespace": "dev", "verb": "get", "resource": "pods"}}});
    let answer = review(
        "SubjectAccessReview",
        body,
        Some(&alice()),
        None,
        Some(&authz),
    )
    .expect("served")
    .expect("ok");
    assert_eq!(answer["status"], json!({"allowed": false}));
}

#[test]
fn local_subject_access_reviews() {
    let authz = fixed();
    let body = json!({"spec": {"user": "alice", "resourceAttributes": {"namespace": "dev", "verb": "get", "resource": "pods"}}});
    let answer = review(
        "LocalSubjectAccessReview",
        body,
        None,
        Some("dev"),
        Some(&authz),
    )
    .expect("served")
    .expect("ok");
    assert_eq!(answer["metadata"]["namespace"], "dev");
    assert_eq!(answer["status"]["allowed"], true);

    let body = json!({"metadata": {"namespace": "other"}, "spec": {"user": "alice", "resourceAttributes": {"namespace": "dev", "verb": "get"}}});
    assert_eq!(
        message(review(
            "LocalSubjectAccessReview",
            body,
            None,
            Some("dev"),
            Some(&authz)
        )),
        (
            400,
            "the namespace of the provided object does not match the namespace sent on the request"
                .to_string()
        )
    );
    let body = json!({"spec": {"user": "alice", "resourceAttributes": {"namespace": "prod", "verb": "get"}}});
    assert_eq!(
        message(review("LocalSubjectAccessReview", body, None, Some("dev"), Some(&authz))),
        (
            422,
            r#".authorization.k8s.io "" is invalid: spec.resourceAttributes.namespace: Invalid value: "prod": must match metadata.namespace"#
                .to_string()
        )
    );
    let body = json!({"spec": {"user": "alice", "nonResourceAttributes": {"path": "/healthz", "verb": "get"}}});
    let (code, msg) = message(review(
        "LocalSubjectAccessReview",
        body,
        None,
        Some("dev"),
        Some(&authz),
    ));
    assert_eq!(code, 422);
    assert!(msg.ends_with("disallowed on this kind of request"), "{msg}");
}

#[test]
fn self_subject_rules_reviews() {
    let authz = fixed();
    let body = json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectRulesReview", "spec": {"namespace": "dev"}});
    let answer = review(
        "SelfSubjectRulesReview",
        body,
        Some(&alice()),
        None,
        Some(&authz),
    )
    .expect("served")
    .expect("ok");
    assert_eq!(
        answer,
        json!({
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectRulesReview",
            "metadata": {"creationTimestamp": null},
            "spec": {},
            "status": {
                "resourceRules": [{"verbs": ["get"], "apiGroups": ["*"], "resources": ["*"]}],
                "nonResourceRules": [{"verbs": ["get"], "nonResourceURLs": ["/healthz"]}],
                "incomplete": false,
            }
        })
    );
    let body = json!({"spec": {"namespace": "prod"}});
    let answer = review(
        "SelfSubjectRulesReview",
        body,
        Some(&alice()),
        None,
        Some(&authz),
    )
    .expect("served")
    .expect("ok");
    assert_eq!(
        answer["status"],
        json!({"resourceRules": [], "nonResourceRules": [], "incomplete": false, "evaluationError": "nothing here"})
    );
    assert_eq!(
        message(review(
            "SelfSubjectRulesReview",
            json!({"spec": {}}),
            Some(&alice()),
            None,
            Some(&authz)
        )),
        (400, "no namespace on request".to_string())
    );
}
