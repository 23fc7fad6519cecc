//! The dynamic admission of a write request: built from the request's user, path and options
//! ([`Scope::admission`]), run by the store, and afterwards its warnings go to the response and
//! its annotations to the audit event ([`AdmissionRun::finish`]).

use std::sync::Arc;

use http::request::Parts;
use serde_json::{json, Value};

use super::Scope;
use crate::admission::attributes::{
    GroupVersionKind, GroupVersionResource, SubresourceView, WriteRequest,
};
use crate::admission::chain::{AdmissionChain, RequestScope};
use crate::catalog::ResourceInfo;
use crate::filters::audit::AuditContext;
use crate::registry::options::WriteOptions;
use crate::request::user::UserInfo;

/// The admission of one request, once the store has run it.
#[derive(Default)]
pub struct AdmissionRun(Option<Arc<RequestScope>>);

impl AdmissionRun {
    /// Adds the warnings admission recorded to `warnings` and its annotations to the request's
    /// audit event.
    pub fn finish(&self, parts: &Parts, warnings: &mut Vec<String>) {
        self.finish_with(&parts.extensions, warnings);
    }

    /// [`AdmissionRun::finish`], with the request's extensions.
    pub fn finish_with(&self, extensions: &http::Extensions, warnings: &mut Vec<String>) {
        let Some(scope) = &self.0 else {
            return;
        };
        let record = scope.record();
        warnings.extend(record.warnings());
        if let Some(audit) = extensions.get::<Arc<AuditContext>>() {
            for (key, value) in record.annotations() {
                audit.add_annotation(key, value);
            }
        }
    }

    /// [`AdmissionRun::finish`] into a new list.
    pub fn warnings(&self, parts: &Parts) -> Vec<String> {
        let mut warnings = Vec::new();
        self.finish(parts, &mut warnings);
        warnings
    }
}

/// The options object of a write as AdmissionReview carries it (`CreateOptions`,
/// `UpdateOptions`, `PatchOptions`, `DeleteOptions`).
pub fn options_object(kind: &str, write: &WriteOptions, extra: &[(&str, Value)]) -> Value {
    let mut options = json!({"kind": kind, "apiVersion": "meta.k8s.io/v1"});
    if write.dry_run {
        options["dryRun"] = json!(["All"]);
    }
    if !write.field_manager.is_empty() {
        options["fieldManager"] = Value::from(write.field_manager.as_str());
    }
    for (key, value) in extra {
        options[*key] = value.clone();
    }
    options
}

/// What a write addresses, for its admission.
pub struct AdmissionTarget<'a> {
    pub info: &'a ResourceInfo,
    pub subresource: Option<&'a str>,
    pub namespace: Option<&'a str>,
    pub name: Option<&'a str>,
}

/// Builds the admission of a write into `write.admission` (nothing when there is no chain or
/// it has no webhook or policy). `view` is set when a subresource admits another kind.
pub fn admission_for(
    chain: Option<&Arc<AdmissionChain>>,
    target: AdmissionTarget<'_>,
    extensions: &http::Extensions,
    write: &mut WriteOptions,
    options: Value,
    view: Option<(GroupVersionKind, Arc<dyn SubresourceView>)>,
) -> AdmissionRun {
    let Some(chain) = chain else {
        return AdmissionRun(None);
    };
    let info = target.info;
    let user = extensions.get::<UserInfo>().cloned().unwrap_or_default();
    let (kind, view) = match view {
        Some((kind, view)) => (kind, Some(view)),
        None => (
            GroupVersionKind {
                group: info.group.to_string(),
                version: info.version.to_string(),
                kind: info.kind.to_string(),
            },
            None,
        ),
    };
    let request = WriteRequest {
        resource: GroupVersionResource {
            group: info.group.to_string(),
            version: info.version.to_string(),
            resource: info.plural.to_string(),
        },
        subresource: target.subresource.unwrap_or_default().to_string(),
        kind,
        namespaced: info.namespaced,
        namespace: target.namespace.unwrap_or_default().to_string(),
        name: target.name.unwrap_or_default().to_string(),
        user,
        dry_run: write.dry_run,
        options: Some(options),
        view,
    };
    let scope = chain.request(request);
    write.admission = scope
        .clone()
        .map(|scope| scope as Arc<dyn crate::registry::admission::RequestAdmission>);
    AdmissionRun(scope)
}

impl Scope {
    /// [`admission_for`] the write this scope addresses.
    pub fn admission(
        &self,
        parts: &Parts,
        write: &mut WriteOptions,
        options: Value,
        view: Option<(GroupVersionKind, Arc<dyn SubresourceView>)>,
    ) -> AdmissionRun {
        let target = AdmissionTarget {
            info: &self.info,
            subresource: self.subresource.as_deref(),
            namespace: self.namespace.as_deref(),
            name: self.name.as_deref(),
        };
        admission_for(
            self.admission.as_ref(),
            target,
            &parts.extensions,
            write,
            options,
            view,
        )
    }
}
