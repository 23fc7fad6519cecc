//! Request context: what the filter chain finds out about a request and the handlers read. Who
//! makes it ([`user`]), what it asks ([`info`]), whether that is allowed ([`authorization`]: the
//! attributes, decisions and the authorizer contract) and over which connection
//! ([`connection`]).

pub mod authorization;
pub mod connection;
#[cfg(test)]
mod hostile_input_tests;
pub mod info;
pub mod user;
