//! Workload groups of kube-apiserver 1.33: `apps`, `batch`, `autoscaling`, `policy`.

use super::build::{resource, scale, status};
use super::ResourceInfo;

const NS: bool = true;
const ALL: &[&str] = &["all"];

pub(super) static RESOURCES: &[ResourceInfo] = &[
    resource(
        "apps",
        "v1",
        "ControllerRevision",
        "controllerrevisions",
        "controllerrevision",
        NS,
    ),
    ResourceInfo {
        short_names: &["ds"],
        categories: ALL,
        subresources: &[status("DaemonSet")],
        ..resource("apps", "v1", "DaemonSet", "daemonsets", "daemonset", NS)
    },
    ResourceInfo {
        short_names: &["deploy"],
        categories: ALL,
        subresources: &[scale(), status("Deployment")],
        ..resource("apps", "v1", "Deployment", "deployments", "deployment", NS)
    },
    ResourceInfo {
        short_names: &["rs"],
        categories: ALL,
        subresources: &[scale(), status("ReplicaSet")],
        ..resource("apps", "v1", "ReplicaSet", "replicasets", "replicaset", NS)
    },
    ResourceInfo {
        short_names: &["sts"],
        categories: ALL,
        subresources: &[scale(), status("StatefulSet")],
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
        short_names: &["hpa"],
        categories: ALL,
        subresources: &[status("HorizontalPodAutoscaler")],
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
        short_names: &["hpa"],
        categories: ALL,
        subresources: &[status("HorizontalPodAutoscaler")],
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
        short_names: &["cj"],
        categories: ALL,
        subresources: &[status("CronJob")],
        ..resource("batch", "v1", "CronJob", "cronjobs", "cronjob", NS)
    },
    ResourceInfo {
        categories: ALL,
        subresources: &[status("Job")],
        ..resource("batch", "v1", "Job", "jobs", "job", NS)
    },
    ResourceInfo {
        short_names: &["pdb"],
        subresources: &[status("PodDisruptionBudget")],
        ..resource(
            "policy",
            "v1",
            "PodDisruptionBudget",
            "poddisruptionbudgets",
            "poddisruptionbudget",
            NS,
        )
    },
];
