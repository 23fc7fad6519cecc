//! The apiextensions server's building blocks (issue 6): CustomResourceDefinitions and the
//! structural schemas their custom resources are validated, pruned and defaulted with.
//!
//! * [`schema`]: upstream's structural schema (`apiextensions-apiserver/pkg/apiserver/schema`):
//!   OpenAPI v3 validation of custom resources, pruning of unknown fields, defaulting;
//! * [`crd_validation`]: upstream's `ValidateCustomResourceDefinition` (and its update variant).
//!
//! Neither is served yet: the apiextensions server that uses them is being built in steps.
//! `crd_validation` is complete for the rules it lists; `schema` is partial (see its header).

pub mod cel;
pub mod crd_validation;
pub mod schema;
