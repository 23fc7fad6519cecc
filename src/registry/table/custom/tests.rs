use serde_json::{json, Value};

use super::super::test_support::{info, now, object};
use super::super::{row_table_at, to_table_at, IncludeObject, TableConvertor};
use super::*;

fn crontab_version() -> Value {
    json!({
        "name": "v1",
        "additionalPrinterColumns": [
            {"name": "Spec", "type": "string", "jsonPath": ".spec.cronSpec"},
            {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
            {"name": "Ready", "type": "string", "description": "Whether it is ready",
             "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"},
            {"name": "Image", "type": "string", "priority": 1, "jsonPath": ".spec.image"},
            {"name": "Ratio", "type": "number", "jsonPath": ".spec.ratio"},
            {"name": "Started", "type": "date", "jsonPath": ".status.startTime"}
        ]
    })
}

fn crontab() -> Value {
    object(
        "my-cron",
        "2024-05-01T11:00:00Z",
        json!({
            "spec": {"cronSpec": "* * * * */5", "replicas": 3.0, "ratio": 2, "image": "busybox"},
            "status": {
                "conditions": [
                    {"type": "Synced", "status": "False"},
                    {"type": "Ready", "status": "True"}
                ],
                "startTime": "2024-05-01T11:55:00Z"
            }
        }),
    )
}

#[test]
fn column_definitions_start_with_name_and_default_descriptions() {
    let columns = CustomColumns::from_version(&crontab_version()).expect("columns parse");
    let defs = columns.column_definitions();
    assert_eq!(defs[0]["name"], json!("Name"));
    assert_eq!(defs[0]["format"], json!("name"));
    assert_eq!(
        defs[1],
        json!({"name": "Spec", "type": "string", "format": "",
               "description": "Custom resource definition column (in JSONPath format): .spec.cronSpec",
               "priority": 0})
    );
    assert_eq!(defs[3]["description"], json!("Whether it is ready"));
    assert_eq!(defs[4]["priority"], json!(1));
}

#[test]
fn cells_follow_column_types_filters_and_missing_fields() {
    let columns = CustomColumns::from_version(&crontab_version()).expect("columns parse");
    let row = columns.row(&crontab(), now());
    assert_eq!(
        row.cells,
        vec![
            json!("my-cron"),
            json!("* * * * */5"),
            json!(3),
            json!("True"),
            json!("busybox"),
            json!(2),
            json!("5m"),
        ]
    );
    let bare = object("bare", "2024-05-01T11:00:00Z", json!({}));
    let row = columns.row(&bare, now());
    assert_eq!(
        row.cells,
        vec![
            json!("bare"),
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null
        ]
    );
}

#[test]
fn a_version_without_columns_gets_the_age_column() {
    let columns = CustomColumns::from_version(&json!({"name": "v1"})).expect("columns parse");
    let defs = columns.column_definitions();
    assert_eq!(defs.as_array().map(Vec::len), Some(2));
    assert_eq!(defs[1]["name"], json!("Age"));
    assert_eq!(defs[1]["type"], json!("date"));
    let row = columns.row(&crontab(), now());
    assert_eq!(row.cells, vec![json!("my-cron"), json!("60m")]);
}

#[test]
fn unparsable_json_path_is_rejected_with_upstream_message() {
    let err = CustomColumns::from_version(&json!({"additionalPrinterColumns": [
        {"name": "Bad", "type": "string", "jsonPath": ".spec[?(@.x"}
    ]}))
    .expect_err("the path does not parse");
    assert_eq!(err, r#"unrecognized column definition ".spec[?(@.x""#);
}

#[test]
fn custom_columns_print_tables_and_watch_rows() {
    let convertor = TableConvertor::custom(
        CustomColumns::from_version(&crontab_version()).expect("columns parse"),
    );
    let resource = info("stable.example.com", "v1", "crontabs", "CronTab");
    let table = to_table_at(
        &convertor,
        &resource,
        std::slice::from_ref(&crontab()),
        IncludeObject::None,
        None,
        now(),
    );
    assert_eq!(table["columnDefinitions"][2]["name"], json!("Replicas"));
    assert_eq!(table["rows"][0]["cells"][2], json!(3));
    let empty = to_table_at(&convertor, &resource, &[], IncludeObject::None, None, now());
    assert_eq!(empty["rows"], json!([]));
    let later = row_table_at(
        &convertor,
        &resource,
        &crontab(),
        IncludeObject::None,
        false,
        now(),
    );
    assert_eq!(later["columnDefinitions"], Value::Null);
    assert_eq!(later["rows"][0]["cells"][3], json!("True"));

    // Without the CRD's columns the resource prints as upstream's default table.
    let default = TableConvertor::default();
    let table = to_table_at(
        &default,
        &resource,
        &[crontab()],
        IncludeObject::None,
        None,
        now(),
    );
    assert_eq!(table["columnDefinitions"][1]["name"], json!("Created At"));
}

#[test]
fn json_path_forms_crds_use() {
    let doc = json!({"a": {"b.c": 1, "list": [1, 2, 3]}, "items": [{"n": "x"}, {"n": "y"}]});
    let find = |p: &str| {
        JsonPath::parse(p)
            .expect("parses")
            .find(&doc)
            .expect("evaluates")
            .into_iter()
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(find(".a['b.c']"), vec![json!(1)]);
    assert_eq!(find(".a.list[-1]"), vec![json!(3)]);
    assert_eq!(find(".a.list[0:2]"), vec![json!(1), json!(2)]);
    assert_eq!(find(".items[*].n"), vec![json!("x"), json!("y")]);
    assert_eq!(find("..n"), vec![json!("x"), json!("y")]);
    assert_eq!(find(".items[?(@.n!='x')].n"), vec![json!("y")]);
    assert!(find(".missing.deeper").is_empty());
    let mixed = JsonPath::parse(".items[?(@.n==1)]").expect("parses");
    assert!(mixed.find(&doc).is_err());
}
