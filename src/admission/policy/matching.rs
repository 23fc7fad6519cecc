//! Whether a policy's `matchConstraints` or a binding's `matchResources` select a request
//! (upstream's `policy/matching/matching.go`, with the webhook rule, namespace and object
//! matchers it shares).

use serde_json::{Map, Value};

use super::compile::{MatchResources, Rule};
use crate::admission::attributes::{Attributes, GroupVersionKind, GroupVersionResource};
use crate::admission::chain::Services;
use crate::api::status::{ApiError, ApiResult};
use crate::registry::admission::AdmissionOperation;
use crate::registry::metadata::meta_str;

/// What a request is, for matching: its attributes and objects, and the namespace lookups made
/// so far (each request looks its namespace up at most once).
pub(super) struct Request<'a> {
    pub services: &'a Services,
    pub attributes: &'a Attributes,
    pub obj: Option<&'a Value>,
    pub old: Option<&'a Value>,
    namespace: Option<ApiResult<Value>>,
}

/// The resource and kind a rule matched: the request's, or an equivalent version's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Matched {
    pub resource: GroupVersionResource,
    pub kind: GroupVersionKind,
}

impl<'a> Request<'a> {
    pub fn new(
        services: &'a Services,
        attributes: &'a Attributes,
        obj: Option<&'a Value>,
        old: Option<&'a Value>,
    ) -> Self {
        Self {
            services,
            attributes,
            obj,
            old,
            namespace: None,
        }
    }

    /// Whether the request is about a Namespace object itself.
    pub fn is_namespace(&self) -> bool {
        let resource = &self.attributes.resource;
        resource.group.is_empty() && resource.resource == "namespaces"
    }

    /// The namespace the request is in (a Namespace's own name for Namespace requests).
    fn namespace_name(&self) -> &str {
        if self.is_namespace() {
            &self.attributes.name
        } else {
            &self.attributes.namespace
        }
    }

    /// The stored namespace `name` (cached).
    pub async fn namespace(&mut self, name: &str) -> ApiResult<Value> {
        if self.namespace.is_none() {
            let found = self.services.namespaces.get(None, name).await;
            self.namespace = Some(found);
        }
        self.namespace.clone().expect("set above")
    }

    /// The labels a `namespaceSelector` is matched against; `None` when the request is about a
    /// cluster-scoped object other than a Namespace (which every selector matches).
    async fn namespace_labels(&mut self) -> ApiResult<Option<Map<String, Value>>> {
        let labels = |obj: &Value| {
            obj.pointer("/metadata/labels")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default()
        };
        let name = self.namespace_name().to_string();
        if name.is_empty() && !self.is_namespace() {
            return Ok(None);
        }
        let writes = matches!(
            self.attributes.operation,
            AdmissionOperation::Create | AdmissionOperation::Update
        );
        if self.is_namespace() && self.attributes.subresource.is_empty() && writes {
            return Ok(Some(self.obj.map(labels).unwrap_or_default()));
        }
        let namespace = self.namespace(&name).await?;
        Ok(Some(labels(&namespace)))
    }
}

fn exact_or_wildcard(items: &[String], value: &str) -> bool {
    items.iter().any(|item| item == "*" || item == value)
}

/// Whether `rule` matches a request for `resource` (with `subresource`), as upstream's
/// `rules.Matcher` plus `resourceNames`.
fn rule_matches(
    rule: &Rule,
    attributes: &Attributes,
    resource: &GroupVersionResource,
    namespace_request: bool,
) -> bool {
    let scope = match rule.scope.as_str() {
        "Namespaced" => !namespace_request && !attributes.namespace.is_empty(),
        "Cluster" => namespace_request || attributes.namespace.is_empty(),
        _ => true,
    };
    let operation = attributes.operation.as_str();
    let operations = rule
        .operations
        .iter()
        .any(|op| op == "*" || op == operation);
    let resources = rule.resources.iter().any(|entry| {
        let (res, sub) = entry.split_once('/').unwrap_or((entry, ""));
        (res == "*" || res == resource.resource) && (sub == "*" || sub == attributes.subresource)
    });
    let names = rule.resource_names.is_empty() || rule.resource_names.contains(&attributes.name);
    scope
        && operations
        && exact_or_wildcard(&rule.api_groups, &resource.group)
        && exact_or_wildcard(&rule.api_versions, &resource.version)
        && resources
        && names
}

/// The first match of `rules`: the request's resource, or (with `equivalent`) another served
/// version of its group and resource, as upstream's `matchesResourceRules`.
fn rules_match(rules: &[Rule], equivalent: bool, request: &Request<'_>) -> Option<Matched> {
    let attributes = request.attributes;
    let namespace_request = request.is_namespace();
    if rules
        .iter()
        .any(|rule| rule_matches(rule, attributes, &attributes.resource, namespace_request))
    {
        return Some(Matched {
            resource: attributes.resource.clone(),
            kind: attributes.kind.clone(),
        });
    }
    if !equivalent {
        return None;
    }
    let own = &attributes.resource;
    let stores = &request.services.stores;
    for version in stores.versions(&own.group, &own.resource) {
        if version == own.version {
            continue;
        }
        let resource = GroupVersionResource {
            version: version.clone(),
            ..own.clone()
        };
        if !rules
            .iter()
            .any(|rule| rule_matches(rule, attributes, &resource, namespace_request))
        {
            continue;
        }
        // A subresource of another kind (`scale`) keeps its kind in every version.
        let kind = if attributes.subresource.is_empty() {
            stores
                .by_resource(&own.group, &version, &own.resource)
                .map(|store| GroupVersionKind {
                    group: own.group.clone(),
                    version: version.clone(),
                    kind: store.info().kind.to_string(),
                })
                .unwrap_or_else(|| attributes.kind.clone())
        } else {
            attributes.kind.clone()
        };
        return Some(Matched { resource, kind });
    }
    None
}

fn selects(
    selector: &crate::registry::selectors::label::LabelSelector,
    obj: Option<&Value>,
) -> bool {
    obj.is_some_and(|obj| {
        selector.matches_labels(obj.pointer("/metadata/labels").and_then(Value::as_object))
    })
}

/// Whether `criteria` select the request, and what they matched, as upstream's
/// `Matcher.Matches`: selectors first, then the exclusions, then the rules (none: everything).
/// Errors of the selectors (an unparsable selector, a missing namespace) count only when the
/// rules match.
pub(super) async fn matches(
    criteria: &MatchResources,
    request: &mut Request<'_>,
) -> ApiResult<Option<Matched>> {
    let namespace = match &criteria.namespace_selector {
        Err(err) => Err(ApiError::internal(err)),
        Ok(selector) if selector.is_empty() => Ok(true),
        Ok(selector) => match request.namespace_labels().await {
            Ok(None) => Ok(true),
            Ok(Some(labels)) => Ok(selector.matches_labels(Some(&labels))),
            Err(err) if err.status.reason == "NotFound" => Err(err),
            Err(err) => Err(ApiError::internal(err.status.message)),
        },
    };
    if matches!(namespace, Ok(false)) {
        return Ok(None);
    }
    let object = match &criteria.object_selector {
        Err(err) => Err(ApiError::internal(err)),
        Ok(selector) if selector.is_empty() => Ok(true),
        Ok(selector) => Ok(selects(selector, request.obj) || selects(selector, request.old)),
    };
    if matches!(object, Ok(false)) {
        return Ok(None);
    }
    if rules_match(
        &criteria.exclude_resource_rules,
        criteria.equivalent,
        request,
    )
    .is_some()
    {
        return Ok(None);
    }
    let matched = if criteria.resource_rules.is_empty() {
        Matched {
            resource: request.attributes.resource.clone(),
            kind: request.attributes.kind.clone(),
        }
    } else {
        match rules_match(&criteria.resource_rules, criteria.equivalent, request) {
            Some(matched) => matched,
            None => return Ok(None),
        }
    };
    namespace?;
    object?;
    Ok(Some(matched))
}

/// The name admission errors give the request's object (upstream's `extractResourceName`): the
/// request's name, else the object's name or `generateName`, else `Unknown`.
pub(super) fn object_name(attributes: &Attributes, obj: Option<&Value>) -> String {
    if !attributes.name.is_empty() {
        return attributes.name.clone();
    }
    let Some(obj) = obj else {
        return "Unknown".to_string();
    };
    match (meta_str(obj, "name"), meta_str(obj, "generateName")) {
        ("", "") => "Unknown".to_string(),
        ("", generate) => generate.to_string(),
        (name, _) => name.to_string(),
    }
}
