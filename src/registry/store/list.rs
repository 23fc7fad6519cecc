//! List, with upstream's resourceVersion semantics (`etcd3/store.go` `GetList`):
//!
//! * `resourceVersion` unset: the most recent state (a consistent read).
//! * `"0"`: any state; served at the current revision too.
//! * `N` + `NotOlderThan`: the current state, which MUST be at least `N` (else 504 "Too large
//!   resource version"). `N` + `Exact`: the state at revision `N` (410 when compacted).
//! * `N` without a match: legacy rule — `Exact` when a limit is given, `NotOlderThan` otherwise.
//! * `continue`: resumes at the token's key and revision; a token whose revision is compacted gives
//!   410 with a fresh token that resumes at the latest revision. `resourceVersion` (other than
//!   `"0"`) together with `continue` is a 400.
//!
//! The watch cache answers, once it is ready: a list with resourceVersion unset (after the cache
//! caught up with the storage's current revision, else storage answers), `"0"`, and `N` with
//! NotOlderThan (or no match and no limit), the first page of a limited list included; its
//! continue token names the cache revision. Such a first page keeps a snapshot of the objects it
//! was cut from, so the following pages come from it; a token without a snapshot here (another
//! replica's, an expired one) reads storage at its revision. `Exact` and the legacy exact rule
//! read storage.
//!
//! Selectors filter after reading; with a limit, pages are read until `limit` items match or the
//! keys run out, and the continue token resumes right after the last key read. A page of an
//! unfiltered list that has more after it says how many items remain (`remainingItemCount`), as
//! counted by the storage in the page's own read.

use std::sync::Arc;

use apiary_storage::{Error as StorageError, ListRequest};
use serde_json::Value;

use super::cache::ListFreshness;
use super::{parse_resource_version, ListPage, Store, WatchObject};
use crate::api::status::{ApiError, ApiResult, StatusCause, StatusDetails};
use crate::registry::continue_token;
use crate::registry::options::{ListOptions, ResourceVersionMatch};
use crate::registry::selectors::Selection;

/// The 504 of a NotOlderThan read whose revision is not there yet, as upstream's
/// `NewTooLargeResourceVersionError`.
pub(crate) fn too_large_resource_version(requested: i64, current: i64) -> ApiError {
    let mut err = ApiError::timeout(
        format!("Too large resource version: {requested}, current: {current}"),
        1,
    );
    err.status.details = Some(StatusDetails {
        causes: vec![StatusCause {
            reason: "ResourceVersionTooLarge".into(),
            message: "Too large resource version".into(),
            field: String::new(),
        }],
        retry_after_seconds: Some(1),
        ..Default::default()
    });
    err
}

/// A list of computed objects (no resourceVersion, no pages): every object the selectors
/// select, as upstream's `componentstatuses` REST filters its list.
pub(super) async fn list_computed(
    store: &Store,
    computed: &dyn super::ComputedReads,
    opts: &ListOptions,
) -> ApiResult<ListPage> {
    let selection = Selection::parse(
        store.config.fields,
        &opts.label_selector,
        &opts.field_selector,
    )?;
    let mut items = computed.list().await?;
    items.retain(|item| selection.matches(item));
    Ok(ListPage {
        items: items
            .into_iter()
            .map(|item| Arc::new(WatchObject::new(item)))
            .collect(),
        ..ListPage::default()
    })
}

pub(super) async fn list(
    store: &Store,
    namespace: Option<&str>,
    opts: &ListOptions,
) -> ApiResult<ListPage> {
    let selection = Selection::parse(
        store.config.fields,
        &opts.label_selector,
        &opts.field_selector,
    )?;
    let version_match = opts.version_match()?;
    let requested = parse_resource_version(&opts.resource_version)?;
    let limit = opts.page_limit();
    let prefix = store.layout.list_prefix(namespace);

    let mut start_key = prefix.clone();
    let mut revision = 0; // 0: read at the current revision
    let mut minimum = None; // NotOlderThan bound checked against the read's revision
    let continuing = !opts.continue_token.is_empty();
    if continuing {
        if requested.is_some_and(|rv| rv != 0) {
            return Err(ApiError::bad_request(
                "specifying resource version is not allowed when using continue",
            ));
        }
        let token = continue_token::decode(&opts.continue_token, &prefix)?;
        if token.revision > 0 {
            // The first page's snapshot, when this replica's cache cut it.
            let snapshot = store
                .cache
                .continue_list(
                    &prefix,
                    &selection,
                    limit,
                    token.revision,
                    token.start_key.as_bytes(),
                )
                .await;
            if let Some(page) = snapshot {
                return page.into_list(&prefix);
            }
        }
        start_key = token.start_key;
        if token.revision > 0 {
            revision = token.revision;
        }
    } else {
        let exact = match version_match {
            Some(ResourceVersionMatch::Exact) => true,
            Some(ResourceVersionMatch::NotOlderThan) => false,
            None => limit.is_some(),
        };
        let wanted = match requested {
            None => Some(ListFreshness::Consistent),
            Some(0) => Some(ListFreshness::Any),
            Some(_) if exact => None,
            Some(rv) => Some(ListFreshness::NotOlderThan(rv)),
        };
        if let Some(wanted) = wanted {
            if let Some(page) = store.cache.list(&prefix, &selection, limit, wanted).await? {
                return page.into_list(&prefix);
            }
        }
        if let Some(rv) = requested.filter(|rv| *rv > 0) {
            if exact {
                revision = rv;
            } else {
                minimum = Some(rv);
            }
        }
    }

    // Upstream reports `remainingItemCount` only for an unfiltered page (`pred.Empty()`): there
    // every key read is an item, so the storage's count of the keys left is the items left.
    let count_remaining = limit.is_some() && selection.is_everything();
    let mut remaining_item_count = None;
    let mut items = Vec::new();
    let mut list_revision = None;
    let mut next_token = None;
    loop {
        let request = ListRequest {
            prefix: prefix.as_bytes().to_vec(),
            start_key: Some(start_key.as_bytes().to_vec()),
            revision,
            limit: limit.unwrap_or(0),
            count_remaining,
        };
        let resp = match store.storage.list(request).await {
            Ok(resp) => resp,
            Err(StorageError::Compacted { .. }) if continuing => {
                return Err(continue_token::expired_error(&start_key, &prefix))
            }
            Err(err) => return Err(store.storage_error(err, "")),
        };
        if let Some(min) = minimum {
            if resp.revision < min {
                return Err(too_large_resource_version(min, resp.revision));
            }
        }
        // Later pages read at the first page's revision: one consistent snapshot.
        revision = resp.revision;
        list_revision.get_or_insert(resp.revision);

        let count = resp.kvs.len();
        for (i, kv) in resp.kvs.iter().enumerate() {
            let obj: Value = store.decode(kv).await?;
            if selection.matches(&obj) {
                items.push(Arc::new(WatchObject::new(obj)));
            }
            let full = limit.is_some_and(|l| items.len() >= l);
            let more_after = i + 1 < count || resp.more;
            if full {
                if more_after {
                    let mut next = kv.key.clone();
                    next.push(0);
                    let next = String::from_utf8(next).map_err(ApiError::internal)?;
                    next_token = Some(continue_token::encode(&next, &prefix, resp.revision)?);
                    if count_remaining && i + 1 == count {
                        remaining_item_count = resp.remaining.map(|n| n as i64);
                    }
                }
                break;
            }
        }
        let full = limit.is_some_and(|l| items.len() >= l);
        if full || !resp.more {
            break;
        }
        let Some(last) = resp.kvs.last() else { break };
        let mut next = last.key.clone();
        next.push(0);
        start_key = String::from_utf8(next).map_err(ApiError::internal)?;
    }

    Ok(ListPage {
        items,
        resource_version: list_revision.unwrap_or(revision).to_string(),
        continue_token: next_token,
        remaining_item_count,
    })
}
