//! Admission: the mutating and validating admission plugins of kube-apiserver's default set that
//! change or refuse objects of built-in types (`plugin/pkg/admission/...`).
//!
//! Apiary runs them in the create path of the generic store, through the strategy's
//! `admit_create` hook: after the store's create rules and the defaults, before name generation
//! and validation, as upstream runs mutating admission after decoding and before
//! `BeforeCreate`. Plugins that consult other resources read them through the stores handed to
//! the strategy's `connect` hook once every built-in store exists.

pub mod pod;

#[cfg(test)]
mod tests;
