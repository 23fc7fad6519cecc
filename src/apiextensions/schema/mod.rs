//! Structural schemas (being written).
