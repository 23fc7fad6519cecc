//! ValidatingAdmissionPolicy over real stores on the in-memory reference store.

use std::sync::Arc;

use serde_json::{json, Value};

use super::{validate, PolicySet};
use crate::admission::attributes::{
    Attributes, GroupVersionKind, GroupVersionResource, Record, StoreLookup,
};
use crate::admission::chain::Services;
use crate::admission::metrics::AdmissionMetrics;
use crate::api::status::ApiError;
use crate::outbound::tls::ProxyIdentity;
use crate::outbound::webhook::WebhookClient;
use crate::registry::admission::AdmissionOperation;
use crate::registry::options::WriteOptions;
use crate::registry::store::Store;
use crate::registry::test_support::{builtin_store, memory_storage};
use crate::request::user::UserInfo;

/// A few stores, looked up by resource and kind.
struct Lookup(Vec<Arc<Store>>);

impl StoreLookup for Lookup {
    fn by_resource(&self, group: &str, version: &str, plural: &str) -> Option<Arc<Store>> {
        self.0
            .iter()
            .find(|s| {
                s.info().group == group && s.info().version == version && s.info().plural == plural
            })
            .cloned()
    }

    fn by_kind(&self, group: &str, version: &str, kind: &str) -> Option<Arc<Store>> {
        self.0
            .iter()
            .find(|s| {
                s.info().group == group && s.info().version == version && s.info().kind == kind
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

struct Fixture {
    services: Services,
    configmaps: Arc<Store>,
}

async fn fixture() -> Fixture {
    let storage = memory_storage();
    let namespaces = builtin_store(&storage, ("", "v1", "namespaces"));
    let configmaps = builtin_store(&storage, ("", "v1", "configmaps"));
    let key = rcgen::generate_simple_self_signed(vec!["apiary.test".to_string()]).unwrap();
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
    let opts = WriteOptions::default();
    for (name, env) in [("default", "prod"), ("dev", "dev")] {
        let ns = json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": {"env": env}}});
        namespaces.create(None, ns, &opts).await.unwrap();
    }
    let services = Services {
        mutating_webhooks: webhooks.clone(),
        webhooks,
        namespaces: namespaces.clone(),
        stores: Arc::new(Lookup(vec![namespaces, configmaps.clone()])),
        metrics: AdmissionMetrics::unregistered(),
    };
    Fixture {
        services,
        configmaps,
    }
}

async fn param(fixture: &Fixture, name: &str, labels: Value, data: Value) {
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "default", "labels": labels}, "data": data});
    fixture
        .configmaps
        .create(Some("default"), cm, &WriteOptions::default())
        .await
        .unwrap();
}

fn attributes(operation: AdmissionOperation, namespace: &str, name: &str) -> Attributes {
    Attributes {
        operation,
        resource: GroupVersionResource {
            group: String::new(),
            version: "v1".into(),
            resource: "configmaps".into(),
        },
        subresource: String::new(),
        kind: GroupVersionKind {
            group: String::new(),
            version: "v1".into(),
            kind: "ConfigMap".into(),
        },
        namespaced: true,
        namespace: namespace.into(),
        name: name.into(),
        user: UserInfo {
            name: "alice".into(),
            ..Default::default()
        },
        dry_run: false,
        options: None,
    }
}

fn configmap(name: &str, labels: Value, data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "default", "labels": labels}, "data": data})
}

/// A policy on configmap creates and updates, with `spec` merged in.
fn policy(name: &str, spec: Value) -> Arc<Value> {
    let mut full = json!({"matchConstraints": {"resourceRules": [{
        "apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"],
        "resources": ["configmaps"]}]}});
    for (key, value) in spec.as_object().unwrap() {
        full[key] = value.clone();
    }
    Arc::new(json!({"apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy", "metadata": {"name": name}, "spec": full}))
}

fn binding(name: &str, policy: &str, spec: Value) -> Arc<Value> {
    let mut full = json!({"policyName": policy, "validationActions": ["Deny"]});
    for (key, value) in spec.as_object().unwrap() {
        full[key] = value.clone();
    }
    Arc::new(json!({"apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding", "metadata": {"name": name}, "spec": full}))
}

struct Run {
    result: Result<(), ApiError>,
    record: Record,
}

async fn run(
    fixture: &Fixture,
    set: &PolicySet,
    attributes: &Attributes,
    obj: Option<&Value>,
    old: Option<&Value>,
) -> Run {
    let record = Record::default();
    let result = validate(set, &fixture.services, attributes, &record, obj, old).await;
    Run { result, record }
}

/// Creates configmap `cm` (data `x`) under one policy and binding.
async fn create_with(fixture: &Fixture, spec: Value, binding_spec: Value, x: &str) -> Run {
    let set = PolicySet::build(&[policy("p", spec)], &[binding("b", "p", binding_spec)]);
    let obj = configmap("cm", json!({}), json!({"x": x}));
    let attributes = attributes(AdmissionOperation::Create, "default", "cm");
    run(fixture, &set, &attributes, Some(&obj), None).await
}

fn refused(run: &Run) -> (u16, String, String) {
    let err = run.result.as_ref().expect_err("refused");
    (
        err.status.code,
        err.status.reason.clone(),
        err.status.message.clone(),
    )
}

#[test]
fn sets_without_bindings_are_empty() {
    assert!(PolicySet::build(&[], &[]).is_empty());
    assert!(PolicySet::build(&[policy("p", json!({}))], &[]).is_empty());
    assert!(PolicySet::build(
        &[policy("p", json!({}))],
        &[binding("b", "other", json!({}))]
    )
    .is_empty());
    assert!(
        !PolicySet::build(&[policy("p", json!({}))], &[binding("b", "p", json!({}))]).is_empty()
    );
}

#[tokio::test]
async fn failed_validations_refuse_with_reason_message_and_cause() {
    let fixture = fixture().await;
    let spec = json!({"validations": [{"expression": "object.data.x == 'ok'",
        "message": "x must be ok", "reason": "Forbidden"}]});
    assert!(create_with(&fixture, spec.clone(), json!({}), "ok")
        .await
        .result
        .is_ok());
    let run = create_with(&fixture, spec, json!({}), "bad").await;
    let message = "ValidatingAdmissionPolicy 'p' with binding 'b' denied request: x must be ok";
    assert_eq!(
        refused(&run),
        (
            403,
            "Forbidden".into(),
            format!("configmaps \"cm\" is forbidden: {message}")
        )
    );
    let details = run.result.unwrap_err().status.details.unwrap();
    assert_eq!(details.causes.len(), 1);
    assert_eq!(details.causes[0].message, message);
    assert_eq!(details.name, "cm");

    for (reason, code) in [
        ("Unauthorized", 401),
        ("RequestEntityTooLarge", 413),
        ("Invalid", 422),
    ] {
        let spec = json!({"validations": [{"expression": "false", "reason": reason}]});
        let run = create_with(&fixture, spec, json!({}), "x").await;
        assert_eq!(refused(&run).0, code);
        assert_eq!(refused(&run).1, reason);
    }
}

#[tokio::test]
async fn messages_fall_back_from_message_expression_to_message_to_expression() {
    let fixture = fixture().await;
    let fixture = &fixture;
    let check = |spec: Value, want: &'static str| async move {
        let run = create_with(fixture, json!({"validations": [spec]}), json!({}), "bad").await;
        let (code, reason, message) = refused(&run);
        assert_eq!((code, reason.as_str()), (422, "Invalid"));
        assert_eq!(
                message,
                format!("configmaps \"cm\" is forbidden: ValidatingAdmissionPolicy 'p' with binding 'b' denied request: {want}")
            );
    };
    check(
        json!({"expression": "object.data.x == 'ok'", "message": "static",
            "messageExpression": "'x is ' + object.data.x"}),
        "x is bad",
    )
    .await;
    check(
        json!({"expression": "object.data.x == 'ok'", "message": "static",
            "messageExpression": "'x is ' + object.data.nope"}),
        "static",
    )
    .await;
    check(
        json!({"expression": "object.data.x == 'ok'", "messageExpression": "'  '"}),
        "failed expression: object.data.x == 'ok'",
    )
    .await;
}

#[tokio::test]
async fn generated_names_and_deletes_name_the_object_as_upstream() {
    let fixture = fixture().await;
    let set = PolicySet::build(
        &[policy(
            "p",
            json!({"validations": [{"expression": "false", "message": "no"}],
            "matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"],
                "operations": ["*"], "resources": ["configmaps"]}]}}),
        )],
        &[binding("b", "p", json!({}))],
    );
    let obj = json!({"metadata": {"generateName": "cm-", "namespace": "default"}});
    let attrs = attributes(AdmissionOperation::Create, "default", "");
    let created = run(&fixture, &set, &attrs, Some(&obj), None).await;
    let message = refused(&created).2;
    assert!(
        message.starts_with("configmaps \"cm-\" is forbidden: "),
        "{message}"
    );
    let old = configmap("gone", json!({}), json!({}));
    let attrs = attributes(AdmissionOperation::Delete, "default", "");
    let deleted = run(&fixture, &set, &attrs, None, Some(&old)).await;
    assert!(refused(&deleted)
        .2
        .starts_with("configmaps \"Unknown\" is forbidden: "));
}

#[tokio::test]
async fn warn_and_audit_actions_record_instead_of_refusing() {
    let fixture = fixture().await;
    let spec = json!({"validations": [
        {"expression": "true"},
        {"expression": "object.data.x == 'ok'", "message": "x must be ok"}]});
    let run = create_with(
        &fixture,
        spec,
        json!({"validationActions": ["Warn", "Audit"]}),
        "bad",
    )
    .await;
    assert!(run.result.is_ok());
    assert_eq!(
        run.record.warnings(),
        vec!["Validation failed for ValidatingAdmissionPolicy 'p' with binding 'b': x must be ok"]
    );
    assert_eq!(
        run.record.annotations(),
        vec![(
            "validation.policy.admission.k8s.io/validation_failure".to_string(),
            r#"[{"message":"x must be ok","policy":"p","binding":"b","expressionIndex":1,"validationActions":["Warn","Audit"]}]"#.to_string()
        )]
    );
}

#[tokio::test]
async fn audit_annotations_publish_under_the_policy_name() {
    let fixture = fixture().await;
    let spec = json!({"auditAnnotations": [
        {"key": "seen", "valueExpression": "'x=' + object.data.x"},
        {"key": "skipped", "valueExpression": "null"},
        {"key": "blank", "valueExpression": "' '"}]});
    let run = create_with(&fixture, spec, json!({}), "1").await;
    assert!(run.result.is_ok());
    assert_eq!(
        run.record.annotations(),
        vec![("p/seen".to_string(), "x=1".to_string())]
    );

    let spec = json!({"auditAnnotations": [{"key": "bad", "valueExpression": "1"}]});
    let run = create_with(&fixture, spec, json!({}), "1").await;
    assert!(refused(&run).2.ends_with("denied request: valueExpression '1' resulted in unsupported return type: int. Return type must be either string or null."), "{}", refused(&run).2);
}

#[tokio::test]
async fn evaluation_errors_follow_the_failure_policy() {
    let fixture = fixture().await;
    let validations = json!([{"expression": "object.data.missing == 'a'"}]);
    let run = create_with(
        &fixture,
        json!({"validations": validations}),
        json!({}),
        "x",
    )
    .await;
    assert_eq!(
        refused(&run),
        (
            422,
            "Invalid".into(),
            "configmaps \"cm\" is forbidden: ValidatingAdmissionPolicy 'p' with binding 'b' denied request: expression 'object.data.missing == 'a'' resulted in error: no such key: missing".into()
        )
    );
    let run = create_with(
        &fixture,
        json!({"validations": validations, "failurePolicy": "Ignore"}),
        json!({}),
        "x",
    )
    .await;
    assert!(run.result.is_ok());

    let run = create_with(
        &fixture,
        json!({"validations": [{"expression": "nope > 1"}]}),
        json!({}),
        "x",
    )
    .await;
    let message = refused(&run).2;
    assert!(
        message.contains("denied request: compilation error: compilation failed: ERROR: <input>:1:1: undeclared reference to 'nope'"),
        "{message}"
    );
}

#[tokio::test]
async fn variables_and_match_conditions() {
    let fixture = fixture().await;
    let spec = json!({
        "variables": [
            {"name": "x", "expression": "object.data.x"},
            {"name": "isOk", "expression": "variables.x == 'ok'"},
            {"name": "broken", "expression": "object.data.nope"}],
        "matchConditions": [{"name": "not-skipped", "expression": "object.metadata.name != 'skip'"}],
        "validations": [{"expression": "variables.isOk", "messageExpression": "'x was ' + variables.x"}]});
    assert!(create_with(&fixture, spec.clone(), json!({}), "ok")
        .await
        .result
        .is_ok());
    let run = create_with(&fixture, spec.clone(), json!({}), "bad").await;
    assert!(refused(&run).2.ends_with("denied request: x was bad"));

    let set = PolicySet::build(
        &[policy("p", spec.clone())],
        &[binding("b", "p", json!({}))],
    );
    let skip = configmap("skip", json!({}), json!({"x": "bad"}));
    let attrs = attributes(AdmissionOperation::Create, "default", "skip");
    assert!(run_ok(&fixture, &set, &attrs, &skip).await);

    let mut broken = spec;
    broken["validations"] = json!([{"expression": "variables.broken == 'a'"}]);
    let run = create_with(&fixture, broken, json!({}), "ok").await;
    assert!(
        refused(&run).2.ends_with("denied request: expression 'variables.broken == 'a'' resulted in error: composited variable \"broken\" fails to evaluate: no such key: nope"),
        "{}",
        refused(&run).2
    );

    let failing = json!({"matchConditions": [{"name": "c", "expression": "object.data.nope == 'a'"}],
        "validations": [{"expression": "false"}]});
    let run = create_with(&fixture, failing.clone(), json!({}), "ok").await;
    assert!(refused(&run).2.ends_with(
        "denied request: expression 'object.data.nope == 'a'' resulted in error: no such key: nope"
    ));
    let mut ignored = failing;
    ignored["failurePolicy"] = json!("Ignore");
    assert!(create_with(&fixture, ignored, json!({}), "ok")
        .await
        .result
        .is_ok());
}

async fn run_ok(fixture: &Fixture, set: &PolicySet, attrs: &Attributes, obj: &Value) -> bool {
    run(fixture, set, attrs, Some(obj), None)
        .await
        .result
        .is_ok()
}

#[tokio::test]
async fn rules_exclusions_and_selectors_decide_what_matches() {
    let fixture = fixture().await;
    let deny = json!([{"expression": "false"}]);
    let rule = |ops: Value, resources: Value| json!({"apiGroups": [""], "apiVersions": ["*"], "operations": ops, "resources": resources});
    let create = attributes(AdmissionOperation::Create, "default", "cm");
    let cm = configmap("cm", json!({"app": "web"}), json!({}));
    let fx = &fixture;
    let matches = |constraints: Value, binding_spec: Value, attrs: Attributes, obj: Value| {
        let fixture = fx;
        let deny = deny.clone();
        async move {
            let set = PolicySet::build(
                &[policy(
                    "p",
                    json!({"validations": deny, "matchConstraints": constraints}),
                )],
                &[binding("b", "p", binding_spec)],
            );
            !run_ok(fixture, &set, &attrs, &obj).await
        }
    };
    let c = || create.clone();
    assert!(
        matches(
            json!({"resourceRules": [rule(json!(["*"]), json!(["*"]))]}),
            json!({}),
            c(),
            cm.clone()
        )
        .await
    );
    assert!(
        !matches(
            json!({"resourceRules": [rule(json!(["UPDATE"]), json!(["configmaps"]))]}),
            json!({}),
            c(),
            cm.clone()
        )
        .await
    );
    assert!(
        !matches(
            json!({"resourceRules": [rule(json!(["*"]), json!(["secrets"]))]}),
            json!({}),
            c(),
            cm.clone()
        )
        .await
    );
    assert!(
        !matches(
            json!({"resourceRules": [rule(json!(["*"]), json!(["configmaps/status"]))]}),
            json!({}),
            c(),
            cm.clone()
        )
        .await
    );
    let mut status = c();
    status.subresource = "status".into();
    assert!(
        matches(
            json!({"resourceRules": [rule(json!(["*"]), json!(["configmaps/*"]))]}),
            json!({}),
            status,
            cm.clone()
        )
        .await
    );
    let mut named = rule(json!(["*"]), json!(["configmaps"]));
    named["resourceNames"] = json!(["other"]);
    assert!(
        !matches(
            json!({"resourceRules": [named]}),
            json!({}),
            c(),
            cm.clone()
        )
        .await
    );
    let mut cluster = rule(json!(["*"]), json!(["*"]));
    cluster["scope"] = json!("Cluster");
    assert!(
        !matches(
            json!({"resourceRules": [cluster]}),
            json!({}),
            c(),
            cm.clone()
        )
        .await
    );
    let all = json!([rule(json!(["*"]), json!(["*"]))]);
    assert!(!matches(
        json!({"resourceRules": all, "excludeResourceRules": [rule(json!(["CREATE"]), json!(["configmaps"]))]}),
        json!({}), c(), cm.clone()).await);
    // Namespace selectors see the namespace's labels; object selectors the object's.
    let ns = |env: &str| json!({"resourceRules": all, "namespaceSelector": {"matchLabels": {"env": env}}});
    assert!(matches(ns("prod"), json!({}), c(), cm.clone()).await);
    assert!(!matches(ns("dev"), json!({}), c(), cm.clone()).await);
    let objects =
        |app: &str| json!({"resourceRules": all, "objectSelector": {"matchLabels": {"app": app}}});
    assert!(matches(objects("web"), json!({}), c(), cm.clone()).await);
    assert!(!matches(objects("db"), json!({}), c(), cm.clone()).await);
    // A binding narrows its policy; without matchResources it takes all the policy matches.
    let narrowed =
        json!({"matchResources": {"namespaceSelector": {"matchLabels": {"env": "dev"}}}});
    assert!(
        !matches(
            json!({"resourceRules": all}),
            narrowed.clone(),
            c(),
            cm.clone()
        )
        .await
    );
    let dev = attributes(AdmissionOperation::Create, "dev", "cm");
    assert!(matches(json!({"resourceRules": all}), narrowed, dev, cm.clone()).await);
    // A Namespace is matched on its own labels.
    let mut namespace = attributes(AdmissionOperation::Create, "", "new");
    namespace.resource.resource = "namespaces".into();
    namespace.kind.kind = "Namespace".into();
    namespace.namespaced = false;
    let new_ns = json!({"metadata": {"name": "new", "labels": {"env": "prod"}}});
    assert!(matches(ns("prod"), json!({}), namespace.clone(), new_ns.clone()).await);
    assert!(!matches(ns("dev"), json!({}), namespace, new_ns).await);
}

#[tokio::test]
async fn policy_configuration_is_exempt() {
    let fixture = fixture().await;
    let set = PolicySet::build(
        &[policy(
            "p",
            json!({"validations": [{"expression": "false"}],
            "matchConstraints": {"resourceRules": [{"apiGroups": ["*"], "apiVersions": ["*"],
                "operations": ["*"], "resources": ["*"]}]}}),
        )],
        &[binding("b", "p", json!({}))],
    );
    let mut attrs = attributes(AdmissionOperation::Create, "", "b2");
    attrs.resource = GroupVersionResource {
        group: "admissionregistration.k8s.io".into(),
        version: "v1".into(),
        resource: "validatingadmissionpolicybindings".into(),
    };
    assert!(run_ok(&fixture, &set, &attrs, &json!({"metadata": {"name": "b2"}})).await);
}

#[tokio::test]
async fn params_by_name_and_selector() {
    let fixture = fixture().await;
    param(&fixture, "one", json!({"group": "a"}), json!({"want": "1"})).await;
    param(&fixture, "two", json!({"group": "a"}), json!({"want": "2"})).await;
    let spec = json!({"paramKind": {"apiVersion": "v1", "kind": "ConfigMap"},
        "validations": [{"expression": "object.data.x == params.data.want",
            "messageExpression": "'want ' + params.data.want"}]});
    let by_name = json!({"paramRef": {"name": "two", "parameterNotFoundAction": "Deny"}});
    assert!(create_with(&fixture, spec.clone(), by_name.clone(), "2")
        .await
        .result
        .is_ok());
    let run = create_with(&fixture, spec.clone(), by_name, "1").await;
    assert!(refused(&run).2.ends_with("denied request: want 2"));

    // Each selected param is evaluated: one of them fails whatever x is.
    let selected = json!({"paramRef": {"selector": {"matchLabels": {"group": "a"}},
        "parameterNotFoundAction": "Allow"}});
    let run = create_with(&fixture, spec.clone(), selected.clone(), "1").await;
    assert!(refused(&run).2.ends_with("denied request: want 2"));
    let run = create_with(&fixture, spec.clone(), selected, "2").await;
    assert!(refused(&run).2.ends_with("denied request: want 1"));

    let missing =
        |action: &str| json!({"paramRef": {"name": "absent", "parameterNotFoundAction": action}});
    assert!(create_with(&fixture, spec.clone(), missing("Allow"), "x")
        .await
        .result
        .is_ok());
    let run = create_with(&fixture, spec.clone(), missing("Deny"), "x").await;
    assert_eq!(
        refused(&run).2,
        "configmaps \"cm\" is forbidden: ValidatingAdmissionPolicy 'p' with binding 'b' denied request: failed to configure binding: no params found for policy binding with `Deny` parameterNotFoundAction"
    );
    let none = json!({"paramRef": {"selector": {"matchLabels": {"group": "z"}},
        "parameterNotFoundAction": "Deny"}});
    assert!(create_with(&fixture, spec.clone(), none, "x")
        .await
        .result
        .is_err());

    let mut unknown = spec;
    unknown["paramKind"] = json!({"apiVersion": "example.com/v1", "kind": "Foo"});
    let run = create_with(&fixture, unknown.clone(), missing("Allow"), "x").await;
    assert_eq!(
        refused(&run).2,
        "configmaps \"cm\" is forbidden: ValidatingAdmissionPolicy 'p' denied request: failed to configure policy: failed to find resource referenced by paramKind: 'example.com/v1, Kind=Foo'"
    );
    unknown["failurePolicy"] = json!("Ignore");
    assert!(create_with(&fixture, unknown, missing("Allow"), "x")
        .await
        .result
        .is_ok());
}

#[tokio::test]
async fn request_and_namespace_object_are_bound() {
    let fixture = fixture().await;
    let spec = json!({"validations": [
        {"expression": "request.operation == 'CREATE' && request.userInfo.username == 'alice' && request.kind.kind == 'ConfigMap' && request.namespace == 'default' && request.name == 'cm'"},
        {"expression": "namespaceObject.metadata.labels.env == 'prod'"},
        {"expression": "oldObject == null"}]});
    let run = create_with(&fixture, spec, json!({}), "x").await;
    assert!(run.result.is_ok(), "{:?}", run.result);
}
