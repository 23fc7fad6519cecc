//! Printers of volumes and storage: persistent volumes and claims (core group), and the
//! `storage.k8s.io` resources.

use serde_json::Value;

use super::descriptions as d;
use super::fields::{
    annotation, array_at, bool_at, get, is_deleting, len_at, name, opt_bool, opt_str, quantity,
    str_at,
};
use super::{Column, PrintContext, Printer, Row, AGE_COLUMN, NAME_COLUMN};

/// The printer of `storage.k8s.io` resource `plural`. `csistoragecapacities` has a printer upstream
/// but its store registers the default table, so it gets that.
pub(super) fn printer(group: &str, plural: &str) -> Option<Printer> {
    if group != "storage.k8s.io" {
        return None;
    }
    Some(match plural {
        "storageclasses" => STORAGE_CLASSES,
        "volumeattachments" => VOLUME_ATTACHMENTS,
        "csidrivers" => CSI_DRIVERS,
        "csinodes" => CSI_NODES,
        "volumeattributesclasses" => VOLUME_ATTRIBUTES_CLASSES,
        _ => return None,
    })
}

/// The deprecated annotation that names a volume's or claim's storage class.
const BETA_STORAGE_CLASS_ANNOTATION: &str = "volume.beta.kubernetes.io/storage-class";

/// `GetAccessModesAsString`: `RWO`, `ROX`, `RWX`, `RWOP` in that order, each at most once.
fn access_modes(modes: &[Value]) -> String {
    let has = |mode: &str| modes.iter().any(|m| m.as_str() == Some(mode));
    [
        ("ReadWriteOnce", "RWO"),
        ("ReadOnlyMany", "ROX"),
        ("ReadWriteMany", "RWX"),
        ("ReadWriteOncePod", "RWOP"),
    ]
    .iter()
    .filter(|(mode, _)| has(mode))
    .map(|(_, short)| *short)
    .collect::<Vec<_>>()
    .join(",")
}

/// The storage class of a volume or claim: the beta annotation, else `spec.storageClassName`.
fn storage_class(object: &Value) -> &str {
    annotation(object, BETA_STORAGE_CLASS_ANNOTATION)
        .unwrap_or_else(|| str_at(object, &["spec", "storageClassName"]))
}

fn or_unset(value: Option<&str>) -> String {
    value.unwrap_or("<unset>").to_string()
}

/// The printer of `persistentvolumes`.
pub(super) const PERSISTENT_VOLUMES: Printer = Printer {
    columns: &[
        NAME_COLUMN,
        Column::new("Capacity", "string", d::PV_SPEC_CAPACITY),
        Column::new("Access Modes", "string", d::PV_SPEC_ACCESS_MODES),
        Column::new("Reclaim Policy", "string", d::PV_SPEC_RECLAIM_POLICY),
        Column::new("Status", "string", d::PV_STATUS_PHASE),
        Column::new("Claim", "string", d::PV_SPEC_CLAIM_REF),
        Column::new("StorageClass", "string", "StorageClass of the pv"),
        Column::new(
            "VolumeAttributesClass",
            "string",
            "VolumeAttributesClass of the pv",
        ),
        Column::new("Reason", "string", d::PV_STATUS_REASON),
        AGE_COLUMN,
        Column::new("VolumeMode", "string", d::PV_SPEC_VOLUME_MODE).wide(),
    ],
    print: print_persistent_volume,
};

fn print_persistent_volume(volume: &Value, context: &PrintContext) -> Row {
    let claim = match get(volume, &["spec", "claimRef"]).filter(|c| c.is_object()) {
        Some(claim) => format!(
            "{}/{}",
            str_at(claim, &["namespace"]),
            str_at(claim, &["name"])
        ),
        None => String::new(),
    };
    let phase = if is_deleting(volume) {
        "Terminating"
    } else {
        str_at(volume, &["status", "phase"])
    };
    Row::from(vec![
        Value::from(name(volume)),
        Value::from(quantity(get(volume, &["spec", "capacity", "storage"]))),
        Value::from(access_modes(array_at(volume, &["spec", "accessModes"]))),
        Value::from(str_at(volume, &["spec", "persistentVolumeReclaimPolicy"])),
        Value::from(phase),
        Value::from(claim),
        Value::from(storage_class(volume)),
        Value::from(or_unset(opt_str(
            volume,
            &["spec", "volumeAttributesClassName"],
        ))),
        Value::from(str_at(volume, &["status", "reason"])),
        Value::from(context.age(volume)),
        Value::from(or_unset(opt_str(volume, &["spec", "volumeMode"]))),
    ])
}

/// The printer of `persistentvolumeclaims`.
pub(super) const PERSISTENT_VOLUME_CLAIMS: Printer = Printer {
    columns: &[
        NAME_COLUMN,
        Column::new("Status", "string", d::PVC_STATUS_PHASE),
        Column::new("Volume", "string", d::PVC_SPEC_VOLUME_NAME),
        Column::new("Capacity", "string", d::PVC_STATUS_CAPACITY),
        Column::new("Access Modes", "string", d::PVC_STATUS_ACCESS_MODES),
        Column::new("StorageClass", "string", "StorageClass of the pvc"),
        Column::new(
            "VolumeAttributesClass",
            "string",
            "VolumeAttributesClass of the pvc",
        ),
        AGE_COLUMN,
        Column::new("VolumeMode", "string", d::PVC_SPEC_VOLUME_MODE).wide(),
    ],
    print: print_persistent_volume_claim,
};

fn print_persistent_volume_claim(claim: &Value, context: &PrintContext) -> Row {
    let phase = if is_deleting(claim) {
        "Terminating"
    } else {
        str_at(claim, &["status", "phase"])
    };
    let volume_name = str_at(claim, &["spec", "volumeName"]);
    // Capacity and access modes are only shown once the claim is bound to a volume.
    let (capacity, modes) = if volume_name.is_empty() {
        (String::new(), String::new())
    } else {
        (
            quantity(get(claim, &["status", "capacity", "storage"])),
            access_modes(array_at(claim, &["status", "accessModes"])),
        )
    };
    Row::from(vec![
        Value::from(name(claim)),
        Value::from(phase),
        Value::from(volume_name),
        Value::from(capacity),
        Value::from(modes),
        Value::from(storage_class(claim)),
        Value::from(or_unset(opt_str(
            claim,
            &["spec", "volumeAttributesClassName"],
        ))),
        Value::from(context.age(claim)),
        Value::from(or_unset(opt_str(claim, &["spec", "volumeMode"]))),
    ])
}

const STORAGE_CLASSES: Printer = Printer {
    columns: &[
        NAME_COLUMN,
        Column::new("Provisioner", "string", d::STORAGE_CLASS_PROVISIONER),
        Column::new("ReclaimPolicy", "string", d::STORAGE_CLASS_RECLAIM_POLICY),
        Column::new(
            "VolumeBindingMode",
            "string",
            d::STORAGE_CLASS_VOLUME_BINDING_MODE,
        ),
        Column::new(
            "AllowVolumeExpansion",
            "string",
            d::STORAGE_CLASS_ALLOW_VOLUME_EXPANSION,
        ),
        AGE_COLUMN,
    ],
    print: |class, context| {
        let is_default = [
            "storageclass.kubernetes.io/is-default-class",
            "storageclass.beta.kubernetes.io/is-default-class",
        ]
        .iter()
        .any(|key| annotation(class, key) == Some("true"));
        let shown_name = if is_default {
            format!("{} (default)", name(class))
        } else {
            name(class).to_string()
        };
        Row::from(vec![
            Value::from(shown_name),
            Value::from(str_at(class, &["provisioner"])),
            Value::from(opt_str(class, &["reclaimPolicy"]).unwrap_or("Delete")),
            Value::from(opt_str(class, &["volumeBindingMode"]).unwrap_or("Immediate")),
            Value::from(bool_at(class, &["allowVolumeExpansion"])),
            Value::from(context.age(class)),
        ])
    },
};

const VOLUME_ATTRIBUTES_CLASSES: Printer = Printer {
    columns: &[
        NAME_COLUMN,
        Column::new(
            "DriverName",
            "string",
            d::VOLUME_ATTRIBUTES_CLASS_DRIVER_NAME,
        ),
        AGE_COLUMN,
    ],
    print: |class, context| {
        let is_default = annotation(
            class,
            "volumeattributesclass.alpha.kubernetes.io/is-default-class",
        ) == Some("true");
        let shown_name = if is_default {
            format!("{} (default)", name(class))
        } else {
            name(class).to_string()
        };
        Row::from(vec![
            Value::from(shown_name),
            Value::from(str_at(class, &["driverName"])),
            Value::from(context.age(class)),
        ])
    },
};

const VOLUME_ATTACHMENTS: Printer = Printer {
    columns: &[
        NAME_COLUMN,
        Column::new("Attacher", "string", d::VOLUME_ATTACHMENT_SPEC_ATTACHER).name_format(),
        Column::new("PV", "string", d::VOLUME_ATTACHMENT_SOURCE_PV_NAME),
        Column::new("Node", "string", d::VOLUME_ATTACHMENT_SPEC_NODE_NAME),
        Column::new("Attached", "boolean", d::VOLUME_ATTACHMENT_STATUS_ATTACHED),
        AGE_COLUMN,
    ],
    print: |attachment, context| {
        Row::from(vec![
            Value::from(name(attachment)),
            Value::from(str_at(attachment, &["spec", "attacher"])),
            Value::from(str_at(
                attachment,
                &["spec", "source", "persistentVolumeName"],
            )),
            Value::from(str_at(attachment, &["spec", "nodeName"])),
            Value::from(bool_at(attachment, &["status", "attached"])),
            Value::from(context.age(attachment)),
        ])
    },
};

const CSI_DRIVERS: Printer = Printer {
    columns: &[
        NAME_COLUMN,
        Column::new("AttachRequired", "boolean", d::CSI_DRIVER_ATTACH_REQUIRED),
        Column::new("PodInfoOnMount", "boolean", d::CSI_DRIVER_POD_INFO_ON_MOUNT),
        Column::new("StorageCapacity", "boolean", d::CSI_DRIVER_STORAGE_CAPACITY),
        Column::new("TokenRequests", "string", d::CSI_DRIVER_TOKEN_REQUESTS),
        Column::new(
            "RequiresRepublish",
            "boolean",
            d::CSI_DRIVER_REQUIRES_REPUBLISH,
        ),
        Column::new("Modes", "string", d::CSI_DRIVER_VOLUME_LIFECYCLE_MODES),
        AGE_COLUMN,
    ],
    print: |driver, context| {
        let spec = driver.get("spec").unwrap_or(&Value::Null);
        let modes: Vec<&str> = array_at(spec, &["volumeLifecycleModes"])
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let token_requests = match get(spec, &["tokenRequests"]).and_then(Value::as_array) {
            Some(requests) => requests
                .iter()
                .map(|r| str_at(r, &["audience"]))
                .collect::<Vec<_>>()
                .join(","),
            None => "<unset>".to_string(),
        };
        Row::from(vec![
            Value::from(name(driver)),
            Value::from(opt_bool(spec, &["attachRequired"]).unwrap_or(true)),
            Value::from(bool_at(spec, &["podInfoOnMount"])),
            Value::from(bool_at(spec, &["storageCapacity"])),
            Value::from(token_requests),
            Value::from(bool_at(spec, &["requiresRepublish"])),
            Value::from(super::core::or_none(&modes.join(","))),
            Value::from(context.age(driver)),
        ])
    },
};

const CSI_NODES: Printer = Printer {
    columns: &[
        NAME_COLUMN,
        Column::new(
            "Drivers",
            "integer",
            "Drivers indicates the number of CSI drivers registered on the node",
        ),
        AGE_COLUMN,
    ],
    print: |node, context| {
        Row::from(vec![
            Value::from(name(node)),
            Value::from(len_at(node, &["spec", "drivers"]) as i64),
            Value::from(context.age(node)),
        ])
    },
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::table::test_support::{object, print_cells, table_cells};
    use serde_json::json;

    #[test]
    fn persistent_volume_row() {
        let pv = object(
            "pv-1",
            "2024-05-01T10:00:00Z",
            json!({"spec": {"capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteMany", "ReadWriteOnce", "ReadWriteOnce"],
                            "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "fast",
                            "claimRef": {"namespace": "default", "name": "data"}, "volumeMode": "Filesystem"},
                   "status": {"phase": "Bound"}}),
        );
        assert_eq!(
            table_cells("", "v1", "persistentvolumes", &pv),
            vec![
                json!("pv-1"),
                json!("10Gi"),
                json!("RWO,RWX"),
                json!("Retain"),
                json!("Bound"),
                json!("default/data"),
                json!("fast"),
                json!("<unset>"),
                json!(""),
                json!("120m"),
                json!("Filesystem")
            ]
        );
    }

    #[test]
    fn claims_show_capacity_only_when_bound() {
        let pending = object(
            "data",
            "2024-05-01T11:59:00Z",
            json!({"spec": {"resources": {"requests": {"storage": "1Gi"}}, "storageClassName": "standard"},
                   "status": {"phase": "Pending"}}),
        );
        assert_eq!(
            print_cells(PERSISTENT_VOLUME_CLAIMS, "v1", &pending),
            vec![
                json!("data"),
                json!("Pending"),
                json!(""),
                json!(""),
                json!(""),
                json!("standard"),
                json!("<unset>"),
                json!("60s"),
                json!("<unset>")
            ]
        );
        let bound = object(
            "data",
            "2024-05-01T11:59:00Z",
            json!({"metadata": {"annotations": {"volume.beta.kubernetes.io/storage-class": "legacy"},
                                "deletionTimestamp": "2024-05-01T12:00:00Z"},
                   "spec": {"volumeName": "pv-1", "storageClassName": "standard"},
                   "status": {"phase": "Bound", "capacity": {"storage": "5Gi"}, "accessModes": ["ReadWriteOncePod"]}}),
        );
        let cells = print_cells(PERSISTENT_VOLUME_CLAIMS, "v1", &bound);
        assert_eq!(
            &cells[1..6],
            &[
                json!("Terminating"),
                json!("pv-1"),
                json!("5Gi"),
                json!("RWOP"),
                json!("legacy")
            ]
        );
    }

    #[test]
    fn storage_class_defaults_and_default_marker() {
        let class = object(
            "standard",
            "2024-05-01T11:00:00Z",
            json!({"metadata": {"annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
                   "provisioner": "rancher.io/local-path"}),
        );
        assert_eq!(
            table_cells("storage.k8s.io", "v1", "storageclasses", &class),
            vec![
                json!("standard (default)"),
                json!("rancher.io/local-path"),
                json!("Delete"),
                json!("Immediate"),
                json!(false),
                json!("60m")
            ]
        );
    }

    #[test]
    fn csi_driver_defaults() {
        let driver = object(
            "csi.example.com",
            "2024-05-01T11:00:00Z",
            json!({"spec": {"volumeLifecycleModes": ["Persistent"]}}),
        );
        assert_eq!(
            print_cells(CSI_DRIVERS, "v1", &driver),
            vec![
                json!("csi.example.com"),
                json!(true),
                json!(false),
                json!(false),
                json!("<unset>"),
                json!(false),
                json!("Persistent"),
                json!("60m")
            ]
        );
    }
}
