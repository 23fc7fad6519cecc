//! Printers of API-server configuration resources: admission webhooks and policies
//! (`admissionregistration.k8s.io`) and API priority and fairness (`flowcontrol.apiserver.k8s.io`).

use std::cmp::Ordering;

use serde_json::Value;

use super::descriptions as d;
use super::fields::{array_at, format_label_selector, get, i64_at, len_at, name, str_at};
use super::{Column, PrintContext, Printer, Row, AGE_COLUMN, NAME_COLUMN};

const ADMISSION: &str = "admissionregistration.k8s.io";
const FLOW_CONTROL: &str = "flowcontrol.apiserver.k8s.io";

/// The printer of resource `plural` in the admission or flow-control group `group`.
pub(super) fn printer(group: &str, plural: &str) -> Option<Printer> {
    Some(match (group, plural) {
        (ADMISSION, "mutatingwebhookconfigurations" | "validatingwebhookconfigurations") => {
            WEBHOOK_CONFIGURATIONS
        }
        (ADMISSION, "validatingadmissionpolicies") => VALIDATING_ADMISSION_POLICIES,
        (ADMISSION, "mutatingadmissionpolicies") => MUTATING_ADMISSION_POLICIES,
        (ADMISSION, "validatingadmissionpolicybindings" | "mutatingadmissionpolicybindings") => {
            ADMISSION_POLICY_BINDINGS
        }
        (FLOW_CONTROL, "flowschemas") => FLOW_SCHEMAS,
        (FLOW_CONTROL, "prioritylevelconfigurations") => PRIORITY_LEVEL_CONFIGURATIONS,
        _ => return None,
    })
}

/// The order upstream prints a list of resource `plural` in, when it sorts the list: flow
/// schemas by matching precedence, then name.
pub(super) fn list_order(group: &str, plural: &str) -> Option<fn(&Value, &Value) -> Ordering> {
    (group == FLOW_CONTROL && plural == "flowschemas")
        .then_some(flow_schema_order as fn(&Value, &Value) -> Ordering)
}

fn flow_schema_order(a: &Value, b: &Value) -> Ordering {
    let precedence = |schema: &Value| i64_at(schema, &["spec", "matchingPrecedence"]);
    precedence(a)
        .cmp(&precedence(b))
        .then_with(|| name(a).cmp(name(b)))
}

// ---- admission ---------------------------------------------------------------------------------

const WEBHOOK_CONFIGURATIONS: Printer = Printer {
    columns: &[
        NAME_COLUMN,
        Column::new(
            "Webhooks",
            "integer",
            "Webhooks indicates the number of webhooks registered in this configuration",
        ),
        AGE_COLUMN,
    ],
    print: |configuration, context| {
        Row::from(vec![
            Value::from(name(configuration)),
            Value::from(len_at(configuration, &["webhooks"]) as i64),
            Value::from(context.age(configuration)),
        ])
    },
};

const PARAM_KIND_COLUMN: Column = Column::new(
    "ParamKind",
    "string",
    "ParamKind specifies the kind of resources used to parameterize this policy",
);

const VALIDATING_ADMISSION_POLICIES: Printer = Printer {
    columns: &[
        NAME_COLUMN,
        Column::new(
            "Validations",
            "integer",
            "Validations indicates the number of validation rules defined in this configuration",
        ),
        PARAM_KIND_COLUMN,
        AGE_COLUMN,
    ],
    print: |policy, context| print_policy(policy, "validations", context),
};

const MUTATING_ADMISSION_POLICIES: Printer = Printer {
    columns: &[
        NAME_COLUMN,
        Column::new(
            "Mutations",
            "integer",
            "Mutation indicates the number of mutations rules defined in this configuration",
        ),
        PARAM_KIND_COLUMN,
        AGE_COLUMN,
    ],
    print: |policy, context| print_policy(policy, "mutations", context),
};

/// Name, number of `rules_field` rules, `apiVersion/kind` of the parameter kind, age.
fn print_policy(policy: &Value, rules_field: &str, context: &PrintContext) -> Row {
    let param_kind = match get(policy, &["spec", "paramKind"]).filter(|p| p.is_object()) {
        Some(kind) => format!(
            "{}/{}",
            str_at(kind, &["apiVersion"]),
            str_at(kind, &["kind"])
        ),
        None => "<unset>".to_string(),
    };
    Row::from(vec![
        Value::from(name(policy)),
        Value::from(len_at(policy, &["spec", rules_field]) as i64),
        Value::from(param_kind),
        Value::from(context.age(policy)),
    ])
}

const ADMISSION_POLICY_BINDINGS: Printer = Printer {
    columns: &[
        NAME_COLUMN,
        Column::new(
            "PolicyName",
            "string",
            "PolicyName indicates the policy definition which the policy binding binded to",
        ),
        Column::new(
            "ParamRef",
            "string",
            "ParamRef indicates the param resource which sets the configration param",
        ),
        AGE_COLUMN,
    ],
    print: |binding, context| {
        let param = match get(binding, &["spec", "paramRef"]).filter(|p| p.is_object()) {
            Some(reference) => match (
                str_at(reference, &["name"]),
                str_at(reference, &["namespace"]),
            ) {
                ("", _) => match reference.get("selector").filter(|s| !s.is_null()) {
                    // Upstream prints the selector struct's debug form here; the selector string
                    // is what a person can read, so it is shown instead.
                    Some(selector) => format_label_selector(Some(selector)),
                    None => "<unset>".to_string(),
                },
                // Without a namespace the scope is unknown here: shown as any namespace.
                (param_name, "") => format!("*/{param_name}"),
                (param_name, namespace) => format!("{namespace}/{param_name}"),
            },
            None => "<unset>".to_string(),
        };
        Row::from(vec![
            Value::from(name(binding)),
            Value::from(str_at(binding, &["spec", "policyName"])),
            Value::from(param),
            Value::from(context.age(binding)),
        ])
    },
};

// ---- API priority and fairness -----------------------------------------------------------------

const FLOW_SCHEMAS: Printer = Printer {
    columns: &[
        NAME_COLUMN,
        Column::new("PriorityLevel", "string", d::FLOW_SCHEMA_PL_REF_NAME),
        Column::new(
            "MatchingPrecedence",
            "string",
            d::FLOW_SCHEMA_MATCHING_PRECEDENCE,
        ),
        Column::new(
            "DistinguisherMethod",
            "string",
            d::FLOW_SCHEMA_DISTINGUISHER_METHOD,
        ),
        AGE_COLUMN,
        Column::new(
            "MissingPL",
            "string",
            "references a broken or non-existent PriorityLevelConfiguration",
        ),
    ],
    print: |schema, context| {
        let distinguisher =
            match get(schema, &["spec", "distinguisherMethod"]).filter(|m| m.is_object()) {
                Some(method) => str_at(method, &["type"]).to_string(),
                None => "<none>".to_string(),
            };
        let missing = array_at(schema, &["status", "conditions"])
            .iter()
            .find(|c| str_at(c, &["type"]) == "Dangling")
            .map_or("?", |c| str_at(c, &["status"]));
        Row::from(vec![
            Value::from(name(schema)),
            Value::from(str_at(
                schema,
                &["spec", "priorityLevelConfiguration", "name"],
            )),
            Value::from(i64_at(schema, &["spec", "matchingPrecedence"])),
            Value::from(distinguisher),
            Value::from(context.age(schema)),
            Value::from(missing),
        ])
    },
};

const PRIORITY_LEVEL_CONFIGURATIONS: Printer = Printer {
    columns: &[
        NAME_COLUMN,
        Column::new("Type", "string", d::PLC_SPEC_TYPE),
        Column::new(
            "NominalConcurrencyShares",
            "string",
            d::PLC_NOMINAL_CONCURRENCY_SHARES,
        ),
        Column::new("Queues", "string", d::PLC_QUEUES),
        Column::new("HandSize", "string", d::PLC_HAND_SIZE),
        Column::new("QueueLengthLimit", "string", d::PLC_QUEUE_LENGTH_LIMIT),
        AGE_COLUMN,
    ],
    print: |level, context| {
        let none = || Value::from("<none>");
        let (mut shares, mut queues, mut hand_size, mut queue_length) =
            (none(), none(), none(), none());
        if let Some(limited) = get(level, &["spec", "limited"]).filter(|l| l.is_object()) {
            shares = Value::from(i64_at(limited, &["nominalConcurrencyShares"]));
            if let Some(queuing) =
                get(limited, &["limitResponse", "queuing"]).filter(|q| q.is_object())
            {
                queues = Value::from(i64_at(queuing, &["queues"]));
                hand_size = Value::from(i64_at(queuing, &["handSize"]));
                queue_length = Value::from(i64_at(queuing, &["queueLengthLimit"]));
            }
        }
        Row::from(vec![
            Value::from(name(level)),
            Value::from(str_at(level, &["spec", "type"])),
            shares,
            queues,
            hand_size,
            queue_length,
            Value::from(context.age(level)),
        ])
    },
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::table::test_support::{object, table_cells};
    use serde_json::json;

    #[test]
    fn webhook_and_policy_rows() {
        let webhooks = object(
            "ingress-nginx",
            "2024-05-01T11:00:00Z",
            json!({"webhooks": [{"name": "a"}, {"name": "b"}]}),
        );
        assert_eq!(
            table_cells(
                ADMISSION,
                "v1",
                "validatingwebhookconfigurations",
                &webhooks
            ),
            vec![json!("ingress-nginx"), json!(2), json!("60m")]
        );
        let policy = object(
            "limits",
            "2024-05-01T11:00:00Z",
            json!({"spec": {"validations": [{"expression": "true"}], "paramKind": {"apiVersion": "v1", "kind": "ConfigMap"}}}),
        );
        assert_eq!(
            table_cells(ADMISSION, "v1", "validatingadmissionpolicies", &policy),
            vec![
                json!("limits"),
                json!(1),
                json!("v1/ConfigMap"),
                json!("60m")
            ]
        );
        let binding = object(
            "limits-binding",
            "2024-05-01T11:00:00Z",
            json!({"spec": {"policyName": "limits", "paramRef": {"name": "cfg"}}}),
        );
        assert_eq!(
            table_cells(
                ADMISSION,
                "v1",
                "validatingadmissionpolicybindings",
                &binding
            ),
            vec![
                json!("limits-binding"),
                json!("limits"),
                json!("*/cfg"),
                json!("60m")
            ]
        );
    }

    #[test]
    fn flow_control_rows_and_order() {
        let schema = object(
            "exempt",
            "2024-05-01T11:00:00Z",
            json!({"spec": {"priorityLevelConfiguration": {"name": "exempt"}, "matchingPrecedence": 1},
                   "status": {"conditions": [{"type": "Dangling", "status": "False"}]}}),
        );
        assert_eq!(
            table_cells(FLOW_CONTROL, "v1", "flowschemas", &schema),
            vec![
                json!("exempt"),
                json!("exempt"),
                json!(1),
                json!("<none>"),
                json!("60m"),
                json!("False")
            ]
        );
        let level = object(
            "workload-low",
            "2024-05-01T11:00:00Z",
            json!({"spec": {"type": "Limited", "limited": {"nominalConcurrencyShares": 100,
                            "limitResponse": {"type": "Queue", "queuing": {"queues": 128, "handSize": 6, "queueLengthLimit": 50}}}}}),
        );
        assert_eq!(
            table_cells(FLOW_CONTROL, "v1", "prioritylevelconfigurations", &level),
            vec![
                json!("workload-low"),
                json!("Limited"),
                json!(100),
                json!(128),
                json!(6),
                json!(50),
                json!("60m")
            ]
        );
        let order = list_order(FLOW_CONTROL, "flowschemas").map(|f| {
            let a = json!({"metadata": {"name": "b"}, "spec": {"matchingPrecedence": 10}});
            let b = json!({"metadata": {"name": "a"}, "spec": {"matchingPrecedence": 10}});
            f(&a, &b)
        });
        assert_eq!(order, Some(Ordering::Greater));
        assert!(list_order(ADMISSION, "validatingwebhookconfigurations").is_none());
    }
}
