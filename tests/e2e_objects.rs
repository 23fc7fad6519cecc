//! End-to-end: object semantics as kube-apiserver's (issue 7), through the real binary driven by
//! kubectl, on the default backend (RocksDB): server-side apply, defaults and validation of
//! built-in types, deletion with the garbage collector, and the bootstrap controller's Service
//! allocation.

mod common;
mod objects;
