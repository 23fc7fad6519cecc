//! Controllers that run inside the API server, as kube-apiserver's own post-start hooks, and the
//! controllers of kube-controller-manager every cluster relies on (namespaces, garbage
//! collection, resource quota, PVC and PV protection).

pub mod admission_configurations;
pub mod apf_snapshot;
pub mod bootstrap;
pub mod clusterrole_aggregation;
pub mod crd;
pub mod flowcontrol;
pub mod garbage_collector;
pub mod namespace;
pub mod policy_type_checking;
pub mod rbac_bootstrap;
pub mod resource_quota;
pub mod service_accounts;
pub mod storage_protection;
pub mod system_namespaces;
pub mod system_priority_classes;
pub mod watch_loop;
