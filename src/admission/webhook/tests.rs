use std::sync::Arc;

use base64::Engine;
use serde_json::{json, Value};

use super::dispatch::{apply_patch, Failure, Reinvocation};
use super::matching::{self, rule_matches, Invocation};
use super::review::{self, Response};
use super::{compile_configuration, mutate, validate, Rule, Webhook};
use crate::admission::attributes::{
    Attributes, GroupVersionKind, GroupVersionResource, Record, StoreLookup,
};
use crate::admission::chain::Services;
use crate::admission::metrics::AdmissionMetrics;
use crate::outbound::tls::ProxyIdentity;
use crate::outbound::webhook::WebhookClient;
use crate::registry::admission::AdmissionOperation;
use crate::registry::options::WriteOptions;
use crate::registry::store::Store;
use crate::registry::test_support::{builtin_store, memory_storage};
use crate::request::user::UserInfo;

struct NoStores;

impl StoreLookup for NoStores {
    fn by_resource(&self, _: &str, _: &str, _: &str) -> Option<Arc<Store>> {
        None
    }
    fn by_kind(&self, _: &str, _: &str, _: &str) -> Option<Arc<Store>> {
        None
    }
    fn versions(&self, _: &str, _: &str) -> Vec<String> {
        Vec::new()
    }
}

fn services() -> Services {
    let storage = memory_storage();
    let key = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let identity =
        ProxyIdentity::from_pem(&key.cert.pem(), &key.signing_key.serialize_pem()).unwrap();
    let webhooks = WebhookClient {
        services: builtin_store(&storage, ("", "v1", "services")),
        endpoints: builtin_store(&storage, ("", "v1", "endpoints")),
        endpoint_slices: builtin_store(&storage, ("discovery.k8s.io", "v1", "endpointslices")),
        identity: Arc::new(identity),
        credentials: Default::default(),
        pool: Default::default(),
    };
    Services {
        mutating_webhooks: webhooks.clone(),
        webhooks,
        namespaces: builtin_store(&storage, ("", "v1", "namespaces")),
        stores: Arc::new(NoStores),
        metrics: AdmissionMetrics::unregistered(),
    }
}

fn attributes(operation: AdmissionOperation, resource: &str, namespace: &str) -> Attributes {
    let (group, version, kind) = match resource {
        "namespaces" => ("", "v1", "Namespace"),
        "nodes" => ("", "v1", "Node"),
        "deployments" => ("apps", "v1", "Deployment"),
        _ => ("", "v1", "ConfigMap"),
    };
    Attributes {
        operation,
        resource: GroupVersionResource {
            group: group.into(),
            version: version.into(),
            resource: resource.into(),
        },
        subresource: String::new(),
        kind: GroupVersionKind {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
        },
        namespaced: !namespace.is_empty(),
        namespace: namespace.into(),
        name: "obj".into(),
        user: UserInfo {
            name: "alice".into(),
            uid: "u-1".into(),
            groups: vec!["devs".into()],
            extra: [("scopes".to_string(), vec!["a".to_string()])].into(),
        },
        dry_run: false,
        options: Some(json!({"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"})),
    }
}

fn hook(spec: Value, mutating: bool) -> Arc<Webhook> {
    let mut spec = spec;
    let defaults = json!({
        "name": "hook.example.com",
        "clientConfig": {"url": "https://127.0.0.1:1/hook"},
        "rules": [{"operations": ["*"], "apiGroups": ["*"], "apiVersions": ["*"], "resources": ["*"]}],
        "sideEffects": "None",
        "admissionReviewVersions": ["v1"],
    });
    for (key, value) in defaults.as_object().unwrap() {
        spec.as_object_mut()
            .unwrap()
            .entry(key.clone())
            .or_insert(value.clone());
    }
    let config = json!({"metadata": {"name": "config"}, "webhooks": [spec]});
    compile_configuration(&config, mutating).remove(0)
}

fn rule(operations: &[&str], resources: &[&str], scope: &str) -> Rule {
    let owned = |items: &[&str]| items.iter().map(|s| s.to_string()).collect();
    Rule {
        operations: owned(operations),
        api_groups: owned(&["", "apps"]),
        api_versions: owned(&["v1"]),
        resources: owned(resources),
        scope: scope.into(),
    }
}

fn gvr(group: &str, resource: &str) -> GroupVersionResource {
    GroupVersionResource {
        group: group.into(),
        version: "v1".into(),
        resource: resource.into(),
    }
}

#[test]
fn rules_match_operations_resources_subresources_and_scope() {
    use AdmissionOperation::*;
    let pods = gvr("", "pods");
    let any = rule(&["*"], &["pods"], "*");
    assert!(rule_matches(&any, Delete, &pods, "", "ns"));
    let create = rule(&["CREATE"], &["pods"], "*");
    assert!(rule_matches(&create, Create, &pods, "", "ns"));
    assert!(!rule_matches(&create, Update, &pods, "", "ns"));
    assert!(!rule_matches(
        &create,
        Create,
        &gvr("batch", "pods"),
        "",
        "ns"
    ));
    // Resources and subresources.
    let main = rule(&["*"], &["*"], "*");
    assert!(rule_matches(&main, Create, &pods, "", "ns"));
    assert!(!rule_matches(&main, Create, &pods, "status", "ns"));
    let status = rule(&["*"], &["pods/status"], "*");
    assert!(rule_matches(&status, Update, &pods, "status", "ns"));
    assert!(!rule_matches(&status, Update, &pods, "", "ns"));
    let any_status = rule(&["*"], &["*/status"], "*");
    assert!(rule_matches(
        &any_status,
        Update,
        &gvr("apps", "deployments"),
        "status",
        "ns"
    ));
    assert!(!rule_matches(&any_status, Update, &pods, "binding", "ns"));
    let pod_subs = rule(&["*"], &["pods/*"], "*");
    assert!(rule_matches(&pod_subs, Create, &pods, "binding", "ns"));
    assert!(rule_matches(&pod_subs, Create, &pods, "", "ns"));
    assert!(rule_matches(
        &rule(&["*"], &["*/*"], "*"),
        Create,
        &pods,
        "eviction",
        "ns"
    ));
    // Scope: a Namespace is cluster-scoped whatever namespace its request names.
    let namespaced = rule(&["*"], &["*"], "Namespaced");
    let cluster = rule(&["*"], &["*"], "Cluster");
    let namespaces = gvr("", "namespaces");
    assert!(rule_matches(&namespaced, Create, &pods, "", "ns"));
    assert!(!rule_matches(&cluster, Create, &pods, "", "ns"));
    assert!(rule_matches(&cluster, Create, &gvr("", "nodes"), "", ""));
    assert!(!rule_matches(&namespaced, Create, &namespaces, "", "ns"));
    assert!(rule_matches(&cluster, Create, &namespaces, "", "ns"));
}

#[tokio::test]
async fn namespace_selector_reads_the_namespace_or_the_namespace_itself() {
    let services = services();
    let options = WriteOptions::default();
    let labelled = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "prod", "labels": {"env": "prod"}}});
    services
        .namespaces
        .create(None, labelled, &options)
        .await
        .unwrap();
    services
        .namespaces
        .create(
            None,
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "dev"}}),
            &options,
        )
        .await
        .unwrap();
    let hook = hook(
        json!({"namespaceSelector": {"matchLabels": {"env": "prod"}}}),
        false,
    );
    let obj = json!({"metadata": {"name": "obj"}});
    let check = |attributes: Attributes, obj: Option<Value>, old: Option<Value>| {
        let services = &services;
        let hook = hook.clone();
        async move {
            matching::namespace_matches(&hook, services, &attributes, obj.as_ref(), old.as_ref())
                .await
        }
    };
    use AdmissionOperation::*;
    assert!(check(
        attributes(Create, "configmaps", "prod"),
        Some(obj.clone()),
        None
    )
    .await
    .unwrap());
    assert!(!check(
        attributes(Create, "configmaps", "dev"),
        Some(obj.clone()),
        None
    )
    .await
    .unwrap());
    let missing = check(
        attributes(Create, "configmaps", "gone"),
        Some(obj.clone()),
        None,
    )
    .await
    .unwrap_err();
    assert_eq!(missing.status.code, 404);
    // Cluster-scoped objects always match.
    assert!(
        check(attributes(Create, "nodes", ""), Some(obj.clone()), None)
            .await
            .unwrap()
    );
    // A Namespace matches on its own labels: the new object's, the old one's on delete.
    let ns = |labels: Value| json!({"metadata": {"name": "new", "labels": labels}});
    let create = attributes(Create, "namespaces", "");
    assert!(
        check(create.clone(), Some(ns(json!({"env": "prod"}))), None)
            .await
            .unwrap()
    );
    assert!(!check(create, Some(ns(json!({}))), None).await.unwrap());
    let mut delete = attributes(Delete, "namespaces", "");
    delete.name = "new".into();
    assert!(
        check(delete.clone(), None, Some(ns(json!({"env": "prod"}))))
            .await
            .unwrap()
    );
    delete.name = "prod".into();
    assert!(check(delete, None, None).await.unwrap());
}

#[test]
fn object_selector_matches_new_or_old_object() {
    let hook = hook(
        json!({"objectSelector": {"matchLabels": {"app": "web"}}}),
        false,
    );
    let web = json!({"metadata": {"labels": {"app": "web"}}});
    let db = json!({"metadata": {"labels": {"app": "db"}}});
    assert!(matching::object_matches(&hook, Some(&web), None).unwrap());
    assert!(matching::object_matches(&hook, Some(&db), Some(&web)).unwrap());
    assert!(matching::object_matches(&hook, None, Some(&web)).unwrap());
    assert!(!matching::object_matches(&hook, Some(&db), None).unwrap());
    assert!(!matching::object_matches(&hook, None, None).unwrap());
    let all = self::hook(json!({}), false);
    assert!(matching::object_matches(&all, None, None).unwrap());
}

#[test]
fn match_conditions_skip_or_refuse_by_failure_policy() {
    let attributes = attributes(AdmissionOperation::Create, "configmaps", "ns");
    let request = json!({"operation": "CREATE"});
    let obj = json!({"metadata": {"name": "obj"}});
    let conditions = |failure: &str| {
        hook(
            json!({"failurePolicy": failure, "matchConditions": [
                {"name": "create", "expression": "request.operation == 'CREATE'"},
                {"name": "broken", "expression": "object.spec.x == 1"},
            ]}),
            false,
        )
    };
    let err =
        matching::conditions_match(&conditions("Fail"), &attributes, Some(&obj), None, &request)
            .unwrap_err();
    assert_eq!(err.status.code, 403);
    assert_eq!(
        err.status.message,
        "configmaps \"obj\" is forbidden: expression 'object.spec.x == 1' resulted in error: no such key: spec"
    );
    assert!(!matching::conditions_match(
        &conditions("Ignore"),
        &attributes,
        Some(&obj),
        None,
        &request
    )
    .unwrap());
    let false_first = hook(
        json!({"matchConditions": [
            {"name": "never", "expression": "request.operation == 'DELETE'"},
            {"name": "broken", "expression": "object.spec.x == 1"},
        ]}),
        false,
    );
    assert!(
        !matching::conditions_match(&false_first, &attributes, Some(&obj), None, &request).unwrap()
    );
    let holds = hook(
        json!({"matchConditions": [{"name": "old", "expression": "oldObject == null && authorizer == null"}]}),
        false,
    );
    assert!(matching::conditions_match(&holds, &attributes, Some(&obj), None, &request).unwrap());
}

fn invocation(attributes: &Attributes) -> Invocation {
    Invocation {
        resource: attributes.resource.clone(),
        kind: attributes.kind.clone(),
        conversion: None,
    }
}

#[test]
fn admission_requests_carry_upstream_fields() {
    let mut attributes = attributes(AdmissionOperation::Update, "deployments", "ns");
    attributes.subresource = "scale".into();
    attributes.dry_run = true;
    let mut invocation = invocation(&attributes);
    invocation.resource.version = "v1beta1".into();
    let obj = json!({"spec": {"replicas": 2}});
    let request = review::admission_request("uid-1", &attributes, &invocation, Some(&obj), None);
    assert_eq!(
        request,
        json!({
            "uid": "uid-1",
            "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
            "resource": {"group": "apps", "version": "v1beta1", "resource": "deployments"},
            "subResource": "scale",
            "requestKind": {"group": "apps", "version": "v1", "kind": "Deployment"},
            "requestResource": {"group": "apps", "version": "v1", "resource": "deployments"},
            "requestSubResource": "scale",
            "name": "obj",
            "namespace": "ns",
            "operation": "UPDATE",
            "userInfo": {"username": "alice", "uid": "u-1", "groups": ["devs"], "extra": {"scopes": ["a"]}},
            "object": {"spec": {"replicas": 2}},
            "oldObject": null,
            "dryRun": true,
            "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"},
        })
    );
    let v1beta1 = review::review("v1beta1", request.clone());
    assert_eq!(v1beta1["apiVersion"], "admission.k8s.io/v1beta1");
    assert_eq!(v1beta1["kind"], "AdmissionReview");
    assert_eq!(
        review::review("v1", request)["apiVersion"],
        "admission.k8s.io/v1"
    );
    let versions = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        review::review_version(&versions(&["v2", "v1beta1", "v1"])),
        Ok("v1beta1")
    );
    assert_eq!(
        review::review_version(&versions(&["v2"])).unwrap_err(),
        "webhook does not accept known AdmissionReview versions (v1, v1beta1)"
    );
}

fn answer(version: &str, response: Value) -> Value {
    json!({"apiVersion": format!("admission.k8s.io/{version}"), "kind": "AdmissionReview", "response": response})
}

#[test]
fn responses_are_checked_as_upstream() {
    let ok = review::verify(
        "u",
        "v1",
        false,
        &answer(
            "v1",
            json!({"uid": "u", "allowed": true, "warnings": ["w"]}),
        ),
    )
    .unwrap();
    assert!(ok.allowed);
    assert_eq!(ok.warnings, vec!["w".to_string()]);
    let err = review::verify(
        "u",
        "v1",
        false,
        &answer("v1", json!({"uid": "x", "allowed": true})),
    )
    .unwrap_err();
    assert_eq!(err, "expected response.uid=\"u\", got \"x\"");
    let err = review::verify(
        "u",
        "v1",
        false,
        &json!({"apiVersion": "v1", "kind": "Status", "response": {"uid": "u"}}),
    )
    .unwrap_err();
    assert_eq!(err, "expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got /v1, Kind=Status");
    assert_eq!(
        review::verify("u", "v1", false, &json!({})).unwrap_err(),
        "webhook response was absent"
    );
    let patch =
        base64::engine::general_purpose::STANDARD.encode(r#"[{"op":"add","path":"/a","value":1}]"#);
    let err = review::verify(
        "u",
        "v1",
        false,
        &answer(
            "v1",
            json!({"uid": "u", "allowed": true, "patch": patch, "patchType": "JSONPatch"}),
        ),
    )
    .unwrap_err();
    assert_eq!(err, "validating webhook may not return response.patch");
    let err = review::verify(
        "u",
        "v1",
        true,
        &answer("v1", json!({"uid": "u", "allowed": true, "patch": patch})),
    )
    .unwrap_err();
    assert_eq!(
        err,
        "webhook returned response.patch but not response.patchType"
    );
    // v1beta1 checks neither the uid nor the patch type.
    let beta = review::verify(
        "u",
        "v1beta1",
        true,
        &answer(
            "v1beta1",
            json!({"uid": "other", "allowed": true, "patch": patch}),
        ),
    )
    .unwrap();
    assert_eq!(beta.patch.unwrap().1, "JSONPatch");
}

#[test]
fn denials_read_as_upstream() {
    let denied = review::denial(
        "hook.example.com",
        Some(&json!({"message": "no way", "code": 403, "reason": "Forbidden"})),
    );
    assert_eq!(
        denied.status.message,
        "admission webhook \"hook.example.com\" denied the request: no way"
    );
    assert_eq!(
        (denied.status.code, denied.status.reason.as_str()),
        (403, "Forbidden")
    );
    let by_reason = review::denial("h", Some(&json!({"reason": "Because"})));
    assert_eq!(
        by_reason.status.message,
        "admission webhook \"h\" denied the request: Because"
    );
    assert_eq!(by_reason.status.code, 400);
    let bare = review::denial("h", None);
    assert_eq!(
        bare.status.message,
        "admission webhook \"h\" denied the request without explanation"
    );
    assert_eq!(
        review::denial("h", Some(&json!({"code": 200}))).status.code,
        400
    );
}

#[test]
fn patches_apply_to_the_object() {
    let hook = hook(json!({}), true);
    let patch = |ops: &str| Response {
        allowed: true,
        patch: Some((ops.as_bytes().to_vec(), "JSONPatch".to_string())),
        ..Default::default()
    };
    let obj = json!({"metadata": {"name": "a"}});
    let patched = apply_patch(
        &hook,
        &patch(r#"[{"op":"add","path":"/metadata/labels","value":{"x":"y"}}]"#),
        Some(&obj),
    )
    .unwrap()
    .unwrap();
    assert!(patched.changed);
    assert_eq!(
        patched.object,
        json!({"metadata": {"name": "a", "labels": {"x": "y"}}})
    );
    let same = apply_patch(
        &hook,
        &patch(r#"[{"op":"replace","path":"/metadata/name","value":"a"}]"#),
        Some(&obj),
    )
    .unwrap()
    .unwrap();
    assert!(!same.changed);
    assert!(apply_patch(&hook, &patch("[]"), Some(&obj))
        .unwrap()
        .is_none());
    assert!(matches!(
        apply_patch(&hook, &patch("{"), Some(&obj)),
        Err(Failure::Calling { code: 503, .. })
    ));
    assert!(matches!(
        apply_patch(&hook, &patch(r#"[{"op":"remove","path":"/spec"}]"#), Some(&obj)),
        Err(Failure::Other(e)) if e.status.code == 500
    ));
    let Err(Failure::Other(no_object)) =
        apply_patch(&hook, &patch(r#"[{"op":"remove","path":"/a"}]"#), None)
    else {
        panic!("a patch without an object is refused");
    };
    assert_eq!(no_object.status.message, "Internal error occurred: admission webhook \"hook.example.com\" attempted to modify the object, which is not supported for this operation");
}

#[test]
fn reinvocation_concerns_ifneeded_webhooks_before_a_change() {
    let mut state = Reinvocation::default();
    state.called(0, 0, false, true);
    state.called(0, 1, true, true);
    state.called(0, 2, false, false);
    assert!(state.calls(1, 0));
    assert!(
        !state.calls(1, 1),
        "a webhook's own change does not reinvoke it"
    );
    assert!(!state.calls(1, 2));
}

#[tokio::test]
async fn dry_runs_refuse_webhooks_with_side_effects() {
    let services = services();
    let record = Record::default();
    let mut attributes = attributes(AdmissionOperation::Create, "nodes", "");
    attributes.dry_run = true;
    let hooks = [hook(json!({"sideEffects": "Some"}), true)];
    let mut obj = json!({"metadata": {"name": "obj"}});
    let err = mutate(&hooks, &services, &attributes, &record, &mut obj, None)
        .await
        .unwrap_err();
    assert_eq!(err.status.code, 400);
    assert_eq!(
        err.status.message,
        "admission webhook \"hook.example.com\" does not support dry run"
    );
    let annotations = record.annotations();
    assert_eq!(
        annotations[0].0,
        "mutation.webhook.admission.k8s.io/round_0_index_0"
    );
    assert_eq!(
        serde_json::from_str::<Value>(&annotations[0].1).unwrap(),
        json!({"configuration": "config", "webhook": "hook.example.com", "mutated": false})
    );
}

#[tokio::test]
async fn unreachable_webhooks_fail_by_policy() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let services = services();
    let attributes = attributes(AdmissionOperation::Create, "nodes", "");
    let obj = json!({"metadata": {"name": "obj"}});
    let url = format!("https://127.0.0.1:{port}/hook");
    let failing = [hook(json!({"clientConfig": {"url": url}}), false)];
    let record = Record::default();
    let err = validate(&failing, &services, &attributes, &record, Some(&obj), None)
        .await
        .unwrap_err();
    assert_eq!(err.status.code, 500);
    let expected = format!(
        "Internal error occurred: failed calling webhook \"hook.example.com\": failed to call webhook: Post \"https://127.0.0.1:{port}/hook?timeout=10s\": dial tcp 127.0.0.1:{port}: "
    );
    assert!(
        err.status.message.starts_with(&expected),
        "{}",
        err.status.message
    );
    let ignoring = [hook(
        json!({"clientConfig": {"url": url}, "failurePolicy": "Ignore"}),
        false,
    )];
    let record = Record::default();
    validate(&ignoring, &services, &attributes, &record, Some(&obj), None)
        .await
        .unwrap();
    assert_eq!(
        record.annotations(),
        vec![(
            "failed-open.validating.webhook.admission.k8s.io/round_0_index_0".to_string(),
            "hook.example.com".to_string()
        )]
    );
    // Configuration objects are never sent to webhooks.
    let mut config = attributes.clone();
    config.kind = GroupVersionKind {
        group: "admissionregistration.k8s.io".into(),
        version: "v1".into(),
        kind: "ValidatingWebhookConfiguration".into(),
    };
    validate(
        &failing,
        &services,
        &config,
        &Record::default(),
        Some(&obj),
        None,
    )
    .await
    .unwrap();
}
