//! Admission: what changes or refuses a write between decoding and storage, as kube-apiserver's
//! admission chain ([`chain`] lists the order).
//!
//! * [`pod_plugins`] holds the built-in plugins that change or refuse new pods. Each plugin set
//!   implements [`crate::registry::store::hooks::CreateAdmission`] and the composition root gives
//!   it to the store of the resource it admits, which runs it after the create rules and the
//!   defaults, before name generation and validation.
//! * [`webhook`] runs MutatingAdmissionWebhook and ValidatingAdmissionWebhook;
//! * [`policy`] runs ValidatingAdmissionPolicy;
//! * [`registration`] validates the webhook configurations, policies and bindings themselves
//!   (their stores' strategy);
//! * [`configurations`] holds the webhook configurations and policies in effect, compiled;
//! * [`chain`] is the admission of one request, which the store runs at upstream's points of a
//!   write ([`crate::registry::admission::RequestAdmission`]).

pub mod attributes;
pub mod chain;
pub mod configurations;
pub mod metrics;
pub mod pod_plugins;
pub mod policy;
pub mod registration;
pub mod webhook;

#[cfg(test)]
mod tests;
