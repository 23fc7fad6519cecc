//! Admission: the mutating and validating admission plugins of kube-apiserver's default set that
//! change or refuse objects of built-in types (`plugin/pkg/admission/...`).
//!
//! Apiary runs them in the create path of the generic store: each plugin set implements
//! [`crate::registry::store::hooks::CreateAdmission`] and the composition root gives it to the
//! store of the resource it admits when that store is built, with the stores the plugins read.
//! The store runs it after the create rules and the defaults, before name generation and
//! validation, as upstream runs mutating admission after decoding and before `BeforeCreate`.

pub mod pod_plugins;

#[cfg(test)]
mod tests;
