//! Service-level tests over the real catalogue and definitions.
