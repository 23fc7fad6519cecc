//! End-to-end: the built-in admission plugins of kube-apiserver 1.33 in the real `apiary` binary,
//! driven by kubectl and kube-rs: ResourceQuota and its controller, LimitRanger, PodSecurity, and
//! the rest of the default set (RuntimeClass, DefaultStorageClass, DefaultIngressClass, the
//! storage protection and certificate plugins...), plus the ones enabled by name. Expected
//! messages are upstream's (`plugin/pkg/admission/...`) as kubectl prints them.

#[path = "../common/mod.rs"]
mod common;
mod limits_and_defaults;
mod other_plugins;
mod pod_security;
mod quota;
