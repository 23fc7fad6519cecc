//! The core group (`/api/v1`) of kube-apiserver 1.33, as its discovery lists it.

use super::build::{connect, operation, resource, scale, status};
use super::{verbs, ResourceInfo, SubresourceInfo};

const NS: bool = true;
const CLUSTER: bool = false;
const ALL: &[&str] = &["all"];

pub(super) static RESOURCES: &[ResourceInfo] = &[
    operation("", "v1", "Binding", "bindings", "binding", NS),
    ResourceInfo {
        verbs: verbs::GET_LIST,
        short_names: &["cs"],
        ..resource(
            "",
            "v1",
            "ComponentStatus",
            "componentstatuses",
            "componentstatus",
            CLUSTER,
        )
    },
    ResourceInfo {
        short_names: &["cm"],
        ..resource("", "v1", "ConfigMap", "configmaps", "configmap", NS)
    },
    ResourceInfo {
        short_names: &["ep"],
        ..resource("", "v1", "Endpoints", "endpoints", "endpoints", NS)
    },
    ResourceInfo {
        short_names: &["ev"],
        ..resource("", "v1", "Event", "events", "event", NS)
    },
    ResourceInfo {
        short_names: &["limits"],
        ..resource("", "v1", "LimitRange", "limitranges", "limitrange", NS)
    },
    ResourceInfo {
        verbs: verbs::NO_DELETE_COLLECTION,
        short_names: &["ns"],
        subresources: &[
            SubresourceInfo {
                name: "finalize",
                kind: "Namespace",
                group_version: None,
                verbs: verbs::UPDATE,
            },
            status("Namespace"),
        ],
        ..resource("", "v1", "Namespace", "namespaces", "namespace", CLUSTER)
    },
    ResourceInfo {
        short_names: &["no"],
        subresources: &[
            connect("proxy", "NodeProxyOptions", verbs::PROXY),
            status("Node"),
        ],
        ..resource("", "v1", "Node", "nodes", "node", CLUSTER)
    },
    ResourceInfo {
        short_names: &["pvc"],
        subresources: &[status("PersistentVolumeClaim")],
        ..resource(
            "",
            "v1",
            "PersistentVolumeClaim",
            "persistentvolumeclaims",
            "persistentvolumeclaim",
            NS,
        )
    },
    ResourceInfo {
        short_names: &["pv"],
        subresources: &[status("PersistentVolume")],
        ..resource(
            "",
            "v1",
            "PersistentVolume",
            "persistentvolumes",
            "persistentvolume",
            CLUSTER,
        )
    },
    ResourceInfo {
        short_names: &["po"],
        categories: ALL,
        subresources: &[
            connect("attach", "PodAttachOptions", verbs::CREATE_GET),
            SubresourceInfo {
                name: "binding",
                kind: "Binding",
                group_version: None,
                verbs: verbs::CREATE,
            },
            SubresourceInfo {
                name: "ephemeralcontainers",
                kind: "Pod",
                group_version: None,
                verbs: verbs::GET_PATCH_UPDATE,
            },
            SubresourceInfo {
                name: "eviction",
                kind: "Eviction",
                group_version: Some("policy/v1"),
                verbs: verbs::CREATE,
            },
            connect("exec", "PodExecOptions", verbs::CREATE_GET),
            connect("log", "Pod", verbs::GET),
            connect("portforward", "PodPortForwardOptions", verbs::CREATE_GET),
            connect("proxy", "PodProxyOptions", verbs::PROXY),
            // 1.33: InPlacePodVerticalScaling is beta and on by default, which serves `resize`.
            SubresourceInfo {
                name: "resize",
                kind: "Pod",
                group_version: None,
                verbs: verbs::GET_PATCH_UPDATE,
            },
            status("Pod"),
        ],
        ..resource("", "v1", "Pod", "pods", "pod", NS)
    },
    resource("", "v1", "PodTemplate", "podtemplates", "podtemplate", NS),
    ResourceInfo {
        short_names: &["rc"],
        categories: ALL,
        subresources: &[scale(), status("ReplicationController")],
        ..resource(
            "",
            "v1",
            "ReplicationController",
            "replicationcontrollers",
            "replicationcontroller",
            NS,
        )
    },
    ResourceInfo {
        short_names: &["quota"],
        subresources: &[status("ResourceQuota")],
        ..resource(
            "",
            "v1",
            "ResourceQuota",
            "resourcequotas",
            "resourcequota",
            NS,
        )
    },
    resource("", "v1", "Secret", "secrets", "secret", NS),
    ResourceInfo {
        short_names: &["sa"],
        subresources: &[SubresourceInfo {
            name: "token",
            kind: "TokenRequest",
            group_version: Some("authentication.k8s.io/v1"),
            verbs: verbs::CREATE,
        }],
        ..resource(
            "",
            "v1",
            "ServiceAccount",
            "serviceaccounts",
            "serviceaccount",
            NS,
        )
    },
    ResourceInfo {
        short_names: &["svc"],
        categories: ALL,
        subresources: &[
            connect("proxy", "ServiceProxyOptions", verbs::PROXY),
            status("Service"),
        ],
        ..resource("", "v1", "Service", "services", "service", NS)
    },
];
