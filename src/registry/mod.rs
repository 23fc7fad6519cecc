//! The generic registry: the catalogue of resources and the store of each.

pub mod catalog;
pub mod store;
pub mod options;
pub mod strategy;
pub mod watch_hub;
pub mod continue_token;
pub mod keys;
pub mod selectors;
pub mod validation;
pub mod metadata;
