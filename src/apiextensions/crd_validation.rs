//! CRD validation (being written).
