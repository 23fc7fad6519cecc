//! One handler per verb, each the counterpart of an upstream `handlers/*.go` file. They share the
//! [`Scope`] that [`super::routes`] builds from the path.

pub mod admission;
pub mod create;
pub mod delete;
pub mod get;
pub mod list;
pub mod patch;
pub mod update;
pub mod watch;

use std::sync::Arc;

use axum::response::Response;
use http::request::Parts;
use http::{header, StatusCode};
use serde_json::Value;

use super::negotiation::{self, Output};
use super::query::{self, QueryParams};
use crate::api::status::{ApiError, ApiResult};
use crate::catalog::ResourceInfo;
use crate::registry::store::Store;
use crate::registry::table::IncludeObject;

/// What a request addresses, parsed from its path.
#[derive(Clone)]
pub struct Scope {
    pub store: Arc<Store>,
    /// Every served store, for operations that write another resource (a Binding writes its pod).
    pub stores: Arc<crate::registry::stores::ResourceStores>,
    pub info: Arc<ResourceInfo>,
    /// The namespace of the path; `None` for cluster-scoped resources and all-namespace lists.
    pub namespace: Option<String>,
    /// The object name of the path, if any.
    pub name: Option<String>,
    /// `status` for `/status`; no other subresource reaches the handlers.
    pub subresource: Option<String>,
    /// The decoded query string.
    pub query: QueryParams,
    /// The server's authorizers (access reviews, RBAC escalation checks); `None` allows all.
    pub authorization: Option<Arc<crate::request::authorization::Authorization>>,
    /// The RBAC rule resolver of the escalation checks.
    pub rbac: Option<Arc<crate::rbac::RbacAuthorizer>>,
    /// The server's dynamic admission (webhooks, policies); `None` runs none.
    pub admission: Option<Arc<crate::admission::chain::AdmissionChain>>,
}

impl std::fmt::Debug for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scope")
            .field("resource", &self.info.group_resource().to_string())
            .field("namespace", &self.namespace)
            .field("name", &self.name)
            .field("subresource", &self.subresource)
            .finish()
    }
}

impl Scope {
    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }

    /// The RBAC escalation check of a write of `object` replacing `old` (upstream's policy-based
    /// RBAC storage): runs for the four RBAC kinds when authorization and RBAC are wired.
    pub fn check_rbac_write(
        &self,
        parts: &Parts,
        object: &Value,
        old: Option<&Value>,
    ) -> ApiResult<()> {
        use crate::rbac::escalation::{check_rbac_write, is_rbac_resource, RbacWrite};
        let (Some(authorization), Some(rbac)) = (&self.authorization, &self.rbac) else {
            return Ok(());
        };
        if !is_rbac_resource(&self.info) {
            return Ok(());
        }
        let anonymous = crate::request::user::UserInfo::default();
        let user = parts
            .extensions
            .get::<crate::request::user::UserInfo>()
            .unwrap_or(&anonymous);
        let write = RbacWrite {
            user,
            info: &self.info,
            namespace: self.namespace(),
            url_name: self.name.as_deref(),
            object,
            old,
        };
        check_rbac_write(authorization, rbac, &write)
    }

    /// The object name; routes only send named verbs here with one.
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or_default()
    }

    /// Whether the response should be indented.
    pub fn pretty(&self, parts: &Parts) -> bool {
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok());
        query::wants_pretty(&self.query, user_agent)
    }

    /// The negotiated form of a non-streaming response.
    pub fn output(&self, parts: &Parts) -> ApiResult<Output> {
        negotiation::negotiate_with(
            accept(parts),
            false,
            self.pretty(parts),
            self.serves_tables(),
            self.serves_protobuf(),
        )
    }

    /// Whether the addressed endpoint can answer protobuf: its kind is built in and has a
    /// protobuf message (custom resources have none, as upstream's unstructured serializer).
    pub fn serves_protobuf(&self) -> bool {
        !self.info.is_custom()
            && crate::catalog::protobuf::has_message(
                self.info.group.as_str(),
                self.info.version.as_str(),
                self.info.kind.as_str(),
            )
    }

    /// Whether the addressed endpoint can answer a Table, as upstream's installer gives a Table
    /// convertor: to every resource that lists (its own printer or the default one) and to its
    /// `status`; not to create-only resources (access and token reviews, `bindings`) nor to
    /// subresources with their own create (`pods/binding`, `serviceaccounts/token`).
    pub fn serves_tables(&self) -> bool {
        match self.subresource.as_deref() {
            None => self.info.verbs.contains(&"list"),
            Some(subresource) => subresource == "status",
        }
    }

    /// The Table `includeObject`, validated only when a Table was asked for (as upstream).
    pub fn include_object(&self, output: &Output) -> ApiResult<IncludeObject> {
        match output.transform {
            negotiation::Transform::Table { .. } => {
                negotiation::table_include(self.query.get("includeObject"))
            }
            _ => Ok(IncludeObject::default()),
        }
    }
}

/// The `Accept` header, if readable.
pub fn accept(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
}

/// The `Content-Type` header, if readable.
pub fn content_type(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
}

/// The JSON error form used before negotiation succeeded.
pub fn fallback_output(parts: &Parts, scope: &Scope) -> Output {
    Output {
        pretty: scope.pretty(parts),
        ..Output::default()
    }
}

/// Answers one object (or Status) in the negotiated form.
pub fn respond_object(
    scope: &Scope,
    output: &Output,
    status: StatusCode,
    object: Value,
    warnings: &[String],
) -> Response {
    let include = match scope.include_object(output) {
        Ok(include) => include,
        Err(err) => return negotiation::respond_error(output, err, warnings),
    };
    let is_status = object.get("kind").and_then(Value::as_str) == Some("Status")
        && object.get("apiVersion").and_then(Value::as_str) == Some("v1");
    let body = if is_status {
        // Upstream never transforms a Status (doTransformObject passes it through).
        Ok(object)
    } else {
        negotiation::render_object(&scope.info, scope.store.table(), output, include, object)
    };
    match body {
        Ok(body) => negotiation::respond(output, status, &body, warnings),
        Err(err) => negotiation::respond_error(output, err, warnings),
    }
}

/// Checks the name (and namespace) of a written object against the URL, as upstream's
/// `checkName`: 400 `the name of the object (a) does not match the name on the URL (b)`.
pub fn check_name(object: &Value, name: &str, namespace: Option<&str>) -> ApiResult<()> {
    let metadata = object.get("metadata");
    let object_name = metadata
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    if object_name != name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({object_name}) does not match the name on the URL ({name})"
        )));
    }
    if let Some(namespace) = namespace.filter(|ns| !ns.is_empty()) {
        let object_namespace = metadata
            .and_then(|m| m.get("namespace"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !object_namespace.is_empty() && object_namespace != namespace {
            return Err(ApiError::bad_request(format!(
                "the namespace of the object ({object_namespace}) does not match the namespace on the request ({namespace})"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn check_name_rules() {
        let obj = json!({"metadata": {"name": "a", "namespace": "ns"}});
        assert!(check_name(&obj, "a", Some("ns")).is_ok());
        assert!(check_name(&obj, "a", None).is_ok());
        assert_eq!(
            check_name(&obj, "b", Some("ns"))
                .unwrap_err()
                .status
                .message,
            "the name of the object (a) does not match the name on the URL (b)"
        );
        assert_eq!(
            check_name(&obj, "a", Some("other"))
                .unwrap_err()
                .status
                .message,
            "the namespace of the object (ns) does not match the namespace on the request (other)"
        );
        assert!(check_name(&json!({"metadata": {"name": "a"}}), "a", Some("ns")).is_ok());
        assert_eq!(
            check_name(&json!({}), "a", None)
                .unwrap_err()
                .status
                .message,
            "the name of the object () does not match the name on the URL (a)"
        );
    }
}
