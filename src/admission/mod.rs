//! Admission: what changes or refuses a write between decoding and storage, as kube-apiserver's
//! admission chain ([`chain`] lists the order).
//!
//! * [`plugins`] holds the built-in plugins (LimitRanger, ServiceAccount, PodSecurity,
//!   ResourceQuota...) and which of them run;
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
pub mod plugins;
pub mod policy;
pub mod registration;
pub mod webhook;
