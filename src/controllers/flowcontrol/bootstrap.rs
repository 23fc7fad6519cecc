//! The bootstrap configuration of API Priority and Fairness, as kube-apiserver 1.33's
//! `k8s.io/apiserver/pkg/apis/flowcontrol/bootstrap/default.go`: the mandatory and the suggested
//! PriorityLevelConfigurations and FlowSchemas of `flowcontrol.apiserver.k8s.io/v1`. Every
//! object carries the `apf.kubernetes.io/autoupdate-spec: "true"` annotation, as upstream's.

use serde_json::{json, Value};

use super::AUTOUPDATE_ANNOTATION;

const API_VERSION: &str = "flowcontrol.apiserver.k8s.io/v1";

const SYSTEM_MASTERS: &str = "system:masters";
const ALL_AUTHENTICATED: &str = "system:authenticated";
const ALL_UNAUTHENTICATED: &str = "system:unauthenticated";
const NODES: &str = "system:nodes";
const SERVICE_ACCOUNTS: &str = "system:serviceaccounts";
const KUBE_CONTROLLER_MANAGER: &str = "system:kube-controller-manager";
const KUBE_SCHEDULER: &str = "system:kube-scheduler";
const COORDINATION: &str = "coordination.k8s.io";

fn metadata(name: &str) -> Value {
    json!({"name": name, "annotations": {AUTOUPDATE_ANNOTATION: "true"}})
}

fn priority_level(name: &str, spec: Value) -> Value {
    json!({
        "apiVersion": API_VERSION,
        "kind": "PriorityLevelConfiguration",
        "metadata": metadata(name),
        "spec": spec,
    })
}

/// A limited level that queues.
fn queued(name: &str, shares: i32, lendable: i32, queues: i32, hand: i32, length: i32) -> Value {
    priority_level(
        name,
        json!({"type": "Limited", "limited": {
            "nominalConcurrencyShares": shares,
            "lendablePercent": lendable,
            "limitResponse": {"type": "Queue", "queuing": {
                "queues": queues, "handSize": hand, "queueLengthLimit": length,
            }},
        }}),
    )
}

/// The mandatory PriorityLevelConfigurations: `exempt` and `catch-all`.
pub fn mandatory_priority_levels() -> Vec<Value> {
    vec![
        priority_level(
            "exempt",
            json!({"type": "Exempt", "exempt": {
                "nominalConcurrencyShares": 0, "lendablePercent": 0,
            }}),
        ),
        priority_level(
            "catch-all",
            json!({"type": "Limited", "limited": {
                "nominalConcurrencyShares": 5,
                "lendablePercent": 0,
                "limitResponse": {"type": "Reject"},
            }}),
        ),
    ]
}

/// The suggested PriorityLevelConfigurations.
pub fn suggested_priority_levels() -> Vec<Value> {
    vec![
        queued("system", 30, 33, 64, 6, 50),
        queued("node-high", 40, 25, 64, 6, 50),
        queued("leader-election", 10, 0, 16, 4, 50),
        queued("workload-high", 40, 50, 128, 6, 50),
        queued("workload-low", 100, 90, 128, 6, 50),
        queued("global-default", 20, 50, 128, 6, 50),
    ]
}

fn flow_schema(
    name: &str,
    level: &str,
    precedence: i32,
    distinguisher: Option<&str>,
    rules: Value,
) -> Value {
    let mut spec = json!({
        "priorityLevelConfiguration": {"name": level},
        "matchingPrecedence": precedence,
        "rules": [rules],
    });
    if let Some(kind) = distinguisher {
        spec["distinguisherMethod"] = json!({"type": kind});
    }
    json!({
        "apiVersion": API_VERSION,
        "kind": "FlowSchema",
        "metadata": metadata(name),
        "spec": spec,
    })
}

fn groups(names: &[&str]) -> Vec<Value> {
    names
        .iter()
        .map(|name| json!({"kind": "Group", "group": {"name": name}}))
        .collect()
}

fn users(names: &[&str]) -> Vec<Value> {
    names
        .iter()
        .map(|name| json!({"kind": "User", "user": {"name": name}}))
        .collect()
}

fn kube_system_service_accounts(names: &[&str]) -> Vec<Value> {
    names
        .iter()
        .map(|name| {
            json!({"kind": "ServiceAccount",
                "serviceAccount": {"name": name, "namespace": "kube-system"}})
        })
        .collect()
}

/// A resource rule; `clusterScope` is left out when false, as upstream's encoding does.
fn resource_rule(
    verbs: &[&str],
    groups: &[&str],
    resources: &[&str],
    namespaces: &[&str],
    cluster_scope: bool,
) -> Value {
    let mut rule = json!({
        "verbs": verbs, "apiGroups": groups, "resources": resources, "namespaces": namespaces,
    });
    if cluster_scope {
        rule["clusterScope"] = json!(true);
    }
    rule
}

/// Every verb on every resource, cluster-wide and in every namespace.
fn every_resource() -> Value {
    resource_rule(&["*"], &["*"], &["*"], &["*"], true)
}

fn every_non_resource() -> Value {
    json!({"verbs": ["*"], "nonResourceURLs": ["*"]})
}

/// Rules matching every request of `subjects`.
fn all_of(subjects: Vec<Value>) -> Value {
    json!({
        "subjects": subjects,
        "resourceRules": [every_resource()],
        "nonResourceRules": [every_non_resource()],
    })
}

/// The mandatory FlowSchemas: `exempt` and `catch-all`.
pub fn mandatory_flow_schemas() -> Vec<Value> {
    vec![
        flow_schema(
            "exempt",
            "exempt",
            1,
            None,
            all_of(groups(&[SYSTEM_MASTERS])),
        ),
        flow_schema(
            "catch-all",
            "catch-all",
            10000,
            Some("ByUser"),
            all_of(groups(&[ALL_UNAUTHENTICATED, ALL_AUTHENTICATED])),
        ),
    ]
}

/// Leader election: get, create and update of endpoints and configmaps in `namespaces` and of
/// leases in every namespace.
fn leader_election_rules(subjects: Vec<Value>, namespaces: &[&str]) -> Value {
    let verbs = &["get", "create", "update"];
    json!({
        "subjects": subjects,
        "resourceRules": [
            resource_rule(verbs, &[""], &["endpoints", "configmaps"], namespaces, false),
            resource_rule(verbs, &[COORDINATION], &["leases"], &["*"], false),
        ],
    })
}

/// The suggested FlowSchemas.
pub fn suggested_flow_schemas() -> Vec<Value> {
    let mut system_leader_election = users(&[KUBE_CONTROLLER_MANAGER, KUBE_SCHEDULER]);
    system_leader_election.extend(kube_system_service_accounts(&["*"]));
    let mut endpoint_controller = users(&[KUBE_CONTROLLER_MANAGER]);
    endpoint_controller.extend(kube_system_service_accounts(&[
        "endpoint-controller",
        "endpointslicemirroring-controller",
    ]));
    vec![
        flow_schema(
            "system-nodes",
            "system",
            500,
            Some("ByUser"),
            all_of(groups(&[NODES])),
        ),
        flow_schema(
            "system-node-high",
            "node-high",
            400,
            Some("ByUser"),
            json!({
                "subjects": groups(&[NODES]),
                "resourceRules": [
                    resource_rule(&["*"], &[""], &["nodes", "nodes/status"], &["*"], true),
                    resource_rule(&["*"], &[COORDINATION], &["leases"], &["*"], false),
                ],
            }),
        ),
        flow_schema(
            "probes",
            "exempt",
            2,
            None,
            json!({
                "subjects": groups(&[ALL_UNAUTHENTICATED, ALL_AUTHENTICATED]),
                "nonResourceRules": [
                    {"verbs": ["get"], "nonResourceURLs": ["/healthz", "/readyz", "/livez"]},
                ],
            }),
        ),
        flow_schema(
            "system-leader-election",
            "leader-election",
            100,
            Some("ByUser"),
            leader_election_rules(system_leader_election, &["kube-system"]),
        ),
        flow_schema(
            "workload-leader-election",
            "leader-election",
            200,
            Some("ByUser"),
            leader_election_rules(kube_system_service_accounts(&["*"]), &["*"]),
        ),
        flow_schema(
            "endpoint-controller",
            "workload-high",
            150,
            Some("ByUser"),
            json!({
                "subjects": endpoint_controller,
                "resourceRules": [
                    resource_rule(&["get", "create", "update"], &[""], &["endpoints"], &["*"], false),
                ],
            }),
        ),
        flow_schema(
            "kube-controller-manager",
            "workload-high",
            800,
            Some("ByNamespace"),
            all_of(users(&[KUBE_CONTROLLER_MANAGER])),
        ),
        flow_schema(
            "kube-scheduler",
            "workload-high",
            800,
            Some("ByNamespace"),
            all_of(users(&[KUBE_SCHEDULER])),
        ),
        flow_schema(
            "kube-system-service-accounts",
            "workload-high",
            900,
            Some("ByNamespace"),
            all_of(kube_system_service_accounts(&["*"])),
        ),
        flow_schema(
            "service-accounts",
            "workload-low",
            9000,
            Some("ByUser"),
            all_of(groups(&[SERVICE_ACCOUNTS])),
        ),
        flow_schema(
            "global-default",
            "global-default",
            9900,
            Some("ByUser"),
            all_of(groups(&[ALL_UNAUTHENTICATED, ALL_AUTHENTICATED])),
        ),
    ]
}
