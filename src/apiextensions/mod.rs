//! The apiextensions server: `apiextensions.k8s.io/v1` CustomResourceDefinitions and their custom
//! resources, as upstream's `apiextensions-apiserver`.
//!
//! * [`crd_store`]: the CRD resource and its strategy; [`crd_validation`]: upstream's
//!   `ValidateCustomResourceDefinition`;
//! * [`controller`]: names, `Established`, serving and finalizing of CRDs ([`names`],
//!   [`conditions`]);
//! * [`custom_resource`]: the catalogue row, codec and strategy of each served version;
//!   [`conversion_webhook`]: conversion by the CRD's webhook (ConversionReview v1);
//!   [`schema`]: structural schemas (validation, pruning, defaulting); [`cel`]: the
//!   `x-kubernetes-validations` rules;
//! * [`openapi`]: the definitions `/openapi` publishes for each served version;
//! * [`server`]: the router behind the core server.

pub mod cel;
pub mod conditions;
pub mod controller;
pub mod conversion_webhook;
pub mod crd_store;
pub mod crd_validation;
pub mod custom_resource;
pub mod names;
pub mod openapi;
pub mod schema;
pub mod server;
