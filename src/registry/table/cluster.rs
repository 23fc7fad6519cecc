//! Printers of cluster-wide policy resources: RBAC bindings, pod disruption budgets, leases,
//! priority and runtime classes, certificate signing requests and trust bundles. The rest of the
//! non-core groups are in `autoscaling.rs`, `control_plane.rs`, `storage.rs` and `networking.rs`.

use serde_json::Value;

use super::age::human_duration;
use super::core::or_none;
use super::descriptions as d;
use super::fields::{
    array_at, bool_at, get, i64_at, int_or_string, name, opt_i64, opt_str, str_at,
};
use super::{
    autoscaling, control_plane, storage, Column, PrintContext, Printer, Row, AGE_COLUMN,
    NAME_COLUMN,
};

/// The printer of resource `plural` in the non-core, non-workload group `group`.
pub(super) fn printer(group: &str, plural: &str) -> Option<Printer> {
    let printer = match (group, plural) {
        ("rbac.authorization.k8s.io", "rolebindings") => ROLE_BINDINGS,
        ("rbac.authorization.k8s.io", "clusterrolebindings") => CLUSTER_ROLE_BINDINGS,
        ("policy", "poddisruptionbudgets") => POD_DISRUPTION_BUDGETS,
        ("coordination.k8s.io", "leases") => LEASES,
        ("coordination.k8s.io", "leasecandidates") => LEASE_CANDIDATES,
        ("scheduling.k8s.io", "priorityclasses") => PRIORITY_CLASSES,
        ("node.k8s.io", "runtimeclasses") => RUNTIME_CLASSES,
        ("certificates.k8s.io", "certificatesigningrequests") => CERTIFICATE_SIGNING_REQUESTS,
        ("certificates.k8s.io", "clustertrustbundles") => CLUSTER_TRUST_BUNDLES,
        (APIREGISTRATION, "apiservices") => API_SERVICES,
        _ => {
            return autoscaling::printer(group, plural)
                .or_else(|| control_plane::printer(group, plural))
                .or_else(|| storage::printer(group, plural))
        }
    };
    Some(printer)
}

const APIREGISTRATION: &str = "apiregistration.k8s.io";

/// Whether the resource's table always carries column definitions, even on later watch events:
/// the aggregator's API service table ignores `NoHeaders`.
pub(super) fn ignores_no_headers(group: &str, plural: &str) -> bool {
    group == APIREGISTRATION && plural == "apiservices"
}

// ---- API services (the aggregator's own table) ------------------------------------------------

const API_SERVICES: Printer = Printer {
    columns: &[
        NAME_COLUMN,
        Column::new(
            "Service",
            "string",
            "The reference to the service that hosts this API endpoint.",
        ),
        Column::new("Available", "string", "Whether this service is available."),
        AGE_COLUMN,
    ],
    print: |service, context| {
        let backend = match get(service, &["spec", "service"]).filter(|s| s.is_object()) {
            Some(s) => format!("{}/{}", str_at(s, &["namespace"]), str_at(s, &["name"])),
            None => "Local".to_string(),
        };
        // `True`, else the status with its reason: `False (MissingEndpoints)`.
        let available = array_at(service, &["status", "conditions"])
            .iter()
            .find(|c| str_at(c, &["type"]) == "Available")
            .map_or_else(
                || "Unknown".to_string(),
                |c| match (str_at(c, &["status"]), str_at(c, &["reason"])) {
                    ("True", _) => "True".to_string(),
                    (status, "") => status.to_string(),
                    (status, reason) => format!("{status} ({reason})"),
                },
            );
        Row::from(vec![
            Value::from(name(service)),
            Value::from(backend),
            Value::from(available),
            Value::from(context.age(service)),
        ])
    },
};

// ---- RBAC bindings -----------------------------------------------------------------------------

const ROLE_BINDINGS: Printer = Printer {
    columns: &[
        NAME_COLUMN,
        Column::new("Role", "string", d::ROLE_BINDING_ROLE_REF),
        AGE_COLUMN,
        Column::new("Users", "string", "Users in the roleBinding").wide(),
        Column::new("Groups", "string", "Groups in the roleBinding").wide(),
        Column::new(
            "ServiceAccounts",
            "string",
            "ServiceAccounts in the roleBinding",
        )
        .wide(),
    ],
    print: print_binding,
};

const CLUSTER_ROLE_BINDINGS: Printer = Printer {
    columns: &[
        NAME_COLUMN,
        Column::new("Role", "string", d::CLUSTER_ROLE_BINDING_ROLE_REF),
        AGE_COLUMN,
        Column::new("Users", "string", "Users in the clusterRoleBinding").wide(),
        Column::new("Groups", "string", "Groups in the clusterRoleBinding").wide(),
        Column::new(
            "ServiceAccounts",
            "string",
            "ServiceAccounts in the clusterRoleBinding",
        )
        .wide(),
    ],
    print: print_binding,
};

/// `Kind/name` of the role, then users, groups and `namespace/name` service accounts.
fn print_binding(binding: &Value, context: &PrintContext) -> Row {
    let mut users = Vec::new();
    let mut groups = Vec::new();
    let mut service_accounts = Vec::new();
    for subject in array_at(binding, &["subjects"]) {
        let subject_name = str_at(subject, &["name"]);
        match str_at(subject, &["kind"]) {
            "ServiceAccount" => service_accounts.push(format!(
                "{}/{subject_name}",
                str_at(subject, &["namespace"])
            )),
            "User" => users.push(subject_name.to_string()),
            "Group" => groups.push(subject_name.to_string()),
            _ => {}
        }
    }
    Row::from(vec![
        Value::from(name(binding)),
        Value::from(format!(
            "{}/{}",
            str_at(binding, &["roleRef", "kind"]),
            str_at(binding, &["roleRef", "name"])
        )),
        Value::from(context.age(binding)),
        Value::from(users.join(", ")),
        Value::from(groups.join(", ")),
        Value::from(service_accounts.join(", ")),
    ])
}

// ---- policy, coordination, scheduling, node ----------------------------------------------------

const POD_DISRUPTION_BUDGETS: Printer = Printer {
    columns: &[
        NAME_COLUMN,
        Column::new(
            "Min Available",
            "string",
            "The minimum number of pods that must be available.",
        ),
        Column::new(
            "Max Unavailable",
            "string",
            "The maximum number of pods that may be unavailable.",
        ),
        Column::new(
            "Allowed Disruptions",
            "integer",
            "Calculated number of pods that may be disrupted at this time.",
        ),
        AGE_COLUMN,
    ],
    print: |budget, context| {
        let bound = |key: &str| match get(budget, &["spec", key]).filter(|v| !v.is_null()) {
            Some(value) => int_or_string(value),
            None => "N/A".to_string(),
        };
        Row::from(vec![
            Value::from(name(budget)),
            Value::from(bound("minAvailable")),
            Value::from(bound("maxUnavailable")),
            Value::from(i64_at(budget, &["status", "disruptionsAllowed"])),
            Value::from(context.age(budget)),
        ])
    },
};

const LEASES: Printer = Printer {
    columns: &[
        NAME_COLUMN,
        Column::new("Holder", "string", d::LEASE_SPEC_HOLDER_IDENTITY),
        AGE_COLUMN,
    ],
    print: |lease, context| {
        Row::from(vec![
            Value::from(name(lease)),
            Value::from(str_at(lease, &["spec", "holderIdentity"])),
            Value::from(context.age(lease)),
        ])
    },
};

const LEASE_CANDIDATES: Printer = Printer {
    columns: &[
        NAME_COLUMN,
        Column::new("LeaseName", "string", d::LEASE_CANDIDATE_SPEC_LEASE_NAME),
        // Upstream looks these descriptions up in ObjectMeta's documentation, which has none.
        Column::new("BinaryVersion", "string", ""),
        Column::new("EmulationVersion", "string", ""),
        AGE_COLUMN,
    ],
    print: |candidate, context| {
        Row::from(vec![
            Value::from(name(candidate)),
            Value::from(str_at(candidate, &["spec", "leaseName"])),
            Value::from(str_at(candidate, &["spec", "binaryVersion"])),
            Value::from(str_at(candidate, &["spec", "emulationVersion"])),
            Value::from(context.age(candidate)),
        ])
    },
};

const PRIORITY_CLASSES: Printer = Printer {
    columns: &[
        NAME_COLUMN,
        Column::new("Value", "integer", d::PRIORITY_CLASS_VALUE),
        Column::new(
            "Global-Default",
            "boolean",
            d::PRIORITY_CLASS_GLOBAL_DEFAULT,
        ),
        AGE_COLUMN,
        Column::new(
            "PreemptionPolicy",
            "string",
            d::PRIORITY_CLASS_PREEMPTION_POLICY,
        ),
    ],
    print: |class, context| {
        Row::from(vec![
            Value::from(name(class)),
            Value::from(i64_at(class, &["value"])),
            Value::from(bool_at(class, &["globalDefault"])),
            Value::from(context.age(class)),
            Value::from(str_at(class, &["preemptionPolicy"])),
        ])
    },
};

const RUNTIME_CLASSES: Printer = Printer {
    columns: &[
        NAME_COLUMN,
        // Upstream looks this description up in ObjectMeta's documentation, which has none.
        Column::new("Handler", "string", ""),
        AGE_COLUMN,
    ],
    print: |class, context| {
        Row::from(vec![
            Value::from(name(class)),
            Value::from(str_at(class, &["handler"])),
            Value::from(context.age(class)),
        ])
    },
};

// ---- certificates ------------------------------------------------------------------------------

const CERTIFICATE_SIGNING_REQUESTS: Printer = Printer {
    columns: &[
        NAME_COLUMN,
        AGE_COLUMN,
        Column::new("SignerName", "string", d::CSR_SPEC_SIGNER_NAME),
        Column::new("Requestor", "string", d::CSR_SPEC_REQUEST),
        Column::new(
            "RequestedDuration",
            "string",
            d::CSR_SPEC_EXPIRATION_SECONDS,
        ),
        Column::new("Condition", "string", d::CSR_STATUS_CONDITIONS),
    ],
    print: |request, context| {
        let duration = match opt_i64(request, &["spec", "expirationSeconds"]) {
            Some(seconds) => human_duration(jiff::SignedDuration::from_secs(seconds)),
            None => "<none>".to_string(),
        };
        Row::from(vec![
            Value::from(name(request)),
            Value::from(context.age(request)),
            Value::from(or_none(str_at(request, &["spec", "signerName"]))),
            Value::from(str_at(request, &["spec", "username"])),
            Value::from(duration),
            Value::from(csr_condition(request)),
        ])
    },
};

/// `Denied`, `Approved` or `Pending`, then `,Failed` and `,Issued` when they apply.
fn csr_condition(request: &Value) -> String {
    let has = |condition_type: &str| {
        array_at(request, &["status", "conditions"])
            .iter()
            .any(|c| str_at(c, &["type"]) == condition_type)
    };
    let mut status = if has("Denied") {
        "Denied"
    } else if has("Approved") {
        "Approved"
    } else {
        "Pending"
    }
    .to_string();
    if has("Failed") {
        status.push_str(",Failed");
    }
    if opt_str(request, &["status", "certificate"]).is_some_and(|c| !c.is_empty()) {
        status.push_str(",Issued");
    }
    status
}

const CLUSTER_TRUST_BUNDLES: Printer = Printer {
    columns: &[
        NAME_COLUMN,
        Column::new(
            "SignerName",
            "string",
            d::CLUSTER_TRUST_BUNDLE_SPEC_SIGNER_NAME,
        ),
    ],
    print: |bundle, _| {
        Row::from(vec![
            Value::from(name(bundle)),
            Value::from(or_none(str_at(bundle, &["spec", "signerName"]))),
        ])
    },
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::table::test_support::{object, table_cells};
    use serde_json::json;

    #[test]
    fn api_service_rows() {
        let local = object(
            "v1.apps",
            "2024-05-01T11:00:00Z",
            json!({"status": {"conditions": [{"type": "Available", "status": "True"}]}}),
        );
        assert_eq!(
            table_cells(APIREGISTRATION, "v1", "apiservices", &local),
            vec![
                json!("v1.apps"),
                json!("Local"),
                json!("True"),
                json!("60m")
            ]
        );
        let remote = object(
            "v1beta1.metrics.k8s.io",
            "2024-05-01T11:00:00Z",
            json!({"spec": {"service": {"namespace": "kube-system", "name": "metrics-server"}},
                   "status": {"conditions": [{"type": "Available", "status": "False", "reason": "MissingEndpoints"}]}}),
        );
        assert_eq!(
            table_cells(APIREGISTRATION, "v1", "apiservices", &remote)[1..3],
            [
                json!("kube-system/metrics-server"),
                json!("False (MissingEndpoints)")
            ]
        );
        let fresh = object("v1.x", "2024-05-01T11:00:00Z", json!({}));
        assert_eq!(
            table_cells(APIREGISTRATION, "v1", "apiservices", &fresh)[2],
            json!("Unknown")
        );
        assert!(ignores_no_headers(APIREGISTRATION, "apiservices"));
    }

    #[test]
    fn role_binding_row() {
        let binding = object(
            "read-pods",
            "2024-05-01T11:00:00Z",
            json!({"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pod-reader"},
                   "subjects": [{"kind": "User", "name": "jane"}, {"kind": "User", "name": "joe"},
                                {"kind": "Group", "name": "devs"},
                                {"kind": "ServiceAccount", "namespace": "ci", "name": "runner"}]}),
        );
        assert_eq!(
            table_cells("rbac.authorization.k8s.io", "v1", "rolebindings", &binding),
            vec![
                json!("read-pods"),
                json!("Role/pod-reader"),
                json!("60m"),
                json!("jane, joe"),
                json!("devs"),
                json!("ci/runner")
            ]
        );
    }

    #[test]
    fn pod_disruption_budget_row() {
        let budget = object(
            "web",
            "2024-05-01T11:00:00Z",
            json!({"spec": {"minAvailable": "50%"}, "status": {"disruptionsAllowed": 1}}),
        );
        assert_eq!(
            table_cells("policy", "v1", "poddisruptionbudgets", &budget),
            vec![
                json!("web"),
                json!("50%"),
                json!("N/A"),
                json!(1),
                json!("60m")
            ]
        );
    }

    #[test]
    fn lease_and_priority_class_rows() {
        let lease = object(
            "kube-scheduler",
            "2024-05-01T11:00:00Z",
            json!({"spec": {"holderIdentity": "node-1_abc"}}),
        );
        assert_eq!(
            table_cells("coordination.k8s.io", "v1", "leases", &lease),
            vec![json!("kube-scheduler"), json!("node-1_abc"), json!("60m")]
        );
        let class = object(
            "high",
            "2024-05-01T11:00:00Z",
            json!({"value": 1000000, "globalDefault": true}),
        );
        assert_eq!(
            table_cells("scheduling.k8s.io", "v1", "priorityclasses", &class),
            vec![
                json!("high"),
                json!(1000000),
                json!(true),
                json!("60m"),
                json!("")
            ]
        );
    }

    #[test]
    fn csr_row_and_condition() {
        let request = object(
            "csr-1",
            "2024-05-01T11:00:00Z",
            json!({"spec": {"signerName": "kubernetes.io/kube-apiserver-client", "username": "jane",
                            "expirationSeconds": 86400},
                   "status": {"conditions": [{"type": "Approved", "status": "True"}], "certificate": "LS0t"}}),
        );
        assert_eq!(
            table_cells(
                "certificates.k8s.io",
                "v1",
                "certificatesigningrequests",
                &request
            ),
            vec![
                json!("csr-1"),
                json!("60m"),
                json!("kubernetes.io/kube-apiserver-client"),
                json!("jane"),
                json!("24h"),
                json!("Approved,Issued")
            ]
        );
        let denied = json!({"status": {"conditions": [{"type": "Approved"}, {"type": "Denied"}, {"type": "Failed"}]}});
        assert_eq!(csr_condition(&denied), "Denied,Failed");
        assert_eq!(csr_condition(&json!({})), "Pending");
    }
}
