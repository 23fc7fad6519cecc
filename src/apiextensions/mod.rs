//! CustomResourceDefinitions (`apiextensions.k8s.io/v1`) and their custom resources, as upstream's
//! `apiextensions-apiserver`: the registry part. The server is `servers::apiextensions` and the
//! CRD controller `controllers::crd`, both above this layer.
//!
//! * [`crd_store`]: the CRD resource and its strategy; [`crd_validation`]: upstream's
//!   `ValidateCustomResourceDefinition`;
//! * [`names`], [`conditions`]: accepted names and the conditions the CRD controller sets;
//! * [`custom_resource`]: the catalogue row, codec and strategy of each served version;
//!   [`conversion_webhook`]: conversion by the CRD's webhook (ConversionReview v1);
//!   [`schema`]: structural schemas (validation, pruning, defaulting); [`cel`]: the
//!   `x-kubernetes-validations` rules;
//! * [`openapi`]: the definitions `/openapi` publishes for each served version.

pub mod cel;
pub mod conditions;
pub mod conversion_webhook;
pub mod crd_store;
pub mod crd_validation;
pub mod custom_resource;
pub mod names;
pub mod openapi;
pub mod schema;
