//! Workload groups of kube-apiserver 1.33: `apps`, `batch`, `autoscaling`, `policy`.

use k8s_openapi::api::apps::v1 as apps;
use k8s_openapi::api::autoscaling::{v1 as autoscaling_v1, v2 as autoscaling_v2};
use k8s_openapi::api::batch::v1 as batch;
use k8s_openapi::api::policy::v1 as policy;

use super::build::{resource, scale, status};
use super::{Codec, GroupVersionKind, Persistence, ResourceInfo};

const NS: bool = true;
const ALL: &[&str] = &["all"];

const DAEMON_SET: Codec = Codec::of::<apps::DaemonSet>();
const DEPLOYMENT: Codec = Codec::of::<apps::Deployment>();
const REPLICA_SET: Codec = Codec::of::<apps::ReplicaSet>();
const STATEFUL_SET: Codec = Codec::of::<apps::StatefulSet>();
const HPA_V1: Codec = Codec::of::<autoscaling_v1::HorizontalPodAutoscaler>();
const HPA_V2: Codec = Codec::of::<autoscaling_v2::HorizontalPodAutoscaler>();
const CRON_JOB: Codec = Codec::of::<batch::CronJob>();
const JOB: Codec = Codec::of::<batch::Job>();
const PDB: Codec = Codec::of::<policy::PodDisruptionBudget>();

/// HPAs of every version are stored as `autoscaling/v2`.
const HPA_STORAGE: GroupVersionKind =
    GroupVersionKind { group: "autoscaling", version: "v2", kind: "HorizontalPodAutoscaler" };

pub(super) static RESOURCES: &[ResourceInfo] = &[
    resource("apps", "v1", "ControllerRevision", "controllerrevisions", "controllerrevision", NS, Codec::of::<apps::ControllerRevision>()),
    ResourceInfo {
        short_names: &["ds"],
        categories: ALL,
        subresources: &[status("DaemonSet", DAEMON_SET)],
        ..resource("apps", "v1", "DaemonSet", "daemonsets", "daemonset", NS, DAEMON_SET)
    },
    ResourceInfo {
        short_names: &["deploy"],
        categories: ALL,
        subresources: &[scale(), status("Deployment", DEPLOYMENT)],
        ..resource("apps", "v1", "Deployment", "deployments", "deployment", NS, DEPLOYMENT)
    },
    ResourceInfo {
        short_names: &["rs"],
        categories: ALL,
        subresources: &[scale(), status("ReplicaSet", REPLICA_SET)],
        ..resource("apps", "v1", "ReplicaSet", "replicasets", "replicaset", NS, REPLICA_SET)
    },
    ResourceInfo {
        short_names: &["sts"],
        categories: ALL,
        subresources: &[scale(), status("StatefulSet", STATEFUL_SET)],
        ..resource("apps", "v1", "StatefulSet", "statefulsets", "statefulset", NS, STATEFUL_SET)
    },
    ResourceInfo {
        short_names: &["hpa"],
        categories: ALL,
        subresources: &[status("HorizontalPodAutoscaler", HPA_V2)],
        persistence: Persistence::StoredAs(HPA_STORAGE),
        ..resource("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", "horizontalpodautoscaler", NS, HPA_V2)
    },
    ResourceInfo {
        short_names: &["hpa"],
        categories: ALL,
        subresources: &[status("HorizontalPodAutoscaler", HPA_V1)],
        storage_version: false,
        persistence: Persistence::StoredAs(HPA_STORAGE),
        ..resource("autoscaling", "v1", "HorizontalPodAutoscaler", "horizontalpodautoscalers", "horizontalpodautoscaler", NS, HPA_V1)
    },
    ResourceInfo {
        short_names: &["cj"],
        categories: ALL,
        subresources: &[status("CronJob", CRON_JOB)],
        ..resource("batch", "v1", "CronJob", "cronjobs", "cronjob", NS, CRON_JOB)
    },
    ResourceInfo {
        categories: ALL,
        subresources: &[status("Job", JOB)],
        ..resource("batch", "v1", "Job", "jobs", "job", NS, JOB)
    },
    ResourceInfo {
        short_names: &["pdb"],
        subresources: &[status("PodDisruptionBudget", PDB)],
        ..resource("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", "poddisruptionbudget", NS, PDB)
    },
];
