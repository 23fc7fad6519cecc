//! The OpenAPI v2 definitions of every Kubernetes 1.33 built-in type, with upstream's extensions.
//!
//! # Source
//! The schemas come from k8s-openapi's `schemars` implementations (descriptions, `type`, `format`,
//! `required`, `$ref`s), whose schema names already are upstream's definition names
//! (`io.k8s.api.apps.v1.Deployment`). Three things upstream publishes are not in k8s-openapi and are
//! added here:
//! - `x-kubernetes-group-version-kind` on every top-level kind (and the many-versioned
//!   `DeleteOptions` / `WatchEvent`),
//! - the list kinds (`io.k8s.api.apps.v1.DeploymentList`), which k8s-openapi models as one generic
//!   `List<T>` ([`lists`] keeps upstream's wording of their descriptions),
//! - the patch and list extensions (`x-kubernetes-patch-strategy`, `-patch-merge-key`, `-list-type`,
//!   `-list-map-keys`, `-map-type`), from the table in [`overlay`].
//!
//! [`fixups`] rewrites the few schemas whose form differs from upstream's v2 document (`IntOrString`
//! and `Quantity` as strings, free-form apiextensions types, a handful of `required` lists).
//!
//! # Contract
//! - [`definitions`] MUST hold exactly upstream's 1.33 definition names, and every `$ref` in it MUST
//!   be `#/definitions/<name>` of a definition it holds.
//! - Patch metadata MUST be read from the schemas ([`FieldPatchMeta::of`]), never from a second table,
//!   so the OpenAPI documents and the strategic merge patch engine cannot disagree.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use k8s_openapi::{ListableResource, Resource};
use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{json, Value};

mod catalog;
mod fixups;
mod lists;
mod overlay;

/// The prefix of every `$ref` in [`definitions`].
pub const REF_PREFIX: &str = "#/definitions/";

const DELETE_OPTIONS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions";
const WATCH_EVENT: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent";
const LIST_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta";

/// The group versions whose kinds `DeleteOptions` and `WatchEvent` carry in upstream 1.33's document:
/// every version registered in kube-apiserver's scheme, served or not.
const META_KIND_GROUP_VERSIONS: &[(&str, &str)] = &[
    ("", "v1"),
    ("admission.k8s.io", "v1"),
    ("admission.k8s.io", "v1beta1"),
    ("admissionregistration.k8s.io", "v1"),
    ("admissionregistration.k8s.io", "v1alpha1"),
    ("admissionregistration.k8s.io", "v1beta1"),
    ("apiextensions.k8s.io", "v1"),
    ("apiextensions.k8s.io", "v1beta1"),
    ("apiregistration.k8s.io", "v1"),
    ("apiregistration.k8s.io", "v1beta1"),
    ("apps", "v1"),
    ("apps", "v1beta1"),
    ("apps", "v1beta2"),
    ("authentication.k8s.io", "v1"),
    ("authentication.k8s.io", "v1alpha1"),
    ("authentication.k8s.io", "v1beta1"),
    ("authorization.k8s.io", "v1"),
    ("authorization.k8s.io", "v1beta1"),
    ("autoscaling", "v1"),
    ("autoscaling", "v2"),
    ("autoscaling", "v2beta1"),
    ("autoscaling", "v2beta2"),
    ("batch", "v1"),
    ("batch", "v1beta1"),
    ("certificates.k8s.io", "v1"),
    ("certificates.k8s.io", "v1alpha1"),
    ("certificates.k8s.io", "v1beta1"),
    ("coordination.k8s.io", "v1"),
    ("coordination.k8s.io", "v1alpha2"),
    ("coordination.k8s.io", "v1beta1"),
    ("discovery.k8s.io", "v1"),
    ("discovery.k8s.io", "v1beta1"),
    ("events.k8s.io", "v1"),
    ("events.k8s.io", "v1beta1"),
    ("extensions", "v1beta1"),
    ("flowcontrol.apiserver.k8s.io", "v1"),
    ("flowcontrol.apiserver.k8s.io", "v1beta1"),
    ("flowcontrol.apiserver.k8s.io", "v1beta2"),
    ("flowcontrol.apiserver.k8s.io", "v1beta3"),
    ("imagepolicy.k8s.io", "v1alpha1"),
    ("internal.apiserver.k8s.io", "v1alpha1"),
    ("networking.k8s.io", "v1"),
    ("networking.k8s.io", "v1alpha1"),
    ("networking.k8s.io", "v1beta1"),
    ("node.k8s.io", "v1"),
    ("node.k8s.io", "v1alpha1"),
    ("node.k8s.io", "v1beta1"),
    ("policy", "v1"),
    ("policy", "v1beta1"),
    ("rbac.authorization.k8s.io", "v1"),
    ("rbac.authorization.k8s.io", "v1alpha1"),
    ("rbac.authorization.k8s.io", "v1beta1"),
    ("resource.k8s.io", "v1alpha3"),
    ("resource.k8s.io", "v1beta1"),
    ("resource.k8s.io", "v1beta2"),
    ("scheduling.k8s.io", "v1"),
    ("scheduling.k8s.io", "v1alpha1"),
    ("scheduling.k8s.io", "v1beta1"),
    ("storage.k8s.io", "v1"),
    ("storage.k8s.io", "v1alpha1"),
    ("storage.k8s.io", "v1beta1"),
    ("storagemigration.k8s.io", "v1alpha1"),
];

/// A group, version and kind, as in `x-kubernetes-group-version-kind`.
type Gvk = (String, String, String);

/// The built definitions and their index by group/version/kind.
struct Registry {
    definitions: BTreeMap<String, Value>,
    by_gvk: BTreeMap<Gvk, String>,
}

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(build)
}

/// Every built-in definition, keyed by upstream's name, in OpenAPI v2 form (`#/definitions/` refs).
pub fn definitions() -> &'static BTreeMap<String, Value> {
    &registry().definitions
}

/// The definition named `name`.
pub fn definition(name: &str) -> Option<&'static Value> {
    definitions().get(name)
}

/// The name of the top-level definition of a kind (`apps`, `v1`, `Deployment` ->
/// `io.k8s.api.apps.v1.Deployment`); the core group is `""`. List kinds (`DeploymentList`) are found
/// too.
pub fn definition_for_gvk(group: &str, version: &str, kind: &str) -> Option<&'static str> {
    let key = (group.to_string(), version.to_string(), kind.to_string());
    registry().by_gvk.get(&key).map(String::as_str)
}

/// Every top-level kind (list kinds too) as `(group, version, kind, definition name)`.
pub fn kinds() -> impl Iterator<Item = (&'static str, &'static str, &'static str, &'static str)> {
    registry()
        .by_gvk
        .iter()
        .map(|((group, version, kind), name)| {
            (
                group.as_str(),
                version.as_str(),
                kind.as_str(),
                name.as_str(),
            )
        })
}

/// Collects the schemas of the catalog's types, and what it learns about kinds and lists.
struct Collector {
    generator: SchemaGenerator,
    /// `(definition, group, version, kind)` of each top-level kind.
    kinds: Vec<(String, &'static str, &'static str, &'static str)>,
    /// `(item definition, list kind)` of each listable kind.
    lists: Vec<(String, &'static str)>,
}

impl Collector {
    fn plain<T: JsonSchema + ?Sized>(&mut self) {
        let _reference = self.generator.subschema_for::<T>();
    }

    fn resource<T: Resource + JsonSchema>(&mut self) {
        self.plain::<T>();
        self.kinds
            .push((T::schema_name().into_owned(), T::GROUP, T::VERSION, T::KIND));
    }

    fn listable<T: ListableResource + JsonSchema>(&mut self) {
        self.resource::<T>();
        self.lists
            .push((T::schema_name().into_owned(), T::LIST_KIND));
    }
}

fn build() -> Registry {
    let settings = SchemaSettings::draft07().with(|settings| {
        settings.definitions_path = "/definitions".into();
        settings.transforms.clear();
    });
    let mut collector = Collector {
        generator: settings.into_generator(),
        kinds: Vec::new(),
        lists: Vec::new(),
    };
    catalog::register_all(&mut collector);

    let mut definitions: BTreeMap<String, Value> = collector
        .generator
        .take_definitions(false)
        .into_iter()
        .collect();
    let kind_names: Vec<&str> = collector
        .kinds
        .iter()
        .map(|(name, ..)| name.as_str())
        .collect();
    fixups::apply(&mut definitions, &kind_names);

    let mut by_gvk = BTreeMap::new();
    for (name, group, version, kind) in &collector.kinds {
        set_gvks(
            &mut definitions,
            &mut by_gvk,
            name,
            &[(*group, *version, *kind)],
        );
    }
    for (item, list_kind) in &collector.lists {
        let Some((group, version)) = collector
            .kinds
            .iter()
            .find(|(name, ..)| name == item)
            .map(|(_, group, version, _)| (*group, *version))
        else {
            continue;
        };
        if let Some((name, schema)) = list_definition(&definitions, item, list_kind) {
            definitions.insert(name.clone(), schema);
            set_gvks(
                &mut definitions,
                &mut by_gvk,
                &name,
                &[(group, version, *list_kind)],
            );
        }
    }
    for meta_kind in [DELETE_OPTIONS, WATCH_EVENT] {
        let kind = meta_kind.rsplit('.').next().unwrap_or(meta_kind);
        let gvks: Vec<(&str, &str, &str)> = META_KIND_GROUP_VERSIONS
            .iter()
            .map(|(group, version)| (*group, *version, kind))
            .collect();
        set_gvks(&mut definitions, &mut by_gvk, meta_kind, &gvks);
    }

    let unmatched = overlay::apply(&mut definitions);
    debug_assert!(
        unmatched.is_empty(),
        "patch overlay rows without a schema: {unmatched:?}"
    );
    Registry {
        definitions,
        by_gvk,
    }
}

/// Sets `x-kubernetes-group-version-kind` on `name` and indexes each GVK.
fn set_gvks(
    definitions: &mut BTreeMap<String, Value>,
    by_gvk: &mut BTreeMap<Gvk, String>,
    name: &str,
    gvks: &[(&str, &str, &str)],
) {
    let Some(schema) = definitions.get_mut(name).and_then(Value::as_object_mut) else {
        return;
    };
    let entries: Vec<Value> = gvks
        .iter()
        .map(|(group, version, kind)| json!({ "group": group, "kind": kind, "version": version }))
        .collect();
    schema.insert(
        "x-kubernetes-group-version-kind".into(),
        Value::Array(entries),
    );
    for (group, version, kind) in gvks {
        by_gvk
            .entry((group.to_string(), version.to_string(), kind.to_string()))
            .or_insert_with(|| name.to_string());
    }
}

/// The definition of the list kind of `item` (`io.k8s.api.apps.v1.Deployment` + `DeploymentList`).
fn list_definition(
    definitions: &BTreeMap<String, Value>,
    item: &str,
    list_kind: &str,
) -> Option<(String, Value)> {
    let (package, _) = item.rsplit_once('.')?;
    let name = format!("{package}.{list_kind}");
    let item_properties = definitions.get(item)?.get("properties")?;
    let standard = |field: &str| {
        item_properties
            .get(field)
            .cloned()
            .unwrap_or_else(|| json!({ "type": "string" }))
    };
    let (description, items_description, metadata_description) = match lists::docs_for(&name) {
        Some((_, description, items, metadata)) => (
            description.to_string(),
            items.to_string(),
            metadata.to_string(),
        ),
        None => (
            format!(
                "{list_kind} is a list of {}.",
                list_kind.trim_end_matches("List")
            ),
            "Items is the list of objects.".to_string(),
            "Standard list metadata.".to_string(),
        ),
    };
    let mut metadata = json!({ "$ref": format!("{REF_PREFIX}{LIST_META}") });
    if !metadata_description.is_empty() {
        metadata["description"] = Value::from(metadata_description);
    }
    let schema = json!({
        "description": description,
        "type": "object",
        "properties": {
            "apiVersion": standard("apiVersion"),
            "items": {
                "description": items_description,
                "type": "array",
                "items": { "$ref": format!("{REF_PREFIX}{item}") },
            },
            "kind": standard("kind"),
            "metadata": metadata,
        },
        "required": ["items"],
    });
    Some((name, schema))
}

/// The patch and list extensions of one field, as read from its schema.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldPatchMeta {
    /// `x-kubernetes-patch-strategy`: `merge`, `retainKeys`, `merge,retainKeys` or `replace`.
    pub strategy: Option<&'static str>,
    /// `x-kubernetes-patch-merge-key`: the field that identifies an item of a merged list.
    pub merge_key: Option<&'static str>,
    /// `x-kubernetes-list-type`: `atomic`, `set` or `map`.
    pub list_type: Option<&'static str>,
    /// `x-kubernetes-list-map-keys`: the keys of a `map` list.
    pub list_map_keys: Vec<&'static str>,
    /// `x-kubernetes-map-type`: `atomic` or `granular`.
    pub map_type: Option<&'static str>,
}

impl FieldPatchMeta {
    /// Reads the extensions of a property schema (the schema as written under `properties`, before
    /// its `$ref` is resolved).
    pub fn of(schema: &'static Value) -> Self {
        let text = |name: &str| schema.get(name).and_then(Value::as_str);
        Self {
            strategy: text("x-kubernetes-patch-strategy"),
            merge_key: text("x-kubernetes-patch-merge-key"),
            list_type: text("x-kubernetes-list-type"),
            list_map_keys: schema
                .get("x-kubernetes-list-map-keys")
                .and_then(Value::as_array)
                .map(|keys| keys.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default(),
            map_type: text("x-kubernetes-map-type"),
        }
    }

    /// Whether the patch strategy names `strategy` (it may list several, comma-separated).
    pub fn has_strategy(&self, strategy: &str) -> bool {
        self.strategy
            .is_some_and(|all| all.split(',').any(|one| one.trim() == strategy))
    }
}

/// A position in the definitions: a resolved (never bare `$ref`) schema, and the name of the
/// definition it is, when it is one.
#[derive(Debug, Clone, Copy)]
pub struct SchemaNode {
    name: Option<&'static str>,
    schema: &'static Value,
}

/// A field of an object schema: its schema and its patch metadata.
#[derive(Debug, Clone)]
pub struct FieldSchema {
    /// The field's resolved schema.
    pub node: SchemaNode,
    /// The field's patch and list extensions.
    pub patch_meta: FieldPatchMeta,
}

impl FieldSchema {
    /// The definition name of the field's value, when it is a `$ref` (`ObjectMeta` for `metadata`).
    pub fn definition(&self) -> Option<&'static str> {
        self.node.name
    }

    /// The definition name of the items of an array field (`io.k8s.api.core.v1.Container` for
    /// `PodSpec.containers`).
    pub fn item_definition(&self) -> Option<&'static str> {
        self.node.items().and_then(|items| items.name)
    }
}

impl SchemaNode {
    /// The definition named `name`.
    pub fn definition(name: &str) -> Option<Self> {
        let (name, schema) = definitions().get_key_value(name)?;
        Some(Self {
            name: Some(name.as_str()),
            schema,
        })
    }

    /// The top-level definition of a kind.
    pub fn for_gvk(group: &str, version: &str, kind: &str) -> Option<Self> {
        Self::definition(definition_for_gvk(group, version, kind)?)
    }

    /// Resolves `schema`: follows a `$ref` to its definition; any other schema is taken inline.
    fn resolve(schema: &'static Value) -> Option<Self> {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(reference) => Self::definition(reference.strip_prefix(REF_PREFIX)?),
            None => Some(Self { name: None, schema }),
        }
    }

    /// The definition name, when this node is a definition.
    pub fn name(&self) -> Option<&'static str> {
        self.name
    }

    /// The resolved schema.
    pub fn schema(&self) -> &'static Value {
        self.schema
    }

    /// The schema's `type`, if it declares one.
    pub fn schema_type(&self) -> Option<&'static str> {
        self.schema.get("type").and_then(Value::as_str)
    }

    /// The field `field` of this object schema: a declared property, or else a value of a map
    /// (`additionalProperties`). `None` when the schema knows no such field.
    pub fn field(&self, field: &str) -> Option<FieldSchema> {
        if let Some(property) = self
            .schema
            .get("properties")
            .and_then(|properties| properties.get(field))
        {
            return Some(FieldSchema {
                node: Self::resolve(property)?,
                patch_meta: FieldPatchMeta::of(property),
            });
        }
        let values = self
            .schema
            .get("additionalProperties")
            .filter(|values| values.is_object())?;
        Some(FieldSchema {
            node: Self::resolve(values)?,
            patch_meta: FieldPatchMeta::default(),
        })
    }

    /// The items of this array schema.
    pub fn items(&self) -> Option<SchemaNode> {
        Self::resolve(self.schema.get("items")?)
    }
}

/// The field `field` of the definition `definition`, with its resolved definition names and patch
/// metadata: e.g. `("io.k8s.api.core.v1.PodSpec", "containers")` -> items
/// `io.k8s.api.core.v1.Container`, strategy `merge`, merge key `name`.
pub fn field_schema(definition: &str, field: &str) -> Option<FieldSchema> {
    SchemaNode::definition(definition)?.field(field)
}

#[cfg(test)]
mod tests;
