//! The remaining groups of kube-apiserver 1.33: identity and access (`authentication.k8s.io`,
//! `authorization.k8s.io`, `rbac.authorization.k8s.io`, `certificates.k8s.io`), admission, networking,
//! storage, scheduling, node, coordination, discovery, events and flow control.

use k8s_openapi::api::admissionregistration::v1 as admission;
use k8s_openapi::api::authentication::v1 as authn;
use k8s_openapi::api::authorization::v1 as authz;
use k8s_openapi::api::certificates::v1 as certificates;
use k8s_openapi::api::coordination::v1 as coordination;
use k8s_openapi::api::discovery::v1 as discovery;
use k8s_openapi::api::events::v1 as events;
use k8s_openapi::api::flowcontrol::v1 as flowcontrol;
use k8s_openapi::api::networking::v1 as networking;
use k8s_openapi::api::node::v1 as node;
use k8s_openapi::api::rbac::v1 as rbac;
use k8s_openapi::api::scheduling::v1 as scheduling;
use k8s_openapi::api::storage::v1 as storage;

use super::build::{operation, resource, status};
use super::{verbs, Codec, GroupVersionKind, Persistence, ResourceInfo, SubresourceInfo};

const NS: bool = true;
const CLUSTER: bool = false;
const API_EXTENSIONS: &[&str] = &["api-extensions"];

const CSR: Codec = Codec::of::<certificates::CertificateSigningRequest>();
const FLOW_SCHEMA: Codec = Codec::of::<flowcontrol::FlowSchema>();
const PRIORITY_LEVEL: Codec = Codec::of::<flowcontrol::PriorityLevelConfiguration>();
const INGRESS: Codec = Codec::of::<networking::Ingress>();
const SERVICE_CIDR: Codec = Codec::of::<networking::ServiceCIDR>();
const VOLUME_ATTACHMENT: Codec = Codec::of::<storage::VolumeAttachment>();
const VALIDATING_POLICY: Codec = Codec::of::<admission::ValidatingAdmissionPolicy>();

/// `events.k8s.io` Events share the core Events' storage, encoded as core `v1`.
const CORE_EVENT: GroupVersionKind = GroupVersionKind { group: "", version: "v1", kind: "Event" };

const AUTHN: &str = "authentication.k8s.io";
const AUTHZ: &str = "authorization.k8s.io";
const RBAC: &str = "rbac.authorization.k8s.io";
const ADMISSION: &str = "admissionregistration.k8s.io";
const NETWORKING: &str = "networking.k8s.io";
const STORAGE: &str = "storage.k8s.io";
const FLOWCONTROL: &str = "flowcontrol.apiserver.k8s.io";

pub(super) static RESOURCES: &[ResourceInfo] = &[
    // events.k8s.io
    ResourceInfo {
        short_names: &["ev"],
        persistence: Persistence::StoredAs(CORE_EVENT),
        ..resource("events.k8s.io", "v1", "Event", "events", "event", NS, Codec::of::<events::Event>())
    },
    // authentication.k8s.io
    operation(AUTHN, "v1", "SelfSubjectReview", "selfsubjectreviews", "selfsubjectreview", CLUSTER, Codec::of::<authn::SelfSubjectReview>()),
    operation(AUTHN, "v1", "TokenReview", "tokenreviews", "tokenreview", CLUSTER, Codec::of::<authn::TokenReview>()),
    // authorization.k8s.io
    operation(AUTHZ, "v1", "LocalSubjectAccessReview", "localsubjectaccessreviews", "localsubjectaccessreview", NS, Codec::of::<authz::LocalSubjectAccessReview>()),
    operation(AUTHZ, "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews", "selfsubjectaccessreview", CLUSTER, Codec::of::<authz::SelfSubjectAccessReview>()),
    operation(AUTHZ, "v1", "SelfSubjectRulesReview", "selfsubjectrulesreviews", "selfsubjectrulesreview", CLUSTER, Codec::of::<authz::SelfSubjectRulesReview>()),
    operation(AUTHZ, "v1", "SubjectAccessReview", "subjectaccessreviews", "subjectaccessreview", CLUSTER, Codec::of::<authz::SubjectAccessReview>()),
    // certificates.k8s.io
    ResourceInfo {
        short_names: &["csr"],
        subresources: &[
            SubresourceInfo {
                name: "approval",
                kind: "CertificateSigningRequest",
                group_version: None,
                verbs: verbs::GET_PATCH_UPDATE,
                codec: Some(CSR),
            },
            status("CertificateSigningRequest", CSR),
        ],
        ..resource("certificates.k8s.io", "v1", "CertificateSigningRequest", "certificatesigningrequests", "certificatesigningrequest", CLUSTER, CSR)
    },
    // networking.k8s.io
    resource(NETWORKING, "v1", "IngressClass", "ingressclasses", "ingressclass", CLUSTER, Codec::of::<networking::IngressClass>()),
    ResourceInfo {
        short_names: &["ing"],
        subresources: &[status("Ingress", INGRESS)],
        ..resource(NETWORKING, "v1", "Ingress", "ingresses", "ingress", NS, INGRESS)
    },
    ResourceInfo {
        short_names: &["ip"],
        ..resource(NETWORKING, "v1", "IPAddress", "ipaddresses", "ipaddress", CLUSTER, Codec::of::<networking::IPAddress>())
    },
    ResourceInfo {
        short_names: &["netpol"],
        ..resource(NETWORKING, "v1", "NetworkPolicy", "networkpolicies", "networkpolicy", NS, Codec::of::<networking::NetworkPolicy>())
    },
    ResourceInfo {
        subresources: &[status("ServiceCIDR", SERVICE_CIDR)],
        ..resource(NETWORKING, "v1", "ServiceCIDR", "servicecidrs", "servicecidr", CLUSTER, SERVICE_CIDR)
    },
    // rbac.authorization.k8s.io
    resource(RBAC, "v1", "ClusterRoleBinding", "clusterrolebindings", "clusterrolebinding", CLUSTER, Codec::of::<rbac::ClusterRoleBinding>()),
    resource(RBAC, "v1", "ClusterRole", "clusterroles", "clusterrole", CLUSTER, Codec::of::<rbac::ClusterRole>()),
    resource(RBAC, "v1", "RoleBinding", "rolebindings", "rolebinding", NS, Codec::of::<rbac::RoleBinding>()),
    resource(RBAC, "v1", "Role", "roles", "role", NS, Codec::of::<rbac::Role>()),
    // storage.k8s.io
    resource(STORAGE, "v1", "CSIDriver", "csidrivers", "csidriver", CLUSTER, Codec::of::<storage::CSIDriver>()),
    resource(STORAGE, "v1", "CSINode", "csinodes", "csinode", CLUSTER, Codec::of::<storage::CSINode>()),
    resource(STORAGE, "v1", "CSIStorageCapacity", "csistoragecapacities", "csistoragecapacity", NS, Codec::of::<storage::CSIStorageCapacity>()),
    ResourceInfo {
        short_names: &["sc"],
        ..resource(STORAGE, "v1", "StorageClass", "storageclasses", "storageclass", CLUSTER, Codec::of::<storage::StorageClass>())
    },
    ResourceInfo {
        subresources: &[status("VolumeAttachment", VOLUME_ATTACHMENT)],
        ..resource(STORAGE, "v1", "VolumeAttachment", "volumeattachments", "volumeattachment", CLUSTER, VOLUME_ATTACHMENT)
    },
    // admissionregistration.k8s.io
    ResourceInfo {
        categories: API_EXTENSIONS,
        ..resource(ADMISSION, "v1", "MutatingWebhookConfiguration", "mutatingwebhookconfigurations", "mutatingwebhookconfiguration", CLUSTER, Codec::of::<admission::MutatingWebhookConfiguration>())
    },
    ResourceInfo {
        categories: API_EXTENSIONS,
        subresources: &[status("ValidatingAdmissionPolicy", VALIDATING_POLICY)],
        ..resource(ADMISSION, "v1", "ValidatingAdmissionPolicy", "validatingadmissionpolicies", "validatingadmissionpolicy", CLUSTER, VALIDATING_POLICY)
    },
    ResourceInfo {
        categories: API_EXTENSIONS,
        ..resource(ADMISSION, "v1", "ValidatingAdmissionPolicyBinding", "validatingadmissionpolicybindings", "validatingadmissionpolicybinding", CLUSTER, Codec::of::<admission::ValidatingAdmissionPolicyBinding>())
    },
    ResourceInfo {
        categories: API_EXTENSIONS,
        ..resource(ADMISSION, "v1", "ValidatingWebhookConfiguration", "validatingwebhookconfigurations", "validatingwebhookconfiguration", CLUSTER, Codec::of::<admission::ValidatingWebhookConfiguration>())
    },
    // scheduling.k8s.io
    ResourceInfo {
        short_names: &["pc"],
        ..resource("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", "priorityclass", CLUSTER, Codec::of::<scheduling::PriorityClass>())
    },
    // coordination.k8s.io
    resource("coordination.k8s.io", "v1", "Lease", "leases", "lease", NS, Codec::of::<coordination::Lease>()),
    // node.k8s.io
    resource("node.k8s.io", "v1", "RuntimeClass", "runtimeclasses", "runtimeclass", CLUSTER, Codec::of::<node::RuntimeClass>()),
    // discovery.k8s.io
    resource("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", "endpointslice", NS, Codec::of::<discovery::EndpointSlice>()),
    // flowcontrol.apiserver.k8s.io
    ResourceInfo {
        subresources: &[status("FlowSchema", FLOW_SCHEMA)],
        ..resource(FLOWCONTROL, "v1", "FlowSchema", "flowschemas", "flowschema", CLUSTER, FLOW_SCHEMA)
    },
    ResourceInfo {
        subresources: &[status("PriorityLevelConfiguration", PRIORITY_LEVEL)],
        ..resource(FLOWCONTROL, "v1", "PriorityLevelConfiguration", "prioritylevelconfigurations", "prioritylevelconfiguration", CLUSTER, PRIORITY_LEVEL)
    },
];
