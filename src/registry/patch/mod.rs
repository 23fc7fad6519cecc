//! Patch engines: strategic merge patch and its schema metadata.
//!
//! [`strategic::apply`] applies an `application/strategic-merge-patch+json` body to a built-in
//! object; [`patch_meta`] tells it each field's patch strategy and merge key, read from the built-in
//! definitions in [`crate::catalog::definitions`].

pub mod patch_meta;
pub mod strategic;
