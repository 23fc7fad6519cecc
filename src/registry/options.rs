//! The options of store operations, shaped like upstream's `metav1.ListOptions`,
//! `metav1.DeleteOptions` and the write options of create/update/patch.
//!
//! The structs deserialize straight from a query string (`ListOptions`) or a request body
//! (`DeleteOptions`), with upstream's camelCase names, so a handler can pass them through unchanged.
//! Strings keep upstream's convention: empty means unset. The store validates them (selectors,
//! resourceVersion, resourceVersionMatch) and answers upstream's 400 messages.

use serde::{Deserialize, Serialize};

use crate::api::status::{ApiError, ApiResult};

/// `resourceVersionMatch` of a list or watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceVersionMatch {
    /// The result is at least as new as the given resourceVersion.
    NotOlderThan,
    /// The result is exactly at the given resourceVersion.
    Exact,
}

/// The options of list and watch, as `metav1.ListOptions`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ListOptions {
    /// A label selector (`app=web,tier!=db`); empty selects everything.
    pub label_selector: String,
    /// A field selector (`metadata.name=x`); empty selects everything.
    pub field_selector: String,
    /// The maximum number of items of one list page; `None` or `0` means no limit.
    pub limit: Option<i64>,
    /// The continue token of the previous page; empty for the first page.
    #[serde(rename = "continue")]
    pub continue_token: String,
    /// The resourceVersion to read at or watch from; empty means "most recent".
    pub resource_version: String,
    /// `NotOlderThan` or `Exact`; empty means unset.
    pub resource_version_match: String,
    /// Whether the request is a watch (`?watch=true`). The store's `watch` ignores it.
    pub watch: Option<bool>,
    /// Watch: send periodic BOOKMARK events.
    pub allow_watch_bookmarks: Option<bool>,
    /// Watch: begin with synthetic ADDED events for the current state, then a BOOKMARK marking their end.
    pub send_initial_events: Option<bool>,
    /// Watch: end the watch after this many seconds.
    pub timeout_seconds: Option<i64>,
}

impl ListOptions {
    /// The validated `resourceVersionMatch`, with upstream's errors for bad combinations.
    ///
    /// MUST reject an unknown value, and a match without a resourceVersion (upstream:
    /// `resourceVersionMatch is forbidden unless resourceVersion is provided`), and `Exact` with
    /// resourceVersion `0`.
    pub fn version_match(&self) -> ApiResult<Option<ResourceVersionMatch>> {
        let parsed = match self.resource_version_match.as_str() {
            "" => return Ok(None),
            "NotOlderThan" => ResourceVersionMatch::NotOlderThan,
            "Exact" => ResourceVersionMatch::Exact,
            other => {
                return Err(ApiError::bad_request(format!(
                    "resourceVersionMatch: Unsupported value: \"{other}\": supported values: \"Exact\", \"NotOlderThan\", \"\""
                )))
            }
        };
        let is_watch = self.watch.unwrap_or(false);
        if self.resource_version.is_empty() && !(is_watch && self.send_initial_events.is_some()) {
            return Err(ApiError::bad_request(
                "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided",
            ));
        }
        if parsed == ResourceVersionMatch::Exact && self.resource_version == "0" {
            return Err(ApiError::bad_request(
                "resourceVersionMatch: Forbidden: resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"",
            ));
        }
        if !self.continue_token.is_empty() {
            return Err(ApiError::bad_request(
                "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden when continue is provided",
            ));
        }
        Ok(Some(parsed))
    }

    /// The page size, `None` when unlimited.
    pub fn page_limit(&self) -> Option<usize> {
        match self.limit {
            Some(n) if n > 0 => Some(n as usize),
            _ => None,
        }
    }
}

/// The options of a get, as `metav1.GetOptions`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GetOptions {
    /// Empty: the most recent state (a consistent read); `"0"`: any state; `N`: a state at least
    /// as new as N (504 when it does not come in time).
    pub resource_version: String,
}

/// The options common to create, update, patch and delete.
#[derive(Clone, Default)]
pub struct WriteOptions {
    /// `dryRun=All`: do everything except persisting; the answer is what would be stored.
    pub dry_run: bool,
    /// The `fieldManager` of the request (recorded by handlers in managedFields).
    pub field_manager: String,
    /// The subresource written: `None` for the main resource, `Some("status")` for `/status`.
    /// A status write keeps everything of the stored object except `.status` (and labels and
    /// annotations are kept from the stored object too); a main write keeps the stored `.status`
    /// when the resource has a status subresource.
    pub subresource: Option<String>,
    /// The request's dynamic admission (webhooks, policies); `None` admits without it (the
    /// server's own writes).
    pub admission: Option<std::sync::Arc<dyn crate::registry::admission::RequestAdmission>>,
}

impl std::fmt::Debug for WriteOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteOptions")
            .field("dry_run", &self.dry_run)
            .field("field_manager", &self.field_manager)
            .field("subresource", &self.subresource)
            .field("admission", &self.admission.is_some())
            .finish()
    }
}

impl PartialEq for WriteOptions {
    fn eq(&self, other: &Self) -> bool {
        self.dry_run == other.dry_run
            && self.field_manager == other.field_manager
            && self.subresource == other.subresource
            && self.admission.is_some() == other.admission.is_some()
    }
}

impl Eq for WriteOptions {}

impl WriteOptions {
    /// Whether this write targets the `status` subresource.
    pub fn is_status(&self) -> bool {
        self.subresource.as_deref() == Some("status")
    }
}

/// `preconditions` of DeleteOptions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Preconditions {
    pub uid: Option<String>,
    pub resource_version: Option<String>,
}

/// `propagationPolicy` of DeleteOptions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PropagationPolicy {
    Orphan,
    Background,
    Foreground,
}

/// The body of a DELETE, as `metav1.DeleteOptions`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DeleteOptions {
    pub grace_period_seconds: Option<i64>,
    pub preconditions: Option<Preconditions>,
    pub orphan_dependents: Option<bool>,
    pub propagation_policy: Option<PropagationPolicy>,
    /// `["All"]` for a dry run (the handler may instead set [`WriteOptions::dry_run`]).
    pub dry_run: Vec<String>,
}

impl DeleteOptions {
    /// The effective propagation policy: the explicit one, else `orphanDependents`, else none.
    ///
    /// MUST reject both `orphanDependents` and `propagationPolicy` set, as upstream.
    pub fn effective_propagation(&self) -> ApiResult<Option<PropagationPolicy>> {
        match (self.orphan_dependents, self.propagation_policy) {
            (Some(_), Some(_)) => Err(ApiError::bad_request(
                "propagationPolicy: Invalid value: \"{}\": orphanDependents and deletionPropagation cannot be both set",
            )),
            (Some(true), None) => Ok(Some(PropagationPolicy::Orphan)),
            (Some(false), None) => Ok(Some(PropagationPolicy::Background)),
            (None, policy) => Ok(policy),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_options_deserialize_from_a_query_string() {
        let opts: ListOptions = serde_urlencoded::from_str(
            "labelSelector=a%3Db&limit=5&continue=tok&resourceVersion=7&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true",
        )
        .expect("query parses");
        assert_eq!(opts.label_selector, "a=b");
        assert_eq!(opts.page_limit(), Some(5));
        assert_eq!(opts.continue_token, "tok");
        assert_eq!(opts.allow_watch_bookmarks, Some(true));
        assert!(
            opts.version_match().is_err(),
            "match with continue is forbidden"
        );
    }

    #[test]
    fn resource_version_match_rules() {
        let mut opts = ListOptions {
            resource_version_match: "Exact".into(),
            ..Default::default()
        };
        assert_eq!(opts.version_match().unwrap_err().status.code, 400);
        opts.resource_version = "0".into();
        assert!(opts.version_match().is_err());
        opts.resource_version = "5".into();
        assert_eq!(
            opts.version_match().unwrap(),
            Some(ResourceVersionMatch::Exact)
        );
        opts.resource_version_match = "Bogus".into();
        assert!(opts.version_match().is_err());
    }

    #[test]
    fn delete_options_from_a_body() {
        let opts: DeleteOptions = serde_json::from_str(
            r#"{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Foreground","preconditions":{"uid":"u1"}}"#,
        )
        .expect("body parses");
        assert_eq!(
            opts.effective_propagation().unwrap(),
            Some(PropagationPolicy::Foreground)
        );
        assert_eq!(opts.preconditions.unwrap().uid.as_deref(), Some("u1"));
    }
}
