//! Go's `meta/v1` Table types, which have no protobuf form (upstream marks them
//! `+protobuf=false`): declared here as `k8s.io/apimachinery/pkg/apis/meta/v1/types.go` declares
//! them, field for field and in its order, for the probe to read as it reads the protobuf
//! messages. Nothing builds these structs; only their derived field lists are used.
#![allow(dead_code)]

use k8s_rs_pb::apimachinery::pkg::apis::meta::v1::ListMeta;
use k8s_rs_pb::apimachinery::pkg::runtime::RawExtension;
use serde::Deserialize;
use serde_json::Value;

/// `metav1.Table` (after its inlined TypeMeta).
#[derive(Deserialize)]
pub struct Table {
    metadata: ListMeta,
    #[serde(rename = "columnDefinitions")]
    column_definitions: Vec<TableColumnDefinition>,
    rows: Vec<TableRow>,
}

/// `metav1.TableColumnDefinition`.
#[derive(Deserialize)]
pub struct TableColumnDefinition {
    name: String,
    #[serde(rename = "type")]
    type_: String,
    format: String,
    description: String,
    priority: i32,
}

/// `metav1.TableRow`.
#[derive(Deserialize)]
pub struct TableRow {
    cells: Vec<Value>,
    conditions: Vec<TableRowCondition>,
    object: RawExtension,
}

/// `metav1.TableRowCondition`.
#[derive(Deserialize)]
pub struct TableRowCondition {
    #[serde(rename = "type")]
    type_: String,
    status: String,
    reason: String,
    message: String,
}
