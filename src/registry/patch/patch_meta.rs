//! Where the strategic merge patch engine stands in the schema, and what a field's patch strategy is.
//!
//! Upstream reads `patchStrategy` / `patchMergeKey` from Go struct tags (`LookupPatchMetadata`); we
//! read the same facts from the built-in definitions ([`crate::catalog::definitions`]), which carry
//! them as `x-kubernetes-patch-strategy` / `x-kubernetes-patch-merge-key`. A position without a schema
//! (an unknown kind, a field the schema does not declare, a free-form map) has no strategy: maps merge
//! key by key and lists are replaced, as in a JSON merge patch.

use crate::catalog::definitions::SchemaNode;

use super::strategic::PatchError;

/// The directive strategy `replace`.
pub const REPLACE: &str = "replace";
/// The list strategy `merge`.
pub const MERGE: &str = "merge";
/// The strategy `retainKeys`, which only enables the `$retainKeys` directive.
pub const RETAIN_KEYS: &str = "retainKeys";

/// A position in the schema: the schema of the map or list being patched, if known.
#[derive(Debug, Clone, Copy, Default)]
pub struct PatchSchema {
    node: Option<SchemaNode>,
}

/// How one field is patched.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldStrategy {
    /// The effective strategy once `retainKeys` is taken out: `""`, `merge` or `replace`.
    pub strategy: &'static str,
    /// The merge key of a merged list of maps.
    pub merge_key: Option<&'static str>,
}

impl PatchSchema {
    /// The schema of a kind's top-level object; no schema when the kind is not built in.
    pub fn for_kind(group: &str, version: &str, kind: &str) -> Self {
        Self {
            node: SchemaNode::for_gvk(group, version, kind),
        }
    }

    /// The schema of a named definition.
    pub fn for_definition(name: &str) -> Self {
        Self {
            node: SchemaNode::definition(name),
        }
    }

    /// A position without a schema.
    pub fn unknown() -> Self {
        Self { node: None }
    }

    /// Whether this position has a schema.
    pub fn is_known(&self) -> bool {
        self.node.is_some()
    }

    /// The definition name at this position, when it is one.
    pub fn definition_name(&self) -> Option<&'static str> {
        self.node.and_then(|node| node.name())
    }

    /// The schema and strategy of the field `field` of this map.
    ///
    /// Fails as upstream's `extractRetainKeysPatchStrategy` does on a strategy list it cannot use.
    pub fn field(&self, field: &str) -> Result<(PatchSchema, FieldStrategy), PatchError> {
        let Some(field_schema) = self.node.and_then(|node| node.field(field)) else {
            return Ok((Self::unknown(), FieldStrategy::default()));
        };
        let strategy = effective_strategy(field_schema.patch_meta.strategy.unwrap_or(""))?;
        let merge_key = field_schema.patch_meta.merge_key;
        Ok((
            Self {
                node: Some(field_schema.node),
            },
            FieldStrategy {
                strategy,
                merge_key,
            },
        ))
    }

    /// The schema of the items of this list.
    pub fn items(&self) -> PatchSchema {
        Self {
            node: self.node.and_then(|node| node.items()),
        }
    }
}

/// Takes `retainKeys` out of a comma-separated strategy list, as upstream's
/// `extractRetainKeysPatchStrategy`: one strategy, or `merge` together with `retainKeys`.
fn effective_strategy(strategies: &'static str) -> Result<&'static str, PatchError> {
    let parts: Vec<&'static str> = if strategies.is_empty() {
        Vec::new()
    } else {
        strategies.split(',').collect()
    };
    match parts.as_slice() {
        [] => Ok(""),
        [single] if *single == RETAIN_KEYS => Ok(""),
        [single] => Ok(*single),
        [first, second]
            if (*first == MERGE && *second == RETAIN_KEYS)
                || (*first == RETAIN_KEYS && *second == MERGE) =>
        {
            Ok(MERGE)
        }
        _ => Err(PatchError::Internal(format!(
            "unexpected patch strategy: [{}]",
            parts.join(" ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strategies_follow_upstream_extraction() {
        assert_eq!(effective_strategy("").ok(), Some(""));
        assert_eq!(effective_strategy("retainKeys").ok(), Some(""));
        assert_eq!(effective_strategy("merge").ok(), Some("merge"));
        assert_eq!(effective_strategy("replace").ok(), Some("replace"));
        assert_eq!(effective_strategy("merge,retainKeys").ok(), Some("merge"));
        assert!(effective_strategy("replace,retainKeys").is_err());
        assert!(effective_strategy("merge,retainKeys,replace").is_err());
    }

    #[test]
    fn walks_a_pod_template() {
        let deployment = PatchSchema::for_kind("apps", "v1", "Deployment");
        assert_eq!(
            deployment.definition_name(),
            Some("io.k8s.api.apps.v1.Deployment")
        );
        let (spec, _) = deployment.field("spec").expect("spec");
        let (strategy_schema, strategy) = spec.field("strategy").expect("strategy");
        assert_eq!(
            strategy,
            FieldStrategy {
                strategy: "",
                merge_key: None
            }
        );
        assert_eq!(
            strategy_schema.definition_name(),
            Some("io.k8s.api.apps.v1.DeploymentStrategy")
        );
        let (template, _) = spec.field("template").expect("template");
        let (pod_spec, _) = template.field("spec").expect("template.spec");
        let (containers, containers_strategy) = pod_spec.field("containers").expect("containers");
        assert_eq!(
            containers_strategy,
            FieldStrategy {
                strategy: "merge",
                merge_key: Some("name")
            }
        );
        assert_eq!(
            containers.items().definition_name(),
            Some("io.k8s.api.core.v1.Container")
        );
        let (_, volumes) = pod_spec.field("volumes").expect("volumes");
        assert_eq!(
            volumes,
            FieldStrategy {
                strategy: "merge",
                merge_key: Some("name")
            }
        );
        let (unknown, unknown_strategy) = pod_spec.field("noSuchField").expect("unknown field");
        assert!(!unknown.is_known());
        assert_eq!(unknown_strategy, FieldStrategy::default());
    }

    #[test]
    fn unknown_kinds_have_no_schema() {
        assert!(!PatchSchema::for_kind("example.com", "v1", "Widget").is_known());
        assert!(PatchSchema::for_definition("io.k8s.api.core.v1.PodSpec").is_known());
    }
}
