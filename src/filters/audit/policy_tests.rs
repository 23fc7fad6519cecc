use super::*;

fn policy(yaml: &str) -> Policy {
    Policy::from_bytes(yaml.as_bytes()).expect("valid policy")
}

fn error(yaml: &str) -> String {
    Policy::from_bytes(yaml.as_bytes()).expect_err("invalid policy")
}

fn user(name: &str, groups: &[&str]) -> UserInfo {
    UserInfo {
        name: name.into(),
        groups: groups.iter().map(|g| g.to_string()).collect(),
        ..Default::default()
    }
}

fn resource<'a>(
    user: Option<&'a UserInfo>,
    verb: &'a str,
    group: &'a str,
    namespace: &'a str,
    resource: &'a str,
    subresource: &'a str,
    name: &'a str,
) -> PolicyAttributes<'a> {
    PolicyAttributes {
        user,
        verb,
        is_resource_request: true,
        path: "",
        api_group: group,
        namespace,
        resource,
        subresource,
        name,
    }
}

fn non_resource<'a>(
    user: Option<&'a UserInfo>,
    verb: &'a str,
    path: &'a str,
) -> PolicyAttributes<'a> {
    PolicyAttributes {
        user,
        verb,
        path,
        ..Default::default()
    }
}

const HEADER: &str = "apiVersion: audit.k8s.io/v1\nkind: Policy\n";

#[test]
fn first_matching_rule_wins_and_no_match_is_none() {
    let p = policy(&format!(
        "{HEADER}rules:
- level: None
  users: [system:kube-proxy]
- level: RequestResponse
  verbs: [create]
- level: Metadata
  resources: [{{group: \"\", resources: [pods]}}]
"
    ));
    let proxy = user("system:kube-proxy", &[]);
    let alice = user("alice", &[]);
    let pods = |u| resource(u, "create", "", "default", "pods", "", "p");
    assert_eq!(p.evaluate(&pods(Some(&proxy))).level, Level::None);
    assert_eq!(
        p.evaluate(&pods(Some(&alice))).level,
        Level::RequestResponse
    );
    assert_eq!(
        p.evaluate(&resource(
            Some(&alice),
            "get",
            "",
            "default",
            "pods",
            "",
            "p"
        ))
        .level,
        Level::Metadata
    );
    assert_eq!(
        p.evaluate(&resource(
            Some(&alice),
            "get",
            "",
            "default",
            "secrets",
            "",
            "s"
        ))
        .level,
        Level::None
    );
}

#[test]
fn users_groups_and_verbs() {
    let p = policy(&format!(
        "{HEADER}rules:
- level: Request
  userGroups: [devs]
  verbs: [get, list]
- level: Metadata
  users: [bob]
"
    ));
    let dev = user("alice", &["devs", "system:authenticated"]);
    let bob = user("bob", &[]);
    let attrs = |u, verb| non_resource(u, verb, "/healthz");
    assert_eq!(p.evaluate(&attrs(Some(&dev), "get")).level, Level::Request);
    assert_eq!(p.evaluate(&attrs(Some(&dev), "post")).level, Level::None);
    assert_eq!(p.evaluate(&attrs(Some(&bob), "get")).level, Level::Metadata);
    // A request without a user (failed authentication) matches no user or group rule.
    assert_eq!(p.evaluate(&attrs(None, "get")).level, Level::None);
}

#[test]
fn resources_subresources_and_names() {
    let p = policy(&format!(
        "{HEADER}rules:
- level: RequestResponse
  resources:
  - group: \"\"
    resources: [pods/log]
- level: Request
  resources:
  - group: \"\"
    resources: [\"*/status\"]
- level: Metadata
  resources:
  - group: apps
    resources: [deployments/*]
- level: Request
  resources:
  - group: \"\"
    resources: [configmaps]
    resourceNames: [controller-leader]
- level: Metadata
  resources:
  - group: batch
- level: Metadata
  resources:
  - group: \"\"
    resources: [\"*\"]
"
    ));
    let u = user("u", &[]);
    let eval = |group, res, sub, name| {
        p.evaluate(&resource(Some(&u), "get", group, "ns", res, sub, name))
            .level
    };
    assert_eq!(eval("", "pods", "log", "p"), Level::RequestResponse);
    assert_eq!(eval("", "pods", "status", "p"), Level::Request);
    assert_eq!(eval("", "services", "status", "s"), Level::Request);
    assert_eq!(eval("apps", "deployments", "", "d"), Level::Metadata);
    assert_eq!(eval("apps", "deployments", "scale", "d"), Level::Metadata);
    assert_eq!(eval("apps", "deployments", "status", "d"), Level::Metadata);
    assert_eq!(eval("apps", "replicasets", "", "r"), Level::None);
    assert_eq!(
        eval("", "configmaps", "", "controller-leader"),
        Level::Request
    );
    // `*` in the core group: every core resource and subresource, other groups untouched.
    assert_eq!(eval("", "configmaps", "", "other"), Level::Metadata);
    assert_eq!(eval("", "pods", "exec", "p"), Level::Metadata);
    assert_eq!(eval("batch", "jobs", "", "j"), Level::Metadata);
    assert_eq!(
        eval("rbac.authorization.k8s.io", "roles", "", "r"),
        Level::None
    );
    // Resource rules never match non-resource requests.
    assert_eq!(
        p.evaluate(&non_resource(Some(&u), "get", "/api")).level,
        Level::None
    );
}

#[test]
fn namespaces_with_empty_for_cluster_scope() {
    let p = policy(&format!(
        "{HEADER}rules:
- level: Request
  namespaces: [kube-system, \"\"]
"
    ));
    let u = user("u", &[]);
    let eval = |ns, res| {
        p.evaluate(&resource(Some(&u), "get", "", ns, res, "", ""))
            .level
    };
    assert_eq!(eval("kube-system", "pods"), Level::Request);
    assert_eq!(eval("", "nodes"), Level::Request);
    assert_eq!(eval("default", "pods"), Level::None);
    assert_eq!(
        p.evaluate(&non_resource(Some(&u), "get", "/healthz")).level,
        Level::None
    );
}

#[test]
fn non_resource_urls_with_wildcards() {
    let p = policy(&format!(
        "{HEADER}rules:
- level: None
  nonResourceURLs: [/healthz*, /version]
- level: Metadata
  nonResourceURLs: [\"*\"]
"
    ));
    let u = user("u", &[]);
    let eval = |path| p.evaluate(&non_resource(Some(&u), "get", path)).level;
    assert_eq!(eval("/healthz"), Level::None);
    assert_eq!(eval("/healthz/etcd"), Level::None);
    assert_eq!(eval("/version"), Level::None);
    assert_eq!(eval("/version/x"), Level::Metadata);
    assert_eq!(eval("/metrics"), Level::Metadata);
    // Non-resource rules never match resource requests.
    assert_eq!(
        p.evaluate(&resource(Some(&u), "get", "", "", "nodes", "", ""))
            .level,
        Level::None
    );
}

#[test]
fn omit_stages_and_managed_fields_combine_policy_and_rule() {
    let p = policy(&format!(
        "{HEADER}omitStages: [RequestReceived]
omitManagedFields: true
rules:
- level: Metadata
  verbs: [watch]
  omitStages: [ResponseStarted]
  omitManagedFields: false
- level: Request
  verbs: [get]
"
    ));
    let u = user("u", &[]);
    let watch = p.evaluate(&non_resource(Some(&u), "watch", "/x"));
    assert!(watch.omit_stages.contains(Stage::RequestReceived));
    assert!(watch.omit_stages.contains(Stage::ResponseStarted));
    assert!(!watch.omit_stages.contains(Stage::ResponseComplete));
    assert!(!watch.omit_managed_fields);
    let get = p.evaluate(&non_resource(Some(&u), "get", "/x"));
    assert!(get.omit_stages.contains(Stage::RequestReceived));
    assert!(!get.omit_stages.contains(Stage::ResponseStarted));
    assert!(get.omit_managed_fields);
    let none = p.evaluate(&non_resource(Some(&u), "post", "/x"));
    assert_eq!(none.level, Level::None);
    assert!(none.omit_stages.contains(Stage::RequestReceived));
}

#[test]
fn json_policies_are_read_too() {
    let p = policy(
        r#"{"apiVersion":"audit.k8s.io/v1","kind":"Policy","rules":[{"level":"Metadata"}]}"#,
    );
    assert_eq!(p.rules.len(), 1);
    assert_eq!(p.rules[0].level, Level::Metadata);
}

#[test]
fn unknown_fields_are_ignored_with_a_warning_as_upstream() {
    // Upstream tries strict decoding, then falls back to lenient decoding with a warning.
    let p = policy(&format!(
        "{HEADER}extra: 1\nrules:\n- level: Metadata\n  namespace: [typo]\n"
    ));
    assert!(p.rules[0].namespaces.is_empty());
    let document: Value = serde_yaml::from_str(&format!(
        "{HEADER}extra: 1\nrules:\n- level: Metadata\n  namespace: [typo]\n  resources: [{{group: a, bogus: 1}}]\n"
    ))
    .expect("yaml");
    assert_eq!(
        unknown_fields(&document),
        vec!["extra", "rules[0].namespace", "rules[0].resources[0].bogus"]
    );
}

#[test]
fn invalid_policies_are_refused_with_upstream_wording() {
    assert_eq!(
        error(&format!("{HEADER}rules:\n- level: Loud\n")),
        r#"rules[0].level: Unsupported value: "Loud": supported values: "None", "Metadata", "Request", "RequestResponse""#
    );
    assert_eq!(
        error(&format!("{HEADER}rules:\n- verbs: [get]\n")),
        "rules[0].level: Required value"
    );
    assert_eq!(
        error(&format!("{HEADER}rules: []\n")),
        "loaded illegal policy with 0 rules"
    );
    assert_eq!(error(""), "unknown group version field /, Kind= in policy");
    assert_eq!(
        error("apiVersion: audit.k8s.io/v1beta1\nkind: Policy\nrules:\n- level: None\n"),
        r#"failed decoding: no kind "Policy" is registered for version "audit.k8s.io/v1beta1""#
    );
    assert_eq!(
        error("apiVersion: audit.k8s.io/v1\nkind: Event\nrules:\n- level: None\n"),
        r#"failed decoding: no kind "Event" is registered for version "audit.k8s.io/v1""#
    );
    assert_eq!(
        error(&format!(
            "{HEADER}rules:\n- level: Metadata\n  omitStages: [Sometimes]\n"
        )),
        r#"rules[0].omitStages[0]: Invalid value: "Sometimes": allowed stages are RequestReceived,ResponseStarted,ResponseComplete,Panic"#
    );
    assert_eq!(
        error(&format!(
            "{HEADER}rules:\n- level: Metadata\n  nonResourceURLs: [healthz, /a*b]\n"
        )),
        "[rules[0].nonResourceURLs[0]: Invalid value: \"healthz\": non-resource URL rules must begin with a '/' character, rules[0].nonResourceURLs[1]: Invalid value: \"/a*b\": non-resource URL wildcards '*' must be the final character of the rule]"
    );
    assert_eq!(
        error(&format!(
            "{HEADER}rules:\n- level: Metadata\n  namespaces: [a]\n  nonResourceURLs: [/x]\n"
        )),
        r#"rules[0].nonResourceURLs: Invalid value: []string{"/x"}: rules cannot apply to both regular resources and non-resource URLs"#
    );
    assert_eq!(
        error(&format!(
            "{HEADER}rules:\n- level: Metadata\n  resources: [{{group: \"\", resourceNames: [x]}}]\n"
        )),
        r#"rules[0].resources.resourceNames: Invalid value: []string{"x"}: using resourceNames requires at least one resource"#
    );
    assert!(error(&format!(
        "{HEADER}rules:\n- level: Metadata\n  resources: [{{group: apps/v1}}]\n"
    ))
    .starts_with(
        "rules[0].resources.group: Invalid value: \"apps/v1\": a lowercase RFC 1123 subdomain"
    ));
    assert!(error(&format!("{HEADER}rules:\n- level: [1]\n")).starts_with("failed decoding: "));
}

#[test]
fn load_file_names_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("policy.yaml");
    std::fs::write(&path, format!("{HEADER}rules: []\n")).expect("write");
    assert_eq!(
        Policy::load_file(&path).expect_err("no rules"),
        format!(
            "loaded illegal policy with 0 rules: from file {}",
            path.display()
        )
    );
    let missing = dir.path().join("missing.yaml");
    assert!(Policy::load_file(&missing)
        .expect_err("missing")
        .starts_with(&format!("failed to read file path {:?}", missing.display())));
}
