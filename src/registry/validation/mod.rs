//! Field validation shared by the store: field errors shaped like upstream's
//! `k8s.io/apimachinery/pkg/util/validation/field`, name rules, and metadata checks.

pub mod apps;
pub mod batch;
pub mod core;
pub mod label_selector;
pub mod metadata;
pub mod pod_spec;

#[cfg(test)]
mod tests;

use crate::api::go_fmt::go_quote;
use crate::api::status::StatusCause;

/// The kind of a field error; its reason and its message prefix, as upstream's `field.ErrorType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldErrorKind {
    Invalid,
    Required,
    Forbidden,
    TooLong,
    NotSupported,
    /// A value of the wrong type (`field.TypeInvalid`); printed as `Invalid value`.
    TypeInvalid,
    /// A repeated list entry (`field.Duplicate`).
    Duplicate,
    /// Too many items (`field.TooMany`).
    TooMany,
    /// A reference to something that does not exist (`field.NotFound`).
    NotFound,
}

impl FieldErrorKind {
    fn reason(self) -> &'static str {
        match self {
            Self::Invalid => "FieldValueInvalid",
            Self::Required => "FieldValueRequired",
            Self::Forbidden => "FieldValueForbidden",
            Self::TooLong => "FieldValueTooLong",
            Self::NotSupported => "FieldValueNotSupported",
            Self::TypeInvalid => "FieldValueTypeInvalid",
            Self::Duplicate => "FieldValueDuplicate",
            Self::TooMany => "FieldValueTooMany",
            Self::NotFound => "FieldValueNotFound",
        }
    }
}

/// One invalid field, as upstream's `field.Error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub kind: FieldErrorKind,
    /// The field path: `metadata.name`.
    pub field: String,
    /// The offending value, already formatted as upstream prints it (strings quoted).
    pub value: Option<String>,
    pub detail: String,
}

impl FieldError {
    /// `field: Invalid value: "value": detail`.
    pub fn invalid(field: impl Into<String>, value: &str, detail: impl Into<String>) -> Self {
        Self {
            kind: FieldErrorKind::Invalid,
            field: field.into(),
            value: Some(go_quote(value)),
            detail: detail.into(),
        }
    }

    /// `field: Required value: detail`.
    pub fn required(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            kind: FieldErrorKind::Required,
            field: field.into(),
            value: None,
            detail: detail.into(),
        }
    }

    /// `field: Forbidden: detail`.
    pub fn forbidden(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            kind: FieldErrorKind::Forbidden,
            field: field.into(),
            value: None,
            detail: detail.into(),
        }
    }

    /// `field: Too long: detail`.
    pub fn too_long(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            kind: FieldErrorKind::TooLong,
            field: field.into(),
            value: None,
            detail: detail.into(),
        }
    }

    /// `field: Invalid value: <value>: detail` with `value` already rendered as Go prints it
    /// (numbers bare, structs in `%#v` form).
    pub fn invalid_rendered(
        field: impl Into<String>,
        value: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            kind: FieldErrorKind::Invalid,
            field: field.into(),
            value: Some(value.into()),
            detail: detail.into(),
        }
    }

    /// `field: Unsupported value: "value": supported values: "a", "b"` (upstream's
    /// `field.NotSupported`: the supported values quoted, in the given order).
    pub fn not_supported(field: impl Into<String>, value: &str, supported: &[&str]) -> Self {
        let quoted: Vec<String> = supported.iter().map(|v| go_quote(v)).collect();
        let detail = if quoted.is_empty() {
            String::new()
        } else {
            format!("supported values: {}", quoted.join(", "))
        };
        Self {
            kind: FieldErrorKind::NotSupported,
            field: field.into(),
            value: Some(go_quote(value)),
            detail,
        }
    }

    /// `field: Duplicate value: "value"`.
    pub fn duplicate(field: impl Into<String>, value: &str) -> Self {
        Self {
            kind: FieldErrorKind::Duplicate,
            field: field.into(),
            value: Some(go_quote(value)),
            detail: String::new(),
        }
    }

    /// `field: Not found: "value"`.
    pub fn not_found(field: impl Into<String>, value: &str) -> Self {
        Self {
            kind: FieldErrorKind::NotFound,
            field: field.into(),
            value: Some(go_quote(value)),
            detail: String::new(),
        }
    }

    /// The message without the field, as upstream's `ErrorBody()`.
    pub fn body(&self) -> String {
        let head = match self.kind {
            FieldErrorKind::Invalid => "Invalid value",
            FieldErrorKind::Required => "Required value",
            FieldErrorKind::Forbidden => "Forbidden",
            FieldErrorKind::TooLong => "Too long",
            FieldErrorKind::NotSupported => "Unsupported value",
            FieldErrorKind::TypeInvalid => "Invalid value",
            FieldErrorKind::Duplicate => "Duplicate value",
            FieldErrorKind::TooMany => "Too many",
            FieldErrorKind::NotFound => "Not found",
        };
        let mut out = head.to_string();
        if let Some(value) = &self.value {
            out.push_str(": ");
            out.push_str(value);
        }
        if !self.detail.is_empty() {
            out.push_str(": ");
            out.push_str(&self.detail);
        }
        out
    }

    /// The StatusCause of an `Invalid` Status.
    pub fn to_cause(&self) -> StatusCause {
        StatusCause {
            reason: self.kind.reason().into(),
            message: self.body(),
            field: self.field.clone(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let field = if self.field.is_empty() {
            "<nil>"
        } else {
            &self.field
        };
        write!(f, "{field}: {}", self.body())
    }
}
