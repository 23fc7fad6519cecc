//! The remaining groups of kube-apiserver 1.33: identity and access (`authentication.k8s.io`,
//! `authorization.k8s.io`, `rbac.authorization.k8s.io`, `certificates.k8s.io`), admission, networking,
//! storage, scheduling, node, coordination, discovery, events and flow control.

use super::build::{names, operation, resource, status};
use super::{verbs, Name, ResourceInfo, SubresourceInfo};

const NS: bool = true;
const CLUSTER: bool = false;
const API_EXTENSIONS: &[&str] = &["api-extensions"];

const AUTHN: &str = "authentication.k8s.io";
const AUTHZ: &str = "authorization.k8s.io";
const RBAC: &str = "rbac.authorization.k8s.io";
const ADMISSION: &str = "admissionregistration.k8s.io";
const NETWORKING: &str = "networking.k8s.io";
const STORAGE: &str = "storage.k8s.io";
const FLOWCONTROL: &str = "flowcontrol.apiserver.k8s.io";

pub(super) fn resources() -> Vec<ResourceInfo> {
    vec![
        // events.k8s.io
        ResourceInfo {
            short_names: names(&["ev"]),
            ..resource("events.k8s.io", "v1", "Event", "events", "event", NS)
        },
        // authentication.k8s.io
        operation(
            AUTHN,
            "v1",
            "SelfSubjectReview",
            "selfsubjectreviews",
            "selfsubjectreview",
            CLUSTER,
        ),
        operation(
            AUTHN,
            "v1",
            "TokenReview",
            "tokenreviews",
            "tokenreview",
            CLUSTER,
        ),
        // authorization.k8s.io
        operation(
            AUTHZ,
            "v1",
            "LocalSubjectAccessReview",
            "localsubjectaccessreviews",
            "localsubjectaccessreview",
            NS,
        ),
        operation(
            AUTHZ,
            "v1",
            "SelfSubjectAccessReview",
            "selfsubjectaccessreviews",
            "selfsubjectaccessreview",
            CLUSTER,
        ),
        operation(
            AUTHZ,
            "v1",
            "SelfSubjectRulesReview",
            "selfsubjectrulesreviews",
            "selfsubjectrulesreview",
            CLUSTER,
        ),
        operation(
            AUTHZ,
            "v1",
            "SubjectAccessReview",
            "subjectaccessreviews",
            "subjectaccessreview",
            CLUSTER,
        ),
        // certificates.k8s.io
        ResourceInfo {
            short_names: names(&["csr"]),
            subresources: vec![
                SubresourceInfo {
                    name: "approval",
                    kind: Name::new_static("CertificateSigningRequest"),
                    group_version: None,
                    verbs: verbs::GET_PATCH_UPDATE,
                },
                status("CertificateSigningRequest"),
            ],
            ..resource(
                "certificates.k8s.io",
                "v1",
                "CertificateSigningRequest",
                "certificatesigningrequests",
                "certificatesigningrequest",
                CLUSTER,
            )
        },
        // networking.k8s.io
        resource(
            NETWORKING,
            "v1",
            "IngressClass",
            "ingressclasses",
            "ingressclass",
            CLUSTER,
        ),
        ResourceInfo {
            short_names: names(&["ing"]),
            subresources: vec![status("Ingress")],
            ..resource(NETWORKING, "v1", "Ingress", "ingresses", "ingress", NS)
        },
        ResourceInfo {
            short_names: names(&["ip"]),
            ..resource(
                NETWORKING,
                "v1",
                "IPAddress",
                "ipaddresses",
                "ipaddress",
                CLUSTER,
            )
        },
        ResourceInfo {
            short_names: names(&["netpol"]),
            ..resource(
                NETWORKING,
                "v1",
                "NetworkPolicy",
                "networkpolicies",
                "networkpolicy",
                NS,
            )
        },
        ResourceInfo {
            subresources: vec![status("ServiceCIDR")],
            ..resource(
                NETWORKING,
                "v1",
                "ServiceCIDR",
                "servicecidrs",
                "servicecidr",
                CLUSTER,
            )
        },
        // rbac.authorization.k8s.io
        resource(
            RBAC,
            "v1",
            "ClusterRoleBinding",
            "clusterrolebindings",
            "clusterrolebinding",
            CLUSTER,
        ),
        resource(
            RBAC,
            "v1",
            "ClusterRole",
            "clusterroles",
            "clusterrole",
            CLUSTER,
        ),
        resource(RBAC, "v1", "RoleBinding", "rolebindings", "rolebinding", NS),
        resource(RBAC, "v1", "Role", "roles", "role", NS),
        // storage.k8s.io
        resource(
            STORAGE,
            "v1",
            "CSIDriver",
            "csidrivers",
            "csidriver",
            CLUSTER,
        ),
        resource(STORAGE, "v1", "CSINode", "csinodes", "csinode", CLUSTER),
        resource(
            STORAGE,
            "v1",
            "CSIStorageCapacity",
            "csistoragecapacities",
            "csistoragecapacity",
            NS,
        ),
        ResourceInfo {
            short_names: names(&["sc"]),
            ..resource(
                STORAGE,
                "v1",
                "StorageClass",
                "storageclasses",
                "storageclass",
                CLUSTER,
            )
        },
        ResourceInfo {
            subresources: vec![status("VolumeAttachment")],
            ..resource(
                STORAGE,
                "v1",
                "VolumeAttachment",
                "volumeattachments",
                "volumeattachment",
                CLUSTER,
            )
        },
        // admissionregistration.k8s.io
        ResourceInfo {
            categories: names(API_EXTENSIONS),
            ..resource(
                ADMISSION,
                "v1",
                "MutatingWebhookConfiguration",
                "mutatingwebhookconfigurations",
                "mutatingwebhookconfiguration",
                CLUSTER,
            )
        },
        ResourceInfo {
            categories: names(API_EXTENSIONS),
            subresources: vec![status("ValidatingAdmissionPolicy")],
            ..resource(
                ADMISSION,
                "v1",
                "ValidatingAdmissionPolicy",
                "validatingadmissionpolicies",
                "validatingadmissionpolicy",
                CLUSTER,
            )
        },
        ResourceInfo {
            categories: names(API_EXTENSIONS),
            ..resource(
                ADMISSION,
                "v1",
                "ValidatingAdmissionPolicyBinding",
                "validatingadmissionpolicybindings",
                "validatingadmissionpolicybinding",
                CLUSTER,
            )
        },
        ResourceInfo {
            categories: names(API_EXTENSIONS),
            ..resource(
                ADMISSION,
                "v1",
                "ValidatingWebhookConfiguration",
                "validatingwebhookconfigurations",
                "validatingwebhookconfiguration",
                CLUSTER,
            )
        },
        // scheduling.k8s.io
        ResourceInfo {
            short_names: names(&["pc"]),
            ..resource(
                "scheduling.k8s.io",
                "v1",
                "PriorityClass",
                "priorityclasses",
                "priorityclass",
                CLUSTER,
            )
        },
        // coordination.k8s.io
        resource("coordination.k8s.io", "v1", "Lease", "leases", "lease", NS),
        // node.k8s.io
        resource(
            "node.k8s.io",
            "v1",
            "RuntimeClass",
            "runtimeclasses",
            "runtimeclass",
            CLUSTER,
        ),
        // discovery.k8s.io
        resource(
            "discovery.k8s.io",
            "v1",
            "EndpointSlice",
            "endpointslices",
            "endpointslice",
            NS,
        ),
        // flowcontrol.apiserver.k8s.io
        ResourceInfo {
            subresources: vec![status("FlowSchema")],
            ..resource(
                FLOWCONTROL,
                "v1",
                "FlowSchema",
                "flowschemas",
                "flowschema",
                CLUSTER,
            )
        },
        ResourceInfo {
            subresources: vec![status("PriorityLevelConfiguration")],
            ..resource(
                FLOWCONTROL,
                "v1",
                "PriorityLevelConfiguration",
                "prioritylevelconfigurations",
                "prioritylevelconfiguration",
                CLUSTER,
            )
        },
    ]
}
