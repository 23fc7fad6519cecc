//! Wire types of the API (Status, discovery documents, version, quantities) and Go-style printing.

pub mod accept;
pub mod discovery;
pub mod go_fmt;
pub mod json;
pub mod names;
pub mod quantity;
pub mod status;
#[cfg(test)]
pub mod test_strategies;
pub mod version;
