//! Workload groups of kube-apiserver 1.33: `apps`, `batch`, `autoscaling`, `policy`.

use super::build::{names, resource, scale, status};
use super::ResourceInfo;

const NS: bool = true;
const ALL: &[&str] = &["all"];

pub(super) fn resources() -> Vec<ResourceInfo> {
    vec![
        resource(
            "apps",
            "v1",
            "ControllerRevision",
            "controllerrevisions",
            "controllerrevision",
            NS,
        ),
        ResourceInfo {
            short_names: names(&["ds"]),
            categories: names(ALL),
            subresources: vec![status("DaemonSet")],
            ..resource("apps", "v1", "DaemonSet", "daemonsets", "daemonset", NS)
        },
        ResourceInfo {
            short_names: names(&["deploy"]),
            categories: names(ALL),
            subresources: vec![scale(), status("Deployment")],
            ..resource("apps", "v1", "Deployment", "deployments", "deployment", NS)
        },
        ResourceInfo {
            short_names: names(&["rs"]),
            categories: names(ALL),
            subresources: vec![scale(), status("ReplicaSet")],
            ..resource("apps", "v1", "ReplicaSet", "replicasets", "replicaset", NS)
        },
        ResourceInfo {
            short_names: names(&["sts"]),
            categories: names(ALL),
            subresources: vec![scale(), status("StatefulSet")],
            ..resource(
                "apps",
                "v1",
                "StatefulSet",
                "statefulsets",
                "statefulset",
                NS,
            )
        },
        ResourceInfo {
            short_names: names(&["hpa"]),
            categories: names(ALL),
            subresources: vec![status("HorizontalPodAutoscaler")],
            ..resource(
                "autoscaling",
                "v2",
                "HorizontalPodAutoscaler",
                "horizontalpodautoscalers",
                "horizontalpodautoscaler",
                NS,
            )
        },
        ResourceInfo {
            short_names: names(&["hpa"]),
            categories: names(ALL),
            subresources: vec![status("HorizontalPodAutoscaler")],
            storage_version: false,
            ..resource(
                "autoscaling",
                "v1",
                "HorizontalPodAutoscaler",
                "horizontalpodautoscalers",
                "horizontalpodautoscaler",
                NS,
            )
        },
        ResourceInfo {
            short_names: names(&["cj"]),
            categories: names(ALL),
            subresources: vec![status("CronJob")],
            ..resource("batch", "v1", "CronJob", "cronjobs", "cronjob", NS)
        },
        ResourceInfo {
            categories: names(ALL),
            subresources: vec![status("Job")],
            ..resource("batch", "v1", "Job", "jobs", "job", NS)
        },
        ResourceInfo {
            short_names: names(&["pdb"]),
            subresources: vec![status("PodDisruptionBudget")],
            ..resource(
                "policy",
                "v1",
                "PodDisruptionBudget",
                "poddisruptionbudgets",
                "poddisruptionbudget",
                NS,
            )
        },
    ]
}
