//! One module per area of issue 7.

mod apply;
mod builtin_types;
mod deletion;
mod flowcontrol;
mod services;
