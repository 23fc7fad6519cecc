//! The generic registry: the catalogue of resources and the store of each.

pub mod catalog;
pub mod continue_token;
pub mod conversion;
pub mod converter;
pub mod defaults;
pub mod keys;
pub mod metadata;
pub mod options;
pub mod pod_strategy;
pub mod selectors;
pub mod service;
pub mod store;
pub mod strategy;
pub mod validation;
pub mod watch_hub;
