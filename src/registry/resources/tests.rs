use serde_json::json;

use super::*;
use crate::api::names::NameRule;
use crate::catalog::builtin;
use crate::registry::scale::ScalePaths;
use crate::registry::strategy::{DeleteAction, GcPolicy};

fn strategy(group: &str, plural: &str) -> Arc<dyn Strategy> {
    let info = builtin()
        .iter()
        .find(|info| info.group == group && info.plural == plural)
        .unwrap_or_else(|| panic!("no built-in {group}/{plural}"));
    strategy_for(info)
}

#[test]
fn default_policies_follow_upstream_strategies() {
    assert_eq!(
        rules_of("", "replicationcontrollers").gc_policy,
        GcPolicy::OrphanDependents
    );
    assert_eq!(
        rules_of("batch", "jobs").gc_policy,
        GcPolicy::OrphanDependents
    );
    assert_eq!(rules_of("", "events").gc_policy, GcPolicy::Unsupported);
    assert_eq!(
        rules_of("apps", "deployments").gc_policy,
        GcPolicy::DeleteDependents
    );
    assert_eq!(
        rules_of("example.com", "widgets").gc_policy,
        GcPolicy::DeleteDependents
    );
    assert_eq!(
        strategy("batch", "jobs").gc_policy(),
        GcPolicy::OrphanDependents
    );
    assert_eq!(
        strategy("events.k8s.io", "events").gc_policy(),
        GcPolicy::Unsupported
    );
}

#[test]
fn default_delete_is_the_stores_generic_deletion() {
    let s = strategy("", "configmaps");
    let with = json!({"metadata": {"name": "a", "finalizers": ["example.com/f"]}});
    assert_eq!(s.begin_delete(&with), DeleteAction::Generic);
    assert_eq!(s.graceful_delete_period(&with, Some(5)), None);
    assert!(!s.ready_to_remove(&with));
    assert_eq!(s.refuse_delete("a"), None);
}

#[test]
fn system_priority_classes_refuse_deletion() {
    let s = strategy("scheduling.k8s.io", "priorityclasses");
    assert_eq!(
        s.refuse_delete("system-node-critical"),
        Some("this is a system priority class and cannot be deleted")
    );
    assert_eq!(s.refuse_delete("high"), None);
}

#[test]
fn scale_subresources_of_the_workloads() {
    assert_eq!(
        strategy("apps", "deployments").scale(),
        Some(ScalePaths::workload())
    );
    assert_eq!(
        strategy("", "replicationcontrollers").scale(),
        Some(ScalePaths::replication_controller())
    );
    assert!(strategy("", "pods").scale().is_none());
    assert!(strategy("apps", "daemonsets").scale().is_none());
}

#[test]
fn deletes_answering_the_object_as_upstream_stores() {
    for (group, plural) in [
        ("", "pods"),
        ("", "services"),
        ("", "namespaces"),
        ("", "serviceaccounts"),
        ("storage.k8s.io", "storageclasses"),
    ] {
        assert!(
            strategy(group, plural).returns_deleted_object(),
            "{group}/{plural}"
        );
    }
    assert!(!strategy("", "configmaps").returns_deleted_object());
}

#[test]
fn names_generation_and_create_on_update_per_resource() {
    assert_eq!(
        strategy("", "namespaces").name_rule(),
        NameRule::Dns1123Label
    );
    assert_eq!(strategy("", "services").name_rule(), NameRule::Dns1035Label);
    assert_eq!(
        strategy("rbac.authorization.k8s.io", "clusterroles").name_rule(),
        NameRule::PathSegment
    );
    assert_eq!(
        strategy("", "configmaps").name_rule(),
        NameRule::Dns1123Subdomain
    );
    assert!(strategy("apps", "deployments").tracks_generation());
    assert!(strategy("autoscaling", "horizontalpodautoscalers").tracks_generation());
    assert!(!strategy("", "configmaps").tracks_generation());
    assert!(strategy("coordination.k8s.io", "leases").allow_create_on_update());
    assert!(strategy("", "endpoints").allow_create_on_update());
    assert!(!strategy("", "pods").allow_create_on_update());
    assert!(strategy("", "pods").has_status_subresource());
}

#[test]
fn creates_served_by_their_own_rest() {
    use crate::registry::strategy::CreateRest;
    assert_eq!(
        strategy("", "configmaps").create_rest(None),
        Some(CreateRest::Store)
    );
    assert_eq!(strategy("", "configmaps").create_rest(Some("status")), None);
    assert_eq!(
        strategy("", "pods").create_rest(Some("binding")),
        Some(CreateRest::Binding)
    );
    assert_eq!(
        strategy("", "pods").create_rest(Some("eviction")),
        Some(CreateRest::Eviction)
    );
    assert_eq!(
        strategy("", "bindings").create_rest(None),
        Some(CreateRest::Binding)
    );
    assert_eq!(
        strategy("", "serviceaccounts").create_rest(Some("token")),
        Some(CreateRest::TokenRequest)
    );
    assert_eq!(
        strategy("authentication.k8s.io", "tokenreviews").create_rest(None),
        Some(CreateRest::TokenReview)
    );
    assert_eq!(
        strategy("authentication.k8s.io", "selfsubjectreviews").create_rest(None),
        Some(CreateRest::SelfSubjectReview)
    );
    assert_eq!(
        strategy("authorization.k8s.io", "subjectaccessreviews").create_rest(None),
        Some(CreateRest::AccessReview)
    );
}
