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

    /// The fields the selection is parsed for.
    pub fn selectable(&self) -> SelectableFields {
        self.selectable
    }

    /// The first indexed field the field selector pins to one value, and that value: every
    /// selected object has it (upstream's `MatchValues` of a selection predicate).
    pub fn indexed_term(&self) -> Option<(&'static str, &str)> {
        self.selectable
            .indexed()
            .iter()
            .find_map(|field| self.fields.equals(field).map(|value| (*field, value)))
    }

    /// Whether `obj` is selected.
    pub fn matches(&self, obj: &Value) -> bool {
        self.labels.matches(obj) && self.fields.matches(&self.selectable, obj)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexed_terms() {
        let pods = |fields: &str| Selection::parse(SelectableFields::PODS, "", fields).unwrap();
        assert_eq!(
            pods("status.phase=Running,spec.nodeName=n7").indexed_term(),
            Some(("spec.nodeName", "n7"))
        );
        assert_eq!(
            pods("spec.nodeName==").indexed_term(),
            Some(("spec.nodeName", ""))
        );
        assert_eq!(pods("spec.nodeName!=n7").indexed_term(), None);
        assert_eq!(pods("status.phase=Running").indexed_term(), None);
        // Only declared fields are indexed.
        let common = Selection::parse(SelectableFields::COMMON, "", "metadata.name=a").unwrap();
        assert_eq!(common.indexed_term(), None);
        let declared = SelectableFields::COMMON.with_indexed(&["metadata.name"]);
        let named = Selection::parse(declared, "", "metadata.name=a").unwrap();
        assert_eq!(named.indexed_term(), Some(("metadata.name", "a")));
    }
}
