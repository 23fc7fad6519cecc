//! End-to-end: the kubectl suite (`tests/kubectl`) on etcd (a throwaway member the test starts).

mod common;
mod kubectl;

const BACKEND: common::Backend = common::Backend::Etcd;
