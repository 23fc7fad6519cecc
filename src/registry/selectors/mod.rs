//! Label and field selectors of list, watch and delete-collection requests.

pub mod field;
pub mod label;

use serde_json::Value;

use crate::api::status::{ApiError, ApiResult};
use crate::catalog::ResourceInfo;
pub use field::FieldSelector;
pub use label::LabelSelector;

/// The label and field selectors of one request, parsed for one resource.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    pub labels: LabelSelector,
    pub fields: FieldSelector,
    group: &'static str,
    plural: &'static str,
}

impl Selection {
    /// Parses both selectors for `info`'s resource; a bad selector is a 400 with upstream's text.
    pub fn parse(
        info: &ResourceInfo,
        label_selector: &str,
        field_selector: &str,
    ) -> ApiResult<Self> {
        let labels = LabelSelector::parse(label_selector).map_err(ApiError::bad_request)?;
        let fields = FieldSelector::parse(
            field_selector,
            field::supported_fields(info.group, info.plural),
        )
        .map_err(ApiError::bad_request)?;
        Ok(Self {
            labels,
            fields,
            group: info.group,
            plural: info.plural,
        })
    }

    /// Whether nothing is filtered.
    pub fn is_everything(&self) -> bool {
        self.labels.is_empty() && self.fields.is_empty()
    }

    /// Whether `obj` is selected.
    pub fn matches(&self, obj: &Value) -> bool {
        self.labels.matches(obj) && self.fields.matches(self.group, self.plural, obj)
    }
}
