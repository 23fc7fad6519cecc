//! The ensurer and the Dangling conditions against FlowSchema and PriorityLevelConfiguration
//! stores over the in-memory storage.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use super::*;
use crate::registry::test_support::{builtin_store, memory_storage};
use crate::request::flowcontrol::{FlowSchemaSpec, PriorityLevelSpec, Queuing};
use crate::request::info::RequestInfo;
use crate::request::user::UserInfo;

const GROUP: &str = "flowcontrol.apiserver.k8s.io";

struct Stores {
    schemas: Arc<Store>,
    levels: Arc<Store>,
}

fn stores() -> Stores {
    let storage = memory_storage();
    Stores {
        schemas: builtin_store(&storage, (GROUP, "v1", "flowschemas")),
        levels: builtin_store(&storage, (GROUP, "v1", "prioritylevelconfigurations")),
    }
}

async fn names_in(store: &Store) -> BTreeSet<String> {
    let items = store
        .list(None, &ListOptions::default())
        .await
        .unwrap()
        .items;
    names(&items).collect()
}

async fn edit(store: &Store, name: &str, change: impl Fn(&mut Value) + Send + Sync) -> Value {
    store
        .guaranteed_update(None, name, &WriteOptions::default(), |current| {
            let mut next = current.clone();
            change(&mut next);
            Ok(next)
        })
        .await
        .unwrap()
}

fn level(object: &Value) -> PriorityLevelSpec {
    parse_priority_level(object).unwrap()
}

fn schema(object: &Value) -> FlowSchemaSpec {
    parse_flow_schema(object).unwrap()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn start_creates_every_bootstrap_object_annotated() {
    let s = stores();
    ensure(&s.schemas, &s.levels).await.unwrap();
    assert_eq!(
        names_in(&s.levels).await,
        set(&[
            "exempt",
            "catch-all",
            "system",
            "node-high",
            "leader-election",
            "workload-high",
            "workload-low",
            "global-default"
        ])
    );
    assert_eq!(
        names_in(&s.schemas).await,
        set(&[
            "exempt",
            "catch-all",
            "system-nodes",
            "system-node-high",
            "probes",
            "system-leader-election",
            "workload-leader-election",
            "endpoint-controller",
            "kube-controller-manager",
            "kube-scheduler",
            "kube-system-service-accounts",
            "service-accounts",
            "global-default"
        ])
    );
    for store in [&s.levels, &s.schemas] {
        for object in store
            .list(None, &ListOptions::default())
            .await
            .unwrap()
            .items
        {
            assert_eq!(annotation(&object), Some("true"), "{object}");
        }
    }
    let catch_all = level(&s.levels.get(None, "catch-all").await.unwrap());
    assert_eq!(
        (
            catch_all.nominal_concurrency_shares,
            catch_all.lendable_percent,
            catch_all.queuing
        ),
        (5, 0, None)
    );
    let exempt = level(&s.levels.get(None, "exempt").await.unwrap());
    assert!(exempt.exempt);
    let probes = schema(&s.schemas.get(None, "probes").await.unwrap());
    assert_eq!(
        (probes.matching_precedence, probes.priority_level.as_str()),
        (2, "exempt")
    );
    // A second pass changes nothing.
    let before = s.levels.get(None, "system").await.unwrap();
    ensure(&s.schemas, &s.levels).await.unwrap();
    let after = s.levels.get(None, "system").await.unwrap();
    assert_eq!(
        before["metadata"]["resourceVersion"],
        after["metadata"]["resourceVersion"]
    );
}

#[test]
fn the_bootstrap_values_are_upstreams() {
    let levels: Vec<PriorityLevelSpec> = bootstrap::mandatory_priority_levels()
        .iter()
        .chain(&bootstrap::suggested_priority_levels())
        .map(level)
        .collect();
    let queued = |name: &str| levels.iter().find(|l| l.name == name).unwrap().clone();
    // name, shares, lendable, queues, hand size, queue length limit
    for (name, shares, lendable, queues, hand, length) in [
        ("system", 30, 33, 64, 6, 50),
        ("node-high", 40, 25, 64, 6, 50),
        ("leader-election", 10, 0, 16, 4, 50),
        ("workload-high", 40, 50, 128, 6, 50),
        ("workload-low", 100, 90, 128, 6, 50),
        ("global-default", 20, 50, 128, 6, 50),
    ] {
        let l = queued(name);
        assert_eq!(
            (l.nominal_concurrency_shares, l.lendable_percent),
            (shares, lendable),
            "{name}"
        );
        let want = Queuing {
            queues,
            hand_size: hand,
            queue_length_limit: length,
        };
        assert_eq!(l.queuing, Some(want), "{name}");
        assert_eq!(l.borrowing_limit_percent, None);
    }
    let schemas: Vec<FlowSchemaSpec> = bootstrap::mandatory_flow_schemas()
        .iter()
        .chain(&bootstrap::suggested_flow_schemas())
        .map(schema)
        .collect();
    use crate::request::flowcontrol::Distinguisher::{ByNamespace, ByUser};
    for (name, level_name, precedence, distinguisher) in [
        ("exempt", "exempt", 1, None),
        ("probes", "exempt", 2, None),
        (
            "system-leader-election",
            "leader-election",
            100,
            Some(ByUser),
        ),
        ("endpoint-controller", "workload-high", 150, Some(ByUser)),
        (
            "workload-leader-election",
            "leader-election",
            200,
            Some(ByUser),
        ),
        ("system-node-high", "node-high", 400, Some(ByUser)),
        ("system-nodes", "system", 500, Some(ByUser)),
        (
            "kube-controller-manager",
            "workload-high",
            800,
            Some(ByNamespace),
        ),
        ("kube-scheduler", "workload-high", 800, Some(ByNamespace)),
        (
            "kube-system-service-accounts",
            "workload-high",
            900,
            Some(ByNamespace),
        ),
        ("service-accounts", "workload-low", 9000, Some(ByUser)),
        ("global-default", "global-default", 9900, Some(ByUser)),
        ("catch-all", "catch-all", 10000, Some(ByUser)),
    ] {
        let s = schemas.iter().find(|s| s.name == name).unwrap();
        assert_eq!(
            (
                s.priority_level.as_str(),
                s.matching_precedence,
                s.distinguisher
            ),
            (level_name, precedence, distinguisher),
            "{name}"
        );
        assert!(levels.iter().any(|l| l.name == s.priority_level), "{name}");
    }
    assert_eq!(schemas.len(), 13);
    assert_eq!(levels.len(), 8);
}

/// The schema a request is classified into: the lowest matching precedence, ties by name.
fn classify<'a>(schemas: &'a [FlowSchemaSpec], user: &UserInfo, info: &RequestInfo) -> &'a str {
    let mut sorted: Vec<&FlowSchemaSpec> = schemas.iter().collect();
    sorted.sort_by(|a, b| (a.matching_precedence, &a.name).cmp(&(b.matching_precedence, &b.name)));
    sorted
        .into_iter()
        .find(|s| s.matches(user, info))
        .map(|s| s.name.as_str())
        .unwrap_or("")
}

#[test]
fn bootstrap_schemas_classify_as_upstream() {
    let schemas: Vec<FlowSchemaSpec> = bootstrap::mandatory_flow_schemas()
        .iter()
        .chain(&bootstrap::suggested_flow_schemas())
        .map(schema)
        .collect();
    let who = |name: &str, groups: &[&str]| UserInfo {
        name: name.into(),
        groups: groups.iter().map(|g| g.to_string()).collect(),
        ..Default::default()
    };
    let res = |verb: &str, group: &str, resource: &str, sub: &str, ns: &str| RequestInfo {
        is_resource_request: true,
        verb: verb.into(),
        api_group: group.into(),
        resource: resource.into(),
        subresource: sub.into(),
        namespace: ns.into(),
        ..Default::default()
    };
    let path = |verb: &str, path: &str| RequestInfo {
        verb: verb.into(),
        path: path.into(),
        ..Default::default()
    };
    let admin = who("admin", &["system:masters", "system:authenticated"]);
    let node = who("system:node:n1", &["system:nodes", "system:authenticated"]);
    let kcm = who("system:kube-controller-manager", &["system:authenticated"]);
    let sa_system = who(
        "system:serviceaccount:kube-system:endpoint-controller",
        &["system:serviceaccounts", "system:authenticated"],
    );
    let sa = who(
        "system:serviceaccount:apps:builder",
        &["system:serviceaccounts", "system:authenticated"],
    );
    let bob = who("bob", &["system:authenticated"]);
    let anonymous = UserInfo::anonymous();
    let cases = [
        (&admin, res("delete", "", "pods", "", "ns"), "exempt"),
        (&anonymous, path("get", "/readyz"), "probes"),
        (&bob, path("get", "/livez"), "probes"),
        (&bob, path("post", "/livez"), "global-default"),
        (
            &node,
            res("update", "", "nodes", "status", ""),
            "system-node-high",
        ),
        (
            &node,
            res(
                "update",
                "coordination.k8s.io",
                "leases",
                "",
                "kube-node-lease",
            ),
            "system-node-high",
        ),
        (&node, res("get", "", "pods", "", "ns"), "system-nodes"),
        (
            &kcm,
            res("update", "coordination.k8s.io", "leases", "", "kube-system"),
            "system-leader-election",
        ),
        (
            &kcm,
            res("update", "", "endpoints", "", "default"),
            "endpoint-controller",
        ),
        (
            &kcm,
            res("list", "apps", "deployments", "", ""),
            "kube-controller-manager",
        ),
        (
            &sa_system,
            res("update", "", "endpoints", "", "ns"),
            "endpoint-controller",
        ),
        (
            &sa_system,
            res("update", "", "configmaps", "", "ns"),
            "workload-leader-election",
        ),
        (
            &sa_system,
            res("list", "", "pods", "", ""),
            "kube-system-service-accounts",
        ),
        (&sa, res("list", "", "pods", "", "apps"), "service-accounts"),
        (
            &bob,
            res("list", "", "pods", "", "default"),
            "global-default",
        ),
        (&anonymous, path("get", "/version"), "global-default"),
    ];
    for (user, info, want) in cases {
        assert_eq!(
            classify(&schemas, user, &info),
            want,
            "{} {info:?}",
            user.name
        );
    }
    // Without global-default, everyone else lands in catch-all.
    let without: Vec<FlowSchemaSpec> = schemas
        .iter()
        .filter(|s| s.name != "global-default")
        .cloned()
        .collect();
    assert_eq!(
        classify(&without, &bob, &res("get", "", "pods", "", "x")),
        "catch-all"
    );
}

#[tokio::test]
async fn a_changed_mandatory_spec_is_restored() {
    let s = stores();
    ensure(&s.schemas, &s.levels).await.unwrap();
    edit(&s.levels, "catch-all", |o| {
        o["spec"]["limited"]["nominalConcurrencyShares"] = json!(50);
        o["metadata"]["annotations"][AUTOUPDATE_ANNOTATION] = json!("false");
    })
    .await;
    edit(&s.schemas, "exempt", |o| {
        o["spec"]["matchingPrecedence"] = json!(7)
    })
    .await;
    ensure(&s.schemas, &s.levels).await.unwrap();
    let catch_all = s.levels.get(None, "catch-all").await.unwrap();
    assert_eq!(level(&catch_all).nominal_concurrency_shares, 5);
    assert_eq!(annotation(&catch_all), Some("true"));
    let exempt = s.schemas.get(None, "exempt").await.unwrap();
    assert_eq!(schema(&exempt).matching_precedence, 1);
}

#[tokio::test]
async fn suggested_objects_follow_their_annotation() {
    let s = stores();
    ensure(&s.schemas, &s.levels).await.unwrap();
    // "false": left alone.
    edit(&s.levels, "global-default", |o| {
        o["spec"]["limited"]["nominalConcurrencyShares"] = json!(77);
        o["metadata"]["annotations"][AUTOUPDATE_ANNOTATION] = json!("false");
    })
    .await;
    // "true": restored.
    edit(&s.levels, "workload-low", |o| {
        o["spec"]["limited"]["nominalConcurrencyShares"] = json!(1);
    })
    .await;
    // No annotation and edited (generation 2): left alone, annotated "false".
    let edited = edit(&s.schemas, "service-accounts", |o| {
        o["spec"]["matchingPrecedence"] = json!(8000);
        o["metadata"]["annotations"] = json!({});
    })
    .await;
    assert_eq!(edited["metadata"]["generation"], json!(2));
    // Deleted: re-created.
    s.levels
        .delete(
            None,
            "leader-election",
            &DeleteOptions::default(),
            &WriteOptions::default(),
        )
        .await
        .unwrap();
    ensure(&s.schemas, &s.levels).await.unwrap();

    let global = s.levels.get(None, "global-default").await.unwrap();
    assert_eq!(level(&global).nominal_concurrency_shares, 77);
    assert_eq!(annotation(&global), Some("false"));
    let low = s.levels.get(None, "workload-low").await.unwrap();
    assert_eq!(level(&low).nominal_concurrency_shares, 100);
    let accounts = s.schemas.get(None, "service-accounts").await.unwrap();
    assert_eq!(schema(&accounts).matching_precedence, 8000);
    assert_eq!(annotation(&accounts), Some("false"));
    let election = s.levels.get(None, "leader-election").await.unwrap();
    assert_eq!(level(&election).nominal_concurrency_shares, 10);
    assert_eq!(annotation(&election), Some("true"));
}

#[tokio::test]
async fn objects_dropped_from_the_bootstrap_are_deleted_when_auto_updated() {
    let s = stores();
    ensure(&s.schemas, &s.levels).await.unwrap();
    for (name, annotations) in [
        ("old-true", json!({AUTOUPDATE_ANNOTATION: "true"})),
        ("old-false", json!({AUTOUPDATE_ANNOTATION: "false"})),
        ("mine", json!({})),
    ] {
        let mut object = bootstrap::suggested_flow_schemas()[0].clone();
        object["metadata"] = json!({"name": name, "annotations": annotations});
        s.schemas
            .create(None, object, &WriteOptions::default())
            .await
            .unwrap();
    }
    ensure(&s.schemas, &s.levels).await.unwrap();
    let present = names_in(&s.schemas).await;
    assert!(!present.contains("old-true"));
    assert!(present.contains("old-false") && present.contains("mine"));
}

fn dangling_of(object: &Value) -> Option<Value> {
    object
        .pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c["type"] == DANGLING)
        .cloned()
}

#[tokio::test]
async fn a_flow_schema_naming_a_missing_level_is_dangling_until_it_exists() {
    let s = stores();
    ensure(&s.schemas, &s.levels).await.unwrap();
    let mut orphan = bootstrap::suggested_flow_schemas()[0].clone();
    orphan["metadata"] = json!({"name": "orphan"});
    orphan["spec"]["priorityLevelConfiguration"]["name"] = json!("missing");
    s.schemas
        .create(None, orphan, &WriteOptions::default())
        .await
        .unwrap();

    assert!(!update_dangling(&s.schemas, &s.levels).await);
    let condition = dangling_of(&s.schemas.get(None, "orphan").await.unwrap()).unwrap();
    assert_eq!(condition["status"], "True");
    assert_eq!(condition["reason"], "NotFound");
    assert_eq!(
        condition["message"],
        "This FlowSchema references the PriorityLevelConfiguration object named \"missing\" but there is no such object"
    );
    assert!(condition["lastTransitionTime"].is_string());
    let found = dangling_of(&s.schemas.get(None, "global-default").await.unwrap()).unwrap();
    assert_eq!(
        (found["status"].as_str(), found["reason"].as_str()),
        (Some("False"), Some("Found"))
    );
    assert_eq!(
        found["message"],
        "This FlowSchema references the PriorityLevelConfiguration object named \"global-default\" and it exists"
    );

    // Nothing changed: no write.
    let before = s.schemas.get(None, "orphan").await.unwrap();
    update_dangling(&s.schemas, &s.levels).await;
    let after = s.schemas.get(None, "orphan").await.unwrap();
    assert_eq!(
        before["metadata"]["resourceVersion"],
        after["metadata"]["resourceVersion"]
    );

    let mut missing = bootstrap::suggested_priority_levels()[0].clone();
    missing["metadata"] = json!({"name": "missing"});
    s.levels
        .create(None, missing, &WriteOptions::default())
        .await
        .unwrap();
    update_dangling(&s.schemas, &s.levels).await;
    let condition = dangling_of(&s.schemas.get(None, "orphan").await.unwrap()).unwrap();
    assert_eq!(
        (condition["status"].as_str(), condition["reason"].as_str()),
        (Some("False"), Some("Found"))
    );
}

/// Polls `check` on the FlowSchema `name` for up to ten seconds.
async fn eventually(store: &Store, name: &str, check: impl Fn(&Value) -> bool) -> bool {
    for _ in 0..100 {
        if let Ok(object) = store.get(None, name).await {
            if check(&object) {
                return true;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test]
async fn the_running_controller_follows_both_resources() {
    let s = stores();
    ensure(&s.schemas, &s.levels).await.unwrap();
    let task = tokio::spawn(run(s.schemas.clone(), s.levels.clone()));
    let mut orphan = bootstrap::suggested_flow_schemas()[0].clone();
    orphan["metadata"] = json!({"name": "orphan"});
    orphan["spec"]["priorityLevelConfiguration"]["name"] = json!("later");
    s.schemas
        .create(None, orphan, &WriteOptions::default())
        .await
        .unwrap();
    let status_is =
        |want: &'static str| move |o: &Value| dangling_of(o).is_some_and(|c| c["status"] == want);
    assert!(eventually(&s.schemas, "orphan", status_is("True")).await);
    let mut later = bootstrap::suggested_priority_levels()[0].clone();
    later["metadata"] = json!({"name": "later"});
    s.levels
        .create(None, later, &WriteOptions::default())
        .await
        .unwrap();
    assert!(eventually(&s.schemas, "orphan", status_is("False")).await);
    task.abort();
}

#[test]
fn go_booleans_parse_as_strconv() {
    for (text, want) in [
        ("true", Some(true)),
        ("1", Some(true)),
        ("T", Some(true)),
        ("False", Some(false)),
        ("0", Some(false)),
        ("yes", None),
        ("", None),
    ] {
        assert_eq!(parse_bool(text), want, "{text:?}");
    }
}
