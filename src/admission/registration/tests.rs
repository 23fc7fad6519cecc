use serde_json::{json, Value};

use super::*;

fn strategy_of(plural: &str) -> RegistrationStrategy {
    let kind = Kind::of_plural(plural).unwrap();
    RegistrationStrategy::new(kind, plural, plural == "validatingadmissionpolicies")
}

/// The messages (`field: body`) of creating `obj` as `plural`, after the defaults.
fn create_errors(plural: &str, mut obj: Value) -> Vec<String> {
    let strategy = strategy_of(plural);
    strategy.prepare_for_create(&mut obj);
    strategy
        .validate_create(&obj)
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn webhook() -> Value {
    json!({
        "name": "check.example.com",
        "clientConfig": {"service": {"name": "hook", "namespace": "system"}},
        "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}],
        "sideEffects": "None",
        "admissionReviewVersions": ["v1"],
    })
}

fn validating(hooks: Vec<Value>) -> Value {
    json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": "config"},
        "webhooks": hooks,
    })
}

/// The messages of a validating configuration of one webhook changed by `edit`.
fn webhook_errors(edit: impl FnOnce(&mut Value)) -> Vec<String> {
    let mut hook = webhook();
    edit(&mut hook);
    create_errors("validatingwebhookconfigurations", validating(vec![hook]))
}

fn mutating_webhook_errors(edit: impl FnOnce(&mut Value)) -> Vec<String> {
    let mut hook = webhook();
    edit(&mut hook);
    let mut obj = validating(vec![hook]);
    obj["kind"] = json!("MutatingWebhookConfiguration");
    create_errors("mutatingwebhookconfigurations", obj)
}

fn set(key: &str, value: Value) -> impl FnOnce(&mut Value) + '_ {
    move |hook| hook[key] = value
}

#[test]
fn webhook_defaults_are_upstreams() {
    let strategy = strategy_of("mutatingwebhookconfigurations");
    let mut hook = webhook();
    hook["rules"][0].as_object_mut().unwrap().remove("scope");
    let mut obj = validating(vec![hook]);
    strategy.prepare_for_create(&mut obj);
    let hook = &obj["webhooks"][0];
    assert_eq!(hook["failurePolicy"], "Fail");
    assert_eq!(hook["matchPolicy"], "Equivalent");
    assert_eq!(hook["namespaceSelector"], json!({}));
    assert_eq!(hook["objectSelector"], json!({}));
    assert_eq!(hook["timeoutSeconds"], 10);
    assert_eq!(hook["reinvocationPolicy"], "Never");
    assert_eq!(hook["rules"][0]["scope"], "*");
    assert_eq!(hook["clientConfig"]["service"]["port"], 443);
    // sideEffects and admissionReviewVersions have no v1 default.
    let mut bare = validating(vec![json!({"name": "a.b.c"})]);
    strategy.prepare_for_create(&mut bare);
    assert!(bare["webhooks"][0].get("sideEffects").is_none());
    assert!(bare["webhooks"][0].get("admissionReviewVersions").is_none());

    let strategy = strategy_of("validatingwebhookconfigurations");
    let mut obj = validating(vec![webhook()]);
    strategy.prepare_for_create(&mut obj);
    assert!(obj["webhooks"][0].get("reinvocationPolicy").is_none());
    assert!(strategy.validate_create(&obj).is_empty());
    // The client's values stay.
    let mut obj = validating(vec![webhook()]);
    obj["webhooks"][0]["failurePolicy"] = json!("Ignore");
    obj["webhooks"][0]["timeoutSeconds"] = json!(5);
    strategy.prepare_for_create(&mut obj);
    assert_eq!(obj["webhooks"][0]["failurePolicy"], "Ignore");
    assert_eq!(obj["webhooks"][0]["timeoutSeconds"], 5);
}

#[test]
fn webhook_names_are_fully_qualified_and_unique() {
    assert_eq!(
        webhook_errors(set("name", json!("example.com"))),
        ["webhooks[0].name: Invalid value: \"example.com\": should be a domain with at least three segments separated by dots"]
    );
    assert_eq!(
        webhook_errors(set("name", json!(""))),
        ["webhooks[0].name: Required value"]
    );
    let errs = webhook_errors(set("name", json!("Bad.example.com")));
    assert!(
        errs[0].starts_with(
            "webhooks[0].name: Invalid value: \"Bad.example.com\": a lowercase RFC 1123 subdomain"
        ),
        "{errs:?}"
    );
    let errs = create_errors(
        "validatingwebhookconfigurations",
        validating(vec![webhook(), webhook()]),
    );
    assert_eq!(
        errs,
        ["webhooks[1].name: Duplicate value: \"check.example.com\""]
    );
}

#[test]
fn webhook_rules_follow_upstream() {
    let rule = |rule: Value| webhook_errors(move |hook| hook["rules"] = json!([rule]));
    assert_eq!(
        rule(json!({"operations": [], "apiGroups": [], "apiVersions": [], "resources": []})),
        [
            "webhooks[0].rules[0].operations: Required value",
            "webhooks[0].rules[0].apiGroups: Required value",
            "webhooks[0].rules[0].apiVersions: Required value",
            "webhooks[0].rules[0].resources: Required value",
        ]
    );
    assert_eq!(
        rule(json!({"operations": ["*", "CREATE", "PATCH"], "apiGroups": ["*", "apps"], "apiVersions": ["*", "v1", ""], "resources": ["pods"], "scope": "Everywhere"})),
        [
            "webhooks[0].rules[0].operations: Invalid value: []admissionregistration.OperationType{\"*\", \"CREATE\", \"PATCH\"}: if '*' is present, must not specify other operations",
            "webhooks[0].rules[0].operations[2]: Unsupported value: \"PATCH\": supported values: \"*\", \"CONNECT\", \"CREATE\", \"DELETE\", \"UPDATE\"",
            "webhooks[0].rules[0].apiGroups: Invalid value: []string{\"*\", \"apps\"}: if '*' is present, must not specify other API groups",
            "webhooks[0].rules[0].apiVersions: Invalid value: []string{\"*\", \"v1\", \"\"}: if '*' is present, must not specify other API versions",
            "webhooks[0].rules[0].apiVersions[2]: Required value",
            "webhooks[0].rules[0].scope: Unsupported value: \"Everywhere\": supported values: \"*\", \"Cluster\", \"Namespaced\"",
        ]
    );
    let resources = |resources: Value| {
        rule(
            json!({"operations": ["*"], "apiGroups": ["*"], "apiVersions": ["*"], "resources": resources}),
        )
    };
    assert_eq!(
        resources(json!(["pods/*", "pods/status"])),
        ["webhooks[0].rules[0].resources[1]: Invalid value: \"pods/status\": if 'pods/*' is present, must not specify pods/status"]
    );
    assert_eq!(
        resources(json!(["*/status", "pods/status"])),
        ["webhooks[0].rules[0].resources[1]: Invalid value: \"pods/status\": if '*/status' is present, must not specify pods/status"]
    );
    assert_eq!(
        resources(json!(["*/*", "pods"])),
        ["webhooks[0].rules[0].resources: Invalid value: []string{\"*/*\", \"pods\"}: if '*/*' is present, must not specify other resources"]
    );
    assert_eq!(
        resources(json!(["*", "pods", ""])),
        [
            "webhooks[0].rules[0].resources[2]: Required value",
            "webhooks[0].rules[0].resources: Invalid value: []string{\"*\", \"pods\", \"\"}: if '*' is present, must not specify other resources without subresources",
        ]
    );
    assert!(resources(json!(["*", "*/status", "deployments/scale"])).is_empty());
}

#[test]
fn webhook_policies_side_effects_and_timeouts() {
    assert_eq!(
        webhook_errors(set("failurePolicy", json!("Sometimes"))),
        ["webhooks[0].failurePolicy: Unsupported value: \"Sometimes\": supported values: \"Fail\", \"Ignore\""]
    );
    assert_eq!(
        webhook_errors(set("matchPolicy", json!("Loose"))),
        ["webhooks[0].matchPolicy: Unsupported value: \"Loose\": supported values: \"Equivalent\", \"Exact\""]
    );
    assert_eq!(
        webhook_errors(|hook| {
            hook.as_object_mut().unwrap().remove("sideEffects");
        }),
        ["webhooks[0].sideEffects: Required value: must specify one of None, NoneOnDryRun"]
    );
    assert_eq!(
        webhook_errors(set("sideEffects", json!("Some"))),
        ["webhooks[0].sideEffects: Unsupported value: \"Some\": supported values: \"None\", \"NoneOnDryRun\""]
    );
    assert!(webhook_errors(set("sideEffects", json!("NoneOnDryRun"))).is_empty());
    assert_eq!(
        webhook_errors(set("timeoutSeconds", json!(31))),
        ["webhooks[0].timeoutSeconds: Invalid value: 31: the timeout value must be between 1 and 30 seconds"]
    );
    assert_eq!(
        webhook_errors(set("timeoutSeconds", json!(0))),
        ["webhooks[0].timeoutSeconds: Invalid value: 0: the timeout value must be between 1 and 30 seconds"]
    );
    assert_eq!(
        mutating_webhook_errors(set("reinvocationPolicy", json!("Always"))),
        ["webhooks[0].reinvocationPolicy: Unsupported value: \"Always\": supported values: \"IfNeeded\", \"Never\""]
    );
    assert_eq!(
        webhook_errors(set(
            "namespaceSelector",
            json!({"matchExpressions": [{"key": "env", "operator": "In"}]})
        )),
        ["webhooks[0].namespaceSelector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'"]
    );
    assert_eq!(
        webhook_errors(set("objectSelector", json!({"matchLabels": {"-bad": "x"}}))).len(),
        1
    );
}

#[test]
fn admission_review_versions_follow_upstream() {
    assert_eq!(
        webhook_errors(|hook| {
            hook.as_object_mut()
                .unwrap()
                .remove("admissionReviewVersions");
        }),
        ["webhooks[0].admissionReviewVersions: Required value: must specify one of v1, v1beta1"]
    );
    assert_eq!(
        webhook_errors(set("admissionReviewVersions", json!(["v2", "v2", "V3"]))),
        [
            "webhooks[0].admissionReviewVersions[1]: Invalid value: \"v2\": duplicate version",
            "webhooks[0].admissionReviewVersions[2]: Invalid value: \"V3\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
            "webhooks[0].admissionReviewVersions: Invalid value: []string{\"v2\", \"v2\", \"V3\"}: must include at least one of v1, v1beta1",
        ]
    );
    assert!(webhook_errors(set("admissionReviewVersions", json!(["v2", "v1beta1"]))).is_empty());
}

#[test]
fn client_configs_follow_upstream() {
    let config = |config: Value| webhook_errors(move |hook| hook["clientConfig"] = config);
    assert_eq!(
        config(json!({})),
        ["webhooks[0].clientConfig: Required value: exactly one of url or service is required"]
    );
    assert_eq!(
        config(json!({"url": "https://x.example.com", "service": {"name": "a", "namespace": "b"}})),
        ["webhooks[0].clientConfig: Required value: exactly one of url or service is required"]
    );
    assert!(config(json!({"url": "https://hooks.example.com:8443/validate"})).is_empty());
    assert_eq!(
        config(json!({"url": "http://u:p@hooks.example.com/x?a=b#frag"})),
        [
            "webhooks[0].clientConfig.url: Invalid value: \"http\": 'https' is the only allowed URL scheme; desired format: https://host[/path]",
            "webhooks[0].clientConfig.url: Invalid value: \"u:p\": user information is not permitted in the URL",
            "webhooks[0].clientConfig.url: Invalid value: \"frag\": fragments are not permitted in the URL",
            "webhooks[0].clientConfig.url: Invalid value: \"a=b\": query parameters are not permitted in the URL",
        ]
    );
    assert_eq!(
        config(json!({"url": "https:///path"})),
        ["webhooks[0].clientConfig.url: Invalid value: \"\": host must be provided; desired format: https://host[/path]"]
    );
    assert_eq!(
        config(json!({"url": "://x"})),
        ["webhooks[0].clientConfig.url: Required value: url must be a valid URL: parse \"://x\": missing protocol scheme; desired format: https://host[/path]"]
    );
    assert_eq!(
        config(json!({"service": {"name": "hook", "namespace": "ns", "port": 70000, "path": "x//Bad/"}})),
        [
            "webhooks[0].clientConfig.service.port: Invalid value: 70000: port is not valid: must be between 1 and 65535, inclusive",
            "webhooks[0].clientConfig.service.path: Invalid value: \"x//Bad/\": must start with a '/'",
            "webhooks[0].clientConfig.service.path: Invalid value: \"x//Bad/\": segment[0] may not be empty",
            "webhooks[0].clientConfig.service.path: Invalid value: \"x//Bad/\": segment[1] may not be empty",
            "webhooks[0].clientConfig.service.path: Invalid value: \"x//Bad/\": segment[2]: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
        ]
    );
    // As upstream, the first character is dropped whatever it is.
    // Upstream's caller swaps name and namespace: a missing namespace is reported at `name`.
    assert_eq!(
        config(json!({"service": {"name": "hook"}})),
        ["webhooks[0].clientConfig.service.name: Required value: service name is required"]
    );
    assert!(config(
        json!({"service": {"name": "hook", "namespace": "ns", "path": "/validate/pods"}})
    )
    .is_empty());
}

#[test]
fn match_conditions_compile_with_upstreams_messages() {
    let conditions =
        |conditions: Value| webhook_errors(move |hook| hook["matchConditions"] = conditions);
    assert!(conditions(json!([
        {"name": "not-system", "expression": "!request.userInfo.username.startsWith('system:')"},
        {"name": "example.com/has-labels", "expression": "has(object.metadata.labels) && oldObject == null"},
    ]))
    .is_empty());
    assert_eq!(
        conditions(json!([{"name": "c", "expression": "x == 1"}])),
        ["webhooks[0].matchConditions[0].expression: Invalid value: \"x == 1\": compilation failed: ERROR: <input>:1:1: undeclared reference to 'x' (in container '')\n | x == 1\n | ^"]
    );
    // Webhooks have no params.
    let errs = conditions(json!([{"name": "c", "expression": "params.x == 1"}]));
    assert!(
        errs[0].contains("undeclared reference to 'params'"),
        "{errs:?}"
    );
    assert_eq!(
        conditions(json!([{"name": "c", "expression": "'yes'"}])),
        ["webhooks[0].matchConditions[0].expression: Invalid value: \"'yes'\": must evaluate to bool but got string"]
    );
    assert_eq!(
        conditions(json!([
            {"name": "", "expression": "  "},
            {"name": "a/b/c", "expression": "true"},
            {"name": "same", "expression": "true"},
            {"name": "same", "expression": "true"},
        ])),
        [
            "webhooks[0].matchConditions[0].expression: Required value",
            "webhooks[0].matchConditions[0].name: Required value",
            "webhooks[0].matchConditions[1].name: Invalid value: \"a/b/c\": a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
            "webhooks[0].matchConditions[3].name: Duplicate value: \"same\"",
        ]
    );
    let many: Vec<Value> = (0..65)
        .map(|i| json!({"name": format!("c{i}"), "expression": "true"}))
        .collect();
    assert_eq!(
        conditions(Value::Array(many)),
        ["webhooks[0].matchConditions: Too many: 65: must have at most 64 items"]
    );
}

#[test]
fn updates_keep_what_the_old_configuration_had() {
    let strategy = strategy_of("validatingwebhookconfigurations");
    let mut old_hook = webhook();
    old_hook["sideEffects"] = json!("Some");
    old_hook["matchConditions"] = json!([{"name": "c", "expression": "undeclared"}]);
    let mut old = validating(vec![old_hook]);
    strategy.prepare_for_create(&mut old);
    // Side effects stay allowed and unchanged match conditions are not compiled again.
    let mut new = old.clone();
    new["webhooks"][0]["timeoutSeconds"] = json!(20);
    strategy.prepare_for_update(&mut new, &old);
    assert!(strategy.validate_update(&new, &old).is_empty());
    // A changed condition is compiled (all of them).
    new["webhooks"][0]["matchConditions"][0]["name"] = json!("d");
    let errs: Vec<String> = strategy
        .validate_update(&new, &old)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(errs.len(), 1);
    assert!(errs[0].starts_with("webhooks[0].matchConditions[0].expression: Invalid value: \"undeclared\": compilation failed"));
    // An old configuration without side effects allowed keeps them refused.
    let mut old = validating(vec![webhook()]);
    strategy.prepare_for_create(&mut old);
    let mut new = old.clone();
    new["webhooks"][0]["sideEffects"] = json!("Unknown");
    let errs = strategy.validate_update(&new, &old);
    assert_eq!(
        errs[0].to_string(),
        "webhooks[0].sideEffects: Unsupported value: \"Unknown\": supported values: \"None\", \"NoneOnDryRun\""
    );
}

fn policy(spec: Value) -> Value {
    json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": "replicas.example.com"},
        "spec": spec,
    })
}

fn policy_errors(spec: Value) -> Vec<String> {
    create_errors("validatingadmissionpolicies", policy(spec))
}

fn match_deployments() -> Value {
    json!({"resourceRules": [{"operations": ["CREATE", "UPDATE"], "apiGroups": ["apps"], "apiVersions": ["v1"], "resources": ["deployments"]}]})
}

#[test]
fn policies_are_defaulted_and_validated() {
    let strategy = strategy_of("validatingadmissionpolicies");
    let mut obj = policy(json!({
        "matchConstraints": match_deployments(),
        "validations": [{"expression": "object.spec.replicas <= 5"}],
    }));
    strategy.prepare_for_create(&mut obj);
    assert_eq!(obj["spec"]["failurePolicy"], "Fail");
    let constraints = &obj["spec"]["matchConstraints"];
    assert_eq!(constraints["matchPolicy"], "Equivalent");
    assert_eq!(constraints["namespaceSelector"], json!({}));
    assert_eq!(constraints["objectSelector"], json!({}));
    assert_eq!(constraints["resourceRules"][0]["scope"], "*");
    assert!(strategy.validate_create(&obj).is_empty());

    assert_eq!(
        policy_errors(json!({"failurePolicy": "Maybe"})),
        [
            "spec.failurePolicy: Unsupported value: \"Maybe\": supported values: \"Fail\", \"Ignore\"",
            "spec.matchConstraints: Required value",
            "spec.validations: Required value: validations or auditAnnotations must contain at least one item",
            "spec.auditAnnotations: Required value: validations or auditAnnotations must contain at least one item",
        ]
    );
    assert_eq!(
        policy_errors(json!({
            "matchConstraints": {"resourceRules": [], "excludeResourceRules": [{"operations": ["*"], "apiGroups": ["*"], "apiVersions": ["*"], "resources": ["*"], "resourceNames": ["a/b", "x", "x"]}]},
            "paramKind": {"apiVersion": "a/b/c", "kind": "Bad_Kind"},
            "validations": [{"expression": "true"}],
        })),
        [
            "spec.paramKind.apiVersion: Invalid value: \"a/b/c\": unexpected GroupVersion string: a/b/c",
            "spec.paramKind.kind: Invalid value: \"Bad_Kind\": may have mixed case, but should otherwise match: a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
            "spec.matchConstraints.excludeResourceRules[0].resourceNames[0]: Invalid value: \"a/b\": may not contain '/'",
            "spec.matchConstraints.excludeResourceRules[0].resourceNames[2]: Duplicate value: \"x\"",
            "spec.matchConstraints.resourceRules: Required value",
        ]
    );
}

#[test]
fn policy_expressions_follow_upstream() {
    let with = |extra: Value| {
        let mut spec = json!({"matchConstraints": match_deployments()});
        for (k, v) in extra.as_object().unwrap() {
            spec[k] = v.clone();
        }
        policy_errors(spec)
    };
    // params only with a paramKind.
    let errs = with(json!({"validations": [{"expression": "object.spec.replicas <= params.max"}]}));
    assert_eq!(errs.len(), 1);
    assert!(errs[0].starts_with("spec.validations[0].expression: Invalid value: \"object.spec.replicas <= params.max\": compilation failed: ERROR: <input>:1:25: undeclared reference to 'params'"), "{errs:?}");
    assert!(with(json!({
        "paramKind": {"apiVersion": "v1", "kind": "ConfigMap"},
        "matchConditions": [{"name": "has-params", "expression": "params != null"}],
        "validations": [{"expression": "object.spec.replicas <= params.max", "messageExpression": "'too many: ' + string(object.spec.replicas)", "reason": "Invalid"}],
    }))
    .is_empty());
    // variables only with variables declared.
    let errs = with(json!({"validations": [{"expression": "variables.ok"}]}));
    assert!(
        errs[0].contains("undeclared reference to 'variables'"),
        "{errs:?}"
    );
    assert!(with(json!({
        "variables": [{"name": "replicas", "expression": "object.spec.replicas"}, {"name": "ok", "expression": "variables.replicas < 5"}],
        "validations": [{"expression": "variables.ok"}],
    }))
    .is_empty());
    assert_eq!(
        with(json!({
            "variables": [{"name": "in", "expression": "1"}, {"name": "", "expression": " "}],
            "validations": [{"expression": "'a'", "message": "two\nlines", "messageExpression": "1", "reason": "Teapot"}],
        })),
        [
            "spec.variables[0].name: Invalid value: \"in\": name is not a valid CEL identifier",
            "spec.variables[1].name: Required value: name is not specified",
            "spec.variables[1].expression: Required value: expression is not specified",
            "spec.validations[0].expression: Invalid value: \"'a'\": must evaluate to bool but got string",
            "spec.validations[0].messageExpression: Invalid value: \"1\": must evaluate to string but got int",
            "spec.validations[0].message: Invalid value: \"two\\nlines\": message must not contain line breaks",
            "spec.validations[0].reason: Unsupported value: \"Teapot\": supported values: \"Forbidden\", \"Invalid\", \"RequestEntityTooLarge\"",
        ]
    );
    // The authorizer library's calls are accepted where the authorizer is declared.
    assert!(with(json!({
        "matchConditions": [{"name": "can-get", "expression": "authorizer.group('apps').resource('deployments').namespace('default').check('get').allowed()"}],
        "validations": [{"expression": "authorizer.serviceAccount('ns', 'sa').group('').resource('pods').check('create').allowed() || true"}],
    }))
    .is_empty());
    let errs = with(json!({"validations": [{"expression": "nosuch(object)"}]}));
    assert!(
        errs[0].contains("undeclared reference to 'nosuch'"),
        "{errs:?}"
    );
    // Message expressions have no authorizer.
    let errs = with(
        json!({"validations": [{"expression": "true", "messageExpression": "authorizer == null ? 'a' : 'b'"}]}),
    );
    assert!(
        errs[0].contains("undeclared reference to 'authorizer'"),
        "{errs:?}"
    );
    assert_eq!(
        with(json!({"validations": [{"expression": "true", "messageExpression": "  "}]})),
        ["spec.validations[0].messageExpression: Invalid value: \"  \": must be non-empty if specified"]
    );
}

#[test]
fn audit_annotations_follow_upstream() {
    let with = |annotations: Value| {
        policy_errors(
            json!({"matchConstraints": match_deployments(), "auditAnnotations": annotations}),
        )
    };
    assert!(with(json!([{"key": "high-replicas", "valueExpression": "object.spec.replicas > 3 ? 'high' : null"}])).is_empty());
    assert_eq!(
        with(json!([
            {"key": "a", "valueExpression": "1"},
            {"key": "a", "valueExpression": " "},
            {"key": "bad key", "valueExpression": "'x'"},
        ])),
        [
            "spec.auditAnnotations[0].valueExpression: Invalid value: \"1\": must evaluate to one of [string null_type] but got int",
            "spec.auditAnnotations[1].valueExpression: Required value: valueExpression is not specified",
            "spec.auditAnnotations[1].key: Duplicate value: \"a\"",
            "spec.auditAnnotations[2].key: Invalid value: \"replicas.example.com/bad key\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
        ]
    );
    let many: Vec<Value> = (0..21)
        .map(|i| json!({"key": format!("k{i}"), "valueExpression": "'v'"}))
        .collect();
    let errs = with(Value::Array(many));
    assert_eq!(errs.len(), 1);
    assert!(errs[0].starts_with("spec.auditAnnotations: Invalid value: []admissionregistration.AuditAnnotation{admissionregistration.AuditAnnotation{Key:\"k0\", ValueExpression:\"'v'\"}, "));
    assert!(errs[0].ends_with(": must not have more than 20 auditAnnotations"));
}

#[test]
fn policy_updates_skip_unchanged_match_conditions() {
    let strategy = strategy_of("validatingadmissionpolicies");
    let mut old = policy(json!({
        "matchConstraints": match_deployments(),
        "matchConditions": [{"name": "c", "expression": "nope"}],
        "validations": [{"expression": "true"}],
    }));
    strategy.prepare_for_create(&mut old);
    let mut new = old.clone();
    new["spec"]["validations"][0]["message"] = json!("changed");
    assert!(strategy.validate_update(&new, &old).is_empty());
    new["spec"]["paramKind"] = json!({"apiVersion": "v1", "kind": "ConfigMap"});
    let errs = strategy.validate_update(&new, &old);
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].field, "spec.matchConditions[0].expression");
}

fn binding_errors(spec: Value) -> Vec<String> {
    create_errors(
        "validatingadmissionpolicybindings",
        json!({"metadata": {"name": "b"}, "spec": spec}),
    )
}

#[test]
fn bindings_follow_upstream() {
    let strategy = strategy_of("validatingadmissionpolicybindings");
    let mut obj = json!({"metadata": {"name": "b"}, "spec": {
        "policyName": "replicas.example.com",
        "validationActions": ["Deny", "Audit"],
        "paramRef": {"name": "limits", "namespace": "default", "parameterNotFoundAction": "Deny"},
        "matchResources": {"namespaceSelector": {"matchLabels": {"env": "prod"}}},
    }});
    strategy.prepare_for_create(&mut obj);
    let resources = &obj["spec"]["matchResources"];
    assert_eq!(resources["matchPolicy"], "Equivalent");
    assert_eq!(resources["objectSelector"], json!({}));
    assert!(strategy.validate_create(&obj).is_empty());

    assert_eq!(
        binding_errors(json!({})),
        [
            "spec.policyName: Required value",
            "spec.validationActions: Required value: at least one validation action is required",
        ]
    );
    assert_eq!(
        binding_errors(json!({
            "policyName": "Bad",
            "validationActions": ["Deny", "Warn", "Deny", "Block"],
            "paramRef": {"name": "x", "selector": {}},
            "matchResources": {"matchPolicy": "Fuzzy", "resourceRules": [{"operations": ["CREATE"], "apiGroups": ["apps"], "apiVersions": ["v1"], "resources": ["deployments/*", "deployments/scale"]}]},
        })),
        [
            "spec.policyName: Invalid value: \"Bad\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
            "spec.paramRef.name: Forbidden: name and selector are mutually exclusive",
            "spec.paramRef.selector: Forbidden: name and selector are mutually exclusive",
            "spec.paramRef.parameterNotFoundAction: Required value",
            "spec.matchResouces.matchPolicy: Unsupported value: \"Fuzzy\": supported values: \"Equivalent\", \"Exact\"",
            "spec.matchResouces.resourceRules[0].resources[1]: Invalid value: \"deployments/scale\": if 'deployments/*' is present, must not specify deployments/scale",
            "spec.validationActions[2]: Duplicate value: \"Deny\"",
            "spec.validationActions[3]: Unsupported value: \"Block\": supported values: \"Audit\", \"Deny\", \"Warn\"",
            "spec.validationActions: Invalid value: []admissionregistration.ValidationAction{\"Deny\", \"Warn\", \"Deny\", \"Block\"}: must not contain both Deny and Warn (repeating the same validation failure information in the API response and headers serves no purpose)",
        ]
    );
    assert_eq!(
        binding_errors(json!({
            "policyName": "p",
            "validationActions": ["Warn"],
            "paramRef": {"parameterNotFoundAction": "Ignore"},
        })),
        [
            "spec.paramRef: Required value: one of name or selector must be specified",
            "spec.paramRef.parameterNotFoundAction: Unsupported value: \"Ignore\": supported values: \"Deny\", \"Allow\"",
        ]
    );
}

#[test]
fn kyverno_and_gatekeeper_configurations_are_accepted() {
    // As Kyverno installs its resource validating webhook.
    let kyverno = json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": "kyverno-resource-validating-webhook-cfg", "labels": {"webhook.kyverno.io/managed-by": "kyverno"}},
        "webhooks": [{
            "name": "validate.kyverno.svc-fail",
            "admissionReviewVersions": ["v1"],
            "clientConfig": {"caBundle": "LS0tLS1CRUdJTi0tLS0t", "service": {"name": "kyverno-svc", "namespace": "kyverno", "path": "/validate/fail", "port": 443}},
            "failurePolicy": "Fail",
            "matchPolicy": "Equivalent",
            "namespaceSelector": {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["kyverno"]}]},
            "objectSelector": {},
            "rules": [
                {"apiGroups": ["apps"], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE", "DELETE", "CONNECT"], "resources": ["deployments", "deployments/scale"], "scope": "*"},
                {"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"], "resources": ["pods", "pods/ephemeralcontainers"], "scope": "Namespaced"},
            ],
            "sideEffects": "NoneOnDryRun",
            "timeoutSeconds": 10,
            "matchConditions": [{"name": "exclude-kyverno-sa", "expression": "!(request.userInfo.username == 'system:serviceaccount:kyverno:kyverno-admission-controller')"}],
        }],
    });
    assert_eq!(
        create_errors("validatingwebhookconfigurations", kyverno),
        Vec::<String>::new()
    );
    // As Gatekeeper installs its mutating webhook.
    let gatekeeper = json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": "gatekeeper-mutating-webhook-configuration"},
        "webhooks": [{
            "name": "mutation.gatekeeper.sh",
            "admissionReviewVersions": ["v1", "v1beta1"],
            "clientConfig": {"service": {"name": "gatekeeper-webhook-service", "namespace": "gatekeeper-system", "path": "/v1/mutate"}},
            "failurePolicy": "Ignore",
            "matchPolicy": "Exact",
            "namespaceSelector": {"matchExpressions": [{"key": "admission.gatekeeper.sh/ignore", "operator": "DoesNotExist"}, {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["gatekeeper-system"]}]},
            "reinvocationPolicy": "Never",
            "rules": [{"apiGroups": ["*"], "apiVersions": ["*"], "operations": ["CREATE", "UPDATE"], "resources": ["*", "pods/ephemeralcontainers", "pods/exec", "pods/log", "pods/eviction", "pods/portforward", "pods/proxy", "pods/attach", "pods/binding", "deployments/scale", "replicasets/scale", "statefulsets/scale", "replicationcontrollers/scale", "services/proxy", "nodes/proxy", "services/status"]}],
            "sideEffects": "None",
            "timeoutSeconds": 1,
        }],
    });
    assert_eq!(
        create_errors("mutatingwebhookconfigurations", gatekeeper),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn the_store_refuses_an_invalid_configuration_with_422() {
    use crate::catalog::builtin;
    use crate::registry::options::WriteOptions;
    use crate::registry::resources::builtin_store_with_strategy;
    use crate::registry::store::StoreConfig;

    let info = builtin()
        .lookup(GROUP, "v1", "validatingwebhookconfigurations")
        .unwrap();
    let store = builtin_store_with_strategy(
        info,
        crate::registry::test_support::memory_storage(),
        strategy_for(info).unwrap(),
        StoreConfig::default(),
    );
    let mut hook = webhook();
    hook["matchConditions"] = json!([{"name": "c", "expression": "x"}]);
    let err = store
        .create(None, validating(vec![hook]), &WriteOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.status.code, 422);
    let causes = &err.status.details.as_ref().unwrap().causes;
    assert_eq!(causes[0].field, "webhooks[0].matchConditions[0].expression");
    assert!(err.status.message.starts_with("ValidatingWebhookConfiguration.admissionregistration.k8s.io \"config\" is invalid: webhooks[0].matchConditions[0].expression: Invalid value: \"x\": compilation failed: ERROR: <input>:1:1: undeclared reference to 'x'"), "{}", err.status.message);

    let created = store
        .create(None, validating(vec![webhook()]), &WriteOptions::default())
        .await
        .unwrap();
    assert_eq!(created["webhooks"][0]["failurePolicy"], "Fail");
    assert_eq!(created["metadata"]["generation"], 1);
}
