//! Wire types of the API: Status, lists, watch events, tables, discovery documents.

pub mod discovery;
pub mod protobuf_body;
pub mod status;
pub mod table;
