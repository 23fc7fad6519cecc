use serde_json::{json, Value};

use crate::registry::resources::rules_of;

/// The problems of a new object of the built-in resource `group`/`plural`, as its rules find them.
fn validate_create(group: &str, plural: &str, obj: &Value) -> Vec<FieldError> {
    (rules_of(group, plural).validate_create)(obj)
}

/// The problems of an update of the built-in resource `group`/`plural` from `old` to `new`.
fn validate_update(group: &str, plural: &str, new: &Value, old: &Value) -> Vec<FieldError> {
    rules_of(group, plural).validate_update_of(new, old)
}
use super::FieldError;
use crate::registry::defaults;

fn lines(errs: &[FieldError]) -> Vec<String> {
    errs.iter().map(ToString::to_string).collect()
}

fn pod(containers: Value) -> Value {
    let mut pod = json!({"metadata": {"name": "p"}, "spec": {"containers": containers}});
    (rules_of("", "pods").defaults)(&mut pod);
    pod
}

#[test]
fn containers_are_required_and_named() {
    assert_eq!(
        lines(&validate_create("", "pods", &pod(json!([])))),
        ["spec.containers: Required value"]
    );
    let bad = pod(
        json!([{"name": "Bad_Name", "image": "x"}, {"name": "ok", "image": ""}, {"name": "ok", "image": "y"}]),
    );
    assert_eq!(
        lines(&validate_create("", "pods", &bad)),
        [
            "spec.containers[0].name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
            "spec.containers[1].image: Required value",
            "spec.containers[2].name: Duplicate value: \"ok\"",
        ]
    );
}

#[test]
fn ports_follow_upstream() {
    let bad = pod(json!([{"name": "c", "image": "x", "ports": [
        {"containerPort": 70000},
        {"containerPort": 80, "name": "HTTP", "protocol": "XTP"},
        {"name": "web"}, {"containerPort": 81, "name": "web"}]}]));
    assert_eq!(
        lines(&validate_create("", "pods", &bad)),
        [
            "spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
            "spec.containers[0].ports[1].name: Invalid value: \"HTTP\": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
            "spec.containers[0].ports[1].name: Invalid value: \"HTTP\": must contain at least one letter (a-z)",
            "spec.containers[0].ports[1].protocol: Unsupported value: \"XTP\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
            "spec.containers[0].ports[2].containerPort: Required value",
            "spec.containers[0].ports[3].name: Duplicate value: \"web\"",
        ]
    );
}

#[test]
fn requests_may_not_exceed_limits() {
    let bad = pod(json!([{"name": "c", "image": "x", "resources": {
        "limits": {"cpu": "1"}, "requests": {"cpu": "2", "memory": "-1Mi"}}}]));
    assert_eq!(
        lines(&validate_create("", "pods", &bad)),
        [
            "spec.containers[0].resources.requests: Invalid value: \"2\": must be less than or equal to cpu limit of 1",
            "spec.containers[0].resources.requests[memory]: Invalid value: \"-1Mi\": must be greater than or equal to 0",
        ]
    );
}

#[test]
fn restart_policy_and_volume_mounts() {
    let mut bad = pod(
        json!([{"name": "c", "image": "x", "volumeMounts": [{"name": "missing", "mountPath": "/a"}]}]),
    );
    bad["spec"]["restartPolicy"] = json!("Sometimes");
    assert_eq!(
        lines(&validate_create("", "pods", &bad)),
        [
            "spec.containers[0].volumeMounts[0].name: Not found: \"missing\"",
            "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"",
        ]
    );
}

fn deployment(selector: Value, labels: Value) -> Value {
    let mut d = json!({"metadata": {"name": "web"}, "spec": {"selector": selector,
        "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}});
    (rules_of("apps", "deployments").defaults)(&mut d);
    d
}

#[test]
fn deployment_selector_must_match_template() {
    let ok = deployment(
        json!({"matchLabels": {"app": "web"}}),
        json!({"app": "web"}),
    );
    assert!(validate_create("apps", "deployments", &ok).is_empty());
    let bad = deployment(
        json!({"matchLabels": {"app": "web"}}),
        json!({"app": "x", "tier": "a"}),
    );
    assert_eq!(
        lines(&validate_create("apps", "deployments", &bad)),
        ["spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"x\", \"tier\":\"a\"}: `selector` does not match template `labels`"]
    );
    let mut missing = ok.clone();
    missing["spec"].as_object_mut().unwrap().remove("selector");
    assert_eq!(
        lines(&validate_create("apps", "deployments", &missing)),
        [
            "spec.selector: Required value",
            "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"web\"}: `selector` does not match template `labels`",
        ]
    );
    let empty = deployment(json!({}), json!({"app": "web"}));
    assert_eq!(
        lines(&validate_create("apps", "deployments", &empty)),
        ["spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment"]
    );
}

#[test]
fn deployment_selector_is_immutable() {
    let old = deployment(
        json!({"matchLabels": {"app": "web"}}),
        json!({"app": "web", "v": "2"}),
    );
    let new = deployment(
        json!({"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "v", "operator": "In", "values": ["2"]}]}),
        json!({"app": "web", "v": "2"}),
    );
    assert_eq!(
        lines(&validate_update("apps", "deployments", &new, &old)),
        ["spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"web\"}, MatchExpressions:[]v1.LabelSelectorRequirement{v1.LabelSelectorRequirement{Key:\"v\", Operator:\"In\", Values:[]string{\"2\"}}}}: field is immutable"]
    );
}

fn job() -> Value {
    let mut job = json!({"metadata": {"name": "pi", "uid": "u"}, "spec": {"template": {"spec": {
        "containers": [{"name": "pi", "image": "perl"}], "restartPolicy": "Never"}}}});
    (rules_of("batch", "jobs").defaults)(&mut job);
    defaults::job_generated_selector(&mut job);
    job
}

#[test]
fn jobs_restart_and_immutable_template() {
    let ok = job();
    assert!(
        validate_create("batch", "jobs", &ok).is_empty(),
        "{:?}",
        validate_create("batch", "jobs", &ok)
    );
    let mut always = ok.clone();
    always["spec"]["template"]["spec"]["restartPolicy"] = json!("Always");
    assert_eq!(
        lines(&validate_create("batch", "jobs", &always)),
        ["spec.template.spec.restartPolicy: Required value: valid values: \"OnFailure\", \"Never\""]
    );
    let mut changed = ok.clone();
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = json!("perl:5");
    assert_eq!(
        lines(&validate_update("batch", "jobs", &changed, &ok)),
        ["spec.template: Invalid value: core.PodTemplateSpec{ObjectMeta:v1.ObjectMeta{...}, Spec:core.PodSpec{...}}: field is immutable"]
    );
    let mut manual = ok.clone();
    manual["spec"]["selector"] = json!({"matchLabels": {"a": "b"}});
    assert_eq!(
        lines(&validate_create("batch", "jobs", &manual))[0],
        "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"a\":\"b\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: `selector` not auto-generated"
    );
}

#[test]
fn immutable_config_maps_and_secrets() {
    let old = json!({"immutable": true, "data": {"a": "1"}});
    let new = json!({"immutable": true, "data": {"a": "2"}});
    assert_eq!(
        lines(&validate_update("", "configmaps", &new, &old)),
        ["data: Forbidden: field is immutable when `immutable` is set"]
    );
    let unset = json!({"data": {"a": "1"}});
    assert_eq!(
        lines(&validate_update("", "configmaps", &unset, &old)),
        ["immutable: Forbidden: field is immutable when `immutable` is set"]
    );
    let old_secret = json!({"type": "Opaque", "immutable": true, "data": {"a": "MQ=="}});
    let new_secret = json!({"type": "Opaque", "immutable": true, "data": {"a": "Mg=="}});
    assert_eq!(
        lines(&validate_update("", "secrets", &new_secret, &old_secret)),
        ["data: Forbidden: field is immutable when `immutable` is set"]
    );
    let retyped = json!({"type": "kubernetes.io/tls", "data": {"tls.crt": "", "tls.key": ""}});
    assert_eq!(
        lines(&validate_update(
            "",
            "secrets",
            &retyped,
            &json!({"type": "Opaque"})
        )),
        ["type: Invalid value: \"kubernetes.io/tls\": field is immutable"]
    );
    assert_eq!(
        lines(&validate_create("", "configmaps", &json!({"data": {"bad key": "x"}}))),
        ["data[bad key]: Invalid value: \"bad key\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"]
    );
}

#[test]
fn pod_updates_may_change_images_only() {
    let old = pod(json!([{"name": "c", "image": "nginx"}]));
    let mut image = old.clone();
    image["spec"]["containers"][0]["image"] = json!("nginx:2");
    assert!(validate_update("", "pods", &image, &old).is_empty());
    let mut port = old.clone();
    port["spec"]["containers"][0]["ports"] = json!([{"containerPort": 80, "protocol": "TCP"}]);
    let errs = lines(&validate_update("", "pods", &port, &old));
    assert_eq!(errs.len(), 1);
    assert!(errs[0].starts_with("spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n"), "{}", errs[0]);
    let mut more = old.clone();
    more["spec"]["containers"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "d", "image": "x", "imagePullPolicy": "Always", "terminationMessagePolicy": "File"}));
    assert_eq!(
        lines(&validate_update("", "pods", &more, &old)),
        ["spec.containers: Forbidden: pod updates may not add or remove containers"]
    );
}

#[test]
fn quantities_parse_as_upstream() {
    use crate::api::quantity::{parse, FORMAT_WRONG, SUFFIX};
    assert_eq!(parse("1Gi").unwrap().0, 1073741824.0);
    assert_eq!(parse("500m").unwrap().0, 0.5);
    assert_eq!(parse("1e3").unwrap().0, 1000.0);
    assert!(parse("2") > parse("1500m"));
    assert_eq!(parse("abc"), Err(FORMAT_WRONG));
    assert_eq!(parse("1 Gi"), Err(FORMAT_WRONG));
    assert_eq!(parse("1Gb"), Err(FORMAT_WRONG));
    assert_eq!(parse("1iK"), Err(SUFFIX));
}

#[test]
fn go_renders_selectors_and_labels() {
    use super::label_selector::{render_label_selector, render_labels};
    assert_eq!(render_labels(None), "map[string]string(nil)");
    assert_eq!(render_label_selector(None), "\"null\"");
    let selector = json!({"matchExpressions": [{"key": "k", "operator": "Exists"}]});
    assert_eq!(
        render_label_selector(Some(&selector)),
        "v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement{v1.LabelSelectorRequirement{Key:\"k\", Operator:\"Exists\", Values:[]string(nil)}}}"
    );
}

#[test]
fn quantities_print_in_gos_canonical_form() {
    use crate::api::quantity::canonical;
    for (text, want) in [
        ("0.5", "500m"),
        ("1.5", "1500m"),
        ("2000m", "2"),
        ("100m", "100m"),
        ("1", "1"),
        ("0", "0"),
        ("1024Mi", "1Gi"),
        ("1536Mi", "1536Mi"),
        ("0.5Gi", "512Mi"),
        ("512", "512"),
        ("1000", "1k"),
        ("1500", "1500"),
        ("1e3", "1e3"),
        ("12e2", "1200"),
        ("128974848", "128974848"),
        ("1000Ki", "1000Ki"),
        ("1.5Ki", "1536"),
        ("-1Mi", "-1Mi"),
        ("0.0001", "1m"),
        ("100M", "100M"),
    ] {
        assert_eq!(canonical(text, true).as_deref(), Some(want), "{text}");
    }
    assert_eq!(canonical("1n", false).as_deref(), Some("1n"));
    assert_eq!(canonical("lots", true), None);
}

#[test]
fn probes_and_env() {
    let bad = pod(json!([{"name": "c", "image": "x",
        "env": [{"name": ""}, {"name": "A=B"}],
        "livenessProbe": {"successThreshold": 2, "httpGet": {"port": 0}},
        "readinessProbe": {"periodSeconds": 5}}]));
    assert_eq!(
        lines(&validate_create("", "pods", &bad)),
        [
            "spec.containers[0].env[0].name: Required value",
            "spec.containers[0].env[1].name: Invalid value: \"A=B\": a valid environment variable name must consist only of printable ASCII characters other than '='",
            "spec.containers[0].livenessProbe.httpGet.port: Invalid value: 0: must be between 1 and 65535, inclusive",
            "spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1",
            "spec.containers[0].readinessProbe: Required value: must specify a handler type",
        ]
    );
    let mut init = pod(json!([{"name": "c", "image": "x"}]));
    init["spec"]["initContainers"] = json!([{"name": "i", "image": "x", "imagePullPolicy": "Always",
        "terminationMessagePolicy": "File", "readinessProbe": {"exec": {"command": ["true"]}}}]);
    assert_eq!(
        lines(&validate_create("", "pods", &init)),
        ["spec.initContainers[0].readinessProbe: Forbidden: may not be set for init containers without restartPolicy=Always"]
    );
}
