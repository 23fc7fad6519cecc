//! The params a binding evaluates its policy with (upstream's `generic.CollectParams`), read
//! from the store of the policy's `paramKind`.

use std::sync::Arc;

use serde_json::Value;

use super::compile::{ParamKind, ParamRef};
use crate::admission::chain::Services;
use crate::registry::options::ListOptions;
use crate::registry::selectors::label::label_selector;
use crate::registry::store::Store;

/// The store of a policy's `paramKind`, or upstream's configuration error when none serves it
/// (`failed to find resource referenced by paramKind: 'example.com/v1, Kind=Foo'`).
pub(super) fn param_store(services: &Services, kind: &ParamKind) -> Result<Arc<Store>, String> {
    services
        .stores
        .by_kind(&kind.group, &kind.version, &kind.kind)
        .ok_or_else(|| {
            format!(
                "failed to find resource referenced by paramKind: '{}'",
                kind.shown()
            )
        })
}

/// The params to evaluate with: `[None]` when the policy has no `paramKind` or the binding no
/// `paramRef`; else the param named, or every param selected (possibly none). MUST fail with
/// upstream's messages when the binding cannot be served (a namespaced param kind without a
/// namespace, a namespace for a cluster-scoped kind, no param under `Deny`).
pub(super) async fn collect(
    store: Option<&Arc<Store>>,
    param_ref: Option<&ParamRef>,
    request_namespace: &str,
) -> Result<Vec<Option<Value>>, String> {
    let (Some(store), Some(param_ref)) = (store, param_ref) else {
        return Ok(vec![None]);
    };
    let namespaced = store.info().namespaced;
    let namespace = if namespaced {
        if !param_ref.namespace.is_empty() {
            Some(param_ref.namespace.as_str())
        } else if !request_namespace.is_empty() {
            Some(request_namespace)
        } else {
            return Err(
                "cannot use namespaced paramRef in policy binding that matches cluster-scoped resources"
                    .to_string(),
            );
        }
    } else {
        if !param_ref.namespace.is_empty() {
            return Err(
                "paramRef.namespace must not be provided for a cluster-scoped `paramKind`"
                    .to_string(),
            );
        }
        None
    };
    let params: Vec<Option<Value>> = if !param_ref.name.is_empty() {
        if param_ref.selector.is_some() {
            return Err("paramRef.name and paramRef.selector are mutually exclusive".to_string());
        }
        match store.get(namespace, &param_ref.name).await {
            Ok(param) => vec![Some(param)],
            Err(err) if err.status.reason == "NotFound" => Vec::new(),
            Err(err) => return Err(err.status.message),
        }
    } else if let Some(selector) = &param_ref.selector {
        let selector = label_selector(selector)?;
        let list = store
            .list(namespace, &ListOptions::default())
            .await
            .map_err(|err| err.status.message)?;
        list.items
            .into_iter()
            .filter(|item| selector.matches(item))
            .map(Some)
            .collect()
    } else {
        return Err("one of name or selector must be provided".to_string());
    };
    if params.is_empty() && param_ref.deny_not_found {
        return Err(
            "no params found for policy binding with `Deny` parameterNotFoundAction".to_string(),
        );
    }
    Ok(params)
}
