use serde_json::Value;

use super::*;

/// Upstream 1.33's `swagger.json` has 707 definitions (626 types of k8s-openapi + 81 list kinds).
const UPSTREAM_DEFINITION_COUNT: usize = 707;

fn collect_refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            if let Some(reference) = map.get("$ref").and_then(Value::as_str) {
                out.push(reference);
            }
            map.values().for_each(|child| collect_refs(child, out));
        }
        Value::Array(items) => items.iter().for_each(|child| collect_refs(child, out)),
        _ => {}
    }
}

#[test]
fn has_every_upstream_definition() {
    assert_eq!(definitions().len(), UPSTREAM_DEFINITION_COUNT);
    for name in [
        "io.k8s.api.apps.v1.Deployment",
        "io.k8s.api.apps.v1.DeploymentList",
        "io.k8s.api.core.v1.PodSpec",
        "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
        "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent",
        "io.k8s.apimachinery.pkg.util.intstr.IntOrString",
        "io.k8s.apimachinery.pkg.api.resource.Quantity",
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionList",
        "io.k8s.kube-aggregator.pkg.apis.apiregistration.v1.APIService",
    ] {
        assert!(definitions().contains_key(name), "missing {name}");
    }
}

#[test]
fn every_ref_resolves() {
    let mut refs = Vec::new();
    definitions()
        .values()
        .for_each(|schema| collect_refs(schema, &mut refs));
    assert!(refs.len() > 1000, "expected many refs, got {}", refs.len());
    for reference in refs {
        let name = reference
            .strip_prefix(REF_PREFIX)
            .unwrap_or_else(|| panic!("foreign ref {reference}"));
        assert!(definitions().contains_key(name), "dangling ref {reference}");
    }
}

#[test]
fn kinds_carry_their_group_version_kind() {
    let deployment = definition("io.k8s.api.apps.v1.Deployment").expect("Deployment");
    assert_eq!(
        deployment["x-kubernetes-group-version-kind"],
        serde_json::json!([{ "group": "apps", "kind": "Deployment", "version": "v1" }])
    );
    let cases = [
        (("", "v1", "Pod"), "io.k8s.api.core.v1.Pod"),
        (("", "v1", "PodList"), "io.k8s.api.core.v1.PodList"),
        (
            ("apps", "v1", "DeploymentList"),
            "io.k8s.api.apps.v1.DeploymentList",
        ),
        (
            ("autoscaling", "v1", "Scale"),
            "io.k8s.api.autoscaling.v1.Scale",
        ),
        (
            ("", "v1", "Status"),
            "io.k8s.apimachinery.pkg.apis.meta.v1.Status",
        ),
        (("batch", "v1", "DeleteOptions"), DELETE_OPTIONS),
        (
            ("apiextensions.k8s.io", "v1", "CustomResourceDefinition"),
            "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition",
        ),
    ];
    for ((group, version, kind), expected) in cases {
        assert_eq!(
            definition_for_gvk(group, version, kind),
            Some(expected),
            "{group}/{version} {kind}"
        );
    }
    assert_eq!(definition_for_gvk("apps", "v1", "Pod"), None);
    let with_gvk = definitions()
        .values()
        .filter(|d| d.get("x-kubernetes-group-version-kind").is_some())
        .count();
    assert_eq!(
        with_gvk, 179,
        "upstream 1.33 marks 179 definitions with a GVK"
    );
}

#[test]
fn list_kinds_follow_upstream() {
    let list = definition("io.k8s.api.apps.v1.DeploymentList").expect("DeploymentList");
    assert_eq!(
        list["description"],
        "DeploymentList is a list of Deployments."
    );
    assert_eq!(
        list["properties"]["items"]["items"]["$ref"],
        "#/definitions/io.k8s.api.apps.v1.Deployment"
    );
    assert_eq!(
        list["properties"]["metadata"]["$ref"],
        "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"
    );
    assert_eq!(list["required"], serde_json::json!(["items"]));
    assert_eq!(lists::LIST_DOCS.len(), 81);
    for (name, ..) in lists::LIST_DOCS {
        assert!(
            definitions().contains_key(*name),
            "list {name} not generated"
        );
    }
}

#[test]
fn special_types_have_upstream_form() {
    let int_or_string =
        definition("io.k8s.apimachinery.pkg.util.intstr.IntOrString").expect("IntOrString");
    assert_eq!(int_or_string["type"], "string");
    assert_eq!(int_or_string["format"], "int-or-string");
    assert_eq!(
        definition("io.k8s.apimachinery.pkg.api.resource.Quantity").expect("Quantity")["type"],
        "string"
    );
    let time = definition("io.k8s.apimachinery.pkg.apis.meta.v1.Time").expect("Time");
    assert_eq!(time["format"], "date-time");
    let spec = definition("io.k8s.api.apps.v1.DeploymentSpec").expect("DeploymentSpec");
    assert_eq!(spec["properties"]["replicas"]["format"], "int32");
    assert_eq!(
        spec["required"],
        serde_json::json!(["selector", "template"])
    );
    assert!(definition("io.k8s.api.apps.v1.Deployment")
        .expect("Deployment")
        .get("required")
        .is_none());
    assert_eq!(
        definition("io.k8s.api.core.v1.SecretKeySelector").expect("selector")["required"],
        serde_json::json!(["key"])
    );
    assert!(spec["properties"]["template"]["description"]
        .as_str()
        .is_some_and(|d| d.starts_with("Template describes")));
}

#[test]
fn every_overlay_row_lands_on_a_field() {
    for (definition_name, fields) in overlay::rows() {
        for (field, strategy, merge_key, list_type, _, map_type) in fields.iter() {
            let meta = if field.is_empty() {
                let schema = definition(definition_name).expect("overlay definition");
                assert_eq!(
                    schema.get("x-kubernetes-map-type").and_then(Value::as_str),
                    Some(*map_type)
                );
                continue;
            } else {
                field_schema(definition_name, field)
                    .unwrap_or_else(|| panic!("{definition_name}.{field}"))
                    .patch_meta
            };
            assert_eq!(
                meta.strategy.unwrap_or(""),
                *strategy,
                "{definition_name}.{field}"
            );
            assert_eq!(
                meta.merge_key.unwrap_or(""),
                *merge_key,
                "{definition_name}.{field}"
            );
            assert_eq!(
                meta.list_type.unwrap_or(""),
                *list_type,
                "{definition_name}.{field}"
            );
            assert_eq!(
                meta.map_type.unwrap_or(""),
                *map_type,
                "{definition_name}.{field}"
            );
        }
    }
}

#[test]
fn walker_resolves_fields_and_patch_meta() {
    let containers = field_schema("io.k8s.api.core.v1.PodSpec", "containers").expect("containers");
    assert_eq!(containers.patch_meta.merge_key, Some("name"));
    assert!(containers.patch_meta.has_strategy("merge"));
    assert_eq!(containers.patch_meta.list_map_keys, vec!["name"]);
    assert_eq!(
        containers.item_definition(),
        Some("io.k8s.api.core.v1.Container")
    );

    let volumes = field_schema("io.k8s.api.core.v1.PodSpec", "volumes").expect("volumes");
    assert!(
        volumes.patch_meta.has_strategy("merge") && volumes.patch_meta.has_strategy("retainKeys")
    );

    let ports = field_schema("io.k8s.api.core.v1.ServiceSpec", "ports").expect("ports");
    assert_eq!(ports.patch_meta.merge_key, Some("port"));
    assert_eq!(ports.patch_meta.list_map_keys, vec!["port", "protocol"]);

    let finalizers = field_schema(
        "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
        "finalizers",
    )
    .expect("finalizers");
    assert_eq!(
        (
            finalizers.patch_meta.strategy,
            finalizers.patch_meta.merge_key
        ),
        (Some("merge"), None)
    );

    let strategy = field_schema("io.k8s.api.apps.v1.DeploymentSpec", "strategy").expect("strategy");
    assert_eq!(strategy.patch_meta.strategy, Some("retainKeys"));
    assert_eq!(
        strategy.definition(),
        Some("io.k8s.api.apps.v1.DeploymentStrategy")
    );

    let tolerations =
        field_schema("io.k8s.api.core.v1.PodSpec", "tolerations").expect("tolerations");
    assert_eq!(
        (
            tolerations.patch_meta.strategy,
            tolerations.patch_meta.list_type
        ),
        (None, Some("atomic"))
    );

    // A map field: its values resolve through additionalProperties.
    let limits = field_schema("io.k8s.api.core.v1.ResourceRequirements", "limits").expect("limits");
    assert_eq!(
        limits.node.field("cpu").and_then(|cpu| cpu.definition()),
        Some("io.k8s.apimachinery.pkg.api.resource.Quantity")
    );

    let deployment = SchemaNode::for_gvk("apps", "v1", "Deployment").expect("Deployment");
    let template_spec = deployment
        .field("spec")
        .and_then(|spec| spec.node.field("template"))
        .and_then(|template| template.node.field("spec"))
        .expect("spec.template.spec");
    assert_eq!(
        template_spec.definition(),
        Some("io.k8s.api.core.v1.PodSpec")
    );
    assert!(deployment.field("nonexistent").is_none());
}
