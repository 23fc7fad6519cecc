//! Kubernetes 1.33 conformance, API-server-only part: upstream's conformance tests (the list in
//! kubernetes/kubernetes `test/conformance/testdata/conformance.yaml`) that need only an API server
//! and its in-process controllers, transcribed into Rust with kube-rs and kubectl against the real
//! `apiary` binary, plus the differences real clients found (one module per area). Each test cites
//! the upstream file and test name it transcribes. The catalogue is `docs/conformance.md`.

#[path = "../common/mod.rs"]
mod common;

// One shared server per module and backend; the macro declaring tests per backend.
mod shared_apiary;

// Upstream's CRD test fixtures, for the transcriptions that create CRDs.
mod crd_fixtures;

// Differences from kube-apiserver found by real clients (issue 17).
mod differences;
mod key_order;
mod status_reset;
mod subresources;

// Transcribed upstream conformance tests (issue 17), one module per area.
mod apimachinery_aggregated_discovery;
mod apimachinery_chunking;
mod apimachinery_crd;
mod apimachinery_crd_publish_openapi;
mod apimachinery_discovery;
mod apimachinery_field_validation;
mod apimachinery_garbage_collector;
mod apimachinery_namespaces;
mod apimachinery_table_conversion;
mod apimachinery_watch;
mod core_configmaps_secrets;
mod core_podtemplates;
mod network_api;
