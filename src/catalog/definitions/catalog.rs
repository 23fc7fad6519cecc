//! The catalog of every Kubernetes 1.33 built-in type that k8s-openapi (`v1_33`) describes.
//!
//! Three lists, by what the type is: top-level kinds that have a list kind (`DeploymentList`), other
//! top-level kinds (subresource and review kinds, discovery documents, `Status`), and plain types.
//! Generated once from the `impl JsonSchema` blocks of k8s-openapi 0.29's `src/v1_33` tree and kept
//! sorted by module; when k8s-openapi gains a type, add it here (the definitions test compares the
//! total against upstream's count).

use super::Collector;

/// Calls `$collector.$method::<T>()` for each listed type `T`, module by module.
macro_rules! visit_types {
    ($collector:ident . $method:ident; $( $($module:ident)::+ => [$($ty:ident),* $(,)?], )*) => {
        $( {
            use k8s_openapi::$($module)::+ as module;
            $( $collector.$method::<module::$ty>(); )*
        } )*
    };
}

/// Registers every built-in type with `collector`.
pub(super) fn register_all(collector: &mut Collector) {
    // Top-level kinds with a list kind.
    visit_types! { collector.listable;
        api::admissionregistration::v1 => [
            MutatingWebhookConfiguration, ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding,
            ValidatingWebhookConfiguration
        ],
        api::admissionregistration::v1alpha1 => [MutatingAdmissionPolicy, MutatingAdmissionPolicyBinding],
        api::admissionregistration::v1beta1 => [ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding],
        api::apiserverinternal::v1alpha1 => [StorageVersion],
        api::apps::v1 => [ControllerRevision, DaemonSet, Deployment, ReplicaSet, StatefulSet],
        api::autoscaling::v1 => [HorizontalPodAutoscaler],
        api::autoscaling::v2 => [HorizontalPodAutoscaler],
        api::batch::v1 => [CronJob, Job],
        api::certificates::v1 => [CertificateSigningRequest],
        api::certificates::v1alpha1 => [ClusterTrustBundle],
        api::certificates::v1beta1 => [ClusterTrustBundle],
        api::coordination::v1 => [Lease],
        api::coordination::v1alpha2 => [LeaseCandidate],
        api::coordination::v1beta1 => [LeaseCandidate],
        api::core::v1 => [
            ComponentStatus, ConfigMap, Endpoints, Event, LimitRange, Namespace, Node, PersistentVolume,
            PersistentVolumeClaim, Pod, PodTemplate, ReplicationController, ResourceQuota, Secret, Service,
            ServiceAccount
        ],
        api::discovery::v1 => [EndpointSlice],
        api::events::v1 => [Event],
        api::flowcontrol::v1 => [FlowSchema, PriorityLevelConfiguration],
        api::networking::v1 => [IPAddress, Ingress, IngressClass, NetworkPolicy, ServiceCIDR],
        api::networking::v1beta1 => [IPAddress, ServiceCIDR],
        api::node::v1 => [RuntimeClass],
        api::policy::v1 => [PodDisruptionBudget],
        api::rbac::v1 => [ClusterRole, ClusterRoleBinding, Role, RoleBinding],
        api::resource::v1alpha3 => [
            DeviceClass, DeviceTaintRule, ResourceClaim, ResourceClaimTemplate, ResourceSlice
        ],
        api::resource::v1beta1 => [DeviceClass, ResourceClaim, ResourceClaimTemplate, ResourceSlice],
        api::resource::v1beta2 => [DeviceClass, ResourceClaim, ResourceClaimTemplate, ResourceSlice],
        api::scheduling::v1 => [PriorityClass],
        api::storage::v1 => [CSIDriver, CSINode, CSIStorageCapacity, StorageClass, VolumeAttachment],
        api::storage::v1alpha1 => [VolumeAttributesClass],
        api::storage::v1beta1 => [VolumeAttributesClass],
        api::storagemigration::v1alpha1 => [StorageVersionMigration],
        apiextensions_apiserver::pkg::apis::apiextensions::v1 => [CustomResourceDefinition],
        kube_aggregator::pkg::apis::apiregistration::v1 => [APIService],
    }
    // Top-level kinds without a list kind.
    visit_types! { collector.resource;
        api::authentication::v1 => [SelfSubjectReview, TokenRequest, TokenReview],
        api::authorization::v1 => [
            LocalSubjectAccessReview, SelfSubjectAccessReview, SelfSubjectRulesReview, SubjectAccessReview
        ],
        api::autoscaling::v1 => [Scale],
        api::core::v1 => [Binding],
        api::policy::v1 => [Eviction],
        apimachinery::pkg::apis::meta::v1 => [APIGroup, APIGroupList, APIResourceList, APIVersions, Status],
    }
    // Everything else: specs, statuses, shared meta types.
    visit_types! { collector.plain;
        api::admissionregistration::v1 => [
            AuditAnnotation, ExpressionWarning, MatchCondition, MatchResources, MutatingWebhook,
            NamedRuleWithOperations, ParamKind, ParamRef, RuleWithOperations, ServiceReference, TypeChecking,
            ValidatingAdmissionPolicyBindingSpec, ValidatingAdmissionPolicySpec,
            ValidatingAdmissionPolicyStatus, ValidatingWebhook, Validation, Variable, WebhookClientConfig
        ],
        api::admissionregistration::v1alpha1 => [
            ApplyConfiguration, JSONPatch, MatchCondition, MatchResources, MutatingAdmissionPolicyBindingSpec,
            MutatingAdmissionPolicySpec, Mutation, NamedRuleWithOperations, ParamKind, ParamRef, Variable
        ],
        api::admissionregistration::v1beta1 => [
            AuditAnnotation, ExpressionWarning, MatchCondition, MatchResources, NamedRuleWithOperations,
            ParamKind, ParamRef, TypeChecking, ValidatingAdmissionPolicyBindingSpec,
            ValidatingAdmissionPolicySpec, ValidatingAdmissionPolicyStatus, Validation, Variable
        ],
        api::apiserverinternal::v1alpha1 => [
            ServerStorageVersion, StorageVersionCondition, StorageVersionSpec, StorageVersionStatus
        ],
        api::apps::v1 => [
            DaemonSetCondition, DaemonSetSpec, DaemonSetStatus, DaemonSetUpdateStrategy, DeploymentCondition,
            DeploymentSpec, DeploymentStatus, DeploymentStrategy, ReplicaSetCondition, ReplicaSetSpec,
            ReplicaSetStatus, RollingUpdateDaemonSet, RollingUpdateDeployment, RollingUpdateStatefulSetStrategy,
            StatefulSetCondition, StatefulSetOrdinals, StatefulSetPersistentVolumeClaimRetentionPolicy,
            StatefulSetSpec, StatefulSetStatus, StatefulSetUpdateStrategy
        ],
        api::authentication::v1 => [
            BoundObjectReference, SelfSubjectReviewStatus, TokenRequestSpec, TokenRequestStatus,
            TokenReviewSpec, TokenReviewStatus, UserInfo
        ],
        api::authorization::v1 => [
            FieldSelectorAttributes, LabelSelectorAttributes, NonResourceAttributes, NonResourceRule,
            ResourceAttributes, ResourceRule, SelfSubjectAccessReviewSpec, SelfSubjectRulesReviewSpec,
            SubjectAccessReviewSpec, SubjectAccessReviewStatus, SubjectRulesReviewStatus
        ],
        api::autoscaling::v1 => [
            CrossVersionObjectReference, HorizontalPodAutoscalerSpec, HorizontalPodAutoscalerStatus, ScaleSpec,
            ScaleStatus
        ],
        api::autoscaling::v2 => [
            ContainerResourceMetricSource, ContainerResourceMetricStatus, CrossVersionObjectReference,
            ExternalMetricSource, ExternalMetricStatus, HPAScalingPolicy, HPAScalingRules,
            HorizontalPodAutoscalerBehavior, HorizontalPodAutoscalerCondition, HorizontalPodAutoscalerSpec,
            HorizontalPodAutoscalerStatus, MetricIdentifier, MetricSpec, MetricStatus, MetricTarget,
            MetricValueStatus, ObjectMetricSource, ObjectMetricStatus, PodsMetricSource, PodsMetricStatus,
            ResourceMetricSource, ResourceMetricStatus
        ],
        api::batch::v1 => [
            CronJobSpec, CronJobStatus, JobCondition, JobSpec, JobStatus, JobTemplateSpec, PodFailurePolicy,
            PodFailurePolicyOnExitCodesRequirement, PodFailurePolicyOnPodConditionsPattern,
            PodFailurePolicyRule, SuccessPolicy, SuccessPolicyRule, UncountedTerminatedPods
        ],
        api::certificates::v1 => [
            CertificateSigningRequestCondition, CertificateSigningRequestSpec, CertificateSigningRequestStatus
        ],
        api::certificates::v1alpha1 => [ClusterTrustBundleSpec],
        api::certificates::v1beta1 => [ClusterTrustBundleSpec],
        api::coordination::v1 => [LeaseSpec],
        api::coordination::v1alpha2 => [LeaseCandidateSpec],
        api::coordination::v1beta1 => [LeaseCandidateSpec],
        api::core::v1 => [
            AWSElasticBlockStoreVolumeSource, Affinity, AppArmorProfile, AttachedVolume, AzureDiskVolumeSource,
            AzureFilePersistentVolumeSource, AzureFileVolumeSource, CSIPersistentVolumeSource, CSIVolumeSource,
            Capabilities, CephFSPersistentVolumeSource, CephFSVolumeSource, CinderPersistentVolumeSource,
            CinderVolumeSource, ClientIPConfig, ClusterTrustBundleProjection, ComponentCondition,
            ConfigMapEnvSource, ConfigMapKeySelector, ConfigMapNodeConfigSource, ConfigMapProjection,
            ConfigMapVolumeSource, Container, ContainerImage, ContainerPort, ContainerResizePolicy,
            ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting,
            ContainerStatus, ContainerUser, DaemonEndpoint, DownwardAPIProjection, DownwardAPIVolumeFile,
            DownwardAPIVolumeSource, EmptyDirVolumeSource, EndpointAddress, EndpointPort, EndpointSubset,
            EnvFromSource, EnvVar, EnvVarSource, EphemeralContainer, EphemeralVolumeSource, EventSeries,
            EventSource, ExecAction, FCVolumeSource, FlexPersistentVolumeSource, FlexVolumeSource,
            FlockerVolumeSource, GCEPersistentDiskVolumeSource, GRPCAction, GitRepoVolumeSource,
            GlusterfsPersistentVolumeSource, GlusterfsVolumeSource, HTTPGetAction, HTTPHeader, HostAlias,
            HostIP, HostPathVolumeSource, ISCSIPersistentVolumeSource, ISCSIVolumeSource, ImageVolumeSource,
            KeyToPath, Lifecycle, LifecycleHandler, LimitRangeItem, LimitRangeSpec, LinuxContainerUser,
            LoadBalancerIngress, LoadBalancerStatus, LocalObjectReference, LocalVolumeSource,
            ModifyVolumeStatus, NFSVolumeSource, NamespaceCondition, NamespaceSpec, NamespaceStatus,
            NodeAddress, NodeAffinity, NodeCondition, NodeConfigSource, NodeConfigStatus, NodeDaemonEndpoints,
            NodeFeatures, NodeRuntimeHandler, NodeRuntimeHandlerFeatures, NodeSelector, NodeSelectorRequirement,
            NodeSelectorTerm, NodeSpec, NodeStatus, NodeSwapStatus, NodeSystemInfo, ObjectFieldSelector,
            ObjectReference, PersistentVolumeClaimCondition, PersistentVolumeClaimSpec,
            PersistentVolumeClaimStatus, PersistentVolumeClaimTemplate, PersistentVolumeClaimVolumeSource,
            PersistentVolumeSpec, PersistentVolumeStatus, PhotonPersistentDiskVolumeSource, PodAffinity,
            PodAffinityTerm, PodAntiAffinity, PodCondition, PodDNSConfig, PodDNSConfigOption, PodIP, PodOS,
            PodReadinessGate, PodResourceClaim, PodResourceClaimStatus, PodSchedulingGate, PodSecurityContext,
            PodSpec, PodStatus, PodTemplateSpec, PortStatus, PortworxVolumeSource, PreferredSchedulingTerm,
            Probe, ProjectedVolumeSource, QuobyteVolumeSource, RBDPersistentVolumeSource, RBDVolumeSource,
            ReplicationControllerCondition, ReplicationControllerSpec, ReplicationControllerStatus,
            ResourceClaim, ResourceFieldSelector, ResourceHealth, ResourceQuotaSpec, ResourceQuotaStatus,
            ResourceRequirements, ResourceStatus, SELinuxOptions, ScaleIOPersistentVolumeSource,
            ScaleIOVolumeSource, ScopeSelector, ScopedResourceSelectorRequirement, SeccompProfile,
            SecretEnvSource, SecretKeySelector, SecretProjection, SecretReference, SecretVolumeSource,
            SecurityContext, ServiceAccountTokenProjection, ServicePort, ServiceSpec, ServiceStatus,
            SessionAffinityConfig, SleepAction, StorageOSPersistentVolumeSource, StorageOSVolumeSource, Sysctl,
            TCPSocketAction, Taint, Toleration, TopologySelectorLabelRequirement, TopologySelectorTerm,
            TopologySpreadConstraint, TypedLocalObjectReference, TypedObjectReference, Volume, VolumeDevice,
            VolumeMount, VolumeMountStatus, VolumeNodeAffinity, VolumeProjection, VolumeResourceRequirements,
            VsphereVirtualDiskVolumeSource, WeightedPodAffinityTerm, WindowsSecurityContextOptions
        ],
        api::discovery::v1 => [Endpoint, EndpointConditions, EndpointHints, EndpointPort, ForNode, ForZone],
        api::events::v1 => [EventSeries],
        api::flowcontrol::v1 => [
            ExemptPriorityLevelConfiguration, FlowDistinguisherMethod, FlowSchemaCondition, FlowSchemaSpec,
            FlowSchemaStatus, GroupSubject, LimitResponse, LimitedPriorityLevelConfiguration,
            NonResourcePolicyRule, PolicyRulesWithSubjects, PriorityLevelConfigurationCondition,
            PriorityLevelConfigurationReference, PriorityLevelConfigurationSpec,
            PriorityLevelConfigurationStatus, QueuingConfiguration, ResourcePolicyRule, ServiceAccountSubject,
            Subject, UserSubject
        ],
        api::networking::v1 => [
            HTTPIngressPath, HTTPIngressRuleValue, IPAddressSpec, IPBlock, IngressBackend,
            IngressClassParametersReference, IngressClassSpec, IngressLoadBalancerIngress,
            IngressLoadBalancerStatus, IngressPortStatus, IngressRule, IngressServiceBackend, IngressSpec,
            IngressStatus, IngressTLS, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
            NetworkPolicyPort, NetworkPolicySpec, ParentReference, ServiceBackendPort, ServiceCIDRSpec,
            ServiceCIDRStatus
        ],
        api::networking::v1beta1 => [IPAddressSpec, ParentReference, ServiceCIDRSpec, ServiceCIDRStatus],
        api::node::v1 => [Overhead, Scheduling],
        api::policy::v1 => [PodDisruptionBudgetSpec, PodDisruptionBudgetStatus],
        api::rbac::v1 => [AggregationRule, PolicyRule, RoleRef, Subject],
        api::resource::v1alpha3 => [
            AllocatedDeviceStatus, AllocationResult, BasicDevice, CELDeviceSelector, Counter, CounterSet,
            Device, DeviceAllocationConfiguration, DeviceAllocationResult, DeviceAttribute, DeviceClaim,
            DeviceClaimConfiguration, DeviceClassConfiguration, DeviceClassSpec, DeviceConstraint,
            DeviceCounterConsumption, DeviceRequest, DeviceRequestAllocationResult, DeviceSelector,
            DeviceSubRequest, DeviceTaint, DeviceTaintRuleSpec, DeviceTaintSelector, DeviceToleration,
            NetworkDeviceData, OpaqueDeviceConfiguration, ResourceClaimConsumerReference, ResourceClaimSpec,
            ResourceClaimStatus, ResourceClaimTemplateSpec, ResourcePool, ResourceSliceSpec
        ],
        api::resource::v1beta1 => [
            AllocatedDeviceStatus, AllocationResult, BasicDevice, CELDeviceSelector, Counter, CounterSet,
            Device, DeviceAllocationConfiguration, DeviceAllocationResult, DeviceAttribute, DeviceCapacity,
            DeviceClaim, DeviceClaimConfiguration, DeviceClassConfiguration, DeviceClassSpec, DeviceConstraint,
            DeviceCounterConsumption, DeviceRequest, DeviceRequestAllocationResult, DeviceSelector,
            DeviceSubRequest, DeviceTaint, DeviceToleration, NetworkDeviceData, OpaqueDeviceConfiguration,
            ResourceClaimConsumerReference, ResourceClaimSpec, ResourceClaimStatus, ResourceClaimTemplateSpec,
            ResourcePool, ResourceSliceSpec
        ],
        api::resource::v1beta2 => [
            AllocatedDeviceStatus, AllocationResult, CELDeviceSelector, Counter, CounterSet, Device,
            DeviceAllocationConfiguration, DeviceAllocationResult, DeviceAttribute, DeviceCapacity, DeviceClaim,
            DeviceClaimConfiguration, DeviceClassConfiguration, DeviceClassSpec, DeviceConstraint,
            DeviceCounterConsumption, DeviceRequest, DeviceRequestAllocationResult, DeviceSelector,
            DeviceSubRequest, DeviceTaint, DeviceToleration, ExactDeviceRequest, NetworkDeviceData,
            OpaqueDeviceConfiguration, ResourceClaimConsumerReference, ResourceClaimSpec, ResourceClaimStatus,
            ResourceClaimTemplateSpec, ResourcePool, ResourceSliceSpec
        ],
        api::storage::v1 => [
            CSIDriverSpec, CSINodeDriver, CSINodeSpec, TokenRequest, VolumeAttachmentSource,
            VolumeAttachmentSpec, VolumeAttachmentStatus, VolumeError, VolumeNodeResources
        ],
        api::storagemigration::v1alpha1 => [
            GroupVersionResource, MigrationCondition, StorageVersionMigrationSpec, StorageVersionMigrationStatus
        ],
        apiextensions_apiserver::pkg::apis::apiextensions::v1 => [
            CustomResourceColumnDefinition, CustomResourceConversion, CustomResourceDefinitionCondition,
            CustomResourceDefinitionNames, CustomResourceDefinitionSpec, CustomResourceDefinitionStatus,
            CustomResourceDefinitionVersion, CustomResourceSubresourceScale, CustomResourceSubresourceStatus,
            CustomResourceSubresources, CustomResourceValidation, ExternalDocumentation, JSON, JSONSchemaProps,
            JSONSchemaPropsOrArray, JSONSchemaPropsOrBool, JSONSchemaPropsOrStringArray, SelectableField,
            ServiceReference, ValidationRule, WebhookClientConfig, WebhookConversion
        ],
        apimachinery::pkg::api::resource => [Quantity],
        apimachinery::pkg::apis::meta::v1 => [
            APIResource, Condition, DeleteOptions, FieldSelectorRequirement, FieldsV1, GroupVersionForDiscovery,
            LabelSelector, LabelSelectorRequirement, ListMeta, ManagedFieldsEntry, MicroTime, ObjectMeta,
            OwnerReference, Patch, Preconditions, ServerAddressByClientCIDR, StatusCause, StatusDetails, Time
        ],
        apimachinery::pkg::runtime => [RawExtension],
        apimachinery::pkg::util::intstr => [IntOrString],
        apimachinery::pkg::version => [Info],
        kube_aggregator::pkg::apis::apiregistration::v1 => [
            APIServiceCondition, APIServiceSpec, APIServiceStatus, ServiceReference
        ],
    }
    // `WatchEvent<T>` is generic in k8s-openapi; its schema does not depend on `T`.
    collector.plain::<k8s_openapi::apimachinery::pkg::apis::meta::v1::WatchEvent<
        k8s_openapi::apimachinery::pkg::runtime::RawExtension,
    >>();
}
