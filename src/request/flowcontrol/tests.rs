//! The parsers and upstream's matching rules, table-driven.

use serde_json::json;

use super::*;

fn user(name: &str, groups: &[&str]) -> UserInfo {
    UserInfo {
        name: name.to_string(),
        groups: groups.iter().map(|g| g.to_string()).collect(),
        ..Default::default()
    }
}

fn resource(verb: &str, group: &str, resource: &str, sub: &str, namespace: &str) -> RequestInfo {
    RequestInfo {
        is_resource_request: true,
        verb: verb.into(),
        api_group: group.into(),
        resource: resource.into(),
        subresource: sub.into(),
        namespace: namespace.into(),
        ..Default::default()
    }
}

fn non_resource(verb: &str, path: &str) -> RequestInfo {
    RequestInfo {
        is_resource_request: false,
        verb: verb.into(),
        path: path.into(),
        ..Default::default()
    }
}

fn strs(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn subjects_match_users_groups_and_service_accounts() {
    let sa = |ns: &str, name: &str| Subject::ServiceAccount {
        namespace: ns.into(),
        name: name.into(),
    };
    let cases: Vec<(Subject, UserInfo, bool)> = vec![
        (Subject::User("alice".into()), user("alice", &[]), true),
        (Subject::User("alice".into()), user("bob", &[]), false),
        (Subject::User("*".into()), user("bob", &[]), true),
        (Subject::Group("g".into()), user("bob", &["x", "g"]), true),
        (Subject::Group("g".into()), user("bob", &["x"]), false),
        (Subject::Group("*".into()), user("bob", &[]), true),
        (
            sa("kube-system", "*"),
            user("system:serviceaccount:kube-system:foo", &[]),
            true,
        ),
        // The namespace must be followed by `:`: `kube-system2` is another namespace.
        (
            sa("kube-system", "*"),
            user("system:serviceaccount:kube-system2:foo", &[]),
            false,
        ),
        (sa("kube-system", "*"), user("kube-system:foo", &[]), false),
        (
            sa("ns", "build"),
            user("system:serviceaccount:ns:build", &[]),
            true,
        ),
        (
            sa("ns", "build"),
            user("system:serviceaccount:ns:builder", &[]),
            false,
        ),
        (
            sa("ns", "build"),
            user("system:serviceaccount:other:build", &[]),
            false,
        ),
    ];
    for (subject, who, want) in cases {
        assert_eq!(subject.matches(&who), want, "{subject:?} {who:?}");
    }
}

#[test]
fn resource_rules_match_as_upstream() {
    let rule =
        |verbs: &[&str], groups: &[&str], res: &[&str], cluster: bool, ns: &[&str]| ResourceRule {
            verbs: strs(verbs),
            api_groups: strs(groups),
            resources: strs(res),
            cluster_scope: cluster,
            namespaces: strs(ns),
        };
    let all = rule(&["*"], &["*"], &["*"], true, &["*"]);
    let leases = rule(
        &["get", "update"],
        &["coordination.k8s.io"],
        &["leases"],
        false,
        &["*"],
    );
    let nodes = rule(&["*"], &[""], &["nodes", "nodes/status"], true, &["*"]);
    let in_system = rule(&["get"], &[""], &["configmaps"], false, &["kube-system"]);
    let mixed = rule(&["get", "*"], &["*"], &["*"], true, &["*"]);
    let cases: Vec<(&ResourceRule, RequestInfo, bool)> = vec![
        (&all, resource("list", "apps", "deployments", "", ""), true),
        (&all, resource("patch", "", "pods", "status", "ns"), true),
        (
            &leases,
            resource("get", "coordination.k8s.io", "leases", "", "ns"),
            true,
        ),
        (
            &leases,
            resource("delete", "coordination.k8s.io", "leases", "", "ns"),
            false,
        ),
        (&leases, resource("get", "", "leases", "", "ns"), false),
        // Not cluster-scoped: a request without a namespace does not match, even with `*`.
        (
            &leases,
            resource("list", "coordination.k8s.io", "leases", "", ""),
            false,
        ),
        (&nodes, resource("update", "", "nodes", "status", ""), true),
        (&nodes, resource("get", "", "nodes", "", ""), true),
        // A subresource is matched as `resource/subresource` only.
        (&nodes, resource("get", "", "nodes", "proxy", ""), false),
        (
            &in_system,
            resource("get", "", "configmaps", "", "kube-system"),
            true,
        ),
        (
            &in_system,
            resource("get", "", "configmaps", "", "default"),
            false,
        ),
        // The wildcard counts only as the sole member, as upstream's containsString.
        (&mixed, resource("list", "", "pods", "", "ns"), false),
        (&mixed, resource("get", "", "pods", "", "ns"), true),
    ];
    for (rule, info, want) in cases {
        assert_eq!(rule.matches(&info), want, "{rule:?} {info:?}");
    }
}

#[test]
fn non_resource_rules_match_paths_and_prefixes() {
    let rule = |verbs: &[&str], urls: &[&str]| NonResourceRule {
        verbs: strs(verbs),
        non_resource_urls: strs(urls),
    };
    let probes = rule(&["get"], &["/healthz", "/readyz", "/livez"]);
    let any = rule(&["*"], &["*"]);
    let apis = rule(&["get"], &["/apis/*"]);
    let cases: Vec<(&NonResourceRule, RequestInfo, bool)> = vec![
        (&probes, non_resource("get", "/healthz"), true),
        (&probes, non_resource("get", "/livez/ping"), true),
        (&probes, non_resource("post", "/healthz"), false),
        (&probes, non_resource("get", "/healthzz"), false),
        (&probes, non_resource("get", "/metrics"), false),
        (&any, non_resource("delete", "/anything/at/all"), true),
        (&apis, non_resource("get", "/apis/apps"), true),
        (&apis, non_resource("get", "/apis/"), true),
        (&apis, non_resource("get", "/api"), false),
    ];
    for (rule, info, want) in cases {
        assert_eq!(rule.matches(&info), want, "{rule:?} {info:?}");
    }
}

#[test]
fn a_policy_needs_a_subject_and_a_rule_of_the_requests_kind() {
    let rules = PolicyRules {
        subjects: vec![Subject::Group("system:nodes".into())],
        resource_rules: vec![ResourceRule {
            verbs: strs(&["*"]),
            api_groups: strs(&["*"]),
            resources: strs(&["*"]),
            cluster_scope: true,
            namespaces: strs(&["*"]),
        }],
        non_resource_rules: vec![],
    };
    let schema = FlowSchemaSpec {
        name: "nodes".into(),
        uid: String::new(),
        matching_precedence: 500,
        priority_level: "system".into(),
        distinguisher: Some(Distinguisher::ByUser),
        rules: vec![rules],
    };
    let node = user("system:node:n1", &["system:nodes"]);
    assert!(schema.matches(&node, &resource("get", "", "pods", "", "ns")));
    // No non-resource rule: a non-resource request of the same user does not match.
    assert!(!schema.matches(&node, &non_resource("get", "/healthz")));
    assert!(!schema.matches(
        &user("bob", &["system:authenticated"]),
        &resource("get", "", "pods", "", "ns")
    ));
}

#[test]
fn a_flow_schema_parses_with_its_rules() {
    let object = json!({
        "metadata": {"name": "fs", "uid": "u-1"},
        "spec": {
            "priorityLevelConfiguration": {"name": "workload-low"},
            "matchingPrecedence": 9000,
            "distinguisherMethod": {"type": "ByNamespace"},
            "rules": [{
                "subjects": [
                    {"kind": "User", "user": {"name": "alice"}},
                    {"kind": "Group", "group": {"name": "g"}},
                    {"kind": "ServiceAccount", "serviceAccount": {"namespace": "ns", "name": "*"}}
                ],
                "resourceRules": [{
                    "verbs": ["get"], "apiGroups": [""], "resources": ["pods"],
                    "clusterScope": true, "namespaces": ["*"]
                }],
                "nonResourceRules": [{"verbs": ["get"], "nonResourceURLs": ["/healthz"]}]
            }]
        }
    });
    let parsed = parse_flow_schema(&object).unwrap();
    assert_eq!(parsed.name, "fs");
    assert_eq!(parsed.uid, "u-1");
    assert_eq!(parsed.matching_precedence, 9000);
    assert_eq!(parsed.priority_level, "workload-low");
    assert_eq!(parsed.distinguisher, Some(Distinguisher::ByNamespace));
    let rules = &parsed.rules[0];
    assert_eq!(
        rules.subjects,
        vec![
            Subject::User("alice".into()),
            Subject::Group("g".into()),
            Subject::ServiceAccount {
                namespace: "ns".into(),
                name: "*".into()
            },
        ]
    );
    assert_eq!(rules.resource_rules[0].resources, strs(&["pods"]));
    assert!(rules.resource_rules[0].cluster_scope);
    assert_eq!(
        rules.non_resource_rules[0].non_resource_urls,
        strs(&["/healthz"])
    );

    // Defaults: matchingPrecedence 1000, no distinguisher.
    let bare =
        json!({"metadata": {"name": "b"}, "spec": {"priorityLevelConfiguration": {"name": "p"}}});
    let parsed = parse_flow_schema(&bare).unwrap();
    assert_eq!(
        (parsed.matching_precedence, parsed.distinguisher),
        (1000, None)
    );
    assert!(parsed.rules.is_empty());

    assert!(parse_flow_schema(&json!({"metadata": {"name": "x"}, "spec": {}})).is_err());
    let bad_subject = json!({"spec": {"priorityLevelConfiguration": {"name": "p"},
        "rules": [{"subjects": [{"kind": "User"}]}]}});
    assert!(parse_flow_schema(&bad_subject).is_err());
}

#[test]
fn priority_levels_parse_with_upstreams_defaults() {
    let queued = json!({
        "metadata": {"name": "workload-low", "uid": "u-2"},
        "spec": {"type": "Limited", "limited": {
            "nominalConcurrencyShares": 100, "lendablePercent": 90, "borrowingLimitPercent": 10,
            "limitResponse": {"type": "Queue", "queuing": {"queues": 128, "handSize": 6, "queueLengthLimit": 50}}
        }}
    });
    assert_eq!(
        parse_priority_level(&queued).unwrap(),
        PriorityLevelSpec {
            name: "workload-low".into(),
            uid: "u-2".into(),
            exempt: false,
            nominal_concurrency_shares: 100,
            lendable_percent: 90,
            borrowing_limit_percent: Some(10),
            queuing: Some(Queuing {
                queues: 128,
                hand_size: 6,
                queue_length_limit: 50
            }),
        }
    );
    let defaulted = json!({"metadata": {"name": "d"}, "spec": {"type": "Limited", "limited": {
        "limitResponse": {"type": "Queue"}}}});
    let parsed = parse_priority_level(&defaulted).unwrap();
    assert_eq!(parsed.nominal_concurrency_shares, 30);
    assert_eq!(
        (parsed.lendable_percent, parsed.borrowing_limit_percent),
        (0, None)
    );
    assert_eq!(
        parsed.queuing,
        Some(Queuing {
            queues: 64,
            hand_size: 8,
            queue_length_limit: 50
        })
    );
    let reject = json!({"metadata": {"name": "r"}, "spec": {"type": "Limited", "limited": {
        "nominalConcurrencyShares": 5, "limitResponse": {"type": "Reject"}}}});
    let parsed = parse_priority_level(&reject).unwrap();
    assert_eq!(
        (parsed.nominal_concurrency_shares, parsed.queuing),
        (5, None)
    );
    let exempt = json!({"metadata": {"name": "exempt"}, "spec": {"type": "Exempt",
        "exempt": {"nominalConcurrencyShares": 3, "lendablePercent": 20}}});
    let parsed = parse_priority_level(&exempt).unwrap();
    assert!(parsed.exempt);
    assert_eq!(
        (parsed.nominal_concurrency_shares, parsed.lendable_percent),
        (3, 20)
    );
    let bare_exempt = json!({"metadata": {"name": "e"}, "spec": {"type": "Exempt"}});
    let parsed = parse_priority_level(&bare_exempt).unwrap();
    assert_eq!(
        (parsed.exempt, parsed.nominal_concurrency_shares),
        (true, 0)
    );

    assert!(parse_priority_level(&json!({"spec": {"type": "Limited"}})).is_err());
    assert!(parse_priority_level(&json!({"spec": {"type": "Other"}})).is_err());
    let huge = json!({"spec": {"type": "Limited", "limited": {"nominalConcurrencyShares": 1u64 << 40,
        "limitResponse": {"type": "Reject"}}}});
    assert!(parse_priority_level(&huge).is_err());
}
