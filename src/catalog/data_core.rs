//! The core group (`/api/v1`) of kube-apiserver 1.33, as its discovery lists it.

use super::build::{connect, names, operation, resource, scale, status};
use super::{verbs, Name, ResourceInfo, SubresourceInfo};

const NS: bool = true;
const CLUSTER: bool = false;
const ALL: &[&str] = &["all"];

pub(super) fn resources() -> Vec<ResourceInfo> {
    vec![
        operation("", "v1", "Binding", "bindings", "binding", NS),
        ResourceInfo {
            verbs: verbs::GET_LIST,
            short_names: names(&["cs"]),
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
            short_names: names(&["cm"]),
            ..resource("", "v1", "ConfigMap", "configmaps", "configmap", NS)
        },
        ResourceInfo {
            short_names: names(&["ep"]),
            ..resource("", "v1", "Endpoints", "endpoints", "endpoints", NS)
        },
        ResourceInfo {
            short_names: names(&["ev"]),
            ..resource("", "v1", "Event", "events", "event", NS)
        },
        ResourceInfo {
            short_names: names(&["limits"]),
            ..resource("", "v1", "LimitRange", "limitranges", "limitrange", NS)
        },
        ResourceInfo {
            verbs: verbs::NO_DELETE_COLLECTION,
            short_names: names(&["ns"]),
            subresources: vec![
                SubresourceInfo {
                    name: "finalize",
                    kind: Name::new_static("Namespace"),
                    group_version: None,
                    verbs: verbs::UPDATE,
                },
                status("Namespace"),
            ],
            ..resource("", "v1", "Namespace", "namespaces", "namespace", CLUSTER)
        },
        ResourceInfo {
            short_names: names(&["no"]),
            subresources: vec![
                connect("proxy", "NodeProxyOptions", verbs::PROXY),
                status("Node"),
            ],
            ..resource("", "v1", "Node", "nodes", "node", CLUSTER)
        },
        ResourceInfo {
            short_names: names(&["pvc"]),
            subresources: vec![status("PersistentVolumeClaim")],
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
            short_names: names(&["pv"]),
            subresources: vec![status("PersistentVolume")],
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
            short_names: names(&["po"]),
            categories: names(ALL),
            subresources: vec![
                connect("attach", "PodAttachOptions", verbs::CREATE_GET),
                SubresourceInfo {
                    name: "binding",
                    kind: Name::new_static("Binding"),
                    group_version: None,
                    verbs: verbs::CREATE,
                },
                SubresourceInfo {
                    name: "ephemeralcontainers",
                    kind: Name::new_static("Pod"),
                    group_version: None,
                    verbs: verbs::GET_PATCH_UPDATE,
                },
                SubresourceInfo {
                    name: "eviction",
                    kind: Name::new_static("Eviction"),
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
                    kind: Name::new_static("Pod"),
                    group_version: None,
                    verbs: verbs::GET_PATCH_UPDATE,
                },
                status("Pod"),
            ],
            ..resource("", "v1", "Pod", "pods", "pod", NS)
        },
        resource("", "v1", "PodTemplate", "podtemplates", "podtemplate", NS),
        ResourceInfo {
            short_names: names(&["rc"]),
            categories: names(ALL),
            subresources: vec![scale(), status("ReplicationController")],
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
            short_names: names(&["quota"]),
            subresources: vec![status("ResourceQuota")],
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
            short_names: names(&["sa"]),
            subresources: vec![SubresourceInfo {
                name: "token",
                kind: Name::new_static("TokenRequest"),
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
            short_names: names(&["svc"]),
            categories: names(ALL),
            subresources: vec![
                connect("proxy", "ServiceProxyOptions", verbs::PROXY),
                status("Service"),
            ],
            ..resource("", "v1", "Service", "services", "service", NS)
        },
    ]
}
