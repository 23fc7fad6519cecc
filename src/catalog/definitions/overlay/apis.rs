//! Patch and list metadata of every built-in definition outside `io.k8s.api.core.v1`.
//!
//! Transcribed from upstream 1.33's `api/openapi-spec/swagger.json` (https://github.com/kubernetes/kubernetes/blob/release-1.33/api/openapi-spec/swagger.json), which is generated from
//! the struct tags and markers of `staging/src/k8s.io/api/**/types.go`,
//! `staging/src/k8s.io/apimachinery/pkg/apis/meta/v1/types.go`, and the apiextensions and
//! kube-aggregator types.

use super::DefinitionOverlay;

/// The rows of every definition outside `io.k8s.api.core.v1`, sorted by definition and field.
#[rustfmt::skip]
pub(super) const ROWS: &[DefinitionOverlay] = &[
    ("io.k8s.api.admissionregistration.v1.MatchResources", &[
        ("", "", "", "", &[], "atomic"),
        ("excludeResourceRules", "", "", "atomic", &[], ""),
        ("resourceRules", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.admissionregistration.v1.MutatingWebhook", &[
        ("admissionReviewVersions", "", "", "atomic", &[], ""),
        ("matchConditions", "merge", "name", "map", &["name"], ""),
        ("rules", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.admissionregistration.v1.MutatingWebhookConfiguration", &[
        ("webhooks", "merge", "name", "map", &["name"], ""),
    ]),
    ("io.k8s.api.admissionregistration.v1.NamedRuleWithOperations", &[
        ("", "", "", "", &[], "atomic"),
        ("apiGroups", "", "", "atomic", &[], ""),
        ("apiVersions", "", "", "atomic", &[], ""),
        ("operations", "", "", "atomic", &[], ""),
        ("resourceNames", "", "", "atomic", &[], ""),
        ("resources", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.admissionregistration.v1.ParamKind", &[
        ("", "", "", "", &[], "atomic"),
    ]),
    ("io.k8s.api.admissionregistration.v1.ParamRef", &[
        ("", "", "", "", &[], "atomic"),
    ]),
    ("io.k8s.api.admissionregistration.v1.RuleWithOperations", &[
        ("apiGroups", "", "", "atomic", &[], ""),
        ("apiVersions", "", "", "atomic", &[], ""),
        ("operations", "", "", "atomic", &[], ""),
        ("resources", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.admissionregistration.v1.TypeChecking", &[
        ("expressionWarnings", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.admissionregistration.v1.ValidatingAdmissionPolicyBindingSpec", &[
        ("validationActions", "", "", "set", &[], ""),
    ]),
    ("io.k8s.api.admissionregistration.v1.ValidatingAdmissionPolicySpec", &[
        ("auditAnnotations", "", "", "atomic", &[], ""),
        ("matchConditions", "merge", "name", "map", &["name"], ""),
        ("validations", "", "", "atomic", &[], ""),
        ("variables", "merge", "name", "map", &["name"], ""),
    ]),
    ("io.k8s.api.admissionregistration.v1.ValidatingAdmissionPolicyStatus", &[
        ("conditions", "", "", "map", &["type"], ""),
    ]),
    ("io.k8s.api.admissionregistration.v1.ValidatingWebhook", &[
        ("admissionReviewVersions", "", "", "atomic", &[], ""),
        ("matchConditions", "merge", "name", "map", &["name"], ""),
        ("rules", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.admissionregistration.v1.ValidatingWebhookConfiguration", &[
        ("webhooks", "merge", "name", "map", &["name"], ""),
    ]),
    ("io.k8s.api.admissionregistration.v1.Variable", &[
        ("", "", "", "", &[], "atomic"),
    ]),
    ("io.k8s.api.admissionregistration.v1alpha1.MatchResources", &[
        ("", "", "", "", &[], "atomic"),
        ("excludeResourceRules", "", "", "atomic", &[], ""),
        ("resourceRules", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.admissionregistration.v1alpha1.MutatingAdmissionPolicySpec", &[
        ("matchConditions", "merge", "name", "map", &["name"], ""),
        ("mutations", "", "", "atomic", &[], ""),
        ("variables", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.admissionregistration.v1alpha1.NamedRuleWithOperations", &[
        ("", "", "", "", &[], "atomic"),
        ("apiGroups", "", "", "atomic", &[], ""),
        ("apiVersions", "", "", "atomic", &[], ""),
        ("operations", "", "", "atomic", &[], ""),
        ("resourceNames", "", "", "atomic", &[], ""),
        ("resources", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.admissionregistration.v1alpha1.ParamKind", &[
        ("", "", "", "", &[], "atomic"),
    ]),
    ("io.k8s.api.admissionregistration.v1alpha1.ParamRef", &[
        ("", "", "", "", &[], "atomic"),
    ]),
    ("io.k8s.api.admissionregistration.v1beta1.MatchResources", &[
        ("", "", "", "", &[], "atomic"),
        ("excludeResourceRules", "", "", "atomic", &[], ""),
        ("resourceRules", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.admissionregistration.v1beta1.NamedRuleWithOperations", &[
        ("", "", "", "", &[], "atomic"),
        ("apiGroups", "", "", "atomic", &[], ""),
        ("apiVersions", "", "", "atomic", &[], ""),
        ("operations", "", "", "atomic", &[], ""),
        ("resourceNames", "", "", "atomic", &[], ""),
        ("resources", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.admissionregistration.v1beta1.ParamKind", &[
        ("", "", "", "", &[], "atomic"),
    ]),
    ("io.k8s.api.admissionregistration.v1beta1.ParamRef", &[
        ("", "", "", "", &[], "atomic"),
    ]),
    ("io.k8s.api.admissionregistration.v1beta1.TypeChecking", &[
        ("expressionWarnings", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.admissionregistration.v1beta1.ValidatingAdmissionPolicyBindingSpec", &[
        ("validationActions", "", "", "set", &[], ""),
    ]),
    ("io.k8s.api.admissionregistration.v1beta1.ValidatingAdmissionPolicySpec", &[
        ("auditAnnotations", "", "", "atomic", &[], ""),
        ("matchConditions", "merge", "name", "map", &["name"], ""),
        ("validations", "", "", "atomic", &[], ""),
        ("variables", "merge", "name", "map", &["name"], ""),
    ]),
    ("io.k8s.api.admissionregistration.v1beta1.ValidatingAdmissionPolicyStatus", &[
        ("conditions", "", "", "map", &["type"], ""),
    ]),
    ("io.k8s.api.admissionregistration.v1beta1.Variable", &[
        ("", "", "", "", &[], "atomic"),
    ]),
    ("io.k8s.api.apiserverinternal.v1alpha1.ServerStorageVersion", &[
        ("decodableVersions", "", "", "set", &[], ""),
        ("servedVersions", "", "", "set", &[], ""),
    ]),
    ("io.k8s.api.apiserverinternal.v1alpha1.StorageVersionStatus", &[
        ("conditions", "", "", "map", &["type"], ""),
        ("storageVersions", "", "", "map", &["apiServerID"], ""),
    ]),
    ("io.k8s.api.apps.v1.DaemonSetStatus", &[
        ("conditions", "merge", "type", "map", &["type"], ""),
    ]),
    ("io.k8s.api.apps.v1.DeploymentSpec", &[
        ("strategy", "retainKeys", "", "", &[], ""),
    ]),
    ("io.k8s.api.apps.v1.DeploymentStatus", &[
        ("conditions", "merge", "type", "map", &["type"], ""),
    ]),
    ("io.k8s.api.apps.v1.ReplicaSetStatus", &[
        ("conditions", "merge", "type", "map", &["type"], ""),
    ]),
    ("io.k8s.api.apps.v1.StatefulSetSpec", &[
        ("volumeClaimTemplates", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.apps.v1.StatefulSetStatus", &[
        ("conditions", "merge", "type", "map", &["type"], ""),
    ]),
    ("io.k8s.api.authentication.v1.TokenRequestSpec", &[
        ("audiences", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.authentication.v1.TokenReviewSpec", &[
        ("audiences", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.authentication.v1.TokenReviewStatus", &[
        ("audiences", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.authentication.v1.UserInfo", &[
        ("groups", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.authorization.v1.FieldSelectorAttributes", &[
        ("requirements", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.authorization.v1.LabelSelectorAttributes", &[
        ("requirements", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.authorization.v1.NonResourceRule", &[
        ("nonResourceURLs", "", "", "atomic", &[], ""),
        ("verbs", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.authorization.v1.ResourceRule", &[
        ("apiGroups", "", "", "atomic", &[], ""),
        ("resourceNames", "", "", "atomic", &[], ""),
        ("resources", "", "", "atomic", &[], ""),
        ("verbs", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.authorization.v1.SubjectAccessReviewSpec", &[
        ("groups", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.authorization.v1.SubjectRulesReviewStatus", &[
        ("nonResourceRules", "", "", "atomic", &[], ""),
        ("resourceRules", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.autoscaling.v1.CrossVersionObjectReference", &[
        ("", "", "", "", &[], "atomic"),
    ]),
    ("io.k8s.api.autoscaling.v2.HPAScalingRules", &[
        ("policies", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerSpec", &[
        ("metrics", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerStatus", &[
        ("conditions", "merge", "type", "map", &["type"], ""),
        ("currentMetrics", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.batch.v1.CronJobStatus", &[
        ("active", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.batch.v1.JobStatus", &[
        ("conditions", "merge", "type", "atomic", &[], ""),
    ]),
    ("io.k8s.api.batch.v1.PodFailurePolicy", &[
        ("rules", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.batch.v1.PodFailurePolicyOnExitCodesRequirement", &[
        ("values", "", "", "set", &[], ""),
    ]),
    ("io.k8s.api.batch.v1.PodFailurePolicyRule", &[
        ("onPodConditions", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.batch.v1.SuccessPolicy", &[
        ("rules", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.batch.v1.UncountedTerminatedPods", &[
        ("failed", "", "", "set", &[], ""),
        ("succeeded", "", "", "set", &[], ""),
    ]),
    ("io.k8s.api.certificates.v1.CertificateSigningRequestSpec", &[
        ("groups", "", "", "atomic", &[], ""),
        ("request", "", "", "atomic", &[], ""),
        ("usages", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.certificates.v1.CertificateSigningRequestStatus", &[
        ("certificate", "", "", "atomic", &[], ""),
        ("conditions", "", "", "map", &["type"], ""),
    ]),
    ("io.k8s.api.discovery.v1.Endpoint", &[
        ("addresses", "", "", "set", &[], ""),
    ]),
    ("io.k8s.api.discovery.v1.EndpointHints", &[
        ("forNodes", "", "", "atomic", &[], ""),
        ("forZones", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.discovery.v1.EndpointPort", &[
        ("", "", "", "", &[], "atomic"),
    ]),
    ("io.k8s.api.discovery.v1.EndpointSlice", &[
        ("endpoints", "", "", "atomic", &[], ""),
        ("ports", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.flowcontrol.v1.FlowSchemaSpec", &[
        ("rules", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.flowcontrol.v1.FlowSchemaStatus", &[
        ("conditions", "merge", "type", "map", &["type"], ""),
    ]),
    ("io.k8s.api.flowcontrol.v1.NonResourcePolicyRule", &[
        ("nonResourceURLs", "", "", "set", &[], ""),
        ("verbs", "", "", "set", &[], ""),
    ]),
    ("io.k8s.api.flowcontrol.v1.PolicyRulesWithSubjects", &[
        ("nonResourceRules", "", "", "atomic", &[], ""),
        ("resourceRules", "", "", "atomic", &[], ""),
        ("subjects", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.flowcontrol.v1.PriorityLevelConfigurationStatus", &[
        ("conditions", "merge", "type", "map", &["type"], ""),
    ]),
    ("io.k8s.api.flowcontrol.v1.ResourcePolicyRule", &[
        ("apiGroups", "", "", "set", &[], ""),
        ("namespaces", "", "", "set", &[], ""),
        ("resources", "", "", "set", &[], ""),
        ("verbs", "", "", "set", &[], ""),
    ]),
    ("io.k8s.api.networking.v1.HTTPIngressRuleValue", &[
        ("paths", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.networking.v1.IPBlock", &[
        ("except", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.networking.v1.IngressLoadBalancerIngress", &[
        ("ports", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.networking.v1.IngressLoadBalancerStatus", &[
        ("ingress", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.networking.v1.IngressSpec", &[
        ("rules", "", "", "atomic", &[], ""),
        ("tls", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.networking.v1.IngressTLS", &[
        ("hosts", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.networking.v1.NetworkPolicyEgressRule", &[
        ("ports", "", "", "atomic", &[], ""),
        ("to", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.networking.v1.NetworkPolicyIngressRule", &[
        ("from", "", "", "atomic", &[], ""),
        ("ports", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.networking.v1.NetworkPolicySpec", &[
        ("egress", "", "", "atomic", &[], ""),
        ("ingress", "", "", "atomic", &[], ""),
        ("policyTypes", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.networking.v1.ServiceBackendPort", &[
        ("", "", "", "", &[], "atomic"),
    ]),
    ("io.k8s.api.networking.v1.ServiceCIDRSpec", &[
        ("cidrs", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.networking.v1.ServiceCIDRStatus", &[
        ("conditions", "merge", "type", "map", &["type"], ""),
    ]),
    ("io.k8s.api.networking.v1beta1.ServiceCIDRSpec", &[
        ("cidrs", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.networking.v1beta1.ServiceCIDRStatus", &[
        ("conditions", "merge", "type", "map", &["type"], ""),
    ]),
    ("io.k8s.api.node.v1.Scheduling", &[
        ("nodeSelector", "", "", "", &[], "atomic"),
        ("tolerations", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.policy.v1.PodDisruptionBudgetSpec", &[
        ("selector", "replace", "", "", &[], ""),
    ]),
    ("io.k8s.api.policy.v1.PodDisruptionBudgetStatus", &[
        ("conditions", "merge", "type", "map", &["type"], ""),
    ]),
    ("io.k8s.api.rbac.v1.AggregationRule", &[
        ("clusterRoleSelectors", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.rbac.v1.ClusterRole", &[
        ("rules", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.rbac.v1.ClusterRoleBinding", &[
        ("subjects", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.rbac.v1.PolicyRule", &[
        ("apiGroups", "", "", "atomic", &[], ""),
        ("nonResourceURLs", "", "", "atomic", &[], ""),
        ("resourceNames", "", "", "atomic", &[], ""),
        ("resources", "", "", "atomic", &[], ""),
        ("verbs", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.rbac.v1.Role", &[
        ("rules", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.rbac.v1.RoleBinding", &[
        ("subjects", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.rbac.v1.RoleRef", &[
        ("", "", "", "", &[], "atomic"),
    ]),
    ("io.k8s.api.rbac.v1.Subject", &[
        ("", "", "", "", &[], "atomic"),
    ]),
    ("io.k8s.api.resource.v1alpha3.AllocatedDeviceStatus", &[
        ("conditions", "", "", "map", &["type"], ""),
    ]),
    ("io.k8s.api.resource.v1alpha3.BasicDevice", &[
        ("consumesCounters", "", "", "atomic", &[], ""),
        ("taints", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.resource.v1alpha3.DeviceAllocationConfiguration", &[
        ("requests", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.resource.v1alpha3.DeviceAllocationResult", &[
        ("config", "", "", "atomic", &[], ""),
        ("results", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.resource.v1alpha3.DeviceClaim", &[
        ("config", "", "", "atomic", &[], ""),
        ("constraints", "", "", "atomic", &[], ""),
        ("requests", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.resource.v1alpha3.DeviceClaimConfiguration", &[
        ("requests", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.resource.v1alpha3.DeviceClassSpec", &[
        ("config", "", "", "atomic", &[], ""),
        ("selectors", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.resource.v1alpha3.DeviceConstraint", &[
        ("requests", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.resource.v1alpha3.DeviceRequest", &[
        ("firstAvailable", "", "", "atomic", &[], ""),
        ("selectors", "", "", "atomic", &[], ""),
        ("tolerations", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.resource.v1alpha3.DeviceRequestAllocationResult", &[
        ("tolerations", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.resource.v1alpha3.DeviceSubRequest", &[
        ("selectors", "", "", "atomic", &[], ""),
        ("tolerations", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.resource.v1alpha3.DeviceTaintSelector", &[
        ("selectors", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.resource.v1alpha3.NetworkDeviceData", &[
        ("ips", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.resource.v1alpha3.ResourceClaimStatus", &[
        ("devices", "", "", "map", &["driver", "device", "pool"], ""),
        ("reservedFor", "merge", "uid", "map", &["uid"], ""),
    ]),
    ("io.k8s.api.resource.v1alpha3.ResourceSliceSpec", &[
        ("devices", "", "", "atomic", &[], ""),
        ("sharedCounters", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.resource.v1beta1.AllocatedDeviceStatus", &[
        ("conditions", "", "", "map", &["type"], ""),
    ]),
    ("io.k8s.api.resource.v1beta1.BasicDevice", &[
        ("consumesCounters", "", "", "atomic", &[], ""),
        ("taints", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.resource.v1beta1.DeviceAllocationConfiguration", &[
        ("requests", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.resource.v1beta1.DeviceAllocationResult", &[
        ("config", "", "", "atomic", &[], ""),
        ("results", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.resource.v1beta1.DeviceClaim", &[
        ("config", "", "", "atomic", &[], ""),
        ("constraints", "", "", "atomic", &[], ""),
        ("requests", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.resource.v1beta1.DeviceClaimConfiguration", &[
        ("requests", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.resource.v1beta1.DeviceClassSpec", &[
        ("config", "", "", "atomic", &[], ""),
        ("selectors", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.resource.v1beta1.DeviceConstraint", &[
        ("requests", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.resource.v1beta1.DeviceRequest", &[
        ("firstAvailable", "", "", "atomic", &[], ""),
        ("selectors", "", "", "atomic", &[], ""),
        ("tolerations", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.resource.v1beta1.DeviceRequestAllocationResult", &[
        ("tolerations", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.resource.v1beta1.DeviceSubRequest", &[
        ("selectors", "", "", "atomic", &[], ""),
        ("tolerations", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.resource.v1beta1.NetworkDeviceData", &[
        ("ips", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.resource.v1beta1.ResourceClaimStatus", &[
        ("devices", "", "", "map", &["driver", "device", "pool"], ""),
        ("reservedFor", "merge", "uid", "map", &["uid"], ""),
    ]),
    ("io.k8s.api.resource.v1beta1.ResourceSliceSpec", &[
        ("devices", "", "", "atomic", &[], ""),
        ("sharedCounters", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.resource.v1beta2.AllocatedDeviceStatus", &[
        ("conditions", "", "", "map", &["type"], ""),
    ]),
    ("io.k8s.api.resource.v1beta2.Device", &[
        ("consumesCounters", "", "", "atomic", &[], ""),
        ("taints", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.resource.v1beta2.DeviceAllocationConfiguration", &[
        ("requests", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.resource.v1beta2.DeviceAllocationResult", &[
        ("config", "", "", "atomic", &[], ""),
        ("results", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.resource.v1beta2.DeviceClaim", &[
        ("config", "", "", "atomic", &[], ""),
        ("constraints", "", "", "atomic", &[], ""),
        ("requests", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.resource.v1beta2.DeviceClaimConfiguration", &[
        ("requests", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.resource.v1beta2.DeviceClassSpec", &[
        ("config", "", "", "atomic", &[], ""),
        ("selectors", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.resource.v1beta2.DeviceConstraint", &[
        ("requests", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.resource.v1beta2.DeviceRequest", &[
        ("firstAvailable", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.resource.v1beta2.DeviceRequestAllocationResult", &[
        ("tolerations", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.resource.v1beta2.DeviceSubRequest", &[
        ("selectors", "", "", "atomic", &[], ""),
        ("tolerations", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.resource.v1beta2.ExactDeviceRequest", &[
        ("selectors", "", "", "atomic", &[], ""),
        ("tolerations", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.resource.v1beta2.NetworkDeviceData", &[
        ("ips", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.resource.v1beta2.ResourceClaimStatus", &[
        ("devices", "", "", "map", &["driver", "device", "pool"], ""),
        ("reservedFor", "merge", "uid", "map", &["uid"], ""),
    ]),
    ("io.k8s.api.resource.v1beta2.ResourceSliceSpec", &[
        ("devices", "", "", "atomic", &[], ""),
        ("sharedCounters", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.storage.v1.CSIDriverSpec", &[
        ("tokenRequests", "", "", "atomic", &[], ""),
        ("volumeLifecycleModes", "", "", "set", &[], ""),
    ]),
    ("io.k8s.api.storage.v1.CSINodeDriver", &[
        ("topologyKeys", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.storage.v1.CSINodeSpec", &[
        ("drivers", "merge", "name", "map", &["name"], ""),
    ]),
    ("io.k8s.api.storage.v1.StorageClass", &[
        ("allowedTopologies", "", "", "atomic", &[], ""),
        ("mountOptions", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.api.storagemigration.v1alpha1.StorageVersionMigrationList", &[
        ("items", "merge", "type", "map", &["type"], ""),
    ]),
    ("io.k8s.api.storagemigration.v1alpha1.StorageVersionMigrationStatus", &[
        ("conditions", "merge", "type", "map", &["type"], ""),
    ]),
    ("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionNames", &[
        ("categories", "", "", "atomic", &[], ""),
        ("shortNames", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionSpec", &[
        ("versions", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionStatus", &[
        ("conditions", "", "", "map", &["type"], ""),
        ("storedVersions", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionVersion", &[
        ("additionalPrinterColumns", "", "", "atomic", &[], ""),
        ("selectableFields", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps", &[
        ("allOf", "", "", "atomic", &[], ""),
        ("anyOf", "", "", "atomic", &[], ""),
        ("enum", "", "", "atomic", &[], ""),
        ("oneOf", "", "", "atomic", &[], ""),
        ("required", "", "", "atomic", &[], ""),
        ("x-kubernetes-list-map-keys", "", "", "atomic", &[], ""),
        ("x-kubernetes-validations", "merge", "rule", "map", &["rule"], ""),
    ]),
    ("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.WebhookConversion", &[
        ("conversionReviewVersions", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.apimachinery.pkg.apis.meta.v1.APIGroup", &[
        ("serverAddressByClientCIDRs", "", "", "atomic", &[], ""),
        ("versions", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.apimachinery.pkg.apis.meta.v1.APIGroupList", &[
        ("groups", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.apimachinery.pkg.apis.meta.v1.APIResource", &[
        ("categories", "", "", "atomic", &[], ""),
        ("shortNames", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList", &[
        ("resources", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.apimachinery.pkg.apis.meta.v1.APIVersions", &[
        ("serverAddressByClientCIDRs", "", "", "atomic", &[], ""),
        ("versions", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions", &[
        ("dryRun", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.apimachinery.pkg.apis.meta.v1.FieldSelectorRequirement", &[
        ("values", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector", &[
        ("", "", "", "", &[], "atomic"),
        ("matchExpressions", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelectorRequirement", &[
        ("values", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", &[
        ("finalizers", "merge", "", "set", &[], ""),
        ("managedFields", "", "", "atomic", &[], ""),
        ("ownerReferences", "merge", "uid", "map", &["uid"], ""),
    ]),
    ("io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference", &[
        ("", "", "", "", &[], "atomic"),
    ]),
    ("io.k8s.apimachinery.pkg.apis.meta.v1.Status", &[
        ("details", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.apimachinery.pkg.apis.meta.v1.StatusDetails", &[
        ("causes", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.kube-aggregator.pkg.apis.apiregistration.v1.APIServiceSpec", &[
        ("caBundle", "", "", "atomic", &[], ""),
    ]),
    ("io.k8s.kube-aggregator.pkg.apis.apiregistration.v1.APIServiceStatus", &[
        ("conditions", "merge", "type", "map", &["type"], ""),
    ]),
];
