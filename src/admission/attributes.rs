//! What admission knows about a request (upstream's `admission.Attributes`), and what it hands
//! back besides its verdict: warnings for the response and annotations for the audit event.

use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::api::status::ApiResult;
use crate::registry::admission::AdmissionOperation;
use crate::registry::store::Store;
use crate::request::user::UserInfo;

/// A group, version and resource (`apps`, `v1`, `deployments`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct GroupVersionResource {
    pub group: String,
    pub version: String,
    pub resource: String,
}

/// A group, version and kind (`apps`, `v1`, `Deployment`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct GroupVersionKind {
    pub group: String,
    pub version: String,
    pub kind: String,
}

impl GroupVersionKind {
    /// `apps/v1`, or `v1` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

/// The attributes of one admission call.
#[derive(Debug, Clone)]
pub struct Attributes {
    pub operation: AdmissionOperation,
    /// The resource the request addresses.
    pub resource: GroupVersionResource,
    /// `status`, `scale`, `binding`...; empty for the main resource.
    pub subresource: String,
    /// The kind of the object admission sees (`autoscaling/v1` `Scale` for `deployments/scale`).
    pub kind: GroupVersionKind,
    /// Whether the resource is namespaced (rules' `scope`).
    pub namespaced: bool,
    /// The object's namespace (empty for cluster-scoped objects).
    pub namespace: String,
    /// The object's name (empty for a create that generates its name).
    pub name: String,
    /// The user the request acts as.
    pub user: UserInfo,
    pub dry_run: bool,
    /// The operation's options as the request gave them (`CreateOptions`, `UpdateOptions`,
    /// `PatchOptions`, `DeleteOptions`; `apiVersion: meta.k8s.io/v1`), `None` for CONNECT.
    pub options: Option<Value>,
}

/// How the object of a subresource that is another kind looks to admission (`deployments/scale`
/// is admitted as an `autoscaling/v1` `Scale`).
pub trait SubresourceView: Send + Sync + 'static {
    /// The subresource's object for the stored `obj`.
    fn to_view(&self, obj: &Value) -> Value;
    /// Carries a mutated view back into `obj`.
    fn carry_back(&self, view: &Value, obj: &mut Value) -> ApiResult<()>;
}

/// The view of a subresource whose request object is admitted as it is, with no stored object
/// behind it (an Eviction, a Binding).
pub struct AsIs;

impl SubresourceView for AsIs {
    fn to_view(&self, obj: &Value) -> Value {
        obj.clone()
    }
    fn carry_back(&self, view: &Value, obj: &mut Value) -> ApiResult<()> {
        *obj = view.clone();
        Ok(())
    }
}

/// What the handler knows of a write, to build its admission from.
pub struct WriteRequest {
    pub resource: GroupVersionResource,
    pub subresource: String,
    pub kind: GroupVersionKind,
    pub namespaced: bool,
    /// The namespace of the request's path (empty for cluster-scoped resources).
    pub namespace: String,
    /// The name of the request's path (empty for a create or a collection).
    pub name: String,
    pub user: UserInfo,
    pub dry_run: bool,
    pub options: Option<Value>,
    /// Set for subresources of another kind.
    pub view: Option<Arc<dyn SubresourceView>>,
}

/// Looks up the store of any served resource, built-in or custom (params of policies, objects
/// converted to another version of their resource).
pub trait StoreLookup: Send + Sync + 'static {
    /// The store serving `group`/`version`/`plural`.
    fn by_resource(&self, group: &str, version: &str, plural: &str) -> Option<Arc<Store>>;
    /// The store serving objects of `group`/`version`/`kind` (main resources only).
    fn by_kind(&self, group: &str, version: &str, kind: &str) -> Option<Arc<Store>>;
    /// The versions `group`/`plural` is served in, preferred first.
    fn versions(&self, group: &str, plural: &str) -> Vec<String>;
}

/// What admission records for the response and the audit event of one request. Shared by the
/// steps of the request; each lock is held only to push or take.
#[derive(Debug, Default)]
pub struct Record {
    warnings: Mutex<Vec<String>>,
    annotations: Mutex<Vec<(String, String)>>,
}

impl Record {
    /// A `Warning` header for the response (duplicates are dropped).
    pub fn warn(&self, warning: impl Into<String>) {
        let warning = warning.into();
        let mut warnings = self.warnings.lock().unwrap_or_else(|e| e.into_inner());
        if !warnings.contains(&warning) {
            warnings.push(warning);
        }
    }

    /// An annotation for the request's audit event.
    pub fn annotate(&self, key: impl Into<String>, value: impl Into<String>) {
        self.annotations
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((key.into(), value.into()));
    }

    /// The warnings recorded so far.
    pub fn warnings(&self) -> Vec<String> {
        self.warnings
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The audit annotations recorded so far.
    pub fn annotations(&self) -> Vec<(String, String)> {
        self.annotations
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}
