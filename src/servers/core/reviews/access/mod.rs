//! `authorization.k8s.io/v1` reviews, as upstream's `pkg/registry/authorization/*` REST storages
//! and `pkg/apis/authorization/validation`.
//!
//! * `SelfSubjectAccessReview`: may the caller do `spec.resourceAttributes` /
//!   `spec.nonResourceAttributes`?
//! * `SubjectAccessReview`: may `spec.user` / `spec.groups` (with `uid`, `extra`) do it?
//! * `LocalSubjectAccessReview`: the same, confined to the request's namespace.
//! * `SelfSubjectRulesReview`: what may the caller do in `spec.namespace`?
//!
//! Validation failures are upstream's 422 ` .authorization.k8s.io "" is invalid: ...` (upstream
//! names no kind there: the decoded object has lost it).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::api::go_fmt::go_quote;
use crate::api::status::{ApiError, ApiResult, StatusCause};
use crate::request::authorization::{AlwaysAllow, Attributes, Authorization, Decision};
use crate::request::user::UserInfo;

const GROUP: &str = "authorization.k8s.io";

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct ResourceAttributes {
    namespace: String,
    verb: String,
    group: String,
    version: String,
    resource: String,
    subresource: String,
    name: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct NonResourceAttributes {
    path: String,
    verb: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct AccessSpec {
    resource_attributes: Option<ResourceAttributes>,
    non_resource_attributes: Option<NonResourceAttributes>,
    user: String,
    groups: Option<Vec<String>>,
    uid: String,
    extra: Option<BTreeMap<String, Vec<String>>>,
}

fn invalid(field: &str, rendered_value: &str, detail: &str) -> StatusCause {
    StatusCause {
        reason: "FieldValueInvalid".into(),
        message: format!("Invalid value: {rendered_value}: {detail}"),
        field: field.into(),
    }
}

/// Go's `%#v` of the internal `NonResourceAttributes`.
fn render_non_resource(attrs: &NonResourceAttributes) -> String {
    format!(
        "authorization.NonResourceAttributes{{Path:{}, Verb:{}}}",
        go_quote(&attrs.path),
        go_quote(&attrs.verb)
    )
}

/// The checks every access review spec gets (upstream's `Validate*SubjectAccessReviewSpec`).
fn validate_attributes(spec: &AccessSpec, causes: &mut Vec<StatusCause>) {
    match (&spec.resource_attributes, &spec.non_resource_attributes) {
        (Some(_), Some(non_resource)) => causes.push(invalid(
            "spec.nonResourceAttributes",
            &render_non_resource(non_resource),
            "cannot be specified in combination with resourceAttributes",
        )),
        (None, None) => causes.push(invalid(
            "spec.resourceAttributes",
            "null",
            "exactly one of nonResourceAttributes or resourceAttributes must be specified",
        )),
        _ => {}
    }
}

/// `metadata` must be empty (but for `allowed`, and `managedFields` always): 422 otherwise.
fn validate_metadata(object: &Value, allowed: &str, detail: &str, causes: &mut Vec<StatusCause>) {
    let Some(metadata) = object.get("metadata").and_then(Value::as_object) else {
        return;
    };
    let set: Map<String, Value> = metadata
        .iter()
        .filter(|(k, v)| {
            k.as_str() != "managedFields"
                && k.as_str() != allowed
                && !v.is_null()
                && v.as_str() != Some("")
                && !v.as_array().is_some_and(Vec::is_empty)
                && !v.as_object().is_some_and(Map::is_empty)
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !set.is_empty() {
        causes.push(invalid(
            "metadata",
            &Value::Object(metadata.clone()).to_string(),
            detail,
        ));
    }
}

fn attributes_of(user: UserInfo, spec: &AccessSpec) -> Attributes {
    if let Some(r) = &spec.resource_attributes {
        return Attributes {
            user,
            verb: r.verb.clone(),
            is_resource_request: true,
            api_group: r.group.clone(),
            api_version: if r.version.is_empty() {
                "*".into()
            } else {
                r.version.clone()
            },
            namespace: r.namespace.clone(),
            resource: r.resource.clone(),
            subresource: r.subresource.clone(),
            name: r.name.clone(),
            ..Default::default()
        };
    }
    let n = spec.non_resource_attributes.as_ref();
    Attributes {
        user,
        verb: n.map(|n| n.verb.clone()).unwrap_or_default(),
        path: n.map(|n| n.path.clone()).unwrap_or_default(),
        ..Default::default()
    }
}

fn decision_status(authorization: &Authorization, attrs: &Attributes) -> Value {
    let answer = authorization.authorize(attrs);
    let mut status = json!({"allowed": answer.decision == Decision::Allow});
    if answer.decision == Decision::Deny {
        status["denied"] = json!(true);
    }
    if !answer.reason.is_empty() {
        status["reason"] = json!(answer.reason);
    }
    status
}

fn with_status(mut object: Value, status: Value) -> Value {
    if let Some(map) = object.as_object_mut() {
        let metadata = map.entry("metadata").or_insert_with(|| json!({}));
        if let Some(metadata) = metadata.as_object_mut() {
            metadata.insert("creationTimestamp".into(), Value::Null);
        }
        map.insert("status".into(), status);
    }
    object
}

fn no_user() -> ApiError {
    ApiError::bad_request("no user present on request")
}

/// Answers a create of `kind` of `authorization.k8s.io`; `None` for kinds that are not reviews.
pub(super) fn review(
    kind: &str,
    object: Value,
    user: Option<&UserInfo>,
    namespace: Option<&str>,
    authorization: Option<&Authorization>,
) -> Option<ApiResult<Value>> {
    let always_allow;
    let authorization = match authorization {
        Some(authorization) => authorization,
        None => {
            always_allow = Authorization::new(vec![Arc::new(AlwaysAllow)]);
            &always_allow
        }
    };
    let answer = match kind {
        "SelfSubjectAccessReview" => self_subject_access(object, user, authorization),
        "SubjectAccessReview" => subject_access(object, authorization),
        "LocalSubjectAccessReview" => local_subject_access(object, namespace, authorization),
        "SelfSubjectRulesReview" => self_subject_rules(object, user, authorization),
        _ => return None,
    };
    Some(answer)
}

fn spec_of(object: &Value) -> ApiResult<AccessSpec> {
    match object.get("spec") {
        None | Some(Value::Null) => Ok(AccessSpec::default()),
        Some(spec) => AccessSpec::deserialize(spec)
            .map_err(|err| ApiError::bad_request(format!("invalid spec: {err}"))),
    }
}

fn fail_if_invalid(causes: Vec<StatusCause>) -> ApiResult<()> {
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(GROUP, "", "", causes))
    }
}

fn self_subject_access(
    object: Value,
    user: Option<&UserInfo>,
    authorization: &Authorization,
) -> ApiResult<Value> {
    let spec = spec_of(&object)?;
    let mut causes = Vec::new();
    validate_attributes(&spec, &mut causes);
    validate_metadata(&object, "", "must be empty", &mut causes);
    fail_if_invalid(causes)?;
    let user = user.ok_or_else(no_user)?;
    let status = decision_status(authorization, &attributes_of(user.clone(), &spec));
    Ok(with_status(object, status))
}

fn subject_of(spec: &AccessSpec) -> UserInfo {
    UserInfo {
        name: spec.user.clone(),
        uid: spec.uid.clone(),
        groups: spec.groups.clone().unwrap_or_default(),
        extra: spec.extra.clone().unwrap_or_default(),
    }
}

fn validate_subject(spec: &AccessSpec, causes: &mut Vec<StatusCause>) {
    validate_attributes(spec, causes);
    if spec.user.is_empty() && spec.groups.as_ref().is_none_or(Vec::is_empty) {
        causes.push(invalid(
            "spec.user",
            "\"\"",
            "at least one of user or group must be specified",
        ));
    }
}

fn subject_access(object: Value, authorization: &Authorization) -> ApiResult<Value> {
    let spec = spec_of(&object)?;
    let mut causes = Vec::new();
    validate_subject(&spec, &mut causes);
    validate_metadata(&object, "", "must be empty", &mut causes);
    fail_if_invalid(causes)?;
    let status = decision_status(authorization, &attributes_of(subject_of(&spec), &spec));
    Ok(with_status(object, status))
}

fn local_subject_access(
    mut object: Value,
    namespace: Option<&str>,
    authorization: &Authorization,
) -> ApiResult<Value> {
    let namespace = namespace.unwrap_or_default();
    // The create handler's namespace rule: an object namespace is filled in from the path, and
    // must not differ from it.
    let object_namespace = object
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if object_namespace.is_empty() {
        if let Some(map) = object.as_object_mut() {
            let metadata = map.entry("metadata").or_insert_with(|| json!({}));
            if let Some(metadata) = metadata.as_object_mut() {
                metadata.insert("namespace".into(), json!(namespace));
            }
        }
    } else if object_namespace != namespace {
        return Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    let spec = spec_of(&object)?;
    let mut causes = Vec::new();
    validate_subject(&spec, &mut causes);
    validate_metadata(
        &object,
        "namespace",
        "must be empty except for namespace",
        &mut causes,
    );
    if let Some(resource) = &spec.resource_attributes {
        if resource.namespace != namespace {
            causes.push(invalid(
                "spec.resourceAttributes.namespace",
                &go_quote(&resource.namespace),
                "must match metadata.namespace",
            ));
        }
    }
    if let Some(non_resource) = &spec.non_resource_attributes {
        causes.push(invalid(
            "spec.nonResourceAttributes",
            &render_non_resource(non_resource),
            "disallowed on this kind of request",
        ));
    }
    fail_if_invalid(causes)?;
    if namespace.is_empty() {
        return Err(ApiError::bad_request(format!(
            "namespace is required on this type: {namespace}"
        )));
    }
    let status = decision_status(authorization, &attributes_of(subject_of(&spec), &spec));
    Ok(with_status(object, status))
}

fn self_subject_rules(
    object: Value,
    user: Option<&UserInfo>,
    authorization: &Authorization,
) -> ApiResult<Value> {
    let user = user.ok_or_else(no_user)?;
    let namespace = object
        .pointer("/spec/namespace")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if namespace.is_empty() {
        return Err(ApiError::bad_request("no namespace on request"));
    }
    let rules = authorization.rules_for(user, namespace);
    let mut status = json!({
        "resourceRules": rules.resource_rules,
        "nonResourceRules": rules.non_resource_rules,
        "incomplete": rules.incomplete,
    });
    if !rules.evaluation_error.is_empty() {
        status["evaluationError"] = json!(rules.evaluation_error);
    }
    // Upstream answers a fresh object: no spec, no metadata beyond the creation timestamp.
    let mut answer = json!({"spec": {}});
    if let Some(map) = answer.as_object_mut() {
        for field in ["apiVersion", "kind"] {
            if let Some(value) = object.get(field) {
                map.insert(field.into(), value.clone());
            }
        }
    }
    Ok(with_status(answer, status))
}

#[cfg(test)]
mod tests;
