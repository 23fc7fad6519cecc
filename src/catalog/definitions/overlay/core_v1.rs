//! Patch and list metadata of the core (`io.k8s.api.core.v1`) types.
//!
//! Transcribed from upstream 1.33's `api/openapi-spec/swagger.json` (https://github.com/kubernetes/kubernetes/blob/release-1.33/api/openapi-spec/swagger.json), which is generated from
//! the `patchStrategy`/`patchMergeKey` struct tags and `+listType`/`+listMapKey`/`+mapType` markers of
//! `staging/src/k8s.io/api/core/v1/types.go`.

use super::DefinitionOverlay;

/// The rows of the `io.k8s.api.core.v1` definitions, sorted by definition and field.
#[rustfmt::skip]
pub(super) const ROWS: &[DefinitionOverlay] = &[
    ("io.k8s.api.core.v1.Capabilities", &[
        ("add", "", "", "atomic", &[], ""),
        ("drop", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.core.v1.CephFSPersistentVolumeSource", &[
        ("monitors", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.core.v1.CephFSVolumeSource", &[
        ("monitors", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.core.v1.ComponentStatus", &[
        ("conditions", "merge", "type", "map", &["type"], ""),
    ]),
    ("io.k8s.api.core.v1.ConfigMapKeySelector", &[
        ("", "", "", "", &[], "atomic"),
    ]),
    ("io.k8s.api.core.v1.ConfigMapProjection", &[
        ("items", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.core.v1.ConfigMapVolumeSource", &[
        ("items", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.core.v1.Container", &[
        ("args", "", "", "atomic", &[], ""),
        ("command", "", "", "atomic", &[], ""),
        ("env", "merge", "name", "map", &["name"], ""),
        ("envFrom", "", "", "atomic", &[], ""),
        ("ports", "merge", "containerPort", "map", &["containerPort", "protocol"], ""),
        ("resizePolicy", "", "", "atomic", &[], ""),
        ("volumeDevices", "merge", "devicePath", "map", &["devicePath"], ""),
        ("volumeMounts", "merge", "mountPath", "map", &["mountPath"], ""),
    ]),
    ("io.k8s.api.core.v1.ContainerImage", &[
        ("names", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.core.v1.ContainerStatus", &[
        ("allocatedResourcesStatus", "merge", "name", "map", &["name"], ""),
        ("volumeMounts", "merge", "mountPath", "map", &["mountPath"], ""),
    ]),
    ("io.k8s.api.core.v1.DownwardAPIProjection", &[
        ("items", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.core.v1.DownwardAPIVolumeSource", &[
        ("items", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.core.v1.EndpointAddress", &[
        ("", "", "", "", &[], "atomic"),
    ]),
    ("io.k8s.api.core.v1.EndpointPort", &[
        ("", "", "", "", &[], "atomic"),
    ]),
    ("io.k8s.api.core.v1.EndpointSubset", &[
        ("addresses", "", "", "atomic", &[], ""),
        ("notReadyAddresses", "", "", "atomic", &[], ""),
        ("ports", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.core.v1.Endpoints", &[
        ("subsets", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.core.v1.EphemeralContainer", &[
        ("args", "", "", "atomic", &[], ""),
        ("command", "", "", "atomic", &[], ""),
        ("env", "merge", "name", "map", &["name"], ""),
        ("envFrom", "", "", "atomic", &[], ""),
        ("ports", "merge", "containerPort", "map", &["containerPort", "protocol"], ""),
        ("resizePolicy", "", "", "atomic", &[], ""),
        ("volumeDevices", "merge", "devicePath", "map", &["devicePath"], ""),
        ("volumeMounts", "merge", "mountPath", "map", &["mountPath"], ""),
    ]),
    ("io.k8s.api.core.v1.ExecAction", &[
        ("command", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.core.v1.FCVolumeSource", &[
        ("targetWWNs", "", "", "atomic", &[], ""),
        ("wwids", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.core.v1.HTTPGetAction", &[
        ("httpHeaders", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.core.v1.HostAlias", &[
        ("hostnames", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.core.v1.ISCSIPersistentVolumeSource", &[
        ("portals", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.core.v1.ISCSIVolumeSource", &[
        ("portals", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.core.v1.LimitRangeSpec", &[
        ("limits", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.core.v1.LinuxContainerUser", &[
        ("supplementalGroups", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.core.v1.LoadBalancerIngress", &[
        ("ports", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.core.v1.LoadBalancerStatus", &[
        ("ingress", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.core.v1.LocalObjectReference", &[
        ("", "", "", "", &[], "atomic"),
    ]),
    ("io.k8s.api.core.v1.NamespaceSpec", &[
        ("finalizers", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.core.v1.NamespaceStatus", &[
        ("conditions", "merge", "type", "map", &["type"], ""),
    ]),
    ("io.k8s.api.core.v1.NodeAffinity", &[
        ("preferredDuringSchedulingIgnoredDuringExecution", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.core.v1.NodeSelector", &[
        ("", "", "", "", &[], "atomic"),
        ("nodeSelectorTerms", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.core.v1.NodeSelectorRequirement", &[
        ("values", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.core.v1.NodeSelectorTerm", &[
        ("", "", "", "", &[], "atomic"),
        ("matchExpressions", "", "", "atomic", &[], ""),
        ("matchFields", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.core.v1.NodeSpec", &[
        ("podCIDRs", "merge", "", "set", &[], ""),
        ("taints", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.core.v1.NodeStatus", &[
        ("addresses", "merge", "type", "map", &["type"], ""),
        ("conditions", "merge", "type", "map", &["type"], ""),
        ("images", "", "", "atomic", &[], ""),
        ("runtimeHandlers", "", "", "atomic", &[], ""),
        ("volumesAttached", "", "", "atomic", &[], ""),
        ("volumesInUse", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.core.v1.ObjectFieldSelector", &[
        ("", "", "", "", &[], "atomic"),
    ]),
    ("io.k8s.api.core.v1.ObjectReference", &[
        ("", "", "", "", &[], "atomic"),
    ]),
    ("io.k8s.api.core.v1.PersistentVolumeClaimSpec", &[
        ("accessModes", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.core.v1.PersistentVolumeClaimStatus", &[
        ("accessModes", "", "", "atomic", &[], ""),
        ("allocatedResourceStatuses", "", "", "", &[], "granular"),
        ("conditions", "merge", "type", "map", &["type"], ""),
    ]),
    ("io.k8s.api.core.v1.PersistentVolumeSpec", &[
        ("accessModes", "", "", "atomic", &[], ""),
        ("claimRef", "", "", "", &[], "granular"),
        ("mountOptions", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.core.v1.PodAffinity", &[
        ("preferredDuringSchedulingIgnoredDuringExecution", "", "", "atomic", &[], ""),
        ("requiredDuringSchedulingIgnoredDuringExecution", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.core.v1.PodAffinityTerm", &[
        ("matchLabelKeys", "", "", "atomic", &[], ""),
        ("mismatchLabelKeys", "", "", "atomic", &[], ""),
        ("namespaces", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.core.v1.PodAntiAffinity", &[
        ("preferredDuringSchedulingIgnoredDuringExecution", "", "", "atomic", &[], ""),
        ("requiredDuringSchedulingIgnoredDuringExecution", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.core.v1.PodDNSConfig", &[
        ("nameservers", "", "", "atomic", &[], ""),
        ("options", "", "", "atomic", &[], ""),
        ("searches", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.core.v1.PodSecurityContext", &[
        ("supplementalGroups", "", "", "atomic", &[], ""),
        ("sysctls", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.core.v1.PodSpec", &[
        ("containers", "merge", "name", "map", &["name"], ""),
        ("ephemeralContainers", "merge", "name", "map", &["name"], ""),
        ("hostAliases", "merge", "ip", "map", &["ip"], ""),
        ("imagePullSecrets", "merge", "name", "map", &["name"], ""),
        ("initContainers", "merge", "name", "map", &["name"], ""),
        ("nodeSelector", "", "", "", &[], "atomic"),
        ("readinessGates", "", "", "atomic", &[], ""),
        ("resourceClaims", "merge,retainKeys", "name", "map", &["name"], ""),
        ("schedulingGates", "merge", "name", "map", &["name"], ""),
        ("tolerations", "", "", "atomic", &[], ""),
        ("topologySpreadConstraints", "merge", "topologyKey", "map", &["topologyKey", "whenUnsatisfiable"], ""),
        ("volumes", "merge,retainKeys", "name", "map", &["name"], ""),
    ]),
    ("io.k8s.api.core.v1.PodStatus", &[
        ("conditions", "merge", "type", "map", &["type"], ""),
        ("containerStatuses", "", "", "atomic", &[], ""),
        ("ephemeralContainerStatuses", "", "", "atomic", &[], ""),
        ("hostIPs", "merge", "ip", "atomic", &[], ""),
        ("initContainerStatuses", "", "", "atomic", &[], ""),
        ("podIPs", "merge", "ip", "map", &["ip"], ""),
        ("resourceClaimStatuses", "merge,retainKeys", "name", "map", &["name"], ""),
    ]),
    ("io.k8s.api.core.v1.ProjectedVolumeSource", &[
        ("sources", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.core.v1.RBDPersistentVolumeSource", &[
        ("monitors", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.core.v1.RBDVolumeSource", &[
        ("monitors", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.core.v1.ReplicationControllerSpec", &[
        ("selector", "", "", "", &[], "atomic"),
    ]),
    ("io.k8s.api.core.v1.ReplicationControllerStatus", &[
        ("conditions", "merge", "type", "map", &["type"], ""),
    ]),
    ("io.k8s.api.core.v1.ResourceFieldSelector", &[
        ("", "", "", "", &[], "atomic"),
    ]),
    ("io.k8s.api.core.v1.ResourceQuotaSpec", &[
        ("scopes", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.core.v1.ResourceRequirements", &[
        ("claims", "", "", "map", &["name"], ""),
    ]),
    ("io.k8s.api.core.v1.ResourceStatus", &[
        ("resources", "", "", "map", &["resourceID"], ""),
    ]),
    ("io.k8s.api.core.v1.ScopeSelector", &[
        ("", "", "", "", &[], "atomic"),
        ("matchExpressions", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.core.v1.ScopedResourceSelectorRequirement", &[
        ("values", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.core.v1.SecretKeySelector", &[
        ("", "", "", "", &[], "atomic"),
    ]),
    ("io.k8s.api.core.v1.SecretProjection", &[
        ("items", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.core.v1.SecretReference", &[
        ("", "", "", "", &[], "atomic"),
    ]),
    ("io.k8s.api.core.v1.SecretVolumeSource", &[
        ("items", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.core.v1.ServiceAccount", &[
        ("imagePullSecrets", "", "", "atomic", &[], ""),
        ("secrets", "merge", "name", "map", &["name"], ""),
    ]),
    ("io.k8s.api.core.v1.ServiceSpec", &[
        ("clusterIPs", "", "", "atomic", &[], ""),
        ("externalIPs", "", "", "atomic", &[], ""),
        ("ipFamilies", "", "", "atomic", &[], ""),
        ("loadBalancerSourceRanges", "", "", "atomic", &[], ""),
        ("ports", "merge", "port", "map", &["port", "protocol"], ""),
        ("selector", "", "", "", &[], "atomic"),
    ]),
    ("io.k8s.api.core.v1.ServiceStatus", &[
        ("conditions", "merge", "type", "map", &["type"], ""),
    ]),
    ("io.k8s.api.core.v1.TopologySelectorLabelRequirement", &[
        ("values", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.core.v1.TopologySelectorTerm", &[
        ("", "", "", "", &[], "atomic"),
        ("matchLabelExpressions", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.core.v1.TopologySpreadConstraint", &[
        ("matchLabelKeys", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.core.v1.TypedLocalObjectReference", &[
        ("", "", "", "", &[], "atomic"),
    ]),
];
