//! The decision rules of the generic deletion, against upstream's store tests' expectations.

use serde_json::{json, Value};

use super::*;
use crate::registry::options::Preconditions;
use crate::registry::resources::core::pods::pod_grace_period;
use crate::registry::strategy::Strategy;

/// A strategy without graceful deletion (every built-in but pods).
struct Plain;
impl Strategy for Plain {}

/// Pods' graceful deletion.
struct Graceful;
impl Strategy for Graceful {
    fn graceful_delete_period(&self, obj: &Value, requested: Option<i64>) -> Option<i64> {
        Some(pod_grace_period(obj, requested))
    }
}

fn now() -> jiff::Timestamp {
    "2026-01-01T00:00:00Z".parse().unwrap()
}

fn policy(p: PropagationPolicy) -> DeleteOptions {
    DeleteOptions {
        propagation_policy: Some(p),
        ..Default::default()
    }
}

fn kept(plan: DeletePlan) -> Value {
    match plan {
        DeletePlan::Keep(obj) => obj,
        other => panic!("expected the object kept, got {other:?}"),
    }
}

#[test]
fn an_object_without_finalizers_goes_at_once_in_background() {
    let obj = json!({"metadata": {"name": "a", "generation": 1}});
    let opts = policy(PropagationPolicy::Background);
    assert_eq!(
        plan_generic_delete(&Plain, &obj, &opts, GcPolicy::DeleteDependents, now()),
        DeletePlan::Remove
    );
    assert_eq!(
        plan_generic_delete(
            &Plain,
            &obj,
            &DeleteOptions::default(),
            GcPolicy::DeleteDependents,
            now()
        ),
        DeletePlan::Remove
    );
}

#[test]
fn foreground_and_orphan_add_their_finalizer_and_mark() {
    let obj = json!({"metadata": {"name": "a", "generation": 3, "finalizers": ["example.com/x"]}});
    let marked = kept(plan_generic_delete(
        &Plain,
        &obj,
        &policy(PropagationPolicy::Foreground),
        GcPolicy::DeleteDependents,
        now(),
    ));
    assert_eq!(
        marked["metadata"]["finalizers"],
        json!(["example.com/x", "foregroundDeletion"])
    );
    assert_eq!(
        marked["metadata"]["deletionTimestamp"],
        "2026-01-01T00:00:00Z"
    );
    assert_eq!(marked["metadata"]["deletionGracePeriodSeconds"], 0);
    assert_eq!(marked["metadata"]["generation"], 4, "first mark bumps");

    let orphaned = kept(plan_generic_delete(
        &Plain,
        &json!({"metadata": {"name": "a"}}),
        &DeleteOptions {
            orphan_dependents: Some(true),
            ..Default::default()
        },
        GcPolicy::DeleteDependents,
        now(),
    ));
    assert_eq!(orphaned["metadata"]["finalizers"], json!(["orphan"]));
}

#[test]
fn default_orphan_policy_and_unsupported() {
    let obj = json!({"metadata": {"name": "rc"}});
    let marked = kept(plan_generic_delete(
        &Plain,
        &obj,
        &DeleteOptions::default(),
        GcPolicy::OrphanDependents,
        now(),
    ));
    assert_eq!(marked["metadata"]["finalizers"], json!(["orphan"]));
    // An explicit Background beats the resource's default.
    assert_eq!(
        plan_generic_delete(
            &Plain,
            &obj,
            &policy(PropagationPolicy::Background),
            GcPolicy::OrphanDependents,
            now()
        ),
        DeletePlan::Remove
    );
    // Events never take garbage-collection finalizers.
    assert_eq!(
        plan_generic_delete(
            &Plain,
            &obj,
            &policy(PropagationPolicy::Foreground),
            GcPolicy::Unsupported,
            now()
        ),
        DeletePlan::Remove
    );
}

#[test]
fn deleting_again_switches_the_policy() {
    let deleting = json!({"metadata": {"name": "a", "deletionTimestamp": "2025-12-31T00:00:00Z",
        "deletionGracePeriodSeconds": 0, "finalizers": ["foregroundDeletion"]}});
    // Background removes the foreground finalizer: nothing holds the object any more.
    assert_eq!(
        plan_generic_delete(
            &Plain,
            &deleting,
            &policy(PropagationPolicy::Background),
            GcPolicy::DeleteDependents,
            now()
        ),
        DeletePlan::Remove
    );
    // Orphan swaps the finalizers; the earlier deletionTimestamp stays.
    let swapped = kept(plan_generic_delete(
        &Plain,
        &deleting,
        &policy(PropagationPolicy::Orphan),
        GcPolicy::DeleteDependents,
        now(),
    ));
    assert_eq!(swapped["metadata"]["finalizers"], json!(["orphan"]));
    assert_eq!(
        swapped["metadata"]["deletionTimestamp"],
        "2025-12-31T00:00:00Z"
    );
    // No policy: the finalizer present decides, nothing changes.
    assert_eq!(
        kept(plan_generic_delete(
            &Plain,
            &deleting,
            &DeleteOptions::default(),
            GcPolicy::DeleteDependents,
            now()
        )),
        deleting
    );
}

#[test]
fn a_bound_pod_is_deleted_gracefully_then_forced() {
    let pod = json!({"metadata": {"name": "p"}, "spec": {"nodeName": "n1"}, "status": {"phase": "Running"}});
    let opts = policy(PropagationPolicy::Background);
    let marked = kept(plan_generic_delete(
        &Graceful,
        &pod,
        &opts,
        GcPolicy::DeleteDependents,
        now(),
    ));
    assert_eq!(
        marked["metadata"]["deletionTimestamp"],
        "2026-01-01T00:00:30Z"
    );
    assert_eq!(marked["metadata"]["deletionGracePeriodSeconds"], 30);
    assert!(marked["metadata"].get("finalizers").is_none());
    // Again without a shorter grace period: pending, unchanged.
    assert_eq!(
        plan_generic_delete(&Graceful, &marked, &opts, GcPolicy::DeleteDependents, now()),
        DeletePlan::Pending
    );
    let longer = DeleteOptions {
        grace_period_seconds: Some(60),
        ..Default::default()
    };
    assert_eq!(
        plan_generic_delete(
            &Graceful,
            &marked,
            &longer,
            GcPolicy::DeleteDependents,
            now()
        ),
        DeletePlan::Pending
    );
    // A shorter one moves the deadline earlier.
    let shorter = DeleteOptions {
        grace_period_seconds: Some(10),
        ..Default::default()
    };
    let moved = kept(plan_generic_delete(
        &Graceful,
        &marked,
        &shorter,
        GcPolicy::DeleteDependents,
        now(),
    ));
    assert_eq!(
        moved["metadata"]["deletionTimestamp"],
        "2026-01-01T00:00:10Z"
    );
    assert_eq!(moved["metadata"]["deletionGracePeriodSeconds"], 10);
    // --grace-period=0 --force removes it.
    let force = DeleteOptions {
        grace_period_seconds: Some(0),
        ..Default::default()
    };
    assert_eq!(
        plan_generic_delete(
            &Graceful,
            &marked,
            &force,
            GcPolicy::DeleteDependents,
            now()
        ),
        DeletePlan::Remove
    );
}

#[test]
fn an_unbound_pod_goes_at_once_unless_finalizers_hold_it() {
    let pod = json!({"metadata": {"name": "p"}, "spec": {}});
    assert_eq!(
        plan_generic_delete(
            &Graceful,
            &pod,
            &DeleteOptions::default(),
            GcPolicy::DeleteDependents,
            now()
        ),
        DeletePlan::Remove
    );
    let held = json!({"metadata": {"name": "p", "finalizers": ["example.com/hold"]}, "spec": {}});
    let marked = kept(plan_generic_delete(
        &Graceful,
        &held,
        &DeleteOptions::default(),
        GcPolicy::DeleteDependents,
        now(),
    ));
    assert_eq!(marked["metadata"]["deletionGracePeriodSeconds"], 0);
    assert_eq!(
        marked["metadata"]["deletionTimestamp"],
        "2026-01-01T00:00:00Z"
    );
}

#[test]
fn preconditions_use_before_delete_messages() {
    let obj = json!({"metadata": {"name": "d", "uid": "u1", "resourceVersion": "7"}});
    let opts = DeleteOptions {
        preconditions: Some(Preconditions {
            uid: Some("u2".into()),
            resource_version: None,
        }),
        ..Default::default()
    };
    let err = check_preconditions("apps", "Deployment", &obj, &opts).unwrap_err();
    assert_eq!(err.status.code, 409);
    assert_eq!(
        err.status.message,
        "Operation cannot be fulfilled on Deployment.apps \"d\": the UID in the precondition (u2) does not match the UID in record (u1). The object might have been deleted and then recreated"
    );
    let opts = DeleteOptions {
        preconditions: Some(Preconditions {
            uid: Some("u1".into()),
            resource_version: Some("6".into()),
        }),
        ..Default::default()
    };
    let err = check_preconditions("", "Pod", &obj, &opts).unwrap_err();
    assert_eq!(
        err.status.message,
        "Operation cannot be fulfilled on Pod \"d\": the ResourceVersion in the precondition (6) does not match the ResourceVersion in record (7). The object might have been modified"
    );
}
