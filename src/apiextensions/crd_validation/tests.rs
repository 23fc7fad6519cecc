use serde_json::{json, Value};

use super::{validate_create, validate_update};

/// A valid CRD, as `kubectl apply` would send it.
fn crd() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "crontabs.stable.example.com"},
        "spec": {
            "group": "stable.example.com",
            "scope": "Namespaced",
            "names": {
                "plural": "crontabs", "singular": "crontab", "kind": "CronTab",
                "listKind": "CronTabList", "shortNames": ["ct"], "categories": ["all"]
            },
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "properties": {
                        "spec": {"type": "object", "properties": {
                            "cronSpec": {"type": "string"},
                            "replicas": {"type": "integer"},
                            "ports": {"type": "array", "x-kubernetes-list-type": "map",
                                "x-kubernetes-list-map-keys": ["port"],
                                "items": {"type": "object", "properties": {"port": {"type": "integer"}}}},
                            "anything": {"x-kubernetes-preserve-unknown-fields": true},
                            "port": {"x-kubernetes-int-or-string": true}
                        }},
                        "status": {"type": "object", "properties": {"replicas": {"type": "integer"}}}
                    }
                }},
                "subresources": {"status": {}, "scale": {
                    "specReplicasPath": ".spec.replicas",
                    "statusReplicasPath": ".status.replicas",
                    "labelSelectorPath": ".status.selector"
                }},
                "additionalPrinterColumns": [
                    {"name": "Spec", "type": "string", "jsonPath": ".spec.cronSpec"},
                    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}
                ]
            }]
        }
    })
}

fn with(pointer: &str, value: Value) -> Value {
    let mut crd = crd();
    *crd.pointer_mut(pointer)
        .expect("pointer exists in the base CRD") = value;
    crd
}

fn messages(crd: &Value) -> Vec<String> {
    validate_create(crd)
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn schema_messages(schema: Value) -> Vec<String> {
    messages(&with("/spec/versions/0/schema/openAPIV3Schema", schema))
}

const SCHEMA: &str = "spec.versions[0].schema.openAPIV3Schema";

#[test]
fn a_valid_crd_has_no_errors() {
    assert_eq!(messages(&crd()), Vec::<String>::new());
}

#[test]
fn name_must_be_plural_dot_group() {
    assert_eq!(
        messages(&with("/metadata/name", json!("crontab.stable.example.com"))),
        [
            r#"metadata.name: Invalid value: "crontab.stable.example.com": must be spec.names.plural+"."+spec.group"#
        ]
    );
}

#[test]
fn name_is_required() {
    let mut c = crd();
    c["metadata"] = json!({});
    assert_eq!(
        messages(&c),
        ["metadata.name: Required value: name or generateName is required"]
    );
}

#[test]
fn group_needs_a_dot() {
    let mut c = with("/spec/group", json!("example"));
    c["metadata"]["name"] = json!("crontabs.example");
    assert_eq!(
        messages(&c),
        [r#"spec.group: Invalid value: "example": should be a domain with at least one dot"#]
    );
}

#[test]
fn group_must_be_a_dns_subdomain() {
    let mut c = with("/spec/group", json!("Stable.example.com"));
    c["metadata"]["name"] = json!("crontabs.Stable.example.com");
    let got = messages(&c);
    assert!(
        got.iter().any(|m| m.starts_with(
            r#"spec.group: Invalid value: "Stable.example.com": a lowercase RFC 1123 subdomain"#
        )),
        "{got:?}"
    );
}

#[test]
fn group_is_required() {
    let mut c = with("/spec/group", json!(""));
    c["metadata"]["name"] = json!("crontabs.");
    assert!(messages(&c).contains(&"spec.group: Required value".to_string()));
}

#[test]
fn scope_must_be_cluster_or_namespaced() {
    assert_eq!(
        messages(&with("/spec/scope", json!("Global"))),
        [r#"spec.scope: Unsupported value: "Global": supported values: "Cluster", "Namespaced""#]
    );
    assert_eq!(
        messages(&with("/spec/scope", json!(""))),
        ["spec.scope: Required value"]
    );
}

#[test]
fn plural_must_be_a_dns1035_label() {
    let mut c = with("/spec/names/plural", json!("Cron_Tabs"));
    c["metadata"]["name"] = json!("cron-tabs.stable.example.com");
    let got = messages(&c);
    assert!(got.contains(
        &r#"metadata.name: Invalid value: "cron-tabs.stable.example.com": must be spec.names.plural+"."+spec.group"#.to_string()
    ));
    assert!(
        got.iter().any(|m| m.starts_with(
            r#"spec.names.plural: Invalid value: "Cron_Tabs": a DNS-1035 label must consist"#
        )),
        "{got:?}"
    );
}

#[test]
fn kind_and_list_kind_are_required_and_different() {
    assert_eq!(
        messages(&with("/spec/names/listKind", json!("CronTab"))),
        [r#"spec.names.listKind: Invalid value: "CronTab": kind and listKind may not be the same"#]
    );
    let mut c = crd();
    c["spec"]["names"]["kind"] = json!("");
    c["spec"]["names"]["listKind"] = json!("");
    assert_eq!(
        messages(&c),
        [
            "spec.names.kind: Required value",
            "spec.names.listKind: Required value"
        ]
    );
}

#[test]
fn kind_may_have_mixed_case_only() {
    let got = messages(&with("/spec/names/kind", json!("Cron.Tab")));
    assert!(
        got[0].starts_with(
            r#"spec.names.kind: Invalid value: "Cron.Tab": may have mixed case, but should otherwise match: a DNS-1035 label"#
        ),
        "{got:?}"
    );
}

#[test]
fn short_names_and_categories_are_dns1035_labels() {
    let mut c = with("/spec/names/shortNames", json!(["ct", "C T"]));
    c["spec"]["names"]["categories"] = json!(["all", "1bad"]);
    let got = messages(&c);
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got[0].starts_with(r#"spec.names.shortNames[1]: Invalid value: "C T""#));
    assert!(got[1].starts_with(r#"spec.names.categories[1]: Invalid value: "1bad""#));
}

#[test]
fn versions_are_required() {
    assert_eq!(
        messages(&with("/spec/versions", json!([]))),
        ["spec.versions: Invalid value: []: must have exactly one version marked as storage version"]
    );
}

#[test]
fn exactly_one_storage_version() {
    let got = messages(&with("/spec/versions/0/storage", json!(false)));
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].starts_with("spec.versions: Invalid value: "));
    assert!(got[0].ends_with(": must have exactly one version marked as storage version"));
}

#[test]
fn unserved_versions_are_allowed() {
    assert!(messages(&with("/spec/versions/0/served", json!(false))).is_empty());
}

#[test]
fn singular_is_required() {
    assert_eq!(
        messages(&with("/spec/names/singular", json!(""))),
        ["spec.names.singular: Required value"]
    );
}

#[test]
fn version_names_are_unique_dns1035_labels() {
    let mut c = crd();
    let mut second = c["spec"]["versions"][0].clone();
    second["storage"] = json!(false);
    let mut third = second.clone();
    third["name"] = json!("V2");
    c["spec"]["versions"]
        .as_array_mut()
        .expect("versions")
        .extend([second, third]);
    let got = messages(&c);
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got[0].starts_with(r#"spec.versions[2].name: Invalid value: "V2": a DNS-1035 label"#));
    assert!(got[1].starts_with("spec.versions: Invalid value: ["));
    assert!(got[1].ends_with(": must contain unique version names"));
}

#[test]
fn schemas_are_required() {
    let mut c = crd();
    c["spec"]["versions"][0]
        .as_object_mut()
        .expect("version")
        .remove("schema");
    assert_eq!(
        messages(&c),
        ["spec.versions[0].schema.openAPIV3Schema: Required value: schemas are required"]
    );
}

#[test]
fn root_type_must_be_object() {
    assert_eq!(
        schema_messages(json!({"type": "string"})),
        [format!(
            r#"{SCHEMA}.type: Invalid value: "string": must be object at the root"#
        )]
    );
    assert_eq!(
        schema_messages(json!({"description": "x"})),
        [format!(
            "{SCHEMA}.type: Required value: must not be empty at the root"
        )]
    );
}

#[test]
fn nested_types_are_required() {
    let got = schema_messages(json!({"type": "object", "properties": {
        "a": {"description": "no type"},
        "b": {"type": "array", "items": {}},
        "c": {"type": "array"},
        "d": {"x-kubernetes-int-or-string": true},
        "e": {"x-kubernetes-preserve-unknown-fields": true}
    }}));
    assert_eq!(
        got,
        [
            format!("{SCHEMA}.properties[a].type: Required value: must not be empty for specified object fields"),
            format!("{SCHEMA}.properties[b].items.type: Required value: must not be empty for specified array items"),
            format!("{SCHEMA}.properties[c].items: Required value: must be specified"),
        ]
    );
}

#[test]
fn unknown_types_are_not_supported() {
    assert_eq!(
        schema_messages(json!({"type": "object", "properties": {"a": {"type": "thing"}}})),
        [format!(
            r#"{SCHEMA}.properties[a].type: Unsupported value: "thing": supported values: "array", "boolean", "integer", "number", "object", "string""#
        )]
    );
}

#[test]
fn metadata_may_only_constrain_name_and_generate_name() {
    assert_eq!(
        schema_messages(json!({"type": "object", "properties": {
            "metadata": {"type": "object", "properties": {"name": {"type": "string"}}}
        }})),
        Vec::<String>::new()
    );
    assert_eq!(
        schema_messages(json!({"type": "object", "properties": {
            "metadata": {"type": "object", "properties": {"labels": {"type": "object"}}}
        }})),
        [format!("{SCHEMA}.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified")]
    );
}

#[test]
fn kind_and_api_version_must_be_strings() {
    assert_eq!(
        schema_messages(json!({"type": "object", "properties": {"kind": {"type": "integer"}}})),
        [format!(
            r#"{SCHEMA}.properties[kind].type: Invalid value: "integer": must be string"#
        )]
    );
}

#[test]
fn list_map_keys_need_list_type_map() {
    assert_eq!(
        schema_messages(json!({"type": "object", "properties": {"l": {
            "type": "array", "x-kubernetes-list-type": "set",
            "x-kubernetes-list-map-keys": ["k"], "items": {"type": "string"}
        }}})),
        [format!(
            r#"{SCHEMA}.properties[l].x-kubernetes-list-type: Invalid value: "set": must be map if x-kubernetes-list-map-keys is non-empty"#
        )]
    );
    assert_eq!(
        schema_messages(json!({"type": "object", "properties": {"l": {
            "type": "array", "x-kubernetes-list-type": "map", "items": {"type": "object"}
        }}})),
        [format!("{SCHEMA}.properties[l].x-kubernetes-list-map-keys: Required value: must not be empty if x-kubernetes-list-type is map")]
    );
}

#[test]
fn list_type_only_on_arrays() {
    assert_eq!(
        schema_messages(json!({"type": "object", "properties": {"s": {
            "type": "string", "x-kubernetes-list-type": "atomic"
        }}})),
        [format!(
            r#"{SCHEMA}.properties[s].type: Invalid value: "string": must be array if x-kubernetes-list-type is specified"#
        )]
    );
}

#[test]
fn forbidden_schema_keywords() {
    assert_eq!(
        schema_messages(json!({"type": "object", "additionalProperties": {"type": "string"}})),
        [format!(
            "{SCHEMA}.additionalProperties: Forbidden: must not be used at the root"
        )]
    );
    assert_eq!(
        schema_messages(json!({"type": "object", "properties": {"a": {
            "type": "object", "properties": {"x": {"type": "string"}},
            "additionalProperties": {"type": "string"}
        }}})),
        [format!("{SCHEMA}.properties[a].additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive")]
    );
    assert_eq!(
        schema_messages(json!({"type": "object", "properties": {"a": {
            "type": "array", "uniqueItems": true, "items": {"type": "string"}
        }}})),
        [format!("{SCHEMA}.properties[a].uniqueItems: Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes quadratic")]
    );
    assert_eq!(
        schema_messages(json!({"type": "object", "x-kubernetes-preserve-unknown-fields": false})),
        [format!("{SCHEMA}.x-kubernetes-preserve-unknown-fields: Invalid value: false: must be true or undefined")]
    );
}

#[test]
fn scale_paths_must_be_under_spec_and_status() {
    let c = with(
        "/spec/versions/0/subresources/scale",
        json!({"specReplicasPath": ".status.replicas", "statusReplicasPath": "status.replicas",
               "labelSelectorPath": ".metadata.labels"}),
    );
    let p = "spec.versions[0].subresources.scale";
    assert_eq!(
        messages(&c),
        [
            format!(
                r#"{p}.specReplicasPath: Invalid value: ".status.replicas": should be a json path under .spec"#
            ),
            format!(
                r#"{p}.statusReplicasPath: Invalid value: "status.replicas": must be a simple json path starting with ."#
            ),
            format!(
                r#"{p}.labelSelectorPath: Invalid value: ".metadata.labels": should be a json path under either .spec or .status"#
            ),
        ]
    );
    assert_eq!(
        messages(&with("/spec/versions/0/subresources/scale", json!({}))),
        [
            format!("{p}.specReplicasPath: Required value"),
            format!("{p}.statusReplicasPath: Required value"),
        ]
    );
}

#[test]
fn printer_columns() {
    let c = with(
        "/spec/versions/0/additionalPrinterColumns",
        json!([{"name": "", "type": "time", "format": "uuid", "jsonPath": ""}]),
    );
    let p = "spec.versions[0].additionalPrinterColumns[0]";
    assert_eq!(
        messages(&c),
        [
            format!("{p}.name: Required value"),
            format!(
                r#"{p}.type: Invalid value: "time": must be one of boolean,date,integer,number,string"#
            ),
            format!(
                r#"{p}.format: Invalid value: "uuid": must be one of byte,date,date-time,double,float,int32,int64,password"#
            ),
            format!("{p}.jsonPath: Required value"),
        ]
    );
}

#[test]
fn conversion_strategy() {
    let mut c = crd();
    c["spec"]["conversion"] = json!({"strategy": "Magic"});
    assert_eq!(
        messages(&c),
        [
            r#"spec.conversion.strategy: Unsupported value: "Magic": supported values: "None", "Webhook""#
        ]
    );
    c["spec"]["conversion"] =
        json!({"strategy": "None", "webhook": {"clientConfig": {"url": "https://x"}}});
    assert_eq!(
        messages(&c),
        ["spec.conversion.webhookClientConfig: Forbidden: should not be set when strategy is not set to Webhook"]
    );
}

#[test]
fn webhook_conversion_needs_client_config_and_review_versions() {
    let mut c = crd();
    c["spec"]["conversion"] =
        json!({"strategy": "Webhook", "webhook": {"conversionReviewVersions": ["v2"]}});
    assert_eq!(
        messages(&c),
        [
            "spec.conversion.webhookClientConfig: Required value: required when strategy is set to Webhook",
            r#"spec.conversion.conversionReviewVersions: Invalid value: []string{"v2"}: must include at least one of v1, v1beta1"#,
        ]
    );
    c["spec"]["conversion"] = json!({"strategy": "Webhook", "webhook": {
        "clientConfig": {"url": "https://conv.example.com"}, "conversionReviewVersions": ["v1", "v1"]}});
    assert_eq!(
        messages(&c),
        [r#"spec.conversion.conversionReviewVersions[1]: Invalid value: "v1": duplicate version"#]
    );
    c["spec"]["conversion"] = json!({"strategy": "Webhook", "webhook": {"clientConfig": {}}});
    assert_eq!(
        messages(&c),
        [
            "spec.conversion.webhookClientConfig: Required value: exactly one of url or service is required",
            "spec.conversion.conversionReviewVersions: Required value",
        ]
    );
}

#[test]
fn preserve_unknown_fields_must_be_false() {
    assert_eq!(
        messages(&with("/spec/group", json!("stable.example.com")).pipe_preserve()),
        ["spec.preserveUnknownFields: Invalid value: true: must be false"]
    );
}

trait PreserveUnknown {
    fn pipe_preserve(self) -> Value;
}

impl PreserveUnknown for Value {
    fn pipe_preserve(mut self) -> Value {
        self["spec"]["preserveUnknownFields"] = json!(true);
        self
    }
}

fn stored(mut crd: Value, versions: Value) -> Value {
    crd["status"] = json!({"storedVersions": versions});
    crd
}

fn update_messages(new: &Value, old: &Value) -> Vec<String> {
    validate_update(new, old)
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn established(mut crd: Value) -> Value {
    crd["status"] = json!({
        "conditions": [{"type": "Established", "status": "True"}],
        "storedVersions": ["v1"]
    });
    crd
}

#[test]
fn update_keeps_scope_and_kind_once_established() {
    let old = established(crd());
    let mut new = stored(with("/spec/scope", json!("Cluster")), json!(["v1"]));
    new["spec"]["names"]["kind"] = json!("Cron");
    assert_eq!(
        update_messages(&new, &old),
        [
            r#"spec.scope: Invalid value: "Cluster": field is immutable"#,
            r#"spec.names.kind: Invalid value: "Cron": field is immutable"#,
        ]
    );
    assert_eq!(update_messages(&new, &crd()), Vec::<String>::new());
}

#[test]
fn update_keeps_name_group_and_plural() {
    let mut new = stored(
        with("/spec/group", json!("other.example.com")),
        json!(["v1"]),
    );
    new["metadata"]["name"] = json!("crontabs.other.example.com");
    assert_eq!(
        update_messages(&new, &crd()),
        [
            r#"metadata.name: Invalid value: "crontabs.other.example.com": field is immutable"#,
            r#"spec.group: Invalid value: "other.example.com": field is immutable"#,
        ]
    );
    let mut new = stored(with("/spec/names/plural", json!("crons")), json!(["v1"]));
    new["metadata"]["name"] = json!("crons.stable.example.com");
    assert_eq!(
        update_messages(&new, &crd()),
        [
            r#"metadata.name: Invalid value: "crons.stable.example.com": field is immutable"#,
            r#"spec.names.plural: Invalid value: "crons": field is immutable"#,
        ]
    );
}

#[test]
fn update_may_not_drop_a_stored_version() {
    let mut old = crd();
    let mut v2 = old["spec"]["versions"][0].clone();
    v2["name"] = json!("v2");
    v2["storage"] = json!(false);
    old["spec"]["versions"]
        .as_array_mut()
        .expect("versions")
        .push(v2);
    let old = stored(old, json!(["v1", "v2"]));
    let new = stored(crd(), json!(["v1", "v2"]));
    assert_eq!(
        update_messages(&new, &old),
        [r#"status.storedVersions[1]: Invalid value: "v2": must appear in spec.versions"#]
    );
    assert!(validate_update(&old, &old).is_empty());
}

#[test]
fn stored_versions_hold_the_storage_version() {
    assert_eq!(
        update_messages(&stored(crd(), json!([])), &crd()),
        ["status.storedVersions: Invalid value: []string{}: must have at least one stored version"]
    );
    let mut new = crd();
    new["spec"]["versions"][0]["name"] = json!("v2");
    let new = stored(new, json!(["v1"]));
    let got = update_messages(&new, &crd());
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got[0].starts_with("status.storedVersions: Invalid value: {"));
    assert!(got[0].ends_with(": must have the storage version v2"));
    assert_eq!(
        got[1],
        r#"status.storedVersions[0]: Invalid value: "v1": must appear in spec.versions"#
    );
}

#[test]
fn none_conversion_takes_no_review_versions() {
    let mut c = crd();
    c["spec"]["conversion"] =
        json!({"strategy": "None", "webhook": {"conversionReviewVersions": ["v1"]}});
    assert_eq!(
        messages(&c),
        ["spec.conversion.conversionReviewVersions: Forbidden: should not be set when strategy is not set to Webhook"]
    );
}
