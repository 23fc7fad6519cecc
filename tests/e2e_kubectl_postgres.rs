//! End-to-end: the kubectl suite (`tests/kubectl`) on PostgreSQL (a throwaway cluster the test starts).

mod common;
mod kubectl;

const BACKEND: common::Backend = common::Backend::Postgres;
