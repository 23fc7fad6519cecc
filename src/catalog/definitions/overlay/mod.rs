//! Upstream's patch and list extensions, which k8s-openapi does not carry.
//!
//! kube-apiserver's strategic merge patch reads `patchStrategy`/`patchMergeKey` from the Go struct tags
//! of the built-in types, and its OpenAPI documents publish them as `x-kubernetes-patch-strategy` /
//! `x-kubernetes-patch-merge-key`, next to the `x-kubernetes-list-type`, `x-kubernetes-list-map-keys`
//! and `x-kubernetes-map-type` markers. The tables in [`core_v1`] and [`apis`] hold every such extension of
//! the 1.33 definitions; [`apply`] writes them into the generated schemas, so that every consumer (the
//! OpenAPI documents, the strategic merge patch walker) reads them from one place: the schema itself.

use std::collections::BTreeMap;

use serde_json::Value;

mod apis;
mod core_v1;

/// One field's extensions: `(field, patch strategy, patch merge key, list type, list map keys, map
/// type)`. An empty string (or empty key list) means the extension is absent. An empty field name
/// describes the definition itself (only `x-kubernetes-map-type` occurs there).
pub(super) type FieldOverlay = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static str,
);

/// The extensions of one definition, by upstream definition name.
pub(super) type DefinitionOverlay = (&'static str, &'static [FieldOverlay]);

/// Every overlay row, core types first.
pub(super) fn rows() -> impl Iterator<Item = &'static DefinitionOverlay> {
    core_v1::ROWS.iter().chain(apis::ROWS.iter())
}

/// Writes the extensions of every overlay row into `definitions`.
///
/// Returns the rows whose definition or field does not exist in `definitions`, as
/// `definition.field`: an empty result means the overlay and the generated schemas agree.
pub(super) fn apply(definitions: &mut BTreeMap<String, Value>) -> Vec<String> {
    let mut unmatched = Vec::new();
    for (definition, fields) in rows() {
        let Some(schema) = definitions.get_mut(*definition) else {
            unmatched.push((*definition).to_string());
            continue;
        };
        for field_overlay in fields.iter() {
            let field = field_overlay.0;
            let target = if field.is_empty() {
                Some(&mut *schema)
            } else {
                schema
                    .get_mut("properties")
                    .and_then(|properties| properties.get_mut(field))
            };
            match target.and_then(Value::as_object_mut) {
                Some(target) => write_extensions(target, field_overlay),
                None => unmatched.push(format!("{definition}.{field}")),
            }
        }
    }
    unmatched
}

fn write_extensions(target: &mut serde_json::Map<String, Value>, overlay: &FieldOverlay) {
    let (_, strategy, merge_key, list_type, map_keys, map_type) = *overlay;
    let mut set = |name: &str, value: &str| {
        if !value.is_empty() {
            target.insert(name.to_string(), Value::from(value));
        }
    };
    set("x-kubernetes-patch-strategy", strategy);
    set("x-kubernetes-patch-merge-key", merge_key);
    set("x-kubernetes-list-type", list_type);
    set("x-kubernetes-map-type", map_type);
    if !map_keys.is_empty() {
        target.insert(
            "x-kubernetes-list-map-keys".to_string(),
            Value::from(map_keys.to_vec()),
        );
    }
}
