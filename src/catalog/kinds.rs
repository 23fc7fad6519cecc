//! What the catalogue knows per kind rather than per row: the k8s-openapi codec of every built-in
//! kind (resources and subresource bodies alike), and how built-in resources are persisted. Kept
//! out of [`ResourceInfo`]'s fields so rows built elsewhere (tests, custom resources) stay simple.

use k8s_openapi::api::admissionregistration::v1 as admission;
use k8s_openapi::api::apps::v1 as apps;
use k8s_openapi::api::authentication::v1 as authn;
use k8s_openapi::api::authorization::v1 as authz;
use k8s_openapi::api::autoscaling::{v1 as autoscaling_v1, v2 as autoscaling_v2};
use k8s_openapi::api::batch::v1 as batch;
use k8s_openapi::api::certificates::v1 as certificates;
use k8s_openapi::api::coordination::v1 as coordination;
use k8s_openapi::api::core::v1 as core;
use k8s_openapi::api::discovery::v1 as discovery;
use k8s_openapi::api::events::v1 as events;
use k8s_openapi::api::flowcontrol::v1 as flowcontrol;
use k8s_openapi::api::networking::v1 as networking;
use k8s_openapi::api::node::v1 as node;
use k8s_openapi::api::policy::v1 as policy;
use k8s_openapi::api::rbac::v1 as rbac;
use k8s_openapi::api::scheduling::v1 as scheduling;
use k8s_openapi::api::storage::v1 as storage;

use super::{Codec, GroupVersionKind, Name, Persistence, ResourceInfo};

/// The codec of a built-in kind served by a default 1.33 kube-apiserver, including the bodies of
/// subresources (`autoscaling/v1 Scale`, `policy/v1 Eviction`, `authentication.k8s.io/v1
/// TokenRequest`); `None` for any other kind.
pub fn codec_for(group: &str, version: &str, kind: &str) -> Option<Codec> {
    let codec = match (group, version, kind) {
        ("", "v1", "Binding") => Codec::of::<core::Binding>(),
        ("apiextensions.k8s.io", "v1", "CustomResourceDefinition") => Codec::of::<
            k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
        >(),
        ("", "v1", "ComponentStatus") => Codec::of::<core::ComponentStatus>(),
        ("", "v1", "ConfigMap") => Codec::of::<core::ConfigMap>(),
        ("", "v1", "Endpoints") => Codec::of::<core::Endpoints>(),
        ("", "v1", "Event") => Codec::of::<core::Event>(),
        ("", "v1", "LimitRange") => Codec::of::<core::LimitRange>(),
        ("", "v1", "Namespace") => Codec::of::<core::Namespace>(),
        ("", "v1", "Node") => Codec::of::<core::Node>(),
        ("", "v1", "PersistentVolumeClaim") => Codec::of::<core::PersistentVolumeClaim>(),
        ("", "v1", "PersistentVolume") => Codec::of::<core::PersistentVolume>(),
        ("", "v1", "Pod") => Codec::of::<core::Pod>(),
        ("", "v1", "PodTemplate") => Codec::of::<core::PodTemplate>(),
        ("", "v1", "ReplicationController") => Codec::of::<core::ReplicationController>(),
        ("", "v1", "ResourceQuota") => Codec::of::<core::ResourceQuota>(),
        ("", "v1", "Secret") => Codec::of::<core::Secret>(),
        ("", "v1", "ServiceAccount") => Codec::of::<core::ServiceAccount>(),
        ("", "v1", "Service") => Codec::of::<core::Service>(),
        ("apps", "v1", "ControllerRevision") => Codec::of::<apps::ControllerRevision>(),
        ("apps", "v1", "DaemonSet") => Codec::of::<apps::DaemonSet>(),
        ("apps", "v1", "Deployment") => Codec::of::<apps::Deployment>(),
        ("apps", "v1", "ReplicaSet") => Codec::of::<apps::ReplicaSet>(),
        ("apps", "v1", "StatefulSet") => Codec::of::<apps::StatefulSet>(),
        ("autoscaling", "v1", "HorizontalPodAutoscaler") => {
            Codec::of::<autoscaling_v1::HorizontalPodAutoscaler>()
        }
        ("autoscaling", "v1", "Scale") => Codec::of::<autoscaling_v1::Scale>(),
        ("autoscaling", "v2", "HorizontalPodAutoscaler") => {
            Codec::of::<autoscaling_v2::HorizontalPodAutoscaler>()
        }
        ("batch", "v1", "CronJob") => Codec::of::<batch::CronJob>(),
        ("batch", "v1", "Job") => Codec::of::<batch::Job>(),
        ("policy", "v1", "PodDisruptionBudget") => Codec::of::<policy::PodDisruptionBudget>(),
        ("policy", "v1", "Eviction") => Codec::of::<policy::Eviction>(),
        ("events.k8s.io", "v1", "Event") => Codec::of::<events::Event>(),
        ("authentication.k8s.io", "v1", "SelfSubjectReview") => {
            Codec::of::<authn::SelfSubjectReview>()
        }
        ("authentication.k8s.io", "v1", "TokenReview") => Codec::of::<authn::TokenReview>(),
        ("authentication.k8s.io", "v1", "TokenRequest") => Codec::of::<authn::TokenRequest>(),
        ("authorization.k8s.io", "v1", "LocalSubjectAccessReview") => {
            Codec::of::<authz::LocalSubjectAccessReview>()
        }
        ("authorization.k8s.io", "v1", "SelfSubjectAccessReview") => {
            Codec::of::<authz::SelfSubjectAccessReview>()
        }
        ("authorization.k8s.io", "v1", "SelfSubjectRulesReview") => {
            Codec::of::<authz::SelfSubjectRulesReview>()
        }
        ("authorization.k8s.io", "v1", "SubjectAccessReview") => {
            Codec::of::<authz::SubjectAccessReview>()
        }
        ("certificates.k8s.io", "v1", "CertificateSigningRequest") => {
            Codec::of::<certificates::CertificateSigningRequest>()
        }
        ("networking.k8s.io", "v1", "IngressClass") => Codec::of::<networking::IngressClass>(),
        ("networking.k8s.io", "v1", "Ingress") => Codec::of::<networking::Ingress>(),
        ("networking.k8s.io", "v1", "IPAddress") => Codec::of::<networking::IPAddress>(),
        ("networking.k8s.io", "v1", "NetworkPolicy") => Codec::of::<networking::NetworkPolicy>(),
        ("networking.k8s.io", "v1", "ServiceCIDR") => Codec::of::<networking::ServiceCIDR>(),
        ("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding") => {
            Codec::of::<rbac::ClusterRoleBinding>()
        }
        ("rbac.authorization.k8s.io", "v1", "ClusterRole") => Codec::of::<rbac::ClusterRole>(),
        ("rbac.authorization.k8s.io", "v1", "RoleBinding") => Codec::of::<rbac::RoleBinding>(),
        ("rbac.authorization.k8s.io", "v1", "Role") => Codec::of::<rbac::Role>(),
        ("storage.k8s.io", "v1", "CSIDriver") => Codec::of::<storage::CSIDriver>(),
        ("storage.k8s.io", "v1", "CSINode") => Codec::of::<storage::CSINode>(),
        ("storage.k8s.io", "v1", "CSIStorageCapacity") => {
            Codec::of::<storage::CSIStorageCapacity>()
        }
        ("storage.k8s.io", "v1", "StorageClass") => Codec::of::<storage::StorageClass>(),
        ("storage.k8s.io", "v1", "VolumeAttachment") => Codec::of::<storage::VolumeAttachment>(),
        ("admissionregistration.k8s.io", "v1", "MutatingWebhookConfiguration") => {
            Codec::of::<admission::MutatingWebhookConfiguration>()
        }
        ("admissionregistration.k8s.io", "v1", "ValidatingAdmissionPolicy") => {
            Codec::of::<admission::ValidatingAdmissionPolicy>()
        }
        ("admissionregistration.k8s.io", "v1", "ValidatingAdmissionPolicyBinding") => {
            Codec::of::<admission::ValidatingAdmissionPolicyBinding>()
        }
        ("admissionregistration.k8s.io", "v1", "ValidatingWebhookConfiguration") => {
            Codec::of::<admission::ValidatingWebhookConfiguration>()
        }
        ("scheduling.k8s.io", "v1", "PriorityClass") => Codec::of::<scheduling::PriorityClass>(),
        ("coordination.k8s.io", "v1", "Lease") => Codec::of::<coordination::Lease>(),
        ("node.k8s.io", "v1", "RuntimeClass") => Codec::of::<node::RuntimeClass>(),
        ("discovery.k8s.io", "v1", "EndpointSlice") => Codec::of::<discovery::EndpointSlice>(),
        ("flowcontrol.apiserver.k8s.io", "v1", "FlowSchema") => {
            Codec::of::<flowcontrol::FlowSchema>()
        }
        ("flowcontrol.apiserver.k8s.io", "v1", "PriorityLevelConfiguration") => {
            Codec::of::<flowcontrol::PriorityLevelConfiguration>()
        }
        _ => return None,
    };
    Some(codec)
}

/// HPAs of every version are stored as `autoscaling/v2`.
const HPA_STORAGE: GroupVersionKind = GroupVersionKind {
    group: Name::new_static("autoscaling"),
    version: Name::new_static("v2"),
    kind: Name::new_static("HorizontalPodAutoscaler"),
};

/// `events.k8s.io` Events share the core Events' storage, encoded as core `v1`.
const CORE_EVENT: GroupVersionKind = GroupVersionKind {
    group: Name::new_static(""),
    version: Name::new_static("v1"),
    kind: Name::new_static("Event"),
};

/// How a resource is persisted: the built-in operations and computed resources store nothing,
/// HPAs and `events.k8s.io` Events are stored as another version/group; everything else as itself.
pub fn persistence_of(info: &ResourceInfo) -> Persistence {
    match (info.group.as_str(), info.plural.as_str()) {
        ("", "bindings" | "componentstatuses")
        | ("authentication.k8s.io" | "authorization.k8s.io", _) => Persistence::Virtual,
        ("autoscaling", "horizontalpodautoscalers") => Persistence::StoredAs(HPA_STORAGE),
        ("events.k8s.io", "events") => Persistence::StoredAs(CORE_EVENT),
        _ => Persistence::Stored,
    }
}
