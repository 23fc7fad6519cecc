//! Apiary: a Kubernetes-compatible API server with pluggable storage.
//!
//! The request path, outermost first: [`serve`] (TLS, HTTP/1.1 and HTTP/2) -> [`chain`] (the filter
//! chain, in upstream's order) -> [`servers`] (aggregator -> core -> apiextensions -> not found) ->
//! [`registry`] (the generic store of each resource) -> `apiary_storage::Storage` (opened in
//! [`backend`]).

pub mod access;
pub mod admission;
pub mod api;
pub mod apiextensions;
pub mod app;
pub mod backend;
pub mod catalog;
pub mod chain;
pub mod config;
pub mod control_plane;
pub mod controllers;
pub mod encryption;
pub mod filters;
pub mod openapi;
pub mod outbound;
pub mod pki;
pub mod rbac;
pub mod registry;
pub mod request;
pub mod serve;
pub mod servers;
