//! Kubernetes 1.33 conformance, API-server-only part: upstream's conformance tests (the list in
//! kubernetes/kubernetes `test/conformance/testdata/conformance.yaml`) that need only an API server
//! and its in-process controllers, transcribed into Rust with kube-rs and kubectl against the real
//! `apiary` binary, plus the differences real clients found (one module per area). Each test cites
//! the upstream file and test name it transcribes. The catalogue is `docs/conformance.md`.

#[path = "../common/mod.rs"]
mod common;

// One shared server per module and backend; the macro declaring tests per backend.
mod shared_apiary;
// Upstream's sample webhook servers, run in the test process, and its test CRDs.
mod sample_webhooks;
// Steps several transcribed tests share.
mod upstream_steps;

// Upstream's CRD test fixtures, for the transcriptions that create CRDs.
mod crd_fixtures;

// Differences from kube-apiserver found by real clients (issue 17).
mod component_statuses;
mod crd_differences;
mod differences;
mod key_order;
mod status_reset;
mod subresources;

// Transcribed upstream conformance tests (issue 17), one module per area.
mod apimachinery_aggregated_discovery;
mod apimachinery_chunking;
mod apimachinery_crd;
mod apimachinery_crd_conversion_webhook;
mod apimachinery_crd_publish_openapi;
mod apimachinery_discovery;
mod apimachinery_field_validation;
mod apimachinery_flowcontrol;
mod apimachinery_garbage_collector;
mod apimachinery_namespaces;
mod apimachinery_resource_quota;
mod apimachinery_table_conversion;
mod apimachinery_validatingadmissionpolicy;
mod apimachinery_watch;
mod apimachinery_webhook;
mod apps_cronjob;
mod apps_job;
mod auth_certificates;
mod auth_service_accounts;
mod auth_subjectreviews;
mod core_configmaps_secrets;
mod core_podtemplates;
mod instrumentation_core_events;
mod instrumentation_events;
mod kubectl_kubectl;
mod network_api;
mod network_endpointslice;
mod network_ingress;
mod network_service_status;
mod node_lease;
mod node_lifecycle;
mod node_runtimeclass;
mod scheduling_limit_range;
mod scheduling_priority_class;
mod storage_classes_attachments;
mod storage_csi;
mod storage_persistent_volumes;
