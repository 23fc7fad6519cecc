//! The generic registry: the store of each resource, over the storage trait.

pub mod admission;
pub mod continue_token;
pub mod conversion;
pub mod defaults;
pub mod fieldmanager;
#[cfg(test)]
mod hostile_input_tests;
pub mod keys;
pub mod metadata;
pub mod options;
pub mod patch;
pub mod resources;
pub mod scale;
pub mod selectors;
pub mod store;
pub mod stores;
pub mod strategy;
pub mod table;
#[cfg(test)]
pub mod test_support;
pub mod validation;
