//! The core group (`/api/v1`) of kube-apiserver 1.33, as its discovery lists it.

use k8s_openapi::api::authentication::v1::TokenRequest;
use k8s_openapi::api::core::v1 as core;
use k8s_openapi::api::policy::v1::Eviction;

use super::build::{connect, operation, resource, scale, status};
use super::{verbs, Codec, Persistence, ResourceInfo, SubresourceInfo};

const NS: bool = true;
const CLUSTER: bool = false;
const ALL: &[&str] = &["all"];

const POD: Codec = Codec::of::<core::Pod>();
const NODE: Codec = Codec::of::<core::Node>();
const NAMESPACE: Codec = Codec::of::<core::Namespace>();
const SERVICE: Codec = Codec::of::<core::Service>();

pub(super) static RESOURCES: &[ResourceInfo] = &[
    operation("", "v1", "Binding", "bindings", "binding", NS, Codec::of::<core::Binding>()),
    ResourceInfo {
        verbs: verbs::GET_LIST,
        short_names: &["cs"],
        persistence: Persistence::Virtual,
        ..resource("", "v1", "ComponentStatus", "componentstatuses", "componentstatus", CLUSTER, Codec::of::<core::ComponentStatus>())
    },
    ResourceInfo {
        short_names: &["cm"],
        ..resource("", "v1", "ConfigMap", "configmaps", "configmap", NS, Codec::of::<core::ConfigMap>())
    },
    ResourceInfo {
        short_names: &["ep"],
        ..resource("", "v1", "Endpoints", "endpoints", "endpoints", NS, Codec::of::<core::Endpoints>())
    },
    ResourceInfo {
        short_names: &["ev"],
        ..resource("", "v1", "Event", "events", "event", NS, Codec::of::<core::Event>())
    },
    ResourceInfo {
        short_names: &["limits"],
        ..resource("", "v1", "LimitRange", "limitranges", "limitrange", NS, Codec::of::<core::LimitRange>())
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
                codec: Some(NAMESPACE),
            },
            status("Namespace", NAMESPACE),
        ],
        ..resource("", "v1", "Namespace", "namespaces", "namespace", CLUSTER, NAMESPACE)
    },
    ResourceInfo {
        short_names: &["no"],
        subresources: &[connect("proxy", "NodeProxyOptions", verbs::PROXY), status("Node", NODE)],
        ..resource("", "v1", "Node", "nodes", "node", CLUSTER, NODE)
    },
    ResourceInfo {
        short_names: &["pvc"],
        subresources: &[status("PersistentVolumeClaim", Codec::of::<core::PersistentVolumeClaim>())],
        ..resource(
            "",
            "v1",
            "PersistentVolumeClaim",
            "persistentvolumeclaims",
            "persistentvolumeclaim",
            NS,
            Codec::of::<core::PersistentVolumeClaim>(),
        )
    },
    ResourceInfo {
        short_names: &["pv"],
        subresources: &[status("PersistentVolume", Codec::of::<core::PersistentVolume>())],
        ..resource(
            "",
            "v1",
            "PersistentVolume",
            "persistentvolumes",
            "persistentvolume",
            CLUSTER,
            Codec::of::<core::PersistentVolume>(),
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
                codec: Some(Codec::of::<core::Binding>()),
            },
            SubresourceInfo {
                name: "ephemeralcontainers",
                kind: "Pod",
                group_version: None,
                verbs: verbs::GET_PATCH_UPDATE,
                codec: Some(POD),
            },
            SubresourceInfo {
                name: "eviction",
                kind: "Eviction",
                group_version: Some("policy/v1"),
                verbs: verbs::CREATE,
                codec: Some(Codec::of::<Eviction>()),
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
                codec: Some(POD),
            },
            status("Pod", POD),
        ],
        ..resource("", "v1", "Pod", "pods", "pod", NS, POD)
    },
    resource("", "v1", "PodTemplate", "podtemplates", "podtemplate", NS, Codec::of::<core::PodTemplate>()),
    ResourceInfo {
        short_names: &["rc"],
        categories: ALL,
        subresources: &[scale(), status("ReplicationController", Codec::of::<core::ReplicationController>())],
        ..resource(
            "",
            "v1",
            "ReplicationController",
            "replicationcontrollers",
            "replicationcontroller",
            NS,
            Codec::of::<core::ReplicationController>(),
        )
    },
    ResourceInfo {
        short_names: &["quota"],
        subresources: &[status("ResourceQuota", Codec::of::<core::ResourceQuota>())],
        ..resource("", "v1", "ResourceQuota", "resourcequotas", "resourcequota", NS, Codec::of::<core::ResourceQuota>())
    },
    resource("", "v1", "Secret", "secrets", "secret", NS, Codec::of::<core::Secret>()),
    ResourceInfo {
        short_names: &["sa"],
        subresources: &[SubresourceInfo {
            name: "token",
            kind: "TokenRequest",
            group_version: Some("authentication.k8s.io/v1"),
            verbs: verbs::CREATE,
            codec: Some(Codec::of::<TokenRequest>()),
        }],
        ..resource("", "v1", "ServiceAccount", "serviceaccounts", "serviceaccount", NS, Codec::of::<core::ServiceAccount>())
    },
    ResourceInfo {
        short_names: &["svc"],
        categories: ALL,
        subresources: &[connect("proxy", "ServiceProxyOptions", verbs::PROXY), status("Service", SERVICE)],
        ..resource("", "v1", "Service", "services", "service", NS, SERVICE)
    },
];
