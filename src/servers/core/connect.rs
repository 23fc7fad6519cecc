//! The pods' connect subresources (`log`, `exec`, `attach`, `portforward`), as upstream's
//! `LogREST`, `ExecREST`, `AttachREST` and `PortForwardREST` (`pkg/registry/core/pod/rest`)
//! locate the pod's kubelet (`pkg/registry/core/pod/strategy.go` `LogLocation`,
//! `streamLocation`, `PortForwardLocation`):
//! * a log's options as upstream's `ValidatePodLogOptions` (422 `PodLogOptions "<p>" is invalid`
//!   for a negative `tailLines`, a `limitBytes` or `sinceSeconds` below 1);
//! * the pod must exist (404) and a named container must be one of its containers, or the pod
//!   must have exactly one (400 `container <c> is not valid for pod <p>`, `a container name must
//!   be specified for pod <p>, choose one of: [...]`; not for port forwarding);
//! * a pod with no `spec.nodeName`: the log is empty (upstream's nil location streams nothing:
//!   204), the streams are a 400 `pod <p> does not have a host assigned`;
//! * otherwise the node must exist (404 `nodes "<n>" not found`) and have an address of
//!   upstream's preferred types (else a 500 `no preferred addresses found; known addresses:
//!   [...]`).
//!
//! Apiary has no kubelet client: a pod on a node with an address is answered as a subresource
//! this server does not serve.

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::Value;

use super::handlers::Scope;
use super::negotiation::{self, Output};
use super::routes::subresource_not_served;
use crate::api::status::{ApiError, ApiResult, StatusCause};
use crate::registry::strategy::ConnectRest;

/// The kubelet's preferred address types (kube-apiserver's default
/// `--kubelet-preferred-address-types`).
const PREFERRED_ADDRESS_TYPES: &[&str] = &[
    "Hostname",
    "InternalDNS",
    "InternalIP",
    "ExternalDNS",
    "ExternalIP",
];

fn containers(pod: &Value, field: &str) -> Vec<String> {
    pod.pointer(&format!("/spec/{field}"))
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|c| c.get("name").and_then(Value::as_str))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Upstream's `validateContainer`.
fn validate_container(pod: &Value, name: &str, container: Option<&str>) -> ApiResult<()> {
    let all: Vec<String> = ["initContainers", "containers", "ephemeralContainers"]
        .iter()
        .flat_map(|field| containers(pod, field))
        .collect();
    match container.filter(|c| !c.is_empty()) {
        Some(container) if all.iter().any(|c| c == container) => Ok(()),
        Some(container) => Err(ApiError::bad_request(format!(
            "container {container} is not valid for pod {name}"
        ))),
        None => match containers(pod, "containers").len() {
            1 => Ok(()),
            0 => Err(ApiError::bad_request(format!(
                "a container name must be specified for pod {name}"
            ))),
            _ => {
                // Upstream lists init, regular and ephemeral containers (`VisitContainers`).
                let listed = all.join(" ");
                Err(ApiError::bad_request(format!(
                    "a container name must be specified for pod {name}, choose one of: [{listed}]"
                )))
            }
        },
    }
}

/// Upstream's `GetPreferredNodeAddress` failure text, with Go's `%v` of the addresses.
fn no_preferred_address(node: &Value) -> Option<ApiError> {
    let addresses: Vec<&Value> = node
        .pointer("/status/addresses")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let has = PREFERRED_ADDRESS_TYPES.iter().any(|t| {
        addresses
            .iter()
            .any(|a| a["type"] == *t && a["address"].as_str().is_some_and(|s| !s.is_empty()))
    });
    if has {
        return None;
    }
    let shown: Vec<String> = addresses
        .iter()
        .map(|a| {
            format!(
                "{{{} {}}}",
                a["type"].as_str().unwrap_or(""),
                a["address"].as_str().unwrap_or("")
            )
        })
        .collect();
    Some(ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "",
        format!(
            "no preferred addresses found; known addresses: [{}]",
            shown.join(" ")
        ),
        None,
    ))
}

/// Upstream's `ValidatePodLogOptions` of the integer options; a value that is no integer is a
/// 400 with Go's `strconv.ParseInt` error, as upstream's parameter decoding.
fn validate_log_options(scope: &Scope, name: &str) -> ApiResult<()> {
    let rules: [(&str, i64, &str); 3] = [
        ("tailLines", 0, "must be greater than or equal to 0"),
        ("limitBytes", 1, "must be greater than 0"),
        ("sinceSeconds", 1, "must be greater than 0"),
    ];
    let mut causes = Vec::new();
    for (field, minimum, detail) in rules {
        let Some(raw) = scope.query.get(field) else {
            continue;
        };
        let value: i64 = raw.parse().map_err(|_| {
            ApiError::bad_request(format!(
                "strconv.ParseInt: parsing \"{raw}\": invalid syntax"
            ))
        })?;
        if value < minimum {
            causes.push(StatusCause {
                reason: "FieldValueInvalid".into(),
                message: format!("Invalid value: {value}: {detail}"),
                field: field.into(),
            });
        }
    }
    if causes.is_empty() {
        return Ok(());
    }
    Err(ApiError::invalid("", "PodLogOptions", name, causes))
}

/// Answers a connect request `rest` on the pod `scope` names.
pub async fn serve(scope: Scope, rest: ConnectRest) -> Response {
    match locate(&scope, rest).await {
        Ok(None) => StatusCode::NO_CONTENT.into_response(),
        Ok(Some(())) => {
            let sub = scope.subresource.as_deref().unwrap_or_default();
            negotiation::respond_error(
                &Output::default(),
                subresource_not_served(&scope.info, sub),
                &[],
            )
        }
        Err(err) => negotiation::respond_error(&Output::default(), err, &[]),
    }
}

/// `Ok(None)`: nothing to stream (a log of a pod without host); `Ok(Some(()))`: the pod's
/// kubelet would be asked.
async fn locate(scope: &Scope, rest: ConnectRest) -> ApiResult<Option<()>> {
    let name = scope.name();
    if rest == ConnectRest::PodLog {
        validate_log_options(scope, name)?;
    }
    let pod = scope.store.get(scope.namespace(), name).await?;
    if rest != ConnectRest::PodPortForward {
        validate_container(&pod, name, scope.query.get("container"))?;
    }
    let node = pod
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .unwrap_or("");
    if node.is_empty() {
        return match rest {
            ConnectRest::PodLog => Ok(None),
            ConnectRest::PodStream | ConnectRest::PodPortForward => Err(ApiError::bad_request(
                format!("pod {name} does not have a host assigned"),
            )),
        };
    }
    let nodes = scope
        .stores
        .get("", "v1", "nodes")
        .ok_or_else(|| ApiError::internal("nodes are not served"))?;
    let node = nodes.get(None, node).await?;
    if let Some(err) = no_preferred_address(&node) {
        return Err(err);
    }
    Ok(Some(()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pod(containers: &[&str], init: &[&str]) -> Value {
        let list =
            |names: &[&str]| -> Vec<Value> { names.iter().map(|n| json!({"name": n})).collect() };
        json!({"spec": {"containers": list(containers), "initContainers": list(init)}})
    }

    fn message(result: ApiResult<()>) -> String {
        let err = result.unwrap_err();
        assert_eq!(err.status.code, 400);
        err.status.message
    }

    #[test]
    fn a_single_container_needs_no_name() {
        assert!(validate_container(&pod(&["c"], &[]), "p", None).is_ok());
        assert!(validate_container(&pod(&["c"], &["i"]), "p", Some("i")).is_ok());
        assert_eq!(
            message(validate_container(&pod(&["c"], &[]), "p", Some("x"))),
            "container x is not valid for pod p"
        );
    }

    #[test]
    fn several_containers_need_a_name_and_are_listed() {
        assert_eq!(
            message(validate_container(&pod(&["a", "b"], &["i"]), "p", None)),
            "a container name must be specified for pod p, choose one of: [i a b]"
        );
        assert_eq!(
            message(validate_container(&pod(&[], &[]), "p", Some(""))),
            "a container name must be specified for pod p"
        );
    }

    #[test]
    fn a_node_needs_a_preferred_address() {
        let node = json!({"status": {"addresses": [{"type": "Other", "address": "x"}]}});
        let err = no_preferred_address(&node).unwrap();
        assert_eq!(err.status.code, 500);
        assert_eq!(
            err.status.message,
            "no preferred addresses found; known addresses: [{Other x}]"
        );
        let node =
            json!({"status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.1"}]}});
        assert!(no_preferred_address(&node).is_none());
    }
}
