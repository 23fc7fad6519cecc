//! The filters of the request chain, one file each.
//!
//! Each filter is an axum middleware function (`async fn(Request, Next) -> Response`, with a
//! `State` when it has settings); the composition root stacks them in upstream's order (`chain`).
//! Filters talk to each other only through request extensions: [`audit_id::AuditId`],
//! [`crate::request::info::RequestInfo`], [`timeout::RequestDeadline`],
//! [`crate::request::user::UserInfo`], [`impersonation::ImpersonatedBy`]; and back through
//! response extensions: [`handled_by::HandledBy`], [`impersonation::Impersonation`].

pub mod audit;
pub mod audit_id;
pub mod authn;
pub mod authz;
pub mod body_guard;
pub mod cors;
pub mod handled_by;
pub mod httplog;
pub mod impersonation;
pub mod max_in_flight;
pub mod metrics;
pub mod panic;
pub mod priority_and_fairness;
pub mod request_info;
pub mod timeout;
