//! Request context: what the filter chain finds out about a request and the handlers read. Who
//! makes it ([`user`]), what it asks ([`info`]), whether that is allowed ([`authorization`]: the
//! attributes, decisions and the authorizer contract) and over which connection
//! ([`connection`]); and the priority and fairness configuration it is classified by
//! ([`flowcontrol`]).

pub mod authorization;
pub mod connection;
pub mod flowcontrol;
#[cfg(test)]
mod hostile_input_tests;
pub mod info;
pub mod user;
