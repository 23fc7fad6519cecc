//! Whether a webhook is called for a request (upstream's `generic.Webhook.ShouldCallHook` and
//! the `predicates/{rules,namespace,object}` and `matchconditions` packages): its namespace and
//! object selectors, its rules (in the request's version, or with `matchPolicy: Equivalent` in
//! another version of the resource the object is then converted to), then its match conditions.

use std::sync::Arc;

use serde_json::Value;

use super::{Rule, Webhook};
use crate::admission::attributes::{Attributes, GroupVersionKind, GroupVersionResource};
use crate::admission::chain::Services;
use crate::api::status::{ApiError, ApiResult, GroupResource};
use crate::apiextensions::cel::expression::Bindings;
use crate::registry::admission::AdmissionOperation;
use crate::registry::store::Store;

/// The kinds of `admissionregistration.k8s.io` never sent to webhooks (upstream's
/// `IsExemptAdmissionConfigurationResource`).
const EXEMPT_KINDS: &[&str] = &[
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "MutatingAdmissionPolicy",
    "MutatingAdmissionPolicyBinding",
];

/// Whether the request is about a webhook or policy configuration, which no webhook sees.
pub(crate) fn is_exempt(attributes: &Attributes) -> bool {
    attributes.kind.group == "admissionregistration.k8s.io"
        && EXEMPT_KINDS.contains(&attributes.kind.kind.as_str())
}

/// How a matched webhook is called: the resource and kind its AdmissionReview names, and the
/// stores to convert the object between when that is another version than the request's.
#[derive(Clone)]
pub(crate) struct Invocation {
    pub resource: GroupVersionResource,
    pub kind: GroupVersionKind,
    /// (request's version, webhook's version), for a main resource matched in another version.
    pub conversion: Option<(Arc<Store>, Arc<Store>)>,
}

impl std::fmt::Debug for Invocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Invocation")
            .field("resource", &self.resource)
            .field("kind", &self.kind)
            .field("converted", &self.conversion.is_some())
            .finish()
    }
}

fn exact_or_wildcard(items: &[String], requested: &str) -> bool {
    items.iter().any(|item| item == "*" || item == requested)
}

fn is_namespace_resource(resource: &GroupVersionResource) -> bool {
    resource.group.is_empty() && resource.version == "v1" && resource.resource == "namespaces"
}

/// Whether `rule` applies to `operation` on `resource`/`subresource` in `namespace` (empty for
/// cluster-scoped objects), as upstream's `rules.Matcher`.
pub(crate) fn rule_matches(
    rule: &Rule,
    operation: AdmissionOperation,
    resource: &GroupVersionResource,
    subresource: &str,
    namespace: &str,
) -> bool {
    let scope = match rule.scope.as_str() {
        "" | "*" => true,
        "Namespaced" => !is_namespace_resource(resource) && !namespace.is_empty(),
        "Cluster" => is_namespace_resource(resource) || namespace.is_empty(),
        _ => false,
    };
    let operation = exact_or_wildcard(&rule.operations, operation.as_str());
    let group = exact_or_wildcard(&rule.api_groups, &resource.group);
    let version = exact_or_wildcard(&rule.api_versions, &resource.version);
    let resources = rule.resources.iter().any(|item| {
        let (res, sub) = item.split_once('/').unwrap_or((item, ""));
        (res == "*" || res == resource.resource) && (sub == "*" || sub == subresource)
    });
    scope && operation && group && version && resources
}

fn labels(obj: Option<&Value>) -> Option<&serde_json::Map<String, Value>> {
    obj?.pointer("/metadata/labels")?.as_object()
}

/// Whether the webhook's `namespaceSelector` selects the request: cluster-scoped objects other
/// than Namespaces always match; a Namespace matches on its own labels (the new object's on
/// create and update, the stored one's otherwise); other objects on their namespace's labels.
/// A missing namespace is its 404.
pub(crate) async fn namespace_matches(
    hook: &Webhook,
    services: &Services,
    attributes: &Attributes,
    obj: Option<&Value>,
    old: Option<&Value>,
) -> ApiResult<bool> {
    let is_namespace = attributes.resource.group.is_empty()
        && attributes.resource.resource == "namespaces"
        && attributes.subresource.is_empty();
    if attributes.namespace.is_empty() && attributes.resource.resource != "namespaces" {
        return Ok(true);
    }
    let selector = hook
        .namespace_selector
        .as_ref()
        .map_err(ApiError::internal)?;
    if selector.is_empty() {
        return Ok(true);
    }
    let own = matches!(
        attributes.operation,
        AdmissionOperation::Create | AdmissionOperation::Update
    );
    if is_namespace && own {
        return Ok(selector.matches_labels(labels(obj)));
    }
    if is_namespace {
        if let Some(old) = old {
            return Ok(selector.matches_labels(labels(Some(old))));
        }
    }
    let name = if attributes.namespace.is_empty() {
        &attributes.name
    } else {
        &attributes.namespace
    };
    let namespace = services.namespaces.get(None, name).await?;
    Ok(selector.matches_labels(labels(Some(&namespace))))
}

/// Whether the webhook's `objectSelector` selects the new or the old object.
pub(crate) fn object_matches(
    hook: &Webhook,
    obj: Option<&Value>,
    old: Option<&Value>,
) -> ApiResult<bool> {
    let selector = hook.object_selector.as_ref().map_err(ApiError::internal)?;
    if selector.is_empty() {
        return Ok(true);
    }
    let matches = |o: Option<&Value>| o.is_some() && selector.matches_labels(labels(o));
    Ok(matches(obj) || matches(old))
}

/// Whether `hook` is called for the request and how, before its match conditions: selectors
/// first, then the rules in the request's version, then (Equivalent) in the other versions
/// `services.stores` serves the resource in. Selector errors only count for a webhook whose
/// rules match.
pub(crate) async fn invocation(
    hook: &Webhook,
    services: &Services,
    attributes: &Attributes,
    obj: Option<&Value>,
    old: Option<&Value>,
) -> ApiResult<Option<Invocation>> {
    let namespace = namespace_matches(hook, services, attributes, obj, old).await;
    if matches!(namespace, Ok(false)) {
        return Ok(None);
    }
    let object = object_matches(hook, obj, old);
    if matches!(object, Ok(false)) {
        return Ok(None);
    }
    let Some(invocation) = rules_invocation(hook, services, attributes)? else {
        return Ok(None);
    };
    namespace?;
    object?;
    Ok(Some(invocation))
}

/// The invocation the rules select, if any.
fn rules_invocation(
    hook: &Webhook,
    services: &Services,
    attributes: &Attributes,
) -> ApiResult<Option<Invocation>> {
    let matches = |resource: &GroupVersionResource, rule: &Rule| {
        rule_matches(
            rule,
            attributes.operation,
            resource,
            &attributes.subresource,
            &attributes.namespace,
        )
    };
    if hook
        .rules
        .iter()
        .any(|rule| matches(&attributes.resource, rule))
    {
        return Ok(Some(Invocation {
            resource: attributes.resource.clone(),
            kind: attributes.kind.clone(),
            conversion: None,
        }));
    }
    if !hook.equivalent {
        return Ok(None);
    }
    let requested = &attributes.resource;
    let versions = services
        .stores
        .versions(&requested.group, &requested.resource);
    for rule in &hook.rules {
        for version in versions.iter().filter(|v| **v != requested.version) {
            let equivalent = GroupVersionResource {
                group: requested.group.clone(),
                version: version.clone(),
                resource: requested.resource.clone(),
            };
            if !matches(&equivalent, rule) {
                continue;
            }
            let unknown = || {
                ApiError::internal(format!(
                    "unable to convert to {}/{}, Resource={}: unknown kind",
                    equivalent.group, equivalent.version, equivalent.resource
                ))
            };
            let to = services
                .stores
                .by_resource(&equivalent.group, version, &equivalent.resource)
                .ok_or_else(unknown)?;
            if !attributes.subresource.is_empty() {
                // A subresource's object keeps the kind the request admits it as.
                return Ok(Some(Invocation {
                    resource: equivalent,
                    kind: attributes.kind.clone(),
                    conversion: None,
                }));
            }
            let from = services
                .stores
                .by_resource(&requested.group, &requested.version, &requested.resource)
                .ok_or_else(unknown)?;
            let kind = GroupVersionKind {
                group: equivalent.group.clone(),
                version: version.clone(),
                kind: to.info().kind.to_string(),
            };
            return Ok(Some(Invocation {
                resource: equivalent,
                kind,
                conversion: Some((from, to)),
            }));
        }
    }
    Ok(None)
}

/// Whether the webhook's `matchConditions` all hold for `object`, `oldObject` and `request` (the
/// AdmissionRequest). `authorizer` is bound to null: Apiary has no CEL authorizer library, so a
/// condition using it fails to evaluate. A false condition skips the webhook; otherwise an
/// evaluation error skips it under `failurePolicy: Ignore` and refuses the request with 403
/// (upstream's `NewForbidden`) under `Fail`.
pub(crate) fn conditions_match(
    hook: &Webhook,
    attributes: &Attributes,
    object: Option<&Value>,
    old: Option<&Value>,
    request: &Value,
) -> ApiResult<bool> {
    if hook.match_conditions.is_empty() {
        return Ok(true);
    }
    let mut bindings = Bindings::default();
    bindings
        .json("object", object)
        .json("oldObject", old)
        .json("request", Some(request))
        .json("authorizer", None);
    let mut errors = Vec::new();
    for condition in &hook.match_conditions {
        let evaluated = condition
            .expression
            .as_ref()
            .map_err(Clone::clone)
            .and_then(|expression| expression.evaluate(&bindings));
        match evaluated {
            Ok(value) if value.as_bool() == Some(false) => {
                tracing::debug!(webhook = %hook.name, condition = %condition.name, "match condition false, webhook skipped");
                return Ok(false);
            }
            Ok(_) => {}
            Err(why) => errors.push(format!(
                "expression '{}' resulted in error: {why}",
                condition.source
            )),
        }
    }
    if errors.is_empty() || hook.fail_open {
        return Ok(errors.is_empty());
    }
    let why = if errors.len() == 1 {
        errors.remove(0)
    } else {
        format!("[{}]", errors.join(", "))
    };
    tracing::warn!(webhook = %hook.name, %why, "Failed evaluating match conditions, failing closed");
    let resource = GroupResource::new(
        attributes.resource.group.clone(),
        attributes.resource.resource.clone(),
    );
    Err(ApiError::forbidden(&resource, &attributes.name, &why))
}
