//! Defaults and validation of built-in types, and the defaulting admission plugins.
