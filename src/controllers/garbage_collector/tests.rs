//! The ownership graph's bookkeeping and the work it asks for, and the pure rules of the work
//! items.

use std::collections::HashSet;

use serde_json::{json, Value};

use super::graph::{Graph, Node, OwnerRef, ResourceKey, Work};
use super::worker::{deletion_policy, unblocked_owner_refs, without_finalizer, without_owner_refs};
use crate::registry::options::PropagationPolicy;

fn key(plural: &str) -> ResourceKey {
    ("apps".to_string(), plural.to_string())
}

fn object(name: &str, uid: &str, owners: &[(&str, bool)]) -> Value {
    let refs: Vec<Value> = owners
        .iter()
        .map(|(owner, block)| {
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": format!("owner-{owner}"),
                   "uid": owner, "controller": true, "blockOwnerDeletion": block})
        })
        .collect();
    json!({"metadata": {"name": name, "namespace": "default", "uid": uid, "ownerReferences": refs}})
}

fn node(plural: &str, obj: &Value) -> Node {
    Node::of(&key(plural), obj).expect("has a uid")
}

fn deleting(obj: &Value, finalizer: &str) -> Value {
    let mut obj = obj.clone();
    obj["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
    obj["metadata"]["finalizers"] = json!([finalizer]);
    obj
}

#[test]
fn owner_refs_are_read_with_their_group() {
    let obj = json!({"metadata": {"ownerReferences": [
        {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "u1", "blockOwnerDeletion": true},
        {"apiVersion": "v1", "kind": "Node", "name": "n", "uid": "u2"},
        {"apiVersion": "v1", "kind": "Broken"}
    ]}});
    let refs = OwnerRef::of(&obj);
    assert_eq!(refs.len(), 2, "the malformed entry is skipped");
    assert_eq!(
        (refs[0].group.as_str(), refs[0].block_owner_deletion),
        ("apps", true)
    );
    assert_eq!(
        (refs[1].group.as_str(), refs[1].block_owner_deletion),
        ("", false)
    );
}

#[test]
fn a_dependent_of_an_unseen_owner_is_verified_once() {
    let mut graph = Graph::default();
    assert!(graph.is_empty());
    let rs = object("rs", "rs1", &[("d1", true)]);
    assert_eq!(
        graph.observe(node("replicasets", &rs)),
        vec![Work::AttemptToDelete("rs1".into())]
    );
    // The same object again: nothing new to verify.
    assert!(graph.observe(node("replicasets", &rs)).is_empty());
    // Once the owner is observed, a new dependent of it needs no verification.
    let d = json!({"metadata": {"name": "owner-d1", "namespace": "default", "uid": "d1"}});
    assert!(graph.observe(node("deployments", &d)).is_empty());
    let rs2 = object("rs2", "rs2", &[("d1", true)]);
    assert!(graph.observe(node("replicasets", &rs2)).is_empty());
    assert_eq!(graph.dependents("d1").len(), 2);
}

#[test]
fn removing_an_owner_asks_to_look_at_its_dependents() {
    let mut graph = Graph::default();
    let d = json!({"metadata": {"name": "owner-d1", "namespace": "default", "uid": "d1"}});
    graph.observe(node("deployments", &d));
    graph.observe(node("replicasets", &object("rs", "rs1", &[("d1", true)])));
    assert_eq!(
        graph.remove("d1"),
        vec![Work::AttemptToDelete("rs1".into())]
    );
    assert!(graph.remove("d1").is_empty(), "removing twice does nothing");
}

#[test]
fn a_foreground_owner_waits_on_blocking_dependents() {
    let mut graph = Graph::default();
    let d = json!({"metadata": {"name": "owner-d1", "namespace": "default", "uid": "d1"}});
    graph.observe(node("deployments", &d));
    graph.observe(node("replicasets", &object("a", "a", &[("d1", true)])));
    graph.observe(node("replicasets", &object("b", "b", &[("d1", false)])));
    // The owner starts its foreground deletion: every dependent is looked at, then the owner.
    let mut work = graph.observe(node("deployments", &deleting(&d, "foregroundDeletion")));
    let owner = work.pop();
    assert_eq!(owner, Some(Work::AttemptToDelete("d1".into())));
    let deps: HashSet<Work> = work.into_iter().collect();
    assert_eq!(
        deps,
        [
            Work::AttemptToDelete("a".into()),
            Work::AttemptToDelete("b".into())
        ]
        .into()
    );
    let blocking: Vec<&str> = graph
        .blocking_dependents("d1")
        .iter()
        .map(|n| n.uid.as_str())
        .collect();
    assert_eq!(blocking, ["a"]);
    // The blocking dependent goes: the waiting owner is looked at again.
    assert_eq!(graph.remove("a"), vec![Work::AttemptToDelete("d1".into())]);
    assert!(graph.blocking_dependents("d1").is_empty());
    // A dependent dropping its reference also wakes the owner.
    let released = json!({"metadata": {"name": "b", "namespace": "default", "uid": "b"}});
    assert_eq!(
        graph.observe(node("replicasets", &released)),
        vec![Work::AttemptToDelete("d1".into())]
    );
    assert!(graph.dependents("d1").is_empty());
}

#[test]
fn an_orphaning_owner_is_queued_once() {
    let mut graph = Graph::default();
    let d = json!({"metadata": {"name": "owner-d1", "namespace": "default", "uid": "d1"}});
    graph.observe(node("deployments", &d));
    let marked = deleting(&d, "orphan");
    assert_eq!(
        graph.observe(node("deployments", &marked)),
        vec![Work::Orphan("d1".into())]
    );
    assert!(graph.observe(node("deployments", &marked)).is_empty());
}

#[test]
fn a_fresh_list_removes_what_is_gone() {
    let mut graph = Graph::default();
    let d = json!({"metadata": {"name": "owner-d1", "namespace": "default", "uid": "d1"}});
    graph.observe(node("deployments", &d));
    graph.observe(node("replicasets", &object("rs", "rs1", &[("d1", true)])));
    // The deployments are listed again, without d1 (deleted while the watch was down).
    let work = graph.replace(&key("deployments"), Vec::new());
    assert_eq!(work, vec![Work::AttemptToDelete("rs1".into())]);
    assert!(graph.node("d1").is_none());
    assert!(graph.node("rs1").is_some(), "other resources are untouched");
}

#[test]
fn the_deletion_policy_of_a_dependent() {
    let plain = json!({"metadata": {"name": "x"}});
    assert_eq!(
        deletion_policy(&plain, false, true),
        PropagationPolicy::Background
    );
    assert_eq!(
        deletion_policy(&plain, true, false),
        PropagationPolicy::Background
    );
    assert_eq!(
        deletion_policy(&plain, true, true),
        PropagationPolicy::Foreground
    );
    let orphaning = json!({"metadata": {"name": "x", "finalizers": ["orphan"]}});
    assert_eq!(
        deletion_policy(&orphaning, false, true),
        PropagationPolicy::Orphan
    );
    let foreground = json!({"metadata": {"name": "x", "finalizers": ["foregroundDeletion"]}});
    assert_eq!(
        deletion_policy(&foreground, false, false),
        PropagationPolicy::Foreground
    );
}

#[test]
fn owner_references_and_finalizers_are_removed() {
    let obj = object("rs", "rs1", &[("d1", true), ("d2", true)]);
    let one: HashSet<String> = ["d1".to_string()].into();
    let next = without_owner_refs(&obj, &one).expect("changes");
    assert_eq!(
        next["metadata"]["ownerReferences"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(next["metadata"]["ownerReferences"][0]["uid"], "d2");
    let both: HashSet<String> = ["d1".to_string(), "d2".to_string()].into();
    let bare = without_owner_refs(&obj, &both).expect("changes");
    assert!(bare["metadata"].get("ownerReferences").is_none());
    assert!(without_owner_refs(&bare, &both).is_none());

    let unblocked = unblocked_owner_refs(&obj).expect("changes");
    assert_eq!(
        unblocked["metadata"]["ownerReferences"][1]["blockOwnerDeletion"],
        false
    );
    assert!(unblocked_owner_refs(&unblocked).is_none());

    let held = json!({"metadata": {"finalizers": ["example.com/hold", "orphan"]}});
    let next = without_finalizer(&held, "orphan").expect("changes");
    assert_eq!(next["metadata"]["finalizers"], json!(["example.com/hold"]));
    assert!(without_finalizer(&next, "orphan").is_none());
    let last = without_finalizer(&next, "example.com/hold").expect("changes");
    assert!(last["metadata"].get("finalizers").is_none());
}

#[test]
fn a_resource_listed_late_rechecks_dependents_of_its_kind() {
    let mut graph = Graph::default();
    graph.observe(node("replicasets", &object("rs", "rs1", &[("d1", true)])));
    assert_eq!(
        graph.unseen_owners_of_kind("apps", "Deployment"),
        vec![Work::AttemptToDelete("rs1".into())]
    );
    assert!(graph
        .unseen_owners_of_kind("apps", "StatefulSet")
        .is_empty());
    let d = json!({"metadata": {"name": "owner-d1", "namespace": "default", "uid": "d1"}});
    graph.observe(node("deployments", &d));
    assert!(graph.unseen_owners_of_kind("apps", "Deployment").is_empty());
}
