//! End-to-end: the kubectl suite (`tests/kubectl`) on RocksDB (the default).

mod common;
mod kubectl;

const BACKEND: common::Backend = common::Backend::Rocksdb;
