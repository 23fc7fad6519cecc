//! Label and field selectors of list, watch and delete-collection requests.

pub mod field;
pub mod label;

use serde_json::Value;

use crate::api::status::{ApiError, ApiResult};
pub use field::{FieldSelector, SelectableFields};
pub use label::LabelSelector;

/// The label and field selectors of one request, parsed for one resource.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub labels: LabelSelector,
    pub fields: FieldSelector,
    selectable: SelectableFields,
}

impl Selection {
    /// Parses both selectors for a resource with `selectable` fields; a bad selector is a 400
    /// with upstream's text.
    pub fn parse(
        selectable: SelectableFields,
        label_selector: &str,
        field_selector: &str,
    ) -> ApiResult<Self> {
        let labels = LabelSelector::parse(label_selector).map_err(ApiError::bad_request)?;
        let fields = FieldSelector::parse(field_selector, selectable.supported())
            .map_err(ApiError::bad_request)?;
        Ok(Self {
            labels,
            fields,
            selectable,
        })
    }

    /// Whether nothing is filtered.
    pub fn is_everything(&self) -> bool {
        self.labels.is_empty() && self.fields.is_empty()
    }

    /// Whether `obj` is selected.
    pub fn matches(&self, obj: &Value) -> bool {
        self.labels.matches(obj) && self.fields.matches(&self.selectable, obj)
    }
}
